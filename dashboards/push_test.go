package dashboards

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"hazwatch/configs"
	"hazwatch/dashboards/grafanatest"
)

const testToken = "glsa_test_token"

func push(t *testing.T, srv *grafanatest.Server, token string, set *Set) ([]Change, error) {
	t.Helper()
	return Push(context.Background(), &Client{URL: srv.URL, Token: token, HTTP: srv.Client()}, set)
}

func outcomes(changes []Change) map[Outcome]int {
	out := map[Outcome]int{}
	for _, c := range changes {
		out[c.Outcome]++
	}
	return out
}

func TestPush_CreatesEverythingThenASecondPushChangesNothing(t *testing.T) {
	srv := grafanatest.New(t, testToken)
	set := build(t, exampleConfig(t, true))
	n := len(set.Dashboards) + 2

	first, err := push(t, srv, testToken, set)
	if err != nil {
		t.Fatalf("first push: %v", err)
	}
	if got := outcomes(first); got[Created] != n {
		t.Errorf("first push: %v, want %d created", got, n)
	}
	writes := srv.Writes()
	var paths []string
	for _, w := range writes {
		paths = append(paths, w.Method+" "+w.Path)
	}
	want := []string{"POST /api/datasources", "POST /api/folders"}
	for range set.Dashboards {
		want = append(want, "POST /api/dashboards/db")
	}
	if !slices.Equal(paths, want) {
		t.Errorf("writes %v, want %v", paths, want)
	}
	for _, w := range writes[2:] {
		d, _ := w.Body["dashboard"].(map[string]any)
		if w.Body["overwrite"] != true || w.Body["folderUid"] != FolderUID || d["uid"] == nil || d["title"] == nil {
			t.Errorf("dashboard payload overwrite=%v folderUid=%v uid=%v title=%v; want overwrite, folder %s, uid and title",
				w.Body["overwrite"], w.Body["folderUid"], d["uid"], d["title"], FolderUID)
		}
	}
	ds, _ := srv.Datasource(set.Datasource.UID)
	if sec := ds["secureJsonData"].(map[string]any); sec["token"] != "secret-token" {
		t.Errorf("datasource secureJsonData %v, want the InfluxDB token", sec)
	}
	if jd := ds["jsonData"].(map[string]any); jd["version"] != "Flux" || jd["organization"] != "district" || jd["defaultBucket"] != "hazwatch" {
		t.Errorf("datasource jsonData %v, want Flux, org district, bucket hazwatch", jd)
	}

	second, err := push(t, srv, testToken, set)
	if err != nil {
		t.Fatalf("second push: %v", err)
	}
	if got := outcomes(second); got[Unchanged] != n {
		t.Errorf("second push: %v, want all %d unchanged", got, n)
	}
	if w := srv.Writes(); len(w) != len(writes) {
		t.Errorf("second push wrote %d times: %v", len(w)-len(writes), w[len(writes):])
	}
}

func TestPush_UpdatesOnlyWhatChanged(t *testing.T) {
	srv := grafanatest.New(t, testToken)
	cfg := exampleConfig(t, false)
	if _, err := push(t, srv, testToken, build(t, cfg)); err != nil {
		t.Fatal(err)
	}
	cfg.Grafana.Folder = "监测预警（新）"
	i := slices.IndexFunc(cfg.Rules, func(r configs.Rule) bool { return r.Name == "coal-ch4" })
	cfg.Rules[i].Threshold.Above[configs.LevelRed] = 1.4
	changes, err := push(t, srv, testToken, build(t, cfg))
	if err != nil {
		t.Fatal(err)
	}
	var updated []string
	for _, c := range changes {
		if c.Outcome == Updated {
			updated = append(updated, c.UID)
		}
	}
	want := []string{FolderUID, overviewUID, kindUID("ch4_vol")}
	if !slices.Equal(updated, want) {
		t.Errorf("updated %v, want %v", updated, want)
	}
	if f, _ := srv.Folder(FolderUID); f["title"] != "监测预警（新）" {
		t.Errorf("folder title %v after rename", f["title"])
	}
	model, folder, _ := srv.Dashboard(kindUID("ch4_vol"))
	if folder != FolderUID || !strings.Contains(jsonText(t, model), `"value":1.4`) {
		t.Errorf("ch4_vol dashboard in folder %q without the new 1.4 line", folder)
	}
}

func TestPush_DatasourceChangeIsAnUpdateByUID(t *testing.T) {
	srv := grafanatest.New(t, testToken)
	cfg := exampleConfig(t, false)
	if _, err := push(t, srv, testToken, build(t, cfg)); err != nil {
		t.Fatal(err)
	}
	cfg.InfluxDB.URL = "http://influx-2:8086"
	changes, err := push(t, srv, testToken, build(t, cfg))
	if err != nil {
		t.Fatal(err)
	}
	if changes[0].Object != "datasource" || changes[0].Outcome != Updated {
		t.Errorf("datasource outcome %+v, want updated", changes[0])
	}
	w := srv.Writes()
	if last := w[len(w)-1]; last.Method != http.MethodPut || last.Path != "/api/datasources/uid/"+changes[0].UID {
		t.Errorf("datasource update sent as %s %s, want PUT by uid", last.Method, last.Path)
	}
}

func TestPush_ClearErrors(t *testing.T) {
	set := build(t, exampleConfig(t, false))
	tests := []struct {
		name         string
		token        string
		fail         func(*grafanatest.Server)
		status       int
		wantInErrors string
	}{
		{"wrong token", "wrong", nil, http.StatusUnauthorized, "grafana.token"},
		{"no permission on datasources", testToken, func(s *grafanatest.Server) {
			s.FailWith(http.MethodPost, "/api/datasources", http.StatusForbidden)
		}, http.StatusForbidden, "lacks the permission"},
		{"version mismatch", testToken, func(s *grafanatest.Server) {
			s.FailWith(http.MethodPost, "/api/dashboards/db", http.StatusPreconditionFailed)
		}, http.StatusPreconditionFailed, "version mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := grafanatest.New(t, testToken)
			if tt.fail != nil {
				tt.fail(srv)
			}
			_, err := push(t, srv, tt.token, set)
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.Status != tt.status || !strings.Contains(err.Error(), tt.wantInErrors) {
				t.Errorf("error %v, want status %d mentioning %q", err, tt.status, tt.wantInErrors)
			}
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		srv := grafanatest.New(t, testToken)
		srv.Close()
		_, err := push(t, srv, testToken, set)
		if err == nil || !strings.Contains(err.Error(), "unreachable") {
			t.Errorf("error %v, want unreachable", err)
		}
		// Issue 10 item 16: Grafana's errors showed a password in grafana.url.
		u := strings.Replace(srv.URL, "://", "://admin:s3cret@", 1)
		_, err = Push(context.Background(), &Client{URL: u, Token: testToken, HTTP: srv.Client()}, set)
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("error %v, want one without the password", err)
		}
	})
}

func jsonText(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
