/* The training loop; see trainer.h. */
#include "train/trainer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "base/log.h"
#include "bench/bench.h"
#include "model/t5_lora.h"
#include "model/t5_train_step.h"
#include "ops/gradnorm.h"
#include "train/checkpoint.h"
#include "train/data_parallel.h"
#include "train/evaluator.h"
#include "train/lora_run.h"
#include "train/plot.h"
#include "train/train_data.h"
#include "train/train_log.h"

#define MAX_BAD_STEPS_IN_A_ROW 5

typedef struct {
    fv_dev *d;
    const fv_train_cfg *cfg;
    fv_t5 *m;
    fv_t5_grads *gr;
    fv_t5_lora_train *lt;  /* LoRA: the trained adapters (gr NULL: the base is frozen) */
    fv_t5_train *tr;
    fv_optimizer *opt;
    fv_gradnorm_plan *plan;
    fv_buf *norm_scratch, *norm;
    fv_graph *g_first, *g_accum, *g_update;
    fv_graph *g_last;      /* several ranks, accumulation, overlap: g_accum with the all-reduce's marks */
    fv_graph *g_norm;      /* several ranks: the gradient norm, after the all-reduce */
    fv_dp dp;              /* data parallel: the communicator and the trainable gradients */
    fv_tokenizer *tok;
    const char *tok_dir;
    fv_train_data data;
    fv_train_state st;
    fv_train_history hist; /* loss and eval histories (the checkpoint's and the plot's) */
    uint32_t caploss, capeval;
    fv_evaluator *ev;
    uint32_t eval_every;
    /* host batch arrays */
    fv_t5_host_arrays hb;  /* the batch as the host builds it */
    /* micro-batches: B rows each, accum of them per step (more than --accum when a batch of
     * --batch-size rows has an activation beyond the storage-buffer range); micro = which one */
    uint32_t B, accum, micro;
    FILE *csv;
} run;

static int fill_batch(run *r, uint64_t pos, uint64_t *tokens) {
    const fv_train_data *data = &r->data;
    uint32_t B = r->B, L = data->L, L2 = data->L2;
    fv_t5_host_arrays *h = &r->hb;
    fv_t5_host_arrays_clear(h); /* labels FV_PACK_IGNORE (-100) */
    /* This rank's share of the global batch (train/data_parallel.h); when every row fits in one
     * global batch, every step uses every row and the rest is padding. */
    *tokens = 0;
    for (uint32_t b = 0; b < B; b++) {
        uint64_t i = fv_dp_row_of(r->dp.c, data->rows, r->cfg->batch_size, B, pos, r->micro, b, r->dp.c->rank);
        if (i == UINT64_MAX) break;
        fv_pack_row row = fv_train_data_row(data, i);
        fv_pack_arrays a = {(int32_t *)h->eid + (size_t)b * L, h->eseg + (size_t)b * L, h->epos + (size_t)b * L,
                            (int32_t *)h->did + (size_t)b * L2, h->dseg + (size_t)b * L2, h->dpos + (size_t)b * L2,
                            h->lab + (size_t)b * L2};
        char what[600];
        snprintf(what, sizeof what, "%s: row %llu", data->path, (unsigned long long)i);
        FV_TRY(fv_pack_expand_row(&row, L, L2, (uint32_t)r->m->cfg.vocab_size, &a, NULL, what));
        for (uint32_t t = 0; t < L; t++) *tokens += a.enc_seg[t] != 0;
        for (uint32_t t = 0; t < L2; t++) *tokens += a.dec_seg[t] != 0;
    }
    fv_t5_host_batch view = fv_t5_host_arrays_view(h);
    return fv_t5_batch_upload(r->m, &r->tr->in, &view);
}

/* Target tokens of the rows micro-batch k of `rank` takes in the step starting at pos (without
 * uploading): every rank counts the whole global batch itself, no communication. */
static uint64_t count_targets(const run *r, uint64_t pos, uint32_t k, int rank) {
    const fv_train_data *data = &r->data;
    uint64_t n = 0;
    for (uint32_t b = 0; b < r->B; b++) {
        uint64_t i = fv_dp_row_of(r->dp.c, data->rows, r->cfg->batch_size, r->B, pos, k, b, rank);
        if (i == UINT64_MAX) break;
        fv_pack_row row = fv_train_data_row(data, i);
        for (uint32_t t = 0; t < data->L2; t++) n += row.dec_seg[t] != 0;
    }
    return n;
}

static int record(run *r) {
    fv_dev *d = r->d;
    /* step graphs: [zero grads] + forward + loss + backward + gradient norm; with several ranks
     * the norm is of the reduced gradient, in a graph of its own run after the all-reduce */
    int several = r->dp.c->size > 1;
    for (int k = 0; k < 4; k++) {
        /* g_last: the last micro-batch, whose backward the all-reduce overlaps (only it: the
         * gradients are complete only then), recorded apart from g_accum's other replays */
        fv_graph **g = k == 3 ? &r->g_last : k == 2 ? &r->g_norm : k ? &r->g_accum : &r->g_first;
        if ((k == 1 && r->accum <= 1) || (k == 2 && !several) || (k == 3 && !(several && r->dp.overlap && r->accum > 1)))
            continue;
        FV_TRY(fv_graph_create(d, g));
        FV_TRY(fv_graph_begin(*g));
        if (k != 2) FV_TRY(fv_t5_train_record(*g, r->tr, !k));
        if (k == 2 || !several) FV_TRY(fv_gradnorm(*g, r->plan, fv_tensor(r->norm_scratch, 0), fv_tensor(r->norm, 0)));
        FV_TRY(fv_graph_end(*g));
    }
    FV_TRY(fv_dp_overlap(&r->dp, d, r->accum > 1 ? r->g_last : r->g_first));
    FV_TRY(fv_graph_create(d, &r->g_update));
    FV_TRY(fv_graph_begin(r->g_update));
    if (r->cfg->clip > 0) FV_TRY(fv_gradnorm_clip(r->g_update, r->plan, fv_tensor(r->norm, 0), r->cfg->clip));
    FV_TRY(fv_optimizer_record(r->opt, r->g_update));
    /* mixed precision: the GEMMs' fp16 weights follow the updated fp32 masters */
    FV_TRY(fv_t5_train_refresh_shadows(r->g_update, r->tr));
    return fv_graph_end(r->g_update);
}

static int push_loss(run *r, float loss) {
    fv_train_history *h = &r->hist;
    if (h->nloss >= r->caploss) {
        r->caploss = h->nloss >= 128 ? 2 * h->nloss : 256;
        float *n = realloc(h->loss, r->caploss * sizeof *n);
        if (!n) return fv_err("out of host memory");
        h->loss = n;
    }
    h->loss[h->nloss++] = loss;
    return 0;
}

static int push_eval(run *r, uint32_t step, float loss) {
    fv_train_history *h = &r->hist;
    if (h->neval >= r->capeval) {
        r->capeval = h->neval >= 32 ? 2 * h->neval : 64;
        float *n = realloc(h->eval, 2 * r->capeval * sizeof *n);
        if (!n) return fv_err("out of host memory");
        h->eval = n;
    }
    h->eval[2 * h->neval] = (float)step;
    h->eval[2 * h->neval + 1] = loss;
    h->neval++;
    return 0;
}

static const char *base_name(const char *path) {
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') n--;
    const char *s = path + n;
    while (s > path && s[-1] != '/') s--;
    return s;
}

/* The plot's title: model, optimizer, learning rate and schedule, batch x lengths. */
static void title(const run *r, char *out, size_t n) {
    const fv_train_cfg *c = r->cfg;
    char model[64];
    const char *dir = c->resume ? c->resume : c->model_dir;
    if (c->model_name) snprintf(model, sizeof model, "%s", c->model_name);
    else if (dir) snprintf(model, sizeof model, "%.*s", (int)strcspn(base_name(dir), "/"), base_name(dir));
    else snprintf(model, sizeof model, "T5 d_model %d", r->m->cfg.d_model);
    char accum[32] = "";
    if (r->accum > 1) snprintf(accum, sizeof accum, " (%u x %u)", r->accum, r->B);
    snprintf(out, n, "%s  %s lr %g %s  batch %u%s x %u+%u tokens", model, fv_optimizer_name(r->opt), c->sched.lr,
             fv_schedule_name(c->sched.kind), c->batch_size, accum, r->data.L, r->data.L2);
}

static int save_to(run *r, const char *dir) {
    const fv_train_cfg *c = r->cfg;
    if (r->dp.c->rank) return 0; /* rank 0 alone writes checkpoints (every rank holds the same state) */
    fv_schedule sched = c->sched;
    sched.total = c->steps;
    float *lr = malloc((r->hist.nloss ? r->hist.nloss : 1) * sizeof *lr);
    if (!lr) return fv_err("out of host memory");
    for (uint32_t i = 0; i < r->hist.nloss; i++) lr[i] = (float)fv_schedule_lr(&sched, i + 1);
    char t[200];
    title(r, t, sizeof t);
    fv_plot_run pr = {NULL, NULL, r->hist.loss, lr, r->hist.nloss, r->hist.eval, r->hist.neval};
    void *png = NULL;
    size_t png_size = 0;
    if (fv_plot_png(t, &pr, 1, &png, &png_size)) fv_warn("loss plot: %s", fv_last_error());
    free(lr);
    int rc = fv_checkpoint_save(dir, r->m, r->lt, r->opt, &r->st, r->tok_dir, &r->hist, png, png_size);
    if (!rc) fv_info("checkpoint: step %u saved to %s", r->st.step, dir);
    free(png);
    return rc;
}

static int save(run *r) { return save_to(r, r->cfg->out); }

static int save_best(run *r) {
    char dir[1024];
    FV_TRY(fv_path_join(dir, sizeof dir, r->cfg->out, "best"));
    return save_to(r, dir);
}

/* The held-out loss on the weights as they are now (after this step's update); updates the
 * best-so-far and the count of evaluations without improvement. */
static int evaluate(run *r, uint32_t step, double *loss, int *improved) {
    double sum;
    uint64_t count;
    FV_TRY(fv_evaluator_run(r->ev, &sum, &count));
    *loss = count ? sum / (double)count : NAN;
    *improved = isfinite(*loss) && (!r->st.best_step || *loss < r->st.best_eval);
    if (*improved) {
        r->st.best_eval = *loss;
        r->st.best_step = step;
        r->st.since_best = 0;
    } else {
        r->st.since_best++;
    }
    return push_eval(r, step, (float)*loss);
}

static int setup(run *r) {
    const fv_train_cfg *c = r->cfg;
    fv_dev *d = r->d;
    const char *model_dir = c->resume ? c->resume : c->model_dir;
    char base[1024];
    int lora = fv_train_lora_wanted(c);
    if (lora) { /* the frozen base, from --model or the adapter's base_model_name_or_path */
        FV_TRY(fv_train_lora_base(c, base, sizeof base));
        model_dir = base;
    }
    if (model_dir && lora) FV_TRY(fv_train_lora_load_base(d, c, model_dir, &r->m));
    else if (model_dir) FV_TRY(fv_t5_load(d, model_dir, &r->m, NULL, NULL));
    else {
        FV_TRY(fv_t5_create(d, &c->config, &r->m));
        FV_TRY(fv_t5_init_weights(r->m, c->seed));
    }
    r->tok_dir = c->tokenizer_dir ? c->tokenizer_dir : model_dir;
    if (r->tok_dir && fv_tokenizer_load(r->tok_dir, &r->tok)) {
        if (c->tokenizer_dir) return -1;
        r->tok = NULL; /* a model directory without tokenizer files: ids only */
        r->tok_dir = NULL;
    }
    FV_TRY(fv_train_data_open(&r->data, c->data, c->seq_in, c->seq_out, (uint32_t)r->m->cfg.vocab_size, r->tok));
    if (lora) FV_TRY(fv_train_lora_adapter(c, r->m, model_dir, &r->lt));
    else FV_TRY(fv_t5_grads_create(r->m, &r->gr));
    /* the trainable tensors: every weight, or the adapters */
    const fv_t5_param *params = r->m->params, *grads = r->gr ? r->gr->params : NULL;
    size_t ntrain = r->m->nparams;
    if (r->lt) fv_t5_lora_train_tensors(r->lt, &params, &grads, &ntrain);
    /* data parallel: the trainable gradients, summed over the ranks every step */
    FV_TRY(fv_dp_create(&r->dp, params, grads, ntrain));
    fv_t5_train_opts to = {.dropout = c->dropout, .checkpointing = c->grad_checkpointing,
                          .mixed_precision = c->mixed_precision, .lora = r->lt};
    FV_TRY(fv_t5_train_create_ex(r->m, r->gr, c->batch_size, r->data.L, r->data.L2, &to, &r->tr));
    r->B = c->batch_size;
    r->accum = c->accum ? c->accum : 1;
    uint64_t range = d->props.limits.maxStorageBufferRange;
    if (r->tr->largest > range && r->B > 1) {
        /* every activation grows with the rows: run the batch as micro-batches that fit, with the
         * gradients accumulated and the loss scaled as for the whole batch */
        uint64_t per_row = (r->tr->largest + r->B - 1) / r->B, fit = range / per_row;
        uint32_t b = fit < 1 ? 1 : (uint32_t)fit;
        while (c->batch_size % b) b--;
        fv_info("train: '%s' for %u rows would be %.1f MiB, beyond the device's storage buffer range of %.1f MiB: "
                "each batch runs as %u micro-batches of %u rows", r->tr->largest_what, r->B,
                r->tr->largest / 1048576.0, range / 1048576.0, c->batch_size / b, b);
        fv_t5_train_free(r->tr);
        r->tr = NULL;
        r->accum *= c->batch_size / b;
        r->B = b;
        FV_TRY(fv_t5_train_create_ex(r->m, r->gr, r->B, r->data.L, r->data.L2, &to, &r->tr));
    }
    /* With accumulation the loss is the mean over every target token of all micro-batches, as for
     * one big padded batch: the host writes 1 / (their count) as the loss scale. */
    r->tr->host_scale = r->accum > 1 || r->dp.c->size > 1; /* several ranks: over the global batch */
    FV_TRY(fv_optimizer_create(d, &c->opt, params, grads, ntrain, &r->opt));
    FV_TRY(r->lt ? fv_t5_lora_train_norm_plan(r->lt, &r->plan) : fv_t5_grads_norm_plan(r->gr, &r->plan));
    FV_TRY(fv_buf_alloc(d, (uint64_t)fv_gradnorm_scratch_size(r->plan) * 4 + 4, FV_MEM_DEVICE, "norm scratch", &r->norm_scratch));
    FV_TRY(fv_buf_alloc(d, 16, FV_MEM_UPLOAD, "gradient norm", &r->norm));
    FV_TRY(fv_t5_host_arrays_alloc(&r->hb, r->B, r->data.L, r->data.L2));
    fv_rng_seed(&r->st.rng, c->seed ^ 0x5eedull);
    if (c->resume) {
        FV_TRY(fv_checkpoint_load_state(c->resume, r->opt, &r->st, &r->hist));
        r->caploss = r->hist.nloss;
        r->capeval = r->hist.neval;
        /* into another directory: the best checkpoint so far comes along, so OUT/best is there
         * even if no later evaluation improves on it */
        char from[1024], to[1024];
        if (!r->dp.c->rank && c->keep_best && r->st.best_step && !fv_path_join(from, sizeof from, c->resume, "best") &&
            !fv_path_join(to, sizeof to, c->out, "best") && fv_file_exists(from) && !fv_file_exists(to)) {
            FV_TRY(fv_mkdirs(c->out));
            FV_TRY(fv_checkpoint_copy(from, to));
        }
        if (r->st.step > c->steps)
            return fv_err("%s: already at step %u, past --steps %u", c->resume, r->st.step, c->steps);
    }
    if (c->eval_data) {
        /* checked whole now: a bad eval file stops the run before its first step */
        /* LoRA: the evaluator's forward reads the adapters being trained (attached for inference,
         * sharing their buffers, until the model is freed) */
        if (r->lt) FV_TRY(fv_t5_lora_train_share(r->lt));
        FV_TRY(fv_evaluator_create(r->m, c->eval_data, c->batch_size, c->eval_batches, r->tok, &r->ev));
        r->eval_every = c->eval_every ? c->eval_every : c->save_every ? c->save_every : (c->steps >= 10 ? c->steps / 10 : 1);
        uint64_t rows, targets;
        uint32_t batches;
        fv_evaluator_size(r->ev, &rows, &batches, &targets);
        fv_info("eval: %s, %llu rows in %u batches, %llu target tokens, every %u steps", c->eval_data,
                (unsigned long long)rows, batches, (unsigned long long)targets, r->eval_every);
    }
    FV_TRY(record(r));
    if (c->log_csv && !r->dp.c->rank) FV_TRY(fv_train_log_open(c->log_csv, c->resume != NULL, r->st.step, &r->csv));
    return 0;
}

static int train_loop(run *r, fv_train_result *res) {
    const fv_train_cfg *c = r->cfg;
    fv_schedule sched = c->sched;
    sched.total = c->steps;
    uint32_t bad_in_a_row = 0, accum = r->accum;
    double t_start = fv_bench_now();
    uint32_t first_step = r->st.step;
    while (r->st.step < c->steps) {
        uint32_t step = r->st.step + 1;
        double t0 = fv_bench_now(), lr = fv_schedule_lr(&sched, step), sum_all = 0;
        uint32_t count_all = 0;
        uint64_t tokens = 0, tok;
        if (r->tr->host_scale) {
            /* the mean over every target token of the global batch: all micro-batches of all ranks */
            uint64_t total = 0;
            for (int q = 0; q < r->dp.c->size; q++)
                for (uint32_t k = 0; k < accum; k++) total += count_targets(r, r->st.data_pos, k, q);
            FV_TRY(fv_t5_train_set_scale(r->tr, total ? 1.0f / (float)total : 0.0f));
        }
        for (uint32_t k = 0; k < accum; k++) {
            r->micro = k;
            FV_TRY(fill_batch(r, r->st.data_pos, &tok));
            tokens += tok;
            /* every rank draws the same seeds (the state stays one); the rank is mixed in so that
             * ranks do not drop the same positions of their rows */
            uint32_t seed = (uint32_t)fv_rng_u64(&r->st.rng) ^ (uint32_t)r->dp.c->rank * 0x9E3779B9u;
            FV_TRY(fv_t5_train_set_seed(r->tr, seed));
            fv_graph *g = k ? r->g_accum : r->g_first;
            /* the last one also sums the gradients over the ranks, overlapped when planned */
            if (k + 1 == accum) FV_TRY(fv_dp_run_last(&r->dp, r->d, r->g_last ? r->g_last : g));
            else FV_TRY(fv_graph_run(g));
            double sum;
            uint32_t count;
            FV_TRY(fv_t5_train_read_loss(r->tr, &sum, &count));
            sum_all += sum;
            count_all += count;
        }
        if (r->data.rows > (uint64_t)r->dp.c->size * c->batch_size)
            r->st.data_pos = (r->st.data_pos + fv_dp_step_rows(r->dp.c, r->B, accum)) % r->data.rows;
        double global[3] = {sum_all, (double)count_all, (double)tokens};
        if (r->dp.c->size > 1) {
            /* the norm of the summed gradient of the global batch; the loss of all ranks */
            FV_TRY(fv_graph_run(r->g_norm));
            FV_TRY(fv_dist_sum_f64(global, 3));
            tokens = (uint64_t)global[2];
        }
        float norm = 0;
        FV_TRY(fv_buf_read(r->d, r->norm, 0, &norm, 4));
        double loss = global[1] > 0 ? global[0] / global[1] : NAN;
        int skip = !isfinite(loss) || !isfinite(norm);
        FV_TRY(fv_dist_any(skip, &skip)); /* one decision for all ranks */
        if (skip) {
            r->st.skipped++;
            if (!r->dp.c->rank) /* the same on every rank: said once */
                fv_warn("step %u: loss %g, gradient norm %g: not finite, step skipped", step, loss, (double)norm);
            if (++bad_in_a_row >= MAX_BAD_STEPS_IN_A_ROW)
                return fv_dist_agree(fv_err("%u steps in a row had a non-finite loss or gradient norm; stopped at step %u "
                              "(the last checkpoint in %s is untouched)", bad_in_a_row, step, c->out));
        } else {
            bad_in_a_row = 0;
            FV_TRY(fv_optimizer_set_step(r->opt, step - r->st.skipped, lr));
            FV_TRY(fv_graph_run(r->g_update));
            FV_TRY(fv_dist_agree(fv_dp_check_params(&r->dp, r->d, step)));
        }
        r->st.step = step;
        FV_TRY(push_loss(r, (float)loss));
        if (res->steps_done == 0) res->first_loss = loss;
        res->steps_done++;
        res->last_loss = loss;
        double dt = fv_bench_now() - t0;
        double tps = dt > 0 ? tokens / dt : 0;
        /* the eval runs on this step's updated weights, outside the step's timing */
        double eval_loss = NAN;
        int evaluated = r->ev && (step % r->eval_every == 0 || step == c->steps), improved = 0, stop = 0;
        if (evaluated) {
            FV_TRY(evaluate(r, step, &eval_loss, &improved));
            res->evals++;
            res->last_eval_loss = eval_loss;
            stop = c->early_stop && r->st.since_best >= c->early_stop;
        }
        double elapsed = fv_bench_now() - t_start;
        if (r->csv) FV_TRY(fv_train_log_step(r->csv, c->log_csv, step, loss, lr, norm, tps, evaluated, eval_loss));
        if (c->progress && !r->dp.c->rank) {
            uint32_t done = step - first_step;
            fv_train_progress p = {step, c->steps, loss, lr, norm, tps,
                                   done ? elapsed / done * (c->steps - step) : 0, skip,
                                   evaluated, eval_loss, r->st.best_eval, r->st.best_step, stop};
            c->progress(&p, c->user);
        }
        if (improved && c->keep_best) FV_TRY(save_best(r));
        if (stop) {
            res->stopped_early = 1;
            fv_info("early stop at step %u: no lower eval loss in %u evaluations (best %.6f at step %u)", step,
                    r->st.since_best, r->st.best_eval, r->st.best_step);
            break;
        }
        if (c->save_every && step % c->save_every == 0 && step < c->steps) FV_TRY(save(r));
    }
    return save(r);
}

int fv_train(fv_dev *d, const fv_train_cfg *cfg, fv_train_result *res) {
    memset(res, 0, sizeof *res);
    if (!cfg->data || !cfg->out) return fv_err("train: --data and --out are required");
    if (!cfg->steps) return fv_err("train: --steps must be at least 1");
    if (!cfg->batch_size) return fv_err("train: --batch-size must be at least 1");
    if (!cfg->eval_data && (cfg->keep_best || cfg->early_stop || cfg->eval_every || cfg->eval_batches))
        return fv_err("train: --eval-every, --eval-batches, --keep-best and --early-stop need --eval-data");
    run r = {.d = d, .cfg = cfg, .dp.c = fv_dist_get()};
    fv_mem_reset_peak(d);
    /* with several ranks: a failure any rank meets in setup (bad checkpoint, data, flags) stops
     * every rank with one message (src/dist/comm.h); a failure in the loop ends the job */
    int rc = fv_dist_agree(setup(&r));
    if (!rc) rc = fv_dist_agree(fv_dp_check_start(&r.dp, d, cfg, r.m, &r.data));
    if (!rc && r.dp.c->size > 1)
        fv_info("train: rank %d of %d, %u rows per rank per micro-batch, global batch %llu rows", r.dp.c->rank,
                r.dp.c->size, r.B, (unsigned long long)fv_dp_step_rows(r.dp.c, r.B, r.accum));
    if (!rc) rc = train_loop(&r, res);
    if (rc && r.dp.c->size > 1 && !r.dp.c->agreed_failure)
        rc = fv_err_wrap("rank %d of %d", r.dp.c->rank, r.dp.c->size);
    res->skipped = r.st.skipped;
    res->best_eval_loss = r.st.best_step ? r.st.best_eval : NAN;
    res->best_step = r.st.best_step;
    if (!res->evals) res->last_eval_loss = NAN;
    res->peak_device_bytes = fv_mem_peak(d);
    res->adapter = r.lt != NULL;
    if (r.csv) fclose(r.csv);
    fv_evaluator_free(r.ev);
    fv_graph_destroy(r.g_first);
    fv_graph_destroy(r.g_accum);
    fv_graph_destroy(r.g_update);
    fv_graph_destroy(r.g_norm);
    fv_graph_destroy(r.g_last);
    fv_dp_free(&r.dp);
    fv_buf_free(d, r.norm_scratch);
    fv_buf_free(d, r.norm);
    if (r.plan) fv_gradnorm_plan_destroy(d, r.plan);
    fv_optimizer_free(r.opt);
    fv_t5_train_free(r.tr);
    fv_t5_grads_free(r.gr);
    fv_t5_lora_train_free(r.lt);
    fv_train_data_close(&r.data);
    fv_tokenizer_free(r.tok);
    fv_t5_free(r.m);
    free(r.hist.loss);
    free(r.hist.eval);
    fv_t5_host_arrays_free(&r.hb);
    return rc;
}
