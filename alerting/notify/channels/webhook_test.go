package channels

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"hazwatch/alerting"
	"hazwatch/alerting/notify"
	"hazwatch/configs"
)

func TestWebhook_SendsSpecBodySigned(t *testing.T) {
	predicted := gasAlert()
	predicted.Type, predicted.HasETA, predicted.ETA = configs.TypePredict, true, 12*time.Minute+30*time.Second
	tests := []struct {
		name   string
		msg    *notify.Message
		golden string
	}{
		{"one alert is the object", &notify.Message{Alerts: []alerting.Event{gasAlert()}}, "webhook_single.json"},
		{"predict alert has eta_seconds", &notify.Message{Alerts: []alerting.Event{predicted}}, "webhook_predict.json"},
		{"a group is {alerts: [...]}", stormMessage(), "webhook_group.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := receiver(t, http.StatusNoContent, "")
			ch := newTestChannel(t, configs.Channel{Type: configs.ChannelWebhook, URL: srv.URL + "/hazwatch", Secret: "s3cret"}, srv)
			if retry, err := ch.Send(context.Background(), tt.msg); err != nil {
				t.Fatalf("Send: retry=%v err=%v", retry, err)
			}
			r := received(t, got)
			if r.Method != http.MethodPost || r.URL.Path != "/hazwatch" || r.Header.Get("Content-Type") != "application/json" {
				t.Errorf("request %s %s %q, want POST /hazwatch application/json", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
			}
			if ts := r.Header.Get("X-Hazwatch-Timestamp"); ts != "1795860007" {
				t.Errorf("timestamp %q, want the clock's unix seconds 1795860007", ts)
			}
			mac := hmac.New(sha256.New, []byte("s3cret"))
			mac.Write([]byte("1795860007." + string(r.body)))
			if want := "sha256=" + hex.EncodeToString(mac.Sum(nil)); r.Header.Get("X-Hazwatch-Signature") != want {
				t.Errorf("signature %q, want %q", r.Header.Get("X-Hazwatch-Signature"), want)
			}
			if err := VerifyWebhook("s3cret", r.Request, r.body); err != nil {
				t.Errorf("VerifyWebhook of what was sent: %v", err)
			}
			golden(t, tt.golden, r.body)
		})
	}
}

func TestWebhook_CarriesTheNotificationID(t *testing.T) {
	for _, m := range []*notify.Message{{Alerts: []alerting.Event{gasAlert()}}, stormMessage()} {
		m.ID = "5f3a9c01-42"
		srv, got := receiver(t, http.StatusOK, "")
		ch := newTestChannel(t, configs.Channel{Type: configs.ChannelWebhook, URL: srv.URL}, srv)
		if _, err := ch.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		r := received(t, got)
		if id := r.Header.Get(HeaderNotificationID); id != m.ID {
			t.Errorf("header %s %q, want %q", HeaderNotificationID, id, m.ID)
		}
		var body struct {
			NotificationID string `json:"notification_id"`
		}
		if err := json.Unmarshal(r.body, &body); err != nil || body.NotificationID != m.ID {
			t.Errorf("body notification_id %q (%v), want %q", body.NotificationID, err, m.ID)
		}
	}
}

func TestWebhook_NoSecretNoSignature(t *testing.T) {
	srv, got := receiver(t, http.StatusOK, "")
	ch := newTestChannel(t, configs.Channel{Type: configs.ChannelWebhook, URL: srv.URL}, srv)
	if _, err := ch.Send(context.Background(), &notify.Message{Alerts: []alerting.Event{gasAlert()}}); err != nil {
		t.Fatal(err)
	}
	r := received(t, got)
	for _, h := range []string{"X-Hazwatch-Timestamp", "X-Hazwatch-Signature"} {
		if v := r.Header.Get(h); v != "" {
			t.Errorf("%s = %q without a secret, want none", h, v)
		}
	}
}

func TestVerifyWebhook(t *testing.T) {
	body := []byte(`{"id":"x"}`)
	sign := func(secret, ts string) string {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(ts + "." + string(body)))
		return "sha256=" + hex.EncodeToString(mac.Sum(nil))
	}
	tests := []struct {
		name    string
		ts, sig string
		body    []byte
		wantErr error
	}{
		{"valid", "1795860007", sign("k", "1795860007"), body, nil},
		{"no headers", "", "", body, ErrUnsigned},
		{"no timestamp", "", sign("k", "1795860007"), body, ErrUnsigned},
		{"wrong secret", "1795860007", sign("other", "1795860007"), body, ErrBadSignature},
		{"timestamp changed", "1795860008", sign("k", "1795860007"), body, ErrBadSignature},
		{"body changed", "1795860007", sign("k", "1795860007"), []byte(`{"id":"y"}`), ErrBadSignature},
		{"signature without prefix", "1795860007", strings.TrimPrefix(sign("k", "1795860007"), "sha256="), body, ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", nil)
			if tt.ts != "" {
				r.Header.Set(HeaderTimestamp, tt.ts)
			}
			if tt.sig != "" {
				r.Header.Set(HeaderSignature, tt.sig)
			}
			if err := VerifyWebhook("k", r, tt.body); !errors.Is(err, tt.wantErr) {
				t.Errorf("VerifyWebhook = %v, want %v", err, tt.wantErr)
			}
		})
	}
	t.Run("timestamp not a number", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.Header.Set(HeaderTimestamp, "yesterday")
		r.Header.Set(HeaderSignature, sign("k", "yesterday"))
		if err := VerifyWebhook("k", r, body); err == nil {
			t.Error("VerifyWebhook accepted a timestamp that is not unix seconds")
		}
	})
}

// FuzzVerifyWebhook checks that any header values are refused or accepted
// without a panic, and that what webhookSignature signs always verifies.
func FuzzVerifyWebhook(f *testing.F) {
	f.Add("k", "1795860007", "sha256=00", []byte(`{}`))
	f.Add("", "", "", []byte(nil))
	f.Fuzz(func(t *testing.T, secret, ts, sig string, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.Header.Set(HeaderTimestamp, ts)
		r.Header.Set(HeaderSignature, sig)
		_ = VerifyWebhook(secret, r, body)
		r.Header.Set(HeaderTimestamp, "1795860007")
		r.Header.Set(HeaderSignature, webhookSignature([]byte(secret), "1795860007", body))
		if err := VerifyWebhook(secret, r, body); err != nil {
			t.Errorf("VerifyWebhook refused its own signature: %v", err)
		}
	})
}
