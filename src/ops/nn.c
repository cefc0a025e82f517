/* Pooling, normalization and softmax. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/nn.h"
#include "ops/rowred.h"

#define MAXS (ONNXQ_MAX_DIMS - 2) /* spatial dims */
#define COL_BLOCK 1024            /* inner-dim block of the column kernels */

/* ---------------------------------------------------------------- helpers */

static void *state_new(struct onnxq_op_init *ictx, size_t size, enum onnxq_status *st)
{
    void *s = calloc(1, size);
    *st = s ? ONNXQ_OK : onnxq_op_fail(ictx->err, ictx->node, ONNXQ_E_NOMEM, "out of memory");
    return s;
}

void onnxq_nn_fini(void *state)
{
    free(state);
}

static bool is_float_dtype(enum onnxq_dtype dt)
{
    return dt == ONNXQ_DT_FLOAT || dt == ONNXQ_DT_DOUBLE || dt == ONNXQ_DT_FLOAT16 || dt == ONNXQ_DT_BFLOAT16;
}

static enum onnxq_status need_float(const struct onnxq_op_ctx *ctx, size_t slot)
{
    enum onnxq_status st = onnxq_need_input(ctx, slot);
    if (st)
        return st;
    if (!is_float_dtype(ctx->inputs[slot]->dtype))
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_UNSUPPORTED, "input '%s' has unsupported dtype %s",
                             ctx->node->inputs[slot], onnxq_dtype_name(ctx->inputs[slot]->dtype));
    return ONNXQ_OK;
}

static const char *in_name(const struct onnxq_op_ctx *ctx, size_t slot)
{
    return slot < ctx->node->n_inputs ? ctx->node->inputs[slot] : "?";
}

/* exp(x) for float32 x <= 88.37 (or NaN): the softmax kernels only pass
 * x - max(x) <= 0. Vectorisable: no calls and no float selects (GCC will not
 * if-convert those under the default -ftrapping-math; selects are integer
 * masks) and no float-to-int conversion. Cody-Waite range reduction
 * x = n*ln2 + r, |r| <= ln2/2, with n from the 1.5*2^23 rounding trick;
 * Cephes' degree-6 polynomial for e^r; 2^n built in the exponent bits.
 * Max error ~1.4 ulp; x below -87.3 (and -inf) gives 0, NaN stays NaN.
 * Tested against the double-precision reference (libm exp). */
union f32_bits {
    float f;
    int32_t i;
    uint32_t u;
};

static inline float exp_f32(float x)
{
    const float lo = -87.3365478515625f;
    int32_t is_lo = -(int32_t)(x < lo);
    union f32_bits xc, x_, lo_;
    x_.f = x;
    lo_.f = lo;
    xc.i = (lo_.i & is_lo) | (x_.i & ~is_lo);
    union f32_bits t;
    t.f = xc.f * 1.44269504088896341f + 12582912.0f;
    float n = t.f - 12582912.0f;
    float r = xc.f - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float r2 = r * r;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r2 + r + 1.0f;
    union f32_bits sc, y;
    sc.u = (t.u - 0x4b400000u + 127u) << 23; /* 2^n */
    y.f = p * sc.f;
    y.i &= ~is_lo;
    return y.f;
}

/* y[i] = exp(x[i] - sub) */
static void exp_sub_f32(const float *x, float sub, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = exp_f32(x[i] - sub);
}

/* Minimum number of items per parallel chunk so a chunk does ~64k
 * element-operations. */
static size_t chunk_for(size_t work_per_item)
{
    return work_per_item >= 65536 ? 1 : 65536 / (work_per_item ? work_per_item : 1);
}

enum onnxq_status onnxq_nn_same_shape(void *state, struct onnxq_op_ctx *ctx)
{
    (void)state;
    enum onnxq_status st = need_float(ctx, 0);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    onnxq_out_shape(ctx->outputs[0], x->dtype, x->ndim, x->dims);
    return ONNXQ_OK;
}

/* ------------------------------------------------------------------ pools */

enum pool_kind { PK_MAX, PK_AVG, PK_LP };

struct pool_state {
    enum pool_kind kind;
    bool global;
    int nk;  /* spatial dims of kernel_shape */
    int64_t k[MAXS], s[MAXS], d[MAXS], pads[2 * MAXS];
    enum onnxq_auto_pad ap;
    bool ceil_mode, count_include_pad;
    int storage_order;
    double p;  /* LpPool */
};

/* One run's window geometry. */
struct pool_geom {
    int ns;
    int64_t nc;  /* N*C planes */
    int64_t in[MAXS], out[MAXS], k[MAXS], s[MAXS], d[MAXS], pb[MAXS], pe[MAXS];
    int64_t in_sp, out_sp;  /* elements per plane */
};

#define POOL_ATTR_MAX ((int64_t)1 << 30)

static enum onnxq_status read_pool_ints(struct onnxq_op_init *ictx, const char *name, size_t want, int64_t def,
                                        int64_t lo, int64_t *out)
{
    size_t n;
    const int64_t *v = onnxq_attr_ints(ictx->node, name, &n);
    for (size_t i = 0; i < want; i++)
        out[i] = def;
    if (!v)
        return ONNXQ_OK;
    if (n != want)
        return onnxq_op_fail(ictx->err, ictx->node, ONNXQ_E_INVALID_MODEL, "%s has %zu values; expected %zu", name,
                             n, want);
    for (size_t i = 0; i < n; i++) {
        if (v[i] < lo || v[i] > POOL_ATTR_MAX)
            return onnxq_op_fail(ictx->err, ictx->node, ONNXQ_E_INVALID_MODEL, "%s[%zu] = %lld is out of range",
                                 name, i, (long long)v[i]);
        out[i] = v[i];
    }
    return ONNXQ_OK;
}

static enum onnxq_status pool_init(struct onnxq_op_init *ictx, void **state, enum pool_kind kind, bool global)
{
    const struct onnxq_node *n = ictx->node;
    enum onnxq_status st;
    struct pool_state *s = state_new(ictx, sizeof(*s), &st);
    if (!s)
        return st;
    s->kind = kind;
    s->global = global;
    s->p = 2.0;
    if (kind == PK_LP) {
        const struct onnxq_attr *a = onnxq_node_attr(n, "p");
        if (a && (a->type == ONNXQ_ATTR_FLOAT || (a->has_f && !a->has_i)))
            s->p = a->f;
        else
            s->p = (double)onnxq_attr_int(n, "p", 2);
        if (!(s->p > 0) || s->p > 1e6) {
            double p = s->p;
            free(s);
            return onnxq_op_fail(ictx->err, n, ONNXQ_E_INVALID_MODEL, "p = %g must be positive", p);
        }
    }
    if (global) {
        *state = s;
        return ONNXQ_OK;
    }
    size_t nk;
    const int64_t *ks = onnxq_attr_ints(n, "kernel_shape", &nk);
    if (!ks || nk == 0 || nk > MAXS) {
        free(s);
        return onnxq_op_fail(ictx->err, n, ONNXQ_E_INVALID_MODEL, "kernel_shape is %s",
                             ks && nk ? "too long" : "missing");
    }
    s->nk = (int)nk;
    if ((st = onnxq_attr_auto_pad(ictx, &s->ap)) ||
        (st = read_pool_ints(ictx, "kernel_shape", nk, 1, 1, s->k)) ||
        (st = read_pool_ints(ictx, "strides", nk, 1, 1, s->s)) ||
        (st = read_pool_ints(ictx, "dilations", nk, 1, 1, s->d)) ||
        (st = read_pool_ints(ictx, "pads", 2 * nk, 0, 0, s->pads))) {
        free(s);
        return st;
    }
    s->ceil_mode = onnxq_attr_int(n, "ceil_mode", 0) != 0;
    s->count_include_pad = onnxq_attr_int(n, "count_include_pad", 0) != 0;
    s->storage_order = (int)onnxq_attr_int(n, "storage_order", 0);
    if (s->storage_order != 0 && s->storage_order != 1) {
        free(s);
        return onnxq_op_fail(ictx->err, n, ONNXQ_E_INVALID_MODEL, "storage_order must be 0 or 1");
    }
    *state = s;
    return ONNXQ_OK;
}

/* Each pooling op's init: pool_init with its kind, global or windowed. */
#define POOL_INIT(fn, kind, global) \
    enum onnxq_status fn(struct onnxq_op_init *ictx, void **state) \
    { \
        return pool_init(ictx, state, kind, global); \
    }
POOL_INIT(onnxq_maxpool_init, PK_MAX, false)
POOL_INIT(onnxq_avgpool_init, PK_AVG, false)
POOL_INIT(onnxq_lppool_init, PK_LP, false)
POOL_INIT(onnxq_global_maxpool_init, PK_MAX, true)
POOL_INIT(onnxq_global_avgpool_init, PK_AVG, true)
POOL_INIT(onnxq_global_lppool_init, PK_LP, true)
#undef POOL_INIT

static enum onnxq_status pool_geometry(const struct pool_state *s, struct onnxq_op_ctx *ctx, struct pool_geom *g)
{
    enum onnxq_status st = onnxq_need_input(ctx, 0);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    enum onnxq_dtype dt = x->dtype;
    bool ok = is_float_dtype(dt) ||
              (s->kind == PK_MAX && onnxq_dtype_valid((int)dt) && onnxq_dtype_table[dt].is_integer);
    if (!ok)
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_UNSUPPORTED, "input '%s' has unsupported dtype %s",
                             in_name(ctx, 0), onnxq_dtype_name(dt));
    char sh[200];
    int want = s->global ? (x->ndim >= 2 ? x->ndim : 2) : s->nk + 2;
    if (x->ndim != want) {
        onnxq_shape_format(x->dims, x->ndim, sh, sizeof(sh));
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE, "input '%s' has shape %s; expected rank %d%s",
                             in_name(ctx, 0), sh, want, s->global ? " or more" : " (kernel_shape + 2)");
    }
    memset(g, 0, sizeof(*g));
    g->ns = x->ndim - 2;
    g->nc = x->dims[0] * x->dims[1];
    g->in_sp = g->out_sp = 1;
    for (int i = 0; i < g->ns; i++) {
        int64_t in = x->dims[i + 2], out;
        g->in[i] = in;
        if (s->global) {
            g->k[i] = in;
            g->s[i] = g->d[i] = 1;
            out = 1;
        } else {
            int64_t k = s->k[i], st_ = s->s[i], d = s->d[i], ek = (k - 1) * d + 1, pb = 0, pe = 0;
            g->k[i] = k;
            g->s[i] = st_;
            g->d[i] = d;
            if (s->ap == ONNXQ_AUTO_PAD_SAME_UPPER || s->ap == ONNXQ_AUTO_PAD_SAME_LOWER) {
                out = (in + st_ - 1) / st_;
                int64_t total = (out - 1) * st_ + ek - in;
                if (total < 0)
                    total = 0;
                pb = s->ap == ONNXQ_AUTO_PAD_SAME_UPPER ? total / 2 : total - total / 2;
                pe = total - pb;
            } else {
                if (s->ap == ONNXQ_AUTO_PAD_NOTSET) {
                    pb = s->pads[i];
                    pe = s->pads[i + s->nk];
                }
                int64_t num = in + pb + pe - ek;
                if (num < 0) {
                    onnxq_shape_format(x->dims, x->ndim, sh, sizeof(sh));
                    return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE,
                                         "input '%s' of shape %s is smaller than the (dilated) kernel %lld on "
                                         "spatial axis %d, even with pads",
                                         in_name(ctx, 0), sh, (long long)ek, i);
                }
                out = (s->ceil_mode ? (num + st_ - 1) / st_ : num / st_) + 1;
                /* a last window starting in the end padding is dropped */
                if (s->ceil_mode && (out - 1) * st_ >= in + pb)
                    out--;
            }
            g->pb[i] = pb;
            g->pe[i] = pe;
        }
        g->out[i] = out;
        g->in_sp *= in;
        g->out_sp *= out;
    }
    return ONNXQ_OK;
}

enum onnxq_status onnxq_pool_shape(void *state, struct onnxq_op_ctx *ctx)
{
    const struct pool_state *s = state;
    struct pool_geom g;
    enum onnxq_status st = pool_geometry(s, ctx, &g);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    int64_t dims[ONNXQ_MAX_DIMS];
    dims[0] = x->dims[0];
    dims[1] = x->dims[1];
    for (int i = 0; i < g.ns; i++)
        dims[i + 2] = g.out[i];
    onnxq_out_shape(ctx->outputs[0], x->dtype, x->ndim, dims);
    if (ctx->n_outputs > 1 && ctx->outputs[1]) {
        if (s->kind != PK_MAX || s->global)
            return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_INVALID_MODEL, "this pool has only one output");
        onnxq_out_shape(ctx->outputs[1], ONNXQ_DT_INT64, x->ndim, dims);
    }
    return ONNXQ_OK;
}

/* Reference pool: any rank and dtype, one output element at a time. */
static void pool_ref(const struct pool_state *s, const struct pool_geom *g, const struct onnxq_tensor *x,
                     struct onnxq_tensor *y, int64_t *indices)
{
    int ns = g->ns;
    int64_t ksize = 1;
    for (int i = 0; i < ns; i++)
        ksize *= g->k[i];
    for (int64_t p = 0; p < g->nc; p++) {
        int64_t oidx[MAXS] = {0};
        for (int64_t op = 0; op < g->out_sp; op++) {
            int64_t kidx[MAXS] = {0};
            double acc = s->kind == PK_MAX ? -INFINITY : 0.0;
            int64_t best = -1, n_valid = 0, n_padded = 0;
            for (int64_t kp = 0; kp < ksize; kp++) {
                bool valid = true, in_padded = true;
                int64_t off = 0, off_cm = 0, mul_cm = 1;
                for (int i = 0; i < ns; i++) {
                    int64_t pos = oidx[i] * g->s[i] - g->pb[i] + kidx[i] * g->d[i];
                    if (pos < 0 || pos >= g->in[i])
                        valid = false;
                    if (pos < -g->pb[i] || pos >= g->in[i] + g->pe[i])
                        in_padded = false;
                    off = off * g->in[i] + pos;
                    off_cm += pos * mul_cm;
                    mul_cm *= g->in[i];
                }
                if (in_padded)
                    n_padded++;
                if (valid) {
                    double v = onnxq_tensor_get_f64(x, (size_t)(p * g->in_sp + off));
                    n_valid++;
                    if (s->kind == PK_MAX) {
                        if (best < 0 || v > acc) {
                            acc = v;
                            best = s->storage_order ? off_cm : off;
                        }
                    } else if (s->kind == PK_AVG) {
                        acc += v;
                    } else {
                        acc += s->p == 2.0 ? v * v : pow(fabs(v), s->p);
                    }
                }
                for (int i = ns - 1; i >= 0; i--) {
                    if (++kidx[i] < g->k[i])
                        break;
                    kidx[i] = 0;
                }
            }
            if (s->kind == PK_AVG)
                acc /= (double)(s->count_include_pad ? n_padded : n_valid);
            else if (s->kind == PK_LP)
                acc = s->p == 2.0 ? sqrt(acc) : pow(acc, 1.0 / s->p);
            onnxq_tensor_set_f64_sat(y, (size_t)(p * g->out_sp + op), acc);
            if (indices)
                indices[p * g->out_sp + op] = p * g->in_sp + (best < 0 ? 0 : best);
            for (int i = ns - 1; i >= 0; i--) {
                if (++oidx[i] < g->out[i])
                    break;
                oidx[i] = 0;
            }
        }
    }
}

/* Window of one output position along one axis: input start, the range
 * [j0, j1) of kernel taps that land inside the input, and the number of
 * taps inside the padded extent (count_include_pad). */
struct win {
    int64_t start, j0, j1, npad;
};

static void axis_windows(int64_t in, int64_t out, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe,
                         struct win *w)
{
    for (int64_t o = 0; o < out; o++) {
        int64_t st = o * s - pb, j0 = 0, j1 = 0, np = 0;
        while (j0 < k && st + j0 * d < 0)
            j0++;
        j1 = j0;
        while (j1 < k && st + j1 * d < in)
            j1++;
        for (int64_t j = 0; j < k; j++)
            if (st + j * d >= -pb && st + j * d < in + pe)
                np++;
        w[o] = (struct win){st, j0, j1, np};
    }
}

struct pool2d_job {
    const struct pool_state *s;
    const float *x;
    float *y;
    int64_t H, W, OH, OW, dh, dw, kw, sw;
    int64_t ow0, ow1;  /* interior columns: the whole window lies inside the input */
    const struct win *wh, *ww;
};

/* acc[i] = max(acc[i], src[i * s]) for i < n; constant-stride copies so
 * the common strides vectorise. */
static void row_max(float *acc, const float *src, int64_t n, int64_t s)
{
    if (s == 1) {
        for (int64_t i = 0; i < n; i++)
            acc[i] = src[i] > acc[i] ? src[i] : acc[i];
    } else if (s == 2) {
        for (int64_t i = 0; i < n; i++)
            acc[i] = src[2 * i] > acc[i] ? src[2 * i] : acc[i];
    } else {
        for (int64_t i = 0; i < n; i++)
            acc[i] = src[i * s] > acc[i] ? src[i * s] : acc[i];
    }
}

static void row_add(float *acc, const float *src, int64_t n, int64_t s)
{
    if (s == 1) {
        for (int64_t i = 0; i < n; i++)
            acc[i] += src[i];
    } else if (s == 2) {
        for (int64_t i = 0; i < n; i++)
            acc[i] += src[2 * i];
    } else {
        for (int64_t i = 0; i < n; i++)
            acc[i] += src[i * s];
    }
}

/* One output element with clipped windows (edges). */
static float pool_one(const struct pool2d_job *j, const float *xp, const struct win *h, const struct win *w)
{
    const float *base = xp + h->start * j->W + w->start;
    if (j->s->kind == PK_MAX) {
        float m = -INFINITY;
        for (int64_t jh = h->j0; jh < h->j1; jh++) {
            const float *row = base + jh * j->dh * j->W;
            for (int64_t jw = w->j0; jw < w->j1; jw++)
                m = row[jw * j->dw] > m ? row[jw * j->dw] : m;
        }
        return m;
    }
    float sum = 0;
    for (int64_t jh = h->j0; jh < h->j1; jh++) {
        const float *row = base + jh * j->dh * j->W;
        for (int64_t jw = w->j0; jw < w->j1; jw++)
            sum += row[jw * j->dw];
    }
    int64_t cnt = j->s->count_include_pad ? h->npad * w->npad : (h->j1 - h->j0) * (w->j1 - w->j0);
    return sum / (float)cnt;
}

/* Per plane and output row: the interior columns accumulate whole rows
 * (one pass per kernel tap, contiguous or constant-stride), the clipped
 * edge columns go one by one. */
static void pool2d_range(void *arg, size_t b, size_t e)
{
    const struct pool2d_job *j = arg;
    bool is_max = j->s->kind == PK_MAX, cip = j->s->count_include_pad;
    int64_t W = j->W, n = j->ow1 - j->ow0;
    for (size_t p = b; p < e; p++) {
        const float *xp = j->x + p * (size_t)(j->H * W);
        float *yp = j->y + p * (size_t)(j->OH * j->OW);
        for (int64_t oh = 0; oh < j->OH; oh++) {
            const struct win *h = &j->wh[oh];
            float *yrow = yp + oh * j->OW;
            if (n > 0) {
                float *acc = yrow + j->ow0;
                for (int64_t i = 0; i < n; i++)
                    acc[i] = is_max ? -INFINITY : 0.0f;
                for (int64_t jh = h->j0; jh < h->j1; jh++) {
                    const float *row = xp + (h->start + jh * j->dh) * W + j->ww[j->ow0].start;
                    for (int64_t jw = 0; jw < j->kw; jw++) {
                        if (is_max)
                            row_max(acc, row + jw * j->dw, n, j->sw);
                        else
                            row_add(acc, row + jw * j->dw, n, j->sw);
                    }
                }
                if (!is_max) {
                    int64_t cnt = (cip ? h->npad : h->j1 - h->j0) * j->kw;
                    for (int64_t i = 0; i < n; i++)
                        acc[i] = acc[i] / (float)cnt;
                }
            }
            for (int64_t ow = 0; ow < j->ow0; ow++)
                yrow[ow] = pool_one(j, xp, h, &j->ww[ow]);
            for (int64_t ow = j->ow1 > j->ow0 ? j->ow1 : j->ow0; ow < j->OW; ow++)
                yrow[ow] = pool_one(j, xp, h, &j->ww[ow]);
        }
    }
}

/* float32 max/average pool over 1-D or 2-D planes. */
static enum onnxq_status pool2d_f32(struct onnxq_op_ctx *ctx, const struct pool_state *s, const struct pool_geom *g)
{
    bool two = g->ns == 2;
    int64_t H = two ? g->in[0] : 1, W = g->in[g->ns - 1];
    int64_t OH = two ? g->out[0] : 1, OW = g->out[g->ns - 1];
    struct win *wh = malloc((size_t)(OH + OW) * sizeof(struct win));
    if (!wh)
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_NOMEM, "out of memory");
    struct win *ww = wh + OH;
    if (two)
        axis_windows(H, OH, g->k[0], g->s[0], g->d[0], g->pb[0], g->pe[0], wh);
    else
        wh[0] = (struct win){0, 0, 1, 1};
    int a = g->ns - 1;
    axis_windows(W, OW, g->k[a], g->s[a], g->d[a], g->pb[a], g->pe[a], ww);
    int64_t ow0 = 0, ow1;
    while (ow0 < OW && !(ww[ow0].j0 == 0 && ww[ow0].j1 == g->k[a]))
        ow0++;
    ow1 = ow0;
    while (ow1 < OW && ww[ow1].j0 == 0 && ww[ow1].j1 == g->k[a])
        ow1++;
    struct pool2d_job j = {s, ctx->inputs[0]->data, ctx->outputs[0]->data, H, W, OH, OW,
                           two ? g->d[0] : 1, g->d[a], g->k[a], g->s[a], ow0, ow1, wh, ww};
    int64_t ksz = (two ? g->k[0] : 1) * g->k[a];
    onnxq_parallel_for(ctx, (size_t)g->nc, chunk_for((size_t)(OH * OW * ksz)), pool2d_range, &j);
    free(wh);
    return ONNXQ_OK;
}

struct gpool_job {
    enum pool_kind kind;
    double p;
    const float *x;
    float *y;
    size_t n;
};

static void gpool_range(void *arg, size_t b, size_t e)
{
    const struct gpool_job *j = arg;
    for (size_t p = b; p < e; p++) {
        const float *x = j->x + p * j->n;
        if (j->kind == PK_AVG) {
            j->y[p] = sum_f32(x, j->n) / (float)j->n;
        } else if (j->kind == PK_MAX) {
            j->y[p] = max_f32(x, j->n);
        } else {
            double acc = 0;
            for (size_t i = 0; i < j->n; i++)
                acc += j->p == 2.0 ? (double)x[i] * x[i] : pow(fabs(x[i]), j->p);
            j->y[p] = (float)(j->p == 2.0 ? sqrt(acc) : pow(acc, 1.0 / j->p));
        }
    }
}

enum onnxq_status onnxq_pool_run(void *state, struct onnxq_op_ctx *ctx)
{
    const struct pool_state *s = state;
    struct pool_geom g;
    enum onnxq_status st = pool_geometry(s, ctx, &g);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    struct onnxq_tensor *y = ctx->outputs[0];
    struct onnxq_tensor *ind = ctx->n_outputs > 1 ? ctx->outputs[1] : NULL;
    if (onnxq_tensor_numel(y) == 0)
        return ONNXQ_OK;
    if (g.in_sp == 0)
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE, "input '%s' has an empty spatial extent",
                             in_name(ctx, 0));
    if (x->dtype == ONNXQ_DT_FLOAT && !ind) {
        if (s->global) {
            struct gpool_job j = {s->kind, s->p, x->data, y->data, (size_t)g.in_sp};
            onnxq_parallel_for(ctx, (size_t)g.nc, chunk_for((size_t)g.in_sp), gpool_range, &j);
            return ONNXQ_OK;
        }
        if (g.ns >= 1 && g.ns <= 2 && s->kind != PK_LP)
            return pool2d_f32(ctx, s, &g);
    }
    pool_ref(s, &g, x, y, ind ? ind->data : NULL);
    return ONNXQ_OK;
}

/* ---------------------------------------------------- BatchNormalization */

struct bn_state {
    double eps, momentum;
    bool training;
    bool spatial;
    int64_t opset;
    /* y = x * a + b folded at init when scale, B, mean and var are
     * constants: ab[0..P) = a, ab[P..2P) = b (NULL otherwise) */
    int64_t P;
    double *ab;
};

/* a = scale / sqrt(var + eps), b = B - mean * a for P parameters. */
static void bn_fold(const struct onnxq_tensor *const *p, double eps, int64_t P, double *ab)
{
    for (int64_t i = 0; i < P; i++) {
        double a = onnxq_tensor_get_f64(p[0], (size_t)i) / sqrt(onnxq_tensor_get_f64(p[3], (size_t)i) + eps);
        ab[i] = a;
        ab[P + i] = onnxq_tensor_get_f64(p[1], (size_t)i) - onnxq_tensor_get_f64(p[2], (size_t)i) * a;
    }
}

enum onnxq_status onnxq_batchnorm_init(struct onnxq_op_init *ictx, void **state)
{
    enum onnxq_status st;
    struct bn_state *s = state_new(ictx, sizeof(*s), &st);
    if (!s)
        return st;
    s->eps = onnxq_attr_float(ictx->node, "epsilon", 1e-5f);
    s->momentum = onnxq_attr_float(ictx->node, "momentum", 0.9f);
    s->opset = ictx->opset;
    s->training = ictx->opset >= 14 && onnxq_attr_int(ictx->node, "training_mode", 0) != 0;
    s->spatial = ictx->opset >= 9 || onnxq_attr_int(ictx->node, "spatial", 1) != 0;
    bool all_const = ictx->n_inputs >= 5 && !s->training;
    int64_t P = all_const && ictx->const_inputs[1] ? onnxq_tensor_numel(ictx->const_inputs[1]) : -1;
    for (size_t i = 1; i < 5 && all_const; i++) {
        const struct onnxq_tensor *t = ictx->const_inputs[i];
        all_const = t && is_float_dtype(t->dtype) && onnxq_tensor_numel(t) == P;
    }
    if (all_const && P > 0) {
        s->ab = malloc((size_t)P * 2 * sizeof(double));
        if (!s->ab) {
            free(s);
            return onnxq_op_fail(ictx->err, ictx->node, ONNXQ_E_NOMEM, "out of memory");
        }
        s->P = P;
        bn_fold(ictx->const_inputs + 1, s->eps, P, s->ab);
    }
    *state = s;
    return ONNXQ_OK;
}

void onnxq_batchnorm_fini(void *state)
{
    struct bn_state *s = state;
    if (s)
        free(s->ab);
    free(s);
}

/* C, spatial size S, and the parameter count (C, or C*S for spatial=0). */
static enum onnxq_status bn_dims(const struct bn_state *s, struct onnxq_op_ctx *ctx, int64_t *C, int64_t *S,
                                 int64_t *P)
{
    enum onnxq_status st = need_float(ctx, 0);
    for (size_t i = 1; i < 5 && !st; i++)
        st = need_float(ctx, i);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    char sh[200];
    if (x->ndim < 2) {
        onnxq_shape_format(x->dims, x->ndim, sh, sizeof(sh));
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE, "input '%s' has shape %s; expected [N,C,...]",
                             in_name(ctx, 0), sh);
    }
    *C = x->dims[1];
    *S = 1;
    for (int d = 2; d < x->ndim; d++)
        *S *= x->dims[d];
    *P = onnxq_tensor_numel(ctx->inputs[1]);
    if (*P != *C && (s->spatial || *P != *C * *S)) {
        onnxq_shape_format(x->dims, x->ndim, sh, sizeof(sh));
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE, "scale '%s' has %lld values for input '%s' of shape %s",
                             in_name(ctx, 1), (long long)*P, in_name(ctx, 0), sh);
    }
    for (size_t i = 2; i < 5; i++)
        if (onnxq_tensor_numel(ctx->inputs[i]) != *P)
            return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE, "input '%s' has %lld values; scale has %lld",
                                 in_name(ctx, i), (long long)onnxq_tensor_numel(ctx->inputs[i]), (long long)*P);
    return ONNXQ_OK;
}

enum onnxq_status onnxq_batchnorm_shape(void *state, struct onnxq_op_ctx *ctx)
{
    const struct bn_state *s = state;
    int64_t C, S, P;
    enum onnxq_status st = bn_dims(s, ctx, &C, &S, &P);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    onnxq_out_shape(ctx->outputs[0], x->dtype, x->ndim, x->dims);
    for (size_t i = 1; i < ctx->n_outputs; i++) {
        if (!ctx->outputs[i])
            continue;
        if (!s->training || i > 2)
            return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_UNSUPPORTED,
                                 "training outputs are only supported with training_mode=1 (opset >= 14)");
        const struct onnxq_tensor *m = ctx->inputs[i + 2];
        onnxq_out_shape(ctx->outputs[i], m->dtype, m->ndim, m->dims);
    }
    return ONNXQ_OK;
}

struct bn_job {
    const float *x;
    float *y;
    const float *a, *b;
    size_t C, S;
    bool per_elem;
};

static void bn_range(void *arg, size_t b, size_t e)
{
    const struct bn_job *j = arg;
    for (size_t p = b; p < e; p++) {
        size_t c = p % j->C;
        const float *x = j->x + p * j->S;
        float *y = j->y + p * j->S;
        if (j->per_elem) {
            const float *a = j->a + c * j->S, *bb = j->b + c * j->S;
            for (size_t i = 0; i < j->S; i++)
                y[i] = x[i] * a[i] + bb[i];
        } else {
            float a = j->a[c], bb = j->b[c];
            for (size_t i = 0; i < j->S; i++)
                y[i] = x[i] * a + bb;
        }
    }
}

/* Training mode: normalise with the batch statistics, update the running
 * ones (reference, double precision). */
static enum onnxq_status bn_training(const struct bn_state *s, struct onnxq_op_ctx *ctx, int64_t C, int64_t S,
                                     int64_t P)
{
    const struct onnxq_tensor *x = ctx->inputs[0];
    if (P != C)
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_UNSUPPORTED, "training mode needs per-channel parameters");
    int64_t N = x->dims[0];
    for (int64_t c = 0; c < C; c++) {
        double sum = 0, sq = 0, cnt = (double)(N * S);
        for (int64_t n = 0; n < N; n++)
            for (int64_t i = 0; i < S; i++)
                sum += onnxq_tensor_get_f64(x, (size_t)((n * C + c) * S + i));
        double mean = cnt ? sum / cnt : 0;
        for (int64_t n = 0; n < N; n++)
            for (int64_t i = 0; i < S; i++) {
                double dv = onnxq_tensor_get_f64(x, (size_t)((n * C + c) * S + i)) - mean;
                sq += dv * dv;
            }
        double var = cnt ? sq / cnt : 0;
        double a = onnxq_tensor_get_f64(ctx->inputs[1], (size_t)c) / sqrt(var + s->eps);
        double b = onnxq_tensor_get_f64(ctx->inputs[2], (size_t)c) - mean * a;
        for (int64_t n = 0; n < N; n++)
            for (int64_t i = 0; i < S; i++) {
                size_t k = (size_t)((n * C + c) * S + i);
                onnxq_tensor_set_f64(ctx->outputs[0], k, onnxq_tensor_get_f64(x, k) * a + b);
            }
        if (ctx->n_outputs > 1 && ctx->outputs[1])
            onnxq_tensor_set_f64(ctx->outputs[1], (size_t)c,
                                 onnxq_tensor_get_f64(ctx->inputs[3], (size_t)c) * s->momentum +
                                     mean * (1 - s->momentum));
        if (ctx->n_outputs > 2 && ctx->outputs[2])
            onnxq_tensor_set_f64(ctx->outputs[2], (size_t)c,
                                 onnxq_tensor_get_f64(ctx->inputs[4], (size_t)c) * s->momentum +
                                     var * (1 - s->momentum));
    }
    return ONNXQ_OK;
}

enum onnxq_status onnxq_batchnorm_run(void *state, struct onnxq_op_ctx *ctx)
{
    const struct bn_state *s = state;
    int64_t C, S, P;
    enum onnxq_status st = bn_dims(s, ctx, &C, &S, &P);
    if (st)
        return st;
    if (s->training)
        return bn_training(s, ctx, C, S, P);
    const struct onnxq_tensor *x = ctx->inputs[0];
    struct onnxq_tensor *y = ctx->outputs[0];
    size_t total = (size_t)onnxq_tensor_numel(x);
    if (total == 0)
        return ONNXQ_OK;
    /* y = x * a + b with a = scale / sqrt(var + eps), b = bias - mean * a,
     * folded at init for constant parameters */
    bool folded = s->ab && s->P == P;
    double *ab = folded ? s->ab : malloc((size_t)P * 2 * sizeof(double));
    float *fab = x->dtype == ONNXQ_DT_FLOAT ? malloc((size_t)P * 2 * sizeof(float)) : NULL;
    if (!ab || (x->dtype == ONNXQ_DT_FLOAT && !fab)) {
        if (!folded)
            free(ab);
        free(fab);
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_NOMEM, "out of memory");
    }
    if (!folded)
        bn_fold(ctx->inputs + 1, s->eps, P, ab);
    bool per_elem = P != C;
    if (fab) {
        for (int64_t i = 0; i < 2 * P; i++)
            fab[i] = (float)ab[i];
        struct bn_job j = {x->data, y->data, fab, fab + P, (size_t)C, (size_t)S, per_elem};
        onnxq_parallel_for(ctx, total / (size_t)S, chunk_for((size_t)S), bn_range, &j);
        free(fab);
    } else {
        for (size_t k = 0; k < total; k++) {
            size_t c = (k / (size_t)S) % (size_t)C, pi = per_elem ? c * (size_t)S + k % (size_t)S : c;
            onnxq_tensor_set_f64(y, k, onnxq_tensor_get_f64(x, k) * ab[pi] + ab[P + (int64_t)pi]);
        }
    }
    if (!folded)
        free(ab);
    return ONNXQ_OK;
}

/* ------------------------------------------------- InstanceNormalization */

struct eps_state {
    double eps;
};

enum onnxq_status onnxq_instnorm_init(struct onnxq_op_init *ictx, void **state)
{
    enum onnxq_status st;
    struct eps_state *s = state_new(ictx, sizeof(*s), &st);
    if (!s)
        return st;
    s->eps = onnxq_attr_float(ictx->node, "epsilon", 1e-5f);
    *state = s;
    return ONNXQ_OK;
}

static enum onnxq_status instnorm_dims(struct onnxq_op_ctx *ctx, int64_t *C, int64_t *S)
{
    enum onnxq_status st;
    if ((st = need_float(ctx, 0)) || (st = need_float(ctx, 1)) || (st = need_float(ctx, 2)))
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    char sh[200];
    onnxq_shape_format(x->dims, x->ndim, sh, sizeof(sh));
    if (x->ndim < 2)
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE, "input '%s' has shape %s; expected [N,C,...]",
                             in_name(ctx, 0), sh);
    *C = x->dims[1];
    *S = 1;
    for (int d = 2; d < x->ndim; d++)
        *S *= x->dims[d];
    for (size_t i = 1; i < 3; i++)
        if (onnxq_tensor_numel(ctx->inputs[i]) != *C)
            return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE, "input '%s' has %lld values; input '%s' (%s) has %lld channels",
                                 in_name(ctx, i), (long long)onnxq_tensor_numel(ctx->inputs[i]), in_name(ctx, 0), sh,
                                 (long long)*C);
    return ONNXQ_OK;
}

enum onnxq_status onnxq_instnorm_shape(void *state, struct onnxq_op_ctx *ctx)
{
    (void)state;
    int64_t C, S;
    enum onnxq_status st = instnorm_dims(ctx, &C, &S);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    onnxq_out_shape(ctx->outputs[0], x->dtype, x->ndim, x->dims);
    return ONNXQ_OK;
}

struct in_job {
    const float *x, *scale, *bias;
    float *y;
    size_t C, S;
    float eps;
};

static void in_range(void *arg, size_t b, size_t e)
{
    const struct in_job *j = arg;
    for (size_t p = b; p < e; p++) {
        const float *x = j->x + p * j->S;
        float *y = j->y + p * j->S;
        size_t c = p % j->C;
        float mean = sum_f32(x, j->S) / (float)j->S;
        float var = sumsqdev_f32(x, j->S, mean) / (float)j->S;
        float a = j->scale[c] / sqrtf(var + j->eps), bb = j->bias[c] - mean * a;
        for (size_t i = 0; i < j->S; i++)
            y[i] = x[i] * a + bb;
    }
}

enum onnxq_status onnxq_instnorm_run(void *state, struct onnxq_op_ctx *ctx)
{
    const struct eps_state *s = state;
    int64_t C, S;
    enum onnxq_status st = instnorm_dims(ctx, &C, &S);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    struct onnxq_tensor *y = ctx->outputs[0];
    size_t planes = S ? (size_t)(onnxq_tensor_numel(x) / S) : 0;
    if (planes == 0)
        return ONNXQ_OK;
    if (x->dtype == ONNXQ_DT_FLOAT && ctx->inputs[1]->dtype == ONNXQ_DT_FLOAT &&
        ctx->inputs[2]->dtype == ONNXQ_DT_FLOAT) {
        struct in_job j = {x->data, ctx->inputs[1]->data, ctx->inputs[2]->data, y->data, (size_t)C, (size_t)S,
                           (float)s->eps};
        onnxq_parallel_for(ctx, planes, chunk_for((size_t)S * 3), in_range, &j);
        return ONNXQ_OK;
    }
    /* reference: double precision, any float dtype */
    for (size_t p = 0; p < planes; p++) {
        size_t c = p % (size_t)C, base = p * (size_t)S;
        double sum = 0, sq = 0;
        for (int64_t i = 0; i < S; i++)
            sum += onnxq_tensor_get_f64(x, base + (size_t)i);
        double mean = sum / (double)S;
        for (int64_t i = 0; i < S; i++) {
            double dv = onnxq_tensor_get_f64(x, base + (size_t)i) - mean;
            sq += dv * dv;
        }
        double a = onnxq_tensor_get_f64(ctx->inputs[1], c) / sqrt(sq / (double)S + s->eps);
        double b = onnxq_tensor_get_f64(ctx->inputs[2], c) - mean * a;
        for (int64_t i = 0; i < S; i++)
            onnxq_tensor_set_f64(y, base + (size_t)i, onnxq_tensor_get_f64(x, base + (size_t)i) * a + b);
    }
    return ONNXQ_OK;
}

/* ---------------------------------------------------- LayerNormalization */

struct ln_state {
    int64_t axis;
    double eps;
};

enum onnxq_status onnxq_layernorm_init(struct onnxq_op_init *ictx, void **state)
{
    int64_t stash = onnxq_attr_int(ictx->node, "stash_type", 1);
    if (stash != ONNXQ_DT_FLOAT && stash != ONNXQ_DT_DOUBLE)
        return onnxq_op_fail(ictx->err, ictx->node, ONNXQ_E_UNSUPPORTED, "stash_type %lld is not supported",
                             (long long)stash);
    enum onnxq_status st;
    struct ln_state *s = state_new(ictx, sizeof(*s), &st);
    if (!s)
        return st;
    s->axis = onnxq_attr_int(ictx->node, "axis", -1);
    s->eps = onnxq_attr_float(ictx->node, "epsilon", 1e-5f);
    *state = s;
    return ONNXQ_OK;
}

/* Can t broadcast (numpy rules) to the trailing dims[0..nd)? */
static bool broadcasts_to(const struct onnxq_tensor *t, const int64_t *dims, int nd)
{
    if (t->ndim > nd)
        return false;
    for (int i = 0; i < t->ndim; i++) {
        int64_t td = t->dims[t->ndim - 1 - i], xd = dims[nd - 1 - i];
        if (td != 1 && td != xd)
            return false;
    }
    return true;
}

/* Expand t (broadcastable to dims[0..nd)) into out[D] as doubles. */
static void expand_param(const struct onnxq_tensor *t, const int64_t *dims, int nd, double *out, size_t D)
{
    int64_t tstride[ONNXQ_MAX_DIMS] = {0}, idx[ONNXQ_MAX_DIMS] = {0};
    int64_t st = 1;
    for (int i = 0; i < t->ndim; i++) {
        int a = t->ndim - 1 - i;
        tstride[nd - 1 - i] = t->dims[a] == 1 ? 0 : st;
        st *= t->dims[a];
    }
    int64_t off = 0;
    for (size_t k = 0; k < D; k++) {
        out[k] = onnxq_tensor_get_f64(t, (size_t)off);
        for (int d = nd - 1; d >= 0; d--) {
            if (++idx[d] < dims[d]) {
                off += tstride[d];
                break;
            }
            off -= tstride[d] * (dims[d] - 1);
            idx[d] = 0;
        }
    }
}

static enum onnxq_status ln_plan(const struct ln_state *s, struct onnxq_op_ctx *ctx, int *axis)
{
    enum onnxq_status st;
    if ((st = need_float(ctx, 0)) || (st = need_float(ctx, 1)))
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    if ((st = onnxq_norm_axis(ctx, s->axis, x->ndim, axis)))
        return st;
    for (size_t i = 1; i < 3 && i < ctx->n_inputs; i++) {
        const struct onnxq_tensor *t = ctx->inputs[i];
        if (!t)
            continue;
        if (i == 2 && (st = need_float(ctx, 2)))
            return st;
        if (!broadcasts_to(t, x->dims + *axis, x->ndim - *axis)) {
            char a[200], b[200];
            onnxq_shape_format(t->dims, t->ndim, a, sizeof(a));
            onnxq_shape_format(x->dims, x->ndim, b, sizeof(b));
            return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE,
                                 "input '%s' of shape %s does not broadcast to the normalised dims of '%s' %s from axis %d",
                                 in_name(ctx, i), a, in_name(ctx, 0), b, *axis);
        }
    }
    return ONNXQ_OK;
}

enum onnxq_status onnxq_layernorm_shape(void *state, struct onnxq_op_ctx *ctx)
{
    int axis;
    enum onnxq_status st = ln_plan(state, ctx, &axis);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    onnxq_out_shape(ctx->outputs[0], x->dtype, x->ndim, x->dims);
    int64_t dims[ONNXQ_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++)
        dims[d] = d < axis ? x->dims[d] : 1;
    for (size_t i = 1; i < 3 && i < ctx->n_outputs; i++)
        onnxq_out_shape(ctx->outputs[i], ONNXQ_DT_FLOAT, x->ndim, dims);
    return ONNXQ_OK;
}

struct ln_job {
    const float *x, *scale, *bias;
    float *y, *mean, *inv;
    size_t D;
    float eps;
};

static void ln_range(void *arg, size_t b, size_t e)
{
    const struct ln_job *j = arg;
    size_t D = j->D;
    for (size_t r = b; r < e; r++) {
        const float *x = j->x + r * D;
        float *y = j->y + r * D;
        float m = sum_f32(x, D) / (float)D;
        float inv = 1.0f / sqrtf(sumsqdev_f32(x, D, m) / (float)D + j->eps);
        const float *sc = j->scale, *bi = j->bias;
        if (bi)
            for (size_t i = 0; i < D; i++)
                y[i] = (x[i] - m) * inv * sc[i] + bi[i];
        else
            for (size_t i = 0; i < D; i++)
                y[i] = (x[i] - m) * inv * sc[i];
        if (j->mean)
            j->mean[r] = m;
        if (j->inv)
            j->inv[r] = inv;
    }
}

enum onnxq_status onnxq_layernorm_run(void *state, struct onnxq_op_ctx *ctx)
{
    const struct ln_state *s = state;
    int axis;
    enum onnxq_status st = ln_plan(s, ctx, &axis);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    const struct onnxq_tensor *bias = ctx->n_inputs > 2 ? ctx->inputs[2] : NULL;
    struct onnxq_tensor *y = ctx->outputs[0];
    struct onnxq_tensor *mo = ctx->n_outputs > 1 ? ctx->outputs[1] : NULL;
    struct onnxq_tensor *io = ctx->n_outputs > 2 ? ctx->outputs[2] : NULL;
    size_t D = 1, rows = 1;
    for (int d = 0; d < x->ndim; d++) {
        if (d < axis)
            rows *= (size_t)x->dims[d];
        else
            D *= (size_t)x->dims[d];
    }
    if (rows == 0 || D == 0)
        return ONNXQ_OK;
    const int64_t *ndims = x->dims + axis;
    int nnd = x->ndim - axis;
    double *par = malloc(2 * D * sizeof(double));
    if (!par)
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_NOMEM, "out of memory");
    expand_param(ctx->inputs[1], ndims, nnd, par, D);
    if (bias)
        expand_param(bias, ndims, nnd, par + D, D);
    else
        memset(par + D, 0, D * sizeof(double));
    if (x->dtype == ONNXQ_DT_FLOAT) {
        float *fp = malloc(2 * D * sizeof(float));
        if (!fp) {
            free(par);
            return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_NOMEM, "out of memory");
        }
        for (size_t i = 0; i < 2 * D; i++)
            fp[i] = (float)par[i];
        struct ln_job j = {x->data, fp, bias ? fp + D : NULL, y->data, mo ? mo->data : NULL, io ? io->data : NULL,
                           D, (float)s->eps};
        onnxq_parallel_for(ctx, rows, chunk_for(3 * D), ln_range, &j);
        free(fp);
        free(par);
        return ONNXQ_OK;
    }
    /* reference: double precision, any float dtype */
    for (size_t r = 0; r < rows; r++) {
        size_t base = r * D;
        double sum = 0, sq = 0;
        for (size_t i = 0; i < D; i++)
            sum += onnxq_tensor_get_f64(x, base + i);
        double m = sum / (double)D;
        for (size_t i = 0; i < D; i++) {
            double dv = onnxq_tensor_get_f64(x, base + i) - m;
            sq += dv * dv;
        }
        double inv = 1.0 / sqrt(sq / (double)D + s->eps);
        for (size_t i = 0; i < D; i++)
            onnxq_tensor_set_f64(y, base + i, (onnxq_tensor_get_f64(x, base + i) - m) * inv * par[i] + par[D + i]);
        if (mo)
            ((float *)mo->data)[r] = (float)m;
        if (io)
            ((float *)io->data)[r] = (float)inv;
    }
    free(par);
    return ONNXQ_OK;
}

/* ------------------------------------------------------------------- LRN */

struct lrn_state {
    double alpha, beta, bias;
    int64_t size;
};

enum onnxq_status onnxq_lrn_init(struct onnxq_op_init *ictx, void **state)
{
    int64_t size = onnxq_attr_int(ictx->node, "size", 0);
    if (size <= 0)
        return onnxq_op_fail(ictx->err, ictx->node, ONNXQ_E_INVALID_MODEL, "size must be a positive integer");
    enum onnxq_status st;
    struct lrn_state *s = state_new(ictx, sizeof(*s), &st);
    if (!s)
        return st;
    s->size = size;
    s->alpha = onnxq_attr_float(ictx->node, "alpha", 1e-4f);
    s->beta = onnxq_attr_float(ictx->node, "beta", 0.75f);
    s->bias = onnxq_attr_float(ictx->node, "bias", 1.0f);
    *state = s;
    return ONNXQ_OK;
}

/* Plain version (LRN is rare in current models): any float dtype. */
enum onnxq_status onnxq_lrn_run(void *state, struct onnxq_op_ctx *ctx)
{
    const struct lrn_state *s = state;
    const struct onnxq_tensor *x = ctx->inputs[0];
    struct onnxq_tensor *y = ctx->outputs[0];
    if (x->ndim < 2)
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE, "input '%s' must have rank >= 2", in_name(ctx, 0));
    int64_t N = x->dims[0], C = x->dims[1], S = 1;
    for (int d = 2; d < x->ndim; d++)
        S *= x->dims[d];
    int64_t lo = (s->size - 1) / 2, hi = s->size - 1 - lo;
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t i = 0; i < S; i++) {
                double sq = 0;
                int64_t c0 = c - lo < 0 ? 0 : c - lo, c1 = c + hi >= C ? C - 1 : c + hi;
                for (int64_t cc = c0; cc <= c1; cc++) {
                    double v = onnxq_tensor_get_f64(x, (size_t)((n * C + cc) * S + i));
                    sq += v * v;
                }
                size_t k = (size_t)((n * C + c) * S + i);
                double den = pow(s->bias + s->alpha / (double)s->size * sq, s->beta);
                onnxq_tensor_set_f64(y, k, onnxq_tensor_get_f64(x, k) / den);
            }
    return ONNXQ_OK;
}

/* ------------------------------------------------ MeanVarianceNormalization */

struct mvn_state {
    size_t n_axes;
    int64_t axes[ONNXQ_MAX_DIMS];
};

enum onnxq_status onnxq_mvn_init(struct onnxq_op_init *ictx, void **state)
{
    size_t n;
    const int64_t *a = onnxq_attr_ints(ictx->node, "axes", &n);
    if (n > ONNXQ_MAX_DIMS)
        return onnxq_op_fail(ictx->err, ictx->node, ONNXQ_E_INVALID_MODEL, "axes has %zu entries", n);
    enum onnxq_status st;
    struct mvn_state *s = state_new(ictx, sizeof(*s), &st);
    if (!s)
        return st;
    static const int64_t def[3] = {0, 2, 3};
    if (!a) {
        a = def;
        n = 3;
    }
    s->n_axes = n;
    memcpy(s->axes, a, n * sizeof(int64_t));
    *state = s;
    return ONNXQ_OK;
}

/* Plain version: (x - E[x]) / (sqrt(E[x^2] - E[x]^2) + 1e-9) over `axes`, in
 * double, as ONNX's function body defines it. */
enum onnxq_status onnxq_mvn_run(void *state, struct onnxq_op_ctx *ctx)
{
    const struct mvn_state *s = state;
    const struct onnxq_tensor *x = ctx->inputs[0];
    struct onnxq_tensor *y = ctx->outputs[0];
    bool mask[ONNXQ_MAX_DIMS] = {false};
    for (size_t i = 0; i < s->n_axes; i++) {
        int a;
        enum onnxq_status st = onnxq_norm_axis(ctx, s->axes[i], x->ndim, &a);
        if (st)
            return st;
        mask[a] = true;
    }
    int64_t ostride[ONNXQ_MAX_DIMS], st_ = 1, cnt = 1;
    for (int d = x->ndim - 1; d >= 0; d--) {
        ostride[d] = mask[d] ? 0 : st_;
        if (mask[d])
            cnt *= x->dims[d];
        else
            st_ *= x->dims[d];
    }
    size_t nin = (size_t)onnxq_tensor_numel(x), nout = (size_t)st_;
    if (nin == 0)
        return ONNXQ_OK;
    double *acc = calloc(2 * nout, sizeof(double));
    if (!acc)
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_NOMEM, "out of memory");
    for (int pass = 0; pass < 2; pass++) {
        int64_t idx[ONNXQ_MAX_DIMS] = {0}, o = 0;
        for (size_t i = 0; i < nin; i++) {
            double v = onnxq_tensor_get_f64(x, i);
            if (pass == 0) {
                acc[o] += v;
                acc[nout + (size_t)o] += v * v;
            } else {
                double m = acc[o] / (double)cnt, var = acc[nout + (size_t)o] / (double)cnt - m * m;
                onnxq_tensor_set_f64(y, i, (v - m) / (sqrt(var) + 1e-9));
            }
            for (int d = x->ndim - 1; d >= 0; d--) {
                if (++idx[d] < x->dims[d]) {
                    o += ostride[d];
                    break;
                }
                o -= ostride[d] * (x->dims[d] - 1);
                idx[d] = 0;
            }
        }
    }
    free(acc);
    return ONNXQ_OK;
}

/* --------------------------------------------- Softmax / LogSoftmax / Hardmax */

enum sm_kind { SM_SOFTMAX, SM_LOG, SM_HARD };

struct sm_state {
    enum sm_kind kind;
    bool one_axis;  /* opset >= 13: along `axis` only; before: flatten at axis */
    int64_t axis;
};

static enum onnxq_status sm_init(struct onnxq_op_init *ictx, void **state, enum sm_kind kind)
{
    enum onnxq_status st;
    struct sm_state *s = state_new(ictx, sizeof(*s), &st);
    if (!s)
        return st;
    s->kind = kind;
    s->one_axis = ictx->opset >= 13;
    s->axis = onnxq_attr_int(ictx->node, "axis", s->one_axis ? -1 : 1);
    *state = s;
    return ONNXQ_OK;
}

enum onnxq_status onnxq_softmax_init(struct onnxq_op_init *ictx, void **state)
{
    return sm_init(ictx, state, SM_SOFTMAX);
}
enum onnxq_status onnxq_logsoftmax_init(struct onnxq_op_init *ictx, void **state)
{
    return sm_init(ictx, state, SM_LOG);
}
enum onnxq_status onnxq_hardmax_init(struct onnxq_op_init *ictx, void **state)
{
    return sm_init(ictx, state, SM_HARD);
}

/* Softmax of one contiguous row. */
static void sm_row_f32(enum sm_kind k, const float *x, float *y, size_t n)
{
    if (k == SM_HARD) {
        size_t best = 0;
        for (size_t i = 1; i < n; i++)
            if (x[i] > x[best])
                best = i;
        for (size_t i = 0; i < n; i++)
            y[i] = 0;
        if (n)
            y[best] = 1;
        return;
    }
    float m = max_f32(x, n);
    exp_sub_f32(x, m, y, n);  /* y as scratch for LogSoftmax */
    float s = sum_f32(y, n);
    if (k == SM_LOG) {
        float off = m + logf(s);
        for (size_t i = 0; i < n; i++)
            y[i] = x[i] - off;
        return;
    }
    float inv = 1.0f / s;
    for (size_t i = 0; i < n; i++)
        y[i] *= inv;
}

/* Softmax of `len` columns: n rows spaced `stride` apart. */
static void sm_cols_f32(enum sm_kind k, const float *x, float *y, size_t n, size_t stride, size_t len)
{
    float m[COL_BLOCK], s[COL_BLOCK];
    size_t bi[COL_BLOCK];
    for (size_t i = 0; i < len; i++) {
        m[i] = x[i];
        s[i] = 0;
        bi[i] = 0;
    }
    for (size_t r = 1; r < n; r++) {
        const float *xr = x + r * stride;
        if (k == SM_HARD) {
            for (size_t i = 0; i < len; i++)
                if (xr[i] > m[i]) {
                    m[i] = xr[i];
                    bi[i] = r;
                }
        } else {
            for (size_t i = 0; i < len; i++)
                m[i] = xr[i] > m[i] ? xr[i] : m[i];
        }
    }
    if (k == SM_HARD) {
        for (size_t r = 0; r < n; r++)
            for (size_t i = 0; i < len; i++)
                y[r * stride + i] = bi[i] == r ? 1.0f : 0.0f;
        return;
    }
    for (size_t r = 0; r < n; r++) {
        const float *xr = x + r * stride;
        float *yr = y + r * stride;  /* scratch for LogSoftmax */
        for (size_t i = 0; i < len; i++)
            yr[i] = exp_f32(xr[i] - m[i]);
        for (size_t i = 0; i < len; i++)
            s[i] += yr[i];
    }
    if (k == SM_SOFTMAX) {
        for (size_t i = 0; i < len; i++)
            s[i] = 1.0f / s[i];
        for (size_t r = 0; r < n; r++) {
            float *yr = y + r * stride;
            for (size_t i = 0; i < len; i++)
                yr[i] *= s[i];
        }
    } else {
        for (size_t i = 0; i < len; i++)
            m[i] += logf(s[i]);
        for (size_t r = 0; r < n; r++) {
            const float *xr = x + r * stride;
            float *yr = y + r * stride;
            for (size_t i = 0; i < len; i++)
                yr[i] = xr[i] - m[i];
        }
    }
}

struct sm_job {
    enum sm_kind k;
    const float *x;
    float *y;
    size_t n, inner, nblk;
};

static void sm_range(void *arg, size_t b, size_t e)
{
    const struct sm_job *j = arg;
    for (size_t t = b; t < e; t++) {
        if (j->inner == 1) {
            sm_row_f32(j->k, j->x + t * j->n, j->y + t * j->n, j->n);
            continue;
        }
        size_t o = t / j->nblk, c = (t % j->nblk) * COL_BLOCK;
        size_t len = j->inner - c < COL_BLOCK ? j->inner - c : COL_BLOCK;
        size_t off = o * j->n * j->inner + c;
        sm_cols_f32(j->k, j->x + off, j->y + off, j->n, j->inner, len);
    }
}

/* Reference: any float dtype, double precision. */
static void sm_ref(enum sm_kind k, const struct onnxq_tensor *x, struct onnxq_tensor *y, size_t outer, size_t n,
                   size_t inner)
{
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < inner; i++) {
            size_t base = o * n * inner + i;
            double m = -INFINITY, s = 0;
            size_t best = 0;
            for (size_t r = 0; r < n; r++) {
                double v = onnxq_tensor_get_f64(x, base + r * inner);
                if (r == 0 || v > m) {
                    m = v;
                    best = r;
                }
            }
            for (size_t r = 0; r < n && k != SM_HARD; r++)
                s += exp(onnxq_tensor_get_f64(x, base + r * inner) - m);
            for (size_t r = 0; r < n; r++) {
                double v = onnxq_tensor_get_f64(x, base + r * inner), out;
                if (k == SM_HARD)
                    out = r == best ? 1.0 : 0.0;
                else if (k == SM_LOG)
                    out = v - m - log(s);
                else
                    out = exp(v - m) / s;
                onnxq_tensor_set_f64(y, base + r * inner, out);
            }
        }
}

enum onnxq_status onnxq_softmax_run(void *state, struct onnxq_op_ctx *ctx)
{
    const struct sm_state *s = state;
    const struct onnxq_tensor *x = ctx->inputs[0];
    struct onnxq_tensor *y = ctx->outputs[0];
    int axis;
    enum onnxq_status st = onnxq_norm_axis(ctx, s->axis, x->ndim, &axis);
    if (st)
        return st;
    size_t outer = 1, n = 1, inner = 1;
    for (int d = 0; d < x->ndim; d++) {
        size_t v = (size_t)x->dims[d];
        if (d < axis)
            outer *= v;
        else if (d == axis || !s->one_axis)
            n *= v;
        else
            inner *= v;
    }
    if (outer * n * inner == 0)
        return ONNXQ_OK;
    if (x->dtype == ONNXQ_DT_FLOAT) {
        struct sm_job j = {s->kind, x->data, y->data, n, inner, (inner + COL_BLOCK - 1) / COL_BLOCK};
        size_t items = inner == 1 ? outer : outer * j.nblk;
        size_t per = n * (inner < COL_BLOCK ? inner : COL_BLOCK) * 4;
        onnxq_parallel_for(ctx, items, chunk_for(per), sm_range, &j);
        return ONNXQ_OK;
    }
    sm_ref(s->kind, x, y, outer, n, inner);
    return ONNXQ_OK;
}
