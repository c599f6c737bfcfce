package channels

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"hazwatch/alerting"
	"hazwatch/alerting/notify"
	"hazwatch/configs"
)

// Webhook headers: the signature (SPEC §6), and the notification's
// idempotency key, the same when a crash makes hazwatch send it again.
const (
	HeaderTimestamp      = "X-Hazwatch-Timestamp"
	HeaderSignature      = "X-Hazwatch-Signature"
	HeaderNotificationID = "X-Hazwatch-Notification-Id"
)

// webhook posts SPEC §6's JSON body, signed when the channel has a secret.
type webhook struct {
	named
	url    string
	secret []byte
	p      *poster
}

func newWebhook(cfg configs.Channel, p *poster) (*webhook, error) {
	if cfg.URL == "" {
		return nil, errors.New("url is required")
	}
	return &webhook{named: named(cfg.Name), url: cfg.URL, secret: []byte(cfg.Secret), p: p}, nil
}

// webhookBody returns the JSON body for m: the alert's object when m holds
// one alert, {"alerts": [...]} when it holds a group; either with
// notification_id when m has an id.
func webhookBody(m *notify.Message) ([]byte, error) {
	alerts := make([]alerting.Body, len(m.Alerts))
	for i := range m.Alerts {
		alerts[i] = m.Alerts[i].Body()
	}
	if len(alerts) == 1 {
		return json.Marshal(struct {
			alerting.Body
			NotificationID string `json:"notification_id,omitempty"`
		}{alerts[0], m.ID})
	}
	return json.Marshal(struct {
		NotificationID string          `json:"notification_id,omitempty"`
		Alerts         []alerting.Body `json:"alerts"`
	}{m.ID, alerts})
}

// Send posts m; 2xx is success.
func (w *webhook) Send(ctx context.Context, m *notify.Message) (bool, error) {
	body, err := webhookBody(m)
	if err != nil {
		return false, fmt.Errorf("encode webhook body: %w", err)
	}
	header := http.Header{}
	if m.ID != "" {
		header.Set(HeaderNotificationID, m.ID)
	}
	if len(w.secret) > 0 {
		ts := strconv.FormatInt(w.p.now().Unix(), 10)
		header.Set(HeaderTimestamp, ts)
		header.Set(HeaderSignature, webhookSignature(w.secret, ts, body))
	}
	return w.p.exchange(ctx, w.url, "application/json", header, body, statusOnly)
}

// webhookSignature returns the X-Hazwatch-Signature value:
// sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>.
func webhookSignature(secret []byte, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(timestamp))
	mac.Write([]byte("."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Errors of VerifyWebhook.
var (
	ErrUnsigned     = errors.New("webhook: no signature or timestamp header")
	ErrBadSignature = errors.New("webhook: signature does not match")
)

// VerifyWebhook checks that body, received in r, was signed with secret by a
// hazwatch webhook channel. It compares in constant time. It does not judge
// the timestamp's age: a receiver that wants to refuse replays compares
// r.Header.Get(HeaderTimestamp) with its own clock and window.
func VerifyWebhook(secret string, r *http.Request, body []byte) error {
	ts, sig := r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature)
	if ts == "" || sig == "" {
		return ErrUnsigned
	}
	if _, err := strconv.ParseInt(ts, 10, 64); err != nil {
		return fmt.Errorf("webhook: timestamp %q is not unix seconds", ts)
	}
	if !hmac.Equal([]byte(sig), []byte(webhookSignature([]byte(secret), ts, body))) {
		return ErrBadSignature
	}
	return nil
}
