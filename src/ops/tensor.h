/* Shape and data movement: Reshape, Flatten, Squeeze, Unsqueeze, Identity,
 * Dropout (inference), Transpose, Concat, Split, Slice, Gather,
 * GatherElements, Expand, Tile, Pad, Shape, Size, Constant,
 * ConstantOfShape, Range, Resize, Upsample, DepthToSpace, SpaceToDepth,
 * NonZero, Trilu.
 *
 * Everything moves elements by their byte size, so any dtype works
 * (strings are deep-copied); only Range, Resize/Upsample in linear/cubic
 * mode and NonZero look at values. */
#ifndef ONNXQ_OPS_TENSOR_H
#define ONNXQ_OPS_TENSOR_H

#include "ops/op.h"

/* Plain scalar reference run of an optimised data mover, for tests: same
 * contract as the op's run (outputs allocated, state from the op's init).
 * op_type is one of Transpose, Slice, Expand, Tile, DepthToSpace,
 * SpaceToDepth, Concat, Split, Gather, Pad, Resize, Upsample; other names
 * fail with ONNXQ_E_INVALID_ARG. */
enum onnxq_status onnxq_tx_run_reference(const char *op_type, void *state, struct onnxq_op_ctx *ctx);

void onnxq_tx_free(void *state);
enum onnxq_status onnxq_tx_copy_run(void *state, struct onnxq_op_ctx *ctx);

enum onnxq_status onnxq_tx_reshape_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_tx_reshape_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_tx_flatten_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_tx_flatten_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_tx_squeeze_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_tx_squeeze_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_tx_unsqueeze_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_tx_unsqueeze_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_tx_identity_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_tx_dropout_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_tx_dropout_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_tx_dropout_run(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_tx_transpose_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_tx_transpose_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_tx_transpose_run(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_tx_concat_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_tx_concat_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_tx_concat_run(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_tx_split_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_tx_split_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_tx_split_run(void *state, struct onnxq_op_ctx *ctx);
void onnxq_tx_split_fini(void *state);
enum onnxq_status onnxq_tx_slice_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_tx_slice_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_tx_slice_run(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_tx_gather_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_tx_gather_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_tx_gather_run(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_tx_gather_elements_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_tx_gather_elements_run(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_tx_expand_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_tx_expand_run(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_tx_tile_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_tx_tile_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_tx_tile_run(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_tx_pad_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_tx_pad_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_tx_pad_run(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_tx_shape_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_tx_shape_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_tx_shape_run(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_tx_size_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_tx_size_run(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_tx_constant_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_tx_constant_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_tx_constant_run(void *state, struct onnxq_op_ctx *ctx);
void onnxq_tx_constant_fini(void *state);
enum onnxq_status onnxq_tx_cos_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_tx_cos_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_tx_cos_run(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_tx_range_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_tx_range_run(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_tx_resize_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_tx_resize_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_tx_resize_run(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_tx_d2s_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_tx_s2d_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_tx_space_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_tx_space_run(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_tx_nonzero_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_tx_nonzero_run(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_tx_trilu_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_tx_trilu_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_tx_trilu_run(void *state, struct onnxq_op_ctx *ctx);

#define ONNXQ_TX_RESHAPE_(X, v) \
    X("", "Reshape", v, onnxq_tx_reshape_init, onnxq_tx_reshape_shape, onnxq_tx_copy_run, onnxq_tx_free)
#define ONNXQ_TX_FLATTEN_(X, v) \
    X("", "Flatten", v, onnxq_tx_flatten_init, onnxq_tx_flatten_shape, onnxq_tx_copy_run, onnxq_tx_free)
#define ONNXQ_TX_SQUEEZE_(X, v) \
    X("", "Squeeze", v, onnxq_tx_squeeze_init, onnxq_tx_squeeze_shape, onnxq_tx_copy_run, onnxq_tx_free)
#define ONNXQ_TX_UNSQUEEZE_(X, v) \
    X("", "Unsqueeze", v, onnxq_tx_unsqueeze_init, onnxq_tx_unsqueeze_shape, onnxq_tx_copy_run, onnxq_tx_free)
#define ONNXQ_TX_IDENTITY_(X, v) X("", "Identity", v, NULL, onnxq_tx_identity_shape, onnxq_tx_copy_run, NULL)
#define ONNXQ_TX_DROPOUT_(X, v) \
    X("", "Dropout", v, onnxq_tx_dropout_init, onnxq_tx_dropout_shape, onnxq_tx_dropout_run, onnxq_tx_free)
#define ONNXQ_TX_TRANSPOSE_(X, v) \
    X("", "Transpose", v, onnxq_tx_transpose_init, onnxq_tx_transpose_shape, onnxq_tx_transpose_run, onnxq_tx_free)
#define ONNXQ_TX_CONCAT_(X, v) \
    X("", "Concat", v, onnxq_tx_concat_init, onnxq_tx_concat_shape, onnxq_tx_concat_run, onnxq_tx_free)
#define ONNXQ_TX_SPLIT_(X, v) \
    X("", "Split", v, onnxq_tx_split_init, onnxq_tx_split_shape, onnxq_tx_split_run, onnxq_tx_split_fini)
#define ONNXQ_TX_SLICE_(X, v) \
    X("", "Slice", v, onnxq_tx_slice_init, onnxq_tx_slice_shape, onnxq_tx_slice_run, onnxq_tx_free)
#define ONNXQ_TX_GATHER_(X, v) \
    X("", "Gather", v, onnxq_tx_gather_init, onnxq_tx_gather_shape, onnxq_tx_gather_run, onnxq_tx_free)
#define ONNXQ_TX_GATHER_ELEMENTS_(X, v) \
    X("", "GatherElements", v, onnxq_tx_gather_init, onnxq_tx_gather_elements_shape, \
      onnxq_tx_gather_elements_run, onnxq_tx_free)
#define ONNXQ_TX_EXPAND_(X, v) X("", "Expand", v, NULL, onnxq_tx_expand_shape, onnxq_tx_expand_run, NULL)
#define ONNXQ_TX_TILE_(X, v) \
    X("", "Tile", v, onnxq_tx_tile_init, onnxq_tx_tile_shape, onnxq_tx_tile_run, onnxq_tx_free)
#define ONNXQ_TX_PAD_(X, v) X("", "Pad", v, onnxq_tx_pad_init, onnxq_tx_pad_shape, onnxq_tx_pad_run, onnxq_tx_free)
#define ONNXQ_TX_SHAPE_(X, v) \
    X("", "Shape", v, onnxq_tx_shape_init, onnxq_tx_shape_shape, onnxq_tx_shape_run, onnxq_tx_free)
#define ONNXQ_TX_SIZE_(X, v) X("", "Size", v, NULL, onnxq_tx_size_shape, onnxq_tx_size_run, NULL)
#define ONNXQ_TX_CONSTANT_(X, v) \
    X("", "Constant", v, onnxq_tx_constant_init, onnxq_tx_constant_shape, onnxq_tx_constant_run, \
      onnxq_tx_constant_fini)
#define ONNXQ_TX_COS_(X, v) \
    X("", "ConstantOfShape", v, onnxq_tx_cos_init, onnxq_tx_cos_shape, onnxq_tx_cos_run, onnxq_tx_constant_fini)
#define ONNXQ_TX_RESIZE_(X, name, v) \
    X("", name, v, onnxq_tx_resize_init, onnxq_tx_resize_shape, onnxq_tx_resize_run, onnxq_tx_free)
#define ONNXQ_TX_D2S_(X, v) \
    X("", "DepthToSpace", v, onnxq_tx_d2s_init, onnxq_tx_space_shape, onnxq_tx_space_run, onnxq_tx_free)
#define ONNXQ_TX_S2D_(X, v) \
    X("", "SpaceToDepth", v, onnxq_tx_s2d_init, onnxq_tx_space_shape, onnxq_tx_space_run, onnxq_tx_free)
#define ONNXQ_TX_NONZERO_(X, v) X("", "NonZero", v, NULL, onnxq_tx_nonzero_shape, onnxq_tx_nonzero_run, NULL)

/* X(domain, name, since_version, init, infer_shape, run, fini)
 * One row per version whose inputs, attributes or semantics changed. */
#define ONNXQ_OPS_TENSOR(X) \
    ONNXQ_TX_RESHAPE_(X, 1) ONNXQ_TX_RESHAPE_(X, 5) ONNXQ_TX_RESHAPE_(X, 13) ONNXQ_TX_RESHAPE_(X, 14) \
    ONNXQ_TX_FLATTEN_(X, 1) ONNXQ_TX_FLATTEN_(X, 9) ONNXQ_TX_FLATTEN_(X, 11) ONNXQ_TX_FLATTEN_(X, 13) \
    ONNXQ_TX_SQUEEZE_(X, 1) ONNXQ_TX_SQUEEZE_(X, 11) ONNXQ_TX_SQUEEZE_(X, 13) \
    ONNXQ_TX_UNSQUEEZE_(X, 1) ONNXQ_TX_UNSQUEEZE_(X, 11) ONNXQ_TX_UNSQUEEZE_(X, 13) \
    ONNXQ_TX_IDENTITY_(X, 1) ONNXQ_TX_IDENTITY_(X, 13) ONNXQ_TX_IDENTITY_(X, 14) ONNXQ_TX_IDENTITY_(X, 16) \
    ONNXQ_TX_DROPOUT_(X, 1) ONNXQ_TX_DROPOUT_(X, 6) ONNXQ_TX_DROPOUT_(X, 7) ONNXQ_TX_DROPOUT_(X, 10) \
    ONNXQ_TX_DROPOUT_(X, 12) ONNXQ_TX_DROPOUT_(X, 13) \
    ONNXQ_TX_TRANSPOSE_(X, 1) ONNXQ_TX_TRANSPOSE_(X, 13) \
    ONNXQ_TX_CONCAT_(X, 1) ONNXQ_TX_CONCAT_(X, 4) ONNXQ_TX_CONCAT_(X, 11) ONNXQ_TX_CONCAT_(X, 13) \
    ONNXQ_TX_SPLIT_(X, 1) ONNXQ_TX_SPLIT_(X, 2) ONNXQ_TX_SPLIT_(X, 11) ONNXQ_TX_SPLIT_(X, 13) \
    ONNXQ_TX_SPLIT_(X, 18) \
    ONNXQ_TX_SLICE_(X, 1) ONNXQ_TX_SLICE_(X, 10) ONNXQ_TX_SLICE_(X, 11) ONNXQ_TX_SLICE_(X, 13) \
    ONNXQ_TX_GATHER_(X, 1) ONNXQ_TX_GATHER_(X, 11) ONNXQ_TX_GATHER_(X, 13) \
    ONNXQ_TX_GATHER_ELEMENTS_(X, 11) ONNXQ_TX_GATHER_ELEMENTS_(X, 13) \
    ONNXQ_TX_EXPAND_(X, 8) ONNXQ_TX_EXPAND_(X, 13) \
    ONNXQ_TX_TILE_(X, 1) ONNXQ_TX_TILE_(X, 6) ONNXQ_TX_TILE_(X, 13) \
    ONNXQ_TX_PAD_(X, 1) ONNXQ_TX_PAD_(X, 2) ONNXQ_TX_PAD_(X, 11) ONNXQ_TX_PAD_(X, 13) ONNXQ_TX_PAD_(X, 18) \
    ONNXQ_TX_PAD_(X, 19) \
    ONNXQ_TX_SHAPE_(X, 1) ONNXQ_TX_SHAPE_(X, 13) ONNXQ_TX_SHAPE_(X, 15) \
    ONNXQ_TX_SIZE_(X, 1) ONNXQ_TX_SIZE_(X, 13) \
    ONNXQ_TX_CONSTANT_(X, 1) ONNXQ_TX_CONSTANT_(X, 9) ONNXQ_TX_CONSTANT_(X, 11) ONNXQ_TX_CONSTANT_(X, 12) \
    ONNXQ_TX_CONSTANT_(X, 13) \
    ONNXQ_TX_COS_(X, 9) ONNXQ_TX_COS_(X, 20) \
    X("", "Range", 11, NULL, onnxq_tx_range_shape, onnxq_tx_range_run, NULL) \
    ONNXQ_TX_RESIZE_(X, "Resize", 10) ONNXQ_TX_RESIZE_(X, "Resize", 11) ONNXQ_TX_RESIZE_(X, "Resize", 13) \
    ONNXQ_TX_RESIZE_(X, "Resize", 18) ONNXQ_TX_RESIZE_(X, "Resize", 19) \
    ONNXQ_TX_RESIZE_(X, "Upsample", 7) ONNXQ_TX_RESIZE_(X, "Upsample", 9) \
    ONNXQ_TX_D2S_(X, 1) ONNXQ_TX_D2S_(X, 11) ONNXQ_TX_D2S_(X, 13) \
    ONNXQ_TX_S2D_(X, 1) ONNXQ_TX_S2D_(X, 13) \
    ONNXQ_TX_NONZERO_(X, 9) ONNXQ_TX_NONZERO_(X, 13) \
    X("", "Trilu", 14, onnxq_tx_trilu_init, onnxq_tx_trilu_shape, onnxq_tx_trilu_run, onnxq_tx_free)

#endif
