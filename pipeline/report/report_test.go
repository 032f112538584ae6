package report

import "testing"

func TestCombine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   []Indication
		want Indication
	}{
		{nil, Passed},
		{[]Indication{Passed, Passed}, Passed},
		{[]Indication{Passed, Indeterminate}, Indeterminate},
		{[]Indication{Indeterminate, Failed, Passed}, Failed},
		{[]Indication{Failed, Indeterminate}, Failed},
	}
	for _, tt := range tests {
		if got := Combine(tt.in...); got != tt.want {
			t.Errorf("Combine(%v) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestConclude(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		checks []Result
		want   Indication
	}{
		{"all passed", []Result{OK, OK}, Passed},
		{"skipped counts as passed", []Result{OK, Skipped}, Passed},
		{"unknown", []Result{OK, Unknown}, Indeterminate},
		{"failed wins", []Result{Unknown, NotOK, OK}, Failed},
	}
	for _, tt := range tests {
		s := Signature{}
		for _, r := range tt.checks {
			s.Checks = append(s.Checks, Check{Name: "c", Result: r})
		}
		s.Conclude()
		if s.Indication != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, s.Indication, tt.want)
		}
		d := Document{Signatures: []Signature{s}}
		d.Conclude()
		if d.Indication != tt.want {
			t.Errorf("%s: document %s, want %s", tt.name, d.Indication, tt.want)
		}
	}
	var empty Document
	empty.Conclude()
	if empty.Indication != Indeterminate {
		t.Errorf("a document without signatures is %s, want INDETERMINATE", empty.Indication)
	}
	broken := Document{Signatures: []Signature{{Indication: Passed}}, Error: "unreadable"}
	broken.Conclude()
	if broken.Indication != Indeterminate {
		t.Errorf("an unreadable document is %s", broken.Indication)
	}
}
