#!/usr/bin/env python3
"""Manual check of flanvk's PEFT LoRA adapters against Hugging Face PEFT itself (needs torch,
transformers, peft and safetensors; not part of the test suite, whose helpers are standard library only).

  peft_check.py load MODEL ADAPTER MERGED
      PeftModel.from_pretrained(MODEL, ADAPTER) (an adapter flanvk wrote) loads every lora_A/lora_B
      exactly as the file holds them; its logits (eval mode) equal those of MERGED (`flanvk merge
      --weights f32` of the same two) and its merge_and_unload() weights equal MERGED's
  peft_check.py write MODEL OUT [targets=q,v] [r=4] [alpha=8]
      get_peft_model + LoraConfig(task_type SEQ_2_SEQ_LM) with B made non-zero, save_pretrained(OUT): an
      adapter written by PEFT for flanvk to read (`flanvk merge --check`, then `load` above)
"""
import sys

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from safetensors.torch import load_file
from transformers import T5ForConditionalGeneration


def logits(model, ids, dec):
    with torch.no_grad():
        return model(input_ids=ids, decoder_input_ids=dec).logits


def load(model_dir, adapter, merged_dir):
    base = T5ForConditionalGeneration.from_pretrained(model_dir, torch_dtype=torch.float32).eval()
    pm = PeftModel.from_pretrained(base, adapter).eval()
    saved = load_file(f"{adapter}/adapter_model.safetensors")
    state = pm.state_dict()
    n = 0
    for key, val in saved.items():
        live = key.replace(".lora_A.weight", ".lora_A.default.weight").replace(".lora_B.weight", ".lora_B.default.weight")
        assert live in state, f"PEFT has no {live}"
        assert torch.equal(state[live], val.to(torch.float32)), f"{key}: loaded values differ"
        n += 1
    print(f"PeftModel.from_pretrained: {n} LoRA tensors loaded exactly as stored; scaling "
          f"{next(iter(m.scaling['default'] for m in pm.modules() if hasattr(m, 'scaling') and 'default' in m.scaling))}")
    merged = T5ForConditionalGeneration.from_pretrained(merged_dir, torch_dtype=torch.float32).eval()
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(2, base.config.vocab_size, (3, 9), generator=g)
    dec = torch.randint(2, base.config.vocab_size, (3, 5), generator=g)
    a, b = logits(pm, ids, dec), logits(merged, ids, dec)
    plain = logits(T5ForConditionalGeneration.from_pretrained(model_dir, torch_dtype=torch.float32).eval(), ids, dec)
    print(f"logits: PEFT (unmerged) vs flanvk merge: max abs diff {(a - b).abs().max().item():.3e} "
          f"(max |logit| {a.abs().max().item():.3f}; base differs by {(a - plain).abs().max().item():.3e})")
    pmu = pm.merge_and_unload()
    worst = 0.0
    msd = merged.state_dict()
    for k, v in pmu.state_dict().items():
        worst = max(worst, (v - msd[k]).abs().max().item())
    print(f"merge_and_unload() vs flanvk merge: max abs weight diff {worst:.3e}")


def write(model_dir, out, opts):
    base = T5ForConditionalGeneration.from_pretrained(model_dir, torch_dtype=torch.float32)
    cfg = LoraConfig(task_type="SEQ_2_SEQ_LM", r=int(opts.get("r", 4)), lora_alpha=int(opts.get("alpha", 8)),
                     lora_dropout=0.05, target_modules=opts.get("targets", "q,v").split(","))
    pm = get_peft_model(base, cfg)
    torch.manual_seed(1)
    with torch.no_grad():
        for name, p in pm.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.1)
    pm.save_pretrained(out)
    print(f"PEFT wrote {out}")


if __name__ == "__main__":
    if sys.argv[1] == "load":
        load(*sys.argv[2:5])
    elif sys.argv[1] == "write":
        write(sys.argv[2], sys.argv[3], dict(a.split("=", 1) for a in sys.argv[4:]))
