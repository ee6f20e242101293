/* Growable NUL-terminated string buffer for building prompts and decoding fields. Allocation failure
 * is sticky (sb->oom) so callers check once at the end instead of after every append. */
#ifndef FV_DATA_STRBUF_H
#define FV_DATA_STRBUF_H

#include <stddef.h>

typedef struct {
    char *p;     /* always NUL-terminated when non-NULL */
    size_t n;    /* length without the NUL */
    size_t cap;
    int oom;
} fv_sb;

void fv_sb_clear(fv_sb *b);              /* length 0, keeps the memory */
void fv_sb_free(fv_sb *b);
void fv_sb_add(fv_sb *b, const char *s, size_t n);
void fv_sb_adds(fv_sb *b, const char *s);  /* s may be NULL (adds nothing) */
void fv_sb_addc(fv_sb *b, char c);
/* Hand the string to the caller (malloc'd, never NULL unless oom) and reset the buffer. */
char *fv_sb_take(fv_sb *b);
/* strdup that tolerates NULL (returns NULL). */
char *fv_strdup(const char *s);

#endif
