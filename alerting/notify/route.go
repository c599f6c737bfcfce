package notify

import (
	"log/slog"
	"slices"
	"time"

	"hazwatch/alerting"
	"hazwatch/configs"
)

// eventTags lets a route or silence matcher see an event: level (by name),
// kind, site, sensor, rule, type, status, measurement and the series' tags.
func eventTags(ev *alerting.Event) configs.TagFunc {
	return func(key string) (string, bool) {
		switch key {
		case "level":
			return ev.Level.String(), true
		case "kind":
			return ev.Kind, true
		case "site":
			return ev.Site, true
		case "sensor":
			return ev.Sensor, true
		case "rule":
			return ev.Rule, true
		case "type":
			return ev.Type, true
		case "status":
			return ev.Status, true
		case "measurement":
			return ev.Measurement, true
		}
		for _, t := range ev.Tags {
			if t.Key == key {
				return t.Value, true
			}
		}
		return "", false
	}
}

// routesFor returns the positions of the routes ev takes: tried in order,
// the first match wins unless it says continue.
func (d *Dispatcher) routesFor(ev *alerting.Event) []int {
	var out []int
	tags := eventTags(ev)
	for i := range d.cfg.Routes {
		r := &d.cfg.Routes[i]
		if !r.Match.Matches(tags) {
			continue
		}
		out = append(out, i)
		if !r.Continue {
			break
		}
	}
	return out
}

func sendResolved(r *configs.Route) bool { return r.SendResolved == nil || *r.SendResolved }

// send adds one message of alerts for each of channels, with r's
// recipients, to the batch's outbox entries. received is when the earliest
// reading behind it arrived (zero for repeats and escalations).
func (d *Dispatcher) send(r *configs.Route, channels []string, alerts []alerting.Event, received time.Time) {
	phones := d.recipientsOf(r, alerts)
	for _, name := range channels {
		typ, ok := d.queues.typeOf(name)
		if !ok {
			d.m.count(name, resultDropped)
			d.log.Error("route names an unknown channel", slog.String("channel", name))
			continue
		}
		to := phones
		if isSMS(typ) && len(phones) > 0 {
			to = d.limitRecipients(r, name, phones, levelOf(alerts) == configs.LevelRed || allResolved(alerts), d.now)
			if len(to) == 0 {
				continue
			}
		}
		d.nextID++
		e := &entry{ID: d.nextID, Channel: name, Created: d.now, Next: d.now, Received: received,
			Message: Message{ID: d.box.notificationID(d.nextID), Alerts: alerts, Recipients: to}}
		d.b.entries = append(d.b.entries, e)
	}
}

// recipientsOf returns r's phones and, with contacts: site, the catalogue
// contacts of every alert's site and sensor, each once.
func (d *Dispatcher) recipientsOf(r *configs.Route, alerts []alerting.Event) []string {
	out := slices.Clone(r.Phones)
	if r.Contacts == "site" && d.opts.Contacts != nil {
		for _, a := range alerts {
			out = append(out, d.opts.Contacts(a.Site, a.Sensor)...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func isSMS(channelType string) bool {
	return channelType == configs.ChannelAliyunSMS || channelType == configs.ChannelTencentCloudSMS
}

// allResolved reports whether every alert of a message resolves: a phone
// told an alert is firing is owed its resolve, whatever its budget.
func allResolved(alerts []alerting.Event) bool {
	return !slices.ContainsFunc(alerts, func(a alerting.Event) bool { return a.Status != alerting.StatusResolved })
}

// limitRecipients returns the phones still within r's recipient_rate_limit,
// counting the others as dropped on channel. A message that must go,
// always (red, or resolves owed), goes to every phone and uses up their
// budget: a red alert must not be lost to the storm before it.
func (d *Dispatcher) limitRecipients(r *configs.Route, channel string, phones []string, always bool, now time.Time) []string {
	if r.RecipientRateLimit.PerSecond <= 0 {
		return phones
	}
	var out []string
	for _, p := range phones {
		key := r.RecipientRateLimit.Text + "|" + p
		b, ok := d.recipients[key]
		if !ok {
			b = newBucket(r.RecipientRateLimit)
			d.recipients[key] = b
		}
		if b.allow(now) || always {
			out = append(out, p)
			continue
		}
		d.m.count(channel, resultDropped)
	}
	return out
}
