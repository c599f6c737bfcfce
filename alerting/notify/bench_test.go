package notify

import (
	"strconv"
	"testing"
	"time"

	"hazwatch/alerting"
	"hazwatch/configs"
)

// BenchmarkDispatch measures an alert from Enqueue to its channel: the
// intake, routing, the batch's commit (an fsync), the queue, the "under way"
// mark (an fsync shared with the previous entry's delete) and the send.
func BenchmarkDispatch(b *testing.B) {
	cfg := configs.Notify{Channels: channels("center"), Routes: []configs.Route{{Channels: []string{"center"}}}}
	h := newHarness(b, cfg, DispatcherOptions{})
	center := h.chans["center"]
	b.ResetTimer()
	for i := range b.N {
		h.d.Enqueue([]alerting.Event{fire("a"+strconv.Itoa(i), "hx", "GT-03", configs.LevelRed)})
		<-center.got
	}
}

// BenchmarkTick measures a Tick over 2000 firing alerts with nothing due:
// the cost the Run loop pays every second during a large incident.
func BenchmarkTick(b *testing.B) {
	cfg := configs.Notify{
		Channels: channels("center"),
		Routes:   []configs.Route{{Channels: []string{"center"}, Repeat: configs.Duration(time.Hour), GroupWait: configs.Duration(time.Second)}},
		Silences: []configs.Silence{{Match: configs.Matcher{"site": {"elsewhere"}}, From: t0, To: t0.Add(24 * time.Hour)}},
	}
	h := newHarness(b, cfg, DispatcherOptions{})
	for i := range 2000 {
		h.handle(fire("a"+strconv.Itoa(i), "site-"+strconv.Itoa(i%50), "S"+strconv.Itoa(i), configs.LevelOrange))
	}
	h.tick(time.Second)
	h.settled(0)
	b.ResetTimer()
	for range b.N {
		h.d.Tick(h.clock.Now())
	}
}

// BenchmarkStorm measures what a red alarm elsewhere waits behind 2000
// alerts of a storm that came just before it: from its Enqueue to its own
// channel, through the pipeline's batches and their commits.
func BenchmarkStorm(b *testing.B) {
	cfg := configs.Notify{
		Channels: channels("storm", "probe"),
		Routes: []configs.Route{
			{Match: configs.Matcher{"site": {"probe"}}, Channels: []string{"probe"}},
			{Channels: []string{"storm"}},
		},
	}
	h := newHarness(b, cfg, DispatcherOptions{IntakeSize: 4096})
	probe, storm := h.chans["probe"], h.chans["storm"]
	done := make(chan struct{})
	defer close(done)
	go func() { // the storm's receiver keeps up
		for {
			select {
			case <-storm.got:
			case <-done:
				return
			}
		}
	}()
	b.ResetTimer()
	for n := range b.N {
		for i := range 2000 {
			h.d.Enqueue([]alerting.Event{fire("s"+strconv.Itoa(n)+"-"+strconv.Itoa(i), "storm-"+strconv.Itoa(i%40), "S"+strconv.Itoa(i), configs.LevelRed)})
		}
		h.d.Enqueue([]alerting.Event{fire("p"+strconv.Itoa(n), "probe", "P", configs.LevelRed)})
		<-probe.got
	}
}
