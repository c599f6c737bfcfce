package notify

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"hazwatch/alerting"
	"hazwatch/configs"
)

// as returns ev as an alert of rule and type typ.
func as(ev alerting.Event, rule, typ string) alerting.Event {
	ev.Rule, ev.Type = rule, typ
	return ev
}

func resolved(ev alerting.Event) alerting.Event {
	ev.Status, ev.Previous = alerting.StatusResolved, ev.Level
	return ev
}

// describe lists "id status level" for each alert of ms, in order.
func describe(ms []Message) []string {
	var out []string
	for _, m := range ms {
		for _, a := range m.Alerts {
			out = append(out, a.ID+" "+a.Status+" "+a.Level.String())
		}
	}
	return out
}

// drain returns every message f has received so far; call it after settled.
func (f *fakeChannel) drain() []Message {
	var out []Message
	for len(f.got) > 0 {
		out = append(out, <-f.got)
	}
	return out
}

// The transitions of one reading are decided together: the threshold and
// fault alerts of one detector give the same messages whatever the order of
// their rules, and the threshold's resolve is never stranded.
func TestUnit_OrderOfRulesDoesNotChangeTheMessages(t *testing.T) {
	cfg := configs.Notify{Channels: channels("duty"), Routes: []configs.Route{{Channels: []string{"duty"}}}}
	thr := func(l, prev configs.Level) alerting.Event {
		return event("thr", "hx", "GT-03", alerting.StatusFiring, l, prev)
	}
	fault := as(fire("fault", "hx", "GT-03", configs.LevelBlue), "sensor-fault", configs.TypeFault)
	scenarios := []struct {
		name  string
		units [][]alerting.Event // in the gas-lel-first order
		want  []string
	}{
		{
			"120 then 10: the detector's fault speaks for it",
			[][]alerting.Event{
				{thr(configs.LevelRed, configs.LevelNone), fault},
				{resolved(thr(configs.LevelRed, configs.LevelRed)), resolved(fault)},
			},
			[]string{"fault firing blue", "fault resolved blue"},
		},
		{
			"60, 120, then 10: the red alert told before the fault is resolved",
			[][]alerting.Event{
				{thr(configs.LevelRed, configs.LevelNone)},
				{fault},
				{resolved(thr(configs.LevelRed, configs.LevelRed)), resolved(fault)},
			},
			[]string{"thr firing red", "fault firing blue", "thr resolved red", "fault resolved blue"},
		},
	}
	for _, sc := range scenarios {
		var outcomes [][]string
		for _, reverse := range []bool{false, true} {
			h := newHarness(t, cfg, DispatcherOptions{})
			for _, u := range sc.units {
				u = slices.Clone(u)
				if reverse {
					slices.Reverse(u)
				}
				h.handle(u...)
			}
			h.tick(time.Minute)
			h.settled(0)
			got := describe(h.chans["duty"].drain())
			outcomes = append(outcomes, got)
			h.close()
		}
		// Within a unit, the messages go in the unit's order.
		slices.Sort(outcomes[0])
		slices.Sort(outcomes[1])
		want := slices.Sorted(slices.Values(sc.want))
		if !slices.Equal(outcomes[0], want) || !slices.Equal(outcomes[1], want) {
			t.Errorf("%s: gas-lel first %v, fault first %v, want %v", sc.name, outcomes[0], outcomes[1], want)
		}
	}
}

// Anything a receiver was told is firing is told resolved, whatever holds
// back notifications now; an alert never told resolves silently.
func TestResolve_GoesThroughSilenceAndInhibition(t *testing.T) {
	cfg := configs.Notify{Channels: channels("duty"), Routes: []configs.Route{{Channels: []string{"duty"}}}}
	stale := as(fire("stale", "hx", "GT-03", configs.LevelBlue), "offline", configs.TypeStale)
	tests := []struct {
		name string
		// before runs after the alert fired and before it resolves.
		before func(h *harness)
		// silent fires the alert under a silence from the start.
		silent bool
		want   []string
	}{
		{"silenced after it was told", func(h *harness) {
			if _, err := h.d.AddSilence(Silence{Match: configs.Matcher{"site": {"hx"}}, From: t0, To: t0.Add(time.Hour)}); err != nil {
				h.t.Fatal(err)
			}
		}, false, []string{"gas firing red", "gas resolved red"}},
		{"inhibited by its detector going stale", func(h *harness) {
			h.handle(stale)
			h.tick(2 * time.Minute) // the outage window: the stale alert is told on its own
		}, false, []string{"gas firing red", "stale firing blue", "gas resolved red"}},
		{"silenced all its life", nil, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cfg
			if tt.silent {
				c.Silences = []configs.Silence{{Match: configs.Matcher{"site": {"hx"}}, From: t0, To: t0.Add(time.Hour)}}
			}
			h := newHarness(t, c, DispatcherOptions{SiteSensors: func(string) int { return 10 }})
			gas := fire("gas", "hx", "GT-03", configs.LevelRed)
			h.handle(gas)
			if tt.before != nil {
				tt.before(h)
			}
			h.handle(resolved(gas))
			h.tick(time.Second)
			h.settled(0)
			if got := describe(h.chans["duty"].drain()); !slices.Equal(got, tt.want) {
				t.Errorf("sent %v, want %v", got, tt.want)
			}
		})
	}
}

// staleEvent is sensor's stale alert at site hx (华兴化工).
func staleEvent(sensor string) alerting.Event {
	return alerting.Event{ID: "stale-" + sensor, Rule: "no-data", Type: configs.TypeStale, Status: alerting.StatusFiring,
		Level: configs.LevelYellow, Site: "hx", SiteName: "华兴化工", Sensor: sensor}
}

// outageConfig is one route repeating every 10 minutes, and an outage
// window of a minute.
func outageConfig() configs.Notify {
	return configs.Notify{
		Channels:     channels("duty"),
		Routes:       []configs.Route{{Channels: []string{"duty"}, Repeat: configs.Duration(10 * time.Minute)}},
		OutageWindow: configs.Duration(time.Minute),
	}
}

// A site outage is an alert of its own: one message naming its sensors, new
// stale sensors fold into it, its repeat is one site-level message, and it
// ends with one site-level resolve; its sensors are never told one by one.
func TestSiteOutage_FoldsRepeatsAndResolvesAtSiteLevel(t *testing.T) {
	cfg := outageConfig()
	h := newHarness(t, cfg, DispatcherOptions{SiteSensors: func(string) int { return 6 }})
	duty := h.chans["duty"]
	messages := func() []string {
		h.settled(0)
		var out []string
		for _, m := range duty.drain() {
			for _, a := range m.Alerts {
				out = append(out, a.ID+" "+a.Status+" "+a.Message)
			}
		}
		return out
	}
	for _, s := range []string{"A", "B", "C", "D"} {
		h.handle(staleEvent(s))
	}
	h.tick(time.Minute)
	want := []string{"site-outage/hx firing 【数据中断】华兴化工 4 个传感器数据中断，疑似网关或供电故障：A、B、C 等 4 个"}
	if got := messages(); !slices.Equal(got, want) {
		t.Fatalf("at the end of the window: %v, want %v", got, want)
	}

	h.handle(staleEvent("E")) // folds into the open outage
	h.tick(5 * time.Minute)
	if got := messages(); len(got) != 0 {
		t.Fatalf("a new stale sensor of the site was told on its own: %v", got)
	}
	h.tick(5 * time.Minute)
	want = []string{"site-outage/hx firing 【数据中断】华兴化工 5 个传感器数据中断，疑似网关或供电故障：A、B、C 等 5 个"}
	if got := messages(); !slices.Equal(got, want) {
		t.Fatalf("the repeat: %v, want one site-level message %v", got, want)
	}

	for _, s := range []string{"A", "B", "C", "D", "E"} {
		h.handle(resolved(staleEvent(s)))
	}
	h.tick(time.Second)
	want = []string{"site-outage/hx resolved 【预警解除】华兴化工 数据恢复"}
	if got := messages(); !slices.Equal(got, want) {
		t.Fatalf("on recovery: %v, want one site-level resolve %v", got, want)
	}
	h.tick(time.Hour)
	if got := messages(); len(got) != 0 {
		t.Errorf("after the recovery: %v", got)
	}
}

// When only some of an outage's sensors come back, the outage resolves once
// too few have stayed stale for a whole window, and the sensors still
// silent are told one by one, each later resolved on its own.
func TestSiteOutage_PartialRecoveryHandsOverToTheSilentSensors(t *testing.T) {
	h := newHarness(t, outageConfig(), DispatcherOptions{SiteSensors: func(string) int { return 6 }})
	for _, s := range []string{"A", "B", "C", "D", "E"} {
		h.handle(staleEvent(s))
	}
	h.tick(time.Minute)
	h.settled(0)
	h.chans["duty"].expect(t, 1)
	for _, s := range []string{"A", "B", "C"} { // two left: not half of six
		h.handle(resolved(staleEvent(s)))
	}
	h.tick(time.Second)
	h.tick(59 * time.Second)
	h.settled(0)
	h.chans["duty"].quiet(t)
	h.tick(time.Second) // a whole window below the threshold
	h.handle(resolved(staleEvent("D")))
	h.tick(time.Second)
	h.settled(0)
	want := []string{"site-outage/hx resolved yellow", "stale-D firing yellow", "stale-E firing yellow", "stale-D resolved yellow"}
	if got := describe(h.chans["duty"].drain()); !slices.Equal(got, want) {
		t.Errorf("sent %v, want %v", got, want)
	}
}

// A storm of transitions costs a few outbox transactions, not one each.
func TestGroupCommit_ManyTransitionsFewTransactions(t *testing.T) {
	cfg := configs.Notify{Channels: channels("center"), Routes: []configs.Route{{Channels: []string{"center"}}}}
	h := newHarness(t, cfg, DispatcherOptions{})
	const n = 500
	commits := func() float64 { return testutil.ToFloat64(h.d.m.commits.WithLabelValues("ok")) }
	before := commits()
	h.d.gate.Lock() // the pipeline takes the first unit and waits: the rest gather behind it
	for i := range n {
		ev := fire(fmt.Sprintf("a%03d", i), "hx", fmt.Sprintf("GT-%03d", i), configs.LevelRed)
		ev.Seq = uint64(i + 1)
		h.d.Enqueue([]alerting.Event{ev})
	}
	h.d.gate.Unlock()
	h.d.Flush()
	// The first unit alone, then batches of at most maxBatchUnits.
	if got, most := commits()-before, float64(1+(n-1+maxBatchUnits-1)/maxBatchUnits); got < 1 || got > most {
		t.Errorf("%v transactions for %d transitions, want 1 to %v", got, n, most)
	}
	if got := h.d.Cursor(); got != n {
		t.Errorf("cursor %d, want %d", got, n)
	}
	h.settled(0)
	if got := len(h.chans["center"].drain()); got != n {
		t.Errorf("%d messages, want %d", got, n)
	}
}

// After a crash at any point, replaying the transitions after the cursor
// delivers every notification exactly once.
func TestCrash_ReplayAfterTheCursorNotifiesEachTransitionOnce(t *testing.T) {
	cfg := configs.Notify{
		Channels: channels("center"),
		Routes:   []configs.Route{{Channels: []string{"center"}}},
	}
	// Two detectors firing, rising and resolving: one unit per reading.
	var units [][]alerting.Event
	for _, sensor := range []string{"GT-01", "GT-02"} {
		id := "gas-" + sensor
		units = append(units,
			[]alerting.Event{fire(id, "hx", sensor, configs.LevelYellow)},
			[]alerting.Event{event(id, "hx", sensor, alerting.StatusFiring, configs.LevelRed, configs.LevelYellow)},
			[]alerting.Event{resolved(event(id, "hx", sensor, alerting.StatusFiring, configs.LevelRed, configs.LevelRed))},
		)
	}
	var seq uint64
	for _, u := range units {
		for i := range u {
			seq++
			u[i].Seq = seq
		}
	}
	for committed := 0; committed <= len(units); committed++ {
		for lost := 0; lost <= 2 && committed+lost <= len(units); lost++ {
			t.Run(fmt.Sprintf("%d committed %d lost", committed, lost), func(t *testing.T) {
				h := newHarness(t, cfg, DispatcherOptions{})
				for _, u := range units[:committed] {
					h.handle(u...)
				}
				h.d.gate.Lock() // what follows is enqueued, never committed
				for _, u := range units[committed : committed+lost] {
					h.d.Enqueue(u)
				}
				h.crash()

				h.open(cfg, DispatcherOptions{})
				if got, want := h.d.Cursor(), uint64(committed); got != want {
					t.Errorf("cursor after the crash %d, want %d", got, want)
				}
				for _, u := range units {
					if u[0].Seq > h.d.Cursor() {
						h.handle(u...)
					}
				}
				h.tick(time.Second)
				h.settled(0)
				msgs := h.chans["center"].drain()
				got := describe(msgs)
				want := []string{
					"gas-GT-01 firing yellow", "gas-GT-01 firing red", "gas-GT-01 resolved red",
					"gas-GT-02 firing yellow", "gas-GT-02 firing red", "gas-GT-02 resolved red",
				}
				if !slices.Equal(got, want) {
					t.Errorf("delivered %v, want %v, each once", got, want)
				}
				seen := map[string]bool{}
				for _, m := range msgs {
					if m.ID == "" || seen[m.ID] {
						t.Errorf("notification id %q missing or repeated", m.ID)
					}
					seen[m.ID] = true
				}
			})
		}
	}
}

// An acknowledgement is durable when Ack returns, and neither it nor the
// alert list waits for a pipeline that is busy.
func TestAck_DurableWithoutWaitingForThePipeline(t *testing.T) {
	cfg := configs.Notify{Channels: channels("duty"), Routes: []configs.Route{{Channels: []string{"duty"}}}}
	h := newHarness(t, cfg, DispatcherOptions{})
	h.d.gate.Lock() // the pipeline is stuck in a batch
	h.d.Enqueue([]alerting.Event{fire("a1", "hx", "GT-03", configs.LevelRed)})
	if err := h.d.Ack("a1", "张工", "已派人检查"); err != nil {
		t.Fatal(err)
	}
	if _, ok := h.d.AckOf("a1"); !ok {
		t.Error("AckOf does not see the ack")
	}
	if h.d.Silenced(fire("a1", "hx", "GT-03", configs.LevelRed)) {
		t.Error("silenced without a silence")
	}
	h.crash() // before the pipeline ever ran
	h.open(cfg, DispatcherOptions{})
	if a, ok := h.d.AckOf("a1"); !ok || a.Operator != "张工" {
		t.Errorf("ack after a crash: %+v %v", a, ok)
	}
}

// A full intake holds back the caller instead of dropping transitions, and
// says how long.
func TestIntake_FullBlocksAndCounts(t *testing.T) {
	cfg := configs.Notify{Channels: channels("duty"), Routes: []configs.Route{{Channels: []string{"duty"}}}}
	h := newHarness(t, cfg, DispatcherOptions{IntakeSize: 1})
	h.d.gate.Lock()
	h.d.Enqueue([]alerting.Event{fire("a1", "hx", "S1", configs.LevelRed)}) // taken, waits at the gate
	waitFor(t, func() bool { return len(h.d.in.ch) == 0 })
	h.d.Enqueue([]alerting.Event{fire("a2", "hx", "S2", configs.LevelRed)}) // fills the intake
	returned := make(chan struct{})
	go func() {
		h.d.Enqueue([]alerting.Event{fire("a3", "hx", "S3", configs.LevelRed)})
		close(returned)
	}()
	waitFor(t, func() bool { return testutil.ToFloat64(h.d.m.intake) == 3 })
	select {
	case <-returned:
		t.Fatal("Enqueue returned although the intake is full")
	default:
	}
	h.d.gate.Unlock()
	<-returned
	h.d.Flush()
	h.settled(0)
	if got := len(h.chans["duty"].drain()); got != 3 {
		t.Errorf("%d messages, want 3: none dropped", got)
	}
	if got := sampleCount(t, h.d.m.blocked); got != 1 {
		t.Errorf("%d hand-overs counted as blocked, want 1", got)
	}
	if got := testutil.ToFloat64(h.d.m.intake); got != 0 {
		t.Errorf("intake depth %v after the flush", got)
	}
}

// The latency histogram measures each transition to its commit and to the
// channel's acceptance.
func TestLatency_CommittedAndSent(t *testing.T) {
	cfg := configs.Notify{Channels: channels("duty"), Routes: []configs.Route{{Channels: []string{"duty"}}}}
	lat := NewLatencyHistogram()
	h := newHarness(t, cfg, DispatcherOptions{Latency: lat})
	ev := fire("a1", "hx", "S1", configs.LevelRed)
	ev.Received = time.Now()
	h.handle(ev)
	h.settled(0)
	h.chans["duty"].expect(t, 1)
	for _, stage := range []string{StageCommitted, StageSent} {
		if n := sampleCount(t, lat.WithLabelValues(stage)); n != 1 {
			t.Errorf("stage %s: %d observations, want 1", stage, n)
		}
	}
}

// sampleCount returns how many observations h holds.
func sampleCount(t *testing.T, h prometheus.Observer) uint64 {
	t.Helper()
	var m dto.Metric
	if err := h.(prometheus.Metric).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram().GetSampleCount()
}

// An alert that resolves and fires again within a group_wait keeps its
// resolve in the group: the receiver, told it was firing, is told it ended
// before it is told it fired again.
func TestGroupWait_AResolveIsNotReplacedByTheNextFiring(t *testing.T) {
	cfg := configs.Notify{Channels: channels("duty"), Routes: []configs.Route{{Channels: []string{"duty"}, GroupWait: configs.Duration(10 * time.Second)}}}
	h := newHarness(t, cfg, DispatcherOptions{})
	red := fire("a1", "hx", "GT-03", configs.LevelRed)
	h.handle(red)
	h.tick(10 * time.Second)
	h.handle(resolved(red))
	h.handle(fire("a1", "hx", "GT-03", configs.LevelYellow))
	h.tick(10 * time.Second)
	h.handle(resolved(fire("a1", "hx", "GT-03", configs.LevelYellow)))
	h.tick(10 * time.Second)
	h.settled(0)
	want := []string{"a1 firing red", "a1 resolved red", "a1 firing yellow", "a1 resolved yellow"}
	if got := describe(h.chans["duty"].drain()); !slices.Equal(got, want) {
		t.Errorf("sent %v, want %v", got, want)
	}
}

// A site outage stops repeating once each of its silent sensors is
// acknowledged (the alert list shows the sensors, not the outage).
func TestSiteOutage_AckedThroughItsSensors(t *testing.T) {
	cfg := outageConfig()
	h := newHarness(t, cfg, DispatcherOptions{SiteSensors: func(string) int { return 3 }})
	for _, s := range []string{"A", "B", "C"} {
		h.handle(staleEvent(s))
	}
	h.tick(time.Minute)
	h.settled(0)
	h.chans["duty"].expect(t, 1)
	for _, s := range []string{"A", "B"} {
		if err := h.d.Ack("stale-"+s, "张工", ""); err != nil {
			t.Fatal(err)
		}
	}
	h.tick(10 * time.Minute)
	h.settled(0)
	h.chans["duty"].expect(t, 1) // C is not acknowledged yet
	if err := h.d.Ack("stale-C", "张工", ""); err != nil {
		t.Fatal(err)
	}
	h.tick(10 * time.Minute)
	h.tick(10 * time.Minute)
	h.settled(0)
	h.chans["duty"].quiet(t)
}
