package notify

import (
	"context"
	"testing"
	"time"

	"hazwatch/configs"
)

func TestReload_MovesWaitingNotificationsAndNewRoutesApply(t *testing.T) {
	oneAMinute := configs.Rate{PerSecond: 1.0 / 60, Text: "1/m"}
	cfg := configs.Notify{
		Channels: []configs.Channel{{Name: "a", Type: configs.ChannelWebhook, RateLimit: oneAMinute}, {Name: "b", Type: configs.ChannelWebhook}},
		Routes:   []configs.Route{{Channels: []string{"a"}}},
	}
	h := newHarness(t, cfg, DispatcherOptions{})
	h.handle(fire("a1", "hx", "GT-01", configs.LevelRed))
	h.handle(fire("a2", "hx", "GT-02", configs.LevelRed))
	h.settled(1)
	h.chans["a"].expect(t, 1)

	next := configs.Notify{
		Channels: []configs.Channel{{Name: "a", Type: configs.ChannelWebhook}, {Name: "b", Type: configs.ChannelWebhook}},
		Routes:   []configs.Route{{Channels: []string{"b"}}},
	}
	chans := map[string]Channel{"a": h.chans["a"], "b": h.chans["b"]}
	if err := h.d.Reload(next, chans); err != nil {
		t.Fatal(err)
	}
	h.settled(0) // a's waiting notification went once its limit was lifted
	if got := ids(h.chans["a"].expect(t, 1)[0]); got[0] != "a2" {
		t.Errorf("after reload a got %v, want a2", got)
	}
	h.handle(fire("a3", "hx", "GT-03", configs.LevelRed))
	h.settled(0)
	if got := ids(h.chans["b"].expect(t, 1)[0]); got[0] != "a3" {
		t.Errorf("the new route sent %v, want a3", got)
	}
	h.tick(time.Hour) // firing alerts are not sent again on the new route
	h.settled(0)
	h.chans["a"].quiet(t)
	h.chans["b"].quiet(t)
}

func TestRun_TicksUntilCancelled(t *testing.T) {
	cfg := configs.Notify{
		Channels: channels("sms"),
		Routes:   []configs.Route{{Channels: []string{"sms"}, GroupWait: configs.Duration(10 * time.Second)}},
	}
	h := newHarness(t, cfg, DispatcherOptions{TickInterval: time.Millisecond})
	h.handle(fire("a1", "hx", "GT-01", configs.LevelRed))
	h.clock.Add(10 * time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.d.Run(ctx) }()
	h.chans["sms"].expect(t, 1) // sent by Run's Tick, not the test's
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(wait):
		t.Fatal("Run did not return after cancel")
	}
}

func TestBackoff_DoublesUpToTheMaximum(t *testing.T) {
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	for i, w := range want {
		if got := backoff(time.Second, 10*time.Second, i+1); got != w {
			t.Errorf("attempt %d: %v, want %v", i+1, got, w)
		}
	}
	if got := backoff(time.Second, 10*time.Second, 1000); got != 10*time.Second {
		t.Errorf("attempt 1000: %v", got)
	}
}

func TestBucket_BurstThenRate(t *testing.T) {
	tests := []struct {
		rate  configs.Rate
		steps []time.Duration // offsets from t0 of each try
		want  []bool
	}{
		{configs.Rate{PerSecond: 20.0 / 60, Text: "20/m"}, nil, nil},
		{configs.Rate{PerSecond: 2.0 / 60, Text: "2/m"},
			[]time.Duration{0, 0, 0, 29 * time.Second, 30 * time.Second, 30 * time.Second, 10 * time.Minute, 10 * time.Minute, 10 * time.Minute},
			[]bool{true, true, false, false, true, false, true, true, false}},
		{configs.Rate{PerSecond: 0.5, Text: "0.5/s"},
			[]time.Duration{0, 0, 2 * time.Second, time.Second},
			[]bool{true, false, true, false}},
	}
	for _, tt := range tests {
		t.Run(tt.rate.Text, func(t *testing.T) {
			b := newBucket(tt.rate)
			if tt.steps == nil { // a full burst of 20, then none
				for i := range 21 {
					if got := b.allow(t0); got != (i < 20) {
						t.Errorf("try %d: %v", i, got)
					}
				}
				return
			}
			for i, off := range tt.steps {
				if got := b.allow(t0.Add(off)); got != tt.want[i] {
					t.Errorf("try %d at +%v: %v, want %v", i, off, got, tt.want[i])
				}
			}
		})
	}
	if newBucket(configs.Rate{}) != nil {
		t.Error("a zero rate limits")
	}
}
