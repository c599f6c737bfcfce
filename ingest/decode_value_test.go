package ingest

import "testing"

func TestValue_DecodesABareNumber(t *testing.T) {
	at := " " + ns(0)
	runDecodeCases(t, testDecoders().Value, testBase(), []decodeCase{
		{name: "decimal", payload: "12.3", want: []string{gasLine + "value=12.3" + at}},
		{name: "whitespace around", payload: " 4e-3\r\n", want: []string{gasLine + "value=0.004" + at}},
		{name: "integer", payload: "7", want: []string{gasLine + "value=7.0" + at}},
		{name: "negative", payload: "-1.5", want: []string{gasLine + "value=-1.5" + at}},
		{name: "empty", payload: "", reason: ReasonNoValue},
		{name: "blank", payload: " \n", reason: ReasonNoValue},
		{name: "word", payload: "abc", reason: ReasonNonNumeric},
		{name: "number with unit", payload: "12 ppm", reason: ReasonNonNumeric},
		{name: "json", payload: `{"v":1}`, reason: ReasonNonNumeric},
		{name: "NaN", payload: "NaN", reason: ReasonNotFinite},
		{name: "infinity", payload: "+Inf", reason: ReasonNotFinite},
		{name: "too large for a float", payload: "1e400", reason: ReasonNotFinite},
	})
}

func FuzzDecodeValue(f *testing.F) {
	decode := testDecoders().Value
	f.Fuzz(func(t *testing.T, payload []byte) { checkFuzzOutput(t, decode, payload) })
}
