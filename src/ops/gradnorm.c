/* Host side of the gradient norm and clipping; see ops/gradnorm.h and shaders/gradnorm*.comp. */
#include "ops/gradnorm.h"

#include <stdio.h>
#include <stdlib.h>

#include "ops/elem_vec4.h"

#define CHUNK 16384u /* elements per workgroup: big enough to amortize, small enough to spread */

typedef struct {
    fv_buf *buf;
    uint32_t chunk0, nchunks;
} group;

struct fv_gradnorm_plan {
    fv_buf *table; /* uvec2 {first element, count} per chunk, grouped by buffer */
    uint32_t nchunks, ngroups;
    group *groups;
};

static int overlap_check(const fv_t *t, const uint32_t *lens, uint32_t n) {
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = i + 1; j < n; j++)
            if (t[i].buf == t[j].buf && lens[i] && lens[j] && (uint64_t)t[i].off < (uint64_t)t[j].off + lens[j] &&
                (uint64_t)t[j].off < (uint64_t)t[i].off + lens[i])
                return fv_err("gradnorm: tensors %u and %u overlap in buffer '%s'", i, j, t[i].buf->what);
    return 0;
}

static int fill(fv_dev *d, fv_gradnorm_plan *p, const fv_t *t, const uint32_t *lens, uint32_t n, uint32_t *tab) {
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!lens[i]) continue;
        uint32_t gi = 0;
        while (gi < p->ngroups && p->groups[gi].buf != t[i].buf) gi++;
        if (gi < p->ngroups) continue; /* buffer already gathered */
        group *gr = &p->groups[p->ngroups++];
        gr->buf = t[i].buf;
        gr->chunk0 = k;
        for (uint32_t j = i; j < n; j++) {
            if (t[j].buf != t[i].buf) continue;
            for (uint32_t s = 0; s < lens[j]; s += CHUNK) {
                tab[2 * k] = t[j].off + s;
                tab[2 * k + 1] = lens[j] - s < CHUNK ? lens[j] - s : CHUNK;
                k++;
            }
        }
        gr->nchunks = k - gr->chunk0;
    }
    p->nchunks = k;
    FV_TRY(fv_buf_alloc(d, (VkDeviceSize)k * 8, FV_MEM_DEVICE, "gradnorm chunk table", &p->table));
    return fv_buf_write(d, p->table, 0, tab, (VkDeviceSize)k * 8);
}

int fv_gradnorm_plan_create(fv_dev *d, const fv_t *tensors, const uint32_t *lens, uint32_t n, fv_gradnorm_plan **out) {
    *out = NULL;
    if (!n || !tensors || !lens) return fv_err("gradnorm: no tensors");
    uint64_t chunks = 0;
    for (uint32_t i = 0; i < n; i++) {
        char arg[32];
        snprintf(arg, sizeof arg, "tensor %u", i);
        FV_TRY(fv_op_check("gradnorm", arg, tensors[i], lens[i], 4));
        chunks += (lens[i] + (uint64_t)CHUNK - 1) / CHUNK;
    }
    if (!chunks) return fv_err("gradnorm: every tensor is empty");
    if (chunks > (1u << 26)) return fv_err("gradnorm: %llu chunks is too many", (unsigned long long)chunks);
    FV_TRY(overlap_check(tensors, lens, n));
    fv_gradnorm_plan *p = calloc(1, sizeof *p);
    uint32_t *tab = malloc(chunks * 8);
    if (p) p->groups = calloc(n, sizeof *p->groups);
    int rc = (!p || !tab || !p->groups) ? fv_err("gradnorm: out of memory") : fill(d, p, tensors, lens, n, tab);
    free(tab);
    if (rc) {
        fv_gradnorm_plan_destroy(d, p);
        return rc;
    }
    *out = p;
    return 0;
}

void fv_gradnorm_plan_destroy(fv_dev *d, fv_gradnorm_plan *p) {
    if (!p) return;
    if (p->table) fv_buf_free(d, p->table);
    free(p->groups);
    free(p);
}

uint32_t fv_gradnorm_scratch_size(const fv_gradnorm_plan *p) { return p ? p->nchunks : 0; }

static int pipeline(fv_dev *d, const char *shader, uint32_t nbind, uint32_t wmask, uint32_t push, uint32_t mode,
                    uint32_t table, fv_pipeline **p) {
    fv_pipe_desc desc;
    fv_op_desc(&desc, shader, nbind, wmask, push);
    desc.nspec = mode == UINT32_MAX ? 1 : 3;
    desc.spec[0] = fv_op_row_threads(d, 256);
    desc.spec[1] = mode;
    desc.spec[2] = table;
    return fv_pipeline_get(d, &desc, p);
}

static int grid_dispatch(fv_graph *g, fv_pipeline *pl, fv_buf *const *b, const void *pc, uint32_t groups) {
    uint32_t gx, gy;
    fv_op_grid(fv_graph_dev(g), groups, &gx, &gy);
    return fv_graph_dispatch(g, pl, b, pc, gx, gy, 1);
}

int fv_gradnorm(fv_graph *g, const fv_gradnorm_plan *p, fv_t scratch, fv_t norm) {
    const char *op = "gradnorm";
    if (!p) return fv_err("%s: no plan", op);
    FV_TRY(fv_op_check(op, "scratch", scratch, p->nchunks, 4));
    FV_TRY(fv_op_check(op, "norm", norm, 1, 4));
    for (uint32_t i = 0; i < p->ngroups; i++)
        if (p->groups[i].buf == scratch.buf || p->groups[i].buf == norm.buf)
            return fv_err("%s: scratch and norm must not share a buffer with the gradients", op);
    if (scratch.buf == norm.buf) return fv_err("%s: scratch and norm must be different buffers", op);
    fv_dev *d = fv_graph_dev(g);
    fv_pipeline *pl, *pl4 = NULL;
    FV_TRY(pipeline(d, "gradnorm", 3, 1u << 2, 12, UINT32_MAX, 0, &pl));
    if (d->use_texel && fv_elem_vec4_ok(d, 4, 0, NULL)) { /* texel devices: 4-float texels (gradnorm.comp) */
        fv_pipe_desc desc;
        fv_op_desc(&desc, "gradnorm_texel", 4, 1u << 2, 12);
        desc.bind_kind[3] = FV_BIND_TEXEL;
        desc.bind_fmt[3] = FV_TEXEL_RGBA32F;
        desc.nspec = 1;
        desc.spec[0] = fv_op_row_threads(d, 256);
        FV_TRY(fv_pipeline_get(d, &desc, &pl4));
    }
    for (uint32_t i = 0; i < p->ngroups; i++) {
        struct { uint32_t chunk0, nchunks, po; } pc = {p->groups[i].chunk0, p->groups[i].nchunks, scratch.off};
        fv_buf *b[] = {p->groups[i].buf, p->table, scratch.buf, p->groups[i].buf};
        int texel = pl4 && fv_elem_texel_ok(d, b[0]);
        FV_TRY(grid_dispatch(g, texel ? pl4 : pl, b, &pc, pc.nchunks));
    }
    struct { uint32_t nchunks, po, no; } pf = {p->nchunks, scratch.off, norm.off};
    FV_TRY(pipeline(d, "gradnorm_final", 2, 1u << 1, sizeof pf, UINT32_MAX, 0, &pl));
    fv_buf *b[] = {scratch.buf, norm.buf};
    return fv_graph_dispatch(g, pl, b, &pf, 1, 1, 1);
}

typedef struct { uint32_t chunk0, nchunks, off, n, chunk, fo; float max_norm; } scale_pc;

int fv_gradnorm_clip(fv_graph *g, const fv_gradnorm_plan *p, fv_t norm, float max_norm) {
    const char *op = "gradnorm_clip";
    if (!p) return fv_err("%s: no plan", op);
    FV_TRY(fv_op_check(op, "norm", norm, 1, 4));
    if (!(max_norm > 0.0f)) return fv_err("%s: max_norm must be > 0", op);
    for (uint32_t i = 0; i < p->ngroups; i++)
        if (p->groups[i].buf == norm.buf) return fv_err("%s: norm must not share a buffer with the gradients", op);
    fv_pipeline *pl;
    FV_TRY(pipeline(fv_graph_dev(g), "gradnorm_scale", 3, 1u << 0, sizeof(scale_pc), 1, 1, &pl));
    for (uint32_t i = 0; i < p->ngroups; i++) {
        scale_pc pc = {p->groups[i].chunk0, p->groups[i].nchunks, 0, 0, CHUNK, norm.off, max_norm};
        fv_buf *b[] = {p->groups[i].buf, p->table, norm.buf};
        FV_TRY(grid_dispatch(g, pl, b, &pc, pc.nchunks));
    }
    return 0;
}

int fv_scale_by(fv_graph *g, fv_t x, uint32_t n, fv_t factor) {
    const char *op = "scale_by";
    if (!n) return fv_err("%s: empty tensor", op);
    FV_TRY(fv_op_check(op, "x", x, n, 4));
    FV_TRY(fv_op_check(op, "factor", factor, 1, 4));
    if (x.buf == factor.buf) return fv_err("%s: factor must not share a buffer with x", op);
    fv_pipeline *pl;
    FV_TRY(pipeline(fv_graph_dev(g), "gradnorm_scale", 3, 1u << 0, sizeof(scale_pc), 0, 0, &pl));
    scale_pc pc = {0, fv_div_up(n, CHUNK), x.off, n, CHUNK, factor.off, 0};
    fv_buf *b[] = {x.buf, factor.buf, factor.buf}; /* binding 1 (table) is unused without TABLE */
    return grid_dispatch(g, pl, b, &pc, pc.nchunks);
}
