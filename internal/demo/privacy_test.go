package demo_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
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
		switch ext := filepath.Ext(path); {
		case ext == ".ofd" && zipped(b):
			for part, content := range ofdParts(t, b) {
				if !strings.HasSuffix(part, "/Content.xml") && !strings.HasSuffix(part, ".ttf") {
					leaks(rel+": "+part, content)
				}
			}
		case ext == ".ofd":
		default: // PDFs draw their text as paths: no form of it may be in the file
			leaks(rel, b)
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

func zipped(b []byte) bool { return bytes.HasPrefix(b, []byte("PK")) }

// ofdParts unpacks an OFD package of the demo's making.
func ofdParts(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	parts := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		parts[f.Name], err = io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	return parts
}
