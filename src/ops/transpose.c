/* Host side of the transpose; see transpose.h and shaders/transpose.comp. Variant choice: 4 x 4
 * blocks with vec4 stores when rows % 4 == 0 and y's offset % 4 == 0 (every T5 weight), else one
 * element per invocation; x through a uniform texel buffer on texel devices (RGBA32F when whole
 * 4-column runs are aligned, else R32F) when its buffer fits one view, else a storage buffer. */
#include "ops/transpose.h"

#include <stdio.h>

#include "ops/elem_vec4.h"

/* V4 workgroup: TRW row blocks x (WG / TRW) column blocks of 4 x 4, lanes along columns
 * (TRW = 1): 4 x 256 elements, each fetch a contiguous run of a row. Measured on lavapipe (2
 * cores, [32128, 512] and [1152, 512]): TRW 1 3.8-4.3 GB/s, 2 2.4-3.1, 8 0.5-1.5, 64 1.2-3.1;
 * workgroups of 32 / 128 / 256 no better than 64. 4 x 4 blocks per invocation equal 16 x 4. */
enum { V4_WG = 64, V4_TRW = 1, SCALAR_WG = 64 };

int fv_transpose(fv_graph *g, fv_t x, fv_t y, uint32_t rows, uint32_t cols, enum fv_dtype y_dtype) {
    const char *op = "transpose";
    if (!g) return fv_err("%s: null graph", op);
    if (y_dtype != FV_F32 && y_dtype != FV_F16) return fv_err("%s: unknown output dtype %d", op, (int)y_dtype);
    uint64_t n = (uint64_t)rows * cols;
    if (n >= UINT32_MAX) return fv_err("%s: %ux%u has 2^32 or more elements", op, rows, cols);
    FV_TRY(fv_op_check(op, "x", x, n, 4));
    FV_TRY(fv_op_check(op, "y", y, n, y_dtype == FV_F16 ? 2 : 4));
    if (x.buf == y.buf) return fv_err("%s: x and y share buffer '%s'", op, x.buf->what);
    fv_dev *d = fv_graph_dev(g);
    if (y_dtype == FV_F16 && !d->fp16)
        return fv_err("%s: fp16 output needs 16-bit storage, which device '%s' lacks or has disabled", op, d->info.name);
    if (n == 0) return 0;
    if ((uint64_t)x.off + n > UINT32_MAX || (uint64_t)y.off + n > UINT32_MAX)
        return fv_err("%s: offsets past 2^32 elements", op);

    int v4 = rows % 4 == 0 && y.off % 4 == 0;
    int vin = v4 && cols % 4 == 0 && x.off % 4 == 0;
    int texel = d->use_texel && x.buf->size / 4 <= d->info.max_texel_buffer_elements;
    if (vin && texel && !fv_elem_texel_ok(d, x.buf)) vin = 0;
    char name[40];
    snprintf(name, sizeof name, "transpose%s%s%s", v4 ? "_v4" : "", y_dtype == FV_F16 ? "_f16" : "",
             texel ? "_texel" : "");
    uint32_t wg = v4 ? V4_WG : SCALAR_WG, trw = V4_TRW; /* 64 <= the 128 invocations Vulkan guarantees */
    uint32_t groups;
    if (v4) {
        uint32_t rb = rows / 4, cb = fv_div_up(cols, 4);
        groups = fv_div_up(rb, trw) * fv_div_up(cb, wg / trw);
    } else {
        groups = (uint32_t)((n + wg - 1) / wg);
    }
    uint32_t gx, gy;
    fv_op_grid(d, groups, &gx, &gy);
    struct { uint32_t rows, cols, xo, yo, gx; } pc = {rows, cols, x.off, y.off, gx};
    fv_pipe_desc desc;
    fv_op_desc(&desc, name, 2, 1u << 1, sizeof pc);
    if (texel) {
        desc.bind_kind[0] = FV_BIND_TEXEL;
        desc.bind_fmt[0] = texel && vin ? FV_TEXEL_RGBA32F : FV_TEXEL_R32F;
    }
    desc.nspec = 3;
    desc.spec[0] = wg;
    desc.spec[1] = trw;
    desc.spec[2] = (uint32_t)(texel && vin);
    fv_pipeline *p;
    FV_TRY(fv_pipeline_get(d, &desc, &p));
    fv_buf *b[] = {x.buf, y.buf};
    return fv_graph_dispatch(g, p, b, &pc, gx, gy, 1);
}
