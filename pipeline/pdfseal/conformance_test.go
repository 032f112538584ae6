package pdfseal

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sealpipe/sealpipe/internal/testenv"
)

// The conformance set: PDFs from many producers and hand-made hostile
// ones, checked in under testdata/conformance with MANIFEST.json saying
// what Seal must do with each (testdata/conformance/README.md; the files
// are written by `go run ./internal/pdfcorpus`).

const conformanceDir = "testdata/conformance"

// conformanceEntry is one file's entry in MANIFEST.json.
type conformanceEntry struct {
	File       string   `json:"file"`
	Producer   string   `json:"producer"`
	Features   []string `json:"features"`
	Expect     string   `json:"expect"`
	Page       int      `json:"page"`
	Signatures int      `json:"signatures"`
	Error      string   `json:"error"`
	Message    string   `json:"message"`
	QPDFCheck  string   `json:"qpdf_check"`
	Size       int      `json:"size"`
	SHA256     string   `json:"sha256"`
	Note       string   `json:"note"`
}

// conformanceErrors are the sentinel errors a manifest entry may name.
var conformanceErrors = map[string]error{
	"ErrMalformed":          ErrMalformed,
	"ErrEncrypted":          ErrEncrypted,
	"ErrTooLarge":           ErrTooLarge,
	"ErrNoPage":             ErrNoPage,
	"ErrPlacement":          ErrPlacement,
	"ErrNoChangesPermitted": ErrNoChangesPermitted,
}

// knownGaps lists the files of the set that the code does not yet handle
// as the manifest expects, with what goes wrong today. The test asserts
// that each still fails, so a fix must remove its entry; the expectation
// in the manifest is never weakened instead.
var knownGaps = map[string]string{}

// TestConformanceSet seals every file of the set the manifest expects to
// be sealed, and checks the output: the input is its prefix, Verify finds
// the new signature valid and covering the whole file, every earlier
// signature still valid with no change beyond what it permits, qpdf
// --check accepts it (warnings only where qpdf warns of the input too) and
// poppler's pdfsig still finds valid whatever it found valid in the input.
// Every other file must be refused with the sentinel error (and message)
// the manifest gives, writing nothing, and Verify must neither panic on
// it nor find a valid signature in it. The folder and the manifest must
// list the same files. With SEALPIPE_CONFORMANCE_OUT set to a folder, the
// sealed outputs are written there.
func TestConformanceSet(t *testing.T) {
	t.Parallel()
	entries := readConformanceManifest(t)
	sm2K, _ := keys(t)
	tools := conformanceTools(t)
	for _, e := range entries {
		t.Run(e.File, func(t *testing.T) {
			t.Parallel()
			in, err := os.ReadFile(filepath.Join(conformanceDir, e.File))
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(in)
			if len(in) != e.Size || hex.EncodeToString(sum[:]) != e.SHA256 {
				t.Errorf("%s is not the file the manifest describes (%d bytes, SHA-256 %x; manifest: %d bytes, %s): regenerate the set, never edit a file by hand",
					e.File, len(in), sum, e.Size, e.SHA256)
			}
			complete, err := checkConformance(t, e, in, sm2K, tools)
			gap, isGap := knownGaps[e.File]
			switch {
			case isGap && err == nil && complete:
				t.Errorf("known gap closed: %s is now handled as the manifest expects; remove it from knownGaps (it said: %s)", e.File, gap)
			case isGap && err == nil:
				t.Logf("known gap %q not reproduced, but a tool was missing so not every check ran", gap)
			case isGap:
				t.Logf("known gap (%s): %v", gap, err)
			case err != nil:
				t.Errorf("%s (%s; %s): %v", e.File, e.Producer, strings.Join(e.Features, ", "), err)
			}
		})
	}
}

// conformanceTool paths; empty when missing (outside CI).
type conformanceToolPaths struct{ qpdf, pdfsig string }

// conformanceTools finds qpdf and pdfsig. Under CI=true a missing one
// fails the test; elsewhere the checks that need it are left out.
func conformanceTools(t *testing.T) conformanceToolPaths {
	var p conformanceToolPaths
	for name, dst := range map[string]*string{"qpdf": &p.qpdf, "pdfsig": &p.pdfsig} {
		path, err := exec.LookPath(name)
		switch {
		case err == nil:
			*dst = path
		case testenv.CI():
			t.Fatalf("CI=true and %s is not on PATH (make test installs it: deploy/local/install-deps.sh)", name)
		default:
			t.Logf("%s not on PATH: the outputs are not checked with it", name)
		}
	}
	return p
}

// readConformanceManifest reads MANIFEST.json and checks it against the
// folder: the same files, each once, with valid expectations.
func readConformanceManifest(t *testing.T) []conformanceEntry {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(conformanceDir, "MANIFEST.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Files []conformanceEntry `json:"files"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&struct {
		Comment string              `json:"comment"`
		Files   *[]conformanceEntry `json:"files"`
	}{Files: &m.Files}); err != nil {
		t.Fatalf("MANIFEST.json: %v", err)
	}
	listed := map[string]bool{}
	for _, e := range m.Files {
		if listed[e.File] {
			t.Errorf("MANIFEST.json lists %s twice", e.File)
		}
		listed[e.File] = true
		switch e.Expect {
		case "seal":
			if e.Page < 1 || e.Error != "" || e.Message != "" {
				t.Errorf("%s: a file to seal needs a page and no error", e.File)
			}
		case "refuse":
			if conformanceErrors[e.Error] == nil {
				t.Errorf("%s: error %q is none of the sentinel errors the test knows", e.File, e.Error)
			}
		default:
			t.Errorf("%s: expect %q, want seal or refuse", e.File, e.Expect)
		}
		if _, err := os.Stat(filepath.Join(conformanceDir, e.File)); err != nil {
			t.Errorf("MANIFEST.json lists %s, which is not in %s: %v", e.File, conformanceDir, err)
		}
	}
	var inFolder []string
	err = filepath.WalkDir(conformanceDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(conformanceDir, p)
		rel = filepath.ToSlash(rel)
		if rel != "MANIFEST.json" && rel != "README.md" && !strings.HasPrefix(d.Name(), ".") {
			inFolder = append(inFolder, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range inFolder {
		if !listed[f] {
			t.Errorf("%s is in %s but not in MANIFEST.json: add it (go run ./internal/pdfcorpus)", f, conformanceDir)
		}
	}
	for f := range knownGaps {
		if !listed[f] {
			t.Errorf("knownGaps names %s, which MANIFEST.json does not list", f)
		}
	}
	if len(m.Files) < 30 {
		t.Errorf("the set has %d files; the issue asks for at least 30", len(m.Files))
	}
	return m.Files
}

// checkConformance seals one file and checks the outcome against its
// entry. It returns whether every check could run (no tool missing) and
// the first way the outcome differs from what the manifest expects.
func checkConformance(t *testing.T, e conformanceEntry, in []byte, key testKey, tools conformanceToolPaths) (complete bool, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opts := options(t, key, e.Page)
	opts.Placement = Placement{Page: max(e.Page, 1), X: 15, Y: 15, Width: 30, Height: 30}
	var w recordingWriter
	start := time.Now()
	sealErr := guardedSeal(ctx, &w, in, opts)
	if d := time.Since(start); d > 10*time.Second {
		return true, fmt.Errorf("Seal took %v", d)
	}
	t.Logf("Seal: %v", sealErr)

	if e.Expect == "refuse" {
		want := conformanceErrors[e.Error]
		switch {
		case sealErr == nil:
			return true, fmt.Errorf("sealed; want a refusal with %s", e.Error)
		case !errors.Is(sealErr, want):
			return true, fmt.Errorf("refused with %v; want %s", sealErr, e.Error)
		case e.Message != "" && !strings.Contains(strings.ToLower(sealErr.Error()), strings.ToLower(e.Message)):
			return true, fmt.Errorf("refused with %v; want a reason that says %q", sealErr, e.Message)
		case w.writes != 0:
			return true, fmt.Errorf("refused after writing %d times", w.writes)
		}
		// The same file given to Verify: an error or no valid signature,
		// promptly and without a panic.
		start = time.Now()
		results, err := guardedVerify(ctx, in)
		if err != nil && strings.Contains(err.Error(), "panicked") {
			return true, err
		}
		if d := time.Since(start); d > 10*time.Second {
			return true, fmt.Errorf("Verify took %v", d)
		}
		for _, r := range results {
			if r.Status == Valid {
				return true, fmt.Errorf("Verify finds a valid signature (%s) in a file to refuse", r.Field)
			}
		}
		return true, nil
	}

	if sealErr != nil {
		return true, fmt.Errorf("Seal: %w", sealErr)
	}
	out := w.buf.Bytes()
	if dir := os.Getenv("SEALPIPE_CONFORMANCE_OUT"); dir != "" {
		// For a look at the outputs: pdftoppm, pdfsig, qpdf --check.
		if err := os.WriteFile(filepath.Join(dir, e.File), out, 0o644); err != nil {
			t.Error(err)
		}
	}
	if !bytes.HasPrefix(out, in) {
		return true, fmt.Errorf("the input (%d bytes) is not a prefix of the output (%d bytes)", len(in), len(out))
	}
	for _, m := range objectNumberRe.FindAllSubmatch(out[len(in):], -1) {
		if n, err := strconv.Atoi(string(m[1])); err != nil || n > maxObjectNumber {
			return true, fmt.Errorf("the update defines object %s, beyond the %d objects of ISO 32000-1 Annex C", m[1], maxObjectNumber)
		}
	}
	results, err := guardedVerify(ctx, out)
	if err != nil {
		return true, fmt.Errorf("Verify of the output: %w", err)
	}
	if len(results) != e.Signatures+1 {
		return true, fmt.Errorf("Verify finds %d signatures in the output; want the %d earlier ones and the seal", len(results), e.Signatures)
	}
	for i, r := range results {
		last := i == len(results)-1
		switch {
		case r.Status != Valid:
			return true, fmt.Errorf("signature %d of %d (%s, %s): %v: %v", i+1, len(results), r.Field, r.SubFilter, r.Status, r.Err)
		case r.ChangesErr != nil:
			return true, fmt.Errorf("signature %d of %d (%s): the revisions after it: %v", i+1, len(results), r.Field, r.ChangesErr)
		case last && (!r.CoversWholeFile || r.Signer == nil || !r.Signer.Equal(key.cert)):
			return true, fmt.Errorf("the last signature (%s) is not the seal covering the whole file: %+v", r.Field, r)
		case !last && r.CoversWholeFile:
			return true, fmt.Errorf("earlier signature %s covers the whole output", r.Field)
		}
	}

	complete = true
	if tools.qpdf == "" {
		complete = false
	} else if err := conformanceQPDF(t, tools.qpdf, e, out); err != nil {
		return true, err
	}
	if e.Signatures > 0 {
		if tools.pdfsig == "" {
			complete = false
		} else {
			before := strings.Count(pdfsigList(t, tools.pdfsig, in), "Signature is Valid.")
			after := strings.Count(pdfsigList(t, tools.pdfsig, out), "Signature is Valid.")
			if after < before {
				return true, fmt.Errorf("pdfsig finds %d valid signatures in the input but %d in the output", before, after)
			}
		}
	}
	return complete, nil
}

// recordingWriter keeps what is written to it and counts the writes.
type recordingWriter struct {
	buf    bytes.Buffer
	writes int
}

func (w *recordingWriter) Write(p []byte) (int, error) {
	w.writes++
	return w.buf.Write(p)
}

// objectNumberRe finds the object definitions of an update.
var objectNumberRe = regexp.MustCompile(`(?m)^(\d+) \d+ obj\b`)

// guardedSeal is Seal with a panic turned into an error, so that one file
// cannot stop the whole set.
func guardedSeal(ctx context.Context, w *recordingWriter, in []byte, opts Options) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("Seal panicked: %v", r)
		}
	}()
	return Seal(ctx, w, in, opts)
}

func guardedVerify(ctx context.Context, in []byte) (res []Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("Verify panicked: %v", r)
		}
	}()
	return Verify(ctx, in)
}

// conformanceQPDF runs qpdf --check on a sealed output: it must exit 0,
// or 3 (warnings) when qpdf warns of the input as well (the manifest's
// qpdf_check): the update cannot take back what the input's bytes say.
func conformanceQPDF(t *testing.T, qpdf string, e conformanceEntry, out []byte) error {
	msg, err := exec.Command(qpdf, "--check", writeTemp(t, "sealed.pdf", out)).CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee) && ee.ExitCode() == 3 && e.QPDFCheck == "warnings":
		t.Logf("qpdf --check warns of the output as it does of the input:\n%s", msg)
		return nil
	}
	return fmt.Errorf("qpdf --check of the output (input: %s): %v\n%s", e.QPDFCheck, err, msg)
}

// pdfsigList is what pdfsig says of a file's signatures, without
// certificate validation.
func pdfsigList(t *testing.T, pdfsig string, pdf []byte) string {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	msg, _ := exec.CommandContext(ctx, pdfsig, "-nocert", writeTemp(t, "signed.pdf", pdf)).CombinedOutput()
	return string(msg)
}

// TestConformanceKnownGapsDocumented keeps the knownGaps list readable.
func TestConformanceKnownGapsDocumented(t *testing.T) {
	names := make([]string, 0, len(knownGaps))
	for f, why := range knownGaps {
		if strings.TrimSpace(why) == "" || strings.Contains(why, "\n") {
			t.Errorf("knownGaps[%q] must say in one line what goes wrong today", f)
		}
		names = append(names, f)
	}
	slices.Sort(names)
	t.Logf("%d known gaps: %s", len(names), strings.Join(names, ", "))
}
