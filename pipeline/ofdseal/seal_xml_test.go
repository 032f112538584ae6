package ofdseal

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestEditSignatureList: the entry is appended in the root's own prefix,
// every MaxSignId is set (one is added first when there is none), and
// nothing else of the part changes.
func TestEditSignatureList(t *testing.T) {
	t.Parallel()
	e := signaturesEntry{id: "s009", baseLoc: "/Doc_0/Signs/Sign_2/Signature.xml"}
	const decl = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"
	tests := []struct{ name, in, want string }{
		{"ofdrw, MaxSignId repeated (h.ofd)",
			decl + `<ofd:Signatures xmlns:ofd="http://www.ofdspec.org/2016"><ofd:Signature ID="s001" Type="Seal" BaseLoc="/a"/><ofd:MaxSignId>s006</ofd:MaxSignId><ofd:Signature ID="s007" Type="Seal" BaseLoc="/b"/><ofd:MaxSignId>s008</ofd:MaxSignId></ofd:Signatures>`,
			decl + `<ofd:Signatures xmlns:ofd="http://www.ofdspec.org/2016"><ofd:Signature ID="s001" Type="Seal" BaseLoc="/a"/><ofd:MaxSignId>s010</ofd:MaxSignId><ofd:Signature ID="s007" Type="Seal" BaseLoc="/b"/><ofd:MaxSignId>s010</ofd:MaxSignId><ofd:Signature ID="s009" Type="Seal" BaseLoc="/Doc_0/Signs/Sign_2/Signature.xml"/></ofd:Signatures>`},
		{"default namespace, no MaxSignId, white space",
			`<Signatures xmlns="http://www.ofdspec.org">` + "\n  " + `<Signature ID="1" BaseLoc="Sign_0/Signature.xml"></Signature>` + "\n" + `</Signatures>` + "\n",
			`<Signatures xmlns="http://www.ofdspec.org"><MaxSignId>s010</MaxSignId>` + "\n  " + `<Signature ID="1" BaseLoc="Sign_0/Signature.xml"></Signature>` + "\n" + `<Signature ID="s009" Type="Seal" BaseLoc="/Doc_0/Signs/Sign_2/Signature.xml"/></Signatures>` + "\n"},
		{"empty, self-closing",
			`<ofd:Signatures xmlns:ofd="http://www.ofdspec.org/2016" />`,
			`<ofd:Signatures xmlns:ofd="http://www.ofdspec.org/2016"><ofd:MaxSignId>s010</ofd:MaxSignId><ofd:Signature ID="s009" Type="Seal" BaseLoc="/Doc_0/Signs/Sign_2/Signature.xml"/></ofd:Signatures>`},
		{"empty, with an end tag",
			`<Signatures></Signatures>`,
			`<Signatures><MaxSignId>s010</MaxSignId><Signature ID="s009" Type="Seal" BaseLoc="/Doc_0/Signs/Sign_2/Signature.xml"/></Signatures>`},
		{"self-closing MaxSignId",
			`<Signatures><MaxSignId/></Signatures>`,
			`<Signatures><MaxSignId>s010</MaxSignId><Signature ID="s009" Type="Seal" BaseLoc="/Doc_0/Signs/Sign_2/Signature.xml"/></Signatures>`},
	}
	for _, tt := range tests {
		got, err := editSignatureList("Signatures.xml", []byte(tt.in), e, "s010")
		if err != nil || string(got) != tt.want {
			t.Errorf("%s:\n got %s, %v\nwant %s", tt.name, got, err, tt.want)
		}
	}
	for _, bad := range []string{`<Other/>`, `<Signatures>`, `<!DOCTYPE x><Signatures/>`} {
		if _, err := editSignatureList("Signatures.xml", []byte(bad), e, "1"); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", bad, err)
		}
	}
}

// TestAddSignaturesEntry: DocBody/Signatures goes last in the first
// DocBody, in its prefix; the rest of OFD.xml is left as it was.
func TestAddSignaturesEntry(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{`<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016"><ofd:DocBody><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody><ofd:DocBody><ofd:DocRoot>Doc_1/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>`,
			`<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016"><ofd:DocBody><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot><ofd:Signatures>/Doc_0/Signs/Signatures.xml</ofd:Signatures></ofd:DocBody><ofd:DocBody><ofd:DocRoot>Doc_1/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>`},
		{`<OFD xmlns="http://www.ofdspec.org"><DocBody>` + "\n" + `<DocRoot>Doc_0/Document.xml</DocRoot>` + "\n" + `</DocBody></OFD>`,
			`<OFD xmlns="http://www.ofdspec.org"><DocBody>` + "\n" + `<DocRoot>Doc_0/Document.xml</DocRoot>` + "\n" + `<Signatures>/Doc_0/Signs/Signatures.xml</Signatures></DocBody></OFD>`},
	}
	for _, tt := range tests {
		got, err := addSignaturesEntry("OFD.xml", []byte(tt.in), "/Doc_0/Signs/Signatures.xml")
		if err != nil || string(got) != tt.want {
			t.Errorf("\n got %s, %v\nwant %s", got, err, tt.want)
		}
	}
	if _, err := addSignaturesEntry("OFD.xml", []byte(`<OFD/>`), "/x"); !errors.Is(err, ErrMalformed) {
		t.Errorf("no DocBody: %v", err)
	}
}

// TestAllocIDs: new IDs follow MaxSignId's form and every ID in use, and
// never repeat one.
func TestAllocIDs(t *testing.T) {
	t.Parallel()
	set := func(ids ...string) map[string]bool {
		m := map[string]bool{}
		for _, id := range ids {
			m[id] = true
		}
		return m
	}
	tests := []struct {
		max  string
		used map[string]bool
		n    int
		want string
	}{
		{"", nil, 2, "1 2"},
		{"2", set("1", "2"), 2, "3 4"},
		{"s006", set("s001", "s002", "s006"), 3, "s007 s008 s009"},
		{"s008", set("s001", "s007", "s010"), 1, "s011"}, // an ID beyond MaxSignId
		{"9", set("1"), 2, "10 11"},                      // widths grow
		{"", set("sig-3", "a"), 1, "4"},                  // no MaxSignId: plain numbers after the largest
		{"x", set("x"), 1, "1"},                          // MaxSignId without digits
		{"007", set("007", "8", "008"), 2, "009 010"},    // zero padding kept
	}
	for _, tt := range tests {
		got, err := allocIDs(tt.max, tt.used, tt.n)
		if err != nil || strings.Join(got, " ") != tt.want {
			t.Errorf("allocIDs(%q, %v, %d) = %q, %v; want %s", tt.max, tt.used, tt.n, got, err, tt.want)
		}
	}
}

// TestMissingSignatureList: OFD.xml names a Signatures.xml the package
// lacks (a producer quirk the reader accepts); sealing writes it there and
// leaves OFD.xml as it was.
func TestMissingSignatureList(t *testing.T) {
	t.Parallel()
	sm2K, _ := testKeys(t)
	in := rezip(t, corpus(t, "helloworld.ofd"), func(name string, data []byte) []byte {
		if name == "OFD.xml" {
			return []byte(strings.Replace(string(data), "</ofd:DocRoot>", "</ofd:DocRoot><ofd:Signatures>Doc_0/Sigs.xml</ofd:Signatures>", 1))
		}
		return data
	}, nil)
	out := seal(t, in, sealOptions(sm2K, Placement{Page: 1, X: 20, Y: 20}))
	verifyOK(t, out, 1)
	parts, _ := unzip(t, out)
	if _, ok := parts["Doc_0/Sigs.xml"]; !ok {
		t.Error("no Doc_0/Sigs.xml")
	}
	checkCarriedOver(t, in, out)
}

// TestSealCancelled: a cancelled context stops sealing; nothing is
// written.
func TestSealCancelled(t *testing.T) {
	t.Parallel()
	sm2K, _ := testKeys(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var w countingWriter
	if err := Seal(ctx, &w, corpus(t, "helloworld.ofd"), sealOptions(sm2K, Placement{Page: 1})); !errors.Is(err, context.Canceled) || w.writes != 0 {
		t.Fatalf("%v, %d writes", err, w.writes)
	}
}
