package configs

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Error is one problem of a config file, at the line where it is written.
type Error struct {
	File    string
	Line    int
	Field   string // the field path, e.g. rules[3].threshold.above.purple
	Problem string
}

// Error formats the problem as FILE:LINE: field: problem.
func (e Error) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Problem)
	}
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Field, e.Problem)
}

// Errors is every problem found in a config, sorted by file and line.
type Errors []Error

// Error lists the problems, one a line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Load reads, decodes and validates the config file at path. When anything
// is wrong the error is an Errors naming every problem with its line.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes and validates a config from data, naming it file in errors.
// Relative paths of files the config reads (sites_file, *_file, TLS files)
// are resolved against file's directory; data_dir and the other directories
// hazwatch writes stay relative to the working directory.
func Parse(file string, data []byte) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, Errors{syntaxError(file, err)}
	}
	cfg := &Config{Kinds: BuiltinKinds()}
	d := newDecoder(file)
	d.decode(&root, reflect.ValueOf(cfg).Elem(), "")
	cfg.File = file
	l := &loader{cfg: cfg, d: d, dir: filepath.Dir(file)}
	l.resolvePaths()
	l.readSecrets()
	l.readSitesFile()
	l.applyDefaults()
	validate(cfg, d)
	if len(d.errs) > 0 {
		slices.SortStableFunc(d.errs, func(a, b Error) int {
			return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line))
		})
		return nil, d.errs
	}
	return cfg, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns a YAML parse error into an Error with its line.
func syntaxError(file string, err error) Error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return Error{File: file, Line: line, Problem: m[2]}
	}
	return Error{File: file, Line: 1, Problem: strings.TrimPrefix(msg, "yaml: ")}
}

// expandEnv replaces ${NAME} with the environment variable's value and
// ${NAME:-default} with the value or, when it is unset or empty, the
// default. An unset variable without a default is an error, so that a
// missing secret is not silently empty.
func expandEnv(s string) (string, error) {
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		b.WriteString(s[:i])
		s = s[i+2:]
		j := strings.IndexByte(s, '}')
		if j < 0 {
			return "", errors.New("unterminated ${")
		}
		name, def, hasDef := strings.Cut(s[:j], ":-")
		if !envName.MatchString(name) {
			return "", fmt.Errorf("bad environment variable name %q", name)
		}
		v, ok := os.LookupEnv(name)
		switch {
		case hasDef && v == "":
			v = def
		case !ok:
			return "", fmt.Errorf("environment variable %s is not set (write ${%s:-} to allow it empty)", name, name)
		}
		b.WriteString(v)
		s = s[j+1:]
	}
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// loader holds what the steps after decoding share: the config, the
// decoder's problems and lines, and the config's directory.
type loader struct {
	cfg *Config
	d   *decoder
	dir string
}

func (l *loader) rel(p *string) {
	if *p != "" && !filepath.IsAbs(*p) {
		*p = filepath.Join(l.dir, *p)
	}
}

// resolvePaths makes the files the config reads relative to its directory.
func (l *loader) resolvePaths() {
	c := l.cfg
	for _, p := range []*string{&c.SitesFile, &c.MQTT.PasswordFile, &c.MQTT.TLS.CAFile,
		&c.MQTT.TLS.CertFile, &c.MQTT.TLS.KeyFile, &c.InfluxDB.TokenFile, &c.Grafana.TokenFile,
		&c.HTTP.TokenFile, &c.HTTP.TLS.CertFile, &c.HTTP.TLS.KeyFile} {
		l.rel(p)
	}
	for i := range c.Notify.Channels {
		ch := &c.Notify.Channels[i]
		for _, p := range []*string{&ch.SecretFile, &ch.AccessKeySecretFile, &ch.SecretKeyFile} {
			l.rel(p)
		}
	}
}

// secret is a field whose value may come from a file instead.
type secret struct {
	path  string // field path of the value, e.g. mqtt.password
	value *string
	file  string
}

// readSecrets reads each *_file into its field.
func (l *loader) readSecrets() {
	c := l.cfg
	secrets := []secret{
		{"mqtt.password", &c.MQTT.Password, c.MQTT.PasswordFile},
		{"influxdb.token", &c.InfluxDB.Token, c.InfluxDB.TokenFile},
		{"grafana.token", &c.Grafana.Token, c.Grafana.TokenFile},
		{"http.token", &c.HTTP.Token, c.HTTP.TokenFile},
	}
	for i := range c.Notify.Channels {
		ch := &c.Notify.Channels[i]
		p := fmt.Sprintf("notify.channels[%d].", i)
		secrets = append(secrets,
			secret{p + "secret", &ch.Secret, ch.SecretFile},
			secret{p + "access_key_secret", &ch.AccessKeySecret, ch.AccessKeySecretFile},
			secret{p + "secret_key", &ch.SecretKey, ch.SecretKeyFile})
	}
	for _, s := range secrets {
		if s.file == "" {
			continue
		}
		filePath := s.path + "_file"
		if *s.value != "" {
			l.d.fail(l.d.line(filePath), filePath, fmt.Sprintf("set either %s or %s_file, not both", lastKey(s.path), lastKey(s.path)))
			continue
		}
		b, err := readSecretFile(s.file)
		if err != nil {
			l.d.fail(l.d.line(filePath), filePath, fmt.Sprintf("read secret: %v", err))
			continue
		}
		*s.value = strings.TrimSpace(string(b))
	}
}

// maxSecretFile bounds what a *_file key reads: a token, a password or a
// key is far shorter, and a file named by mistake (a log, /dev/zero) must
// give an error rather than exhaust memory.
const maxSecretFile = 64 << 10

// readSecretFile reads a secret file of at most maxSecretFile bytes.
func readSecretFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxSecretFile {
		return nil, fmt.Errorf("%s holds more than %d KiB, more than any secret", path, maxSecretFile>>10)
	}
	return b, nil
}

func lastKey(path string) string { return path[strings.LastIndexByte(path, '.')+1:] }

// readSitesFile adds the sites_file catalogue to the config's sites.
func (l *loader) readSitesFile() {
	if l.cfg.SitesFile == "" {
		return
	}
	f, err := os.Open(l.cfg.SitesFile)
	if err != nil {
		l.d.fail(l.d.line("sites_file"), "sites_file", err.Error())
		return
	}
	defer f.Close()
	l.d.errs = append(l.d.errs, readSitesCSV(l.cfg.SitesFile, f, &l.cfg.Sites, l.cfg.Kinds)...)
}

// orDefault sets *v to def when it is the zero value.
func orDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// applyDefaults fills what the file left out.
func (l *loader) applyDefaults() {
	c := l.cfg
	orDefault(&c.DataDir, "./data")

	host, _ := os.Hostname()
	orDefault(&c.MQTT.ClientID, "hazwatch-"+cmp.Or(host, "1"))
	if !l.d.wrote("mqtt.qos") {
		c.MQTT.QoS = 1
	}
	orDefault(&c.MQTT.MaxPayloadBytes, 64<<10)
	orDefault(&c.MQTT.MaxFutureSkew, Duration(DefaultMaxFutureSkew))
	orDefault(&c.MQTT.MaxPastAge, Duration(DefaultMaxPastAge))
	for i := range c.MQTT.Subscriptions {
		orDefault(&c.MQTT.Subscriptions[i].Format, FormatJSON)
	}

	orDefault(&c.InfluxDB.BatchSize, 5000)
	orDefault(&c.InfluxDB.BatchMaxBytes, DefaultBatchMaxBytes)
	orDefault(&c.InfluxDB.FlushInterval, Duration(time.Second))
	orDefault(&c.InfluxDB.Timeout, Duration(10*time.Second))
	orDefault(&c.InfluxDB.Spool.Dir, filepath.Join(c.DataDir, "spool"))
	orDefault(&c.InfluxDB.Spool.MaxBytes, 1<<30)

	for name, k := range c.Kinds {
		orDefault(&k.Name, name)
		c.Kinds[name] = k
	}
	for i := range c.Rules {
		r := &c.Rules[i]
		switch {
		case r.Threshold != nil:
			orDefault(&r.Threshold.ForReadings, 1)
		case r.Rate != nil:
			orDefault(&r.Rate.MinSamples, 5)
		case r.Predict != nil:
			orDefault(&r.Predict.MinSamples, 5)
		}
	}
	for i := range c.Notify.Channels {
		ch := &c.Notify.Channels[i]
		orDefault(&ch.Concurrency, 1)
		orDefault(&ch.Timeout, Duration(10*time.Second))
	}

	orDefault(&c.Grafana.Folder, "安全生产监测预警")
	orDefault(&c.Grafana.Datasource, "hazwatch-influxdb")
	orDefault(&c.HTTP.Listen, "127.0.0.1:9108")
	orDefault(&c.HTTP.MaxConnections, DefaultMaxConnections)
	orDefault(&c.Log.Level, "info")
	orDefault(&c.Log.Format, "json")

	orDefault(&c.Limits.UnknownSensors, UnknownAccept)
	orDefault(&c.Limits.MaxSeries, 200_000)
	if c.Limits.NewSeriesRate.PerSecond == 0 {
		c.Limits.NewSeriesRate, _ = parseRate("1000/m")
	}
	orDefault(&c.Limits.NewSeriesBurst, 20_000)
	orDefault(&c.Limits.MaxNameBytes, 256)
	orDefault(&c.Limits.EvictAfter, Duration(time.Hour))
}
