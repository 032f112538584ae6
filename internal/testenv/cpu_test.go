package testenv

import (
	"testing"
	"time"
)

func TestStatCPU(t *testing.T) {
	for _, tc := range []struct {
		stat string
		want time.Duration
		ok   bool
	}{
		{"4242 (minio) S 1 4242 4242 0 -1 4194560 93 0 0 0 250 31 0 0 20 0 12 0 99 1 2\n", 2810 * time.Millisecond, true},
		{"7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 3 4 0 0 20 0 1 0 5 6 7", 70 * time.Millisecond, true},
		{"7 (x) R 1 7 7 0 -1 0 0 0 0 0 3", 0, false},
		{"7 (x) R 1 7 7 0 -1 0 0 0 0 0 u s 0", 0, false},
		{"no parenthesis", 0, false},
	} {
		got, ok := statCPU([]byte(tc.stat))
		if got != tc.want || ok != tc.ok {
			t.Errorf("statCPU(%q) = %v, %v; want %v, %v", tc.stat, got, ok, tc.want, tc.ok)
		}
	}
}
