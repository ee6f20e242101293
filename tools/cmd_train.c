/* flanvk train: finetune a T5 on packed data; checkpoints in Hugging Face format. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_util.h"
#include "flanvk/dist.h"
#include "flanvk/train.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: flanvk train (--model DIR | --config tiny|small|base|large|FILE.json) --data FILE --out DIR --steps N\n"
            "  [--batch-size B (8)] [--seq-len-in L] [--seq-len-out L2] [--optimizer adamw|adafactor (adamw)]\n"
            "  [--lr X (1e-3)] [--weight-decay W (AdamW 0.01, Adafactor 0)] [--warmup N (0)]\n"
            "  [--schedule constant|linear|cosine|inverse-sqrt] [--accum K (1)] [--dropout P (config: 0.1)]\n"
            "  [--clip G (0 = off)] [--seed S] [--save-every N] [--log FILE.csv] [--resume DIR] [--tokenizer DIR]\n"
            "  AdamW: [--beta1 X (0.9)] [--beta2 X (0.999)] [--eps X (1e-8)]\n"
            "  Adafactor: [--beta1 X (None)] [--scale-parameter] [--relative-step] [--warmup-init]\n"
            "  [--grad-checkpointing] (recompute each block in the backward: less memory, ~1/3 more compute)\n"
            "  [--mixed-precision] (fp16 copies of the projection weights in the matmuls; fp32 master weights,\n"
            "   optimizer state and feed-forward output; needs fp16 storage, else fp32 with a warning)\n"
            "  [--eval-data FILE] [--eval-every N (--save-every, else steps/10)] [--eval-batches K (all)]\n"
            "   (held-out loss every N steps and at the end, dropout off; column eval_loss of --log)\n"
            "  [--keep-best] (also keep the checkpoint of the lowest eval loss as OUT/best)\n"
            "  [--early-stop PATIENCE] (stop after PATIENCE evaluations without a lower eval loss)\n"
            "  LoRA (adapters on a frozen base; OUT and each checkpoint are PEFT adapter directories):\n"
            "  [--lora-rank R] [--lora-alpha A (8, PEFT's default)] [--lora-dropout P (0)]\n"
            "  [--lora-targets q,v (default) | any of q,k,v,o,wi,wi_0,wi_1,wo | all] [--adapter DIR (start from it)]\n"
            "  [--weights f32|f16|bf16|q8 (the frozen base's storage; bf16 with 16-bit storage, else f32)]\n"
            "  [--device N] [--profile NAME]\n"
            "--data: a .pack file from flanvk mix, or a .jsonl file of {\"inputs\", \"targets\"} (text) or\n"
            "{\"input_ids\", \"target_ids\"} lines, packed on the fly. --steps is the total: a resumed run continues to it.\n"
            "Several devices or machines: `mpirun -np N flanvk train ...` with the same flags; --batch-size is per rank\n"
            "(global batch N x B x accum), each rank takes --device/FLANVK_DEVICE or its node-local rank modulo the\n"
            "devices; rank 0 writes the checkpoint and log. FLANVK_DIST_CHECK=1 compares the parameters of all ranks\n"
            "after every step. This flanvk is %s.\n", flanvk_dist_info());
}

static void progress(const flanvk_train_progress *p, void *user) {
    (void)user;
    int tty = isatty(2);
    if (p->evaluated) {
        /* its own line: on a terminal the bar's line is cleared first and redrawn below it */
        fprintf(stderr, "%sstep %u: eval loss %.4f (best %.4f at step %u)\n", tty ? "\r\033[K" : "", p->step,
                p->eval_loss, p->best_eval_loss, p->best_step);
    }
    if (!tty) return;
    int width = 24, fill = (int)(width * (double)p->step / (p->steps ? p->steps : 1));
    char bar[32];
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '=' : (i == fill ? '>' : ' ');
    bar[width] = 0;
    long left = (long)p->seconds_left;
    fprintf(stderr, "\r[%s] step %u/%u loss %.4f lr %.2e %.0f tok/s %ld:%02ld left%s ", bar, p->step, p->steps, p->loss,
            p->lr, p->tokens_per_s, left / 60, left % 60, p->skipped ? " (skipped)" : "");
    if (p->step == p->steps || p->stopped_early) fputc('\n', stderr);
}

int cmd_train(int argc, char **argv) {
    flanvk_train_params p;
    flanvk_train_params_default(&p);
    long device = -1, n;
    const char *tok = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        double x;
#define STR(field) do { if (!v) return cli_fail("train: %s needs a value", a); p.field = v; i++; } while (0)
#define INT(field, lo, hi) do { if (cli_parse_int(a, v, lo, hi, &n)) return 1; p.field = (uint32_t)n; i++; } while (0)
#define NUM(field) do { if (cli_parse_float(a, v, &x)) return 1; p.field = x; i++; } while (0)
        if (!strcmp(a, "--help")) { usage(stdout); return 0; }
        else if (!strcmp(a, "--model")) STR(model);
        else if (!strcmp(a, "--config")) STR(config);
        else if (!strcmp(a, "--data")) STR(data);
        else if (!strcmp(a, "--out")) STR(out);
        else if (!strcmp(a, "--resume")) STR(resume);
        else if (!strcmp(a, "--log")) STR(log_csv);
        else if (!strcmp(a, "--optimizer")) STR(optimizer);
        else if (!strcmp(a, "--schedule")) STR(schedule);
        else if (!strcmp(a, "--tokenizer")) { if (!v) return cli_fail("train: --tokenizer needs a value"); tok = v; i++; }
        else if (!strcmp(a, "--steps")) INT(steps, 1, 100000000);
        else if (!strcmp(a, "--batch-size")) INT(batch_size, 1, 65536);
        else if (!strcmp(a, "--seq-len-in")) INT(seq_len_in, 1, 65536);
        else if (!strcmp(a, "--seq-len-out")) INT(seq_len_out, 1, 65536);
        else if (!strcmp(a, "--warmup")) INT(warmup, 0, 100000000);
        else if (!strcmp(a, "--accum")) INT(accum, 1, 65536);
        else if (!strcmp(a, "--save-every")) INT(save_every, 0, 100000000);
        else if (!strcmp(a, "--eval-data")) STR(eval_data);
        else if (!strcmp(a, "--eval-every")) {
            if (v && !strcmp(v, "0")) return cli_fail("train: --eval-every must be at least 1 (evaluate every N steps)");
            INT(eval_every, 1, 100000000);
        }
        else if (!strcmp(a, "--eval-batches")) INT(eval_batches, 1, 100000000);
        else if (!strcmp(a, "--early-stop")) INT(early_stop, 1, 100000000);
        else if (!strcmp(a, "--keep-best")) p.keep_best = 1;
        else if (!strcmp(a, "--seed")) { if (cli_parse_int(a, v, 0, 0x7fffffffL, &n)) return 1; p.seed = (uint64_t)n; i++; }
        else if (!strcmp(a, "--device")) { if (cli_parse_int(a, v, 0, 63, &device)) return 1; i++; }
        else if (!strcmp(a, "--profile") || !strcmp(a, "--device-profile")) { if (cli_device_profile(a, v)) return 1; i++; }
        else if (!strcmp(a, "--lr")) NUM(lr);
        else if (!strcmp(a, "--weight-decay")) NUM(weight_decay);
        else if (!strcmp(a, "--dropout")) NUM(dropout);
        else if (!strcmp(a, "--clip")) NUM(clip);
        else if (!strcmp(a, "--beta1")) NUM(beta1);
        else if (!strcmp(a, "--beta2")) NUM(beta2);
        else if (!strcmp(a, "--eps")) NUM(eps);
        else if (!strcmp(a, "--scale-parameter")) p.scale_parameter = 1;
        else if (!strcmp(a, "--relative-step")) p.relative_step = 1;
        else if (!strcmp(a, "--warmup-init")) p.warmup_init = 1;
        else if (!strcmp(a, "--grad-checkpointing") || !strcmp(a, "--checkpointing")) p.grad_checkpointing = 1;
        else if (!strcmp(a, "--mixed-precision")) p.mixed_precision = 1;
        else if (!strcmp(a, "--lora-rank")) {
            if (cli_parse_int(a, v, 1, 65536, &n)) return 1;
            p.lora_rank = (int)n;
            i++;
        }
        else if (!strcmp(a, "--lora-alpha")) {
            NUM(lora_alpha);
            if (!(p.lora_alpha > 0)) return cli_fail("train: --lora-alpha %s: must be > 0", v);
        }
        else if (!strcmp(a, "--lora-dropout")) {
            NUM(lora_dropout);
            if (!(p.lora_dropout >= 0 && p.lora_dropout < 1)) return cli_fail("train: --lora-dropout %s: must be in [0, 1)", v);
        }
        else if (!strcmp(a, "--lora-targets")) STR(lora_targets);
        else if (!strcmp(a, "--adapter")) STR(adapter);
        else if (!strcmp(a, "--weights")) STR(weights);
        else return cli_fail("train: unknown option '%s' (see flanvk train --help)", a);
#undef STR
#undef INT
#undef NUM
    }
    if (!p.data || !p.out || !p.steps) return cli_fail("train: --data, --out and --steps are required");
    if (!p.model && !p.config && !p.resume) return cli_fail("train: give --model DIR or --config tiny|small|base|large|FILE.json");
    if (p.model && p.config) return cli_fail("train: give --model or --config, not both");
    if (!(p.lr > 0) && !p.relative_step) return cli_fail("train: --lr must be > 0");
    if (p.dropout >= 1) return cli_fail("train: --dropout must be below 1");
    if (p.clip < 0) return cli_fail("train: --clip must be >= 0");
    if (!p.eval_data && (p.eval_every || p.eval_batches || p.keep_best || p.early_stop))
        return cli_fail("train: --eval-every, --eval-batches, --keep-best and --early-stop need --eval-data");
    /* A fresh model has no tokenizer of its own: use the repository's T5 tokenizer when present. */
    if (!tok && !p.model && !p.resume) tok = cli_default_tokenizer();
    p.tokenizer = tok;
    p.progress = progress;
    /* under mpirun: join the job first, the rank decides the device */
    if (flanvk_dist_init()) return cli_lib_fail("train");
    int rank = flanvk_dist_rank(), size = flanvk_dist_size(), dev;
    flanvk_ctx *ctx;
    if (flanvk_dist_device((int)device, &dev) || flanvk_open(dev, &ctx)) {
        if (size > 1) cli_fail("train: rank %d of %d: %s", rank, size, flanvk_last_error());
        else cli_lib_fail("train");
        flanvk_dist_end(1); /* ends the other ranks too */
        return 1;
    }
    if (size > 1)
        fprintf(stderr, "train: rank %d of %d (rank %d on this machine) on device %u: %s\n", rank, size,
                flanvk_dist_local_rank(), flanvk_device(ctx)->index, flanvk_device(ctx)->name);
    flanvk_train_result r;
    int rc = flanvk_train(ctx, &p, &r);
    if (rc && flanvk_dist_reports_error()) cli_lib_fail("train");
    else if (!rc && rank == 0) {
        int lora = p.lora_rank > 0 || p.adapter || r.adapter;
        printf("trained %u steps (%u skipped): loss %.4f -> %.4f; peak device memory %.1f MiB; %s in %s\n",
               r.steps_done, r.skipped, r.first_loss, r.last_loss, r.peak_device_bytes / 1048576.0,
               lora ? "LoRA adapter" : "checkpoint", p.out);
        if (r.evals)
            printf("eval loss %.4f (last of %u evaluations); best %.4f at step %u%s%s%s\n", r.last_eval_loss, r.evals,
                   r.best_eval_loss, r.best_step, p.keep_best ? ", kept in " : "", p.keep_best ? p.out : "",
                   p.keep_best ? "/best" : "");
        if (r.stopped_early)
            printf("stopped early: %u evaluations without a lower eval loss (--early-stop %u)\n", p.early_stop, p.early_stop);
    }
    flanvk_close(ctx);
    flanvk_dist_end(rc);
    return rc ? 1 : 0;
}
