package demo_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"github.com/sealpipe/sealpipe/internal/demo"
	"github.com/sealpipe/sealpipe/internal/demo/certpdf"
	"github.com/sealpipe/sealpipe/internal/devca"
	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/approval"
	"github.com/sealpipe/sealpipe/pipeline/ofd"
	"github.com/sealpipe/sealpipe/pipeline/verify"
	"github.com/sealpipe/sealpipe/storage/fs"
	"github.com/sealpipe/sealpipe/templates/sealpic"
)

func TestSetupAndMakeBatch(t *testing.T) {
	ctx := context.Background()
	st, err := fs.Open(t.TempDir(), "demo-test")
	if err != nil {
		t.Fatal(err)
	}
	ca, reg, err := demo.Setup(ctx, t.TempDir(), []byte("pass"), st)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{demo.SealCivil, demo.SealCounty} {
		if _, err := reg.Get(ctx, id); err != nil {
			t.Fatalf("seal %s: %v", id, err)
		}
	}
	approver := ca.Approvers[demo.Approver]
	key, err := ca.Signer(ctx, approver)
	if err != nil {
		t.Fatal(err)
	}
	b, err := demo.MakeBatch(demo.BatchOptions{Ref: pipeline.BatchRef{Department: demo.Department, Batch: "t1"}, Docs: 2, Bad: true, ApproverKey: key, ApproverCert: approver.Cert})
	if err != nil {
		t.Fatal(err)
	}
	names := b.Names()
	if len(names) != 6 || names[4] != approval.ManifestName || names[5] != approval.SignatureName {
		t.Fatalf("upload order %v: the approval must come last", names)
	}
	body := b.Files[approval.ManifestName]
	cert, err := approval.VerifySignature(body, b.Files[approval.SignatureName])
	if err != nil || !cert.Equal(approver.Cert) {
		t.Fatalf("approval signature: %v", err)
	}
	m, err := approval.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range m.Documents {
		sum := sm3.Sum(b.Files[d.Name])
		matches := hex.EncodeToString(sum[:]) == d.SM3
		if matches == (d.Name == demo.Tampered) {
			t.Errorf("%s: digest matches = %v", d.Name, matches)
		}
		if (d.Seal == demo.SealCounty) != (d.Name == demo.WrongSeal) {
			t.Errorf("%s names seal %s", d.Name, d.Seal)
		}
	}
	// Uploading twice keeps the first objects, even when the second upload
	// brings other content under the same names (here: approved a day
	// later, so every file differs).
	if err := b.Upload(ctx, st); err != nil {
		t.Fatal(err)
	}
	later, err := demo.MakeBatch(demo.BatchOptions{Ref: b.Ref, Docs: 2, Bad: true, ApproverKey: key, ApproverCert: approver.Cert, Date: time.Now().Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if err := later.Upload(ctx, st); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if bytes.Equal(later.Files[n], b.Files[n]) {
			t.Fatalf("%s: the second batch must differ from the first", n)
		}
		info, err := st.Stat(ctx, b.Ref.Inbox()+n)
		if err != nil {
			t.Fatal(err)
		}
		if sum := md5.Sum(b.Files[n]); info.ETag != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: ETag %s after the second upload, want the first upload's", n, info.ETag)
		}
	}
}

// TestBatchFormats: a batch's documents are PDFs, OFDs or both alternating,
// each rendered in its format with the placement that format measures; the
// tampered OFD still opens as an OFD package but no longer has its
// approved digest.
func TestBatchFormats(t *testing.T) {
	approved := approvedBy(t)
	tests := []struct {
		format                     demo.Format
		want                       []string // documents, in name order
		tampered, wrongSeal, first string
	}{
		{demo.FormatPDF, []string{"cert-00001.pdf", "cert-00002.pdf", "cert-00003.pdf", "zz-tampered.pdf", "zz-wrong-seal.pdf"}, demo.Tampered, demo.WrongSeal, demo.DocumentName(1)},
		{demo.FormatOFD, []string{"cert-00001.ofd", "cert-00002.ofd", "cert-00003.ofd", "zz-tampered.ofd", "zz-wrong-seal.ofd"}, "zz-tampered.ofd", "zz-wrong-seal.ofd", "cert-00001.ofd"},
		{demo.FormatMixed, []string{"cert-00001.pdf", "cert-00002.ofd", "cert-00003.pdf", "zz-tampered.ofd", "zz-wrong-seal.pdf"}, "zz-tampered.ofd", demo.WrongSeal, "cert-00001.pdf"},
	}
	for _, tt := range tests {
		t.Run(string(tt.format), func(t *testing.T) {
			if tt.format.Tampered() != tt.tampered || tt.format.WrongSeal() != tt.wrongSeal || tt.format.DocumentName(1) != tt.first {
				t.Fatalf("names: %s %s %s", tt.format.Tampered(), tt.format.WrongSeal(), tt.format.DocumentName(1))
			}
			opts := approved
			opts.Docs, opts.Bad, opts.Format = 3, true, tt.format
			b, err := demo.MakeBatch(opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := b.Names()[:len(b.Names())-2]; !slices.Equal(got, tt.want) {
				t.Fatalf("documents %v, want %v", got, tt.want)
			}
			m, err := approval.Parse(b.Files[approval.ManifestName])
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range m.Documents {
				data := b.Files[d.Name]
				wantFormat, pl := verify.FormatPDF, pdfPlacement()
				if strings.HasSuffix(d.Name, ".ofd") {
					wantFormat, pl = verify.FormatOFD, ofdPlacement()
				}
				if f := verify.DetectFormat(data); f != wantFormat {
					t.Errorf("%s: content is %s", d.Name, f)
				}
				if d.Placement != pl {
					t.Errorf("%s: placement %+v, want %+v", d.Name, d.Placement, pl)
				}
				if demo.ContentType(d.Name) != map[verify.Format]string{verify.FormatPDF: "application/pdf", verify.FormatOFD: "application/ofd"}[wantFormat] {
					t.Errorf("%s: content type %s", d.Name, demo.ContentType(d.Name))
				}
				sum := sm3.Sum(data)
				if matches := hex.EncodeToString(sum[:]) == d.SM3; matches == (d.Name == tt.tampered) {
					t.Errorf("%s: digest matches = %v", d.Name, matches)
				}
				if wantFormat == verify.FormatOFD {
					if _, err := ofd.Open(data, ofd.Limits{}); err != nil {
						t.Errorf("%s does not open: %v", d.Name, err)
					}
				}
			}
		})
	}
	approved.Docs, approved.Format = 1, "docx"
	if _, err := demo.MakeBatch(approved); !errors.Is(err, demo.ErrUnknownFormat) {
		t.Fatalf("format docx: %v, want ErrUnknownFormat", err)
	}
}

// TestTamperedOFD: the tampered OFD differs from the approved one in one
// byte of one part; every other part is the same.
func TestTamperedOFD(t *testing.T) {
	opts := approvedBy(t)
	opts.Docs, opts.Bad, opts.Format = 1, true, demo.FormatOFD
	opts.Date = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	bad, err := demo.MakeBatch(opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.Bad = false
	opts.Docs = 3 // the tampered document is certificate number Docs+1
	good, err := demo.MakeBatch(opts)
	if err != nil {
		t.Fatal(err)
	}
	orig, changed := parts(t, good.Files["cert-00002.ofd"]), parts(t, bad.Files[demo.FormatOFD.Tampered()])
	if len(orig) != len(changed) {
		t.Fatalf("%d parts, want %d", len(changed), len(orig))
	}
	diffs := 0
	for name, data := range orig {
		other, ok := changed[name]
		if !ok || len(other) != len(data) {
			t.Fatalf("part %s missing or resized", name)
		}
		for i := range data {
			if data[i] != other[i] {
				diffs++
			}
		}
	}
	if diffs != 1 {
		t.Fatalf("%d bytes differ, want 1", diffs)
	}
}

// approvedBy returns the options of a batch "f" approved by demo.Approver
// of a new development trust chain.
func approvedBy(t *testing.T) demo.BatchOptions {
	t.Helper()
	ca, err := devca.Init(devca.Config{Dir: t.TempDir(), Passphrase: []byte("pass"), Units: demo.Units, Approvers: demo.Approvers})
	if err != nil {
		t.Fatal(err)
	}
	approver := ca.Approvers[demo.Approver]
	key, err := ca.Signer(context.Background(), approver)
	if err != nil {
		t.Fatal(err)
	}
	return demo.BatchOptions{Ref: pipeline.BatchRef{Department: demo.Department, Batch: "f"}, ApproverKey: key, ApproverCert: approver.Cert}
}

// parts reads every part of an OFD package.
func parts(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	p, err := ofd.Open(data, ofd.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range p.Entries() {
		if out[e.Name], err = p.Read(e.Name); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func pdfPlacement() approval.Placement {
	page, x, y, _, _ := certpdf.SealArea()
	return approval.Placement{Page: page, X: x, Y: y}
}

// ofdPlacement is where the seal picture lands on the PDF, as OFD measures.
func ofdPlacement() approval.Placement {
	page, x, y, _, _ := certpdf.SealArea()
	return approval.Placement{Page: page, X: x, Y: certpdf.PageHeight - y - sealpic.DefaultDiameterMM}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]demo.Format{"": demo.FormatPDF, "pdf": demo.FormatPDF, "OFD": demo.FormatOFD, "mixed": demo.FormatMixed} {
		if got, err := demo.ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := demo.ParseFormat("ofd,pdf"); !errors.Is(err, demo.ErrUnknownFormat) {
		t.Errorf("ParseFormat(ofd,pdf) = %v, want ErrUnknownFormat", err)
	}
}
