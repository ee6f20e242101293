// Activations for the feed-forward kernels (gelu_gated*.comp), selected by the ACT constant,
// numbered as io/t5_config.h's fv_t5_act: 0 relu, 1 gelu (erf), 2 gelu_tanh, 3 silu.
// gelu_tanh(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (Hendrycks & Gimpel 2016; HF
// NewGELUActivation, "gelu_new"); tanh goes through exp of a non-positive argument so large |x|
// gives +-1, never inf/inf. gelu(x) = x Phi(x) with erf from Abramowitz & Stegun 7.1.26
// (|error| <= 1.5e-7; GLSL has no erf). silu(x) = x sigmoid(x).
// Written on vec4 (whole-vector operations: on lavapipe a loop over a vector's components with
// a dynamic index goes through memory); the float versions take one component, the same
// per-component arithmetic, so the scalar and vec4 shaders agree bit for bit.
const float GELU_K = 0.7978845608028654; // sqrt(2/pi)
const float GELU_C = 0.044715;

vec4 safe_tanh(vec4 u) {
    vec4 e = exp(-2.0 * abs(u));
    return sign(u) * (1.0 - e) / (1.0 + e);
}

vec4 erf_as(vec4 x) {
    vec4 z = abs(x), t = 1.0 / (1.0 + 0.3275911 * z);
    vec4 poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    return sign(x) * (1.0 - poly * exp(-z * z));
}

vec4 act_f(vec4 x) {
    if (ACT == 0) return max(x, 0.0);
    if (ACT == 1) return 0.5 * x * (1.0 + erf_as(x * 0.7071067811865476));
    if (ACT == 3) return x / (1.0 + exp(-x));
    vec4 t = safe_tanh(GELU_K * (x + GELU_C * x * x * x));
    return 0.5 * x * (1.0 + t);
}

vec4 act_d(vec4 x) {
    if (ACT == 0) return vec4(greaterThan(x, vec4(0.0)));
    if (ACT == 1) return 0.5 * (1.0 + erf_as(x * 0.7071067811865476)) + x * 0.3989422804014327 * exp(-0.5 * x * x);
    if (ACT == 3) {
        vec4 s = 1.0 / (1.0 + exp(-x));
        return s * (1.0 + x * (1.0 - s));
    }
    vec4 t = safe_tanh(GELU_K * (x + GELU_C * x * x * x));
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * GELU_K * (1.0 + 3.0 * GELU_C * x * x);
}

float act_f(float x) { return act_f(vec4(x, 0.0, 0.0, 0.0)).x; }
float act_d(float x) { return act_d(vec4(x, 0.0, 0.0, 0.0)).x; }

#ifdef DROP
// Feed-forward dropout fused into the activation (-DDROP variants): element i of the packed
// [rows, cols] output survives when the hash of (seed, salt, i) clears the rate, exactly the test
// of shaders/dropout.comp, so the mask (and every kept value, v * scale) is fv_dropout's. Two
// exact rewrites make it cheap: float(h >> 8) * 2^-24 >= rate  <=>  (h >> 8) >= thresh with
// thresh = ceil(rate * 2^24) from the host (both sides are exact), and fv_hash3(seed, salt, i) =
// fv_mix32(key + i) with key = fv_mix32(fv_mix32(seed) ^ salt) computed once (drop_begin).
// Include after the push constants, which then end with salt, thresh, scale, seed_index.
#include "hash.glsl"
uint drop_key;
void drop_begin(uint s) { drop_key = fv_mix32(fv_mix32(s) ^ p.salt); }
bool drop_keep(uint i) { return (fv_mix32(drop_key + i) >> 8) >= p.thresh; }
// The same for elements i0 .. i0 + 3, fv_mix32 spelled on a uvec4 (four scalar calls assembled
// into a bvec4 compile to far slower code on lavapipe).
bvec4 drop_keep4(uint i0) {
    uvec4 h = uvec4(drop_key) + uvec4(i0, i0 + 1u, i0 + 2u, i0 + 3u);
    h ^= h >> 16;
    h *= 0x7feb352du;
    h ^= h >> 15;
    h *= 0x846ca68bu;
    h ^= h >> 16;
    return greaterThanEqual(h >> 8, uvec4(p.thresh));
}
#endif
