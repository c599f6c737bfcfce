package configs

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// base is a minimal valid config of 7 lines; cases append from line 8.
const base = `mqtt:
  url: tcp://127.0.0.1:1883
  subscriptions:
    - topic: sensors/{site}/{kind}/{sensor}
influxdb:
  url: http://127.0.0.1:8086
  bucket: hazwatch/autogen
`

// problems parses text as t.yaml and returns its problems as lines.
func problems(t *testing.T, text string) []string {
	t.Helper()
	_, err := Parse("t.yaml", []byte(text))
	if err == nil {
		return nil
	}
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error is %T, not Errors: %v", err, err)
	}
	return strings.Split(errs.Error(), "\n")
}

func TestParse_BaseIsValid(t *testing.T) {
	if got := problems(t, base); got != nil {
		t.Fatalf("problems in base: %q", got)
	}
}

func TestParse_ReportsEachProblemAtItsLine(t *testing.T) {
	cases := []struct {
		name string
		text string // appended to base unless it starts with "mqtt:"
		want []string
	}{
		{"unknown top-level key", "mqttt: {}\n",
			[]string{"t.yaml:8: mqttt: unknown key (did you mean mqtt?)"}},
		{"unknown nested key", "http:\n  listen: 127.0.0.1:1\n  tokn: x\n",
			[]string{"t.yaml:10: http.tokn: unknown key (did you mean token?)"}},
		{"duplicate key", "log:\n  level: info\n  level: warn\n",
			[]string{"t.yaml:10: log.level: duplicate key"}},
		{"duplicate top-level section", "influxdb:\n  batch_size: 1\n",
			[]string{"t.yaml:8: influxdb: duplicate key"}},
		{"wrong type: string for int", "mqtt:\n  url: tcp://h:1883\n  qos: high\n  subscriptions: [{topic: \"a/{kind}\"}]\ninfluxdb: {url: \"http://h\", bucket: b}\n",
			[]string{`t.yaml:3: mqtt.qos: want an integer, got "high"`}},
		{"wrong type: mapping for list", "rules: {name: x}\n",
			[]string{"t.yaml:8: rules: want a list, got a mapping"}},
		{"wrong type: bool", "grafana:\n  provision_on_start: maybe\n",
			[]string{`t.yaml:9: grafana.provision_on_start: want true or false, got "maybe"`}},
		{"bad duration", "rules:\n  - name: off\n    stale: {after: 5 minutes, level: blue}\n",
			[]string{`t.yaml:10: rules[0].stale.after: bad duration "5 minutes" (want e.g. 30s, 5m, 1h, 1d)`}},
		{"bad rate", "rules:\n  - name: r\n    rate:\n      window: 10m\n      above: {yellow: 0.6}\n",
			[]string{`t.yaml:12: rules[0].rate.above.yellow: bad rate "0.6" (want e.g. 0.6/h, 20/m, 1/s)`}},
		{"bad byte size", "mqtt:\n  url: tcp://h:1883\n  subscriptions: [{topic: \"a/{kind}\"}]\ninfluxdb:\n  url: http://h\n  bucket: b\n  spool: {max_bytes: 1 gigabyte}\n",
			[]string{`t.yaml:7: influxdb.spool.max_bytes: bad size "1 gigabyte" (want e.g. 1GiB, 512MiB, 64KiB, 1GB or a number of bytes)`}},
		{"required endpoints and a subscription", "mqtt:\n  client_id: x\ninfluxdb:\n  bucket: b\n",
			[]string{
				"t.yaml:1: mqtt.url: required",
				"t.yaml:1: mqtt.subscriptions: at least one subscription is required",
				"t.yaml:3: influxdb.url: required",
			}},
		{"bad broker scheme", "mqtt:\n  url: http://h:1883\n  subscriptions: [{topic: \"a/{kind}\"}]\ninfluxdb: {url: \"http://h\", bucket: b}\n",
			[]string{`t.yaml:2: mqtt.url: want a URL such as tcp://host:port, got "http://h:1883"`}},
		{"topic patterns", "mqtt:\n  url: tcp://h:1883\n  subscriptions:\n" +
			"    - topic: a/#/{kind}\n" +
			"    - topic: a/{site}/{site}/{kind}\n" +
			"    - topic: a/x{kind}\n" +
			"    - topic: a/{site}/+\n" +
			"    - topic: a/{site}/{kind}\n      kind: gas_lel\n" +
			"    - topic: a/{sensor}\n      kind: gas_lell\n" +
			"    - topic: a/{kind}\n      format: xml\n      qos: 2\n" +
			"influxdb: {url: \"http://h\", bucket: b}\n",
			[]string{
				`t.yaml:4: mqtt.subscriptions[0].topic: # may only end a pattern: "a/#/{kind}"`,
				`t.yaml:5: mqtt.subscriptions[1].topic: tag {site} appears twice in "a/{site}/{site}/{kind}"`,
				`t.yaml:6: mqtt.subscriptions[2].topic: segment "x{kind}" mixes a wildcard or {name} with text (a segment is a word, {name}, + or #)`,
				`t.yaml:7: mqtt.subscriptions[3].topic: no {kind} segment and no kind: for the subscription`,
				`t.yaml:9: mqtt.subscriptions[4].kind: the topic's {kind} segment already gives the kind; keep one`,
				`t.yaml:11: mqtt.subscriptions[5].kind: unknown kind "gas_lell" (ch4_vol, gas_lel, gas_toxic, rainfall, tank_level, tank_pressure, tank_temp, water_level)`,
				`t.yaml:13: mqtt.subscriptions[6].format: unknown value "xml" (json, line, value)`,
				`t.yaml:14: mqtt.subscriptions[6].qos: must be 0 or 1`,
			}},
		{"unknown level key", "rules:\n  - name: g\n    threshold:\n      above: {yellow: 1, purple: 2}\n",
			[]string{"t.yaml:11: rules[0].threshold.above.purple: unknown level (blue, yellow, orange, red)"}},
		{"unknown level value", "rules:\n  - name: s\n    stale: {after: 1m, level: pink}\n",
			[]string{"t.yaml:10: rules[0].stale.level: unknown level (blue, yellow, orange, red)"}},
		{"missing level", "rules:\n  - name: s\n    fault: {stuck_for: 1h}\n",
			[]string{"t.yaml:10: rules[0].fault.level: required (blue, yellow, orange, red)"}},
		{"rule name required", "rules:\n  - match: {}\n    stale: {after: 1m, level: blue}\n",
			[]string{"t.yaml:9: rules[0].name: required"}},
		{"no rule type", "rules:\n  - name: x\n    match: {}\n",
			[]string{"t.yaml:9: rules[0]: no rule type: want one of threshold, rate, predict, stale, fault"}},
		{"two rule types", "rules:\n  - name: x\n    stale: {after: 1m, level: blue}\n    fault: {level: blue}\n",
			[]string{"t.yaml:9: rules[0]: one rule has exactly one type, got fault and stale"}},
		{"thresholds missing", "rules:\n  - name: x\n    threshold: {for: 5s}\n",
			[]string{"t.yaml:10: rules[0].threshold: needs above or below thresholds"}},
		{"above must rise with level", "rules:\n  - name: x\n    threshold:\n      above: {yellow: 25, orange: 20, red: 50}\n",
			[]string{"t.yaml:11: rules[0].threshold.above.orange: 20 must be above yellow's 25: above thresholds rise with the level"}},
		{"below must fall with level", "rules:\n  - name: x\n    threshold:\n      below:\n        yellow: 5\n        orange: 10\n",
			[]string{"t.yaml:13: rules[0].threshold.below.orange: 10 must be below yellow's 5: below thresholds fall with the level"}},
		{"rate above must rise", "rules:\n  - name: x\n    rate:\n      window: 10m\n      above: {yellow: 1/h, orange: 0.5/h}\n",
			[]string{"t.yaml:12: rules[0].rate.above.orange: 0.5/h must be above yellow's 1/h: above thresholds rise with the level"}},
		{"hysteresis per-level key not a level", "rules:\n  - name: x\n    threshold:\n      above: {red: 1}\n      hysteresis: {red: 0.5, alarm: 0}\n",
			[]string{"t.yaml:12: rules[0].threshold.hysteresis.alarm: unknown level (blue, yellow, orange, red)"}},
		{"hysteresis for a level without threshold", "rules:\n  - name: x\n    threshold:\n      above: {yellow: 1, red: 2}\n      hysteresis: {orange: 0.5}\n",
			[]string{"t.yaml:12: rules[0].threshold.hysteresis.orange: no orange threshold to apply it to"}},
		{"negative hysteresis", "rules:\n  - name: x\n    threshold:\n      above: {red: 1}\n      hysteresis: -1\n",
			[]string{"t.yaml:12: rules[0].threshold.hysteresis: must not be negative"}},
		{"predict needs target, horizon and level", "rules:\n  - name: p\n    predict: {window: 10m}\n",
			[]string{
				"t.yaml:10: rules[0].predict.target: required",
				"t.yaml:10: rules[0].predict.horizon: required, above 0",
				"t.yaml:10: rules[0].predict.level: required (blue, yellow, orange, red)",
			}},
		{"rate window and min_samples", "rules:\n  - name: r\n    rate:\n      min_samples: 1\n      above: {red: 1/h}\n",
			[]string{
				"t.yaml:10: rules[0].rate.window: required, above 0",
				"t.yaml:11: rules[0].rate.min_samples: must be at least 2 (a line needs two points)",
			}},
		{"unknown kind in rule match", "rules:\n  - name: x\n    match: {kind: gas_lell}\n    stale: {after: 1m, level: blue}\n",
			[]string{`t.yaml:10: rules[0].match.kind: unknown kind "gas_lell" (ch4_vol, gas_lel, gas_toxic, rainfall, tank_level, tank_pressure, tank_temp, water_level)`}},
		{"glob kind in match is allowed", "rules:\n  - name: x\n    match: {kind: [gas_*, water_level]}\n    stale: {after: 1m, level: blue}\n", nil},
		{"duplicate rule name and match", "rules:\n  - name: x\n    match: {kind: gas_lel}\n    stale: {after: 1m, level: blue}\n  - name: x\n    match: {kind: [gas_lel]}\n    stale: {after: 2m, level: blue}\n",
			[]string{"t.yaml:12: rules[1]: rule x with this match is already defined at line 9; a narrower match overrides it"}},
		{"same name narrower match is an override", "rules:\n  - name: x\n    match: {kind: gas_lel}\n    stale: {after: 1m, level: blue}\n  - name: x\n    match: {kind: gas_lel, sensor: GT-1}\n    stale: {after: 2m, level: blue}\n", nil},
		{"channel name and type required", "notify:\n  channels:\n    - url: http://x\n",
			[]string{
				"t.yaml:10: notify.channels[0].name: required",
				`t.yaml:10: notify.channels[0].type: unknown channel type "" (alertmanager, aliyun_sms, dingtalk, feishu, tencentcloud_sms, webhook, wecom)`,
			}},
		{"channel type's required fields", "notify:\n  channels:\n    - name: sms\n      type: aliyun_sms\n      access_key_id: id\n",
			[]string{
				"t.yaml:10: notify.channels[0].access_key_secret: required for type aliyun_sms",
				"t.yaml:10: notify.channels[0].sign_name: required for type aliyun_sms",
				"t.yaml:10: notify.channels[0].template_code: required for type aliyun_sms",
			}},
		{"duplicate channel names", "notify:\n  channels:\n    - {name: c, type: webhook, url: http://a}\n    - {name: c, type: webhook, url: http://b}\n",
			[]string{"t.yaml:11: notify.channels[1].name: channel c is already defined at line 10"}},
		{"route channel must exist", "notify:\n  channels:\n    - {name: c, type: webhook, url: http://a}\n  routes:\n    - match: {level: red}\n      channels: [c, sms]\n",
			[]string{`t.yaml:13: notify.routes[0].channels[1]: no channel named "sms" in notify.channels`}},
		{"route level must be a level", "notify:\n  channels:\n    - {name: c, type: webhook, url: http://a}\n  routes:\n    - match: {level: [orange, crimson]}\n      channels: [c]\n",
			[]string{"t.yaml:12: notify.routes[0].match.level: unknown level (blue, yellow, orange, red)"}},
		{"route rule must exist", "rules:\n  - name: offline\n    stale: {after: 1m, level: blue}\nnotify:\n  channels:\n    - {name: c, type: webhook, url: http://a}\n  routes:\n    - match: {rule: [offline, offlin, \"flood-*\"]}\n      channels: [c]\n",
			[]string{`t.yaml:15: notify.routes[0].match.rule: no rule named "offlin"`}},
		{"silence to before from", "notify:\n  silences:\n    - match: {site: a}\n      from: 2026-12-01T06:00:00+08:00\n      to: 2026-12-01T00:00:00+08:00\n",
			[]string{"t.yaml:12: notify.silences[0].to: must be after from (2026-12-01T06:00:00+08:00)"}},
		{"silence bad time", "notify:\n  silences:\n    - match: {site: a}\n      from: tomorrow\n      to: 2026-12-01T00:00:00+08:00\n",
			[]string{
				`t.yaml:11: notify.silences[0].from: bad time "tomorrow" (want RFC 3339, e.g. 2026-12-01T00:00:00+08:00)`,
			}},
		{"range must be two numbers", "kinds:\n  nh3: {measurement: gas, range: [0]}\n",
			[]string{"t.yaml:9: kinds.nh3.range: want a list of 2 values, e.g. [0, 100]"}},
		{"measurement must be a word", "kinds:\n  nh3: {measurement: \"#gas\"}\n",
			[]string{"t.yaml:9: kinds.nh3.measurement: a measurement name is a word of letters, digits and _"}},
		{"new kind needs a measurement", "kinds:\n  nh3: {unit: ppm}\n",
			[]string{"t.yaml:9: kinds.nh3.measurement: required"}},
		{"unset env var", "http:\n  token: ${HZ_SURELY_UNSET_VAR}\n",
			[]string{"t.yaml:9: http.token: environment variable HZ_SURELY_UNSET_VAR is not set (write ${HZ_SURELY_UNSET_VAR:-} to allow it empty)"}},
		{"syntax error", "rules: [\n",
			[]string{"t.yaml:8: did not find expected node content"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			text := c.text
			if !strings.HasPrefix(text, "mqtt:") {
				text = base + text
			}
			if got := problems(t, text); !slices.Equal(got, c.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

func TestParse_TagNamesFollowTheOneCheckOfReading(t *testing.T) {
	config := func(topic, staticTag string) string {
		return "mqtt:\n  url: tcp://h:1883\n  subscriptions: [{topic: \"" + topic + "\"}]\n" +
			"influxdb:\n  url: http://h\n  bucket: b\n  static_tags: {\"" + staticTag + "\": x}\n"
	}
	cases := []struct {
		name, topic, staticTag string
		want                   []string
	}{
		{"words, _ and - are fine", "s/{kind}/{zone-a}/{line_2}", "plant-1", nil},
		{"topic tag time", "s/{kind}/{time}", "plant", []string{`t.yaml:3: mqtt.subscriptions[0].topic: tag name "time" is reserved`}},
		{"topic tag _measurement", "s/{kind}/{_measurement}", "plant", []string{`t.yaml:3: mqtt.subscriptions[0].topic: tag name "_measurement" is reserved`}},
		{"topic tag field", "s/{kind}/{field}", "plant", []string{`t.yaml:3: mqtt.subscriptions[0].topic: tag name "field" is reserved`}},
		{"static tag time", "s/{kind}", "time", []string{`t.yaml:7: influxdb.static_tags.time: tag name "time" is reserved`}},
		{"static tag _field", "s/{kind}", "_field", []string{`t.yaml:7: influxdb.static_tags._field: tag name "_field" is reserved`}},
		{"static tag with a space", "s/{kind}", "a b", []string{`t.yaml:7: influxdb.static_tags.a b: tag name "a b": use letters, digits, _ and -`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := problems(t, config(c.topic, c.staticTag)); !slices.Equal(got, c.want) {
				t.Fatalf("problems:\n%q\nwant:\n%q", got, c.want)
			}
		})
	}
}

func TestParse_RefusesADeadLetterTopicThatLoops(t *testing.T) {
	config := func(dead string) string {
		return "mqtt:\n  url: tcp://h:1883\n  dead_letter_topic: \"" + dead + "\"\n" +
			"  subscriptions:\n    - topic: sensors/{site}/{kind}/{sensor}\n    - topic: \"$share/g/lp/#\"\n      kind: gas_lel\n" +
			"influxdb: {url: \"http://h\", bucket: b}\n"
	}
	cases := []struct {
		dead string
		want []string
	}{
		{"hazwatch/rejected", nil},
		{"sensors/dl/nokind", nil},
		{"sensors/dl/nokind/x", []string{`t.yaml:3: mqtt.dead_letter_topic: "sensors/dl/nokind/x" would be received again through subscription "sensors/{site}/{kind}/{sensor}" (mqtt.subscriptions[0]), and each dead letter would make another`}},
		{"lp", []string{`t.yaml:3: mqtt.dead_letter_topic: "lp" would be received again through subscription "$share/g/lp/#" (mqtt.subscriptions[1]), and each dead letter would make another`}},
		{"hazwatch/+/x", []string{`t.yaml:3: mqtt.dead_letter_topic: a topic to publish to holds no + or #`}},
		{"hazwatch/#", []string{`t.yaml:3: mqtt.dead_letter_topic: a topic to publish to holds no + or #`}},
	}
	for _, c := range cases {
		t.Run(c.dead, func(t *testing.T) {
			if got := problems(t, config(c.dead)); !slices.Equal(got, c.want) {
				t.Fatalf("problems:\n%q\nwant:\n%q", got, c.want)
			}
		})
	}
}
