package dashboards

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/grafana-tools/sdk"
	"go.yaml.in/yaml/v3"
)

// Keys Grafana's provisioning reads (grafana.com/docs, "Provision Grafana"),
// for the entries hazwatch writes.
var (
	datasourceKeys = []string{"name", "uid", "type", "access", "url", "user", "database", "editable", "jsonData", "secureJsonData"}
	providerKeys   = []string{"name", "orgId", "folder", "folderUid", "type", "disableDeletion", "allowUiUpdates", "updateIntervalSeconds", "options"}
)

func readYAML(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

func onlyKeys(t *testing.T, what string, m map[string]any, allowed []string) {
	t.Helper()
	for k := range m {
		if !slices.Contains(allowed, k) {
			t.Errorf("%s has key %q, which Grafana does not read", what, k)
		}
	}
}

func TestWriteProvisioning_FilesGrafanaAccepts(t *testing.T) {
	for _, flux := range []bool{false, true} {
		cfg := exampleConfig(t, flux)
		cfg.InfluxDB.Token = map[bool]string{false: "grafana:s3cret", true: "s3cret"}[flux]
		set := build(t, cfg)
		dir := t.TempDir()
		if err := WriteProvisioning(dir, set); err != nil {
			t.Fatal(err)
		}

		dsFile := readYAML(t, filepath.Join(dir, "provisioning", "datasources", "hazwatch.yaml"))
		onlyKeys(t, "datasources file", dsFile, []string{"apiVersion", "datasources"})
		dss, _ := dsFile["datasources"].([]any)
		if dsFile["apiVersion"] != 1 || len(dss) != 1 {
			t.Fatalf("datasources file: apiVersion %v, %d datasources; want 1 and 1", dsFile["apiVersion"], len(dss))
		}
		ds := dss[0].(map[string]any)
		onlyKeys(t, "datasource", ds, datasourceKeys)
		jd := ds["jsonData"].(map[string]any)
		sec := ds["secureJsonData"].(map[string]any)
		if ds["type"] != "influxdb" || ds["uid"] != set.Datasource.UID || ds["url"] != cfg.InfluxDB.URL {
			t.Errorf("datasource %v, want type influxdb, uid %s, url %s", ds, set.Datasource.UID, cfg.InfluxDB.URL)
		}
		switch flux {
		case true:
			if jd["version"] != "Flux" || jd["organization"] != "district" || jd["defaultBucket"] != "hazwatch" || sec["token"] != "$INFLUX_TOKEN" {
				t.Errorf("flux datasource jsonData %v secureJsonData %v", jd, sec)
			}
		default:
			if jd["version"] != "InfluxQL" || jd["dbName"] != "hazwatch" || ds["user"] != "grafana" || sec["password"] != "$INFLUX_PASSWORD" {
				t.Errorf("influxql datasource %v jsonData %v secureJsonData %v", ds, jd, sec)
			}
		}

		provFile := readYAML(t, filepath.Join(dir, "provisioning", "dashboards", "hazwatch.yaml"))
		onlyKeys(t, "dashboards file", provFile, []string{"apiVersion", "providers"})
		provs, _ := provFile["providers"].([]any)
		if provFile["apiVersion"] != 1 || len(provs) != 1 {
			t.Fatalf("dashboards file: apiVersion %v, %d providers", provFile["apiVersion"], len(provs))
		}
		prov := provs[0].(map[string]any)
		onlyKeys(t, "provider", prov, providerKeys)
		path, _ := prov["options"].(map[string]any)["path"].(string)
		if prov["type"] != "file" || prov["folder"] != set.Folder.Title || prov["folderUid"] != FolderUID || !filepath.IsAbs(path) {
			t.Errorf("provider %v, want type file, folder %s, uid %s and an absolute path", prov, set.Folder.Title, FolderUID)
		}
		files, _ := filepath.Glob(filepath.Join(path, "*.json"))
		if len(files) != len(set.Dashboards) {
			t.Fatalf("provider path %s holds %d dashboards, want %d", path, len(files), len(set.Dashboards))
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(data), "s3cret") {
				t.Errorf("%s holds the InfluxDB secret", file)
			}
			var b sdk.Board
			if err := json.Unmarshal(data, &b); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			var doc any
			if err := json.Unmarshal(data, &doc); err != nil {
				t.Fatal(err)
			}
			refs := datasourceRefs(doc, nil)
			if len(refs) == 0 {
				t.Errorf("%s: no datasource references", file)
			}
			for _, r := range refs {
				if r != set.Datasource.UID {
					t.Errorf("%s: datasource uid %q does not resolve to the provisioned %q", file, r, set.Datasource.UID)
				}
			}
		}
		if data, _ := os.ReadFile(filepath.Join(dir, "provisioning", "datasources", "hazwatch.yaml")); strings.Contains(string(data), "s3cret") {
			t.Errorf("the datasources file holds the secret itself")
		}
	}
}

// datasourceRefs collects the uid of every "datasource" in a dashboard
// model: panels, targets, template variables, annotations. A reference by
// name (a string) counts as an empty uid, which resolves to nothing.
func datasourceRefs(v any, out []string) []string {
	switch v := v.(type) {
	case map[string]any:
		for k, c := range v {
			if k == "datasource" && c != nil {
				ref, _ := c.(map[string]any)
				uid, _ := ref["uid"].(string)
				out = append(out, uid)
				continue
			}
			out = datasourceRefs(c, out)
		}
	case []any:
		for _, c := range v {
			out = datasourceRefs(c, out)
		}
	}
	return out
}

// TestWriteProvisioning_KeepsAPasswordInTheURLPrivate is issue 10 item 16:
// a password written inside influxdb.url lands in the datasource file,
// which was readable by every user.
func TestWriteProvisioning_KeepsAPasswordInTheURLPrivate(t *testing.T) {
	for _, tc := range []struct {
		url  string
		mode os.FileMode
	}{{"http://127.0.0.1:8086", 0o644}, {"http://grafana:s3cret@127.0.0.1:8086", 0o600}} {
		cfg := exampleConfig(t, false)
		cfg.InfluxDB.URL = tc.url
		dir := t.TempDir()
		if err := WriteProvisioning(dir, build(t, cfg)); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(filepath.Join(dir, "provisioning", "datasources", "hazwatch.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != tc.mode {
			t.Errorf("datasource file for %s has mode %v, want %v", tc.url, fi.Mode().Perm(), tc.mode)
		}
	}
}
