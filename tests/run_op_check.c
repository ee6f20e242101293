/* ctest driver for one op check (or "all" of them): opens the device with the Khronos validation
 * layer on (unless FLANVK_VALIDATION is already set), runs the named check, and fails on any failed
 * comparison or any validation message. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flanvk/flanvk.h"

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: run_op_check NAME|all\n");
        return 2;
    }
    setenv("FLANVK_VALIDATION", "1", 0);
    flanvk_ctx *ctx;
    if (flanvk_open(-1, &ctx)) {
        fprintf(stderr, "cannot open a device: %s\n", flanvk_last_error());
        return 1;
    }
    printf("device: %s (profile %s)\n", flanvk_device(ctx)->name, flanvk_device(ctx)->profile);
    int passed = 0, failed = 0;
    int rc = flanvk_test_ops(ctx, strcmp(argv[1], "all") ? argv[1] : NULL, stdout, &passed, &failed);
    if (rc) printf("%s: ERROR: %s\n", argv[1], flanvk_last_error());
    int msgs = flanvk_validation_messages(ctx);
    flanvk_close(ctx);
    if (msgs) printf("%s: %d validation layer messages\n", argv[1], msgs);
    printf("%s: %d passed, %d failed\n", argv[1], passed, failed);
    return (rc || failed || msgs || !passed) ? 1 : 0;
}
