package pdfseal

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"

	"github.com/sealpipe/sealpipe/pipeline/pdffile"
)

// Corner names the corner of the displayed page that a [Placement]'s X and
// Y are measured from, to the nearest corner of the box: X along the top
// or bottom edge, Y along the left or right edge, both inwards. The zero
// value is LowerLeft, PDF's own origin (ISO 32000-1 §8.3.2.3).
type Corner int

// Corners.
const (
	LowerLeft Corner = iota
	UpperLeft
	UpperRight
	LowerRight
)

var cornerNames = [...]string{"lower-left", "upper-left", "upper-right", "lower-right"}

// String returns the corner's name: "lower-left", "upper-left",
// "upper-right" or "lower-right".
func (c Corner) String() string {
	if c >= 0 && int(c) < len(cornerNames) {
		return cornerNames[c]
	}
	return fmt.Sprintf("Corner(%d)", int(c))
}

// ParseCorner reads a corner's name as String writes it; "bottom" and
// "top" may stand for "lower" and "upper", and "" is LowerLeft.
func ParseCorner(s string) (Corner, error) {
	t := strings.NewReplacer("bottom", "lower", "top", "upper").Replace(strings.ToLower(strings.TrimSpace(s)))
	if t == "" {
		return LowerLeft, nil
	}
	for i, n := range cornerNames {
		if t == n {
			return Corner(i), nil
		}
	}
	return 0, fmt.Errorf("%w: corner %q: want lower-left, upper-left, upper-right or lower-right", ErrPlacement, s)
}

// Limits on placements.
const (
	// MaxPlacementPages bounds the pages one seal is placed on: the
	// listed pages, all pages, or the pages of a riding seal.
	MaxPlacementPages = 1000
	// MaxKeywordLength bounds a keyword, in bytes of UTF-8.
	MaxKeywordLength = 256
)

// checkModes checks how a placement's fields combine (see Placement).
func (p Placement) checkModes() error {
	if p.Corner < LowerLeft || p.Corner > LowerRight {
		return fmt.Errorf("%w: corner %d", ErrPlacement, int(p.Corner))
	}
	several := len(p.Pages) > 0 || p.AllPages
	switch {
	case p.Riding && (p.Keyword != "" || several):
		return fmt.Errorf("%w: a riding seal spans every page; it takes no keyword and no pages", ErrPlacement)
	case len(p.Pages) > 0 && p.AllPages:
		return fmt.Errorf("%w: pages %v and all pages both asked for", ErrPlacement, p.Pages)
	case several && p.Page != 0:
		return fmt.Errorf("%w: page %d and several pages both asked for; give one", ErrPlacement, p.Page)
	case len(p.Pages) > MaxPlacementPages:
		return fmt.Errorf("%w: %d pages listed, at most %d", ErrPlacement, len(p.Pages), MaxPlacementPages)
	}
	if p.Keyword != "" {
		if err := checkKeyword(p.Keyword); err != nil {
			return err
		}
		if p.X != 0 || p.Y != 0 || p.Corner != LowerLeft {
			return fmt.Errorf("%w: keyword %q centres the box on the text; X and Y (%g, %g) must be 0 and no corner (%v) given", ErrPlacement, p.Keyword, p.X, p.Y, p.Corner)
		}
	}
	seen := make(map[int]bool, len(p.Pages))
	for _, n := range p.Pages {
		if n < 1 {
			return fmt.Errorf("%w: page %d listed, pages are numbered from 1", ErrNoPage, n)
		}
		if seen[n] {
			return fmt.Errorf("%w: page %d listed twice", ErrPlacement, n)
		}
		seen[n] = true
	}
	// Without several pages, a riding seal or a keyword to look for on
	// every page, the seal goes on Page.
	if !p.Riding && !several && !(p.Keyword != "" && p.Page == 0) && p.Page < 1 {
		return fmt.Errorf("%w: page %d requested, pages are numbered from 1", ErrNoPage, p.Page)
	}
	return nil
}

// checkKeyword checks a keyword's text: UTF-8, not too long, no control
// characters, something besides white space.
func checkKeyword(k string) error {
	switch {
	case len(k) > MaxKeywordLength:
		return fmt.Errorf("%w: a keyword of %d bytes; at most %d", ErrPlacement, len(k), MaxKeywordLength)
	case !utf8.ValidString(k):
		return fmt.Errorf("%w: keyword %q is not UTF-8", ErrPlacement, k)
	case strings.IndexFunc(k, unicode.IsControl) >= 0:
		return fmt.Errorf("%w: keyword %q holds a control character", ErrPlacement, k)
	case len(squeeze(k)) == 0:
		return fmt.Errorf("%w: keyword %q is only white space", ErrPlacement, k)
	}
	return nil
}

// firstPage is the page Seal reads first, which must exist: Page, the
// first listed page, or page 1.
func (p Placement) firstPage() int {
	switch {
	case p.Page >= 1 && !p.Riding:
		return p.Page
	case len(p.Pages) > 0:
		return p.Pages[0]
	}
	return 1
}

// lastPage is the last page Seal reads, in page order: Page, the last
// listed page, or 0 for every page (a riding seal, all pages, a keyword
// looked for on every page).
func (p Placement) lastPage() int {
	switch {
	case p.Riding || p.AllPages:
		return 0
	case len(p.Pages) > 0:
		return slices.Max(p.Pages)
	}
	return max(p.Page, 0)
}

// pageTarget is a page a widget goes on, as target reads it.
type pageTarget struct {
	nr       int // page number, from 1
	ref      types.IndirectRef
	dict     types.Dict  // copy of the page dictionary
	annots   types.Array // resolved /Annots
	box      box         // CropBox clipped to MediaBox, default user space
	rotate   int
	userUnit float64
}

// display returns the page's size as displayed, in millimetres, and the
// user space units per millimetre.
func (pt *pageTarget) display() (w, h, perMM float64) {
	perMM = pointsPerMM / pt.userUnit
	w, h = pt.box.width(), pt.box.height()
	if pt.rotate == 90 || pt.rotate == 270 {
		w, h = h, w
	}
	return w / perMM, h / perMM, perMM
}

// displayed maps a point of default user space to the displayed page:
// its distance from the displayed lower-left corner, in user space units
// (the inverse of place's toUser).
func (pt *pageTarget) displayed(x, y float64) (u, v float64) {
	b := pt.box
	switch pt.rotate {
	case 90:
		return y - b.lly, b.urx - x
	case 180:
		return b.urx - x, b.ury - y
	case 270:
		return b.ury - y, x - b.llx
	}
	return x - b.llx, y - b.lly
}

// readPageTarget reads page n as sealTarget reads the page it seals.
func readPageTarget(f *pdffile.File, n int) (*pageTarget, error) {
	var t target
	if err := t.readPage(f, n); err != nil {
		return nil, err
	}
	return pageOf(&t, n), nil
}

func pageOf(t *target, n int) *pageTarget {
	return &pageTarget{nr: n, ref: t.pageRef, dict: t.pageDict, annots: t.pageAnnots, box: t.pageBox, rotate: t.pageRotate, userUnit: t.userUnit}
}

// widget is one widget annotation of the seal: its page, its place there
// and what of the picture it shows.
type widget struct {
	page *pageTarget
	g    geometry
	// The picture is drawn picW wide (user space units, displayed
	// orientation) shifted left by shift: a riding seal's strip shows the
	// part of the picture from shift to shift + g.width.
	picW, shift float64
	// A widget grown to hold a mark (Mark) draws the picture picH high
	// with its lower-left corner at (picX, picY) of the box, and the mark
	// where marked says; otherwise the picture fills the box's height
	// (picH 0) from its left edge.
	picX, picY, picH float64
	marked           *marked
}

// pictureHeight is how high w draws the picture.
func (w widget) pictureHeight() float64 {
	if w.picH == 0 {
		return w.g.height
	}
	return w.picH
}

// layout is where the seal goes: one widget, or several of one
// signature field.
type layout struct {
	widgets []widget
	certify int        // DocMDP permission of a certification signature; 0 for none
	perms   types.Dict // the catalog's new /Perms when certifying
}

// merged tells whether the seal is one widget merged with its field
// (§12.7.3.1), as Seal has always written it.
func (l *layout) merged() bool {
	return len(l.widgets) == 1 && l.widgets[0].shift == 0 && (l.widgets[0].picW == l.widgets[0].g.width || l.widgets[0].marked != nil)
}

// planSeal reads what a placement needs beyond the page sealTarget read —
// the other pages, the text of the pages a keyword is looked for on — and
// computes each widget's box; with opts.Certify it checks that the
// document can be certified. Reading more of the file may make pdffile
// repair more, which xrefRepairs judges again.
func planSeal(ctx context.Context, in *source, f *pdffile.File, t *target, opts *Options) (*layout, error) {
	l := &layout{}
	err := guard("placement", func() error {
		if err := l.place(ctx, f, t, opts.Placement); err != nil {
			return err
		}
		if err := l.addMark(opts.Mark, opts.Placement); err != nil {
			return err
		}
		if err := l.certification(f, t, opts.Certify); err != nil {
			return err
		}
		complete, err := xrefRepairs(in, f)
		if err != nil {
			return err
		}
		if complete != nil {
			t.complete = complete
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	need := 2*len(l.widgets) + 8 // widgets, their forms, the field and the rest
	if t.nextObj+need > maxObjectNumber {
		return nil, fmt.Errorf("%w: no room for %d new objects below the %d of ISO 32000-1 Annex C", ErrMalformed, need, maxObjectNumber)
	}
	return l, nil
}

// place computes the widgets of placement p.
func (l *layout) place(ctx context.Context, f *pdffile.File, t *target, p Placement) error {
	pages, err := placementPages(f, p)
	if err != nil {
		return err
	}
	var budget *textBudget
	var fonts *fontReader
	if p.Keyword != "" {
		budget = newTextBudget(ctx)
		fonts = &fontReader{f: f, b: budget, cache: map[int]*pdfFont{}}
	}
	// Each page is its own object: checkPageTree refused a page tree
	// that lists an object twice.
	for i, n := range pages {
		if err := ctx.Err(); err != nil {
			return err
		}
		pt := pageOf(t, n)
		if n != p.firstPage() {
			if pt, err = readPageTarget(f, n); err != nil {
				return err
			}
		}
		var w widget
		switch {
		case p.Riding:
			w, err = ridingStrip(pt, p, i, len(pages))
		case p.Keyword != "":
			var ok bool
			w, ok, err = onKeyword(f, pt, p, budget, fonts)
			if err == nil && !ok {
				if p.Page == 0 && len(p.Pages) == 0 && !p.AllPages {
					continue // look on the next page
				}
				return fmt.Errorf("%w: keyword %q is not on page %d", ErrPlacement, p.Keyword, n)
			}
		default:
			w, err = stampBox(pt, p)
		}
		if err != nil {
			return err
		}
		l.widgets = append(l.widgets, w)
		if p.Keyword != "" && p.Page == 0 && len(p.Pages) == 0 && !p.AllPages {
			break // the first page that has it
		}
	}
	if len(l.widgets) == 0 {
		return fmt.Errorf("%w: keyword %q is on none of the %d pages", ErrPlacement, p.Keyword, len(pages))
	}
	return nil
}

// placementPages lists the pages a placement puts widgets on, or, for a
// keyword looked for on every page, the pages to look on.
func placementPages(f *pdffile.File, p Placement) ([]int, error) {
	switch {
	case len(p.Pages) > 0:
		return p.Pages, nil
	case p.Page >= 1 && !p.Riding:
		return []int{p.Page}, nil
	}
	n, err := f.NumPages()
	if err != nil {
		return nil, fmt.Errorf("%w: page tree: %v", ErrMalformed, err)
	}
	if n > MaxPlacementPages && (p.Riding || p.AllPages) {
		return nil, fmt.Errorf("%w: the document has %d pages; a seal is placed on at most %d", ErrPlacement, n, MaxPlacementPages)
	}
	pages := make([]int, n)
	for i := range pages {
		pages[i] = i + 1
	}
	return pages, nil
}

// boxOn places a box given by its displayed lower-left corner, in mm, on
// a page.
func boxOn(pt *pageTarget, x, y, width, height float64) (widget, error) {
	w, h, _ := pt.display()
	const slack = 0.01 // rounding in callers' mm arithmetic, as place allows
	if x < -slack || y < -slack {
		return widget{}, fmt.Errorf("%w: a box of %g×%g mm does not fit page %d, %.1f×%.1f mm as displayed",
			ErrPlacement, width, height, pt.nr, w, h)
	}
	g, err := place(pt.box, pt.rotate, pt.userUnit, Placement{Page: pt.nr, X: max(x, 0), Y: max(y, 0), Width: width, Height: height})
	if err != nil {
		return widget{}, err
	}
	return widget{page: pt, g: g, picW: g.width}, nil
}

// lowerLeft returns the box's displayed lower-left corner, in mm from the
// page's displayed lower-left corner, of a box x, y mm from corner c.
func lowerLeft(c Corner, x, y, width, height, pageW, pageH float64) (float64, float64) {
	switch c {
	case UpperLeft:
		return x, pageH - y - height
	case UpperRight:
		return pageW - x - width, pageH - y - height
	case LowerRight:
		return pageW - x - width, y
	}
	return x, y
}

// stampBox is a box at X, Y from the placement's corner.
func stampBox(pt *pageTarget, p Placement) (widget, error) {
	if p.Corner == LowerLeft {
		// As Seal has always placed it, error messages included.
		g, err := place(pt.box, pt.rotate, pt.userUnit, Placement{Page: pt.nr, X: p.X, Y: p.Y, Width: p.Width, Height: p.Height})
		return widget{page: pt, g: g, picW: g.width}, err
	}
	w, h, _ := pt.display()
	x, y := lowerLeft(p.Corner, p.X, p.Y, p.Width, p.Height, w, h)
	return boxOn(pt, x, y, p.Width, p.Height)
}

// ridingStrip is strip i of n of a riding seal (骑缝章): the picture is cut
// into n vertical strips of equal width, and strip i lies against the
// right edge of page i+1 as displayed, so that the pages' right edges laid
// side by side, fanned out as a stack is stamped, show the whole picture
// (as ofdseal cuts it, after ofdrw). Y is measured from the corner's top
// or bottom edge as for a stamp; X is not used.
func ridingStrip(pt *pageTarget, p Placement, i, n int) (widget, error) {
	w, h, perMM := pt.display()
	strip := p.Width / float64(n)
	_, y := lowerLeft(p.Corner, 0, p.Y, p.Width, p.Height, w, h)
	wd, err := boxOn(pt, w-strip, y, strip, p.Height)
	if err != nil {
		return widget{}, err
	}
	wd.picW = p.Width * perMM
	wd.shift = float64(i) * strip * perMM
	return wd, nil
}

// onKeyword centres the box on the first occurrence of the keyword that
// shows on the page (its centre inside the crop box), moved the least
// needed to lie inside the page. ok is false when the page does not show
// the keyword.
func onKeyword(f *pdffile.File, pt *pageTarget, p Placement, b *textBudget, fonts *fontReader) (w widget, ok bool, err error) {
	glyphs, err := pageGlyphs(f, pt.nr, b, fonts)
	if errors.Is(err, errBudget) {
		return widget{}, false, fmt.Errorf("%w: looking for keyword %q on page %d: %v", ErrPlacement, p.Keyword, pt.nr, err)
	}
	if err != nil {
		return widget{}, false, err
	}
	kb, found := findText(glyphs, p.Keyword, pt.box)
	if !found {
		return widget{}, false, nil
	}
	pw, ph, perMM := pt.display()
	u, v := pt.displayed((kb.llx+kb.urx)/2, (kb.lly+kb.ury)/2)
	x := math.Max(0, math.Min(u/perMM-p.Width/2, pw-p.Width))
	y := math.Max(0, math.Min(v/perMM-p.Height/2, ph-p.Height))
	w, err = boxOn(pt, x, y, p.Width, p.Height)
	return w, err == nil, err
}

// certification checks that the document may be certified with DocMDP
// permission p (ISO 32000-1 §12.8.2.2): a certification signature must be
// the document's first signature (§12.8.1), so a document with a
// signature, or already certified, is refused. It prepares the catalog's
// /Perms (§12.8.4, table 258), keeping entries it has (/UR3).
func (l *layout) certification(f *pdffile.File, t *target, p int) error {
	if p == 0 {
		return nil
	}
	if p < 1 || p > 3 {
		return fmt.Errorf("%w: DocMDP permission %d; it is 1, 2 or 3 (ISO 32000-1 §12.8.2.2, table 254)", ErrCertify, p)
	}
	fields, err := signatureFields(f)
	if err != nil {
		return err
	}
	if len(fields) > 0 {
		return fmt.Errorf("%w: the document already has %d signature(s), the first in field %q; a certification signature must be the first (ISO 32000-1 §12.8.1)", ErrCertify, len(fields), fields[0].name)
	}
	if q, name := certification(f, t.catalog); q > 0 {
		return fmt.Errorf("%w: the document is already certified (%s)", ErrCertify, name)
	}
	l.perms = types.Dict{}
	if perms, err := resolveDict(f, t.catalog["Perms"]); err == nil && perms != nil {
		l.perms = perms.Clone().(types.Dict)
	}
	l.certify = p
	return nil
}

// docMDPReference is the signature reference dictionary of a
// certification signature with permission p (§12.8.1 table 253, §12.8.2.2
// table 254).
func docMDPReference(p int) types.Array {
	return types.Array{types.Dict{
		"Type":            types.Name("SigRef"),
		"TransformMethod": types.Name("DocMDP"),
		"TransformParams": types.Dict{"Type": types.Name("TransformParams"), "P": types.Integer(p), "V": types.Name("1.2")},
	}}
}

// writeWidgets writes the seal's appearances, its signature field and its
// widgets, and returns the widgets' object numbers. One widget
// is merged with its field (§12.7.3.1), as Seal has always written it,
// the appearance form being object formNr. Several are kids of one field
// (§12.7.3.1, §12.5.6.19) holding the signature: widgets of the same
// size and orientation share one appearance form, formNr the first; a
// riding seal's strips each have their own. The field is named name.
func (u *update) writeWidgets(l *layout, name string, imageNr, formNr, fieldNr, sigNr int, alloc func() int) ([]int, error) {
	ref := func(n int) types.IndirectRef { return *types.NewIndirectRef(n, 0) }
	num := func(f float64) types.Object { return types.Float(round4(f)) }

	type look struct {
		w, h, picW, shift, picX, picY, picH float64
		m                                   [6]float64
	}
	forms := map[look]int{}
	formOf := func(w widget) (int, error) {
		k := look{round4(w.g.width), round4(w.g.height), round4(w.picW), round4(w.shift), round4(w.picX), round4(w.picY), round4(w.picH), w.g.matrix}
		if nr, ok := forms[k]; ok {
			return nr, nil
		}
		nr := formNr
		if len(forms) > 0 {
			nr = alloc()
		}
		forms[k] = nr
		// The appearance (§12.5.5): a form drawing the picture over its
		// BBox, which clips a riding seal's strip (§8.10.1).
		content := appendNumber([]byte("q "), w.picW)
		content = append(content, " 0 0 "...)
		content = appendNumber(content, w.pictureHeight())
		content = append(content, ' ')
		content = appendNumber(content, w.picX-w.shift)
		content = append(content, ' ')
		content = appendNumber(content, w.picY)
		content = append(content, " cm /Im0 Do Q"...)
		if m := w.marked; m != nil {
			// The mark, in millimetres from its lower-left corner.
			content = appendNumber(append(content, "\nq "...), m.perMM)
			content = append(content, " 0 0 "...)
			content = appendNumber(content, m.perMM)
			content = append(content, ' ')
			content = appendNumber(content, m.x)
			content = append(content, ' ')
			content = appendNumber(content, m.y)
			content = append(content, " cm\n"...)
			content = append(append(content, m.content...), "\nQ"...)
		}
		g := w.g
		form := types.Dict{
			"Type": types.Name("XObject"), "Subtype": types.Name("Form"), "FormType": types.Integer(1),
			"BBox":      types.Array{types.Integer(0), types.Integer(0), num(g.width), num(g.height)},
			"Matrix":    types.Array{num(g.matrix[0]), num(g.matrix[1]), num(g.matrix[2]), num(g.matrix[3]), num(g.matrix[4]), num(g.matrix[5])},
			"Resources": types.Dict{"XObject": types.Dict{"Im0": ref(imageNr)}},
		}
		return nr, u.streamObject(nr, form, content)
	}
	rect := func(g geometry) types.Array {
		return types.Array{num(g.rect.llx), num(g.rect.lly), num(g.rect.urx), num(g.rect.ury)}
	}
	if l.merged() {
		w := l.widgets[0]
		if _, err := formOf(w); err != nil {
			return nil, err
		}
		// The signature field merged with its widget (§12.7.4.5,
		// §12.5.6.19). F 132 = Print | Locked (§12.5.3).
		field := types.Dict{
			"Type": types.Name("Annot"), "Subtype": types.Name("Widget"),
			"FT": types.Name("Sig"), "T": types.StringLiteral(name), "V": ref(sigNr),
			"F": types.Integer(132), "P": w.page.ref,
			"Rect": rect(w.g),
			"AP":   types.Dict{"N": ref(formNr)},
		}
		return []int{fieldNr}, u.dictObject(fieldNr, 0, field)
	}

	widgetNrs := make([]int, len(l.widgets))
	kids := make(types.Array, len(l.widgets))
	for i := range l.widgets {
		widgetNrs[i] = alloc()
		kids[i] = ref(widgetNrs[i])
	}
	// The field (§12.7.3.1, §12.7.4.5): it holds the signature; its kids
	// are the widgets, with no /T of their own.
	field := types.Dict{"FT": types.Name("Sig"), "T": types.StringLiteral(name), "V": ref(sigNr), "Kids": kids}
	if err := u.dictObject(fieldNr, 0, field); err != nil {
		return nil, err
	}
	for i, w := range l.widgets {
		formNr, err := formOf(w)
		if err != nil {
			return nil, err
		}
		widget := types.Dict{
			"Type": types.Name("Annot"), "Subtype": types.Name("Widget"), "Parent": ref(fieldNr),
			"F": types.Integer(132), "P": w.page.ref,
			"Rect": rect(w.g),
			"AP":   types.Dict{"N": ref(formNr)},
		}
		if err := u.dictObject(widgetNrs[i], 0, widget); err != nil {
			return nil, err
		}
	}
	return widgetNrs, nil
}

// pagesGain writes each page of the layout with its widget added to its
// /Annots (§12.5.2).
func (u *update) pagesGain(l *layout, widgetNrs []int) error {
	for i, w := range l.widgets {
		page := w.page.dict
		page["Annots"] = append(w.page.annots, *types.NewIndirectRef(widgetNrs[i], 0))
		if err := u.dictObject(int(w.page.ref.ObjectNumber), int(w.page.ref.GenerationNumber), page); err != nil {
			return err
		}
	}
	return nil
}
