/* training_state.safetensors metadata and histories; see train_state.h. */
#include "train/train_state.h"

#include "base/error.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* A decimal integer in [0, max] (no sign, no spaces: what the writer prints). */
static int meta_uint(const fv_safetensors *sf, const char *key, uint64_t max, int required, uint64_t *out) {
    const char *v = fv_st_meta(sf, key);
    if (!v) return required ? fv_err("%s: metadata '%s' is missing", fv_st_path(sf), key) : 1;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (!*v || *end || *v < '0' || *v > '9' || errno || x > max)
        return fv_err("%s: metadata '%s' is not a number in [0, %" PRIu64 "]", fv_st_path(sf), key, max);
    *out = x;
    return 0;
}

static int hex_u64(const char *s, uint64_t *out) {
    uint64_t x = 0;
    for (int i = 0; i < 16; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return -1;
        x = x << 4 | (uint64_t)d;
    }
    *out = x;
    return 0;
}

/* A 1-D history tensor as fp32; absent or empty leaves *out NULL. */
static int history(const fv_safetensors *sf, const char *name, float **out, uint32_t *n) {
    const fv_st_tensor *t = fv_st_find(sf, name);
    if (!t || !t->numel) return 0;
    if (t->numel > UINT32_MAX) return fv_err("%s: tensor '%s' is too long for a history", fv_st_path(sf), name);
    *out = malloc(t->numel * sizeof **out);
    if (!*out) return fv_err("out of host memory");
    FV_TRY(fv_st_tensor_f32(sf, t, *out));
    *n = (uint32_t)t->numel;
    return 0;
}

void fv_train_history_free(fv_train_history *h) {
    free(h->loss);
    free(h->eval);
    memset(h, 0, sizeof *h);
}

int fv_train_state_read(const fv_safetensors *sf, const char *optimizer, fv_train_state *st, fv_train_history *hist) {
    const char *path = fv_st_path(sf);
    memset(st, 0, sizeof *st);
    memset(hist, 0, sizeof *hist);
    uint64_t step = 0, skipped = 0;
    int rc = meta_uint(sf, "flanvk_step", UINT32_MAX, 1, &step);
    if (!rc) rc = meta_uint(sf, "flanvk_data_pos", UINT64_MAX, 1, &st->data_pos);
    if (!rc) rc = meta_uint(sf, "flanvk_skipped", UINT32_MAX, 1, &skipped);
    const char *opt = fv_st_meta(sf, "flanvk_optimizer"), *rng = fv_st_meta(sf, "flanvk_rng");
    if (!rc && optimizer && (!opt || strcmp(opt, optimizer)))
        rc = fv_err("%s: saved with optimizer '%s', resuming with '%s'", path, opt ? opt : "?", optimizer);
    if (!rc && (!rng || strlen(rng) != 64)) rc = fv_err("%s: metadata 'flanvk_rng' is malformed", path);
    for (int i = 0; !rc && i < 4; i++)
        if (hex_u64(rng + 16 * i, &st->rng.s[i])) rc = fv_err("%s: metadata 'flanvk_rng' is not 64 hex digits", path);
    st->step = (uint32_t)step;
    st->skipped = (uint32_t)skipped;
    if (!rc) rc = history(sf, "loss_history", &hist->loss, &hist->nloss);
    uint32_t ne = 0;
    if (!rc) rc = history(sf, "eval_history", &hist->eval, &ne);
    if (!rc && ne % 2) rc = fv_err("%s: tensor 'eval_history' has %u values, not (step, loss) pairs", path, ne);
    hist->neval = ne / 2;
    /* eval bookkeeping: absent in checkpoints from before it (nothing evaluated yet) */
    const char *best = fv_st_meta(sf, "flanvk_best_eval_loss");
    uint64_t bs = 0, since = 0;
    int have = 0;
    if (!rc && best) {
        rc = meta_uint(sf, "flanvk_best_eval_step", UINT32_MAX, 0, &bs);
        int r2 = rc < 0 ? rc : meta_uint(sf, "flanvk_evals_since_best", UINT32_MAX, 0, &since);
        have = rc == 0 && r2 == 0;
        if (rc > 0 || r2 > 0) rc = 0; /* one of the three missing: no bookkeeping, as before it existed */
        if (r2 < 0) rc = r2;
    }
    if (!rc && have) {
        char *end;
        st->best_eval = strtod(best, &end);
        if (!*best || *end) rc = fv_err("%s: metadata 'flanvk_best_eval_loss' is not a number", path);
        st->best_step = (uint32_t)bs;
        st->since_best = (uint32_t)since;
    }
    if (rc) {
        fv_train_history_free(hist);
        memset(st, 0, sizeof *st);
    }
    return rc;
}
