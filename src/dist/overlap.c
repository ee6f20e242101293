/* The all-reduce overlapped with the backward (see overlap.h). The spans, in the order the graph
 * finishes them, are seen as one concatenated array of floats cut into buckets; a piece is the
 * part of one span that falls into one bucket. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "dist/overlap.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/error.h"
#include "base/log.h"
#include "dist/comm.h"

/* How long the host sleeps on a mark's fence before letting MPI move the sums in flight on: short
 * against a bucket's time on any link, long enough not to take a core from the device's threads
 * on a CPU device. */
#define POLL_NS 500000ull

typedef struct {
    uint32_t span, bucket;
    uint64_t in, count, at; /* floats: into the span, of it, into the bucket */
} piece;

struct fv_dist_overlap {
    fv_dev *d;
    fv_graph *g;       /* the step graph, marked */
    fv_graph *back;    /* copies the sums from the staging back over the gradients */
    uint32_t nb, nmarks;
    fv_buf **stage;    /* per bucket: host-visible, written by the device at the bucket's mark */
    float **host;      /* per bucket: where MPI sums it (the staging's mapping, or own memory) */
    unsigned char *own; /* host[b] is own memory: the staging is not host-coherent */
    uint64_t *count;   /* floats per bucket */
    uint32_t *mark;    /* per bucket: its mark (non-decreasing) */
    uint64_t bytes;
};

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

typedef struct { uint32_t unit, span; } by_unit;
static int cmp_unit(const void *a, const void *b) {
    const by_unit *x = a, *y = b;
    if (x->unit != y->unit) return x->unit < y->unit ? -1 : 1;
    return x->span < y->span ? -1 : x->span > y->span;
}

void fv_dist_overlap_free(fv_dist_overlap *o) {
    if (!o) return;
    fv_graph_destroy(o->back);
    for (uint32_t b = 0; b < o->nb; b++) {
        if (o->stage) fv_buf_free(o->d, o->stage[b]);
        if (o->own && o->own[b]) free(o->host[b]);
    }
    free(o->stage);
    free(o->host);
    free(o->own);
    free(o->count);
    free(o->mark);
    free(o);
}

/* Pieces of the spans in completion order, cut at bucket boundaries of cap floats; bucket_unit[b]:
 * the last unit writing bucket b. */
static int cut(const fv_graph *g, const fv_dist_span *spans, size_t n, uint64_t cap, piece **out, uint32_t *npieces,
               uint32_t **bucket_unit, uint32_t *nb) {
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) total += spans[i].count;
    uint64_t maxb = (total + cap - 1) / cap;
    by_unit *order = malloc((n ? n : 1) * sizeof *order);
    piece *p = malloc((n + maxb + 1) * sizeof *p);
    uint32_t *bu = calloc(maxb + 1, sizeof *bu);
    if (!order || !p || !bu) {
        free(order);
        free(p);
        free(bu);
        return fv_err("out of host memory");
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t u = fv_graph_last_write(g, spans[i].buf);
        /* not written by this graph (a gradient an earlier micro-batch finished): ready at once */
        order[i] = (by_unit){u == UINT32_MAX ? 0 : u, (uint32_t)i};
    }
    qsort(order, n, sizeof *order, cmp_unit);
    uint32_t np = 0, b = 0;
    uint64_t fill = 0;
    for (size_t j = 0; j < n; j++) {
        const fv_dist_span *s = &spans[order[j].span];
        for (uint64_t in = 0; in < s->count;) {
            uint64_t take = s->count - in < cap - fill ? s->count - in : cap - fill;
            p[np++] = (piece){order[j].span, b, in, take, fill};
            if (order[j].unit > bu[b]) bu[b] = order[j].unit;
            in += take;
            fill += take;
            if (fill == cap) {
                b++;
                fill = 0;
            }
        }
    }
    free(order);
    *out = p;
    *npieces = np;
    *bucket_unit = bu;
    *nb = b + (fill > 0);
    return 0;
}

static int plan(fv_dist_overlap *o, const fv_dist_span *spans, size_t n) {
    uint64_t cap = fv_dist_bucket_floats();
    piece *p = NULL;
    uint32_t np = 0, *bu = NULL, *after = NULL, *first = NULL;
    fv_graph_mark_copy *copies = NULL;
    int rc = cut(o->g, spans, n, cap, &p, &np, &bu, &o->nb);
    if (rc) return rc;
    uint32_t nb = o->nb;
    o->stage = calloc(nb ? nb : 1, sizeof *o->stage);
    o->host = calloc(nb ? nb : 1, sizeof *o->host);
    o->own = calloc(nb ? nb : 1, 1);
    o->count = calloc(nb ? nb : 1, sizeof *o->count);
    o->mark = calloc(nb ? nb : 1, sizeof *o->mark);
    after = malloc((nb ? nb : 1) * sizeof *after);
    first = malloc((nb + 1) * sizeof *first);
    copies = malloc((np ? np : 1) * sizeof *copies);
    if (!o->stage || !o->host || !o->own || !o->count || !o->mark || !after || !first || !copies)
        rc = fv_err("out of host memory");
    for (uint32_t i = 0; !rc && i < np; i++) o->count[p[i].bucket] += p[i].count;
    for (uint32_t b = 0; !rc && b < nb; b++) {
        rc = fv_buf_alloc(o->d, o->count[b] * 4, FV_MEM_HOST, "all-reduce staging", &o->stage[b]);
        if (!rc && o->stage[b]->host) {
            o->host[b] = o->stage[b]->host;
        } else if (!rc) {
            o->own[b] = 1;
            o->host[b] = malloc(o->count[b] * 4);
            if (!o->host[b]) rc = fv_err("out of host memory for the all-reduce's bucket %u", b);
        }
        o->bytes += o->count[b] * 4;
    }
    /* one mark per distinct unit ending a bucket; a bucket's copies go with its mark */
    uint32_t nm = 0;
    for (uint32_t i = 0; !rc && i < np; i++) {
        uint32_t b = p[i].bucket;
        if (!nm || bu[b] != after[nm - 1]) {
            after[nm] = bu[b];
            first[nm++] = i;
        }
        o->mark[b] = nm - 1;
        const fv_dist_span *s = &spans[p[i].span];
        copies[i] = (fv_graph_mark_copy){s->buf, o->stage[b], (s->off + p[i].in) * 4, p[i].at * 4, p[i].count * 4};
    }
    if (!rc) {
        first[nm] = np;
        o->nmarks = nm;
        rc = fv_graph_set_marks(o->g, after, nm, first, copies);
    }
    /* the way back, recorded once */
    if (!rc) rc = fv_graph_create(o->d, &o->back);
    if (!rc) rc = fv_graph_begin(o->back);
    for (uint32_t i = 0; !rc && i < np; i++) {
        const fv_dist_span *s = &spans[p[i].span];
        rc = fv_graph_copy(o->back, o->stage[p[i].bucket], p[i].at * 4, s->buf, (s->off + p[i].in) * 4, p[i].count * 4);
    }
    if (!rc) rc = fv_graph_end(o->back);
    free(p);
    free(bu);
    free(after);
    free(first);
    free(copies);
    return rc;
}

int fv_dist_overlap_create(fv_dev *d, fv_graph *g, const fv_dist_span *spans, size_t n, fv_dist_overlap **out) {
    *out = NULL;
    fv_dist_overlap *o = calloc(1, sizeof *o);
    if (!o) return fv_err("out of host memory");
    o->d = d;
    o->g = g;
    if (plan(o, spans, n)) {
        fv_dist_overlap_free(o);
        return fv_err_wrap("overlapped all-reduce");
    }
    fv_info("dist: all-reduce overlapped with the backward: %.1f MiB in %u buckets, started at %u points of the "
            "step's %u", o->bytes / 1048576.0, o->nb, o->nmarks, fv_graph_num_units(g));
    *out = o;
    return 0;
}

void fv_dist_overlap_size(const fv_dist_overlap *o, uint32_t *buckets, uint32_t *marks) {
    *buckets = o->nb;
    *marks = o->nmarks;
}

int fv_dist_overlap_run(fv_dist_overlap *o) {
    fv_dist *c = fv_dist_get();
    FV_TRY(fv_dist_slots(o->nb));
    FV_TRY(fv_graph_submit(o->g));
    double t_first = -1;
    uint32_t b = 0;
    int rc = 0;
    for (uint32_t k = 0; !rc && k < o->nmarks; k++) {
        int passed = 0;
        while (!rc && !passed) {
            rc = fv_graph_poll_mark(o->g, k, POLL_NS, &passed);
            if (!rc && !passed) rc = fv_dist_progress();
        }
        for (; !rc && b < o->nb && o->mark[b] == k; b++) {
            if (o->own[b]) rc = fv_buf_read(o->d, o->stage[b], 0, o->host[b], o->count[b] * 4);
            if (t_first < 0) t_first = now();
            if (!rc) rc = fv_dist_isum_f32(o->host[b], o->count[b], (int)b);
        }
    }
    int wrc = fv_graph_wait(o->g); /* the graph is done with before anything returns */
    if (!rc) rc = wrc;
    double t_graph = now();
    if (t_first < 0) t_first = t_graph;
    for (b = 0; !rc && b < o->nb; b++) {
        rc = fv_dist_wait((int)b);
        if (!rc && o->own[b]) rc = fv_buf_write(o->d, o->stage[b], 0, o->host[b], o->count[b] * 4);
    }
    if (!rc && o->nb) rc = fv_graph_run(o->back);
    double t_end = now();
    c->reduce_bytes += o->bytes;
    c->reduce_s += t_end - t_first;
    c->exposed_s += t_end - t_graph;
    if (rc) return fv_err_wrap("gradient all-reduce over %d ranks, overlapped with the backward", c->size);
    return 0;
}
