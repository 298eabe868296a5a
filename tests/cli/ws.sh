#!/usr/bin/env bash
# --output-ws to a Beast WebSocket server (tests/support/ws_test_server_main.cpp), plain and
# wss://: every record arrives byte for byte as one frame; userinfo becomes Basic auth; errors
# are one clear line.
. "$(dirname "$0")/../support/cli_lib.sh"

BUILD=${COREPLAY_BUILD_DIR:-$(cd "$(dirname "$BIN")" && pwd)}
SERVER=$BUILD/tests/ws_test_server
[ -x "$SERVER" ] || { fail "no $SERVER (build the ws_test_server target)"; finish; }

python3 "$SRC/tests/support/make_gor.py" "$WORK/in.gor" 300 --post-every 4 --responses --gap-ms 0.2
want=$(count_records "$WORK/in.gor")
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost \
  -keyout "$WORK/key.pem" -out "$WORK/cert.pem" >/dev/null 2>&1 || fail "openssl cannot make a certificate"

# start_server NAME [CERT KEY]: a server on a free port writing $WORK/NAME.gor; sets SRV_PID, SRV_PORT.
start_server() {
  local name=$1; shift
  rm -f "$WORK/$name.gor"
  "$SERVER" "$WORK/$name.gor" "$@" > "$WORK/$name.out" 2> "$WORK/$name.err" &
  SRV_PID=$!
  SRV_PORT=$(wait_port "$WORK/$name.out" 's/^port \([0-9]*\)$/\1/p') && return 0
  fail "$name: server did not start: $(head -c 300 "$WORK/$name.err")"
}
# stop_server NAME N: waits until NAME.gor holds N records (at most 10 s), then stops the server.
stop_server() {
  local name=$1 n=$2
  wait_records "$WORK/$name.gor" "$n"
  kill "$SRV_PID"; wait "$SRV_PID" 2>/dev/null
}
sorted_records() { python3 -c '
import sys
sep = b"\n\xf0\x9f\x90\xb5\xf0\x9f\x99\x88\xf0\x9f\x99\x89\n"
data = open(sys.argv[1], "rb").read()
recs = data.split(sep)
assert recs[-1] == b"", "trailing bytes"
sys.stdout.buffer.write(sep.join(sorted(recs[:-1])))' "$1"; }

# One connection keeps the order: what the server got is the sent file, byte for byte.
start_server plain
expect_exit 0 "send ws://, one worker" "$BIN" --input-file "$WORK/in.gor|1000%" --output-ws "ws://user:secret@127.0.0.1:$SRV_PORT/in" \
  --output-ws-workers 1
stop_server plain "$want"
cmp -s "$WORK/plain.gor" "$WORK/in.gor" && pass "plain: received records identical ($want records)" ||
  fail "plain: received records differ ($(count_records "$WORK/plain.gor") of $want records)"
expect_in "$WORK/plain.err" "authorization: Basic dXNlcjpzZWNyZXQ=" "userinfo sent as Basic authorization"

# Ten sticky workers (the default count): the same records arrive, over several connections.
start_server spread
expect_exit 0 "send ws://, 10 sticky workers" "$BIN" --input-file "$WORK/in.gor|1000%" --output-ws "ws://127.0.0.1:$SRV_PORT" \
  --output-ws-sticky --output-ws-stats --stats
expect_in "$WORK/err" "output_ws:latest,mean,max,count,count/second,gcount" "gor's output_ws stats header"
expect_in "$WORK/err" "sent=$want" "sender counted every record"
stop_server spread "$want"
[ "$(sorted_records "$WORK/spread.gor" | md5sum)" = "$(sorted_records "$WORK/in.gor" | md5sum)" ] &&
  pass "10 workers: the same $want records arrived" || fail "10 workers: records differ"
conns=$(grep -c '^authorization: Basic$' "$WORK/spread.err")
[ "$conns" -gt 1 ] && pass "10 workers: $conns connections, each with the empty Basic header" ||
  fail "10 workers: $conns connections with 'Basic'"
# gor crashes on --output-tcp-stats --stats beside --output-ws; coreplay does not.
start_server tcpstats
expect_exit 0 "--output-tcp-stats beside --output-ws" "$BIN" --input-file "$WORK/in.gor|1000%" --output-ws "ws://127.0.0.1:$SRV_PORT" \
  --output-tcp-stats --stats
stop_server tcpstats "$want"

# wss:// with the server's self-signed certificate.
start_server tls "$WORK/cert.pem" "$WORK/key.pem"
expect_exit 0 "send wss://, skip verify" "$BIN" --input-file "$WORK/in.gor|1000%" --output-ws "wss://127.0.0.1:$SRV_PORT/" \
  --output-ws-workers 1 --output-ws-skip-verify
# Verification rejects the self-signed certificate: reported, counted, and the sender still ends.
expect_exit 0 "send wss://, verified" "$BIN" --input-file "$WORK/in.gor|1000%" --output-ws "wss://localhost:$SRV_PORT/" \
  --drain-timeout 1s
expect_in "$WORK/err" "certificate verify failed" "verification failure reported"
expect_in "$WORK/err" "message(s) not delivered" "undelivered messages reported"
stop_server tls "$want"
cmp -s "$WORK/tls.gor" "$WORK/in.gor" && pass "wss: received records identical" ||
  fail "wss: received records differ ($(count_records "$WORK/tls.gor") of $want records)"

# Nobody listening: one line naming the output, the records counted as not delivered.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
expect_exit 0 "unreachable target" "$BIN" --input-file "$WORK/in.gor|1000%" --output-ws "ws://127.0.0.1:$port" --drain-timeout 1s --stats
expect_in "$WORK/err" "output-ws(ws://127.0.0.1:$port/): cannot connect: Connection refused" "unreachable target named"
expect_in "$WORK/err" "not_delivered=$want" "undelivered records counted"

# Option errors.
expect_exit 2 "zero workers" "$BIN" --input-dummy --output-ws ws://127.0.0.1:1 --output-ws-workers 0
expect_in "$WORK/err" "--output-ws-workers: must be at least 1" "zero workers explained"
expect_exit 2 "not a ws URL" "$BIN" --input-dummy --output-ws http://127.0.0.1:1
expect_in "$WORK/err" "the scheme must be ws or wss" "bad scheme explained"
finish
