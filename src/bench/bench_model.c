/* Opening the model of a model-level benchmark; see bench_model.h. */
#include "bench/bench_model.h"

int fv_bench_model_open(fv_dev *d, const char *model_dir, const char *config, fv_t5 **out) {
    int wtype = FV_WT_F32;
    return fv_bench_model_open_typed(d, model_dir, config, &wtype, out);
}

int fv_bench_model_open_typed(fv_dev *d, const char *model_dir, const char *config, int *wtype, fv_t5 **out) {
    *out = NULL;
    if (!!model_dir == !!config) return fv_err("bench: give exactly one of --model DIR and --config NAME");
    if (model_dir) return fv_t5_load_typed(d, model_dir, wtype, out, NULL, NULL);
    if (*wtype < 0) *wtype = FV_WT_F32;
    fv_t5_config cfg;
    FV_TRY(fv_t5_config_preset(&cfg, config));
    FV_TRY(fv_t5_create_typed(d, &cfg, (enum fv_wtype)*wtype, out));
    int rc = fv_t5_init_weights_fast(*out, 1);
    if (rc) {
        fv_t5_free(*out);
        *out = NULL;
    }
    return rc;
}
