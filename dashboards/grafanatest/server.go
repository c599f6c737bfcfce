// Package grafanatest is a fake Grafana for tests: it serves exactly the
// HTTP API calls hazwatch's dashboards package makes, checks their
// authorization and payloads the way Grafana's documented API takes them,
// keeps what was saved and records every request.
package grafanatest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
)

// Request is one request the server received.
type Request struct {
	Method, Path string
	// Body is the decoded JSON body, nil for none.
	Body map[string]any
}

// Server is a fake Grafana on a local port.
type Server struct {
	*httptest.Server
	// Token is the service-account token the server accepts.
	Token string

	mu          sync.Mutex
	requests    []Request
	datasources map[string]map[string]any
	folders     map[string]map[string]any
	dashboards  map[string]savedDashboard
	failures    map[string]int
	nextID      int
}

type savedDashboard struct {
	model     map[string]any
	folderUID string
}

// New starts a fake Grafana accepting token; it stops at the test's end.
func New(t interface{ Cleanup(func()) }, token string) *Server {
	s := &Server{Token: token, datasources: map[string]map[string]any{}, folders: map[string]map[string]any{},
		dashboards: map[string]savedDashboard{}, failures: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// FailWith makes every later request with method to exactly path answer
// status, as a Grafana that refuses it would.
func (s *Server) FailWith(method, path string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[method+" "+path] = status
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Writes returns the requests so far that were not GETs.
func (s *Server) Writes() []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Method != http.MethodGet {
			out = append(out, r)
		}
	}
	return out
}

// Dashboard returns the saved model of dashboard uid and its folder's UID.
func (s *Server) Dashboard(uid string) (map[string]any, string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.dashboards[uid]
	return d.model, d.folderUID, ok
}

// Datasource returns the saved datasource uid, secureJsonData included.
func (s *Server) Datasource(uid string) (map[string]any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.datasources[uid]
	return d, ok
}

// Folder returns the saved folder uid.
func (s *Server) Folder(uid string) (map[string]any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.folders[uid]
	return f, ok
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	req := Request{Method: r.Method, Path: r.URL.Path}
	if r.Body != nil && r.ContentLength != 0 {
		if r.Header.Get("Content-Type") != "application/json" {
			reply(w, http.StatusUnsupportedMediaType, "want Content-Type application/json")
			return
		}
		if err := json.NewDecoder(r.Body).Decode(&req.Body); err != nil {
			reply(w, http.StatusBadRequest, "bad JSON: "+err.Error())
			return
		}
	}
	s.requests = append(s.requests, req)
	if r.Header.Get("Authorization") != "Bearer "+s.Token {
		reply(w, http.StatusUnauthorized, "Unauthorized")
		return
	}
	if status, ok := s.failures[r.Method+" "+r.URL.Path]; ok {
		reply(w, status, http.StatusText(status))
		return
	}
	path := r.URL.Path
	switch {
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/api/datasources/uid/"):
		ds, ok := s.datasources[strings.TrimPrefix(path, "/api/datasources/uid/")]
		if !ok {
			reply(w, http.StatusNotFound, "Data source not found")
			return
		}
		out := map[string]any{}
		fields := map[string]bool{}
		for k, v := range ds {
			out[k] = v
		}
		if sec, ok := ds["secureJsonData"].(map[string]any); ok {
			for k := range sec {
				fields[k] = true
			}
		}
		delete(out, "secureJsonData") // Grafana never returns secrets
		out["secureJsonFields"] = fields
		writeJSON(w, out)
	case r.Method == http.MethodPost && path == "/api/datasources":
		s.saveDatasource(w, req.Body, "")
	case r.Method == http.MethodPut && strings.HasPrefix(path, "/api/datasources/uid/"):
		s.saveDatasource(w, req.Body, strings.TrimPrefix(path, "/api/datasources/uid/"))
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/api/folders/"):
		f, ok := s.folders[strings.TrimPrefix(path, "/api/folders/")]
		if !ok {
			reply(w, http.StatusNotFound, "folder not found")
			return
		}
		writeJSON(w, f)
	case r.Method == http.MethodPost && path == "/api/folders":
		uid, _ := req.Body["uid"].(string)
		title, _ := req.Body["title"].(string)
		if uid == "" || title == "" {
			reply(w, http.StatusBadRequest, "folder needs uid and title")
			return
		}
		if _, dup := s.folders[uid]; dup {
			reply(w, http.StatusConflict, "a folder with the same uid already exists")
			return
		}
		s.nextID++
		s.folders[uid] = map[string]any{"id": s.nextID, "uid": uid, "title": title, "version": 1.0}
		writeJSON(w, s.folders[uid])
	case r.Method == http.MethodPut && strings.HasPrefix(path, "/api/folders/"):
		f, ok := s.folders[strings.TrimPrefix(path, "/api/folders/")]
		title, _ := req.Body["title"].(string)
		switch {
		case !ok:
			reply(w, http.StatusNotFound, "folder not found")
		case title == "":
			reply(w, http.StatusBadRequest, "folder needs a title")
		case req.Body["overwrite"] != true && req.Body["version"] != f["version"]:
			reply(w, http.StatusPreconditionFailed, "the folder has been changed by someone else")
		default:
			f["title"] = title
			f["version"] = f["version"].(float64) + 1
			writeJSON(w, f)
		}
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/api/dashboards/uid/"):
		d, ok := s.dashboards[strings.TrimPrefix(path, "/api/dashboards/uid/")]
		if !ok {
			reply(w, http.StatusNotFound, "Dashboard not found")
			return
		}
		writeJSON(w, map[string]any{"dashboard": d.model, "meta": map[string]any{"folderUid": d.folderUID}})
	case r.Method == http.MethodPost && path == "/api/dashboards/db":
		s.saveDashboard(w, req.Body)
	default:
		reply(w, http.StatusNotFound, "Not found")
	}
}

func (s *Server) saveDatasource(w http.ResponseWriter, body map[string]any, uid string) {
	for _, k := range []string{"name", "type", "access", "url", "uid"} {
		if v, _ := body[k].(string); v == "" {
			reply(w, http.StatusBadRequest, "datasource needs "+k)
			return
		}
	}
	_, exists := s.datasources[body["uid"].(string)]
	switch {
	case uid == "" && exists:
		reply(w, http.StatusConflict, "data source with the same uid already exists")
		return
	case uid != "" && !exists:
		reply(w, http.StatusNotFound, "Data source not found")
		return
	case uid != "" && body["uid"] != uid:
		reply(w, http.StatusBadRequest, "uid of body and path differ")
		return
	}
	if old, ok := s.datasources[body["uid"].(string)]; ok && body["secureJsonData"] == nil {
		body["secureJsonData"] = old["secureJsonData"] // an update without secrets keeps them
	}
	s.datasources[body["uid"].(string)] = body
	writeJSON(w, map[string]any{"message": "Datasource saved", "name": body["name"]})
}

func (s *Server) saveDashboard(w http.ResponseWriter, body map[string]any) {
	model, ok := body["dashboard"].(map[string]any)
	if !ok {
		reply(w, http.StatusBadRequest, "dashboard is required")
		return
	}
	uid, _ := model["uid"].(string)
	title, _ := model["title"].(string)
	folderUID, _ := body["folderUid"].(string)
	switch {
	case uid == "" || len(uid) > 40:
		reply(w, http.StatusBadRequest, fmt.Sprintf("dashboard uid %q is empty or too long", uid))
		return
	case title == "":
		reply(w, http.StatusBadRequest, "Dashboard title cannot be empty")
		return
	case s.folders[folderUID] == nil:
		reply(w, http.StatusBadRequest, "folder "+folderUID+" not found")
		return
	}
	old, exists := s.dashboards[uid]
	if exists && body["overwrite"] != true {
		reply(w, http.StatusPreconditionFailed, "The dashboard has been changed by someone else")
		return
	}
	version := 1.0
	if exists {
		version = old.model["version"].(float64) + 1
	}
	s.nextID++
	model["id"], model["version"] = float64(s.nextID), version
	s.dashboards[uid] = savedDashboard{model: model, folderUID: folderUID}
	writeJSON(w, map[string]any{"uid": uid, "status": "success", "version": version, "url": "/d/" + uid})
}

func reply(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
