package pipeline_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/internal/demo"
	"github.com/sealpipe/sealpipe/internal/testpki"
	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/approval"
	"github.com/sealpipe/sealpipe/pipeline/audit"
	"github.com/sealpipe/sealpipe/pipeline/keys"
	"github.com/sealpipe/sealpipe/pipeline/registry"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/pipeline/signed"
	"github.com/sealpipe/sealpipe/pipeline/trust"
	"github.com/sealpipe/sealpipe/storage"
)

// The attacks of issue 7 on the registry and on approvals, each by someone
// who can write anything in the bucket but holds no administrator's,
// approver's or pipeline's key. Each must end in a refusal, never in a
// sealed document.

// changeKey is the object of change seq of seal id.
func changeKey(id string, seq int) string {
	return fmt.Sprintf("%sseals/%s/log/%06d.json", storage.PrefixRegistry, id, seq)
}

// compact returns a signed object's bytes in compact JSON, for editing.
func compact(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestAttackModulePath: the registry cannot name a PKCS#11 module, or any
// key location, for the worker to load. A shared library uploaded into the
// inbox and named by a rewritten registration, or by a record.json in the
// old layout, is never opened: the seal is refused (REGISTRY_INVALID) and
// no key is opened at all.
func TestAttackModulePath(t *testing.T) {
	for _, tc := range []struct {
		name  string
		plant func(t *testing.T, e *env, evil string)
		code  report.Code // "" means the batch is sealed, the plant ignored
	}{
		{"registration rewritten, signature kept", func(t *testing.T, e *env, evil string) {
			key := changeKey(demo.SealCivil, 1)
			b := compact(t, e.read(key))
			e.put(key, bytes.Replace(b, []byte(`"key":"civil-affairs"`), []byte(`"key":"pkcs11:token=x;object=y?module-path=`+evil+`"`), 1))
		}, pipeline.CodeRegistryInvalid},
		{"record.json of the old layout", func(t *testing.T, e *env, evil string) {
			e.put(storage.PrefixRegistry+"seals/"+demo.SealCivil+"/record.json",
				[]byte(`{"id":"`+demo.SealCivil+`","status":"active","approvers":["approver-zhang"],"signer_key":"pkcs11:token=x;object=y?module-path=`+evil+`"}`))
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, pipeline.Config{})
			b := e.sampleBatch("module", 2, false)
			e.upload(b)
			evil := "/" + b.Ref.Inbox() + "evil.so"
			e.put(b.Ref.Inbox()+"evil.so", []byte("\x7fELF not really"))
			tc.plant(t, e, evil)
			e.restartWorker()
			var (
				opened  atomic.Int64
				mu      sync.Mutex
				aliases []string
			)
			e.rebuildWith(func(ctx context.Context, alias string) (crypto.Signer, error) {
				opened.Add(1)
				mu.Lock()
				aliases = append(aliases, alias)
				mu.Unlock()
				return e.ca.OpenAlias(ctx, alias)
			})
			rep := e.runBatch(b.Ref)
			for _, d := range rep.Documents {
				switch {
				case d.Document == "evil.so":
					if d.Code != pipeline.CodeNotApproved {
						t.Errorf("the planted library: %s %s", d.Outcome, d.Code)
					}
				case tc.code == "" && d.Outcome != report.OutcomeSealed:
					t.Errorf("%s: %s %s (%s), want sealed", d.Document, d.Outcome, d.Code, d.Reason)
				case tc.code != "" && d.Code != tc.code:
					t.Errorf("%s: %s %s (%s), want %s", d.Document, d.Outcome, d.Code, d.Reason, tc.code)
				}
			}
			for _, a := range aliases {
				if a != "civil-affairs" {
					t.Errorf("a key was opened by %q", a)
				}
			}
			if tc.code != "" && opened.Load() != 0 {
				t.Errorf("%d keys opened for a refused seal", opened.Load())
			}
		})
	}
}

// TestAttackApproverAdded: approver-zhang written into the county office's
// seal — by editing its signed registration, or by a record.json of the old
// layout — does not let her civil-affairs batch be sealed with it.
func TestAttackApproverAdded(t *testing.T) {
	for _, tc := range []struct {
		name  string
		plant func(t *testing.T, e *env)
		code  report.Code
	}{
		{"signed registration edited", func(t *testing.T, e *env) {
			key := changeKey(demo.SealCounty, 1)
			var env struct {
				Format    string          `json:"format"`
				Payload   json.RawMessage `json:"payload"`
				Signature []byte          `json:"signature"`
			}
			if err := json.Unmarshal(e.read(key), &env); err != nil {
				t.Fatal(err)
			}
			var c registry.Change
			if err := json.Unmarshal(env.Payload, &c); err != nil {
				t.Fatal(err)
			}
			zhang := e.ca.Approvers[demo.Approver].Cert
			c.Approvers = append(c.Approvers, registry.Approver{Name: "approver-zhang", Fingerprint: registry.Fingerprint(zhang), Departments: []string{demo.Department}})
			env.Payload, _ = json.Marshal(c)
			b, _ := json.Marshal(env)
			e.put(key, b)
		}, pipeline.CodeRegistryInvalid},
		{"record.json of the old layout", func(t *testing.T, e *env) {
			e.put(storage.PrefixRegistry+"seals/"+demo.SealCounty+"/record.json",
				[]byte(`{"id":"`+demo.SealCounty+`","status":"active","approvers":["approver-zhang","approver-li"]}`))
		}, pipeline.CodeSealNotPermitted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, pipeline.Config{})
			b := e.sampleBatch("county", 1, false)
			e.resign(b, demo.Approver, func(m *approval.Manifest) { m.Documents[0].Seal = demo.SealCounty })
			e.upload(b)
			tc.plant(t, e)
			e.restartWorker()
			rep := e.runBatch(b.Ref)
			if rep.Sealed != 0 || rep.Documents[0].Code != tc.code {
				t.Fatalf("batch: sealed %d, %s (%s); want %s", rep.Sealed, rep.Documents[0].Code, rep.Documents[0].Reason, tc.code)
			}
		})
	}
}

// TestAttackUnrevoke: a revoked seal stays revoked when its revocation is
// deleted from the log, for any worker; and when the older head is put back
// too, for the worker that has seen the revocation, running or restarted
// (its high-water marks outlive it). Only a worker that never saw the
// revocation cannot tell that log from the one before it: the security
// model in the README says who may write registry/.
func TestAttackUnrevoke(t *testing.T) {
	longTable(t)
	for _, tc := range []struct {
		name        string
		restoreHead bool
		restart     bool
		code        report.Code
	}{
		{"revocation deleted, worker restarted", false, true, pipeline.CodeRegistryInvalid},
		// The running worker keeps the state it verified at the head it read.
		{"revocation deleted, worker running", false, false, pipeline.CodeSealNotActive},
		{"revocation deleted and the older head put back, worker running", true, false, pipeline.CodeRegistryInvalid},
		{"revocation deleted and the older head put back, worker restarted", true, true, pipeline.CodeRegistryInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, pipeline.Config{})
			head := storage.PrefixRegistry + "seals/" + demo.SealCivil + "/head.json"
			before := e.read(head)
			e.setStatus(demo.SealCivil, registry.StatusRevoked, "key compromised")
			b := e.sampleBatch("unrevoke", 1, false)
			e.upload(b)
			if rep := e.runBatch(b.Ref); rep.Documents[0].Code != pipeline.CodeSealNotActive {
				t.Fatalf("revoked seal: %s", rep.Documents[0].Code)
			}
			if err := e.store.Delete(context.Background(), changeKey(demo.SealCivil, 2)); err != nil {
				t.Fatal(err)
			}
			if tc.restoreHead {
				e.put(head, before)
			}
			if tc.restart {
				e.restartWorker()
			}
			b2 := e.sampleBatch("unrevoke-2", 1, false)
			e.upload(b2)
			if rep := e.runBatch(b2.Ref); rep.Sealed != 0 || rep.Documents[0].Code != tc.code {
				t.Fatalf("after the un-revoke: sealed %d, %s (%s)", rep.Sealed, rep.Documents[0].Code, rep.Documents[0].Reason)
			}
		})
	}
}

// TestAttackImpostorApprovers: approvers are certificates, not names.
func TestAttackImpostorApprovers(t *testing.T) {
	e := newEnv(t, pipeline.Config{})
	// A second trusted CA issues its own "approver-zhang", approver role
	// and all, for another key.
	otherRootKey := testpki.NewKey(t)
	otherRoot := &testpki.Identity{Key: otherRootKey, Cert: testpki.Issue(t, &smx509.Certificate{
		Subject: pkix.Name{CommonName: "Another Trusted Root"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0),
		KeyUsage: smx509.KeyUsageCertSign | smx509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true,
	}, otherRootKey, nil)}
	impostorKey := testpki.NewKey(t)
	impostor := testpki.Issue(t, &smx509.Certificate{
		Subject: pkix.Name{CommonName: demo.Approver, Organization: []string{"张伟"}}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0),
		KeyUsage: smx509.KeyUsageDigitalSignature, UnknownExtKeyUsage: []asn1.ObjectIdentifier{trust.DefaultApproverOID},
	}, impostorKey, otherRoot)
	pool := trust.NewPool([]*smx509.Certificate{e.ca.Root, otherRoot.Cert})
	e.p = pipeline.New(e.store, e.reg, pool, keys.NewCache(e.ca.OpenAlias), e.cfg)

	signerKey, err := e.ca.Signer(context.Background(), e.ca.Signers["civil-affairs"])
	if err != nil {
		t.Fatal(err)
	}
	liKey, liCert := e.approver(demo.OtherApprover)
	for i, tc := range []struct {
		name string
		key  crypto.Signer
		cert *smx509.Certificate
		seal string
		code report.Code
	}{
		{"another CA's approver-zhang", impostorKey, impostor, demo.SealCivil, pipeline.CodeSealNotPermitted},
		{"approver-li in civil-affairs' folder with the county seal", liKey, liCert, demo.SealCounty, pipeline.CodeSealNotPermitted},
		{"a unit's document signer as approver", signerKey, e.ca.Signers["civil-affairs"].Cert, demo.SealCivil, pipeline.CodeApproverUntrusted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := e.sampleBatch(fmt.Sprintf("impostor-%d", i), 1, false)
			m, err := approval.Parse(b.Files[approval.ManifestName])
			if err != nil {
				t.Fatal(err)
			}
			m.Approver, m.Documents[0].Seal = tc.cert.Subject.CommonName, tc.seal
			b.Files[approval.ManifestName], b.Files[approval.SignatureName], err = approval.MarshalSigned(m, tc.key, tc.cert)
			if err != nil {
				t.Fatal(err)
			}
			e.upload(b)
			rep := e.runBatch(b.Ref)
			if rep.Sealed != 0 || rep.Documents[0].Code != tc.code {
				t.Fatalf("sealed %d, %s (%s); want %s", rep.Sealed, rep.Documents[0].Code, rep.Documents[0].Reason, tc.code)
			}
		})
	}
}

// TestAttackPlantedOutputs: objects planted where the pipeline writes its
// outputs and records never make a document count as done, and what is
// changed after sealing shows in the usage log's verification.
func TestAttackPlantedOutputs(t *testing.T) {
	longTable(t)
	ctx := context.Background()
	doc := demo.DocumentName(1)
	t.Run("a report planted before sealing", func(t *testing.T) {
		e := newEnv(t, pipeline.Config{})
		b := e.sampleBatch("planted-report", 2, false)
		e.upload(b)
		if _, err := e.p.Intake(ctx, b.Ref); err != nil {
			t.Fatal(err)
		}
		e.put(b.Ref.ReportKey(doc), []byte(`{"document":"`+doc+`","indication":"TOTAL_PASSED"}`))
		if out, err := e.p.SealDocument(ctx, b.Ref, doc); !errors.Is(err, pipeline.ErrTampered) {
			t.Fatalf("SealDocument = %q, %v; want ErrTampered", out, err)
		}
		if _, err := e.p.SealDocument(ctx, b.Ref, demo.DocumentName(2)); err != nil {
			t.Fatal(err)
		}
		if rep, err := e.p.WriteBatchReport(ctx, b.Ref); !errors.Is(err, pipeline.ErrTampered) {
			t.Fatalf("WriteBatchReport = %+v, %v; want ErrTampered, never a report counting it sealed", rep, err)
		}
	})
	t.Run("a batch report planted", func(t *testing.T) {
		e := newEnv(t, pipeline.Config{})
		b := e.sampleBatch("planted-batch", 1, false)
		e.upload(b)
		e.put(b.Ref.BatchReportKey(), []byte(`{"department":"civil-affairs","batch":"planted-batch","sealed":1}`))
		if plan, err := e.p.Intake(ctx, b.Ref); !errors.Is(err, pipeline.ErrTampered) {
			t.Fatalf("Intake = %+v, %v; want ErrTampered, never a batch taken as complete", plan, err)
		}
	})
	t.Run("an unsigned file planted at the sealed output", func(t *testing.T) {
		e := newEnv(t, pipeline.Config{})
		b := e.sampleBatch("planted-output", 1, false)
		e.upload(b)
		e.put(b.Ref.SealedKey(doc), b.Files[doc])
		rep := e.runBatch(b.Ref)
		if rep.Sealed != 0 || rep.Documents[0].Code != pipeline.CodeSelfCheckFailed {
			t.Fatalf("sealed %d, %s (%s); want SELF_CHECK_FAILED", rep.Sealed, rep.Documents[0].Code, rep.Documents[0].Reason)
		}
	})
	t.Run("a usage record forged before sealing", func(t *testing.T) {
		e := newEnv(t, pipeline.Config{})
		b := e.sampleBatch("forged-use", 1, false)
		e.upload(b)
		if _, err := e.p.Intake(ctx, b.Ref); err != nil {
			t.Fatal(err)
		}
		rec := audit.Record{SealID: demo.SealCivil, Department: b.Ref.Department, Batch: b.Ref.Batch, Document: doc, OutputSM3: "00", Operator: "nobody"}
		forged, _ := json.Marshal(rec)
		e.put(rec.Key(), forged)
		if _, err := e.p.SealDocument(ctx, b.Ref, doc); !errors.Is(err, audit.ErrTampered) {
			t.Fatalf("SealDocument over a forged usage record = %v, want audit.ErrTampered", err)
		}
	})
	// After sealing: the usage log's verification names each change.
	for _, tc := range []struct {
		name   string
		attack func(e *env, b *demo.Batch, rec string)
		object func(b *demo.Batch, rec string) string
	}{
		{"a sealed PDF replaced by the unsealed input", func(e *env, b *demo.Batch, _ string) {
			e.put(b.Ref.SealedKey(doc), b.Files[doc])
		}, func(b *demo.Batch, _ string) string { return b.Ref.SealedKey(doc) }},
		{"a usage record deleted", func(e *env, _ *demo.Batch, rec string) {
			if err := e.store.Delete(ctx, rec); err != nil {
				t.Fatal(err)
			}
		}, func(_ *demo.Batch, rec string) string { return rec }},
		{"a usage record rewritten", func(e *env, _ *demo.Batch, rec string) {
			e.put(rec, bytes.Replace(e.read(rec), []byte(`"operator"`), []byte(`"operator" `), 1))
		}, func(_ *demo.Batch, rec string) string { return rec }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, pipeline.Config{})
			b := e.sampleBatch("after", 2, false)
			e.upload(b)
			if rep := e.runBatch(b.Ref); rep.Sealed != 2 || len(rep.UsageLog) != 1 {
				t.Fatalf("sealed %d, usage log %+v", rep.Sealed, rep.UsageLog)
			}
			log := audit.New(e.store, signed.Signer{}, e.ca.Pool())
			complete := func(string) (bool, error) { return true, nil }
			if p, err := log.Verify(ctx, demo.SealCivil, complete); p != nil || err != nil {
				t.Fatalf("before the attack: %v, %v", p, err)
			}
			rec := (&audit.Record{SealID: demo.SealCivil, Department: b.Ref.Department, Batch: b.Ref.Batch, Document: doc}).Key()
			tc.attack(e, b, rec)
			p, err := log.Verify(ctx, demo.SealCivil, complete)
			if err != nil || p == nil || p.Object != tc.object(b, rec) {
				t.Fatalf("Verify = %v, %v; want a problem with %s", p, err, tc.object(b, rec))
			}
		})
	}
}
