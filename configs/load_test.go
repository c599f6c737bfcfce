package configs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// mustParse parses text as a config named file and fails the test on any problem.
func mustParse(t *testing.T, file, text string) *Config {
	t.Helper()
	c, err := Parse(file, []byte(text))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

func TestLoad_ShippedConfigsAreValid(t *testing.T) {
	for _, file := range []string{"example.yaml", "demo.yaml"} {
		t.Run(file, func(t *testing.T) {
			c, err := Load(file)
			if err != nil {
				t.Fatalf("Load(%s):\n%v", file, err)
			}
			if c.File != file {
				t.Errorf("File = %q, want %q", c.File, file)
			}
		})
	}
}

func TestLoad_MissingFileIsAnError(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "none.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Load of a missing file: %v, want ErrNotExist", err)
	}
}

func TestLoad_DemoCatalogueIsTheSimulators(t *testing.T) {
	c, err := Load("demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]string{ // site → sensor → kind
		"hx-chem-01": {"GT-01": "gas_lel", "GT-02": "gas_lel", "GT-03": "gas_lel", "GT-04": "gas_lel",
			"H2S-01": "gas_toxic", "T101-LT": "tank_level", "T102-LT": "tank_level", "T101-TT": "tank_temp"},
		"jx-gas-02":    {"GT-01": "gas_lel", "GT-02": "gas_lel", "CH4-01": "ch4_vol"},
		"underpass-07": {"WL-1": "water_level", "WL-2": "water_level"},
		"river-02":     {"WL-1": "water_level", "RG-1": "rainfall"},
	}
	got := make(map[string]map[string]string)
	for _, s := range c.Sites {
		got[s.ID] = make(map[string]string)
		for id, sensor := range s.Sensors {
			got[s.ID][id] = sensor.Kind
			if sensor.Name == "" {
				t.Errorf("%s/%s has no name", s.ID, id)
			}
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("demo catalogue:\n%v\nwant\n%v", got, want)
	}
	cat := c.Catalogue()
	if n := cat.SensorName("hx-chem-01", "GT-03"); n != "3号罐区可燃气体" {
		t.Errorf("SensorName = %q", n)
	}
	if n := cat.SiteName("river-02"); n != "清水河水文站" {
		t.Errorf("SiteName = %q", n)
	}
	if ch := c.Notify.Channels; len(ch) != 1 || ch[0].Name != "center" || ch[0].Secret != "demo-secret" {
		t.Errorf("demo channels = %+v, want only center with the demo secret", ch)
	}
}

func TestLoad_FillsDefaults(t *testing.T) {
	c := mustParse(t, "t.yaml", base+`rules:
  - name: t
    threshold: {above: {red: 1}}
  - name: r
    rate: {window: 1m, above: {red: 1/h}}
  - name: p
    predict: {window: 1m, target: 1, horizon: 1h, level: red}
notify:
  channels:
    - {name: c, type: webhook, url: "http://h"}
`)
	checks := []struct {
		name      string
		got, want any
	}{
		{"data_dir", c.DataDir, "./data"},
		{"mqtt.qos", c.MQTT.QoS, 1},
		{"mqtt.clean_session", c.MQTT.CleanSession, false},
		{"mqtt.max_payload_bytes", c.MQTT.MaxPayloadBytes, 65536},
		{"mqtt.max_future_skew", c.MQTT.MaxFutureSkew.D(), 5 * time.Minute},
		{"mqtt.max_past_age", c.MQTT.MaxPastAge.D(), 7 * 24 * time.Hour},
		{"mqtt.subscriptions[0].format", c.MQTT.Subscriptions[0].Format, FormatJSON},
		{"mqtt.client_id has a prefix", strings.HasPrefix(c.MQTT.ClientID, "hazwatch-"), true},
		{"influxdb.batch_size", c.InfluxDB.BatchSize, 5000},
		{"influxdb.batch_max_bytes", c.InfluxDB.BatchMaxBytes, ByteSize(4 << 20)},
		{"influxdb.flush_interval", c.InfluxDB.FlushInterval.D(), time.Second},
		{"influxdb.timeout", c.InfluxDB.Timeout.D(), 10 * time.Second},
		{"influxdb.spool.dir", c.InfluxDB.Spool.Dir, filepath.Join("./data", "spool")},
		{"influxdb.spool.max_bytes", c.InfluxDB.Spool.MaxBytes, ByteSize(1 << 30)},
		{"http.listen", c.HTTP.Listen, "127.0.0.1:9108"},
		{"http.max_connections", c.HTTP.MaxConnections, 256},
		{"log.level", c.Log.Level, "info"},
		{"log.format", c.Log.Format, "json"},
		{"threshold for_readings", c.Rules[0].Threshold.ForReadings, 1},
		{"rate min_samples", c.Rules[1].Rate.MinSamples, 5},
		{"predict min_samples", c.Rules[2].Predict.MinSamples, 5},
		{"channel concurrency", c.Notify.Channels[0].Concurrency, 1},
		{"channel timeout", c.Notify.Channels[0].Timeout.D(), 10 * time.Second},
		{"built-in kinds", len(c.Kinds), 8},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
}

func TestLoad_SpoolDefaultFollowsDataDir(t *testing.T) {
	c := mustParse(t, "t.yaml", base+"data_dir: /var/lib/hazwatch\n")
	if want := "/var/lib/hazwatch/spool"; c.InfluxDB.Spool.Dir != want {
		t.Errorf("spool.dir = %q, want %q", c.InfluxDB.Spool.Dir, want)
	}
}

func TestLoad_ExplicitZeroQoSIsKept(t *testing.T) {
	text := strings.Replace(base, "mqtt:\n", "mqtt:\n  qos: 0\n", 1)
	if c := mustParse(t, "t.yaml", text); c.MQTT.QoS != 0 {
		t.Errorf("qos = %d, want 0", c.MQTT.QoS)
	}
}

func TestLoad_EnvValuesAreTypedLikeTheText(t *testing.T) {
	t.Setenv("HZ_QOS", "0")
	t.Setenv("HZ_PASSWORD", "123456")
	t.Setenv("HZ_DATA", "/srv/hz")
	text := strings.Replace(base, "mqtt:\n", "mqtt:\n  qos: ${HZ_QOS}\n  password: ${HZ_PASSWORD}\n  max_payload_bytes: ${HZ_UNSET:-1024}\n", 1) +
		"data_dir: \"${HZ_DATA}/x\"\n"
	c := mustParse(t, "t.yaml", text)
	if c.MQTT.QoS != 0 || c.MQTT.Password != "123456" || c.MQTT.MaxPayloadBytes != 1024 || c.DataDir != "/srv/hz/x" {
		t.Errorf("qos %d, password %q, max_payload_bytes %d, data_dir %q", c.MQTT.QoS, c.MQTT.Password, c.MQTT.MaxPayloadBytes, c.DataDir)
	}
}

func TestLoad_SecretFromFile(t *testing.T) {
	c := mustParse(t, "testdata/t.yaml", strings.Replace(base, "mqtt:\n", "mqtt:\n  password_file: mqtt_password.txt\n", 1))
	if c.MQTT.Password != "s3cret" {
		t.Errorf("password = %q, want the file's content without the newline", c.MQTT.Password)
	}
	if want := filepath.Join("testdata", "mqtt_password.txt"); c.MQTT.PasswordFile != want {
		t.Errorf("password_file = %q, want it resolved against the config's directory: %q", c.MQTT.PasswordFile, want)
	}
}

func TestLoad_SecretFileProblems(t *testing.T) {
	cases := []struct {
		name, text, want string
	}{
		{"both value and file", "http:\n  token: x\n  token_file: mqtt_password.txt\n",
			"testdata/t.yaml:10: http.token_file: set either token or token_file, not both"},
		{"missing file", "notify:\n  channels:\n    - name: c\n      type: webhook\n      url: http://h\n      secret_file: nope.txt\n",
			"testdata/t.yaml:13: notify.channels[0].secret_file: read secret: open testdata/nope.txt: no such file or directory"},
		// Issue 10 item 17: /dev/zero ended in running out of memory.
		{"endless file", "http:\n  token_file: /dev/zero\n",
			"testdata/t.yaml:9: http.token_file: read secret: /dev/zero holds more than 64 KiB, more than any secret"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("testdata/t.yaml", []byte(base+c.text))
			if err == nil || err.Error() != c.want {
				t.Errorf("error:\n%v\nwant:\n%s", err, c.want)
			}
		})
	}
}

func TestLoad_KindsExtendAndOverrideFieldByField(t *testing.T) {
	c := mustParse(t, "t.yaml", base+`kinds:
  gas_lel: {range: [0, 50]}
  nh3: {measurement: gas, unit: ppm, range: [0, 500]}
`)
	lel, _ := c.Kind("gas_lel")
	if want := (Kind{Name: "可燃气体", Measurement: "gas", Unit: "%LEL", Range: [2]float64{0, 50}, Decimals: 1}); lel != want {
		t.Errorf("gas_lel = %+v, want %+v", lel, want)
	}
	nh3, ok := c.Kind("nh3")
	if want := (Kind{Name: "nh3", Measurement: "gas", Unit: "ppm", Range: [2]float64{0, 500}}); !ok || nh3 != want {
		t.Errorf("nh3 = %+v, %v; want %+v", nh3, ok, want)
	}
	if _, ok := c.Kind("rainfall"); !ok {
		t.Error("built-in rainfall lost by the file's kinds")
	}
	if _, ok := c.Kind("nope"); ok {
		t.Error("Kind(nope) found")
	}
}

func TestLoad_BuiltinKindsAreFresh(t *testing.T) {
	c := mustParse(t, "t.yaml", base+"kinds:\n  gas_lel: {unit: ppm}\n")
	if c.Kinds["gas_lel"].Unit != "ppm" || BuiltinKinds()["gas_lel"].Unit != "%LEL" {
		t.Error("a file's override leaked into the built-in kinds")
	}
}

func TestLoad_MatcherAndHysteresisForms(t *testing.T) {
	c := mustParse(t, "t.yaml", base+`rules:
  - name: a
    match: {kind: gas_lel, site: [a, "b*"]}
    threshold: {above: {yellow: 1, red: 2}, hysteresis: 0.5}
  - name: b
    match: {}
    threshold: {above: {yellow: 1, red: 2}, hysteresis: {red: 0.5}}
`)
	if want := (Matcher{"kind": {"gas_lel"}, "site": {"a", "b*"}}); !reflect.DeepEqual(c.Rules[0].Match, want) {
		t.Errorf("match = %v, want %v", c.Rules[0].Match, want)
	}
	if h := c.Rules[0].Threshold.Hysteresis; h.For(LevelRed) != 0.5 || h.For(LevelYellow) != 0.5 {
		t.Errorf("one hysteresis = %+v", h)
	}
	if h := c.Rules[1].Threshold.Hysteresis; h.For(LevelRed) != 0.5 || h.For(LevelYellow) != 0 {
		t.Errorf("per-level hysteresis = %+v", h)
	}
	if m := c.Rules[1].Match; m == nil || len(m) != 0 {
		t.Errorf("empty match = %#v, want an empty, non-nil Matcher", m)
	}
}

func TestLoad_AnchorsAndMergeKeys(t *testing.T) {
	c := mustParse(t, "t.yaml", base+`rules:
  - name: a
    threshold: &lel
      above: {yellow: 25, red: 50}
      for: 5s
  - name: b
    threshold:
      <<: *lel
      for: 10s
`)
	a, b := c.Rules[0].Threshold, c.Rules[1].Threshold
	if b.Above[LevelRed] != 50 || a.For.D() != 5*time.Second || b.For.D() != 10*time.Second {
		t.Errorf("a = %+v, b = %+v", a, b)
	}
}

func TestLoad_SitesFileMergesRows(t *testing.T) {
	c := mustParse(t, "testdata/t.yaml", base+`sites_file: sites.csv
sites:
  - id: river-02
    sensors:
      RG-1: {name: 雨量, kind: rainfall}
`)
	cat := c.Catalogue()
	hx, ok := cat.Site("hx-chem-01")
	if !ok {
		t.Fatal("hx-chem-01 not in the catalogue")
	}
	if hx.Name != "华兴化工" || hx.Enterprise != "华兴化工有限公司" || hx.Lat != 30.2741 || len(hx.Sensors) != 2 {
		t.Errorf("hx-chem-01 = %+v", hx)
	}
	if want := []string{"+8613800000001", "+8613800000002", "+8613800000003"}; !slices.Equal(hx.Contacts, want) {
		t.Errorf("contacts = %v, want %v", hx.Contacts, want)
	}
	river, _ := cat.Site("river-02")
	if len(river.Sensors) != 2 || river.Name != "清水河水文站" || river.Sensors["WL-1"].Name != "河道水位" {
		t.Errorf("river-02 (YAML and CSV merged) = %+v", river)
	}
	if up, ok := cat.Site("underpass-07"); !ok || len(up.Sensors) != 0 || len(up.Contacts) != 1 {
		t.Errorf("underpass-07 (a row without sensor) = %+v", up)
	}
}

func TestLoad_SitesFileProblemsAtCSVLines(t *testing.T) {
	_, err := Parse("testdata/t.yaml", []byte(base+"sites_file: sites_bad.csv\n"))
	want := []string{
		`testdata/sites_bad.csv:2: lat: want a number, got "north"`,
		`testdata/sites_bad.csv:3: site_name: "兴华化工" contradicts "华兴化工" given earlier for site hx-chem-01`,
		`testdata/sites_bad.csv:3: sensor_id: sensor GT-01 of site hx-chem-01 is defined twice`,
		`testdata/sites_bad.csv:4: site_id: required`,
		`testdata/sites_bad.csv:5: kind: unknown kind "water_levl" (ch4_vol, gas_lel, gas_toxic, rainfall, tank_level, tank_pressure, tank_temp, water_level)`,
	}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Errorf("error:\n%v\nwant:\n%s", err, strings.Join(want, "\n"))
	}
}

func TestLoad_SitesFileMissing(t *testing.T) {
	_, err := Parse("testdata/t.yaml", []byte(base+"sites_file: none.csv\n"))
	if want := "testdata/t.yaml:8: sites_file: open testdata/none.csv: no such file or directory"; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

func TestErrors_SortedByFileAndLine(t *testing.T) {
	_, err := Parse("t.yaml", []byte("log:\n  level: loud\nmqtt:\n  qos: 5\n"))
	var errs Errors
	if !errors.As(err, &errs) || len(errs) < 3 {
		t.Fatalf("err = %v", err)
	}
	if !slices.IsSortedFunc(errs, func(a, b Error) int { return a.Line - b.Line }) {
		t.Errorf("not sorted by line:\n%v", err)
	}
}

func TestLoad_AliasBombIsRefused(t *testing.T) {
	var b strings.Builder
	b.WriteString("m0: &m0 {a: 1, b: 2}\n")
	for i := 1; i <= 6; i++ { // each level merges the previous ten times: 10⁶ values
		p := fmt.Sprintf("*m%d", i-1)
		fmt.Fprintf(&b, "m%d: &m%d {<<: [%s]}\n", i, i, strings.Repeat(p+",", 9)+p)
	}
	b.WriteString("influxdb: {static_tags: *m6}\n")
	_, err := Parse("t.yaml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "aliases expand to too many values") {
		t.Errorf("error = %v, want the alias expansion refused", err)
	}
}

// BenchmarkParse_Demo measures a reload of the demo config.
func BenchmarkParse_Demo(b *testing.B) {
	data, err := os.ReadFile("demo.yaml")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Parse("demo.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}
