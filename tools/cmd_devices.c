/* flanvk devices: every Vulkan device with what flanvk cares about; '*' marks the chosen one. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_devices(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help")) {
            printf("usage: flanvk devices\nLists Vulkan devices; '*' marks the one used (FLANVK_DEVICE=N or --device N chooses).\n");
            return 0;
        }
        return cli_fail("devices: unknown option '%s'", argv[i]);
    }
    flanvk_device_info info[16];
    uint32_t n;
    if (flanvk_list_devices(info, 16, &n)) return cli_lib_fail("devices");
    if (n == 0) return cli_fail("no Vulkan device found; install a driver (Debian: mesa-vulkan-drivers provides lavapipe for the CPU)");
    uint32_t chosen = 0;
    if (flanvk_default_device(&chosen)) return cli_lib_fail("devices");
    for (uint32_t i = 0; i < n; i++) {
        const flanvk_device_info *d = &info[i];
        printf("%c %u: %s\n", i == chosen ? '*' : ' ', d->index, d->name);
        printf("    type %s, vendor 0x%04x, device 0x%04x, Vulkan %u.%u.%u\n", d->type, d->vendor_id, d->device_id,
               d->api_version >> 22, (d->api_version >> 12) & 0x3ff, d->api_version & 0xfff);
        printf("    driver %s\n", d->driver);
        printf("    subgroup %u (%u..%u), max shared memory %u B, max workgroup %u invocations\n", d->subgroup_size,
               d->min_subgroup_size, d->max_subgroup_size, d->max_shared_memory, d->max_workgroup_invocations);
        printf("    fp16 %s, 16-bit storage %s, int8 %s\n", d->fp16 ? "yes" : "no", d->storage16 ? "yes" : "no",
               d->int8 ? "yes" : "no");
        for (uint32_t h = 0; h < d->heap_count; h++)
            printf("    heap %u: %.1f MiB%s\n", h, d->heap_size[h] / 1048576.0, d->heap_device_local[h] ? " device-local" : "");
    }
    return 0;
}
