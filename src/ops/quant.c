/* QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear.
 *
 * These run the QDQ models the quantizer emits, so they follow the ONNX
 * formulas exactly, as onnxruntime computes them in float:
 *   Q:  y = saturate(round_half_even(x / scale) + zero_point)
 *   DQ: y = (float)(x - zero_point) * scale
 * Per-tensor and per-axis float32 <-> (u)int8/(u)int16 take vectorisable
 * fast paths; everything else (other dtypes, blocked quantization) runs the
 * per-element reference, which the unit tests also compare the fast paths
 * against. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/threadpool.h"
#include "ops/quant.h"

/* ---------------------------------------------------------------- layouts */

enum qmode { Q_TENSOR = 0, Q_AXIS, Q_BLOCK };

/* x viewed as [outer, A, inner] around the axis. */
struct qlayout {
    enum qmode mode;
    int64_t outer, A, inner, SA, B;
};

static void qlayout_of(const struct onnxq_tensor *x, const struct onnxq_qparams *q, struct qlayout *l)
{
    int64_t n = onnxq_tensor_numel(x);
    memset(l, 0, sizeof(*l));
    if (q->block_size > 0) {
        l->mode = Q_BLOCK;
    } else if (onnxq_tensor_numel(q->scale) == 1) {
        l->mode = Q_TENSOR;
        l->outer = 1;
        l->A = 1;
        l->inner = n;
        return;
    } else {
        l->mode = Q_AXIS;
    }
    l->outer = 1;
    for (int i = 0; i < q->axis; i++)
        l->outer *= x->dims[i];
    l->A = x->dims[q->axis];
    l->inner = 1;
    for (int i = q->axis + 1; i < x->ndim; i++)
        l->inner *= x->dims[i];
    l->B = q->block_size;
    l->SA = l->B > 0 ? (l->A + l->B - 1) / l->B : l->A;
}

/* Index into scale/zero_point of element i of x. */
static size_t qparam_index(const struct qlayout *l, int64_t i)
{
    switch (l->mode) {
    case Q_TENSOR: return 0;
    case Q_AXIS: return (size_t)((i / l->inner) % l->A);
    case Q_BLOCK: {
        int64_t in = i % l->inner, a = (i / l->inner) % l->A, o = i / (l->inner * l->A);
        return (size_t)((o * l->SA + a / l->B) * l->inner + in);
    }
    }
    return 0;
}

static void qrange(enum onnxq_dtype dt, int32_t *lo, int32_t *hi)
{
    switch (dt) {
    case ONNXQ_DT_INT8: *lo = -128, *hi = 127; break;
    case ONNXQ_DT_UINT16: *lo = 0, *hi = 65535; break;
    case ONNXQ_DT_INT16: *lo = -32768, *hi = 32767; break;
    default: *lo = 0, *hi = 255; break;
    }
}

/* ------------------------------------------------------------ QuantizeLinear */

struct qjob {
    const struct onnxq_tensor *x;
    const struct onnxq_qparams *q;
    struct onnxq_tensor *y;
    struct qlayout l;
    int32_t qmin, qmax;
};

/* The fast kernels work on segments of [i, e) within one row of the
 * layout, so one channel: returns the segment's end; *ch and *zp are its
 * channel and zero point. */
static size_t qsegment(const struct qjob *j, size_t i, size_t e, size_t *ch, int32_t *zp)
{
    const int64_t inner = j->l.inner;
    size_t row = (size_t)((int64_t)i / inner);
    size_t end = (row + 1) * (size_t)inner;
    *ch = j->l.mode == Q_TENSOR ? 0 : row % (size_t)j->l.A;
    *zp = j->q->zero_point ? (int32_t)onnxq_tensor_get_i64(j->q->zero_point, *ch) : 0;
    return end < e ? end : e;
}

/* reference: one element at a time, straight from the formula */
static void quant_ref_range(void *arg, size_t b, size_t e)
{
    struct qjob *j = arg;
    for (size_t i = b; i < e; i++) {
        size_t si = qparam_index(&j->l, (int64_t)i);
        float scale = (float)onnxq_tensor_get_f64(j->q->scale, si);
        int64_t zp = j->q->zero_point ? onnxq_tensor_get_i64(j->q->zero_point, si) : 0;
        float v = nearbyintf((float)onnxq_tensor_get_f64(j->x, i) / scale);
        double r = isnan(v) ? (double)j->qmin : (double)v + (double)zp;
        r = r < j->qmin ? j->qmin : r > j->qmax ? j->qmax : r;
        onnxq_tensor_set_f64(j->y, i, r);
    }
}

/* Fast rows: divide, clamp to [qmin - zp, qmax - zp] (NaN goes to the low
 * end, like a max instruction with the bound second), round half to even
 * by adding and subtracting 1.5 * 2^23 (exact for |v| < 2^22, which the
 * clamp guarantees), then add the zero point. */
#define QUANT_ROW(NAME, T)                                                                       \
    static void NAME(const float *x, T *y, size_t n, float scale, int32_t zp, int32_t qmin,       \
                     int32_t qmax)                                                                \
    {                                                                                             \
        const float magic = 12582912.0f;                                                          \
        const float lo = (float)(qmin - zp), hi = (float)(qmax - zp), fzp = (float)zp;            \
        for (size_t i = 0; i < n; i++) {                                                          \
            float v = x[i] / scale;                                                               \
            v = v > lo ? v : lo;                                                                  \
            v = v < hi ? v : hi;                                                                  \
            v = (v + magic) - magic;                                                              \
            y[i] = (T)(int32_t)(v + fzp);                                                         \
        }                                                                                         \
    }

QUANT_ROW(quant_row_u8, uint8_t)
QUANT_ROW(quant_row_i8, int8_t)
QUANT_ROW(quant_row_u16, uint16_t)
QUANT_ROW(quant_row_i16, int16_t)

static void quant_fast_range(void *arg, size_t b, size_t e)
{
    struct qjob *j = arg;
    const float *x = j->x->data;
    const float *sc = j->q->scale->data;
    for (size_t i = b, end; i < e; i = end) {
        size_t ch;
        int32_t zp;
        end = qsegment(j, i, e, &ch, &zp);
        switch (j->y->dtype) {
        case ONNXQ_DT_UINT8:
            quant_row_u8(x + i, (uint8_t *)j->y->data + i, end - i, sc[ch], zp, j->qmin, j->qmax);
            break;
        case ONNXQ_DT_INT8:
            quant_row_i8(x + i, (int8_t *)j->y->data + i, end - i, sc[ch], zp, j->qmin, j->qmax);
            break;
        case ONNXQ_DT_UINT16:
            quant_row_u16(x + i, (uint16_t *)j->y->data + i, end - i, sc[ch], zp, j->qmin, j->qmax);
            break;
        default:
            quant_row_i16(x + i, (int16_t *)j->y->data + i, end - i, sc[ch], zp, j->qmin, j->qmax);
            break;
        }
    }
}

void onnxq_quantize_linear(struct onnxq_threadpool *pool, const struct onnxq_tensor *x,
                           const struct onnxq_qparams *q, struct onnxq_tensor *y, bool reference)
{
    struct qjob j = {.x = x, .q = q, .y = y};
    qlayout_of(x, q, &j.l);
    qrange(y->dtype, &j.qmin, &j.qmax);
    size_t n = (size_t)onnxq_tensor_numel(x);
    bool fast = !reference && x->dtype == ONNXQ_DT_FLOAT && q->scale->dtype == ONNXQ_DT_FLOAT &&
                j.l.mode != Q_BLOCK && j.l.inner > 0;
    onnxq_threadpool_run(pool, n, fast ? 1 << 15 : 1 << 13, fast ? quant_fast_range : quant_ref_range, &j);
}

/* ---------------------------------------------------------- DequantizeLinear */

static void dequant_ref_range(void *arg, size_t b, size_t e)
{
    struct qjob *j = arg;
    for (size_t i = b; i < e; i++) {
        size_t si = qparam_index(&j->l, (int64_t)i);
        float scale = (float)onnxq_tensor_get_f64(j->q->scale, si);
        int64_t zp = j->q->zero_point ? onnxq_tensor_get_i64(j->q->zero_point, si) : 0;
        float d = (float)(onnxq_tensor_get_i64(j->x, i) - zp);
        onnxq_tensor_set_f64(j->y, i, (double)(d * scale));
    }
}

#define DEQUANT_ROW(NAME, T)                                                                  \
    static void NAME(const T *x, float *y, size_t n, float scale, int32_t zp)                 \
    {                                                                                         \
        for (size_t i = 0; i < n; i++)                                                        \
            y[i] = (float)((int32_t)x[i] - zp) * scale;                                       \
    }

DEQUANT_ROW(dequant_row_u8, uint8_t)
DEQUANT_ROW(dequant_row_i8, int8_t)
DEQUANT_ROW(dequant_row_u16, uint16_t)
DEQUANT_ROW(dequant_row_i16, int16_t)

static void dequant_fast_range(void *arg, size_t b, size_t e)
{
    struct qjob *j = arg;
    float *y = j->y->data;
    const float *sc = j->q->scale->data;
    for (size_t i = b, end; i < e; i = end) {
        size_t ch;
        int32_t zp;
        end = qsegment(j, i, e, &ch, &zp);
        switch (j->x->dtype) {
        case ONNXQ_DT_UINT8: dequant_row_u8((const uint8_t *)j->x->data + i, y + i, end - i, sc[ch], zp); break;
        case ONNXQ_DT_INT8: dequant_row_i8((const int8_t *)j->x->data + i, y + i, end - i, sc[ch], zp); break;
        case ONNXQ_DT_UINT16: dequant_row_u16((const uint16_t *)j->x->data + i, y + i, end - i, sc[ch], zp); break;
        default: dequant_row_i16((const int16_t *)j->x->data + i, y + i, end - i, sc[ch], zp); break;
        }
    }
}

void onnxq_dequantize_linear(struct onnxq_threadpool *pool, const struct onnxq_tensor *x,
                             const struct onnxq_qparams *q, struct onnxq_tensor *y, bool reference)
{
    struct qjob j = {.x = x, .q = q, .y = y};
    qlayout_of(x, q, &j.l);
    size_t n = (size_t)onnxq_tensor_numel(x);
    bool small_int = x->dtype == ONNXQ_DT_UINT8 || x->dtype == ONNXQ_DT_INT8 || x->dtype == ONNXQ_DT_UINT16 ||
                     x->dtype == ONNXQ_DT_INT16;
    bool fast = !reference && small_int && q->scale->dtype == ONNXQ_DT_FLOAT && y->dtype == ONNXQ_DT_FLOAT &&
                j.l.mode != Q_BLOCK && j.l.inner > 0;
    onnxq_threadpool_run(pool, n, fast ? 1 << 15 : 1 << 13, fast ? dequant_fast_range : dequant_ref_range, &j);
}

/* -------------------------------------------------------------- operators */

struct qstate {
    int64_t axis;
    int64_t block_size;
    int64_t output_dtype;
};

enum onnxq_status onnxq_qlinear_init(struct onnxq_op_init *ictx, void **state)
{
    const struct onnxq_node *n = ictx->node;
    struct qstate *s = calloc(1, sizeof(*s));
    if (!s)
        return onnxq_fail(ictx->err, ONNXQ_E_NOMEM, "out of memory");
    *state = s;
    s->axis = onnxq_attr_int(n, "axis", 1);
    s->block_size = ictx->opset >= 21 ? onnxq_attr_int(n, "block_size", 0) : 0;
    s->output_dtype = onnxq_attr_int(n, "output_dtype", 0);
    if (s->block_size < 0)
        return onnxq_op_fail(ictx->err, n, ONNXQ_E_INVALID_MODEL, "block_size %lld is negative",
                             (long long)s->block_size);
    return ONNXQ_OK;
}

void onnxq_qlinear_fini(void *state)
{
    free(state);
}

static bool q_int_type(int dt)
{
    return dt == ONNXQ_DT_UINT8 || dt == ONNXQ_DT_INT8 || dt == ONNXQ_DT_UINT16 || dt == ONNXQ_DT_INT16;
}

static bool float_type(int dt)
{
    return dt == ONNXQ_DT_FLOAT || dt == ONNXQ_DT_FLOAT16 || dt == ONNXQ_DT_BFLOAT16;
}

/* Check scale/zero point against x and fill q. */
static enum onnxq_status get_qparams(const struct qstate *s, const struct onnxq_op_ctx *ctx,
                                     struct onnxq_qparams *q)
{
    enum onnxq_status st;
    if ((st = onnxq_need_input(ctx, 0)) || (st = onnxq_need_input(ctx, 1)))
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0], *sc = ctx->inputs[1];
    const struct onnxq_tensor *zp = ctx->n_inputs > 2 ? ctx->inputs[2] : NULL;
    memset(q, 0, sizeof(*q));
    q->scale = sc;
    q->zero_point = zp;
    q->block_size = s->block_size;
    if (!float_type(sc->dtype))
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_UNSUPPORTED, "scale ('%s') has dtype %s",
                             ctx->node->inputs[1], onnxq_dtype_name(sc->dtype));
    char a[200], b[200];
    if (zp) {
        bool same = zp->ndim == sc->ndim;
        for (int i = 0; same && i < zp->ndim; i++)
            same = zp->dims[i] == sc->dims[i];
        if (!same) {
            onnxq_shape_format(sc->dims, sc->ndim, a, sizeof(a));
            onnxq_shape_format(zp->dims, zp->ndim, b, sizeof(b));
            return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE,
                                 "scale ('%s') has shape %s but zero point ('%s') has shape %s", ctx->node->inputs[1],
                                 a, ctx->node->inputs[2], b);
        }
    }
    onnxq_shape_format(x->dims, x->ndim, a, sizeof(a));
    onnxq_shape_format(sc->dims, sc->ndim, b, sizeof(b));
    if (s->block_size > 0) {
        int axis;
        if ((st = onnxq_norm_axis(ctx, s->axis, x->ndim, &axis)))
            return st;
        bool ok = sc->ndim == x->ndim;
        for (int i = 0; ok && i < x->ndim; i++)
            ok = sc->dims[i] == (i == axis ? (x->dims[i] + s->block_size - 1) / s->block_size : x->dims[i]);
        if (!ok)
            return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE,
                                 "scale ('%s') of shape %s does not block x of shape %s by %lld along axis %d",
                                 ctx->node->inputs[1], b, a, (long long)s->block_size, axis);
        q->axis = axis;
        return ONNXQ_OK;
    }
    if (onnxq_tensor_numel(sc) == 1 && sc->ndim <= 1)
        return ONNXQ_OK;
    int axis;
    if (sc->ndim != 1 || (st = onnxq_norm_axis(ctx, s->axis, x->ndim, &axis)) || sc->dims[0] != x->dims[axis])
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE,
                             "scale ('%s') of shape %s is neither per tensor nor per axis %lld of x with shape %s",
                             ctx->node->inputs[1], b, (long long)s->axis, a);
    q->axis = axis;
    return ONNXQ_OK;
}

static enum onnxq_status quant_out_dtype(const struct qstate *s, const struct onnxq_op_ctx *ctx,
                                         enum onnxq_dtype *dt)
{
    const struct onnxq_tensor *zp = ctx->n_inputs > 2 ? ctx->inputs[2] : NULL;
    int want = zp ? (int)zp->dtype : s->output_dtype ? (int)s->output_dtype : ONNXQ_DT_UINT8;
    if (zp && s->output_dtype && s->output_dtype != (int64_t)zp->dtype)
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_INVALID_MODEL,
                             "output_dtype %lld differs from the zero point's dtype %s", (long long)s->output_dtype,
                             onnxq_dtype_name(zp->dtype));
    if (!q_int_type(want))
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_UNSUPPORTED, "quantizing to %s is not supported",
                             onnxq_dtype_name(want));
    *dt = (enum onnxq_dtype)want;
    return ONNXQ_OK;
}

/* Q/DQ input x has a dtype the op does not take. */
static enum onnxq_status x_dtype_fail(struct onnxq_op_ctx *ctx)
{
    return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_UNSUPPORTED, "x ('%s') has dtype %s", ctx->node->inputs[0],
                         onnxq_dtype_name(ctx->inputs[0]->dtype));
}

/* QuantizeLinear / DequantizeLinear run: the optimised kernel `linear`
 * on input 0 with this node's quantization parameters. */
static enum onnxq_status qdq_run(void *state, struct onnxq_op_ctx *ctx,
                                 void (*linear)(struct onnxq_threadpool *, const struct onnxq_tensor *,
                                                const struct onnxq_qparams *, struct onnxq_tensor *, bool))
{
    struct onnxq_qparams q;
    enum onnxq_status st = get_qparams(state, ctx, &q);
    if (st)
        return st;
    if (ctx->outputs[0])
        linear(ctx->pool, ctx->inputs[0], &q, ctx->outputs[0], false);
    return ONNXQ_OK;
}

enum onnxq_status onnxq_quantize_shape(void *state, struct onnxq_op_ctx *ctx)
{
    struct qstate *s = state;
    struct onnxq_qparams q;
    enum onnxq_dtype dt = ONNXQ_DT_UINT8;
    enum onnxq_status st;
    if ((st = get_qparams(s, ctx, &q)) || (st = quant_out_dtype(s, ctx, &dt)))
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    if (!float_type(x->dtype) && x->dtype != ONNXQ_DT_INT32)
        return x_dtype_fail(ctx);
    onnxq_out_shape(ctx->outputs[0], dt, x->ndim, x->dims);
    return ONNXQ_OK;
}

enum onnxq_status onnxq_quantize_run(void *state, struct onnxq_op_ctx *ctx)
{
    return qdq_run(state, ctx, onnxq_quantize_linear);
}

enum onnxq_status onnxq_dequantize_shape(void *state, struct onnxq_op_ctx *ctx)
{
    struct qstate *s = state;
    struct onnxq_qparams q;
    enum onnxq_status st = get_qparams(s, ctx, &q);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    if (!q_int_type(x->dtype) && x->dtype != ONNXQ_DT_INT32)
        return x_dtype_fail(ctx);
    if (q.zero_point && q.zero_point->dtype != x->dtype)
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_INVALID_MODEL, "x has dtype %s but the zero point has %s",
                             onnxq_dtype_name(x->dtype), onnxq_dtype_name(q.zero_point->dtype));
    int dt = s->output_dtype ? (int)s->output_dtype : (int)q.scale->dtype;
    if (!float_type(dt))
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_UNSUPPORTED, "dequantizing to %s is not supported",
                             onnxq_dtype_name(dt));
    onnxq_out_shape(ctx->outputs[0], (enum onnxq_dtype)dt, x->ndim, x->dims);
    return ONNXQ_OK;
}

enum onnxq_status onnxq_dequantize_run(void *state, struct onnxq_op_ctx *ctx)
{
    return qdq_run(state, ctx, onnxq_dequantize_linear);
}

/* ---------------------------------------------------- DynamicQuantizeLinear */

enum onnxq_status onnxq_dynquant_shape(void *state, struct onnxq_op_ctx *ctx)
{
    (void)state;
    enum onnxq_status st = onnxq_need_dtype(ctx, 0, ONNXQ_DT_FLOAT);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    onnxq_out_shape(ctx->outputs[0], ONNXQ_DT_UINT8, x->ndim, x->dims);
    if (ctx->n_outputs > 1)
        onnxq_out_shape(ctx->outputs[1], ONNXQ_DT_FLOAT, 0, NULL);
    if (ctx->n_outputs > 2)
        onnxq_out_shape(ctx->outputs[2], ONNXQ_DT_UINT8, 0, NULL);
    return ONNXQ_OK;
}

enum onnxq_status onnxq_dynquant_run(void *state, struct onnxq_op_ctx *ctx)
{
    (void)state;
    const struct onnxq_tensor *x = ctx->inputs[0];
    const float *px = x->data;
    size_t n = (size_t)onnxq_tensor_numel(x);
    /* the range always includes 0 */
    float mn = 0.0f, mx = 0.0f;
    for (size_t i = 0; i < n; i++) {
        mn = px[i] < mn ? px[i] : mn;
        mx = px[i] > mx ? px[i] : mx;
    }
    float scale = mx == mn ? 1.0f : (mx - mn) / 255.0f;
    float zpf = 0.0f - mn / scale;
    zpf = zpf < 0.0f ? 0.0f : zpf > 255.0f ? 255.0f : zpf;
    uint8_t zp = (uint8_t)nearbyintf(zpf);
    struct onnxq_tensor st = {.dtype = ONNXQ_DT_FLOAT, .ndim = 0, .data = &scale, .nbytes = sizeof(scale)};
    struct onnxq_tensor zt = {.dtype = ONNXQ_DT_UINT8, .ndim = 0, .data = &zp, .nbytes = 1};
    struct onnxq_qparams q = {.scale = &st, .zero_point = &zt};
    if (ctx->outputs[0])
        onnxq_quantize_linear(ctx->pool, x, &q, ctx->outputs[0], false);
    if (ctx->n_outputs > 1 && ctx->outputs[1])
        *(float *)ctx->outputs[1]->data = scale;
    if (ctx->n_outputs > 2 && ctx->outputs[2])
        *(uint8_t *)ctx->outputs[2]->data = zp;
    return ONNXQ_OK;
}
