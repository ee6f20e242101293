/* Packed-row file: header, memory-mapped reader, atomic writer, and row expansion into the arrays a
 * training step uploads. The format is described in pack.h; the greedy packer is in packer.c. */
#include "data/pack.h"

#include "base/error.h"

#include <stdlib.h>
#include <string.h>

static int host_le(void) {
    uint16_t x = 1;
    unsigned char c;
    memcpy(&c, &x, 1);
    return c == 1;
}

static void put32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get32(const unsigned char *p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = v << 8 | p[i];
    return v;
}
static uint64_t get64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static size_t row_bytes(uint32_t L, uint32_t L2) { return 8 * (size_t)L + 8 * (size_t)L2; }

/* ---- rows ------------------------------------------------------------------------------------ */

/* Segments of one side: 1, 2, ... each a contiguous non-empty run, then only padding (seg 0, id 0). */
static int check_side(const uint32_t *ids, const int32_t *seg, uint32_t n, uint32_t vocab, uint32_t *nseg,
                      const char *what, const char *side) {
    int32_t last = 0;
    int pad = 0;
    for (uint32_t t = 0; t < n; t++) {
        int32_t s = seg[t];
        if (s == 0) {
            pad = 1;
            if (ids[t] != 0) return fv_err("%s: %s token %u is padding with id %u (want 0)", what, side, t, ids[t]);
            continue;
        }
        if (pad) return fv_err("%s: %s token %u: segment %d after padding", what, side, t, s);
        if (s != last && s != last + 1) return fv_err("%s: %s token %u: segment %d follows %d", what, side, t, s, last);
        if (vocab && ids[t] >= vocab) return fv_err("%s: %s token %u: id %u >= vocab %u", what, side, t, ids[t], vocab);
        last = s;
    }
    *nseg = (uint32_t)last;
    return 0;
}

int fv_pack_expand_row(const fv_pack_row *r, uint32_t L, uint32_t L2, uint32_t vocab, const fv_pack_arrays *o,
                       uint32_t *n_seg, const char *what) {
    if (!what) what = "packed row";
    if (!r || !r->enc_ids || !r->enc_seg || !r->dec_tg || !r->dec_seg) return fv_err("%s: NULL row", what);
    uint32_t ns_in, ns_tg;
    FV_TRY(check_side(r->enc_ids, r->enc_seg, L, vocab, &ns_in, what, "encoder"));
    FV_TRY(check_side(r->dec_tg, r->dec_seg, L2, vocab, &ns_tg, what, "decoder"));
    if (ns_in != ns_tg) return fv_err("%s: %u encoder segments but %u decoder segments", what, ns_in, ns_tg);
    if (n_seg) *n_seg = ns_in;
    if (!o) return 0;
    int32_t pos = 0;
    for (uint32_t t = 0; t < L; t++) {
        int32_t s = r->enc_seg[t];
        pos = (t > 0 && s == r->enc_seg[t - 1]) ? pos + 1 : 0;
        if (s == 0) pos = 0;
        if (o->enc_ids) o->enc_ids[t] = (int32_t)r->enc_ids[t];
        if (o->enc_seg) o->enc_seg[t] = s;
        if (o->enc_pos) o->enc_pos[t] = pos;
    }
    pos = 0;
    for (uint32_t t = 0; t < L2; t++) {
        int32_t s = r->dec_seg[t];
        int first = t == 0 || s != r->dec_seg[t - 1];
        pos = first ? 0 : pos + 1;
        if (s == 0) pos = 0;
        if (o->dec_ids) o->dec_ids[t] = (s == 0 || first) ? (int32_t)FV_PACK_DECODER_START : (int32_t)r->dec_tg[t - 1];
        if (o->dec_seg) o->dec_seg[t] = s;
        if (o->dec_pos) o->dec_pos[t] = pos;
        if (o->labels) o->labels[t] = s == 0 ? FV_PACK_IGNORE : (int32_t)r->dec_tg[t];
    }
    return 0;
}

static int find_run(const int32_t *seg, uint32_t n, int32_t s, size_t *start, size_t *len) {
    size_t a = 0;
    while (a < n && seg[a] != s) a++;
    if (a == n) return -1;
    size_t b = a;
    while (b < n && seg[b] == s) b++;
    *start = a;
    *len = b - a;
    return 0;
}

int fv_pack_row_segment(const fv_pack_row *r, uint32_t L, uint32_t L2, int32_t seg, const uint32_t **in,
                        size_t *n_in, const uint32_t **tg, size_t *n_tg) {
    size_t a, b;
    if (seg <= 0 || find_run(r->enc_seg, L, seg, &a, n_in) || find_run(r->dec_seg, L2, seg, &b, n_tg)) return -1;
    *in = r->enc_ids + a;
    *tg = r->dec_tg + b;
    return 0;
}

/* ---- reader ---------------------------------------------------------------------------------- */

int fv_pack_open(fv_pack *p, const char *path) {
    memset(p, 0, sizeof *p);
    if (!host_le()) return fv_err("%s: packed files are little-endian; this host is big-endian", path);
    FV_TRY(fv_map_open(&p->map, path));
    const unsigned char *h = p->map.data;
    int rc = 0;
    if (p->map.size < FV_PACK_HEADER) {
        rc = fv_err("%s: truncated packed file (%zu bytes, header needs %u)", path, p->map.size, FV_PACK_HEADER);
        goto fail;
    }
    if (memcmp(h, FV_PACK_MAGIC, 8) != 0) {
        rc = fv_err("%s: not a flanvk packed file (bad magic)", path);
        goto fail;
    }
    uint32_t version = get32(h + 8), rs = get32(h + 12), meta_len = get32(h + 44);
    p->L = get32(h + 16);
    p->L2 = get32(h + 20);
    p->n_rows = get64(h + 24);
    p->n_examples = get64(h + 32);
    p->vocab = get32(h + 40);
    p->n_truncated = get64(h + 48);
    if (version != FV_PACK_VERSION) {
        rc = fv_err("%s: packed format version %u, this build reads %u", path, version, FV_PACK_VERSION);
        goto fail;
    }
    if (p->L == 0 || p->L2 == 0 || p->L > (1u << 24) || p->L2 > (1u << 24) || rs != row_bytes(p->L, p->L2)) {
        rc = fv_err("%s: corrupt header (L %u, L2 %u, row size %u)", path, p->L, p->L2, rs);
        goto fail;
    }
    p->row_size = rs;
    uint64_t body = (uint64_t)(p->map.size - FV_PACK_HEADER);
    if (p->n_rows > body / rs || body - p->n_rows * rs != meta_len) {
        rc = fv_err("%s: truncated or corrupt packed file: %zu bytes, header says %llu rows of %u bytes + %u bytes "
                    "of metadata",
                    path, p->map.size, (unsigned long long)p->n_rows, rs, meta_len);
        goto fail;
    }
    if (p->n_examples < p->n_rows || p->n_truncated > p->n_examples) {
        rc = fv_err("%s: corrupt header (%llu examples in %llu rows, %llu truncated)", path,
                    (unsigned long long)p->n_examples, (unsigned long long)p->n_rows,
                    (unsigned long long)p->n_truncated);
        goto fail;
    }
    p->meta = malloc((size_t)meta_len + 1);
    if (!p->meta) {
        rc = fv_err("%s: out of memory", path);
        goto fail;
    }
    if (meta_len) memcpy(p->meta, h + FV_PACK_HEADER + p->n_rows * rs, meta_len);
    p->meta[meta_len] = 0;
    return 0;
fail:
    fv_map_close(&p->map);
    return rc;
}

void fv_pack_close(fv_pack *p) {
    if (!p) return;
    fv_map_close(&p->map);
    free(p->meta);
    p->meta = NULL;
}

fv_pack_row fv_pack_get_row(const fv_pack *p, uint64_t i) {
    const unsigned char *b = p->map.data + FV_PACK_HEADER + i * p->row_size;
    fv_pack_row r;
    /* The mapping is page-aligned and every field a multiple of 4 bytes from it. */
    r.enc_ids = (const uint32_t *)(const void *)b;
    r.enc_seg = (const int32_t *)(const void *)(b + 4 * (size_t)p->L);
    r.dec_tg = (const uint32_t *)(const void *)(b + 8 * (size_t)p->L);
    r.dec_seg = (const int32_t *)(const void *)(b + 8 * (size_t)p->L + 4 * (size_t)p->L2);
    return r;
}

int fv_pack_expand(const fv_pack *p, uint64_t i, const fv_pack_arrays *out, uint32_t *n_seg) {
    if (i >= p->n_rows)
        return fv_err("%s: row %llu out of range (%llu rows)", p->map.path, (unsigned long long)i,
                      (unsigned long long)p->n_rows);
    char what[600];
    snprintf(what, sizeof what, "%s: row %llu", p->map.path, (unsigned long long)i);
    fv_pack_row r = fv_pack_get_row(p, i);
    return fv_pack_expand_row(&r, p->L, p->L2, p->vocab, out, n_seg, what);
}

int fv_pack_validate(const fv_pack *p) {
    uint64_t n = 0;
    for (uint64_t i = 0; i < p->n_rows; i++) {
        uint32_t ns;
        FV_TRY(fv_pack_expand(p, i, NULL, &ns));
        if (ns == 0) return fv_err("%s: row %llu is empty", p->map.path, (unsigned long long)i);
        n += ns;
    }
    if (n != p->n_examples)
        return fv_err("%s: rows hold %llu examples, header says %llu", p->map.path, (unsigned long long)n,
                      (unsigned long long)p->n_examples);
    return 0;
}

/* ---- writer ---------------------------------------------------------------------------------- */

struct fv_pack_writer {
    fv_awrite aw;
    uint32_t L, L2, vocab;
    uint64_t rows, examples;
};

int fv_pack_writer_open(fv_pack_writer **out, const char *path, uint32_t L, uint32_t L2, uint32_t vocab) {
    *out = NULL;
    if (!host_le()) return fv_err("%s: packed files are little-endian; this host is big-endian", path);
    if (L == 0 || L2 == 0 || L > (1u << 24) || L2 > (1u << 24))
        return fv_err("%s: bad sequence lengths %u / %u", path, L, L2);
    fv_pack_writer *w = calloc(1, sizeof *w);
    if (!w) return fv_err("%s: out of memory", path);
    w->L = L;
    w->L2 = L2;
    w->vocab = vocab;
    if (fv_awrite_open(&w->aw, path)) {
        free(w);
        return -1;
    }
    unsigned char zero[FV_PACK_HEADER] = {0};
    if (fv_awrite_put(&w->aw, zero, sizeof zero)) {
        fv_awrite_abort(&w->aw);
        free(w);
        return -1;
    }
    *out = w;
    return 0;
}

int fv_pack_writer_row(fv_pack_writer *w, const fv_pack_row *r, uint32_t n_examples) {
    FV_TRY(fv_awrite_put(&w->aw, r->enc_ids, 4 * (size_t)w->L));
    FV_TRY(fv_awrite_put(&w->aw, r->enc_seg, 4 * (size_t)w->L));
    FV_TRY(fv_awrite_put(&w->aw, r->dec_tg, 4 * (size_t)w->L2));
    FV_TRY(fv_awrite_put(&w->aw, r->dec_seg, 4 * (size_t)w->L2));
    w->rows++;
    w->examples += n_examples;
    return 0;
}

uint64_t fv_pack_writer_rows(const fv_pack_writer *w) { return w->rows; }

int fv_pack_writer_commit(fv_pack_writer *w, const char *meta, uint64_t n_truncated) {
    if (!meta) meta = "{}";
    size_t ml = strlen(meta);
    int rc = 0;
    if (ml > UINT32_MAX) rc = fv_err("%s: metadata too large", w->aw.path);
    unsigned char h[FV_PACK_HEADER] = {0};
    memcpy(h, FV_PACK_MAGIC, 8);
    put32(h + 8, FV_PACK_VERSION);
    put32(h + 12, (uint32_t)row_bytes(w->L, w->L2));
    put32(h + 16, w->L);
    put32(h + 20, w->L2);
    put64(h + 24, w->rows);
    put64(h + 32, w->examples);
    put32(h + 40, w->vocab);
    put32(h + 44, (uint32_t)ml);
    put64(h + 48, n_truncated);
    if (!rc) rc = fv_awrite_put(&w->aw, meta, ml);
    /* the header last: a file cut short anywhere before this has a zero header, which no reader accepts */
    if (!rc && fseek(w->aw.f, 0, SEEK_SET) != 0) rc = fv_write_failed(w->aw.path);
    if (!rc) rc = fv_awrite_put(&w->aw, h, sizeof h);
    if (rc) fv_awrite_abort(&w->aw);
    else rc = fv_awrite_commit(&w->aw);
    free(w);
    return rc;
}

void fv_pack_writer_abort(fv_pack_writer *w) {
    if (!w) return;
    fv_awrite_abort(&w->aw);
    free(w);
}
