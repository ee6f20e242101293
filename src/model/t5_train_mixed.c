/* Mixed-precision training: the fp16 shadow copies of the projection weights that the GEMMs of
 * the training step read (see t5_train_step.h for which weights and why wo, the embedding /
 * lm_head and the norms keep none). The masters stay fp32 and authoritative; a shadow is
 * rewritten wholesale from its master by the cast kernel (ops/cast.h), never updated itself. */
#include <stdio.h>
#include <stdlib.h>

#include "base/log.h"
#include "model/t5_train_impl.h"
#include "ops/cast.h"

/* The shadowed fields of a block, as (master, shadow) pairs; decoder-only ones are NULL in the
 * encoder (and then skipped). wo is deliberately absent. */
enum { NSHADOW = 6 };
static const char *const shadow_field[NSHADOW] = {"qkv", "o", "cq", "ckv", "co", "wi"};

static void pairs(const fv_t5_block *b, fv_t5_block *s, fv_buf *mst[NSHADOW], fv_buf **shd[NSHADOW]) {
    fv_buf *m[NSHADOW] = {b->qkv, b->o, b->cq, b->ckv, b->co, b->wi};
    fv_buf **h[NSHADOW] = {&s->qkv, &s->o, &s->cq, &s->ckv, &s->co, &s->wi};
    for (int i = 0; i < NSHADOW; i++) {
        mst[i] = m[i];
        shd[i] = h[i];
    }
}

/* fn(master, &shadow, dec, layer, field index) for every shadowed weight of the model, in order;
 * stops at the first error. */
typedef int (*shadow_fn)(fv_t5_train *t, fv_buf *master, fv_buf **shadow, int dec, int l, int i, void *ctx);
static int each_shadow(fv_t5_train *t, shadow_fn fn, void *ctx) {
    const fv_t5 *m = t->m;
    int L[2] = {m->cfg.num_layers, m->cfg.num_decoder_layers};
    for (int dec = 0; dec < 2; dec++)
        for (int l = 0; l < L[dec]; l++) {
            fv_buf *mst[NSHADOW], **shd[NSHADOW];
            pairs(dec ? &m->dec[l] : &m->enc[l], dec ? &t->dec16[l] : &t->enc16[l], mst, shd);
            for (int i = 0; i < NSHADOW; i++)
                if (mst[i]) FV_TRY(fn(t, mst[i], shd[i], dec, l, i, ctx));
        }
    return 0;
}

static int alloc_shadow(fv_t5_train *t, fv_buf *master, fv_buf **shadow, int dec, int l, int i, void *ctx) {
    (void)ctx;
    char name[48];
    snprintf(name, sizeof name, "%s %d %s fp16", dec ? "dec" : "enc", l, shadow_field[i]);
    if (fv_buf_alloc(t->m->d, master->size / 4 * 2, FV_MEM_DEVICE, name, shadow))
        return fv_err_wrap("train step: fp16 shadow of %s", master->what);
    return 0;
}

static int free_shadow(fv_t5_train *t, fv_buf *master, fv_buf **shadow, int dec, int l, int i, void *ctx) {
    (void)master, (void)dec, (void)l, (void)i, (void)ctx;
    fv_buf_free(t->m->d, *shadow);
    *shadow = NULL;
    return 0;
}

static int cast_shadow(fv_t5_train *t, fv_buf *master, fv_buf **shadow, int dec, int l, int i, void *ctx) {
    (void)t, (void)dec, (void)l, (void)i;
    return fv_cast_f16((fv_graph *)ctx, fv_tensor(master, 0), fv_tensor(*shadow, 0), (uint32_t)(master->size / 4));
}

int fv_t5_train_shadows_create(fv_t5_train *t) {
    const fv_t5 *m = t->m;
    t->enc16 = calloc((size_t)m->cfg.num_layers, sizeof *t->enc16);
    t->dec16 = calloc((size_t)m->cfg.num_decoder_layers, sizeof *t->dec16);
    if (!t->enc16 || !t->dec16) return fv_err("out of host memory");
    FV_TRY(each_shadow(t, alloc_shadow, NULL));
    return fv_t5_train_sync_shadows(t);
}

void fv_t5_train_shadows_free(fv_t5_train *t) {
    if (t->enc16 && t->dec16) each_shadow(t, free_shadow, NULL);
    free(t->enc16);
    free(t->dec16);
    t->enc16 = t->dec16 = NULL;
}

int fv_t5_train_refresh_shadows(fv_graph *g, fv_t5_train *t) {
    if (!t->mixed) return 0;
    return each_shadow(t, cast_shadow, g);
}

int fv_t5_train_sync_shadows(fv_t5_train *t) {
    if (!t->mixed) return 0;
    fv_graph *g = NULL;
    int rc = fv_graph_create(t->m->d, &g);
    if (!rc) rc = fv_graph_begin(g);
    if (!rc) rc = fv_t5_train_refresh_shadows(g, t);
    if (!rc) rc = fv_graph_end(g);
    if (!rc) rc = fv_graph_run(g);
    fv_graph_destroy(g);
    return rc ? fv_err_wrap("train step: filling the fp16 weight shadows") : 0;
}
