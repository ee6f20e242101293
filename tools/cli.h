/* The flanvk command line: one file per subcommand, each built only on the public API. */
#ifndef FLANVK_CLI_H
#define FLANVK_CLI_H

#include "flanvk/flanvk.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);  /* argv[0] is the subcommand */
    const char *summary;
} cli_command;

/* Print "flanvk: message" on stderr and return 1. */
int cli_fail(const char *fmt, ...);
/* Print the library's last error and return 1. */
int cli_lib_fail(const char *what);
/* Parse --device N / FLANVK_DEVICE; -1 when unset. Returns 0 or 1 on a bad value. */
int cli_parse_int(const char *opt, const char *val, long lo, long hi, long *out);
int cli_parse_float(const char *opt, const char *val, double *out);
/* --profile NAME / --device-profile NAME: the device profile (flanvk_set_profile) for the device
 * this command opens. Returns 0 or 1 (message printed) on a missing or unknown name. */
int cli_device_profile(const char *opt, const char *val);

int cmd_devices(int argc, char **argv);
int cmd_test_ops(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_score(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_mix(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_serve(int argc, char **argv);

#endif
