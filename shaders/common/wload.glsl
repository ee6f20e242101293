// Reading low-bit weights (src/io/wpack.h layouts) as 32-bit words and dequantizing them in
// registers, so the kernels need neither 8- nor 16-bit storage nor arithmetic: fp16 through
// unpackHalf2x16, bf16 as the high half of a float's bits, int8 by a sign-extending
// bitfieldExtract. One variant per storage type: -DW_BF16, -DW_Q8, else fp16. With -DTEXEL the
// words come from R32UI texel buffers (one vector gather on lavapipe) instead of storage buffers.
//   W: binding 1 (the weight words), S: binding 2 (q8 scales, fp16 pairs; bound but unused otherwise)
//   wunit(rb, u, sb)   the 4 weights k = 4u .. 4u + 3 of the row whose words start at rb and
//                      whose q8 scales start at fp16 index sb, as a vec4 of fp32 values.
//   wunit_raw / wunit_scale  the same split for q8 (q as floats, and the block's scale), so a
//                      kernel can multiply a whole dot product by the scale once.
#ifdef TEXEL
layout(binding = 1) uniform usamplerBuffer W;
layout(binding = 2) uniform usamplerBuffer S;
#define WLD(i) texelFetch(W, int(i)).x
#define SLD(i) texelFetch(S, int(i)).x
#else
layout(std430, binding = 1) readonly buffer Wb { uint Ww[]; };
layout(std430, binding = 2) readonly buffer Sb { uint Sw[]; };
#define WLD(i) Ww[i]
#define SLD(i) Sw[i]
#endif

#if defined(W_Q8)
const uint W_UNIT_WORDS = 1u;
vec4 wunit_raw(uint rb, uint u) {
    int w = int(WLD(rb + u));
    return vec4(bitfieldExtract(w, 0, 8), bitfieldExtract(w, 8, 8), bitfieldExtract(w, 16, 8), bitfieldExtract(w, 24, 8));
}
// 8 words (units) per 32-weight block
float wunit_scale(uint sb, uint u) {
    uint i = sb + (u >> 3);
    return unpackHalf2x16(SLD(i >> 1))[i & 1u];
}
vec4 wunit(uint rb, uint u, uint sb) { return wunit_raw(rb, u) * wunit_scale(sb, u); }
#elif defined(W_BF16)
const uint W_UNIT_WORDS = 2u;
vec4 wunit(uint rb, uint u, uint sb) {
    uint a = WLD(rb + 2u * u), b = WLD(rb + 2u * u + 1u);
    return vec4(uintBitsToFloat(a << 16), uintBitsToFloat(a & 0xffff0000u), uintBitsToFloat(b << 16),
                uintBitsToFloat(b & 0xffff0000u));
}
#else
const uint W_UNIT_WORDS = 2u;
vec4 wunit(uint rb, uint u, uint sb) {
    return vec4(unpackHalf2x16(WLD(rb + 2u * u)), unpackHalf2x16(WLD(rb + 2u * u + 1u)));
}
#endif
