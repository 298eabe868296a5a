#!/usr/bin/env bash
# CPU that live capture costs, for two coreplay builds side by side (e.g. Asio's reactor on
# epoll, the default, and on io_uring: cmake -DCOREPLAY_IO_URING_REACTOR=ON). Needs root, nginx, wrk.
#   bench/capture/live_cpu.sh BIN_A BIN_B [rounds=3] [seconds=3]
# Per round, engine and binary: coreplay captures nginx on lo while `wrk -t2 -c20` runs; prints
# wrk's rate, what coreplay captured, and coreplay's CPU time (user+system) per 100k requests.
set -u
A=${1:?usage: $0 BIN_A BIN_B [rounds] [seconds]}; B=${2:?}; ROUNDS=${3:-3}; SECS=${4:-3}
. "$(dirname "$0")/../../tests/support/nginx_lib.sh"
WORK=$(mktemp -d)
start_nginx "$WORK/ng" || { echo "nginx did not start"; exit 1; }
trap 'stop_nginx "$WORK/ng"; rm -rf "$WORK"' EXIT
tick=$(getconf CLK_TCK)
printf "%-10s %-40s %10s %10s %14s\n" engine binary "wrk req/s" captured "CPU s/100k req"
for round in $(seq "$ROUNDS"); do
  for engine in libpcap af_packet; do
    for bin in "$A" "$B"; do
      "$bin" --input-raw "127.0.0.1:$NGINX_PORT" --input-raw-engine "$engine" --input-raw-track-response \
        --output-stdout > "$WORK/out.gor" 2> "$WORK/err" &
      pid=$!
      sleep 0.8
      wrk -t 2 -c 20 -d "${SECS}s" "http://127.0.0.1:$NGINX_PORT/x" > "$WORK/wrk.txt" 2>&1
      sleep 0.5
      read -r ut st < <(awk '{print $14, $15}' "/proc/$pid/stat")
      kill -INT $pid; wait $pid
      rate=$(awk '/^Requests\/sec:/ {print $2}' "$WORK/wrk.txt")
      total=$(awk '/requests in/ {print $1}' "$WORK/wrk.txt")
      got=$(grep -ac "^1 [0-9a-f]\{24\} " "$WORK/out.gor")
      cpu=$(awk -v u="$ut" -v s="$st" -v t="$tick" -v n="$got" 'BEGIN { printf "%.3f", (u + s) / t / n * 100000 }')
      printf "%-10s %-40s %10s %10s %14s\n" "$engine" "$bin" "$rate" "$got/$total" "$cpu"
    done
  done
done
