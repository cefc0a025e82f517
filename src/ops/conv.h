/* Convolution and matrix products: Conv, ConvTranspose, Gemm, MatMul.
 *
 * Float32 runs optimised kernels (1x1 and im2col products, a direct
 * depthwise kernel, Winograd F(2x2,3x3); products by OpenBLAS or, on
 * AVX-512 builds, an in-house kernel); double and float16
 * Conv/ConvTranspose run the scalar reference, Gemm/MatMul use dgemm or
 * generic loops. The kernel entry points below are exported to the unit
 * tests (tests/test_conv.c), which check every optimised path against the
 * reference. */
#ifndef ONNXQ_OPS_CONV_H
#define ONNXQ_OPS_CONV_H

#include "ops/op.h"

/* Spatial rank limit (tensor rank limit minus N and C). */
#define ONNXQ_CONV_MAX_SP (ONNXQ_MAX_DIMS - 2)

/* Resolved geometry of one Conv or ConvTranspose for concrete shapes.
 * For both ops the tap relation is
 *     conv:          in_pos  = out_pos * stride - pad_b + k_pos * dil
 *     convtranspose: out_pos = in_pos  * stride - pad_b + k_pos * dil
 * `c` is the input channel count and `m` the output channel count of the
 * whole op; each of `group` groups maps c/group inputs to m/group outputs.
 * ConvTranspose pads may be negative (an explicit output_shape larger
 * than the natural one). */
struct onnxq_conv_geom {
    int nsp;
    int64_t n, c, m, group;
    int64_t in[ONNXQ_CONV_MAX_SP], k[ONNXQ_CONV_MAX_SP], out[ONNXQ_CONV_MAX_SP];
    int64_t stride[ONNXQ_CONV_MAX_SP], dil[ONNXQ_CONV_MAX_SP];
    int64_t pad_b[ONNXQ_CONV_MAX_SP], pad_e[ONNXQ_CONV_MAX_SP];
};

enum onnxq_conv_algo {
    ONNXQ_CONV_AUTO = 0,     /* pick the fastest applicable */
    ONNXQ_CONV_REFERENCE,    /* direct loops (the test oracle) */
    ONNXQ_CONV_GEMM_1X1,     /* 1x1, stride 1, no pad: one sgemm per image and group */
    ONNXQ_CONV_IM2COL,       /* any shape: im2col tiles + sgemm */
    ONNXQ_CONV_DEPTHWISE,    /* 1-D/2-D, group == C == M */
    ONNXQ_CONV_WINOGRAD,     /* 2-D 3x3, stride 1, dilation 1, group 1 */
};

/* Which matrix-product engine the GEMM-based paths use: OpenBLAS, or the
 * in-house AVX-512 kernel (default when the build targets AVX-512; it is
 * plain C, so it also runs, slowly, elsewhere). */
enum onnxq_gemm_backend {
    ONNXQ_GEMM_AUTO = 0,
    ONNXQ_GEMM_BLAS,
    ONNXQ_GEMM_OWN,
};

/* True when AUTO picks the in-house kernel. */
bool onnxq_gemm_own_default(void);

/* Whether `algo` can run geometry g. */
bool onnxq_conv_algo_ok(const struct onnxq_conv_geom *g, enum onnxq_conv_algo algo);

/* Conv on float32, NC<spatial> layouts, W [m, c/group, k...], bias [m] or
 * NULL. ctx supplies the thread pool and scratch memory (ctx->exec may be
 * NULL: then scratch is malloc'd). Fails only on OOM or a non-applicable
 * algo. */
enum onnxq_status onnxq_conv_f32(struct onnxq_op_ctx *ctx, const struct onnxq_conv_geom *g,
                                 enum onnxq_conv_algo algo, enum onnxq_gemm_backend backend, const float *x,
                                 const float *w, const float *bias, float *y);

/* ConvTranspose on float32: W [c, m/group, k...]; sgemm + col2im, or the
 * reference when `reference` is true. */
enum onnxq_status onnxq_convtranspose_f32(struct onnxq_op_ctx *ctx, const struct onnxq_conv_geom *g,
                                          bool reference, enum onnxq_gemm_backend backend, const float *x,
                                          const float *w, const float *bias, float *y);

/* Scalar references in double (bias may be NULL). */
void onnxq_conv_ref(const struct onnxq_conv_geom *g, const double *x, const double *w, const double *bias,
                    double *y);
void onnxq_convtranspose_ref(const struct onnxq_conv_geom *g, const double *x, const double *w,
                             const double *bias, double *y);

/* Operator functions (rows below). */
enum onnxq_status onnxq_conv_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_convtranspose_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_conv_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_conv_run(void *state, struct onnxq_op_ctx *ctx);
void onnxq_conv_fini(void *state);
enum onnxq_status onnxq_gemm_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_gemm_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_gemm_run(void *state, struct onnxq_op_ctx *ctx);
void onnxq_gemm_fini(void *state);
enum onnxq_status onnxq_matmul_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_matmul_run(void *state, struct onnxq_op_ctx *ctx);

/* X(domain, name, since_version, init, infer_shape, run, fini) */
#define ONNXQ_OPS_CONV(X) \
    X("", "Conv", 1, onnxq_conv_init, onnxq_conv_shape, onnxq_conv_run, onnxq_conv_fini) \
    X("", "Conv", 11, onnxq_conv_init, onnxq_conv_shape, onnxq_conv_run, onnxq_conv_fini) \
    X("", "ConvTranspose", 1, onnxq_convtranspose_init, onnxq_conv_shape, onnxq_conv_run, onnxq_conv_fini) \
    X("", "ConvTranspose", 11, onnxq_convtranspose_init, onnxq_conv_shape, onnxq_conv_run, onnxq_conv_fini) \
    X("", "Gemm", 1, onnxq_gemm_init, onnxq_gemm_shape, onnxq_gemm_run, onnxq_gemm_fini) \
    X("", "Gemm", 6, onnxq_gemm_init, onnxq_gemm_shape, onnxq_gemm_run, onnxq_gemm_fini) \
    X("", "Gemm", 7, onnxq_gemm_init, onnxq_gemm_shape, onnxq_gemm_run, onnxq_gemm_fini) \
    X("", "Gemm", 9, onnxq_gemm_init, onnxq_gemm_shape, onnxq_gemm_run, onnxq_gemm_fini) \
    X("", "Gemm", 11, onnxq_gemm_init, onnxq_gemm_shape, onnxq_gemm_run, onnxq_gemm_fini) \
    X("", "Gemm", 13, onnxq_gemm_init, onnxq_gemm_shape, onnxq_gemm_run, onnxq_gemm_fini) \
    X("", "MatMul", 1, NULL, onnxq_matmul_shape, onnxq_matmul_run, NULL) \
    X("", "MatMul", 9, NULL, onnxq_matmul_shape, onnxq_matmul_run, NULL) \
    X("", "MatMul", 13, NULL, onnxq_matmul_shape, onnxq_matmul_run, NULL)

#endif
