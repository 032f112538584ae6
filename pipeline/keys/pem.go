package keys

import (
	"cmp"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/emmansun/gmsm/pkcs"
	"github.com/emmansun/gmsm/pkcs8"
	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// PBKDF2Iterations is the PBKDF2-HMAC-SM3 iteration count MarshalEncryptedPEM
// uses. Measured here, an HMAC-SM3 iteration costs 0.55 µs and an
// HMAC-SHA-256 one 0.21 µs, so 250,000 SM3 iterations cost about what
// OWASP's 600,000 PBKDF2-HMAC-SHA256 iterations do: ~140 ms of one core per
// passphrase guess, paid once when a process opens a key. See
// BenchmarkParseEncryptedPEM.
const PBKDF2Iterations = 250_000

// maxIterations bounds the iteration count ParseEncryptedPEM accepts, so a
// hostile key file cannot pin a core for minutes.
const maxIterations = 10_000_000

// saltSize is the PBKDF2 salt length MarshalEncryptedPEM draws, in bytes.
const saltSize = 16

// PEM block types.
const (
	pemEncrypted = "ENCRYPTED PRIVATE KEY"
	pemPKCS8     = "PRIVATE KEY"
	pemSEC1      = "EC PRIVATE KEY"
	pemSM2       = "SM2 PRIVATE KEY"
	pemPKCS1     = "RSA PRIVATE KEY"
)

// Object identifiers of the encryption schemes ParseEncryptedPEM accepts
// (RFC 8018, GB/T 32918 / GM/T 0006 for the SM ones).
var (
	oidPBES2    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidSMPBES   = asn1.ObjectIdentifier{1, 2, 156, 10197, 6, 4, 1, 5, 2}
	oidPBKDF2   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidSMPBKDF  = asn1.ObjectIdentifier{1, 2, 156, 10197, 6, 4, 1, 5, 1}
	oidSM4CBC   = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 104, 2}
	oidAES128   = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192   = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256   = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	oidHMACSM3  = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 401, 2}
	oidHMACSHA1 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	// hmacWithSHA224 … hmacWithSHA512/256 are 1.2.840.113549.2.8 … .13.
	oidRSADSI2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2}
)

// cbcKeySize maps the CBC ciphers accepted inside PBES2 to their key sizes.
var cbcKeySize = map[string]int{
	oidSM4CBC.String(): 16,
	oidAES128.String(): 16,
	oidAES192.String(): 24,
	oidAES256.String(): 32,
}

// sm4PBES2 encrypts with PBES2 (the RFC 8018 OIDs, so other PKCS#8 readers
// recognise the structure), PBKDF2 with HMAC-SM3 and SM4-CBC.
var sm4PBES2 = pkcs.NewPBESEncrypter(pkcs.SM4CBC, pkcs.NewPBKDF2Opts(pkcs.SM3, saltSize, PBKDF2Iterations))

// GenerateSM2 returns a new SM2 private key (GB/T 32918) drawn from
// crypto/rand.
func GenerateSM2() (crypto.Signer, error) {
	k, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("keys: generate SM2 key: %w", err)
	}
	return k, nil
}

// MarshalEncryptedPEM encrypts an SM2, ECDSA or RSA private key as a PEM
// "ENCRYPTED PRIVATE KEY": PKCS#8 EncryptedPrivateKeyInfo with PBES2,
// PBKDF2-HMAC-SM3 (PBKDF2Iterations, 16-byte random salt) and SM4-CBC.
// OpenSSL 3.0 parses the structure but knows no HMAC-SM3 PRF, so it cannot
// decrypt the result; gmsm and this package can.
func MarshalEncryptedPEM(key crypto.Signer, passphrase []byte) ([]byte, error) {
	if len(passphrase) == 0 {
		return nil, fmt.Errorf("%w: refusing to encrypt a key with an empty passphrase", ErrBadPassphrase)
	}
	if _, err := checkSigner(key); err != nil {
		return nil, err
	}
	der, err := pkcs8.MarshalPrivateKey(key, passphrase, sm4PBES2)
	if err != nil {
		return nil, fmt.Errorf("keys: encrypt %T: %w", key, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemEncrypted, Bytes: der}), nil
}

// ParseEncryptedPEM decrypts the first "ENCRYPTED PRIVATE KEY" PEM block in
// pemBytes, or the second if the passphrase opens that one (a key file in
// the middle of a passphrase change: MaxEncryptions). Besides what MarshalEncryptedPEM writes it reads what
// `openssl pkcs8 -topk8 -v2 sm4-cbc|aes-256-cbc` writes (PBES2, PBKDF2 with
// HMAC-SHA1/SHA-2/SM3, SM4- or AES-CBC) and the GM/T SM-PBES variant. A
// wrong passphrase yields an error wrapping ErrBadPassphrase; a plaintext
// key, ErrUnencryptedKey.
func ParseEncryptedPEM(pemBytes, passphrase []byte) (crypto.Signer, error) {
	return parsePEM(pemBytes, Options{Passphrase: passphrase})
}

// MaxEncryptions is the most "ENCRYPTED PRIVATE KEY" blocks a key file
// may hold. A key file holds one, but while package keys/keeper changes
// its passphrase it holds two encryptions of the same key, under the new
// passphrase and the old one, so that it opens with either until the new
// passphrase is in place (see keeper.RotatePassphrase).
const MaxEncryptions = 2

// parsePEM reads the first private key PEM block in b, decrypting it with
// opts.Passphrase, or reading it in the clear if opts allows. If that
// block is encrypted, so may be the next one (MaxEncryptions): the key of
// the first the passphrase decrypts is returned.
func parsePEM(b []byte, opts Options) (crypto.Signer, error) {
	blocks := privateKeyBlocks(b)
	if len(blocks) == 0 {
		return nil, fmt.Errorf("%w: no PEM private key block in %d bytes of input", ErrMalformedKey, len(b))
	}
	block := blocks[0]
	if block.Type == pemEncrypted {
		return decryptEach(EncryptedBlocks(b), opts.Passphrase)
	}
	if _, legacy := block.Headers["Proc-Type"]; legacy {
		return nil, fmt.Errorf("%w: legacy OpenSSL-encrypted %q block (Proc-Type header): re-encrypt it as PKCS#8 (openssl pkcs8 -topk8 -v2 sm4-cbc)", ErrUnsupportedKey, block.Type)
	}
	if !opts.AllowUnencrypted {
		return nil, fmt.Errorf("%w: refusing plaintext %q PEM block: keys must rest encrypted (openssl pkcs8 -topk8 -v2 sm4-cbc, or keys.MarshalEncryptedPEM)", ErrUnencryptedKey, block.Type)
	}
	var (
		key any
		err error
	)
	switch block.Type {
	case pemPKCS8:
		key, err = smx509.ParsePKCS8PrivateKey(block.Bytes)
	case pemSEC1, pemSM2:
		key, err = smx509.ParseTypedECPrivateKey(block.Bytes)
	case pemPKCS1:
		key, err = smx509.ParsePKCS1PrivateKey(block.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %q block: %v", ErrMalformedKey, block.Type, err)
	}
	return checkSigner(key)
}

// privateKeyBlocks returns the private key PEM blocks of b, in order.
func privateKeyBlocks(b []byte) []*pem.Block {
	var out []*pem.Block
	for rest := b; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return out
		}
		if isPrivateKeyType(block.Type) {
			out = append(out, block)
		}
	}
}

// EncryptedBlocks returns the "ENCRYPTED PRIVATE KEY" PEM blocks of a key
// file, in order.
func EncryptedBlocks(pemBytes []byte) []*pem.Block {
	var out []*pem.Block
	for _, b := range privateKeyBlocks(pemBytes) {
		if b.Type == pemEncrypted {
			out = append(out, b)
		}
	}
	return out
}

// decryptEach returns the key of the first of blocks that passphrase
// decrypts. Only a wrong passphrase moves on to the next block; a block
// that is malformed or unsupported fails at once.
func decryptEach(blocks []*pem.Block, passphrase []byte) (crypto.Signer, error) {
	if len(blocks) > MaxEncryptions {
		return nil, fmt.Errorf("%w: %d encrypted private key blocks (at most %d: the key under its passphrase, and under the previous one while the passphrase changes)", ErrMalformedKey, len(blocks), MaxEncryptions)
	}
	var first error
	for _, b := range blocks {
		key, err := decryptPKCS8(b.Bytes, passphrase)
		if err == nil {
			return key, nil
		}
		if !errors.Is(err, ErrBadPassphrase) {
			return nil, err
		}
		first = cmp.Or(first, err)
	}
	if len(blocks) == 1 {
		return nil, first
	}
	return nil, fmt.Errorf("%w: it opens neither of the key's %d encryptions (a passphrase change was in progress)", ErrBadPassphrase, len(blocks))
}

func isPrivateKeyType(t string) bool {
	switch t {
	case pemEncrypted, pemPKCS8, pemSEC1, pemSM2, pemPKCS1:
		return true
	}
	return false
}

// encryptedPrivateKeyInfo is RFC 5958 §3.
type encryptedPrivateKeyInfo struct {
	Algorithm     pkix.AlgorithmIdentifier
	EncryptedData []byte
}

// pbkdf2Params is RFC 8018 §A.2 with the salt's "specified" choice only.
type pbkdf2Params struct {
	Salt       []byte
	Iterations int
	KeyLength  int                      `asn1:"optional"`
	PRF        pkix.AlgorithmIdentifier `asn1:"optional"`
}

// privateKeyInfo is RFC 5958 OneAsymmetricKey, used only to tell a correct
// decryption from garbage before handing the bytes to smx509.
type privateKeyInfo struct {
	Version    int
	Algorithm  pkix.AlgorithmIdentifier
	PrivateKey []byte
	Attributes asn1.RawValue `asn1:"optional,tag:0"`
	PublicKey  asn1.RawValue `asn1:"optional,tag:1"`
}

// decryptPKCS8 validates an EncryptedPrivateKeyInfo completely (so that no
// hostile parameter reaches code that panics or loops on it), then
// decrypts it with gmsm's PBES2 implementation.
func decryptPKCS8(der, passphrase []byte) (crypto.Signer, error) {
	params, err := checkPBES2(der)
	if err != nil {
		return nil, err
	}
	if len(passphrase) == 0 {
		return nil, fmt.Errorf("%w: the key is encrypted and the passphrase is empty", ErrBadPassphrase)
	}
	plain, _, err := params.Decrypt(passphrase, params.ciphertext)
	if err != nil {
		return nil, fmt.Errorf("%w (or the key is corrupted): %v", ErrBadPassphrase, err)
	}
	defer clear(plain)
	var info privateKeyInfo
	if rest, err := asn1.Unmarshal(plain, &info); err != nil || len(rest) != 0 {
		// CBC padding checks out by chance for about 1 wrong passphrase in 256.
		return nil, fmt.Errorf("%w (or the key is corrupted): decrypted bytes are not a PKCS#8 key", ErrBadPassphrase)
	}
	key, err := smx509.ParsePKCS8PrivateKey(plain)
	if err != nil {
		return nil, fmt.Errorf("%w: decrypted PKCS#8 key with algorithm %v: %v", ErrUnsupportedKey, info.Algorithm.Algorithm, err)
	}
	return checkSigner(key)
}

// pbes2 is a validated PBES2 parameter set plus the ciphertext it protects.
type pbes2 struct {
	pkcs.PBES2Params
	ciphertext []byte
}

// checkPBES2 parses an EncryptedPrivateKeyInfo and checks every parameter
// against what this package supports.
func checkPBES2(der []byte) (*pbes2, error) {
	var info encryptedPrivateKeyInfo
	if rest, err := asn1.Unmarshal(der, &info); err != nil {
		return nil, fmt.Errorf("%w: EncryptedPrivateKeyInfo: %v", ErrMalformedKey, err)
	} else if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes after EncryptedPrivateKeyInfo", ErrMalformedKey, len(rest))
	}
	alg := info.Algorithm.Algorithm
	if !alg.Equal(oidPBES2) && !alg.Equal(oidSMPBES) {
		return nil, fmt.Errorf("%w: encryption scheme %v (want PBES2 %v; PBES1 is too weak to accept)", ErrUnsupportedKey, alg, oidPBES2)
	}
	var p pbes2
	if rest, err := asn1.Unmarshal(info.Algorithm.Parameters.FullBytes, &p.PBES2Params); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("%w: PBES2 parameters: %v", ErrMalformedKey, errOrTrailing(err, rest))
	}
	kdf := p.KeyDerivationFunc.Algorithm
	if !kdf.Equal(oidPBKDF2) && !kdf.Equal(oidSMPBKDF) {
		return nil, fmt.Errorf("%w: key derivation function %v (want PBKDF2 %v)", ErrUnsupportedKey, kdf, oidPBKDF2)
	}
	var kp pbkdf2Params
	if rest, err := asn1.Unmarshal(p.KeyDerivationFunc.Parameters.FullBytes, &kp); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("%w: PBKDF2 parameters: %v", ErrMalformedKey, errOrTrailing(err, rest))
	}
	if kp.Iterations < 1 || kp.Iterations > maxIterations {
		return nil, fmt.Errorf("%w: PBKDF2 iteration count %d outside [1, %d]", ErrMalformedKey, kp.Iterations, maxIterations)
	}
	if len(kp.Salt) == 0 || len(kp.Salt) > 1024 {
		return nil, fmt.Errorf("%w: PBKDF2 salt of %d bytes", ErrMalformedKey, len(kp.Salt))
	}
	if prf := kp.PRF.Algorithm; len(prf) != 0 && !prf.Equal(oidHMACSM3) && !prf.Equal(oidHMACSHA1) && !isHMACSHA2(prf) {
		return nil, fmt.Errorf("%w: PBKDF2 PRF %v", ErrUnsupportedKey, prf)
	}
	enc := p.EncryptionScheme.Algorithm
	keySize, ok := cbcKeySize[enc.String()]
	if !ok {
		return nil, fmt.Errorf("%w: cipher %v (want SM4-CBC %v or AES-CBC)", ErrUnsupportedKey, enc, oidSM4CBC)
	}
	if kp.KeyLength != 0 && kp.KeyLength != keySize {
		return nil, fmt.Errorf("%w: PBKDF2 key length %d for a %d-byte cipher key", ErrMalformedKey, kp.KeyLength, keySize)
	}
	var iv []byte
	if rest, err := asn1.Unmarshal(p.EncryptionScheme.Parameters.FullBytes, &iv); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("%w: cipher IV: %v", ErrMalformedKey, errOrTrailing(err, rest))
	}
	const block = 16 // SM4 and AES
	if len(iv) != block {
		return nil, fmt.Errorf("%w: %d-byte IV for a %d-byte block cipher", ErrMalformedKey, len(iv), block)
	}
	if n := len(info.EncryptedData); n == 0 || n%block != 0 {
		return nil, fmt.Errorf("%w: %d bytes of ciphertext is not a whole number of %d-byte blocks", ErrMalformedKey, n, block)
	}
	p.ciphertext = info.EncryptedData
	return &p, nil
}

func isHMACSHA2(oid asn1.ObjectIdentifier) bool {
	if len(oid) != len(oidRSADSI2)+1 || !oid[:len(oidRSADSI2)].Equal(oidRSADSI2) {
		return false
	}
	last := oid[len(oid)-1]
	return last >= 8 && last <= 13
}

func errOrTrailing(err error, rest []byte) error {
	if err != nil {
		return err
	}
	return fmt.Errorf("%d trailing bytes", len(rest))
}

// checkSigner returns key as a crypto.Signer if it is a key type sealpipe
// signs with: SM2, ECDSA or RSA. An ECDSA key on the SM2 curve comes back as
// an *sm2.PrivateKey so that it signs with SM2, not ECDSA.
func checkSigner(key any) (crypto.Signer, error) {
	switch k := key.(type) {
	case *sm2.PrivateKey:
		return k, nil
	case *ecdsa.PrivateKey:
		if k.Curve == sm2.P256() {
			s, err := new(sm2.PrivateKey).FromECPrivateKey(k)
			if err != nil {
				return nil, fmt.Errorf("%w: %v", ErrMalformedKey, err)
			}
			return s, nil
		}
		return k, nil
	case *rsa.PrivateKey:
		return k, nil
	case nil:
		return nil, errors.New("keys: nil key")
	}
	return nil, fmt.Errorf("%w: key type %T (want SM2, ECDSA or RSA)", ErrUnsupportedKey, key)
}
