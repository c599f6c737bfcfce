package reading

import "testing"

func TestCheckNames_RefuseWhatInfluxDBRefusesOrReserves(t *testing.T) {
	cases := []struct {
		name       string
		tag, field bool // accepted as a tag key, as a field key
	}{
		{"value", true, true},
		{"zone-a_2", true, true},
		{"温度", true, true},
		{"a b,c=d", true, true}, // escaped by AppendLine
		{"time", false, false},
		{"_field", false, false},
		{"_measurement", false, false},
		{"_value", false, false},
		{"field", false, true}, // Reading.Tag("field") is the field's name
		{"", false, false},
		{"ends in \\", false, false},
		{"new\nline", false, false},
		{"\xff", false, false},
	}
	for _, c := range cases {
		if err := CheckTagKey(c.name); (err == nil) != c.tag {
			t.Errorf("CheckTagKey(%q) = %v, want accepted %v", c.name, err, c.tag)
		}
		if err := CheckFieldKey(c.name); (err == nil) != c.field {
			t.Errorf("CheckFieldKey(%q) = %v, want accepted %v", c.name, err, c.field)
		}
	}
}
