package ingest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"hazwatch/configs"
	"hazwatch/internal/testenv"
)

// fakeInflux records the bodies of the writes it accepts and answers with
// status while status is not 204.
type fakeInflux struct {
	status atomic.Int32
	mu     sync.Mutex
	lines  []string
}

func newFakeInflux(t testing.TB) (*fakeInflux, *httptest.Server) {
	f := &fakeInflux{}
	f.status.Store(http.StatusNoContent)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		status := int(f.status.Load())
		if status != http.StatusNoContent {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"code":"invalid","message":"status %d"}`, status)
			return
		}
		f.mu.Lock()
		f.lines = append(f.lines, strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")...)
		f.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeInflux) stored() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.lines...)
}

// eventually fails the test unless cond holds within a deadline.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	if !testenv.Eventually(30*time.Second, cond) { // generous: the machine is shared
		t.Fatalf("timed out waiting for %s", what)
	}
}

func newTestWriter(t *testing.T, url string, batch int, spoolMax int64) (*Writer, *Metrics) {
	t.Helper()
	return newTestWriterEvery(t, url, batch, spoolMax, 20*time.Millisecond)
}

func newTestWriterEvery(t *testing.T, url string, batch int, spoolMax int64, flush time.Duration) (*Writer, *Metrics) {
	t.Helper()
	spool, err := OpenSpool(t.TempDir(), spoolMax)
	if err != nil {
		t.Fatal(err)
	}
	m := NewMetrics(prometheus.NewRegistry())
	w, err := NewWriter(configs.InfluxDB{
		URL: url, Bucket: "db/autogen", BatchSize: batch,
		FlushInterval: configs.Duration(flush),
		Timeout:       configs.Duration(2 * time.Second),
	}, spool, m, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return w, m
}

// ackFunc is an acker that calls itself.
type ackFunc func()

func (f ackFunc) ack(uint16, byte) { f() }

// ackWith is an Ack that calls f when it is sent.
func ackWith(f func()) Ack { return Ack{to: ackFunc(f), id: 1, qos: 1} }

func line(i int) string { return fmt.Sprintf("gas,sensor=s1 value=%d.5 %d", i, i) }

func TestWriter_SpoolsWhileServerFailsAndReplaysInOrder(t *testing.T) {
	for _, status := range []int{http.StatusServiceUnavailable, http.StatusTooManyRequests, http.StatusNotFound} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			f, srv := newFakeInflux(t)
			f.status.Store(int32(status))
			w, m := newTestWriter(t, srv.URL, 3, 0)
			var acked atomic.Int32
			const n = 20
			for i := range n {
				w.Write([]byte(line(i)+"\n"), ackWith(func() { acked.Add(1) }))
			}
			// Every batch is acknowledged once spooled, before InfluxDB is back.
			eventually(t, "spooled batches acknowledged", func() bool { return acked.Load() == n })
			if len(f.stored()) != 0 {
				t.Fatalf("failing server stored %v", f.stored())
			}
			if got := testutil.ToFloat64(m.SpoolBytes); got == 0 {
				t.Fatal("spool gauge is 0 while InfluxDB fails")
			}
			f.status.Store(http.StatusNoContent)
			eventually(t, "replay", func() bool { return len(f.stored()) == n })
			for i, l := range f.stored() {
				if l != line(i) {
					t.Fatalf("point %d = %q, want %q: order lost", i, l, line(i))
				}
			}
			if err := w.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := testutil.ToFloat64(m.PointsWritten); got != n {
				t.Fatalf("points written = %v, want %d", got, n)
			}
			if got := testutil.ToFloat64(m.SpoolBytes); got != 0 {
				t.Fatalf("spool gauge = %v after replay, want 0", got)
			}
			if got := testutil.ToFloat64(m.WriteFailures.WithLabelValues(FailServer)); got < 1 {
				t.Fatalf("server failures = %v, want at least 1", got)
			}
		})
	}
}

func TestWriter_DropsAndCountsMalformedBatch(t *testing.T) {
	for _, status := range []int{http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			f, srv := newFakeInflux(t)
			f.status.Store(int32(status))
			w, m := newTestWriter(t, srv.URL, 1, 0)
			acked := make(chan struct{})
			w.Write([]byte("bad line\n"), ackWith(func() { close(acked) }))
			<-acked
			f.status.Store(http.StatusNoContent)
			w.Write([]byte(line(1)+"\n"), Ack{})
			if err := w.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := f.stored(); len(got) != 1 || got[0] != line(1) {
				t.Fatalf("stored %q, want only the good batch (malformed one not retried)", got)
			}
			if got := testutil.ToFloat64(m.WriteFailures.WithLabelValues(FailMalformed)); got != 1 {
				t.Fatalf("malformed failures = %v, want 1", got)
			}
			if w.spool.Bytes() != 0 {
				t.Fatal("malformed batch was spooled")
			}
		})
	}
}

func TestWriter_FullSpoolHoldsBatchesUnacknowledged(t *testing.T) {
	f, srv := newFakeInflux(t)
	f.status.Store(http.StatusServiceUnavailable)
	one := int64(recordHeader + len(line(0)) + 1)
	w, m := newTestWriter(t, srv.URL, 1, 2*one)
	var acked atomic.Int32
	for i := range 5 {
		w.Write([]byte(line(i)+"\n"), ackWith(func() { acked.Add(1) }))
	}
	eventually(t, "spool full", func() bool {
		return testutil.ToFloat64(m.WriteFailures.WithLabelValues(FailSpoolFull)) > 0
	})
	if got := acked.Load(); got > 2 {
		t.Fatalf("%d batches acknowledged with room for 2 in the spool", got)
	}
	if w.WaitAcked(50 * time.Millisecond) {
		t.Fatal("WaitAcked reported every batch acknowledged while three are held")
	}
	f.status.Store(http.StatusNoContent)
	if !w.WaitAcked(30 * time.Second) {
		t.Fatal("batches not acknowledged once InfluxDB was back")
	}
	if got := acked.Load(); got != 5 {
		t.Fatalf("WaitAcked returned with %d of 5 batches acknowledged", got)
	}
	eventually(t, "all stored", func() bool { return len(f.stored()) == 5 })
	for i, l := range f.stored() {
		if l != line(i) {
			t.Fatalf("point %d = %q, want %q", i, l, line(i))
		}
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestWriter_DropsTheOldestHeldBatchPastTheBound(t *testing.T) {
	f, srv := newFakeInflux(t)
	f.status.Store(http.StatusServiceUnavailable)
	one := int64(recordHeader + len(line(0)) + 1)
	w, m := newTestWriter(t, srv.URL, 1, one) // room for the first batch only
	const dropped = 3
	n := 1 + maxHeld + dropped
	var acked atomic.Int32
	for i := range n {
		w.Write([]byte(line(i)+"\n"), ackWith(func() { acked.Add(1) }))
	}
	eventually(t, "oldest held batches dropped", func() bool {
		return testutil.ToFloat64(m.PointsDropped) == dropped
	})
	f.status.Store(http.StatusNoContent)
	if !w.WaitAcked(30 * time.Second) {
		t.Fatal("WaitAcked waits for the acknowledgements of dropped batches")
	}
	if got := int(acked.Load()); got != n-dropped {
		t.Fatalf("%d batches acknowledged, want %d: dropped ones must not be", got, n-dropped)
	}
	eventually(t, "the rest stored", func() bool { return len(f.stored()) == n-dropped })
	// The spooled batch, then the newest held ones.
	if got := f.stored(); got[0] != line(0) || got[1] != line(1+dropped) {
		t.Fatalf("stored %q..., want %q then %q", got[:2], line(0), line(1+dropped))
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestWriter_FlushesPartialBatchOnIntervalAndClose(t *testing.T) {
	f, srv := newFakeInflux(t)
	w, _ := newTestWriter(t, srv.URL, 1000, 0)
	done := make(chan struct{})
	w.Write([]byte(line(1)+"\n"+line(2)+"\n"), ackWith(func() { close(done) }))
	<-done // the 20 ms flush interval sent it though the batch is not full
	w.Write([]byte(line(3)+"\n"), Ack{})
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := f.stored(); len(got) != 3 {
		t.Fatalf("stored %q, want 3 points", got)
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// A broker that waits for acks (its in-flight window full) sends nothing
// more, so a batch that stops growing is written without waiting for the
// flush interval.
func TestWriter_WritesABatchThatStopsGrowingBeforeTheInterval(t *testing.T) {
	f, srv := newFakeInflux(t)
	w, _ := newTestWriterEvery(t, srv.URL, 1000, 0, time.Hour)
	t.Cleanup(func() { _ = w.Close(context.Background()) })
	done := make(chan struct{})
	w.Write([]byte(line(1)+"\n"), ackWith(func() { close(done) }))
	select {
	case <-done:
	case <-time.After(30 * time.Second): // a deadline, not synchronisation
		t.Fatal("a quiet partial batch waited for the one-hour flush interval")
	}
	if got := f.stored(); len(got) != 1 {
		t.Fatalf("stored %q, want 1 point", got)
	}
}

func TestWriter_SpoolsOnCloseWhenInfluxIsDown(t *testing.T) {
	w, _ := newTestWriter(t, "http://127.0.0.1:1", 1000, 0)
	spoolDir := w.spool.dir
	w.Write([]byte(line(1)+"\n"), Ack{})
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := openSpool(t, spoolDir, 0)
	if got := drain(t, s); len(got) != 1 || got[0] != line(1)+"\n" {
		t.Fatalf("spool after close = %q", got)
	}
}

func BenchmarkWriter_Write(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	spool, err := OpenSpool(b.TempDir(), 0)
	if err != nil {
		b.Fatal(err)
	}
	w, err := NewWriter(configs.InfluxDB{URL: srv.URL, Bucket: "db/autogen", BatchSize: 5000,
		FlushInterval: configs.Duration(time.Second)}, spool, NewMetrics(prometheus.NewRegistry()), slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	l := []byte("gas,kind=ch4,sensor=GT-01,site=plant-a value=12.5 1700000000000000000\n")
	b.ReportAllocs()
	for b.Loop() {
		w.Write(l, Ack{})
	}
	if err := w.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
}

// A stored batch is acknowledged only once the ack gate lets it: the daemon
// holds acks there until the alert journal has the transitions they caused.
func TestWriter_AcksWaitForTheAckGate(t *testing.T) {
	f, srv := newFakeInflux(t)
	spool, err := OpenSpool(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	gate := make(chan struct{})
	var gated atomic.Int32
	w, err := NewWriter(configs.InfluxDB{URL: srv.URL, Bucket: "db/autogen", BatchSize: 1,
		FlushInterval: configs.Duration(time.Hour), Timeout: configs.Duration(2 * time.Second)},
		spool, NewMetrics(prometheus.NewRegistry()), slog.New(slog.DiscardHandler),
		WithAckGate(func() { gated.Add(1); <-gate }))
	if err != nil {
		t.Fatal(err)
	}
	var acked atomic.Int32
	w.Write([]byte(line(1)+"\n"), ackWith(func() { acked.Add(1) }))
	eventually(t, "the stored batch reaching the gate", func() bool { return len(f.stored()) == 1 && gated.Load() == 1 })
	if acked.Load() != 0 {
		t.Fatal("acknowledged before the gate opened")
	}
	close(gate)
	eventually(t, "the ack once the gate opened", func() bool { return acked.Load() == 1 })
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}
