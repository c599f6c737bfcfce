package ingest

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"hazwatch/configs"
	"hazwatch/reading"
)

func qos(q int) *int { return &q }

var testSubs = []configs.Subscription{
	{Topic: "sensors/{site}/{kind}/{sensor}", Format: configs.FormatJSON},
	{Topic: "flood/{site}/{sensor}/level", Kind: "water_level", Format: configs.FormatValue, QoS: qos(0)},
	{Topic: "plant/{site}/{line}/+/{sensor}", Kind: "gas_lel"},
	{Topic: "lp/{site}/#", Format: configs.FormatLine},
}

func testMatcher(t testing.TB) *TopicMatcher {
	t.Helper()
	m, err := NewTopicMatcher(testSubs, testKinds, map[string]string{"district": "XX", "zone": "static"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestTopicMatcher_FiltersReplaceTagsWithPlus(t *testing.T) {
	m, err := NewTopicMatcher(append(testSubs, configs.Subscription{Topic: "flood/{x}/{y}/level", Kind: "water_level", QoS: qos(1)}),
		testKinds, nil, WithDefaultQoS(0))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]byte{
		"sensors/+/+/+":   0, // the default
		"flood/+/+/level": 1, // the higher QoS of the two patterns
		"plant/+/+/+/+":   0,
		"lp/+/#":          0,
	}
	if got := m.Filters(); !maps.Equal(got, want) {
		t.Fatalf("Filters() = %v, want %v", got, want)
	}
	if got := testMatcher(t).Filters()["sensors/+/+/+"]; got != DefaultQoS {
		t.Fatalf("QoS without WithDefaultQoS = %d, want %d", got, DefaultQoS)
	}
}

func TestTopicMatcher_MatchGivesTheTopicsReading(t *testing.T) {
	m := testMatcher(t)
	tests := []struct {
		topic  string
		want   string // the reading as a line, without field and time
		reason string
	}{
		{topic: "sensors/hx/gas_lel/GT-03", want: "gas,district=XX,kind=gas_lel,sensor=GT-03,site=hx,zone=static"},
		{topic: "flood/up-7/WL-1/level", want: "flood,district=XX,kind=water_level,sensor=WL-1,site=up-7,zone=static"},
		{topic: "plant/hx/L2/any/GT-9", want: "gas,district=XX,kind=gas_lel,line=L2,sensor=GT-9,site=hx,zone=static"},
		{topic: "lp/hx", want: ",district=XX,site=hx,zone=static"},
		{topic: "lp/hx/a/b/c", want: ",district=XX,site=hx,zone=static"},
		{topic: "sensors/hx/gas_lel/GT-03/extra", reason: ReasonNoMatchingTopic},
		{topic: "sensors/hx/gas_lel", reason: ReasonNoMatchingTopic},
		{topic: "sensors//gas_lel/GT-03", reason: ReasonNoMatchingTopic},
		{topic: "flood/up-7/WL-1/rain", reason: ReasonNoMatchingTopic},
		{topic: "lp", reason: ReasonNoMatchingTopic},
		{topic: "", reason: ReasonNoMatchingTopic},
		{topic: "sensors/hx/radiation/R1", reason: ReasonUnknownKind},
		{topic: `sensors/hx\/gas_lel/GT-03`, reason: ReasonBadName},
		{topic: "plant/hx/L\x01/x/GT-9", reason: ReasonBadName},
	}
	for _, tt := range tests {
		t.Run(tt.topic, func(t *testing.T) {
			base, decode, err := m.Match(tt.topic)
			if tt.reason != "" {
				if got := rejectReason(err); got != tt.reason {
					t.Fatalf("err = %v, want reason %q", err, tt.reason)
				}
				return
			}
			if err != nil || decode == nil {
				t.Fatalf("Match: %v", err)
			}
			if base.Field != "value" {
				t.Errorf("Field = %q, want value", base.Field)
			}
			line, _, _ := strings.Cut(string(base.AppendLine(nil)), " ")
			if line != tt.want {
				t.Errorf("reading %s, want %s", line, tt.want)
			}
		})
	}
}

func TestTopicMatcher_FirstMatchingSubscriptionWins(t *testing.T) {
	m, err := NewTopicMatcher([]configs.Subscription{
		{Topic: "s/{site}/{sensor}", Kind: "tank_level", Format: configs.FormatValue},
		{Topic: "s/#", Kind: "gas_lel"},
	}, testKinds, nil)
	if err != nil {
		t.Fatal(err)
	}
	for topic, kind := range map[string]string{"s/a/b": "tank_level", "s/a/b/c": "gas_lel", "s/a": "gas_lel"} {
		if base, _, err := m.Match(topic); err != nil || base.Kind != kind {
			t.Errorf("Match(%q) kind %q, %v; want %q", topic, base.Kind, err, kind)
		}
	}
}

func TestTopicMatcher_PicksTheDecoderOfTheFormat(t *testing.T) {
	m := testMatcher(t)
	for topic, payload := range map[string]string{
		"sensors/hx/gas_lel/GT-03": `{"v":1}`,
		"flood/up-7/WL-1/level":    "1",
		"plant/hx/L2/x/GT-9":       `{"v":1}`, // no format means json
		"lp/hx":                    "gas_lel value=1",
	} {
		base, decode, err := m.Match(topic)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := decode([]byte(payload), &base, arrival, nil); err != nil {
			t.Errorf("%s: decoding %q: %v", topic, payload, err)
		}
	}
}

func TestTopicMatcher_ReadingsDoNotShareFilledTags(t *testing.T) {
	m := testMatcher(t)
	a, _, _ := m.Match("plant/hx/L1/x/A")
	b, _, _ := m.Match("plant/hx/L2/x/B")
	if la, _ := a.Tag("line"); la != "L1" {
		t.Fatalf("first reading's line tag became %q after a second match", la)
	}
	if lb, _ := b.Tag("line"); lb != "L2" {
		t.Fatalf("second reading's line tag = %q", lb)
	}
}

func TestTopicMatcher_TimeWindowReachesTheDecoders(t *testing.T) {
	m, err := NewTopicMatcher(testSubs, testKinds, nil, WithTimeWindow(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	strict, err := NewTopicMatcher(testSubs, testKinds, nil, WithTimeWindow(1, 1))
	if err != nil {
		t.Fatal(err)
	}
	ahead := []byte("gas_lel value=1 " + ns(configs.DefaultMaxFutureSkew/2))
	behind := []byte("gas_lel value=1 " + ns(-configs.DefaultMaxPastAge/2))
	for _, tc := range []struct {
		m       *TopicMatcher
		payload []byte
		reason  string
	}{{m, ahead, ""}, {m, behind, ""}, {strict, ahead, ReasonFutureTime}, {strict, behind, ReasonPastTime}} {
		base, decode, _ := tc.m.Match("lp/hx")
		if _, err := decode(tc.payload, &base, arrival, nil); rejectReason(err) != tc.reason {
			t.Errorf("err = %v, want reason %q", err, tc.reason)
		}
	}
}

func TestNewTopicMatcher_RejectsBadSubscriptions(t *testing.T) {
	tests := []struct {
		name   string
		sub    configs.Subscription
		static map[string]string
		want   string
	}{
		{"empty topic", configs.Subscription{Kind: "gas_lel"}, nil, "empty topic"},
		{"# not last", configs.Subscription{Topic: "a/#/b", Kind: "gas_lel"}, nil, "# must be the last"},
		{"partial tag", configs.Subscription{Topic: "a/gas-{sensor}", Kind: "gas_lel"}, nil, "a level is"},
		{"partial wildcard", configs.Subscription{Topic: "a/b+", Kind: "gas_lel"}, nil, "a level is"},
		{"empty tag name", configs.Subscription{Topic: "a/{}", Kind: "gas_lel"}, nil, "empty tag name"},
		{"bad tag name", configs.Subscription{Topic: "a/{x y}", Kind: "gas_lel"}, nil, "letters, digits"},
		{"reserved tag", configs.Subscription{Topic: "a/{time}", Kind: "gas_lel"}, nil, "reserved"},
		{"reserved tag of InfluxDB 2", configs.Subscription{Topic: "a/{_measurement}", Kind: "gas_lel"}, nil, "reserved"},
		{"reserved static tag", configs.Subscription{Topic: "a/{kind}"}, map[string]string{"_field": "x"}, "reserved"},
		{"repeated tag", configs.Subscription{Topic: "{site}/{site}", Kind: "gas_lel"}, nil, "twice"},
		{"kind twice", configs.Subscription{Topic: "a/{kind}", Kind: "gas_lel"}, nil, "both {kind}"},
		{"unknown fixed kind", configs.Subscription{Topic: "a/{sensor}", Kind: "radiation"}, nil, "unknown kind"},
		{"no kind", configs.Subscription{Topic: "a/{sensor}", Format: configs.FormatValue}, nil, "no kind"},
		{"unknown format", configs.Subscription{Topic: "a/{kind}", Format: "csv"}, nil, "unknown payload format"},
		{"qos 2", configs.Subscription{Topic: "a/{kind}", QoS: qos(2)}, nil, "want 0 or 1"},
		{"static site", configs.Subscription{Topic: "a/{kind}"}, map[string]string{"site": "x"}, "come from the topic"},
		{"bad static tag", configs.Subscription{Topic: "a/{kind}"}, map[string]string{"a,b": "x"}, "letters, digits"},
		{"bad static tag value", configs.Subscription{Topic: "a/{kind}"}, map[string]string{"a": `x\`}, "cannot be stored"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewTopicMatcher([]configs.Subscription{tt.sub}, testKinds, tt.static)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one saying %q", err, tt.want)
			}
		})
	}
}

func TestTopicMatcher_TopicTagWinsOverStaticTag(t *testing.T) {
	m, err := NewTopicMatcher([]configs.Subscription{{Topic: "z/{zone}/{kind}"}}, testKinds, map[string]string{"zone": "static"})
	if err != nil {
		t.Fatal(err)
	}
	base, _, err := m.Match("z/north/gas_lel")
	if err != nil {
		t.Fatal(err)
	}
	if want := []reading.Tag{{Key: "zone", Value: "north"}}; !slices.Equal(base.Tags, want) {
		t.Fatalf("Tags = %v, want %v", base.Tags, want)
	}
}

func BenchmarkTopicMatch(b *testing.B) {
	m := testMatcher(b)
	for _, topic := range []string{"sensors/hx-chem-01/gas_lel/GT-03", "plant/hx/L2/x/GT-9", "lp/hx/a/b"} {
		b.Run(topic, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := m.Match(topic); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func FuzzTopicMatch(f *testing.F) {
	m := testMatcher(f)
	f.Fuzz(func(t *testing.T, topic string) {
		base, decode, err := m.Match(topic)
		if err != nil {
			if r := rejectReason(err); r != ReasonNoMatchingTopic && r != ReasonUnknownKind && r != ReasonBadName {
				t.Fatalf("error %v is not a reject for a topic", err)
			}
			return
		}
		if decode == nil || base.Field != "value" {
			t.Fatalf("Match(%q) = %+v with decoder %v", topic, base, decode != nil)
		}
		if base.Kind != "" && base.Measurement == "" {
			t.Fatalf("Match(%q) has kind %q but no measurement", topic, base.Kind)
		}
		for i, tag := range base.Tags {
			if tag.Value == "" || i > 0 && base.Tags[i-1].Key >= tag.Key {
				t.Fatalf("Match(%q) tags %v are not sorted and filled", topic, base.Tags)
			}
		}
	})
}

func TestTopicMatcher_SharedSubscriptionKeepsItsPrefixOnlyInTheFilter(t *testing.T) {
	m, err := NewTopicMatcher([]configs.Subscription{{Topic: "$share/ingest/sensors/{site}/{kind}/{sensor}"}}, testKinds, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.Filters(), map[string]byte{"$share/ingest/sensors/+/+/+": DefaultQoS}; !maps.Equal(got, want) {
		t.Fatalf("Filters() = %v, want %v", got, want)
	}
	// The broker delivers a shared subscription's messages on their own topic.
	base, _, err := m.Match("sensors/hx/gas_lel/GT-03")
	if err != nil {
		t.Fatal(err)
	}
	if base.Site != "hx" || base.Kind != "gas_lel" || base.Sensor != "GT-03" {
		t.Errorf("Match gave site %q kind %q sensor %q", base.Site, base.Kind, base.Sensor)
	}
}
