#!/usr/bin/python3
"""OpenBLAS sgemm through Debian's numpy at the GEMM shapes of `flanvk bench ops`, for
docs/PERFORMANCE.md. Same layout as flanvk's benchmark: C[M, N] = A[M, K] @ W[N, K]^T (a linear
layer with HF weights), float32, best of a few runs after a warm-up.

usage: /usr/bin/python3 tools/bench_numpy_gemm.py [--json]
(Debian's python3 has numpy; the python3 first on PATH may not.) Debian's numpy calls libblas.so.3:
the reference BLAS unless OpenBLAS is installed (libopenblas0-pthread), which uses every core by
default; docs/PERFORMANCE.md gives both."""
import json
import sys
import time

import numpy as np

SHAPES = [(1024, 1024, 1024)] + [(m, n, k) for m in (512, 4096) for n in (1024, 2048, 32128) for k in (512, 768, 1024)]


def best_ms(f, flop):
    f()  # warm-up
    runs = 1 if flop > 20e9 else 5
    best = 1e30
    for _ in range(runs):
        t0 = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t0)
    return best * 1e3


def main():
    as_json = "--json" in sys.argv[1:]
    rng = np.random.default_rng(0)
    if not as_json:
        print(f"numpy {np.__version__}")
    for m, n, k in SHAPES:
        a = rng.standard_normal((m, k), dtype=np.float32)
        w = rng.standard_normal((n, k), dtype=np.float32)
        c = np.empty((m, n), dtype=np.float32)
        flop = 2.0 * m * n * k
        ms = best_ms(lambda: np.matmul(a, w.T, out=c), flop)
        gf = flop / (ms * 1e6)
        shape = f"{m}x{n}x{k}"
        if as_json:
            print(json.dumps({"name": "numpy_sgemm", "shape": shape, "ms": round(ms, 3), "gflops": round(gf, 2)}))
        else:
            print(f"numpy_sgemm  {shape:<20} {ms:10.2f} ms {gf:8.2f} GFLOP/s", flush=True)


if __name__ == "__main__":
    main()
