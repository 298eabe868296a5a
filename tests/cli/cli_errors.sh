#!/usr/bin/env bash
# Bad flags and files: one clear line naming the flag or file, exit code 2.
. "$(dirname "$0")/../support/cli_lib.sh"

expect_exit 2 "unknown flag" "$BIN" --input-dumy --output-stdout
expect_in "$WORK/err" "--input-dumy: unknown flag (did you mean --input-dummy?)" "unknown flag names the closest"
expect_exit 2 "bad duration" "$BIN" --input-dummy --output-null --exit-after 5parsecs
expect_in "$WORK/err" "--exit-after: bad value '5parsecs'" "bad value names flag and value"
expect_exit 2 "no output" "$BIN" --input-dummy
expect_in "$WORK/err" "at least one input and one output" "missing output explained"
expect_exit 2 "missing value" "$BIN" --input-dummy --output-null --verbose
expect_exit 2 "bad limit" "$BIN" --input-dummy "--output-null" --output-stdout=maybe
expect_exit 2 "not implemented flag" "$BIN" --input-dummy --output-null --output-binary k:9092
expect_in "$WORK/err" "not implemented in this build" "pending flag refused, never ignored"
expect_exit 2 "missing yaml" "$BIN" run /nonexistent.yaml
expect_in "$WORK/err" "/nonexistent.yaml: cannot open" "missing yaml named"
printf 'input-dummy: ""\noutput-stdot: true\n' > "$WORK/bad.yaml"
expect_exit 2 "bad yaml key" "$BIN" validate "$WORK/bad.yaml"
expect_in "$WORK/err" "bad.yaml:2: unknown key 'output-stdot' (did you mean 'output-stdout'?)" "yaml error has file and line"
[ "$(wc -l < "$WORK/err")" -eq 1 ] && pass "one line" || fail "error is not one line"
expect_exit 0 "help" "$BIN" --help
expect_in "$WORK/out" "--output-file-size-limit SIZE" "help lists flags"
expect_exit 0 "version" "$BIN" --version
expect_in "$WORK/out" "coreplay " "version printed"
expect_exit 0 "validate example" "$BIN" validate "$SRC/examples/dummy-to-stdout.yaml"
expect_in "$WORK/out" "ok (1 inputs, 1 outputs)" "validate reports"
finish
