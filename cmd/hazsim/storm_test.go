package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestPercentile_NearestRank(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	tests := []struct {
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{ds, 50, 50 * time.Millisecond},
		{ds, 99, 99 * time.Millisecond},
		{ds, 100, 100 * time.Millisecond},
		{ds[:3], 50, 2 * time.Millisecond},
		{ds[:3], 99, 3 * time.Millisecond},
		{ds[:1], 0, time.Millisecond},
	}
	for _, tc := range tests {
		if got := percentile(tc.sorted, tc.p); got != tc.want {
			t.Errorf("percentile(%d values, %g) = %s, want %s", len(tc.sorted), tc.p, got, tc.want)
		}
	}
}

func TestArrivals_FirstFiringPerSensor(t *testing.T) {
	a := newArrivals()
	post := func(body string) {
		t.Helper()
		rec := httptest.NewRecorder()
		a.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/storm", strings.NewReader(body)))
		if rec.Code != http.StatusOK {
			t.Fatalf("POST answered %d: %s", rec.Code, rec.Body)
		}
	}
	one := `{"status":"firing","level":"red","site":"storm-x-000","sensor":"GS00001"}`
	post(one)
	first, _ := a.at("storm-x-000/GS00001")
	post(`{"alerts":[` + one + `,{"status":"firing","site":"storm-x-001","sensor":"GS00050"},` +
		`{"status":"resolved","site":"probe-x","sensor":"P00000"}]}`)
	if again, _ := a.at("storm-x-000/GS00001"); !again.Equal(first) {
		t.Errorf("a second firing moved the arrival from %s to %s", first, again)
	}
	if n := a.count("storm-x-"); n != 2 {
		t.Errorf("storm sensors arrived = %d, want 2", n)
	}
	if _, ok := a.at("probe-x/P00000"); ok {
		t.Error("a resolve counted as an arrival")
	}
	if by := a.allBy("storm-x-", 2); by.Before(first) {
		t.Errorf("allBy = %s, before the first arrival %s", by, first)
	}
	if by := a.allBy("storm-x-", 3); !by.IsZero() {
		t.Errorf("allBy of more sensors than arrived = %s, want zero", by)
	}
}
