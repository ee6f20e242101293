/* Hand-written reader for SentencePiece's ModelProto (see spm_model.h). Only the wire format is
 * needed: varints, 32/64-bit fixed fields and length-delimited fields; unknown fields are skipped,
 * known fields with the wrong wire type and anything running past its enclosing message are
 * errors that name the file, the field and the byte offset. */
#include "io/spm_model.h"

#include "base/error.h"
#include "base/file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

typedef struct {
    const unsigned char *base, *p, *end;
    const char *name;
} pb_rd;

static size_t pb_off(const pb_rd *r) { return (size_t)(r->p - r->base); }

static int pb_varint(pb_rd *r, uint64_t *v) {
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) return fv_err("%s: truncated protobuf (varint at byte %zu runs past the end)", r->name, pb_off(r));
        unsigned char b = *r->p++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return fv_err("%s: bad protobuf (varint longer than 10 bytes at byte %zu)", r->name, pb_off(r));
}

static int pb_len(pb_rd *r, pb_rd *sub) {
    uint64_t n = 0;
    FV_TRY(pb_varint(r, &n));
    if (n > (uint64_t)(r->end - r->p))
        return fv_err("%s: truncated protobuf (field at byte %zu needs %llu bytes, %zu left)", r->name, pb_off(r),
                      (unsigned long long)n, (size_t)(r->end - r->p));
    sub->base = r->base;
    sub->p = r->p;
    sub->end = r->p + n;
    sub->name = r->name;
    r->p += n;
    return 0;
}

static int pb_skip(pb_rd *r, int wt, uint32_t field) {
    uint64_t v = 0;
    pb_rd sub = {0};
    size_t need = 0;
    switch (wt) {
    case WT_VARINT: return pb_varint(r, &v);
    case WT_LEN: return pb_len(r, &sub);
    case WT_I64: need = 8; break;
    case WT_I32: need = 4; break;
    default: return fv_err("%s: bad protobuf (field %u at byte %zu has unsupported wire type %d)", r->name, field, pb_off(r), wt);
    }
    if ((size_t)(r->end - r->p) < need)
        return fv_err("%s: truncated protobuf (field %u at byte %zu needs %zu bytes)", r->name, field, pb_off(r), need);
    r->p += need;
    return 0;
}

static int pb_tag(pb_rd *r, uint32_t *field, int *wt) {
    uint64_t t = 0;
    FV_TRY(pb_varint(r, &t));
    *field = (uint32_t)(t >> 3);
    *wt = (int)(t & 7);
    if (*field == 0 || (t >> 3) > 0x1fffffff) return fv_err("%s: bad protobuf (field number 0 at byte %zu)", r->name, pb_off(r));
    return 0;
}

static int pb_expect(const pb_rd *r, const char *msg, const char *fname, uint32_t field, int wt, int want) {
    if (wt == want) return 0;
    return fv_err("%s: bad protobuf (%s.%s, field %u, at byte %zu has wire type %d, expected %d)", r->name, msg, fname, field,
                  pb_off(r), wt, want);
}

static int pb_float(pb_rd *r, float *f) {
    if (r->end - r->p < 4) return fv_err("%s: truncated protobuf (float at byte %zu)", r->name, pb_off(r));
    uint32_t u = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 | (uint32_t)r->p[3] << 24;
    memcpy(f, &u, 4);
    r->p += 4;
    return 0;
}

static int pb_int(pb_rd *r, const char *msg, const char *fname, uint32_t field, int wt, int *out) {
    FV_TRY(pb_expect(r, msg, fname, field, wt, WT_VARINT));
    uint64_t v = 0;
    FV_TRY(pb_varint(r, &v));
    *out = (int)(int32_t)(uint32_t)v;
    return 0;
}

void fv_spm_spec_init(fv_spm_spec *s) {
    memset(s, 0, sizeof *s);
    s->add_dummy_prefix = s->remove_extra_whitespaces = s->escape_whitespaces = 1;
    s->model_type = FV_SPM_UNIGRAM;
    s->unk_id = 0;
    s->bos_id = 1;
    s->eos_id = 2;
    s->pad_id = -1;
    snprintf(s->unk_surface, sizeof s->unk_surface, " \xE2\x81\x87 ");
}

void fv_spm_spec_free(fv_spm_spec *s) {
    if (!s) return;
    for (uint32_t i = 0; i < s->n_pieces; i++) free(s->pieces[i].text);
    free(s->pieces);
    free(s->charsmap);
    memset(s, 0, sizeof *s);
}

int fv_spm_spec_add_piece(fv_spm_spec *s, const char *text, size_t len, float score, int type) {
    if (len > 0xffffffu) return fv_err("tokenizer: piece %u is too long (%zu bytes)", s->n_pieces, len);
    if (s->n_pieces == s->cap_pieces) {
        uint32_t cap = s->cap_pieces ? s->cap_pieces * 2 : 1024;
        fv_spm_piece *np = realloc(s->pieces, cap * sizeof *np);
        if (!np) return fv_err("tokenizer: out of memory for %u pieces", cap);
        s->pieces = np;
        s->cap_pieces = cap;
    }
    char *t = malloc(len + 1);
    if (!t) return fv_err("tokenizer: out of memory");
    memcpy(t, text, len);
    t[len] = 0;
    s->pieces[s->n_pieces++] = (fv_spm_piece){t, (uint32_t)len, score, type};
    return 0;
}

static int parse_piece(pb_rd *r, fv_spm_spec *s) {
    const unsigned char *text = NULL;
    size_t len = 0;
    float score = 0;
    int type = FV_PIECE_NORMAL, have_text = 0;
    while (r->p < r->end) {
        uint32_t f = 0;
        int wt = 0;
        FV_TRY(pb_tag(r, &f, &wt));
        if (f == 1) {
            FV_TRY(pb_expect(r, "SentencePiece", "piece", f, wt, WT_LEN));
            pb_rd sub = {0};
            FV_TRY(pb_len(r, &sub));
            text = sub.p;
            len = (size_t)(sub.end - sub.p);
            have_text = 1;
        } else if (f == 2) {
            FV_TRY(pb_expect(r, "SentencePiece", "score", f, wt, WT_I32));
            FV_TRY(pb_float(r, &score));
        } else if (f == 3) {
            FV_TRY(pb_int(r, "SentencePiece", "type", f, wt, &type));
        } else {
            FV_TRY(pb_skip(r, wt, f));
        }
    }
    if (!have_text || len == 0) return fv_err("%s: piece %u has no text", r->name, s->n_pieces);
    if (type < FV_PIECE_NORMAL || type > FV_PIECE_BYTE) return fv_err("%s: piece %u has unknown type %d", r->name, s->n_pieces, type);
    return fv_spm_spec_add_piece(s, (const char *)text, len, score, type);
}

static int parse_trainer(pb_rd *r, fv_spm_spec *s) {
    while (r->p < r->end) {
        uint32_t f = 0;
        int wt = 0, b = 0;
        FV_TRY(pb_tag(r, &f, &wt));
        switch (f) {
        case 3: FV_TRY(pb_int(r, "TrainerSpec", "model_type", f, wt, &s->model_type)); break;
        case 24: FV_TRY(pb_int(r, "TrainerSpec", "treat_whitespace_as_suffix", f, wt, &b)); s->treat_whitespace_as_suffix = b != 0; break;
        case 35: FV_TRY(pb_int(r, "TrainerSpec", "byte_fallback", f, wt, &b)); s->byte_fallback = b != 0; break;
        case 40: FV_TRY(pb_int(r, "TrainerSpec", "unk_id", f, wt, &s->unk_id)); break;
        case 41: FV_TRY(pb_int(r, "TrainerSpec", "bos_id", f, wt, &s->bos_id)); break;
        case 42: FV_TRY(pb_int(r, "TrainerSpec", "eos_id", f, wt, &s->eos_id)); break;
        case 43: FV_TRY(pb_int(r, "TrainerSpec", "pad_id", f, wt, &s->pad_id)); break;
        case 44: {
            FV_TRY(pb_expect(r, "TrainerSpec", "unk_surface", f, wt, WT_LEN));
            pb_rd sub = {0};
            FV_TRY(pb_len(r, &sub));
            size_t n = (size_t)(sub.end - sub.p);
            if (n >= sizeof s->unk_surface) return fv_err("%s: TrainerSpec.unk_surface is too long (%zu bytes)", r->name, n);
            memcpy(s->unk_surface, sub.p, n);
            s->unk_surface[n] = 0;
            break;
        }
        default: FV_TRY(pb_skip(r, wt, f));
        }
    }
    return 0;
}

static int parse_normalizer(pb_rd *r, fv_spm_spec *s) {
    while (r->p < r->end) {
        uint32_t f = 0;
        int wt = 0, b = 0;
        FV_TRY(pb_tag(r, &f, &wt));
        switch (f) {
        case 2: {
            FV_TRY(pb_expect(r, "NormalizerSpec", "precompiled_charsmap", f, wt, WT_LEN));
            pb_rd sub = {0};
            FV_TRY(pb_len(r, &sub));
            size_t n = (size_t)(sub.end - sub.p);
            free(s->charsmap);
            s->charsmap = NULL;
            s->charsmap_len = 0;
            if (n) {
                s->charsmap = malloc(n);
                if (!s->charsmap) return fv_err("%s: out of memory for the charsmap", r->name);
                memcpy(s->charsmap, sub.p, n);
                s->charsmap_len = n;
            }
            break;
        }
        case 3: FV_TRY(pb_int(r, "NormalizerSpec", "add_dummy_prefix", f, wt, &b)); s->add_dummy_prefix = b != 0; break;
        case 4: FV_TRY(pb_int(r, "NormalizerSpec", "remove_extra_whitespaces", f, wt, &b)); s->remove_extra_whitespaces = b != 0; break;
        case 5: FV_TRY(pb_int(r, "NormalizerSpec", "escape_whitespaces", f, wt, &b)); s->escape_whitespaces = b != 0; break;
        case 1:
            FV_TRY(pb_expect(r, "NormalizerSpec", "name", f, wt, WT_LEN));
            FV_TRY(pb_skip(r, wt, f));
            break;
        default: FV_TRY(pb_skip(r, wt, f));
        }
    }
    return 0;
}

static int parse_model(pb_rd *r, fv_spm_spec *s) {
    int have_norm = 0;
    while (r->p < r->end) {
        uint32_t f = 0;
        int wt = 0;
        FV_TRY(pb_tag(r, &f, &wt));
        pb_rd sub = {0};
        if (f == 1) {
            FV_TRY(pb_expect(r, "ModelProto", "pieces", f, wt, WT_LEN));
            FV_TRY(pb_len(r, &sub));
            FV_TRY(parse_piece(&sub, s));
        } else if (f == 2) {
            FV_TRY(pb_expect(r, "ModelProto", "trainer_spec", f, wt, WT_LEN));
            FV_TRY(pb_len(r, &sub));
            FV_TRY(parse_trainer(&sub, s));
        } else if (f == 3) {
            FV_TRY(pb_expect(r, "ModelProto", "normalizer_spec", f, wt, WT_LEN));
            FV_TRY(pb_len(r, &sub));
            FV_TRY(parse_normalizer(&sub, s));
            have_norm = 1;
        } else {
            FV_TRY(pb_skip(r, wt, f));
        }
    }
    if (s->n_pieces == 0) return fv_err("%s: not a SentencePiece model (no pieces)", r->name);
    if (!have_norm) return fv_err("%s: not a SentencePiece model (no normalizer_spec)", r->name);
    if (s->model_type != FV_SPM_UNIGRAM) return fv_err("%s: model type %d is not Unigram (1); only Unigram is supported", r->name, s->model_type);
    return 0;
}

int fv_spm_model_parse(const unsigned char *data, size_t size, const char *name, fv_spm_spec *out) {
    fv_spm_spec_init(out);
    pb_rd r = {data, data, data + size, name};
    if (parse_model(&r, out)) {
        fv_spm_spec_free(out);
        return -1;
    }
    return 0;
}

int fv_spm_model_load(const char *path, fv_spm_spec *out) {
    fv_map m;
    fv_spm_spec_init(out);
    FV_TRY(fv_map_open(&m, path));
    if (m.size == 0) {
        fv_map_close(&m);
        return fv_err("%s: empty file, not a SentencePiece model", path);
    }
    int rc = fv_spm_model_parse(m.data, m.size, path, out);
    fv_map_close(&m);
    return rc;
}
