#!/usr/bin/env bash
# --output-kafka-* and --input-kafka-* through the binary, against librdkafka's mock cluster
# (tests/support/kafka_mock_cluster_main.cpp), checked with kcat.
. "$(dirname "$0")/../support/cli_lib.sh"

BUILD=${COREPLAY_BUILD_DIR:-$(cd "$(dirname "$BIN")" && pwd)}
MOCK=$BUILD/tests/kafka_mock_cluster
SEP=$'\n\xF0\x9F\x90\xB5\xF0\x9F\x99\x88\xF0\x9F\x99\x89\n'
command -v kcat > /dev/null || { fail "kcat is not installed (scripts/bootstrap.sh installs it)"; finish; }
[ -x "$MOCK" ] || { fail "no $MOCK (build the kafka_mock_cluster target)"; finish; }

# The cluster lives while fd 7 is open (it exits at the end of its stdin).
mkfifo "$WORK/mock.in"
"$MOCK" 1 gor:1 json:1 multi:3 sig:1 < "$WORK/mock.in" > "$WORK/bootstrap" 2> "$WORK/mock.err" &
exec 7> "$WORK/mock.in"
for _ in $(seq 50); do [ -s "$WORK/bootstrap" ] && break; sleep 0.1; done
B=$(head -1 "$WORK/bootstrap")
[ -n "$B" ] && pass "mock cluster at $B" || { fail "mock cluster did not start: $(cat "$WORK/mock.err")"; finish; }

{
  printf '1 aaaaaaaaaaaaaaaaaaaaaaaa 1000000 -1\nGET /a HTTP/1.1\r\nHost: x\r\n\r\n%s' "$SEP"
  printf '2 aaaaaaaaaaaaaaaaaaaaaaaa 2000000 1000000\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n\x00\xff\n%s' "$SEP"
  printf '1 bbbbbbbbbbbbbbbbbbbbbbbb 3000000 -1\nPOST /b HTTP/1.1\r\nContent-Length: 0\r\n\r\n%s' "$SEP"
} > "$WORK/hand.gor"

# Raw format: one Kafka record per message, meta + payload, no separator.
expect_exit 0 "record a file to Kafka" "$BIN" --input-file "$WORK/hand.gor" --output-kafka-host "$B" --output-kafka-topic gor --stats
expect_in "$WORK/err" "delivered=3" "3 records delivered (--stats)"
timeout 20 kcat -b "$B" -C -t gor -o beginning -e -q -f '%s\n🐵🙈🙉\n' > "$WORK/kcat.gor"
cmp -s "$WORK/kcat.gor" "$WORK/hand.gor" && pass "kcat reads the records byte for byte" || fail "kcat's records differ"
[ "$(timeout 20 kcat -b "$B" -C -t gor -o beginning -e -q -f '%S\n' | tr '\n' ' ')" = "66 84 77 " ] &&
  pass "record sizes are meta + payload" || fail "record sizes"

# Back from Kafka: from the oldest offset, byte for byte (the input runs until stopped, as gor's).
expect_exit 0 "replay from Kafka (offset -2)" "$BIN" --input-kafka-host "$B" --input-kafka-topic gor \
  --input-kafka-offset -2 --output-stdout --exit-after 2s
cmp -s "$WORK/out" "$WORK/hand.gor" && pass "replayed bytes identical" || fail "replayed bytes differ"
expect_exit 0 "replay from Kafka to a file" "$BIN" --input-kafka-host "$B" --input-kafka-topic gor \
  --input-kafka-offset '-2|1000%' --output-file "$WORK/back.gor" --output-file-append --exit-after 2s
cmp -s "$WORK/back.gor" "$WORK/hand.gor" && pass "file written from Kafka identical" || fail "file from Kafka differs"
expect_exit 0 "explicit offset" "$BIN" --input-kafka-host "$B" --input-kafka-topic gor --input-kafka-offset 2 \
  --output-stdout --exit-after 1.5s
[ "$(count_records "$WORK/out")" -eq 1 ] && expect_in "$WORK/out" "POST /b" "offset 2 gives the last record" ||
  fail "offset 2 gave $(count_records "$WORK/out") records"
expect_exit 0 "newest offset" "$BIN" --input-kafka-host "$B" --input-kafka-topic gor --output-stdout --exit-after 1s
[ "$(count_records "$WORK/out")" -eq 0 ] && pass "offset -1 skips old records" || fail "offset -1 replayed old records"

# JSON format, both ways.
expect_exit 0 "record JSON" "$BIN" --input-file "$WORK/hand.gor" --output-kafka-host "$B" --output-kafka-topic json \
  --output-kafka-json-format
timeout 20 kcat -b "$B" -C -t json -o beginning -e -q > "$WORK/json.txt"
expect_in "$WORK/json.txt" '{"Req_URL":"/a","Req_Type":"1","Req_ID":"aaaaaaaaaaaaaaaaaaaaaaaa","Req_Ts":"1000000","Req_Method":"GET","Req_Headers":{"Host":"x"}}' "gor's JSON document"
expect_exit 0 "replay JSON" "$BIN" --input-kafka-host "$B" --input-kafka-topic json --input-kafka-json-format \
  --input-kafka-offset -2 --output-stdout --exit-after 1.5s
expect_in "$WORK/out" $'1 aaaaaaaaaaaaaaaaaaaaaaaa 1000000\nGET /a HTTP/1.1\r\nHost: x\r\n\r\n' "JSON rebuilt as a request"
[ "$(count_records "$WORK/out")" -eq 3 ] && pass "3 JSON records replayed" || fail "JSON replay: $(count_records "$WORK/out") records"
# Not gor records: counted drops, one line each, no crash.
printf 'garbage\n{"Req_Type":1}\n' | timeout 10 kcat -b "$B" -P -t json
expect_exit 0 "malformed JSON is dropped" "$BIN" --input-kafka-host "$B" --input-kafka-topic json --input-kafka-json-format \
  --input-kafka-offset -2 --output-null --exit-after 1.5s
expect_in "$WORK/err" "skipped record at partition 0 offset 3: invalid JSON" "malformed record named"
expect_in "$WORK/err" "drops=2" "malformed records counted"

# Several partitions: every one is consumed.
"$BIN" --input-dummy --output-file "$WORK/dummy.gor" --output-file-append --exit-after 3.2s 2> /dev/null
n=$(count_records "$WORK/dummy.gor")
expect_exit 0 "record to 3 partitions" "$BIN" --input-file "$WORK/dummy.gor|1000%" --output-kafka-host "$B" --output-kafka-topic multi
expect_exit 0 "replay 3 partitions" "$BIN" --input-kafka-host "$B" --input-kafka-topic multi --input-kafka-offset -2 \
  --output-stdout --exit-after 2s
[ "$n" -gt 0 ] && [ "$(count_records "$WORK/out")" -eq "$n" ] && pass "all $n records from 3 partitions" ||
  fail "3 partitions: $(count_records "$WORK/out") of $n"

# SIGINT: what the output accepted is delivered before exit.
"$BIN" --input-dummy --output-kafka-host "$B" --output-kafka-topic sig --stats > /dev/null 2> "$WORK/sig.err" &
pid=$!
sleep 2.5
kill -INT $pid
wait $pid && pass "SIGINT exits 0" || fail "SIGINT exit code $?"
delivered=$(grep -o 'delivered=[0-9]*' "$WORK/sig.err" | tail -1 | cut -d= -f2)
inkafka=$(timeout 20 kcat -b "$B" -C -t sig -o beginning -e -q -f 'x\n' | wc -l)
[ -n "$delivered" ] && [ "$delivered" -ge 2 ] && [ "$delivered" -eq "$inkafka" ] &&
  pass "after SIGINT Kafka holds the $delivered delivered records" || fail "SIGINT: delivered '$delivered', in Kafka $inkafka"

# Errors: one line naming the plugin, non-zero exit, no hang.
expect_exit 1 "unreachable output broker" "$BIN" --input-file "$WORK/hand.gor" --output-kafka-host 127.0.0.1:1 --output-kafka-topic t
expect_in "$WORK/err" "output-kafka-host(127.0.0.1:1): cannot reach Kafka brokers '127.0.0.1:1'" "unreachable output named"
expect_exit 1 "unreachable input broker" "$BIN" --input-kafka-host 127.0.0.1:1 --input-kafka-topic t --output-null
expect_in "$WORK/err" "input-kafka-host(127.0.0.1:1): cannot reach Kafka brokers '127.0.0.1:1'" "unreachable input named"
expect_exit 2 "offset below -2" "$BIN" --input-kafka-host "$B" --input-kafka-topic gor --input-kafka-offset -3 --output-null
expect_in "$WORK/err" "--input-kafka-offset '-3'" "bad offset named"
expect_exit 2 "host without topic" "$BIN" --input-dummy --output-kafka-host "$B"
expect_in "$WORK/err" "needs --output-kafka-topic" "missing topic explained"
expect_exit 2 "client cert without key" "$BIN" --input-dummy --output-kafka-host "$B" --output-kafka-topic t \
  --kafka-tls-client-cert "$WORK/hand.gor"
expect_in "$WORK/err" "needs --kafka-tls-client-key" "missing key explained"
expect_exit 2 "unknown SASL mechanism" "$BIN" --input-kafka-host "$B" --input-kafka-topic t --input-kafka-use-sasl \
  --input-kafka-mechanism GSSAPI --output-null
expect_in "$WORK/err" "--input-kafka-mechanism 'GSSAPI'" "bad mechanism named"

exec 7>&-
finish
