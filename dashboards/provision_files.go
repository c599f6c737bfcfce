package dashboards

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"
)

// Environment variables that Grafana expands in the provisioned datasource
// for its secret, so that the file never holds the secret itself.
const (
	envInfluxToken    = "INFLUX_TOKEN"
	envInfluxPassword = "INFLUX_PASSWORD"
)

// providerFile is a Grafana dashboard provisioning file.
type providerFile struct {
	APIVersion int        `yaml:"apiVersion"`
	Providers  []provider `yaml:"providers"`
}

type provider struct {
	Name                  string          `yaml:"name"`
	OrgID                 int             `yaml:"orgId"`
	Folder                string          `yaml:"folder"`
	FolderUID             string          `yaml:"folderUid"`
	Type                  string          `yaml:"type"`
	DisableDeletion       bool            `yaml:"disableDeletion"`
	AllowUIUpdates        bool            `yaml:"allowUiUpdates"`
	UpdateIntervalSeconds int             `yaml:"updateIntervalSeconds"`
	Options               providerOptions `yaml:"options"`
}

type providerOptions struct {
	Path string `yaml:"path"`
}

// datasourceFile is a Grafana datasource provisioning file.
type datasourceFile struct {
	APIVersion  int               `yaml:"apiVersion"`
	Datasources []datasourceEntry `yaml:"datasources"`
}

// datasourceEntry is a datasource as a provisioning file and Grafana's
// /api/datasources both take it.
type datasourceEntry struct {
	Name           string            `yaml:"name" json:"name"`
	UID            string            `yaml:"uid" json:"uid"`
	Type           string            `yaml:"type" json:"type"`
	Access         string            `yaml:"access" json:"access"`
	URL            string            `yaml:"url" json:"url"`
	User           string            `yaml:"user,omitempty" json:"user"`
	Database       string            `yaml:"database,omitempty" json:"database"`
	Editable       bool              `yaml:"editable" json:"-"`
	JSONData       map[string]any    `yaml:"jsonData" json:"jsonData"`
	SecureJSONData map[string]string `yaml:"secureJsonData,omitempty" json:"secureJsonData,omitempty"`
	// SecureJSONFields is how Grafana's API says which secrets are set.
	SecureJSONFields map[string]bool `yaml:"-" json:"secureJsonFields,omitempty"`
}

// WriteProvisioning writes set for Grafana's file provisioning under dir:
// provisioning/datasources/hazwatch.yaml, provisioning/dashboards/hazwatch.yaml
// and one JSON file per dashboard in dashboards/. The dashboard provider's
// path is dir/dashboards made absolute; mount dir at the same path when
// Grafana runs in a container. The datasource's secret is written as
// $INFLUX_TOKEN (Flux) or $INFLUX_PASSWORD (InfluxQL), which Grafana
// expands from its own environment. Files of dashboards no longer built are
// left alone.
func WriteProvisioning(dir string, set *Set) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("provisioning dir %s: %w", dir, err)
	}
	boards := filepath.Join(abs, "dashboards")
	dsPath := filepath.Join(abs, "provisioning", "datasources", "hazwatch.yaml")
	files := map[string]any{
		dsPath: datasourceFile{APIVersion: 1, Datasources: []datasourceEntry{set.Datasource.provisioned()}},
		filepath.Join(abs, "provisioning", "dashboards", "hazwatch.yaml"): providerFile{APIVersion: 1, Providers: []provider{{
			Name: "hazwatch", OrgID: 1, Folder: set.Folder.Title, FolderUID: set.Folder.UID, Type: "file",
			UpdateIntervalSeconds: 30, Options: providerOptions{Path: boards}}}},
	}
	for path, v := range files {
		var buf bytes.Buffer
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		if err := enc.Encode(v); err != nil {
			return fmt.Errorf("encode %s: %w", path, err)
		}
		mode := os.FileMode(0o644)
		if path == dsPath && set.Datasource.urlHasPassword() {
			mode = 0o600
		}
		if err := writeFile(path, buf.Bytes(), mode); err != nil {
			return err
		}
	}
	for _, d := range set.Dashboards {
		if err := writeFile(filepath.Join(boards, d.UID+".json"), append(d.JSON, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// provisioned is the datasource as a provisioning entry, with its secret
// replaced by an environment variable reference.
func (d Datasource) provisioned() datasourceEntry {
	e := datasourceEntry{Name: d.Name, UID: d.UID, Type: "influxdb", Access: "proxy", URL: d.URL, User: d.User,
		Database: d.Database, JSONData: d.jsonData()}
	switch {
	case d.Version == "Flux":
		e.SecureJSONData = map[string]string{d.secretKey(): "$" + envInfluxToken}
	case d.User != "":
		e.SecureJSONData = map[string]string{d.secretKey(): "$" + envInfluxPassword}
	}
	return e
}

// secretKey names the datasource's secret in secureJsonData.
func (d Datasource) secretKey() string {
	if d.Version == "Flux" {
		return "token"
	}
	return "password"
}

// jsonData is the datasource's jsonData, as Grafana's InfluxDB plugin reads it.
func (d Datasource) jsonData() map[string]any {
	if d.Version == "Flux" {
		return map[string]any{"version": d.Version, "organization": d.Organization, "defaultBucket": d.DefaultBucket}
	}
	return map[string]any{"version": d.Version, "dbName": d.Database, "httpMode": "GET"}
}

// urlHasPassword reports whether the datasource's URL holds a password,
// which Grafana needs there but other users of the machine must not read.
func (d Datasource) urlHasPassword() bool {
	u, err := url.Parse(d.URL)
	if err != nil {
		return true // cannot tell: assume the worst
	}
	_, ok := u.User.Password()
	return ok
}

// writeFile writes data to path with mode, also when the file exists with
// another mode.
func writeFile(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	// Before writing, so that a secret never lands in a file others can read.
	if err := os.Chmod(path, mode); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.WriteFile(path, data, mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
