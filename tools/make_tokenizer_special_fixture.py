#!/usr/bin/env python3
"""Make tests/fixtures/tokenizer/hf_special_ids.jsonl: Hugging Face's T5 ids for texts that hold
special tokens (</s>, <pad>, <unk>, <extra_id_N>) written in them, for tests/unit/test_tokenizer.c.

transformers is not a Debian package; install it into a private directory with the python3 on PATH
(not /usr/bin/python3) and run:
    python3 -m pip install --target /tmp/hf-tok transformers tokenizers sentencepiece protobuf
    PYTHONPATH=/tmp/hf-tok python3 tools/make_tokenizer_special_fixture.py [TOKENIZER_DIR] [OUT]
TOKENIZER_DIR defaults to /work/shared/data/tokenizer (spiece.model, hf_tokenizer_json/,
hf_tokenizer_json_legacy/).

The reference is AutoTokenizer (transformers 5: T5Tokenizer on the `tokenizers` library, i.e. the
fast tokenizer), loaded three ways: from spiece.model alone and from each tokenizer.json folder. The
script stops if the three disagree on any text. Each output line is
    {"text": str, "ids": [int...], "decoded": str}
where ids = tokenizer(text).input_ids (</s> appended) and decoded = the decode flanvk promises:
Hugging Face's decode of ids without <pad> and </s> (as skip_special_tokens drops them), sentinels
and <unk> kept as HF writes them, clean_up_tokenization_spaces off.

It also writes hf_spm_diff.jsonl beside OUT: the texts of spm_ids.jsonl (SentencePiece's ids,
made by tools/make_tokenizer_fixture.py) on which Hugging Face gives other ids, one line each
    {"text": str, "hf_ids": [...], "spm_ids": [...], "flanvk": "hf" | "spm", "why": str}
"flanvk" says which of the two flanvk gives: "hf" where both segmentations have the same total score
(tokenizers sums path scores in double, SentencePiece keeps floats; flanvk does as tokenizers),
"spm" where tokenizers' Precompiled normalizer works on grapheme clusters (a cluster under 6 bytes
is replaced whole by its shortest charsmap prefix's replacement, dropping the rest), which flanvk,
having no grapheme segmentation, does not copy.

With --corpus OUT.jsonl it instead writes Hugging Face's ids (no </s>) for every distinct text of
shared/data's BBH, MMLU, flan_cot and MGSM files in spm_ids.jsonl's format ("decoded" is
SentencePiece's decode), for a large check that is not committed:
    FLANVK_TOKENIZER_FIXTURE=OUT.jsonl build/tests/test_tokenizer
(2026-12-04: 69,816 texts, flanvk == Hugging Face on all, from spiece.model and both tokenizer.json.)

It also prints, for information, where the `tokenizers` library reading tokenizer.json as it is
(what transformers 4.x's T5TokenizerFast does) differs: hf_tokenizer_json_legacy/tokenizer.json
has Metaspace prepend_scheme "first", under which a part after a special token gets no "▁" prefix."""
import json
import os
import shutil
import sys
import tempfile
import warnings

warnings.filterwarnings("ignore")
from tokenizers import Tokenizer  # noqa: E402
from transformers import AutoTokenizer  # noqa: E402
import transformers  # noqa: E402

ARGS = [a for a in sys.argv[1:3] if a != "--corpus"] if sys.argv[1:2] != ["--corpus"] else []
SRC = ARGS[0] if len(ARGS) > 0 else "/work/shared/data/tokenizer"
OUT = ARGS[1] if len(ARGS) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "tokenizer", "hf_special_ids.jsonl")

LONG = [
    "Q: Roger has 5 tennis balls. He buys 2 more cans of tennis balls. Each can has 3 tennis balls. "
    "How many tennis balls does he have now?\nA: Let's think step by step.",
    "The following are multiple choice questions (with answers) about high school physics. "
    "A 2 kg object moves at 3 m/s; what is its kinetic energy?\n(A) 6 J (B) 9 J (C) 12 J (D) 18 J\nAnswer:",
    "translate English to German: The house is wonderful, and the garden behind it is even better.",
    "Premise: A man inspects the uniform of a figure in some East Asian country. "
    "Hypothesis: The man is sleeping. Does the premise entail the hypothesis? OPTIONS: - yes - it is not possible to tell - no",
]

CASES = [
    "text then </s>", "</s>", "a</s>b", "a </s> b", "<pad>x", "<unk>", "<extra_id_0> fills <extra_id_1>.",
    "<extra_id_99>", "<extra_id_100>", "</s></s>", "< /s>", "<extra_id_0>", "<extra_id_1>", "<extra_id_10>",
    "<extra_id_010>", "<extra_id_-1>", "<extra_id_>", "<EXTRA_ID_0>", "</S>", "<s>", "<pad", "pad>", "</s",
    "<</s>>", "<<pad>>", "<extra_id_0><extra_id_99>", "<extra_id_0 >", "< extra_id_0>",
    "The <extra_id_0> walks in <extra_id_1> park", "The<extra_id_0>walks in<extra_id_1>park",
    "<extra_id_0> cute dog <extra_id_1> the <extra_id_2>",
    "  leading </s>", "trailing </s>   ", "   </s>   ", "  a  </s>  b  ", "\t</s>\n", "a\n</s>\nb",
    "a\u3000</s>\u3000b", "a\u00a0<extra_id_0>\u00a0b", "x\u2028<extra_id_0>\u2029y", "a\u0085b </s> c\u1680d",
    "café</s>naïve", "é</s>ü", "日本語</s>テキスト", "<extra_id_3>日本語<extra_id_4>", "😀</s>😀", "Русский <pad> текст",
    "ｆｕｌｌ</s>ｗｉｄｔｈ", "ﬁ<extra_id_5>ﬂ", "▁</s>▁", "a▁</s>▁b", "</s>▁x", "\u200b</s>\u200b",
    "<unk><unk>", "x<unk>y", "<pad><pad>text", "</s><pad><unk><extra_id_7>", "question: is it? </s> answer: yes </s>",
    "&lt;/s&gt; <b>bold</b> </s>", "2 < 3 </s> 4 > 1", "<p>html</p><extra_id_0>", "</s>" * 5, "a" + "</s>" * 3 + "b",
] + LONG + [t + " </s>" for t in LONG[:2]]


def ref_dirs(tmp):
    """spiece.model alone (with a minimal tokenizer_config.json so AutoTokenizer knows the class)
    and the two tokenizer.json folders."""
    spm = os.path.join(tmp, "spm")
    os.makedirs(spm)
    shutil.copy(os.path.join(SRC, "spiece.model"), spm)
    with open(os.path.join(spm, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "T5Tokenizer", "extra_ids": 100, "model_max_length": 512}, f)
    return {"spiece.model": spm, "hf_tokenizer_json": os.path.join(SRC, "hf_tokenizer_json"),
            "hf_tokenizer_json_legacy": os.path.join(SRC, "hf_tokenizer_json_legacy")}


def spm_differences(tok):
    """Texts of spm_ids.jsonl where AutoTokenizer's ids (without </s>) are not SentencePiece's."""
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=os.path.join(SRC, "spiece.model"))
    path = os.path.join(os.path.dirname(OUT), "spm_ids.jsonl")
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if any(s in r["text"] for s in ("</s>", "<pad>", "<unk>")):
                continue  # special tokens: hf_special_ids.jsonl
            hf = tok(r["text"], add_special_tokens=False)["input_ids"]
            if hf == r["ids"]:
                continue
            tie = (sorted(hf) == sorted(r["ids"]) and
                   sum(sp.get_score(i) for i in hf) == sum(sp.get_score(i) for i in r["ids"]))
            why = ("the same pieces in another order, same total score" if tie else
                   "tokenizers' Precompiled normalizes grapheme clusters as a whole")
            out.append({"text": r["text"], "hf_ids": hf, "spm_ids": r["ids"], "flanvk": "hf" if tie else "spm", "why": why})
    return out


def corpus(out_path):
    import csv
    import glob
    import sentencepiece as spm
    csv.field_size_limit(1 << 30)
    data = os.path.dirname(os.path.abspath(SRC))
    texts = []
    for p in sorted(glob.glob(os.path.join(data, "bbh", "bbh", "*.json"))):
        with open(p, encoding="utf-8") as f:
            for ex in json.load(f)["examples"]:
                texts += [ex["input"], ex["target"]]
    for p in sorted(glob.glob(os.path.join(data, "mmlu", "data", "*", "*.csv"))):
        with open(p, encoding="utf-8", newline="") as f:
            for row in csv.reader(f):
                texts += row[:5]
    for p in sorted(glob.glob(os.path.join(data, "flan_cot", "*.tsv")) + glob.glob(os.path.join(data, "mgsm", "*.tsv"))):
        with open(p, encoding="utf-8") as f:
            for line in f:
                texts += line.rstrip("\n").split("\t")
    texts = [x for x in dict.fromkeys(texts) if x and "\x00" not in x]
    with tempfile.TemporaryDirectory() as tmp:
        tok = AutoTokenizer.from_pretrained(ref_dirs(tmp)["spiece.model"])
        ids = tok(texts, add_special_tokens=False)["input_ids"]
    sp = spm.SentencePieceProcessor(model_file=os.path.join(SRC, "spiece.model"))
    with open(out_path, "w", encoding="utf-8") as f:
        for text, i in zip(texts, ids):
            rec = {"text": text, "ids": i, "decoded": sp.decode([x for x in i if x < sp.get_piece_size()])}
            f.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")
    print(f"{len(texts)} texts -> {out_path}")


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--corpus":
        return corpus(sys.argv[2])
    with tempfile.TemporaryDirectory() as tmp:
        dirs = ref_dirs(tmp)
        toks = {k: AutoTokenizer.from_pretrained(d) for k, d in dirs.items()}
        raws = {k: Tokenizer.from_file(os.path.join(d, "tokenizer.json")) for k, d in dirs.items() if k != "spiece.model"}
        ref = toks["spiece.model"]
        special = {ref.pad_token_id, ref.eos_token_id}
        recs = []
        for text in CASES:
            ids = {k: t(text)["input_ids"] for k, t in toks.items()}
            if len({tuple(v) for v in ids.values()}) != 1:
                sys.exit(f"AutoTokenizer variants disagree on {text!r}: {ids}")
            want = ids["spiece.model"]
            kept = [i for i in want if i not in special]
            decoded = ref.decode(kept, skip_special_tokens=False, clean_up_tokenization_spaces=False)
            recs.append({"text": text, "ids": want, "decoded": decoded})
            for k, raw in raws.items():
                got = raw.encode(text).ids
                if got != want:
                    print(f"info: tokenizers.Tokenizer({k}/tokenizer.json) as-is differs on {text!r}: {got} vs {want}")
        diffs = spm_differences(ref)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        for r in recs:
            f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
    diff_path = os.path.join(os.path.dirname(OUT), "hf_spm_diff.jsonl")
    with open(diff_path, "w", encoding="utf-8") as f:
        for r in diffs:
            f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
    print(f"{diff_path}: {len(diffs)} of the SentencePiece fixture's texts get other ids from Hugging Face "
          f"({sum(r['flanvk'] == 'hf' for r in diffs)} equal-score ties, flanvk gives HF's)")
    print(f"transformers {transformers.__version__}: {len(recs)} texts -> {OUT} ({os.path.getsize(OUT)} bytes); "
          f"spiece.model, hf_tokenizer_json and hf_tokenizer_json_legacy agree on all")


if __name__ == "__main__":
    main()
