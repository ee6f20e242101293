#version 450
#extension GL_GOOGLE_include_directive : require
// Greedy decoding: out[row] = the index of the largest value of the row (the first one on ties,
// as torch.argmax does on CPU). One workgroup per row.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer O { uint o[]; };
layout(push_constant) uniform P { uint rows, cols, stride, xo, oo; } p;

shared float best_v[WG];
shared uint best_i[WG];

void main() {
    uint row = gl_WorkGroupID.x, t = gl_LocalInvocationID.x;
    if (row >= p.rows) return;
    float bv = -1.0 / 0.0;
    uint bi = 0xffffffffu;
    for (uint j = t; j < p.cols; j += WG) {
        float v = x[p.xo + row * p.stride + j];
        if (v > bv || bi == 0xffffffffu) { bv = v; bi = j; }
    }
    best_v[t] = bv;
    best_i[t] = bi;
    barrier();
    for (uint s = WG / 2; s > 0; s >>= 1) {
        if (t < s) {
            float ov = best_v[t + s];
            uint oi = best_i[t + s];
            if (oi != 0xffffffffu && (best_i[t] == 0xffffffffu || ov > best_v[t] || (ov == best_v[t] && oi < best_i[t]))) {
                best_v[t] = ov;
                best_i[t] = oi;
            }
        }
        barrier();
    }
    if (t == 0) o[p.oo + row] = best_i[0];
}
