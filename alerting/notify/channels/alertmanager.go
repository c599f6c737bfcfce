package channels

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	"hazwatch/alerting"
	"hazwatch/alerting/notify"
	"hazwatch/configs"
)

// alertmanagerHold is how long a firing alert stays firing in Alertmanager
// without word from hazwatch. hazwatch posts on transitions and repeats, not
// on every evaluation as Prometheus does, so Alertmanager's resolve_timeout
// (5m by default) would resolve long alerts that are still firing. A resolve
// from hazwatch ends the alert at once; the hold only bounds how long an
// alert outlives a hazwatch that died.
const alertmanagerHold = 24 * time.Hour

// alertmanager posts alerts to Alertmanager's API v2 so that an Alertmanager
// cluster de-duplicates what two hazwatch replicas send.
type alertmanager struct {
	named
	url         string
	externalURL string
	p           *poster
}

func newAlertmanager(cfg configs.Channel, p *poster, externalURL string) (*alertmanager, error) {
	if cfg.URL == "" {
		return nil, errors.New("url is required (Alertmanager's base URL)")
	}
	return &alertmanager{
		named: named(cfg.Name), url: strings.TrimSuffix(cfg.URL, "/") + "/api/v2/alerts",
		externalURL: strings.TrimSuffix(externalURL, "/"), p: p,
	}, nil
}

// postableAlert is one alert of POST /api/v2/alerts.
type postableAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

var severities = [...]string{"none", "info", "warning", "major", "critical"}

// labels returns the alert's identity at level l. Everything in it comes from
// the rule, the series and the level, never from the replica or the time, so
// two replicas produce identical label sets and Alertmanager keeps one alert.
func labels(e *alerting.Event, l configs.Level) map[string]string {
	return map[string]string{
		"alertname":   e.Rule,
		"alert_id":    e.ID,
		"level":       l.String(),
		"severity":    severities[min(int(l), len(severities)-1)],
		"site":        e.Site,
		"kind":        e.Kind,
		"sensor":      e.Sensor,
		"rule_type":   e.Type,
		"source":      "hazwatch",
		"measurement": e.Measurement,
	}
}

// postable returns what Alertmanager should know after e. Because the level
// is a label, a change of level is a new Alertmanager alert, so the alert at
// the previous level is resolved in the same post.
func (a *alertmanager) postable(e *alerting.Event, now time.Time) []postableAlert {
	ann := map[string]string{
		"summary":     e.Message,
		"site_name":   e.SiteName,
		"sensor_name": e.SensorName,
		"value":       formatValue(e.Value) + e.Unit,
		"threshold":   formatValue(e.Threshold) + e.Unit,
	}
	cur := postableAlert{Labels: labels(e, e.Level), Annotations: ann, StartsAt: e.StartedAt.UTC(), GeneratorURL: a.generatorURL(e)}
	if e.Status == alerting.StatusResolved {
		cur.EndsAt = e.At.UTC()
		return []postableAlert{cur}
	}
	cur.EndsAt = now.Add(alertmanagerHold).UTC()
	out := []postableAlert{cur}
	if e.Previous != configs.LevelNone && e.Previous != e.Level {
		prev := cur
		prev.Labels = labels(e, e.Previous)
		prev.EndsAt = e.At.UTC()
		out = append(out, prev)
	}
	return out
}

// generatorURL links to the alert's site in hazwatch's API, or is empty when
// the daemon's external URL is unknown.
func (a *alertmanager) generatorURL(e *alerting.Event) string {
	if a.externalURL == "" {
		return ""
	}
	return a.externalURL + "/api/v1/alerts?" + url.Values{"site": {e.Site}}.Encode()
}

// Send posts m's alerts; 2xx is success, 5xx and timeouts can be retried.
func (a *alertmanager) Send(ctx context.Context, m *notify.Message) (bool, error) {
	now := a.p.now()
	var alerts []postableAlert
	for i := range m.Alerts {
		alerts = append(alerts, a.postable(&m.Alerts[i], now)...)
	}
	return a.p.postJSON(ctx, a.url, alerts, statusOnly)
}
