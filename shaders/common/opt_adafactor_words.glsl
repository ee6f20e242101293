// The Adafactor flags, hyper-struct words (src/ops/optim_hyper.h) and scratch layout
// (src/ops/optim.c) shared by the scalar and vec4 passes. Include after declaring h[] and pc.
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

// Rows [r0, r1) of chunk k within this piece; head: the chunk began in the previous piece, tail:
// it goes on in the next one.
void chunk_rows(uint k, out uint r0, out uint r1, out bool head, out bool tail) {
    uint c0 = k * pc.per, c1 = min(pc.rows, c0 + pc.per);
    r0 = max(c0, pc.r0);
    r1 = min(c1, pc.r1);
    head = c0 < pc.r0;
    tail = c1 > pc.r1;
}

// scratch: 8 scalars, then p^2 partials [nch], update^2 partials [nch], column partials [nch*cols]
#define X_RMEAN 0u
#define X_LR 1u
#define X_COEF 2u
#define X_RMSP 3u
#define X_RMSU 4u
uint x_psq() { return pc.xo + 8u; }
uint x_usq() { return pc.xo + 8u + pc.nch; }
uint x_cpart() { return pc.xo + 8u + 2u * pc.nch; }
