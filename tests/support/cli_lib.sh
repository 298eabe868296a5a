# Shared by tests/cli/*.sh: each script gets the coreplay binary as $1.
set -u
BIN=${1:?usage: $0 path/to/coreplay}
SRC=${COREPLAY_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
WORK=$(mktemp -d /tmp/coreplay-cli.XXXXXX)
trap 'rm -rf "$WORK"; jobs -p | xargs -r kill 2>/dev/null' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
# expect_exit CODE NAME CMD...: runs CMD, checks its exit code; output in $WORK/out, $WORK/err
expect_exit() {
  local want=$1 name=$2; shift 2
  timeout 60 "$@" >"$WORK/out" 2>"$WORK/err"
  local got=$?
  if [ "$got" -ne "$want" ]; then fail "$name: exit $got, wanted $want; stderr: $(head -c 400 "$WORK/err")"; return 1; fi
  pass "$name"
}
expect_in() {  # expect_in FILE TEXT NAME
  if grep -qF -- "$2" "$1"; then pass "$3"; else fail "$3: '$2' not in $(basename "$1"): $(head -c 400 "$1")"; fi
}
count_records() { grep -c $'^\xF0\x9F\x90\xB5\xF0\x9F\x99\x88\xF0\x9F\x99\x89$' "$1" || true; }
# wait_records FILE N: until FILE holds at least N records (at most 10 s); false if it never does.
wait_records() {
  for _ in $(seq 200); do
    [ -f "$1" ] && [ "$(count_records "$1")" -ge "$2" ] && return 0
    sleep 0.05
  done
  return 1
}
# wait_port FILE SED_EXPR: the port a starting process prints into FILE (SED_EXPR extracts it),
# waiting up to 5 s; prints nothing if it never comes.
wait_port() {
  local port=
  for _ in $(seq 100); do
    port=$(sed -n "$2" "$1" | head -1)
    [ -n "$port" ] && { echo "$port"; return 0; }
    sleep 0.05
  done
  return 1
}
finish() { [ "$failures" -eq 0 ] && { echo "all passed"; exit 0; }; echo "$failures failed"; exit 1; }
