package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"

	"hazwatch/configs"
	"hazwatch/dashboards"
)

// runDashboards builds the Grafana dashboards of a config and either writes
// them for file provisioning under -out (default grafana.provisioning_dir)
// or pushes them to grafana.url with -push. It returns 0 on success, 1 on a
// failure and 2 on a usage error.
func runDashboards(args []string, stdout, stderr io.Writer) int {
	fs, path := commandFlags("dashboards", stderr)
	out := fs.String("out", "", "write provisioning files under `DIR` (default grafana.provisioning_dir)")
	push := fs.Bool("push", false, "push to grafana.url with grafana.token instead of writing files")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || *push && *out != "" {
		fmt.Fprintln(stderr, "dashboards: give either -out DIR or -push")
		fs.Usage()
		return 2
	}
	cfg, err := configs.Load(*path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	set, err := dashboards.Build(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "dashboards:", err)
		return 1
	}
	if *push {
		return pushDashboards(cfg, set, stdout, stderr)
	}
	dir := *out
	if dir == "" {
		dir = cfg.Grafana.ProvisioningDir
	}
	if dir == "" {
		fmt.Fprintln(stderr, "dashboards: give -out DIR or set grafana.provisioning_dir")
		return 2
	}
	if err := dashboards.WriteProvisioning(dir, set); err != nil {
		fmt.Fprintln(stderr, "dashboards:", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote datasource %s, folder %s and %d dashboards under %s\n",
		set.Datasource.UID, set.Folder.Title, len(set.Dashboards), dir)
	return 0
}

// pushDashboards pushes set to Grafana and prints one line per object and a
// summary.
func pushDashboards(cfg *configs.Config, set *dashboards.Set, stdout, stderr io.Writer) int {
	if cfg.Grafana.URL == "" {
		fmt.Fprintln(stderr, "dashboards: -push needs grafana.url")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	changes, err := dashboards.Push(ctx, dashboards.NewClient(cfg.Grafana.URL, cfg.Grafana.Token), set)
	for _, ch := range changes {
		fmt.Fprintf(stdout, "%-9s %-10s %s %s\n", ch.Outcome, ch.Object, ch.UID, ch.Title)
	}
	if err != nil {
		fmt.Fprintln(stderr, "dashboards:", err)
		return 1
	}
	counts := dashboards.Tally(changes)
	fmt.Fprintf(stdout, "%s: %d created, %d updated, %d unchanged\n", configs.RedactURL(cfg.Grafana.URL),
		counts[dashboards.Created], counts[dashboards.Updated], counts[dashboards.Unchanged])
	return 0
}
