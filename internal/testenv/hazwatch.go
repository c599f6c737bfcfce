package testenv

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Build compiles the main package pkg (such as "hazwatch/cmd/hazwatch") into
// dir and returns the binary's path. Tests call it once, from TestMain.
func Build(pkg, dir string) (string, error) {
	bin := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin, nil
}

// Daemon is a running `hazwatch run`, for tests that drive the whole daemon.
type Daemon struct {
	// HTTP is the daemon's http.listen address, host:port.
	HTTP string

	t    testing.TB
	proc *process
}

// Hazwatch starts `bin run -config config` with env added to the environment
// and waits until its /readyz answers 200 on httpAddr (the config's
// http.listen). It is stopped in t.Cleanup.
func Hazwatch(t testing.TB, bin, config, httpAddr string, env ...string) *Daemon {
	t.Helper()
	d := &Daemon{
		HTTP: httpAddr,
		t:    t,
		proc: &process{
			name: "hazwatch",
			args: []string{bin, "run", "-config", config},
			env:  env,
			log:  filepath.Join(t.TempDir(), "hazwatch.log"),
		},
	}
	d.Start()
	t.Cleanup(d.Stop)
	return d
}

// Start starts the daemon again after Stop or Kill and waits until it is ready.
func (d *Daemon) Start() {
	d.t.Helper()
	d.proc.start(d.t, func() error {
		resp, err := http.Get("http://" + d.HTTP + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/readyz: %s", resp.Status)
		}
		return nil
	})
}

// Stop sends SIGTERM, so the daemon drains and saves its state, and waits.
func (d *Daemon) Stop() { d.proc.stop() }

// Kill sends SIGKILL: the daemon gets no chance to flush or save anything.
func (d *Daemon) Kill() { d.proc.kill() }

// Signal sends sig (such as SIGHUP) to the running daemon.
func (d *Daemon) Signal(sig syscall.Signal) {
	d.proc.mu.Lock()
	defer d.proc.mu.Unlock()
	if d.proc.cmd != nil {
		_ = d.proc.cmd.Process.Signal(sig)
	}
}

// Log returns the end of the daemon's output.
func (d *Daemon) Log() string { return d.proc.output() }

// LogContains reports whether the daemon's whole output contains s.
func (d *Daemon) LogContains(s string) bool {
	b, _ := os.ReadFile(d.proc.log)
	return strings.Contains(string(b), s)
}

// WaitFor polls cond until it holds or timeout passes, then fails the test
// with what, and the daemon's log.
func (d *Daemon) WaitFor(what string, timeout time.Duration, cond func() bool) {
	d.t.Helper()
	if !Eventually(timeout, cond) {
		d.t.Fatalf("%s: not within %s\ndaemon log:\n%s", what, timeout, d.Log())
	}
}

// Eventually polls cond every 20ms until it holds (true) or timeout passes (false).
func Eventually(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not synchronisation
	}
}
