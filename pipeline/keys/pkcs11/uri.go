package pkcs11

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// maxURILen bounds the URIs ParseURI reads: real ones are a few hundred bytes.
const maxURILen = 8 << 10

// maxPINFile bounds a pin-source file.
const maxPINFile = 4 << 10

// Path attribute names (RFC 7512 §2.3).
const (
	attrToken               = "token"
	attrManufacturer        = "manufacturer"
	attrSerial              = "serial"
	attrModel               = "model"
	attrLibraryManufacturer = "library-manufacturer"
	attrLibraryDescription  = "library-description"
	attrLibraryVersion      = "library-version"
	attrObject              = "object"
	attrType                = "type"
	attrID                  = "id"
	attrSlotManufacturer    = "slot-manufacturer"
	attrSlotDescription     = "slot-description"
	attrSlotID              = "slot-id"
)

// Query attribute names (RFC 7512 §2.3).
const (
	attrPINSource  = "pin-source"
	attrPINValue   = "pin-value"
	attrModuleName = "module-name"
	attrModulePath = "module-path"
)

var (
	knownPath = []string{
		attrToken, attrManufacturer, attrSerial, attrModel,
		attrLibraryManufacturer, attrLibraryDescription, attrLibraryVersion,
		attrObject, attrType, attrID,
		attrSlotManufacturer, attrSlotDescription, attrSlotID,
	}
	knownQuery = []string{attrPINSource, attrPINValue, attrModuleName, attrModulePath}
	// objectTypes are the values of the type attribute (RFC 7512 §2.3).
	objectTypes = []string{"public", "private", "cert", "secret-key", "data"}
)

// URI is a parsed RFC 7512 PKCS #11 URI such as
//
//	pkcs11:token=seals;object=seal-01;id=%01?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/secrets/pin
//
// Path attributes select the library, slot, token and object; query
// attributes say how to reach them (module-path, module-name) and how to
// log in (pin-value, pin-source). Values are percent-decoded; attribute
// names are case-sensitive.
//
// A URI may carry a PIN, so its String, GoString and Format methods leave
// pin-value out: printing a URI never reveals a PIN.
type URI struct {
	path, query []attr
}

type attr struct{ name, value string }

// ParseURI parses s as a PKCS #11 URI (RFC 7512 §2.3). It checks the
// grammar: attribute names and characters, percent-encoding, the value
// syntax of type, slot-id and library-version, duplicate attributes, and
// that pin-value and pin-source are not both present (§2.3). Unknown
// attributes are kept; Backend.Open refuses unknown path attributes because
// a URI with one matches nothing (§2.5). Errors wrap ErrBadURI and quote the
// offending attribute, never a pin-value.
func ParseURI(s string) (*URI, error) {
	if len(s) > maxURILen {
		return nil, fmt.Errorf("%w: URI is %d bytes, more than %d", ErrBadURI, len(s), maxURILen)
	}
	const scheme = "pkcs11:"
	if len(s) < len(scheme) || !strings.EqualFold(s[:len(scheme)], scheme) {
		return nil, fmt.Errorf("%w: %q does not start with %q", ErrBadURI, truncate(redactRaw(s)), scheme)
	}
	if strings.ContainsRune(s, '#') {
		return nil, fmt.Errorf("%w: a PKCS #11 URI has no fragment (\"#\" must be percent-encoded)", ErrBadURI)
	}
	rest := s[len(scheme):]
	pathPart, queryPart, _ := strings.Cut(rest, "?")
	u := new(URI)
	var err error
	if u.path, err = parseAttrs(pathPart, ';', isPathChar, knownPath); err != nil {
		return nil, err
	}
	if u.query, err = parseAttrs(queryPart, '&', isQueryChar, knownQuery); err != nil {
		return nil, err
	}
	if err := u.check(); err != nil {
		return nil, err
	}
	return u, nil
}

// parseAttrs parses name=value pairs separated by sep. Duplicates of the
// attributes in known are errors, and so are duplicates in the path
// component, where RFC 7512 §2.3 allows each attribute once.
func parseAttrs(s string, sep byte, valid func(byte) bool, known []string) ([]attr, error) {
	if s == "" {
		return nil, nil
	}
	component := "path"
	if sep == '&' {
		component = "query"
	}
	var attrs []attr
	for part := range strings.SplitSeq(s, string(sep)) {
		name, raw, ok := strings.Cut(part, "=")
		if !ok || name == "" {
			if component == "query" { // may be a piece of a PIN: do not quote it
				return nil, fmt.Errorf("%w: query attribute %d is not name=value", ErrBadURI, len(attrs)+1)
			}
			return nil, fmt.Errorf("%w: path attribute %q is not name=value", ErrBadURI, truncate(part))
		}
		if !validName(name) {
			return nil, fmt.Errorf("%w: %s attribute name %q has characters outside A-Z a-z 0-9 - _", ErrBadURI, component, truncate(name))
		}
		for i := 0; i < len(raw); i++ {
			if !valid(raw[i]) && raw[i] != '%' {
				if name == attrPINValue {
					return nil, fmt.Errorf("%w: pin-value has a character that must be percent-encoded", ErrBadURI)
				}
				return nil, fmt.Errorf("%w: %s attribute %q: character %q must be percent-encoded", ErrBadURI, component, name, raw[i])
			}
		}
		// PathUnescape, not QueryUnescape: RFC 7512 gives "+" no meaning.
		value, err := url.PathUnescape(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: %s attribute %q: bad percent-encoding", ErrBadURI, component, name)
		}
		dup := slices.ContainsFunc(attrs, func(a attr) bool { return a.name == name })
		if dup && (component == "path" || slices.Contains(known, name)) {
			return nil, fmt.Errorf("%w: %s attribute %q appears twice", ErrBadURI, component, name)
		}
		attrs = append(attrs, attr{name, value})
	}
	return attrs, nil
}

// check validates the values whose syntax RFC 7512 §2.3 fixes.
func (u *URI) check() error {
	if v, ok := u.Path(attrType); ok && !slices.Contains(objectTypes, v) {
		return fmt.Errorf("%w: type=%q: want one of %s", ErrBadURI, v, strings.Join(objectTypes, ", "))
	}
	if v, ok := u.Path(attrSlotID); ok {
		if _, err := parseSlotID(v); err != nil {
			return err
		}
	}
	if v, ok := u.Path(attrLibraryVersion); ok {
		if _, _, err := parseVersion(v); err != nil {
			return err
		}
	}
	_, hasValue := u.Query(attrPINValue)
	_, hasSource := u.Query(attrPINSource)
	if hasValue && hasSource {
		return fmt.Errorf("%w: pin-value and pin-source must not both be present", ErrBadURI)
	}
	return nil
}

func parseSlotID(v string) (uint, error) {
	if v == "" || strings.TrimLeft(v, "0123456789") != "" {
		return 0, fmt.Errorf("%w: slot-id=%q is not a decimal number", ErrBadURI, truncate(v))
	}
	n, err := strconv.ParseUint(v, 10, 0)
	if err != nil {
		return 0, fmt.Errorf("%w: slot-id=%q: %v", ErrBadURI, truncate(v), err)
	}
	return uint(n), nil
}

// parseVersion reads library-version = 1*DIGIT [ "." 1*DIGIT ].
func parseVersion(v string) (major, minor byte, err error) {
	ma, mi, dot := strings.Cut(v, ".")
	bad := func() error { return fmt.Errorf("%w: library-version=%q is not M or M.m", ErrBadURI, truncate(v)) }
	parse := func(s string) (byte, error) {
		if s == "" || strings.TrimLeft(s, "0123456789") != "" {
			return 0, bad()
		}
		n, err := strconv.ParseUint(s, 10, 8)
		if err != nil {
			return 0, bad()
		}
		return byte(n), nil
	}
	if major, err = parse(ma); err != nil {
		return 0, 0, err
	}
	if dot {
		if minor, err = parse(mi); err != nil {
			return 0, 0, err
		}
	}
	return major, minor, nil
}

// Path returns the percent-decoded value of a path attribute and whether
// the URI has it. An attribute may be present with an empty value.
func (u *URI) Path(name string) (string, bool) { return get(u.path, name) }

// Query returns the percent-decoded value of a query attribute and
// whether the URI has it.
func (u *URI) Query(name string) (string, bool) { return get(u.query, name) }

func get(attrs []attr, name string) (string, bool) {
	for _, a := range attrs {
		if a.name == name {
			return a.value, true
		}
	}
	return "", false
}

// String renders the URI with every attribute but pin-value, in the order
// parsed, percent-encoding what RFC 7512 requires.
func (u URI) String() string {
	var b strings.Builder
	b.WriteString("pkcs11:")
	writeAttrs(&b, u.path, ';', isPathChar)
	first := true
	for _, a := range u.query {
		if a.name == attrPINValue {
			continue
		}
		if first {
			b.WriteByte('?')
			first = false
		} else {
			b.WriteByte('&')
		}
		writeAttr(&b, a, isQueryChar)
	}
	return b.String()
}

// GoString is String, so that %#v hides the PIN too.
func (u URI) GoString() string { return u.String() }

// Format prints String for every verb (quoted for %q), so that no verb
// reveals the PIN.
func (u URI) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		io.WriteString(f, strconv.Quote(u.String()))
		return
	}
	io.WriteString(f, u.String())
}

func writeAttrs(b *strings.Builder, attrs []attr, sep byte, valid func(byte) bool) {
	for i, a := range attrs {
		if i > 0 {
			b.WriteByte(sep)
		}
		writeAttr(b, a, valid)
	}
}

func writeAttr(b *strings.Builder, a attr, valid func(byte) bool) {
	b.WriteString(a.name)
	b.WriteByte('=')
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(a.value); i++ {
		c := a.value[i]
		// "=" may stand unencoded in a value; encoding it too spares
		// readers that split at every "=".
		if valid(c) && c != '=' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
}

// tokenKey identifies the token a URI selects within its module: the
// library, slot and token attributes in a fixed order.
func (u *URI) tokenKey() string {
	var b strings.Builder
	for _, name := range []string{
		attrLibraryManufacturer, attrLibraryDescription, attrLibraryVersion,
		attrSlotManufacturer, attrSlotDescription, attrSlotID,
		attrToken, attrManufacturer, attrSerial, attrModel,
	} {
		if v, ok := u.Path(name); ok {
			fmt.Fprintf(&b, "%s=%q;", name, v)
		}
	}
	return b.String()
}

// tokenName names the token for messages and metric labels: its label if
// the URI gives one, else its serial or slot.
func (u *URI) tokenName() string {
	if v, ok := u.Path(attrToken); ok {
		return v
	}
	if v, ok := u.Path(attrSerial); ok {
		return "serial " + v
	}
	if v, ok := u.Path(attrSlotID); ok {
		return "slot " + v
	}
	return u.String()
}

// pin returns the PIN the URI carries in pin-value or names with
// pin-source (a file: URI or an absolute path), or fallback if it has
// neither. ok is false if no PIN is known at all.
func (u *URI) pin(fallback []byte) (pin string, ok bool, err error) {
	if v, has := u.Query(attrPINValue); has {
		return v, true, nil
	}
	if src, has := u.Query(attrPINSource); has {
		p, err := readPINSource(src)
		return p, err == nil, err
	}
	if len(fallback) > 0 {
		return string(fallback), true, nil
	}
	return "", false, nil
}

// pinSource returns the pin-source file the URI's PIN is read from, and
// the file as it is before the read; none for a PIN from pin-value or
// elsewhere, which cannot be read again.
func (u *URI) pinSource() pinSource {
	if _, has := u.Query(attrPINValue); has {
		return pinSource{}
	}
	src, has := u.Query(attrPINSource)
	if !has {
		return pinSource{}
	}
	path, err := pinSourcePath(src)
	if err != nil {
		return pinSource{}
	}
	info, _ := os.Stat(path)
	return pinSource{file: path, info: info}
}

func readPINSource(src string) (string, error) {
	path, err := pinSourcePath(src)
	if err != nil {
		return "", err
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("%w: pin-source: %w", ErrLogin, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPINFile+1))
	if err != nil {
		return "", fmt.Errorf("%w: pin-source %s: %w", ErrLogin, path, err)
	}
	if len(b) > maxPINFile {
		return "", fmt.Errorf("%w: pin-source %s is over %d bytes: not a PIN file", ErrLogin, path, maxPINFile)
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	if len(b) == 0 {
		return "", fmt.Errorf("%w: pin-source %s is empty", ErrLogin, path)
	}
	return string(b), nil
}

// pinSourcePath returns the file a pin-source names: a file: URI on this
// host, or an absolute path.
func pinSourcePath(src string) (string, error) {
	path := src
	if rest, ok := strings.CutPrefix(src, "file:"); ok {
		fu, err := url.Parse(src)
		if err != nil {
			return "", fmt.Errorf("%w: pin-source %q: %v", ErrBadURI, src, err)
		}
		path = fu.Path
		if fu.Opaque != "" {
			path = rest
		}
		if fu.Host != "" && fu.Host != "localhost" {
			return "", fmt.Errorf("%w: pin-source %q names host %q: only local files are supported", ErrBadURI, src, fu.Host)
		}
	}
	if !filepath.IsAbs(path) {
		return "", fmt.Errorf("%w: pin-source %q: want a file: URI or an absolute path", ErrBadURI, src)
	}
	return path, nil
}

// validName reports whether s is made of pk11-v-attr-nm-char
// (ALPHA / DIGIT / "-" / "_", RFC 7512 §2.3).
func validName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// isUnreserved is RFC 3986 unreserved.
func isUnreserved(c byte) bool {
	return isAlnum(c) || strings.IndexByte("-._~", c) >= 0
}

// isResAvail is pk11-res-avail (RFC 7512 §2.3).
func isResAvail(c byte) bool { return strings.IndexByte(":[]@!$'()*+,=", c) >= 0 }

// isPathChar is pk11-pchar without pct-encoded: unreserved,
// pk11-res-avail and "&".
func isPathChar(c byte) bool { return isUnreserved(c) || isResAvail(c) || c == '&' }

// isQueryChar is pk11-qchar without pct-encoded: unreserved,
// pk11-res-avail, "/", "?" and "|".
func isQueryChar(c byte) bool {
	return isUnreserved(c) || isResAvail(c) || c == '/' || c == '?' || c == '|'
}

// redactRaw cuts an unparsed URI at its query, where a PIN may be, so
// that an error message quoting it cannot carry one.
func redactRaw(s string) string {
	if i := strings.IndexByte(s, '?'); i >= 0 {
		return s[:i] + "?…"
	}
	return s
}

// truncate shortens s for an error message.
func truncate(s string) string {
	const limit = 200
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "…"
}

// errNoModule is returned by modulePath when a URI names no module and the
// configuration gives no default.
var errNoModule = errors.New("names no module: add module-path=/path/to/module.so or module-name=, or set Config.Module")

// modulePath returns the absolute, symlink-free path of the module the
// URI names: module-path, else module-name looked up in dirs, else def.
func (u *URI) modulePath(def string, dirs []string) (string, error) {
	p, hasPath := u.Query(attrModulePath)
	name, hasName := u.Query(attrModuleName)
	switch {
	case hasPath:
		if !filepath.IsAbs(p) {
			return "", fmt.Errorf("%w: module-path=%q is not an absolute path", ErrBadURI, p)
		}
	case hasName:
		if name == "" || strings.ContainsAny(name, `/\`) {
			return "", fmt.Errorf("%w: module-name=%q is not a file name", ErrBadURI, name)
		}
		found := ""
		for _, d := range dirs {
			for _, f := range []string{name, name + ".so", "lib" + name + ".so"} {
				if fi, err := os.Stat(filepath.Join(d, f)); err == nil && fi.Mode().IsRegular() {
					found = filepath.Join(d, f)
					break
				}
			}
			if found != "" {
				break
			}
		}
		if found == "" {
			return "", fmt.Errorf("%w: module-name=%q: no such module in %s", ErrBadURI, name, strings.Join(dirs, ", "))
		}
		p = found
	case def != "":
		p = def
	default:
		return "", fmt.Errorf("%w: %s %s", ErrBadURI, u, errNoModule)
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", fmt.Errorf("%w: module %s: %w", ErrBadURI, p, err)
	}
	return real, nil
}
