package pdfseal

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// judge holds the comparison of one revision with the one before it.
type judge struct {
	in      *source
	a, b    *snapshot
	ra      *roles
	out     revisionChanges
	cleared map[int]bool // added objects some rule accepted
	sigDone map[int]bool
}

// judgeRevision compares revision b, numbered rev, with a, the revision
// before it, and classifies each change.
func judgeRevision(in *source, a, b *snapshot, rev int) revisionChanges {
	j := &judge{in: in, a: a, b: b, out: revisionChanges{rev: rev}, cleared: map[int]bool{}, sigDone: map[int]bool{}}
	err := guard("revision comparison", func() error {
		j.run()
		return nil
	})
	if err != nil {
		return unreadable(rev, err)
	}
	return j.out
}

func (j *judge) note(l ChangeLevel, format string, args ...any) {
	j.out.level = max(j.out.level, l)
	if j.out.first[l] == "" {
		j.out.first[l] = fmt.Sprintf(format, args...)
	}
}

func (j *judge) added(nr int) bool {
	_, inA := j.a.objs[nr]
	_, inB := j.b.objs[nr]
	return inB && !inA
}

// clear accepts added object nr and, with tree, every added object
// reachable from it.
func (j *judge) clear(nr int, tree bool) {
	for todo := []int{nr}; len(todo) > 0; {
		nr, todo = todo[len(todo)-1], todo[:len(todo)-1]
		if !j.added(nr) || j.cleared[nr] {
			continue
		}
		j.cleared[nr] = true
		if tree {
			refsIn(j.b.objs[nr].val, func(k int) { todo = append(todo, k) })
		}
	}
}

// clearIn accepts the added objects o refers to, with what they refer to.
func (j *judge) clearIn(o types.Object) {
	refsIn(o, func(nr int) { j.clear(nr, true) })
}

func (j *judge) run() {
	a, b := j.a, j.b
	j.ra = a.roles()
	if a.root == nil || b.root == nil || *a.root != *b.root {
		j.note(OtherChange, "replaces the document catalog (trailer /Root %s, was %s)", refString(b.root), refString(a.root))
	}
	if (a.info == nil) != (b.info == nil) || a.info != nil && *a.info != *b.info {
		j.note(OtherChange, "replaces the document information dictionary (trailer /Info %s, was %s)", refString(b.info), refString(a.info))
	}
	nrs := make([]int, 0, len(b.objs))
	for nr := range b.objs {
		nrs = append(nrs, nr)
	}
	for nr := range a.objs {
		if _, inB := b.objs[nr]; !inB {
			nrs = append(nrs, nr)
		}
	}
	slices.Sort(nrs)
	var added, deleted []int
	for _, nr := range nrs {
		oa, inA := a.objs[nr]
		ob, inB := b.objs[nr]
		switch {
		case !inA:
			added = append(added, nr)
		case !inB:
			deleted = append(deleted, nr)
		case !oa.equal(ob):
			j.changed(nr, oa, ob)
		}
	}
	if len(deleted) > 0 {
		refs := b.referenced()
		for _, nr := range deleted {
			if refs[nr] {
				j.note(OtherChange, "deletes %s, which the document still refers to", a.describe(nr))
			}
		}
	}
	if len(added) > 0 {
		dangling := a.referenced()
		reach := b.reachable()
		for _, nr := range added {
			from, reached := reach[nr]
			switch {
			case dangling[nr]:
				j.note(OtherChange, "defines %s, which the signed revision referred to while it did not exist", b.describe(nr))
			case j.cleared[nr] || !reached:
			default:
				j.note(OtherChange, "adds %s, referred to by object %d", b.describe(nr), from)
			}
		}
	}
}

// changed classifies a change to object nr, present in both revisions.
func (j *judge) changed(nr int, oa, ob snapObj) {
	ra := j.ra
	switch {
	case oa.gen != ob.gen || oa.kind != ob.kind:
		j.note(OtherChange, "replaces %s with %s", j.a.describe(nr), j.b.describe(nr))
		return
	case oa.kind == objectStream || oa.kind == xrefStream:
		return // their objects are compared one by one
	}
	da, _ := oa.val.(types.Dict)
	db, _ := ob.val.(types.Dict)
	page, isPage := ra.pages[nr]
	annotsPage, isAnnots := ra.annotsArrays[nr]
	fr, isField := ra.formFields[nr]
	annotPage, isAnnot := ra.annots[nr]
	apLevel, isAppearance := ra.appearances[nr]
	shared := ra.content[nr] && (isField || isAnnot || isAppearance || ra.dss[nr])
	switch {
	case shared && !isPage && nr != ra.catalog:
		j.note(OtherChange, "changes %s, which a page shows as well as a field, annotation or the security store", j.a.describe(nr))
	case oa.kind == notStream && da == nil && db == nil && isAnnots:
		j.annotsList(annotsPage, j.a.array(oa.val), j.b.array(ob.val))
	case oa.kind == notStream && nr == ra.fields:
		j.fieldsList(j.a.array(oa.val), j.b.array(ob.val))
	case da == nil || db == nil:
		j.note(OtherChange, "changes %s", j.a.describe(nr))
	case oa.kind != notStream && !isAppearance && !ra.dss[nr]:
		j.note(OtherChange, "changes %s: %s", j.a.describe(nr), keyList(changedKeys(da, db), oa.sum != ob.sum))
	case nr == ra.catalog:
		j.catalog(da, db)
	case nr == ra.acroForm:
		j.acroForm(da, db)
	case ra.pageNodes[nr]:
		j.note(OtherChange, "changes the page tree (object %d: %s): pages added, removed or moved", nr, keyList(changedKeys(da, db), false))
	case isPage:
		j.page(nr, page, da, db)
	case isField:
		j.field(nr, fr, da, db)
	case isAnnot:
		j.note(Annotating, "changes an annotation on page %d (%s)", annotPage, j.a.describe(nr))
		j.clearIn(db)
	case isAppearance:
		j.note(apLevel, "changes the appearance stream %s", j.a.describe(nr))
		j.clearIn(db)
	case ra.dss[nr]:
		j.note(ValidationData, "updates the document security store (%s)", j.a.describe(nr))
		j.clearIn(db)
	case nr == ra.info:
		j.note(OtherChange, "changes the document information dictionary (object %d): %s", nr, keyList(changedKeys(da, db), false))
	default:
		j.note(OtherChange, "changes %s: %s", j.a.describe(nr), keyList(changedKeys(da, db), oa.sum != ob.sum))
	}
}

// keyList lists changed keys for a message.
func keyList(keys []string, data bool) string {
	out := make([]string, 0, len(keys)+1)
	for _, k := range keys {
		out = append(out, "/"+k)
	}
	if data {
		out = append(out, "its data")
	}
	if len(out) == 0 {
		return "its value"
	}
	return strings.Join(out, ", ")
}

// catalog judges a changed document catalog (§7.7.2): only /AcroForm and
// /DSS may change.
func (j *judge) catalog(da, db types.Dict) {
	var other []string
	for _, k := range changedKeys(da, db) {
		switch k {
		case "AcroForm":
			j.clear(refNumber(db[k]), false)
			j.acroForm(j.a.dict(da[k]), j.b.dict(db[k]))
		case "DSS":
			j.note(ValidationData, "adds or updates the document security store (/DSS)")
			j.clearIn(db[k])
		default:
			other = append(other, k)
		}
	}
	if len(other) > 0 {
		j.note(OtherChange, "changes the document catalog: %s", keyList(other, false))
	}
}

// acroForm judges a changed interactive form dictionary (§12.7.2): its
// /Fields may gain signature fields and /SigFlags may change.
func (j *judge) acroForm(da, db types.Dict) {
	var other []string
	for _, k := range changedKeys(da, db) {
		switch k {
		case "Fields":
			j.clear(refNumber(db[k]), false)
			j.fieldsList(j.a.array(da[k]), j.b.array(db[k]))
		case "SigFlags":
			j.note(Signing, "sets the form's /SigFlags")
		default:
			other = append(other, k)
		}
	}
	if len(other) > 0 {
		j.note(OtherChange, "changes the interactive form: %s", keyList(other, false))
	}
}

// fieldsList judges a changed /Fields array: fields may only be added, and
// only signature fields.
func (j *judge) fieldsList(old, cur types.Array) {
	was, is := refSet(old), refSet(cur)
	for nr := range was {
		if !is[nr] {
			j.note(OtherChange, "removes form field %s from the form", j.a.describe(nr))
		}
	}
	for _, o := range cur {
		r, ok := o.(types.IndirectRef)
		switch {
		case !ok:
			j.note(OtherChange, "adds a form field held inline in /Fields")
		case !was[r.ObjectNumber.Value()]:
			j.signatureField(r.ObjectNumber.Value())
		}
	}
}

func refSet(a types.Array) map[int]bool {
	set := make(map[int]bool, len(a))
	for _, o := range a {
		if r, ok := o.(types.IndirectRef); ok {
			set[r.ObjectNumber.Value()] = true
		}
	}
	return set
}

// Entries a new signature field and its widget may hold (§12.5.2 table
// 164, §12.5.6.19 table 188, §12.7.3.1 table 220, §12.7.4.5 table 232):
// no actions, nothing but what draws and identifies the signature.
var signatureFieldKeys = map[string]bool{
	"Type": true, "Subtype": true, "FT": true, "T": true, "TU": true, "TM": true, "Ff": true, "V": true,
	"Kids": true, "Parent": true, "F": true, "P": true, "Rect": true, "AP": true, "AS": true, "MK": true,
	"Border": true, "BS": true, "C": true, "DA": true, "Q": true, "NM": true, "M": true, "Lock": true,
	"SV": true, "StructParent": true, "Contents": true,
}

// signatureField judges a field new in this revision (listed in /Fields,
// or whose widget a page gained): it must be a signature field whose
// signature closes this revision. Its objects are then accepted.
func (j *judge) signatureField(nr int) {
	if j.sigDone[nr] {
		return
	}
	j.sigDone[nr] = true
	if !j.added(nr) {
		j.note(OtherChange, "lists %s as a new form field", j.b.describe(nr))
		return
	}
	d := j.b.dict(types.IndirectRef{ObjectNumber: types.Integer(nr)})
	if d == nil || j.b.name(d["FT"]) != "Sig" {
		j.note(OtherChange, "adds form field %s, which is not a signature field", j.b.describe(nr))
		return
	}
	name := j.b.text(d["T"])
	if bad := extraKeys(d, signatureFieldKeys); bad != "" {
		j.note(OtherChange, "adds signature field %q (object %d) with %s", name, nr, bad)
		return
	}
	for _, k := range j.b.array(d["Kids"]) {
		kr, ok := k.(types.IndirectRef)
		kd := j.b.dict(k)
		if !ok || !j.added(kr.ObjectNumber.Value()) || j.b.name(kd["Subtype"]) != "Widget" {
			j.note(OtherChange, "adds signature field %q (object %d) with a kid %s that is not a new widget", name, nr, pdfString(k))
			return
		}
		if bad := extraKeys(kd, signatureFieldKeys); bad != "" {
			j.note(OtherChange, "adds signature field %q (object %d) whose widget has %s", name, nr, bad)
			return
		}
	}
	level, err := j.signatureValue(d["V"])
	if err != nil {
		j.note(OtherChange, "adds signature field %q (object %d): %v", name, nr, err)
		return
	}
	j.note(level, "adds signature field %q (object %d)", name, nr)
	j.clear(nr, true)
}

// extraKeys lists the keys of d that allowed does not hold.
func extraKeys(d types.Dict, allowed map[string]bool) string {
	var bad []string
	for k := range d {
		if !allowed[k] {
			bad = append(bad, k)
		}
	}
	slices.Sort(bad)
	if len(bad) == 0 {
		return ""
	}
	return keyList(bad, false)
}

// signatureValue checks the value of a signature field signed in this
// revision: a signature dictionary (§12.8.1, table 252) or a document
// timestamp (ISO 32000-2 §12.8.5), whose /ByteRange ends where this
// revision ends. A signature that does not close its revision vouches for
// nothing that follows it.
func (j *judge) signatureValue(v types.Object) (ChangeLevel, error) {
	sig := j.b.dict(v)
	if sig == nil {
		return 0, fmt.Errorf("no signature dictionary (/V %s)", pdfString(v))
	}
	level := Signing
	switch t := j.b.name(sig["Type"]); t {
	case "", "Sig":
	case "DocTimeStamp":
		level = ValidationData
	default:
		return 0, fmt.Errorf("/V is a /%s dictionary, not a signature", t)
	}
	br := j.b.array(sig["ByteRange"])
	var n [4]int64
	for i := range n {
		if len(br) != 4 {
			break
		}
		n[i], _ = j.b.integer(br[i])
	}
	end := n[2] + n[3]
	trimmed := j.in.trimWhite(j.b.end)
	if len(br) != 4 || end < trimmed || end > j.b.end {
		return 0, fmt.Errorf("the signature's /ByteRange %s does not end where the revision ends (byte %d)", pdfString(sig["ByteRange"]), j.b.end)
	}
	return level, nil
}

// page judges a changed page object: only /Annots may change.
func (j *judge) page(nr, page int, da, db types.Dict) {
	var other []string
	for _, k := range changedKeys(da, db) {
		if k == "Annots" {
			j.clear(refNumber(db[k]), false)
			j.annotsList(page, j.a.array(da[k]), j.b.array(db[k]))
			continue
		}
		other = append(other, k)
	}
	if len(other) > 0 {
		j.note(OtherChange, "changes page %d (object %d): %s", page, nr, keyList(other, false))
	}
}

// annotsList judges a page's changed /Annots array (§12.5.2).
func (j *judge) annotsList(page int, old, cur types.Array) {
	was, is := refSet(old), refSet(cur)
	changed := false
	for nr := range was {
		if is[nr] {
			continue
		}
		changed = true
		if _, isField := j.ra.formFields[nr]; isField || j.a.name(j.a.dict(types.IndirectRef{ObjectNumber: types.Integer(nr)})["Subtype"]) == "Widget" {
			j.note(OtherChange, "removes a form field widget (object %d) from page %d", nr, page)
		} else {
			j.note(Annotating, "removes an annotation (%s) from page %d", j.a.describe(nr), page)
		}
	}
	for _, o := range cur {
		r, ok := o.(types.IndirectRef)
		switch {
		case !ok:
			changed = true
			j.note(OtherChange, "adds an annotation held inline to page %d", page)
		case !was[r.ObjectNumber.Value()]:
			changed = true
			j.annotation(r.ObjectNumber.Value(), page)
		}
	}
	if !changed {
		j.note(Annotating, "reorders the annotations of page %d", page)
	}
}

// annotation judges an annotation new on a page: a signature field's
// widget, or (Annotating) any annotation but a form field's widget.
func (j *judge) annotation(nr, page int) {
	ref := types.IndirectRef{ObjectNumber: types.Integer(nr)}
	d := j.b.dict(ref)
	if d == nil {
		j.note(OtherChange, "lists %s, not an annotation, in the /Annots of page %d", j.b.describe(nr), page)
		return
	}
	subtype := j.b.name(d["Subtype"])
	if subtype != "Widget" {
		j.note(Annotating, "adds a /%s annotation (object %d) to page %d", subtype, nr, page)
		j.clear(nr, true)
		return
	}
	parent := refNumber(d["Parent"])
	isSig := j.b.name(d["FT"]) == "Sig" || d["FT"] == nil && parent != 0 && j.b.name(j.b.dict(d["Parent"])["FT"]) == "Sig"
	switch fr, existing := j.ra.formFields[nr]; {
	case isSig && j.added(nr) && d["FT"] != nil:
		j.signatureField(nr) // a field merged with its widget
	case isSig && j.added(nr):
		j.signatureField(parent) // the widget of a new field
	case isSig && existing && fr.kind == emptySigField:
		j.note(Signing, "places the widget of signature field %q on page %d", fr.name, page)
	default:
		j.note(OtherChange, "adds a form field widget (%s) to page %d", j.b.describe(nr), page)
	}
}

// field judges a changed form field or widget. A signed signature field
// never changes; an empty one may be signed (/V, with its appearance, and
// the widget's modification date /M, ISO 32000-1 §12.5.2 table 164, which
// signers such as poppler's pdfsig set); at FormFilling a form field may
// take a value and an appearance.
func (j *judge) field(nr int, fr fieldRole, da, db types.Dict) {
	keys := changedKeys(da, db)
	var other []string
	for _, k := range keys {
		switch {
		case k == "V" || k == "AP" || k == "AS":
		case k == "M" && fr.kind == emptySigField:
		default:
			other = append(other, k)
		}
	}
	switch {
	case fr.kind == signedSigField:
		j.note(OtherChange, "changes signature field %q (object %d), which was already signed: %s", fr.name, nr, keyList(keys, false))
	case len(other) > 0:
		j.note(OtherChange, "changes form field %q (object %d): %s", fr.name, nr, keyList(other, false))
	case fr.kind == emptySigField:
		level, err := j.signedNow(db)
		if err != nil {
			j.note(OtherChange, "changes signature field %q (object %d) without signing it: %v", fr.name, nr, err)
			return
		}
		j.note(level, "signs the empty signature field %q (object %d)", fr.name, nr)
		for _, k := range keys {
			j.clearIn(db[k])
		}
	default:
		j.note(FormFilling, "fills in form field %q (object %d): %s", fr.name, nr, keyList(keys, false))
		for _, k := range keys {
			j.clearIn(db[k])
		}
	}
}

// signedNow checks that the signature field d, or the field it is a
// widget of, is signed by this revision.
func (j *judge) signedNow(d types.Dict) (ChangeLevel, error) {
	for range maxTreeDepth {
		if v, ok := d["V"]; ok && v != nil {
			return j.signatureValue(v)
		}
		if d = j.b.dict(d["Parent"]); d == nil {
			break
		}
	}
	return 0, fmt.Errorf("it has no signature (/V)")
}
