// Package workers runs the sealing pipeline on Asynq: it defines the task
// types and their payloads, the handlers that drive package pipeline, the
// inbox poller that turns uploaded approvals into intake tasks, and the
// mapping from domain errors to Asynq's retry decisions. It is the only
// package that imports asynq; Start runs the workers, the Poller and the
// EventBridge feed them.
//
// Task flow for one batch:
//
//	batch:intake    validate the approval; reject the batch, or enqueue one
//	                documents:seal per chunk of up to Config.ChunkSize
//	                approved documents, in manifest order, and a
//	                batch:report
//	documents:seal  seal, verify and record a chunk's documents; hand each
//	                document that must wait for its upload or be retried
//	                off to its own document:seal, then succeed
//	document:seal   seal, verify and record one document, waiting for its
//	                upload and retrying failures; its final failure is
//	                recorded as the document's rejection
//	batch:report    once every document has an outcome, write
//	                reports/<dept>/<batch>/batch.json; until then it waits,
//	                polling a few listings (not counted as failures)
//
// Task IDs derive from the bucket, the object keys and the approval's ETag
// (for a chunk, the range of the manifest it covers), so a task enqueued
// twice (an event and the poller, a re-upload, a re-run intake) runs once;
// the pipeline's create-only writes make a task that runs twice harmless,
// and a chunk cut short is run again whole: its documents already done
// return their outcome at once.
package workers

import (
	"encoding/json"
	"fmt"

	"github.com/hibiken/asynq"

	"github.com/sealpipe/sealpipe/pipeline"
	"github.com/sealpipe/sealpipe/pipeline/approval"
)

// Task type names.
const (
	TypeBatchIntake   = "batch:intake"
	TypeDocumentSeal  = "document:seal"
	TypeDocumentsSeal = "documents:seal"
	TypeBatchReport   = "batch:report"
)

// BatchPayload is the payload of batch:intake and batch:report tasks.
type BatchPayload struct {
	Bucket     string `json:"bucket"`
	Department string `json:"department"`
	Batch      string `json:"batch"`
	// ApprovalETag identifies the approval version: for intake the ETag of
	// the approval's signature, for documents the manifest's.
	ApprovalETag string `json:"approval_etag,omitempty"`
}

// Ref returns the batch the payload names.
func (p BatchPayload) Ref() pipeline.BatchRef {
	return pipeline.BatchRef{Department: p.Department, Batch: p.Batch}
}

// DocumentPayload is the payload of a document:seal task.
type DocumentPayload struct {
	BatchPayload
	Document string `json:"document"`
}

// ChunkPayload is the payload of a documents:seal task: the documents
// First to First+len(Documents) of the manifest of approval ApprovalETag.
type ChunkPayload struct {
	BatchPayload
	First     int      `json:"first"`
	Documents []string `json:"documents"`
}

// NewBatchIntakeTask returns the intake task of a batch whose approval
// signature (approval.json.p7s, the last file of a batch) has the given ETag.
func NewBatchIntakeTask(bucket string, ref pipeline.BatchRef, signatureETag string) (*asynq.Task, error) {
	p := BatchPayload{Bucket: bucket, Department: ref.Department, Batch: ref.Batch, ApprovalETag: signatureETag}
	id := fmt.Sprintf("intake:%s/%s%s@%s", bucket, ref.Inbox(), approval.SignatureName, signatureETag)
	return newTask(TypeBatchIntake, p, id)
}

// NewDocumentSealTask returns the task that seals one approved document.
func NewDocumentSealTask(bucket string, ref pipeline.BatchRef, approvalETag, name string) (*asynq.Task, error) {
	p := DocumentPayload{BatchPayload{Bucket: bucket, Department: ref.Department, Batch: ref.Batch, ApprovalETag: approvalETag}, name}
	id := fmt.Sprintf("seal:%s/%s%s@%s", bucket, ref.Inbox(), name, approvalETag)
	return newTask(TypeDocumentSeal, p, id)
}

// NewDocumentsSealTask returns the task that seals a chunk of approved
// documents: names, the manifest's documents from index first on. Its ID
// names that range of the approval's manifest.
func NewDocumentsSealTask(bucket string, ref pipeline.BatchRef, approvalETag string, first int, names []string) (*asynq.Task, error) {
	p := ChunkPayload{BatchPayload{Bucket: bucket, Department: ref.Department, Batch: ref.Batch, ApprovalETag: approvalETag}, first, names}
	id := fmt.Sprintf("chunk:%s/%s%d-%d@%s", bucket, ref.Inbox(), first, first+len(names), approvalETag)
	return newTask(TypeDocumentsSeal, p, id)
}

// NewBatchReportTask returns the task that writes a batch's report.
func NewBatchReportTask(bucket string, ref pipeline.BatchRef) (*asynq.Task, error) {
	p := BatchPayload{Bucket: bucket, Department: ref.Department, Batch: ref.Batch}
	return newTask(TypeBatchReport, p, fmt.Sprintf("report:%s/%s", bucket, ref.Inbox()))
}

func newTask(typ string, payload any, id string) (*asynq.Task, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	return asynq.NewTask(typ, b, asynq.TaskID(id)), nil
}

func decode[T any](t *asynq.Task) (T, error) {
	var v T
	if err := json.Unmarshal(t.Payload(), &v); err != nil {
		return v, fmt.Errorf("workers: %s payload: %v: %w", t.Type(), err, asynq.SkipRetry)
	}
	return v, nil
}
