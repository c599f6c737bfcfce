package channels

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"hazwatch/alerting"
	"hazwatch/alerting/notify"
	"hazwatch/configs"
)

// Webhook signature headers (SPEC §6).
const (
	HeaderTimestamp = "X-Hazwatch-Timestamp"
	HeaderSignature = "X-Hazwatch-Signature"
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

// webhookAlert is one alert in the webhook body, exactly SPEC §6's fields.
type webhookAlert struct {
	ID         string    `json:"id"`
	Status     string    `json:"status"`
	Level      string    `json:"level"`
	Rule       string    `json:"rule"`
	Type       string    `json:"type"`
	Site       string    `json:"site"`
	SiteName   string    `json:"site_name"`
	Kind       string    `json:"kind"`
	Sensor     string    `json:"sensor"`
	SensorName string    `json:"sensor_name"`
	Value      float64   `json:"value"`
	Threshold  float64   `json:"threshold"`
	Unit       string    `json:"unit"`
	StartedAt  time.Time `json:"started_at"`
	At         time.Time `json:"at"`
	// ETASeconds is null unless a predict rule gave a time left.
	ETASeconds *int64 `json:"eta_seconds"`
	Message    string `json:"message"`
}

func newWebhookAlert(e *alerting.Event) webhookAlert {
	a := webhookAlert{
		ID: e.ID, Status: e.Status, Level: e.Level.String(), Rule: e.Rule, Type: e.Type,
		Site: e.Site, SiteName: e.SiteName, Kind: e.Kind, Sensor: e.Sensor, SensorName: e.SensorName,
		Value: e.Value, Threshold: e.Threshold, Unit: e.Unit,
		StartedAt: e.StartedAt.UTC(), At: e.At.UTC(), Message: e.Message,
	}
	if e.HasETA {
		s := int64(math.Round(e.ETA.Seconds()))
		a.ETASeconds = &s
	}
	return a
}

// webhookBody returns the JSON body for m: the alert's object when m holds
// one alert, {"alerts": [...]} when it holds a group.
func webhookBody(m *notify.Message) ([]byte, error) {
	alerts := make([]webhookAlert, len(m.Alerts))
	for i := range m.Alerts {
		alerts[i] = newWebhookAlert(&m.Alerts[i])
	}
	if len(alerts) == 1 {
		return json.Marshal(alerts[0])
	}
	return json.Marshal(struct {
		Alerts []webhookAlert `json:"alerts"`
	}{alerts})
}

// Send posts m; 2xx is success.
func (w *webhook) Send(ctx context.Context, m *notify.Message) (bool, error) {
	body, err := webhookBody(m)
	if err != nil {
		return false, fmt.Errorf("encode webhook body: %w", err)
	}
	header := http.Header{}
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
