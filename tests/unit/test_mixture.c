/* Mixtures: rates within statistical tolerance over many draws (examples-proportional with cap, and
 * explicit weights), determinism for a seed, format shares, few-shot exemplars never the example
 * itself, clear errors for bad mixture files, and flanvk_mix end to end (the packed file unpacks to
 * exactly the stream the sampler renders, in order; truncations counted). Mixture files are written
 * to /tmp and point at tests/fixtures/data (absolute paths). */
#include "base/error.h"
#include "data/mixture.h"
#include "data/pack.h"
#include "flanvk/data.h"
#include "io/tokenizer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/unit.h"

static char root[512];

/* Write a mixture file; "@" in text is replaced by the repository root. */
static void write_mix(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) return;
    for (const char *p = text; *p; p++) {
        if (*p == '@') fputs(root, f);
        else fputc(*p, f);
    }
    fclose(f);
}

static char mixpath[256];

static fv_mixture *load(const char *text, int has_seed, uint64_t seed) {
    write_mix(mixpath, text);
    fv_mixture_opts o = {0, has_seed, seed, NULL};
    fv_mixture *m = NULL;
    if (fv_mixture_load(&m, mixpath, &o)) {
        printf("load failed: %s\n", fv_last_error());
        return NULL;
    }
    return m;
}

#define SRC(name) "{\"path\": \"@/tests/fixtures/data/flan_cot/" name "_train.tsv\""
#define COPA "{\"path\": \"@/tests/fixtures/data/niv2/task1393_superglue_copa_text_completion.json\""

/* |count - N p| <= 5 sigma for each task. */
static void check_rates(fv_mixture *m, const double *want, size_t n_tasks, int N, const char *what) {
    uint64_t *cnt = calloc(n_tasks, sizeof *cnt);
    fv_mix_sample s;
    for (int i = 0; i < N; i++) {
        if (fv_mixture_next(m, &s)) {
            CHECK(0, "draw %d: %s", i, fv_last_error());
            break;
        }
        cnt[s.task]++;
    }
    double worst = 0;
    for (size_t t = 0; t < n_tasks; t++) {
        double r = fv_mixture_task(m, t)->rate;
        CHECK(fabs(r - want[t]) < 1e-12, "%s: task %zu rate %.6f want %.6f", what, t, r, want[t]);
        double sd = sqrt(N * want[t] * (1 - want[t]));
        double z = fabs((double)cnt[t] - N * want[t]) / sd;
        if (z > worst) worst = z;
        CHECK(z <= 5, "%s: task %s drawn %llu times of %d, expected %.1f (%.1f sigma)", what, fv_mixture_task(m, t)->name,
              (unsigned long long)cnt[t], N, N * want[t], z);
    }
    printf("rates %s: %d draws over %zu tasks, worst deviation %.2f sigma\n", what, N, n_tasks, worst);
    free(cnt);
}

static void test_rates(void) {
    /* Fixture sizes: 24 rows per CoT file, 20 COPA instances. cap 22 -> min(n, 22) = 22, 22, 22, 20;
     * weights 1, 2, 1, 1 -> 22 : 44 : 22 : 20. */
    fv_mixture *m = load("{\"name\": \"t\", \"seed\": 7, \"templates\": \"@/assets/templates\", \"cap\": 22,"
                         " \"sources\": [" SRC("gsm8k") "}, " SRC("creak") ", \"weight\": 2}, " SRC("qasc") "}, " COPA
                         "}]}",
                         0, 0);
    CHECK(m != NULL, "load");
    if (!m) return;
    CHECK(fv_mixture_n_tasks(m) == 4 && fv_mixture_task(m, 0)->n_examples == 24 && fv_mixture_task(m, 3)->n_examples == 20,
          "sizes");
    CHECK(fv_mixture_epoch(m) == 86, "epoch %llu", (unsigned long long)fv_mixture_epoch(m));
    double want[4] = {22 / 108.0, 44 / 108.0, 22 / 108.0, 20 / 108.0};
    check_rates(m, want, 4, 20000, "examples_proportional cap 22");
    fv_mixture_free(m);

    m = load("{\"name\": \"t\", \"seed\": 9, \"templates\": \"@/assets/templates\", \"rate\": \"weights\","
             " \"sources\": [" SRC("gsm8k") ", \"weight\": 3}, " COPA ", \"weight\": 1}, " SRC("ecqa") ", \"weight\": 0.5}]}",
             0, 0);
    CHECK(m != NULL, "load");
    if (!m) return;
    double w2[3] = {3 / 4.5, 1 / 4.5, 0.5 / 4.5};
    check_rates(m, w2, 3, 20000, "weights 3:1:0.5");
    fv_mixture_free(m);
}

static const char *FMT_MIX =
    "{\"name\": \"f\", \"seed\": %d, \"templates\": \"@/assets/templates\","
    " \"formats\": {\"zero_shot\": 0.5, \"few_shot\": 0.3, \"cot\": 0.2, \"cot_few_shot\": 0.1, \"few_shot_k\": [1, 3]},"
    " \"sources\": [" COPA "}, " SRC("strategyqa") "}]}";

static void test_formats_and_shots(void) {
    char text[1024];
    snprintf(text, sizeof text, FMT_MIX, 5);
    fv_mixture *m = load(text, 0, 0);
    CHECK(m != NULL, "load");
    if (!m) return;
    int N = 6000;
    uint64_t by[2][4] = {{0}};
    size_t self = 0, dup = 0, kbad = 0, shots = 0;
    fv_mix_sample s;
    for (int i = 0; i < N; i++) {
        if (fv_mixture_next(m, &s)) {
            CHECK(0, "%s", fv_last_error());
            break;
        }
        by[s.task][s.format]++;
        int few = s.format == FV_FEW_SHOT || s.format == FV_COT_FEW_SHOT;
        kbad += few ? (s.n_shots < 1 || s.n_shots > 3) : s.n_shots != 0;
        for (size_t j = 0; j < s.n_shots; j++) {
            shots++;
            self += s.shot_index[j] == s.ex_index;
            for (size_t k = 0; k < j; k++) dup += s.shot_index[k] == s.shot_index[j];
        }
    }
    CHECK(self == 0 && dup == 0 && kbad == 0, "%zu exemplars: %zu were the example itself, %zu repeats, %zu bad k",
          shots, self, dup, kbad);
    printf("few-shot: %zu exemplars drawn, %zu the example itself, %zu repeated\n", shots, self, dup);
    /* COPA (NIv2 templates: zero_shot and few_shot only) -> 0.5 : 0.3; StrategyQA (CoT only) -> 0.2 : 0.1. */
    struct {
        int task, fmt;
        double p;
    } want[] = {{0, 0, 0.5 / 0.8}, {0, 1, 0.3 / 0.8}, {1, 2, 0.2 / 0.3}, {1, 3, 0.1 / 0.3}};
    for (size_t i = 0; i < 4; i++) {
        uint64_t n = by[want[i].task][0] + by[want[i].task][1] + by[want[i].task][2] + by[want[i].task][3];
        double p = want[i].p, sd = sqrt((double)n * p * (1 - p));
        double z = fabs((double)by[want[i].task][want[i].fmt] - (double)n * p) / sd;
        CHECK(z <= 5, "task %d format %d: %llu of %llu, expected share %.3f (%.1f sigma)", want[i].task, want[i].fmt,
              (unsigned long long)by[want[i].task][want[i].fmt], (unsigned long long)n, p, z);
        printf("format share task %d %s: %.3f (want %.3f, %.2f sigma)\n", want[i].task,
               fv_format_name((fv_format)want[i].fmt), (double)by[want[i].task][want[i].fmt] / (double)n, p, z);
    }
    CHECK(by[0][2] + by[0][3] + by[1][0] + by[1][1] == 0, "a task rendered in a form its templates lack");
    fv_mixture_free(m);
}

static void test_determinism(void) {
    char text[1024];
    snprintf(text, sizeof text, FMT_MIX, 11);
    fv_mixture *a = load(text, 0, 0), *b = load(text, 0, 0), *c = load(text, 1, 12);
    CHECK(a && b && c, "load");
    if (!a || !b || !c) goto out;
    size_t diff_same = 0, diff_other = 0;
    for (int i = 0; i < 800; i++) {
        fv_mix_sample x, y, z;
        if (fv_mixture_next(a, &x) || fv_mixture_next(b, &y) || fv_mixture_next(c, &z)) {
            CHECK(0, "%s", fv_last_error());
            break;
        }
        diff_same += strcmp(x.inputs, y.inputs) != 0 || strcmp(x.targets, y.targets) != 0 || x.task != y.task;
        diff_other += strcmp(x.inputs, z.inputs) != 0;
    }
    CHECK(diff_same == 0, "same seed: %zu of 800 samples differ", diff_same);
    CHECK(diff_other > 100, "seed override: only %zu of 800 samples differ", diff_other);
    printf("determinism: same seed 0/800 differ, other seed %zu/800 differ\n", diff_other);
out:
    fv_mixture_free(a);
    fv_mixture_free(b);
    fv_mixture_free(c);
}

static void expect_error(const char *text, const char *what, const char *needle1, const char *needle2) {
    write_mix(mixpath, text);
    fv_mixture *m = NULL;
    fv_clear_error();
    int rc = fv_mixture_load(&m, mixpath, NULL);
    const char *e = fv_last_error();
    CHECK(rc != 0 && m == NULL && strstr(e, needle1) && (!needle2 || strstr(e, needle2)), "%s: rc %d, error '%s'",
          what, rc, e);
    printf("bad mixture (%s): %s\n", what, e);
    fv_mixture_free(m);
}

static void test_errors(void) {
    expect_error("{\"name\": \"x\",\n \"seed\": 1,\n \"sources\": [\n  {\"path\": \"a.tsv\",}\n]}", "bad JSON", mixpath,
                 ":4:");
    expect_error("{\"name\": \"x\", \"templates\": \"@/assets/templates\", \"sources\": [{\"path\": "
                 "\"@/tests/fixtures/data/flan_cot/nope_train.tsv\"}]}",
                 "missing source", mixpath, "nope_train.tsv");
    expect_error("{\"name\": \"x\", \"sourcez\": []}", "unknown key", mixpath, "sourcez");
    expect_error("{\"name\": \"x\", \"templates\": \"@/assets/templates\", \"sources\": []}", "no sources", mixpath,
                 "sources");
    expect_error("{\"name\": \"x\", \"templates\": \"@/assets/templates\", \"formats\": {\"few_shot_k\": [3, 1]},"
                 " \"sources\": [" SRC("gsm8k") "}]}",
                 "bad few_shot_k", mixpath, "few_shot_k");
    expect_error("{\"name\": \"x\", \"templates\": \"@/assets/templates\", \"sources\": [" SRC("gsm8k") ", \"task\": "
                 "\"no_such_family\"}]}",
                 "no template set", mixpath, "no_such_family");
    expect_error("{\"name\": \"x\", \"templates\": \"@/assets/templates\", \"sources\": [{\"path\": "
                 "\"@/tests/fixtures/data/bad/missing_col_train.tsv\", \"task\": \"cot_gsm8k\"}]}",
                 "bad row in a source", "missing_col_train.tsv", ":");
}

/* flanvk_mix end to end: the file holds exactly the sampler's stream, tokenized, in order. */
static void test_mix_end_to_end(void) {
    char out[256];
    snprintf(out, sizeof out, "/tmp/flanvk_test_mix_%ld.pack", (long)getpid());
    char text[1024];
    snprintf(text, sizeof text, FMT_MIX, 3);
    write_mix(mixpath, text);
    flanvk_mix_params p = {0};
    p.mixture = mixpath;
    p.model = "assets/tokenizer";
    p.out = out;
    p.seq_len_in = 256;
    p.seq_len_out = 128;
    p.examples = 300;
    flanvk_mix_report r;
    int rc = flanvk_mix(&p, &r);
    CHECK(rc == 0, "%s", flanvk_last_error());
    if (rc) return;
    CHECK(r.examples == 300 && r.n_tasks == 2 && r.tasks[0].examples + r.tasks[1].examples == 300, "report counts");
    /* Replay the sampler with the same seed and compare every segment. */
    fv_mixture *m = load(text, 0, 0);
    fv_tokenizer *tok = NULL;
    fv_pack pk;
    CHECK(m && fv_tokenizer_load("assets/tokenizer", &tok) == 0, "%s", fv_last_error());
    rc = fv_pack_open(&pk, out);
    CHECK(rc == 0, "%s", fv_last_error());
    if (rc || !m || !tok) goto out;
    CHECK(fv_pack_validate(&pk) == 0, "%s", fv_last_error());
    CHECK(pk.n_examples == 300 && pk.n_rows == r.rows && pk.n_truncated == r.truncated && strstr(pk.meta, "\"tasks\""),
          "header vs report");
    size_t mism = 0, ntr = 0, seen = 0;
    for (uint64_t row = 0; row < pk.n_rows; row++) {
        fv_pack_row pr = fv_pack_get_row(&pk, row);
        for (int32_t seg = 1;; seg++, seen++) {
            const uint32_t *a, *b;
            size_t na, nb;
            if (fv_pack_row_segment(&pr, pk.L, pk.L2, seg, &a, &na, &b, &nb)) break;
            fv_mix_sample s;
            uint32_t *ii = NULL, *tt = NULL;
            size_t ni = 0, nt = 0;
            if (fv_mixture_next(m, &s) || fv_tokenizer_encode(tok, s.inputs, strlen(s.inputs), 1, &ii, &ni) ||
                fv_tokenizer_encode(tok, s.targets, strlen(s.targets), 1, &tt, &nt)) {
                mism++;
                continue;
            }
            int tr = ni > pk.L || nt > pk.L2;
            ntr += (size_t)tr;
            size_t ki = ni > pk.L ? pk.L : ni, kt = nt > pk.L2 ? pk.L2 : nt;
            mism += na != ki || nb != kt || memcmp(a, ii, (ki - (ni > ki)) * 4) || memcmp(b, tt, (kt - (nt > kt)) * 4) ||
                    a[na - 1] != 1 || b[nb - 1] != 1;
            free(ii);
            free(tt);
        }
    }
    CHECK(seen == 300 && mism == 0 && ntr == r.truncated, "%zu examples unpacked, %zu mismatches, %zu truncated vs %llu",
          seen, mism, ntr, (unsigned long long)r.truncated);
    printf("flanvk_mix: %llu examples in %llu rows (L 256 / 128), efficiency %.1f%%, %llu truncated; unpacked stream "
           "matches the sampler: %s\n",
           (unsigned long long)r.examples, (unsigned long long)r.rows, 100 * r.efficiency,
           (unsigned long long)r.truncated, mism ? "FAIL" : "OK");
    fv_pack_close(&pk);
    /* A failing run leaves no file: a mixture with a missing source. */
    unlink(out);
    write_mix(mixpath, "{\"name\": \"x\", \"templates\": \"@/assets/templates\", \"sources\": [{\"path\": \"nope.tsv\"}]}");
    flanvk_mix_report r2;
    CHECK(flanvk_mix(&p, &r2) != 0 && access(out, F_OK) != 0, "failed mix left %s", out);
out:
    unlink(out);
    flanvk_mix_report_free(&r);
    fv_tokenizer_free(tok);
    fv_mixture_free(m);
}

int main(void) {
    if (!getcwd(root, sizeof root)) return 1;
    snprintf(mixpath, sizeof mixpath, "/tmp/flanvk_test_mixture_%ld.json", (long)getpid());
    test_rates();
    test_formats_and_shots();
    test_determinism();
    test_errors();
    test_mix_end_to_end();
    unlink(mixpath);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
