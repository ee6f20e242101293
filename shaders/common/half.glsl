// fp32 -> fp16 rounding on the bits, shared by every shader that writes fp16 (cast_f16.comp,
// transpose.comp) so they round identically: round to nearest, ties to even; beyond the fp16
// range (|x| >= 65520) the result is +-inf, as torch's .half() gives; NaN stays a quiet NaN (top
// payload bits kept, as io/half.c); subnormals are produced exactly. Done in integer arithmetic,
// not by a float16_t conversion, because Vulkan lets a narrowing OpFConvert round either to
// nearest or toward zero unless decorated.
//   to_half(floatBitsToUint(x))   the fp16 bits of x in the low 16 bits of a uint.
uint to_half(uint u) {
    uint sign = (u >> 16) & 0x8000u;
    uint a = u & 0x7fffffffu;
    if (a >= 0x7f800000u) return a == 0x7f800000u ? sign | 0x7c00u : sign | 0x7e00u | ((a >> 13) & 0x1ffu);
    if (a >= 0x477ff000u) return sign | 0x7c00u;   // rounds to a magnitude past 65504
    if (a < 0x38800000u) {                         // fp16 subnormal or zero
        if (a < 0x33000000u) return sign;          // below 2^-25 (2^-25 itself ties to 0)
        uint e = a >> 23;
        uint m = (a & 0x7fffffu) | 0x800000u;
        uint shift = 126u - e;                     // 14..24 bits dropped to reach units of 2^-24
        uint q = m >> shift, rem = m & ((1u << shift) - 1u), half_ = 1u << (shift - 1u);
        if (rem > half_ || (rem == half_ && (q & 1u) != 0u)) q++;
        return sign | q;
    }
    uint r = a - 0x38000000u;                      // rebias 127 -> 15; a mantissa carry bumps the exponent
    uint q = r >> 13, rem = r & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (q & 1u) != 0u)) q++;
    return sign | q;
}
