#!/usr/bin/env bash
# Record (or check) the expected results of the differential Lua test programs.
#
#   tests/lua/record.sh            re-record tests/lua/NAME.expected and NAME.status
#                                  for every standalone program tests/lua/NAME.lua
#   tests/lua/record.sh --check    re-run the reference interpreter and fail (exit 1,
#                                  listing the programs) if any recorded expectation is
#                                  stale or missing, or an expectation has no program
#   tests/lua/record.sh [--check] NAME...   only the named programs
#
# Each program is run from the repository root as `lua5.4 tests/lua/NAME.lua`, with
# standard input from tests/lua/NAME.stdin if that file exists, else /dev/null.
#   NAME.expected : exact standard output
#   NAME.status   : line 1 = exit status; line 2 = first line of standard error with the
#                   leading "lua5.4: " program-name prefix removed (empty if none)
# Helper modules that are not standalone programs live in tests/lua/lib/ and are not run.
# The reference interpreter can be overridden with LUA=/path/to/lua5.4 (the prefix
# removed is always "<basename of $LUA>: ").
set -u
LUA=${LUA:-lua5.4}
TIMEOUT=${LUA_RECORD_TIMEOUT:-120}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root" || exit 2

check=0
if [ "${1:-}" = "--check" ]; then check=1; shift; fi
if ! command -v "$LUA" >/dev/null 2>&1; then
  echo "record.sh: reference interpreter '$LUA' not found (apt-get install lua5.4)" >&2
  exit 2
fi
prefix="$(basename "$LUA"): "

if [ $# -gt 0 ]; then
  names=("$@")
else
  names=()
  for f in tests/lua/*.lua; do names+=("$(basename "$f" .lua)"); done
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run_one NAME OUTDIR: writes OUTDIR/NAME.expected and OUTDIR/NAME.status
run_one() {
  local name=$1 out=$2 input=/dev/null code first
  [ -f "tests/lua/$name.stdin" ] && input="tests/lua/$name.stdin"
  timeout "$TIMEOUT" "$LUA" "tests/lua/$name.lua" <"$input" >"$out/$name.expected" 2>"$tmp/$name.stderr"
  code=$?
  first=$(head -n 1 "$tmp/$name.stderr")
  first=${first#"$prefix"}
  printf '%s\n%s\n' "$code" "$first" >"$out/$name.status"
}

stale=()
for name in "${names[@]}"; do
  name=${name%.lua}; name=$(basename "$name")
  if [ ! -f "tests/lua/$name.lua" ]; then echo "record.sh: no program tests/lua/$name.lua" >&2; exit 2; fi
  if [ $check -eq 1 ]; then
    run_one "$name" "$tmp"
    if ! cmp -s "$tmp/$name.expected" "tests/lua/$name.expected" 2>/dev/null ||
       ! cmp -s "$tmp/$name.status" "tests/lua/$name.status" 2>/dev/null; then
      stale+=("$name")
    fi
  else
    run_one "$name" tests/lua
    printf '%-28s exit %s\n' "$name" "$(head -n 1 "tests/lua/$name.status")"
  fi
done

if [ $check -eq 1 ]; then
  if [ $# -eq 0 ]; then
    # expectations whose program was deleted or renamed
    for e in tests/lua/*.expected tests/lua/*.status; do
      [ -e "$e" ] || continue
      b=$(basename "$e"); b=${b%.*}
      [ -f "tests/lua/$b.lua" ] || stale+=("$b (orphaned $(basename "$e"))")
    done
  fi
  if [ ${#stale[@]} -gt 0 ]; then
    echo "record.sh --check: ${#stale[@]} stale or missing expectation(s) (re-run tests/lua/record.sh and review the diff):"
    for s in "${stale[@]}"; do echo "  $s"; done
    exit 1
  fi
  echo "record.sh --check: all ${#names[@]} recorded expectations are up to date ($("$LUA" -v 2>&1 | head -n 1))"
fi
