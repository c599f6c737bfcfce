package configs

import "time"

// Duration is a time.Duration written as 30s, 5m, 1h or 1d.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Rate is an amount per unit of time, written as 0.6/h, 20/m or 1/s, and held
// per second.
type Rate struct {
	PerSecond float64
	// Text is how the rate was written, for messages and dashboards.
	Text string
}

// ByteSize is a size written as 1GiB, 512MiB, 64KiB or a plain number of bytes.
type ByteSize int64

// Level is an alert level, ordered: None < Blue < Yellow < Orange < Red.
type Level uint8

// Alert levels (预警级别): blue IV 一般, yellow III 较重, orange II 严重, red I 特别严重.
const (
	LevelNone Level = iota
	LevelBlue
	LevelYellow
	LevelOrange
	LevelRed
)

// Levels lists the alert levels from lowest to highest.
var Levels = []Level{LevelBlue, LevelYellow, LevelOrange, LevelRed}

var levelNames = [...]string{"", "blue", "yellow", "orange", "red"}

// String returns the level's config name (blue, yellow, orange, red), or "" for none.
func (l Level) String() string {
	if int(l) < len(levelNames) {
		return levelNames[l]
	}
	return ""
}

// ChineseName returns the level's name in messages, e.g. 红色预警.
func (l Level) ChineseName() string {
	return [...]string{"", "蓝色预警", "黄色预警", "橙色预警", "红色预警"}[min(int(l), 4)]
}

// Color returns the level's display colour as a CSS hex string.
func (l Level) Color() string {
	return [...]string{"#73BF69", "#3274D9", "#FADE2A", "#FF9830", "#F2495C"}[min(int(l), 4)]
}

// ParseLevel returns the level named s, or false.
func ParseLevel(s string) (Level, bool) {
	for i, n := range levelNames {
		if i > 0 && n == s {
			return Level(i), true
		}
	}
	return LevelNone, false
}
