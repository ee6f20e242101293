#!/usr/bin/env bash
# Special tokens written in text, end to end (issue #15): `flanvk tokenize` gives Hugging Face's T5
# ids for texts holding </s>, <pad>, <unk> and <extra_id_N> (expected ids from
# tests/fixtures/tokenizer/hf_special_ids.jsonl, made by tools/make_tokenizer_special_fixture.py
# with transformers' AutoTokenizer), --no-eos, --pieces and --decode agree; then `generate` and
# `score` on a one-step tiny model give the same outputs for such text as for its ids, since every
# command that takes text (tokenize, generate, score, eval, mix, train) encodes through
# flanvk_tokenizer_encode.
set -euo pipefail
FLANVK=$1
here=$(cd "$(dirname "$0")" && pwd)
tok="$here/../../assets/tokenizer"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# text <TAB> ids (with the appended </s>), as AutoTokenizer gives them
cat > "$work/cases.tsv" <<'EOF'
text then </s>	1499 258 1 1
</s>	1 1
a</s>b	3 9 1 3 115 1
a </s> b	3 9 1 3 115 1
<pad>x	0 3 226 1
<unk>	2 1
<extra_id_0> fills <extra_id_1>.	32099 14 7 32098 3 5 1
<extra_id_99>	32000 1
<extra_id_100>	3 2 25666 834 23 26 834 2915 3155 1
</s></s>	1 1 1
< /s>	3 2 3 87 7 3155 1
  a  </s>  b  	3 9 1 3 115 1
é</s>ü	3 154 1 3 1272 1
<</s>>	3 2 1 2490 1
The <extra_id_0> walks in <extra_id_1> park	37 32099 10681 16 32098 2447 1
translate English to German: That is good.	13959 1566 12 2968 10 466 19 207 5 1
EOF
cut -f1 "$work/cases.tsv" > "$work/text"
cut -f2 "$work/cases.tsv" > "$work/want"
"$FLANVK" tokenize --model "$tok" < "$work/text" > "$work/got" || fail "tokenize"
if ! diff "$work/want" "$work/got"; then fail "tokenize: ids differ from Hugging Face's (< want, > got)"; fi
echo "tokenize: $(wc -l < "$work/want") texts with special tokens give Hugging Face's ids"

[ "$(printf 'text then </s>\n' | "$FLANVK" tokenize --model "$tok" --no-eos)" = "1499 258 1" ] || fail "--no-eos"
[ "$(printf 'a</s>b<unk>\n' | "$FLANVK" tokenize --model "$tok" --pieces)" = "▁ a </s> ▁ b <unk> </s>" ] || fail "--pieces"
printf '32099 14 7 32098 3 5 1\n3 226 2 3 63 1\n0 37 1 0 0\n' | "$FLANVK" tokenize --model "$tok" --decode > "$work/dec"
printf '<extra_id_0> fills<extra_id_1> .\nx<unk> y\nThe\n' | diff - "$work/dec" || fail "--decode (< want, > got)"
echo "tokenize --no-eos, --pieces and --decode: as Hugging Face writes special tokens"

# generate and score: text with special tokens == its ids
"$FLANVK" train --config tiny --data "$here/qa.jsonl" --out "$work/m" --steps 1 --batch-size 2 --tokenizer "$tok" \
  > /dev/null 2> "$work/err" || { cat "$work/err"; fail "train"; }
printf '{"prompt": "a </s> b <extra_id_0> c<pad>"}\n{"prompt_ids": [3, 9, 1, 3, 115, 32099, 3, 75, 0, 1]}\n' > "$work/p.jsonl"
"$FLANVK" generate --model "$work/m" --input "$work/p.jsonl" --output "$work/g.jsonl" --max-new-tokens 4 2> "$work/err" \
  || { cat "$work/err"; fail "generate"; }
[ "$(grep -o '"output_ids":\[[^]]*\]' "$work/g.jsonl" | sort -u | wc -l)" = 1 ] || { cat "$work/g.jsonl"; fail "generate: text and ids differ"; }
printf '{"inputs": "a </s> b <extra_id_0>", "targets": "<extra_id_0> x </s>"}\n' > "$work/s.jsonl"
printf '{"input_ids": [3, 9, 1, 3, 115, 32099, 1], "target_ids": [32099, 3, 226, 1, 1]}\n' >> "$work/s.jsonl"
"$FLANVK" score --model "$work/m" --input "$work/s.jsonl" --output "$work/sc.jsonl" 2> "$work/err" || { cat "$work/err"; fail "score"; }
[ "$(grep -o '"logprob":[^,}]*,"num_tokens":[0-9]*' "$work/sc.jsonl" | sort -u | wc -l)" = 1 ] || { cat "$work/sc.jsonl"; fail "score: text and ids differ"; }
echo "generate and score: prompts and targets with special tokens as text == as ids"
