/* LoRA runs of the trainer; see lora_run.h. */
#include "train/lora_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "io/peft.h"

static int is_adapter_dir(const char *dir) {
    char p[1024];
    return dir && !fv_path_join(p, sizeof p, dir, FV_PEFT_CONFIG_FILE) && fv_file_exists(p);
}

int fv_train_lora_wanted(const fv_train_cfg *c) {
    return c->lora_rank > 0 || c->adapter_dir || (c->resume && is_adapter_dir(c->resume));
}

int fv_train_lora_base(const fv_train_cfg *c, char *dir, size_t n) {
    if (c->model_dir) {
        snprintf(dir, n, "%s", c->model_dir);
        return 0;
    }
    const char *from = c->resume ? c->resume : c->adapter_dir;
    if (!from) return fv_err("train: LoRA needs the base model: give --model DIR");
    char path[1024], *json;
    size_t len;
    FV_TRY(fv_path_join(path, sizeof path, from, FV_PEFT_CONFIG_FILE));
    FV_TRY(fv_read_file(path, &json, &len));
    fv_peft_config pc;
    int rc = fv_peft_config_parse(&pc, json, len, path);
    free(json);
    FV_TRY(rc);
    if (!pc.base_model_name_or_path[0] || !fv_file_exists(pc.base_model_name_or_path))
        return fv_err("%s: base_model_name_or_path '%s' is not a model directory here: give --model DIR", path,
                      pc.base_model_name_or_path);
    snprintf(dir, n, "%s", pc.base_model_name_or_path);
    return 0;
}

int fv_train_lora_adapter(const fv_train_cfg *c, fv_t5 *m, const char *base_dir, fv_t5_lora_train **out) {
    fv_peft_adapter a;
    if (c->resume && is_adapter_dir(c->resume)) {
        FV_TRY(fv_peft_load(&a, c->resume, &m->cfg, base_dir));
    } else if (c->adapter_dir) {
        FV_TRY(fv_peft_load(&a, c->adapter_dir, &m->cfg, base_dir));
        if (c->lora_dropout >= 0) a.cfg.lora_dropout = c->lora_dropout;
        snprintf(a.cfg.base_model_name_or_path, sizeof a.cfg.base_model_name_or_path, "%s", base_dir);
    } else {
        fv_peft_config pc;
        fv_peft_config_defaults(&pc);
        pc.r = c->lora_rank;
        if (c->lora_alpha > 0) pc.lora_alpha = c->lora_alpha;
        else if (c->lora_alpha < 0) return fv_err("train: --lora-alpha %g: must be > 0", c->lora_alpha);
        pc.lora_dropout = c->lora_dropout >= 0 ? c->lora_dropout : 0.0;
        if (!(pc.lora_dropout < 1)) return fv_err("train: --lora-dropout %g: must be in [0, 1)", pc.lora_dropout);
        if (c->lora_targets) FV_TRY(fv_peft_set_targets(&pc, c->lora_targets, &m->cfg, "--lora-targets"));
        snprintf(pc.base_model_name_or_path, sizeof pc.base_model_name_or_path, "%s", base_dir ? base_dir : "");
        FV_TRY(fv_peft_init(&a, &pc, &m->cfg, c->seed));
    }
    int rc = fv_t5_lora_train_create(m, &a, out);
    fv_peft_free(&a);
    return rc;
}

int fv_train_lora_load_base(fv_dev *d, const fv_train_cfg *c, const char *dir, fv_t5 **out) {
    /* the default: bf16 where the device has 16-bit storage (half the memory of fp32, the range of
     * fp32), else f32 */
    int wt = c->weights >= 0 ? c->weights : d->fp16 ? (int)FV_WT_BF16 : (int)FV_WT_F32;
    if (wt == FV_WT_F32) return fv_t5_load(d, dir, out, NULL, NULL);
    return fv_t5_load_typed(d, dir, &wt, out, NULL, NULL);
}
