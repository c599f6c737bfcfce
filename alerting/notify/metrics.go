package notify

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Results of a notification, the result label of hazwatch_notifications_total.
const (
	resultSent       = "sent"       // the channel accepted it
	resultFailed     = "failed"     // the channel refused it and a retry cannot help
	resultRetried    = "retried"    // a send failed and will be tried again
	resultDropped    = "dropped"    // expired, over a recipient's limit, or for an unknown channel
	resultSuppressed = "suppressed" // silenced or inhibited
)

// metrics are the dispatcher's per-channel Prometheus series.
type metrics struct {
	total    *prometheus.CounterVec
	queue    *prometheus.GaugeVec
	duration *prometheus.HistogramVec
	repeated prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hazwatch_notifications_total",
			Help: "Notifications by channel and result (sent, failed, retried, dropped, suppressed).",
		}, []string{"channel", "result"}),
		queue: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hazwatch_notification_queue",
			Help: "Notifications waiting in a channel's queue.",
		}, []string{"channel"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hazwatch_notification_duration_seconds",
			Help:    "Time a channel took to accept or refuse a notification.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 12),
		}, []string{"channel"}),
		repeated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hazwatch_notify_repeated_transitions_total",
			Help: "Alert transitions dropped because they repeat the last one handled (after a crash).",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.total, m.queue, m.duration, m.repeated} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register notification metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) count(channel, result string) {
	m.total.WithLabelValues(channel, result).Inc()
}
