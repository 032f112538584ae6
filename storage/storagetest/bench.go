package storagetest

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/sealpipe/sealpipe/storage"
)

// Benchmark measures a backend's common operations as sub-benchmarks of b:
// writes of 4 KiB and 1 MiB (plain and create-only), reads, Stat, and
// listing 1000 objects. Each sub-benchmark calls newStore once and expects
// an empty bucket.
func Benchmark(b *testing.B, newStore func(b *testing.B) storage.Store) {
	for _, size := range []int{4 << 10, 1 << 20} {
		for _, createOnly := range []bool{false, true} {
			name := fmt.Sprintf("Put/%dKiB", size>>10)
			if createOnly {
				name += "/create-only"
			}
			b.Run(name, func(b *testing.B) {
				s := newStore(b)
				content := make([]byte, size)
				b.SetBytes(int64(size))
				i := 0
				for b.Loop() {
					i++
					content[0], content[1] = byte(i), byte(i>>8) // a new ETag each time
					key := fmt.Sprintf("bench/put/%d", i)
					if _, err := s.Put(b.Context(), key, bytes.NewReader(content), int64(size), storage.PutOptions{IfNoneMatch: createOnly}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}

	b.Run("Get/4KiB", func(b *testing.B) {
		s := newStore(b)
		const key = "bench/get"
		if _, err := s.Put(b.Context(), key, bytes.NewReader(make([]byte, 4<<10)), 4<<10, storage.PutOptions{}); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(4 << 10)
		for b.Loop() {
			rc, _, err := s.Get(b.Context(), key)
			if err != nil {
				b.Fatal(err)
			}
			_, err = io.Copy(io.Discard, rc)
			rc.Close()
			if err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("Stat", func(b *testing.B) {
		s := newStore(b)
		const key = "bench/stat"
		if _, err := s.Put(b.Context(), key, bytes.NewReader(nil), 0, storage.PutOptions{}); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := s.Stat(b.Context(), key); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("List/1000", func(b *testing.B) {
		s := newStore(b)
		const n = 1000
		for i := range n {
			key := fmt.Sprintf("bench/list/%02d/%04d", i%20, i)
			if _, err := s.Put(b.Context(), key, bytes.NewReader(nil), 0, storage.PutOptions{}); err != nil {
				b.Fatal(err)
			}
		}
		for b.Loop() {
			count := 0
			if err := s.List(b.Context(), "bench/list/", func(storage.ObjectInfo) error { count++; return nil }); err != nil {
				b.Fatal(err)
			}
			if count != n {
				b.Fatalf("listed %d objects, want %d", count, n)
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "objects/s")
	})
}
