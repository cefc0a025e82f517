/* Internal interface of the quantizer shared by quantize.c and
 * subgraph.c (If/Loop bodies): how one float weight initializer is stored
 * in int8. Not part of the public API.
 *
 * Two stored forms, chosen by what the op that reads the weight computes
 * in onnxruntime:
 *
 * - ONNXQ_WFORM_DQ: int8 initializer -> DequantizeLinear(scale, axis).
 *   For ops the plan computes in INT8: onnxruntime fuses DQ(weight) +
 *   DQ(activation) + op + Q into QLinearConv / QLinearMatMul / QGemm.
 *
 * - ONNXQ_WFORM_FOLD: int8 initializer -> Cast(to float) -> Mul(scale),
 *   with the scale shaped to broadcast along the channel axis ([C,1,..,1]
 *   for axis 0, scalar per tensor). For ops that stay float. onnxruntime
 *   deliberately never constant-folds DequantizeLinear (it keeps QDQ
 *   groups for fusion), so a DQ in front of a float op would run on every
 *   inference and the op would lose weight pre-packing and the NCHWc
 *   layout; Cast and Mul on constants are folded at session init into a
 *   plain float initializer, so the float op runs exactly as in the FP32
 *   model while the file still stores int8. The value is
 *   float(q) * scale[c], the same product DequantizeLinear computes. With
 *   >= 32 channels the scales are stored as float16 + Cast(to float): each
 *   is rounded up to a float16 value before the weight is quantized with
 *   it, so the product is still exact.
 */
#ifndef ONNXQ_QUANT_QUANT_INTERNAL_H
#define ONNXQ_QUANT_QUANT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "ir/graph.h"
#include "ir/graph_util.h"

enum onnxq_wform {
    ONNXQ_WFORM_DQ = 0,  /* int8 -> DequantizeLinear: op computed in INT8 */
    ONNXQ_WFORM_FOLD,    /* int8 -> Cast -> Mul: op computed in float, folded by ORT */
    ONNXQ_WFORM_COUNT
};

struct onnxq_wstore {
    const char *out;      /* float tensor the op reads instead (owned by the namegen) */
    const float *scales;  /* DQ form: per-channel scales (owned by g's scale
                           * initializer); NULL for FOLD (its scales may be float16) */
    int64_t channels;     /* 1 when per tensor */
    int axis;             /* -1 when per tensor */
    size_t bytes_before;  /* float bytes of the weight */
    size_t bytes_after;   /* bytes of the new initializers */
};

/* Per-channel axis of weight `wt` read by node `n` (Conv 0, ConvTranspose 1,
 * Gemm by transB, MatMul the last axis), or -1 for per tensor. */
int onnxq_quant_weight_axis(const struct onnxq_node *n, const struct onnxq_tensor *wt);

/* Store float initializer `wc` (any graph in scope of g) as int8 in form
 * `form`: symmetric, zero point 0, +-qmax (127, or 63 for reduce-range),
 * per channel along `axis` (-1 = per tensor). `min_scale` (may be NULL)
 * gives per-channel lower bounds for the scale (int32 bias fit). The new
 * initializers and nodes are added to g; the nodes go at the front of
 * g->nodes (they read only constants, so the order stays valid). Readers
 * of wc are NOT rewired and wc is not removed: point the op's input at
 * out->out, then drop wc when nothing reads it (onnxq_graph_eliminate_dead
 * does). Names come from ng (built over the whole model). */
enum onnxq_status onnxq_quant_store_weight(struct onnxq_graph *g, struct onnxq_namegen *ng,
                                           const struct onnxq_constant *wc, int axis, int qmax,
                                           enum onnxq_wform form, const float *min_scale,
                                           struct onnxq_wstore *out, struct onnxq_error *err);

#endif
