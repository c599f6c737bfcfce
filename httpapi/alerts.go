package httpapi

import (
	"cmp"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"hazwatch/alerting"
	"hazwatch/alerting/notify"
	"hazwatch/configs"
)

// alertJSON is an active alert: the webhook body's fields (SPEC §6) and its
// acknowledgement and silence.
type alertJSON struct {
	alerting.Body

	Acked      bool   `json:"acked"`
	AckedBy    string `json:"acked_by,omitempty"`
	AckComment string `json:"ack_comment,omitempty"`
	Silenced   bool   `json:"silenced"`
}

// alertsBody is the answer of GET /api/v1/alerts, shaped like a grouped webhook body.
type alertsBody struct {
	Alerts []alertJSON `json:"alerts"`
}

func (a *api) toJSON(ev alerting.Event) alertJSON {
	out := alertJSON{Body: ev.Body()}
	if a.Dispatcher != nil {
		if ack, ok := a.Dispatcher.AckOf(ev.ID); ok {
			out.Acked, out.AckedBy, out.AckComment = true, ack.Operator, ack.Comment
		}
		out.Silenced = a.Dispatcher.Silenced(ev)
	}
	return out
}

// filterKeys are the query parameters that filter the alerts; each takes
// one or more values, repeated or comma-separated.
var filterKeys = []string{"level", "site", "kind", "rule"}

func (a *api) listAlerts(w http.ResponseWriter, r *http.Request) {
	filters := map[string][]string{}
	for _, key := range filterKeys {
		for _, v := range r.URL.Query()[key] {
			filters[key] = append(filters[key], strings.Split(v, ",")...)
		}
	}
	for _, l := range filters["level"] {
		if _, ok := configs.ParseLevel(l); !ok {
			writeError(w, http.StatusBadRequest, "unknown level "+l+" (blue, yellow, orange, red)")
			return
		}
	}
	var events []alerting.Event
	if a.Alerts != nil {
		for _, ev := range a.Alerts.Active() {
			fields := map[string]string{"level": ev.Level.String(), "site": ev.Site, "kind": ev.Kind, "rule": ev.Rule}
			if matchesAll(filters, fields) {
				events = append(events, ev)
			}
		}
	}
	// Most severe first, then oldest first: the order of a duty screen.
	slices.SortStableFunc(events, func(x, y alerting.Event) int {
		return cmp.Or(cmp.Compare(y.Level, x.Level), x.StartedAt.Compare(y.StartedAt), cmp.Compare(x.ID, y.ID))
	})
	body := alertsBody{Alerts: make([]alertJSON, 0, len(events))}
	for _, ev := range events {
		body.Alerts = append(body.Alerts, a.toJSON(ev))
	}
	writeJSON(w, http.StatusOK, body)
}

func matchesAll(filters map[string][]string, fields map[string]string) bool {
	for key, values := range filters {
		if !slices.Contains(values, fields[key]) {
			return false
		}
	}
	return true
}

// ackRequest is the body of POST /api/v1/alerts/{id}/ack.
type ackRequest struct {
	Operator string `json:"operator"`
	Comment  string `json:"comment"`
}

func (a *api) ack(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var req ackRequest
	if err := decodeBody(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if strings.TrimSpace(req.Operator) == "" {
		writeError(w, http.StatusBadRequest, "operator is required")
		return
	}
	ev, ok := a.active(id)
	if !ok || a.Dispatcher == nil {
		writeError(w, http.StatusNotFound, "no active alert "+id)
		return
	}
	if err := a.Dispatcher.Ack(id, req.Operator, req.Comment); err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, notify.ErrNoOperator) {
			status = http.StatusBadRequest
		}
		writeError(w, status, err.Error())
		return
	}
	a.Logger.Info("alert acknowledged", slog.String("alert", id), slog.String("site", ev.Site),
		slog.String("sensor", ev.Sensor), slog.String("rule", ev.Rule), slog.String("operator", req.Operator))
	writeJSON(w, http.StatusOK, a.toJSON(ev))
}

func (a *api) active(id string) (alerting.Event, bool) {
	if a.Alerts == nil {
		return alerting.Event{}, false
	}
	for _, ev := range a.Alerts.Active() {
		if ev.ID == id {
			return ev, true
		}
	}
	return alerting.Event{}, false
}
