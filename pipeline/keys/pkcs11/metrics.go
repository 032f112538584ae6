package pkcs11

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the pool's Prometheus collectors (see the package comment).
type metrics struct {
	inFlight *prometheus.GaugeVec
	wait     *prometheus.HistogramVec
	signs    *prometheus.CounterVec
	logins   *prometheus.CounterVec
	errors   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "sealpipe", Subsystem: "pkcs11", Name: "sessions_in_flight",
			Help: "Signatures in progress on the token, each holding a session.",
		}, []string{"token"}),
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "sealpipe", Subsystem: "pkcs11", Name: "session_wait_seconds",
			Help:    "Time a signature waited for a free session on the token.",
			Buckets: prometheus.ExponentialBuckets(100e-6, 4, 10), // 100 µs … 26 s
		}, []string{"token"}),
		signs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sealpipe", Subsystem: "pkcs11", Name: "signatures_total",
			Help: "Signatures the token made.",
		}, []string{"token"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sealpipe", Subsystem: "pkcs11", Name: "logins_total",
			Help: "C_Login calls that succeeded, including logins again after the token logged the pool out.",
		}, []string{"token"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sealpipe", Subsystem: "pkcs11", Name: "errors_total",
			Help: "Errors by kind, including those the pool recovered from by logging in again, reconnecting or failing over.",
		}, []string{"kind"}),
	}
	if reg == nil {
		return m, nil
	}
	err := errors.Join(
		register(reg, &m.inFlight), register(reg, &m.wait), register(reg, &m.signs),
		register(reg, &m.logins), register(reg, &m.errors),
	)
	if err != nil {
		return nil, fmt.Errorf("pkcs11: registering metrics: %w", err)
	}
	return m, nil
}

// register registers *c with reg. If reg already holds an equal
// collector, as when a second Backend uses the same registry, *c becomes
// that collector, so both Backends count into it.
func register[T prometheus.Collector](reg prometheus.Registerer, c *T) error {
	err := reg.Register(*c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(T); ok {
			*c = existing
			return nil
		}
	}
	return err
}

// slotMetrics are the collectors of one token, resolved once.
type slotMetrics struct {
	inFlight prometheus.Gauge
	wait     prometheus.Observer
	signs    prometheus.Counter
	logins   prometheus.Counter
}

func (m *metrics) forToken(token string) slotMetrics {
	return slotMetrics{
		inFlight: m.inFlight.WithLabelValues(token),
		wait:     m.wait.WithLabelValues(token),
		signs:    m.signs.WithLabelValues(token),
		logins:   m.logins.WithLabelValues(token),
	}
}

// fail counts err under its kind.
func (m *metrics) fail(err error) {
	if err != nil {
		m.errors.WithLabelValues(kind(err)).Inc()
	}
}
