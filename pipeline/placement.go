package pipeline

import (
	"github.com/sealpipe/sealpipe/pipeline/approval"
	"github.com/sealpipe/sealpipe/pipeline/pdfseal"
)

// pdfPlacement maps an approved placement to pdfseal's, the picture being
// width × height mm: X and Y from its corner, a keyword, pages or a riding
// seal. A placement that does not map is PLACEMENT_INVALID.
func pdfPlacement(pl approval.Placement, width, height float64) (pdfseal.Placement, error) {
	corner, err := pdfseal.ParseCorner(pl.Corner)
	if err != nil {
		return pdfseal.Placement{}, reject(CodePlacementInvalid, err, "%v", err)
	}
	return pdfseal.Placement{
		Page: pl.Page, X: pl.X, Y: pl.Y, Width: width, Height: height,
		Corner: corner, Keyword: pl.Keyword, Riding: pl.Riding,
		Pages: pl.Pages.Numbers(), AllPages: pl.Pages.All(),
	}, nil
}

// ofdPlacementErr refuses, for an OFD document, the fields of a placement
// only a PDF one has, rather than sealing without them.
func ofdPlacementErr(pl approval.Placement) error {
	if f := pl.PDFOnly(); f != "" {
		return reject(CodePlacementInvalid, nil, "the placement's %s apply to PDF documents only; this one is an OFD package", f)
	}
	return nil
}
