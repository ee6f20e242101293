/* Parser of BBH cot-prompts/<task>.txt; see bbh.h for the layout. */
#include "data/bbh.h"

#include "base/error.h"
#include "base/file.h"
#include "data/strbuf.h"
#include "base/utf8.h"

#include <stdlib.h>
#include <string.h>

void fv_bbh_prompt_free(fv_bbh_prompt *p) {
    free(p->prefix);
    free(p->description);
    for (size_t i = 0; i < p->n; i++) {
        free(p->q[i]);
        free(p->a[i]);
        free(p->answer[i]);
    }
    memset(p, 0, sizeof *p);
}

static char *dupn(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

/* Text after the last "So the answer is ", without surrounding spaces and one final period. */
static char *final_answer(const char *a) {
    static const char key[] = "So the answer is ";
    const char *at = NULL;
    for (const char *s = strstr(a, key); s; s = strstr(s + 1, key)) at = s;
    if (!at) return NULL;
    const char *b = at + sizeof key - 1, *e = b + strlen(b);
    while (e > b && (e[-1] == ' ' || e[-1] == '\n')) e--;
    if (e > b && e[-1] == '.') e--;
    while (e > b && e[-1] == ' ') e--;
    return dupn(b, (size_t)(e - b));
}

int fv_bbh_prompt_load(fv_bbh_prompt *p, const char *path) {
    memset(p, 0, sizeof *p);
    char *text;
    size_t size, bad;
    FV_TRY(fv_read_file(path, &text, &size));
    int rc = 0;
    if (!fv_utf8_valid(text, size, &bad)) {
        rc = fv_err("%s: invalid UTF-8 at byte %zu", path, bad);
        goto done;
    }
    const char *dash = strstr(text, "\n-----\n");
    if (!dash) {
        rc = fv_err("%s:2: missing the \"-----\" line after the canary", path);
        goto done;
    }
    const char *pre = dash + 7;
    p->prefix = dupn(pre, size - (size_t)(pre - text));
    const char *q = strstr(pre, "\n\nQ: ");
    if (!p->prefix || !q) {
        rc = p->prefix ? fv_err("%s: no \"Q: \" exemplar after the description", path) : fv_err("%s: out of memory", path);
        goto done;
    }
    p->description = dupn(pre, (size_t)(q - pre));
    while (q) {
        const char *body = q + 5; /* after "\n\nQ: " */
        const char *next = strstr(body, "\n\nQ: ");
        const char *end = next ? next : text + size;
        const char *a = strstr(body, "\nA: ");
        if (!a || a > end) {
            rc = fv_err("%s: exemplar %zu has no \"\\nA: \" line", path, p->n + 1);
            goto done;
        }
        if (p->n == FV_BBH_MAX_SHOTS) {
            rc = fv_err("%s: more than %d exemplars", path, FV_BBH_MAX_SHOTS);
            goto done;
        }
        size_t i = p->n++;
        p->q[i] = dupn(body, (size_t)(a - body));
        p->a[i] = dupn(a + 4, (size_t)(end - (a + 4)));
        if (!p->q[i] || !p->a[i]) {
            rc = fv_err("%s: out of memory", path);
            goto done;
        }
        p->answer[i] = final_answer(p->a[i]);
        if (!p->answer[i]) {
            rc = fv_err("%s: exemplar %zu has no \"So the answer is\"", path, i + 1);
            goto done;
        }
        q = next;
    }
done:
    if (rc) fv_bbh_prompt_free(p);
    free(text);
    return rc;
}

char *fv_bbh_prompt_cot(const fv_bbh_prompt *p, const char *input) {
    fv_sb b = {0};
    fv_sb_adds(&b, p->prefix);
    fv_sb_adds(&b, "\n\nQ: ");
    fv_sb_adds(&b, input);
    fv_sb_adds(&b, "\nA: Let's think step by step.");
    return fv_sb_take(&b);
}

char *fv_bbh_prompt_direct(const fv_bbh_prompt *p, const char *input) {
    fv_sb b = {0};
    fv_sb_adds(&b, p->description);
    for (size_t i = 0; i < p->n; i++) {
        fv_sb_adds(&b, "\n\nQ: ");
        fv_sb_adds(&b, p->q[i]);
        fv_sb_adds(&b, "\nA: ");
        fv_sb_adds(&b, p->answer[i]);
    }
    fv_sb_adds(&b, "\n\nQ: ");
    fv_sb_adds(&b, input);
    fv_sb_adds(&b, "\nA:");
    return fv_sb_take(&b);
}
