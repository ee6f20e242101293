/* Optimizer state and update recording; see optimizer.h. */
#include "train/optimizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/optim.h"

typedef struct {
    const fv_t5_param *p, *g;
    fv_buf *state, *m, *scratch;  /* Adafactor: per tensor (state and scratch whole for a split table) */
    fv_rowsplit am, av;           /* row-split table: AdamW m and v, or Adafactor m (am), split like it */
} tensor_state;

typedef struct {
    fv_buf *p, *g, *m, *v;        /* AdamW: per parameter buffer (a split table: per piece) */
    uint32_t n;
    int piece;                    /* m, v belong to a tensor_state's am, av */
} group_state;

struct fv_optimizer {
    fv_dev *d;
    fv_optimizer_cfg cfg;
    fv_buf *hyper;
    tensor_state *t;
    size_t nt;
    group_state *groups;
    size_t ngroups;
};

static int zeroed_kind(fv_dev *d, uint64_t n, enum fv_mem_kind kind, const char *what, fv_buf **out) {
    FV_TRY(fv_buf_alloc(d, (n ? n : 1) * 4, kind, what, out));
    return fv_buf_fill_u32(d, *out, 0);
}

static int zeroed(fv_dev *d, uint64_t n, const char *what, fv_buf **out) {
    FV_TRY(fv_buf_alloc(d, (n ? n : 1) * 4, FV_MEM_DEVICE, what, out));
    return fv_buf_fill_u32(d, *out, 0);
}

int fv_optimizer_create(fv_dev *d, const fv_optimizer_cfg *cfg, const fv_t5_param *params, const fv_t5_param *grads,
                        size_t n, fv_optimizer **out) {
    *out = NULL;
    fv_optimizer *o = calloc(1, sizeof *o);
    if (!o) return fv_err("out of host memory");
    o->d = d;
    o->cfg = *cfg;
    size_t ngroups = n;
    for (size_t i = 0; i < n; i++) ngroups += params[i].split ? params[i].split->n : 0;
    o->t = calloc(n, sizeof *o->t);
    o->groups = calloc(ngroups, sizeof *o->groups);
    o->nt = n;
    int rc = (!o->t || !o->groups) ? fv_err("out of host memory") : 0;
    if (!rc) rc = zeroed_kind(d, FV_OPT_HYPER_WORDS, FV_MEM_UPLOAD, "optimizer hyperparameters", &o->hyper); /* rewritten every step */
    for (size_t i = 0; !rc && i < n; i++) {
        o->t[i].p = &params[i];
        o->t[i].g = &grads[i];
        const fv_rowsplit *ps = params[i].split, *gsp = grads[i].split;
        if (ps && (!gsp || gsp->n != ps->n || gsp->piece_rows != ps->piece_rows)) {
            rc = fv_err("optimizer: gradient of '%s' is not split like the parameter", params[i].name);
            break;
        }
        if (cfg->kind == FV_OPT_ADAMW && ps) { /* element-wise: one group per piece */
            rc = fv_rowsplit_alloc(d, ps->rows, ps->cols, "AdamW m", &o->t[i].am);
            if (!rc) rc = fv_rowsplit_alloc(d, ps->rows, ps->cols, "AdamW v", &o->t[i].av);
            for (uint32_t j = 0; !rc && j < ps->n; j++) {
                rc = fv_buf_fill_u32(d, o->t[i].am.piece[j], 0) || fv_buf_fill_u32(d, o->t[i].av.piece[j], 0);
                o->groups[o->ngroups++] = (group_state){ps->piece[j], gsp->piece[j], o->t[i].am.piece[j],
                                                        o->t[i].av.piece[j], fv_rowsplit_count(ps, j) * ps->cols, 1};
            }
        } else if (cfg->kind == FV_OPT_ADAMW) {
            size_t k = 0;
            while (k < o->ngroups && o->groups[k].p != params[i].buf) k++;
            if (k < o->ngroups) continue;
            group_state *gs = &o->groups[o->ngroups++];
            gs->p = params[i].buf;
            gs->g = grads[i].buf;
            gs->n = (uint32_t)(params[i].buf->size / 4);
            if (grads[i].buf->size != params[i].buf->size)
                rc = fv_err("optimizer: gradient of '%s' does not mirror its parameter buffer", params[i].name);
            if (!rc) rc = zeroed(d, gs->n, "AdamW m", &gs->m);
            if (!rc) rc = zeroed(d, gs->n, "AdamW v", &gs->v);
        } else {
            const fv_t5_param *p = &params[i];
            int factored = p->matrix;
            uint32_t rows = p->rows, cols = p->cols ? p->cols : 1;
            uint64_t st = fv_adafactor_state_size(rows, cols, factored, 0);
            uint64_t sc = fv_adafactor_scratch_size(rows, cols, factored) + (ps && ps->n > 1 ? fv_adafactor_carry_size(d) : 0);
            if (ps && !factored) rc = fv_err("optimizer: split tensor '%s' is not a matrix", p->name);
            /* a split table's row+col moments are small; only its momentum is split like it */
            if (!rc) rc = zeroed(d, st, "Adafactor state", &o->t[i].state);
            if (!rc && cfg->adafactor.use_beta1 && ps) {
                rc = fv_rowsplit_alloc(d, ps->rows, ps->cols, "Adafactor momentum", &o->t[i].am);
                for (uint32_t j = 0; !rc && j < ps->n; j++) rc = fv_buf_fill_u32(d, o->t[i].am.piece[j], 0);
            } else if (!rc && cfg->adafactor.use_beta1) {
                rc = zeroed(d, (uint64_t)rows * cols, "Adafactor momentum", &o->t[i].m);
            }
            if (!rc) rc = zeroed(d, sc, "Adafactor scratch", &o->t[i].scratch);
        }
    }
    if (rc) {
        fv_optimizer_free(o);
        return rc;
    }
    *out = o;
    return 0;
}

void fv_optimizer_free(fv_optimizer *o) {
    if (!o) return;
    for (size_t i = 0; o->t && i < o->nt; i++) {
        fv_buf_free(o->d, o->t[i].state);
        fv_buf_free(o->d, o->t[i].m);
        fv_buf_free(o->d, o->t[i].scratch);
        fv_rowsplit_free(o->d, &o->t[i].am);
        fv_rowsplit_free(o->d, &o->t[i].av);
    }
    for (size_t i = 0; o->groups && i < o->ngroups; i++) {
        if (o->groups[i].piece) continue;
        fv_buf_free(o->d, o->groups[i].m);
        fv_buf_free(o->d, o->groups[i].v);
    }
    fv_buf_free(o->d, o->hyper);
    free(o->t);
    free(o->groups);
    free(o);
}

int fv_optimizer_record(fv_optimizer *o, fv_graph *g) {
    fv_t hyper = fv_tensor(o->hyper, 0);
    if (o->cfg.kind == FV_OPT_ADAMW) {
        for (size_t i = 0; i < o->ngroups; i++) {
            group_state *s = &o->groups[i];
            FV_TRY(fv_adamw(g, hyper, fv_tensor(s->p, 0), fv_tensor(s->g, 0), fv_tensor(s->m, 0), fv_tensor(s->v, 0), s->n));
        }
        return 0;
    }
    for (size_t i = 0; i < o->nt; i++) {
        tensor_state *s = &o->t[i];
        uint32_t rows = s->p->rows, cols = s->p->cols ? s->p->cols : 1;
        if (s->p->split) {
            const fv_rowsplit *ps = s->p->split, *gsp = s->g->split;
            fv_adafactor_piece *pcs = malloc(ps->n * sizeof *pcs);
            if (!pcs) return fv_err("out of host memory");
            for (uint32_t j = 0; j < ps->n; j++)
                pcs[j] = (fv_adafactor_piece){fv_tensor(ps->piece[j], 0), fv_tensor(gsp->piece[j], 0),
                                              fv_tensor(s->am.n ? s->am.piece[j] : NULL, 0), fv_rowsplit_count(ps, j)};
            int rc = fv_adafactor_split(g, hyper, pcs, ps->n, fv_tensor(s->state, 0), fv_tensor(s->scratch, 0), rows, cols);
            free(pcs);
            if (rc) return rc;
            continue;
        }
        FV_TRY(fv_adafactor(g, hyper, fv_tensor(s->p->buf, s->p->off), fv_tensor(s->g->buf, s->g->off),
                            fv_tensor(s->state, 0), fv_tensor(s->m, 0), fv_tensor(s->scratch, 0), rows, cols,
                            s->p->matrix));
    }
    return 0;
}

int fv_optimizer_set_step(fv_optimizer *o, uint32_t t, double lr) {
    if (o->cfg.kind == FV_OPT_ADAMW) {
        fv_adamw_cfg c = o->cfg.adamw;
        c.lr = lr;
        fv_adamw_hyper h;
        FV_TRY(fv_adamw_hyper_fill(&c, t, &h));
        return fv_buf_write(o->d, o->hyper, 0, &h, sizeof h);
    }
    fv_adafactor_cfg c = o->cfg.adafactor;
    c.lr = lr;
    fv_adafactor_hyper h;
    FV_TRY(fv_adafactor_hyper_fill(&c, t, &h));
    return fv_buf_write(o->d, o->hyper, 0, &h, sizeof h);
}

int fv_optimizer_each_state(fv_optimizer *o, fv_opt_state_fn fn, void *user) {
    char name[160];
    for (size_t i = 0; i < o->nt; i++) {
        const fv_t5_param *p = o->t[i].p;
        uint32_t n = p->rows * (p->cols ? p->cols : 1);
        if (o->cfg.kind == FV_OPT_ADAMW && o->t[i].am.n) {
            snprintf(name, sizeof name, "adamw.m.%s", p->name);
            FV_TRY(fn(user, name, NULL, 0, n, &o->t[i].am));
            snprintf(name, sizeof name, "adamw.v.%s", p->name);
            FV_TRY(fn(user, name, NULL, 0, n, &o->t[i].av));
        } else if (o->cfg.kind == FV_OPT_ADAMW) {
            size_t k = 0;
            while (o->groups[k].p != p->buf) k++;
            snprintf(name, sizeof name, "adamw.m.%s", p->name);
            FV_TRY(fn(user, name, o->groups[k].m, p->off, n, NULL));
            snprintf(name, sizeof name, "adamw.v.%s", p->name);
            FV_TRY(fn(user, name, o->groups[k].v, p->off, n, NULL));
        } else {
            uint32_t st = (uint32_t)fv_adafactor_state_size(p->rows, p->cols ? p->cols : 1, p->matrix, 0);
            snprintf(name, sizeof name, "adafactor.state.%s", p->name);
            FV_TRY(fn(user, name, o->t[i].state, 0, st, NULL));
            snprintf(name, sizeof name, "adafactor.m.%s", p->name);
            if (o->t[i].am.n) FV_TRY(fn(user, name, NULL, 0, n, &o->t[i].am));
            else if (o->t[i].m) FV_TRY(fn(user, name, o->t[i].m, 0, n, NULL));
        }
    }
    return 0;
}

const char *fv_optimizer_name(const fv_optimizer *o) { return o->cfg.kind == FV_OPT_ADAMW ? "adamw" : "adafactor"; }

fv_dev *fv_optimizer_dev(const fv_optimizer *o) { return o->d; }
