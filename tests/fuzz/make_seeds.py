#!/usr/bin/env python3
"""Write the fuzz harnesses' seed corpora (tests/fuzz/corpus/FORMAT/): small valid inputs of every
format, generated here (safetensors, q8, training state, sharded index, pack, PEFT adapter, config,
a cut-down spiece.model and tokenizer.json) or copied from tests/fixtures and assets (readers,
templates, mixtures, request lines; see corpus/README.md for their sources). Standard library only.
Run from anywhere: python3 tests/fuzz/make_seeds.py"""
import json
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(HERE, "corpus")


def put(fmt, name, data):
    d = os.path.join(OUT, fmt)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def copy(fmt, rel, name=None):
    src = os.path.join(ROOT, rel)
    d = os.path.join(OUT, fmt)
    os.makedirs(d, exist_ok=True)
    shutil.copyfile(src, os.path.join(d, name or os.path.basename(rel)))


SIZES = {"F32": 4, "F16": 2, "BF16": 2, "I8": 1, "I64": 8, "U8": 1, "F64": 8, "BOOL": 1}


def f16(x):
    return struct.pack("<e", x)


def safetensors(tensors, meta=None):
    """tensors: list of (name, dtype, shape, raw bytes)."""
    header, blobs, off = {}, [], 0
    if meta is not None:
        header["__metadata__"] = meta
    for name, dt, shape, raw in tensors:
        n = SIZES[dt]
        for s in shape:
            n *= s
        assert len(raw) == n, (name, len(raw), n)
        header[name] = {"dtype": dt, "shape": list(shape), "data_offsets": [off, off + n]}
        blobs.append(raw)
        off += n
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def f32s(vals):
    return struct.pack("<%df" % len(vals), *vals)


def main():
    readme = os.path.join(OUT, "README.md")
    keep = open(readme).read() if os.path.exists(readme) else None
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    if keep is not None:
        os.makedirs(OUT)
        open(readme, "w").write(keep)
    # ---- safetensors
    put("safetensors", "mixed_dtypes.safetensors", safetensors([
        ("a", "F32", [2, 3], f32s([1, 2, 3, 4, 5, 6])),
        ("b", "F16", [4], f16(1) + f16(-2) + f16(0.5) + f16(65504)),
        ("c", "BF16", [2, 2], b"\x80\x3f\x00\x40\x00\xc0\x80\x7f"),
        ("d", "I64", [], struct.pack("<q", 7)),
        ("e", "F32", [0, 3], b""),
    ], {"format": "pt"}))
    put("safetensors", "empty.safetensors", safetensors([]))
    put("safetensors", "u8_bool.safetensors", safetensors([("m", "U8", [3], b"\x01\x02\x03"), ("z", "BOOL", [1], b"\x01")]))
    # ---- q8 weights: I8 [N, K] + F16 scales [N, ceil(K / 32)], flanvk metadata
    N, K = 4, 40
    q = bytes((i * 7 % 255) for i in range(N * K))
    scales = b"".join(f16(0.01 * (i + 1)) for i in range(N * 2))
    qname = "encoder.block.0.layer.0.SelfAttention.q.weight"
    qmeta = {"format": "pt", "flanvk_weights": "q8", "flanvk_q8": "int8-block32-f16-scales"}
    put("q8", "q8_layer.safetensors", safetensors([
        (qname, "I8", [N, K], q), (qname + ".scales", "F16", [N, 2], scales),
        ("encoder.final_layer_norm.weight", "F32", [4], f32s([1, 1, 1, 1])),
        ("shared.weight", "F16", [2, 4], b"".join(f16(0.25 * i) for i in range(8))),
    ], qmeta))
    put("q8", "f16_layer.safetensors", safetensors([(qname, "F16", [2, 3], b"".join(f16(i) for i in range(6)))],
                                                    {"format": "pt", "flanvk_weights": "f16"}))
    put("q8", "bf16_layer.safetensors", safetensors([(qname, "BF16", [1, 4], b"\x80\x3f" * 4)]))
    # ---- training_state.safetensors
    put("train_state", "adamw.safetensors", safetensors([
        ("loss_history", "F32", [3], f32s([2.5, 2.0, 1.75])),
        ("eval_history", "F32", [2], f32s([2, 2.1])),
        ("m.0", "F32", [2], f32s([0, 0])),
    ], {"format": "pt", "flanvk_step": "3", "flanvk_data_pos": "12", "flanvk_skipped": "0",
        "flanvk_rng": "0123456789abcdef" * 4, "flanvk_optimizer": "adamw", "flanvk_best_eval_loss": "2.1000000000000001",
        "flanvk_best_eval_step": "2", "flanvk_evals_since_best": "1"}))
    put("train_state", "old_no_eval.safetensors", safetensors([("loss_history", "F32", [1], f32s([3.0]))], {
        "flanvk_step": "1", "flanvk_data_pos": "4", "flanvk_skipped": "0", "flanvk_rng": "f" * 64,
        "flanvk_optimizer": "adafactor"}))
    # ---- sharded index (the harness writes shard-1 with a, b and shard-2 with c)
    put("st_index", "index.json", json.dumps({"metadata": {"total_size": 18}, "weight_map": {
        "a": "shard-1.safetensors", "b": "shard-1.safetensors", "c": "shard-2.safetensors"}}, indent=2))
    put("st_index", "missing_shard.json", json.dumps({"weight_map": {"a": "shard-1.safetensors", "c": "shard-3.safetensors"}}))
    # ---- packed data: L = 4, L2 = 3, two rows, three examples
    L, L2 = 4, 3
    rows = [([5, 1, 7, 1], [1, 1, 2, 2], [6, 1, 8], [1, 1, 2]), ([5, 6, 1, 0], [1, 1, 1, 0], [7, 1, 0], [1, 1, 0])]
    body = b"".join(struct.pack("<%dI%di%dI%di" % (L, L, L2, L2), *(r[0] + r[1] + r[2] + r[3])) for r in rows)
    meta = b'{"mixture": "fuzz", "seed": 1}'
    hdr = b"FLANVKPK" + struct.pack("<IIIIQQIIQQ", 1, 8 * L + 8 * L2, L, L2, len(rows), 3, 32128, len(meta), 0, 0)
    assert len(hdr) == 64
    put("pack", "two_rows.pack", hdr + body + meta)
    put("pack", "empty.pack", b"FLANVKPK" + struct.pack("<IIIIQQIIQQ", 1, 8 * L + 8 * L2, L, L2, 0, 0, 32128, 2, 0, 0) + b"{}")
    # ---- PEFT adapter for the tiny preset (d_model 64, 4 heads of 16): q and v, r = 2
    cfg = {"peft_type": "LORA", "task_type": "SEQ_2_SEQ_LM", "r": 2, "lora_alpha": 4, "lora_dropout": 0.0,
           "target_modules": ["q", "v"], "bias": "none", "fan_in_fan_out": False, "inference_mode": True,
           "base_model_name_or_path": "tiny", "use_rslora": False, "use_dora": False, "init_lora_weights": True}
    ts = []
    for side, nb in (("encoder", 2), ("decoder", 2)):
        for b in range(nb):
            atts = ["SelfAttention"] if side == "encoder" else ["SelfAttention", "EncDecAttention"]
            for li, att in enumerate(atts):
                for m in ("q", "v"):
                    base = "base_model.model.%s.block.%d.layer.%d.%s.%s" % (side, b, li, att, m)
                    ts.append((base + ".lora_A.weight", "F32", [2, 64], f32s([0.01] * 128)))
                    ts.append((base + ".lora_B.weight", "F32", [64, 2], f32s([0.0] * 128)))
    st = safetensors(ts, {"format": "pt"})
    for name, c in (("qv.adapter", cfg), ("all_linear.adapter", dict(cfg, target_modules="all-linear"))):
        cj = json.dumps(c, indent=2, sort_keys=True).encode()
        put("peft", name, struct.pack("<H", len(cj)) + cj + st)
    # ---- config.json
    small = {"architectures": ["T5ForConditionalGeneration"], "d_ff": 1024, "d_kv": 64, "d_model": 512,
             "decoder_start_token_id": 0, "dense_act_fn": "gelu_new", "dropout_rate": 0.1, "eos_token_id": 1,
             "feed_forward_proj": "gated-gelu", "initializer_factor": 1.0, "is_encoder_decoder": True,
             "is_gated_act": True, "layer_norm_epsilon": 1e-06, "model_type": "t5", "n_positions": 512,
             "num_decoder_layers": 8, "num_heads": 6, "num_layers": 8, "output_past": True, "pad_token_id": 0,
             "relative_attention_max_distance": 128, "relative_attention_num_buckets": 32,
             "tie_word_embeddings": False, "torch_dtype": "float32", "transformers_version": "4.36.0",
             "use_cache": True, "vocab_size": 32128}
    put("config", "flan_t5_small.json", json.dumps(small, indent=2))
    put("config", "tiny_relu_tied.json", json.dumps({"model_type": "t5", "vocab_size": 100, "d_model": 16, "d_kv": 4,
                                                     "d_ff": 32, "num_layers": 1, "num_heads": 4,
                                                     "feed_forward_proj": "relu", "tie_word_embeddings": True,
                                                     "decoder_start_token_id": None}))
    # ---- spiece.model: the real one cut to its first 300 pieces, without the 240 KB charsmap
    def varint(b, i):
        v, s = 0, 0
        while True:
            c = b[i]
            i += 1
            v |= (c & 0x7f) << s
            s += 7
            if c < 0x80:
                return v, i

    def enc_varint(v):
        out = b""
        while True:
            c = v & 0x7f
            v >>= 7
            if v:
                out += bytes([c | 0x80])
            else:
                return out + bytes([c])

    def fields(b):
        i, out = 0, []
        while i < len(b):
            t, i = varint(b, i)
            f, wt = t >> 3, t & 7
            if wt == 0:
                v, j = varint(b, i)
                out.append((f, wt, b[i:j]))
                i = j
            elif wt == 2:
                n, j = varint(b, i)
                out.append((f, wt, b[j:j + n]))
                i = j + n
            elif wt == 5:
                out.append((f, wt, b[i:i + 4]))
                i += 4
            elif wt == 1:
                out.append((f, wt, b[i:i + 8]))
                i += 8
        return out

    def emit(fs):
        out = b""
        for f, wt, v in fs:
            out += enc_varint(f << 3 | wt) + (enc_varint(len(v)) + v if wt == 2 else v)
        return out

    real = open(os.path.join(ROOT, "assets/tokenizer/spiece.model"), "rb").read()
    top = fields(real)
    pieces = [x for x in top if x[0] == 1][:300]
    rest = []
    for f, wt, v in top:
        if f == 3:  # NormalizerSpec without precompiled_charsmap (field 2)
            v = emit([x for x in fields(v) if x[0] != 2])
        if f != 1:
            rest.append((f, wt, v))
    put("spiece", "t5_300_pieces.model", emit(pieces + rest))
    # the same with a one-rule charsmap ("A" -> "a"): a darts-clone trie of 66 units, then the strings
    units = [0] * 66
    units[0] = 1 << 10                         # root: offset 1, so "A" (0x41) lands on unit 0x40
    units[0x40] = 0x41 | 1 << 8 | 1 << 10      # label "A", has a leaf, offset 1: the value is unit 0x41
    units[0x41] = 0x80000000 | 0               # value: offset 0 into the strings
    charsmap = struct.pack("<I", 4 * len(units)) + struct.pack("<%dI" % len(units), *units) + b"a\0"
    rest_cm = []
    for f, wt, v in rest:
        if f == 3:
            v = emit(fields(v) + [(2, 2, charsmap)])
        rest_cm.append((f, wt, v))
    put("spiece", "t5_300_pieces_charsmap.model", emit(pieces + rest_cm))
    # ---- tokenizer.json with the same pieces
    vocab = []
    for _, _, v in pieces:
        p = dict((f, val) for f, _, val in fields(v))
        vocab.append([p[1].decode(), struct.unpack("<f", p.get(2, b"\0\0\0\0"))[0]])
    tj = {"version": "1.0", "truncation": None, "padding": None,
          "added_tokens": [{"id": 0, "content": "<pad>", "special": True}, {"id": 1, "content": "</s>", "special": True},
                           {"id": 2, "content": "<unk>", "special": True},
                           {"id": 300, "content": "<extra_id_0>", "special": True}],
          "normalizer": {"type": "Sequence", "normalizers": [{"type": "Replace", "pattern": {"Regex": " {2,}"},
                                                              "content": " "}]},
          "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"},
                                                                  {"type": "Metaspace", "replacement": "\u2581",
                                                                   "prepend_scheme": "always", "split": True}]},
          "model": {"type": "Unigram", "unk_id": 2, "vocab": vocab + [["<extra_id_0>", 0.0]], "byte_fallback": False}}
    put("tokenizer_json", "t5_300_pieces.json", json.dumps(tj, ensure_ascii=False))
    import base64
    tj2 = dict(tj, normalizer={"type": "Precompiled", "precompiled_charsmap": base64.b64encode(charsmap).decode()})
    put("tokenizer_json", "precompiled_one_rule.json", json.dumps(tj2, ensure_ascii=False))
    # ---- tokenizer encode/decode: first byte = add_eos
    for i, t in enumerate(["\x01Translate to German: That is good.", "\x00caf\u00e9 <extra_id_0> \u4e2d\u6587  x",
                           "\x01\u2581\u2581 \t\n", "\x00\xff\xfe bad utf8"]):
        put("tokenize", "text%d" % i, t.encode("utf-8", "surrogateescape") if i < 3 else b"\x00\xff\xfe bad utf8")
    # ---- request lines
    copy("request", "tests/e2e/qa_prompts.jsonl")
    copy("request", "tests/e2e/qa.jsonl")
    put("request", "ids.jsonl", '{"prompt_ids": [13, 1]}\n\n{"input_ids": [5, 1], "target_ids": [32127, 1]}\n'
                                '{"inputs": "x", "targets": "<extra_id_0>"}\r\n')
    # ---- data readers, templates, mixtures: fixtures and assets
    for rel in ["tests/fixtures/data/niv2/task1393_superglue_copa_text_completion.json",
                "tests/fixtures/data/bad/niv2_bad_instance.json", "tests/fixtures/data/bad/niv2_no_instances.json"]:
        copy("niv2", rel)
    for rel in ["tests/fixtures/data/flan_cot/aqua_train.tsv", "tests/fixtures/data/flan_cot/creak_train.tsv",
                "tests/fixtures/data/flan_cot/qasc_train.tsv", "tests/fixtures/data/bad/missing_col_train.tsv",
                "tests/fixtures/data/bad/bad_utf8_train.tsv"]:
        copy("cot_tsv", rel)
    for rel in ["tests/fixtures/data/bbh/boolean_expressions.json", "tests/fixtures/data/bbh/date_understanding.json",
                "tests/fixtures/data/bbh/cot-prompts/boolean_expressions.txt",
                "tests/fixtures/data/bad/bbh_missing_target.json"]:
        copy("bbh", rel)
    for rel in ["tests/fixtures/data/mmlu/abstract_algebra_dev.csv", "tests/fixtures/data/mmlu/subjects.json",
                "tests/fixtures/data/bad/bad_fields_test.csv", "tests/fixtures/data/bad/broken_quote_test.csv"]:
        copy("mmlu", rel)
    for rel in ["tests/fixtures/data/mgsm/mgsm_en.tsv", "tests/fixtures/data/mgsm/mgsm_zh.tsv",
                "tests/fixtures/data/bad/mgsm_xx.tsv"]:
        copy("mgsm", rel)
    ex = json.load(open(os.path.join(ROOT, "tests/fixtures/data/mgsm/mgsm_exemplars.json")))
    small_ex = {k: (v[:2] if isinstance(v, list) else v) for k, v in list(ex.items())[:2]} if isinstance(ex, dict) else ex[:2]
    put("mgsm", "mgsm_exemplars_small.json", json.dumps(small_ex, ensure_ascii=False))
    for rel in ["tests/fixtures/data/bad/mixed.jsonl", "assets/eval/jsonl/toy.jsonl"]:
        copy("jsonl", rel)
    for rel in ["tests/fixtures/data/templates/golden.json", "tests/fixtures/data/templates/bad_placeholder.json.txt",
                "assets/templates/cot_gsm8k.json", "assets/templates/multiple_choice.json", "assets/templates/niv2.json",
                "assets/templates/bbh.json"]:
        copy("template", rel)
    copy("mixture", "assets/mixtures/default.json")
    put("mixture", "local.json", json.dumps({"name": "fuzz", "seed": 7, "templates": "templates",
                                             "rate": "examples_proportional", "cap": 10,
                                             "formats": {"zero_shot": 0.4, "few_shot": 0.3, "cot": 0.2,
                                                         "cot_few_shot": 0.1, "cot_trigger_share": 0.5,
                                                         "few_shot_k": [1, 2]},
                                             "sources": [{"path": "data/a.jsonl", "format": "jsonl", "task": "a"},
                                                         {"path": "data/b_train.tsv", "format": "cot_tsv",
                                                          "weight": 2.0}]}, indent=1))
    put("mixture", "weights.json", json.dumps({"name": "w", "rate": "weights", "templates": "templates",
                                               "sources": [{"path": "data/a.jsonl"}, {"path": "data/b_train.tsv",
                                                                                      "weight": 0}]}))


if __name__ == "__main__":
    main()
