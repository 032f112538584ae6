// Package ofdseal verifies the signatures of OFD documents (GB/T 33190-2016
// §18, 数字签名) and, in its seal files, adds them.
//
// [Verify] checks every Signature listed in every document's Signatures.xml
// (§18.2.1):
//
//   - Type="Seal" (签章): SignedValue holds a GB/T 38540-2020 SES_Signature
//     (or a GM/T 0031-2014 one, or ofdrw's "v5"), decoded and checked by
//     package ses over its original bytes; its dataHash must be the SM3 of
//     the Signature.xml file's bytes (GB/T 38540 §7.3 b, g; STANDARDS.md).
//     propertyInfo is reported, not enforced: producers write the
//     Signature.xml path, a relative path or an identifier.
//   - Type="Sign" (签名): SignedValue holds either a GB/T 35275 (GM/T 0010)
//     SignedData, detached over Signature.xml or carrying it (or its SM3) as
//     content, checked with gmsm's pkcs7; or a bare SM2 signature value
//     (DER or raw r||s) over Signature.xml with the default signer ID, whose
//     signer is unknown unless a candidate certificate is supplied with
//     [WithCertificates].
//
// For both, each References/Reference CheckValue (§18.2.2, Table 69) must
// be the digest of the referenced file's bytes under References/@CheckMethod
// (SM3, spelled "SM3", "sm3" or as the OID 1.2.156.10197.1.401 or an arc
// below it; SHA-256 only where stated; absent, SM3 is assumed, as every
// producer seen uses it — the standard's MD5 default is refused as weak).
// A Type="Seal" signature's Seal/BaseLoc file, when named, must be byte for
// byte the SESeal its SES_Signature signs ([ErrSealMismatch]: the seal shown
// is not the seal signed; Invalid). Its SES_Signature timeStamp, if
// present, must be an RFC 3161 token over the signature value that
// verifies with the TSA certificate it carries and is not earlier than the
// claimed signing time (GB/T 38540 §7.3 h; Result.TimeStampErr, apart from
// Status; the TSA's trust is the caller's to judge).
//
// Then coverage is judged, per document (DocBody): a file of the document —
// under its DocRoot's folder, or under no document's folder — that a
// signature does not protect, that is no part of a signature
// (Signatures.xml, a Signature.xml, its SignedValue and seal file), and
// that no later signature of the document protects either, is a change
// after signing ([ErrModified]). When Signatures.xml
// is itself among a signature's references (whole-protected mode), adding a
// later signature changes it and fails the earlier one, as the standard
// intends.
//
// [Seal] adds a Type="Seal" signature (GB/T 33190 §18, GB/T 38540 §7.2) to
// the first document of a package and writes a new package in which every
// input entry is copied raw. What it writes follows ofdrw, the producer
// most verifiers are tested against (../shared/conformance/ofd): absolute
// locations, Signs/Sign_N/ folders holding Signature.xml, SignedValue.dat
// and Seal.esl, Seal.esl among the references, Signature and StampAnnot IDs
// drawn from one counter that MaxSignId records (SESV4SignDoc.ofd), and for
// a riding seal one StampAnnot per page whose Boundary is the whole picture
// and whose Clip is the page's slice (V4RideRight.ofd). Only Signatures.xml
// is left out of the references unless Options.ProtectAll; a document whose
// existing signature protects a part sealing must change is refused
// ([ErrNoChangesPermitted]).
package ofdseal
