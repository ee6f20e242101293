#!/usr/bin/env bash
# Data-parallel training over MPI (issue #14), 2 ranks sharing lavapipe, on a tiny T5 (st_tool.py's:
# vocab 100, d_model 48) and 40 id examples packed into 16-in / 8-out rows. One part per ctest test:
#   equal   2 ranks x batch b == 1 rank x batch 2b over 10 steps (losses and final weights within
#           1e-5 relative, grad norms 1e-4) for AdamW and Adafactor, without and with accumulation and clipping;
#           FLANVK_DIST_CHECK=1 compares the parameters of the ranks after every step
#           (the all-reduce overlapped with the backward, in one bucket and, FLANVK_DIST_BUCKET_MB=0.004,
#           in ~90; adamw also with FLANVK_DIST_OVERLAP=0: bit-identical to the overlapped run)
#   three   3 ranks x batch 1 == 1 rank x batch 3 (accumulation, clipping, 8 steps) with --eval-data
#           and --keep-best: losses, eval losses, final and best weights within 1e-5; the best
#           checkpoint written by rank 0 alone, as often as the 1-rank run writes it
#   resume  a 2-rank checkpoint resumed on 1 rank, and a 1-rank one on 2, log the losses of an
#           uninterrupted run
#   fail    a rank killed mid-run ends the job non-zero with a message within 30 s, and so does a rank
#           that fails alone (MPI_Abort); non-finite steps are skipped by all ranks together and 5 in
#           a row stop the job with one message; different flags,
#           different data, more ranks than rows, a training state of another model: one error,
#           from rank 0, every rank non-zero
# Usage: mpi.sh FLANVK MPIEXEC PART. Open MPI as root needs OMPI_ALLOW_RUN_AS_ROOT(_CONFIRM)=1.
set -euo pipefail
FLANVK=$1 MPIEXEC=$2 PART=$3
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Two ranks on one machine share its cores: no binding, and no warning about the cores being few.
export OMPI_MCA_hwloc_base_binding_policy=none OMPI_MCA_rmaps_base_oversubscribe=1
# Open MPI's shared-memory transport only (no network probing inside containers)
export OMPI_MCA_btl=self,vader OMPI_MCA_pml=ob1
mpi() { "$MPIEXEC" --oversubscribe "$@"; }
# Under the sanitizer build (scripts/test.sh: LSAN_OPTIONS=suppressions=tests/lsan.supp) the leaks of
# Open MPI's own runtime are suppressed too, for these runs only (tests/lsan_mpi.supp).
if [[ ":${LSAN_OPTIONS:-}" == *:suppressions=* ]]; then
  supp=$(tr ':' '\n' <<< "$LSAN_OPTIONS" | sed -n 's/^suppressions=//p')
  cat "$supp" "$here/../lsan_mpi.supp" > "$work/lsan.supp"
  export LSAN_OPTIONS="${LSAN_OPTIONS/suppressions=$supp/suppressions=$work/lsan.supp}"
fi
compare() { /usr/bin/env python3 "$here/mpi_compare.py" "$@"; }

/usr/bin/env python3 "$here/st_tool.py" model "$work/model" >/dev/null
/usr/bin/env python3 - "$work/data.jsonl" <<'EOF'
import json, random, sys
rng = random.Random(5)
with open(sys.argv[1], "w") as f:
    for i in range(40):
        n, m = rng.randint(3, 7), rng.randint(2, 4)
        f.write(json.dumps({"input_ids": [rng.randrange(2, 100) for _ in range(n)] + [1],
                            "target_ids": [rng.randrange(2, 100) for _ in range(m)] + [1]}) + "\n")
EOF
base=(--data "$work/data.jsonl" --seq-len-in 16 --seq-len-out 8 --dropout 0 --seed 3)

fails=0
check() { if "$@"; then :; else fails=$((fails + 1)); fi; }

if [ "$PART" = equal ]; then
  # name : per-rank batch : flags
  for c in "adamw:2:" "adamw_accum_clip:1:--accum 2 --clip 0.5" \
           "adafactor:2:--optimizer adafactor" "adafactor_accum_clip:1:--optimizer adafactor --accum 2 --clip 0.5"; do
    IFS=: read -r name b flags <<< "$c"
    # shellcheck disable=SC2086
    common=(--model "$work/model" "${base[@]}" --steps 10 --lr 1e-3 $flags)
    "$FLANVK" train "${common[@]}" --batch-size $((2 * b)) --out "$work/$name.1" --log "$work/$name.1.csv" \
      > /dev/null 2> "$work/$name.1.err" || { cat "$work/$name.1.err"; exit 1; }
    # the accumulating runs reduce in ~90 small buckets (the tiny model's gradients are 0.4 MiB)
    mb=4; case $name in *accum*) mb=0.004;; esac
    FLANVK_DIST_BUCKET_MB=$mb FLANVK_DIST_CHECK=1 FLANVK_LOG=info mpi -np 2 "$FLANVK" train "${common[@]}" --batch-size "$b" \
      --out "$work/$name.2" --log "$work/$name.2.csv" > /dev/null 2> "$work/$name.2.err" || { cat "$work/$name.2.err"; exit 1; }
    checked=$(grep -c "dist check: step .* parameters identical on 2 ranks" "$work/$name.2.err" || true)
    buckets=$(grep -m1 -o "in [0-9]* buckets, started at [0-9]* points" "$work/$name.2.err" || true)
    echo "$name: 2 ranks x batch $b vs 1 rank x batch $((2 * b)) (${flags:-no accumulation, no clipping}); all-reduce overlapped: ${buckets:-NOT}; parameters identical across ranks after $((checked / 2)) of 10 steps"
    [ -n "$buckets" ] || { echo "the all-reduce was not overlapped"; fails=$((fails + 1)); }
    [ "$checked" = 20 ] || { echo "FLANVK_DIST_CHECK compared $checked times, expected 20"; fails=$((fails + 1)); }
    check compare csv "$work/$name.2.csv" "$work/$name.1.csv" 1e-5 1e-4
    check compare weights "$work/$name.2" "$work/$name.1" 1e-5
    if [ "$name" = adamw ]; then
      # the all-reduce after the step graph (FLANVK_DIST_OVERLAP=0): the same sums, the same bits
      FLANVK_DIST_OVERLAP=0 mpi -np 2 "$FLANVK" train "${common[@]}" --batch-size "$b" --out "$work/$name.off" \
        --log "$work/$name.off.csv" > /dev/null 2> "$work/$name.off.err" || { cat "$work/$name.off.err"; exit 1; }
      if cmp -s "$work/$name.off/model.safetensors" "$work/$name.2/model.safetensors" &&
         [ "$(cut -d, -f1-4 "$work/$name.off.csv")" = "$(cut -d, -f1-4 "$work/$name.2.csv")" ]; then
        echo "$name: FLANVK_DIST_OVERLAP=0 (after the step graph): losses, norms and weights bit-identical to the overlapped run"
      else
        echo "$name: FLANVK_DIST_OVERLAP=0 differs from the overlapped run"; fails=$((fails + 1))
      fi
    fi
  done
fi

if [ "$PART" = three ]; then
  head -n 13 "$work/data.jsonl" > "$work/eval.jsonl"
  common=(--model "$work/model" "${base[@]}" --steps 8 --lr 1e-3 --accum 2 --clip 0.5 --eval-data "$work/eval.jsonl"
          --eval-every 2 --keep-best)
  FLANVK_LOG=info "$FLANVK" train "${common[@]}" --batch-size 3 --out "$work/t1" --log "$work/t1.csv" \
    > /dev/null 2> "$work/t1.err" || { cat "$work/t1.err"; exit 1; }
  FLANVK_DIST_BUCKET_MB=0.004 FLANVK_DIST_CHECK=1 FLANVK_LOG=info mpi -np 3 "$FLANVK" train "${common[@]}" \
    --batch-size 1 --out "$work/t3" --log "$work/t3.csv" > /dev/null 2> "$work/t3.err" || { cat "$work/t3.err"; exit 1; }
  checked=$(grep -c "dist check: step .* parameters identical on 3 ranks" "$work/t3.err" || true)
  echo "3 ranks x batch 1 vs 1 rank x batch 3 (--accum 2 --clip 0.5, eval every 2 steps, --keep-best); parameters identical across ranks after $((checked / 3)) of 8 steps"
  [ "$checked" = 24 ] || { echo "FLANVK_DIST_CHECK compared $checked times, expected 24"; fails=$((fails + 1)); }
  check compare csv "$work/t3.csv" "$work/t1.csv" 1e-5 1e-4
  check compare weights "$work/t3" "$work/t1" 1e-5
  echo -n "best checkpoint: "
  check compare weights "$work/t3/best" "$work/t1/best" 1e-5
  n1=$(grep -c "saved to $work/t1/best" "$work/t1.err" || true)
  n3=$(grep -c "saved to $work/t3/best" "$work/t3.err" || true)
  if [ "$n1" -ge 1 ] && [ "$n3" = "$n1" ]; then
    echo "best checkpoint written $n3 times by the 3 ranks (once per improvement, by rank 0), $n1 by 1 rank"
  else
    echo "best checkpoint written $n3 times by 3 ranks, $n1 by 1 rank: FAIL"; fails=$((fails + 1))
  fi
fi

if [ "$PART" = resume ]; then
  common=(--model "$work/model" "${base[@]}" --lr 1e-3 --accum 2)
  # uninterrupted: 1 rank x batch 4
  "$FLANVK" train "${common[@]}" --batch-size 4 --steps 10 --out "$work/full" --log "$work/full.csv" > /dev/null
  # 2 ranks x batch 2 to step 5, then 1 rank x batch 4 to 10
  mpi -np 2 "$FLANVK" train "${common[@]}" --batch-size 2 --steps 5 --out "$work/a" --log "$work/a.csv" > /dev/null
  "$FLANVK" train --resume "$work/a" "${base[@]}" --lr 1e-3 --accum 2 --batch-size 4 --steps 10 --out "$work/a" \
    --log "$work/a.csv" > /dev/null
  echo "2-rank checkpoint at step 5 resumed on 1 rank:"
  check compare csv "$work/a.csv" "$work/full.csv" 1e-5 1e-4
  # 1 rank to step 5, then 2 ranks to 10
  "$FLANVK" train "${common[@]}" --batch-size 4 --steps 5 --out "$work/b" --log "$work/b.csv" > /dev/null
  mpi -np 2 "$FLANVK" train --resume "$work/b" "${base[@]}" --lr 1e-3 --accum 2 --batch-size 2 --steps 10 \
    --out "$work/b" --log "$work/b.csv" > /dev/null
  echo "1-rank checkpoint at step 5 resumed on 2 ranks:"
  check compare csv "$work/b.csv" "$work/full.csv" 1e-5 1e-4
  check compare weights "$work/b" "$work/full" 1e-5
fi

# Runs `mpi ARGS...` expecting failure: non-zero exit, the expected text once (from rank 0 only).
expect_error() {
  local what=$1 pattern=$2
  shift 2
  local rc=0
  mpi "$@" > "$work/out" 2> "$work/err" || rc=$?
  local n
  n=$(grep -c -- "$pattern" "$work/err" || true)
  if [ "$rc" != 0 ] && [ "$n" = 1 ]; then
    echo "$what: exit $rc, one error: $(grep -m1 -- "$pattern" "$work/err")"
  else
    echo "$what: FAIL (exit $rc, '$pattern' printed $n times)"; cat "$work/err"; fails=$((fails + 1))
  fi
}

if [ "$PART" = fail ]; then
  common=(--model "$work/model" "${base[@]}" --lr 1e-3 --batch-size 2)
  # a rank killed mid-run (kill -9 of rank 1's process, found by its rank in its environment)
  "$MPIEXEC" --oversubscribe -np 2 "$FLANVK" train "${common[@]}" --steps 100000 --out "$work/k" --log "$work/k.csv" \
    > /dev/null 2> "$work/k.err" &
  job=$!
  victim=""
  for _ in $(seq 600); do
    if [ -s "$work/k.csv" ] && [ "$(wc -l < "$work/k.csv")" -ge 3 ]; then
      for p in $(pgrep -P "$job"); do
        if tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1"; then victim=$p; fi
      done
      [ -n "$victim" ] && break
    fi
    sleep 0.1
  done
  [ -n "$victim" ] || { echo "kill: no training rank 1 found"; kill "$job"; exit 1; }
  t0=$(date +%s%N)
  kill -9 "$victim"
  rc=0
  wait "$job" || rc=$?
  ms=$((($(date +%s%N) - t0) / 1000000))
  msg=$(grep -m1 -i "signal 9\|killed" "$work/k.err" || true)
  if [ "$rc" != 0 ] && [ -n "$msg" ] && [ "$ms" -lt 30000 ]; then
    echo "rank 1 killed after $(($(wc -l < "$work/k.csv") - 1)) logged steps: job ended in $ms ms, exit $rc: $msg"
  else
    echo "kill: FAIL (exit $rc after $ms ms, message '$msg')"; cat "$work/k.err"; fails=$((fails + 1))
  fi

  # a rank that fails alone mid-run (rank 0 cannot write its checkpoint at step 2: OUT lies under a
  # file) ends the job: its message, MPI_Abort, the other rank stopped too
  : > "$work/afile"
  t0=$(date +%s%N)
  rc=0
  mpi -np 2 "$FLANVK" train "${common[@]}" --steps 50 --save-every 2 --out "$work/afile/ck" > /dev/null 2> "$work/s.err" || rc=$?
  ms=$((($(date +%s%N) - t0) / 1000000))
  msg=$(grep -m1 "rank 0 of 2:" "$work/s.err" || true)
  # (not required: Open MPI's own MPI_ABORT banner, which it sometimes replaces by an ORTE_ERROR_LOG
  # line from show_help when the aborting process is gone first)
  if [ "$rc" != 0 ] && [ -n "$msg" ] && [ "$ms" -lt 60000 ]; then
    echo "rank 0 failing at its first save: job ended in $ms ms (with startup), exit $rc: $msg"
  else
    echo "failing rank: FAIL (exit $rc after $ms ms)"; cat "$work/s.err"; fails=$((fails + 1))
  fi

  # non-finite steps (lr 1e30): skipped on every rank together, said once; 5 in a row stop the job
  expect_error "non-finite steps" "steps in a row had a non-finite" \
    -np 2 "$FLANVK" train "${common[@]}" --steps 10 --lr 1e30 --out "$work/nan"
  n=$(grep -c "not finite, step skipped" "$work/err" || true)
  [ "$n" = 5 ] || { echo "skipped steps reported $n times, expected 5 (once per step)"; fails=$((fails + 1)); }

  expect_error "different flags" "not given the same training flags" \
    -np 1 "$FLANVK" train "${common[@]}" --steps 2 --out "$work/f" : -np 1 "$FLANVK" train "${common[@]}" --steps 2 --lr 2e-3 --out "$work/f"
  head -n 20 "$work/data.jsonl" > "$work/other.jsonl"
  # the same path on both ranks, different files: rank 1 reads a copy with half the examples
  mkdir -p "$work/r0" "$work/r1"
  cp "$work/data.jsonl" "$work/r0/d.jsonl"
  cp "$work/other.jsonl" "$work/r1/d.jsonl"
  expect_error "different data" "the ranks read different data" \
    -np 1 --wdir "$work/r0" "$FLANVK" train --model "$work/model" --data d.jsonl --seq-len-in 16 --seq-len-out 8 \
    --batch-size 2 --steps 2 --out "$work/g" : -np 1 --wdir "$work/r1" "$FLANVK" train --model "$work/model" \
    --data d.jsonl --seq-len-in 16 --seq-len-out 8 --batch-size 2 --steps 2 --out "$work/g"
  head -n 3 "$work/data.jsonl" > "$work/few.jsonl"
  expect_error "more ranks than rows" "leave rank 1 without any" \
    -np 2 "$FLANVK" train --model "$work/model" --data "$work/few.jsonl" --seq-len-in 16 --seq-len-out 8 \
    --batch-size 4 --steps 2 --out "$work/h"
  # a checkpoint whose training state is another model's (d_ff 80 -> 96)
  "$FLANVK" train "${common[@]}" --steps 1 --out "$work/ck" > /dev/null
  sed 's/"d_ff": 80/"d_ff": 96/' "$work/model/config.json" > "$work/other_cfg.json"
  "$FLANVK" train --config "$work/other_cfg.json" "${base[@]}" --batch-size 2 --steps 1 --out "$work/ck2" > /dev/null
  cp "$work/ck2/training_state.safetensors" "$work/ck/training_state.safetensors"
  expect_error "checkpoint of another model" "training_state" \
    -np 2 "$FLANVK" train --resume "$work/ck" "${base[@]}" --batch-size 2 --steps 3 --out "$work/ck"
fi

if [ "$fails" != 0 ]; then echo "$fails failed"; exit 1; fi
echo "mpi $PART: all passed"
