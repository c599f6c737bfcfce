package httpapi

import (
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// write guards a write endpoint with the bearer token: without a configured
// token 403, without the right one 401; either way the handler is not run,
// so nothing changes.
func (a *api) write(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if a.Token == "" {
			writeError(w, http.StatusForbidden, "write endpoints are disabled: no http.token is configured")
			return
		}
		// The scheme is case-insensitive (RFC 9110 §11.1): "bearer" is Bearer too.
		scheme, got, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
		if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(a.Token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="hazwatch"`)
			writeError(w, http.StatusUnauthorized, "a valid bearer token is required")
			if n, ok := a.refusals.allow(time.Now()); ok {
				a.Logger.Warn("unauthorized API write", slog.String("method", r.Method),
					slog.String("path", r.URL.Path), slog.String("remote", r.RemoteAddr),
					slog.Int("refused", n))
			}
			return
		}
		h(w, r)
	}
}

// refusalLogEvery is how often, at most, a refused write is logged: someone
// trying tokens must not flood the log.
const refusalLogEvery = 10 * time.Second

// logLimit lets one log line through per interval and counts the events
// since the last one.
type logLimit struct {
	every time.Duration
	mu    sync.Mutex
	last  time.Time
	count int
}

// allow records an event at now and reports whether to log it, with the
// number of events the line stands for.
func (l *logLimit) allow(now time.Time) (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.count++
	if !l.last.IsZero() && now.Sub(l.last) < l.every {
		return 0, false
	}
	n := l.count
	l.last, l.count = now, 0
	return n, true
}
