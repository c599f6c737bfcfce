package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hazwatch/dashboards/grafanatest"
)

// exampleWithGrafana copies the example config with grafana.url pointed at url.
func exampleWithGrafana(t *testing.T, url string) string {
	t.Helper()
	data, err := os.ReadFile("../../configs/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const line = "url: http://127.0.0.1:3000"
	if !bytes.Contains(data, []byte(line)) {
		t.Fatalf("example config has no %q to replace", line)
	}
	path := filepath.Join(t.TempDir(), "hazwatch.yaml")
	if err := os.WriteFile(path, bytes.Replace(data, []byte(line), []byte("url: "+url), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDashboards_OutWritesProvisioningFiles(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := runDashboards([]string{"-config", "../../configs/example.yaml", "-out", dir}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, f := range []string{"provisioning/datasources/hazwatch.yaml", "provisioning/dashboards/hazwatch.yaml", "dashboards/hazwatch-overview.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	if !strings.Contains(stdout.String(), "7 dashboards") {
		t.Errorf("stdout %q does not say how many dashboards were written", stdout.String())
	}
}

func TestDashboards_PushTwiceSecondChangesNothing(t *testing.T) {
	srv := grafanatest.New(t, "tok")
	t.Setenv("GRAFANA_TOKEN", "tok")
	cfg := exampleWithGrafana(t, srv.URL)
	var out1, out2, stderr bytes.Buffer
	if code := runDashboards([]string{"-config", cfg, "-push"}, &out1, &stderr); code != 0 {
		t.Fatalf("first push exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(out1.String(), "9 created, 0 updated, 0 unchanged") {
		t.Errorf("first push said %q", out1.String())
	}
	if code := runDashboards([]string{"-config", cfg, "-push"}, &out2, &stderr); code != 0 {
		t.Fatalf("second push exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(out2.String(), "0 created, 0 updated, 9 unchanged") {
		t.Errorf("second push said %q", out2.String())
	}
}

func TestDashboards_PushWithAWrongTokenFails(t *testing.T) {
	srv := grafanatest.New(t, "tok")
	t.Setenv("GRAFANA_TOKEN", "wrong")
	var stdout, stderr bytes.Buffer
	if code := runDashboards([]string{"-config", exampleWithGrafana(t, srv.URL), "-push"}, &stdout, &stderr); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), "401") {
		t.Errorf("stderr %q does not report the 401", stderr.String())
	}
}

func TestDashboards_UsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-config", "../../configs/example.yaml", "-out", "x", "-push"},
		{"-config", "../../configs/example.yaml", "extra"},
		{"-nosuchflag"},
	} {
		var stdout, stderr bytes.Buffer
		if code := runDashboards(args, &stdout, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
