/* Checks the C deterministic weight generator against values printed by tools/t5_reference.py
 * (flan-t5-small sizes: d_model 512, d_kv 64, 6 heads, d_ff 1024). Exact bit patterns are compared:
 * the generator is integer hashing plus exact float32 arithmetic, so any difference is a bug. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/det_weights.h"

static int passed, failed;

static void expect(int ok, const char *what)
{
    if (ok) passed++;
    else failed++;
    printf("%s %s\n", ok ? "ok  " : "FAIL", what);
}

struct want { const char *name; size_t index; float scale; uint32_t bits; };

int main(void)
{
    static const struct want w[] = {
        {"shared.weight", 0, 1.7320507764816284f, 1067747566u},
        {"shared.weight", 1, 1.7320507764816284f, 3213302179u},
        {"shared.weight", 12345, 1.7320507764816284f, 3182007161u},
        {"lm_head.weight", 16449535, 0.0765465572476387f, 3178707335u},
        {"encoder.block.0.layer.0.SelfAttention.q.weight", 0, 0.009568319655954838f, 3149000916u},
        {"encoder.block.0.layer.0.SelfAttention.q.weight", 7, 0.009568319655954838f, 997735139u},
        {"decoder.block.3.layer.1.EncDecAttention.o.weight", 100, 0.0883883461356163f, 1024103936u},
        {"decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", 191, 1.7320507764816284f,
         1065459316u},
        {"encoder.final_layer_norm.weight", 3, 0.25f, 1067160858u},
        {"decoder.block.7.layer.2.DenseReluDense.wo.weight", 524287, 0.05412658676505089f, 1029522824u},
        {"encoder.block.1.layer.1.DenseReluDense.wi_1.weight", 5, 0.0765465572476387f, 3168725439u},
    };
    const fv_det_cfg cfg = {512, 64, 6, 1024};
    char msg[256];

    expect(fv_det_fnv1a64("shared.weight") == 0x1f71fc21e72ce2d6ull, "fnv1a64(\"shared.weight\")");
    for (size_t k = 0; k < sizeof w / sizeof w[0]; k++) {
        size_t n = w[k].index + 1;
        float *buf = malloc(n * sizeof *buf);
        float scale = 0, offset = 0;
        if (!buf) return 1;
        int rc = fv_det_scale(w[k].name, &cfg, &scale, &offset);
        snprintf(msg, sizeof msg, "scale(%s) = %.9g (want %.9g)", w[k].name, scale, w[k].scale);
        expect(rc == 0 && scale == w[k].scale, msg);
        rc = fv_det_tensor(w[k].name, &cfg, buf, n);
        uint32_t bits;
        memcpy(&bits, &buf[w[k].index], 4);
        snprintf(msg, sizeof msg, "%s[%zu] = %.9g bits %u (want %u)", w[k].name, w[k].index, buf[w[k].index], bits,
                 w[k].bits);
        expect(rc == 0 && bits == w[k].bits, msg);
        free(buf);
    }
    float s, o;
    expect(fv_det_scale("encoder.embed_positions.weight", &cfg, &s, &o) != 0, "unknown tensor name rejected");
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
