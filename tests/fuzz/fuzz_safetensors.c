/* Fuzz harness: one .safetensors file (header length, JSON header, tensor table, data) through
 * fv_st_open as the model loader opens it, then every accessor and conversion on what it accepted. */
#include "fuzz_util.h"

#include "io/safetensors.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fz_quiet();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fz_write("model.safetensors", data, size);
    fv_safetensors *st;
    if (fv_st_open(&st, path)) return 0;
    (void)fv_st_meta(st, "format");
    for (size_t i = 0; i < fv_st_count(st); i++) {
        const fv_st_tensor *t = fv_st_at(st, i);
        char sb[160];
        fv_st_shape_str(sb, sizeof sb, t->ndim, t->shape);
        if (fv_st_find(st, t->name) != t) abort(); /* sorted, unique names */
        (void)fv_st_check_shape(st, t, t->ndim, t->shape);
        if (!fv_dtype_convertible(t->dtype) || t->numel > (1u << 22)) continue;
        float *f = malloc((size_t)t->numel * sizeof *f + 4);
        uint16_t *h = malloc((size_t)t->numel * sizeof *h + 2);
        if (f && h) {
            if (fv_st_tensor_f32(st, t, f) || fv_st_tensor_f16(st, t, h)) abort(); /* convertible never fails */
            (void)fv_st_read_f32(st, t->name, f, t->ndim, t->shape);
        }
        free(f);
        free(h);
    }
    fv_st_close(st);
    return 0;
}
