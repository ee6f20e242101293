/* Unigram Viterbi segmentation over a piece trie (see unigram.h). */
#include "io/unigram.h"

#include "base/error.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

int fv_idvec_push(fv_idvec *a, uint32_t id) {
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        uint32_t *v = realloc(a->v, cap * sizeof *v);
        if (!v) return fv_err("tokenizer: out of memory for %zu ids", cap);
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = id;
    return 0;
}

static uint64_t slot_of(const fv_unigram *u, uint64_t key) { return (key * 0x9E3779B97F4A7C15ull >> 17) & u->mask; }

static uint32_t find_child(const fv_unigram *u, uint32_t node, unsigned char c) {
    uint64_t key = ((uint64_t)node << 8 | c) + 1; /* +1 keeps 0 free as the empty marker */
    for (uint64_t s = slot_of(u, key);; s = (s + 1) & u->mask) {
        if (u->keys[s] == key) return u->child[s];
        if (u->keys[s] == 0) return 0; /* node 0 is the root, never a child */
    }
}

static uint32_t add_child(fv_unigram *u, uint32_t node, unsigned char c) {
    uint64_t key = ((uint64_t)node << 8 | c) + 1;
    uint64_t s = slot_of(u, key);
    for (; u->keys[s]; s = (s + 1) & u->mask)
        if (u->keys[s] == key) return u->child[s];
    u->keys[s] = key;
    u->child[s] = u->n_nodes;
    u->node_piece[u->n_nodes] = -1;
    return u->n_nodes++;
}

static int in_trie(int type) { return type == FV_PIECE_NORMAL || type == FV_PIECE_USER_DEFINED || type == FV_PIECE_UNUSED; }

int fv_unigram_init(fv_unigram *u, const fv_spm_spec *spec, const char *name) {
    memset(u, 0, sizeof *u);
    u->pieces = spec->pieces;
    u->n_pieces = spec->n_pieces;
    u->unk_id = -1;
    u->min_score = FLT_MAX;
    u->max_score = FLT_MIN; /* SentencePiece's starting value, kept for identical user-defined scores */
    size_t total = 1;
    for (uint32_t i = 0; i < spec->n_pieces; i++) {
        const fv_spm_piece *p = &spec->pieces[i];
        if (p->type == FV_PIECE_UNKNOWN) {
            if (u->unk_id >= 0) return fv_err("%s: two unknown pieces (%d and %u)", name, u->unk_id, i);
            u->unk_id = (int)i;
        }
        if (p->type == FV_PIECE_NORMAL) {
            if (p->score < u->min_score) u->min_score = p->score;
            if (p->score > u->max_score) u->max_score = p->score;
        }
        if (in_trie(p->type)) total += p->len;
    }
    if (u->unk_id < 0) return fv_err("%s: the vocabulary has no unknown piece", name);
    u->unk_score = (double)u->min_score - 10.0;
    uint64_t cap = 1024;
    while (cap < 2 * total) cap *= 2;
    u->mask = cap - 1;
    u->keys = calloc(cap, sizeof *u->keys);
    u->child = malloc(cap * sizeof *u->child);
    u->node_piece = malloc(total * sizeof *u->node_piece);
    if (!u->keys || !u->child || !u->node_piece) {
        fv_unigram_free(u);
        return fv_err("%s: out of memory for the piece trie", name);
    }
    u->node_piece[0] = -1;
    u->n_nodes = 1;
    for (uint32_t i = 0; i < spec->n_pieces; i++) {
        const fv_spm_piece *p = &spec->pieces[i];
        if (!in_trie(p->type)) continue;
        uint32_t node = 0;
        for (uint32_t k = 0; k < p->len; k++) node = add_child(u, node, (unsigned char)p->text[k]);
        if (u->node_piece[node] >= 0) {
            int other = u->node_piece[node];
            fv_unigram_free(u);
            return fv_err("%s: piece '%s' is defined twice (ids %d and %u)", name, p->text, other, i);
        }
        u->node_piece[node] = (int32_t)i;
    }
    return 0;
}

void fv_unigram_free(fv_unigram *u) {
    free(u->keys);
    free(u->child);
    free(u->node_piece);
    memset(u, 0, sizeof *u);
}

static size_t one_char_len(unsigned char c) { return (size_t)"\1\1\1\1\1\1\1\1\1\1\1\1\2\2\3\4"[c >> 4]; }

typedef struct {
    double score;
    int32_t start; /* -1: not reached */
    int32_t id;
} vnode;

int fv_unigram_encode(const fv_unigram *u, const char *str, size_t n, fv_idvec *out) {
    if (n == 0) return 0;
    if (n > 0x7ffffffe) return fv_err("tokenizer: text too long (%zu bytes)", n);
    const unsigned char *s = (const unsigned char *)str;
    vnode *best = malloc((n + 1) * sizeof *best);
    int32_t *path = malloc((n + 1) * sizeof *path);
    if (!best || !path) {
        free(best);
        free(path);
        return fv_err("tokenizer: out of memory for a %zu-byte text", n);
    }
    for (size_t i = 0; i <= n; i++) best[i] = (vnode){0.0, -1, -1};
    best[0].start = 0;
    for (size_t start = 0; start < n;) {
        double base = best[start].score;
        size_t mblen = one_char_len(s[start]);
        if (mblen > n - start) mblen = n - start;
        int single = 0;
        uint32_t node = 0;
        for (size_t k = start; k < n; k++) {
            node = find_child(u, node, s[k]);
            if (!node) break;
            int32_t id = u->node_piece[node];
            if (id < 0 || u->pieces[id].type == FV_PIECE_UNUSED) continue;
            size_t len = k + 1 - start;
            vnode *t = &best[k + 1];
            /* Path scores are summed, compared and kept in double, as Hugging Face's tokenizers does
             * (models/unigram: f64). SentencePiece rounds each kept path score to float, and so picks
             * another of two segmentations with the same total (the same pieces in another order,
             * "_" + "_______" or "_______" + "_") in a few texts; we give HF's ids (issue #15). */
            double score = u->pieces[id].type == FV_PIECE_USER_DEFINED ? (double)len * u->max_score - 0.1 : u->pieces[id].score;
            double cand = score + base;
            if (t->start < 0 || cand > t->score) *t = (vnode){cand, (int32_t)start, id};
            if (len == mblen) single = 1;
        }
        if (!single) {
            vnode *t = &best[start + mblen];
            double cand = u->unk_score + base;
            if (t->start < 0 || cand > t->score) *t = (vnode){cand, (int32_t)start, u->unk_id};
        }
        start += mblen;
    }
    size_t np = 0;
    for (size_t end = n; end > 0; end = (size_t)best[end].start) {
        if (best[end].start < 0 || (size_t)best[end].start >= end) {
            free(best);
            free(path);
            return fv_err("tokenizer: internal error: no segmentation path at byte %zu", end);
        }
        path[np++] = best[end].id;
    }
    int rc = 0, prev_unk = 0;
    for (size_t i = np; i-- > 0 && !rc;) {
        int is_unk = path[i] == u->unk_id;
        if (!(is_unk && prev_unk)) rc = fv_idvec_push(out, (uint32_t)path[i]);
        prev_unk = is_unk;
    }
    free(best);
    free(path);
    return rc;
}
