#!/usr/bin/env bash
# --input-http ADDR: every request sent to it becomes a type-1 message, answered 200 "OK";
# recorded to a file and stopped with SIGINT, nothing accepted is lost.
. "$(dirname "$0")/../support/cli_lib.sh"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" --input-http "127.0.0.1:$port" --output-file "$WORK/out.gor" --output-file-append > "$WORK/run.out" 2> "$WORK/run.err" &
pid=$!
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/ready" && break; sleep 0.1; done

head -c 3000 /dev/urandom > "$WORK/body.bin"
answer=$(curl -s -X POST --data-binary @"$WORK/body.bin" -H 'Content-Type: application/octet-stream' \
  "http://127.0.0.1:$port/upload?x=1")
[ "$answer" = OK ] && pass "answered OK" || fail "answer: $answer"
# Keep-alive: several requests on one connection.
curl -s -o /dev/null -o /dev/null -o /dev/null "http://127.0.0.1:$port/a" "http://127.0.0.1:$port/b" "http://127.0.0.1:$port/c"
kill -INT "$pid"
wait "$pid"
rc=$?
[ "$rc" -eq 0 ] && pass "SIGINT: exit 0" || fail "exit $rc: $(cat "$WORK/run.err")"

n=$(count_records "$WORK/out.gor")
[ "$n" -eq 5 ] && pass "5 requests recorded (ready, upload, a, b, c)" || fail "$n records"
python3 - "$WORK/out.gor" "$WORK/body.bin" <<'PY' && pass "the upload's request line, headers and binary body recorded exactly" || fail "upload record differs"
import sys
data = open(sys.argv[1], 'rb').read()
body = open(sys.argv[2], 'rb').read()
sep = b"\n\xf0\x9f\x90\xb5\xf0\x9f\x99\x88\xf0\x9f\x99\x89\n"
recs = [r for r in data.split(sep) if r]
up = [r for r in recs if b"POST /upload?x=1 HTTP/1.1\r\n" in r]
assert len(up) == 1
meta, payload = up[0].split(b"\n", 1)
f = meta.split(b" ")
assert f[0] == b"1" and len(f[1]) == 24 and int(f[2]) > 0, meta
head, got = payload.split(b"\r\n\r\n", 1)
assert got == body, (len(got), len(body))
assert b"\r\nContent-Length: 3000" in head
assert [r.split(b"\n", 1)[1].split(b" ")[1] for r in recs[2:]] == [b"/a", b"/b", b"/c"]
PY

expect_exit 1 "bad address" "$BIN" --input-http "nohost:80" --output-null
expect_in "$WORK/err" "input-http 'nohost:80': 'nohost' is not an IP address" "bad address named"
finish
