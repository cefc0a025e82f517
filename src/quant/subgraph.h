/* Weight-only int8 storage inside If/Loop/Scan bodies.
 *
 * onnxq_quantize_model rewrites the main graph; bodies of control-flow ops
 * are reached only here. The executor's calibration hook observes top-level
 * nodes only, so activations inside a body have no ranges: their ops keep
 * computing in float, and only the bytes of their weights shrink.
 *
 * Which constants: a float initializer (of a body, or of an enclosing graph
 * when a body reads it as an outer-scope value) with at least
 * ONNXQ_SUBGRAPH_MIN_NUMEL elements whose every use is a weight:
 *   - the weight input of Conv, ConvTranspose, Gemm (B) or MatMul (B),
 *   - W or R of LSTM, GRU or RNN,
 *   - or the data input of a data-movement op (Slice, Concat, Reshape,
 *     Transpose, Squeeze, Unsqueeze, Identity, Flatten, Split, Gather)
 *     whose outputs are, again, only such uses. Exporters slice and
 *     re-concatenate RNN gates this way (silero VAD v5's LSTM).
 * Any other use (an Add, a graph output, ...) leaves the constant float.
 * Main-graph initializers that no body reads are onnxq_quantize_model's.
 *
 * How: onnxq_quant_store_weight in the ONNXQ_WFORM_FOLD form (int8 ->
 * Cast -> Mul(scale)) in the graph that owns the initializer; every reader
 * (in that graph and in nested bodies) is pointed at the product and the
 * float initializer is removed. onnxruntime folds Cast and Mul of constants
 * at session initialization, also inside bodies, so the float ops run as in
 * the FP32 model. Symmetric int8 (+-127, +-63 with reduce_range), per
 * channel unless per_tensor: the op's axis for direct weights (Conv 0,
 * ConvTranspose 1, Gemm by transB, MatMul the last axis, LSTM/GRU/RNN W and
 * R axis 1), axis 0 behind data-movement ops (the output-unit axis of
 * PyTorch's Linear, Conv and RNN layouts). The axis only chooses the scale
 * granularity: the stored product is correct whatever the readers do.
 * Weights read by a node named in exclude_nodes or of a type in
 * exclude_op_types stay float. */
#ifndef ONNXQ_QUANT_SUBGRAPH_H
#define ONNXQ_QUANT_SUBGRAPH_H

#include <stddef.h>

#include "core/error.h"
#include "ir/graph.h"
#include "ir/graph_util.h"
#include "quant/quantize.h"

/* Below this many elements the Cast, Mul, scale and names cost about as
 * much as the 3 bytes per element saved. */
#define ONNXQ_SUBGRAPH_MIN_NUMEL 256

struct onnxq_subgraph_stats {
    size_t bodies;        /* subgraphs visited (recursively) */
    size_t weights_int8;  /* constants stored as int8 */
    size_t bytes_before;  /* their float bytes */
    size_t bytes_after;   /* bytes of the int8 and scale initializers */
    size_t kept_float;    /* float constants >= ONNXQ_SUBGRAPH_MIN_NUMEL read by a body, left float */
};

/* Store the weights of m's bodies as int8 (see above). Counts go into r
 * (weights_int8, weight_bytes_before/after; may be NULL) and stats (may
 * be NULL). Names come from ng (built over the whole model). A model
 * without bodies is left alone. */
enum onnxq_status onnxq_quant_subgraphs(struct onnxq_model *m, struct onnxq_namegen *ng,
                                        const struct onnxq_quant_options *o, struct onnxq_quant_report *r,
                                        struct onnxq_subgraph_stats *stats, struct onnxq_error *err);

#endif
