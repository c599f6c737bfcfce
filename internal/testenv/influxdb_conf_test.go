package testenv

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestInfluxConf_ServicesShRendersTheSameConfig(t *testing.T) {
	p := influxConfParams{Dir: "/tmp/a dir/influxdb", RPCPort: 28088, HTTPPort: 28086}
	var want bytes.Buffer
	if err := influxConf.Execute(&want, p); err != nil {
		t.Fatal(err)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "-c", `source scripts/services.sh && HZ_ROOT="$PWD" hz_influxd_conf "$1" "$2" "$3"`,
		"bash", p.Dir, "28088", "28086")
	cmd.Dir = root
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("hz_influxd_conf: %v", err)
	}
	if string(got) != strings.TrimRight(want.String(), "\n")+"\n" {
		t.Errorf("services.sh renders:\n%s\ntestenv renders:\n%s", got, want.String())
	}
	for _, line := range []string{`bind-address = "127.0.0.1:28086"`, "flux-enabled = true", `dir = "/tmp/a dir/influxdb/meta"`} {
		if !strings.Contains(string(got), line) {
			t.Errorf("config lacks %s:\n%s", line, got)
		}
	}
}
