/* Less common operators (see misc.h for the list).
 *
 * Layout of this file:
 *   1. helpers: input checks, element compare/reduce by dtype, a stable
 *      merge sort of index arrays with a context comparator
 *   2. selection and sorting: TopK, Unique, NonMaxSuppression
 *   3. scans and elementwise: CumSum, Shrink, EyeLike, OneHot
 *   4. data movement: Compress, ReverseSequence, GatherND, ScatterND,
 *      ScatterElements/Scatter, MaxUnpool
 *   5. losses: NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss
 *   6. linear algebra: Einsum, Det
 *
 * Data movers copy elements by their byte size, so every dtype but string
 * works; ops that look at values handle the numeric dtypes (typed kernels
 * for the common ones, double for the rest). Index inputs accept int32 and
 * int64 and negative indices where the spec allows them; out-of-range
 * indices fail naming the index, never read or write out of bounds. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/misc.h"

#define FAIL(ctx, code, ...) onnxq_op_fail((ctx)->err, (ctx)->node, code, __VA_ARGS__)
#define IFAIL(ictx, code, ...) onnxq_op_fail((ictx)->err, (ictx)->node, code, __VA_ARGS__)

/* =====================================================================
 * 1. Helpers
 * ===================================================================== */

void onnxq_misc_free(void *state)
{
    free(state);
}

static const char *shp(const int64_t *dims, int nd, char *buf, size_t size)
{
    onnxq_shape_format(dims, nd, buf, size);
    return buf;
}

static int64_t prod(const int64_t *dims, int from, int to)
{
    int64_t p = 1;
    for (int i = from; i < to; i++)
        p *= dims[i];
    return p;
}

/* Numeric dtypes that onnxq_tensor_get_f64/set_f64 handle. */
static bool dt_numeric(enum onnxq_dtype dt)
{
    switch (dt) {
    case ONNXQ_DT_FLOAT:
    case ONNXQ_DT_DOUBLE:
    case ONNXQ_DT_FLOAT16:
    case ONNXQ_DT_BFLOAT16:
    case ONNXQ_DT_INT8:
    case ONNXQ_DT_UINT8:
    case ONNXQ_DT_INT16:
    case ONNXQ_DT_UINT16:
    case ONNXQ_DT_INT32:
    case ONNXQ_DT_UINT32:
    case ONNXQ_DT_INT64:
    case ONNXQ_DT_UINT64:
    case ONNXQ_DT_BOOL: return true;
    default: return false;
    }
}

static bool dt_float(enum onnxq_dtype dt)
{
    return dt == ONNXQ_DT_FLOAT || dt == ONNXQ_DT_DOUBLE || dt == ONNXQ_DT_FLOAT16 || dt == ONNXQ_DT_BFLOAT16;
}

static bool dt_index(enum onnxq_dtype dt)
{
    return dt == ONNXQ_DT_INT64 || dt == ONNXQ_DT_INT32;
}

static enum onnxq_status need_in(const struct onnxq_op_ctx *ctx, size_t slot, const char *what)
{
    if (!onnxq_opt_in(ctx, slot))
        return FAIL(ctx, ONNXQ_E_INVALID_MODEL, "required input '%s' (#%zu) is missing", what, slot);
    return ONNXQ_OK;
}

/* Present, with a dtype whose elements can be moved as plain bytes. */
static enum onnxq_status need_movable(const struct onnxq_op_ctx *ctx, size_t slot, const char *what)
{
    enum onnxq_status st = need_in(ctx, slot, what);
    if (st)
        return st;
    enum onnxq_dtype dt = ctx->inputs[slot]->dtype;
    if (dt == ONNXQ_DT_STRING || !onnxq_dtype_valid((int)dt))
        return FAIL(ctx, ONNXQ_E_UNSUPPORTED, "input '%s' has dtype %s, which this op does not support", what,
                    onnxq_dtype_name(dt));
    return ONNXQ_OK;
}

static enum onnxq_status need_numeric(const struct onnxq_op_ctx *ctx, size_t slot, const char *what)
{
    enum onnxq_status st = need_in(ctx, slot, what);
    if (st)
        return st;
    enum onnxq_dtype dt = ctx->inputs[slot]->dtype;
    if (!dt_numeric(dt))
        return FAIL(ctx, ONNXQ_E_UNSUPPORTED, "input '%s' has dtype %s, which this op does not support", what,
                    onnxq_dtype_name(dt));
    return ONNXQ_OK;
}

static enum onnxq_status need_index(const struct onnxq_op_ctx *ctx, size_t slot, const char *what)
{
    enum onnxq_status st = need_in(ctx, slot, what);
    if (st)
        return st;
    if (!dt_index(ctx->inputs[slot]->dtype))
        return FAIL(ctx, ONNXQ_E_UNSUPPORTED, "input '%s' has dtype %s; expected int64 or int32", what,
                    onnxq_dtype_name(ctx->inputs[slot]->dtype));
    return ONNXQ_OK;
}

/* The one value of a 0-D or one-element integer input. */
static enum onnxq_status scalar_int(const struct onnxq_op_ctx *ctx, size_t slot, const char *what, int64_t *v)
{
    enum onnxq_status st = need_index(ctx, slot, what);
    if (st)
        return st;
    const struct onnxq_tensor *t = ctx->inputs[slot];
    if (onnxq_numel_of(t) != 1 || t->ndim > 1)
        return FAIL(ctx, ONNXQ_E_SHAPE, "input '%s' must hold exactly one value (shape %s)", what,
                    shp(t->dims, t->ndim, (char[64]){0}, 64));
    *v = onnxq_tensor_get_i64(t, 0);
    return ONNXQ_OK;
}

/* Index element i of an int32/int64 tensor, wrapped from [-dim, dim) to
 * [0, dim); false when out of range. */
static bool wrap_index(const struct onnxq_tensor *t, size_t i, int64_t dim, int64_t *out)
{
    int64_t v = t->dtype == ONNXQ_DT_INT64 ? ((const int64_t *)t->data)[i] : ((const int32_t *)t->data)[i];
    if (v < 0)
        v += dim;
    if (v < 0 || v >= dim)
        return false;
    *out = v;
    return true;
}

static int64_t raw_index(const struct onnxq_tensor *t, size_t i)
{
    return t->dtype == ONNXQ_DT_INT64 ? ((const int64_t *)t->data)[i] : ((const int32_t *)t->data)[i];
}

/* Reduction kinds of ScatterElements/ScatterND. */
enum red_kind { RED_NONE, RED_ADD, RED_MUL, RED_MAX, RED_MIN };

static enum onnxq_status parse_reduction(struct onnxq_op_init *ictx, bool allow_minmax, int *out)
{
    char buf[16];
    const char *r = onnxq_attr_string(ictx->node, "reduction", "none", buf, sizeof(buf));
    if (strcmp(r, "none") == 0)
        *out = RED_NONE;
    else if (strcmp(r, "add") == 0)
        *out = RED_ADD;
    else if (strcmp(r, "mul") == 0)
        *out = RED_MUL;
    else if (allow_minmax && strcmp(r, "max") == 0)
        *out = RED_MAX;
    else if (allow_minmax && strcmp(r, "min") == 0)
        *out = RED_MIN;
    else
        return IFAIL(ictx, ONNXQ_E_INVALID_MODEL, "reduction '%s' is not valid at opset %lld", r,
                     (long long)ictx->opset);
    return ONNXQ_OK;
}

/* dst = dst <red> src for one element of a numeric dtype (RED_NONE copies). */
static void reduce_elem(enum onnxq_dtype dt, size_t esz, int red, void *dst, const void *src)
{
#define RED_T(T)                                                   \
    do {                                                           \
        T a, b;                                                    \
        memcpy(&a, dst, sizeof(T));                                \
        memcpy(&b, src, sizeof(T));                                \
        switch (red) {                                             \
        case RED_ADD: a = (T)(a + b); break;                       \
        case RED_MUL: a = (T)(a * b); break;                       \
        case RED_MAX: a = b > a ? b : a; break;                    \
        default: a = b < a ? b : a; break;                         \
        }                                                          \
        memcpy(dst, &a, sizeof(T));                                \
    } while (0)
    if (red == RED_NONE) {
        memcpy(dst, src, esz);
        return;
    }
    switch (dt) {
    case ONNXQ_DT_FLOAT: RED_T(float); return;
    case ONNXQ_DT_DOUBLE: RED_T(double); return;
    case ONNXQ_DT_INT64: {
        /* wrap instead of signed overflow */
        uint64_t a, b;
        int64_t sa, sb;
        memcpy(&sa, dst, 8);
        memcpy(&sb, src, 8);
        a = (uint64_t)sa;
        b = (uint64_t)sb;
        if (red == RED_ADD)
            a = a + b;
        else if (red == RED_MUL)
            a = a * b;
        else
            a = (uint64_t)((red == RED_MAX) == (sb > sa) ? sb : sa);
        sa = (int64_t)a;
        memcpy(dst, &sa, 8);
        return;
    }
    case ONNXQ_DT_UINT64: RED_T(uint64_t); return;
    case ONNXQ_DT_INT32: {
        int32_t sa, sb;
        memcpy(&sa, dst, 4);
        memcpy(&sb, src, 4);
        uint32_t a = (uint32_t)sa, b = (uint32_t)sb;
        if (red == RED_ADD)
            a = a + b;
        else if (red == RED_MUL)
            a = a * b;
        else
            a = (uint32_t)((red == RED_MAX) == (sb > sa) ? sb : sa);
        sa = (int32_t)a;
        memcpy(dst, &sa, 4);
        return;
    }
    default: {
        /* narrow integers, half types, bool: in double, stored back */
        struct onnxq_tensor d = {.dtype = dt, .data = dst}, s = {.dtype = dt, .data = (void *)(uintptr_t)src};
        double a = onnxq_tensor_get_f64(&d, 0), b = onnxq_tensor_get_f64(&s, 0);
        switch (red) {
        case RED_ADD: a = a + b; break;
        case RED_MUL: a = a * b; break;
        case RED_MAX: a = b > a ? b : a; break;
        default: a = b < a ? b : a; break;
        }
        onnxq_tensor_set_f64(&d, 0, a);
        return;
    }
    }
#undef RED_T
}

/* Three-way compare of two numeric elements; NaN sorts after every number
 * and equals NaN. */
static int elem_cmp(enum onnxq_dtype dt, const void *pa, const void *pb)
{
#define CMP_T(T)                          \
    do {                                  \
        T a, b;                           \
        memcpy(&a, pa, sizeof(T));        \
        memcpy(&b, pb, sizeof(T));        \
        return a < b ? -1 : (a > b);      \
    } while (0)
    switch (dt) {
    case ONNXQ_DT_INT64: CMP_T(int64_t);
    case ONNXQ_DT_UINT64: CMP_T(uint64_t);
    case ONNXQ_DT_INT32: CMP_T(int32_t);
    case ONNXQ_DT_UINT32: CMP_T(uint32_t);
    case ONNXQ_DT_INT16: CMP_T(int16_t);
    case ONNXQ_DT_UINT16: CMP_T(uint16_t);
    case ONNXQ_DT_INT8: CMP_T(int8_t);
    case ONNXQ_DT_UINT8:
    case ONNXQ_DT_BOOL: CMP_T(uint8_t);
    default: {
        struct onnxq_tensor ta = {.dtype = dt, .data = (void *)(uintptr_t)pa};
        struct onnxq_tensor tb = {.dtype = dt, .data = (void *)(uintptr_t)pb};
        double a = onnxq_tensor_get_f64(&ta, 0), b = onnxq_tensor_get_f64(&tb, 0);
        bool na = isnan(a), nb = isnan(b);
        if (na || nb)
            return na - nb;
        return a < b ? -1 : (a > b);
    }
    }
#undef CMP_T
}

/* Stable sort of an index array by less(ctx, a, b): insertion-sorted runs
 * of 16, then bottom-up merges through tmp (n entries). */
typedef bool (*idx_less_fn)(const void *ctx, int64_t a, int64_t b);

static void sort_idx(int64_t *a, int64_t *tmp, size_t n, idx_less_fn less, const void *ctx)
{
    const size_t run = 16;
    for (size_t s = 0; s < n; s += run) {
        size_t e = s + run < n ? s + run : n;
        for (size_t i = s + 1; i < e; i++) {
            int64_t v = a[i];
            size_t j = i;
            while (j > s && less(ctx, v, a[j - 1])) {
                a[j] = a[j - 1];
                j--;
            }
            a[j] = v;
        }
    }
    int64_t *src = a, *dst = tmp;
    for (size_t w = run; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                dst[k++] = less(ctx, src[j], src[i]) ? src[j++] : src[i++];
            while (i < mid)
                dst[k++] = src[i++];
            while (j < hi)
                dst[k++] = src[j++];
        }
        int64_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, n * sizeof(int64_t));
}

/* Run fn over `n` items in at most `parts` contiguous pieces; fn gets the
 * piece number, so each piece can own a slice of a scratch buffer. */
struct pieces {
    size_t n, parts;
    void (*fn)(void *arg, size_t piece, size_t begin, size_t end);
    void *arg;
};

static void pieces_range(void *arg, size_t begin, size_t end)
{
    const struct pieces *p = arg;
    for (size_t c = begin; c < end; c++)
        p->fn(p->arg, c, c * p->n / p->parts, (c + 1) * p->n / p->parts);
}

static size_t run_pieces(struct onnxq_op_ctx *ctx, size_t n, size_t work_per_item,
                         void (*fn)(void *arg, size_t piece, size_t begin, size_t end), void *arg, bool dry)
{
    size_t parts = ctx->threads > 1 ? (size_t)ctx->threads : 1;
    if (parts > n)
        parts = n ? n : 1;
    if (n * (work_per_item ? work_per_item : 1) < ((size_t)1 << 15))
        parts = 1;
    if (dry)
        return parts;
    struct pieces p = {.n = n, .parts = parts, .fn = fn, .arg = arg};
    onnxq_parallel_for(ctx, parts, 1, pieces_range, &p);
    return parts;
}

/* =====================================================================
 * 2. Selection and sorting
 * ===================================================================== */

/* ---------------------------------------------------------------- TopK */

struct topk_state {
    int64_t axis, k_attr;
    bool k_is_attr, largest, sorted;
};

enum onnxq_status onnxq_misc_topk_init(struct onnxq_op_init *ictx, void **state)
{
    struct topk_state *s = calloc(1, sizeof(*s));
    if (!s)
        return onnxq_fail(ictx->err, ONNXQ_E_NOMEM, "out of memory");
    s->axis = onnxq_attr_int(ictx->node, "axis", -1);
    s->k_is_attr = ictx->opset < 10;
    if (s->k_is_attr) {
        if (!onnxq_attr_has(ictx->node, "k")) {
            free(s);
            return IFAIL(ictx, ONNXQ_E_INVALID_MODEL, "attribute 'k' is required before opset 10");
        }
        s->k_attr = onnxq_attr_int(ictx->node, "k", 0);
    }
    s->largest = ictx->opset < 11 || onnxq_attr_int(ictx->node, "largest", 1) != 0;
    s->sorted = ictx->opset < 11 || onnxq_attr_int(ictx->node, "sorted", 1) != 0;
    *state = s;
    return ONNXQ_OK;
}

static enum onnxq_status topk_params(const struct topk_state *s, struct onnxq_op_ctx *ctx, int *axis, int64_t *k)
{
    enum onnxq_status st = need_numeric(ctx, 0, "X");
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    if (x->ndim < 1)
        return FAIL(ctx, ONNXQ_E_SHAPE, "input 'X' must have rank >= 1");
    if ((st = onnxq_norm_axis(ctx, s->axis, x->ndim, axis)))
        return st;
    if (s->k_is_attr)
        *k = s->k_attr;
    else if ((st = scalar_int(ctx, 1, "K", k)))
        return st;
    if (*k < 0 || *k > x->dims[*axis])
        return FAIL(ctx, ONNXQ_E_SHAPE, "k = %lld is out of range for axis %d of size %lld", (long long)*k, *axis,
                    (long long)x->dims[*axis]);
    return ONNXQ_OK;
}

enum onnxq_status onnxq_misc_topk_shape(void *state, struct onnxq_op_ctx *ctx)
{
    int axis;
    int64_t k = 0;
    enum onnxq_status st = topk_params(state, ctx, &axis, &k);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    int64_t dims[ONNXQ_MAX_DIMS];
    memcpy(dims, x->dims, sizeof(dims));
    dims[axis] = k;
    onnxq_out_shape(onnxq_opt_out(ctx, 0), x->dtype, x->ndim, dims);
    onnxq_out_shape(onnxq_opt_out(ctx, 1), ONNXQ_DT_INT64, x->ndim, dims);
    return ONNXQ_OK;
}

/* Per row of n values (stride st): the positions of the k best, best
 * first, through a heap of k whose root is the worst kept. "Better" is the
 * larger (smaller) value, NaN counting as the largest, ties going to the
 * lower position. O(n log k). */
#define TOPK_ROW(T, sfx, ISNAN)                                                                           \
    static inline bool topk_better_##sfx(const T *x, size_t st, int64_t a, int64_t b, bool largest)       \
    {                                                                                                     \
        T va = x[(size_t)a * st], vb = x[(size_t)b * st];                                                 \
        bool na = ISNAN(va), nb = ISNAN(vb);                                                              \
        if (na || nb)                                                                                     \
            return na && nb ? a < b : (largest ? na : nb);                                                \
        if (va != vb)                                                                                     \
            return largest ? va > vb : va < vb;                                                           \
        return a < b;                                                                                     \
    }                                                                                                     \
    static void topk_sift_##sfx(const T *x, size_t st, int64_t *h, size_t m, size_t i, bool largest)      \
    {                                                                                                     \
        for (;;) {                                                                                        \
            size_t l = 2 * i + 1, r = l + 1, w = i;                                                       \
            if (l < m && topk_better_##sfx(x, st, h[w], h[l], largest))                                   \
                w = l;                                                                                    \
            if (r < m && topk_better_##sfx(x, st, h[w], h[r], largest))                                   \
                w = r;                                                                                    \
            if (w == i)                                                                                   \
                return;                                                                                   \
            int64_t t = h[i];                                                                             \
            h[i] = h[w];                                                                                  \
            h[w] = t;                                                                                     \
            i = w;                                                                                        \
        }                                                                                                 \
    }                                                                                                     \
    static void topk_row_##sfx(const void *xv, size_t st, size_t n, size_t k, bool largest, int64_t *h)   \
    {                                                                                                     \
        const T *x = xv;                                                                                  \
        size_t m = 0;                                                                                     \
        for (size_t p = 0; p < n; p++) {                                                                  \
            if (m < k) {                                                                                  \
                size_t i = m++;                                                                           \
                h[i] = (int64_t)p;                                                                        \
                while (i > 0 && topk_better_##sfx(x, st, h[(i - 1) / 2], h[i], largest)) {                \
                    int64_t t = h[i];                                                                     \
                    h[i] = h[(i - 1) / 2];                                                                \
                    h[(i - 1) / 2] = t;                                                                   \
                    i = (i - 1) / 2;                                                                      \
                }                                                                                         \
            } else if (k && topk_better_##sfx(x, st, (int64_t)p, h[0], largest)) {                        \
                h[0] = (int64_t)p;                                                                        \
                topk_sift_##sfx(x, st, h, m, 0, largest);                                                 \
            }                                                                                             \
        }                                                                                                 \
        /* pop the worst into the last free slot: h ends best first */                                    \
        while (m > 1) {                                                                                   \
            int64_t worst = h[0];                                                                         \
            h[0] = h[--m];                                                                                \
            h[m] = worst;                                                                                 \
            topk_sift_##sfx(x, st, h, m, 0, largest);                                                     \
        }                                                                                                 \
    }

#define NO_NAN(v) ((void)(v), false)
TOPK_ROW(float, f32, isnan)
TOPK_ROW(double, f64, isnan)
TOPK_ROW(int8_t, i8, NO_NAN)
TOPK_ROW(uint8_t, u8, NO_NAN)
TOPK_ROW(int16_t, i16, NO_NAN)
TOPK_ROW(uint16_t, u16, NO_NAN)
TOPK_ROW(int32_t, i32, NO_NAN)
TOPK_ROW(uint32_t, u32, NO_NAN)
TOPK_ROW(int64_t, i64, NO_NAN)
TOPK_ROW(uint64_t, u64, NO_NAN)

typedef void (*topk_row_fn)(const void *x, size_t st, size_t n, size_t k, bool largest, int64_t *h);

struct topk_job {
    topk_row_fn row;
    const char *keys;    /* values compared (the input, or a float copy of half types) */
    size_t kesz;         /* bytes per key */
    const char *x;       /* values copied to the output */
    size_t esz;
    size_t n, k, inner;
    bool largest;
    char *vals;
    int64_t *idx;
    int64_t *scratch;    /* k per piece */
};

static void topk_piece(void *arg, size_t piece, size_t begin, size_t end)
{
    const struct topk_job *j = arg;
    int64_t *h = j->scratch + piece * j->k;
    for (size_t r = begin; r < end; r++) {
        size_t o = r / j->inner, i = r % j->inner;
        size_t base = o * j->n * j->inner + i, obase = o * j->k * j->inner + i;
        j->row(j->keys + base * j->kesz, j->inner, j->n, j->k, j->largest, h);
        for (size_t q = 0; q < j->k; q++) {
            size_t dst = obase + q * j->inner;
            if (j->idx)
                j->idx[dst] = h[q];
            if (j->vals)
                memcpy(j->vals + dst * j->esz, j->x + (base + (size_t)h[q] * j->inner) * j->esz, j->esz);
        }
    }
}

enum onnxq_status onnxq_misc_topk_run(void *state, struct onnxq_op_ctx *ctx)
{
    const struct topk_state *s = state;
    int axis;
    int64_t k = 0;
    enum onnxq_status st = topk_params(s, ctx, &axis, &k);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    struct onnxq_tensor *yv = onnxq_opt_out(ctx, 0), *yi = onnxq_opt_out(ctx, 1);
    size_t n = (size_t)x->dims[axis], inner = (size_t)prod(x->dims, axis + 1, x->ndim);
    size_t rows = (size_t)prod(x->dims, 0, axis) * inner;
    if (!k || !rows)
        return ONNXQ_OK;
    struct topk_job j = {.x = x->data, .keys = x->data, .esz = onnxq_dtype_size(x->dtype), .n = n, .k = (size_t)k,
                         .inner = inner, .largest = s->largest, .vals = yv ? yv->data : NULL,
                         .idx = yi ? yi->data : NULL};
    j.kesz = j.esz;
    float *conv = NULL;
    switch (x->dtype) {
    case ONNXQ_DT_FLOAT: j.row = topk_row_f32; break;
    case ONNXQ_DT_DOUBLE: j.row = topk_row_f64; break;
    case ONNXQ_DT_INT8: j.row = topk_row_i8; break;
    case ONNXQ_DT_UINT8:
    case ONNXQ_DT_BOOL: j.row = topk_row_u8; break;
    case ONNXQ_DT_INT16: j.row = topk_row_i16; break;
    case ONNXQ_DT_UINT16: j.row = topk_row_u16; break;
    case ONNXQ_DT_INT32: j.row = topk_row_i32; break;
    case ONNXQ_DT_UINT32: j.row = topk_row_u32; break;
    case ONNXQ_DT_INT64: j.row = topk_row_i64; break;
    case ONNXQ_DT_UINT64: j.row = topk_row_u64; break;
    default: {
        /* float16/bfloat16: compare float copies */
        size_t total = onnxq_numel_of(x);
        conv = malloc(total * sizeof(float));
        if (!conv)
            return FAIL(ctx, ONNXQ_E_NOMEM, "out of memory");
        for (size_t i = 0; i < total; i++)
            conv[i] = (float)onnxq_tensor_get_f64(x, i);
        j.row = topk_row_f32;
        j.keys = (const char *)conv;
        j.kesz = sizeof(float);
        break;
    }
    }
    size_t parts = run_pieces(ctx, rows, n, topk_piece, &j, true);
    j.scratch = malloc(parts * (size_t)k * sizeof(int64_t));
    if (!j.scratch) {
        free(conv);
        return FAIL(ctx, ONNXQ_E_NOMEM, "out of memory");
    }
    run_pieces(ctx, rows, n, topk_piece, &j, false);
    free(j.scratch);
    free(conv);
    return ONNXQ_OK;
}

/* -------------------------------------------------------------- Unique */

struct unique_state {
    bool has_axis, sorted;
    int64_t axis;
};

enum onnxq_status onnxq_misc_unique_init(struct onnxq_op_init *ictx, void **state)
{
    struct unique_state *s = calloc(1, sizeof(*s));
    if (!s)
        return onnxq_fail(ictx->err, ONNXQ_E_NOMEM, "out of memory");
    s->has_axis = onnxq_attr_has(ictx->node, "axis");
    s->axis = onnxq_attr_int(ictx->node, "axis", 0);
    s->sorted = onnxq_attr_int(ictx->node, "sorted", 1) != 0;
    *state = s;
    return ONNXQ_OK;
}

enum onnxq_status onnxq_misc_unique_shape(void *state, struct onnxq_op_ctx *ctx)
{
    const struct unique_state *s = state;
    enum onnxq_status st = need_numeric(ctx, 0, "X");
    if (st)
        return st;
    int axis;
    if (s->has_axis && (st = onnxq_norm_axis(ctx, s->axis, ctx->inputs[0]->ndim, &axis)))
        return st;
    if (s->has_axis && ctx->inputs[0]->ndim < 1)
        return FAIL(ctx, ONNXQ_E_SHAPE, "axis given for a 0-D input");
    ctx->alloc_in_run = true;
    return ONNXQ_OK;
}

/* Items are slices along the axis: outer blocks of `inner` elements each,
 * `dim` slices per outer block. */
struct unique_cmp {
    enum onnxq_dtype dt;
    const char *x;
    size_t esz, outer, dim, inner;
};

static int unique_slice_cmp(const struct unique_cmp *c, int64_t a, int64_t b)
{
    for (size_t o = 0; o < c->outer; o++) {
        const char *pa = c->x + ((o * c->dim + (size_t)a) * c->inner) * c->esz;
        const char *pb = c->x + ((o * c->dim + (size_t)b) * c->inner) * c->esz;
        for (size_t i = 0; i < c->inner; i++) {
            int r = elem_cmp(c->dt, pa + i * c->esz, pb + i * c->esz);
            if (r)
                return r;
        }
    }
    return 0;
}

static bool unique_less(const void *ctx, int64_t a, int64_t b)
{
    return unique_slice_cmp(ctx, a, b) < 0;
}

enum onnxq_status onnxq_misc_unique_run(void *state, struct onnxq_op_ctx *ctx)
{
    const struct unique_state *s = state;
    const struct onnxq_tensor *x = ctx->inputs[0];
    struct unique_cmp c = {.dt = x->dtype, .x = x->data, .esz = onnxq_dtype_size(x->dtype)};
    int axis = 0;
    if (s->has_axis) {
        enum onnxq_status st = onnxq_norm_axis(ctx, s->axis, x->ndim, &axis);
        if (st)
            return st;
        c.outer = (size_t)prod(x->dims, 0, axis);
        c.dim = (size_t)x->dims[axis];
        c.inner = (size_t)prod(x->dims, axis + 1, x->ndim);
    } else {
        c.outer = 1;
        c.dim = onnxq_numel_of(x);
        c.inner = 1;
    }
    size_t n = c.dim;
    if (c.outer == 0 || c.inner == 0) {
        /* empty slices: all equal */
        c.outer = 0;
    }
    int64_t *order = malloc((3 * n + 1) * sizeof(int64_t)), *grp_first = NULL, *grp_count = NULL, *rank = NULL;
    if (!order)
        return FAIL(ctx, ONNXQ_E_NOMEM, "out of memory");
    int64_t *tmp = order + n, *grp_of = order + 2 * n;
    for (size_t i = 0; i < n; i++)
        order[i] = (int64_t)i;
    sort_idx(order, tmp, n, unique_less, &c);
    /* groups of equal slices in sorted order; the first of each group is its
     * first occurrence (stable sort) */
    grp_first = malloc((3 * n + 1) * sizeof(int64_t));
    if (!grp_first) {
        free(order);
        return FAIL(ctx, ONNXQ_E_NOMEM, "out of memory");
    }
    grp_count = grp_first + n;
    rank = grp_first + 2 * n;
    size_t ng = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || unique_slice_cmp(&c, order[i - 1], order[i]) != 0) {
            grp_first[ng] = order[i];
            grp_count[ng] = 0;
            ng++;
        }
        grp_count[ng - 1]++;
        grp_of[order[i]] = (int64_t)(ng - 1);
    }
    /* output position of each group: sorted order, or by first occurrence */
    if (s->sorted) {
        for (size_t g = 0; g < ng; g++)
            rank[g] = (int64_t)g;
    } else {
        /* tmp[i] = group whose first occurrence is i, else -1 */
        for (size_t i = 0; i < n; i++)
            tmp[i] = -1;
        for (size_t g = 0; g < ng; g++)
            tmp[grp_first[g]] = (int64_t)g;
        size_t p = 0;
        for (size_t i = 0; i < n; i++)
            if (tmp[i] >= 0)
                rank[tmp[i]] = (int64_t)p++;
    }
    enum onnxq_status st = ONNXQ_OK;
    struct onnxq_tensor *y = onnxq_opt_out(ctx, 0), *yi = onnxq_opt_out(ctx, 1);
    struct onnxq_tensor *yinv = onnxq_opt_out(ctx, 2), *ycnt = onnxq_opt_out(ctx, 3);
    int64_t dims[ONNXQ_MAX_DIMS];
    int nd = 1;
    if (s->has_axis) {
        memcpy(dims, x->dims, sizeof(dims));
        dims[axis] = (int64_t)ng;
        nd = x->ndim;
    } else {
        dims[0] = (int64_t)ng;
    }
    int64_t dng = (int64_t)ng, dn = (int64_t)n;
    if (y && !(st = onnxq_tensor_alloc(y, x->dtype, nd, dims, ctx->err))) {
        char *yd = y->data;
        size_t outer = s->has_axis ? (size_t)prod(x->dims, 0, axis) : 1, blk = c.inner * c.esz;
        for (size_t g = 0; g < ng; g++)
            for (size_t o = 0; o < outer; o++)
                memcpy(yd + (o * ng + (size_t)rank[g]) * blk, c.x + (o * n + (size_t)grp_first[g]) * blk, blk);
    }
    if (!st && yi && !(st = onnxq_tensor_alloc(yi, ONNXQ_DT_INT64, 1, &dng, ctx->err)))
        for (size_t g = 0; g < ng; g++)
            ((int64_t *)yi->data)[rank[g]] = grp_first[g];
    if (!st && yinv && !(st = onnxq_tensor_alloc(yinv, ONNXQ_DT_INT64, 1, &dn, ctx->err)))
        for (size_t i = 0; i < n; i++)
            ((int64_t *)yinv->data)[i] = rank[grp_of[i]];
    if (!st && ycnt && !(st = onnxq_tensor_alloc(ycnt, ONNXQ_DT_INT64, 1, &dng, ctx->err)))
        for (size_t g = 0; g < ng; g++)
            ((int64_t *)ycnt->data)[rank[g]] = grp_count[g];
    free(order);
    free(grp_first);
    return st;
}

/* --------------------------------------------------- NonMaxSuppression */

struct nms_state {
    bool center;
};

enum onnxq_status onnxq_misc_nms_init(struct onnxq_op_init *ictx, void **state)
{
    struct nms_state *s = calloc(1, sizeof(*s));
    if (!s)
        return onnxq_fail(ictx->err, ONNXQ_E_NOMEM, "out of memory");
    int64_t c = onnxq_attr_int(ictx->node, "center_point_box", 0);
    if (c != 0 && c != 1) {
        free(s);
        return IFAIL(ictx, ONNXQ_E_INVALID_MODEL, "center_point_box must be 0 or 1, not %lld", (long long)c);
    }
    s->center = c == 1;
    *state = s;
    return ONNXQ_OK;
}

static enum onnxq_status nms_check(struct onnxq_op_ctx *ctx)
{
    enum onnxq_status st;
    if ((st = need_in(ctx, 0, "boxes")) || (st = need_in(ctx, 1, "scores")))
        return st;
    const struct onnxq_tensor *b = ctx->inputs[0], *sc = ctx->inputs[1];
    if (!dt_float(b->dtype) || !dt_float(sc->dtype))
        return FAIL(ctx, ONNXQ_E_UNSUPPORTED, "boxes/scores have dtypes %s/%s; expected float",
                    onnxq_dtype_name(b->dtype), onnxq_dtype_name(sc->dtype));
    char s1[64], s2[64];
    if (b->ndim != 3 || b->dims[2] != 4 || sc->ndim != 3 || sc->dims[0] != b->dims[0] || sc->dims[2] != b->dims[1])
        return FAIL(ctx, ONNXQ_E_SHAPE,
                    "boxes %s and scores %s do not match [batch, boxes, 4] and [batch, classes, boxes]",
                    shp(b->dims, b->ndim, s1, sizeof(s1)), shp(sc->dims, sc->ndim, s2, sizeof(s2)));
    for (size_t i = 2; i < 5; i++) {
        const struct onnxq_tensor *t = onnxq_opt_in(ctx, i);
        if (t && onnxq_numel_of(t) > 1)
            return FAIL(ctx, ONNXQ_E_SHAPE, "input #%zu must hold at most one value", i);
        if (t && i == 2 && !dt_index(t->dtype))
            return FAIL(ctx, ONNXQ_E_UNSUPPORTED, "max_output_boxes_per_class must be int64");
        if (t && i > 2 && !dt_float(t->dtype))
            return FAIL(ctx, ONNXQ_E_UNSUPPORTED, "input #%zu must be float", i);
    }
    return ONNXQ_OK;
}

enum onnxq_status onnxq_misc_nms_shape(void *state, struct onnxq_op_ctx *ctx)
{
    (void)state;
    enum onnxq_status st = nms_check(ctx);
    if (st)
        return st;
    ctx->alloc_in_run = true;
    return ONNXQ_OK;
}

struct nms_sort {
    const float *score;
};

static bool nms_score_greater(const void *ctx, int64_t a, int64_t b)
{
    const float *s = ((const struct nms_sort *)ctx)->score;
    return s[a] > s[b];
}

/* Corners (y1, x1, y2, x2) with y1 <= y2, x1 <= x2. */
static void nms_corners(const float *b, bool center, float *c)
{
    if (center) {
        float xc = b[0], yc = b[1], w = b[2], h = b[3];
        c[0] = yc - h / 2;
        c[1] = xc - w / 2;
        c[2] = yc + h / 2;
        c[3] = xc + w / 2;
    } else {
        c[0] = fminf(b[0], b[2]);
        c[1] = fminf(b[1], b[3]);
        c[2] = fmaxf(b[0], b[2]);
        c[3] = fmaxf(b[1], b[3]);
    }
    if (c[0] > c[2]) {
        float t = c[0];
        c[0] = c[2];
        c[2] = t;
    }
    if (c[1] > c[3]) {
        float t = c[1];
        c[1] = c[3];
        c[3] = t;
    }
}

static bool nms_suppress(const float *a, const float *b, float thr)
{
    float ih = fminf(a[2], b[2]) - fmaxf(a[0], b[0]);
    float iw = fminf(a[3], b[3]) - fmaxf(a[1], b[1]);
    if (ih <= 0 || iw <= 0)
        return false;
    float area_a = (a[2] - a[0]) * (a[3] - a[1]), area_b = (b[2] - b[0]) * (b[3] - b[1]);
    if (area_a <= 0 || area_b <= 0)
        return false;
    float inter = ih * iw;
    return inter / (area_a + area_b - inter) > thr;
}

enum onnxq_status onnxq_misc_nms_run(void *state, struct onnxq_op_ctx *ctx)
{
    const struct nms_state *s = state;
    enum onnxq_status st = nms_check(ctx);
    if (st)
        return st;
    const struct onnxq_tensor *bt = ctx->inputs[0], *sct = ctx->inputs[1];
    const struct onnxq_tensor *tmax = onnxq_opt_in(ctx, 2), *tiou = onnxq_opt_in(ctx, 3), *tsc = onnxq_opt_in(ctx, 4);
    int64_t max_out = tmax && onnxq_numel_of(tmax) ? onnxq_tensor_get_i64(tmax, 0) : 0;
    float iou = tiou && onnxq_numel_of(tiou) ? (float)onnxq_tensor_get_f64(tiou, 0) : 0.0f;
    bool has_thr = tsc && onnxq_numel_of(tsc);
    float thr = has_thr ? (float)onnxq_tensor_get_f64(tsc, 0) : 0.0f;
    size_t nb = (size_t)bt->dims[0], nbox = (size_t)bt->dims[1], ncls = (size_t)sct->dims[1];
    if (max_out < 0)
        max_out = 0;
    if ((uint64_t)max_out > nbox)
        max_out = (int64_t)nbox;
    /* corners of every box, scores as float */
    size_t nbx = nb * nbox, nsc = nb * ncls * nbox;
    float *corners = malloc((nbx * 4 + nsc) * sizeof(float) + 1);
    int64_t *cand = malloc((2 * nbox + 1) * sizeof(int64_t));
    int64_t *sel = malloc((nb * ncls * (size_t)max_out * 3 + 1) * sizeof(int64_t));
    if (!corners || !cand || !sel) {
        free(corners);
        free(cand);
        free(sel);
        return FAIL(ctx, ONNXQ_E_NOMEM, "out of memory");
    }
    float *scores = corners + nbx * 4;
    for (size_t i = 0; i < nbx; i++) {
        float b[4];
        for (int q = 0; q < 4; q++)
            b[q] = (float)onnxq_tensor_get_f64(bt, i * 4 + (size_t)q);
        nms_corners(b, s->center, corners + i * 4);
    }
    for (size_t i = 0; i < nsc; i++)
        scores[i] = (float)onnxq_tensor_get_f64(sct, i);
    size_t nsel = 0;
    for (size_t b = 0; b < nb && max_out > 0; b++) {
        const float *cb = corners + b * nbox * 4;
        for (size_t c = 0; c < ncls; c++) {
            const float *sc = scores + (b * ncls + c) * nbox;
            size_t nc = 0;
            for (size_t i = 0; i < nbox; i++)
                if (!has_thr || sc[i] > thr)
                    cand[nc++] = (int64_t)i;
            struct nms_sort ns = {.score = sc};
            sort_idx(cand, cand + nbox, nc, nms_score_greater, &ns);
            size_t first = nsel, kept = 0;
            for (size_t i = 0; i < nc && kept < (size_t)max_out; i++) {
                const float *bx = cb + (size_t)cand[i] * 4;
                bool drop = false;
                for (size_t q = first; q < nsel && !drop; q++)
                    drop = nms_suppress(cb + (size_t)sel[q * 3 + 2] * 4, bx, iou);
                if (drop)
                    continue;
                sel[nsel * 3] = (int64_t)b;
                sel[nsel * 3 + 1] = (int64_t)c;
                sel[nsel * 3 + 2] = cand[i];
                nsel++;
                kept++;
            }
        }
    }
    int64_t dims[2] = {(int64_t)nsel, 3};
    struct onnxq_tensor *y = onnxq_opt_out(ctx, 0);
    if (y && !(st = onnxq_tensor_alloc(y, ONNXQ_DT_INT64, 2, dims, ctx->err)) && nsel)
        memcpy(y->data, sel, nsel * 3 * sizeof(int64_t));
    free(corners);
    free(cand);
    free(sel);
    return st;
}

/* =====================================================================
 * 3. Scans and elementwise
 * ===================================================================== */

/* -------------------------------------------------------------- CumSum */

struct cumsum_state {
    bool exclusive, reverse;
};

enum onnxq_status onnxq_misc_cumsum_init(struct onnxq_op_init *ictx, void **state)
{
    struct cumsum_state *s = calloc(1, sizeof(*s));
    if (!s)
        return onnxq_fail(ictx->err, ONNXQ_E_NOMEM, "out of memory");
    s->exclusive = onnxq_attr_int(ictx->node, "exclusive", 0) != 0;
    s->reverse = onnxq_attr_int(ictx->node, "reverse", 0) != 0;
    *state = s;
    return ONNXQ_OK;
}

static enum onnxq_status cumsum_axis(struct onnxq_op_ctx *ctx, int *axis)
{
    enum onnxq_status st = need_numeric(ctx, 0, "x");
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    if (x->dtype == ONNXQ_DT_BOOL)
        return FAIL(ctx, ONNXQ_E_UNSUPPORTED, "bool input");
    if (x->ndim < 1)
        return FAIL(ctx, ONNXQ_E_SHAPE, "input 'x' must have rank >= 1");
    int64_t a = 0;
    if ((st = scalar_int(ctx, 1, "axis", &a)))
        return st;
    return onnxq_norm_axis(ctx, a, x->ndim, axis);
}

enum onnxq_status onnxq_misc_cumsum_shape(void *state, struct onnxq_op_ctx *ctx)
{
    (void)state;
    int axis;
    enum onnxq_status st = cumsum_axis(ctx, &axis);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    onnxq_out_shape(onnxq_opt_out(ctx, 0), x->dtype, x->ndim, x->dims);
    return ONNXQ_OK;
}

/* One [n, inner] block: y[j] = y[j-1] + x[j] (exclusive: x[j-1]) walking
 * forward or backward; the inner loop is contiguous. Integer sums wrap
 * through the unsigned type U. */
#define CUMSUM_BLOCK(T, U, sfx)                                                                             \
    static void cumsum_##sfx(const void *xv, void *yv, size_t n, size_t inner, bool excl, bool rev)        \
    {                                                                                                       \
        const T *x = xv;                                                                                    \
        T *y = yv;                                                                                          \
        for (size_t q = 0; q < n; q++) {                                                                    \
            size_t j = rev ? n - 1 - q : q;                                                                 \
            T *yr = y + j * inner;                                                                          \
            if (q == 0) {                                                                                   \
                for (size_t i = 0; i < inner; i++)                                                          \
                    yr[i] = excl ? (T)0 : x[j * inner + i];                                                 \
                continue;                                                                                   \
            }                                                                                               \
            size_t jp = rev ? j + 1 : j - 1;                                                                \
            const T *prev = y + jp * inner, *add = x + (excl ? jp : j) * inner;                             \
            for (size_t i = 0; i < inner; i++)                                                              \
                yr[i] = (T)((U)prev[i] + (U)add[i]);                                                        \
        }                                                                                                   \
    }
CUMSUM_BLOCK(float, float, f32)
CUMSUM_BLOCK(double, double, f64)
CUMSUM_BLOCK(int32_t, uint32_t, i32)
CUMSUM_BLOCK(uint32_t, uint32_t, u32)
CUMSUM_BLOCK(int64_t, uint64_t, i64)
CUMSUM_BLOCK(uint64_t, uint64_t, u64)

enum onnxq_status onnxq_misc_cumsum_run(void *state, struct onnxq_op_ctx *ctx)
{
    const struct cumsum_state *s = state;
    int axis;
    enum onnxq_status st = cumsum_axis(ctx, &axis);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    struct onnxq_tensor *y = onnxq_opt_out(ctx, 0);
    if (!y)
        return ONNXQ_OK;
    size_t n = (size_t)x->dims[axis], inner = (size_t)prod(x->dims, axis + 1, x->ndim);
    size_t outer = (size_t)prod(x->dims, 0, axis), esz = onnxq_dtype_size(x->dtype);
    void (*fn)(const void *, void *, size_t, size_t, bool, bool) = NULL;
    switch (x->dtype) {
    case ONNXQ_DT_FLOAT: fn = cumsum_f32; break;
    case ONNXQ_DT_DOUBLE: fn = cumsum_f64; break;
    case ONNXQ_DT_INT32: fn = cumsum_i32; break;
    case ONNXQ_DT_UINT32: fn = cumsum_u32; break;
    case ONNXQ_DT_INT64: fn = cumsum_i64; break;
    case ONNXQ_DT_UINT64: fn = cumsum_u64; break;
    default: break;
    }
    for (size_t o = 0; o < outer; o++) {
        size_t base = o * n * inner;
        if (fn) {
            fn((const char *)x->data + base * esz, (char *)y->data + base * esz, n, inner, s->exclusive, s->reverse);
            continue;
        }
        /* other dtypes: each step in double, rounded to the dtype like a
         * sum kept in that dtype */
        for (size_t q = 0; q < n; q++) {
            size_t j = s->reverse ? n - 1 - q : q, jp = s->reverse ? j + 1 : j - 1;
            for (size_t i = 0; i < inner; i++) {
                double v;
                if (q == 0)
                    v = s->exclusive ? 0.0 : onnxq_tensor_get_f64(x, base + j * inner + i);
                else
                    v = onnxq_tensor_get_f64(y, base + jp * inner + i) +
                        onnxq_tensor_get_f64(x, base + (s->exclusive ? jp : j) * inner + i);
                onnxq_tensor_set_f64(y, base + j * inner + i, v);
            }
        }
    }
    return ONNXQ_OK;
}

/* -------------------------------------------------------------- Shrink */

struct shrink_state {
    float lambd, bias;
};

enum onnxq_status onnxq_misc_shrink_init(struct onnxq_op_init *ictx, void **state)
{
    struct shrink_state *s = calloc(1, sizeof(*s));
    if (!s)
        return onnxq_fail(ictx->err, ONNXQ_E_NOMEM, "out of memory");
    s->lambd = onnxq_attr_float(ictx->node, "lambd", 0.5f);
    s->bias = onnxq_attr_float(ictx->node, "bias", 0.0f);
    *state = s;
    return ONNXQ_OK;
}

enum onnxq_status onnxq_misc_shrink_shape(void *state, struct onnxq_op_ctx *ctx)
{
    (void)state;
    enum onnxq_status st = need_numeric(ctx, 0, "input");
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    if (x->dtype == ONNXQ_DT_BOOL)
        return FAIL(ctx, ONNXQ_E_UNSUPPORTED, "bool input");
    onnxq_out_shape(onnxq_opt_out(ctx, 0), x->dtype, x->ndim, x->dims);
    return ONNXQ_OK;
}

enum onnxq_status onnxq_misc_shrink_run(void *state, struct onnxq_op_ctx *ctx)
{
    const struct shrink_state *s = state;
    const struct onnxq_tensor *x = ctx->inputs[0];
    struct onnxq_tensor *y = onnxq_opt_out(ctx, 0);
    if (!y)
        return ONNXQ_OK;
    size_t n = onnxq_numel_of(x);
    if (x->dtype == ONNXQ_DT_FLOAT) {
        const float *xp = x->data;
        float *yp = y->data, l = s->lambd, b = s->bias;
        for (size_t i = 0; i < n; i++) {
            float v = xp[i];
            yp[i] = v < -l ? v + b : (v > l ? v - b : 0.0f);
        }
        return ONNXQ_OK;
    }
    double l = s->lambd, b = s->bias;
    for (size_t i = 0; i < n; i++) {
        double v = onnxq_tensor_get_f64(x, i);
        onnxq_tensor_set_f64(y, i, v < -l ? v + b : (v > l ? v - b : 0.0));
    }
    return ONNXQ_OK;
}

/* ------------------------------------------------------------- EyeLike */

struct eyelike_state {
    int dtype;   /* 0: the input's */
    int64_t k;
};

enum onnxq_status onnxq_misc_eyelike_init(struct onnxq_op_init *ictx, void **state)
{
    int64_t dt = onnxq_attr_int(ictx->node, "dtype", 0);
    if (dt != 0 && (!onnxq_dtype_valid((int)dt) || !dt_numeric((enum onnxq_dtype)dt)))
        return IFAIL(ictx, ONNXQ_E_UNSUPPORTED, "dtype %lld (%s) is not supported", (long long)dt,
                     onnxq_dtype_name((int)dt));
    struct eyelike_state *s = calloc(1, sizeof(*s));
    if (!s)
        return onnxq_fail(ictx->err, ONNXQ_E_NOMEM, "out of memory");
    s->dtype = (int)dt;
    s->k = onnxq_attr_int(ictx->node, "k", 0);
    *state = s;
    return ONNXQ_OK;
}

enum onnxq_status onnxq_misc_eyelike_shape(void *state, struct onnxq_op_ctx *ctx)
{
    const struct eyelike_state *s = state;
    enum onnxq_status st = need_in(ctx, 0, "input");
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    if (x->ndim != 2)
        return FAIL(ctx, ONNXQ_E_SHAPE, "input must be 2-D, not rank %d", x->ndim);
    enum onnxq_dtype dt = s->dtype ? (enum onnxq_dtype)s->dtype : x->dtype;
    if (!dt_numeric(dt))
        return FAIL(ctx, ONNXQ_E_UNSUPPORTED, "output dtype %s is not supported", onnxq_dtype_name(dt));
    onnxq_out_shape(onnxq_opt_out(ctx, 0), dt, 2, x->dims);
    return ONNXQ_OK;
}

enum onnxq_status onnxq_misc_eyelike_run(void *state, struct onnxq_op_ctx *ctx)
{
    const struct eyelike_state *s = state;
    struct onnxq_tensor *y = onnxq_opt_out(ctx, 0);
    if (!y || !y->data)
        return ONNXQ_OK;
    /* all-zero bytes are 0 in every numeric dtype */
    memset(y->data, 0, onnxq_numel_of(y) * onnxq_dtype_size(y->dtype));
    int64_t rows = y->dims[0], cols = y->dims[1];
    for (int64_t i = 0; i < rows; i++) {
        int64_t j = i + s->k;
        if (j >= 0 && j < cols)
            onnxq_tensor_set_f64(y, (size_t)(i * cols + j), 1.0);
    }
    return ONNXQ_OK;
}

/* -------------------------------------------------------------- OneHot */

struct onehot_state {
    int64_t axis;
    bool negative;   /* opset 11: indices in [-depth, 0) count from the back */
};

enum onnxq_status onnxq_misc_onehot_init(struct onnxq_op_init *ictx, void **state)
{
    struct onehot_state *s = calloc(1, sizeof(*s));
    if (!s)
        return onnxq_fail(ictx->err, ONNXQ_E_NOMEM, "out of memory");
    s->axis = onnxq_attr_int(ictx->node, "axis", -1);
    s->negative = ictx->opset >= 11;
    *state = s;
    return ONNXQ_OK;
}

static enum onnxq_status onehot_params(const struct onehot_state *s, struct onnxq_op_ctx *ctx, int *axis,
                                       int64_t *depth)
{
    enum onnxq_status st;
    if ((st = need_numeric(ctx, 0, "indices")) || (st = need_numeric(ctx, 1, "depth")) ||
        (st = need_movable(ctx, 2, "values")))
        return st;
    const struct onnxq_tensor *ind = ctx->inputs[0], *dep = ctx->inputs[1], *val = ctx->inputs[2];
    if (onnxq_numel_of(dep) != 1)
        return FAIL(ctx, ONNXQ_E_SHAPE, "input 'depth' must hold exactly one value");
    if (onnxq_numel_of(val) != 2 || val->ndim != 1)
        return FAIL(ctx, ONNXQ_E_SHAPE, "input 'values' must be [off_value, on_value]");
    double d = onnxq_tensor_get_f64(dep, 0);
    if (!(d >= 1) || d > 1e15)
        return FAIL(ctx, ONNXQ_E_SHAPE, "depth %g is not a positive size", d);
    *depth = (int64_t)d;
    if (ind->ndim + 1 > ONNXQ_MAX_DIMS)
        return FAIL(ctx, ONNXQ_E_UNSUPPORTED, "output rank %d is above %d", ind->ndim + 1, ONNXQ_MAX_DIMS);
    return onnxq_norm_axis(ctx, s->axis, ind->ndim + 1, axis);
}

enum onnxq_status onnxq_misc_onehot_shape(void *state, struct onnxq_op_ctx *ctx)
{
    int axis;
    int64_t depth;
    enum onnxq_status st = onehot_params(state, ctx, &axis, &depth);
    if (st)
        return st;
    const struct onnxq_tensor *ind = ctx->inputs[0];
    int64_t dims[ONNXQ_MAX_DIMS];
    int nd = 0;
    for (int i = 0; i <= ind->ndim; i++)
        dims[nd++] = i == axis ? depth : ind->dims[i < axis ? i : i - 1];
    onnxq_out_shape(onnxq_opt_out(ctx, 0), ctx->inputs[2]->dtype, nd, dims);
    return ONNXQ_OK;
}

enum onnxq_status onnxq_misc_onehot_run(void *state, struct onnxq_op_ctx *ctx)
{
    const struct onehot_state *s = state;
    int axis;
    int64_t depth;
    enum onnxq_status st = onehot_params(s, ctx, &axis, &depth);
    if (st)
        return st;
    const struct onnxq_tensor *ind = ctx->inputs[0], *val = ctx->inputs[2];
    struct onnxq_tensor *y = onnxq_opt_out(ctx, 0);
    if (!y)
        return ONNXQ_OK;
    size_t esz = onnxq_dtype_size(val->dtype), total = onnxq_numel_of(y);
    const char *off = val->data, *on = (const char *)val->data + esz;
    char *yd = y->data;
    for (size_t i = 0; i < total; i++)
        memcpy(yd + i * esz, off, esz);
    size_t outer = (size_t)prod(ind->dims, 0, axis), inner = (size_t)prod(ind->dims, axis, ind->ndim);
    bool is_float = dt_float(ind->dtype);
    for (size_t o = 0; o < outer; o++) {
        for (size_t i = 0; i < inner; i++) {
            size_t src = o * inner + i;
            int64_t v;
            if (is_float) {
                double f = onnxq_tensor_get_f64(ind, src);
                if (!(fabs(f) < 9e18))
                    continue;
                v = (int64_t)f;
            } else {
                v = onnxq_tensor_get_i64(ind, src);
            }
            if (v < 0 && s->negative)
                v += depth;
            if (v < 0 || v >= depth)
                continue;
            memcpy(yd + ((o * (size_t)depth + (size_t)v) * inner + i) * esz, on, esz);
        }
    }
    return ONNXQ_OK;
}

/* =====================================================================
 * 4. Data movement
 * ===================================================================== */

/* ------------------------------------------------------------ Compress */

struct compress_state {
    bool has_axis;
    int64_t axis;
};

enum onnxq_status onnxq_misc_compress_init(struct onnxq_op_init *ictx, void **state)
{
    struct compress_state *s = calloc(1, sizeof(*s));
    if (!s)
        return onnxq_fail(ictx->err, ONNXQ_E_NOMEM, "out of memory");
    s->has_axis = onnxq_attr_has(ictx->node, "axis");
    s->axis = onnxq_attr_int(ictx->node, "axis", 0);
    *state = s;
    return ONNXQ_OK;
}

/* outer x dim x inner view of the input; *kept = selected slices among the
 * first min(len(condition), dim). */
static enum onnxq_status compress_params(const struct compress_state *s, struct onnxq_op_ctx *ctx, int *axis,
                                         size_t *outer, size_t *dim, size_t *inner, size_t *kept)
{
    enum onnxq_status st;
    if ((st = need_movable(ctx, 0, "input")) || (st = need_numeric(ctx, 1, "condition")))
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0], *c = ctx->inputs[1];
    if (c->ndim != 1)
        return FAIL(ctx, ONNXQ_E_SHAPE, "condition must be 1-D, not rank %d", c->ndim);
    *axis = -1;
    if (s->has_axis) {
        if ((st = onnxq_norm_axis(ctx, s->axis, x->ndim, axis)))
            return st;
        *outer = (size_t)prod(x->dims, 0, *axis);
        *dim = (size_t)x->dims[*axis];
        *inner = (size_t)prod(x->dims, *axis + 1, x->ndim);
    } else {
        *outer = 1;
        *dim = onnxq_numel_of(x);
        *inner = 1;
    }
    size_t len = onnxq_numel_of(c);
    *kept = 0;
    for (size_t i = 0; i < len; i++) {
        if (onnxq_tensor_get_f64(c, i) == 0)
            continue;
        if (i >= *dim)
            return FAIL(ctx, ONNXQ_E_SHAPE, "condition selects index %zu, beyond the %zu slices of the input", i,
                        *dim);
        (*kept)++;
    }
    return ONNXQ_OK;
}

enum onnxq_status onnxq_misc_compress_shape(void *state, struct onnxq_op_ctx *ctx)
{
    int axis;
    size_t outer, dim, inner, kept;
    enum onnxq_status st = compress_params(state, ctx, &axis, &outer, &dim, &inner, &kept);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    int64_t dims[ONNXQ_MAX_DIMS];
    if (axis < 0) {
        dims[0] = (int64_t)kept;
        onnxq_out_shape(onnxq_opt_out(ctx, 0), x->dtype, 1, dims);
    } else {
        memcpy(dims, x->dims, sizeof(dims));
        dims[axis] = (int64_t)kept;
        onnxq_out_shape(onnxq_opt_out(ctx, 0), x->dtype, x->ndim, dims);
    }
    return ONNXQ_OK;
}

enum onnxq_status onnxq_misc_compress_run(void *state, struct onnxq_op_ctx *ctx)
{
    int axis;
    size_t outer, dim, inner, kept;
    enum onnxq_status st = compress_params(state, ctx, &axis, &outer, &dim, &inner, &kept);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0], *c = ctx->inputs[1];
    struct onnxq_tensor *y = onnxq_opt_out(ctx, 0);
    if (!y || !kept)
        return ONNXQ_OK;
    size_t blk = inner * onnxq_dtype_size(x->dtype), len = onnxq_numel_of(c);
    if (len > dim)
        len = dim;
    const char *xd = x->data;
    char *yd = y->data;
    for (size_t o = 0; o < outer; o++)
        for (size_t j = 0; j < len; j++)
            if (onnxq_tensor_get_f64(c, j) != 0) {
                memcpy(yd, xd + (o * dim + j) * blk, blk);
                yd += blk;
            }
    return ONNXQ_OK;
}

/* ----------------------------------------------------- ReverseSequence */

struct revseq_state {
    int batch_axis, time_axis;
};

enum onnxq_status onnxq_misc_revseq_init(struct onnxq_op_init *ictx, void **state)
{
    int64_t b = onnxq_attr_int(ictx->node, "batch_axis", 1), t = onnxq_attr_int(ictx->node, "time_axis", 0);
    if (!((b == 0 && t == 1) || (b == 1 && t == 0)))
        return IFAIL(ictx, ONNXQ_E_INVALID_MODEL, "batch_axis %lld and time_axis %lld must be 0 and 1 in some order",
                     (long long)b, (long long)t);
    struct revseq_state *s = calloc(1, sizeof(*s));
    if (!s)
        return onnxq_fail(ictx->err, ONNXQ_E_NOMEM, "out of memory");
    s->batch_axis = (int)b;
    s->time_axis = (int)t;
    *state = s;
    return ONNXQ_OK;
}

static enum onnxq_status revseq_check(const struct revseq_state *s, struct onnxq_op_ctx *ctx)
{
    enum onnxq_status st;
    if ((st = need_movable(ctx, 0, "input")) || (st = need_index(ctx, 1, "sequence_lens")))
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0], *l = ctx->inputs[1];
    if (x->ndim < 2)
        return FAIL(ctx, ONNXQ_E_SHAPE, "input must have rank >= 2, not %d", x->ndim);
    if (l->ndim != 1 || l->dims[0] != x->dims[s->batch_axis])
        return FAIL(ctx, ONNXQ_E_SHAPE, "sequence_lens must be 1-D of the batch size %lld",
                    (long long)x->dims[s->batch_axis]);
    int64_t tmax = x->dims[s->time_axis];
    for (size_t i = 0; i < onnxq_numel_of(l); i++) {
        int64_t v = onnxq_tensor_get_i64(l, i);
        if (v < 0 || v > tmax)
            return FAIL(ctx, ONNXQ_E_SHAPE, "sequence_lens[%zu] = %lld is outside [0, %lld]", i, (long long)v,
                        (long long)tmax);
    }
    return ONNXQ_OK;
}

enum onnxq_status onnxq_misc_revseq_shape(void *state, struct onnxq_op_ctx *ctx)
{
    enum onnxq_status st = revseq_check(state, ctx);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    onnxq_out_shape(onnxq_opt_out(ctx, 0), x->dtype, x->ndim, x->dims);
    return ONNXQ_OK;
}

enum onnxq_status onnxq_misc_revseq_run(void *state, struct onnxq_op_ctx *ctx)
{
    const struct revseq_state *s = state;
    enum onnxq_status st = revseq_check(s, ctx);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0], *l = ctx->inputs[1];
    struct onnxq_tensor *y = onnxq_opt_out(ctx, 0);
    if (!y)
        return ONNXQ_OK;
    size_t nb = (size_t)x->dims[s->batch_axis], nt = (size_t)x->dims[s->time_axis];
    size_t blk = (size_t)prod(x->dims, 2, x->ndim) * onnxq_dtype_size(x->dtype);
    const char *xd = x->data;
    char *yd = y->data;
    for (size_t b = 0; b < nb; b++) {
        size_t len = (size_t)onnxq_tensor_get_i64(l, b);
        for (size_t t = 0; t < nt; t++) {
            size_t src_t = t < len ? len - 1 - t : t;
            size_t dst = s->batch_axis == 0 ? b * nt + t : t * nb + b;
            size_t src = s->batch_axis == 0 ? b * nt + src_t : src_t * nb + b;
            memcpy(yd + dst * blk, xd + src * blk, blk);
        }
    }
    return ONNXQ_OK;
}

/* ------------------------------------------------------------ GatherND */

struct gathernd_state {
    int64_t batch_dims;
};

enum onnxq_status onnxq_misc_gathernd_init(struct onnxq_op_init *ictx, void **state)
{
    struct gathernd_state *s = calloc(1, sizeof(*s));
    if (!s)
        return onnxq_fail(ictx->err, ONNXQ_E_NOMEM, "out of memory");
    s->batch_dims = ictx->opset >= 12 ? onnxq_attr_int(ictx->node, "batch_dims", 0) : 0;
    *state = s;
    return ONNXQ_OK;
}

static enum onnxq_status gathernd_check(const struct gathernd_state *s, struct onnxq_op_ctx *ctx, int *bd, int *k)
{
    enum onnxq_status st;
    if ((st = need_movable(ctx, 0, "data")) || (st = need_index(ctx, 1, "indices")))
        return st;
    const struct onnxq_tensor *d = ctx->inputs[0], *ind = ctx->inputs[1];
    char s1[128], s2[128];
    shp(d->dims, d->ndim, s1, sizeof(s1));
    shp(ind->dims, ind->ndim, s2, sizeof(s2));
    if (d->ndim < 1 || ind->ndim < 1)
        return FAIL(ctx, ONNXQ_E_SHAPE, "data %s and indices %s must have rank >= 1", s1, s2);
    int64_t b = s->batch_dims;
    if (b < 0 || b >= d->ndim || b >= ind->ndim)
        return FAIL(ctx, ONNXQ_E_SHAPE, "batch_dims %lld is out of range for data %s and indices %s", (long long)b,
                    s1, s2);
    int64_t kk = ind->dims[ind->ndim - 1];
    if (kk < 0 || kk > d->ndim - b)
        return FAIL(ctx, ONNXQ_E_SHAPE, "indices %s index %lld dims of data %s beyond batch_dims %lld", s2,
                    (long long)kk, s1, (long long)b);
    for (int i = 0; i < b; i++)
        if (d->dims[i] != ind->dims[i])
            return FAIL(ctx, ONNXQ_E_SHAPE, "batch dims of data %s and indices %s differ", s1, s2);
    int onr = ind->ndim - 1 + d->ndim - (int)b - (int)kk;
    if (onr > ONNXQ_MAX_DIMS)
        return FAIL(ctx, ONNXQ_E_UNSUPPORTED, "output rank %d is above %d", onr, ONNXQ_MAX_DIMS);
    *bd = (int)b;
    *k = (int)kk;
    return ONNXQ_OK;
}

enum onnxq_status onnxq_misc_gathernd_shape(void *state, struct onnxq_op_ctx *ctx)
{
    int b, k;
    enum onnxq_status st = gathernd_check(state, ctx, &b, &k);
    if (st)
        return st;
    const struct onnxq_tensor *d = ctx->inputs[0], *ind = ctx->inputs[1];
    int64_t dims[ONNXQ_MAX_DIMS];
    int nd = 0;
    for (int i = 0; i < ind->ndim - 1; i++)
        dims[nd++] = ind->dims[i];
    for (int i = b + k; i < d->ndim; i++)
        dims[nd++] = d->dims[i];
    onnxq_out_shape(onnxq_opt_out(ctx, 0), d->dtype, nd, dims);
    return ONNXQ_OK;
}

enum onnxq_status onnxq_misc_gathernd_run(void *state, struct onnxq_op_ctx *ctx)
{
    int b, k;
    enum onnxq_status st = gathernd_check(state, ctx, &b, &k);
    if (st)
        return st;
    const struct onnxq_tensor *d = ctx->inputs[0], *ind = ctx->inputs[1];
    struct onnxq_tensor *y = onnxq_opt_out(ctx, 0);
    if (!y)
        return ONNXQ_OK;
    size_t esz = onnxq_dtype_size(d->dtype);
    size_t nbatch = (size_t)prod(d->dims, 0, b), per = (size_t)prod(ind->dims, b, ind->ndim - 1);
    size_t slice = (size_t)prod(d->dims, b + k, d->ndim), dbatch = (size_t)prod(d->dims, b, d->ndim);
    int64_t str[ONNXQ_MAX_DIMS];
    for (int i = 0; i < k; i++)
        str[i] = prod(d->dims, b + i + 1, d->ndim);
    const char *dd = d->data;
    char *yd = y->data;
    for (size_t bi = 0; bi < nbatch; bi++) {
        for (size_t j = 0; j < per; j++) {
            size_t row = (bi * per + j) * (size_t)k, off = bi * dbatch;
            for (int q = 0; q < k; q++) {
                int64_t v;
                if (!wrap_index(ind, row + (size_t)q, d->dims[b + q], &v))
                    return FAIL(ctx, ONNXQ_E_SHAPE, "index %lld at indices element %zu is out of range for dim %d "
                                "of size %lld", (long long)raw_index(ind, row + (size_t)q), row + (size_t)q, b + q,
                                (long long)d->dims[b + q]);
                off += (size_t)v * (size_t)str[q];
            }
            memcpy(yd + (bi * per + j) * slice * esz, dd + off * esz, slice * esz);
        }
    }
    return ONNXQ_OK;
}

/* ----------------------------------------------------------- ScatterND */

struct scatter_state {
    int64_t axis;
    int reduction;
};

/* Scatter state; the reduction attribute is read when the op has one
 * (opset 16+), the axis attribute when `axis` (ScatterElements). */
static enum onnxq_status scatter_init(struct onnxq_op_init *ictx, void **state, bool has_reduction, bool axis)
{
    int red = RED_NONE;
    if (has_reduction) {
        enum onnxq_status st = parse_reduction(ictx, ictx->opset >= 18, &red);
        if (st)
            return st;
    }
    struct scatter_state *s = calloc(1, sizeof(*s));
    if (!s)
        return onnxq_fail(ictx->err, ONNXQ_E_NOMEM, "out of memory");
    s->reduction = red;
    if (axis)
        s->axis = onnxq_attr_int(ictx->node, "axis", 0);
    *state = s;
    return ONNXQ_OK;
}

enum onnxq_status onnxq_misc_scatternd_init(struct onnxq_op_init *ictx, void **state)
{
    return scatter_init(ictx, state, ictx->opset >= 16, false);
}

/* data, indices and updates shapes, formatted for messages */
struct scatter_shapes {
    char data[128], indices[128], updates[128];
};

/* Checks shared by ScatterND and ScatterElements; sets output 0's shape
 * (data's) and formats the three input shapes into sh. */
static enum onnxq_status scatter_common(const struct scatter_state *s, struct onnxq_op_ctx *ctx,
                                        struct scatter_shapes *sh)
{
    enum onnxq_status st;
    if ((st = need_movable(ctx, 0, "data")) || (st = need_index(ctx, 1, "indices")) ||
        (st = need_movable(ctx, 2, "updates")))
        return st;
    const struct onnxq_tensor *d = ctx->inputs[0], *u = ctx->inputs[2];
    if (u->dtype != d->dtype)
        return FAIL(ctx, ONNXQ_E_INVALID_MODEL, "updates dtype %s differs from data dtype %s",
                    onnxq_dtype_name(u->dtype), onnxq_dtype_name(d->dtype));
    if (s->reduction != RED_NONE && !dt_numeric(d->dtype))
        return FAIL(ctx, ONNXQ_E_UNSUPPORTED, "reduction on dtype %s", onnxq_dtype_name(d->dtype));
    onnxq_out_shape(onnxq_opt_out(ctx, 0), d->dtype, d->ndim, d->dims);
    const struct onnxq_tensor *ind = ctx->inputs[1];
    shp(d->dims, d->ndim, sh->data, sizeof(sh->data));
    shp(ind->dims, ind->ndim, sh->indices, sizeof(sh->indices));
    shp(u->dims, u->ndim, sh->updates, sizeof(sh->updates));
    return ONNXQ_OK;
}

/* Output 0 of a scatter starts as a copy of data; NULL if it is omitted. */
static struct onnxq_tensor *scatter_copy_data(struct onnxq_op_ctx *ctx)
{
    const struct onnxq_tensor *d = ctx->inputs[0];
    struct onnxq_tensor *y = onnxq_opt_out(ctx, 0);
    size_t n = onnxq_numel_of(d);
    if (y && n)
        memcpy(y->data, d->data, n * onnxq_dtype_size(d->dtype));
    return y;
}

static enum onnxq_status scatternd_check(const struct scatter_state *s, struct onnxq_op_ctx *ctx, int *k)
{
    struct scatter_shapes sh;
    enum onnxq_status st = scatter_common(s, ctx, &sh);
    if (st)
        return st;
    const struct onnxq_tensor *d = ctx->inputs[0], *ind = ctx->inputs[1], *u = ctx->inputs[2];
    if (ind->ndim < 1 || ind->dims[ind->ndim - 1] > d->ndim || ind->dims[ind->ndim - 1] < 0)
        return FAIL(ctx, ONNXQ_E_SHAPE, "indices %s do not index data %s", sh.indices, sh.data);
    *k = (int)ind->dims[ind->ndim - 1];
    bool ok = u->ndim == ind->ndim - 1 + d->ndim - *k;
    for (int i = 0; ok && i < ind->ndim - 1; i++)
        ok = u->dims[i] == ind->dims[i];
    for (int i = *k; ok && i < d->ndim; i++)
        ok = u->dims[ind->ndim - 1 + i - *k] == d->dims[i];
    if (!ok)
        return FAIL(ctx, ONNXQ_E_SHAPE, "updates %s must be indices.shape[:-1] + data.shape[k:] for data %s and "
                    "indices %s", sh.updates, sh.data, sh.indices);
    return ONNXQ_OK;
}

enum onnxq_status onnxq_misc_scatternd_shape(void *state, struct onnxq_op_ctx *ctx)
{
    int k;
    return scatternd_check(state, ctx, &k);
}

enum onnxq_status onnxq_misc_scatternd_run(void *state, struct onnxq_op_ctx *ctx)
{
    const struct scatter_state *s = state;
    int k;
    enum onnxq_status st = scatternd_check(s, ctx, &k);
    if (st)
        return st;
    const struct onnxq_tensor *d = ctx->inputs[0], *ind = ctx->inputs[1], *u = ctx->inputs[2];
    struct onnxq_tensor *y = scatter_copy_data(ctx);
    if (!y)
        return ONNXQ_OK;
    size_t esz = onnxq_dtype_size(d->dtype);
    size_t nupd = (size_t)prod(ind->dims, 0, ind->ndim - 1), slice = (size_t)prod(d->dims, k, d->ndim);
    int64_t str[ONNXQ_MAX_DIMS];
    for (int i = 0; i < k; i++)
        str[i] = prod(d->dims, i + 1, d->ndim);
    char *yd = y->data;
    const char *ud = u->data;
    for (size_t j = 0; j < nupd; j++) {
        size_t off = 0;
        for (int q = 0; q < k; q++) {
            int64_t v;
            size_t e = j * (size_t)k + (size_t)q;
            if (!wrap_index(ind, e, d->dims[q], &v))
                return FAIL(ctx, ONNXQ_E_SHAPE, "index %lld at indices element %zu is out of range for dim %d of "
                            "size %lld", (long long)raw_index(ind, e), e, q, (long long)d->dims[q]);
            off += (size_t)v * (size_t)str[q];
        }
        if (s->reduction == RED_NONE) {
            memcpy(yd + off * esz, ud + j * slice * esz, slice * esz);
            continue;
        }
        for (size_t i = 0; i < slice; i++)
            reduce_elem(d->dtype, esz, s->reduction, yd + (off + i) * esz, ud + (j * slice + i) * esz);
    }
    return ONNXQ_OK;
}

/* ------------------------------------------- ScatterElements / Scatter */

enum onnxq_status onnxq_misc_scatter_elements_init(struct onnxq_op_init *ictx, void **state)
{
    /* Scatter (deprecated) never had a reduction */
    bool has_reduction = ictx->opset >= 16 && strcmp(ictx->node->op_type, "ScatterElements") == 0;
    return scatter_init(ictx, state, has_reduction, true);
}

static enum onnxq_status scatter_elements_check(const struct scatter_state *s, struct onnxq_op_ctx *ctx, int *axis)
{
    struct scatter_shapes sh;
    enum onnxq_status st = scatter_common(s, ctx, &sh);
    if (st)
        return st;
    const struct onnxq_tensor *d = ctx->inputs[0], *ind = ctx->inputs[1], *u = ctx->inputs[2];
    if (d->ndim < 1)
        return FAIL(ctx, ONNXQ_E_SHAPE, "data must have rank >= 1");
    if ((st = onnxq_norm_axis(ctx, s->axis, d->ndim, axis)))
        return st;
    bool ok = ind->ndim == d->ndim && u->ndim == d->ndim;
    for (int i = 0; ok && i < d->ndim; i++)
        ok = u->dims[i] == ind->dims[i] && (i == *axis || ind->dims[i] <= d->dims[i]);
    if (!ok)
        return FAIL(ctx, ONNXQ_E_SHAPE, "indices %s and updates %s must have one shape, within data %s", sh.indices,
                    sh.updates, sh.data);
    return ONNXQ_OK;
}

enum onnxq_status onnxq_misc_scatter_elements_shape(void *state, struct onnxq_op_ctx *ctx)
{
    int axis;
    return scatter_elements_check(state, ctx, &axis);
}

enum onnxq_status onnxq_misc_scatter_elements_run(void *state, struct onnxq_op_ctx *ctx)
{
    const struct scatter_state *s = state;
    int axis;
    enum onnxq_status st = scatter_elements_check(s, ctx, &axis);
    if (st)
        return st;
    const struct onnxq_tensor *d = ctx->inputs[0], *ind = ctx->inputs[1], *u = ctx->inputs[2];
    struct onnxq_tensor *y = scatter_copy_data(ctx);
    if (!y)
        return ONNXQ_OK;
    size_t esz = onnxq_dtype_size(d->dtype), m = onnxq_numel_of(ind);
    int nd = d->ndim;
    int64_t dstr[ONNXQ_MAX_DIMS], pos[ONNXQ_MAX_DIMS] = {0};
    for (int i = 0; i < nd; i++)
        dstr[i] = prod(d->dims, i + 1, nd);
    /* offset in data of the current indices position, without the axis term */
    size_t base = 0;
    char *yd = y->data;
    const char *ud = u->data;
    for (size_t e = 0; e < m; e++) {
        int64_t v;
        if (!wrap_index(ind, e, d->dims[axis], &v))
            return FAIL(ctx, ONNXQ_E_SHAPE, "index %lld at indices element %zu is out of range for axis %d of size "
                        "%lld", (long long)raw_index(ind, e), e, axis, (long long)d->dims[axis]);
        size_t off = base + (size_t)v * (size_t)dstr[axis];
        reduce_elem(d->dtype, esz, s->reduction, yd + off * esz, ud + e * esz);
        for (int q = nd - 1; q >= 0; q--) {
            if (q != axis)
                base += (size_t)dstr[q];
            if (++pos[q] < ind->dims[q])
                break;
            if (q != axis)
                base -= (size_t)(pos[q] * dstr[q]);
            pos[q] = 0;
        }
    }
    return ONNXQ_OK;
}

/* ----------------------------------------------------------- MaxUnpool */

struct maxunpool_state {
    int nk;
    int64_t kernel[ONNXQ_MAX_DIMS], strides[ONNXQ_MAX_DIMS], pads[2 * ONNXQ_MAX_DIMS];
};

enum onnxq_status onnxq_misc_maxunpool_init(struct onnxq_op_init *ictx, void **state)
{
    size_t nk, np, ns;
    const int64_t *k = onnxq_attr_ints(ictx->node, "kernel_shape", &nk);
    const int64_t *p = onnxq_attr_ints(ictx->node, "pads", &np);
    const int64_t *st = onnxq_attr_ints(ictx->node, "strides", &ns);
    if (!k || nk == 0 || nk > ONNXQ_MAX_DIMS - 2)
        return IFAIL(ictx, ONNXQ_E_INVALID_MODEL, "attribute kernel_shape is missing or has %zu entries", nk);
    if ((p && np != 2 * nk) || (st && ns != nk))
        return IFAIL(ictx, ONNXQ_E_INVALID_MODEL, "pads (%zu) / strides (%zu) do not match kernel_shape (%zu)", np,
                     ns, nk);
    struct maxunpool_state *s = calloc(1, sizeof(*s));
    if (!s)
        return onnxq_fail(ictx->err, ONNXQ_E_NOMEM, "out of memory");
    s->nk = (int)nk;
    for (size_t i = 0; i < nk; i++) {
        s->kernel[i] = k[i];
        s->strides[i] = st ? st[i] : 1;
        s->pads[i] = p ? p[i] : 0;
        s->pads[i + nk] = p ? p[i + nk] : 0;
        if (s->kernel[i] < 1 || s->strides[i] < 1 || s->pads[i] < 0 || s->pads[i + nk] < 0) {
            free(s);
            return IFAIL(ictx, ONNXQ_E_INVALID_MODEL, "bad kernel_shape/strides/pads at dim %zu", i);
        }
    }
    *state = s;
    return ONNXQ_OK;
}

/* Output dims, and the dims the indices refer to: the unpooled shape
 * (in - 1) * stride + kernel - pads. An output_shape input may only
 * enlarge it; the unpooled block then sits at the output's origin. */
static enum onnxq_status maxunpool_dims(const struct maxunpool_state *s, struct onnxq_op_ctx *ctx, int64_t *dims,
                                        int64_t *inferred)
{
    enum onnxq_status st;
    if ((st = need_numeric(ctx, 0, "X")) || (st = need_index(ctx, 1, "I")))
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0], *ind = ctx->inputs[1], *os = onnxq_opt_in(ctx, 2);
    char s1[128], s2[128];
    if (x->ndim != s->nk + 2 || ind->ndim != x->ndim || memcmp(x->dims, ind->dims, (size_t)x->ndim * 8) != 0)
        return FAIL(ctx, ONNXQ_E_SHAPE, "X %s and I %s must have one shape of rank %d",
                    shp(x->dims, x->ndim, s1, sizeof(s1)), shp(ind->dims, ind->ndim, s2, sizeof(s2)), s->nk + 2);
    inferred[0] = x->dims[0];
    inferred[1] = x->dims[1];
    for (int i = 0; i < s->nk; i++) {
        inferred[i + 2] = (x->dims[i + 2] - 1) * s->strides[i] + s->kernel[i] - s->pads[i] - s->pads[i + s->nk];
        if (inferred[i + 2] < 0)
            return FAIL(ctx, ONNXQ_E_SHAPE, "output dim %d would be negative", i + 2);
    }
    memcpy(dims, inferred, (size_t)x->ndim * sizeof(int64_t));
    if (!os || !onnxq_numel_of(os))
        return ONNXQ_OK;
    if (!dt_index(os->dtype) || onnxq_numel_of(os) != (size_t)x->ndim)
        return FAIL(ctx, ONNXQ_E_SHAPE, "output_shape must be %d int64 values", x->ndim);
    for (int i = 0; i < x->ndim; i++) {
        dims[i] = onnxq_tensor_get_i64(os, (size_t)i);
        if (dims[i] < inferred[i] || (i < 2 && dims[i] != inferred[i]))
            return FAIL(ctx, ONNXQ_E_SHAPE, "output_shape %s is smaller than the unpooled shape %s",
                        shp(dims, i + 1, s1, sizeof(s1)), shp(inferred, x->ndim, s2, sizeof(s2)));
    }
    return ONNXQ_OK;
}

enum onnxq_status onnxq_misc_maxunpool_shape(void *state, struct onnxq_op_ctx *ctx)
{
    int64_t dims[ONNXQ_MAX_DIMS], inferred[ONNXQ_MAX_DIMS];
    enum onnxq_status st = maxunpool_dims(state, ctx, dims, inferred);
    if (st)
        return st;
    onnxq_out_shape(onnxq_opt_out(ctx, 0), ctx->inputs[0]->dtype, ctx->inputs[0]->ndim, dims);
    return ONNXQ_OK;
}

enum onnxq_status onnxq_misc_maxunpool_run(void *state, struct onnxq_op_ctx *ctx)
{
    int64_t dims[ONNXQ_MAX_DIMS], inferred[ONNXQ_MAX_DIMS];
    enum onnxq_status st = maxunpool_dims(state, ctx, dims, inferred);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0], *ind = ctx->inputs[1];
    struct onnxq_tensor *y = onnxq_opt_out(ctx, 0);
    if (!y)
        return ONNXQ_OK;
    int nd = x->ndim;
    size_t esz = onnxq_dtype_size(x->dtype), ny = onnxq_numel_of(y), nx = onnxq_numel_of(x);
    size_t ninf = (size_t)prod(inferred, 0, nd);
    bool same = memcmp(dims, inferred, (size_t)nd * sizeof(int64_t)) == 0;
    if (ny)
        memset(y->data, 0, ny * esz);
    for (size_t i = 0; i < nx; i++) {
        int64_t v = onnxq_tensor_get_i64(ind, i);
        if (v < 0 || (uint64_t)v >= ninf)
            return FAIL(ctx, ONNXQ_E_SHAPE, "index %lld at I element %zu is outside the %zu unpooled elements",
                        (long long)v, i, ninf);
        size_t dst = (size_t)v;
        if (!same) {
            /* coordinates in the unpooled shape, offset in the output */
            size_t rem = (size_t)v, off = 0, str = 1;
            for (int d = nd - 1; d >= 0; d--) {
                off += (rem % (size_t)inferred[d]) * str;
                rem /= (size_t)inferred[d];
                str *= (size_t)dims[d];
            }
            dst = off;
        }
        memcpy((char *)y->data + dst * esz, (const char *)x->data + i * esz, esz);
    }
    return ONNXQ_OK;
}

/* =====================================================================
 * 5. Losses
 * ===================================================================== */

enum { LOSS_NONE, LOSS_SUM, LOSS_MEAN };

struct loss_state {
    int reduction;
    bool has_ii;
    int64_t ignore_index;
};

enum onnxq_status onnxq_misc_loss_init(struct onnxq_op_init *ictx, void **state)
{
    char buf[16];
    const char *r = onnxq_attr_string(ictx->node, "reduction", "mean", buf, sizeof(buf));
    int red;
    if (strcmp(r, "none") == 0)
        red = LOSS_NONE;
    else if (strcmp(r, "sum") == 0)
        red = LOSS_SUM;
    else if (strcmp(r, "mean") == 0)
        red = LOSS_MEAN;
    else
        return IFAIL(ictx, ONNXQ_E_INVALID_MODEL, "reduction '%s' is not none, sum or mean", r);
    struct loss_state *s = calloc(1, sizeof(*s));
    if (!s)
        return onnxq_fail(ictx->err, ONNXQ_E_NOMEM, "out of memory");
    s->reduction = red;
    s->has_ii = onnxq_attr_has(ictx->node, "ignore_index");
    s->ignore_index = onnxq_attr_int(ictx->node, "ignore_index", 0);
    *state = s;
    return ONNXQ_OK;
}

/* Inputs: scores/log-probabilities [N, C, d...], target [N, d...], weight
 * [C] (optional). */
static enum onnxq_status loss_check(struct onnxq_op_ctx *ctx)
{
    enum onnxq_status st;
    if ((st = need_in(ctx, 0, "input")) || (st = need_index(ctx, 1, "target")))
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0], *t = ctx->inputs[1], *w = onnxq_opt_in(ctx, 2);
    if (!dt_float(x->dtype))
        return FAIL(ctx, ONNXQ_E_UNSUPPORTED, "input dtype %s is not a float type", onnxq_dtype_name(x->dtype));
    char s1[128], s2[128];
    shp(x->dims, x->ndim, s1, sizeof(s1));
    shp(t->dims, t->ndim, s2, sizeof(s2));
    bool ok = x->ndim >= 2 && t->ndim == x->ndim - 1 && t->dims[0] == x->dims[0];
    for (int i = 2; ok && i < x->ndim; i++)
        ok = t->dims[i - 1] == x->dims[i];
    if (!ok)
        return FAIL(ctx, ONNXQ_E_SHAPE, "input %s and target %s do not match [N, C, d...] and [N, d...]", s1, s2);
    if (w && (w->dtype != x->dtype || w->ndim != 1 || w->dims[0] != x->dims[1]))
        return FAIL(ctx, ONNXQ_E_SHAPE, "weight must be a %s vector of the %lld classes", onnxq_dtype_name(x->dtype),
                    (long long)x->dims[1]);
    return ONNXQ_OK;
}

static void loss_out_shape(const struct loss_state *s, struct onnxq_op_ctx *ctx)
{
    const struct onnxq_tensor *x = ctx->inputs[0], *t = ctx->inputs[1];
    if (s->reduction == LOSS_NONE)
        onnxq_out_shape(onnxq_opt_out(ctx, 0), x->dtype, t->ndim, t->dims);
    else
        onnxq_out_shape(onnxq_opt_out(ctx, 0), x->dtype, 0, NULL);
}

/* loss[n, d] = -lp[n, target, d] * weight[target] (0 where target is
 * ignore_index); reduced to a sum, or a mean weighted by the weights of the
 * targets not ignored. lp is the log-probability tensor in double, or NULL
 * to read input 0. */
static enum onnxq_status nll_core(const struct loss_state *s, struct onnxq_op_ctx *ctx, const double *lp)
{
    const struct onnxq_tensor *x = ctx->inputs[0], *t = ctx->inputs[1], *w = onnxq_opt_in(ctx, 2);
    struct onnxq_tensor *y = onnxq_opt_out(ctx, 0);
    size_t n = (size_t)x->dims[0], c = (size_t)x->dims[1], d = (size_t)prod(x->dims, 2, x->ndim);
    double sum = 0, wsum = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < d; j++) {
            size_t ti = i * d + j;
            int64_t cls = onnxq_tensor_get_i64(t, ti);
            double l = 0, wt = 0;
            if (!(s->has_ii && cls == s->ignore_index)) {
                if (cls < 0 || (uint64_t)cls >= c)
                    return FAIL(ctx, ONNXQ_E_SHAPE, "target %lld at element %zu is outside [0, %zu)", (long long)cls,
                                ti, c);
                size_t xi = (i * c + (size_t)cls) * d + j;
                wt = w ? onnxq_tensor_get_f64(w, (size_t)cls) : 1.0;
                l = -(lp ? lp[xi] : onnxq_tensor_get_f64(x, xi)) * wt;
            }
            if (s->reduction == LOSS_NONE) {
                if (y)
                    onnxq_tensor_set_f64(y, ti, l);
            } else {
                sum += l;
                wsum += wt;
            }
        }
    }
    if (y && s->reduction == LOSS_SUM)
        onnxq_tensor_set_f64(y, 0, sum);
    else if (y && s->reduction == LOSS_MEAN)
        onnxq_tensor_set_f64(y, 0, sum / wsum);
    return ONNXQ_OK;
}

enum onnxq_status onnxq_misc_nll_shape(void *state, struct onnxq_op_ctx *ctx)
{
    enum onnxq_status st = loss_check(ctx);
    if (st)
        return st;
    loss_out_shape(state, ctx);
    return ONNXQ_OK;
}

enum onnxq_status onnxq_misc_nll_run(void *state, struct onnxq_op_ctx *ctx)
{
    enum onnxq_status st = loss_check(ctx);
    if (st)
        return st;
    return nll_core(state, ctx, NULL);
}

enum onnxq_status onnxq_misc_sce_shape(void *state, struct onnxq_op_ctx *ctx)
{
    enum onnxq_status st = loss_check(ctx);
    if (st)
        return st;
    loss_out_shape(state, ctx);
    const struct onnxq_tensor *x = ctx->inputs[0];
    onnxq_out_shape(onnxq_opt_out(ctx, 1), x->dtype, x->ndim, x->dims);
    return ONNXQ_OK;
}

enum onnxq_status onnxq_misc_sce_run(void *state, struct onnxq_op_ctx *ctx)
{
    enum onnxq_status st = loss_check(ctx);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    size_t n = (size_t)x->dims[0], c = (size_t)x->dims[1], d = (size_t)prod(x->dims, 2, x->ndim);
    size_t total = n * c * d;
    double *lp = malloc(total * sizeof(double) + 1);
    if (!lp)
        return FAIL(ctx, ONNXQ_E_NOMEM, "out of memory");
    for (size_t i = 0; i < total; i++)
        lp[i] = onnxq_tensor_get_f64(x, i);
    /* log-softmax over the class axis */
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < d; j++) {
            double *p = lp + i * c * d + j, mx = -INFINITY, se = 0;
            for (size_t k = 0; k < c; k++)
                mx = p[k * d] > mx ? p[k * d] : mx;
            for (size_t k = 0; k < c; k++)
                se += exp(p[k * d] - mx);
            double lse = mx + log(se);
            for (size_t k = 0; k < c; k++)
                p[k * d] -= lse;
        }
    }
    struct onnxq_tensor *lpo = onnxq_opt_out(ctx, 1);
    if (lpo)
        for (size_t i = 0; i < total; i++)
            onnxq_tensor_set_f64(lpo, i, lp[i]);
    st = nll_core(state, ctx, lp);
    free(lp);
    return st;
}

/* =====================================================================
 * 6. Linear algebra
 * ===================================================================== */

/* -------------------------------------------------------------- Einsum
 *
 * The equation is parsed once (init) into terms of label tokens: letters
 * (ids 0..51, upper case first as in ASCII) and one ellipsis per term. At
 * run time the ellipsis expands to ids 52.. (right-aligned across inputs,
 * numpy broadcasting), and every label gets a size and, per input, an
 * element stride (summed over repeated labels, which takes diagonals; 0
 * where the input broadcasts). The reference kernel walks the output
 * labels and, per output element, the summed labels. Two float/double
 * inputs without diagonals or broadcasting take the fast path: gather
 * both into [batch, M, K] x [batch, K, N] and multiply with BLAS. */

#define EIN_MAX_IN 8
#define EIN_ELL (-1)
#define EIN_NG (52 + ONNXQ_MAX_DIMS)
#define EIN_MAX_TOK (ONNXQ_MAX_DIMS + 1)

struct ein_term {
    int n;
    int tok[EIN_MAX_TOK];
};

struct einsum_state {
    int n_in;
    bool has_out;
    struct ein_term in[EIN_MAX_IN], out;
};

static int ein_letter(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return 26 + (c - 'a');
    return -1;
}

enum onnxq_status onnxq_misc_einsum_init(struct onnxq_op_init *ictx, void **state)
{
    char eq[1024];
    const char *e = onnxq_attr_string(ictx->node, "equation", NULL, eq, sizeof(eq));
    if (!e)
        return IFAIL(ictx, ONNXQ_E_INVALID_MODEL, "attribute 'equation' is missing");
    struct einsum_state *s = calloc(1, sizeof(*s));
    if (!s)
        return onnxq_fail(ictx->err, ONNXQ_E_NOMEM, "out of memory");
    s->n_in = 1;
    struct ein_term *t = &s->in[0];
    bool ell[EIN_MAX_IN + 1] = {false};
    int ti = 0;
    for (const char *p = e; *p;) {
        int l = ein_letter(*p);
        if (*p == ' ') {
            p++;
            continue;
        }
        if (l >= 0 || *p == '.') {
            if (*p == '.') {
                if (strncmp(p, "...", 3) != 0 || ell[ti])
                    goto bad;
                ell[ti] = true;
                l = EIN_ELL;
                p += 3;
            } else {
                p++;
            }
            if (t->n >= EIN_MAX_TOK)
                goto bad;
            t->tok[t->n++] = l;
        } else if (*p == ',' && !s->has_out) {
            if (s->n_in == EIN_MAX_IN) {
                free(s);
                return IFAIL(ictx, ONNXQ_E_UNSUPPORTED, "more than %d operands", EIN_MAX_IN);
            }
            t = &s->in[s->n_in++];
            ti = s->n_in - 1;
            p++;
        } else if (p[0] == '-' && p[1] == '>' && !s->has_out) {
            s->has_out = true;
            t = &s->out;
            ti = EIN_MAX_IN;
            p += 2;
        } else {
            goto bad;
        }
    }
    *state = s;
    return ONNXQ_OK;
bad:
    free(s);
    return IFAIL(ictx, ONNXQ_E_INVALID_MODEL, "cannot parse equation '%s'", e);
}

struct ein_plan {
    int nin, nlab;
    int64_t size[EIN_NG];
    int nout, out[EIN_NG];
    int nred, red[EIN_NG];
    int64_t st[EIN_MAX_IN][EIN_NG];
    int64_t out_dims[ONNXQ_MAX_DIMS];
    bool simple;   /* no repeated label within a term, no broadcasting */
    bool in_term[EIN_MAX_IN][EIN_NG];
};

static enum onnxq_status ein_make_plan(const struct einsum_state *s, struct onnxq_op_ctx *ctx, struct ein_plan *p)
{
    if (ctx->n_inputs != (size_t)s->n_in)
        return FAIL(ctx, ONNXQ_E_INVALID_MODEL, "equation has %d operands, node has %zu inputs", s->n_in,
                    ctx->n_inputs);
    enum onnxq_dtype dt = ONNXQ_DT_UNDEFINED;
    int e_of[EIN_MAX_IN], E = 0;
    for (int i = 0; i < s->n_in; i++) {
        enum onnxq_status st = need_numeric(ctx, (size_t)i, "Inputs");
        if (st)
            return st;
        const struct onnxq_tensor *x = ctx->inputs[i];
        if (i == 0)
            dt = x->dtype;
        else if (x->dtype != dt)
            return FAIL(ctx, ONNXQ_E_INVALID_MODEL, "operands have dtypes %s and %s", onnxq_dtype_name(dt),
                        onnxq_dtype_name(x->dtype));
        int letters = 0;
        bool has_ell = false;
        for (int q = 0; q < s->in[i].n; q++) {
            if (s->in[i].tok[q] == EIN_ELL)
                has_ell = true;
            else
                letters++;
        }
        e_of[i] = x->ndim - letters;
        if (e_of[i] < 0 || (!has_ell && e_of[i] != 0))
            return FAIL(ctx, ONNXQ_E_SHAPE, "operand %d has rank %d, its term has %d labels%s", i, x->ndim, letters,
                        has_ell ? " and an ellipsis" : "");
        E = e_of[i] > E ? e_of[i] : E;
    }
    memset(p, 0, sizeof(*p));
    p->nin = s->n_in;
    p->simple = true;
    int cid[EIN_NG], count[EIN_NG] = {0};
    for (int g = 0; g < EIN_NG; g++)
        cid[g] = -1;
    for (int i = 0; i < s->n_in; i++) {
        const struct onnxq_tensor *x = ctx->inputs[i];
        int a = 0;
        int64_t str = 1;
        int64_t astr[ONNXQ_MAX_DIMS];
        for (int q = x->ndim - 1; q >= 0; q--) {
            astr[q] = str;
            str *= x->dims[q];
        }
        for (int q = 0; q < s->in[i].n; q++) {
            int tok = s->in[i].tok[q], reps = tok == EIN_ELL ? e_of[i] : 1;
            for (int r = 0; r < reps; r++, a++) {
                int g = tok == EIN_ELL ? 52 + (E - e_of[i]) + r : tok;
                int64_t dim = x->dims[a];
                count[g]++;
                if (cid[g] < 0) {
                    cid[g] = p->nlab;
                    p->size[p->nlab++] = dim;
                } else if (p->size[cid[g]] != dim) {
                    p->simple = false;
                    if (p->size[cid[g]] == 1)
                        p->size[cid[g]] = dim;
                    else if (dim != 1)
                        return FAIL(ctx, ONNXQ_E_SHAPE, "label size mismatch: %lld vs %lld (operand %d, axis %d)",
                                    (long long)p->size[cid[g]], (long long)dim, i, a);
                }
                int c = cid[g];
                if (p->in_term[i][c])
                    p->simple = false;
                p->in_term[i][c] = true;
                p->st[i][c] += dim == 1 ? 0 : astr[a];
            }
        }
    }
    bool in_out[EIN_NG] = {false};
    if (s->has_out) {
        for (int q = 0; q < s->out.n; q++) {
            int tok = s->out.tok[q];
            int reps = tok == EIN_ELL ? E : 1;
            for (int r = 0; r < reps; r++) {
                int g = tok == EIN_ELL ? 52 + r : tok;
                if (cid[g] < 0)
                    return FAIL(ctx, ONNXQ_E_INVALID_MODEL, "output label '%c' is not in any operand",
                                g < 26 ? 'A' + g : 'a' + (g - 26));
                if (in_out[cid[g]])
                    return FAIL(ctx, ONNXQ_E_INVALID_MODEL, "output repeats a label");
                in_out[cid[g]] = true;
                p->out[p->nout++] = cid[g];
            }
        }
    } else {
        for (int g = 52; g < 52 + E; g++) {
            in_out[cid[g]] = true;
            p->out[p->nout++] = cid[g];
        }
        for (int g = 0; g < 52; g++)
            if (count[g] == 1) {
                in_out[cid[g]] = true;
                p->out[p->nout++] = cid[g];
            }
    }
    if (p->nout > ONNXQ_MAX_DIMS)
        return FAIL(ctx, ONNXQ_E_UNSUPPORTED, "output rank %d is above %d", p->nout, ONNXQ_MAX_DIMS);
    for (int c = 0; c < p->nlab; c++)
        if (!in_out[c])
            p->red[p->nred++] = c;
    for (int q = 0; q < p->nout; q++)
        p->out_dims[q] = p->size[p->out[q]];
    return ONNXQ_OK;
}

enum onnxq_status onnxq_misc_einsum_shape(void *state, struct onnxq_op_ctx *ctx)
{
    struct ein_plan p;
    enum onnxq_status st = ein_make_plan(state, ctx, &p);
    if (st)
        return st;
    onnxq_out_shape(onnxq_opt_out(ctx, 0), ctx->inputs[0]->dtype, p.nout, p.out_dims);
    return ONNXQ_OK;
}

/* Reference: output elements [begin, end), each the sum over the reduced
 * labels of the product of the operands. */
struct ein_job {
    const struct ein_plan *p;
    const void *x[EIN_MAX_IN];
    void *y;
};

#define EIN_REF(T, ACC, OUT, sfx)                                                                         \
    static void ein_ref_##sfx(void *arg, size_t begin, size_t end)                                       \
    {                                                                                                     \
        const struct ein_job *j = arg;                                                                    \
        const struct ein_plan *p = j->p;                                                                  \
        int nin = p->nin;                                                                                 \
        int64_t idx[EIN_NG], base[EIN_MAX_IN] = {0}, off[EIN_MAX_IN], ridx[EIN_NG];                       \
        size_t rem = begin;                                                                               \
        for (int q = p->nout - 1; q >= 0; q--) {                                                          \
            int64_t sz = p->size[p->out[q]];                                                              \
            idx[q] = (int64_t)(rem % (size_t)sz);                                                         \
            rem /= (size_t)sz;                                                                            \
            for (int i = 0; i < nin; i++)                                                                 \
                base[i] += idx[q] * p->st[i][p->out[q]];                                                  \
        }                                                                                                 \
        int64_t nr = 1;                                                                                   \
        for (int q = 0; q < p->nred; q++)                                                                 \
            nr *= p->size[p->red[q]];                                                                     \
        OUT *y = j->y;                                                                                    \
        for (size_t o = begin; o < end; o++) {                                                            \
            ACC acc = 0;                                                                                  \
            for (int i = 0; i < nin; i++)                                                                 \
                off[i] = base[i];                                                                         \
            for (int q = 0; q < p->nred; q++)                                                             \
                ridx[q] = 0;                                                                              \
            for (int64_t r = 0; r < nr; r++) {                                                            \
                ACC pr = 1;                                                                               \
                for (int i = 0; i < nin; i++)                                                             \
                    pr *= (ACC)((const T *)j->x[i])[off[i]];                                              \
                acc += pr;                                                                                \
                for (int q = p->nred - 1; q >= 0; q--) {                                                  \
                    int c = p->red[q];                                                                    \
                    for (int i = 0; i < nin; i++)                                                         \
                        off[i] += p->st[i][c];                                                            \
                    if (++ridx[q] < p->size[c])                                                           \
                        break;                                                                            \
                    for (int i = 0; i < nin; i++)                                                         \
                        off[i] -= p->size[c] * p->st[i][c];                                               \
                    ridx[q] = 0;                                                                          \
                }                                                                                         \
            }                                                                                             \
            y[o] = (OUT)acc;                                                                              \
            for (int q = p->nout - 1; q >= 0; q--) {                                                      \
                int c = p->out[q];                                                                        \
                for (int i = 0; i < nin; i++)                                                             \
                    base[i] += p->st[i][c];                                                               \
                if (++idx[q] < p->size[c])                                                                \
                    break;                                                                                \
                for (int i = 0; i < nin; i++)                                                             \
                    base[i] -= p->size[c] * p->st[i][c];                                                  \
                idx[q] = 0;                                                                               \
            }                                                                                             \
        }                                                                                                 \
    }
EIN_REF(float, double, float, f32)
EIN_REF(double, double, double, f64)
EIN_REF(int32_t, uint64_t, int32_t, i32)
EIN_REF(int64_t, uint64_t, int64_t, i64)

static enum onnxq_status ein_run_ref(struct onnxq_op_ctx *ctx, const struct ein_plan *p)
{
    struct onnxq_tensor *y = onnxq_opt_out(ctx, 0);
    size_t total = onnxq_numel_of(y);
    if (!total)
        return ONNXQ_OK;
    int64_t nr = 1;
    for (int q = 0; q < p->nred; q++)
        nr *= p->size[p->red[q]];
    size_t grain = (size_t)(32768 / (nr * p->nin + 1)) + 1;
    struct ein_job j = {.p = p, .y = y->data};
    for (int i = 0; i < p->nin; i++)
        j.x[i] = ctx->inputs[i]->data;
    enum onnxq_dtype dt = ctx->inputs[0]->dtype;
    switch (dt) {
    case ONNXQ_DT_FLOAT: onnxq_parallel_for(ctx, total, grain, ein_ref_f32, &j); return ONNXQ_OK;
    case ONNXQ_DT_DOUBLE: onnxq_parallel_for(ctx, total, grain, ein_ref_f64, &j); return ONNXQ_OK;
    case ONNXQ_DT_INT32: onnxq_parallel_for(ctx, total, grain, ein_ref_i32, &j); return ONNXQ_OK;
    case ONNXQ_DT_INT64: onnxq_parallel_for(ctx, total, grain, ein_ref_i64, &j); return ONNXQ_OK;
    default: break;
    }
    /* other dtypes: through double copies */
    size_t sizes[EIN_MAX_IN], all = total;
    for (int i = 0; i < p->nin; i++) {
        sizes[i] = onnxq_numel_of(ctx->inputs[i]);
        all += sizes[i];
    }
    double *buf = malloc(all * sizeof(double) + 1), *q = buf;
    if (!buf)
        return FAIL(ctx, ONNXQ_E_NOMEM, "out of memory");
    for (int i = 0; i < p->nin; i++) {
        for (size_t k = 0; k < sizes[i]; k++)
            q[k] = onnxq_tensor_get_f64(ctx->inputs[i], k);
        j.x[i] = q;
        q += sizes[i];
    }
    j.y = q;
    onnxq_parallel_for(ctx, total, grain, ein_ref_f64, &j);
    for (size_t k = 0; k < total; k++)
        onnxq_tensor_set_f64(y, k, q[k]);
    free(buf);
    return ONNXQ_OK;
}

/* Copy src into dst laid out contiguously over `n` labels of the given
 * sizes, reading src at the given strides. */
#define EIN_GATHER(T, sfx)                                                                               \
    static void ein_gather_##sfx(const T *src, int n, const int64_t *sizes, const int64_t *sst, T *dst)   \
    {                                                                                                     \
        int64_t total = 1, idx[EIN_NG] = {0}, off = 0;                                                    \
        for (int q = 0; q < n; q++)                                                                       \
            total *= sizes[q];                                                                            \
        for (int64_t e = 0; e < total; e++) {                                                             \
            dst[e] = src[off];                                                                            \
            for (int q = n - 1; q >= 0; q--) {                                                            \
                off += sst[q];                                                                            \
                if (++idx[q] < sizes[q])                                                                  \
                    break;                                                                                \
                off -= sizes[q] * sst[q];                                                                 \
                idx[q] = 0;                                                                               \
            }                                                                                             \
        }                                                                                                 \
    }
EIN_GATHER(float, f32)
EIN_GATHER(double, f64)

/* True if strides sst over sizes are the contiguous layout (size-1 labels
 * ignored). */
static bool ein_contiguous(int n, const int64_t *sizes, const int64_t *sst)
{
    int64_t s = 1;
    for (int q = n - 1; q >= 0; q--) {
        if (sizes[q] == 1)
            continue;
        if (sst[q] != s)
            return false;
        s *= sizes[q];
    }
    return true;
}

/* Fast path. Returns false (nothing written) when the plan does not fit. */
static enum onnxq_status ein_run_fast(struct onnxq_op_ctx *ctx, const struct ein_plan *p, bool *done)
{
    *done = false;
    enum onnxq_dtype dt = ctx->inputs[0]->dtype;
    if (p->nin != 2 || !p->simple || (dt != ONNXQ_DT_FLOAT && dt != ONNXQ_DT_DOUBLE))
        return ONNXQ_OK;
    int lb[EIN_NG], lm[EIN_NG], ln[EIN_NG], lk[EIN_NG], nb = 0, nm = 0, nn = 0, nk = 0;
    for (int q = 0; q < p->nout; q++) {
        int c = p->out[q];
        bool a = p->in_term[0][c], b = p->in_term[1][c];
        if (a && b)
            lb[nb++] = c;
        else if (a)
            lm[nm++] = c;
        else
            ln[nn++] = c;
    }
    for (int q = 0; q < p->nred; q++) {
        int c = p->red[q];
        if (!p->in_term[0][c] || !p->in_term[1][c])
            return ONNXQ_OK;   /* summed over one operand only */
        lk[nk++] = c;
    }
    int64_t B = 1, M = 1, N = 1, K = 1;
    for (int q = 0; q < nb; q++)
        B *= p->size[lb[q]];
    for (int q = 0; q < nm; q++)
        M *= p->size[lm[q]];
    for (int q = 0; q < nn; q++)
        N *= p->size[ln[q]];
    for (int q = 0; q < nk; q++)
        K *= p->size[lk[q]];
    if (M > INT32_MAX || N > INT32_MAX || K > INT32_MAX)
        return ONNXQ_OK;
    struct onnxq_tensor *y = onnxq_opt_out(ctx, 0);
    *done = true;
    if (!y || B * M * N == 0)
        return ONNXQ_OK;
    /* label lists and strides of A' = [b, m, k], B' = [b, k, n], C' = [b, m, n] */
    int la[EIN_NG], lbb[EIN_NG], lc[EIN_NG], na = 0, nbb = 0, nc = 0;
    for (int q = 0; q < nb; q++)
        la[na++] = lbb[nbb++] = lc[nc++] = lb[q];
    for (int q = 0; q < nm; q++)
        la[na++] = lc[nc++] = lm[q];
    for (int q = 0; q < nk; q++)
        la[na++] = lbb[nbb++] = lk[q];
    for (int q = 0; q < nn; q++)
        lbb[nbb++] = lc[nc++] = ln[q];
    int64_t sza[EIN_NG], sa[EIN_NG], szb[EIN_NG], sb[EIN_NG], szc[EIN_NG], sc[EIN_NG];
    for (int q = 0; q < na; q++) {
        sza[q] = p->size[la[q]];
        sa[q] = p->st[0][la[q]];
    }
    for (int q = 0; q < nbb; q++) {
        szb[q] = p->size[lbb[q]];
        sb[q] = p->st[1][lbb[q]];
    }
    /* C' strides seen from the output label order */
    int64_t cst[EIN_NG], s = 1;
    for (int q = nc - 1; q >= 0; q--) {
        cst[lc[q]] = s;
        s *= p->size[lc[q]];
    }
    for (int q = 0; q < p->nout; q++) {
        szc[q] = p->size[p->out[q]];
        sc[q] = cst[p->out[q]];
    }
    bool a_direct = ein_contiguous(na, sza, sa), b_direct = ein_contiguous(nbb, szb, sb);
    bool c_direct = ein_contiguous(p->nout, szc, sc);
    size_t es = onnxq_dtype_size(dt);
    size_t need = (a_direct ? 0 : (size_t)(B * M * K)) + (b_direct ? 0 : (size_t)(B * K * N)) +
                  (c_direct ? 0 : (size_t)(B * M * N));
    char *buf = need ? malloc(need * es) : NULL;
    if (need && !buf)
        return FAIL(ctx, ONNXQ_E_NOMEM, "out of memory");
    char *q = buf;
    const char *A = ctx->inputs[0]->data, *Bm = ctx->inputs[1]->data;
    char *C = y->data;
    if (!a_direct) {
        if (dt == ONNXQ_DT_FLOAT)
            ein_gather_f32((const float *)A, na, sza, sa, (float *)q);
        else
            ein_gather_f64((const double *)A, na, sza, sa, (double *)q);
        A = q;
        q += (size_t)(B * M * K) * es;
    }
    if (!b_direct) {
        if (dt == ONNXQ_DT_FLOAT)
            ein_gather_f32((const float *)Bm, nbb, szb, sb, (float *)q);
        else
            ein_gather_f64((const double *)Bm, nbb, szb, sb, (double *)q);
        Bm = q;
        q += (size_t)(B * K * N) * es;
    }
    if (!c_direct)
        C = q;
    for (int64_t b = 0; b < B; b++) {
        size_t oa = (size_t)(b * M * K), ob = (size_t)(b * K * N), oc = (size_t)(b * M * N);
        if (K == 0) {
            memset(C + oc * es, 0, (size_t)(M * N) * es);
        } else if (dt == ONNXQ_DT_FLOAT) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)N, (int)K, 1.0f,
                        (const float *)A + oa, (int)K, (const float *)Bm + ob, (int)N, 0.0f, (float *)C + oc, (int)N);
        } else {
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)N, (int)K, 1.0,
                        (const double *)A + oa, (int)K, (const double *)Bm + ob, (int)N, 0.0, (double *)C + oc,
                        (int)N);
        }
    }
    if (!c_direct) {
        if (dt == ONNXQ_DT_FLOAT)
            ein_gather_f32((const float *)C, p->nout, szc, sc, y->data);
        else
            ein_gather_f64((const double *)C, p->nout, szc, sc, y->data);
    }
    free(buf);
    return ONNXQ_OK;
}

enum onnxq_status onnxq_misc_einsum_reference(void *state, struct onnxq_op_ctx *ctx)
{
    struct ein_plan p;
    enum onnxq_status st = ein_make_plan(state, ctx, &p);
    if (st)
        return st;
    return ein_run_ref(ctx, &p);
}

enum onnxq_status onnxq_misc_einsum_run(void *state, struct onnxq_op_ctx *ctx)
{
    struct ein_plan p;
    enum onnxq_status st = ein_make_plan(state, ctx, &p);
    if (st)
        return st;
    bool done;
    if ((st = ein_run_fast(ctx, &p, &done)) || done)
        return st;
    return ein_run_ref(ctx, &p);
}

/* ----------------------------------------------------------------- Det */

enum onnxq_status onnxq_misc_det_shape(void *state, struct onnxq_op_ctx *ctx)
{
    (void)state;
    enum onnxq_status st = need_in(ctx, 0, "X");
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    if (!dt_float(x->dtype))
        return FAIL(ctx, ONNXQ_E_UNSUPPORTED, "dtype %s is not a float type", onnxq_dtype_name(x->dtype));
    char s1[128];
    if (x->ndim < 2 || x->dims[x->ndim - 1] != x->dims[x->ndim - 2])
        return FAIL(ctx, ONNXQ_E_SHAPE, "input %s is not [..., M, M]", shp(x->dims, x->ndim, s1, sizeof(s1)));
    onnxq_out_shape(onnxq_opt_out(ctx, 0), x->dtype, x->ndim - 2, x->dims);
    return ONNXQ_OK;
}

/* LU with partial pivoting in double. */
enum onnxq_status onnxq_misc_det_run(void *state, struct onnxq_op_ctx *ctx)
{
    (void)state;
    const struct onnxq_tensor *x = ctx->inputs[0];
    struct onnxq_tensor *y = onnxq_opt_out(ctx, 0);
    if (!y)
        return ONNXQ_OK;
    size_t m = (size_t)x->dims[x->ndim - 1], nmat = (size_t)prod(x->dims, 0, x->ndim - 2);
    double *a = malloc(m * m * sizeof(double) + 1);
    if (!a)
        return FAIL(ctx, ONNXQ_E_NOMEM, "out of memory");
    for (size_t b = 0; b < nmat; b++) {
        for (size_t i = 0; i < m * m; i++)
            a[i] = onnxq_tensor_get_f64(x, b * m * m + i);
        double det = 1;
        for (size_t c = 0; c < m && det != 0; c++) {
            size_t piv = c;
            for (size_t r = c + 1; r < m; r++)
                if (fabs(a[r * m + c]) > fabs(a[piv * m + c]))
                    piv = r;
            if (a[piv * m + c] == 0) {
                det = 0;
                break;
            }
            if (piv != c) {
                for (size_t k = 0; k < m; k++) {
                    double t = a[c * m + k];
                    a[c * m + k] = a[piv * m + k];
                    a[piv * m + k] = t;
                }
                det = -det;
            }
            double d = a[c * m + c];
            det *= d;
            for (size_t r = c + 1; r < m; r++) {
                double f = a[r * m + c] / d;
                for (size_t k = c; k < m; k++)
                    a[r * m + k] -= f * a[c * m + k];
            }
        }
        onnxq_tensor_set_f64(y, b, det);
    }
    free(a);
    return ONNXQ_OK;
}
