package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hazwatch/alerting/notify"
	"hazwatch/configs"
)

// countingChannel counts the messages it accepts.
type countingChannel struct {
	mu   sync.Mutex
	sent int
}

func (c *countingChannel) Name() string { return "duty" }

func (c *countingChannel) Send(context.Context, *notify.Message) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent++
	return false, nil
}

func (c *countingChannel) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sent
}

// TestAPI_AckStopsTheDispatchersRepeats drives a real dispatcher through
// the API: an ack over HTTP stops the repeats, and the alert list shows it
// acknowledged and silenced.
func TestAPI_AckStopsTheDispatchersRepeats(t *testing.T) {
	var now atomic.Int64 // the fake clock, read by the dispatcher's workers
	now.Store(t0.UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()).UTC() }
	advance := func() time.Time { return time.Unix(0, now.Add(int64(10*time.Minute))).UTC() }
	box, err := notify.OpenOutbox(filepath.Join(t.TempDir(), "outbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { box.Close() })
	duty := &countingChannel{}
	cfg := configs.Notify{
		Channels: []configs.Channel{{Name: "duty", Type: configs.ChannelWebhook}},
		Routes:   []configs.Route{{Channels: []string{"duty"}, Repeat: configs.Duration(10 * time.Minute)}},
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	d, err := notify.NewDispatcher(cfg, map[string]notify.Channel{"duty": duty}, notify.DispatcherOptions{
		Outbox: box, Clock: clock, Logger: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	alerts := active()
	srv := httptest.NewServer(New(Options{Alerts: alerts, Dispatcher: d, Token: token, Clock: clock, Logger: quiet}))
	t.Cleanup(srv.Close)

	d.Enqueue(alerts[:1])
	waitCount(t, duty, 1)
	d.Tick(advance())
	waitCount(t, duty, 2)

	if status, body := do(t, srv, "POST", "/api/v1/alerts/gas-1/ack", token, `{"operator":"张工","comment":"已派人检查"}`); status != 200 {
		t.Fatalf("ack: %d %s", status, body)
	}
	if status, body := do(t, srv, "POST", "/api/v1/silences", token, `{"match":{"site":"hx-chem-01"},"from":"2026-11-28T10:40:00Z","to":"2026-11-28T11:00:00Z"}`); status != 201 {
		t.Fatalf("silence: %d %s", status, body)
	}
	for range 3 {
		d.Tick(advance())
	}
	_, body := do(t, srv, "GET", "/api/v1/alerts?rule=gas-lel", "", "")
	var got alertsBody
	if err := json.Unmarshal([]byte(body), &got); err != nil || len(got.Alerts) != 1 {
		t.Fatalf("alerts %s (%v)", body, err)
	}
	if a := got.Alerts[0]; !a.Acked || a.AckedBy != "张工" || !a.Silenced {
		t.Errorf("listed %+v, want acked by 张工 and, at 10:40, silenced", a)
	}
	d.Close() // waits for any send in flight
	if n := duty.count(); n != 2 {
		t.Errorf("%d messages, want 2: the ack stopped the repeats", n)
	}
}

func waitCount(t *testing.T, c *countingChannel, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for c.count() < n {
		if time.Now().After(deadline) {
			t.Fatalf("channel got %d messages, want %d", c.count(), n)
		}
		time.Sleep(time.Millisecond) // polling a condition, not timing
	}
}
