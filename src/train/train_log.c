/* The training log's writer and its cut on resume; see train_log.h. */
#define _POSIX_C_SOURCE 200809L
#include "train/train_log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/file.h"

#define HEADER "step,loss,lr,grad_norm,tokens_per_s,eval_loss\n"

/* The step number a log line starts with, or 0 for the header or anything else. */
static uint32_t line_step(const char *s, size_t n) {
    uint64_t v = 0;
    size_t i = 0;
    while (i < n && i < 10 && s[i] >= '0' && s[i] <= '9') v = v * 10 + (uint64_t)(s[i++] - '0');
    return i > 0 && i < n && s[i] == ',' && v <= UINT32_MAX ? (uint32_t)v : 0;
}

/* Rewrite the log keeping the header and the whole lines of steps 1..step. */
static int cut(const char *path, uint32_t step) {
    char *text;
    size_t n;
    FV_TRY(fv_read_file(path, &text, &n));
    size_t keep = 0; /* bytes of the prefix that stays */
    int kept_header = 0;
    for (size_t at = 0; at < n;) {
        const char *nl = memchr(text + at, '\n', n - at);
        if (!nl) break; /* half a line: cut */
        size_t len = (size_t)(nl - (text + at));
        uint32_t s = line_step(text + at, len);
        if (at == 0 && !s) kept_header = 1;
        else if (!s || s > step) break; /* a step the checkpoint does not hold, and every line after */
        at += len + 1;
        keep = at;
    }
    int rc = 0;
    if (keep < n || !kept_header) { /* nothing to cut: leave the file alone */
        fv_awrite w;
        rc = fv_awrite_open(&w, path);
        if (!rc && !kept_header) rc = fv_awrite_put(&w, HEADER, strlen(HEADER));
        if (!rc) rc = fv_awrite_put(&w, text, keep);
        if (rc) fv_awrite_abort(&w);
        else rc = fv_awrite_commit(&w);
    }
    free(text);
    return rc;
}

int fv_train_log_open(const char *path, int resume, uint32_t step, FILE **out) {
    *out = NULL;
    int fresh = !resume || !fv_file_exists(path);
    if (!fresh) FV_TRY(cut(path, step));
    FILE *f = fopen(path, fresh ? "w" : "a");
    if (!f) return fv_err("%s: cannot open the log for writing: %s", path, strerror(errno));
    if (fresh && (fputs(HEADER, f) < 0 || fflush(f) != 0)) {
        int rc = fv_write_failed(path);
        fclose(f);
        return rc;
    }
    *out = f;
    return 0;
}

int fv_train_log_step(FILE *f, const char *path, uint32_t step, double loss, double lr, double grad_norm,
                      double tokens_per_s, int evaluated, double eval_loss) {
    char line[256];
    int k = snprintf(line, sizeof line, "%u,%.6f,%.8g,%.6f,%.1f,", step, loss, lr, grad_norm, tokens_per_s);
    if (k > 0 && (size_t)k < sizeof line && evaluated)
        k += snprintf(line + k, sizeof line - (size_t)k, "%.9g", eval_loss);
    if (k <= 0 || (size_t)k + 1 >= sizeof line) return fv_err("%s: log line too long", path);
    line[k++] = '\n';
    /* one fwrite and a flush: the line reaches the file as one write(2), whole or (disk full) not */
    errno = 0;
    if (fwrite(line, 1, (size_t)k, f) != (size_t)k || fflush(f) != 0) {
        if (!errno) errno = EIO;
        return fv_write_failed(path);
    }
    return 0;
}
