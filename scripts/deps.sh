#!/usr/bin/env bash
# deps.sh installs what hazwatch's demo, tests and benchmark need and is not
# there yet: Mosquitto and Alertmanager from Debian, InfluxDB 1.8.10 and
# staticcheck through `go install`. Running it again changes nothing.
set -euo pipefail

sudo_cmd=()
if [ "$(id -u)" != 0 ]; then
	sudo_cmd=(sudo)
fi

missing=()
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
command -v prometheus-alertmanager >/dev/null || [ -x /usr/bin/prometheus-alertmanager ] || missing+=(prometheus-alertmanager)
command -v curl >/dev/null || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	"${sudo_cmd[@]}" apt-get update
	DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y "${missing[@]}"
	# Debian starts the packaged services on install; hazwatch's scripts run
	# their own instances on free ports, so the system ones must not linger
	# on 1883 and 9093.
	for svc in mosquitto prometheus-alertmanager; do
		if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
			"${sudo_cmd[@]}" systemctl disable --now "$svc" 2>/dev/null || true
		else
			"${sudo_cmd[@]}" service "$svc" stop 2>/dev/null || true
		fi
	done
fi

gobin="$(go env GOPATH)/bin"
if [ ! -x "$gobin/influxd" ]; then
	echo "deps: installing influxd 1.8.10 (a few minutes the first time)"
	go install github.com/influxdata/influxdb/cmd/influxd@v1.8.10
fi
if [ ! -x "$gobin/staticcheck" ] && ! command -v staticcheck >/dev/null; then
	echo "deps: installing staticcheck"
	go install honnef.co/go/tools/cmd/staticcheck@latest
fi
