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
static void pairs(const fv_t5_block *b, fv_t5_block *s, fv_buf **mst[NSHADOW], fv_buf **shd[NSHADOW]) {
    fv_t5_block *bm = (fv_t5_block *)b;
    fv_buf **m[NSHADOW] = {&bm->qkv, &bm->o, &bm->cq, &bm->ckv, &bm->co, &bm->wi};
    fv_buf **h[NSHADOW] = {&s->qkv, &s->o, &s->cq, &s->ckv, &s->co, &s->wi};
    for (int i = 0; i < NSHADOW; i++) {
        mst[i] = m[i];
        shd[i] = h[i];
    }
}

int fv_t5_train_shadows_create(fv_t5_train *t) {
    const fv_t5 *m = t->m;
    int L[2] = {m->cfg.num_layers, m->cfg.num_decoder_layers};
    t->enc16 = calloc((size_t)L[0], sizeof *t->enc16);
    t->dec16 = calloc((size_t)L[1], sizeof *t->dec16);
    if (!t->enc16 || !t->dec16) return fv_err("out of host memory");
    for (int dec = 0; dec < 2; dec++)
        for (int l = 0; l < L[dec]; l++) {
            fv_buf **mst[NSHADOW], **shd[NSHADOW];
            pairs(dec ? &m->dec[l] : &m->enc[l], dec ? &t->dec16[l] : &t->enc16[l], mst, shd);
            for (int i = 0; i < NSHADOW; i++) {
                if (!*mst[i]) continue;
                static const char *field[NSHADOW] = {"qkv", "o", "cq", "ckv", "co", "wi"};
                char name[48];
                snprintf(name, sizeof name, "%s %d %s fp16", dec ? "dec" : "enc", l, field[i]);
                uint64_t n = (*mst[i])->size / 4;
                if (fv_buf_alloc(m->d, n * 2, FV_MEM_DEVICE, name, shd[i]))
                    return fv_err_wrap("train step: fp16 shadow of %s", (*mst[i])->what);
            }
        }
    return fv_t5_train_sync_shadows(t);
}

void fv_t5_train_shadows_free(fv_t5_train *t) {
    const fv_t5 *m = t->m;
    int L[2] = {m->cfg.num_layers, m->cfg.num_decoder_layers};
    for (int dec = 0; dec < 2; dec++) {
        fv_t5_block *s = dec ? t->dec16 : t->enc16;
        for (int l = 0; s && l < L[dec]; l++) {
            fv_buf *all[] = {s[l].qkv, s[l].o, s[l].cq, s[l].ckv, s[l].co, s[l].wi};
            for (int i = 0; i < NSHADOW; i++) fv_buf_free(m->d, all[i]);
        }
    }
    free(t->enc16);
    free(t->dec16);
    t->enc16 = t->dec16 = NULL;
}

int fv_t5_train_refresh_shadows(fv_graph *g, fv_t5_train *t) {
    if (!t->mixed) return 0;
    const fv_t5 *m = t->m;
    int L[2] = {m->cfg.num_layers, m->cfg.num_decoder_layers};
    for (int dec = 0; dec < 2; dec++)
        for (int l = 0; l < L[dec]; l++) {
            fv_buf **mst[NSHADOW], **shd[NSHADOW];
            pairs(dec ? &m->dec[l] : &m->enc[l], dec ? &t->dec16[l] : &t->enc16[l], mst, shd);
            for (int i = 0; i < NSHADOW; i++) {
                if (!*mst[i]) continue;
                uint64_t n = (*mst[i])->size / 4;
                FV_TRY(fv_cast_f16(g, fv_tensor(*mst[i], 0), fv_tensor(*shd[i], 0), (uint32_t)n));
            }
        }
    return 0;
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
