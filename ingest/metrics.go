package ingest

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the ingest counters and gauges, registered on a registry the
// caller owns so that tests can read them from their own.
type Metrics struct {
	Readings prometheus.Counter
	Rejected *prometheus.CounterVec // by reason, the Reason constants
	// RetainedIgnored counts retained messages without their own time.
	RetainedIgnored prometheus.Counter
	PointsWritten   prometheus.Counter
	PointsDropped   prometheus.Counter
	// PointsRefused counts the lines InfluxDB refused as malformed, dropped.
	PointsRefused prometheus.Counter
	WriteDuration prometheus.Histogram
	WriteFailures *prometheus.CounterVec // by reason: unreachable, server, malformed, spool_full, spool
	SpoolBytes    prometheus.Gauge
	// SpoolCorrupt counts damaged spool records skipped.
	SpoolCorrupt  prometheus.Counter
	MQTTConnected prometheus.Gauge
}

// Reasons a write fails; the values label hazwatch_write_failures_total.
const (
	// FailUnreachable is a batch that could not be sent or timed out.
	FailUnreachable = "unreachable"
	// FailServer is a batch InfluxDB answered with 5xx, 429 or another
	// status that may pass (401, 403, 404): it is spooled and retried.
	FailServer = "server"
	// FailMalformed is a batch InfluxDB refused as malformed (400, 413, 422):
	// retrying cannot help, so it is dropped.
	FailMalformed = "malformed"
	// FailSpoolFull is a batch held in memory because the spool is full.
	FailSpoolFull = "spool_full"
	// FailSpool is a batch the spool could not write to disk.
	FailSpool = "spool"
)

// NewMetrics creates the ingest metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Readings: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hazwatch_readings_total",
			Help: "Readings decoded from MQTT messages.",
		}),
		Rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hazwatch_ingest_rejected_total",
			Help: "MQTT messages rejected whole, by reason.",
		}, []string{"reason"}),
		RetainedIgnored: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hazwatch_ingest_retained_ignored_total",
			Help: "Retained MQTT messages ignored because their readings carry no time of their own.",
		}),
		PointsWritten: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hazwatch_points_written_total",
			Help: "Points InfluxDB accepted, replayed spool points included.",
		}),
		PointsDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hazwatch_points_dropped_total",
			Help: "Points dropped unstored and unacknowledged: InfluxDB down, the spool full and the batches held in memory at their bound.",
		}),
		PointsRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hazwatch_points_refused_total",
			Help: "Points InfluxDB refused as malformed (400, 413, 422), dropped and acknowledged; the other points of their batches are stored.",
		}),
		WriteDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hazwatch_write_duration_seconds",
			Help:    "Time to write one batch to InfluxDB, failed attempts included.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		WriteFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hazwatch_write_failures_total",
			Help: "Batches that could not be written to InfluxDB, by reason.",
		}, []string{"reason"}),
		SpoolBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hazwatch_spool_bytes",
			Help: "Bytes of batches waiting in the on-disk spool.",
		}),
		SpoolCorrupt: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hazwatch_spool_corrupt_records_total",
			Help: "Damaged spool records skipped on open; their batches are lost, the batches after them are kept.",
		}),
		MQTTConnected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hazwatch_mqtt_connected",
			Help: "1 while connected to the MQTT broker.",
		}),
	}
	reg.MustRegister(m.Readings, m.Rejected, m.RetainedIgnored, m.PointsWritten, m.PointsDropped, m.PointsRefused, m.WriteDuration,
		m.WriteFailures, m.SpoolBytes, m.SpoolCorrupt, m.MQTTConnected)
	return m
}

// logLimiter lets a message of each key through at most once per interval,
// so a flood of identical failures makes one log line a second, not one per
// message.
type logLimiter struct {
	every time.Duration
	mu    sync.Mutex
	last  map[string]time.Time
}

func newLogLimiter(every time.Duration) *logLimiter {
	return &logLimiter{every: every, last: make(map[string]time.Time)}
}

// allow reports whether a message of key may be logged now.
func (l *logLimiter) allow(key string) bool {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if t, ok := l.last[key]; ok && now.Sub(t) < l.every {
		return false
	}
	l.last[key] = now
	return true
}
