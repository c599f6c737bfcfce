package httpapi

import (
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"
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
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(a.Token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="hazwatch"`)
			writeError(w, http.StatusUnauthorized, "a valid bearer token is required")
			a.Logger.Warn("unauthorized API write", slog.String("method", r.Method),
				slog.String("path", r.URL.Path), slog.String("remote", r.RemoteAddr))
			return
		}
		h(w, r)
	}
}
