package main

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"hazwatch/internal/testenv"
)

// hazwatchBin is the hazwatch binary built once for the package's tests that
// drive the real daemon and CLI as a separate process.
var hazwatchBin string

// update rewrites the package's golden files under testdata/ instead of
// comparing with them: go test ./cmd/hazwatch/ -run ... -update.
var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// TestMain builds the binary into a temporary directory before the tests run
// and removes it afterwards, so that every daemon test runs the same build.
func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

// buildAndRun is TestMain's body, separate so that its deferred removal happens
// before os.Exit.
func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "hazwatch-bin-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "make binary dir: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	hazwatchBin, err = testenv.Build("hazwatch/cmd/hazwatch", dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%v\n", err)
		return 1
	}
	return m.Run()
}
