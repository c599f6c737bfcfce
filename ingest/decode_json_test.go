package ingest

import (
	"fmt"
	"testing"
	"time"
)

func TestJSON_DecodesReadings(t *testing.T) {
	sec, ms := arrival.Unix(), arrival.UnixMilli()
	runDecodeCases(t, testDecoders().JSON, testBase(), []decodeCase{
		{name: "v", payload: `{"v": 12.3}`, want: []string{gasLine + "value=12.3 " + ns(0)}},
		{name: "value", payload: `{"value": 12.3}`, want: []string{gasLine + "value=12.3 " + ns(0)}},
		{name: "ts in seconds", payload: fmt.Sprintf(`{"v":1,"ts":%d}`, sec-10),
			want: []string{gasLine + "value=1.0 " + ns(-10*time.Second)}},
		{name: "ts in milliseconds", payload: fmt.Sprintf(`{"v":1,"ts":%d}`, ms-1500),
			want: []string{gasLine + "value=1.0 " + ns(-1500*time.Millisecond)}},
		{name: "ts with fractional seconds kept exactly", payload: fmt.Sprintf(`{"v":1,"ts":%d.123}`, sec-10),
			want: []string{gasLine + "value=1.0 " + ns(-9877*time.Millisecond)}},
		{name: "ts with fractional milliseconds", payload: fmt.Sprintf(`{"v":1,"ts":%d.5}`, ms),
			want: []string{gasLine + "value=1.0 " + ns(500*time.Microsecond)}},
		{name: "ts with exponent", payload: `{"v":1,"ts":1.79586e9}`,
			want: []string{gasLine + "value=1.0 " + ns(0)}},
		{name: "ts six days old", payload: fmt.Sprintf(`{"v":1,"ts":%d}`, sec-6*86400),
			want: []string{gasLine + "value=1.0 " + ns(-6*24*time.Hour)}},
		{name: "time in RFC 3339", payload: `{"v":1,"time":"2026-11-28T09:59:00Z"}`,
			want: []string{gasLine + "value=1.0 " + ns(-time.Minute)}},
		{name: "time with offset and fraction", payload: `{"v":1,"time":"2026-11-28T17:59:00.5+08:00"}`,
			want: []string{gasLine + "value=1.0 " + ns(-59500*time.Millisecond)}},
		{name: "fields sorted by name", payload: fmt.Sprintf(`{"ts":%d,"temp":25.1,"level":3.2}`, sec),
			want: []string{gasLine + "level=3.2 " + ns(0), gasLine + "temp=25.1 " + ns(0)}},
		{name: "booleans", payload: `{"alarm":true,"fault":false}`,
			want: []string{gasLine + "alarm=1.0 " + ns(0), gasLine + "fault=0.0 " + ns(0)}},
		{name: "numeric string", payload: `{"v":" 12.5"}`, want: []string{gasLine + "value=12.5 " + ns(0)}},
		{name: "unit string ignored", payload: `{"v":3,"unit":"ppm"}`, want: []string{gasLine + "value=3.0 " + ns(0)}},
		{name: "null and nested values ignored", payload: `{"meta":{"a":[1,{"b":2}]},"x":null,"v":3,"l":[4]}`,
			want: []string{gasLine + "value=3.0 " + ns(0)}},
		{name: "empty field name ignored", payload: `{"":1,"v":2}`, want: []string{gasLine + "value=2.0 " + ns(0)}},
		{name: "repeated field: last wins", payload: `{"v":1,"value":2,"v":3,"x":4,"x":5}`,
			want: []string{gasLine + "value=3.0 " + ns(0), gasLine + "x=5.0 " + ns(0)}},
		{name: "batch", payload: fmt.Sprintf(` [{"v":1,"ts":%d}, {"v":2,"ts":%d}] `, sec-2, sec-1),
			want: []string{gasLine + "value=1.0 " + ns(-2*time.Second), gasLine + "value=2.0 " + ns(-time.Second)}},
	})
}

func TestJSON_RejectsBadPayloads(t *testing.T) {
	sec, ms := arrival.Unix(), arrival.UnixMilli()
	runDecodeCases(t, testDecoders().JSON, testBase(), []decodeCase{
		{name: "empty", payload: ``, reason: ReasonMalformedJSON},
		{name: "truncated", payload: `{"v":`, reason: ReasonMalformedJSON},
		{name: "unquoted key", payload: `{v:1}`, reason: ReasonMalformedJSON},
		{name: "not json", payload: `v=1`, reason: ReasonMalformedJSON},
		{name: "trailing garbage", payload: `{"v":1} x`, reason: ReasonMalformedJSON},
		{name: "two objects", payload: `{"v":1}{"v":2}`, reason: ReasonMalformedJSON},
		{name: "bare number", payload: `12.3`, reason: ReasonMalformedJSON},
		{name: "array of numbers", payload: `[1,2]`, reason: ReasonMalformedJSON},
		{name: "batch element not an object", payload: `[{"v":1},2]`, reason: ReasonMalformedJSON},
		{name: "non-numeric v", payload: `{"v":"abc"}`, reason: ReasonNonNumeric},
		{name: "non-numeric value beside numbers", payload: `{"value":"12 ppm","temp":3}`, reason: ReasonNonNumeric},
		{name: "only strings", payload: `{"unit":"ppm"}`, reason: ReasonNonNumeric},
		{name: "empty object", payload: `{}`, reason: ReasonNoValue},
		{name: "only a time", payload: fmt.Sprintf(`{"ts":%d}`, sec), reason: ReasonNoValue},
		{name: "null v", payload: `{"v":null}`, reason: ReasonNoValue},
		{name: "only nested", payload: `{"meta":{"v":1}}`, reason: ReasonNoValue},
		{name: "empty batch", payload: `[]`, reason: ReasonNoValue},
		{name: "too large for a float", payload: `{"v":1e400}`, reason: ReasonNotFinite},
		{name: "NaN string", payload: `{"v":"NaN"}`, reason: ReasonNotFinite},
		{name: "infinite string field", payload: `{"v":1,"x":"-Inf"}`, reason: ReasonNotFinite},
		{name: "ts an hour ahead", payload: fmt.Sprintf(`{"v":1,"ts":%d}`, sec+3600), reason: ReasonFutureTime},
		{name: "ts in ms two minutes ahead", payload: fmt.Sprintf(`{"v":1,"ts":%d}`, ms+120000), reason: ReasonFutureTime},
		{name: "time an hour ahead", payload: `{"v":1,"time":"2026-11-28T11:00:00Z"}`, reason: ReasonFutureTime},
		{name: "ts eight days old", payload: fmt.Sprintf(`{"v":1,"ts":%d}`, sec-8*86400), reason: ReasonPastTime},
		{name: "ts in ms beyond UnixNano", payload: `{"v":1,"ts":9000000000000000000}`, reason: ReasonFutureTime},
		{name: "ts in s beyond UnixNano", payload: `{"v":1,"ts":99999999999}`, reason: ReasonFutureTime},
		{name: "time before UnixNano", payload: `{"v":0,"time":"1677-01-01T00:00:00Z"}`, reason: ReasonPastTime},
		{name: "time after UnixNano", payload: `{"v":0,"time":"2263-01-01T00:00:00Z"}`, reason: ReasonFutureTime},
		{name: "time far past", payload: `{"v":0,"time":"0001-01-01T00:00:00Z"}`, reason: ReasonPastTime},
		{name: "time a year old", payload: `{"v":0,"time":"2025-11-28T10:00:00Z"}`, reason: ReasonPastTime},
		{name: "ts a string", payload: fmt.Sprintf(`{"v":1,"ts":"%d"}`, sec), reason: ReasonBadTime},
		{name: "ts zero", payload: `{"v":1,"ts":0}`, reason: ReasonBadTime},
		{name: "ts negative", payload: `{"v":1,"ts":-5}`, reason: ReasonBadTime},
		{name: "ts beyond any clock", payload: `{"v":1,"ts":1e300}`, reason: ReasonBadTime},
		{name: "time not RFC 3339", payload: `{"v":1,"time":"28/11/2026 10:00"}`, reason: ReasonBadTime},
		{name: "time a number", payload: `{"v":1,"time":12}`, reason: ReasonBadTime},
		{name: "both ts and time", payload: fmt.Sprintf(`{"v":1,"ts":%d,"time":"2026-11-28T10:00:00Z"}`, sec), reason: ReasonBadTime},
		{name: "field name _field", payload: `{"v":1,"_field":2}`, reason: ReasonBadName},
		{name: "field name _measurement", payload: `{"_measurement":2}`, reason: ReasonBadName},
		{name: "field name ending in a backslash", payload: `{"v":1,"a\\":2}`, reason: ReasonBadName},
		{name: "field name with a newline", payload: `{"a\nb":2}`, reason: ReasonBadName},
		{name: "not UTF-8", payload: "{\"v\":1,\"\xff\":2}", reason: ReasonMalformedJSON},
		{name: "one bad element rejects the batch", payload: `[{"v":1},{"v":"x"},{"v":2}]`, reason: ReasonNonNumeric},
	})
}

func FuzzDecodeJSON(f *testing.F) {
	decode := testDecoders().JSON
	f.Fuzz(func(t *testing.T, payload []byte) { checkFuzzOutput(t, decode, payload) })
}

// FuzzDecodeJSONTime puts any text in "ts" and "time": whatever it is, a
// reading keeps a time inside the window around arrival or is rejected.
func FuzzDecodeJSONTime(f *testing.F) {
	for _, seed := range []string{"1795860000", "1795860000123", "1.79586e9", "0", "-1", "1e300",
		"9223372036854775807", "99999999999", "1795860000.999999999999"} {
		f.Add(seed)
	}
	for _, seed := range []string{`"2026-11-28T10:00:00Z"`, `"1677-01-01T00:00:00Z"`, `"2263-01-01T00:00:00Z"`,
		`"0001-01-01T00:00:00Z"`, `"9999-12-31T23:59:59.999999999+23:59"`} {
		f.Add(seed)
	}
	decode := testDecoders().JSON
	f.Fuzz(func(t *testing.T, value string) {
		checkFuzzOutput(t, decode, []byte(`{"v":1,"ts":`+value+`}`))
		checkFuzzOutput(t, decode, []byte(`{"v":1,"time":`+value+`}`))
	})
}
