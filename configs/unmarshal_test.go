package configs

import (
	"math"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	cases := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"30s", 30 * time.Second, false},
		{"5m", 5 * time.Minute, false},
		{"1h", time.Hour, false},
		{"1h30m", 90 * time.Minute, false},
		{"1d", 24 * time.Hour, false},
		{"2d12h", 60 * time.Hour, false},
		{"0", 0, false},
		{"500ms", 500 * time.Millisecond, false},
		{"", 0, true},
		{"5", 0, true},
		{"5x", 0, true},
		{"d", 0, true},
		{"1dd", 0, true},
		{"-5m", 0, true},
		{"1d-1h", 0, true},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := parseDuration(c.in)
			if (err != nil) != c.wantErr || got != c.want {
				t.Errorf("parseDuration(%q) = %v, %v; want %v, error %v", c.in, got, err, c.want, c.wantErr)
			}
		})
	}
}

func TestParseRate(t *testing.T) {
	cases := []struct {
		in        string
		perSecond float64
		wantErr   bool
	}{
		{"0.6/h", 0.6 / 3600, false},
		{"20/m", 20.0 / 60, false},
		{"5/min", 5.0 / 60, false},
		{"1/s", 1, false},
		{"-2/h", -2.0 / 3600, false},
		{"48/d", 48.0 / 86400, false},
		{"3/10m", 3.0 / 600, false},
		{"0.6", 0, true},
		{"/h", 0, true},
		{"1/x", 0, true},
		{"1/0s", 0, true},
		{"NaN/h", 0, true},
		{"Inf/h", 0, true},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := parseRate(c.in)
			if (err != nil) != c.wantErr || math.Abs(got.PerSecond-c.perSecond) > 1e-12 {
				t.Errorf("parseRate(%q) = %+v, %v; want %v/s, error %v", c.in, got, err, c.perSecond, c.wantErr)
			}
			if err == nil && got.Text != c.in {
				t.Errorf("Text = %q, want %q", got.Text, c.in)
			}
		})
	}
}

func TestParseByteSize(t *testing.T) {
	cases := []struct {
		in      string
		want    ByteSize
		wantErr bool
	}{
		{"1GiB", 1 << 30, false},
		{"512MiB", 512 << 20, false},
		{"64KiB", 64 << 10, false},
		{"1GB", 1e9, false},
		{"1.5KiB", 1536, false},
		{"1048576", 1 << 20, false},
		{"10 MB", 10e6, false},
		{"7B", 7, false},
		{"1gib", 1 << 30, false},
		{"", 0, true},
		{"GiB", 0, true},
		{"-1MiB", 0, true},
		{"1XB", 0, true},
		{"1e30TiB", 0, true},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := parseByteSize(c.in)
			if (err != nil) != c.wantErr || got != c.want {
				t.Errorf("parseByteSize(%q) = %v, %v; want %v, error %v", c.in, got, err, c.want, c.wantErr)
			}
		})
	}
}

func TestParseLevel(t *testing.T) {
	for _, l := range Levels {
		if got, err := parseLevel(l.String()); err != nil || got != l {
			t.Errorf("parseLevel(%q) = %v, %v", l.String(), got, err)
		}
	}
	for _, bad := range []string{"", "purple", "Red"} {
		if _, err := parseLevel(bad); err == nil {
			t.Errorf("parseLevel(%q) accepted", bad)
		}
	}
}

func TestExpandEnv(t *testing.T) {
	t.Setenv("HZ_SET", "v")
	t.Setenv("HZ_EMPTY", "")
	cases := []struct {
		in, want string
		wantErr  bool
	}{
		{"plain", "plain", false},
		{"${HZ_SET}", "v", false},
		{"a-${HZ_SET}-b-${HZ_SET}", "a-v-b-v", false},
		{"${HZ_EMPTY}", "", false},
		{"${HZ_EMPTY:-d}", "d", false},
		{"${HZ_UNSET:-tcp://127.0.0.1:1883}", "tcp://127.0.0.1:1883", false},
		{"${HZ_UNSET:-}", "", false},
		{"$HZ_SET", "$HZ_SET", false},
		{"${HZ_UNSET}", "", true},
		{"${HZ_SET", "", true},
		{"${1BAD}", "", true},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := expandEnv(c.in)
			if (err != nil) != c.wantErr || got != c.want {
				t.Errorf("expandEnv(%q) = %q, %v; want %q, error %v", c.in, got, err, c.want, c.wantErr)
			}
		})
	}
}
