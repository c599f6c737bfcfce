package channels

import (
	"errors"
	"fmt"
	"strings"

	"hazwatch/alerting"
	"hazwatch/alerting/notify"
)

// smsParams are the variables of an SMS template. SMS providers send only
// approved templates, so hazwatch fills in variables instead of sending text;
// a template such as
//
//	【${level}预警】${site}${sensor}当前${value}，报警值${threshold}，时间${time}，请立即处置。
//
// (Tencent Cloud: {1}..{6} in this order) reads as one alert or as a group.
type smsParams struct {
	Level     string `json:"level"`     // 红色, or 已解除红色 for a recovery
	Site      string `json:"site"`      // 华兴化工
	Sensor    string `json:"sensor"`    // 3号罐区可燃气体, or 3个传感器：A、B、…
	Value     string `json:"value"`     // 52.1%LEL
	Threshold string `json:"threshold"` // 50%LEL
	Time      string `json:"time"`      // 11-28 18:00
}

// newSMSParams fills the template variables for m from its top alert, each
// cut to maxRunes characters (the provider's limit per variable).
func newSMSParams(m *notify.Message, maxRunes int) (smsParams, error) {
	top := topAlert(m.Alerts)
	if top == nil {
		return smsParams{}, ErrEmptyMessage
	}
	p := smsParams{
		Level:     shortLevel(top.Level),
		Site:      top.SiteName,
		Sensor:    top.SensorName,
		Value:     formatValue(top.Value) + top.Unit,
		Threshold: formatValue(top.Threshold) + top.Unit,
		Time:      top.At.In(shanghai).Format("01-02 15:04"),
	}
	if top.Status == alerting.StatusResolved {
		p.Level = "已解除" + p.Level
	}
	if len(m.Alerts) > 1 {
		names := make([]string, len(m.Alerts))
		for i := range m.Alerts {
			names[i] = m.Alerts[i].SensorName
		}
		p.Sensor = fmt.Sprintf("%d个传感器：%s", len(names), strings.Join(names, "、"))
	}
	for _, f := range []*string{&p.Level, &p.Site, &p.Sensor, &p.Value, &p.Threshold, &p.Time} {
		*f = truncateRunes(*f, maxRunes)
	}
	return p, nil
}

// list returns the variables in template order, for providers that number them.
func (p smsParams) list() []string {
	return []string{p.Level, p.Site, p.Sensor, p.Value, p.Threshold, p.Time}
}

// recipients returns the channel's own phones followed by the message's,
// written by format as the provider takes them, each once however it was
// written (13800000002 and +8613800000002 are one phone); no number at all is
// a permanent error.
func recipients(phones []string, m *notify.Message, format func(string) string) ([]string, error) {
	seen := make(map[string]bool, len(phones)+len(m.Recipients))
	var out []string
	for _, list := range [][]string{phones, m.Recipients} {
		for _, n := range list {
			if n = strings.TrimSpace(n); n == "" {
				continue
			}
			if n = format(n); !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no phone numbers to send to")
	}
	return out, nil
}
