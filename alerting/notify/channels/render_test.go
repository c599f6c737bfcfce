package channels

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"hazwatch/alerting"
	"hazwatch/alerting/notify"
	"hazwatch/configs"
)

func TestRender_DefaultTemplates(t *testing.T) {
	resolved := gasAlert()
	resolved.Status, resolved.Value = alerting.StatusResolved, 12
	resolved.Message = "【红色预警解除】华兴化工 3号罐区可燃气体 12%LEL"
	predicted := gasAlert()
	predicted.Level, predicted.HasETA, predicted.ETA = configs.LevelOrange, true, 12*time.Minute+10*time.Second
	predicted.Type, predicted.Value, predicted.Threshold = configs.TypePredict, 41.5, 50
	predicted.Message = "【橙色预警】华兴化工 3号罐区可燃气体 41.5%LEL，预计约 13 分钟后达到 50%LEL"
	messages := []struct {
		name string
		msg  *notify.Message
	}{
		{"single", &notify.Message{Alerts: []alerting.Event{gasAlert()}}},
		{"resolved", &notify.Message{Alerts: []alerting.Event{resolved}}},
		{"predict", &notify.Message{Alerts: []alerting.Event{predicted}}},
		{"group", stormMessage()},
	}
	templates := []struct{ name, text, ext string }{
		{"markdown", markdownTemplate, ".md"},
		{"text", textTemplate, ".txt"},
	}
	for _, tm := range templates {
		r, err := newRenderer("", tm.text, 4096)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range messages {
			t.Run(tm.name+"/"+m.name, func(t *testing.T) {
				v := newView(m.msg)
				got, err := r.render(v)
				if err != nil {
					t.Fatal(err)
				}
				golden(t, "render_"+m.name+tm.ext, []byte(v.Title+"\n"+got+"\n"))
			})
		}
	}
}

func TestTitle_GroupSummarisesOneSite(t *testing.T) {
	allResolved := stormMessage()
	for i := range allResolved.Alerts {
		allResolved.Alerts[i].Status = alerting.StatusResolved
	}
	tests := []struct {
		name string
		msg  *notify.Message
		want string
	}{
		{"one alert", &notify.Message{Alerts: []alerting.Event{gasAlert()}}, "【红色预警】华兴化工 3号罐区可燃气体"},
		{"storm headed by its highest firing level", stormMessage(), "【红色预警】华兴化工 3 个传感器报警"},
		{"all resolved", allResolved, "【预警解除】华兴化工 3 个传感器恢复正常"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := newView(tt.msg).Title; got != tt.want {
				t.Errorf("title %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRender_TemplateOverride(t *testing.T) {
	r, err := newRenderer("{{.Title}}｜{{range .Alerts}}{{.Sensor}}={{.Value}};{{end}}", markdownTemplate, 4096)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.render(newView(stormMessage()))
	if err != nil {
		t.Fatal(err)
	}
	want := "【红色预警】华兴化工 3 个传感器报警｜4号罐区可燃气体=31%LEL;3号罐区可燃气体=52.1%LEL;5号罐区可燃气体=12%LEL;"
	if got != want {
		t.Errorf("override rendered %q, want %q", got, want)
	}
}

func TestRender_BadTemplate(t *testing.T) {
	if _, err := newRenderer("{{.Title", markdownTemplate, 100); err == nil {
		t.Error("an unclosed action parsed")
	}
	r, err := newRenderer("{{.NoSuchField}}", markdownTemplate, 100)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.render(newView(stormMessage())); err == nil {
		t.Error("a template naming a missing field rendered")
	}
}

func TestRender_LongGroupStaysWithinLimit(t *testing.T) {
	m := &notify.Message{}
	for i := range 200 {
		e := gasAlert()
		e.SensorName = strings.Repeat("积水监测点", 3) + string(rune('甲'+i))
		m.Alerts = append(m.Alerts, e)
	}
	r, err := newRenderer("", markdownTemplate, weComMaxBytes)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.render(newView(m))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) > weComMaxBytes || !utf8.ValidString(got) || !strings.HasSuffix(got, "…") {
		t.Errorf("rendered %d bytes (valid UTF-8: %v), want at most %d ending in …", len(got), utf8.ValidString(got), weComMaxBytes)
	}
}

func TestFormatValue(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{{52.1, "52.1"}, {50, "50"}, {0.005, "0.005"}, {1.23456, "1.235"}, {-3.5, "-3.5"}, {1200, "1200"}}
	for _, tt := range tests {
		if got := formatValue(tt.v); got != tt.want {
			t.Errorf("formatValue(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}
