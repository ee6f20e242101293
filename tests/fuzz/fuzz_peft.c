/* Fuzz harness: a PEFT LoRA adapter directory (adapter_config.json + adapter_model.safetensors)
 * through fv_peft_load, against the tiny T5 config and without a model. One input holds both
 * files: the first two bytes (little-endian) are the config's length, clamped to what follows; the
 * config comes next, the safetensors file after it (tests/fuzz/make_seeds.py writes such inputs). */
#include "fuzz_util.h"

#include "io/peft.h"

static fv_t5_config tiny;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fz_quiet();
    if (fv_t5_config_preset(&tiny, "tiny") || mkdir(fz_path("adapter"), 0700)) abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    size_t n = (size_t)data[0] | (size_t)data[1] << 8;
    if (n > size - 2) n = size - 2;
    const char *cfg = (const char *)data + 2;
    fz_write("adapter/" FV_PEFT_CONFIG_FILE, cfg, n);
    fz_write("adapter/" FV_PEFT_WEIGHTS_FILE, cfg + n, size - 2 - n);
    fv_peft_config c;
    fv_peft_config_defaults(&c);
    if (fv_peft_config_parse(&c, cfg, n, FV_PEFT_CONFIG_FILE) == 0) {
        (void)fv_peft_scaling(&c);
        fv_peft_module *plan = NULL;
        size_t np = 0;
        if (fv_peft_plan(&c, &tiny, &plan, &np) == 0) free(plan);
    }
    for (int with_model = 0; with_model < 2; with_model++) {
        fv_peft_adapter a;
        if (fv_peft_load(&a, fz_path("adapter"), with_model ? &tiny : NULL, "tiny")) continue;
        for (size_t i = 0; i < a.n_mods; i++) {
            const fv_peft_module *m = &a.mods[i];
            if ((uint64_t)m->in * m->out > (1u << 20)) continue;
            float *d = malloc((size_t)m->in * m->out * sizeof *d + 4);
            if (d) fv_peft_delta(&a, m, d);
            free(d);
            (void)fv_peft_find(&a, m->name);
        }
        fv_peft_free(&a);
    }
    return 0;
}
