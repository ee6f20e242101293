/* A graph is a recorded list of dispatches and copies that is submitted as a whole and can be
 * submitted again without re-recording: a training step or a decode step is recorded once and
 * replayed, with only the contents of its input buffers changed in between.
 *
 * Bounded submissions: under FLANVK_MAX_SUBMIT_MS (default 1000 ms on GPUs, no bound on CPU
 * devices; 0 turns it off) the graph is submitted as several command buffers ("segments") so
 * that no vkQueueSubmit runs longer than the bound, planned from timestamps of the graph's first
 * replay (vk/graph_submit.c). Ops whose single dispatch could run past it split it themselves by
 * fv_graph_max_work. Results are the same: only where submissions end changes.
 *
 * Barriers: the graph tracks which buffers were read and written since the last barrier and
 * inserts one memory barrier only before a dispatch or copy that reads something written, or
 * writes something read or written, since then (read-after-read needs none). Independent
 * dispatches therefore run back to back. Buffers are compared by identity: two fv_buf never overlap. */
#ifndef FV_VK_GRAPH_H
#define FV_VK_GRAPH_H

#include <stdint.h>

#include "vk/device.h"
#include "vk/memory.h"
#include "vk/pipeline.h"

typedef struct fv_graph fv_graph;

int fv_graph_create(fv_dev *d, fv_graph **out);
void fv_graph_destroy(fv_graph *g);
fv_dev *fv_graph_dev(const fv_graph *g);

/* Start recording, discarding what was recorded before. */
int fv_graph_begin(fv_graph *g);
/* Record one dispatch: bufs[i] is bound at binding i of the pipeline (p->desc.nbind entries);
 * push holds p->desc.push_size bytes. */
int fv_graph_dispatch(fv_graph *g, fv_pipeline *p, fv_buf *const *bufs, const void *push, uint32_t gx, uint32_t gy,
                      uint32_t gz);
/* The workgroups base .. base + count - 1 of a dispatch (vkCmdDispatchBase): gl_WorkGroupID
 * counts from base, gl_NumWorkGroups is count. For shaders that index by gl_WorkGroupID alone,
 * a dispatch cut into ranges this way computes exactly what the whole one does. */
int fv_graph_dispatch_range(fv_graph *g, fv_pipeline *p, fv_buf *const *bufs, const void *push, const uint32_t base[3],
                            const uint32_t count[3]);
int fv_graph_copy(fv_graph *g, fv_buf *src, uint64_t src_off, fv_buf *dst, uint64_t dst_off, uint64_t bytes);
/* Fill a whole buffer with a 32-bit pattern (0 clears it). */
int fv_graph_fill(fv_graph *g, fv_buf *dst, uint32_t pattern);
int fv_graph_end(fv_graph *g);

/* Submit what was recorded; wait for it. run = submit + wait. */
int fv_graph_submit(fv_graph *g);
int fv_graph_wait(fv_graph *g);
int fv_graph_run(fv_graph *g);

/* What the last recording holds, for tests and the benchmark. */
uint32_t fv_graph_num_dispatches(const fv_graph *g);
uint32_t fv_graph_num_barriers(const fv_graph *g);

/* The submission bound in ms (0: none), read when the graph was created. */
double fv_graph_submit_bound_ms(const fv_graph *g);
/* The most work one dispatch may take under the bound, for an op that runs at least
 * units_per_ms units per millisecond on the slowest device it expects (its floor, stated where
 * the op calls this): half the bound times that rate, at least 1; UINT64_MAX without a bound. */
uint64_t fv_graph_max_work(const fv_graph *g, double units_per_ms);
/* Segments (command buffers, one submission each) of the current plan, submissions made since
 * the recording, and the longest GPU time of one submission measured since the recording (ms;
 * 0 when the queue has no timestamps). The device keeps the longest over all graphs in
 * fv_dev.max_submit_ms. */
uint32_t fv_graph_num_segments(const fv_graph *g);
uint64_t fv_graph_num_submits(const fv_graph *g);
double fv_graph_max_submit_ms(const fv_graph *g);

#endif
