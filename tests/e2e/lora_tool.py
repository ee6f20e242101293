#!/usr/bin/env python3
"""Test helper for e2e/merge.sh, standard library only: PEFT LoRA adapters for the tiny T5 of st_tool.py.

  lora_tool.py adapter MODEL OUT [r=4] [alpha=8] [targets=q,v] [dtype=F32|F16|BF16] [seed=3] [rslora=1]
      write OUT/adapter_config.json and OUT/adapter_model.safetensors as PEFT's save_pretrained does, with
      random non-zero A [r, in] and B [out, r] for every linear layer of MODEL the targets name (PEFT's rule:
      the module path equals a target or ends with "." + target)
  lora_tool.py config DIR KEY=JSON ...   set keys of DIR/adapter_config.json (JSON values; KEY= deletes)
  lora_tool.py check MODEL ADAPTER MERGED
      MERGED (an F32 checkpoint) holds W + s * B A for every adapted layer (s = alpha / r, or alpha / sqrt(r)
      with use_rslora), computed here in double, within 1 ulp-ish of fp32; every other tensor equal to MODEL's
"""
import json, math, os, random, struct, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_tool  # noqa: E402

LINEAR = ("q", "k", "v", "o", "wi", "wi_0", "wi_1", "wo")


def matches(t, p):
    return p == t or p.endswith("." + t)


def linears(model):
    with open(os.path.join(model, "config.json")) as f:
        cfg = json.load(f)
    out = []
    for name, shape in st_tool.names(cfg):
        if len(shape) == 2 and ".block." in name and name.endswith(".weight") and name[:-7].rsplit(".", 1)[1] in LINEAR:
            out.append((name[:-7], shape[0], shape[1]))
    return out


def tensors(path):
    """name -> (dtype, shape, list of floats)"""
    h, data = st_tool.read(path)
    out = {}
    for name, t in h.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        raw = data[a:b]
        if t["dtype"] == "F32":
            vals = list(struct.unpack(f"<{len(raw) // 4}f", raw))
        elif t["dtype"] == "F16":
            vals = list(struct.unpack(f"<{len(raw) // 2}e", raw))
        elif t["dtype"] == "BF16":
            vals = [struct.unpack("<f", b"\0\0" + raw[i:i + 2])[0] for i in range(0, len(raw), 2)]
        else:
            sys.exit(f"{path}: {name}: dtype {t['dtype']}")
        out[name] = (t["dtype"], t["shape"], vals)
    return out


def pack(vals, dtype):
    if dtype == "F32":
        return struct.pack(f"<{len(vals)}f", *vals)
    if dtype == "F16":
        return struct.pack(f"<{len(vals)}e", *vals)
    return b"".join(struct.pack("<f", v)[2:] for v in vals)  # BF16 by truncation: exact for the reader


def adapter(model, out, opts):
    r, alpha = int(opts.get("r", 4)), float(opts.get("alpha", 8))
    targets = opts.get("targets", "q,v").split(",")
    dtype, rng = opts.get("dtype", "F32"), random.Random(int(opts.get("seed", 3)))
    os.makedirs(out, exist_ok=True)
    header, chunks, off = {"__metadata__": {"format": "pt"}}, [], 0
    for mod, n_out, n_in in linears(model):
        if not any(matches(t, mod) for t in targets):
            continue
        for kind, shape in (("lora_A", [r, n_in]), ("lora_B", [n_out, r])):
            vals = [rng.uniform(-1, 1) / math.sqrt(shape[1]) for _ in range(shape[0] * shape[1])]
            b = pack(vals, dtype)
            header[f"base_model.model.{mod}.{kind}.weight"] = {"dtype": dtype, "shape": shape,
                                                                "data_offsets": [off, off + len(b)]}
            chunks.append(b)
            off += len(b)
    st_tool.write(os.path.join(out, "adapter_model.safetensors"), header, b"".join(chunks))
    cfg = {"alpha_pattern": {}, "auto_mapping": None, "base_model_name_or_path": model, "bias": "none",
           "fan_in_fan_out": False, "inference_mode": True, "init_lora_weights": True, "layer_replication": None,
           "layers_pattern": None, "layers_to_transform": None, "loftq_config": {}, "lora_alpha": alpha,
           "lora_dropout": 0.05, "megatron_config": None, "megatron_core": "megatron.core", "modules_to_save": None,
           "peft_type": "LORA", "r": r, "rank_pattern": {}, "revision": None, "target_modules": targets,
           "task_type": "SEQ_2_SEQ_LM", "use_dora": False, "use_rslora": opts.get("rslora") == "1"}
    with open(os.path.join(out, "adapter_config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)


def config(d, edits):
    p = os.path.join(d, "adapter_config.json")
    with open(p) as f:
        cfg = json.load(f)
    for e in edits:
        k, v = e.split("=", 1)
        if v == "":
            cfg.pop(k, None)
        else:
            cfg[k] = json.loads(v)
    with open(p, "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)


def check(model, ad, merged):
    with open(os.path.join(ad, "adapter_config.json")) as f:
        cfg = json.load(f)
    r = cfg["r"]
    s = cfg["lora_alpha"] / (math.sqrt(r) if cfg.get("use_rslora") else r)
    base = tensors(os.path.join(model, "model.safetensors"))
    lora = tensors(os.path.join(ad, "adapter_model.safetensors"))
    out = tensors(os.path.join(merged, "model.safetensors"))
    adapted, worst, worst_rel = 0, 0.0, 0.0
    for name, (dt, shape, w) in base.items():
        assert name in out, f"{name} missing from the merged model"
        assert out[name][0] == "F32", f"{name}: merged dtype {out[name][0]} (check wants --weights f32)"
        m = out[name][2]
        key = f"base_model.model.{name[:-7]}.lora_A.weight"
        if key not in lora:
            assert m == w, f"{name} changed though no adapter targets it"
            continue
        adapted += 1
        A, B = lora[key][2], lora[key.replace("lora_A", "lora_B")][2]
        n_out, n_in = shape
        for o in range(n_out):
            for i in range(n_in):
                want = w[o * n_in + i] + s * sum(B[o * r + k] * A[k * n_in + i] for k in range(r))
                got = m[o * n_in + i]
                err = abs(got - want)
                worst = max(worst, err)
                worst_rel = max(worst_rel, err / max(abs(want), 1e-30))
                # one fp32 rounding of the double result: half an ulp
                assert err <= abs(want) * 2 ** -24 + 1e-45, f"{name}[{o},{i}]: {got} != {want} (err {err:.3e})"
    assert adapted == len(lora) // 2, f"{adapted} layers adapted, adapter has {len(lora) // 2}"
    print(f"check: {adapted} adapted matrices == W + {s:g} * B A (max abs err {worst:.2e}, max rel err {worst_rel:.2e},"
          f" <= half an fp32 ulp); {len(base) - adapted} other tensors bit-identical")


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "adapter":
        adapter(sys.argv[2], sys.argv[3], dict(a.split("=", 1) for a in sys.argv[4:]))
    elif cmd == "config":
        config(sys.argv[2], sys.argv[3:])
    elif cmd == "check":
        check(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(f"unknown command {cmd}")
