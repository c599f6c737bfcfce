package notify

import (
	"slices"
	"strings"
	"testing"
	"time"

	"hazwatch/alerting"
	"hazwatch/configs"
)

// A detector goes stale, then reports a value out of its range: the reading
// resolves the stale alert and fires the fault alert in one unit. The fault
// is news and must be told; its resolve later too. Alone, or with its site's
// other detectors silent (a site outage open).
func TestStaleThenFault_TheFaultIsTold(t *testing.T) {
	for _, outage := range []bool{false, true} {
		t.Run(map[bool]string{false: "alone", true: "in a site outage"}[outage], func(t *testing.T) {
			staleThenFault(t, outage)
		})
	}
}

func staleThenFault(t *testing.T, outage bool) {
	cfg := configs.Notify{Channels: channels("duty"), Routes: []configs.Route{{Channels: []string{"duty"}}},
		OutageWindow: configs.Duration(10 * time.Second)}
	h := newHarness(t, cfg, DispatcherOptions{SiteSensors: func(string) int { return 4 }})
	stale := func(status string) alerting.Event {
		ev := event("stale-GT-2", "plant", "GT-2", status, configs.LevelBlue, configs.LevelNone)
		ev.Rule, ev.Type = "no-data", configs.TypeStale
		if status == alerting.StatusResolved {
			ev.Previous = configs.LevelBlue
		}
		return ev
	}
	fault := func(status string) alerting.Event {
		ev := event("fault-GT-2", "plant", "GT-2", status, configs.LevelBlue, configs.LevelNone)
		ev.Rule, ev.Type = "sensor-fault", configs.TypeFault
		if status == alerting.StatusResolved {
			ev.Previous = configs.LevelBlue
		}
		return ev
	}
	h.handle(stale(alerting.StatusFiring))
	if outage {
		for _, s := range []string{"GT-1", "GT-3", "GT-4"} {
			ev := event("stale-"+s, "plant", s, alerting.StatusFiring, configs.LevelBlue, configs.LevelNone)
			ev.Rule, ev.Type = "no-data", configs.TypeStale
			h.handle(ev)
		}
		h.tick(time.Minute)
	}
	h.handle(fault(alerting.StatusFiring), stale(alerting.StatusResolved))
	h.tick(time.Minute)
	h.handle(fault(alerting.StatusResolved))
	h.tick(time.Second)
	h.settled(0)
	var got []string
	for _, d := range describe(h.chans["duty"].drain()) {
		if !strings.HasPrefix(d, "site-outage/") {
			got = append(got, d)
		}
	}
	if want := []string{"fault-GT-2 firing blue", "fault-GT-2 resolved blue"}; !slices.Equal(got, want) {
		t.Errorf("told %q, want %q", got, want)
	}
}

// A unit that changes one alert twice (a replay after a crash groups by
// reading time, and a reload's resolve can share it) tells each change.
func TestUnit_TwoChangesOfOneAlertAreEachTold(t *testing.T) {
	cfg := configs.Notify{Channels: channels("duty"), Routes: []configs.Route{{Channels: []string{"duty"}}}}
	h := newHarness(t, cfg, DispatcherOptions{})
	h.handle(fire("gas-GT-1", "plant", "GT-1", configs.LevelRed),
		resolved(event("gas-GT-1", "plant", "GT-1", alerting.StatusFiring, configs.LevelRed, configs.LevelRed)))
	h.settled(0)
	got := describe(h.chans["duty"].drain())
	if want := []string{"gas-GT-1 firing red", "gas-GT-1 resolved red"}; !slices.Equal(got, want) {
		t.Errorf("told %q, want %q", got, want)
	}
}

// A tick's unit lists its transitions by site and sensor, not by sequence:
// the cursor is the highest sequence handled, so that a replay after a
// crash does not take any of them up again.
func TestUnit_TheCursorIsTheHighestSequence(t *testing.T) {
	cfg := configs.Notify{Channels: channels("duty"), Routes: []configs.Route{{Channels: []string{"duty"}}}}
	h := newHarness(t, cfg, DispatcherOptions{})
	a, b := fire("gas-GT-1", "plant", "GT-1", configs.LevelRed), fire("gas-GT-2", "plant", "GT-2", configs.LevelRed)
	a.Seq, b.Seq = 27, 26
	h.handle(a, b)
	if got := h.d.Cursor(); got != 27 {
		t.Errorf("cursor %d after a unit of sequences 27 and 26, want 27", got)
	}
}

// The escalation channels told an alert is firing are told its resolve too,
// even after a rise cleared the escalation.
func TestResolve_ReachesTheEscalationChannels(t *testing.T) {
	cfg := configs.Notify{
		Channels: channels("duty", "boss"),
		Routes: []configs.Route{{
			Channels: []string{"duty"},
			Escalate: &configs.Escalate{After: configs.Duration(15 * time.Minute), Channels: []string{"boss"}},
		}},
	}
	h := newHarness(t, cfg, DispatcherOptions{})
	h.handle(fire("gas", "hx", "GT-03", configs.LevelYellow))
	h.tick(16 * time.Minute)
	h.handle(event("gas", "hx", "GT-03", alerting.StatusFiring, configs.LevelRed, configs.LevelYellow))
	h.handle(resolved(event("gas", "hx", "GT-03", alerting.StatusFiring, configs.LevelRed, configs.LevelRed)))
	h.tick(time.Second)
	h.settled(0)
	if got := describe(h.chans["boss"].drain()); !slices.Equal(got, []string{"gas firing yellow", "gas resolved red"}) {
		t.Errorf("escalation channel told %q, want the firing and its resolve", got)
	}
}

// A phone over its budget still gets the resolve of what it was told.
func TestResolve_GoesPastTheRecipientLimit(t *testing.T) {
	cfg := configs.Notify{
		Channels: []configs.Channel{{Name: "sms", Type: configs.ChannelAliyunSMS}},
		Routes: []configs.Route{{Channels: []string{"sms"}, Phones: []string{"+8613800000000"},
			RecipientRateLimit: configs.Rate{PerSecond: 1.0 / 3600, Text: "1/h"}}},
	}
	h := newHarness(t, cfg, DispatcherOptions{})
	h.handle(fire("gas", "hx", "GT-03", configs.LevelYellow))
	h.handle(resolved(event("gas", "hx", "GT-03", alerting.StatusFiring, configs.LevelYellow, configs.LevelYellow)))
	h.settled(0)
	if got := describe(h.chans["sms"].drain()); !slices.Equal(got, []string{"gas firing yellow", "gas resolved yellow"}) {
		t.Errorf("told %q, want the firing and its resolve", got)
	}
}

// A reload that changes the routes does not count an alert never told (it
// was silenced) as told: it is announced once the silence ends, and its
// resolve follows a firing.
func TestReload_AnAlertNeverToldIsNotCountedAsTold(t *testing.T) {
	cfg := configs.Notify{Channels: channels("duty"), Routes: []configs.Route{{Channels: []string{"duty"}}},
		Silences: []configs.Silence{{Match: configs.Matcher{"sensor": {"GT-03"}}, From: t0, To: t0.Add(time.Minute)}}}
	h := newHarness(t, cfg, DispatcherOptions{})
	h.handle(fire("gas", "hx", "GT-03", configs.LevelRed))
	cfg.Routes = []configs.Route{{Channels: []string{"duty"}, Repeat: configs.Duration(time.Hour)}}
	if err := h.d.Reload(cfg, map[string]Channel{"duty": h.chans["duty"]}); err != nil {
		t.Fatal(err)
	}
	h.tick(2 * time.Minute)
	h.settled(0)
	if got := describe(h.chans["duty"].drain()); !slices.Equal(got, []string{"gas firing red"}) {
		t.Errorf("after the silence told %q, want the firing", got)
	}
}
