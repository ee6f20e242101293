/* flanvk convert: a model directory rewritten with 16-bit or q8 weights (host only, no device). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"
#include "flanvk/model.h"

int cmd_convert(int argc, char **argv) {
    const char *model = NULL, *out = NULL, *weights = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help")) {
            printf("usage: flanvk convert --model DIR --out DIR --weights f16|bf16|q8|f32\n"
                   "Writes a model directory (config.json, tokenizer files, model.safetensors) whose weights are\n"
                   "stored as TYPE, loaded by every command without converting again. f16/bf16 outputs are\n"
                   "ordinary Hugging Face checkpoints (layer norms and relative_attention_bias stay F32); q8 stores\n"
                   "the linear weights as int8 with one fp16 scale per 32 inputs, the embedding and LM head as F16\n"
                   "(README, \"Weight formats\"). OUT must not exist or be empty; it is written under a temporary\n"
                   "name and renamed at the end. Prints the relative error ||W - W'|| / ||W|| per storage type.\n");
            return 0;
        } else if (!strcmp(argv[i], "--model") && i + 1 < argc) model = argv[++i];
        else if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
        else if (!strcmp(argv[i], "--weights") && i + 1 < argc) weights = argv[++i];
        else return cli_fail("convert: unknown option or missing value '%s'", argv[i]);
    }
    if (!model) return cli_fail("convert: --model DIR is required");
    if (!out) return cli_fail("convert: --out DIR is required");
    if (!weights) return cli_fail("convert: --weights f16|bf16|q8|f32 is required");
    if (strcmp(weights, "f32") && strcmp(weights, "f16") && strcmp(weights, "bf16") && strcmp(weights, "q8"))
        return cli_fail("convert: --weights '%s' is not a weight type (f32, f16, bf16 or q8)", weights);
    flanvk_convert_stats st;
    cli_progress prog;
    cli_progress_start(&prog, "converting", 1);
    int rc = flanvk_model_convert(model, out, weights, cli_progress_cb, &prog, &st);
    cli_progress_end(&prog);
    if (rc) return cli_lib_fail("convert");
    printf("wrote %s: %u tensors, %.1f MiB of weights as %s\n", out, st.tensors, st.bytes_out / 1048576.0, weights);
    for (int i = 0; i < 4; i++) {
        const flanvk_convert_type_stats *t = &st.by_type[i];
        if (!t->tensors) continue;
        printf("  %-4s %4u matrices: relative error ||W - W'||/||W|| mean %.3e, worst %.3e (%s)\n", t->type, t->tensors,
               t->mean_rel_err, t->worst_rel_err, t->worst_tensor);
    }
    return 0;
}
