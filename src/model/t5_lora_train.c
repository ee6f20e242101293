/* Trainable LoRA adapters in the training step; see t5_lora_train.h. */
#include "model/t5_lora_train.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/t5_lora.h"
#include "ops/dropout.h"
#include "ops/gemm.h"

#define MAX_SLOTS 3 /* modules sharing one fused group: q, k, v */
/* Dropout salts of the adapter branches, one per module, far from the step's own sites
 * (model/t5_train_impl.h FV_T5_SALT: below 0x20000). */
#define LORA_SALT(idx) (0x4000000u + (uint32_t)(idx))

typedef struct {
    fv_buf *A, *B, *gA, *gB; /* [r, in], [out, r] and their gradients */
    fv_buf *t;               /* [rows, r]: u A^T of the forward, read by dB */
    uint32_t in, out, col0, idx, rows;
} lt_mod;

struct fv_t5_lora_train {
    fv_t5 *m;
    fv_peft_adapter host; /* config and names; A, B as staging for saves */
    uint32_t r;
    float scale, dropout;
    uint32_t nblocks;
    lt_mod (*mods)[FV_T5_NLIN][MAX_SLOTS]; /* per block (encoder first); A == NULL: none */
    lt_mod **list;                          /* the modules in the adapter's (state_dict) order */
    fv_t5_param *params, *grads;            /* A, B of each module in that order */
    size_t n;
    fv_buf *dt, *u; /* backward scratch [rows, r]; dropout scratch [rows, max in] (dropout > 0) */
};

static fv_t T(fv_buf *b) { return fv_tensor(b, 0); }

static int zeroed(fv_dev *d, uint64_t n, const char *what, fv_buf **out) {
    FV_TRY(fv_buf_alloc(d, (n ? n : 1) * 4, FV_MEM_DEVICE, what, out));
    return fv_buf_fill_u32(d, *out, 0);
}

static int upload(fv_dev *d, const float *src, uint64_t n, const char *what, fv_buf **out) {
    FV_TRY(fv_buf_alloc(d, n * 4, FV_MEM_DEVICE, what, out));
    return fv_buf_write(d, *out, 0, src, n * 4);
}

static void fill_param(fv_t5_param *p, const char *key, uint32_t rows, uint32_t cols, fv_buf *b) {
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%.*s", (int)sizeof p->name - 1, key); /* fits: checked by the caller */
    p->rows = rows;
    p->cols = cols;
    p->buf = b;
    p->type = FV_WT_F32;
    p->matrix = 1;
}

void fv_t5_lora_train_free(fv_t5_lora_train *lt) {
    if (!lt) return;
    fv_dev *d = lt->m->d;
    for (size_t i = 0; lt->list && i < lt->host.n_mods; i++) {
        lt_mod *t = lt->list[i];
        if (!t) continue;
        fv_buf_free(d, t->A);
        fv_buf_free(d, t->B);
        fv_buf_free(d, t->gA);
        fv_buf_free(d, t->gB);
        fv_buf_free(d, t->t);
    }
    fv_buf_free(d, lt->dt);
    fv_buf_free(d, lt->u);
    fv_peft_free(&lt->host);
    free(lt->mods);
    free(lt->list);
    free(lt->params);
    free(lt->grads);
    free(lt);
}

int fv_t5_lora_train_create(fv_t5 *m, const fv_peft_adapter *a, fv_t5_lora_train **out) {
    *out = NULL;
    fv_t5_lora_train *lt = calloc(1, sizeof *lt);
    if (!lt) return fv_err("out of host memory");
    lt->m = m;
    lt->r = (uint32_t)a->cfg.r;
    lt->scale = (float)fv_peft_scaling(&a->cfg);
    lt->dropout = (float)a->cfg.lora_dropout;
    lt->nblocks = (uint32_t)(m->cfg.num_layers + m->cfg.num_decoder_layers);
    lt->host.cfg = a->cfg;
    lt->host.mods = calloc(a->n_mods ? a->n_mods : 1, sizeof *lt->host.mods);
    lt->mods = calloc(lt->nblocks, sizeof *lt->mods);
    lt->list = calloc(a->n_mods ? a->n_mods : 1, sizeof *lt->list);
    lt->params = calloc(2 * a->n_mods + 1, sizeof *lt->params);
    lt->grads = calloc(2 * a->n_mods + 1, sizeof *lt->grads);
    int rc = (!lt->host.mods || !lt->mods || !lt->list || !lt->params || !lt->grads) ? fv_err("out of host memory") : 0;
    if (!rc && !(lt->dropout >= 0 && lt->dropout < 1))
        rc = fv_err("LoRA dropout %g is outside [0, 1)", (double)lt->dropout);
    if (!rc && !a->n_mods) rc = fv_err("LoRA adapter: its targets name no linear layer of the model");
    for (size_t i = 0; !rc && i < a->n_mods; i++) {
        const fv_peft_module *p = &a->mods[i];
        fv_peft_module *h = &lt->host.mods[lt->host.n_mods++];
        *h = (fv_peft_module){.in = p->in, .out = p->out};
        snprintf(h->name, sizeof h->name, "%s", p->name);
        h->A = malloc((size_t)lt->r * p->in * sizeof *h->A);
        h->B = malloc((size_t)lt->r * p->out * sizeof *h->B);
        if (!h->A || !h->B) {
            rc = fv_err("out of host memory");
            break;
        }
        uint32_t blk, col0;
        enum fv_t5_lin which;
        int slot;
        if (fv_t5_lora_locate(m, p->name, &blk, &which, &slot, &col0)) {
            rc = fv_err("LoRA: module '%s' is not a linear layer of the model", p->name);
            break;
        }
        lt_mod *t = &lt->mods[blk][which][slot];
        lt->list[i] = t;
        t->in = p->in, t->out = p->out, t->col0 = col0, t->idx = (uint32_t)i;
        char key[160];
        if (strlen(p->name) + 32 > sizeof lt->params[0].name) {
            rc = fv_err("LoRA: module name '%s' is too long", p->name);
            break;
        }
        snprintf(key, sizeof key, "base_model.model.%s.lora_A.weight", p->name);
        rc = upload(m->d, p->A, (uint64_t)lt->r * p->in, key, &t->A);
        if (!rc) rc = zeroed(m->d, (uint64_t)lt->r * p->in, "grad lora A", &t->gA);
        fill_param(&lt->params[2 * i], key, lt->r, p->in, t->A);
        fill_param(&lt->grads[2 * i], key, lt->r, p->in, t->gA);
        snprintf(key, sizeof key, "base_model.model.%s.lora_B.weight", p->name);
        if (!rc) rc = upload(m->d, p->B, (uint64_t)p->out * lt->r, key, &t->B);
        if (!rc) rc = zeroed(m->d, (uint64_t)p->out * lt->r, "grad lora B", &t->gB);
        fill_param(&lt->params[2 * i + 1], key, p->out, lt->r, t->B);
        fill_param(&lt->grads[2 * i + 1], key, p->out, lt->r, t->gB);
    }
    lt->n = 2 * lt->host.n_mods;
    if (rc) {
        fv_t5_lora_train_free(lt);
        return rc;
    }
    *out = lt;
    return 0;
}

int fv_t5_lora_train_bind(fv_t5_lora_train *lt, uint32_t B, uint32_t Te, uint32_t Td) {
    fv_dev *d = lt->m->d;
    const fv_t5_config *c = &lt->m->cfg;
    uint64_t ne = (uint64_t)B * Te, nd = (uint64_t)B * Td, nmax = ne > nd ? ne : nd;
    uint32_t max_in = 0;
    for (uint32_t b = 0; b < lt->nblocks; b++)
        for (int w = 0; w < FV_T5_NLIN; w++)
            for (int s = 0; s < MAX_SLOTS; s++) {
                lt_mod *t = &lt->mods[b][w][s];
                if (!t->A) continue;
                int enc_rows = b < (uint32_t)c->num_layers || w == FV_T5_CKV; /* cross k|v read the encoder output */
                t->rows = (uint32_t)(enc_rows ? ne : nd);
                fv_buf_free(d, t->t);
                t->t = NULL;
                FV_TRY(fv_buf_alloc(d, (uint64_t)t->rows * lt->r * 4, FV_MEM_DEVICE, "lora x A^T", &t->t));
                if (t->in > max_in) max_in = t->in;
            }
    fv_buf_free(d, lt->dt);
    fv_buf_free(d, lt->u);
    lt->dt = lt->u = NULL;
    FV_TRY(fv_buf_alloc(d, nmax * lt->r * 4, FV_MEM_DEVICE, "lora grad x A^T", &lt->dt));
    if (lt->dropout > 0) FV_TRY(fv_buf_alloc(d, nmax * max_in * 4, FV_MEM_DEVICE, "lora dropped input", &lt->u));
    return 0;
}

void fv_t5_lora_train_tensors(const fv_t5_lora_train *lt, const fv_t5_param **params, const fv_t5_param **grads,
                              size_t *n) {
    *params = lt->params;
    *grads = lt->grads;
    *n = lt->n;
}

int fv_t5_lora_train_zero_grads(fv_graph *g, const fv_t5_lora_train *lt) {
    for (size_t i = 0; i < lt->n; i++) FV_TRY(fv_graph_fill(g, lt->grads[i].buf, 0));
    return 0;
}

int fv_t5_lora_train_norm_plan(const fv_t5_lora_train *lt, fv_gradnorm_plan **out) {
    fv_t *ts = calloc(lt->n, sizeof *ts);
    uint32_t *lens = calloc(lt->n, sizeof *lens);
    int rc = (!ts || !lens) ? fv_err("out of host memory") : 0;
    for (size_t i = 0; !rc && i < lt->n; i++) {
        ts[i] = T(lt->grads[i].buf);
        lens[i] = lt->grads[i].rows * lt->grads[i].cols;
    }
    if (!rc) rc = fv_gradnorm_plan_create(lt->m->d, ts, lens, (uint32_t)lt->n, out);
    free(ts);
    free(lens);
    return rc;
}

static uint32_t block_index(const fv_t5_lora_train *lt, int decoder, int l) {
    return decoder ? (uint32_t)lt->m->cfg.num_layers + (uint32_t)l : (uint32_t)l;
}

int fv_t5_lora_train_any(const fv_t5_lora_train *lt, int decoder, int l, enum fv_t5_lin which) {
    if (!lt) return 0;
    uint32_t b = block_index(lt, decoder, l);
    for (int s = 0; s < MAX_SLOTS; s++)
        if (lt->mods[b][which][s].A) return 1;
    return 0;
}

/* u = dropout(x) into the scratch with the module's mask, or x itself without dropout. */
static int dropped_input(fv_graph *g, const fv_t5_lora_train *lt, const lt_mod *t, fv_t seed, fv_t x, uint32_t rows,
                         fv_t *u) {
    if (lt->dropout == 0.0f) {
        *u = x;
        return 0;
    }
    *u = T(lt->u);
    return fv_dropout(g, x, seed, *u, rows * t->in, LORA_SALT(t->idx), lt->dropout);
}

int fv_t5_lora_train_fwd(fv_graph *g, const fv_t5_lora_train *lt, fv_t seed, int decoder, int l, enum fv_t5_lin which,
                         fv_t x, fv_t y, uint32_t rows, uint32_t ldy) {
    if (!lt) return 0;
    uint32_t b = block_index(lt, decoder, l);
    for (int s = 0; s < MAX_SLOTS; s++) {
        const lt_mod *t = &lt->mods[b][which][s];
        if (!t->A) continue;
        if (rows > t->rows) return fv_err("LoRA: %u rows exceed the bound step's %u", rows, t->rows);
        fv_t u;
        FV_TRY(dropped_input(g, lt, t, seed, x, rows, &u));
        fv_gemm_desc down = {.M = rows, .N = lt->r, .K = t->in, .trans_b = 1, .alpha = 1.0f, .beta = 0.0f};
        fv_gemm_desc up = {.M = rows, .N = t->out, .K = lt->r, .trans_b = 1, .ldc = ldy, .alpha = lt->scale, .beta = 1.0f};
        if (fv_gemm(g, &down, u, T(t->A), T(t->t)) ||
            fv_gemm(g, &up, T(t->t), T(t->B), fv_tensor(y.buf, y.off + t->col0)))
            return fv_err_wrap("LoRA forward, %s block %d", decoder ? "decoder" : "encoder", l);
    }
    return 0;
}

int fv_t5_lora_train_back(fv_graph *g, const fv_t5_lora_train *lt, fv_t seed, int decoder, int l, enum fv_t5_lin which,
                          fv_t x, fv_t dy, uint32_t ldy, fv_t dx, uint32_t rows) {
    if (!lt) return 0;
    uint32_t b = block_index(lt, decoder, l);
    for (int s = 0; s < MAX_SLOTS; s++) {
        const lt_mod *t = &lt->mods[b][which][s];
        if (!t->A) continue;
        fv_t dys = fv_tensor(dy.buf, dy.off + t->col0);
        /* dt = s dy B   [rows, r] */
        fv_gemm_desc gdt = {.M = rows, .N = lt->r, .K = t->out, .lda = ldy, .alpha = lt->scale, .beta = 0.0f};
        /* dB += s dy^T t   [out, r] */
        fv_gemm_desc gdb = {.M = t->out, .N = lt->r, .K = rows, .trans_a = 1, .lda = ldy, .alpha = lt->scale, .beta = 1.0f};
        /* dA += dt^T u   [r, in] */
        fv_gemm_desc gda = {.M = lt->r, .N = t->in, .K = rows, .trans_a = 1, .alpha = 1.0f, .beta = 1.0f};
        /* du = dt A   [rows, in], into dx (no dropout) or the scratch (then dx += dropout(du)) */
        fv_gemm_desc gdu = {.M = rows, .N = t->in, .K = lt->r, .alpha = 1.0f, .beta = lt->dropout > 0 ? 0.0f : 1.0f};
        fv_t u;
        int rc = fv_gemm(g, &gdt, dys, T(t->B), T(lt->dt)) || fv_gemm(g, &gdb, dys, T(t->t), T(t->gB)) ||
                 dropped_input(g, lt, t, seed, x, rows, &u) || fv_gemm(g, &gda, T(lt->dt), u, T(t->gA));
        if (!rc && lt->dropout > 0)
            rc = fv_gemm(g, &gdu, T(lt->dt), T(t->A), T(lt->u)) ||
                 fv_dropout_add(g, dx, T(lt->u), seed, rows * t->in, LORA_SALT(t->idx), lt->dropout);
        else if (!rc)
            rc = fv_gemm(g, &gdu, T(lt->dt), T(t->A), dx);
        if (rc) return fv_err_wrap("LoRA backward, %s block %d", decoder ? "decoder" : "encoder", l);
    }
    return 0;
}

int fv_t5_lora_train_save(const fv_t5_lora_train *lt, const char *dir) {
    fv_dev *d = lt->m->d;
    for (size_t i = 0; i < lt->host.n_mods; i++) {
        fv_peft_module *h = &lt->host.mods[i];
        const lt_mod *t = lt->list[i];
        FV_TRY(fv_buf_read(d, t->A, 0, h->A, (uint64_t)lt->r * h->in * 4));
        FV_TRY(fv_buf_read(d, t->B, 0, h->B, (uint64_t)lt->r * h->out * 4));
    }
    return fv_peft_save(&lt->host, dir);
}

const fv_peft_config *fv_t5_lora_train_config(const fv_t5_lora_train *lt) { return &lt->host.cfg; }

int fv_t5_lora_train_share(const fv_t5_lora_train *lt) {
    size_t n = lt->host.n_mods;
    const char **names = calloc(n, sizeof *names);
    fv_buf **A = calloc(n, sizeof *A), **B = calloc(n, sizeof *B);
    int rc = (!names || !A || !B) ? fv_err("out of host memory") : 0;
    for (size_t i = 0; !rc && i < n; i++) {
        names[i] = lt->host.mods[i].name;
        A[i] = lt->list[i]->A;
        B[i] = lt->list[i]->B;
    }
    if (!rc) rc = fv_t5_lora_attach_bufs(lt->m, lt->r, lt->scale, n, names, A, B);
    free(names);
    free(A);
    free(B);
    return rc;
}
