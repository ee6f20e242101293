/* Fuzz harness: an instruction template file (assets/templates/NAME.json) through the template loader,
 * and when it loads, every prompt form rendered for a plain example, a multiple-choice one with a
 * rationale, and few-shot with two exemplars. */
#include "fuzz_util.h"

#include "data/template.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fz_quiet();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fz_write("fuzz.json", data, size);
    fv_template_set *s;
    if (fv_template_set_load(&s, path)) return 0;
    static const char *refs[] = {"yes"}, *opts[] = {"yes", "no", "(C) maybe"};
    fv_example ex[4]; /* ex[3] = ex[0]: every ex[i] is followed by two exemplars */
    memset(ex, 0, sizeof ex);
    for (int i = 0; i < 3; i++) {
        ex[i].task = "fuzz";
        ex[i].inputs = i ? "Is it {so}?" : "Question";
        ex[i].targets = "yes";
        ex[i].rationale = i == 1 ? "" : "Because it is.";
        ex[i].definition = "Answer the question.";
        ex[i].options = i == 2 ? NULL : opts;
        ex[i].n_options = i == 2 ? 0 : 3;
        ex[i].options_labeled = i == 1;
        ex[i].answer_index = i == 2 ? -1 : 0;
        ex[i].refs = refs;
        ex[i].n_refs = 1;
        ex[i].id = "";
        ex[i].source = path;
        ex[i].index = (size_t)i;
    }
    ex[3] = ex[0];
    fv_rng rng;
    fv_rng_seed(&rng, size);
    for (int f = FV_ZERO_SHOT; f <= FV_COT_FEW_SHOT; f++) {
        (void)fv_template_set_count(s, (fv_format)f);
        for (int i = 0; i < 3; i++) {
            char *in = NULL, *tg = NULL;
            if (fv_template_render(s, &ex[i], &ex[i + 1], 2 - (i == 2), (fv_format)f, &rng, &in, &tg) == 0) {
                free(in);
                free(tg);
            }
        }
    }
    fv_template_set_trigger_share(s, 1.0);
    fv_template_set_free(s);
    return 0;
}
