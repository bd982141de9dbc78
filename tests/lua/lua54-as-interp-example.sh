#!/usr/bin/env bash
# A stand-in for `interp-example` built on the reference interpreter, used to check the
# differential test harness itself (interp-example/tests/lua_differential.rs):
#   LUA_DIFF_BINARY=$PWD/tests/lua/lua54-as-interp-example.sh \
#     cargo test -p interp-example --test lua_differential
# It accepts and ignores interp-example's JIT flags, runs lua5.4 (or $LUA) on the rest
# of the command line, and rewrites the program-name prefix on standard error from
# "lua5.4: " to "interp-example: ".  The exit status is lua5.4's.
LUA=${LUA:-lua5.4}
while [ $# -gt 0 ]; do
  case "$1" in
    --no-jit|--jit-stats|--jit-dump|--jit-dump=*|--jit-threshold=*) shift ;;
    --jit-threshold) shift 2 ;;
    *) break ;;
  esac
done
prefix="$(basename "$LUA"): "
{ "$LUA" "$@" 2>&1 1>&3 3>&- | sed "s|^$prefix|interp-example: |" >&2; exit "${PIPESTATUS[0]}"; } 3>&1
