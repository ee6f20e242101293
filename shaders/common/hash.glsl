// Counter-based hash (a few rounds of a 32-bit integer mixer, after Wellons' "lowbias32"): the
// same function is in src/ref/hash.h so the CPU reference draws identical dropout masks.
uint fv_mix32(uint x) {
    x ^= x >> 16; x *= 0x7feb352du;
    x ^= x >> 15; x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}

uint fv_hash3(uint a, uint b, uint c) {
    return fv_mix32(fv_mix32(fv_mix32(a) ^ b) + c);
}
