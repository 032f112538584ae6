// Package textpdf typesets simple documents, such as sealpipe's
// verification reports (验章报告), as PDF: headings, paragraphs, two-column
// key–value rows, images and rules, in Chinese and English, on as many A4
// pages as the content needs.
//
// Render lays the blocks of a Document out top to bottom in a type area
// with 20 mm margins, wrapping lines and breaking pages by itself. Chinese
// text may break between any two characters, except that closing
// punctuation (，。、）…) never starts a line and opening punctuation never
// ends one; Latin words break at spaces; a run of characters wider than a
// line, such as a hexadecimal digest, breaks wherever the line is full.
//
// The text is set in Droid Sans Fallback, the font templates/fonts embeds:
// a subset of it holding only the glyphs used goes into the file, with a
// ToUnicode map, so the text can be searched, copied and extracted. The
// font has no Latin letters of its own; like the other templates, textpdf
// draws ASCII with the font's fullwidth forms re-spaced to Latin widths. A
// character the font cannot draw (an emoji, a private-use code point, a
// control character other than a newline) is an error, a *GlyphError,
// rather than a gap in an official document.
//
// The same Document always gives the same bytes (with the same Go release,
// whose compress/flate output may change).
package textpdf

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// Document is what Render typesets.
type Document struct {
	// Title, Author and Subject go into the document information
	// dictionary; empty ones are left out. A viewer shows the Title in its
	// window's title bar.
	Title, Author, Subject string
	// Lang is the natural language of the text, a BCP 47 tag such as
	// "zh-CN"; empty leaves it unstated.
	Lang string
	// Created is the creation date; the zero time leaves it out.
	Created time.Time
	// Blocks are the content, top to bottom.
	Blocks []Block
}

// Block is one piece of a Document's content: a Heading, Paragraph,
// Small, Rows, Image or Rule.
type Block interface {
	block()
}

// Heading is a section title: large bold text, kept on the same page as
// the line that follows it.
type Heading struct {
	Text string
}

// Paragraph is body text, wrapped to the width of the page. A newline
// ("\n") in Text starts a new line.
type Paragraph struct {
	Text string
	// Color is the text's colour; the zero Color is black.
	Color Color
	// Bold thickens the strokes (the font has no bold face of its own).
	Bold bool
}

// Small is a line or paragraph of small grey text, for notes and
// footnotes. A newline in Text starts a new line.
type Small struct {
	Text string
}

// Rows is a two-column table of keys and values, such as 签章时间 and
// its time: the key column has a fixed width, and each cell wraps within
// its column. A newline in a cell starts a new line.
type Rows [][2]string

// Image is a PNG picture, such as a seal's, drawn WidthMM millimetres wide
// at the left margin, its height in proportion. Transparency is kept. An
// image wider than the type area is shrunk to its width, and one taller
// than a page to its height. The picture may have at most MaxImagePixels
// pixels.
type Image struct {
	PNG     []byte
	WidthMM float64
}

// MaxImagePixels is the largest number of pixels (width × height) an
// Image may have.
const MaxImagePixels = 16 << 20

// Rule is a thin horizontal line across the type area.
type Rule struct{}

func (Heading) block()   {}
func (Paragraph) block() {}
func (Small) block()     {}
func (Rows) block()      {}
func (Image) block()     {}
func (Rule) block()      {}

// Color is a colour in the DeviceRGB colour space, 0 to 255 per
// component. The zero Color is black.
type Color struct {
	R, G, B uint8
}

// Colours for verdicts and notes.
var (
	Black = Color{}
	Green = Color{0x1B, 0x7A, 0x35} // valid: 签章有效
	Red   = Color{0xC6, 0x28, 0x28} // invalid
	Amber = Color{0xB3, 0x6B, 0x00} // warnings, indeterminate results
	Grey  = Color{0x66, 0x66, 0x66} // the colour of Small text
)

// ErrInvalid is wrapped by every error Render returns for a Document it
// cannot typeset, *GlyphError included.
var ErrInvalid = errors.New("textpdf: invalid document")

// GlyphError reports a character the font cannot draw.
type GlyphError struct {
	// Block is the index in Document.Blocks of the block holding Rune.
	Block int
	// Rune is the character.
	Rune rune
}

// Error names the block and the character.
func (e *GlyphError) Error() string {
	return fmt.Sprintf("textpdf: block %d: no glyph for %q (%U) in Droid Sans Fallback", e.Block, e.Rune, e.Rune)
}

// Unwrap returns ErrInvalid.
func (e *GlyphError) Unwrap() error { return ErrInvalid }

// Render typesets d as a PDF file on A4 pages. It returns an error
// wrapping ErrInvalid for text that is not valid UTF-8 or that the font
// cannot draw (a *GlyphError), for an image that is not a PNG, has more
// than MaxImagePixels pixels or a width that is not a positive number,
// and for a nil Block. It is safe for concurrent use.
func Render(d Document) ([]byte, error) {
	for _, s := range []string{d.Title, d.Author, d.Subject, d.Lang} {
		if !utf8.ValidString(s) {
			return nil, fmt.Errorf("%w: metadata %q is not valid UTF-8", ErrInvalid, s)
		}
	}
	if !d.Created.IsZero() && (d.Created.Year() < 1 || d.Created.Year() > 9999) {
		return nil, fmt.Errorf("%w: creation date %v is outside the years 1 to 9999", ErrInvalid, d.Created)
	}
	t, err := newTypesetter()
	if err != nil {
		return nil, err
	}
	for i, b := range d.Blocks {
		t.block = i
		if err := t.typeset(b); err != nil {
			var g *GlyphError
			if errors.As(err, &g) {
				g.Block = i
				return nil, g
			}
			return nil, err
		}
	}
	return t.finish(d)
}
