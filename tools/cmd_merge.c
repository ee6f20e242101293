/* flanvk merge: a PEFT LoRA adapter folded into its base model, written as a full checkpoint (host only). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"
#include "flanvk/adapter.h"

static void print_adapter(const char *dir, const flanvk_adapter_info *a) {
    printf("adapter %s: LoRA r %d, alpha %g, dropout %g, scaling %g%s, targets %s: %u modules, %llu parameters\n", dir,
           a->r, a->lora_alpha, a->lora_dropout, a->scaling, a->use_rslora ? " (rslora)" : "", a->target_modules,
           a->modules, (unsigned long long)a->parameters);
}

int cmd_merge(int argc, char **argv) {
    const char *model = NULL, *adapter = NULL, *out = NULL, *weights = NULL;
    int check = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help")) {
            printf("usage: flanvk merge --model BASE --adapter DIR --out DIR [--weights f32|f16|bf16|q8]\n"
                   "       flanvk merge --model BASE --adapter DIR --check\n"
                   "Folds a PEFT LoRA adapter (adapter_config.json + adapter_model.safetensors, as PEFT's\n"
                   "save_pretrained writes it) into its base T5 model: every adapted linear layer becomes\n"
                   "W + (lora_alpha / r) * B A (computed in double), everything else is copied. OUT is a full Hugging\n"
                   "Face checkpoint (config.json, tokenizer files, model.safetensors) stored as --weights, as\n"
                   "`flanvk convert` stores it (default: the base checkpoint's own type). OUT must not exist or be\n"
                   "empty; it is written under a temporary name and renamed at the end. The adapter is checked\n"
                   "against BASE first (modules, shapes, rank, targets); --check does only that.\n");
            return 0;
        } else if (!strcmp(argv[i], "--model") && i + 1 < argc) model = argv[++i];
        else if (!strcmp(argv[i], "--adapter") && i + 1 < argc) adapter = argv[++i];
        else if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
        else if (!strcmp(argv[i], "--weights") && i + 1 < argc) weights = argv[++i];
        else if (!strcmp(argv[i], "--check")) check = 1;
        else return cli_fail("merge: unknown option or missing value '%s'", argv[i]);
    }
    if (!model) return cli_fail("merge: --model BASE is required");
    if (!adapter) return cli_fail("merge: --adapter DIR is required");
    if (check) {
        flanvk_adapter_info a;
        if (flanvk_adapter_inspect(adapter, model, &a)) return cli_lib_fail("merge");
        print_adapter(adapter, &a);
        printf("fits %s\n", model);
        return 0;
    }
    if (!out) return cli_fail("merge: --out DIR is required");
    if (weights && strcmp(weights, "f32") && strcmp(weights, "f16") && strcmp(weights, "bf16") && strcmp(weights, "q8"))
        return cli_fail("merge: --weights '%s' is not a weight type (f32, f16, bf16 or q8)", weights);
    flanvk_merge_stats st;
    cli_progress prog;
    cli_progress_start(&prog, "merging", 1);
    int rc = flanvk_adapter_merge(model, adapter, out, weights, cli_progress_cb, &prog, &st);
    cli_progress_end(&prog);
    if (rc) return cli_lib_fail("merge");
    print_adapter(adapter, &st.adapter);
    printf("wrote %s: %u tensors, %.1f MiB of weights; largest |delta| added %.3e\n", out, st.convert.tensors,
           st.convert.bytes_out / 1048576.0, st.max_abs_delta);
    for (int i = 0; i < 4; i++) {
        const flanvk_convert_type_stats *t = &st.convert.by_type[i];
        if (!t->tensors) continue;
        printf("  %-4s %4u matrices: relative error ||W - W'||/||W|| mean %.3e, worst %.3e (%s)\n", t->type, t->tensors,
               t->mean_rel_err, t->worst_rel_err, t->worst_tensor);
    }
    return 0;
}
