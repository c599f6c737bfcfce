package main

import (
	"fmt"
	"io"

	"hazwatch/configs"
)

// runCheck validates a config file. It prints every problem to stderr as
// FILE:LINE: field: problem and returns 1, or prints "FILE: ok" and what the
// config holds to stdout and returns 0; 2 is a usage error.
func runCheck(args []string, stdout, stderr io.Writer) int {
	fs, path := commandFlags("check", stderr)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "check: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	cfg, err := configs.Load(*path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	sensors := 0
	for _, s := range cfg.Sites {
		sensors += len(s.Sensors)
	}
	fmt.Fprintf(stdout, "%s: ok\n", *path)
	fmt.Fprintf(stdout, "sites: %d, sensors: %d, kinds: %d, rules: %d, channels: %d, routes: %d, silences: %d\n",
		len(cfg.Sites), sensors, len(cfg.Kinds), len(cfg.Rules), len(cfg.Notify.Channels),
		len(cfg.Notify.Routes), len(cfg.Notify.Silences))
	return 0
}
