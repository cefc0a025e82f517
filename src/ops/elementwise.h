/* Elementwise operators: unary math and activations, broadcasting binary
 * arithmetic and comparison, logic, Where, Cast. */
#ifndef ONNXQ_OPS_ELEMENTWISE_H
#define ONNXQ_OPS_ELEMENTWISE_H

#include "ops/op.h"

enum onnxq_status onnxq_unary_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_relu_run(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_binary_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_add_run(void *state, struct onnxq_op_ctx *ctx);

/* X(domain, name, since_version, init, infer_shape, run, fini) */
#define ONNXQ_OPS_ELEMENTWISE(X) \
    X("", "Relu", 6, NULL, onnxq_unary_shape, onnxq_relu_run, NULL) \
    X("", "Relu", 13, NULL, onnxq_unary_shape, onnxq_relu_run, NULL) \
    X("", "Relu", 14, NULL, onnxq_unary_shape, onnxq_relu_run, NULL) \
    X("", "Add", 7, NULL, onnxq_binary_shape, onnxq_add_run, NULL) \
    X("", "Add", 13, NULL, onnxq_binary_shape, onnxq_add_run, NULL) \
    X("", "Add", 14, NULL, onnxq_binary_shape, onnxq_add_run, NULL)

#endif
