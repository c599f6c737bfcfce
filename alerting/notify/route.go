package notify

import (
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

// notify sends what st's latest event calls for on each of its routes: a
// firing event (new, risen or fallen: a fall is sent as a firing message at
// the lower level, so that the people on duty see it ease) always, a resolve
// when the route sends resolves and notified the alert before. Silenced and
// inhibited events are counted, not sent; Tick sends a firing alert once
// nothing holds it back.
func (d *Dispatcher) notify(st *alertState, now time.Time) {
	ev := &st.ev
	routes := d.routesFor(ev)
	if d.suppressed(ev, now) {
		for _, ri := range routes {
			for _, ch := range d.cfg.Routes[ri].Channels {
				d.m.count(ch, resultSuppressed)
			}
		}
		return
	}
	for _, ri := range routes {
		rs := st.route(ri)
		if ev.Status == alerting.StatusResolved && (!rs.notified || !sendResolved(&d.cfg.Routes[ri])) {
			continue
		}
		rs.notified, rs.sentAt = true, now
		d.dispatch(ri, *ev, false, now)
	}
}

func sendResolved(r *configs.Route) bool { return r.SendResolved == nil || *r.SendResolved }

// send queues one message of alerts to each of channels, with r's recipients.
func (d *Dispatcher) send(r *configs.Route, channels []string, alerts []alerting.Event, now time.Time) {
	phones := d.recipientsOf(r, alerts)
	for _, name := range channels {
		to := phones
		if q, ok := d.queues[name]; ok && isSMS(q.cfg.Type) && len(phones) > 0 {
			to = d.limitRecipients(r, name, phones, levelOf(alerts), now)
			if len(to) == 0 {
				continue
			}
		}
		d.enqueue(name, Message{Alerts: alerts, Recipients: to}, now)
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

// limitRecipients returns the phones still within r's recipient_rate_limit,
// counting the others as dropped on channel. A red message goes to every
// phone (and uses up their budget): a red alert must not be lost to the
// storm before it.
func (d *Dispatcher) limitRecipients(r *configs.Route, channel string, phones []string, level configs.Level, now time.Time) []string {
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
		if b.allow(now) || level == configs.LevelRed {
			out = append(out, p)
			continue
		}
		d.m.count(channel, resultDropped)
	}
	return out
}
