package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
