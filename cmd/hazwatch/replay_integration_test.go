package main

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"hazwatch/internal/testenv"
)

// servicesScript starts InfluxDB as scripts/demo.sh and loadbench.sh do,
// through services.sh's hz_start_influxd, with its data under HZ_TEST_RUN
// instead of .run/; prints influxd's pid and URL; and stops it (the EXIT
// trap) once its stdin closes.
const servicesScript = `set -e
source scripts/services.sh
export HZ_ROOT="$PWD" HZ_RUN="$HZ_TEST_RUN"
trap hz_stop_all EXIT
hz_start_influxd
echo "$HZ_INFLUXD_PID $HAZWATCH_INFLUX_URL"
read -r _ || true
`

// servicesInfluxDB starts the InfluxDB of scripts/services.sh on free
// loopback ports, stops it in t.Cleanup, and returns its URL.
func servicesInfluxDB(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "-c", servicesScript)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "HZ_TEST_RUN="+t.TempDir())
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr testenv.SyncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start bash: %v", err)
	}
	influxdPID := 0
	t.Cleanup(func() {
		stdin.Close() // the script's read returns, its EXIT trap stops influxd
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Errorf("services.sh did not stop within 30 s; killing bash (%d) and influxd (%d)", cmd.Process.Pid, influxdPID)
			_ = cmd.Process.Kill()
			if influxdPID > 0 {
				if p, err := os.FindProcess(influxdPID); err == nil {
					_ = p.Kill()
				}
			}
			<-done
		}
	})
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			line <- sc.Text()
		}
		close(line)
	}()
	select {
	case l, ok := <-line:
		pid, url, found := strings.Cut(l, " ")
		if !ok || !found {
			t.Fatalf("services.sh did not start InfluxDB:\n%s", stderr.String())
		}
		influxdPID, _ = strconv.Atoi(pid)
		return url
	case <-time.After(90 * time.Second):
		t.Fatalf("services.sh did not start InfluxDB within 90 s:\n%s", stderr.String())
		return ""
	}
}

func TestReplay_AgainstTheInfluxDBOfServicesSh(t *testing.T) {
	url := servicesInfluxDB(t)
	// Six seconds of GT-03 at 30 %LEL, above the yellow line of gas-lel (25)
	// for longer than its for: 2s, stored as the daemon stores readings.
	start := time.Now().Add(-time.Minute).Truncate(time.Second)
	var lines strings.Builder
	for i := range 6 {
		fmt.Fprintf(&lines, "gas,kind=gas_lel,sensor=GT-03,site=hx-chem-01 value=30 %d\n", start.Add(time.Duration(i)*time.Second).UnixNano())
	}
	resp, err := http.Post(url+"/write?db=hazwatch", "text/plain", strings.NewReader(lines.String()))
	if err != nil {
		t.Fatalf("write readings: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("write readings: %s", resp.Status)
	}

	got := replayInflux(t, replayConfigAt(t, url), start.Add(-time.Second), start.Add(time.Minute))
	want := []transition{{"gas-lel", "hx-chem-01", "GT-03", "firing", "yellow", start.Add(2 * time.Second).UTC()}}
	if len(got) != 1 || got[0] != want[0] {
		t.Errorf("replay over the InfluxDB of services.sh:\n%s\nwant:\n%s", transitionLines(got), transitionLines(want))
	}
}
