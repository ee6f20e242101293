#version 450
#extension GL_GOOGLE_include_directive : require
// vec4 path of RMSNorm (shaders/rmsnorm.comp, rmsnorm_back.comp and pass 0 of
// rmsnorm_back_weight.comp) for dim and offsets that are multiples of 4; dim and offsets count
// vec4s. One workgroup per row (one subgroup on CPU devices). Forward: y = w * x * r with
// r = 1/sqrt(mean(x^2) + eps). With -DBACK: dx = r (w dy - x c), c = mean(w dy x) r^2, written or
// added (accumulate) to dx, and r of the row stored in rs[row] for the weight pass
// (rmsnorm_back_weight4.comp), saving that pass's read of x. -DTEXEL reads the inputs (and dx's
// current value, binding 5) through RGBA32F texel views.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
// RPW > 1 (CPU devices): the workgroup's subgroups each take whole rows of a block of RPW rows,
// reduced with subgroupAdd alone; fewer, bigger workgroups cut lavapipe's per-workgroup cost.
layout(constant_id = 1) const uint RPW = 1;

#include "vec4io.glsl"
FV_IN4(0, x)
FV_IN4(1, w)
#ifdef BACK
FV_IN4(2, dy)
layout(std430, binding = 3) buffer DX { vec4 dx[]; };
layout(std430, binding = 4) writeonly buffer RS { float rs[]; };
#ifdef TEXEL
FV_IN4(5, dx_in)
#define DX_LD(i) FV_LD4(dx_in, i)
#else
#define DX_LD(i) dx[i]
#endif
layout(push_constant) uniform P { uint rows, dim, xo, wo, dyo, dxo; float eps; uint accumulate; } p;
#else
layout(std430, binding = 2) writeonly buffer Y { vec4 y[]; };
layout(push_constant) uniform P { uint rows, dim, xo, wo, yo; float eps; } p;
#endif

#include "rowsum.glsl"

float hsum(vec4 v) { return (v.x + v.y) + (v.z + v.w); }

uint T, STRIDE;

float reduce(float v) { return RPW > 1 ? subgroupAdd(v) : rowsum(v); }

void do_row(uint row) {
    uint t = T;
    uint xb = p.xo + row * p.dim;
    float n = float(p.dim * 4);
#ifdef BACK
    uint db = p.dyo + row * p.dim, ob = p.dxo + row * p.dim;
    vec4 ss4 = vec4(0.0), gx4 = vec4(0.0);
    for (uint j = t; j < p.dim; j += STRIDE) {
        vec4 xv = FV_LD4(x, xb + j);
        ss4 += xv * xv;
        gx4 += FV_LD4(w, p.wo + j) * FV_LD4(dy, db + j) * xv;
    }
    float ss = reduce(hsum(ss4)), gx = reduce(hsum(gx4));
    float r = inversesqrt(ss / n + p.eps);
    float c = gx * r * r / n; // mean(g xhat) * r
    if (t == 0u) rs[row] = r;
    for (uint j = t; j < p.dim; j += STRIDE) {
        vec4 v = r * (FV_LD4(w, p.wo + j) * FV_LD4(dy, db + j) - FV_LD4(x, xb + j) * c);
        dx[ob + j] = p.accumulate != 0u ? DX_LD(ob + j) + v : v;
    }
#else
    uint yb = p.yo + row * p.dim;
    vec4 ss4 = vec4(0.0);
    for (uint j = t; j < p.dim; j += STRIDE) {
        vec4 v = FV_LD4(x, xb + j);
        ss4 += v * v;
    }
    float r = inversesqrt(reduce(hsum(ss4)) / n + p.eps);
    for (uint j = t; j < p.dim; j += STRIDE) y[yb + j] = FV_LD4(w, p.wo + j) * (FV_LD4(x, xb + j) * r);
#endif
}

void main() {
    uint block = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    if (RPW > 1) {
        T = gl_SubgroupInvocationID;
        STRIDE = subgroup_lanes();
        for (uint k = gl_SubgroupID; k < RPW; k += gl_NumSubgroups) {
            uint row = block * RPW + k;
            if (row < p.rows) do_row(row);
        }
    } else {
        T = gl_LocalInvocationID.x;
        STRIDE = WG;
        if (block < p.rows) do_row(block);
    }
}
