#!/usr/bin/python3
"""The training step of `flanvk bench train` in PyTorch on the same CPU, for docs/PERFORMANCE.md:
flan-t5-small shapes (tools/t5_reference.py's plain-function T5 v1.1, HF random init), float32,
batch of 8 packed rows of 512 input and 128 target tokens (4 examples per row, as flanvk's
benchmark), loss = mean cross-entropy over target tokens, backward, torch.optim.AdamW step.
No dropout (the reference has none; flanvk's benchmark runs dropout 0.1, a few elementwise passes).

usage: /usr/bin/python3 tools/bench_torch_train.py [--steps N (2)] [--threads T (all cores)] [--json]
Prints the best step time over N steps after one warm-up (--steps 0: the warm-up step only, for a
slow BLAS), split into forward (incl. loss), backward and optimizer, and tokens/s =
B * (512 + 128) / step time. Debian's torch and numpy call libblas.so.3, which is the reference
BLAS unless OpenBLAS is installed; docs/PERFORMANCE.md gives figures for both."""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import t5_reference as ref  # noqa: E402


def packed_batch(cfg, B, L, L2, per=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    seglen, seglen2 = (L + per - 1) // per, (L2 + per - 1) // per
    t, t2 = torch.arange(L), torch.arange(L2)
    enc_ids = torch.randint(3, cfg.vocab_size - 200, (B, L), generator=g)
    labels = torch.randint(3, cfg.vocab_size - 200, (B, L2), generator=g)
    enc_seg = (t // seglen + 1).expand(B, L).contiguous()
    enc_pos = (t % seglen).expand(B, L).contiguous()
    dec_seg = (t2 // seglen2 + 1).expand(B, L2).contiguous()
    dec_pos = (t2 % seglen2).expand(B, L2).contiguous()
    dec_ids = ref.shift_right_packed(labels, dec_seg, cfg.decoder_start_token_id)
    return ref.Batch(enc_ids, enc_seg, enc_pos, dec_ids, dec_seg, dec_pos, True), labels


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--seq-len-in", type=int, default=512)
    ap.add_argument("--seq-len-out", type=int, default=128)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    cfg = ref.Config(vocab_size=32128, d_model=512, d_kv=64, d_ff=1024, num_layers=8, num_decoder_layers=8,
                     num_heads=6, feed_forward_proj="gated-gelu", tie_word_embeddings=False)
    params = {k: v.requires_grad_(True) for k, v in ref.hf_init_params(cfg, seed=0).items()}
    nparams = sum(v.numel() for v in params.values())
    opt = torch.optim.AdamW(params.values(), lr=1e-4)
    bt, labels = packed_batch(cfg, a.batch_size, a.seq_len_in, a.seq_len_out)
    tokens = a.batch_size * (a.seq_len_in + a.seq_len_out)
    best = None
    for step in range(a.steps + 1):  # step 0 is a warm-up
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = ref.lm_loss(ref.decode(params, cfg, bt, ref.encode(params, cfg, bt)), labels)
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        t3 = time.perf_counter()
        r = (t3 - t0, t1 - t0, t2 - t1, t3 - t2)
        if (step or a.steps == 0) and (best is None or r[0] < best[0]):
            best = r
        if not a.json:
            print(f"step {step}: {r[0]:.2f} s (forward {r[1]:.2f}, backward {r[2]:.2f}, optimizer {r[3]:.2f}), "
                  f"loss {loss.item():.4f}{' (warm-up)' if step == 0 else ''}", flush=True)
    out = {"name": "torch_train", "torch": torch.__version__, "threads": torch.get_num_threads(),
           "params": nparams, "tokens_per_s": round(tokens / best[0], 2), "ms_step": round(best[0] * 1e3, 1),
           "ms_forward": round(best[1] * 1e3, 1), "ms_backward": round(best[2] * 1e3, 1),
           "ms_optimizer": round(best[3] * 1e3, 1)}
    print(json.dumps(out) if a.json else
          f"torch {out['torch']}, {out['threads']} threads, {nparams / 1e6:.1f}M parameters: best step "
          f"{out['ms_step']:.0f} ms, {out['tokens_per_s']:.1f} tokens/s")


if __name__ == "__main__":
    main()
