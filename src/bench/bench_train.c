/* `flanvk bench train`: the speed of one T5 training step (the trainer's recorded graphs) and its
 * split into forward, loss + LM head, backward and optimizer, with the model FLOPs utilisation
 * against the FMA peak measured in the same run, and peak device memory.
 *
 * The batch is B packed rows: each row holds 4 examples of seq_in/4 input and seq_out/4 target
 * tokens (segment ids 1..4, positions restarting), every slot filled, so the tokens of a step are
 * B * (seq_in + seq_out). Dropout is the config's (0.1 for Flan-T5), as a finetune runs it.
 *
 * Timing: the whole step as the trainer replays it (one graph: zero gradients, forward, loss,
 * backward, gradient norm; then the update graph), best of `steps` replays after a warm-up; and
 * the pieces recorded in separate graphs and replayed one by one (forward = zeroing + encoder +
 * decoder; head = logits, cross-entropy and the LM head's backward, fused per chunk of rows;
 * backward = the rest of the backward + the gradient norm; optimizer = the update). Separate
 * graphs add a submit and a wait each, so the pieces sum to slightly more than the whole step.
 * With mixed_precision the update graph also refreshes the fp16 weight shadows from the updated
 * masters (model/t5_train_step.h), as the trainer's does, so that cast counts as optimizer time.
 *
 * Model FLOPs: the matmul FLOPs of the step counted exactly from the shapes and the batch
 * (forward_flops below): forward products 2*m*n*k for every projection, the attention products
 * Q K^T and P V over the (query, key) pairs the masks leave visible (same packed segment, and
 * key <= query in the decoder's self-attention: the attention kernels skip the blocks with none,
 * so counting the full score matrices would credit work never done), the cross-attention K|V
 * projection of the encoder output and the LM head; the backward is twice the forward (input and
 * weight gradient of every product). The usual 6 * params * tokens is printed beside it.
 *
 * Under mpirun (several ranks, src/dist): every step also sums the gradients over the ranks as
 * the trainer does (the bucketed all-reduce overlapped with the backward, dist/overlap.h, or with
 * FLANVK_DIST_OVERLAP=0 after the step graph; then the gradient norm of the sum in a graph of its
 * own, then the update), and rank 0 prints the global tokens/s (all ranks' tokens over the slowest
 * rank's step), each rank's, the all-reduce's time (first bucket started to sums back on the
 * device), the part of it blocked waiting for the other ranks, and the part exposed after the
 * backward had finished; the rest was hidden behind the backward.
 *
 * --lora-rank R (issue #13): the LoRA step flanvk train --lora-rank runs, adapters on q, v of a
 * frozen base held as --weights (the trainer's default: bf16 with 16-bit storage), no weight
 * gradients; the backward is then the input gradients only (model FLOPs 2x the forward).
 * --grad-checkpointing as flanvk train's. --config xl etc. builds random weights of that shape. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_model.h"
#include "io/peft.h"
#include "model/t5_grads.h"
#include "model/t5_lora_train.h"
#include "model/t5_train_step.h"
#include "ops/gradnorm.h"
#include "ref/attn_ranges.h"
#include "train/data_parallel.h"
#include "train/optimizer.h"

/* Visible (query, key) pairs of the batch's three attention kinds (see the header). */
typedef struct { double enc, dec, cross; } attn_pairs;

/* Forward matmul FLOPs of one step; the step is 3 times this. */
static double forward_flops(const fv_t5 *m, uint32_t B, uint32_t Te, uint32_t Td, const attn_pairs *pr) {
    const fv_t5_config *c = &m->cfg;
    double D = c->d_model, in = m->inner, H = c->num_heads, dk = c->d_kv, F = c->d_ff, V = c->vocab_size;
    double FF = c->is_gated_act ? 2 * F : F, Ne = (double)B * Te, Nd = (double)B * Td;
    double enc = 2 * Ne * D * 3 * in + 4 * H * dk * pr->enc + 2 * Ne * in * D + 2 * Ne * D * FF + 2 * Ne * F * D;
    double dec = 2 * Nd * D * 3 * in + 4 * H * dk * pr->dec + 2 * Nd * in * D /* self */
                 + 2 * Nd * D * in + 2 * Ne * D * 2 * in + 4 * H * dk * pr->cross + 2 * Nd * in * D /* cross */
                 + 2 * Nd * D * FF + 2 * Nd * F * D;
    return c->num_layers * enc + c->num_decoder_layers * dec + 2 * Nd * D * V;
}

/* Visible pairs of one attention kind of the batch, under the kernels' mask rule. */
static double visible_pairs(const int32_t *sq, const int32_t *sk, uint32_t B, uint32_t Tq, uint32_t Tk, int causal) {
    fv_attn_desc a = {.B = B, .Tq = Tq, .Tk = Tk, .causal = causal};
    return fv_ref_attn_pairs(&a, sq, sk);
}

typedef struct {
    fv_t5 *m;
    fv_t5_grads *gr;
    fv_t5_lora_train *lt; /* a LoRA step: the adapters (gr NULL: the base is frozen) */
    fv_t5_train *tr;
    fv_optimizer *opt;
    fv_gradnorm_plan *plan;
    fv_buf *norm_scratch, *norm;
    fv_graph *g_step, *g_update, *g_fwd, *g_head, *g_bwd;
    fv_graph *g_norm; /* several ranks: the norm of the summed gradients, after the all-reduce */
    attn_pairs pairs;
    fv_dp dp; /* the gradients the ranks sum */
} rig;

static int make_batch(rig *r, uint32_t B, uint32_t L, uint32_t L2) {
    const uint32_t per = 4, V = (uint32_t)r->m->cfg.vocab_size;
    size_t ne = (size_t)B * L, nd = (size_t)B * L2;
    fv_t5_host_arrays h;
    FV_TRY(fv_t5_host_arrays_alloc(&h, B, L, L2));
    uint32_t *eid = h.eid, *did = h.did;
    int32_t *eseg = h.eseg, *epos = h.epos, *dseg = h.dseg, *dpos = h.dpos, *lab = h.lab;
    int rc = 0;
    uint64_t x = 12345;
    for (size_t i = 0; !rc && i < ne; i++) {
        uint32_t t = (uint32_t)(i % L), seglen = (L + per - 1) / per;
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        eid[i] = 3 + (uint32_t)((x >> 33) % (V - 200));
        eseg[i] = (int32_t)(t / seglen + 1);
        epos[i] = (int32_t)(t % seglen);
    }
    for (size_t i = 0; !rc && i < nd; i++) {
        uint32_t t = (uint32_t)(i % L2), seglen = (L2 + per - 1) / per;
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        lab[i] = (int32_t)(3 + (x >> 33) % (V - 200));
        dseg[i] = (int32_t)(t / seglen + 1);
        dpos[i] = (int32_t)(t % seglen);
        did[i] = dpos[i] == 0 ? (uint32_t)r->m->cfg.decoder_start_token_id : (uint32_t)lab[i - 1];
    }
    r->pairs = (attn_pairs){visible_pairs(eseg, eseg, B, L, L, 0), visible_pairs(dseg, dseg, B, L2, L2, 1),
                            visible_pairs(dseg, eseg, B, L2, L, 0)};
    if (!rc) {
        fv_t5_host_batch hb = fv_t5_host_arrays_view(&h);
        rc = fv_t5_batch_upload(r->m, &r->tr->in, &hb);
    }
    fv_t5_host_arrays_free(&h);
    return rc;
}

static int setup(rig *r, fv_dev *d, const fv_bench_train_opts *o, uint32_t B, uint32_t L, uint32_t L2) {
    int wt = FV_WT_F32;
    if (o->weights && fv_wtype_parse(o->weights, (enum fv_wtype *)&wt))
        return fv_err("bench train: --weights '%s': f32, f16, bf16 or q8", o->weights);
    if (o->weights && wt != FV_WT_F32 && o->lora_rank <= 0)
        return fv_err("bench train: --weights %s holds a frozen base: it needs --lora-rank", o->weights);
    if (!o->weights && o->lora_rank > 0 && d->fp16) wt = FV_WT_BF16; /* flanvk train's default */
    FV_TRY(fv_bench_model_open_typed(d, o->model_dir, o->config, &wt, &r->m));
    if (o->lora_rank > 0) { /* PEFT's defaults (q, v; alpha 8) at this rank, a fresh adapter */
        fv_peft_config pc;
        fv_peft_config_defaults(&pc);
        pc.r = o->lora_rank;
        fv_peft_adapter a;
        FV_TRY(fv_peft_init(&a, &pc, &r->m->cfg, 1));
        int rc = fv_t5_lora_train_create(r->m, &a, &r->lt);
        fv_peft_free(&a);
        FV_TRY(rc);
    } else {
        FV_TRY(fv_t5_grads_create(r->m, &r->gr));
    }
    fv_t5_train_opts to = {.dropout = -1.0f, .mixed_precision = o->mixed_precision,
                           .checkpointing = o->grad_checkpointing, .lora = r->lt};
    FV_TRY(fv_t5_train_create_ex(r->m, r->gr, B, L, L2, &to, &r->tr));
    fv_optimizer_cfg oc = {.kind = FV_OPT_ADAMW, .adamw = fv_adamw_defaults(), .adafactor = fv_adafactor_defaults()};
    if (o->optimizer && !strcmp(o->optimizer, "adafactor")) oc.kind = FV_OPT_ADAFACTOR;
    else if (o->optimizer && strcmp(o->optimizer, "adamw"))
        return fv_err("bench train: unknown optimizer '%s' (adamw, adafactor)", o->optimizer);
    oc.adamw.lr = 1e-4;
    const fv_t5_param *params = r->m->params, *grads = r->gr ? r->gr->params : NULL;
    size_t ntrain = r->m->nparams;
    if (r->lt) fv_t5_lora_train_tensors(r->lt, &params, &grads, &ntrain);
    FV_TRY(fv_optimizer_create(d, &oc, params, grads, ntrain, &r->opt));
    FV_TRY(fv_optimizer_set_step(r->opt, 1, 1e-4));
    FV_TRY(r->lt ? fv_t5_lora_train_norm_plan(r->lt, &r->plan) : fv_t5_grads_norm_plan(r->gr, &r->plan));
    FV_TRY(fv_dp_create(&r->dp, params, grads, ntrain));
    FV_TRY(fv_buf_alloc(d, (uint64_t)fv_gradnorm_scratch_size(r->plan) * 4 + 4, FV_MEM_DEVICE, "norm scratch",
                        &r->norm_scratch));
    FV_TRY(fv_buf_alloc(d, 16, FV_MEM_DEVICE, "gradient norm", &r->norm));
    FV_TRY(make_batch(r, B, L, L2));
    FV_TRY(fv_t5_train_set_seed(r->tr, 1));
    fv_t nrm = fv_tensor(r->norm, 0), scr = fv_tensor(r->norm_scratch, 0);
    /* the trainer's graphs */
    FV_TRY(fv_graph_create(d, &r->g_step));
    FV_TRY(fv_graph_begin(r->g_step));
    FV_TRY(fv_t5_train_record(r->g_step, r->tr, 1));
    if (r->dp.c->size == 1) FV_TRY(fv_gradnorm(r->g_step, r->plan, scr, nrm));
    FV_TRY(fv_graph_end(r->g_step));
    if (r->dp.c->size > 1) {
        FV_TRY(fv_graph_create(d, &r->g_norm));
        FV_TRY(fv_graph_begin(r->g_norm));
        FV_TRY(fv_gradnorm(r->g_norm, r->plan, scr, nrm));
        FV_TRY(fv_graph_end(r->g_norm));
        FV_TRY(fv_dp_overlap(&r->dp, d, r->g_step));
    }
    FV_TRY(fv_graph_create(d, &r->g_update));
    FV_TRY(fv_graph_begin(r->g_update));
    FV_TRY(fv_optimizer_record(r->opt, r->g_update));
    FV_TRY(fv_t5_train_refresh_shadows(r->g_update, r->tr));
    FV_TRY(fv_graph_end(r->g_update));
    /* the pieces */
    FV_TRY(fv_graph_create(d, &r->g_fwd));
    FV_TRY(fv_graph_begin(r->g_fwd));
    FV_TRY(r->lt ? fv_t5_lora_train_zero_grads(r->g_fwd, r->lt) : fv_t5_grads_zero(r->g_fwd, r->gr));
    FV_TRY(fv_t5_train_forward(r->g_fwd, r->tr));
    FV_TRY(fv_graph_end(r->g_fwd));
    FV_TRY(fv_graph_create(d, &r->g_head));
    FV_TRY(fv_graph_begin(r->g_head));
    FV_TRY(fv_t5_train_loss_and_head(r->g_head, r->tr));
    FV_TRY(fv_graph_end(r->g_head));
    FV_TRY(fv_graph_create(d, &r->g_bwd));
    FV_TRY(fv_graph_begin(r->g_bwd));
    FV_TRY(fv_t5_train_backward(r->g_bwd, r->tr));
    FV_TRY(fv_gradnorm(r->g_bwd, r->plan, scr, nrm));
    return fv_graph_end(r->g_bwd);
}

static void teardown(rig *r, fv_dev *d) {
    fv_graph_destroy(r->g_step);
    fv_graph_destroy(r->g_update);
    fv_graph_destroy(r->g_fwd);
    fv_graph_destroy(r->g_head);
    fv_graph_destroy(r->g_bwd);
    fv_graph_destroy(r->g_norm);
    fv_buf_free(d, r->norm_scratch);
    fv_buf_free(d, r->norm);
    if (r->plan) fv_gradnorm_plan_destroy(d, r->plan);
    fv_optimizer_free(r->opt);
    fv_t5_train_free(r->tr);
    fv_t5_grads_free(r->gr);
    fv_t5_lora_train_free(r->lt);
    fv_t5_free(r->m);
    fv_dp_free(&r->dp);
}

static int timed(fv_graph *g, double *best) {
    double t0 = fv_bench_now();
    FV_TRY(fv_graph_run(g));
    double t = (fv_bench_now() - t0) * 1e3;
    if (t < *best) *best = t;
    return 0;
}

int fv_bench_train(fv_dev *d, const fv_bench_train_opts *o, FILE *f, int json) {
    uint32_t B = o->batch_size ? o->batch_size : 8, L = o->seq_in ? o->seq_in : 512, L2 = o->seq_out ? o->seq_out : 128;
    int steps = o->steps > 0 ? o->steps : 2;
    if (o->optimizer && strcmp(o->optimizer, "adamw") && strcmp(o->optimizer, "adafactor"))
        return fv_err("bench train: unknown optimizer '%s' (adamw, adafactor)", o->optimizer);
    if (L < 4 || L2 < 4) return fv_err("bench train: --seq-len-in and --seq-len-out must be at least 4 (4 packed examples per row)");
    fv_t5_config preset;
    if (o->config && !o->model_dir) FV_TRY(fv_t5_config_preset(&preset, o->config)); /* fail before the peak run */
    fv_bench_out out = {.f = f, .json = json};
    if (!o->memory_only) FV_TRY(fv_bench_peak(d, &out.peak));
    if (!json && !o->memory_only) fv_bench_print_peak(&out, d);
    fv_mem_reset_peak(d);
    rig r = {0};
    int rc = setup(&r, d, o, B, L, L2);
    if (!rc && o->memory_only) { /* everything is allocated and recorded: the step's memory, no run */
        uint64_t peak_bytes = fv_mem_peak(d);
        if (json)
            fprintf(f, "{\"peak_device_bytes\": %llu, \"weights_bytes\": %llu, \"batch\": %u, \"seq_in\": %u, "
                       "\"seq_out\": %u, \"optimizer\": \"%s\", \"mixed_precision\": %d, \"grad_checkpointing\": %d, "
                       "\"lora_rank\": %d, \"weights\": \"%s\", \"memory_only\": 1}\n",
                    (unsigned long long)peak_bytes, (unsigned long long)r.m->weight_bytes, B, L, L2,
                    fv_optimizer_name(r.opt), r.tr->mixed, r.tr->checkpointing, r.lt ? o->lora_rank : 0,
                    fv_wtype_name(r.m->wtype));
        else
            fprintf(f, "%s, %.1fM parameters (%s, %.1f MiB), batch %u x (%u in + %u out)%s%s: peak device memory %.1f MiB "
                       "(allocated and recorded, not run)\n",
                    o->model_dir ? o->model_dir : o->config, r.m->nvalues / 1e6, fv_wtype_name(r.m->wtype),
                    r.m->weight_bytes / 1048576.0, B, L, L2, r.tr->checkpointing ? ", gradient checkpointing" : "",
                    r.lt ? ", LoRA" : "", peak_bytes / 1048576.0);
        teardown(&r, d);
        return 0;
    }
    d->max_submit_ms = 0;
    double ms_step = 1e30, ms_update = 1e30, ms_fwd = 1e30, ms_head = 1e30, ms_bwd = 1e30;
    /* several ranks: of the fastest whole step */
    double ms_reduce = 0, ms_wait = 0, ms_exposed = 0, ms_whole = 1e30;
    fv_dist *dc = fv_dist_get();
    /* warm-up: one whole step */
    if (!rc) rc = fv_dp_run_last(&r.dp, d, r.g_step);
    if (!rc && r.g_norm) rc = fv_graph_run(r.g_norm);
    if (!rc) rc = fv_graph_run(r.g_update);
    for (int s = 0; !rc && s < steps; s++) {
        fv_dist_reset_timers();
        double t0 = fv_bench_now();
        rc = fv_dp_run_last(&r.dp, d, r.g_step); /* alone: the step graph */
        if (!rc && r.g_norm) rc = fv_graph_run(r.g_norm);
        double t2 = fv_bench_now();
        if (!rc) rc = fv_graph_run(r.g_update);
        double t3 = fv_bench_now();
        if (rc) break;
        /* the step graph and the norm, without what the all-reduce added after the graph */
        double step = (t2 - t0) - dc->exposed_s;
        if (step * 1e3 < ms_step) ms_step = step * 1e3;
        if ((t3 - t2) * 1e3 < ms_update) ms_update = (t3 - t2) * 1e3;
        if ((t3 - t0) * 1e3 < ms_whole) {
            ms_whole = (t3 - t0) * 1e3;
            ms_reduce = dc->reduce_s * 1e3;
            ms_wait = dc->wait_s * 1e3;
            ms_exposed = dc->exposed_s * 1e3;
        }
    }
    /* per-rank figures to every rank (a sum of vectors with one slot filled each) */
    double *per = calloc((size_t)dc->size * 2, sizeof *per);
    if (!rc && !per) rc = fv_err("out of host memory");
    if (!rc && dc->size > 1) {
        per[2 * dc->rank] = ms_whole;
        per[2 * dc->rank + 1] = (double)B * (L + L2) / (ms_whole * 1e-3);
        rc = fv_dist_sum_f64(per, (size_t)dc->size * 2);
    }
    for (int s = 0; !rc && s < steps; s++) {
        rc = timed(r.g_fwd, &ms_fwd);
        if (!rc) rc = timed(r.g_head, &ms_head);
        if (!rc) rc = timed(r.g_bwd, &ms_bwd);
    }
    double sum = 0;
    uint32_t count = 0;
    if (!rc) rc = fv_t5_train_read_loss(r.tr, &sum, &count);
    if (!rc) {
        double total = ms_step + ms_update, tokens = (double)B * (L + L2);
        /* LoRA: no weight gradients, so forward + input gradients (the adapters' products not counted) */
        double mult = r.lt ? 2 : 3;
        double flops = mult * forward_flops(r.m, B, L, L2, &r.pairs), approx = 2 * mult * r.m->nvalues * tokens;
        double tps = tokens / (total * 1e-3), mfu = 100.0 * flops / (total * 1e-3) / (out.peak.gflops * 1e9);
        uint64_t peak_bytes = fv_mem_peak(d);
        if (json)
            fprintf(f,
                    "{\"tokens_per_s\": %.2f, \"ms_step\": %.2f, \"ms_forward\": %.2f, \"ms_loss_head\": %.2f, "
                    "\"ms_backward\": %.2f, \"ms_optimizer\": %.2f, \"mfu_pct\": %.2f, \"model_gflop_per_step\": %.2f, "
                    "\"peak_gflops\": %.2f, \"peak_device_bytes\": %llu, \"batch\": %u, \"seq_in\": %u, \"seq_out\": %u, "
                    "\"optimizer\": \"%s\", \"mixed_precision\": %d, \"loss\": %.4f, \"max_submit_ms\": %.3f, "
                    "\"grad_checkpointing\": %d, \"lora_rank\": %d, \"weights\": \"%s\"}\n",
                    tps, total, ms_fwd, ms_head, ms_bwd, ms_update, mfu, flops * 1e-9, out.peak.gflops,
                    (unsigned long long)peak_bytes, B, L, L2, fv_optimizer_name(r.opt), r.tr->mixed,
                    count ? sum / count : NAN, d->max_submit_ms, r.tr->checkpointing, r.lt ? o->lora_rank : 0,
                    fv_wtype_name(r.m->wtype));
        else {
            fprintf(f, "model: %s, %.1fM parameters, %s; batch %u x (%u in + %u out) tokens, %s, dropout %.2g%s\n",
                    o->model_dir ? o->model_dir : o->config, r.m->nvalues / 1e6,
                    r.tr->mixed ? "mixed precision (fp16 projection weights)" : "fp32", B, L, L2, fv_optimizer_name(r.opt),
                    r.tr->dropout, r.tr->checkpointing ? ", gradient checkpointing" : "");
            if (r.lt)
                fprintf(f, "LoRA r %d on q, v; frozen %s base (no weight gradients)\n", o->lora_rank,
                        fv_wtype_name(r.m->wtype));
            fprintf(f, "step         %9.1f ms  = %.1f (forward, loss, backward, grad norm) + %.1f (optimizer)\n", total,
                    ms_step, ms_update);
            fprintf(f, "tokens/s     %9.1f\n", tps);
            fprintf(f, "pieces       forward %.1f ms, loss + LM head %.1f ms, backward %.1f ms, optimizer %.1f ms\n",
                    ms_fwd, ms_head, ms_bwd, ms_update);
            fprintf(f, "model FLOPs  %.1f GFLOP/step (matmuls, exact; 6*params*tokens: %.1f) -> %.1f GFLOP/s, MFU %.1f%%\n",
                    flops * 1e-9, approx * 1e-9, flops / (total * 1e6), mfu);
            fprintf(f, "peak device memory %.1f MiB; loss %.4f\n", peak_bytes / 1048576.0, count ? sum / count : NAN);
            double bound = fv_graph_submit_bound_ms(r.g_step);
            fprintf(f, "longest submission %.1f ms GPU time (FLANVK_MAX_SUBMIT_MS bound: %.0f ms, 0 = none); the step in %u submissions\n",
                    d->max_submit_ms, bound, fv_graph_num_segments(r.g_step));
        }
        if (dc->size > 1) {
            double slowest = 0, sum_tps = 0;
            for (int q = 0; q < dc->size; q++) {
                if (per[2 * q] > slowest) slowest = per[2 * q];
                sum_tps += per[2 * q + 1];
            }
            double global = dc->size * tokens / (slowest * 1e-3);
            uint64_t bytes = 0;
            for (size_t i = 0; i < r.dp.ngrads; i++) bytes += r.dp.grads[i].count * 4;
            /* the share of the all-reduce's time that ran while the backward still computed */
            double hidden = ms_reduce > 0 && ms_exposed < ms_reduce ? 1.0 - ms_exposed / ms_reduce : 0;
            uint32_t buckets = 0, marks = 0;
            if (r.dp.ov) fv_dist_overlap_size(r.dp.ov, &buckets, &marks);
            if (json)
                fprintf(f, "{\"ranks\": %d, \"global_tokens_per_s\": %.2f, \"rank0_tokens_per_s\": %.2f, "
                        "\"ms_whole_step\": %.2f, \"ms_allreduce\": %.2f, \"ms_allreduce_wait\": %.2f, "
                        "\"ms_allreduce_exposed\": %.2f, \"allreduce_overlap\": %.3f, \"overlap\": %d, "
                        "\"allreduce_buckets\": %u, \"allreduce_bytes\": %llu}\n", dc->size, global, per[1],
                        ms_whole, ms_reduce, ms_wait, ms_exposed, hidden, r.dp.ov != NULL, buckets,
                        (unsigned long long)bytes);
            else {
                fprintf(f, "ranks        %d: global %.1f tokens/s (all ranks' tokens over the slowest step, %.1f ms); "
                        "sum of per-rank rates %.1f\n", dc->size, global, slowest, sum_tps);
                for (int q = 0; q < dc->size; q++)
                    fprintf(f, "  rank %d     %9.1f tokens/s, step %.1f ms\n", q, per[2 * q + 1], per[2 * q]);
                fprintf(f, "all-reduce   %.1f MiB of gradients per step: %.1f ms = %.1f%% of rank 0's step "
                        "(%.1f ms of it blocked waiting for the other ranks)\n", bytes / 1048576.0, ms_reduce,
                        100.0 * ms_reduce / ms_whole, ms_wait);
                if (r.dp.ov)
                    fprintf(f, "overlap      %u buckets started at %u points of the backward: %.1f ms exposed after it "
                            "(%.1f%% of the step), %.1f%% of the all-reduce hidden behind it "
                            "(FLANVK_DIST_OVERLAP=0: after the step graph)\n", buckets, marks, ms_exposed,
                            100.0 * ms_exposed / ms_whole, 100.0 * hidden);
                else
                    fprintf(f, "overlap      off (FLANVK_DIST_OVERLAP=0): all of it after the step graph\n");
            }
        }
        fflush(f);
        if (o->profile && r.lt) fprintf(f, "(--profile: not for LoRA steps)\n");
        else if (o->profile) rc = fv_bench_profile_train(r.m, B, L, L2, total, ms_update, f, json);
    }
    free(per);
    teardown(&r, d);
    return rc;
}
