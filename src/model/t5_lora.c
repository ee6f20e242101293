/* Unmerged LoRA for inference; see model/t5_lora.h. */
#include "model/t5_lora.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/peft.h"
#include "ops/gemm.h"

#define MAX_SLOTS 3 /* modules sharing one fused group: q, k, v */

typedef struct {
    fv_buf *A, *B;          /* [r, in], [out, r] */
    uint32_t in, out, col0; /* the group's output columns col0 .. col0 + out - 1 */
} lora_mod;

struct fv_t5_lora {
    uint32_t r;
    float scale;
    uint32_t nblocks;               /* encoder layers + decoder layers */
    lora_mod (*mods)[FV_T5_NLIN][MAX_SLOTS]; /* per block (encoder first); A == NULL: none */
    int borrowed;                   /* A and B belong to the caller (fv_t5_lora_attach_bufs) */
    fv_buf *tmp;                    /* t = x A^T, in row chunks */
    uint32_t tmp_rows;
};

int fv_t5_lora_locate(const fv_t5 *m, const char *name, uint32_t *blk, enum fv_t5_lin *which, int *slot, uint32_t *col0) {
    const fv_t5_config *c = &m->cfg;
    int dec = !strncmp(name, "decoder.", 8);
    if (!dec && strncmp(name, "encoder.", 8)) return -1;
    unsigned i, layer;
    char rest[64];
    if (sscanf(name + 8, "block.%u.layer.%u.%63s", &i, &layer, rest) != 3) return -1;
    if (i >= (unsigned)(dec ? c->num_decoder_layers : c->num_layers)) return -1;
    *blk = dec ? (uint32_t)c->num_layers + i : i;
    uint32_t in = m->inner, F = (uint32_t)c->d_ff;
    *slot = 0;
    *col0 = 0;
    if (!strncmp(rest, "SelfAttention.", 14)) {
        const char *t = rest + 14;
        if (!strcmp(t, "o")) *which = FV_T5_O;
        else if (!strcmp(t, "q") || !strcmp(t, "k") || !strcmp(t, "v")) {
            *which = FV_T5_QKV;
            *slot = t[0] == 'q' ? 0 : t[0] == 'k' ? 1 : 2;
            *col0 = (uint32_t)*slot * in;
        } else return -1;
    } else if (!strncmp(rest, "EncDecAttention.", 16)) {
        const char *t = rest + 16;
        if (!strcmp(t, "q")) *which = FV_T5_CQ;
        else if (!strcmp(t, "o")) *which = FV_T5_CO;
        else if (!strcmp(t, "k") || !strcmp(t, "v")) {
            *which = FV_T5_CKV;
            *slot = t[0] == 'k' ? 0 : 1;
            *col0 = (uint32_t)*slot * in;
        } else return -1;
    } else if (!strncmp(rest, "DenseReluDense.", 15)) {
        const char *t = rest + 15;
        if (!strcmp(t, "wo")) *which = FV_T5_WO;
        else if (!strcmp(t, "wi") || !strcmp(t, "wi_0")) *which = FV_T5_WI;
        else if (!strcmp(t, "wi_1")) {
            *which = FV_T5_WI;
            *slot = 1;
            *col0 = F;
        } else return -1;
    } else return -1;
    return 0;
}

static int upload(fv_dev *d, const float *src, uint64_t n, const char *what, fv_buf **out) {
    FV_TRY(fv_buf_alloc(d, n * 4, FV_MEM_DEVICE, what, out));
    return fv_buf_write(d, *out, 0, src, n * 4);
}

void fv_t5_lora_detach(fv_t5 *m) {
    fv_t5_lora *l = m->lora;
    if (!l) return;
    for (uint32_t b = 0; l->mods && b < l->nblocks; b++)
        for (int w = 0; w < FV_T5_NLIN; w++)
            for (int s = 0; s < MAX_SLOTS && !l->borrowed; s++) {
                fv_buf_free(m->d, l->mods[b][w][s].A);
                fv_buf_free(m->d, l->mods[b][w][s].B);
            }
    fv_buf_free(m->d, l->tmp);
    free(l->mods);
    free(l);
    m->lora = NULL;
}

int fv_t5_lora_attach(fv_t5 *m, const char *adapter_dir, const char *model_label) {
    fv_t5_lora_detach(m);
    fv_peft_adapter a;
    FV_TRY(fv_peft_load(&a, adapter_dir, &m->cfg, model_label));
    fv_t5_lora *l = calloc(1, sizeof *l);
    int rc = l ? 0 : fv_err("out of host memory");
    if (!rc) {
        l->r = (uint32_t)a.cfg.r;
        l->scale = (float)fv_peft_scaling(&a.cfg);
        l->nblocks = (uint32_t)(m->cfg.num_layers + m->cfg.num_decoder_layers);
        l->mods = calloc(l->nblocks, sizeof *l->mods);
        if (!l->mods) rc = fv_err("out of host memory");
        m->lora = l;
    }
    for (size_t i = 0; !rc && i < a.n_mods; i++) {
        const fv_peft_module *p = &a.mods[i];
        uint32_t blk, col0;
        enum fv_t5_lin which;
        int slot;
        if (fv_t5_lora_locate(m, p->name, &blk, &which, &slot, &col0)) {
            rc = fv_err("%s: module '%s' is not a linear layer of %s", adapter_dir, p->name, model_label);
            break;
        }
        lora_mod *t = &l->mods[blk][which][slot];
        char what[128];
        snprintf(what, sizeof what, "lora %s A", p->name);
        rc = upload(m->d, p->A, (uint64_t)l->r * p->in, what, &t->A);
        snprintf(what, sizeof what, "lora %s B", p->name);
        if (!rc) rc = upload(m->d, p->B, (uint64_t)p->out * l->r, what, &t->B);
        t->in = p->in, t->out = p->out, t->col0 = col0;
    }
    if (!rc) {
        l->tmp_rows = 65536 / l->r; /* 256 KiB of t per GEMM pair; longer inputs run in row chunks */
        rc = fv_buf_alloc(m->d, (uint64_t)l->tmp_rows * l->r * 4, FV_MEM_DEVICE, "lora x A^T", &l->tmp);
    }
    fv_peft_free(&a);
    if (rc) fv_t5_lora_detach(m);
    return rc;
}

int fv_t5_lora_attach_bufs(fv_t5 *m, uint32_t r, float scale, size_t n, const char *const *names, fv_buf *const *A,
                           fv_buf *const *B) {
    fv_t5_lora_detach(m);
    fv_t5_lora *l = calloc(1, sizeof *l);
    if (!l) return fv_err("out of host memory");
    l->r = r;
    l->scale = scale;
    l->borrowed = 1;
    l->nblocks = (uint32_t)(m->cfg.num_layers + m->cfg.num_decoder_layers);
    l->mods = calloc(l->nblocks, sizeof *l->mods);
    m->lora = l;
    int rc = l->mods ? 0 : fv_err("out of host memory");
    for (size_t i = 0; !rc && i < n; i++) {
        uint32_t blk, col0;
        enum fv_t5_lin which;
        int slot;
        if (fv_t5_lora_locate(m, names[i], &blk, &which, &slot, &col0)) {
            rc = fv_err("LoRA: module '%s' is not a linear layer of the model", names[i]);
            break;
        }
        const fv_t5_param *p = NULL;
        char wname[128];
        snprintf(wname, sizeof wname, "%s.weight", names[i]);
        p = fv_t5_find(m, wname);
        if (!p) {
            rc = fv_err("LoRA: the model has no tensor '%s'", wname);
            break;
        }
        l->mods[blk][which][slot] = (lora_mod){A[i], B[i], p->cols, p->rows, col0};
    }
    if (!rc) {
        l->tmp_rows = 65536 / l->r;
        rc = fv_buf_alloc(m->d, (uint64_t)l->tmp_rows * l->r * 4, FV_MEM_DEVICE, "lora x A^T", &l->tmp);
    }
    if (rc) fv_t5_lora_detach(m);
    return rc;
}

/* The adapter table's row for block b (encoder blocks first, then the decoder's). */
static uint32_t block_index(const fv_t5 *m, const fv_t5_block *b) {
    int dec = b >= m->dec && b < m->dec + m->cfg.num_decoder_layers;
    return dec ? (uint32_t)m->cfg.num_layers + (uint32_t)(b - m->dec) : (uint32_t)(b - m->enc);
}

int fv_t5_lora_targets(const fv_t5 *m, const fv_t5_block *b, enum fv_t5_lin which) {
    if (!m->lora) return 0;
    uint32_t blk = block_index(m, b);
    for (int s = 0; s < MAX_SLOTS; s++)
        if (m->lora->mods[blk][which][s].A) return 1;
    return 0;
}

int fv_t5_lora_apply(fv_graph *g, const fv_t5 *m, const fv_t5_block *b, enum fv_t5_lin which, fv_t x, fv_t y,
                     uint32_t rows, uint32_t ldy) {
    const fv_t5_lora *l = m->lora;
    if (!l) return 0;
    uint32_t blk = block_index(m, b);
    for (int s = 0; s < MAX_SLOTS; s++) {
        const lora_mod *t = &l->mods[blk][which][s];
        if (!t->A) continue;
        for (uint32_t r0 = 0; r0 < rows; r0 += l->tmp_rows) {
            uint32_t n = rows - r0 < l->tmp_rows ? rows - r0 : l->tmp_rows;
            fv_gemm_desc down = {.M = n, .N = l->r, .K = t->in, .trans_b = 1, .alpha = 1.0f, .beta = 0.0f};
            fv_gemm_desc up = {.M = n, .N = t->out, .K = l->r, .trans_b = 1, .ldc = ldy, .alpha = l->scale, .beta = 1.0f};
            if (fv_gemm(g, &down, fv_tensor(x.buf, x.off + r0 * t->in), fv_tensor(t->A, 0), fv_tensor(l->tmp, 0)) ||
                fv_gemm(g, &up, fv_tensor(l->tmp, 0), fv_tensor(t->B, 0),
                        fv_tensor(y.buf, y.off + r0 * ldy + t->col0)))
                return fv_err_wrap("LoRA on %s block %u", blk >= (uint32_t)m->cfg.num_layers ? "decoder" : "encoder", blk);
        }
    }
    return 0;
}
