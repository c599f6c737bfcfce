package channels

import (
	"testing"

	"hazwatch/alerting"
	"hazwatch/alerting/notify"
)

// storm40 is one flooded district's storm: 40 gauges in one message.
func storm40() *notify.Message {
	m := &notify.Message{}
	for range 40 {
		m.Alerts = append(m.Alerts, gasAlert())
	}
	return m
}

func BenchmarkRender_Storm40Markdown(b *testing.B) {
	r, err := newRenderer("", markdownTemplate, weComMaxBytes)
	if err != nil {
		b.Fatal(err)
	}
	m := storm40()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.render(newView(m)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWebhookBody_Single(b *testing.B) {
	m := &notify.Message{Alerts: []alerting.Event{gasAlert()}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := webhookBody(m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTC3Authorization(b *testing.B) {
	payload := []byte(`{"PhoneNumberSet":["+8613800000002"],"SmsSdkAppId":"1400006666"}`)
	b.ReportAllocs()
	for b.Loop() {
		tc3Authorization("AKIDtest", "skey", "sms", "sms.tencentcloudapi.com", tencentContentType, payload, now)
	}
}
