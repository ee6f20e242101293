// Shared declarations of the Adafactor passes (shaders/opt_adafactor_*.comp): bindings, push
// constants, the hyper struct words (src/ops/optim_hyper.h) and the scratch layout
// (src/ops/optim.c). Include after declaring WG.
layout(std430, binding = 0) readonly buffer H { float h[]; };
layout(std430, binding = 1) buffer PB { float p[]; };
layout(std430, binding = 2) readonly buffer G { float g[]; };
layout(std430, binding = 3) buffer S { float st[]; };  // factored: row [rows], col [cols]; else v [n]
layout(std430, binding = 4) buffer M { float m[]; };   // momentum, only with FLAG_MOMENTUM
layout(std430, binding = 5) buffer X { float xs[]; };  // scratch
// per: rows (factored) or elements (vector) per chunk; nch chunks
layout(push_constant) uniform P { uint rows, cols, po, go, so, mo, ho, xo, nch, per, flags; } pc;

#define FLAG_FACTORED 1u
#define FLAG_MOMENTUM 2u

// fv_adafactor_hyper words
#define H_STEP_LR 0u
#define H_BETA2T 1u
#define H_OMB2T 2u
#define H_EPS1 3u
#define H_EPS2 4u
#define H_CLIP 5u
#define H_BETA1 6u
#define H_OMB1 7u
#define H_WD 8u
#define H_SCALE 9u

float hyp(uint k) { return h[pc.ho + k]; }

// scratch: 8 scalars, then p^2 partials [nch], update^2 partials [nch], column partials [nch*cols]
#define X_RMEAN 0u
#define X_LR 1u
#define X_COEF 2u
#define X_RMSP 3u
#define X_RMSU 4u
uint x_psq() { return pc.xo + 8u; }
uint x_usq() { return pc.xo + 8u + pc.nch; }
uint x_cpart() { return pc.xo + 8u + 2u * pc.nch; }
