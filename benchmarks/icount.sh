#!/usr/bin/env bash
# Count the instructions each Lua benchmark executes under valgrind's callgrind tool
# (the "refs" line: every guest instruction of the whole process, including start-up,
# recording and compiling traces and the compiled code), check that the outputs agree,
# and write benchmarks/ICOUNT.md (tables, ratios, geometric means, verdict) and
# benchmarks/icount.json (raw data).  Instruction counts are repeatable to within a
# small fraction of a percent on a noisy shared machine, where wall-clock times drift by
# ±15-25%, so they are the figure of record for small differences.
#
#   interp-example --no-jit   ("nojit")
#   interp-example            ("jit")
#   lua5.4                    ("lua54", reference output)
#   luajit                    ("luajit", not measured by default: see ICOUNT.md)
#
# Usage: benchmarks/icount.sh [options] [BENCHMARK...]
#   --size NAME=N      override the size argument of one benchmark (repeatable);
#                      also SIZE_<name>=N in the environment.  Default sizes are reduced
#                      (about 1/50 of compare.sh's work, since callgrind is ~50x slower)
#   --default-sizes    run every benchmark at its own default size (what compare.sh
#                      runs; ~50x longer under callgrind); --size still overrides
#   --impls LIST       comma-separated subset of: nojit,jit,lua54,luajit
#                      (default nojit,jit,lua54)
#   --jobs N           callgrind runs in parallel (default: nproc)
#   --repeat N         run every measurement N times (default 1); with N >= 2 the
#                      report shows the largest relative difference between repeats
#   --tolerance PCT    JIT/no-JIT ratios up to 1 + PCT/100 count as "not slower" (default
#                      0: strict, any excess beyond the repeat-to-repeat difference counts)
#   --no-build         do not run `cargo build --release -p interp-example` first
#   --note TEXT        add a note at the top of ICOUNT.md
#   --timeout SECONDS  per-run limit under valgrind (default 1800); over it = failure
#   --out DIR          where ICOUNT.md and icount.json go (default benchmarks/)
# Environment: INTERP_EXAMPLE=/path/to/interp-example overrides the binary (default
# $CARGO_TARGET_DIR/release/interp-example, or target/release/interp-example);
# LUA54, LUAJIT override the reference interpreters; VALGRIND the valgrind binary.
#
# Exit status: 0 when everything ran (whatever the verdict), 1 when some run failed or
# printed something different from lua5.4, 2 on a usage error or missing valgrind.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root" || exit 2

build=1
timeout_s=1800
note=""
outdir="$here"
impls="nojit,jit,lua54"
jobs=$(nproc 2>/dev/null || echo 2)
repeat=1
tolerance=0
default_sizes=0
declare -A size_override=()
only=()
while [ $# -gt 0 ]; do
  case "$1" in
    --size) size_override[${2%%=*}]=${2#*=}; shift ;;
    --size=*) v=${1#--size=}; size_override[${v%%=*}]=${v#*=} ;;
    --default-sizes) default_sizes=1 ;;
    --impls) impls=$2; shift ;;
    --impls=*) impls=${1#--impls=} ;;
    --jobs|-j) jobs=$2; shift ;;
    --jobs=*) jobs=${1#--jobs=} ;;
    --repeat) repeat=$2; shift ;;
    --repeat=*) repeat=${1#--repeat=} ;;
    --tolerance) tolerance=$2; shift ;;
    --tolerance=*) tolerance=${1#--tolerance=} ;;
    --no-build) build=0 ;;
    --note) note=$2; shift ;;
    --note=*) note=${1#--note=} ;;
    --timeout) timeout_s=$2; shift ;;
    --timeout=*) timeout_s=${1#--timeout=} ;;
    --out) outdir=$2; shift ;;
    --out=*) outdir=${1#--out=} ;;
    -h|--help) sed -n '2,37p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "icount.sh: unknown option $1" >&2; exit 2 ;;
    *) only+=("${1%.lua}") ;;
  esac
  shift
done
for n in "$jobs" "$repeat" "$timeout_s"; do
  case "$n" in ''|*[!0-9]*|0) echo "icount.sh: --jobs, --repeat and --timeout take a positive integer (got '$n')" >&2; exit 2 ;; esac
done
case "$tolerance" in ''|*[!0-9.]*) echo "icount.sh: --tolerance takes a percentage such as 0.5 (got '$tolerance')" >&2; exit 2 ;; esac

VALGRIND=${VALGRIND:-valgrind}
if ! command -v "$VALGRIND" >/dev/null 2>&1; then
  echo "icount.sh: valgrind not found ('$VALGRIND'); install it (apt-get install valgrind) or set VALGRIND=/path/to/valgrind" >&2
  exit 2
fi

# benchmark name -> reduced size (roughly 1/50 of the default work)
declare -A small_size=(
  [binary_trees]=12 [deltablue]=200 [fannkuch_redux]=8 [fib]=27 [havlak]=3 [json]=300
  [knucleotide]=80000 [loop_sum]=3000000 [mandelbrot]=300 [nbody]=50000 [queens]=10
  [richards]=40 [sieve]=200000 [spectral_norm]=200
)

LUA54=${LUA54:-lua5.4}
LUAJIT=${LUAJIT:-luajit}
target_dir=${CARGO_TARGET_DIR:-$root/target}
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac
INTERP=${INTERP_EXAMPLE:-$target_dir/release/interp-example}

IFS=, read -r -a impl_list <<<"$impls"
for i in "${impl_list[@]}"; do
  case "$i" in nojit|jit|lua54|luajit) ;; *) echo "icount.sh: unknown implementation '$i' (nojit,jit,lua54,luajit)" >&2; exit 2 ;; esac
done
ordered=()
for k in lua54 luajit nojit jit; do
  for i in "${impl_list[@]}"; do [ "$i" = "$k" ] && ordered+=("$k"); done
done
[ ${#ordered[@]} -gt 0 ] || { echo "icount.sh: --impls is empty" >&2; exit 2; }

if [ ${#only[@]} -gt 0 ]; then names=("${only[@]}"); else
  names=(); for f in benchmarks/lua/*.lua; do names+=("$(basename "$f" .lua)"); done
fi
for name in "${names[@]}"; do
  [ -f "benchmarks/lua/$name.lua" ] || { echo "icount.sh: no benchmark benchmarks/lua/$name.lua" >&2; exit 2; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$outdir" || exit 2

build_log=""
if [ $build -eq 1 ] && [[ " ${ordered[*]} " == *" nojit "* || " ${ordered[*]} " == *" jit "* ]] && [ -z "${INTERP_EXAMPLE:-}" ]; then
  echo "== cargo build --release -p interp-example"
  cargo build --release -p interp-example >"$tmp/build.log" 2>&1
  brc=$?
  tail -n 3 "$tmp/build.log"
  if [ $brc -ne 0 ]; then build_log="release build of interp-example failed (exit $brc)"; fi
fi

impl_cmd() {
  case "$1" in
    nojit) echo "$INTERP --no-jit" ;;
    jit) echo "$INTERP" ;;
    lua54) echo "$LUA54" ;;
    luajit) echo "$LUAJIT" ;;
  esac
}

size_of() {
  local name=$1 env_name="SIZE_$1" size=${small_size[$1]:-}
  [ "$default_sizes" = 1 ] && size=""
  [ -n "${!env_name:-}" ] && size=${!env_name}
  [ -n "${size_override[$name]:-}" ] && size=${size_override[$name]}
  echo "$size"
}

# One measurement: benchmark $1, implementation $2, repetition $3.  Writes
# $tmp/$1.$2.$3.{out,err,vg,rc,ir}.  Valgrind's own messages go to the .vg file
# (--log-file), so the program's stdout and stderr are untouched.
run_one() {
  local name=$1 impl=$2 rep=$3 size cmd exe base
  size=$(size_of "$name")
  cmd="$(impl_cmd "$impl") benchmarks/lua/$name.lua${size:+ $size}"
  exe=${cmd%% *}
  base="$tmp/$name.$impl.$rep"
  if ! command -v "$exe" >/dev/null 2>&1 && [ ! -x "$exe" ]; then
    echo missing >"$base.rc"; return
  fi
  # shellcheck disable=SC2086  # $cmd is a command line split on purpose
  ( timeout "$timeout_s" "$VALGRIND" --tool=callgrind --callgrind-out-file=/dev/null \
      --log-file="$base.vg" $cmd >"$base.out" 2>"$base.err" </dev/null; echo $? >"$base.rc" ) 2>/dev/null
  # "==123== Collected : 123456789" is callgrind's refs total (the "I refs" line of
  # its summary is printed in the same log)
  grep -m1 -E '(Collected|refs) *: *[0-9,]+' "$base.vg" | sed -E 's/.*: *//; s/,//g' >"$base.ir"
}

# the work list, longest-running implementations first so that the pool drains evenly
units=()
for rep in $(seq "$repeat"); do
  for name in "${names[@]}"; do
    for impl in jit nojit lua54 luajit; do
      [[ " ${ordered[*]} " == *" $impl "* ]] && units+=("$name $impl $rep")
    done
  done
done
echo "== ${#units[@]} callgrind runs, $jobs at a time (valgrind: $("$VALGRIND" --version))"
start=$(date +%s)
load_before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)
running=0
done_n=0
for u in "${units[@]}"; do
  if [ $running -ge "$jobs" ]; then
    wait -n; running=$((running - 1)); done_n=$((done_n + 1))
  fi
  # shellcheck disable=SC2086  # $u is "name impl rep"
  run_one $u &
  running=$((running + 1))
  printf '   started %-32s (%d/%d)\n' "$u" "$((done_n + running))" "${#units[@]}"
done
wait
elapsed=$(( $(date +%s) - start ))
load_after=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)

# Collect: name size impl rep status instructions note
data="$tmp/data.tsv"
: >"$data"
failed=0
for name in "${names[@]}"; do
  size=$(size_of "$name")
  shown_size=${size:-default}
  for rep in $(seq "$repeat"); do
    ref=""
    # reference output: lua5.4's (under valgrind) when measured, else a native lua5.4 run
    if [ -f "$tmp/$name.lua54.$rep.rc" ] && [ "$(cat "$tmp/$name.lua54.$rep.rc")" = 0 ]; then
      ref="$tmp/$name.lua54.$rep.out"
    elif [ ! -f "$tmp/ref.$name" ] && command -v "$LUA54" >/dev/null 2>&1; then
      # shellcheck disable=SC2086
      if timeout "$timeout_s" "$LUA54" "benchmarks/lua/$name.lua" $size >"$tmp/ref.$name" 2>/dev/null </dev/null; then
        ref="$tmp/ref.$name"
      fi
    elif [ -s "$tmp/ref.$name" ]; then
      ref="$tmp/ref.$name"
    fi
    for impl in "${ordered[@]}"; do
      base="$tmp/$name.$impl.$rep"
      rc=$(cat "$base.rc" 2>/dev/null || echo "?")
      ir=$(cat "$base.ir" 2>/dev/null)
      status=ok; why=""
      if [ "$rc" = missing ]; then
        status=missing; why="not found: $(impl_cmd "$impl" | cut -d' ' -f1)"
      elif [ "$rc" != 0 ]; then
        status=failed
        if [ "$rc" = 124 ]; then why="timeout after ${timeout_s}s under valgrind"
        elif [ "$rc" -gt 128 ] 2>/dev/null; then why="crashed (signal $((rc - 128)))"
        else why="exit status $rc"; fi
        msg=$(head -n 1 "$base.err" 2>/dev/null | cut -c1-120 | tr '\t' ' ')
        why="$why${msg:+: $msg}"
      elif [ -z "$ir" ]; then
        status=failed; why="no instruction count in valgrind's log: $(grep -m1 -v '^==[0-9]*== *$' "$base.vg" | cut -c1-120 | tr '\t' ' ')"
      elif [ -n "$ref" ] && [ "$ref" != "$base.out" ] && ! cmp -s "$ref" "$base.out"; then
        status=wrong
        line=$(diff "$ref" "$base.out" | grep -m1 '^>' | cut -c1-100 | tr '\t' ' ')
        why="output differs from lua5.4 (first differing line: ${line#> })"
      elif [ -z "$ref" ]; then
        why="output not checked (no lua5.4 output)"
      fi
      [ "$status" = ok ] || [ "$status" = missing ] || failed=1
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$shown_size" "$impl" "$rep" "$status" "$ir" "$why" >>"$data"
    done
  done
done

cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //')
# shellcheck disable=SC1091
os=$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")
versions=""
for impl in "${ordered[@]}"; do
  case "$impl" in
    lua54) versions="$versions${versions:+, }$("$LUA54" -v 2>&1 | head -n 1 | awk '{print $1, $2}')" ;;
    luajit) versions="$versions${versions:+, }$("$LUAJIT" -v 2>&1 | head -n 1 | awk '{print $1, $2}')" ;;
  esac
done
commit=$(git rev-parse --short HEAD 2>/dev/null)
dirty=""
# (changes to benchmarks/ and to Markdown files do not change the binary)
if git status --porcelain --untracked-files=no 2>/dev/null | grep -v ' benchmarks/' | grep -qv '\.md$'; then
  dirty="uncommitted changes outside benchmarks/"
fi
nproc_n=$(nproc)
kernel=$(uname -r)
vg_version=$("$VALGRIND" --version)
date_utc=$(date -u '+%Y-%m-%d %H:%M UTC')
export IC_CPU="$cpu" IC_NPROC="$nproc_n" IC_OS="$os" IC_KERNEL="$kernel" IC_VERSIONS="$versions" \
  IC_VALGRIND="$vg_version" IC_COMMIT="$commit" IC_DIRTY="$dirty" \
  IC_DATE="$date_utc" IC_NOTE="$note" IC_BUILD="$build_log" IC_INTERP="$INTERP" \
  IC_JOBS="$jobs" IC_REPEAT="$repeat" IC_TOLERANCE="$tolerance" IC_ELAPSED="$elapsed" \
  IC_LOAD="before: $load_before; after: $load_after" IC_IMPLS="${ordered[*]}"
python3 "$here/icount_report.py" "$data" "$outdir/icount.json" "$outdir/ICOUNT.md" || exit 1
echo "wrote $outdir/ICOUNT.md, $outdir/icount.json (${elapsed}s)"
exit $failed
