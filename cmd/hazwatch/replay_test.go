package main

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// replayConfig is the config of the replay -file tests; its servers are
// never contacted.
const replayConfig = "testdata/replay/hazwatch.yaml"

// runReplayFile runs the hazwatch binary's `replay -file` over file and
// returns its stdout, stderr and exit code.
func runReplayFile(t *testing.T, file string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := exec.Command(hazwatchBin, "replay", "-config", replayConfig, "-file", file)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("run hazwatch replay: %v", err)
	}
	return out.String(), errOut.String(), code
}

func TestReplay_FileGivesTransitionTable(t *testing.T) {
	cases := []struct {
		name, file, golden string
	}{
		{"recorded MQTT messages through the topic patterns", "testdata/replay/messages.jsonl", "testdata/replay/messages.golden"},
		{"line protocol exported from InfluxDB", "testdata/replay/readings.lp", "testdata/replay/readings.golden"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runReplayFile(t, tc.file)
			if code != 0 {
				t.Fatalf("exit code %d, stderr:\n%s", code, stderr)
			}
			if *update {
				if err := os.WriteFile(tc.golden, []byte(stdout), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(tc.golden)
			if err != nil {
				t.Fatalf("read golden file (run with -update to create it): %v", err)
			}
			if stdout != string(want) {
				t.Errorf("replay of %s:\n%s\nwant (%s):\n%s", tc.file, stdout, tc.golden, want)
			}
		})
	}
}

func TestReplay_BadFileNamesFileAndLine(t *testing.T) {
	cases := []struct {
		name, file, wantErr string
	}{
		{"broken JSON line", "testdata/replay/bad_json.jsonl", "testdata/replay/bad_json.jsonl:3: unexpected end of JSON input"},
		{"topic of no subscription", "testdata/replay/bad_topic.jsonl", `testdata/replay/bad_topic.jsonl:2: no_matching_topic: topic "elsewhere/GT-03"`},
		{"line protocol without a number", "testdata/replay/bad_line.lp", "testdata/replay/bad_line.lp:2: non_numeric"},
		{"missing file", "testdata/replay/absent.lp", "testdata/replay/absent.lp: no such file"},
		{"file without readings", "testdata/replay/empty.jsonl", "testdata/replay/empty.jsonl: no readings"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runReplayFile(t, tc.file)
			if code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing on an error", stdout)
			}
			if !strings.HasPrefix(stderr, "hazwatch replay: ") || !strings.Contains(stderr, tc.wantErr) {
				t.Errorf("stderr = %q, want hazwatch replay: …%s…", stderr, tc.wantErr)
			}
		})
	}
}

// replayConfigAt writes the replay tests' config with InfluxDB at url and
// returns its path.
func replayConfigAt(t *testing.T, url string) string {
	t.Helper()
	data, err := os.ReadFile(replayConfig)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(data), "url: http://127.0.0.1:8086", "url: "+url, 1)
	if text == string(data) {
		t.Fatalf("%s has no InfluxDB url to replace", replayConfig)
	}
	path := filepath.Join(t.TempDir(), "hazwatch.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReplay_FluxDisabledSaysWhatToEnable(t *testing.T) {
	var queries atomic.Int32
	// InfluxDB 1.8.10 without flux-enabled answers a Flux query so (its
	// headers and body as captured from influxd).
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v2/query" {
			http.NotFound(w, r)
			return
		}
		queries.Add(1)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("X-Influxdb-Build", "OSS")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte("Flux query service disabled. Verify flux-enabled=true in the [http] section of the InfluxDB config.\n"))
	}))
	t.Cleanup(srv.Close)

	var stdout, stderr bytes.Buffer
	code := runReplay([]string{"-config", replayConfigAt(t, srv.URL), "-from", "1h"}, &stdout, &stderr)
	if code != 1 || stdout.Len() != 0 {
		t.Errorf("exit code %d, stdout %q; want 1 and nothing", code, stdout.String())
	}
	want := "hazwatch replay: InfluxDB at " + srv.URL + " refuses Flux queries: set flux-enabled = true in the [http] " +
		"section of influxdb.conf (1.8) and restart it\n"
	if stderr.String() != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", stderr.String(), want)
	}
	if queries.Load() != 1 {
		t.Errorf("%d Flux queries reached the server, want 1", queries.Load())
	}
}

func TestReplay_OtherForbiddenAnswersAreNotTakenForFluxDisabled(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"code":"forbidden","message":"insufficient permissions for read"}`))
	}))
	t.Cleanup(srv.Close)

	var stdout, stderr bytes.Buffer
	if code := runReplay([]string{"-config", replayConfigAt(t, srv.URL), "-from", "1h"}, &stdout, &stderr); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if got := stderr.String(); strings.Contains(got, "flux-enabled") || !strings.Contains(got, "insufficient permissions") {
		t.Errorf("stderr %q, want InfluxDB's own answer and no word of flux-enabled", got)
	}
}
