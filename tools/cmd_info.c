/* flanvk info: a model directory's config, parameter count and the memory it needs. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"
#include "flanvk/model.h"

static void print_info(const char *dir, const flanvk_model_info *i) {
    printf("model: %s\n", dir);
    printf("  d_model %d, d_kv %d, d_ff %d, heads %d, layers %d + %d, vocab %d\n", i->d_model, i->d_kv, i->d_ff,
           i->num_heads, i->num_layers, i->num_decoder_layers, i->vocab_size);
    printf("  feed_forward_proj %s, tie_word_embeddings %s, layer_norm_epsilon %g\n", i->feed_forward_proj,
           i->tie_word_embeddings ? "true" : "false", i->layer_norm_epsilon);
    printf("  relative attention: %d buckets, max distance %d\n", i->relative_attention_num_buckets,
           i->relative_attention_max_distance);
    printf("  tokens: decoder start %d, eos %d, pad %d; tokenizer %s\n", i->decoder_start_token_id, i->eos_token_id,
           i->pad_token_id, i->has_tokenizer ? "yes" : "no (token ids only)");
    printf("  parameters: %llu (%.1f M), stored as %s\n", (unsigned long long)i->parameters, i->parameters / 1e6,
           i->stored_dtype[0] ? i->stored_dtype : "?");
    double w = i->weight_bytes / 1048576.0;
    printf("  device memory: weights %.1f MiB (%s)\n", w, i->weights);
    if (!strcmp(i->weights, "f32"))
        printf("  training with AdamW about %.1f MiB + activations (weights, gradients, two moments)\n", 4 * w);
}

int cmd_info(int argc, char **argv) {
    const char *model = NULL;
    long device = -1;
    int load = 0;
    flanvk_load_opts lopts = {0};
    for (int i = 1; i < argc; i++) {
        int lo = cli_load_option(argv[i], i + 1 < argc ? argv[i + 1] : NULL, &lopts);
        if (lo < 0) return 1;
        if (lo) {
            i++;
            continue;
        }
        if (!strcmp(argv[i], "--help")) {
            printf("usage: flanvk info --model DIR [--weights TYPE] [--load [--kv-cache TYPE] [--device N] [--profile NAME]]\n"
                   "Prints the config, parameter count and memory needed with the weights stored as TYPE (f32, f16,\n"
                   "bf16, q8; default the checkpoint's own); --load also loads the weights onto the device (checking\n"
                   "every tensor) and reports the device memory measured.\n");
            return 0;
        } else if (!strcmp(argv[i], "--model") && i + 1 < argc) model = argv[++i];
        else if (!strcmp(argv[i], "--load")) load = 1;
        else if (!strcmp(argv[i], "--device")) {
            if (cli_parse_int("--device", i + 1 < argc ? argv[i + 1] : NULL, 0, 63, &device)) return 1;
            i++;
        } else if (!strcmp(argv[i], "--profile") || !strcmp(argv[i], "--device-profile")) {
            if (cli_device_profile(argv[i], i + 1 < argc ? argv[i + 1] : NULL)) return 1;
            i++;
        } else return cli_fail("info: unknown option or missing value '%s'", argv[i]);
    }
    if (!model) return cli_fail("info: --model DIR is required");
    flanvk_model_info info;
    if (flanvk_model_inspect_as(model, lopts.weights, &info)) return cli_lib_fail(NULL);
    print_info(model, &info);
    if (!load) return 0;
    flanvk_ctx *ctx;
    if (flanvk_open((int)device, &ctx)) return cli_lib_fail("info");
    flanvk_model *m;
    cli_progress prog;
    cli_progress_start(&prog, "loading", 1);
    int rc = flanvk_model_load_with(ctx, model, &lopts, cli_progress_cb, &prog, &m);
    cli_progress_end(&prog);
    if (rc) {
        flanvk_close(ctx);
        return cli_lib_fail(NULL);
    }
    flanvk_model_get_info(m, &info);
    uint64_t peak;
    uint64_t now = flanvk_device_memory(ctx, &peak);
    printf("  loaded on %s: weights %s (%.1f MiB), KV cache %s; device memory %.1f MiB held, %.1f MiB peak; "
           "longest prompt per row %u tokens\n",
           flanvk_device(ctx)->name, info.weights, info.weight_bytes / 1048576.0, info.kv_cache, now / 1048576.0,
           peak / 1048576.0, info.max_input_tokens);
    flanvk_model_free(m);
    flanvk_close(ctx);
    return 0;
}
