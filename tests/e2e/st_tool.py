#!/usr/bin/env python3
"""Test helper for e2e/convert.sh, standard library only (CI has no numpy or torch).

  st_tool.py model DIR           write config.json + model.safetensors (F32, random) of a tiny T5 whose
                                 widths are not multiples of 32 (d_model 48, d_ff 80), untied lm_head
  st_tool.py edit FILE OUT OP..  copy a safetensors file with its header edited (data untouched):
      drop=NAME  dtype=NAME:DT  shape=NAME:a,b  meta=KEY:VALUE  nometa=KEY  poke=NAME:INDEX:FLOAT (an F32 value)
  st_tool.py show FILE NAME      print NAME's dtype and shape, and the metadata, as JSON
  st_tool.py check-hf DIR        every tensor an HF T5ForConditionalGeneration needs is present, matrices
                                 F16/BF16; loads with safetensors.numpy when that package is installed
"""
import json, random, struct, sys, os

CFG = dict(vocab_size=100, d_model=48, d_kv=8, d_ff=80, num_layers=2, num_decoder_layers=2, num_heads=4,
           relative_attention_num_buckets=8, relative_attention_max_distance=20, feed_forward_proj="gated-gelu",
           tie_word_embeddings=False, layer_norm_epsilon=1e-6, decoder_start_token_id=0, eos_token_id=1,
           pad_token_id=0, model_type="t5", architectures=["T5ForConditionalGeneration"], is_encoder_decoder=True)


def names(c):
    out = [("shared.weight", [c["vocab_size"], c["d_model"]])]
    inner = c["num_heads"] * c["d_kv"]
    for stack, n in (("encoder", c["num_layers"]), ("decoder", c["num_decoder_layers"])):
        for i in range(n):
            kinds = ["SelfAttention"] + (["EncDecAttention"] if stack == "decoder" else [])
            for L, kind in enumerate(kinds):
                p = f"{stack}.block.{i}.layer.{L}.{kind}"
                out += [(p + ".q.weight", [inner, c["d_model"]]), (p + ".k.weight", [inner, c["d_model"]]),
                        (p + ".v.weight", [inner, c["d_model"]]), (p + ".o.weight", [c["d_model"], inner])]
                if i == 0 and kind == "SelfAttention":
                    out.append((p + ".relative_attention_bias.weight",
                                [c["relative_attention_num_buckets"], c["num_heads"]]))
                out.append((f"{stack}.block.{i}.layer.{L}.layer_norm.weight", [c["d_model"]]))
            L = len(kinds)
            p = f"{stack}.block.{i}.layer.{L}.DenseReluDense"
            out += [(p + ".wi_0.weight", [c["d_ff"], c["d_model"]]), (p + ".wi_1.weight", [c["d_ff"], c["d_model"]]),
                    (p + ".wo.weight", [c["d_model"], c["d_ff"]]),
                    (f"{stack}.block.{i}.layer.{L}.layer_norm.weight", [c["d_model"]])]
        out.append((f"{stack}.final_layer_norm.weight", [c["d_model"]]))
    out.append(("lm_head.weight", [c["vocab_size"], c["d_model"]]))
    return out


def read(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    return json.loads(raw[8:8 + n]), raw[8 + n:]


def write(path, header, data):
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)


def model(d):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(CFG, f, indent=2)
    rng = random.Random(12)
    header, chunks, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name, shape in names(CFG):
        n = 1
        for s in shape:
            n *= s
        if name.endswith("layer_norm.weight"):
            vals = [1 + 0.25 * rng.uniform(-1, 1) for _ in range(n)]
        else:
            vals = [rng.gauss(0, 1 / shape[-1] ** 0.5) for _ in range(n)]
        b = struct.pack(f"<{n}f", *vals)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [off, off + len(b)]}
        chunks.append(b)
        off += len(b)
    write(os.path.join(d, "model.safetensors"), header, b"".join(chunks))


def edit(src, dst, ops):
    h, data = read(src)
    meta = h.setdefault("__metadata__", {})
    for op in ops:
        kind, arg = op.split("=", 1)
        if kind == "drop":
            del h[arg]
        elif kind == "dtype":
            name, dt = arg.split(":")
            h[name]["dtype"] = dt
        elif kind == "shape":
            name, s = arg.split(":")
            h[name]["shape"] = [int(x) for x in s.split(",")]
        elif kind == "meta":
            k, v = arg.split(":", 1)
            meta[k] = v
        elif kind == "poke":
            name, i, v = arg.split(":")
            at = h[name]["data_offsets"][0] + 4 * int(i)
            data = data[:at] + struct.pack("<f", float(v)) + data[at + 4:]
        elif kind == "nometa":
            meta.pop(arg, None)
        else:
            sys.exit(f"unknown edit {op}")
    write(dst, h, data)


def check_hf(d):
    h, _ = read(os.path.join(d, "model.safetensors"))
    for name, shape in names(CFG):
        t = h.get(name)
        assert t is not None, f"missing {name}"
        assert t["shape"] == shape, f"{name}: shape {t['shape']} != {shape}"
        if len(shape) == 2 and "relative_attention_bias" not in name:
            assert t["dtype"] in ("F16", "BF16"), f"{name}: dtype {t['dtype']}"
    print(f"check-hf: {len(names(CFG))} HF tensors present with their shapes, matrices {h['shared.weight']['dtype']}")
    try:
        from safetensors.numpy import load_file
    except ImportError:
        print("check-hf: safetensors/numpy not installed, numpy load skipped")
        return
    if h["shared.weight"]["dtype"] == "F16":
        t = load_file(os.path.join(d, "model.safetensors"))
        print(f"check-hf: safetensors.numpy loaded {len(t)} tensors")


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "model":
        model(sys.argv[2])
    elif cmd == "edit":
        edit(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif cmd == "show":
        h, _ = read(sys.argv[2])
        print(json.dumps({"tensor": h.get(sys.argv[3]), "meta": h.get("__metadata__")}))
    elif cmd == "check-hf":
        check_hf(sys.argv[2])
