package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/sealpipe/sealpipe/adminapi"
	"github.com/sealpipe/sealpipe/internal/devca"
	"github.com/sealpipe/sealpipe/internal/engine"
	"github.com/sealpipe/sealpipe/pipeline/registry"
)

func newSealsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "seals", Short: "Make, list and manage registered seals"}

	var spec engine.SealSpec
	var years int
	var impression, keyType string
	makeCmd := &cobra.Command{
		Use:   "make",
		Short: "Make a GB/T 38540 seal for a unit (or a person's name seal) and register it",
		Long: `Draw the unit's round seal picture (red ring, star, unit name along the arc,
purpose text, seal code), build a GB/T 38540 version 4 SESeal holding the unit's
signer certificate, sign it with the seal maker's key and register it as active:
the registration is signed by the seal administrator (SEALPIPE_ADMIN_KEY, by
default the development registrar). The approvers' certificates are pinned by
their keys, each for the departments given with --dept. The seal's signing key
is named in the registry by the unit's slug; the keyring (SEALPIPE_KEYS) maps
that alias to the key.

What the picture shows: the unit's name is the one in the unit's signer
certificate (--unit-name may repeat it, not change it; it is needed only for a
new unit). The purpose text goes under the star: without
it the seal is the unit's official seal (公章); with it, a special-purpose seal
such as 合同专用章 or 业务专用章 (at most 10 characters). Pass --purpose ""
for an official seal without being asked.

What a seal needs and the command line leaves out is asked for when standard
input is a terminal, the default in brackets (Enter takes it). Otherwise
nothing is asked: the unit's name comes from its certificate and a missing
--purpose makes an official seal, each default said on stderr, and a missing
--unit, --code, --approver (or --holder, or --unit-name for a new unit) is a
usage error (exit 2) naming each.

With --kind personal the seal is a personal name seal (电子名章, GB/T 38540 seal
type 2) for the person --holder names: a 20 mm red square with the name in two
columns, 之印 added to a two-character name and 印 to a three-character one
(张三 → 张三之印). The unit's key signs with it, like a legal representative's
name seal kept by the unit; --purpose does not apply.

A unit not in the trust chain is made when --unit-name names it: the
development CA gives it a key file of --key-type and its document signer
certificate. An sm2 key (the default) is certified by the SM2 root; a p256
(ECDSA P-256) or rsa2048 key, for PAdES signatures that PDF readers verify
(SEALPIPE_PDF_SIGNATURE_FORMATS=<code>=pades-b-b), by the development PAdES CA,
<data>/pki/pades/ca.crt, made with the first such unit (restart the running
sealpipe run and serve processes then: they read their trusted roots at
start). An rsa2048 key seals PDF documents only: the seal signature of an OFD
document (GB/T 38540 §7.2) needs SM2 or ECDSA P-256. A unit has one key:
--key-type other than its key's type is refused.`,
		Example: `  # a unit's official seal (公章): the unit's name, the star and the code
  sealpipe seals make --unit county-office --code 33010200000004 --purpose "" --approver approver-li

  # a special-purpose seal (合同专用章, a contract seal) of the same unit
  sealpipe seals make --unit county-office --code 33010200000005 --purpose 合同专用章 --approver approver-li

  # the name seal of the unit's legal representative, 张三 (engraved 张三之印)
  sealpipe seals make --kind personal --holder 张三 --unit civil-affairs --code 33010200000101 --approver approver-zhang

  # a seal whose key stays in an HSM: a new unit, its certificate issued for the HSM key
  sealpipe seals make --unit civil-hsm --unit-name 某某县民政局 --code 33010200000011 --purpose 业务专用章 \
      --approver approver-zhang --dept civil-affairs \
      --signer-key "pkcs11:token=sealpipe;object=civil-hsm?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/sealpipe/hsm-pin"

  # a new unit with an ECDSA P-256 key, whose seal signs PDFs as PAdES
  sealpipe seals make --unit civil-pades --unit-name 某某县民政局 --key-type p256 --code 33010200000012 \
      --purpose 业务专用章 --approver approver-zhang --dept civil-affairs`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch spec.Kind {
			case engine.SealKindUnit:
				if spec.Holder != "" {
					return usageErr("--holder is for --kind %s seals", engine.SealKindPersonal)
				}
			case engine.SealKindPersonal:
				if spec.Purpose != "" {
					return usageErr("--purpose does not apply to a %s seal", engine.SealKindPersonal)
				}
			default:
				return usageErr("--kind %q: want %s or %s", spec.Kind, engine.SealKindUnit, engine.SealKindPersonal)
			}
			kt, err := devca.ParseKeyType(keyType)
			if err != nil {
				return usageErr("--key-type %q: want %s", keyType, devca.KeyTypeNames())
			}
			if cmd.Flags().Changed("key-type") {
				spec.KeyType = kt
			}
			if years < 1 || years > 10 {
				return usageErr("--valid-years %d: want 1 to 10", years)
			}
			spec.Validity = time.Duration(years) * 365 * 24 * time.Hour
			client, err := g.engine().AdminClient()
			if err != nil {
				return err
			}
			if impression != "" {
				if spec.Impression, err = os.ReadFile(impression); err != nil {
					return usageErr("--impression: %v", err)
				}
				if len(spec.Impression) == 0 {
					return usageErr("--impression: %s is empty", impression)
				}
				if n := base64.StdEncoding.EncodedLen(len(spec.Impression)); client != nil && n > maxUploadFiles {
					return usageErr("--impression: %s is %d bytes, more than the admin API takes (a request is at most %d KiB, the PNG in base64): scan at a lower resolution, or make the seal on the server", impression, len(spec.Impression), adminapi.MaxUploadSize>>10)
				}
			}
			if err := completeSeal(g, &spec, cmd.Flags().Changed("purpose"), client != nil); err != nil {
				return err
			}
			if client != nil {
				req := adminapi.MakeRequest{
					Kind: spec.Kind, Holder: spec.Holder, Unit: spec.Unit, UnitName: spec.UnitName, Purpose: spec.Purpose, Code: spec.Code,
					Approvers: spec.Approvers, Departments: spec.Departments, ValidityDays: years * 365, SignerKey: spec.SignerKey,
					KeyType: string(spec.KeyType),
				}
				var s *adminapi.Seal
				if len(spec.Impression) > 0 {
					s, err = client.MakeFromImpression(cmd.Context(), req, adminapi.ImpressionUpload{Data: spec.Impression, DPI: spec.ImpressionDPI})
				} else {
					s, err = client.Make(cmd.Context(), req)
				}
				if errors.Is(err, registry.ErrInvalid) {
					return &exitError{exitUsage, err}
				}
				if err != nil {
					return err
				}
				return printRecords(g, []registry.Record{s.Record})
			}
			padesCA := filepath.Join(g.engine().PKIDir(), devca.PAdESDirName, devca.PAdESCAName+".crt")
			_, statErr := os.Stat(padesCA)
			e, err := g.engine().MakeSeal(cmd.Context(), spec)
			if errors.Is(err, registry.ErrInvalid) {
				return &exitError{exitUsage, err}
			}
			if err != nil {
				return err
			}
			if _, err := os.Stat(padesCA); err == nil && statErr != nil {
				fmt.Fprintf(g.stderr, "sealpipe: seals make: made the development PAdES CA %s for unit %s's key; restart the running sealpipe run and serve processes, which read their trusted roots at start, so that they trust it\n", padesCA, spec.Unit)
			}
			return printRecords(g, []registry.Record{e.Record})
		},
	}
	f := makeCmd.Flags()
	f.StringVar(&spec.Kind, "kind", engine.SealKindUnit, "kind of seal: unit (round unit seal) or personal (square name seal, needs --holder)")
	f.StringVar(&spec.Holder, "holder", "", "the person's name on a --kind personal seal, 2 to 8 characters, e.g. 张三")
	f.StringVar(&spec.Unit, "unit", "", "unit (signer slug in the trust chain) the seal belongs to")
	f.StringVar(&spec.Code, "code", "", "14-digit seal code, used as the seal's esID")
	f.StringVar(&spec.Purpose, "purpose", "", "purpose text under the star, e.g. 合同专用章 (a special-purpose seal); empty: the unit's official seal (公章)")
	f.StringArrayVar(&spec.Approvers, "approver", nil, "approver slug allowed to approve uses (repeatable)")
	f.StringArrayVar(&spec.Departments, "dept", nil, "department whose batches the approvers may approve (repeatable; default: the unit's slug)")
	f.IntVar(&years, "valid-years", 2, "validity in years (capped at the signer certificate's)")
	f.StringVar(&spec.SignerKey, "signer-key", "", "key URI of an HSM key (pkcs11:...) to sign with; issues the unit a signer certificate for it")
	f.StringVar(&spec.UnitName, "unit-name", "", "the unit's name; given for a unit not in the trust chain, it makes the unit (default: the name in the unit's certificate)")
	f.StringVar(&keyType, "key-type", string(devca.KeySM2), "key of a new unit: sm2 (certified by the SM2 root), p256 or rsa2048 (ECDSA P-256, RSA-2048: PAdES signatures, certified by the development PAdES CA); a unit has one key")
	f.StringVar(&impression, "impression", "", "PNG of the seal's registered physical impression to use as its picture (round, 38-45 mm, for a unit seal; square, 10-30 mm, for a personal one; red on transparent or white)")
	f.Float64Var(&spec.ImpressionDPI, "dpi", 0, "the resolution --impression was scanned at (default: the one the PNG records)")

	listCmd := &cobra.Command{
		Use:   "list",
		Short: "List registered seals",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var recs []registry.Record
			if client, err := g.engine().AdminClient(); err != nil {
				return err
			} else if client != nil {
				if recs, err = client.List(cmd.Context()); err != nil {
					return err
				}
			} else if e := g.engine(); e.Settings().S3.Endpoint != "" || e.LocalStoreExists() {
				reg, err := e.Registry(cmd.Context())
				if err != nil {
					return err
				}
				if recs, err = reg.List(cmd.Context()); err != nil {
					return err
				}
			}
			return printRecords(g, recs)
		},
	}
	showCmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show one seal's record and history",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if client, err := g.engine().AdminClient(); err != nil {
				return err
			} else if client != nil {
				s, err := client.Show(cmd.Context(), args[0])
				if errors.Is(err, registry.ErrNotFound) {
					return &exitError{exitFailed, err}
				} else if err != nil {
					return err
				}
				return printSeal(g, s.Record, s.SESeal)
			}
			if e := g.engine(); e.Settings().S3.Endpoint == "" && !e.LocalStoreExists() {
				return &exitError{exitFailed, fmt.Errorf("seal %q: %w (no store at %s)", args[0], registry.ErrNotFound, e.StoreLocation())}
			}
			reg, err := g.engine().Registry(cmd.Context())
			if err != nil {
				return err
			}
			e, err := reg.Get(cmd.Context(), args[0])
			if errors.Is(err, registry.ErrNotFound) {
				return &exitError{exitFailed, err}
			} else if err != nil {
				return err
			}
			pic := e.Seal.Picture
			return printSeal(g, e.Record, &adminapi.SESeal{
				Version: e.Seal.Version, Vendor: e.Seal.VendorID, PictureType: pic.Type,
				PictureWidthMM: pic.WidthMM, PictureHeightMM: pic.HeightMM, Certificates: len(e.Seal.Certs),
			})
		},
	}
	cmd.AddCommand(makeCmd, listCmd, showCmd)
	cmd.AddCommand(newExchangeCmds(g)...)
	for _, st := range []registry.Status{registry.StatusSuspended, registry.StatusActive, registry.StatusRevoked} {
		cmd.AddCommand(newStatusCmd(g, st))
	}
	cmd.AddCommand(newChangeCmd(g, false), newChangeCmd(g, true), newApplicationCmd(g))
	return cmd
}

func newStatusCmd(g *globals, to registry.Status) *cobra.Command {
	verb := map[registry.Status]string{registry.StatusSuspended: "suspend", registry.StatusActive: "activate", registry.StatusRevoked: "revoke"}[to]
	var reason, code string
	use := verb + " ID --reason TEXT"
	if to != registry.StatusActive {
		use += " [--code CODE]"
	}
	c := &cobra.Command{
		Use:   use,
		Short: map[registry.Status]string{registry.StatusSuspended: "Suspend a seal (it may be activated again)", registry.StatusActive: "Reactivate a suspended seal", registry.StatusRevoked: "Revoke a seal for good"}[to],
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if reason == "" {
				return usageErr("--reason is required: the registry records why")
			}
			if code != "" {
				if err := registry.CheckReasonCode(registry.ReasonCode(code)); err != nil {
					return usageErr("--code: %v", err)
				}
				if code == string(registry.CodeSuperseded) {
					return usageErr("--code %s: a seal is superseded by seals change or seals renew, which name its successor", code)
				}
			}
			var rec *registry.Record
			client, err := g.engine().AdminClient()
			switch {
			case err != nil:
				return err
			case client != nil:
				rec, err = client.ChangeStatus(cmd.Context(), args[0], to, adminapi.StatusRequest{Reason: reason, Code: registry.ReasonCode(code)})
			default:
				rec, err = g.engine().ChangeSealStatus(cmd.Context(), args[0], registry.StatusChange{To: to, Reason: reason, Code: registry.ReasonCode(code)})
			}
			switch {
			case errors.Is(err, registry.ErrNotFound), errors.Is(err, registry.ErrTransition), errors.Is(err, registry.ErrConflict), errors.Is(err, registry.ErrTampered):
				return &exitError{exitFailed, err}
			case err != nil:
				return err
			}
			return printRecords(g, []registry.Record{*rec})
		},
	}
	c.Flags().StringVar(&reason, "reason", "", "why the status changes (recorded in the seal's history)")
	if to != registry.StatusActive {
		c.Flags().StringVar(&code, "code", string(registry.CodeOther), "reason code (county rules 第十三–十四条): "+reasonCodes())
	}
	return c
}

// printSeal prints one seal as seals show does: its record as JSON, then
// a line summarising its SESeal (not with --json).
func printSeal(g *globals, rec registry.Record, s *adminapi.SESeal) error {
	if g.jsonOut {
		return printJSON(g, rec)
	}
	b, _ := json.MarshalIndent(rec, "", "  ")
	fmt.Fprintf(g.stdout, "%s\nSESeal: version %d, vendor %s, picture %s %dx%d mm, %d signer certificate(s)\n",
		b, s.Version, s.Vendor, s.PictureType, s.PictureWidthMM, s.PictureHeightMM, s.Certificates)
	return nil
}

func printRecords(g *globals, recs []registry.Record) error {
	if g.jsonOut {
		if recs == nil {
			recs = []registry.Record{}
		}
		return printJSON(g, recs)
	}
	tw := tabwriter.NewWriter(g.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tVALID UNTIL\tNAME\tAPPROVERS")
	now := time.Now()
	expiring := g.engine().ExpiringSeals(recs, now)
	for _, r := range recs {
		var approvers []string
		for _, a := range r.Approvers {
			approvers = append(approvers, a.Name+" ("+strings.Join(a.Departments, ",")+")")
		}
		until := r.ValidEnd.Format(time.DateOnly)
		if slices.ContainsFunc(expiring, func(x registry.Record) bool { return x.ID == r.ID }) {
			until += " (expiring: renew)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.Status, until, r.Name, strings.Join(approvers, "; "))
	}
	return tw.Flush()
}

// completeSeal fills in what a seal needs and the command line left out.
// On a terminal (g.interactive) it asks, the default in brackets; else it
// takes the defaults there are — the unit's name from its certificate, no
// purpose (an official seal, 公章) unless purposeGiven — saying so on
// stderr, and fails with a usage error naming every missing flag that has
// none. For a seal made through the admin API (remote) the development CA
// is the server's: a local one only lists the choices, and the server
// takes the unit's name from the unit's certificate.
func completeSeal(g *globals, spec *engine.SealSpec, purposeGiven, remote bool) error {
	var ask *prompter
	if g.interactive {
		ask = newPrompter(g.stdin, g.stderr)
	}
	ca, caErr := g.engine().DevCA()
	if caErr != nil && remote {
		ca = &devca.CA{}
	}
	if ask != nil && caErr != nil && !remote {
		return caErr
	}
	choices := func(ids map[string]devca.Identity) string {
		if caErr != nil {
			return ""
		}
		return " (" + strings.Join(slices.Sorted(maps.Keys(ids)), ", ") + ")"
	}
	var missing []string
	need := func(flag, question string, set func(string)) error {
		if ask == nil {
			missing = append(missing, flag)
			return nil
		}
		v, err := ask.ask(question, nil, nil)
		if err != nil {
			return usageErr("missing %s: %v", flag, err)
		}
		set(v)
		return nil
	}
	personal := spec.Kind == engine.SealKindPersonal
	for _, n := range []struct {
		flag, question string
		missing        bool
		set            func(string)
	}{
		{"--unit", "Unit, its slug in the trust chain" + choices(ca.Signers), spec.Unit == "", func(v string) { spec.Unit = v }},
		{"--holder", "Holder's name, 2 to 8 characters, e.g. 张三", personal && spec.Holder == "", func(v string) { spec.Holder = v }},
		{"--code", "Seal code, 14 digits", spec.Code == "", func(v string) { spec.Code = v }},
		{"--approver", "Approvers who may approve its uses, comma-separated" + choices(ca.Approvers), len(spec.Approvers) == 0,
			func(v string) {
				spec.Approvers = strings.FieldsFunc(v, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
			}},
	} {
		if !n.missing {
			continue
		}
		if err := need(n.flag, n.question, n.set); err != nil {
			return err
		}
	}
	if spec.Unit != "" && spec.UnitName == "" && caErr == nil {
		if id, ok := ca.Signers[spec.Unit]; ok && len(id.Cert.Subject.Organization) > 0 {
			spec.UnitName = id.Cert.Subject.Organization[0]
			fmt.Fprintf(g.stderr, "sealpipe: seals make: --unit-name not given: using %s, the name in unit %s's certificate\n", spec.UnitName, spec.Unit)
		} else if !ok && (spec.SignerKey != "" || spec.KeyType != "") {
			if err := need("--unit-name", "Name of the new unit "+spec.Unit+", as its signer certificate is to carry it", func(v string) { spec.UnitName = v }); err != nil {
				return err
			}
		}
	}
	if len(missing) > 0 {
		msg := "missing " + strings.Join(missing, ", ") + ": a seal needs each, and none has a default"
		if slices.Contains(missing, "--holder") {
			msg += "; --kind " + engine.SealKindPersonal + " needs --holder NAME, the person's name"
		}
		return usageErr("%s (see sealpipe seals make --help)", msg)
	}
	if caErr != nil && !remote {
		return caErr
	}
	if personal || purposeGiven {
		return nil
	}
	if ask == nil {
		fmt.Fprintf(g.stderr, "sealpipe: seals make: --purpose not given: making unit %s's official seal (公章), with no purpose text; --purpose 合同专用章 (say) makes a special-purpose seal\n", spec.Unit)
		return nil
	}
	official := ""
	v, err := ask.ask("Purpose text under the star, e.g. 合同专用章", &official, func(string) string { return "none: the unit's official seal, 公章" })
	if err != nil {
		return usageErr("missing --purpose: %v", err)
	}
	spec.Purpose = v
	return nil
}
