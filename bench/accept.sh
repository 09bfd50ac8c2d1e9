#!/usr/bin/env bash
# bench/accept.sh: system calls per connection, stoa's event loops against
# nginx with and without "deferred" (TCP_DEFER_ACCEPT). Each server runs
# on one core and serves the same 1 KiB file on loopback; strace -f -c
# attaches to it once it answers, ab sends N requests with
# "Connection: close" (a connection each, C at a time), strace detaches,
# and the script prints every system call made more than 0.05 times per
# connection, and their total, per connection. Counts, not times, are the
# figure: strace slows every call alike.
#
#   bench/accept.sh [N] [C]          (default 20000 connections, 8 at a time)
#   STOA_BIN=/path/stoa bench/accept.sh   (measure another build of stoa)
#   BENCH_NGINX=0 bench/accept.sh         (stoa alone)
#   BENCH_TRACER=perf bench/accept.sh     (count with perf stat instead)
#   BENCH_KEEPALIVE=1 bench/accept.sh     (per keep-alive request instead:
#                                          wrk -c64 -d3, as the peer bench's small)
#
# strace stops the server at every call, which lets the request arrive
# before the read right after accept: reads that find nothing (EAGAIN) and
# the epoll_ctl that follows them are rarer under strace than at full
# speed. BENCH_TRACER=perf counts the calls of a fixed list with the
# kernel's tracepoints, at nearly full speed (root, or perf_event_paranoid
# allowing it).
#
# nginx comes from ../shared/bench/setup; without it stoa is measured
# alone. Everything listens on 127.0.0.1 and stops when the script ends.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20000}
C=${2:-8}
SERVER_CPU=${BENCH_SERVER_CPU:-1}
WORK=$(mktemp -d -t stoa-accept.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
for tool in strace ab curl $([[ ${BENCH_KEEPALIVE:-0} == 1 ]] && echo wrk); do
	command -v $tool >/dev/null || { echo "accept.sh: $tool is not installed (apt-get install strace apache2-utils curl)" >&2; exit 1; }
done

mkdir -p "$WORK/site" "$WORK/logs"
chmod 755 "$WORK"   # nginx workers run as another user
head -c 1024 /dev/zero | tr '\0' 'a' > "$WORK/site/index.html"
STOA=${STOA_BIN:-}
if [[ -z $STOA ]]; then
	go build -o "$WORK/stoa" ./cmd/stoa
	STOA=$WORK/stoa
fi
PORT=18490

nginx_conf() { # $1: "" or " deferred"
	cat > "$WORK/nginx.conf" <<CONF
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/logs/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nodelay on;
  keepalive_timeout 65s;
  # as ../shared/bench/run: no open/stat/close of the file per request
  open_file_cache max=10000 inactive=30s; open_file_cache_valid 60s;
  types { text/html html; }
  server { listen 127.0.0.1:$PORT backlog=4096$1; root $WORK/site; }
}
CONF
}

# measure LABEL PID...: counts the system calls of the processes PID...
# (all their threads) while ab makes N connections.
measure() {
	local label=$1; shift
	for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/index.html" -o /dev/null && break; sleep 0.2; done
	curl -sf "http://127.0.0.1:$PORT/index.html" -o /dev/null || { echo "$label does not answer:"; cat "$WORK"/logs/*; exit 1; }
	local args=() st failed
	if [[ ${BENCH_TRACER:-strace} == perf ]]; then
		local ev=raw_syscalls:sys_enter
		for c in accept4 read recvfrom write writev sendfile64 close epoll_ctl epoll_wait epoll_pwait \
			setsockopt getsockname openat newfstatat futex nanosleep; do
			ev+=,syscalls:sys_enter_$c
		done
		perf stat -x, -e "$ev" -p "$(IFS=,; echo "$*")" -o "$WORK/perf.out" 2>>"$WORK/logs/perf.err" &
	else
		for p in "$@"; do args+=(-p "$p"); done
		strace -f -c -o "$WORK/strace.out" "${args[@]}" 2>>"$WORK/logs/strace.err" &
	fi
	st=$!
	sleep 1 # the tracer attaches to every thread
	local n=$N
	if [[ ${BENCH_KEEPALIVE:-0} == 1 ]]; then
		wrk -t1 -c64 -d3 "http://127.0.0.1:$PORT/index.html" >"$WORK/wrk.out"
		n=$(awk '/requests in/ {print $1}' "$WORK/wrk.out")
		failed=$(awk '/Non-2xx|Socket errors/ {f = f $0} END {print f == "" ? 0 : f}' "$WORK/wrk.out")
		echo "== $label: $n requests on 64 keep-alive connections, failed $failed; calls per request"
	else
		ab -q -n "$N" -c "$C" -H 'Connection: close' "http://127.0.0.1:$PORT/index.html" >"$WORK/ab.out"
		failed=$(awk '/^Failed requests/ {print $3}' "$WORK/ab.out")
		echo "== $label: $N connections, $C at a time, failed $failed; calls per connection"
	fi
	kill -INT $st; wait $st 2>/dev/null || true
	if [[ ${BENCH_TRACER:-strace} == perf ]]; then
		awk -F, -v n="$n" '$3 != "" && $1 ~ /^[0-9]+$/ { name = $3; sub(/.*sys_enter_?/, "", name)
			if (name == "") name = "total"
			if (name == "total" || $1 / n >= 0.05) printf "  %-16s %6.2f\n", name, $1 / n }' "$WORK/perf.out"
		return
	fi
	# The Go runtime's own calls (futex, nanosleep: threads parking and
	# spinning, which strace's slowness makes more of) are summed apart.
	awk -v n="$n" '
		$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" { calls = $4; name = $NF
			rt = name ~ /^(futex|nanosleep|sched_yield|rt_sigreturn|rt_sigprocmask|tgkill|getpid|madvise|mmap|munmap|clock_gettime)$/
			if (rt) runtime += calls; else io += calls
			if (calls / n >= 0.05) printf "  %-16s %6.2f%s\n", name, calls / n, rt ? "  (runtime)" : "" }
		END { printf "  %-16s %6.2f\n  %-16s %6.2f\n", "total, runtime", runtime / n, "total, the rest", io / n }' "$WORK/strace.out"
}

GOMAXPROCS=1 taskset -c "$SERVER_CPU" "$STOA" serve "$WORK/site" --listen 127.0.0.1:$PORT --engine loop \
	>>"$WORK/logs/stoa.out" 2>&1 &
pid=$!
PIDS+=("$pid")
measure "stoa (engine loop)" "$pid"
kill "$pid"; wait "$pid" 2>/dev/null || true

if [[ ${BENCH_NGINX:-1} == 0 ]]; then
	echo "BENCH_NGINX=0: measured stoa alone"
elif command -v nginx >/dev/null; then
	for deferred in "" " deferred"; do
		nginx_conf "$deferred"
		taskset -c "$SERVER_CPU" nginx -c "$WORK/nginx.conf" -g 'daemon off;' 2>>"$WORK/logs/nginx.err" &
		pid=$!
		PIDS+=("$pid")
		sleep 0.5
		measure "nginx${deferred:- (not deferred)}" "$(pgrep -P "$pid" | head -1)"
		kill "$pid"; wait "$pid" 2>/dev/null || true
	done
else
	echo "nginx is not installed (../shared/bench/setup installs it): measured stoa alone"
fi
