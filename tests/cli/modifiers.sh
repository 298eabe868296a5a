#!/usr/bin/env bash
# The modifier flags from the command line, end to end on a gor file: gor's order, responses of
# dropped requests dropped too, prettify, limits.
. "$(dirname "$0")/../support/cli_lib.sh"
python3 "$SRC/tests/support/make_gor.py" "$WORK/in.gor" 100 --post-every 4 --responses --gap-ms 0.1
run=("$BIN" --input-file "$WORK/in.gor|10000%" --output-stdout)

expect_exit 0 "allow-method GET" "${run[@]}" --http-allow-method GET
[ "$(grep -ac '^GET ' "$WORK/out")" -eq 75 ] && [ "$(grep -ac '^POST ' "$WORK/out")" -eq 0 ] && pass "75 GETs, no POST" || fail "method filter"
[ "$(grep -ac '^HTTP/1.1 200' "$WORK/out")" -eq 75 ] && pass "responses of dropped POSTs dropped too" || fail "responses: $(grep -ac '^HTTP/1.1 200' "$WORK/out")"

expect_exit 0 "set-header, rewrite-url, disallow-url" "${run[@]}" --http-set-header 'X-Shadow: 1' \
  --http-rewrite-url '/item/(\d+):/v2/item/$1' --http-disallow-url '^/submit/'
[ "$(grep -ac '^X-Shadow: 1' "$WORK/out")" -eq 75 ] && pass "header set on every kept request" || fail "set-header"
grep -aq '^GET /v2/item/1?x=1 HTTP/1.1' "$WORK/out" && pass "URL rewritten with its group" || fail "rewrite-url"
[ "$(grep -ac '^POST ' "$WORK/out")" -eq 0 ] && pass "disallowed URLs dropped" || fail "disallow-url"

expect_exit 2 "bad regex is a config error" "${run[@]}" --http-allow-url '(unclosed'
expect_in "$WORK/err" "http-allow-url" "bad regex names the flag"

# prettify: a chunked, gzip-encoded response comes out plain with a Content-Length.
python3 - "$WORK/gz.gor" <<'PY'
import gzip, sys
SEP = b"\n\xf0\x9f\x90\xb5\xf0\x9f\x99\x88\xf0\x9f\x99\x89\n"
body = gzip.compress(b"hello prettified world")
chunked = b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"
resp = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked
open(sys.argv[1], "wb").write(b"2 %024x 1700000000000000000 5\n" % 7 + resp + SEP)
PY
expect_exit 0 "prettify-http" "$BIN" --input-file "$WORK/gz.gor" --output-stdout --prettify-http
grep -aq "^hello prettified world$" "$WORK/out" && pass "body de-chunked and gunzipped" || fail "prettify body"
grep -aq "^Content-Length: 22" "$WORK/out" && pass "Content-Length fixed" || fail "prettify length"

# Limits on outputs: |50% samples about half of the 200 records; |0% none.
expect_exit 0 "output |50%" "$BIN" --input-file "$WORK/in.gor|10000%" --output-file "$WORK/half.gor|50%" --output-file-append
n=$(count_records "$WORK/half.gor")
[ "$n" -ge 65 ] && [ "$n" -le 135 ] && pass "|50% passed $n of 200" || fail "|50% passed $n of 200"
expect_exit 0 "output |0%" "$BIN" --input-file "$WORK/in.gor|10000%" --output-file "$WORK/none.gor|0%" --output-file-append --output-null
[ ! -s "$WORK/none.gor" ] && pass "|0% passed nothing" || fail "|0% passed something"
finish
