/* The continuous-batching scheduler: one thread that owns the device. Each turn it admits queued
 * sequences into free slots (encoded together by fv_t5_slots_prefill), runs one decode step over
 * the busy slots (fv_t5_slots_step: each row at its own position), picks each row's next token on
 * the host with that sequence's own settings and generator (greedy, or fv_gen_sample as generate
 * samples), and frees the slots of finished or cancelled sequences at once. Scoring and beam
 * search jobs run whole when they reach the head of the queue, between two steps.
 *
 * Locking: s->mu guards the queue, every job's flags and every sequence's out/n; the device work
 * runs unlocked. Only this thread writes a sequence's tokens, so it reads them without the lock. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, strdup */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/t5_decode.h"
#include "model/t5_score.h"
#include "model/t5_slots.h"
#include "serve/serve.h"

int fv_sched_submit(fv_server *s, fv_job *j) {
    pthread_mutex_lock(&s->mu);
    int rc = 0;
    if (s->stopping) rc = 503;
    else if (s->queued >= s->o.max_queue) rc = 503;
    else {
        j->refs++;
        j->next = NULL;
        if (s->qtail) s->qtail->next = j;
        else s->qhead = j;
        s->qtail = j;
        s->queued++;
        pthread_cond_signal(&s->work);
    }
    uint32_t q = s->queued, a = s->active;
    pthread_mutex_unlock(&s->mu);
    fv_metrics_gauges(&s->metrics, q, a);
    return rc;
}

/* Locked. The scheduler lets go of a job once it is over and none of its sequences holds a slot
 * (a slot points into the job). */
static void maybe_release(fv_job *j) {
    if (j->done && !j->in_slots && !j->released) {
        j->released = 1;
        fv_job_unref(j);
    }
}

/* Locked. A job is over: wake its connection. */
static void job_finish(fv_server *s, fv_job *j, int status, const char *err) {
    if (j->done) return;
    j->done = 1;
    j->status = status;
    if (status != 200) {
        j->failed = 1;
        snprintf(j->err, sizeof j->err, "%s", err ? err : "failed");
    }
    pthread_cond_broadcast(&s->progress);
    maybe_release(j);
}

static void queue_pop(fv_server *s) {
    fv_job *j = s->qhead;
    s->qhead = j->next;
    if (!s->qhead) s->qtail = NULL;
    j->next = NULL;
    s->queued--;
}

/* Locked. Whether the text of seq's ids contains a stop string; sets stop_at. */
static int hit_stop(fv_server *s, fv_seq *q) {
    fv_job *j = q->job;
    if (!j->nstop || !s->tok) return 0;
    char *text = NULL;
    if (flanvk_tokenizer_decode(s->tok, q->out, q->n, &text)) return 0;
    long best = -1;
    for (uint32_t k = 0; k < j->nstop; k++) {
        char *at = strstr(text, j->stop[k]);
        if (at && (best < 0 || at - text < best)) best = at - text;
    }
    free(text);
    if (best < 0) return 0;
    q->stop_at = best;
    return 1;
}

/* Locked. A sequence leaves its slot (finished, cancelled or failed). */
static void seq_leave(fv_server *s, fv_seq **slot_of, fv_seq *q) {
    int held = q->running && q->slot >= 0;
    if (held) {
        slot_of[q->slot] = NULL;
        s->active--;
        q->job->in_slots--;
    }
    q->slot = -1;
    q->running = 0;
    if (!q->done) {
        q->done = 1;
        q->job->finished++;
    }
    if (held) maybe_release(q->job);
}

static void run_exclusive(fv_server *s, fv_job *j) {
    int rc = 0;
    char err[256] = "";
    if (j->kind == FV_JOB_SCORE) {
        if (j->score_shared) /* encode the input once, as eval's rank classification does */
            rc = fv_t5_score_shared(s->m, j->in_ids[0], j->in_lens[0], (const uint32_t *const *)j->tgt_ids, j->tgt_lens,
                                    j->nscore, j->logprob);
        else
            rc = fv_t5_score(s->m, (const uint32_t *const *)j->in_ids, j->in_lens, (const uint32_t *const *)j->tgt_ids,
                             j->tgt_lens, j->nscore, 16, j->logprob);
    } else { /* beam search: one prompt per sequence, through the lockstep decoder */
        for (uint32_t i = 0; !rc && i < j->nseq; i++) {
            fv_seq *q = &j->seq[i];
            fv_gen_out out = {0};
            const uint32_t *p = q->prompt;
            rc = fv_t5_generate(s->m, &p, &q->plen, 1, &q->o, &out);
            if (!rc) {
                pthread_mutex_lock(&s->mu);
                uint32_t n = out.n < q->o.max_new_tokens + 1 ? out.n : q->o.max_new_tokens + 1;
                free(q->out);
                q->out = out.ids;
                q->n = n;
                q->finish = n && out.ids[n - 1] == (uint32_t)s->m->cfg.eos_token_id ? FV_FIN_STOP : FV_FIN_LENGTH;
                q->done = 1;
                j->finished++;
                if (!j->t_first) j->t_first = fv_serve_now();
                pthread_mutex_unlock(&s->mu);
            } else {
                free(out.ids);
            }
        }
    }
    if (rc) snprintf(err, sizeof err, "%s", fv_last_error());
    pthread_mutex_lock(&s->mu);
    job_finish(s, j, rc ? 500 : 200, err);
    pthread_mutex_unlock(&s->mu);
}

typedef struct {
    fv_t5_slots *slots;
    fv_seq **slot_of;      /* R: the sequence in each slot, NULL if free */
    float *logits;         /* R x vocab */
    fv_gen_scored *tmp;    /* vocab */
    uint32_t *tok, *pos, *next;
} sched_state;

/* Locked on entry and exit. Admit queued sequences into free slots and encode them. Returns
 * with exclusive set to a scoring or beam job that reached the head of the queue (popped). */
static void admit(fv_server *s, sched_state *st, fv_job **exclusive) {
    *exclusive = NULL;
    fv_seq *batch[256];
    uint32_t n = 0, cap = s->Rp < 256 ? s->Rp : 256;
    while (s->qhead) {
        fv_job *j = s->qhead;
        if (j->cancelled || s->stopping) {
            queue_pop(s);
            for (uint32_t i = j->admitted; i < j->nseq; i++) seq_leave(s, st->slot_of, &j->seq[i]);
            if (j->admitted == 0 || j->cancelled)
                job_finish(s, j, s->stopping && !j->cancelled ? 503 : 499,
                           s->stopping ? "the server is shutting down" : "cancelled");
            else
                job_finish(s, j, 503, "the server is shutting down");
            continue;
        }
        if (j->kind != FV_JOB_DECODE) {
            if (n == 0) { /* run it before admitting anything after it */
                queue_pop(s);
                *exclusive = j;
            }
            break;
        }
        int full = 0;
        while (j->admitted < j->nseq) {
            int free_slot = -1;
            for (uint32_t r = 0; r < s->R; r++)
                if (!st->slot_of[r]) {
                    int taken = 0;
                    for (uint32_t k = 0; k < n; k++) taken |= batch[k]->slot == (int)r;
                    if (!taken) { free_slot = (int)r; break; }
                }
            if (free_slot < 0 || n == cap) { full = 1; break; }
            fv_seq *q = &j->seq[j->admitted++];
            q->slot = free_slot;
            batch[n++] = q;
        }
        if (full) break;
        queue_pop(s); /* every sequence of it has a slot */
    }
    if (!n) return;
    uint32_t slot[256], lens[256];
    const uint32_t *ids[256];
    for (uint32_t k = 0; k < n; k++) {
        slot[k] = (uint32_t)batch[k]->slot;
        ids[k] = batch[k]->prompt;
        lens[k] = batch[k]->plen;
    }
    pthread_mutex_unlock(&s->mu);
    double t0 = fv_serve_now();
    int rc = fv_t5_slots_prefill(st->slots, n, slot, ids, lens);
    fv_metrics_prefill(&s->metrics, n, fv_serve_now() - t0);
    char err[256] = "";
    if (rc) snprintf(err, sizeof err, "encoding the prompts: %s", fv_last_error());
    pthread_mutex_lock(&s->mu);
    if (rc) { /* every sequence of the batch fails; then each job once (finishing may free it) */
        fv_job *jobs[256];
        uint32_t nj = 0;
        for (uint32_t k = 0; k < n; k++) {
            fv_job *j = batch[k]->job;
            seq_leave(s, st->slot_of, batch[k]); /* not held: releases nothing */
            uint32_t i = 0;
            while (i < nj && jobs[i] != j) i++;
            if (i == nj) jobs[nj++] = j;
        }
        for (uint32_t i = 0; i < nj; i++) job_finish(s, jobs[i], 500, err);
        return;
    }
    for (uint32_t k = 0; k < n; k++) {
        fv_seq *q = batch[k];
        st->slot_of[q->slot] = q;
        q->running = 1;
        q->job->in_slots++;
        s->active++;
    }
}

/* Locked on entry and exit: one decode step over the busy slots. */
static void step(fv_server *s, sched_state *st) {
    uint32_t rows = 0, V = s->vocab, start = (uint32_t)s->m->cfg.decoder_start_token_id;
    for (uint32_t r = 0; r < s->R; r++) {
        fv_seq *q = st->slot_of[r];
        if (q && (q->job->cancelled || q->job->done)) { /* the client left (or the job failed): free the slot now */
            job_finish(s, q->job, 499, "cancelled");       /* no-op when done; releases nothing while in a slot */
            seq_leave(s, st->slot_of, q);                   /* may release (and free) the job: q is gone */
            q = NULL;
        }
        st->tok[r] = q ? (q->n ? q->out[q->n - 1] : start) : 0;
        st->pos[r] = q ? q->n : 0;
        if (q) rows = r + 1;
    }
    if (!rows) return;
    uint32_t busy = s->active;
    pthread_mutex_unlock(&s->mu);
    double t0 = fv_serve_now();
    int rc = fv_t5_slots_step(st->slots, rows, st->tok, st->pos, st->logits);
    for (uint32_t r = 0; !rc && r < rows; r++) {
        fv_seq *q = st->slot_of[r]; /* only this thread changes slot_of */
        if (!q) continue;
        float *x = st->logits + (size_t)r * V;
        st->next[r] = q->o.do_sample ? fv_gen_sample(x, V, &q->o, &q->rng, st->tmp) : fv_t5_argmax(x, V);
    }
    char err[256] = "";
    if (rc) snprintf(err, sizeof err, "decode step: %s", fv_last_error());
    fv_metrics_step(&s->metrics, busy, fv_serve_now() - t0);
    pthread_mutex_lock(&s->mu);
    double now = fv_serve_now();
    uint64_t generated = 0;
    for (uint32_t r = 0; r < rows; r++) {
        fv_seq *q = st->slot_of[r];
        if (!q) continue;
        fv_job *j = q->job;
        if (rc) {
            job_finish(s, j, 500, err);
            seq_leave(s, st->slot_of, q);
            continue;
        }
        q->out[q->n++] = st->next[r];
        generated++;
        if (!j->t_first) {
            j->t_first = now;
            fv_metrics_ttft(&s->metrics, now - j->t_arrive);
        }
        if (st->next[r] == (uint32_t)s->m->cfg.eos_token_id && !q->ignore_eos) q->finish = FV_FIN_STOP;
        else if (hit_stop(s, q)) q->finish = FV_FIN_STOP;
        else if (q->n >= q->o.max_new_tokens) q->finish = FV_FIN_LENGTH;
        if (q->finish != FV_FIN_NONE) {
            seq_leave(s, st->slot_of, q);
            if (j->finished == j->nseq) job_finish(s, j, 200, NULL);
        }
    }
    fv_metrics_tokens(&s->metrics, 0, generated);
    pthread_cond_broadcast(&s->progress);
}

static void *sched_main(void *arg) {
    fv_server *s = arg;
    sched_state st = {0};
    uint32_t R = s->R, V = s->vocab;
    st.slot_of = calloc(R, sizeof *st.slot_of);
    st.logits = malloc((size_t)R * V * sizeof *st.logits);
    st.tmp = malloc((size_t)V * sizeof *st.tmp);
    st.tok = calloc(R, sizeof *st.tok);
    st.pos = calloc(R, sizeof *st.pos);
    st.next = calloc(R, sizeof *st.next);
    st.slots = s->slots;
    pthread_mutex_lock(&s->mu);
    if (!st.slot_of || !st.logits || !st.tmp || !st.tok || !st.pos || !st.next) {
        fprintf(stderr, "flanvk serve: out of host memory for the scheduler\n");
        s->stopping = 1;
        st.slots = NULL;
    }
    for (;;) {
        fv_job *ex = NULL;
        if (st.slots) admit(s, &st, &ex);
        if (ex) {
            pthread_mutex_unlock(&s->mu);
            run_exclusive(s, ex);
            pthread_mutex_lock(&s->mu);
            continue;
        }
        if (s->active) {
            step(s, &st);
            fv_metrics_gauges(&s->metrics, s->queued, s->active);
            continue;
        }
        fv_metrics_gauges(&s->metrics, s->queued, s->active);
        if (s->stopping && !s->qhead) break;
        if (!s->qhead) pthread_cond_wait(&s->work, &s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    free(st.slot_of);
    free(st.logits);
    free(st.tmp);
    free(st.tok);
    free(st.pos);
    free(st.next);
    return NULL;
}

int fv_sched_start(fv_server *s) {
    if (fv_t5_slots_create(s->m, s->R, s->Te, s->tmax, s->Rp, &s->slots))
        return fv_err_wrap("serve: decode slots (%u slots, prompts of %u tokens, %u new tokens)", s->R, s->Te, s->tmax);
    /* warm-up: record (and so compile the pipelines of) the step at every row count and one
     * encoder now, not while the first requests wait */
    uint32_t eos = (uint32_t)s->m->cfg.eos_token_id, slot0 = 0, one = 1;
    const uint32_t *ids = &eos;
    uint32_t *tok = calloc(s->R, sizeof *tok), *pos = calloc(s->R, sizeof *pos);
    float *lg = malloc((size_t)s->R * s->vocab * sizeof *lg);
    int rc = (!tok || !pos || !lg) ? fv_err("out of host memory") : fv_t5_slots_prefill(s->slots, 1, &slot0, &ids, &one);
    /* encoders of a few lengths and batch sizes: the GEMM and attention kernels come in variants by
     * the alignment of their shapes (texel views), each compiled when first met (~1 s on lavapipe) */
    static const uint32_t sets[][2] = {{2, 3}, {4, 0}, {5, 8}, {7, 0}, {16, 9}, {6, 6}};
    uint32_t warm[16] = {0};
    for (uint32_t t = 0; t < 16; t++) warm[t] = eos;
    for (size_t k = 0; !rc && k < sizeof sets / sizeof sets[0]; k++) {
        uint32_t n = sets[k][1] ? 2 : 1, sl[2] = {0, 1}, ln[2] = {sets[k][0], sets[k][1]};
        const uint32_t *wi[2] = {warm, warm};
        if (n > s->Rp || ln[0] > s->Te || ln[1] > s->Te) continue;
        rc = fv_t5_slots_prefill(s->slots, n, sl, wi, ln);
    }
    for (uint32_t rows = 1; !rc; rows *= 2) {
        rc = fv_t5_slots_step(s->slots, rows < s->R ? rows : s->R, tok, pos, lg);
        if (rows >= s->R) break;
    }
    free(tok);
    free(pos);
    free(lg);
    if (rc || pthread_create(&s->sched, NULL, sched_main, s)) {
        fv_t5_slots_free(s->slots);
        s->slots = NULL;
        return rc ? fv_err_wrap("serve: warming up the decode slots") : fv_err("serve: cannot start the scheduler thread");
    }
    s->sched_started = 1;
    return 0;
}

void fv_sched_stop(fv_server *s) {
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_cond_broadcast(&s->work);
    pthread_mutex_unlock(&s->mu);
    if (s->sched_started) pthread_join(s->sched, NULL);
    s->sched_started = 0;
    fv_t5_slots_free(s->slots);
    s->slots = NULL;
}
