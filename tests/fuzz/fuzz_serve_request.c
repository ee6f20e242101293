/* Fuzz harness: `flanvk serve`'s request bodies through the server's own validation
 * (src/serve/request.c), no device. The first byte picks the endpoint (byte % 5: /v1/completions,
 * /generate, /score, /tokenize, /detokenize; the seeds start with A to E), the rest is the body,
 * parsed as the HTTP side parses it. The server state is what the validation reads: the real T5
 * tokenizer (assets/tokenizer), T5's vocabulary, a 512-token prompt limit and flanvk serve's
 * default limits (16 slots, max_new_tokens_limit 256). A job that passes is checked for the
 * invariants the scheduler relies on, then dropped. */
#include "fuzz_util.h"

#include "serve/request.h"

#include <cjson/cJSON.h>

static fv_server srv;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fz_quiet();
    flanvk_tokenizer *tok;
    if (flanvk_tokenizer_load(fz_assets("assets/tokenizer"), &tok)) abort();
    srv.tok = tok;
    srv.vocab = 32128;
    srv.Te = 512;
    srv.R = 16;
    srv.o.max_new_tokens_limit = srv.tmax = 256;
    srv.o.max_batch = 16;
    return 0;
}

/* What the scheduler assumes of an accepted job: prompts within the limit and the vocabulary, room
 * for max_new_tokens, no more sequences than slots. */
static void check_job(const fv_job *j) {
    if (j->nseq > srv.R) abort();
    for (uint32_t i = 0; i < j->nseq; i++) {
        const fv_seq *q = &j->seq[i];
        if (!q->plen || q->plen > srv.Te || !q->out || q->o.max_new_tokens < 1 ||
            q->o.max_new_tokens > srv.o.max_new_tokens_limit)
            abort();
        for (uint32_t k = 0; k < q->plen; k++)
            if (q->prompt[k] >= srv.vocab) abort();
    }
    for (uint32_t i = 0; i < j->nscore; i++) {
        if (j->in_lens[i] > srv.Te || j->tgt_lens[i] > srv.Te) abort();
        for (uint32_t k = 0; k < j->in_lens[i]; k++)
            if (j->in_ids[i][k] >= srv.vocab) abort();
        for (uint32_t k = 0; k < j->tgt_lens[i]; k++)
            if (j->tgt_ids[i][k] >= srv.vocab) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!size) return 0;
    int endpoint = data[0] % 5;
    cJSON *body = cJSON_ParseWithLength((const char *)data + 1, size - 1);
    if (!body) return 0;
    if (!cJSON_IsObject(body)) { /* http.c answers 400 before any validation */
        cJSON_Delete(body);
        return 0;
    }
    char err[512];
    fv_job *j = NULL;
    int stream = 0, rc = 0;
    if (endpoint == 0) rc = fv_req_completions(&srv, body, &j, &stream, err, sizeof err);
    else if (endpoint == 1) rc = fv_req_generate(&srv, body, &j, err, sizeof err);
    else if (endpoint == 2) rc = fv_req_score(&srv, body, &j, err, sizeof err);
    else if (endpoint == 3) {
        uint32_t *ids = NULL;
        size_t n = 0;
        rc = fv_req_tokenize(&srv, body, &ids, &n, err, sizeof err);
        if (!rc && n && !ids) abort(); /* n may be 0: text of control characters only, add_eos false */
        for (size_t i = 0; !rc && i < n; i++)
            if (ids[i] >= srv.vocab) abort();
        free(ids);
    } else {
        char *text = NULL;
        rc = fv_req_detokenize(&srv, body, &text, err, sizeof err);
        if (!rc && !text) abort();
        free(text);
    }
    if (rc && rc != 400 && rc != 500) abort(); /* the statuses the HTTP side expects */
    if (!rc && endpoint <= 2) {
        if (!j) abort();
        check_job(j);
        fv_job_unref(j);
    } else if (j) {
        abort(); /* a failed validation leaves no job */
    }
    cJSON_Delete(body);
    return 0;
}
