/* Helpers shared by the op host files; see op.h. */
#include "ops/op.h"

#include <stdio.h>
#include <string.h>

#include "base/log.h"

int fv_op_check(const char *op, const char *arg, fv_t t, uint64_t n, uint32_t elem_bytes) {
    if (!t.buf) return fv_err("%s: %s is a null buffer", op, arg);
    uint64_t need = ((uint64_t)t.off + n) * elem_bytes;
    if (need > t.buf->size)
        return fv_err("%s: %s needs %llu bytes from element %u but buffer '%s' has %llu", op, arg,
                      (unsigned long long)(n * elem_bytes), t.off, t.buf->what, (unsigned long long)t.buf->size);
    return 0;
}

void fv_op_desc(fv_pipe_desc *desc, const char *shader, uint32_t nbind, uint32_t write_mask, uint32_t push_size) {
    memset(desc, 0, sizeof *desc);
    desc->shader = shader;
    desc->nbind = nbind;
    desc->write_mask = write_mask;
    desc->push_size = push_size;
}

uint32_t fv_op_row_threads(const fv_dev *d, uint32_t cols) {
    uint32_t sg = d->subgroup_size ? d->subgroup_size : 32;
    /* CPU drivers: one subgroup per row, so reductions need no barrier (see rowsum.glsl). */
    if (d->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU) return sg;
    uint32_t t = sg;
    while (t < 256 && t < cols) t *= 2;
    if (t > d->info.max_workgroup_invocations) t = d->info.max_workgroup_invocations;
    return t;
}

void fv_op_grid(const fv_dev *d, uint32_t groups, uint32_t *gx, uint32_t *gy) {
    uint32_t maxx = d->props.limits.maxComputeWorkGroupCount[0];
    if (groups <= maxx) {
        *gx = groups;
        *gy = 1;
    } else {
        *gy = (groups + maxx - 1) / maxx;
        *gx = (groups + *gy - 1) / *gy;
    }
}

static void count_cut(fv_dev *d, const char *shader, uint32_t ranges) {
    for (size_t i = 0; i < sizeof d->cuts / sizeof d->cuts[0]; i++) {
        if (d->cuts[i].shader[0] && strcmp(d->cuts[i].shader, shader)) continue;
        if (!d->cuts[i].shader[0]) snprintf(d->cuts[i].shader, sizeof d->cuts[i].shader, "%s", shader);
        d->cuts[i].cut++;
        d->cuts[i].ranges += ranges;
        return;
    }
}

int fv_op_dispatch_bounded(fv_graph *g, fv_pipeline *p, fv_buf *const *bufs, const void *push, uint32_t groups,
                           double work_per_group, double units_per_ms) {
    fv_dev *d = fv_graph_dev(g);
    uint32_t gx, gy;
    fv_op_grid(d, groups, &gx, &gy);
    double cap = (double)fv_graph_max_work(g, units_per_ms);
    if (groups == 0 || (double)groups * work_per_group <= cap) return fv_graph_dispatch(g, p, bufs, push, gx, gy, 1);
    /* per range: workgroups (one grid row) or grid rows (several) */
    double fit = work_per_group > 0 ? cap / work_per_group : (double)groups;
    uint32_t ranges = 0;
    if (gy == 1) {
        uint32_t n = fit < 1 ? 1 : fit > gx ? gx : (uint32_t)fit;
        for (uint32_t x = 0; x < gx; x += n, ranges++) {
            uint32_t base[3] = {x, 0, 0}, count[3] = {gx - x < n ? gx - x : n, 1, 1};
            FV_TRY(fv_graph_dispatch_range(g, p, bufs, push, base, count));
        }
    } else {
        double rows = fit / gx;
        uint32_t n = rows < 1 ? 1 : rows > gy ? gy : (uint32_t)rows;
        for (uint32_t y = 0; y < gy; y += n, ranges++) {
            uint32_t base[3] = {0, y, 0}, count[3] = {gx, gy - y < n ? gy - y : n, 1};
            FV_TRY(fv_graph_dispatch_range(g, p, bufs, push, base, count));
        }
    }
    if (ranges > 1) {
        count_cut(d, p->desc.shader, ranges);
        fv_debug("bound: %s (%u workgroups) cut into %u ranges, bound %.0f ms", p->desc.shader, groups, ranges,
                 fv_graph_submit_bound_ms(g));
    }
    return 0;
}

uint64_t fv_op_cut_count(const fv_dev *d, const char *prefix) {
    uint64_t n = 0;
    for (size_t i = 0; i < sizeof d->cuts / sizeof d->cuts[0]; i++)
        if (d->cuts[i].shader[0] && !strncmp(d->cuts[i].shader, prefix, strlen(prefix))) n += d->cuts[i].cut;
    return n;
}

void fv_op_texel_inputs(const fv_dev *d, fv_pipe_desc *desc, const char *texel_shader, uint32_t input_mask) {
    if (!d->use_texel) return;
    desc->shader = texel_shader;
    for (uint32_t i = 0; i < desc->nbind; i++)
        if ((input_mask >> i) & 1) {
            desc->bind_kind[i] = FV_BIND_TEXEL;
            desc->bind_fmt[i] = FV_TEXEL_R32F;
        }
}
