/* flanvk tokenize: text lines on stdin -> T5 token ids as Hugging Face gives them, special tokens
 * written in the text included (one line of space-separated ids each, ending with </s> = 1), or
 * with --decode ids -> text. Uses the public tokenizer API. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"
#include "flanvk/tokenizer.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: flanvk tokenize [--model DIR|FILE] [--decode] [--no-eos] [--pieces]\n"
            "Reads lines on stdin. Encodes each line to T5 token ids (space-separated, </s> = 1 appended) as\n"
            "Hugging Face's T5 tokenizer does: </s>, <pad>, <unk> and <extra_id_N> written in a line are those tokens;\n"
            "--decode reads lines of ids and prints the text. --pieces prints piece strings instead of ids.\n"
            "--model: a directory with spiece.model or tokenizer.json, or such a file (default: the bundled T5\n"
            "tokenizer, assets/tokenizer or its installed copy; FLANVK_TOKENIZER=DIR overrides).\n");
}

static int decode_line(const flanvk_tokenizer *tok, char *line, size_t lineno) {
    size_t cap = 64, n = 0;
    uint32_t *ids = malloc(cap * sizeof *ids);
    if (!ids) return cli_fail("out of memory");
    for (char *p = line;;) {
        while (*p == ' ' || *p == '\t' || *p == ',' || *p == '\r') p++;
        if (!*p) break;
        char *end;
        errno = 0;
        unsigned long v = strtoul(p, &end, 10);
        if (end == p || errno || v > UINT32_MAX || *p == '-') {
            free(ids);
            return cli_fail("tokenize: stdin line %zu: '%.20s' is not a token id", lineno, p);
        }
        if (n == cap) {
            uint32_t *ni = realloc(ids, (cap *= 2) * sizeof *ids);
            if (!ni) {
                free(ids);
                return cli_fail("out of memory");
            }
            ids = ni;
        }
        ids[n++] = (uint32_t)v;
        p = end;
    }
    char *text = NULL;
    int rc = flanvk_tokenizer_decode(tok, ids, n, &text);
    free(ids);
    if (rc) return cli_fail("tokenize: stdin line %zu: %s", lineno, flanvk_last_error());
    printf("%s\n", text);
    free(text);
    return 0;
}

static int encode_line(const flanvk_tokenizer *tok, const char *line, size_t len, int eos, int pieces, size_t lineno) {
    uint32_t *ids = NULL;
    size_t n = 0;
    if (flanvk_tokenizer_encode(tok, line, len, eos, &ids, &n)) return cli_fail("tokenize: stdin line %zu: %s", lineno, flanvk_last_error());
    for (size_t i = 0; i < n; i++) {
        if (pieces) printf("%s%s", i ? " " : "", flanvk_tokenizer_id_to_piece(tok, ids[i]));
        else printf("%s%u", i ? " " : "", ids[i]);
    }
    printf("\n");
    free(ids);
    return 0;
}

int cmd_tokenize(int argc, char **argv) {
    const char *model = NULL;
    int decode = 0, eos = 1, pieces = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--model")) {
            if (i + 1 >= argc) return cli_fail("tokenize: --model needs a value");
            model = argv[++i];
        } else if (!strcmp(argv[i], "--decode")) {
            decode = 1;
        } else if (!strcmp(argv[i], "--no-eos")) {
            eos = 0;
        } else if (!strcmp(argv[i], "--pieces")) {
            pieces = 1;
        } else {
            usage(stderr);
            return cli_fail("tokenize: unknown option '%s'", argv[i]);
        }
    }
    flanvk_tokenizer *tok = NULL;
    if (!model) model = cli_default_tokenizer();
    if (!model) return cli_fail("tokenize: no tokenizer found: give --model DIR (spiece.model or tokenizer.json)");
    if (flanvk_tokenizer_load(model, &tok)) return cli_lib_fail("tokenize");
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t got;
    int rc = 0;
    while (!rc && (got = getline(&line, &cap, stdin)) >= 0) {
        lineno++;
        size_t len = (size_t)got;
        if (len && line[len - 1] == '\n') line[--len] = 0;
        rc = decode ? decode_line(tok, line, lineno) : encode_line(tok, line, len, eos, pieces, lineno);
    }
    free(line);
    flanvk_tokenizer_free(tok);
    if (!rc && fflush(stdout)) rc = cli_fail("tokenize: cannot write the output");
    return rc;
}
