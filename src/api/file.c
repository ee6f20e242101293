/* flanvk/file.h: the public face of base/file.h's atomic writer. */
#include "flanvk/file.h"

#include <stdlib.h>

#include "base/error.h"
#include "base/file.h"

struct flanvk_file {
    fv_awrite w;
};

int flanvk_file_create(const char *path, flanvk_file **out, FILE **f) {
    *out = NULL;
    *f = NULL;
    flanvk_file *w = calloc(1, sizeof *w);
    if (!w) return fv_err("%s: out of host memory", path);
    if (fv_awrite_open(&w->w, path)) {
        free(w);
        return -1;
    }
    *out = w;
    *f = w->w.f;
    return 0;
}

int flanvk_file_commit(flanvk_file *w) {
    int rc = fv_awrite_commit(&w->w) ? -1 : 0;
    free(w);
    return rc;
}

void flanvk_file_abort(flanvk_file *w) {
    if (!w) return;
    fv_awrite_abort(&w->w);
    free(w);
}
