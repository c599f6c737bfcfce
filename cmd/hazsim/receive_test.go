package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const firing = `{"id":"x","status":"firing","level":"red","rule":"gas-lel","type":"threshold","site":"hx-chem-01",
"kind":"gas_lel","sensor":"GT-03","value":52.1,"threshold":50,"at":"2026-11-28T10:00:05Z",
"message":"【红色预警】华兴化工 3号罐区可燃气体 52.1%LEL，超过二级报警值 50%LEL"}`

func sign(secret, ts, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + body))
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func TestReceiver(t *testing.T) {
	resolved := strings.Replace(firing, `"firing"`, `"resolved"`, 1)
	tests := []struct {
		name       string
		body       string
		signWith   string
		wantStatus int
		wantLines  []string
	}{
		{"a signed alert is one line in its level's colour", firing, "s3cret", http.StatusOK,
			[]string{"\x1b[31mfiring   red   \x1b[0m gas-lel hx-chem-01/GT-03 【红色预警】华兴化工"}},
		{"a resolve is green", resolved, "s3cret", http.StatusOK, []string{"\x1b[32mresolved red"}},
		{"a group is one line per alert", `{"alerts":[` + firing + `,` + resolved + `]}`, "s3cret", http.StatusOK,
			[]string{"firing", "resolved"}},
		{"a wrong secret is refused", firing, "guess", http.StatusUnauthorized, nil},
		{"a body without an alert is refused", `{}`, "s3cret", http.StatusBadRequest, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			rc := &receiver{secret: "s3cret", log: slog.New(slog.NewTextHandler(io.Discard, nil)), out: &out}
			req := httptest.NewRequest(http.MethodPost, "/hazwatch", strings.NewReader(tt.body))
			req.Header.Set("X-Hazwatch-Timestamp", "1795860005")
			req.Header.Set("X-Hazwatch-Signature", sign(tt.signWith, "1795860005", tt.body))
			rec := httptest.NewRecorder()
			rc.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.wantStatus, rec.Body)
			}
			lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
			if out.Len() == 0 {
				lines = nil
			}
			if len(lines) != len(tt.wantLines) {
				t.Fatalf("printed %q, want %d lines", out.String(), len(tt.wantLines))
			}
			for i, want := range tt.wantLines {
				if !strings.Contains(lines[i], want) {
					t.Errorf("line %d = %q, want it to contain %q", i, lines[i], want)
				}
			}
		})
	}
}
