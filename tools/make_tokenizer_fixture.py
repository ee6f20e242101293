#!/usr/bin/python3
"""Make tests/fixtures/tokenizer/spm_ids.jsonl: reference T5 token ids for the C tokenizer test.

Run with Debian's python (python3-sentencepiece, sentencepiece 0.1.97):
    /usr/bin/python3 tools/make_tokenizer_fixture.py [DATA_DIR] [OUT]
DATA_DIR defaults to /work/shared/data (tokenizer/spiece.model, bbh/bbh/*.json, mmlu/data/*/*.csv).

Each output line is {"text": str, "ids": [int...], "decoded": str}: ids are SentencePiece's
encode (no </s>; the C test appends id 1 like HF T5TokenizerFast), decoded is SentencePiece's
decode of those ids. Strings: a deterministic sample of the distinct BBH inputs/targets and MMLU
questions/choices (with the longest ones always kept) plus hand-picked Unicode/whitespace cases.
Single-line strings are also cross-checked against the spm_encode command-line tool."""
import csv
import glob
import json
import os
import random
import subprocess
import sys

import sentencepiece as spm

DATA = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data"
OUT = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "tokenizer", "spm_ids.jsonl")
MODEL = os.path.join(DATA, "tokenizer", "spiece.model")

HAND = [
    "", " ", "   ", "\t", "\n", "\r\n", "\t \n ", "a", "A", ".", "Hello world", "Hello, world!",
    "translate English to German: That is good.",
    "  leading spaces", "trailing spaces   ", "  both  ", "multiple    inner     spaces",
    "tabs\tand\ttabs", "new\nlines\n\nand\r\nCRLF\rCR", "form\ffeed\vvtab", "nbsp\u00a0here\u00a0\u00a0twice",
    "ideographic\u3000space", "zero\u200bwidth\u200cjoin\u200d", "soft\u00adhyphen", "bom\ufeffinside",
    "line\u2028sep\u2029para", "en\u2002em\u2003thin\u2009space", "café naïve résumé façade Ünïcödé",
    "cafe\u0301 combining e\u0301\u0300 marks", "\u0301 lone combining", "Ångström Øre Æsir ßtraße",
    "ＡＢＣ　ｘｙｚ　１２３　！？", "ｶﾀｶﾅ ﾊﾟﾝ", "ﬁ ﬂ ﬀ ligatures", "① ② ⑩ ⅷ ½ ¾ ² ³ ™ ℃ № ㎏",
    "日本語のテキストです。", "中文文本，测试。", "한국어 텍스트", "Русский текст, ёлка.", "Ελληνικά κείμενα",
    "العربية نص", "עברית טקסט", "हिन्दी पाठ", "ไทย ภาษา", "emoji 😀 😂 👍🏽 👨‍👩‍👧 🇩🇪 ❤️",
    "math ∑ ∫ √ ≤ ≥ ≠ ∞ π", "quotes “double” ‘single’ «guillemets» „low“", "dashes - – — ‒ ―", "ellipsis … …",
    "control\x01chars\x7f\x1b[0m", "▁ already ▁▁ metaspace▁", "a▁b", "<extra_id_>", "<extra_id_07>",
    "<extra_id_100>", "<extra_id_-1>", "extra_id_5>", "<extra_id_5", "<pad> </s> <unk> <s>", "&lt;html&gt; <b>bold</b>",
    "URL: https://example.com/path?q=1&x=y#frag", "e-mail: someone@example.org", "C:\\Windows\\path",
    "1,234.56 + 7/8 = ?", "3.14159265358979323846", "0123456789", "1e-10 2E+5 -0.0", "$100 €50 £20 ¥1000",
    "not ( True ) and ( True ) is", "((()))[[]]{{}}", "x" * 300, "ab" * 200, "😀" * 50, "\u00a0" * 10,
    " ".join(["word"] * 500), "Mixed\u00a0\t \u3000 whitespace \u2003 kinds", "ǅ ǈ ǋ titlecase digraphs",
    "İstanbul ıi", "ŉ ſ ǰ", "Ⅻ ⅻ roman", "ｈｔｔｐｓ：／／ｆｕｌｌ．ｗｉｄｔｈ", "\U0001d400\U0001d401 math bold",
    "\U00020000 cjk ext b", "\ufffd replacement", "\u00ad\u00ad", "\u200b", " \u200b ", "☃ ☕ ♠ ♣", "Q: \nA:",
]


def bbh_strings():
    out = []
    for path in sorted(glob.glob(os.path.join(DATA, "bbh", "bbh", "*.json"))):
        with open(path, encoding="utf-8") as f:
            for ex in json.load(f)["examples"]:
                out.append(ex["input"])
                out.append(ex["target"])
    return out


def mmlu_strings():
    out = []
    for path in sorted(glob.glob(os.path.join(DATA, "mmlu", "data", "*", "*.csv"))):
        with open(path, encoding="utf-8", newline="") as f:
            for row in csv.reader(f):
                out.append(row[0])
                out.extend(row[1:5])
    return out


def distinct(xs):
    seen, out = set(), []
    for x in xs:
        if x not in seen:
            seen.add(x)
            out.append(x)
    return out


def sample(xs, n, n_long, rng):
    longest = sorted(xs, key=len, reverse=True)[:n_long]
    rest = [x for x in xs if x not in set(longest)]
    return longest + rng.sample(rest, min(n, len(rest)))


def main():
    rng = random.Random(20261124)
    sp = spm.SentencePieceProcessor(model_file=MODEL)
    bbh = distinct(bbh_strings())
    mmlu = distinct(mmlu_strings())
    bbh_in = [x for x in bbh if len(x) > 40]
    bbh_short = [x for x in bbh if len(x) <= 40]
    texts = distinct(HAND + sample(bbh_in, 900, 15, rng) + bbh_short + sample(mmlu, 2200, 15, rng))
    texts = [t for t in texts if "\x00" not in t]
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    single = []
    with open(OUT, "w", encoding="utf-8") as f:
        for t in texts:
            ids = sp.encode(t)
            rec = {"text": t, "ids": ids, "decoded": sp.decode(ids)}
            f.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")
            if "\n" not in t and "\r" not in t and t.strip() and len(single) < 1000:
                single.append((t, ids))
    # Cross-check against the spm_encode tool on single-line strings.
    inp = "".join(t + "\n" for t, _ in single)
    res = subprocess.run(["spm_encode", "--model", MODEL, "--output_format=id"], input=inp.encode("utf-8"),
                         capture_output=True, check=True)
    lines = res.stdout.decode("utf-8").split("\n")
    bad = sum(1 for (t, ids), line in zip(single, lines) if [int(x) for x in line.split()] != ids)
    print(f"{len(texts)} strings -> {OUT} ({os.path.getsize(OUT)} bytes); spm_encode cross-check: "
          f"{len(single) - bad}/{len(single)} identical")
    if bad:
        sys.exit(1)


if __name__ == "__main__":
    main()
