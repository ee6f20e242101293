// Shared declarations of the Adafactor passes (shaders/opt_adafactor_*.comp): bindings, push
// constants, the hyper struct words (src/ops/optim_hyper.h) and the scratch layout
// (src/ops/optim.c). Include after declaring WG.
layout(std430, binding = 0) readonly buffer H { float h[]; };
layout(std430, binding = 1) buffer PB { float p[]; };
layout(std430, binding = 2) readonly buffer G { float g[]; };
layout(std430, binding = 3) buffer S { float st[]; };  // factored: row [rows], col [cols]; else v [n]
layout(std430, binding = 4) buffer M { float m[]; };   // momentum, only with FLAG_MOMENTUM
layout(std430, binding = 5) buffer X { float xs[]; };  // scratch
// per: rows (factored) or elements (vector) per chunk; nch chunks of the whole matrix.
// A row piece of a split matrix (ops/rowsplit.h) is rows [r0, r1): its workgroups take chunks k0..,
// po/go/mo are shifted back by r0 rows (wrapping) so global row indices address the piece, and a
// chunk cut by a piece boundary carries its per-invocation partial sums through scratch (cout at
// the piece's end, cin at the next piece's start), so the sums run in the unsplit order.
layout(push_constant) uniform P { uint rows, cols, po, go, so, mo, ho, xo, nch, per, flags, r0, r1, k0, cin, cout; } pc;

#include "opt_adafactor_words.glsl"
