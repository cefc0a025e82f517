/* Reductions and arg-reductions.
 *
 * ReduceSum/Mean/Max/Min/Prod/L1/L2/SumSquare/LogSum/LogSumExp share one
 * kernel set: `axes` is an attribute up to opset 12 (ReduceSum) / 17 (the
 * others) and an optional input from opset 13 (ReduceSum) / 18 (the others),
 * with noop_with_empty_axes. ArgMax/ArgMin return int64 indices along one
 * axis (select_last_index from opset 12). float32 runs vectorisable kernels
 * over the merged (outer, reduced, inner) view; every other dtype (and
 * reductions over several separate axis blocks) runs the generic reference. */
#ifndef ONNXQ_OPS_REDUCE_H
#define ONNXQ_OPS_REDUCE_H

#include "ops/op.h"

enum onnxq_status onnxq_reduce_sum_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_reduce_mean_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_reduce_max_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_reduce_min_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_reduce_prod_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_reduce_l1_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_reduce_l2_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_reduce_sumsq_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_reduce_logsum_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_reduce_lse_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_reduce_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_reduce_run(void *state, struct onnxq_op_ctx *ctx);
void onnxq_reduce_fini(void *state);

enum onnxq_status onnxq_argmax_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_argmin_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_arg_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_arg_run(void *state, struct onnxq_op_ctx *ctx);
void onnxq_arg_fini(void *state);

#define ONNXQ_REDUCE_ROWS_(X, name, init) \
    X("", name, 1, init, onnxq_reduce_shape, onnxq_reduce_run, onnxq_reduce_fini) \
    X("", name, 11, init, onnxq_reduce_shape, onnxq_reduce_run, onnxq_reduce_fini) \
    X("", name, 13, init, onnxq_reduce_shape, onnxq_reduce_run, onnxq_reduce_fini) \
    X("", name, 18, init, onnxq_reduce_shape, onnxq_reduce_run, onnxq_reduce_fini)

#define ONNXQ_ARG_ROWS_(X, name, init) \
    X("", name, 1, init, onnxq_arg_shape, onnxq_arg_run, onnxq_arg_fini) \
    X("", name, 11, init, onnxq_arg_shape, onnxq_arg_run, onnxq_arg_fini) \
    X("", name, 12, init, onnxq_arg_shape, onnxq_arg_run, onnxq_arg_fini) \
    X("", name, 13, init, onnxq_arg_shape, onnxq_arg_run, onnxq_arg_fini)

/* X(domain, name, since_version, init, infer_shape, run, fini) */
#define ONNXQ_OPS_REDUCE(X) \
    X("", "ReduceSum", 1, onnxq_reduce_sum_init, onnxq_reduce_shape, onnxq_reduce_run, onnxq_reduce_fini) \
    X("", "ReduceSum", 11, onnxq_reduce_sum_init, onnxq_reduce_shape, onnxq_reduce_run, onnxq_reduce_fini) \
    X("", "ReduceSum", 13, onnxq_reduce_sum_init, onnxq_reduce_shape, onnxq_reduce_run, onnxq_reduce_fini) \
    ONNXQ_REDUCE_ROWS_(X, "ReduceMean", onnxq_reduce_mean_init) \
    ONNXQ_REDUCE_ROWS_(X, "ReduceMax", onnxq_reduce_max_init) \
    X("", "ReduceMax", 12, onnxq_reduce_max_init, onnxq_reduce_shape, onnxq_reduce_run, onnxq_reduce_fini) \
    X("", "ReduceMax", 20, onnxq_reduce_max_init, onnxq_reduce_shape, onnxq_reduce_run, onnxq_reduce_fini) \
    ONNXQ_REDUCE_ROWS_(X, "ReduceMin", onnxq_reduce_min_init) \
    X("", "ReduceMin", 12, onnxq_reduce_min_init, onnxq_reduce_shape, onnxq_reduce_run, onnxq_reduce_fini) \
    X("", "ReduceMin", 20, onnxq_reduce_min_init, onnxq_reduce_shape, onnxq_reduce_run, onnxq_reduce_fini) \
    ONNXQ_REDUCE_ROWS_(X, "ReduceProd", onnxq_reduce_prod_init) \
    ONNXQ_REDUCE_ROWS_(X, "ReduceL1", onnxq_reduce_l1_init) \
    ONNXQ_REDUCE_ROWS_(X, "ReduceL2", onnxq_reduce_l2_init) \
    ONNXQ_REDUCE_ROWS_(X, "ReduceSumSquare", onnxq_reduce_sumsq_init) \
    ONNXQ_REDUCE_ROWS_(X, "ReduceLogSum", onnxq_reduce_logsum_init) \
    ONNXQ_REDUCE_ROWS_(X, "ReduceLogSumExp", onnxq_reduce_lse_init) \
    ONNXQ_ARG_ROWS_(X, "ArgMax", onnxq_argmax_init) \
    ONNXQ_ARG_ROWS_(X, "ArgMin", onnxq_argmin_init)

#endif
