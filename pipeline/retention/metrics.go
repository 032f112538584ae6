package retention

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the retention rule's Prometheus collectors. A nil *Metrics
// records nothing.
type Metrics struct {
	batches *prometheus.CounterVec
	objects *prometheus.CounterVec
	bytes   *prometheus.CounterVec
}

// NewMetrics creates the collectors and registers them with reg:
//
//	sealpipe_inbox_pruned_batches_total{outcome}  inboxes archived, deleted, or kept because pruning failed
//	sealpipe_inbox_pruned_objects_total{outcome}  their objects archived or deleted
//	sealpipe_inbox_pruned_bytes_total{outcome}    their bytes
func NewMetrics(reg prometheus.Registerer) *Metrics {
	vec := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sealpipe", Subsystem: "inbox", Name: name, Help: help,
		}, []string{"outcome"})
	}
	m := &Metrics{
		batches: vec("pruned_batches_total", "Inboxes of finished batches pruned by the retention rule, by outcome (archived, deleted, failed: kept after an error)."),
		objects: vec("pruned_objects_total", "Inbox objects the retention rule archived or deleted, by outcome."),
		bytes:   vec("pruned_bytes_total", "Bytes of inbox objects the retention rule archived or deleted, by outcome."),
	}
	reg.MustRegister(m.batches, m.objects, m.bytes)
	return m
}

// count records what became of one batch: an inbox archived, deleted or
// failed. Batches kept as not final, not due, or left by a dry run are
// not counted.
func (m *Metrics) count(r Result) {
	if m == nil {
		return
	}
	switch r.Outcome {
	case Archived, Deleted:
		m.objects.WithLabelValues(string(r.Outcome)).Add(float64(r.Objects))
		m.bytes.WithLabelValues(string(r.Outcome)).Add(float64(r.Bytes))
		fallthrough
	case Failed:
		m.batches.WithLabelValues(string(r.Outcome)).Inc()
	}
}
