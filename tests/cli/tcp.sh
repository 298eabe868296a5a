#!/usr/bin/env bash
# --output-tcp → --input-tcp between two coreplay processes, plain and TLS: what one sends the
# other records byte for byte; a SIGINT stops the receiver cleanly. Errors are one clear line.
. "$(dirname "$0")/../support/cli_lib.sh"

python3 "$SRC/tests/support/make_gor.py" "$WORK/in.gor" 300 --post-every 4 --responses --gap-ms 0.2
want=$(count_records "$WORK/in.gor")
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost \
  -keyout "$WORK/key.pem" -out "$WORK/cert.pem" >/dev/null 2>&1 || fail "openssl cannot make a certificate"

# start_receiver NAME ARGS...: a receiver on a free port writing $WORK/NAME.gor; sets RX_PID, RX_PORT.
start_receiver() {
  local name=$1; shift
  rm -f "$WORK/$name.gor"
  "$BIN" --input-tcp 127.0.0.1:0 "$@" --output-file "$WORK/$name.gor" --output-file-append \
    --output-file-flush-interval 50ms --verbose 1 2> "$WORK/$name.err" &
  RX_PID=$!
  RX_PORT=$(wait_port "$WORK/$name.err" 's/.*listening on .*:\([0-9]*\).*/\1/p') && return 0
  fail "$name: receiver did not start: $(head -c 300 "$WORK/$name.err")"
}
# stop_receiver NAME: waits until NAME.gor holds $2 records (at most 10 s), then SIGINT; checks exit 0.
stop_receiver() {
  local name=$1 n=$2
  wait_records "$WORK/$name.gor" "$n"
  kill -INT "$RX_PID"
  timeout 10 tail --pid="$RX_PID" -f /dev/null
  wait "$RX_PID"; local rc=$?
  [ "$rc" -eq 0 ] && pass "$name: receiver exits 0 on SIGINT" || fail "$name: receiver exit $rc: $(head -c 300 "$WORK/$name.err")"
}
sorted_records() { python3 -c '
import sys
sep = b"\n\xf0\x9f\x90\xb5\xf0\x9f\x99\x88\xf0\x9f\x99\x89\n"
data = open(sys.argv[1], "rb").read()
recs = data.split(sep)
assert recs[-1] == b"", "trailing bytes"
sys.stdout.buffer.write(sep.join(sorted(recs[:-1])))' "$1"; }

# One connection keeps the order: the received file is the sent file, byte for byte.
start_receiver plain
expect_exit 0 "send plain, one worker" "$BIN" --input-file "$WORK/in.gor|1000%" --output-tcp "127.0.0.1:$RX_PORT" --output-tcp-workers 1
stop_receiver plain "$want"
cmp -s "$WORK/plain.gor" "$WORK/in.gor" && pass "plain: received file identical ($want records)" || fail "plain: received file differs ($(count_records "$WORK/plain.gor") of $want records)"

# Ten workers (the default) spread the records over ten connections: the same records arrive.
start_receiver spread
expect_exit 0 "send plain, 10 sticky workers" "$BIN" --input-file "$WORK/in.gor|1000%" --output-tcp "127.0.0.1:$RX_PORT" --output-tcp-sticky \
  --output-tcp-stats --stats
expect_in "$WORK/err" "output_tcp:latest,mean,max,count,count/second,gcount" "gor's output_tcp stats header"
expect_in "$WORK/err" "sent=$want" "sender counted every record"
stop_receiver spread "$want"
[ "$(sorted_records "$WORK/spread.gor" | md5sum)" = "$(sorted_records "$WORK/in.gor" | md5sum)" ] &&
  pass "10 workers: the same $want records arrived" || fail "10 workers: records differ"

# TLS with the receiver's self-signed certificate.
start_receiver tls --input-tcp-secure --input-tcp-certificate "$WORK/cert.pem" --input-tcp-certificate-key "$WORK/key.pem"
expect_exit 0 "send TLS, skip verify" "$BIN" --input-file "$WORK/in.gor|1000%" --output-tcp "127.0.0.1:$RX_PORT" \
  --output-tcp-workers 1 --output-tcp-secure --output-tcp-skip-verify
# Verified TLS rejects the self-signed certificate: reported, counted, and the sender still ends.
expect_exit 0 "send TLS, verified" "$BIN" --input-file "$WORK/in.gor|1000%" --output-tcp "localhost:$RX_PORT" \
  --output-tcp-secure --drain-timeout 1s
expect_in "$WORK/err" "certificate verify failed" "verification failure reported"
expect_in "$WORK/err" "message(s) not delivered" "undelivered messages reported"
stop_receiver tls "$want"
cmp -s "$WORK/tls.gor" "$WORK/in.gor" && pass "TLS: received file identical" || fail "TLS: received file differs ($(count_records "$WORK/tls.gor") of $want records)"
expect_in "$WORK/tls.err" "TLS handshake with" "receiver reported the rejected handshake"

# Nobody listening: one line naming the output, the records counted as not delivered.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
expect_exit 0 "unreachable target" "$BIN" --input-file "$WORK/in.gor|1000%" --output-tcp "127.0.0.1:$port" --drain-timeout 1s --stats
expect_in "$WORK/err" "output-tcp(127.0.0.1:$port): cannot connect: Connection refused" "unreachable target named"
expect_in "$WORK/err" "not_delivered=$want" "undelivered records counted"

# Option and startup errors.
expect_exit 2 "zero workers" "$BIN" --input-dummy --output-tcp 127.0.0.1:1 --output-tcp-workers 0
expect_in "$WORK/err" "--output-tcp-workers: must be at least 1" "zero workers explained"
expect_exit 1 "missing certificate" "$BIN" --input-tcp :0 --input-tcp-secure --input-tcp-certificate "$WORK/none.pem" \
  --input-tcp-certificate-key "$WORK/key.pem" --output-null
expect_in "$WORK/err" "none.pem" "missing certificate named"
finish
