/* flanvk bench: speed of ops, generation and training on this device. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "flanvk/dist.h"
#include "flanvk/bench.h"
#include "flanvk/model.h"

static int usage(void) {
    printf("usage: flanvk bench ops [--op NAME] [--json] [--device N] [--profile NAME]\n"
           "       flanvk bench generate (--model DIR | --config small|base|large|xl) [--prompt-len N (128)]\n"
           "                             [--new-tokens N (64)] [--batch-size B (1 and 16)] [--weights LIST]\n"
           "                             [--kv-cache f32|f16] [--profile] [--json]\n"
           "                             [--device N] [--device-profile NAME]\n"
           "       flanvk bench train (--model DIR | --config small|base|large|xl|xxl) [--batch-size B (8)]\n"
           "                          [--seq-len-in L (512)] [--seq-len-out L2 (128)] [--optimizer adamw|adafactor]\n"
           "                          [--steps N (2)] [--profile] [--mixed-precision] [--grad-checkpointing]\n"
           "                          [--lora-rank R [--weights f32|f16|bf16|q8]] [--memory-only] [--json]\n"
           "                          [--device N] [--device-profile NAME]\n"
           "ops: each op at T5 shapes; GFLOP/s or GB/s and the percentage of the peak measured in the same run.\n"
           "generate: greedy generation with a fixed number of decode steps: encoder and decoder tokens/s,\n"
           "  time to first token, peak device memory. --config NAME: flan-t5-NAME shapes, random weights, no file.\n"
           "  --weights f32,f16,bf16,q8 (or all): each storage type in turn, one line each, with weights_bytes.\n"
           "train: one training step (fp32, packed rows): tokens/s, ms per piece, model FLOPs utilisation,\n"
           "  peak device memory. --mixed-precision, --grad-checkpointing: the step as `flanvk train` runs it.\n"
           "  --lora-rank R: a LoRA step (q, v) on a frozen base stored as --weights (default bf16 with 16-bit storage).\n"
           "  --memory-only: allocate and record the step and report its peak device memory without running it.\n"
           "--profile: also time each op kind of the step alone at the step's shapes (where the time goes).\n");
    return 0;
}

int cmd_bench(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help")) return argc < 2 ? (usage(), 2) : usage();
    const char *kind = argv[1];
    if (strcmp(kind, "ops") && strcmp(kind, "generate") && strcmp(kind, "train"))
        return cli_fail("bench: unknown benchmark '%s' (ops, generate, train)", kind);
    long device = -1, batch = 0, seq_in = 0, seq_out = 0, prompt_len = 0, new_tokens = 0, steps = 0, lora_rank = 0;
    int json = 0, profile = 0, mixed = 0, ckpt = 0, memory_only = 0;
    const char *filter = NULL, *model = NULL, *config = NULL, *optimizer = NULL, *weights = NULL, *kv_cache = NULL;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int ok = 1;
        if (!strcmp(a, "--json")) json = 1;
        else if (!strcmp(a, "--help")) return usage();
        else if (strcmp(kind, "ops") && !strcmp(a, "--profile")) profile = 1;
        else if (!strcmp(a, "--profile") || !strcmp(a, "--device-profile")) ok = !cli_device_profile(a, v), i++;
        else if (!strcmp(a, "--device")) ok = !cli_parse_int(a, v, 0, 63, &device), i++;
        else if (!strcmp(kind, "ops") && !strcmp(a, "--op") && v) filter = argv[++i];
        else if (strcmp(kind, "ops") && !strcmp(a, "--model") && v) model = argv[++i];
        else if (strcmp(kind, "ops") && !strcmp(a, "--config") && v) config = argv[++i];
        else if (strcmp(kind, "ops") && !strcmp(a, "--batch-size")) ok = !cli_parse_int(a, v, 1, 4096, &batch), i++;
        else if (!strcmp(kind, "generate") && !strcmp(a, "--prompt-len")) ok = !cli_parse_int(a, v, 1, 1 << 16, &prompt_len), i++;
        else if (!strcmp(kind, "generate") && !strcmp(a, "--new-tokens")) ok = !cli_parse_int(a, v, 1, 1 << 16, &new_tokens), i++;
        else if (!strcmp(kind, "train") && !strcmp(a, "--seq-len-in")) ok = !cli_parse_int(a, v, 4, 1 << 16, &seq_in), i++;
        else if (!strcmp(kind, "train") && !strcmp(a, "--seq-len-out")) ok = !cli_parse_int(a, v, 4, 1 << 16, &seq_out), i++;
        else if (!strcmp(kind, "train") && !strcmp(a, "--steps")) ok = !cli_parse_int(a, v, 1, 1000, &steps), i++;
        else if (!strcmp(kind, "train") && !strcmp(a, "--optimizer") && v) optimizer = argv[++i];
        else if (!strcmp(kind, "train") && !strcmp(a, "--mixed-precision")) mixed = 1;
        else if (!strcmp(kind, "train") && !strcmp(a, "--grad-checkpointing")) ckpt = 1;
        else if (!strcmp(kind, "train") && !strcmp(a, "--memory-only")) memory_only = 1;
        else if (!strcmp(kind, "train") && !strcmp(a, "--lora-rank")) ok = !cli_parse_int(a, v, 1, 65536, &lora_rank), i++;
        else if (!strcmp(kind, "train") && !strcmp(a, "--weights") && v) weights = argv[++i];
        else if (!strcmp(kind, "generate") && !strcmp(a, "--weights") && v) weights = argv[++i];
        else if (!strcmp(kind, "generate") && !strcmp(a, "--kv-cache") && v) {
            kv_cache = argv[++i];
            if (flanvk_check_kv_cache_name(kv_cache)) return cli_lib_fail(NULL);
        }
        else return cli_fail("bench %s: unknown option '%s' (see flanvk bench --help)", kind, a);
        if (!ok) return 1;
    }
    if (strcmp(kind, "ops") && !!model == !!config)
        return cli_fail("bench %s: give exactly one of --model DIR and --config NAME (e.g. --config small)", kind);
    if (optimizer && strcmp(optimizer, "adamw") && strcmp(optimizer, "adafactor"))
        return cli_fail("bench train: --optimizer must be adamw or adafactor, not '%s'", optimizer);
    /* bench train under mpirun: each rank its device, rank 0 prints */
    int dev = (int)device;
    if (!strcmp(kind, "train") && (flanvk_dist_init() || flanvk_dist_device((int)device, &dev)))
        return cli_lib_fail("bench");
    FILE *out = flanvk_dist_rank() ? fopen("/dev/null", "w") : stdout;
    if (!out) return cli_fail("bench: cannot open /dev/null");
    flanvk_ctx *ctx;
    if (flanvk_open(dev, &ctx)) {
        cli_lib_fail("bench");
        flanvk_dist_end(1);
        return 1;
    }
    int rc;
    if (!strcmp(kind, "ops")) rc = flanvk_bench_ops(ctx, stdout, json, filter);
    else if (!strcmp(kind, "generate")) {
        uint32_t b = (uint32_t)batch;
        flanvk_bench_generate_opts o = {.model_dir = model, .config = config, .prompt_len = (uint32_t)prompt_len,
                                        .new_tokens = (uint32_t)new_tokens, .batches = batch ? &b : NULL,
                                        .nbatches = batch ? 1 : 0, .profile = profile, .weights = weights,
                                        .kv_cache = kv_cache};
        rc = flanvk_bench_generate(ctx, &o, stdout, json);
    } else {
        flanvk_bench_train_opts o = {.model_dir = model, .config = config, .batch_size = (uint32_t)batch,
                                     .seq_in = (uint32_t)seq_in, .seq_out = (uint32_t)seq_out, .optimizer = optimizer,
                                     .steps = (int)steps, .profile = profile, .mixed_precision = mixed,
                                     .grad_checkpointing = ckpt, .lora_rank = (int)lora_rank, .weights = weights,
                                     .memory_only = memory_only};
        rc = flanvk_bench_train(ctx, &o, out, json);
    }
    char what[32];
    snprintf(what, sizeof what, "bench %s", kind);
    if (rc) cli_lib_fail(what);
    flanvk_close(ctx);
    if (out != stdout) fclose(out);
    flanvk_dist_end(rc);
    return rc ? 1 : 0;
}
