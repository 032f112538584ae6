// Package storagetest is the conformance suite of storage.Store: one set of
// tests that pins down the contract documented in package storage, run
// against every backend (the fs folder store, the S3/MinIO store) so that
// sealpipe behaves the same on each. It follows restic's backend/test.
//
// A backend's test calls Run with a constructor:
//
//	func TestConformance(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) storage.Store {
//			s, err := fs.Open(t.TempDir(), "records")
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s
//		})
//	}
package storagetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sealpipe/sealpipe/storage"
)

// Run runs the conformance suite as subtests of t. Each subtest calls
// newStore once and expects an empty bucket that nothing else writes to
// while it runs; newStore should fail the test it is given if it cannot
// provide one, and arrange any cleanup with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) storage.Store) {
	tests := []struct {
		name string
		run  func(*testing.T, storage.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"EmptyObject", testEmptyObject},
		{"ContentTypeAndMetadata", testContentTypeAndMetadata},
		{"InvalidOptions", testInvalidOptions},
		{"ETag", testETag},
		{"CreateOnly", testCreateOnly},
		{"CreateOnlyConcurrent", testCreateOnlyConcurrent},
		{"IfMatch", testIfMatch},
		{"IfMatchConcurrent", testIfMatchConcurrent},
		{"NotExist", testNotExist},
		{"InvalidKeys", testInvalidKeys},
		{"ValidKeys", testValidKeys},
		{"ListOrder", testListOrder},
		{"ListPrefix", testListPrefix},
		{"ListStops", testListStops},
		{"ListMany", testListMany},
		{"Delete", testDelete},
		{"LargeObject", testLargeObject},
		{"FailingReader", testFailingReader},
		{"SizeMismatch", testSizeMismatch},
		{"CancelledContext", testCancelledContext},
		{"CancelDuringPut", testCancelDuringPut},
		{"CancelDuringGet", testCancelDuringGet},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, newStore(t))
		})
	}
}

// clockSkew is how far a backend's clock may be from the test's for the
// ModTime checks.
const clockSkew = time.Hour

func testRoundTrip(t *testing.T, s storage.Store) {
	ctx := t.Context()
	for _, tc := range []struct {
		name string
		size func(content []byte) int64
	}{
		{"known size", func(c []byte) int64 { return int64(len(c)) }},
		{"unknown size", func([]byte) int64 { return -1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := "roundtrip/" + strings.ReplaceAll(tc.name, " ", "-") + "/doc.pdf"
			content := []byte("%PDF-1.7 round trip through " + tc.name)
			before := time.Now()
			// Hide any WriterTo or Len the backend might use to learn the size.
			put, err := s.Put(ctx, key, struct{ io.Reader }{bytes.NewReader(content)}, tc.size(content), storage.PutOptions{})
			if err != nil {
				t.Fatalf("Put: %v", err)
			}
			after := time.Now()
			checkInfo(t, "Put", put, key, int64(len(content)))
			checkModTime(t, "Put", put.ModTime, before, after)

			got, info := Get(t, s, key)
			if !bytes.Equal(got, content) {
				t.Errorf("Get content = %q, want %q", got, content)
			}
			checkInfo(t, "Get", info, key, int64(len(content)))
			if info.ETag != put.ETag {
				t.Errorf("Get ETag = %q, Put returned %q", info.ETag, put.ETag)
			}
			if info.ContentType != storage.DefaultContentType {
				t.Errorf("Get ContentType = %q, want the default %q", info.ContentType, storage.DefaultContentType)
			}

			st, err := s.Stat(ctx, key)
			if err != nil {
				t.Fatalf("Stat: %v", err)
			}
			checkInfo(t, "Stat", st, key, int64(len(content)))
			checkModTime(t, "Stat", st.ModTime, before, after)
			if st.ETag != put.ETag {
				t.Errorf("Stat ETag = %q, Put returned %q", st.ETag, put.ETag)
			}
		})
	}
}

func testEmptyObject(t *testing.T, s storage.Store) {
	for _, size := range []int64{0, -1} {
		key := fmt.Sprintf("empty/size%d", size)
		put, err := s.Put(t.Context(), key, strings.NewReader(""), size, storage.PutOptions{})
		if err != nil {
			t.Fatalf("Put(size %d): %v", size, err)
		}
		checkInfo(t, "Put", put, key, 0)
		got, info := Get(t, s, key)
		if len(got) != 0 {
			t.Errorf("Get(%q) = %q, want nothing", key, got)
		}
		checkInfo(t, "Get", info, key, 0)
	}
}

func testContentTypeAndMetadata(t *testing.T, s storage.Store) {
	ctx := t.Context()
	const key = "sealed/tax/b1/doc.pdf"
	md := map[string]string{"seal-id": "S-0042", "source-sm3": strings.Repeat("ab", 32), "n": "  spaced value  "}
	Put(t, s, key, "sealed pdf", storage.PutOptions{ContentType: "application/pdf", Metadata: md})

	st, err := s.Stat(ctx, key)
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	_, gi := Get(t, s, key)
	for _, c := range []struct {
		op   string
		info storage.ObjectInfo
	}{{"Stat", st}, {"Get", gi}} {
		if c.info.ContentType != "application/pdf" {
			t.Errorf("%s ContentType = %q, want application/pdf", c.op, c.info.ContentType)
		}
		if !maps.Equal(c.info.Metadata, md) {
			t.Errorf("%s Metadata = %v, want %v", c.op, c.info.Metadata, md)
		}
	}
	for _, info := range List(t, s, "sealed/") {
		if info.Metadata != nil {
			t.Errorf("List entry %q carries Metadata %v; listings must leave it nil", info.Key, info.Metadata)
		}
	}

	// Overwriting replaces the content type and the metadata too.
	Put(t, s, key, "plain", storage.PutOptions{})
	st, err = s.Stat(ctx, key)
	if err != nil {
		t.Fatalf("Stat after overwrite: %v", err)
	}
	if st.ContentType != storage.DefaultContentType || len(st.Metadata) != 0 {
		t.Errorf("after an overwrite without options: ContentType %q, Metadata %v; want %q and none",
			st.ContentType, st.Metadata, storage.DefaultContentType)
	}
}

func testInvalidOptions(t *testing.T, s storage.Store) {
	for _, tc := range []struct {
		name string
		opts storage.PutOptions
	}{
		{"upper-case metadata key", storage.PutOptions{Metadata: map[string]string{"Seal-ID": "x"}}},
		{"underscore in metadata key", storage.PutOptions{Metadata: map[string]string{"seal_id": "x"}}},
		{"empty metadata key", storage.PutOptions{Metadata: map[string]string{"": "x"}}},
		{"newline in metadata value", storage.PutOptions{Metadata: map[string]string{"a": "x\r\nx-amz-acl: public-read"}}},
		{"non-ASCII metadata value", storage.PutOptions{Metadata: map[string]string{"dept": "税务局"}}},
		{"too much metadata", storage.PutOptions{Metadata: map[string]string{"big": strings.Repeat("x", storage.MaxMetadataLen)}}},
		{"control character in content type", storage.PutOptions{ContentType: "text/plain\n"}},
		{"both conditions", storage.PutOptions{IfNoneMatch: true, IfMatch: "abc"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := "options/" + strings.ReplaceAll(tc.name, " ", "-")
			_, err := s.Put(t.Context(), key, strings.NewReader("x"), 1, tc.opts)
			if !errors.Is(err, storage.ErrInvalidOptions) {
				t.Fatalf("Put with %s: error %v, want ErrInvalidOptions", tc.name, err)
			}
			if storage.IsRetryable(err) {
				t.Errorf("invalid options reported retryable: %v", err)
			}
			requireAbsent(t, s, key)
		})
	}
}

func testETag(t *testing.T, s storage.Store) {
	ctx := t.Context()
	const key = "etag/obj"
	p1 := Put(t, s, key, "version one", storage.PutOptions{})
	if p1.ETag == "" {
		t.Fatal("Put returned an empty ETag")
	}
	for i := range 3 {
		st, err := s.Stat(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if st.ETag != p1.ETag {
			t.Fatalf("Stat #%d ETag = %q, want the stable %q", i, st.ETag, p1.ETag)
		}
	}
	if l := List(t, s, key); len(l) != 1 || l[0].ETag != p1.ETag {
		t.Errorf("List(%q) = %+v, want one entry with ETag %q", key, l, p1.ETag)
	}

	p2 := Put(t, s, key, "version two", storage.PutOptions{})
	if p2.ETag == p1.ETag {
		t.Errorf("ETag %q did not change with the content", p2.ETag)
	}
	_, gi := Get(t, s, key)
	if gi.ETag != p2.ETag {
		t.Errorf("Get ETag = %q, want the new %q", gi.ETag, p2.ETag)
	}

	// Distinct objects with distinct content have distinct ETags.
	p3 := Put(t, s, "etag/other", "version three", storage.PutOptions{})
	if p3.ETag == p1.ETag || p3.ETag == p2.ETag {
		t.Errorf("ETag %q of other content repeats an earlier one", p3.ETag)
	}
}

func testCreateOnly(t *testing.T, s storage.Store) {
	ctx := t.Context()
	const key = "registry/seal-1.esl"
	first := Put(t, s, key, "first", storage.PutOptions{IfNoneMatch: true})
	_, err := s.Put(ctx, key, strings.NewReader("second"), 6, storage.PutOptions{IfNoneMatch: true})
	if !errors.Is(err, storage.ErrPreconditionFailed) {
		t.Fatalf("second create-only Put: error %v, want ErrPreconditionFailed", err)
	}
	if storage.IsRetryable(err) {
		t.Errorf("precondition failure reported retryable: %v", err)
	}
	got, info := Get(t, s, key)
	if string(got) != "first" || info.ETag != first.ETag {
		t.Errorf("after a lost create-only write: content %q ETag %q, want %q %q", got, info.ETag, "first", first.ETag)
	}
}

// contenders is how many goroutines race in the concurrency tests.
const contenders = 16

func testCreateOnlyConcurrent(t *testing.T, s storage.Store) {
	const key = "audit/race/record.json"
	wins := race(t, contenders, func(i int) (storage.ObjectInfo, error) {
		return s.Put(t.Context(), key, strings.NewReader(writerContent(i)), -1, storage.PutOptions{IfNoneMatch: true})
	})
	checkOneWinner(t, s, key, wins)
}

func testIfMatch(t *testing.T, s storage.Store) {
	ctx := t.Context()
	const key = "registry/index.json"
	v1 := Put(t, s, key, "v1", storage.PutOptions{})
	v2, err := s.Put(ctx, key, strings.NewReader("v2"), 2, storage.PutOptions{IfMatch: v1.ETag})
	if err != nil {
		t.Fatalf("Put IfMatch the current ETag: %v", err)
	}
	for _, tc := range []struct{ name, key, etag string }{
		{"stale ETag", key, v1.ETag},
		{"made-up ETag", key, "0123456789abcdef0123456789abcdef"},
		{"missing object", "registry/missing.json", v2.ETag},
	} {
		_, err := s.Put(ctx, tc.key, strings.NewReader("v3"), 2, storage.PutOptions{IfMatch: tc.etag})
		if !errors.Is(err, storage.ErrPreconditionFailed) {
			t.Errorf("Put IfMatch with a %s: error %v, want ErrPreconditionFailed", tc.name, err)
		}
		if storage.IsRetryable(err) {
			t.Errorf("precondition failure reported retryable: %v", err)
		}
	}
	got, info := Get(t, s, key)
	if string(got) != "v2" || info.ETag != v2.ETag {
		t.Errorf("after failed compare-and-swaps: content %q ETag %q, want %q %q", got, info.ETag, "v2", v2.ETag)
	}
	requireAbsent(t, s, "registry/missing.json")
}

func testIfMatchConcurrent(t *testing.T, s storage.Store) {
	const key = "registry/cas.json"
	base := Put(t, s, key, "base", storage.PutOptions{})
	wins := race(t, contenders, func(i int) (storage.ObjectInfo, error) {
		return s.Put(t.Context(), key, strings.NewReader(writerContent(i)), -1, storage.PutOptions{IfMatch: base.ETag})
	})
	checkOneWinner(t, s, key, wins)
}

// writerContent is what contender i writes.
func writerContent(i int) string { return fmt.Sprintf("written by contender %d", i) }

// race runs n writers at once and returns what each that succeeded
// returned, by writer index. Every failure must be ErrPreconditionFailed.
func race(t *testing.T, n int, write func(i int) (storage.ObjectInfo, error)) map[int]storage.ObjectInfo {
	t.Helper()
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		start = make(chan struct{})
		wins  = map[int]storage.ObjectInfo{}
	)
	for i := range n {
		wg.Go(func() {
			<-start
			info, err := write(i)
			switch {
			case err == nil:
				mu.Lock()
				wins[i] = info
				mu.Unlock()
			case !errors.Is(err, storage.ErrPreconditionFailed):
				t.Errorf("writer %d: error %v, want success or ErrPreconditionFailed", i, err)
			}
		})
	}
	close(start)
	wg.Wait()
	return wins
}

// checkOneWinner checks that exactly one writer won and that key holds
// what it wrote.
func checkOneWinner(t *testing.T, s storage.Store, key string, wins map[int]storage.ObjectInfo) {
	t.Helper()
	if len(wins) != 1 {
		t.Fatalf("%d writers succeeded (%v), want exactly 1", len(wins), slices.Sorted(maps.Keys(wins)))
	}
	for i, won := range wins {
		got, info := Get(t, s, key)
		if string(got) != writerContent(i) || info.ETag != won.ETag {
			t.Errorf("object holds %q ETag %q, want winner %d's %q ETag %q", got, info.ETag, i, writerContent(i), won.ETag)
		}
	}
}

func testNotExist(t *testing.T, s storage.Store) {
	ctx := t.Context()
	Put(t, s, "dir/child", "child", storage.PutOptions{})
	// "dir" exists only as a prefix: it is no object.
	for _, key := range []string{"missing", "dir", "dir/child/grandchild", "dir/chi"} {
		_, err := s.Stat(ctx, key)
		checkNotExist(t, "Stat", key, err)
		rc, _, err := s.Get(ctx, key)
		if rc != nil {
			rc.Close()
		}
		checkNotExist(t, "Get", key, err)
		if err := s.Delete(ctx, key); err != nil {
			t.Errorf("Delete(%q) of a missing object: %v, want nil", key, err)
		}
	}
	if got, _ := Get(t, s, "dir/child"); string(got) != "child" {
		t.Errorf("dir/child = %q after deleting the prefix \"dir\", want it intact", got)
	}
}

// invalidKeys are keys every backend must refuse.
var invalidKeys = []string{
	"",
	"/abs",
	"a//b",
	"trailing/",
	"./a",
	"a/./b",
	"../escape",
	"a/../../escape",
	"a/..",
	`back\slash`,
	"nul\x00byte",
	"new\nline",
	"del\x7f",
	"c1\u0085control",
	"bad\xffutf8",
	strings.Repeat("k", storage.MaxKeyLen+1),
}

func testInvalidKeys(t *testing.T, s storage.Store) {
	ctx := t.Context()
	Put(t, s, "inside/obj", "x", storage.PutOptions{})
	for _, key := range invalidKeys {
		errs := map[string]error{}
		_, errs["Stat"] = s.Stat(ctx, key)
		rc, _, err := s.Get(ctx, key)
		if rc != nil {
			rc.Close()
		}
		errs["Get"] = err
		_, errs["Put"] = s.Put(ctx, key, strings.NewReader("x"), 1, storage.PutOptions{})
		errs["Delete"] = s.Delete(ctx, key)
		for op, err := range errs {
			if !errors.Is(err, storage.ErrInvalidKey) {
				t.Errorf("%s(%q): error %v, want ErrInvalidKey", op, key, err)
			}
			if storage.IsRetryable(err) {
				t.Errorf("%s(%q): invalid key reported retryable", op, key)
			}
		}
	}
	// A prefix no valid key has lists nothing; it is not an error.
	for _, prefix := range []string{"../", "/", "/inside/", "inside//", "inside/../", `inside\`} {
		if got := Keys(List(t, s, prefix)); len(got) != 0 {
			t.Errorf("List(%q) = %q, want nothing", prefix, got)
		}
	}
	if got := Keys(List(t, s, "")); !slices.Equal(got, []string{"inside/obj"}) {
		t.Errorf("List(\"\") = %q after refused writes, want only inside/obj", got)
	}
}

// validKeys are unusual keys every backend must store, read and list.
func validKeys() []string {
	seg := strings.Repeat("k", 200)
	long := strings.Join([]string{seg, seg, seg, seg, seg}, "/")
	long += "/" + strings.Repeat("z", storage.MaxKeyLen-len(long)-1)
	return []string{
		"inbox/税务局/批次 1/文件（一）.pdf",
		"a..b/c...d/...",
		".hidden/.x",
		"with space/plus+equals=amp&percent%25/hash#q?",
		"emoji/🔏",
		"x",
		long,
	}
}

func testValidKeys(t *testing.T, s storage.Store) {
	ks := validKeys()
	if n := len(ks[len(ks)-1]); n != storage.MaxKeyLen {
		t.Fatalf("the longest test key is %d bytes, want %d", n, storage.MaxKeyLen)
	}
	for i, key := range ks {
		content := fmt.Sprintf("content %d", i)
		Put(t, s, key, content, storage.PutOptions{})
		got, info := Get(t, s, key)
		if string(got) != content || info.Key != key {
			t.Errorf("Get(%q) = %q key %q, want %q", key, got, info.Key, content)
		}
	}
	want := slices.Sorted(slices.Values(ks))
	if got := Keys(List(t, s, "")); !slices.Equal(got, want) {
		t.Errorf("List(\"\") = %q, want %q", got, want)
	}
}

func testListOrder(t *testing.T, s storage.Store) {
	// Chosen to defeat a folder walk that sorts names: "a.txt" < "a/b.c"
	// < "a0" in byte order, so folder "a" sorts between two files.
	want := []string{"Q", "a-b", "a.txt", "a/b.c", "a/b/c", "a/b0", "a0", "ab/x", "b", "z/y/x/w"}
	if !slices.IsSorted(want) {
		t.Fatalf("test keys %q are not in order", want)
	}
	shuffled := slices.Clone(want)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) {
		shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
	})
	for _, k := range shuffled {
		Put(t, s, k, k, storage.PutOptions{})
	}
	infos := List(t, s, "")
	if got := Keys(infos); !slices.Equal(got, want) {
		t.Fatalf("List(\"\") = %q, want %q", got, want)
	}
	for _, info := range infos {
		checkInfo(t, "List", info, info.Key, int64(len(info.Key)))
		st, err := s.Stat(t.Context(), info.Key)
		if err != nil {
			t.Fatal(err)
		}
		if st.ETag != info.ETag || st.Size != info.Size || st.ModTime.Sub(info.ModTime).Abs() > time.Second {
			t.Errorf("List entry %+v disagrees with Stat %+v", info, st)
		}
	}
}

func testListPrefix(t *testing.T, s storage.Store) {
	objects := []string{
		"inbox/a.txt", "inbox/a/1", "inbox/a/2", "inbox/ab/x", "inbox/b/1",
		"inboxes/z", "sealed/a/1",
	}
	for _, k := range objects {
		Put(t, s, k, k, storage.PutOptions{})
	}
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"", objects},
		{"inbox/", objects[:5]},
		{"inbox", objects[:6]},
		{"inbox/a", objects[:4]}, // not a folder boundary: also a.txt and ab/x
		{"inbox/a/", objects[1:3]},
		{"inbox/a/1", objects[1:2]},
		{"inbox/a/1/", nil},
		{"inbox/c", nil},
		{"i", objects[:6]},
		{"sealed/a/", objects[6:]},
		{"nothing/", nil},
	} {
		if got := Keys(List(t, s, tc.prefix)); !slices.Equal(got, tc.want) {
			t.Errorf("List(%q) = %q, want %q", tc.prefix, got, tc.want)
		}
	}
}

func testListStops(t *testing.T, s storage.Store) {
	for _, k := range []string{"p/1", "p/2", "p/3", "p/4"} {
		Put(t, s, k, k, storage.PutOptions{})
	}
	errStop := errors.New("stop here")
	var seen []string
	err := s.List(t.Context(), "p/", func(info storage.ObjectInfo) error {
		seen = append(seen, info.Key)
		if len(seen) == 2 {
			return errStop
		}
		return nil
	})
	if !errors.Is(err, errStop) {
		t.Errorf("List returned %v, want the callback's error", err)
	}
	if !slices.Equal(seen, []string{"p/1", "p/2"}) {
		t.Errorf("List called back for %q, want p/1 and p/2 only", seen)
	}
}

func testListMany(t *testing.T, s storage.Store) {
	// More than one S3 listing page (1000 keys), spread over folders.
	const folders, perFolder = 30, 50
	var want []string
	for f := range folders {
		for i := range perFolder {
			want = append(want, fmt.Sprintf("many/%02d/%04d", f, i))
		}
	}
	var wg sync.WaitGroup
	work := make(chan string)
	for range 4 {
		wg.Go(func() {
			for k := range work {
				if _, err := s.Put(t.Context(), k, strings.NewReader(k), int64(len(k)), storage.PutOptions{}); err != nil {
					t.Errorf("Put(%q): %v", k, err)
				}
			}
		})
	}
	for _, k := range want {
		work <- k
	}
	close(work)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	Put(t, s, "many0", "outside the folder", storage.PutOptions{})

	if got := Keys(List(t, s, "many/")); !slices.Equal(got, want) {
		t.Errorf("List(\"many/\") returned %d keys, want %d in order", len(got), len(want))
	}
	if got := Keys(List(t, s, "many/07/")); !slices.Equal(got, want[7*perFolder:8*perFolder]) {
		t.Errorf("List(\"many/07/\") = %d keys, want %d", len(got), perFolder)
	}
	if got := Keys(List(t, s, "many/1")); !slices.Equal(got, want[10*perFolder:20*perFolder]) {
		t.Errorf("List(\"many/1\") = %d keys, want %d", len(got), 10*perFolder)
	}
	if got := List(t, s, ""); len(got) != len(want)+1 {
		t.Errorf("List(\"\") = %d keys, want %d", len(got), len(want)+1)
	}
}

func testDelete(t *testing.T, s storage.Store) {
	ctx := t.Context()
	const key, sibling = "d/x/y/obj", "d/x/keep"
	Put(t, s, key, "doomed", storage.PutOptions{ContentType: "text/plain", Metadata: map[string]string{"a": "b"}})
	Put(t, s, sibling, "kept", storage.PutOptions{})
	for i := range 2 { // the second Delete finds nothing and succeeds
		if err := s.Delete(ctx, key); err != nil {
			t.Fatalf("Delete #%d: %v", i+1, err)
		}
	}
	requireAbsent(t, s, key)
	if got := Keys(List(t, s, "d/")); !slices.Equal(got, []string{sibling}) {
		t.Errorf("List(\"d/\") after Delete = %q, want only %q", got, sibling)
	}
	if got, _ := Get(t, s, sibling); string(got) != "kept" {
		t.Errorf("sibling = %q, want it intact", got)
	}
	// The key is free again, with nothing left of the deleted object.
	Put(t, s, key, "reborn", storage.PutOptions{IfNoneMatch: true})
	got, info := Get(t, s, key)
	if string(got) != "reborn" || info.ContentType != storage.DefaultContentType || len(info.Metadata) != 0 {
		t.Errorf("recreated object: %q %q %v, want %q with default type and no metadata", got, info.ContentType, info.Metadata, "reborn")
	}
}

func testLargeObject(t *testing.T, s storage.Store) {
	const size = 20 << 20
	for _, declared := range []int64{-1, size} {
		key := fmt.Sprintf("large/declared%d.bin", declared)
		want := sha256.New()
		src := io.TeeReader(io.LimitReader(rand.NewChaCha8([32]byte{byte(declared)}), size), want)
		put, err := s.Put(t.Context(), key, src, declared, storage.PutOptions{})
		if err != nil {
			t.Fatalf("Put of %d bytes (declared %d): %v", size, declared, err)
		}
		checkInfo(t, "Put", put, key, size)

		rc, info, err := s.Get(t.Context(), key)
		if err != nil {
			t.Fatal(err)
		}
		got := sha256.New()
		n, err := io.Copy(got, rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if n != size || info.Size != size || !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
			t.Errorf("read back %d bytes (info says %d) with SHA-256 %x, want %d bytes with %x",
				n, info.Size, got.Sum(nil), size, want.Sum(nil))
		}
	}
}

// failingReader yields n bytes, then fails with err.
type failingReader struct {
	n   int
	err error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, r.err
	}
	k := min(len(p), r.n)
	clear(p[:k])
	r.n -= k
	return k, nil
}

// failingReaderAt holds n bytes, then fails with err.
type failingReaderAt struct {
	n   int64
	err error
}

func (r failingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	k := int(max(0, min(int64(len(p)), r.n-off)))
	clear(p[:k])
	if k < len(p) {
		return k, r.err
	}
	return k, nil
}

func testFailingReader(t *testing.T, s storage.Store) {
	errBroken := errors.New("upload connection broken")
	const key, old = "failing/new", "failing/old"
	v1 := Put(t, s, old, "the old version", storage.PutOptions{Metadata: map[string]string{"v": "1"}})
	for _, tc := range []struct {
		key  string
		size int64
	}{{key, -1}, {key, 4 << 20}, {old, -1}} {
		_, err := s.Put(t.Context(), tc.key, &failingReader{n: 1 << 20, err: errBroken}, tc.size, storage.PutOptions{})
		if !errors.Is(err, errBroken) {
			t.Errorf("Put(%q, size %d) from a failing reader: error %v, want it to wrap the reader's", tc.key, tc.size, err)
		}
	}
	// Content a store may read at offsets, in parts side by side, failing
	// after the first MiB.
	for _, size := range []int64{4 << 20, 12 << 20} {
		_, err := s.Put(t.Context(), key, io.NewSectionReader(failingReaderAt{n: 1 << 20, err: errBroken}, 0, size), size, storage.PutOptions{})
		var se *storage.Error
		if !errors.Is(err, errBroken) || errors.As(err, &se) {
			t.Errorf("Put(%q, size %d) from a failing io.SectionReader: error %v, want it to wrap the reader's, not to be the store's", key, size, err)
		}
	}
	requireAbsent(t, s, key)
	got, info := Get(t, s, old)
	if string(got) != "the old version" || info.ETag != v1.ETag || info.Metadata["v"] != "1" {
		t.Errorf("old object after failed overwrites: %q ETag %q metadata %v, want it untouched", got, info.ETag, info.Metadata)
	}
	if l := Keys(List(t, s, "")); !slices.Equal(l, []string{old}) {
		t.Errorf("List(\"\") = %q, want only %q", l, old)
	}
}

func testSizeMismatch(t *testing.T, s storage.Store) {
	for _, tc := range []struct {
		name    string
		content string
		size    int64
	}{
		{"short", "12345", 10},
		{"long", "1234567890", 5},
	} {
		key := "mismatch/" + tc.name
		_, err := s.Put(t.Context(), key, strings.NewReader(tc.content), tc.size, storage.PutOptions{})
		if err == nil {
			t.Errorf("Put of %d bytes declared as %d succeeded", len(tc.content), tc.size)
		}
		requireAbsent(t, s, key)
	}
}

func testCancelledContext(t *testing.T, s storage.Store) {
	const key = "cancel/obj"
	Put(t, s, key, "present", storage.PutOptions{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	errs := map[string]error{}
	_, errs["Put"] = s.Put(ctx, "cancel/new", strings.NewReader("x"), 1, storage.PutOptions{})
	_, errs["Put IfNoneMatch"] = s.Put(ctx, "cancel/new2", strings.NewReader("x"), 1, storage.PutOptions{IfNoneMatch: true})
	_, errs["Stat"] = s.Stat(ctx, key)
	rc, _, err := s.Get(ctx, key)
	if rc != nil {
		rc.Close()
	}
	errs["Get"] = err
	errs["Delete"] = s.Delete(ctx, key)
	errs["List"] = s.List(ctx, "", func(storage.ObjectInfo) error { return nil })
	for op, err := range errs {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: error %v, want context.Canceled", op, err)
		}
	}
	requireAbsent(t, s, "cancel/new")
	requireAbsent(t, s, "cancel/new2")
	if got, _ := Get(t, s, key); string(got) != "present" {
		t.Errorf("after a cancelled Delete the object holds %q, want it intact", got)
	}
}

// cancellingReader yields zeros; after n bytes it calls cancel, and it stops
// after limit bytes.
type cancellingReader struct {
	n, limit int
	cancel   context.CancelFunc
}

func (r *cancellingReader) Read(p []byte) (int, error) {
	if r.limit == 0 {
		return 0, io.EOF
	}
	k := min(len(p), r.limit)
	clear(p[:k])
	r.limit -= k
	if r.n -= k; r.n <= 0 {
		r.cancel()
	}
	return k, nil
}

func testCancelDuringPut(t *testing.T, s storage.Store) {
	const key = "cancel/midway"
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	start := time.Now()
	_, err := s.Put(ctx, key, &cancellingReader{n: 1 << 20, limit: 64 << 20, cancel: cancel}, -1, storage.PutOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Put cancelled midway: error %v, want context.Canceled", err)
	}
	t.Logf("Put returned %v after cancellation", time.Since(start).Round(time.Millisecond))
	requireAbsent(t, s, key)
}

func testCancelDuringGet(t *testing.T, s storage.Store) {
	const key = "cancel/read"
	const size = 8 << 20
	if _, err := s.Put(t.Context(), key, io.LimitReader(rand.NewChaCha8([32]byte{}), size), size, storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	rc, _, err := s.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.ReadFull(rc, make([]byte, 1024)); err != nil {
		t.Fatal(err)
	}
	cancel()
	n, err := io.Copy(io.Discard, rc)
	if err == nil {
		t.Errorf("reading after cancellation returned the remaining %d bytes without error", n)
	}
}

// Put writes content under key or fails the test: for backends' own tests
// too.
func Put(t testing.TB, s storage.Store, key, content string, opts storage.PutOptions) storage.ObjectInfo {
	t.Helper()
	info, err := s.Put(t.Context(), key, strings.NewReader(content), int64(len(content)), opts)
	if err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
	return info
}

// Get reads key or fails the test: for backends' own tests too.
func Get(t testing.TB, s storage.Store, key string) ([]byte, storage.ObjectInfo) {
	t.Helper()
	rc, info, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading %q: %v", key, err)
	}
	return b, info
}

// List returns the listing of prefix or fails the test: for backends' own
// tests too.
func List(t testing.TB, s storage.Store, prefix string) []storage.ObjectInfo {
	t.Helper()
	var infos []storage.ObjectInfo
	if err := s.List(t.Context(), prefix, func(info storage.ObjectInfo) error {
		infos = append(infos, info)
		return nil
	}); err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	return infos
}

// Keys returns the keys of infos.
func Keys(infos []storage.ObjectInfo) []string {
	var ks []string
	for _, info := range infos {
		ks = append(ks, info.Key)
	}
	return ks
}

// requireAbsent fails the test unless Stat reports key missing.
func requireAbsent(t *testing.T, s storage.Store, key string) {
	t.Helper()
	_, err := s.Stat(t.Context(), key)
	if !errors.Is(err, storage.ErrNotExist) {
		t.Errorf("Stat(%q): error %v, want ErrNotExist", key, err)
	}
}

// checkNotExist checks that err reports a missing object.
func checkNotExist(t *testing.T, op, key string, err error) {
	t.Helper()
	if !errors.Is(err, storage.ErrNotExist) {
		t.Errorf("%s(%q): error %v, want ErrNotExist", op, key, err)
	}
	if storage.IsRetryable(err) {
		t.Errorf("%s(%q): a missing object reported retryable", op, key)
	}
}

// checkInfo checks the fields every ObjectInfo must have.
func checkInfo(t *testing.T, op string, info storage.ObjectInfo, key string, size int64) {
	t.Helper()
	if info.Key != key || info.Size != size || info.ETag == "" || info.ModTime.IsZero() {
		t.Errorf("%s info = %+v, want key %q, size %d, an ETag and a ModTime", op, info, key, size)
	}
}

// checkModTime checks that a modification time falls in [before, after],
// give or take clockSkew.
func checkModTime(t *testing.T, op string, mt, before, after time.Time) {
	t.Helper()
	if mt.Before(before.Add(-clockSkew)) || mt.After(after.Add(clockSkew)) {
		t.Errorf("%s ModTime %v is not near the time of the write (%v)", op, mt, before)
	}
}
