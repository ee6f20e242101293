/* The T5 tokenizer: loading, splitting the text at special tokens, encode and decode (see tokenizer.h). */
#define _POSIX_C_SOURCE 200809L
#include "io/tokenizer.h"

#include "base/error.h"
#include "base/file.h"
#include "io/spm_normalizer.h"
#include "io/tokenizer_json.h"
#include "io/unigram.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SENTINEL_PREFIX "<extra_id_"
#define SENTINEL_PREFIX_LEN 10
#define MAX_SENTINELS 10000
#define T5_EXTRA_IDS 100

struct fv_tokenizer {
    fv_spm_spec spec;
    fv_spm_normalizer nz;
    fv_unigram ug;
    int32_t *sentinel;       /* N -> id, -1 if absent */
    uint32_t n_sentinel;
    unsigned char *is_sentinel; /* per id */
    /* Tokens matched in the raw text before normalization, longest first (see special_at). */
    struct special {
        const char *text;
        uint32_t len, id;
    } *special;
    uint32_t n_special;
    unsigned char special_first[256]; /* first bytes of the special tokens, to skip most positions fast */
    char name[512];
};

/* Parse "<extra_id_N>" at s (n bytes): returns its length and N, 0 if s does not start with one. */
static size_t parse_sentinel(const char *s, size_t n, uint32_t *num) {
    if (n < SENTINEL_PREFIX_LEN + 2 || memcmp(s, SENTINEL_PREFIX, SENTINEL_PREFIX_LEN)) return 0;
    size_t i = SENTINEL_PREFIX_LEN;
    uint32_t v = 0;
    size_t digits = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9' && digits < 5) v = v * 10 + (uint32_t)(s[i++] - '0'), digits++;
    if (!digits || i >= n || s[i] != '>') return 0;
    if (digits > 1 && s[SENTINEL_PREFIX_LEN] == '0') return 0; /* "<extra_id_07>" is plain text */
    *num = v;
    return i + 1;
}

/* Longer first, so that the first token matching at a position is the longest one there. */
static int special_cmp(const void *a, const void *b) {
    const struct special *x = a, *y = b;
    if (x->len != y->len) return x->len > y->len ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Hugging Face's added tokens: <pad>, </s>, <unk> and the <extra_id_N> sentinels of T5 (control,
 * unknown and, if a model has them, user-defined pieces; tokenizer.json's added_tokens become such
 * pieces in tokenizer_json.c). They are all "normalized": false, so HF finds them in the raw text. */
static int collect_specials(fv_tokenizer *t) {
    t->special = calloc(t->spec.n_pieces ? t->spec.n_pieces : 1, sizeof *t->special);
    if (!t->special) return fv_err("%s: out of memory", t->name);
    for (uint32_t i = 0; i < t->spec.n_pieces; i++) {
        const fv_spm_piece *p = &t->spec.pieces[i];
        int type = p->type;
        if (!p->len || (type != FV_PIECE_CONTROL && type != FV_PIECE_UNKNOWN && type != FV_PIECE_USER_DEFINED)) continue;
        t->special[t->n_special++] = (struct special){p->text, (uint32_t)p->len, i};
        t->special_first[(unsigned char)p->text[0]] = 1;
    }
    qsort(t->special, t->n_special, sizeof *t->special, special_cmp);
    return 0;
}

static int add_t5_sentinels(fv_spm_spec *spec) {
    for (uint32_t i = 0; i < spec->n_pieces; i++)
        if (!strncmp(spec->pieces[i].text, SENTINEL_PREFIX, SENTINEL_PREFIX_LEN)) return 0; /* model has its own */
    for (int i = 0; i < T5_EXTRA_IDS; i++) {
        char buf[32];
        int len = snprintf(buf, sizeof buf, SENTINEL_PREFIX "%d>", T5_EXTRA_IDS - 1 - i);
        FV_TRY(fv_spm_spec_add_piece(spec, buf, (size_t)len, 0.0f, FV_PIECE_CONTROL));
    }
    return 0;
}

int fv_tokenizer_from_spec(fv_spm_spec *spec, const char *name, fv_tokenizer **out) {
    *out = NULL;
    fv_tokenizer *t = calloc(1, sizeof *t);
    if (!t) {
        fv_spm_spec_free(spec);
        return fv_err("%s: out of memory", name);
    }
    t->spec = *spec;
    memset(spec, 0, sizeof *spec);
    snprintf(t->name, sizeof t->name, "%s", name);
    int rc = fv_spm_normalizer_init(&t->nz, &t->spec, name);
    t->nz.unicode_whitespace = 1;
    if (!rc) rc = fv_unigram_init(&t->ug, &t->spec, name);
    if (!rc) {
        t->is_sentinel = calloc(t->spec.n_pieces, 1);
        if (!t->is_sentinel) rc = fv_err("%s: out of memory", name);
    }
    for (uint32_t i = 0; !rc && i < t->spec.n_pieces; i++) {
        const fv_spm_piece *p = &t->spec.pieces[i];
        uint32_t num = 0;
        if (p->type != FV_PIECE_CONTROL || parse_sentinel(p->text, p->len, &num) != p->len || num >= MAX_SENTINELS) continue;
        if (num >= t->n_sentinel) {
            int32_t *ns = realloc(t->sentinel, (num + 1) * sizeof *ns);
            if (!ns) {
                rc = fv_err("%s: out of memory", name);
                break;
            }
            for (uint32_t k = t->n_sentinel; k <= num; k++) ns[k] = -1;
            t->sentinel = ns;
            t->n_sentinel = num + 1;
        }
        if (t->sentinel[num] >= 0) rc = fv_err("%s: sentinel '%s' is defined twice", name, p->text);
        t->sentinel[num] = (int32_t)i;
        t->is_sentinel[i] = 1;
    }
    if (!rc) rc = collect_specials(t);
    if (rc) {
        fv_tokenizer_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

void fv_tokenizer_free(fv_tokenizer *t) {
    if (!t) return;
    fv_unigram_free(&t->ug);
    fv_spm_normalizer_free(&t->nz);
    fv_spm_spec_free(&t->spec);
    free(t->sentinel);
    free(t->is_sentinel);
    free(t->special);
    free(t);
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

int fv_tokenizer_load(const char *path, fv_tokenizer **out) {
    *out = NULL;
    if (!path || !*path) return fv_err("tokenizer: no model path given");
    struct stat st;
    if (stat(path, &st) != 0) return fv_err("%s: no such file or directory", path);
    char file[1024];
    int json;
    if (S_ISDIR(st.st_mode)) {
        if (fv_path_join(file, sizeof file, path, "spiece.model")) return fv_err("%s: path too long", path);
        json = 0;
        if (!fv_file_exists(file)) {
            if (fv_path_join(file, sizeof file, path, "tokenizer.json")) return fv_err("%s: path too long", path);
            json = 1;
            if (!fv_file_exists(file)) return fv_err("%s: no spiece.model or tokenizer.json in this directory", path);
        }
    } else {
        snprintf(file, sizeof file, "%s", path);
        json = ends_with(path, ".json");
    }
    fv_spm_spec spec;
    if (json) FV_TRY(fv_tokenizer_json_load(file, &spec));
    else {
        FV_TRY(fv_spm_model_load(file, &spec));
        if (add_t5_sentinels(&spec)) {
            fv_spm_spec_free(&spec);
            return fv_err_wrap("%s", file);
        }
    }
    return fv_tokenizer_from_spec(&spec, file, out);
}

/* Normalize + segment one part of the text that holds no special token. Each part gets its own
 * dummy "▁" prefix and loses its leading and trailing whitespace, as SentencePiece does for a whole
 * text: that is what Hugging Face's T5 tokenizer gives (transformers 5: Precompiled normalizer,
 * WhitespaceSplit + Metaspace(prepend_scheme "always") on every part between added tokens). */
static int encode_part(const fv_tokenizer *t, const char *s, size_t n, fv_sbuf *norm, fv_idvec *ids) {
    if (!n) return 0;
    norm->n = 0;
    FV_TRY(fv_spm_normalize(&t->nz, s, n, norm));
    return fv_unigram_encode(&t->ug, norm->p, norm->n, ids);
}

/* The special token that starts at s (n bytes left), NULL if none: the longest one, so that the
 * split is Hugging Face's leftmost-longest match over the added tokens. */
static const struct special *special_at(const fv_tokenizer *t, const char *s, size_t n) {
    if (!t->special_first[(unsigned char)s[0]]) return NULL;
    for (uint32_t k = 0; k < t->n_special; k++) {
        const struct special *sp = &t->special[k];
        if (sp->len <= n && !memcmp(s, sp->text, sp->len)) return sp;
    }
    return NULL;
}

int fv_tokenizer_encode(const fv_tokenizer *t, const char *text, size_t len, int add_eos, uint32_t **ids, size_t *n) {
    *ids = NULL;
    *n = 0;
    if (!text && len) return fv_err("tokenizer: NULL text");
    FV_TRY(fv_utf8_check(text, len, "tokenizer input"));
    fv_sbuf norm = {0};
    fv_idvec out = {0};
    int rc = 0;
    size_t part = 0;
    /* Whitespace next to a special token needs no handling of its own: the part before it loses
     * its trailing whitespace and the part after it its leading whitespace in encode_part, which
     * is what HF's lstrip/rstrip flags (set on T5's sentinels in newer tokenizer.json files) do. */
    for (size_t i = 0; i < len && !rc;) {
        const struct special *sp = special_at(t, text + i, len - i);
        if (sp) {
            rc = encode_part(t, text + part, i - part, &norm, &out);
            if (!rc) rc = fv_idvec_push(&out, sp->id);
            i += sp->len;
            part = i;
        } else {
            i++;
        }
    }
    if (!rc) rc = encode_part(t, text + part, len - part, &norm, &out);
    if (!rc && add_eos) {
        if (t->spec.eos_id < 0 || (uint32_t)t->spec.eos_id >= t->spec.n_pieces) rc = fv_err("%s: the model has no </s> id", t->name);
        else rc = fv_idvec_push(&out, (uint32_t)t->spec.eos_id);
    }
    fv_sbuf_free(&norm);
    if (rc) {
        free(out.v);
        return rc;
    }
    if (!out.v) out.v = malloc(sizeof *out.v); /* a valid pointer even for no ids */
    if (!out.v) return fv_err("tokenizer: out of memory");
    *ids = out.v;
    *n = out.n;
    return 0;
}

int fv_tokenizer_decode(const fv_tokenizer *t, const uint32_t *ids, size_t n, char **text) {
    *text = NULL;
    fv_sbuf b = {0};
    int rc = fv_sbuf_append(&b, "", 0);
    int bos_ws = 1;
    const int strip_first = t->spec.add_dummy_prefix || t->spec.remove_extra_whitespaces;
    for (size_t i = 0; i < n && !rc; i++) {
        uint32_t id = ids[i];
        if (id >= t->spec.n_pieces) {
            rc = fv_err("tokenizer: id %u at position %zu is out of range (vocabulary size %u)", id, i, t->spec.n_pieces);
            break;
        }
        const fv_spm_piece *p = &t->spec.pieces[id];
        size_t before = b.n;
        int had_ws = 0;
        if (t->is_sentinel[id]) {
            rc = fv_sbuf_append(&b, p->text, p->len);
        } else if (p->type == FV_PIECE_CONTROL) {
            continue;
        } else if (p->type == FV_PIECE_UNKNOWN) {
            /* "<unk>" as Hugging Face's decode writes it (SentencePiece's own decode writes " ⁇ "),
             * so that decoding what encode made of "<unk>" in a text gives "<unk>" back. */
            rc = fv_sbuf_append(&b, p->text, p->len);
        } else {
            const char *s = p->text, *e = p->text + p->len;
            if (bos_ws && strip_first && e - s >= 3 && !memcmp(s, "\xE2\x96\x81", 3)) s += 3, had_ws = 1;
            while (s < e && !rc) {
                if (e - s >= 3 && !memcmp(s, "\xE2\x96\x81", 3)) rc = fv_sbuf_append(&b, " ", 1), s += 3;
                else rc = fv_sbuf_append(&b, s, 1), s++;
            }
        }
        if (bos_ws && (b.n > before || had_ws)) bos_ws = 0;
    }
    if (rc) {
        fv_sbuf_free(&b);
        return rc;
    }
    *text = b.p;
    return 0;
}

uint32_t fv_tokenizer_vocab_size(const fv_tokenizer *t) { return t->spec.n_pieces; }

const char *fv_tokenizer_id_to_piece(const fv_tokenizer *t, uint32_t id) {
    return id < t->spec.n_pieces ? t->spec.pieces[id].text : NULL;
}

int32_t fv_tokenizer_piece_to_id(const fv_tokenizer *t, const char *piece) {
    size_t len = strlen(piece);
    for (uint32_t i = 0; i < t->spec.n_pieces; i++)
        if (t->spec.pieces[i].len == len && !memcmp(t->spec.pieces[i].text, piece, len)) return (int32_t)i;
    return -1;
}

int32_t fv_tokenizer_eos_id(const fv_tokenizer *t) { return t->spec.eos_id; }
int32_t fv_tokenizer_pad_id(const fv_tokenizer *t) { return t->spec.pad_id; }
int32_t fv_tokenizer_unk_id(const fv_tokenizer *t) { return t->ug.unk_id; }

int32_t fv_tokenizer_sentinel_id(const fv_tokenizer *t, uint32_t n) { return n < t->n_sentinel ? t->sentinel[n] : -1; }
