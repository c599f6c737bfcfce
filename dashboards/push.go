package dashboards

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"reflect"
)

// Outcome says what a push did to one object in Grafana.
type Outcome string

// Outcomes of a push.
const (
	Created   Outcome = "created"
	Updated   Outcome = "updated"
	Unchanged Outcome = "unchanged"
)

// Change is the outcome of pushing one object.
type Change struct {
	// Object is datasource, folder or dashboard.
	Object  string
	UID     string
	Title   string
	Outcome Outcome
}

// Tally counts changes by outcome.
func Tally(changes []Change) map[Outcome]int {
	counts := map[Outcome]int{}
	for _, ch := range changes {
		counts[ch.Outcome]++
	}
	return counts
}

// Push creates or updates the datasource, the folder and the dashboards of
// set in Grafana and reports what it did to each. Objects that already match
// are left alone, so a second push of the same set changes nothing.
func Push(ctx context.Context, c *Client, set *Set) ([]Change, error) {
	var out []Change
	o, err := c.pushDatasource(ctx, set.Datasource)
	if err != nil {
		return out, err
	}
	out = append(out, Change{Object: "datasource", UID: set.Datasource.UID, Title: set.Datasource.Name, Outcome: o})
	if o, err = c.pushFolder(ctx, set.Folder); err != nil {
		return out, err
	}
	out = append(out, Change{Object: "folder", UID: set.Folder.UID, Title: set.Folder.Title, Outcome: o})
	for _, d := range set.Dashboards {
		if o, err = c.pushDashboard(ctx, set.Folder.UID, d); err != nil {
			return out, err
		}
		out = append(out, Change{Object: "dashboard", UID: d.UID, Title: d.Title, Outcome: o})
	}
	return out, nil
}

// pushDatasource creates the datasource, or updates it when a field differs.
// Grafana never returns secrets, only whether one is set, so a changed secret
// alone is not seen; delete the datasource's secret in Grafana to rotate it.
func (c *Client) pushDatasource(ctx context.Context, ds Datasource) (Outcome, error) {
	want := ds.provisioned()
	want.SecureJSONData = nil
	if ds.Secret != "" {
		want.SecureJSONData = map[string]string{ds.secretKey(): ds.Secret}
	}
	var have datasourceEntry
	err := c.do(ctx, http.MethodGet, "/api/datasources/uid/"+escape(ds.UID), nil, &have)
	switch {
	case errors.Is(err, errNotFound):
		if err := c.do(ctx, http.MethodPost, "/api/datasources", want, nil); err != nil {
			return "", fmt.Errorf("create datasource %s: %w", ds.UID, err)
		}
		return Created, nil
	case err != nil:
		return "", fmt.Errorf("get datasource %s: %w", ds.UID, err)
	}
	same := have.Name == want.Name && have.Type == want.Type && have.Access == want.Access &&
		have.URL == want.URL && have.User == want.User && have.Database == want.Database &&
		subset(want.JSONData, have.JSONData) && (ds.Secret == "" || have.SecureJSONFields[ds.secretKey()])
	if same {
		return Unchanged, nil
	}
	if err := c.do(ctx, http.MethodPut, "/api/datasources/uid/"+escape(ds.UID), want, nil); err != nil {
		return "", fmt.Errorf("update datasource %s: %w", ds.UID, err)
	}
	return Updated, nil
}

// subset reports whether every key of want has the same value in have;
// Grafana adds defaults of its own to a datasource's jsonData.
func subset(want, have map[string]any) bool {
	for k, v := range want {
		if !reflect.DeepEqual(have[k], v) {
			return false
		}
	}
	return true
}

// pushFolder creates the folder, or renames it when its title changed.
func (c *Client) pushFolder(ctx context.Context, f Folder) (Outcome, error) {
	var have struct {
		UID, Title string
		Version    int
	}
	err := c.do(ctx, http.MethodGet, "/api/folders/"+escape(f.UID), nil, &have)
	switch {
	case errors.Is(err, errNotFound):
		if err := c.do(ctx, http.MethodPost, "/api/folders", map[string]string{"uid": f.UID, "title": f.Title}, nil); err != nil {
			return "", fmt.Errorf("create folder %s: %w", f.UID, err)
		}
		return Created, nil
	case err != nil:
		return "", fmt.Errorf("get folder %s: %w", f.UID, err)
	case have.Title == f.Title:
		return Unchanged, nil
	}
	body := map[string]any{"title": f.Title, "version": have.Version, "overwrite": true}
	if err := c.do(ctx, http.MethodPut, "/api/folders/"+escape(f.UID), body, nil); err != nil {
		return "", fmt.Errorf("rename folder %s: %w", f.UID, err)
	}
	return Updated, nil
}

// pushDashboard posts the dashboard unless Grafana already holds the same
// model in the same folder.
func (c *Client) pushDashboard(ctx context.Context, folderUID string, d Dashboard) (Outcome, error) {
	var have struct {
		Dashboard map[string]any `json:"dashboard"`
		Meta      struct {
			FolderUID string `json:"folderUid"`
		} `json:"meta"`
	}
	outcome := Updated
	err := c.do(ctx, http.MethodGet, "/api/dashboards/uid/"+escape(d.UID), nil, &have)
	switch {
	case errors.Is(err, errNotFound):
		outcome = Created
	case err != nil:
		return "", fmt.Errorf("get dashboard %s: %w", d.UID, err)
	default:
		var want map[string]any
		if err := json.Unmarshal(d.JSON, &want); err != nil {
			return "", fmt.Errorf("decode dashboard %s: %w", d.UID, err)
		}
		if have.Meta.FolderUID == folderUID && maps.EqualFunc(model(want), model(have.Dashboard), equal) {
			return Unchanged, nil
		}
	}
	body := map[string]any{"dashboard": d.JSON, "folderUid": folderUID, "overwrite": true, "message": "hazwatch dashboards"}
	if err := c.do(ctx, http.MethodPost, "/api/dashboards/db", body, nil); err != nil {
		return "", fmt.Errorf("save dashboard %s: %w", d.UID, err)
	}
	return outcome, nil
}

// model drops the fields Grafana sets on save (id, version), which say
// nothing about what the dashboard shows.
func model(m map[string]any) map[string]any {
	m = maps.Clone(m)
	delete(m, "id")
	delete(m, "version")
	return m
}

func equal(a, b any) bool { return reflect.DeepEqual(a, b) }
