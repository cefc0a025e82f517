/* Elementwise operators. */
#include <math.h>
#include <string.h>

#include "ops/elementwise.h"

enum onnxq_status onnxq_unary_shape(void *state, struct onnxq_op_ctx *ctx)
{
    (void)state;
    enum onnxq_status st = onnxq_need_input(ctx, 0);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    onnxq_out_shape(ctx->outputs[0], x->dtype, x->ndim, x->dims);
    return ONNXQ_OK;
}

struct unary_job {
    const float *x;
    float *y;
};

static void relu_range(void *arg, size_t b, size_t e)
{
    struct unary_job *j = arg;
    for (size_t i = b; i < e; i++)
        j->y[i] = j->x[i] > 0.0f ? j->x[i] : 0.0f;
}

enum onnxq_status onnxq_relu_run(void *state, struct onnxq_op_ctx *ctx)
{
    (void)state;
    enum onnxq_status st = onnxq_need_dtype(ctx, 0, ONNXQ_DT_FLOAT);
    if (st)
        return st;
    struct unary_job j = {ctx->inputs[0]->data, ctx->outputs[0]->data};
    onnxq_parallel_for(ctx, (size_t)onnxq_tensor_numel(ctx->inputs[0]), 1 << 16, relu_range, &j);
    return ONNXQ_OK;
}

enum onnxq_status onnxq_binary_shape(void *state, struct onnxq_op_ctx *ctx)
{
    (void)state;
    enum onnxq_status st;
    if ((st = onnxq_need_input(ctx, 0)) || (st = onnxq_need_input(ctx, 1)))
        return st;
    const struct onnxq_tensor *a = ctx->inputs[0], *b = ctx->inputs[1];
    if (a->dtype != b->dtype)
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE, "input dtypes differ: %s and %s",
                             onnxq_dtype_name(a->dtype), onnxq_dtype_name(b->dtype));
    int64_t dims[ONNXQ_MAX_DIMS];
    int nd;
    if ((st = onnxq_broadcast_shape(ctx, a->dims, a->ndim, b->dims, b->ndim, dims, &nd)))
        return st;
    onnxq_out_shape(ctx->outputs[0], a->dtype, nd, dims);
    return ONNXQ_OK;
}

/* Straightforward broadcasting Add on float (template for the family). */
enum onnxq_status onnxq_add_run(void *state, struct onnxq_op_ctx *ctx)
{
    (void)state;
    const struct onnxq_tensor *a = ctx->inputs[0], *b = ctx->inputs[1];
    struct onnxq_tensor *y = ctx->outputs[0];
    if (a->dtype != ONNXQ_DT_FLOAT)
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_UNSUPPORTED, "dtype %s", onnxq_dtype_name(a->dtype));
    int nd = y->ndim;
    int64_t sa[ONNXQ_MAX_DIMS], sb[ONNXQ_MAX_DIMS], idx[ONNXQ_MAX_DIMS] = {0};
    /* element strides of a and b in the output's index space (0 where broadcast) */
    int64_t st_a = 1, st_b = 1;
    for (int i = nd - 1; i >= 0; i--) {
        int ia = i - (nd - a->ndim), ib = i - (nd - b->ndim);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        sa[i] = da == 1 ? 0 : st_a;
        sb[i] = db == 1 ? 0 : st_b;
        st_a *= da;
        st_b *= db;
    }
    const float *pa = a->data, *pb = b->data;
    float *py = y->data;
    int64_t n = onnxq_tensor_numel(y);
    int64_t oa = 0, ob = 0;
    for (int64_t i = 0; i < n; i++) {
        py[i] = pa[oa] + pb[ob];
        for (int d = nd - 1; d >= 0; d--) {
            if (++idx[d] < y->dims[d]) {
                oa += sa[d];
                ob += sb[d];
                break;
            }
            oa -= sa[d] * (y->dims[d] - 1);
            ob -= sb[d] * (y->dims[d] - 1);
            idx[d] = 0;
        }
    }
    return ONNXQ_OK;
}
