# services.sh is sourced by demo.sh and loadbench.sh: it starts Mosquitto and
# InfluxDB 1.8 on free loopback ports with their data under .run/NAME (git
# ignored, wiped at the next start, kept afterwards for the logs), and stops
# every process it or the caller started with hz_bg.
#
#   hz_setup NAME         deps, bin/hazwatch and bin/hazsim, hz_init, both
#                         services, and a trap that stops everything on exit
#   hz_init NAME          set HZ_RUN=.run/NAME and start tracking processes
#   hz_start_mosquitto    exports HAZWATCH_MQTT_URL
#   hz_start_influxd      exports HAZWATCH_INFLUX_URL; creates database hazwatch;
#                         its config is internal/testenv/influxdb.conf.tmpl
#   hz_bg LOG CMD...      start CMD in the background (LOG "-" for the terminal)
#   hz_wait DESC SECS CMD...  poll CMD until it succeeds, fail after SECS
#   hz_start_hazwatch CONFIG ADDR  bin/hazwatch run -config CONFIG, waits until
#                         it is ready at http://ADDR; sets HZ_LAST_PID
#   hz_stop_all           stop everything started, newest first
#   hz_free_port VAR      a free loopback port into VAR

# Each background job gets its own process group, so that stopping a job
# (kill -- -PGID) takes its children with it.
set -m

HZ_PIDS=()
HZ_PORTS=" "

hz_setup() {
	trap hz_stop_all EXIT
	trap 'exit 130' INT TERM
	"$(dirname "${BASH_SOURCE[0]}")/deps.sh"
	hz_init "$1"
	mkdir -p "$HZ_ROOT/bin"
	(cd "$HZ_ROOT" && go build -o bin/hazwatch ./cmd/hazwatch && go build -o bin/hazsim ./cmd/hazsim)
	hz_start_mosquitto
	hz_start_influxd
}

hz_init() {
	HZ_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
	HZ_RUN="$HZ_ROOT/.run/$1"
	rm -rf "$HZ_RUN"
	mkdir -p "$HZ_RUN"
	export HZ_ROOT HZ_RUN
}

hz_free_port() {
	local p
	for _ in $(seq 200); do
		p=$((20000 + RANDOM % 40000))
		case "$HZ_PORTS" in *" $p "*) continue ;; esac
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			HZ_PORTS+="$p "
			printf -v "$1" %d "$p"
			return 0
		fi
	done
	echo "no free loopback port found" >&2
	return 1
}

hz_bg() {
	local log=$1
	shift
	if [ "$log" = - ]; then
		"$@" &
	else
		"$@" >"$log" 2>&1 &
	fi
	HZ_PIDS+=("$!")
	HZ_LAST_PID=$!
}

hz_wait() {
	local desc=$1 secs=$2
	shift 2
	local deadline=$((SECONDS + secs))
	until "$@" >/dev/null 2>&1; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			echo "$desc: not ready after ${secs}s" >&2
			return 1
		fi
		sleep 0.2
	done
}

hz_start_hazwatch() {
	local config=$1 addr=$2
	hz_bg "$HZ_RUN/hazwatch.log" bin/hazwatch run -config "$config"
	if ! hz_wait "hazwatch" 30 curl -sf "http://$addr/readyz"; then
		tail -20 "$HZ_RUN/hazwatch.log" >&2
		return 1
	fi
}

# hz_bench_config NAME QOS prints the head of a benchmark's config: data under
# $HZ_RUN, the started broker with hazsim's topic layout at QoS QOS, and the
# started InfluxDB in batches of 5000. The benchmark appends its rules.
hz_bench_config() {
	cat <<YAML
data_dir: $HZ_RUN/data
mqtt:
  url: $HAZWATCH_MQTT_URL
  client_id: hazwatch-$1
  qos: $2
  subscriptions:
    - topic: sensors/{site}/{kind}/{sensor}
      format: json
influxdb:
  url: $HAZWATCH_INFLUX_URL
  bucket: hazwatch/autogen
  batch_size: 5000
  flush_interval: 1s
YAML
}

hz_stop_all() {
	local i pid deadline
	for ((i = ${#HZ_PIDS[@]} - 1; i >= 0; i--)); do
		pid=${HZ_PIDS[i]}
		kill -TERM -- "-$pid" 2>/dev/null || continue
		deadline=$((SECONDS + 15))
		while kill -0 -- "-$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
			sleep 0.1
		done
		kill -KILL -- "-$pid" 2>/dev/null || true
	done
	HZ_PIDS=()
}

hz_tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

hz_start_mosquitto() {
	local bin port dir="$HZ_RUN/mosquitto"
	bin=$(command -v mosquitto || echo /usr/sbin/mosquitto)
	hz_free_port port
	mkdir -p "$dir"
	# hazwatch acknowledges a QoS 1 message only once it is stored, so the
	# broker must let many be unacknowledged at once (the default is 20) and
	# queue generously while InfluxDB catches up.
	cat >"$dir/mosquitto.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
persistence true
persistence_location $dir/
max_inflight_messages 0
max_queued_messages 2000000
log_dest stderr
log_type error
log_type warning
CONF
	hz_bg "$dir/mosquitto.log" "$bin" -c "$dir/mosquitto.conf"
	HZ_MOSQUITTO_PID=$HZ_LAST_PID
	hz_wait "mosquitto on $port" 20 hz_tcp_open "$port"
	export HAZWATCH_MQTT_URL="tcp://127.0.0.1:$port"
}

# hz_influxd_conf DIR RPC HTTP prints InfluxDB's config, rendered from the
# template internal/testenv renders too, so that the scripts' InfluxDB is the
# tests' one (Flux enabled included).
hz_influxd_conf() {
	local conf
	conf=$(<"$HZ_ROOT/internal/testenv/influxdb.conf.tmpl")
	conf=${conf//'{{.Dir}}'/"$1"}
	conf=${conf//'{{.RPCPort}}'/"$2"}
	conf=${conf//'{{.HTTPPort}}'/"$3"}
	case "$conf" in *'{{'*)
		echo "internal/testenv/influxdb.conf.tmpl has a placeholder hz_influxd_conf does not fill" >&2
		return 1
		;;
	esac
	printf '%s\n' "$conf"
}

hz_start_influxd() {
	local bin http rpc dir="$HZ_RUN/influxdb"
	bin="$(go env GOPATH)/bin/influxd"
	hz_free_port http
	hz_free_port rpc
	mkdir -p "$dir"
	hz_influxd_conf "$dir" "$rpc" "$http" >"$dir/influxdb.conf" || return 1
	hz_bg "$dir/influxd.log" "$bin" run -config "$dir/influxdb.conf"
	HZ_INFLUXD_PID=$HZ_LAST_PID
	export HAZWATCH_INFLUX_URL="http://127.0.0.1:$http"
	hz_wait "influxd on $http" 60 curl -sf "$HAZWATCH_INFLUX_URL/ping"
	curl -sf -XPOST "$HAZWATCH_INFLUX_URL/query" --data-urlencode "q=CREATE DATABASE hazwatch" >/dev/null
}

# hz_influx_count QUERY prints the sum of the counts an InfluxQL count()
# query returns over all its series (0 for none), without needing jq.
hz_influx_count() {
	curl -sfG "$HAZWATCH_INFLUX_URL/query" --data-urlencode db=hazwatch --data-urlencode epoch=s \
		--data-urlencode "q=$1" |
		grep -o '"values":\[\[[0-9]*,[0-9]*' | sed 's/.*,//' | awk '{s += $1} END {print s + 0}'
}

# hz_metric URL NAME prints the sum of a Prometheus counter's samples.
hz_metric() {
	curl -sf "$1" | awk -v n="$2" '$1 == n || index($1, n "{") == 1 {s += $2} END {printf "%.0f\n", s}'
}
