package pdffile

import (
	"fmt"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// PageAttributes are the attributes a page has, from its own dictionary or
// inherited from the page tree nodes above it (§7.7.3.4, table 30), with
// references resolved (and those inside MediaBox and CropBox arrays): nil
// where neither the page nor any node above it has the entry.
type PageAttributes struct {
	MediaBox  types.Object // a rectangle (§7.9.5), required
	CropBox   types.Object // a rectangle; the MediaBox when absent
	Rotate    types.Object // an integer, a multiple of 90
	Resources types.Object // a dictionary (§7.8.3)
	// UserUnit is the page's /UserUnit (§14.11.2.1, PDF 1.6), which is
	// not inherited: nil when the page has none (a unit of 1/72 inch).
	UserUnit types.Object
}

// inheritable are the keys of table 30 a page inherits (§7.7.3.4).
var inheritable = [...]string{"MediaBox", "CropBox", "Rotate", "Resources"}

// pagesRoot returns the root of the page tree: the catalog's /Pages.
func (f *File) pagesRoot() (types.IndirectRef, types.Dict, error) {
	cat, err := f.catalog()
	if err != nil {
		return types.IndirectRef{}, nil, err
	}
	ref, ok := cat["Pages"].(types.IndirectRef)
	if !ok {
		return types.IndirectRef{}, nil, malformed("the catalog's /Pages is %s, not an indirect reference (§7.7.2)", pdfString(cat["Pages"]))
	}
	d, err := f.resolveDict(ref, "the page tree root "+ref.PDFString())
	if err != nil {
		return ref, nil, err
	}
	if d == nil {
		return ref, nil, malformed("the page tree root %s is null", ref.PDFString())
	}
	return ref, d, nil
}

// NumPages returns the number of pages the document has: the /Count of
// the page tree's root (§7.7.3.2), or 1 when the root is itself a page.
func (f *File) NumPages() (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, root, err := f.pagesRoot()
	if err != nil {
		return 0, err
	}
	if isLeaf(root) {
		return 1, nil
	}
	return f.count(root, "the page tree root")
}

// isLeaf tells a page (§7.7.3.3) from an intermediate node (§7.7.3.2): by
// /Type, or, without one, by the absence of /Kids.
func isLeaf(d types.Dict) bool {
	switch t, _ := d["Type"].(types.Name); t {
	case "Page":
		return true
	case "Pages":
		return false
	}
	_, hasKids := d["Kids"]
	return !hasKids
}

// count returns a node's /Count.
func (f *File) count(d types.Dict, what string) (int, error) {
	o, err := f.resolve(d["Count"])
	if err != nil {
		return 0, fmt.Errorf("%s /Count: %w", what, err)
	}
	n, ok := o.(types.Integer)
	if !ok || n < 0 {
		return 0, malformed("%s has /Count %s, not a number of pages", what, pdfString(o))
	}
	if int(n) > f.opts.MaxPageNodes {
		return 0, limit("%s has /Count %d; the limit is %d", what, n, f.opts.MaxPageNodes)
	}
	return int(n), nil
}

// Page returns page n (1-based) of the document (§7.7.3): its dictionary,
// the reference to it and its attributes, inherited ones included. It
// reads only the nodes on the way down from the root, choosing each kid by
// the /Count of the kids before it, and the kids before it on each level;
// a node met twice on the way is an error (a loop), as is passing
// Options.MaxPageNodes nodes. A page number outside the document is
// ErrNoPage. The dictionary is shared: the caller must not modify it.
func (f *File) Page(n int) (types.Dict, types.IndirectRef, PageAttributes, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var attrs PageAttributes
	ref, node, err := f.pagesRoot()
	if err != nil {
		return nil, ref, attrs, err
	}
	total := 1
	if !isLeaf(node) {
		if total, err = f.count(node, "the page tree root"); err != nil {
			return nil, ref, attrs, err
		}
	}
	if n < 1 || n > total {
		return nil, ref, attrs, fmt.Errorf("%w: page %d asked for, the document has %d", ErrNoPage, n, total)
	}
	inherited := map[string]types.Object{}
	onPath := map[int]bool{}
	visits := 0
	want := n
	for depth := 0; ; depth++ {
		nr := ref.ObjectNumber.Value()
		if onPath[nr] {
			return nil, ref, attrs, malformed("the page tree loops: object %d is its own ancestor", nr)
		}
		onPath[nr] = true
		if depth > f.opts.MaxDepth {
			return nil, ref, attrs, limit("the page tree is more than %d levels deep", f.opts.MaxDepth)
		}
		for _, k := range inheritable {
			if v, ok := node[k]; ok && v != nil {
				inherited[k] = v
			}
		}
		if isLeaf(node) {
			if want != 1 {
				return nil, ref, attrs, malformed("the page tree's /Count says page %d exists, but the pages end at object %d", n, nr)
			}
			if err := f.pageAttributes(node, inherited, &attrs); err != nil {
				return nil, ref, attrs, fmt.Errorf("page %d (object %d): %w", n, nr, err)
			}
			return node, ref, attrs, nil
		}
		kidsObj, err := f.resolve(node["Kids"])
		if err != nil {
			return nil, ref, attrs, fmt.Errorf("page tree node %d /Kids: %w", nr, err)
		}
		kids, ok := kidsObj.(types.Array)
		if !ok {
			return nil, ref, attrs, malformed("page tree node %d has /Kids %s, not an array", nr, pdfString(kidsObj))
		}
		found := false
		for _, k := range kids {
			visits++
			if visits > f.opts.MaxPageNodes {
				return nil, ref, attrs, limit("finding page %d reads more than %d page tree nodes", n, f.opts.MaxPageNodes)
			}
			kref, ok := k.(types.IndirectRef)
			if !ok {
				return nil, ref, attrs, malformed("page tree node %d lists %s among its /Kids, not an indirect reference", nr, pdfString(k))
			}
			what := fmt.Sprintf("page tree node %d", kref.ObjectNumber.Value())
			kd, err := f.resolveDict(kref, what)
			if err != nil {
				return nil, ref, attrs, err
			}
			if kd == nil {
				return nil, ref, attrs, malformed("page tree node %d lists %s, which is null", nr, kref.PDFString())
			}
			c := 1
			if !isLeaf(kd) {
				if c, err = f.count(kd, what); err != nil {
					return nil, ref, attrs, err
				}
			}
			if want <= c {
				ref, node, found = kref, kd, true
				break
			}
			want -= c
		}
		if !found {
			return nil, ref, attrs, malformed("page tree node %d: its /Kids hold fewer pages than its /Count says (page %d asked for)", nr, n)
		}
	}
}

// pageAttributes resolves the attributes of a page.
func (f *File) pageAttributes(page types.Dict, inherited map[string]types.Object, a *PageAttributes) error {
	get := func(o types.Object, box bool) (types.Object, error) {
		o, err := f.resolve(o)
		if err != nil {
			return nil, err
		}
		if arr, ok := o.(types.Array); ok && box {
			out := make(types.Array, len(arr))
			for i, e := range arr {
				if out[i], err = f.resolve(e); err != nil {
					return nil, err
				}
			}
			o = out
		}
		return o, nil
	}
	var err error
	if a.MediaBox, err = get(inherited["MediaBox"], true); err != nil {
		return fmt.Errorf("/MediaBox: %w", err)
	}
	if a.CropBox, err = get(inherited["CropBox"], true); err != nil {
		return fmt.Errorf("/CropBox: %w", err)
	}
	if a.Rotate, err = get(inherited["Rotate"], false); err != nil {
		return fmt.Errorf("/Rotate: %w", err)
	}
	if a.Resources, err = get(inherited["Resources"], false); err != nil {
		return fmt.Errorf("/Resources: %w", err)
	}
	if a.UserUnit, err = get(page["UserUnit"], false); err != nil {
		return fmt.Errorf("/UserUnit: %w", err)
	}
	return nil
}
