#!/usr/bin/env bash
# flanvk convert end to end (host only): a tiny T5 whose widths are not multiples of 32 (d_model 48,
# d_ff 80: q8 rows padded), written by tests/e2e/st_tool.py, converted to f16, bf16, q8 and f32;
# `info` on each shows its storage; f16/bf16 outputs hold every HF tensor; converting an output to
# its own type again is byte-identical; 16-bit outputs load on the device. Bad inputs (q8 scales
# missing, of the wrong shape or dtype, unknown or missing format metadata, --weights bogus, an
# existing OUT, a weight beyond fp16 mid-way) each give one line on stderr and a non-zero exit, and
# a failed convert leaves neither OUT nor its temporary directory.
set -euo pipefail
FLANVK=$1
here=$(cd "$(dirname "$0")" && pwd)
PY=${PYTHON:-python3}
if ! command -v "$PY" >/dev/null; then echo "SKIP: no python3 to write the test model"; exit 0; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tool() { "$PY" "$here/st_tool.py" "$@"; }
fail() { echo "FAIL: $*"; exit 1; }

tool model "$work/m"
"$FLANVK" info --model "$work/m" | grep -q "stored as F32" || fail "source model info"
for w in f16 bf16 q8 f32; do
  "$FLANVK" convert --model "$work/m" --out "$work/$w" --weights $w > "$work/$w.log" || fail "convert --weights $w"
  sed 's/^/  /' "$work/$w.log"
  case $w in f16) want=F16 ;; bf16) want=BF16 ;; q8) want=q8 ;; f32) want=F32 ;; esac
  "$FLANVK" info --model "$work/$w" | grep -q "stored as $want\$" || fail "info on the $w output does not say $want"
  [ -f "$work/$w/config.json" ] || fail "$w: config.json not copied"
  ls "$work" | grep -q "$w.tmp" && fail "$w: temporary directory left behind"
done
echo "converted to f16, bf16, q8, f32; info reads each (stored as F16, BF16, q8, F32)"
# the q8 error is what the format promises: worst relative error below 1 % on these Gaussian weights
awk '$1 == "q8" { w = $(NF-1); gsub(/[(),]/, "", w); if (w + 0 > 0.01) exit 1 }' "$work/q8.log" || fail "q8 error above 1 %"
tool check-hf "$work/f16"
tool check-hf "$work/bf16"
tool show "$work/q8/model.safetensors" "encoder.block.0.layer.0.SelfAttention.q.weight.scales" | grep -q '"shape": \[32, 2\]' \
  || fail "q8 scales of a [32, 48] weight are not [32, 2]"
for w in f16 q8; do
  "$FLANVK" convert --model "$work/$w" --out "$work/$w.again" --weights $w >/dev/null || fail "reconvert $w"
  cmp -s "$work/$w/model.safetensors" "$work/$w.again/model.safetensors" || fail "$w -> $w is not byte-identical"
done
"$FLANVK" convert --model "$work/q8" --out "$work/q8.f32" --weights f32 >/dev/null || fail "q8 -> f32"
echo "f16 -> f16 and q8 -> q8 byte-identical; q8 -> f32 dequantizes"
if [ "${CONVERT_NO_DEVICE:-0}" != 1 ]; then
  for w in f16 bf16 q8; do
    "$FLANVK" info --load --model "$work/$w" > "$work/load.log" 2>&1 || { cat "$work/load.log"; fail "info --load on $w"; }
    grep -q "weights $w" "$work/load.log" || { cat "$work/load.log"; fail "info --load on the $w output: not held as $w"; }
  done
  echo "f16, bf16 and q8 outputs load on the device in their own type"
  # a converted directory and the source loaded with --weights hold the same words: the same
  # greedy ids and the same log-probabilities, bit for bit
  printf '{"prompt_ids": [5, 9, 17, 3, 1]}\n{"prompt_ids": [40, 2, 1]}\n' > "$work/prompts.jsonl"
  printf '{"input_ids": [5, 9, 17, 3, 1], "target_ids": [7, 8, 1]}\n' > "$work/pairs.jsonl"
  for w in f16 bf16 q8; do
    "$FLANVK" generate --model "$work/$w" --input "$work/prompts.jsonl" --output "$work/g.$w.file" --max-new-tokens 6 2>/dev/null \
      || fail "generate on the $w output"
    "$FLANVK" generate --model "$work/m" --weights $w --input "$work/prompts.jsonl" --output "$work/g.$w.load" \
      --max-new-tokens 6 2>/dev/null || fail "generate --weights $w"
    cmp -s "$work/g.$w.file" "$work/g.$w.load" || fail "$w: converted file and --weights $w generate differently"
    "$FLANVK" score --model "$work/$w" --input "$work/pairs.jsonl" --output "$work/s.$w.file" 2>/dev/null || fail "score $w file"
    "$FLANVK" score --model "$work/m" --weights $w --input "$work/pairs.jsonl" --output "$work/s.$w.load" 2>/dev/null \
      || fail "score --weights $w"
    cmp -s "$work/s.$w.file" "$work/s.$w.load" || fail "$w: converted file and --weights $w score differently"
  done
  echo "generate and score: each converted directory == the source with --weights (f16, bf16, q8)"
fi

# tokenizer files travel with the weights
side="spiece.model tokenizer_config.json special_tokens_map.json generation_config.json"
mkdir -p "$work/mt" && cp "$work/m/"* "$work/mt/" && cp "$here/../../assets/tokenizer/spiece.model" "$work/mt/"
for f in tokenizer_config.json special_tokens_map.json generation_config.json; do echo "{\"file\": \"$f\"}" > "$work/mt/$f"; done
"$FLANVK" convert --model "$work/mt" --out "$work/mt.q8" --weights q8 >/dev/null || fail "convert with tokenizer files"
for f in $side; do cmp -s "$work/mt/$f" "$work/mt.q8/$f" || fail "$f not copied"; done
[ ! -e "$work/mt.q8/tokenizer.json" ] || fail "tokenizer.json made up"
echo "copied beside the weights: $side"

# bad inputs: one line, naming the file, non-zero exit
expect_fail() { # label, expected text, command...
  local label=$1 want=$2; shift 2
  if "$@" > /dev/null 2> "$work/err"; then fail "$label: succeeded"; fi
  [ "$(wc -l < "$work/err")" -eq 1 ] || { cat "$work/err"; fail "$label: not one line"; }
  grep -qF -- "$want" "$work/err" || { cat "$work/err"; fail "$label: no '$want'"; }
  printf '  %-14s %s' "$label" "$(cat "$work/err")"; echo
}
q=encoder.block.0.layer.0.SelfAttention.q.weight
bad() { # name, edits...
  local d="$work/bad_$1"; shift
  mkdir -p "$d"
  cp "$work/q8/config.json" "$d/"
  tool edit "$work/q8/model.safetensors" "$d/model.safetensors" "$@"
  echo "$d"
}
d=$(bad noscales drop=$q.scales)
expect_fail "no scales" "$d/model.safetensors: tensor '$q' is q8 (I8) but its scales '$q.scales' are missing" "$FLANVK" info --model "$d"
expect_fail "convert it" "$d/model.safetensors: tensor '$q' is q8 (I8) but its scales" "$FLANVK" convert --model "$d" --out "$work/o1" --weights f16
d=$(bad shape shape=$q.scales:2,32)
expect_fail "scales shape" "$d/model.safetensors: tensor '$q': scales '$q.scales' have shape [2, 32], expected [32, 2]" "$FLANVK" info --model "$d"
d=$(bad dtype dtype=$q.scales:BF16)
expect_fail "scales dtype" "$d/model.safetensors: tensor '$q': scales '$q.scales' have dtype BF16, expected F16" "$FLANVK" info --model "$d"
d=$(bad layout meta=flanvk_q8:int4-block64)
expect_fail "layout" "$d/model.safetensors: __metadata__ \"flanvk_q8\" is \"int4-block64\": unknown q8 layout" "$FLANVK" info --model "$d"
d=$(bad format meta=flanvk_weights:q4)
expect_fail "format" "$d/model.safetensors: __metadata__ \"flanvk_weights\" is \"q4\": unknown weight format" "$FLANVK" info --model "$d"
d=$(bad nometa nometa=flanvk_weights nometa=flanvk_q8)
expect_fail "no metadata" "is I8 but __metadata__ lacks" "$FLANVK" info --model "$d"
d=$(bad wshape shape=$q:48,32)
expect_fail "weight shape" "tensor '$q' has shape [48, 32], expected [32, 48]" "$FLANVK" info --model "$d"
expect_fail "weights bogus" "--weights 'bogus' is not a weight type" "$FLANVK" convert --model "$work/m" --out "$work/o2" --weights bogus
expect_fail "generate q4" "unknown weight type 'q4'" "$FLANVK" generate --model "$work/m" --weights q4 --prompt x
expect_fail "info q4" "unknown weight type 'q4'" "$FLANVK" info --model "$work/m" --weights q4
expect_fail "kv-cache f8" "unknown KV-cache type 'f8'" "$FLANVK" score --model "$work/m" --kv-cache f8 --input /dev/null
if [ "${CONVERT_NO_DEVICE:-0}" != 1 ]; then
  d=$(bad noscales2 drop=$q.scales)
  expect_fail "load no scales" "$d/model.safetensors: tensor '$q' is q8 (I8) but its scales" \
    "$FLANVK" generate --model "$d" --input "$work/prompts.jsonl"
fi
expect_fail "existing OUT" "$work/f16: already exists and is not an empty directory" "$FLANVK" convert --model "$work/m" --out "$work/f16" --weights q8
# a weight beyond fp16's range fails mid-write: no OUT, no temporary directory
mkdir -p "$work/huge" && cp "$work/m/config.json" "$work/huge/"
tool edit "$work/m/model.safetensors" "$work/huge/model.safetensors" poke=decoder.block.1.layer.2.DenseReluDense.wo.weight:5:1e6
expect_fail "beyond fp16" "decoder.block.1.layer.2.DenseReluDense.wo.weight" "$FLANVK" convert --model "$work/huge" --out "$work/o3" --weights f16
[ ! -e "$work/o3" ] && ! ls "$work" | grep -q "^o3.tmp" || fail "a failed convert left OUT or its temporary directory"
[ ! -e "$work/o1" ] && [ ! -e "$work/o2" ] || fail "a refused convert created OUT"
# an empty OUT is taken over
mkdir "$work/empty"
"$FLANVK" convert --model "$work/m" --out "$work/empty" --weights bf16 >/dev/null || fail "convert into an empty OUT"
echo "bad inputs: one line each, non-zero exit; failed converts leave no OUT"
