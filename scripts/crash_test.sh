#!/usr/bin/env bash
# Crash safety (issue 16; results in docs/RELIABILITY.md): kill -9 flanvk's writers at random
# moments and check that what they leave is whole, run them out of disk and out of device memory
# and check the error.
#
#   scripts/crash_test.sh [KILLS]        (default 50; FLANVK=path/to/flanvk, default build/flanvk)
#
# Parts (CRASH_PARTS, default all of "train mix convert merge output disk stamp mem"):
#  train    train the tiny T5 with a checkpoint every step and kill it KILLS times: at a uniformly
#           random moment (startup, mid-step, mid-checkpoint), or (every third kill) at a random
#           moment once the checkpoint's staging directory has appeared. After each kill the
#           checkpoint directory (if any yet) loads (info --load; loss.png ends in IEND) and training
#           resumes from it (or starts afresh if there is none). When a chain of runs reaches the
#           last step, its log (step, loss, lr, grad norm), model.safetensors and
#           training_state.safetensors must be identical, byte for byte, to an uninterrupted run's,
#           and no temporary or staging directory may be left; then a new chain starts.
#  mix      `mix` rewriting a pack file killed KILLS/2 times: the file is the old pack or the
#           new one, byte-identical (cmp).
#  convert  `convert --weights q8` killed KILLS/4 times: OUT is absent or byte-identical to an
#           undisturbed convert's; after a finished one no temporary directory remains.
#  merge    the same for `merge` (a LoRA adapter written by tests/e2e/lora_tool.py; skipped
#           without python3).
#  output   `generate --output` and `score --output` killed KILLS/4 times each: the file is the
#           old one or the new one; a temporary of a process that no longer runs is removed by the
#           next run.
#  disk     a checkpoint save and a pack write past `ulimit -f` (and, when run as root where mount
#           works, on a full 60 MiB tmpfs): one line on stderr naming the file, a non-zero exit,
#           the previous checkpoint / pack byte-identical, no temporaries left.
#  stamp    a checkpoint whose model.safetensors is from an earlier save than its training state
#           (what a kill leaves on a file system without rename exchange, where files are renamed
#           one by one) is refused on resume with one line.
#  mem      train and generate under FLANVK_MAX_DEVICE_MEMORY too small at several points (loading,
#           the optimizer, the step graph; the KV cache): one line naming what, a non-zero exit,
#           no signal, no hang.
# CRASH_QUICK=1 (CI, tests/e2e/crash.sh): no tmpfs case, three device-memory caps instead of six.
# Prints one line per kill (with where it landed) and a summary; exit status 1 on any failure.
set -uo pipefail
KILLS=${1:-50}
root=$(cd "$(dirname "$0")/.." && pwd)
FLANVK=${FLANVK:-$root/build/flanvk}
PARTS=${CRASH_PARTS:-train mix convert merge output disk stamp mem}
[ -x "$FLANVK" ] || { echo "crash_test: $FLANVK is not built"; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/flanvk-crash.XXXXXX")
mounted=""
cleanup() { [ -n "$mounted" ] && umount "$mounted" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
RANDOM=${CRASH_SEED:-$$}
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
has() { case " $PARTS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
# a random duration in seconds, uniform in [0, $1) (milliseconds resolution; $1 in ms)
rnd_s() { local ms=$(( (RANDOM * 32768 + RANDOM) % $1 )); printf '%d.%03d' $((ms / 1000)) $((ms % 1000)); }
now_ms() { date +%s%3N; }

# the step a checkpoint directory's training state records (empty: none)
ckpt_step() { head -c 65536 "$1/training_state.safetensors" 2>/dev/null | tr -d '\0' | grep -ao '"flanvk_step":"[0-9]*"' | tr -dc 0-9; }
qa=$root/tests/e2e/qa.jsonl
tok=$root/assets/tokenizer
train_args=(--data "$qa" --lr 1e-2 --batch-size 4 --seed 7 --save-every 1)

# ---- train: kill -9 during startup, steps and checkpoint writes; resume bit-identical -------------
if has train; then
  STEPS=${CRASH_STEPS:-$(( KILLS < 8 ? 8 : KILLS ))}
  t0=$(now_ms)
  "$FLANVK" train --config tiny "${train_args[@]}" --tokenizer "$tok" --steps "$STEPS" --out "$work/ref" \
    --log "$work/ref.csv" >/dev/null 2>"$work/ref.err" || { cat "$work/ref.err"; echo "FAIL: the uninterrupted run"; exit 1; }
  ref_ms=$(( $(now_ms) - t0 ))
  # uniform kills over a window of startup and about two steps with their saves, timed on a run
  # with the shader caches warm (the first run above may have compiled every pipeline)
  t0=$(now_ms)
  "$FLANVK" train --config tiny "${train_args[@]}" --tokenizer "$tok" --steps 2 --out "$work/t2" >/dev/null 2>&1
  window=$(( ($(now_ms) - t0) * 3 / 2 ))
  rm -rf "$work/t2"
  echo "train: uninterrupted run of $STEPS steps in $ref_ms ms; kills uniform over $window ms or a moment into a save"
  k=0 chain=1 runs=0 finished=0
  declare -A where=()
  out=$work/c$chain
  while [ $k -lt "$KILLS" ]; do
    if [ -f "$out/training_state.safetensors" ]; then
      args=(--resume "$out")
    else
      args=(--config tiny --tokenizer "$tok")
    fi
    step0=$(ckpt_step "$out")
    touch "$work/launch"
    "$FLANVK" train "${args[@]}" "${train_args[@]}" --steps "$STEPS" --out "$out" --log "$out.csv" \
      >>"$work/chain.out" 2>"$work/run.err" &
    pid=$!
    runs=$((runs + 1))
    mode=uniform
    if [ $((k % 3)) = 2 ]; then
      mode=staging
      # poll for the staging directory, then kill a random moment into the save
      # (this run's: one left by a killed run stays until the next save settles it)
      while kill -0 $pid 2>/dev/null && [ ! -e "$out.staging-$pid" ]; do sleep 0.005; done
      sleep "$(rnd_s 400)"
    else
      sleep "$(rnd_s $window)"
    fi
    # where it landed: mid-save (this run's staging directory), in the steps (this run has logged a
    # step past its checkpoint: the log written since the launch), or in startup and the first step
    logged=$(tail -n 1 "$out.csv" 2>/dev/null | cut -d, -f1)
    if ! kill -0 $pid 2>/dev/null; then at=exited
    elif [ -e "$out.staging-$pid" ]; then at=checkpoint-write
    elif [ "$out.csv" -nt "$work/launch" ] && [ "${logged:-0}" -gt "${step0:-0}" ] 2>/dev/null; then at=mid-steps
    else at=startup-or-first-step
    fi
    if kill -9 $pid 2>/dev/null; then
      wait $pid 2>/dev/null
      k=$((k + 1))
      where[$at]=$(( ${where[$at]:-0} + 1 ))
      step=$(ckpt_step "$out")
      echo "kill $k ($mode): $at, checkpoint at step ${step:-none} (was ${step0:-none})"
      if [ -e "$out" ]; then
        "$FLANVK" info --model "$out" --load >"$work/info.out" 2>&1 || { cat "$work/info.out"; fail "kill $k: the checkpoint does not load"; }
        [ "$(tail -c 8 "$out/loss.png" | head -c 4)" = IEND ] || fail "kill $k: loss.png is cut short"
      fi
      continue
    fi
    # the run ended before the kill
    wait $pid; rc=$?
    if [ $rc != 0 ]; then cat "$work/run.err"; fail "chain $chain: a run exited with $rc"; break; fi
    # a finished chain: the same log, model and state as the uninterrupted run
    finished=$((finished + 1))
    if ! diff <(cut -d, -f1-4 "$work/ref.csv") <(cut -d, -f1-4 "$out.csv") >"$work/diff.txt"; then
      head "$work/diff.txt"; fail "chain $chain: the log differs from the uninterrupted run's"
    fi
    for f in model.safetensors training_state.safetensors config.json; do
      cmp -s "$work/ref/$f" "$out/$f" || fail "chain $chain: $f differs from the uninterrupted run's"
    done
    left=$(ls -d "$out".staging-* "$out"/*.tmp.* 2>/dev/null)
    [ -z "$left" ] && echo "chain $chain: $STEPS steps reached after $runs runs: log, model and training state identical to the uninterrupted run" \
      || fail "chain $chain: left behind: $left"
    chain=$((chain + 1))
    out=$work/c$chain
  done
  summary=""
  for a in "${!where[@]}"; do summary+=" $a ${where[$a]},"; done
  echo "train: $k kills in $runs runs over $chain chains ($finished finished):${summary%,}"
  # the last chain, unfinished: resume it to the end and compare
  if [ -f "$out/training_state.safetensors" ]; then args=(--resume "$out"); else args=(--config tiny --tokenizer "$tok"); fi
  if "$FLANVK" train "${args[@]}" "${train_args[@]}" --steps "$STEPS" --out "$out" --log "$out.csv" >/dev/null 2>"$work/run.err"; then
    diff -q <(cut -d, -f1-4 "$work/ref.csv") <(cut -d, -f1-4 "$out.csv") >/dev/null || fail "last chain: the log differs"
    for f in model.safetensors training_state.safetensors; do cmp -s "$work/ref/$f" "$out/$f" || fail "last chain: $f differs"; done
    [ -z "$(ls -d "$out".staging-* "$out"/*.tmp.* 2>/dev/null)" ] || fail "last chain: temporaries left behind"
    echo "train: last chain resumed to step $STEPS: identical to the uninterrupted run"
  else
    cat "$work/run.err"; fail "last chain: resume failed"
  fi
fi

# ---- single-file writers: the file is the old one or the new one --------------------------------
# kill_file NAME N FILE OLD CMD...: CMD writes FILE. FILE starts as a copy of OLD; an undisturbed
# run gives NEW; then CMD is killed N times at a random moment of its run and FILE must be OLD or
# NEW, byte for byte. A temporary planted for a process that no longer runs (what a kill leaves
# when it lands between create and rename) and those of the kills must be gone after a last run.
kill_file() {
  local name=$1 n=$2 file=$3 old=$4
  shift 4
  local t0 ms o=0 w=0 dead
  cp "$old" "$file"
  t0=$(now_ms)
  "$@" >/dev/null 2>&1 || { fail "$name (undisturbed)"; return; }
  ms=$(( $(now_ms) - t0 + 100 ))
  cp "$file" "$work/kf.new"
  cp "$old" "$file"
  for i in $(seq "$n"); do
    "$@" >/dev/null 2>&1 &
    local pid=$!
    sleep "$(rnd_s $ms)"
    kill -9 $pid 2>/dev/null
    wait $pid 2>/dev/null
    if cmp -s "$file" "$old"; then o=$((o + 1))
    elif cmp -s "$file" "$work/kf.new"; then w=$((w + 1)); cp "$old" "$file"
    else fail "$name kill $i: $(basename "$file") is neither the old nor the new one"; cp "$old" "$file"
    fi
  done
  dead=$(sh -c 'echo $$')
  echo partial > "$file.tmp.$dead"
  "$@" >/dev/null 2>&1 && cmp -s "$file" "$work/kf.new" || fail "$name after the kills"
  [ -z "$(ls "$file".tmp.* 2>/dev/null)" ] || fail "$name: temporaries of killed runs left behind"
  echo "$name: $n kills over a ${ms} ms run: old file $o times, new file $w times, never anything else; no temporary left"
}
if has mix; then
  mixargs=(--mixture "$root/assets/mixtures/default.json" --model "$tok" --seq-len-in 128 --seq-len-out 64)
  "$FLANVK" mix "${mixargs[@]}" --examples 40 --out "$work/old.pack" >/dev/null 2>&1 || fail "mix (old)"
  kill_file mix $(( KILLS / 2 > 3 ? KILLS / 2 : 3 )) "$work/p.pack" "$work/old.pack" \
    "$FLANVK" mix "${mixargs[@]}" --examples 200 --out "$work/p.pack"
fi

# ---- convert and merge: OUT absent or whole ----------------------------------------------------
# kill_writer NAME N CMD...: run CMD (writing $work/w) N times, killed at random; OUT absent or as $work/wref
kill_writer() {
  local name=$1 n=$2
  shift 2
  rm -rf "$work/w" "$work/wref"
  local t0 ms absent=0 whole=0
  t0=$(now_ms)
  "$@" "$work/wref" >/dev/null 2>&1 || { fail "$name (undisturbed)"; return; }
  ms=$(( $(now_ms) - t0 + 100 ))
  for i in $(seq "$n"); do
    "$@" "$work/w" >/dev/null 2>&1 &
    local pid=$!
    sleep "$(rnd_s $ms)"
    kill -9 $pid 2>/dev/null
    wait $pid 2>/dev/null
    if [ ! -e "$work/w" ]; then absent=$((absent + 1))
    elif diff -r "$work/w" "$work/wref" >/dev/null; then whole=$((whole + 1)); rm -rf "$work/w"
    else fail "$name kill $i: OUT is there but not whole"; rm -rf "$work/w"
    fi
  done
  rm -rf "$work/w"
  "$@" "$work/w" >/dev/null 2>&1 && diff -r "$work/w" "$work/wref" >/dev/null || fail "$name after the kills"
  [ -z "$(ls -d "$work"/w.tmp.* 2>/dev/null)" ] || fail "$name: temporary directories of killed runs left behind"
  echo "$name: $n kills over a ${ms} ms write: OUT absent $absent times, whole $whole times, never anything else"
}
model=$work/ref
if has convert || has merge; then
  [ -f "$model/model.safetensors" ] || "$FLANVK" train --config tiny "${train_args[@]}" --tokenizer "$tok" --steps 1 \
    --out "$model" >/dev/null 2>&1 || fail "training a model to convert"
fi
if has convert; then
  kill_writer convert $(( KILLS / 4 > 2 ? KILLS / 4 : 2 )) "$FLANVK" convert --model "$model" --weights q8 --out
fi
if has merge; then
  if python3 "$root/tests/e2e/lora_tool.py" adapter "$model" "$work/adapter" \
       r=4 alpha=8 targets=q,v,wo >/dev/null 2>&1; then
    kill_writer merge $(( KILLS / 4 > 2 ? KILLS / 4 : 2 )) "$FLANVK" merge --model "$model" --adapter "$work/adapter" --weights f32 --out
  else
    echo "merge: SKIP (no python3 to write an adapter)"
  fi
fi

# ---- generate and score --output: the old file or the new one ---------------------------------
if has output; then
  [ -f "$model/model.safetensors" ] || "$FLANVK" train --config tiny "${train_args[@]}" --tokenizer "$tok" --steps 1 \
    --out "$model" >/dev/null 2>&1 || fail "training a model for generate and score"
  head -n 24 "$qa" | sed 's/"inputs"/"prompt"/' > "$work/prompts.jsonl"
  echo '{"prompt": "old"}' > "$work/old.in"
  "$FLANVK" generate --model "$model" --input "$work/old.in" --output "$work/old.gen" --max-new-tokens 4 >/dev/null 2>&1 \
    || fail "generate (old)"
  kill_file "generate --output" $(( KILLS / 4 > 3 ? KILLS / 4 : 3 )) "$work/g.jsonl" "$work/old.gen" \
    "$FLANVK" generate --model "$model" --input "$work/prompts.jsonl" --output "$work/g.jsonl" --max-new-tokens 16
  "$FLANVK" score --model "$model" --input "$qa" --output "$work/old.score" >/dev/null 2>&1 || fail "score (old)"
  head -n 24 "$qa" > "$work/pairs.jsonl"
  kill_file "score --output" $(( KILLS / 4 > 3 ? KILLS / 4 : 3 )) "$work/s.jsonl" "$work/old.score" \
    "$FLANVK" score --model "$model" --input "$work/pairs.jsonl" --output "$work/s.jsonl"
fi

# ---- disk full ---------------------------------------------------------------------------------
# one_line_error FILE NAME WHY: stderr FILE is one line naming NAME and saying WHY
one_line_error() {
  local lines
  lines=$(wc -l <"$1")
  if [ "$lines" != 1 ] || ! grep -q "$2" "$1" || ! grep -q "$3" "$1"; then
    sed 's/^/  | /' "$1"; fail "expected one line on stderr naming $2 ($3)"; return 1
  fi
  echo "  $(cat "$1")"
}
snapshot() { (cd "$1" && sha256sum -- * 2>/dev/null); }
# disk_case LABEL DIR LIMIT_KB WHY: a checkpoint in DIR at step 1, then a resume to step 3 under LIMIT_KB
# (KiB; empty: none), whose first save fails with WHY
disk_case() {
  local label=$1 dir=$2 limit=$3 why=$4
  rm -rf "$dir/ck" "$dir/ck.csv"
  "$FLANVK" train --config tiny "${train_args[@]}" --tokenizer "$tok" --steps 1 --out "$dir/ck" --log "$dir/ck.csv" \
    >/dev/null 2>&1 || { fail "$label: the first checkpoint"; return; }
  local before
  before=$(snapshot "$dir/ck")
  ( [ -n "$limit" ] && ulimit -f "$limit"
    exec "$FLANVK" train --resume "$dir/ck" "${train_args[@]}" --steps 3 --out "$dir/ck" --log "$dir/ck.csv" >/dev/null 2>"$work/disk.err" )
  local rc=$?
  [ $rc != 0 ] && [ $rc -lt 128 ] || fail "$label: exit status $rc (want an error, not success or a signal)"
  echo "$label: exit $rc"
  one_line_error "$work/disk.err" "training_state.safetensors\|model.safetensors\|spiece.model\|loss.png" "$why"
  [ "$(snapshot "$dir/ck")" = "$before" ] || fail "$label: the previous checkpoint changed"
  [ -z "$(ls -d "$dir"/ck.staging-* "$dir"/ck/*.tmp.* 2>/dev/null)" ] || fail "$label: temporaries left behind"
  # with room again, the run resumes from the intact checkpoint
  # with room again, the run resumes from the intact checkpoint
  [ -z "$limit" ] && { mount -o remount,size=200M "$dir" || fail "$label: remount"; }
  "$FLANVK" train --resume "$dir/ck" "${train_args[@]}" --steps 3 --save-every 0 --out "$dir/ck" --log "$dir/ck.csv" \
    >/dev/null 2>&1 || fail "$label: resuming after the failed save"
  [ "$(cut -d, -f1 "$dir/ck.csv" | tr '\n' ' ')" = "step 1 2 3 " ] || fail "$label: the log is not steps 1-3 once each"
}
if has disk; then
  # ulimit -f is in KiB: 20000 holds the 17 MB model but not the 34 MB training state
  disk_case "disk: checkpoint past ulimit -f 20000" "$work" 20000 "File too large"
  mkdir -p "$work/tfs"
  if [ "${CRASH_QUICK:-0}" != 1 ] && [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=60M tmpfs "$work/tfs" 2>/dev/null; then
    mounted=$work/tfs
    # 60 MiB: the first checkpoint (about 51 MB) fits, a second beside it (staging) does not
    disk_case "disk: checkpoint on a full 60 MiB tmpfs" "$work/tfs" "" "No space left on device"
    umount "$work/tfs" && mounted=""
  else
    echo "disk: tmpfs case SKIP (quick mode, or no root and mount)"
  fi
  mixargs=(--mixture "$root/assets/mixtures/default.json" --model "$tok" --seq-len-in 128 --seq-len-out 64)
  "$FLANVK" mix "${mixargs[@]}" --examples 40 --out "$work/d.pack" >/dev/null 2>&1 || fail "mix for the disk case"
  sum=$(sha256sum <"$work/d.pack")
  ( ulimit -f 64; exec "$FLANVK" mix "${mixargs[@]}" --examples 200 --out "$work/d.pack" >/dev/null 2>"$work/disk.err" )
  rc=$?
  [ $rc != 0 ] && [ $rc -lt 128 ] || fail "disk: mix past ulimit -f: exit status $rc"
  echo "disk: pack past ulimit -f 64: exit $rc"
  one_line_error "$work/disk.err" "d.pack" "File too large"
  [ "$(sha256sum <"$work/d.pack")" = "$sum" ] || fail "disk: the previous pack changed"
  [ -z "$(ls "$work"/d.pack.tmp.* 2>/dev/null)" ] || fail "disk: the pack's temporary left behind"
fi

# ---- a model and a training state from different saves (the file-by-file fallback killed midway) --
if has stamp; then
  # s1 at step 1, s2 resumed from it to step 2; then s2 with s1's model
  "$FLANVK" train --config tiny "${train_args[@]}" --tokenizer "$tok" --steps 1 --out "$work/s1" >/dev/null 2>&1 &&
  "$FLANVK" train --resume "$work/s1" "${train_args[@]}" --steps 2 --out "$work/s2" >/dev/null 2>&1 || fail "stamp: training"
  cp "$work/s1/model.safetensors" "$work/s2/model.safetensors"
  "$FLANVK" train --resume "$work/s2" "${train_args[@]}" --steps 100 --out "$work/s2" >/dev/null 2>"$work/stamp.err"
  rc=$?
  [ $rc != 0 ] && [ $rc -lt 128 ] || fail "stamp: resuming a step-1 model with a later training state: exit status $rc"
  echo "stamp: a step-1 model beside a later training state: exit $rc"
  one_line_error "$work/stamp.err" "model is from step 1," "training state"
fi

# ---- device memory exhausted -------------------------------------------------------------------
# mem_case LABEL CAP CMD...: under the cap, CMD fails with one line, no signal, within 120 s
mem_case() {
  local label=$1 cap=$2
  shift 2
  FLANVK_MAX_DEVICE_MEMORY=$cap timeout 120 "$@" >/dev/null 2>"$work/mem.err"
  local rc=$?
  [ $rc != 0 ] && [ $rc != 124 ] && [ $rc -lt 128 ] || fail "mem: $label: exit status $rc (want an error: not success, a hang or a signal)"
  echo "mem: $label (cap $cap bytes): exit $rc"
  one_line_error "$work/mem.err" "out of device memory" "FLANVK_MAX_DEVICE_MEMORY"
}
if has mem; then
  tr=("$FLANVK" train --config tiny "${train_args[@]}" --tokenizer "$tok" --steps 1 --out "$work/mem")
  mem_case "train, the first weight" 1000 "${tr[@]}"
  [ "${CRASH_QUICK:-0}" = 1 ] || mem_case "train, the gradients" 25000000 "${tr[@]}"
  mem_case "train, the step graph's buffers" 40000000 "${tr[@]}"
  [ "${CRASH_QUICK:-0}" = 1 ] || mem_case "train, the optimizer state" 100000000 "${tr[@]}"
  [ -f "$model/model.safetensors" ] || "$FLANVK" train --config tiny "${train_args[@]}" --tokenizer "$tok" --steps 1 \
    --out "$model" >/dev/null 2>&1
  gen=("$FLANVK" generate --model "$model" --prompt "What is the capital of France?" --max-new-tokens 4)
  [ "${CRASH_QUICK:-0}" = 1 ] || mem_case "generate, the first weight" 4000000 "${gen[@]}"
  mem_case "generate, the last weight" 18600000 "${gen[@]}"
  [ "${CRASH_QUICK:-0}" = 1 ] || FLANVK_MAX_DEVICE_MEMORY=150000000 "$FLANVK" train --config tiny "${train_args[@]}" --tokenizer "$tok" --steps 1 \
    --out "$work/mem" >/dev/null 2>&1 || fail "mem: train under a cap of 150 MB that fits"
fi

if [ $failures = 0 ]; then echo "crash_test: all passed"; exit 0; fi
echo "crash_test: $failures failures"
exit 1
