/* Test fixtures: a reference case (tests/fixtures/reference/NAME.json + NAME.bin, format in that
 * folder's README) and a model directory with deterministic weights (support/det_weights.h) made
 * from a case's config, written as a Hugging Face checkpoint so tests exercise the real loader. */
#ifndef FV_TEST_FIXTURE_H
#define FV_TEST_FIXTURE_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "model/t5_forward.h"
#include "vk/device.h"

typedef struct fv_fixture {
    cJSON *json;
    unsigned char *bin;
    size_t bin_size;
    char name[64];
} fv_fixture;

/* Load tests/fixtures/reference/NAME.json (+ .bin) from the source tree (FLANVK_SOURCE_DIR or "."). */
int fv_fixture_load(fv_fixture *f, const char *name);
void fv_fixture_free(fv_fixture *f);
/* An array from the .bin: its data (float or int32) and element count; NULL if absent. */
const void *fv_fixture_array(const fv_fixture *f, const char *name, size_t *n);
/* A JSON array of integers as uint32 (malloc'd); NULL if absent or not such an array. */
uint32_t *fv_fixture_ids(const cJSON *arr, size_t *n);

/* A host batch: the arrays a training or forward step uploads (model/t5_forward.h), aborting the
 * test on out-of-memory. */
typedef fv_t5_host_arrays fv_hbatch;
void fv_hbatch_alloc(fv_hbatch *h, uint32_t B, uint32_t Te, uint32_t Td);
void fv_hbatch_free(fv_hbatch *h);
/* The batch as model/t5_forward.h's host batch. */
struct fv_t5_host_batch;
void fv_hbatch_view(const fv_hbatch *h, struct fv_t5_host_batch *out);
/* A JSON [rows][cols] integer array under key, flattened into out (at most n values). */
void fv_fixture_flat(const cJSON *j, const char *key, int32_t *out, size_t n);
/* The packed batch of a case (encoder_input_ids, *_segment_ids, *_positions, decoder_input_ids,
 * decoder_target_ids; labels -100 at padding), e.g. packed_grads. */
void fv_fixture_packed_batch(const fv_fixture *f, fv_hbatch *h);

/* Write config.json and model.safetensors with deterministic weights for the case's config into
 * a new temporary directory (dir, at least 64 bytes). */
int fv_fixture_det_model(const fv_fixture *f, fv_dev *d, char *dir);
/* Remove a directory made by fv_fixture_det_model. */
void fv_fixture_rmdir(const char *dir);

#endif
