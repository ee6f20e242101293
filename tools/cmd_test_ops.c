/* flanvk test-ops: run the op checks (shader vs CPU reference) on the user's device. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cmd_test_ops(int argc, char **argv) {
    long device = -1;
    const char *filter = NULL;
    int verbose = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help")) {
            printf("usage: flanvk test-ops [--device N] [--op NAME] [--verbose]\n"
                   "Checks every op's shader against its plain-C reference on this device and prints a table.\n"
                   "Ops: ");
            for (const char *const *n = flanvk_op_check_names(); *n; n++) printf("%s ", *n);
            printf("\n");
            return 0;
        } else if (!strcmp(argv[i], "--device")) {
            if (cli_parse_int("--device", i + 1 < argc ? argv[++i] : NULL, 0, 63, &device)) return 1;
        } else if (!strcmp(argv[i], "--op") && i + 1 < argc) {
            filter = argv[++i];
        } else if (!strcmp(argv[i], "--verbose") || !strcmp(argv[i], "-v")) {
            verbose = 1;
        } else {
            return cli_fail("test-ops: unknown option '%s'", argv[i]);
        }
    }
    flanvk_ctx *ctx;
    if (flanvk_open((int)device, &ctx)) return cli_lib_fail("test-ops");
    printf("device: %s (%s)\n", flanvk_device(ctx)->name, flanvk_device(ctx)->driver);
    printf("%-14s %8s %8s  %s\n", "op", "passed", "failed", "result");
    int total_fail = 0, total_pass = 0, broken = 0;
    for (const char *const *n = flanvk_op_check_names(); *n; n++) {
        if (filter && !strstr(*n, filter)) continue;
        int passed = 0, failed = 0;
        int rc = flanvk_test_ops(ctx, *n, verbose ? stdout : NULL, &passed, &failed);
        if (rc) {
            printf("%-14s %8s %8s  ERROR: %s\n", *n, "-", "-", flanvk_last_error());
            broken++;
            continue;
        }
        printf("%-14s %8d %8d  %s\n", *n, passed, failed, failed ? "FAIL" : "ok");
        total_pass += passed;
        total_fail += failed;
    }
    int vmsgs = flanvk_validation_messages(ctx);
    flanvk_close(ctx);
    printf("%d passed, %d failed\n", total_pass, total_fail + broken);
    if (vmsgs) printf("validation layer messages: %d\n", vmsgs);
    return (total_fail || broken || vmsgs) ? 1 : 0;
}
