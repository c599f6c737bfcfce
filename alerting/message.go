package alerting

import (
	_ "embed"
	"math"
	"strconv"
	"strings"
	"text/template"
	"time"

	"hazwatch/configs"
)

//go:embed message.tmpl
var messageText string

// messages renders the default Chinese text of a transition: one template
// per rule type for firing, one for resolved.
var messages = template.Must(template.New("message").Parse(messageText))

// messageView is an event as its message template sees it: numbers already
// formatted with the kind's decimals.
type messageView struct {
	Level                configs.Level
	Type                 string
	SiteName, SensorName string
	Unit                 string
	Value, Threshold     string
	Below, Stuck, Fell   bool
	Rate, RateThreshold  string
	ETAMinutes           int
	After                string
	RangeMin, RangeMax   string
}

// message renders ev's text; below says whether the threshold crossed was a
// below threshold (or a falling rate).
func message(ev *Event, kind *configs.Kind, r *rule, below bool) string {
	v := messageView{
		Level: ev.Level, Type: ev.Type,
		SiteName: ev.SiteName, SensorName: ev.SensorName, Unit: ev.Unit,
		Value:     strconv.FormatFloat(ev.Value, 'f', kind.Decimals, 64),
		Threshold: formatThreshold(ev.Threshold),
		Below:     below,
		Fell:      ev.Status == StatusFiring && ev.Level < ev.Previous,
	}
	name := ev.Type
	switch {
	case ev.Status == StatusResolved:
		name = "resolved"
	case ev.Type == configs.TypeRate:
		secs, suffix := rateUnit(r.rateText[ev.Level])
		v.Rate = strconv.FormatFloat(math.Abs(ev.Slope)*secs, 'f', kind.Decimals, 64) + " " + ev.Unit + suffix
		v.RateThreshold = formatThreshold(math.Abs(ev.Threshold)*secs) + " " + ev.Unit + suffix
	case ev.Type == configs.TypePredict:
		v.Below = ev.Slope < 0
		v.Rate = strconv.FormatFloat(math.Abs(ev.Slope)*3600, 'f', kind.Decimals, 64) + " " + ev.Unit + "/h"
		v.ETAMinutes = max(1, int(math.Round(ev.ETA.Minutes())))
	case ev.Type == configs.TypeStale:
		v.After = chineseDuration(time.Duration(r.after))
	case ev.Type == configs.TypeFault:
		v.Stuck = ev.Value >= kind.Range[0] && ev.Value <= kind.Range[1] || kind.Range == [2]float64{}
		v.After = chineseDuration(time.Duration(r.stuckFor))
		v.RangeMin, v.RangeMax = formatThreshold(kind.Range[0]), formatThreshold(kind.Range[1])
	}
	var b strings.Builder
	if err := messages.ExecuteTemplate(&b, name, &v); err != nil {
		// The templates are fixed and tested; a failure here is a bug, and
		// the event is still worth more with a plain message than without.
		return ev.Level.ChineseName() + " " + ev.SiteName + " " + ev.SensorName + " " + ev.Rule
	}
	return b.String()
}

// formatThreshold writes a configured number as short as it was written: 50, 0.3.
func formatThreshold(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// chineseDuration writes d in its largest whole unit: 5 分钟, 6 小时, 30 秒.
func chineseDuration(d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + " 小时"
	case d >= time.Minute && d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + " 分钟"
	}
	return strconv.FormatFloat(d.Seconds(), 'g', -1, 64) + " 秒"
}

// displayRate puts a rate event's value (the fitted slope) and threshold in
// the unit its rule was written in, such as m/h, as people read them, rather
// than in the units per second the engine compares.
func displayRate(ev *Event, r *rule) {
	secs, suffix := rateUnit(r.rateText[ev.Level])
	ev.Value, ev.Threshold, ev.Unit = ev.Slope*secs, ev.Threshold*secs, ev.Unit+suffix
}
