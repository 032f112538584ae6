package pdfseal

import (
	"fmt"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"

	"github.com/sealpipe/sealpipe/pipeline/pdffile"
)

// maxSigRefs bounds the signature reference dictionaries read from one
// /Reference array.
const maxSigRefs = 16

// docMDP returns the DocMDP permission P of the signature dictionary sig
// (ISO 32000-1 §12.8.2.2): 0 when sig holds no signature reference
// dictionary (§12.8.1, table 253) with /TransformMethod /DocMDP, that is
// for an approval signature; else 1 (no changes), 2 (form filling and
// signing) or 3 (also annotations). An absent P is 2, the default of table
// 254; a value outside 1–3 counts as the strictest, 1.
func docMDP(f *pdffile.File, sig types.Dict) int {
	refs, err := resolveArray(f, sig["Reference"])
	if err != nil {
		return 0
	}
	for i, o := range refs {
		if i >= maxSigRefs {
			break
		}
		ref, err := resolveDict(f, o)
		if err != nil || ref == nil {
			continue
		}
		if m, err := f.Resolve(ref["TransformMethod"]); err != nil || m != types.Name("DocMDP") {
			continue
		}
		params, err := resolveDict(f, ref["TransformParams"])
		if err != nil {
			return 1
		}
		p, err := f.Resolve(params["P"])
		switch v, isInt := p.(types.Integer); {
		case err != nil:
			return 1
		case p == nil:
			return 2
		case isInt && v >= 1 && v <= 3:
			return int(v)
		}
		return 1
	}
	return 0
}

// certification returns the DocMDP permission of the document's
// certification signature and names it, or 0 if the document is not
// certified: the signature the catalog's /Perms /DocMDP names (§12.8.4,
// table 258), or any signature field value with a DocMDP reference. When
// there are several, the strictest counts.
func certification(f *pdffile.File, catalog types.Dict) (p int, name string) {
	stricter := func(q int, n string) {
		if q > 0 && (p == 0 || q < p) {
			p, name = q, n
		}
	}
	fields, _ := signatureFields(f)
	for _, fd := range fields {
		stricter(docMDP(f, fd.sig), fd.name)
	}
	if perms, err := resolveDict(f, catalog["Perms"]); err == nil && perms != nil {
		if sig, err := resolveDict(f, perms["DocMDP"]); err == nil && sig != nil {
			stricter(docMDP(f, sig), fmt.Sprintf("/Perms /DocMDP %s", pdfString(perms["DocMDP"])))
		}
	}
	return p, name
}
