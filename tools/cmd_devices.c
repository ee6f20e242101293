/* flanvk devices: every Vulkan device with what flanvk cares about, after the device profile's
 * clamps (--profile NAME or FLANVK_PROFILE); '*' marks the chosen one. --json: one object a line. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"

static void print_text(const flanvk_device_info *d, int chosen) {
    printf("%c %u: %s\n", chosen ? '*' : ' ', d->index, d->name);
    printf("    type %s, vendor 0x%04x, device 0x%04x, Vulkan %u.%u.%u\n", d->type, d->vendor_id, d->device_id,
           d->api_version >> 22, (d->api_version >> 12) & 0x3ff, d->api_version & 0xfff);
    printf("    driver %s\n", d->driver);
    if (strcmp(d->profile, "none")) printf("    as device profile '%s'\n", d->profile);
    printf("    subgroup %u (%u..%u), max shared memory %u B, max workgroup %u invocations\n", d->subgroup_size,
           d->min_subgroup_size, d->max_subgroup_size, d->max_shared_memory, d->max_workgroup_invocations);
    printf("    storage buffer range %.1f MiB, max allocation %.1f MiB, push constants %u B, offset alignment %llu B\n",
           d->max_storage_buffer_range / 1048576.0, d->max_allocation_size / 1048576.0, d->max_push_constants,
           (unsigned long long)d->min_storage_buffer_offset_alignment);
    printf("    fp16 %s, 16-bit storage %s, int8 %s\n", d->fp16 ? "yes" : "no", d->storage16 ? "yes" : "no",
           d->int8 ? "yes" : "no");
    for (uint32_t h = 0; h < d->heap_count; h++)
        printf("    heap %u: %.1f MiB%s\n", h, d->heap_size[h] / 1048576.0, d->heap_device_local[h] ? " device-local" : "");
    for (uint32_t t = 0; t < d->memory_type_count; t++) {
        const flanvk_memory_type *m = &d->memory_types[t];
        printf("    memory type %u (heap %u):%s%s%s%s\n", t, m->heap, m->device_local ? " device-local" : "",
               m->host_visible ? " host-visible" : "", m->host_coherent ? " coherent" : "", m->host_cached ? " cached" : "");
    }
}

int cmd_devices(int argc, char **argv) {
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help")) {
            printf("usage: flanvk devices [--json] [--profile NAME]\n"
                   "Lists Vulkan devices; '*' marks the one used (FLANVK_DEVICE=N or --device N chooses).\n"
                   "--json: one JSON object per device per line. --profile NAME (or FLANVK_PROFILE): show the devices\n"
                   "as that device profile clamps them: %s.\n", flanvk_profile_names());
            return 0;
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "--profile") || !strcmp(argv[i], "--device-profile")) {
            if (cli_device_profile(argv[i], i + 1 < argc ? argv[i + 1] : NULL)) return 1;
            i++;
        } else {
            return cli_fail("devices: unknown option '%s'", argv[i]);
        }
    }
    flanvk_device_info info[16];
    uint32_t n;
    if (flanvk_list_devices(info, 16, &n)) return cli_lib_fail("devices");
    if (n == 0) return cli_fail("no Vulkan device found; install a driver (Debian: mesa-vulkan-drivers provides lavapipe for the CPU)");
    uint32_t chosen = 0;
    if (flanvk_default_device(&chosen)) return cli_lib_fail("devices");
    for (uint32_t i = 0; i < n; i++) {
        if (!json) {
            print_text(&info[i], i == chosen);
            continue;
        }
        cJSON *o = cli_device_json(&info[i]);
        char *s = o ? cJSON_PrintUnformatted(o) : NULL;
        cJSON_Delete(o);
        if (!s) return cli_fail("devices: out of memory");
        printf("%s\n", s);
        cJSON_free(s);
    }
    return fflush(stdout) ? cli_fail("devices: cannot write to standard output") : 0;
}
