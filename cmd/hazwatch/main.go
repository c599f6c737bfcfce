// Command hazwatch is the safety-production monitoring and early-warning daemon
// (安全生产监测预警) and its tools: check a config, provision Grafana
// dashboards, replay rules over history.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

const usage = `usage: hazwatch <command> [flags]

commands:
  run        -config FILE                      run the daemon
  check      -config FILE                      validate a config; errors as FILE:LINE: field: problem
  dashboards -config FILE [-out DIR | -push]   write or push the Grafana dashboards
  replay     -config FILE (-from T -to T | -file DATA) [-json]
                                               print the alerts the rules would have raised
  version                                      print the version
`

// version is set at build time with -ldflags "-X main.version=…"; otherwise
// the module version from the build info is used.
var version = ""

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "run":
		return runDaemon(rest, stderr)
	case "check":
		return runCheck(rest, stdout, stderr)
	case "dashboards":
		return runDashboards(rest, stdout, stderr)
	case "replay":
		return runReplay(rest, stdout, stderr)
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, "hazwatch", versionString())
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "hazwatch: unknown command %q\n\n%s", cmd, usage)
	return 2
}

func versionString() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
	}
	return v
}

// commandFlags returns a subcommand's flag set, reporting to stderr, and the
// -config flag that every subcommand takes.
func commandFlags(name string, stderr io.Writer) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs, fs.String("config", "hazwatch.yaml", "config `FILE`")
}
