package ingest

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"hazwatch/configs"
	"hazwatch/reading"
)

// ackCounter is an acker that counts its acknowledgements.
type ackCounter struct{ n atomic.Int32 }

func (a *ackCounter) ack(uint16, byte) { a.n.Add(1) }

// recorder is an Observer that keeps what it saw, refusing the fields named
// in refuse.
type recorder struct {
	mu     sync.Mutex
	seen   []string
	refuse map[string]bool
}

func (r *recorder) Observe(rd *reading.Reading, _ time.Time) error {
	if r.refuse[rd.Field] {
		return &Reject{Reason: "series_limit", Err: errors.New("refused in the test")}
	}
	r.mu.Lock()
	r.seen = append(r.seen, rd.Sensor+"="+strconv.FormatFloat(rd.Value, 'g', -1, 64))
	r.mu.Unlock()
	return nil
}

// msg is a message as a wireConn hands it over.
func msg(topic, payload string, ack Ack) *message {
	return &message{topic: []byte(topic), payload: []byte(payload), size: len(payload), ack: ack}
}

func newTestIngester(t testing.TB, w *Writer, obs Observer, m *Metrics) *Ingester {
	t.Helper()
	matcher, err := NewTopicMatcher([]configs.Subscription{{Topic: "sensors/{site}/{kind}/{sensor}"}},
		map[string]configs.Kind{"gas_lel": {Measurement: "gas"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return NewIngester(configs.MQTT{MaxPayloadBytes: 1024}, matcher, w, obs, m, slog.New(slog.DiscardHandler))
}

func TestIngester_AcksOnlyOnceStoredAndObservesInOrder(t *testing.T) {
	f, srv := newFakeInflux(t)
	f.status.Store(http.StatusServiceUnavailable)
	// A spool with no room: nothing can be acknowledged until InfluxDB answers.
	w, m := newTestWriter(t, srv.URL, 1, 1)
	rec := &recorder{}
	ing := newTestIngester(t, w, rec, m)
	r := &receiver{Ingester: ing}
	acks := make([]ackCounter, 3)
	for i := range acks {
		r.handle(msg("sensors/s1/gas_lel/GT-1", `{"v":`+strconv.Itoa(i)+`}`, Ack{to: &acks[i], id: 1, qos: 1}), time.Now())
	}
	if got := rec.seen; len(got) != 3 || got[0] != "GT-1=0" || got[2] != "GT-1=2" {
		t.Fatalf("observed %v, want GT-1=0..2 in order", got)
	}
	eventually(t, "spool full", func() bool {
		return testutil.ToFloat64(m.WriteFailures.WithLabelValues(FailSpoolFull)) > 0
	})
	for i := range acks {
		if acks[i].n.Load() != 0 {
			t.Fatalf("message %d acknowledged before it was stored or spooled", i)
		}
	}
	f.status.Store(http.StatusNoContent)
	eventually(t, "acknowledged once stored", func() bool {
		for i := range acks {
			if acks[i].n.Load() != 1 {
				return false
			}
		}
		return true
	})
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := len(f.stored()); got != 3 {
		t.Fatalf("stored %d points, want 3", got)
	}
}

// A reading the observer refuses is counted and not stored; the message's
// other readings are, and the message is acknowledged once they are.
func TestIngester_ReadingsTheObserverRefusesAreNotStored(t *testing.T) {
	f, srv := newFakeInflux(t)
	w, m := newTestWriter(t, srv.URL, 1, 0)
	rec := &recorder{refuse: map[string]bool{"junk": true}}
	ing := newTestIngester(t, w, rec, m)
	var acked ackCounter
	(&receiver{Ingester: ing}).handle(msg("sensors/s1/gas_lel/GT-1", `{"v":1,"junk":2}`, Ack{to: &acked, id: 1, qos: 1}), time.Now())
	eventually(t, "the message acknowledged", func() bool { return acked.n.Load() == 1 })
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := f.stored(); len(got) != 1 || !strings.Contains(got[0], "value=1") {
		t.Errorf("stored %q, want only the accepted reading", got)
	}
	if got := testutil.ToFloat64(m.Rejected.WithLabelValues("series_limit")); got != 1 {
		t.Errorf("rejected{reason=series_limit} = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.Readings); got != 1 {
		t.Errorf("readings = %v, want 1", got)
	}
}

func TestIngester_RejectsAreCountedAndAckedAtOnce(t *testing.T) {
	tests := []struct {
		name, topic, payload, reason string
	}{
		{"too large", "sensors/s1/gas_lel/GT-1", `{"v":1,"pad":"` + string(make([]byte, 2000)) + `"}`, ReasonTooLarge},
		{"no matching topic", "other/s1", `{"v":1}`, ReasonNoMatchingTopic},
		{"unknown kind", "sensors/s1/co2/C-1", `{"v":1}`, ReasonUnknownKind},
		{"malformed", "sensors/s1/gas_lel/GT-1", `{"v":`, ReasonMalformedJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, srv := newFakeInflux(t)
			w, m := newTestWriter(t, srv.URL, 1, 0)
			t.Cleanup(func() { w.Close(context.Background()) })
			rec := &recorder{}
			ing := newTestIngester(t, w, rec, m)
			var acked ackCounter
			(&receiver{Ingester: ing}).handle(msg(tt.topic, tt.payload, Ack{to: &acked, id: 1, qos: 1}), time.Now())
			if acked.n.Load() != 1 {
				t.Fatal("rejected message not acknowledged")
			}
			if got := testutil.ToFloat64(m.Rejected.WithLabelValues(tt.reason)); got != 1 {
				t.Fatalf("rejected{reason=%q} = %v, want 1", tt.reason, got)
			}
			if len(rec.seen) != 0 || testutil.ToFloat64(m.Readings) != 0 {
				t.Fatal("a rejected message produced readings")
			}
		})
	}
}

// BenchmarkIngester_Handle measures one JSON message from its topic and
// payload as they lie in the read buffer to the writer's HTTP request and
// the acknowledgement. cpu-ns/op is the process CPU time per message,
// the writer's goroutine and the local test server included.
func BenchmarkIngester_Handle(b *testing.B) {
	_, srv := newFakeInflux(b)
	spool, err := OpenSpool(b.TempDir(), 0)
	if err != nil {
		b.Fatal(err)
	}
	m := NewMetrics(prometheus.NewRegistry())
	w, err := NewWriter(configs.InfluxDB{URL: srv.URL, Bucket: "db/autogen", BatchSize: 5000,
		FlushInterval: configs.Duration(time.Second)}, spool, m, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	ing := newTestIngester(b, w, nil, m)
	payload := `{"v":12.5,"ts":` + strconv.FormatInt(time.Now().Unix(), 10) + `}`
	receive := ing.newReceiver()
	var acked ackCounter
	message := msg("sensors/plant-a/gas_lel/GT-01", payload, Ack{to: &acked, id: 1, qos: 1})
	b.ReportAllocs()
	before := cpuTime(b)
	for b.Loop() {
		receive(message)
	}
	if err := w.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64((cpuTime(b)-before).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

func cpuTime(b testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestIngester_IgnoresRetainedMessagesWithoutTheirOwnTime is issue 10 item 3:
// a retained message comes back at every (re)subscription, and without a
// time of its own it would be a fresh reading each time.
func TestIngester_IgnoresRetainedMessagesWithoutTheirOwnTime(t *testing.T) {
	now := time.Now()
	withTime := `{"v":91,"ts":` + strconv.FormatInt(now.Add(-time.Hour).UnixMilli(), 10) + `}`
	tests := []struct {
		name, payload string
		retained      bool
		stored        bool
	}{
		{"retained without a time", `{"v":90}`, true, false},
		{"retained batch partly without a time", `[` + withTime + `,{"v":92}]`, true, false},
		{"retained with its own time", withTime, true, true},
		{"live without a time", `{"v":90}`, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, srv := newFakeInflux(t)
			w, m := newTestWriter(t, srv.URL, 1, 0)
			rec := &recorder{}
			ing := newTestIngester(t, w, rec, m)
			var acked ackCounter
			message := msg("sensors/s1/gas_lel/GT-1", tt.payload, Ack{to: &acked, id: 1, qos: 1})
			message.retained = tt.retained
			(&receiver{Ingester: ing}).handle(message, now)
			if err := w.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			if acked.n.Load() != 1 {
				t.Fatal("message not acknowledged")
			}
			stored, ignored := len(f.stored()) > 0, testutil.ToFloat64(m.RetainedIgnored) == 1
			if stored != tt.stored || (len(rec.seen) > 0) != tt.stored || ignored == tt.stored {
				t.Fatalf("stored %v, observed %v, counted as ignored %v; want stored and observed %v",
					stored, rec.seen, ignored, tt.stored)
			}
		})
	}
}
