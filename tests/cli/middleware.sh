#!/usr/bin/env bash
# --middleware with real child processes in sh, python3 and C: echo, edit, drop, a slow one
# (back-pressure, nothing lost), one that writes garbage, one that dies early.
. "$(dirname "$0")/../support/cli_lib.sh"
MW="$SRC/tests/data/middleware"
python3 "$SRC/tests/support/make_gor.py" "$WORK/in.gor" 200 --post-every 4 --responses --gap-ms 0.5
run=("$BIN" --input-file "$WORK/in.gor|1000%" --output-stdout)

expect_exit 0 "sh echo" "${run[@]}" --middleware "$MW/echo.sh"
cmp -s "$WORK/out" "$WORK/in.gor" && pass "sh echo: byte-identical" || fail "sh echo: output differs"

cc -O2 -o "$WORK/echo" "$MW/echo.c" || fail "cannot compile echo.c"
expect_exit 0 "C echo" "${run[@]}" --middleware "$WORK/echo"
cmp -s "$WORK/out" "$WORK/in.gor" && pass "C echo: byte-identical" || fail "C echo: output differs"

expect_exit 0 "python add header" "${run[@]}" --middleware "python3 $MW/add_header.py"
n=$(grep -ac "^X-Middleware: python" "$WORK/out")
[ "$n" -eq 200 ] && pass "every request got the header" || fail "$n requests have the header"
[ "$(count_records "$WORK/out")" -eq 400 ] && pass "400 records" || fail "$(count_records "$WORK/out") records"

expect_exit 0 "python drop" "${run[@]}" --middleware "python3 $MW/drop_posts.py"
[ "$(grep -ac '^POST ' "$WORK/out")" -eq 0 ] && pass "POSTs dropped" || fail "POSTs still there"
[ "$(grep -ac '^GET ' "$WORK/out")" -eq 150 ] && pass "150 GETs kept" || fail "$(grep -ac '^GET ' "$WORK/out") GETs"

expect_exit 0 "slow middleware" "${run[@]}" --middleware "python3 $MW/slow.py"
cmp -s "$WORK/out" "$WORK/in.gor" && pass "slow: nothing lost, order kept" || fail "slow: output differs"

expect_exit 0 "garbage lines" "${run[@]}" --middleware "$MW/garbage.sh"
cmp -s "$WORK/out" "$WORK/in.gor" && pass "garbage skipped, messages intact" || fail "garbage: output differs"
expect_in "$WORK/err" "skipped" "garbage reported"

expect_exit 1 "middleware dies" "${run[@]}" --middleware "$MW/exits_early.sh"
expect_in "$WORK/err" "exited with status 3" "death reported with its status"

expect_exit 1 "middleware missing" "${run[@]}" --middleware "/nonexistent/mw"
expect_in "$WORK/err" "cannot be started" "missing middleware reported"
finish
