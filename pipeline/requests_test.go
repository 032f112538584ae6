package pipeline_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sealpipe/sealpipe/internal/demo"
	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/storage"
	"github.com/sealpipe/sealpipe/storage/fs"
)

// countingStore counts the requests made of a store, by kind.
type countingStore struct {
	storage.Store
	mu sync.Mutex
	n  map[string]int
}

func (s *countingStore) count(op string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n[op]++
}

func (s *countingStore) reset() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.n
	s.n = map[string]int{}
	return n
}

func (s *countingStore) Get(ctx context.Context, key string) (io.ReadCloser, storage.ObjectInfo, error) {
	s.count("GET")
	return s.Store.Get(ctx, key)
}

func (s *countingStore) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	s.count("HEAD " + strings.SplitN(key, "/", 2)[0])
	return s.Store.Stat(ctx, key)
}

func (s *countingStore) Put(ctx context.Context, key string, r io.Reader, size int64, opts storage.PutOptions) (storage.ObjectInfo, error) {
	s.count("PUT")
	return s.Store.Put(ctx, key, r, size, opts)
}

func (s *countingStore) List(ctx context.Context, prefix string, fn func(storage.ObjectInfo) error) error {
	s.count("LIST")
	return s.Store.List(ctx, prefix, fn)
}

// TestRequestsPerDocument pins what sealing one document costs the object
// store once a batch is under way (issue 11: the pipeline's own work
// once): GETs of its report and rejection record (to find an outcome from
// before; none), of the document (whose answer also says its size for the
// memory budget: no HEAD of its own) and of the sealed output (none yet);
// one HEAD of the seal's registry head (its state now; the self-check
// judges the state just read); and six create-only PUTs, the sealed
// output, the usage record, the verification code's index entry, the
// report's HTML page and PDF file for people and the report — four
// without those pages (Config.NoDocumentPages). The approval's two files are
// looked at (HEAD) once a second, not for every document.
func TestRequestsPerDocument(t *testing.T) {
	for _, tt := range []struct {
		noPages bool
		puts    int
	}{{false, 6}, {true, 4}} {
		t.Run(fmt.Sprintf("NoDocumentPages=%v", tt.noPages), func(t *testing.T) {
			requestsPerDocument(t, pipeline.Config{NoDocumentPages: tt.noPages}, tt.puts)
		})
	}
}

func requestsPerDocument(t *testing.T, cfg pipeline.Config, puts int) {
	st, err := fs.Open(t.TempDir(), "sealpipe")
	if err != nil {
		t.Fatal(err)
	}
	cs := &countingStore{Store: st, n: map[string]int{}}
	e := newEnvOn(t, cfg, cs)
	const docs = 9
	b := e.sampleBatch("requests", docs, false)
	e.upload(b)
	ctx := context.Background()
	if _, err := e.p.Intake(ctx, b.Ref); err != nil {
		t.Fatal(err)
	}
	seal := func(i int) {
		if out, err := e.p.SealDocument(ctx, b.Ref, demo.DocumentName(i)); err != nil || out != report.OutcomeSealed {
			t.Fatalf("document %d: %q, %v", i, out, err)
		}
	}
	seal(1) // the approval and the seal read, and cached
	cs.reset()
	start := time.Now()
	for i := 2; i <= docs; i++ {
		seal(i)
	}
	got := cs.reset()
	// At most one look at the approval's two files for each second begun.
	if n, most := got["HEAD inbox"], 2*(int(time.Since(start)/time.Second)+1); n > most {
		t.Errorf("%d HEADs of the approval's files in %s, want at most %d", n, time.Since(start), most)
	}
	delete(got, "HEAD inbox")
	want := map[string]int{"GET": 4, "HEAD registry": 1, "PUT": puts}
	for op, n := range got {
		got[op] = n / (docs - 1)
		if n%(docs-1) != 0 {
			t.Errorf("%d %s requests for %d documents: not the same for each", n, op, docs-1)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("requests per document %v, want %v", got, want)
	}
}
