package pdffile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// pdfcpuRead reads b with pdfcpu, as pipeline/pdfseal does (relaxed
// validation, object streams read), turning a panic into an error.
func pdfcpuRead(b []byte) (ctx *model.Context, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("pdfcpu panicked: %v", r)
		}
	}()
	lim := model.DefaultResourceLimits()
	lim.MaxRecursionDepth = DefaultMaxDepth
	conf := &model.Configuration{
		Reader15:       true,
		ValidationMode: model.ValidationRelaxed,
		Eol:            types.EolLF,
		Limits:         lim,
	}
	return pdfcpu.ReadWithContext(context.Background(), bytes.NewReader(b), conf)
}

// crossCheckResult is what comparing pdffile with pdfcpu on one file found.
type crossCheckResult struct {
	pdfcpuErr error    // pdfcpu could not read the file
	objects   int      // objects compared
	streams   int      // streams whose data was compared
	decoded   int      // streams whose decoded data was compared
	pages     int      // pages compared
	repaired  int      // objects not compared: pdffile repaired them
	diffs     []string // differences
}

// compareWithPDFCPU compares every object pdfcpu resolves in b with what f
// resolves for the same number: values (a stream's dictionary, less
// /Length, which pdfcpu rewrites to the length it read), stream data (as
// stored; decoded where pdfcpu decoded it) and, for each page, the
// dictionary and reference pdfcpu's page lookup gives.
func compareWithPDFCPU(b []byte, f *File) (res crossCheckResult) {
	defer func() {
		if r := recover(); r != nil {
			res.pdfcpuErr = fmt.Errorf("pdfcpu panicked: %v", r)
		}
	}()
	ctx, err := pdfcpuRead(b)
	if err != nil {
		res.pdfcpuErr = err
		return res
	}
	diff := func(format string, args ...any) {
		if len(res.diffs) < 20 {
			res.diffs = append(res.diffs, fmt.Sprintf(format, args...))
		}
	}
	// Objects pdffile repaired are read where pdfcpu reads something
	// else, or nothing.
	repaired := map[int]bool{}
	for _, r := range f.Repairs() {
		if r.Object > 0 {
			repaired[r.Object] = true
		}
	}
	var nrs []int
	for nr := range ctx.XRefTable.Table {
		nrs = append(nrs, nr)
	}
	slices.Sort(nrs)
	for _, nr := range nrs {
		e := ctx.XRefTable.Table[nr]
		if nr == 0 || e == nil {
			continue
		}
		var want types.Object
		if !e.Free {
			want = e.Object
		}
		if l, ok := want.(types.LazyObjectStreamObject); ok {
			if want, err = l.DecodedObject(context.Background()); err != nil {
				diff("object %d: pdfcpu: %v", nr, err)
				continue
			}
		}
		got, err := f.Object(nr)
		if repaired[nr] {
			res.repaired++
			continue
		}
		if err != nil {
			diff("object %d: pdffile: %v; pdfcpu: %s", nr, err, short(want))
			continue
		}
		res.objects++
		wsd, wIsStream := asStream(want)
		gsd, gIsStream := got.(types.StreamDict)
		if wIsStream != gIsStream {
			diff("object %d: pdffile %s, pdfcpu %s", nr, describe(got), describe(want))
			continue
		}
		if !wIsStream {
			if !equalObjects(got, want) {
				diff("object %d: pdffile %s, pdfcpu %s", nr, short(got), short(want))
			}
			continue
		}
		gd, wd := gsd.Dict.Clone().(types.Dict), wsd.Dict.Clone().(types.Dict)
		delete(gd, "Length")
		delete(wd, "Length")
		if !equalObjects(gd, wd) {
			diff("stream %d: pdffile %s, pdfcpu %s", nr, short(gd), short(wd))
		}
		if wsd.Raw != nil {
			_, r, err := f.RawStream(types.IndirectRef{ObjectNumber: types.Integer(nr)})
			var raw []byte
			if err == nil {
				raw, err = io.ReadAll(r)
			}
			if err != nil || !bytes.Equal(raw, wsd.Raw) {
				diff("stream %d: data as stored: pdffile %d bytes (%v), pdfcpu %d", nr, len(raw), err, len(wsd.Raw))
			}
			res.streams++
		}
		content := wsd.Content
		if content == nil && wsd.Raw != nil {
			// Ask pdfcpu to decode it too.
			c := wsd
			c.Raw = bytes.Clone(wsd.Raw)
			if err := c.Decode(); err == nil {
				content = c.Content
			}
		}
		if content != nil {
			_, data, err := f.Stream(types.IndirectRef{ObjectNumber: types.Integer(nr)})
			switch {
			case errors.Is(err, ErrUnsupportedFilter):
			case err != nil || !bytes.Equal(data, content):
				diff("stream %d: decoded: pdffile %d bytes (%v), pdfcpu %d", nr, len(data), err, len(content))
			default:
				res.decoded++
			}
		}
	}
	if err := ctx.EnsurePageCount(); err == nil && len(repaired) == 0 {
		n, err := f.NumPages()
		if err != nil || n != ctx.PageCount {
			diff("pages: pdffile %d (%v), pdfcpu %d", n, err, ctx.PageCount)
		}
		for i := 1; i <= min(ctx.PageCount, 100); i++ {
			wd, wref, _, werr := ctx.PageDict(i, false)
			gd, gref, _, gerr := f.Page(i)
			switch {
			case werr != nil || wref == nil:
				continue
			case gerr != nil:
				diff("page %d: pdffile: %v; pdfcpu %s", i, gerr, wref)
			case gref.ObjectNumber != wref.ObjectNumber || !equalObjects(gd, wd):
				diff("page %d: pdffile %s %s, pdfcpu %s %s", i, gref, short(gd), wref, short(wd))
			}
			res.pages++
		}
	}
	return res
}

// crossCheck fails t on any difference between pdffile and pdfcpu in b.
func crossCheck(t *testing.T, b []byte, f *File) {
	t.Helper()
	if f.Encrypted() {
		return // pdfcpu decrypts; pdffile does not
	}
	res := compareWithPDFCPU(b, f)
	if res.pdfcpuErr != nil {
		t.Logf("pdfcpu does not read the file: %v", res.pdfcpuErr)
		return
	}
	for _, d := range res.diffs {
		t.Errorf("pdffile and pdfcpu differ: %s", d)
	}
	t.Logf("pdfcpu cross-check: %s", res)
}

func asStream(o types.Object) (types.StreamDict, bool) {
	switch s := o.(type) {
	case types.StreamDict:
		return s, true
	case types.ObjectStreamDict:
		return s.StreamDict, true
	case types.XRefStreamDict:
		return s.StreamDict, true
	case *types.ObjectStreamDict:
		return s.StreamDict, true
	case *types.XRefStreamDict:
		return s.StreamDict, true
	}
	return types.StreamDict{}, false
}

func short(o types.Object) string {
	s := pdfString(o)
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// equalObjects compares two values as PDF objects: a dictionary entry
// whose value is null is as good as none (§7.3.7).
func equalObjects(a, b types.Object) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case types.Dict:
		y, ok := b.(types.Dict)
		if !ok {
			return false
		}
		for k, v := range x {
			if !equalObjects(v, y[k]) {
				return false
			}
		}
		for k, v := range y {
			if _, ok := x[k]; !ok && v != nil {
				return false
			}
		}
		return true
	case types.Array:
		y, ok := b.(types.Array)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalObjects(x[i], y[i]) {
				return false
			}
		}
		return true
	case types.StreamDict:
		y, ok := asStream(b)
		return ok && equalObjects(x.Dict, y.Dict)
	case types.Float:
		y, ok := b.(types.Float)
		return ok && (x == y || math.IsNaN(float64(x)) && math.IsNaN(float64(y)))
	}
	return reflect.DeepEqual(a, b)
}

func (r crossCheckResult) String() string {
	return fmt.Sprintf("%d objects, %d streams as stored and %d decoded, %d pages compared; %d repaired objects left out, %d differences",
		r.objects, r.streams, r.decoded, r.pages, r.repaired, len(r.diffs))
}
