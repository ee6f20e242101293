// Reading low-bit weights (src/io/wpack.h layouts) as 32-bit words and dequantizing them in
// registers, so the kernels need neither 8- nor 16-bit storage nor arithmetic: fp16 through
// unpackHalf2x16, bf16 as the high half of a float's bits, int8 by sign-extending shifts (or
// bytes4_hi: each byte at the top of an int, the 2^24 folded into the scale). One variant per storage type: -DW_BF16, -DW_Q8, else fp16. With -DTEXEL the
// words come from R32UI texel buffers (one vector gather on lavapipe) instead of storage buffers.
//   W: binding 1 (the weight words), S: binding 2 (q8 scales, fp16 pairs; bound but unused otherwise)
//   wrow(wo, n, rw, N, tile)  where row n's words are (the weight's words from wo, rw per row, N
//                      rows, `tile` rows per group of the tiled layout of src/io/wtile.h, 0 for
//                      row-major): a row handle r; wat(r, w) is the index of its word w.
//   wunit(r, u, sb)    the 4 weights k = 4u .. 4u + 3 of row r whose q8 scales start at fp16
//                      index sb, as a vec4 of fp32 values.
//   wunit_raw / wunit_scale  the same split for q8 (q as floats, and the block's scale), so a
//                      kernel can multiply a whole dot product by the scale once.
//   wunit_words(a, b)  f16/bf16: the 4 weights held by two words already loaded;  bytes4(u): q8.
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

#include "wtile.glsl"

// The 4 signed bytes of a word as floats: arithmetic shifts (a constant bitfieldExtract is
// lowered with the selects its general form needs on lavapipe).
vec4 bytes4(uint u) {
    int v = int(u);
    return vec4((v << 24) >> 24, (v << 16) >> 24, (v << 8) >> 24, v >> 24);
}
// The same times 2^24, exactly: each byte moved to the top of the word by one shift or mask and
// not shifted back (6 integer operations per word instead of 7). A caller folds 2^-24 into the q8
// scale (BYTES_SCALE * s is exact for every fp16 s), so x * q * 2^24 and its sums are those of
// x * q scaled by a power of two (for |x| < 2^97: no overflow), and s * part rounds the same.
const float BYTES_SCALE = 1.0 / 16777216.0;
vec4 bytes4_hi(uint u) {
    return vec4(int(u << 24), int((u << 16) & 0xff000000u), int((u << 8) & 0xff000000u), int(u & 0xff000000u));
}
vec2 half_pair(uint w) { return unpackHalf2x16(w); }

#if defined(W_Q8)
const uint W_UNIT_WORDS = 1u;
vec4 wunit_raw(uvec2 r, uint u) {
    return bytes4(WLD(wat(r, u)));
}
// 8 words (units) per 32-weight block
float wunit_scale(uint sb, uint u) {
    uint i = sb + (u >> 3);
    return unpackHalf2x16(SLD(i >> 1))[i & 1u];
}
vec4 wunit(uvec2 r, uint u, uint sb) { return wunit_raw(r, u) * wunit_scale(sb, u); }
#elif defined(W_BF16)
const uint W_UNIT_WORDS = 2u;
vec4 wunit_words(uint a, uint b) {
    return vec4(uintBitsToFloat(a << 16), uintBitsToFloat(a & 0xffff0000u), uintBitsToFloat(b << 16),
                uintBitsToFloat(b & 0xffff0000u));
}
vec4 wunit(uvec2 r, uint u, uint sb) {
    uint a = wat(r, 2u * u);  // an even word: its neighbour is in the same chunk
    return wunit_words(WLD(a), WLD(a + 1u));
}
#else
const uint W_UNIT_WORDS = 2u;
vec4 wunit_words(uint a, uint b) { return vec4(half_pair(a), half_pair(b)); }
vec4 wunit(uvec2 r, uint u, uint sb) {
    uint a = wat(r, 2u * u);  // an even word: its neighbour is in the same chunk
    return wunit_words(WLD(a), WLD(a + 1u));
}
#endif
