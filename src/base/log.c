/* stderr logging with a level chosen once from FLANVK_LOG. */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fv_log_level(void) {
    static int level = -1;
    if (level < 0) {
        const char *e = getenv("FLANVK_LOG");
        level = FV_LOG_WARN;
        if (e && !strcmp(e, "error")) level = FV_LOG_ERROR;
        if (e && !strcmp(e, "info")) level = FV_LOG_INFO;
        if (e && !strcmp(e, "debug")) level = FV_LOG_DEBUG;
    }
    return level;
}

void fv_log(int level, const char *fmt, ...) {
    static const char *names[] = {"error", "warning", "info", "debug"};
    if (level > fv_log_level()) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "flanvk: %s: ", names[level]);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
