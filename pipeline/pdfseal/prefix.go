package pdfseal

import (
	"encoding"
	"fmt"
	"hash"

	"github.com/emmansun/gmsm/sm3"
)

// Prefix is the SM3 state of a document's first bytes, handed over by a
// caller that has just hashed them — the pipeline hashes every document
// to check it against its approval — so that Seal and VerifyWith continue
// it rather than hash those bytes again: sealing and the self-check of the
// output then cost one SM3 pass over the document between them. Only SM3
// digests use it; a SHA-2 signature hashes every byte itself.
//
// The caller vouches for it: the bytes it hashed must be the document's
// first Len bytes. A Prefix of other bytes makes Seal sign a digest of
// something else (a signature any verifier without it refuses) and
// VerifyWith judge other bytes than it was given.
type Prefix struct {
	n     int64
	state []byte // the SM3 state, as its MarshalBinary writes it
}

// NewPrefix captures the state of h, an SM3 hash (sm3.New) that has been
// fed exactly a document's first n bytes. h is not changed.
func NewPrefix(h hash.Hash, n int64) (*Prefix, error) {
	m, ok := h.(encoding.BinaryMarshaler)
	if !ok || n < 0 {
		return nil, fmt.Errorf("pdfseal: prefix digest: %T is not an SM3 hash", h)
	}
	state, err := m.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("pdfseal: prefix digest: %w", err)
	}
	if err := sm3.New().(encoding.BinaryUnmarshaler).UnmarshalBinary(state); err != nil {
		return nil, fmt.Errorf("pdfseal: prefix digest: not an SM3 state: %w", err)
	}
	return &Prefix{n: n, state: state}, nil
}

// Len is the number of bytes the prefix covers.
func (p *Prefix) Len() int64 { return p.n }

// Sum returns the SM3 digest of the prefix's bytes followed by rest.
func (p *Prefix) Sum(rest ...[]byte) []byte { return p.sum(spans(rest...)...) }

// sum returns the SM3 digest of the prefix's bytes followed by rest.
func (p *Prefix) sum(rest ...span) []byte {
	h := p.Hash()
	for _, s := range rest {
		s.hashTo(h, 0)
	}
	return h.Sum(nil)
}

// Hash returns a new SM3 hash in the prefix's state, to be fed the
// bytes that follow the prefix.
func (p *Prefix) Hash() hash.Hash {
	h := sm3.New()
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(p.state); err != nil {
		panic(fmt.Sprintf("pdfseal: prefix digest: %v", err))
	}
	return h
}

// stateOver returns the SM3 state over the concatenation of parts. It
// continues p, when p is not nil and covers no more than parts hold, over
// p's bytes: they are taken to be the first p.Len() bytes of parts, which
// are not read.
func stateOver(p *Prefix, parts ...span) *Prefix {
	total := int64(0)
	for _, s := range parts {
		total += s.size()
	}
	h, skip := sm3.New(), int64(0)
	if p != nil && p.n <= total {
		h, skip = p.Hash(), p.n
	}
	for _, s := range parts {
		if skip >= s.size() {
			skip -= s.size()
			continue
		}
		s.hashTo(h, skip)
		skip = 0
	}
	state, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		panic(fmt.Sprintf("pdfseal: prefix digest: %v", err))
	}
	return &Prefix{n: total, state: state}
}

// digestOf returns the dig digest of the concatenation of parts. An SM3
// digest continues p over its bytes (see stateOver).
func digestOf(dig digestAlgorithm, p *Prefix, parts ...span) []byte {
	if dig.hash == 0 {
		return stateOver(p, parts...).Sum()
	}
	h := dig.new()
	for _, s := range parts {
		s.hashTo(h, 0)
	}
	return h.Sum(nil)
}

// covered is what a signature covers: the parts of its ByteRange, with
// the SM3 state of their first bytes if the caller has it (prefix), or
// the digest itself when it was just computed over them (sum, of the
// algorithm sumAlg: Sealed.Check, which checks what Seal signed without
// hashing it again).
type covered struct {
	parts  []span
	prefix *Prefix
	sum    []byte
	sumAlg digestAlgorithm
	// gap and docSM3, when set, ask an SM3 digest of the two parts of a
	// ByteRange that covers the whole file to set *docSM3 to the SM3 of
	// the file, parts[0] + gap + parts[1], on the way: the bytes before
	// the gap are hashed once for both.
	gap    span
	docSM3 *[]byte
}

// covers is what covered of parts alone.
func covers(parts ...[]byte) covered { return covered{parts: spans(parts...)} }

// digest returns the dig digest of the covered bytes.
func (c covered) digest(dig digestAlgorithm) []byte {
	if c.sum != nil && dig.oid.Equal(c.sumAlg.oid) {
		return c.sum
	}
	if dig.hash == 0 && c.docSM3 != nil && len(c.parts) == 2 {
		at := stateOver(c.prefix, c.parts[0])
		*c.docSM3 = at.sum(c.gap, c.parts[1])
		return at.sum(c.parts[1])
	}
	return digestOf(dig, c.prefix, c.parts...)
}
