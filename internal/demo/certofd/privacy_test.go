package certofd

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/sealpipe/sealpipe/internal/demo/certpdf"
)

// TestDocInfoHasNoPersonalData renders certificates as OFD and checks that
// the citizen's name and identity number are on the page and nowhere else:
// not in any DocInfo field (Title, Subject, Keywords, CustomDatas … parsed
// as XML, attributes too), and not in the raw bytes of any part but the
// page content and the font.
func TestDocInfoHasNoPersonalData(t *testing.T) {
	named := certpdf.Sample(7, issued)
	named.Body = "兹证明" + named.Name + "（公民身份号码：" + named.IDNumber + "）系本县居民。\n" + named.Name + "同志现住本县。"
	cs := testCertificates()
	cs["name in every paragraph"] = named
	t.Parallel()
	for name, c := range cs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := open(t, render(t, c))
			info := docInfo(t, p.parts[entryName])
			if !strings.Contains(info["DocInfo/Title"], c.Number) {
				t.Errorf("DocInfo %q: the title does not name certificate %s", info, c.Number)
			}
			for what, v := range map[string]string{"name": c.Name, "ID number": c.IDNumber} {
				if !bytes.Contains(p.parts[contentName], []byte(escape(v))) {
					t.Errorf("the page does not show the %s %q", what, v)
				}
				for where, text := range info {
					if strings.Contains(text, v) {
						t.Errorf("%s holds the %s %q: %q", where, what, v, text)
					}
				}
				for part, data := range p.parts {
					if part != contentName && !strings.HasSuffix(part, ".ttf") && bytes.Contains(data, []byte(v)) {
						t.Errorf("part %s holds the %s %q", part, what, v)
					}
				}
			}
		})
	}
}

// docInfo returns the text and attribute values inside OFD.xml's DocInfo
// element by path, such as "DocInfo/Title" or "DocInfo/CustomDatas/CustomData@Name".
func docInfo(t *testing.T, entry []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	var path []string
	d := xml.NewDecoder(bytes.NewReader(entry))
	for {
		tok, err := d.Token()
		if err != nil {
			break
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			path = append(path, tok.Name.Local)
			for _, a := range tok.Attr {
				out[strings.Join(path, "/")+"@"+a.Name.Local] += a.Value
			}
		case xml.EndElement:
			path = path[:len(path)-1]
		case xml.CharData:
			out[strings.Join(path, "/")] += string(tok)
		}
	}
	info := map[string]string{}
	for k, v := range out {
		if i := strings.Index(k, "DocInfo"); i >= 0 {
			info[k[i:]] = v
		}
	}
	if info["DocInfo/Title"] == "" {
		t.Fatalf("OFD.xml has no DocInfo title:\n%s", entry)
	}
	return info
}
