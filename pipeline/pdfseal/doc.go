// Package pdfseal seals PDF documents and verifies the signatures in them.
//
// [Seal] adds a visible seal — a picture on a page — and a digital
// signature over the document, written as one incremental update (ISO
// 32000-1 §7.5.6): the input's bytes are an exact prefix of the output, so
// signatures already in the document stay valid. The update holds the
// picture as an image XObject (RGB, FlateDecode, with an /SMask for the
// PNG's alpha — or, in a document claiming PDF/A-1 in its XMP metadata,
// which forbids soft masks (ISO 19005-1 §6.4), a 1-bit stencil /Mask),
// an appearance form drawing it, a signature field merged with
// its widget annotation (§12.7.4.5, §12.5.6.19), the signature dictionary
// (§12.8.1), new versions of the page (/Annots) and of the interactive form
// (/AcroForm /Fields, /SigFlags 3), and a cross-reference section of the
// same kind as the input's last one (a table, §7.5.4, or a stream,
// §7.5.8) chained to it with /Prev.
//
// # Placements
//
// [Placement] says where the picture goes, in millimetres on the page as
// displayed (after /Rotate, in /UserUnit; the picture is drawn upright):
//
//   - a box X, Y from a corner of the page, to the box's nearest corner
//     (Corner; lower-left by default, PDF's own origin, §8.3.2.3);
//   - a box centred on a keyword (Keyword), such as the issuing unit's name
//     or "（盖章）", found on the page, on each listed page, or on the first
//     page that shows it. The text is read by running the page's content
//     streams and the Form XObjects they paint (§7.8.2, §8.10; depth 8):
//     the CTM and q/Q (§8.4.4), the text state Tc, Tw, Tz, TL, Tf, Ts
//     (§9.3), the text matrices of BT, Td, TD, Tm, T* (§9.4.2), and
//     Tj, TJ, ' and " (§9.4.3), each character's text from its font's
//     /ToUnicode CMap (§9.10.3) or else its encoding — simple fonts with
//     WinAnsi, MacRoman or Standard encoding and /Differences (Annex D,
//     glyph names through the Adobe Glyph List), composite fonts with
//     Identity-H/V and the predefined Unicode, GB, Big5, Shift-JIS, EUC-JP
//     and KSC CMaps (§9.7.5.2), an embedded CMap's codespace — and its
//     width from /Widths, /W and /DW, or a standard 14 font's metrics.
//     Only text whose centre lies in the crop box counts; hidden text
//     (clipped, white, rendering mode 3) does. Keyword and text are
//     compared in NFKC with white space ignored. The search is bounded
//     (decoded bytes, operators, characters, nesting) like every other
//     walk over hostile input here; passing a bound, or a page without the
//     keyword, is [ErrPlacement] naming the keyword and the page;
//   - the same box on several pages (Pages, AllPages), or a riding seal
//     (骑缝章, Riding): the picture cut into one vertical strip per page,
//     strip i against the right edge of page i, as package ofdseal cuts
//     an OFD's.
//
// Whatever the mode, the seal is one signature. One widget is merged with
// its field as above; several are the kids of one signature field that
// holds the signature (§12.7.3.1; table 188: each widget has /Parent),
// sharing one appearance form where their size and orientation agree (a
// riding seal's strips each have their own, clipping the picture to the
// strip with its /BBox, §8.10.1). Poppler before version 26 reads such
// widget kids as fields of their own and lists them unsigned; Verify,
// qpdf and later poppler read one signature.
//
// Options.Certify makes the signature a certification signature (§12.8.1,
// §12.8.2.2): a /Reference to the DocMDP transform with the permission
// /P 1, 2 or 3 (/V /1.2) in the signature dictionary, and /Perms /DocMDP
// in the catalog (§12.8.4). A certification must be the document's first
// signature: a signed or certified document is refused ([ErrCertify]).
// Verify reports the permission in Result.DocMDP and judges later
// revisions against it.
//
// The signature is /Filter /Adobe.PPKLite /SubFilter /adbe.pkcs7.detached
// (§12.8.3.3): a detached CMS SignedData over the ByteRange bytes. Its
// algorithm follows the signer's key:
//
//   - SM2 keys give the GM/T 0010 (GB/T 35275) form: content types
//     1.2.156.10197.6.1.4.2.1 / .2, SM3 digest, SM2 signature
//     (1.2.156.10197.1.301.1) with the default signer ID 1234567812345678
//     over the DER signed attributes (contentType, signingTime,
//     messageDigest). OpenSSL 3 can check the signature value with
//     `pkeyutl -verify -rawin -digest sm3 -pkeyopt distid:1234567812345678`.
//   - ECDSA and RSA keys give an ordinary PKCS#7 SHA-256 signature that
//     Adobe Reader and poppler's pdfsig check.
//
// Options.Format chooses another format: gmt0010 (the form above, SM2
// only), pkcs7 (SM2/SM3 with the PKCS#7 content types, so that poppler and
// Acrobat name the signer), ses (the GB/T 38540 SES_Signature in /Contents,
// /SubFilter /GBT38540.SES_Signature, its dataHash the SM3 of the
// ByteRange bytes) and pades-b-b / pades-b-t (ETSI EN 319 142-1:
// /SubFilter /ETSI.CAdES.detached, ESS signing-certificate-v2 and no
// signingTime, for ECDSA and RSA keys; B-T adds an RFC 3161
// signature-time-stamp from Options.TimeStamper over the signature value).
// [Verify] reads every format and reports it in Result.Format, with the
// timestamp in Result.TimeStamp.
//
// The key is used only through crypto.Signer, so keys held in an HSM work:
// for SM2, Sign receives the DER signed attributes and
// sm2.DefaultSM2SignerOpts, as with github.com/emmansun/gmsm/pkcs7.
//
// When Options.SealData holds a GB/T 38540 SESeal, it is stored in the
// signature dictionary under /SESeal, inside the bytes the signature covers,
// and [Verify] returns it in Result.SealData. Every entry of the signature
// dictionary precedes /Contents, so that little follows the signature.
//
// Sealing at the cost of the cryptography: [Update] returns only the
// update ([Sealed]); a caller that has just hashed the input with SM3 (the
// pipeline checks every document against its approved digest) hands the
// state over as Options.Prefix, so the signature's digest and the sealed
// file's SM3 ([Sealed].SM3) continue it, and the input is hashed once in
// all. [Sealed.Check] then checks what was written — each object where
// the update's cross-reference section puts it, startxref, the ByteRange
// and /Contents as written, the signature value over the digest signed —
// without parsing or hashing the document again; [VerifyWith] with a
// Prefix verifies a document whose first bytes the caller has hashed.
//
// [Verify] finds the signature fields of a document and checks each
// signature's integrity: the ByteRange, the digest of the covered bytes and
// the signature value. It reads each signature dictionary as the signature
// covers it, so a later incremental update cannot change what is reported.
// It handles what Seal writes and ordinary RSA/ECDSA adbe.pkcs7.detached
// and ETSI.CAdES.detached signatures. It does not judge trust: certificate
// chains, validity periods and revocation belong to the caller, which gets
// the certificates in the Result.
//
// The input is read lazily with package pipeline/pdffile, under a size
// limit and its bounds: Seal reads the trailer and cross-reference data,
// the catalog, the interactive form, the page tree and the target pages
// with their content streams located, not decoded — decoded, with their
// fonts, only on the pages a keyword is looked for on; Verify reads the form's
// field tree and each signature dictionary where the signed bytes hold it.
// The document need not be in memory: [UpdateReader], [VerifyReader] and
// [Sealed.CheckReader] read it through an io.ReaderAt, what this package
// parses itself in windows of about its size (the tail, a
// cross-reference section, the text around a signature's /Contents), and
// stream what they hash or scan (the ByteRange, the revision count)
// through a fixed-size buffer; the []byte functions wrap them. A 1 GiB
// document seals and verifies in well under 100 MiB (cmd/sealpipe's
// TestLargeFileBoundedMemory). Damage pdffile repairs is judged by Seal (see xrefRepairs): an object a
// few bytes from the offset its entry gives makes the update's
// cross-reference section complete, chained to nothing; a missing endobj
// is sealed as is; other repairs are refused as [ErrMalformed]. Only when
// a signature does not cover the whole file does Verify read every object
// of the revisions after it, to compare them. Values are pdfcpu's
// (github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types), as pdffile gives them;
// objects are written by this package, never by pdfcpu (whose writer
// rewrites the whole file).
package pdfseal
