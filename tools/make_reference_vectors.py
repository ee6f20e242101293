#!/usr/bin/python3
"""Regenerate tests/fixtures/reference/ (T5 reference vectors for the C tests) from tools/t5_reference.py.

Run from the repository root with Debian's python (torch + numpy):
    /usr/bin/python3 tools/make_reference_vectors.py [outdir]
Deterministic: single-threaded float64 torch, fixed numpy seeds, weights from the name-hash generator, so the
same bytes come out on every run. Also self-checks the reference (padded loss = per-example token mean,
packed = unpacked loss and gradients, beam(1) = greedy, float32 vs float64 agreement of generated ids).
Format: see tests/fixtures/reference/README.md.
"""
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import t5_reference as R  # noqa: E402

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)
F64 = torch.float64


class Case:
    """One fixture: NAME.json (config, ids, scalars, array index) + NAME.bin (little-endian arrays)."""

    def __init__(self, name, cfg, note):
        self.name, self.blob = name, bytearray()
        self.meta = {"case": name, "note": note, "config": cfg.to_json(), "weights": "det", "arrays": {}}

    def put(self, key, value):
        self.meta[key] = value

    def array(self, key, a, dtype="f32"):
        a = np.ascontiguousarray(np.asarray(a, dtype={"f32": "<f4", "i32": "<i4"}[dtype]))
        self.meta["arrays"][key] = {"dtype": dtype, "shape": list(a.shape), "offset": len(self.blob)}
        self.blob += a.tobytes()

    def save(self, outdir):
        if self.blob:
            self.meta["bin"] = self.name + ".bin"
            with open(os.path.join(outdir, self.name + ".bin"), "wb") as f:
                f.write(self.blob)
        with open(os.path.join(outdir, self.name + ".json"), "w") as f:
            json.dump(self.meta, f, indent=1, sort_keys=False)
            f.write("\n")
        return len(self.blob)


def f32(t):
    return t.detach().to(torch.float32).numpy()


def rand_ids(rng, n, vocab, eos=True):
    ids = [int(x) for x in rng.integers(2, vocab, size=n - 1 if eos else n)]
    return ids + [1] if eos else ids


def check(cond, what):
    if not cond:
        raise SystemExit("self-check failed: " + what)
    print("  check ok:", what)


def tiny(**kw):
    return R.Config(**kw)


# ----------------------------------------------------------------------------------------------

def case_forward(name, cfg, note, seed, full_logits_example, gen=True, beams=True):
    """(a)/(b): padded batch of 3 examples: encoder rows, target log-probs, top-5, loss, generation."""
    rng = np.random.default_rng(seed)
    inputs = [rand_ids(rng, n, cfg.vocab_size) for n in (5, 11, 17)]
    targets = [rand_ids(rng, n, cfg.vocab_size) for n in (4, 8, 12)]
    c = Case(name, cfg, note)
    c.put("inputs", inputs)
    c.put("targets", targets)
    p = R.det_params(cfg, F64)
    with torch.no_grad():
        loss, logits, labels, bt = R.padded_loss(p, cfg, inputs, targets)
        enc = R.encode(p, cfg, bt)
        # HF's mean over all target tokens = sum of per-example sums / token count
        sums, ntok = 0.0, 0
        per_ex = []
        for x, y in zip(inputs, targets):
            l1, _, _, _ = R.padded_loss(p, cfg, [x], [y])
            per_ex.append(float(l1))
            sums += float(l1) * len(y)
            ntok += len(y)
        check(abs(sums / ntok - float(loss)) < 1e-12 * max(1.0, abs(float(loss))),
              f"{name}: padded-batch loss {float(loss):.10f} = token mean of per-example losses")
        p32 = {k: v.float() for k, v in p.items()}
        loss32, logits32, _, _ = R.padded_loss(p32, cfg, inputs, targets)
    c.put("loss", float(loss))
    c.put("loss_per_example", per_ex)
    c.put("decoder_input_ids", [bt.dec_ids[i, :len(t)].tolist() for i, t in enumerate(targets)])
    diff = max(float((logits32[i, :len(t)].double() - logits[i, :len(t)]).abs().max()) for i, t in enumerate(targets))
    c.put("fp32_run", {"loss": float(loss32), "max_abs_logit_diff_vs_fp64": diff})
    lp = torch.log_softmax(logits, -1)
    for i, (x, y) in enumerate(zip(inputs, targets)):
        c.array(f"encoder_out.{i}", f32(enc[i, :len(x)]))
        c.array(f"target_logprob.{i}", f32(lp[i, torch.arange(len(y)), torch.tensor(y)]))
        tv, ti = torch.topk(logits[i, :len(y)], 5, dim=-1)
        c.array(f"top5_logit.{i}", f32(tv))
        c.array(f"top5_id.{i}", ti.numpy(), "i32")
    i = full_logits_example
    c.array(f"logits.{i}", f32(logits[i, :len(targets[i])]))
    if gen:
        c.put("generation", generation(p, cfg, inputs, 12, beams))
    return c


def generation(p, cfg, inputs, max_new, beams=True):
    out = {"max_new_tokens": max_new, "greedy": [], "greedy_min_top2_logit_gap": [], "beam": []}
    p32 = {k: v.float() for k, v in p.items()}
    for x in inputs:
        g, margin = R.greedy_with_margin(p, cfg, x, max_new)
        out["greedy_min_top2_logit_gap"].append(margin)
        check(g == R.greedy(p32, cfg, x, max_new), f"greedy ids agree in fp32 and fp64 (len {len(g)})")
        out["greedy"].append(g)
        if not beams:
            continue
        b1, _ = R.beam_search(p, cfg, x, 1, max_new)
        check(b1 == g, "beam search with num_beams 1 equals greedy")
    if beams:
        for lp_ in (1.0, 0.6):
            for es in (True, False):
                ids, scores = [], []
                for x in inputs:
                    s, sc = R.beam_search(p, cfg, x, 4, max_new, lp_, es)
                    s32, _ = R.beam_search(p32, cfg, x, 4, max_new, lp_, es)
                    check(s == s32, f"beam(4, lp {lp_}, early {es}) ids agree in fp32 and fp64")
                    ids.append(s)
                    scores.append(sc)
                out["beam"].append({"num_beams": 4, "length_penalty": lp_, "early_stopping": es,
                                    "sequences": ids, "sequence_scores": scores})
    return out


def case_small(name):
    """(c) flan-t5-small shapes, one 20-token prompt."""
    cfg = R.Config(d_model=512, d_kv=64, d_ff=1024, num_layers=8, num_decoder_layers=8, num_heads=6)
    rng = np.random.default_rng(3)
    x = rand_ids(rng, 20, cfg.vocab_size)
    y = rand_ids(rng, 8, cfg.vocab_size)
    c = Case(name, cfg, "flan-t5-small shapes, det weights; one prompt")
    c.put("inputs", [x])
    c.put("targets", [y])
    p = R.det_params(cfg, F64)
    with torch.no_grad():
        loss, logits, _, bt = R.padded_loss(p, cfg, [x], [y])
        enc = R.encode(p, cfg, bt)[0]
        p32 = {k: v.float() for k, v in p.items()}
        loss32, logits32, _, _ = R.padded_loss(p32, cfg, [x], [y])
    c.put("loss", float(loss))
    c.put("fp32_run", {"loss": float(loss32),
                       "max_abs_logit_diff_vs_fp64": float((logits32.double() - logits).abs().max())})
    c.array("encoder_out.first_row", f32(enc[0]))
    c.array("encoder_out.last_row", f32(enc[-1]))
    c.put("encoder_out.sum", float(enc.sum()))
    c.put("encoder_out.sum_sq", float((enc ** 2).sum()))
    srng = np.random.default_rng(4)
    rows = srng.integers(0, enc.shape[0], 64)
    cols = srng.integers(0, enc.shape[1], 64)
    c.put("encoder_out.sample_rows", rows.tolist())
    c.put("encoder_out.sample_cols", cols.tolist())
    c.array("encoder_out.sample", f32(enc[rows, cols]))
    lp = torch.log_softmax(logits[0], -1)
    c.array("target_logprob.0", f32(lp[torch.arange(len(y)), torch.tensor(y)]))
    pos = [0, 3, 7]
    c.put("top20_positions", pos)
    tv, ti = torch.topk(logits[0, pos], 20, dim=-1)
    c.array("top20_logit", f32(tv))
    c.array("top20_id", ti.numpy(), "i32")
    c.put("generation", generation(p, cfg, [x], 10, beams=False))
    return c


# ----------------------------------------------------------------------------------------------
# (d) packed batch

PACK_ENC, PACK_DEC = 32, 16
# per row: list of (input length, target length) segments
PACK_LAYOUT = [[(10, 5), (14, 7)], [(8, 4), (12, 6), (9, 5)]]


def packed_examples(vocab):
    rng = np.random.default_rng(5)
    rows = []
    for segs in PACK_LAYOUT:
        rows.append([(rand_ids(rng, a, vocab), rand_ids(rng, b, vocab)) for a, b in segs])
    return rows


def pack(rows, cfg):
    B = len(rows)
    t = {k: torch.zeros(B, n, dtype=torch.long) for k, n in
         (("ei", PACK_ENC), ("es", PACK_ENC), ("ep", PACK_ENC), ("tg", PACK_DEC), ("ds", PACK_DEC), ("dp", PACK_DEC))}
    for r, segs in enumerate(rows):
        e = d = 0
        for s, (x, y) in enumerate(segs, start=1):
            t["ei"][r, e:e + len(x)] = torch.tensor(x)
            t["es"][r, e:e + len(x)] = s
            t["ep"][r, e:e + len(x)] = torch.arange(len(x))
            t["tg"][r, d:d + len(y)] = torch.tensor(y)
            t["ds"][r, d:d + len(y)] = s
            t["dp"][r, d:d + len(y)] = torch.arange(len(y))
            e += len(x)
            d += len(y)
    dec_in = R.shift_right_packed(t["tg"], t["ds"], cfg.decoder_start_token_id)
    bt = R.Batch(t["ei"], t["es"], t["ep"], dec_in, t["ds"], t["dp"], True)
    labels = t["tg"].masked_fill(t["ds"] == 0, -100)
    return bt, labels


def packed_loss(p, cfg, bt, labels):
    return R.lm_loss(R.decode(p, cfg, bt, R.encode(p, cfg, bt)), labels)


def grads_of(p, fn):
    q = {k: v.clone().requires_grad_(True) for k, v in p.items()}
    loss = fn(q)
    loss.backward()
    return float(loss), {k: v.grad for k, v in q.items()}


def case_packed(name, cfg):
    rows = packed_examples(cfg.vocab_size)
    bt, labels = pack(rows, cfg)
    p = R.det_params(cfg, F64)
    loss, g = grads_of(p, lambda q: packed_loss(q, cfg, bt, labels))
    flat = [ex for segs in rows for ex in segs]
    loss_u, gu = grads_of(p, lambda q: R.padded_loss(q, cfg, [x for x, _ in flat], [y for _, y in flat])[0])
    check(abs(loss - loss_u) < 1e-12 * abs(loss), f"packed loss {loss:.12f} = unpacked padded loss {loss_u:.12f}")
    worst = max(float((g[k] - gu[k]).abs().max() / gu[k].abs().max().clamp(min=1e-300)) for k in g)
    check(worst < 1e-9, f"packed gradients = unpacked gradients (max rel diff {worst:.2e})")
    p32 = {k: v.float() for k, v in p.items()}
    loss32, g32 = grads_of(p32, lambda q: packed_loss(q, cfg, bt, labels))
    worst32 = max(float((g32[k].double() - g[k]).abs().max() / g[k].abs().max()) for k in g)

    c = Case(name, cfg, "packed batch (T5X layout): loss and gradients of every parameter")
    c.put("layout", PACK_LAYOUT)
    c.put("examples", [[{"inputs": x, "targets": y} for x, y in segs] for segs in rows])
    for key, val in (("encoder_input_ids", bt.enc_ids), ("encoder_segment_ids", bt.enc_seg),
                     ("encoder_positions", bt.enc_pos), ("decoder_target_ids", labels.clamp(min=0)),
                     ("decoder_input_ids", bt.dec_ids), ("decoder_segment_ids", bt.dec_seg),
                     ("decoder_positions", bt.dec_pos)):
        c.put(key, val.tolist())
    c.put("loss", loss)
    c.put("fp32_run", {"loss": loss32, "max_rel_grad_diff_vs_fp64": worst32})
    used = set(bt.enc_ids.flatten().tolist()) | set(bt.dec_ids.flatten().tolist()) | \
        set(labels.clamp(min=0).flatten().tolist())
    extra = np.random.default_rng(6).choice(cfg.vocab_size, 16, replace=False).tolist()
    row_ids = sorted(used | set(extra))
    c.put("embedding_grad_rows", row_ids)
    norms = {}
    for k, v in g.items():
        if k in ("shared.weight", "lm_head.weight"):
            c.array("grad." + k + ".rows", f32(v[row_ids]))
            norms[k] = float(v.norm())
        else:
            c.array("grad." + k, f32(v))
    c.put("grad_frobenius_norm", norms)
    return c, p, bt, labels


def case_train(name, cfg, p0, bt, labels, steps=20):
    c = Case(name, cfg, "training steps on the packed batch of packed_grads; loss before each step's update")
    small = ["encoder.final_layer_norm.weight",
             "decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
             "decoder.block.1.layer.2.DenseReluDense.wo.weight"]
    opts = {
        "adamw": (lambda ps: torch.optim.AdamW(ps, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01),
                  {"lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.01,
                   "applies_to": "all parameters (incl. layer norms)"}),
        "adafactor": (lambda ps: R.Adafactor(ps, lr=1e-3, scale_parameter=False, relative_step=False,
                                             warmup_init=False, beta1=None, clip_threshold=1.0),
                      {"lr": 1e-3, "eps": [1e-30, 1e-3], "clip_threshold": 1.0, "decay_rate": -0.8, "beta1": None,
                       "weight_decay": 0.0, "scale_parameter": False, "relative_step": False,
                       "warmup_init": False}),
    }
    for oname, (make, hp) in opts.items():
        res = {"hyperparameters": hp}
        for dt in (F64, torch.float32):
            q = {k: v.clone().to(dt).requires_grad_(True) for k, v in p0.items()}
            names = list(q)
            opt = make([q[k] for k in names])
            losses = []
            for s in range(steps):
                opt.zero_grad()
                loss = packed_loss(q, cfg, bt, labels)
                loss.backward()
                losses.append(float(loss))
                opt.step()
                if s == 0 and dt == F64:
                    for k in small:
                        c.array(f"{oname}.after_step1.{k}", f32(q[k]))
            with torch.no_grad():
                final = float(packed_loss(q, cfg, bt, labels))
            if dt == F64:
                res["losses"] = losses
                res["loss_after_last_step"] = final
                for k in small:
                    c.array(f"{oname}.after_step{steps}.{k}", f32(q[k]))
            else:
                res["fp32_run_losses"] = losses
        check(res["losses"][-1] < res["losses"][0], f"{oname}: loss falls {res['losses'][0]:.4f} -> "
              f"{res['losses'][-1]:.4f}")
        c.put(oname, res)
    c.put("steps", steps)
    return c


def case_buckets(name, cfg):
    """Relative-position bucket ids for rel = key_pos - query_pos in [-300, 300] (JSON only)."""
    c = Case(name, cfg, "relative position buckets: index j holds rel = j - 300")
    rel = torch.arange(-300, 301)
    for key, bi in (("encoder_bidirectional", True), ("decoder_causal", False)):
        c.put(key, R.relative_position_bucket(rel, bi, cfg.relative_attention_num_buckets,
                                              cfg.relative_attention_max_distance).tolist())
    return c


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests",
                                                                "fixtures", "reference")
    os.makedirs(outdir, exist_ok=True)
    t0 = time.time()
    total = 0
    cases = [
        lambda: case_buckets("buckets", tiny()),
        lambda: case_forward("tiny_gated", tiny(), "T5 v1.1 tiny: gated-gelu, untied; padded batch of 3", 1, 1),
        lambda: case_forward("tiny_relu_tied", tiny(feed_forward_proj="relu", tie_word_embeddings=True),
                             "original T5 tiny: relu, tied (decoder output * d_model^-0.5 before shared)", 2, 1,
                             gen=True, beams=False),
        lambda: case_forward("tiny_gated_v40", tiny(vocab_size=40),
                             "tiny gated with vocab 40 so eos competes: beam-search bookkeeping", 7, 0),
        lambda: case_small("small_gated"),
    ]
    for make in cases:
        c = make()
        total += c.save(outdir)
        print(f"{c.name}: done ({time.time() - t0:.1f}s)")
    cfg = tiny()
    c, p, bt, labels = case_packed("packed_grads", cfg)
    total += c.save(outdir)
    print(f"packed_grads: done ({time.time() - t0:.1f}s)")
    c = case_train("train_steps", cfg, p, bt, labels)
    total += c.save(outdir)
    print(f"train_steps: done ({time.time() - t0:.1f}s); {total} bytes of .bin")


if __name__ == "__main__":
    main()
