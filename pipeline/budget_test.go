package pipeline_test

import (
	"context"
	"crypto"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sealpipe/sealpipe/internal/demo"
	"github.com/sealpipe/sealpipe/pipeline"
)

// countingSigner signs slowly and records how many signatures, hence
// documents, are in progress at once.
type countingSigner struct {
	crypto.Signer
	now, peak *atomic.Int64
}

func (s countingSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	n := s.now.Add(1)
	defer s.now.Add(-1)
	for p := s.peak.Load(); n > p && !s.peak.CompareAndSwap(p, n); p = s.peak.Load() {
	}
	time.Sleep(30 * time.Millisecond)
	return s.Signer.Sign(r, digest, opts)
}

// TestMemoryBudgetBoundsDocumentsInFlight seals eight documents from
// eight goroutines: with a budget that holds one document (or three) no
// more are sealed at once; without a budget they overlap.
func TestMemoryBudgetBoundsDocumentsInFlight(t *testing.T) {
	const docs = 8
	for _, c := range []struct {
		name     string
		perDoc   int64 // budget in documents; 0: none
		wantPeak int64 // at most
	}{
		{"one", 1, 1},
		{"three", 3, 3},
		{"none", 0, docs},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, pipeline.Config{})
			b := e.sampleBatch("budget-"+c.name, docs, false)
			smallest, largest := int64(1<<62), int64(0)
			for i := 1; i <= docs; i++ {
				n := int64(len(b.Files[demo.DocumentName(i)]))
				smallest, largest = min(smallest, n), max(largest, n)
			}
			// One document: any two exceed it. Three: any three fit, four do not.
			switch c.perDoc {
			case 0:
				e.cfg.MemoryBudget = -1
			case 1:
				e.cfg.MemoryBudget = smallest
			default:
				e.cfg.MemoryBudget = c.perDoc * largest
				if 4*smallest <= e.cfg.MemoryBudget {
					t.Fatalf("documents of %d–%d bytes: four fit in %d", smallest, largest, e.cfg.MemoryBudget)
				}
			}
			var now, peak atomic.Int64
			e.rebuildWith(func(ctx context.Context, alias string) (crypto.Signer, error) {
				s, err := e.ca.OpenAlias(ctx, alias)
				return countingSigner{s, &now, &peak}, err
			})
			e.upload(b)
			ctx := context.Background()
			if _, err := e.p.Intake(ctx, b.Ref); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			for i := 1; i <= docs; i++ {
				wg.Go(func() {
					if out, err := e.p.SealDocument(ctx, b.Ref, demo.DocumentName(i)); err != nil || out != "sealed" {
						t.Errorf("document %d: %q, %v", i, out, err)
					}
				})
			}
			wg.Wait()
			got := peak.Load()
			t.Logf("budget %d bytes (documents of %d–%d): %d sealed at once at most", e.cfg.MemoryBudget, smallest, largest, got)
			switch {
			case got > c.wantPeak:
				t.Fatalf("%d documents sealed at once, budget allows %d", got, c.wantPeak)
			case c.perDoc == 0 && got < 2:
				t.Fatalf("without a budget the documents never overlapped (%d): the test proves nothing", got)
			}
		})
	}
}
