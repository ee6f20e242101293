/* Thread-local last-error message (see error.h). */
#include "base/error.h"

#include <stdio.h>
#include <string.h>

static _Thread_local char msg[1024];

int fv_verr(const char *fmt, va_list ap) {
    vsnprintf(msg, sizeof msg, fmt, ap);
    return -1;
}

int fv_err(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fv_verr(fmt, ap);
    va_end(ap);
    return -1;
}

int fv_err_wrap(const char *fmt, ...) {
    char old[sizeof msg];
    memcpy(old, msg, sizeof msg);
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* append ": old message", cut to fit */
    size_t used = k < 0 ? 0 : (size_t)k < sizeof msg ? (size_t)k : sizeof msg - 1;
    if (used + 3 < sizeof msg) {
        memcpy(msg + used, ": ", 2);
        const char *tail = old[0] ? old : "failed";
        size_t room = sizeof msg - used - 3, n = strlen(tail);
        if (n > room) n = room;
        memcpy(msg + used + 2, tail, n);
        msg[used + 2 + n] = 0;
    }
    return -1;
}

const char *fv_last_error(void) { return msg[0] ? msg : "no error"; }

void fv_clear_error(void) { msg[0] = 0; }
