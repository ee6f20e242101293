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

/* Marks (vk/graph_mark.c): points inside a recorded graph that the host can wait for while the
 * rest of it still runs, so that it can start on results the graph has finished early (the
 * gradient all-reduce of data-parallel training starts on the last layers' gradients while the
 * backward computes the earlier layers', dist/overlap.c). A submission then ends at every mark,
 * each with a fence; at a mark the device can also copy finished results to host-visible buffers
 * and makes them visible to the host. Results are the same: only where submissions end changes.
 *
 * Units are the recording's dispatches, copies and fills, counted from 0 in recording order. */
uint32_t fv_graph_num_units(const fv_graph *g);
/* The unit that wrote b last in the recording; UINT32_MAX if none did. */
uint32_t fv_graph_last_write(const fv_graph *g, const fv_buf *b);

typedef struct fv_graph_mark_copy {
    fv_buf *src, *dst;
    uint64_t src_off, dst_off, bytes;
} fv_graph_mark_copy;

/* Set n marks on the finished recording (replacing any; a new recording drops them): mark k
 * comes after unit after[k] (strictly ascending, below fv_graph_num_units); there the device runs
 * copies[first[k] .. first[k + 1]) (first has n + 1 entries). A copy's source must not be written
 * by the graph after its mark, and its destination not be used by the graph at all. */
int fv_graph_set_marks(fv_graph *g, const uint32_t *after, uint32_t n, const uint32_t *first,
                       const fv_graph_mark_copy *copies);
uint32_t fv_graph_num_marks(const fv_graph *g);
/* Whether the device has passed mark k of the submission in flight (everything before it done,
 * its copies visible to the host), waiting at most timeout_ns for it. Without a submission in
 * flight every mark has passed. fv_graph_wait still ends the submission. */
int fv_graph_poll_mark(fv_graph *g, uint32_t k, uint64_t timeout_ns, int *passed);

#endif
