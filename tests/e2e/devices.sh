#!/usr/bin/env bash
# End to end, device profiles from the command line: `devices --json` prints one object per device
# with every documented key, under no profile and under each profile (--profile and FLANVK_PROFILE),
# showing the profile's clamps; an unknown profile fails naming the known ones; `test-ops --report`
# writes a valid report under a profile.
set -euo pipefail
FLANVK=$1 CHECK=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export FLANVK_NO_PIPELINE_CACHE=1
keys="index name type vendor_id driver api_version profile subgroup_size max_shared_memory max_workgroup_invocations
  max_storage_buffer_range max_allocation_size max_push_constants min_storage_buffer_offset_alignment fp16 storage16 int8
  memory_types"
fail() { echo "FAIL: $*"; exit 1; }
"$FLANVK" devices --json > "$work/none.jsonl" 2> "$work/err.txt"
"$CHECK" lines "$work/none.jsonl" $keys
grep -q '"profile":"none"' "$work/none.jsonl" || fail "no profile: profile is not none"
for p in nvidia amd-windows intel-windows apple mobile minimum; do
  "$FLANVK" devices --json --profile "$p" > "$work/$p.jsonl" 2>> "$work/err.txt"
  "$CHECK" lines "$work/$p.jsonl" $keys
  grep -q "\"profile\":\"$p\"" "$work/$p.jsonl" || fail "$p: profile not shown"
  FLANVK_PROFILE=$p "$FLANVK" devices --json | cmp -s - "$work/$p.jsonl" || fail "$p: FLANVK_PROFILE and --profile differ"
done
# Discrete profiles: no device-local memory type is host-visible except amd-windows's window.
grep -q '"device_local":true,"host_visible":true' "$work/nvidia.jsonl" && fail "nvidia: device-local memory is host-visible"
grep -q '"type":"discrete"' "$work/nvidia.jsonl" || fail "nvidia: not discrete"
grep -q '"type":"integrated"' "$work/mobile.jsonl" || fail "mobile: not integrated"
grep -q '"host_cached":true' "$work/mobile.jsonl" && fail "mobile: a cached host type"
grep -q '"max_workgroup_invocations":128,' "$work/minimum.jsonl" || fail "minimum: invocations not 128"
grep -q '"fp16":false' "$work/minimum.jsonl" || fail "minimum: fp16 on"
if "$FLANVK" devices --profile no-such-gpu > /dev/null 2> "$work/unknown.txt"; then fail "an unknown profile was accepted"; fi
grep -q "nvidia, amd-windows, intel-windows, apple, mobile, minimum" "$work/unknown.txt" || fail "unknown profile: names not listed"
FLANVK_CHECK_QUICK=1 "$FLANVK" test-ops --profile minimum --op cast --report "$work/report.json" > /dev/null 2>> "$work/err.txt"
"$CHECK" report "$work/report.json" device profile environment checks passed failed errors
grep -Eq '"profile":[[:space:]]*"minimum"' "$work/report.json" || fail "report: profile not minimum"
if grep -q "validation:" "$work/err.txt"; then echo "validation layer messages"; exit 1; fi
echo "1 passed, 0 failed"
