/* Plain-C reference of the feed-forward activations (relu, gelu erf/tanh, silu), in double. Packed
 * [n] arrays: strides are a host-op concern. b/db NULL means not gated. */
#ifndef FV_REF_GELU_H
#define FV_REF_GELU_H

#include <stddef.h>
#include <stdint.h>

double fv_ref_gelu_tanh(double x);
double fv_ref_gelu_tanh_d(double x);
/* Any activation (enum fv_ff_act numbering) and its derivative. */
double fv_ref_act1(int act, double x);
double fv_ref_act1_d(int act, double x);
/* act as enum fv_ff_act: 0 relu, 1 gelu (erf), 2 gelu_tanh, 3 silu. out = act(a) * b (b NULL: act(a)). */
void fv_ref_act(int act, const float *a, const float *b, float *out, size_t n);
/* da = g * b * act'(a), db = g * act(a) (b, db NULL: da = g * act'(a)). */
void fv_ref_act_back(int act, const float *a, const float *b, const float *g, float *da, float *db, size_t n);
/* The fused feed-forward dropout (ops/gelu.h fv_ff_drop): out = act(a) * b rounded to float,
 * then keep(seed, salt, i) ? out * (1/(1-rate)) : 0 in float, as fv_dropout rounds it. */
void fv_ref_act_drop(int act, const float *a, const float *b, float *out, size_t n, uint32_t seed, uint32_t salt,
                     float rate);
/* Its backward: g goes through the same mask (in float), then fv_ref_act_back. gd: n floats of scratch. */
void fv_ref_act_back_drop(int act, const float *a, const float *b, const float *g, float *gd, float *da, float *db,
                          size_t n, uint32_t seed, uint32_t salt, float rate);

#endif
