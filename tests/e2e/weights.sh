#!/usr/bin/env bash
# Low-bit weights end to end (issue #12) on a flan-t5-small-shaped model (T5's random init: one
# AdamW step at lr 1e-9 writes it as a checkpoint): `eval --suite mmlu --mode direct` on the bundled
# MMLU sample with --weights f32, f16, bf16, q8, and the fraction of rank-classification answers
# equal to the f32 run's (>= 99 % for f16/bf16, >= 97 % for q8; tools/eval_agreement.py also prints
# the largest change of a choice's log-probability); `info --weights` sizes; `bench generate
# --config tiny --weights all --json` (tiny: the test's time) gives one line per type with weights_bytes and
# peak_device_bytes, fewer bytes for each narrower type (flan-t5-xl's q8 <= 0.30 x f32 is checked by
# test_weight_bytes; small's 16-bit vocabulary tables make its ratio 0.37, tiny's more so).
# Random weights make the answers nearly constant, so this guards the plumbing and the size of the
# log-prob changes; docs/PERFORMANCE.md has the agreement of a briefly trained model.
set -euo pipefail
FLANVK=$1
JSON_CHECK=$2
here=$(cd "$(dirname "$0")" && pwd)
root="$here/../.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
head -1 "$root/assets/eval/jsonl/toy.jsonl" > "$work/one.jsonl"
"$FLANVK" train --config small --data "$work/one.jsonl" --out "$work/m" --steps 1 --lr 1e-9 --batch-size 1 \
  --seq-len-in 32 --seq-len-out 8 --tokenizer "$root/assets/tokenizer" > /dev/null 2> "$work/err" || { cat "$work/err"; fail "train"; }
for w in f32 f16 bf16 q8; do
  "$FLANVK" eval --model "$work/m" --suite mmlu --data "$root/assets/eval/mmlu" --mode direct --weights $w \
    --report "$work/mmlu_$w.json" > /dev/null 2> "$work/err" || { cat "$work/err"; fail "eval --weights $w"; }
done
grep -q '"weights":[[:space:]]*"q8"' "$work/mmlu_q8.json" || fail "the q8 eval report does not name its weights"
python3 "$root/tools/eval_agreement.py" "$work/mmlu_f32.json" "$work/mmlu_f16.json" "$work/mmlu_bf16.json" \
  "$work/mmlu_q8.json" --min 99 --min 99 --min 97 || fail "MMLU agreement"
f32=$("$FLANVK" info --model "$work/m" | sed -n 's/.*weights \([0-9.]*\) MiB (f32).*/\1/p')
q8=$("$FLANVK" info --model "$work/m" --weights q8 | sed -n 's/.*weights \([0-9.]*\) MiB (q8).*/\1/p')
[ -n "$f32" ] && [ -n "$q8" ] || fail "info does not print the weights' size per type"
echo "info: weights $f32 MiB as f32, $q8 MiB as q8"
"$FLANVK" bench generate --config tiny --weights all --batch-size 1 --prompt-len 16 --new-tokens 3 --json \
  > "$work/bench.jsonl" 2> "$work/err" || { cat "$work/err"; fail "bench generate --weights all"; }
"$JSON_CHECK" lines "$work/bench.jsonl" model weights kv_cache weights_bytes peak_device_bytes decoder_tokens_per_s \
  encoder_tokens_per_s first_token_ms
awk -F'"weights_bytes": ' '{ split($2, a, ","); b[NR] = a[1] }
  END { if (NR != 4) { print "expected 4 lines (f32, f16, bf16, q8), got " NR; exit 1 }
        printf "bench: weights_bytes f32 %d, f16 %d (%.3f), bf16 %d, q8 %d (%.3f x f32)\n", b[1], b[2], b[2] / b[1], b[3], b[4], b[4] / b[1]
        if (!(b[2] < b[1] && b[3] == b[2] && b[4] < b[2])) { print "weights_bytes not ordered f32 > f16 = bf16 > q8"; exit 1 } }' \
  "$work/bench.jsonl"
# the per-op profile of a low-bit model times the products over its own storage type
"$FLANVK" bench generate --config tiny --weights q8 --batch-size 1 --prompt-len 16 --new-tokens 2 --profile --json \
  > "$work/prof.jsonl" 2> "$work/err" || { cat "$work/err"; fail "bench generate --profile"; }
grep -q '"kind": "wi", "shape": "1x[0-9]*x[0-9]* q8"' "$work/prof.jsonl" || fail "the decode profile of q8 weights does not time q8 products"
grep -q '"kind": "self attn", "shape": "[^"]* f16"' "$work/prof.jsonl" || fail "the decode profile does not time the f16 KV cache"
grep '"profile": "decode", "kind": "rest"' "$work/prof.jsonl" | grep -qE '"graph_best_ms": ([1-9][0-9]*\.[0-9]+|0\.[0-9]*[1-9])' ||
  fail "the decode profile does not replay the step graph (graph_best_ms)"
