/* Fuzz harness: config.json through the T5 config parser and validator, and (when valid) the tensor
 * list and parameter count the loader derives from it. */
#include "fuzz_util.h"

#include "io/t5_config.h"
#include "io/t5_tensors.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fz_quiet();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fv_t5_config c;
    fv_t5_config_defaults(&c);
    if (fv_t5_config_parse(&c, (const char *)data, size, "config.json")) return 0;
    if (fv_t5_config_validate(&c, "config.json")) return 0;
    (void)fv_t5_param_count(&c);
    fv_t5_tensor_spec *specs = NULL;
    size_t n = 0;
    if (fv_t5_tensor_specs(&c, &specs, &n) == 0) free(specs);
    return 0;
}
