package notify

import (
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"hazwatch/alerting"
	"hazwatch/configs"
)

func TestInhibit_StaleSensorHoldsBackItsOtherAlerts(t *testing.T) {
	cfg := configs.Notify{Channels: channels("duty"), Routes: []configs.Route{{Channels: []string{"duty"}}}}
	h := newHarness(t, cfg, DispatcherOptions{SiteSensors: func(string) int { return 10 }})
	duty := h.chans["duty"]
	stale := alerting.Event{ID: "stale-GT-03", Rule: "no-data", Type: configs.TypeStale, Status: alerting.StatusFiring,
		Level: configs.LevelYellow, Site: "hx", Sensor: "GT-03"}
	h.handle(stale)
	h.handle(fire("gas-GT-03", "hx", "GT-03", configs.LevelRed))
	h.handle(fire("gas-GT-04", "hx", "GT-04", configs.LevelRed))
	h.settled(0)
	if got := ids(duty.expect(t, 1)[0]); got[0] != "gas-GT-04" {
		t.Errorf("sent %v, want only the other sensor's alert", got)
	}
	duty.quiet(t)

	h.tick(time.Minute) // the outage window: one stale sensor of ten is not an outage
	h.settled(0)
	if got := ids(duty.expect(t, 1)[0]); got[0] != "stale-GT-03" {
		t.Errorf("after the window %v, want the stale alert itself", got)
	}
	duty.quiet(t)

	resolved := stale
	resolved.Status = alerting.StatusResolved
	h.handle(resolved)
	h.tick(time.Second) // data is back: the gas alert is no longer held back
	h.settled(0)
	got := duty.expect(t, 2)
	if got[0].Alerts[0].Status != alerting.StatusResolved || ids(got[1])[0] != "gas-GT-03" {
		t.Errorf("after the stale resolved: %v %v, want its resolve then gas-GT-03", ids(got[0]), ids(got[1]))
	}
	duty.quiet(t)
}

func TestInhibit_SiteOutageIsOneMessage(t *testing.T) {
	tests := []struct {
		name    string
		stale   int
		sensors int
		want    []string // messages' first alert ids
		names   string   // the silent sensors the site-level message names
	}{
		{"most of a site", 4, 6, []string{"site-outage/hx"}, "S0、S1、S2 等 4 个"},
		{"half of a site", 3, 6, []string{"site-outage/hx"}, "S0、S1、S2"},
		{"under half", 3, 7, []string{"stale-S0", "stale-S1", "stale-S2"}, ""},
		{"too few to call an outage", 2, 2, []string{"stale-S0", "stale-S1"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := configs.Notify{Channels: channels("duty"), Routes: []configs.Route{{Channels: []string{"duty"}}}}
			h := newHarness(t, cfg, DispatcherOptions{SiteSensors: func(string) int { return tt.sensors }})
			for i := range tt.stale {
				s := "S" + string(rune('0'+i))
				h.handle(alerting.Event{ID: "stale-" + s, Rule: "no-data", Type: configs.TypeStale, Status: alerting.StatusFiring,
					Level: configs.LevelYellow, Site: "hx", SiteName: "华兴化工", Sensor: s})
				h.clock.Add(10 * time.Second)
			}
			h.tick(time.Minute)
			h.settled(0)
			ms := h.chans["duty"].expect(t, len(tt.want))
			h.chans["duty"].quiet(t)
			var got []string
			for _, m := range ms {
				got = append(got, ids(m)[0])
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("sent %v, want %v", got, tt.want)
			}
			if tt.want[0] == "site-outage/hx" {
				want := "【数据中断】华兴化工 " + string(rune('0'+tt.stale)) + " 个传感器数据中断，疑似网关或供电故障：" + tt.names
				if msg := ms[0].Alerts[0].Message; msg != want {
					t.Errorf("message %q, want %q", msg, want)
				}
			}
		})
	}
}

func TestInhibit_ReloadChangesTheOutageWindow(t *testing.T) {
	cfg := configs.Notify{Channels: channels("duty"), Routes: []configs.Route{{Channels: []string{"duty"}}}}
	h := newHarness(t, cfg, DispatcherOptions{SiteSensors: func(string) int { return 10 }})
	cfg.OutageWindow = configs.Duration(10 * time.Second) // from the default minute
	if err := h.d.Reload(cfg, map[string]Channel{"duty": h.chans["duty"]}); err != nil {
		t.Fatal(err)
	}
	h.handle(alerting.Event{ID: "stale-GT-03", Rule: "no-data", Type: configs.TypeStale, Status: alerting.StatusFiring,
		Level: configs.LevelYellow, Site: "hx", Sensor: "GT-03"})
	if got := h.firstSentAt(t, "duty", 9*time.Second, 10*time.Second); got != "stale-GT-03" {
		t.Errorf("after the reloaded window %v, want the stale alert", got)
	}
}

func TestChannelRateLimit_TwentyAMinute(t *testing.T) {
	cfg := configs.Notify{
		Channels: []configs.Channel{{Name: "ding", Type: configs.ChannelDingTalk, RateLimit: configs.Rate{PerSecond: 20.0 / 60, Text: "20/m"}}},
		Routes:   []configs.Route{{Channels: []string{"ding"}}},
	}
	h := newHarness(t, cfg, DispatcherOptions{})
	ding := h.chans["ding"]
	for i := range 21 {
		h.handle(fire("a"+string(rune('A'+i)), "hx", "GT-03", configs.LevelRed))
	}
	h.settled(1)
	ding.expect(t, 20)
	ding.quiet(t)
	h.tick(2 * time.Second) // a token every 3s
	h.settled(1)
	ding.quiet(t)
	h.tick(time.Second)
	h.settled(0)
	if got := ids(ding.expect(t, 1)[0]); got[0] != "aU" {
		t.Errorf("later %v, want the 21st", got)
	}
}

func TestRecipientRateLimit_DropsExcessButNeverRed(t *testing.T) {
	cfg := configs.Notify{
		Channels: []configs.Channel{{Name: "sms", Type: configs.ChannelAliyunSMS}, {Name: "center", Type: configs.ChannelWebhook}},
		Routes: []configs.Route{{
			Channels: []string{"sms", "center"}, Phones: []string{"+8613800000001"}, Contacts: "site",
			RecipientRateLimit: configs.Rate{PerSecond: 2.0 / 3600, Text: "2/h"},
		}},
	}
	contacts := func(site, _ string) []string {
		if site == "b" {
			return []string{"+8613900000009"}
		}
		return nil
	}
	h := newHarness(t, cfg, DispatcherOptions{Contacts: contacts})
	sms := h.chans["sms"]
	fires := []struct {
		site  string
		level configs.Level
		want  []string // the SMS's recipients; nil: no SMS
	}{
		{"a", configs.LevelYellow, []string{"+8613800000001"}},
		{"a", configs.LevelYellow, []string{"+8613800000001"}},
		{"a", configs.LevelOrange, nil},
		{"b", configs.LevelOrange, []string{"+8613900000009"}},
		{"a", configs.LevelRed, []string{"+8613800000001"}},
	}
	for i, f := range fires {
		h.handle(fire("a"+string(rune('0'+i)), f.site, "S", f.level))
		h.settled(0)
		if f.want == nil {
			sms.quiet(t)
			continue
		}
		if got := sms.expect(t, 1)[0].Recipients; !slices.Equal(got, f.want) {
			t.Errorf("fire %d: recipients %v, want %v", i, got, f.want)
		}
	}
	h.chans["center"].expect(t, len(fires))
	if got := h.count("sms", resultDropped); got != 2 { // the orange at a, and the duty phone on b's text
		t.Errorf("dropped = %v, want 2", got)
	}
	h.tick(30 * time.Minute) // one more text per phone
	h.handle(fire("later", "a", "S", configs.LevelYellow))
	h.settled(0)
	sms.expect(t, 1)
}

func TestHangingChannel_DoesNotDelayAnother(t *testing.T) {
	cfg := configs.Notify{
		Channels: []configs.Channel{
			{Name: "hang", Type: configs.ChannelWebhook, Timeout: configs.Duration(time.Hour)},
			{Name: "fast", Type: configs.ChannelWebhook},
		},
		Routes: []configs.Route{{Channels: []string{"hang", "fast"}}},
	}
	h := newHarness(t, cfg, DispatcherOptions{})
	h.chans["hang"].block = make(chan struct{})
	for _, id := range []string{"a1", "a2", "a3"} {
		h.handle(fire(id, "hx", "GT-03", configs.LevelRed))
	}
	// Received while the other channel's first send is still blocked.
	h.chans["fast"].expect(t, 3)
	if got := h.chans["hang"].Attempts(); got != 1 {
		t.Errorf("hanging channel: %d attempts, want 1 in flight", got)
	}
	h.settled(3)
	if got := testutil.ToFloat64(h.d.m.queue.WithLabelValues("hang")); got != 2 {
		t.Errorf("hanging channel's queue gauge %v, want 2 waiting", got)
	}
}

func TestConcurrency_SendsInParallelUpToTheSetting(t *testing.T) {
	cfg := configs.Notify{
		Channels: []configs.Channel{{Name: "slow", Type: configs.ChannelWebhook, Concurrency: 2, Timeout: configs.Duration(time.Hour)}},
		Routes:   []configs.Route{{Channels: []string{"slow"}}},
	}
	h := newHarness(t, cfg, DispatcherOptions{})
	slow := h.chans["slow"]
	slow.block = make(chan struct{})
	for _, id := range []string{"a1", "a2", "a3"} {
		h.handle(fire(id, "hx", "GT-03", configs.LevelRed))
	}
	waitFor(t, func() bool { return slow.Attempts() == 2 })
	h.settled(3)
	if got := slow.Attempts(); got != 2 {
		t.Errorf("%d sends in flight, want 2", got)
	}
	close(slow.block)
	slow.expect(t, 3)
	h.settled(0)
}

func TestInhibit_HeldStaleAlertIsSentOnceAtItsLatestLevel(t *testing.T) {
	cfg := configs.Notify{Channels: channels("duty"), Routes: []configs.Route{{Channels: []string{"duty"}}}}
	h := newHarness(t, cfg, DispatcherOptions{SiteSensors: func(string) int { return 10 }})
	stale := alerting.Event{ID: "stale-GT-03", Rule: "no-data", Type: configs.TypeStale, Status: alerting.StatusFiring,
		Level: configs.LevelYellow, Site: "hx", Sensor: "GT-03"}
	h.handle(stale)
	stale.Previous, stale.Level = configs.LevelYellow, configs.LevelOrange
	h.clock.Add(30 * time.Second)
	h.handle(stale)
	h.settled(0)
	h.chans["duty"].quiet(t)
	h.tick(30 * time.Second)
	h.settled(0)
	if got := h.chans["duty"].expect(t, 1)[0].Alerts[0].Level; got != configs.LevelOrange {
		t.Errorf("sent at %v, want orange", got)
	}
	h.chans["duty"].quiet(t)
}
