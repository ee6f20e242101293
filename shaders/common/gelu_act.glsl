// Activations for the feed-forward kernels (gelu_gated*.comp), selected by the ACT constant,
// numbered as io/t5_config.h's fv_t5_act: 0 relu, 1 gelu (erf), 2 gelu_tanh, 3 silu.
// gelu_tanh(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (Hendrycks & Gimpel 2016; HF
// NewGELUActivation, "gelu_new"); tanh goes through exp of a non-positive argument so large |x|
// gives +-1, never inf/inf. gelu(x) = x Phi(x) with erf from Abramowitz & Stegun 7.1.26
// (|error| <= 1.5e-7; GLSL has no erf). silu(x) = x sigmoid(x).
const float GELU_K = 0.7978845608028654; // sqrt(2/pi)
const float GELU_C = 0.044715;

float safe_tanh(float u) {
    float e = exp(-2.0 * abs(u));
    return sign(u) * (1.0 - e) / (1.0 + e);
}

float erf_as(float x) {
    float z = abs(x), t = 1.0 / (1.0 + 0.3275911 * z);
    float poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    return sign(x) * (1.0 - poly * exp(-z * z));
}

float act_f(float x) {
    if (ACT == 0) return max(x, 0.0);
    if (ACT == 1) return 0.5 * x * (1.0 + erf_as(x * 0.7071067811865476));
    if (ACT == 3) return x / (1.0 + exp(-x));
    float t = safe_tanh(GELU_K * (x + GELU_C * x * x * x));
    return 0.5 * x * (1.0 + t);
}

float act_d(float x) {
    if (ACT == 0) return x > 0.0 ? 1.0 : 0.0;
    if (ACT == 1) return 0.5 * (1.0 + erf_as(x * 0.7071067811865476)) + x * 0.3989422804014327 * exp(-0.5 * x * x);
    if (ACT == 3) {
        float s = 1.0 / (1.0 + exp(-x));
        return s * (1.0 + x * (1.0 - s));
    }
    float t = safe_tanh(GELU_K * (x + GELU_C * x * x * x));
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * GELU_K * (1.0 + 3.0 * GELU_C * x * x);
}
