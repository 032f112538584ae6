package main

// Incremental updates the generator writes itself: one with a
// cross-reference stream over a qpdf file, and pdfseal's seals.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509/pkix"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/big"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
	"github.com/sealpipe/sealpipe/pipeline/pdfseal"
)

var lastStartxref = regexp.MustCompile(`startxref\s+(\d+)\s+%%EOF\s*$`)

// appendUpdate appends to b, whose last cross-reference section is a
// stream, an incremental update (ISO 32000-1 §7.5.6) with a
// cross-reference stream chained with /Prev: a text annotation on page 1
// and a new information dictionary.
func appendUpdate(b []byte) ([]byte, error) {
	m := lastStartxref.FindSubmatch(b)
	if m == nil {
		return nil, fmt.Errorf("no startxref at the end")
	}
	prev, _ := strconv.Atoi(string(m[1]))
	conf := &model.Configuration{Reader15: true, ValidationMode: model.ValidationRelaxed, Limits: model.DefaultResourceLimits()}
	pc, err := pdfcpu.ReadWithContext(context.Background(), bytes.NewReader(b), conf)
	if err != nil {
		return nil, err
	}
	if err := pc.EnsurePageCount(); err != nil {
		return nil, err
	}
	x := pc.XRefTable
	page, ref, _, err := x.PageDict(1, false)
	if err != nil || ref == nil {
		return nil, fmt.Errorf("page 1: %v", err)
	}
	page = page.Clone().(types.Dict)
	size := *x.Size
	annot, infoNr, xrefNr := size, size+1, size+2
	var annots types.Array
	if a, err := x.DereferenceArray(page["Annots"]); err == nil {
		annots = a
	}
	page["Annots"] = append(annots, *types.NewIndirectRef(annot, 0))

	w := &pdfWriter{offsets: map[int]int{}}
	w.b.Write(b)
	if !bytes.HasSuffix(b, []byte("\n")) {
		w.b.WriteByte('\n')
	}
	w.obj(annot, fmt.Sprintf("<</Type/Annot/Subtype/Text/Rect[56 760 76 780]/Contents(A note added by an incremental update.)/P %d 0 R/F 4>>", ref.ObjectNumber))
	w.obj(ref.ObjectNumber.Value(), page.PDFString())
	w.obj(infoNr, info("Updated incrementally"))
	var entries []xrefEntry
	for nr, off := range w.offsets {
		entries = append(entries, xrefEntry{nr: nr, typ: 1, a: off})
	}
	dict := fmt.Sprintf("/Root %s/Info %d 0 R/Prev %d", x.Root.PDFString(), infoNr, prev)
	if len(x.ID) == 2 {
		dict += "/ID" + x.ID.PDFString()
	}
	w.xrefStream(xrefNr, entries, dict, true)
	return w.b.Bytes(), nil
}

var (
	sealOnce sync.Once
	sealKey  *sm2.PrivateKey
	sealCert *smx509.Certificate
	sealErr  error
)

// sealpipeSeal seals b on page with pdfseal and a self-signed SM2 key made
// once per run.
func sealpipeSeal(b []byte, page int) ([]byte, error) {
	if b == nil {
		return nil, fmt.Errorf("nothing to seal")
	}
	sealOnce.Do(func() {
		if sealKey, sealErr = sm2.GenerateKey(rand.Reader); sealErr != nil {
			return
		}
		tmpl := &smx509.Certificate{
			SerialNumber: big.NewInt(20250101),
			Subject:      pkix.Name{CommonName: "pdfcorpus test seal", Organization: []string{"sealpipe pdfcorpus"}},
			NotBefore:    time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
			NotAfter:     time.Date(2045, 1, 1, 0, 0, 0, 0, time.UTC),
			KeyUsage:     smx509.KeyUsageDigitalSignature | smx509.KeyUsageContentCommitment,
		}
		var der []byte
		if der, sealErr = smx509.CreateCertificate(rand.Reader, tmpl, tmpl, sealKey.Public(), sealKey); sealErr != nil {
			return
		}
		sealCert, sealErr = smx509.ParseCertificate(der)
	})
	if sealErr != nil {
		return nil, sealErr
	}
	var out bytes.Buffer
	err := pdfseal.Seal(context.Background(), &out, b, pdfseal.Options{
		Signer:    sealKey,
		Chain:     []*smx509.Certificate{sealCert},
		Image:     ringPNG(),
		Placement: pdfseal.Placement{Page: page, X: 20, Y: 20 + 45*float64(page-1), Width: 40, Height: 40},
		Time:      time.Date(2025, 3, 14, 9, 26, 53, 0, time.FixedZone("CST", 8*3600)),
		Name:      "pdfcorpus 测试章",
		Reason:    "an earlier seal",
	})
	return out.Bytes(), err
}

// ringPNG draws a red ring on a transparent ground, 96×96.
func ringPNG() []byte {
	const n = 96
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	for y := range n {
		for x := range n {
			dx, dy := float64(x)-n/2+0.5, float64(y)-n/2+0.5
			if r2 := dx*dx + dy*dy; r2 < 46*46 && r2 > 38*38 {
				img.SetNRGBA(x, y, color.NRGBA{R: 220, G: 20, B: 20, A: 255})
			}
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}
