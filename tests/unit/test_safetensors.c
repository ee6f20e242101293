/* safetensors reader/writer and fp16/bf16 conversions: round trips, and every kind of broken file
 * (generated in a temporary directory) gives one error line naming the file, without crashing. */
#define _POSIX_C_SOURCE 200809L
#include "base/error.h"
#include "base/file.h"
#include "base/rng.h"
#include "io/half.h"
#include "io/safetensors.h"
#include "support/unit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[256];

static const char *P(const char *name) { return unit_path(dir, name); }

static uint32_t f2u(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* ---- conversions ---- */

/* Nearest-even check: h must be the representable value closest to x, ties to even mantissa. */
static int nearest_ok(float x, uint16_t h, float (*to32)(uint16_t), double maxfin, uint16_t inf) {
    if (isnan(x)) return isnan(to32(h));
    double ax = fabs((double)x);
    double top = maxfin + (to32(inf - 1) - to32(inf - 2)) / 2.0; /* halfway to the next power */
    if (ax >= top) return (h & 0x7fff) == inf && ((h >> 15) == (f2u(x) >> 31));
    double got = to32(h);
    if ((h >> 15) != (f2u(x) >> 31)) return 0;
    double e = fabs(got - x);
    for (int d = -1; d <= 1; d += 2) {
        uint16_t m = (uint16_t)(h + d);
        if ((h & 0x7fff) == 0 && d < 0) m = (uint16_t)(h ^ 0x8000) + 1; /* across zero */
        if ((m & 0x7fff) >= inf) continue;
        double o = to32(m);
        double eo = fabs(o - x);
        if (eo < e) return 0;
        if (eo == e && (h & 1)) return 0; /* a tie must land on the even one */
    }
    return 1;
}

static void test_half(void) {
    int bad = 0;
    for (uint32_t i = 0; i < 65536; i++) {
        float f = fv_f16_to_f32((uint16_t)i);
        uint16_t back = fv_f32_to_f16(f);
        if ((i & 0x7c00) == 0x7c00 && (i & 0x3ff)) bad += !isnan(f) || (back & 0x7e00) != 0x7e00;
        else bad += back != i;
    }
    CHECK(bad == 0, "f16 -> f32 -> f16 round trip: %d of 65536 differ", bad);
    bad = 0;
    for (uint32_t i = 0; i < 65536; i++) {
        float f = fv_bf16_to_f32((uint16_t)i);
        uint16_t back = fv_f32_to_bf16(f);
        if ((i & 0x7f80) == 0x7f80 && (i & 0x7f)) bad += !isnan(f) || !isnan(fv_bf16_to_f32(back));
        else bad += back != i;
    }
    CHECK(bad == 0, "bf16 -> f32 -> bf16 round trip: %d of 65536 differ", bad);
    /* Random bit patterns over the whole float range plus values near fp16 boundaries. */
    fv_rng r;
    fv_rng_seed(&r, 7);
    int bad16 = 0, bad_b = 0;
    const int N = 2000000;
    for (int i = 0; i < N; i++) {
        float x;
        uint32_t u = (uint32_t)fv_rng_u64(&r);
        if (i % 2) u = (u & 0x8fffffffu) | 0x30000000u; /* exponents 2^-31 .. 2^17: fp16 range */
        if (i % 8 == 1) u &= 0xffffe000u | (1u << 12);     /* exact ties */
        memcpy(&x, &u, 4);
        bad16 += !nearest_ok(x, fv_f32_to_f16(x), fv_f16_to_f32, 65504.0, 0x7c00);
        bad_b += !nearest_ok(x, fv_f32_to_bf16(x), fv_bf16_to_f32, 3.3895313892515355e38, 0x7f80);
    }
    CHECK(bad16 == 0, "f32 -> f16 nearest-even on %d values: %d wrong", N, bad16);
    CHECK(bad_b == 0, "f32 -> bf16 nearest-even on %d values: %d wrong", N, bad_b);
    printf("half: f16/bf16 exhaustive round trips and %d random f32 nearest-even checks\n", N);
    CHECK(fv_f32_to_f16(65519.0f) == 0x7bff && fv_f32_to_f16(65520.0f) == 0x7c00, "fp16 overflow threshold");
    CHECK(fv_f32_to_f16(5.9604645e-8f) == 1 && fv_f32_to_f16(2.9802322e-8f) == 0 && fv_f32_to_f16(-0.0f) == 0x8000,
           "fp16 subnormal/zero");
    CHECK(fv_f32_to_bf16(1.00390625f) == 0x3f80 && fv_f32_to_bf16(1.01171875f) == 0x3f82, "bf16 ties to even");
#ifdef __FLT16_MAX__
    int badc = 0;
    for (int i = 0; i < 200000; i++) {
        uint32_t u = (uint32_t)fv_rng_u64(&r);
        float x;
        memcpy(&x, &u, 4);
        if (isnan(x)) continue;
        _Float16 h = (_Float16)x;
        uint16_t hb;
        memcpy(&hb, &h, 2);
        badc += hb != fv_f32_to_f16(x);
    }
    CHECK(badc == 0, "f32 -> f16 vs compiler _Float16: %d differ", badc);
#endif
}

/* ---- round trip ---- */

static void test_roundtrip(void) {
    fv_rng r;
    fv_rng_seed(&r, 1);
    enum { A = 33, B = 7 };
    static float x[A * B], y[5];
    for (int i = 0; i < A * B; i++) x[i] = (float)(fv_rng_normal(&r) * pow(10.0, (i % 9) - 4));
    x[0] = 0.1f;
    x[1] = 70000.0f; /* overflows fp16 */
    x[2] = 1e-9f;    /* underflows fp16 */
    for (int i = 0; i < 5; i++) y[i] = (float)i;
    uint16_t yh[5];
    fv_f32_to_f16_n(yh, y, 5);
    int64_t sh[2] = {A, B}, s1[1] = {5};
    fv_st_out t[] = {
        {.name = "bf16.w", .ndim = 2, .shape = sh, .data = x, .dtype = FV_DT_BF16},
        {.name = "f16.w", .ndim = 2, .shape = sh, .data = x, .dtype = FV_DT_F16},
        {.name = "f32.w", .ndim = 2, .shape = sh, .data = x, .dtype = FV_DT_F32},
        {.name = "from_f16", .ndim = 1, .shape = s1, .data = yh, .src_dtype = FV_DT_F16, .dtype = FV_DT_F32},
        {.name = "empty", .ndim = 2, .shape = (int64_t[]){0, 3}, .data = NULL},
        {.name = "scalar \"q\"", .ndim = 0, .shape = NULL, .data = y},
    };
    const char *meta[] = {"step", "12", NULL};
    int rc = fv_st_write(P("rt.safetensors"), t, 6, meta);
    CHECK(rc == 0, "write: %s", fv_last_error());
    FILE *f = fopen(P("rt.safetensors"), "rb");
    unsigned char h8[8] = {0};
    if (f) {
        CHECK(fread(h8, 1, 8, f) == 8, "read header length");
        fclose(f);
    }
    CHECK(h8[0] % 8 == 0, "header length %u is a multiple of 8", h8[0]);
    fv_safetensors *st = NULL;
    rc = fv_st_open(&st, P("rt.safetensors"));
    CHECK(rc == 0, "open: %s", fv_last_error());
    if (rc) return;
    CHECK(fv_st_count(st) == 6, "count %zu", fv_st_count(st));
    CHECK(fv_st_meta(st, "format") && strcmp(fv_st_meta(st, "format"), "pt") == 0, "format pt");
    CHECK(fv_st_meta(st, "step") && strcmp(fv_st_meta(st, "step"), "12") == 0, "user metadata");
    const fv_st_tensor *tb = fv_st_find(st, "bf16.w");
    CHECK(tb && tb->dtype == FV_DT_BF16 && tb->ndim == 2 && tb->shape[0] == A && tb->shape[1] == B, "bf16 entry");
    static float got[A * B];
    int nb32 = 0, nb16 = 0, nbb = 0;
    rc = fv_st_read_f32(st, "f32.w", got, 2, sh);
    for (int i = 0; i < A * B; i++) nb32 += f2u(got[i]) != f2u(x[i]);
    rc |= fv_st_read_f32(st, "f16.w", got, 2, sh);
    for (int i = 0; i < A * B; i++) nb16 += f2u(got[i]) != f2u(fv_f16_to_f32(fv_f32_to_f16(x[i])));
    rc |= fv_st_read_f32(st, "bf16.w", got, 2, sh);
    for (int i = 0; i < A * B; i++) nbb += f2u(got[i]) != f2u(fv_bf16_to_f32(fv_f32_to_bf16(x[i])));
    CHECK(rc == 0 && nb32 == 0 && nb16 == 0 && nbb == 0, "round trip F32 %d, F16 %d, BF16 %d mismatches (%s)", nb32, nb16,
           nbb, fv_last_error());
    printf("round trip %dx%d: F32 bit-exact, F16/BF16 equal to the RNE conversion (%d/%d/%d mismatches)\n", A, B, nb32,
           nb16, nbb);
    uint16_t h16[A * B];
    int nh = 0;
    rc = fv_st_read_f16(st, "f32.w", h16, 2, sh);
    for (int i = 0; i < A * B; i++) nh += h16[i] != fv_f32_to_f16(x[i]);
    rc |= fv_st_read_f16(st, "bf16.w", h16, -1, NULL);
    for (int i = 0; i < A * B; i++) nh += h16[i] != fv_f32_to_f16(fv_bf16_to_f32(fv_f32_to_bf16(x[i])));
    CHECK(rc == 0 && nh == 0, "read as fp16: %d mismatches", nh);
    CHECK(fv_st_read_f32(st, "from_f16", got, 1, s1) == 0 && got[4] == 4.0f, "f16 source");
    CHECK(fv_st_read_f32(st, "scalar \"q\"", got, 0, NULL) == 0 && got[0] == 0.0f, "scalar with escaped name");
    const fv_st_tensor *te = fv_st_find(st, "empty");
    CHECK(te && te->numel == 0 && te->shape[0] == 0 && te->shape[1] == 3, "empty tensor");
    /* Alignment: widest first, so every tensor's data is aligned to its element size. */
    int misaligned = 0;
    for (size_t i = 0; i < fv_st_count(st); i++) {
        const fv_st_tensor *ti = fv_st_at(st, i);
        if (ti->numel) misaligned += ((uintptr_t)ti->data % fv_dtype_size(ti->dtype)) != 0;
    }
    CHECK(misaligned == 0, "%d tensors misaligned", misaligned);
    /* Wrong expected shape. */
    int64_t wrong[2] = {B, A};
    rc = fv_st_read_f32(st, "f32.w", got, 2, wrong);
    CHECK(rc && strstr(fv_last_error(), "has shape [33, 7], expected [7, 33]") && strstr(fv_last_error(), "rt.safetensors"),
           "shape mismatch message: %s", fv_last_error());
    printf("  error: %s\n", fv_last_error());
    rc = fv_st_read_f32(st, "nope", got, -1, NULL);
    CHECK(rc && strstr(fv_last_error(), "'nope' not found") && strstr(fv_last_error(), "rt.safetensors"), "missing: %s",
           fv_last_error());
    fv_st_close(st);
    /* Keep a copy for tools/check_safetensors.py if asked. */
    const char *keep = getenv("FLANVK_IO_KEEP");
    if (keep) {
        char kp[512];
        snprintf(kp, sizeof kp, "%s/roundtrip.safetensors", keep);
        fv_st_write(kp, t, 6, meta);
        /* 1M random finite bit patterns (a quarter of them exact ties) for torch to re-round. */
        enum { M = 1 << 20 };
        float *v = malloc(M * sizeof *v);
        for (int i = 0; v && i < M; i++) {
            uint32_t u = (uint32_t)fv_rng_u64(&r);
            if (i % 2) u = (u & 0x8fffffffu) | 0x30000000u;
            if (i % 4 == 1) u = (u & 0xffffe000u) | (1u << 12);
            if (i % 4 == 3) u = (u & 0xffff0000u) | (1u << 15);
            if ((u & 0x7f800000u) == 0x7f800000u) u &= 0xbfffffffu;
            memcpy(&v[i], &u, 4);
        }
        int64_t sm[1] = {M};
        fv_st_out big[] = {{.name = "x", .ndim = 1, .shape = sm, .data = v},
                           {.name = "x16", .ndim = 1, .shape = sm, .data = v, .dtype = FV_DT_F16},
                           {.name = "xb16", .ndim = 1, .shape = sm, .data = v, .dtype = FV_DT_BF16}};
        snprintf(kp, sizeof kp, "%s/rounding.safetensors", keep);
        if (v) fv_st_write(kp, big, 3, NULL);
        free(v);
    }
    /* Writer rejects bad input. */
    fv_st_out dup[] = {{.name = "a", .ndim = 1, .shape = s1, .data = y}, {.name = "a", .ndim = 1, .shape = s1, .data = y}};
    CHECK(fv_st_write(P("dup.safetensors"), dup, 2, NULL) && strstr(fv_last_error(), "duplicate tensor 'a'"),
           "writer duplicate: %s", fv_last_error());
    fv_st_out i64[] = {{.name = "a", .ndim = 1, .shape = s1, .data = y, .dtype = FV_DT_I64}};
    CHECK(fv_st_write(P("i64.safetensors"), i64, 1, NULL) && strstr(fv_last_error(), "unsupported dtype"), "writer dtype");
    CHECK(access(P("dup.safetensors"), F_OK) != 0, "failed write leaves no file");
}

/* ---- broken files ---- */

/* Write: 8-byte length (hlen_field, or the real length when ~0), the header text, ndata zero bytes. */
static void raw(const char *name, const char *hdr, size_t hlen, uint64_t hlen_field, size_t ndata) {
    FILE *f = fopen(P(name), "wb");
    if (!f) return;
    uint64_t L = hlen_field == ~(uint64_t)0 ? hlen : hlen_field;
    for (int i = 0; i < 8; i++) fputc((int)((L >> (8 * i)) & 0xff), f);
    fwrite(hdr, 1, hlen, f);
    for (size_t i = 0; i < ndata; i++) fputc(0, f);
    fclose(f);
}

static void rawj(const char *name, const char *hdr, size_t ndata) { raw(name, hdr, strlen(hdr), ~(uint64_t)0, ndata); }

static void expect_open_error(const char *name, const char *needle) {
    fv_safetensors *st = NULL;
    fv_clear_error();
    int rc = fv_st_open(&st, P(name));
    const char *e = fv_last_error();
    CHECK(rc != 0 && st == NULL && strstr(e, name) && strstr(e, needle) && !strchr(e, '\n'),
           "%s: expected an error containing '%s', got rc %d: %s", name, needle, rc, e);
    if (rc) printf("  %-22s -> %s\n", name, strrchr(e, '/') ? strrchr(e, '/') + 1 : e);
    fv_st_close(st);
}

static void test_broken(void) {
    const char *T = "\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}";
    char h[512];
    raw("empty.safetensors", "", 0, 0, 0);
    FILE *f = fopen(P("empty.safetensors"), "wb");
    if (f) fclose(f);
    expect_open_error("empty.safetensors", "too short");
    raw("short.safetensors", "{}", 2, 2, 0);
    if ((f = fopen(P("short.safetensors"), "wb"))) {
        fwrite("\x02\0\0", 1, 3, f);
        fclose(f);
    }
    expect_open_error("short.safetensors", "too short");
    snprintf(h, sizeof h, "{%s}", T);
    raw("hlen_big.safetensors", h, strlen(h), 1u << 20, 24);
    expect_open_error("hlen_big.safetensors", "runs past the end of the file");
    raw("hlen_huge.safetensors", h, strlen(h), ~(uint64_t)0 - 1, 24);
    expect_open_error("hlen_huge.safetensors", "runs past the end of the file");
    rawj("badjson.safetensors", "{\"w\":{\"dtype\":\"F32\",", 24);
    expect_open_error("badjson.safetensors", "malformed JSON");
    rawj("notobj.safetensors", "[1,2,3]", 0);
    expect_open_error("notobj.safetensors", "not an object");
    rawj("trailing.safetensors", "{} x", 0);
    expect_open_error("trailing.safetensors", "trailing data");
    rawj("utf8.safetensors", "{\"w\xc3\x28\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}", 24);
    expect_open_error("utf8.safetensors", "invalid UTF-8");
    rawj("overlong.safetensors", "{\"\xc0\xafw\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
    expect_open_error("overlong.safetensors", "invalid UTF-8");
    snprintf(h, sizeof h, "{%s,\"v\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[20,28]}}", T);
    rawj("overlap.safetensors", h, 28);
    expect_open_error("overlap.safetensors", "overlap tensor");
    snprintf(h, sizeof h, "{%s}", T);
    rawj("pastend.safetensors", h, 16);
    expect_open_error("pastend.safetensors", "data_offsets [0, 24) run past the end of the file (16 bytes of data)");
    rawj("truncated.safetensors", h, 23);
    expect_open_error("truncated.safetensors", "run past the end");
    rawj("dtype.safetensors", "{\"w\":{\"dtype\":\"F31\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
    expect_open_error("dtype.safetensors", "tensor 'w': unknown dtype 'F31'");
    rawj("size.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", 24);
    expect_open_error("size.safetensors", "needs 24 bytes but data_offsets [0, 20) hold 20");
    rawj("neg.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[-2,3],\"data_offsets\":[0,24]}}", 24);
    expect_open_error("neg.safetensors", "not a non-negative integer");
    rawj("frac.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,10]}}", 24);
    expect_open_error("frac.safetensors", "not a non-negative integer");
    rawj("huge.safetensors",
         "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,0]}}", 0);
    expect_open_error("huge.safetensors", "too large");
    rawj("huge2.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1e300],\"data_offsets\":[0,4]}}", 4);
    expect_open_error("huge2.safetensors", "not a non-negative integer");
    rawj("noshape.safetensors", "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4);
    expect_open_error("noshape.safetensors", "tensor 'w': missing 'shape'");
    rawj("nodtype.safetensors", "{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
    expect_open_error("nodtype.safetensors", "missing 'dtype'");
    rawj("nooffs.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4);
    expect_open_error("nooffs.safetensors", "missing 'data_offsets'");
    rawj("offs3.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 8);
    expect_open_error("offs3.safetensors", "not a pair");
    rawj("backwards.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 8);
    expect_open_error("backwards.safetensors", "end before they begin");
    rawj("entry.safetensors", "{\"w\":[1,2]}", 0);
    expect_open_error("entry.safetensors", "tensor 'w': header entry is not an object");
    rawj("strshape.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":\"2\",\"data_offsets\":[0,8]}}", 8);
    expect_open_error("strshape.safetensors", "'shape' is not an array");
    rawj("dims.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4);
    expect_open_error("dims.safetensors", "dimensions");
    rawj("meta.safetensors", "{\"__metadata__\":{\"format\":3}}", 0);
    expect_open_error("meta.safetensors", "__metadata__ key 'format' is not a string");
    rawj("dupname.safetensors",
         "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
         8);
    expect_open_error("dupname.safetensors", "duplicate tensor 'w'");
    expect_open_error("does_not_exist.safetensors", "cannot open");
    /* Valid but unusual: empty header object, zero-size tensors at one offset, spaces padding. */
    rawj("ok_empty.safetensors", "{}      ", 0);
    rawj("ok_zero.safetensors",
         "{\"a\":{\"dtype\":\"F16\",\"shape\":[0],\"data_offsets\":[0,0]},"
         "\"b\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}   ",
         8);
    fv_safetensors *st = NULL;
    int rc = fv_st_open(&st, P("ok_empty.safetensors"));
    CHECK(rc == 0 && fv_st_count(st) == 0, "empty header: %s", fv_last_error());
    fv_st_close(st);
    st = NULL;
    rc = fv_st_open(&st, P("ok_zero.safetensors"));
    CHECK(rc == 0 && fv_st_count(st) == 2, "zero-size tensor: %s", fv_last_error());
    if (!rc) {
        float v[2];
        rc = fv_st_read_f32(st, "b", v, -1, NULL);
        CHECK(rc && strstr(fv_last_error(), "tensor 'b': unsupported dtype I64") &&
                   strstr(fv_last_error(), "ok_zero.safetensors"),
               "I64 read: %s", fv_last_error());
        printf("  %-22s -> %s\n", "read I64", strrchr(fv_last_error(), '/') + 1);
    }
    fv_st_close(st);
}

/* ---- sharded checkpoints ---- */

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

static void test_sharded(void) {
    float a[6] = {1, 2, 3, 4, 5, 6}, b[2] = {7, 8};
    int64_t sa[2] = {2, 3}, sb[1] = {2};
    fv_st_out s1[] = {{.name = "a", .ndim = 2, .shape = sa, .data = a}};
    fv_st_out s2[] = {{.name = "b", .ndim = 1, .shape = sb, .data = b, .dtype = FV_DT_BF16},
                      {.name = "c", .ndim = 1, .shape = sb, .data = b}};
    char sub[512];
    snprintf(sub, sizeof sub, "%s/sharded", dir);
    CHECK(fv_mkdirs(sub) == 0, "mkdir: %s", fv_last_error());
    int rc = fv_st_write(P("sharded/model-00001-of-00002.safetensors"), s1, 1, NULL);
    rc |= fv_st_write(P("sharded/model-00002-of-00002.safetensors"), s2, 2, NULL);
    CHECK(rc == 0, "write shards: %s", fv_last_error());
    write_text(P("sharded/model.safetensors.index.json"),
               "{\"metadata\":{\"total_size\":36},\"weight_map\":{\"a\":\"model-00001-of-00002.safetensors\","
               "\"b\":\"model-00002-of-00002.safetensors\",\"c\":\"model-00002-of-00002.safetensors\"}}");
    fv_safetensors *st = NULL;
    rc = fv_st_open(&st, P("sharded"));
    CHECK(rc == 0 && fv_st_count(st) == 3, "open sharded dir: %s", fv_last_error());
    if (!rc) {
        float g[6];
        rc = fv_st_read_f32(st, "a", g, 2, sa);
        CHECK(rc == 0 && g[5] == 6, "shard 1 read");
        rc = fv_st_read_f32(st, "b", g, 1, sb);
        CHECK(rc == 0 && g[1] == 8, "shard 2 read");
        CHECK(strstr(fv_st_file(st, fv_st_find(st, "b")), "00002"), "file of b");
        printf("sharded: 2 shards, %zu tensors, one namespace\n", fv_st_count(st));
    }
    fv_st_close(st);
    /* Missing shard. */
    write_text(P("sharded/missing.index.json"),
               "{\"weight_map\":{\"a\":\"model-00001-of-00002.safetensors\",\"z\":\"model-00003-of-00003.safetensors\"}}");
    expect_open_error("sharded/missing.index.json", "model-00003-of-00003.safetensors' (holding tensor 'z') is missing");
    /* Listed but absent. */
    write_text(P("sharded/absent.index.json"),
               "{\"weight_map\":{\"a\":\"model-00001-of-00002.safetensors\",\"b\":\"model-00001-of-00002.safetensors\"}}");
    expect_open_error("sharded/absent.index.json", "tensor 'b' is listed in shard 'model-00001-of-00002.safetensors' but absent");
    write_text(P("sharded/bad.index.json"), "{\"weight_map\":{\"a\":3}}");
    expect_open_error("sharded/bad.index.json", "weight_map entry 'a' is not a string");
    write_text(P("sharded/nomap.index.json"), "{\"metadata\":{}}");
    expect_open_error("sharded/nomap.index.json", "missing key 'weight_map'");
    write_text(P("sharded/escape.index.json"), "{\"weight_map\":{\"a\":\"../x.safetensors\"}}");
    expect_open_error("sharded/escape.index.json", "invalid shard file");
    /* Same tensor in two shards. */
    fv_st_out s3[] = {{.name = "a", .ndim = 2, .shape = sa, .data = a}, {.name = "x", .ndim = 1, .shape = sb, .data = b}};
    fv_st_write(P("sharded/dupe.safetensors"), s3, 2, NULL);
    write_text(P("sharded/twice.index.json"),
               "{\"weight_map\":{\"a\":\"model-00001-of-00002.safetensors\",\"x\":\"dupe.safetensors\"}}");
    expect_open_error("sharded/twice.index.json", "appears in two shards");
    /* Directory without a model. */
    expect_open_error("", "no model.safetensors");
}

static void cleanup(void) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("note: could not remove %s\n", dir);
}

int main(void) {
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/flanvk_st_XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        printf("cannot create a temporary directory\n0 passed, 1 failed\n");
        return 1;
    }
    test_half();
    test_roundtrip();
    test_broken();
    test_sharded();
    cleanup();
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
