package notify

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"hazwatch/alerting"
	"hazwatch/configs"
)

var sequences = flag.Int("notify.sequences", 60, "random sequences of TestRandom_NothingStrandedNothingUnannounced")

// TestRandom_NothingStrandedNothingUnannounced drives the dispatcher with
// random transitions of threshold, fault and stale alerts on a few
// detectors of one site (so inhibition and site outages come and go), with
// ticks, acks, silences, crashes that lose what was not committed, and
// replays from the cursor. The receiver never sees a resolve of an alert it
// was not told is firing, never gets a notification id twice, and is told
// every alert resolved once the engine has resolved them all.
func TestRandom_NothingStrandedNothingUnannounced(t *testing.T) {
	for seed := range uint64(*sequences) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			randomSequence(t, seed)
		})
	}
}

func randomSequence(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	route := configs.Route{Channels: []string{"duty"}}
	if rng.IntN(2) == 0 {
		route.GroupWait = configs.Duration(10 * time.Second)
	}
	if rng.IntN(2) == 0 {
		route.Repeat = configs.Duration(5 * time.Minute)
	}
	cfg := configs.Notify{Channels: channels("duty"), Routes: []configs.Route{route}, OutageWindow: configs.Duration(time.Minute)}
	opts := DispatcherOptions{SiteSensors: func(string) int { return 6 }}
	h := newHarness(t, cfg, opts)

	sensors := []string{"S1", "S2", "S3", "S4"}
	types := []string{configs.TypeThreshold, configs.TypeFault, configs.TypeStale}
	level := map[string]configs.Level{} // the engine's view: alert id → level in effect
	var journal [][]alerting.Event
	var seq uint64
	transition := func(sensor, typ string, to configs.Level) alerting.Event {
		id := typ + "-" + sensor
		from := level[id]
		ev := event(id, "hx", sensor, alerting.StatusFiring, to, from)
		ev.Rule, ev.Type = typ, typ
		if to == configs.LevelNone {
			ev.Status, ev.Level = alerting.StatusResolved, from
		}
		seq++
		ev.Seq = seq
		if to == configs.LevelNone {
			delete(level, id)
		} else {
			level[id] = to
		}
		return ev
	}
	// reading makes the transitions of one reading of sensor.
	reading := func(sensor string) []alerting.Event {
		var u []alerting.Event
		for _, typ := range types {
			if rng.IntN(2) == 0 {
				continue
			}
			from := level[typ+"-"+sensor]
			to := configs.Level(rng.IntN(int(configs.LevelRed) + 1))
			if typ != configs.TypeThreshold && to != configs.LevelNone {
				to = configs.LevelYellow
			}
			if to != from {
				u = append(u, transition(sensor, typ, to))
			}
		}
		return u
	}
	for range 40 {
		switch r := rng.IntN(20); {
		case r < 11:
			if u := reading(sensors[rng.IntN(len(sensors))]); len(u) > 0 {
				journal = append(journal, u)
				h.handle(u...)
			}
		case r < 15:
			h.tick(time.Duration(rng.IntN(120)) * time.Second)
		case r < 16:
			for id := range level {
				if err := h.d.Ack(id, "值班员", ""); err != nil {
					t.Fatal(err)
				}
				break
			}
		case r < 17:
			s := sensors[rng.IntN(len(sensors))]
			from := h.clock.Now()
			if _, err := h.d.AddSilence(Silence{Match: configs.Matcher{"sensor": {s}}, From: from, To: from.Add(time.Duration(1+rng.IntN(10)) * time.Minute)}); err != nil {
				t.Fatal(err)
			}
		default: // a crash that loses the readings not yet committed
			h.d.gate.Lock()
			for range rng.IntN(3) {
				if u := reading(sensors[rng.IntN(len(sensors))]); len(u) > 0 {
					journal = append(journal, u)
					h.d.Enqueue(u)
				}
			}
			h.crash()
			h.open(cfg, opts)
			for _, u := range journal {
				if u[0].Seq > h.d.Cursor() {
					h.handle(u...)
				}
			}
		}
	}
	// The engine resolves everything; silences end; windows close.
	for _, s := range sensors {
		var u []alerting.Event
		for _, typ := range types {
			if level[typ+"-"+s] != configs.LevelNone {
				u = append(u, transition(s, typ, configs.LevelNone))
			}
		}
		if len(u) > 0 {
			h.handle(u...)
		}
	}
	h.tick(time.Hour)
	h.tick(time.Hour)
	h.settled(0)

	open := map[string]bool{}
	seen := map[string]bool{}
	for _, m := range h.chans["duty"].drain() {
		if seen[m.ID] {
			t.Errorf("notification %s received twice", m.ID)
		}
		seen[m.ID] = true
		for _, a := range m.Alerts {
			switch {
			case a.Status == alerting.StatusFiring:
				open[a.ID] = true
			case !open[a.ID]:
				t.Errorf("%s resolved but not firing at the receiver", a.ID)
			default:
				delete(open, a.ID)
			}
		}
	}
	for id := range open {
		t.Errorf("%s left firing at the receiver", id)
	}
}
