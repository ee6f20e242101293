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

#endif
