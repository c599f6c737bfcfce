package notify

import (
	"slices"
	"testing"

	"hazwatch/alerting"
	"hazwatch/configs"
)

func TestRoute_FirstMatchWinsUnlessContinue(t *testing.T) {
	cfg := configs.Notify{
		Channels: channels("sms", "ding", "center", "ops"),
		Routes: []configs.Route{
			{Match: configs.Matcher{"level": {"red", "orange"}, "site": {"hx-*"}}, Channels: []string{"sms"}, Continue: true},
			{Match: configs.Matcher{"kind": {"gas_*"}, "sensor": {"GT-0?"}}, Channels: []string{"ding"}},
			{Match: configs.Matcher{"rule": {"gas-lel"}}, Channels: []string{"ops"}},
			{Match: configs.Matcher{}, Channels: []string{"center"}},
		},
	}
	tests := []struct {
		name string
		ev   alerting.Event
		want []string // channels that receive it
	}{
		{"red at hx goes on to the next match", fire("a1", "hx-chem-01", "GT-03", configs.LevelRed), []string{"sms", "ding"}},
		{"yellow at hx skips the level route", fire("a2", "hx-chem-01", "GT-03", configs.LevelYellow), []string{"ding"}},
		{"sensor glob miss falls to the rule route", fire("a3", "hx-chem-01", "GT-103", configs.LevelYellow), []string{"ops"}},
		{"red elsewhere stops at the first route it matches", fire("a4", "zz-01", "GT-04", configs.LevelRed), []string{"ding"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, cfg, DispatcherOptions{})
			h.handle(tt.ev)
			h.settled(0)
			var got []string
			for name, f := range h.chans {
				if len(f.got) > 0 {
					got = append(got, name)
					if m := f.expect(t, 1)[0]; !slices.Equal(ids(m), []string{tt.ev.ID}) {
						t.Errorf("%s got alerts %v", name, ids(m))
					}
				}
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tt.want))
			if !slices.Equal(got, want) {
				t.Errorf("sent to %v, want %v", got, want)
			}
		})
	}
}

func TestRoute_RecipientsArePhonesAndSiteContacts(t *testing.T) {
	cfg := configs.Notify{
		Channels: []configs.Channel{{Name: "sms", Type: configs.ChannelAliyunSMS}},
		Routes:   []configs.Route{{Channels: []string{"sms"}, Phones: []string{"+8613800000002"}, Contacts: "site"}},
	}
	contacts := func(site, sensor string) []string {
		if site == "hx-chem-01" && sensor == "GT-03" {
			return []string{"+8613900000001", "+8613800000002"}
		}
		return nil
	}
	h := newHarness(t, cfg, DispatcherOptions{Contacts: contacts})
	h.handle(fire("a1", "hx-chem-01", "GT-03", configs.LevelRed))
	got := h.chans["sms"].expect(t, 1)[0].Recipients
	if want := []string{"+8613800000002", "+8613900000001"}; !slices.Equal(got, want) {
		t.Errorf("recipients %v, want %v", got, want)
	}
}

func TestRoute_SendsRiseFallAndResolve(t *testing.T) {
	no := false
	cfg := configs.Notify{
		Channels: channels("all", "quiet"),
		Routes: []configs.Route{
			{Match: configs.Matcher{"site": {"a"}}, Channels: []string{"all"}},
			{Match: configs.Matcher{"site": {"b"}}, Channels: []string{"quiet"}, SendResolved: &no},
		},
	}
	h := newHarness(t, cfg, DispatcherOptions{})
	for _, site := range []string{"a", "b"} {
		id := "x-" + site
		h.handle(fire(id, site, "s1", configs.LevelYellow))
		h.handle(event(id, site, "s1", alerting.StatusFiring, configs.LevelRed, configs.LevelYellow))
		h.handle(event(id, site, "s1", alerting.StatusFiring, configs.LevelOrange, configs.LevelRed))
		h.handle(event(id, site, "s1", alerting.StatusResolved, configs.LevelOrange, configs.LevelOrange))
	}
	h.settled(0)
	describe := func(ms []Message) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.Alerts[0].Status+"/"+m.Alerts[0].Level.String())
		}
		return out
	}
	if got, want := describe(h.chans["all"].expect(t, 4)), []string{"firing/yellow", "firing/red", "firing/orange", "resolved/orange"}; !slices.Equal(got, want) {
		t.Errorf("all: %v, want %v", got, want)
	}
	if got, want := describe(h.chans["quiet"].expect(t, 3)), []string{"firing/yellow", "firing/red", "firing/orange"}; !slices.Equal(got, want) {
		t.Errorf("send_resolved false: %v, want %v", got, want)
	}
	h.chans["quiet"].quiet(t)
}
