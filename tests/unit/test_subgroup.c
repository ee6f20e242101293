/* The measured subgroup size (src/vk/subgroup.c): whatever the driver reports, the size flanvk uses
 * is the one a kernel really gets, and kernels laid out for exactly that size are refused for any
 * other. ctest also runs this at LP_NATIVE_VECTOR_WIDTH=1024, where Mesa 22.3's lavapipe reports 32
 * and runs 16 (docs/PORTABILITY.md). */
#include <stdio.h>
#include <string.h>

#include "support/unit.h"
#include "vk/device.h"
#include "vk/pipeline.h"
#include "vk/subgroup.h"

int main(void) {
    fv_dev *d;
    if (fv_dev_open(-1, &d)) {
        printf("cannot open a device: %s\n", fv_last_error());
        return 1;
    }
    printf("reported %u, measured %u, used %u, size control %d, fixed %d\n", d->subgroup_reported, d->subgroup_measured,
           d->subgroup_size, d->subgroup_control, d->subgroup_fixed);
    CHECK(d->subgroup_measured > 0, "the probe ran");
    CHECK(d->subgroup_size == d->subgroup_measured, "flanvk uses the measured size");
    CHECK(d->info.subgroup_size_used == d->subgroup_size, "the device info (test-ops --report) says %u",
          d->info.subgroup_size_used);
    if (d->subgroup_measured != d->subgroup_reported)
        CHECK(!d->subgroup_control, "size control is not trusted when the driver misreports");

    /* A kernel marked for the used size gets subgroups of exactly that size, in workgroups of
     * one and of several subgroups. */
    uint32_t sg = d->subgroup_size;
    if (fv_subgroup_exact(d)) {
        for (uint32_t k = 1; k <= 4 && k * sg <= d->info.max_workgroup_invocations && k * sg <= 256; k *= 2) {
            fv_subgroup_seen seen;
            int rc = fv_subgroup_count(d, k * sg, sg, &seen);
            CHECK(!rc && seen.lo == sg && seen.hi == sg, "workgroup of %u, required %u: subgroups of %u..%u (%s)", k * sg,
                  sg, seen.lo, seen.hi, rc ? fv_last_error() : "ran");
        }
    }
    /* ... and a kernel that asks for any other size is refused with an error naming it. */
    fv_pipe_desc wrong = {.shader = "subgroup_probe", .nbind = 1, .write_mask = 1, .nspec = 1, .spec = {2 * sg},
                          .subgroup = 2 * sg};
    fv_pipeline *p;
    int rc = fv_pipeline_get(d, &wrong, &p);
    CHECK(rc != 0 && strstr(fv_last_error(), "subgroup_probe"), "a size the device does not run is refused (%s)",
          rc ? fv_last_error() : "accepted");
    int msgs = d->validation_messages;
    fv_dev_close(d);
    CHECK(msgs == 0, "%d validation messages", msgs);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
