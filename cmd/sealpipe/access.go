package main

import (
	"errors"
	"fmt"
	"io/fs"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sealpipe/sealpipe/internal/engine"
)

func newAccessCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "access",
		Short: "Give departments their own S3 credentials, limited to their own folders",
		Long: `Each department uploads with its own MinIO user. Its policy lets it write only
inbox/<dept>/ of the bucket, and read and list only its own inbox/<dept>/,
sealed/<dept>/, reports/<dept>/ and rejected/<dept>/: nothing else, no deletes.
The service's credentials (SEALPIPE_S3_ACCESS_KEY, SEALPIPE_S3_SECRET_KEY) must
be allowed to manage MinIO users and policies, as MinIO's root user is.`,
	}

	var spec engine.GrantSpec
	grant := &cobra.Command{
		Use:   "grant --dept D --secret-file FILE",
		Short: "Create or update department D's user and policy; write a new secret key to FILE",
		Long: `Create department D's MinIO user (access key sealpipe_<bucket>_<dept>) and
policy, or bring them up to date: granting again sets the policy and enables
the user, and keeps its secret key unless --rotate asks for a new one. A secret
key that is issued is written to --secret-file (mode 0600, replacing the file),
and printed only with --print-secret.`,
		Example: `  sealpipe access grant --dept civil-affairs --secret-file civil-affairs.secret`,
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if spec.Department == "" {
				return usageErr("--dept is required")
			}
			if spec.SecretFile == "" && !spec.PrintSecret {
				return usageErr("--secret-file FILE is required (or --print-secret to print the secret key on stdout)")
			}
			res, err := g.engine().GrantAccess(cmd.Context(), spec)
			if err != nil {
				return accessErr(err)
			}
			if g.jsonOut {
				return printJSON(g, res)
			}
			fmt.Fprintf(g.stdout, "access key: %s\n", res.AccessKey)
			switch {
			case !res.SecretIssued:
				fmt.Fprintln(g.stdout, "secret key: unchanged (--rotate issues a new one)")
			case res.SecretKey != "":
				fmt.Fprintf(g.stdout, "secret key: %s\n", res.SecretKey)
			}
			if res.SecretFile != "" {
				fmt.Fprintf(g.stdout, "secret key written to %s\n", res.SecretFile)
			}
			verb := "updated"
			if res.Created {
				verb = "created"
			}
			fmt.Fprintf(g.stdout, "%s user and policy %s: department %s may upload to s3://%s/inbox/%s/ and read its own inbox/, sealed/, reports/ and rejected/ folders\n",
				verb, res.Policy, res.Department, res.Bucket, res.Department)
			return nil
		},
	}
	f := grant.Flags()
	f.StringVar(&spec.Department, "dept", "", "department (the <dept> in inbox/<dept>/<batch>/)")
	f.StringVar(&spec.SecretFile, "secret-file", "", "file to write an issued secret key to (mode 0600)")
	f.BoolVar(&spec.PrintSecret, "print-secret", false, "print an issued secret key on stdout (with or instead of --secret-file)")
	f.BoolVar(&spec.Rotate, "rotate", false, "issue a new secret key to a department that has one (the old one stops working)")

	list := &cobra.Command{
		Use:   "list",
		Short: "List the departments that have a user in the bucket",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			depts, err := g.engine().ListAccess(cmd.Context())
			if err != nil {
				return accessErr(err)
			}
			if g.jsonOut {
				return printJSON(g, depts)
			}
			tw := tabwriter.NewWriter(g.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "DEPARTMENT\tACCESS KEY\tSTATUS\tPOLICY")
			for _, d := range depts {
				status := "enabled"
				if !d.Enabled {
					status = "disabled"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.Department, d.AccessKey, status, d.Policy)
			}
			return tw.Flush()
		},
	}

	var revokeDept string
	revoke := &cobra.Command{
		Use:   "revoke --dept D",
		Short: "Remove department D's user and policy: its credentials stop working",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if revokeDept == "" {
				return usageErr("--dept is required")
			}
			name, err := g.engine().RevokeAccess(cmd.Context(), revokeDept)
			if err != nil {
				return accessErr(err)
			}
			fmt.Fprintf(g.stdout, "revoked department %s: user and policy %s removed\n", revokeDept, name)
			return nil
		},
	}
	revoke.Flags().StringVar(&revokeDept, "dept", "", "department whose access to remove")

	cmd.AddCommand(grant, list, revoke)
	return cmd
}

// accessErr gives the errors of the access commands their exit codes: a
// bad department name or an unwritable secret file is a usage or I/O
// error (2), settings errors are 2 anyway, the rest is a failure (1).
func accessErr(err error) error {
	var pathErr *fs.PathError
	switch {
	case errors.Is(err, engine.ErrDepartmentName), errors.As(err, &pathErr):
		return &exitError{exitUsage, err}
	case errors.Is(err, engine.ErrSettings):
		return err
	}
	return &exitError{exitFailed, err}
}
