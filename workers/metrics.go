package workers

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sealpipe/sealpipe/pipeline/report"
)

// Metrics are the workers' Prometheus collectors. A nil *Metrics records nothing.
type Metrics struct {
	documents *prometheus.CounterVec
	sealTime  prometheus.Histogram
	handoffs  prometheus.Counter
}

// NewMetrics creates the collectors and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		documents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sealpipe_documents_total",
			Help: "Documents processed, by outcome (sealed or rejected).",
		}, []string{"outcome"}),
		sealTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sealpipe_document_seconds",
			Help:    "Time to process one document: validation, sealing, verification and writes.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}),
		handoffs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sealpipe_document_handoffs_total",
			Help: "Documents a chunk task handed off to a task of their own, to wait for their upload or be retried.",
		}),
	}
	reg.MustRegister(m.documents, m.sealTime, m.handoffs)
	return m
}

func (m *Metrics) observe(out report.Outcome, d time.Duration) {
	if m == nil {
		return
	}
	m.documents.WithLabelValues(string(out)).Inc()
	if d > 0 {
		m.sealTime.Observe(d.Seconds())
	}
}

func (m *Metrics) handedOff() {
	if m != nil {
		m.handoffs.Inc()
	}
}
