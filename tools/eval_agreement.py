#!/usr/bin/env python3
"""Agreement of eval reports with a baseline (issue #12's fidelity figure): for each report, the
fraction of items whose prediction equals the baseline's (same task and index), and for rank
classification the largest change of a choice's log-probability. Standard library only (CI runs it).

usage: eval_agreement.py BASE.json OTHER.json [OTHER.json ...] [--min PCT ...]
  --min PCT (one per OTHER, in order): exit 1 if an agreement is below it."""
import json
import sys


def items(path):
    with open(path) as f:
        r = json.load(f)
    return {(it["task"], it["index"]): it for it in r["items"]}, r


def main(argv):
    args, mins = [], []
    i = 0
    while i < len(argv):
        if argv[i] == "--min":
            mins.append(float(argv[i + 1]))
            i += 2
        else:
            args.append(argv[i])
            i += 1
    if len(args) < 2:
        print(__doc__)
        return 2
    base, br = items(args[0])
    bad = 0
    for k, path in enumerate(args[1:]):
        other, _ = items(path)
        if set(other) != set(base):
            print(f"{path}: not the same items as {args[0]}")
            return 1
        same = sum(other[key]["prediction"] == base[key]["prediction"] for key in base)
        dlp = 0.0
        for key, it in base.items():
            for a, b in zip(it.get("logprobs", []), other[key].get("logprobs", [])):
                dlp = max(dlp, abs(a - b))
        distinct = len({it["prediction"] for it in other.values()})
        pct = 100.0 * same / len(base)
        line = f"{path}: {same}/{len(base)} predictions equal to {args[0]}'s ({pct:.1f}%)"
        if any(it.get("logprobs") for it in base.values()):
            line += f", largest log-prob change {dlp:.3g}"
        line += f", {distinct} distinct predictions"
        if k < len(mins):
            ok = pct >= mins[k]
            line += f" (>= {mins[k]:g}%: {'OK' if ok else 'FAIL'})"
            bad |= not ok
        print(line)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
