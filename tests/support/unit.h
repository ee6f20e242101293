/* Pass/fail bookkeeping for the unit tests: CHECK(cond, fmt, ...) counts a result and prints the
 * failing condition with its file, line and message. Each test is its own executable, so the
 * counters are per test; the test ends by printing "N passed, M failed". */
#ifndef FV_TEST_UNIT_H
#define FV_TEST_UNIT_H

#include <stdio.h>

static int passed, failed;

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (cond) passed++;                                                \
        else {                                                             \
            failed++;                                                      \
            printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);         \
            printf(__VA_ARGS__);                                           \
            printf("\n");                                                  \
        }                                                                  \
    } while (0)

/* dir/name in one of four rotating static buffers (so a call can take a few paths at once). */
static inline const char *unit_path(const char *dir, const char *name) {
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

#endif
