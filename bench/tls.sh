#!/usr/bin/env bash
# bench/tls.sh: stoa against nginx over TLS, one core each, same certificate
# and files: HTTP/1.1 over TLS with wrk, HTTP/2 with h2load. Ratios to nginx
# within one run; run it three times before reporting a figure.
#
#   bench/tls.sh [ROUNDS] [SECONDS]     (defaults 3 rounds of 5 s per server)
#
# Needs nginx, wrk, h2load (nghttp2-client) and openssl; the peer
# benchmark's setup (../shared/bench/setup) installs the first two.
# Everything listens on 127.0.0.1 and stops when the script ends.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
SECS=${2:-5}
SERVER_CPU=${BENCH_SERVER_CPU:-1}
CLIENT_CPU=${BENCH_CLIENT_CPU:-0}
WORK=$(mktemp -d -t stoa-tls.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

mkdir -p "$WORK/site" "$WORK/logs"
chmod 755 "$WORK"   # nginx workers run as another user
head -c 1024 /dev/zero | tr '\0' 'a' > "$WORK/site/index.html"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
go build -o "$WORK/stoa" ./cmd/stoa

NGINX_PORT=18443 STOA_PORT=18444 STOA_PLAIN=18445
cat > "$WORK/nginx.conf" <<CONF
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
  types { text/html html; }
  server {
    listen 127.0.0.1:$NGINX_PORT ssl http2;
    ssl_certificate $WORK/cert.pem;
    ssl_certificate_key $WORK/key.pem;
    root $WORK/site;
  }
}
CONF
taskset -c "$SERVER_CPU" nginx -c "$WORK/nginx.conf" -g 'daemon off;' 2>"$WORK/logs/nginx.err" &
PIDS+=($!)
GOMAXPROCS=1 taskset -c "$SERVER_CPU" "$WORK/stoa" serve "$WORK/site" --tls-cert "$WORK/cert.pem" --tls-key "$WORK/key.pem" \
	--https 127.0.0.1:$STOA_PORT --listen 127.0.0.1:$STOA_PLAIN --http3=false >"$WORK/logs/stoa.out" 2>&1 &
PIDS+=($!)
sleep 1
for p in $NGINX_PORT $STOA_PORT; do
	curl -skf --http2 "https://127.0.0.1:$p/index.html" -o /dev/null || { echo "server on $p does not answer:"; cat "$WORK"/logs/*; exit 1; }
done

wrk_rps() { taskset -c "$CLIENT_CPU" wrk -t1 -c64 -d"${SECS}s" "https://127.0.0.1:$1/index.html" | awk '/Requests\/sec/ {print $2}'; }
h2_rps() { taskset -c "$CLIENT_CPU" h2load -c 16 -m 10 -D "$SECS" "https://127.0.0.1:$1/index.html" 2>/dev/null | awk '/^finished in/ {print $4}'; }

printf '%-6s %-10s %12s %12s %7s\n' round protocol nginx stoa ratio
for r in $(seq "$ROUNDS"); do
	for proto in h1-tls h2; do
		if [[ $proto == h1-tls ]]; then f=wrk_rps; else f=h2_rps; fi
		# Alternate who goes first, so a slow spell is shared.
		if (( r % 2 )); then n=$($f $NGINX_PORT); s=$($f $STOA_PORT); else s=$($f $STOA_PORT); n=$($f $NGINX_PORT); fi
		printf '%-6s %-10s %12.0f %12.0f %7.2f\n' "$r" "$proto" "$n" "$s" "$(echo "$s / $n" | bc -l)"
	done
done
