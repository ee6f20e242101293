#!/usr/bin/env python3
"""Test helper for e2e/mpi.sh, standard library only (CI has no numpy).

  mpi_compare.py csv A.csv B.csv TOL [NTOL]   per-step losses of two training logs agree within TOL
                                              relative, grad norms within NTOL (default TOL): a norm
                                              sums squares of every gradient, so it shows the
                                              reordered sums of 2 ranks more than the loss does;
                                              eval losses (when logged) at the same steps within TOL
  mpi_compare.py weights DIR_A DIR_B TOL      every tensor of DIR_A/model.safetensors and DIR_B's agrees:
                                              max |a - b| <= TOL * max |b| per tensor
Prints what it compared and the largest error it saw; exits 1 past TOL.
"""
import array, json, struct, sys


def rows(path):
    with open(path) as f:
        head = f.readline().strip().split(",")
        out = []
        for line in f:
            v = dict(zip(head, line.strip().split(",")))
            ev = v.get("eval_loss", "")
            out.append((int(v["step"]), float(v["loss"]), float(v["grad_norm"]), float(ev) if ev else None))
    return out


def rel(a, b):
    return abs(a - b) / max(abs(b), 1e-30)


def cmp_csv(a, b, tol, ntol):
    ra, rb = rows(a), rows(b)
    if [r[0] for r in ra] != [r[0] for r in rb]:
        print(f"steps differ: {[r[0] for r in ra]} vs {[r[0] for r in rb]}")
        return 1
    worst_l = max(rel(x[1], y[1]) for x, y in zip(ra, rb))
    worst_g = max(rel(x[2], y[2]) for x, y in zip(ra, rb))
    ok = worst_l <= tol and worst_g <= ntol
    evals = ""
    if any(r[3] is not None for r in ra + rb):  # the held-out losses, at the same steps
        if [r[3] is None for r in ra] != [r[3] is None for r in rb]:
            print("eval steps differ")
            return 1
        pairs = [(x[3], y[3]) for x, y in zip(ra, rb) if x[3] is not None]
        worst_e = max(rel(x, y) for x, y in pairs)
        ok = ok and worst_e <= tol
        evals = f", {len(pairs)} evals: max rel err {worst_e:.2e}"
    print(f"{len(ra)} steps: loss max rel err {worst_l:.2e} (tol {tol:g}), grad norm max rel err {worst_g:.2e} "
          f"(tol {ntol:g}){evals} {'OK' if ok else 'FAIL'}")
    if not ok:
        for x, y in zip(ra, rb):
            print(f"  step {x[0]}: loss {x[1]:.6f} vs {y[1]:.6f}, norm {x[2]:.6f} vs {y[2]:.6f}")
    return 0 if ok else 1


def tensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        head = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in head.items():
        if name == "__metadata__":
            continue
        if t["dtype"] != "F32":
            raise SystemExit(f"{path}: {name} is {t['dtype']}, expected F32")
        s, e = t["data_offsets"]
        a = array.array("f")
        a.frombytes(data[s:e])
        out[name] = a
    return out


def cmp_weights(da, db, tol):
    ta, tb = tensors(da + "/model.safetensors"), tensors(db + "/model.safetensors")
    if sorted(ta) != sorted(tb):
        print("tensor names differ")
        return 1
    worst, where = 0.0, ""
    for name in ta:
        a, b = ta[name], tb[name]
        scale = max((abs(x) for x in b), default=0.0) or 1.0
        err = max((abs(x - y) for x, y in zip(a, b)), default=0.0) / scale
        if err > worst:
            worst, where = err, name
    ok = worst <= tol
    print(f"{len(ta)} tensors: max rel err {worst:.2e} ({where}) (tol {tol:g}) {'OK' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    cmd, a, b, tol = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    ntol = float(sys.argv[5]) if len(sys.argv) > 5 else tol
    sys.exit(cmp_csv(a, b, tol, ntol) if cmd == "csv" else cmp_weights(a, b, tol))
