#!/usr/bin/env bash
# flanvk merge end to end (host only, plus one device load): the tiny T5 of st_tool.py (d_model 48,
# d_ff 80, gated) and PEFT LoRA adapters written by lora_tool.py with non-zero A and B (F32, F16 and
# BF16 factors; targets q,v,wo / every layer with rslora / EncDecAttention.k,wi_1); `merge --check`;
# each merged with --weights f32 holds W + s * B A within half an fp32 ulp of a double computation
# and every other tensor bit-identical (lora_tool.py check); --weights bf16/q8 outputs are
# byte-identical to the f32 merge converted to that type (same writer, same rounding); the default
# keeps the base's type; config.json travels. Bad adapters (rank mismatch, missing lora_B, unknown
# target, a module or widths the model lacks, r <= 0, alpha <= 0, a regex target) and bad calls
# each give one line on stderr naming the file, a non-zero exit, and no OUT or temporary directory.
set -euo pipefail
FLANVK=$1
here=$(cd "$(dirname "$0")" && pwd)
PY=${PYTHON:-python3}
if ! command -v "$PY" >/dev/null; then echo "SKIP: no python3 to write the test model"; exit 0; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
st() { "$PY" "$here/st_tool.py" "$@"; }
lt() { "$PY" "$here/lora_tool.py" "$@"; }
fail() { echo "FAIL: $*"; exit 1; }

st model "$work/m"
lt adapter "$work/m" "$work/a" r=4 alpha=8 targets=q,v,wo
"$FLANVK" merge --model "$work/m" --adapter "$work/a" --check | sed 's/^/  /'
lt adapter "$work/m" "$work/a16" r=3 alpha=5 targets=q,k,v,o,wi_0,wi_1,wo dtype=F16 rslora=1 seed=4
lt adapter "$work/m" "$work/abf" r=2 alpha=16 targets=EncDecAttention.k,wi_1 dtype=BF16 seed=5
for a in a a16 abf; do
  "$FLANVK" merge --model "$work/m" --adapter "$work/$a" --out "$work/$a.f32" --weights f32 > "$work/$a.log" || fail "merge $a"
  sed 's/^/  /' "$work/$a.log"
  lt check "$work/m" "$work/$a" "$work/$a.f32" | sed 's/^/  /'
  [ "${PIPESTATUS[0]}" -eq 0 ] || fail "$a: merged weights differ from W + s B A"
  cmp -s "$work/m/config.json" "$work/$a.f32/config.json" || fail "$a: config.json not copied"
done
echo "merged F32, F16 (rslora) and BF16 adapters: W + s * B A exactly (one fp32 rounding), other tensors untouched"

for w in bf16 q8; do
  "$FLANVK" merge --model "$work/m" --adapter "$work/a" --out "$work/a.$w" --weights $w > /dev/null || fail "merge --weights $w"
  "$FLANVK" convert --model "$work/a.f32" --out "$work/a.f32.$w" --weights $w > /dev/null || fail "convert the f32 merge to $w"
  cmp -s "$work/a.$w/model.safetensors" "$work/a.f32.$w/model.safetensors" || fail "merge --weights $w != convert of the f32 merge"
done
"$FLANVK" merge --model "$work/a.bf16" --adapter "$work/abf" --out "$work/own" > /dev/null || fail "merge into a bf16 base"
"$FLANVK" info --model "$work/own" | grep -q "stored as BF16\$" || fail "the default does not keep the base's bf16"
echo "--weights bf16 and q8 == the f32 merge converted (byte-identical); the default keeps a bf16 base bf16"
if [ "${MERGE_NO_DEVICE:-0}" != 1 ]; then
  printf '{"input_ids": [5, 9, 17, 3, 1], "target_ids": [7, 8, 1]}\n' > "$work/pairs.jsonl"
  "$FLANVK" score --model "$work/a.f32" --input "$work/pairs.jsonl" --output "$work/s.merged" 2>/dev/null || fail "score the merge"
  "$FLANVK" score --model "$work/m" --input "$work/pairs.jsonl" --output "$work/s.base" 2>/dev/null || fail "score the base"
  cmp -s "$work/s.merged" "$work/s.base" && fail "the merged model scores as the base does"
  echo "the merged model loads and scores on the device (differently from the base)"
  # --adapter applies the same adapter unmerged: the same greedy ids and log-probs (within fp32
  # rounding of the two orders: log-probs to 6 significant digits)
  printf '{"prompt_ids": [5, 9, 17, 3, 1]}\n{"prompt_ids": [40, 2, 1]}\n' > "$work/prompts.jsonl"
  "$FLANVK" generate --model "$work/a.f32" --input "$work/prompts.jsonl" --output "$work/g.merged" --max-new-tokens 6 \
    2>/dev/null || fail "generate with the merge"
  "$FLANVK" generate --model "$work/m" --adapter "$work/a" --input "$work/prompts.jsonl" --output "$work/g.adapter" \
    --max-new-tokens 6 2>/dev/null || fail "generate --adapter"
  cmp -s "$work/g.merged" "$work/g.adapter" || fail "generate --adapter differs from generate on the merge"
  "$FLANVK" score --model "$work/m" --adapter "$work/a" --input "$work/pairs.jsonl" --output "$work/s.adapter" 2>/dev/null \
    || fail "score --adapter"
  lp() { sed -n 's/.*"logprob": *\([-0-9.e]*\).*/\1/p' "$1"; }
  awk -v a="$(lp "$work/s.merged")" -v b="$(lp "$work/s.adapter")" \
    'BEGIN { d = a - b; if (d < 0) d = -d; if (d > 1e-5 * (a < 0 ? -a : a)) { print "log-probs " a " vs " b; exit 1 } }' \
    || fail "score --adapter differs from score on the merge"
  echo "generate and score --adapter (unmerged) == the merged model"
fi

# bad inputs: one line naming the file, non-zero exit, no OUT
expect_fail() { # label, expected text, command...
  local label=$1 want=$2; shift 2
  if "$@" > /dev/null 2> "$work/err"; then fail "$label: succeeded"; fi
  [ "$(wc -l < "$work/err")" -eq 1 ] || { cat "$work/err"; fail "$label: not one line"; }
  grep -qF -- "$want" "$work/err" || { cat "$work/err"; fail "$label: no '$want'"; }
  printf '  %-20s %s' "$label" "$(cat "$work/err")"; echo
}
bad() { # name, config edits... (a copy of adapter a)
  local d="$work/bad_$1"; shift
  mkdir -p "$d" && cp "$work/a/"* "$d/"
  [ $# -eq 0 ] || lt config "$d" "$@"
  echo "$d"
}
merge_bad() { # label, expected text, adapter dir
  expect_fail "$1" "$2" "$FLANVK" merge --model "$work/m" --adapter "$3" --out "$work/out_$1"
  [ ! -e "$work/out_$1" ] && ! ls "$work" | grep -q "^out_$1.tmp" || fail "$1: a refused merge left OUT or its temporary directory"
}
q=base_model.model.encoder.block.0.layer.0.SelfAttention.q
d=$(bad rank r=8)
merge_bad rank "$d/adapter_model.safetensors: tensor 'base_model.model.decoder.block.0.layer.0.SelfAttention.q.lora_A.weight' has shape [4, 48], expected [8, 48]: rank 4, but r = 8" "$d"
d=$(bad nolorab)
st edit "$work/a/adapter_model.safetensors" "$d/adapter_model.safetensors" drop=$q.lora_B.weight
merge_bad missing_lora_B "$d/adapter_model.safetensors: tensor '$q.lora_B.weight' is missing" "$d"
d=$(bad unknown 'target_modules=["q", "v", "wo", "query"]')
merge_bad unknown_target "$d/adapter_config.json: unknown LoRA target 'query'" "$d"
d=$(bad wi 'target_modules=["q", "v", "wo", "wi"]')
merge_bad target_not_in_model "$d/adapter_config.json: LoRA target 'wi' names no linear layer of this model" "$d"
d=$(bad untargeted 'target_modules=["q", "v"]')
merge_bad not_targeted "module 'decoder.block.0.layer.2.DenseReluDense.wo' is not named by target_modules [q, v]" "$d"
mkdir -p "$work/deep" "$work/wide"
"$PY" -c "import json,sys; c=json.load(open(sys.argv[1])); c['num_layers']=3; json.dump(c, open(sys.argv[2],'w'))" "$work/m/config.json" "$work/deep/config.json"
"$PY" -c "import json,sys; c=json.load(open(sys.argv[1])); c['d_model']=64; json.dump(c, open(sys.argv[2],'w'))" "$work/m/config.json" "$work/wide/config.json"
lt adapter "$work/deep" "$work/adeep" r=4 alpha=8 targets=q,v
merge_bad module_not_in_model "'encoder.block.2.layer.0.SelfAttention.q' is not a linear layer of the model $work/m: made for another model?" "$work/adeep"
lt adapter "$work/wide" "$work/awide" r=4 alpha=8 targets=q,v
merge_bad other_widths "has shape [4, 64], expected [4, 48] for the layer [32, 48] of the model $work/m: made for another model?" "$work/awide"
d=$(bad r0 r=0)
merge_bad r_zero "$d/adapter_config.json: r = 0: the LoRA rank must be > 0" "$d"
d=$(bad rneg r=-4)
merge_bad r_negative "$d/adapter_config.json: r = -4: the LoRA rank must be > 0" "$d"
d=$(bad a0 lora_alpha=0)
merge_bad alpha_zero "$d/adapter_config.json: lora_alpha = 0: must be > 0" "$d"
d=$(bad aneg lora_alpha=-8)
merge_bad alpha_negative "$d/adapter_config.json: lora_alpha = -8: must be > 0" "$d"
d=$(bad regex 'target_modules=".*SelfAttention.*q$"')
merge_bad regex_target "$d/adapter_config.json: target_modules is the regex string" "$d"
merge_bad no_adapter "$work/nothere: no adapter_config.json: not a PEFT adapter directory" "$work/nothere"
expect_fail "existing OUT" "$work/a.f32: already exists and is not an empty directory" \
  "$FLANVK" merge --model "$work/m" --adapter "$work/a" --out "$work/a.f32"
expect_fail "weights bogus" "--weights 'q4' is not a weight type" "$FLANVK" merge --model "$work/m" --adapter "$work/a" --out "$work/o" --weights q4
expect_fail "no --adapter" "--adapter DIR is required" "$FLANVK" merge --model "$work/m" --out "$work/o"
expect_fail "check, bad" "names no linear layer" "$FLANVK" merge --model "$work/m" --adapter "$work/bad_wi" --check
expect_fail "adapter, bad" "names no linear layer" "$FLANVK" generate --model "$work/m" --adapter "$work/bad_wi" --prompt x
[ ! -e "$work/o" ] || fail "a refused merge created OUT"
echo "bad inputs: one line each, non-zero exit; refused merges leave no OUT"
