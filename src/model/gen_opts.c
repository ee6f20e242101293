/* The generation defaults (`flanvk generate`'s and the server's), apart from t5_generate.c so the
 * server's request validation links without the device (tests/fuzz/fuzz_serve_request.c). */
#include <string.h>

#include "model/t5_generate.h"

void fv_gen_opts_default(fv_gen_opts *o) {
    memset(o, 0, sizeof *o);
    o->max_new_tokens = 20;
    o->num_beams = 1;
    o->length_penalty = 1.0f;
    o->temperature = 1.0f;
    o->top_p = 1.0f;
}
