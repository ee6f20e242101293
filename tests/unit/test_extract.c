/* Answer extraction on hand-written model outputs: multiple-choice letters, BBH "So the answer is"
 * answers, GSM8K/MGSM numbers, and exact-match normalization. */
#include "eval/extract.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/unit.h"

static void choice(const char *text, int n, int want) {
    int got = fv_extract_choice(text, n);
    CHECK(got == want, "choice [%s] -> %d, want %d", text, got, want);
}

static void after(const char *text, const char *want) {
    char *got = fv_extract_after_answer_is(text);
    CHECK(got && strcmp(got, want) == 0, "after [%s] -> [%s], want [%s]", text, got ? got : "(null)", want);
    free(got);
}

static void number(const char *text, const char *want) {
    char buf[64];
    int rc = fv_extract_number(text, buf, sizeof buf);
    if (!want) CHECK(rc != 0, "number [%s] -> [%s], want none", text, buf);
    else CHECK(rc == 0 && strcmp(buf, want) == 0, "number [%s] -> [%s], want [%s]", text, rc ? "(none)" : buf, want);
}

int main(void) {
    choice("(B)", 4, 1);
    choice("B", 4, 1);
    choice("b", 4, 1);
    choice("C.", 4, 2);
    choice(" D) because it is larger", 4, 3);
    choice("The answer is (C).", 4, 2);
    choice("So the answer is C.", 4, 2);
    choice("so the answer is d", 4, 3);
    choice("The answer is: A", 4, 0);
    choice("Option (A) is wrong since x. Option (B) fits. So the answer is (B).", 4, 1);
    choice("Both (A) and (D) look close, but (D) is right", 4, 3);
    choice("E", 4, -1);               /* out of range for 4 choices */
    choice("(E)", 5, 4);
    choice("A dog is an animal", 4, -1); /* "A" as an article, no label */
    choice("Bananas", 4, -1);
    choice("", 4, -1);

    after("Let's think step by step. 2 + 2 = 4. So the answer is 4.", "4");
    after("So the answer is (A). Wait, no. So the answer is (B).", "(B)");
    after("... so the answer is valid.", "valid");
    after("So the answer is ] ].", "] ]");
    after("So the answer is > .", ">");
    after("Sorting gives: So the answer is apple banana cherry.\n\nQ: next question", "apple banana cherry");
    after("True", "True");
    after("  No.  ", "No");
    after("The answer is 24.", "24");

    number("The answer is 18.", "18");
    number("She makes 9 * 2 = $18 every day. The answer is 18.", "18");
    number("Janet sells 16 - 3 - 4 = 9 eggs, so she earns $18", "18");
    number("The total is 1,234 apples.", "1234");
    number("It costs $12.50.", "12.5");
    number("He has 3.0 liters", "3");
    number("The temperature is -7 degrees", "-7");
    number("5-3 = 2", "2");
    number("The answer is 1,000,000.", "1000000");
    number("The answer is 42. Question: what is 17 + 3?", "42");
    number("Die Antwort lautet 11.", "11");
    number("答案是 5。", "5");
    number("x = 0.50", "0.5");
    number("no digits here", NULL);

    CHECK(fv_answer_match("(B)", "b"), "(B) = b");
    CHECK(fv_answer_match("  Yes. ", "yes"), "Yes.");
    CHECK(fv_answer_match("syndrome  therefrom", "syndrome therefrom"), "spaces");
    CHECK(!fv_answer_match("valid", "invalid"), "valid != invalid");
    CHECK(fv_answer_match("$1,234.00", "1234"), "number match");
    CHECK(!fv_answer_match("12", "13"), "12 != 13");
    char *n = fv_normalize_answer("  The  Answer. ");
    CHECK(n && !strcmp(n, "the answer"), "[%s]", n);
    free(n);

    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
