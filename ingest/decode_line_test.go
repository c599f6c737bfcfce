package ingest

import (
	"math"
	"strconv"
	"testing"
	"time"

	"hazwatch/reading"
)

func TestLine_DecodesReadings(t *testing.T) {
	runDecodeCases(t, testDecoders().Line, testBase(), []decodeCase{
		{name: "one field, no time", payload: "gas_lel value=1.5", want: []string{gasLine + "value=1.5 " + ns(0)}},
		{name: "nanosecond time", payload: "gas_lel value=1.5 " + ns(-time.Second),
			want: []string{gasLine + "value=1.5 " + ns(-time.Second)}},
		{name: "field types, sorted, string ignored", payload: `m value=1i,note="hi",alarm=true,count=3u,off=F`,
			want: []string{
				gasLine + "alarm=1.0 " + ns(0), gasLine + "count=3.0 " + ns(0),
				gasLine + "off=0.0 " + ns(0), gasLine + "value=1.0 " + ns(0),
			}},
		{name: "several lines, blanks and comments", payload: "# from PLC 3\n\nm value=1 " + ns(-2*time.Second) + "\r\nm value=2\n",
			want: []string{gasLine + "value=1.0 " + ns(-2*time.Second), gasLine + "value=2.0 " + ns(0)}},
		{name: "line tags join, topic tags win", payload: `m,zone=A\ 1,district=YY,site=other,sensor=other,kind=tank_level value=1`,
			want: []string{"gas,district=XX,kind=gas_lel,sensor=GT-03,site=hx,zone=A\\ 1 value=1.0 " + ns(0)}},
		{name: "measurement name ignored when the topic gives the kind", payload: "water_level value=2",
			want: []string{gasLine + "value=2.0 " + ns(0)}},
	})
}

func TestLine_TakesIdentityFromTheLineWhenTheTopicHasNone(t *testing.T) {
	base := reading.Reading{Field: "value", Tags: []reading.Tag{{Key: "district", Value: "XX"}}}
	runDecodeCases(t, testDecoders().Line, base, []decodeCase{
		{name: "kind from measurement name", payload: "tank_level,site=s1,sensor=T1 value=50",
			want: []string{"tank,district=XX,kind=tank_level,sensor=T1,site=s1 value=50.0 " + ns(0)}},
		{name: "kind tag before measurement name", payload: "gauge,kind=water_level,site=s1,sensor=W1 value=2,rate=0.1",
			want: []string{
				"flood,district=XX,kind=water_level,sensor=W1,site=s1 rate=0.1 " + ns(0),
				"flood,district=XX,kind=water_level,sensor=W1,site=s1 value=2.0 " + ns(0),
			}},
		{name: "each line its own series", payload: "gas_lel,sensor=A value=1\ntank_level,sensor=B value=2",
			want: []string{
				"gas,district=XX,kind=gas_lel,sensor=A value=1.0 " + ns(0),
				"tank,district=XX,kind=tank_level,sensor=B value=2.0 " + ns(0),
			}},
		{name: "unknown measurement name", payload: "gauge value=1", reason: ReasonUnknownKind},
		{name: "unknown kind tag", payload: "gas_lel,kind=nope value=1", reason: ReasonUnknownKind},
	})
}

func TestLine_RejectsBadPayloads(t *testing.T) {
	runDecodeCases(t, testDecoders().Line, testBase(), []decodeCase{
		{name: "empty", payload: "", reason: ReasonNoValue},
		{name: "only comments", payload: "# nothing\n\n", reason: ReasonNoValue},
		{name: "no fields", payload: "m", reason: ReasonMalformedLine},
		{name: "field without value", payload: "m value=", reason: ReasonMalformedLine},
		{name: "bad timestamp", payload: "m value=1 yesterday", reason: ReasonMalformedLine},
		{name: "text after timestamp", payload: "m value=1 1 2", reason: ReasonMalformedLine},
		{name: "no measurement", payload: ",site=a value=1", reason: ReasonMalformedLine},
		{name: "json", payload: `{"v":1}`, reason: ReasonMalformedLine},
		{name: "only strings", payload: `m note="hi"`, reason: ReasonNonNumeric},
		{name: "float out of range", payload: "m value=1e400", reason: ReasonMalformedLine},
		{name: "an hour ahead", payload: "m value=1 " + ns(time.Hour), reason: ReasonFutureTime},
		{name: "tag key time", payload: "m,time=1 value=1", reason: ReasonBadName},
		{name: "tag key _field", payload: "m,_field=x value=1", reason: ReasonBadName},
		{name: "tag key field", payload: "m,field=x value=1", reason: ReasonBadName},
		{name: "field key time", payload: "m value=1,time=2", reason: ReasonBadName},
		{name: "field key _measurement", payload: "m _measurement=2", reason: ReasonBadName},
		{name: "eight days old", payload: "m value=1 " + ns(-8*24*time.Hour), reason: ReasonPastTime},
		{name: "oldest UnixNano", payload: "m value=1 -9223372036854775808", reason: ReasonBadTime},
		{name: "latest UnixNano", payload: "m value=1 9223372036854775807", reason: ReasonFutureTime},
		{name: "six days old", payload: "m value=1 " + ns(-6*24*time.Hour),
			want: []string{gasLine + "value=1.0 " + ns(-6*24*time.Hour)}},
		{name: "zero time", payload: "m value=1 0", reason: ReasonBadTime},
		{name: "before 1970", payload: "m value=1 -5", reason: ReasonBadTime},
		{name: "control character in a tag", payload: "m,zone=\x01 value=1", reason: ReasonMalformedLine},
		{name: "not UTF-8", payload: "m \xff=1", reason: ReasonMalformedLine},
		{name: "one bad line rejects all", payload: "m value=1\nm value=\nm value=2", reason: ReasonMalformedLine},
	})
}

func FuzzDecodeLine(f *testing.F) {
	decode := testDecoders().Line
	f.Fuzz(func(t *testing.T, payload []byte) { checkFuzzOutput(t, decode, payload) })
}

// FuzzDecodeLineTime puts any number of nanoseconds after a line: a reading
// keeps a time inside the window around arrival or is rejected.
func FuzzDecodeLineTime(f *testing.F) {
	for _, seed := range []int64{arrival.UnixNano(), 0, -1, math.MinInt64, math.MaxInt64,
		arrival.Add(-8 * 24 * time.Hour).UnixNano(), arrival.Add(time.Hour).UnixNano()} {
		f.Add(seed)
	}
	decode := testDecoders().Line
	f.Fuzz(func(t *testing.T, at int64) {
		checkFuzzOutput(t, decode, []byte("m value=1 "+strconv.FormatInt(at, 10)))
	})
}
