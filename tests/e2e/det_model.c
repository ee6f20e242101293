/* det_model CASE OUT: write the reference case's model (tests/fixtures/reference/CASE.json's config
 * with the deterministic weights of support/det_weights.h) as a Hugging Face directory OUT, for the
 * end-to-end scripts that need a model directory without training one (tests/e2e/serve.sh). */
#include <stdio.h>
#include <stdlib.h>

#include "support/fixture.h"

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: det_model CASE OUTDIR\n");
        return 2;
    }
    fv_dev *d;
    fv_fixture f;
    char dir[256];
    if (fv_dev_open(-1, &d) || fv_fixture_load(&f, argv[1]) || fv_fixture_det_model(&f, d, dir)) {
        fprintf(stderr, "det_model: %s\n", fv_last_error());
        return 1;
    }
    fv_fixture_free(&f);
    fv_dev_close(d);
    if (rename(dir, argv[2])) {
        perror("det_model: rename");
        return 1;
    }
    return 0;
}
