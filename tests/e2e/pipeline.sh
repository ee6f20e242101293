#!/usr/bin/env bash
# End to end, the Flan pipeline in small: pack the default mixture, train a tiny T5 a few steps on
# it, evaluate on a few BBH and MMLU items; each report must be valid JSON with every field filled.
set -euo pipefail
FLANVK=$1 CHECK=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export FLANVK_NO_PIPELINE_CACHE=1
"$FLANVK" mix --mixture "$root/assets/mixtures/default.json" --model "$root/assets/tokenizer" --out "$work/flan.pack" \
  --seq-len-in 128 --seq-len-out 64 --examples 120 2> "$work/err.txt"
"$FLANVK" train --config tiny --data "$work/flan.pack" --out "$work/model" --steps 3 --batch-size 4 \
  --tokenizer "$root/assets/tokenizer" 2>> "$work/err.txt"
"$FLANVK" eval --model "$work/model" --suite bbh --data "$root/assets/eval/bbh" --mode cot --limit 1 \
  --max-new-tokens 24 --report "$work/bbh.json" 2>> "$work/err.txt"
"$FLANVK" eval --model "$work/model" --suite mmlu --data "$root/assets/eval/mmlu" --mode direct --limit 2 \
  --report "$work/mmlu.json" 2>> "$work/err.txt"
"$CHECK" report "$work/bbh.json" suite mode tasks groups items headline_average
"$CHECK" report "$work/mmlu.json" suite mode tasks groups items headline_average
if grep -q "validation:" "$work/err.txt"; then echo "validation layer messages"; exit 1; fi
echo "1 passed, 0 failed"
