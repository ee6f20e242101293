#!/usr/bin/env bash
# The README's test command: install dependencies, build, run every test; then build again with
# AddressSanitizer and UndefinedBehaviorSanitizer and run the tests once more.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"
# Every fuzz harness briefly (tests/fuzz: a clang build of the parsers in build-fuzz/, each harness
# FLANVK_FUZZ_SECONDS, default 3): about 1.5 minutes on 2 cores, build included. The long runs are
# scripts/fuzz.sh 3600 (docs/RELIABILITY.md). ctest above already replayed the seeds and regressions.
if [ "${FLANVK_SKIP_FUZZ:-0}" != 1 ]; then
  scripts/fuzz.sh "${FLANVK_FUZZ_SECONDS:-3}"
fi
if [ "${FLANVK_SKIP_SANITIZE:-0}" != 1 ]; then
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFLANVK_SANITIZE=ON >/dev/null
  cmake --build build-asan -j"$jobs"
  # The sanitizer pass runs each op check once (default path, quick shapes) and every unit and e2e
  # test; the subgroup-size, load-path and device-profile variants run only in the Release pass
  # above (the same host code under other limits; under ASan they would multiply CI's time), and so
  # do the low-bit variants of the reference model (q8 stays: it runs the typed host code) and the
  # small-model weights e2e (its loading and packing code is the one e2e_convert runs under ASan), and
  # the training-feedback e2e (test_train_feedback runs the same evaluator and plot code there).
  # The MPI tests (mpi_*) run here too: tests/e2e/mpi.sh adds tests/lsan_mpi.supp (Open MPI's own
  # leaks, the same in a bare MPI program) to the suppressions for its runs.
  # Leaks inside the Vulkan driver (lavapipe's LLVM) are not ours: see tests/lsan.supp.
  # ASan's default quarantine keeps freed memory of the driver and validation layer resident, which
  # grows a training test from 0.2 GB (Release) past 20 GB; a small quarantine released to the OS
  # keeps it near 2.5 GB while still catching use-after-free of recent blocks.
  ASAN_OPTIONS=detect_leaks=1:quarantine_size_mb=8:thread_local_quarantine_size_kb=64:release_to_os_interval_ms=100 \
  LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 FLANVK_CHECK_QUICK=1 \
    ctest --test-dir build-asan --output-on-failure -j"$jobs" -E '_(storage|sg[0-9]+|sg[0-9]+_storage|nof16|no8no16)$|^profile_|^test_t5_reference_(f16|bf16|kv16)$|^e2e_(weights|feedback)$'
fi
