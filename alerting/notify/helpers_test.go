package notify

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"hazwatch/alerting"
	"hazwatch/configs"
)

// wait bounds every wait for the dispatcher's goroutines.
const wait = 5 * time.Second

var t0 = time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)

// fakeClock is the dispatcher's clock in tests, moved by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Add moves the clock by d and returns the new time.
func (c *fakeClock) Add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// fakeChannel records what it is sent. The first fail attempts fail with a
// retryable error; with block set, each send waits for it (or its timeout).
type fakeChannel struct {
	name  string
	fail  int
	block chan struct{}

	mu       sync.Mutex
	attempts int
	got      chan Message
}

func newFake(name string) *fakeChannel {
	return &fakeChannel{name: name, got: make(chan Message, 1000)}
}

func (f *fakeChannel) Name() string { return f.name }

func (f *fakeChannel) Send(ctx context.Context, m *Message) (bool, error) {
	f.mu.Lock()
	f.attempts++
	n := f.attempts
	f.mu.Unlock()
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return true, ctx.Err()
		}
	}
	if n <= f.fail {
		return true, errors.New("gateway unavailable")
	}
	f.got <- *m
	return false, nil
}

func (f *fakeChannel) Attempts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attempts
}

// expect returns the next n messages f receives, failing after a deadline.
func (f *fakeChannel) expect(t *testing.T, n int) []Message {
	t.Helper()
	var out []Message
	deadline := time.After(wait)
	for len(out) < n {
		select {
		case m := <-f.got:
			out = append(out, m)
		case <-deadline:
			t.Fatalf("%s: got %d messages, want %d", f.name, len(out), n)
		}
	}
	return out
}

// quiet fails if f has received a message not yet taken by expect. Call it
// after settled, which makes sure nothing is still on its way.
func (f *fakeChannel) quiet(t *testing.T) {
	t.Helper()
	if n := len(f.got); n > 0 {
		m := <-f.got
		t.Fatalf("%s: %d unexpected messages, the first %+v", f.name, n, m.Alerts)
	}
}

// harness is a dispatcher with fake channels, a fake clock and an outbox in
// a temporary directory.
type harness struct {
	t     testing.TB
	d     *Dispatcher
	clock *fakeClock
	box   *Outbox
	reg   *prometheus.Registry
	chans map[string]*fakeChannel
	path  string
}

func newHarness(t testing.TB, cfg configs.Notify, opts DispatcherOptions) *harness {
	t.Helper()
	h := &harness{t: t, clock: &fakeClock{now: t0}, chans: map[string]*fakeChannel{},
		path: filepath.Join(t.TempDir(), "outbox.db")}
	for _, c := range cfg.Channels {
		h.chans[c.Name] = newFake(c.Name)
	}
	h.open(cfg, opts)
	t.Cleanup(h.close)
	return h
}

// open (re)starts the dispatcher on the harness's outbox file and channels.
func (h *harness) open(cfg configs.Notify, opts DispatcherOptions) {
	h.t.Helper()
	box, err := OpenOutbox(h.path)
	if err != nil {
		h.t.Fatal(err)
	}
	chans := map[string]Channel{}
	for name, f := range h.chans {
		chans[name] = f
	}
	h.reg = prometheus.NewRegistry()
	opts.Outbox, opts.Clock, opts.Registerer = box, h.clock.Now, h.reg
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	d, err := NewDispatcher(cfg, chans, opts)
	if err != nil {
		box.Close()
		h.t.Fatal(err)
	}
	h.d, h.box = d, box
}

// close stops the dispatcher and closes the outbox, as a daemon shutting down.
func (h *harness) close() {
	if h.d == nil {
		return
	}
	for _, f := range h.chans {
		if f.block != nil {
			select {
			case <-f.block:
			default:
				close(f.block)
			}
		}
	}
	h.d.Close()
	if err := h.box.Close(); err != nil {
		h.t.Error(err)
	}
	h.d = nil
}

// handle hands evs to the dispatcher as one unit (the transitions of one
// reading) and waits until its batch is committed and queued.
func (h *harness) handle(evs ...alerting.Event) {
	h.d.Enqueue(evs)
	h.d.Flush()
}

// crash stops the dispatcher as a SIGKILL would between two batches: the
// pipeline takes nothing more (what is enqueued is never committed), the
// queues stop without sending what waits, and the outbox file is closed as
// it is. Channel sends under way finish, as a request already on the wire.
func (h *harness) crash() {
	h.d.gate.TryLock() // never unlocked (a test may hold it already): the pipeline is as dead as the process
	h.d.queues.close()
	if err := h.box.Close(); err != nil {
		h.t.Error(err)
	}
	h.d = nil
}

// tick moves the clock by d and runs the dispatcher's Tick.
func (h *harness) tick(d time.Duration) {
	h.d.Tick(h.clock.Add(d))
}

// settled waits until the outbox holds exactly pending notifications, that
// is until every other notification has been accepted by its channel.
func (h *harness) settled(pending int) {
	h.t.Helper()
	deadline := time.Now().Add(wait)
	for {
		es, err := h.box.entries()
		if err != nil {
			h.t.Fatal(err)
		}
		if len(es) == pending {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("outbox holds %d notifications, want %d", len(es), pending)
		}
		time.Sleep(time.Millisecond) // polling a condition, not timing
	}
}

// firstSentAt moves the clock by early and checks that channel sends
// nothing, then by the rest of due and returns the first alert id of the
// one message channel sends then.
func (h *harness) firstSentAt(t *testing.T, channel string, early, due time.Duration) string {
	t.Helper()
	h.tick(early)
	h.settled(0)
	h.chans[channel].quiet(t)
	h.tick(due - early)
	h.settled(0)
	return ids(h.chans[channel].expect(t, 1)[0])[0]
}

// count returns hazwatch_notifications_total for channel and result.
func (h *harness) count(channel, result string) float64 {
	return testutil.ToFloat64(h.d.m.total.WithLabelValues(channel, result))
}

// event returns a transition of alert id (rule "gas-lel" on site/sensor).
func event(id, site, sensor string, status string, level, previous configs.Level) alerting.Event {
	return alerting.Event{
		ID: id, Rule: "gas-lel", Type: configs.TypeThreshold, Status: status,
		Level: level, Previous: previous, Site: site, Kind: "gas_lel", Sensor: sensor,
		Value: 52.1, Threshold: 50, At: t0, StartedAt: t0,
	}
}

func fire(id, site, sensor string, level configs.Level) alerting.Event {
	return event(id, site, sensor, alerting.StatusFiring, level, configs.LevelNone)
}

func channels(names ...string) []configs.Channel {
	out := make([]configs.Channel, len(names))
	for i, n := range names {
		out[i] = configs.Channel{Name: n, Type: configs.ChannelWebhook}
	}
	return out
}

// ids lists the alert ids of m.
func ids(m Message) []string {
	out := make([]string, len(m.Alerts))
	for i, a := range m.Alerts {
		out[i] = a.ID
	}
	return out
}
