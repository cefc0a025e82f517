/* The QDQ rewriter: from an FP32 model and a calibration table to an INT8
 * model in QuantizeLinear/DequantizeLinear form.
 *
 * - Weights of Conv, ConvTranspose, Gemm and MatMul (constant B) become int8
 *   initializers (symmetric, zero point 0, +-127, or +-63 with reduce_range),
 *   per output channel by default (Conv axis 0, ConvTranspose axis 1, Gemm
 *   by transB, MatMul the output columns). This holds for every such
 *   weight, also where the op stays float, so the file shrinks about 4x
 *   either way. Two stored forms (quant_internal.h):
 *   - ops computed in INT8: int8 -> DequantizeLinear, which onnxruntime
 *     fuses with the op into QLinearConv/QLinearMatMul/QGemm;
 *   - ops kept float: int8 -> Cast(float) -> Mul(scale). onnxruntime never
 *     constant-folds DequantizeLinear (it keeps QDQ groups for fusion), so
 *     a DQ there would dequantize on every run and cost the float op its
 *     weight pre-packing and NCHWc layout (PP-OCR det ran 1.0-1.2x FP32
 *     that way); Cast and Mul of constants are folded at session init into
 *     a plain float initializer. Scales of >= 32 channels are float16 (+
 *     Cast), rounded up to a float16 value before quantizing, so the weight
 *     is still exactly q * scale; biases of >= 32 values of float ops are
 *     float16 + Cast too (relative change <= 2^-12).
 *   Generated weight nodes are unnamed and their tensors have short
 *   suffixes: on small models names are a visible part of the file.
 * - Biases of quantized Conv/ConvTranspose/Gemm become int32 with scale
 *   input_scale * weight_scale[c]; a channel whose bias would overflow int32
 *   gets a larger weight scale.
 * - Activations: one Q->DQ pair per quantized tensor, shared by all its
 *   INT8 consumers; uint8 asymmetric by default, int8 symmetric on
 *   request. Float consumers read the DQ only where an INT8 op writes the
 *   tensor (its Q is fused into that op); a tensor a float op writes stays
 *   float for them (no Q->DQ round trip in front of a float op).
 * - Placement: which ops compute in INT8 (see onnxq_quant_plan in
 *   quantize.c for the latency-aware cost rule); `full` quantizes every
 *   supported op. Model inputs and outputs stay float; non-float tensors
 *   are never quantized.
 * If/Loop/Scan bodies (quant/subgraph.h): their Conv/Gemm/MatMul/LSTM/
 * GRU/RNN weights are stored in the Cast -> Mul form and compute stays
 * float (the calibration hook observes only the main graph, so body
 * activations have no ranges). */
#ifndef ONNXQ_QUANT_QUANTIZE_H
#define ONNXQ_QUANT_QUANTIZE_H

#include <stdbool.h>
#include <stddef.h>

#include "calibration/ranges.h"
#include "calibration/table.h"
#include "ir/graph.h"

enum onnxq_placement {
    ONNXQ_PLACEMENT_AUTO = 0,  /* latency-aware: only ops whose INT8 form is faster */
    ONNXQ_PLACEMENT_FULL,      /* every supported op */
    ONNXQ_PLACEMENT_COUNT
};

struct onnxq_quant_options {
    enum onnxq_calib_method method;
    enum onnxq_qtype act_type;
    bool per_tensor;        /* weights per tensor instead of per channel */
    bool reduce_range;      /* 7-bit weights (+-63) */
    enum onnxq_placement placement;
    /* NULL-terminated name lists (may be NULL) */
    const char *const *op_types;          /* quantize only these op types */
    const char *const *exclude_nodes;     /* node names kept float */
    const char *const *exclude_op_types;  /* op types kept float */
};

void onnxq_quant_options_init(struct onnxq_quant_options *o);

#define ONNXQ_QUANT_MAX_OPS 48

struct onnxq_quant_report {
    size_t n_ops;
    struct {
        char op[32];
        size_t quantized, kept_float;
    } ops[ONNXQ_QUANT_MAX_OPS];
    size_t weights_int8;        /* weight tensors stored as int8 */
    size_t weight_bytes_before; /* float bytes of those weights */
    size_t weight_bytes_after;
    size_t activations;         /* Q/DQ pairs inserted */
    size_t biases_int32;
    size_t bias_scale_adjusted; /* channels whose weight scale grew to fit the bias in int32 */
    size_t relu_folded;
};

/* Rewrite `m` in place. The table must cover every activation the plan
 * quantizes (the error lists the missing tensors). The model's default
 * opset must be >= 13 (per-axis DequantizeLinear) unless weights are per
 * tensor (>= 10). */
enum onnxq_status onnxq_quantize_model(struct onnxq_model *m, const struct onnxq_calib_table *t,
                                       const struct onnxq_quant_options *o, struct onnxq_quant_report *r,
                                       struct onnxq_error *err);

/* Run the graph passes of quant/passes.h (ONNXQ_PASSES order) on m. Both
 * `onnxq calibrate` and `onnxq quantize` prepare the model this way, so
 * calibration tables name the tensors of the prepared model. */
enum onnxq_status onnxq_quant_prepare(struct onnxq_model *m, bool quiet, struct onnxq_error *err);

/* Symmetric int8 weight quantization along `axis` (-1 = per tensor):
 * writes q (numel int8) and scales (channels floats). Exposed for tests. */
void onnxq_quantize_weights(const float *w, const int64_t *dims, int ndim, int axis, int qmax, int8_t *q,
                            float *scales);

#endif
