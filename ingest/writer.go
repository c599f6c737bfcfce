package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api"
	influxhttp "github.com/influxdata/influxdb-client-go/v2/api/http"

	"hazwatch/configs"
)

// Backoff between replays of the spool while InfluxDB keeps failing.
const (
	minBackoff = 200 * time.Millisecond
	maxBackoff = 10 * time.Second
)

// Writer batches line-protocol points and writes them to InfluxDB from its
// own goroutine, so that a slow or absent InfluxDB never holds up ingest.
//
// A batch InfluxDB cannot take now (unreachable, timeout, 5xx, 429) goes to
// the spool, and while the spool holds anything new batches go there too, so
// that points reach InfluxDB in the order they were written; the spool is
// replayed oldest first with backoff. A batch is cut at batch_size points or
// batch_max_bytes, whichever comes first. A batch refused as malformed (400,
// which includes 1.8's "partial write", 413, 422) cannot succeed on retry:
// it is split in halves until the lines InfluxDB refuses are found, and only
// those are counted, logged at most once a second, and dropped.
type Writer struct {
	spool    *Spool
	m        *Metrics
	log      *slog.Logger
	client   influxdb2.Client
	api      api.WriteAPIBlocking
	size     int
	maxBytes int
	interval time.Duration
	timeout  time.Duration
	url      string // as it is logged, without its password

	unacked sync.WaitGroup // acks written, not yet sent
	// ackGate, when set, is called before a stored batch's acks are sent and
	// returns once what else must be durable first (the alert journal) is.
	ackGate func()

	mu   sync.Mutex
	cur  *batch   // the batch Write appends to
	full []*batch // batches waiting for the goroutine, oldest first
	free []*batch // written batches whose buffers are reused

	kick      chan struct{}
	stop      chan context.Context
	stopped   chan error
	closeOnce sync.Once
	closeErr  error

	// Owned by the goroutine.
	seen       *batch   // the batch being filled at the last quiet check
	seenPoints int      // and how many points it held then
	held       []*batch // batches the spool had no room for, oldest first
	backoff    time.Duration
	retry      *time.Timer
	logs       *logLimiter
}

// batch is points in line protocol and the acknowledgements to send once
// they are stored or spooled.
type batch struct {
	buf    []byte
	points int
	acks   []Ack
}

// WriterOption sets an optional part of a Writer.
type WriterOption func(*Writer)

// WithAckGate has the writer call gate before it acknowledges the messages
// of a stored batch. The gate returns once everything the readings of those
// messages caused elsewhere is durable too: the daemon waits there for the
// alert journal, so that no message is acknowledged before the transitions
// it caused are recorded.
func WithAckGate(gate func()) WriterOption {
	return func(w *Writer) { w.ackGate = gate }
}

// NewWriter starts a writer to the InfluxDB of cfg that spools to spool. The
// writer closes the spool on Close.
func NewWriter(cfg configs.InfluxDB, spool *Spool, m *Metrics, log *slog.Logger, options ...WriterOption) (*Writer, error) {
	if cfg.URL == "" {
		return nil, errors.New("influxdb url is empty")
	}
	if cfg.Bucket == "" {
		return nil, errors.New("influxdb bucket is empty")
	}
	w := &Writer{
		spool:    spool,
		m:        m,
		log:      log,
		size:     cfg.BatchSize,
		maxBytes: int(cfg.BatchMaxBytes),
		interval: cfg.FlushInterval.D(),
		timeout:  cfg.Timeout.D(),
		url:      configs.RedactURL(cfg.URL),
		kick:     make(chan struct{}, 1),
		stop:     make(chan context.Context),
		stopped:  make(chan error),
		logs:     newLogLimiter(time.Second),
	}
	for _, o := range options {
		o(w)
	}
	if w.size <= 0 {
		w.size = 5000
	}
	if w.maxBytes <= 0 {
		w.maxBytes = configs.DefaultBatchMaxBytes
	}
	if w.interval <= 0 {
		w.interval = time.Second
	}
	if w.timeout <= 0 {
		w.timeout = 10 * time.Second
	}
	opts := influxdb2.DefaultOptions().
		SetUseGZip(false). // CPU matters more than bytes on the wire here
		SetPrecision(time.Nanosecond).
		SetHTTPRequestTimeout(uint((w.timeout + time.Second - 1) / time.Second)).
		SetLogLevel(0)
	w.client = influxdb2.NewClientWithOptions(cfg.URL, cfg.Token, opts)
	w.api = w.client.WriteAPIBlocking(cfg.Org, cfg.Bucket)
	w.retry = time.NewTimer(time.Hour)
	w.retry.Stop()
	m.SpoolBytes.Set(float64(spool.Bytes()))
	w.reportDamage()
	go w.run()
	return w, nil
}

// maxDamageLogs bounds the log lines of damaged spool records; the count
// says how many more there were.
const maxDamageLogs = 10

// reportDamage counts and logs the damaged records the spool skipped on open.
func (w *Writer) reportDamage() {
	damage := w.spool.Damage()
	w.m.SpoolCorrupt.Add(float64(len(damage)))
	for i, d := range damage {
		if i == maxDamageLogs {
			w.log.Error("more damaged spool records skipped", "records", len(damage)-i)
			break
		}
		w.log.Error("damaged spool record skipped; its batch is lost, the batches after it are kept",
			"path", d.Path, "offset", d.Offset, "bytes", d.Bytes)
	}
}

// Write queues lines, whole line-protocol lines each ending in '\n', and
// sends ack once they are in InfluxDB or in the spool. It does not block on
// InfluxDB. Write must not be called after Close.
func (w *Writer) Write(lines []byte, ack Ack) {
	n := bytes.Count(lines, []byte{'\n'})
	w.mu.Lock()
	// Cut before lines would take the batch past its bytes; a message larger
	// than that is a batch of its own.
	cut := w.cur != nil && w.cur.points > 0 && len(w.cur.buf)+len(lines) > w.maxBytes
	if cut {
		w.full = append(w.full, w.cur)
		w.cur = nil
	}
	if w.cur == nil {
		w.cur = w.newBatchLocked()
	}
	b := w.cur
	b.buf = append(b.buf, lines...)
	b.points += n
	if ack.to != nil {
		// Counted before the batch can reach the goroutine that sends it.
		w.unacked.Add(1)
		b.acks = append(b.acks, ack)
	}
	if b.points >= w.size || len(b.buf) >= w.maxBytes {
		w.full = append(w.full, b)
		w.cur = nil
		cut = true
	}
	w.mu.Unlock()
	if cut {
		select {
		case w.kick <- struct{}{}:
		default: // the goroutine is already due to look
		}
	}
}

func (w *Writer) newBatchLocked() *batch {
	if n := len(w.free); n > 0 {
		b := w.free[n-1]
		w.free = w.free[:n-1]
		return b
	}
	return &batch{buf: make([]byte, 0, min(w.size*128, w.maxBytes))}
}

// Close writes or spools every batch queued so far, within ctx, stops the
// writer and closes the spool. Batches the full spool could not take are
// left unacknowledged, so the broker delivers them again. Closing again
// returns what the first Close returned.
func (w *Writer) Close(ctx context.Context) error {
	w.closeOnce.Do(func() {
		w.stop <- ctx
		err := <-w.stopped
		w.client.Close()
		w.closeErr = errors.Join(err, w.spool.Close())
	})
	return w.closeErr
}

// quietFlush is how long the batch being filled may go without a new point
// before it is written anyway. Under load points never pause that long, so
// batches fill up. When they do pause, the broker is most likely waiting for
// our acks because its in-flight window is full (Mosquitto allows 20
// unacknowledged messages by default), and holding the batch until the flush
// interval would throttle the whole feed to one window per interval.
const quietFlush = 10 * time.Millisecond

// quietCheckIdle is how often the batch being filled is checked for quiet
// until a batch is cut for it, and again once a batch fills up. Checking
// every quietFlush all the time woke the writer a hundred times a second
// under a steady load, for batches that fill up anyway: that cost 0.8 µs of
// CPU per reading at 30k readings/s.
const quietCheckIdle = 100 * time.Millisecond

func (w *Writer) run() {
	tick := time.NewTicker(w.interval)
	defer tick.Stop()
	quiet := time.NewTicker(quietCheckIdle)
	defer quiet.Stop()
	quick := false // checking every quietFlush
	ctx := context.Background()
	for {
		select {
		case <-w.kick: // a batch filled up, or Flush
			if quick {
				quiet.Reset(quietCheckIdle)
				quick = false
			}
		case <-tick.C:
			w.cutPartial()
		case <-quiet.C:
			if w.cutIfQuiet() && !quick {
				quiet.Reset(quietFlush)
				quick = true
			}
		case <-w.retry.C:
			w.replay(ctx)
		case stopCtx := <-w.stop:
			w.cutPartial()
			w.storeQueued(stopCtx)
			w.replay(stopCtx)
			var err error
			if n := len(w.held); n > 0 {
				err = fmt.Errorf("%d batches not stored: spool full and influxdb unavailable", n)
			}
			w.stopped <- err
			return
		}
		w.storeQueued(ctx)
	}
}

// cutPartial queues the batch being filled, if it holds anything, so that
// points wait at most about one flush interval.
func (w *Writer) cutPartial() {
	w.mu.Lock()
	if w.cur != nil && w.cur.points > 0 {
		w.full = append(w.full, w.cur)
		w.cur = nil
	}
	w.mu.Unlock()
}

// cutIfQuiet queues the batch being filled if no point has joined it since
// the last check, and reports whether it did.
func (w *Writer) cutIfQuiet() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	b := w.cur
	if b == nil {
		w.seen = nil
		return false
	}
	if b == w.seen && b.points == w.seenPoints {
		w.full = append(w.full, b)
		w.cur, w.seen = nil, nil
		return true
	}
	w.seen, w.seenPoints = b, b.points
	return false
}

func (w *Writer) storeQueued(ctx context.Context) {
	for {
		w.mu.Lock()
		if len(w.full) == 0 {
			w.mu.Unlock()
			return
		}
		b := w.full[0]
		w.full = w.full[1:]
		w.mu.Unlock()
		w.store(ctx, b)
	}
}

// store writes b to InfluxDB, or to the spool when InfluxDB cannot take it or
// older batches are still waiting.
func (w *Writer) store(ctx context.Context, b *batch) {
	if len(w.held) > 0 || !w.spool.Empty() {
		w.toBacklog(b)
		return
	}
	switch w.write(ctx, b.buf) {
	case "":
		w.finish(b)
	default:
		w.toBacklog(b)
		w.scheduleReplay()
	}
}

// maxHeld bounds the batches held in memory while InfluxDB cannot take them
// and the spool is full. Past it the oldest is dropped, unacknowledged: at
// QoS 1 the broker keeps its messages and delivers them again with the next
// session; at QoS 0 they are lost, and counted. Holding more would only end
// in running out of memory, and blocking ingest instead would stop the
// alerting too, which must go on while storage is down.
const maxHeld = 32

// toBacklog appends b to the spool, or holds it in memory, unacknowledged,
// when the spool cannot take it.
func (w *Writer) toBacklog(b *batch) {
	if len(w.held) == 0 && w.spoolBatch(b.buf) {
		w.finish(b)
		return
	}
	w.held = append(w.held, b)
	if len(w.held) > maxHeld {
		w.drop(w.held[0])
		w.held = w.held[1:]
	}
}

// drop gives up on b: its points are not stored and its messages are not
// acknowledged.
func (w *Writer) drop(b *batch) {
	w.m.PointsDropped.Add(float64(b.points))
	if w.logs.allow("dropped") {
		w.log.Error("influxdb down and spool full: batch dropped, unacknowledged", "points", b.points, "held", maxHeld)
	}
	for range b.acks {
		w.unacked.Done() // never to be sent
	}
	w.recycle(b)
}

// spoolBatch appends buf to the spool and reports whether it is there.
func (w *Writer) spoolBatch(buf []byte) bool {
	err := w.spool.Append(buf)
	w.m.SpoolBytes.Set(float64(w.spool.Bytes()))
	if err == nil {
		return true
	}
	reason := FailSpool
	if errors.Is(err, ErrSpoolFull) {
		reason = FailSpoolFull
	}
	w.m.WriteFailures.WithLabelValues(reason).Inc()
	if w.logs.allow(reason) {
		w.log.Warn("batch held in memory, unacknowledged", "reason", reason, "err", err)
	}
	w.scheduleReplay()
	return false
}

// replay writes the spool, then the held batches, oldest first, until
// InfluxDB fails again or nothing is left.
func (w *Writer) replay(ctx context.Context) {
	for {
		buf, fromSpool, err := w.oldestBacklog()
		if err != nil {
			w.log.Error("read spool", "err", err)
			w.scheduleReplay()
			return
		}
		if buf == nil {
			w.backoff = 0
			return
		}
		if w.write(ctx, buf) != "" {
			w.scheduleReplay()
			return
		}
		w.backoff = 0
		if !fromSpool {
			b := w.held[0]
			w.held = w.held[1:]
			w.finish(b)
			continue
		}
		if err := w.spool.RemoveOldest(); err != nil {
			w.log.Error("remove replayed batch from spool", "err", err)
		}
		// Room was made: move held batches into the spool behind the rest.
		for len(w.held) > 0 && w.spoolBatch(w.held[0].buf) {
			b := w.held[0]
			w.held = w.held[1:]
			w.finish(b)
		}
		w.m.SpoolBytes.Set(float64(w.spool.Bytes()))
	}
}

// oldestBacklog returns the oldest batch not yet in InfluxDB: the spool's
// oldest, else the oldest held one; nil when there is none.
func (w *Writer) oldestBacklog() (buf []byte, fromSpool bool, err error) {
	buf, ok, err := w.spool.Oldest()
	if err != nil || ok {
		return buf, ok, err
	}
	if len(w.held) > 0 {
		return w.held[0].buf, false, nil
	}
	return nil, false, nil
}

func (w *Writer) scheduleReplay() {
	switch {
	case w.backoff == 0:
		w.backoff = minBackoff
	case w.backoff < maxBackoff:
		w.backoff = min(2*w.backoff, maxBackoff)
	}
	w.retry.Reset(w.backoff)
}

// write writes buf to InfluxDB and returns "" once every line is stored or
// refused as malformed, or the reason why it cannot be written now. A batch
// refused as malformed is split in halves until the refused lines are found,
// so that one bad line does not cost the other sensors' points of its batch;
// a line refused alone is dropped, counted and logged. A transient failure
// on the way leaves the whole batch to be written again later, which
// rewrites the lines already stored, harmlessly.
func (w *Writer) write(ctx context.Context, buf []byte) string {
	var r refusal
	reason := w.bisect(ctx, buf, &r)
	if reason != "" {
		w.m.WriteFailures.WithLabelValues(reason).Inc()
		if w.logs.allow(reason) {
			w.log.Warn("influxdb write failed, batch spooled for retry", "url", w.url,
				"points", bytes.Count(buf, []byte{'\n'}), "reason", reason, "err", r.err)
		}
		return reason
	}
	if r.points > 0 {
		w.m.WriteFailures.WithLabelValues(FailMalformed).Inc()
		w.m.PointsRefused.Add(float64(r.points))
		if w.logs.allow(FailMalformed) {
			w.log.Warn("influxdb refused points as malformed, dropped; the rest of the batch is stored",
				"url", w.url, "points", r.points, "line", truncate(string(r.first)), "err", r.err)
		}
	}
	return ""
}

// refusal gathers what write logs: the lines InfluxDB refused, the first of
// them, and the last error.
type refusal struct {
	points int
	first  []byte
	err    error
}

// bisect posts buf, and when InfluxDB refuses it as malformed, each half.
func (w *Writer) bisect(ctx context.Context, buf []byte, r *refusal) string {
	err := w.post(ctx, buf)
	reason := failure(err)
	if err != nil {
		r.err = err
	}
	if reason != FailMalformed {
		return reason
	}
	lines := bytes.Count(buf, []byte{'\n'})
	if lines <= 1 {
		if r.points == 0 {
			r.first = buf
		}
		r.points += max(lines, 1)
		return ""
	}
	mid := bytes.IndexByte(buf[len(buf)/2:], '\n') + len(buf)/2 + 1
	if mid == len(buf) { // the second half is one long line: split before it
		mid = bytes.LastIndexByte(buf[:len(buf)-1], '\n') + 1
	}
	if reason := w.bisect(ctx, buf[:mid], r); reason != "" {
		return reason
	}
	return w.bisect(ctx, buf[mid:], r)
}

// post writes buf to InfluxDB once and counts its points when it is stored.
func (w *Writer) post(ctx context.Context, buf []byte) error {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	start := time.Now()
	err := w.api.WriteRecord(ctx, string(buf))
	w.m.WriteDuration.Observe(time.Since(start).Seconds())
	if err == nil {
		w.m.PointsWritten.Add(float64(bytes.Count(buf, []byte{'\n'})))
	}
	return err
}

// failure classifies a write error as a failure reason, "" for none.
func failure(err error) string {
	if err == nil {
		return ""
	}
	var he *influxhttp.Error
	if !errors.As(err, &he) || he.StatusCode == 0 {
		return FailUnreachable
	}
	switch he.StatusCode {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		return FailMalformed
	}
	return FailServer
}

// finish sends b's acknowledgements and keeps its buffers for reuse.
func (w *Writer) finish(b *batch) {
	if len(b.acks) > 0 && w.ackGate != nil {
		w.ackGate()
	}
	for _, ack := range b.acks {
		ack.send()
		w.unacked.Done()
	}
	w.recycle(b)
}

// recycle keeps b's buffers for reuse.
func (w *Writer) recycle(b *batch) {
	clear(b.acks)
	b.acks = b.acks[:0]
	b.buf = b.buf[:0]
	b.points = 0
	w.mu.Lock()
	w.free = append(w.free, b)
	w.mu.Unlock()
}

// Flush asks the writer to store the batch being filled now rather than at
// the next flush interval. It does not wait.
func (w *Writer) Flush() {
	w.cutPartial()
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// WaitAcked stores the batch being filled and waits until every
// acknowledgement written so far is sent, for at most timeout. It reports
// whether they were. Nothing may be written with an Ack while it waits.
func (w *Writer) WaitAcked(timeout time.Duration) bool {
	w.Flush()
	acked := make(chan struct{})
	go func() {
		w.unacked.Wait()
		close(acked)
	}()
	select {
	case <-acked:
		return true
	case <-time.After(timeout):
		return false
	}
}
