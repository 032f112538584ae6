package demo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/sealpipe/sealpipe/internal/demo"
	"github.com/sealpipe/sealpipe/internal/demo/certpdf"
	"github.com/sealpipe/sealpipe/internal/engine"
	"github.com/sealpipe/sealpipe/pipeline/ofd"
)

// TestDemoKeepsPersonalDataOnThePage runs the demo on a mixed batch (PDF
// and OFD certificates, and the two bad documents) with every log line at
// debug level captured — the demo's logger and slog's default — and checks
// that no citizen's name or identity number appears in the logs, in the
// summary the demo prints, in the name of any file it wrote (inbox,
// sealed, reports, rejections, audit), in the content of any record it
// wrote, or anywhere in a sealed document but an OFD's page content.
func TestDemoKeepsPersonalDataOnThePage(t *testing.T) {
	const docs = 4
	data := t.TempDir()
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(logger)
	date := time.Now()
	sum, err := demo.Run(context.Background(), engine.Settings{Data: data, Bucket: "sealpipe", KeyPassphrase: "privacy test"},
		demo.Options{Docs: docs, Format: demo.FormatMixed, Concurrency: 2, Logger: logger, Date: date})
	if err != nil {
		t.Fatalf("%v\n%s", err, logs.String())
	}
	if sum.Sealed != docs || sum.Rejected != 2 {
		t.Fatalf("summary %+v", sum)
	}
	if !strings.Contains(logs.String(), "document rejected") {
		t.Fatalf("the logs lack the rejections, so they prove nothing:\n%s", logs.String())
	}
	summary, err := json.Marshal(sum)
	if err != nil {
		t.Fatal(err)
	}

	// The citizens of the batch: every good document and the two bad ones.
	var personal []string
	for i := 1; i <= docs+2; i++ {
		c := certpdf.Sample(i, date)
		personal = append(personal, c.Name, c.IDNumber)
	}
	leaks := func(where string, b []byte) {
		t.Helper()
		for _, v := range personal {
			for enc, needle := range map[string][]byte{"UTF-8": []byte(v), "UTF-16BE hex": utf16Hex(v)} {
				if i := bytes.Index(b, needle); i >= 0 {
					t.Errorf("%s: found %q (%s): …%s…", where, v, enc, b[max(0, i-80):min(len(b), i+len(needle)+80)])
				}
			}
		}
	}
	leaks("the logs", logs.Bytes())
	leaks("the summary", summary)

	var files int
	err = filepath.WalkDir(data, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(data, path)
		leaks("file name "+rel, []byte(rel))
		if d.IsDir() {
			return nil
		}
		files++
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if filepath.Ext(path) != ".ofd" { // PDFs draw their text as paths: no form of it may be in the file
			leaks(rel, b)
			return nil
		}
		pkg, err := ofd.Open(b, ofd.Limits{})
		if err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		for _, e := range pkg.Entries() {
			if strings.HasSuffix(e.Name, "/Content.xml") || strings.HasSuffix(e.Name, ".ttf") {
				continue // the page shows the citizen; the font holds glyphs
			}
			part, err := pkg.Read(e.Name)
			if err != nil {
				return fmt.Errorf("%s: %s: %w", rel, e.Name, err)
			}
			leaks(rel+": "+e.Name, part)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 3*docs {
		t.Fatalf("found only %d files under %s", files, data)
	}
}

// utf16Hex is s as a PDF hex text string holds it (without the byte order
// mark): UTF-16BE, four upper-case hexadecimal digits a code unit.
func utf16Hex(s string) []byte {
	var b strings.Builder
	for _, u := range utf16.Encode([]rune(s)) {
		fmt.Fprintf(&b, "%04X", u)
	}
	return []byte(b.String())
}
