#!/usr/bin/env bash
# Run the Lua benchmarks under four implementations, check that their outputs agree,
# and write benchmarks/RESULTS.md (tables, ratios, geometric means, machine) and
# benchmarks/results.svg (chart), plus the raw data in benchmarks/results.json.
#
#   interp-example --no-jit   ("interp (no JIT)")
#   interp-example            ("interp (JIT)")
#   lua5.4                    (reference)
#   luajit
#
# Usage: benchmarks/compare.sh [options] [BENCHMARK...]
#   --quick            small sizes and 1 run each (a smoke test of the whole pipeline)
#   --runs N           timed runs per benchmark and implementation (default 3); the
#                      median is reported
#   --size NAME=N      override the size argument of one benchmark (repeatable);
#                      also SIZE_<name>=N in the environment
#   --impls LIST       comma-separated subset of: nojit,jit,lua54,luajit (default all)
#   --no-build         do not run `cargo build --release -p interp-example` first
#   --note TEXT        add a note at the top of RESULTS.md (e.g. "preliminary: ...")
#   --timeout SECONDS  per-run limit (default 300); a run over the limit is a failure
#   --out DIR          where RESULTS.md, results.json and results.svg go (default benchmarks/)
# Environment: INTERP_EXAMPLE=/path/to/interp-example overrides the binary (default
# $CARGO_TARGET_DIR/release/interp-example, or target/release/interp-example);
# LUA54, LUAJIT override the reference interpreters.
#
# Timing uses hyperfine (`--runs N --export-json`, no shell) when installed, else
# repeated runs timed by the script; every implementation is first run once untimed
# and its standard output compared with lua5.4's.  An implementation that crashes,
# exits non-zero, exceeds the time limit or prints something different is reported
# as such in the table (and excluded from ratios and geometric means).
#
# interp-example without and with the JIT are timed together by interleave.py, in N
# rounds alternating which mode goes first, so that the machine's drift affects both
# alike.  The "JIT on never slower than JIT off" target counts a benchmark as slower
# only when every JIT run is slower than every no-JIT run and the median per-round
# ratio exceeds 1 by more than the larger relative spread (max-min)/median of the two
# (report.py, jit_vs_nojit); use --runs 3 or more for a verdict.  When icount.json
# (benchmarks/icount.sh: instruction counts) is in the output directory or in
# benchmarks/, RESULTS.md quotes its verdict.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root" || exit 2

runs=3
quick=0
build=1
timeout_s=300
note=""
outdir="$here"
impls="nojit,jit,lua54,luajit"
declare -A size_override=()
only=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1; runs=1 ;;
    --runs) runs=$2; shift ;;
    --runs=*) runs=${1#--runs=} ;;
    --size) size_override[${2%%=*}]=${2#*=}; shift ;;
    --size=*) v=${1#--size=}; size_override[${v%%=*}]=${v#*=} ;;
    --impls) impls=$2; shift ;;
    --impls=*) impls=${1#--impls=} ;;
    --no-build) build=0 ;;
    --note) note=$2; shift ;;
    --note=*) note=${1#--note=} ;;
    --timeout) timeout_s=$2; shift ;;
    --timeout=*) timeout_s=${1#--timeout=} ;;
    --out) outdir=$2; shift ;;
    --out=*) outdir=${1#--out=} ;;
    -h|--help) sed -n '2,39p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "compare.sh: unknown option $1" >&2; exit 2 ;;
    *) only+=("${1%.lua}") ;;
  esac
  shift
done
mkdir -p "$outdir"

# benchmark name -> quick size (the default size is each program's own default)
declare -A quick_size=(
  [binary_trees]=10 [deltablue]=100 [fannkuch_redux]=7 [fib]=25 [havlak]=2 [json]=100
  [knucleotide]=20000 [loop_sum]=1000000 [mandelbrot]=100 [nbody]=10000 [queens]=8
  [richards]=5 [sieve]=100000 [spectral_norm]=100
)

LUA54=${LUA54:-lua5.4}
LUAJIT=${LUAJIT:-luajit}
target_dir=${CARGO_TARGET_DIR:-$root/target}
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac
INTERP=${INTERP_EXAMPLE:-$target_dir/release/interp-example}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

build_log=""
if [ $build -eq 1 ] && [[ ",$impls," == *",nojit,"* || ",$impls," == *",jit,"* ]] && [ -z "${INTERP_EXAMPLE:-}" ]; then
  echo "== cargo build --release -p interp-example"
  cargo build --release -p interp-example >"$tmp/build.log" 2>&1
  brc=$?
  tail -n 3 "$tmp/build.log"
  if [ $brc -ne 0 ]; then build_log="release build of interp-example failed (exit $brc)"; fi
fi
have_hyperfine=0
# time nojit and jit in interleaved rounds when both are measured (see interleave.py)
interleave=0
[[ ",$impls," == *",nojit,"* && ",$impls," == *",jit,"* ]] && interleave=1
command -v hyperfine >/dev/null 2>&1 && have_hyperfine=1

if [ ${#only[@]} -gt 0 ]; then names=("${only[@]}"); else
  names=(); for f in benchmarks/lua/*.lua; do names+=("$(basename "$f" .lua)"); done
fi

# impl key -> command prefix and label
impl_cmd() {
  case "$1" in
    nojit) echo "$INTERP --no-jit" ;;
    jit) echo "$INTERP" ;;
    lua54) echo "$LUA54" ;;
    luajit) echo "$LUAJIT" ;;
  esac
}
IFS=, read -r -a impl_list <<<"$impls"
# lua5.4 runs first: it is the reference output
ordered=()
for k in lua54 luajit nojit jit; do
  for i in "${impl_list[@]}"; do [ "$i" = "$k" ] && ordered+=("$k"); done
done

data="$tmp/data.tsv"   # name size impl status median min max mean runs note cpu(user+sys)
load_before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)
: >"$data"
for name in "${names[@]}"; do
  prog="benchmarks/lua/$name.lua"
  if [ ! -f "$prog" ]; then echo "compare.sh: no benchmark $prog" >&2; exit 2; fi
  size=""
  [ $quick -eq 1 ] && size=${quick_size[$name]:-}
  env_name="SIZE_$name"
  [ -n "${!env_name:-}" ] && size=${!env_name}
  [ -n "${size_override[$name]:-}" ] && size=${size_override[$name]}
  shown_size=$size
  if [ -z "$shown_size" ]; then
    d=$(grep -m1 -o 'arg\[1\]) or [0-9][0-9]*' "$prog" | awk '{print $NF}')
    shown_size="default${d:+ ($d)}"
  fi
  ref_out=""
  # nojit and jit are checked here but timed afterwards, together, in interleaved rounds
  pending=()
  unset pcmd pstatus pnotes
  declare -A pcmd=() pstatus=() pnotes=()
  for impl in "${ordered[@]}"; do
    cmd="$(impl_cmd "$impl") $prog${size:+ $size}"
    exe=${cmd%% *}
    printf '== %-15s %-7s ' "$name" "$impl"
    if ! command -v "$exe" >/dev/null 2>&1 && [ ! -x "$exe" ]; then
      echo "missing ($exe)"
      printf '%s\t%s\t%s\tmissing\t\t\t\t\t\t%s\n' "$name" "$shown_size" "$impl" "not found: $exe" >>"$data"
      continue
    fi
    # one untimed run to capture and verify the output
    # (in a subshell whose own stderr is discarded, so that bash's "Segmentation fault"
    # job report does not clutter the log; the status is passed back through a file)
    ( timeout "$timeout_s" $cmd >"$tmp/out" 2>"$tmp/err" </dev/null; echo $? >"$tmp/rc" ) 2>/dev/null
    rc=$(cat "$tmp/rc")
    if [ $rc -ne 0 ]; then
      if [ $rc -eq 124 ]; then why="timeout after ${timeout_s}s"; elif [ $rc -gt 128 ]; then why="crashed (signal $((rc - 128)))"; else why="exit status $rc"; fi
      msg=$(head -n 1 "$tmp/err" | cut -c1-120 | tr '\t' ' ')
      echo "FAILED: $why ${msg:+- $msg}"
      printf '%s\t%s\t%s\tfailed\t\t\t\t\t\t%s\n' "$name" "$shown_size" "$impl" "$why${msg:+: $msg}" >>"$data"
      continue
    fi
    status=ok
    notes=""
    if [ "$impl" = lua54 ]; then
      cp "$tmp/out" "$tmp/ref.$name"; ref_out="$tmp/ref.$name"
    elif [ -n "$ref_out" ] && ! cmp -s "$tmp/out" "$ref_out"; then
      status=wrong
      line=$(diff "$ref_out" "$tmp/out" | grep -m1 '^>' | cut -c1-100 | tr '\t' ' ')
      notes="output differs from lua5.4 (first differing line: ${line#> })"
    fi
    if [ $interleave -eq 1 ] && { [ "$impl" = nojit ] || [ "$impl" = jit ]; }; then
      pending+=("$impl"); pcmd[$impl]=$cmd; pstatus[$impl]=$status; pnotes[$impl]=$notes
      echo "output ok; timed below (interleaved)"
      continue
    fi
    # timed runs
    if [ $have_hyperfine -eq 1 ]; then
      if hyperfine -N --runs "$runs" --warmup 0 --export-json "$tmp/h.json" "timeout $timeout_s $cmd" >/dev/null 2>"$tmp/herr"; then
        read -r median min max mean cpu times_csv < <(python3 -c '
import json,sys
r=json.load(open(sys.argv[1]))["results"][0]
print(r["median"], r["min"], r["max"], r["mean"], r["user"] + r["system"], ",".join("%.6f" % t for t in r["times"]))' "$tmp/h.json")
        method=hyperfine
      else
        echo "FAILED during timing: $(head -n 1 "$tmp/herr")"
        printf '%s\t%s\t%s\tfailed\t\t\t\t\t\t%s\n' "$name" "$shown_size" "$impl" "failed during timed runs" >>"$data"
        continue
      fi
    else
      times=()
      cpu=""
      for _ in $(seq "$runs"); do
        s=$(date +%s.%N); timeout "$timeout_s" $cmd >/dev/null 2>&1 </dev/null; e=$(date +%s.%N)
        times+=("$(python3 -c "print($e - $s)")")
      done
      read -r median min max mean < <(python3 -c '
import statistics,sys
t=[float(x) for x in sys.argv[1:]]
print(statistics.median(t), min(t), max(t), statistics.mean(t))' "${times[@]}")
      times_csv=$(IFS=,; echo "${times[*]}")
      method=script
    fi
    printf '%.3fs %s\n' "$median" "${notes:+[$notes]}"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$shown_size" "$impl" "$status" "$median" "$min" "$max" "$mean" "$runs" "$notes" "$cpu" "$times_csv" "$method" >>"$data"
  done
  # interp-example without and with the JIT: $runs rounds, alternating which runs first
  if [ ${#pending[@]} -gt 0 ]; then
    printf '== %-15s %-7s ' "$name" "$(IFS=+; echo "${pending[*]}")"
    cmds=()
    for impl in "${pending[@]}"; do cmds+=("${pcmd[$impl]}"); done
    if ! python3 "$here/interleave.py" --runs "$runs" --timeout "$timeout_s" --json "$tmp/i.json" "${cmds[@]}" 2>"$tmp/ierr"; then
      echo "FAILED: interleave.py: $(head -n 1 "$tmp/ierr")"
      for impl in "${pending[@]}"; do
        printf '%s\t%s\t%s\tfailed\t\t\t\t\t\t%s\n' "$name" "$shown_size" "$impl" "timing script failed" >>"$data"
      done
      continue
    fi
    shown=""
    i=0
    for impl in "${pending[@]}"; do
      IFS=$'\t' read -r failed median min max mean cpu times_csv n < <(python3 -c '
import json,statistics,sys
r=json.load(open(sys.argv[1]))["results"][int(sys.argv[2])]
t=r["times"]
if r["failed"] or not t:
    print("\t".join([r["failed"] or "no runs"] + ["-"] * 7))
else:
    print("\t".join(["-"] + [repr(x) for x in (statistics.median(t), min(t), max(t), statistics.mean(t), statistics.mean(r["cpu"]))]
                     + [",".join("%.6f" % x for x in t), str(len(t))]))' "$tmp/i.json" "$i")
      i=$((i + 1))
      if [ "$failed" != "-" ]; then
        shown="$shown $impl FAILED during timing ($failed);"
        printf '%s\t%s\t%s\tfailed\t\t\t\t\t\t%s\n' "$name" "$shown_size" "$impl" "failed during timed runs: $failed" >>"$data"
        continue
      fi
      shown="$shown $impl $(printf '%.3f' "$median")s${pnotes[$impl]:+ [${pnotes[$impl]}]};"
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$shown_size" "$impl" "${pstatus[$impl]}" "$median" "$min" "$max" "$mean" "$n" "${pnotes[$impl]}" "$cpu" "$times_csv" interleaved >>"$data"
    done
    echo "${shown# }"
  fi
done

# machine description
cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //')
mem=$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo 2>/dev/null)
os=$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")
versions="$("$LUA54" -v 2>&1 | head -n 1 | awk '{print $1, $2}'), $("$LUAJIT" -v 2>&1 | head -n 1 | awk '{print $1, $2}')"
[ $have_hyperfine -eq 1 ] && hf=$(hyperfine --version) || hf="no hyperfine (script timing)"
commit=$(git rev-parse --short HEAD 2>/dev/null)
load_after=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)
nproc_n=$(nproc)
kernel=$(uname -r)
date_utc=$(date -u '+%Y-%m-%d %H:%M UTC')
export CMP_CPU="$cpu" CMP_NPROC="$nproc_n" CMP_MEM="$mem" CMP_OS="$os" CMP_KERNEL="$kernel" \
  CMP_VERSIONS="$versions" CMP_HYPERFINE="$hf" CMP_COMMIT="$commit" CMP_DATE="$date_utc" \
  CMP_RUNS="$runs" CMP_QUICK="$quick" CMP_NOTE="$note" CMP_BUILD="$build_log" CMP_INTERP="$INTERP" \
  CMP_LOAD="before: $load_before; after: $load_after" CMP_INTERLEAVED="$interleave"
# instruction counts (benchmarks/icount.sh), quoted in RESULTS.md when present
if [ -f "$outdir/icount.json" ]; then export CMP_ICOUNT_JSON="$outdir/icount.json"
elif [ -f "$here/icount.json" ]; then export CMP_ICOUNT_JSON="$here/icount.json"; fi
python3 "$here/report.py" "$data" "$outdir/results.json" "$outdir/RESULTS.md" || exit 1
python3 "$here/chart.py" "$outdir/results.json" "$outdir/results.svg" || exit 1
echo "wrote $outdir/RESULTS.md, $outdir/results.json, $outdir/results.svg"
