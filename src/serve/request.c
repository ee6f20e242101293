/* Parsing and validating request bodies into jobs; see request.h. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, strdup */
#include "serve/request.h"

#include "base/error.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bad(char *err, size_t errn, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errn, fmt, ap);
    va_end(ap);
    return 400;
}

/* An optional number field in [lo, hi] (integer if whole); absent or null keeps *out. */
static int num(const cJSON *o, const char *key, double lo, double hi, int whole, double *out, char *err, size_t errn) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsNumber(v)) return bad(err, errn, "'%s' must be a number", key);
    double x = v->valuedouble;
    if (!isfinite(x) || (whole && x != floor(x))) return bad(err, errn, "'%s' must be a%s number", key, whole ? " whole" : " finite");
    if (x < lo || x > hi) return bad(err, errn, "'%s' is %g, outside [%g, %g]", key, x, lo, hi);
    *out = x;
    return 0;
}

static int flag(const cJSON *o, const char *key, int *out, char *err, size_t errn) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsBool(v)) return bad(err, errn, "'%s' must be true or false", key);
    *out = cJSON_IsTrue(v);
    return 0;
}

int fv_req_encode(fv_server *s, const char *text, const char *what, uint32_t limit, uint32_t **ids, uint32_t *n, char *err,
                  size_t errn) {
    *ids = NULL;
    *n = 0;
    if (!s->tok) return bad(err, errn, "the model has no tokenizer: give %s as token ids", what);
    size_t k = 0;
    if (flanvk_tokenizer_encode(s->tok, text, strlen(text), 1, ids, &k))
        return bad(err, errn, "%s: %s", what, fv_last_error());
    if (k > limit) {
        free(*ids);
        *ids = NULL;
        return bad(err, errn, "%s has %zu tokens, more than this server's limit of %u", what, k, limit);
    }
    *n = (uint32_t)k;
    return 0;
}

int fv_req_ids(fv_server *s, const cJSON *arr, const char *what, uint32_t limit, uint32_t **ids, uint32_t *n, char *err,
               size_t errn) {
    *ids = NULL;
    *n = 0;
    if (!cJSON_IsArray(arr)) return bad(err, errn, "%s must be an array of token ids", what);
    int k = cJSON_GetArraySize(arr);
    if (k <= 0) return bad(err, errn, "%s is empty", what);
    if ((uint32_t)k > limit) return bad(err, errn, "%s has %d tokens, more than this server's limit of %u", what, k, limit);
    uint32_t *v = malloc((size_t)k * sizeof *v);
    if (!v) return 500;
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, arr) {
        if (!cJSON_IsNumber(e) || e->valuedouble != floor(e->valuedouble) || e->valuedouble < 0 ||
            e->valuedouble >= s->vocab) {
            free(v);
            return bad(err, errn, "%s[%d] is not a token id in [0, %u)", what, i, s->vocab);
        }
        v[i++] = (uint32_t)e->valuedouble;
    }
    *ids = v;
    *n = (uint32_t)k;
    return 0;
}

/* The prompts of a request: a string or an array of strings; ids_key (if any) an array of ids. */
typedef struct { uint32_t n, **ids, *lens; } prompts;

static void prompts_free(prompts *p) {
    for (uint32_t i = 0; p->ids && i < p->n; i++) free(p->ids[i]);
    free(p->ids);
    free(p->lens);
    memset(p, 0, sizeof *p);
}

static int get_prompts(fv_server *s, const cJSON *body, const char *key, const char *ids_key, uint32_t max, prompts *p,
                       char *err, size_t errn) {
    memset(p, 0, sizeof *p);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);
    const cJSON *iv = ids_key ? cJSON_GetObjectItemCaseSensitive(body, ids_key) : NULL;
    if (v && iv) return bad(err, errn, "give '%s' or '%s', not both", key, ids_key);
    if (!v && !iv) return bad(err, errn, "'%s' is required", ids_key ? key : key);
    uint32_t n = 1;
    /* OpenAI's token prompts: an array of ids is one prompt, an array of such arrays several (ids as
     * the encoder sees them, </s> included, as /generate's prompt_ids) */
    if (v && cJSON_IsArray(v) && cJSON_IsNumber(cJSON_GetArrayItem(v, 0))) {
        iv = v;
        v = NULL;
    }
    if (v && cJSON_IsArray(v) && cJSON_IsArray(cJSON_GetArrayItem(v, 0))) {
        int k = cJSON_GetArraySize(v);
        if ((uint32_t)k > max) return bad(err, errn, "'%s' has %d prompts, more than %u", key, k, max);
        p->ids = calloc((size_t)k, sizeof *p->ids);
        p->lens = calloc((size_t)k, sizeof *p->lens);
        if (!p->ids || !p->lens) return 500;
        p->n = (uint32_t)k;
        for (int i = 0; i < k; i++) {
            char what[48];
            snprintf(what, sizeof what, "%s[%d]", key, i);
            int rc = fv_req_ids(s, cJSON_GetArrayItem(v, i), what, s->Te, &p->ids[i], &p->lens[i], err, errn);
            if (rc) return rc;
        }
        return 0;
    }
    if (v && cJSON_IsArray(v)) {
        int k = cJSON_GetArraySize(v);
        if (k <= 0) return bad(err, errn, "'%s' is an empty array", key);
        if ((uint32_t)k > max) return bad(err, errn, "'%s' has %d prompts, more than %u", key, k, max);
        n = (uint32_t)k;
    } else if (v && !cJSON_IsString(v)) {
        return bad(err, errn, "'%s' must be a string or an array of strings", key);
    }
    p->ids = calloc(n, sizeof *p->ids);
    p->lens = calloc(n, sizeof *p->lens);
    if (!p->ids || !p->lens) return 500;
    p->n = n;
    if (iv) return fv_req_ids(s, iv, ids_key ? ids_key : key, s->Te, &p->ids[0], &p->lens[0], err, errn);
    for (uint32_t i = 0; i < n; i++) {
        const cJSON *e = cJSON_IsArray(v) ? cJSON_GetArrayItem(v, (int)i) : v;
        char what[48];
        snprintf(what, sizeof what, cJSON_IsArray(v) ? "%s[%u]" : "%s", key, i);
        if (!cJSON_IsString(e)) return bad(err, errn, "%s must be a string", what);
        int rc = fv_req_encode(s, e->valuestring, what, s->Te, &p->ids[i], &p->lens[i], err, errn);
        if (rc) return rc;
    }
    return 0;
}

/* Give job j's sequence i the prompt (copied) and room for its tokens. */
static int seq_init(fv_job *j, uint32_t i, const uint32_t *ids, uint32_t n, const fv_gen_opts *o) {
    fv_seq *q = &j->seq[i];
    q->o = *o;
    q->prompt = malloc(n * sizeof *q->prompt);
    q->out = malloc(((size_t)o->max_new_tokens + 1) * sizeof *q->out);
    if (!q->prompt || !q->out) return 500;
    memcpy(q->prompt, ids, n * sizeof *ids);
    q->plen = n;
    fv_rng_seed(&q->rng, o->seed);
    j->prompt_tokens += n;
    return 0;
}

int fv_req_completions(fv_server *s, const cJSON *body, fv_job **out, int *stream, char *err, size_t errn) {
    *out = NULL;
    *stream = 0;
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(body, "model");
    if (model && !cJSON_IsString(model) && !cJSON_IsNull(model)) return bad(err, errn, "'model' must be a string");
    double max_tokens = 16, temperature = 1, top_p = 1, n = 1, seed = 0, top_k = 0;
    int rc = num(body, "max_tokens", 1, s->o.max_new_tokens_limit, 1, &max_tokens, err, errn);
    rc = rc ? rc : num(body, "temperature", 0, 2, 0, &temperature, err, errn);
    rc = rc ? rc : num(body, "top_p", 0, 1, 0, &top_p, err, errn);
    rc = rc ? rc : num(body, "n", 1, s->R, 1, &n, err, errn);
    rc = rc ? rc : num(body, "seed", 0, 9007199254740991.0, 1, &seed, err, errn);
    rc = rc ? rc : num(body, "top_k", 0, s->vocab, 1, &top_k, err, errn);
    int ignore_eos = 0;
    rc = rc ? rc : flag(body, "stream", stream, err, errn);
    rc = rc ? rc : flag(body, "ignore_eos", &ignore_eos, err, errn);
    if (rc) return rc;
    if (!(top_p > 0)) return bad(err, errn, "'top_p' must be in (0, 1]");
    const cJSON *lp = cJSON_GetObjectItemCaseSensitive(body, "logprobs");
    if (lp && !cJSON_IsNull(lp) && !(cJSON_IsNumber(lp) && lp->valuedouble == 0) && !cJSON_IsFalse(lp))
        return bad(err, errn, "'logprobs' is not supported");
    const cJSON *echo = cJSON_GetObjectItemCaseSensitive(body, "echo");
    if (echo && cJSON_IsTrue(echo)) return bad(err, errn, "'echo' is not supported");
    /* stop: a string or up to 4 strings (OpenAI's limit) */
    const cJSON *stop = cJSON_GetObjectItemCaseSensitive(body, "stop");
    uint32_t nstop = 0;
    if (stop && !cJSON_IsNull(stop)) {
        if (cJSON_IsString(stop)) nstop = 1;
        else if (cJSON_IsArray(stop) && cJSON_GetArraySize(stop) <= 4) nstop = (uint32_t)cJSON_GetArraySize(stop);
        else return bad(err, errn, "'stop' must be a string or an array of at most 4 strings");
        const cJSON *e;
        if (cJSON_IsArray(stop))
            cJSON_ArrayForEach(e, stop) if (!cJSON_IsString(e) || !*e->valuestring) return bad(err, errn, "'stop' entries must be non-empty strings");
        if (cJSON_IsString(stop) && !*stop->valuestring) nstop = 0;
    }
    prompts p;
    rc = get_prompts(s, body, "prompt", NULL, s->R, &p, err, errn);
    if (rc) {
        prompts_free(&p);
        return rc;
    }
    uint32_t N = (uint32_t)n;
    if (p.n * N > s->R) {
        prompts_free(&p);
        return bad(err, errn, "%u prompts x n = %u asks for %u sequences, more than the %u this server decodes at once", p.n,
                   N, p.n * N, s->R);
    }
    fv_job *j = fv_job_new(FV_JOB_DECODE, p.n * N);
    if (!j) {
        prompts_free(&p);
        return 500;
    }
    fv_gen_opts o;
    fv_gen_opts_default(&o);
    o.max_new_tokens = (uint32_t)max_tokens;
    o.do_sample = temperature > 0; /* OpenAI: temperature 0 is greedy */
    o.temperature = temperature > 0 ? (float)temperature : 1.0f;
    o.top_p = (float)top_p;
    o.top_k = (uint32_t)top_k;
    for (uint32_t i = 0; !rc && i < p.n; i++)
        for (uint32_t k = 0; !rc && k < N; k++) {
            o.seed = (uint64_t)seed + i * N + k; /* choice c samples from seed + c */
            rc = seq_init(j, i * N + k, p.ids[i], p.lens[i], &o);
            j->seq[i * N + k].ignore_eos = ignore_eos;
        }
    if (!rc && nstop) {
        j->stop = calloc(nstop, sizeof *j->stop);
        if (!j->stop) rc = 500;
        for (uint32_t k = 0; !rc && k < nstop; k++) {
            const cJSON *e = cJSON_IsArray(stop) ? cJSON_GetArrayItem(stop, (int)k) : stop;
            j->stop[k] = strdup(e->valuestring);
            if (!j->stop[k]) rc = 500;
            j->nstop = k + 1;
        }
    }
    prompts_free(&p);
    if (rc) {
        fv_job_unref(j);
        return rc;
    }
    *out = j;
    return 0;
}

int fv_req_generate(fv_server *s, const cJSON *body, fv_job **out, char *err, size_t errn) {
    *out = NULL;
    double max_new = 20, beams = 1, lp = 1, temperature = 1, top_k = 0, top_p = 1, seed = 0;
    int sample = 0, rc = num(body, "max_new_tokens", 1, s->o.max_new_tokens_limit, 1, &max_new, err, errn);
    rc = rc ? rc : num(body, "num_beams", 1, 64, 1, &beams, err, errn);
    rc = rc ? rc : num(body, "length_penalty", -100, 100, 0, &lp, err, errn);
    rc = rc ? rc : num(body, "temperature", 0, 100, 0, &temperature, err, errn);
    rc = rc ? rc : num(body, "top_k", 0, s->vocab, 1, &top_k, err, errn);
    rc = rc ? rc : num(body, "top_p", 0, 1, 0, &top_p, err, errn);
    rc = rc ? rc : num(body, "seed", 0, 9007199254740991.0, 1, &seed, err, errn);
    rc = rc ? rc : flag(body, "do_sample", &sample, err, errn);
    rc = rc ? rc : flag(body, "sample", &sample, err, errn);
    int ignore_eos = 0;
    rc = rc ? rc : flag(body, "ignore_eos", &ignore_eos, err, errn);
    if (rc) return rc;
    if (ignore_eos && beams > 1) return bad(err, errn, "'ignore_eos' works with num_beams 1 only");
    if (sample && !(temperature > 0)) return bad(err, errn, "'temperature' must be > 0 when sampling");
    if (!(top_p > 0)) return bad(err, errn, "'top_p' must be in (0, 1]");
    if (sample && beams > 1) return bad(err, errn, "sampling works with num_beams 1 only");
    int early = 0;
    const cJSON *es = cJSON_GetObjectItemCaseSensitive(body, "early_stopping");
    if (es && !cJSON_IsNull(es)) {
        if (cJSON_IsBool(es)) early = cJSON_IsTrue(es);
        else if (cJSON_IsString(es) && !strcmp(es->valuestring, "never")) early = 2;
        else return bad(err, errn, "'early_stopping' must be true, false or \"never\"");
    }
    prompts p;
    rc = get_prompts(s, body, "prompt", "prompt_ids", 1, &p, err, errn);
    if (!rc && p.n != 1) rc = bad(err, errn, "'prompt' must be one string");
    fv_job *j = rc ? NULL : fv_job_new(beams > 1 ? FV_JOB_BEAMS : FV_JOB_DECODE, 1);
    if (!rc && !j) rc = 500;
    if (!rc) {
        fv_gen_opts o;
        fv_gen_opts_default(&o);
        o.max_new_tokens = (uint32_t)max_new;
        o.num_beams = (uint32_t)beams;
        o.length_penalty = (float)lp;
        o.early_stopping = early;
        o.do_sample = sample;
        o.temperature = (float)temperature;
        o.top_k = (uint32_t)top_k;
        o.top_p = (float)top_p;
        o.seed = (uint64_t)seed;
        rc = seq_init(j, 0, p.ids[0], p.lens[0], &o);
        j->seq[0].ignore_eos = ignore_eos;
    }
    prompts_free(&p);
    if (rc) {
        fv_job_unref(j);
        return rc;
    }
    *out = j;
    return 0;
}

/* One side of /score: key (text: a string or array) or ids_key (an array of id arrays). */
static int score_side(fv_server *s, const cJSON *body, const char *key, const char *ids_key, prompts *p, char *err,
                      size_t errn) {
    memset(p, 0, sizeof *p);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key), *iv = cJSON_GetObjectItemCaseSensitive(body, ids_key);
    if (v && iv) return bad(err, errn, "give '%s' or '%s', not both", key, ids_key);
    if (!v && !iv) return bad(err, errn, "'%s' (or '%s') is required", key, ids_key);
    if (v) return get_prompts(s, body, key, NULL, 1024, p, err, errn);
    if (!cJSON_IsArray(iv) || cJSON_GetArraySize(iv) <= 0) return bad(err, errn, "'%s' must be a non-empty array of id arrays", ids_key);
    int n = cJSON_GetArraySize(iv);
    if (n > 1024) return bad(err, errn, "'%s' has %d entries, more than 1024", ids_key, n);
    p->ids = calloc((size_t)n, sizeof *p->ids);
    p->lens = calloc((size_t)n, sizeof *p->lens);
    if (!p->ids || !p->lens) return 500;
    p->n = (uint32_t)n;
    for (int i = 0; i < n; i++) {
        char what[48];
        snprintf(what, sizeof what, "%s[%d]", ids_key, i);
        int rc = fv_req_ids(s, cJSON_GetArrayItem(iv, i), what, s->Te, &p->ids[i], &p->lens[i], err, errn);
        if (rc) return rc;
    }
    return 0;
}

int fv_req_score(fv_server *s, const cJSON *body, fv_job **out, char *err, size_t errn) {
    *out = NULL;
    /* "input" (one) is an alias of "inputs": one input against several targets */
    const char *ik = cJSON_GetObjectItemCaseSensitive(body, "input") ? "input" : "inputs";
    const char *iik = cJSON_GetObjectItemCaseSensitive(body, "input_ids") ? "input_ids" : "inputs_ids";
    prompts in, tg;
    int rc = score_side(s, body, ik, iik, &in, err, errn);
    memset(&tg, 0, sizeof tg);
    if (!rc) rc = score_side(s, body, "targets", "target_ids", &tg, err, errn);
    if (!rc && in.n != 1 && in.n != tg.n)
        rc = bad(err, errn, "%u inputs and %u targets: give as many of each, or one input", in.n, tg.n);
    fv_job *j = rc ? NULL : fv_job_new(FV_JOB_SCORE, 0);
    if (!rc && !j) rc = 500;
    if (!rc) {
        uint32_t n = tg.n;
        j->nscore = n;
        j->score_shared = in.n == 1 && n > 1;
        j->in_ids = calloc(n, sizeof *j->in_ids);
        j->tgt_ids = calloc(n, sizeof *j->tgt_ids);
        j->in_lens = calloc(n, sizeof *j->in_lens);
        j->tgt_lens = calloc(n, sizeof *j->tgt_lens);
        j->logprob = calloc(n, sizeof *j->logprob);
        if (!j->in_ids || !j->tgt_ids || !j->in_lens || !j->tgt_lens || !j->logprob) rc = 500;
        for (uint32_t i = 0; !rc && i < n; i++) {
            uint32_t a = in.n == 1 ? 0 : i;
            j->in_ids[i] = malloc(in.lens[a] * sizeof(uint32_t));
            j->tgt_ids[i] = malloc(tg.lens[i] * sizeof(uint32_t));
            if (!j->in_ids[i] || !j->tgt_ids[i]) { rc = 500; break; }
            memcpy(j->in_ids[i], in.ids[a], in.lens[a] * sizeof(uint32_t));
            memcpy(j->tgt_ids[i], tg.ids[i], tg.lens[i] * sizeof(uint32_t));
            j->in_lens[i] = in.lens[a];
            j->tgt_lens[i] = tg.lens[i];
            j->prompt_tokens += in.lens[a] + tg.lens[i];
        }
    }
    prompts_free(&in);
    prompts_free(&tg);
    if (rc) {
        fv_job_unref(j);
        return rc;
    }
    *out = j;
    return 0;
}

int fv_req_tokenize(fv_server *s, const cJSON *body, uint32_t **ids, size_t *n, char *err, size_t errn) {
    *ids = NULL;
    *n = 0;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(body, "text");
    if (!t) t = cJSON_GetObjectItemCaseSensitive(body, "prompt");
    if (!cJSON_IsString(t)) return bad(err, errn, "'text' must be a string");
    int eos = 1;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(body, "add_eos");
    if (e && !cJSON_IsBool(e)) return bad(err, errn, "'add_eos' must be true or false");
    if (e) eos = cJSON_IsTrue(e);
    if (!s->tok) return bad(err, errn, "the model has no tokenizer");
    if (flanvk_tokenizer_encode(s->tok, t->valuestring, strlen(t->valuestring), eos, ids, n))
        return bad(err, errn, "text: %s", fv_last_error());
    return 0;
}

int fv_req_detokenize(fv_server *s, const cJSON *body, char **text, char *err, size_t errn) {
    *text = NULL;
    if (!s->tok) return bad(err, errn, "the model has no tokenizer");
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(body, "ids");
    if (cJSON_IsArray(a) && cJSON_GetArraySize(a) == 0) {
        *text = strdup("");
        return *text ? 0 : 500;
    }
    uint32_t *ids = NULL, n = 0;
    int rc = fv_req_ids(s, a, "'ids'", 1u << 20, &ids, &n, err, errn);
    if (rc) return rc;
    rc = flanvk_tokenizer_decode(s->tok, ids, n, text);
    free(ids);
    if (rc) {
        *text = NULL;
        return bad(err, errn, "ids: %s", fv_last_error());
    }
    return 0;
}
