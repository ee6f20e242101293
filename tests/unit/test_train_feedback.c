/* Training feedback (issue #17), at the library level:
 *  - the held-out loss (train/evaluator.h) equals the mean that scoring gives over the same pairs
 *    (fv_t5_score, what `flanvk score` runs: -sum logprob / sum target tokens), within 1e-5
 *    relative, though the evaluator packs several examples per row and scoring pads one per row;
 *  - two evaluations of the same weights agree bit for bit (no dropout, a fixed summation order);
 *  - the first K batches cover fewer target tokens; an eval file with ids outside the vocabulary
 *    is refused at creation;
 *  - the loss plot (train/plot.h): its size, ink in the plot area, text where the tick labels, the
 *    axis titles and the title are, for one run and for two labelled runs.
 * (End to end with the CLI, on the checkpoint of the step: tests/e2e/feedback.sh.) */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/t5.h"
#include "model/t5_score.h"
#include "support/unit.h"
#include "train/evaluator.h"
#include "train/plot.h"

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#endif
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_NO_STDIO
#include <stb/stb_image.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

#define NEX 11

static void eval_matches_score(fv_dev *d) {
    fv_t5_config cfg;
    fv_t5 *m = NULL;
    if (fv_t5_config_preset(&cfg, "tiny") || fv_t5_create(d, &cfg, &m) || fv_t5_init_weights(m, 3)) {
        CHECK(0, "tiny model: %s", fv_last_error());
        return;
    }
    /* NEX id pairs of varying lengths, </s> (1) last, written as an ids JSONL file */
    uint32_t in[NEX][12], tg[NEX][8], nin[NEX], ntg[NEX];
    char path[] = "/tmp/fv_feedback_XXXXXX.jsonl";
    int fd = mkstemps(path, 6);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    uint32_t seed = 12345;
    for (int i = 0; f && i < NEX; i++) {
        nin[i] = 3 + (uint32_t)(i * 5) % 9;
        ntg[i] = 1 + (uint32_t)(i * 3) % 7;
        fprintf(f, "{\"input_ids\": [");
        for (uint32_t t = 0; t < nin[i]; t++) {
            seed = seed * 1103515245u + 12345u;
            in[i][t] = t + 1 == nin[i] ? 1 : 2 + (seed >> 8) % 500;
            fprintf(f, "%s%u", t ? ", " : "", in[i][t]);
        }
        fprintf(f, "], \"target_ids\": [");
        for (uint32_t t = 0; t < ntg[i]; t++) {
            seed = seed * 1103515245u + 12345u;
            tg[i][t] = t + 1 == ntg[i] ? 1 : 2 + (seed >> 8) % 500;
            fprintf(f, "%s%u", t ? ", " : "", tg[i][t]);
        }
        fprintf(f, "]}\n");
    }
    if (f) fclose(f);
    fv_evaluator *e = NULL, *e1 = NULL;
    double s1 = 0, s2 = 0, s3 = 0;
    uint64_t c1 = 0, c2 = 0, c3 = 0;
    int rc = !f || fv_evaluator_create(m, path, 2, 0, NULL, &e) || fv_evaluator_run(e, &s1, &c1) ||
             fv_evaluator_run(e, &s2, &c2) || fv_evaluator_create(m, path, 2, 1, NULL, &e1) || fv_evaluator_run(e1, &s3, &c3);
    CHECK(!rc, "evaluator: %s", fv_last_error());
    const uint32_t *ip[NEX], *tp[NEX];
    double lp[NEX], lsum = 0;
    uint64_t tokens = 0;
    for (int i = 0; i < NEX; i++) ip[i] = in[i], tp[i] = tg[i], tokens += ntg[i];
    if (!rc) rc = fv_t5_score(m, ip, nin, tp, ntg, NEX, 4, lp);
    CHECK(!rc, "score: %s", fv_last_error());
    for (int i = 0; i < NEX; i++) lsum -= lp[i];
    if (!rc) {
        double ev = s1 / (double)c1, sc = lsum / (double)tokens, rel = fabs(ev - sc) / fabs(sc);
        printf("eval loss %.9f over %llu target tokens; score mean %.9f over %llu: rel err %.2e (<= 1e-5)\n", ev,
               (unsigned long long)c1, sc, (unsigned long long)tokens, rel);
        CHECK(c1 == tokens && rel <= 1e-5, "eval %.9g vs score %.9g", ev, sc);
        printf("two evaluations of the same weights: %.17g and %.17g (%s)\n", s1, s2,
               memcmp(&s1, &s2, sizeof s1) ? "differ" : "bit for bit");
        CHECK(!memcmp(&s1, &s2, sizeof s1) && c1 == c2, "evaluations differ");
        printf("--eval-batches 1: %llu of %llu target tokens\n", (unsigned long long)c3, (unsigned long long)c1);
        CHECK(c3 > 0 && c3 < c1, "first batch only: %llu tokens", (unsigned long long)c3);
    }
    fv_evaluator_free(e);
    fv_evaluator_free(e1);
    /* ids outside the vocabulary: refused at creation, naming the file */
    f = fopen(path, "w");
    if (f) {
        fprintf(f, "{\"input_ids\": [5, 1], \"target_ids\": [99999, 1]}\n");
        fclose(f);
    }
    e = NULL;
    rc = fv_evaluator_create(m, path, 2, 0, NULL, &e);
    printf("eval ids outside the vocabulary: %s\n", rc ? fv_last_error() : "accepted");
    CHECK(rc && !e && strstr(fv_last_error(), "vocabulary"), "out-of-vocabulary eval file accepted");
    fv_evaluator_free(e);
    unlink(path);
    fv_t5_free(m);
}

/* Pixels darker than the grid in [x0, x1) x [y0, y1). */
static long ink(const unsigned char *px, int w, int x0, int y0, int x1, int y1) {
    long n = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            const unsigned char *p = px + 3 * ((size_t)y * w + x);
            n += p[0] + p[1] + p[2] < 3 * 200;
        }
    return n;
}

/* Distinct runs of rows holding ink in a column strip (gaps under 6 rows, inside a glyph of the
 * 2x font, do not split one): one per tick label. */
static int bands(const unsigned char *px, int w, int x0, int x1, int y0, int y1) {
    int n = 0, gap = 1000;
    for (int y = y0; y < y1; y++) {
        if (ink(px, w, x0, y, x1, y + 1) > 0) {
            if (gap >= 6) n++;
            gap = 0;
        } else {
            gap++;
        }
    }
    return n;
}

static void png_checks(const char *what, const fv_plot_run *runs, uint32_t nruns) {
    void *png = NULL;
    size_t size = 0;
    int rc = fv_plot_png("tiny  adamw lr 0.001 cosine  batch 8 x 64+16 tokens", runs, nruns, &png, &size);
    CHECK(!rc, "%s: %s", what, fv_last_error());
    int w = 0, h = 0, ch = 0;
    unsigned char *px = rc ? NULL : stbi_load_from_memory(png, (int)size, &w, &h, &ch, 3);
    free(png);
    CHECK(px && w == FV_PLOT_W && h == FV_PLOT_H, "%s: decoded %dx%d", what, w, h);
    if (!px || w != FV_PLOT_W || h != FV_PLOT_H) {
        stbi_image_free(px);
        return;
    }
    int L = FV_PLOT_LEFT, R = FV_PLOT_W - FV_PLOT_RIGHT, T = FV_PLOT_TOP, B = FV_PLOT_H - FV_PLOT_BOTTOM;
    long area = ink(px, w, L + 3, T, R - 1, B - 2);
    int yticks = bands(px, w, 4, L - 6, T - 8, B + 8), lrticks = bands(px, w, R + 6, R + 50, T - 8, B + 8);
    long xlabels = ink(px, w, L - 10, B + 6, R + 10, B + 26), title = ink(px, w, 0, 0, w, T - 12);
    long xtitle = ink(px, w, L, h - 26, R, h), ytitle = ink(px, w, 0, T, 28, B);
    printf("%s: %dx%d PNG of %zu bytes; plot area %ld ink pixels; %d loss tick labels, %d learning-rate tick labels; "
           "%ld ink pixels in the step labels, %ld in the title, %ld / %ld in the axis titles\n",
           what, w, h, size, area, yticks, lrticks, xlabels, title, xtitle, ytitle);
    CHECK(area > 2000, "%s: plot area nearly empty", what);
    CHECK(yticks >= 3 && lrticks >= 3, "%s: tick labels %d / %d", what, yticks, lrticks);
    CHECK(xlabels > 100 && title > 300 && xtitle > 20 && ytitle > 20, "%s: text missing", what);
    stbi_image_free(px);
}

static void plot_checks(void) {
    enum { N = 200 };
    float loss[N], loss2[N], lr[N], ev[2 * 10];
    for (int i = 0; i < N; i++) {
        loss[i] = 2.0f + 8.0f * expf(-i / 30.0f) + 0.3f * sinf(i * 1.7f);
        loss2[i] = 1.5f + 9.0f * expf(-i / 50.0f) + 0.3f * cosf(i * 1.3f);
        lr[i] = 1e-3f * (i < 20 ? (i + 1) / 20.0f : 0.5f * (1 + cosf(3.14159f * (i - 20) / (N - 20))));
    }
    loss[17] = NAN; /* a skipped step */
    for (int k = 0; k < 10; k++) ev[2 * k] = 20.0f * (k + 1), ev[2 * k + 1] = 2.5f + 6.0f * expf(-k / 2.0f);
    fv_plot_run one = {NULL, NULL, loss, lr, N, ev, 10};
    png_checks("one run", &one, 1);
    fv_plot_run two[2] = {{"a.csv", NULL, loss, lr, N, ev, 10}, {"b.csv", NULL, loss2, lr, N, NULL, 0}};
    png_checks("two runs", two, 2);
}

int main(void) {
    plot_checks();
    fv_dev *d;
    if (fv_dev_open(-1, &d)) {
        printf("cannot open a device: %s\n", fv_last_error());
        return 1;
    }
    eval_matches_score(d);
    CHECK(!d->validation_messages, "validation layer messages: %d", d->validation_messages);
    fv_dev_close(d);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
