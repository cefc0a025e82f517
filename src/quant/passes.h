/* Graph passes run before quantization. Each pass edits the model's IR in
 * place, keeps the model valid (onnxq_model_validate passes afterwards),
 * reports how many places it changed, and is tested on its own: the
 * model's outputs are equal (or within a stated float tolerance for
 * arithmetic folds) before and after, in onnxq's executor and in
 * onnxruntime-node.
 *
 * Common rules:
 *  - Every pass walks the main graph and every subgraph (If/Loop/Scan
 *    bodies), and only touches default-domain ("" / "ai.onnx") nodes.
 *  - `changed` (may be NULL) receives the number of rewrites: nodes turned
 *    into initializers, folded, fused, or converted. It is written only on
 *    success.
 *  - Values keep their names: a graph output, or a value read by a
 *    subgraph, is still produced under the same name after a rewrite.
 *    Initializers a rewrite leaves unread are removed; value_info entries of
 *    names that disappear are removed.
 *  - Weights are only folded when they are initializers of the node's own
 *    graph that are not also graph inputs (an input could override them at
 *    run time), and float32. A weight shared with another node is copied
 *    under a fresh name before it is changed.
 *  - On failure the model may be partly rewritten but stays valid: each
 *    rewrite is applied whole or not at all.
 *  - Errors name the node ("node 'conv1' (Conv): ...").
 */
#ifndef ONNXQ_QUANT_PASSES_H
#define ONNXQ_QUANT_PASSES_H

#include <stddef.h>
#include <stdint.h>

#include "ir/graph.h"
#include "onnxq/onnxq.h"

/* DepthToSpace (mode CRD) whose output only an elementwise unary op (Relu,
 * LeakyRelu, Sigmoid, HardSigmoid, HardSwish, Tanh) and then a 1x1 Conv
 * (group 1, no padding, stride and dilation 1, initializer weights) read
 * moves after the conv: the unary op and a block-diagonal 1x1 conv
 * W2[o*b*b + q, c*b*b + q] = W[o, c] run on the small tensor, then one
 * DepthToSpace rearranges the conv's output. Exact up to summation order.
 * Runs after convtranspose_to_depthtospace, whose output it moves. */
enum onnxq_status onnxq_pass_depthtospace_past_conv(struct onnxq_model *m, size_t *changed, struct onnxq_error *err);

/* Default target and supported range of onnxq_pass_upgrade_opset. 14, not
 * 13: HardSwish (opset 14) lets fuse_hardswish replace four elementwise ops. */
#define ONNXQ_UPGRADE_OPSET_DEFAULT 14
#define ONNXQ_UPGRADE_OPSET_MIN 13
#define ONNXQ_UPGRADE_OPSET_MAX 21

/* Default-domain Constant nodes whose value is a tensor (`value`) or one of
 * value_float(s) / value_int(s) / value_string(s) become initializers of the
 * graph they live in (subgraphs included) under their output's name; the
 * node is removed. Constants with sparse_value, with an output name that is
 * already an initializer, or with more than one value attribute stay. A
 * model of IR version < 4 (which wants every initializer listed as a graph
 * input) is raised to IR version 4. */
enum onnxq_status onnxq_pass_constants_to_initializers(struct onnxq_model *m, size_t *changed,
                                                       struct onnxq_error *err);

/* BatchNormalization (inference form: training_mode 0, spatial 1, its extra
 * outputs unused) whose X is produced by a Conv, ConvTranspose or Gemm that
 * feeds nothing else, with initializer weight/bias and BN parameters, is
 * folded into that producer: with s = scale / sqrt(var + epsilon),
 *   W'[o] = W[o] * s[o]   (o = output channel: Conv W[o,...],
 *                          ConvTranspose W[ci, o % (C_out/group), ...],
 *                          Gemm B[:, o] or, with transB, B[o, :])
 *   b'[o] = (b[o] - mean[o]) * s[o] + B[o]
 * (Gemm: C' = s * (beta * C - mean) + B and beta = 1). A missing bias is
 * created. The producer takes over the BN's output name; the BN is removed.
 * Arithmetic in double, rounded once to float. */
enum onnxq_status onnxq_pass_fold_batchnorm(struct onnxq_model *m, size_t *changed, struct onnxq_error *err);

/* Mul / Add by a constant, and Sub / Div by a constant on the right, directly
 * after a Conv or ConvTranspose whose output feeds only that node, fold into
 * the weights and bias when the constant is a scalar (any shape of one
 * element) or per output channel ([C,1,1], [1,C,1,1], ...: every dim 1 but
 * the one aligned with the channel axis, and no rank above the output's):
 *   Mul v: W[o] *= v[o], b[o] *= v[o]      Div v: W[o] /= v[o], b[o] /= v[o]
 *   Add v: b[o] += v[o]                    Sub v: b[o] -= v[o]
 * Chains (Conv -> Mul -> Add) fold one node at a time. Exact up to float
 * rounding (tests allow max |diff| <= 1e-5 * max |y|). */
enum onnxq_status onnxq_pass_fold_scalar_affine(struct onnxq_model *m, size_t *changed,
                                                struct onnxq_error *err);

/* x * Clip(x + 3, 0, 6) / 6 and its spellings become HardSwish(x):
 *   Mul(x, Clip(Add(x, 3), 0, 6)) then Div by 6 or Mul by 1/6,
 *   Mul(x, Div(Clip(Add(x, 3), 0, 6), 6)) (or Mul by 1/6),
 *   Mul(x, HardSigmoid(x, alpha = 1/6, beta = 0.5)),
 * operands of Add/Mul in either order, constants as initializers or
 * Constant nodes; 1/6 and alpha match within 1e-6. Clip's bounds must be
 * inputs: its min/max attributes exist only below opset 11, where there is
 * no HardSwish (upgrade_opset turns them into inputs; an opset >= 14 Clip
 * still carrying them is not a valid Clip and is left alone). Every intermediate
 * value must feed only the pattern. HardSwish exists from opset 14: the
 * pass does nothing (changed = 0) when the model's default opset is < 14,
 * so run it after onnxq_pass_upgrade_opset. Exact up to float rounding. */
enum onnxq_status onnxq_pass_fuse_hardswish(struct onnxq_model *m, size_t *changed, struct onnxq_error *err);

/* ConvTranspose on 4-D input with kernel == stride == s >= 2 in both
 * spatial dims, no padding (pads 0, output_padding 0, no output_shape),
 * dilation 1 and an initializer weight W[C_in, C_out/group, s, s] becomes
 *   Conv 1x1 (group kept, weights W2[o*s*s + a*s + b, ci] = W[ci, o, a, b],
 *             bias b2[o*s*s + a*s + b] = bias[o])
 *   -> DepthToSpace(blocksize s, mode CRD)
 * which computes the same sums (each output pixel has exactly one kernel
 * tap). Needs opset >= 11 (DepthToSpace mode); older models are skipped. */
enum onnxq_status onnxq_pass_convtranspose_to_depthtospace(struct onnxq_model *m, size_t *changed,
                                                           struct onnxq_error *err);

/* Convert the model to default-domain opset `target` (ONNXQ_UPGRADE_OPSET_MIN
 * .. ONNXQ_UPGRADE_OPSET_MAX): every node whose operator changed between
 * the model's opset and the target is rewritten into its target form, in
 * every graph, then the default-domain opset import is set to the target
 * and the IR version raised to the one that opset needs (7 for 13 and 14,
 * 8 for 15-18, 9 for 19-20, 10 for 21). Conversions (version they apply at):
 *   consumed_inputs dropped (5/6); Selu's old alpha/gamma defaults made
 *   explicit (6); legacy broadcast/axis of binary ops -> numpy broadcasting,
 *   with an Unsqueeze of B when an axis needs it (7); PRelu's per-channel
 *   1-D slope -> [C,1,...] (7); Gemm broadcast (7);
 *   Cast string `to` (6); Concat default axis (4); Reshape shape (5),
 *   Pad pads/value (2, 11), Slice (10), TopK k (10), Clip min/max (11),
 *   Split split (13), Squeeze/Unsqueeze/ReduceSum axes (13) and the other
 *   Reduce* axes (18) attributes -> inputs; BatchNormalization drops
 *   consumed_inputs / is_test / spatial (spatial must be 1) and, at 14, its
 *   unused training outputs; Dropout drops is_test (7) and an unused mask
 *   (10), takes ratio as input (12); RNN/GRU/LSTM output_sequence (7);
 *   LpPool/GlobalLpPool integer p (2); Softmax/LogSoftmax/Hardmax (13):
 *   unchanged when the axis is known to be the last one, else
 *   Flatten(axis) -> op(axis=-1) -> Reshape(Shape(x)); Upsample -> Resize
 *   (asymmetric, nearest_mode floor); Resize-10 -> 11 inputs (asymmetric,
 *   nearest_mode from constant scales as onnxruntime rounds Resize-10);
 *   Scatter -> ScatterElements (11); RoiAlign old coordinate mode (16);
 *   Split num_outputs (18); GridSample mode names (20).
 * Changes that only add types or attributes with backward-compatible
 * defaults need nothing. ONNXQ_E_UNSUPPORTED (naming node and op) for a
 * node with no conversion path (e.g. Scan-8, Tile-1, DFT-17, GroupNormalization
 * -18, a used Dropout mask, an op unknown at the model's opset). A model
 * already at or above the target is left as it is. `changed` counts the
 * rewritten nodes plus one for the opset import. */
enum onnxq_status onnxq_pass_upgrade_opset(struct onnxq_model *m, int64_t target, size_t *changed,
                                           struct onnxq_error *err);

/* onnxq_pass_upgrade_opset to ONNXQ_UPGRADE_OPSET_DEFAULT, with the common
 * pass signature (for the table). */
enum onnxq_status onnxq_pass_upgrade_opset_default(struct onnxq_model *m, size_t *changed,
                                                   struct onnxq_error *err);

/* X(name, function): the pass table, in the order the quantizer runs them.
 * Constants first (the folds want initializers), then the opset upgrade
 * (HardSwish needs 14+ targets; converters see initializers), the affine
 * fold before the BN fold (ConvTranspose -> Add(bias) -> BN in ppocr), and
 * the ConvTranspose rewrite last (a BN after it folds into the
 * ConvTranspose first). */
#define ONNXQ_PASSES(X) \
    X(constants_to_initializers, onnxq_pass_constants_to_initializers) \
    X(upgrade_opset, onnxq_pass_upgrade_opset_default) \
    X(fold_scalar_affine, onnxq_pass_fold_scalar_affine) \
    X(fold_batchnorm, onnxq_pass_fold_batchnorm) \
    X(fuse_hardswish, onnxq_pass_fuse_hardswish) \
    X(convtranspose_to_depthtospace, onnxq_pass_convtranspose_to_depthtospace) \
    X(depthtospace_past_conv, onnxq_pass_depthtospace_past_conv)

#endif
