// Package testenv starts the real servers hazwatch talks to — Mosquitto and
// InfluxDB 1.8 — on free loopback ports for integration tests, with their
// files under the test's temporary directory, and stops them in t.Cleanup.
package testenv

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startTimeout bounds how long a server may take to answer after start.
const startTimeout = 20 * time.Second

// FreePort returns a loopback TCP port that was free a moment ago: it listens
// on 127.0.0.1:0, notes the port the kernel picked and closes the listener.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("pick a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// process is one server child process, started in its own process group so
// that stopping it leaves nothing running.
type process struct {
	name string
	args []string
	env  []string // added to the test's environment
	log  string   // file collecting the server's output, shown when it fails

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// start runs the server and waits until ready reports nil, polling with a
// deadline.
func (p *process) start(t testing.TB, ready func() error) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		t.Fatalf("%s is already running", p.name)
	}
	out, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatalf("open %s log: %v", p.name, err)
	}
	cmd := exec.Command(p.args[0], p.args[1:]...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(os.Environ(), p.env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		out.Close()
		t.Fatalf("start %s: %v", p.name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		out.Close()
		close(done)
	}()
	p.cmd, p.done = cmd, done

	deadline := time.Now().Add(startTimeout)
	for {
		err := ready()
		if err == nil {
			return
		}
		select {
		case <-done:
			p.cmd = nil
			t.Fatalf("%s exited before it was ready: %v\n%s", p.name, err, p.output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after %s: %v\n%s", p.name, startTimeout, err, p.output())
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not synchronisation
	}
}

// stop kills the server's process group and waits for it to exit. Stopping a
// stopped server does nothing.
func (p *process) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	// Terminate first so the server can close its files; kill if it lingers.
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
	p.cmd = nil
}

// kill ends the server's process group at once, without letting it clean up.
func (p *process) kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
	p.cmd = nil
}

func (p *process) output() string {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return err.Error()
	}
	const tail = 4000
	if len(b) > tail {
		b = b[len(b)-tail:]
	}
	return string(b)
}

// binary finds a server executable in the given places or on PATH, or fails
// the test with how to install it: a missing server is an error, never a skip.
func binary(t testing.TB, name, install string, places ...string) string {
	t.Helper()
	for _, p := range places {
		if p == "" {
			continue
		}
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	t.Fatalf("%s not found (looked in %v and PATH); install it with: %s", name, places, install)
	return ""
}

// dialable reports whether something accepts TCP connections at addr.
func dialable(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}

// gopathBin is where `go install` puts binaries.
func gopathBin(name string) string {
	if gb := os.Getenv("GOBIN"); gb != "" {
		return filepath.Join(gb, name)
	}
	gp := os.Getenv("GOPATH")
	if gp == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		gp = filepath.Join(home, "go")
	}
	return filepath.Join(filepath.SplitList(gp)[0], "bin", name)
}

var errNotReady = errors.New("not ready")

func addr(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }
