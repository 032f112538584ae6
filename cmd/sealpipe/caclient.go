package main

import (
	"errors"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sealpipe/sealpipe/adminapi"
	"github.com/sealpipe/sealpipe/internal/devca"
	"github.com/sealpipe/sealpipe/internal/engine"
	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/pipeline/trust"
)

func newIssueClientCmd(g *globals) *cobra.Command {
	var spec engine.ClientSpec
	cmd := &cobra.Command{
		Use:   "issue-client --role ROLE --name NAME --out DIR",
		Short: "Issue an admin API client certificate (mutual TLS) from the development CA",
		Long: `Issue a client certificate for the admin API (sealpipe serve) from the
development TLS CA under <data>/pki/tls, and write DIR/NAME.crt (mode 0644) and
DIR/NAME.key (mode 0600). The key is NOT encrypted: a PKCS#8 PEM as TLS
tools take it (curl --cert NAME.crt --key NAME.key); keep it like a
password. Neither file is written over.

The key is ECDSA P-256, not SM2: TLS 1.2 and 1.3 have no SM2 signature
scheme. The development TLS CA (<data>/pki/tls/ca.crt, ECDSA, made by ca
init) signs it, so that curl and OpenSSL take it too; the admin API
verifies it against that CA, the trusted roots and the CRLs like every
other certificate. Give curl --cacert <data>/pki/tls/ca.crt.

The certificate says who its holder is:
  role   --role, as its role OID (SEALPIPE_API_<ROLE>_OID) in the extended
         key usage, beside TLS client authentication:
           admin      seal administrator (city): makes, suspends, reactivates,
                      revokes seals, names approvers
           registrar  county registrar: reads every seal, suspends one whose
                      loss is reported
           keeper     a unit's seal keeper: reads its unit's seals, suspends
                      one that is lost (needs --unit)
           approver   reads the seals it may approve (--name must be the
                      approver's name in the seals' records, e.g. approver-zhang)
           auditor    reads everything, changes nothing
           uploader   a department's uploader: reads the seals its batches may
                      be sealed with (needs --unit)
  name   --name, the common name (CN) and the files' name
  unit   keeper: --unit, a unit of the trust chain (its slug, e.g.
         civil-affairs); the certificate names the unit as its signing
         certificate and its seals do (O=某某县民政局), or --unit-name for a
         unit the chain does not hold; uploader: --unit, the department
         (OU=civil-affairs, as in inbox/civil-affairs/)`,
		Example: `  sealpipe ca issue-client --role admin --name admin-wang --out ./clients
  sealpipe ca issue-client --role keeper --name keeper-zhao --unit civil-affairs --out ./clients
  sealpipe ca issue-client --role uploader --name upload-civil --unit civil-affairs --out ./clients
  sealpipe ca issue-client --role approver --name approver-zhang --out ./clients`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			role, err := adminapi.ParseRole(spec.Role)
			switch {
			case spec.Role == "" || spec.Name == "" || spec.Out == "":
				return usageErr("--role, --name and --out are required")
			case err != nil:
				return usageErr("--role: %v", err)
			case (role == adminapi.RoleKeeper || role == adminapi.RoleUploader) && spec.Unit == "" && spec.UnitName == "":
				return usageErr("--role %s needs --unit: the %s the certificate is bound to", role, map[adminapi.Role]string{adminapi.RoleKeeper: "unit", adminapi.RoleUploader: "department"}[role])
			case role != adminapi.RoleKeeper && role != adminapi.RoleUploader && (spec.Unit != "" || spec.UnitName != ""):
				return usageErr("--role %s is bound to no unit: drop --unit", role)
			}
			crt, key, err := g.engine().IssueClient(cmd.Context(), spec)
			if err != nil {
				return issueErr(err)
			}
			return printIssued(g, string(role), spec.Name, crt, key)
		},
	}
	f := cmd.Flags()
	f.StringVar(&spec.Role, "role", "", "admin, registrar, keeper, approver, auditor or uploader")
	f.StringVar(&spec.Name, "name", "", "the holder's name: the certificate's CN and file name (a-z, 0-9, -)")
	f.StringVar(&spec.Unit, "unit", "", "keeper: the unit (a unit slug of the trust chain); uploader: the department")
	f.StringVar(&spec.UnitName, "unit-name", "", "keeper: the unit's name, for a unit the trust chain holds no certificate of")
	f.StringVar(&spec.Out, "out", "", "folder to write NAME.crt and NAME.key to")
	return cmd
}

func newIssueServerCmd(g *globals) *cobra.Command {
	var name, out string
	var hosts []string
	cmd := &cobra.Command{
		Use:   "issue-server --host HOST --out DIR",
		Short: "Issue a TLS server certificate for the admin listener from the development CA",
		Long: `Issue a TLS server certificate for the admin API listener from the
development TLS CA, naming each --host (a DNS name or an IP address), and
write DIR/NAME.crt and DIR/NAME.key (unencrypted PKCS#8, mode 0600); point
SEALPIPE_ADMIN_TLS_CERT and SEALPIPE_ADMIN_TLS_KEY at them. ca init already
makes one for 127.0.0.1, ::1 and localhost (<data>/pki/tls/admin-server.crt,
its key encrypted like the CA's others), which serve uses by default.`,
		Example: `  sealpipe ca issue-server --host seals.example.gov.cn --host 10.1.2.3 --out /etc/sealpipe/tls`,
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(hosts) == 0 || out == "" {
				return usageErr("--host and --out are required")
			}
			crt, key, err := g.engine().IssueServer(cmd.Context(), name, hosts, out)
			if err != nil {
				return issueErr(err)
			}
			return printIssued(g, "server", name, crt, key)
		},
	}
	f := cmd.Flags()
	f.StringVar(&name, "name", devca.TLSServerName, "the certificate's CN and file name")
	f.StringArrayVar(&hosts, "host", nil, "DNS name or IP address the server is reached at (repeatable)")
	f.StringVar(&out, "out", "", "folder to write NAME.crt and NAME.key to")
	return cmd
}

// issueErr gives a refused request (a bad name, an unknown unit, files
// already there) the usage exit code.
func issueErr(err error) error {
	if errors.Is(err, registry.ErrInvalid) || errors.Is(err, devca.ErrExists) || errors.Is(err, devca.ErrUnknownIdentity) {
		return &exitError{exitUsage, err}
	}
	return err
}

func printIssued(g *globals, role, name, crt, key string) error {
	if g.jsonOut {
		return printJSON(g, map[string]string{"role": role, "name": name, "certificate": crt, "key": key})
	}
	fmt.Fprintf(g.stdout, "%s %s\n  certificate: %s\n  key:         %s (unencrypted, mode 0600)\n", role, name, crt, key)
	return nil
}

// revocationReasons lists the reasons revoke-client takes, for --help.
func revocationReasons() string {
	names := slices.Sorted(maps.Keys(devca.TLSRevocationReasons))
	return strings.Join(names, ", ")
}

func newRevokeClientCmd(g *globals) *cobra.Command {
	var serial, certFile, reason string
	var days int
	cmd := &cobra.Command{
		Use:   "revoke-client --serial HEX | --cert FILE [--reason R]",
		Short: "Revoke an admin API client certificate and publish the TLS CA's new CRL",
		Long: `Revoke a client certificate the development TLS CA issued (ca issue-client),
for instance a keeper's who left: record it in <data>/pki/tls/revoked.json and
write <data>/pki/tls/ca.crl, a DER CRL signed by the TLS CA listing every
certificate revoked so far, valid for --crl-valid-days (its nextUpdate).

sealpipe serve reads ca.crl again whenever it changes, without a restart, and
refuses the certificates it lists at the TLS handshake (a connection opened
before gets 401 UNAUTHENTICATED). A CRL past its nextUpdate, or one that does
not verify under the CA, makes the listener refuse every client: issue it again
before then with sealpipe ca crl. SEALPIPE_ADMIN_TLS_CLIENT_CRL names another
CRL file.

Name the certificate by its file (--cert, checked to be the TLS CA's) or by its
serial number in hexadecimal (--serial, as openssl x509 -serial and the
admin API's whoami print it; colons allowed). Revoking it again keeps the first
revocation and issues the CRL again. Reasons: ` + revocationReasons() + `.`,
		Example: `  sealpipe ca revoke-client --cert ./clients/keeper-zhao.crt --reason affiliation-changed
  sealpipe ca revoke-client --serial 5F3A…C2 --reason key-compromise
  openssl crl -inform DER -in sealpipe-data/pki/tls/ca.crl -CAfile sealpipe-data/pki/tls/ca.crt -noout`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (serial == "") == (certFile == "") {
				return usageErr("name the certificate by --serial HEX or by --cert FILE (one of them)")
			}
			if _, ok := devca.TLSRevocationReasons[reason]; !ok && reason != "" {
				return usageErr("--reason %q: want one of %s", reason, revocationReasons())
			}
			if days < 1 || days > 366 {
				return usageErr("--crl-valid-days %d: want 1 to 366", days)
			}
			req := devca.TLSRevoke{Reason: reason, CRLValidity: time.Duration(days) * 24 * time.Hour}
			if certFile != "" {
				certs, err := trust.LoadCertificates(certFile)
				if err != nil {
					return &exitError{exitUsage, fmt.Errorf("--cert: %w", err)}
				}
				if len(certs) == 0 {
					return usageErr("--cert %s holds no certificate", certFile)
				}
				req.Cert = certs[0]
			} else {
				n, ok := new(big.Int).SetString(strings.ReplaceAll(strings.TrimPrefix(strings.ToLower(serial), "0x"), ":", ""), 16)
				if !ok || n.Sign() <= 0 {
					return usageErr("--serial %q: want a positive hexadecimal serial number", serial)
				}
				req.Serial = n
			}
			ca, err := g.engine().DevCA()
			if err != nil {
				return err
			}
			crl, again, err := ca.RevokeTLSClient(cmd.Context(), req)
			if err != nil {
				return &exitError{exitUsage, err}
			}
			return printCRL(g, crl, again, req)
		},
	}
	f := cmd.Flags()
	f.StringVar(&serial, "serial", "", "the certificate's serial number, hexadecimal")
	f.StringVar(&certFile, "cert", "", "the certificate's PEM file (ca issue-client wrote NAME.crt)")
	f.StringVar(&reason, "reason", "unspecified", "why: "+revocationReasons())
	f.IntVar(&days, "crl-valid-days", int(devca.DefaultTLSCRLValidity/(24*time.Hour)), "days until the new CRL's nextUpdate")
	return cmd
}

func newCRLCmd(g *globals) *cobra.Command {
	var days int
	cmd := &cobra.Command{
		Use:   "crl [--crl-valid-days N]",
		Short: "Issue the development TLS CA's CRL again, with a fresh nextUpdate",
		Long: `Issue <data>/pki/tls/ca.crl again: the client certificates revoked so far
(ca revoke-client), signed by the development TLS CA, valid for
--crl-valid-days. The admin listener refuses every client once the CRL it reads
is past its nextUpdate, and warns a week before: run this before then (from
cron, say), or after the CRL file was lost. It prints the certificates on it.`,
		Example: `  sealpipe ca crl
  sealpipe ca crl --crl-valid-days 7`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if days < 1 || days > 366 {
				return usageErr("--crl-valid-days %d: want 1 to 366", days)
			}
			ca, err := g.engine().DevCA()
			if err != nil {
				return err
			}
			crl, err := ca.IssueTLSCRL(cmd.Context(), time.Duration(days)*24*time.Hour)
			if err != nil {
				return err
			}
			return printCRL(g, crl, false, devca.TLSRevoke{})
		},
	}
	cmd.Flags().IntVar(&days, "crl-valid-days", int(devca.DefaultTLSCRLValidity/(24*time.Hour)), "days until the CRL's nextUpdate")
	return cmd
}

// printCRL shows a CRL the TLS CA issued and, for a revocation, what it
// revoked.
func printCRL(g *globals, crl *devca.TLSCRL, again bool, req devca.TLSRevoke) error {
	if g.jsonOut {
		revoked := crl.Revoked
		if revoked == nil {
			revoked = []devca.TLSRevocation{}
		}
		return printJSON(g, map[string]any{
			"crl": crl.Path, "number": crl.Number, "this_update": crl.ThisUpdate, "next_update": crl.NextUpdate,
			"revoked": revoked, "already_revoked": again,
		})
	}
	if req.Cert != nil || req.Serial != nil {
		serial := req.Serial
		if req.Cert != nil {
			serial = req.Cert.SerialNumber
		}
		for _, r := range crl.Revoked {
			if r.Serial != fmt.Sprintf("%X", serial) {
				continue
			}
			what := "revoked"
			if again {
				what = "already revoked"
			}
			fmt.Fprintf(g.stdout, "%s client certificate %s%s since %s (%s)\n", what, r.Serial, nameOf(r), r.RevokedAt.Format(time.RFC3339), r.Reason)
		}
	}
	fmt.Fprintf(g.stdout, "CRL %s: number %d, %d revoked, next update %s\n", crl.Path, crl.Number, len(crl.Revoked), crl.NextUpdate.Format(time.RFC3339))
	if req.Cert == nil && req.Serial == nil {
		for _, r := range crl.Revoked {
			fmt.Fprintf(g.stdout, "  %s%s  %s  %s\n", r.Serial, nameOf(r), r.RevokedAt.Format(time.RFC3339), r.Reason)
		}
	}
	return nil
}

func nameOf(r devca.TLSRevocation) string {
	if r.Name == "" {
		return ""
	}
	return " (" + r.Name + ")"
}
