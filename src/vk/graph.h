/* A graph is one command buffer of recorded dispatches and copies that is submitted as a whole and
 * can be submitted again without re-recording: a training step or a decode step is recorded once
 * and replayed, with only the contents of its input buffers changed in between.
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

#endif
