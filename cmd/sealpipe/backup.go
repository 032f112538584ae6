package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/sealpipe/sealpipe/internal/engine"
	"github.com/sealpipe/sealpipe/pipeline/backup"
)

func newBackupCmd(g *globals) *cobra.Command {
	var to string
	cmd := &cobra.Command{
		Use:   "backup --to DIR|s3://BUCKET/PREFIX",
		Short: "Back up the registry, usage log, PKI and keyring (第十七条)",
		Long: `Copy a consistent backup of the seal registry, the usage log (records,
segments, checkpoints, with the sealed outputs and batch reports it vouches
for), and the data folder's PKI (keys still encrypted, as stored) and keyring
to DIR (in DIR/backup/) or to s3://BUCKET/PREFIX, reached with the store's S3
settings — never the store's own bucket. The destination must be empty.

The pipeline may keep running: each seal's log is copied up to a head or
checkpoint read before it, and the heads and checkpoints are looked at again
until they stand still, so the backup holds the registry and usage log as
they were at one instant (as of). manifest.json, written last and signed
with the service key (SEALPIPE_SERVICE_KEY), lists every object with its
size and SM3.

Exit 0 when the backup is written; 2 on usage errors, a destination that is
not empty, I/O failures, or a store that kept changing (try again).`,
		Example: `  sealpipe backup --to /mnt/backup/sealpipe-2026-11-24
  sealpipe backup --to s3://sealpipe-backup/2026-11-24`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if to == "" {
				return usageErr("backup needs --to DIR or --to s3://BUCKET/PREFIX")
			}
			rep, err := g.engine().Backup(cmd.Context(), engine.BackupOptions{To: to, Version: versionString()})
			if err != nil {
				return &exitError{exitUsage, err}
			}
			for _, w := range rep.Warnings {
				fmt.Fprintln(g.stderr, "sealpipe: backup: warning:", w)
			}
			if g.jsonOut {
				return printJSON(g, rep)
			}
			fmt.Fprintf(g.stdout, "backup: %s\n  as of:    %s (%d look(s) at the heads and checkpoints)\n  seals:    %d\n  applications: %d\n  objects:  %d (%d data folder file(s)), %d bytes\n  manifest: %s, signed by %s\n",
				rep.Location, rep.AsOf.Format(time.RFC3339), rep.Rounds, rep.Seals, rep.Applications, rep.Objects, rep.Files, rep.Bytes, rep.Manifest, rep.Signer)
			return nil
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "where the backup goes: a folder, or s3://BUCKET/PREFIX")
	return cmd
}

func newRestoreCmd(g *globals) *cobra.Command {
	var (
		from  string
		check bool
	)
	cmd := &cobra.Command{
		Use:   "restore --from DIR|s3://BUCKET/PREFIX [--check]",
		Short: "Check a backup and restore it into an empty store and data folder",
		Long: `Check the backup at DIR or s3://BUCKET/PREFIX — manifest.json signed by a
pipeline certificate (trusted roots: SEALPIPE_ROOTS, or else the development
root of the data folder, or else only the backup's own root, which shows the
backup unchanged but not who made it), every object there with the size and
SM3 listed, none missing, none added — and only then restore it: the store
objects into the store, which must be empty, the PKI into <data>/pki and the
keyring into SEALPIPE_KEYS (default <data>/keys.conf), neither of which may
exist. Keyring lines naming files in the backup's data folder are rewritten
to this one. This machine's registry high-water marks (<data>/state/registry)
become the backup's heads; delete <data>/state/registry/ on every other
worker before it runs again, or it refuses the restored seals as rolled back.
--check checks the backup and writes nothing.

Exit 0 when the backup verifies (and is restored); 1 when it does not verify
(the object at fault is named); 2 on usage errors, a store that is not
empty, a PKI or keyring already there, or I/O failures.`,
		Example: `  sealpipe restore --from /mnt/backup/sealpipe-2026-11-24 --check
  sealpipe restore --from s3://sealpipe-backup/2026-11-24`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" {
				return usageErr("restore needs --from DIR or --from s3://BUCKET/PREFIX")
			}
			rep, err := g.engine().Restore(cmd.Context(), engine.RestoreOptions{From: from, Check: check})
			if errors.Is(err, backup.ErrVerify) {
				return &exitError{exitFailed, fmt.Errorf("the backup does not verify, nothing restored: %w", err)}
			}
			if err != nil {
				return &exitError{exitUsage, err}
			}
			if g.jsonOut {
				return printJSON(g, rep)
			}
			fmt.Fprintf(g.stdout, "backup: %s verifies\n  taken:    %s by sealpipe %s, as of %s\n  signed:   by %s, trusted by %s\n  holds:    %d seal(s), %d application(s), %d store object(s), %d data folder file(s), %d bytes\n",
				rep.From, rep.Taken.Format(time.RFC3339), rep.Version, rep.AsOf.Format(time.RFC3339), rep.Signer, rep.TrustedBy, rep.Seals, rep.Applications, rep.Objects, rep.Files, rep.Bytes)
			if rep.Checked {
				fmt.Fprintln(g.stdout, "  --check:  nothing written")
				return nil
			}
			fmt.Fprintf(g.stdout, "restored:\n  store:    %s\n", rep.Store)
			if rep.PKI != "" {
				fmt.Fprintf(g.stdout, "  pki:      %s\n", rep.PKI)
			}
			if rep.Keyring != "" {
				fmt.Fprintf(g.stdout, "  keyring:  %s (%d line(s) moved to this data folder)\n", rep.Keyring, rep.Rekeyed)
			}
			fmt.Fprintf(g.stdout, "  marks:    %s now holds the backup's registry heads\n", rep.Marks)
			for _, l := range rep.Lowered {
				fmt.Fprintf(g.stdout, "    lowered %s\n", l)
			}
			fmt.Fprintln(g.stdout, "next: delete <data>/state/registry/ on every other worker before it runs again; then sealpipe registry verify and sealpipe audit verify")
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "the backup: a folder, or s3://BUCKET/PREFIX")
	cmd.Flags().BoolVar(&check, "check", false, "check the backup and write nothing")
	return cmd
}
