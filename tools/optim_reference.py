#!/usr/bin/python3
"""Expected numbers for src/check/op_adamw.c and src/check/op_adafactor.c.

AdamW: torch.optim.AdamW itself. Adafactor: transformers is not installed here, so this is a short
independent re-implementation in torch (float32, HF's operation order) of the algorithm documented
for transformers.optimization.Adafactor. Inputs come from integer formulas so the C check
regenerates them exactly. Run with Debian's python (it has torch):  /usr/bin/python3 tools/optim_reference.py
and paste the printed arrays into the checks."""
import math

import torch

STEPS = 10


def p0(n):
    return torch.tensor([((i * 37) % 17 - 8) / 8.0 for i in range(n)], dtype=torch.float32)


def grad(n, s):
    return torch.tensor([((i * 13 + s * 7) % 11 - 5) / 5.0 for i in range(n)], dtype=torch.float32)


def adamw(n, lr, betas, eps, wd):
    p = torch.nn.Parameter(p0(n))
    opt = torch.optim.AdamW([p], lr=lr, betas=betas, eps=eps, weight_decay=wd, foreach=False)
    for s in range(1, STEPS + 1):
        p.grad = grad(n, s)
        opt.step()
    return p.detach()


def rms(x):
    return x.norm(2) / (x.numel() ** 0.5)


def adafactor(shape, lr=None, eps=(1e-30, 1e-3), clip=1.0, decay=-0.8, beta1=None, wd=0.0, scale=True,
              relative=True, warmup=False):
    n = math.prod(shape)
    p = p0(n).reshape(shape)
    factored = len(shape) >= 2
    if factored:
        row, col = torch.zeros(shape[:-1]), torch.zeros(shape[:-2] + shape[-1:])
    else:
        v = torch.zeros(shape)
    m = torch.zeros(shape) if beta1 is not None else None
    for t in range(1, STEPS + 1):
        g = grad(n, t).reshape(shape)
        rms_p = rms(p)  # before this step's update
        step_lr = lr
        if relative:
            step_lr = min(1e-6 * t if warmup else 1e-2, 1.0 / math.sqrt(t))
        cur_lr = step_lr * (max(eps[1], rms_p.item()) if scale else 1.0)
        beta2t = 1.0 - t ** decay
        sq = g * g + eps[0]
        if factored:
            row = row * beta2t + sq.mean(dim=-1) * (1.0 - beta2t)
            col = col * beta2t + sq.mean(dim=-2) * (1.0 - beta2t)
            r = (row / row.mean(dim=-1, keepdim=True)).rsqrt().unsqueeze(-1)
            c = col.unsqueeze(-2).rsqrt()
            u = r * c * g
        else:
            v = v * beta2t + sq * (1.0 - beta2t)
            u = v.rsqrt() * g
        u = u / torch.clamp(rms(u) / clip, min=1.0)
        u = u * cur_lr
        if m is not None:
            m = m * beta1 + u * (1.0 - beta1)
            u = m
        if wd != 0.0:
            p = p + p * (-wd * cur_lr)
        p = p - u
    return p.reshape(-1)


def show(name, x):
    vals = ", ".join("%.9gf" % v for v in x.tolist())
    print("static const float %s[] = {%s};" % (name, vals))


if __name__ == "__main__":
    torch.set_num_threads(1)
    show("adamw_wd", adamw(15, 1e-2, (0.9, 0.999), 1e-8, 0.01))
    show("adamw_nowd", adamw(15, 3e-3, (0.8, 0.99), 1e-6, 0.0))
    show("adafactor_default_3x5", adafactor((3, 5)))
    show("adafactor_lr_b1_wd_3x5", adafactor((3, 5), lr=1e-2, scale=False, relative=False, beta1=0.9, wd=0.1))
    show("adafactor_warmup_b1_7", adafactor((7,), warmup=True, beta1=0.9))
    show("adafactor_default_7", adafactor((7,)))
    show("adafactor_noscale_1x1", adafactor((1, 1), scale=False))
