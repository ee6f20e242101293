#!/usr/bin/env bash
# End to end: a tiny T5 from scratch learns 16 instruction examples until its greedy outputs are
# right; the checkpoint then reloads (flanvk generate reads it from disk) and gives them. Also: a
# run stopped at step 5 and resumed to step 10 logs the same losses as an uninterrupted run.
set -euo pipefail
FLANVK=$1 CHECK=$2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export FLANVK_NO_PIPELINE_CACHE=1
# RESUME_ONLY=1 (the per-profile runs): only the resume part
if [ "${RESUME_ONLY:-0}" != 1 ]; then
"$FLANVK" train --config tiny --data "$here/qa.jsonl" --out "$work/qa" --steps 150 --lr 1e-2 --dropout 0 \
  --batch-size 8 --seed 1 --tokenizer "$here/../../assets/tokenizer" 2> "$work/train.err"
"$FLANVK" generate --model "$work/qa" --input "$here/qa_prompts.jsonl" --output "$work/out.jsonl" --max-new-tokens 8
"$CHECK" outputs "$work/out.jsonl"
for f in config.json model.safetensors spiece.model training_state.safetensors loss.png; do
  [ -s "$work/qa/$f" ] || { echo "checkpoint lacks $f"; exit 1; }
done
fi
# resume gives the losses of an uninterrupted run
common=(--config tiny --data "$here/qa.jsonl" --lr 1e-2 --batch-size 4 --seed 7 --tokenizer "$here/../../assets/tokenizer")
"$FLANVK" train "${common[@]}" --out "$work/a" --steps 10 --log "$work/a.csv" >/dev/null
"$FLANVK" train "${common[@]}" --out "$work/b" --steps 5 --log "$work/b.csv" >/dev/null
"$FLANVK" train --resume "$work/b" --data "$here/qa.jsonl" --lr 1e-2 --batch-size 4 --seed 7 --out "$work/b" \
  --steps 10 --log "$work/b.csv" >/dev/null
if ! diff <(cut -d, -f1-3 "$work/a.csv") <(cut -d, -f1-3 "$work/b.csv"); then
  echo "resumed run's losses differ from the uninterrupted run's"; exit 1
fi
echo "resume: steps 6-10 identical to the uninterrupted run"
if [ -e "$work/train.err" ] && grep -q "validation:" "$work/train.err"; then echo "validation layer messages"; exit 1; fi
echo "1 passed, 0 failed"
