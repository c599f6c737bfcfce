package ingest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
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
	// refuse, when set, refuses (400) every body holding a line that
	// contains it, as InfluxDB 2.x refuses a body with a line it cannot take.
	refuse  atomic.Pointer[string]
	maxBody atomic.Int64 // the largest body received
	mu      sync.Mutex
	lines   []string
}

func newFakeInflux(t testing.TB) (*fakeInflux, *httptest.Server) {
	f := &fakeInflux{}
	f.status.Store(http.StatusNoContent)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if n := int64(len(body)); n > f.maxBody.Load() {
			f.maxBody.Store(n)
		}
		status := int(f.status.Load())
		if bad := f.refuse.Load(); bad != nil && strings.Contains(string(body), *bad) {
			status = http.StatusBadRequest
		}
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
	return newTestWriterFor(t, configs.InfluxDB{
		URL: url, Bucket: "db/autogen", BatchSize: batch,
		FlushInterval: configs.Duration(flush),
		Timeout:       configs.Duration(2 * time.Second),
	}, spoolMax)
}

func newTestWriterFor(t *testing.T, cfg configs.InfluxDB, spoolMax int64) (*Writer, *Metrics) {
	t.Helper()
	spool, err := OpenSpool(t.TempDir(), spoolMax)
	if err != nil {
		t.Fatal(err)
	}
	m := NewMetrics(prometheus.NewRegistry())
	w, err := NewWriter(cfg, spool, m, slog.New(slog.DiscardHandler))
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

// TestWriter_CapsBatchBytes is issue 10 item 8: a batch is cut by bytes as
// well as by points, below the body size InfluxDB takes.
func TestWriter_CapsBatchBytes(t *testing.T) {
	f, srv := newFakeInflux(t)
	const maxBytes = 500
	w, _ := newTestWriterFor(t, configs.InfluxDB{URL: srv.URL, Bucket: "db/autogen", BatchSize: 1000,
		BatchMaxBytes: maxBytes, FlushInterval: configs.Duration(time.Hour)}, 0)
	const n = 100
	for i := range n {
		w.Write([]byte(line(i)+"\n"), Ack{})
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := len(f.stored()); got != n {
		t.Fatalf("stored %d points, want %d", got, n)
	}
	if got := f.maxBody.Load(); got > maxBytes {
		t.Fatalf("a batch of %d bytes was sent, over batch_max_bytes %d", got, maxBytes)
	}
}

// TestWriter_DropsOnlyTheLinesInfluxRefuses is issue 10 item 8: a batch
// refused as malformed is split until the lines InfluxDB refuses are found;
// only those are dropped and counted, the others are stored, and every
// message is acknowledged.
func TestWriter_DropsOnlyTheLinesInfluxRefuses(t *testing.T) {
	f, srv := newFakeInflux(t)
	bad := "sensor=bad"
	f.refuse.Store(&bad)
	w, m := newTestWriterFor(t, configs.InfluxDB{URL: srv.URL, Bucket: "db/autogen", BatchSize: 20,
		FlushInterval: configs.Duration(time.Hour)}, 0)
	var acked atomic.Int32
	var want []string
	for i := range 20 {
		l := line(i)
		if i == 3 || i == 17 {
			l = "gas,sensor=bad value=1 1"
		} else {
			want = append(want, l)
		}
		w.Write([]byte(l+"\n"), ackWith(func() { acked.Add(1) }))
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := f.stored()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("stored\n%s\nwant every line but the refused ones:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	checkWritten(t, m, acked.Load(), 20, 18, 2)
}

// checkWritten checks how many messages were acknowledged and how many
// points counted as written and as refused.
func checkWritten(t *testing.T, m *Metrics, acked, wantAcked int32, written, refused float64) {
	t.Helper()
	if acked != wantAcked {
		t.Errorf("%d of %d messages acknowledged", acked, wantAcked)
	}
	if got := testutil.ToFloat64(m.PointsWritten); got != written {
		t.Errorf("points written = %v, want %v", got, written)
	}
	if got := testutil.ToFloat64(m.PointsRefused); got != refused {
		t.Errorf("points refused = %v, want %v", got, refused)
	}
}

// TestWriter_StoresTheRestOfABatchWithAFieldTypeConflict is issue 10 item 8
// against InfluxDB 1.8: one line of a batch conflicts with the type its
// field already has in its measurement. 1.8 stores the others and answers
// 400 "partial write", which counted the whole batch as malformed and
// dropped; now the other sensors' points are stored and counted as written,
// and the one line as refused. (2.x and a 413 refuse the whole batch: see
// TestWriter_DropsOnlyTheLinesInfluxRefuses.)
func TestWriter_StoresTheRestOfABatchWithAFieldTypeConflict(t *testing.T) {
	influx := testenv.InfluxDB(t)
	w, m := newTestWriterFor(t, configs.InfluxDB{URL: influx.URL, Bucket: influx.Bucket, BatchSize: 21,
		FlushInterval: configs.Duration(time.Hour), Timeout: configs.Duration(10 * time.Second)}, 0)
	now := time.Now().UnixNano()
	w.Write([]byte(fmt.Sprintf("conflict,sensor=int value=1i %d\n", now)), Ack{})
	w.Flush()
	eventually(t, "the integer field stored", func() bool { return testutil.ToFloat64(m.PointsWritten) == 1 })
	var acked atomic.Int32
	for i := range 20 {
		w.Write([]byte(fmt.Sprintf("gas,sensor=s%d value=%d.5 %d\n", i, i, now)), ackWith(func() { acked.Add(1) }))
		if i == 10 {
			w.Write([]byte(fmt.Sprintf("conflict,sensor=int value=2.5 %d\n", now+1)), ackWith(func() { acked.Add(1) }))
		}
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := influx.Count(t, "SELECT COUNT(value) FROM gas"); n != 20 {
		t.Fatalf("InfluxDB holds %d of the 20 other points", n)
	}
	checkWritten(t, m, acked.Load(), 21, 21, 1) // 1 written before, 20 in the batch
}

// TestWriter_CountsAndReplaysAroundADamagedSpoolRecord is issue 10 item 10
// from the writer's side: the damaged record is counted and logged, and the
// batches after it are written.
func TestWriter_CountsAndReplaysAroundADamagedSpoolRecord(t *testing.T) {
	dir := t.TempDir()
	batches, path := spoolOf(t, dir, 10)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[recordHeader+len(batches[0])+recordHeader] ^= 0xff // the second batch's first byte
	if err := os.WriteFile(path, data, 0o640); err != nil {
		t.Fatal(err)
	}
	spool, err := OpenSpool(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	f, srv := newFakeInflux(t)
	m := NewMetrics(prometheus.NewRegistry())
	var logged strings.Builder
	w, err := NewWriter(configs.InfluxDB{URL: srv.URL, Bucket: "db/autogen"}, spool, m,
		slog.New(slog.NewTextHandler(&logged, nil)))
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(line(1)+"\n"), Ack{}) // a new batch waits behind the spool, and starts its replay
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(m.SpoolCorrupt); got != 1 {
		t.Fatalf("corrupt spool records = %v, want 1", got)
	}
	if got := len(f.stored()); got != 10 {
		t.Fatalf("stored %d points, want the 9 undamaged spooled ones and the new one", got)
	}
	if !strings.Contains(logged.String(), "damaged spool record skipped") {
		t.Fatalf("no log line for the damaged record in %q", logged.String())
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
