/* A single pass over the SPIR-V words (SPIR-V spec 2.3 "Physical Layout"); see spv_local_size.h. */
#include "vk/spv_local_size.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"

enum {
    OP_EXECUTION_MODE = 16, OP_CONSTANT = 43, OP_CONSTANT_COMPOSITE = 44, OP_SPEC_CONSTANT = 50,
    OP_SPEC_CONSTANT_COMPOSITE = 51, OP_DECORATE = 71, MODE_LOCAL_SIZE = 17, DECO_SPEC_ID = 1, DECO_BUILTIN = 11,
    BUILTIN_WORKGROUP_SIZE = 25, NO_SPEC = 0xffffffffu,
};

int fv_spv_local_size(const uint32_t *code, size_t bytes, const uint32_t *spec, uint32_t nspec, uint32_t size[3]) {
    size_t n = bytes / 4;
    if (n < 5 || code[0] != 0x07230203u) return fv_err("not a SPIR-V module");
    uint32_t bound = code[3];
    uint32_t *value = calloc(bound ? bound : 1, sizeof *value), *spec_id = malloc((bound ? bound : 1) * sizeof *spec_id);
    if (!value || !spec_id) {
        free(value);
        free(spec_id);
        return fv_err("out of host memory");
    }
    memset(spec_id, 0xff, bound * sizeof *spec_id);
    uint32_t builtin = 0, mode[3] = {1, 1, 1}, comp[3] = {0, 0, 0};
    int have_comp = 0, rc = 0;
    for (size_t i = 5; i < n;) {
        uint32_t wc = code[i] >> 16, op = code[i] & 0xffff;
        if (wc == 0 || i + wc > n) {
            rc = fv_err("malformed SPIR-V instruction at word %zu", i);
            break;
        }
        const uint32_t *w = code + i;
        if (op == OP_EXECUTION_MODE && wc >= 6 && w[2] == MODE_LOCAL_SIZE) memcpy(mode, w + 3, sizeof mode);
        else if (op == OP_DECORATE && wc >= 4 && w[1] < bound && w[2] == DECO_SPEC_ID) spec_id[w[1]] = w[3];
        else if (op == OP_DECORATE && wc >= 4 && w[2] == DECO_BUILTIN && w[3] == BUILTIN_WORKGROUP_SIZE) builtin = w[1];
        else if ((op == OP_CONSTANT || op == OP_SPEC_CONSTANT) && wc >= 4 && w[2] < bound) value[w[2]] = w[3];
        else if ((op == OP_CONSTANT_COMPOSITE || op == OP_SPEC_CONSTANT_COMPOSITE) && wc >= 6 && builtin && w[2] == builtin) {
            memcpy(comp, w + 3, sizeof comp);
            have_comp = 1;
        }
        i += wc;
    }
    for (int k = 0; !rc && k < 3; k++) {
        size[k] = mode[k];
        if (!have_comp) continue;
        uint32_t id = comp[k];
        if (id >= bound) {
            rc = fv_err("malformed SPIR-V WorkgroupSize constant");
            break;
        }
        size[k] = spec_id[id] != NO_SPEC && spec_id[id] < nspec ? spec[spec_id[id]] : value[id];
    }
    free(value);
    free(spec_id);
    return rc;
}
