/* Reductions and arg-reductions. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/reduce.h"
#include "ops/rowred.h"

enum rkind { RK_SUM, RK_MEAN, RK_MAX, RK_MIN, RK_PROD, RK_L1, RK_L2, RK_SUMSQ, RK_LOGSUM, RK_LSE };

struct reduce_state {
    enum rkind kind;
    bool keepdims;
    bool noop_empty;   /* noop_with_empty_axes */
    bool axes_input;   /* axes come from input #1 (opset 13 ReduceSum, 18 others) */
    size_t n_axes;     /* from the attribute */
    int64_t *axes;
};

/* What one run reduces: mask[d] is true for reduced dims. */
struct rplan {
    bool noop;
    bool mask[ONNXQ_MAX_DIMS];
    int out_nd;
    int64_t out_dims[ONNXQ_MAX_DIMS];
};

/* ------------------------------------------------------------------ init */

static enum onnxq_status reduce_init(struct onnxq_op_init *ictx, void **state, enum rkind kind)
{
    const struct onnxq_node *n = ictx->node;
    struct reduce_state *s = calloc(1, sizeof(*s));
    if (!s)
        return onnxq_op_fail(ictx->err, n, ONNXQ_E_NOMEM, "out of memory");
    s->kind = kind;
    s->keepdims = onnxq_attr_int(n, "keepdims", 1) != 0;
    s->noop_empty = onnxq_attr_int(n, "noop_with_empty_axes", 0) != 0;
    s->axes_input = ictx->opset >= (kind == RK_SUM ? 13 : 18);
    size_t na = 0;
    const int64_t *ax = onnxq_attr_ints(n, "axes", &na);
    if (!s->axes_input && na) {
        s->axes = malloc(na * sizeof(int64_t));
        if (!s->axes) {
            free(s);
            return onnxq_op_fail(ictx->err, n, ONNXQ_E_NOMEM, "out of memory");
        }
        memcpy(s->axes, ax, na * sizeof(int64_t));
        s->n_axes = na;
    }
    *state = s;
    return ONNXQ_OK;
}

/* Each Reduce op's init: reduce_init with its kind. */
#define REDUCE_INIT(fn, kind) \
    enum onnxq_status fn(struct onnxq_op_init *ictx, void **state) \
    { \
        return reduce_init(ictx, state, kind); \
    }
REDUCE_INIT(onnxq_reduce_sum_init, RK_SUM)
REDUCE_INIT(onnxq_reduce_mean_init, RK_MEAN)
REDUCE_INIT(onnxq_reduce_max_init, RK_MAX)
REDUCE_INIT(onnxq_reduce_min_init, RK_MIN)
REDUCE_INIT(onnxq_reduce_prod_init, RK_PROD)
REDUCE_INIT(onnxq_reduce_l1_init, RK_L1)
REDUCE_INIT(onnxq_reduce_l2_init, RK_L2)
REDUCE_INIT(onnxq_reduce_sumsq_init, RK_SUMSQ)
REDUCE_INIT(onnxq_reduce_logsum_init, RK_LOGSUM)
REDUCE_INIT(onnxq_reduce_lse_init, RK_LSE)
#undef REDUCE_INIT

void onnxq_reduce_fini(void *state)
{
    struct reduce_state *s = state;
    if (s)
        free(s->axes);
    free(s);
}

/* ----------------------------------------------------------------- shape */

static bool reduce_dtype_ok(enum onnxq_dtype dt, enum rkind k)
{
    switch (dt) {
    case ONNXQ_DT_FLOAT:
    case ONNXQ_DT_DOUBLE:
    case ONNXQ_DT_FLOAT16:
    case ONNXQ_DT_BFLOAT16: return true;
    case ONNXQ_DT_BOOL: return k == RK_MAX || k == RK_MIN;
    default: return onnxq_dtype_valid((int)dt) && onnxq_dtype_table[dt].is_integer;
    }
}

/* Mark the dims in `axes` (n entries) as reduced; fails on out-of-range or
 * repeated axes. */
static enum onnxq_status mark_axes(struct onnxq_op_ctx *ctx, const struct onnxq_tensor *x, const int64_t *axes,
                                   size_t n, bool *mask)
{
    for (size_t i = 0; i < n; i++) {
        if (x->ndim == 0) {
            if (axes[i] != 0 && axes[i] != -1)
                return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE,
                                     "axis %lld is out of range for the scalar input '%s'", (long long)axes[i],
                                     ctx->node->inputs[0]);
            continue;
        }
        int a;
        enum onnxq_status st = onnxq_norm_axis(ctx, axes[i], x->ndim, &a);
        if (st)
            return st;
        if (mask[a])
            return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE, "axis %lld is listed twice in axes",
                                 (long long)axes[i]);
        mask[a] = true;
    }
    return ONNXQ_OK;
}

static enum onnxq_status reduce_plan(const struct reduce_state *s, struct onnxq_op_ctx *ctx, struct rplan *p)
{
    enum onnxq_status st = onnxq_need_input(ctx, 0);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    if (!reduce_dtype_ok(x->dtype, s->kind))
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_UNSUPPORTED, "input '%s' has unsupported dtype %s",
                             ctx->node->inputs[0], onnxq_dtype_name(x->dtype));
    memset(p, 0, sizeof(*p));
    size_t n = s->n_axes;
    const int64_t *axes = s->axes;
    int64_t buf[ONNXQ_MAX_DIMS];
    if (s->axes_input && ctx->n_inputs > 1 && ctx->inputs[1]) {
        const struct onnxq_tensor *a = ctx->inputs[1];
        if (!onnxq_dtype_valid((int)a->dtype) || !onnxq_dtype_table[a->dtype].is_integer || a->ndim > 1)
            return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_INVALID_MODEL,
                                 "axes input '%s' must be a 1-D integer tensor (got %s of rank %d)",
                                 ctx->node->inputs[1], onnxq_dtype_name(a->dtype), a->ndim);
        int64_t na = onnxq_tensor_numel(a);
        if (na < 0 || na > (x->ndim ? x->ndim : 1))
            return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE,
                                 "axes input '%s' has %lld entries for an input of rank %d", ctx->node->inputs[1],
                                 (long long)na, x->ndim);
        for (int64_t i = 0; i < na; i++)
            buf[i] = onnxq_tensor_get_i64(a, (size_t)i);
        n = (size_t)na;
        axes = buf;
    } else if (s->axes_input) {
        n = 0;
    }
    if (n == 0) {
        if (s->noop_empty)
            p->noop = true;
        else
            for (int d = 0; d < x->ndim; d++)
                p->mask[d] = true;
    } else if ((st = mark_axes(ctx, x, axes, n, p->mask))) {
        return st;
    }
    if (p->noop) {
        p->out_nd = x->ndim;
        memcpy(p->out_dims, x->dims, sizeof(x->dims));
        return ONNXQ_OK;
    }
    for (int d = 0; d < x->ndim; d++) {
        if (!p->mask[d])
            p->out_dims[p->out_nd++] = x->dims[d];
        else if (s->keepdims)
            p->out_dims[p->out_nd++] = 1;
    }
    return ONNXQ_OK;
}

enum onnxq_status onnxq_reduce_shape(void *state, struct onnxq_op_ctx *ctx)
{
    struct rplan p;
    enum onnxq_status st = reduce_plan(state, ctx, &p);
    if (st)
        return st;
    onnxq_out_shape(ctx->outputs[0], ctx->inputs[0]->dtype, p.out_nd, p.out_dims);
    return ONNXQ_OK;
}

/* ------------------------------------------------------ reference kernel */

/* Store an exact 64-bit integer result (bit pattern, wrapping like C casts). */
static void store_u64(struct onnxq_tensor *t, size_t i, uint64_t v)
{
    void *d = t->data;
    switch (t->dtype) {
    case ONNXQ_DT_INT8: ((int8_t *)d)[i] = (int8_t)(uint8_t)v; break;
    case ONNXQ_DT_UINT8: ((uint8_t *)d)[i] = (uint8_t)v; break;
    case ONNXQ_DT_INT16: ((int16_t *)d)[i] = (int16_t)(uint16_t)v; break;
    case ONNXQ_DT_UINT16: ((uint16_t *)d)[i] = (uint16_t)v; break;
    case ONNXQ_DT_INT32: ((int32_t *)d)[i] = (int32_t)(uint32_t)v; break;
    case ONNXQ_DT_UINT32: ((uint32_t *)d)[i] = (uint32_t)v; break;
    case ONNXQ_DT_INT64: ((int64_t *)d)[i] = (int64_t)v; break;
    case ONNXQ_DT_UINT64: ((uint64_t *)d)[i] = v; break;
    case ONNXQ_DT_BOOL: ((uint8_t *)d)[i] = v != 0; break;
    default: break;
    }
}

/* Read element i of an integer/bool tensor as its 64-bit pattern. */
static uint64_t load_u64(const struct onnxq_tensor *t, size_t i)
{
    if (t->dtype == ONNXQ_DT_UINT64)
        return ((const uint64_t *)t->data)[i];
    return (uint64_t)onnxq_tensor_get_i64(t, i);
}

/* Output offset (keepdims layout) of every input element, in input order:
 * ostride[d] is 0 for reduced dims. */
static void out_strides(const struct onnxq_tensor *x, const bool *mask, int64_t *ostride)
{
    int64_t s = 1;
    for (int d = x->ndim - 1; d >= 0; d--) {
        ostride[d] = mask[d] ? 0 : s;
        if (!mask[d])
            s *= x->dims[d];
    }
}

/* Advance the odometer idx over x's dims, keeping the output offset *o. */
static void odo_next(const struct onnxq_tensor *x, int64_t *idx, const int64_t *ostride, int64_t *o)
{
    for (int d = x->ndim - 1; d >= 0; d--) {
        if (++idx[d] < x->dims[d]) {
            *o += ostride[d];
            return;
        }
        *o -= ostride[d] * (x->dims[d] - 1);
        idx[d] = 0;
    }
}

/* Plain scalar reduction of any dtype: one pass over the input with an
 * odometer, accumulating in double (floats) or exact 64-bit integers
 * (integers, for the ops that stay in the integers). */
static enum onnxq_status reduce_ref(enum rkind k, struct onnxq_op_ctx *ctx, const bool *mask)
{
    const struct onnxq_tensor *x = ctx->inputs[0];
    struct onnxq_tensor *y = ctx->outputs[0];
    size_t nin = (size_t)onnxq_tensor_numel(x), nout = (size_t)onnxq_tensor_numel(y);
    int64_t count = 1;
    for (int d = 0; d < x->ndim; d++)
        if (mask[d])
            count *= x->dims[d];
    int64_t ostride[ONNXQ_MAX_DIMS], idx[ONNXQ_MAX_DIMS] = {0};
    out_strides(x, mask, ostride);
    bool is_int = x->dtype == ONNXQ_DT_BOOL || onnxq_dtype_table[x->dtype].is_integer;
    bool exact = is_int && k != RK_L2 && k != RK_LOGSUM && k != RK_LSE;
    bool is_unsigned = is_int && !onnxq_dtype_table[x->dtype].is_signed;
    if (exact) {
        uint64_t *acc = malloc(nout * sizeof(uint64_t));
        if (!acc)
            return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_NOMEM, "out of memory");
        uint64_t init = 0;
        if (k == RK_PROD)
            init = 1;
        else if (k == RK_MAX)
            init = is_unsigned ? 0 : (uint64_t)INT64_MIN;
        else if (k == RK_MIN)
            init = is_unsigned ? UINT64_MAX : (uint64_t)INT64_MAX;
        for (size_t i = 0; i < nout; i++)
            acc[i] = init;
        int64_t o = 0;
        for (size_t i = 0; i < nin; i++) {
            uint64_t v = load_u64(x, i), *a = &acc[o];
            switch (k) {
            case RK_SUM:
            case RK_MEAN: *a += v; break;
            case RK_PROD: *a *= v; break;
            case RK_L1: *a += (int64_t)v < 0 && !is_unsigned ? (uint64_t)0 - v : v; break;
            case RK_SUMSQ: *a += v * v; break;
            case RK_MAX:
                if (is_unsigned ? v > *a : (int64_t)v > (int64_t)*a)
                    *a = v;
                break;
            case RK_MIN:
                if (is_unsigned ? v < *a : (int64_t)v < (int64_t)*a)
                    *a = v;
                break;
            default: break;
            }
            odo_next(x, idx, ostride, &o);
        }
        for (size_t i = 0; i < nout; i++) {
            uint64_t v = acc[i];
            if (count == 0 && (k == RK_MAX || k == RK_MIN)) {
                /* empty: the dtype's lowest (max) or highest (min) value */
                if (y->dtype == ONNXQ_DT_BOOL)
                    store_u64(y, i, k == RK_MIN);
                else
                    onnxq_tensor_set_f64_sat(y, i, k == RK_MAX ? -INFINITY : INFINITY);
                continue;
            }
            if (k == RK_MEAN)
                v = count == 0 ? 0
                    : is_unsigned ? v / (uint64_t)count
                                  : (uint64_t)((int64_t)v / count);
            store_u64(y, i, v);
        }
        free(acc);
        return ONNXQ_OK;
    }
    double *acc = malloc(nout * sizeof(double) * (k == RK_LSE ? 2 : 1));
    if (!acc)
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_NOMEM, "out of memory");
    double init = k == RK_PROD ? 1.0 : k == RK_MAX || k == RK_LSE ? -INFINITY : k == RK_MIN ? INFINITY : 0.0;
    for (size_t i = 0; i < nout; i++)
        acc[i] = init;
    int64_t o = 0;
    for (size_t i = 0; i < nin; i++) {
        double v = onnxq_tensor_get_f64(x, i), *a = &acc[o];
        switch (k) {
        case RK_SUM:
        case RK_MEAN:
        case RK_LOGSUM: *a += v; break;
        case RK_PROD: *a *= v; break;
        case RK_L1: *a += fabs(v); break;
        case RK_L2:
        case RK_SUMSQ: *a += v * v; break;
        case RK_MAX:
        case RK_LSE: *a = v > *a || isnan(v) ? v : *a; break;
        case RK_MIN: *a = v < *a || isnan(v) ? v : *a; break;
        }
        odo_next(x, idx, ostride, &o);
    }
    if (k == RK_LSE) {
        /* second pass: sum of exp(x - max) */
        double *sum = acc + nout;
        for (size_t i = 0; i < nout; i++)
            sum[i] = 0;
        memset(idx, 0, sizeof(idx));
        o = 0;
        for (size_t i = 0; i < nin; i++) {
            double m = acc[o];
            if (isfinite(m))
                sum[o] += exp(onnxq_tensor_get_f64(x, i) - m);
            odo_next(x, idx, ostride, &o);
        }
        for (size_t i = 0; i < nout; i++)
            if (isfinite(acc[i]))
                acc[i] += log(sum[i]);
    }
    for (size_t i = 0; i < nout; i++) {
        double v = acc[i];
        if (k == RK_MEAN)
            v /= (double)count;
        else if (k == RK_L2)
            v = sqrt(v);
        else if (k == RK_LOGSUM)
            v = log(v);
        onnxq_tensor_set_f64_sat(y, i, v);
    }
    free(acc);
    return ONNXQ_OK;
}

/* ------------------------------------------------------- float32 kernels */

static float prod_f32(const float *x, size_t n)
{
    float a[4] = {1.0f, 1.0f, 1.0f, 1.0f};
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int j = 0; j < 4; j++)
            a[j] *= x[i + j];
    float p = (a[0] * a[1]) * (a[2] * a[3]);
    for (; i < n; i++)
        p *= x[i];
    return p;
}

static float finish_f32(enum rkind k, float v, size_t count)
{
    switch (k) {
    case RK_MEAN: return v / (float)count;
    case RK_L2: return sqrtf(v);
    case RK_LOGSUM: return logf(v);
    default: return v;
    }
}

/* Reduce one contiguous row of n floats. */
static float row_f32(enum rkind k, const float *x, size_t n)
{
    switch (k) {
    case RK_SUM:
    case RK_MEAN:
    case RK_LOGSUM: return finish_f32(k, sum_f32(x, n), n);
    case RK_L1: return sumabs_f32(x, n);
    case RK_L2: return sqrtf(sumsq_f32(x, n));
    case RK_SUMSQ: return sumsq_f32(x, n);
    case RK_MAX: return max_f32(x, n);
    case RK_MIN: return min_f32(x, n);
    case RK_PROD: return prod_f32(x, n);
    case RK_LSE: {
        float m = max_f32(x, n);
        if (!isfinite(m))
            return m;
        double s = 0;
        for (size_t i = 0; i < n; i++)
            s += expf(x[i] - m);
        return (float)(log(s) + m);
    }
    }
    return 0;
}

#define COL_BLOCK 1024

/* Reduce n rows of `len` floats spaced `stride` apart into y[0..len). */
static void cols_f32(enum rkind k, const float *x, size_t n, size_t stride, size_t len, float *y)
{
    if (n == 0) {
        float v = k == RK_PROD ? 1.0f : k == RK_MAX || k == RK_LSE ? -INFINITY : k == RK_MIN ? INFINITY : 0.0f;
        for (size_t i = 0; i < len; i++)
            y[i] = finish_f32(k, v, 0);
        return;
    }
    switch (k) {
    case RK_SUM:
    case RK_MEAN:
    case RK_LOGSUM:
        memcpy(y, x, len * sizeof(float));
        for (size_t r = 1; r < n; r++) {
            const float *xr = x + r * stride;
            for (size_t i = 0; i < len; i++)
                y[i] += xr[i];
        }
        break;
    case RK_L1:
        for (size_t i = 0; i < len; i++)
            y[i] = fabsf(x[i]);
        for (size_t r = 1; r < n; r++) {
            const float *xr = x + r * stride;
            for (size_t i = 0; i < len; i++)
                y[i] += fabsf(xr[i]);
        }
        break;
    case RK_L2:
    case RK_SUMSQ:
        for (size_t i = 0; i < len; i++)
            y[i] = x[i] * x[i];
        for (size_t r = 1; r < n; r++) {
            const float *xr = x + r * stride;
            for (size_t i = 0; i < len; i++)
                y[i] += xr[i] * xr[i];
        }
        break;
    case RK_PROD:
        memcpy(y, x, len * sizeof(float));
        for (size_t r = 1; r < n; r++) {
            const float *xr = x + r * stride;
            for (size_t i = 0; i < len; i++)
                y[i] *= xr[i];
        }
        break;
    case RK_MAX:
    case RK_LSE:
        memcpy(y, x, len * sizeof(float));
        for (size_t r = 1; r < n; r++) {
            const float *xr = x + r * stride;
            for (size_t i = 0; i < len; i++)
                y[i] = xr[i] > y[i] ? xr[i] : y[i];
        }
        break;
    case RK_MIN:
        memcpy(y, x, len * sizeof(float));
        for (size_t r = 1; r < n; r++) {
            const float *xr = x + r * stride;
            for (size_t i = 0; i < len; i++)
                y[i] = xr[i] < y[i] ? xr[i] : y[i];
        }
        break;
    }
    if (k == RK_LSE) {
        float s[COL_BLOCK];
        for (size_t i = 0; i < len; i++)
            s[i] = 0;
        for (size_t r = 0; r < n; r++) {
            const float *xr = x + r * stride;
            for (size_t i = 0; i < len; i++)
                s[i] += expf(xr[i] - y[i]);
        }
        for (size_t i = 0; i < len; i++)
            if (isfinite(y[i]))
                y[i] += logf(s[i]);
        return;
    }
    if (k == RK_MEAN || k == RK_L2 || k == RK_LOGSUM)
        for (size_t i = 0; i < len; i++)
            y[i] = finish_f32(k, y[i], n);
}

struct rjob {
    enum rkind k;
    const float *x;
    float *y;
    size_t outer, n, inner, nblk;
};

static void rjob_range(void *arg, size_t b, size_t e)
{
    const struct rjob *j = arg;
    for (size_t t = b; t < e; t++) {
        if (j->inner == 1) {
            j->y[t] = row_f32(j->k, j->x + t * j->n, j->n);
            continue;
        }
        size_t o = t / j->nblk, c = (t % j->nblk) * COL_BLOCK;
        size_t len = j->inner - c < COL_BLOCK ? j->inner - c : COL_BLOCK;
        cols_f32(j->k, j->x + o * j->n * j->inner + c, j->n, j->inner, len, j->y + o * j->inner + c);
    }
}

/* float32: if the reduced dims (ignoring size-1 dims) form one contiguous
 * block, reduce the (outer, n, inner) view; returns false otherwise. */
static bool reduce_f32(enum rkind k, struct onnxq_op_ctx *ctx, const bool *mask)
{
    const struct onnxq_tensor *x = ctx->inputs[0];
    size_t outer = 1, n = 1, inner = 1;
    int phase = 0;  /* 0: before the reduced block, 1: in it, 2: after it */
    for (int d = 0; d < x->ndim; d++) {
        size_t dim = (size_t)x->dims[d];
        if (dim == 1)
            continue;
        if (mask[d]) {
            if (phase == 2)
                return false;
            phase = 1;
            n *= dim;
        } else {
            if (phase == 1)
                phase = 2;
            if (phase == 0)
                outer *= dim;
            else
                inner *= dim;
        }
    }
    struct rjob j = {k, x->data, ctx->outputs[0]->data, outer, n, inner, (inner + COL_BLOCK - 1) / COL_BLOCK};
    size_t items = inner == 1 ? outer : outer * j.nblk;
    size_t per_item = n * (inner < COL_BLOCK ? inner : COL_BLOCK);
    size_t min_chunk = per_item >= 16384 ? 1 : 16384 / (per_item ? per_item : 1);
    onnxq_parallel_for(ctx, items, min_chunk, rjob_range, &j);
    return true;
}

enum onnxq_status onnxq_reduce_run(void *state, struct onnxq_op_ctx *ctx)
{
    const struct reduce_state *s = state;
    struct rplan p;
    enum onnxq_status st = reduce_plan(s, ctx, &p);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    struct onnxq_tensor *y = ctx->outputs[0];
    if (p.noop) {
        if (x->nbytes)
            memcpy(y->data, x->data, x->nbytes);
        return ONNXQ_OK;
    }
    if (onnxq_tensor_numel(y) == 0)
        return ONNXQ_OK;
    if (x->dtype == ONNXQ_DT_FLOAT && reduce_f32(s->kind, ctx, p.mask))
        return ONNXQ_OK;
    return reduce_ref(s->kind, ctx, p.mask);
}

/* ------------------------------------------------------- ArgMax / ArgMin */

struct arg_state {
    bool is_max;
    bool keepdims;
    bool last;  /* select_last_index */
    int64_t axis;
};

static enum onnxq_status arg_init(struct onnxq_op_init *ictx, void **state, bool is_max)
{
    struct arg_state *s = calloc(1, sizeof(*s));
    if (!s)
        return onnxq_op_fail(ictx->err, ictx->node, ONNXQ_E_NOMEM, "out of memory");
    s->is_max = is_max;
    s->keepdims = onnxq_attr_int(ictx->node, "keepdims", 1) != 0;
    s->last = onnxq_attr_int(ictx->node, "select_last_index", 0) != 0;
    s->axis = onnxq_attr_int(ictx->node, "axis", 0);
    *state = s;
    return ONNXQ_OK;
}

void onnxq_arg_fini(void *state)
{
    free(state);
}

enum onnxq_status onnxq_argmax_init(struct onnxq_op_init *ictx, void **state)
{
    return arg_init(ictx, state, true);
}

enum onnxq_status onnxq_argmin_init(struct onnxq_op_init *ictx, void **state)
{
    return arg_init(ictx, state, false);
}

static enum onnxq_status arg_plan(const struct arg_state *s, struct onnxq_op_ctx *ctx, int *axis)
{
    enum onnxq_status st = onnxq_need_input(ctx, 0);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    if (!reduce_dtype_ok(x->dtype, RK_MAX))
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_UNSUPPORTED, "input '%s' has unsupported dtype %s",
                             ctx->node->inputs[0], onnxq_dtype_name(x->dtype));
    if (x->ndim == 0)
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE, "input '%s' is a scalar; it needs rank >= 1",
                             ctx->node->inputs[0]);
    if ((st = onnxq_norm_axis(ctx, s->axis, x->ndim, axis)))
        return st;
    if (x->dims[*axis] == 0 && onnxq_tensor_numel(x) == 0) {
        int64_t rest = 1;
        for (int d = 0; d < x->ndim; d++)
            if (d != *axis)
                rest *= x->dims[d];
        if (rest)
            return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE,
                                 "axis %d of input '%s' is empty: no index to return", *axis, ctx->node->inputs[0]);
    }
    return ONNXQ_OK;
}

enum onnxq_status onnxq_arg_shape(void *state, struct onnxq_op_ctx *ctx)
{
    const struct arg_state *s = state;
    int axis;
    enum onnxq_status st = arg_plan(s, ctx, &axis);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    int64_t dims[ONNXQ_MAX_DIMS];
    int nd = 0;
    for (int d = 0; d < x->ndim; d++) {
        if (d != axis)
            dims[nd++] = x->dims[d];
        else if (s->keepdims)
            dims[nd++] = 1;
    }
    onnxq_out_shape(ctx->outputs[0], ONNXQ_DT_INT64, nd, dims);
    return ONNXQ_OK;
}

/* Is a better than b for the arg-reduction (strict, or >= for last)? */
static bool arg_better_f64(double a, double b, bool is_max, bool last)
{
    if (is_max)
        return last ? a >= b : a > b;
    return last ? a <= b : a < b;
}

/* Reference: any dtype, via double (floats) or 64-bit integers. */
static void arg_ref(const struct arg_state *s, const struct onnxq_tensor *x, int64_t *y, size_t outer, size_t n,
                    size_t inner)
{
    bool is_int = x->dtype == ONNXQ_DT_BOOL || onnxq_dtype_table[x->dtype].is_integer;
    bool is_unsigned = is_int && !onnxq_dtype_table[x->dtype].is_signed;
    for (size_t o = 0; o < outer; o++) {
        for (size_t i = 0; i < inner; i++) {
            size_t base = o * n * inner + i;
            int64_t best = 0;
            for (size_t r = 1; r < n; r++) {
                size_t a = base + r * inner, b = base + (size_t)best * inner;
                bool better;
                if (!is_int) {
                    better = arg_better_f64(onnxq_tensor_get_f64(x, a), onnxq_tensor_get_f64(x, b), s->is_max, s->last);
                } else if (is_unsigned) {
                    uint64_t va = load_u64(x, a), vb = load_u64(x, b);
                    better = s->is_max ? (s->last ? va >= vb : va > vb) : (s->last ? va <= vb : va < vb);
                } else {
                    int64_t va = onnxq_tensor_get_i64(x, a), vb = onnxq_tensor_get_i64(x, b);
                    better = s->is_max ? (s->last ? va >= vb : va > vb) : (s->last ? va <= vb : va < vb);
                }
                if (better)
                    best = (int64_t)r;
            }
            y[o * inner + i] = best;
        }
    }
}

struct argjob {
    const struct arg_state *s;
    const float *x;
    int64_t *y;
    size_t n, inner;
};

/* float32: one (outer index, inner index) per item, contiguous when inner
 * is 1; the comparison direction is folded into a sign. */
static void argjob_range(void *arg, size_t b, size_t e)
{
    const struct argjob *j = arg;
    float sign = j->s->is_max ? 1.0f : -1.0f;
    bool last = j->s->last;
    for (size_t t = b; t < e; t++) {
        size_t o = t / j->inner, i = t % j->inner;
        const float *x = j->x + o * j->n * j->inner + i;
        float best = sign * x[0];
        size_t bi = 0;
        if (last) {
            for (size_t r = 1; r < j->n; r++) {
                float v = sign * x[r * j->inner];
                if (v >= best) {
                    best = v;
                    bi = r;
                }
            }
        } else {
            for (size_t r = 1; r < j->n; r++) {
                float v = sign * x[r * j->inner];
                if (v > best) {
                    best = v;
                    bi = r;
                }
            }
        }
        j->y[t] = (int64_t)bi;
    }
}

enum onnxq_status onnxq_arg_run(void *state, struct onnxq_op_ctx *ctx)
{
    const struct arg_state *s = state;
    int axis;
    enum onnxq_status st = arg_plan(s, ctx, &axis);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    size_t outer = 1, inner = 1, n = (size_t)x->dims[axis];
    for (int d = 0; d < axis; d++)
        outer *= (size_t)x->dims[d];
    for (int d = axis + 1; d < x->ndim; d++)
        inner *= (size_t)x->dims[d];
    if (outer * inner == 0)
        return ONNXQ_OK;
    if (x->dtype == ONNXQ_DT_FLOAT) {
        struct argjob j = {s, x->data, ctx->outputs[0]->data, n, inner};
        size_t min_chunk = n >= 4096 ? 1 : 4096 / (n ? n : 1);
        onnxq_parallel_for(ctx, outer * inner, min_chunk, argjob_range, &j);
        return ONNXQ_OK;
    }
    arg_ref(s, x, ctx->outputs[0]->data, outer, n, inner);
    return ONNXQ_OK;
}
