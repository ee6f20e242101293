/* Error status and message kept for flanvk_last_error().
 * Every fallible function returns int (0 = ok, non-zero = failure) and, on failure, records one
 * line saying what failed (file, tensor, key, line). The message is thread-local so concurrent
 * users of the library do not clobber each other's errors. */
#ifndef FV_BASE_ERROR_H
#define FV_BASE_ERROR_H

#include <stdarg.h>

#if defined(__GNUC__)
#define FV_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define FV_PRINTF(a, b)
#endif

/* Record a message and return -1, so callers can write `return fv_err("...")`. */
int fv_err(const char *fmt, ...) FV_PRINTF(1, 2);
int fv_verr(const char *fmt, va_list ap);
/* Prefix the current message with more context: "ctx: old message". Returns -1. */
int fv_err_wrap(const char *fmt, ...) FV_PRINTF(1, 2);
const char *fv_last_error(void);
void fv_clear_error(void);

#define FV_TRY(expr)                  \
    do {                              \
        int fv_try_rc_ = (expr);      \
        if (fv_try_rc_) return fv_try_rc_; \
    } while (0)

#endif
