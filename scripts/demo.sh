#!/usr/bin/env bash
# The main job on a built-in demo: two local web servers ("production" and "staging", nginx);
# coreplay captures production's traffic off the loopback interface and records it to a gor
# file; then replays the file at 2x speed to staging and prints the summary.
#   scripts/demo.sh                      install what is missing, build, run
#   COREPLAY_BIN=path scripts/demo.sh    run with an existing binary (the tests do this)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "demo: capturing packets needs root: sudo $0" >&2
  exit 1
fi
if [ -z "${COREPLAY_BIN:-}" ]; then
  scripts/bootstrap.sh
  cmake --preset release >/dev/null
  cmake --build --preset release
  COREPLAY_BIN=build/release/coreplay
fi
BIN=$(realpath "$COREPLAY_BIN")
W=$(mktemp -d /tmp/coreplay-demo.XXXXXX)
cleanup() { [ -f "$W/nginx.pid" ] && kill "$(cat "$W/nginx.pid")" 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PROD=$(free_port); STAGING=$(free_port)
mkdir -p "$W/tmp"
cat > "$W/nginx.conf" <<CONF
daemon on; worker_processes 1; pid $W/nginx.pid; error_log $W/error.log;
events { worker_connections 256; }
http {
  client_body_temp_path $W/tmp; proxy_temp_path $W/tmp; fastcgi_temp_path $W/tmp;
  uwsgi_temp_path $W/tmp; scgi_temp_path $W/tmp;
  log_format plain '\$request_method \$request_uri \$status';
  server { listen 127.0.0.1:$PROD;    access_log $W/production.log plain; location / { return 200 "production \$request_uri\n"; } }
  server { listen 127.0.0.1:$STAGING; access_log $W/staging.log plain;    location / { return 200 "staging \$request_uri\n"; } }
}
CONF
nginx -c "$W/nginx.conf" -p "$W"
echo "demo: production on :$PROD, staging on :$STAGING"

echo "demo: capturing production's traffic for 3 s (coreplay --input-raw 127.0.0.1:$PROD --output-file)"
"$BIN" --input-raw "127.0.0.1:$PROD" --input-raw-track-response \
  --output-file "$W/demo.gor" --output-file-append --exit-after 3s &
capture=$!
sleep 1
for i in $(seq 1 40); do
  curl -s -o /dev/null "http://127.0.0.1:$PROD/items/$i?color=blue"
  sleep 0.02
done
curl -s -o /dev/null -X POST --data 'name=coreplay&speed=fast' "http://127.0.0.1:$PROD/orders"
wait $capture
records=$(grep -c $'^\xF0\x9F\x90\xB5\xF0\x9F\x99\x88\xF0\x9F\x99\x89$' "$W/demo.gor" || true)
echo "demo: recorded $records messages (requests and responses) to demo.gor"

echo "demo: replaying at 2x to staging (coreplay --input-file 'demo.gor|200%' --output-http)"
start=$(date +%s%N)
"$BIN" --input-file "$W/demo.gor|200%" --output-http "http://127.0.0.1:$STAGING" --stats
ms=$(( ($(date +%s%N) - start) / 1000000 ))
sleep 0.2
prod=$(wc -l < "$W/production.log"); staging=$(wc -l < "$W/staging.log")
echo "demo: production served $prod requests; staging received $staging replayed requests in ${ms} ms"
if [ "$prod" -ne "$staging" ]; then
  echo "demo: FAILED: staging should have received every production request" >&2
  exit 1
fi
echo "demo: ok"
