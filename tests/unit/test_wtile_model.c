/* The tiled weight layout inside a model (io/wtile.h, model/t5.h): on a CPU device a typed model
 * holds its linear weights and vocabulary tables tiled (groups of 128 rows) where q, k, v and
 * wi_0, wi_1 are whole groups, row-major otherwise (f32, GPUs, a width that is not whole chunks).
 * For f16, bf16 and q8, on a model whose fused groups tile (inner 128, d_ff 256, a vocabulary of
 * 300 rows: a last group of 44) and one whose q, k, v do not (inner 96):
 *  - each typed entry written from floats reads back as exactly the packer's values (fv_wpack then
 *    fv_wunpack), whatever the device holds;
 *  - the device holds, at the entry's place, the packer's words tiled as fv_wtile puts them (or the
 *    row-major words where the entry is not tiled);
 *  - every block linear, the embedding lookup and the LM head, as the model records them, equal the
 *    C products over the unpacked weights (rel err <= 1e-5: only the fp32 summation order differs). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "io/t5_config.h"
#include "io/wtile.h"
#include "model/t5.h"
#include "model/t5_layers.h"
#include "ops/wlinear.h"

static int failed, passed;

static void report(int ok, const char *msg) {
    printf("%s %s\n", msg, ok ? "OK" : "FAIL");
    ok ? passed++ : failed++;
}

/* Every typed entry: values written and read back, and the device's words where they lie. */
static void check_entries(fv_dev *d, fv_t5 *m, fv_rng *rng, const char *what) {
    for (size_t i = 0; i < m->nparams; i++) {
        const fv_t5_param *p = &m->params[i];
        if (p->type == FV_WT_F32) continue;
        size_t n = (size_t)p->rows * p->cols;
        uint64_t dw = fv_wpack_data_words(p->type, p->rows, p->cols), sw = fv_wpack_scale_words(p->type, p->rows, p->cols);
        float *v = malloc(n * 4), *want = malloc(n * 4), *got = malloc(n * 4);
        uint32_t *words = malloc(dw * 4), *sc = calloc(sw + 1, 4), *tiled = malloc(dw * 4), *dev = malloc(dw * 4);
        if (!v || !want || !got || !words || !sc || !tiled || !dev) {
            printf("out of host memory FAIL\n");
            exit(1);
        }
        for (size_t j = 0; j < n; j++) v[j] = fv_rng_uniform(rng) * 2.0f - 1.0f;
        int rc = fv_wpack(p->type, v, p->rows, p->cols, words, sw ? sc : NULL, p->name);
        if (!rc) fv_wunpack(p->type, words, sc, p->rows, p->cols, want);
        rc = rc || fv_t5_param_write(d, p, v) || fv_t5_param_read(d, p, got);
        char msg[256];
        snprintf(msg, sizeof msg, "%s %s: written and read back as the packer's values (tile %u)", what, p->name, p->tile);
        report(!rc && !memcmp(got, want, n * 4), msg);
        if (!p->split) { /* the words where the kernels find them */
            if (p->tile) fv_wtile(words, tiled, p->rows, fv_wpack_row_words(p->type, p->cols), p->tile);
            else memcpy(tiled, words, dw * 4);
            rc = fv_buf_read(d, p->buf, (uint64_t)p->off * 4, dev, dw * 4);
            snprintf(msg, sizeof msg, "%s %s: the device holds the %s words", what, p->name, p->tile ? "tiled" : "row-major");
            report(!rc && !memcmp(dev, tiled, dw * 4), msg);
        }
        free(v), free(want), free(got), free(words), free(sc), free(tiled), free(dev);
    }
}

/* y = x W^T over entry `name`'s unpacked values, in double */
static int ref_linear(fv_dev *d, fv_t5 *m, const char *name, const float *x, uint32_t M, double *y, uint32_t ldy,
                      uint32_t col0) {
    const fv_t5_param *p = fv_t5_find(m, name);
    if (!p) return 1;
    float *w = malloc((size_t)p->rows * p->cols * 4);
    if (!w || fv_t5_param_read(d, p, w)) {
        free(w);
        return 1;
    }
    for (uint32_t r = 0; r < M; r++)
        for (uint32_t n = 0; n < p->rows; n++) {
            double s = 0;
            for (uint32_t k = 0; k < p->cols; k++) s += (double)x[(size_t)r * p->cols + k] * w[(size_t)n * p->cols + k];
            y[(size_t)r * ldy + col0 + n] = s;
        }
    free(w);
    return 0;
}

static double rel_err(const float *got, const double *want, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs(got[i] - want[i]);
        num = e > num ? e : num;
        den = fabs(want[i]) > den ? fabs(want[i]) : den;
    }
    return isfinite(num) ? num / (den > 0 ? den : 1) : INFINITY;
}

/* Decoder block 0's linears (M = 1: the few-rows kernel, M = 40: the many-rows path), as named. */
static void check_products(fv_dev *d, fv_t5 *m, fv_rng *rng, const char *what) {
    static const struct {
        enum fv_t5_lin which;
        const char *parts[3];
    } lins[] = {{FV_T5_QKV, {"q", "k", "v"}}, {FV_T5_O, {"o"}}, {FV_T5_CQ, {"q"}}, {FV_T5_CKV, {"k", "v"}},
                {FV_T5_CO, {"o"}}, {FV_T5_WI, {"wi_0", "wi_1"}}, {FV_T5_WO, {"wo"}}};
    for (size_t l = 0; l < sizeof lins / sizeof lins[0]; l++)
        for (uint32_t M = 1; M <= 40; M += 39) {
            fv_weight w = fv_t5_block_weight(m, &m->dec[0], lins[l].which);
            float *x = malloc((size_t)M * w.cols * 4), *y = malloc((size_t)M * w.rows * 4);
            double *ref = malloc((size_t)M * w.rows * 8);
            for (size_t j = 0; j < (size_t)M * w.cols; j++) x[j] = fv_rng_uniform(rng) * 2.0f - 1.0f;
            fv_buf *bx = NULL, *by = NULL;
            fv_graph *g = NULL;
            int rc = fv_buf_alloc(d, (uint64_t)M * w.cols * 4, FV_MEM_DEVICE, "x", &bx) ||
                     fv_buf_alloc(d, (uint64_t)M * w.rows * 4, FV_MEM_DEVICE, "y", &by) ||
                     fv_buf_write(d, bx, 0, x, (uint64_t)M * w.cols * 4) || fv_graph_create(d, &g) ||
                     fv_graph_begin(g) ||
                     fv_t5_linear(g, m, &m->dec[0], lins[l].which, fv_tensor(bx, 0), fv_tensor(by, 0), M, 0.0f) ||
                     fv_graph_end(g) || fv_graph_run(g) || fv_buf_read(d, by, 0, y, (uint64_t)M * w.rows * 4);
            uint32_t col0 = 0;
            enum fv_t5_lin wh = lins[l].which;
            int layer = wh == FV_T5_QKV || wh == FV_T5_O ? 0 : wh == FV_T5_WI || wh == FV_T5_WO ? 2 : 1;
            const char *att = lins[l].which == FV_T5_QKV || lins[l].which == FV_T5_O ? "SelfAttention" : "EncDecAttention";
            for (int k = 0; !rc && k < 3 && lins[l].parts[k]; k++) {
                char name[128];
                if (layer == 2) snprintf(name, sizeof name, "decoder.block.0.layer.2.DenseReluDense.%s.weight", lins[l].parts[k]);
                else snprintf(name, sizeof name, "decoder.block.0.layer.%d.%s.%s.weight", layer, att, lins[l].parts[k]);
                rc = ref_linear(d, m, name, x, M, ref, w.rows, col0);
                col0 += fv_t5_find(m, name) ? fv_t5_find(m, name)->rows : 0;
            }
            double e = rc ? INFINITY : rel_err(y, ref, (size_t)M * w.rows);
            char msg[160];
            snprintf(msg, sizeof msg, "%s decoder linear %d, %u rows, tile %u: rel err %.2e (tol 1e-05)", what,
                     (int)lins[l].which, M, w.tile, e);
            report(e <= 1e-5, msg);
            fv_graph_destroy(g);
            fv_buf_free(d, bx), fv_buf_free(d, by);
            free(x), free(y), free(ref);
        }
}

/* The embedding lookup and the LM head over the (tiled) vocabulary tables. */
static void check_vocab(fv_dev *d, fv_t5 *m, fv_rng *rng, const char *what) {
    uint32_t D = (uint32_t)m->cfg.d_model, V = (uint32_t)m->cfg.vocab_size, ids[5] = {0, 7, 129, 255, 299};
    float *table = malloc((size_t)V * D * 4), *head = malloc((size_t)V * D * 4), *x = malloc(5ull * D * 4);
    float *emb = malloc(5ull * D * 4), *logits = malloc(5ull * V * 4);
    double *ref = malloc(5ull * V * 8), *eref = malloc(5ull * D * 8);
    int rc = fv_t5_param_read(d, fv_t5_find(m, "shared.weight"), table) ||
             fv_t5_param_read(d, fv_t5_find(m, "lm_head.weight"), head);
    for (size_t j = 0; j < 5ull * D; j++) x[j] = fv_rng_uniform(rng) * 2.0f - 1.0f;
    fv_buf *bi = NULL, *bx = NULL, *be = NULL, *bl = NULL;
    fv_graph *g = NULL;
    rc = rc || fv_buf_alloc(d, 5 * 4, FV_MEM_DEVICE, "ids", &bi) || fv_buf_alloc(d, 5ull * D * 4, FV_MEM_DEVICE, "x", &bx) ||
         fv_buf_alloc(d, 5ull * D * 4, FV_MEM_DEVICE, "emb", &be) || fv_buf_alloc(d, 5ull * V * 4, FV_MEM_DEVICE, "l", &bl) ||
         fv_buf_write(d, bi, 0, ids, 5 * 4) || fv_buf_write(d, bx, 0, x, 5ull * D * 4) || fv_graph_create(d, &g) ||
         fv_graph_begin(g) || fv_t5_embed(g, m, fv_tensor(bi, 0), fv_tensor(be, 0), 5) ||
         fv_t5_logits(g, m, fv_tensor(bx, 0), fv_tensor(bl, 0), 5) || fv_graph_end(g) || fv_graph_run(g) ||
         fv_buf_read(d, be, 0, emb, 5ull * D * 4) || fv_buf_read(d, bl, 0, logits, 5ull * V * 4);
    for (int t = 0; !rc && t < 5; t++) {
        for (uint32_t k = 0; k < D; k++) eref[(size_t)t * D + k] = table[(size_t)ids[t] * D + k];
        for (uint32_t n = 0; n < V; n++) {
            double s = 0;
            for (uint32_t k = 0; k < D; k++) s += (double)x[(size_t)t * D + k] * head[(size_t)n * D + k];
            ref[(size_t)t * V + n] = s;
        }
    }
    double ee = rc ? INFINITY : rel_err(emb, eref, 5ull * D), le = rc ? INFINITY : rel_err(logits, ref, 5ull * V);
    char msg[160];
    snprintf(msg, sizeof msg, "%s embedding of 300 rows, tile %u: rel err %.2e (exact)", what, m->vtile, ee);
    report(ee == 0, msg);
    snprintf(msg, sizeof msg, "%s LM head: rel err %.2e (tol 1e-05)", what, le);
    report(le <= 1e-5, msg);
    fv_graph_destroy(g);
    fv_buf_free(d, bi), fv_buf_free(d, bx), fv_buf_free(d, be), fv_buf_free(d, bl);
    free(table), free(head), free(x), free(emb), free(logits), free(ref), free(eref);
}

int main(void) {
    fv_dev *d;
    if (fv_dev_open(-1, &d)) {
        printf("cannot open a device: %s\n", fv_last_error());
        return 1;
    }
    fv_rng rng;
    fv_rng_seed(&rng, 99);
    static const enum fv_wtype types[3] = {FV_WT_F16, FV_WT_BF16, FV_WT_Q8};
    for (int inner96 = 0; inner96 < 2; inner96++)
        for (int t = 0; t < 3; t++) {
            fv_t5_config c;
            fv_t5_config_preset(&c, "tiny");
            c.d_model = 128, c.d_kv = inner96 ? 48 : 64, c.num_heads = 2, c.d_ff = 256, c.vocab_size = 300;
            c.num_layers = c.num_decoder_layers = 1;
            fv_t5 *m;
            char what[64];
            snprintf(what, sizeof what, "%s inner %u", fv_wtype_name(types[t]), (unsigned)(c.d_kv * c.num_heads));
            if (fv_t5_create_typed(d, &c, types[t], &m)) {
                printf("%s: %s FAIL\n", what, fv_last_error());
                failed++;
                continue;
            }
            /* CPU devices tile (texel views) unless FLANVK_WTILE=0; the fused q|k|v of inner 96 cannot */
            const char *off = getenv("FLANVK_WTILE");
            uint32_t want = d->use_texel && !(off && !strcmp(off, "0")) ? FV_WTILE_ROWS : 0;
            int ok = m->wtile == want && fv_t5_lin_tile(m, FV_T5_QKV) == (inner96 ? 0 : want) &&
                     fv_t5_lin_tile(m, FV_T5_WI) == want && fv_t5_lin_tile(m, FV_T5_O) == want && m->vtile == want;
            char msg[160];
            snprintf(msg, sizeof msg, "%s: tiles where the device and the shapes allow (wtile %u, q|k|v %u, vocabulary %u)",
                     what, m->wtile, fv_t5_lin_tile(m, FV_T5_QKV), m->vtile);
            report(ok, msg);
            check_entries(d, m, &rng, what);
            check_products(d, m, &rng, what);
            check_vocab(d, m, &rng, what);
            fv_t5_free(m);
        }
    fv_dev_close(d);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
