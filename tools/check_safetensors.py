#!/usr/bin/python3
"""Independent check of a .safetensors file written by flanvk, without the safetensors package.

Parses the header with json and the data with numpy.frombuffer, and applies the rules the
safetensors library enforces on load: header length within the file, JSON object starting with '{',
known dtypes, shape product * dtype size == end - begin, offsets contiguous from 0 and covering the
whole data section. Optionally (--rounding SRC DST, repeatable; needs torch) checks that tensor DST
equals torch's own float32 -> DST-dtype conversion (round to nearest even) of tensor SRC, bit for bit.

usage: /usr/bin/python3 tools/check_safetensors.py FILE [--rounding SRC DST]...
Exit status 0 when every check passes.
"""
import json
import struct
import sys

import numpy as np

SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
         "U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1}


def to_f32(dtype, raw):
    if dtype == "F32":
        return np.frombuffer(raw, dtype="<f4")
    if dtype == "F16":
        return np.frombuffer(raw, dtype="<f2").astype(np.float32)
    if dtype == "BF16":
        return (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
    return None


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    path, pairs = argv[1], []
    rest = argv[2:]
    while rest:
        if rest[0] != "--rounding" or len(rest) < 3:
            print("bad arguments:", rest)
            return 2
        pairs.append((rest[1], rest[2]))
        rest = rest[3:]
    blob = open(path, "rb").read()
    errors = []
    (n,) = struct.unpack("<Q", blob[:8])
    if 8 + n > len(blob):
        print(f"{path}: header length {n} past end of file")
        return 1
    text = blob[8:8 + n].decode("utf-8")
    if not text.startswith("{"):
        errors.append("header does not start with '{'")
    if n % 8:
        errors.append(f"header length {n} not a multiple of 8 (the library pads to 8)")
    header = json.loads(text)
    meta = header.pop("__metadata__", None)
    data = blob[8 + n:]
    spans, tensors = [], {}
    for name, e in header.items():
        dt, shape, (b, end) = e["dtype"], e["shape"], e["data_offsets"]
        if dt not in SIZES:
            errors.append(f"{name}: unknown dtype {dt}")
            continue
        numel = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if numel * SIZES[dt] != end - b:
            errors.append(f"{name}: shape {shape} {dt} needs {numel * SIZES[dt]} bytes, offsets hold {end - b}")
        spans.append((b, end, name))
        arr = to_f32(dt, data[b:end])
        tensors[name] = (dt, shape, data[b:end], arr)
    pos = 0
    for b, end, name in sorted(spans):
        if b != pos:
            errors.append(f"{name}: begins at {b}, expected {pos} (offsets must be contiguous)")
        pos = end
    if pos != len(data):
        errors.append(f"tensors cover {pos} bytes, data section has {len(data)}")
    print(f"{path}: metadata {meta}, {len(tensors)} tensors, {len(data)} data bytes")
    for name, (dt, shape, _, arr) in sorted(tensors.items()):
        summary = "" if arr is None or arr.size == 0 else f" first {arr[0]:.6g} sum {float(arr.astype(np.float64).sum()):.6g}"
        print(f"  {name}: {dt} {shape}{summary}")
    if meta is None or meta.get("format") != "pt":
        errors.append('__metadata__ lacks "format": "pt" (transformers requires it)')
    if pairs:
        import torch
        for src, dst in pairs:
            sdt, sshape, _, sarr = tensors[src]
            ddt, dshape, draw, _ = tensors[dst]
            want = torch.from_numpy(sarr.copy()).to({"F16": torch.float16, "BF16": torch.bfloat16, "F32": torch.float32}[ddt])
            want_bits = want.view(torch.int16 if ddt != "F32" else torch.int32).numpy().tobytes()
            same = want_bits == draw
            print(f"  rounding {src} ({sdt}) -> {dst} ({ddt}) vs torch: {'bit-exact' if same else 'DIFFERENT'}")
            if not same:
                errors.append(f"{dst} differs from torch's conversion of {src}")
    for e in errors:
        print("ERROR:", e)
    print("OK" if not errors else f"{len(errors)} errors")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
