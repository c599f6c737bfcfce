package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"hazwatch/alerting/notify/channels"
)

// alert is the part of the webhook body (SPEC §6) the receiver shows.
type alert struct {
	Status  string    `json:"status"`
	Level   string    `json:"level"`
	Rule    string    `json:"rule"`
	Site    string    `json:"site"`
	Sensor  string    `json:"sensor"`
	At      time.Time `json:"at"`
	Message string    `json:"message"`
}

// levelColours are ANSI colours per level; orange needs the 256-colour table.
var levelColours = map[string]string{
	"blue": "\x1b[34m", "yellow": "\x1b[33m", "orange": "\x1b[38;5;208m", "red": "\x1b[31m",
}

const (
	colourResolved = "\x1b[32m"
	colourReset    = "\x1b[0m"
)

// receiver verifies hazwatch webhook posts and prints one coloured line per
// alert.
type receiver struct {
	secret string
	log    *slog.Logger
	mu     sync.Mutex // one line at a time, even from concurrent posts
	out    io.Writer
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	if err := channels.VerifyWebhook(rc.secret, r, body); err != nil {
		rc.log.Warn("webhook refused", "err", err, "remote", r.RemoteAddr)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	alerts, err := decodeAlerts(body)
	if err != nil {
		rc.log.Warn("webhook body not understood", "err", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, a := range alerts {
		fmt.Fprintln(rc.out, formatAlert(a))
	}
}

// decodeAlerts reads a webhook body: one alert object, or {"alerts": [...]}
// for a grouped send.
func decodeAlerts(body []byte) ([]alert, error) {
	var group struct {
		Alerts []alert `json:"alerts"`
		alert
	}
	if err := json.Unmarshal(body, &group); err != nil {
		return nil, fmt.Errorf("decode webhook body: %w", err)
	}
	if len(group.Alerts) > 0 {
		return group.Alerts, nil
	}
	if group.Status == "" {
		return nil, errors.New("decode webhook body: no alert in it")
	}
	return []alert{group.alert}, nil
}

// formatAlert renders one alert as a terminal line: time, status and level
// in the level's colour (green once resolved), rule and sensor, message.
func formatAlert(a alert) string {
	colour, ok := levelColours[a.Level]
	if a.Status == "resolved" {
		colour, ok = colourResolved, true
	}
	if !ok {
		colour = colourReset
	}
	return fmt.Sprintf("%s %s%-8s %-6s%s %s %s/%s %s",
		a.At.Local().Format("15:04:05"), colour, a.Status, a.Level, colourReset, a.Rule, a.Site, a.Sensor, a.Message)
}

// runReceive serves the webhook receiver on listen until ctx is done.
func runReceive(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("receive", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:9000", "address to listen on")
	secret := fs.String("secret", "", "the webhook channel's secret")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *listen, err)
	}
	srv := &http.Server{Handler: &receiver{secret: *secret, log: log, out: stdout}, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Info("receiving webhooks", "listen", ln.Addr().String())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve webhooks: %w", err)
	}
	return nil
}
