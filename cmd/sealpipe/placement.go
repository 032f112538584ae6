package main

import (
	"strings"

	"github.com/spf13/pflag"

	"github.com/sealpipe/sealpipe/pipeline/approval"
)

// placementFlags are the flags of `sealpipe seal` and `sealpipe approve`
// that say where the seal goes (approval.Placement).
type placementFlags struct {
	pl     *approval.Placement
	f      *pflag.FlagSet
	pages  string
	corner string
}

// addPlacementFlags registers the placement flags on f, filling pl, whose
// values are the defaults.
func addPlacementFlags(f *pflag.FlagSet, pl *approval.Placement) *placementFlags {
	pf := &placementFlags{pl: pl, f: f}
	f.IntVar(&pl.Page, "page", pl.Page, "page to place the seal on (1-based)")
	f.Float64Var(&pl.X, "x", pl.X, "seal picture's left edge, mm from the page's left edge (PDF: from the edge --corner names)")
	f.Float64Var(&pl.Y, "y", pl.Y, "PDF: seal picture's bottom edge, mm from the page's bottom edge (or top edge from the top, with an upper --corner); OFD: its top edge, mm from the page's top edge")
	f.StringVar(&pf.corner, "corner", "", "PDF: page corner --x and --y are measured from, to the picture's nearest corner: "+strings.Join(approval.Corners, ", ")+" (empty: lower-left)")
	f.StringVar(&pl.Keyword, "keyword", "", "PDF: centre the seal on the first occurrence of this text (e.g. the issuing unit's name or （盖章）) on --page, on each of --pages, or without either on the first page that shows it; leave --x, --y and --corner out")
	f.StringVar(&pf.pages, "pages", "", "PDF: put the seal on each of these pages, \"all\" or numbers such as 1,3,5, as one signature; --page is not used")
	f.BoolVar(&pl.Riding, "riding", false, "a riding seal (骑缝章): the picture cut across the right edge of every page, --y as for a stamp, one signature; --page and --x are not used")
	f.IntVar(&pl.Certify, "certify", 0, "PDF: certify the document with this DocMDP permission: 1 no changes, 2 form filling and signing, 3 those and annotations (the document must not be signed yet); 0: an ordinary seal")
	return pf
}

// resolve completes the placement once the flags are parsed and checks
// it: a keyword or pages stand for --page, and a keyword for --x and --y,
// unless those were given.
func (pf *placementFlags) resolve() error {
	pl := pf.pl
	pl.Corner = pf.corner
	if pf.pages != "" {
		p, err := approval.ParsePages(pf.pages)
		if err != nil {
			return usageErr("--pages: %v", err)
		}
		pl.Pages = p
	}
	if (pl.Keyword != "" || pl.Pages != "") && !pf.f.Changed("page") {
		pl.Page = 0
	}
	if pl.Keyword != "" {
		if !pf.f.Changed("x") {
			pl.X = 0
		}
		if !pf.f.Changed("y") {
			pl.Y = 0
		}
	}
	if err := pl.Validate(); err != nil {
		return usageErr("%v", err)
	}
	return nil
}
