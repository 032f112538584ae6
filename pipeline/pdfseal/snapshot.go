package pdfseal

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"

	"github.com/sealpipe/sealpipe/pipeline/pdffile"
)

// streamKind tells streams apart from other objects.
type streamKind int

const (
	notStream streamKind = iota
	plainStream
	objectStream // §7.5.7
	xrefStream   // §7.5.8
)

// snapshot is a document as one revision leaves it: every object in use,
// with streams reduced to their dictionary and a digest of their encoded
// bytes, so that two revisions of a large document can be compared
// without holding two copies of its streams.
type snapshot struct {
	end  int64 // length of the revision, bytes
	root *types.IndirectRef
	info *types.IndirectRef
	objs map[int]snapObj
}

type snapObj struct {
	gen    int
	val    types.Object // a stream's dictionary for streams
	kind   streamKind
	sum    [sha256.Size]byte // SHA-256 of a stream's encoded bytes
	broken string            // why an object in an object stream could not be decoded
}

// readSnapshot reads b, a revision of the file (§7.5.6: the file as an
// update left it), as a PDF: every object its cross-reference data
// defines, read with pdffile. A revision whose cross-reference data had to
// be reconstructed by scanning, or with an object that cannot be read, is
// ErrMalformed; an object of an object stream that cannot be decoded is
// kept as broken, which no comparison finds equal.
func readSnapshot(ctx context.Context, b *source, limit int64) (*snapshot, error) {
	f, err := openFile(ctx, b, limit)
	if err != nil {
		return nil, err
	}
	var s *snapshot
	err = guard("revision snapshot", func() error {
		s, err = newSnapshot(ctx, f, b)
		return err
	})
	return s, err
}

// newSnapshot reads every object f, opened on b, defines.
func newSnapshot(ctx context.Context, f *pdffile.File, b *source) (*snapshot, error) {
	for _, r := range f.Repairs() {
		if r.Kind == pdffile.RepairReconstructed {
			return nil, fmt.Errorf("%w: %s", ErrMalformed, r)
		}
	}
	nrs, err := f.ObjectNumbers()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	s := &snapshot{end: b.size, objs: make(map[int]snapObj, len(nrs))}
	tr := f.Trailer()
	if r, ok := tr["Root"].(types.IndirectRef); ok {
		s.root = &r
	}
	if r, ok := tr["Info"].(types.IndirectRef); ok {
		s.info = &r
	}
	for i, nr := range nrs {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		e, _, err := f.Entry(nr)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		o := snapObj{gen: e.Gen}
		v, err := f.Object(nr)
		switch {
		case err != nil && e.Kind == pdffile.EntryCompressed:
			o.broken = err.Error()
			s.objs[nr] = o
			continue
		case err != nil:
			return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
		case v == nil:
			continue // null: as if absent (§7.3.10)
		}
		o.val = v
		if sd, ok := v.(types.StreamDict); ok {
			o.val, o.kind = sd.Dict, plainStream
			switch t, _ := sd.Dict["Type"].(types.Name); t {
			case "ObjStm":
				o.kind = objectStream
			case "XRef":
				o.kind = xrefStream
			}
			_, r, err := f.RawStream(*types.NewIndirectRef(nr, e.Gen))
			if err != nil {
				return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
			}
			// The data as stored, hashed where it lies in b.
			_, off, n := r.Outer()
			if off < 0 || n < 0 || off+n > b.size {
				return nil, fmt.Errorf("%w: object %d: stream data at %d of %d bytes is not inside the revision", ErrMalformed, nr, off, n)
			}
			h := sha256.New()
			b.span(off, off+n).hashTo(h, 0)
			h.Sum(o.sum[:0])
		}
		s.objs[nr] = o
	}
	return s, nil
}

// deref resolves o through indirect references; a reference to a missing
// object is null (§7.3.10).
func (s *snapshot) deref(o types.Object) types.Object {
	for range 8 {
		r, ok := o.(types.IndirectRef)
		if !ok {
			return o
		}
		e, ok := s.objs[r.ObjectNumber.Value()]
		if !ok {
			return nil
		}
		o = e.val
	}
	return nil
}

func (s *snapshot) dict(o types.Object) types.Dict {
	d, _ := s.deref(o).(types.Dict)
	return d
}

func (s *snapshot) array(o types.Object) types.Array {
	a, _ := s.deref(o).(types.Array)
	return a
}

func (s *snapshot) name(o types.Object) string {
	n, _ := s.deref(o).(types.Name)
	return string(n)
}

func (s *snapshot) text(o types.Object) string {
	t, err := model.Text(s.deref(o))
	if err != nil {
		return ""
	}
	return t
}

func (s *snapshot) integer(o types.Object) (int64, bool) {
	switch v := s.deref(o).(type) {
	case types.Integer:
		return int64(v), true
	case types.Float:
		if f := float64(v); f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return int64(f), true
		}
	}
	return 0, false
}

// refsIn calls f for each indirect reference inside o, not following them.
func refsIn(o types.Object, f func(nr int)) {
	for todo := []types.Object{o}; len(todo) > 0; {
		o, todo = todo[len(todo)-1], todo[:len(todo)-1]
		switch v := o.(type) {
		case types.IndirectRef:
			f(v.ObjectNumber.Value())
		case types.Dict:
			for _, e := range v {
				todo = append(todo, e)
			}
		case types.Array:
			todo = append(todo, v...)
		}
	}
}

// referenced returns the numbers of the objects some object refers to.
func (s *snapshot) referenced() map[int]bool {
	refs := make(map[int]bool)
	for _, o := range s.objs {
		refsIn(o.val, func(nr int) { refs[nr] = true })
	}
	return refs
}

// reachable returns the objects reachable from the trailer's /Root and
// /Info, each with the object that first referred to it (0 for the
// trailer).
func (s *snapshot) reachable() map[int]int {
	from := make(map[int]int)
	var queue []int
	for _, r := range []*types.IndirectRef{s.root, s.info} {
		if r != nil {
			from[r.ObjectNumber.Value()] = 0
			queue = append(queue, r.ObjectNumber.Value())
		}
	}
	for len(queue) > 0 {
		nr := queue[0]
		queue = queue[1:]
		o, ok := s.objs[nr]
		if !ok {
			continue
		}
		refsIn(o.val, func(k int) {
			if _, seen := from[k]; !seen {
				from[k] = nr
				queue = append(queue, k)
			}
		})
	}
	return from
}

// describe names object nr for a message, e.g. "object 12 (/Annot /Square)".
func (s *snapshot) describe(nr int) string {
	o := s.objs[nr]
	d, _ := o.val.(types.Dict)
	var parts []string
	for _, k := range []string{"Type", "Subtype", "FT"} {
		if v, ok := d[k].(types.Name); ok {
			parts = append(parts, "/"+string(v))
		}
	}
	if o.kind != notStream {
		parts = append(parts, "stream")
	}
	if len(parts) == 0 {
		return fmt.Sprintf("object %d", nr)
	}
	return fmt.Sprintf("object %d (%s)", nr, strings.Join(parts, " "))
}

// equal reports whether two objects are the same PDF value: numbers by
// value, strings by their bytes (literal or hex), dictionaries by their
// entries (a null entry is an absent one, §7.3.7). The parser bounds how
// deep values nest (pdffile's Options.MaxDepth), and so the recursion.
func equal(a, b types.Object) bool {
	if x, ok := number(a); ok {
		y, ok := number(b)
		return ok && x == y
	}
	if x, ok := stringBytes(a); ok {
		y, ok := stringBytes(b)
		return ok && bytes.Equal(x, y)
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case types.Boolean:
		y, ok := b.(types.Boolean)
		return ok && x == y
	case types.Name:
		y, ok := b.(types.Name)
		return ok && x == y
	case types.IndirectRef:
		y, ok := b.(types.IndirectRef)
		return ok && x == y
	case types.Array:
		y, ok := b.(types.Array)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case types.Dict:
		y, ok := b.(types.Dict)
		return ok && len(changedKeys(x, y)) == 0
	}
	return false
}

func number(o types.Object) (float64, bool) {
	switch v := o.(type) {
	case types.Integer:
		return float64(v), true
	case types.Float:
		return float64(v), true
	}
	return 0, false
}

func stringBytes(o types.Object) ([]byte, bool) {
	switch v := o.(type) {
	case types.StringLiteral:
		return unescapeLiteral(string(v)), true
	case types.HexLiteral:
		if b, err := v.Bytes(); err == nil {
			return b, true
		}
		return []byte(v), true
	}
	return nil, false
}

// changedKeys returns the keys whose values differ between a and b, sorted.
func changedKeys(a, b types.Dict) []string {
	var keys []string
	for k, v := range a {
		if !equal(v, b[k]) {
			keys = append(keys, k)
		}
	}
	for k, v := range b {
		if _, inA := a[k]; !inA && v != nil {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

func (o snapObj) equal(p snapObj) bool {
	return o.gen == p.gen && o.kind == p.kind && o.sum == p.sum && o.broken == "" && p.broken == "" && equal(o.val, p.val)
}

// fieldKind classifies form fields and their widgets.
type fieldKind int

const (
	formField fieldKind = iota + 1
	emptySigField
	signedSigField
)

type fieldRole struct {
	name string
	kind fieldKind
}

// roles says what the objects of a revision are to a reader, as far as the
// rules need to know.
type roles struct {
	catalog, acroForm, fields, info int // 0: none, or held inline
	pageNodes                       map[int]bool
	pages                           map[int]int // page object → page number
	annotsArrays                    map[int]int // indirect /Annots array → page number
	annots                          map[int]int // annotation → page number
	formFields                      map[int]fieldRole
	appearances                     map[int]ChangeLevel // appearance stream → the level a change to it takes
	dss                             map[int]bool
	// content holds what the document shows outside annotations, forms
	// and the security store: what the trailer reaches but through a
	// page's /Annots or the catalog's /AcroForm and /DSS. An object held
	// there as well as in an appearance or the security store is judged
	// as content: no later revision changes a page by way of a signature,
	// field or annotation that shares its objects.
	content map[int]bool
}

func (s *snapshot) roles() *roles {
	r := &roles{pageNodes: map[int]bool{}, pages: map[int]int{}, annotsArrays: map[int]int{}, annots: map[int]int{},
		formFields: map[int]fieldRole{}, appearances: map[int]ChangeLevel{}, dss: map[int]bool{}, content: map[int]bool{}}
	if s.root == nil {
		return r
	}
	r.catalog = s.root.ObjectNumber.Value()
	if s.info != nil {
		r.info = s.info.ObjectNumber.Value()
	}
	cat := s.dict(*s.root)

	// The page tree (§7.7.3), in page order, and each page's annotations
	// (§12.5.2). The walks visit each object once and keep their own
	// stack, so no tree makes them recurse.
	pageNo := 0
	for todo := []types.Object{cat["Pages"]}; len(todo) > 0; {
		o := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		ref, ok := o.(types.IndirectRef)
		nr := ref.ObjectNumber.Value()
		d := s.dict(ref)
		if !ok || d == nil || r.pageNodes[nr] || r.pages[nr] != 0 {
			continue
		}
		if kids, has := d["Kids"]; has && s.name(d["Type"]) != "Page" {
			r.pageNodes[nr] = true
			k := s.array(kids)
			for i := len(k) - 1; i >= 0; i-- {
				todo = append(todo, k[i])
			}
			continue
		}
		pageNo++
		r.pages[nr] = pageNo
		if a, ok := d["Annots"].(types.IndirectRef); ok {
			r.annotsArrays[a.ObjectNumber.Value()] = pageNo
		}
		for _, a := range s.array(d["Annots"]) {
			if ar, ok := a.(types.IndirectRef); ok {
				r.annots[ar.ObjectNumber.Value()] = pageNo
				s.appearanceStreams(ar, func(nr int) { r.appearances[nr] = Annotating })
			}
		}
	}

	// The interactive form (§12.7.2) and its field tree (§12.7.3.1):
	// names, field types and values are inherited.
	if ref, ok := cat["AcroForm"].(types.IndirectRef); ok {
		r.acroForm = ref.ObjectNumber.Value()
	}
	form := s.dict(cat["AcroForm"])
	if ref, ok := form["Fields"].(types.IndirectRef); ok {
		r.fields = ref.ObjectNumber.Value()
	}
	type node struct {
		o          types.Object
		parent, ft string
		signed     bool
	}
	var todo []node
	for _, f := range s.array(form["Fields"]) {
		todo = append(todo, node{o: f})
	}
	for len(todo) > 0 {
		n := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		ref, ok := n.o.(types.IndirectRef)
		nr := ref.ObjectNumber.Value()
		d := s.dict(ref)
		if _, seen := r.formFields[nr]; !ok || d == nil || seen {
			continue
		}
		name := n.parent
		if t := s.text(d["T"]); t != "" {
			if name != "" {
				name += "."
			}
			name += t
		}
		ft := n.ft
		if f := s.name(d["FT"]); f != "" {
			ft = f
		}
		signed := n.signed || d["V"] != nil
		role, level := fieldRole{name: name, kind: formField}, FormFilling
		switch {
		case ft == "Sig" && signed:
			role.kind, level = signedSigField, OtherChange
		case ft == "Sig":
			role.kind, level = emptySigField, Signing
		}
		r.formFields[nr] = role
		s.appearanceStreams(ref, func(nr int) { r.appearances[nr] = level })
		for _, k := range s.array(d["Kids"]) {
			todo = append(todo, node{o: k, parent: name, ft: ft, signed: signed})
		}
	}

	var content []int
	for _, t := range []*types.IndirectRef{s.root, s.info} {
		if t != nil {
			content = append(content, t.ObjectNumber.Value())
		}
	}
	for len(content) > 0 {
		nr := content[len(content)-1]
		content = content[:len(content)-1]
		if r.content[nr] {
			continue
		}
		r.content[nr] = true
		val := s.objs[nr].val
		if d, ok := val.(types.Dict); ok && (nr == r.catalog || r.pages[nr] != 0) {
			val = d.Clone()
			delete(val.(types.Dict), "AcroForm")
			delete(val.(types.Dict), "DSS")
			delete(val.(types.Dict), "Annots")
		}
		refsIn(val, func(k int) { content = append(content, k) })
	}

	// The document security store and all it holds (ETSI EN 319 142-1 §5.4).
	var dss []int
	refsIn(cat["DSS"], func(nr int) { dss = append(dss, nr) })
	for len(dss) > 0 {
		nr := dss[len(dss)-1]
		dss = dss[:len(dss)-1]
		if r.dss[nr] {
			continue
		}
		r.dss[nr] = true
		refsIn(s.objs[nr].val, func(k int) { dss = append(dss, k) })
	}
	return r
}

// appearanceStreams calls f for the objects making up the appearance
// dictionary of annotation ref (§12.5.5): /AP itself when indirect, each
// appearance stream, and each indirect appearance subdictionary.
func (s *snapshot) appearanceStreams(ref types.IndirectRef, f func(nr int)) {
	d := s.dict(ref)
	if r, ok := d["AP"].(types.IndirectRef); ok {
		f(r.ObjectNumber.Value())
	}
	ap := s.dict(d["AP"])
	for _, k := range []string{"N", "R", "D"} {
		v := ap[k]
		if r, ok := v.(types.IndirectRef); ok {
			f(r.ObjectNumber.Value())
		}
		if sub, ok := s.deref(v).(types.Dict); ok && s.objs[refNumber(v)].kind == notStream {
			refsIn(sub, f) // appearance states (§12.5.5)
		}
	}
}

// refString writes an optional reference for a message.
func refString(r *types.IndirectRef) string {
	if r == nil {
		return "none"
	}
	return r.PDFString()
}

// refNumber returns the object number o refers to, or 0.
func refNumber(o types.Object) int {
	if r, ok := o.(types.IndirectRef); ok {
		return r.ObjectNumber.Value()
	}
	return 0
}
