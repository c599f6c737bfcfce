package ingest

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"hazwatch/configs"
	"hazwatch/reading"
)

// DefaultQoS is the QoS of a subscription that sets none, unless
// WithDefaultQoS says otherwise: 1, because hazwatch promises at-least-once.
const DefaultQoS byte = 1

// maxTopicTags bounds the {name} segments of one pattern so that Match can
// collect their values in a fixed array on the stack.
const maxTopicTags = 16

// TopicMatcher maps an MQTT topic to the reading it carries and the decoder
// of its payload, by the configured subscription patterns. It is read-only
// after NewTopicMatcher and safe for concurrent use.
type TopicMatcher struct {
	patterns   []topicPattern
	kinds      map[string]configs.Kind
	defaultQoS byte
	decoders   Decoders
}

// TopicOption sets an optional parameter of NewTopicMatcher.
type TopicOption func(*TopicMatcher)

// WithDefaultQoS sets the QoS of subscriptions whose QoS is nil (mqtt.qos).
func WithDefaultQoS(qos byte) TopicOption {
	return func(m *TopicMatcher) { m.defaultQoS = qos }
}

// WithTimeWindow sets how far after and before arrival a reading's own time
// may lie (mqtt.max_future_skew, mqtt.max_past_age); zero keeps the
// configs default.
func WithTimeWindow(maxFutureSkew, maxPastAge time.Duration) TopicOption {
	return func(m *TopicMatcher) {
		m.decoders.MaxFutureSkew, m.decoders.MaxPastAge = maxFutureSkew, maxPastAge
	}
}

type segmentType uint8

const (
	segLiteral segmentType = iota // must equal the topic level
	segTag                        // {name}: any non-empty level, kept as a tag
	segAny                        // +: any level, not kept
	segRest                       // #: this and all further levels, also none
)

type segment struct {
	typ  segmentType
	text string // the literal, or the tag name
	// slot is where a segTag's value goes: one of the slot* constants below,
	// or an index into the pattern's tag template.
	slot int
}

// Slots of the tags that become Reading fields rather than Tags.
const (
	slotSite = -1 - iota
	slotKind
	slotSensor
)

// topicPattern is one subscription, compiled.
type topicPattern struct {
	filter    string
	qos       *int
	segs      []segment
	fixedKind string
	hasKind   bool // the kind is known before the payload: {kind} or fixed
	// template holds the pattern's Tags sorted by key: static tags with their
	// values and topic tags with empty values that Match fills in. With no
	// topic tags Match hands it out as it is, so it must never be modified.
	template []reading.Tag
	topicTag bool // template has topic tags to fill in
	decode   Decoder
}

// NewTopicMatcher compiles the subscriptions. A pattern's levels are literal,
// {name} (a tag taken from the topic; site, kind and sensor become the
// Reading's fields), + (any level, not kept) or, last, # (any rest). The kind
// comes from {kind} or the subscription's fixed kind, and must be in kinds;
// only a line-protocol subscription may leave it to the payload. staticTags
// are added to every reading; a topic tag of the same name wins.
func NewTopicMatcher(subs []configs.Subscription, kinds map[string]configs.Kind, staticTags map[string]string, opts ...TopicOption) (*TopicMatcher, error) {
	m := &TopicMatcher{kinds: kinds, defaultQoS: DefaultQoS, decoders: Decoders{Kinds: kinds}}
	for _, o := range opts {
		o(m)
	}
	for key, value := range staticTags {
		if err := reading.CheckTagName(key); err != nil {
			return nil, fmt.Errorf("static tag: %w", err)
		}
		if err := checkName("static tag "+key, value); err != nil {
			return nil, err
		}
		if isFieldTag(key) {
			return nil, fmt.Errorf("static tag %q: site, kind and sensor come from the topic", key)
		}
	}
	for i, sub := range subs {
		p, err := m.compile(sub, staticTags)
		if err != nil {
			return nil, fmt.Errorf("subscription %d %q: %w", i+1, sub.Topic, err)
		}
		m.patterns = append(m.patterns, p)
	}
	return m, nil
}

// splitShare splits an MQTT shared subscription, $share/GROUP/pattern, into
// the pattern that messages arrive on and the prefix the filter keeps, so that
// ingest-only instances can divide one topic space between them.
func splitShare(topic string) (pattern, share string) {
	parts := strings.SplitN(topic, "/", 3)
	if len(parts) == 3 && parts[0] == "$share" && parts[1] != "" {
		return parts[2], parts[0] + "/" + parts[1] + "/"
	}
	return topic, ""
}

func (m *TopicMatcher) compile(sub configs.Subscription, staticTags map[string]string) (topicPattern, error) {
	p := topicPattern{qos: sub.QoS, fixedKind: sub.Kind}
	if sub.Topic == "" {
		return p, fmt.Errorf("empty topic pattern")
	}
	if sub.QoS != nil && (*sub.QoS < 0 || *sub.QoS > 1) {
		return p, fmt.Errorf("qos %d: want 0 or 1", *sub.QoS)
	}
	decode, err := m.decoders.For(sub.Format)
	if err != nil {
		return p, err
	}
	p.decode = decode
	pattern, share := splitShare(sub.Topic)
	levels := strings.Split(pattern, "/")
	filter := make([]string, len(levels))
	var topicTags []string
	seen := map[string]bool{}
	for i, level := range levels {
		s, err := parseSegment(level, i == len(levels)-1)
		if err != nil {
			return p, fmt.Errorf("level %d %q: %w", i+1, level, err)
		}
		filter[i] = level
		if s.typ == segTag {
			filter[i] = "+"
			if seen[s.text] {
				return p, fmt.Errorf("tag {%s} appears twice", s.text)
			}
			seen[s.text] = true
			switch s.text {
			case "site":
				s.slot = slotSite
			case "kind":
				s.slot = slotKind
			case "sensor":
				s.slot = slotSensor
			default:
				topicTags = append(topicTags, s.text)
			}
		}
		p.segs = append(p.segs, s)
	}
	p.filter = share + strings.Join(filter, "/")
	if len(seen) > maxTopicTags {
		return p, fmt.Errorf("%d tags, at most %d", len(seen), maxTopicTags)
	}

	switch {
	case seen["kind"] && sub.Kind != "":
		return p, fmt.Errorf("both {kind} and kind %q given", sub.Kind)
	case sub.Kind != "":
		if _, ok := m.kinds[sub.Kind]; !ok {
			return p, fmt.Errorf("unknown kind %q", sub.Kind)
		}
	case !seen["kind"] && sub.Format != configs.FormatLine:
		return p, fmt.Errorf("no kind: give {kind} in the topic or kind on the subscription")
	}
	p.hasKind = seen["kind"] || sub.Kind != ""

	p.template, p.topicTag = tagTemplate(topicTags, staticTags)
	for i := range p.segs {
		s := &p.segs[i]
		if s.typ == segTag && s.slot >= 0 {
			s.slot = slices.IndexFunc(p.template, func(t reading.Tag) bool { return t.Key == s.text })
		}
	}
	return p, nil
}

// parseSegment reads one level of a pattern.
func parseSegment(level string, last bool) (segment, error) {
	switch {
	case level == "#":
		if !last {
			return segment{}, fmt.Errorf("# must be the last level")
		}
		return segment{typ: segRest}, nil
	case level == "+":
		return segment{typ: segAny}, nil
	case strings.HasPrefix(level, "{") && strings.HasSuffix(level, "}"):
		name := level[1 : len(level)-1]
		if err := reading.CheckTagName(name); err != nil {
			return segment{}, err
		}
		return segment{typ: segTag, text: name}, nil
	case strings.ContainsAny(level, "{}+#"):
		return segment{}, fmt.Errorf("a level is a literal, {name}, + or #")
	}
	return segment{typ: segLiteral, text: level}, nil
}

func isFieldTag(key string) bool {
	return key == "site" || key == "kind" || key == "sensor"
}

// tagTemplate merges a pattern's topic tag names with the static tags, sorted
// by key, and reports whether any topic tag is among them.
func tagTemplate(topicTags []string, staticTags map[string]string) ([]reading.Tag, bool) {
	var tags []reading.Tag
	for _, name := range topicTags {
		tags = append(tags, reading.Tag{Key: name})
	}
	for key, value := range staticTags {
		if !slices.Contains(topicTags, key) {
			tags = append(tags, reading.Tag{Key: key, Value: value})
		}
	}
	sortTags(tags)
	return tags, len(topicTags) > 0
}

// sortTags sorts tags by key, the order reading.Reading.Tags keeps.
func sortTags(tags []reading.Tag) {
	slices.SortFunc(tags, func(a, b reading.Tag) int { return strings.Compare(a.Key, b.Key) })
}

// Filters returns the MQTT topic filter of each subscription with its QoS.
// Two patterns with the same filter are subscribed once, at the higher QoS.
func (m *TopicMatcher) Filters() map[string]byte {
	filters := make(map[string]byte, len(m.patterns))
	for _, p := range m.patterns {
		qos := m.defaultQoS
		if p.qos != nil {
			qos = byte(*p.qos)
		}
		if have, ok := filters[p.filter]; !ok || qos > have {
			filters[p.filter] = qos
		}
	}
	return filters
}

// Match returns what the topic says of its readings (measurement, site, kind,
// sensor, Tags, Field "value") and the decoder for its payload. The first
// matching subscription wins. The returned Tags may be shared between calls:
// copy them before changing them. A topic that matches no pattern, names a
// kind that is not configured or has a {name} level that cannot be stored as
// a tag value is a *Reject.
func (m *TopicMatcher) Match(topic string) (base reading.Reading, decode Decoder, err error) {
	var values [maxTopicTags]string
	for i := range m.patterns {
		p := &m.patterns[i]
		if !p.match(topic, &values) {
			continue
		}
		base = reading.Reading{Field: "value", Kind: p.fixedKind, Tags: p.template}
		if p.topicTag {
			base.Tags = slices.Clone(p.template)
		}
		tag := 0
		for _, s := range p.segs {
			if s.typ != segTag {
				continue
			}
			v := values[tag]
			if err := checkName("topic level", v); err != nil {
				return reading.Reading{}, nil, err
			}
			switch s.slot {
			case slotSite:
				base.Site = v
			case slotKind:
				base.Kind = v
			case slotSensor:
				base.Sensor = v
			default:
				base.Tags[s.slot].Value = v
			}
			tag++
		}
		if p.hasKind {
			k, ok := m.kinds[base.Kind]
			if !ok {
				return reading.Reading{}, nil, reject(ReasonUnknownKind, "topic %q: unknown kind %q", topic, base.Kind)
			}
			base.Measurement = measurementOf(base.Kind, k)
		}
		return base, p.decode, nil
	}
	return reading.Reading{}, nil, reject(ReasonNoMatchingTopic, "topic %q matches no subscription", topic)
}

// measurementOf returns the kind's measurement, or the kind's own name for a
// kind configured without one.
func measurementOf(name string, k configs.Kind) string {
	if k.Measurement == "" {
		return name
	}
	return k.Measurement
}

// match reports whether topic matches the pattern and puts the values of its
// {name} levels, in order, into values. It walks the topic in place rather
// than splitting it, because it runs for every message. A {name} level does
// not match an empty topic level, which could not be stored as a tag.
func (p *topicPattern) match(topic string, values *[maxTopicTags]string) bool {
	pos, tag := 0, 0
	for _, s := range p.segs {
		if s.typ == segRest {
			return true // # also matches the parent level itself
		}
		if pos > len(topic) {
			return false
		}
		level := topic[pos:]
		if end := strings.IndexByte(level, '/'); end >= 0 {
			level = level[:end]
		}
		pos += len(level) + 1
		switch s.typ {
		case segLiteral:
			if level != s.text {
				return false
			}
		case segTag:
			if level == "" {
				return false
			}
			values[tag] = level
			tag++
		}
	}
	return pos > len(topic)
}
