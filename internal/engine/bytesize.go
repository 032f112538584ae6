package engine

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// ByteSize is a setting counted in bytes, written as a whole number with an
// optional unit: B, KiB, MiB, GiB, TiB (powers of 1024; Ki, Mi, Gi, Ti as
// Kubernetes writes them) or kB, MB, GB, TB (powers of 1000), in any case.
type ByteSize int64

var byteUnits = map[string]int64{
	"": 1, "b": 1,
	"kib": 1 << 10, "ki": 1 << 10, "mib": 1 << 20, "mi": 1 << 20,
	"gib": 1 << 30, "gi": 1 << 30, "tib": 1 << 40, "ti": 1 << 40,
	"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
}

// errByteSize is the complaint about a value ParseByteSize cannot read.
var errByteSize = errors.New("want a size in bytes such as 268435456, 256MiB or 1GiB")

// ParseByteSize reads a ByteSize such as "268435456", "256MiB" or "1 GiB".
func ParseByteSize(s string) (ByteSize, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	if i < 0 {
		i = len(s)
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	unit, ok := byteUnits[strings.ToLower(strings.TrimSpace(s[i:]))]
	if err != nil || !ok || n > math.MaxInt64/unit {
		return 0, errByteSize
	}
	return ByteSize(n * unit), nil
}

// String writes the size in the largest binary unit that divides it, as
// ParseByteSize reads it back: 268435456 is "256MiB".
func (b ByteSize) String() string {
	for _, u := range []struct {
		name string
		size ByteSize
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if b != 0 && b%u.size == 0 {
			return strconv.FormatInt(int64(b/u.size), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(b), 10)
}
