/* Public data API (include/flanvk/data.h): flanvk_mix = mixture sampler -> tokenizer -> greedy packer
 * -> atomic packed-file writer. Counts (per task, tokens, truncation) are taken from the rows
 * actually written, so with a row limit the examples of the unwritten partial row are not counted. */
#include "flanvk/data.h"

#include "base/error.h"
#include "data/mixture.h"
#include "data/pack.h"
#include "io/tokenizer.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

const char *flanvk_mix_format_name(int i) { return fv_format_name((fv_format)i); }

void flanvk_mix_report_free(flanvk_mix_report *r) {
    if (!r) return;
    free(r->tasks);
    r->tasks = NULL;
    r->n_tasks = 0;
}

/* A segment's tag: (task * 4 + format) * 2 + truncated. */
static int32_t make_tag(size_t task, int fmt, int trunc) { return (int32_t)(((int64_t)task * 4 + fmt) * 2 + trunc); }

static int write_done(fv_pack_writer *w, const fv_packer *pk, flanvk_mix_report *r) {
    uint32_t ns;
    const int32_t *tags;
    fv_pack_row row = fv_packer_done(pk, &ns, &tags);
    FV_TRY(fv_pack_writer_row(w, &row, ns));
    for (uint32_t i = 0; i < ns; i++) {
        int32_t t = tags[i];
        flanvk_mix_task_report *tr = &r->tasks[t / 8];
        tr->examples++;
        tr->by_format[(t / 2) % 4]++;
        tr->truncated += (uint64_t)(t & 1);
        r->truncated += (uint64_t)(t & 1);
    }
    for (uint32_t i = 0; i < pk->L; i++) r->tokens_in += row.enc_seg[i] != 0;
    for (uint32_t i = 0; i < pk->L2; i++) r->tokens_out += row.dec_seg[i] != 0;
    r->examples += ns;
    r->rows++;
    return 0;
}

static char *metadata(const flanvk_mix_params *p, const fv_mixture *m, const flanvk_mix_report *r) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "format", "flanvk packed rows v1");
    cJSON_AddStringToObject(o, "mixture", r->mixture);
    cJSON_AddStringToObject(o, "mixture_file", fv_mixture_path(m));
    cJSON_AddNumberToObject(o, "seed", (double)r->seed);
    cJSON_AddStringToObject(o, "tokenizer", p->model);
    cJSON_AddNumberToObject(o, "seq_len_in", p->seq_len_in);
    cJSON_AddNumberToObject(o, "seq_len_out", p->seq_len_out);
    cJSON_AddNumberToObject(o, "examples", (double)r->examples);
    cJSON_AddNumberToObject(o, "rows", (double)r->rows);
    cJSON_AddNumberToObject(o, "truncated", (double)r->truncated);
    cJSON_AddNumberToObject(o, "efficiency", r->efficiency);
    cJSON *tasks = cJSON_AddObjectToObject(o, "tasks");
    for (size_t i = 0; tasks && i < r->n_tasks; i++) {
        const flanvk_mix_task_report *t = &r->tasks[i];
        cJSON *e = cJSON_AddObjectToObject(tasks, t->name);
        if (!e) continue;
        cJSON_AddStringToObject(e, "source", fv_mixture_task(m, i)->path);
        cJSON_AddNumberToObject(e, "rate", t->rate);
        cJSON_AddNumberToObject(e, "examples", (double)t->examples);
        cJSON_AddNumberToObject(e, "truncated", (double)t->truncated);
        for (int f = 0; f < 4; f++) cJSON_AddNumberToObject(e, fv_format_name((fv_format)f), (double)t->by_format[f]);
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static int check_params(const flanvk_mix_params *p) {
    if (!p || !p->mixture || !p->model || !p->out) return fv_err("flanvk_mix: mixture, model and out are required");
    if (p->seq_len_in < 1 || p->seq_len_out < 1 || p->seq_len_in > (1u << 20) || p->seq_len_out > (1u << 20))
        return fv_err("flanvk_mix: sequence lengths must be in [1, 1048576] (got %u / %u)", p->seq_len_in,
                      p->seq_len_out);
    return 0;
}

int flanvk_mix(const flanvk_mix_params *p, flanvk_mix_report *r) {
    if (!r) return fv_err("flanvk_mix: NULL report");
    memset(r, 0, sizeof *r);
    FV_TRY(check_params(p));
    fv_mixture_opts mo = {p->skip_bad, p->has_seed, p->seed, p->templates};
    fv_mixture *m = NULL;
    fv_tokenizer *tok = NULL;
    fv_pack_writer *w = NULL;
    fv_packer pk;
    memset(&pk, 0, sizeof pk);
    uint32_t *ids_in = NULL, *ids_tg = NULL;
    int rc = fv_mixture_load(&m, p->mixture, &mo);
    if (!rc) rc = fv_tokenizer_load(p->model, &tok);
    if (rc) goto out;
    snprintf(r->mixture, sizeof r->mixture, "%s", fv_mixture_name(m));
    r->seed = fv_mixture_seed(m);
    r->n_tasks = fv_mixture_n_tasks(m);
    r->tasks = calloc(r->n_tasks, sizeof *r->tasks);
    if (!r->tasks) {
        rc = fv_err("flanvk_mix: out of memory");
        goto out;
    }
    for (size_t i = 0; i < r->n_tasks; i++) {
        const fv_mix_task *t = fv_mixture_task(m, i);
        snprintf(r->tasks[i].name, sizeof r->tasks[i].name, "%s", t->name);
        r->tasks[i].source_examples = t->n_examples;
        r->tasks[i].rate = t->rate;
    }
    if ((rc = fv_packer_init(&pk, p->seq_len_in, p->seq_len_out, (uint32_t)fv_tokenizer_eos_id(tok)))) goto out;
    if ((rc = fv_pack_writer_open(&w, p->out, p->seq_len_in, p->seq_len_out, fv_tokenizer_vocab_size(tok)))) goto out;
    uint64_t want_ex = p->examples, want_rows = p->examples ? 0 : p->rows;
    if (!want_ex && !want_rows) want_ex = fv_mixture_epoch(m);
    uint64_t total = want_ex ? want_ex : want_rows, pushed = 0, last_report = 0;
    if (p->progress) p->progress(0, total, p->progress_user);
    for (;;) {
        if (want_ex && pushed == want_ex) break;
        fv_mix_sample s;
        size_t ni, nt;
        if ((rc = fv_mixture_next(m, &s))) goto out;
        free(ids_in);
        free(ids_tg);
        ids_in = ids_tg = NULL;
        if ((rc = fv_tokenizer_encode(tok, s.inputs, strlen(s.inputs), 1, &ids_in, &ni)) ||
            (rc = fv_tokenizer_encode(tok, s.targets, strlen(s.targets), 1, &ids_tg, &nt))) {
            fv_err_wrap("%s: task %s example %zu", p->mixture, s.task_name, s.ex_index);
            goto out;
        }
        int trunc = ni > p->seq_len_in || nt > p->seq_len_out; /* the packer truncates exactly these */
        int closed = fv_packer_push(&pk, ids_in, ni, ids_tg, nt, make_tag(s.task, (int)s.format, trunc), NULL);
        if (closed < 0) {
            rc = -1;
            goto out;
        }
        pushed++;
        if (closed) {
            if ((rc = write_done(w, &pk, r))) goto out;
            if (want_rows && r->rows == want_rows) break;
        }
        uint64_t done = want_ex ? pushed : r->rows;
        if (p->progress && (closed || done - last_report >= 64)) {
            p->progress(done, total, p->progress_user);
            last_report = done;
        }
    }
    if (want_ex && fv_packer_flush(&pk) == 1 && (rc = write_done(w, &pk, r))) goto out;
    r->bad_rows = fv_mixture_bad_rows(m);
    double all_in = (double)r->rows * p->seq_len_in, all_out = (double)r->rows * p->seq_len_out;
    r->efficiency_in = r->rows ? (double)r->tokens_in / all_in : 0;
    r->efficiency_out = r->rows ? (double)r->tokens_out / all_out : 0;
    r->efficiency = r->rows ? (double)(r->tokens_in + r->tokens_out) / (all_in + all_out) : 0;
    if (p->progress) p->progress(total, total, p->progress_user);
    char *meta = metadata(p, m, r);
    if (!meta) {
        rc = fv_err("flanvk_mix: out of memory");
        goto out;
    }
    rc = fv_pack_writer_commit(w, meta, r->truncated);
    w = NULL;
    cJSON_free(meta);
out:
    fv_pack_writer_abort(w);
    fv_packer_free(&pk);
    free(ids_in);
    free(ids_tg);
    fv_tokenizer_free(tok);
    fv_mixture_free(m);
    if (rc) flanvk_mix_report_free(r);
    return rc;
}
