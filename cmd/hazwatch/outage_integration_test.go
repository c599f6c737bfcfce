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
