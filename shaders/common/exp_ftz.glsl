// Softmax terms that never become subnormal floats. On a CPU driver (lavapipe) an arithmetic op
// with a subnormal operand or result takes a slow microcode path. The cross-entropy's logit
// gradient (exp(x - max) / S - [label]) * scale of a random-init or confident model is mostly
// far below 2^-126, and the LM head's two gradient products that multiply it ran ~1.5x slower in
// the training step. So (as flush-to-zero hardware does, and more):
//  - exp(d) with d < -87 is 0 (exp(-87) = 1.65e-38 is still normal), and exp never sees such d;
//  - a gradient term whose probability is below 2^-60 of the row's sum is 0. Every kept term is
//    then at least 2^-60 * scale, so its products with any weight above 1e-17 stay normal, and
//    the dropped ones cannot move an fp32 sum: the row's largest term is at least scale / vocab,
//    and 32128 dropped terms add up to under 2^-60 * 32128 * vocab ~ 1e-9 of it, below an fp32
//    ulp (6e-8 relative).
const float FV_FLT_MIN = 1.17549435e-38;
const float FV_EXP_LO = -87.0;

// exp(d), or 0 where d < lo; exp never sees an argument below lo.
float fv_exp_ftz(float d, float lo) { return d < lo ? 0.0 : exp(max(d, lo)); }
vec4 fv_exp_ftz4(vec4 d, float lo) { return mix(exp(max(d, vec4(lo))), vec4(0.0), lessThan(d, vec4(lo))); }

// The lowest d = x - max kept in a gradient term exp(d) * f of a row with exp-sum s (f = scale / s
// >= 0): probability exp(d) / s >= 2^-60, and exp(d) * f a normal float (1e-3: exp's rounding
// margin). +inf when f == 0: every term is 0.
float fv_xent_grad_lo(float s, float f) {
    return f > 0.0 ? max(max(FV_EXP_LO, log(FV_FLT_MIN / f) + 1e-3), log(s) - 41.5888) : 1.0 / 0.0;
}
