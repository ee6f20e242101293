/* Public model conversion (include/flanvk/model.h) over io/convert.h. */
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "flanvk/model.h"
#include "io/convert.h"
#include "io/wpack.h"

int flanvk_model_convert(const char *model_dir, const char *out_dir, const char *weights, flanvk_progress_fn progress,
                         void *user, flanvk_convert_stats *stats) {
    enum fv_wtype t;
    if (fv_wtype_parse(weights, &t)) return fv_err("--weights: unknown weight type '%s' (f32, f16, bf16 or q8)", weights ? weights : "(null)");
    if (!model_dir) return fv_err("convert: no model directory");
    fv_convert_stats s;
    int rc = fv_convert(model_dir, out_dir, t, progress, user, &s);
    if (stats) {
        memset(stats, 0, sizeof *stats);
        for (int i = 0; i < 4; i++) {
            const fv_convert_type_stats *a = &s.by_type[i];
            flanvk_convert_type_stats *b = &stats->by_type[i];
            snprintf(b->type, sizeof b->type, "%s", fv_wtype_name((enum fv_wtype)i));
            b->tensors = a->tensors;
            b->mean_rel_err = a->tensors ? a->sum_rel_err / a->tensors : 0;
            b->worst_rel_err = a->worst_rel_err;
            snprintf(b->worst_tensor, sizeof b->worst_tensor, "%s", a->worst_tensor);
        }
        stats->tensors = s.tensors;
        stats->bytes_out = s.bytes_out;
    }
    return rc;
}
