package configs

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"hazwatch/reading"
)

// validator checks a decoded config as a whole and reports each problem at
// the line of the field it names.
type validator struct {
	c *Config
	d *decoder
}

// validate adds every problem of c to d's errors.
func validate(c *Config, d *decoder) {
	v := &validator{c: c, d: d}
	v.mqtt()
	v.influxdb()
	v.kinds()
	v.sites()
	v.rules()
	v.channels()
	v.routes()
	v.silences()
	v.misc()
}

// fail reports a problem at path, unless decoding already reported one
// there: a value that did not parse is not also "required".
func (v *validator) fail(path, format string, args ...any) {
	if slices.ContainsFunc(v.d.errs, func(e Error) bool { return e.Field == path }) {
		return
	}
	v.d.fail(v.d.line(path), path, fmt.Sprintf(format, args...))
}

// checkURL requires raw, when required or set, to be an absolute URL of
// one of the schemes.
func (v *validator) checkURL(path, raw string, required bool, schemes ...string) {
	if raw == "" {
		if required {
			v.fail(path, "required")
		}
		return
	}
	u, err := url.Parse(raw)
	var uerr *url.Error
	switch {
	case errors.As(err, &uerr):
		v.fail(path, "bad URL: %v", uerr.Err) // without the URL, which may hold a secret
	case err != nil:
		v.fail(path, "bad URL")
	case !slices.Contains(schemes, u.Scheme) || u.Host == "":
		v.fail(path, "want a URL such as %s://host:port, got %q", schemes[0], RedactURL(raw))
	}
}

// oneOf requires val to be one of allowed.
func (v *validator) oneOf(path, val string, allowed ...string) {
	if !slices.Contains(allowed, val) {
		v.fail(path, "unknown value %q (%s)", val, strings.Join(allowed, ", "))
	}
}

func (v *validator) mqtt() {
	m := v.c.MQTT
	v.checkURL("mqtt.url", m.URL, true, "tcp", "ssl", "tls", "mqtt", "mqtts", "ws", "wss")
	v.qos("mqtt.qos", m.QoS)
	if m.MaxPayloadBytes < 0 {
		v.fail("mqtt.max_payload_bytes", "must be positive")
	}
	if (m.TLS.CertFile == "") != (m.TLS.KeyFile == "") {
		v.fail("mqtt.tls", "cert_file and key_file go together")
	}
	if len(m.Subscriptions) == 0 {
		v.fail("mqtt.subscriptions", "at least one subscription is required")
	}
	for i, s := range m.Subscriptions {
		p := fmt.Sprintf("mqtt.subscriptions[%d]", i)
		tags, err := topicTags(s.Topic)
		if err != nil {
			v.fail(p+".topic", "%v", err)
		}
		hasKind := slices.Contains(tags, "kind")
		switch {
		case s.Kind != "":
			v.knownKind(p+".kind", s.Kind)
			if hasKind {
				v.fail(p+".kind", "the topic's {kind} segment already gives the kind; keep one")
			}
		case err == nil && !hasKind:
			v.fail(p+".topic", "no {kind} segment and no kind: for the subscription")
		}
		v.oneOf(p+".format", s.Format, FormatJSON, FormatLine, FormatValue)
		if s.QoS != nil {
			v.qos(p+".qos", *s.QoS)
		}
	}
	v.deadLetterTopic()
}

// deadLetterTopic refuses a dead-letter topic that hazwatch would receive
// again: each dead letter would be rejected and dead-lettered in turn, a
// loop that grew to 125 MB in ten seconds until the broker dropped the
// client.
func (v *validator) deadLetterTopic() {
	const path = "mqtt.dead_letter_topic"
	topic := v.c.MQTT.DeadLetterTopic
	if topic == "" {
		return
	}
	if strings.ContainsAny(topic, "+#") {
		v.fail(path, "a topic to publish to holds no + or #")
		return
	}
	for i, s := range v.c.MQTT.Subscriptions {
		if receives(s.Topic, topic) {
			v.fail(path, "%q would be received again through subscription %q (mqtt.subscriptions[%d]), and each dead letter would make another",
				topic, s.Topic, i)
			return
		}
	}
}

// receives reports whether the broker delivers a message published to topic
// to the subscription pattern: a {name} level is a + to the broker, which
// also delivers what hazwatch then refuses (an empty level), and a shared
// subscription's $share/GROUP/ prefix is not part of what it matches.
func receives(pattern, topic string) bool {
	if rest, ok := strings.CutPrefix(pattern, "$share/"); ok {
		if _, p, ok := strings.Cut(rest, "/"); ok {
			pattern = p
		}
	}
	ps, ts := strings.Split(pattern, "/"), strings.Split(topic, "/")
	// MQTT 3.1.1 §4.7.2: wildcards at the first level do not match topics
	// starting with $.
	system := strings.HasPrefix(topic, "$")
	for i, p := range ps {
		wild := p == "#" || p == "+" || strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}")
		switch {
		case wild && i == 0 && system:
			return false
		case p == "#":
			return true
		case i >= len(ts):
			return false
		case !wild && p != ts[i]:
			return false
		}
	}
	return len(ps) == len(ts)
}

func (v *validator) qos(path string, q int) {
	if q != 0 && q != 1 {
		v.fail(path, "must be 0 or 1")
	}
}

// wordName is what kind and measurement names are made of.
var wordName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// topicTags checks a subscription pattern and returns the names of its
// {name} segments. + matches one level, # the rest and only at the end.
func topicTags(pattern string) ([]string, error) {
	if pattern == "" {
		return nil, fmt.Errorf("required")
	}
	segs := strings.Split(pattern, "/")
	var tags []string
	for i, s := range segs {
		switch {
		case s == "#":
			if i != len(segs)-1 {
				return nil, fmt.Errorf("# may only end a pattern: %q", pattern)
			}
		case s == "+":
		case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}"):
			name := s[1 : len(s)-1]
			if err := reading.CheckTagName(name); err != nil {
				return nil, err
			}
			if slices.Contains(tags, name) {
				return nil, fmt.Errorf("tag {%s} appears twice in %q", name, pattern)
			}
			tags = append(tags, name)
		case strings.ContainsAny(s, "+#{}"):
			return nil, fmt.Errorf("segment %q mixes a wildcard or {name} with text (a segment is a word, {name}, + or #)", s)
		}
	}
	return tags, nil
}

func (v *validator) knownKind(path, kind string) {
	if _, ok := v.c.Kinds[kind]; !ok {
		v.fail(path, "%s", unknownKind(kind, v.c.Kinds))
	}
}

// unknownKind names the problem of a kind that is not defined.
func unknownKind(kind string, kinds map[string]Kind) string {
	return fmt.Sprintf("unknown kind %q (%s)", kind, strings.Join(slices.Sorted(maps.Keys(kinds)), ", "))
}

func (v *validator) influxdb() {
	db := v.c.InfluxDB
	v.checkURL("influxdb.url", db.URL, true, "http", "https")
	if db.Bucket == "" {
		v.fail("influxdb.bucket", "required (for InfluxDB 1.8: database/retention-policy)")
	}
	if db.BatchSize < 0 {
		v.fail("influxdb.batch_size", "must be positive")
	}
	for _, key := range slices.Sorted(maps.Keys(db.StaticTags)) {
		if err := reading.CheckTagName(key); err != nil {
			v.fail("influxdb.static_tags."+key, "%v", err)
		}
	}
	for _, reserved := range []string{"site", "kind", "sensor"} {
		if _, ok := db.StaticTags[reserved]; ok {
			v.fail("influxdb.static_tags."+reserved, "%s is set per reading and cannot be a static tag", reserved)
		}
	}
}

func (v *validator) kinds() {
	for _, name := range slices.Sorted(maps.Keys(v.c.Kinds)) {
		k, p := v.c.Kinds[name], "kinds."+name
		if !wordName.MatchString(name) {
			v.fail(p, "a kind name is a word of letters, digits and _")
		}
		if k.Measurement == "" {
			v.fail(p+".measurement", "required")
		} else if !wordName.MatchString(k.Measurement) {
			// A measurement starting with # would be a comment in line protocol.
			v.fail(p+".measurement", "a measurement name is a word of letters, digits and _")
		}
		if k.Range[0] > k.Range[1] {
			v.fail(p+".range", "min %g is above max %g", k.Range[0], k.Range[1])
		}
		if k.Decimals < 0 || k.Decimals > 9 {
			v.fail(p+".decimals", "must be between 0 and 9")
		}
	}
}

func (v *validator) sites() {
	first := make(map[string]string, len(v.c.Sites))
	for i, s := range v.c.Sites {
		p := fmt.Sprintf("sites[%d]", i)
		if s.ID == "" {
			v.fail(p+".id", "required")
			continue
		}
		if prev, dup := first[s.ID]; dup {
			v.fail(p+".id", "site %s is already defined at line %d", s.ID, v.d.line(prev))
		}
		first[s.ID] = p
		for _, id := range slices.Sorted(maps.Keys(s.Sensors)) {
			// Sensors of the sites_file were checked at the CSV's lines.
			if k, path := s.Sensors[id].Kind, p+".sensors."+id+".kind"; k != "" && v.d.wrote(path) {
				v.knownKind(path, k)
			}
		}
	}
}

// ruleTypes names the type sections a rule sets, sorted.
func ruleTypes(r *Rule) []string {
	var types []string
	for name, set := range map[string]bool{TypeThreshold: r.Threshold != nil, TypeRate: r.Rate != nil,
		TypePredict: r.Predict != nil, TypeStale: r.Stale != nil, TypeFault: r.Fault != nil} {
		if set {
			types = append(types, name)
		}
	}
	slices.Sort(types)
	return types
}

func (v *validator) rules() {
	first := make(map[string]string, len(v.c.Rules))
	for i := range v.c.Rules {
		r := &v.c.Rules[i]
		p := fmt.Sprintf("rules[%d]", i)
		if r.Name == "" {
			v.fail(p+".name", "required")
		}
		v.matcher(p+".match", r.Match)
		key := r.Name + "\x00" + canonical(r.Match)
		if prev, dup := first[key]; dup && r.Name != "" {
			v.fail(p, "rule %s with this match is already defined at line %d; a narrower match overrides it", r.Name, v.d.line(prev))
		}
		first[key] = p
		switch types := ruleTypes(r); len(types) {
		case 0:
			v.fail(p, "no rule type: want one of threshold, rate, predict, stale, fault")
		case 1:
			v.ruleBody(p, r)
		default:
			v.fail(p, "one rule has exactly one type, got %s", strings.Join(types, " and "))
		}
	}
}

func (v *validator) ruleBody(p string, r *Rule) {
	switch {
	case r.Threshold != nil:
		t, p := r.Threshold, p+".threshold"
		if len(t.Above) == 0 && len(t.Below) == 0 {
			v.fail(p, "needs above or below thresholds")
		}
		levelOrder(v, p+".above", t.Above, float64Value, true)
		levelOrder(v, p+".below", t.Below, float64Value, false)
		if t.ForReadings < 1 {
			v.fail(p+".for_readings", "must be at least 1")
		}
		if t.Hysteresis.All < 0 {
			v.fail(p+".hysteresis", "must not be negative")
		}
		for l, h := range t.Hysteresis.PerLevel {
			_, above := t.Above[l]
			_, below := t.Below[l]
			switch {
			case h < 0:
				v.fail(p+".hysteresis."+l.String(), "must not be negative")
			case !above && !below:
				v.fail(p+".hysteresis."+l.String(), "no %s threshold to apply it to", l)
			}
		}
	case r.Rate != nil:
		t, p := r.Rate, p+".rate"
		v.positive(p+".window", t.Window)
		v.minSamples(p+".min_samples", t.MinSamples)
		if len(t.Above) == 0 && len(t.Below) == 0 {
			v.fail(p, "needs above or below rates")
		}
		levelOrder(v, p+".above", t.Above, Rate.value, true)
		levelOrder(v, p+".below", t.Below, Rate.value, false)
	case r.Predict != nil:
		t, p := r.Predict, p+".predict"
		v.positive(p+".window", t.Window)
		v.minSamples(p+".min_samples", t.MinSamples)
		if !v.d.wrote(p + ".target") {
			v.fail(p+".target", "required")
		}
		v.positive(p+".horizon", t.Horizon)
		v.level(p+".level", t.Level)
	case r.Stale != nil:
		v.positive(p+".stale.after", r.Stale.After)
		v.level(p+".stale.level", r.Stale.Level)
	case r.Fault != nil:
		v.level(p+".fault.level", r.Fault.Level)
	}
}

func (v *validator) positive(path string, d Duration) {
	if d <= 0 {
		v.fail(path, "required, above 0")
	}
}

func (v *validator) minSamples(path string, n int) {
	if n < 2 {
		v.fail(path, "must be at least 2 (a line needs two points)")
	}
}

func (v *validator) level(path string, l Level) {
	if l == LevelNone && !v.d.wrote(path) {
		v.fail(path, "required (blue, yellow, orange, red)")
	}
}

// levelOrder requires thresholds to rise with the level (above) or fall
// with it (below), or a higher level would never be reached first.
func levelOrder[T any](v *validator, path string, values map[Level]T, num func(T) float64, rising bool) {
	prev := LevelNone
	for _, l := range Levels {
		x, ok := values[l]
		if !ok {
			continue
		}
		if prev != LevelNone {
			switch px := values[prev]; {
			case rising && num(x) <= num(px):
				v.fail(path+"."+l.String(), "%v must be above %s's %v: above thresholds rise with the level", x, prev, px)
			case !rising && num(x) >= num(px):
				v.fail(path+"."+l.String(), "%v must be below %s's %v: below thresholds fall with the level", x, prev, px)
			}
		}
		prev = l
	}
}

func float64Value(f float64) float64 { return f }

// matcher checks the values of the keys it knows: kinds and rules must
// exist and levels be levels, unless written as globs.
func (v *validator) matcher(path string, m Matcher) {
	for _, key := range slices.Sorted(maps.Keys(m)) {
		p := path + "." + key
		if len(m[key]) == 0 {
			v.fail(p, "no value to match")
		}
		for _, val := range m[key] {
			if strings.ContainsAny(val, "*?[") {
				continue
			}
			switch key {
			case "kind":
				v.knownKind(p, val)
			case "level":
				if _, ok := ParseLevel(val); !ok {
					v.fail(p, "%v", errUnknownLevel)
				}
			case "rule":
				if !slices.ContainsFunc(v.c.Rules, func(r Rule) bool { return r.Name == val }) {
					v.fail(p, "no rule named %q", val)
				}
			}
		}
	}
}

// canonical writes a matcher with sorted keys and values, so that equal
// matchers compare equal.
func canonical(m Matcher) string {
	var b strings.Builder
	for _, key := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(&b, "%s=%q;", key, slices.Sorted(slices.Values(m[key])))
	}
	return b.String()
}

// channelRequired lists the keys each channel type needs.
var channelRequired = map[string][]string{
	ChannelWebhook:         {"url"},
	ChannelDingTalk:        {"url"},
	ChannelWeCom:           {"url"},
	ChannelFeishu:          {"url"},
	ChannelAliyunSMS:       {"access_key_id", "access_key_secret", "sign_name", "template_code"},
	ChannelTencentCloudSMS: {"secret_id", "secret_key", "sdk_app_id", "sign_name", "template_id"},
	ChannelAlertmanager:    {"url"},
}

func (v *validator) channels() {
	fields := yamlFields(reflect.TypeFor[Channel]())
	first := make(map[string]string)
	for i, ch := range v.c.Notify.Channels {
		p := fmt.Sprintf("notify.channels[%d]", i)
		if ch.Name == "" {
			v.fail(p+".name", "required")
		} else if prev, dup := first[ch.Name]; dup {
			v.fail(p+".name", "channel %s is already defined at line %d", ch.Name, v.d.line(prev))
		} else {
			first[ch.Name] = p + ".name"
		}
		required, ok := channelRequired[ch.Type]
		if !ok {
			v.fail(p+".type", "unknown channel type %q (%s)", ch.Type, strings.Join(slices.Sorted(maps.Keys(channelRequired)), ", "))
		}
		val := reflect.ValueOf(ch)
		for _, key := range required {
			if val.Field(fields[key]).String() == "" {
				v.fail(p+"."+key, "required for type %s", ch.Type)
			}
		}
		v.checkURL(p+".url", ch.URL, false, "https", "http")
		v.checkURL(p+".endpoint", ch.Endpoint, false, "https", "http")
		if ch.RateLimit.PerSecond < 0 {
			v.fail(p+".rate_limit", "must not be negative")
		}
		if ch.Concurrency < 1 {
			v.fail(p+".concurrency", "must be at least 1")
		}
	}
}

func (v *validator) channelRefs(path string, names []string) {
	for i, name := range names {
		if !slices.ContainsFunc(v.c.Notify.Channels, func(c Channel) bool { return c.Name == name }) {
			v.fail(fmt.Sprintf("%s[%d]", path, i), "no channel named %q in notify.channels", name)
		}
	}
}

func (v *validator) routes() {
	for i, r := range v.c.Notify.Routes {
		p := fmt.Sprintf("notify.routes[%d]", i)
		v.matcher(p+".match", r.Match)
		if len(r.Channels) == 0 {
			v.fail(p+".channels", "at least one channel is required")
		}
		v.channelRefs(p+".channels", r.Channels)
		if r.Escalate != nil {
			v.positive(p+".escalate.after", r.Escalate.After)
			if len(r.Escalate.Channels) == 0 {
				v.fail(p+".escalate.channels", "at least one channel is required")
			}
			v.channelRefs(p+".escalate.channels", r.Escalate.Channels)
		}
		if r.Contacts != "" {
			v.oneOf(p+".contacts", r.Contacts, "site")
		}
		if r.RecipientRateLimit.PerSecond < 0 {
			v.fail(p+".recipient_rate_limit", "must not be negative")
		}
	}
}

func (v *validator) silences() {
	for i, s := range v.c.Notify.Silences {
		p := fmt.Sprintf("notify.silences[%d]", i)
		v.matcher(p+".match", s.Match)
		switch {
		case s.From.IsZero():
			v.fail(p+".from", "required")
		case s.To.IsZero():
			v.fail(p+".to", "required")
		case !s.To.After(s.From):
			v.fail(p+".to", "must be after from (%s)", s.From.Format(time.RFC3339))
		}
	}
}

func (v *validator) misc() {
	if _, _, err := net.SplitHostPort(v.c.HTTP.Listen); err != nil {
		v.fail("http.listen", "want host:port, got %q", v.c.HTTP.Listen)
	}
	if v.c.HTTP.MaxConnections < 0 {
		v.fail("http.max_connections", "must be positive")
	}
	if tls := v.c.HTTP.TLS; (tls.CertFile == "") != (tls.KeyFile == "") {
		v.fail("http.tls", "cert_file and key_file go together")
	}
	for i, h := range v.c.HTTP.AllowedHosts {
		if h == "" || strings.ContainsAny(h, "/ ") {
			v.fail(fmt.Sprintf("http.allowed_hosts[%d]", i), "want a host name such as hazwatch.example.org, got %q", h)
		}
	}
	v.checkURL("grafana.url", v.c.Grafana.URL, false, "http", "https")
	v.oneOf("log.level", v.c.Log.Level, "debug", "info", "warn", "error")
	v.oneOf("log.format", v.c.Log.Format, "json", "text")
	v.oneOf("limits.unknown_sensors", v.c.Limits.UnknownSensors, UnknownAccept, UnknownReject)
	if v.c.Limits.MaxSeries < 0 {
		v.fail("limits.max_series", "must not be negative")
	}
	if v.c.Limits.NewSeriesBurst < 0 {
		v.fail("limits.new_series_burst", "must not be negative")
	}
	if v.c.Limits.MaxNameBytes < 0 {
		v.fail("limits.max_name_bytes", "must not be negative")
	}
}
