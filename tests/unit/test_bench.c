/* Smoke test of the model benchmarks on the "tiny" preset (random weights, no files): bench generate
 * and bench train run, print one JSON object per line with the documented keys and finite positive
 * figures. Speed itself is never asserted here (docs/PERFORMANCE.md has the measurements). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_model.h"
#include "vk/device.h"

static int passed, failed;

static void expect(int ok, const char *what) {
    if (ok) passed++;
    else failed++;
    printf("%s %s\n", ok ? "ok  " : "FAIL", what);
}

/* The number after "key": in a JSON line, or -1. */
static double field(const char *line, const char *key) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *p = strstr(line, pat);
    return p ? atof(p + strlen(pat)) : -1;
}

int main(void) {
    fv_dev *d;
    if (fv_dev_open(-1, &d)) {
        printf("no device: %s\n", fv_last_error());
        return 1;
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    uint32_t batches[] = {1, 3};
    fv_bench_gen_opts g = {.config = "tiny", .prompt_len = 9, .new_tokens = 4, .batches = batches, .nbatches = 2};
    int rc = fv_bench_generate(d, &g, f, 1);
    fclose(f);
    expect(rc == 0, "bench generate (tiny, batches 1 and 3) runs");
    if (rc) printf("  %s\n", fv_last_error());
    int lines = 0;
    for (char *line = buf; rc == 0 && line && *line; lines++) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        char what[128];
        snprintf(what, sizeof what, "generate line %d has batch, positive rates, first token, memory", lines);
        expect(field(line, "batch") == batches[lines] && field(line, "encoder_tokens_per_s") > 0 &&
                   field(line, "decoder_tokens_per_s") > 0 && field(line, "first_token_ms") > 0 &&
                   field(line, "peak_device_bytes") > 0,
               what);
        line = nl ? nl + 1 : NULL;
    }
    expect(lines == 2, "generate prints one line per batch size");
    free(buf);

    buf = NULL;
    f = open_memstream(&buf, &len);
    fv_bench_train_opts t = {.config = "tiny", .batch_size = 2, .seq_in = 16, .seq_out = 8, .steps = 1};
    rc = fv_bench_train(d, &t, f, 1);
    fclose(f);
    expect(rc == 0, "bench train (tiny, 2 x 16/8) runs");
    if (rc) printf("  %s\n", fv_last_error());
    if (!rc) {
        printf("  %s", buf);
        expect(field(buf, "tokens_per_s") > 0 && field(buf, "ms_forward") > 0 && field(buf, "ms_backward") > 0 &&
                   field(buf, "ms_optimizer") > 0 && field(buf, "mfu_pct") > 0 && field(buf, "peak_device_bytes") > 0,
               "train line has tokens_per_s, ms_forward, ms_backward, ms_optimizer, mfu_pct, peak_device_bytes");
    }
    free(buf);

    fv_bench_train_opts bad = {.config = "tiny", .optimizer = "sgd"};
    expect(fv_bench_train(d, &bad, stdout, 1) != 0 && strstr(fv_last_error(), "sgd"), "unknown optimizer rejected");
    fv_bench_gen_opts none = {0};
    expect(fv_bench_generate(d, &none, stdout, 1) != 0, "no model and no config rejected");
    int vmsg = d->validation_messages;
    expect(vmsg == 0, "no validation messages");
    fv_dev_close(d);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
