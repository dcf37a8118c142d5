#!/usr/bin/env bash
# Measures what one verify request costs the server: CPU time (user + system, from /proc) of a
# release `portcullis serve` divided by the requests wrk made, for a logged-in session (200) and for
# an anonymous browser (302). With nginx installed, the same for nginx answering 204 itself, as a
# floor measured in the same run.
# Usage: scripts/bench-verify.sh [seconds per run, default 10]   (needs wrk and curl; oathtool not needed)
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}
command -v wrk >/dev/null || { echo "needs wrk: apt-get install wrk" >&2; exit 1; }
swift build -c release --product portcullis >/dev/null
bin=$(swift build -c release --show-bin-path)/portcullis
work=$(mktemp -d)
port=19391
cleanup() { [[ -n "${server:-}" ]] && kill "$server" 2>/dev/null; [[ -n "${nginx_pid:-}" ]] && kill "$nginx_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
cd "$work"
printf 'bench password\n' | "$bin" user add bench --password-stdin >/dev/null 2>&1
secret=$("$bin" user otp add bench --json | sed -n 's/.*"secret" : "\([A-Z2-7]*\)".*/\1/p')
PORTCULLIS_SERVER_LISTEN=127.0.0.1:$port "$bin" serve > serve.log 2>&1 &
server=$!
for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/api/health" && break; sleep 0.1; done

# Log in like a browser; the code is computed here with python's hmac (RFC 6238).
code=$(python3 -c "
import base64,hmac,struct,time,hashlib,sys
key=base64.b32decode('$secret')
h=hmac.new(key,struct.pack('>Q',int(time.time())//30),hashlib.sha1).digest()
o=h[-1]&15
print('%06d'%((struct.unpack('>I',h[o:o+4])[0]&0x7fffffff)%1000000))")
page=$(curl -s -c jar -b jar "http://localhost:$port/login")
csrf=$(printf '%s' "$page" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p')
curl -s -c jar -b jar -o /dev/null --data-urlencode "csrf=$csrf" --data-urlencode username=bench \
  --data-urlencode "password=bench password" --data-urlencode "code=$code" "http://localhost:$port/login"
session=$(awk '$6 == "portcullis_session" {print $7}' jar)
[[ -n "$session" ]] || { echo "login failed" >&2; cat serve.log >&2; exit 1; }

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
measure() {  # name pid url [headers...]
  local name=$1 pid=$2 url=$3; shift 3
  local args=()
  for header in "$@"; do args+=(-H "$header"); done
  wrk -t2 -c64 -d2s "${args[@]}" "$url" >/dev/null   # warm-up
  local before after output requests
  before=$(cpu_ticks "$pid")
  output=$(wrk -t2 -c64 -d"${duration}s" --latency "${args[@]}" "$url")
  after=$(cpu_ticks "$pid")
  requests=$(printf '%s\n' "$output" | awk '/requests in/ {print $1}')
  printf '%-34s %9s req/s  %6.1f µs CPU/request  p50 %s  p99 %s\n' "$name" \
    "$(printf '%s\n' "$output" | awk '/Requests\/sec/ {print $2}')" \
    "$(echo "($after - $before) * 1000000 / $hz / $requests" | bc -l)" \
    "$(printf '%s\n' "$output" | awk '$1 == "50%" {print $2}')" \
    "$(printf '%s\n' "$output" | awk '$1 == "99%" {print $2}')"
}
forwarded=("X-Forwarded-Proto: http" "X-Forwarded-Host: app.localhost" "X-Forwarded-URI: /dashboard?x=1")
echo "wrk -t2 -c64 -d${duration}s on $(nproc) cores; CPU is the server process's user+system time"
measure "portcullis, session (200)" "$server" "http://127.0.0.1:$port/api/authz/forward-auth" "${forwarded[@]}" "Cookie: portcullis_session=$session"
measure "portcullis, no session (302)" "$server" "http://127.0.0.1:$port/api/authz/forward-auth" "${forwarded[@]}" "Accept: text/html"
if command -v nginx >/dev/null; then
  mkdir -p nginx/logs
  cat > nginx/nginx.conf <<NGINX
master_process off;
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log;
events { worker_connections 1024; }
http { access_log off; server { listen 127.0.0.1:19392; location / { return 204; } } }
NGINX
  nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" &
  nginx_pid=$!
  sleep 0.5
  measure "nginx return 204 (floor, 1 worker)" "$nginx_pid" "http://127.0.0.1:19392/"
fi
