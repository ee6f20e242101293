/* flanvk bench: speed of ops, generation and training on this device. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int usage(void) {
    printf("usage: flanvk bench ops [--device N] [--op NAME] [--json]\n"
           "Times each op at T5 shapes; GFLOP/s or GB/s and the percentage of the peak measured in the same run.\n");
    return 0;
}

int cmd_bench(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help")) return argc < 2 ? (usage(), 2) : usage();
    if (strcmp(argv[1], "ops")) return cli_fail("bench: unknown benchmark '%s' (ops)", argv[1]);
    long device = -1;
    int json = 0;
    const char *filter = NULL;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--device")) {
            if (cli_parse_int("--device", i + 1 < argc ? argv[++i] : NULL, 0, 63, &device)) return 1;
        } else if (!strcmp(argv[i], "--op") && i + 1 < argc) filter = argv[++i];
        else if (!strcmp(argv[i], "--help")) return usage();
        else return cli_fail("bench ops: unknown option '%s'", argv[i]);
    }
    flanvk_ctx *ctx;
    if (flanvk_open((int)device, &ctx)) return cli_lib_fail("bench");
    int rc = flanvk_bench_ops(ctx, stdout, json, filter);
    if (rc) cli_lib_fail("bench ops");
    flanvk_close(ctx);
    return rc ? 1 : 0;
}
