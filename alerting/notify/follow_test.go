package notify

import (
	"testing"
	"time"

	"hazwatch/alerting"
	"hazwatch/configs"
)

func TestRepeat_UntilAckAndAgainAfterARise(t *testing.T) {
	cfg := configs.Notify{
		Channels: channels("duty"),
		Routes:   []configs.Route{{Channels: []string{"duty"}, Repeat: configs.Duration(30 * time.Minute)}},
	}
	h := newHarness(t, cfg, DispatcherOptions{})
	duty := h.chans["duty"]
	steps := []struct {
		name string
		do   func()
		want int // messages sent by the step
	}{
		{"fires", func() { h.handle(fire("a1", "hx", "GT-03", configs.LevelYellow)) }, 1},
		{"not yet due", func() { h.tick(29 * time.Minute) }, 0},
		{"repeats at 30m", func() { h.tick(time.Minute) }, 1},
		{"repeats again", func() { h.tick(30 * time.Minute) }, 1},
		{"ack", func() {
			if err := h.d.Ack("a1", "张工", "已派人检查"); err != nil {
				t.Fatal(err)
			}
		}, 0},
		{"acked: no repeat", func() { h.tick(30 * time.Minute); h.tick(30 * time.Minute) }, 0},
		{"a fall keeps the ack but is sent", func() {
			h.handle(event("a1", "hx", "GT-03", alerting.StatusFiring, configs.LevelBlue, configs.LevelYellow))
			h.tick(30 * time.Minute)
		}, 1},
		{"a rise is sent and ends the ack", func() {
			h.handle(event("a1", "hx", "GT-03", alerting.StatusFiring, configs.LevelRed, configs.LevelBlue))
		}, 1},
		{"repeats after the rise", func() { h.tick(30 * time.Minute) }, 1},
	}
	for _, s := range steps {
		s.do()
		h.settled(0)
		duty.expect(t, s.want)
		duty.quiet(t)
		if t.Failed() {
			t.Fatalf("after step %q", s.name)
		}
	}
	if _, ok := h.d.AckOf("a1"); ok {
		t.Error("ack still in effect after the rise")
	}
}

func TestEscalate_WhenNotAckedInTimeOnce(t *testing.T) {
	cfg := configs.Notify{
		Channels: channels("duty", "boss"),
		Routes: []configs.Route{{
			Channels: []string{"duty"},
			Escalate: &configs.Escalate{After: configs.Duration(15 * time.Minute), Channels: []string{"boss"}},
		}},
	}
	h := newHarness(t, cfg, DispatcherOptions{})
	h.handle(fire("ignored", "hx", "GT-03", configs.LevelRed))
	h.handle(fire("acked", "hx", "GT-04", configs.LevelRed))
	h.tick(5 * time.Minute)
	if err := h.d.Ack("acked", "张工", ""); err != nil {
		t.Fatal(err)
	}
	h.tick(9 * time.Minute)
	h.settled(0)
	h.chans["duty"].expect(t, 2)
	h.chans["boss"].quiet(t)

	h.tick(time.Minute)
	h.settled(0)
	if got := ids(h.chans["boss"].expect(t, 1)[0]); len(got) != 1 || got[0] != "ignored" {
		t.Errorf("escalated %v, want [ignored]", got)
	}
	h.tick(15 * time.Minute)
	h.tick(time.Hour)
	h.settled(0)
	h.chans["boss"].quiet(t)
	h.chans["duty"].quiet(t)
}

func TestGroupWait_GathersASiteStormIntoOneMessage(t *testing.T) {
	cfg := configs.Notify{
		Channels: channels("sms"),
		Routes:   []configs.Route{{Channels: []string{"sms"}, GroupWait: configs.Duration(10 * time.Second)}},
	}
	h := newHarness(t, cfg, DispatcherOptions{})
	sms := h.chans["sms"]
	for i := range 40 {
		h.handle(fire("gauge-"+string(rune('A'+i)), "district-3", "WL-"+string(rune('A'+i)), configs.LevelOrange))
		h.clock.Add(100 * time.Millisecond)
	}
	h.handle(fire("other", "hx", "GT-03", configs.LevelRed))
	h.tick(5*time.Second + 900*time.Millisecond) // 9.9s after the first
	h.settled(0)
	sms.quiet(t)

	h.tick(100 * time.Millisecond)
	h.settled(0)
	got := sms.expect(t, 1)[0]
	if len(got.Alerts) != 40 || got.Alerts[0].Site != "district-3" {
		t.Fatalf("first message has %d alerts of %s, want 40 of district-3", len(got.Alerts), got.Alerts[0].Site)
	}
	sms.quiet(t)
	h.tick(6 * time.Second)
	h.settled(0)
	if got := ids(sms.expect(t, 1)[0]); len(got) != 1 || got[0] != "other" {
		t.Errorf("second message %v, want [other] on its own wait", got)
	}
}

func TestSilence_SuppressesUntilItEnds(t *testing.T) {
	cfg := configs.Notify{
		Channels: channels("duty"),
		Routes:   []configs.Route{{Channels: []string{"duty"}}},
		Silences: []configs.Silence{{Match: configs.Matcher{"site": {"underpass-07"}}, From: t0.Add(-time.Hour), To: t0.Add(time.Hour)}},
	}
	h := newHarness(t, cfg, DispatcherOptions{})
	duty := h.chans["duty"]
	if _, err := h.d.AddSilence(Silence{Match: configs.Matcher{"sensor": {"GT-0*"}, "level": {"blue"}}, From: t0, To: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	h.handle(fire("flood", "underpass-07", "WL-1", configs.LevelRed))
	h.handle(fire("gas-blue", "hx", "GT-03", configs.LevelBlue))
	h.handle(fire("gas-red", "hx", "GT-04", configs.LevelRed))
	h.settled(0)
	if got := ids(duty.expect(t, 1)[0]); got[0] != "gas-red" {
		t.Errorf("sent %v, want only the unsilenced gas-red", got)
	}
	duty.quiet(t)
	if got := h.count("duty", resultSuppressed); got != 2 {
		t.Errorf("suppressed = %v, want 2", got)
	}
	if !h.d.Silenced(fire("flood", "underpass-07", "WL-1", configs.LevelRed)) {
		t.Error("Silenced is false for a silenced alert")
	}

	h.tick(time.Minute) // the API silence ends: the still-firing alert goes now
	h.settled(0)
	if got := ids(duty.expect(t, 1)[0]); got[0] != "gas-blue" {
		t.Errorf("after the API silence: %v, want gas-blue", got)
	}
	h.tick(59 * time.Minute)
	h.settled(0)
	if got := ids(duty.expect(t, 1)[0]); got[0] != "flood" {
		t.Errorf("after the maintenance window: %v, want flood", got)
	}
	duty.quiet(t)
}

func TestSilence_DeleteRefusesConfigAndUnknown(t *testing.T) {
	cfg := configs.Notify{Silences: []configs.Silence{{Match: configs.Matcher{"site": {"x"}}, From: t0, To: t0.Add(time.Hour)}}}
	h := newHarness(t, cfg, DispatcherOptions{})
	id, err := h.d.AddSilence(Silence{Match: configs.Matcher{"site": {"y"}}, From: t0, To: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.d.AddSilence(Silence{Match: configs.Matcher{"site": {"y"}}, From: t0, To: t0}); err != ErrBadSilence {
		t.Errorf("empty span: %v, want ErrBadSilence", err)
	}
	tests := []struct {
		id   string
		want error
	}{{"config-0", ErrConfigSilence}, {"config-1", ErrUnknownSilence}, {id, nil}, {id, ErrUnknownSilence}}
	for _, tt := range tests {
		if err := h.d.DeleteSilence(tt.id); err != tt.want {
			t.Errorf("delete %s: %v, want %v", tt.id, err, tt.want)
		}
	}
	if got := h.d.Silences(); len(got) != 1 || !got[0].Config {
		t.Errorf("left %+v, want the config silence", got)
	}
}

func TestGroupWait_RepeatsAndEscalationsOfAStormAreGroupedToo(t *testing.T) {
	cfg := configs.Notify{
		Channels: channels("sms", "boss"),
		Routes: []configs.Route{{
			Channels: []string{"sms"}, GroupWait: configs.Duration(10 * time.Second), Repeat: configs.Duration(30 * time.Minute),
			Escalate: &configs.Escalate{After: configs.Duration(15 * time.Minute), Channels: []string{"boss"}},
		}},
	}
	h := newHarness(t, cfg, DispatcherOptions{})
	for i := range 5 {
		h.handle(fire("gauge-"+string(rune('A'+i)), "district-3", "WL-"+string(rune('A'+i)), configs.LevelOrange))
	}
	steps := []struct {
		advance   time.Duration
		sms, boss int // alerts in the one message each got, 0: none
	}{
		{10 * time.Second, 5, 0},
		{15 * time.Minute, 0, 0}, // escalations gathered for their own group_wait
		{10 * time.Second, 0, 5},
		{15 * time.Minute, 0, 0},
		{10 * time.Second, 5, 0}, // repeats gathered likewise
	}
	for i, s := range steps {
		h.tick(s.advance)
		h.settled(0)
		for _, c := range []struct {
			ch   *fakeChannel
			want int
		}{{h.chans["sms"], s.sms}, {h.chans["boss"], s.boss}} {
			if c.want > 0 {
				if got := len(c.ch.expect(t, 1)[0].Alerts); got != c.want {
					t.Errorf("step %d: %s got %d alerts in one message, want %d", i, c.ch.name, got, c.want)
				}
			}
			c.ch.quiet(t)
		}
	}
}

func TestRestart_RepeatsKeepTheirScheduleWithoutResending(t *testing.T) {
	cfg := configs.Notify{
		Channels: channels("duty"),
		Routes:   []configs.Route{{Channels: []string{"duty"}, Repeat: configs.Duration(30 * time.Minute)}},
	}
	h := newHarness(t, cfg, DispatcherOptions{})
	h.handle(fire("a1", "hx", "GT-03", configs.LevelRed))
	h.handle(fire("a2", "hx", "GT-04", configs.LevelYellow))
	h.handle(event("a2", "hx", "GT-04", alerting.StatusFiring, configs.LevelRed, configs.LevelYellow))
	if err := h.d.Ack("a2", "张工", ""); err != nil {
		t.Fatal(err)
	}
	h.tick(10 * time.Minute)
	h.settled(0)
	h.chans["duty"].expect(t, 3)

	h.close()
	h.open(cfg, DispatcherOptions{})
	// Sent at t0: the repeat is due 30 minutes after that, not after the restart.
	if got := h.firstSentAt(t, "duty", 19*time.Minute, 20*time.Minute); got != "a1" {
		t.Errorf("repeated %v, want a1 (a2 stays acknowledged)", got)
	}
	h.chans["duty"].quiet(t)
}
