#!/usr/bin/env bash
# Live capture on lo with each engine: every request and response of a 20k-request ab run
# against nginx is captured (compared with nginx's access log). Needs root.
. "$(dirname "$0")/../support/cli_lib.sh"
. "$(dirname "$0")/../support/nginx_lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "skipped: needs root"; exit 0; }
start_nginx "$WORK/ng" || { fail "nginx did not start"; finish; }
trap 'stop_nginx "$WORK/ng"; rm -rf "$WORK"' EXIT

# Only an optimised build is held to zero loss at full speed.
strict=yes
case "$BIN" in */build/release/*) ;; *) strict=no ;; esac
for engine in libpcap af_packet raw_socket; do
  : > "$WORK/ng/access.log"
  "$BIN" --input-raw "127.0.0.1:$NGINX_PORT" --input-raw-engine $engine --input-raw-track-response \
    --output-stdout --exit-after 5s --stats > "$WORK/$engine.gor" 2> "$WORK/$engine.err" &
  pid=$!
  sleep 0.8
  ab -q -k -n 20000 -c 20 "http://127.0.0.1:$NGINX_PORT/load?engine=$engine" > "$WORK/ab.txt" 2>&1
  rate=$(grep -o 'Requests per second: *[0-9.]*' "$WORK/ab.txt" | grep -o '[0-9.]*$')
  wait $pid || fail "$engine: coreplay exited non-zero: $(tail -2 "$WORK/$engine.err")"
  served=$(wc -l < "$WORK/ng/access.log")
  req=$(grep -c "^1 " "$WORK/$engine.gor")
  resp=$(grep -c "^2 " "$WORK/$engine.gor")
  stats=$(grep "input-raw" "$WORK/$engine.err" | tail -1)
  if [ "$served" -eq 20000 ] && [ "$req" -eq "$served" ] && [ "$resp" -eq "$served" ]; then
    pass "$engine: $req requests and $resp responses of $served at $rate req/s"
  elif [ "$strict" = no ] && [ "$req" -ge $((served * 8 / 10)) ] && echo "$stats" | grep -qE "kernel_drops=|gaps="; then
    # Unoptimised builds (debug, sanitizers) cannot keep up with ab on lo; the loss must show
    # in the counters, never silently.
    pass "$engine: $req of $served requests at $rate req/s in an unoptimised build, loss counted: $stats"
  else
    fail "$engine: nginx served $served, captured $req requests, $resp responses (at $rate req/s): $(grep "input-raw" "$WORK/$engine.err" | tail -1)"
  fi
done

# Real clients, shapes gor loses: a 1 MB body, chunked upload, 100-continue, HEAD, IPv6.
: > "$WORK/ng/access.log"
"$BIN" --input-raw ":$NGINX_PORT" --input-raw-track-response --output-stdout --exit-after 4s > "$WORK/shapes.gor" 2> "$WORK/shapes.err" &
pid=$!
sleep 0.8
head -c 1000000 /dev/urandom > "$WORK/body.bin"
curl -s -o /dev/null --data-binary @"$WORK/body.bin" "http://127.0.0.1:$NGINX_PORT/echo/big"
curl -s -o /dev/null -H 'Transfer-Encoding: chunked' --data-binary @"$WORK/body.bin" "http://127.0.0.1:$NGINX_PORT/echo/chunked"
curl -s -o /dev/null -H 'Expect: 100-continue' --data-binary @"$WORK/body.bin" "http://127.0.0.1:$NGINX_PORT/echo/continue"
curl -s -o /dev/null -I "http://127.0.0.1:$NGINX_PORT/head"
curl -s -o /dev/null -g "http://[::1]:$NGINX_PORT/ipv6"
wait $pid
for path in /echo/big /echo/chunked /echo/continue /head /ipv6; do
  if grep -qa "^[A-Z]* $path HTTP/1.1" "$WORK/shapes.gor"; then pass "captured $path"; else fail "missing $path"; fi
done
# The 1 MB body arrives whole: the record holding it is at least 1 MB long.
big=$(awk 'BEGIN{RS="\n\xF0\x9F\x90\xB5\xF0\x9F\x99\x88\xF0\x9F\x99\x89\n"} /POST \/echo\/big/ {print length($0)}' "$WORK/shapes.gor")
[ "${big:-0}" -ge 1000000 ] && pass "1 MB body captured whole ($big bytes)" || fail "1 MB body: record of ${big:-0} bytes"
finish
