package engine

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/keys"
	"github.com/sealpipe/sealpipe/pipeline/pdfseal"
	"github.com/sealpipe/sealpipe/pipeline/tsa"
)

// SignatureSettings choose the PDF signature format of each seal (issue 11
// item 6; package pdfseal, Format) and the RFC 3161 timestamp authority
// that the pades-b-t format asks, and where `sealpipe tsa`, the
// development one, listens.
type SignatureSettings struct {
	// Formats maps seal codes to PDF signature formats, as SEAL=FORMAT
	// pairs; "*" stands for every seal not named. A seal neither names
	// nor covers gets pdfseal's default: gmt0010 for an SM2 key, a PKCS#7
	// SHA-256 CMS for an ECDSA or RSA key. OFD documents are sealed as
	// GB/T 33190 asks, whatever this says.
	Formats []string `env:"SEALPIPE_PDF_SIGNATURE_FORMATS" help:"PDF signature format by seal, comma-separated SEAL-CODE=FORMAT pairs, * for the seals not named: gmt0010 (SM2 CMS, GM/T 0010 OIDs), pkcs7 (the same with PKCS#7 OIDs, which poppler and Acrobat read), ses (the GB/T 38540 SES_Signature in /Contents), pades-b-b or pades-b-t (ETSI.CAdES.detached, ECDSA or RSA keys; b-t timestamps from SEALPIPE_TSA_URL). Empty: gmt0010 for SM2 keys, PKCS#7 SHA-256 for ECDSA/RSA"`
	// TSAURL is the timestamp authority pades-b-t signatures are stamped
	// by (RFC 3161 over HTTP). Required when a seal's format is pades-b-t.
	TSAURL string `env:"SEALPIPE_TSA_URL" help:"RFC 3161 timestamp authority, an http(s):// URL, that stamps the signature value of pades-b-t signatures (sealpipe tsa serves a development one)"`
	// TSAAddr is where `sealpipe tsa` listens.
	TSAAddr string `env:"SEALPIPE_TSA_ADDR" default:"127.0.0.1:3161" help:"address sealpipe tsa, the development timestamp authority, listens on (port 0: any free port)"`
}

// formats reads Formats: the format of each seal code named, and of the
// others under "*". A pades-b-t format needs TSAURL.
func (s SignatureSettings) formats() (map[string]pdfseal.Format, error) {
	bad := func(format string, args ...any) error {
		return &SettingError{Key: "SEALPIPE_PDF_SIGNATURE_FORMATS", Value: strings.Join(s.Formats, ","), Err: fmt.Errorf(format, args...)}
	}
	out := make(map[string]pdfseal.Format)
	for _, pair := range s.Formats {
		seal, name, ok := strings.Cut(pair, "=")
		seal = strings.TrimSpace(seal)
		if !ok || seal == "" {
			return nil, bad("%q is not SEAL-CODE=FORMAT", pair)
		}
		f, err := pdfseal.ParseFormat(name)
		if err != nil {
			return nil, bad("%q: %v", pair, errors.Unwrap(err))
		}
		if _, dup := out[seal]; dup {
			return nil, bad("seal %s named twice", seal)
		}
		out[seal] = f
		if f == pdfseal.FormatPAdESBT && s.TSAURL == "" {
			return nil, bad("seal %s signs %s, which needs a timestamp authority: set SEALPIPE_TSA_URL", seal, f)
		}
	}
	if s.TSAURL != "" {
		if u, err := url.Parse(s.TSAURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, &SettingError{Key: "SEALPIPE_TSA_URL", Value: s.TSAURL, Err: errors.New("want an http:// or https:// URL")}
		}
	}
	return out, nil
}

// pdfSigners are the pipeline's Signers with the signature format of each
// seal (pipeline.SignatureFormats).
type pdfSigners struct {
	*keys.Cache
	formats map[string]pdfseal.Format
	tsa     pdfseal.TimeStamper
}

var _ pipeline.SignatureFormats = pdfSigners{}

// SignatureFormat returns the format SEALPIPE_PDF_SIGNATURE_FORMATS gives
// the seal, and the timestamp authority when the format stamps.
func (p pdfSigners) SignatureFormat(sealID string) (pdfseal.Format, pdfseal.TimeStamper) {
	f, ok := p.formats[sealID]
	if !ok {
		f = p.formats["*"]
	}
	if f == pdfseal.FormatPAdESBT {
		return f, p.tsa
	}
	return f, nil
}

// pipelineSigners wraps the keyring's signers for the pipeline.
func (e *Engine) pipelineSigners(c *keys.Cache) (pipeline.Signers, error) {
	formats, err := e.settings.Signatures.formats()
	if err != nil {
		return nil, err
	}
	if len(formats) == 0 {
		return c, nil
	}
	p := pdfSigners{Cache: c, formats: formats}
	if u := e.settings.Signatures.TSAURL; u != "" {
		p.tsa = &tsa.Client{URL: u}
	}
	return p, nil
}
