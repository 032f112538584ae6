package pkcs11

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
)

// rfc7512Examples are the example URIs of RFC 7512 §3.
var rfc7512Examples = []string{
	"pkcs11:",
	"pkcs11:object=my-pubkey;type=public",
	"pkcs11:object=my-key;type=private?pin-source=file:/etc/token",
	"pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;model=1.0;object=my-certificate;type=cert;id=%69%95%3E%5C%F4%BD%EC%91;serial=?pin-source=file:/etc/token_pin",
	"pkcs11:object=my-sign-key;type=private?module-name=mypkcs11",
	"pkcs11:object=my-sign-key;type=private?module-path=/mnt/libmypkcs11.so.1",
	"pkcs11:token=Software%20PKCS%2311%20softtoken;manufacturer=Snake%20Oil,%20Inc.?pin-value=the-pin",
	"pkcs11:slot-description=Sun%20Metaslot",
	"pkcs11:library-manufacturer=Snake%20Oil,%20Inc.;library-description=Soft%20Token%20Library;library-version=1.23",
	"pkcs11:token=My%20token%25%20created%20by%20Joe;library-version=3;id=%01%02%03%Ba%dd%Ef%0F;object=%00%01%02%03%04%05%06%07",
	"pkcs11:token=A%20name%20with%20a%20substring%20%25%3B;object=my-certificate;type=cert",
	"pkcs11:token=Name%20with%20a%20small%20A%20with%20acute:%20%C3%A1;object=my-certificate;type=cert",
	"pkcs11:token=my-token;object=my-certificate;type=cert;vendor-aaa=value-a?pin-source=file:/etc/token_pin&vendor-bbb=value-b",
}

func TestParseURI(t *testing.T) {
	for _, c := range []struct {
		uri         string
		path, query map[string]string
	}{
		{rfc7512Examples[0], nil, nil},
		{rfc7512Examples[3],
			map[string]string{"token": "The Software PKCS#11 Softtoken", "manufacturer": "Snake Oil, Inc.", "model": "1.0",
				"object": "my-certificate", "type": "cert", "id": "\x69\x95\x3e\x5c\xf4\xbd\xec\x91", "serial": ""},
			map[string]string{"pin-source": "file:/etc/token_pin"}},
		{rfc7512Examples[6],
			map[string]string{"token": "Software PKCS#11 softtoken", "manufacturer": "Snake Oil, Inc."},
			map[string]string{"pin-value": "the-pin"}},
		{rfc7512Examples[9],
			map[string]string{"token": "My token% created by Joe", "library-version": "3",
				"id": "\x01\x02\x03\xba\xdd\xef\x0f", "object": "\x00\x01\x02\x03\x04\x05\x06\x07"}, nil},
		{rfc7512Examples[10], map[string]string{"token": "A name with a substring %;", "object": "my-certificate", "type": "cert"}, nil},
		{rfc7512Examples[11], map[string]string{"token": "Name with a small A with acute: á", "object": "my-certificate", "type": "cert"}, nil},
		{rfc7512Examples[12],
			map[string]string{"token": "my-token", "object": "my-certificate", "type": "cert", "vendor-aaa": "value-a"},
			map[string]string{"pin-source": "file:/etc/token_pin", "vendor-bbb": "value-b"}},
		{"PKCS11:token=a+b;slot-id=0042?module-path=/usr/lib/x.so",
			map[string]string{"token": "a+b", "slot-id": "0042"}, map[string]string{"module-path": "/usr/lib/x.so"}},
		{"pkcs11:token=x?x-a=1&x-a=2", map[string]string{"token": "x"}, map[string]string{"x-a": "1"}},
	} {
		t.Run(c.uri, func(t *testing.T) {
			u, err := ParseURI(c.uri)
			if err != nil {
				t.Fatal(err)
			}
			check := func(what string, got func(string) (string, bool), want map[string]string, all []attr) {
				t.Helper()
				for name, v := range want {
					if g, ok := got(name); !ok || g != v {
						t.Errorf("%s %s = %q, %v; want %q", what, name, g, ok, v)
					}
				}
				for _, a := range all {
					if _, ok := want[a.name]; !ok {
						t.Errorf("unexpected %s attribute %q", what, a.name)
					}
				}
			}
			check("path", u.Path, c.path, u.path)
			check("query", u.Query, c.query, dedupe(u.query))
		})
	}
}

// dedupe keeps the first of repeated vendor query attributes.
func dedupe(attrs []attr) []attr {
	seen := map[string]bool{}
	var out []attr
	for _, a := range attrs {
		if !seen[a.name] {
			seen[a.name] = true
			out = append(out, a)
		}
	}
	return out
}

// TestURIRoundTrip: String renders what ParseURI reads back to the same
// attributes, without pin-value.
func TestURIRoundTrip(t *testing.T) {
	for _, s := range rfc7512Examples {
		t.Run(s, func(t *testing.T) {
			u, err := ParseURI(s)
			if err != nil {
				t.Fatal(err)
			}
			v, err := ParseURI(u.String())
			if err != nil {
				t.Fatalf("ParseURI(%q): %v", u.String(), err)
			}
			if !maps.Equal(attrMap(u.path), attrMap(v.path)) {
				t.Errorf("path: %v, round trip %v", u.path, v.path)
			}
			want := attrMap(u.query)
			delete(want, attrPINValue)
			if !maps.Equal(want, attrMap(v.query)) {
				t.Errorf("query: %v, round trip %v", want, v.query)
			}
		})
	}
}

func attrMap(attrs []attr) map[string]string {
	m := map[string]string{}
	for _, a := range attrs {
		m[a.name] = a.value
	}
	return m
}

func TestParseURIErrors(t *testing.T) {
	long := "pkcs11:token=" + strings.Repeat("a", maxURILen)
	for _, c := range []struct{ name, uri string }{
		{"empty", ""},
		{"other scheme", "file:/etc/key.pem"},
		{"no value", "pkcs11:token"},
		{"empty name", "pkcs11:=x"},
		{"bad name", "pkcs11:to ken=x"},
		{"space", "pkcs11:token=a b"},
		{"slash in path", "pkcs11:token=a/b"},
		{"question mark in path value is the query", "pkcs11:token=a?b"},
		{"fragment", "pkcs11:token=a#b"},
		{"bad escape", "pkcs11:token=%zz"},
		{"short escape", "pkcs11:token=%4"},
		{"duplicate path attribute", "pkcs11:token=a;token=b"},
		{"duplicate vendor path attribute", "pkcs11:x-a=1;x-a=2"},
		{"duplicate pin-value", "pkcs11:token=a?pin-value=1&pin-value=2"},
		{"pin-value and pin-source", "pkcs11:token=a?pin-value=1&pin-source=/p"},
		{"bad type", "pkcs11:type=secret"},
		{"bad slot-id", "pkcs11:slot-id=0x10"},
		{"negative slot-id", "pkcs11:slot-id=-1"},
		{"huge slot-id", "pkcs11:slot-id=99999999999999999999999"},
		{"bad library-version", "pkcs11:library-version=1.2.3"},
		{"library-version overflow", "pkcs11:library-version=256"},
		{"empty library-version", "pkcs11:library-version="},
		{"too long", long},
	} {
		t.Run(c.name, func(t *testing.T) {
			u, err := ParseURI(c.uri)
			if !errors.Is(err, ErrBadURI) {
				t.Fatalf("ParseURI(%q) = %v, %v; want ErrBadURI", truncate(c.uri), u, err)
			}
		})
	}
}

// TestURIHidesPIN: no way of printing a URI, and no parse error, shows
// its pin-value.
func TestURIHidesPIN(t *testing.T) {
	const pin = "s3cr3t-P1N"
	u, err := ParseURI("pkcs11:token=t;object=o?module-path=/m.so&pin-value=" + pin)
	if err != nil {
		t.Fatal(err)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d", "%T %v"} {
		for _, v := range []any{u, *u} {
			if s := fmt.Sprintf(verb, v); strings.Contains(s, pin) || strings.Contains(s, fmt.Sprintf("%x", pin)) {
				t.Errorf("Sprintf(%q, %T) = %q reveals the PIN", verb, v, s)
			}
		}
	}
	if !strings.Contains(u.String(), "module-path=/m.so") {
		t.Errorf("String() = %q lost the other query attributes", u.String())
	}
	for _, bad := range []string{
		"pkcs11:token=t;type=bad?pin-value=" + pin,
		"pkcs11:token=t?pin-value=" + pin + "&pin-value=" + pin,
		"pkcs11:token=t?pin-value=" + pin + " x",
		"pkcs11:token=t?pin-value=s3cr&3t-P1N",
		"pkcs11:tok en=t?pin-value=" + pin,
		"pkcs11:token=t?pin-value=" + pin + "&pin-source=/p",
	} {
		_, err := ParseURI(bad)
		if err == nil {
			t.Errorf("ParseURI(%q) succeeded", bad)
			continue
		}
		if strings.Contains(err.Error(), pin) || strings.Contains(err.Error(), "3t-P1N") {
			t.Errorf("ParseURI error %q reveals the PIN", err)
		}
	}
}

func FuzzParseURI(f *testing.F) {
	for _, s := range rfc7512Examples {
		f.Add(s)
	}
	f.Add("pkcs11:token=seals;object=seal-01;id=%01?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=1234")
	f.Add("pkcs11:slot-id=42;library-version=2.6;serial=28457cf5025aa7b7")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURI(s)
		if err != nil {
			if !errors.Is(err, ErrBadURI) {
				t.Fatalf("error %v does not wrap ErrBadURI", err)
			}
			return
		}
		out := u.String()
		v, err := ParseURI(out)
		if err != nil {
			t.Fatalf("ParseURI(%q) accepted, its String %q rejected: %v", s, out, err)
		}
		if _, ok := v.Query(attrPINValue); ok {
			t.Fatalf("String %q kept pin-value", out)
		}
		if !maps.Equal(attrMap(u.path), attrMap(v.path)) {
			t.Fatalf("path of %q changed in %q", s, out)
		}
		if v.String() != out {
			t.Fatalf("String is not stable: %q then %q", out, v.String())
		}
	})
}
