/* `flanvk bench ops` rows for decode-step attention (ops/attn_decode.h) with fp32 and fp16 K/V
 * storage: cross-attention over an encoder K|V cache and self-attention over a KV cache at its
 * last slot, at flan-t5-base-like head shapes (H = 8... 12, dk = 64) for one row and for 4 beams.
 * One op is a few microseconds of work, so each graph records LAYERS dispatches (a decoder's
 * worth of layers) and the time is per dispatch. The rate is GB/s of the K/V bytes a dispatch
 * reads (the traffic that fp16 halves); the shape column gives the speed relative to fp32
 * ("x1.00" = as fast). Where the fused op is unavailable the rows are the general path
 * (fv_attention with Tq = 1; self without the appends). Caches are filled with one finite pattern. */
#include <stdio.h>
#include <string.h>

#include "bench/bench.h"
#include "ops/attention.h"
#include "ops/attn_decode.h"

enum { LAYERS = 12 };

static int one(fv_dev *d, fv_graph *g, fv_bench_out *o, int self, uint32_t B, uint32_t H, uint32_t Tk, int f16,
               double f32_ms, double *ms_out) {
    const uint32_t dk = 64, hd = H * dk, nb = 32, L = 128;
    uint32_t kvs = self ? hd : 2 * hd;  /* cross: one K|V buffer */
    uint64_t nkv = (uint64_t)B * Tk * kvs, eb = f16 ? 2 : 4;
    fv_buf *bq = NULL, *bk = NULL, *bv = NULL, *bo = NULL, *bn = NULL, *bseg = NULL, *bstep = NULL, *btab = NULL,
           *blut = NULL, *bp = NULL, *bpos = NULL;
    int rc = fv_buf_alloc(d, (uint64_t)B * hd * 4, FV_MEM_DEVICE, "dec q", &bq);
    if (!rc) rc = fv_buf_alloc(d, nkv * eb, FV_MEM_DEVICE, "dec k", &bk);
    if (!rc && self) rc = fv_buf_alloc(d, nkv * eb, FV_MEM_DEVICE, "dec v", &bv);
    if (!rc) rc = fv_buf_alloc(d, (uint64_t)B * hd * 4, FV_MEM_DEVICE, "dec o", &bo);
    if (!rc) rc = fv_buf_alloc(d, (uint64_t)B * 2 * hd * 4, FV_MEM_DEVICE, "dec new kv", &bn);
    if (!rc) rc = fv_buf_alloc(d, (uint64_t)B * Tk * 4, FV_MEM_DEVICE, "dec seg", &bseg);
    if (!rc) rc = fv_buf_alloc(d, (uint64_t)B * Tk * 4, FV_MEM_DEVICE, "dec pos", &bpos);
    if (!rc) rc = fv_buf_alloc(d, 4, FV_MEM_DEVICE, "dec step", &bstep);
    if (!rc) rc = fv_buf_alloc(d, (uint64_t)nb * H * 4, FV_MEM_DEVICE, "dec table", &btab);
    if (!rc) rc = fv_buf_alloc(d, (2ull * L + 1) * 4, FV_MEM_DEVICE, "dec lut", &blut);
    if (!rc) rc = fv_buf_alloc(d, (uint64_t)B * H * Tk * 4, FV_MEM_DEVICE, "dec p", &bp);
    fv_buf *all[] = {bq, bk, bv, bo, bn, bseg, bpos, btab};
    for (int i = 0; !rc && i < 8; i++)
        if (all[i]) rc = fv_buf_fill_u32(d, all[i], f16 && (all[i] == bk || all[i] == bv) ? 0x211f211fu : 0x3c23d70au);
    if (!rc) rc = fv_buf_fill_u32(d, bstep, Tk - 1); /* self: the last slot, Tk - 1 cached keys + this one */
    if (!rc) rc = fv_buf_fill_u32(d, blut, 0);
    if (!rc) rc = fv_buf_fill_u32(d, bseg, 1);
    if (!rc) rc = fv_graph_begin(g);
    fv_attn_dec_desc a = {.B = B, .H = H, .dk = dk, .Tk = Tk, .k_stride = kvs, .v_stride = kvs, .self = self,
                          .use_bias = self, .num_buckets = nb, .lut_radius = L, .kv_f16 = f16};
    fv_t q = fv_tensor(bq, 0), k = fv_tensor(bk, 0), v = self ? fv_tensor(bv, 0) : fv_tensor(bk, hd);
    fv_t out = fv_tensor(bo, 0), kn = fv_tensor(bn, 0), vn = fv_tensor(bn, hd), none = fv_tensor(NULL, 0);
    a.new_stride = 2 * hd;
    int fused = fv_attn_decode_ok(d, &a, q, k, v, out, kn, vn);
    fv_attn_desc r = {.B = B, .Tq = 1, .Tk = Tk, .H = H, .dk = dk, .k_stride = kvs, .v_stride = kvs,
                      .pad_mask_only = !self, .use_bias = self, .num_buckets = nb, .lut_radius = L, .kv_f16 = f16};
    for (int l = 0; !rc && l < LAYERS; l++) {
        if (fused)
            rc = fv_attn_decode(g, &a, q, k, v, out, self ? none : fv_tensor(bseg, 0), self ? fv_tensor(bstep, 0) : none,
                                self ? kn : none, self ? vn : none, self ? fv_tensor(btab, 0) : none,
                                self ? fv_tensor(blut, 0) : none);
        else
            rc = fv_attention(g, &r, q, k, v, out, fv_tensor(bseg, 0), fv_tensor(bseg, 0), self ? fv_tensor(bpos, 0) : none,
                              self ? fv_tensor(bpos, 0) : none, self ? fv_tensor(btab, 0) : none,
                              self ? fv_tensor(blut, 0) : none, fv_tensor(bp, 0));
    }
    if (!rc) rc = fv_graph_end(g);
    double ms = 0, bytes = 2.0 * B * Tk * hd * eb;
    if (!rc) rc = fv_bench_graph_ms(g, 5, 0.3, &ms);
    ms /= LAYERS;
    if (!rc) {
        char shape[128];
        snprintf(shape, sizeof shape, "%s %s B=%u H=%u dk=%u %s=%u %s x%.2f", f16 ? "f16" : "f32", self ? "self" : "cross",
                 B, H, dk, self ? "tmax" : "Tk", Tk, fused ? "fused" : "general", f32_ms > 0 ? f32_ms / ms : 1.0);
        fv_bench_report(o, "attn_decode", shape, ms, 0, bytes / (ms * 1e6));
        *ms_out = ms;
    }
    fv_buf *bufs[] = {bq, bk, bv, bo, bn, bseg, bpos, bstep, btab, blut, bp};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) fv_buf_free(d, bufs[i]);
    return rc;
}

int fv_bench_attn_decode(fv_dev *d, fv_graph *g, fv_bench_out *o) {
    static const struct { int self; uint32_t B, H, Tk; } shapes[] = {
        {0, 1, 8, 512}, {1, 1, 8, 128}, {0, 4, 8, 512}, {1, 4, 8, 128}, {0, 1, 12, 1024},
    };
    int f16 = fv_attn_kv_f16_supported(d);
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        double f32_ms = 0, ms = 0;
        FV_TRY(one(d, g, o, shapes[i].self, shapes[i].B, shapes[i].H, shapes[i].Tk, 0, 0, &f32_ms));
        if (f16) FV_TRY(one(d, g, o, shapes[i].self, shapes[i].B, shapes[i].H, shapes[i].Tk, 1, f32_ms, &ms));
    }
    return 0;
}
