/* Shape and data movement operators.
 *
 * Data movers work on raw elements of onnxq_dtype_size() bytes, so they are
 * dtype-agnostic. STRING tensors are moved the same way (shallow copies of
 * struct onnxq_bytes) and then own_strings() gives the output its own copy
 * of every byte string.
 *
 * Most movers reduce to one engine, struct xcopy: a contiguous output whose
 * element at multi-index i reads the input at sum(i[d] * istr[d]) (strides
 * may be 0 for broadcast or negative for reversed slices). xcopy coalesces
 * dimensions, copies contiguous inner runs with memcpy, transposes in tiles
 * when the input's contiguous axis is not the output's, and splits the
 * work with onnxq_parallel_for. Each optimised path has a plain reference
 * (xcopy_ref, concat/split/gather/pad *_ref, resize_generic) reachable
 * through onnxq_tx_run_reference for the tests. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/tensor.h"

#define FAIL(ctx, code, ...) onnxq_op_fail((ctx)->err, (ctx)->node, code, __VA_ARGS__)
#define XMAX (2 * ONNXQ_MAX_DIMS)
/* Bytes a parallel task should at least move. */
#define TASK_BYTES ((size_t)1 << 16)

/* ------------------------------------------------------------ helpers */

static size_t min_items(size_t bytes_per_item)
{
    if (!bytes_per_item)
        return TASK_BYTES;
    size_t n = TASK_BYTES / bytes_per_item;
    return n ? n : 1;
}

static const char *shape_str(const int64_t *dims, int nd, char *buf, size_t size)
{
    onnxq_shape_format(dims, nd, buf, size);
    return buf;
}

static void strides_of(const int64_t *dims, int nd, int64_t *str)
{
    int64_t s = 1;
    for (int i = nd - 1; i >= 0; i--) {
        str[i] = s;
        s *= dims[i];
    }
}

/* Product of dims with an overflow check; -1 on overflow or negative dims. */
static int64_t checked_numel(const int64_t *dims, int nd)
{
    return onnxq_shape_numel(dims, nd);
}

/* Give a STRING output its own copies of the byte strings it borrowed. */
static enum onnxq_status own_strings(struct onnxq_op_ctx *ctx, struct onnxq_tensor *t)
{
    if (!t || t->dtype != ONNXQ_DT_STRING || !t->data)
        return ONNXQ_OK;
    struct onnxq_bytes *b = t->data;
    size_t n = onnxq_numel_of(t);
    for (size_t i = 0; i < n; i++) {
        if (!b[i].len) {
            b[i].data = NULL;
            continue;
        }
        uint8_t *p = malloc(b[i].len);
        if (!p) {
            for (size_t j = i; j < n; j++) {
                b[j].len = 0;
                b[j].data = NULL;
            }
            return FAIL(ctx, ONNXQ_E_NOMEM, "out of memory copying strings");
        }
        memcpy(p, b[i].data, b[i].len);
        b[i].data = p;
    }
    return ONNXQ_OK;
}

/* Up to `cap` integers of a 0-D or 1-D int32/int64 input. */
static enum onnxq_status read_ints(const struct onnxq_op_ctx *ctx, size_t slot, const char *what, int64_t *out,
                                   size_t cap, size_t *n)
{
    const struct onnxq_tensor *t = onnxq_opt_in(ctx, slot);
    if (!t)
        return FAIL(ctx, ONNXQ_E_INVALID_MODEL, "input '%s' is missing", what);
    if (t->dtype != ONNXQ_DT_INT64 && t->dtype != ONNXQ_DT_INT32)
        return FAIL(ctx, ONNXQ_E_UNSUPPORTED, "input '%s' has dtype %s; expected int64", what,
                    onnxq_dtype_name(t->dtype));
    if (t->ndim > 1)
        return FAIL(ctx, ONNXQ_E_SHAPE, "input '%s' must be 1-D, not rank %d", what, t->ndim);
    size_t k = onnxq_numel_of(t);
    if (k > cap)
        return FAIL(ctx, ONNXQ_E_SHAPE, "input '%s' has %zu values; at most %zu allowed", what, k, cap);
    for (size_t i = 0; i < k; i++)
        out[i] = onnxq_tensor_get_i64(t, i);
    *n = k;
    return ONNXQ_OK;
}

struct memcpy_job {
    unsigned char *dst;
    const unsigned char *src;
};

static void memcpy_range(void *arg, size_t b, size_t e)
{
    struct memcpy_job *j = arg;
    memcpy(j->dst + b, j->src + b, e - b);
}

static void par_memcpy(struct onnxq_op_ctx *ctx, void *dst, const void *src, size_t n)
{
    if (!n || dst == src)
        return;
    if (n < 4 * TASK_BYTES) {
        memcpy(dst, src, n);
        return;
    }
    struct memcpy_job j = {dst, src};
    onnxq_parallel_for(ctx, n, 4 * TASK_BYTES, memcpy_range, &j);
}

/* Copy src's elements into dst (same element count and dtype). */
static enum onnxq_status copy_elems(struct onnxq_op_ctx *ctx, struct onnxq_tensor *dst,
                                    const struct onnxq_tensor *src)
{
    if (!dst)
        return ONNXQ_OK;
    size_t n = onnxq_numel_of(src) * onnxq_dtype_size(src->dtype);
    if (dst->dtype != src->dtype || onnxq_numel_of(dst) != onnxq_numel_of(src))
        return FAIL(ctx, ONNXQ_E_INTERNAL, "output does not match the input it copies");
    par_memcpy(ctx, dst->data, src->data, n);
    return own_strings(ctx, dst);
}

/* Fill n elements of esz bytes at dst with the element at val. */
static void fill_elems(unsigned char *dst, size_t n, const unsigned char *val, size_t esz)
{
    if (!n)
        return;
    bool zero = true;
    for (size_t i = 0; i < esz && zero; i++)
        zero = val[i] == 0;
    if (zero) {
        memset(dst, 0, n * esz);
        return;
    }
    memcpy(dst, val, esz);
    size_t done = 1;
    while (done < n) {
        size_t k = done < n - done ? done : n - done;
        memcpy(dst + done * esz, dst, k * esz);
        done += k;
    }
}

/* One element of dtype dt holding v (numeric dtypes). */
static void scalar_bytes(enum onnxq_dtype dt, double v, unsigned char *out)
{
    struct onnxq_tensor t;
    memset(&t, 0, sizeof(t));
    t.dtype = dt;
    t.data = out;
    memset(out, 0, 16);
    onnxq_tensor_set_f64(&t, 0, v);
}

void onnxq_tx_free(void *state)
{
    free(state);
}

/* ------------------------------------------------- strided copy engine */

struct xcopy {
    int nd;
    int64_t dims[XMAX];  /* output dims, C order; output is contiguous */
    int64_t istr[XMAX];  /* input stride (elements) per output dim */
    size_t esz;
    const unsigned char *src;  /* input element at output index 0 */
    unsigned char *dst;
    /* tiled transpose: k = output dim with input stride 1 */
    int k;
    int64_t ostr[XMAX];
    int64_t nbj, tile;
};

static inline const unsigned char *at(const unsigned char *p, int64_t off, size_t esz)
{
    return p + (ptrdiff_t)off * (ptrdiff_t)esz;
}

/* dst[i] = src[i * s] for n elements. */
static void copy_strided(unsigned char *dst, const unsigned char *src, int64_t n, int64_t s, size_t esz)
{
    if (s == 1) {
        memcpy(dst, src, (size_t)n * esz);
        return;
    }
    if (s == 0) {
        fill_elems(dst, (size_t)n, src, esz);
        return;
    }
#define STRIDED_(T) \
    do { \
        T v_; \
        for (int64_t i_ = 0; i_ < n; i_++) { \
            memcpy(&v_, at(src, i_ * s, sizeof(T)), sizeof(T)); \
            memcpy(dst + (size_t)i_ * sizeof(T), &v_, sizeof(T)); \
        } \
    } while (0)
    switch (esz) {
    case 1: STRIDED_(uint8_t); break;
    case 2: STRIDED_(uint16_t); break;
    case 4: STRIDED_(uint32_t); break;
    case 8: STRIDED_(uint64_t); break;
    default:
        for (int64_t i = 0; i < n; i++)
            memcpy(dst + (size_t)i * esz, at(src, i * s, esz), esz);
    }
#undef STRIDED_
}

static void xcopy_coalesce(struct xcopy *c)
{
    int n = 0;
    for (int i = 0; i < c->nd; i++) {
        if (c->dims[i] == 1)
            continue;
        if (n > 0 && c->istr[n - 1] == c->istr[i] * c->dims[i]) {
            c->dims[n - 1] *= c->dims[i];
            c->istr[n - 1] = c->istr[i];
        } else {
            c->dims[n] = c->dims[i];
            c->istr[n] = c->istr[i];
            n++;
        }
    }
    c->nd = n;
}

static void xcopy_rows(void *arg, size_t b, size_t e)
{
    const struct xcopy *c = arg;
    int no = c->nd - 1;
    int64_t inner = c->dims[no], s = c->istr[no];
    int64_t idx[XMAX], off = 0;
    size_t r = b;
    for (int d = no - 1; d >= 0; d--) {
        idx[d] = (int64_t)(r % (size_t)c->dims[d]);
        r /= (size_t)c->dims[d];
        off += idx[d] * c->istr[d];
    }
    size_t rowbytes = (size_t)inner * c->esz;
    for (size_t row = b; row < e; row++) {
        copy_strided(c->dst + row * rowbytes, at(c->src, off, c->esz), inner, s, c->esz);
        for (int d = no - 1; d >= 0; d--) {
            off += c->istr[d];
            if (++idx[d] < c->dims[d])
                break;
            off -= c->istr[d] * c->dims[d];
            idx[d] = 0;
        }
    }
}

/* Tiles of output dims (k, last): reads run along k (input stride 1),
 * writes along the last dim (output stride 1). */
static void xcopy_tiles(void *arg, size_t b, size_t e)
{
    const struct xcopy *c = arg;
    int n = c->nd - 1, k = c->k;
    int64_t inner = c->dims[n], s = c->istr[n], J = c->dims[k], ok = c->ostr[k], T = c->tile;
    size_t esz = c->esz;
    for (size_t item = b; item < e; item++) {
        int64_t jb = (int64_t)(item % (size_t)c->nbj);
        size_t rest = item / (size_t)c->nbj;
        int64_t soff = 0, doff = 0;
        for (int d = n - 1; d >= 0; d--) {
            if (d == k)
                continue;
            int64_t i = (int64_t)(rest % (size_t)c->dims[d]);
            rest /= (size_t)c->dims[d];
            soff += i * c->istr[d];
            doff += i * c->ostr[d];
        }
        int64_t j0 = jb * T, j1 = j0 + T < J ? j0 + T : J;
        for (int64_t i0 = 0; i0 < inner; i0 += T) {
            int64_t i1 = i0 + T < inner ? i0 + T : inner;
/* 8x8 micro-blocks through a local buffer: 8 contiguous reads along j,
 * then 8 contiguous writes along i, so neither side strides through
 * memory one element at a time (large power-of-two strides would thrash
 * the cache sets). */
#define TILE_(TY) \
    do { \
        TY blk_[8][8], row_[8]; \
        for (int64_t ib = i0; ib < i1; ib += 8) { \
            int64_t ni = i1 - ib < 8 ? i1 - ib : 8; \
            for (int64_t jj = j0; jj < j1; jj += 8) { \
                int64_t nj = j1 - jj < 8 ? j1 - jj : 8; \
                for (int64_t a = 0; a < ni; a++) { \
                    const unsigned char *sp = at(c->src, soff + jj + (ib + a) * s, sizeof(TY)); \
                    if (nj == 8) \
                        memcpy(blk_[a], sp, 8 * sizeof(TY)); \
                    else \
                        memcpy(blk_[a], sp, (size_t)nj * sizeof(TY)); \
                } \
                for (int64_t bj = 0; bj < nj; bj++) { \
                    unsigned char *dp = c->dst + (size_t)(doff + (jj + bj) * ok + ib) * sizeof(TY); \
                    if (ni == 8) { \
                        for (int a = 0; a < 8; a++) \
                            row_[a] = blk_[a][bj]; \
                        memcpy(dp, row_, 8 * sizeof(TY)); \
                    } else { \
                        for (int64_t a = 0; a < ni; a++) \
                            row_[a] = blk_[a][bj]; \
                        memcpy(dp, row_, (size_t)ni * sizeof(TY)); \
                    } \
                } \
            } \
        } \
    } while (0)
            switch (esz) {
            case 1: TILE_(uint8_t); break;
            case 2: TILE_(uint16_t); break;
            case 4: TILE_(uint32_t); break;
            case 8: TILE_(uint64_t); break;
            default:
                for (int64_t j = j0; j < j1; j++)
                    for (int64_t i = i0; i < i1; i++)
                        memcpy(c->dst + (size_t)(doff + j * ok + i) * esz, at(c->src, soff + j + i * s, esz), esz);
            }
#undef TILE_
        }
    }
}

/* Plain reference: one element at a time, no coalescing, no threads. */
static void xcopy_ref(const struct xcopy *c)
{
    int64_t total = checked_numel(c->dims, c->nd);
    int64_t idx[XMAX] = {0}, off = 0;
    for (int64_t p = 0; p < total; p++) {
        memcpy(c->dst + (size_t)p * c->esz, at(c->src, off, c->esz), c->esz);
        for (int d = c->nd - 1; d >= 0; d--) {
            off += c->istr[d];
            if (++idx[d] < c->dims[d])
                break;
            off -= c->istr[d] * c->dims[d];
            idx[d] = 0;
        }
    }
}

static void xcopy_run(struct onnxq_op_ctx *ctx, struct xcopy *c, bool ref)
{
    int64_t total = checked_numel(c->dims, c->nd);
    if (total <= 0)
        return;
    if (ref) {
        xcopy_ref(c);
        return;
    }
    xcopy_coalesce(c);
    if (c->nd == 0) {
        memcpy(c->dst, c->src, c->esz);
        return;
    }
    int n = c->nd - 1;
    int64_t inner = c->dims[n], s = c->istr[n];
    c->k = -1;
    if (s != 1 && s != 0 && inner >= 4) {
        for (int d = 0; d < n; d++)
            if (c->istr[d] == 1 && c->dims[d] >= 4)
                c->k = d;
    }
    if (c->k >= 0) {
        strides_of(c->dims, c->nd, c->ostr);
        c->tile = c->esz <= 4 ? 32 : 16;
        c->nbj = (c->dims[c->k] + c->tile - 1) / c->tile;
        size_t items = (size_t)(total / (c->dims[c->k] * inner)) * (size_t)c->nbj;
        onnxq_parallel_for(ctx, items, min_items((size_t)(c->tile * inner) * c->esz), xcopy_tiles, c);
        return;
    }
    size_t rows = (size_t)(total / inner);
    onnxq_parallel_for(ctx, rows, min_items((size_t)inner * c->esz), xcopy_rows, c);
}

/* --------------------------------------------------- copy-through ops */

/* Ops that only move values report their input's statistics for them (to
 * `first`, which stands for `count` values of the output) without reading
 * them, when the executor asks and knows the input's. */
static void report_moved(struct onnxq_op_ctx *ctx, size_t in, const float *first, size_t count)
{
    const struct onnxq_vstats *st = ctx->stats && ctx->in_stats ? ctx->in_stats[in] : NULL;
    if (st && ctx->outputs[0]->dtype == ONNXQ_DT_FLOAT && st->finite + st->nan + st->inf == count) {
        struct onnxq_vstats moved = *st;
        moved.captured = 0; /* nothing of this output was copied */
        onnxq_vstats_sink_put(ctx->stats, first, count, &moved);
    }
}

static void report_same(struct onnxq_op_ctx *ctx)
{
    struct onnxq_tensor *y = ctx->outputs[0];
    report_moved(ctx, 0, y->data, (size_t)onnxq_numel_of(y));
}

enum onnxq_status onnxq_tx_copy_run(void *state, struct onnxq_op_ctx *ctx)
{
    (void)state;
    enum onnxq_status st = copy_elems(ctx, ctx->outputs[0], ctx->inputs[0]);
    if (!st)
        report_same(ctx);
    return st;
}

enum onnxq_status onnxq_tx_identity_shape(void *state, struct onnxq_op_ctx *ctx)
{
    (void)state;
    enum onnxq_status st = onnxq_need_input(ctx, 0);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    onnxq_out_shape(ctx->outputs[0], x->dtype, x->ndim, x->dims);
    return ONNXQ_OK;
}

/* Reshape-1 takes the shape as an attribute; 5+ as input 1; 14 adds allowzero. */
struct reshape_state {
    bool allowzero;
    bool from_attr;
    size_t n;
    int64_t shape[ONNXQ_MAX_DIMS];
};

enum onnxq_status onnxq_tx_reshape_init(struct onnxq_op_init *ictx, void **state)
{
    struct reshape_state *s = calloc(1, sizeof(*s));
    if (!s)
        return onnxq_fail(ictx->err, ONNXQ_E_NOMEM, "out of memory");
    s->allowzero = ictx->opset >= 14 && onnxq_attr_int(ictx->node, "allowzero", 0) != 0;
    if (ictx->opset < 5) {
        size_t n = 0;
        const int64_t *v = onnxq_attr_ints(ictx->node, "shape", &n);
        if (!v || n > ONNXQ_MAX_DIMS) {
            free(s);
            return onnxq_op_fail(ictx->err, ictx->node, ONNXQ_E_INVALID_MODEL,
                                 "attribute 'shape' is missing or has more than %d values", ONNXQ_MAX_DIMS);
        }
        s->from_attr = true;
        s->n = n;
        memcpy(s->shape, v, n * sizeof(int64_t));
    }
    *state = s;
    return ONNXQ_OK;
}

enum onnxq_status onnxq_tx_reshape_shape(void *state, struct onnxq_op_ctx *ctx)
{
    struct reshape_state *s = state;
    enum onnxq_status st = onnxq_need_input(ctx, 0);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    int64_t want[ONNXQ_MAX_DIMS], out[ONNXQ_MAX_DIMS];
    size_t n = s->n;
    if (s->from_attr)
        memcpy(want, s->shape, n * sizeof(int64_t));
    else if ((st = read_ints(ctx, 1, "shape", want, ONNXQ_MAX_DIMS, &n)))
        return st;
    int neg = -1;
    int64_t known = 1, total = onnxq_tensor_numel(x);
    char a[200], b[200];
    for (size_t i = 0; i < n; i++) {
        int64_t v = want[i];
        if (v == 0 && !s->allowzero) {
            if ((int)i >= x->ndim)
                return FAIL(ctx, ONNXQ_E_SHAPE, "shape %s copies dim %zu (0) but the input %s has rank %d",
                            shape_str(want, (int)n, a, sizeof(a)), i, shape_str(x->dims, x->ndim, b, sizeof(b)),
                            x->ndim);
            v = x->dims[i];
        }
        if (v == -1) {
            if (neg >= 0)
                return FAIL(ctx, ONNXQ_E_SHAPE, "shape %s has more than one -1",
                            shape_str(want, (int)n, a, sizeof(a)));
            neg = (int)i;
            out[i] = 1;
            continue;
        }
        if (v < 0)
            return FAIL(ctx, ONNXQ_E_SHAPE, "shape %s has an invalid dim %lld", shape_str(want, (int)n, a, sizeof(a)),
                        (long long)v);
        out[i] = v;
        if (v && known > INT64_MAX / v)
            return FAIL(ctx, ONNXQ_E_SHAPE, "shape %s is too large", shape_str(want, (int)n, a, sizeof(a)));
        known *= v;
    }
    if (neg >= 0) {
        if (known == 0) {
            if (total != 0)
                return FAIL(ctx, ONNXQ_E_SHAPE, "cannot infer the -1 in shape %s for input %s",
                            shape_str(want, (int)n, a, sizeof(a)), shape_str(x->dims, x->ndim, b, sizeof(b)));
            out[neg] = 0;
        } else {
            if (total % known)
                return FAIL(ctx, ONNXQ_E_SHAPE, "cannot reshape input %s to %s",
                            shape_str(x->dims, x->ndim, b, sizeof(b)), shape_str(want, (int)n, a, sizeof(a)));
            out[neg] = total / known;
        }
    } else if (known != total) {
        return FAIL(ctx, ONNXQ_E_SHAPE, "cannot reshape input %s (%lld elements) to %s",
                    shape_str(x->dims, x->ndim, b, sizeof(b)), (long long)total,
                    shape_str(want, (int)n, a, sizeof(a)));
    }
    onnxq_out_shape(ctx->outputs[0], x->dtype, (int)n, out);
    return ONNXQ_OK;
}

struct axis_state {
    int64_t opset;
    int64_t axis;
    bool has_axes;
    size_t n_axes;
    int64_t axes[ONNXQ_MAX_DIMS];
};

enum onnxq_status onnxq_tx_flatten_init(struct onnxq_op_init *ictx, void **state)
{
    struct axis_state *s = calloc(1, sizeof(*s));
    if (!s)
        return onnxq_fail(ictx->err, ONNXQ_E_NOMEM, "out of memory");
    s->axis = onnxq_attr_int(ictx->node, "axis", 1);
    *state = s;
    return ONNXQ_OK;
}

enum onnxq_status onnxq_tx_flatten_shape(void *state, struct onnxq_op_ctx *ctx)
{
    struct axis_state *s = state;
    enum onnxq_status st = onnxq_need_input(ctx, 0);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    int64_t a = s->axis < 0 ? s->axis + x->ndim : s->axis;
    if (a < 0 || a > x->ndim)
        return FAIL(ctx, ONNXQ_E_SHAPE, "axis %lld is out of range for rank %d", (long long)s->axis, x->ndim);
    int64_t d[2] = {1, 1};
    for (int i = 0; i < x->ndim; i++)
        d[i < a ? 0 : 1] *= x->dims[i];
    onnxq_out_shape(ctx->outputs[0], x->dtype, 2, d);
    return ONNXQ_OK;
}

/* Squeeze/Unsqueeze: axes attribute before opset 13, input 1 from 13. */
static enum onnxq_status axes_init(struct onnxq_op_init *ictx, void **state)
{
    struct axis_state *s = calloc(1, sizeof(*s));
    if (!s)
        return onnxq_fail(ictx->err, ONNXQ_E_NOMEM, "out of memory");
    s->opset = ictx->opset;
    if (ictx->opset < 13) {
        size_t n = 0;
        const int64_t *v = onnxq_attr_ints(ictx->node, "axes", &n);
        if (v) {
            if (n > ONNXQ_MAX_DIMS) {
                free(s);
                return onnxq_op_fail(ictx->err, ictx->node, ONNXQ_E_UNSUPPORTED, "too many axes (%zu)", n);
            }
            s->has_axes = true;
            s->n_axes = n;
            memcpy(s->axes, v, n * sizeof(int64_t));
        }
    }
    *state = s;
    return ONNXQ_OK;
}

/* Squeeze/Unsqueeze: the data input and the axes, an attribute before
 * opset 13 and the optional input 1 from 13 (has: axes were given). */
static enum onnxq_status get_axes(const struct axis_state *s, const struct onnxq_op_ctx *ctx,
                                  const struct onnxq_tensor **x, int64_t *axes, size_t *n, bool *has)
{
    enum onnxq_status st = onnxq_need_input(ctx, 0);
    if (st)
        return st;
    *x = ctx->inputs[0];
    if (s->opset < 13) {
        *has = s->has_axes;
        *n = s->n_axes;
        memcpy(axes, s->axes, s->n_axes * sizeof(int64_t));
        return ONNXQ_OK;
    }
    *has = onnxq_opt_in(ctx, 1) != NULL;
    *n = 0;
    if (!*has)
        return ONNXQ_OK;
    return read_ints(ctx, 1, "axes", axes, ONNXQ_MAX_DIMS, n);
}

enum onnxq_status onnxq_tx_squeeze_init(struct onnxq_op_init *ictx, void **state)
{
    return axes_init(ictx, state);
}

enum onnxq_status onnxq_tx_squeeze_shape(void *state, struct onnxq_op_ctx *ctx)
{
    const struct onnxq_tensor *x;
    int64_t axes[ONNXQ_MAX_DIMS];
    size_t n = 0;
    bool has;
    enum onnxq_status st = get_axes(state, ctx, &x, axes, &n, &has);
    if (st)
        return st;
    bool drop[ONNXQ_MAX_DIMS] = {false};
    char b[200];
    if (!has || n == 0) {  /* empty axes: like onnxruntime, every 1 goes */
        for (int i = 0; i < x->ndim; i++)
            drop[i] = x->dims[i] == 1;
    } else {
        for (size_t i = 0; i < n; i++) {
            int a;
            if ((st = onnxq_norm_axis(ctx, axes[i], x->ndim, &a)))
                return st;
            if (x->dims[a] != 1)
                return FAIL(ctx, ONNXQ_E_SHAPE, "cannot squeeze axis %lld of input %s: its size is not 1",
                            (long long)axes[i], shape_str(x->dims, x->ndim, b, sizeof(b)));
            drop[a] = true;
        }
    }
    int64_t out[ONNXQ_MAX_DIMS];
    int nd = 0;
    for (int i = 0; i < x->ndim; i++)
        if (!drop[i])
            out[nd++] = x->dims[i];
    onnxq_out_shape(ctx->outputs[0], x->dtype, nd, out);
    return ONNXQ_OK;
}

enum onnxq_status onnxq_tx_unsqueeze_init(struct onnxq_op_init *ictx, void **state)
{
    return axes_init(ictx, state);
}

enum onnxq_status onnxq_tx_unsqueeze_shape(void *state, struct onnxq_op_ctx *ctx)
{
    const struct onnxq_tensor *x;
    int64_t axes[ONNXQ_MAX_DIMS];
    size_t n = 0;
    bool has;
    enum onnxq_status st = get_axes(state, ctx, &x, axes, &n, &has);
    if (st)
        return st;
    if (!has)
        return FAIL(ctx, ONNXQ_E_INVALID_MODEL, "axes are missing");
    int nd = x->ndim + (int)n;
    if (nd > ONNXQ_MAX_DIMS)
        return FAIL(ctx, ONNXQ_E_UNSUPPORTED, "output rank %d exceeds %d", nd, ONNXQ_MAX_DIMS);
    bool ins[ONNXQ_MAX_DIMS] = {false};
    for (size_t i = 0; i < n; i++) {
        int a;
        if ((st = onnxq_norm_axis(ctx, axes[i], nd, &a)))
            return st;
        if (ins[a])
            return FAIL(ctx, ONNXQ_E_SHAPE, "axis %lld is repeated", (long long)axes[i]);
        ins[a] = true;
    }
    int64_t out[ONNXQ_MAX_DIMS];
    for (int i = 0, k = 0; i < nd; i++)
        out[i] = ins[i] ? 1 : x->dims[k++];
    onnxq_out_shape(ctx->outputs[0], x->dtype, nd, out);
    return ONNXQ_OK;
}

/* Dropout in inference: output = input, mask = all true. Training mode
 * (opset 12+ input 2) with a non-zero ratio is random: unsupported. */
/* State of an op whose semantics depend only on the opset (Dropout, Tile). */
struct opset_state {
    int64_t opset;
};

static enum onnxq_status opset_state_init(struct onnxq_op_init *ictx, void **state)
{
    struct opset_state *s = calloc(1, sizeof(*s));
    if (!s)
        return onnxq_fail(ictx->err, ONNXQ_E_NOMEM, "out of memory");
    s->opset = ictx->opset;
    *state = s;
    return ONNXQ_OK;
}

enum onnxq_status onnxq_tx_dropout_init(struct onnxq_op_init *ictx, void **state)
{
    return opset_state_init(ictx, state);
}

enum onnxq_status onnxq_tx_dropout_shape(void *state, struct onnxq_op_ctx *ctx)
{
    struct opset_state *s = state;
    enum onnxq_status st = onnxq_need_input(ctx, 0);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    const struct onnxq_tensor *t = onnxq_opt_in(ctx, 2);
    if (s->opset >= 12 && t) {
        if (t->dtype != ONNXQ_DT_BOOL || onnxq_numel_of(t) != 1)
            return FAIL(ctx, ONNXQ_E_SHAPE, "training_mode must be a bool scalar");
        const struct onnxq_tensor *r = onnxq_opt_in(ctx, 1);
        double ratio = 0.5;
        if (r && onnxq_numel_of(r) >= 1)
            ratio = onnxq_tensor_get_f64(r, 0);
        if (((const uint8_t *)t->data)[0] && ratio != 0.0)
            return FAIL(ctx, ONNXQ_E_UNSUPPORTED, "training mode with ratio %g is random; onnxq runs inference only",
                        ratio);
    }
    onnxq_out_shape(ctx->outputs[0], x->dtype, x->ndim, x->dims);
    if (ctx->n_outputs > 1)
        onnxq_out_shape(ctx->outputs[1], s->opset < 10 ? x->dtype : ONNXQ_DT_BOOL, x->ndim, x->dims);
    return ONNXQ_OK;
}

enum onnxq_status onnxq_tx_dropout_run(void *state, struct onnxq_op_ctx *ctx)
{
    (void)state;
    enum onnxq_status st = copy_elems(ctx, ctx->outputs[0], ctx->inputs[0]);
    if (st || ctx->n_outputs < 2 || !ctx->outputs[1])
        return st;
    struct onnxq_tensor *m = ctx->outputs[1];
    size_t n = onnxq_numel_of(m);
    if (m->dtype == ONNXQ_DT_BOOL) {
        if (n)
            memset(m->data, 1, n);
        return ONNXQ_OK;
    }
    if (m->dtype == ONNXQ_DT_STRING)
        return FAIL(ctx, ONNXQ_E_UNSUPPORTED, "a string mask is not supported");
    unsigned char one[16];
    scalar_bytes(m->dtype, 1.0, one);
    fill_elems(m->data, n, one, onnxq_dtype_size(m->dtype));
    return ONNXQ_OK;
}

/* ----------------------------------------------------------- Transpose */

struct perm_state {
    bool has_perm;
    size_t n;
    int64_t perm[ONNXQ_MAX_DIMS];
};

enum onnxq_status onnxq_tx_transpose_init(struct onnxq_op_init *ictx, void **state)
{
    struct perm_state *s = calloc(1, sizeof(*s));
    if (!s)
        return onnxq_fail(ictx->err, ONNXQ_E_NOMEM, "out of memory");
    size_t n = 0;
    const int64_t *p = onnxq_attr_ints(ictx->node, "perm", &n);
    if (p) {
        if (n > ONNXQ_MAX_DIMS) {
            free(s);
            return onnxq_op_fail(ictx->err, ictx->node, ONNXQ_E_UNSUPPORTED, "perm has %zu entries", n);
        }
        s->has_perm = true;
        s->n = n;
        memcpy(s->perm, p, n * sizeof(int64_t));
    }
    *state = s;
    return ONNXQ_OK;
}

static enum onnxq_status get_perm(const struct perm_state *s, const struct onnxq_op_ctx *ctx, int *perm)
{
    const struct onnxq_tensor *x = ctx->inputs[0];
    int r = x->ndim;
    if (!s->has_perm) {
        for (int i = 0; i < r; i++)
            perm[i] = r - 1 - i;
        return ONNXQ_OK;
    }
    if ((int)s->n != r)
        return FAIL(ctx, ONNXQ_E_SHAPE, "perm has %zu entries but the input has rank %d", s->n, r);
    bool seen[ONNXQ_MAX_DIMS] = {false};
    for (int i = 0; i < r; i++) {
        int64_t p = s->perm[i] < 0 ? s->perm[i] + r : s->perm[i];
        if (p < 0 || p >= r || seen[p])
            return FAIL(ctx, ONNXQ_E_SHAPE, "perm is not a permutation of 0..%d", r - 1);
        seen[p] = true;
        perm[i] = (int)p;
    }
    return ONNXQ_OK;
}

enum onnxq_status onnxq_tx_transpose_shape(void *state, struct onnxq_op_ctx *ctx)
{
    enum onnxq_status st = onnxq_need_input(ctx, 0);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    int perm[ONNXQ_MAX_DIMS];
    if ((st = get_perm(state, ctx, perm)))
        return st;
    int64_t out[ONNXQ_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++)
        out[i] = x->dims[perm[i]];
    onnxq_out_shape(ctx->outputs[0], x->dtype, x->ndim, out);
    return ONNXQ_OK;
}

static enum onnxq_status transpose_impl(void *state, struct onnxq_op_ctx *ctx, bool ref)
{
    const struct onnxq_tensor *x = ctx->inputs[0];
    struct onnxq_tensor *y = ctx->outputs[0];
    int perm[ONNXQ_MAX_DIMS];
    enum onnxq_status st = get_perm(state, ctx, perm);
    if (st)
        return st;
    int64_t str[ONNXQ_MAX_DIMS];
    strides_of(x->dims, x->ndim, str);
    struct xcopy c = {.nd = x->ndim, .esz = onnxq_dtype_size(x->dtype), .src = x->data, .dst = y->data};
    for (int i = 0; i < x->ndim; i++) {
        c.dims[i] = x->dims[perm[i]];
        c.istr[i] = str[perm[i]];
    }
    xcopy_run(ctx, &c, ref);
    return own_strings(ctx, y);
}

enum onnxq_status onnxq_tx_transpose_run(void *state, struct onnxq_op_ctx *ctx)
{
    enum onnxq_status st = transpose_impl(state, ctx, false);
    if (!st)
        report_same(ctx);
    return st;
}

/* -------------------------------------------------------------- Concat */

struct concat_state {
    int64_t axis;
    bool has_axis;
};

enum onnxq_status onnxq_tx_concat_init(struct onnxq_op_init *ictx, void **state)
{
    struct concat_state *s = calloc(1, sizeof(*s));
    if (!s)
        return onnxq_fail(ictx->err, ONNXQ_E_NOMEM, "out of memory");
    s->has_axis = onnxq_attr_has(ictx->node, "axis");
    s->axis = onnxq_attr_int(ictx->node, "axis", 1);  /* opset 1 default */
    if (!s->has_axis && ictx->opset >= 4) {
        free(s);
        return onnxq_op_fail(ictx->err, ictx->node, ONNXQ_E_INVALID_MODEL, "attribute 'axis' is missing");
    }
    *state = s;
    return ONNXQ_OK;
}

enum onnxq_status onnxq_tx_concat_shape(void *state, struct onnxq_op_ctx *ctx)
{
    struct concat_state *s = state;
    enum onnxq_status st = onnxq_need_input(ctx, 0);
    if (st)
        return st;
    const struct onnxq_tensor *x0 = ctx->inputs[0];
    int axis;
    if ((st = onnxq_norm_axis(ctx, s->axis, x0->ndim, &axis)))
        return st;
    if (x0->ndim == 0)
        return FAIL(ctx, ONNXQ_E_SHAPE, "cannot concatenate scalars");
    int64_t out[ONNXQ_MAX_DIMS];
    memcpy(out, x0->dims, (size_t)x0->ndim * sizeof(int64_t));
    out[axis] = 0;
    char a[200], b[200];
    for (size_t i = 0; i < ctx->n_inputs; i++) {
        const struct onnxq_tensor *x = ctx->inputs[i];
        if (!x)
            return FAIL(ctx, ONNXQ_E_INVALID_MODEL, "input #%zu is missing", i);
        if (x->dtype != x0->dtype)
            return FAIL(ctx, ONNXQ_E_SHAPE, "input '%s' has dtype %s, input '%s' %s", ctx->node->inputs[i],
                        onnxq_dtype_name(x->dtype), ctx->node->inputs[0], onnxq_dtype_name(x0->dtype));
        bool ok = x->ndim == x0->ndim;
        for (int d = 0; ok && d < x->ndim; d++)
            ok = d == axis || x->dims[d] == x0->dims[d];
        if (!ok)
            return FAIL(ctx, ONNXQ_E_SHAPE, "input '%s' %s does not match input '%s' %s outside axis %d",
                        ctx->node->inputs[i], shape_str(x->dims, x->ndim, a, sizeof(a)), ctx->node->inputs[0],
                        shape_str(x0->dims, x0->ndim, b, sizeof(b)), axis);
        out[axis] += x->dims[axis];
    }
    onnxq_out_shape(ctx->outputs[0], x0->dtype, x0->ndim, out);
    return ONNXQ_OK;
}

/* Output (or input, for Split) viewed as [outer][piece_0 | piece_1 | ...]:
 * `block` elements per outer index, piece i at offset prefix[i]. */
struct pieces {
    size_t n;
    size_t esz;
    size_t block;
    size_t *piece, *prefix;
    const unsigned char **src;  /* Concat: inputs */
    unsigned char **dst;        /* Split: outputs */
    unsigned char *whole_dst;   /* Concat: output */
    const unsigned char *whole_src; /* Split: input */
    size_t cur;                 /* Split: the output being filled */
    size_t l_piece[16], l_prefix[16];
    const unsigned char *l_src[16];
    unsigned char *l_dst[16];
};

static void concat_range(void *arg, size_t b, size_t e)
{
    const struct pieces *p = arg;
    size_t pos = b, i = 0;
    while (pos < e) {
        size_t o = pos / p->block, r = pos % p->block;
        if (r < p->prefix[i] || r >= p->prefix[i] + p->piece[i]) {
            i = 0;
            while (r >= p->prefix[i] + p->piece[i])
                i++;
        }
        size_t off = r - p->prefix[i];
        size_t cnt = p->piece[i] - off;
        if (cnt > e - pos)
            cnt = e - pos;
        memcpy(p->whole_dst + pos * p->esz, p->src[i] + (o * p->piece[i] + off) * p->esz, cnt * p->esz);
        pos += cnt;
        i = i + 1 < p->n ? i + 1 : 0;
    }
}

static void split_range(void *arg, size_t b, size_t e)
{
    const struct pieces *p = arg;
    size_t j = p->cur, w = p->piece[j];
    size_t pos = b;
    while (pos < e) {
        size_t o = pos / w, off = pos % w;
        size_t cnt = w - off;
        if (cnt > e - pos)
            cnt = e - pos;
        memcpy(p->dst[j] + pos * p->esz, p->whole_src + (o * p->block + p->prefix[j] + off) * p->esz, cnt * p->esz);
        pos += cnt;
    }
}

/* Small counts (the usual case) live in the struct: no allocation. */
#define PIECES_LOCAL 16

static bool pieces_alloc(struct pieces *p, size_t n)
{
    p->n = n;
    if (n <= PIECES_LOCAL) {
        p->piece = p->l_piece;
        p->prefix = p->l_prefix;
        p->src = p->l_src;
        p->dst = p->l_dst;
        memset(p->l_piece, 0, sizeof(p->l_piece));
        memset(p->l_prefix, 0, sizeof(p->l_prefix));
        return true;
    }
    p->piece = calloc(n, sizeof(size_t));
    p->prefix = calloc(n, sizeof(size_t));
    p->src = calloc(n, sizeof(*p->src));
    p->dst = calloc(n, sizeof(*p->dst));
    return p->piece && p->prefix && p->src && p->dst;
}

static void pieces_free(struct pieces *p)
{
    if (p->piece == p->l_piece)
        return;
    free(p->piece);
    free(p->prefix);
    free(p->src);
    free(p->dst);
}

static enum onnxq_status concat_impl(void *state, struct onnxq_op_ctx *ctx, bool ref)
{
    struct concat_state *s = state;
    struct onnxq_tensor *y = ctx->outputs[0];
    int axis;
    enum onnxq_status st = onnxq_norm_axis(ctx, s->axis, y->ndim, &axis);
    if (st)
        return st;
    size_t outer = 1, inner = 1;
    for (int d = 0; d < axis; d++)
        outer *= (size_t)y->dims[d];
    for (int d = axis + 1; d < y->ndim; d++)
        inner *= (size_t)y->dims[d];
    struct pieces p = {.esz = onnxq_dtype_size(y->dtype), .whole_dst = y->data};
    if (!pieces_alloc(&p, ctx->n_inputs)) {
        pieces_free(&p);
        return FAIL(ctx, ONNXQ_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < p.n; i++) {
        p.piece[i] = (size_t)ctx->inputs[i]->dims[axis] * inner;
        p.prefix[i] = p.block;
        p.block += p.piece[i];
        p.src[i] = ctx->inputs[i]->data;
    }
    size_t total = outer * p.block;
    if (total) {
        if (ref) {
            for (size_t o = 0; o < outer; o++)
                for (size_t i = 0; i < p.n; i++)
                    for (size_t k = 0; k < p.piece[i]; k++)
                        memcpy(p.whole_dst + (o * p.block + p.prefix[i] + k) * p.esz,
                               p.src[i] + (o * p.piece[i] + k) * p.esz, p.esz);
        } else {
            onnxq_parallel_for(ctx, total, min_items(p.esz), concat_range, &p);
            /* input i's values start at prefix[i] in the output */
            for (size_t i = 0; ctx->stats && y->dtype == ONNXQ_DT_FLOAT && i < p.n; i++)
                report_moved(ctx, i, (const float *)(const void *)p.whole_dst + p.prefix[i], outer * p.piece[i]);
        }
    }
    pieces_free(&p);
    return own_strings(ctx, y);
}

enum onnxq_status onnxq_tx_concat_run(void *state, struct onnxq_op_ctx *ctx)
{
    return concat_impl(state, ctx, false);
}

/* --------------------------------------------------------------- Split */

struct split_state {
    int64_t opset;
    int64_t axis;
    int64_t num_outputs;  /* 0 = not given */
    size_t n_split;
    int64_t *split;       /* attribute (opset < 13), or NULL */
};

void onnxq_tx_split_fini(void *state)
{
    struct split_state *s = state;
    if (s) {
        free(s->split);
        free(s);
    }
}

enum onnxq_status onnxq_tx_split_init(struct onnxq_op_init *ictx, void **state)
{
    struct split_state *s = calloc(1, sizeof(*s));
    if (!s)
        return onnxq_fail(ictx->err, ONNXQ_E_NOMEM, "out of memory");
    s->opset = ictx->opset;
    s->axis = onnxq_attr_int(ictx->node, "axis", 0);
    if (ictx->opset >= 18)
        s->num_outputs = onnxq_attr_int(ictx->node, "num_outputs", 0);
    if (ictx->opset < 13) {
        size_t n = 0;
        const int64_t *v = onnxq_attr_ints(ictx->node, "split", &n);
        if (v) {
            s->split = malloc((n ? n : 1) * sizeof(int64_t));
            if (!s->split) {
                free(s);
                return onnxq_fail(ictx->err, ONNXQ_E_NOMEM, "out of memory");
            }
            memcpy(s->split, v, n * sizeof(int64_t));
            s->n_split = n;
        }
    }
    *state = s;
    return ONNXQ_OK;
}

/* Size of every output along the axis (sizes has n_outputs entries). */
static enum onnxq_status split_sizes(const struct split_state *s, const struct onnxq_op_ctx *ctx, int axis,
                                     int64_t *sizes)
{
    const struct onnxq_tensor *x = ctx->inputs[0];
    size_t n = ctx->n_outputs;
    int64_t dim = x->dims[axis];
    const struct onnxq_tensor *sp = (s->opset >= 13 || s->opset == 1) ? onnxq_opt_in(ctx, 1) : NULL;
    if (sp && onnxq_numel_of(sp) == 0 && s->opset >= 13)
        sp = NULL;
    if (sp) {
        /* Split-1's optional 'split' input has the data's type (T: a float
         * type); later versions take int64 */
        bool fl = s->opset == 1 && (sp->dtype == ONNXQ_DT_FLOAT || sp->dtype == ONNXQ_DT_DOUBLE ||
                                    sp->dtype == ONNXQ_DT_FLOAT16);
        if (sp->dtype != ONNXQ_DT_INT64 && sp->dtype != ONNXQ_DT_INT32 && !fl)
            return FAIL(ctx, ONNXQ_E_UNSUPPORTED, "input 'split' has dtype %s", onnxq_dtype_name(sp->dtype));
        if (onnxq_numel_of(sp) != n)
            return FAIL(ctx, ONNXQ_E_SHAPE, "input 'split' has %zu values for %zu outputs", onnxq_numel_of(sp), n);
        for (size_t i = 0; i < n; i++) {
            if (!fl) {
                sizes[i] = onnxq_tensor_get_i64(sp, i);
                continue;
            }
            double v = onnxq_tensor_get_f64(sp, i);
            if (!(v >= 0 && v <= (double)dim && v == floor(v)))
                return FAIL(ctx, ONNXQ_E_SHAPE, "input 'split' value %g is not a length along the axis (0..%lld)", v,
                            (long long)dim);
            sizes[i] = (int64_t)v;
        }
    } else if (s->split) {
        if (s->n_split != n)
            return FAIL(ctx, ONNXQ_E_SHAPE, "attribute 'split' has %zu values for %zu outputs", s->n_split, n);
        memcpy(sizes, s->split, n * sizeof(int64_t));
    } else if (s->num_outputs > 0) {
        if ((size_t)s->num_outputs != n)
            return FAIL(ctx, ONNXQ_E_SHAPE, "num_outputs is %lld but the node has %zu outputs",
                        (long long)s->num_outputs, n);
        int64_t chunk = (dim + s->num_outputs - 1) / s->num_outputs;
        for (size_t i = 0; i < n; i++) {
            int64_t left = dim - chunk * (int64_t)i;
            sizes[i] = left < 0 ? 0 : (left < chunk ? left : chunk);
        }
    } else {
        if (!n || dim % (int64_t)n)
            return FAIL(ctx, ONNXQ_E_SHAPE, "axis %d of size %lld cannot be split evenly into %zu outputs", axis,
                        (long long)dim, n);
        for (size_t i = 0; i < n; i++)
            sizes[i] = dim / (int64_t)n;
    }
    int64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (sizes[i] < 0)
            return FAIL(ctx, ONNXQ_E_SHAPE, "split size %lld is negative", (long long)sizes[i]);
        sum += sizes[i];
    }
    if (sum != dim)
        return FAIL(ctx, ONNXQ_E_SHAPE, "split sizes add up to %lld, but axis %d has size %lld", (long long)sum, axis,
                    (long long)dim);
    return ONNXQ_OK;
}

enum onnxq_status onnxq_tx_split_shape(void *state, struct onnxq_op_ctx *ctx)
{
    struct split_state *s = state;
    enum onnxq_status st = onnxq_need_input(ctx, 0);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    int axis;
    if ((st = onnxq_norm_axis(ctx, s->axis, x->ndim, &axis)))
        return st;
    if (x->ndim == 0)
        return FAIL(ctx, ONNXQ_E_SHAPE, "cannot split a scalar");
    int64_t *sizes = malloc((ctx->n_outputs ? ctx->n_outputs : 1) * sizeof(int64_t));
    if (!sizes)
        return FAIL(ctx, ONNXQ_E_NOMEM, "out of memory");
    if (!(st = split_sizes(s, ctx, axis, sizes))) {
        int64_t d[ONNXQ_MAX_DIMS];
        memcpy(d, x->dims, (size_t)x->ndim * sizeof(int64_t));
        for (size_t i = 0; i < ctx->n_outputs; i++) {
            d[axis] = sizes[i];
            onnxq_out_shape(ctx->outputs[i], x->dtype, x->ndim, d);
        }
    }
    free(sizes);
    return st;
}

static enum onnxq_status split_impl(void *state, struct onnxq_op_ctx *ctx, bool ref)
{
    struct split_state *s = state;
    const struct onnxq_tensor *x = ctx->inputs[0];
    int axis;
    enum onnxq_status st = onnxq_norm_axis(ctx, s->axis, x->ndim, &axis);
    if (st)
        return st;
    size_t outer = 1, inner = 1;
    for (int d = 0; d < axis; d++)
        outer *= (size_t)x->dims[d];
    for (int d = axis + 1; d < x->ndim; d++)
        inner *= (size_t)x->dims[d];
    struct pieces p = {.esz = onnxq_dtype_size(x->dtype), .whole_src = x->data};
    int64_t *sizes = malloc((ctx->n_outputs ? ctx->n_outputs : 1) * sizeof(int64_t));
    if (!sizes || !pieces_alloc(&p, ctx->n_outputs)) {
        free(sizes);
        pieces_free(&p);
        return FAIL(ctx, ONNXQ_E_NOMEM, "out of memory");
    }
    if ((st = split_sizes(s, ctx, axis, sizes)))
        goto out;
    for (size_t j = 0; j < p.n; j++) {
        p.piece[j] = (size_t)sizes[j] * inner;
        p.prefix[j] = p.block;
        p.block += p.piece[j];
        p.dst[j] = ctx->outputs[j] ? ctx->outputs[j]->data : NULL;
    }
    for (size_t j = 0; j < p.n; j++) {
        size_t total = outer * p.piece[j];
        if (!p.dst[j] || !total)
            continue;
        if (ref) {
            for (size_t o = 0; o < outer; o++)
                for (size_t k = 0; k < p.piece[j]; k++)
                    memcpy(p.dst[j] + (o * p.piece[j] + k) * p.esz,
                           p.whole_src + (o * p.block + p.prefix[j] + k) * p.esz, p.esz);
        } else {
            p.cur = j;
            onnxq_parallel_for(ctx, total, min_items(p.esz), split_range, &p);
        }
        if ((st = own_strings(ctx, ctx->outputs[j])))
            goto out;
    }
out:
    free(sizes);
    pieces_free(&p);
    return st;
}

enum onnxq_status onnxq_tx_split_run(void *state, struct onnxq_op_ctx *ctx)
{
    return split_impl(state, ctx, false);
}

/* --------------------------------------------------------------- Slice */

struct slice_state {
    int64_t opset;
    size_t n;
    bool has_axes;
    int64_t starts[ONNXQ_MAX_DIMS], ends[ONNXQ_MAX_DIMS], axes[ONNXQ_MAX_DIMS];
};

enum onnxq_status onnxq_tx_slice_init(struct onnxq_op_init *ictx, void **state)
{
    struct slice_state *s = calloc(1, sizeof(*s));
    if (!s)
        return onnxq_fail(ictx->err, ONNXQ_E_NOMEM, "out of memory");
    s->opset = ictx->opset;
    if (ictx->opset < 10) {
        size_t ns, ne, na;
        const int64_t *st = onnxq_attr_ints(ictx->node, "starts", &ns);
        const int64_t *en = onnxq_attr_ints(ictx->node, "ends", &ne);
        const int64_t *ax = onnxq_attr_ints(ictx->node, "axes", &na);
        if (!st || !en || ns != ne || ns > ONNXQ_MAX_DIMS || (ax && na != ns)) {
            free(s);
            return onnxq_op_fail(ictx->err, ictx->node, ONNXQ_E_INVALID_MODEL,
                                 "attributes starts/ends/axes are missing or of different lengths");
        }
        s->n = ns;
        memcpy(s->starts, st, ns * sizeof(int64_t));
        memcpy(s->ends, en, ns * sizeof(int64_t));
        if (ax) {
            s->has_axes = true;
            memcpy(s->axes, ax, ns * sizeof(int64_t));
        }
    }
    *state = s;
    return ONNXQ_OK;
}

/* Per-dim start, step and output length. */
static enum onnxq_status slice_plan(const struct slice_state *s, const struct onnxq_op_ctx *ctx, int64_t *start,
                                    int64_t *step, int64_t *len)
{
    const struct onnxq_tensor *x = ctx->inputs[0];
    int r = x->ndim;
    int64_t st_[ONNXQ_MAX_DIMS], en_[ONNXQ_MAX_DIMS], ax_[ONNXQ_MAX_DIMS], sp_[ONNXQ_MAX_DIMS];
    size_t n = s->n, k = 0;
    bool has_axes = s->has_axes, has_steps = false;
    enum onnxq_status st;
    if (s->opset < 10) {
        memcpy(st_, s->starts, n * sizeof(int64_t));
        memcpy(en_, s->ends, n * sizeof(int64_t));
        memcpy(ax_, s->axes, n * sizeof(int64_t));
    } else {
        if ((st = read_ints(ctx, 1, "starts", st_, ONNXQ_MAX_DIMS, &n)) ||
            (st = read_ints(ctx, 2, "ends", en_, ONNXQ_MAX_DIMS, &k)))
            return st;
        if (k != n)
            return FAIL(ctx, ONNXQ_E_SHAPE, "starts has %zu values, ends %zu", n, k);
        has_axes = onnxq_opt_in(ctx, 3) != NULL;
        if (has_axes) {
            if ((st = read_ints(ctx, 3, "axes", ax_, ONNXQ_MAX_DIMS, &k)))
                return st;
            if (k != n)
                return FAIL(ctx, ONNXQ_E_SHAPE, "axes has %zu values, starts %zu", k, n);
        }
        has_steps = onnxq_opt_in(ctx, 4) != NULL;
        if (has_steps) {
            if ((st = read_ints(ctx, 4, "steps", sp_, ONNXQ_MAX_DIMS, &k)))
                return st;
            if (k != n)
                return FAIL(ctx, ONNXQ_E_SHAPE, "steps has %zu values, starts %zu", k, n);
        }
    }
    bool seen[ONNXQ_MAX_DIMS] = {false};
    for (int d = 0; d < r; d++) {
        start[d] = 0;
        step[d] = 1;
        len[d] = x->dims[d];
    }
    for (size_t i = 0; i < n; i++) {
        int a;
        if (has_axes) {
            if ((st = onnxq_norm_axis(ctx, ax_[i], r, &a)))
                return st;
        } else {
            if ((int)i >= r)
                return FAIL(ctx, ONNXQ_E_SHAPE, "%zu starts for an input of rank %d", n, r);
            a = (int)i;
        }
        if (seen[a])
            return FAIL(ctx, ONNXQ_E_SHAPE, "axis %d is sliced twice", a);
        seen[a] = true;
        int64_t dim = x->dims[a], sp = has_steps ? sp_[i] : 1;
        if (sp == 0)
            return FAIL(ctx, ONNXQ_E_SHAPE, "step 0 on axis %d", a);
        int64_t b = st_[i], e = en_[i];
        if (b < 0)
            b += dim;
        if (e < 0)
            e += dim;
        int64_t l;
        if (sp > 0) {
            b = b < 0 ? 0 : (b > dim ? dim : b);
            e = e < 0 ? 0 : (e > dim ? dim : e);
            l = e > b ? (e - b + sp - 1) / sp : 0;
        } else {
            b = b < 0 ? 0 : (b > dim - 1 ? dim - 1 : b);
            e = e < -1 ? -1 : (e > dim - 1 ? dim - 1 : e);
            l = b > e ? (b - e + (-sp) - 1) / (-sp) : 0;
        }
        start[a] = b;
        step[a] = sp;
        len[a] = l;
    }
    return ONNXQ_OK;
}

enum onnxq_status onnxq_tx_slice_shape(void *state, struct onnxq_op_ctx *ctx)
{
    enum onnxq_status st = onnxq_need_input(ctx, 0);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    int64_t start[ONNXQ_MAX_DIMS], step[ONNXQ_MAX_DIMS], len[ONNXQ_MAX_DIMS];
    if ((st = slice_plan(state, ctx, start, step, len)))
        return st;
    onnxq_out_shape(ctx->outputs[0], x->dtype, x->ndim, len);
    return ONNXQ_OK;
}

static enum onnxq_status slice_impl(void *state, struct onnxq_op_ctx *ctx, bool ref)
{
    const struct onnxq_tensor *x = ctx->inputs[0];
    struct onnxq_tensor *y = ctx->outputs[0];
    int64_t start[ONNXQ_MAX_DIMS], step[ONNXQ_MAX_DIMS], len[ONNXQ_MAX_DIMS], str[ONNXQ_MAX_DIMS];
    enum onnxq_status st = slice_plan(state, ctx, start, step, len);
    if (st)
        return st;
    if (!onnxq_numel_of(y))
        return ONNXQ_OK;
    strides_of(x->dims, x->ndim, str);
    size_t esz = onnxq_dtype_size(x->dtype);
    int64_t off = 0;
    struct xcopy c = {.nd = x->ndim, .esz = esz, .dst = y->data};
    for (int d = 0; d < x->ndim; d++) {
        off += start[d] * str[d];
        c.dims[d] = len[d];
        c.istr[d] = step[d] * str[d];
    }
    c.src = at(x->data, off, esz);
    xcopy_run(ctx, &c, ref);
    return own_strings(ctx, y);
}

enum onnxq_status onnxq_tx_slice_run(void *state, struct onnxq_op_ctx *ctx)
{
    return slice_impl(state, ctx, false);
}

/* -------------------------------------------------------------- Gather */

struct gather_state {
    int64_t axis;
};

enum onnxq_status onnxq_tx_gather_init(struct onnxq_op_init *ictx, void **state)
{
    struct gather_state *s = calloc(1, sizeof(*s));
    if (!s)
        return onnxq_fail(ictx->err, ONNXQ_E_NOMEM, "out of memory");
    s->axis = onnxq_attr_int(ictx->node, "axis", 0);
    *state = s;
    return ONNXQ_OK;
}

static enum onnxq_status check_indices(const struct onnxq_op_ctx *ctx, const struct onnxq_tensor *idx, int64_t dim)
{
    if (idx->dtype != ONNXQ_DT_INT64 && idx->dtype != ONNXQ_DT_INT32)
        return FAIL(ctx, ONNXQ_E_UNSUPPORTED, "indices '%s' have dtype %s; expected int32 or int64",
                    ctx->node->inputs[1], onnxq_dtype_name(idx->dtype));
    size_t n = onnxq_numel_of(idx);
    for (size_t i = 0; i < n; i++) {
        int64_t v = onnxq_tensor_get_i64(idx, i);
        if (v < -dim || v >= dim)
            return FAIL(ctx, ONNXQ_E_SHAPE, "index %lld is out of range for an axis of size %lld", (long long)v,
                        (long long)dim);
    }
    return ONNXQ_OK;
}

enum onnxq_status onnxq_tx_gather_shape(void *state, struct onnxq_op_ctx *ctx)
{
    struct gather_state *s = state;
    enum onnxq_status st;
    if ((st = onnxq_need_input(ctx, 0)) || (st = onnxq_need_input(ctx, 1)))
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0], *idx = ctx->inputs[1];
    int axis;
    if (x->ndim == 0)
        return FAIL(ctx, ONNXQ_E_SHAPE, "cannot gather from a scalar");
    if ((st = onnxq_norm_axis(ctx, s->axis, x->ndim, &axis)))
        return st;
    int nd = x->ndim - 1 + idx->ndim;
    if (nd > ONNXQ_MAX_DIMS)
        return FAIL(ctx, ONNXQ_E_UNSUPPORTED, "output rank %d exceeds %d", nd, ONNXQ_MAX_DIMS);
    int64_t out[ONNXQ_MAX_DIMS];
    int k = 0;
    for (int d = 0; d < axis; d++)
        out[k++] = x->dims[d];
    for (int d = 0; d < idx->ndim; d++)
        out[k++] = idx->dims[d];
    for (int d = axis + 1; d < x->ndim; d++)
        out[k++] = x->dims[d];
    onnxq_out_shape(ctx->outputs[0], x->dtype, nd, out);
    return ONNXQ_OK;
}

struct gather_job {
    const unsigned char *src;
    unsigned char *dst;
    const struct onnxq_tensor *idx;
    size_t nidx, inner_bytes;
    int64_t dim;
};

static void gather_rows(void *arg, size_t b, size_t e)
{
    const struct gather_job *j = arg;
    for (size_t r = b; r < e; r++) {
        size_t o = r / j->nidx, i = r % j->nidx;
        int64_t v = onnxq_tensor_get_i64(j->idx, i);
        if (v < 0)
            v += j->dim;
        memcpy(j->dst + r * j->inner_bytes, j->src + (o * (size_t)j->dim + (size_t)v) * j->inner_bytes,
               j->inner_bytes);
    }
}

static enum onnxq_status gather_impl(void *state, struct onnxq_op_ctx *ctx, bool ref)
{
    struct gather_state *s = state;
    const struct onnxq_tensor *x = ctx->inputs[0], *idx = ctx->inputs[1];
    struct onnxq_tensor *y = ctx->outputs[0];
    int axis;
    enum onnxq_status st = onnxq_norm_axis(ctx, s->axis, x->ndim, &axis);
    if (st || (st = check_indices(ctx, idx, x->dims[axis])))
        return st;
    size_t outer = 1, inner = 1, esz = onnxq_dtype_size(x->dtype);
    for (int d = 0; d < axis; d++)
        outer *= (size_t)x->dims[d];
    for (int d = axis + 1; d < x->ndim; d++)
        inner *= (size_t)x->dims[d];
    struct gather_job j = {x->data, y->data, idx, onnxq_numel_of(idx), inner * esz, x->dims[axis]};
    size_t rows = outer * j.nidx;
    if (!rows || !inner)
        return ONNXQ_OK;
    if (ref) {
        for (size_t o = 0; o < outer; o++)
            for (size_t i = 0; i < j.nidx; i++) {
                int64_t v = onnxq_tensor_get_i64(idx, i);
                if (v < 0)
                    v += j.dim;
                for (size_t k = 0; k < inner; k++)
                    memcpy(j.dst + ((o * j.nidx + i) * inner + k) * esz,
                           j.src + ((o * (size_t)j.dim + (size_t)v) * inner + k) * esz, esz);
            }
    } else {
        onnxq_parallel_for(ctx, rows, min_items(j.inner_bytes), gather_rows, &j);
    }
    return own_strings(ctx, y);
}

enum onnxq_status onnxq_tx_gather_run(void *state, struct onnxq_op_ctx *ctx)
{
    return gather_impl(state, ctx, false);
}

enum onnxq_status onnxq_tx_gather_elements_shape(void *state, struct onnxq_op_ctx *ctx)
{
    struct gather_state *s = state;
    enum onnxq_status st;
    if ((st = onnxq_need_input(ctx, 0)) || (st = onnxq_need_input(ctx, 1)))
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0], *idx = ctx->inputs[1];
    int axis;
    if ((st = onnxq_norm_axis(ctx, s->axis, x->ndim, &axis)))
        return st;
    char a[200], b[200];
    bool ok = idx->ndim == x->ndim;
    for (int d = 0; ok && d < x->ndim; d++)
        ok = d == axis || idx->dims[d] <= x->dims[d];
    if (!ok)
        return FAIL(ctx, ONNXQ_E_SHAPE, "indices %s do not fit data %s", shape_str(idx->dims, idx->ndim, a, sizeof(a)),
                    shape_str(x->dims, x->ndim, b, sizeof(b)));
    onnxq_out_shape(ctx->outputs[0], x->dtype, idx->ndim, idx->dims);
    return ONNXQ_OK;
}

enum onnxq_status onnxq_tx_gather_elements_run(void *state, struct onnxq_op_ctx *ctx)
{
    struct gather_state *s = state;
    const struct onnxq_tensor *x = ctx->inputs[0], *idx = ctx->inputs[1];
    struct onnxq_tensor *y = ctx->outputs[0];
    int axis;
    enum onnxq_status st = onnxq_norm_axis(ctx, s->axis, x->ndim, &axis);
    if (st || (st = check_indices(ctx, idx, x->dims[axis])))
        return st;
    size_t n = onnxq_numel_of(idx), esz = onnxq_dtype_size(x->dtype);
    int64_t xs[ONNXQ_MAX_DIMS], ix[ONNXQ_MAX_DIMS] = {0};
    strides_of(x->dims, x->ndim, xs);
    int64_t base = 0;  /* offset of ix in x, without the axis term */
    const unsigned char *src = x->data;
    unsigned char *dst = y->data;
    for (size_t p = 0; p < n; p++) {
        int64_t v = onnxq_tensor_get_i64(idx, p);
        if (v < 0)
            v += x->dims[axis];
        memcpy(dst + p * esz, src + (size_t)(base + v * xs[axis]) * esz, esz);
        for (int d = idx->ndim - 1; d >= 0; d--) {
            if (d != axis)
                base += xs[d];
            if (++ix[d] < idx->dims[d])
                break;
            if (d != axis)
                base -= xs[d] * idx->dims[d];
            ix[d] = 0;
        }
    }
    return own_strings(ctx, y);
}

/* -------------------------------------------------------------- Expand */

enum onnxq_status onnxq_tx_expand_shape(void *state, struct onnxq_op_ctx *ctx)
{
    (void)state;
    enum onnxq_status st = onnxq_need_input(ctx, 0);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    int64_t shape[ONNXQ_MAX_DIMS], out[ONNXQ_MAX_DIMS];
    size_t n = 0;
    int nd;
    if ((st = read_ints(ctx, 1, "shape", shape, ONNXQ_MAX_DIMS, &n)) ||
        (st = onnxq_broadcast_shape(ctx, x->dims, x->ndim, shape, (int)n, out, &nd)))
        return st;
    onnxq_out_shape(ctx->outputs[0], x->dtype, nd, out);
    return ONNXQ_OK;
}

/* Input strides of x seen through the broadcast output shape y. */
static void broadcast_strides(const struct onnxq_tensor *x, const struct onnxq_tensor *y, int64_t *istr)
{
    int64_t xs[ONNXQ_MAX_DIMS];
    strides_of(x->dims, x->ndim, xs);
    for (int d = 0; d < y->ndim; d++) {
        int k = d - (y->ndim - x->ndim);
        istr[d] = k < 0 || x->dims[k] == 1 ? 0 : xs[k];
    }
}

static enum onnxq_status expand_impl(struct onnxq_op_ctx *ctx, bool ref)
{
    const struct onnxq_tensor *x = ctx->inputs[0];
    struct onnxq_tensor *y = ctx->outputs[0];
    struct xcopy c = {.nd = y->ndim, .esz = onnxq_dtype_size(x->dtype), .src = x->data, .dst = y->data};
    memcpy(c.dims, y->dims, (size_t)y->ndim * sizeof(int64_t));
    broadcast_strides(x, y, c.istr);
    xcopy_run(ctx, &c, ref);
    return own_strings(ctx, y);
}

enum onnxq_status onnxq_tx_expand_run(void *state, struct onnxq_op_ctx *ctx)
{
    (void)state;
    return expand_impl(ctx, false);
}

/* ---------------------------------------------------------------- Tile */

enum onnxq_status onnxq_tx_tile_init(struct onnxq_op_init *ictx, void **state)
{
    return opset_state_init(ictx, state);
}

static enum onnxq_status tile_repeats(const struct opset_state *s, const struct onnxq_op_ctx *ctx, int64_t *rep)
{
    const struct onnxq_tensor *x = ctx->inputs[0];
    enum onnxq_status st;
    size_t n = 0;
    if (s->opset < 6) {
        /* Tile-1: scalar `tiles` repeats along scalar `axis` */
        int64_t t, a;
        if ((st = read_ints(ctx, 1, "tiles", &t, 1, &n)))
            return st;
        if (n != 1)
            return FAIL(ctx, ONNXQ_E_SHAPE, "tiles must be a scalar");
        if ((st = read_ints(ctx, 2, "axis", &a, 1, &n)))
            return st;
        int ax;
        if (n != 1 || (st = onnxq_norm_axis(ctx, a, x->ndim, &ax)))
            return st ? st : FAIL(ctx, ONNXQ_E_SHAPE, "axis must be a scalar");
        for (int d = 0; d < x->ndim; d++)
            rep[d] = d == ax ? t : 1;
    } else {
        if ((st = read_ints(ctx, 1, "repeats", rep, ONNXQ_MAX_DIMS, &n)))
            return st;
        if ((int)n != x->ndim)
            return FAIL(ctx, ONNXQ_E_SHAPE, "repeats has %zu values for an input of rank %d", n, x->ndim);
    }
    for (int d = 0; d < x->ndim; d++)
        if (rep[d] < 0)
            return FAIL(ctx, ONNXQ_E_SHAPE, "repeat %lld is negative", (long long)rep[d]);
    return ONNXQ_OK;
}

enum onnxq_status onnxq_tx_tile_shape(void *state, struct onnxq_op_ctx *ctx)
{
    enum onnxq_status st = onnxq_need_input(ctx, 0);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    int64_t rep[ONNXQ_MAX_DIMS], out[ONNXQ_MAX_DIMS];
    if ((st = tile_repeats(state, ctx, rep)))
        return st;
    for (int d = 0; d < x->ndim; d++)
        out[d] = x->dims[d] * rep[d];
    if (checked_numel(out, x->ndim) < 0)
        return FAIL(ctx, ONNXQ_E_SHAPE, "output is too large");
    onnxq_out_shape(ctx->outputs[0], x->dtype, x->ndim, out);
    return ONNXQ_OK;
}

static enum onnxq_status tile_impl(void *state, struct onnxq_op_ctx *ctx, bool ref)
{
    const struct onnxq_tensor *x = ctx->inputs[0];
    struct onnxq_tensor *y = ctx->outputs[0];
    int64_t rep[ONNXQ_MAX_DIMS], xs[ONNXQ_MAX_DIMS];
    enum onnxq_status st = tile_repeats(state, ctx, rep);
    if (st)
        return st;
    strides_of(x->dims, x->ndim, xs);
    /* output viewed as [rep0, d0, rep1, d1, ...] */
    struct xcopy c = {.nd = 2 * x->ndim, .esz = onnxq_dtype_size(x->dtype), .src = x->data, .dst = y->data};
    for (int d = 0; d < x->ndim; d++) {
        c.dims[2 * d] = rep[d];
        c.istr[2 * d] = 0;
        c.dims[2 * d + 1] = x->dims[d];
        c.istr[2 * d + 1] = xs[d];
    }
    xcopy_run(ctx, &c, ref);
    return own_strings(ctx, y);
}

enum onnxq_status onnxq_tx_tile_run(void *state, struct onnxq_op_ctx *ctx)
{
    return tile_impl(state, ctx, false);
}

/* ------------------------------------------- DepthToSpace, SpaceToDepth */

struct space_state {
    bool to_space;
    bool crd;
    int64_t bs;
};

static enum onnxq_status space_init(struct onnxq_op_init *ictx, void **state, bool to_space)
{
    struct space_state *s = calloc(1, sizeof(*s));
    if (!s)
        return onnxq_fail(ictx->err, ONNXQ_E_NOMEM, "out of memory");
    s->to_space = to_space;
    s->bs = onnxq_attr_int(ictx->node, "blocksize", 0);
    char buf[16];
    const char *mode = onnxq_attr_string(ictx->node, "mode", "DCR", buf, sizeof(buf));
    if (to_space && ictx->opset >= 11) {
        if (strcmp(mode, "CRD") == 0)
            s->crd = true;
        else if (strcmp(mode, "DCR") != 0) {
            free(s);
            return onnxq_op_fail(ictx->err, ictx->node, ONNXQ_E_INVALID_MODEL, "unknown mode '%s'", mode);
        }
    }
    if (s->bs <= 0) {
        free(s);
        return onnxq_op_fail(ictx->err, ictx->node, ONNXQ_E_INVALID_MODEL, "blocksize must be positive");
    }
    *state = s;
    return ONNXQ_OK;
}

enum onnxq_status onnxq_tx_d2s_init(struct onnxq_op_init *ictx, void **state)
{
    return space_init(ictx, state, true);
}

enum onnxq_status onnxq_tx_s2d_init(struct onnxq_op_init *ictx, void **state)
{
    return space_init(ictx, state, false);
}

enum onnxq_status onnxq_tx_space_shape(void *state, struct onnxq_op_ctx *ctx)
{
    struct space_state *s = state;
    enum onnxq_status st = onnxq_need_input(ctx, 0);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    char a[200];
    if (x->ndim != 4)
        return FAIL(ctx, ONNXQ_E_SHAPE, "input %s must be 4-D", shape_str(x->dims, x->ndim, a, sizeof(a)));
    int64_t b = s->bs, out[4];
    if (s->to_space) {
        if (x->dims[1] % (b * b))
            return FAIL(ctx, ONNXQ_E_SHAPE, "channels of input %s are not a multiple of blocksize^2 = %lld",
                        shape_str(x->dims, 4, a, sizeof(a)), (long long)(b * b));
        out[0] = x->dims[0];
        out[1] = x->dims[1] / (b * b);
        out[2] = x->dims[2] * b;
        out[3] = x->dims[3] * b;
    } else {
        if (x->dims[2] % b || x->dims[3] % b)
            return FAIL(ctx, ONNXQ_E_SHAPE, "height/width of input %s are not multiples of blocksize %lld",
                        shape_str(x->dims, 4, a, sizeof(a)), (long long)b);
        out[0] = x->dims[0];
        out[1] = x->dims[1] * b * b;
        out[2] = x->dims[2] / b;
        out[3] = x->dims[3] / b;
    }
    onnxq_out_shape(ctx->outputs[0], x->dtype, 4, out);
    return ONNXQ_OK;
}

static enum onnxq_status space_impl(void *state, struct onnxq_op_ctx *ctx, bool ref)
{
    struct space_state *s = state;
    const struct onnxq_tensor *x = ctx->inputs[0];
    struct onnxq_tensor *y = ctx->outputs[0];
    int64_t b = s->bs, N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3];
    int64_t v[6], vs[6];
    int perm[6];
    if (s->to_space) {
        int64_t c = C / (b * b);
        if (s->crd) {
            /* [N, c, b, b, H, W] -> [N, c, H, b, W, b] */
            int64_t dv[6] = {N, c, b, b, H, W};
            int pv[6] = {0, 1, 4, 2, 5, 3};
            memcpy(v, dv, sizeof(v));
            memcpy(perm, pv, sizeof(perm));
        } else {
            /* [N, b, b, c, H, W] -> [N, c, H, b, W, b] */
            int64_t dv[6] = {N, b, b, c, H, W};
            int pv[6] = {0, 3, 4, 1, 5, 2};
            memcpy(v, dv, sizeof(v));
            memcpy(perm, pv, sizeof(perm));
        }
    } else {
        /* [N, C, H/b, b, W/b, b] -> [N, b, b, C, H/b, W/b] */
        int64_t dv[6] = {N, C, H / b, b, W / b, b};
        int pv[6] = {0, 3, 5, 1, 2, 4};
        memcpy(v, dv, sizeof(v));
        memcpy(perm, pv, sizeof(perm));
    }
    strides_of(v, 6, vs);
    struct xcopy c = {.nd = 6, .esz = onnxq_dtype_size(x->dtype), .src = x->data, .dst = y->data};
    for (int i = 0; i < 6; i++) {
        c.dims[i] = v[perm[i]];
        c.istr[i] = vs[perm[i]];
    }
    xcopy_run(ctx, &c, ref);
    return own_strings(ctx, y);
}

enum onnxq_status onnxq_tx_space_run(void *state, struct onnxq_op_ctx *ctx)
{
    enum onnxq_status st = space_impl(state, ctx, false);
    if (!st)
        report_same(ctx);
    return st;
}

/* ----------------------------------------------------------------- Pad */

enum pad_mode { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP };

struct pad_state {
    int64_t opset;
    enum pad_mode mode;
    float value;  /* opset < 11 */
    size_t n_pads;
    int64_t pads[2 * ONNXQ_MAX_DIMS];  /* opset < 11 */
};

enum onnxq_status onnxq_tx_pad_init(struct onnxq_op_init *ictx, void **state)
{
    struct pad_state *s = calloc(1, sizeof(*s));
    if (!s)
        return onnxq_fail(ictx->err, ONNXQ_E_NOMEM, "out of memory");
    s->opset = ictx->opset;
    char buf[32];
    const char *m = onnxq_attr_string(ictx->node, "mode", "constant", buf, sizeof(buf));
    if (strcmp(m, "constant") == 0)
        s->mode = PAD_CONSTANT;
    else if (strcmp(m, "reflect") == 0)
        s->mode = PAD_REFLECT;
    else if (strcmp(m, "edge") == 0)
        s->mode = PAD_EDGE;
    else if (strcmp(m, "wrap") == 0 && ictx->opset >= 19)
        s->mode = PAD_WRAP;
    else {
        free(s);
        return onnxq_op_fail(ictx->err, ictx->node, ONNXQ_E_UNSUPPORTED, "pad mode '%s' is not supported", m);
    }
    if (ictx->opset < 11) {
        s->value = onnxq_attr_float(ictx->node, "value", 0.0f);
        size_t n = 0;
        const int64_t *p = onnxq_attr_ints(ictx->node, ictx->opset < 2 ? "paddings" : "pads", &n);
        if (!p || n > 2 * ONNXQ_MAX_DIMS) {
            free(s);
            return onnxq_op_fail(ictx->err, ictx->node, ONNXQ_E_INVALID_MODEL, "attribute 'pads' is missing");
        }
        s->n_pads = n;
        memcpy(s->pads, p, n * sizeof(int64_t));
    }
    *state = s;
    return ONNXQ_OK;
}

/* Begin/end pads for every dim of the input. */
static enum onnxq_status pad_plan(const struct pad_state *s, const struct onnxq_op_ctx *ctx, int64_t *pb, int64_t *pe)
{
    const struct onnxq_tensor *x = ctx->inputs[0];
    int r = x->ndim;
    int64_t pads[2 * ONNXQ_MAX_DIMS], axes[ONNXQ_MAX_DIMS];
    size_t n = s->n_pads, na = (size_t)r;
    enum onnxq_status st;
    if (s->opset < 11)
        memcpy(pads, s->pads, n * sizeof(int64_t));
    else if ((st = read_ints(ctx, 1, "pads", pads, 2 * ONNXQ_MAX_DIMS, &n)))
        return st;
    const struct onnxq_tensor *ax = s->opset >= 18 ? onnxq_opt_in(ctx, 3) : NULL;
    if (ax) {
        if ((st = read_ints(ctx, 3, "axes", axes, ONNXQ_MAX_DIMS, &na)))
            return st;
    } else {
        for (int d = 0; d < r; d++)
            axes[d] = d;
    }
    if (n != 2 * na)
        return FAIL(ctx, ONNXQ_E_SHAPE, "pads has %zu values; expected %zu for rank %d", n, 2 * na, r);
    for (int d = 0; d < r; d++)
        pb[d] = pe[d] = 0;
    for (size_t i = 0; i < na; i++) {
        int a;
        if ((st = onnxq_norm_axis(ctx, axes[i], r, &a)))
            return st;
        pb[a] = pads[i];
        pe[a] = pads[na + i];
    }
    for (int d = 0; d < r; d++) {
        if (x->dims[d] + pb[d] + pe[d] < 0)
            return FAIL(ctx, ONNXQ_E_SHAPE, "pads %lld,%lld remove more than axis %d has (%lld)", (long long)pb[d],
                        (long long)pe[d], d, (long long)x->dims[d]);
        if (s->mode != PAD_CONSTANT && x->dims[d] == 0 && (pb[d] > 0 || pe[d] > 0))
            return FAIL(ctx, ONNXQ_E_SHAPE, "cannot pad the empty axis %d in a non-constant mode", d);
    }
    return ONNXQ_OK;
}

enum onnxq_status onnxq_tx_pad_shape(void *state, struct onnxq_op_ctx *ctx)
{
    enum onnxq_status st = onnxq_need_input(ctx, 0);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    int64_t pb[ONNXQ_MAX_DIMS], pe[ONNXQ_MAX_DIMS], out[ONNXQ_MAX_DIMS];
    if ((st = pad_plan(state, ctx, pb, pe)))
        return st;
    for (int d = 0; d < x->ndim; d++)
        out[d] = x->dims[d] + pb[d] + pe[d];
    onnxq_out_shape(ctx->outputs[0], x->dtype, x->ndim, out);
    return ONNXQ_OK;
}

/* Source index for padded position j (relative to the input start), or -1
 * for the constant. */
static int64_t pad_map(enum pad_mode m, int64_t j, int64_t n)
{
    if (j >= 0 && j < n)
        return j;
    switch (m) {
    case PAD_CONSTANT: return -1;
    case PAD_EDGE: return j < 0 ? 0 : n - 1;
    case PAD_WRAP: {
        int64_t r = j % n;
        return r < 0 ? r + n : r;
    }
    case PAD_REFLECT: {
        if (n == 1)
            return 0;
        int64_t p = 2 * (n - 1), r = j % p;
        if (r < 0)
            r += p;
        return r >= n ? p - r : r;
    }
    }
    return -1;
}

struct pad_job {
    const struct onnxq_tensor *x;
    struct onnxq_tensor *y;
    enum pad_mode mode;
    int64_t pb[ONNXQ_MAX_DIMS];
    int64_t xs[ONNXQ_MAX_DIMS];
    unsigned char value[16];
    size_t esz;
};

static void pad_rows(void *arg, size_t b, size_t e)
{
    const struct pad_job *j = arg;
    const struct onnxq_tensor *x = j->x;
    const struct onnxq_tensor *y = j->y;
    int L = y->ndim - 1;
    int64_t W = y->dims[L], IW = x->dims[L], pb = j->pb[L];
    size_t esz = j->esz;
    const unsigned char *src = x->data;
    /* the run of the last dim copied straight from the input */
    int64_t lo = pb > 0 ? pb : 0, hi = pb + IW < W ? pb + IW : W;
    if (hi < lo)
        hi = lo;
    for (size_t row = b; row < e; row++) {
        unsigned char *dst = (unsigned char *)y->data + row * (size_t)W * esz;
        size_t r = row;
        int64_t off = 0;
        bool constant = false;
        for (int d = L - 1; d >= 0; d--) {
            int64_t o = (int64_t)(r % (size_t)y->dims[d]);
            r /= (size_t)y->dims[d];
            int64_t k = pad_map(j->mode, o - j->pb[d], x->dims[d]);
            if (k < 0)
                constant = true;
            else
                off += k * j->xs[d];
        }
        if (constant) {
            fill_elems(dst, (size_t)W, j->value, esz);
            continue;
        }
        const unsigned char *srow = src + (size_t)off * esz;
        for (int64_t c = 0; c < lo; c++) {
            int64_t k = pad_map(j->mode, c - pb, IW);
            if (k < 0)
                memcpy(dst + (size_t)c * esz, j->value, esz);
            else
                memcpy(dst + (size_t)c * esz, srow + (size_t)k * esz, esz);
        }
        if (hi > lo)
            memcpy(dst + (size_t)lo * esz, srow + (size_t)(lo - pb) * esz, (size_t)(hi - lo) * esz);
        for (int64_t c = hi; c < W; c++) {
            int64_t k = pad_map(j->mode, c - pb, IW);
            if (k < 0)
                memcpy(dst + (size_t)c * esz, j->value, esz);
            else
                memcpy(dst + (size_t)c * esz, srow + (size_t)k * esz, esz);
        }
    }
}

static enum onnxq_status pad_impl(void *state, struct onnxq_op_ctx *ctx, bool ref)
{
    struct pad_state *s = state;
    const struct onnxq_tensor *x = ctx->inputs[0];
    struct onnxq_tensor *y = ctx->outputs[0];
    struct pad_job j = {.x = x, .y = y, .mode = s->mode, .esz = onnxq_dtype_size(x->dtype)};
    int64_t pe[ONNXQ_MAX_DIMS];
    enum onnxq_status st = pad_plan(s, ctx, j.pb, pe);
    if (st)
        return st;
    if (!onnxq_numel_of(y))
        return ONNXQ_OK;
    if (x->ndim == 0)
        return copy_elems(ctx, y, x);
    strides_of(x->dims, x->ndim, j.xs);
    memset(j.value, 0, sizeof(j.value));
    const struct onnxq_tensor *cv = s->opset >= 11 ? onnxq_opt_in(ctx, 2) : NULL;
    if (cv && onnxq_numel_of(cv)) {
        if (cv->dtype == x->dtype)
            memcpy(j.value, cv->data, j.esz);
        else if (x->dtype == ONNXQ_DT_STRING || cv->dtype == ONNXQ_DT_STRING)
            return FAIL(ctx, ONNXQ_E_SHAPE, "constant_value dtype %s does not match data dtype %s",
                        onnxq_dtype_name(cv->dtype), onnxq_dtype_name(x->dtype));
        else
            scalar_bytes(x->dtype, onnxq_tensor_get_f64(cv, 0), j.value);
    } else if (s->opset < 11 && x->dtype != ONNXQ_DT_STRING) {
        scalar_bytes(x->dtype, s->value, j.value);
    }
    size_t W = (size_t)y->dims[y->ndim - 1];
    size_t rows = onnxq_numel_of(y) / W;
    if (ref) {
        /* element by element */
        int64_t idx[ONNXQ_MAX_DIMS] = {0};
        size_t n = onnxq_numel_of(y);
        for (size_t p = 0; p < n; p++) {
            int64_t off = 0;
            bool constant = false;
            for (int d = 0; d < x->ndim; d++) {
                int64_t k = pad_map(j.mode, idx[d] - j.pb[d], x->dims[d]);
                if (k < 0)
                    constant = true;
                else
                    off += k * j.xs[d];
            }
            memcpy((unsigned char *)y->data + p * j.esz,
                   constant ? j.value : (const unsigned char *)x->data + (size_t)off * j.esz, j.esz);
            for (int d = y->ndim - 1; d >= 0; d--) {
                if (++idx[d] < y->dims[d])
                    break;
                idx[d] = 0;
            }
        }
    } else {
        onnxq_parallel_for(ctx, rows, min_items(W * j.esz), pad_rows, &j);
    }
    return own_strings(ctx, y);
}

enum onnxq_status onnxq_tx_pad_run(void *state, struct onnxq_op_ctx *ctx)
{
    return pad_impl(state, ctx, false);
}

/* ---------------------------------------------------------- Shape, Size */

struct shape_state {
    int64_t start, end;
    bool has_end;
};

enum onnxq_status onnxq_tx_shape_init(struct onnxq_op_init *ictx, void **state)
{
    struct shape_state *s = calloc(1, sizeof(*s));
    if (!s)
        return onnxq_fail(ictx->err, ONNXQ_E_NOMEM, "out of memory");
    if (ictx->opset >= 15) {
        s->start = onnxq_attr_int(ictx->node, "start", 0);
        s->has_end = onnxq_attr_has(ictx->node, "end");
        s->end = onnxq_attr_int(ictx->node, "end", 0);
    }
    *state = s;
    return ONNXQ_OK;
}

static void shape_range(const struct shape_state *s, int r, int *b, int *e)
{
    int64_t lo = s->start < 0 ? s->start + r : s->start;
    int64_t hi = s->has_end ? (s->end < 0 ? s->end + r : s->end) : r;
    lo = lo < 0 ? 0 : (lo > r ? r : lo);
    hi = hi < 0 ? 0 : (hi > r ? r : hi);
    *b = (int)lo;
    *e = (int)(hi > lo ? hi : lo);
}

enum onnxq_status onnxq_tx_shape_shape(void *state, struct onnxq_op_ctx *ctx)
{
    enum onnxq_status st = onnxq_need_input(ctx, 0);
    if (st)
        return st;
    int b, e;
    shape_range(state, ctx->inputs[0]->ndim, &b, &e);
    int64_t n = e - b;
    onnxq_out_shape(ctx->outputs[0], ONNXQ_DT_INT64, 1, &n);
    return ONNXQ_OK;
}

enum onnxq_status onnxq_tx_shape_run(void *state, struct onnxq_op_ctx *ctx)
{
    int b, e;
    const struct onnxq_tensor *x = ctx->inputs[0];
    shape_range(state, x->ndim, &b, &e);
    if (e > b)
        memcpy(ctx->outputs[0]->data, x->dims + b, (size_t)(e - b) * sizeof(int64_t));
    return ONNXQ_OK;
}

enum onnxq_status onnxq_tx_size_shape(void *state, struct onnxq_op_ctx *ctx)
{
    (void)state;
    enum onnxq_status st = onnxq_need_input(ctx, 0);
    if (st)
        return st;
    onnxq_out_shape(ctx->outputs[0], ONNXQ_DT_INT64, 0, NULL);
    return ONNXQ_OK;
}

enum onnxq_status onnxq_tx_size_run(void *state, struct onnxq_op_ctx *ctx)
{
    (void)state;
    int64_t n = onnxq_tensor_numel(ctx->inputs[0]);
    memcpy(ctx->outputs[0]->data, &n, sizeof(n));
    return ONNXQ_OK;
}

/* ------------------------------------------- Constant, ConstantOfShape */

struct const_state {
    const struct onnxq_tensor *value;  /* borrowed from the node, or &own */
    struct onnxq_tensor own;
};

void onnxq_tx_constant_fini(void *state)
{
    struct const_state *s = state;
    if (!s)
        return;
    onnxq_tensor_clear(&s->own);
    free(s);
}

enum onnxq_status onnxq_tx_constant_init(struct onnxq_op_init *ictx, void **state)
{
    const struct onnxq_node *n = ictx->node;
    struct const_state *s = calloc(1, sizeof(*s));
    if (!s)
        return onnxq_fail(ictx->err, ONNXQ_E_NOMEM, "out of memory");
    enum onnxq_status st = ONNXQ_OK;
    const struct onnxq_attr *a = NULL;
    size_t count = 0;
    for (size_t i = 0; i < n->n_attrs; i++) {
        const char *nm = n->attrs[i].name;
        if (nm && (strcmp(nm, "value") == 0 || strncmp(nm, "value_", 6) == 0 || strcmp(nm, "sparse_value") == 0)) {
            a = &n->attrs[i];
            count++;
        }
    }
    if (count != 1) {
        st = onnxq_op_fail(ictx->err, n, ONNXQ_E_INVALID_MODEL, "exactly one value attribute is required (found %zu)",
                           count);
        goto fail;
    }
    int64_t len;
    if (strcmp(a->name, "value") == 0) {
        if (!a->t) {
            st = onnxq_op_fail(ictx->err, n, ONNXQ_E_INVALID_MODEL, "attribute 'value' is not a tensor");
            goto fail;
        }
        s->value = &a->t->value;
    } else if (strcmp(a->name, "value_float") == 0) {
        if ((st = onnxq_tensor_alloc(&s->own, ONNXQ_DT_FLOAT, 0, NULL, ictx->err)))
            goto fail;
        *(float *)s->own.data = a->f;
    } else if (strcmp(a->name, "value_floats") == 0) {
        len = (int64_t)a->n_floats;
        if ((st = onnxq_tensor_alloc(&s->own, ONNXQ_DT_FLOAT, 1, &len, ictx->err)))
            goto fail;
        if (len)
            memcpy(s->own.data, a->floats, a->n_floats * sizeof(float));
    } else if (strcmp(a->name, "value_int") == 0) {
        if ((st = onnxq_tensor_alloc(&s->own, ONNXQ_DT_INT64, 0, NULL, ictx->err)))
            goto fail;
        *(int64_t *)s->own.data = a->i;
    } else if (strcmp(a->name, "value_ints") == 0) {
        len = (int64_t)a->n_ints;
        if ((st = onnxq_tensor_alloc(&s->own, ONNXQ_DT_INT64, 1, &len, ictx->err)))
            goto fail;
        if (len)
            memcpy(s->own.data, a->ints, a->n_ints * sizeof(int64_t));
    } else if (strcmp(a->name, "value_string") == 0 || strcmp(a->name, "value_strings") == 0) {
        bool one = strcmp(a->name, "value_string") == 0;
        len = one ? 1 : (int64_t)a->n_strings;
        if ((st = onnxq_tensor_alloc(&s->own, ONNXQ_DT_STRING, one ? 0 : 1, &len, ictx->err)))
            goto fail;
        struct onnxq_bytes *b = s->own.data;
        for (int64_t i = 0; i < len; i++) {
            const struct onnxq_bytes *src = one ? &a->s : &a->strings[i];
            b[i].data = src->len ? malloc(src->len) : NULL;
            if (src->len && !b[i].data) {
                st = onnxq_fail(ictx->err, ONNXQ_E_NOMEM, "out of memory");
                goto fail;
            }
            if (src->len)
                memcpy(b[i].data, src->data, src->len);
            b[i].len = src->len;
        }
    } else {
        st = onnxq_op_fail(ictx->err, n, ONNXQ_E_UNSUPPORTED, "attribute '%s' is not supported", a->name);
        goto fail;
    }
    if (!s->value)
        s->value = &s->own;
    *state = s;
    return ONNXQ_OK;
fail:
    onnxq_tx_constant_fini(s);
    return st;
}

enum onnxq_status onnxq_tx_constant_shape(void *state, struct onnxq_op_ctx *ctx)
{
    struct const_state *s = state;
    onnxq_out_shape(ctx->outputs[0], s->value->dtype, s->value->ndim, s->value->dims);
    return ONNXQ_OK;
}

enum onnxq_status onnxq_tx_constant_run(void *state, struct onnxq_op_ctx *ctx)
{
    struct const_state *s = state;
    return copy_elems(ctx, ctx->outputs[0], s->value);
}

enum onnxq_status onnxq_tx_cos_init(struct onnxq_op_init *ictx, void **state)
{
    struct const_state *s = calloc(1, sizeof(*s));
    if (!s)
        return onnxq_fail(ictx->err, ONNXQ_E_NOMEM, "out of memory");
    const struct onnxq_attr *a = onnxq_node_attr(ictx->node, "value");
    if (a) {
        if (!a->t || onnxq_numel_of(&a->t->value) != 1 || a->t->value.dtype == ONNXQ_DT_STRING) {
            free(s);
            return onnxq_op_fail(ictx->err, ictx->node, ONNXQ_E_INVALID_MODEL,
                                 "attribute 'value' must be a one-element numeric tensor");
        }
        s->value = &a->t->value;
    } else {
        enum onnxq_status st = onnxq_tensor_alloc(&s->own, ONNXQ_DT_FLOAT, 1, (const int64_t[]){1}, ictx->err);
        if (st) {
            free(s);
            return st;
        }
        s->value = &s->own;
    }
    *state = s;
    return ONNXQ_OK;
}

enum onnxq_status onnxq_tx_cos_shape(void *state, struct onnxq_op_ctx *ctx)
{
    struct const_state *s = state;
    int64_t dims[ONNXQ_MAX_DIMS];
    size_t n = 0;
    enum onnxq_status st = read_ints(ctx, 0, "input", dims, ONNXQ_MAX_DIMS, &n);
    if (st)
        return st;
    for (size_t i = 0; i < n; i++)
        if (dims[i] < 0)
            return FAIL(ctx, ONNXQ_E_SHAPE, "dim %lld is negative", (long long)dims[i]);
    if (checked_numel(dims, (int)n) < 0)
        return FAIL(ctx, ONNXQ_E_SHAPE, "output is too large");
    onnxq_out_shape(ctx->outputs[0], s->value->dtype, (int)n, dims);
    return ONNXQ_OK;
}

enum onnxq_status onnxq_tx_cos_run(void *state, struct onnxq_op_ctx *ctx)
{
    struct const_state *s = state;
    struct onnxq_tensor *y = ctx->outputs[0];
    fill_elems(y->data, onnxq_numel_of(y), s->value->data, onnxq_dtype_size(y->dtype));
    return ONNXQ_OK;
}

/* --------------------------------------------------------------- Range */

static enum onnxq_status range_count(const struct onnxq_op_ctx *ctx, int64_t *count)
{
    enum onnxq_status st;
    for (size_t i = 0; i < 3; i++) {
        if ((st = onnxq_need_input(ctx, i)))
            return st;
        const struct onnxq_tensor *t = ctx->inputs[i];
        if (onnxq_numel_of(t) != 1)
            return FAIL(ctx, ONNXQ_E_SHAPE, "input '%s' must be a scalar", ctx->node->inputs[i]);
        if (t->dtype != ctx->inputs[0]->dtype)
            return FAIL(ctx, ONNXQ_E_SHAPE, "inputs have different dtypes");
    }
    const struct onnxq_tensor *a = ctx->inputs[0], *b = ctx->inputs[1], *c = ctx->inputs[2];
    enum onnxq_dtype dt = a->dtype;
    if (dt == ONNXQ_DT_STRING || dt == ONNXQ_DT_BOOL || !onnxq_dtype_valid((int)dt) ||
        dt == ONNXQ_DT_COMPLEX64 || dt == ONNXQ_DT_COMPLEX128)
        return FAIL(ctx, ONNXQ_E_UNSUPPORTED, "dtype %s", onnxq_dtype_name(dt));
    if (onnxq_dtype_table[dt].is_integer) {
        int64_t s0 = onnxq_tensor_get_i64(a, 0), l = onnxq_tensor_get_i64(b, 0), d = onnxq_tensor_get_i64(c, 0);
        if (d == 0)
            return FAIL(ctx, ONNXQ_E_SHAPE, "delta is 0");
        uint64_t diff, step;
        if (d > 0 && l > s0) {
            diff = (uint64_t)l - (uint64_t)s0;
            step = (uint64_t)d;
        } else if (d < 0 && l < s0) {
            diff = (uint64_t)s0 - (uint64_t)l;
            step = (uint64_t)0 - (uint64_t)d;
        } else {
            *count = 0;
            return ONNXQ_OK;
        }
        uint64_t n = diff / step + (diff % step != 0);
        if (n > (uint64_t)1 << 40)
            return FAIL(ctx, ONNXQ_E_SHAPE, "range has too many elements");
        *count = (int64_t)n;
        return ONNXQ_OK;
    }
    double s0 = onnxq_tensor_get_f64(a, 0), l = onnxq_tensor_get_f64(b, 0), d = onnxq_tensor_get_f64(c, 0);
    double n = ceil((l - s0) / d);
    if (d == 0 || isnan(n))
        return FAIL(ctx, ONNXQ_E_SHAPE, "delta is 0 or an input is NaN");
    if (n > (double)((int64_t)1 << 40))
        return FAIL(ctx, ONNXQ_E_SHAPE, "range has too many elements");
    *count = n > 0 ? (int64_t)n : 0;
    return ONNXQ_OK;
}

enum onnxq_status onnxq_tx_range_shape(void *state, struct onnxq_op_ctx *ctx)
{
    (void)state;
    int64_t n;
    enum onnxq_status st = range_count(ctx, &n);
    if (st)
        return st;
    onnxq_out_shape(ctx->outputs[0], ctx->inputs[0]->dtype, 1, &n);
    return ONNXQ_OK;
}

enum onnxq_status onnxq_tx_range_run(void *state, struct onnxq_op_ctx *ctx)
{
    (void)state;
    const struct onnxq_tensor *a = ctx->inputs[0], *c = ctx->inputs[2];
    struct onnxq_tensor *y = ctx->outputs[0];
    size_t n = onnxq_numel_of(y);
    if (onnxq_dtype_table[a->dtype].is_integer) {
        int64_t s0 = onnxq_tensor_get_i64(a, 0), d = onnxq_tensor_get_i64(c, 0);
        for (size_t i = 0; i < n; i++) {
            int64_t v = (int64_t)((uint64_t)s0 + (uint64_t)i * (uint64_t)d);
            switch (y->dtype) {
            case ONNXQ_DT_INT64: ((int64_t *)y->data)[i] = v; break;
            case ONNXQ_DT_INT32: ((int32_t *)y->data)[i] = (int32_t)v; break;
            case ONNXQ_DT_INT16: ((int16_t *)y->data)[i] = (int16_t)v; break;
            default: onnxq_tensor_set_f64(y, i, (double)v); break;
            }
        }
        return ONNXQ_OK;
    }
    double s0 = onnxq_tensor_get_f64(a, 0), d = onnxq_tensor_get_f64(c, 0);
    if (y->dtype == ONNXQ_DT_FLOAT) {
        float fs = (float)s0, fd = (float)d;
        for (size_t i = 0; i < n; i++)
            ((float *)y->data)[i] = fs + (float)i * fd;
        return ONNXQ_OK;
    }
    for (size_t i = 0; i < n; i++)
        onnxq_tensor_set_f64(y, i, s0 + (double)i * d);
    return ONNXQ_OK;
}

/* ------------------------------------------------------------- NonZero */

static bool elem_nonzero(const struct onnxq_tensor *t, size_t i, size_t esz)
{
    const unsigned char *p = (const unsigned char *)t->data + i * esz;
    switch (t->dtype) {
    case ONNXQ_DT_FLOAT: {
        float v;
        memcpy(&v, p, sizeof(v));
        return v != 0.0f;
    }
    case ONNXQ_DT_DOUBLE: {
        double v;
        memcpy(&v, p, sizeof(v));
        return v != 0.0;
    }
    case ONNXQ_DT_FLOAT16:
    case ONNXQ_DT_BFLOAT16: {
        uint16_t v;
        memcpy(&v, p, sizeof(v));
        return (v & 0x7fff) != 0;
    }
    default:
        for (size_t k = 0; k < esz; k++)
            if (p[k])
                return true;
        return false;
    }
}

enum onnxq_status onnxq_tx_nonzero_shape(void *state, struct onnxq_op_ctx *ctx)
{
    (void)state;
    enum onnxq_status st = onnxq_need_input(ctx, 0);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    if (x->dtype == ONNXQ_DT_STRING)
        return FAIL(ctx, ONNXQ_E_UNSUPPORTED, "string input");
    ctx->alloc_in_run = true;
    return ONNXQ_OK;
}

enum onnxq_status onnxq_tx_nonzero_run(void *state, struct onnxq_op_ctx *ctx)
{
    (void)state;
    const struct onnxq_tensor *x = ctx->inputs[0];
    struct onnxq_tensor *y = ctx->outputs[0];
    size_t n = onnxq_numel_of(x), esz = onnxq_dtype_size(x->dtype), nnz = 0;
    for (size_t i = 0; i < n; i++)
        nnz += elem_nonzero(x, i, esz);
    int r = x->ndim ? x->ndim : 1;
    int64_t dims[2] = {r, (int64_t)nnz};
    if (!y)
        return ONNXQ_OK;
    enum onnxq_status st = onnxq_tensor_alloc(y, ONNXQ_DT_INT64, 2, dims, ctx->err);
    if (st)
        return st;
    int64_t *out = y->data, idx[ONNXQ_MAX_DIMS] = {0};
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (elem_nonzero(x, i, esz)) {
            for (int d = 0; d < x->ndim; d++)
                out[(size_t)d * nnz + k] = idx[d];
            if (!x->ndim)
                out[k] = 0;
            k++;
        }
        for (int d = x->ndim - 1; d >= 0; d--) {
            if (++idx[d] < x->dims[d])
                break;
            idx[d] = 0;
        }
    }
    return ONNXQ_OK;
}

/* --------------------------------------------------------------- Trilu */

struct trilu_state {
    bool upper;
};

enum onnxq_status onnxq_tx_trilu_init(struct onnxq_op_init *ictx, void **state)
{
    struct trilu_state *s = calloc(1, sizeof(*s));
    if (!s)
        return onnxq_fail(ictx->err, ONNXQ_E_NOMEM, "out of memory");
    s->upper = onnxq_attr_int(ictx->node, "upper", 1) != 0;
    *state = s;
    return ONNXQ_OK;
}

enum onnxq_status onnxq_tx_trilu_shape(void *state, struct onnxq_op_ctx *ctx)
{
    (void)state;
    enum onnxq_status st = onnxq_need_input(ctx, 0);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    if (x->ndim < 2)
        return FAIL(ctx, ONNXQ_E_SHAPE, "input must have rank >= 2, not %d", x->ndim);
    if (x->dtype == ONNXQ_DT_STRING)
        return FAIL(ctx, ONNXQ_E_UNSUPPORTED, "string input");
    onnxq_out_shape(ctx->outputs[0], x->dtype, x->ndim, x->dims);
    return ONNXQ_OK;
}

enum onnxq_status onnxq_tx_trilu_run(void *state, struct onnxq_op_ctx *ctx)
{
    struct trilu_state *s = state;
    const struct onnxq_tensor *x = ctx->inputs[0];
    struct onnxq_tensor *y = ctx->outputs[0];
    int64_t k = 0;
    const struct onnxq_tensor *kt = onnxq_opt_in(ctx, 1);
    if (kt) {
        size_t n = 0;
        enum onnxq_status st = read_ints(ctx, 1, "k", &k, 1, &n);
        if (st)
            return st;
        if (n != 1)
            return FAIL(ctx, ONNXQ_E_SHAPE, "k must be a scalar");
    }
    size_t esz = onnxq_dtype_size(x->dtype);
    int64_t R = x->dims[x->ndim - 2], C = x->dims[x->ndim - 1];
    size_t mats = R > 0 && C > 0 ? onnxq_numel_of(x) / (size_t)(R * C) : 0;
    const unsigned char *src = x->data;
    unsigned char *dst = y->data;
    for (size_t m = 0; m < mats; m++)
        for (int64_t i = 0; i < R; i++) {
            size_t row = (m * (size_t)R + (size_t)i) * (size_t)C * esz;
            for (int64_t j = 0; j < C; j++) {
                bool keep = s->upper ? j - i >= k : j - i <= k;
                if (keep)
                    memcpy(dst + row + (size_t)j * esz, src + row + (size_t)j * esz, esz);
                else
                    memset(dst + row + (size_t)j * esz, 0, esz);
            }
        }
    return ONNXQ_OK;
}

/* ------------------------------------------------------ Resize, Upsample
 *
 * Separable: every resized axis gets a table of taps (input index, weight)
 * per output coordinate, following the ONNX reference implementation:
 * x_ori from the coordinate transformation, ratio = x_ori - floor(x_ori)
 * (1 when x_ori is an integer, so the left pixel is preferred), n taps
 * starting at floor - n/2 + 1, indices clamped (edge padding).
 *   nearest, any dtype: one tap, gathered directly (rz_nearest_rows).
 *   linear/cubic, float, only the last two axes resized: rz_plane_rows.
 *   anything else: rz_generic, one axis at a time in double (also the
 *   reference for the float path). */

enum rz_mode { RZ_NEAREST, RZ_LINEAR, RZ_CUBIC };
enum rz_coord {
    RC_HALF_PIXEL,
    RC_HALF_PIXEL_SYM,
    RC_PYTORCH_HALF_PIXEL,
    RC_ALIGN_CORNERS,
    RC_ASYMMETRIC,
    RC_TF_HALF_PIXEL_NN,
    RC_TF_CROP
};
enum rz_near { RN_ROUND_FLOOR, RN_ROUND_CEIL, RN_FLOOR, RN_CEIL, RN_SIMPLE };
enum rz_policy { RP_STRETCH, RP_NOT_LARGER, RP_NOT_SMALLER };

struct resize_state {
    bool upsample;
    int64_t opset;
    enum rz_mode mode;
    enum rz_coord coord;
    enum rz_near near;
    enum rz_policy policy;
    double cubic_a;
    bool exclude_outside;
    bool antialias;
    double extrapolation;
    bool has_axes;
    size_t n_axes;
    int64_t axes[ONNXQ_MAX_DIMS];
    size_t n_scales_attr;
    float scales_attr[ONNXQ_MAX_DIMS];  /* Upsample-7 */
};

static bool str_pick(const char *s, const char *const *names, int n, int *out)
{
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return true;
        }
    return false;
}

enum onnxq_status onnxq_tx_resize_init(struct onnxq_op_init *ictx, void **state)
{
    const struct onnxq_node *node = ictx->node;
    struct resize_state *s = calloc(1, sizeof(*s));
    if (!s)
        return onnxq_fail(ictx->err, ONNXQ_E_NOMEM, "out of memory");
    s->upsample = strcmp(node->op_type, "Upsample") == 0;
    s->opset = ictx->opset;
    char buf[64];
    int v;
    const char *m = onnxq_attr_string(node, "mode", "nearest", buf, sizeof(buf));
    static const char *const modes[] = {"nearest", "linear", "cubic"};
    if (strcmp(m, "bilinear") == 0 && s->upsample)
        m = "linear";
    if (!str_pick(m, modes, 3, &v) || (v == RZ_CUBIC && (s->upsample || s->opset < 11))) {
        onnxq_op_fail(ictx->err, node, ONNXQ_E_UNSUPPORTED, "mode '%s' is not supported", m);
        free(s);
        return ONNXQ_E_UNSUPPORTED;
    }
    s->mode = (enum rz_mode)v;
    s->cubic_a = -0.75;
    if (s->upsample || s->opset < 11) {
        s->coord = RC_ASYMMETRIC;
        s->near = RN_SIMPLE;
        if (s->upsample && s->opset < 9) {
            size_t n = 0;
            const float *sc = onnxq_attr_floats(node, "scales", &n);
            if (!sc || n > ONNXQ_MAX_DIMS) {
                free(s);
                return onnxq_op_fail(ictx->err, node, ONNXQ_E_INVALID_MODEL, "attribute 'scales' is missing");
            }
            s->n_scales_attr = n;
            memcpy(s->scales_attr, sc, n * sizeof(float));
        }
        *state = s;
        return ONNXQ_OK;
    }
    static const char *const coords[] = {"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel",
                                         "align_corners", "asymmetric", "tf_half_pixel_for_nn",
                                         "tf_crop_and_resize"};
    const char *c = onnxq_attr_string(node, "coordinate_transformation_mode", "half_pixel", buf, sizeof(buf));
    if (!str_pick(c, coords, 7, &v) || (v == RC_HALF_PIXEL_SYM && s->opset < 19) ||
        (v == RC_TF_HALF_PIXEL_NN && s->opset >= 13)) {
        onnxq_op_fail(ictx->err, node, ONNXQ_E_UNSUPPORTED, "coordinate_transformation_mode '%s' is not supported", c);
        free(s);
        return ONNXQ_E_UNSUPPORTED;
    }
    s->coord = (enum rz_coord)v;
    static const char *const nears[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    const char *nm = onnxq_attr_string(node, "nearest_mode", "round_prefer_floor", buf, sizeof(buf));
    if (!str_pick(nm, nears, 4, &v)) {
        onnxq_op_fail(ictx->err, node, ONNXQ_E_UNSUPPORTED, "nearest_mode '%s' is not supported", nm);
        free(s);
        return ONNXQ_E_UNSUPPORTED;
    }
    s->near = (enum rz_near)v;
    s->cubic_a = onnxq_attr_float(node, "cubic_coeff_a", -0.75f);
    s->exclude_outside = onnxq_attr_int(node, "exclude_outside", 0) != 0;
    s->extrapolation = onnxq_attr_float(node, "extrapolation_value", 0.0f);
    if (s->opset >= 18) {
        s->antialias = onnxq_attr_int(node, "antialias", 0) != 0;
        if (s->antialias && s->mode == RZ_NEAREST) {
            free(s);
            return onnxq_op_fail(ictx->err, node, ONNXQ_E_INVALID_MODEL, "antialias needs mode linear or cubic");
        }
        static const char *const pols[] = {"stretch", "not_larger", "not_smaller"};
        const char *p = onnxq_attr_string(node, "keep_aspect_ratio_policy", "stretch", buf, sizeof(buf));
        if (!str_pick(p, pols, 3, &v)) {
            onnxq_op_fail(ictx->err, node, ONNXQ_E_UNSUPPORTED, "keep_aspect_ratio_policy '%s' is not supported", p);
            free(s);
            return ONNXQ_E_UNSUPPORTED;
        }
        s->policy = (enum rz_policy)v;
        size_t n = 0;
        const int64_t *ax = onnxq_attr_ints(node, "axes", &n);
        if (ax) {
            if (n > ONNXQ_MAX_DIMS) {
                free(s);
                return onnxq_op_fail(ictx->err, node, ONNXQ_E_UNSUPPORTED, "too many axes");
            }
            s->has_axes = true;
            s->n_axes = n;
            memcpy(s->axes, ax, n * sizeof(int64_t));
        }
    }
    *state = s;
    return ONNXQ_OK;
}

struct rz_plan {
    int nd;
    int64_t in[ONNXQ_MAX_DIMS], out[ONNXQ_MAX_DIMS];
    double scale[ONNXQ_MAX_DIMS];
    double roi0[ONNXQ_MAX_DIMS], roi1[ONNXQ_MAX_DIMS];
    bool ident[ONNXQ_MAX_DIMS];
};

static bool near_one(double v)
{
    return fabs(v - 1.0) <= 1e-9;
}

static enum onnxq_status resize_plan(const struct resize_state *s, const struct onnxq_op_ctx *ctx, struct rz_plan *p)
{
    enum onnxq_status st = onnxq_need_input(ctx, 0);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    int r = x->ndim;
    p->nd = r;
    int ax[ONNXQ_MAX_DIMS];
    size_t na = (size_t)r;
    if (s->has_axes) {
        na = s->n_axes;
        bool seen[ONNXQ_MAX_DIMS] = {false};
        for (size_t i = 0; i < na; i++) {
            if ((st = onnxq_norm_axis(ctx, s->axes[i], r, &ax[i])))
                return st;
            if (seen[ax[i]])
                return FAIL(ctx, ONNXQ_E_SHAPE, "axis %d is repeated", ax[i]);
            seen[ax[i]] = true;
        }
    } else {
        for (int d = 0; d < r; d++)
            ax[d] = d;
    }
    for (int d = 0; d < r; d++) {
        p->in[d] = p->out[d] = x->dims[d];
        p->scale[d] = 1.0;
        p->roi0[d] = 0.0;
        p->roi1[d] = 1.0;
    }
    const struct onnxq_tensor *roi = NULL, *scales = NULL, *sizes = NULL;
    if (s->upsample && s->opset < 9) {
        if (s->n_scales_attr != (size_t)r)
            return FAIL(ctx, ONNXQ_E_SHAPE, "scales has %zu values for an input of rank %d", s->n_scales_attr, r);
    } else if (s->upsample || s->opset < 11) {
        scales = onnxq_opt_in(ctx, 1);
        if (!scales)
            return FAIL(ctx, ONNXQ_E_INVALID_MODEL, "input 'scales' is missing");
    } else {
        roi = onnxq_opt_in(ctx, 1);
        scales = onnxq_opt_in(ctx, 2);
        sizes = onnxq_opt_in(ctx, 3);
        if (scales && !onnxq_numel_of(scales))
            scales = NULL;
        if (sizes && !onnxq_numel_of(sizes))
            sizes = NULL;
        if (!scales && !sizes)
            return FAIL(ctx, ONNXQ_E_INVALID_MODEL, "one of 'scales' and 'sizes' is required");
        if (scales && sizes)
            return FAIL(ctx, ONNXQ_E_INVALID_MODEL, "only one of 'scales' and 'sizes' may be given");
    }
    if (roi && onnxq_numel_of(roi) && s->coord == RC_TF_CROP) {
        if (onnxq_numel_of(roi) != 2 * na)
            return FAIL(ctx, ONNXQ_E_SHAPE, "roi has %zu values; expected %zu", onnxq_numel_of(roi), 2 * na);
        if (onnxq_dtype_table[roi->dtype].is_integer || !onnxq_dtype_table[roi->dtype].is_float)
            return FAIL(ctx, ONNXQ_E_UNSUPPORTED, "roi dtype %s", onnxq_dtype_name(roi->dtype));
        for (size_t i = 0; i < na; i++) {
            p->roi0[ax[i]] = onnxq_tensor_get_f64(roi, i);
            p->roi1[ax[i]] = onnxq_tensor_get_f64(roi, na + i);
        }
    }
    if (sizes) {
        if (sizes->dtype != ONNXQ_DT_INT64 && sizes->dtype != ONNXQ_DT_INT32)
            return FAIL(ctx, ONNXQ_E_UNSUPPORTED, "sizes dtype %s", onnxq_dtype_name(sizes->dtype));
        if (onnxq_numel_of(sizes) != na)
            return FAIL(ctx, ONNXQ_E_SHAPE, "sizes has %zu values; expected %zu", onnxq_numel_of(sizes), na);
        for (size_t i = 0; i < na; i++) {
            int d = ax[i];
            p->out[d] = onnxq_tensor_get_i64(sizes, i);
            if (p->out[d] < 0)
                return FAIL(ctx, ONNXQ_E_SHAPE, "size %lld is negative", (long long)p->out[d]);
            p->scale[d] = p->in[d] ? (double)p->out[d] / (double)p->in[d] : 1.0;
        }
        if (s->policy != RP_STRETCH && na) {
            double sc = p->scale[ax[0]];
            for (size_t i = 1; i < na; i++) {
                double v = p->scale[ax[i]];
                sc = s->policy == RP_NOT_LARGER ? (v < sc ? v : sc) : (v > sc ? v : sc);
            }
            for (size_t i = 0; i < na; i++) {
                int d = ax[i];
                p->scale[d] = sc;
                p->out[d] = (int64_t)(sc * (double)p->in[d] + 0.5);
            }
        }
    } else {
        if (scales && onnxq_numel_of(scales) != na)
            return FAIL(ctx, ONNXQ_E_SHAPE, "scales has %zu values; expected %zu", onnxq_numel_of(scales), na);
        if (scales && (scales->dtype == ONNXQ_DT_STRING || !onnxq_dtype_table[scales->dtype].is_float))
            return FAIL(ctx, ONNXQ_E_UNSUPPORTED, "scales dtype %s", onnxq_dtype_name(scales->dtype));
        for (size_t i = 0; i < na; i++) {
            int d = ax[i];
            double v = scales ? onnxq_tensor_get_f64(scales, i) : (double)s->scales_attr[i];
            if (!(v > 0) || v > 1e9)
                return FAIL(ctx, ONNXQ_E_SHAPE, "scale %g is not positive", v);
            if (s->upsample && v < 1)
                return FAIL(ctx, ONNXQ_E_SHAPE, "Upsample scale %g is below 1", v);
            p->scale[d] = v;
            /* like the ONNX reference and onnxruntime, roi does not scale
             * the output size */
            double o = floor(v * (double)p->in[d]);
            if (!(o >= 0) || o > 1e15)
                return FAIL(ctx, ONNXQ_E_SHAPE, "output size %g on axis %d is invalid", o, d);
            p->out[d] = (int64_t)o;
        }
    }
    for (int d = 0; d < r; d++)
        p->ident[d] = near_one(p->scale[d]) && p->out[d] == p->in[d] &&
                      (s->coord != RC_TF_CROP || (p->roi0[d] == 0.0 && p->roi1[d] == 1.0));
    if (checked_numel(p->out, r) < 0)
        return FAIL(ctx, ONNXQ_E_SHAPE, "output is too large");
    if (!onnxq_numel_of(x) && checked_numel(p->out, r) > 0)
        return FAIL(ctx, ONNXQ_E_SHAPE, "cannot resize an empty input to a non-empty output");
    return ONNXQ_OK;
}

enum onnxq_status onnxq_tx_resize_shape(void *state, struct onnxq_op_ctx *ctx)
{
    struct resize_state *s = state;
    struct rz_plan p;
    enum onnxq_status st = resize_plan(s, ctx, &p);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    if (s->mode != RZ_NEAREST && (x->dtype == ONNXQ_DT_STRING || x->dtype == ONNXQ_DT_BOOL ||
                                  x->dtype == ONNXQ_DT_COMPLEX64 || x->dtype == ONNXQ_DT_COMPLEX128))
        return FAIL(ctx, ONNXQ_E_UNSUPPORTED, "%s interpolation of %s data", s->mode == RZ_LINEAR ? "linear" : "cubic",
                    onnxq_dtype_name(x->dtype));
    onnxq_out_shape(ctx->outputs[0], x->dtype, p.nd, p.out);
    return ONNXQ_OK;
}

struct rz_axis {
    int n;             /* taps per output coordinate */
    int64_t *idx;      /* [out][n], clamped */
    double *w;         /* [out][n] */
    float *wf;         /* [out][n] */
    unsigned char *ext; /* [out]: 1 = extrapolation value */
    bool any_ext;
};

static double rz_cubic_kernel(double x, double A)
{
    x = fabs(x);
    if (x <= 1)
        return ((A + 2) * x - (A + 3)) * x * x + 1;
    if (x < 2)
        return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
    return 0.0;
}

static double rz_coord(const struct resize_state *s, const struct rz_plan *p, int d, int64_t xi, bool *ext)
{
    double x = (double)xi, in = (double)p->in[d], sc = p->scale[d];
    double outw = sc * in;
    *ext = false;
    switch (s->coord) {
    case RC_HALF_PIXEL: return (x + 0.5) / sc - 0.5;
    case RC_HALF_PIXEL_SYM: {
        double adj = (double)p->out[d] / outw, center = in / 2;
        return center * (1 - adj) + (x + 0.5) / sc - 0.5;
    }
    /* the spec's 0 for a one-element output (the ONNX reference uses -0.5;
     * the same for linear, not for cubic; onnxruntime follows the spec) */
    case RC_PYTORCH_HALF_PIXEL: return p->out[d] > 1 ? (x + 0.5) / sc - 0.5 : 0.0;
    case RC_ALIGN_CORNERS: return outw == 1 ? 0.0 : x * (in - 1) / (outw - 1);
    case RC_ASYMMETRIC: return x / sc;
    case RC_TF_HALF_PIXEL_NN: return (x + 0.5) / sc;
    case RC_TF_CROP: {
        double r0 = p->roi0[d], r1 = p->roi1[d], v;
        if (outw == 1)
            v = (r1 - r0) * (in - 1) / 2;
        else
            v = x * (r1 - r0) * (in - 1) / (outw - 1);
        v += r0 * (in - 1);
        *ext = v < 0 || v > in - 1;
        return v;
    }
    }
    return x;
}

/* Nearest mode picks one pixel, so ties matter: compute x_ori in float
 * with onnxruntime's formulas (integer output length for align_corners and
 * tf_crop_and_resize), so every model picks the same pixels as there. */
static float rz_coord_f32(const struct resize_state *s, const struct rz_plan *p, int d, int64_t xi, bool *ext)
{
    float x = (float)xi, in = (float)p->in[d], sc = (float)p->scale[d], outl = (float)p->out[d];
    *ext = false;
    switch (s->coord) {
    case RC_HALF_PIXEL: return (x + 0.5f) / sc - 0.5f;
    case RC_HALF_PIXEL_SYM: {
        float adj = outl / (sc * in), center = in / 2;
        return center * (1 - adj) + (x + 0.5f) / sc - 0.5f;
    }
    case RC_PYTORCH_HALF_PIXEL: return outl > 1 ? (x + 0.5f) / sc - 0.5f : 0.0f;
    case RC_ALIGN_CORNERS: return outl == 1 ? 0.0f : x * (in - 1) / (outl - 1);
    case RC_ASYMMETRIC: return x / sc;
    case RC_TF_HALF_PIXEL_NN: return (x + 0.5f) / sc;
    case RC_TF_CROP: {
        float r0 = (float)p->roi0[d], r1 = (float)p->roi1[d], v;
        if (outl > 1)
            v = r0 * (in - 1) + (x * (r1 - r0) * (in - 1)) / (outl - 1);
        else
            v = (float)(0.5 * (r0 + r1) * (in - 1));
        *ext = v < 0 || v > in - 1;
        return v;
    }
    }
    return x;
}

/* Number of taps per output coordinate on axis d. */
static int rz_ntaps(const struct resize_state *s, double scale)
{
    if (s->mode == RZ_NEAREST)
        return 1;
    double sc = scale < 1 ? scale : 1;
    if (s->mode == RZ_LINEAR)
        return s->antialias ? 2 - 2 * (int)(floor(-1 / sc) + 1) : 2;
    return s->antialias ? 2 - 2 * (int)(floor(-2 / sc) + 1) : 4;
}

static void rz_axis_free(struct rz_axis *a)
{
    free(a->idx);
    free(a->w);
    free(a->wf);
    free(a->ext);
    memset(a, 0, sizeof(*a));
}

static enum onnxq_status rz_axis_build(const struct resize_state *s, const struct rz_plan *p, int d,
                                       const struct onnxq_op_ctx *ctx, struct rz_axis *a)
{
    int64_t out = p->out[d], in = p->in[d];
    double sc = p->scale[d];
    int n = rz_ntaps(s, sc);
    if (n < 1 || n > (1 << 20))
        return FAIL(ctx, ONNXQ_E_SHAPE, "scale %g on axis %d needs too many taps", sc, d);
    a->n = n;
    size_t cnt = (size_t)(out ? out : 1) * (size_t)n;
    a->idx = malloc(cnt * sizeof(int64_t));
    a->w = malloc(cnt * sizeof(double));
    a->wf = malloc(cnt * sizeof(float));
    a->ext = calloc((size_t)(out ? out : 1), 1);
    if (!a->idx || !a->w || !a->wf || !a->ext) {
        rz_axis_free(a);
        return FAIL(ctx, ONNXQ_E_NOMEM, "out of memory for resize tables");
    }
    for (int64_t x = 0; x < out; x++) {
        int64_t *ix = a->idx + x * n;
        double *w = a->w + x * n;
        if (p->ident[d]) {
            ix[0] = x;
            w[0] = 1;
            for (int k = 1; k < n; k++) {
                ix[k] = x;
                w[k] = 0;
            }
            continue;
        }
        bool ext;
        double xo = s->mode == RZ_NEAREST ? (double)rz_coord_f32(s, p, d, x, &ext) : rz_coord(s, p, d, x, &ext);
        a->ext[x] = ext;
        a->any_ext |= ext;
        double fl = floor(xo), ratio = xo - fl;
        if (s->mode == RZ_NEAREST) {
            int64_t k;
            if (s->near == RN_SIMPLE)
                k = sc < 1 ? (int64_t)ceil(xo) : (int64_t)xo;
            else if (ratio == 0)
                k = (int64_t)fl;
            else
                switch (s->near) {
                case RN_ROUND_FLOOR: k = (int64_t)fl + (ratio > 0.5); break;
                case RN_ROUND_CEIL: k = (int64_t)fl + (ratio >= 0.5); break;
                case RN_FLOOR: k = (int64_t)fl; break;
                default: k = (int64_t)fl + 1; break;
                }
            ix[0] = k < 0 ? 0 : (k >= in ? in - 1 : k);
            w[0] = 1;
            continue;
        }
        if (ratio == 0) {
            fl -= 1;
            ratio = 1;
        }
        int64_t start = (int64_t)fl - n / 2 + 1;
        if (s->mode == RZ_LINEAR && !s->antialias) {
            w[0] = 1 - ratio;
            w[1] = ratio;
        } else if (s->mode == RZ_CUBIC && !s->antialias) {
            double A = s->cubic_a, r = ratio;
            w[0] = ((A * (r + 1) - 5 * A) * (r + 1) + 8 * A) * (r + 1) - 4 * A;
            w[1] = ((A + 2) * r - (A + 3)) * r * r + 1;
            w[2] = ((A + 2) * (1 - r) - (A + 3)) * (1 - r) * (1 - r) + 1;
            w[3] = ((A * ((1 - r) + 1) - 5 * A) * ((1 - r) + 1) + 8 * A) * ((1 - r) + 1) - 4 * A;
        } else {
            /* antialias: the kernel stretched by 1/scale when downscaling */
            double ssc = sc < 1 ? sc : 1, sum = 0;
            int64_t i0 = start - (int64_t)fl;
            for (int k = 0; k < n; k++) {
                double dist = ((double)(i0 + k) - ratio) * ssc;
                double v = s->mode == RZ_LINEAR ? 1 - fabs(dist) : rz_cubic_kernel(dist, s->cubic_a);
                if (s->mode == RZ_LINEAR)
                    v = v < 0 ? 0 : (v > 1 ? 1 : v);
                w[k] = v;
                sum += v;
            }
            for (int k = 0; k < n; k++)
                w[k] = sum != 0 ? w[k] / sum : w[k];
        }
        if (s->exclude_outside) {
            double sum = 0;
            for (int k = 0; k < n; k++) {
                int64_t j = start + k;
                if (j < 0 || j >= in)
                    w[k] = 0;
                sum += w[k];
            }
            if (sum != 0)
                for (int k = 0; k < n; k++)
                    w[k] /= sum;
        }
        for (int k = 0; k < n; k++) {
            int64_t j = start + k;
            ix[k] = j < 0 ? 0 : (j >= in ? in - 1 : j);
        }
    }
    for (size_t i = 0; i < (size_t)out * (size_t)n; i++)
        a->wf[i] = (float)a->w[i];
    return ONNXQ_OK;
}

struct rz_job {
    const struct rz_plan *p;
    const struct rz_axis *ax;
    size_t esz;
    const unsigned char *src;
    unsigned char *dst;
    int64_t xs[ONNXQ_MAX_DIMS];
    unsigned char value[16];  /* extrapolation value in the data dtype */
    float fvalue;
    int ah;                   /* plane path: H axis or -1 */
    struct onnxq_vstats_sink *sink;  /* float output 0: statistics */
    void (*rows)(void *, size_t, size_t);  /* under rz_rows_stats */
};

/* Nearest: output row (all dims but the last) -> one input row, then the
 * last axis through its index table. */
static void rz_nearest_rows(void *arg, size_t b, size_t e)
{
    const struct rz_job *j = arg;
    const struct rz_plan *p = j->p;
    int L = p->nd - 1;
    int64_t W = p->out[L];
    const struct rz_axis *aw = &j->ax[L];
    size_t esz = j->esz, rowb = (size_t)W * esz;
    int64_t prev = -1;
    for (size_t row = b; row < e; row++) {
        unsigned char *dst = j->dst + row * rowb;
        size_t r = row;
        int64_t off = 0;
        bool ext = false;
        for (int d = L - 1; d >= 0; d--) {
            int64_t o = (int64_t)(r % (size_t)p->out[d]);
            r /= (size_t)p->out[d];
            ext |= j->ax[d].ext[o] != 0;
            off += j->ax[d].idx[o] * j->xs[d];
        }
        if (ext) {
            fill_elems(dst, (size_t)W, j->value, esz);
            prev = -1;
            continue;
        }
        if (off == prev && row > b) {
            memcpy(dst, dst - rowb, rowb);
            continue;
        }
        prev = off;
        const unsigned char *src = j->src + (size_t)off * esz;
        if (p->ident[L]) {
            memcpy(dst, src, rowb);
            continue;
        }
#define NEAR_(T) \
    do { \
        T v_; \
        for (int64_t x = 0; x < W; x++) { \
            memcpy(&v_, src + (size_t)aw->idx[x] * sizeof(T), sizeof(T)); \
            memcpy(dst + (size_t)x * sizeof(T), &v_, sizeof(T)); \
        } \
    } while (0)
        switch (esz) {
        case 1: NEAR_(uint8_t); break;
        case 2: NEAR_(uint16_t); break;
        case 4: NEAR_(uint32_t); break;
        case 8: NEAR_(uint64_t); break;
        default:
            for (int64_t x = 0; x < W; x++)
                memcpy(dst + (size_t)x * esz, src + (size_t)aw->idx[x] * esz, esz);
        }
#undef NEAR_
        if (aw->any_ext)
            for (int64_t x = 0; x < W; x++)
                if (aw->ext[x])
                    memcpy(dst + (size_t)x * esz, j->value, esz);
    }
}

/* Plain nearest reference: one element at a time. */
static void rz_nearest_ref(const struct rz_job *j)
{
    const struct rz_plan *p = j->p;
    size_t n = (size_t)checked_numel(p->out, p->nd);
    int64_t o[ONNXQ_MAX_DIMS] = {0};
    for (size_t i = 0; i < n; i++) {
        int64_t off = 0;
        bool ext = false;
        for (int d = 0; d < p->nd; d++) {
            ext |= j->ax[d].ext[o[d]] != 0;
            off += j->ax[d].idx[o[d]] * j->xs[d];
        }
        memcpy(j->dst + i * j->esz, ext ? j->value : j->src + (size_t)off * j->esz, j->esz);
        for (int d = p->nd - 1; d >= 0; d--) {
            if (++o[d] < p->out[d])
                break;
            o[d] = 0;
        }
    }
}

/* Float linear/cubic where only the last two axes are resized. Separable:
 * each input row a task needs is interpolated along x once into a small
 * cache of rows (one slot per y-tap, least recently used evicted), then
 * every output row is a weighted sum of cached rows (contiguous, so it
 * vectorises). Falls back to per-pixel sums if the cache cannot be
 * allocated. */
static void rz_hrow(const struct rz_axis *aw, const float *r, int64_t W, float *h)
{
    int nw = aw->n;
    if (nw == 2) {
        for (int64_t x = 0; x < W; x++) {
            const int64_t *ix = aw->idx + 2 * x;
            const float *wx = aw->wf + 2 * x;
            h[x] = wx[0] * r[ix[0]] + wx[1] * r[ix[1]];
        }
        return;
    }
    for (int64_t x = 0; x < W; x++) {
        const int64_t *ix = aw->idx + (size_t)x * (size_t)nw;
        const float *wx = aw->wf + (size_t)x * (size_t)nw;
        float acc = 0;
        for (int k = 0; k < nw; k++)
            acc += wx[k] * r[ix[k]];
        h[x] = acc;
    }
}

static void rz_plane_rows(void *arg, size_t b, size_t e)
{
    const struct rz_job *j = arg;
    const struct rz_plan *p = j->p;
    int L = p->nd - 1, ah = j->ah;
    int64_t W = p->out[L], IW = p->in[L];
    int64_t OH = ah >= 0 ? p->out[ah] : 1, IH = ah >= 0 ? p->in[ah] : 1;
    const struct rz_axis *aw = &j->ax[L];
    const float *src = (const float *)(const void *)j->src;
    float *dst = (float *)(void *)j->dst;
    int nh = ah >= 0 ? j->ax[ah].n : 1;
    /* row cache: nh slots of W floats, keyed by input row (plane * IH + iy) */
    float *cache = malloc((size_t)nh * (size_t)W * sizeof(float));
    int64_t *key = malloc((size_t)nh * sizeof(int64_t));
    uint64_t *stamp = malloc((size_t)nh * sizeof(uint64_t));
    const float *rows[64];
    bool cached = cache && key && stamp && nh <= 64;
    for (int k = 0; cached && k < nh; k++) {
        key[k] = -1;
        stamp[k] = 0;
    }
    uint64_t now = 0;
    for (size_t row = b; row < e; row++) {
        size_t plane = row / (size_t)OH;
        int64_t y = (int64_t)(row % (size_t)OH);
        float *out = dst + row * (size_t)W;
        const float *pl = src + plane * (size_t)(IH * IW);
        const int64_t *iy;
        const float *wy;
        int64_t zero = 0;
        float one = 1.0f;
        if (ah >= 0) {
            const struct rz_axis *a = &j->ax[ah];
            if (a->ext[y]) {
                for (int64_t x = 0; x < W; x++)
                    out[x] = j->fvalue;
                continue;
            }
            iy = a->idx + y * nh;
            wy = a->wf + y * nh;
        } else {
            iy = &zero;
            wy = &one;
        }
        if (!cached) {
            for (int64_t x = 0; x < W; x++) {
                const int64_t *ix = aw->idx + (size_t)x * (size_t)aw->n;
                const float *wx = aw->wf + (size_t)x * (size_t)aw->n;
                float acc = 0;
                for (int ky = 0; ky < nh; ky++) {
                    const float *rr = pl + iy[ky] * IW;
                    float h = 0;
                    for (int kx = 0; kx < aw->n; kx++)
                        h += wx[kx] * rr[ix[kx]];
                    acc += wy[ky] * h;
                }
                out[x] = acc;
            }
        } else {
            now++;
            for (int ky = 0; ky < nh; ky++) {
                int64_t want = (int64_t)plane * IH + iy[ky];
                int slot = -1, victim = 0;
                for (int k = 0; k < nh; k++) {
                    if (key[k] == want)
                        slot = k;
                    if (stamp[k] < stamp[victim])
                        victim = k;
                }
                if (slot < 0) {
                    slot = victim;
                    key[slot] = want;
                    rz_hrow(aw, pl + iy[ky] * IW, W, cache + (size_t)slot * (size_t)W);
                }
                stamp[slot] = now;
                rows[ky] = cache + (size_t)slot * (size_t)W;
            }
            if (nh == 1) {
                memcpy(out, rows[0], (size_t)W * sizeof(float));
            } else if (nh == 2) {
                const float *h0 = rows[0], *h1 = rows[1];
                float w0 = wy[0], w1 = wy[1];
                for (int64_t x = 0; x < W; x++)
                    out[x] = w0 * h0[x] + w1 * h1[x];
            } else {
                const float *h0 = rows[0];
                float w0 = wy[0];
                for (int64_t x = 0; x < W; x++)
                    out[x] = w0 * h0[x];
                for (int ky = 1; ky < nh; ky++) {
                    const float *hk = rows[ky];
                    float wk = wy[ky];
                    for (int64_t x = 0; x < W; x++)
                        out[x] += wk * hk[x];
                }
            }
        }
        if (aw->any_ext)
            for (int64_t x = 0; x < W; x++)
                if (aw->ext[x])
                    out[x] = j->fvalue;
    }
    free(cache);
    free(key);
    free(stamp);
}

/* Any numeric dtype, any axes: one axis at a time in double. */
static enum onnxq_status rz_generic(const struct resize_state *s, const struct rz_plan *p, const struct rz_axis *ax,
                                    struct onnxq_op_ctx *ctx)
{
    const struct onnxq_tensor *x = ctx->inputs[0];
    struct onnxq_tensor *y = ctx->outputs[0];
    int64_t cur[ONNXQ_MAX_DIMS];
    memcpy(cur, p->in, (size_t)p->nd * sizeof(int64_t));
    size_t n = onnxq_numel_of(x);
    double *buf = malloc((n ? n : 1) * sizeof(double));
    if (!buf)
        return FAIL(ctx, ONNXQ_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        buf[i] = onnxq_tensor_get_f64(x, i);
    for (int a = 0; a < p->nd; a++) {
        if (p->ident[a])
            continue;
        size_t outer = 1, inner = 1;
        for (int d = 0; d < a; d++)
            outer *= (size_t)cur[d];
        for (int d = a + 1; d < p->nd; d++)
            inner *= (size_t)cur[d];
        size_t O = (size_t)p->out[a], I = (size_t)cur[a];
        size_t nn = outer * O * inner;
        double *nb = malloc((nn ? nn : 1) * sizeof(double));
        if (!nb) {
            free(buf);
            return FAIL(ctx, ONNXQ_E_NOMEM, "out of memory");
        }
        const struct rz_axis *t = &ax[a];
        for (size_t o = 0; o < outer; o++)
            for (size_t xo = 0; xo < O; xo++) {
                double *dst = nb + (o * O + xo) * inner;
                if (t->ext[xo]) {
                    for (size_t i = 0; i < inner; i++)
                        dst[i] = s->extrapolation;
                    continue;
                }
                for (size_t i = 0; i < inner; i++)
                    dst[i] = 0;
                for (int k = 0; k < t->n; k++) {
                    double w = t->w[xo * (size_t)t->n + (size_t)k];
                    const double *src = buf + (o * I + (size_t)t->idx[xo * (size_t)t->n + (size_t)k]) * inner;
                    for (size_t i = 0; i < inner; i++)
                        dst[i] += w * src[i];
                }
            }
        free(buf);
        buf = nb;
        cur[a] = p->out[a];
    }
    size_t m = onnxq_numel_of(y);
    if (y->dtype == ONNXQ_DT_FLOAT)
        for (size_t i = 0; i < m; i++)
            ((float *)y->data)[i] = (float)buf[i];
    else
        for (size_t i = 0; i < m; i++)
            onnxq_tensor_set_f64(y, i, buf[i]);
    free(buf);
    return ONNXQ_OK;
}

/* Output rows [b, e) (W values each) by j->rows, in groups of a few
 * thousand values, each scanned right after it is written. */
static void rz_rows_stats(void *arg, size_t b, size_t e)
{
    const struct rz_job *j = arg;
    size_t W = (size_t)j->p->out[j->p->nd - 1], g = W >= 4096 ? 1 : 4096 / W;
    const float *y = (const float *)(const void *)j->dst;
    struct onnxq_vstats vs;
    onnxq_vstats_init(&vs);
    for (size_t r = b; r < e; r += g) {
        size_t re = e - r < g ? e : r + g;
        j->rows(arg, r, re);
        onnxq_vstats_sink_observe(j->sink, &vs, y + r * W, (re - r) * W);
    }
    onnxq_vstats_sink_put(j->sink, y + b * W, (e - b) * W, &vs);
}

static enum onnxq_status resize_impl(void *state, struct onnxq_op_ctx *ctx, bool ref)
{
    struct resize_state *s = state;
    struct rz_plan p;
    enum onnxq_status st = resize_plan(s, ctx, &p);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    struct onnxq_tensor *y = ctx->outputs[0];
    if (!onnxq_numel_of(y))
        return ONNXQ_OK;
    if (p.nd == 0)
        return copy_elems(ctx, y, x);
    struct rz_axis ax[ONNXQ_MAX_DIMS];
    memset(ax, 0, sizeof(ax));
    for (int d = 0; d < p.nd && !st; d++)
        st = rz_axis_build(s, &p, d, ctx, &ax[d]);
    if (st)
        goto out;
    struct rz_job j = {.p = &p, .ax = ax, .esz = onnxq_dtype_size(x->dtype), .src = x->data, .dst = y->data,
                       .fvalue = (float)s->extrapolation, .ah = -1,
                       .sink = y->dtype == ONNXQ_DT_FLOAT && !ref ? ctx->stats : NULL};
    strides_of(p.in, p.nd, j.xs);
    memset(j.value, 0, sizeof(j.value));
    if (x->dtype != ONNXQ_DT_STRING)
        scalar_bytes(x->dtype, s->extrapolation, j.value);
    if (s->mode == RZ_NEAREST) {
        if (ref)
            rz_nearest_ref(&j);
        else {
            size_t W = (size_t)p.out[p.nd - 1];
            j.rows = rz_nearest_rows;
            onnxq_parallel_for(ctx, onnxq_numel_of(y) / W, min_items(W * j.esz), j.sink ? rz_rows_stats : j.rows, &j);
        }
        st = own_strings(ctx, y);
        goto out;
    }
    bool plane = x->dtype == ONNXQ_DT_FLOAT && !ref;
    for (int d = 0; d < p.nd - 2 && plane; d++)
        plane = p.ident[d];
    if (plane) {
        j.ah = p.nd >= 2 ? p.nd - 2 : -1;
        size_t W = (size_t)p.out[p.nd - 1];
        j.rows = rz_plane_rows;
        onnxq_parallel_for(ctx, onnxq_numel_of(y) / W, min_items(W * 16), j.sink ? rz_rows_stats : j.rows, &j);
    } else {
        st = rz_generic(s, &p, ax, ctx);
    }
out:
    for (int d = 0; d < p.nd; d++)
        rz_axis_free(&ax[d]);
    return st;
}

enum onnxq_status onnxq_tx_resize_run(void *state, struct onnxq_op_ctx *ctx)
{
    return resize_impl(state, ctx, false);
}

/* ------------------------------------------------------- test entry */

enum onnxq_status onnxq_tx_run_reference(const char *op_type, void *state, struct onnxq_op_ctx *ctx)
{
    if (strcmp(op_type, "Transpose") == 0)
        return transpose_impl(state, ctx, true);
    if (strcmp(op_type, "Slice") == 0)
        return slice_impl(state, ctx, true);
    if (strcmp(op_type, "Expand") == 0)
        return expand_impl(ctx, true);
    if (strcmp(op_type, "Tile") == 0)
        return tile_impl(state, ctx, true);
    if (strcmp(op_type, "DepthToSpace") == 0 || strcmp(op_type, "SpaceToDepth") == 0)
        return space_impl(state, ctx, true);
    if (strcmp(op_type, "Concat") == 0)
        return concat_impl(state, ctx, true);
    if (strcmp(op_type, "Split") == 0)
        return split_impl(state, ctx, true);
    if (strcmp(op_type, "Gather") == 0)
        return gather_impl(state, ctx, true);
    if (strcmp(op_type, "Pad") == 0)
        return pad_impl(state, ctx, true);
    if (strcmp(op_type, "Resize") == 0 || strcmp(op_type, "Upsample") == 0)
        return resize_impl(state, ctx, true);
    return FAIL(ctx, ONNXQ_E_INVALID_ARG, "no reference kernel for %s", op_type);
}
