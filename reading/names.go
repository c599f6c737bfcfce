package reading

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// The one check of the names a Reading carries into InfluxDB, used for the
// tags of the config and the topic patterns and for the tags and fields of
// payloads alike, so that nothing InfluxDB refuses reaches a batch, where it
// would cost the other points of the batch too.

// reservedKeys are the tag and field keys InfluxDB refuses or keeps for
// itself: "time" in 1.x and 2.x, and in 2.x every key starting with "_"
// (_measurement, _field, _time, _value, _start, _stop: the columns of a
// Flux table).
func reservedKey(name string) bool {
	return name == "time" || strings.HasPrefix(name, "_")
}

// Storable reports whether s can be a tag key, tag value or field key in line
// protocol as AppendLine writes it: non-empty UTF-8 without control
// characters, and no trailing backslash, which would escape the separator
// after it.
func Storable(s string) bool {
	if s == "" || s[len(s)-1] == '\\' {
		return false
	}
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return false
		}
		ascii = ascii && s[i] < utf8.RuneSelf
	}
	return ascii || utf8.ValidString(s)
}

// CheckFieldKey says why name cannot be a reading's field, or returns nil.
func CheckFieldKey(name string) error { return checkKey("field", name) }

// CheckTagKey says why name cannot be the key of a reading's tag, or returns
// nil. Besides what InfluxDB refuses, "field" is taken: Reading.Tag and the
// rule matchers give it the field's name.
func CheckTagKey(name string) error {
	if name == "field" {
		return fmt.Errorf("tag name %q is reserved", name)
	}
	return checkKey("tag", name)
}

// CheckTagName says why name cannot be a tag name written in the config (a
// topic pattern's {name}, a static tag), or returns nil: there a name is a
// word of letters, digits, _ and -, so that it reads the same in YAML, in
// topics, in rule matchers and in InfluxQL.
func CheckTagName(name string) error {
	if name == "" {
		return fmt.Errorf("empty tag name")
	}
	for _, c := range name {
		if !(c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return fmt.Errorf("tag name %q: use letters, digits, _ and -", short(name))
		}
	}
	return CheckTagKey(name)
}

func checkKey(what, name string) error {
	switch {
	case !Storable(name):
		return fmt.Errorf("%s name %q cannot be stored in InfluxDB", what, short(name))
	case reservedKey(name):
		return fmt.Errorf("%s name %q is reserved", what, short(name))
	}
	return nil
}

// short returns the start of a name for an error, which ends up in logs and
// dead letters.
func short(name string) string { return name[:min(len(name), 64)] }
