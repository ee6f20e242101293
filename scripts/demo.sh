#!/usr/bin/env bash
# The README's main job on a fresh Debian machine: install what is needed, build, then the Flan
# recipe in small: pack the bundled Flan mixture, finetune a small T5 on it, generate with the
# finetuned model, and evaluate it on the bundled BBH, MMLU and MGSM samples (direct and
# chain-of-thought). Everything lands in build/demo/. STEPS=N changes the training length.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
F=build/flanvk
W=build/demo
mkdir -p "$W"
STEPS=${STEPS:-100}

$F devices
echo "== mix: render, tokenize and pack the bundled Flan mixture"
$F mix --mixture assets/mixtures/default.json --model assets/tokenizer --out "$W/flan.pack" \
  --seq-len-in 256 --seq-len-out 128 --examples 1200
echo "== train: a tiny T5 from scratch, $STEPS steps (checkpoint + loss.png in $W/model)"
$F train --config tiny --data "$W/flan.pack" --out "$W/model" --steps "$STEPS" --batch-size 8 \
  --optimizer adamw --lr 3e-3 --warmup 10 --schedule linear --dropout 0.1 --clip 1.0 --save-every 50 \
  --log "$W/train.csv"
echo "== generate"
$F generate --model "$W/model" --max-new-tokens 32 \
  --prompt "Premise: The man broke his toe. What was the CAUSE of this? Options: - He dropped a hammer on his foot. - He got a hole in his sock."
echo "== eval"
$F eval --model "$W/model" --suite bbh --data assets/eval/bbh --mode cot --limit 3 --max-new-tokens 64 --report "$W/bbh_cot.json"
$F eval --model "$W/model" --suite bbh --data assets/eval/bbh --mode direct --limit 3 --report "$W/bbh_direct.json"
$F eval --model "$W/model" --suite mmlu --data assets/eval/mmlu --mode direct --limit 5 --report "$W/mmlu_direct.json"
$F eval --model "$W/model" --suite mgsm --data assets/eval/mgsm --mode cot --limit 3 --max-new-tokens 64 --report "$W/mgsm_cot.json"
echo "done: model in $W/model, reports in $W/*.json"
