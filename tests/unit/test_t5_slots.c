/* Slot decoding (model/t5_slots.h, continuous batching) against the lockstep decoder on the
 * reference tiny model (det weights): 7 prompts of different lengths pass through 3 slots,
 * arriving while others are mid-sequence (prefilled in twos and ones into whatever slots are
 * free), each fed its own lockstep-greedy tokens; every step's logits of every sequence must equal,
 * bit for bit, those of the same prompt decoded alone by fv_t5_dec (one row, its own prompt
 * length), which is what fv_t5_generate and `flanvk generate` run. Also with fp16 KV caches. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "model/t5.h"
#include "model/t5_decode.h"
#include "model/t5_slots.h"
#include "support/fixture.h"

enum { NP = 7, R = 3, TE = 24, TMAX = 12 };

static int passed, failed;

typedef struct {
    uint32_t ids[TE], len, steps;
    uint32_t tok[TMAX];       /* lockstep greedy tokens (input of step t is tok[t - 1], or the start token) */
    float *logits;            /* steps x V, lockstep */
} prompt;

static int lockstep(fv_t5 *m, prompt *p) {
    uint32_t V = (uint32_t)m->cfg.vocab_size;
    fv_t5_dec *s;
    const uint32_t *rows[1] = {p->ids};
    FV_TRY(fv_t5_dec_create(m, 1, p->len, p->steps, 0, &s));
    int rc = fv_t5_dec_prefill(s, rows, &p->len);
    uint32_t in = (uint32_t)m->cfg.decoder_start_token_id;
    for (uint32_t t = 0; !rc && t < p->steps; t++) {
        float *x = p->logits + (size_t)t * V;
        rc = fv_t5_dec_step(s, t, &in, NULL, x);
        p->tok[t] = in = fv_t5_argmax(x, V);
    }
    fv_t5_dec_free(s);
    return rc;
}

static void run(fv_dev *d, const char *dir, const char *kv) {
    fv_t5 *m = NULL;
    if (fv_t5_load(d, dir, &m, NULL, NULL) || (kv && fv_t5_set_kv_cache(m, kv))) {
        printf("load %s FAIL: %s\n", dir, fv_last_error());
        failed++;
        fv_t5_free(m);
        return;
    }
    uint32_t V = (uint32_t)m->cfg.vocab_size;
    prompt p[NP];
    fv_rng rng;
    fv_rng_seed(&rng, 7);
    int rc = 0;
    for (int i = 0; i < NP && !rc; i++) {
        p[i].len = 2 + (uint32_t)fv_rng_below(&rng, TE - 2);
        for (uint32_t t = 0; t + 1 < p[i].len; t++) p[i].ids[t] = 3 + (uint32_t)fv_rng_below(&rng, 32000);
        p[i].ids[p[i].len - 1] = 1;
        p[i].steps = 3 + (uint32_t)fv_rng_below(&rng, TMAX - 3);
        p[i].logits = malloc((size_t)p[i].steps * V * sizeof(float));
        rc = !p[i].logits || lockstep(m, &p[i]);
    }
    /* slots: a prompt joins when a slot is free (at most 2 per prefill), leaves after its steps */
    fv_t5_slots *s = NULL;
    int who[R], at[R];
    for (int r = 0; r < R; r++) who[r] = -1, at[r] = 0;
    float *lg = malloc((size_t)R * V * sizeof *lg);
    double worst = 0;
    uint64_t differ = 0, compared = 0;
    int next = 0, steps = 0;
    rc = rc || !lg || fv_t5_slots_create(m, R, TE, TMAX, 2, &s);
    while (!rc && (next < NP || who[0] >= 0 || who[1] >= 0 || who[2] >= 0)) {
        uint32_t slot[2], lens[2];
        const uint32_t *ids[2];
        uint32_t n = 0;
        for (int r = R - 1; r >= 0 && next < NP && n < 2; r--) /* fill from the top: slot 0 is not always first */
            if (who[r] < 0 && (steps % 2 == 0 || n == 0)) {
                who[r] = next;
                at[r] = 0;
                slot[n] = (uint32_t)r;
                ids[n] = p[next].ids;
                lens[n++] = p[next].len;
                next++;
            }
        if (n && (rc = fv_t5_slots_prefill(s, n, slot, ids, lens))) break;
        uint32_t rows = 0, tok[R], pos[R];
        for (int r = 0; r < R; r++) {
            tok[r] = 0, pos[r] = 0;
            if (who[r] < 0) continue;
            rows = (uint32_t)r + 1;
            tok[r] = at[r] ? p[who[r]].tok[at[r] - 1] : (uint32_t)m->cfg.decoder_start_token_id;
            pos[r] = (uint32_t)at[r];
        }
        if (!rows) continue;
        if ((rc = fv_t5_slots_step(s, rows, tok, pos, lg))) break;
        for (uint32_t r = 0; r < rows; r++) {
            if (who[r] < 0) continue;
            const float *ref = p[who[r]].logits + (size_t)at[r] * V, *got = lg + (size_t)r * V;
            for (uint32_t j = 0; j < V; j++) {
                double e = fabs((double)got[j] - ref[j]);
                if (got[j] != ref[j]) differ++;
                if (e > worst || isnan(e)) worst = isnan(e) ? INFINITY : e;
            }
            compared += V;
            if (++at[r] == (int)p[who[r]].steps) who[r] = -1; /* finished: the slot is free at once */
        }
        steps++;
    }
    if (rc) {
        printf("slots%s FAIL: %s\n", kv ? " kv f16" : "", fv_last_error());
        failed++;
    } else {
        int ok = differ == 0;
        printf("slots%s: %d prompts through %d slots in %d steps: %llu logits compared with each prompt decoded alone, "
               "%llu differ, max abs diff %.3g %s\n", kv ? " (kv f16)" : "", NP, R, steps, (unsigned long long)compared,
               (unsigned long long)differ, worst, ok ? "OK" : "FAIL");
        ok ? passed++ : failed++;
    }
    fv_t5_slots_free(s);
    free(lg);
    for (int i = 0; i < NP; i++) free(p[i].logits);
    fv_t5_free(m);
}

int main(void) {
    fv_dev *d;
    if (fv_dev_open(-1, &d)) {
        printf("cannot open a device: %s\n", fv_last_error());
        return 1;
    }
    fv_fixture f;
    char dir[256];
    if (fv_fixture_load(&f, "tiny_gated") || fv_fixture_det_model(&f, d, dir)) {
        printf("fixture FAIL: %s\n", fv_last_error());
        return 1;
    }
    run(d, dir, NULL);
    if (d->fp16) run(d, dir, "f16");
    fv_fixture_rmdir(dir);
    fv_fixture_free(&f);
    if (d->validation_messages) {
        printf("validation layer messages: %d FAIL\n", d->validation_messages);
        failed++;
    }
    fv_dev_close(d);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
