#!/usr/bin/env bash
# flanvk serve end to end (issue #15) on the reference tiny model (det weights, bundled tokenizer):
# tests/e2e/serve_client.py sends 32 concurrent completions (greedy and seeded sampling) and checks
# each against `flanvk generate` on the same prompt and settings; streamed text == non-streamed,
# usage counts; a battery of bad requests (malformed JSON, wrong types, huge body, over-long prompt,
# limits, unknown endpoint, wrong method, API key, a client leaving mid-stream) each with its status
# and a good request answered after them; /metrics; a full queue answers 503 + Retry-After (a
# second server with one slot and a queue of one); SIGINT and SIGTERM exit 0.
set -euo pipefail
FLANVK=$1 DET_MODEL=$2
here=$(cd "$(dirname "$0")" && pwd)
root="$here/../.."
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$work"/*.err; do echo "--- $f"; tail -20 "$f"; done; exit 1; }

FLANVK_SOURCE_DIR="$root" "$DET_MODEL" tiny_gated "$work/m" || fail "det_model"
cp "$root/assets/tokenizer/spiece.model" "$work/m/"

# start NAME ARGS...: a server on a free port; sets PORT and PID
start() {
  local name=$1; shift
  "$FLANVK" serve --model "$work/m" --port 0 "$@" 2> "$work/$name.err" &
  PID=$!
  pids+=("$PID")
  for _ in $(seq 1 600); do
    PORT=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$work/$name.err")
    [ -n "$PORT" ] && return 0
    kill -0 "$PID" 2>/dev/null || fail "$name: the server exited before listening"
    sleep 0.2
  done
  fail "$name: not listening after 120 s"
}

start main --max-batch 8 --max-queue 48 --max-new-tokens-limit 32 --api-key sekret --model-name tiny
"$PY" "$here/serve_client.py" main "$PORT" "$FLANVK" "$work" || fail "client checks"
start small --max-batch 1 --max-queue 1 --max-new-tokens-limit 32 --api-key sekret
"$PY" "$here/serve_client.py" queue "$PORT" "$FLANVK" "$work" || fail "queue checks"

# SIGINT / SIGTERM: stop accepting, finish, exit 0
for spec in "main:INT:${pids[0]}" "small:TERM:${pids[1]}"; do
  IFS=: read -r name sig pid <<< "$spec"
  kill -"$sig" "$pid"
  set +e
  wait "$pid"
  rc=$?
  set -e
  [ "$rc" = 0 ] || fail "$name: exit status $rc after SIG$sig"
  grep -q "serve: stopped" "$work/$name.err" || fail "$name: no 'stopped' line"
done
echo "SIGINT (main) and SIGTERM (small): both servers exited 0"
lines=$(grep -c '^serve: [A-Z]* /' "$work/main.err")
echo "the main server logged $lines request lines; the clients that left:"
grep ' 499 ' "$work/main.err" | sed 's/^/  /' || echo "  (none seen as 499: the tiny model finished first)"
echo "1 passed, 0 failed"
