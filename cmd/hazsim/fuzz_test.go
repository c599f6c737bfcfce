package main

import (
	"strings"
	"testing"
)

func FuzzDecodeAlerts(f *testing.F) {
	f.Add([]byte(firing))
	f.Add([]byte(`{"alerts":[` + firing + `]}`))
	f.Add([]byte(`{"alerts":[]}`))
	f.Add([]byte(`[1,2]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		alerts, err := decodeAlerts(body)
		if err == nil && len(alerts) == 0 {
			t.Errorf("decodeAlerts(%q) gave no alert and no error", body)
		}
		for _, a := range alerts {
			_ = formatAlert(a)
		}
	})
}

func FuzzParseScenarios(f *testing.F) {
	f.Add("leak,flood")
	f.Add("all")
	f.Add(" , silent,")
	f.Fuzz(func(t *testing.T, list string) {
		got, err := parseScenarios(list)
		if err != nil {
			return
		}
		for _, sc := range got {
			if _, ok := scenarios[sc.Name]; !ok || !strings.Contains(list, sc.Name) && !strings.Contains(list, "all") {
				t.Errorf("parseScenarios(%q) gave %q", list, sc.Name)
			}
		}
	})
}
