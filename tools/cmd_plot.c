/* flanvk plot: redraw the loss plot of a training run from its CSV log, or compare several runs. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "flanvk/train.h"

#define MAX_LOGS 4

static void usage(FILE *f) {
    fprintf(f, "usage: flanvk plot --log FILE.csv [--log FILE2.csv ...] --out FILE.png\n"
               "Draws the CSV that flanvk train --log writes (step,loss,lr,grad_norm,tokens_per_s,eval_loss):\n"
               "training loss raw and smoothed, eval loss as points, learning rate on its own axis. Up to %d logs\n"
               "share the axes, each labelled with its file name.\n", MAX_LOGS);
}

int cmd_plot(int argc, char **argv) {
    const char *logs[MAX_LOGS], *out = NULL;
    uint32_t n = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--log")) {
            if (!v) return cli_fail("plot: --log needs a value");
            if (n == MAX_LOGS) return cli_fail("plot: at most %d --log files", MAX_LOGS);
            logs[n++] = v;
            i++;
        } else if (!strcmp(a, "--out")) {
            if (!v) return cli_fail("plot: --out needs a value");
            out = v;
            i++;
        } else return cli_fail("plot: unknown option '%s' (see flanvk plot --help)", a);
    }
    if (!n || !out) return cli_fail("plot: --log FILE.csv and --out FILE.png are required");
    if (flanvk_plot_logs(logs, n, out)) return cli_lib_fail("plot");
    printf("wrote %s (%u log%s)\n", out, n, n > 1 ? "s" : "");
    return 0;
}
