/* Helpers shared by the op host files; see op.h. */
#include "ops/op.h"

#include <string.h>

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

void fv_op_texel_inputs(const fv_dev *d, fv_pipe_desc *desc, const char *texel_shader, uint32_t input_mask) {
    if (!d->use_texel) return;
    desc->shader = texel_shader;
    for (uint32_t i = 0; i < desc->nbind; i++)
        if ((input_mask >> i) & 1) {
            desc->bind_kind[i] = FV_BIND_TEXEL;
            desc->bind_fmt[i] = FV_TEXEL_R32F;
        }
}
