/* Mixture file loading and the streaming, seeded sampler (schema and sampling rules in mixture.h). */
#include "data/mixture.h"

#include "base/error.h"
#include "base/file.h"
#include "base/rng.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    fv_mix_task info;
    char name[256];
    char path[1024];
    fv_reader *r;
    fv_template_set *set; /* owned by the library */
    double weight;
    fv_example ring[FV_MIX_RING];
    size_t ring_n, ring_pos;
} task_t;

struct fv_mixture {
    char name[256];
    char path[1024];
    uint64_t seed;
    fv_rng rng;
    fv_template_lib *lib;
    double share[4];
    uint32_t k_lo, k_hi;
    task_t *t;
    size_t n;
    double *cum;
    uint64_t epoch;
    char *in, *tg;
};

static const struct {
    const char *name;
    fv_data_format fmt;
} fmt_names[] = {{"niv2", FV_FMT_NIV2}, {"cot_tsv", FV_FMT_COT_TSV}, {"bbh", FV_FMT_BBH},
                 {"mmlu", FV_FMT_MMLU}, {"mgsm", FV_FMT_MGSM},       {"jsonl", FV_FMT_JSONL}};

static void resolve(char *out, size_t n, const char *base_file, const char *rel) {
    if (rel[0] == '/') {
        snprintf(out, n, "%s", rel);
        return;
    }
    const char *slash = strrchr(base_file, '/');
    if (!slash) snprintf(out, n, "%s", rel);
    else snprintf(out, n, "%.*s/%s", (int)(slash - base_file), base_file, rel);
}

static void ring_add(task_t *t, const fv_example *ex) {
    fv_example c;
    if (fv_example_copy(&c, ex)) return; /* out of memory: keep the ring as it is */
    fv_example *slot = &t->ring[t->ring_pos];
    if (t->ring_n == FV_MIX_RING) fv_example_free(slot);
    else t->ring_n++;
    *slot = c;
    t->ring_pos = (t->ring_pos + 1) % FV_MIX_RING;
}

/* One streaming pass: count the examples, keep the first ones as exemplars, rewind. */
static int count_source(task_t *t) {
    fv_example ex;
    size_t n = 0;
    int rc;
    while ((rc = fv_reader_next(t->r, &ex)) == 1) {
        if (t->ring_n < FV_MIX_RING) ring_add(t, &ex);
        n++;
    }
    if (rc < 0) return -1;
    if (n == 0) return fv_err("%s: no examples", t->path);
    t->info.n_examples = n;
    return fv_reader_rewind(t->r);
}

static size_t line_of(const char *text, const char *at) {
    size_t line = 1;
    for (const char *p = text; p < at && *p; p++) line += *p == '\n';
    return line;
}

static int load_formats(fv_mixture *m, const cJSON *f, double *trigger) {
    const char *file = m->path;
    if (!f) return 0;
    if (!cJSON_IsObject(f)) return fv_err("%s: \"formats\" is not an object", file);
    static const char *keys[4] = {"zero_shot", "few_shot", "cot", "cot_few_shot"};
    for (const cJSON *c = f->child; c; c = c->next) {
        int known = !strcmp(c->string, "cot_trigger_share") || !strcmp(c->string, "few_shot_k");
        for (int i = 0; i < 4; i++) known |= !strcmp(c->string, keys[i]);
        if (!known) return fv_err("%s: \"formats\": unknown key \"%s\"", file, c->string);
    }
    for (int i = 0; i < 4; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(f, keys[i]);
        if (!v) {
            m->share[i] = 0;
            continue;
        }
        if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || !isfinite(v->valuedouble))
            return fv_err("%s: \"formats\".\"%s\" must be a number >= 0", file, keys[i]);
        m->share[i] = v->valuedouble;
    }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(f, "cot_trigger_share");
    if (v) {
        if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= 1))
            return fv_err("%s: \"formats\".\"cot_trigger_share\" must be a number in [0, 1]", file);
        *trigger = v->valuedouble;
    }
    v = cJSON_GetObjectItemCaseSensitive(f, "few_shot_k");
    if (v) {
        const cJSON *a = cJSON_GetArrayItem(v, 0), *b = cJSON_GetArrayItem(v, 1);
        if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 2 || !cJSON_IsNumber(a) || !cJSON_IsNumber(b) ||
            !(a->valuedouble >= 1 && a->valuedouble <= FV_MIX_MAX_K) || !(b->valuedouble >= 1 && b->valuedouble <= FV_MIX_MAX_K) ||
            a->valuedouble != floor(a->valuedouble) || b->valuedouble != floor(b->valuedouble) || a->valueint > b->valueint)
            return fv_err("%s: \"formats\".\"few_shot_k\" must be [lo, hi] with 1 <= lo <= hi <= %d", file,
                          FV_MIX_MAX_K);
        m->k_lo = (uint32_t)a->valueint;
        m->k_hi = (uint32_t)b->valueint;
    }
    return 0;
}

static int load_source(fv_mixture *m, task_t *t, const cJSON *s, size_t i, const fv_mixture_opts *o) {
    const char *file = m->path;
    if (!cJSON_IsObject(s)) return fv_err("%s: sources[%zu] is not an object", file, i);
    for (const cJSON *c = s->child; c; c = c->next)
        if (strcmp(c->string, "path") && strcmp(c->string, "format") && strcmp(c->string, "task") &&
            strcmp(c->string, "weight"))
            return fv_err("%s: sources[%zu]: unknown key \"%s\" (path, format, task, weight)", file, i, c->string);
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(s, "path");
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(s, "format");
    const cJSON *tk = cJSON_GetObjectItemCaseSensitive(s, "task");
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(s, "weight");
    if (!cJSON_IsString(p) || !p->valuestring[0]) return fv_err("%s: sources[%zu]: missing string \"path\"", file, i);
    if (tk && (!cJSON_IsString(tk) || !tk->valuestring[0]))
        return fv_err("%s: sources[%zu]: \"task\" must be a non-empty string", file, i);
    t->weight = 1.0;
    if (w) {
        if (!cJSON_IsNumber(w) || !(w->valuedouble >= 0) || !isfinite(w->valuedouble))
            return fv_err("%s: sources[%zu]: \"weight\" must be a number >= 0", file, i);
        t->weight = w->valuedouble;
    }
    resolve(t->path, sizeof t->path, file, p->valuestring);
    if (!fv_file_exists(t->path))
        return fv_err("%s: sources[%zu]: %s: no such file", file, i, t->path);
    fv_read_opts ro = {o ? o->skip_bad : 0, tk ? tk->valuestring : NULL};
    int rc;
    if (!f || (cJSON_IsString(f) && !strcmp(f->valuestring, "auto"))) {
        rc = fv_reader_open_auto(&t->r, t->path, &ro);
    } else {
        int k = -1;
        for (size_t j = 0; cJSON_IsString(f) && j < sizeof fmt_names / sizeof fmt_names[0]; j++)
            if (!strcmp(f->valuestring, fmt_names[j].name)) k = (int)j;
        if (k < 0)
            return fv_err("%s: sources[%zu]: \"format\" must be one of niv2, cot_tsv, bbh, mmlu, mgsm, jsonl, auto",
                          file, i);
        rc = fv_reader_open(&t->r, t->path, fmt_names[k].fmt, &ro);
    }
    if (rc) return -1;
    snprintf(t->name, sizeof t->name, "%s", fv_reader_task(t->r));
    t->info.name = t->name;
    t->info.path = t->path;
    t->set = fv_template_lib_find(m->lib, t->name);
    if (!t->set) return fv_err("%s: sources[%zu]: no template set serves task \"%s\"", file, i, t->name);
    return count_source(t);
}

static int load(fv_mixture *m, const char *text, const fv_mixture_opts *o) {
    const char *file = m->path;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(text, &end, 1);
    if (!root) {
        const char *e = cJSON_GetErrorPtr();
        if (!e) e = end ? end : text;
        return fv_err("%s:%zu: malformed JSON", file, line_of(text, e));
    }
    int rc = 0;
    const char *known[] = {"name", "seed", "templates", "rate", "cap", "formats", "sources", "description"};
    if (!cJSON_IsObject(root)) {
        rc = fv_err("%s: top level is not a JSON object", file);
        goto done;
    }
    for (const cJSON *c = root->child; c && !rc; c = c->next) {
        int ok = 0;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) ok |= !strcmp(c->string, known[i]);
        if (!ok) rc = fv_err("%s: unknown key \"%s\"", file, c->string);
    }
    if (rc) goto done;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(root, "name");
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(root, "seed");
    const cJSON *tdir = cJSON_GetObjectItemCaseSensitive(root, "templates");
    const cJSON *rate = cJSON_GetObjectItemCaseSensitive(root, "rate");
    const cJSON *cap = cJSON_GetObjectItemCaseSensitive(root, "cap");
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(root, "sources");
    if (!cJSON_IsString(name) || !name->valuestring[0]) {
        rc = fv_err("%s: missing string \"name\"", file);
        goto done;
    }
    snprintf(m->name, sizeof m->name, "%s", name->valuestring);
    if (seed && (!cJSON_IsNumber(seed) || seed->valuedouble < 0 || seed->valuedouble > 9007199254740992.0 ||
                 seed->valuedouble != floor(seed->valuedouble))) {
        rc = fv_err("%s: \"seed\" must be a non-negative integer", file);
        goto done;
    }
    m->seed = seed ? (uint64_t)seed->valuedouble : 0;
    if (o && o->has_seed) m->seed = o->seed;
    int weights = 0;
    if (rate) {
        if (cJSON_IsString(rate) && !strcmp(rate->valuestring, "weights")) weights = 1;
        else if (!cJSON_IsString(rate) || strcmp(rate->valuestring, "examples_proportional")) {
            rc = fv_err("%s: \"rate\" must be \"examples_proportional\" or \"weights\"", file);
            goto done;
        }
    }
    double capv = INFINITY;
    if (cap) {
        if (!cJSON_IsNumber(cap) || !(cap->valuedouble >= 1)) {
            rc = fv_err("%s: \"cap\" must be a number >= 1", file);
            goto done;
        }
        capv = floor(cap->valuedouble);
    }
    m->share[0] = 1;
    m->k_lo = 1;
    m->k_hi = 3;
    double trigger = -1;
    if ((rc = load_formats(m, cJSON_GetObjectItemCaseSensitive(root, "formats"), &trigger))) goto done;
    char dir[1024];
    if (o && o->templates) snprintf(dir, sizeof dir, "%s", o->templates);
    else if (tdir && cJSON_IsString(tdir)) resolve(dir, sizeof dir, file, tdir->valuestring);
    else if (tdir) {
        rc = fv_err("%s: \"templates\" must be a directory path", file);
        goto done;
    } else snprintf(dir, sizeof dir, "assets/templates");
    if ((rc = fv_template_lib_load_dir(&m->lib, dir))) goto done;
    if (!cJSON_IsArray(src) || cJSON_GetArraySize(src) == 0) {
        rc = fv_err("%s: missing \"sources\" (a non-empty list)", file);
        goto done;
    }
    m->n = (size_t)cJSON_GetArraySize(src);
    m->t = calloc(m->n, sizeof *m->t);
    m->cum = calloc(m->n, sizeof *m->cum);
    if (!m->t || !m->cum) {
        rc = fv_err("%s: out of memory", file);
        goto done;
    }
    for (size_t i = 0; i < m->n && !rc; i++) {
        rc = load_source(m, &m->t[i], cJSON_GetArrayItem(src, (int)i), i, o);
        for (size_t j = 0; !rc && j < i; j++)
            if (!strcmp(m->t[j].name, m->t[i].name))
                rc = fv_err("%s: sources[%zu] and sources[%zu] are both task \"%s\" (set \"task\" to tell them apart)",
                            file, j, i, m->t[i].name);
    }
    if (rc) goto done;
    if (trigger >= 0)
        for (size_t i = 0; i < m->n; i++) fv_template_set_trigger_share(m->t[i].set, trigger);
    double total = 0;
    for (size_t i = 0; i < m->n; i++) {
        double n = (double)m->t[i].info.n_examples;
        double c = n < capv ? n : capv;
        m->epoch += (uint64_t)c;
        m->t[i].info.rate = m->t[i].weight * (weights ? 1.0 : c);
        total += m->t[i].info.rate;
    }
    if (!(total > 0)) {
        rc = fv_err("%s: every source has rate 0 (all weights 0?)", file);
        goto done;
    }
    double acc = 0;
    for (size_t i = 0; i < m->n; i++) {
        m->t[i].info.rate /= total;
        acc += m->t[i].info.rate;
        m->cum[i] = acc;
    }
    m->cum[m->n - 1] = 1.0;
    fv_rng_seed(&m->rng, m->seed);
done:
    cJSON_Delete(root);
    return rc;
}

int fv_mixture_load(fv_mixture **out, const char *path, const fv_mixture_opts *o) {
    *out = NULL;
    fv_mixture *m = calloc(1, sizeof *m);
    if (!m) return fv_err("%s: out of memory", path);
    snprintf(m->path, sizeof m->path, "%s", path);
    char *text = NULL;
    size_t size;
    int rc = fv_read_file(path, &text, &size);
    if (!rc) rc = load(m, text, o);
    free(text);
    if (rc) {
        fv_mixture_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

void fv_mixture_free(fv_mixture *m) {
    if (!m) return;
    for (size_t i = 0; m->t && i < m->n; i++) {
        fv_reader_close(m->t[i].r);
        for (size_t j = 0; j < m->t[i].ring_n; j++) fv_example_free(&m->t[i].ring[j]);
    }
    free(m->t);
    free(m->cum);
    fv_template_lib_free(m->lib);
    free(m->in);
    free(m->tg);
    free(m);
}

int fv_mixture_next(fv_mixture *m, fv_mix_sample *s) {
    memset(s, 0, sizeof *s);
    double u = fv_rng_uniform_d(&m->rng);
    size_t ti = 0;
    while (ti + 1 < m->n && u >= m->cum[ti]) ti++;
    task_t *t = &m->t[ti];
    fv_example ex;
    int rc = fv_reader_next(t->r, &ex);
    if (rc == 0) {
        FV_TRY(fv_reader_rewind(t->r));
        rc = fv_reader_next(t->r, &ex);
        if (rc == 0) return fv_err("%s: no examples left (all rows bad?)", t->path);
    }
    if (rc < 0) return -1;

    /* Exemplar candidates: ring entries other than this example, each index once. */
    const fv_example *cand[2][FV_MIX_RING];
    size_t nc[2] = {0, 0};
    for (size_t j = 0; j < t->ring_n; j++) {
        const fv_example *e = &t->ring[j];
        if (e->index == ex.index) continue;
        int dup = 0;
        for (size_t k = 0; k < nc[0] && !dup; k++) dup = cand[0][k]->index == e->index;
        if (dup) continue;
        cand[0][nc[0]++] = e;
        if (e->rationale && e->rationale[0]) cand[1][nc[1]++] = e;
    }
    int has_rat = ex.rationale && ex.rationale[0];
    int valid[4];
    double sum = 0;
    int nvalid = 0;
    for (int f = 0; f < 4; f++) {
        int cot = f >= 2, few = f & 1;
        valid[f] = fv_template_set_count(t->set, (fv_format)f) > 0 && (!cot || has_rat) && (!few || nc[cot] > 0);
        if (valid[f]) sum += m->share[f], nvalid++;
    }
    if (!nvalid) {
        if (ex.line) return fv_err("%s:%zu: template set %s has no form this example can take", t->path, ex.line,
                                   fv_template_set_name(t->set));
        return fv_err("%s: example %zu: template set %s has no form this example can take", t->path, ex.index,
                      fv_template_set_name(t->set));
    }
    int fmt = -1;
    if (sum > 0) {
        double v = fv_rng_uniform_d(&m->rng) * sum;
        for (int f = 0; f < 4; f++) {
            if (!valid[f] || m->share[f] <= 0) continue;
            fmt = f;
            if (v < m->share[f]) break;
            v -= m->share[f];
        }
    } else {
        uint64_t pick = fv_rng_below(&m->rng, (uint64_t)nvalid);
        for (int f = 0; f < 4; f++)
            if (valid[f] && pick-- == 0) fmt = f;
    }
    fv_example shots[FV_MIX_MAX_K];
    size_t k = 0;
    if (fmt & 1) {
        int cot = fmt >= 2;
        k = m->k_lo + (size_t)fv_rng_below(&m->rng, m->k_hi - m->k_lo + 1);
        if (k > nc[cot]) k = nc[cot];
        const fv_example **c = cand[cot];
        for (size_t j = 0; j < k; j++) { /* partial Fisher-Yates */
            size_t r = j + (size_t)fv_rng_below(&m->rng, nc[cot] - j);
            const fv_example *tmp = c[j];
            c[j] = c[r];
            c[r] = tmp;
            shots[j] = *c[j];
            s->shot_index[j] = c[j]->index;
        }
    }
    free(m->in);
    free(m->tg);
    m->in = m->tg = NULL;
    FV_TRY(fv_template_render(t->set, &ex, shots, k, (fv_format)fmt, &m->rng, &m->in, &m->tg));
    s->task = ti;
    s->task_name = t->name;
    s->format = (fv_format)fmt;
    s->inputs = m->in;
    s->targets = m->tg;
    s->ex_index = ex.index;
    s->n_shots = k;
    t->info.drawn++;
    t->info.by_format[fmt]++;
    ring_add(t, &ex);
    return 0;
}

const char *fv_mixture_name(const fv_mixture *m) { return m->name; }
const char *fv_mixture_path(const fv_mixture *m) { return m->path; }
uint64_t fv_mixture_seed(const fv_mixture *m) { return m->seed; }
size_t fv_mixture_n_tasks(const fv_mixture *m) { return m->n; }
const fv_mix_task *fv_mixture_task(const fv_mixture *m, size_t i) { return i < m->n ? &m->t[i].info : NULL; }
uint64_t fv_mixture_epoch(const fv_mixture *m) { return m->epoch; }

size_t fv_mixture_bad_rows(const fv_mixture *m) {
    size_t n = 0;
    for (size_t i = 0; i < m->n; i++) n += fv_reader_bad(m->t[i].r);
    return n;
}
