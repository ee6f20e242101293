// Where a low-bit weight's words are: row-major (io/wpack.h) or tiled (src/io/wtile.h: groups of
// `tile` rows, each row's words in chunks of 8, chunk-major within the group).
//   wrow(wo, n, rw, N, tile)  row n's handle (words from wo, rw per row, N rows; tile 0: row-major)
//   wat(r, w)                 the index of word w of that row
// A handle is (the row's first word, rows in its group); a row-major row is a group of one, where
// wat(r, w) = r.x + w. A run of 4 words from a multiple of 4 stays in one chunk: one texel.
const uint WT_CHUNK = 8u;  // src/io/wtile.h FV_WTILE_CHUNK
uvec2 wrow(uint wo, uint n, uint rw, uint N, uint tile) {
    if (tile == 0u) return uvec2(wo + n * rw, 1u);
    uint g0 = n / tile * tile;
    return uvec2(wo + g0 * rw + (n - g0) * WT_CHUNK, min(tile, N - g0));
}
uint wat(uvec2 r, uint w) { return r.x + (w / WT_CHUNK) * (WT_CHUNK * r.y) + w % WT_CHUNK; }
