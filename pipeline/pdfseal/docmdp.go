package pdfseal

import (
	"fmt"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
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
func docMDP(x *model.XRefTable, sig types.Dict) int {
	refs, err := x.DereferenceArray(sig["Reference"])
	if err != nil {
		return 0
	}
	for i, o := range refs {
		if i >= maxSigRefs {
			break
		}
		ref, err := x.DereferenceDict(o)
		if err != nil || ref == nil {
			continue
		}
		if m, err := x.Dereference(ref["TransformMethod"]); err != nil || m != types.Name("DocMDP") {
			continue
		}
		params, err := x.DereferenceDict(ref["TransformParams"])
		if err != nil {
			return 1
		}
		p, err := x.DereferenceInteger(params["P"])
		switch {
		case err != nil:
			return 1
		case p == nil:
			return 2
		case *p >= 1 && *p <= 3:
			return p.Value()
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
func certification(x *model.XRefTable, catalog types.Dict) (p int, name string) {
	stricter := func(q int, n string) {
		if q > 0 && (p == 0 || q < p) {
			p, name = q, n
		}
	}
	fields, _ := signatureFields(x)
	for _, f := range fields {
		stricter(docMDP(x, f.sig), f.name)
	}
	if perms, err := x.DereferenceDict(catalog["Perms"]); err == nil && perms != nil {
		if sig, err := x.DereferenceDict(perms["DocMDP"]); err == nil && sig != nil {
			stricter(docMDP(x, sig), fmt.Sprintf("/Perms /DocMDP %s", perms["DocMDP"].PDFString()))
		}
	}
	return p, name
}
