/* Less common operators: sorting and selection (TopK, Unique,
 * NonMaxSuppression), scans and elementwise (CumSum, Shrink, EyeLike,
 * OneHot), data movement (Compress, ReverseSequence, GatherND, ScatterND,
 * ScatterElements and the deprecated Scatter, MaxUnpool), losses
 * (NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss) and linear algebra
 * (Einsum, Det).
 *
 * Simple, exact kernels: TopK selects with a heap per row (O(n log k),
 * rows split over the pool), Unique and NonMaxSuppression sort with a
 * stable merge sort, Einsum multiplies two float/double operands with BLAS
 * after gathering them into [batch, M, K] x [batch, K, N] and runs
 * everything else (diagonals, broadcasting, one-operand sums, 3+ operands,
 * integer dtypes) through the plain reference loop. Unique and
 * NonMaxSuppression allocate their outputs in run (data-dependent shapes). */
#ifndef ONNXQ_OPS_MISC_H
#define ONNXQ_OPS_MISC_H

#include "ops/op.h"

/* Einsum's plain reference loop, for tests: same contract as the op's run
 * (output allocated, state from the op's init). */
enum onnxq_status onnxq_misc_einsum_reference(void *state, struct onnxq_op_ctx *ctx);

void onnxq_misc_free(void *state);
enum onnxq_status onnxq_misc_topk_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_misc_topk_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_misc_topk_run(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_misc_unique_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_misc_unique_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_misc_unique_run(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_misc_nms_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_misc_nms_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_misc_nms_run(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_misc_cumsum_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_misc_cumsum_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_misc_cumsum_run(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_misc_shrink_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_misc_shrink_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_misc_shrink_run(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_misc_eyelike_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_misc_eyelike_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_misc_eyelike_run(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_misc_onehot_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_misc_onehot_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_misc_onehot_run(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_misc_compress_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_misc_compress_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_misc_compress_run(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_misc_revseq_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_misc_revseq_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_misc_revseq_run(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_misc_gathernd_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_misc_gathernd_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_misc_gathernd_run(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_misc_scatternd_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_misc_scatternd_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_misc_scatternd_run(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_misc_scatter_elements_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_misc_scatter_elements_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_misc_scatter_elements_run(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_misc_maxunpool_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_misc_maxunpool_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_misc_maxunpool_run(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_misc_loss_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_misc_nll_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_misc_nll_run(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_misc_sce_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_misc_sce_run(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_misc_einsum_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_misc_einsum_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_misc_einsum_run(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_misc_det_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_misc_det_run(void *state, struct onnxq_op_ctx *ctx);

/* Row helper: ONNXQ_MISC_(X, name, version, kernel prefix, init). */
#define ONNXQ_MISC_(X, name, v, k, i) \
    X("", name, v, i, onnxq_misc_##k##_shape, onnxq_misc_##k##_run, onnxq_misc_free)
#define ONNXQ_MISC_OWN_(X, name, v, k) ONNXQ_MISC_(X, name, v, k, onnxq_misc_##k##_init)

/* X(domain, name, since_version, init, infer_shape, run, fini)
 * One row per since_version of the ONNX spec:
 *   TopK 1 (k attribute), 10 (k input), 11 (largest, sorted, negative axis)
 *   CumSum 11, 14 (half types); OneHot 9, 11 (negative indices count back)
 *   ScatterElements 11, 13 (bfloat16), 16 (reduction add/mul), 18 (max/min);
 *   Scatter 9, 11 (deprecated form of ScatterElements)
 *   ScatterND 11, 13, 16 (reduction add/mul), 18 (max/min)
 *   GatherND 11, 12 (batch_dims), 13; Compress 9, 11 (negative axis)
 *   NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss 12, 13
 *   MaxUnpool 9, 11; NonMaxSuppression 10, 11
 *   EyeLike 9, Shrink 9, ReverseSequence 10, Unique 11, Einsum 12, Det 11. */
#define ONNXQ_OPS_MISC(X) \
    ONNXQ_MISC_OWN_(X, "TopK", 1, topk) ONNXQ_MISC_OWN_(X, "TopK", 10, topk) \
    ONNXQ_MISC_OWN_(X, "TopK", 11, topk) \
    ONNXQ_MISC_OWN_(X, "Unique", 11, unique) \
    ONNXQ_MISC_OWN_(X, "NonMaxSuppression", 10, nms) ONNXQ_MISC_OWN_(X, "NonMaxSuppression", 11, nms) \
    ONNXQ_MISC_OWN_(X, "CumSum", 11, cumsum) ONNXQ_MISC_OWN_(X, "CumSum", 14, cumsum) \
    ONNXQ_MISC_OWN_(X, "Shrink", 9, shrink) \
    ONNXQ_MISC_OWN_(X, "EyeLike", 9, eyelike) \
    ONNXQ_MISC_OWN_(X, "OneHot", 9, onehot) ONNXQ_MISC_OWN_(X, "OneHot", 11, onehot) \
    ONNXQ_MISC_OWN_(X, "Compress", 9, compress) ONNXQ_MISC_OWN_(X, "Compress", 11, compress) \
    ONNXQ_MISC_OWN_(X, "ReverseSequence", 10, revseq) \
    ONNXQ_MISC_OWN_(X, "GatherND", 11, gathernd) ONNXQ_MISC_OWN_(X, "GatherND", 12, gathernd) \
    ONNXQ_MISC_OWN_(X, "GatherND", 13, gathernd) \
    ONNXQ_MISC_OWN_(X, "ScatterND", 11, scatternd) ONNXQ_MISC_OWN_(X, "ScatterND", 13, scatternd) \
    ONNXQ_MISC_OWN_(X, "ScatterND", 16, scatternd) ONNXQ_MISC_OWN_(X, "ScatterND", 18, scatternd) \
    ONNXQ_MISC_OWN_(X, "ScatterElements", 11, scatter_elements) \
    ONNXQ_MISC_OWN_(X, "ScatterElements", 13, scatter_elements) \
    ONNXQ_MISC_OWN_(X, "ScatterElements", 16, scatter_elements) \
    ONNXQ_MISC_OWN_(X, "ScatterElements", 18, scatter_elements) \
    ONNXQ_MISC_OWN_(X, "Scatter", 9, scatter_elements) ONNXQ_MISC_OWN_(X, "Scatter", 11, scatter_elements) \
    ONNXQ_MISC_OWN_(X, "MaxUnpool", 9, maxunpool) ONNXQ_MISC_OWN_(X, "MaxUnpool", 11, maxunpool) \
    ONNXQ_MISC_(X, "NegativeLogLikelihoodLoss", 12, nll, onnxq_misc_loss_init) \
    ONNXQ_MISC_(X, "NegativeLogLikelihoodLoss", 13, nll, onnxq_misc_loss_init) \
    ONNXQ_MISC_(X, "SoftmaxCrossEntropyLoss", 12, sce, onnxq_misc_loss_init) \
    ONNXQ_MISC_(X, "SoftmaxCrossEntropyLoss", 13, sce, onnxq_misc_loss_init) \
    ONNXQ_MISC_OWN_(X, "Einsum", 12, einsum) \
    ONNXQ_MISC_(X, "Det", 11, det, NULL)

#endif
