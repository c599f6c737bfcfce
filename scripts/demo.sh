#!/usr/bin/env bash
# demo.sh (`make demo`) runs hazwatch end to end on this machine: local
# Mosquitto and InfluxDB, the daemon with configs/demo.yaml, hazsim's feeds
# with every scenario, and a webhook receiver that prints the alerts. Every 5 s
# it prints what has been stored. Ctrl-C stops everything; DEMO_DURATION=N
# stops it after N seconds.
set -euo pipefail

cd "$(dirname "$0")/.."
source scripts/services.sh
hz_setup demo

hz_free_port webhook_port
hz_free_port http_port
export HAZWATCH_DATA_DIR="$HZ_RUN/data"
export HAZWATCH_HTTP_LISTEN="127.0.0.1:$http_port"
export HAZWATCH_WEBHOOK_URL="http://127.0.0.1:$webhook_port/hazwatch"
export HAZWATCH_WEBHOOK_SECRET="demo-$RANDOM$RANDOM"
metrics="http://$HAZWATCH_HTTP_LISTEN/metrics"

bin/hazwatch dashboards -config configs/demo.yaml -out "$HZ_RUN/grafana" >"$HZ_RUN/dashboards.log" 2>&1 ||
	{ cat "$HZ_RUN/dashboards.log" >&2; exit 1; }
echo "Grafana provisioning files written to $HZ_RUN/grafana"

# The receiver's alert lines go straight to the terminal as they arrive.
hz_bg - bin/hazsim receive -listen "127.0.0.1:$webhook_port" -secret "$HAZWATCH_WEBHOOK_SECRET"
hz_wait "webhook receiver" 10 hz_tcp_open "$webhook_port"

hz_start_hazwatch configs/demo.yaml "$HAZWATCH_HTTP_LISTEN" || exit 1
daemon=$HZ_LAST_PID

hz_bg "$HZ_RUN/hazsim.log" bin/hazsim run -broker "$HAZWATCH_MQTT_URL" -scenarios all -interval 1s

cat <<MSG

hazwatch demo running
  MQTT      $HAZWATCH_MQTT_URL        InfluxDB  $HAZWATCH_INFLUX_URL (database hazwatch)
  metrics   $metrics
  alerts    $HAZWATCH_WEBHOOK_URL     logs      $HZ_RUN/*.log
  scenarios silent (jx-gas-02 GT-02) 1s (stale after 2 min), leak (hx-chem-01 GT-03) 10s, flood (underpass-07) 15s,
            overfill (hx-chem-01 T101-LT) 20s, h2s 30s, ch4 40s; alerts print below as they fire and resolve.
Ctrl-C stops everything.

MSG

start=$SECONDS
duration=${DEMO_DURATION:-0}
while [ "$duration" -eq 0 ] || [ $((SECONDS - start)) -lt "$duration" ]; do
	sleep 5
	if ! kill -0 "$daemon" 2>/dev/null; then
		echo "hazwatch exited; the end of its log:" >&2
		tail -20 "$HZ_RUN/hazwatch.log" >&2
		exit 1
	fi
	printf '%s  readings in %s, points written %s, stored in InfluxDB %s (last 5 s: %s), alert transitions %s\n' \
		"$(date +%H:%M:%S)" \
		"$(hz_metric "$metrics" hazwatch_readings_total)" \
		"$(hz_metric "$metrics" hazwatch_points_written_total)" \
		"$(hz_influx_count 'SELECT count(value) FROM gas, tank, flood')" \
		"$(hz_influx_count 'SELECT count(value) FROM gas, tank, flood WHERE time > now() - 5s')" \
		"$(hz_influx_count 'SELECT count(value) FROM alerts')"
done
