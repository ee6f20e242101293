#!/usr/bin/env bash
# End to end under a 2 MiB storage-buffer range (FLANVK_MAX_BUFFER_RANGE), below the tiny config's
# 8.2 MB embedding and LM head, which are then split into row pieces (src/ops/rowsplit.h): 10 AdamW
# steps log the losses of the unclamped run (within 1e-5 relative: only the LM head's input
# gradient sums its pieces in another order), and a clamped run stopped at step 5 and resumed to 10
# logs exactly the losses of the uninterrupted clamped run. Adafactor (with momentum) over the split
# tables: losses within 1e-5 of the unclamped run, also when a run is resumed across the clamp.
# With long rows under an 8 MiB range the trainer runs each batch as micro-batches (same losses).
set -euo pipefail
FLANVK=$1
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export FLANVK_NO_PIPELINE_CACHE=1
common=(--config tiny --data "$here/qa.jsonl" --lr 1e-2 --batch-size 4 --seed 7 --tokenizer "$here/../../assets/tokenizer")
"$FLANVK" train "${common[@]}" --out "$work/a" --steps 10 --log "$work/a.csv" >/dev/null 2> "$work/err"
export FLANVK_MAX_BUFFER_RANGE=2097152
"$FLANVK" train "${common[@]}" --out "$work/c" --steps 10 --log "$work/c.csv" >/dev/null 2>> "$work/err"
"$FLANVK" train "${common[@]}" --out "$work/b" --steps 5 --log "$work/b.csv" >/dev/null 2>> "$work/err"
"$FLANVK" train --resume "$work/b" --data "$here/qa.jsonl" --lr 1e-2 --batch-size 4 --seed 7 --out "$work/b" \
  --steps 10 --log "$work/b.csv" >/dev/null 2>> "$work/err"
if ! paste -d, <(cut -d, -f2 "$work/a.csv") <(cut -d, -f2 "$work/c.csv") | awk -F, 'NR > 1 { e = ($1 - $2) / $1; if (e < 0) e = -e; if (e > m) m = e }
    END { printf "clamped vs unclamped losses over 10 steps: max rel diff %.2e\n", m; exit m > 1e-5 }'; then
  echo "the clamped run's losses differ from the unclamped run's"; exit 1
fi
if ! diff <(cut -d, -f1-3 "$work/c.csv") <(cut -d, -f1-3 "$work/b.csv"); then
  echo "clamped resumed run's losses differ from the uninterrupted clamped run's"; exit 1
fi
echo "clamped resume: steps 6-10 identical to the uninterrupted clamped run"
# Adafactor with momentum over the split tables (ops/optim.h fv_adafactor_split, bit-identical to the
# unsplit update from the same gradients): 6 steps clamped vs unclamped, and runs stopped at step 3
# and resumed to 6 across the clamp both ways (the checkpoint holds whole HF tensors)
af=(--config tiny --data "$here/qa.jsonl" --lr 1e-2 --batch-size 4 --seed 7 --optimizer adafactor --beta1 0.9)
afr=(--data "$here/qa.jsonl" --lr 1e-2 --batch-size 4 --seed 7 --optimizer adafactor --beta1 0.9)
tok=(--tokenizer "$here/../../assets/tokenizer")
"$FLANVK" train "${af[@]}" "${tok[@]}" --out "$work/fc" --steps 6 --log "$work/fc.csv" >/dev/null 2>> "$work/err"
"$FLANVK" train "${af[@]}" "${tok[@]}" --out "$work/fb" --steps 3 --log "$work/fb.csv" >/dev/null 2>> "$work/err"
env -u FLANVK_MAX_BUFFER_RANGE "$FLANVK" train "${af[@]}" "${tok[@]}" --out "$work/fa" --steps 6 --log "$work/fa.csv" \
  >/dev/null 2>> "$work/err"
env -u FLANVK_MAX_BUFFER_RANGE "$FLANVK" train "${af[@]}" "${tok[@]}" --out "$work/fd" --steps 3 --log "$work/fd.csv" \
  >/dev/null 2>> "$work/err"
env -u FLANVK_MAX_BUFFER_RANGE "$FLANVK" train --resume "$work/fb" "${afr[@]}" --out "$work/fb" --steps 6 \
  --log "$work/fb.csv" >/dev/null 2>> "$work/err"
"$FLANVK" train --resume "$work/fd" "${afr[@]}" --out "$work/fd" --steps 6 --log "$work/fd.csv" >/dev/null 2>> "$work/err"
for run in fc:"clamped" fb:"clamped to 3, resumed unclamped" fd:"unclamped to 3, resumed clamped"; do
  f=${run%%:*}
  [ "$(wc -l < "$work/$f.csv")" -eq "$(wc -l < "$work/fa.csv")" ] || { echo "adafactor $f: wrong number of steps logged"; exit 1; }
  if ! paste -d, <(cut -d, -f2 "$work/fa.csv") <(cut -d, -f2 "$work/$f.csv") | awk -F, -v what="${run#*:}" '
      NR > 1 { e = ($1 - $2) / $1; if (e < 0) e = -e; if (e > m) m = e }
      END { printf "adafactor %s vs unclamped losses over 6 steps: max rel diff %.2e\n", what, m; exit m > 1e-5 }'; then
    echo "adafactor: the ${run#*:} run's losses differ from the unclamped run's"; exit 1
  fi
done
# an 8 MiB range with 512-token rows: the attention probabilities of 4 rows (16 MiB) do not fit, so
# each batch runs as 2 micro-batches of 2 rows with accumulated gradients
long=(--config tiny --data "$here/qa.jsonl" --lr 1e-2 --batch-size 4 --seq-len-in 512 --seq-len-out 128 --seed 7 \
  --dropout 0 --tokenizer "$here/../../assets/tokenizer" --steps 4)
env -u FLANVK_MAX_BUFFER_RANGE "$FLANVK" train "${long[@]}" --out "$work/la" --log "$work/la.csv" >/dev/null 2>> "$work/err"
FLANVK_MAX_BUFFER_RANGE=8388608 FLANVK_LOG=info "$FLANVK" train "${long[@]}" --out "$work/lc" --log "$work/lc.csv" \
  >/dev/null 2> "$work/lc.err"
cat "$work/lc.err" >> "$work/err"
grep -q "2 micro-batches of 2 rows" "$work/lc.err" || { echo "no micro-batches under the 8 MiB range"; cat "$work/lc.err"; exit 1; }
if ! paste -d, <(cut -d, -f2 "$work/la.csv") <(cut -d, -f2 "$work/lc.csv") | awk -F, 'NR > 1 { e = ($1 - $2) / $1; if (e < 0) e = -e; if (e > m) m = e }
    END { printf "micro-batches vs whole batches, 4 steps: max rel loss diff %.2e\n", m; exit m > 1e-5 }'; then
  echo "the micro-batched run's losses differ from the unclamped run's"; exit 1
fi
if grep -q "validation:" "$work/err"; then echo "validation layer messages"; exit 1; fi
echo "1 passed, 0 failed"
