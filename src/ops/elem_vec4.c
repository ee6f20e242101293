/* See ops/elem_vec4.h. */
#include "ops/elem_vec4.h"

#include <stdlib.h>

static int env_int(const char *name, int def) {
    const char *s = getenv(name);
    return s && *s ? atoi(s) : def;
}

int fv_elem_vec4_ok(const fv_dev *d, uint32_t n, uint32_t noff, const uint32_t *offs) {
    (void)d;
    if (n < 4 || !env_int("FLANVK_ELEM_VEC4", 1)) return 0;
    for (uint32_t i = 0; i < noff; i++)
        if (offs[i] % 4) return 0;
    return 1;
}

int fv_elem_texel_ok(const fv_dev *d, const fv_buf *b) {
    return b->size / 16 <= d->info.max_texel_buffer_elements;
}

void fv_elem_vec4_spec(const fv_dev *d, fv_pipe_desc *desc) {
    uint32_t sg = d->subgroup_size ? d->subgroup_size : 32;
    int cpu = d->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;
    /* CPU: few big invocations (loop overhead is per workgroup); GPU: 256 threads, 1 vec4 each
     * beyond the first keeps enough work in flight. */
    uint32_t wg = cpu ? sg * 8 : 256, u = cpu ? 4 : 2;
    if (wg > d->info.max_workgroup_invocations) wg = d->info.max_workgroup_invocations;
    desc->nspec = 2;
    desc->spec[0] = wg;
    desc->spec[1] = u;
}
