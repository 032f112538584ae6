package verifyapi

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sealpipe/sealpipe/pipeline/report"
)

// metrics are the server's Prometheus collectors. A nil *metrics records
// nothing.
type metrics struct {
	requests  *prometheus.CounterVec
	seconds   *prometheus.HistogramVec
	documents *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sealpipe_verify_requests_total",
			Help: "Requests to the verification service, by route (method and pattern; empty for none) and status code.",
		}, []string{"route", "status"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sealpipe_verify_request_seconds",
			Help:    "Time to serve one request of the verification service, by route.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}, []string{"route"}),
		documents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sealpipe_verify_documents_total",
			Help: "Documents the verification service verified, by verdict (TOTAL_PASSED, TOTAL_FAILED, INDETERMINATE).",
		}, []string{"indication"}),
	}
	reg.MustRegister(m.requests, m.seconds, m.documents)
	return m
}

func (m *metrics) observe(route string, status int, in report.Indication, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.seconds.WithLabelValues(route).Observe(d.Seconds())
	if in != "" {
		m.documents.WithLabelValues(string(in)).Inc()
	}
}
