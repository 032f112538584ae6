package pdfseal

import (
	"fmt"
	"math"
)

// Mark is drawn with the seal, under its picture: the verification mark
// that Chinese e-certificates print there — a code and a QR code of where
// to look the document up. It is part of the seal's appearance, so the
// signature covers it, and it is drawn as it is given: only the caller
// knows what it says.
//
// The mark goes MarkGap mm under the picture, centred on it, moved the
// least needed to lie inside the page; where the page has no room under
// the picture it goes over it, and where it has room for neither the
// placement is an ErrPlacement. A riding seal takes no mark.
type Mark struct {
	// Width and Height are the mark's size, in millimetres.
	Width, Height float64
	// Content draws the mark: content stream operators (ISO 32000-1
	// §8.2) in a box Width × Height, one unit to a millimetre, the origin
	// at its lower-left corner. The form drawing it has no resources, so
	// only path, colour and graphics state operators draw anything.
	Content []byte
}

// MarkGap is the room between the seal picture and its mark, in mm.
const MarkGap = 1.0

// marked is a widget's mark: where the appearance form draws it, in the
// form's units, and how many of them make a millimetre.
type marked struct {
	x, y, perMM float64
	content     []byte
}

// check validates a mark's numbers.
func (m *Mark) check() error {
	for _, v := range []float64{m.Width, m.Height} {
		if math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 {
			return fmt.Errorf("%w: a mark of %g×%g mm: it needs a positive, finite size", ErrPlacement, m.Width, m.Height)
		}
	}
	return nil
}

// addMark grows every widget of the layout to hold the mark beside its
// picture (see Mark). A nil mark adds nothing.
func (l *layout) addMark(m *Mark, p Placement) error {
	if m == nil {
		return nil
	}
	if p.Riding {
		return fmt.Errorf("%w: a riding seal takes no mark", ErrPlacement)
	}
	if err := m.check(); err != nil {
		return err
	}
	for i, w := range l.widgets {
		if err := w.mark(m); err != nil {
			return err
		}
		l.widgets[i] = w
	}
	return nil
}

// mark grows w to hold m, its picture where it was.
func (w *widget) mark(m *Mark) error {
	pw, ph, perMM := w.page.display()
	// The picture's box as displayed, in mm.
	u0, v0 := w.page.displayed(w.g.rect.llx, w.g.rect.lly)
	u1, v1 := w.page.displayed(w.g.rect.urx, w.g.rect.ury)
	x, y := min(u0, u1)/perMM, min(v0, v1)/perMM
	width, height := w.g.width/perMM, w.g.height/perMM

	mx := math.Max(0, math.Min(x+(width-m.Width)/2, pw-m.Width))
	my := y - MarkGap - m.Height
	if my < 0 {
		my = y + height + MarkGap // no room under it: over it
	}
	if m.Width > pw+0.01 || my+m.Height > ph+0.01 {
		return fmt.Errorf("%w: no room on page %d for a mark of %g×%g mm beside the seal at (%.1f, %.1f) mm", ErrPlacement, w.page.nr, m.Width, m.Height, x, y)
	}
	// The box holding both, and where each lies in it.
	bx, by := math.Min(x, mx), math.Min(y, my)
	bw := math.Max(x+width, mx+m.Width) - bx
	bh := math.Max(y+height, my+m.Height) - by
	grown, err := boxOn(w.page, bx, by, bw, bh)
	if err != nil {
		return err
	}
	w.g = grown.g
	w.picX, w.picY, w.picH = (x-bx)*perMM, (y-by)*perMM, height*perMM
	w.picW = width * perMM
	w.marked = &marked{x: (mx - bx) * perMM, y: (my - by) * perMM, perMM: perMM, content: m.Content}
	return nil
}
