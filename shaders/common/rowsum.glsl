// Workgroup-wide sum of one float per invocation through shared memory, in a fixed order so the
// result is deterministic. Include after declaring `layout(local_size_x_id = 0) in;` and
// `layout(constant_id = 0) const uint WG = 256;` (WG a power of two).
shared float rowsum_scratch[WG];

float rowsum(float v) {
    uint t = gl_LocalInvocationID.x;
    rowsum_scratch[t] = v;
    barrier();
    for (uint s = WG / 2; s > 0; s >>= 1) {
        if (t < s) rowsum_scratch[t] += rowsum_scratch[t + s];
        barrier();
    }
    float r = rowsum_scratch[0];
    barrier();
    return r;
}
