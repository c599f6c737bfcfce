package configs

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// String returns the duration as time.Duration writes it, e.g. 5m0s.
func (d Duration) String() string { return time.Duration(d).String() }

// parseDuration parses a duration written as 30s, 5m, 1h, 1h30m, 1d (a day
// is 24 hours, which time.ParseDuration does not know) or 0.
func parseDuration(s string) (time.Duration, error) {
	bad := fmt.Errorf("bad duration %q (want e.g. 30s, 5m, 1h, 1d)", s)
	s = strings.TrimSpace(s)
	if s == "0" {
		return 0, nil
	}
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.ParseUint(s[:i], 10, 16)
		if err != nil {
			return 0, bad
		}
		days, s = time.Duration(n)*24*time.Hour, s[i+1:]
		if s == "" {
			return days, nil
		}
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, bad
	}
	if v < 0 {
		return 0, fmt.Errorf("duration %q must not be negative", s)
	}
	return days + v, nil
}

// String returns the rate as it was written, e.g. 0.6/h.
func (r Rate) String() string { return r.Text }

func (r Rate) value() float64 { return r.PerSecond }

// rateUnits are the time units a rate may be written per.
var rateUnits = map[string]time.Duration{
	"s": time.Second, "sec": time.Second,
	"m": time.Minute, "min": time.Minute,
	"h": time.Hour, "hour": time.Hour,
	"d": 24 * time.Hour, "day": 24 * time.Hour,
}

// parseRate parses a rate written as an amount per unit of time: 0.6/h,
// 20/m, 5/min, 1/s, or per a duration such as 3/10m.
func parseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	bad := fmt.Errorf("bad rate %q (want e.g. 0.6/h, 20/m, 1/s)", s)
	amount, unit, ok := strings.Cut(s, "/")
	if !ok {
		return Rate{}, bad
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(amount), 64)
	if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
		return Rate{}, bad
	}
	unit = strings.TrimSpace(unit)
	per, ok := rateUnits[unit]
	if !ok {
		if per, err = parseDuration(unit); err != nil || per <= 0 {
			return Rate{}, bad
		}
	}
	return Rate{PerSecond: n / per.Seconds(), Text: s}, nil
}

// byteUnits are the suffixes of a byte size: SI powers of 1000 and IEC
// powers of 1024.
var byteUnits = []struct {
	suffix string
	factor float64
}{
	// Longest first, so that KiB is not taken for B.
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"B", 1},
}

// parseByteSize parses a size such as 1GiB, 512MiB, 64KiB, 1GB or a plain
// number of bytes.
func parseByteSize(text string) (ByteSize, error) {
	text = strings.TrimSpace(text)
	bad := fmt.Errorf("bad size %q (want e.g. 1GiB, 512MiB, 64KiB, 1GB or a number of bytes)", text)
	num, factor := text, 1.0
	for _, u := range byteUnits {
		if len(text) > len(u.suffix) && strings.EqualFold(text[len(text)-len(u.suffix):], u.suffix) {
			num, factor = strings.TrimSpace(text[:len(text)-len(u.suffix)]), u.factor
			break
		}
	}
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || n < 0 || math.IsNaN(n) {
		return 0, bad
	}
	size := n * factor
	if size >= math.MaxInt64 {
		return 0, fmt.Errorf("size %q is too large", text)
	}
	return ByteSize(size), nil
}

// errUnknownLevel is the problem reported for a level name that is not one.
var errUnknownLevel = errors.New("unknown level (blue, yellow, orange, red)")

// parseLevel parses a level by its config name (blue, yellow, orange, red).
func parseLevel(s string) (Level, error) {
	if l, ok := ParseLevel(strings.TrimSpace(s)); ok {
		return l, nil
	}
	return LevelNone, errUnknownLevel
}
