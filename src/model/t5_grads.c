/* Gradient buffers mirroring the T5 parameter layout; see t5_grads.h. Each gradient buffer is
 * allocated with the byte size of its parameter buffer, and the parameter table is copied with
 * every buf pointer swapped for its gradient twin (offsets stay valid because layouts match). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/t5_grads.h"
#include "model/t5_wsplit.h"

typedef struct {
    fv_buf **model, **grad;
} pair;

/* Every (parameter buffer, gradient slot) pair of the model but the row-split tensors;
 * returns the count (<= cap). */
static size_t pairs(const fv_t5 *m, fv_t5_grads *g, pair *p, size_t cap) {
    size_t n = 0;
#define ADD(mb, gb)                                          \
    do {                                                     \
        if (!(mb)) break; /* a split linear (t5_wsplit.h) */ \
        if (n < cap) p[n] = (pair){(fv_buf **)&(mb), &(gb)}; \
        n++;                                                 \
    } while (0)
    ADD(m->enc_rel, g->enc_rel);
    ADD(m->dec_rel, g->dec_rel);
    ADD(m->enc_final, g->enc_final);
    ADD(m->dec_final, g->dec_final);
    for (int s = 0; s < 2; s++) {
        int nl = s ? m->cfg.num_decoder_layers : m->cfg.num_layers;
        fv_t5_block *mb = s ? m->dec : m->enc, *gb = s ? g->dec : g->enc;
        for (int l = 0; l < nl; l++) {
            ADD(mb[l].ln_self, gb[l].ln_self);
            ADD(mb[l].qkv, gb[l].qkv);
            ADD(mb[l].o, gb[l].o);
            if (s) {
                ADD(mb[l].ln_cross, gb[l].ln_cross);
                ADD(mb[l].cq, gb[l].cq);
                ADD(mb[l].ckv, gb[l].ckv);
                ADD(mb[l].co, gb[l].co);
            }
            ADD(mb[l].ln_ff, gb[l].ln_ff);
            ADD(mb[l].wi, gb[l].wi);
            ADD(mb[l].wo, gb[l].wo);
        }
    }
#undef ADD
    return n;
}

int fv_t5_grads_create(const fv_t5 *m, fv_t5_grads **out) {
    *out = NULL;
    fv_t5_grads *g = calloc(1, sizeof *g);
    if (!g) return fv_err("out of host memory");
    g->m = m;
    g->enc = calloc((size_t)m->cfg.num_layers, sizeof *g->enc);
    g->dec = calloc((size_t)m->cfg.num_decoder_layers, sizeof *g->dec);
    size_t n = pairs(m, g, NULL, 0), npieces = m->shared.n + m->lm_head.n;
    for (int s = 0; s < 2; s++) {
        const fv_t5_block *mb = s ? m->dec : m->enc;
        for (int l = 0; l < (s ? m->cfg.num_decoder_layers : m->cfg.num_layers); l++)
            for (int w = 0; w < FV_T5_NLIN; w++)
                for (int k = 0; k < 3; k++) npieces += mb[l].part[w][k].n;
    }
    pair *p = calloc(n ? n : 1, sizeof *p);
    g->bufs = calloc(n + npieces, sizeof *g->bufs);
    g->params = calloc(m->nparams, sizeof *g->params);
    int rc = (!g->enc || !g->dec || !p || !g->bufs || !g->params) ? fv_err("out of host memory") : 0;
    if (!rc) pairs(m, g, p, n);
    if (!rc) rc = fv_rowsplit_alloc(m->d, m->shared.rows, m->shared.cols, "grad shared.weight", &g->shared);
    if (!rc && m->lm_head.n) rc = fv_rowsplit_alloc(m->d, m->lm_head.rows, m->lm_head.cols, "grad lm_head.weight", &g->lm_head);
    for (uint32_t i = 0; !rc && i < g->shared.n; i++) g->bufs[g->nbufs++] = g->shared.piece[i];
    for (uint32_t i = 0; !rc && i < g->lm_head.n; i++) g->bufs[g->nbufs++] = g->lm_head.piece[i];
    /* block linears split into row pieces: gradients split alike */
    for (int s = 0; !rc && s < 2; s++) {
        const fv_t5_block *mb = s ? m->dec : m->enc;
        fv_t5_block *gb = s ? g->dec : g->enc;
        for (int l = 0; !rc && l < (s ? m->cfg.num_decoder_layers : m->cfg.num_layers); l++) {
            rc = fv_t5_wsplit_alloc_like(m->d, &mb[l], &gb[l]);
            for (int w = 0; !rc && w < FV_T5_NLIN; w++)
                for (int k = 0; k < 3; k++)
                    for (uint32_t i = 0; i < gb[l].part[w][k].n; i++) g->bufs[g->nbufs++] = gb[l].part[w][k].piece[i];
        }
    }
    g->npieces = g->nbufs;
    for (size_t i = 0; !rc && i < n; i++) {
        char what[64];
        snprintf(what, sizeof what, "grad %.40s", (*p[i].model)->what);
        rc = fv_buf_alloc(m->d, (*p[i].model)->size, FV_MEM_DEVICE, what, p[i].grad);
        if (!rc) g->bufs[g->nbufs++] = *p[i].grad;
    }
    for (size_t i = 0; !rc && i < m->nparams; i++) {
        const fv_rowsplit *ms = m->params[i].split;
        g->params[i] = m->params[i];
        g->params[i].buf = NULL;
        g->params[i].split = ms == &m->shared ? &g->shared : ms == &m->lm_head ? &g->lm_head : NULL;
        for (int s = 0; ms && !g->params[i].split && s < 2; s++)
            for (int l = 0; !g->params[i].split && l < (s ? m->cfg.num_decoder_layers : m->cfg.num_layers); l++)
                g->params[i].split = fv_t5_wsplit_twin(s ? &m->dec[l] : &m->enc[l], s ? &g->dec[l] : &g->enc[l], ms);
        if (g->params[i].split) g->params[i].buf = g->params[i].split->piece[0];
        for (size_t k = 0; k < n && !ms; k++)
            if (*p[k].model == m->params[i].buf) g->params[i].buf = *p[k].grad;
        if (!g->params[i].buf) rc = fv_err("gradients: parameter '%s' lies in no known buffer", m->params[i].name);
    }
    g->nparams = m->nparams;
    free(p);
    if (rc) {
        fv_t5_grads_free(g);
        return rc;
    }
    *out = g;
    return 0;
}

void fv_t5_grads_free(fv_t5_grads *g) {
    if (!g) return;
    /* bufs[0 .. npieces) are the splits' pieces: freed through their splits */
    for (size_t i = g->npieces; i < g->nbufs; i++) fv_buf_free(g->m->d, g->bufs[i]);
    fv_rowsplit_free(g->m->d, &g->shared);
    fv_rowsplit_free(g->m->d, &g->lm_head);
    for (int l = 0; g->enc && l < g->m->cfg.num_layers; l++) fv_t5_wsplit_free(g->m->d, &g->enc[l]);
    for (int l = 0; g->dec && l < g->m->cfg.num_decoder_layers; l++) fv_t5_wsplit_free(g->m->d, &g->dec[l]);
    free(g->bufs);
    free(g->params);
    free(g->enc);
    free(g->dec);
    free(g);
}

int fv_t5_grads_zero(fv_graph *gr, const fv_t5_grads *g) {
    for (size_t i = 0; i < g->nbufs; i++) FV_TRY(fv_graph_fill(gr, g->bufs[i], 0));
    return 0;
}

const fv_t5_param *fv_t5_grads_find(const fv_t5_grads *g, const char *name) {
    for (size_t i = 0; i < g->nparams; i++)
        if (!strcmp(g->params[i].name, name)) return &g->params[i];
    return NULL;
}

int fv_t5_grads_norm_plan(const fv_t5_grads *g, fv_gradnorm_plan **out) {
    size_t n = g->nparams + g->shared.n + g->lm_head.n; /* a split table: one entry per piece */
    fv_t *ts = calloc(n, sizeof *ts);
    uint32_t *lens = calloc(n, sizeof *lens);
    int rc = (!ts || !lens) ? fv_err("out of host memory") : 0;
    uint32_t k = 0;
    for (size_t i = 0; !rc && i < g->nparams; i++) {
        const fv_rowsplit *sp = g->params[i].split;
        for (uint32_t j = 0; sp && j < sp->n; j++, k++) {
            ts[k] = fv_tensor(sp->piece[j], 0);
            lens[k] = fv_rowsplit_count(sp, j) * sp->cols;
        }
        if (sp) continue;
        ts[k] = fv_tensor(g->params[i].buf, g->params[i].off);
        lens[k++] = g->params[i].rows * (g->params[i].cols ? g->params[i].cols : 1);
    }
    if (!rc) rc = fv_gradnorm_plan_create(g->m->d, ts, lens, k, out);
    free(ts);
    free(lens);
    return rc;
}
