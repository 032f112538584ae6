// Command mutants checks that the test suite bites: for each guard that
// sealpipe's guarantees rest on, it builds the packages that should notice
// with that guard broken and expects their tests to fail. A mutant whose
// tests pass is a hole in the suite, and the command exits 1.
//
// The tree is never edited: each mutant is a copy of one file with one
// exact change, handed to `go test -overlay`. A mutant whose text is no
// longer in its file is stale (the code moved on) and also fails the run,
// so the table cannot silently stop checking anything.
//
// Usage, from the module root (`make test` runs it):
//
//	go run ./internal/mutants [-v] [-only NAME]
//
// -stale only checks, in a second, that every mutant's text is still in
// its file, exactly once: run it after changing a guarded file.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// mutant is one guard broken on purpose.
type mutant struct {
	name     string   // what breaks
	file     string   // relative to the module root
	from, to string   // exact text; from must occur exactly once in file
	pkgs     []string // packages whose tests must catch it
	run      string   // go test -run pattern; empty runs every test
}

// mutants are the guards the suite must defend: retry decisions, the
// create-only writes behind exactly-once, and the checks behind every
// verdict.
var mutants = []mutant{
	{
		name: "a further seal's use goes unrecorded",
		file: "pipeline/pipeline.go",
		from: `for _, seal := range seals {`,
		to:   `for _, seal := range seals[:1] {`,
		pkgs: []string{"./pipeline"},
		run:  "TestAlsoSeals",
	},
	{
		name: "a further seal's use is left out of its log",
		file: "pipeline/batchreport.go",
		from: `for _, u := range d.Seals() {`,
		to:   `for _, u := range d.Seals()[:1] {`,
		pkgs: []string{"./pipeline"},
		run:  "TestAlsoSeals",
	},
	{
		name: "a refusal is retried (SkipRetry dropped)",
		file: "workers/handlers.go",
		from: `return fmt.Errorf("%w: %w", err, asynq.SkipRetry)`,
		to:   `return err`,
		pkgs: []string{"./workers"},
		run:  "TestRefusal",
	},
	{
		name: "a chunk drops a document it cannot seal now (no hand-off)",
		file: "workers/handlers.go",
		from: `return h.handOff(ctx, p, name, classifyWait(err))`,
		to:   `return nil`,
		pkgs: []string{"./workers"},
		run:  "TestChunkHandsOff|TestWaitsDoNotUseRetryBudget",
	},
	{
		name: "a chunk cut short counts as done",
		file: "workers/handlers.go",
		from: `return fmt.Errorf("workers: documents %d to %d cut short: %w", p.First, p.First+len(p.Documents)-1, err)`,
		to:   `return nil`,
		pkgs: []string{"./workers"},
		run:  "TestChunkCutShort",
	},
	{
		name: "a chunk failing for good drops its documents",
		file: "workers/handlers.go",
		from: `recErr = h.handOffChunk(ctx, p, err)`,
		to:   `recErr = h.handOffChunk(ctx, ChunkPayload{BatchPayload: p.BatchPayload}, err)`,
		pkgs: []string{"./workers"},
		run:  "TestChunkFinalFailure",
	},
	{
		name: "a second upload overwrites the first (IfNoneMatch dropped)",
		file: "internal/demo/demo.go",
		from: `storage.PutOptions{IfNoneMatch: true, ContentType: ContentType(n)}`,
		to:   `storage.PutOptions{ContentType: ContentType(n)}`,
		pkgs: []string{"./internal/demo"},
	},
	{
		name: "records are overwritten (PutOnce not create-only)",
		file: "storage/object.go",
		from: `opts.IfNoneMatch = true`,
		to:   `opts.IfNoneMatch = false`,
		pkgs: []string{"./storage"},
		run:  "TestPutOnce",
	},
	{
		name: "an approved document's digest is not compared",
		file: "pipeline/sealing.go",
		from: `in.sm3 != doc.SM3`,
		to:   `false && in.sm3 != doc.SM3`,
		pkgs: []string{"./pipeline"},
		run:  "TestBatchEndToEnd",
	},
	{
		name: "the self-check of a sealed PDF trusts the update's layout unread",
		file: "pipeline/pdfseal/selfcheck.go",
		from: `if err := d.checkStructure(size); err != nil {`,
		to:   `if err := error(nil); err != nil {`,
		pkgs: []string{"./pipeline/pdfseal"},
		run:  "TestSealedCheckTampered",
	},
	{
		name: "a seal is used whatever its status",
		file: "pipeline/sealing.go",
		from: `case e.Status != registry.StatusActive:`,
		to:   `case false:`,
		pkgs: []string{"./pipeline"},
		run:  "TestDocumentRejections|TestLocalSeal",
	},
	{
		name: "verification ignores the seal's status at signing time",
		file: "pipeline/verify/verify.go",
		from: `if st != registry.StatusActive {`,
		to:   `if false {`,
		pkgs: []string{"./pipeline"},
		run:  "TestVerifyJudgesStatusAtSigningTime",
	},
	{
		name: "a certificate chain's signatures are not checked",
		file: "pipeline/trust/trust.go",
		from: `if err := issuer.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature); err != nil {`,
		to:   `if err := error(nil); err != nil {`,
		pkgs: []string{"./pipeline/trust"},
	},
	{
		name: "registry changes need no administrator's signature",
		file: "pipeline/registry/log.go",
		from: `if _, err := g.trust.Verify(cert, when, trust.UsageRegistryAdmin); err != nil {`,
		to:   `if _, err := g.trust.Verify(cert, when, trust.UsageRegistryAdmin); err != nil && false {`,
		pkgs: []string{"./pipeline/registry"},
		run:  "TestTamper",
	},
	{
		name: "records anyone signed count as the pipeline's",
		file: "pipeline/audit/audit.go",
		from: `if _, err := pool.Verify(cert, at, trust.UsagePipeline); err != nil {`,
		to:   `if _, err := pool.Verify(cert, at, trust.UsagePipeline); err != nil && false {`,
		pkgs: []string{"./pipeline/audit"},
	},
	{
		name: "an output found in place counts as sealed unchecked",
		file: "pipeline/pipeline.go",
		from: "\t\tif err := sealedBy(rep, seals...); err != nil {\n\t\t\treturn err\n\t\t}\n\t}\n\trep.VerificationCode = code\n",
		to:   "\t}\n\trep.VerificationCode = code\n",
		pkgs: []string{"./pipeline"},
		run:  "TestAttackPlantedOutputs",
	},
	{
		name: "a PDF signature's messageDigest is not compared",
		file: "pipeline/pdfseal/cms.go",
		from: `if !bytes.Equal(md, contentDigest) {`,
		to:   `if false {`,
		pkgs: []string{"./pipeline/pdfseal"},
	},
	{
		name: "a restored backup's objects are not compared with its manifest",
		file: "pipeline/backup/restore.go",
		from: `case hr.sum() != o.SM3:`,
		to:   `case false:`,
		pkgs: []string{"./pipeline/backup"},
		run:  "TestRestoreRefuses",
	},
	{
		name: "an object added to a backup goes unnoticed",
		file: "pipeline/backup/restore.go",
		from: `if len(added) > 0 {`,
		to:   `if false {`,
		pkgs: []string{"./pipeline/backup"},
		run:  "TestRestoreRefuses",
	},
	{
		name: "a backup's manifest counts whoever signed it",
		file: "pipeline/backup/restore.go",
		from: `if err := audit.OpenRecord(b.raw, new(json.RawMessage), pool); err != nil {`,
		to:   `if err := audit.OpenRecord(b.raw, new(json.RawMessage), pool); false && err != nil {`,
		pkgs: []string{"./pipeline/backup"},
		run:  "TestRestoreRefuses",
	},
	{
		name: "a restore writes into a store that is not empty",
		file: "pipeline/backup/restore.go",
		from: "\tif err := CheckEmpty(ctx, dst, \"\"); err != nil {\n\t\treturn 0, err\n\t}\n",
		to:   "",
		pkgs: []string{"./pipeline/backup"},
		run:  "TestRoundTrip",
	},
	{
		name: "a backup does not look at the heads again after copying",
		file: "pipeline/backup/take.go",
		from: `if again.same(obs) {`,
		to:   `if true {`,
		pkgs: []string{"./pipeline/backup"},
		run:  "TestHeadsLookedAtAgain",
	},
	{
		name: "a backup holds a batch report naming a checkpoint past its cut",
		file: "pipeline/backup/take.go",
		from: `if cp.Seq > obs.logs[cp.Seal] || t.segments[cp.Seal][cp.Seq].sm3 != cp.SM3 {`,
		to:   `if false {`,
		pkgs: []string{"./pipeline/backup"},
		run:  "TestCut",
	},
	{
		name: "a backup leaves the applications for seals out",
		file: "pipeline/backup/take.go",
		from: `if err := t.copyApplication(ctx, id, h.seq); err != nil {`,
		to:   `if err := t.copyApplication(ctx, id, 0*h.seq); err != nil {`,
		pkgs: []string{"./pipeline/backup"},
		run:  "TestRoundTrip",
	},
	{
		name: "an application's log rolled back to an older signed head goes unnoticed",
		file: "pipeline/registry/applications.go",
		from: `if err := g.see(ctx, appChain(id), v.head.Seq); err != nil {`,
		to:   `if err := error(nil); err != nil {`,
		pkgs: []string{"./pipeline/registry"},
		run:  "TestApplicationLogTruncated",
	},
	{
		name: "a seal made from an application is activated before it is filed",
		file: "pipeline/registry/registry.go",
		from: `case op == OpActivate && e.Application != "" && !filing &&`,
		to:   `case false && op == OpActivate && e.Application != "" && !filing &&`,
		pkgs: []string{"./internal/engine"},
		run:  "TestApplicationToActiveSeal",
	},
	{
		name: "a seal is revoked for a successor that does not name it",
		file: "pipeline/registry/lifecycle.go",
		from: `if succ.Predecessor != old {`,
		to:   `if succ.Predecessor != old && false {`,
		pkgs: []string{"./pipeline/registry"},
		run:  "TestSupersede",
	},
	{
		name: "an older revocation list or filing export is applied after a newer one",
		file: "pipeline/exchange/marks.go",
		from: "func (m Mark) after(last Mark) error {\n",
		to:   "func (m Mark) after(last Mark) error {\n\treturn nil\n",
		pkgs: []string{"./pipeline/exchange"},
		run:  "TestRevocations$|TestExportImport",
	},
	{
		name: "a revocation list signed by anyone trusted counts as the province's",
		file: "pipeline/exchange/revocations.go",
		from: `trust.UsageProvince, now, DecodeRevocationList)`,
		to:   `trust.UsageRegistryAdmin, now, DecodeRevocationList)`,
		pkgs: []string{"./pipeline/exchange"},
		run:  "TestRevocationListRefused",
	},
	{
		name: "a revoked admin API client certificate is let in",
		file: "adminapi/clientcrl.go",
		from: `if e, ok := c.revoked[leaf.SerialNumber.String()]; ok {`,
		to:   `if e, ok := c.revoked[leaf.SerialNumber.String()]; ok && false {`,
		pkgs: []string{"./adminapi"},
		run:  "TestClientCRL",
	},
	{
		name: "an admin API client CRL past its nextUpdate is trusted",
		file: "adminapi/clientcrl.go",
		from: `case now.After(c.crl.NextUpdate):`,
		to:   `case false && now.After(c.crl.NextUpdate):`,
		pkgs: []string{"./adminapi"},
		run:  "TestClientCRL",
	},
	{
		name: "a verifier's seal memo answers for other bytes",
		file: "pipeline/verify/verify.go",
		from: `sr := getBytes(&v.memo.seal, sealData, func() sealResult {`,
		to:   `sr := getBytes(&v.memo.seal, nil, func() sealResult {`,
		pkgs: []string{"./pipeline/verify"},
		run:  "TestSealMemo",
	},
	{
		name: "a batch upload submits the approval after a document failed",
		file: "internal/engine/upload.go",
		from: "res.Objects = uploaded\n\tif err != nil {",
		to:   "res.Objects = uploaded\n\tif err != nil && false {",
		pkgs: []string{"./cmd/sealpipe"},
		run:  "TestScripts/batch_upload",
	},
}

func main() {
	verbose := flag.Bool("v", false, "print the output of every go test run")
	only := flag.String("only", "", "run only the mutants whose name contains this text")
	staleOnly := flag.Bool("stale", false, "only check that every mutant's text is still in its file, running no tests")
	flag.Parse()
	if *staleOnly {
		stale := 0
		for _, m := range mutants {
			if _, err := m.apply(); err != nil {
				stale++
				fmt.Printf("STALE   %s: %v\n", m.name, err)
			}
		}
		fmt.Printf("mutants: %d of %d stale\n", stale, len(mutants))
		if stale > 0 {
			os.Exit(1)
		}
		return
	}
	tmp, err := os.MkdirTemp("", "sealpipe-mutants-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "mutants:", err)
		os.Exit(2)
	}
	defer os.RemoveAll(tmp)

	holes := 0
	for i, m := range mutants {
		if !strings.Contains(m.name, *only) {
			continue
		}
		start := time.Now()
		caught, out, err := m.check(filepath.Join(tmp, fmt.Sprint(i)))
		switch {
		case err != nil:
			holes++
			fmt.Printf("STALE   %s: %v\n", m.name, err)
		case !caught:
			holes++
			fmt.Printf("MISSED  %s: the tests of %s pass with it (%s)\n", m.name, strings.Join(m.pkgs, " "), time.Since(start).Round(time.Second))
		default:
			fmt.Printf("caught  %s (%s)\n", m.name, time.Since(start).Round(time.Second))
		}
		if *verbose || (err == nil && !caught) {
			os.Stdout.Write(out)
		}
	}
	if holes > 0 {
		fmt.Printf("mutants: %d of the suite's guards are not defended\n", holes)
		os.Exit(1)
	}
}

// check builds m into dir and runs its packages' tests against it. It
// reports whether they failed, as they should.
// apply returns m's file with m's change made, or an error if its text is
// not in the file exactly once (a stale mutant).
func (m mutant) apply() ([]byte, error) {
	src, err := os.ReadFile(m.file)
	if err != nil {
		return nil, err
	}
	if n := bytes.Count(src, []byte(m.from)); n != 1 {
		return nil, fmt.Errorf("%q occurs %d times in %s, want once", m.from, n, m.file)
	}
	return bytes.Replace(src, []byte(m.from), []byte(m.to), 1), nil
}

func (m mutant) check(dir string) (caught bool, out []byte, err error) {
	src, err := m.apply()
	if err != nil {
		return false, nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, nil, err
	}
	mutated := filepath.Join(dir, filepath.Base(m.file))
	if err := os.WriteFile(mutated, src, 0o644); err != nil {
		return false, nil, err
	}
	abs, err := filepath.Abs(m.file)
	if err != nil {
		return false, nil, err
	}
	overlay, err := json.Marshal(map[string]map[string]string{"Replace": {abs: mutated}})
	if err != nil {
		return false, nil, err
	}
	overlayFile := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(overlayFile, overlay, 0o644); err != nil {
		return false, nil, err
	}
	args := []string{"test", "-count=1", "-overlay=" + overlayFile}
	if m.run != "" {
		args = append(args, "-run", m.run)
	}
	cmd := exec.Command("go", append(args, m.pkgs...)...)
	out, err = cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return false, out, nil
	case errors.As(err, &exit) && bytes.Contains(out, []byte("\nFAIL")) && !bytes.Contains(out, []byte("[build failed]")) && !bytes.Contains(out, []byte("[setup failed]")):
		return true, out, nil
	default:
		return false, out, fmt.Errorf("go test did not build or run: %v\n%s", err, out)
	}
}
