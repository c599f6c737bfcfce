// Command hazsim simulates the sensors of the hazwatch demo: realistic feeds
// with incident scenarios, a load generator for benchmarks, and a webhook
// receiver that prints the alerts hazwatch sends, and the storm benchmark.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: hazsim <command> [flags]

commands:
  run      -broker URL [-interval 1s] [-scenarios leak,overfill,flood,silent,h2s,ch4|all]
           [-speed 1] [-seed 1] [-qos 1] [-duration 0]   the demo catalogue's feeds
  load     -broker URL -sensors N -rate R -duration D [-qos 1] [-conns 4] [-format json]
                                                          load for benchmarks
  receive  -listen ADDR -secret S                         print the alerts hazwatch posts
  storm    -broker URL -api URL -listen ADDR [-name storm] [-rate 5000] [-storm 2000]
           [-spread 100ms] [-probe-every 50ms] [-probe-for 10s]
                                                          the storm benchmark (make stormbench)
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	var err error
	switch args[0] {
	case "run":
		err = runFeeds(ctx, args[1:], log)
	case "load":
		err = runLoad(ctx, args[1:], stdout, log)
	case "receive":
		err = runReceive(ctx, args[1:], stdout, log)
	case "storm":
		err = runStorm(ctx, args[1:], stdout, log)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "hazsim: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, context.Canceled):
		return 0
	case err != nil:
		fmt.Fprintln(stderr, "hazsim:", err)
		return 1
	}
	return 0
}
