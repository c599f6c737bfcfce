package channels

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"hazwatch/alerting"
	"hazwatch/alerting/notify"
	"hazwatch/configs"
)

// shanghai is the zone every time in a message is shown in. Minimal machines
// lack the zone database, and China has kept UTC+8 without daylight saving
// since 1991, so a fixed zone is an exact fallback.
var shanghai = func() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*60*60)
}()

// view is what a message template sees: one alert, or one site's alerts
// grouped during a storm.
type view struct {
	// Title is the headline, e.g. 【红色预警】华兴化工 3号罐区可燃气体, or for a
	// group 【红色预警】华兴化工 3 个传感器报警.
	Title string
	// Emoji marks the highest level still firing, or recovery.
	Emoji    string
	Resolved bool // every alert in the message resolved
	Alerts   []alertView
}

// alertView is one alert of a message, its numbers already formatted.
type alertView struct {
	Emoji     string
	State     string // 报警 or 已恢复
	Level     string // 红色预警
	Rule      string
	Site      string // the site's name
	Sensor    string // the sensor's name
	Value     string // with unit: 52.1%LEL
	Threshold string // with unit: 50%LEL
	ETA       string // 约 12 分钟, or empty
	Time      string // 2026-11-28 18:00:05, Asia/Shanghai
	Message   string // the alert's own Chinese text
	Resolved  bool
}

var levelEmoji = [...]string{"⚪", "🔵", "🟡", "🟠", "🔴"}

// emoji returns the mark for a level, or a tick for a recovery.
func emoji(e *alerting.Event) string {
	if e.Status == alerting.StatusResolved {
		return "✅"
	}
	return levelEmoji[min(int(e.Level), len(levelEmoji)-1)]
}

// newView prepares m for the templates.
func newView(m *notify.Message) *view {
	v := &view{Resolved: true, Alerts: make([]alertView, len(m.Alerts))}
	for i := range m.Alerts {
		v.Alerts[i] = newAlertView(&m.Alerts[i])
	}
	top := topAlert(m.Alerts)
	if top == nil {
		return v
	}
	v.Resolved = top.Status == alerting.StatusResolved
	v.Emoji = emoji(top)
	v.Title = title(m.Alerts, top)
	return v
}

// topAlert returns the alert that heads a message: the highest level still
// firing, or when all are resolved the highest that ended.
func topAlert(alerts []alerting.Event) *alerting.Event {
	var top *alerting.Event
	for i := range alerts {
		e := &alerts[i]
		if top == nil || rank(e) > rank(top) {
			top = e
		}
	}
	return top
}

// rank orders alerts for topAlert: any firing alert outranks every resolved one.
func rank(e *alerting.Event) int {
	r := int(e.Level)
	if e.Status == alerting.StatusFiring {
		r += 100
	}
	return r
}

// title returns the headline of a message.
func title(alerts []alerting.Event, top *alerting.Event) string {
	site := top.SiteName
	if len(alerts) == 1 {
		if top.Status == alerting.StatusResolved {
			return fmt.Sprintf("【%s解除】%s %s", top.Level.ChineseName(), site, top.SensorName)
		}
		return fmt.Sprintf("【%s】%s %s", top.Level.ChineseName(), site, top.SensorName)
	}
	if top.Status == alerting.StatusResolved {
		return fmt.Sprintf("【预警解除】%s %d 个传感器恢复正常", site, len(alerts))
	}
	return fmt.Sprintf("【%s】%s %d 个传感器报警", top.Level.ChineseName(), site, len(alerts))
}

func newAlertView(e *alerting.Event) alertView {
	a := alertView{
		Emoji:     emoji(e),
		State:     "报警",
		Level:     e.Level.ChineseName(),
		Rule:      e.Rule,
		Site:      e.SiteName,
		Sensor:    e.SensorName,
		Value:     formatValue(e.Value) + e.Unit,
		Threshold: formatValue(e.Threshold) + e.Unit,
		Time:      e.At.In(shanghai).Format("2006-01-02 15:04:05"),
		Message:   e.Message,
		Resolved:  e.Status == alerting.StatusResolved,
	}
	if a.Resolved {
		a.State = "已恢复"
	}
	if e.HasETA {
		a.ETA = fmt.Sprintf("约 %d 分钟", int(math.Ceil(e.ETA.Minutes())))
	}
	return a
}

// formatValue writes a reading's value for people: at most three decimals,
// no trailing zeros (52.1, 0.005, 1200).
func formatValue(v float64) string {
	return strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64)
}

// shortLevel returns a level's colour word, 红色 for 红色预警, as SMS
// templates put it into their own fixed text.
func shortLevel(l configs.Level) string {
	return strings.TrimSuffix(l.ChineseName(), "预警")
}
