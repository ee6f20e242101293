/* Request bodies -> jobs: JSON parsing and validation of /v1/completions, /generate and /score
 * (and of /tokenize and /detokenize, which need no job)
 * (OpenAI's field names and defaults for completions, `flanvk generate`'s for /generate). A bad
 * request gets a status (400) and a message naming the field; the HTTP side wraps it in
 * OpenAI's error object. */
#ifndef FV_SERVE_REQUEST_H
#define FV_SERVE_REQUEST_H

#include <cjson/cJSON.h>

#include "serve/serve.h"

/* Each returns 0 and a new job (one reference), or an HTTP status with err filled. *stream is the
 * request's "stream" flag (completions only). */
int fv_req_completions(fv_server *s, const cJSON *body, fv_job **out, int *stream, char *err, size_t errn);
int fv_req_generate(fv_server *s, const cJSON *body, fv_job **out, char *err, size_t errn);
int fv_req_score(fv_server *s, const cJSON *body, fv_job **out, char *err, size_t errn);
/* /tokenize: "text" (or "prompt") encoded, </s> unless "add_eos" is false; 0 and *ids (malloc'd),
 * or 400 with err. */
int fv_req_tokenize(fv_server *s, const cJSON *body, uint32_t **ids, size_t *n, char *err, size_t errn);
/* /detokenize: "ids" decoded; 0 and *text (malloc'd; "" for an empty array), or 400/500 with err. */
int fv_req_detokenize(fv_server *s, const cJSON *body, char **text, char *err, size_t errn);

/* Text -> ids with </s> (the model's tokenizer); 400 on a prompt over the limit or bad UTF-8. */
int fv_req_encode(fv_server *s, const char *text, const char *what, uint32_t limit, uint32_t **ids, uint32_t *n, char *err,
                  size_t errn);
/* A JSON array of token ids (each < vocab); 400 otherwise. */
int fv_req_ids(fv_server *s, const cJSON *arr, const char *what, uint32_t limit, uint32_t **ids, uint32_t *n, char *err,
               size_t errn);

#endif
