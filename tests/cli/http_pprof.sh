#!/usr/bin/env bash
# --http-pprof ADDR: the counters over HTTP (/debug/vars JSON, /metrics Prometheus) while a
# pipeline runs; an open keep-alive connection does not keep the process from exiting.
. "$(dirname "$0")/../support/cli_lib.sh"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" --input-dummy --output-null --http-pprof "127.0.0.1:$port" --exit-after 4s > "$WORK/run.out" 2> "$WORK/run.err" &
pid=$!
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/metrics" && break; sleep 0.1; done
sleep 1.2  # the dummy input has emitted by now

curl -s "http://127.0.0.1:$port/debug/vars" > "$WORK/vars.json"
python3 - "$WORK/vars.json" <<'EOF' && pass "/debug/vars is JSON with per-plugin counters" || fail "/debug/vars: $(cat "$WORK/vars.json")"
import json, sys
d = json.load(open(sys.argv[1]))
p = d["plugins"]
assert p["input-dummy"]["messages"] > 0, p
assert p["output-null"]["messages"] > 0, p
assert "drops" in p["output-null"] and d["uptime_seconds"] > 0
EOF
curl -s "http://127.0.0.1:$port/metrics" > "$WORK/metrics.txt"
grep -Eq '^coreplay_messages_total\{plugin="output-null"\} [1-9][0-9]*$' "$WORK/metrics.txt" \
  && pass "/metrics has the output's message counter" || fail "/metrics: $(head -c 600 "$WORK/metrics.txt")"
grep -q '^# TYPE coreplay_drops_total counter$' "$WORK/metrics.txt" && pass "/metrics typed" || fail "no TYPE line"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/debug/pprof/heap")
[ "$code" = 404 ] && pass "Go's pprof paths: 404" || fail "pprof path answered $code"

# A client that keeps its connection open (a scraper) must not hold the process at exit.
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n' >&3
start=$(date +%s)
wait "$pid"
rc=$?
exec 3<&-
[ "$rc" -eq 0 ] && pass "exits 0 at --exit-after" || fail "exit code $rc: $(cat "$WORK/run.err")"
[ $(( $(date +%s) - start )) -le 6 ] && pass "open keep-alive connection did not delay exit" || fail "exit delayed"

exec 4< <(python3 -c "import socket,time,sys; s=socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(); print(s.getsockname()[1]); sys.stdout.flush(); time.sleep(3)")
read -r busy <&4
expect_exit 1 "port in use" "$BIN" --input-dummy --output-null --http-pprof "127.0.0.1:$busy" --exit-after 1s
expect_in "$WORK/err" "--http-pprof '127.0.0.1:$busy': cannot listen" "port in use named"
expect_exit 1 "bad address" "$BIN" --input-dummy --output-null --http-pprof "nohost:80"
expect_in "$WORK/err" "--http-pprof 'nohost:80': 'nohost' is not an IP address" "bad address named"
finish
