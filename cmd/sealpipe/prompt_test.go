package main

import (
	"errors"
	"strings"
	"testing"
)

func TestPrompterAsk(t *testing.T) {
	def := "某某县民政局"
	for _, tt := range []struct {
		name, input string
		def         *string
		want        string
		wantErr     error
		asked       int
	}{
		{"answer", "  合同专用章 \n", &def, "合同专用章", nil, 1},
		{"Enter takes the default", "\n", &def, def, nil, 1},
		{"a last line without a newline", "33010200000001", nil, "33010200000001", nil, 1},
		{"empty, asked again", "\n\n33010200000001\n", nil, "33010200000001", nil, 3},
		{"empty three times", "\n\n\n33010200000001\n", nil, "", errNoAnswer, 3},
		{"end of input", "", nil, "", errNoAnswer, 1},
		{"end of input where there is a default", "", &def, "", errNoAnswer, 1},
	} {
		var out strings.Builder
		p := newPrompter(strings.NewReader(tt.input), &out)
		got, err := p.ask("Question", tt.def, nil)
		if got != tt.want || !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: ask = %q, %v; want %q, %v", tt.name, got, err, tt.want, tt.wantErr)
		}
		if n := strings.Count(out.String(), "Question"); n != tt.asked {
			t.Errorf("%s: asked %d times, want %d:\n%s", tt.name, n, tt.asked, out.String())
		}
		if tt.def != nil && !strings.Contains(out.String(), "Question ["+def+"]: ") {
			t.Errorf("%s: the default is not shown in brackets: %q", tt.name, out.String())
		}
	}
	var out strings.Builder
	empty := ""
	got, err := newPrompter(strings.NewReader("\n"), &out).ask("Purpose", &empty, func(string) string { return "none: 公章" })
	if got != "" || err != nil || out.String() != "Purpose [none: 公章]: " {
		t.Errorf("described default: %q, %v, prompt %q", got, err, out.String())
	}
}
