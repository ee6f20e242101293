/* Reference-case loading and deterministic model directories for tests; see fixture.h. */
#define _POSIX_C_SOURCE 200809L
#include "support/fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/file.h"
#include "io/t5_config.h"
#include "model/t5.h"
#include "model/t5_forward.h"
#include "support/det_weights.h"
#include "io/safetensors.h"

static const char *src_dir(void) {
    const char *s = getenv("FLANVK_SOURCE_DIR");
    return s && *s ? s : ".";
}

int fv_fixture_load(fv_fixture *f, const char *name) {
    memset(f, 0, sizeof *f);
    snprintf(f->name, sizeof f->name, "%s", name);
    char path[1024], *text;
    size_t n;
    snprintf(path, sizeof path, "%s/tests/fixtures/reference/%s.json", src_dir(), name);
    FV_TRY(fv_read_file(path, &text, &n));
    f->json = cJSON_ParseWithLength(text, n);
    free(text);
    if (!f->json) return fv_err("%s: not valid JSON", path);
    const cJSON *bin = cJSON_GetObjectItemCaseSensitive(f->json, "bin");
    if (cJSON_IsString(bin)) {
        snprintf(path, sizeof path, "%s/tests/fixtures/reference/%s", src_dir(), bin->valuestring);
        char *data;
        FV_TRY(fv_read_file(path, &data, &f->bin_size));
        f->bin = (unsigned char *)data;
    }
    return 0;
}

void fv_fixture_free(fv_fixture *f) {
    cJSON_Delete(f->json);
    free(f->bin);
    memset(f, 0, sizeof *f);
}

const void *fv_fixture_array(const fv_fixture *f, const char *name, size_t *n) {
    const cJSON *arrays = cJSON_GetObjectItemCaseSensitive(f->json, "arrays");
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(arrays, name);
    if (!a || !f->bin) return NULL;
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(a, "shape"), *off = cJSON_GetObjectItemCaseSensitive(a, "offset");
    size_t count = 1;
    const cJSON *dim;
    cJSON_ArrayForEach(dim, shape) count *= (size_t)dim->valuedouble;
    size_t o = (size_t)off->valuedouble;
    if (o + count * 4 > f->bin_size) return NULL;
    if (n) *n = count;
    return f->bin + o;
}

uint32_t *fv_fixture_ids(const cJSON *arr, size_t *n) {
    if (!cJSON_IsArray(arr)) return NULL;
    size_t k = (size_t)cJSON_GetArraySize(arr), i = 0;
    uint32_t *ids = malloc((k ? k : 1) * sizeof *ids);
    const cJSON *v;
    cJSON_ArrayForEach(v, arr) ids[i++] = (uint32_t)v->valuedouble;
    *n = k;
    return ids;
}

int fv_fixture_det_model(const fv_fixture *f, fv_dev *d, char *dir) {
    snprintf(dir, 64, "/tmp/flanvk-test-XXXXXX");
    if (!mkdtemp(dir)) return fv_err("cannot create a temporary directory");
    const cJSON *cfgj = cJSON_GetObjectItemCaseSensitive(f->json, "config");
    char *text = cJSON_PrintUnformatted(cfgj);
    fv_t5_config cfg;
    int rc = text ? fv_t5_config_parse(&cfg, text, strlen(text), "fixture config") : fv_err("fixture has no config");
    free(text);
    char path[512];
    if (!rc) rc = fv_path_join(path, sizeof path, dir, "config.json");
    if (!rc) rc = fv_t5_config_save(&cfg, path);
    /* the tensor names and shapes come from the model's own table */
    fv_t5 *m = NULL;
    if (!rc) rc = fv_t5_create(d, &cfg, &m);
    fv_st_out *outs = NULL;
    int64_t *shapes = NULL;
    float **data = NULL;
    if (!rc) {
        outs = calloc(m->nparams, sizeof *outs);
        shapes = calloc(2 * m->nparams, sizeof *shapes);
        data = calloc(m->nparams, sizeof *data);
        if (!outs || !shapes || !data) rc = fv_err("out of memory");
    }
    fv_det_cfg dc = {cfg.d_model, cfg.d_kv, cfg.num_heads, cfg.d_ff};
    for (size_t i = 0; !rc && i < m->nparams; i++) {
        const fv_t5_param *p = &m->params[i];
        size_t n = (size_t)p->rows * (p->cols ? p->cols : 1);
        data[i] = malloc(n * sizeof(float));
        if (!data[i]) rc = fv_err("out of memory");
        else rc = fv_det_tensor(p->name, &dc, data[i], n);
        shapes[2 * i] = p->rows;
        shapes[2 * i + 1] = p->cols;
        outs[i] = (fv_st_out){p->name, p->cols ? 2 : 1, &shapes[2 * i], data[i], FV_DT_F32, FV_DT_F32};
    }
    if (!rc) rc = fv_path_join(path, sizeof path, dir, "model.safetensors");
    if (!rc) rc = fv_st_write(path, outs, m->nparams, NULL);
    for (size_t i = 0; data && i < m->nparams; i++) free(data[i]);
    free(data);
    free(shapes);
    free(outs);
    fv_t5_free(m);
    return rc;
}

void fv_fixture_rmdir(const char *dir) { fv_rmdir_files(dir); }

void fv_hbatch_alloc(fv_hbatch *h, uint32_t B, uint32_t Te, uint32_t Td) {
    if (fv_t5_host_arrays_alloc(h, B, Te, Td)) {
        fprintf(stderr, "%s\n", fv_last_error());
        exit(1);
    }
}

void fv_hbatch_free(fv_hbatch *h) { fv_t5_host_arrays_free(h); }

void fv_fixture_flat(const cJSON *j, const char *key, int32_t *out, size_t n) {
    const cJSON *row, *v;
    size_t k = 0;
    cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(j, key)) cJSON_ArrayForEach(v, row) if (k < n) out[k++] =
        (int32_t)v->valuedouble;
}

void fv_fixture_packed_batch(const fv_fixture *f, fv_hbatch *h) {
    const cJSON *j = f->json;
    const cJSON *enc = cJSON_GetObjectItemCaseSensitive(j, "encoder_input_ids");
    uint32_t B = (uint32_t)cJSON_GetArraySize(enc);
    uint32_t Te = (uint32_t)cJSON_GetArraySize(cJSON_GetArrayItem(enc, 0));
    uint32_t Td = (uint32_t)cJSON_GetArraySize(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "decoder_input_ids"), 0));
    fv_hbatch_alloc(h, B, Te, Td);
    size_t ne = (size_t)B * Te, nd = (size_t)B * Td;
    fv_fixture_flat(j, "encoder_input_ids", (int32_t *)h->eid, ne);
    fv_fixture_flat(j, "encoder_segment_ids", h->eseg, ne);
    fv_fixture_flat(j, "encoder_positions", h->epos, ne);
    fv_fixture_flat(j, "decoder_input_ids", (int32_t *)h->did, nd);
    fv_fixture_flat(j, "decoder_segment_ids", h->dseg, nd);
    fv_fixture_flat(j, "decoder_positions", h->dpos, nd);
    fv_fixture_flat(j, "decoder_target_ids", h->lab, nd);
    for (size_t i = 0; i < nd; i++)
        if (!h->dseg[i]) h->lab[i] = -100;
}

void fv_hbatch_view(const fv_hbatch *h, struct fv_t5_host_batch *out) { *out = fv_t5_host_arrays_view(h); }
