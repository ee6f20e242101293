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
    char prefix[512], old[sizeof msg];
    memcpy(old, msg, sizeof msg);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    snprintf(msg, sizeof msg, "%s: %s", prefix, old[0] ? old : "failed");
    return -1;
}

const char *fv_last_error(void) { return msg[0] ? msg : "no error"; }

void fv_clear_error(void) { msg[0] = 0; }
