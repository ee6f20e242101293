/* Scoring in padded batches; see t5_score.h. The batch is as large as asked but small enough that
 * every activation buffer of the forward (t5_forward.c: the attention probabilities of one layer,
 * the fused q|k|v and feed-forward rows) fits in one storage buffer; the logits come in row chunks. */
#include <stdlib.h>
#include <string.h>

#include "model/t5_forward.h"
#include "model/t5_score.h"

uint32_t fv_t5_fwd_fit_rows(const fv_t5 *m, uint32_t want, uint32_t Te, uint32_t Td) {
    uint64_t tt = (uint64_t)Te * Te;
    if ((uint64_t)Td * Td > tt) tt = (uint64_t)Td * Td;
    if ((uint64_t)Td * Te > tt) tt = (uint64_t)Td * Te;
    const fv_t5_config *c = &m->cfg;
    uint64_t width = (uint64_t)c->d_model, T = Te > Td ? Te : Td;
    if (3ull * m->inner > width) width = 3ull * m->inner;
    if ((c->is_gated_act ? 2ull : 1ull) * c->d_ff > width) width = (c->is_gated_act ? 2ull : 1ull) * c->d_ff;
    uint64_t per_row = tt * (uint64_t)c->num_heads * 4;
    if (T * width * 4 > per_row) per_row = T * width * 4;
    uint64_t range = m->d->props.limits.maxStorageBufferRange;
    uint64_t b = per_row ? range / per_row : want;
    if (b < 1) b = 1;
    return (uint32_t)(b < want ? b : want);
}

/* One padded batch; shared: every input is the same (inputs[0]) and is encoded once. */
static int run_batch(fv_t5 *m, const uint32_t *const *inputs, const uint32_t *in_lens, const uint32_t *const *targets,
                     const uint32_t *tgt_lens, uint32_t B, int shared, double *logprob) {
    uint32_t Te = 1, Td = 1;
    for (uint32_t i = 0; i < B; i++) {
        if (!in_lens[i] || !tgt_lens[i]) return fv_err("score: pair %u has an empty input or target", i);
        Te = in_lens[i] > Te ? in_lens[i] : Te;
        Td = tgt_lens[i] > Td ? tgt_lens[i] : Td;
    }
    size_t nd = (size_t)B * Td;
    fv_t5_host_arrays h;
    FV_TRY(fv_t5_host_arrays_alloc(&h, B, Te, Td));
    uint32_t *eid = h.eid, *did = h.did;
    int32_t *eseg = h.eseg, *epos = h.epos, *dseg = h.dseg, *dpos = h.dpos, *lab = h.lab;
    float *loss = malloc(nd * 4);
    fv_t5_fwd *f = NULL;
    fv_graph *g = NULL;
    int rc = !loss ? fv_err("score: out of host memory") : 0;
    for (uint32_t b = 0; !rc && b < B; b++) {
        for (uint32_t t = 0; t < in_lens[b]; t++) {
            eid[b * Te + t] = inputs[b][t];
            eseg[b * Te + t] = 1;
            epos[b * Te + t] = (int32_t)t;
        }
        for (uint32_t t = 0; t < Td; t++) {
            int real = t < tgt_lens[b];
            /* decoder input: the target shifted right behind decoder_start_token_id */
            did[b * Td + t] = real ? (t ? targets[b][t - 1] : (uint32_t)m->cfg.decoder_start_token_id) : 0;
            dseg[b * Td + t] = real;
            dpos[b * Td + t] = (int32_t)t;
            lab[b * Td + t] = real ? (int32_t)targets[b][t] : -100;
        }
    }
    if (!rc) rc = fv_t5_fwd_create(m, B, Te, Td, 0, &f);
    if (!rc) f->shared_input = shared;
    if (!rc) {
        fv_t5_host_batch hb = fv_t5_host_arrays_view(&h);
        rc = fv_t5_batch_upload(m, &f->in, &hb);
    }
    if (!rc) rc = fv_graph_create(m->d, &g);
    if (!rc) rc = fv_graph_begin(g);
    if (!rc) rc = fv_t5_fwd_record(g, f);
    if (!rc) rc = fv_graph_end(g);
    if (!rc) rc = fv_graph_run(g);
    if (!rc) rc = fv_buf_read(m->d, f->loss, 0, loss, nd * 4);
    for (uint32_t b = 0; !rc && b < B; b++) {
        double s = 0;
        for (uint32_t t = 0; t < tgt_lens[b]; t++) s -= loss[b * Td + t];
        logprob[b] = s;
    }
    fv_graph_destroy(g);
    fv_t5_fwd_free(f);
    fv_t5_host_arrays_free(&h);
    free(loss);
    return rc;
}

int fv_t5_score(fv_t5 *m, const uint32_t *const *inputs, const uint32_t *in_lens, const uint32_t *const *targets,
                const uint32_t *tgt_lens, uint32_t n, uint32_t max_batch, double *logprob) {
    if (!max_batch) max_batch = 16;
    for (uint32_t i = 0; i < n;) {
        uint32_t B = n - i < max_batch ? n - i : max_batch, Te = 1, Td = 1;
        for (uint32_t k = 0; k < B; k++) {
            Te = in_lens[i + k] > Te ? in_lens[i + k] : Te;
            Td = tgt_lens[i + k] > Td ? tgt_lens[i + k] : Td;
        }
        B = fv_t5_fwd_fit_rows(m, B, Te, Td);
        FV_TRY(run_batch(m, inputs + i, in_lens + i, targets + i, tgt_lens + i, B, 0, logprob + i));
        i += B;
    }
    return 0;
}

int fv_t5_score_shared(fv_t5 *m, const uint32_t *input, uint32_t in_len, const uint32_t *const *targets,
                       const uint32_t *tgt_lens, uint32_t n, double *logprob) {
    if (!n) return 0;
    if (!in_len) return fv_err("score: empty shared input");
    const uint32_t **inputs = malloc(n * sizeof *inputs);
    uint32_t *lens = malloc(n * sizeof *lens);
    int rc = (!inputs || !lens) ? fv_err("out of host memory") : 0;
    for (uint32_t i = 0; !rc && i < n; i++) {
        inputs[i] = input;
        lens[i] = in_len;
    }
    uint32_t Td = 1;
    for (uint32_t i = 0; i < n; i++) Td = tgt_lens[i] > Td ? tgt_lens[i] : Td;
    uint32_t B = fv_t5_fwd_fit_rows(m, n, in_len, Td);
    for (uint32_t i = 0; !rc && i < n; i += B)
        rc = run_batch(m, inputs + i, lens + i, targets + i, tgt_lens + i, n - i < B ? n - i : B, 1, logprob + i);
    free(inputs);
    free(lens);
    return rc;
}
