/* Training rows for `flanvk train --data`: a packed file made by `flanvk mix` (memory-mapped), or a
 * JSONL file of {"inputs", "targets"} (text, tokenized with </s>) or {"input_ids", "target_ids"}
 * (ids, </s> included) lines, packed on the fly with the same greedy packer. */
#ifndef FV_TRAIN_TRAIN_DATA_H
#define FV_TRAIN_TRAIN_DATA_H

#include <stdint.h>

#include "data/pack.h"
#include "io/tokenizer.h"

typedef struct fv_train_data {
    int is_pack;
    fv_pack pack;
    uint32_t L, L2;
    uint64_t rows, examples, truncated;
    /* JSONL: packed rows in memory, row r at r * L (inputs) and r * L2 (targets) */
    uint32_t *in, *tg;
    int32_t *iseg, *tseg;
    char path[512];
} fv_train_data;

/* L and L2 of 0 take the pack file's lengths, or for JSONL the longest input and target (at most
 * 512 and 128). Given lengths must match a pack file's. tok may be NULL (ids only). */
int fv_train_data_open(fv_train_data *d, const char *path, uint32_t L, uint32_t L2, uint32_t vocab, const fv_tokenizer *tok);
void fv_train_data_close(fv_train_data *d);
fv_pack_row fv_train_data_row(const fv_train_data *d, uint64_t i);

#endif
