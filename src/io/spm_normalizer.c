/* SentencePiece normalization (see spm_normalizer.h). Mirrors normalizer.cc of SentencePiece:
 * the charsmap blob is <uint32 LE trie size><darts-clone units><NUL-terminated strings>. */
#include "io/spm_normalizer.h"

#include "base/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char kSpace[] = "\xE2\x96\x81"; /* U+2581 */

int fv_sbuf_append(fv_sbuf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) return fv_err("tokenizer: out of memory (%zu bytes)", cap);
        b->p = p;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
    return 0;
}

void fv_sbuf_free(fv_sbuf *b) {
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

size_t fv_utf8_char_len(const unsigned char *s, size_t n) {
    if (n == 0) return 0;
    unsigned c = s[0];
    if (c < 0x80) return 1;
    size_t len;
    uint32_t cp, min;
    if ((c & 0xe0) == 0xc0) len = 2, cp = c & 0x1f, min = 0x80;
    else if ((c & 0xf0) == 0xe0) len = 3, cp = c & 0x0f, min = 0x800;
    else if ((c & 0xf8) == 0xf0) len = 4, cp = c & 0x07, min = 0x10000;
    else return 0;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return len;
}

int fv_utf8_check(const char *s, size_t n, const char *what) {
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t l = fv_utf8_char_len(u + i, n - i);
        if (!l) {
            char hex[16] = "";
            size_t k = 0;
            for (size_t j = i; j < n && j < i + 4; j++) k += (size_t)snprintf(hex + k, sizeof hex - k, "%s%02x", j > i ? " " : "", u[j]);
            return fv_err("%s: invalid UTF-8 at byte offset %zu (bytes %s)", what, i, hex);
        }
        i += l;
    }
    return 0;
}

static uint32_t unit_at(const fv_spm_normalizer *nz, size_t i) {
    const unsigned char *p = nz->trie + 4 * i;
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Unicode's White_Space property (PropList.txt), as Rust's char::is_whitespace has it. */
static int is_white_space(const unsigned char *s, size_t len) {
    uint32_t c;
    if (len == 1) c = s[0];
    else if (len == 2) c = (uint32_t)(s[0] & 0x1f) << 6 | (s[1] & 0x3f);
    else if (len == 3) c = (uint32_t)(s[0] & 0x0f) << 12 | (uint32_t)(s[1] & 0x3f) << 6 | (s[2] & 0x3f);
    else return 0;
    return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
           c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

/* darts-clone unit fields */
static int u_has_leaf(uint32_t u) { return (u >> 8) & 1; }
static uint32_t u_value(uint32_t u) { return u & 0x7fffffffu; }
static uint32_t u_label(uint32_t u) { return u & (0x80000000u | 0xffu); }
static uint32_t u_offset(uint32_t u) { return (u >> 10) << ((u & (1u << 9)) >> 6); }

int fv_spm_normalizer_init(fv_spm_normalizer *nz, const fv_spm_spec *spec, const char *name) {
    memset(nz, 0, sizeof *nz);
    nz->add_dummy_prefix = spec->add_dummy_prefix;
    nz->remove_extra_whitespaces = spec->remove_extra_whitespaces;
    nz->escape_whitespaces = spec->escape_whitespaces;
    nz->treat_whitespace_as_suffix = spec->treat_whitespace_as_suffix;
    if (!spec->charsmap || spec->charsmap_len == 0) return 0;
    const unsigned char *b = spec->charsmap;
    size_t n = spec->charsmap_len;
    if (n <= 4) return fv_err("%s: precompiled_charsmap is too short (%zu bytes)", name, n);
    uint32_t tsize = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    if (tsize >= n - 4 + 1 || tsize % 4 || tsize == 0)
        return fv_err("%s: precompiled_charsmap trie size %u does not fit the %zu-byte blob", name, tsize, n);
    nz->blob = malloc(n + 1);
    if (!nz->blob) return fv_err("%s: out of memory for the charsmap", name);
    memcpy(nz->blob, b, n);
    nz->blob[n] = 0;
    nz->trie = nz->blob + 4;
    nz->n_units = tsize / 4;
    nz->norm = (const char *)nz->blob + 4 + tsize;
    nz->norm_len = n - 4 - tsize;
    return 0;
}

void fv_spm_normalizer_free(fv_spm_normalizer *nz) {
    free(nz->blob);
    memset(nz, 0, sizeof *nz);
}

/* Longest charsmap rule matching a prefix of s: returns its length (0: none) and the replacement. */
static size_t charsmap_match(const fv_spm_normalizer *nz, const unsigned char *s, size_t n, const char **repl) {
    if (!nz->trie) return 0;
    size_t best = 0;
    size_t pos = u_offset(unit_at(nz, 0));
    for (size_t i = 0; i < n; i++) {
        pos ^= s[i];
        if (pos >= nz->n_units) break;
        uint32_t u = unit_at(nz, pos);
        if (u_label(u) != s[i]) break;
        pos ^= u_offset(u);
        if (u_has_leaf(u)) {
            if (pos >= nz->n_units) break;
            uint32_t v = u_value(unit_at(nz, pos));
            if (v < nz->norm_len) { /* out-of-range values are ignored rather than read */
                best = i + 1;
                *repl = nz->norm + v;
            }
        }
    }
    return best;
}

int fv_spm_normalize(const fv_spm_normalizer *nz, const char *text, size_t n, fv_sbuf *out) {
    const unsigned char *in = (const unsigned char *)text;
    size_t start = out->n;
    const char *sp = NULL;
    size_t spn = 0, used = 0;
#define NEXT()                                                              \
    do {                                                                    \
        used = charsmap_match(nz, in, n, &sp);                              \
        if (used) spn = strlen(sp);                                         \
        else {                                                              \
            used = fv_utf8_char_len(in, n);                                 \
            if (!used) used = 1; /* callers validate; never loop forever */ \
            sp = (const char *)in, spn = used;                              \
            if (nz->unicode_whitespace && is_white_space(in, used))         \
                sp = " ", spn = 1;                                          \
        }                                                                   \
    } while (0)

    if (nz->remove_extra_whitespaces) {
        while (n) {
            NEXT();
            if (!(spn == 1 && sp[0] == ' ')) break;
            in += used, n -= used;
        }
    }
    if (!n) return 0;
    const char *ws = nz->escape_whitespaces ? kSpace : " ";
    size_t wsn = strlen(ws);
    if (!nz->treat_whitespace_as_suffix && nz->add_dummy_prefix) FV_TRY(fv_sbuf_append(out, ws, wsn));
    int prev_space = nz->remove_extra_whitespaces;
    while (n) {
        NEXT();
        if (prev_space)
            while (spn && sp[0] == ' ') sp++, spn--;
        if (spn) {
            for (size_t k = 0; k < spn; k++) {
                if (nz->escape_whitespaces && sp[k] == ' ') FV_TRY(fv_sbuf_append(out, kSpace, 3));
                else FV_TRY(fv_sbuf_append(out, sp + k, 1));
            }
            prev_space = sp[spn - 1] == ' ';
        }
        in += used, n -= used;
        if (!nz->remove_extra_whitespaces) prev_space = 0;
    }
#undef NEXT
    if (nz->remove_extra_whitespaces) {
        while (out->n - start >= wsn && !memcmp(out->p + out->n - wsn, ws, wsn)) out->n -= wsn;
        if (out->p) out->p[out->n] = 0;
    }
    if (nz->treat_whitespace_as_suffix && nz->add_dummy_prefix) FV_TRY(fv_sbuf_append(out, ws, wsn));
    return 0;
}
