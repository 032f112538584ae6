package pdfseal

import (
	"errors"
	"fmt"

	"github.com/sealpipe/sealpipe/pipeline/cms"
)

// Limits of berToDER.
const (
	maxBERDepth = 64
)

// errBER reports BER that cannot be read.
var errBER = errors.New("BER")

// berToDER returns the DER form of the BER encoding b, as far as a CMS
// SignedData needs it (X.690 §8 against §10): indefinite lengths become
// definite, long-form lengths minimal, and constructed OCTET STRINGs (as
// NSS writes an encapsulated content in pieces) primitive. Nothing else is
// changed — SET OF is not sorted, booleans not canonicalised — so bytes
// that were DER already come back as they were, and what a signature
// covers (the signed attributes, which CMS requires in DER, RFC 5652
// §5.4) stays byte for byte. It converts the first value of b and returns
// what follows it (the zero padding of a /Contents string) as rest.
func berToDER(b []byte) (der, rest []byte, err error) {
	if n, ok := derPrefix(b, 0); ok {
		return b[:n:n], b[n:], nil // DER already: not copied element by element
	}
	der, rest, err = berValue(b, nil, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", errBER, err)
	}
	return der, rest, nil
}

// derPrefix returns the length of the first value of b if berValue would
// give it back unchanged: definite lengths in their shortest form and no
// constructed OCTET STRING, at any depth. CMS that this package and most
// signers write is such DER.
func derPrefix(b []byte, depth int) (int, bool) {
	if depth > maxBERDepth {
		return 0, false
	}
	tagLen, err := berTagLen(b)
	if err != nil {
		return 0, false
	}
	n, lenLen, indefinite, err := berLength(b[tagLen:])
	var short [5]byte
	if err != nil || indefinite || n > len(b)-tagLen-lenLen || lenLen != len(cms.AppendLength(short[:0], n)) {
		return 0, false
	}
	if b[0]&0x20 != 0 {
		if tagLen == 1 && b[0] == 0x24 {
			return 0, false
		}
		for inner := b[tagLen+lenLen : tagLen+lenLen+n]; len(inner) > 0; {
			k, ok := derPrefix(inner, depth+1)
			if !ok {
				return 0, false
			}
			inner = inner[k:]
		}
	}
	return tagLen + lenLen + n, true
}

// berValue appends the DER form of the first value of b to out and
// returns what follows it in b.
func berValue(b, out []byte, depth int) ([]byte, []byte, error) {
	if depth > maxBERDepth {
		return nil, nil, fmt.Errorf("nested more than %d deep", maxBERDepth)
	}
	tagLen, err := berTagLen(b)
	if err != nil {
		return nil, nil, err
	}
	tag := b[:tagLen]
	constructed := b[0]&0x20 != 0
	n, lenLen, indefinite, err := berLength(b[tagLen:])
	if err != nil {
		return nil, nil, err
	}
	body := b[tagLen+lenLen:]
	if indefinite && !constructed {
		return nil, nil, errors.New("an indefinite length on a primitive value")
	}
	if !indefinite && n > len(body) {
		return nil, nil, fmt.Errorf("a length of %d with %d bytes left", n, len(body))
	}
	if !constructed {
		return appendTLV(out, tag, body[:n]), body[n:], nil
	}
	// Constructed: convert each element, up to the end-of-contents
	// octets (indefinite) or the length's end.
	var (
		content []byte
		rest    []byte
	)
	if indefinite {
		rest = body
		for {
			if len(rest) >= 2 && rest[0] == 0 && rest[1] == 0 {
				rest = rest[2:]
				break
			}
			if len(rest) == 0 {
				return nil, nil, errors.New("no end-of-contents for an indefinite length")
			}
			if content, rest, err = berValue(rest, content, depth+1); err != nil {
				return nil, nil, err
			}
		}
	} else {
		inner := body[:n]
		for len(inner) > 0 {
			if content, inner, err = berValue(inner, content, depth+1); err != nil {
				return nil, nil, err
			}
		}
		rest = body[n:]
	}
	if len(tag) == 1 && b[0] == 0x24 { // a constructed OCTET STRING: its pieces joined
		joined, err := joinOctets(content)
		if err != nil {
			return nil, nil, err
		}
		return appendTLV(out, []byte{0x04}, joined), rest, nil
	}
	return appendTLV(out, tag, content), rest, nil
}

// joinOctets joins the DER OCTET STRINGs in b, the pieces of a
// constructed one.
func joinOctets(b []byte) ([]byte, error) {
	var out []byte
	for len(b) > 0 {
		if b[0] != 0x04 {
			return nil, fmt.Errorf("a piece of a constructed OCTET STRING has tag %#x", b[0])
		}
		n, lenLen, _, err := berLength(b[1:])
		if err != nil {
			return nil, err
		}
		out = append(out, b[1+lenLen:1+lenLen+n]...)
		b = b[1+lenLen+n:]
	}
	return out, nil
}

// berTagLen returns the length of the identifier octets at the start of b.
func berTagLen(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, errors.New("a value cut short")
	}
	if b[0]&0x1f != 0x1f {
		return 1, nil
	}
	for i := 1; i < len(b) && i <= 5; i++ {
		if b[i]&0x80 == 0 {
			return i + 1, nil
		}
	}
	return 0, errors.New("a tag number too long")
}

// berLength reads the length octets at the start of b: the length, how
// many octets held it, and whether it is the indefinite form.
func berLength(b []byte) (n, size int, indefinite bool, err error) {
	if len(b) == 0 {
		return 0, 0, false, errors.New("a value cut short")
	}
	switch first := b[0]; {
	case first < 0x80:
		return int(first), 1, false, nil
	case first == 0x80:
		return 0, 1, true, nil
	case first == 0xff:
		return 0, 0, false, errors.New("a reserved length octet")
	default:
		k := int(first & 0x7f)
		if k > 4 || len(b) < 1+k {
			return 0, 0, false, fmt.Errorf("a length of %d octets", k)
		}
		for _, c := range b[1 : 1+k] {
			n = n<<8 | int(c)
		}
		if n < 0 || n > 1<<30 {
			return 0, 0, false, fmt.Errorf("a length of %d", n)
		}
		return n, 1 + k, false, nil
	}
}

// appendTLV appends tag, the DER length of content, and content to out.
func appendTLV(out, tag, content []byte) []byte {
	return append(cms.AppendLength(append(out, tag...), len(content)), content...)
}
