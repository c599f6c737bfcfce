package configs

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary YAML to the loader: it must never panic, and any
// failure must be Errors whose every entry names the file and a line.
func FuzzLoad(f *testing.F) {
	for _, file := range []string{"example.yaml", "demo.yaml"} {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(base))
	f.Add([]byte(base + "rules:\n  - name: a\n    threshold: &t {above: {red: 1}}\n  - name: b\n    threshold: *t\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("mqtt: {url: ${X:-tcp://h}, qos: ${Q:-1}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if strings.Contains(string(data), "_file") {
			t.Skip("*_file and sites_file read files named by the input")
		}
		c, err := Parse("f.yaml", data)
		if err == nil {
			if c == nil {
				t.Fatal("no config and no error")
			}
			return
		}
		var errs Errors
		if !errors.As(err, &errs) || len(errs) == 0 {
			t.Fatalf("error is not Errors: %v", err)
		}
		for _, e := range errs {
			if e.File != "f.yaml" || e.Line < 1 || e.Problem == "" {
				t.Fatalf("incomplete error %+v", e)
			}
		}
	})
}
