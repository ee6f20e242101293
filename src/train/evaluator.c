/* Held-out loss; see evaluator.h. */
#include "train/evaluator.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "dist/comm.h"
#include "model/t5_forward.h"
#include "model/t5_score.h"
#include "train/train_data.h"

struct fv_evaluator {
    fv_t5 *m;
    fv_train_data data;
    uint32_t B, batches;
    uint64_t rows, targets;
    fv_t5_host_arrays h;
    fv_t5_fwd *f;
    fv_graph *g;
    float *loss; /* B * L2 per-token losses read back */
    double *part; /* per batch: summed loss, then target count (the ranks' shares, summed) */
};

/* Expand rows [first, first + B) (fewer at the end) into the host arrays; *targets counts them. */
static int fill(fv_evaluator *e, uint64_t first, uint64_t *targets) {
    uint32_t B = e->B, L = e->data.L, L2 = e->data.L2;
    fv_t5_host_arrays *h = &e->h;
    fv_t5_host_arrays_clear(h); /* labels FV_PACK_IGNORE (-100) */
    *targets = 0;
    for (uint32_t b = 0; b < B && first + b < e->rows; b++) {
        fv_pack_row row = fv_train_data_row(&e->data, first + b);
        fv_pack_arrays a = {(int32_t *)h->eid + (size_t)b * L, h->eseg + (size_t)b * L, h->epos + (size_t)b * L,
                            (int32_t *)h->did + (size_t)b * L2, h->dseg + (size_t)b * L2, h->dpos + (size_t)b * L2,
                            h->lab + (size_t)b * L2};
        char what[600];
        snprintf(what, sizeof what, "%s: row %llu", e->data.path, (unsigned long long)(first + b));
        FV_TRY(fv_pack_expand_row(&row, L, L2, (uint32_t)e->m->cfg.vocab_size, &a, NULL, what));
        for (uint32_t t = 0; t < L2; t++) *targets += a.labels[t] != FV_PACK_IGNORE;
    }
    return 0;
}

int fv_evaluator_create(fv_t5 *m, const char *path, uint32_t batch, uint32_t max_batches, const fv_tokenizer *tok,
                        fv_evaluator **out) {
    *out = NULL;
    if (!path) return fv_err("eval: no --eval-data file");
    fv_evaluator *e = calloc(1, sizeof *e);
    if (!e) return fv_err("out of host memory");
    e->m = m;
    int rc = fv_train_data_open(&e->data, path, 0, 0, (uint32_t)m->cfg.vocab_size, tok);
    if (rc) {
        free(e);
        return fv_err_wrap("--eval-data %s", path);
    }
    if (e->data.truncated)
        fv_warn("--eval-data %s: %llu examples cut to %u input / %u target tokens (their loss is of the cut part)", path,
                (unsigned long long)e->data.truncated, e->data.L, e->data.L2);
    /* the batch is the training batch size unless one row's activations would not fit a buffer */
    e->B = fv_t5_fwd_fit_rows(m, batch ? batch : 1, e->data.L, e->data.L2);
    uint64_t all = (e->data.rows + e->B - 1) / e->B;
    e->batches = (uint32_t)(max_batches && max_batches < all ? max_batches : all);
    e->rows = (uint64_t)e->batches * e->B < e->data.rows ? (uint64_t)e->batches * e->B : e->data.rows;
    rc = fv_t5_host_arrays_alloc(&e->h, e->B, e->data.L, e->data.L2);
    /* every row this evaluation reads is checked now, before training starts */
    for (uint32_t k = 0; !rc && k < e->batches; k++) {
        uint64_t n;
        rc = fill(e, (uint64_t)k * e->B, &n);
        e->targets += n;
    }
    if (!rc && !e->targets) rc = fv_err("--eval-data %s: no target tokens in the %llu rows to evaluate", path,
                                        (unsigned long long)e->rows);
    e->loss = rc ? NULL : malloc((size_t)e->B * e->data.L2 * sizeof *e->loss);
    e->part = rc ? NULL : malloc(2 * (size_t)e->batches * sizeof *e->part);
    if (!rc && (!e->loss || !e->part)) rc = fv_err("out of host memory");
    if (!rc) rc = fv_t5_fwd_create(m, e->B, e->data.L, e->data.L2, 0, &e->f);
    if (!rc) rc = fv_graph_create(m->d, &e->g);
    if (!rc) rc = fv_graph_begin(e->g);
    if (!rc) rc = fv_t5_fwd_record(e->g, e->f);
    if (!rc) rc = fv_graph_end(e->g);
    if (rc) {
        fv_evaluator_free(e);
        return rc;
    }
    *out = e;
    return 0;
}

/* Several ranks (src/dist) share the batches: rank r runs batches r, r + N, ..., and the per-batch
 * sums of all ranks are summed (each batch's has one non-zero term, so that sum is exact) and added
 * up in batch order here, as one rank adds its own: the loss is the same bits on every rank and
 * for any number of ranks, and early stopping decides the same everywhere. */
int fv_evaluator_run(fv_evaluator *e, double *sum, uint64_t *count) {
    *sum = 0;
    *count = 0;
    const fv_dist *c = fv_dist_get();
    size_t nd = (size_t)e->B * e->data.L2;
    memset(e->part, 0, 2 * (size_t)e->batches * sizeof *e->part);
    for (uint32_t k = (uint32_t)c->rank; k < e->batches; k += (uint32_t)c->size) {
        uint64_t n;
        FV_TRY(fill(e, (uint64_t)k * e->B, &n));
        fv_t5_host_batch view = fv_t5_host_arrays_view(&e->h);
        FV_TRY(fv_t5_batch_upload(e->m, &e->f->in, &view));
        FV_TRY(fv_graph_run(e->g));
        FV_TRY(fv_buf_read(e->m->d, e->f->loss, 0, e->loss, nd * 4));
        double s = 0;
        for (size_t i = 0; i < nd; i++)
            if (e->h.lab[i] != FV_PACK_IGNORE) s += e->loss[i];
        e->part[2 * k] = s;
        e->part[2 * k + 1] = (double)n;
    }
    FV_TRY(fv_dist_sum_f64(e->part, 2 * (size_t)e->batches));
    for (uint32_t k = 0; k < e->batches; k++) {
        *sum += e->part[2 * k];
        *count += (uint64_t)e->part[2 * k + 1];
    }
    return 0;
}

void fv_evaluator_size(const fv_evaluator *e, uint64_t *rows, uint32_t *batches, uint64_t *targets) {
    *rows = e->rows;
    *batches = e->batches;
    *targets = e->targets;
}

void fv_evaluator_free(fv_evaluator *e) {
    if (!e) return;
    fv_graph_destroy(e->g);
    fv_t5_fwd_free(e->f);
    fv_t5_host_arrays_free(&e->h);
    fv_train_data_close(&e->data);
    free(e->loss);
    free(e->part);
    free(e);
}
