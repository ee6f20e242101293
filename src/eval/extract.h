/* Answer extraction from free-form model output, for exact-match evaluation (MMLU / BBH / MGSM).
 * Rules follow the prompts used in the Flan paper: CoT answers end in "So the answer is X." (BBH,
 * Flan CoT templates) or "The answer is N." (MGSM / GSM8K exemplars); direct answers are the text
 * itself. All returned strings are malloc'd (free them); NULL only on out-of-memory. */
#ifndef FV_EVAL_EXTRACT_H
#define FV_EVAL_EXTRACT_H

#include <stddef.h>

/* Multiple-choice letter (0 = A) among n choices from text such as "(B)", "B", "b.", "The answer
 * is (C).", "So the answer is C.": after the last "answer is" if present, else a lone letter, else
 * the last "(X)". -1 if none is found. */
int fv_extract_choice(const char *text, int n_choices);

/* BBH-style answer: the text after the LAST "So the answer is" (case-insensitive; falls back to
 * "the answer is", then to the whole text), up to the end of that line, trimmed, with one trailing
 * period removed. */
char *fv_extract_after_answer_is(const char *text);

/* Number for GSM8K / MGSM: the first number after the last "answer is" if there is one, else the
 * last number in the text; thousands commas removed ("1,234" -> "1234"), currency/units dropped
 * ("$12.50" -> "12.5"), trailing zeros of a fraction dropped ("3.0" -> "3"), sign kept ("-7").
 * Returns 0 and writes out (NUL-terminated), or -1 if the text holds no number / out is too small. */
int fv_extract_number(const char *text, char *out, size_t out_size);

/* Normalize for exact match: trim, collapse inner whitespace, drop one trailing period, ASCII
 * lowercase, and reduce a lone option label "(B)" / "B)" to "b". */
char *fv_normalize_answer(const char *s);
/* 1 if pred and gold are equal after fv_normalize_answer (or both numbers with equal value). */
int fv_answer_match(const char *pred, const char *gold);

#endif
