/* QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear. */
#ifndef ONNXQ_OPS_QUANT_H
#define ONNXQ_OPS_QUANT_H

#include "ops/op.h"

struct onnxq_threadpool;

/* Quantization parameters of one Q/DQ call, already checked against x:
 * per tensor (scale has one element, block_size 0), per axis (1-D scale of
 * x.dims[axis] elements) or blocked (block_size > 0: scale has x's rank and
 * ceil(x.dims[axis] / block_size) along axis). zero_point may be NULL. */
struct onnxq_qparams {
    const struct onnxq_tensor *scale, *zero_point;
    int axis;
    int64_t block_size;
};

/* y = saturate(round_half_even(x / scale) + zero_point), y's dtype chosen
 * by the caller (uint8, int8, uint16, int16); NaN saturates to the low end.
 * reference = true runs the plain per-element version. */
void onnxq_quantize_linear(struct onnxq_threadpool *pool, const struct onnxq_tensor *x,
                           const struct onnxq_qparams *q, struct onnxq_tensor *y, bool reference);
/* y = (x - zero_point) * scale, computed in float, y's dtype chosen by the
 * caller (float, float16, bfloat16). */
void onnxq_dequantize_linear(struct onnxq_threadpool *pool, const struct onnxq_tensor *x,
                             const struct onnxq_qparams *q, struct onnxq_tensor *y, bool reference);

enum onnxq_status onnxq_qlinear_init(struct onnxq_op_init *ictx, void **state);
void onnxq_qlinear_fini(void *state);
enum onnxq_status onnxq_quantize_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_quantize_run(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_dequantize_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_dequantize_run(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_dynquant_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_dynquant_run(void *state, struct onnxq_op_ctx *ctx);

/* X(domain, name, since_version, init, infer_shape, run, fini) */
#define ONNXQ_OPS_QUANT(X) \
    X("", "QuantizeLinear", 10, onnxq_qlinear_init, onnxq_quantize_shape, onnxq_quantize_run, onnxq_qlinear_fini) \
    X("", "QuantizeLinear", 13, onnxq_qlinear_init, onnxq_quantize_shape, onnxq_quantize_run, onnxq_qlinear_fini) \
    X("", "QuantizeLinear", 19, onnxq_qlinear_init, onnxq_quantize_shape, onnxq_quantize_run, onnxq_qlinear_fini) \
    X("", "QuantizeLinear", 21, onnxq_qlinear_init, onnxq_quantize_shape, onnxq_quantize_run, onnxq_qlinear_fini) \
    X("", "DequantizeLinear", 10, onnxq_qlinear_init, onnxq_dequantize_shape, onnxq_dequantize_run, \
      onnxq_qlinear_fini) \
    X("", "DequantizeLinear", 13, onnxq_qlinear_init, onnxq_dequantize_shape, onnxq_dequantize_run, \
      onnxq_qlinear_fini) \
    X("", "DequantizeLinear", 19, onnxq_qlinear_init, onnxq_dequantize_shape, onnxq_dequantize_run, \
      onnxq_qlinear_fini) \
    X("", "DequantizeLinear", 21, onnxq_qlinear_init, onnxq_dequantize_shape, onnxq_dequantize_run, \
      onnxq_qlinear_fini) \
    X("", "DynamicQuantizeLinear", 11, NULL, onnxq_dynquant_shape, onnxq_dynquant_run, NULL)

#endif
