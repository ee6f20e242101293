/* Packed training data: the binary file `flanvk mix` writes and `flanvk train` memory-maps, and the
 * greedy packer that fills its rows (also used on the fly for `flanvk train --data file.jsonl`).
 *
 * Packing as T5X/seqio does it: several (input, target) examples share one encoder row of L tokens
 * and one decoder row of L2 tokens. Per token a segment id says which example it belongs to
 * (1, 2, ... within the row; 0 = padding) and positions restart at 0 in each segment. Only the
 * targets are stored; the decoder inputs are derived (targets shifted right within each segment,
 * first token of a segment = decoder start id 0), labels = targets with -100 at padding.
 *
 * File layout (little-endian; the reader refuses big-endian hosts):
 *   offset  0  char[8]  "FLANVKPK"
 *           8  u32      version (1)
 *          12  u32      row size in bytes (8*L + 8*L2, a consistency check)
 *          16  u32      L (encoder length)       20  u32  L2 (decoder length)
 *          24  u64      rows                     32  u64  examples
 *          40  u32      vocab size               44  u32  metadata length in bytes
 *          48  u64      truncated examples       56  u64  reserved (0)
 *          64  rows, each: enc_ids u32[L], enc_seg i32[L], dec_targets u32[L2], dec_seg i32[L2]
 *   64 + rows*row_size  metadata: a JSON object (mixture name, seed, per-task counts, ...), not
 *                       NUL-terminated; it sits after the rows because its counts are known only
 *                       once every row is written, while rows stream to disk as they are packed.
 * The file size must be exactly 64 + rows*row_size + metadata length. Written atomically
 * (temporary file + fsync + rename): a crash never leaves a partial file at the destination.
 *
 * Truncation (seqio's append_eos_after_trim): an input longer than L keeps its first L-1 tokens
 * and its last token when that is </s> (so the encoder still sees the end marker), else its first
 * L tokens; targets likewise with L2. Such an example is counted once in n_truncated, never
 * dropped. Empty inputs or targets are rejected (every example has >= 1 token on each side, so
 * segments can be matched between encoder and decoder). */
#ifndef FV_DATA_PACK_H
#define FV_DATA_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "base/file.h"

#define FV_PACK_MAGIC "FLANVKPK"
#define FV_PACK_VERSION 1u
#define FV_PACK_HEADER 64u
#define FV_PACK_IGNORE (-100) /* label value the loss skips */
#define FV_PACK_DECODER_START 0u

/* One row, pointing into a mapped file or a packer. */
typedef struct {
    const uint32_t *enc_ids;
    const int32_t *enc_seg;
    const uint32_t *dec_tg;
    const int32_t *dec_seg;
} fv_pack_row;

/* Caller-owned arrays a training step uploads: enc_* have L entries, dec_* and labels L2. */
typedef struct {
    int32_t *enc_ids, *enc_seg, *enc_pos;
    int32_t *dec_ids, *dec_seg, *dec_pos; /* decoder inputs: shifted targets */
    int32_t *labels;                      /* targets, FV_PACK_IGNORE at padding */
} fv_pack_arrays;

/* Check a row's structure (segments 1, 2, ... contiguous, then only padding with id 0; the same
 * number of segments in encoder and decoder; ids < vocab when vocab > 0) and fill out. Any of out's
 * pointers may be NULL (not filled). *n_seg (may be NULL) gets the number of examples in the row.
 * Errors name `what` (e.g. "data.pack: row 12"). */
int fv_pack_expand_row(const fv_pack_row *row, uint32_t L, uint32_t L2, uint32_t vocab, const fv_pack_arrays *out,
                       uint32_t *n_seg, const char *what);

/* The tokens of segment seg (1-based) of a row: contiguous runs. Returns 0 or -1 if absent. */
int fv_pack_row_segment(const fv_pack_row *row, uint32_t L, uint32_t L2, int32_t seg, const uint32_t **in,
                        size_t *n_in, const uint32_t **tg, size_t *n_tg);

/* ---- reader ---------------------------------------------------------------------------------- */

typedef struct {
    fv_map map;
    uint32_t L, L2, vocab;
    uint64_t n_rows, n_examples, n_truncated;
    size_t row_size;
    char *meta; /* metadata JSON, NUL-terminated copy */
} fv_pack;

/* Map and validate the header and size; errors are one line naming the file. */
int fv_pack_open(fv_pack *p, const char *path);
void fv_pack_close(fv_pack *p);
fv_pack_row fv_pack_get_row(const fv_pack *p, uint64_t i);
/* fv_pack_expand_row on row i, errors naming the file and row. */
int fv_pack_expand(const fv_pack *p, uint64_t i, const fv_pack_arrays *out, uint32_t *n_seg);
/* Walk every row (structure, ids < vocab) and check the example count of the header. */
int fv_pack_validate(const fv_pack *p);

/* ---- writer ---------------------------------------------------------------------------------- */

typedef struct fv_pack_writer fv_pack_writer;

int fv_pack_writer_open(fv_pack_writer **out, const char *path, uint32_t L, uint32_t L2, uint32_t vocab);
/* Append one row holding n_examples examples. */
int fv_pack_writer_row(fv_pack_writer *w, const fv_pack_row *row, uint32_t n_examples);
/* Write metadata (a JSON object text, may be NULL = "{}") and the header, then rename into place.
 * Frees w, also on failure (then nothing is left at the destination). */
int fv_pack_writer_commit(fv_pack_writer *w, const char *meta_json, uint64_t n_truncated);
/* Drop everything written; frees w. */
void fv_pack_writer_abort(fv_pack_writer *w);
uint64_t fv_pack_writer_rows(const fv_pack_writer *w);

/* ---- greedy packer --------------------------------------------------------------------------- */

#define FV_PACK_TAG_MAX 4096 /* at most this many examples per row (a row of L >= 1 tokens each) */

typedef struct {
    uint32_t L, L2, eos_id;
    /* the row being filled and the last closed row (valid until the next push/flush) */
    uint32_t *cur_in, *cur_tg, *done_in, *done_tg;
    int32_t *cur_iseg, *cur_tseg, *done_iseg, *done_tseg;
    int32_t *cur_tags, *done_tags; /* caller's tag per segment (task id, ...), in segment order */
    uint32_t used_in, used_tg, n_seg, done_n_seg;
    uint64_t n_examples, n_truncated, n_rows;
    uint64_t tokens_in, tokens_tg; /* non-padding tokens pushed (after truncation) */
} fv_packer;

int fv_packer_init(fv_packer *p, uint32_t L, uint32_t L2, uint32_t eos_id);
void fv_packer_free(fv_packer *p);
/* Add an example. Returns 1 when it closed the current row (it did not fit): the closed row is
 * then available through fv_packer_done until the next push/flush; 0 if no row closed; -1 on
 * error. *truncated (may be NULL) tells whether this example was truncated. */
int fv_packer_push(fv_packer *p, const uint32_t *in, size_t n_in, const uint32_t *tg, size_t n_tg, int32_t tag,
                   int *truncated);
/* Close a partly filled row: 1 if there was one (now in fv_packer_done), 0 if the row was empty. */
int fv_packer_flush(fv_packer *p);
/* The last closed row, its number of examples and their tags. */
fv_pack_row fv_packer_done(const fv_packer *p, uint32_t *n_seg, const int32_t **tags);

#endif
