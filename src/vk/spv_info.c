/* A single pass over the SPIR-V words (SPIR-V spec 2.3 "Physical Layout", 2.4 "Logical Layout":
 * decorations come before the types and constants they name, and every constant after its
 * operands); see spv_info.h. */
#include "vk/spv_info.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"

enum {
    OP_EXECUTION_MODE = 16, OP_TYPE_INT = 21, OP_TYPE_FLOAT = 22, OP_TYPE_VECTOR = 23, OP_TYPE_MATRIX = 24,
    OP_TYPE_ARRAY = 28, OP_TYPE_STRUCT = 30, OP_TYPE_POINTER = 32, OP_CONSTANT = 43, OP_CONSTANT_COMPOSITE = 44,
    OP_SPEC_CONSTANT = 50, OP_SPEC_CONSTANT_COMPOSITE = 51, OP_SPEC_CONSTANT_OP = 52, OP_VARIABLE = 59,
    OP_DECORATE = 71, OP_IADD = 128, OP_ISUB = 130, OP_IMUL = 132, OP_UDIV = 134, OP_SDIV = 135, OP_UMOD = 137,
    OP_SHR = 194, OP_SHL = 196,
    MODE_LOCAL_SIZE = 17, DECO_SPEC_ID = 1, DECO_BUILTIN = 11, BUILTIN_WORKGROUP_SIZE = 25, STORAGE_WORKGROUP = 4,
    NO_SPEC = 0xffffffffu,
};

typedef struct {
    uint32_t bound, *value, *spec_id;
    uint64_t *size;      /* bytes of a type id */
    uint32_t *pointee;   /* type a Workgroup pointer type points to (0: not one) */
    uint8_t *unknown;    /* a constant this reader cannot evaluate, or a type sized by one */
} ids;

/* The integer operations of array-length expressions; anything else (conversions, comparisons,
 * selects) only marks its result unknown. */
static int spec_op(ids *t, const uint32_t *w, uint32_t wc) {
    if (wc < 5 || w[2] >= t->bound) return fv_err("malformed SPIR-V OpSpecConstantOp");
    uint32_t res = w[2], op = w[3], ia = w[4] < t->bound ? w[4] : 0, ib = wc > 5 && w[5] < t->bound ? w[5] : 0;
    uint32_t a = t->value[ia], b = t->value[ib];
    t->unknown[res] = t->unknown[ia] || t->unknown[ib] || wc != 6;
    switch (op) {
    case OP_IADD: t->value[res] = a + b; break;
    case OP_ISUB: t->value[res] = a - b; break;
    case OP_IMUL: t->value[res] = a * b; break;
    case OP_UDIV:
    case OP_SDIV: t->value[res] = b ? a / b : 0; break;
    case OP_UMOD: t->value[res] = b ? a % b : 0; break;
    case OP_SHR: t->value[res] = b < 32 ? a >> b : 0; break;
    case OP_SHL: t->value[res] = b < 32 ? a << b : 0; break;
    default: t->unknown[res] = 1;
    }
    return 0;
}

int fv_spv_read_info(const uint32_t *code, size_t bytes, const uint32_t *spec, uint32_t nspec, fv_spv_info *out) {
    size_t n = bytes / 4;
    memset(out, 0, sizeof *out);
    if (n < 5 || code[0] != 0x07230203u) return fv_err("not a SPIR-V module");
    ids t = {.bound = code[3] ? code[3] : 1};
    t.value = calloc(t.bound, sizeof *t.value);
    t.spec_id = malloc(t.bound * sizeof *t.spec_id);
    t.size = calloc(t.bound, sizeof *t.size);
    t.pointee = calloc(t.bound, sizeof *t.pointee);
    t.unknown = calloc(t.bound, 1);
    int rc = 0;
    if (!t.value || !t.spec_id || !t.size || !t.pointee || !t.unknown) rc = fv_err("out of host memory");
    else memset(t.spec_id, 0xff, t.bound * sizeof *t.spec_id);
    uint32_t builtin = 0, mode[3] = {1, 1, 1}, comp[3] = {0, 0, 0};
    int have_comp = 0;
    for (size_t i = 5; !rc && i < n;) {
        uint32_t wc = code[i] >> 16, op = code[i] & 0xffff;
        if (wc == 0 || i + wc > n) {
            rc = fv_err("malformed SPIR-V instruction at word %zu", i);
            break;
        }
        const uint32_t *w = code + i;
        uint32_t res = wc > 1 && w[1] < t.bound ? w[1] : 0; /* result id of type instructions */
        switch (op) {
        case OP_EXECUTION_MODE:
            if (wc >= 6 && w[2] == MODE_LOCAL_SIZE) memcpy(mode, w + 3, sizeof mode);
            break;
        case OP_DECORATE:
            if (wc >= 4 && w[1] < t.bound && w[2] == DECO_SPEC_ID) t.spec_id[w[1]] = w[3];
            if (wc >= 4 && w[2] == DECO_BUILTIN && w[3] == BUILTIN_WORKGROUP_SIZE) builtin = w[1];
            break;
        case OP_TYPE_INT:
        case OP_TYPE_FLOAT:
            if (wc >= 3) t.size[res] = w[2] / 8;
            break;
        case OP_TYPE_VECTOR:
        case OP_TYPE_MATRIX:
            if (wc >= 4 && w[2] < t.bound) t.size[res] = t.size[w[2]] * w[3], t.unknown[res] = t.unknown[w[2]];
            break;
        case OP_TYPE_ARRAY:
            if (wc >= 4 && w[2] < t.bound && w[3] < t.bound) {
                t.size[res] = t.size[w[2]] * t.value[w[3]];
                t.unknown[res] = t.unknown[w[2]] || t.unknown[w[3]];
            }
            break;
        case OP_TYPE_STRUCT:
            for (uint32_t k = 2; k < wc; k++)
                if (w[k] < t.bound) t.size[res] += t.size[w[k]], t.unknown[res] |= t.unknown[w[k]];
            break;
        case OP_TYPE_POINTER:
            if (wc >= 4 && w[2] == STORAGE_WORKGROUP && w[3] < t.bound) t.pointee[res] = w[3];
            break;
        case OP_VARIABLE:
            if (wc >= 4 && w[3] == STORAGE_WORKGROUP && w[1] < t.bound && t.pointee[w[1]]) {
                out->shared_bytes += t.size[t.pointee[w[1]]];
                out->shared_unknown |= t.unknown[t.pointee[w[1]]];
            }
            break;
        case OP_CONSTANT:
        case OP_SPEC_CONSTANT:
            if (wc >= 4 && w[2] < t.bound) {
                uint32_t sid = t.spec_id[w[2]];
                t.value[w[2]] = op == OP_SPEC_CONSTANT && sid != NO_SPEC && sid < nspec ? spec[sid] : w[3];
            }
            break;
        case OP_SPEC_CONSTANT_OP: rc = spec_op(&t, w, wc); break;
        case OP_CONSTANT_COMPOSITE:
        case OP_SPEC_CONSTANT_COMPOSITE:
            if (wc >= 6 && builtin && w[2] == builtin) {
                memcpy(comp, w + 3, sizeof comp);
                have_comp = 1;
            }
            break;
        default: break;
        }
        i += wc;
    }
    for (int k = 0; !rc && k < 3; k++) {
        out->local_size[k] = mode[k];
        if (have_comp && comp[k] >= t.bound) rc = fv_err("malformed SPIR-V WorkgroupSize constant");
        else if (have_comp) out->local_size[k] = t.value[comp[k]];
    }
    free(t.value);
    free(t.spec_id);
    free(t.size);
    free(t.pointee);
    free(t.unknown);
    return rc;
}
