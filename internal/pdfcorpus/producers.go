package main

// The files made by other producers, and the list of every file.

import (
	"fmt"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

const (
	cjkLine   = "电子营业执照（副本）统一社会信用代码 91330102MA2H000000"
	cjkLine2  = "发证机关：杭州市市场监督管理局（盖章） 二〇二五年三月十四日"
	latinLine = "Certificate of registration, issued under the seal of the issuing unit."
)

// specs lists the set in the order it is made: files derived from others
// come after them.
func specs() []spec {
	lo := "LibreOffice {libreoffice} Writer (soffice --headless --convert-to pdf)"
	return []spec{
		// LibreOffice.
		{Entry{File: "libreoffice-writer.pdf", Producer: lo,
			Features: []string{"classic-xref", "several-pages", "embedded-truetype-subset"}},
			func(g *gen) ([]byte, error) {
				return g.soffice("writer", fodt("DejaVu Serif", false, latinLine, "Second paragraph of the first page.", "\f", "Page two.", "\f", "Page three."), "")
			}},
		{Entry{File: "libreoffice-writer-cjk.pdf", Producer: lo + ", WenQuanYi Zen Hei",
			Features: []string{"classic-xref", "cjk-simple-truetype-subset"},
			Note:     "LibreOffice embeds the CJK glyphs as simple TrueType subsets with a custom 8-bit encoding, not Identity-H"},
			func(g *gen) ([]byte, error) {
				return g.soffice("cjk", fodt("WenQuanYi Zen Hei", false, cjkLine, cjkLine2, latinLine), "")
			}},
		{Entry{File: "libreoffice-pdfa1b.pdf", Producer: lo + ", PDF/A-1b export",
			Features: []string{"classic-xref", "pdfa-1b", "xmp-metadata", "output-intent", "cjk-simple-truetype-subset"}},
			func(g *gen) ([]byte, error) {
				return g.soffice("pdfa1", fodt("WenQuanYi Zen Hei", false, "PDF/A-1b "+latinLine, cjkLine), `{"SelectPdfVersion":{"type":"long","value":"1"}}`)
			}},
		{Entry{File: "libreoffice-pdfa2b.pdf", Producer: lo + ", PDF/A-2b export",
			Features: []string{"classic-xref", "pdfa-2b", "xmp-metadata", "output-intent", "several-pages", "landscape-page"}, Page: 2},
			func(g *gen) ([]byte, error) {
				return g.soffice("pdfa2", fodt("DejaVu Sans", true, "PDF/A-2b "+latinLine, "\f", "This page is landscape (a wide MediaBox, no /Rotate)."), `{"SelectPdfVersion":{"type":"long","value":"2"}}`)
			}},

		// Ghostscript.
		{Entry{File: "ghostscript-ps2pdf.pdf", Producer: "Ghostscript {ghostscript} (ps2pdf -dPDFSETTINGS=/prepress -dAutoRotatePages=/PageByPage)",
			Features: []string{"classic-xref", "several-pages", "rotate-90", "mixed-page-sizes", "type1c-font-subset"}, Page: 2,
			Note: "page 2 holds text set at 90°, for which pdfwrite writes /Rotate 90; page 3 is A5"},
			func(g *gen) ([]byte, error) {
				in, err := g.write("doc.ps", []byte(postscript))
				if err != nil {
					return nil, err
				}
				out := g.tmp("out.pdf")
				return g.runOut(out, "ps2pdf", "-dPDFSETTINGS=/prepress", "-dAutoRotatePages=/PageByPage", in, out)
			}},
		{Entry{File: "ghostscript-fastwebview.pdf", Producer: "Ghostscript {ghostscript} (gs -sDEVICE=pdfwrite -dFastWebView)",
			Features: []string{"linearized", "classic-xref", "several-pages"}, Page: 2},
			func(g *gen) ([]byte, error) {
				in, err := g.write("doc.ps", []byte(postscript))
				if err != nil {
					return nil, err
				}
				out := g.tmp("out.pdf")
				return g.runOut(out, "gs", "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=pdfwrite", "-dFastWebView=true", "-dAutoRotatePages=/None", "-o", out, in)
			}},

		// ReportLab.
		{Entry{File: "reportlab.pdf", Producer: "ReportLab {reportlab} (canvas, invariant=1)",
			Features: []string{"classic-xref", "several-pages", "rotate-90", "cropbox-offset", "standard-14-font"}, Page: 2,
			Note: "page 2 has /Rotate 90, page 3 a /CropBox not at 0,0"},
			func(g *gen) ([]byte, error) {
				out := g.tmp("out.pdf")
				if _, err := g.python(reportlabScript, out); err != nil {
					return nil, err
				}
				return os.ReadFile(out)
			}},
		{Entry{File: "reportlab-cjk.pdf", Producer: "ReportLab {reportlab} (UnicodeCIDFont STSong-Light, invariant=1)",
			Features: []string{"classic-xref", "cjk-unembedded", "unigb-ucs2-h"}},
			func(g *gen) ([]byte, error) {
				out := g.tmp("out.pdf")
				if _, err := g.python(reportlabCJKScript, out, cjkLine, cjkLine2); err != nil {
					return nil, err
				}
				return os.ReadFile(out)
			}},

		// cairo.
		{Entry{File: "cairo-pycairo.pdf", Producer: "cairo {cairo} through pycairo {pycairo} (PDFSurface), Noto Sans CJK SC",
			Features: []string{"classic-xref", "identity-h-cjk", "cff-cidfont", "several-pages", "mixed-page-sizes"}, Page: 2},
			func(g *gen) ([]byte, error) {
				out := g.tmp("out.pdf")
				if _, err := g.python(pycairoScript, out, cjkLine, cjkLine2); err != nil {
					return nil, err
				}
				return os.ReadFile(out)
			}},
		{Entry{File: "cairo-pdftocairo.pdf", Producer: "poppler {poppler} pdftocairo -pdf (cairo {cairo}) of libreoffice-writer-cjk.pdf",
			Features: []string{"classic-xref", "identity-h-cjk", "truetype-cidfont"}},
			func(g *gen) ([]byte, error) {
				in, err := g.input("libreoffice-writer-cjk.pdf")
				if err != nil {
					return nil, err
				}
				out := g.tmp("out.pdf")
				return g.runOut(out, "pdftocairo", "-pdf", in, out)
			}},

		// Chromium.
		{Entry{File: "chromium-print.pdf", Producer: "Chromium {chromium} (chromium --headless --print-to-pdf), DejaVu Sans and WenQuanYi Zen Hei",
			Features: []string{"classic-xref", "identity-h-cjk", "truetype-cidfont", "several-pages", "skia"}},
			func(g *gen) ([]byte, error) {
				in, err := g.write("page.html", []byte(htmlPage))
				if err != nil {
					return nil, err
				}
				out := g.tmp("out.pdf")
				return g.runOut(out, "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
					"--user-data-dir="+filepath.Join(g.work, "chromium-profile"), "--no-pdf-header-footer",
					"--print-to-pdf="+out, "file://"+in)
			}},

		// Hand-made, valid.
		{Entry{File: "handmade-mediabox-offset.pdf", Producer: handmade,
			Features: []string{"classic-xref", "mediabox-offset", "inherited-mediabox", "inherited-resources", "several-pages"}, Page: 2},
			func(*gen) ([]byte, error) { return handmadeOffsetBoxes(), nil }},
		{Entry{File: "handmade-page-tree.pdf", Producer: handmade,
			Features: []string{"classic-xref", "several-pages", "page-tree-depth-3", "inherited-rotate-90", "inherited-resources", "cropbox-offset"}, Page: 5},
			func(*gen) ([]byte, error) { return handmadePageTree(), nil }},
		{Entry{File: "handmade-hybrid.pdf", Producer: handmade,
			Features: []string{"hybrid", "classic-xref", "xref-stream", "object-streams"}},
			func(*gen) ([]byte, error) { return handmadeHybrid(), nil }},

		// qpdf, rewriting files made above.
		{Entry{File: "qpdf-object-streams.pdf", Producer: "qpdf {qpdf} (--object-streams=generate) of libreoffice-writer.pdf",
			Features: []string{"xref-stream", "object-streams", "several-pages"}, Page: 3},
			func(g *gen) ([]byte, error) { return g.qpdf("libreoffice-writer.pdf", "--object-streams=generate") }},
		{Entry{File: "qpdf-linearized.pdf", Producer: "qpdf {qpdf} (--linearize) of reportlab.pdf",
			Features: []string{"linearized", "classic-xref", "several-pages", "rotate-90"}, Page: 2},
			func(g *gen) ([]byte, error) { return g.qpdf("reportlab.pdf", "--linearize") }},
		{Entry{File: "qpdf-linearized-object-streams.pdf", Producer: "qpdf {qpdf} (--linearize --object-streams=generate) of libreoffice-writer-cjk.pdf",
			Features: []string{"linearized", "xref-stream", "object-streams", "cjk-simple-truetype-subset"}},
			func(g *gen) ([]byte, error) {
				return g.qpdf("libreoffice-writer-cjk.pdf", "--linearize", "--object-streams=generate")
			}},
		{Entry{File: "qpdf-qdf.pdf", Producer: "qpdf {qpdf} (--qdf) of ghostscript-ps2pdf.pdf",
			Features: []string{"classic-xref", "qdf", "uncompressed-streams", "rotate-90", "several-pages"}, Page: 2},
			func(g *gen) ([]byte, error) { return g.qpdf("ghostscript-ps2pdf.pdf", "--qdf") }},
		{Entry{File: "qpdf-rotate-90.pdf", Producer: "qpdf {qpdf} (--rotate=+90:2) of chromium-print.pdf",
			Features: []string{"rotate-90", "several-pages", "identity-h-cjk"}, Page: 2},
			func(g *gen) ([]byte, error) { return g.qpdf("chromium-print.pdf", "--rotate=+90:2") }},
		{Entry{File: "qpdf-incremental.pdf", Producer: "qpdf {qpdf} (--object-streams=generate) of cairo-pycairo.pdf, then an incremental update appended by internal/pdfcorpus",
			Features: []string{"xref-stream", "object-streams", "incremental", "identity-h-cjk"},
			Note:     "the update (a cross-reference stream chained with /Prev) adds a text annotation to page 1 and a new /Info"},
			func(g *gen) ([]byte, error) {
				b, err := g.qpdf("cairo-pycairo.pdf", "--object-streams=generate")
				if err != nil {
					return nil, err
				}
				return appendUpdate(b)
			}},
		{Entry{File: "qpdf-encrypted-aes256.pdf", Producer: "qpdf {qpdf} (--encrypt user owner 256) of libreoffice-writer.pdf",
			Features: []string{"encrypted", "aes-256", "user-password"}, Expect: "refuse", Error: "ErrEncrypted"},
			func(g *gen) ([]byte, error) {
				return g.qpdf("libreoffice-writer.pdf", "--encrypt", "user", "owner", "256", "--")
			}},
		{Entry{File: "qpdf-encrypted-rc4-empty-password.pdf", Producer: "qpdf {qpdf} (--encrypt '' owner 128 --use-aes=n) of reportlab.pdf",
			Features: []string{"encrypted", "rc4-128", "empty-user-password"}, Expect: "refuse", Error: "ErrEncrypted",
			Note: "opens without a password, but the objects appended would have to be encrypted too"},
			func(g *gen) ([]byte, error) {
				return g.qpdf("reportlab.pdf", "--allow-weak-crypto", "--encrypt", "", "owner", "128", "--use-aes=n", "--")
			}},

		// pdfcpu.
		{Entry{File: "pdfcpu-create.pdf", Producer: "pdfcpu {pdfcpu} (pdfcpu create)",
			Features: []string{"xref-stream", "object-streams", "several-pages"}, Page: 2},
			func(g *gen) ([]byte, error) {
				in, err := g.write("create.json", []byte(pdfcpuJSON))
				if err != nil {
					return nil, err
				}
				out := g.tmp("out.pdf")
				return g.pdfcpuRun(out, "create", in, out)
			}},
		{Entry{File: "pdfcpu-optimize.pdf", Producer: "pdfcpu {pdfcpu} (pdfcpu optimize) of ghostscript-ps2pdf.pdf",
			Features: []string{"xref-stream", "object-streams", "several-pages", "rotate-90"}, Page: 2},
			func(g *gen) ([]byte, error) {
				in, err := g.input("ghostscript-ps2pdf.pdf")
				if err != nil {
					return nil, err
				}
				out := g.tmp("out.pdf")
				return g.pdfcpuRun(out, "optimize", in, out)
			}},
		{Entry{File: "pdfcpu-merge.pdf", Producer: "pdfcpu {pdfcpu} (pdfcpu merge) of reportlab-cjk.pdf and handmade-mediabox-offset.pdf",
			Features: []string{"xref-stream", "object-streams", "several-pages", "mediabox-offset", "cjk-unembedded"}, Page: 3},
			func(g *gen) ([]byte, error) {
				a, err := g.input("reportlab-cjk.pdf")
				if err != nil {
					return nil, err
				}
				b, err := g.input("handmade-mediabox-offset.pdf")
				if err != nil {
					return nil, err
				}
				out := g.tmp("out.pdf")
				return g.pdfcpuRun(out, "merge", out, a, b)
			}},

		// pypdf.
		{Entry{File: "pypdf-rewrite.pdf", Producer: "pypdf {pypdf} (PdfWriter) of libreoffice-writer.pdf",
			Features: []string{"classic-xref", "several-pages", "mediabox-offset", "rotate-270"},
			Note:     "page 1's MediaBox moved to [100 200 …] with its content; page 2 turned with /Rotate 270"},
			func(g *gen) ([]byte, error) {
				in, err := g.input("libreoffice-writer.pdf")
				if err != nil {
					return nil, err
				}
				out := g.tmp("out.pdf")
				if _, err := g.python(pypdfRewriteScript, in, out); err != nil {
					return nil, err
				}
				return os.ReadFile(out)
			}},
		{Entry{File: "pypdf-signature-field.pdf", Producer: "pypdf {pypdf} (PdfWriter) of libreoffice-pdfa2b.pdf",
			Features: []string{"classic-xref", "acroform", "unsigned-signature-field", "pdfa-2b"},
			Note:     "an empty signature field named Seal1 (the name pdfseal gives its first seal) is already in the form"},
			func(g *gen) ([]byte, error) { return g.pypdfFields("libreoffice-pdfa2b.pdf", "Seal1") }},

		// poppler's pdfsig, signing fields pypdf prepared.
		{Entry{File: "poppler-pdfsig-rsa.pdf", Producer: "poppler {poppler} pdfsig -sign (NSS {nss}), fields prepared by pypdf {pypdf}, of libreoffice-writer-cjk.pdf",
			Features: []string{"signed", "incremental", "adbe.pkcs7.detached", "rsa-2048", "cjk-simple-truetype-subset"}, Signatures: 1},
			func(g *gen) ([]byte, error) {
				b, err := g.pypdfFields("libreoffice-writer-cjk.pdf", "Approval")
				if err != nil {
					return nil, err
				}
				return g.pdfsig(b, "Approval", "rsa", false)
			}},
		{Entry{File: "poppler-pdfsig-two.pdf", Producer: "poppler {poppler} pdfsig -sign twice (NSS {nss}), fields prepared by pypdf {pypdf}, of reportlab.pdf",
			Features:   []string{"signed", "incremental", "adbe.pkcs7.detached", "ETSI.CAdES.detached", "rsa-2048", "rotate-90"},
			Signatures: 2, Page: 2,
			Note: "an adbe.pkcs7.detached signature, then an ETSI.CAdES.detached one by another RSA key, each an incremental update (pdfsig 22.12 cannot sign with an EC key: 'unable update signature')"},
			func(g *gen) ([]byte, error) {
				b, err := g.pypdfFields("reportlab.pdf", "Author", "Reviewer")
				if err != nil {
					return nil, err
				}
				if b, err = g.pdfsig(b, "Author", "rsa", false); err != nil {
					return nil, err
				}
				return g.pdfsig(b, "Reviewer", "rsa2", true)
			}},

		// pdfseal itself.
		{Entry{File: "sealpipe-sealed.pdf", Producer: "sealpipe pipeline/pdfseal.Seal (SM2, GM/T 0010 CMS) of libreoffice-writer.pdf",
			Features: []string{"signed", "incremental", "sm2", "classic-xref", "several-pages"}, Signatures: 1, Page: 2},
			func(g *gen) ([]byte, error) { return sealpipeSeal(g.files["libreoffice-writer.pdf"], 1) }},
		{Entry{File: "sealpipe-sealed-twice.pdf", Producer: "sealpipe pipeline/pdfseal.Seal twice (SM2, GM/T 0010 CMS) of qpdf-object-streams.pdf",
			Features: []string{"signed", "incremental", "sm2", "xref-stream", "object-streams", "several-pages"}, Signatures: 2, Page: 3},
			func(g *gen) ([]byte, error) {
				b, err := sealpipeSeal(g.files["qpdf-object-streams.pdf"], 1)
				if err != nil {
					return nil, err
				}
				return sealpipeSeal(b, 2)
			}},

		// Hand-made, hostile.
		{Entry{File: "hostile-xref-offsets-off.pdf", Producer: handmade,
			Features: []string{"hostile", "classic-xref", "xref-offsets-wrong"},
			Note:     "every object offset in the table is 3 bytes short (a line inserted after the header); Acrobat opens it"},
			func(*gen) ([]byte, error) { return hostileOffsetsOff(), nil }},
		{Entry{File: "hostile-missing-endobj.pdf", Producer: handmade,
			Features: []string{"hostile", "classic-xref", "missing-endobj"},
			Note:     "the page dictionary has no endobj; Acrobat opens it"},
			func(*gen) ([]byte, error) { return hostileMissingEndobj(), nil }},
		{Entry{File: "hostile-startxref-nowhere.pdf", Producer: handmade,
			Features: []string{"hostile", "startxref-wrong"}, Expect: "refuse", Error: "ErrMalformed", Message: "startxref",
			Note: "startxref names an offset past the end of the file: there is no last section to chain an update to"},
			func(*gen) ([]byte, error) { return hostileStartxrefNowhere(), nil }},
		{Entry{File: "hostile-page-tree-loop.pdf", Producer: handmade,
			Features: []string{"hostile", "page-tree-loop"}, Expect: "refuse", Error: "ErrMalformed", Message: "page tree"},
			func(*gen) ([]byte, error) { return hostilePageTreeLoop(), nil }},
		{Entry{File: "hostile-prev-loop.pdf", Producer: handmade,
			Features: []string{"hostile", "incremental", "prev-loop"}, Expect: "refuse", Error: "ErrMalformed", Message: "prev",
			Note: "the two cross-reference sections name each other with /Prev"},
			func(*gen) ([]byte, error) { return hostilePrevLoop(), nil }},
		{Entry{File: "hostile-truncated.pdf", Producer: handmade,
			Features: []string{"hostile", "truncated"}, Expect: "refuse", Error: "ErrMalformed",
			Note: "cut at 60 %: no cross-reference table, trailer or startxref"},
			func(*gen) ([]byte, error) { return hostileTruncated(), nil }},
		{Entry{File: "hostile-huge-size.pdf", Producer: handmade,
			Features: []string{"hostile", "classic-xref", "huge-size"},
			Note:     "trailer /Size 2147483647 over 6 objects (qpdf warns, Acrobat opens it): the update must number its objects from those present, never past the 8,388,607 of ISO 32000-1 Annex C, and its /Size puts the count right"},
			func(*gen) ([]byte, error) { return hostileHugeSize(), nil }},
		{Entry{File: "hostile-objstm-overclaim.pdf", Producer: handmade,
			Features: []string{"hostile", "xref-stream", "object-streams", "objstm-n-overclaims"}, Expect: "refuse", Error: "ErrMalformed", Message: "object stream",
			Note: "the object stream holding the page tree root says /N 7 and holds 3 objects: qpdf and poppler cannot read it and find no page, pdfcpu finds one; a seal must not certify a document readers see differently"},
			func(*gen) ([]byte, error) { return hostileObjStmOverclaim(), nil }},
		{Entry{File: "hostile-deep-nesting.pdf", Producer: handmade,
			Features: []string{"hostile", "deep-nesting"}, Expect: "refuse", Error: "ErrMalformed",
			Note: "the page dictionary, which the seal's update must copy, holds arrays nested 40,000 deep"},
			func(*gen) ([]byte, error) { return hostileDeepNesting(), nil }},
		{Entry{File: "hostile-deep-nesting-elsewhere.pdf", Producer: handmade,
			Features: []string{"hostile", "deep-nesting", "unreferenced-object"},
			Note:     "arrays nested 40,000 deep in an object nothing refers to: a reader that reads only what sealing needs never parses it"},
			func(*gen) ([]byte, error) { return hostileDeepNestingElsewhere(), nil }},
		{Entry{File: "hostile-not-a-pdf.pdf", Producer: handmade,
			Features: []string{"hostile", "not-pdf"}, Expect: "refuse", Error: "ErrMalformed", Message: "%PDF",
			Note: "an HTML page named .pdf"},
			func(*gen) ([]byte, error) { return hostileNotPDF(), nil }},
		{Entry{File: "hostile-empty.pdf", Producer: handmade,
			Features: []string{"hostile", "empty"}, Expect: "refuse", Error: "ErrMalformed", Message: "empty"},
			func(*gen) ([]byte, error) { return []byte{}, nil }},
	}
}

// soffice converts a flat ODF text document with LibreOffice Writer, with
// the PDF export filter's options as JSON (LibreOffice ≥ 7.4), in a
// profile of its own.
func (g *gen) soffice(name, fodt, filterOptions string) ([]byte, error) {
	in, err := g.write(name+".fodt", []byte(fodt))
	if err != nil {
		return nil, err
	}
	outDir := filepath.Dir(g.tmp("x"))
	filter := "pdf:writer_pdf_Export"
	if filterOptions != "" {
		filter += ":" + filterOptions
	}
	if _, err := g.cmd(nil, "soffice", "-env:UserInstallation=file://"+filepath.Join(g.work, "lo-profile"),
		"--headless", "--norestore", "--convert-to", filter, "--outdir", outDir, in); err != nil {
		return nil, err
	}
	return os.ReadFile(filepath.Join(outDir, name+".pdf"))
}

// qpdf rewrites a file made earlier with qpdf and args, deterministically.
func (g *gen) qpdf(from string, args ...string) ([]byte, error) {
	in, err := g.input(from)
	if err != nil {
		return nil, err
	}
	out := g.tmp("out.pdf")
	args = append(append([]string{"--deterministic-id"}, args...), in, out)
	if strings.Contains(strings.Join(args, " "), "--encrypt") {
		args[0] = "--static-id" // --deterministic-id cannot be used with encryption
	}
	// qpdf exits 3 when it warns; the output is written all the same.
	if _, err := g.cmd(nil, "qpdf", args...); err != nil && !strings.Contains(err.Error(), "exit status 3") {
		return nil, err
	}
	return os.ReadFile(out)
}

// pdfcpuRun runs the pdfcpu CLI of the version go.mod requires, built
// once into the work folder, and returns the file out it writes.
func (g *gen) pdfcpuRun(out string, args ...string) ([]byte, error) {
	if g.pdfcpu == "" {
		bin := filepath.Join(g.work, "bin")
		// The go command keeps its caches where the caller's are, not
		// under the work folder's HOME.
		env := []string{"GOBIN=" + bin}
		for _, v := range []string{"GOCACHE", "GOMODCACHE", "GOPATH", "GOENV"} {
			if out, err := exec.Command("go", "env", v).Output(); err == nil {
				env = append(env, v+"="+strings.TrimSpace(string(out)))
			}
		}
		if _, err := g.cmd(env, "go", "install", "github.com/pdfcpu/pdfcpu/cmd/pdfcpu@"+g.ver["pdfcpu"]); err != nil {
			return nil, err
		}
		g.pdfcpu = filepath.Join(bin, "pdfcpu")
	}
	return g.runOut(out, g.pdfcpu, append([]string{"--quiet", "--offline"}, args...)...)
}

// pypdfFields returns a file made earlier rewritten by pypdf with empty
// signature fields of the given names on page 1 (invisible widgets).
func (g *gen) pypdfFields(from string, names ...string) ([]byte, error) {
	in, err := g.input(from)
	if err != nil {
		return nil, err
	}
	out := g.tmp("out.pdf")
	if _, err := g.python(pypdfFieldsScript, append([]string{in, out}, names...)...); err != nil {
		return nil, err
	}
	return os.ReadFile(out)
}

// pdfsig signs the field of b with poppler's pdfsig and one of the NSS
// database's keys, ETSI.CAdES.detached or adbe.pkcs7.detached.
func (g *gen) pdfsig(b []byte, field, key string, etsi bool) ([]byte, error) {
	db, err := g.nssDB()
	if err != nil {
		return nil, err
	}
	in, err := g.write(filepath.Base(g.tmp("in.pdf")), b)
	if err != nil {
		return nil, err
	}
	out := g.tmp("signed.pdf")
	args := []string{"-nssdir", "sql:" + db, "-sign", field, "-nick", key + "-signer", "-reason", "pdfcorpus: an earlier signature"}
	if etsi {
		args = append(args, "-etsi")
	}
	if _, err := g.cmd(nil, "pdfsig", append(args, in, out)...); err != nil {
		return nil, err
	}
	msg, _ := g.cmd(nil, "pdfsig", "-nssdir", "sql:"+db, "-nocert", out)
	if strings.Count(msg, "Signature is Valid.") != strings.Count(msg, "Signature #")-strings.Count(msg, "is not signed") {
		return nil, fmt.Errorf("pdfsig does not find every signature valid:\n%s", msg)
	}
	return os.ReadFile(out)
}

// nssDB makes, once, an NSS database holding two self-signed signer
// identities made with OpenSSL, RSA-2048 keys: rsa-signer and
// rsa2-signer.
func (g *gen) nssDB() (string, error) {
	db := filepath.Join(g.work, "nss")
	if _, err := os.Stat(filepath.Join(db, "cert9.db")); err == nil {
		return db, nil
	}
	if err := os.MkdirAll(db, 0o700); err != nil {
		return "", err
	}
	if _, err := g.cmd(nil, "certutil", "-N", "-d", "sql:"+db, "--empty-password"); err != nil {
		return "", err
	}
	for _, k := range []struct{ name, newkey string }{{"rsa", "rsa:2048"}, {"rsa2", "rsa:2048"}} {
		key, cert, p12 := filepath.Join(g.work, k.name+".key"), filepath.Join(g.work, k.name+".crt"), filepath.Join(g.work, k.name+".p12")
		args := []string{"req", "-x509", "-newkey", k.newkey, "-nodes", "-keyout", key, "-out", cert, "-days", "7300", "-sha256",
			"-subj", "/O=sealpipe pdfcorpus/CN=pdfsig test signer (" + k.name + ")",
			"-addext", "keyUsage=critical,digitalSignature,nonRepudiation"}
		if _, err := g.cmd(nil, "openssl", args...); err != nil {
			return "", err
		}
		if _, err := g.cmd(nil, "openssl", "pkcs12", "-export", "-inkey", key, "-in", cert, "-name", k.name+"-signer", "-out", p12, "-passout", "pass:pdfcorpus"); err != nil {
			return "", err
		}
		if _, err := g.cmd(nil, "pk12util", "-i", p12, "-d", "sql:"+db, "-W", "pdfcorpus"); err != nil {
			return "", err
		}
	}
	return db, nil
}

// fodt writes a flat ODF text document: paragraphs in one font, "\f"
// starting a new page; with landscape, pages after the first are A4
// landscape.
func fodt(font string, landscape bool, paras ...string) string {
	var body strings.Builder
	style := "P1"
	for _, p := range paras {
		if p == "\f" {
			style = "Break"
			if landscape {
				style = "Landscape"
			}
			continue
		}
		fmt.Fprintf(&body, "<text:p text:style-name=%q>%s</text:p>\n", style, html.EscapeString(p))
		style = "P1"
	}
	return strings.NewReplacer("{FONT}", font, "{BODY}", body.String()).Replace(fodtTemplate)
}

const fodtTemplate = `<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"
 xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"
 xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0"
 xmlns:dc="http://purl.org/dc/elements/1.1/"
 office:version="1.3" office:mimetype="application/vnd.oasis.opendocument.text">
 <office:meta><dc:title>sealpipe conformance document</dc:title><meta:creation-date>2025-01-01T00:00:00</meta:creation-date></office:meta>
 <office:font-face-decls>
  <style:font-face style:name="{FONT}" svg:font-family="'{FONT}'"/>
 </office:font-face-decls>
 <office:styles>
  <style:default-style style:family="paragraph">
   <style:paragraph-properties fo:margin-bottom="4mm"/>
   <style:text-properties style:font-name="{FONT}" style:font-name-asian="{FONT}" style:font-name-complex="{FONT}" fo:font-size="12pt" style:font-size-asian="12pt" fo:language="en" fo:country="GB" style:language-asian="zh" style:country-asian="CN"/>
  </style:default-style>
 </office:styles>
 <office:automatic-styles>
  <style:page-layout style:name="pmA4"><style:page-layout-properties fo:page-width="210mm" fo:page-height="297mm" style:print-orientation="portrait" fo:margin="20mm"/></style:page-layout>
  <style:page-layout style:name="pmA4L"><style:page-layout-properties fo:page-width="297mm" fo:page-height="210mm" style:print-orientation="landscape" fo:margin="20mm"/></style:page-layout>
  <style:style style:name="P1" style:family="paragraph" style:master-page-name=""/>
  <style:style style:name="Break" style:family="paragraph"><style:paragraph-properties fo:break-before="page"/></style:style>
  <style:style style:name="Landscape" style:family="paragraph" style:master-page-name="Wide"/>
 </office:automatic-styles>
 <office:master-styles>
  <style:master-page style:name="Standard" style:page-layout-name="pmA4"/>
  <style:master-page style:name="Wide" style:page-layout-name="pmA4L"/>
 </office:master-styles>
 <office:body><office:text>
{BODY}
 </office:text></office:body>
</office:document>
`

// postscript is three pages for Ghostscript: text, text set at 90° (which
// -dAutoRotatePages=/PageByPage turns into /Rotate 90), and an A5 page.
const postscript = `%!PS-Adobe-3.0
%%Title: sealpipe conformance document
%%Pages: 3
%%EndComments
%%Page: 1 1
<< /PageSize [595 842] >> setpagedevice
/Helvetica findfont 14 scalefont setfont
72 760 moveto (Ghostscript pdfwrite: page 1 of 3.) show
72 740 moveto (Certificate of registration, issued under the seal of the issuing unit.) show
0.8 0.1 0.1 setrgbcolor 72 600 moveto 300 0 rlineto 0 100 rlineto -300 0 rlineto closepath stroke
showpage
%%Page: 2 2
<< /PageSize [595 842] >> setpagedevice
/Helvetica findfont 14 scalefont setfont
gsave 120 72 translate 90 rotate
0 0 moveto (Page 2 of 3: landscape text on a portrait page.) show
0 -20 moveto (pdfwrite gives the page /Rotate 90 so that it reads upright.) show
0 -40 moveto (More text set the same way, to make the orientation clear.) show
grestore
showpage
%%Page: 3 3
<< /PageSize [420 595] >> setpagedevice
/Helvetica findfont 14 scalefont setfont
50 530 moveto (Page 3 of 3, A5.) show
showpage
%%EOF
`

// pdfcpuJSON is the input of pdfcpu create: two pages of text boxes.
const pdfcpuJSON = `{
	"paper": "A4P",
	"origin": "LowerLeft",
	"contentBox": false,
	"fonts": {"body": {"name": "Helvetica", "size": 12}},
	"pages": {
		"1": {"content": {"text": [
			{"value": "pdfcpu create: page 1 of 2", "pos": [72, 760], "font": {"name": "$body", "size": 16}},
			{"value": "Certificate of registration, issued under the seal of the issuing unit.", "pos": [72, 730], "font": {"name": "$body"}}
		]}},
		"2": {"content": {"text": [
			{"value": "pdfcpu create: page 2 of 2", "pos": [72, 760], "font": {"name": "$body", "size": 16}}
		]}}
	}
}
`

// htmlPage is printed by Chromium: Latin and CJK text over two A4 pages.
var htmlPage = `<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>sealpipe conformance document</title>
<style>
@page { size: A4; margin: 20mm; }
body { font-family: "DejaVu Sans", "WenQuanYi Zen Hei", sans-serif; font-size: 12pt; }
.next { break-before: page; }
</style></head><body>
<h1>` + cjkLine + `</h1>
<p>` + latinLine + `</p>
<p>` + cjkLine2 + `</p>
<p class="next">第二页 — page two.</p>
</body></html>
`

const pycairoScript = `import sys, cairo
out, line1, line2 = sys.argv[1:4]
s = cairo.PDFSurface(out, 595, 842)
s.set_metadata(cairo.PDFMetadata.TITLE, "sealpipe conformance document")
s.set_metadata(cairo.PDFMetadata.CREATE_DATE, "2025-01-01T00:00:00Z")
c = cairo.Context(s)
c.select_font_face("Noto Sans CJK SC")
c.set_font_size(16)
c.move_to(56, 90); c.show_text(line1)
c.move_to(56, 120); c.show_text(line2)
c.set_source_rgb(0.8, 0.1, 0.1); c.rectangle(56, 200, 200, 100); c.stroke()
c.show_page()
s.set_size(842, 595)
c.set_source_rgb(0, 0, 0)
c.move_to(56, 90); c.show_text("Page 2: A4 landscape. " + line1)
c.show_page()
s.finish()
`

const reportlabScript = `import sys
from reportlab.pdfgen import canvas
from reportlab.lib.pagesizes import A4
c = canvas.Canvas(sys.argv[1], pagesize=A4, invariant=1)
c.setTitle("sealpipe conformance document")
c.setFont("Helvetica", 14)
c.drawString(72, 760, "ReportLab: page 1 of 3.")
c.drawString(72, 740, "Certificate of registration, issued under the seal of the issuing unit.")
c.showPage()
c.setPageRotation(90)
c.setFont("Helvetica", 14)
c.drawString(72, 760, "ReportLab: page 2 of 3, /Rotate 90.")
c.showPage()
c.setPageRotation(0)
c.setCropBox((50, 100, 545, 742))
c.setFont("Helvetica", 14)
c.drawString(72, 700, "ReportLab: page 3 of 3, /CropBox [50 100 545 742].")
c.showPage()
c.save()
`

const reportlabCJKScript = `import sys
from reportlab.pdfgen import canvas
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
c = canvas.Canvas(sys.argv[1], pagesize=A4, invariant=1)
c.setTitle("sealpipe conformance document")
c.setFont("STSong-Light", 16)
c.drawString(72, 760, sys.argv[2])
c.drawString(72, 730, sys.argv[3])
c.showPage()
c.save()
`

const pypdfRewriteScript = `import sys
from pypdf import PdfReader, PdfWriter, Transformation
from pypdf.generic import RectangleObject, NameObject
r = PdfReader(sys.argv[1])
w = PdfWriter()
for p in r.pages:
    w.add_page(p)
p1 = w.pages[0]
p1.add_transformation(Transformation().translate(100, 200))
# pypdf 3.4.1 leaves the new content stream a direct object in the page
# dictionary, which no reader accepts: make it indirect.
c = p1[NameObject("/Contents")]
if not hasattr(c, "idnum"):
    p1[NameObject("/Contents")] = w._add_object(c)
b = p1.mediabox
p1.mediabox = RectangleObject([float(b.left) + 100, float(b.bottom) + 200, float(b.right) + 100, float(b.top) + 200])
if "/CropBox" in p1:
    del p1["/CropBox"]
w.pages[1].rotate(270)
w.add_metadata({"/Title": "sealpipe conformance document", "/Producer": "pypdf"})
with open(sys.argv[2], "wb") as f:
    w.write(f)
`

// pypdfFieldsScript adds empty, invisible signature fields to page 1.
const pypdfFieldsScript = `import sys
from pypdf import PdfReader, PdfWriter
from pypdf.generic import NameObject, DictionaryObject, ArrayObject, NumberObject, TextStringObject, FloatObject
r = PdfReader(sys.argv[1])
w = PdfWriter()
w.clone_reader_document_root(r)
page = w.pages[0]
refs = []
for name in sys.argv[3:]:
    field = DictionaryObject({
        NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Widget"),
        NameObject("/FT"): NameObject("/Sig"), NameObject("/T"): TextStringObject(name),
        NameObject("/F"): NumberObject(132), NameObject("/Rect"): ArrayObject([FloatObject(0)] * 4),
        NameObject("/P"): page.indirect_reference})
    refs.append(w._add_object(field))
annots = page.get("/Annots")
page[NameObject("/Annots")] = ArrayObject((list(annots.get_object()) if annots else []) + refs)
w._root_object[NameObject("/AcroForm")] = w._add_object(DictionaryObject({NameObject("/Fields"): ArrayObject(refs)}))
with open(sys.argv[2], "wb") as f:
    w.write(f)
`

// handmade is the producer of the files built here.
const handmade = "internal/pdfcorpus (hand-made)"
