package dashboards

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"hazwatch/configs"
	"hazwatch/dashboards/grafanatest"
)

func TestProvision_PushesAndLogsTheOutcome(t *testing.T) {
	srv := grafanatest.New(t, testToken)
	cfg := exampleConfig(t, false)
	cfg.Grafana.URL, cfg.Grafana.Token = srv.URL, testToken
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	if err := Provision(context.Background(), cfg, log); err != nil {
		t.Fatalf("Provision: %v", err)
	}
	if err := Provision(context.Background(), cfg, log); err != nil {
		t.Fatalf("second Provision: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if last := lines[len(lines)-1]; !strings.Contains(last, "created=0 updated=0 unchanged=9") {
		t.Errorf("second provisioning logged %q, want all unchanged", last)
	}
	if _, _, ok := srv.Dashboard(overviewUID); !ok {
		t.Errorf("overview not in Grafana after Provision")
	}
}

func TestProvision_Errors(t *testing.T) {
	srv := grafanatest.New(t, testToken)
	tests := []struct {
		name, url, want string
	}{
		{"no url", "", "grafana.url is not set"},
		{"wrong token", srv.URL, "401"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := exampleConfig(t, false)
			cfg.Grafana.URL, cfg.Grafana.Token = tt.url, "wrong"
			err := Provision(context.Background(), cfg, slog.New(slog.DiscardHandler))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

// districtConfig is a district-sized catalogue: sites × sensors of the
// example's kinds, with a per-sensor override on every tenth sensor.
func districtConfig(b *testing.B, sites, sensors int) *configs.Config {
	cfg, err := configs.Load("../configs/example.yaml")
	if err != nil {
		b.Fatal(err)
	}
	kinds := []string{"gas_lel", "tank_level", "water_level", "ch4_vol"}
	cfg.Sites = nil
	for i := range sites {
		s := configs.Site{ID: fmt.Sprintf("site-%04d", i), Name: fmt.Sprintf("站点%d", i), Sensors: map[string]configs.Sensor{}}
		for j := range sensors {
			id := fmt.Sprintf("S-%02d", j)
			s.Sensors[id] = configs.Sensor{Name: "传感器" + id, Kind: kinds[j%len(kinds)]}
			if (i*sensors+j)%10 == 0 && kinds[j%len(kinds)] == "gas_lel" {
				cfg.Rules = append(cfg.Rules, configs.Rule{Name: "gas-lel",
					Match:     configs.Matcher{"site": {s.ID}, "sensor": {id}},
					Threshold: &configs.ThresholdRule{Above: configs.LevelValues{configs.LevelYellow: 20, configs.LevelRed: 40}}})
			}
		}
		cfg.Sites = append(cfg.Sites, s)
	}
	return cfg
}

func BenchmarkBuild_District(b *testing.B) {
	cfg := districtConfig(b, 500, 20)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Build(cfg); err != nil {
			b.Fatal(err)
		}
	}
}
