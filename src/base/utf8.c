/* Strict UTF-8 validator; see utf8.h. Table of valid byte ranges from RFC 3629, section 4. */
#include "base/utf8.h"

int fv_utf8_valid(const char *str, size_t n, size_t *bad) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len;
        unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
        if (c == 0) goto fail;
        if (c < 0x80) { i++; continue; }
        if (c >= 0xC2 && c <= 0xDF) len = 2;
        else if (c == 0xE0) { len = 3; lo = 0xA0; }
        else if (c >= 0xE1 && c <= 0xEC) len = 3;
        else if (c == 0xED) { len = 3; hi = 0x9F; }  /* excludes surrogates */
        else if (c >= 0xEE && c <= 0xEF) len = 3;
        else if (c == 0xF0) { len = 4; lo = 0x90; }
        else if (c >= 0xF1 && c <= 0xF3) len = 4;
        else if (c == 0xF4) { len = 4; hi = 0x8F; }  /* <= U+10FFFF */
        else goto fail;
        if (i + len > n) goto fail;
        if (s[i + 1] < lo || s[i + 1] > hi) goto fail;
        for (size_t k = 2; k < len; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF) goto fail;
        i += len;
    }
    return 1;
fail:
    if (bad) *bad = i;
    return 0;
}
