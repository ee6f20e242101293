#!/usr/bin/python3
"""Regenerate tests/fixtures/reference/ (T5 reference vectors for the C tests) from tools/t5_reference.py.

Run from the repository root with Debian's python (torch + numpy):
    /usr/bin/python3 tools/make_reference_vectors.py [--only CASE[,CASE...]] [outdir]
Deterministic: single-threaded float64 torch, fixed numpy seeds, weights from the name-hash generator, so the
same bytes come out on every run. Also self-checks the reference (padded loss = per-example token mean,
packed = unpacked loss and gradients, beam(1) = greedy, float32 vs float64 agreement of generated ids; LoRA:
merged = unmerged logits, adapter gradients = central differences, B = 0 = the base model).
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


# ----------------------------------------------------------------------------------------------
# LoRA (issue 13): adapters with PEFT semantics on the frozen det model, packed batch of packed_grads.

LORA_R, LORA_ALPHA = 4, 8


def lora_opts():
    """The train_steps optimizers and hyperparameters, applied to the adapter tensors only."""
    return {
        "adamw": (lambda ps: torch.optim.AdamW(ps, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01),
                  {"lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.01, "schedule": "constant",
                   "applies_to": "every lora_A / lora_B tensor (base frozen)"}),
        "adafactor": (lambda ps: R.Adafactor(ps, lr=1e-3, scale_parameter=False, relative_step=False,
                                             warmup_init=False, beta1=None, clip_threshold=1.0),
                      {"lr": 1e-3, "eps": [1e-30, 1e-3], "clip_threshold": 1.0, "decay_rate": -0.8, "beta1": None,
                       "weight_decay": 0.0, "scale_parameter": False, "relative_step": False,
                       "warmup_init": False, "schedule": "constant",
                       "applies_to": "every lora_A / lora_B tensor (base frozen)"}),
    }


def lora_logits(p, ad, cfg, bt):
    lp = R.with_lora(p, ad, LORA_R, LORA_ALPHA)
    return R.decode(lp, cfg, bt, R.encode(lp, cfg, bt))


def lora_loss(p, ad, cfg, bt, labels):
    return R.lm_loss(lora_logits(p, ad, cfg, bt), labels)


def lora_grads(p, ad, cfg, bt, labels):
    q = {k: v.clone().requires_grad_(True) for k, v in ad.items()}
    loss = lora_loss(p, q, cfg, bt, labels)
    loss.backward()
    return float(loss), {k: v.grad for k, v in q.items()}


def case_lora(name, cfg, targets, p, bt, labels, packed_case, steps=20, step1_arrays=True):
    tl = R.lora_target_list(targets)
    ad = R.lora_det_params(cfg, tl, LORA_R, F64)
    keys = list(ad)
    c = Case(name, cfg, f"LoRA r {LORA_R}, alpha {LORA_ALPHA}, targets {targets}, dropout 0, det adapter on the "
                        "frozen det model; packed batch of packed_grads")
    c.put("lora", {"peft_type": "LORA", "task_type": "SEQ_2_SEQ_LM", "r": LORA_R, "lora_alpha": LORA_ALPHA,
                   "scaling": LORA_ALPHA / LORA_R, "lora_dropout": 0.0, "targets_arg": targets,
                   "target_modules": tl, "bias": "none", "fan_in_fan_out": False, "adapter": "det",
                   "modules": R.lora_modules(cfg, tl), "keys": keys,
                   "shapes": {k: list(v.shape) for k, v in ad.items()}})
    for key in ("layout", "encoder_input_ids", "encoder_segment_ids", "encoder_positions", "decoder_target_ids",
                "decoder_input_ids", "decoder_segment_ids", "decoder_positions"):
        c.put(key, packed_case.meta[key])
    for k in keys:
        c.array("adapter." + k, f32(ad[k]))

    # forward before training, merged model, B = 0 model
    with torch.no_grad():
        logits = lora_logits(p, ad, cfg, bt)
        loss = float(R.lm_loss(logits, labels))
        base_logits = R.decode(p, cfg, bt, R.encode(p, cfg, bt))
        base_loss = float(R.lm_loss(base_logits, labels))
        pm = R.merge_lora(p, ad, LORA_R, LORA_ALPHA)
        merged = R.decode(pm, cfg, bt, R.encode(pm, cfg, bt))
        zero_b = {k: (torch.zeros_like(v) if ".lora_B." in k else v) for k, v in ad.items()}
        zb_logits = lora_logits(p, zero_b, cfg, bt)
    mdiff = float((merged - logits).abs().max())
    check(mdiff < 1e-10, f"{name}: merged (W + s BA) logits = unmerged logits in float64 (max abs diff {mdiff:.1e})")
    check(torch.equal(zb_logits, base_logits), f"{name}: adapter with B = 0 gives exactly the base model's logits")
    check(abs(loss - base_loss) > 1e-3, f"{name}: the adapter changes the loss ({base_loss:.6f} -> {loss:.6f})")
    init = R.lora_peft_init(cfg, tl, LORA_R, seed=0, dtype=F64)
    check(all(float(v.abs().max()) <= (1.0 / v.shape[1] ** 0.5 if ".lora_A." in k else 0.0) for k, v in init.items()),
          f"{name}: PEFT-style fresh init has |A| <= 1/sqrt(in) and B = 0")
    used = set(bt.dec_ids.flatten().tolist()) | set(labels.clamp(min=0).flatten().tolist())
    extra = np.random.default_rng(9).choice(cfg.vocab_size, 48, replace=False).tolist()
    cols = sorted(used | set(extra))
    c.put("loss", loss)
    c.put("base_loss", base_loss)
    c.put("logit_columns", cols)
    c.array("logits.columns", f32(logits[..., cols]))
    c.array("logsumexp", f32(torch.logsumexp(logits, -1)))
    c.array("target_logprob", f32(torch.log_softmax(logits, -1).gather(-1, labels.clamp(min=0)[..., None])[..., 0]))
    c.array("merged_logits.columns", f32(merged[..., cols]))
    c.put("merged_max_abs_logit_diff_vs_unmerged", mdiff)

    # gradients of the adapter (step 1), finite differences, fp32 run
    loss_g, g = lora_grads(p, ad, cfg, bt, labels)
    check(abs(loss_g - loss) < 1e-12, f"{name}: loss with autograd = no-grad loss")
    for k in keys:
        c.array("grad." + k, f32(g[k]))
    fd = []
    h = 1e-5
    rng = np.random.default_rng(10)
    picks = [keys[0], keys[1], keys[len(keys) // 2], keys[-2], keys[-1]]
    worst = 0.0
    with torch.no_grad():
        for k in picks:
            for idx in (int(g[k].abs().argmax()), int(rng.integers(g[k].numel()))):
                plus = {kk: v.clone() for kk, v in ad.items()}
                minus = {kk: v.clone() for kk, v in ad.items()}
                plus[k].view(-1)[idx] += h
                minus[k].view(-1)[idx] -= h
                num = (float(lora_loss(p, plus, cfg, bt, labels)) - float(lora_loss(p, minus, cfg, bt, labels))) / (2 * h)
                ana = float(g[k].view(-1)[idx])
                err = abs(num - ana) / max(abs(ana), 1e-3 * float(g[k].abs().max()))
                worst = max(worst, err)
                fd.append({"key": k, "index": idx, "autograd": ana, "central_difference": num, "h": h})
    check(worst < 1e-6, f"{name}: adapter gradients = central differences on {len(fd)} entries "
                        f"(max rel diff {worst:.1e})")
    c.put("finite_difference_check", fd)
    p32 = {k: v.float() for k, v in p.items()}
    ad32 = {k: v.float() for k, v in ad.items()}
    loss32, g32 = lora_grads(p32, ad32, cfg, bt, labels)
    with torch.no_grad():
        l32 = lora_logits(p32, ad32, cfg, bt)
    c.put("fp32_run", {"loss": loss32, "max_abs_logit_diff_vs_fp64": float((l32.double() - logits).abs().max()),
                       "max_rel_grad_diff_vs_fp64": max(float((g32[k].double() - g[k]).abs().max() /
                                                              g[k].abs().max()) for k in keys)})

    # 20-step trajectories, adapters only
    for oname, (make, hp) in lora_opts().items():
        res = {"hyperparameters": hp}
        for dt in (F64, torch.float32):
            pb = p if dt == F64 else p32
            q = {k: v.clone().to(dt).requires_grad_(True) for k, v in ad.items()}
            opt = make([q[k] for k in keys])
            losses = []
            for s in range(steps):
                opt.zero_grad()
                l_ = lora_loss(pb, q, cfg, bt, labels)
                l_.backward()
                losses.append(float(l_))
                opt.step()
                if s == 0 and dt == F64 and step1_arrays:
                    for k in keys:
                        c.array(f"{oname}.after_step1.{k}", f32(q[k]))
            with torch.no_grad():
                final = float(lora_loss(pb, q, cfg, bt, labels))
            if dt == F64:
                res["losses"] = losses
                res["loss_after_last_step"] = final
                for k in keys:
                    c.array(f"{oname}.after_step{steps}.{k}", f32(q[k]))
            else:
                res["fp32_run_losses"] = losses
        check(abs(res["losses"][0] - loss) < 1e-12, f"{name} {oname}: first loss = the forward loss")
        check(res["losses"][-1] < res["losses"][0], f"{name} {oname}: loss falls {res['losses'][0]:.6f} -> "
              f"{res['losses'][-1]:.6f}")
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
    args = sys.argv[1:]
    only = None
    if "--only" in args:   # --only NAME[,NAME...]: write just these cases (the batch cases are still computed)
        j = args.index("--only")
        only = set(args[j + 1].split(","))
        del args[j:j + 2]
    outdir = args[0] if args else os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "reference")
    os.makedirs(outdir, exist_ok=True)
    t0 = time.time()
    total = 0

    def save(c):
        nonlocal total
        if only is None or c.name in only:
            total += c.save(outdir)
            print(f"{c.name}: done ({time.time() - t0:.1f}s)")

    cases = [
        ("buckets", lambda: case_buckets("buckets", tiny())),
        ("tiny_gated", lambda: case_forward("tiny_gated", tiny(), "T5 v1.1 tiny: gated-gelu, untied; padded batch of 3",
                                            1, 1)),
        ("tiny_relu_tied", lambda: case_forward("tiny_relu_tied", tiny(feed_forward_proj="relu", tie_word_embeddings=True),
                                                "original T5 tiny: relu, tied (decoder output * d_model^-0.5 before "
                                                "shared)", 2, 1, gen=True, beams=False)),
        ("tiny_gated_v40", lambda: case_forward("tiny_gated_v40", tiny(vocab_size=40),
                                                "tiny gated with vocab 40 so eos competes: beam-search bookkeeping", 7,
                                                0)),
        ("small_gated", lambda: case_small("small_gated")),
    ]
    for name, make in cases:
        if only is None or name in only:
            save(make())
    cfg = tiny()
    packed, p, bt, labels = case_packed("packed_grads", cfg)
    save(packed)
    if only is None or "train_steps" in only:
        save(case_train("train_steps", cfg, p, bt, labels))
    for lname, targets, step1 in (("lora_qv", "q,v", True), ("lora_all", "all", False)):
        if only is None or lname in only:
            save(case_lora(lname, cfg, targets, p, bt, labels, packed, step1_arrays=step1))
    print(f"all cases done ({time.time() - t0:.1f}s); {total} bytes of .bin")


if __name__ == "__main__":
    main()
