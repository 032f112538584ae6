// Package certpdf renders the demo certificate a county government service
// hall issues to a citizen (证明): an A4, one-page PDF in Chinese with a
// title, the citizen's name and ID number, the body text, the issuing
// department, the date and a certificate number; the electronic seal goes
// over the department and the date (SealArea).
//
// The page follows the layout of GB/T 9704-2012 (党政机关公文格式): a
// 156 mm × 225 mm type area 37 mm from the top and 28 mm from the left
// edge (§5.2.1), 28 characters to a body line (§5.2.4), the date four
// characters in from the right with the department centred above it
// (§7.3.5.1). As that standard has it, the seal goes over the department and
// the date (骑年盖月: it straddles the year and covers the month), both of
// them under the seal's centre: SealArea is that place, and the sealing
// step draws the seal picture there, over the text.
//
// Layout validates a Certificate and places its lines (a Page of Runs);
// Render writes that page as PDF, and internal/demo/certofd writes the same
// page as OFD, so both formats share this package's fields, sample data and
// layout. Text is drawn as filled vector paths from the embedded font's
// outlines; no font is embedded. The same Certificate always yields the same bytes
// (with the same Go release, whose compress/flate output may change).
package certpdf

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sealpipe/sealpipe/templates/fonts"
)

// Certificate is what one certificate says.
type Certificate struct {
	// Number identifies the certificate, e.g. "ZM-20240315-000007".
	Number string
	// Name is the citizen's name.
	Name string
	// IDNumber is the citizen's 18-character identity number (GB 11643-1999).
	IDNumber string
	// Department is the issuing department, e.g. "某某县人民政府政务服务中心".
	Department string
	// Body is the text of the certificate; each line is a paragraph.
	Body string
	// Date is the date of issue, printed in its own time zone; it also
	// fixes the PDF's creation date.
	Date time.Time
}

// Limits of a Certificate's fields, in characters.
const (
	MaxNumberRunes     = 40
	MaxNameRunes       = 20
	MaxDepartmentRunes = 20
	MaxBodyLines       = 9 // lines of 28 characters between the ID number and the seal area
)

// ErrInvalidCertificate is wrapped by every *FieldError.
var ErrInvalidCertificate = errors.New("certpdf: invalid certificate")

// FieldError reports a Certificate field that cannot be rendered.
type FieldError struct {
	Field  string // the Certificate field, e.g. "IDNumber"
	Value  string // the offending value, shortened if long
	Reason string
	Err    error // the underlying cause, such as a *fonts.MissingGlyphError; may be nil
}

// Error quotes the field and its value.
func (e *FieldError) Error() string {
	return fmt.Sprintf("certpdf: %s %q: %s", e.Field, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidCertificate and the underlying cause, if any.
func (e *FieldError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrInvalidCertificate}
	}
	return []error{ErrInvalidCertificate, e.Err}
}

func fieldError(field, value, reason string, err error) *FieldError {
	const show = 40
	if utf8.RuneCountInString(value) > show {
		value = string([]rune(value)[:show]) + "…"
	}
	return &FieldError{Field: field, Value: value, Reason: reason, Err: err}
}

// PageWidth and PageHeight are the certificate's page size in millimetres:
// A4, portrait.
const (
	PageWidth  = pageWidth
	PageHeight = pageHeight
)

// Page geometry, in millimetres from the lower-left corner.
const (
	pageWidth  = 210.0 // A4
	pageHeight = 297.0

	left  = 28.0            // GB/T 9704-2012 §5.2.1: type area 28 mm from the left,
	right = left + 156      // 156 mm wide,
	top   = pageHeight - 37 // 37 mm from the top

	lineChars     = 28                // characters to a body line (§5.2.4)
	indentChars   = 2                 // characters a paragraph's first line is indented
	bodySize      = 156.0 / lineChars // em of body text, ≈ 3号 (16 pt)
	titleSize     = 22 * 25.4 / 72    // 2号 (22 pt), §7.3.1
	titleTracking = 1                 // em of space between the title's characters
	smallSize     = 10.5 * 25.4 / 72  // 五号, for the certificate number
	noteSize      = 9 * 25.4 / 72
	pitch         = 225.0 / 22 // 22 lines to the type area (§5.2.4)

	numberY = top - smallSize // bottoms of the em boxes of each line
	titleY  = 240.0
	nameY   = 222.0
	idY     = nameY - pitch
	bodyY   = idY - pitch // first body line
	dateY   = 50.0
	deptY   = dateY + pitch
	noteY   = 24.0

	// The seal area: the 42 mm seal picture's square, centred over a date
	// of typical width ("2024年12月31日"). Its centre is sealLift above the
	// top of the department's line, so that department and date lie in the
	// seal's lower half (§7.3.5.1: 居印章中心偏下), the date line crossing
	// it 11 to 17 mm below the centre: the seal covers the month and day and
	// straddles the year (骑年盖月).
	sealSide = 42.0
	sealLift = 1.0
	dateEdge = right - 4*bodySize // §7.3.5.1: the date ends four characters in
	dateEms  = 8*0.55 + 3         // eight tabular digits (fonts: 0.55 em each) and 年月日
	sealX    = dateEdge - dateEms*bodySize/2 - sealSide/2
	sealY    = deptY + bodySize + sealLift - sealSide/2
)

// SealArea returns where the seal belongs: page 1, and the lower-left corner,
// width and height of the seal picture's square in millimetres from the
// page's lower-left corner. The square lies over the department's name and
// the date (骑年盖月), clear of the body text and the note under it.
func SealArea() (page int, x, y, w, h float64) {
	return 1, sealX, sealY, sealSide, sealSide
}

// note is printed under the type area of every certificate.
const note = "本证明加盖电子印章后有效，可通过电子印章验证服务核验真伪。"

// noteGray is the note's fill colour, lighter than the certificate's text.
const noteGray = 0.45

// Page is a laid-out certificate: what every output format draws, and the
// document metadata that goes with it. Render writes it as PDF; other
// formats (internal/demo/certofd) write the same runs at the same places so
// that the certificate looks the same in each.
type Page struct {
	// Width and Height are the page size in millimetres (A4).
	Width, Height float64
	// Runs are the page's lines of text, in drawing order.
	Runs []Run
	// Title, Subject and Author are the document metadata: the title names
	// the certificate by its number, the subject says what it is and who
	// issued it, and the author is the issuing department (see metadata).
	// They hold no personal data: the citizen's name and identity number,
	// and the body that repeats them, are on the page only.
	Title, Subject, Author string
	// Date is the certificate's date of issue, the document's creation date.
	Date time.Time
}

// Run is one line of text: glyphs set left to right from X, each advancing
// by its own advance plus Tracking em.
type Run struct {
	// Glyphs are the line's characters, spaces included.
	Glyphs []*fonts.Glyph
	// X is the left end of the line and Y the bottom of its ideographic em
	// box (fonts.IdeoBottom), in millimetres from the page's lower-left
	// corner; the baseline is at Y - fonts.IdeoBottom*Size.
	X, Y float64
	// Size is the em in millimetres.
	Size float64
	// Tracking is the extra space after each glyph, in em.
	Tracking float64
	// Gray is the fill colour: 0 black, 1 white.
	Gray float64
}

// Text returns the characters of the run.
func (r Run) Text() string {
	var b strings.Builder
	for _, g := range r.Glyphs {
		b.WriteRune(g.Rune)
	}
	return b.String()
}

// Render lays out c on one A4 page and returns the PDF.
func Render(c Certificate) ([]byte, error) {
	p, err := Layout(c)
	if err != nil {
		return nil, err
	}
	d := newDocument()
	gray := math.NaN()
	for _, r := range p.Runs {
		if r.Gray != gray {
			d.gray(r.Gray)
			gray = r.Gray
		}
		d.text(r.Glyphs, r.X, r.Y, r.Size, r.Tracking)
	}
	return d.bytes(map[string]string{
		"Title":        textString(p.Title),
		"Subject":      textString(p.Subject),
		"Author":       textString(p.Author),
		"Creator":      "(sealpipe)",
		"Producer":     "(sealpipe internal/demo/certpdf)",
		"CreationDate": pdfDate(p.Date),
		"ModDate":      pdfDate(p.Date),
	})
}

// Layout validates c and places its text on one A4 page, as Render draws
// it. Errors are the same *FieldError values Render returns.
func Layout(c Certificate) (*Page, error) {
	number, err := field("Number", c.Number, MaxNumberRunes, true)
	if err != nil {
		return nil, err
	}
	name, err := field("Name", c.Name, MaxNameRunes, false)
	if err != nil {
		return nil, err
	}
	if err := checkID(c.IDNumber); err != nil {
		return nil, err
	}
	id, err := fonts.Text(c.IDNumber)
	if err != nil {
		return nil, fieldError("IDNumber", c.IDNumber, "cannot be drawn", err)
	}
	dept, err := field("Department", c.Department, MaxDepartmentRunes, false)
	if err != nil {
		return nil, err
	}
	if c.Date.IsZero() || c.Date.Year() < 1900 || c.Date.Year() > 9999 {
		return nil, fieldError("Date", c.Date.String(), "must be a date between the years 1900 and 9999", nil)
	}
	body, err := layoutBody(c.Body)
	if err != nil {
		return nil, err
	}

	fixed, err := fixedText()
	if err != nil {
		return nil, err
	}
	date, err := fonts.Text(chineseDate(c.Date))
	if err != nil {
		return nil, fieldError("Date", c.Date.String(), "cannot be drawn", err)
	}

	p := &Page{
		Width:  pageWidth,
		Height: pageHeight,
		Date:   c.Date,
	}
	p.Title, p.Subject, p.Author = metadata(c)
	text := func(gs []*fonts.Glyph, x, y, size, tracking, gray float64) {
		p.Runs = append(p.Runs, Run{Glyphs: gs, X: x, Y: y, Size: size, Tracking: tracking, Gray: gray})
	}
	numLine := slices.Concat(fixed.numberLabel, number)
	text(numLine, right-fonts.Advance(numLine)*smallSize, numberY, smallSize, 0, 0)
	titleW := (fonts.Advance(fixed.title) + titleTracking*float64(len(fixed.title)-1)) * titleSize
	text(fixed.title, (pageWidth-titleW)/2, titleY, titleSize, titleTracking, 0)
	text(slices.Concat(fixed.nameLabel, name), left, nameY, bodySize, 0, 0)
	text(slices.Concat(fixed.idLabel, id), left, idY, bodySize, 0, 0)
	for i, l := range body {
		text(l.glyphs, left+l.indent*bodySize, bodyY-float64(i)*pitch, bodySize, 0, 0)
	}
	dateW, deptW := fonts.Advance(date)*bodySize, fonts.Advance(dept)*bodySize
	dateX := dateEdge - dateW
	text(dept, min(dateX+(dateW-deptW)/2, right-deptW), deptY, bodySize, 0, 0)
	text(date, dateX, dateY, bodySize, 0, 0)
	text(fixed.note, (pageWidth-fonts.Advance(fixed.note)*noteSize)/2, noteY, noteSize, 0, noteGray)
	return p, nil
}

// metadata returns the document metadata of c: its title, subject and
// author, as PDF's Info dictionary and OFD's DocInfo carry them. Metadata
// travels where the page does not — search indexes, file managers, the
// logs and properties panes of every system the document passes through —
// so it names the certificate only by its number, its issuer and its date:
// never the citizen's name or identity number, nor the body, which
// repeats them.
func metadata(c Certificate) (title, subject, author string) {
	return "证明（" + c.Number + "）",
		c.Department + chineseDate(c.Date) + "出具的证明",
		c.Department
}

// field validates a one-line text field and loads its glyphs.
func field(name, value string, maxRunes int, spaces bool) ([]*fonts.Glyph, error) {
	n := utf8.RuneCountInString(value)
	switch {
	case !utf8.ValidString(value):
		return nil, fieldError(name, value, "is not valid UTF-8", nil)
	case strings.TrimSpace(value) == "":
		return nil, fieldError(name, value, "is empty", nil)
	case !spaces && strings.IndexFunc(value, unicode.IsSpace) >= 0:
		return nil, fieldError(name, value, "contains white space", nil)
	case strings.TrimSpace(value) != value:
		return nil, fieldError(name, value, "has leading or trailing white space", nil)
	case n > maxRunes:
		return nil, fieldError(name, value, fmt.Sprintf("has %d characters, at most %d fit", n, maxRunes), nil)
	}
	gs, err := fonts.Text(value)
	if err != nil {
		return nil, fieldError(name, value, "cannot be drawn: "+err.Error(), err)
	}
	return gs, nil
}

// layoutBody breaks the body into lines of lineChars characters, each
// paragraph's first line indented.
func layoutBody(body string) ([]line, error) {
	if !utf8.ValidString(body) {
		return nil, fieldError("Body", body, "is not valid UTF-8", nil)
	}
	var lines []line
	for _, para := range strings.Split(body, "\n") {
		para = strings.TrimSpace(para)
		if para == "" {
			continue
		}
		gs, err := fonts.Text(para)
		if err != nil {
			return nil, fieldError("Body", body, "cannot be drawn: "+err.Error(), err)
		}
		lines = append(lines, wrap(gs, lineChars, indentChars)...)
	}
	switch {
	case len(lines) == 0:
		return nil, fieldError("Body", body, "is empty", nil)
	case len(lines) > MaxBodyLines:
		return nil, fieldError("Body", body, fmt.Sprintf("needs %d lines, the page has room for %d", len(lines), MaxBodyLines), nil)
	}
	return lines, nil
}

// chineseDate writes t as GB/T 9704-2012 §7.3.5.4 wants a date: Arabic
// numerals, the year in full, no leading zeros, e.g. 2024年3月5日.
func chineseDate(t time.Time) string {
	return fmt.Sprintf("%d年%d月%d日", t.Year(), int(t.Month()), t.Day())
}

// templateText holds the glyphs of the template's own words.
type templateText struct {
	numberLabel, title, nameLabel, idLabel, note []*fonts.Glyph
}

var fixedText = sync.OnceValues(func() (*templateText, error) {
	var t templateText
	for _, f := range []struct {
		dst  *[]*fonts.Glyph
		text string
	}{
		{&t.numberLabel, "编号："},
		{&t.title, "证明"},
		{&t.nameLabel, "姓名："},
		{&t.idLabel, "公民身份号码："},
		{&t.note, note},
	} {
		gs, err := fonts.Text(f.text)
		if err != nil {
			return nil, fmt.Errorf("certpdf: template text %q: %w", f.text, err)
		}
		*f.dst = gs
	}
	return &t, nil
})
