/* Public LoRA adapter API (include/flanvk/adapter.h) over io/peft.h and io/merge.h. */
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "flanvk/adapter.h"
#include "io/merge.h"
#include "io/peft.h"
#include "io/t5_config.h"
#include "io/wpack.h"

static void fill_info(flanvk_adapter_info *o, const fv_peft_config *c, const fv_peft_module *mods, size_t n) {
    memset(o, 0, sizeof *o);
    o->r = c->r;
    o->lora_alpha = c->lora_alpha;
    o->lora_dropout = c->lora_dropout;
    o->use_rslora = c->use_rslora;
    o->scaling = fv_peft_scaling(c);
    size_t k = 0;
    for (int t = 0; t < c->n_targets && k < sizeof o->target_modules; t++)
        k += (size_t)snprintf(o->target_modules + k, sizeof o->target_modules - k, "%s%s", t ? "," : "", c->targets[t]);
    snprintf(o->task_type, sizeof o->task_type, "%s", c->task_type);
    snprintf(o->base_model_name_or_path, sizeof o->base_model_name_or_path, "%s", c->base_model_name_or_path);
    o->modules = (uint32_t)n;
    for (size_t i = 0; mods && i < n; i++) o->parameters += (uint64_t)c->r * (mods[i].in + mods[i].out);
}

int flanvk_adapter_inspect(const char *adapter_dir, const char *model_dir, flanvk_adapter_info *out) {
    if (!adapter_dir) return fv_err("adapter: no adapter directory");
    fv_t5_config cfg;
    char label[1100];
    if (model_dir) {
        FV_TRY(fv_t5_config_load(&cfg, model_dir));
        snprintf(label, sizeof label, "the model %s", model_dir);
    }
    fv_peft_adapter a;
    FV_TRY(fv_peft_load(&a, adapter_dir, model_dir ? &cfg : NULL, model_dir ? label : NULL));
    if (out) fill_info(out, &a.cfg, a.mods, a.n_mods);
    fv_peft_free(&a);
    return 0;
}

int flanvk_adapter_merge(const char *model_dir, const char *adapter_dir, const char *out_dir, const char *weights,
                         flanvk_progress_fn progress, void *user, flanvk_merge_stats *stats) {
    int type = -1;
    if (weights && weights[0]) {
        enum fv_wtype t;
        if (fv_wtype_parse(weights, &t)) return fv_err("--weights: unknown weight type '%s' (f32, f16, bf16 or q8)", weights);
        type = (int)t;
    }
    fv_merge_stats s;
    int rc = fv_merge(model_dir, adapter_dir, out_dir, type, progress, user, &s);
    if (stats) {
        memset(stats, 0, sizeof *stats);
        fill_info(&stats->adapter, &s.adapter, NULL, s.modules);
        stats->adapter.parameters = s.adapter_params;
        stats->max_abs_delta = s.max_abs_delta;
        for (int i = 0; i < 4; i++) {
            const fv_convert_type_stats *a = &s.convert.by_type[i];
            flanvk_convert_type_stats *b = &stats->convert.by_type[i];
            snprintf(b->type, sizeof b->type, "%s", fv_wtype_name((enum fv_wtype)i));
            b->tensors = a->tensors;
            b->mean_rel_err = a->tensors ? a->sum_rel_err / a->tensors : 0;
            b->worst_rel_err = a->worst_rel_err;
            snprintf(b->worst_tensor, sizeof b->worst_tensor, "%s", a->worst_tensor);
        }
        stats->convert.tensors = s.convert.tensors;
        stats->convert.bytes_out = s.convert.bytes_out;
    }
    return rc;
}
