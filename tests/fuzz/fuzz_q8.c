/* Fuzz harness: a low-bit weights file (the q8 safetensors variant of io/wfile.h: I8 tensor NAME plus
 * F16 NAME.scales, "__metadata__" flanvk_weights / flanvk_q8) read as the model loader reads weights:
 * metadata check, per-tensor check, the stored and default types, every 2-D tensor into the packed
 * words of each storage type and as fp32, and the whole file against the tiny T5 config. */
#include "fuzz_util.h"

#include "io/t5_config.h"
#include "io/t5_tensors.h"
#include "io/wfile.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fz_quiet();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fz_write("model.safetensors", data, size);
    fv_safetensors *st;
    if (fv_st_open(&st, path)) return 0;
    enum fv_wtype def;
    if (fv_wfile_check_meta(st) == 0) (void)fv_wfile_default_type(st, &def);
    for (size_t i = 0; i < fv_st_count(st); i++) {
        const fv_st_tensor *t = fv_st_at(st, i);
        enum fv_wtype stored;
        (void)fv_wfile_tensor_type(t->name, t->ndim, FV_WT_Q8);
        if (fv_wfile_check_tensor(st, t) || fv_wfile_stored_type(st, t, &stored)) continue;
        if (t->numel > (1u << 20)) continue;
        float *f = malloc((size_t)t->numel * sizeof *f + 4);
        if (f) (void)fv_wfile_read_f32(st, t->name, f, t->ndim, t->shape);
        free(f);
        if (t->ndim != 2 || t->shape[0] > 4096 || t->shape[1] > 4096) continue;
        uint32_t N = (uint32_t)t->shape[0], K = (uint32_t)t->shape[1];
        for (int w = FV_WT_F32; w <= FV_WT_Q8; w++) {
            uint64_t dw = fv_wpack_data_words((enum fv_wtype)w, N, K), sw = fv_wpack_scale_words((enum fv_wtype)w, N, K);
            uint32_t *d = malloc((size_t)dw * 4 + 4), *s = malloc((size_t)sw * 4 + 4);
            if (d && s) (void)fv_wfile_read(st, t->name, (enum fv_wtype)w, N, K, d, s);
            free(d);
            free(s);
        }
    }
    fv_t5_config c;
    if (fv_t5_config_preset(&c, "tiny") == 0) (void)fv_t5_check_tensors(&c, st, FV_T5_CHECK_STRICT);
    fv_st_close(st);
    return 0;
}
