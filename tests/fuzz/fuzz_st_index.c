/* Fuzz harness: a sharded checkpoint's model.safetensors.index.json ({"weight_map": {tensor: shard
 * file}}) opened through fv_st_open beside two small valid shards (shard-1 holds a and b, shard-2
 * holds c), so the shard bookkeeping (paths, duplicates, missing tensors) is what gets fuzzed. */
#include "fuzz_util.h"

#include "io/safetensors.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fz_quiet();
    static const float v[4] = {1, 2, 3, 4};
    static const int64_t s2[1] = {2}, s1[1] = {1};
    fv_st_out one[2] = {{"a", 1, s2, v, FV_DT_F32, FV_DT_F32}, {"b", 1, s1, v, FV_DT_F32, FV_DT_F16}};
    fv_st_out two[1] = {{"c", 1, s2, v, FV_DT_F32, FV_DT_BF16}};
    if (fv_st_write(fz_path("shard-1.safetensors"), one, 2, NULL) || fv_st_write(fz_path("shard-2.safetensors"), two, 1, NULL))
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fz_write("model.safetensors.index.json", data, size);
    fv_safetensors *st;
    if (fv_st_open(&st, path)) return 0;
    for (size_t i = 0; i < fv_st_count(st); i++) {
        const fv_st_tensor *t = fv_st_at(st, i);
        float f[4];
        if (t->numel <= 4 && fv_st_tensor_f32(st, t, f)) abort();
        (void)fv_st_file(st, t);
    }
    fv_st_close(st);
    return 0;
}
