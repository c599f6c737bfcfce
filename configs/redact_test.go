package configs

import (
	"strings"
	"testing"
)

func TestRedactURL_HidesPasswordsAndTokens(t *testing.T) {
	cases := []struct{ in, want string }{
		{"http://127.0.0.1:8086", "http://127.0.0.1:8086"},
		{"tcp://hazwatch:s3cret@broker:1883", "tcp://hazwatch:xxxxx@broker:1883"},
		{"https://oapi.dingtalk.com/robot/send?access_token=t0ken", "https://oapi.dingtalk.com/robot/send?access_token=xxxxx"},
		{"https://open.feishu.cn/open-apis/bot/v2/hook/t0ken", "https://open.feishu.cn/open-apis/bot/v2/hook/xxxxx"},
		{"https://u:s3cret@h:port/x", "(a URL that does not parse)"},
		{"", ""},
	}
	for _, c := range cases {
		if got := RedactURL(c.in); got != c.want {
			t.Errorf("RedactURL(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestParse_NeverEchoesASecret is issue 10 item 16: check echoed a robot's
// access_token, and the value of a secret expanded into a key of another
// type (also in the "reload refused" log line, which prints the same error).
func TestParse_NeverEchoesASecret(t *testing.T) {
	t.Setenv("MQTT_PASSWORD", "hunter2-s3cret")
	cases := []struct{ name, text, want string }{
		{"secret expanded into an integer key", "mqtt:\n  url: tcp://h:1883\n  qos: ${MQTT_PASSWORD}\n  subscriptions: [{topic: \"a/{kind}\"}]\ninfluxdb: {url: \"http://h\", bucket: b}\n",
			`mqtt.qos: want an integer, got "${MQTT_PASSWORD}"`},
		{"secret expanded into a duration", "mqtt:\n  url: tcp://h:1883\n  max_past_age: x${MQTT_PASSWORD}\n  subscriptions: [{topic: \"a/{kind}\"}]\ninfluxdb: {url: \"http://h\", bucket: b}\n",
			`mqtt.max_past_age: bad duration "x${MQTT_PASSWORD}"`},
		{"robot token in a URL of the wrong scheme", base + "notify:\n  channels:\n    - {name: d, type: dingtalk, url: \"ftp://oapi.dingtalk.com/robot/send?access_token=hunter2-s3cret\"}\n",
			`got "ftp://oapi.dingtalk.com/robot/send?access_token=xxxxx"`},
		{"password in a URL that does not parse", "mqtt:\n  url: \"tcp://u:hunter2-s3cret@h:port\"\n  subscriptions: [{topic: \"a/{kind}\"}]\ninfluxdb: {url: \"http://h\", bucket: b}\n",
			`mqtt.url: bad URL`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := strings.Join(problems(t, c.text), "\n")
			if strings.Contains(got, "hunter2") || !strings.Contains(got, c.want) {
				t.Fatalf("problems:\n%s\nwant one with %q and no secret", got, c.want)
			}
		})
	}
}
