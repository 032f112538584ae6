package approval

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on placements, as package pdfseal has them.
const (
	// MaxPlacementPages bounds the pages a placement lists.
	MaxPlacementPages = 1000
	// MaxKeywordLength bounds a keyword, in bytes of UTF-8.
	MaxKeywordLength = 256
	// MaxCertify is the highest DocMDP permission (ISO 32000-1 §12.8.2.2).
	MaxCertify = 3
)

// Corners a PDF placement may measure from (Placement.Corner).
var Corners = []string{"lower-left", "upper-left", "upper-right", "lower-right"}

// Pages lists the pages of a placement: all of them, or page numbers. In
// JSON it is the string "all" or an array of page numbers; in memory a
// canonical string ("all", or the numbers joined by commas), so that a
// Placement stays comparable with ==. The zero value lists none.
type Pages string

// AllPages is every page of the document.
const AllPages Pages = "all"

// PageList returns the pages numbered ns, in that order.
func PageList(ns ...int) Pages {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return Pages(strings.Join(s, ","))
}

// ParsePages reads pages as a person writes them on a command line: "all",
// or numbers separated by commas ("1,3,5").
func ParsePages(s string) (Pages, error) {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "all") {
		return AllPages, nil
	}
	var ns []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return "", fmt.Errorf("%w: pages %q: want \"all\" or page numbers separated by commas", ErrMalformed, s)
		}
		ns = append(ns, n)
	}
	p := PageList(ns...)
	return p, p.check()
}

// All reports whether p is every page.
func (p Pages) All() bool { return p == AllPages }

// Numbers returns the listed page numbers; nil for none or all.
func (p Pages) Numbers() []int {
	if p == "" || p.All() {
		return nil
	}
	var ns []int
	for _, f := range strings.Split(string(p), ",") {
		n, _ := strconv.Atoi(f) // checked by check
		ns = append(ns, n)
	}
	return ns
}

// check checks the canonical form: "all", or 1 to MaxPlacementPages
// distinct page numbers from 1.
func (p Pages) check() error {
	if p == "" || p.All() {
		return nil
	}
	fields := strings.Split(string(p), ",")
	if len(fields) > MaxPlacementPages {
		return fmt.Errorf("%w: %d pages listed, at most %d", ErrMalformed, len(fields), MaxPlacementPages)
	}
	seen := make(map[int]bool, len(fields))
	for _, f := range fields {
		n, err := strconv.Atoi(f)
		switch {
		case err != nil || strconv.Itoa(n) != f:
			return fmt.Errorf("%w: pages %q: %q is not a page number", ErrMalformed, string(p), f)
		case n < 1 || n > 100000:
			return fmt.Errorf("%w: pages: page %d is not between 1 and 100000", ErrMalformed, n)
		case seen[n]:
			return fmt.Errorf("%w: pages: page %d listed twice", ErrMalformed, n)
		}
		seen[n] = true
	}
	return nil
}

// MarshalJSON writes "all" or an array of page numbers.
func (p Pages) MarshalJSON() ([]byte, error) {
	if p.All() {
		return []byte(`"all"`), nil
	}
	ns := p.Numbers()
	if ns == nil {
		ns = []int{}
	}
	return json.Marshal(ns)
}

// UnmarshalJSON reads "all" or a non-empty array of page numbers.
func (p *Pages) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil || s != "all" {
			return fmt.Errorf("pages: %s is not \"all\" or an array of page numbers", b)
		}
		*p = AllPages
		return nil
	}
	var ns []int
	if err := json.Unmarshal(b, &ns); err != nil {
		return fmt.Errorf("pages: %s is not \"all\" or an array of page numbers", b)
	}
	if len(ns) == 0 {
		return fmt.Errorf("pages: an empty list")
	}
	*p = PageList(ns...)
	return nil
}

// Validate checks a placement as Manifest.Validate does: x and y from 0
// to 5000 mm, a known corner, pages "all" or up to MaxPlacementPages
// distinct numbers, a DocMDP level of 0 to MaxCertify, a keyword of at
// most MaxKeywordLength bytes of UTF-8 without control characters, with x
// and y 0 and no corner, and fields that combine: a page, or pages, a keyword or
// a riding seal instead; not page and pages; a riding seal without keyword
// or pages. The format-specific rule (corner, keyword, pages and certify
// are PDF's, PDFOnly) is the pipeline's, which knows the format. Errors
// wrap ErrMalformed.
func (p Placement) Validate() error {
	if p.X < 0 || p.Y < 0 || p.X > 5000 || p.Y > 5000 {
		return fmt.Errorf("%w: x %g, y %g: want 0 to 5000 mm", ErrMalformed, p.X, p.Y)
	}
	if p.Corner != "" && !slices.Contains(Corners, p.Corner) {
		return fmt.Errorf("%w: corner %q: want one of %s", ErrMalformed, p.Corner, strings.Join(Corners, ", "))
	}
	if err := p.Pages.check(); err != nil {
		return err
	}
	if p.Certify < 0 || p.Certify > MaxCertify {
		return fmt.Errorf("%w: certify %d: want 1 (no changes), 2 (form filling and signing) or 3 (and annotations), or none", ErrMalformed, p.Certify)
	}
	switch {
	case p.Riding && (p.Keyword != "" || p.Pages != ""):
		return fmt.Errorf("%w: a riding seal spans every page; it takes no keyword and no pages", ErrMalformed)
	case p.Pages != "" && p.Page != 0:
		return fmt.Errorf("%w: page %d and pages %s both given; give one", ErrMalformed, p.Page, p.Pages)
	case p.Page < 0 || p.Page > 100000:
		return fmt.Errorf("%w: page %d is not between 1 and 100000", ErrMalformed, p.Page)
	case p.Page == 0 && !p.Riding && p.Pages == "" && p.Keyword == "":
		return fmt.Errorf("%w: no page: give page, pages, a keyword to look for on every page, or riding", ErrMalformed)
	}
	if p.Keyword == "" {
		return nil
	}
	k := p.Keyword
	switch {
	case len(k) > MaxKeywordLength:
		return fmt.Errorf("%w: a keyword of %d bytes; at most %d", ErrMalformed, len(k), MaxKeywordLength)
	case !utf8.ValidString(k) || strings.ContainsRune(k, utf8.RuneError):
		return fmt.Errorf("%w: keyword %q is not UTF-8", ErrMalformed, k)
	case strings.IndexFunc(k, unicode.IsControl) >= 0:
		return fmt.Errorf("%w: keyword %q holds a control character", ErrMalformed, k)
	case strings.TrimFunc(k, unicode.IsSpace) == "":
		return fmt.Errorf("%w: keyword %q is only white space", ErrMalformed, k)
	case p.X != 0 || p.Y != 0 || p.Corner != "":
		return fmt.Errorf("%w: keyword %q centres the seal on the text; x and y (%g, %g) must be 0 and no corner (%q) given", ErrMalformed, k, p.X, p.Y, p.Corner)
	}
	return nil
}

// PDFOnly names the fields of p that only a PDF placement has — corner,
// keyword, pages, certify — or "" when it has none: an OFD document with
// them is refused, not sealed without them.
func (p Placement) PDFOnly() string {
	var out []string
	if p.Corner != "" {
		out = append(out, "corner")
	}
	if p.Keyword != "" {
		out = append(out, "keyword")
	}
	if p.Pages != "" {
		out = append(out, "pages")
	}
	if p.Certify != 0 {
		out = append(out, "certify")
	}
	return strings.Join(out, ", ")
}
