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

// Stages of hazwatch_alert_latency_seconds measured here; the engine adds
// "transition" to the same histogram.
const (
	StageTransition = "transition" // reading received → the engine's transition, observed by the daemon
	StageCommitted  = "committed"  // reading received → notification decisions durable in the outbox
	StageSent      = "sent"      // reading received → a channel accepted the notification
)

// NewLatencyHistogram returns hazwatch_alert_latency_seconds, the time from
// a reading's arrival to each stage of its alert's path, by label stage. The
// daemon registers it once and hands it to the engine and, through
// DispatcherOptions.Latency, to the dispatcher.
func NewLatencyHistogram() *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "hazwatch_alert_latency_seconds",
		Help:    "Time from a reading's arrival to a stage of the alert it caused (transition, committed, sent).",
		Buckets: []float64{.001, .0025, .005, .01, .02, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"stage"})
}

// metrics are the dispatcher's Prometheus series.
type metrics struct {
	total      *prometheus.CounterVec
	queue      *prometheus.GaugeVec
	duration   *prometheus.HistogramVec
	latency    *prometheus.HistogramVec
	intake     prometheus.Gauge
	blocked    prometheus.Histogram
	commits    *prometheus.CounterVec
	batch      prometheus.Histogram
	resent     prometheus.Counter
	damaged    prometheus.Counter
	outOfOrder prometheus.Counter
}

// newMetrics makes the series and registers them with reg (if not nil);
// latency is registered only when the dispatcher made it (latency nil).
func newMetrics(reg prometheus.Registerer, latency *prometheus.HistogramVec) (*metrics, error) {
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
		latency: latency,
		intake: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hazwatch_notify_intake_depth",
			Help: "Alert transitions handed to notification and not yet taken by its pipeline.",
		}),
		blocked: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hazwatch_notify_intake_blocked_seconds",
			Help:    "Time a hand-over of transitions waited because the intake queue was full (ingest held back; none dropped).",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 8),
		}),
		commits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hazwatch_notify_commits_total",
			Help: "Outbox transactions written by the notification pipeline, one per batch, by result (ok, failed).",
		}, []string{"result"}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hazwatch_notify_batch_transitions",
			Help:    "Alert transitions per notification pipeline batch (one outbox transaction).",
			Buckets: prometheus.ExponentialBuckets(1, 4, 8),
		}),
		resent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hazwatch_notifications_resent_total",
			Help: "Notifications found at start with an attempt under way when the daemon stopped: sent again, with the same notification id.",
		}),
		damaged: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hazwatch_notify_outbox_damaged_total",
			Help: "Damage found in the outbox file at start: the file moved aside, or a record dropped.",
		}),
		outOfOrder: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hazwatch_notify_out_of_order_transitions_total",
			Help: "Transitions handed to notification with a journal Seq not above the previous one.",
		}),
	}
	cs := []prometheus.Collector{m.total, m.queue, m.duration, m.intake, m.blocked, m.commits, m.batch, m.resent, m.damaged, m.outOfOrder}
	if latency == nil {
		m.latency = NewLatencyHistogram()
		cs = append(cs, m.latency)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register notification metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) count(channel, result string) {
	m.total.WithLabelValues(channel, result).Inc()
}
