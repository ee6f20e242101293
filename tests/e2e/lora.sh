#!/usr/bin/env bash
# LoRA training end to end (issue #13): on the tiny T5 of st_tool.py (d_model 48, gated, untied),
# `flanvk train --lora-rank` writes a PEFT adapter directory (adapter_config.json with PEFT's keys,
# adapter_model.safetensors with PEFT's key names and shapes, the adapters' optimizer state; no model
# weights) whose loss fell, its --eval-data loss seeing the adapter; `generate --adapter` and `merge` take it, and generate on the merge gives
# the ids generate --adapter gives; a run resumed from its step-5 checkpoint ends bit for bit where
# the uninterrupted run does (adapter and optimizer state); `train --adapter DIR` continues from an
# adapter; a bf16 base trains; bad input (rank 0, alpha 0, an unknown target, an adapter for another
# model, --weights without LoRA) gives one line on stderr and a non-zero exit.
set -euo pipefail
FLANVK=$1
here=$(cd "$(dirname "$0")" && pwd)
PY=${PYTHON:-python3}
if ! command -v "$PY" >/dev/null; then echo "SKIP: no python3 to write the test model"; exit 0; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$PY" "$here/st_tool.py" model "$work/m"
# a learnable task over the 100-token vocabulary: the target is the input's first three ids + 1
"$PY" - "$work/d.jsonl" <<'EOF'
import json, random, sys
r = random.Random(3)
with open(sys.argv[1], "w") as f:
    for _ in range(32):
        ids = [r.randrange(5, 90) for _ in range(r.randrange(4, 9))]
        f.write(json.dumps({"input_ids": ids + [1], "target_ids": [i + 1 for i in ids[:3]] + [1]}) + "\n")
EOF
common=(--model "$work/m" --data "$work/d.jsonl" --batch-size 4 --lr 1e-2 --dropout 0 --seed 3 --weights f32)

# 1. train: a PEFT adapter directory, the loss falls
"$FLANVK" train "${common[@]}" --out "$work/a" --steps 30 --lora-rank 4 --lora-alpha 8 --lora-targets all \
  --eval-data "$work/d.jsonl" --eval-every 15 > "$work/a.log" 2> "$work/a.err" || { cat "$work/a.err"; fail "train --lora-rank"; }
sed 's/^/  /' "$work/a.log"
for f in adapter_config.json adapter_model.safetensors training_state.safetensors; do
  [ -s "$work/a/$f" ] || fail "the adapter directory lacks $f"
done
[ -e "$work/a/model.safetensors" ] && fail "the adapter directory holds model weights"
"$PY" - "$work/a" "$work/m" <<'EOF' || fail "adapter directory is not PEFT's"
import json, struct, sys
ad, m = sys.argv[1], sys.argv[2]
c = json.load(open(ad + "/adapter_config.json"))
want = {"peft_type": "LORA", "task_type": "SEQ_2_SEQ_LM", "r": 4, "lora_alpha": 8, "bias": "none",
        "fan_in_fan_out": False, "base_model_name_or_path": m}
for k, v in want.items():
    assert c.get(k) == v, f"{k}: {c.get(k)!r}, expected {v!r}"
assert c["lora_dropout"] == 0, c["lora_dropout"]
assert sorted(c["target_modules"]) == sorted(["q", "k", "v", "o", "wi_0", "wi_1", "wo"]), c["target_modules"]
raw = open(ad + "/adapter_model.safetensors", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
hdr = json.loads(raw[8:8 + n]); hdr.pop("__metadata__", None)
cfg = json.load(open(m + "/config.json"))
d, inner, ff = cfg["d_model"], cfg["num_heads"] * cfg["d_kv"], cfg["d_ff"]
assert len(hdr) == 2 * 2 * (7 + 11), len(hdr)  # A, B x 2 blocks x (encoder 7 + decoder 11 modules)
for k, t in hdr.items():
    assert k.startswith("base_model.model.") and (k.endswith(".lora_A.weight") or k.endswith(".lora_B.weight")), k
    assert t["dtype"] == "F32", k
    mod = k[len("base_model.model."):].rsplit(".lora_", 1)[0].rsplit(".", 1)[1]
    i, o = {"q": (d, inner), "k": (d, inner), "v": (d, inner), "o": (inner, d), "wi_0": (d, ff), "wi_1": (d, ff),
            "wo": (ff, d)}[mod]
    assert t["shape"] == ([4, i] if ".lora_A." in k else [o, 4]), (k, t["shape"])
print("  adapter_config.json and adapter_model.safetensors as PEFT writes them (36 modules, A [r, in], B [out, r])")
EOF
read -r first last < <(sed -n 's/.*loss \([0-9.]*\) -> \([0-9.]*\).*/\1 \2/p' "$work/a.log")
"$PY" -c "import sys; sys.exit(0 if $last < $first - 0.3 else 1)" || fail "the loss did not fall ($first -> $last)"
eval=$(sed -n 's/^eval loss \([0-9.]*\) .*/\1/p' "$work/a.log")
"$PY" -c "import sys; sys.exit(0 if abs($eval - $last) < 0.3 else 1)" || fail "the eval loss $eval ignores the adapter"
echo "LoRA r 4 on every linear layer: loss $first -> $last; eval loss (the adapter applied) $eval"

# 2. generate --adapter and merge take it; generate on the merge = generate --adapter
printf '{"prompt_ids": [12, 30, 44, 7, 1]}\n{"prompt_ids": [60, 21, 9, 1]}\n' > "$work/p.jsonl"
"$FLANVK" generate --model "$work/m" --adapter "$work/a" --input "$work/p.jsonl" --output "$work/g.adapter" \
  --max-new-tokens 5 2>/dev/null || fail "generate --adapter on the trained adapter"
"$FLANVK" merge --model "$work/m" --adapter "$work/a" --out "$work/merged" --weights f32 > /dev/null || fail "merge"
"$FLANVK" generate --model "$work/merged" --input "$work/p.jsonl" --output "$work/g.merged" --max-new-tokens 5 \
  2>/dev/null || fail "generate on the merge"
cmp -s "$work/g.adapter" "$work/g.merged" || fail "generate on the merge differs from generate --adapter"
"$FLANVK" generate --model "$work/m" --input "$work/p.jsonl" --output "$work/g.base" --max-new-tokens 5 2>/dev/null
cmp -s "$work/g.adapter" "$work/g.base" && fail "the trained adapter generates as the base does"
echo "generate --adapter = generate on the merge (and not the base's ids): $(tr -d '\n' < "$work/g.adapter" | head -c 160)"

# 3. resume: 10 steps at once = 5 (checkpoint) + 5 resumed, bit for bit
r=(--lora-rank 2 --lora-targets q,v,wo --lora-dropout 0.1 --dropout 0.1 --optimizer adafactor --grad-checkpointing)
"$FLANVK" train "${common[@]}" "${r[@]}" --out "$work/full" --steps 10 --log "$work/full.csv" >/dev/null 2>&1 || fail "train 10"
"$FLANVK" train "${common[@]}" "${r[@]}" --out "$work/part" --steps 5 --log "$work/part.csv" >/dev/null 2>&1 || fail "train 5"
"$FLANVK" train --resume "$work/part" --data "$work/d.jsonl" --batch-size 4 --lr 1e-2 --dropout 0.1 --seed 3 \
  --weights f32 --optimizer adafactor --grad-checkpointing --out "$work/part" --steps 10 --log "$work/part.csv" \
  > /dev/null 2> "$work/resume.err" || { cat "$work/resume.err"; fail "resume"; }
cmp -s "$work/full/adapter_model.safetensors" "$work/part/adapter_model.safetensors" || fail "resumed adapter differs"
cmp -s "$work/full/training_state.safetensors" "$work/part/training_state.safetensors" || fail "resumed optimizer state differs"
[ "$(cut -d, -f1-4 "$work/full.csv")" = "$(cut -d, -f1-4 "$work/part.csv")" ] || fail "resumed losses differ"
echo "resume (Adafactor, dropout 0.1, LoRA dropout 0.1, checkpointing): adapter, optimizer state and losses bit for bit"

# 4. train --adapter: start from an existing adapter (its r, alpha, targets)
"$FLANVK" train "${common[@]}" --adapter "$work/a" --out "$work/cont" --steps 5 > "$work/cont.log" 2>/dev/null \
  || fail "train --adapter"
grep -q '"r": 4' "$work/cont/adapter_config.json" || fail "train --adapter did not keep r"
read -r cfirst _ < <(sed -n 's/.*loss \([0-9.]*\) -> \([0-9.]*\).*/\1 \2/p' "$work/cont.log")
"$PY" -c "import sys; sys.exit(0 if $cfirst < $first - 0.3 else 1)" || fail "train --adapter did not start from it ($cfirst)"
echo "train --adapter continues from the adapter (first loss $cfirst, a fresh adapter's $first)"

# 5. a bf16 base trains (q8: test_lora_train)
"$FLANVK" train --model "$work/m" --data "$work/d.jsonl" --batch-size 4 --lr 1e-2 --dropout 0 --seed 3 --weights bf16 \
  --out "$work/b16" --steps 30 --lora-rank 4 --lora-targets all > "$work/b16.log" 2>/dev/null || fail "train --weights bf16"
read -r qfirst qlast < <(sed -n 's/.*loss \([0-9.]*\) -> \([0-9.]*\).*/\1 \2/p' "$work/b16.log")
"$PY" -c "import sys; sys.exit(0 if $qlast < $qfirst - 0.3 else 1)" || fail "bf16 base: the loss did not fall"
echo "bf16 base: loss $qfirst -> $qlast"

# 6. bad input: one line naming the problem, non-zero exit
bad() {
  local what=$1; shift
  if "$FLANVK" train "$@" > /dev/null 2> "$work/bad.err"; then fail "$what: accepted"; fi
  [ "$(wc -l < "$work/bad.err")" -eq 1 ] || { cat "$work/bad.err"; fail "$what: not one line"; }
  echo "  $what: $(cat "$work/bad.err")"
}
bad "rank 0" "${common[@]}" --out "$work/x" --steps 2 --lora-rank 0
bad "alpha 0" "${common[@]}" --out "$work/x" --steps 2 --lora-rank 2 --lora-alpha 0
bad "unknown target" "${common[@]}" --out "$work/x" --steps 2 --lora-rank 2 --lora-targets q,ffn
bad "--weights without LoRA" "${common[@]}" --out "$work/x" --steps 2 --weights q8
mkdir "$work/wrong" && cp "$work/a/adapter_model.safetensors" "$work/wrong/"
sed 's/"r": 4/"r": 3/' "$work/a/adapter_config.json" > "$work/wrong/adapter_config.json"
bad "adapter of another rank" "${common[@]}" --out "$work/x" --steps 2 --adapter "$work/wrong"
grep -q "$work/wrong" "$work/bad.err" || fail "the error does not name the adapter"
[ -e "$work/x" ] && fail "a failed run left $work/x"
echo "bad input rejected with one line each"
