/* The subgroup-size probe; see subgroup.h for why flanvk measures instead of believing. */
#include "vk/subgroup.h"

#include <stdlib.h>

#include "base/log.h"
#include "vk/graph.h"
#include "vk/memory.h"
#include "vk/pipeline.h"

int fv_subgroup_count(fv_dev *d, uint32_t wg, uint32_t required, fv_subgroup_seen *seen) {
    *seen = (fv_subgroup_seen){.lo = UINT32_MAX};
    fv_pipe_desc desc = {.shader = "subgroup_probe", .nbind = 1, .write_mask = 1, .nspec = 1, .spec = {wg},
                         .subgroup = required};
    fv_pipeline *p;
    fv_buf *b = NULL;
    fv_graph *g = NULL;
    uint32_t *out = calloc(2 * (size_t)wg, sizeof *out);
    int rc = out ? 0 : fv_err("out of host memory");
    if (!rc) rc = fv_pipeline_get(d, &desc, &p);
    if (!rc) rc = fv_buf_alloc(d, 8ull * wg, FV_MEM_DEVICE, "subgroup probe", &b);
    if (!rc) rc = fv_graph_create(d, &g);
    if (!rc) rc = fv_graph_begin(g);
    if (!rc) rc = fv_graph_dispatch(g, p, &b, NULL, 1, 1, 1);
    if (!rc) rc = fv_graph_end(g);
    if (!rc) rc = fv_graph_run(g);
    if (!rc) rc = fv_buf_read(d, b, 0, out, 8ull * wg);
    if (!rc) {
        seen->builtin = out[1];
        for (uint32_t i = 0; i < wg; i++) {
            if (out[2 * i] < seen->lo) seen->lo = out[2 * i];
            if (out[2 * i] > seen->hi) seen->hi = out[2 * i];
        }
    }
    if (g) fv_graph_destroy(g);
    if (b) fv_buf_free(d, b);
    free(out);
    return rc;
}

int fv_subgroup_probe(fv_dev *d) {
    /* One workgroup of a few reported subgroups, so that a driver running smaller ones shows it. */
    uint32_t wg = d->subgroup_reported * 2;
    if (wg > d->info.max_workgroup_invocations) wg = d->info.max_workgroup_invocations;
    if (wg > 256) wg = 256;
    if (!wg || !(d->subgroup_ops & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT)) return 0;
    /* With size control the probe asks for the reported size, so what it checks is whether the
     * driver honours the request; without, what the compiler picks for a plain kernel. */
    fv_subgroup_seen seen;
    FV_TRY(fv_subgroup_count(d, wg, d->subgroup_control && wg % d->subgroup_reported == 0 ? d->subgroup_reported : 0,
                             &seen));
    d->subgroup_measured = seen.hi;
    if (seen.hi && seen.hi != d->subgroup_reported) {
        fv_warn("%s reports subgroups of %u invocations but runs %u (gl_SubgroupSize says %u); using %u and no "
                "subgroup size control", d->info.name, d->subgroup_reported, seen.hi, seen.builtin, seen.hi);
        d->subgroup_size = seen.hi;
        d->subgroup_control = 0;
        /* one size only if the driver says so and every subgroup had it */
        d->subgroup_fixed = d->subgroup_fixed && seen.lo == seen.hi;
    }
    return 0;
}
