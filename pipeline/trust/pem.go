package trust

import (
	"bytes"
	"encoding/pem"
	"fmt"
	"io"
	"os"

	"github.com/emmansun/gmsm/smx509"
)

// maxCertFile bounds LoadCertificates: a certificate bundle is kilobytes.
const maxCertFile = 16 << 20

// ParseCertificatesPEM parses every "CERTIFICATE" PEM block in b, in
// order, skipping blocks of other types. It fails if a certificate does
// not parse or if there is none.
func ParseCertificatesPEM(b []byte) ([]*smx509.Certificate, error) {
	var certs []*smx509.Certificate
	for rest, i := b, 0; ; i++ {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := smx509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: PEM block %d: %v", ErrMalformed, i+1, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%w: no CERTIFICATE PEM block in %d bytes", ErrMalformed, len(b))
	}
	return certs, nil
}

// LoadCertificates reads the certificates in a file: PEM, or DER (one
// certificate or several concatenated).
func LoadCertificates(path string) ([]*smx509.Certificate, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("trust: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxCertFile+1))
	if err != nil {
		return nil, fmt.Errorf("trust: read %s: %w", path, err)
	}
	if len(b) > maxCertFile {
		return nil, fmt.Errorf("%w: %s is over %d bytes", ErrMalformed, path, maxCertFile)
	}
	var certs []*smx509.Certificate
	if bytes.Contains(b, []byte("-----BEGIN")) {
		certs, err = ParseCertificatesPEM(b)
	} else if certs, err = smx509.ParseCertificates(b); err != nil || len(certs) == 0 {
		err = fmt.Errorf("%w: neither PEM nor DER certificates (%v)", ErrMalformed, err)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return certs, nil
}
