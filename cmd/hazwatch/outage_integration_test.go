package main

import (
	"strings"
	"testing"
	"time"

	"hazwatch/internal/testenv"
)

// TestNotify_SiteOutageIsOneMessage stops every detector of a site at once,
// as when its gateway or power fails: the duty officer gets one site-level
// message within notify.outage_window, not one per sensor.
func TestNotify_SiteOutageIsOneMessage(t *testing.T) {
	t.Parallel() // its own broker, database and daemon; most of its time is waiting on timers
	s := newStack(t)
	p := s.params(t)
	d := testenv.Hazwatch(t, hazwatchBin, notifyConfig(t, s.Dir, "outage.yaml", p), p.HTTP)
	pub := newPublisher(t, s.Broker.URL)
	sensors := []string{"GT-A", "GT-B", "GT-C", "GT-D"}
	for _, sensor := range sensors {
		pub.PublishValue(t, detectorTopic("stale-site", sensor), time.Now(), 3) // quiet: below every threshold
	}
	// Then nothing more: after 2s every detector is stale.

	isOutage := func(a hookAlert) bool { return strings.HasPrefix(a.ID, "site-outage/") }
	d.WaitFor("the site-level message", waitTimeout, func() bool { return len(s.Hook.Matching(isOutage)) >= 1 })
	outage := s.Hook.Matching(isOutage)[0]
	if outage.Site != "stale-site" || !strings.Contains(outage.Message, "【数据中断】") || !strings.Contains(outage.Message, "4 个传感器") {
		t.Errorf("site-level message = %+v, want 【数据中断】 naming the site's 4 sensors", outage)
	}
	// A marker alarm from another site: the channel sends in order, so once
	// it arrives, whatever the outage window let through has arrived too.
	pub.PublishValue(t, detectorTopic("marker-site", "GT-M"), time.Now(), 60)
	isMarker := func(a hookAlert) bool { return a.Site == "marker-site" }
	d.WaitFor("the marker alarm", waitTimeout, func() bool { return len(s.Hook.Matching(isMarker)) >= 1 })
	for _, a := range s.Hook.Alerts() {
		if !isOutage(a) && !isMarker(a) {
			t.Errorf("a per-sensor message besides the site's: %s %s %s %s", a.Rule, a.Sensor, a.Status, a.Message)
		}
	}
	if n := len(s.Hook.Matching(isOutage)); n != 1 {
		t.Errorf("%d site-level messages, want 1", n)
	}
}

// TestNotify_SiteOutageRepeatsAndResolvesAtSiteLevel: five of six detectors
// of a site fall silent. The site-level alert repeats as one message, and
// when the detectors report again it resolves with one site-level message;
// no detector is ever told on its own, firing or recovered.
func TestNotify_SiteOutageRepeatsAndResolvesAtSiteLevel(t *testing.T) {
	t.Parallel() // its own broker, database and daemon; most of its time is waiting on timers
	s := newStack(t)
	p := s.params(t)
	d := testenv.Hazwatch(t, hazwatchBin, notifyConfig(t, s.Dir, "outage_repeat.yaml", p), p.HTTP)
	pub := newPublisher(t, s.Broker.URL)
	silent := []string{"GT-A", "GT-B", "GT-C", "GT-D", "GT-E"}
	live := detectorTopic("stale-site", "GT-LIVE")
	for _, sensor := range silent {
		pub.PublishValue(t, detectorTopic("stale-site", sensor), time.Now(), 3)
	}
	feed(t, pub, live, 3) // GT-LIVE keeps reporting

	isOutage := func(status string) func(hookAlert) bool {
		return func(a hookAlert) bool { return strings.HasPrefix(a.ID, "site-outage/") && a.Status == status }
	}
	d.WaitFor("the outage and its repeat", waitTimeout, func() bool { return len(s.Hook.Matching(isOutage("firing"))) >= 2 })
	for _, a := range s.Hook.Matching(isOutage("firing")) {
		if !strings.Contains(a.Message, "5 个传感器") || !strings.Contains(a.Message, "GT-A、GT-B、GT-C 等 5 个") {
			t.Errorf("site-level message %q, want 5 sensors, naming GT-A、GT-B、GT-C 等 5 个", a.Message)
		}
	}
	for _, sensor := range silent {
		pub.PublishValue(t, detectorTopic("stale-site", sensor), time.Now(), 3)
	}
	d.WaitFor("the site-level resolve", waitTimeout, func() bool { return len(s.Hook.Matching(isOutage("resolved"))) == 1 })
	if msg := s.Hook.Matching(isOutage("resolved"))[0].Message; !strings.Contains(msg, "数据恢复") {
		t.Errorf("site-level resolve %q, want 数据恢复", msg)
	}
	pub.PublishValue(t, detectorTopic("marker-site", "GT-M"), time.Now(), 60)
	d.WaitFor("the marker alarm", waitTimeout, func() bool { return len(s.Hook.Matching(ofSensor("GT-M", "firing"))) == 1 })
	for _, a := range s.Hook.Alerts() {
		if a.Sensor != "" && a.Sensor != "GT-M" {
			t.Errorf("a per-sensor message: %s %s %s %s", a.Rule, a.Sensor, a.Status, a.Message)
		}
	}
	if n := len(s.Hook.Matching(isOutage("resolved"))); n != 1 {
		t.Errorf("%d site-level resolves, want 1", n)
	}
}
