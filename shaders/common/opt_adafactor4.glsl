// Shared declarations of the vec4 Adafactor passes (shaders/opt_adafactor_*4.comp): the same
// push constants, hyper words and scratch layout as opt_adafactor.glsl, but p, g and m are vec4
// arrays (offsets po, go, mo count vec4s; cols is a multiple of 4). Every workgroup takes one chunk
// of whole rows and every invocation the same CA column vec4s of each row (t, t+WG, ...), so the
// column factors and column partial sums stay in registers. With -DTEXEL the read-only inputs
// (g, and the current p and m, bindings 6 and 7 over the same buffers) are RGBA32F texel views.
// Include after declaring WG and CA.
#include "vec4io.glsl"
layout(std430, binding = 0) readonly buffer H { float h[]; };
layout(std430, binding = 1) buffer PB { vec4 p[]; };
FV_IN4(2, g)
layout(std430, binding = 3) buffer S { float st[]; };  // row [rows], col [cols]
layout(std430, binding = 4) buffer M { vec4 m[]; };    // momentum, only with FLAG_MOMENTUM
layout(std430, binding = 5) buffer X { float xs[]; };  // scratch
#ifdef TEXEL
FV_IN4(6, p_in)
FV_IN4(7, m_in)
#define P_LD(i) FV_LD4(p_in, i)
#define M_LD(i) FV_LD4(m_in, i)
#else
#define P_LD(i) p[i]
#define M_LD(i) m[i]
#endif
layout(push_constant) uniform P { uint rows, cols, po, go, so, mo, ho, xo, nch, per, flags, r0, r1, k0, cin, cout; } pc;

#include "opt_adafactor_words.glsl"

// rsqrt of the column second moment for this invocation's column vec4s (zero past the end)
void col_factors(out vec4 cf[CA]) {
    uint c4 = pc.cols / 4u, c = pc.so + pc.rows;
    for (uint a = 0; a < CA; a++) {
        uint j = gl_LocalInvocationID.x + a * WG;
        cf[a] = j < c4 ? inversesqrt(vec4(st[c + 4u * j], st[c + 4u * j + 1u], st[c + 4u * j + 2u], st[c + 4u * j + 3u]))
                       : vec4(0.0);
    }
}
