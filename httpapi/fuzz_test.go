package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzWriteBodies sends arbitrary bodies to the endpoints that parse JSON:
// the answer is a 2xx or a 4xx, never a panic or a 5xx.
func FuzzWriteBodies(f *testing.F) {
	seeds := []string{
		`{"operator":"张工","comment":"已派人检查"}`,
		`{"match":{"site":"underpass-07","kind":["water_level"]},"from":"2026-12-01T00:00:00+08:00","to":"2026-12-01T06:00:00+08:00"}`,
		`{"match":{"site":[1]}}`, `{"to":"x"}`, `[]`, `null`, `{"match":null,"to":"2026-12-01T06:00:00Z"}`,
	}
	for _, s := range seeds {
		f.Add(s)
	}
	srv, _ := newServer(f, token)
	f.Fuzz(func(t *testing.T, body string) {
		for _, path := range []string{"/api/v1/alerts/gas-1/ack", "/api/v1/silences"} {
			req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+token)
			rec := httptest.NewRecorder()
			srv.Config.Handler.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Errorf("%s %q: %d %s", path, body, rec.Code, rec.Body)
			}
		}
	})
}
