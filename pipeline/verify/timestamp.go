package verify

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/sealpipe/sealpipe/pipeline/ofdseal"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/pipeline/ses"
	"github.com/sealpipe/sealpipe/pipeline/trust"
)

// SubTimestampOrder is the sub-indication of a "timestamp" check whose
// token's genTime is earlier than the signing time the signature claims
// (ETSI EN 319 102-1 §5.1.3 TIMESTAMP_ORDER_FAILURE; GB/T 38540 §7.3 h).
const SubTimestampOrder = "TIMESTAMP_ORDER_FAILURE"

// timestampClause is the step the "timestamp" check implements.
const timestampClause = "GB/T 38540 §7.3 h; RFC 3161"

// timestampCheck is the "timestamp" check of every format (GB/T 38540 §7.3
// h): present tells whether the signature holds a timestamp at all, tok is
// the token when it decodes, err the signature verifier's verdict on it
// (see ofdseal.Result.TimeStampErr). The verdicts:
//   - none: NOT_APPLICABLE;
//   - bytes that are not a token (ofdrw writes a 6-byte placeholder):
//     INDETERMINATE, FORMAT_FAILURE — the field is unsigned and proves no
//     time, but (h) cannot pass on it;
//   - a token over other data, one whose signature does not verify with
//     the TSA certificate it carries, one earlier than the claimed signing
//     time: FAILED — the token is present and not valid, what (h) forbids;
//   - a token that cannot be checked (no TSA certificate, an unsupported
//     algorithm) or whose TSA does not chain, at genTime, to a trusted root
//     through a certificate for time-stamping only (RFC 3161 §2.3):
//     INDETERMINATE, with the chain check's sub-indication.
func (v *Verifier) timestampCheck(present bool, tok *ses.TimeStampToken, err error) report.Check {
	c := report.Check{Name: "timestamp", Clause: timestampClause, Result: report.OK}
	if !present {
		c.Result, c.Detail = report.Skipped, "no timestamp token"
		return c
	}
	if err != nil {
		c.Detail = err.Error()
		switch {
		case errors.Is(err, ses.ErrTimeStamp):
			c.Result, c.SubIndication = report.Unknown, report.SubFormatFailure
		case errors.Is(err, ses.ErrTimeStampMismatch):
			c.Result, c.SubIndication = report.NotOK, report.SubHashFailure
		case errors.Is(err, ses.ErrSignature):
			c.Result, c.SubIndication = report.NotOK, report.SubSigCryptoFailure
		case errors.Is(err, ofdseal.ErrTimeStampTime):
			c.Result, c.SubIndication = report.NotOK, SubTimestampOrder
		case errors.Is(err, ses.ErrTimeStampSigner):
			c.Result, c.SubIndication = report.Unknown, report.SubNoChain
		default:
			c.Result, c.SubIndication = report.Unknown, report.SubAlgorithmUnsupported
		}
		return c
	}
	if tok == nil || tok.Signer == nil {
		c.Result, c.SubIndication, c.Detail = report.Unknown, report.SubNoChain, "timestamp token without a TSA certificate"
		return c
	}
	stamped := fmt.Sprintf("stamped at %s by %s", tok.GenTime.Format(time.RFC3339), trust.Name(tok.Signer))
	if !timeStampingOnly(tok.Signer) {
		c.Result, c.SubIndication = report.Unknown, report.SubChainConstraints
		c.Detail = stamped + ": the TSA certificate's extended key usage is not id-kp-timeStamping alone (RFC 3161 §2.3)"
		return c
	}
	chain := v.chainCheck("timestamp", timestampClause, tok.Signer, tok.Certificates, tok.GenTime, trust.UsageAny)
	chain.Detail = stamped + "; " + chain.Detail
	return chain
}

// timeStampingOnly reports whether c's extended key usage is exactly
// id-kp-timeStamping (RFC 3161 §2.3).
func timeStampingOnly(c *smx509.Certificate) bool {
	return len(c.UnknownExtKeyUsage) == 0 && slices.Equal(c.ExtKeyUsage, []smx509.ExtKeyUsage{smx509.ExtKeyUsageTimeStamping})
}
