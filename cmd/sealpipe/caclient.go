package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sealpipe/sealpipe/adminapi"
	"github.com/sealpipe/sealpipe/internal/devca"
	"github.com/sealpipe/sealpipe/internal/engine"
	"github.com/sealpipe/sealpipe/pipeline/registry"
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
