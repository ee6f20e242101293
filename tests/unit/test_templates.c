/* Template sets: golden renders (fixed seed -> exact strings) with a fixture set, load-time
 * validation, and every bundled set in assets/templates rendering the fixture data of its family
 * deterministically. */
#include "base/error.h"
#include "base/rng.h"
#include "data/example.h"
#include "data/template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/unit.h"

#define FX "tests/fixtures/data/"

static int probe; /* FLANVK_PROBE=1 prints renders instead of comparing (to write new goldens) */

static void show(const char *s) {
    putchar('"');
    for (; *s; s++) {
        if (*s == '\n') fputs("\\n", stdout);
        else if (*s == '"') fputs("\\\"", stdout);
        else putchar(*s);
    }
    putchar('"');
}

static void golden(const fv_template_set *s, const fv_example *ex, const fv_example *shots, size_t k, fv_format fmt,
                   uint64_t seed, const char *want_in, const char *want_tg) {
    fv_rng rng;
    fv_rng_seed(&rng, seed);
    char *in, *tg;
    int rc = fv_template_render(s, ex, shots, k, fmt, &rng, &in, &tg);
    CHECK(rc == 0, "%s", fv_last_error());
    if (rc) return;
    if (probe) {
        printf("%s seed %llu:\n  in: ", fv_format_name(fmt), (unsigned long long)seed);
        show(in);
        printf("\n  tg: ");
        show(tg);
        printf("\n");
    } else {
        CHECK(strcmp(in, want_in) == 0, "%s seed %llu inputs:\n[%s]\nwant\n[%s]", fv_format_name(fmt),
              (unsigned long long)seed, in, want_in);
        CHECK(strcmp(tg, want_tg) == 0, "%s targets: [%s] want [%s]", fv_format_name(fmt), tg, want_tg);
    }
    /* Same seed, same strings. */
    fv_rng_seed(&rng, seed);
    char *in2, *tg2;
    CHECK(fv_template_render(s, ex, shots, k, fmt, &rng, &in2, &tg2) == 0 && !strcmp(in, in2) && !strcmp(tg, tg2),
          "deterministic");
    free(in);
    free(tg);
    free(in2);
    free(tg2);
}

static void test_golden(void) {
    fv_template_set *s;
    CHECK(fv_template_set_load(&s, FX "templates/golden.json") == 0, "%s", fv_last_error());
    if (!s) return;
    CHECK(fv_template_set_count(s, FV_ZERO_SHOT) == 2 && fv_template_set_count(s, FV_FEW_SHOT) == 1, "counts");
    const char *opts[] = {"red", "green"};
    fv_example mc = {.task = "golden", .inputs = "Which is a colour of grass?", .targets = "green",
                     .rationale = "Grass is green.", .definition = "Name the colour.", .options = opts,
                     .n_options = 2, .answer_index = 1, .source = "mem", .line = 1};
    fv_example sh[2] = {
        {.task = "golden", .inputs = "Sky?", .targets = "blue", .rationale = "The sky is blue.", .source = "mem"},
        {.task = "golden", .inputs = "Snow?", .targets = "white", .rationale = "Snow is white.", .source = "mem"}};
    golden(s, &mc, NULL, 0, FV_ZERO_SHOT, 1, "Question: Which is a colour of grass?\nOptions:\n- red\n- green\nAnswer:", "green");
    golden(s, &mc, NULL, 0, FV_ZERO_SHOT, 9, "Q: Which is a colour of grass?\n(A) red (B) green\nA:", "green");
    golden(s, &mc, sh, 2, FV_FEW_SHOT, 3, "Name the colour.\n\nQ: Sky?\nA: blue\n###\nQ: Snow?\nA: white\n###\nQ: Which is a colour of grass?\nOptions:\n- red\n- green\nA:", "green");
    golden(s, &mc, NULL, 0, FV_COT, 4, "Answer with reasoning: Which is a colour of grass?\nOptions:\n- red\n- green\nLet\'s think step by step.", "Grass is green. So the answer is green.");
    golden(s, &mc, NULL, 0, FV_COT, 7, "Which is a colour of grass?\nOptions:\n- red\n- green {braces}", "Grass is green. So the answer is green.");
    golden(s, &mc, sh, 2, FV_COT_FEW_SHOT, 6, "Q: Sky?\nA: The sky is blue. So the answer is blue.\n\nQ: Snow?\nA: Snow is white. So the answer is white.\n\nQ: Which is a colour of grass?\n(A) red (B) green\nA:", "Grass is green. So the answer is green.");

    /* Trigger share: 0 -> never, 1 -> always. */
    fv_template_set_trigger_share(s, 0.0);
    int with = 0;
    for (uint64_t seed = 0; seed < 50; seed++) {
        fv_rng rng;
        fv_rng_seed(&rng, seed);
        char *in, *tg;
        if (fv_template_render(s, &mc, NULL, 0, FV_COT, &rng, &in, &tg) == 0) {
            with += strstr(in, "step by step") != NULL;
            free(in);
            free(tg);
        }
    }
    CHECK(with == 0, "share 0: %d triggers", with);
    fv_template_set_trigger_share(s, 1.0);
    with = 0;
    for (uint64_t seed = 0; seed < 50; seed++) {
        fv_rng rng;
        fv_rng_seed(&rng, seed);
        char *in, *tg;
        if (fv_template_render(s, &mc, NULL, 0, FV_COT, &rng, &in, &tg) == 0) {
            with += strstr(in, "\nLet's think step by step.") != NULL;
            free(in);
            free(tg);
        }
    }
    CHECK(with == 50, "share 1: %d triggers", with);

    /* Missing rationale is an error naming the example. */
    fv_example norat = mc;
    norat.rationale = "";
    norat.line = 7;
    fv_rng rng;
    fv_rng_seed(&rng, 1);
    char *in, *tg;
    CHECK(fv_template_render(s, &norat, NULL, 0, FV_COT, &rng, &in, &tg) != 0 && in == NULL &&
              strstr(fv_last_error(), "mem:7: template set golden: cot needs a rationale"),
          "msg: %s", fv_last_error());
    fv_template_set_free(s);

    CHECK(fv_template_set_load(&s, FX "templates/bad_placeholder.json.txt") != 0 &&
              strstr(fv_last_error(), "unknown placeholder {colour}"),
          "msg: %s", fv_last_error());
}

/* Render the fixture data of every family with the bundled sets in all the formats they have. */
static void test_bundled(void) {
    fv_template_lib *lib;
    CHECK(fv_template_lib_load_dir(&lib, "assets/templates") == 0, "%s", fv_last_error());
    if (!lib) return;
    printf("bundled template sets: %zu\n", fv_template_lib_size(lib));
    static const char *files[] = {
        FX "flan_cot/aqua_train.tsv", FX "flan_cot/creak_train.tsv", FX "flan_cot/ecqa_train.tsv",
        FX "flan_cot/gsm8k_train.tsv", FX "flan_cot/qasc_train.tsv", FX "flan_cot/sensemaking_train.tsv",
        FX "flan_cot/strategyqa_train.tsv", FX "bbh/date_understanding.json", FX "mmlu/abstract_algebra_dev.csv",
        FX "niv2/task1393_superglue_copa_text_completion.json"};
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        fv_reader *r;
        if (fv_reader_open_auto(&r, files[f], NULL)) {
            CHECK(0, "%s", fv_last_error());
            continue;
        }
        fv_template_set *s = fv_template_lib_find(lib, fv_reader_task(r));
        CHECK(s != NULL, "no template set for %s", fv_reader_task(r));
        if (!s) {
            fv_reader_close(r);
            continue;
        }
        /* Exemplars: the task's own positive examples (NIv2) or its first 3 training rows. */
        fv_example shots[3];
        size_t k = 0;
        for (; k < 3 && k < fv_reader_n_exemplars(r); k++) fv_example_copy(&shots[k], fv_reader_exemplar(r, k));
        fv_example ex;
        while (k < 3 && fv_reader_next(r, &ex) == 1) fv_example_copy(&shots[k++], &ex);
        size_t ntmpl = 0, rendered = 0;
        for (int fmt = 0; fmt < 4; fmt++) ntmpl += fv_template_set_count(s, (fv_format)fmt);
        fv_rng rng;
        fv_rng_seed(&rng, 42);
        while (fv_reader_next(r, &ex) == 1) {
            for (int fmt = 0; fmt < 4; fmt++) {
                if (!fv_template_set_count(s, (fv_format)fmt)) continue;
                int cot = fmt >= FV_COT;
                if (cot && !ex.rationale[0]) continue; /* eval data has no rationale */
                char *in, *tg;
                int rc = fv_template_render(s, &ex, shots, k, (fv_format)fmt, &rng, &in, &tg);
                CHECK(rc == 0, "%s", fv_last_error());
                if (rc) continue;
                rendered++;
                CHECK(strstr(in, ex.inputs) != NULL, "%s: question missing from prompt", fv_reader_task(r));
                for (size_t o = 0; o < ex.n_options; o++)
                    CHECK(strstr(in, ex.options[o]) != NULL, "%s:%zu option %zu missing", ex.source, ex.line, o);
                if (cot) CHECK(strstr(tg, "So the answer is") || strstr(tg, "The answer is"), "cot target [%s]", tg);
                CHECK(!strchr(in, '{') || strchr(ex.inputs, '{'), "unexpanded placeholder in [%s]", in);
                free(in);
                free(tg);
            }
        }
        printf("%-45s set %-16s %2zu forms, %3zu renders\n", fv_reader_task(r), fv_template_set_name(s), ntmpl,
               rendered);
        CHECK(rendered > 0, "%s rendered nothing", fv_reader_task(r));
        for (size_t i = 0; i < k; i++) fv_example_free(&shots[i]);
        fv_reader_close(r);
    }
    /* About 10 CoT phrasings per CoT dataset. */
    const char *cots[] = {"cot_aqua", "cot_creak", "cot_ecqa", "cot_gsm8k", "cot_qasc", "cot_sensemaking", "cot_strategyqa"};
    for (int i = 0; i < 7; i++) {
        fv_template_set *s = fv_template_lib_find(lib, cots[i]);
        CHECK(s && fv_template_set_count(s, FV_COT) >= 10 && fv_template_set_count(s, FV_COT_FEW_SHOT) >= 10, "%s", cots[i]);
    }
    CHECK(fv_template_lib_find(lib, "nothing_like_this") == NULL, "no match");
    fv_template_lib_free(lib);
}

int main(void) {
    probe = getenv("FLANVK_PROBE") != NULL;
    test_golden();
    test_bundled();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
