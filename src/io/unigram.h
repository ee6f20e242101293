/* Unigram segmentation: a byte trie over the vocabulary pieces (hash-table edges) and the Viterbi
 * best path over piece scores, as SentencePiece's UnigramModel::EncodeOptimized and Hugging Face's
 * tokenizers (models/unigram) compute it, with tokenizers' double path scores (SentencePiece keeps
 * float ones, which breaks a few exact ties the other way); ties kept by the first candidate; a
 * character no piece starts with becomes <unk> with score min_score - 10; runs of <unk> merge
 * into one id like SentencePieceProcessor and tokenizers' fuse_unk. */
#ifndef FV_IO_UNIGRAM_H
#define FV_IO_UNIGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "io/spm_model.h"

typedef struct {
    uint32_t *v;
    size_t n, cap;
} fv_idvec;

int fv_idvec_push(fv_idvec *a, uint32_t id);

typedef struct {
    const fv_spm_piece *pieces; /* borrowed from the spec */
    uint32_t n_pieces;
    int32_t *node_piece;        /* per trie node: piece id ending there, or -1 */
    uint32_t n_nodes;
    uint64_t *keys;             /* edge hash: key = node << 8 | byte, 0 = empty slot */
    uint32_t *child;
    uint64_t mask;
    float min_score, max_score;
    double unk_score;
    int unk_id;
} fv_unigram;

int fv_unigram_init(fv_unigram *u, const fv_spm_spec *spec, const char *name);
void fv_unigram_free(fv_unigram *u);
/* Segment a normalized string and append the ids to out. */
int fv_unigram_encode(const fv_unigram *u, const char *s, size_t n, fv_idvec *out);

#endif
