/* Weights on disk (io/wfile.h): the reader from every stored dtype (F32, F16, BF16, I8 + scales)
 * to every storage type, against fv_wpack of the values the file holds (raw copies bit-exact, q8
 * rows repadded for K % 32 != 0); the q8 format's bad inputs; the per-tensor type policy; and the
 * streaming safetensors writer (I8 and raw dtypes, byte-count checks, no file after a failure). */
#define _POSIX_C_SOURCE 200809L
#include "base/error.h"
#include "base/rng.h"
#include "io/half.h"
#include "io/safetensors.h"
#include "io/wfile.h"
#include "io/wpack.h"
#include "support/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[256];
static const char *P(const char *name) { return unit_path(dir, name); }

static const char *const q8_meta[] = {FV_WFILE_META_WEIGHTS, "q8", FV_WFILE_META_Q8, FV_WFILE_Q8_LAYOUT, NULL};

/* Write tensor "w" [N, K] holding w in dtype src (I8: w quantized, with "w.scales"), plus a 1-D "g". */
static int write_source(const char *path, fv_dtype src, const float *w, uint32_t N, uint32_t K) {
    int64_t shape[2] = {N, K}, sshape[2] = {N, fv_q8_blocks(K)}, gshape[1] = {3};
    float g[3] = {1, 2, 3};
    if (src != FV_DT_I8) {
        fv_st_out t[] = {{"w", 2, shape, w, FV_DT_F32, src}, {"g", 1, gshape, g, FV_DT_F32, FV_DT_F32}};
        return fv_st_write(path, t, 2, NULL);
    }
    uint32_t *data = calloc(fv_wpack_data_words(FV_WT_Q8, N, K), 4), *sc = calloc(fv_wpack_scale_words(FV_WT_Q8, N, K), 4);
    int8_t *q = malloc((size_t)N * K);
    int rc = fv_wpack(FV_WT_Q8, w, N, K, data, sc, "w");
    for (uint32_t n = 0; n < N; n++) memcpy(q + (size_t)n * K, data + (size_t)n * fv_wpack_row_words(FV_WT_Q8, K), K);
    fv_st_out t[] = {{"w", 2, shape, q, FV_DT_I8, FV_DT_I8},
                     {"w.scales", 2, sshape, sc, FV_DT_F16, FV_DT_F16},
                     {"g", 1, gshape, g, FV_DT_F32, FV_DT_F32}};
    if (!rc) rc = fv_st_write(path, t, 3, q8_meta);
    free(data);
    free(sc);
    free(q);
    return rc;
}

static enum fv_wtype type_of(fv_dtype d) {
    return d == FV_DT_F32 ? FV_WT_F32 : d == FV_DT_F16 ? FV_WT_F16 : d == FV_DT_BF16 ? FV_WT_BF16 : FV_WT_Q8;
}

static void test_read_matrix(void) {
    static const uint32_t shapes[][2] = {{5, 45}, {3, 32}, {4, 7}, {2, 70}, {1, 96}};
    static const fv_dtype srcs[] = {FV_DT_F32, FV_DT_F16, FV_DT_BF16, FV_DT_I8};
    fv_rng rng;
    fv_rng_seed(&rng, 7);
    for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++) {
        uint32_t N = shapes[si][0], K = shapes[si][1];
        float *w = malloc((size_t)N * K * 4), *held = malloc((size_t)N * K * 4), *f = malloc((size_t)N * K * 4);
        for (size_t i = 0; i < (size_t)N * K; i++) w[i] = (float)fv_rng_normal(&rng) * 0.1f;
        w[0] = 0.0f; /* an exact zero and a large value in the first block */
        if (K > 3) w[3] = 1.5f;
        for (size_t s = 0; s < 4; s++) {
            fv_dtype src = srcs[s];
            CHECK(write_source(P("src.safetensors"), src, w, N, K) == 0, "write %s: %s", fv_dtype_name(src), fv_last_error());
            fv_safetensors *st;
            if (fv_st_open(&st, P("src.safetensors"))) {
                CHECK(0, "open: %s", fv_last_error());
                continue;
            }
            /* what the file holds, as floats: the source packed in its own type and unpacked */
            enum fv_wtype own = type_of(src);
            uint32_t *od = calloc(fv_wpack_data_words(own, N, K), 4), *os = calloc(fv_wpack_scale_words(own, N, K) + 1, 4);
            fv_wpack(own, w, N, K, od, os, "w");
            fv_wunpack(own, od, os, N, K, held);
            int64_t shape[2] = {N, K};
            CHECK(fv_wfile_read_f32(st, "w", f, 2, shape) == 0 && !memcmp(f, held, (size_t)N * K * 4),
                  "read_f32 of %s %ux%u: %s", fv_dtype_name(src), N, K, fv_last_error());
            enum fv_wtype dt;
            CHECK(fv_wfile_default_type(st, &dt) == 0 && dt == own, "default type of a %s file: %s", fv_dtype_name(src),
                  fv_wtype_name(dt));
            for (int t = 0; t <= FV_WT_Q8; t++) {
                uint64_t dw = fv_wpack_data_words((enum fv_wtype)t, N, K), sw = fv_wpack_scale_words((enum fv_wtype)t, N, K);
                uint32_t *ed = calloc(dw, 4), *es = calloc(sw + 1, 4), *gd = malloc(dw * 4), *gs = malloc((sw + 1) * 4);
                memset(gd, 0xa5, dw * 4); /* padding must be written, not left */
                memset(gs, 0xa5, (sw + 1) * 4);
                int raw = (enum fv_wtype)t == own;
                /* raw pairs: the file's own words; others: fv_wpack of the values the file holds */
                if (raw) {
                    memcpy(ed, od, dw * 4);
                    memcpy(es, os, sw * 4);
                } else {
                    fv_wpack((enum fv_wtype)t, held, N, K, ed, es, "w");
                }
                int rc = fv_wfile_read(st, "w", (enum fv_wtype)t, N, K, gd, t == FV_WT_Q8 ? gs : NULL);
                int same = !rc && !memcmp(gd, ed, dw * 4) && !memcmp(gs, es, sw * 4);
                CHECK(same, "%s file -> %s %ux%u (%s): %s", fv_dtype_name(src), fv_wtype_name((enum fv_wtype)t), N, K,
                      raw ? "raw copy" : "via fp32", rc ? fv_last_error() : "words differ");
                free(ed);
                free(es);
                free(gd);
                free(gs);
            }
            /* the 1-D tensor through the float reader; a 1-D tensor is not a matrix */
            float g[3];
            int64_t gshape[1] = {3};
            CHECK(fv_wfile_read_f32(st, "g", g, 1, gshape) == 0 && g[2] == 3.0f, "1-D read: %s", fv_last_error());
            uint32_t tmp[64];
            CHECK(fv_wfile_read(st, "g", FV_WT_F16, 1, 3, tmp, NULL) && strstr(fv_last_error(), "'g' has shape [3]"),
                  "1-D tensor as a matrix: %s", fv_last_error());
            CHECK(fv_wfile_read(st, "w", FV_WT_F32, N, K + 1, tmp, NULL) && strstr(fv_last_error(), "expected"),
                  "wrong shape: %s", fv_last_error());
            free(od);
            free(os);
            fv_st_close(st);
        }
        printf("reader %ux%u: F32/F16/BF16/I8 files -> f32/f16/bf16/q8 words, raw pairs bit-exact, others = fv_wpack "
               "of the stored values\n", N, K);
        free(w);
        free(held);
        free(f);
    }
}

/* A bf16 subnormal, an f16 NaN and q = -128 in a file: raw copies keep the bits as they are. */
static void test_raw_bits(void) {
    int64_t shape[2] = {1, 4}, sshape[2] = {1, 1};
    uint16_t b[4] = {0x0001, 0x8040, 0x3f80, 0xbf80}, h[4] = {0x7e01, 0x3c00, 0x0001, 0x8000};
    int8_t q[4] = {-128, 127, 0, -1};
    uint16_t s[1] = {0x3c00}; /* 1.0 */
    fv_st_out t[] = {{"b", 2, shape, b, FV_DT_BF16, FV_DT_BF16},
                     {"h", 2, shape, h, FV_DT_F16, FV_DT_F16},
                     {"q", 2, shape, q, FV_DT_I8, FV_DT_I8},
                     {"q.scales", 2, sshape, s, FV_DT_F16, FV_DT_F16}};
    CHECK(fv_st_write(P("raw.safetensors"), t, 4, q8_meta) == 0, "write: %s", fv_last_error());
    fv_safetensors *st;
    if (fv_st_open(&st, P("raw.safetensors"))) return;
    uint32_t d[8], sc[2];
    CHECK(fv_wfile_read(st, "b", FV_WT_BF16, 1, 4, d, NULL) == 0 && d[0] == 0x80400001u && d[1] == 0xbf803f80u,
          "bf16 raw copy keeps a subnormal: %08x %08x", d[0], d[1]);
    CHECK(fv_wfile_read(st, "h", FV_WT_F16, 1, 4, d, NULL) == 0 && d[0] == 0x3c007e01u && d[1] == 0x80000001u,
          "f16 raw copy keeps the bits: %08x %08x", d[0], d[1]);
    CHECK(fv_wfile_read(st, "q", FV_WT_Q8, 1, 4, d, sc) == 0 && d[0] == 0xff007f80u && sc[0] == 0x3c00u,
          "q8 raw copy keeps q = -128: %08x scale %08x", d[0], sc[0]);
    float f[4];
    CHECK(fv_wfile_read_f32(st, "q", f, -1, NULL) == 0 && f[0] == -128.0f && f[1] == 127.0f, "q = -128 dequantized: %g",
          f[0]);
    CHECK(fv_wfile_read(st, "h", FV_WT_BF16, 1, 4, d, NULL) && strstr(fv_last_error(), "'h'"),
          "a NaN converted is an error naming the tensor: %s", fv_last_error());
    fv_st_close(st);
    printf("raw copies: bf16 subnormal, f16 NaN and q8 q = -128 kept bit for bit\n");
}

/* Bad q8 files: one line naming the file, the tensor and the problem. */
static void bad_q8(const char *label, const char *const *meta, int drop_scales, fv_dtype sdt, int64_t s0, int64_t s1,
                   const char *needle) {
    int64_t shape[2] = {2, 40}, sshape[2] = {s0, s1};
    int8_t q[80] = {0};
    uint16_t s[8] = {0};
    fv_st_out t[] = {{"x.weight", 2, shape, q, FV_DT_I8, FV_DT_I8}, {"x.weight.scales", 2, sshape, s, sdt, sdt}};
    char name[64];
    snprintf(name, sizeof name, "bad_%s.safetensors", label);
    if (fv_st_write(P(name), t, drop_scales ? 1 : 2, meta)) {
        CHECK(0, "%s: write failed: %s", label, fv_last_error());
        return;
    }
    fv_safetensors *st;
    if (fv_st_open(&st, P(name))) {
        CHECK(0, "%s: open failed: %s", label, fv_last_error());
        return;
    }
    uint32_t d[40], sc[4];
    int rc = fv_wfile_read(st, "x.weight", FV_WT_Q8, 2, 40, d, sc);
    const char *e = fv_last_error();
    int named = strstr(e, name) && (strstr(e, "'x.weight'") || strstr(e, "flanvk"));
    CHECK(rc && named && strstr(e, needle), "%s: expected '%s', got: %s", label, needle, e);
    printf("  %-14s -> %s\n", label, e);
    float f[80];
    CHECK(fv_wfile_read_f32(st, "x.weight", f, -1, NULL), "%s: float reader must refuse it too", label);
    fv_st_close(st);
}

static void test_bad(void) {
    static const char *const no_meta[] = {NULL};
    static const char *const only_w[] = {FV_WFILE_META_WEIGHTS, "q8", NULL};
    static const char *const q4[] = {FV_WFILE_META_WEIGHTS, "q4", FV_WFILE_META_Q8, FV_WFILE_Q8_LAYOUT, NULL};
    static const char *const layout[] = {FV_WFILE_META_WEIGHTS, "q8", FV_WFILE_META_Q8, "int8-block64", NULL};
    bad_q8("no_scales", q8_meta, 1, FV_DT_F16, 2, 2, "scales 'x.weight.scales' are missing");
    bad_q8("scales_shape", q8_meta, 0, FV_DT_F16, 2, 1, "have shape [2, 1], expected [2, 2]");
    bad_q8("scales_dtype", q8_meta, 0, FV_DT_BF16, 2, 2, "dtype BF16, expected F16");
    bad_q8("no_meta", no_meta, 0, FV_DT_F16, 2, 2, "not a flanvk q8 file");
    bad_q8("no_layout", only_w, 0, FV_DT_F16, 2, 2, "not a flanvk q8 file");
    bad_q8("weights_q4", q4, 0, FV_DT_F16, 2, 2, "\"flanvk_weights\" is \"q4\": unknown weight format");
    bad_q8("layout", layout, 0, FV_DT_F16, 2, 2, "\"flanvk_q8\" is \"int8-block64\": unknown q8 layout");
    /* unsupported dtypes and 1-D I8 */
    int64_t s1[1] = {4};
    int32_t i32[4] = {0};
    int8_t i8[4] = {0};
    fv_st_out t[] = {{"i", 1, s1, i32, FV_DT_I32, FV_DT_I32}, {"v", 1, s1, i8, FV_DT_I8, FV_DT_I8}};
    fv_safetensors *st;
    if (fv_st_write(P("odd.safetensors"), t, 2, q8_meta) == 0 && fv_st_open(&st, P("odd.safetensors")) == 0) {
        CHECK(fv_wfile_check_tensor(st, fv_st_find(st, "i")) && strstr(fv_last_error(), "unsupported dtype I32"), "I32: %s",
              fv_last_error());
        CHECK(fv_wfile_check_tensor(st, fv_st_find(st, "v")) && strstr(fv_last_error(), "only 2-D weights may be q8"),
              "1-D I8: %s", fv_last_error());
        fv_st_close(st);
    }
}

static void test_policy(void) {
    struct {
        const char *name;
        int ndim;
        enum fv_wtype req, want;
    } c[] = {
        {"encoder.block.0.layer.0.SelfAttention.q.weight", 2, FV_WT_Q8, FV_WT_Q8},
        {"decoder.block.3.layer.1.EncDecAttention.o.weight", 2, FV_WT_Q8, FV_WT_Q8},
        {"decoder.block.3.layer.2.DenseReluDense.wi_1.weight", 2, FV_WT_BF16, FV_WT_BF16},
        {"encoder.block.1.layer.1.DenseReluDense.wo.weight", 2, FV_WT_Q8, FV_WT_Q8},
        {"encoder.block.1.layer.1.DenseReluDense.wi.weight", 2, FV_WT_F16, FV_WT_F16},
        {"shared.weight", 2, FV_WT_Q8, FV_WT_F16},
        {"shared.weight", 2, FV_WT_BF16, FV_WT_BF16},
        {"lm_head.weight", 2, FV_WT_Q8, FV_WT_F16},
        {"decoder.embed_tokens.weight", 2, FV_WT_F32, FV_WT_F32},
        {"encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", 2, FV_WT_Q8, FV_WT_F32},
        {"encoder.block.0.layer.0.layer_norm.weight", 1, FV_WT_F16, FV_WT_F32},
        {"encoder.final_layer_norm.weight", 1, FV_WT_Q8, FV_WT_F32},
    };
    for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
        enum fv_wtype got = fv_wfile_tensor_type(c[i].name, c[i].ndim, c[i].req);
        CHECK(got == c[i].want, "%s asked %s: got %s, expected %s", c[i].name, fv_wtype_name(c[i].req), fv_wtype_name(got),
              fv_wtype_name(c[i].want));
    }
    printf("policy: %zu tensor names checked\n", sizeof c / sizeof *c);
}

/* ---- streaming writer ---- */

typedef struct {
    const unsigned char *bytes[3];
    size_t len[3];
    int cut;   /* tensor 1 gets one byte less */
    int extra; /* tensor 1 gets one byte more */
} prod;

static int produce(void *user, size_t i, fv_st_sink *sink) {
    prod *p = user;
    size_t n = p->len[i] - (i == 1 && p->cut);
    for (size_t k = 0; k < n; k += 3) FV_TRY(fv_st_sink_write(sink, p->bytes[i] + k, n - k < 3 ? n - k : 3));
    if (i == 1 && p->extra) return fv_st_sink_write(sink, p->bytes[i], 1);
    return 0;
}

static void test_stream(void) {
    int8_t a[7] = {1, -2, 3, -4, 5, -6, 127};
    uint16_t b[5] = {0x3c00, 0x4000, 0xc000, 0x0001, 0x7bff};
    float c[3] = {1.5f, -2.25f, 3e-30f};
    int64_t sa[2] = {7, 1}, sb[1] = {5}, sc[1] = {3};
    fv_st_entry e[] = {{"a", 2, sa, FV_DT_I8}, {"b", 1, sb, FV_DT_BF16}, {"c", 1, sc, FV_DT_F32}};
    prod p = {{(const unsigned char *)a, (const unsigned char *)b, (const unsigned char *)c}, {7, 10, 12}, 0, 0};
    const char *meta[] = {"flanvk_weights", "q8", "note", "x\"y", NULL};
    CHECK(fv_st_write_stream(P("stream.safetensors"), e, 3, meta, produce, &p) == 0, "stream write: %s", fv_last_error());
    fv_safetensors *st;
    if (fv_st_open(&st, P("stream.safetensors")) == 0) {
        const fv_st_tensor *ta = fv_st_find(st, "a"), *tb = fv_st_find(st, "b"), *tc = fv_st_find(st, "c");
        CHECK(ta && ta->dtype == FV_DT_I8 && !memcmp(ta->data, a, 7), "I8 round trip");
        CHECK(tb && tb->dtype == FV_DT_BF16 && !memcmp(tb->data, b, 10), "BF16 raw round trip");
        CHECK(tc && tc->dtype == FV_DT_F32 && !memcmp(tc->data, c, 12), "F32 round trip");
        /* widest first: c, then b, then a; each aligned to its element size */
        CHECK(tc && tb && ta && tc->data < tb->data && tb->data < ta->data && (tb->data - tc->data) % 4 == 0,
              "data order F32, BF16, I8");
        CHECK(fv_st_meta(st, "format") && !strcmp(fv_st_meta(st, "format"), "pt") && fv_st_meta(st, "note") &&
                  !strcmp(fv_st_meta(st, "note"), "x\"y"), "metadata kept");
        fv_st_close(st);
    } else CHECK(0, "open: %s", fv_last_error());
    p.cut = 1;
    CHECK(fv_st_write_stream(P("short.safetensors"), e, 3, NULL, produce, &p) && strstr(fv_last_error(), "'b': 1 bytes fewer"),
          "short producer: %s", fv_last_error());
    p.cut = 0;
    p.extra = 1;
    CHECK(fv_st_write_stream(P("long.safetensors"), e, 3, NULL, produce, &p) && strstr(fv_last_error(), "'b': 1 bytes more"),
          "long producer: %s", fv_last_error());
    CHECK(access(P("short.safetensors"), F_OK) != 0 && access(P("long.safetensors"), F_OK) != 0,
          "a failed stream leaves no file");
    printf("stream writer: I8/BF16/F32 round trip in 3-byte pieces, short and long producers refused, no file left\n");
}

int main(void) {
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/flanvk_wfile_XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        printf("cannot create a temporary directory\n0 passed, 1 failed\n");
        return 1;
    }
    test_policy();
    test_read_matrix();
    test_raw_bits();
    test_bad();
    test_stream();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("note: could not remove %s\n", dir);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
