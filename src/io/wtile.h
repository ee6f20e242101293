/* The tiled device layout of a low-bit weight's words (io/wpack.h gives the row-major one a file
 * holds). Rows come in groups of G (the last group may be shorter: Gg = min(G, N - g0) rows); inside
 * a group, the words of every row are cut into chunks of FV_WTILE_CHUNK and stored chunk-major:
 * chunk 0 of each of the group's rows in row order, then chunk 1 of each, and so on. Word w of row
 * n (group start g0 = n - n % G) is therefore at
 *     g0 * rw + (w / C) * Gg * C + (n - g0) * C + w % C        (C = FV_WTILE_CHUNK, rw = row words)
 * and a group still occupies rows g0 .. g0 + Gg - 1 of the row-major words (the same Gg * rw words),
 * so a slice of whole groups stays a contiguous range and G = 1 is the row-major layout.
 *
 * Why: the decode kernel on CPU devices (shaders/wgemv.comp COLS) gives every invocation its own
 * columns and walks K for G = 128 columns at once, one chunk of each per step. Over row-major words
 * that is 128 interleaved streams that a CPU's prefetchers do not follow: reading a 768-wide q8
 * matrix that way ran at 5.7 GB/s, the same bytes in order at 18 GB/s (plain C, one core of the
 * 2-core EPYC lavapipe ran on), and the decode step of flan-t5-base in q8 went from 22.9 to 17.5 ms.
 * Tiled, each step of a workgroup reads one contiguous Gg * C words. GPUs keep the row-major layout
 * (their K-split kernel reads each row with neighbouring lanes). */
#ifndef FV_IO_WTILE_H
#define FV_IO_WTILE_H

#include <stdint.h>

#include "io/wpack.h"

#define FV_WTILE_CHUNK 8u  /* words per chunk: one step of the COLS kernel (2 texels of 4 words) */
#define FV_WTILE_ROWS 128u /* rows per group: the COLS kernel's columns per workgroup */

/* Whether rows of K weights of type t can be tiled: a whole number of chunks per row (q8: always;
 * f16/bf16: K % 16 == 0 up to padding; never f32, which the fp32 kernels read). */
int fv_wtile_fits(enum fv_wtype t, uint32_t K);

/* The index of word w of row n in the tiled words of N rows of rw words, groups of G rows. */
uint64_t fv_wtile_word(uint32_t n, uint32_t w, uint32_t N, uint32_t rw, uint32_t G);

/* Row-major words [N, rw] to the tiled layout and back (src and dst distinct; rw % FV_WTILE_CHUNK
 * == 0). */
void fv_wtile(const uint32_t *src, uint32_t *dst, uint32_t N, uint32_t rw, uint32_t G);
void fv_wuntile(const uint32_t *src, uint32_t *dst, uint32_t N, uint32_t rw, uint32_t G);

#endif
