/* Packed rows: the greedy packer + file writer + mapped reader round-trip (every example back, in
 * order, with its segment; truncation kept </s> and counted), row expansion (shifted decoder inputs,
 * positions, labels), atomic writes, and corrupt or truncated files rejected naming the file. */
#include "base/error.h"
#include "base/rng.h"
#include "data/pack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/unit.h"

#define EOS 1u
#define VOCAB 500u

typedef struct {
    uint32_t *in, *tg;
    size_t n_in, n_tg;
} ex_t;

/* What the packer should keep of a sequence (seqio's append_eos_after_trim). */
static size_t kept(const uint32_t *s, size_t n, uint32_t cap, uint32_t *out) {
    if (n <= cap) {
        memcpy(out, s, n * 4);
        return n;
    }
    memcpy(out, s, cap * 4);
    if (s[n - 1] == EOS) out[cap - 1] = EOS;
    return cap;
}

static void gen(fv_rng *r, ex_t *e, uint32_t L, uint32_t L2) {
    e->n_in = 1 + fv_rng_below(r, L + L / 4);
    e->n_tg = 1 + fv_rng_below(r, L2 + L2 / 4);
    e->in = malloc(e->n_in * 4);
    e->tg = malloc(e->n_tg * 4);
    for (size_t i = 0; i < e->n_in; i++) e->in[i] = 2 + (uint32_t)fv_rng_below(r, VOCAB - 2);
    for (size_t i = 0; i < e->n_tg; i++) e->tg[i] = 2 + (uint32_t)fv_rng_below(r, VOCAB - 2);
    if (fv_rng_below(r, 4)) e->in[e->n_in - 1] = EOS; /* most end with </s>, some not */
    if (fv_rng_below(r, 4)) e->tg[e->n_tg - 1] = EOS;
}

static void tmpname(char *buf, size_t n, const char *tag) {
    snprintf(buf, n, "/tmp/flanvk_test_pack_%ld_%s.pack", (long)getpid(), tag);
}

static void test_roundtrip(uint32_t L, uint32_t L2, size_t n_ex, uint64_t seed) {
    fv_rng r;
    fv_rng_seed(&r, seed);
    ex_t *ex = calloc(n_ex, sizeof *ex);
    size_t want_trunc = 0;
    for (size_t i = 0; i < n_ex; i++) {
        gen(&r, &ex[i], L, L2);
        want_trunc += ex[i].n_in > L || ex[i].n_tg > L2;
    }
    char path[256];
    tmpname(path, sizeof path, "rt");
    fv_packer pk;
    fv_pack_writer *w;
    CHECK(fv_packer_init(&pk, L, L2, EOS) == 0, "%s", fv_last_error());
    CHECK(fv_pack_writer_open(&w, path, L, L2, VOCAB) == 0, "%s", fv_last_error());
    size_t tag_i = 0, tag_bad = 0;
    for (size_t i = 0; i <= n_ex; i++) {
        int closed = i < n_ex ? fv_packer_push(&pk, ex[i].in, ex[i].n_in, ex[i].tg, ex[i].n_tg, (int32_t)i, NULL)
                              : fv_packer_flush(&pk);
        CHECK(closed >= 0, "%s", fv_last_error());
        if (closed != 1) continue;
        uint32_t ns;
        const int32_t *tags;
        fv_pack_row row = fv_packer_done(&pk, &ns, &tags);
        for (uint32_t s = 0; s < ns; s++) tag_bad += tags[s] != (int32_t)tag_i++;
        CHECK(fv_pack_writer_row(w, &row, ns) == 0, "%s", fv_last_error());
    }
    CHECK(tag_bad == 0 && tag_i == n_ex, "tags out of order: %zu bad, %zu of %zu", tag_bad, tag_i, n_ex);
    CHECK(pk.n_truncated == want_trunc, "packer counted %llu truncated, want %zu", (unsigned long long)pk.n_truncated,
          want_trunc);
    uint64_t rows = pk.n_rows;
    CHECK(fv_pack_writer_commit(w, "{\"mixture\":\"test\"}", pk.n_truncated) == 0, "%s", fv_last_error());
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    CHECK(access(tmp, F_OK) != 0, "temporary file %s left behind", tmp);

    fv_pack p;
    int rc = fv_pack_open(&p, path);
    CHECK(rc == 0, "%s", fv_last_error());
    if (rc) goto done;
    CHECK(p.L == L && p.L2 == L2 && p.vocab == VOCAB && p.n_rows == rows && p.n_examples == n_ex &&
              p.n_truncated == want_trunc,
          "header L %u L2 %u vocab %u rows %llu examples %llu truncated %llu", p.L, p.L2, p.vocab,
          (unsigned long long)p.n_rows, (unsigned long long)p.n_examples, (unsigned long long)p.n_truncated);
    CHECK(strcmp(p.meta, "{\"mixture\":\"test\"}") == 0, "metadata '%s'", p.meta);
    CHECK(fv_pack_validate(&p) == 0, "%s", fv_last_error());
    /* Unpack: every example back, in order, segment by segment. */
    size_t next = 0, mism = 0, seg_bad = 0;
    uint64_t tok = 0;
    uint32_t *buf = malloc((L > L2 ? L : L2) * 4);
    for (uint64_t i = 0; i < p.n_rows; i++) {
        fv_pack_row row = fv_pack_get_row(&p, i);
        uint32_t ns;
        CHECK(fv_pack_expand(&p, i, NULL, &ns) == 0, "%s", fv_last_error());
        for (int32_t s = 1; s <= (int32_t)ns; s++, next++) {
            const uint32_t *a, *b;
            size_t na, nb;
            if (fv_pack_row_segment(&row, L, L2, s, &a, &na, &b, &nb) || next >= n_ex) {
                seg_bad++;
                continue;
            }
            tok += na + nb;
            size_t k = kept(ex[next].in, ex[next].n_in, L, buf);
            mism += k != na || memcmp(buf, a, na * 4) != 0;
            k = kept(ex[next].tg, ex[next].n_tg, L2, buf);
            mism += k != nb || memcmp(buf, b, nb * 4) != 0;
        }
    }
    free(buf);
    CHECK(next == n_ex && mism == 0 && seg_bad == 0, "unpacked %zu of %zu, %zu mismatches, %zu bad segments", next,
          n_ex, mism, seg_bad);
    double eff = (double)tok / ((double)p.n_rows * (L + L2));
    printf("round trip L %u L2 %u: %zu examples (%zu truncated) in %llu rows, efficiency %.1f%%: %s\n", L, L2, n_ex,
           want_trunc, (unsigned long long)p.n_rows, 100 * eff, mism || seg_bad || next != n_ex ? "FAIL" : "OK");
    fv_pack_close(&p);
done:
    unlink(path);
    fv_packer_free(&pk);
    for (size_t i = 0; i < n_ex; i++) free(ex[i].in), free(ex[i].tg);
    free(ex);
}

static void test_expand(void) {
    /* Two examples: in [5 6 1] [7 1], targets [9 1] [8 4 1]; L 8, L2 6. */
    const uint32_t ids[] = {5, 6, 1, 7, 1, 0, 0, 0}, tg[] = {9, 1, 8, 4, 1, 0};
    const int32_t iseg[] = {1, 1, 1, 2, 2, 0, 0, 0}, tseg[] = {1, 1, 2, 2, 2, 0};
    fv_pack_row row = {ids, iseg, tg, tseg};
    int32_t ei[8], es[8], ep[8], di[6], ds[6], dp[6], lab[6];
    fv_pack_arrays a = {ei, es, ep, di, ds, dp, lab};
    uint32_t ns = 0;
    int rc = fv_pack_expand_row(&row, 8, 6, 32, &a, &ns, "test row");
    CHECK(rc == 0 && ns == 2, "rc %d ns %u: %s", rc, ns, fv_last_error());
    const int32_t want_ep[] = {0, 1, 2, 0, 1, 0, 0, 0}, want_di[] = {0, 9, 0, 8, 4, 0}, want_dp[] = {0, 1, 0, 1, 2, 0},
                  want_lab[] = {9, 1, 8, 4, 1, -100}, want_ei[] = {5, 6, 1, 7, 1, 0, 0, 0};
    CHECK(!memcmp(ep, want_ep, sizeof ep) && !memcmp(ei, want_ei, sizeof ei) && !memcmp(es, iseg, sizeof es),
          "encoder ids/segments/positions");
    CHECK(!memcmp(di, want_di, sizeof di), "decoder inputs %d %d %d %d %d %d", di[0], di[1], di[2], di[3], di[4], di[5]);
    CHECK(!memcmp(dp, want_dp, sizeof dp) && !memcmp(ds, tseg, sizeof ds), "decoder positions/segments");
    CHECK(!memcmp(lab, want_lab, sizeof lab), "labels %d %d %d %d %d %d", lab[0], lab[1], lab[2], lab[3], lab[4], lab[5]);
    printf("expand_row: shifted decoder inputs, positions, labels: %s\n", failed ? "FAIL" : "OK");

    /* Malformed rows. */
    const int32_t gap[] = {1, 1, 1, 3, 3, 0, 0, 0}, after_pad[] = {1, 1, 1, 0, 2, 0, 0, 0};
    const int32_t one_seg[] = {1, 1, 1, 1, 1, 0};
    const uint32_t big[] = {5, 6, 1, 700, 1, 0, 0, 0};
    fv_pack_row b1 = {ids, gap, tg, tseg}, b2 = {ids, after_pad, tg, tseg}, b3 = {ids, iseg, tg, one_seg},
                b4 = {big, iseg, tg, tseg};
    CHECK(fv_pack_expand_row(&b1, 8, 6, 32, &a, NULL, "r1") != 0 && strstr(fv_last_error(), "r1"), "segment gap accepted");
    CHECK(fv_pack_expand_row(&b2, 8, 6, 32, &a, NULL, "r2") != 0, "segment after padding accepted");
    CHECK(fv_pack_expand_row(&b3, 8, 6, 32, &a, NULL, "r3") != 0, "segment count mismatch accepted");
    CHECK(fv_pack_expand_row(&b4, 8, 6, 32, &a, NULL, "r4") != 0 && strstr(fv_last_error(), "vocab"),
          "id >= vocab accepted: %s", fv_last_error());
}

static void test_truncation(void) {
    fv_packer pk;
    CHECK(fv_packer_init(&pk, 8, 4, EOS) == 0, "%s", fv_last_error());
    uint32_t in[20], tg[6] = {40, 41, 42, 43, 44, 45};
    for (int i = 0; i < 20; i++) in[i] = 100 + (uint32_t)i;
    in[19] = EOS;
    int tr = 0;
    CHECK(fv_packer_push(&pk, in, 20, tg, 6, 7, &tr) == 0 && tr == 1, "long example not flagged truncated");
    CHECK(fv_packer_flush(&pk) == 1, "flush gave no row");
    uint32_t ns;
    fv_pack_row r = fv_packer_done(&pk, &ns, NULL);
    CHECK(ns == 1 && r.enc_ids[6] == 106 && r.enc_ids[7] == EOS, "input truncation did not keep </s> (%u %u)",
          r.enc_ids[6], r.enc_ids[7]);
    CHECK(r.dec_tg[3] == 43 && r.dec_seg[3] == 1, "target without </s> keeps its first L2 tokens");
    CHECK(pk.n_truncated == 1, "truncated count %llu", (unsigned long long)pk.n_truncated);
    CHECK(fv_packer_push(&pk, in, 0, tg, 1, 0, NULL) < 0 && strstr(fv_last_error(), "empty"),
          "empty input accepted");
    fv_packer_free(&pk);
    printf("truncation: first L-1 tokens + </s>, counted: %s\n", failed ? "FAIL" : "OK");
}

static void write_bytes(const char *path, const unsigned char *d, size_t n) {
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(d, 1, n, f);
        fclose(f);
    }
}

static void test_corrupt(void) {
    char path[256], bad[256];
    tmpname(path, sizeof path, "good");
    tmpname(bad, sizeof bad, "bad");
    /* A small good file: 3 rows. */
    fv_packer pk;
    fv_pack_writer *w;
    fv_packer_init(&pk, 16, 8, EOS);
    CHECK(fv_pack_writer_open(&w, path, 16, 8, VOCAB) == 0, "%s", fv_last_error());
    uint32_t in[10] = {3, 4, 5, 6, 7, 8, 9, 10, 11, EOS}, tg[5] = {20, 21, 22, 23, EOS};
    for (int i = 0; i < 6; i++)
        if (fv_packer_push(&pk, in, 10, tg, 5, i, NULL) == 1) {
            uint32_t ns;
            fv_pack_row row = fv_packer_done(&pk, &ns, NULL);
            fv_pack_writer_row(w, &row, ns);
        }
    if (fv_packer_flush(&pk) == 1) {
        uint32_t ns;
        fv_pack_row row = fv_packer_done(&pk, &ns, NULL);
        fv_pack_writer_row(w, &row, ns);
    }
    fv_packer_free(&pk);
    CHECK(fv_pack_writer_commit(w, "{}", 0) == 0, "%s", fv_last_error());
    FILE *f = fopen(path, "rb");
    unsigned char data[4096];
    size_t n = f ? fread(data, 1, sizeof data, f) : 0;
    if (f) fclose(f);
    CHECK(n == 64 + 6 * (8 * 16 + 8 * 8) + 2, "file size %zu", n);
    fv_pack p;
    CHECK(fv_pack_open(&p, path) == 0, "%s", fv_last_error());
    if (!failed) {
        CHECK(p.n_rows == 6 && p.n_examples == 6, "rows %llu", (unsigned long long)p.n_rows);
        fv_pack_close(&p);
    }
    struct {
        const char *what;
        size_t len;
        size_t off;
        unsigned char val;
    } cases[] = {{"truncated by 10 bytes", n - 10, 0, 0},
                 {"header only half", 30, 0, 0},
                 {"bad magic", n, 0, 'X'},
                 {"bad version", n, 8, 9},
                 {"row count too large", n, 24, 7},
                 {"segment id corrupted", n, 64 + 16 * 4 + 3 * 4, 5}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        unsigned char copy[4096];
        memcpy(copy, data, n);
        if (cases[c].val) copy[cases[c].off] = cases[c].val;
        write_bytes(bad, copy, cases[c].len);
        fv_clear_error();
        int rc = fv_pack_open(&p, bad);
        if (rc == 0) { /* header fine: the row check must catch it */
            rc = fv_pack_validate(&p);
            fv_pack_close(&p);
        }
        CHECK(rc != 0 && strstr(fv_last_error(), bad) && !strchr(fv_last_error(), '\n'),
              "%s: rc %d, error '%s'", cases[c].what, rc, fv_last_error());
        printf("corrupt pack (%s): %s\n", cases[c].what, fv_last_error());
    }
    /* An aborted writer leaves nothing behind; a missing file is an error naming it. */
    char ab[256];
    tmpname(ab, sizeof ab, "aborted");
    CHECK(fv_pack_writer_open(&w, ab, 4, 4, VOCAB) == 0, "%s", fv_last_error());
    fv_pack_writer_abort(w);
    CHECK(access(ab, F_OK) != 0, "aborted writer left %s", ab);
    CHECK(fv_pack_open(&p, ab) != 0 && strstr(fv_last_error(), ab), "missing file: %s", fv_last_error());
    unlink(path);
    unlink(bad);
}

int main(void) {
    test_expand();
    test_truncation();
    test_roundtrip(64, 32, 3000, 1);
    test_roundtrip(7, 5, 1001, 2);
    test_roundtrip(1, 1, 33, 3);
    test_roundtrip(512, 128, 2000, 4);
    test_corrupt();
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
