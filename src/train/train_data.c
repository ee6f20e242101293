/* Training rows from a pack file or JSONL; see train_data.h. */
#include "train/train_data.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/file.h"

typedef struct {
    uint32_t *in, *tg;
    uint32_t nin, ntg;
} example;

static int json_ids(const cJSON *a, uint32_t **ids, uint32_t *n) {
    if (!cJSON_IsArray(a)) return -1;
    int k = cJSON_GetArraySize(a);
    *ids = malloc((size_t)(k ? k : 1) * sizeof **ids);
    if (!*ids) return -1;
    const cJSON *e;
    uint32_t i = 0;
    cJSON_ArrayForEach(e, a) {
        if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble != floor(e->valuedouble) || e->valuedouble > 4e9) {
            free(*ids);
            *ids = NULL;
            return -1;
        }
        (*ids)[i++] = (uint32_t)e->valuedouble;
    }
    *n = i;
    return 0;
}

static int side(const cJSON *o, const char *text_key, const char *ids_key, const fv_tokenizer *tok, uint32_t vocab,
                const char *path, size_t line, uint32_t **ids, uint32_t *n) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, ids_key), *t = cJSON_GetObjectItemCaseSensitive(o, text_key);
    if (a) {
        if (json_ids(a, ids, n)) return fv_err("%s:%zu: \"%s\" must be an array of token ids", path, line, ids_key);
    } else if (cJSON_IsString(t)) {
        if (!tok) return fv_err("%s:%zu: text \"%s\" needs a tokenizer (give --tokenizer or \"%s\")", path, line, text_key, ids_key);
        size_t k;
        if (fv_tokenizer_encode(tok, t->valuestring, strlen(t->valuestring), 1, ids, &k))
            return fv_err_wrap("%s:%zu", path, line);
        *n = (uint32_t)k;
    } else {
        return fv_err("%s:%zu: expected \"%s\" (text) or \"%s\" (ids)", path, line, text_key, ids_key);
    }
    if (!*n) return fv_err("%s:%zu: \"%s\" is empty", path, line, a ? ids_key : text_key);
    for (uint32_t i = 0; vocab && i < *n; i++)
        if ((*ids)[i] >= vocab) return fv_err("%s:%zu: token id %u is outside the vocabulary (%u)", path, line, (*ids)[i], vocab);
    return 0;
}

static int read_jsonl(fv_train_data *d, const char *path, uint32_t vocab, const fv_tokenizer *tok, example **out, size_t *n) {
    char *text;
    size_t size;
    FV_TRY(fv_read_file(path, &text, &size));
    size_t cap = 0, count = 0, line = 0;
    example *ex = NULL;
    int rc = 0;
    for (char *p = text, *next; !rc && p < text + size; p = next) {
        line++;
        char *nl = memchr(p, '\n', (size_t)(text + size - p));
        next = nl ? nl + 1 : text + size;
        size_t len = (size_t)((nl ? nl : text + size) - p);
        while (len && (p[len - 1] == '\r' || p[len - 1] == ' ' || p[len - 1] == '\t')) len--;
        if (!len) continue;
        cJSON *o = cJSON_ParseWithLength(p, len);
        if (!cJSON_IsObject(o)) {
            cJSON_Delete(o);
            rc = fv_err("%s:%zu: not a JSON object", path, line);
            break;
        }
        if (count == cap) {
            cap = cap ? 2 * cap : 256;
            example *ne = realloc(ex, cap * sizeof *ne);
            if (!ne) rc = fv_err("out of host memory");
            else ex = ne;
        }
        if (!rc) {
            memset(&ex[count], 0, sizeof ex[count]);
            rc = side(o, "inputs", "input_ids", tok, vocab, path, line, &ex[count].in, &ex[count].nin);
            if (!rc) rc = side(o, "targets", "target_ids", tok, vocab, path, line, &ex[count].tg, &ex[count].ntg);
            count++;
        }
        cJSON_Delete(o);
    }
    free(text);
    *out = ex;
    *n = count;
    if (!rc && !count) rc = fv_err("%s: no examples", path);
    (void)d;
    return rc;
}

static int keep_row(fv_train_data *d, const fv_packer *p, uint64_t *cap) {
    uint32_t nseg;
    fv_pack_row r = fv_packer_done(p, &nseg, NULL);
    if (d->rows == *cap) {
        *cap = *cap ? 2 * *cap : 64;
        uint32_t *a = realloc(d->in, *cap * d->L * 4), *b = realloc(d->tg, *cap * d->L2 * 4);
        if (a) d->in = a;
        if (b) d->tg = b;
        int32_t *c = realloc(d->iseg, *cap * d->L * 4), *e = realloc(d->tseg, *cap * d->L2 * 4);
        if (c) d->iseg = c;
        if (e) d->tseg = e;
        if (!a || !b || !c || !e) return fv_err("out of host memory");
    }
    memcpy(d->in + d->rows * d->L, r.enc_ids, d->L * 4);
    memcpy(d->iseg + d->rows * d->L, r.enc_seg, d->L * 4);
    memcpy(d->tg + d->rows * d->L2, r.dec_tg, d->L2 * 4);
    memcpy(d->tseg + d->rows * d->L2, r.dec_seg, d->L2 * 4);
    d->rows++;
    return 0;
}

int fv_train_data_open(fv_train_data *d, const char *path, uint32_t L, uint32_t L2, uint32_t vocab, const fv_tokenizer *tok) {
    memset(d, 0, sizeof *d);
    snprintf(d->path, sizeof d->path, "%s", path);
    size_t n = strlen(path);
    if (n < 6 || strcmp(path + n - 6, ".jsonl")) {
        FV_TRY(fv_pack_open(&d->pack, path));
        d->is_pack = 1;
        if ((L && L != d->pack.L) || (L2 && L2 != d->pack.L2)) {
            int rc = fv_err("%s: packed with lengths %u/%u, but --seq-len-in/--seq-len-out ask for %u/%u", path, d->pack.L,
                            d->pack.L2, L, L2);
            fv_pack_close(&d->pack);
            return rc;
        }
        if (vocab && d->pack.vocab > vocab) {
            int rc = fv_err("%s: made for a vocabulary of %u, the model has %u", path, d->pack.vocab, vocab);
            fv_pack_close(&d->pack);
            return rc;
        }
        d->L = d->pack.L;
        d->L2 = d->pack.L2;
        d->rows = d->pack.n_rows;
        d->examples = d->pack.n_examples;
        d->truncated = d->pack.n_truncated;
        if (!d->rows) {
            fv_pack_close(&d->pack);
            return fv_err("%s: no rows", path);
        }
        return 0;
    }
    example *ex = NULL;
    size_t count = 0;
    int rc = read_jsonl(d, path, vocab, tok, &ex, &count);
    uint32_t max_in = 1, max_tg = 1;
    for (size_t i = 0; !rc && i < count; i++) {
        max_in = ex[i].nin > max_in ? ex[i].nin : max_in;
        max_tg = ex[i].ntg > max_tg ? ex[i].ntg : max_tg;
    }
    d->L = L ? L : (max_in < 512 ? max_in : 512);
    d->L2 = L2 ? L2 : (max_tg < 128 ? max_tg : 128);
    fv_packer p;
    uint64_t cap = 0;
    int have_packer = 0;
    if (!rc) {
        rc = fv_packer_init(&p, d->L, d->L2, 1);
        have_packer = !rc;
    }
    for (size_t i = 0; !rc && i < count; i++) {
        int r = fv_packer_push(&p, ex[i].in, ex[i].nin, ex[i].tg, ex[i].ntg, 0, NULL);
        if (r < 0) rc = -1;
        else if (r == 1) rc = keep_row(d, &p, &cap);
    }
    if (!rc) {
        int r = fv_packer_flush(&p);
        if (r < 0) rc = -1;
        else if (r == 1) rc = keep_row(d, &p, &cap);
        d->examples = p.n_examples;
        d->truncated = p.n_truncated;
    }
    if (have_packer) fv_packer_free(&p);
    for (size_t i = 0; i < count; i++) {
        free(ex[i].in);
        free(ex[i].tg);
    }
    free(ex);
    if (rc) fv_train_data_close(d);
    return rc;
}

void fv_train_data_close(fv_train_data *d) {
    if (d->is_pack) fv_pack_close(&d->pack);
    free(d->in);
    free(d->tg);
    free(d->iseg);
    free(d->tseg);
    memset(d, 0, sizeof *d);
}

fv_pack_row fv_train_data_row(const fv_train_data *d, uint64_t i) {
    if (d->is_pack) return fv_pack_get_row(&d->pack, i);
    return (fv_pack_row){d->in + i * d->L, d->iseg + i * d->L, d->tg + i * d->L2, d->tseg + i * d->L2};
}
