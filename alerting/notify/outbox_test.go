package notify

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	bolt "go.etcd.io/bbolt"

	"hazwatch/configs"
)

func TestOutbox_RetriesWithBackoffAndSurvivesRestartExactlyOnce(t *testing.T) {
	cfg := configs.Notify{Channels: channels("center"), Routes: []configs.Route{{Channels: []string{"center"}}}}
	h := newHarness(t, cfg, DispatcherOptions{RetryMin: time.Second, RetryMax: 4 * time.Second})
	center := h.chans["center"]
	center.fail = 1000 // the receiver is down

	for _, id := range []string{"a1", "a2", "a3"} {
		h.handle(fire(id, "hx", "GT-"+id, configs.LevelRed))
	}
	waitFor(t, func() bool { return h.count("center", resultRetried) == 3 })

	// Backoff: nothing is due again before 1s, then 2s after the second failure.
	h.tick(999 * time.Millisecond)
	h.settled(3)
	if n := center.Attempts(); n != 3 {
		t.Fatalf("retried before the backoff ended: %d attempts", n)
	}
	h.tick(time.Millisecond)
	waitFor(t, func() bool { return h.count("center", resultRetried) == 6 })
	h.tick(1999 * time.Millisecond)
	h.settled(3)
	if n := center.Attempts(); n != 6 {
		t.Fatalf("second retry before 2s: %d attempts", n)
	}
	if got := h.count("center", resultRetried); got != 6 {
		t.Errorf("retried = %v, want 6", got)
	}

	// Restart while the receiver is still down, then it comes back.
	h.close()
	center.fail = 0
	h.open(cfg, DispatcherOptions{RetryMin: time.Second, RetryMax: 4 * time.Second})
	h.tick(2 * time.Second)
	got := center.expect(t, 3)
	h.settled(0)
	for range 3 {
		h.tick(time.Minute)
	}
	h.close()
	h.open(cfg, DispatcherOptions{})
	h.tick(time.Hour)
	h.settled(0)
	center.quiet(t)

	var alerts []string
	for _, m := range got {
		alerts = append(alerts, ids(m)...)
	}
	slices.Sort(alerts)
	if want := []string{"a1", "a2", "a3"}; !slices.Equal(alerts, want) {
		t.Errorf("delivered %v, want each of %v once", alerts, want)
	}
}

func TestOutbox_ExpiredNotificationIsDropped(t *testing.T) {
	cfg := configs.Notify{Channels: channels("center"), Routes: []configs.Route{{Channels: []string{"center"}}}}
	opts := DispatcherOptions{RetryMin: time.Minute, RetryMax: time.Hour, Expiry: 2 * time.Hour}
	h := newHarness(t, cfg, opts)
	center := h.chans["center"]
	center.fail = 1000
	h.handle(fire("a1", "hx", "GT-01", configs.LevelRed))
	for attempts := 1; h.count("center", resultDropped) == 0; attempts++ {
		waitFor(t, func() bool {
			return h.count("center", resultRetried)+h.count("center", resultDropped) >= float64(attempts)
		})
		h.tick(time.Hour)
	}
	h.settled(0)
	if got := center.Attempts(); got < 2 || got > 4 {
		t.Errorf("%d attempts within a 2h expiry with 1m, 2m, 4m, ... backoff", got)
	}
}

func TestOutbox_AcksAndSilencesPersist(t *testing.T) {
	cfg := configs.Notify{Channels: channels("center"), Routes: []configs.Route{{Channels: []string{"center"}}}}
	h := newHarness(t, cfg, DispatcherOptions{})
	if err := h.d.Ack("a1", "张工", "已派人检查"); err != nil {
		t.Fatal(err)
	}
	id, err := h.d.AddSilence(Silence{Match: configs.Matcher{"site": {"hx"}}, From: t0, To: t0.Add(time.Hour), CreatedBy: "李工"})
	if err != nil {
		t.Fatal(err)
	}
	h.close()
	h.open(cfg, DispatcherOptions{})
	if a, ok := h.d.AckOf("a1"); !ok || a.Operator != "张工" || a.Comment != "已派人检查" {
		t.Errorf("ack after restart: %+v, %v", a, ok)
	}
	sils := h.d.Silences()
	if len(sils) != 1 || sils[0].ID != id || sils[0].CreatedBy != "李工" {
		t.Errorf("silences after restart: %+v", sils)
	}
}

// waitFor waits for cond, which the dispatcher's goroutines make true.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(time.Millisecond) // polling a condition, not timing
	}
}

// A damaged outbox file is moved aside and a fresh one started, and a
// record that does not decode is dropped: either is logged and counted, and
// the dispatcher goes on sending.
func TestOutbox_DamageIsMovedAsideOrDropped(t *testing.T) {
	cfg := configs.Notify{Channels: channels("center"), Routes: []configs.Route{{Channels: []string{"center"}}}}
	tests := []struct {
		name   string
		damage func(t *testing.T, h *harness) // with the outbox closed
		aside  bool                           // the file is moved aside
		left   int                            // notifications still pending after the damage
	}{
		{"not an outbox", func(t *testing.T, h *harness) {
			if err := os.WriteFile(h.path, bytes.Repeat([]byte("not a bbolt file "), 1000), 0o600); err != nil {
				t.Fatal(err)
			}
		}, true, 0},
		{"truncated", func(t *testing.T, h *harness) {
			fi, err := os.Stat(h.path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(h.path, fi.Size()/3); err != nil {
				t.Fatal(err)
			}
		}, true, 0},
		{"a record that does not decode", func(t *testing.T, h *harness) {
			db, err := bolt.Open(h.path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketPending).Put(entryKey(1), []byte("{garbage")) }); err != nil {
				t.Fatal(err)
			}
		}, false, 199},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, cfg, DispatcherOptions{})
			h.chans["center"].fail = 1 << 30 // everything stays pending
			for i := range 200 {
				h.handle(fire(fmt.Sprintf("a%03d", i), "hx", "GT-01", configs.LevelRed))
			}
			h.crash()
			tt.damage(t, h)

			h.open(cfg, DispatcherOptions{})
			if got := testutil.ToFloat64(h.d.m.damaged); got != 1 {
				t.Errorf("damage counted %v times, want 1", got)
			}
			aside, _ := filepath.Glob(h.path + ".corrupt-*")
			if got := len(aside) == 1; got != tt.aside {
				t.Errorf("moved aside: %v", aside)
			}
			h.settled(tt.left)
			h.chans["center"].fail = 0
			h.handle(fire("after", "hx", "GT-02", configs.LevelRed))
			if got := ids(h.chans["center"].expect(t, 1)[0]); !slices.Equal(got, []string{"after"}) {
				t.Errorf("after the damage sent %v, want the new alert", got)
			}
		})
	}
}
