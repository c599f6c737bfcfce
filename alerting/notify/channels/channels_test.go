package channels

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"hazwatch/alerting/notify"
	"hazwatch/configs"
)

func TestNew_ChoosesByType(t *testing.T) {
	tests := []struct {
		cfg  configs.Channel
		want string // the Go type New returns
	}{
		{configs.Channel{Type: configs.ChannelWebhook, URL: "http://x"}, "*channels.webhook"},
		{configs.Channel{Type: configs.ChannelDingTalk, URL: "http://x"}, "*channels.dingTalk"},
		{configs.Channel{Type: configs.ChannelWeCom, URL: "http://x"}, "*channels.weCom"},
		{configs.Channel{Type: configs.ChannelFeishu, URL: "http://x"}, "*channels.feishu"},
		{configs.Channel{Type: configs.ChannelAliyunSMS, AccessKeyID: "i", AccessKeySecret: "s", SignName: "n", TemplateCode: "t"}, "*channels.aliyunSMS"},
		{configs.Channel{Type: configs.ChannelTencentCloudSMS, SecretID: "i", SecretKey: "k", SDKAppID: "a", SignName: "n", TemplateID: "t"}, "*channels.tencentSMS"},
		{configs.Channel{Type: configs.ChannelAlertmanager, URL: "http://x"}, "*channels.alertmanager"},
	}
	for _, tt := range tests {
		t.Run(tt.cfg.Type, func(t *testing.T) {
			tt.cfg.Name = "duty"
			ch, err := New(tt.cfg, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := typeName(ch.(nonEmpty).Channel); got != tt.want || ch.Name() != "duty" {
				t.Errorf("New gave %s named %q, want %s named duty", got, ch.Name(), tt.want)
			}
		})
	}
}

func TestNew_RefusesIncompleteConfigs(t *testing.T) {
	tests := []struct {
		name    string
		cfg     configs.Channel
		wantErr string
	}{
		{"unknown type", configs.Channel{Type: "pager"}, `unknown type "pager"`},
		{"webhook without url", configs.Channel{Type: configs.ChannelWebhook}, "url is required"},
		{"dingtalk without url", configs.Channel{Type: configs.ChannelDingTalk}, "url is required"},
		{"wecom without url", configs.Channel{Type: configs.ChannelWeCom}, "url is required"},
		{"feishu without url", configs.Channel{Type: configs.ChannelFeishu}, "url is required"},
		{"alertmanager without url", configs.Channel{Type: configs.ChannelAlertmanager}, "url is required"},
		{"aliyun without template", configs.Channel{Type: configs.ChannelAliyunSMS, AccessKeyID: "i", AccessKeySecret: "s", SignName: "n"}, "template_code"},
		{"tencent without app id", configs.Channel{Type: configs.ChannelTencentCloudSMS, SecretID: "i", SecretKey: "k", SignName: "n", TemplateID: "t"}, "sdk_app_id"},
		{"tencent endpoint not absolute", configs.Channel{Type: configs.ChannelTencentCloudSMS, SecretID: "i", SecretKey: "k", SDKAppID: "a", SignName: "n", TemplateID: "t", Endpoint: "sms.local"}, "not an absolute URL"},
		{"robot template does not parse", configs.Channel{Type: configs.ChannelWeCom, URL: "http://x", Template: "{{.Title"}, "parse template"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Name = "duty"
			_, err := New(tt.cfg, Options{})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), `"duty"`) {
				t.Errorf("New = %v, want an error naming the channel and %q", err, tt.wantErr)
			}
		})
	}
}

func TestSend_RefusesEmptyMessages(t *testing.T) {
	srv, got := receiver(t, http.StatusOK, "")
	ch := newTestChannel(t, configs.Channel{Type: configs.ChannelWebhook, URL: srv.URL}, srv)
	for _, m := range []*notify.Message{nil, {}, {Recipients: []string{"13800000002"}}} {
		if retry, err := ch.Send(context.Background(), m); !errors.Is(err, ErrEmptyMessage) || retry {
			t.Errorf("Send(%+v) = (retry %v, %v), want ErrEmptyMessage without retry", m, retry, err)
		}
	}
	if len(got) != 0 {
		t.Error("an empty message reached the server")
	}
}

func typeName(v any) string { return fmt.Sprintf("%T", v) }
