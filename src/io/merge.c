/* LoRA merge (see merge.h): the adapter's delta added through convert's hook. */
#define _POSIX_C_SOURCE 200809L
#include "io/merge.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "io/safetensors.h"
#include "io/t5_config.h"
#include "io/wfile.h"

typedef struct {
    const fv_peft_adapter *a;
    fv_merge_stats *stats;
    unsigned char *seen; /* per adapter module: its matrix was adjusted */
} merge_ctx;

/* The adapter module of HF tensor `name` ("<module>.weight"), or NULL. */
static const fv_peft_module *module_of(const fv_peft_adapter *a, const char *name) {
    size_t n = strlen(name), ls = strlen(".weight");
    char mod[96];
    if (n <= ls || n - ls >= sizeof mod || strcmp(name + n - ls, ".weight")) return NULL;
    memcpy(mod, name, n - ls);
    mod[n - ls] = 0;
    return fv_peft_find(a, mod);
}

static int wants(void *user, const char *name) { return module_of(((merge_ctx *)user)->a, name) != NULL; }

/* w += s * B A, each element's sum over the rank and its addition to w in double, rounded once. */
static int adjust(void *user, const char *name, float *w, uint32_t N, uint32_t K) {
    merge_ctx *c = user;
    const fv_peft_module *m = module_of(c->a, name);
    if (!m || m->out != N || m->in != K)
        return fv_err("merge: tensor '%s' [%u, %u] does not fit its adapter module", name, N, K);
    double s = fv_peft_scaling(&c->a->cfg), worst = c->stats->max_abs_delta;
    int r = c->a->cfg.r;
    for (uint32_t o = 0; o < N; o++) {
        const float *b = m->B + (size_t)o * r;
        for (uint32_t i = 0; i < K; i++) {
            double acc = 0;
            for (int k = 0; k < r; k++) acc += (double)b[k] * m->A[(size_t)k * K + i];
            double d = s * acc;
            w[(size_t)o * K + i] = (float)((double)w[(size_t)o * K + i] + d);
            if (fabs(d) > worst) worst = fabs(d);
        }
    }
    c->stats->max_abs_delta = worst;
    /* a q8 matrix passes twice (its scales entry, then its data entry): count it once */
    size_t idx = (size_t)(m - c->a->mods);
    if (!c->seen[idx]) c->stats->modules++;
    c->seen[idx] = 1;
    return 0;
}

int fv_merge(const char *model_dir, const char *adapter_dir, const char *out_dir, int type,
             void (*progress)(uint64_t done, uint64_t total, void *user), void *user, fv_merge_stats *stats) {
    fv_merge_stats none;
    if (!stats) stats = &none; /* the figures are optional */
    memset(stats, 0, sizeof *stats);
    if (!model_dir || !adapter_dir || !out_dir) return fv_err("merge: model, adapter and output directories are required");
    fv_t5_config cfg;
    FV_TRY(fv_t5_config_load(&cfg, model_dir));
    char label[1100];
    snprintf(label, sizeof label, "the model %s", model_dir);
    fv_peft_adapter a;
    FV_TRY(fv_peft_load(&a, adapter_dir, &cfg, label));
    stats->adapter = a.cfg;
    for (size_t i = 0; i < a.n_mods; i++) stats->adapter_params += (uint64_t)a.cfg.r * (a.mods[i].in + a.mods[i].out);
    int rc = 0;
    if (type < 0) {
        fv_safetensors *st;
        enum fv_wtype t = FV_WT_F32;
        rc = fv_st_open(&st, model_dir);
        if (!rc) {
            rc = fv_wfile_default_type(st, &t);
            fv_st_close(st);
        }
        type = (int)t;
    }
    merge_ctx mc = {&a, stats, calloc(a.n_mods + 1, 1)};
    fv_convert_hook hook = {wants, adjust, &mc};
    if (!rc && !mc.seen) rc = fv_err("merge: out of memory");
    if (!rc) rc = fv_convert_with(model_dir, out_dir, (enum fv_wtype)type, &hook, "merge", progress, user, &stats->convert);
    /* a count short of n_mods means a module was never reached (cannot happen once the adapter
     * passed its checks against the same config) */
    if (!rc && stats->modules != a.n_mods)
        rc = fv_err("merge: %u of %zu adapter modules were merged", stats->modules, a.n_mods);
    free(mc.seen);
    fv_peft_free(&a);
    return rc;
}
