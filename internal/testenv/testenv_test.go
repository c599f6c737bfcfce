package testenv

import (
	"net"
	"net/http"
	"strings"
	"testing"
)

func TestMosquitto_RestartsOnSamePort(t *testing.T) {
	b := Mosquitto(t)
	if !strings.HasPrefix(b.URL, "tcp://127.0.0.1:") {
		t.Fatalf("URL = %q, want tcp://127.0.0.1:PORT", b.URL)
	}
	b.Stop()
	if err := dialable(addr(b.Port)); err == nil {
		t.Fatal("broker still accepts connections after Stop")
	}
	b.Start()
	if err := dialable(addr(b.Port)); err != nil {
		t.Fatalf("broker not back after Start: %v", err)
	}
}

func TestInfluxDB_StoresAndCountsAcrossRestart(t *testing.T) {
	db := InfluxDB(t)
	resp, err := http.Post(db.URL+"/write?db="+db.Database, "text/plain",
		strings.NewReader("gas,site=s1 value=1.5 1000000000\ngas,site=s2 value=2.5 2000000000\n"))
	if err != nil {
		t.Fatalf("write: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("write answered %s", resp.Status)
	}
	db.Stop()
	db.Start()
	if n := db.Count(t, "SELECT COUNT(value) FROM gas"); n != 2 {
		t.Fatalf("count after restart = %d, want 2", n)
	}
	series := db.Series(t, "SELECT value FROM gas GROUP BY site")
	if len(series) != 2 || series[0].Tags["site"] != "s1" || series[1].Tags["site"] != "s2" {
		t.Fatalf("series by site = %+v, want s1 and s2", series)
	}
	if db.Bucket != db.Database+"/autogen" {
		t.Fatalf("Bucket = %q", db.Bucket)
	}
}

func TestFreePort_IsListenable(t *testing.T) {
	l, err := net.Listen("tcp", addr(FreePort(t)))
	if err != nil {
		t.Fatalf("listen on free port: %v", err)
	}
	l.Close()
}
