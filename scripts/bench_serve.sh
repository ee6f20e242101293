#!/usr/bin/env bash
# Benchmark `flanvk serve` (README "Serving", docs/PERFORMANCE.md): generated tokens/s and p50/p99
# request latency at concurrency 1, 4 and 16 (scripts/bench_serve.py), greedy answers of 32 tokens
# (ignore_eos) to prompts of ~20 tokens.
#   scripts/bench_serve.sh [--model DIR] [--build BUILD] [server options ...]
# Without --model: a flan-t5-small-shaped model with deterministic random weights (the reference
# case small_gated, written by BUILD/tests/det_model) and the bundled tokenizer.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build" model=""
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
work=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill -TERM $pid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
if [ -z "$model" ]; then
  FLANVK_SOURCE_DIR="$root" "$build/tests/det_model" small_gated "$work/m"
  cp "$root/assets/tokenizer/spiece.model" "$work/m/"
  model="$work/m"
fi
"$build/flanvk" serve --model "$model" --port 0 --max-batch 16 --quiet "${args[@]}" 2> "$work/err" &
pid=$!
port=""
for _ in $(seq 1 1500); do
  port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$work/err")
  [ -n "$port" ] && break
  kill -0 $pid 2>/dev/null || { cat "$work/err"; exit 1; }
  sleep 0.2
done
[ -n "$port" ] || { echo "the server did not start"; exit 1; }
/usr/bin/python3 "$root/scripts/bench_serve.py" --port "$port" ${BENCH_ARGS:-}
