#!/usr/bin/env bash
# --output-file and --input-file through the binary: record, replay, gzip, dry run, errors.
. "$(dirname "$0")/../support/cli_lib.sh"

BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")  # absolute: a case below changes directory
SEP=$'\n\xF0\x9F\x90\xB5\xF0\x9F\x99\x88\xF0\x9F\x99\x89\n'

# A hand-built file replayed to stdout comes out byte for byte (stdout writes the same format).
{
  printf '1 aaaaaaaaaaaaaaaaaaaaaaaa 1000000 -1\nGET /a HTTP/1.1\r\nHost: x\r\n\r\n%s' "$SEP"
  printf '2 aaaaaaaaaaaaaaaaaaaaaaaa 2000000 1000000\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n\x00\xff\n%s' "$SEP"
  printf '1 bbbbbbbbbbbbbbbbbbbbbbbb 3000000 -1\nPOST /b HTTP/1.1\r\nContent-Length: 0\r\n\r\n%s' "$SEP"
} > "$WORK/hand.gor"
expect_exit 0 "replay a hand-built file" "$BIN" --input-file "$WORK/hand.gor" --output-stdout
cmp -s "$WORK/out" "$WORK/hand.gor" && pass "replayed bytes identical" || fail "replayed bytes differ"
# A full disk (write(2) path, the default, and io_uring alike): one line naming the file, exit 1.
expect_exit 1 "disk full is an error" "$BIN" --input-file "$WORK/hand.gor" --output-file /dev/full --output-file-append &&
  expect_in "$WORK/err" "cannot write '/dev/full': No space left on device" "disk full names the file"

# Record from the dummy input, chunked by records.
expect_exit 0 "record" "$BIN" --input-dummy --output-file "$WORK/rec.gor" --output-file-queue-limit 3 --exit-after 2.5s
[ -f "$WORK/rec_0.gor" ] && [ -f "$WORK/rec_1.gor" ] && pass "chunks rec_0.gor rec_1.gor" || fail "chunks: $(ls "$WORK")"
cat "$WORK"/rec_*.gor > "$WORK/all.gor"
recorded=$(count_records "$WORK/all.gor")
[ "$recorded" -ge 4 ] && pass "recorded $recorded records" || fail "recorded only $recorded records"
expect_exit 0 "replay chunks at 1000%" "$BIN" --input-file "$WORK/rec_*.gor|1000%" --output-stdout
[ "$(count_records "$WORK/out")" -eq "$recorded" ] && pass "replayed all records" || fail "replayed $(count_records "$WORK/out") of $recorded"

# A restart continues at the last index + 1.
expect_exit 0 "record again" "$BIN" --input-dummy --output-file "$WORK/rec.gor" --output-file-queue-limit 3 --exit-after 0.5s
last=$(ls "$WORK"/rec_*.gor | sed 's/.*rec_\([0-9]*\)\.gor/\1/' | sort -n | tail -1)
[ "$last" -ge 2 ] && pass "restart continued at a new index ($last)" || fail "restart index $last"

# gzip: x.gor.gz becomes x.gor_0.gz, readable by gzip(1) and by the input.
expect_exit 0 "record gzip" "$BIN" --input-dummy --output-file "$WORK/z.gor.gz" --exit-after 1.5s
gzip -t "$WORK/z.gor_0.gz" && pass "gzip -t accepts the output" || fail "gzip -t rejects z.gor_0.gz"
gzip -dc "$WORK/z.gor_0.gz" > "$WORK/z.plain"
zrec=$(count_records "$WORK/z.plain")
expect_exit 0 "replay gzip" "$BIN" --input-file "$WORK/z.gor_0.gz|1000%" --output-stdout
[ "$(count_records "$WORK/out")" -eq "$zrec" ] && [ "$zrec" -gt 0 ] && pass "gzip replay $zrec records" || fail "gzip replay"

# Dry run: gor's summary, nothing sent.
expect_exit 0 "dry run" "$BIN" --input-file "$WORK/hand.gor" --input-file-dry-run --output-stdout
expect_in "$WORK/out" "Records found: 3" "dry run counts records"
expect_in "$WORK/out" "It will take \`2ms\` to replay at current speed." "dry run replay time"
[ "$(count_records "$WORK/out")" -eq 0 ] && pass "dry run sends nothing" || fail "dry run sent records"

# The example pipeline replays the sample file unchanged, and ends at its end.
cd "$SRC" || fail "cd $SRC"
expect_exit 0 "example replay-file.yaml" "$BIN" run examples/replay-file.yaml
cd - > /dev/null || true
cmp -s "$WORK/out" "$SRC/tests/data/gor/sample.gor" && pass "example output identical" || fail "example output differs"

# Errors name the path, one line, non-zero exit.
expect_exit 1 "missing input" "$BIN" --input-file "$WORK/none-*.gor" --output-null
expect_in "$WORK/err" "none-*.gor" "missing input named"
head -c 100 /dev/urandom > "$WORK/bad.gz"
expect_exit 1 "corrupt gzip" "$BIN" --input-file "$WORK/bad.gz" --output-null
expect_in "$WORK/err" "bad.gz" "corrupt gzip named"
expect_exit 1 "unwritable output" "$BIN" --input-file "$WORK/hand.gor" --output-file /nonexistent-dir/x.gor
expect_in "$WORK/err" "/nonexistent-dir/x_0.gor" "unwritable output named"
expect_exit 1 "s3 input" "$BIN" --input-file s3://bucket/prefix --output-null
expect_in "$WORK/err" "s3:// inputs are not supported" "s3 input explained"
finish
