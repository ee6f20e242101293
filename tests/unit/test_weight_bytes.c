/* Device bytes of a model's parameters per storage type (model/t5.h fv_t5_weight_bytes_of): the
 * host-side count equals what a created model allocates (tiny config, every type, tied and
 * untied), and the memory goal holds for flan-t5-xl's shape: q8 <= 0.30 x f32. Prints the
 * table for every preset. */
#include <stdio.h>
#include <string.h>

#include "io/t5_config.h"
#include "model/t5.h"

int main(void) {
    int failed = 0, passed = 0;
    static const char *presets[] = {"small", "base", "large", "xl", "xxl"};
    printf("%-6s %12s %12s %12s %12s  q8/f32\n", "preset", "f32 MiB", "f16 MiB", "bf16 MiB", "q8 MiB");
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
        fv_t5_config c;
        if (fv_t5_config_preset(&c, presets[i])) {
            printf("%s: %s FAIL\n", presets[i], fv_last_error());
            return 1;
        }
        uint64_t b[4];
        for (int t = 0; t < 4; t++) b[t] = fv_t5_weight_bytes_of(&c, (enum fv_wtype)t);
        double r = (double)b[3] / (double)b[0];
        printf("%-6s %12.1f %12.1f %12.1f %12.1f  %.3f\n", presets[i], b[0] / 1048576.0, b[1] / 1048576.0,
               b[2] / 1048576.0, b[3] / 1048576.0, r);
        if (!strcmp(presets[i], "xl")) {
            int ok = r <= 0.30;
            printf("xl: q8 weights %.3f x f32 (<= 0.30) %s\n", r, ok ? "OK" : "FAIL");
            ok ? passed++ : failed++;
        }
    }
    fv_dev *d;
    if (fv_dev_open(-1, &d)) {
        printf("cannot open a device: %s\n", fv_last_error());
        return 1;
    }
    for (int tied = 0; tied < 2; tied++)
        for (int t = 0; t < 4; t++) {
            fv_t5_config c;
            fv_t5_config_preset(&c, "tiny");
            c.tie_word_embeddings = tied;
            fv_t5 *m;
            if (fv_t5_create_typed(d, &c, (enum fv_wtype)t, &m)) {
                printf("create tiny %s: %s FAIL\n", fv_wtype_name((enum fv_wtype)t), fv_last_error());
                failed++;
                continue;
            }
            uint64_t want = fv_t5_weight_bytes_of(&c, (enum fv_wtype)t);
            int ok = m->weight_bytes == want;
            printf("tiny%s %-4s: the model allocates %llu bytes of parameters, the count says %llu %s\n",
                   tied ? " tied" : "", fv_wtype_name((enum fv_wtype)t), (unsigned long long)m->weight_bytes,
                   (unsigned long long)want, ok ? "OK" : "FAIL");
            ok ? passed++ : failed++;
            fv_t5_free(m);
        }
    fv_dev_close(d);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
