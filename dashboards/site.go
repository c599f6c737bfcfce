package dashboards

import (
	"github.com/grafana-tools/sdk"

	"hazwatch/configs"
)

// siteUID is the UID of the dashboard of site id.
func siteUID(id string) string { return uid("hazwatch-site", id) }

// site draws every catalogue sensor of one site, each in its own panel with
// its own thresholds.
func (b *builder) site(s *configs.Site) *board {
	bd := newBoard(siteUID(s.ID), b.cat.SiteName(s.ID), tagSite, s.ID)
	bd.Links = []sdk.Link{linkTagged("总览", tagOverview), linkTagged("分类监测", tagKind)}
	for _, sn := range sensorsOf(s) {
		k, _ := b.cfg.Kind(sn.Kind)
		title := b.cat.SensorName(sn.Site, sn.Sensor)
		if k.Name != "" {
			title += " · " + k.Name
		}
		bd.add(b.sensorPanel(title, sn), 12, 8)
	}
	b.annotate(bd, []filter{{Tag: "site", Value: s.ID}})
	return bd
}
