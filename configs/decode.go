package configs

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// maxAliasNodes bounds how many nodes one config may decode through
// aliases, so that nested aliases (a "billion laughs") cannot make a small
// file take seconds and gigabytes. Nodes written out are bounded by the
// file's size.
const maxAliasNodes = 100_000

// decoder decodes a yaml.Node tree into config values by reflection. Unlike
// yaml's own decoder it keeps going after a problem, names each problem by
// its field path and line, and remembers the line of every path it saw so
// that validation can point at lines too.
type decoder struct {
	file  string
	errs  Errors
	lines map[string]int
	// expanded maps the path of a value that ${ENV} expansion changed to
	// what the file wrote, so that a problem with the value shows the
	// file's text rather than the expansion, which may well be a secret.
	expanded map[string]expansion
	// inAlias is how many aliases deep the decoding is; aliasNodes counts
	// the nodes decoded there.
	inAlias, aliasNodes int
}

// expansion is a value as the file wrote it and as ${ENV} expansion made it.
type expansion struct{ written, value string }

func newDecoder(file string) *decoder {
	return &decoder{file: file, lines: make(map[string]int), expanded: make(map[string]expansion)}
}

// fail reports a problem of the field at path. Where the field's value came
// from ${ENV}, the problem shows the file's text in place of the value.
func (d *decoder) fail(line int, path, problem string) {
	if e, ok := d.expanded[path]; ok && e.value != "" {
		problem = strings.ReplaceAll(problem, strconv.Quote(e.value), strconv.Quote(e.written))
		problem = strings.ReplaceAll(problem, e.value, e.written)
	}
	d.errs = append(d.errs, Error{File: d.file, Line: line, Field: path, Problem: problem})
}

// line returns the line of a field path, or of its nearest parent that the
// file wrote; 1 when there is none.
func (d *decoder) line(path string) int {
	for {
		if l, ok := d.lines[path]; ok && l > 0 {
			return l
		}
		if path == "" {
			return 1
		}
		path = path[:max(strings.LastIndexByte(path, '.'), strings.LastIndexByte(path, '['), 0)]
	}
}

// wrote reports whether the file wrote the field at path, even if empty.
func (d *decoder) wrote(path string) bool {
	_, ok := d.lines[path]
	return ok
}

// expand returns a copy of the scalar n with ${ENV} expanded, or nil after
// reporting a problem. An unquoted scalar is resolved again, so that
// qos: ${QOS:-1} is a number.
func (d *decoder) expand(n *yaml.Node, path string) *yaml.Node {
	v, err := expandEnv(n.Value)
	if err != nil {
		d.fail(n.Line, path, err.Error())
		return nil
	}
	if v != n.Value {
		d.expanded[path] = expansion{written: n.Value, value: v}
	}
	c := *n
	c.Value = v
	if c.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
		c.Tag = ""
	}
	return &c
}

// scalarParsers decode the config's own scalar types from their text.
var scalarParsers = map[reflect.Type]func(string) (any, error){
	reflect.TypeFor[Duration](): func(s string) (any, error) {
		v, err := parseDuration(s)
		return Duration(v), err
	},
	reflect.TypeFor[Rate]():     func(s string) (any, error) { return parseRate(s) },
	reflect.TypeFor[ByteSize](): func(s string) (any, error) { return parseByteSize(s) },
	reflect.TypeFor[Level]():    func(s string) (any, error) { return parseLevel(s) },
	reflect.TypeFor[time.Time](): func(s string) (any, error) {
		t, err := time.Parse(time.RFC3339, strings.TrimSpace(s))
		if err != nil {
			return t, fmt.Errorf("bad time %q (want RFC 3339, e.g. 2026-12-01T00:00:00+08:00)", s)
		}
		return t, nil
	},
}

// decode sets v, which must be settable, from n; path names v in errors.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if d.inAlias > 0 {
		if d.aliasNodes++; d.aliasNodes > maxAliasNodes {
			if d.aliasNodes == maxAliasNodes+1 {
				d.fail(n.Line, path, "aliases expand to too many values")
			}
			return
		}
	}
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return
		}
		n = n.Content[0]
	}
	if _, seen := d.lines[path]; !seen {
		d.lines[path] = n.Line
	}
	// Problems inside an alias are reported at the anchored value's lines.
	// The schema has no recursive types, so even a self-referencing alias
	// ends where the schema does.
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		d.inAlias++
		defer func() { d.inAlias-- }()
		for n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
	}
	if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "${") {
		if n = d.expand(n, path); n == nil {
			return
		}
	}
	if n.Kind == 0 || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // an empty value leaves the default
	}
	if parse, ok := scalarParsers[v.Type()]; ok {
		if n.Kind != yaml.ScalarNode {
			d.fail(n.Line, path, "want a single value, got "+describe(n))
			return
		}
		x, err := parse(n.Value)
		if err != nil {
			d.fail(n.Line, path, err.Error())
			return
		}
		v.Set(reflect.ValueOf(x))
		return
	}
	switch p := v.Addr().Interface().(type) {
	case *Hysteresis:
		d.hysteresis(n, p, path)
		return
	case *Matcher:
		d.matcher(n, p, path)
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), path)
	case reflect.Struct:
		d.structure(n, v, path)
	case reflect.Map:
		d.mapping(n, v, path)
	case reflect.Slice:
		d.slice(n, v, path)
	case reflect.Array:
		d.array(n, v, path)
	default:
		d.scalar(n, v, path)
	}
}

// wantedScalar names what a scalar of a kind must look like; integers are
// the rest.
var wantedScalar = map[reflect.Kind]string{reflect.String: "a string", reflect.Bool: "true or false",
	reflect.Float64: "a number", reflect.Float32: "a number"}

// scalar decodes strings, booleans and numbers.
func (d *decoder) scalar(n *yaml.Node, v reflect.Value, path string) {
	want := wantedScalar[v.Kind()]
	if want == "" {
		want = "an integer"
	}
	if n.Kind != yaml.ScalarNode {
		d.fail(n.Line, path, "want "+want+", got "+describe(n))
		return
	}
	tag := n.ShortTag()
	ok := false
	switch v.Kind() {
	case reflect.String:
		v.SetString(n.Value)
		return
	case reflect.Bool:
		var b bool
		if ok = tag == "!!bool" && n.Decode(&b) == nil; ok {
			v.SetBool(b)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var i int64
		if ok = tag == "!!int" && n.Decode(&i) == nil && !v.OverflowInt(i); ok {
			v.SetInt(i)
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		var u uint64
		if ok = tag == "!!int" && n.Decode(&u) == nil && !v.OverflowUint(u); ok {
			v.SetUint(u)
		}
	case reflect.Float32, reflect.Float64:
		var f float64
		ok = (tag == "!!int" || tag == "!!float") && n.Decode(&f) == nil &&
			!math.IsNaN(f) && !math.IsInf(f, 0) && !v.OverflowFloat(f)
		if ok {
			v.SetFloat(f)
		}
	default:
		d.fail(n.Line, path, "cannot be set from YAML") // a schema type this decoder does not know
		return
	}
	if !ok {
		d.fail(n.Line, path, fmt.Sprintf("want %s, got %q", want, n.Value))
	}
}

// entry is one key and value of a mapping, with the key's field path.
type entry struct {
	key, val *yaml.Node
	path     string
}

// entries returns the pairs of the mapping n, after reporting a node that
// is not a mapping (want says what is expected) and duplicate keys. Merge
// keys (<<: *anchor) are decoded into v first, so that the mapping's own
// keys override them as YAML says.
func (d *decoder) entries(n *yaml.Node, v reflect.Value, path, want string) []entry {
	if n.Kind != yaml.MappingNode {
		d.fail(n.Line, path, "want "+want+", got "+describe(n))
		return nil
	}
	out := make([]entry, 0, len(n.Content)/2)
	seen := make(map[string]bool, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		if key.ShortTag() == "!!merge" {
			d.merge(val, v, path)
			continue
		}
		p := join(path, key.Value)
		if seen[key.Value] {
			d.fail(key.Line, p, "duplicate key")
			continue
		}
		seen[key.Value] = true
		d.lines[p] = key.Line
		out = append(out, entry{key, val, p})
	}
	return out
}

// merge applies a merge key's value: one mapping or a list of them.
func (d *decoder) merge(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.SequenceNode {
		for _, m := range n.Content {
			d.decode(m, v, path)
		}
		return
	}
	d.decode(n, v, path)
}

// structure decodes a mapping into a struct by the fields' yaml tags;
// a key that names no field is an error.
func (d *decoder) structure(n *yaml.Node, v reflect.Value, path string) {
	fields := yamlFields(v.Type())
	for _, e := range d.entries(n, v, path, "a mapping") {
		idx, ok := fields[e.key.Value]
		if !ok {
			d.fail(e.key.Line, e.path, unknownKey(e.key.Value, fields))
			continue
		}
		d.decode(e.val, v.Field(idx), e.path)
	}
}

// mapping decodes a mapping into a map. A key already in the map is decoded
// over its value, which is how a file's kinds override built-in ones field
// by field.
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	for _, e := range d.entries(n, v, path, "a mapping") {
		errs := len(d.errs)
		k := reflect.New(v.Type().Key()).Elem()
		d.decode(e.key, k, e.path)
		if len(d.errs) > errs {
			continue
		}
		elem := reflect.New(v.Type().Elem()).Elem()
		if old := v.MapIndex(k); old.IsValid() {
			elem.Set(old)
		}
		d.decode(e.val, elem, e.path)
		v.SetMapIndex(k, elem)
	}
}

func (d *decoder) slice(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.fail(n.Line, path, "want a list, got "+describe(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, e := range n.Content {
		d.decode(e, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
	}
	v.Set(s)
}

func (d *decoder) array(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode || len(n.Content) != v.Len() {
		d.fail(n.Line, path, fmt.Sprintf("want a list of %d values, e.g. [0, 100]", v.Len()))
		return
	}
	for i, e := range n.Content {
		d.decode(e, v.Index(i), fmt.Sprintf("%s[%d]", path, i))
	}
}

// hysteresis decodes one deadband for all levels or a map level → deadband.
func (d *decoder) hysteresis(n *yaml.Node, h *Hysteresis, path string) {
	if n.Kind == yaml.MappingNode {
		d.decode(n, reflect.ValueOf(&h.PerLevel).Elem(), path)
		return
	}
	d.decode(n, reflect.ValueOf(&h.All).Elem(), path)
}

// matcher decodes a mapping of tag → one pattern or a list of patterns.
func (d *decoder) matcher(n *yaml.Node, m *Matcher, path string) {
	if *m == nil {
		*m = make(Matcher)
	}
	for _, e := range d.entries(n, reflect.ValueOf(m).Elem(), path, "a mapping such as {kind: gas_lel}") {
		var patterns []string
		if e.val.Kind == yaml.SequenceNode {
			d.decode(e.val, reflect.ValueOf(&patterns).Elem(), e.path)
		} else {
			var s string
			d.decode(e.val, reflect.ValueOf(&s).Elem(), e.path)
			patterns = []string{s}
		}
		(*m)[e.key.Value] = patterns
	}
}

// yamlFields maps a struct's yaml key names to field indexes.
func yamlFields(t reflect.Type) map[string]int {
	fields := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" && t.Field(i).IsExported() {
			fields[name] = i
		}
	}
	return fields
}

// unknownKey names the problem of a key that is not in the schema, with the
// nearest known key when one is a likely typo.
func unknownKey(key string, fields map[string]int) string {
	best, bestDist := "", 3
	for name := range fields {
		if dist := editDistance(key, name); dist < bestDist || dist == bestDist && name < best {
			best, bestDist = name, dist
		}
	}
	if best != "" && bestDist <= 2 {
		return fmt.Sprintf("unknown key (did you mean %s?)", best)
	}
	return "unknown key"
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return strconv.Quote(n.Value)
}

// join appends a key to a field path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
