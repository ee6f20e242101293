/* Fuzz harness: a mixture file (data/mixture.h) loaded beside two small sources (data/a.jsonl,
 * data/b_train.tsv) and a template directory (templates/t.json), then sampled for a few examples:
 * the schema, the paths, the rates and the sampler's format choice are what gets fuzzed. */
#include "fuzz_util.h"

#include "data/mixture.h"

static const char a_jsonl[] = "{\"inputs\": \"1+1?\", \"targets\": \"2\"}\n"
                              "{\"question\": \"Sky?\", \"answer\": \"blue\", \"rationale\": \"It scatters blue.\"}\n"
                              "{\"inputs\": \"Pick one\\nOptions:\\n- x\\n- y\", \"targets\": \"x\"}\n";
static const char b_tsv[] = "What is 2+2?\t4\tTwo and two make four.\nIs ice cold?\tyes\tIce is frozen water.\n";
static const char t_json[] =
    "{\"name\": \"t\", \"tasks\": [\"*\"], \"separators\": [\"\\n\\n\"], \"cot_triggers\": [\"Think.\"],"
    " \"cot_trigger_share\": 0.5, \"templates\": [{\"zero_shot\": {\"inputs\": \"Q: {question}\", \"targets\": \"{answer}\"},"
    " \"few_shot\": {\"prefix\": \"{definition}\", \"inputs\": \"{question}\", \"targets\": \"{answer}\"},"
    " \"cot\": {\"inputs\": \"{question}\", \"targets\": \"{rationale} So {answer}.\"},"
    " \"cot_few_shot\": {\"inputs\": \"{question}\", \"targets\": \"{rationale} So {answer}.\"}}]}";

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fz_quiet();
    if (mkdir(fz_path("data"), 0700) || mkdir(fz_path("templates"), 0700)) abort();
    fz_write("data/a.jsonl", a_jsonl, sizeof a_jsonl - 1);
    fz_write("data/b_train.tsv", b_tsv, sizeof b_tsv - 1);
    fz_write("templates/t.json", t_json, sizeof t_json - 1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fz_write("mix.json", data, size);
    fv_mixture_opts o = {.skip_bad = (int)(size & 1), .has_seed = 0, .seed = 0, .templates = NULL};
    fv_mixture *m;
    if (fv_mixture_load(&m, path, &o)) return 0;
    (void)fv_mixture_epoch(m);
    for (size_t i = 0; i < fv_mixture_n_tasks(m); i++) (void)fv_mixture_task(m, i);
    for (int i = 0; i < 8; i++) {
        fv_mix_sample s;
        if (fv_mixture_next(m, &s)) break;
    }
    fv_mixture_free(m);
    return 0;
}
