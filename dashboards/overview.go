package dashboards

import (
	"fmt"
	"strings"

	"github.com/grafana-tools/sdk"

	"hazwatch/configs"
)

// overviewUID is the UID of the overview dashboard.
const overviewUID = "hazwatch-overview"

// overview shows every site: the active alerts counted per level, each in
// its level's colour, the latest value of every sensor per kind with its
// unit, the list of sites, and links to the per-kind and per-site dashboards.
func (b *builder) overview() *board {
	bd := newBoard(overviewUID, "安全生产监测预警总览", tagOverview)
	bd.Links = []sdk.Link{linkTagged("分类监测", tagKind), linkTagged("站点", tagSite)}
	for i := len(configs.Levels) - 1; i >= 0; i-- {
		l := configs.Levels[i]
		one := 1.0
		th := sdk.Thresholds{Mode: "absolute", Steps: []sdk.ThresholdStep{
			{Color: configs.LevelNone.Color()}, {Color: l.Color(), Value: &one}}}
		zero := 0
		p := b.stat(l.ChineseName(), b.q.ActiveAlerts(l), "none", "0", &zero, th)
		targets := (*p.CustomPanel)["targets"].([]sdk.Target)
		targets[0].Alias = l.ChineseName()
		bd.add(p, 6, 4)
	}
	for _, id := range b.kinds() {
		k, _ := b.cfg.Kind(id)
		sel := series{Measurements: []string{k.Measurement}, Filters: []filter{{Tag: "kind", Value: id}}}
		dec := k.Decimals
		bd.add(b.stat("最新值 · "+kindTitle(id, k), b.q.Latest(sel), grafanaUnit(k.Unit), "", &dec,
			steps(b.marksFor("", "", id))), 24, 6)
	}
	sites := sdk.NewText("站点")
	sites.Datasource = nil
	sites.Renderer = nil
	sites.TextPanel.Options.Mode = "markdown"
	sites.TextPanel.Options.Content = b.siteTable()
	bd.add(sites, 24, 8)
	return bd
}

// siteTable lists the sites in markdown, each linked to its dashboard.
func (b *builder) siteTable() string {
	var sb strings.Builder
	sb.WriteString("| 站点 | 企业 | 区域 | 传感器 |\n| --- | --- | --- | --- |\n")
	for _, s := range b.cfg.Sites {
		fmt.Fprintf(&sb, "| [%s](/d/%s) | %s | %s | %d |\n",
			mdEscape(b.cat.SiteName(s.ID)), siteUID(s.ID), mdEscape(s.Enterprise), mdEscape(s.District), len(s.Sensors))
	}
	return sb.String()
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "[", `\[`, "]", `\]`).Replace(s)
}

// kindTitle is a kind's Chinese name, or its id when it has none.
func kindTitle(id string, k configs.Kind) string {
	if k.Name == "" {
		return id
	}
	return k.Name
}
