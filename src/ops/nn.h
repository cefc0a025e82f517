/* Pooling, normalization and softmax.
 *
 * Pools: MaxPool (optional Indices output), AveragePool, LpPool and the
 * Global* forms, any number of spatial dims; float32 1-D/2-D run a
 * precomputed-window kernel per (n, c) plane, everything else the generic
 * reference. Normalizations: BatchNormalization (inference, and training
 * mode from opset 14), InstanceNormalization, LayerNormalization (opset 17),
 * LRN, MeanVarianceNormalization. Softmax/LogSoftmax/Hardmax with the
 * flatten-at-axis semantics before opset 13 and the single-axis semantics
 * from opset 13. */
#ifndef ONNXQ_OPS_NN_H
#define ONNXQ_OPS_NN_H

#include "ops/op.h"

enum onnxq_status onnxq_maxpool_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_avgpool_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_lppool_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_global_maxpool_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_global_avgpool_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_global_lppool_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_pool_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_pool_run(void *state, struct onnxq_op_ctx *ctx);

enum onnxq_status onnxq_batchnorm_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_batchnorm_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_batchnorm_run(void *state, struct onnxq_op_ctx *ctx);
void onnxq_batchnorm_fini(void *state);

enum onnxq_status onnxq_instnorm_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_instnorm_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_instnorm_run(void *state, struct onnxq_op_ctx *ctx);

enum onnxq_status onnxq_layernorm_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_layernorm_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_layernorm_run(void *state, struct onnxq_op_ctx *ctx);

enum onnxq_status onnxq_lrn_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_lrn_run(void *state, struct onnxq_op_ctx *ctx);

enum onnxq_status onnxq_mvn_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_mvn_run(void *state, struct onnxq_op_ctx *ctx);

enum onnxq_status onnxq_softmax_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_logsoftmax_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_hardmax_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_softmax_run(void *state, struct onnxq_op_ctx *ctx);

/* Output = input's dtype and shape (input #0 required). */
enum onnxq_status onnxq_nn_same_shape(void *state, struct onnxq_op_ctx *ctx);
void onnxq_nn_fini(void *state);

#define ONNXQ_NN_ROW_(X, name, ver, init, shape, run) X("", name, ver, init, shape, run, onnxq_nn_fini)
#define ONNXQ_BN_ROW_(X, ver) \
    X("", "BatchNormalization", ver, onnxq_batchnorm_init, onnxq_batchnorm_shape, onnxq_batchnorm_run, \
      onnxq_batchnorm_fini)

/* X(domain, name, since_version, init, infer_shape, run, fini) */
#define ONNXQ_OPS_NN(X) \
    ONNXQ_NN_ROW_(X, "MaxPool", 1, onnxq_maxpool_init, onnxq_pool_shape, onnxq_pool_run) \
    ONNXQ_NN_ROW_(X, "MaxPool", 8, onnxq_maxpool_init, onnxq_pool_shape, onnxq_pool_run) \
    ONNXQ_NN_ROW_(X, "MaxPool", 10, onnxq_maxpool_init, onnxq_pool_shape, onnxq_pool_run) \
    ONNXQ_NN_ROW_(X, "MaxPool", 11, onnxq_maxpool_init, onnxq_pool_shape, onnxq_pool_run) \
    ONNXQ_NN_ROW_(X, "MaxPool", 12, onnxq_maxpool_init, onnxq_pool_shape, onnxq_pool_run) \
    ONNXQ_NN_ROW_(X, "AveragePool", 1, onnxq_avgpool_init, onnxq_pool_shape, onnxq_pool_run) \
    ONNXQ_NN_ROW_(X, "AveragePool", 7, onnxq_avgpool_init, onnxq_pool_shape, onnxq_pool_run) \
    ONNXQ_NN_ROW_(X, "AveragePool", 10, onnxq_avgpool_init, onnxq_pool_shape, onnxq_pool_run) \
    ONNXQ_NN_ROW_(X, "AveragePool", 11, onnxq_avgpool_init, onnxq_pool_shape, onnxq_pool_run) \
    ONNXQ_NN_ROW_(X, "AveragePool", 19, onnxq_avgpool_init, onnxq_pool_shape, onnxq_pool_run) \
    ONNXQ_NN_ROW_(X, "LpPool", 1, onnxq_lppool_init, onnxq_pool_shape, onnxq_pool_run) \
    ONNXQ_NN_ROW_(X, "LpPool", 2, onnxq_lppool_init, onnxq_pool_shape, onnxq_pool_run) \
    ONNXQ_NN_ROW_(X, "LpPool", 11, onnxq_lppool_init, onnxq_pool_shape, onnxq_pool_run) \
    ONNXQ_NN_ROW_(X, "LpPool", 18, onnxq_lppool_init, onnxq_pool_shape, onnxq_pool_run) \
    ONNXQ_NN_ROW_(X, "GlobalMaxPool", 1, onnxq_global_maxpool_init, onnxq_pool_shape, onnxq_pool_run) \
    ONNXQ_NN_ROW_(X, "GlobalAveragePool", 1, onnxq_global_avgpool_init, onnxq_pool_shape, onnxq_pool_run) \
    ONNXQ_NN_ROW_(X, "GlobalLpPool", 1, onnxq_global_lppool_init, onnxq_pool_shape, onnxq_pool_run) \
    ONNXQ_NN_ROW_(X, "GlobalLpPool", 2, onnxq_global_lppool_init, onnxq_pool_shape, onnxq_pool_run) \
    ONNXQ_BN_ROW_(X, 1) \
    ONNXQ_BN_ROW_(X, 6) \
    ONNXQ_BN_ROW_(X, 7) \
    ONNXQ_BN_ROW_(X, 9) \
    ONNXQ_BN_ROW_(X, 14) \
    ONNXQ_BN_ROW_(X, 15) \
    ONNXQ_NN_ROW_(X, "InstanceNormalization", 1, onnxq_instnorm_init, onnxq_instnorm_shape, onnxq_instnorm_run) \
    ONNXQ_NN_ROW_(X, "InstanceNormalization", 6, onnxq_instnorm_init, onnxq_instnorm_shape, onnxq_instnorm_run) \
    ONNXQ_NN_ROW_(X, "LayerNormalization", 17, onnxq_layernorm_init, onnxq_layernorm_shape, onnxq_layernorm_run) \
    ONNXQ_NN_ROW_(X, "LRN", 1, onnxq_lrn_init, onnxq_nn_same_shape, onnxq_lrn_run) \
    ONNXQ_NN_ROW_(X, "LRN", 13, onnxq_lrn_init, onnxq_nn_same_shape, onnxq_lrn_run) \
    ONNXQ_NN_ROW_(X, "MeanVarianceNormalization", 9, onnxq_mvn_init, onnxq_nn_same_shape, onnxq_mvn_run) \
    ONNXQ_NN_ROW_(X, "MeanVarianceNormalization", 13, onnxq_mvn_init, onnxq_nn_same_shape, onnxq_mvn_run) \
    ONNXQ_NN_ROW_(X, "Softmax", 1, onnxq_softmax_init, onnxq_nn_same_shape, onnxq_softmax_run) \
    ONNXQ_NN_ROW_(X, "Softmax", 11, onnxq_softmax_init, onnxq_nn_same_shape, onnxq_softmax_run) \
    ONNXQ_NN_ROW_(X, "Softmax", 13, onnxq_softmax_init, onnxq_nn_same_shape, onnxq_softmax_run) \
    ONNXQ_NN_ROW_(X, "LogSoftmax", 1, onnxq_logsoftmax_init, onnxq_nn_same_shape, onnxq_softmax_run) \
    ONNXQ_NN_ROW_(X, "LogSoftmax", 11, onnxq_logsoftmax_init, onnxq_nn_same_shape, onnxq_softmax_run) \
    ONNXQ_NN_ROW_(X, "LogSoftmax", 13, onnxq_logsoftmax_init, onnxq_nn_same_shape, onnxq_softmax_run) \
    ONNXQ_NN_ROW_(X, "Hardmax", 1, onnxq_hardmax_init, onnxq_nn_same_shape, onnxq_softmax_run) \
    ONNXQ_NN_ROW_(X, "Hardmax", 11, onnxq_hardmax_init, onnxq_nn_same_shape, onnxq_softmax_run) \
    ONNXQ_NN_ROW_(X, "Hardmax", 13, onnxq_hardmax_init, onnxq_nn_same_shape, onnxq_softmax_run)

#endif
