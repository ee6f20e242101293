#!/usr/bin/env bash
# End to end, issue #17: a tiny T5 trains on qa.jsonl with a held-out file whose targets are shifted
# by one line (qa_shifted.jsonl: its loss first falls, then rises as the model learns the real
# pairs), so the best checkpoint and early stopping are exercised in a few seconds.
#  - the eval_loss of the CSV equals flanvk score's mean (-sum logprob / sum num_tokens) over the same
#    file on the checkpoint of that step (OUT/best: the best step; OUT: the last), within 1e-5;
#  - --keep-best keeps the lowest; --early-stop 3 ends the run 3 evaluations after it;
#  - a run stopped between the best and the early stop and resumed stops at the same step with the
#    same best (the best-so-far and the patience count come back from training_state), same losses;
#  - with --accum 2 --grad-checkpointing the eval loss still equals score on the final checkpoint;
#  - flanvk plot draws one and two logs; the PNGs are 960x540;
#  - bad eval input fails before training with one line.
set -euo pipefail
FLANVK=$1 CHECK=$2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tok="$here/../../assets/tokenizer"
ev="$here/qa_shifted.jsonl"
common=(--data "$here/qa.jsonl" --eval-data "$ev" --eval-every 2 --early-stop 3 --keep-best --lr 1e-2
        --batch-size 4 --seed 1 --tokenizer "$tok")
fail() { echo "FAIL: $*"; exit 1; }
# relative difference of two numbers within 1e-5
close() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; m = b < 0 ? -b : b; exit !(d <= 1e-5 * m) }'; }
eval_at() { awk -F, -v s="$2" '$1 == s { print $6 }' "$1"; }
score_mean() {
  "$FLANVK" score --model "$1" --input "$ev" --output "$work/score.jsonl" >/dev/null
  "$CHECK" mean_loss "$work/score.jsonl"
}

"$FLANVK" train --config tiny "${common[@]}" --out "$work/a" --steps 60 --log "$work/a.csv" > "$work/a.out" 2> "$work/a.err"
cat "$work/a.out"
head -1 "$work/a.csv" | grep -q '^step,loss,lr,grad_norm,tokens_per_s,eval_loss$' || fail "CSV header: $(head -1 "$work/a.csv")"
[ "$(eval_at "$work/a.csv" 1)" = "" ] || fail "eval_loss on a step without an evaluation"
[ -n "$(eval_at "$work/a.csv" 2)" ] || fail "no eval_loss at step 2"
grep -q '^stopped early' "$work/a.out" || fail "the run did not stop early"
last=$(tail -1 "$work/a.csv" | cut -d, -f1)
best=$(awk -F, 'NR > 1 && $6 != "" && (b == "" || $6 < b) { b = $6; s = $1 } END { print s }' "$work/a.csv")
[ "$last" = $((best + 6)) ] || fail "stopped at step $last, best at step $best: expected step $((best + 6)) (3 evaluations later)"
echo "early stop: best eval loss at step $best, stopped at step $last (3 evaluations every 2 steps later)"
for d in "$work/a" "$work/a/best"; do
  for f in config.json model.safetensors training_state.safetensors loss.png; do
    [ -s "$d/$f" ] || fail "$d lacks $f"
  done
done
# eval loss = score's mean on the checkpoint of that step
for pair in "$work/a/best:$best" "$work/a:$last"; do
  dir=${pair%:*} step=${pair##*:}
  e=$(eval_at "$work/a.csv" "$step") s=$(score_mean "$dir")
  close "$e" "$s" || fail "step $step: eval_loss $e, flanvk score on $dir: $s"
  echo "step $step: eval_loss $e = flanvk score mean $s on $(basename "$dir") (within 1e-5)"
done
# resume between the best and the stop: the same stop, the same best, the same losses
"$FLANVK" train --config tiny "${common[@]}" --out "$work/r" --steps $((best + 2)) --log "$work/r.csv" > /dev/null 2> "$work/r.err"
"$FLANVK" train --resume "$work/r" "${common[@]}" --out "$work/r" --steps 60 --log "$work/r.csv" > "$work/r.out" 2>> "$work/r.err"
diff <(cut -d, -f1,2,6 "$work/a.csv") <(cut -d, -f1,2,6 "$work/r.csv") > /dev/null ||
  fail "resumed run's losses or eval losses differ from the uninterrupted run's"
grep -q '^stopped early' "$work/r.out" || fail "the resumed run did not stop early"
grep "best .* at step $best" "$work/r.out" > /dev/null || fail "the resumed run's best is not step $best: $(cat "$work/r.out")"
s=$(score_mean "$work/r/best")
close "$(eval_at "$work/a.csv" "$best")" "$s" || fail "resumed run's best checkpoint scores $s"
echo "resume at step $((best + 2)): stopped at step $last with the best at step $best, as the uninterrupted run; r/best kept"
# accumulation and gradient checkpointing: the eval still runs on the updated weights
"$FLANVK" train --config tiny --data "$here/qa.jsonl" --eval-data "$ev" --eval-every 2 --accum 2 --grad-checkpointing \
  --lr 1e-2 --batch-size 4 --seed 1 --tokenizer "$tok" --out "$work/c" --steps 4 --log "$work/c.csv" > /dev/null 2> "$work/c.err"
e=$(eval_at "$work/c.csv" 4) s=$(score_mean "$work/c")
close "$e" "$s" || fail "--accum 2 --grad-checkpointing: eval_loss $e, flanvk score $s"
echo "--accum 2 --grad-checkpointing: step 4 eval_loss $e = flanvk score mean $s"
# plots
"$FLANVK" plot --log "$work/a.csv" --out "$work/one.png" > /dev/null
"$FLANVK" plot --log "$work/a.csv" --log "$work/r.csv" --out "$work/two.png" > /dev/null
for p in "$work/one.png" "$work/two.png" "$work/a/loss.png"; do
  [ "$(head -c 8 "$p" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "$p is not a PNG"
  dims=$(od -An -tu1 -j16 -N8 "$p" | awk '{ print ($3 * 256 + $4) "x" ($7 * 256 + $8) }')
  [ "$dims" = 960x540 ] || fail "$p is $dims"
done
echo "plots: one.png, two.png and the checkpoint's loss.png are 960x540 PNGs"
# bad input: one line, non-zero exit, no checkpoint
printf '{"input_ids": [5, 1], "target_ids": [99999, 1]}\n' > "$work/oov.jsonl"
printf '{"input_ids": [5, 1], "target_ids": []}\n' > "$work/empty.jsonl"
for bad in "--eval-data $work/oov.jsonl" "--eval-data $work/empty.jsonl" "--eval-data $ev --eval-every 0"; do
  # shellcheck disable=SC2086
  if "$FLANVK" train --config tiny --data "$here/qa.jsonl" $bad --out "$work/bad" --steps 2 --tokenizer "$tok" \
       > /dev/null 2> "$work/bad.err"; then fail "accepted: $bad"; fi
  [ "$(wc -l < "$work/bad.err")" = 1 ] || fail "$bad: $(cat "$work/bad.err")"
  [ ! -e "$work/bad" ] || fail "$bad: a checkpoint was written"
  echo "refused: $(cat "$work/bad.err")"
done
if grep -q "validation:" "$work/a.err" "$work/r.err" "$work/c.err"; then echo "validation layer messages"; exit 1; fi
echo "1 passed, 0 failed"
