#!/usr/bin/env bash
# Every committed pcap (real captures of curl, ab, python clients against real servers): the
# pcap_file engine finds exactly the requests and final responses tshark's HTTP dissector finds
# (method, URI, status; same counts, nothing invented).
. "$(dirname "$0")/../support/cli_lib.sh"
command -v tshark >/dev/null || { fail "tshark missing (scripts/bootstrap.sh installs it)"; finish; }
shopt -s nullglob
pcaps=("$SRC"/tests/data/pcap/*.pcap "$SRC"/tests/data/pcap/*.pcapng)
[ ${#pcaps[@]} -gt 0 ] || { fail "no pcaps in tests/data/pcap"; finish; }
for pcap in "${pcaps[@]}"; do
  name=$(basename "$pcap")
  ports=$(tshark -r "$pcap" -Y 'tcp.flags.syn==1 && tcp.flags.ack==0' -T fields -e tcp.dstport 2>/dev/null | sort -u)
  [ -n "$ports" ] || ports=$(tshark -r "$pcap" -T fields -e tcp.dstport 2>/dev/null | sort -n | uniq -c | sort -rn | head -1 | awk '{print $2}')
  decode=()
  for p in $ports; do decode+=(-d "tcp.port==$p,http"); done
  # Pipelined messages in one frame come as one line with '|'-joined fields: split them.
  tshark -r "$pcap" "${decode[@]}" -o http.desegment_body:TRUE -Y http.request -T fields -E 'aggregator=|' \
    -e http.request.method -e http.request.uri 2>/dev/null |
    awk -F'\t' '{n=split($1,m,"|"); split($2,u,"|"); for(i=1;i<=n;i++) print m[i] "\t" u[i]}' | sort > "$WORK/t_req"
  tshark -r "$pcap" "${decode[@]}" -o http.desegment_body:TRUE -Y http.response -T fields -E 'aggregator=|' \
    -e http.response.code 2>/dev/null | tr '|' '\n' | awk '$1 >= 200' | sort > "$WORK/t_resp"
  "$BIN" --input-raw "$pcap:0" --input-raw-engine pcap_file --input-raw-track-response --output-stdout \
    > "$WORK/c.gor" 2> "$WORK/c.err" || { fail "$name: coreplay failed: $(cat "$WORK/c.err")"; continue; }
  # The line after each meta line is the start line.
  awk '/^1 [0-9a-f]+ [0-9]+ /{getline l; split(l, f, " "); print f[1] "\t" f[2]}' "$WORK/c.gor" | sort > "$WORK/c_req"
  awk '/^2 [0-9a-f]+ [0-9]+ /{getline l; split(l, f, " "); if (f[2] >= 200) print f[2]}' "$WORK/c.gor" | sort > "$WORK/c_resp"
  if diff -q "$WORK/t_req" "$WORK/c_req" >/dev/null && diff -q "$WORK/t_resp" "$WORK/c_resp" >/dev/null; then
    pass "$name: $(wc -l < "$WORK/c_req") requests, $(wc -l < "$WORK/c_resp") responses, as tshark"
  else
    fail "$name: differs from tshark: requests $(wc -l < "$WORK/t_req") vs $(wc -l < "$WORK/c_req"), responses $(wc -l < "$WORK/t_resp") vs $(wc -l < "$WORK/c_resp")"
    diff "$WORK/t_req" "$WORK/c_req" | head -5
    diff "$WORK/t_resp" "$WORK/c_resp" | head -5
  fi
done
finish
