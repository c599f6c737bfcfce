package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"hazwatch/alerting/notify"
	"hazwatch/configs"
)

// silenceRequest is the body of POST /api/v1/silences. A match value is a
// pattern or a list of them, as in the config file; from defaults to now.
type silenceRequest struct {
	Match     map[string]patterns `json:"match"`
	From      time.Time           `json:"from"`
	To        time.Time           `json:"to"`
	Comment   string              `json:"comment"`
	CreatedBy string              `json:"created_by"`
}

// patterns decodes a JSON string or array of strings.
type patterns []string

func (p *patterns) UnmarshalJSON(data []byte) error {
	var one string
	if err := json.Unmarshal(data, &one); err == nil {
		*p = patterns{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(data, &many); err != nil {
		return errors.New("a match value is a string or a list of strings")
	}
	*p = many
	return nil
}

// silenceCreated is the answer of POST /api/v1/silences.
type silenceCreated struct {
	ID string `json:"id"`
}

// silencesBody is the answer of GET /api/v1/silences.
type silencesBody struct {
	Silences []notify.Silence `json:"silences"`
}

func (a *api) listSilences(w http.ResponseWriter, _ *http.Request) {
	body := silencesBody{Silences: []notify.Silence{}}
	if a.Dispatcher != nil {
		body.Silences = append(body.Silences, a.Dispatcher.Silences()...)
	}
	writeJSON(w, http.StatusOK, body)
}

func (a *api) addSilence(w http.ResponseWriter, r *http.Request) {
	var req silenceRequest
	if err := decodeBody(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if a.Dispatcher == nil {
		writeError(w, http.StatusServiceUnavailable, "notifications are not running")
		return
	}
	s := notify.Silence{Match: configs.Matcher{}, From: req.From, To: req.To, Comment: req.Comment, CreatedBy: req.CreatedBy}
	for k, v := range req.Match {
		s.Match[k] = v
	}
	if s.From.IsZero() {
		s.From = a.Clock()
	}
	id, err := a.Dispatcher.AddSilence(s)
	switch {
	case errors.Is(err, notify.ErrBadSilence):
		writeError(w, http.StatusBadRequest, err.Error())
		return
	case err != nil:
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	a.Logger.Info("silence added", slog.String("silence", id), slog.String("created_by", req.CreatedBy),
		slog.String("match", fmt.Sprint(s.Match)), slog.Time("to", s.To))
	writeJSON(w, http.StatusCreated, silenceCreated{id})
}

func (a *api) deleteSilence(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if a.Dispatcher == nil {
		writeError(w, http.StatusNotFound, "no silence "+id)
		return
	}
	err := a.Dispatcher.DeleteSilence(id)
	switch {
	case errors.Is(err, notify.ErrUnknownSilence):
		writeError(w, http.StatusNotFound, "no silence "+id)
	case errors.Is(err, notify.ErrConfigSilence):
		writeError(w, http.StatusConflict, err.Error())
	case err != nil:
		writeError(w, http.StatusInternalServerError, err.Error())
	default:
		a.Logger.Info("silence deleted", slog.String("silence", id))
		w.WriteHeader(http.StatusNoContent)
	}
}
