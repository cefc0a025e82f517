/* Control flow: If, Loop. */
#ifndef ONNXQ_OPS_CONTROL_H
#define ONNXQ_OPS_CONTROL_H

#include "ops/op.h"

enum onnxq_status onnxq_if_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_if_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_if_run(void *state, struct onnxq_op_ctx *ctx);
void onnxq_if_fini(void *state);
enum onnxq_status onnxq_loop_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_loop_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_loop_run(void *state, struct onnxq_op_ctx *ctx);
void onnxq_loop_fini(void *state);

/* X(domain, name, since_version, init, infer_shape, run, fini)
 * Later versions only add element types (sequences and optionals, which
 * onnxq's tensors do not carry; such models fail in the branch). */
#define ONNXQ_OPS_CONTROL(X) \
    X("", "If", 1, onnxq_if_init, onnxq_if_shape, onnxq_if_run, onnxq_if_fini) \
    X("", "If", 11, onnxq_if_init, onnxq_if_shape, onnxq_if_run, onnxq_if_fini) \
    X("", "If", 13, onnxq_if_init, onnxq_if_shape, onnxq_if_run, onnxq_if_fini) \
    X("", "If", 16, onnxq_if_init, onnxq_if_shape, onnxq_if_run, onnxq_if_fini) \
    X("", "Loop", 1, onnxq_loop_init, onnxq_loop_shape, onnxq_loop_run, onnxq_loop_fini) \
    X("", "Loop", 11, onnxq_loop_init, onnxq_loop_shape, onnxq_loop_run, onnxq_loop_fini) \
    X("", "Loop", 13, onnxq_loop_init, onnxq_loop_shape, onnxq_loop_run, onnxq_loop_fini) \
    X("", "Loop", 16, onnxq_loop_init, onnxq_loop_shape, onnxq_loop_run, onnxq_loop_fini)

#endif
