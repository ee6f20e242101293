/* The op-check harness; see check.h. */
#include "check/check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref/cast.h"

static int keep(void ***arr, size_t *n, size_t *cap, void *p) {
    if (!p) return -1;
    if (*n == *cap) {
        size_t nc = *cap ? 2 * *cap : 64;
        void **na = realloc(*arr, nc * sizeof *na);
        if (!na) return -1;
        *arr = na;
        *cap = nc;
    }
    (*arr)[(*n)++] = p;
    return 0;
}

static void *host(fv_check *c, size_t bytes) {
    void *p = calloc(bytes ? bytes : 1, 1);
    if (keep(&c->mem, &c->nmem, &c->capmem, p)) {
        free(p);
        return NULL;
    }
    return p;
}

float *fv_check_alloc(fv_check *c, size_t n) { return host(c, n * sizeof(float)); }
uint32_t *fv_check_alloc_u32(fv_check *c, size_t n) { return host(c, n * sizeof(uint32_t)); }

float *fv_check_rand(fv_check *c, size_t n, float lo, float hi) {
    float *p = fv_check_alloc(c, n);
    for (size_t i = 0; p && i < n; i++) p[i] = lo + (hi - lo) * fv_rng_uniform(&c->rng);
    return p;
}

float *fv_check_copy(fv_check *c, const float *src, size_t n) {
    float *p = fv_check_alloc(c, n);
    if (p) memcpy(p, src, n * sizeof *p);
    return p;
}

static fv_buf *device(fv_check *c, const void *data, size_t bytes) {
    fv_buf *b;
    if (fv_buf_alloc(c->d, bytes, FV_MEM_DEVICE, "check", &b)) return NULL;
    if (keep((void ***)&c->bufs, &c->nbufs, &c->capbufs, b)) {
        fv_buf_free(c->d, b);
        return NULL;
    }
    int rc = data ? fv_buf_write(c->d, b, 0, data, bytes) : fv_buf_fill_u32(c->d, b, 0x7fc00000u /* NaN */);
    return rc ? NULL : b;
}

fv_buf *fv_check_upload(fv_check *c, const float *data, size_t n) { return device(c, data, n * sizeof(float)); }
fv_buf *fv_check_upload_u32(fv_check *c, const uint32_t *data, size_t n) { return device(c, data, n * sizeof(uint32_t)); }

float *fv_check_download(fv_check *c, fv_buf *b, size_t n) {
    float *p = fv_check_alloc(c, n);
    if (p && fv_buf_read(c->d, b, 0, p, n * sizeof *p)) return NULL;
    return p;
}

fv_buf *fv_check_upload_f16(fv_check *c, const float *data, size_t n) {
    fv_buf *b = fv_check_upload(c, NULL, (n + 1) / 2);
    float *nans = data ? NULL : fv_check_alloc(c, n);
    for (size_t i = 0; nans && i < n; i++) nans[i] = NAN;
    if (!b || (!data && !nans) || fv_check_write_f16(c, b, data ? data : nans, n)) return NULL;
    return b;
}

int fv_check_write_f16(fv_check *c, fv_buf *b, const float *x, size_t n) {
    size_t w = (n + 1) / 2; /* whole 32-bit words: the odd tail half is 0 */
    uint16_t *h = (uint16_t *)fv_check_alloc(c, w);
    if (!h) return -1;
    h[2 * w - 1] = 0;
    fv_ref_cast_f16(x, h, n);
    return fv_buf_write(c->d, b, 0, h, w * 4);
}

float *fv_check_download_f16(fv_check *c, fv_buf *b, size_t n) {
    const uint16_t *h = (const uint16_t *)fv_check_download(c, b, (n + 1) / 2);
    float *p = h ? fv_check_alloc(c, n) : NULL;
    for (size_t i = 0; p && i < n; i++) p[i] = fv_ref_f16_value(h[i]);
    return p;
}

int fv_check_begin(fv_check *c) { return fv_graph_begin(c->g); }

int fv_check_run(fv_check *c) {
    FV_TRY(fv_graph_end(c->g));
    return fv_graph_run(c->g);
}

double fv_rel_err(const float *got, const float *ref, size_t n) {
    double maxref = 0, maxdiff = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(got[i])) return INFINITY;
        double r = fabs((double)ref[i]), e = fabs((double)got[i] - ref[i]);
        if (r > maxref) maxref = r;
        if (e > maxdiff) maxdiff = e;
    }
    return maxdiff / (maxref > 1e-30 ? maxref : 1e-30);
}

/* Keep one result in the log; a full log (out of memory) only loses the report line. */
static void record(fv_check *c, const char *what, const char *shape, double err, double tol, int ok, const char *detail) {
    fv_check_log *l = c->log;
    if (!l) return;
    if (l->n == l->cap) {
        size_t nc = l->cap ? 2 * l->cap : 256;
        flanvk_op_result *nr = realloc(l->r, nc * sizeof *nr);
        if (!nr) return;
        l->r = nr;
        l->cap = nc;
    }
    flanvk_op_result *r = &l->r[l->n++];
    memset(r, 0, sizeof *r);
    snprintf(r->op, sizeof r->op, "%s", c->name ? c->name : "");
    snprintf(r->what, sizeof r->what, "%s", what ? what : "");
    snprintf(r->shape, sizeof r->shape, "%s", shape ? shape : "");
    snprintf(r->detail, sizeof r->detail, "%s", detail ? detail : "");
    r->error = err;
    r->tolerance = tol;
    r->passed = ok;
}

void fv_check_log_free(fv_check_log *log) {
    free(log->r);
    memset(log, 0, sizeof *log);
}

int fv_check_compare(fv_check *c, const char *what, const char *shape, const float *got, const float *ref, size_t n,
                     double tol) {
    if (!got || !ref) return fv_check_fail(c, what, shape, fv_last_error());
    double e = fv_rel_err(got, ref, n);
    int ok = e <= tol;
    if (c->out) fprintf(c->out, "%s %s: max rel err %.2e (tol %.0e) %s\n", what, shape, e, tol, ok ? "OK" : "FAIL");
    record(c, what, shape, e, tol, ok, "");
    if (ok) c->passed++;
    else c->failed++;
    return ok ? 0 : -1;
}

int fv_check_fail(fv_check *c, const char *what, const char *shape, const char *why) {
    if (c->out) fprintf(c->out, "%s %s: FAIL: %s\n", what, shape, why);
    record(c, what, shape, -1, -1, 0, why);
    c->failed++;
    return -1;
}

void fv_check_pass(fv_check *c, const char *what, const char *shape, const char *detail) {
    if (c->out) fprintf(c->out, "%s %s: %s OK\n", what, shape, detail);
    record(c, what, shape, -1, -1, 1, detail);
    c->passed++;
}

int fv_check_rejected(fv_check *c, const char *what, const int *rcs, int n, const char *rejected) {
    for (int i = 0; i < n; i++)
        if (rcs[i] == 0) {
            char why[64];
            snprintf(why, sizeof why, "bad call %d of %d was accepted", i, n);
            return fv_check_fail(c, what, "bad input", why);
        }
    fv_check_pass(c, what, "bad input", rejected);
    return 0;
}

int fv_check_fd(fv_check *c, const char *what, const char *shape, fv_loss_fn loss, void *ctx, float *x, size_t n,
                const float *grad, int samples, double h, double tol) {
    float *num = fv_check_alloc(c, (size_t)samples), *ana = fv_check_alloc(c, (size_t)samples);
    if (!num || !ana) return fv_check_fail(c, what, shape, "out of memory");
    for (int s = 0; s < samples; s++) {
        size_t i = (size_t)fv_rng_below(&c->rng, n);
        float keep_x = x[i];
        x[i] = (float)(keep_x + h);
        double up = loss(ctx, x);
        x[i] = (float)(keep_x - h);
        double down = loss(ctx, x);
        double step = ((double)(float)(keep_x + h) - (double)(float)(keep_x - h)); /* the step actually taken */
        x[i] = keep_x;
        num[s] = (float)((up - down) / step);
        ana[s] = grad[i];
    }
    return fv_check_compare(c, what, shape, ana, num, (size_t)samples, tol);
}

void fv_check_release(fv_check *c) {
    for (size_t i = 0; i < c->nbufs; i++) fv_buf_free(c->d, c->bufs[i]);
    for (size_t i = 0; i < c->nmem; i++) free(c->mem[i]);
    c->nbufs = c->nmem = 0;
}

int fv_check_run_all(fv_dev *d, const char *filter, FILE *out, fv_check_log *log, int *passed, int *failed) {
    fv_check c = {.d = d, .out = out, .log = log};
    const char *q = getenv("FLANVK_CHECK_QUICK");
    c.quick = q && *q && *q != '0';
    const char *seed = getenv("FLANVK_CHECK_SEED");
    fv_rng_seed(&c.rng, seed ? strtoull(seed, NULL, 10) : 0x5eedf1a9ull);
    FV_TRY(fv_graph_create(d, &c.g));
    int ran = 0;
    for (const fv_check_entry *e = fv_check_registry; e->name; e++) {
        if (filter && *filter && strcmp(e->name, filter)) continue;
        ran++;
        c.name = e->name;
        int before = c.failed;
        int rc = e->fn(&c);
        if (rc && c.failed == before) fv_check_fail(&c, e->name, "", fv_last_error());
        fv_check_release(&c);
    }
    fv_graph_destroy(c.g);
    free(c.bufs);
    free(c.mem);
    *passed = c.passed;
    *failed = c.failed;
    if (!ran) return fv_err("no op check matches '%s'", filter ? filter : "");
    return 0;
}
