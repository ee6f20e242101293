/* Reference AdamW (torch.optim.AdamW, single-tensor path) and Adafactor (transformers), written
 * from their documented algorithms; see ref/optim.h. */
#include "ref/optim.h"

#include <math.h>
#include <stdlib.h>

void fv_ref_adamw(float *p, const float *g, float *m, float *v, size_t n, const fv_adamw_cfg *c, uint32_t t) {
    double bc1 = 1.0 - pow(c->beta1, t), bc2 = 1.0 - pow(c->beta2, t);
    double step_size = c->lr / bc1, bc2_sqrt = sqrt(bc2);
    for (size_t i = 0; i < n; i++) {
        double pi = (double)p[i] * (1.0 - c->lr * c->weight_decay); /* decoupled weight decay first */
        double mi = c->beta1 * m[i] + (1.0 - c->beta1) * g[i];
        double vi = c->beta2 * v[i] + (1.0 - c->beta2) * (double)g[i] * g[i];
        m[i] = (float)mi;
        v[i] = (float)vi;
        double denom = sqrt((double)v[i]) / bc2_sqrt + c->eps;
        p[i] = (float)(pi - step_size * (double)m[i] / denom);
    }
}

/* The step over a matrix given by row pointers (each row of p, g, m in place; m rows NULL without
 * momentum), so the whole tensor and a row-split one run the same loops in the same order. */
static int adafactor_rows(float **p, const float **g, float *state, float **m, size_t rows, size_t cols, int factored,
                          const fv_adafactor_cfg *c, uint32_t t) {
    size_t n = rows * cols;
    double *u = malloc(n * sizeof *u);
    if (!u) return -1;
    double psq = 0;
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++) psq += (double)p[i][j] * p[i][j];
    double rms_p = sqrt(psq / (double)n); /* taken before the update (HF state["RMS"]) */
    double lr = c->lr;
    if (c->relative_step) lr = fmin(c->warmup_init ? 1e-6 * t : 1e-2, 1.0 / sqrt((double)t));
    if (c->scale_parameter) lr *= fmax(c->eps2, rms_p);
    double beta2t = 1.0 - pow((double)t, c->decay_rate);

    if (factored) {
        float *row = state, *col = state + rows;
        for (size_t i = 0; i < rows; i++) { /* row: mean over the last dim of g^2 + eps1 */
            double s = 0;
            for (size_t j = 0; j < cols; j++) s += (double)g[i][j] * g[i][j] + c->eps1;
            row[i] = (float)(beta2t * row[i] + (1.0 - beta2t) * (s / (double)cols));
        }
        for (size_t j = 0; j < cols; j++) { /* col: mean over the second-to-last dim */
            double s = 0;
            for (size_t i = 0; i < rows; i++) s += (double)g[i][j] * g[i][j] + c->eps1;
            col[j] = (float)(beta2t * col[j] + (1.0 - beta2t) * (s / (double)rows));
        }
        double rmean = 0;
        for (size_t i = 0; i < rows; i++) rmean += row[i];
        rmean /= (double)rows;
        /* v ~ (row / mean(row)) outer col; update = g / sqrt(v) */
        for (size_t i = 0; i < rows; i++) {
            double rf = 1.0 / sqrt(row[i] / rmean);
            for (size_t j = 0; j < cols; j++) u[i * cols + j] = g[i][j] * rf / sqrt((double)col[j]);
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            state[i] = (float)(beta2t * state[i] + (1.0 - beta2t) * ((double)g[0][i] * g[0][i] + c->eps1));
            u[i] = g[0][i] / sqrt((double)state[i]);
        }
    }
    double usq = 0;
    for (size_t i = 0; i < n; i++) usq += u[i] * u[i];
    double clipdiv = fmax(1.0, sqrt(usq / (double)n) / c->clip_threshold);
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++) {
            double ui = u[i * cols + j] / clipdiv * lr;
            if (c->use_beta1) { /* momentum on the lr-scaled update, as HF does */
                m[i][j] = (float)(c->beta1 * m[i][j] + (1.0 - c->beta1) * ui);
                ui = m[i][j];
            }
            double pi = p[i][j];
            if (c->weight_decay != 0) pi += -c->weight_decay * lr * pi;
            p[i][j] = (float)(pi - ui);
        }
    free(u);
    return 0;
}

int fv_ref_adafactor_split(float *const *p, const float *const *g, float *state, float *const *m,
                           const size_t *piece_rows, size_t npieces, size_t cols, const fv_adafactor_cfg *c, uint32_t t) {
    size_t rows = 0;
    for (size_t k = 0; k < npieces; k++) rows += piece_rows[k];
    float **pr = malloc((rows ? rows : 1) * sizeof *pr), **mr = malloc((rows ? rows : 1) * sizeof *mr);
    const float **gr = malloc((rows ? rows : 1) * sizeof *gr);
    int rc = -1;
    if (pr && mr && gr) {
        for (size_t k = 0, i = 0; k < npieces; k++)
            for (size_t r = 0; r < piece_rows[k]; r++, i++) {
                pr[i] = p[k] + r * cols;
                gr[i] = g[k] + r * cols;
                mr[i] = c->use_beta1 ? m[k] + r * cols : NULL;
            }
        rc = adafactor_rows(pr, gr, state, mr, rows, cols, 1, c, t);
    }
    free(pr);
    free(mr);
    free(gr);
    return rc;
}

int fv_ref_adafactor(float *p, const float *g, float *state, float *m, size_t rows, size_t cols, int factored,
                     const fv_adafactor_cfg *c, uint32_t t) {
    if (factored) return fv_ref_adafactor_split(&p, &g, state, &m, &rows, 1, cols, c, t);
    float *mr = c->use_beta1 ? m : NULL;
    return adafactor_rows(&p, &g, state, &mr, 1, rows * cols, 0, c, t);
}
