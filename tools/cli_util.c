/* JSONL input, atomic output, progress bar; see cli_util.h. */
#define _POSIX_C_SOURCE 200809L
#include "cli_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "flanvk/file.h"
#include "flanvk/model.h"
#include "flanvk/request.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

void cli_json_add_ids(cJSON *obj, const char *key, const uint32_t *ids, uint32_t n) {
    cJSON *a = cJSON_CreateArray();
    for (uint32_t i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(ids[i]));
    cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
    cJSON_AddItemToObject(obj, key, a);
}

int cli_out_open(cli_out *o, const char *path) {
    memset(o, 0, sizeof *o);
    if (!path || !strcmp(path, "-")) {
        o->f = stdout;
        return 0;
    }
    return flanvk_file_create(path, &o->file, &o->f) ? cli_lib_fail(NULL) : 0;
}

int cli_out_commit(cli_out *o) {
    if (o->f == stdout) return fflush(stdout) ? cli_fail("cannot write to standard output") : 0;
    flanvk_file *w = o->file;
    o->f = NULL;
    o->file = NULL;
    return flanvk_file_commit(w) ? cli_lib_fail(NULL) : 0;
}

void cli_out_abort(cli_out *o) {
    if (!o->file) return;
    flanvk_file_abort(o->file);
    o->f = NULL;
    o->file = NULL;
}

void cli_progress_start(cli_progress *p, const char *label, int bytes) {
    p->label = label;
    p->bytes = bytes;
    p->start = now();
    p->shown = 0;
}

void cli_progress_update(cli_progress *p, uint64_t done, uint64_t total) {
    double t = now() - p->start;
    if (t < 1.0 || !isatty(2) || !total) return;
    int width = 30, fill = (int)(width * (double)done / total);
    char bar[64];
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '=' : (i == fill ? '>' : ' ');
    bar[width] = 0;
    double rate = done / t, left = rate > 0 ? (total - done) / rate : 0;
    if (p->bytes)
        fprintf(stderr, "\r%s [%s] %.0f/%.0f MiB, %.0fs left ", p->label, bar, done / 1048576.0, total / 1048576.0, left);
    else
        fprintf(stderr, "\r%s [%s] %llu/%llu, %.0fs left ", p->label, bar, (unsigned long long)done,
                (unsigned long long)total, left);
    p->shown = 1;
}

void cli_progress_end(cli_progress *p) {
    if (p->shown) fputc('\n', stderr);
    p->shown = 0;
}

void cli_progress_cb(uint64_t done, uint64_t total, void *user) { cli_progress_update(user, done, total); }

const char *cli_default_tokenizer(void) {
    static char found[2400];
    const char *env = getenv("FLANVK_TOKENIZER");
    if (env && *env) return env;
    if (access("assets/tokenizer/spiece.model", R_OK) == 0) return "assets/tokenizer";
    /* installed: <prefix>/share/flanvk/tokenizer, found beside the executable (a relocated install)
     * or at the prefix it was configured for */
    char exe[1024];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char candidates[2][1100];
    int nc = 0;
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            snprintf(candidates[nc++], sizeof candidates[0], "%s/../share/flanvk/tokenizer", exe);
        }
    }
    snprintf(candidates[nc++], sizeof candidates[0], "%s/tokenizer", FLANVK_DATADIR);
    for (int i = 0; i < nc; i++) {
        snprintf(found, sizeof found, "%s/spiece.model", candidates[i]);
        if (access(found, R_OK) == 0) {
            snprintf(found, sizeof found, "%s", candidates[i]);
            return found;
        }
    }
    return NULL;
}

int cli_out_json(cli_out *o, const cJSON *obj) {
    char *line = cJSON_PrintUnformatted(obj);
    int bad = !line || fprintf(o->f, "%s\n", line) < 0;
    free(line);
    return bad ? cli_fail("cannot write the output") : 0;
}

int cli_field_ids(const flanvk_model *m, const char *file, size_t lineno, const cJSON *obj, const char *text_key,
                  const char *ids_key, uint32_t **ids, uint32_t *n) {
    flanvk_model_info info;
    flanvk_model_get_info(m, &info);
    if (flanvk_request_ids(obj, file, lineno, flanvk_model_tokenizer(m), (uint32_t)info.vocab_size, info.max_input_tokens,
                           text_key, ids_key, ids, n))
        return cli_lib_fail(NULL);
    return 0;
}

int cli_load_option(const char *a, const char *v, flanvk_load_opts *o) {
    if (!strcmp(a, "--adapter")) {
        if (!v) return cli_fail("--adapter needs a PEFT adapter directory"), -1;
        o->adapter = v;
        return 1;
    }
    int w = !strcmp(a, "--weights"), kv = !strcmp(a, "--kv-cache");
    if (!w && !kv) return 0;
    if (!v) return cli_fail("%s needs a value: %s", a, w ? "f32, f16, bf16 or q8" : "f32 or f16"), -1;
    if (w ? flanvk_check_weights_name(v) : flanvk_check_kv_cache_name(v)) return cli_lib_fail(NULL), -1;
    if (w) o->weights = v;
    else o->kv_cache = v;
    return 1;
}

int cli_device_profile(const char *opt, const char *val) {
    if (!val) return cli_fail("%s needs a profile name: %s", opt, flanvk_profile_names());
    if (flanvk_set_profile(val)) return cli_lib_fail(NULL);
    return 0;
}

cJSON *cli_device_json(const flanvk_device_info *d) {
    cJSON *o = cJSON_CreateObject(), *types = cJSON_CreateArray();
    if (!o || !types) {
        cJSON_Delete(o);
        cJSON_Delete(types);
        return NULL;
    }
    char api[32];
    snprintf(api, sizeof api, "%u.%u.%u", d->api_version >> 22, (d->api_version >> 12) & 0x3ff, d->api_version & 0xfff);
    cJSON_AddNumberToObject(o, "index", d->index);
    cJSON_AddStringToObject(o, "name", d->name);
    cJSON_AddStringToObject(o, "type", d->type);
    cJSON_AddNumberToObject(o, "vendor_id", d->vendor_id);
    cJSON_AddStringToObject(o, "driver", d->driver);
    cJSON_AddStringToObject(o, "api_version", api);
    cJSON_AddStringToObject(o, "profile", d->profile);
    cJSON_AddNumberToObject(o, "subgroup_size", d->subgroup_size);
    if (d->subgroup_size_used) cJSON_AddNumberToObject(o, "subgroup_size_used", d->subgroup_size_used);
    cJSON_AddNumberToObject(o, "max_shared_memory", d->max_shared_memory);
    cJSON_AddNumberToObject(o, "max_workgroup_invocations", d->max_workgroup_invocations);
    cJSON_AddNumberToObject(o, "max_storage_buffer_range", (double)d->max_storage_buffer_range);
    cJSON_AddNumberToObject(o, "max_allocation_size", (double)d->max_allocation_size);
    cJSON_AddNumberToObject(o, "max_push_constants", d->max_push_constants);
    cJSON_AddNumberToObject(o, "min_storage_buffer_offset_alignment", (double)d->min_storage_buffer_offset_alignment);
    cJSON_AddBoolToObject(o, "fp16", d->fp16);
    cJSON_AddBoolToObject(o, "storage16", d->storage16);
    cJSON_AddBoolToObject(o, "int8", d->int8);
    for (uint32_t i = 0; i < d->memory_type_count; i++) {
        const flanvk_memory_type *m = &d->memory_types[i];
        cJSON *t = cJSON_CreateObject();
        cJSON_AddBoolToObject(t, "device_local", m->device_local);
        cJSON_AddBoolToObject(t, "host_visible", m->host_visible);
        cJSON_AddBoolToObject(t, "host_coherent", m->host_coherent);
        cJSON_AddBoolToObject(t, "host_cached", m->host_cached);
        cJSON_AddNumberToObject(t, "heap", m->heap);
        cJSON_AddItemToArray(types, t);
    }
    cJSON_AddItemToObject(o, "memory_types", types);
    return o;
}
