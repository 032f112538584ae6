package workers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"

	"github.com/sealpipe/sealpipe/pipeline"
)

// TaskCounts counts a batch's tasks in the queue by state. A batch report
// waiting for its documents shows as Scheduled (its next look) or Retry.
// Documents says how much sealing those tasks hold, since a documents:seal
// task seals a whole chunk.
type TaskCounts struct {
	// Pending tasks wait for a worker; Active ones are being processed.
	Pending int `json:"pending"`
	Active  int `json:"active"`
	// Scheduled tasks wait for their time; Retry ones failed and wait for
	// their next attempt.
	Scheduled int `json:"scheduled"`
	Retry     int `json:"retry"`
	// Archived tasks failed for good and are kept for inspection.
	Archived int `json:"archived"`
	// Documents counts the documents that the seal tasks still to run
	// (archived ones aside) name: every document of a documents:seal
	// task, one for a document:seal task.
	Documents int `json:"documents"`
}

// Total is the number of tasks still to run (archived ones aside).
func (c TaskCounts) Total() int { return c.Pending + c.Active + c.Scheduled + c.Retry }

// inspectPageSize is the page size of the queue listings BatchTasks reads.
const inspectPageSize = 500

// BatchTasks counts the tasks of batch ref in bucket in the queue (queue
// empty means "default") on redis. It only reads. A queue that does not
// exist yet counts no tasks.
func BatchTasks(ctx context.Context, redis Redis, queue, bucket string, ref pipeline.BatchRef) (TaskCounts, error) {
	if queue == "" {
		queue = "default"
	}
	ins := asynq.NewInspector(redis.connOpt())
	defer ins.Close()
	var c TaskCounts
	lists := []struct {
		n    *int
		list func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error)
		open bool // its tasks are still to run
	}{
		{&c.Pending, ins.ListPendingTasks, true},
		{&c.Active, ins.ListActiveTasks, true},
		{&c.Scheduled, ins.ListScheduledTasks, true},
		{&c.Retry, ins.ListRetryTasks, true},
		{&c.Archived, ins.ListArchivedTasks, false},
	}
	for _, l := range lists {
		for page := 1; ; page++ {
			if err := ctx.Err(); err != nil {
				return c, err
			}
			tasks, err := l.list(queue, asynq.PageSize(inspectPageSize), asynq.Page(page))
			if errors.Is(err, asynq.ErrQueueNotFound) {
				return c, nil
			}
			if err != nil {
				return c, fmt.Errorf("workers: inspect queue %q: %w", queue, err)
			}
			for _, t := range tasks {
				var p ChunkPayload
				if json.Unmarshal(t.Payload, &p) != nil || p.Bucket != bucket || p.Ref() != ref {
					continue
				}
				*l.n++
				if !l.open {
					continue
				}
				switch t.Type {
				case TypeDocumentsSeal:
					c.Documents += len(p.Documents)
				case TypeDocumentSeal:
					c.Documents++
				}
			}
			if len(tasks) < inspectPageSize {
				break
			}
		}
	}
	return c, nil
}
