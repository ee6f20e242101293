/* The gradient all-reduce overlapped with the backward: each bucket of gradients starts its sum
 * over the ranks as soon as the backward has finished writing it, while the device still computes
 * the gradients of earlier layers.
 *
 * How. The step graph is recorded as before; afterwards the gradient spans are ordered by the unit
 * of the graph that writes them last (fv_graph_last_write: the last layers' first, the embedding
 * table, which the encoder's input adds to at the very end, last) and packed in that order into
 * buckets of FLANVK_DIST_BUCKET_MB. Each bucket gets a mark in the graph after its last write
 * (vk/graph_mark.c), where the device copies it into a host-visible staging buffer of its own. The
 * host submits the graph, waits for the marks one by one and starts each bucket's MPI_Iallreduce
 * in place in its staging buffer as its mark passes, letting MPI progress while it waits for the
 * next; after the graph's end it waits for the sums still in flight and runs a small graph that
 * copies the sums back over the gradients. The step's gradient norm, clipping and update come
 * after, unchanged.
 *
 * The sums are of the same numbers as dist/reduce.h's (only the bucket boundaries differ), so with
 * two ranks the result is bit-identical to the path that starts after the graph.
 *
 * Cost: host-visible staging the size of the reduced gradients (reduce.h's path needs two buckets),
 * one fence and one submission per mark. */
#ifndef FV_DIST_OVERLAP_H
#define FV_DIST_OVERLAP_H

#include "dist/reduce.h"
#include "vk/graph.h"

typedef struct fv_dist_overlap fv_dist_overlap;

/* Plan the overlapped all-reduce of spans for the finished recording g, which writes them (the
 * last micro-batch's step graph), and set g's marks. */
int fv_dist_overlap_create(fv_dev *d, fv_graph *g, const fv_dist_span *spans, size_t n, fv_dist_overlap **out);
void fv_dist_overlap_free(fv_dist_overlap *o);

/* Run g and sum the spans over all ranks as described above; on return the summed gradients are
 * in place. Times and bytes go to fv_dist_get()'s counters (reduce_s from the first bucket's start,
 * exposed_s from the graph's end, both to the gradients being back). */
int fv_dist_overlap_run(fv_dist_overlap *o);

/* Buckets and marks of the plan (for the log and the benchmark). */
void fv_dist_overlap_size(const fv_dist_overlap *o, uint32_t *buckets, uint32_t *marks);

#endif
