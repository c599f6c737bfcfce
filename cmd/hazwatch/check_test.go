package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	cases := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"broken config names file and line of each problem",
			[]string{"-config", "../../configs/testdata/broken.yaml"}, 1, "",
			`../../configs/testdata/broken.yaml:4: mqtt.qos: must be 0 or 1
../../configs/testdata/broken.yaml:6: mqtt.subscriptions[0].topic: # may only end a pattern: "sensors/{site}/#/{sensor}"
../../configs/testdata/broken.yaml:10: influxdb.flush_interval: bad duration "1 second" (want e.g. 30s, 5m, 1h, 1d)
../../configs/testdata/broken.yaml:13: rules[0].match.kind: unknown kind "gas_lell" (ch4_vol, gas_lel, gas_toxic, rainfall, tank_level, tank_pressure, tank_temp, water_level)
../../configs/testdata/broken.yaml:15: rules[0].threshold.above.purple: unknown level (blue, yellow, orange, red)
../../configs/testdata/broken.yaml:19: rules[1].rate.above.orange: 0.6/h must be above yellow's 1.2/h: above thresholds rise with the level
../../configs/testdata/broken.yaml:25: notify.channels[0].retries: unknown key
../../configs/testdata/broken.yaml:28: notify.routes[0].channels[0]: no channel named "centre" in notify.channels
`},
		{"demo config is ok", []string{"-config", "../../configs/demo.yaml"}, 0,
			"../../configs/demo.yaml: ok\nsites: 4, sensors: 15, kinds: 8, rules: 11, channels: 1, routes: 1, silences: 0\n", ""},
		{"missing file", []string{"-config", "../../configs/testdata/none.yaml"}, 1, "",
			"read config: open ../../configs/testdata/none.yaml: no such file or directory\n"},
		{"unknown flag is a usage error", []string{"-conf", "x"}, 2, "", "flag provided but not defined: -conf\n"},
		{"stray argument is a usage error", []string{"-config", "../../configs/demo.yaml", "extra"}, 2, "",
			"check: unexpected argument \"extra\"\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runCheck(c.args, &stdout, &stderr)
			if code != c.wantCode {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, c.wantCode, stderr.String())
			}
			if stdout.String() != c.wantStdout {
				t.Errorf("stdout:\n%s\nwant:\n%s", stdout.String(), c.wantStdout)
			}
			// Usage errors go on to print the flags; only the first line is fixed.
			if got := stderr.String(); !strings.HasPrefix(got, c.wantStderr) || c.wantCode != 2 && got != c.wantStderr {
				t.Errorf("stderr:\n%s\nwant:\n%s", got, c.wantStderr)
			}
		})
	}
}
