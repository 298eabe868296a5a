#!/usr/bin/env bash
# --input-raw on capture files: classic pcap read directly, pcapng and stdin through libpcap, and a
# truncated file (what a killed tcpdump leaves): every message before the cut is delivered,
# then one line names the file and the byte offset, exit code 1.
. "$(dirname "$0")/../support/cli_lib.sh"

PCAP="$SRC/tests/data/pcap/http_server_keepalive.pcap"
count() { grep -ac '^[12] [0-9a-f]\{24\} ' "$1"; }

expect_exit 0 "pcap file" "$BIN" --input-raw "$PCAP:0" --input-raw-track-response --output-stdout --verbose 1
want=$(count "$WORK/out")
[ "$want" -gt 4 ] && pass "pcap file: $want messages" || fail "pcap file: $want messages"
expect_in "$WORK/err" "(read directly)" "classic pcap read without libpcap"
cp "$WORK/out" "$WORK/mapped.out"

expect_exit 0 "pcap on stdin" sh -c "cat '$PCAP' | '$BIN' --input-raw -:0 --input-raw-engine pcap_file --input-raw-track-response --output-stdout"
[ "$(count "$WORK/out")" -eq "$want" ] && pass "stdin: same messages" || fail "stdin: $(count "$WORK/out") of $want"

if command -v editcap > /dev/null; then
  editcap -F pcapng "$PCAP" "$WORK/k.pcapng"
  expect_exit 0 "pcapng" "$BIN" --input-raw "$WORK/k.pcapng:0" --input-raw-track-response --output-stdout
  [ "$(count "$WORK/out")" -eq "$want" ] && pass "pcapng: same messages" || fail "pcapng: $(count "$WORK/out") of $want"
fi

size=$(stat -c %s "$PCAP")
head -c $((size - 10)) "$PCAP" > "$WORK/cut.pcap"
expect_exit 1 "truncated pcap" "$BIN" --input-raw "$WORK/cut.pcap:0" --input-raw-track-response --output-stdout
expect_in "$WORK/err" "cut.pcap: truncated dump file" "truncation named"
expect_in "$WORK/err" "at byte " "truncation offset given"
[ "$(wc -l < "$WORK/err")" -eq 1 ] && pass "one line" || fail "error is not one line"
got=$(count "$WORK/out")
[ "$got" -ge $((want - 2)) ] && [ "$got" -gt 0 ] && pass "truncated pcap: $got of $want messages delivered" ||
  fail "truncated pcap: $got of $want messages delivered"

printf 'not a capture file at all' > "$WORK/junk.pcap"
expect_exit 1 "junk file" "$BIN" --input-raw "$WORK/junk.pcap:80" --output-null
expect_in "$WORK/err" "junk.pcap" "junk file named"
finish
