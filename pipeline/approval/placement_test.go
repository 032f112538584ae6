package approval

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// manifestWith is validManifest's JSON with its placement replaced by the
// JSON object placement.
func manifestWith(t testing.TB, placement string) []byte {
	t.Helper()
	good, err := Marshal(validManifest())
	if err != nil {
		t.Fatal(err)
	}
	s := string(good)
	i := strings.Index(s, `"placement": {`)
	j := i + strings.Index(s[i:], "}")
	return []byte(s[:i] + `"placement": ` + placement + s[j+1:])
}

func TestPlacementJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		json string
		want Placement
	}{
		{`{"page": 1, "x": 20, "y": 30}`, Placement{Page: 1, X: 20, Y: 30}},
		{`{"page": 1, "x": 20, "y": 30, "corner": "upper-right"}`, Placement{Page: 1, X: 20, Y: 30, Corner: "upper-right"}},
		{`{"page": 2, "x": 0, "y": 0, "keyword": "（盖章）"}`, Placement{Page: 2, Keyword: "（盖章）"}},
		{`{"page": 0, "x": 0, "y": 0, "keyword": "杭州市民政局"}`, Placement{Keyword: "杭州市民政局"}},
		{`{"keyword": "杭州市民政局", "pages": "all"}`, Placement{Keyword: "杭州市民政局", Pages: AllPages}},
		{`{"x": 20, "y": 30, "pages": [1, 3]}`, Placement{X: 20, Y: 30, Pages: PageList(1, 3)}},
		{`{"x": 20, "y": 30, "pages": "all", "corner": "lower-right"}`, Placement{X: 20, Y: 30, Pages: AllPages, Corner: "lower-right"}},
		{`{"page": 1, "x": 0, "y": 100, "riding": true}`, Placement{Page: 1, Y: 100, Riding: true}},
		{`{"y": 100, "riding": true, "corner": "upper-right"}`, Placement{Y: 100, Riding: true, Corner: "upper-right"}},
		{`{"page": 1, "x": 20, "y": 30, "certify": 2}`, Placement{Page: 1, X: 20, Y: 30, Certify: 2}},
		{`{"page": 1, "x": 20, "y": 30, "pages": null}`, Placement{Page: 1, X: 20, Y: 30}},
	}
	for _, tc := range tests {
		m, err := Parse(manifestWith(t, tc.json))
		if err != nil {
			t.Errorf("%s: %v", tc.json, err)
			continue
		}
		if got := m.Documents[0].Placement; got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.json, got, tc.want)
		}
		// What Marshal writes, Parse reads back the same.
		again, err := Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if m2, err := Parse(again); err != nil || m2.Documents[0].Placement != tc.want {
			t.Errorf("%s: round trip gives %+v, %v", tc.json, m2.Documents[0].Placement, err)
		}
	}
	if b, _ := Marshal(validManifest()); strings.Contains(string(b), "corner") || strings.Contains(string(b), "pages") || strings.Contains(string(b), "certify") {
		t.Errorf("a plain placement writes the new fields:\n%s", b)
	}
}

func TestPlacementRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		json string
		say  string
	}{
		{`{"page": 0, "x": 20, "y": 30}`, "no page"},
		{`{"page": -1, "x": 0, "y": 0, "keyword": "a"}`, "page -1"},
		{`{"page": 1, "x": 20, "y": 30, "corner": "middle"}`, `corner "middle"`},
		{`{"page": 1, "x": 20, "y": 30, "corner": "top-left"}`, `corner "top-left"`},
		{`{"page": 1, "x": 20, "y": 0, "keyword": "a"}`, "must be 0"},
		{`{"page": 1, "x": 0, "y": 0, "keyword": "a", "corner": "lower-left"}`, `no corner ("lower-left")`},
		{`{"page": 1, "x": 0, "y": 0, "keyword": " \u3000 "}`, "white space"},
		{`{"page": 1, "x": 0, "y": 0, "keyword": "a\u0007b"}`, "control character"},
		{`{"page": 1, "x": 0, "y": 0, "keyword": "` + strings.Repeat("印", 90) + `"}`, "at most 256"},
		{`{"page": 1, "x": 0, "y": 0, "keyword": "\ud800"}`, "not UTF-8"},
		{`{"page": 1, "x": 20, "y": 30, "pages": [2]}`, "both given"},
		{`{"x": 20, "y": 30, "pages": []}`, "empty list"},
		{`{"x": 20, "y": 30, "pages": [1, 1]}`, "listed twice"},
		{`{"x": 20, "y": 30, "pages": [0]}`, "page 0"},
		{`{"x": 20, "y": 30, "pages": [1.5]}`, "page numbers"},
		{`{"x": 20, "y": 30, "pages": "every"}`, "page numbers"},
		{`{"x": 20, "y": 30, "pages": {}}`, "page numbers"},
		{`{"x": 20, "y": 30, "riding": true, "pages": "all"}`, "riding"},
		{`{"x": 0, "y": 30, "riding": true, "keyword": "a"}`, "riding"},
		{`{"page": 1, "x": 20, "y": 30, "certify": 4}`, "certify 4"},
		{`{"page": 1, "x": 20, "y": 30, "certify": -1}`, "certify -1"},
		{`{"page": 1, "x": 20, "y": 30, "Corner": "lower-left", "corners": 1}`, "unknown field"},
	}
	for _, tc := range tests {
		_, err := Parse(manifestWith(t, tc.json))
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.say) {
			t.Errorf("%s: %v; want ErrMalformed saying %q", tc.json, err, tc.say)
		}
	}
	many := make([]int, MaxPlacementPages+1)
	for i := range many {
		many[i] = i + 1
	}
	m := validManifest()
	m.Documents[0].Placement = Placement{Pages: PageList(many...)}
	if _, err := Marshal(m); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "at most 1000") {
		t.Errorf("%d pages: %v", len(many), err)
	}
}

func TestParsePages(t *testing.T) {
	t.Parallel()
	for s, want := range map[string][]int{"1": {1}, "1, 3,5": {1, 3, 5}, " 7 ": {7}} {
		p, err := ParsePages(s)
		if err != nil || !slices.Equal(p.Numbers(), want) || p.All() {
			t.Errorf("ParsePages(%q) = %q (%v), %v; want %v", s, p, p.Numbers(), err, want)
		}
	}
	if p, err := ParsePages("ALL"); err != nil || !p.All() || p.Numbers() != nil {
		t.Errorf("ParsePages(ALL) = %q, %v", p, err)
	}
	for _, s := range []string{"", "1,,2", "x", "0", "2,2", "1-3"} {
		if _, err := ParsePages(s); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParsePages(%q) = %v, want ErrMalformed", s, err)
		}
	}
}

func TestPDFOnly(t *testing.T) {
	t.Parallel()
	if got := (Placement{Page: 1, X: 2, Y: 3, Riding: true}).PDFOnly(); got != "" {
		t.Errorf("an OFD-able placement says %q", got)
	}
	if got := (Placement{Corner: "upper-left", Keyword: "k", Pages: AllPages, Certify: 1}).PDFOnly(); got != "corner, keyword, pages, certify" {
		t.Errorf("PDFOnly = %q", got)
	}
}
