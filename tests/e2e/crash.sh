#!/usr/bin/env bash
# The short version of scripts/crash_test.sh for CI (the full one: 50 kills, docs/RELIABILITY.md):
# 5 kill -9s of training (resume bit-identical), mix, convert and merge killed at random (the old
# output or the whole new one), a checkpoint and a pack write past `ulimit -f` (one line, the old
# one intact), a checkpoint with a model from another save refused, and device memory capped at
# three points (one line, no crash, no hang).
set -euo pipefail
FLANVK=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
# the pipeline cache stays on (unlike the other e2e tests): each of the many restarts would
# otherwise compile every pipeline again
# Under the sanitizers (scripts/test.sh's second pass sets ASAN_OPTIONS): the error paths (disk
# full, the stamp, device memory capped: what ASan and LSan can find wrong there) and the host-only
# writers; the training kills, whose killed processes ASan cannot report on anyway, run in the
# Release pass only.
if [ -n "${ASAN_OPTIONS:-}" ]; then export CRASH_PARTS=${CRASH_PARTS:-mix convert output disk stamp mem}; fi
FLANVK=$FLANVK CRASH_QUICK=1 CRASH_STEPS=6 bash "$root/scripts/crash_test.sh" 5
echo "1 passed, 0 failed"
