#!/usr/bin/env bash
# bench/idle.sh: memory of idle keep-alive connections, stoa against nginx.
# Each server serves the same 1 KiB file on loopback; a client
# (bench/idleclient) opens N connections, sends one GET on each, reads the
# answer and leaves the connection idle, and reports the server's resident
# memory (VmRSS; for nginx its master and worker summed) before and after,
# and the difference per connection. HTTP/1.1 keep-alive, then HTTP/2 with
# prior knowledge (h2c). One run gives one figure per line; run it three
# times before reporting one.
#
#   bench/idle.sh [N]      (default 5000 connections; e.g. 100000)
#
# HTTP/1.1 is measured on each engine (loop, goroutine), h2c on the
# goroutine engine that serves it. Then RSS under load: ACTIVE (default
# 64, as the peer bench) connections of wrk on GET /index.html.
#
# The open-file limit is raised for this script's processes only (ulimit
# -n); where the hard limit is lower than N needs, the script says so and
# stops. nginx comes from ../shared/bench/setup; without it stoa is
# measured alone. Everything listens on 127.0.0.1 and stops when the script
# ends; the client gives up by itself after two minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-5000}
SERVER_CPU=${BENCH_SERVER_CPU:-1}
CLIENT_CPU=${BENCH_CLIENT_CPU:-0}
ACTIVE=${ACTIVE:-64}
WORK=$(mktemp -d -t stoa-idle.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

need=$((N + 1000))
hard=$(ulimit -Hn)
if [[ $hard != unlimited ]] && (( hard < need )); then
	echo "idle.sh: $N connections need an open-file limit of $need, but the hard limit here is $hard;" >&2
	echo "run it with fewer connections (at most $((hard - 1000))) or where the hard limit allows more" >&2
	exit 1
fi
ulimit -n "$need"

mkdir -p "$WORK/site" "$WORK/logs"
chmod 755 "$WORK"   # nginx workers run as another user
head -c 1024 /dev/zero | tr '\0' 'a' > "$WORK/site/index.html"
go build -o "$WORK/stoa" ./cmd/stoa
go build -o "$WORK/idleclient" ./bench/idleclient

STOA_PORT=18480 NGINX_PORT=18481 NGINX_H2C=18482
HAVE_NGINX=1
command -v nginx >/dev/null || { HAVE_NGINX=; echo "nginx is not installed (../shared/bench/setup installs it): measuring stoa alone"; }
cat > "$WORK/nginx.conf" <<CONF
worker_processes 1;
worker_rlimit_nofile $need;
pid $WORK/nginx.pid;
error_log $WORK/logs/nginx-error.log;
events { worker_connections $need; }
http {
  access_log off;
  sendfile on;
  keepalive_timeout 10m;
  keepalive_requests 1000000;
  types { text/html html; }
  server { listen 127.0.0.1:$NGINX_PORT; root $WORK/site; }
  server { listen 127.0.0.1:$NGINX_H2C http2; root $WORK/site; }
}
CONF

# start_servers starts stoa (engine $1, with --h2c when $2 is h2c) and
# nginx afresh, so that memory freed by the previous case's connections
# does not lower the next figure. --h2c keeps a listener on the goroutine
# engine, so HTTP/1.1 is measured on a listener without it.
start_servers() {
	local h2c=()
	[[ $2 == h2c ]] && h2c=(--h2c)
	GOMAXPROCS=1 taskset -c "$SERVER_CPU" "$WORK/stoa" serve "$WORK/site" --listen 127.0.0.1:$STOA_PORT "${h2c[@]}" \
		--engine "$1" --max-conns $need --idle-timeout 10m >>"$WORK/logs/stoa.out" 2>&1 &
	STOA_PID=$!
	PIDS+=("$STOA_PID")
	NGINX_PID=
	if [[ -n $HAVE_NGINX ]]; then
		taskset -c "$SERVER_CPU" nginx -c "$WORK/nginx.conf" -g 'daemon off;' 2>>"$WORK/logs/nginx.err" &
		NGINX_PID=$!
		PIDS+=("$NGINX_PID")
	fi
	# Both must answer within 20 s.
	for p in $STOA_PORT ${NGINX_PID:+$NGINX_PORT}; do
		for _ in $(seq 100); do curl -sf "http://127.0.0.1:$p/index.html" -o /dev/null && break; sleep 0.2; done
		curl -sf "http://127.0.0.1:$p/index.html" -o /dev/null || { echo "server on $p does not answer:"; cat "$WORK"/logs/*; exit 1; }
	done
}
stop_servers() {
	kill $STOA_PID ${NGINX_PID:+$NGINX_PID}
	wait $STOA_PID ${NGINX_PID:+$NGINX_PID} 2>/dev/null || true
	PIDS=()
}
nginx_pids() { echo "$NGINX_PID,$(pgrep -d, -P "$NGINX_PID")"; }

rss() { local t=0 p; for p in ${1//,/ }; do t=$((t + $(awk '/^VmRSS/ {print $2}' /proc/$p/status))); done; echo $t; }

# active measures RSS under the peer bench's "small" load: wrk keeps
# ACTIVE connections busy with GET /index.html for 5 s on the other core;
# RSS is read before and at the end of the load.
active() {
	local label=$1 port=$2 pids=$3 before during
	before=$(rss "$pids")
	taskset -c "$CLIENT_CPU" wrk -t1 -c"$ACTIVE" -d6s "http://127.0.0.1:$port/index.html" >"$WORK/logs/wrk-$label.out" 2>&1 &
	local wpid=$!
	sleep 5
	during=$(rss "$pids")
	wait $wpid || true
	printf '%-22s active x%-5d RSS before %7d  under load %7d  per connection %6.2f KiB\n' \
		"$label" "$ACTIVE" "$before" "$during" "$(echo "($during - $before) / $ACTIVE" | bc -l)"
}

echo "$N idle connections after one GET each; one run, RSS in KiB"
for c in loop:h1 goroutine:h1 goroutine:h2c; do
	engine=${c%%:*} proto=${c##*:}
	start_servers "$engine" "$proto"
	"$WORK/idleclient" -addr 127.0.0.1:$STOA_PORT -n "$N" -proto $proto -pids "$STOA_PID" -label "stoa ($engine engine)"
	if [[ -n $NGINX_PID && $c != goroutine:h1 ]]; then  # nginx once per protocol
		port=$NGINX_PORT
		[[ $proto == h2c ]] && port=$NGINX_H2C
		"$WORK/idleclient" -addr 127.0.0.1:$port -n "$N" -proto $proto -pids "$(nginx_pids)" -label nginx
	fi
	stop_servers
done

if command -v wrk >/dev/null; then
	echo "RSS under load (the peer bench's small workload), one run, KiB"
	for engine in loop goroutine; do
		start_servers "$engine" h1
		active "stoa ($engine engine)" $STOA_PORT "$STOA_PID"
		[[ -n $NGINX_PID && $engine == loop ]] && active nginx $NGINX_PORT "$(nginx_pids)"
		stop_servers
	done
else
	echo "wrk is not installed (../shared/bench/setup installs it): no figure under load"
fi
