/* FP32 graph executor.
 *
 * onnxq_exec_new prepares a model: topological order, one kernel per node
 * (unsupported ops are all reported at once), liveness of every value.
 * onnxq_exec_run binds concrete inputs (symbolic dims included), runs every
 * node in order with run-time shape inference, and frees each intermediate
 * tensor after its last consumer into a buffer pool that the next node or
 * the next run reuses, so peak memory follows the live set. */
#ifndef ONNXQ_EXEC_EXEC_H
#define ONNXQ_EXEC_EXEC_H

#include <stdbool.h>
#include <stddef.h>

#include "core/tensor.h"
#include "core/vstats.h"
#include "ir/graph.h"
#include "onnxq/onnxq.h"

struct onnxq_exec;
struct onnxq_threadpool;

/* Called after every node of the top-level graph, with the node and its
 * outputs (omitted optional outputs are NULL). Return non-zero to stop the
 * run (onnxq_exec_run then fails with ONNXQ_E_INVALID_ARG "stopped by hook"). */
typedef int (*onnxq_node_hook)(void *user, const struct onnxq_node *node, struct onnxq_tensor *const *outputs,
                               size_t n_outputs);

/* Prepare the model's main graph. The model and context must outlive the
 * executor. */
enum onnxq_status onnxq_exec_new(struct onnxq_context *ctx, const struct onnxq_model *model,
                                 struct onnxq_exec **out, struct onnxq_error *err);

/* Prepare a subgraph whose outer-scope reads resolve to `parent`'s values.
 * Used by control-flow ops. */
enum onnxq_status onnxq_exec_new_subgraph(const struct onnxq_exec *parent, const struct onnxq_graph *g,
                                          struct onnxq_exec **out, struct onnxq_error *err);

void onnxq_exec_free(struct onnxq_exec *e);

void onnxq_exec_set_hook(struct onnxq_exec *e, onnxq_node_hook hook, void *user);

/* Ask the kernels to gather the statistics of each node's float output 0
 * while they write it (off by default; calibration turns it on). */
void onnxq_exec_set_output_stats(struct onnxq_exec *e, bool on);

/* From within the node hook: the statistics of output k of the node that
 * just ran, when its kernel gathered them over every value. False when it
 * did not (then scan the tensor). */
bool onnxq_exec_output_stats(const struct onnxq_exec *e, size_t k, struct onnxq_vstats *out);

/* With output stats on, also have the kernels copy the subsample of about
 * `sample` values of each float output 0 (the blocks core/vstats.h
 * defines) while they write it; 0: none. */
void onnxq_exec_set_output_sample(struct onnxq_exec *e, uint64_t sample);

/* Give back an output tensor of the last onnxq_exec_run, instead of
 * onnxq_tensor_clear: its buffer goes back to the executor's pool, and
 * the next run writes its output there rather than into fresh memory
 * (fresh pages fault on first touch: about 4 ms a run for PP-OCR det's
 * 1.6 MB output on the CI VM). Any other tensor is just cleared; t is
 * zeroed either way. Only until the next run starts. */
void onnxq_exec_recycle_output(struct onnxq_exec *e, struct onnxq_tensor *t);

/* Floats that the subsamples of one run can take at most, for `sample`
 * values per output (onnxq_exec_set_output_sample). */
size_t onnxq_exec_sample_bound(const struct onnxq_exec *e, uint64_t sample);

/* Have room for `floats` subsample values ready, its pages touched, so that
 * the first run does not fault them in one by one (page faults are dear on
 * virtual machines: 7-12 us a page measured on our 2-core CI VM). Not
 * while a run is in progress; any thread. Failing is harmless: the runs then
 * allocate as they go. */
enum onnxq_status onnxq_exec_reserve_sample(struct onnxq_exec *e, size_t floats, struct onnxq_error *err);

/* From within the node hook: that subsample of output k (m values, valid
 * until the next run starts), when the kernels captured all of it. */
bool onnxq_exec_output_sample(const struct onnxq_exec *e, size_t k, const float **v, size_t *m);

/* The executor's thread pool (NULL when it has none). It is idle while the
 * node hook runs, so a hook may run parallel loops on it (the calibration
 * observer does). */
struct onnxq_threadpool *onnxq_exec_threadpool(const struct onnxq_exec *e);

/* Graph inputs that the caller must feed (initializers listed as inputs are
 * optional overrides and excluded), and graph outputs. */
size_t onnxq_exec_n_inputs(const struct onnxq_exec *e);
/* Node outputs a run produces (of the main graph) */
size_t onnxq_exec_n_node_outputs(const struct onnxq_exec *e);
const struct onnxq_value_info *onnxq_exec_input(const struct onnxq_exec *e, size_t i);
size_t onnxq_exec_n_outputs(const struct onnxq_exec *e);
const struct onnxq_value_info *onnxq_exec_output(const struct onnxq_exec *e, size_t i);

/* Run once. inputs[i] feeds onnxq_exec_input(e, i) (borrowed, not
 * modified). outputs must hold onnxq_exec_n_outputs() cleared tensors; on
 * success each receives an owning tensor the caller clears. */
enum onnxq_status onnxq_exec_run(struct onnxq_exec *e, const struct onnxq_tensor *const *inputs,
                                 struct onnxq_tensor *outputs, struct onnxq_error *err);

/* Run a subgraph executor with explicit graph inputs (n must equal the
 * subgraph's input count); used by If/Loop. */
enum onnxq_status onnxq_exec_run_graph(struct onnxq_exec *e, size_t n_in, const struct onnxq_tensor *const *inputs,
                                       size_t n_out, struct onnxq_tensor *outputs, struct onnxq_error *err);

/* Model opset of a domain for this executor's model. */
int64_t onnxq_exec_opset(const struct onnxq_exec *e, const char *domain);
const struct onnxq_context *onnxq_exec_context(const struct onnxq_exec *e);

/* Peak bytes held in intermediate tensors during the last run (live set
 * plus pooled free buffers). */
size_t onnxq_exec_peak_bytes(const struct onnxq_exec *e);

/* Scratch memory for kernels (im2col buffers...): a per-executor buffer of at
 * least `bytes`, valid until the next call. NULL on OOM. */
void *onnxq_exec_scratch(struct onnxq_exec *e, size_t bytes);

#endif
