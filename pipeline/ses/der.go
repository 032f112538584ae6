package ses

import (
	"encoding/asn1"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/sealpipe/sealpipe/pipeline/cms"
)

// This file holds the package's own DER machinery: a small lenient reader for
// the decode side and a builder for the encode side. encoding/asn1 is not used
// for decoding because real producers emit values it rejects (see the package
// documentation); the reader below accepts them while keeping every element's
// original bytes, so signatures are always checked over what was signed.

// ASN.1 universal tags (X.690 §8) as they appear in the identifier octet.
const (
	tagBoolean         = 0x01
	tagInteger         = 0x02
	tagBitString       = 0x03
	tagOctetString     = 0x04
	tagOID             = 0x06
	tagUTF8String      = 0x0c
	tagPrintableString = 0x13
	tagT61String       = 0x14
	tagIA5String       = 0x16
	tagUTCTime         = 0x17
	tagGeneralizedTime = 0x18
	tagVisibleString   = 0x1a
	tagSequence        = 0x30
	tagContext0        = 0xa0 // [0] constructed (EXPLICIT)
	tagContext0Prim    = 0x80 // [0] primitive (IMPLICIT)
)

// element is one decoded TLV. raw is the whole encoding (identifier, length
// and contents) exactly as found; body is the contents. off and bodyOff are
// offsets into the outermost input, for error messages.
type element struct {
	tag     byte
	raw     []byte
	body    []byte
	off     int
	bodyOff int
}

// reader walks a run of consecutive DER elements. It never recurses on its
// own: callers descend one schema level at a time, so nesting depth is bounded
// by the fixed SESeal / SES_Signature schema, and every length is bounded by
// the bytes actually present.
type reader struct {
	b   []byte
	off int    // offset of b[0] in the outermost input
	st  string // structure name for errors: "SESeal", "SES_Signature"
	// parent and name locate the enclosing element; the dotted path they
	// form is only built when an error needs it.
	parent *reader
	name   string
}

func newReader(structure string, b []byte) *reader {
	return &reader{b: b, st: structure}
}

// enter returns a reader over the contents of e, a child named name.
func (r *reader) enter(e element, name string) *reader {
	return &reader{b: e.body, off: e.bodyOff, st: r.st, parent: r, name: name}
}

// path returns the dotted path of the element r reads inside.
func (r *reader) path() string {
	if r.parent == nil {
		return r.name
	}
	return r.parent.field(r.name)
}

// field returns the dotted path of a child named name.
func (r *reader) field(name string) string {
	p := r.path()
	switch {
	case p == "":
		return name
	case name == "":
		return p
	case name[0] == '[':
		return p + name
	}
	return p + "." + name
}

// errorAt builds a ParseError for the child named field at offset off.
func (r *reader) errorAt(field string, off int, format string, args ...any) error {
	return &ParseError{Structure: r.st, Field: r.field(field), Offset: off, Detail: fmt.Sprintf(format, args...)}
}

func (r *reader) empty() bool { return len(r.b) == 0 }

// peek returns the identifier octet of the next element, if any.
func (r *reader) peek() (byte, bool) {
	if len(r.b) == 0 {
		return 0, false
	}
	return r.b[0], true
}

// errorf builds a ParseError at the reader's current position.
func (r *reader) errorf(field, format string, args ...any) error {
	return r.errorAt(field, r.off, format, args...)
}

// next reads any one element. Long-form lengths are accepted even when not
// minimal (a BER habit some producers keep); indefinite lengths and
// high-tag-number identifiers are not, as nothing in these structures uses them.
func (r *reader) next(field string) (element, error) {
	b := r.b
	if len(b) == 0 {
		return element{}, r.errorf(field, "missing")
	}
	if len(b) < 2 {
		return element{}, r.errorf(field, "truncated: %d byte(s) left, need an identifier and a length", len(b))
	}
	tag := b[0]
	if tag&0x1f == 0x1f {
		return element{}, r.errorf(field, "high-tag-number identifier 0x%02x not supported", tag)
	}
	n, hdr := int(b[1]), 2
	if n&0x80 != 0 {
		nb := n & 0x7f
		switch {
		case nb == 0:
			return element{}, r.errorf(field, "indefinite length (BER) not allowed")
		case nb > 4:
			return element{}, r.errorf(field, "length of length %d exceeds 4 bytes", nb)
		case len(b) < 2+nb:
			return element{}, r.errorf(field, "truncated length")
		}
		var l uint64
		for _, c := range b[2 : 2+nb] {
			l = l<<8 | uint64(c)
		}
		if l > uint64(len(b)) {
			return element{}, r.errorf(field, "length %d exceeds the %d byte(s) left", l, len(b)-2-nb)
		}
		n, hdr = int(l), 2+nb
	}
	if n > len(b)-hdr {
		return element{}, r.errorf(field, "length %d exceeds the %d byte(s) left", n, len(b)-hdr)
	}
	e := element{tag: tag, raw: b[:hdr+n], body: b[hdr : hdr+n], off: r.off, bodyOff: r.off + hdr}
	r.b = b[hdr+n:]
	r.off += hdr + n
	return e, nil
}

// expect reads the next element and requires one of the given tags.
func (r *reader) expect(field string, tags ...byte) (element, error) {
	if t, ok := r.peek(); ok && !hasTag(tags, t) {
		return element{}, r.errorf(field, "found %s, want %s", tagName(t), tagNames(tags))
	}
	return r.next(field)
}

// optional reads the next element if it carries one of the given tags.
func (r *reader) optional(field string, tags ...byte) (element, bool, error) {
	t, ok := r.peek()
	if !ok || !hasTag(tags, t) {
		return element{}, false, nil
	}
	e, err := r.next(field)
	return e, err == nil, err
}

func hasTag(tags []byte, t byte) bool {
	for _, x := range tags {
		if x == t {
			return true
		}
	}
	return false
}

func tagNames(tags []byte) string {
	s := make([]string, len(tags))
	for i, t := range tags {
		s[i] = tagName(t)
	}
	return strings.Join(s, " or ")
}

// tagName names an identifier octet for error messages.
func tagName(t byte) string {
	if n, ok := tagNamesByOctet[t]; ok {
		return n
	}
	return fmt.Sprintf("tag 0x%02x", t)
}

var tagNamesByOctet = map[byte]string{
	tagBoolean: "BOOLEAN", tagInteger: "INTEGER", tagBitString: "BIT STRING",
	tagOctetString: "OCTET STRING", tagOID: "OBJECT IDENTIFIER",
	tagUTF8String: "UTF8String", tagPrintableString: "PrintableString",
	tagT61String: "T61String", tagIA5String: "IA5String", tagUTCTime: "UTCTime",
	tagGeneralizedTime: "GeneralizedTime", tagVisibleString: "VisibleString",
	tagSequence: "SEQUENCE", tagContext0: "[0]", tagContext0Prim: "[0] IMPLICIT",
}

// Tag groups accepted where the schema names one string or time type.
var (
	stringTags = []byte{tagIA5String, tagUTF8String, tagPrintableString, tagVisibleString, tagT61String}
	timeTags   = []byte{tagGeneralizedTime, tagUTCTime}
)

// str reads a character string of any 8-bit string type. NUL bytes, which
// some producers leave in names, are dropped from the returned value (the
// original bytes stay in the element's raw encoding).
func (r *reader) str(field string) (string, error) {
	e, err := r.expect(field, stringTags...)
	if err != nil {
		return "", err
	}
	return strings.ReplaceAll(string(e.body), "\x00", ""), nil
}

// integer reads an INTEGER that must fit an int64. Non-minimal encodings are
// accepted.
func (r *reader) integer(field string) (int64, error) {
	e, err := r.expect(field, tagInteger)
	if err != nil {
		return 0, err
	}
	v, ok := parseInt64(e.body)
	if !ok {
		return 0, r.errorAt(field, e.off, "INTEGER % x does not fit 64 bits", e.body)
	}
	return v, nil
}

// smallInt reads an INTEGER that must fit an int32 (versions, types, sizes).
func (r *reader) smallInt(field string) (int, error) {
	at := r.off
	v, err := r.integer(field)
	if err != nil {
		return 0, err
	}
	if v < math.MinInt32 || v > math.MaxInt32 {
		return 0, r.errorAt(field, at, "INTEGER %d out of range", v)
	}
	return int(v), nil
}

func parseInt64(b []byte) (int64, bool) {
	// Strip redundant sign octets so non-minimal encodings fit.
	for len(b) > 1 && ((b[0] == 0 && b[1]&0x80 == 0) || (b[0] == 0xff && b[1]&0x80 != 0)) {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 8 {
		return 0, false
	}
	var v int64
	if b[0]&0x80 != 0 {
		v = -1
	}
	for _, c := range b {
		v = v<<8 | int64(c)
	}
	return v, true
}

// octets reads an OCTET STRING's contents.
func (r *reader) octets(field string) ([]byte, error) {
	e, err := r.expect(field, tagOctetString)
	if err != nil {
		return nil, err
	}
	return e.body, nil
}

// bits reads a BIT STRING and returns its contents without the unused-bits
// octet. Every BIT STRING in these structures holds whole octets; a non-zero
// unused-bits count is tolerated and ignored.
func (r *reader) bits(field string) ([]byte, error) {
	e, err := r.expect(field, tagBitString)
	if err != nil {
		return nil, err
	}
	return r.bitsOf(field, e)
}

// bitsOf returns the octets of the BIT STRING element e, already read from r.
func (r *reader) bitsOf(field string, e element) ([]byte, error) {
	if len(e.body) == 0 {
		return nil, r.errorAt(field, e.off, "empty BIT STRING (no unused-bits octet)")
	}
	return e.body[1:], nil
}

// oid reads an OBJECT IDENTIFIER.
func (r *reader) oid(field string) (asn1.ObjectIdentifier, error) {
	e, err := r.expect(field, tagOID)
	if err != nil {
		return nil, err
	}
	return r.oidOf(field, e)
}

// oidOf decodes the OBJECT IDENTIFIER element e, already read from r.
func (r *reader) oidOf(field string, e element) (asn1.ObjectIdentifier, error) {
	id, ok := parseOID(e.body)
	if !ok {
		return nil, r.errorAt(field, e.off, "bad OBJECT IDENTIFIER % x", e.body)
	}
	return id, nil
}

func parseOID(b []byte) (asn1.ObjectIdentifier, bool) {
	if len(b) == 0 || len(b) > 128 {
		return nil, false
	}
	var id asn1.ObjectIdentifier
	v := 0
	for i, c := range b {
		if v > math.MaxInt32>>7 {
			return nil, false
		}
		v = v<<7 | int(c&0x7f)
		if c&0x80 != 0 {
			if i == len(b)-1 {
				return nil, false
			}
			continue
		}
		if id == nil { // the first subidentifier packs two arcs
			switch {
			case v < 40:
				id = append(id, 0, v)
			case v < 80:
				id = append(id, 1, v-40)
			default:
				id = append(id, 2, v-80)
			}
		} else {
			id = append(id, v)
		}
		v = 0
	}
	return id, true
}

// boolean reads a BOOLEAN; any non-zero octet is true (BER), as some
// producers write 0x01.
func (r *reader) boolean(field string) (bool, error) {
	e, err := r.expect(field, tagBoolean)
	if err != nil {
		return false, err
	}
	if len(e.body) != 1 {
		return false, r.errorAt(field, e.off, "BOOLEAN of %d bytes", len(e.body))
	}
	return e.body[0] != 0, nil
}

// skipRest reads and ignores any elements left in r. Unknown trailing
// components are how these structures grow (version 5 added timeStamp), so
// they are tolerated as long as they are well-formed.
func (r *reader) skipRest() error {
	for !r.empty() {
		if _, err := r.next("(trailing element)"); err != nil {
			return err
		}
	}
	return nil
}

// extensions reads an optional untagged ExtensionDatas (GB/T 38540 §6.1):
//
//	ExtensionDatas ::= SEQUENCE OF ExtData
//	ExtData ::= SEQUENCE { extnID OBJECT IDENTIFIER,
//	    critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
//
// An explicitly encoded `critical FALSE`, which DER forbids, is accepted.
func (r *reader) extensions(field string) ([]Extension, error) {
	e, ok, err := r.optional(field, tagSequence)
	if !ok || err != nil {
		return nil, err
	}
	return r.enter(e, field).extensionList()
}

// extensionList reads the ExtData elements that make up the rest of r.
func (r *reader) extensionList() ([]Extension, error) {
	var exts []Extension
	for i := 0; !r.empty(); i++ {
		name := fmt.Sprintf("[%d]", i)
		e, err := r.expect(name, tagSequence)
		if err != nil {
			return nil, err
		}
		er := r.enter(e, name)
		var x Extension
		if x.ID, err = er.oid("extnID"); err != nil {
			return nil, err
		}
		if t, _ := er.peek(); t == tagBoolean {
			if x.Critical, err = er.boolean("critical"); err != nil {
				return nil, err
			}
		}
		if x.Value, err = er.octets("extnValue"); err != nil {
			return nil, err
		}
		if err := er.skipRest(); err != nil {
			return nil, err
		}
		exts = append(exts, x)
	}
	return exts, nil
}

// timeStamp reads an optional trailing `timeStamp [0] BIT STRING`, tagged
// explicitly (a constructed [0] around a BIT STRING, as ofdrw writes it) or
// implicitly (a primitive [0]). It returns the bit
// string's octets; a constructed [0] around anything else yields its contents.
func (r *reader) timeStamp(field string) ([]byte, error) {
	e, ok, err := r.optional(field, tagContext0, tagContext0Prim)
	if !ok || err != nil {
		return nil, err
	}
	if e.tag == tagContext0Prim {
		return r.bitsOf(field, e)
	}
	tr := r.enter(e, field)
	if t, _ := tr.peek(); t == tagBitString {
		b, err := tr.bits("")
		if err != nil {
			return nil, err
		}
		return b, tr.skipRest()
	}
	return e.body, nil
}

// time reads a UTCTime or GeneralizedTime leniently; see parseTime.
func (r *reader) time(field string) (time.Time, error) {
	e, err := r.expect(field, timeTags...)
	if err != nil {
		return time.Time{}, err
	}
	return r.timeOf(field, e)
}

// timeOf decodes the time element e, already read from r.
func (r *reader) timeOf(field string, e element) (time.Time, error) {
	t, ok := parseTime(string(e.body))
	if !ok {
		return time.Time{}, r.errorAt(field, e.off, "bad time %q", e.body)
	}
	return t, nil
}

// parseTime decodes the time forms found in seals regardless of the tag that
// carried them (X.680 §46/§47 and what producers actually write):
//
//	YYYYMMDDHHMMSS[.f*][Z|±hhmm]  GeneralizedTime, also without the Z
//	YYMMDDHHMM[SS][Z|±hhmm]      UTCTime, also inside a GeneralizedTime tag
//
// A value without a zone designator is taken as UTC. Two-digit years follow
// RFC 5280: 50–99 are 19xx, 00–49 are 20xx.
func parseTime(s string) (time.Time, bool) {
	loc := time.UTC
	switch {
	case strings.HasSuffix(s, "Z"):
		s = s[:len(s)-1]
	case len(s) > 5 && (s[len(s)-5] == '+' || s[len(s)-5] == '-'):
		z := s[len(s)-5:]
		hh, ok1 := digits(z[1:3])
		mm, ok2 := digits(z[3:5])
		if !ok1 || !ok2 || hh > 23 || mm > 59 {
			return time.Time{}, false
		}
		off := hh*3600 + mm*60
		if z[0] == '-' {
			off = -off
		}
		loc = time.FixedZone("", off)
		s = s[:len(s)-5]
	}
	var frac string
	if i := strings.IndexAny(s, ".,"); i >= 0 {
		frac, s = s[i+1:], s[:i]
		if _, ok := digits(frac); !ok || len(frac) > 9 || len(s) != 14 {
			return time.Time{}, false
		}
	}
	var year, rest int
	switch len(s) {
	case 14: // YYYYMMDDHHMMSS
		y, ok := digits(s[:4])
		if !ok {
			return time.Time{}, false
		}
		year, rest = y, 4
	case 10, 12: // YYMMDDHHMM[SS]
		y, ok := digits(s[:2])
		if !ok {
			return time.Time{}, false
		}
		year, rest = 2000+y, 2
		if y >= 50 {
			year = 1900 + y
		}
	default:
		return time.Time{}, false
	}
	f := [5]int{}
	for i := range f {
		if rest+2*i+2 > len(s) {
			break // seconds omitted
		}
		v, ok := digits(s[rest+2*i : rest+2*i+2])
		if !ok {
			return time.Time{}, false
		}
		f[i] = v
	}
	month, day, hour, min, sec := f[0], f[1], f[2], f[3], f[4]
	nsec := 0
	if frac != "" {
		n, _ := digits(frac)
		for i := len(frac); i < 9; i++ {
			n *= 10
		}
		nsec = n
	}
	t := time.Date(year, time.Month(month), day, hour, min, sec, nsec, loc)
	// Reject out-of-range fields instead of letting time.Date normalise them.
	if t.Month() != time.Month(month) || t.Day() != day || t.Hour() != hour || t.Minute() != min || t.Second() != sec {
		return time.Time{}, false
	}
	return t.UTC(), true
}

func digits(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	v := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// builder appends DER. Encoding is only ever done for structures this
// package produces (GB/T 38540 version 4), so it is strict DER (X.690 §10).
type builder []byte

// add appends one TLV whose contents are the concatenation of parts.
func (b *builder) add(tag byte, parts ...[]byte) {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	*b = slices.Grow(*b, maxHeader+n)
	*b = appendHeader(*b, tag, n)
	for _, p := range parts {
		*b = append(*b, p...)
	}
}

// maxHeader is the longest identifier and length appendHeader writes.
const maxHeader = 6

// appendHeader appends the identifier and the definite length of a TLV
// whose contents are n bytes (X.690 §8.1.3, minimal as §10.1 requires).
func appendHeader(b []byte, tag byte, n int) []byte {
	return cms.AppendLength(append(b, tag), n)
}

// tlv returns one encoded element.
func tlv(tag byte, parts ...[]byte) []byte {
	var b builder
	b.add(tag, parts...)
	return b
}

func derInt(v int64) []byte {
	c := binary.BigEndian.AppendUint64(nil, uint64(v))
	for len(c) > 1 && ((c[0] == 0 && c[1]&0x80 == 0) || (c[0] == 0xff && c[1]&0x80 != 0)) {
		c = c[1:] // minimal two's complement (X.690 §8.3.2)
	}
	return tlv(tagInteger, c)
}

func derString(tag byte, s string) []byte { return tlv(tag, []byte(s)) }

func derOctets(b []byte) []byte { return tlv(tagOctetString, b) }

func derBits(b []byte) []byte { return tlv(tagBitString, []byte{0}, b) }

// derGeneralizedTime encodes t in UTC with whole seconds and a Z, as X.690
// §11.7 requires of DER.
func derGeneralizedTime(t time.Time) []byte {
	return derString(tagGeneralizedTime, t.UTC().Format("20060102150405Z"))
}

func derOID(id asn1.ObjectIdentifier) ([]byte, error) {
	if len(id) < 2 || id[0] > 2 || (id[0] < 2 && id[1] >= 40) {
		return nil, fmt.Errorf("invalid object identifier %v", id)
	}
	var c []byte
	c = appendBase128(c, id[0]*40+id[1])
	for _, v := range id[2:] {
		if v < 0 {
			return nil, fmt.Errorf("invalid object identifier %v", id)
		}
		c = appendBase128(c, v)
	}
	return tlv(tagOID, c), nil
}

func appendBase128(b []byte, v int) []byte {
	n := 1
	for t := v >> 7; t > 0; t >>= 7 {
		n++
	}
	for i := n - 1; i >= 0; i-- {
		c := byte(v>>(7*i)) & 0x7f
		if i > 0 {
			c |= 0x80
		}
		b = append(b, c)
	}
	return b
}
