#!/usr/bin/env bash
# Every committed pcap (real captures of curl, ab, wrk and python clients against nginx, a Beast
# server and python servers; tests/data/pcap/make_pcaps.sh): the pcap_file engine finds exactly
# the requests and final responses tshark's HTTP dissector finds, with the same method, URI,
# status and body bytes (de-chunked, still compressed); same counts, nothing invented.
# Where tshark is known to misread a capture, NAME.pcap.tshark-misreads says how and what a
# correct dissector gives instead: lines to remove from tshark's summary (-) and to add (+).
. "$(dirname "$0")/../support/cli_lib.sh"
command -v tshark >/dev/null || { fail "tshark missing (scripts/bootstrap.sh installs it)"; finish; }
summary="$SRC/tests/support/http_summary.py"
shopt -s nullglob
pcaps=("$SRC"/tests/data/pcap/*.pcap "$SRC"/tests/data/pcap/*.pcapng)
[ ${#pcaps[@]} -gt 0 ] || { fail "no pcaps in tests/data/pcap"; finish; }
for pcap in "${pcaps[@]}"; do
  name=$(basename "$pcap")
  ports=$(tshark -r "$pcap" -Y 'tcp.flags.syn==1 && tcp.flags.ack==0' -T fields -e tcp.dstport 2>/dev/null | sort -u)
  [ -n "$ports" ] || ports=$(tshark -r "$pcap" -T fields -e tcp.dstport 2>/dev/null | sort -n | uniq -c | sort -rn | head -1 | awk '{print $2}')
  decode=()
  for p in $ports; do decode+=(-d "tcp.port==$p,http"); done
  tshark -r "$pcap" "${decode[@]}" -o http.desegment_headers:TRUE -o http.desegment_body:TRUE \
    -o http.dechunk_body:TRUE -o http.decompress_body:FALSE -T pdml > "$WORK/t.pdml" 2>/dev/null ||
    { fail "$name: tshark failed"; continue; }
  python3 "$summary" pdml "$WORK/t.pdml" | sort > "$WORK/t_sum"
  misreads="$pcap.tshark-misreads"
  if [ -f "$misreads" ]; then
    # Each "-" line must still be in tshark's output: if a newer tshark reads it right, the
    # note is stale and must go.
    stale=0
    while IFS= read -r line; do
      grep -qxF -- "$line" "$WORK/t_sum" || { fail "$name: tshark no longer gives '$line': update $(basename "$misreads")"; stale=1; }
    done < <(sed -n 's/^- //p' "$misreads")
    [ "$stale" -eq 0 ] || continue
    { sed -n 's/^+ //p' "$misreads"
      awk 'NR == FNR { drop[$0]++; next } ($0 in drop) && drop[$0]-- > 0 { next } { print }' \
        <(sed -n 's/^- //p' "$misreads") "$WORK/t_sum"; } | sort > "$WORK/t_fixed"
    mv "$WORK/t_fixed" "$WORK/t_sum"
  fi
  "$BIN" --input-raw "$pcap:0" --input-raw-engine pcap_file --input-raw-track-response --output-stdout \
    > "$WORK/c.gor" 2> "$WORK/c.err" || { fail "$name: coreplay failed: $(cat "$WORK/c.err")"; continue; }
  python3 "$summary" gor "$WORK/c.gor" | sort > "$WORK/c_sum"
  req=$(grep -c '^request ' "$WORK/c_sum")
  resp=$(grep -c '^response ' "$WORK/c_sum")
  if [ "$req" -eq 0 ]; then
    fail "$name: no requests found"
  elif diff -q "$WORK/t_sum" "$WORK/c_sum" >/dev/null; then
    note=""
    [ -f "$misreads" ] && note=" (tshark's misreads corrected as $(basename "$misreads") says)"
    pass "$name: $req requests, $resp final responses, methods, URIs, statuses and body bytes as tshark$note"
  else
    fail "$name: differs from tshark: requests $(grep -c '^request ' "$WORK/t_sum") vs $req, responses $(grep -c '^response ' "$WORK/t_sum") vs $resp (< tshark, > coreplay)"
    diff "$WORK/t_sum" "$WORK/c_sum" | grep '^[<>]' | head -10
  fi
done
finish
