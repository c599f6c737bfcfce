package channels

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"hazwatch/alerting"
	"hazwatch/alerting/notify"
	"hazwatch/configs"
)

func TestRetryStatus(t *testing.T) {
	tests := []struct {
		status int
		retry  bool
	}{
		{400, false}, {401, false}, {403, false}, {404, false}, {413, false},
		{408, true}, {429, true}, {500, true}, {502, true}, {503, true}, {504, true},
	}
	for _, tt := range tests {
		if got := retryStatus(tt.status); got != tt.retry {
			t.Errorf("retryStatus(%d) = %v, want %v", tt.status, got, tt.retry)
		}
	}
}

// TestSend_RetryClassification runs every HTTP channel against the same
// failures: only failures that a later try can pass ask for a retry.
func TestSend_RetryClassification(t *testing.T) {
	channels := []configs.Channel{
		{Type: configs.ChannelWebhook},
		{Type: configs.ChannelAlertmanager},
		{Type: configs.ChannelDingTalk},
		{Type: configs.ChannelWeCom},
		{Type: configs.ChannelFeishu},
		{Type: configs.ChannelAliyunSMS, AccessKeyID: "id", AccessKeySecret: "s", SignName: "n", TemplateCode: "SMS_1", Phones: []string{"13800000002"}},
		{Type: configs.ChannelTencentCloudSMS, SecretID: "id", SecretKey: "k", SDKAppID: "1", SignName: "n", TemplateID: "1", Phones: []string{"13800000002"}},
	}
	failures := []struct {
		name   string
		status int
		retry  bool
	}{
		{"429 throttled", http.StatusTooManyRequests, true},
		{"500", http.StatusInternalServerError, true},
		{"503", http.StatusServiceUnavailable, true},
		{"400 rejected", http.StatusBadRequest, false},
		{"401 unauthorised", http.StatusUnauthorized, false},
		{"404 wrong URL", http.StatusNotFound, false},
	}
	for _, cfg := range channels {
		for _, f := range failures {
			t.Run(cfg.Type+"/"+f.name, func(t *testing.T) {
				srv, _ := receiver(t, f.status, "")
				cfg.URL, cfg.Endpoint = srv.URL, srv.URL
				retry, err := newTestChannel(t, cfg, srv).Send(context.Background(), &notify.Message{Alerts: []alerting.Event{gasAlert()}})
				if err == nil || retry != f.retry {
					t.Errorf("Send = (retry %v, %v), want an error with retry %v", retry, err, f.retry)
				}
			})
		}
	}
}

func TestSend_UnreachableIsRetried(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/hook?access_token=secret-token"
	srv.Close() // nothing listens there any more
	ch := newTestChannel(t, configs.Channel{Type: configs.ChannelDingTalk, URL: url}, srv)
	retry, err := ch.Send(context.Background(), &notify.Message{Alerts: []alerting.Event{gasAlert()}})
	if err == nil || !retry {
		t.Fatalf("Send to a closed port = (retry %v, %v), want a retryable error", retry, err)
	}
	if strings.Contains(err.Error(), "secret-token") {
		t.Errorf("error shows the robot's token: %v", err)
	}
}

func TestSend_HangingServerTimesOutAndIsRetried(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	ch := newTestChannel(t, configs.Channel{Type: configs.ChannelWebhook, URL: srv.URL, Timeout: configs.Duration(20 * time.Millisecond)}, srv)
	retry, err := ch.Send(context.Background(), &notify.Message{Alerts: []alerting.Event{gasAlert()}})
	if err == nil || !retry {
		t.Fatalf("Send to a hanging server = (retry %v, %v), want a retryable timeout", retry, err)
	}
}

func TestSend_BadURLIsPermanent(t *testing.T) {
	ch, err := New(configs.Channel{Name: "w", Type: configs.ChannelWebhook, URL: "http://[::1"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	retry, err := ch.Send(context.Background(), &notify.Message{Alerts: []alerting.Event{gasAlert()}})
	if err == nil || retry {
		t.Errorf("Send to an unparsable URL = (retry %v, %v), want a permanent error", retry, err)
	}
	ch, err = New(configs.Channel{Name: "w", Type: configs.ChannelWebhook, URL: "http://[::1/hook?access_token=t0ken"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.Send(context.Background(), &notify.Message{Alerts: []alerting.Event{gasAlert()}}); err == nil || strings.Contains(err.Error(), "t0ken") {
		t.Errorf("Send to an unparsable URL = %v, want an error without the token", err)
	}
}

// TestSend_RedirectIsAFailedSend is issue 10 item 13: a channel answering
// 3xx has not taken the message. The client followed the redirect, turning
// the POST into a GET that the next URL answered 200, and it counted as sent.
func TestSend_RedirectIsAFailedSend(t *testing.T) {
	var followed atomic.Bool
	moved := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		followed.Store(true)
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(moved.Close)
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		for _, typ := range []string{configs.ChannelWebhook, configs.ChannelAlertmanager, configs.ChannelDingTalk} {
			t.Run(fmt.Sprintf("%s/%d", typ, status), func(t *testing.T) {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					http.Redirect(w, r, moved.URL, status)
				}))
				t.Cleanup(srv.Close)
				ch := newTestChannel(t, configs.Channel{Type: typ, URL: srv.URL}, srv)
				retry, err := ch.Send(context.Background(), &notify.Message{Alerts: []alerting.Event{gasAlert()}})
				if err == nil || retry {
					t.Errorf("Send = (retry %v, %v), want a permanent error", retry, err)
				}
				if followed.Load() {
					t.Error("the redirect was followed")
				}
			})
		}
	}
}
