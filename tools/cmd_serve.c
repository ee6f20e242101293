/* flanvk serve: the local HTTP inference server (include/flanvk/serve.h). This file only parses
 * flags, loads the model and waits for SIGINT / SIGTERM (blocked in every thread and taken with
 * sigwait by one thread, so no handler runs inside the server's threads); then it stops the server
 * gracefully and exits 0. A signal while loading ends the process at once (exit 1). */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_util.h"
#include "flanvk/model.h"
#include "flanvk/serve.h"

/* The signal thread: waits for SIGINT / SIGTERM. Before the server is up (loading the model and
 * compiling its kernels can take minutes) it ends the process at once; after, it returns and the
 * main thread stops the server gracefully. */
static pthread_mutex_t sig_mu = PTHREAD_MUTEX_INITIALIZER;
static int started, got;

static void *wait_signal(void *arg) {
    int sig = 0;
    sigwait((const sigset_t *)arg, &sig);
    pthread_mutex_lock(&sig_mu);
    got = sig;
    if (!started) {
        fprintf(stderr, "serve: %s before the server was up: exiting\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
        _exit(1);
    }
    pthread_mutex_unlock(&sig_mu);
    return NULL;
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: flanvk serve --model DIR [options]\n"
            "  --host ADDR (127.0.0.1)    --port N (8080; 0 = any free port)\n"
            "  --max-batch N (16)          sequences decoded together (continuous batching)\n"
            "  --max-queue N (64)          requests waiting for a slot before 503 + Retry-After\n"
            "  --api-key KEY               require \"Authorization: Bearer KEY\" (all but /health); also FLANVK_API_KEY\n"
            "  --max-new-tokens-limit N (256)   the largest max_tokens / max_new_tokens a request may ask\n"
            "  --model-name NAME           the id in /v1/models (default: the model directory's name)\n"
            "  --quiet                     no log line per request\n"
            CLI_LOAD_USAGE
            "  --device N, --profile NAME (a device profile, as FLANVK_PROFILE)\n"
            "Endpoints: POST /v1/completions (OpenAI; \"stream\": true for server-sent events), POST /generate,\n"
            "POST /score, POST /tokenize, POST /detokenize, GET /health, GET /v1/models, GET /metrics. README \"Serving\".\n");
}

int cmd_serve(int argc, char **argv) {
    flanvk_serve_opts so;
    flanvk_serve_opts_default(&so);
    flanvk_load_opts load;
    memset(&load, 0, sizeof load);
    const char *model = NULL;
    long device = -1, n;
    so.api_key = getenv("FLANVK_API_KEY");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int lo = cli_load_option(a, v, &load);
        if (lo < 0) return 1;
        if (lo) { i++; continue; }
#define NEED_VALUE() do { if (!v) return cli_fail("serve: %s needs a value", a); i++; } while (0)
        if (!strcmp(a, "--help")) { usage(stdout); return 0; }
        else if (!strcmp(a, "--model")) { NEED_VALUE(); model = v; }
        else if (!strcmp(a, "--host")) { NEED_VALUE(); so.host = v; }
        else if (!strcmp(a, "--api-key")) { NEED_VALUE(); so.api_key = v; }
        else if (!strcmp(a, "--model-name")) { NEED_VALUE(); so.model_name = v; }
        else if (!strcmp(a, "--quiet")) so.quiet = 1;
        else if (!strcmp(a, "--port")) { if (cli_parse_int(a, v, 0, 65535, &n)) return 1; i++; so.port = (uint16_t)n; }
        else if (!strcmp(a, "--max-batch")) { if (cli_parse_int(a, v, 1, 256, &n)) return 1; i++; so.max_batch = (uint32_t)n; }
        else if (!strcmp(a, "--max-queue")) { if (cli_parse_int(a, v, 1, 1000000, &n)) return 1; i++; so.max_queue = (uint32_t)n; }
        else if (!strcmp(a, "--max-new-tokens-limit")) {
            if (cli_parse_int(a, v, 1, 4096, &n)) return 1;
            i++;
            so.max_new_tokens_limit = (uint32_t)n;
        } else if (!strcmp(a, "--device")) { if (cli_parse_int(a, v, 0, 63, &device)) return 1; i++; }
        else if (!strcmp(a, "--profile") || !strcmp(a, "--device-profile")) { if (cli_device_profile(a, v)) return 1; i++; }
        else return cli_fail("serve: unknown option '%s' (see flanvk serve --help)", a);
#undef NEED_VALUE
    }
    if (!model) return cli_fail("serve: --model DIR is required");
    if (so.api_key && !*so.api_key) so.api_key = NULL;
    char name[128];
    if (!so.model_name) { /* the directory's last component */
        size_t len = strlen(model);
        while (len > 1 && model[len - 1] == '/') len--;
        size_t b = len;
        while (b > 0 && model[b - 1] != '/') b--;
        snprintf(name, sizeof name, "%.*s", (int)(len - b), model + b);
        so.model_name = name;
    }
    /* SIGINT / SIGTERM blocked before any thread starts, so every thread inherits the mask and
     * only the signal thread's sigwait receives them; default dispositions first: a shell starts
     * background jobs with SIGINT ignored, and an ignored signal is dropped, not left pending */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN); /* a client that left must not kill the server */
    pthread_t sig_thread;
    if (pthread_create(&sig_thread, NULL, wait_signal, &sigs)) return cli_fail("serve: cannot start the signal thread");
    flanvk_ctx *ctx = NULL;
    flanvk_model *m = NULL;
    flanvk_server *srv = NULL;
    cli_progress prog;
    cli_progress_start(&prog, "loading", 1);
    int rc = flanvk_open((int)device, &ctx) ? cli_lib_fail("serve") : 0;
    if (!rc && flanvk_model_load_with(ctx, model, &load, cli_progress_cb, &prog, &m)) rc = cli_lib_fail(NULL);
    cli_progress_end(&prog);
    if (!rc && flanvk_server_start(m, &so, &srv)) rc = cli_lib_fail(NULL);
    pthread_mutex_lock(&sig_mu);
    started = srv != NULL || rc;
    pthread_mutex_unlock(&sig_mu);
    if (!rc) {
        fprintf(stderr, "serve: listening on http://%s:%u (model %s, %u slots)\n", so.host, flanvk_server_port(srv),
                so.model_name, so.max_batch);
        pthread_join(sig_thread, NULL);
        fprintf(stderr, "serve: %s: finishing the running requests\n", got == SIGINT ? "SIGINT" : "SIGTERM");
        flanvk_server_stop(srv);
        fprintf(stderr, "serve: stopped\n");
    } else {
        pthread_cancel(sig_thread); /* sigwait is a cancellation point */
        pthread_join(sig_thread, NULL);
    }
    flanvk_model_free(m);
    flanvk_close(ctx);
    return rc ? 1 : 0;
}
