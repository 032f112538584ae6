package ofdseal

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/emmansun/gmsm/sm3"

	"github.com/sealpipe/sealpipe/pipeline/ofd"
	"github.com/sealpipe/sealpipe/pipeline/ses"
)

// oidSM3 is the References CheckMethod written (GB/T 33190 §18.2.2, Table
// 69; STANDARDS.md).
const oidSM3 = "1.2.156.10197.1.401"

// newPart is a file sealing writes: a new one, or a replacement for an
// input entry.
type newPart struct {
	name string
	data []byte
}

// build hashes the files to protect, writes Signature.xml, signs it and
// assembles the output package.
func (s *sealer) build(ctx context.Context, in []byte, p *ofd.Package) ([]byte, error) {
	sealPart := s.signDir + "/" + sealFile
	sigPart := s.signDir + "/" + signatureFile
	valuePart := s.signDir + "/" + signedValueFile

	entry := signaturesEntry{id: s.sigID, baseLoc: "/" + sigPart}
	var list []byte
	var err error
	if s.oldList != nil {
		list, err = editSignatureList(s.listName, s.oldList, entry, s.maxSignID)
		if err != nil {
			return nil, err
		}
	} else {
		list = newSignatureList(entry, s.maxSignID)
	}
	replaced := map[string][]byte{s.listName: list}
	if s.newOFD != nil {
		replaced[s.ofdName] = s.newOFD
	}
	// Parts that are new to the package, in the order they are written.
	var added []newPart
	if s.oldList == nil {
		added = append(added, newPart{s.listName, list})
	}
	added = append(added, newPart{sealPart, s.opts.SealData})

	// References (GB/T 33190 §18.2.2, Table 69): every file, as it will be
	// in the output, in archive order.
	var refs []reference
	protect := func(name string, data []byte) error {
		if name == s.listName && !s.opts.ProtectAll {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		sum, err := s.digest(p, name, data)
		if err != nil {
			return err
		}
		refs = append(refs, reference{fileRef: "/" + name, checkValue: sum})
		return nil
	}
	for _, e := range p.Entries() {
		if err := protect(e.Name, replaced[e.Name]); err != nil {
			return nil, err
		}
	}
	for _, np := range added {
		if err := protect(np.name, np.data); err != nil {
			return nil, err
		}
	}

	sigXML := s.signatureXML(refs, "/"+sealPart, "/"+valuePart)
	value, err := ses.Sign(rand.Reader, ses.SignRequest{
		Seal:         s.opts.SealData,
		DataHash:     s.dataHash(sigXML),
		PropertyInfo: propertyInfo("/" + sigPart),
		Time:         s.at,
	}, s.opts.Signer, s.opts.Cert.Raw)
	switch {
	case errors.Is(err, ses.ErrNotSealSigner), errors.Is(err, ses.ErrInvalidRequest):
		return nil, fmt.Errorf("%w: %w", ErrSeal, err)
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrSigner, err)
	}
	added = append(added, newPart{sigPart, sigXML}, newPart{valuePart, value})
	return s.writePackage(in, p, replaced, added)
}

// digest returns the SM3 of a part: data if the part is written anew,
// else the input entry's bytes.
func (s *sealer) digest(p *ofd.Package, name string, data []byte) ([]byte, error) {
	if data != nil {
		sum := sm3.Sum(data)
		return sum[:], nil
	}
	rc, err := p.OpenPart(name)
	if err != nil {
		return nil, readerErr(err)
	}
	defer rc.Close()
	h := sm3.New()
	if _, err := io.CopyBuffer(h, rc, s.buffer()); err != nil {
		return nil, fmt.Errorf("%w: %q: %w", ErrMalformed, name, err)
	}
	return h.Sum(nil), nil
}

// buffer returns the copy buffer of this Seal call: hashing and copying
// the parts one after the other, they need one between them.
func (s *sealer) buffer() []byte {
	if s.copyBuf == nil {
		s.copyBuf = make([]byte, 32<<10)
	}
	return s.copyBuf
}

// propertyInfo is TBS_Sign.propertyInfo, an IA5String: the Signature.xml
// path, absolute as ofdrw writes it ("/Doc_0/Signs/Sign_0/Signature.xml").
// A path with non-ASCII characters (a CJK document folder) has them, and
// "%", percent-encoded as UTF-8 (RFC 3986 §2.1).
func propertyInfo(p string) string {
	ascii := true
	for i := range len(p) {
		if p[i] < 0x20 || p[i] >= 0x7f {
			ascii = false
			break
		}
	}
	if ascii {
		return p
	}
	var b strings.Builder
	for i := range len(p) {
		if c := p[i]; c < 0x20 || c >= 0x7f || c == '%' {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// providerVersion is this build's module version for SignedInfo/Provider.
func providerVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// writePackage writes the output ZIP: every input entry, folders included,
// in order, copied raw (its compressed bytes under its own FileHeader)
// except those replaced, which are deflated anew under their own names;
// then the added parts, deflated. It returns the whole package.
func (s *sealer) writePackage(in []byte, p *ofd.Package, replaced map[string][]byte, added []newPart) ([]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(in), int64(len(in)))
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) { // package ofd has checked the names
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	byRaw := make(map[string][]byte, len(replaced))
	for name, data := range replaced {
		if f, ok := p.Entry(name); ok {
			byRaw[f.Name] = data
		}
	}
	out := bytes.NewBuffer(make([]byte, 0, len(in)+len(s.opts.SealData)*2+64<<10))
	zw := zip.NewWriter(out)
	zw.RegisterCompressor(zip.Deflate, fastDeflate)
	fail := func(name string, err error) ([]byte, error) {
		return nil, fmt.Errorf("ofdseal: writing %q: %w", name, err)
	}
	for _, f := range zr.File {
		if data, ok := byRaw[f.Name]; ok {
			if err := s.deflate(zw, f.Name, data); err != nil {
				return fail(f.Name, err)
			}
			continue
		}
		fh := f.FileHeader
		w, err := zw.CreateRaw(&fh)
		if err != nil {
			return fail(f.Name, err)
		}
		r, err := f.OpenRaw()
		if err != nil {
			return fail(f.Name, err)
		}
		if _, err := io.CopyBuffer(w, r, s.buffer()); err != nil {
			return fail(f.Name, err)
		}
	}
	for _, np := range added {
		if err := s.deflate(zw, np.name, np.data); err != nil {
			return fail(np.name, err)
		}
	}
	if err := zw.SetComment(zr.Comment); err != nil {
		return fail("comment", err)
	}
	if err := zw.Close(); err != nil {
		return fail("central directory", err)
	}
	return out.Bytes(), nil
}

// deflaters reuses flate writers at BestSpeed: the new parts are small XML
// and the seal, whose picture is compressed already, so a higher level
// buys nothing.
var deflaters = sync.Pool{New: func() any {
	fw, _ := flate.NewWriter(nil, flate.BestSpeed) // a valid level cannot fail
	return fw
}}

// fastDeflate is a zip.Compressor handing out pooled BestSpeed writers.
func fastDeflate(w io.Writer) (io.WriteCloser, error) {
	fw := deflaters.Get().(*flate.Writer)
	fw.Reset(w)
	return &pooledDeflater{fw}, nil
}

// pooledDeflater returns its writer to the pool when closed.
type pooledDeflater struct{ *flate.Writer }

func (d *pooledDeflater) Close() error {
	if d.Writer == nil {
		return nil
	}
	err := d.Writer.Close()
	deflaters.Put(d.Writer)
	d.Writer = nil
	return err
}

// deflate adds a part, deflated, dated with the signing time.
func (s *sealer) deflate(zw *zip.Writer, name string, data []byte) error {
	w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: s.at})
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}

// reference is one References/Reference to write.
type reference struct {
	fileRef    string
	checkValue []byte
}

// ofdNamespace is the OFD namespace (GB/T 33190 §7.1), written with the
// prefix "ofd" as ofdrw and most producers do.
const ofdNamespace = "http://www.ofdspec.org/2016"

// signatureXML writes the new Signature.xml (GB/T 33190 §18.2.2, Tables
// 67–70): SignedInfo with Provider, SignatureMethod, SignatureDateTime,
// References, StampAnnot and Seal, in the schema's order, then
// SignedValue. Locations are absolute.
func (s *sealer) signatureXML(refs []reference, sealLoc, valueLoc string) []byte {
	o := s.opts
	name, version, company := o.Provider, o.ProviderVersion, o.Company
	if name == "" {
		name = "sealpipe"
	}
	if version == "" {
		version = providerVersion()
	}
	if company == "" {
		company = "sealpipe"
	}
	var b strings.Builder
	b.Grow(1024 + 128*len(refs) + 96*len(s.stamps))
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<ofd:Signature xmlns:ofd="` + ofdNamespace + `"><ofd:SignedInfo>`)
	fmt.Fprintf(&b, `<ofd:Provider ProviderName="%s" Version="%s" Company="%s"/>`, escape(name), escape(version), escape(company))
	fmt.Fprintf(&b, `<ofd:SignatureMethod>%s</ofd:SignatureMethod>`, s.method)
	fmt.Fprintf(&b, `<ofd:SignatureDateTime>%s</ofd:SignatureDateTime>`, s.at.UTC().Format("20060102150405Z"))
	b.WriteString(`<ofd:References CheckMethod="` + oidSM3 + `">`)
	for _, r := range refs {
		fmt.Fprintf(&b, `<ofd:Reference FileRef="%s"><ofd:CheckValue>%s</ofd:CheckValue></ofd:Reference>`,
			escape(r.fileRef), base64.StdEncoding.EncodeToString(r.checkValue))
	}
	b.WriteString(`</ofd:References>`)
	for _, st := range s.stamps {
		fmt.Fprintf(&b, `<ofd:StampAnnot ID="%s" PageRef="%s" Boundary="%s"`, escape(st.id), escape(st.pageRef), boxText(st.boundary))
		if st.clip != nil {
			fmt.Fprintf(&b, ` Clip="%s"`, boxText(*st.clip))
		}
		b.WriteString(`/>`)
	}
	fmt.Fprintf(&b, `<ofd:Seal><ofd:BaseLoc>%s</ofd:BaseLoc></ofd:Seal>`, escape(sealLoc))
	fmt.Fprintf(&b, `</ofd:SignedInfo><ofd:SignedValue>%s</ofd:SignedValue></ofd:Signature>`, escape(valueLoc))
	return []byte(b.String())
}
