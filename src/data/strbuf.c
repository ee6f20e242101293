/* String buffer; see strbuf.h. */
#include "data/strbuf.h"

#include <stdlib.h>
#include <string.h>

static int grow(fv_sb *b, size_t extra) {
    if (b->oom) return -1;
    if (b->n + extra + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->n + extra + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) { b->oom = 1; return -1; }
    b->p = p;
    b->cap = cap;
    return 0;
}

void fv_sb_clear(fv_sb *b) {
    b->n = 0;
    if (b->p) b->p[0] = 0;
}

void fv_sb_free(fv_sb *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}

void fv_sb_add(fv_sb *b, const char *s, size_t n) {
    if (grow(b, n)) return;
    if (n) memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

void fv_sb_adds(fv_sb *b, const char *s) {
    if (s) fv_sb_add(b, s, strlen(s));
}

void fv_sb_addc(fv_sb *b, char c) { fv_sb_add(b, &c, 1); }

char *fv_sb_take(fv_sb *b) {
    if (b->oom) { fv_sb_free(b); return NULL; }
    if (!b->p) fv_sb_add(b, "", 0);
    char *p = b->p;
    if (b->oom) p = NULL;
    memset(b, 0, sizeof *b);
    return p;
}

char *fv_strdup(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}
