package ofd

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
)

// node is an element of a parsed XML part: its local name (the namespace
// is ignored, as producers use several or none), attributes, children and
// text.
type node struct {
	name     string
	attrs    []xml.Attr
	children []*node
	text     string
}

// errStop ends a scan early without error.
var errStop = errors.New("stop")

// scan tokenises an XML part under lim, calling visit for each token. It
// refuses any directive (a DOCTYPE, and with it every entity declaration),
// encodings other than UTF-8, nesting deeper than MaxXMLDepth and more than
// MaxXMLElements elements. encoding/xml in strict mode expands only the
// five predefined entities and character references. visit may return
// errStop to end the scan.
func scan(part string, data []byte, lim Limits, visit func(xml.Token, int) error) error {
	if int64(len(data)) > lim.MaxXMLSize {
		return partErr(part, ErrTooLarge, "XML part of %d bytes, the limit is %d", len(data), lim.MaxXMLSize)
	}
	return scanReader(part, bytes.NewReader(data), lim, visit)
}

// scanReader is scan over a reader, which it reads only as far as the
// tokens visit asks for: a scan that visit stops early does not read (nor
// decompress) the rest of the part. The caller bounds the reader's length.
func scanReader(part string, r io.Reader, lim Limits, visit func(xml.Token, int) error) error {
	d := xml.NewDecoder(r)
	d.Strict = true
	d.CharsetReader = func(label string, r io.Reader) (io.Reader, error) {
		switch strings.ToLower(label) {
		case "utf-8", "utf8":
			return r, nil
		}
		return nil, partErr(part, ErrUnsupported, "XML encoding %q (only UTF-8 is read)", label)
	}
	depth, elements, roots := 0, 0, 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *PartError
			if errors.As(err, &pe) {
				return err
			}
			return partErr(part, ErrMalformed, "%v", err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return partErr(part, ErrDTD, "%.40q", t)
		case xml.StartElement:
			depth++
			elements++
			if depth == 1 {
				if roots++; roots > 1 {
					return partErr(part, ErrMalformed, "a second root element <%s>", t.Name.Local)
				}
			}
			if depth > lim.MaxXMLDepth {
				return partErr(part, ErrTooLarge, "elements nested deeper than %d", lim.MaxXMLDepth)
			}
			if elements > lim.MaxXMLElements {
				return partErr(part, ErrTooLarge, "more than %d elements", lim.MaxXMLElements)
			}
		case xml.EndElement:
			depth--
		}
		if err := visit(tok, depth); err == errStop {
			return nil
		} else if err != nil {
			return err
		}
	}
	if roots == 0 {
		return partErr(part, ErrMalformed, "no root element")
	}
	return nil
}

// parseXML parses an XML part into a tree (see scan for the guards).
func parseXML(part string, data []byte, lim Limits) (*node, error) {
	var root *node
	var stack []*node
	var text []*strings.Builder
	err := scan(part, data, lim, func(tok xml.Token, _ int) error {
		switch t := tok.(type) {
		case xml.StartElement:
			n := &node{name: t.Name.Local, attrs: t.Attr}
			if len(stack) == 0 {
				root = n
			} else {
				parent := stack[len(stack)-1]
				parent.children = append(parent.children, n)
			}
			stack = append(stack, n)
			text = append(text, new(strings.Builder))
		case xml.EndElement:
			n := stack[len(stack)-1]
			n.text = strings.TrimSpace(text[len(text)-1].String())
			stack, text = stack[:len(stack)-1], text[:len(text)-1]
		case xml.CharData:
			if len(text) > 0 {
				text[len(text)-1].Write(t)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return root, nil
}

// attr returns the value of an attribute by local name: an exact match, or
// failing that a case-insensitive one. Absent attributes give "".
func (n *node) attr(name string) string {
	for _, a := range n.attrs {
		if a.Name.Local == name {
			return strings.TrimSpace(a.Value)
		}
	}
	for _, a := range n.attrs {
		if strings.EqualFold(a.Name.Local, name) {
			return strings.TrimSpace(a.Value)
		}
	}
	return ""
}

// all returns the children with a local name.
func (n *node) all(name string) []*node {
	var out []*node
	for _, c := range n.children {
		if c.name == name {
			out = append(out, c)
		}
	}
	return out
}

// one returns the single child with a local name; nil if there is none
// and it is not required. Two are ambiguous and refused.
func (n *node) one(part, name string, required bool) (*node, error) {
	found := n.all(name)
	switch {
	case len(found) > 1:
		return nil, partErr(part, ErrMalformed, "<%s> holds %d <%s> elements, want one", n.name, len(found), name)
	case len(found) == 0 && required:
		return nil, partErr(part, ErrMalformed, "<%s> has no <%s>", n.name, name)
	case len(found) == 0:
		return nil, nil
	}
	return found[0], nil
}

// childText returns the text of the single child with a local name, ""
// when there is none.
func (n *node) childText(part, name string) (string, error) {
	c, err := n.one(part, name, false)
	if c == nil || err != nil {
		return "", err
	}
	return c.text, nil
}
