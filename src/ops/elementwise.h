/* Elementwise operators: unary math and activations, Clip, broadcasting
 * binary arithmetic/comparison/logic, variadic Sum/Mean/Min/Max, Where,
 * Cast and CastLike.
 *
 * All broadcasting goes through one kernel (elementwise.c): the output shape
 * is collapsed (size-1 dims dropped, adjacent dims merged where every input
 * is contiguous or broadcast across both), which turns the common cases
 * into long inner rows: same shape = one row, scalar operand = one row with
 * a stride-0 side, "channel" broadcast ([N,C,H,W] op [C,1,1]) = rows of H*W
 * with a stride-0 side. Rows are split over the thread pool. A plain N-d
 * loop over the uncollapsed shape is kept as the reference. */
#ifndef ONNXQ_OPS_ELEMENTWISE_H
#define ONNXQ_OPS_ELEMENTWISE_H

#include <stdbool.h>

#include "ops/op.h"

/* Binary element operations of onnxq_ew_binary. */
enum onnxq_ew_op {
    ONNXQ_EW_ADD,
    ONNXQ_EW_SUB,
    ONNXQ_EW_MUL,
    ONNXQ_EW_DIV,            /* integers truncate; x/0 gives 0 */
    ONNXQ_EW_MIN,
    ONNXQ_EW_MAX,
    ONNXQ_EW_MOD,            /* result has the divisor's sign (Python %) */
    ONNXQ_EW_FMOD,           /* result has the dividend's sign (C fmod, %) */
    ONNXQ_EW_POW,
    ONNXQ_EW_PRELU,          /* a < 0 ? a * b : a */
    ONNXQ_EW_EQUAL,          /* comparisons write bool */
    ONNXQ_EW_LESS,
    ONNXQ_EW_GREATER,
    ONNXQ_EW_LESS_EQUAL,
    ONNXQ_EW_GREATER_EQUAL,
    ONNXQ_EW_AND,            /* logic: bool only */
    ONNXQ_EW_OR,
    ONNXQ_EW_XOR,
    ONNXQ_EW_SHL,            /* shifts: unsigned integers only */
    ONNXQ_EW_SHR,
    ONNXQ_EW_N_OPS
};

/* y = a <op> b with numpy broadcasting. a and b have the same dtype; y is
 * shaped (broadcast shape; bool for comparisons, else a's dtype) and has its
 * data. y may alias a or b when that input already has y's shape. float16
 * and bfloat16 compute in float. `reference` runs the plain N-d scalar loop
 * instead of the collapsed, parallel one (for tests). ONNXQ_E_UNSUPPORTED
 * for dtype/op combinations without a kernel. ctx supplies the thread pool
 * and the node named in errors. */
enum onnxq_status onnxq_ew_binary(struct onnxq_op_ctx *ctx, enum onnxq_ew_op op, const struct onnxq_tensor *a,
                                  const struct onnxq_tensor *b, struct onnxq_tensor *y, bool reference);

/* out = cond ? x : y with 3-way broadcasting (out shaped and allocated). */
enum onnxq_status onnxq_ew_where(struct onnxq_op_ctx *ctx, const struct onnxq_tensor *cond,
                                 const struct onnxq_tensor *x, const struct onnxq_tensor *y,
                                 struct onnxq_tensor *out, bool reference);

/* Convert n numeric elements (every dtype but string, complex and float8).
 * Floats to integers truncate toward zero and saturate at int64 (NaN gives
 * 0) before wrapping to narrower types; to bool is "!= 0"; to float16 and
 * bfloat16 rounds to nearest even. Returns false for unsupported dtypes. */
bool onnxq_ew_cast_data(enum onnxq_dtype sdt, const void *src, enum onnxq_dtype ddt, void *dst, size_t n);

/* Kernel entry points (rows below). */
enum onnxq_status onnxq_ew_unary_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_ew_unary_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_ew_unary_run(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_ew_clip_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_ew_clip_run(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_ew_binary_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_ew_binary_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_ew_binary_run(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_ew_variadic_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_ew_variadic_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_ew_variadic_run(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_ew_where_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_ew_where_run(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_ew_cast_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_ew_cast_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_ew_cast_run(void *state, struct onnxq_op_ctx *ctx);
void onnxq_ew_free(void *state);

/* Row helpers: one macro per kernel kind, so each op's rows stay one line. */
#define ONNXQ_EW_UN(X, name, ver) \
    X("", name, ver, onnxq_ew_unary_init, onnxq_ew_unary_shape, onnxq_ew_unary_run, onnxq_ew_free)
#define ONNXQ_EW_BIN(X, name, ver) \
    X("", name, ver, onnxq_ew_binary_init, onnxq_ew_binary_shape, onnxq_ew_binary_run, onnxq_ew_free)
#define ONNXQ_EW_VAR(X, name, ver) \
    X("", name, ver, onnxq_ew_variadic_init, onnxq_ew_variadic_shape, onnxq_ew_variadic_run, onnxq_ew_free)

/* X(domain, name, since_version, init, infer_shape, run, fini)
 * One row per since_version of the ONNX spec: opset 1/6 forms carry the
 * legacy attributes (consumed_inputs, broadcast/axis, Clip min/max
 * attributes, Cast's string `to`), 7 switched binary ops to numpy
 * broadcasting, 8 gave Sum/Mean/Min/Max broadcasting, later rows added
 * dtypes (all handled by the same kernels). */
#define ONNXQ_OPS_ELEMENTWISE(X) \
    ONNXQ_EW_UN(X, "Relu", 1) ONNXQ_EW_UN(X, "Relu", 6) ONNXQ_EW_UN(X, "Relu", 13) ONNXQ_EW_UN(X, "Relu", 14) \
    ONNXQ_EW_UN(X, "LeakyRelu", 1) ONNXQ_EW_UN(X, "LeakyRelu", 6) ONNXQ_EW_UN(X, "LeakyRelu", 16) \
    ONNXQ_EW_UN(X, "Elu", 1) ONNXQ_EW_UN(X, "Elu", 6) \
    ONNXQ_EW_UN(X, "Selu", 1) ONNXQ_EW_UN(X, "Selu", 6) \
    ONNXQ_EW_UN(X, "Celu", 12) \
    ONNXQ_EW_UN(X, "Sigmoid", 1) ONNXQ_EW_UN(X, "Sigmoid", 6) ONNXQ_EW_UN(X, "Sigmoid", 13) \
    ONNXQ_EW_UN(X, "HardSigmoid", 1) ONNXQ_EW_UN(X, "HardSigmoid", 6) \
    ONNXQ_EW_UN(X, "HardSwish", 14) \
    ONNXQ_EW_UN(X, "Tanh", 1) ONNXQ_EW_UN(X, "Tanh", 6) ONNXQ_EW_UN(X, "Tanh", 13) \
    ONNXQ_EW_UN(X, "Erf", 9) ONNXQ_EW_UN(X, "Erf", 13) \
    ONNXQ_EW_UN(X, "Softplus", 1) ONNXQ_EW_UN(X, "Softsign", 1) \
    ONNXQ_EW_UN(X, "Exp", 1) ONNXQ_EW_UN(X, "Exp", 6) ONNXQ_EW_UN(X, "Exp", 13) \
    ONNXQ_EW_UN(X, "Log", 1) ONNXQ_EW_UN(X, "Log", 6) ONNXQ_EW_UN(X, "Log", 13) \
    ONNXQ_EW_UN(X, "Sqrt", 1) ONNXQ_EW_UN(X, "Sqrt", 6) ONNXQ_EW_UN(X, "Sqrt", 13) \
    ONNXQ_EW_UN(X, "Neg", 1) ONNXQ_EW_UN(X, "Neg", 6) ONNXQ_EW_UN(X, "Neg", 13) \
    ONNXQ_EW_UN(X, "Abs", 1) ONNXQ_EW_UN(X, "Abs", 6) ONNXQ_EW_UN(X, "Abs", 13) \
    ONNXQ_EW_UN(X, "Reciprocal", 1) ONNXQ_EW_UN(X, "Reciprocal", 6) ONNXQ_EW_UN(X, "Reciprocal", 13) \
    ONNXQ_EW_UN(X, "Floor", 1) ONNXQ_EW_UN(X, "Floor", 6) ONNXQ_EW_UN(X, "Floor", 13) \
    ONNXQ_EW_UN(X, "Ceil", 1) ONNXQ_EW_UN(X, "Ceil", 6) ONNXQ_EW_UN(X, "Ceil", 13) \
    ONNXQ_EW_UN(X, "Round", 11) \
    ONNXQ_EW_UN(X, "Sign", 9) ONNXQ_EW_UN(X, "Sign", 13) \
    ONNXQ_EW_UN(X, "Sin", 7) ONNXQ_EW_UN(X, "Cos", 7) ONNXQ_EW_UN(X, "Tan", 7) \
    ONNXQ_EW_UN(X, "Asin", 7) ONNXQ_EW_UN(X, "Acos", 7) ONNXQ_EW_UN(X, "Atan", 7) \
    ONNXQ_EW_UN(X, "Sinh", 9) ONNXQ_EW_UN(X, "Cosh", 9) \
    ONNXQ_EW_UN(X, "Asinh", 9) ONNXQ_EW_UN(X, "Acosh", 9) ONNXQ_EW_UN(X, "Atanh", 9) \
    ONNXQ_EW_UN(X, "ThresholdedRelu", 10) \
    ONNXQ_EW_UN(X, "Mish", 18) \
    ONNXQ_EW_UN(X, "Not", 1) \
    ONNXQ_EW_UN(X, "IsNaN", 9) ONNXQ_EW_UN(X, "IsNaN", 13) \
    ONNXQ_EW_UN(X, "IsInf", 10) \
    X("", "Clip", 1, onnxq_ew_clip_init, onnxq_ew_unary_shape, onnxq_ew_clip_run, onnxq_ew_free) \
    X("", "Clip", 6, onnxq_ew_clip_init, onnxq_ew_unary_shape, onnxq_ew_clip_run, onnxq_ew_free) \
    X("", "Clip", 11, onnxq_ew_clip_init, onnxq_ew_unary_shape, onnxq_ew_clip_run, onnxq_ew_free) \
    X("", "Clip", 12, onnxq_ew_clip_init, onnxq_ew_unary_shape, onnxq_ew_clip_run, onnxq_ew_free) \
    X("", "Clip", 13, onnxq_ew_clip_init, onnxq_ew_unary_shape, onnxq_ew_clip_run, onnxq_ew_free) \
    ONNXQ_EW_BIN(X, "Add", 1) ONNXQ_EW_BIN(X, "Add", 6) ONNXQ_EW_BIN(X, "Add", 7) \
    ONNXQ_EW_BIN(X, "Add", 13) ONNXQ_EW_BIN(X, "Add", 14) \
    ONNXQ_EW_BIN(X, "Sub", 1) ONNXQ_EW_BIN(X, "Sub", 6) ONNXQ_EW_BIN(X, "Sub", 7) \
    ONNXQ_EW_BIN(X, "Sub", 13) ONNXQ_EW_BIN(X, "Sub", 14) \
    ONNXQ_EW_BIN(X, "Mul", 1) ONNXQ_EW_BIN(X, "Mul", 6) ONNXQ_EW_BIN(X, "Mul", 7) \
    ONNXQ_EW_BIN(X, "Mul", 13) ONNXQ_EW_BIN(X, "Mul", 14) \
    ONNXQ_EW_BIN(X, "Div", 1) ONNXQ_EW_BIN(X, "Div", 6) ONNXQ_EW_BIN(X, "Div", 7) \
    ONNXQ_EW_BIN(X, "Div", 13) ONNXQ_EW_BIN(X, "Div", 14) \
    ONNXQ_EW_BIN(X, "Pow", 1) ONNXQ_EW_BIN(X, "Pow", 7) ONNXQ_EW_BIN(X, "Pow", 12) \
    ONNXQ_EW_BIN(X, "Pow", 13) ONNXQ_EW_BIN(X, "Pow", 15) \
    ONNXQ_EW_BIN(X, "Mod", 10) ONNXQ_EW_BIN(X, "Mod", 13) \
    ONNXQ_EW_BIN(X, "PRelu", 1) ONNXQ_EW_BIN(X, "PRelu", 6) ONNXQ_EW_BIN(X, "PRelu", 7) \
    ONNXQ_EW_BIN(X, "PRelu", 9) ONNXQ_EW_BIN(X, "PRelu", 16) \
    ONNXQ_EW_BIN(X, "Equal", 1) ONNXQ_EW_BIN(X, "Equal", 7) ONNXQ_EW_BIN(X, "Equal", 11) \
    ONNXQ_EW_BIN(X, "Equal", 13) \
    ONNXQ_EW_BIN(X, "Less", 1) ONNXQ_EW_BIN(X, "Less", 7) ONNXQ_EW_BIN(X, "Less", 9) \
    ONNXQ_EW_BIN(X, "Less", 13) \
    ONNXQ_EW_BIN(X, "Greater", 1) ONNXQ_EW_BIN(X, "Greater", 7) ONNXQ_EW_BIN(X, "Greater", 9) \
    ONNXQ_EW_BIN(X, "Greater", 13) \
    ONNXQ_EW_BIN(X, "LessOrEqual", 12) ONNXQ_EW_BIN(X, "LessOrEqual", 16) \
    ONNXQ_EW_BIN(X, "GreaterOrEqual", 12) ONNXQ_EW_BIN(X, "GreaterOrEqual", 16) \
    ONNXQ_EW_BIN(X, "And", 1) ONNXQ_EW_BIN(X, "And", 7) \
    ONNXQ_EW_BIN(X, "Or", 1) ONNXQ_EW_BIN(X, "Or", 7) \
    ONNXQ_EW_BIN(X, "Xor", 1) ONNXQ_EW_BIN(X, "Xor", 7) \
    ONNXQ_EW_BIN(X, "BitShift", 11) \
    ONNXQ_EW_VAR(X, "Sum", 1) ONNXQ_EW_VAR(X, "Sum", 6) ONNXQ_EW_VAR(X, "Sum", 8) ONNXQ_EW_VAR(X, "Sum", 13) \
    ONNXQ_EW_VAR(X, "Mean", 1) ONNXQ_EW_VAR(X, "Mean", 6) ONNXQ_EW_VAR(X, "Mean", 8) ONNXQ_EW_VAR(X, "Mean", 13) \
    ONNXQ_EW_VAR(X, "Min", 1) ONNXQ_EW_VAR(X, "Min", 6) ONNXQ_EW_VAR(X, "Min", 8) ONNXQ_EW_VAR(X, "Min", 12) \
    ONNXQ_EW_VAR(X, "Min", 13) \
    ONNXQ_EW_VAR(X, "Max", 1) ONNXQ_EW_VAR(X, "Max", 6) ONNXQ_EW_VAR(X, "Max", 8) ONNXQ_EW_VAR(X, "Max", 12) \
    ONNXQ_EW_VAR(X, "Max", 13) \
    X("", "Where", 9, NULL, onnxq_ew_where_shape, onnxq_ew_where_run, NULL) \
    X("", "Where", 16, NULL, onnxq_ew_where_shape, onnxq_ew_where_run, NULL) \
    X("", "Cast", 1, onnxq_ew_cast_init, onnxq_ew_cast_shape, onnxq_ew_cast_run, onnxq_ew_free) \
    X("", "Cast", 6, onnxq_ew_cast_init, onnxq_ew_cast_shape, onnxq_ew_cast_run, onnxq_ew_free) \
    X("", "Cast", 9, onnxq_ew_cast_init, onnxq_ew_cast_shape, onnxq_ew_cast_run, onnxq_ew_free) \
    X("", "Cast", 13, onnxq_ew_cast_init, onnxq_ew_cast_shape, onnxq_ew_cast_run, onnxq_ew_free) \
    X("", "CastLike", 15, onnxq_ew_cast_init, onnxq_ew_cast_shape, onnxq_ew_cast_run, onnxq_ew_free)

#endif
