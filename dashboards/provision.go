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

// pushTimeout bounds one request to Grafana.
const pushTimeout = 30 * time.Second

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
	c := &Client{URL: cfg.Grafana.URL, Token: cfg.Grafana.Token, HTTP: &http.Client{Timeout: pushTimeout}}
	changes, err := Push(ctx, c, set)
	counts := map[Outcome]int{}
	for _, ch := range changes {
		counts[ch.Outcome]++
		if ch.Outcome != Unchanged {
			log.Info("grafana object provisioned", "object", ch.Object, "uid", ch.UID, "outcome", string(ch.Outcome))
		}
	}
	if err != nil {
		return fmt.Errorf("provision grafana at %s: %w", cfg.Grafana.URL, err)
	}
	log.Info("grafana provisioned", "url", cfg.Grafana.URL, "created", counts[Created],
		"updated", counts[Updated], "unchanged", counts[Unchanged])
	return nil
}
