#!/usr/bin/env bash
# --exit-after, SIGINT and SIGTERM stop cleanly: exit 0, everything accepted is written.
. "$(dirname "$0")/../support/cli_lib.sh"

start=$(date +%s%N)
expect_exit 0 "exit-after" "$BIN" --input-dummy --output-stdout --exit-after 1500ms --stats
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$elapsed_ms" -ge 1400 ] && [ "$elapsed_ms" -lt 4000 ] && pass "exit-after took ${elapsed_ms}ms" || fail "exit-after took ${elapsed_ms}ms"
n=$(count_records "$WORK/out")
[ "$n" -eq 4 ] && pass "4 records (2 requests + 2 responses)" || fail "got $n records"
expect_in "$WORK/err" "summary after" "summary at exit with --stats"
expect_in "$WORK/err" "output-stdout: msgs=4" "summary counts"

for sig in INT TERM; do
  "$BIN" --input-dummy --output-stdout > "$WORK/sig.out" 2> "$WORK/sig.err" &
  pid=$!
  sleep 1.3
  kill -$sig $pid
  timeout 10 tail --pid=$pid -f /dev/null
  wait $pid; rc=$?
  [ "$rc" -eq 0 ] && pass "SIG$sig exits 0" || fail "SIG$sig exit $rc"
  n=$(count_records "$WORK/sig.out")
  [ "$n" -ge 2 ] && [ $((n % 2)) -eq 0 ] && pass "SIG$sig: $n complete records" || fail "SIG$sig: $n records"
  expect_in "$WORK/sig.err" "draining" "SIG$sig logged"
done

# A pipeline file runs like the flags it holds; later flags override it.
cat > "$WORK/p.yaml" <<'YAML'
input-dummy: ""
output-stdout: true
exit-after: 10s
YAML
start=$(date +%s%N)
expect_exit 0 "run yaml with override" "$BIN" run "$WORK/p.yaml" --exit-after 500ms
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$elapsed_ms" -lt 3000 ] && pass "CLI flag overrode the file" || fail "took ${elapsed_ms}ms"
[ "$(count_records "$WORK/out")" -eq 2 ] && pass "yaml pipeline ran" || fail "yaml pipeline output"
finish
