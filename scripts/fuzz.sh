#!/usr/bin/env bash
# Build the libFuzzer harnesses (tests/fuzz, CMake option FLANVK_FUZZ, clang, in build-fuzz/) and run
# each for SECONDS (default 60), one after the other, one process each.
#   scripts/fuzz.sh [SECONDS] [HARNESS ...]      e.g. scripts/fuzz.sh 3600 (the long run), scripts/fuzz.sh 30 safetensors q8
# Per harness: new inputs go to build-fuzz/fuzz-corpus/NAME (seeded from tests/fuzz/corpus/NAME and
# tests/fuzz/regressions/NAME, read only), crashes, leaks, timeouts and out-of-memory inputs to
# build-fuzz/fuzz-artifacts/NAME/, the log to build-fuzz/fuzz-logs/NAME.log. Prints executions,
# exec/s, coverage (edges, features), peak RSS and the result; exits 1 if any harness failed.
# Limits (environment): FLANVK_FUZZ_RSS_MB (2048), FLANVK_FUZZ_TIMEOUT (10 s per input),
# FLANVK_FUZZ_JOBS (build jobs, 2), FLANVK_FUZZ_RUNS (stop a harness after this many executions even
# if SECONDS have not passed; the long run is `FLANVK_FUZZ_RUNS=10000000 scripts/fuzz.sh 3600`). A found input: copy it into tests/fuzz/regressions/NAME/ once the
# parser is fixed; ctest (fuzz_NAME) replays it in the ordinary and sanitizer builds.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
[ $# -gt 0 ] && shift
build=${FLANVK_FUZZ_BUILD:-build-fuzz}
rss=${FLANVK_FUZZ_RSS_MB:-2048}
tmo=${FLANVK_FUZZ_TIMEOUT:-10}
CC=${FLANVK_FUZZ_CC:-clang} cmake -S . -B "$build" -DFLANVK_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"${FLANVK_FUZZ_JOBS:-2}" >/dev/null
if [ $# -gt 0 ]; then names=("$@"); else
  # every harness built (FLANVK_FUZZ_HARNESSES in tests/fuzz/CMakeLists.txt), in that order
  mapfile -t names < <(sed -n '/^set(FLANVK_FUZZ_HARNESSES/,/)/p' tests/fuzz/CMakeLists.txt | sed '1d;s/)//' | tr ' ' '\n' | sed '/^$/d')
fi
dict_of() {
  case $1 in
    safetensors | st_index | q8 | train_state | peft) echo tests/fuzz/dict/safetensors.dict ;;
    config | tokenizer_json | template | mixture | niv2 | bbh | jsonl | request | serve_request | mmlu | mgsm) echo tests/fuzz/dict/json.dict ;;
  esac
}
mkdir -p "$build/fuzz-logs"
# scratch directories a crashed harness left behind (tests/fuzz/fuzz_util.h; a clean exit removes its own)
for d in /dev/shm/flanvk-fuzz-* "${TMPDIR:-/tmp}"/flanvk-fuzz-*; do
  [ -d "$d" ] && ! kill -0 "${d##*-}" 2>/dev/null && rm -rf "$d"
done
printf '%-15s %12s %9s %7s %7s %8s  %s\n' harness executions exec/s edges features rss_mb result
failed=0
for n in "${names[@]}"; do
  bin="$build/tests/fuzz/fuzz_$n"
  [ -x "$bin" ] || { echo "no harness fuzz_$n"; failed=1; continue; }
  work="$build/fuzz-corpus/$n" art="$build/fuzz-artifacts/$n/" log="$build/fuzz-logs/$n.log"
  mkdir -p "$work" "$art"
  dirs=("$work")
  for d in "tests/fuzz/corpus/$n" "tests/fuzz/regressions/$n"; do [ -d "$d" ] && dirs+=("$d"); done
  dict=$(dict_of "$n")
  args=(-max_total_time="$secs" -rss_limit_mb="$rss" -malloc_limit_mb="$rss" -timeout="$tmo" -print_final_stats=1
        -artifact_prefix="$art")
  [ -n "$dict" ] && args+=(-dict="$dict")
  [ -n "${FLANVK_FUZZ_RUNS:-}" ] && args+=(-runs="$FLANVK_FUZZ_RUNS")
  rc=0
  FLANVK_LOG=error "$bin" "${args[@]}" "${dirs[@]}" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  peak=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  if [ $rc -eq 0 ]; then result=ok; else
    result="FAILED ($(grep -o -m1 -E 'ERROR: [A-Za-z]+: [a-z-]+|ERROR: libFuzzer: [a-z-]+|SUMMARY: [A-Za-z]+: [a-z-]+' "$log" || echo "exit $rc")); see $log, $art"
    failed=1
  fi
  printf '%-15s %12s %9s %7s %7s %8s  %s\n' "$n" "${execs:-?}" "${speed:-?}" "${cov:-?}" "${ft:-?}" "${peak:-?}" "$result"
done
exit $failed
