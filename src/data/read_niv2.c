/* Reader for Natural Instructions v2 task files (allenai/natural-instructions tasks/<task>.json):
 * one JSON object with "Definition" (list of one string), "Positive Examples" ([{input, output,
 * explanation}]) and "Instances" ([{id, input, output: [str, ...]}]). The file is parsed whole
 * (task files are small) and the instances streamed one by one; the definition goes to
 * ex->definition, all outputs to ex->refs (targets = the first), the positive examples become the
 * reader's exemplars (explanation as rationale) for few-shot templates. */
#include "data/reader_impl.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    fv_reader base;
    cJSON *root;
    cJSON *instances;
    cJSON *cur;
    const char *definition;
    size_t index;
    const char **refs;
    size_t refs_cap;
    const char **ex_refs; /* one slot per positive example */
} niv2_reader;

static const char *str_item(const cJSON *obj, const char *key) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(it) ? it->valuestring : NULL;
}

static int niv2_next(fv_reader *br, fv_example *ex) {
    niv2_reader *r = (niv2_reader *)br;
    for (; r->cur; r->cur = r->cur->next, r->index++) {
        const cJSON *it = r->cur;
        size_t i = r->index;
        const char *id = str_item(it, "id");
        const char *input = str_item(it, "input");
        const cJSON *out = cJSON_GetObjectItemCaseSensitive(it, "output");
        const char *why = NULL;
        size_t nout = 0;
        if (!cJSON_IsObject(it)) why = "is not an object";
        else if (!input) why = "missing string \"input\"";
        else if (cJSON_IsString(out)) nout = 1;
        else if (!cJSON_IsArray(out) || cJSON_GetArraySize(out) == 0) why = "missing \"output\" (non-empty list of strings)";
        else {
            for (const cJSON *o = out->child; o; o = o->next, nout++)
                if (!cJSON_IsString(o)) { why = "\"output\" holds a non-string"; break; }
        }
        if (why) {
            if (fv_reader_bad_row(br, 0, "Instances[%zu]%s%s: %s", i, id ? " " : "", id ? id : "", why) < 0) return -1;
            continue;
        }
        if (nout > r->refs_cap) {
            const char **nr = realloc(r->refs, nout * sizeof *nr);
            if (!nr) return fv_err("%s: out of memory", br->path);
            r->refs = nr;
            r->refs_cap = nout;
        }
        if (cJSON_IsString(out)) r->refs[0] = out->valuestring;
        else {
            size_t k = 0;
            for (const cJSON *o = out->child; o; o = o->next) r->refs[k++] = o->valuestring;
        }
        fv_reader_example(br, ex, input, r->refs, 0, i);
        ex->definition = r->definition;
        ex->n_refs = nout;
        ex->id = id ? id : "";
        r->cur = r->cur->next;
        r->index++;
        return 1;
    }
    return 0;
}

static int niv2_rewind(fv_reader *br) {
    niv2_reader *r = (niv2_reader *)br;
    r->cur = r->instances->child;
    r->index = 0;
    return 0;
}

static void niv2_close(fv_reader *br) {
    niv2_reader *r = (niv2_reader *)br;
    cJSON_Delete(r->root);
    free(r->refs);
    free(r->ex_refs);
    free(br->exemplars);
    free(r);
}

static const struct fv_reader_ops niv2_ops = {niv2_next, niv2_rewind, niv2_close};

static int load_positive(niv2_reader *r) {
    const cJSON *pos = cJSON_GetObjectItemCaseSensitive(r->root, "Positive Examples");
    if (!pos) return 0;
    if (!cJSON_IsArray(pos)) return fv_err("%s: \"Positive Examples\" is not a list", r->base.path);
    size_t n = (size_t)cJSON_GetArraySize(pos);
    if (!n) return 0;
    r->base.exemplars = calloc(n, sizeof(fv_example));
    r->ex_refs = calloc(n, sizeof(char *));
    if (!r->base.exemplars || !r->ex_refs) return fv_err("%s: out of memory", r->base.path);
    size_t k = 0;
    for (const cJSON *it = pos->child; it; it = it->next, k++) {
        const char *in = str_item(it, "input"), *out = str_item(it, "output");
        const char *expl = str_item(it, "explanation");
        if (!in || !out)
            return fv_err("%s: \"Positive Examples\"[%zu]: missing string \"input\" or \"output\"", r->base.path, k);
        fv_example *e = &r->base.exemplars[k];
        r->ex_refs[k] = out;
        e->task = r->base.task;
        e->inputs = in;
        e->targets = out;
        e->rationale = expl ? expl : "";
        e->definition = r->definition;
        e->answer_index = -1;
        e->refs = &r->ex_refs[k];
        e->n_refs = 1;
        e->id = "";
        e->source = r->base.path;
        e->index = k;
    }
    r->base.n_exemplars = n;
    return 0;
}

int fv_open_niv2(fv_reader **out, const char *path, const fv_read_opts *o) {
    niv2_reader *r = calloc(1, sizeof *r);
    if (!r) return fv_err("%s: out of memory", path);
    fv_reader_init(&r->base, &niv2_ops, path, o, "");
    if (fv_json_load(path, &r->root)) {
        free(r);
        return -1;
    }
    int rc = 0;
    const cJSON *def = cJSON_GetObjectItemCaseSensitive(r->root, "Definition");
    if (cJSON_IsArray(def) && cJSON_IsString(def->child)) r->definition = def->child->valuestring;
    else if (cJSON_IsString(def)) r->definition = def->valuestring;
    r->instances = cJSON_GetObjectItemCaseSensitive(r->root, "Instances");
    if (!cJSON_IsObject(r->root)) rc = fv_err("%s: not a JSON object", path);
    else if (!r->definition) rc = fv_err("%s: missing \"Definition\" (list with one string)", path);
    else if (!cJSON_IsArray(r->instances)) rc = fv_err("%s: missing \"Instances\" (list)", path);
    else rc = load_positive(r);
    if (rc) {
        niv2_close(&r->base);
        return rc;
    }
    r->cur = r->instances->child;
    *out = &r->base;
    return 0;
}
