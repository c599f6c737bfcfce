// Package configs holds hazwatch's configuration: the schema, its loading from
// one YAML file with file:line errors, validation, the built-in sensor kinds
// and the example files. Config values are plain data with no runtime state.
package configs

import "time"

// Config is the whole hazwatch configuration file (SPEC §9).
type Config struct {
	// DataDir holds what must survive a restart: alert state, the outbox and,
	// unless influxdb.spool.dir says otherwise, the spool.
	DataDir  string          `yaml:"data_dir"`
	MQTT     MQTT            `yaml:"mqtt"`
	InfluxDB InfluxDB        `yaml:"influxdb"`
	Kinds    map[string]Kind `yaml:"kinds"`
	Sites    []Site          `yaml:"sites"`
	// SitesFile names a CSV catalogue, read in addition to Sites.
	SitesFile string  `yaml:"sites_file"`
	Rules     []Rule  `yaml:"rules"`
	Notify    Notify  `yaml:"notify"`
	Grafana   Grafana `yaml:"grafana"`
	HTTP      HTTP    `yaml:"http"`
	Log       Log     `yaml:"log"`
	Limits    Limits  `yaml:"limits"`

	// File is the path the config was loaded from; not part of the YAML.
	File string `yaml:"-"`
}

// MQTT is the broker connection and the subscriptions.
type MQTT struct {
	URL             string         `yaml:"url"`
	ClientID        string         `yaml:"client_id"`
	Username        string         `yaml:"username"`
	Password        string         `yaml:"password"`
	PasswordFile    string         `yaml:"password_file"`
	TLS             TLS            `yaml:"tls"`
	QoS             int            `yaml:"qos"`
	CleanSession    bool           `yaml:"clean_session"`
	MaxPayloadBytes int            `yaml:"max_payload_bytes"`
	DeadLetterTopic string         `yaml:"dead_letter_topic"`
	Subscriptions   []Subscription `yaml:"subscriptions"`
	// MaxFutureSkew is how far ahead of the daemon's clock a reading's time may
	// be before it is rejected as unreasonable (DefaultMaxFutureSkew).
	MaxFutureSkew Duration `yaml:"max_future_skew"`
	// MaxPastAge is how far behind the daemon's clock a reading's time may be
	// before it is rejected as unreasonable (DefaultMaxPastAge).
	MaxPastAge Duration `yaml:"max_past_age"`
}

// Defaults of the window around its arrival that a reading's own time must
// lie in. Five minutes ahead is enough for a device clock that runs a little
// fast, too little for one that is simply wrong, whose readings would hold
// their series' alerts until then. Seven days back lets a gateway deliver
// what it buffered over a long weekend without its uplink, and refuses the
// 1970 or 1677 of a device whose clock was never set.
const (
	DefaultMaxFutureSkew = 5 * time.Minute
	DefaultMaxPastAge    = 7 * 24 * time.Hour
)

// DefaultBatchMaxBytes caps a write's body well below the 25 MB that
// InfluxDB 1.8 takes by default (max-body-size) and the 2.x limits, while
// 5000 points of a typical 100-byte line fit in it.
const DefaultBatchMaxBytes = 4 << 20

// TLS configures ssl:// connections.
type TLS struct {
	CAFile             string `yaml:"ca_file"`
	CertFile           string `yaml:"cert_file"`
	KeyFile            string `yaml:"key_file"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// Subscription is one topic pattern such as sensors/{site}/{kind}/{sensor}.
type Subscription struct {
	Topic string `yaml:"topic"`
	// Kind fixes the sensor kind for every topic of the pattern.
	Kind   string `yaml:"kind"`
	Format string `yaml:"format"` // json | line | value
	// QoS overrides mqtt.qos for this subscription; nil means inherit.
	QoS *int `yaml:"qos"`
}

// Payload formats.
const (
	FormatJSON  = "json"
	FormatLine  = "line"
	FormatValue = "value"
)

// InfluxDB is where readings and alert transitions are stored.
type InfluxDB struct {
	URL       string `yaml:"url"`
	Token     string `yaml:"token"`
	TokenFile string `yaml:"token_file"`
	Org       string `yaml:"org"`
	Bucket    string `yaml:"bucket"`
	BatchSize int    `yaml:"batch_size"`
	// BatchMaxBytes caps a batch's body below what InfluxDB takes
	// (DefaultBatchMaxBytes).
	BatchMaxBytes ByteSize          `yaml:"batch_max_bytes"`
	FlushInterval Duration          `yaml:"flush_interval"`
	Timeout       Duration          `yaml:"timeout"`
	StaticTags    map[string]string `yaml:"static_tags"`
	Spool         Spool             `yaml:"spool"`
}

// V1 reports whether the target is InfluxDB 1.8 through its v2-compatible
// API (no org), which changes the Grafana datasource to InfluxQL.
func (c InfluxDB) V1() bool { return c.Org == "" }

// Spool bounds the on-disk buffer used while InfluxDB is unreachable.
type Spool struct {
	Dir      string   `yaml:"dir"`
	MaxBytes ByteSize `yaml:"max_bytes"`
}

// Kind describes what a sensor measures and how it is stored and drawn.
type Kind struct {
	Name        string     `yaml:"name"` // Chinese display name
	Measurement string     `yaml:"measurement"`
	Unit        string     `yaml:"unit"`
	Range       [2]float64 `yaml:"range"` // physical range [min, max]
	Decimals    int        `yaml:"decimals"`
}

// Site is one entry of the site catalogue.
type Site struct {
	ID         string            `yaml:"id"`
	Name       string            `yaml:"name"`
	Enterprise string            `yaml:"enterprise"`
	District   string            `yaml:"district"`
	Lat        float64           `yaml:"lat"`
	Lon        float64           `yaml:"lon"`
	Contacts   []string          `yaml:"contacts"`
	Sensors    map[string]Sensor `yaml:"sensors"`
}

// Sensor is one sensor of a site in the catalogue.
type Sensor struct {
	Name     string   `yaml:"name"`
	Kind     string   `yaml:"kind"`
	Contacts []string `yaml:"contacts"`
}

// Rule is one alert rule. Exactly one of the type sections is set. Rules of
// the same name with a narrower Match override the general one for the series
// they match.
type Rule struct {
	Name      string         `yaml:"name"`
	Match     Matcher        `yaml:"match"`
	Threshold *ThresholdRule `yaml:"threshold"`
	Rate      *RateRule      `yaml:"rate"`
	Predict   *PredictRule   `yaml:"predict"`
	Stale     *StaleRule     `yaml:"stale"`
	Fault     *FaultRule     `yaml:"fault"`
}

// Rule types, as named in events and the webhook body.
const (
	TypeThreshold = "threshold"
	TypeRate      = "rate"
	TypePredict   = "predict"
	TypeStale     = "stale"
	TypeFault     = "fault"
)

// Type returns the rule's type name.
func (r *Rule) Type() string {
	switch {
	case r.Threshold != nil:
		return TypeThreshold
	case r.Rate != nil:
		return TypeRate
	case r.Predict != nil:
		return TypePredict
	case r.Stale != nil:
		return TypeStale
	case r.Fault != nil:
		return TypeFault
	}
	return ""
}

// ThresholdRule fires when the value is at or above (or at or below) a level's threshold.
type ThresholdRule struct {
	Above       LevelValues `yaml:"above"`
	Below       LevelValues `yaml:"below"`
	For         Duration    `yaml:"for"`
	ForReadings int         `yaml:"for_readings"`
	Hysteresis  Hysteresis  `yaml:"hysteresis"`
	ClearFor    Duration    `yaml:"clear_for"`
}

// RateRule fires on the least-squares slope over Window; thresholds are in
// units per second once loaded (written as 0.6/h or 1/m).
type RateRule struct {
	Window     Duration       `yaml:"window"`
	MinSamples int            `yaml:"min_samples"`
	Above      map[Level]Rate `yaml:"above"`
	Below      map[Level]Rate `yaml:"below"`
	For        Duration       `yaml:"for"`
	ClearFor   Duration       `yaml:"clear_for"`
}

// PredictRule fires at Level when the fitted line reaches Target within Horizon.
type PredictRule struct {
	Window     Duration `yaml:"window"`
	MinSamples int      `yaml:"min_samples"`
	Target     float64  `yaml:"target"`
	Horizon    Duration `yaml:"horizon"`
	Level      Level    `yaml:"level"`
	ClearFor   Duration `yaml:"clear_for"`
}

// StaleRule fires when a series has had no reading for After, on the daemon's clock.
type StaleRule struct {
	After Duration `yaml:"after"`
	Level Level    `yaml:"level"`
}

// FaultRule fires when a value is outside the kind's range or unchanged for StuckFor.
type FaultRule struct {
	StuckFor Duration `yaml:"stuck_for"`
	Level    Level    `yaml:"level"`
}

// LevelValues maps alert levels to thresholds.
type LevelValues map[Level]float64

// Hysteresis is a deadband, one value for all levels or one per level.
type Hysteresis struct {
	All      float64
	PerLevel map[Level]float64
}

// For returns the deadband in effect for level l.
func (h Hysteresis) For(l Level) float64 {
	if v, ok := h.PerLevel[l]; ok {
		return v
	}
	return h.All
}

// Matcher selects by tag: each key (level, kind, site, sensor, rule, any tag)
// lists accepted values, which may be globs. An empty Matcher matches all.
type Matcher map[string][]string

// Notify configures channels, routes and silences.
type Notify struct {
	Channels []Channel `yaml:"channels"`
	Routes   []Route   `yaml:"routes"`
	Silences []Silence `yaml:"silences"`
	// OutageWindow is how long new stale alerts are held to see whether most
	// of their site goes stale together, for one site-level message (1m).
	OutageWindow Duration `yaml:"outage_window"`
}

// Channel types.
const (
	ChannelWebhook         = "webhook"
	ChannelDingTalk        = "dingtalk"
	ChannelWeCom           = "wecom"
	ChannelFeishu          = "feishu"
	ChannelAliyunSMS       = "aliyun_sms"
	ChannelTencentCloudSMS = "tencentcloud_sms"
	ChannelAlertmanager    = "alertmanager"
)

// Channel is one notification destination. Which fields apply depends on Type.
type Channel struct {
	Name       string   `yaml:"name"`
	Type       string   `yaml:"type"`
	URL        string   `yaml:"url"`
	Secret     string   `yaml:"secret"`
	SecretFile string   `yaml:"secret_file"`
	RateLimit  Rate     `yaml:"rate_limit"`
	Timeout    Duration `yaml:"timeout"`
	// Concurrency is how many sends may be in flight on this channel at once.
	Concurrency int `yaml:"concurrency"`
	// Template overrides the channel's default message template (Go text/template).
	Template string `yaml:"template"`

	// SMS providers.
	Endpoint            string   `yaml:"endpoint"`
	AccessKeyID         string   `yaml:"access_key_id"`
	AccessKeySecret     string   `yaml:"access_key_secret"`
	AccessKeySecretFile string   `yaml:"access_key_secret_file"`
	SecretID            string   `yaml:"secret_id"`  // tencentcloud
	SecretKey           string   `yaml:"secret_key"` // tencentcloud
	SecretKeyFile       string   `yaml:"secret_key_file"`
	Region              string   `yaml:"region"`
	SDKAppID            string   `yaml:"sdk_app_id"`
	SignName            string   `yaml:"sign_name"`
	TemplateCode        string   `yaml:"template_code"` // aliyun
	TemplateID          string   `yaml:"template_id"`   // tencentcloud
	Phones              []string `yaml:"phones"`
	// AtMobiles are mentioned in chat-robot messages.
	AtMobiles []string `yaml:"at_mobiles"`
}

// Route decides which alerts go to which channels. Routes are tried in order;
// the first match wins unless it sets Continue.
type Route struct {
	Match    Matcher  `yaml:"match"`
	Channels []string `yaml:"channels"`
	// Contacts "site" also texts the site's (and sensor's) catalogue contacts.
	Contacts string   `yaml:"contacts"`
	Phones   []string `yaml:"phones"`
	// SendResolved defaults to true; SendFiring (firing and rises) too.
	SendResolved *bool     `yaml:"send_resolved"`
	Repeat       Duration  `yaml:"repeat"`
	Escalate     *Escalate `yaml:"escalate"`
	GroupWait    Duration  `yaml:"group_wait"`
	// RecipientRateLimit bounds the SMS sent to one phone number.
	RecipientRateLimit Rate `yaml:"recipient_rate_limit"`
	Continue           bool `yaml:"continue"`
}

// Escalate sends to more channels when a firing alert is not acknowledged in time.
type Escalate struct {
	After    Duration `yaml:"after"`
	Channels []string `yaml:"channels"`
}

// Silence holds back the notifications of matching alerts during a time span.
type Silence struct {
	Match   Matcher   `yaml:"match"`
	From    time.Time `yaml:"from"`
	To      time.Time `yaml:"to"`
	Comment string    `yaml:"comment"`
}

// Grafana configures dashboard provisioning.
type Grafana struct {
	URL              string `yaml:"url"`
	Token            string `yaml:"token"`
	TokenFile        string `yaml:"token_file"`
	Folder           string `yaml:"folder"`
	Datasource       string `yaml:"datasource"`
	ProvisioningDir  string `yaml:"provisioning_dir"`
	ProvisionOnStart bool   `yaml:"provision_on_start"`
}

// Limits bound what the readings of any source can make the daemon hold, so
// that a rogue publisher or a broken gateway inventing sensors cannot crowd
// out the catalogue's: its sensors are never refused by MaxSeries or
// NewSeriesRate. They apply where readings enter the alert engine.
type Limits struct {
	// UnknownSensors is accept (SPEC §3: stored and evaluated under their
	// ids) or reject (only the catalogue's sensors are taken).
	UnknownSensors string `yaml:"unknown_sensors"`
	// MaxSeries bounds the series of sensors the catalogue does not list.
	MaxSeries int `yaml:"max_series"`
	// NewSeriesRate bounds how fast such series may appear, once
	// NewSeriesBurst of them have (a first start meets every sensor at once).
	NewSeriesRate  Rate `yaml:"new_series_rate"`
	NewSeriesBurst int  `yaml:"new_series_burst"`
	// MaxNameBytes bounds a site, kind, sensor, tag or field name.
	MaxNameBytes int `yaml:"max_name_bytes"`
	// EvictAfter is how long a series the catalogue does not list may go
	// without a reading before it is forgotten; an alert of it still firing
	// is resolved first, so nothing the receivers were told stays open.
	EvictAfter Duration `yaml:"evict_after"`
}

// Values of limits.unknown_sensors.
const (
	UnknownAccept = "accept"
	UnknownReject = "reject"
)

// HTTP configures the metrics, health and API listener.
type HTTP struct {
	Listen    string `yaml:"listen"`
	Token     string `yaml:"token"`
	TokenFile string `yaml:"token_file"`
	// MaxConnections caps the connections open at once; past it a new one
	// is closed at once (DefaultMaxConnections).
	MaxConnections int `yaml:"max_connections"`
	// TLS, when its files are set, serves HTTPS.
	TLS HTTPTLS `yaml:"tls"`
	// AllowedHosts, when set, are the only host names a request's Host
	// header may give (an IP address is always accepted): a defence
	// against DNS rebinding, by which a web page could reach the API.
	AllowedHosts []string `yaml:"allowed_hosts"`
}

// HTTPTLS is the certificate and key of an HTTPS listener.
type HTTPTLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// DefaultMaxConnections is enough for Prometheus, Grafana, a duty console
// and operators many times over, and bounds what idle or slow clients hold.
const DefaultMaxConnections = 256

// Log configures log/slog output.
type Log struct {
	Level  string `yaml:"level"`  // debug | info | warn | error
	Format string `yaml:"format"` // json | text
}
