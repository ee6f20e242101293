/* flanvk test-ops: run the op checks (shader vs CPU reference) on the user's device, and with
 * --report FILE.json write what a bug report needs: the device as flanvk saw it (after any device
 * profile), the environment knobs that change the paths taken, and every comparison. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"

/* The environment variables that change which kernels and limits a run uses. */
static const char *const KNOBS[] = {"FLANVK_PROFILE", "LP_NATIVE_VECTOR_WIDTH", "FLANVK_TEXEL", "FLANVK_DISABLE_F16",
                                    "FLANVK_ELEM_VEC4", "FLANVK_MAX_BUFFER_RANGE", "FLANVK_MAX_ALLOCATION",
                                    "FLANVK_CHECK_QUICK", "FLANVK_CHECK_SEED", "FLANVK_VALIDATION", NULL};

static void add_error_number(cJSON *o, const char *key, double v) {
    if (isfinite(v)) cJSON_AddNumberToObject(o, key, v);
    else cJSON_AddStringToObject(o, key, isnan(v) ? "nan" : "inf");
}

static int write_report(const char *path, flanvk_ctx *ctx, cJSON *errors, int passed, int failed, int vmsgs) {
    cJSON *r = cJSON_CreateObject(), *env = cJSON_CreateObject(), *checks = cJSON_CreateArray();
    cJSON *dev = cli_device_json(flanvk_device(ctx));
    int rc = 1;
    if (r && env && checks && dev) {
        cJSON_AddStringToObject(r, "flanvk_version", flanvk_version());
        cJSON_AddItemToObject(r, "device", dev);
        dev = NULL;
        cJSON_AddStringToObject(r, "profile", flanvk_device(ctx)->profile);
        for (const char *const *k = KNOBS; *k; k++) cJSON_AddStringToObject(env, *k, getenv(*k) ? getenv(*k) : "");
        cJSON_AddItemToObject(r, "environment", env);
        env = NULL;
        cJSON_AddNumberToObject(r, "passed", passed);
        cJSON_AddNumberToObject(r, "failed", failed);
        cJSON_AddNumberToObject(r, "validation_messages", vmsgs);
        size_t n;
        const flanvk_op_result *res = flanvk_op_results(ctx, &n);
        for (size_t i = 0; i < n; i++) {
            cJSON *c = cJSON_CreateObject();
            cJSON_AddStringToObject(c, "name", res[i].op);
            cJSON_AddStringToObject(c, "what", res[i].what);
            cJSON_AddStringToObject(c, "shape", res[i].shape);
            if (res[i].tolerance >= 0) {
                add_error_number(c, "error", res[i].error);
                add_error_number(c, "tolerance", res[i].tolerance);
            }
            cJSON_AddBoolToObject(c, "pass", res[i].passed);
            if (res[i].detail[0]) cJSON_AddStringToObject(c, "detail", res[i].detail);
            cJSON_AddItemToArray(checks, c);
        }
        cJSON_AddItemToObject(r, "checks", checks);
        checks = NULL;
        cJSON_AddItemToObject(r, "errors", cJSON_Duplicate(errors, 1));
        char *text = cJSON_Print(r);
        cli_out o;
        if (!text) rc = cli_fail("test-ops: out of memory writing %s", path);
        else if (!cli_out_open(&o, path)) {
            if (fputs(text, o.f) < 0 || fputc('\n', o.f) < 0) cli_out_abort(&o), rc = cli_fail("%s: cannot write", path);
            else rc = cli_out_commit(&o);
        }
        cJSON_free(text);
    } else {
        rc = cli_fail("test-ops: out of memory writing %s", path);
    }
    cJSON_Delete(r);
    cJSON_Delete(env);
    cJSON_Delete(checks);
    cJSON_Delete(dev);
    return rc;
}

int cmd_test_ops(int argc, char **argv) {
    long device = -1;
    const char *filter = NULL, *report = NULL;
    int verbose = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help")) {
            printf("usage: flanvk test-ops [--device N] [--profile NAME] [--op NAME] [--verbose] [--report FILE.json]\n"
                   "Checks every op's shader against its plain-C reference on this device and prints a table.\n"
                   "--report: also write the device, the environment and every comparison as JSON (attach it to a\n"
                   "bug report). --profile NAME (or FLANVK_PROFILE): run as a device profile: %s.\n"
                   "Ops: ", flanvk_profile_names());
            for (const char *const *n = flanvk_op_check_names(); *n; n++) printf("%s ", *n);
            printf("\n");
            return 0;
        } else if (!strcmp(argv[i], "--device")) {
            if (cli_parse_int("--device", i + 1 < argc ? argv[++i] : NULL, 0, 63, &device)) return 1;
        } else if (!strcmp(argv[i], "--profile") || !strcmp(argv[i], "--device-profile")) {
            if (cli_device_profile(argv[i], i + 1 < argc ? argv[i + 1] : NULL)) return 1;
            i++;
        } else if (!strcmp(argv[i], "--op") && i + 1 < argc) {
            filter = argv[++i];
        } else if (!strcmp(argv[i], "--report")) {
            if (i + 1 >= argc) return cli_fail("test-ops: --report needs a file name");
            report = argv[++i];
        } else if (!strcmp(argv[i], "--verbose") || !strcmp(argv[i], "-v")) {
            verbose = 1;
        } else {
            return cli_fail("test-ops: unknown option '%s'", argv[i]);
        }
    }
    flanvk_ctx *ctx;
    if (flanvk_open((int)device, &ctx)) return cli_lib_fail("test-ops");
    const flanvk_device_info *di = flanvk_device(ctx);
    printf("device: %s (%s)%s%s\n", di->name, di->driver, strcmp(di->profile, "none") ? ", as profile " : "",
           strcmp(di->profile, "none") ? di->profile : "");
    printf("%-14s %8s %8s  %s\n", "op", "passed", "failed", "result");
    int total_fail = 0, total_pass = 0, broken = 0;
    cJSON *errors = cJSON_CreateArray();
    for (const char *const *n = flanvk_op_check_names(); *n; n++) {
        if (filter && !strstr(*n, filter)) continue;
        int passed = 0, failed = 0;
        int rc = flanvk_test_ops(ctx, *n, verbose ? stdout : NULL, &passed, &failed);
        if (rc) {
            printf("%-14s %8s %8s  ERROR: %s\n", *n, "-", "-", flanvk_last_error());
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "name", *n);
            cJSON_AddStringToObject(e, "message", flanvk_last_error());
            cJSON_AddItemToArray(errors, e);
            broken++;
            continue;
        }
        printf("%-14s %8d %8d  %s\n", *n, passed, failed, failed ? "FAIL" : "ok");
        total_pass += passed;
        total_fail += failed;
    }
    int vmsgs = flanvk_validation_messages(ctx);
    int wrote = report ? write_report(report, ctx, errors, total_pass, total_fail + broken, vmsgs) : 0;
    cJSON_Delete(errors);
    flanvk_close(ctx);
    printf("%d passed, %d failed\n", total_pass, total_fail + broken);
    if (vmsgs) printf("validation layer messages: %d\n", vmsgs);
    if (report && !wrote) printf("report: %s\n", report);
    return (total_fail || broken || vmsgs || wrote) ? 1 : 0;
}
