package dashboards

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"hazwatch/configs"
)

// requestTimeout bounds one request to Grafana.
const requestTimeout = 30 * time.Second

// NewClient returns a client for Grafana at url with a service-account
// token, each request bounded in time.
func NewClient(url, token string) *Client {
	return &Client{URL: url, Token: token, HTTP: &http.Client{Timeout: requestTimeout}}
}

// Provision builds the dashboards of cfg and pushes them to grafana.url, for
// the daemon's grafana.provision_on_start. It logs what changed and returns
// the first error.
func Provision(ctx context.Context, cfg *configs.Config, log *slog.Logger) error {
	if cfg.Grafana.URL == "" {
		return errors.New("grafana.url is not set")
	}
	set, err := Build(cfg)
	if err != nil {
		return err
	}
	changes, err := Push(ctx, NewClient(cfg.Grafana.URL, cfg.Grafana.Token), set)
	for _, ch := range changes {
		if ch.Outcome != Unchanged {
			log.Info("grafana object provisioned", "object", ch.Object, "uid", ch.UID, "outcome", string(ch.Outcome))
		}
	}
	if err != nil {
		return fmt.Errorf("provision grafana at %s: %w", configs.RedactURL(cfg.Grafana.URL), err)
	}
	counts := Tally(changes)
	log.Info("grafana provisioned", "url", configs.RedactURL(cfg.Grafana.URL), "created", counts[Created],
		"updated", counts[Updated], "unchanged", counts[Unchanged])
	return nil
}
