/* Small pieces shared by the subcommands: request ids (the parsing is flanvk/request.h), atomic output files, a progress bar. */
#ifndef FLANVK_CLI_UTIL_H
#define FLANVK_CLI_UTIL_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Append ids as a JSON array to obj under key. */
void cli_json_add_ids(cJSON *obj, const char *key, const uint32_t *ids, uint32_t n);

struct flanvk_model;
/* The token ids of one side of an input line (flanvk_request_ids with the model's tokenizer,
 * vocabulary and the longest input it takes on this device); errors are printed as "FILE:LINE:
 * problem". *ids is malloc'd. */
int cli_field_ids(const struct flanvk_model *m, const char *file, size_t lineno, const cJSON *obj, const char *text_key,
                  const char *ids_key, uint32_t **ids, uint32_t *n);

struct flanvk_file;
/* Output to path (or stdout for NULL/"-") through "<path>.tmp.<pid>" renamed on commit
 * (flanvk/file.h), so an existing file is never left half-written and the temporaries of killed
 * runs are removed by the next one. */
typedef struct {
    FILE *f;
    struct flanvk_file *file;
} cli_out;
int cli_out_open(cli_out *o, const char *path);
int cli_out_commit(cli_out *o);
void cli_out_abort(cli_out *o);
/* Write obj as one JSONL line; 0 or 1 (message printed). */
int cli_out_json(cli_out *o, const cJSON *obj);

struct flanvk_load_opts;
/* The model load options every inference command takes: --weights TYPE (f32|f16|bf16|q8),
 * --kv-cache TYPE (f32|f16) and --adapter DIR (a PEFT LoRA adapter, applied unmerged). 1: `a` was one of them and its value is stored in o (the caller skips
 * the value); 0: `a` is neither; -1: a missing or unknown value (message printed). */
int cli_load_option(const char *a, const char *v, struct flanvk_load_opts *o);
/* The usage line for them. */
#define CLI_LOAD_USAGE                                                                                     \
    "  --weights f32|f16|bf16|q8 (the checkpoint's own type)   --kv-cache f32|f16 (f16 with 16/8-bit weights)\n" \
    "  --adapter DIR (a PEFT LoRA adapter, applied unmerged)\n"

struct flanvk_device_info;
/* A device as `flanvk devices --json` and `test-ops --report` print it (after the device
 * profile's clamps); api_version as "1.3.230". NULL when out of memory. */
cJSON *cli_device_json(const struct flanvk_device_info *d);


/* Progress on stderr when it is a terminal: "label [=====>    ] done/total" (bytes when bytes != 0),
 * shown only once the work has taken more than a second. */
typedef struct {
    const char *label;
    int bytes;
    double start;
    int shown;
} cli_progress;
void cli_progress_start(cli_progress *p, const char *label, int bytes);
void cli_progress_update(cli_progress *p, uint64_t done, uint64_t total);
void cli_progress_end(cli_progress *p);
/* Adapter for flanvk_progress_fn (user = cli_progress*). */
void cli_progress_cb(uint64_t done, uint64_t total, void *user);

/* The bundled T5 tokenizer directory: $FLANVK_TOKENIZER, ./assets/tokenizer (a source tree), or the
 * installed copy (share/flanvk/tokenizer); NULL if none has spiece.model. */
const char *cli_default_tokenizer(void);

#endif
