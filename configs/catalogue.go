package configs

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Catalogue looks up the human names and contacts of sites and sensors.
// Messages and dashboards use it; an id it does not know stands for itself.
type Catalogue struct {
	sites map[string]*Site
}

// Catalogue indexes the config's sites (those of sites_file included).
func (c *Config) Catalogue() *Catalogue {
	cat := &Catalogue{sites: make(map[string]*Site, len(c.Sites))}
	for i := range c.Sites {
		cat.sites[c.Sites[i].ID] = &c.Sites[i]
	}
	return cat
}

// Site returns the catalogue entry of site id.
func (c *Catalogue) Site(id string) (*Site, bool) {
	s, ok := c.sites[id]
	return s, ok
}

// Sensor returns the catalogue entry of a sensor of a site.
func (c *Catalogue) Sensor(site, sensor string) (Sensor, bool) {
	s, ok := c.sites[site]
	if !ok {
		return Sensor{}, false
	}
	v, ok := s.Sensors[sensor]
	return v, ok
}

// SiteName returns the site's display name, or its id when it has none.
func (c *Catalogue) SiteName(site string) string {
	if s, ok := c.sites[site]; ok && s.Name != "" {
		return s.Name
	}
	return site
}

// SensorName returns the sensor's display name, or its id when it has none.
func (c *Catalogue) SensorName(site, sensor string) string {
	if s, ok := c.Sensor(site, sensor); ok && s.Name != "" {
		return s.Name
	}
	return sensor
}

// Contacts returns the phone numbers to notify about a sensor: the sensor's
// own contacts first, then the site's, each once.
func (c *Catalogue) Contacts(site, sensor string) []string {
	s, ok := c.sites[site]
	if !ok {
		return nil
	}
	out := slices.Clone(s.Sensors[sensor].Contacts)
	for _, p := range s.Contacts {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// siteColumns are the columns of a sites_file, one row per sensor.
var siteColumns = []string{"site_id", "site_name", "enterprise", "district", "lat", "lon",
	"contacts", "sensor_id", "sensor_name", "kind"}

// readSitesCSV adds the sites of a CSV catalogue to sites. Rows of one site
// (and a site already in the YAML) merge; a sensor defined twice,
// contradicting site fields and unknown kinds are errors, reported at the
// CSV's lines.
func readSitesCSV(path string, r io.Reader, sites *[]Site, kinds map[string]Kind) Errors {
	var errs Errors
	fail := func(line int, field, problem string) {
		errs = append(errs, Error{File: path, Line: line, Field: field, Problem: problem})
	}
	cr := csv.NewReader(r)
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err != nil {
		fail(1, "", fmt.Sprintf("read header: %v", err))
		return errs
	}
	col := make(map[string]int, len(header))
	for i, h := range header {
		col[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))] = i
	}
	for _, name := range siteColumns {
		if _, ok := col[name]; !ok {
			fail(1, name, "missing column (want "+strings.Join(siteColumns, ",")+")")
		}
	}
	if len(errs) > 0 {
		return errs
	}
	index := make(map[string]int, len(*sites))
	for i, s := range *sites {
		index[s.ID] = i
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.Line
			}
			fail(line, "", err.Error())
			break
		}
		get := func(name string) string {
			if i := col[name]; i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		id := get("site_id")
		if id == "" {
			fail(line, "site_id", "required")
			continue
		}
		i, ok := index[id]
		if !ok {
			i = len(*sites)
			index[id] = i
			*sites = append(*sites, Site{ID: id})
		}
		site := &(*sites)[i]
		for _, f := range []struct {
			name string
			dst  *string
		}{{"site_name", &site.Name}, {"enterprise", &site.Enterprise}, {"district", &site.District}} {
			if v := get(f.name); !mergeValue(f.dst, v) {
				fail(line, f.name, fmt.Sprintf("%q contradicts %q given earlier for site %s", v, *f.dst, id))
			}
		}
		for _, f := range []struct {
			name string
			dst  *float64
		}{{"lat", &site.Lat}, {"lon", &site.Lon}} {
			v, err := parseOptionalFloat(get(f.name))
			switch {
			case err != nil:
				fail(line, f.name, err.Error())
			case !mergeValue(f.dst, v):
				fail(line, f.name, fmt.Sprintf("%g contradicts %g given earlier for site %s", v, *f.dst, id))
			}
		}
		for p := range strings.SplitSeq(get("contacts"), ";") {
			if p = strings.TrimSpace(p); p != "" && !slices.Contains(site.Contacts, p) {
				site.Contacts = append(site.Contacts, p)
			}
		}
		sensor := get("sensor_id")
		if sensor == "" {
			continue
		}
		if _, dup := site.Sensors[sensor]; dup {
			fail(line, "sensor_id", fmt.Sprintf("sensor %s of site %s is defined twice", sensor, id))
			continue
		}
		if site.Sensors == nil {
			site.Sensors = make(map[string]Sensor)
		}
		kind := get("kind")
		if _, ok := kinds[kind]; kind != "" && !ok {
			fail(line, "kind", unknownKind(kind, kinds))
		}
		site.Sensors[sensor] = Sensor{Name: get("sensor_name"), Kind: kind}
	}
	return errs
}

func parseOptionalFloat(s string) (float64, error) {
	if s == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("want a number, got %q", s)
	}
	return f, nil
}

// mergeValue sets *dst to v unless v is empty or *dst already holds another
// value, which it reports as false.
func mergeValue[T comparable](dst *T, v T) bool {
	var zero T
	switch {
	case v == zero || *dst == v:
		return true
	case *dst == zero:
		*dst = v
		return true
	}
	return false
}
