package pipeline

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/emmansun/gmsm/sm3"

	"github.com/sealpipe/sealpipe/pipeline/pdfseal"
	"github.com/sealpipe/sealpipe/pipeline/report"
	"github.com/sealpipe/sealpipe/pipeline/trust"
	"github.com/sealpipe/sealpipe/storage"
	"github.com/sealpipe/sealpipe/templates/verifymark"
)

// CodeRecord is the index entry of a sealed document's verification code
// (DocumentCode), stored signed under CodeKey: where the document and its
// report are.
type CodeRecord struct {
	// Code is the verification code, in report.VerificationCode's form.
	Code string `json:"code"`
	// Department, Batch and Document identify the document.
	Department string `json:"department"`
	Batch      string `json:"batch"`
	Document   string `json:"document"`
	// Sealed and Report are the keys of the sealed output and its report.
	Sealed string `json:"sealed"`
	Report string `json:"report"`
}

// ErrUnknownCode means no sealed document has the verification code.
var ErrUnknownCode = errors.New("pipeline: no sealed document has this verification code")

// CodeKey is the key of the index entry of code, a code in
// report.VerificationCode's form: codes/<code without dashes>.json.
func CodeKey(code string) string {
	return storage.PrefixCodes + strings.ReplaceAll(code, "-", "") + ".json"
}

// DocumentCode returns the verification code of the document name of
// batch ref, approved with the SM3 digest digest (hex): report.VerificationCode
// of the SM3 of a version tag, the digest and the document's department, batch
// and name. It is derived from the digest of the document as approved,
// not as sealed, because it is printed on the document when it is sealed
// (Config.VerifyBaseURL), and no document can print its own digest; and
// it is unique to the sealing, since the same bytes approved in two
// batches are two sealed documents, each with its own report.
func DocumentCode(ref BatchRef, name, digest string) string {
	h := sm3.New()
	for _, s := range []string{"sealpipe verification code v1", digest, ref.Department, ref.Batch, name} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	code, _ := report.VerificationCode(hex.EncodeToString(h.Sum(nil))) // an SM3 digest always makes one
	return code
}

// indexCode writes the index entry of the sealed document name, whose
// report is rep, under rep.VerificationCode. Create-only: the first entry
// written stands, so a retry rewrites nothing, and of two documents whose
// codes collide (80 bits) the first keeps the code.
func (p *Pipeline) indexCode(ctx context.Context, ref BatchRef, name string, rep *report.Document) error {
	code := rep.VerificationCode
	return p.putRecord(ctx, CodeKey(code), CodeRecord{
		Code: code, Department: ref.Department, Batch: ref.Batch, Document: name,
		Sealed: ref.SealedKey(name), Report: ref.ReportKey(name),
	})
}

// ReportByCode returns the report of the sealed document whose
// verification code is code (as people type it: ParseVerificationCode),
// read from st through the code's index entry; both must be records the
// pipeline signed, as pool checks. It returns an error wrapping
// ErrUnknownCode for a code that is malformed or that no document has,
// and ErrTampered for a record the pipeline did not sign.
func ReportByCode(ctx context.Context, st storage.Store, pool *trust.Pool, code string) (*CodeRecord, *report.Document, error) {
	code, err := report.ParseVerificationCode(code)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrUnknownCode, err)
	}
	var rec CodeRecord
	if err := readRecord(ctx, st, pool, CodeKey(code), &rec); err != nil {
		if errors.Is(err, storage.ErrNotExist) {
			return nil, nil, fmt.Errorf("%w: %s", ErrUnknownCode, code)
		}
		return nil, nil, err
	}
	if rec.Code != code || !strings.HasPrefix(rec.Report, storage.PrefixReports) {
		return nil, nil, fmt.Errorf("%w: %s names code %q and report %q", ErrTampered, CodeKey(code), rec.Code, rec.Report)
	}
	var rep report.Document
	if err := readRecord(ctx, st, pool, rec.Report, &rep); err != nil {
		return nil, nil, err
	}
	if c := reportCode(&rep); c != code {
		return nil, nil, fmt.Errorf("%w: %s: the report is of a document whose code is %q, not %s", ErrTampered, rec.Report, c, code)
	}
	rep.VerificationCode = code
	return &rec, &rep, nil
}

// reportCode is the verification code of the document rep reports on: its
// VerificationCode or, in a report written before reports held it, the
// code of the sealed output's SM3, which the pipeline indexed then.
func reportCode(rep *report.Document) string {
	if rep.VerificationCode != "" {
		return rep.VerificationCode
	}
	c, _ := report.VerificationCode(rep.SM3)
	return c
}

// readRecord reads the record under key into v, checking that the
// pipeline signed it (ErrTampered otherwise).
func readRecord(ctx context.Context, st storage.Store, pool *trust.Pool, key string, v any) error {
	b, _, err := storage.ReadAll(ctx, st, key, maxRecordSize)
	if err != nil {
		return err
	}
	return openRecord(key, b, v, pool)
}

// mark is the verification mark of code to print under the first seal
// (Config.VerifyBaseURL), or nil when none is printed.
func (p *Pipeline) mark(code string) (*pdfseal.Mark, error) {
	if p.cfg.VerifyBaseURL == "" {
		return nil, nil
	}
	return verifymark.New(code, p.cfg.VerifyBaseURL)
}
