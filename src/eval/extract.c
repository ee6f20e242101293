/* Answer extraction and exact-match normalization; see extract.h. Plain byte scanning (no regex
 * engine) so the rules are explicit and the same on every platform. */
#include "eval/extract.h"

#include <stdlib.h>
#include <string.h>

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }
static int is_space(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_alnum(int c) { return is_digit(c) || (lower(c) >= 'a' && lower(c) <= 'z'); }

/* Last case-insensitive occurrence of key in text, or NULL. */
static const char *last_ci(const char *text, const char *key) {
    size_t kl = strlen(key);
    const char *best = NULL;
    for (const char *p = text; *p; p++) {
        size_t i = 0;
        while (i < kl && p[i] && lower((unsigned char)p[i]) == lower((unsigned char)key[i])) i++;
        if (i == kl) best = p;
    }
    return best;
}

static char *dupn(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

/* Letter token at p: "(X)", "X" followed by a non-alphanumeric; returns index or -1 and sets *len. */
static int letter_at(const char *p, int n, size_t *len) {
    int c;
    if (p[0] == '(' && p[1] && p[2] == ')') {
        c = lower((unsigned char)p[1]);
        *len = 3;
    } else {
        c = lower((unsigned char)p[0]);
        if (is_alnum((unsigned char)p[1]) || p[1] == '\'') return -1;
        *len = 1;
    }
    if (c < 'a' || c >= 'a' + n) return -1;
    return c - 'a';
}

int fv_extract_choice(const char *text, int n) {
    if (!text || n <= 0 || n > 26) return -1;
    const char *at = last_ci(text, "answer is");
    if (at) {
        const char *p = at + 9;
        while (*p && (is_space((unsigned char)*p) || *p == ':')) p++;
        size_t len;
        int k = *p ? letter_at(p, n, &len) : -1;
        if (k >= 0) return k;
    }
    /* A lone letter, possibly "(B)", "B.", "B)" or "B: text". */
    const char *p = text;
    while (is_space((unsigned char)*p)) p++;
    if (*p) {
        size_t len;
        int k = letter_at(p, n, &len);
        if (k < 0 && p[1] == ')') {
            int c = lower((unsigned char)p[0]);
            if (c >= 'a' && c < 'a' + n) k = c - 'a';
        }
        if (k >= 0) {
            const char *q = p + len;
            if (*q == ')' && len == 1) q++;
            const char *w = q;
            while (is_space((unsigned char)*w)) w++;
            /* "B", "B.", "B:", "B)" — but not the article in "A dog is ..." */
            if (!*w || *q == '.' || *q == ':' || *q == ',' || (len == 3 || p[1] == ')')) return k;
        }
    }
    /* Last "(X)" anywhere. */
    int found = -1;
    for (const char *s = text; *s; s++)
        if (s[0] == '(' && s[1] && s[2] == ')') {
            int c = lower((unsigned char)s[1]);
            if (c >= 'a' && c < 'a' + n && (s[1] >= 'A' && s[1] <= 'Z')) found = c - 'a';
        }
    return found;
}

char *fv_extract_after_answer_is(const char *text) {
    if (!text) text = "";
    const char *b = text;
    const char *at = last_ci(text, "so the answer is");
    if (at) b = at + 16;
    else if ((at = last_ci(text, "the answer is"))) b = at + 13;
    while (is_space((unsigned char)*b) || *b == ':') b++;
    const char *e = at ? strchr(b, '\n') : NULL;
    if (!e) e = b + strlen(b);
    while (e > b && is_space((unsigned char)e[-1])) e--;
    if (e > b && e[-1] == '.') e--;
    while (e > b && is_space((unsigned char)e[-1])) e--;
    return dupn(b, (size_t)(e - b));
}

/* Parse the number starting at p (p points at a digit); writes its normalized form. Returns the
 * end of the number. */
static const char *scan_number(const char *start, const char *p, char *buf, size_t cap, size_t *len) {
    size_t n = 0;
    int neg = p > start && p[-1] == '-' && (p - 1 == start || !is_alnum((unsigned char)p[-2]));
    if (neg && n + 1 < cap) buf[n++] = '-';
    while (*p) {
        if (is_digit((unsigned char)*p)) {
            if (n + 1 < cap) buf[n++] = *p;
            p++;
        } else if (*p == ',' && is_digit((unsigned char)p[1]) && is_digit((unsigned char)p[2]) &&
                   is_digit((unsigned char)p[3]) && !is_digit((unsigned char)p[4])) {
            p++; /* thousands separator */
        } else {
            break;
        }
    }
    if (*p == '.' && is_digit((unsigned char)p[1])) {
        size_t dot = n;
        if (n + 1 < cap) buf[n++] = '.';
        p++;
        while (is_digit((unsigned char)*p)) {
            if (n + 1 < cap) buf[n++] = *p;
            p++;
        }
        while (n > dot + 1 && buf[n - 1] == '0') n--;
        if (n == dot + 1) n = dot;
    }
    /* "-0" -> "0" */
    if (n == 2 && buf[0] == '-' && buf[1] == '0') {
        buf[0] = '0';
        n = 1;
    }
    buf[n] = 0;
    *len = n;
    return p;
}

int fv_extract_number(const char *text, char *out, size_t out_size) {
    if (!text || out_size < 2) return -1;
    char buf[128];
    size_t len = 0;
    int have = 0;
    const char *at = last_ci(text, "answer is");
    const char *from = at ? at + 9 : text;
    for (int pass = 0; pass < 2 && !have; pass++) {
        for (const char *p = from; *p;) {
            if (is_digit((unsigned char)*p) && (p == text || !is_digit((unsigned char)p[-1]))) {
                p = scan_number(text, p, buf, sizeof buf, &len);
                have = 1;
                if (at && pass == 0) break; /* first number after "answer is" */
            } else {
                p++;
            }
        }
        from = text;
        at = NULL;
    }
    if (!have || len + 1 > out_size) return -1;
    memcpy(out, buf, len + 1);
    return 0;
}

char *fv_normalize_answer(const char *s) {
    if (!s) s = "";
    size_t n = strlen(s);
    char *o = malloc(n + 1);
    if (!o) return NULL;
    size_t k = 0;
    int space = 0;
    for (const char *p = s; *p; p++) {
        if (is_space((unsigned char)*p)) {
            space = k > 0;
            continue;
        }
        if (space) o[k++] = ' ';
        space = 0;
        o[k++] = (char)lower((unsigned char)*p);
    }
    if (k && o[k - 1] == '.') k--;
    while (k && o[k - 1] == ' ') k--;
    o[k] = 0;
    /* "(b)" / "b)" -> "b" */
    if (k == 3 && o[0] == '(' && o[2] == ')' && o[1] >= 'a' && o[1] <= 'z') {
        o[0] = o[1];
        o[1] = 0;
    } else if (k == 2 && o[1] == ')' && o[0] >= 'a' && o[0] <= 'z') {
        o[1] = 0;
    }
    return o;
}

static int plain_number(const char *s) {
    char buf[64];
    if (fv_extract_number(s, buf, sizeof buf)) return 0;
    /* the whole string must be the number (modulo $, commas, spaces, a period) */
    for (const char *p = s; *p; p++)
        if (!(is_digit((unsigned char)*p) || strchr(" ,.$-", *p))) return 0;
    return 1;
}

int fv_answer_match(const char *pred, const char *gold) {
    if (plain_number(pred) && plain_number(gold)) {
        char a[64], b[64];
        fv_extract_number(pred, a, sizeof a);
        fv_extract_number(gold, b, sizeof b);
        return strcmp(a, b) == 0;
    }
    char *a = fv_normalize_answer(pred), *b = fv_normalize_answer(gold);
    int eq = a && b && strcmp(a, b) == 0;
    free(a);
    free(b);
    return eq;
}
