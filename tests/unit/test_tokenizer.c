/* Tokenizer test: ids and decoded text against SentencePiece's reference output
 * (tests/fixtures/tokenizer/spm_ids.jsonl, made by tools/make_tokenizer_fixture.py) and against
 * Hugging Face's T5 tokenizer on texts holding special tokens (hf_special_ids.jsonl, made by
 * tools/make_tokenizer_special_fixture.py) for the spiece.model loader and, when the Hugging Face
 * files are present, both tokenizer.json variants; Hugging Face's documented T5 sentinel examples;
 * invalid UTF-8; bad model files. */
#define _POSIX_C_SOURCE 200809L
#include "base/error.h"
#include "base/file.h"
#include "io/tokenizer.h"
#include "support/unit.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct {
    char *text;
    size_t len;
    uint32_t *ids;
    size_t n;
    char *decoded;
} fixture;

/* s with SentencePiece's unknown surface " \u2047 " written as Hugging Face's "<unk>" (malloc'd). */
static char *unk_as_hf(const char *s) {
    static const char surf[] = " \xE2\x81\x87 ";
    char *o = malloc(strlen(s) * 2 + 1), *w = o;
    while (*s) {
        if (!strncmp(s, surf, sizeof surf - 1)) w += sprintf(w, "<unk>"), s += sizeof surf - 1;
        else *w++ = *s++;
    }
    *w = 0;
    return o;
}

/* Text that holds a special token: SentencePiece (spm_ids.jsonl) reads it as plain text, Hugging
 * Face (and flanvk) as the token's id; such lines are checked by hf_special_ids.jsonl instead. */
static int has_special(const char *s) {
    static const char *const tokens[] = {"</s>", "<pad>", "<unk>"};
    for (size_t i = 0; i < sizeof tokens / sizeof *tokens; i++)
        if (strstr(s, tokens[i])) return 1;
    for (const char *p = strstr(s, "<extra_id_"); p; p = strstr(p + 1, "<extra_id_")) {
        const char *d = p + 10, *e = d;
        while (*e >= '0' && *e <= '9') e++;
        if (e > d && *e == '>' && (e - d == 1 || *d != '0') && atoi(d) < 100) return 1;
    }
    return 0;
}

/* hf_spm_diff.jsonl: texts of the SentencePiece fixture on which Hugging Face gives other ids, and
 * which of the two flanvk gives (see tools/make_tokenizer_special_fixture.py). */
static cJSON *hf_spm_diff;

/* The ids flanvk must give for text if hf_spm_diff says they are Hugging Face's, else NULL. */
static const cJSON *hf_override(const char *text) {
    const cJSON *it;
    cJSON_ArrayForEach(it, hf_spm_diff) {
        const cJSON *t = cJSON_GetObjectItem(it, "text"), *who = cJSON_GetObjectItem(it, "flanvk");
        if (!cJSON_IsString(t) || strcmp(t->valuestring, text)) continue;
        int hf = cJSON_IsString(who) && !strcmp(who->valuestring, "hf");
        printf("  \"%.60s\": %s (%s)\n", text, hf ? "Hugging Face's ids expected, not SentencePiece's" : "SentencePiece's ids expected; Hugging Face differs",
               cJSON_GetStringValue(cJSON_GetObjectItem(it, "why")));
        return hf ? cJSON_GetObjectItem(it, "hf_ids") : NULL;
    }
    return NULL;
}

static int load_hf_spm_diff(const char *path) {
    char *buf;
    size_t size;
    FV_TRY(fv_read_file(path, &buf, &size));
    hf_spm_diff = cJSON_CreateArray();
    for (char *line = buf, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        cJSON *o = cJSON_Parse(line);
        if (!o) {
            free(buf);
            return fv_err("%s: bad line", path);
        }
        cJSON_AddItemToArray(hf_spm_diff, o);
    }
    free(buf);
    return 0;
}

/* spm: a SentencePiece fixture (ids without </s>, decoded as spm_decode writes it, <unk> as
 * " \u2047 " where Hugging Face and flanvk write "<unk>"); else a Hugging Face one (ids with </s>,
 * decoded as flanvk promises). */
static int load_fixture(const char *path, int spm, fixture **out, size_t *count) {
    char *buf;
    size_t size;
    FV_TRY(fv_read_file(path, &buf, &size));
    size_t cap = 1024, n = 0;
    fixture *fx = malloc(cap * sizeof *fx);
    for (char *line = buf, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        cJSON *o = cJSON_Parse(line);
        const cJSON *t = cJSON_GetObjectItem(o, "text"), *ids = cJSON_GetObjectItem(o, "ids"), *d = cJSON_GetObjectItem(o, "decoded");
        if (!cJSON_IsString(t) || !cJSON_IsArray(ids) || !cJSON_IsString(d)) {
            cJSON_Delete(o);
            free(buf);
            return fv_err("%s: bad line %zu", path, n + 1);
        }
        if (spm && has_special(t->valuestring)) {
            printf("%s: line \"%s\" holds a special token; left to the Hugging Face fixture\n", path, t->valuestring);
            cJSON_Delete(o);
            continue;
        }
        const cJSON *hf = spm ? hf_override(t->valuestring) : NULL;
        if (hf) ids = hf;
        if (n == cap) fx = realloc(fx, (cap *= 2) * sizeof *fx);
        fixture *f = &fx[n++];
        f->text = strdup(t->valuestring);
        f->len = strlen(f->text);
        f->decoded = spm ? unk_as_hf(d->valuestring) : strdup(d->valuestring);
        f->n = (size_t)cJSON_GetArraySize(ids) - (spm ? 0 : 1); /* f->n: ids before </s> */
        f->ids = malloc((f->n + 1) * sizeof *f->ids);
        size_t k = 0;
        const cJSON *it;
        cJSON_ArrayForEach(it, ids) f->ids[k++] = (uint32_t)it->valueint;
        if (spm) f->ids[f->n] = 1; /* </s> */
        cJSON_Delete(o);
    }
    free(buf);
    *out = fx;
    *count = n;
    return 0;
}

static void print_ids(const char *what, const uint32_t *ids, size_t n) {
    printf("  %s:", what);
    for (size_t i = 0; i < n && i < 60; i++) printf(" %u", ids[i]);
    printf("%s\n", n > 60 ? " ..." : "");
}

/* Encode + decode every fixture string; returns the number of mismatches. */
static int run_fixture(const fv_tokenizer *tok, const char *label, const fixture *fx, size_t count) {
    int bad_ids = 0, bad_dec = 0;
    size_t total = 0;
    double t0 = now();
    for (size_t i = 0; i < count; i++) {
        const fixture *f = &fx[i];
        uint32_t *ids = NULL;
        size_t n = 0;
        if (fv_tokenizer_encode(tok, f->text, f->len, 1, &ids, &n)) {
            printf("FAIL %s: encode error on line %zu: %s\n", label, i + 1, fv_last_error());
            bad_ids++;
            continue;
        }
        total += n;
        if (n != f->n + 1 || memcmp(ids, f->ids, n * sizeof *ids)) {
            if (bad_ids < 5) {
                printf("FAIL %s: ids differ on line %zu: \"%.200s\"\n", label, i + 1, f->text);
                print_ids("want", f->ids, f->n + 1);
                print_ids("got ", ids, n);
            }
            bad_ids++;
        }
        char *text = NULL;
        if (fv_tokenizer_decode(tok, f->ids, f->n + 1, &text) || strcmp(text, f->decoded)) {
            if (bad_dec < 5) printf("FAIL %s: decode differs on line %zu:\n  want \"%.200s\"\n  got  \"%.200s\"\n", label, i + 1, f->decoded, text ? text : fv_last_error());
            bad_dec++;
        }
        free(text);
        free(ids);
    }
    double dt = now() - t0;
    printf("%s: %zu strings, %zu ids, encode+decode %.3f s; id mismatches %d, decode mismatches %d\n", label, count, total, dt, bad_ids, bad_dec);
    CHECK(bad_ids == 0, "%s: %d strings with wrong ids", label, bad_ids);
    CHECK(bad_dec == 0, "%s: %d strings decoded differently", label, bad_dec);
    return bad_ids + bad_dec;
}

static void expect_ids(const fv_tokenizer *tok, const char *text, const uint32_t *want, size_t nwant) {
    uint32_t *ids = NULL;
    size_t n = 0;
    int rc = fv_tokenizer_encode(tok, text, strlen(text), 1, &ids, &n);
    int ok = !rc && n == nwant && !memcmp(ids, want, n * sizeof *ids);
    CHECK(ok, "encode \"%s\" %s", text, rc ? fv_last_error() : "gave other ids");
    if (!ok && !rc) {
        print_ids("want", want, nwant);
        print_ids("got ", ids, n);
    }
    free(ids);
}

static void expect_decode(const fv_tokenizer *tok, const uint32_t *ids, size_t n, const char *want) {
    char *text = NULL;
    int rc = fv_tokenizer_decode(tok, ids, n, &text);
    CHECK(!rc && !strcmp(text, want), "decode: want \"%s\", got \"%s\"", want, rc ? fv_last_error() : text);
    free(text);
}

static void expect_encode_error(const fv_tokenizer *tok, const char *text, size_t len, const char *needle) {
    uint32_t *ids = NULL;
    size_t n = 0;
    int rc = fv_tokenizer_encode(tok, text, len, 1, &ids, &n);
    CHECK(rc && strstr(fv_last_error(), needle), "encode of bad input: want an error with \"%s\", got rc=%d \"%s\"", needle, rc, fv_last_error());
    free(ids);
}

static void test_sentinels_and_api(const fv_tokenizer *tok) {
    CHECK(fv_tokenizer_vocab_size(tok) == 32100, "vocab size %u", fv_tokenizer_vocab_size(tok));
    CHECK(fv_tokenizer_eos_id(tok) == 1 && fv_tokenizer_pad_id(tok) == 0 && fv_tokenizer_unk_id(tok) == 2, "special ids");
    CHECK(!strcmp(fv_tokenizer_id_to_piece(tok, 32099), "<extra_id_0>"), "id 32099 is %s", fv_tokenizer_id_to_piece(tok, 32099));
    CHECK(!strcmp(fv_tokenizer_id_to_piece(tok, 32000), "<extra_id_99>"), "id 32000");
    CHECK(!strcmp(fv_tokenizer_id_to_piece(tok, 1), "</s>"), "id 1");
    CHECK(fv_tokenizer_id_to_piece(tok, 32100) == NULL, "id 32100 should be out of range");
    CHECK(fv_tokenizer_piece_to_id(tok, "\xE2\x96\x81" "A") == 71, "piece ▁A");
    CHECK(fv_tokenizer_sentinel_id(tok, 0) == 32099 && fv_tokenizer_sentinel_id(tok, 99) == 32000 && fv_tokenizer_sentinel_id(tok, 100) == -1, "sentinel ids");
    /* Hugging Face T5 documentation (span corruption example). */
    static const uint32_t in[] = {37, 32099, 10681, 16, 32098, 2447, 1};
    static const uint32_t lab[] = {32099, 5295, 1782, 32098, 8, 32097, 1};
    expect_ids(tok, "The <extra_id_0> walks in <extra_id_1> park", in, 7);
    expect_ids(tok, "<extra_id_0> cute dog <extra_id_1> the <extra_id_2>", lab, 7);
    expect_ids(tok, "The<extra_id_0>walks in<extra_id_1>park", in, 7);
    static const uint32_t two[] = {32099, 32000, 1};
    expect_ids(tok, "<extra_id_0><extra_id_99>", two, 3);
    static const uint32_t tg[] = {13959, 1566, 12, 2968, 10, 466, 19, 207, 5, 1};
    expect_ids(tok, "translate English to German: That is good.", tg, 10);
    /* Issue #15: "</s>" in a prompt is the token, not five pieces of text (HF: 1499 258 1, then the
     * appended </s>); the other special tokens and their round trip through decode. */
    static const uint32_t then_eos[] = {1499, 258, 1, 1};
    expect_ids(tok, "text then </s>", then_eos, 4);
    static const uint32_t specials[] = {1, 0, 2, 32093, 1};
    expect_ids(tok, "</s><pad><unk><extra_id_6>", specials, 5);
    static const uint32_t unk_text[] = {3, 226, 2, 3, 63};
    expect_decode(tok, unk_text, 5, "x<unk> y");
    static const uint32_t eos[] = {1};
    expect_ids(tok, "", eos, 1);
    expect_ids(tok, "  \t\n ", eos, 1);
    expect_decode(tok, lab, 7, "<extra_id_0> cute dog<extra_id_1> the<extra_id_2>");
    expect_decode(tok, in, 7, "The<extra_id_0> walks in<extra_id_1> park");
    static const uint32_t padded[] = {0, 37, 1, 0, 0};
    expect_decode(tok, padded, 5, "The");
    expect_decode(tok, NULL, 0, "");
    uint32_t *ids = NULL;
    size_t n = 0;
    CHECK(!fv_tokenizer_encode(tok, "a\0b", 3, 0, &ids, &n) && n >= 2, "text with a NUL byte: %s", fv_last_error());
    free(ids);
    CHECK(!fv_tokenizer_encode(tok, "x", 1, 0, &ids, &n) && n >= 1 && ids[n - 1] != 1, "no eos when add_eos=0");
    free(ids);
    static const uint32_t oob[] = {37, 32100};
    char *text = NULL;
    CHECK(fv_tokenizer_decode(tok, oob, 2, &text) && strstr(fv_last_error(), "32100"), "decode of id 32100 must fail: %s", fv_last_error());
    free(text);
    expect_encode_error(tok, "abc\xff", 4, "invalid UTF-8 at byte offset 3");
    expect_encode_error(tok, "\xc0\xaf overlong", 10, "invalid UTF-8 at byte offset 0");
    expect_encode_error(tok, "x\xed\xa0\x80 surrogate", 14, "invalid UTF-8 at byte offset 1");
    expect_encode_error(tok, "cut \xe2\x96", 6, "invalid UTF-8 at byte offset 4");
    expect_encode_error(tok, "\xf4\x90\x80\x80", 4, "invalid UTF-8");
}

static int write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    fwrite(data, 1, n, f);
    return fclose(f);
}

static void expect_load_error(const char *path, const char *needle) {
    fv_tokenizer *t = NULL;
    int rc = fv_tokenizer_load(path, &t);
    const char *e = fv_last_error();
    CHECK(rc && !t && strstr(e, path) && strstr(e, needle) && !strchr(e, '\n'), "loading %s: want an error naming it with \"%s\", got \"%s\"", path, needle, rc ? e : "success");
    fv_tokenizer_free(t);
}

static void test_bad_files(const char *model_path) {
    char dir[] = "/tmp/flanvk_tok_XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp");
        return;
    }
    char p[256], *model;
    size_t size;
    if (fv_read_file(model_path, &model, &size)) {
        CHECK(0, "%s", fv_last_error());
        return;
    }
    snprintf(p, sizeof p, "%s/truncated.model", dir);
    write_file(p, model, 100000);
    expect_load_error(p, "truncated");
    snprintf(p, sizeof p, "%s/short.model", dir);
    write_file(p, model, 5);
    expect_load_error(p, "truncated");
    static const unsigned char wrong_type[] = {0x08, 0x01, 0x1a, 0x00}; /* pieces as a varint */
    snprintf(p, sizeof p, "%s/wrong_type.model", dir);
    write_file(p, wrong_type, sizeof wrong_type);
    expect_load_error(p, "wire type");
    static const unsigned char score_type[] = {0x0a, 0x05, 0x0a, 0x01, 'a', 0x10, 0x01}; /* score as a varint */
    snprintf(p, sizeof p, "%s/score_type.model", dir);
    write_file(p, score_type, sizeof score_type);
    expect_load_error(p, "score");
    snprintf(p, sizeof p, "%s/empty.model", dir);
    write_file(p, "", 0);
    expect_load_error(p, "empty");
    snprintf(p, sizeof p, "%s/garbage.model", dir);
    write_file(p, "hello world, not a protobuf", 27);
    expect_load_error(p, "protobuf");
    static const char bpe[] = "{\"model\":{\"type\":\"BPE\",\"vocab\":{},\"merges\":[]}}";
    snprintf(p, sizeof p, "%s/bpe.json", dir);
    write_file(p, bpe, strlen(bpe));
    expect_load_error(p, "Unigram");
    snprintf(p, sizeof p, "%s/broken.json", dir);
    write_file(p, "{\"model\": [", 11);
    expect_load_error(p, "JSON");
    static const char bad_vocab[] = "{\"model\":{\"type\":\"Unigram\",\"unk_id\":0,\"vocab\":[[\"<unk>\",0],[\"a\"]]}}";
    snprintf(p, sizeof p, "%s/bad_vocab.json", dir);
    write_file(p, bad_vocab, strlen(bad_vocab));
    expect_load_error(p, "vocab[1]");
    expect_load_error(dir, "no spiece.model or tokenizer.json");
    snprintf(p, sizeof p, "%s/missing.model", dir);
    expect_load_error(p, "no such file");
    const char *names[] = {"truncated.model", "short.model", "wrong_type.model", "score_type.model", "empty.model", "garbage.model", "bpe.json", "broken.json", "bad_vocab.json"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
    free(model);
}

int main(void) {
    const char *fixture_path = getenv("FLANVK_TOKENIZER_FIXTURE"); /* another file made the same way */
    if (!fixture_path) fixture_path = "tests/fixtures/tokenizer/spm_ids.jsonl";
    const char *hf_path = "tests/fixtures/tokenizer/hf_special_ids.jsonl";
    fixture *fx = NULL, *hx = NULL;
    size_t count = 0, hcount = 0;
    if (load_hf_spm_diff("tests/fixtures/tokenizer/hf_spm_diff.jsonl") || load_fixture(fixture_path, 1, &fx, &count) ||
        load_fixture(hf_path, 0, &hx, &hcount)) {
        printf("cannot load fixture: %s\n0 passed, 1 failed\n", fv_last_error());
        return 1;
    }
    fv_tokenizer *tok = NULL;
    double t0 = now();
    if (fv_tokenizer_load("assets/tokenizer", &tok)) {
        printf("cannot load assets/tokenizer: %s\n0 passed, 1 failed\n", fv_last_error());
        return 1;
    }
    printf("spiece.model loaded in %.3f s\n", now() - t0);
    run_fixture(tok, "spiece.model", fx, count);
    run_fixture(tok, "spiece.model, HF special tokens", hx, hcount);
    test_sentinels_and_api(tok);
    test_bad_files("assets/tokenizer/spiece.model");
    fv_tokenizer_free(tok);

    const char *dir = getenv("FLANVK_TOKENIZER_DATA");
    if (!dir) dir = "../shared/data/tokenizer"; /* shared/ sits beside the repository */
    const char *variants[] = {"hf_tokenizer_json", "hf_tokenizer_json_legacy"};
    for (int v = 0; v < 2; v++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s/tokenizer.json", dir, variants[v]);
        if (!fv_file_exists(path)) {
            printf("skipped %s (not present; set FLANVK_TOKENIZER_DATA)\n", path);
            continue;
        }
        t0 = now();
        int rc = fv_tokenizer_load(path, &tok);
        CHECK(!rc, "load %s: %s", path, fv_last_error());
        if (rc) continue;
        printf("%s loaded in %.3f s\n", path, now() - t0);
        run_fixture(tok, variants[v], fx, count);
        char label[64];
        snprintf(label, sizeof label, "%s, HF special tokens", variants[v]);
        run_fixture(tok, label, hx, hcount);
        test_sentinels_and_api(tok);
        fv_tokenizer_free(tok);
    }
    cJSON_Delete(hf_spm_diff);
    fixture *sets[] = {fx, hx};
    size_t counts[] = {count, hcount};
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < counts[k]; i++) {
            free(sets[k][i].text);
            free(sets[k][i].ids);
            free(sets[k][i].decoded);
        }
        free(sets[k]);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
