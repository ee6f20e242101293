/* The tiled layout of io/wtile.h: index arithmetic and the host-side reordering. */
#include "io/wtile.h"

int fv_wtile_fits(enum fv_wtype t, uint32_t K) {
    return t != FV_WT_F32 && K > 0 && fv_wpack_row_words(t, K) % FV_WTILE_CHUNK == 0;
}

uint64_t fv_wtile_word(uint32_t n, uint32_t w, uint32_t N, uint32_t rw, uint32_t G) {
    uint64_t g0 = (uint64_t)(n / G) * G, gg = N - g0 < G ? N - g0 : G, C = FV_WTILE_CHUNK;
    return g0 * rw + (w / C) * gg * C + (n - g0) * C + w % C;
}

/* Chunks move whole; dir 1: row-major to tiled, 0: back. */
static void move(const uint32_t *src, uint32_t *dst, uint32_t N, uint32_t rw, uint32_t G, int dir) {
    for (uint32_t n = 0; n < N; n++)
        for (uint32_t w = 0; w < rw; w += FV_WTILE_CHUNK) {
            uint64_t t = fv_wtile_word(n, w, N, rw, G), r = (uint64_t)n * rw + w;
            for (uint32_t i = 0; i < FV_WTILE_CHUNK; i++) {
                if (dir) dst[t + i] = src[r + i];
                else dst[r + i] = src[t + i];
            }
        }
}

void fv_wtile(const uint32_t *src, uint32_t *dst, uint32_t N, uint32_t rw, uint32_t G) { move(src, dst, N, rw, G, 1); }

void fv_wuntile(const uint32_t *src, uint32_t *dst, uint32_t N, uint32_t rw, uint32_t G) { move(src, dst, N, rw, G, 0); }
