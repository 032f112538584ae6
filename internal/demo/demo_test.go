package demo_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"github.com/sealpipe/sealpipe/internal/demo"
	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/approval"
	"github.com/sealpipe/sealpipe/storage/fs"
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
