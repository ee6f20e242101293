/* Reader for BIG-Bench Hard task files (suzgunmirac/BIG-Bench-Hard bbh/<task>.json):
 * {"canary": ..., "examples": [{"input": str, "target": str}]}. Inputs are passed on verbatim (the
 * options are part of the text, and BBH prompting needs the exact text). Task name "bbh_<task>". */
#include "data/reader_impl.h"

#include <cjson/cJSON.h>
#include <stdlib.h>

typedef struct {
    fv_reader base;
    cJSON *root;
    cJSON *examples;
    cJSON *cur;
    size_t index;
    const char *ref;
} bbh_reader;

static int bbh_next(fv_reader *br, fv_example *ex) {
    bbh_reader *r = (bbh_reader *)br;
    while (r->cur) {
        const cJSON *it = r->cur;
        size_t i = r->index;
        r->cur = r->cur->next;
        r->index++;
        const cJSON *in = cJSON_GetObjectItemCaseSensitive(it, "input");
        const cJSON *tg = cJSON_GetObjectItemCaseSensitive(it, "target");
        if (!cJSON_IsString(in) || !cJSON_IsString(tg)) {
            if (fv_reader_bad_row(br, 0, "examples[%zu]: missing string \"input\" or \"target\"", i) < 0) return -1;
            continue;
        }
        r->ref = tg->valuestring;
        fv_reader_example(br, ex, in->valuestring, &r->ref, 0, i);
        return 1;
    }
    return 0;
}

static int bbh_rewind(fv_reader *br) {
    bbh_reader *r = (bbh_reader *)br;
    r->cur = r->examples->child;
    r->index = 0;
    return 0;
}

static void bbh_close(fv_reader *br) {
    bbh_reader *r = (bbh_reader *)br;
    cJSON_Delete(r->root);
    free(r);
}

static const struct fv_reader_ops bbh_ops = {bbh_next, bbh_rewind, bbh_close};

int fv_open_bbh(fv_reader **out, const char *path, const fv_read_opts *o) {
    bbh_reader *r = calloc(1, sizeof *r);
    if (!r) return fv_err("%s: out of memory", path);
    fv_reader_init(&r->base, &bbh_ops, path, o, "bbh_");
    if (fv_json_load(path, &r->root)) {
        free(r);
        return -1;
    }
    r->examples = cJSON_GetObjectItemCaseSensitive(r->root, "examples");
    if (!cJSON_IsArray(r->examples)) {
        bbh_close(&r->base);
        return fv_err("%s: missing \"examples\" (list)", path);
    }
    r->cur = r->examples->child;
    *out = &r->base;
    return 0;
}
