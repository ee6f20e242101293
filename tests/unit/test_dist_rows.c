/* Data-parallel rows and the one-process communicator, without MPI or a device.
 *
 * Rows (train/data_parallel.h): for N ranks of per-rank batch b in micro-batches of B rows, with
 * accum global micro-batches per step, the rows the ranks take in a step, concatenated rank by
 * rank within each global micro-batch, are exactly the rows one rank with batch N*b takes, in the
 * same order, step after step (also when the data wraps around and when it is smaller than the
 * global batch). The one-process communicator: sums are the identity, every value is "the same",
 * a failure is the process's own and printed by it. */
#include "base/error.h"
#include "dist/comm.h"
#include "support/unit.h"
#include "train/data_parallel.h"

#include <stdint.h>
#include <string.h>

/* Rows of one step: one process with batch G = N*b (micro-batches of B1 rows) against N ranks. */
static int same_rows(uint64_t rows, int N, uint32_t b, uint32_t B, uint32_t B1, uint32_t accum, int steps) {
    fv_dist one = {.rank = 0, .size = 1}, many = {.size = N};
    uint32_t G = (uint32_t)N * b;
    uint64_t pos1 = 0, posN = 0;
    for (int s = 0; s < steps; s++) {
        /* the single process's list: accum x (G / B1) micro-batches of B1 rows */
        uint64_t want[4096], got[4096];
        size_t nw = 0, ng = 0;
        for (uint32_t k = 0; k < accum * (G / B1); k++)
            for (uint32_t i = 0; i < B1; i++) {
                uint64_t r = fv_dp_row_of(&one, rows, G, B1, pos1, k, i, 0);
                if (r != UINT64_MAX) want[nw++] = r;
            }
        /* the ranks': per global micro-batch a, rank by rank, each rank's micro-batches of B rows */
        for (uint32_t a = 0; a < accum; a++)
            for (int q = 0; q < N; q++)
                for (uint32_t j = 0; j < b / B; j++)
                    for (uint32_t i = 0; i < B; i++) {
                        uint64_t r = fv_dp_row_of(&many, rows, b, B, posN, a * (b / B) + j, i, q);
                        if (r != UINT64_MAX) got[ng++] = r;
                    }
        if (nw != ng || memcmp(want, got, nw * sizeof *want)) return 0;
        if (rows > G) {
            pos1 = (pos1 + fv_dp_step_rows(&one, B1, accum * (G / B1))) % rows;
            posN = (posN + fv_dp_step_rows(&many, B, accum * (b / B))) % rows;
        }
    }
    return pos1 == posN;
}

int main(void) {
    int cases = 0, ok = 0;
    for (int N = 1; N <= 4; N++)
        for (uint32_t b = 1; b <= 4; b++)
            for (uint32_t B = 1; B <= b; B++) {
                if (b % B) continue;
                for (uint32_t accum = 1; accum <= 3; accum++)
                    for (uint64_t rows = (uint64_t)(N - 1) * b + 1; rows <= 40; rows += 3) {
                        cases++;
                        ok += same_rows(rows, N, b, B, B, accum, 7);
                    }
            }
    CHECK(ok == cases, "%d of %d (ranks, batch, micro-batch, accum, rows) cases take the one-process rows", ok, cases);
    printf("rows: %d of %d cases (1-4 ranks, batch 1-4, micro-batches, accum 1-3, 1-40 rows, 7 steps) "
           "match one process with batch N*b\n", ok, cases);

    /* the one-process communicator (no fv_dist_init: what every program gets without mpirun) */
    fv_dist *c = fv_dist_get();
    CHECK(c->size == 1 && c->rank == 0 && !c->mpi, "alone: rank %d of %d", c->rank, c->size);
    double x[3] = {1.5, -2, 3};
    float y[2] = {0.25f, 7};
    CHECK(!fv_dist_sum_f64(x, 3) && x[0] == 1.5 && x[1] == -2 && x[2] == 3, "sum of one is the identity");
    CHECK(!fv_dist_sum_f32(y, 2) && y[0] == 0.25f && y[1] == 7, "sum of one is the identity");
    int same = 0, any = 0;
    CHECK(!fv_dist_same_u64(42, &same) && same, "a value is the same as itself");
    CHECK(!fv_dist_any(1, &any) && any, "OR of one");
    CHECK(!fv_dist_any(0, &any) && !any, "OR of one");
    CHECK(fv_dist_agree(0) == 0, "no failure agreed");
    CHECK(fv_dist_agree(fv_err("a bad thing")) != 0 && !strcmp(fv_last_error(), "a bad thing") && !c->agreed_failure,
          "a failure alone is the process's own: '%s'", fv_last_error());
    CHECK(fv_dist_reports_error(), "alone, the process prints its errors");
    int dev = 7;
    CHECK(!fv_dist_pick_device(3, &dev) && dev == 3, "--device wins: %d", dev);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
