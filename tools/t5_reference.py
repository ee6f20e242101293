"""Independent PyTorch reference of T5 / T5 v1.1 (Flan-T5) used to make test vectors for flanvk.

Written from the published architecture (Raffel et al. 2020, T5 v1.1 notes) and checked against the
semantics of Hugging Face transformers' T5ForConditionalGeneration (no code copied; transformers is not
a dependency). Everything here is a plain function over a dict {HF tensor name: torch tensor}, so the
same code runs in float64 (the "truth" for fixtures) and float32.

Pieces:
  * deterministic weights shared with C (tests/support/det_weights.c): det_uniform / det_scale / det_params
  * HF-style random init (T5PreTrainedModel._init_weights, initializer_factor 1.0): hf_init_params
  * LoRA with PEFT semantics (targets, PEFT key names, det adapters, merge): lora_* / with_lora / merge_lora
  * forward: RMSNorm, unscaled attention, relative position buckets, gated-GELU or ReLU FF, tied/untied head,
    padded (HF attention_mask) or packed (T5X segment ids + positions) batches; lm_loss
  * generation: greedy and beam search with HF generate semantics (BeamSearchScorer, transformers 4.36..4.47)
  * optimizers: torch.optim.AdamW and an Adafactor re-implemented from transformers.optimization.Adafactor
"""
import math
from dataclasses import dataclass, asdict

import numpy as np
import torch


@dataclass
class Config:
    vocab_size: int = 32128
    d_model: int = 64
    d_kv: int = 16
    d_ff: int = 128
    num_layers: int = 2
    num_decoder_layers: int = 2
    num_heads: int = 4
    relative_attention_num_buckets: int = 32
    relative_attention_max_distance: int = 128
    feed_forward_proj: str = "gated-gelu"   # or "relu" (original T5)
    tie_word_embeddings: bool = False
    layer_norm_epsilon: float = 1e-6
    pad_token_id: int = 0
    eos_token_id: int = 1
    decoder_start_token_id: int = 0

    @property
    def gated(self):
        return self.feed_forward_proj.startswith("gated")

    def to_json(self):
        d = asdict(self)
        d["model_type"] = "t5"
        d["is_gated_act"] = self.gated
        d["dense_act_fn"] = "gelu_new" if self.gated else "relu"
        return d


# ----------------------------------------------------------------------------------------------
# Parameter names and shapes (HF checkpoint names; torch Linear weights are [out, in]).

def param_shapes(cfg):
    d, inner, ff = cfg.d_model, cfg.num_heads * cfg.d_kv, cfg.d_ff
    out = {"shared.weight": (cfg.vocab_size, d)}

    def attn(prefix, rel):
        out[prefix + ".q.weight"] = (inner, d)
        out[prefix + ".k.weight"] = (inner, d)
        out[prefix + ".v.weight"] = (inner, d)
        out[prefix + ".o.weight"] = (d, inner)
        if rel:
            out[prefix + ".relative_attention_bias.weight"] = (cfg.relative_attention_num_buckets, cfg.num_heads)

    def ffn(prefix):
        if cfg.gated:
            out[prefix + ".wi_0.weight"] = (ff, d)
            out[prefix + ".wi_1.weight"] = (ff, d)
        else:
            out[prefix + ".wi.weight"] = (ff, d)
        out[prefix + ".wo.weight"] = (d, ff)

    for i in range(cfg.num_layers):
        b = f"encoder.block.{i}.layer."
        attn(b + "0.SelfAttention", i == 0)
        out[b + "0.layer_norm.weight"] = (d,)
        ffn(b + "1.DenseReluDense")
        out[b + "1.layer_norm.weight"] = (d,)
    out["encoder.final_layer_norm.weight"] = (d,)
    for i in range(cfg.num_decoder_layers):
        b = f"decoder.block.{i}.layer."
        attn(b + "0.SelfAttention", i == 0)
        out[b + "0.layer_norm.weight"] = (d,)
        attn(b + "1.EncDecAttention", False)
        out[b + "1.layer_norm.weight"] = (d,)
        ffn(b + "2.DenseReluDense")
        out[b + "2.layer_norm.weight"] = (d,)
    out["decoder.final_layer_norm.weight"] = (d,)
    if not cfg.tie_word_embeddings:
        out["lm_head.weight"] = (cfg.vocab_size, d)
    return out


def hf_init_std(name, cfg):
    """Std of HF's T5PreTrainedModel._init_weights (initializer_factor 1.0); None for layer norms (= 1)."""
    d, dkv, h, ff = cfg.d_model, cfg.d_kv, cfg.num_heads, cfg.d_ff
    if name.endswith("layer_norm.weight"):
        return None
    if name in ("shared.weight", "lm_head.weight"):
        return 1.0
    if name.endswith("relative_attention_bias.weight"):
        return d ** -0.5
    leaf = name.split(".")[-2]
    return {"q": (d * dkv) ** -0.5, "k": d ** -0.5, "v": d ** -0.5, "o": (h * dkv) ** -0.5,
            "wi": d ** -0.5, "wi_0": d ** -0.5, "wi_1": d ** -0.5, "wo": ff ** -0.5}[leaf]


def hf_init_params(cfg, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    params = {}
    for name, shape in param_shapes(cfg).items():
        std = hf_init_std(name, cfg)
        if std is None:
            params[name] = torch.ones(shape, dtype=dtype)
        else:
            params[name] = (torch.randn(shape, generator=g, dtype=torch.float64) * std).to(dtype)
    return params


# ----------------------------------------------------------------------------------------------
# Deterministic weights, bit-identical with tests/support/det_weights.c.
#   h    = FNV-1a 64 of the tensor name's bytes (offset 0xcbf29ce484222325, prime 0x100000001b3)
#   z    = splitmix64(h ^ (i * 0x9E3779B97F4A7C15))   (all arithmetic mod 2^64; splitmix64 adds the
#          golden gamma first, then the two xor-shift-multiply rounds and a final xor-shift 31)
#   u    = float32((z >> 40) * 2^-23 - 1)     exact, in [-1, 1)
#   w[i] = offset + float32(scale) * u        (float32 arithmetic; offset 1 for layer norms, else 0)

GOLDEN = 0x9E3779B97F4A7C15
MASK64 = (1 << 64) - 1


def fnv1a64(s):
    h = 0xCBF29CE484222325
    for b in s.encode("utf-8"):
        h = ((h ^ b) * 0x100000001B3) & MASK64
    return h


def det_uniform(name, n, start=0):
    """u values for flat indices start..start+n-1 as float32 in [-1, 1)."""
    h = np.uint64(fnv1a64(name))
    out = np.empty(n, dtype=np.float32)
    chunk = 1 << 22
    with np.errstate(over="ignore"):
        for a in range(0, n, chunk):
            i = np.arange(start + a, start + min(n, a + chunk), dtype=np.uint64)
            z = h ^ (i * np.uint64(GOLDEN))
            z = z + np.uint64(GOLDEN)
            z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            z = z ^ (z >> np.uint64(31))
            top = (z >> np.uint64(40)).astype(np.float32)
            out[a:a + len(i)] = top * np.float32(2.0 ** -23) - np.float32(1.0)
    return out


def det_scale_offset(name, cfg):
    """(scale, offset) of a tensor's deterministic weights: uniform in [-scale, scale) + offset.

    scale = sqrt(3) * std so the variance equals HF's init, with these deliberate departures (documented in
    tests/fixtures/reference/README.md): lm_head std d_model^-0.5 (not 1) so untied logits stay O(1);
    relative_attention_bias std 1 (not d_model^-0.5) so a wrong bucket is visible; layer norms 1 + U(-0.25, 0.25)
    so a missing norm weight is visible. std values use 1/sqrt(x) in double, then scale is rounded to float32."""
    d, dkv, h, ff = cfg.d_model, cfg.d_kv, cfg.num_heads, cfg.d_ff
    if name.endswith("layer_norm.weight"):
        return np.float32(0.25), np.float32(1.0)
    if name == "shared.weight":
        std = 1.0
    elif name == "lm_head.weight":
        std = 1.0 / math.sqrt(d)
    elif name.endswith("relative_attention_bias.weight"):
        std = 1.0
    else:
        leaf = name.split(".")[-2]
        x = {"q": d * dkv, "k": d, "v": d, "o": h * dkv, "wi": d, "wi_0": d, "wi_1": d, "wo": ff}[leaf]
        std = 1.0 / math.sqrt(x)
    return np.float32(math.sqrt(3.0) * std), np.float32(0.0)


def det_tensor(name, shape, cfg):
    n = int(np.prod(shape))
    scale, off = det_scale_offset(name, cfg)
    w = det_uniform(name, n) * scale + off   # float32 ops
    return w.astype(np.float32).reshape(shape)


def det_params(cfg, dtype=torch.float64):
    return {k: torch.from_numpy(det_tensor(k, s, cfg)).to(dtype) for k, s in param_shapes(cfg).items()}


# ----------------------------------------------------------------------------------------------
# LoRA (Hu et al. 2021) with PEFT's semantics for T5 (written from PEFT's documented behaviour; peft is not
# a dependency). For a targeted linear module with frozen weight W [out, in]:
#     y = W x + scaling * B (A (dropout(x))),   A = lora_A.weight [r, in], B = lora_B.weight [out, r],
#     scaling = lora_alpha / r (no rsLoRA), dropout on the adapter branch's input only (identity when p = 0).
# Merged: W' = W + scaling * (B @ A). Targets are T5's short module names; PEFT matches a list of names when the
# module path equals a name or ends with "." + name, so "wi" does not select "wi_0". PEFT's fresh init:
# A kaiming_uniform_(a = sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)), B zeros. Adapter tensors are keyed with PEFT's
# safetensors names, "base_model.model.<module path>.lora_A.weight" / ".lora_B.weight".

LORA_MODULES = ("q", "k", "v", "o", "wi", "wi_0", "wi_1", "wo")
LORA_DEFAULT_TARGETS = ("q", "v")


def lora_target_list(spec):
    """"all" | "q,v" | ["q", "v"] -> list of short names (validated; "all" = every linear module of the blocks,
    never lm_head, the embeddings or the relative attention bias)."""
    if spec is None:
        return list(LORA_DEFAULT_TARGETS)
    if isinstance(spec, str):
        if spec == "all":
            return list(LORA_MODULES)
        spec = [t for t in spec.split(",") if t]
    for t in spec:
        if t not in LORA_MODULES:
            raise ValueError(f"unknown LoRA target {t!r}")
    return list(spec)


def lora_modules(cfg, targets):
    """Module paths (HF names without ".weight") carrying an adapter, in checkpoint order."""
    tl = lora_target_list(targets)
    out = []
    for name in param_shapes(cfg):
        parts = name.split(".")
        if parts[-1] == "weight" and len(parts) > 2 and parts[-2] in tl and parts[0] in ("encoder", "decoder"):
            out.append(name[:-len(".weight")])
    return out


def lora_key(module, which):
    """PEFT's adapter_model.safetensors key; which = "A" or "B"."""
    return f"base_model.model.{module}.lora_{which}.weight"


def lora_shapes(cfg, targets, r):
    shapes = param_shapes(cfg)
    out = {}
    for m in lora_modules(cfg, targets):
        n_out, n_in = shapes[m + ".weight"]
        out[lora_key(m, "A")] = (r, n_in)
        out[lora_key(m, "B")] = (n_out, r)
    return out


def lora_det_scale(key, shape):
    """Deterministic adapter values = det_uniform over the PEFT key name times this float32 scale:
    A [r, in]: 1/sqrt(in), PEFT's Kaiming-uniform bound; B [out, r]: 0.25/sqrt(r). B is non-zero so that
    gradients of A and the merge are exercised. For the tiny config (r 4, alpha 8) std(scaling * B A) is about
    0.17 x std(W) for k, v, wi_* and 0.67 x for q. The 0.25 is needed: with 1/sqrt(r) and every module adapted, 20 Adafactor steps grow fp32 rounding about 2x per step (torch fp32 vs fp64 loss
    1.2e-4 relative at step 18), so no fp32 implementation could meet a 1e-4 per-step tolerance."""
    if ".lora_A." in key:
        return np.float32(1.0 / math.sqrt(shape[1]))
    return np.float32(0.25 / math.sqrt(shape[1]))


def lora_det_params(cfg, targets, r, dtype=torch.float64):
    out = {}
    for k, shape in lora_shapes(cfg, targets, r).items():
        w = (det_uniform(k, int(np.prod(shape))) * lora_det_scale(k, shape)).astype(np.float32).reshape(shape)
        out[k] = torch.from_numpy(w).to(dtype)
    return out


def lora_peft_init(cfg, targets, r, seed=0, dtype=torch.float32):
    """PEFT's fresh adapter: A ~ U(-1/sqrt(in), 1/sqrt(in)) (kaiming_uniform_ with a = sqrt(5): gain
    sqrt(2 / (1 + a^2)) = sqrt(1/3), bound = sqrt(3) * gain / sqrt(fan_in)), B = 0. The random stream is
    torch's, not PEFT's; only the distribution is the same."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for k, shape in lora_shapes(cfg, targets, r).items():
        if ".lora_A." in k:
            bound = 1.0 / math.sqrt(shape[1])
            out[k] = ((torch.rand(shape, generator=g, dtype=torch.float64) * 2 - 1) * bound).to(dtype)
        else:
            out[k] = torch.zeros(shape, dtype=dtype)
    return out


class LoraParams(dict):
    """The base parameters (a plain {name: tensor} dict) plus an adapter; linear() applies the adapter to the
    modules that have one. A dict comprehension over it gives the plain base dict back."""

    def __init__(self, base, adapter, r, alpha, dropout=0.0, generator=None):
        super().__init__(base)
        self.scaling = alpha / r
        self.dropout = dropout
        self.generator = generator
        self.lora = {}
        for k, v in adapter.items():
            module, which = k[len("base_model.model."):].rsplit(".lora_", 1)
            self.lora.setdefault(module, [None, None])["AB".index(which[0])] = v
        for m, (a, b) in self.lora.items():
            if a is None or b is None or a.shape[0] != r or b.shape[1] != r:
                raise ValueError(f"adapter for {m}: lora_A/lora_B missing or rank != {r}")


def with_lora(base, adapter, r, alpha, dropout=0.0, generator=None):
    return LoraParams(base, adapter, r, alpha, dropout, generator)


def merge_lora(base, adapter, r, alpha):
    """Plain parameter dict with W + (alpha / r) * (B @ A) for every adapted module (PEFT merge_and_unload)."""
    lp = LoraParams(base, adapter, r, alpha)
    out = dict(base)
    for m, (a, b) in lp.lora.items():
        out[m + ".weight"] = base[m + ".weight"] + (b @ a) * lp.scaling
    return out


def _lora_dropout(x, p, generator):
    if p == 0.0:
        return x
    keep = (torch.rand(x.shape, generator=generator, dtype=torch.float64) >= p).to(x.dtype)
    return x * keep / (1.0 - p)


# ----------------------------------------------------------------------------------------------
# Forward pass.

def rms_norm(x, w, eps):
    # T5LayerNorm: no mean subtraction, no bias; variance in float32 (or wider).
    xf = x.to(torch.float32) if x.dtype in (torch.float16, torch.bfloat16) else x
    var = xf.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(var + eps)).to(w.dtype)


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def relative_position_bucket(rel, bidirectional, num_buckets, max_distance):
    """rel = key_position - query_position (int64 tensor). Same as HF T5Attention._relative_position_bucket;
    the log branch is evaluated in float32 as HF does."""
    buckets = torch.zeros_like(rel)
    if bidirectional:
        num_buckets //= 2
        buckets = buckets + (rel > 0).long() * num_buckets
        rel = rel.abs()
    else:
        rel = -torch.min(rel, torch.zeros_like(rel))
    max_exact = num_buckets // 2
    is_small = rel < max_exact
    large = max_exact + (torch.log(rel.float() / max_exact) / math.log(max_distance / max_exact)
                         * (num_buckets - max_exact)).long()
    large = torch.min(large, torch.full_like(large, num_buckets - 1))
    return buckets + torch.where(is_small, rel, large)


def position_bias(table, qpos, kpos, bidirectional, cfg):
    """table [buckets, heads]; qpos [B, Q], kpos [B, K] -> bias [B, heads, Q, K]."""
    rel = kpos[:, None, :] - qpos[:, :, None]
    b = relative_position_bucket(rel, bidirectional, cfg.relative_attention_num_buckets,
                                 cfg.relative_attention_max_distance)
    return table[b].permute(0, 3, 1, 2)


def linear(p, module, x):
    """Bias-free linear layer x @ W^T of HF module path `module`; with a LoraParams p and an adapter on this
    module, + scaling * B(A(dropout(x))) (PEFT's order: lora_B(lora_A(x)) * scaling)."""
    y = x @ p[module + ".weight"].T
    ab = getattr(p, "lora", {}).get(module)
    if ab is not None:
        a, b = ab
        y = y + ((_lora_dropout(x, p.dropout, p.generator) @ a.T) @ b.T) * p.scaling
    return y


def attention(p, prefix, x, kv, bias, cfg):
    """Multi-head attention without 1/sqrt(d) scaling. bias [B or 1, H, Q, K] already holds the mask."""
    B, Q, _ = x.shape
    K = kv.shape[1]
    H, dk = cfg.num_heads, cfg.d_kv
    q = linear(p, prefix + ".q", x).view(B, Q, H, dk).transpose(1, 2)
    k = linear(p, prefix + ".k", kv).view(B, K, H, dk).transpose(1, 2)
    v = linear(p, prefix + ".v", kv).view(B, K, H, dk).transpose(1, 2)
    scores = q @ k.transpose(-1, -2) + bias
    w = torch.softmax(scores, dim=-1)
    o = (w @ v).transpose(1, 2).reshape(B, Q, H * dk)
    return linear(p, prefix + ".o", o)


def feed_forward(p, prefix, x, cfg):
    if cfg.gated:
        h = gelu_new(linear(p, prefix + ".wi_0", x)) * linear(p, prefix + ".wi_1", x)
    else:
        h = torch.relu(linear(p, prefix + ".wi", x))
    return linear(p, prefix + ".wo", h)


def mask_bias(allowed, dtype):
    """allowed [B, Q, K] bool -> additive [B, 1, Q, K]: 0 or finfo(dtype).min (as HF)."""
    neg = torch.finfo(dtype).min
    return torch.where(allowed, torch.zeros((), dtype=dtype), torch.full((), neg, dtype=dtype))[:, None]


@dataclass
class Batch:
    """A batch in either layout.
    padded (HF): enc_seg = attention_mask (1 real / 0 pad), positions = arange, dec_seg all ones; masks use
      keys only (encoder) and causal only (decoder self-attention, decoder_attention_mask=None).
    packed (T5X): *_seg = segment ids (1, 2, ...; 0 = padding), *_pos restart at 0 per segment; attention only
      within equal segment ids (decoder additionally causal, cross-attention dec_seg == enc_seg)."""
    enc_ids: torch.Tensor
    enc_seg: torch.Tensor
    enc_pos: torch.Tensor
    dec_ids: torch.Tensor     # decoder input ids (already shifted right)
    dec_seg: torch.Tensor
    dec_pos: torch.Tensor
    packed: bool


def padded_batch(inputs, dec_inputs):
    """inputs / dec_inputs: lists of id lists -> Batch (pad id 0)."""
    B = len(inputs)
    S = max(len(x) for x in inputs)
    T = max(len(x) for x in dec_inputs)
    e = torch.zeros(B, S, dtype=torch.long)
    em = torch.zeros(B, S, dtype=torch.long)
    d = torch.zeros(B, T, dtype=torch.long)
    for i, x in enumerate(inputs):
        e[i, :len(x)] = torch.tensor(x)
        em[i, :len(x)] = 1
    for i, x in enumerate(dec_inputs):
        d[i, :len(x)] = torch.tensor(x)
    return Batch(e, em, torch.arange(S).expand(B, S), d, torch.ones(B, T, dtype=torch.long),
                 torch.arange(T).expand(B, T), False)


def encode(p, cfg, bt):
    x = p["shared.weight"][bt.enc_ids]
    if bt.packed:
        allowed = (bt.enc_seg[:, :, None] == bt.enc_seg[:, None, :]) & (bt.enc_seg[:, None, :] != 0)
    else:
        allowed = (bt.enc_seg[:, None, :] != 0).expand(-1, bt.enc_ids.shape[1], -1)
    bias = position_bias(p["encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"],
                         bt.enc_pos, bt.enc_pos, True, cfg) + mask_bias(allowed, x.dtype)
    for i in range(cfg.num_layers):
        b = f"encoder.block.{i}.layer."
        h = rms_norm(x, p[b + "0.layer_norm.weight"], cfg.layer_norm_epsilon)
        x = x + attention(p, b + "0.SelfAttention", h, h, bias, cfg)
        h = rms_norm(x, p[b + "1.layer_norm.weight"], cfg.layer_norm_epsilon)
        x = x + feed_forward(p, b + "1.DenseReluDense", h, cfg)
    return rms_norm(x, p["encoder.final_layer_norm.weight"], cfg.layer_norm_epsilon)


def decode(p, cfg, bt, enc_out):
    """Returns logits [B, T, V]."""
    x = p["shared.weight"][bt.dec_ids]
    T = bt.dec_ids.shape[1]
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))[None]
    if bt.packed:
        self_ok = causal & (bt.dec_seg[:, :, None] == bt.dec_seg[:, None, :])
        cross_ok = bt.dec_seg[:, :, None] == bt.enc_seg[:, None, :]
    else:
        self_ok = causal.expand(bt.dec_ids.shape[0], -1, -1)
        cross_ok = (bt.enc_seg[:, None, :] != 0).expand(-1, T, -1)
    self_bias = position_bias(p["decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"],
                              bt.dec_pos, bt.dec_pos, False, cfg) + mask_bias(self_ok, x.dtype)
    cross_bias = mask_bias(cross_ok, x.dtype)   # no position bias in cross-attention
    eps = cfg.layer_norm_epsilon
    for i in range(cfg.num_decoder_layers):
        b = f"decoder.block.{i}.layer."
        h = rms_norm(x, p[b + "0.layer_norm.weight"], eps)
        x = x + attention(p, b + "0.SelfAttention", h, h, self_bias, cfg)
        x = x + attention(p, b + "1.EncDecAttention", rms_norm(x, p[b + "1.layer_norm.weight"], eps), enc_out,
                          cross_bias, cfg)
        x = x + feed_forward(p, b + "2.DenseReluDense", rms_norm(x, p[b + "2.layer_norm.weight"], eps), cfg)
    x = rms_norm(x, p["decoder.final_layer_norm.weight"], eps)
    if cfg.tie_word_embeddings:
        return (x * cfg.d_model ** -0.5) @ p["shared.weight"].T
    return x @ p["lm_head.weight"].T


def lm_loss(logits, labels):
    """Cross-entropy mean over labels != -100 (HF CrossEntropyLoss(ignore_index=-100))."""
    lp = torch.log_softmax(logits, dim=-1)
    ok = labels != -100
    tgt = lp.gather(-1, labels.clamp(min=0)[..., None])[..., 0]
    return -(tgt * ok).sum() / ok.sum()


def shift_right(labels, start=0):
    """HF _shift_right: prepend decoder_start_token_id, drop last, -100 -> pad 0."""
    out = torch.full_like(labels, 0)
    out[:, 1:] = labels[:, :-1]
    out[:, 0] = start
    return out.masked_fill(out == -100, 0)


def shift_right_packed(targets, seg, start=0):
    """T5X packed decoder inputs: shift right within each segment, the first token of a segment is start."""
    prev = torch.zeros_like(targets)
    prev[:, 1:] = targets[:, :-1]
    same = torch.zeros_like(seg, dtype=torch.bool)
    same[:, 1:] = seg[:, 1:] == seg[:, :-1]
    return torch.where(same & (seg != 0), prev, torch.full_like(targets, start)) * (seg != 0)


def padded_loss(p, cfg, inputs, targets):
    """HF-style: labels padded with -100, decoder_input_ids = shift_right(labels)."""
    T = max(len(t) for t in targets)
    labels = torch.full((len(targets), T), -100, dtype=torch.long)
    for i, t in enumerate(targets):
        labels[i, :len(t)] = torch.tensor(t)
    dec_in = shift_right(labels, cfg.decoder_start_token_id)
    bt = padded_batch(inputs, [list(r) for r in dec_in.tolist()])
    logits = decode(p, cfg, bt, encode(p, cfg, bt))
    return lm_loss(logits, labels), logits, labels, bt


# ----------------------------------------------------------------------------------------------
# Generation (one example at a time; HF's batched generate gives the same ids since padded keys get
# exactly zero attention weight).

def _next_logprobs(p, cfg, enc_out, enc_len, seqs):
    """seqs: list of id lists (same length) -> log-softmax of the last position [n, V]."""
    n = len(seqs)
    T = len(seqs[0])
    bt = Batch(None, torch.ones(n, enc_len, dtype=torch.long), torch.arange(enc_len).expand(n, enc_len),
               torch.tensor(seqs), torch.ones(n, T, dtype=torch.long), torch.arange(T).expand(n, T), False)
    logits = decode(p, cfg, bt, enc_out.expand(n, -1, -1))
    return torch.log_softmax(logits[:, -1], dim=-1), logits[:, -1]


def encode_one(p, cfg, ids):
    bt = Batch(torch.tensor([ids]), torch.ones(1, len(ids), dtype=torch.long), torch.arange(len(ids))[None],
               None, None, None, False)
    return encode(p, cfg, bt)


@torch.no_grad()
def greedy(p, cfg, ids, max_new_tokens):
    """HF greedy: returns [decoder_start, t1, ..., tn] stopping after eos or max_new_tokens."""
    return greedy_with_margin(p, cfg, ids, max_new_tokens)[0]


@torch.no_grad()
def greedy_with_margin(p, cfg, ids, max_new_tokens):
    """greedy() plus the smallest top-1 minus top-2 logit gap seen (how safe the ids are for fp32 code)."""
    enc = encode_one(p, cfg, ids)
    seq = [cfg.decoder_start_token_id]
    margin = float("inf")
    for _ in range(max_new_tokens):
        _, logits = _next_logprobs(p, cfg, enc, len(ids), [seq])
        top2 = torch.topk(logits[0], 2).values
        margin = min(margin, float(top2[0] - top2[1]))
        t = int(torch.argmax(logits[0]))
        seq.append(t)
        if t == cfg.eos_token_id:
            break
    return seq, margin


class _Hyps:
    """HF BeamHypotheses: keeps the num_beams best finished hypotheses by sum_logprobs / generated_len**lp."""

    def __init__(self, num_beams, length_penalty, early_stopping):
        self.n, self.lp, self.es = num_beams, length_penalty, early_stopping
        self.beams = []            # (score, ids)
        self.worst = 1e9

    def add(self, ids, sum_logprobs, generated_len):
        score = sum_logprobs / (generated_len ** self.lp)
        if len(self.beams) < self.n or score > self.worst:
            self.beams.append((score, ids))
            if len(self.beams) > self.n:
                order = sorted((s, i) for i, (s, _) in enumerate(self.beams))
                del self.beams[order[0][1]]
                self.worst = order[1][0]
            else:
                self.worst = min(score, self.worst)

    def is_done(self, best_sum_logprobs, generated_len):
        if len(self.beams) < self.n:
            return False
        if self.es:
            return True
        return self.worst >= best_sum_logprobs / (generated_len ** self.lp)


@torch.no_grad()
def beam_search(p, cfg, ids, num_beams, max_new_tokens, length_penalty=1.0, early_stopping=False):
    """HF generate(num_beams=k) for one example (BeamSearchScorer of transformers 4.36..4.47).

    Per step: log_softmax of the last logits + running beam score; top 2*k over k*V candidates (sorted);
    walk them in rank order: an eos candidate of rank < k becomes a finished hypothesis whose
    generated_len = tokens generated including the eos (= current sequence length incl. start token);
    eos candidates of rank >= k are skipped; other candidates fill the next k beams. After each step the
    example is done when is_done(max of the 2k candidate scores, generated_len): with early_stopping True
    as soon as k hypotheses exist, else when the worst kept score >= best candidate / generated_len**lp.
    At max length (1 + max_new_tokens tokens) the k open beams are offered too, with generated_len =
    their generated token count (no eos). Returns (ids incl. start token [+ eos], score)."""
    k = num_beams
    enc = encode_one(p, cfg, ids)
    V = cfg.vocab_size
    seqs = [[cfg.decoder_start_token_id] for _ in range(k)]
    scores = torch.full((k,), -1e9, dtype=torch.float64)
    scores[0] = 0.0
    hyps = _Hyps(k, length_penalty, early_stopping)
    done = False
    while True:
        lp, _ = _next_logprobs(p, cfg, enc, len(ids), seqs)
        cand = (lp.to(torch.float64) + scores[:, None]).reshape(-1)
        top_s, top_i = torch.topk(cand, 2 * k, largest=True, sorted=True)
        cur_len = len(seqs[0]) + 1          # length after appending, incl. the start token
        new_seqs, new_scores = [], []
        for rank in range(2 * k):
            beam, tok, s = int(top_i[rank]) // V, int(top_i[rank]) % V, float(top_s[rank])
            if tok == cfg.eos_token_id:
                if rank >= k:
                    continue
                hyps.add(seqs[beam] + [tok], s, cur_len - 1)
            else:
                new_seqs.append(seqs[beam] + [tok])
                new_scores.append(s)
            if len(new_seqs) == k:
                break
        done = done or hyps.is_done(float(top_s.max()), cur_len - 1)
        seqs, scores = new_seqs, torch.tensor(new_scores, dtype=torch.float64)
        if done or len(seqs[0]) >= 1 + max_new_tokens:
            break
    if not done:
        for b in range(k):
            hyps.add(seqs[b], float(scores[b]), len(seqs[b]) - 1)
    best = max(hyps.beams, key=lambda t: t[0])
    # HF stores finished hypotheses without the eos and appends it at the end if it fits max_length; we keep
    # the eos in the stored ids, which is the same output.
    return best[1], best[0]


# ----------------------------------------------------------------------------------------------
# Adafactor as in transformers.optimization.Adafactor (beta1 None path and the options used by flanvk).

class Adafactor(torch.optim.Optimizer):
    """Per parameter, step t (starting at 1):
        rho = 1 - t**decay_rate (decay_rate -0.8);  g2 = grad**2 + eps1 (1e-30)
        factored (ndim >= 2): R = rho*R + (1-rho)*mean_lastdim(g2); C = rho*C + (1-rho)*mean_rowdim(g2)
                              u = grad * rsqrt(R / mean(R))[:, None] * rsqrt(C)[None, :]
        else:                  V = rho*V + (1-rho)*g2;  u = grad * rsqrt(V)
        u /= max(1, rms(u) / clip_threshold);   rms(x) = ||x||_2 / sqrt(numel)
        lr_t = lr (relative_step False) [ * max(eps2, rms(param)) if scale_parameter ]
        if beta1: m = beta1*m + (1-beta1)*u*lr_t ... (not used here); else u *= lr_t
        param -= lr_t*weight_decay*param (if weight_decay);  param -= u"""

    def __init__(self, params, lr=1e-3, eps=(1e-30, 1e-3), clip_threshold=1.0, decay_rate=-0.8, beta1=None,
                 weight_decay=0.0, scale_parameter=False, relative_step=False, warmup_init=False):
        super().__init__(params, dict(lr=lr, eps=eps, clip_threshold=clip_threshold, decay_rate=decay_rate,
                                      beta1=beta1, weight_decay=weight_decay, scale_parameter=scale_parameter,
                                      relative_step=relative_step, warmup_init=warmup_init))

    @staticmethod
    def _rms(t):
        return t.norm(2) / (t.numel() ** 0.5)

    @torch.no_grad()
    def step(self):
        for g in self.param_groups:
            for p in g["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                st = self.state[p]
                factored = grad.dim() >= 2
                if not st:
                    st["step"] = 0
                    if g["beta1"] is not None:
                        st["exp_avg"] = torch.zeros_like(grad)
                    if factored:
                        st["row"] = torch.zeros(grad.shape[:-1], dtype=grad.dtype)
                        st["col"] = torch.zeros(grad.shape[:-2] + grad.shape[-1:], dtype=grad.dtype)
                    else:
                        st["sq"] = torch.zeros_like(grad)
                st["step"] += 1
                t = st["step"]
                lr = g["lr"]
                if g["relative_step"]:
                    lr = min(1e-6 * t if g["warmup_init"] else 1e-2, 1.0 / math.sqrt(t))
                if g["scale_parameter"]:
                    lr = max(g["eps"][1], float(self._rms(p))) * lr
                rho = 1.0 - math.pow(t, g["decay_rate"])
                g2 = grad ** 2 + g["eps"][0]
                if factored:
                    st["row"].mul_(rho).add_(g2.mean(dim=-1), alpha=1.0 - rho)
                    st["col"].mul_(rho).add_(g2.mean(dim=-2), alpha=1.0 - rho)
                    r = (st["row"] / st["row"].mean(dim=-1, keepdim=True)).rsqrt().unsqueeze(-1)
                    c = st["col"].unsqueeze(-2).rsqrt()
                    u = r * c * grad
                else:
                    st["sq"].mul_(rho).add_(g2, alpha=1.0 - rho)
                    u = st["sq"].rsqrt() * grad
                u = u / (self._rms(u) / g["clip_threshold"]).clamp(min=1.0)
                u = u * lr
                if g["beta1"] is not None:
                    st["exp_avg"].mul_(g["beta1"]).add_(u, alpha=1 - g["beta1"])
                    u = st["exp_avg"]
                if g["weight_decay"] != 0:
                    p.add_(p, alpha=-g["weight_decay"] * lr)
                p.add_(-u)
