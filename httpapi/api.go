// Package httpapi serves hazwatch's HTTP interface: Prometheus metrics,
// health and readiness, the active alerts, acknowledgements and silences.
package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"hazwatch/alerting"
	"hazwatch/alerting/notify"
)

// Alerts lists the alerts firing now (the alert engine).
type Alerts interface {
	Active() []alerting.Event
}

// Notifier keeps the acknowledgements and silences (the notification
// dispatcher, *notify.Dispatcher).
type Notifier interface {
	Ack(id, operator, comment string) error
	AckOf(id string) (notify.Ack, bool)
	Silenced(ev alerting.Event) bool
	AddSilence(s notify.Silence) (string, error)
	Silences() []notify.Silence
	DeleteSilence(id string) error
}

// Options are the API's collaborators.
type Options struct {
	// Gatherer serves /metrics; nil is prometheus.DefaultGatherer.
	Gatherer prometheus.Gatherer
	// Ready reports why the daemon is not ready (nil: ready); nil is always ready.
	Ready  func() error
	Alerts Alerts
	// Dispatcher keeps the acknowledgements and silences.
	Dispatcher Notifier
	// Token is the bearer token of the write endpoints. Without one they
	// refuse every request (403): an API that anyone on the network could
	// use to silence alerts is worse than none.
	Token string
	// Clock is the time for silences without a start; nil is time.Now.
	Clock  func() time.Time
	Logger *slog.Logger
}

// api is the state of the handlers.
type api struct {
	Options
	refusals *logLimit // of unauthorized writes
}

// New returns the handler of the HTTP interface.
func New(opts Options) http.Handler {
	if opts.Gatherer == nil {
		opts.Gatherer = prometheus.DefaultGatherer
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	a := &api{Options: opts, refusals: &logLimit{every: refusalLogEvery}}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { writeText(w, http.StatusOK, "ok") })
	mux.HandleFunc("GET /readyz", a.ready)
	mux.HandleFunc("GET /api/v1/alerts", a.listAlerts)
	mux.HandleFunc("POST /api/v1/alerts/{id}/ack", a.write(a.ack))
	mux.HandleFunc("GET /api/v1/silences", a.listSilences)
	mux.HandleFunc("POST /api/v1/silences", a.write(a.addSilence))
	mux.HandleFunc("DELETE /api/v1/silences/{id}", a.write(a.deleteSilence))
	return mux
}

func (a *api) ready(w http.ResponseWriter, _ *http.Request) {
	if a.Ready != nil {
		if err := a.Ready(); err != nil {
			writeText(w, http.StatusServiceUnavailable, err.Error())
			return
		}
	}
	writeText(w, http.StatusOK, "ok")
}

func writeText(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(text + "\n"))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// errorBody is the JSON of every error response.
type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{msg})
}

// decodeBody decodes a request's JSON body into v, refusing unknown fields
// so that a misspelt key is not silently ignored.
func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errors.New("bad JSON body: " + err.Error())
	}
	return nil
}
