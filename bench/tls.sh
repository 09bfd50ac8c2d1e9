#!/usr/bin/env bash
# bench/tls.sh: stoa against h2o and nginx over TLS, each server pinned to
# one core and the client to the other, same certificate and files:
# HTTP/2 with h2load (16 connections x 10 streams) on a 1 KiB and a 100 KiB
# file, HTTP/1.1 over TLS with wrk (64 connections) on the 1 KiB file. Per
# round and workload the three servers run one after another, in an order
# that rotates from round to round so that a slow spell of the machine is
# shared, and the round prints stoa's ratio to h2o and to nginx.
#
#   bench/tls.sh [ROUNDS] [SECONDS]     (defaults 3 rounds of 4 s per run)
#
# Needs h2o, nginx, wrk, h2load (nghttp2-client) and openssl; the peer
# benchmark's setup (../shared/bench/setup) installs h2o, nginx and wrk. A
# server that is not installed is left out (its ratio prints as "-").
# Everything listens on 127.0.0.1; the script stops what it started, and
# only that, when it ends. Each run is bounded: 1 s of warm-up, then
# SECONDS, each killed 20 s past its time. Besides requests per second it
# prints requests per second of the server's CPU time, read from /proc
# around each run: on a busy machine, or when the client's core sets the
# pace, that is the figure that compares the servers.
# Environment: BENCH_SERVER_CPU (1), BENCH_CLIENT_CPU (0), STOA_BIN (skip
# the build), STOA_ENV (extra KEY=VALUE words for stoa's environment).
set -euo pipefail
cd "$(dirname "$0")/.."
PATH=$PATH:/usr/sbin:/sbin # nginx and h2o live there
ROUNDS=${1:-3}
SECS=${2:-4}
[[ $ROUNDS =~ ^[1-9][0-9]*$ && $SECS =~ ^[1-9][0-9]*$ ]] || { echo "usage: bench/tls.sh [ROUNDS] [SECONDS]" >&2; exit 2; }
SERVER_CPU=${BENCH_SERVER_CPU:-1}
CLIENT_CPU=${BENCH_CLIENT_CPU:-0}
for t in wrk h2load openssl curl taskset; do
	command -v "$t" >/dev/null || { echo "bench/tls.sh: '$t' is not installed (h2load: apt-get install nghttp2-client)" >&2; exit 1; }
done
WORK=$(mktemp -d -t stoa-tls.XXXXXX)
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$WORK/site" "$WORK/logs"
chmod 755 "$WORK" # nginx workers may run as another user
head -c 1024 /dev/zero | tr '\0' 'a' >"$WORK/site/1k.html"
head -c $((100 << 10)) /dev/urandom >"$WORK/site/100k.bin"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
if [[ -n ${STOA_BIN:-} ]]; then
	cp "$STOA_BIN" "$WORK/stoa"
else
	go build -o "$WORK/stoa" ./cmd/stoa
fi

declare -A PORT=([stoa]=18444 [h2o]=18446 [nginx]=18443)
STOA_PLAIN=18445
USER_LINE_NGINX="" USER_LINE_H2O=""
if [[ $(id -u) == 0 ]]; then
	USER_LINE_NGINX="user $(id -un) $(id -gn);"
	USER_LINE_H2O="user: $(id -un)"
fi
cat >"$WORK/nginx.conf" <<CONF
$USER_LINE_NGINX
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/logs/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  keepalive_requests 1000000;
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_session_cache shared:SSL:10m;
  types { text/html html; application/octet-stream bin; }
  server {
    listen 127.0.0.1:${PORT[nginx]} ssl http2;
    ssl_certificate $WORK/cert.pem;
    ssl_certificate_key $WORK/key.pem;
    root $WORK/site;
  }
}
CONF
cat >"$WORK/h2o.conf" <<CONF
$USER_LINE_H2O
num-threads: 1
pid-file: $WORK/h2o.pid
error-log: $WORK/logs/h2o-error.log
max-connections: 4096
listen:
  host: 127.0.0.1
  port: ${PORT[h2o]}
  ssl:
    certificate-file: $WORK/cert.pem
    key-file: $WORK/key.pem
    minimum-version: TLSv1.2
hosts:
  default:
    paths:
      /:
        file.dir: $WORK/site
CONF

SERVERS=()
declare -A SPID=()
start() { # name argv...
	local name=$1
	shift
	# taskset and env exec the server: $! is its process.
	taskset -c "$SERVER_CPU" "$@" >"$WORK/logs/$name.out" 2>&1 </dev/null &
	PIDS+=($!)
	SPID[$name]=$!
	SERVERS+=("$name")
}
start stoa env GOMAXPROCS=1 ${STOA_ENV:-} "$WORK/stoa" serve "$WORK/site" --tls-cert "$WORK/cert.pem" --tls-key "$WORK/key.pem" \
	--https "127.0.0.1:${PORT[stoa]}" --listen "127.0.0.1:$STOA_PLAIN" --http3=false
if command -v h2o >/dev/null; then start h2o h2o -c "$WORK/h2o.conf"; else echo "h2o is not installed: left out" >&2; fi
if command -v nginx >/dev/null; then start nginx nginx -c "$WORK/nginx.conf" -g 'daemon off;'; else echo "nginx is not installed: left out" >&2; fi

for s in "${SERVERS[@]}"; do
	ok=0
	for _ in $(seq 100); do # up to 10 s
		if curl -skf --http2 --max-time 2 "https://127.0.0.1:${PORT[$s]}/1k.html" -o /dev/null; then ok=1; break; fi
		sleep 0.1
	done
	((ok)) || { echo "$s on ${PORT[$s]} does not answer:"; cat "$WORK"/logs/*; exit 1; }
done

# load WORKLOAD SERVER SECONDS: the client's output.
load() {
	local port=${PORT[$2]} file=1k.html
	[[ $1 == h2-100k ]] && file=100k.bin
	if [[ $1 == h1-tls ]]; then
		timeout $(($3 + 20)) taskset -c "$CLIENT_CPU" wrk -t1 -c64 -d"$3s" "https://127.0.0.1:$port/$file" 2>/dev/null || true
	else
		timeout $(($3 + 20)) taskset -c "$CLIENT_CPU" h2load -c16 -m10 -D "$3" "https://127.0.0.1:$port/$file" 2>/dev/null || true
	fi
}

# ticks SERVER: the CPU time (clock ticks) the server and its children
# (nginx's worker) have used.
ticks() {
	local p t=0
	for p in ${SPID[$1]} $(pgrep -P "${SPID[$1]}" || true); do
		t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
	done
	echo "$t"
}
HZ=$(getconf CLK_TCK)

# run WORKLOAD SERVER: sets RPS (requests per second) and PERCPU (requests
# per second of the server's CPU time), 0 when the run failed. A second of
# load first warms the server, outside the measure.
run() {
	local out t0 t1 n
	load "$1" "$2" 1 >/dev/null
	t0=$(ticks "$2")
	out=$(load "$1" "$2" "$SECS")
	t1=$(ticks "$2")
	RPS=0 PERCPU=0
	if [[ $1 == h1-tls ]]; then
		grep -q 'Non-2xx\|Socket errors' <<<"$out" && return
		RPS=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
		n=$(awk '/requests in/ {print $1}' <<<"$out")
	else
		# A run with failed or errored requests does not count.
		grep -Eq '^requests: .* [1-9][0-9]* failed|[1-9][0-9]* errored' <<<"$out" && return
		RPS=$(awk '/^finished in/ {print $4}' <<<"$out")
		n=$(awk '/^requests:/ {print $8}' <<<"$out")
	fi
	[[ -n $RPS && -n $n ]] || { RPS=0; return; }
	((t1 > t0)) && PERCPU=$(echo "$n * $HZ / ($t1 - $t0)" | bc -l)
}

ratio() { # a b
	if [[ -z ${2:-} || $2 == 0 || $2 == - ]]; then echo -; else printf '%.2f' "$(echo "$1 / $2" | bc -l)"; fi
}

whole() { if [[ $1 == - ]]; then echo -; else printf '%.0f' "$1"; fi; }

echo "server core $SERVER_CPU, client core $CLIENT_CPU; ${SECS}s per run after 1s of warm-up"
echo "req/s: requests per second; per CPU s: requests per second of the server's own CPU time (what"
echo "one busy core would serve: the figure to compare when the client or a busy machine set the pace)"
printf '%-5s %-8s | %8s %8s %8s %6s %6s | %8s %8s %8s %6s %6s\n' "" "" "req/s" "" "" "" "" "per CPU s" "" "" "" ""
printf '%-5s %-8s | %8s %8s %8s %6s %6s | %8s %8s %8s %6s %6s\n' round workload stoa h2o nginx /h2o /nginx stoa h2o nginx /h2o /nginx
n=${#SERVERS[@]}
for r in $(seq "$ROUNDS"); do
	for w in h2-1k h2-100k h1-tls; do
		declare -A rps=([h2o]=- [nginx]=-) cpu=([h2o]=- [nginx]=-)
		for i in $(seq 0 $((n - 1))); do
			s=${SERVERS[$(((i + r) % n))]}
			run "$w" "$s"
			rps[$s]=$RPS cpu[$s]=$PERCPU
		done
		printf '%-5s %-8s | %8s %8s %8s %6s %6s | %8s %8s %8s %6s %6s\n' "$r" "$w" \
			"$(whole "${rps[stoa]}")" "$(whole "${rps[h2o]}")" "$(whole "${rps[nginx]}")" \
			"$(ratio "${rps[stoa]}" "${rps[h2o]}")" "$(ratio "${rps[stoa]}" "${rps[nginx]}")" \
			"$(whole "${cpu[stoa]}")" "$(whole "${cpu[h2o]}")" "$(whole "${cpu[nginx]}")" \
			"$(ratio "${cpu[stoa]}" "${cpu[h2o]}")" "$(ratio "${cpu[stoa]}" "${cpu[nginx]}")"
		unset rps cpu
	done
done
