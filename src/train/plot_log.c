/* Training logs to a PNG; see plot_log.h. Columns are found by their header names (step, loss, lr,
 * eval_loss), so logs from before the eval_loss column still draw. A resumed run appends to its log;
 * if it restarted from a checkpoint older than the last logged step, the steps it repeats replace
 * the earlier lines, as they replaced that part of the run. */
#define _POSIX_C_SOURCE 200809L
#include "train/plot_log.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/file.h"
#include "train/plot.h"

typedef struct {
    char label[128];
    uint32_t *steps;
    float *loss, *lr, *eval; /* eval: (step, loss) pairs */
    uint32_t n, neval, cap;
} log_run;

static void log_free(log_run *r) {
    free(r->steps);
    free(r->loss);
    free(r->lr);
    free(r->eval);
}

/* Split line in place at commas: up to max fields, returns the count. */
static int split(char *line, char **f, int max) {
    int n = 0;
    for (char *p = line; n < max;) {
        f[n++] = p;
        char *c = strchr(p, ',');
        if (!c) break;
        *c = 0;
        p = c + 1;
    }
    return n;
}

static int read_log(const char *path, log_run *r) {
    char *text;
    size_t size;
    FV_TRY(fv_read_file(path, &text, &size));
    const char *b = strrchr(path, '/');
    snprintf(r->label, sizeof r->label, "%s", b ? b + 1 : path);
    int col_step = -1, col_loss = -1, col_lr = -1, col_eval = -1, rc = 0;
    size_t lineno = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line && !rc; line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        size_t len = strlen(line);
        if (len && line[len - 1] == '\r') line[len - 1] = 0;
        char *f[32];
        int nf = split(line, f, 32);
        if (!strcmp(f[0], "step")) { /* a header (again after a fresh restart into the same log) */
            col_step = col_loss = col_lr = col_eval = -1;
            for (int i = 0; i < nf; i++) {
                if (!strcmp(f[i], "step")) col_step = i;
                else if (!strcmp(f[i], "loss")) col_loss = i;
                else if (!strcmp(f[i], "lr")) col_lr = i;
                else if (!strcmp(f[i], "eval_loss")) col_eval = i;
            }
            if (col_loss < 0) rc = fv_err("%s:%zu: the header has no 'loss' column", path, lineno);
            continue;
        }
        if (col_step < 0) {
            rc = fv_err("%s:%zu: expected the header line 'step,loss,...' of a flanvk train --log file", path, lineno);
            break;
        }
        char *end;
        if (col_step >= nf || col_loss >= nf) {
            rc = fv_err("%s:%zu: %d fields, fewer than the header's", path, lineno, nf);
            break;
        }
        unsigned long step = strtoul(f[col_step], &end, 10);
        if (!*f[col_step] || *end) {
            rc = fv_err("%s:%zu: step '%s' is not a number", path, lineno, f[col_step]);
            break;
        }
        /* a restart from an older checkpoint: its lines replace those of the steps it repeats */
        while (r->n && r->steps[r->n - 1] >= step) r->n--;
        while (r->neval && r->eval[2 * (r->neval - 1)] >= (float)step) r->neval--;
        if (r->n == r->cap) {
            r->cap = r->cap ? 2 * r->cap : 256;
            uint32_t *s = realloc(r->steps, r->cap * sizeof *s);
            if (s) r->steps = s;
            float *l = realloc(r->loss, r->cap * sizeof *l);
            if (l) r->loss = l;
            float *q = realloc(r->lr, r->cap * sizeof *q);
            if (q) r->lr = q;
            float *e = realloc(r->eval, 2 * r->cap * sizeof *e);
            if (e) r->eval = e;
            if (!s || !l || !q || !e) {
                rc = fv_err("out of host memory");
                break;
            }
        }
        r->steps[r->n] = (uint32_t)step;
        r->loss[r->n] = strtof(f[col_loss], NULL); /* "nan" of a skipped step stays NaN: not drawn */
        r->lr[r->n] = col_lr >= 0 && col_lr < nf ? strtof(f[col_lr], NULL) : NAN;
        r->n++;
        if (col_eval >= 0 && col_eval < nf && *f[col_eval]) {
            r->eval[2 * r->neval] = (float)step;
            r->eval[2 * r->neval + 1] = strtof(f[col_eval], NULL);
            r->neval++;
        }
    }
    free(text);
    if (!rc && !r->n) rc = fv_err("%s: no logged steps", path);
    return rc;
}

int fv_plot_logs(const char *const *csv, uint32_t n, const char *out_png) {
    if (!n) return fv_err("plot: give at least one --log FILE.csv");
    if (!out_png) return fv_err("plot: --out FILE.png is required");
    log_run *runs = calloc(n, sizeof *runs);
    fv_plot_run *pr = calloc(n, sizeof *pr);
    int rc = !runs || !pr ? fv_err("out of host memory") : 0;
    char title[256] = "training loss:";
    for (uint32_t i = 0; !rc && i < n; i++) {
        rc = read_log(csv[i], &runs[i]);
        size_t len = strlen(title);
        snprintf(title + len, sizeof title - len, "%s%s", i ? " vs " : " ", runs[i].label);
        pr[i] = (fv_plot_run){n > 1 ? runs[i].label : NULL, runs[i].steps, runs[i].loss, runs[i].lr, runs[i].n,
                              runs[i].eval, runs[i].neval};
    }
    void *png = NULL;
    size_t size = 0;
    if (!rc) rc = fv_plot_png(title, pr, n, &png, &size);
    if (!rc) {
        fv_awrite w;
        rc = fv_awrite_open(&w, out_png);
        if (!rc && (rc = fv_awrite_put(&w, png, size))) {
            fv_awrite_abort(&w);
        } else if (!rc) {
            rc = fv_awrite_commit(&w);
        }
    }
    free(png);
    for (uint32_t i = 0; runs && i < n; i++) log_free(&runs[i]);
    free(runs);
    free(pr);
    return rc;
}
