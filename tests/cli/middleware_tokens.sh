#!/usr/bin/env bash
# A middleware that needs original (type 2) and replayed (type 3) responses: token rewriting.
# (The first use comes 0.8 s after the login: time for python to start and the replay to answer.)
# The recording holds a login whose original response issued token 'orig42', then requests using
# it; the replay target issues its own token, and the middleware must rewrite the later requests.
. "$(dirname "$0")/../support/cli_lib.sh"
python3 - "$WORK/rec.gor" <<'PY'
import sys
SEP = b"\n\xf0\x9f\x90\xb5\xf0\x9f\x99\x88\xf0\x9f\x99\x89\n"
ts = 1_700_000_000_000_000_000
with open(sys.argv[1], "wb") as f:
    f.write(b"1 %024x %d -1\nGET /login HTTP/1.1\r\nHost: a\r\n\r\n" % (1, ts) + SEP)
    f.write(b"2 %024x %d 1000\nHTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\ntoken=orig42" % (1, ts + 1000) + SEP)
    for i in range(5):
        f.write(b"1 %024x %d -1\nGET /data/%d?token=orig42 HTTP/1.1\r\nHost: a\r\n\r\n" % (10 + i, ts + 800_000_000 + i * 50_000_000, i) + SEP)
PY
python3 "$SRC/tests/support/token_server.py" "$WORK/server.log" > "$WORK/port" &
for _ in $(seq 50); do [ -s "$WORK/port" ] && break; sleep 0.05; done
PORT=$(cat "$WORK/port")
expect_exit 0 "replay with token middleware" "$BIN" --input-file "$WORK/rec.gor" \
  --output-http "http://127.0.0.1:$PORT" --output-http-track-response \
  --middleware "python3 $SRC/tests/data/middleware/token_modifier.py" --output-stdout
n=$(grep -c "^/data/[0-9]?token=replayed1$" "$WORK/server.log")
[ "$n" -eq 5 ] && pass "all 5 later requests carried the replayed token" || fail "$n of 5 rewritten: $(cat "$WORK/server.log")"
[ "$(grep -ac '^3 ' "$WORK/out")" -eq 6 ] && pass "6 replayed responses reached the outputs through the middleware" || fail "replayed responses: $(grep -ac '^3 ' "$WORK/out")"
finish
