/* Elementwise operators (see elementwise.h for the broadcast scheme).
 *
 * Layout of this file:
 *   1. broadcast plan, parallel row driver and the reference N-d loop
 *   2. typed binary row kernels, onnxq_ew_binary, onnxq_ew_where
 *   3. dtype conversion (onnxq_ew_cast_data)
 *   4. unary ops, Clip
 *   5. binary, variadic, Where, Cast op kernels
 *
 * Integer arithmetic never hits C undefined behaviour: signed add/sub/mul
 * wrap through unsigned types, x/0 and x%0 give 0, INT_MIN/-1 wraps,
 * shifts by >= the bit width give 0. Floats follow IEEE, no fast-math:
 * float Exp/Sigmoid/Tanh/Erf use vectorisable polynomial kernels (within
 * 2.4 ulp, checked against libm by tests/test_elementwise.c), every other
 * transcendental function and all double math is libm. */
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/elementwise.h"

/* Parallel grains (elements per chunk at least): cheap ops stream memory,
 * libm-bound ops are ~10-50x more work per element. */
#define GRAIN_CHEAP ((size_t)1 << 15)
#define GRAIN_MATH ((size_t)1 << 12)

#define EW_MAX_IN 3

static bool is_f16ish(enum onnxq_dtype dt)
{
    return dt == ONNXQ_DT_FLOAT16 || dt == ONNXQ_DT_BFLOAT16;
}

static bool is_floatish(enum onnxq_dtype dt)
{
    return dt == ONNXQ_DT_FLOAT || dt == ONNXQ_DT_DOUBLE || is_f16ish(dt);
}

static bool same_dims(const struct onnxq_tensor *t, const int64_t *dims, int nd)
{
    if (t->ndim != nd)
        return false;
    for (int i = 0; i < nd; i++)
        if (t->dims[i] != dims[i])
            return false;
    return true;
}

/* =====================================================================
 * 1. Broadcast plan and row driver
 * ===================================================================== */

/* A row kernel: n output elements at out; input k starts at in[k] and
 * advances by inc[k] (0 or 1) elements per output element. */
typedef void (*ew_row_fn)(const void *fctx, const char *const *in, const size_t *inc, char *out, size_t n);

struct bplan {
    int nd;                                   /* collapsed rank, >= 1 */
    int64_t dims[ONNXQ_MAX_DIMS];
    int64_t st[EW_MAX_IN][ONNXQ_MAX_DIMS];    /* element strides, 0 = broadcast */
    size_t total;
};

/* Element strides of `t` seen through the output shape (0 where broadcast).
 * False if t does not broadcast to ydims. */
static bool bcast_strides(const struct onnxq_tensor *t, const int64_t *ydims, int yn, int64_t *st)
{
    if (t->ndim > yn)
        return false;
    int64_t acc = 1;
    for (int i = yn - 1; i >= 0; i--) {
        int ti = i - (yn - t->ndim);
        int64_t d = ti >= 0 ? t->dims[ti] : 1;
        if (d != ydims[i] && d != 1)
            return false;
        st[i] = d == 1 ? 0 : acc;
        acc *= d;
    }
    return true;
}

static bool bplan_make(struct bplan *p, int nin, const struct onnxq_tensor *const *in, const int64_t *ydims, int yn)
{
    int64_t st[EW_MAX_IN][ONNXQ_MAX_DIMS];
    for (int k = 0; k < nin; k++)
        if (!bcast_strides(in[k], ydims, yn, st[k]))
            return false;
    int64_t total = onnxq_shape_numel(ydims, yn);
    if (total < 0)
        return false;
    p->total = (size_t)total;
    p->nd = 0;
    for (int i = 0; i < yn; i++) {
        if (ydims[i] == 1)
            continue;
        bool merge = p->nd > 0;
        for (int k = 0; k < nin && merge; k++)
            merge = p->st[k][p->nd - 1] == st[k][i] * ydims[i];
        if (merge) {
            p->dims[p->nd - 1] *= ydims[i];
            for (int k = 0; k < nin; k++)
                p->st[k][p->nd - 1] = st[k][i];
        } else {
            p->dims[p->nd] = ydims[i];
            for (int k = 0; k < nin; k++)
                p->st[k][p->nd] = st[k][i];
            p->nd++;
        }
    }
    if (p->nd == 0) {
        p->nd = 1;
        p->dims[0] = 1;
        for (int k = 0; k < nin; k++)
            p->st[k][0] = 0;
    }
    return true;
}

struct bjob {
    const struct bplan *p;
    int nin;
    const char *in[EW_MAX_IN];
    size_t esz[EW_MAX_IN];
    char *out;
    size_t oesz;
    ew_row_fn fn;
    const void *fctx;
    struct onnxq_vstats_sink *sink; /* float output 0 of the op: statistics */
};

/* With a sink, rows are written in pieces of STATS_PIECE values, each
 * scanned while it is in L1. */
#define STATS_PIECE 4096

/* Output elements [begin, end): walk the collapsed index space row by row.
 * Input offsets are kept incrementally (odometer), never recomputed as a
 * dot product of index and strides: GCC 12 -O3 -march=native vectorised
 * that short loop with an aligned load from a misaligned stack slot. */
static void bjob_range(void *arg, size_t begin, size_t end)
{
    const struct bjob *j = arg;
    const struct bplan *p = j->p;
    int nd = p->nd, nin = j->nin;
    size_t len = (size_t)p->dims[nd - 1];
    size_t row = begin / len, col = begin % len;
    int64_t idx[ONNXQ_MAX_DIMS], off[EW_MAX_IN] = {0};
    for (int d = nd - 2; d >= 0; d--) {
        idx[d] = (int64_t)(row % (size_t)p->dims[d]);
        row /= (size_t)p->dims[d];
        for (int k = 0; k < nin; k++)
            off[k] += idx[d] * p->st[k][d];
    }
    size_t inc[EW_MAX_IN];
    for (int k = 0; k < nin; k++)
        inc[k] = (size_t)p->st[k][nd - 1];
    struct onnxq_vstats vs;
    onnxq_vstats_init(&vs);
    const size_t first = begin;
    while (begin < end) {
        const char *ptr[EW_MAX_IN];
        for (int k = 0; k < nin; k++)
            ptr[k] = j->in[k] + ((size_t)off[k] + col * inc[k]) * j->esz[k];
        size_t cnt = len - col;
        if (cnt > end - begin)
            cnt = end - begin;
        if (j->sink) {
            for (size_t o = 0; o < cnt; o += STATS_PIECE) {
                size_t m = cnt - o < STATS_PIECE ? cnt - o : STATS_PIECE;
                const char *pp[EW_MAX_IN];
                for (int k = 0; k < nin; k++)
                    pp[k] = ptr[k] + o * inc[k] * j->esz[k];
                float *dst = (float *)(void *)(j->out + (begin + o) * j->oesz);
                j->fn(j->fctx, pp, inc, (char *)dst, m);
                onnxq_vstats_sink_observe(j->sink, &vs, dst, m);
            }
        } else {
            j->fn(j->fctx, ptr, inc, j->out + begin * j->oesz, cnt);
        }
        begin += cnt;
        col = 0;
        for (int d = nd - 2; d >= 0; d--) {
            if (++idx[d] < p->dims[d]) {
                for (int k = 0; k < nin; k++)
                    off[k] += p->st[k][d];
                break;
            }
            idx[d] = 0;
            for (int k = 0; k < nin; k++)
                off[k] -= p->st[k][d] * (p->dims[d] - 1);
        }
    }
    if (j->sink)
        onnxq_vstats_sink_put(j->sink, (const float *)(const void *)j->out + first, end - first, &vs);
}

/* Reference: the plain N-d odometer loop over the uncollapsed output shape,
 * one element per call. */
static void bcast_reference(int nin, const struct onnxq_tensor *const *in, struct onnxq_tensor *y, ew_row_fn fn,
                            const void *fctx)
{
    int nd = y->ndim;
    int64_t st[EW_MAX_IN][ONNXQ_MAX_DIMS], idx[ONNXQ_MAX_DIMS] = {0}, off[EW_MAX_IN] = {0};
    for (int k = 0; k < nin; k++)
        bcast_strides(in[k], y->dims, nd, st[k]);
    size_t n = (size_t)onnxq_tensor_numel(y), oesz = onnxq_dtype_size(y->dtype);
    size_t one[EW_MAX_IN] = {1, 1, 1};
    for (size_t i = 0; i < n; i++) {
        const char *ptr[EW_MAX_IN];
        for (int k = 0; k < nin; k++)
            ptr[k] = (const char *)in[k]->data + (size_t)off[k] * onnxq_dtype_size(in[k]->dtype);
        fn(fctx, ptr, one, (char *)y->data + i * oesz, 1);
        for (int d = nd - 1; d >= 0; d--) {
            if (++idx[d] < y->dims[d]) {
                for (int k = 0; k < nin; k++)
                    off[k] += st[k][d];
                break;
            }
            idx[d] = 0;
            for (int k = 0; k < nin; k++)
                off[k] -= st[k][d] * (y->dims[d] - 1);
        }
    }
}

static enum onnxq_status bcast_exec(struct onnxq_op_ctx *ctx, int nin, const struct onnxq_tensor *const *in,
                                    struct onnxq_tensor *y, ew_row_fn fn, const void *fctx, size_t grain,
                                    bool reference, struct onnxq_vstats_sink *sink)
{
    struct bplan plan;
    if (!bplan_make(&plan, nin, in, y->dims, y->ndim)) {
        char sy[200], sa[200];
        onnxq_shape_format(y->dims, y->ndim, sy, sizeof(sy));
        for (int k = 0; k < nin; k++) {
            int64_t tmp[ONNXQ_MAX_DIMS];
            if (!bcast_strides(in[k], y->dims, y->ndim, tmp)) {
                onnxq_shape_format(in[k]->dims, in[k]->ndim, sa, sizeof(sa));
                return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE,
                                     "input #%d of shape %s does not broadcast to the output shape %s", k, sa, sy);
            }
        }
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE, "output shape %s is invalid", sy);
    }
    if (plan.total == 0)
        return ONNXQ_OK;
    if (reference) {
        bcast_reference(nin, in, y, fn, fctx);
        return ONNXQ_OK;
    }
    struct bjob j = {.p = &plan, .nin = nin, .out = y->data, .oesz = onnxq_dtype_size(y->dtype), .fn = fn,
                     .fctx = fctx, .sink = y->dtype == ONNXQ_DT_FLOAT ? sink : NULL};
    for (int k = 0; k < nin; k++) {
        j.in[k] = in[k]->data;
        j.esz[k] = onnxq_dtype_size(in[k]->dtype);
    }
    onnxq_parallel_for(ctx, plan.total, grain, bjob_range, &j);
    return ONNXQ_OK;
}

/* =====================================================================
 * 2. Binary row kernels
 * ===================================================================== */

typedef void (*bin_row_fn)(enum onnxq_ew_op op, const void *pa, size_t sa, const void *pb, size_t sb, void *py,
                           size_t n);

/* The four stride patterns of one row, so every loop is a plain
 * vectorisable one. EXPR reads x (from a) and z (from b). */
#define EW_LOOPS(TI, TO, EXPR) \
    do { \
        const TI *a_ = pa, *b_ = pb; \
        TO *y_ = py; \
        if (sa && sb) { \
            for (size_t i_ = 0; i_ < n; i_++) { \
                const TI x = a_[i_], z = b_[i_]; \
                y_[i_] = (TO)(EXPR); \
            } \
        } else if (sa) { \
            const TI z = b_[0]; \
            for (size_t i_ = 0; i_ < n; i_++) { \
                const TI x = a_[i_]; \
                y_[i_] = (TO)(EXPR); \
            } \
        } else if (sb) { \
            const TI x = a_[0]; \
            for (size_t i_ = 0; i_ < n; i_++) { \
                const TI z = b_[i_]; \
                y_[i_] = (TO)(EXPR); \
            } \
        } else { \
            const TI x = a_[0], z = b_[0]; \
            const TO v_ = (TO)(EXPR); \
            for (size_t i_ = 0; i_ < n; i_++) \
                y_[i_] = v_; \
        } \
    } while (0)

#define EW_CMP_CASES(T) \
    case ONNXQ_EW_EQUAL: EW_LOOPS(T, uint8_t, x == z); break; \
    case ONNXQ_EW_LESS: EW_LOOPS(T, uint8_t, x < z); break; \
    case ONNXQ_EW_GREATER: EW_LOOPS(T, uint8_t, x > z); break; \
    case ONNXQ_EW_LESS_EQUAL: EW_LOOPS(T, uint8_t, x <= z); break; \
    case ONNXQ_EW_GREATER_EQUAL: EW_LOOPS(T, uint8_t, x >= z); break;

/* float / double. MOD is floored (numpy's np.mod), FMOD truncated. Min/Max
 * propagate NaN like numpy. Pow with exponent 2 is x * x (what pow returns,
 * without the call; the scalar-exponent loop unswitches on it). PRelu is written as pos(x) + neg(x) * slope so
 * that it vectorises (see the note at the unary ops); it differs from
 * `x < 0 ? x * slope : x` only for an infinite or NaN slope at x >= 0. */
#define EW_FLOAT_ROW(SFX, T, F) \
    static inline T ew_fmod_floor_##SFX(T x, T z) \
    { \
        T r = fmod##F(x, z); \
        return (r != 0 && ((r < 0) != (z < 0))) ? r + z : r; \
    } \
    static void brow_##SFX(enum onnxq_ew_op op, const void *pa, size_t sa, const void *pb, size_t sb, void *py, \
                           size_t n) \
    { \
        switch (op) { \
        case ONNXQ_EW_ADD: EW_LOOPS(T, T, x + z); break; \
        case ONNXQ_EW_SUB: EW_LOOPS(T, T, x - z); break; \
        case ONNXQ_EW_MUL: EW_LOOPS(T, T, x * z); break; \
        case ONNXQ_EW_DIV: EW_LOOPS(T, T, x / z); break; \
        case ONNXQ_EW_MIN: EW_LOOPS(T, T, (x < z || isnan(x)) ? x : z); break; \
        case ONNXQ_EW_MAX: EW_LOOPS(T, T, (x > z || isnan(x)) ? x : z); break; \
        case ONNXQ_EW_MOD: EW_LOOPS(T, T, ew_fmod_floor_##SFX(x, z)); break; \
        case ONNXQ_EW_FMOD: EW_LOOPS(T, T, fmod##F(x, z)); break; \
        case ONNXQ_EW_POW: EW_LOOPS(T, T, z == 2 ? x * x : pow##F(x, z)); break; \
        case ONNXQ_EW_PRELU: EW_LOOPS(T, T, (x < 0 ? (T)0 : x) + (x < 0 ? x : (T)0) * z); break; \
        EW_CMP_CASES(T) \
        default: break; \
        } \
    }

EW_FLOAT_ROW(f32, float, f)
EW_FLOAT_ROW(f64, double, )

/* b^e by squaring, wrapping modulo 2^64: the low bits, which are all a
 * narrower integer type keeps, are those of the exact power. */
static inline uint64_t ew_upow(uint64_t b, uint64_t e)
{
    uint64_t r = 1;
    while (e) {
        if (e & 1)
            r *= b;
        b *= b;
        e >>= 1;
    }
    return r;
}

/* signed integers; UT is the unsigned type the wrapping arithmetic uses */
#define EW_SINT_ROW(SFX, T, UT) \
    static inline T ew_div_##SFX(T x, T z) \
    { \
        return z == 0 ? 0 : z == -1 ? (T)(0u - (UT)x) : (T)(x / z); \
    } \
    static inline T ew_fmod_##SFX(T x, T z) \
    { \
        return (z == 0 || z == -1) ? 0 : (T)(x % z); \
    } \
    static inline T ew_mod_##SFX(T x, T z) \
    { \
        T r = ew_fmod_##SFX(x, z); \
        return (r != 0 && ((r < 0) != (z < 0))) ? (T)(r + z) : r; \
    } \
    static inline T ew_pow_##SFX(T x, T z) \
    { \
        if (z < 0) \
            return x == 1 ? 1 : x == -1 ? ((z & 1) ? -1 : 1) : 0; \
        return (T)ew_upow((UT)x, (UT)z); \
    } \
    static void brow_##SFX(enum onnxq_ew_op op, const void *pa, size_t sa, const void *pb, size_t sb, void *py, \
                           size_t n) \
    { \
        switch (op) { \
        case ONNXQ_EW_ADD: EW_LOOPS(T, T, (UT)x + (UT)z); break; \
        case ONNXQ_EW_SUB: EW_LOOPS(T, T, (UT)x - (UT)z); break; \
        case ONNXQ_EW_MUL: EW_LOOPS(T, T, (UT)x * (UT)z); break; \
        case ONNXQ_EW_DIV: EW_LOOPS(T, T, ew_div_##SFX(x, z)); break; \
        case ONNXQ_EW_MIN: EW_LOOPS(T, T, x < z ? x : z); break; \
        case ONNXQ_EW_MAX: EW_LOOPS(T, T, x > z ? x : z); break; \
        case ONNXQ_EW_MOD: EW_LOOPS(T, T, ew_mod_##SFX(x, z)); break; \
        case ONNXQ_EW_FMOD: EW_LOOPS(T, T, ew_fmod_##SFX(x, z)); break; \
        case ONNXQ_EW_POW: EW_LOOPS(T, T, ew_pow_##SFX(x, z)); break; \
        case ONNXQ_EW_PRELU: EW_LOOPS(T, T, x < 0 ? (T)((UT)x * (UT)z) : x); break; \
        EW_CMP_CASES(T) \
        default: break; \
        } \
    }

EW_SINT_ROW(i8, int8_t, uint32_t)
EW_SINT_ROW(i16, int16_t, uint32_t)
EW_SINT_ROW(i32, int32_t, uint32_t)
EW_SINT_ROW(i64, int64_t, uint64_t)

/* unsigned integers (and bool, as uint8, for the logic ops) */
#define EW_UINT_ROW(SFX, T, UT) \
    static inline T ew_pow_##SFX(T x, T z) \
    { \
        return (T)ew_upow(x, z); \
    } \
    static void brow_##SFX(enum onnxq_ew_op op, const void *pa, size_t sa, const void *pb, size_t sb, void *py, \
                           size_t n) \
    { \
        const T bits_ = (T)(sizeof(T) * 8); \
        switch (op) { \
        case ONNXQ_EW_ADD: EW_LOOPS(T, T, (UT)x + (UT)z); break; \
        case ONNXQ_EW_SUB: EW_LOOPS(T, T, (UT)x - (UT)z); break; \
        case ONNXQ_EW_MUL: EW_LOOPS(T, T, (UT)x * (UT)z); break; \
        case ONNXQ_EW_DIV: EW_LOOPS(T, T, z == 0 ? 0 : x / z); break; \
        case ONNXQ_EW_MIN: EW_LOOPS(T, T, x < z ? x : z); break; \
        case ONNXQ_EW_MAX: EW_LOOPS(T, T, x > z ? x : z); break; \
        case ONNXQ_EW_MOD: \
        case ONNXQ_EW_FMOD: EW_LOOPS(T, T, z == 0 ? 0 : x % z); break; \
        case ONNXQ_EW_POW: EW_LOOPS(T, T, ew_pow_##SFX(x, z)); break; \
        case ONNXQ_EW_PRELU: EW_LOOPS(T, T, ((void)z, x)); break; \
        case ONNXQ_EW_AND: EW_LOOPS(T, T, x && z); break; \
        case ONNXQ_EW_OR: EW_LOOPS(T, T, x || z); break; \
        case ONNXQ_EW_XOR: EW_LOOPS(T, T, (x != 0) != (z != 0)); break; \
        case ONNXQ_EW_SHL: EW_LOOPS(T, T, z >= bits_ ? 0 : (UT)x << z); break; \
        case ONNXQ_EW_SHR: EW_LOOPS(T, T, z >= bits_ ? 0 : x >> z); break; \
        EW_CMP_CASES(T) \
        default: break; \
        } \
    }

EW_UINT_ROW(u8, uint8_t, uint32_t)
EW_UINT_ROW(u16, uint16_t, uint32_t)
EW_UINT_ROW(u32, uint32_t, uint32_t)
EW_UINT_ROW(u64, uint64_t, uint64_t)

static bin_row_fn bin_row_for(enum onnxq_dtype dt)
{
    switch (dt) {
    case ONNXQ_DT_FLOAT: return brow_f32;
    case ONNXQ_DT_DOUBLE: return brow_f64;
    case ONNXQ_DT_INT8: return brow_i8;
    case ONNXQ_DT_INT16: return brow_i16;
    case ONNXQ_DT_INT32: return brow_i32;
    case ONNXQ_DT_INT64: return brow_i64;
    case ONNXQ_DT_UINT8:
    case ONNXQ_DT_BOOL: return brow_u8;
    case ONNXQ_DT_UINT16: return brow_u16;
    case ONNXQ_DT_UINT32: return brow_u32;
    case ONNXQ_DT_UINT64: return brow_u64;
    default: return NULL;
    }
}

static bool op_is_cmp(enum onnxq_ew_op op)
{
    return op >= ONNXQ_EW_EQUAL && op <= ONNXQ_EW_GREATER_EQUAL;
}

static bool op_is_logic(enum onnxq_ew_op op)
{
    return op >= ONNXQ_EW_AND && op <= ONNXQ_EW_XOR;
}

static bool op_is_shift(enum onnxq_ew_op op)
{
    return op == ONNXQ_EW_SHL || op == ONNXQ_EW_SHR;
}

/* Whether onnxq_ew_binary has a kernel for op on inputs of dtype dt. */
static bool bin_supports(enum onnxq_ew_op op, enum onnxq_dtype dt)
{
    if ((int)op < 0 || op >= ONNXQ_EW_N_OPS)
        return false;
    if (dt == ONNXQ_DT_BOOL)
        return op_is_logic(op) || op_is_cmp(op);
    if (op_is_logic(op))
        return false;
    if (op_is_shift(op))
        return dt == ONNXQ_DT_UINT8 || dt == ONNXQ_DT_UINT16 || dt == ONNXQ_DT_UINT32 || dt == ONNXQ_DT_UINT64;
    return is_f16ish(dt) || bin_row_for(dt) != NULL;
}

static size_t bin_grain(enum onnxq_ew_op op)
{
    return op == ONNXQ_EW_POW || op == ONNXQ_EW_MOD || op == ONNXQ_EW_FMOD ? GRAIN_MATH : GRAIN_CHEAP;
}

struct binctx {
    enum onnxq_ew_op op;
    bin_row_fn row;
};

static void bin_row_adapter(const void *fctx, const char *const *in, const size_t *inc, char *out, size_t n)
{
    const struct binctx *c = fctx;
    c->row(c->op, in[0], inc[0], in[1], inc[1], out, n);
}

/* dst = src converted to dtype dt (freshly allocated, owning). */
static enum onnxq_status convert_copy(struct onnxq_op_ctx *ctx, const struct onnxq_tensor *src, enum onnxq_dtype dt,
                                      struct onnxq_tensor *dst)
{
    enum onnxq_status st = onnxq_tensor_alloc(dst, dt, src->ndim, src->dims, ctx->err);
    if (st)
        return st;
    if (!onnxq_ew_cast_data(src->dtype, src->data, dt, dst->data, (size_t)onnxq_tensor_numel(src))) {
        onnxq_tensor_clear(dst);
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_UNSUPPORTED, "cannot convert %s to %s",
                             onnxq_dtype_name(src->dtype), onnxq_dtype_name(dt));
    }
    return ONNXQ_OK;
}

/* y = a op b computed in dtype cdt (a and b converted when they differ from
 * it; the result converted into y when y's dtype differs). */
static enum onnxq_status binary_via(struct onnxq_op_ctx *ctx, enum onnxq_ew_op op, const struct onnxq_tensor *a,
                                    const struct onnxq_tensor *b, struct onnxq_tensor *y, enum onnxq_dtype cdt,
                                    bool reference)
{
    struct onnxq_tensor ta = {0}, tb = {0}, ty = {0};
    enum onnxq_status st = ONNXQ_OK;
    enum onnxq_dtype ydt = op_is_cmp(op) ? ONNXQ_DT_BOOL : cdt;
    if (a->dtype != cdt && (st = convert_copy(ctx, a, cdt, &ta)))
        goto out;
    if (b->dtype != cdt && (st = convert_copy(ctx, b, cdt, &tb)))
        goto out;
    if (ydt != y->dtype && (st = onnxq_tensor_alloc(&ty, ydt, y->ndim, y->dims, ctx->err)))
        goto out;
    st = onnxq_ew_binary(ctx, op, a->dtype != cdt ? &ta : a, b->dtype != cdt ? &tb : b, ydt != y->dtype ? &ty : y,
                         reference);
    if (!st && ydt != y->dtype &&
        !onnxq_ew_cast_data(ydt, ty.data, y->dtype, y->data, (size_t)onnxq_tensor_numel(y)))
        st = onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_UNSUPPORTED, "cannot convert %s to %s",
                           onnxq_dtype_name(ydt), onnxq_dtype_name(y->dtype));
out:
    onnxq_tensor_clear(&ta);
    onnxq_tensor_clear(&tb);
    onnxq_tensor_clear(&ty);
    return st;
}

static const char *const ew_op_names[ONNXQ_EW_N_OPS] = {
    "add", "sub", "mul", "div", "min", "max", "mod", "fmod", "pow", "prelu",
    "equal", "less", "greater", "less_equal", "greater_equal", "and", "or", "xor", "shift_left", "shift_right",
};

static enum onnxq_status ew_binary(struct onnxq_op_ctx *ctx, enum onnxq_ew_op op, const struct onnxq_tensor *a,
                                   const struct onnxq_tensor *b, struct onnxq_tensor *y, bool reference,
                                   struct onnxq_vstats_sink *sink);

enum onnxq_status onnxq_ew_binary(struct onnxq_op_ctx *ctx, enum onnxq_ew_op op, const struct onnxq_tensor *a,
                                  const struct onnxq_tensor *b, struct onnxq_tensor *y, bool reference)
{
    return ew_binary(ctx, op, a, b, y, reference, NULL);
}

/* sink: statistics of y, which must be the op's output 0 (the binary ops
 * themselves, not the callers that post-process y) */
static enum onnxq_status ew_binary(struct onnxq_op_ctx *ctx, enum onnxq_ew_op op, const struct onnxq_tensor *a,
                                   const struct onnxq_tensor *b, struct onnxq_tensor *y, bool reference,
                                   struct onnxq_vstats_sink *sink)
{
    if ((int)op < 0 || op >= ONNXQ_EW_N_OPS)
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_INTERNAL, "unknown elementwise op %d", (int)op);
    if (a->dtype != b->dtype)
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE, "input dtypes differ: %s and %s",
                             onnxq_dtype_name(a->dtype), onnxq_dtype_name(b->dtype));
    enum onnxq_dtype dt = a->dtype;
    if (!bin_supports(op, dt))
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_UNSUPPORTED, "%s is not supported for dtype %s",
                             ew_op_names[op], onnxq_dtype_name(dt));
    enum onnxq_dtype ydt = op_is_cmp(op) ? ONNXQ_DT_BOOL : dt;
    if (y->dtype != ydt)
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_INTERNAL, "output dtype %s, expected %s",
                             onnxq_dtype_name(y->dtype), onnxq_dtype_name(ydt));
    if (is_f16ish(dt))
        return binary_via(ctx, op, a, b, y, ONNXQ_DT_FLOAT, reference);
    struct binctx bc = {op, bin_row_for(dt)};
    const struct onnxq_tensor *ins[2] = {a, b};
    return bcast_exec(ctx, 2, ins, y, bin_row_adapter, &bc, bin_grain(op), reference, sink);
}

/* ---- Where and broadcast copy: dtype-agnostic, by element size ---- */

#define EW_SEL_LOOP(T) \
    do { \
        const T *x_ = (const T *)in[1], *y_ = (const T *)in[2]; \
        T *o_ = (T *)out; \
        for (size_t i = 0; i < n; i++) \
            o_[i] = c[i * inc[0]] ? x_[i * inc[1]] : y_[i * inc[2]]; \
    } while (0)

static void where_row(const void *fctx, const char *const *in, const size_t *inc, char *out, size_t n)
{
    size_t esz = *(const size_t *)fctx;
    const uint8_t *c = (const uint8_t *)in[0];
    switch (esz) {
    case 1: EW_SEL_LOOP(uint8_t); break;
    case 2: EW_SEL_LOOP(uint16_t); break;
    case 4: EW_SEL_LOOP(uint32_t); break;
    case 8: EW_SEL_LOOP(uint64_t); break;
    default:
        for (size_t i = 0; i < n; i++)
            memcpy(out + i * esz, c[i * inc[0]] ? in[1] + i * inc[1] * esz : in[2] + i * inc[2] * esz, esz);
        break;
    }
}

static void copy_row(const void *fctx, const char *const *in, const size_t *inc, char *out, size_t n)
{
    size_t esz = *(const size_t *)fctx;
    if (inc[0]) {
        memcpy(out, in[0], n * esz);
        return;
    }
    switch (esz) {
    case 1: memset(out, *(const uint8_t *)in[0], n); break;
    case 2: {
        uint16_t v;
        memcpy(&v, in[0], 2);
        for (size_t i = 0; i < n; i++)
            ((uint16_t *)out)[i] = v;
        break;
    }
    case 4: {
        uint32_t v;
        memcpy(&v, in[0], 4);
        for (size_t i = 0; i < n; i++)
            ((uint32_t *)out)[i] = v;
        break;
    }
    case 8: {
        uint64_t v;
        memcpy(&v, in[0], 8);
        for (size_t i = 0; i < n; i++)
            ((uint64_t *)out)[i] = v;
        break;
    }
    default:
        for (size_t i = 0; i < n; i++)
            memcpy(out + i * esz, in[0], esz);
        break;
    }
}

enum onnxq_status onnxq_ew_where(struct onnxq_op_ctx *ctx, const struct onnxq_tensor *cond,
                                 const struct onnxq_tensor *x, const struct onnxq_tensor *y,
                                 struct onnxq_tensor *out, bool reference)
{
    if (cond->dtype != ONNXQ_DT_BOOL)
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE, "condition has dtype %s; expected bool",
                             onnxq_dtype_name(cond->dtype));
    if (x->dtype != y->dtype || out->dtype != x->dtype)
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE, "X and Y dtypes differ: %s and %s",
                             onnxq_dtype_name(x->dtype), onnxq_dtype_name(y->dtype));
    if (x->dtype == ONNXQ_DT_STRING)
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_UNSUPPORTED, "string tensors are not supported");
    size_t esz = onnxq_dtype_size(x->dtype);
    const struct onnxq_tensor *ins[3] = {cond, x, y};
    return bcast_exec(ctx, 3, ins, out, where_row, &esz, GRAIN_CHEAP, reference, NULL);
}

/* y (shaped) = x broadcast to y's shape. */
static enum onnxq_status expand_copy(struct onnxq_op_ctx *ctx, const struct onnxq_tensor *x, struct onnxq_tensor *y)
{
    size_t esz = onnxq_dtype_size(x->dtype);
    const struct onnxq_tensor *ins[1] = {x};
    return bcast_exec(ctx, 1, ins, y, copy_row, &esz, GRAIN_CHEAP, false, NULL);
}

/* =====================================================================
 * 3. Dtype conversion
 * ===================================================================== */

#define CAST_BLOCK 256

enum wkind { WK_F, WK_I, WK_U };

union wide {
    double f[CAST_BLOCK];
    int64_t i[CAST_BLOCK];
    uint64_t u[CAST_BLOCK];
};

/* float -> int64: truncate, saturate, NaN -> 0 */
static inline int64_t ew_f2i(double d)
{
    if (!(d == d))
        return 0;
    if (d >= 9223372036854775807.0)
        return INT64_MAX;
    if (d <= -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)d;
}

static inline uint64_t ew_f2u(double d)
{
    if (d >= 18446744073709551615.0)
        return UINT64_MAX;
    if (d >= 9223372036854775808.0)
        return (uint64_t)d;
    return (uint64_t)ew_f2i(d);
}

static bool cast_load(enum onnxq_dtype dt, const void *src, size_t n, union wide *w, enum wkind *k)
{
#define LD(T, FIELD, KIND, CONV) \
    do { \
        const T *s_ = src; \
        for (size_t i = 0; i < n; i++) \
            w->FIELD[i] = CONV(s_[i]); \
        *k = KIND; \
    } while (0)
#define NOCONV(v) (v)
    switch (dt) {
    case ONNXQ_DT_FLOAT: LD(float, f, WK_F, NOCONV); return true;
    case ONNXQ_DT_DOUBLE: LD(double, f, WK_F, NOCONV); return true;
    case ONNXQ_DT_FLOAT16: LD(uint16_t, f, WK_F, onnxq_half_to_float); return true;
    case ONNXQ_DT_BFLOAT16: LD(uint16_t, f, WK_F, onnxq_bf16_to_float); return true;
    case ONNXQ_DT_INT8: LD(int8_t, i, WK_I, NOCONV); return true;
    case ONNXQ_DT_INT16: LD(int16_t, i, WK_I, NOCONV); return true;
    case ONNXQ_DT_INT32: LD(int32_t, i, WK_I, NOCONV); return true;
    case ONNXQ_DT_INT64: LD(int64_t, i, WK_I, NOCONV); return true;
    case ONNXQ_DT_UINT8:
    case ONNXQ_DT_BOOL: LD(uint8_t, u, WK_U, NOCONV); return true;
    case ONNXQ_DT_UINT16: LD(uint16_t, u, WK_U, NOCONV); return true;
    case ONNXQ_DT_UINT32: LD(uint32_t, u, WK_U, NOCONV); return true;
    case ONNXQ_DT_UINT64: LD(uint64_t, u, WK_U, NOCONV); return true;
    default: return false;
    }
#undef LD
}

static bool cast_store(enum onnxq_dtype dt, void *dst, size_t n, const union wide *w, enum wkind k)
{
#define ST(T, CF, CI, CU) \
    do { \
        T *d_ = dst; \
        if (k == WK_F) \
            for (size_t i = 0; i < n; i++) \
                d_[i] = (T)CF(w->f[i]); \
        else if (k == WK_I) \
            for (size_t i = 0; i < n; i++) \
                d_[i] = (T)CI(w->i[i]); \
        else \
            for (size_t i = 0; i < n; i++) \
                d_[i] = (T)CU(w->u[i]); \
    } while (0)
#define TO_H(v) onnxq_float_to_half((float)(v))
#define TO_BF(v) onnxq_float_to_bf16((float)(v))
#define NZ(v) ((v) != 0)
    switch (dt) {
    case ONNXQ_DT_FLOAT: ST(float, NOCONV, NOCONV, NOCONV); return true;
    case ONNXQ_DT_DOUBLE: ST(double, NOCONV, NOCONV, NOCONV); return true;
    case ONNXQ_DT_FLOAT16: ST(uint16_t, TO_H, TO_H, TO_H); return true;
    case ONNXQ_DT_BFLOAT16: ST(uint16_t, TO_BF, TO_BF, TO_BF); return true;
    case ONNXQ_DT_INT8: ST(int8_t, ew_f2i, NOCONV, NOCONV); return true;
    case ONNXQ_DT_INT16: ST(int16_t, ew_f2i, NOCONV, NOCONV); return true;
    case ONNXQ_DT_INT32: ST(int32_t, ew_f2i, NOCONV, NOCONV); return true;
    case ONNXQ_DT_INT64: ST(int64_t, ew_f2i, NOCONV, NOCONV); return true;
    case ONNXQ_DT_UINT8: ST(uint8_t, ew_f2i, NOCONV, NOCONV); return true;
    case ONNXQ_DT_UINT16: ST(uint16_t, ew_f2i, NOCONV, NOCONV); return true;
    case ONNXQ_DT_UINT32: ST(uint32_t, ew_f2i, NOCONV, NOCONV); return true;
    case ONNXQ_DT_UINT64: ST(uint64_t, ew_f2u, NOCONV, NOCONV); return true;
    case ONNXQ_DT_BOOL: ST(uint8_t, NZ, NZ, NZ); return true;
    default: return false;
    }
#undef ST
#undef TO_H
#undef TO_BF
#undef NZ
}

static bool cast_numeric(enum onnxq_dtype dt)
{
    switch (dt) {
    case ONNXQ_DT_FLOAT: case ONNXQ_DT_DOUBLE: case ONNXQ_DT_FLOAT16: case ONNXQ_DT_BFLOAT16:
    case ONNXQ_DT_INT8: case ONNXQ_DT_INT16: case ONNXQ_DT_INT32: case ONNXQ_DT_INT64:
    case ONNXQ_DT_UINT8: case ONNXQ_DT_UINT16: case ONNXQ_DT_UINT32: case ONNXQ_DT_UINT64:
    case ONNXQ_DT_BOOL: return true;
    default: return false;
    }
}

bool onnxq_ew_cast_data(enum onnxq_dtype sdt, const void *src, enum onnxq_dtype ddt, void *dst, size_t n)
{
    if (!cast_numeric(sdt) || !cast_numeric(ddt))
        return false;
    if (!n)
        return true;
    if (sdt == ddt) {
        if (dst != src)
            memmove(dst, src, n * onnxq_dtype_size(sdt));
        return true;
    }
    /* direct loops for the pairs real models use */
#define DIRECT(ST_, DT_, TS, TD, CONV) \
    if (sdt == ST_ && ddt == DT_) { \
        const TS *s_ = src; \
        TD *d_ = dst; \
        for (size_t i = 0; i < n; i++) \
            d_[i] = (TD)CONV(s_[i]); \
        return true; \
    }
    DIRECT(ONNXQ_DT_FLOAT, ONNXQ_DT_DOUBLE, float, double, NOCONV)
    DIRECT(ONNXQ_DT_DOUBLE, ONNXQ_DT_FLOAT, double, float, NOCONV)
    DIRECT(ONNXQ_DT_INT64, ONNXQ_DT_FLOAT, int64_t, float, NOCONV)
    DIRECT(ONNXQ_DT_INT32, ONNXQ_DT_FLOAT, int32_t, float, NOCONV)
    DIRECT(ONNXQ_DT_BOOL, ONNXQ_DT_FLOAT, uint8_t, float, NOCONV)
    DIRECT(ONNXQ_DT_UINT8, ONNXQ_DT_FLOAT, uint8_t, float, NOCONV)
    DIRECT(ONNXQ_DT_FLOAT, ONNXQ_DT_INT64, float, int64_t, ew_f2i)
    DIRECT(ONNXQ_DT_FLOAT, ONNXQ_DT_INT32, float, int32_t, ew_f2i)
    DIRECT(ONNXQ_DT_INT32, ONNXQ_DT_INT64, int32_t, int64_t, NOCONV)
    DIRECT(ONNXQ_DT_INT64, ONNXQ_DT_INT32, int64_t, int32_t, NOCONV)
    DIRECT(ONNXQ_DT_FLOAT, ONNXQ_DT_FLOAT16, float, uint16_t, onnxq_float_to_half)
    DIRECT(ONNXQ_DT_FLOAT16, ONNXQ_DT_FLOAT, uint16_t, float, onnxq_half_to_float)
    DIRECT(ONNXQ_DT_FLOAT, ONNXQ_DT_BFLOAT16, float, uint16_t, onnxq_float_to_bf16)
    DIRECT(ONNXQ_DT_BFLOAT16, ONNXQ_DT_FLOAT, uint16_t, float, onnxq_bf16_to_float)
#undef DIRECT
    size_t ssz = onnxq_dtype_size(sdt), dsz = onnxq_dtype_size(ddt);
    union wide *w = malloc(sizeof(*w));
    if (!w)
        return false;
    for (size_t off = 0; off < n; off += CAST_BLOCK) {
        size_t m = n - off < CAST_BLOCK ? n - off : CAST_BLOCK;
        enum wkind k = WK_F;
        cast_load(sdt, (const char *)src + off * ssz, m, w, &k);
        cast_store(ddt, (char *)dst + off * dsz, m, w, k);
    }
    free(w);
    return true;
}

/* =====================================================================
 * 4. Unary ops
 * ===================================================================== */

/* Float-valued unary ops: X(KIND, expression of v). The expression uses T
 * for the element type, M(fn) for the function of that type (libm's, or
 * the helpers below in a float "f" and a double flavour), alpha/beta/gamma
 * for the node's attributes and the constants c of struct ew_consts.
 *
 * Float Exp, Sigmoid, Tanh and Erf use the vectorisable kernels below
 * (within 1-2.5 ulp); double keeps libm.
 *
 * Vectorisation note: with -ftrapping-math (GCC's default) the vectoriser
 * gives up on a loop as soon as a select feeds further float arithmetic
 * and one arm folds to a constant (GCC then sinks the arithmetic into one
 * branch). The kernels therefore select last (Relu: `v > 0 ? v : 0`), split
 * into both-arms-computed parts (LeakyRelu: pos + alpha * neg), or take
 * clamp bounds from struct ew_consts at run time, which GCC cannot fold. */
#define EW_UNARY_FLOAT_OPS(X) \
    X(RELU, v < 0 ? (T)0 : v) /* NaN stays NaN, as max(x, 0) in the reference */ \
    X(LEAKYRELU, (v < 0 ? (T)0 : v) + alpha * (v < 0 ? v : (T)0)) \
    X(ELU, v >= 0 ? v : alpha * M(expm1)(v)) \
    X(SELU, v > 0 ? gamma * v : gamma * (alpha * M(exp)(v) - alpha)) \
    X(CELU, (v > 0 ? v : (T)0) + M(fmin)((T)0, alpha * M(expm1)(v / alpha))) \
    X(SIGMOID, (T)1 / ((T)1 + M(ew_exp)(-v, c))) \
    X(HARDSIGMOID, M(ew_clamp)(alpha * v + beta, (T)c->zero, (T)c->one)) \
    X(HARDSWISH, v * M(ew_clamp)(alpha * v + beta, (T)c->zero, (T)c->one)) \
    X(TANH, M(ew_tanh)(v, c)) \
    X(ERF, M(ew_erf)(v, c)) \
    X(SOFTPLUS, M(ew_softplus)(v)) \
    X(SOFTSIGN, v / ((T)1 + M(fabs)(v))) \
    X(EXP, M(ew_exp)(v, c)) \
    X(LOG, M(log)(v)) \
    X(SQRT, M(sqrt)(v)) \
    X(NEG, -v) \
    X(ABS, M(fabs)(v)) \
    X(RECIPROCAL, (T)1 / v) \
    X(FLOOR, M(floor)(v)) \
    X(CEIL, M(ceil)(v)) \
    X(ROUND, M(nearbyint)(v)) \
    X(SIGN, v > 0 ? (T)1 : v < 0 ? (T)-1 : v) \
    X(SIN, M(sin)(v)) \
    X(COS, M(cos)(v)) \
    X(TAN, M(tan)(v)) \
    X(ASIN, M(asin)(v)) \
    X(ACOS, M(acos)(v)) \
    X(ATAN, M(atan)(v)) \
    X(SINH, M(sinh)(v)) \
    X(COSH, M(cosh)(v)) \
    X(ASINH, M(asinh)(v)) \
    X(ACOSH, M(acosh)(v)) \
    X(ATANH, M(atanh)(v)) \
    X(THRESHOLDEDRELU, v > alpha ? v : (T)0) \
    X(MISH, v * M(tanh)(M(ew_softplus)(v)))

#define UK_ENUM(K, E) U_##K,
enum ukind { EW_UNARY_FLOAT_OPS(UK_ENUM) U_NOT, U_ISNAN, U_ISINF, U_COUNT };
#undef UK_ENUM

/* Kernel constants passed at run time (see the vectorisation note). */
struct ew_consts {
    float zero, one;
    float exp_lo, exp_hi;  /* exp's argument clamp: beyond it the result is 0 / inf anyway */
    float tanh_small;      /* |x| below: odd polynomial */
    float erf_split, erf_max;  /* erf: odd polynomial below split; 1 - erfc up to max; 1 beyond */
};

static const struct ew_consts ew_consts_default = {0.0f, 1.0f, -104.0f, 88.8f, 0.625f, 0.9f, 4.0f};

static inline float ew_clampf(float v, float lo, float hi)
{
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
}

static inline double ew_clamp(double v, double lo, double hi)
{
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
}

static inline float ew_pow2i(int32_t k)
{
    uint32_t b = (uint32_t)(k + 127) << 23;
    float s;
    memcpy(&s, &b, sizeof(s));
    return s;
}

/* Vectorisable expf: x = k ln2 + r with |r| <= ln2/2 (Cody-Waite ln2 split),
 * exp(r) by Cephes' degree-6 minimax polynomial, 2^k as two exponent-field
 * powers so that k down to -150 gives gradual underflow and k = 128 a clean
 * overflow to inf. NaN propagates. Max error 0.96 ulp (every 61st float;
 * tests/test_elementwise.c checks a sweep against libm: FAST_EXP_MAX_ULP).
 * Sigmoid = 1 / (1 + exp(-x)) on it stays within 2.4 ulp. */
static inline float ew_expf(float x, const struct ew_consts *c)
{
    const float xc = ew_clampf(x, c->exp_lo, c->exp_hi);
    const float kf = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  /* round to nearest */
    float r = xc - kf * 0.693359375f;
    r = r - kf * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    const float y = p * r * r + r + 1.0f;
    const int32_t k = (int32_t)kf, k1 = k / 2;
    return y * ew_pow2i(k1) * ew_pow2i(k - k1);
}

static inline double ew_exp(double x, const struct ew_consts *c)
{
    (void)c;
    return exp(x);
}

/* Vectorisable tanhf: Cephes' odd polynomial for |x| < 0.625, else
 * 1 - 2 / (e^(2|x|) + 1) with x's sign; both are computed (the polynomial
 * on x clamped to its range so it stays finite) and blended with a 0/1
 * weight. Max error 1.3 ulp (every 61st float). */
static inline float ew_tanhf(float x, const struct ew_consts *c)
{
    const float a = fabsf(x), lim = c->tanh_small;
    const float w = a < lim ? c->one : c->zero;
    const float xs = ew_clampf(x, -lim, lim), z = xs * xs;
    float p = -5.70498872745e-3f;
    p = p * z + 2.06390887954e-2f;
    p = p * z - 5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z - 3.33332819422e-1f;
    const float small = p * z * xs + xs;
    const float big = copysignf(1.0f - 2.0f / (ew_expf(2.0f * a, c) + 1.0f), x);
    return w * small + (1.0f - w) * big;
}

static inline double ew_tanh(double x, const struct ew_consts *c)
{
    (void)c;
    return tanh(x);
}

/* Vectorisable erff, coefficients fitted for onnxq (least squares on a
 * dense grid, relative error for the first part):
 *   |x| < 0.9:   x + x * Q(x^2), Q of degree 6 (fit error 1e-9 relative)
 *   0.9..4:      1 - exp(-x^2 + G(u)), u = (|x| - 2.45) / 1.55, G of degree
 *                8 fitting log(erfc(x)) + x^2 (fit error 4e-8 absolute)
 *   beyond 4:    +-1 (erfc(4) = 1.5e-8 rounds away), which the clamp gives.
 * Both parts are computed on clamped arguments and blended by a 0/1 weight
 * (see the vectorisation note). Max error 1.32 ulp against the exact erf
 * over every 61st float; tests/test_elementwise.c checks a sweep
 * (FAST_ERF_MAX_ULP). About 9x faster than erff with AVX-512. */
static inline float ew_erff(float x, const struct ew_consts *c)
{
    const float a = fabsf(x), split = c->erf_split;
    const float w = a < split ? c->one : c->zero;
    const float xs = ew_clampf(x, -split, split), z = xs * xs;
    float q = 8.617516141e-05f;
    q = q * z - 8.199549629e-04f;
    q = q * z + 5.205901805e-03f;
    q = q * z - 2.686130814e-02f;
    q = q * z + 1.128372923e-01f;
    q = q * z - 3.761263490e-01f;
    q = q * z + 1.283791661e-01f;
    const float small = xs + xs * q;
    const float ab = ew_clampf(a, split, c->erf_max), u = (ab - 2.45f) * 0.64516129f;
    float g = 5.423103721e-05f;
    g = g * u - 2.996957628e-04f;
    g = g * u + 1.138583408e-03f;
    g = g * u - 3.973343875e-03f;
    g = g * u + 1.312114205e-02f;
    g = g * u - 4.208799079e-02f;
    g = g * u + 1.387878954e-01f;
    g = g * u - 5.554794669e-01f;
    g = g * u - 1.539039612e+00f;
    const float big = copysignf(1.0f - ew_expf(g - ab * ab, c), x);
    return w * small + (1.0f - w) * big;
}

static inline double ew_erf(double x, const struct ew_consts *c)
{
    (void)c;
    return erf(x);
}

/* log(1 + exp(v)) without overflow */
static inline float ew_softplusf(float v)
{
    return v > 0 ? v + log1pf(expf(-v)) : log1pf(expf(v));
}

static inline double ew_softplus(double v)
{
    return v > 0 ? v + log1p(exp(-v)) : log1p(exp(v));
}

struct ustate {
    enum ukind kind;
    float alpha, beta, gamma;
    bool detect_neg, detect_pos;
    struct ew_consts c;
};

typedef void (*uf32_fn)(const float *x, float *y, size_t n, const struct ustate *p);
typedef void (*uf64_fn)(const double *x, double *y, size_t n, const struct ustate *p);

/* One unary kernel: y = E(v) elementwise, in the type T with M(fn) its
 * libm function; expanded below for float (uk32_*) and double (uk64_*). */
#define UK_KERNEL(NAME, E) \
    static void NAME(const T *x, T *y, size_t n, const struct ustate *p) \
    { \
        const T alpha = (T)p->alpha, beta = (T)p->beta, gamma = (T)p->gamma; \
        const struct ew_consts *c = &p->c; \
        (void)alpha; \
        (void)beta; \
        (void)gamma; \
        (void)c; \
        for (size_t i = 0; i < n; i++) { \
            const T v = x[i]; \
            y[i] = (T)(E); \
        } \
    }

#define T float
#define M(fn) fn##f
#define UK_DEF(K, E) UK_KERNEL(uk32_##K, E)
EW_UNARY_FLOAT_OPS(UK_DEF)
#undef UK_DEF
#undef M
#undef T

#define T double
#define M(fn) fn
#define UK_DEF(K, E) UK_KERNEL(uk64_##K, E)
EW_UNARY_FLOAT_OPS(UK_DEF)
#undef UK_DEF
#undef M
#undef T
#undef UK_KERNEL

#define UK_TAB32(K, E) [U_##K] = uk32_##K,
#define UK_TAB64(K, E) [U_##K] = uk64_##K,
static const uf32_fn uk32[U_COUNT] = {EW_UNARY_FLOAT_OPS(UK_TAB32)};
static const uf64_fn uk64[U_COUNT] = {EW_UNARY_FLOAT_OPS(UK_TAB64)};
#undef UK_TAB32
#undef UK_TAB64

/* Integer unary ops: Abs, Neg, Sign, Relu. */
#define EW_SINT_UNARY(SFX, T, UT) \
    static void ui_##SFX(enum ukind k, const T *x, T *y, size_t n) \
    { \
        switch (k) { \
        case U_ABS: for (size_t i = 0; i < n; i++) y[i] = x[i] < 0 ? (T)(0u - (UT)x[i]) : x[i]; break; \
        case U_NEG: for (size_t i = 0; i < n; i++) y[i] = (T)(0u - (UT)x[i]); break; \
        case U_SIGN: for (size_t i = 0; i < n; i++) y[i] = (T)((x[i] > 0) - (x[i] < 0)); break; \
        case U_RELU: for (size_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0; break; \
        default: break; \
        } \
    }
#define EW_UINT_UNARY(SFX, T, UT) \
    static void ui_##SFX(enum ukind k, const T *x, T *y, size_t n) \
    { \
        switch (k) { \
        case U_ABS: \
        case U_RELU: memmove(y, x, n * sizeof(T)); break; \
        case U_NEG: for (size_t i = 0; i < n; i++) y[i] = (T)(0u - (UT)x[i]); break; \
        case U_SIGN: for (size_t i = 0; i < n; i++) y[i] = x[i] > 0; break; \
        default: break; \
        } \
    }
EW_SINT_UNARY(i8, int8_t, uint32_t)
EW_SINT_UNARY(i16, int16_t, uint32_t)
EW_SINT_UNARY(i32, int32_t, uint32_t)
EW_SINT_UNARY(i64, int64_t, uint64_t)
EW_UINT_UNARY(u8, uint8_t, uint32_t)
EW_UINT_UNARY(u16, uint16_t, uint32_t)
EW_UINT_UNARY(u32, uint32_t, uint32_t)
EW_UINT_UNARY(u64, uint64_t, uint64_t)

static const struct {
    const char *name;
    enum ukind kind;
} unary_names[] = {
    {"Relu", U_RELU}, {"LeakyRelu", U_LEAKYRELU}, {"Elu", U_ELU}, {"Selu", U_SELU}, {"Celu", U_CELU},
    {"Sigmoid", U_SIGMOID}, {"HardSigmoid", U_HARDSIGMOID}, {"HardSwish", U_HARDSWISH}, {"Tanh", U_TANH},
    {"Erf", U_ERF}, {"Softplus", U_SOFTPLUS}, {"Softsign", U_SOFTSIGN}, {"Exp", U_EXP}, {"Log", U_LOG},
    {"Sqrt", U_SQRT}, {"Neg", U_NEG}, {"Abs", U_ABS}, {"Reciprocal", U_RECIPROCAL}, {"Floor", U_FLOOR},
    {"Ceil", U_CEIL}, {"Round", U_ROUND}, {"Sign", U_SIGN}, {"Sin", U_SIN}, {"Cos", U_COS}, {"Tan", U_TAN},
    {"Asin", U_ASIN}, {"Acos", U_ACOS}, {"Atan", U_ATAN}, {"Sinh", U_SINH}, {"Cosh", U_COSH},
    {"Asinh", U_ASINH}, {"Acosh", U_ACOSH}, {"Atanh", U_ATANH}, {"ThresholdedRelu", U_THRESHOLDEDRELU},
    {"Mish", U_MISH}, {"Not", U_NOT}, {"IsNaN", U_ISNAN}, {"IsInf", U_ISINF},
};

static bool unary_cheap(enum ukind k)
{
    switch (k) {
    case U_RELU: case U_LEAKYRELU: case U_HARDSIGMOID: case U_HARDSWISH: case U_SOFTSIGN: case U_NEG:
    case U_ABS: case U_RECIPROCAL: case U_FLOOR: case U_CEIL: case U_ROUND: case U_SIGN:
    case U_THRESHOLDEDRELU: case U_NOT: case U_ISNAN: case U_ISINF: case U_SQRT: case U_EXP:
    case U_SIGMOID: case U_TANH: case U_ERF:
        return true;
    default:
        return false;
    }
}

static bool unary_int_ok(enum ukind k)
{
    return k == U_ABS || k == U_NEG || k == U_SIGN || k == U_RELU;
}

enum onnxq_status onnxq_ew_unary_init(struct onnxq_op_init *ictx, void **state)
{
    const struct onnxq_node *n = ictx->node;
    size_t i = 0;
    while (i < sizeof(unary_names) / sizeof(unary_names[0]) && strcmp(unary_names[i].name, n->op_type) != 0)
        i++;
    if (i == sizeof(unary_names) / sizeof(unary_names[0]))
        return onnxq_op_fail(ictx->err, n, ONNXQ_E_INTERNAL, "not an elementwise unary op");
    struct ustate *s = calloc(1, sizeof(*s));
    if (!s)
        return onnxq_op_fail(ictx->err, n, ONNXQ_E_NOMEM, "out of memory");
    s->kind = unary_names[i].kind;
    s->c = ew_consts_default;
    switch (s->kind) {
    case U_LEAKYRELU: s->alpha = onnxq_attr_float(n, "alpha", 0.01f); break;
    case U_ELU:
    case U_CELU:
    case U_THRESHOLDEDRELU: s->alpha = onnxq_attr_float(n, "alpha", 1.0f); break;
    case U_SELU:
        /* Selu-1 had the rounded defaults; Selu-6 the float32 nearest the
         * self-normalising constants */
        s->alpha = onnxq_attr_float(n, "alpha", ictx->opset < 6 ? 1.6732f : 1.67326319217681884765625f);
        s->gamma = onnxq_attr_float(n, "gamma", ictx->opset < 6 ? 1.0507f : 1.05070102214813232421875f);
        break;
    case U_HARDSIGMOID:
        s->alpha = onnxq_attr_float(n, "alpha", 0.2f);
        s->beta = onnxq_attr_float(n, "beta", 0.5f);
        break;
    case U_HARDSWISH:
        s->alpha = 1.0f / 6.0f;
        s->beta = 0.5f;
        break;
    case U_ISINF:
        s->detect_neg = onnxq_attr_int(n, "detect_negative", 1) != 0;
        s->detect_pos = onnxq_attr_int(n, "detect_positive", 1) != 0;
        break;
    default: break;
    }
    if (s->kind == U_CELU && s->alpha == 0.0f) {
        free(s);
        return onnxq_op_fail(ictx->err, n, ONNXQ_E_INVALID_MODEL, "attribute alpha must not be 0");
    }
    *state = s;
    return ONNXQ_OK;
}

static bool unary_supported(enum ukind k, enum onnxq_dtype dt)
{
    if (k == U_NOT)
        return dt == ONNXQ_DT_BOOL;
    if (is_floatish(dt))
        return true;
    if (dt == ONNXQ_DT_BOOL || !bin_row_for(dt))
        return false;
    return unary_int_ok(k);
}

enum onnxq_status onnxq_ew_unary_shape(void *state, struct onnxq_op_ctx *ctx)
{
    const struct ustate *s = state;
    enum onnxq_status st = onnxq_need_input(ctx, 0);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    if (s && !unary_supported(s->kind, x->dtype))
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_UNSUPPORTED, "input '%s' has unsupported dtype %s",
                             ctx->node->inputs[0], onnxq_dtype_name(x->dtype));
    enum onnxq_dtype odt = s && (s->kind == U_ISNAN || s->kind == U_ISINF) ? ONNXQ_DT_BOOL : x->dtype;
    onnxq_out_shape(ctx->outputs[0], odt, x->ndim, x->dims);
    return ONNXQ_OK;
}

struct ujob {
    const struct ustate *s;
    enum onnxq_dtype dt;
    const void *x;
    void *y;
    struct onnxq_vstats_sink *sink;  /* float output: statistics */
};

#define F16_CHUNK 512

static void ujob_range(void *arg, size_t b, size_t e)
{
    const struct ujob *j = arg;
    const struct ustate *s = j->s;
    enum ukind k = s->kind;
    size_t n = e - b;
    if (k == U_NOT) {
        const uint8_t *x = (const uint8_t *)j->x + b;
        uint8_t *y = (uint8_t *)j->y + b;
        for (size_t i = 0; i < n; i++)
            y[i] = !x[i];
        return;
    }
    if (k == U_ISNAN || k == U_ISINF) {
        uint8_t *y = (uint8_t *)j->y + b;
        float buf[F16_CHUNK];
        for (size_t off = 0; off < n; off += F16_CHUNK) {
            size_t m = n - off < F16_CHUNK ? n - off : F16_CHUNK;
            if (j->dt == ONNXQ_DT_DOUBLE) {
                const double *x = (const double *)j->x + b + off;
                for (size_t i = 0; i < m; i++)
                    y[off + i] = k == U_ISNAN ? isnan(x[i]) != 0
                                              : isinf(x[i]) && (x[i] > 0 ? s->detect_pos : s->detect_neg);
                continue;
            }
            const float *x = buf;
            if (j->dt == ONNXQ_DT_FLOAT)
                x = (const float *)j->x + b + off;
            else
                onnxq_ew_cast_data(j->dt, (const uint16_t *)j->x + b + off, ONNXQ_DT_FLOAT, buf, m);
            for (size_t i = 0; i < m; i++)
                y[off + i] = k == U_ISNAN ? isnan(x[i]) != 0
                                          : isinf(x[i]) && (x[i] > 0 ? s->detect_pos : s->detect_neg);
        }
        return;
    }
    if (j->dt == ONNXQ_DT_FLOAT && j->sink) {
        struct onnxq_vstats vs;
        onnxq_vstats_init(&vs);
        for (size_t o = 0; o < n; o += STATS_PIECE) {
            size_t m = n - o < STATS_PIECE ? n - o : STATS_PIECE;
            float *y = (float *)j->y + b + o;
            uk32[k]((const float *)j->x + b + o, y, m, s);
            onnxq_vstats_sink_observe(j->sink, &vs, y, m);
        }
        onnxq_vstats_sink_put(j->sink, (const float *)j->y + b, n, &vs);
        return;
    }
    switch (j->dt) {
    case ONNXQ_DT_FLOAT: uk32[k]((const float *)j->x + b, (float *)j->y + b, n, s); break;
    case ONNXQ_DT_DOUBLE: uk64[k]((const double *)j->x + b, (double *)j->y + b, n, s); break;
    case ONNXQ_DT_FLOAT16:
    case ONNXQ_DT_BFLOAT16: {
        float buf[F16_CHUNK];
        for (size_t off = 0; off < n; off += F16_CHUNK) {
            size_t m = n - off < F16_CHUNK ? n - off : F16_CHUNK;
            onnxq_ew_cast_data(j->dt, (const uint16_t *)j->x + b + off, ONNXQ_DT_FLOAT, buf, m);
            uk32[k](buf, buf, m, s);
            onnxq_ew_cast_data(ONNXQ_DT_FLOAT, buf, j->dt, (uint16_t *)j->y + b + off, m);
        }
        break;
    }
    case ONNXQ_DT_INT8: ui_i8(k, (const int8_t *)j->x + b, (int8_t *)j->y + b, n); break;
    case ONNXQ_DT_INT16: ui_i16(k, (const int16_t *)j->x + b, (int16_t *)j->y + b, n); break;
    case ONNXQ_DT_INT32: ui_i32(k, (const int32_t *)j->x + b, (int32_t *)j->y + b, n); break;
    case ONNXQ_DT_INT64: ui_i64(k, (const int64_t *)j->x + b, (int64_t *)j->y + b, n); break;
    case ONNXQ_DT_UINT8: ui_u8(k, (const uint8_t *)j->x + b, (uint8_t *)j->y + b, n); break;
    case ONNXQ_DT_UINT16: ui_u16(k, (const uint16_t *)j->x + b, (uint16_t *)j->y + b, n); break;
    case ONNXQ_DT_UINT32: ui_u32(k, (const uint32_t *)j->x + b, (uint32_t *)j->y + b, n); break;
    case ONNXQ_DT_UINT64: ui_u64(k, (const uint64_t *)j->x + b, (uint64_t *)j->y + b, n); break;
    default: break;
    }
}

enum onnxq_status onnxq_ew_unary_run(void *state, struct onnxq_op_ctx *ctx)
{
    const struct ustate *s = state;
    const struct onnxq_tensor *x = ctx->inputs[0];
    struct ujob j = {s, x->dtype, x->data, ctx->outputs[0]->data, ctx->stats};
    onnxq_parallel_for(ctx, (size_t)onnxq_tensor_numel(x), unary_cheap(s->kind) ? GRAIN_CHEAP : GRAIN_MATH,
                       ujob_range, &j);
    return ONNXQ_OK;
}

/* ---- Clip ---- */

struct clip_state {
    bool attr_form;  /* opset < 11: min/max attributes */
    float lo, hi;
};

enum onnxq_status onnxq_ew_clip_init(struct onnxq_op_init *ictx, void **state)
{
    struct clip_state *s = calloc(1, sizeof(*s));
    if (!s)
        return onnxq_op_fail(ictx->err, ictx->node, ONNXQ_E_NOMEM, "out of memory");
    s->attr_form = ictx->opset < 11;
    s->lo = onnxq_attr_float(ictx->node, "min", -FLT_MAX);
    s->hi = onnxq_attr_float(ictx->node, "max", FLT_MAX);
    *state = s;
    return ONNXQ_OK;
}

#define EW_CLIP_FN(SFX, T) \
    static void clip_##SFX(const T *x, T *y, size_t n, T lo, T hi) \
    { \
        for (size_t i = 0; i < n; i++) { \
            T v = x[i]; \
            v = v < lo ? lo : v; \
            y[i] = v > hi ? hi : v; \
        } \
    }
EW_CLIP_FN(f32, float)
EW_CLIP_FN(f64, double)
EW_CLIP_FN(i8, int8_t)
EW_CLIP_FN(i16, int16_t)
EW_CLIP_FN(i32, int32_t)
EW_CLIP_FN(i64, int64_t)
EW_CLIP_FN(u8, uint8_t)
EW_CLIP_FN(u16, uint16_t)
EW_CLIP_FN(u32, uint32_t)
EW_CLIP_FN(u64, uint64_t)

struct clip_job {
    enum onnxq_dtype dt;  /* float16/bfloat16 run in float */
    const void *x;
    void *y;
    unsigned char lo[8], hi[8];  /* bounds in the compute type */
};

static void clip_range(void *arg, size_t b, size_t e)
{
    const struct clip_job *j = arg;
    size_t n = e - b;
#define CLIP_CASE(DT, SFX, T) \
    case DT: { \
        T lo, hi; \
        memcpy(&lo, j->lo, sizeof(T)); \
        memcpy(&hi, j->hi, sizeof(T)); \
        clip_##SFX((const T *)j->x + b, (T *)j->y + b, n, lo, hi); \
        break; \
    }
    switch (j->dt) {
    CLIP_CASE(ONNXQ_DT_FLOAT, f32, float)
    CLIP_CASE(ONNXQ_DT_DOUBLE, f64, double)
    CLIP_CASE(ONNXQ_DT_INT8, i8, int8_t)
    CLIP_CASE(ONNXQ_DT_INT16, i16, int16_t)
    CLIP_CASE(ONNXQ_DT_INT32, i32, int32_t)
    CLIP_CASE(ONNXQ_DT_INT64, i64, int64_t)
    CLIP_CASE(ONNXQ_DT_UINT8, u8, uint8_t)
    CLIP_CASE(ONNXQ_DT_UINT16, u16, uint16_t)
    CLIP_CASE(ONNXQ_DT_UINT32, u32, uint32_t)
    CLIP_CASE(ONNXQ_DT_UINT64, u64, uint64_t)
    case ONNXQ_DT_FLOAT16:
    case ONNXQ_DT_BFLOAT16: {
        float lo, hi, buf[F16_CHUNK];
        memcpy(&lo, j->lo, sizeof(float));
        memcpy(&hi, j->hi, sizeof(float));
        for (size_t off = 0; off < n; off += F16_CHUNK) {
            size_t m = n - off < F16_CHUNK ? n - off : F16_CHUNK;
            onnxq_ew_cast_data(j->dt, (const uint16_t *)j->x + b + off, ONNXQ_DT_FLOAT, buf, m);
            clip_f32(buf, buf, m, lo, hi);
            onnxq_ew_cast_data(ONNXQ_DT_FLOAT, buf, j->dt, (uint16_t *)j->y + b + off, m);
        }
        break;
    }
    default: break;
    }
#undef CLIP_CASE
}

/* One bound of the input form: from the optional input `slot`, or the
 * dtype's extreme. Written in the compute type (float for 16-bit floats). */
static enum onnxq_status clip_bound(struct onnxq_op_ctx *ctx, size_t slot, bool upper, unsigned char *out)
{
    const struct onnxq_tensor *x = ctx->inputs[0];
    const struct onnxq_tensor *t = onnxq_opt_in(ctx, slot);
    if (t && onnxq_tensor_numel(t) == 0)
        t = NULL;
    if (t && t->dtype != x->dtype)
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE, "%s ('%s') has dtype %s but the input has %s",
                             upper ? "max" : "min", ctx->node->inputs[slot], onnxq_dtype_name(t->dtype),
                             onnxq_dtype_name(x->dtype));
    if (t && onnxq_tensor_numel(t) != 1)
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE, "%s ('%s') must be a scalar",
                             upper ? "max" : "min", ctx->node->inputs[slot]);
    memset(out, 0, 8);
#define BOUND(DT, T, LOWEST, HIGHEST) \
    case DT: { \
        T v = upper ? HIGHEST : LOWEST; \
        if (t) \
            memcpy(&v, t->data, sizeof(T)); \
        memcpy(out, &v, sizeof(T)); \
        return ONNXQ_OK; \
    }
    switch (x->dtype) {
    BOUND(ONNXQ_DT_FLOAT, float, -INFINITY, INFINITY)
    BOUND(ONNXQ_DT_DOUBLE, double, -INFINITY, INFINITY)
    BOUND(ONNXQ_DT_INT8, int8_t, INT8_MIN, INT8_MAX)
    BOUND(ONNXQ_DT_INT16, int16_t, INT16_MIN, INT16_MAX)
    BOUND(ONNXQ_DT_INT32, int32_t, INT32_MIN, INT32_MAX)
    BOUND(ONNXQ_DT_INT64, int64_t, INT64_MIN, INT64_MAX)
    BOUND(ONNXQ_DT_UINT8, uint8_t, 0, UINT8_MAX)
    BOUND(ONNXQ_DT_UINT16, uint16_t, 0, UINT16_MAX)
    BOUND(ONNXQ_DT_UINT32, uint32_t, 0, UINT32_MAX)
    BOUND(ONNXQ_DT_UINT64, uint64_t, 0, UINT64_MAX)
    case ONNXQ_DT_FLOAT16:
    case ONNXQ_DT_BFLOAT16: {
        float v = upper ? INFINITY : -INFINITY;
        if (t)
            v = (float)onnxq_tensor_get_f64(t, 0);
        memcpy(out, &v, sizeof(v));
        return ONNXQ_OK;
    }
    default:
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_UNSUPPORTED, "input '%s' has unsupported dtype %s",
                             ctx->node->inputs[0], onnxq_dtype_name(x->dtype));
    }
#undef BOUND
}

enum onnxq_status onnxq_ew_clip_run(void *state, struct onnxq_op_ctx *ctx)
{
    const struct clip_state *s = state;
    const struct onnxq_tensor *x = ctx->inputs[0];
    struct clip_job j = {.dt = x->dtype, .x = x->data, .y = ctx->outputs[0]->data};
    enum onnxq_status st;
    if (s->attr_form) {
        if (x->dtype == ONNXQ_DT_DOUBLE) {
            double lo = s->lo, hi = s->hi;
            memcpy(j.lo, &lo, sizeof(lo));
            memcpy(j.hi, &hi, sizeof(hi));
        } else if (x->dtype == ONNXQ_DT_FLOAT || is_f16ish(x->dtype)) {
            memcpy(j.lo, &s->lo, sizeof(float));
            memcpy(j.hi, &s->hi, sizeof(float));
        } else {
            return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_UNSUPPORTED, "input '%s' has unsupported dtype %s",
                                 ctx->node->inputs[0], onnxq_dtype_name(x->dtype));
        }
    } else if ((st = clip_bound(ctx, 1, false, j.lo)) || (st = clip_bound(ctx, 2, true, j.hi))) {
        return st;
    }
    onnxq_parallel_for(ctx, (size_t)onnxq_tensor_numel(x), GRAIN_CHEAP, clip_range, &j);
    return ONNXQ_OK;
}

/* =====================================================================
 * 5. Binary, variadic, Where and Cast op kernels
 * ===================================================================== */

void onnxq_ew_free(void *state)
{
    free(state);
}

struct bin_state {
    enum onnxq_ew_op op;
    bool legacy_bcast;   /* opset < 7 with broadcast=1: B aligned to A at `axis` */
    bool has_axis;
    int64_t axis;
    bool legacy_prelu;   /* PRelu opset < 7: a non-scalar slope runs along axis 1 */
    bool unidirectional; /* PRelu >= 7: slope broadcasts to X's shape */
    bool mixed_types;    /* Pow: base and exponent dtypes may differ */
};

static const struct {
    const char *name;
    enum onnxq_ew_op op;
    bool legacy_attrs;   /* had broadcast/axis before opset 7 */
} binary_names[] = {
    {"Add", ONNXQ_EW_ADD, true}, {"Sub", ONNXQ_EW_SUB, true}, {"Mul", ONNXQ_EW_MUL, true},
    {"Div", ONNXQ_EW_DIV, true}, {"Pow", ONNXQ_EW_POW, true}, {"Mod", ONNXQ_EW_MOD, false},
    {"PRelu", ONNXQ_EW_PRELU, false}, {"Equal", ONNXQ_EW_EQUAL, true}, {"Less", ONNXQ_EW_LESS, true},
    {"Greater", ONNXQ_EW_GREATER, true}, {"LessOrEqual", ONNXQ_EW_LESS_EQUAL, false},
    {"GreaterOrEqual", ONNXQ_EW_GREATER_EQUAL, false}, {"And", ONNXQ_EW_AND, true}, {"Or", ONNXQ_EW_OR, true},
    {"Xor", ONNXQ_EW_XOR, true}, {"BitShift", ONNXQ_EW_SHL, false},
};

enum onnxq_status onnxq_ew_binary_init(struct onnxq_op_init *ictx, void **state)
{
    const struct onnxq_node *n = ictx->node;
    size_t i = 0, nn = sizeof(binary_names) / sizeof(binary_names[0]);
    while (i < nn && strcmp(binary_names[i].name, n->op_type) != 0)
        i++;
    if (i == nn)
        return onnxq_op_fail(ictx->err, n, ONNXQ_E_INTERNAL, "not an elementwise binary op");
    struct bin_state *s = calloc(1, sizeof(*s));
    if (!s)
        return onnxq_op_fail(ictx->err, n, ONNXQ_E_NOMEM, "out of memory");
    s->op = binary_names[i].op;
    if (binary_names[i].legacy_attrs && ictx->opset < 7) {
        s->legacy_bcast = onnxq_attr_int(n, "broadcast", 0) != 0;
        s->has_axis = onnxq_attr_has(n, "axis");
        s->axis = onnxq_attr_int(n, "axis", 0);
    }
    if (s->op == ONNXQ_EW_MOD && onnxq_attr_int(n, "fmod", 0) != 0)
        s->op = ONNXQ_EW_FMOD;
    if (s->op == ONNXQ_EW_PRELU) {
        s->legacy_prelu = ictx->opset < 7;
        s->unidirectional = !s->legacy_prelu;
    }
    s->mixed_types = s->op == ONNXQ_EW_POW;
    if (strcmp(n->op_type, "BitShift") == 0) {
        char buf[16];
        const char *dir = onnxq_attr_string(n, "direction", "", buf, sizeof(buf));
        if (strcmp(dir, "RIGHT") == 0) {
            s->op = ONNXQ_EW_SHR;
        } else if (strcmp(dir, "LEFT") != 0) {
            free(s);
            return onnxq_op_fail(ictx->err, n, ONNXQ_E_INVALID_MODEL,
                                 "attribute direction is '%s'; expected LEFT or RIGHT", dir);
        }
    }
    *state = s;
    return ONNXQ_OK;
}

/* B as the kernels see it: legacy forms become plain numpy broadcasting by
 * padding B's shape with 1s. */
static enum onnxq_status bin_view(const struct bin_state *s, struct onnxq_op_ctx *ctx, const struct onnxq_tensor *a,
                                  const struct onnxq_tensor *b, struct onnxq_tensor *bv)
{
    *bv = *b;
    int64_t axis = -1;
    if (s->legacy_bcast) {
        axis = s->has_axis ? s->axis : a->ndim - b->ndim;
        if (axis < 0)
            axis += a->ndim;
    } else if (s->legacy_prelu && onnxq_tensor_numel(b) != 1 && b->ndim >= 1 && a->ndim >= 2) {
        axis = 1;
    }
    if (axis < 0)
        return ONNXQ_OK;
    if (axis + b->ndim > a->ndim) {
        char sa[200], sb[200];
        onnxq_shape_format(a->dims, a->ndim, sa, sizeof(sa));
        onnxq_shape_format(b->dims, b->ndim, sb, sizeof(sb));
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE,
                             "input B of shape %s does not fit A of shape %s at axis %lld", sb, sa, (long long)axis);
    }
    bv->ndim = (int)(a->ndim - axis);
    for (int i = b->ndim; i < bv->ndim; i++)
        bv->dims[i] = 1;
    return ONNXQ_OK;
}

enum onnxq_status onnxq_ew_binary_shape(void *state, struct onnxq_op_ctx *ctx)
{
    const struct bin_state *s = state;
    enum onnxq_status st;
    if ((st = onnxq_need_input(ctx, 0)) || (st = onnxq_need_input(ctx, 1)))
        return st;
    const struct onnxq_tensor *a = ctx->inputs[0], *b = ctx->inputs[1];
    if (a->dtype != b->dtype && !s->mixed_types)
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE, "input dtypes differ: '%s' is %s, '%s' is %s",
                             ctx->node->inputs[0], onnxq_dtype_name(a->dtype), ctx->node->inputs[1],
                             onnxq_dtype_name(b->dtype));
    bool ok = bin_supports(s->op, a->dtype);
    if (a->dtype != b->dtype)  /* Pow with another exponent type: computed in float or double */
        ok = ok && (is_floatish(b->dtype) || (bin_row_for(b->dtype) && b->dtype != ONNXQ_DT_BOOL));
    if (!ok)
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_UNSUPPORTED, "dtype %s%s%s is not supported",
                             onnxq_dtype_name(a->dtype), a->dtype != b->dtype ? " with " : "",
                             a->dtype != b->dtype ? onnxq_dtype_name(b->dtype) : "");
    struct onnxq_tensor bv;
    if ((st = bin_view(s, ctx, a, b, &bv)))
        return st;
    int64_t dims[ONNXQ_MAX_DIMS];
    int nd;
    if ((st = onnxq_broadcast_shape(ctx, a->dims, a->ndim, bv.dims, bv.ndim, dims, &nd)))
        return st;
    if (s->unidirectional && !same_dims(a, dims, nd)) {
        char sa[200], sb[200];
        onnxq_shape_format(a->dims, a->ndim, sa, sizeof(sa));
        onnxq_shape_format(b->dims, b->ndim, sb, sizeof(sb));
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE, "slope of shape %s does not broadcast to X's shape %s",
                             sb, sa);
    }
    onnxq_out_shape(ctx->outputs[0], op_is_cmp(s->op) ? ONNXQ_DT_BOOL : a->dtype, nd, dims);
    return ONNXQ_OK;
}

enum onnxq_status onnxq_ew_binary_run(void *state, struct onnxq_op_ctx *ctx)
{
    const struct bin_state *s = state;
    const struct onnxq_tensor *a = ctx->inputs[0], *b = ctx->inputs[1];
    struct onnxq_tensor bv;
    enum onnxq_status st = bin_view(s, ctx, a, b, &bv);
    if (st)
        return st;
    if (a->dtype != b->dtype) {
        /* Pow(T, T1): float bases compute in their own type (float16 in
         * float), integer bases in double, truncated back */
        enum onnxq_dtype cdt = a->dtype == ONNXQ_DT_FLOAT || a->dtype == ONNXQ_DT_DOUBLE ? a->dtype
                               : is_f16ish(a->dtype)                                  ? ONNXQ_DT_FLOAT
                                                                                     : ONNXQ_DT_DOUBLE;
        return binary_via(ctx, s->op, a, &bv, ctx->outputs[0], cdt, false);
    }
    return ew_binary(ctx, s->op, a, &bv, ctx->outputs[0], false, ctx->stats);
}

/* ---- Sum, Mean, Min, Max ---- */

struct var_state {
    enum onnxq_ew_op op;
    bool mean;
};

enum onnxq_status onnxq_ew_variadic_init(struct onnxq_op_init *ictx, void **state)
{
    const char *t = ictx->node->op_type;
    struct var_state *s = calloc(1, sizeof(*s));
    if (!s)
        return onnxq_op_fail(ictx->err, ictx->node, ONNXQ_E_NOMEM, "out of memory");
    s->op = strcmp(t, "Min") == 0 ? ONNXQ_EW_MIN : strcmp(t, "Max") == 0 ? ONNXQ_EW_MAX : ONNXQ_EW_ADD;
    s->mean = strcmp(t, "Mean") == 0;
    *state = s;
    return ONNXQ_OK;
}

enum onnxq_status onnxq_ew_variadic_shape(void *state, struct onnxq_op_ctx *ctx)
{
    const struct var_state *s = state;
    enum onnxq_status st;
    if (ctx->n_inputs == 0)
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_INVALID_MODEL, "needs at least one input");
    for (size_t i = 0; i < ctx->n_inputs; i++)
        if ((st = onnxq_need_input(ctx, i)))
            return st;
    const struct onnxq_tensor *x0 = ctx->inputs[0];
    if (!bin_supports(s->op, x0->dtype) || x0->dtype == ONNXQ_DT_BOOL || (s->mean && !is_floatish(x0->dtype)))
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_UNSUPPORTED, "dtype %s is not supported",
                             onnxq_dtype_name(x0->dtype));
    int64_t dims[ONNXQ_MAX_DIMS];
    int nd = x0->ndim;
    memcpy(dims, x0->dims, sizeof(int64_t) * (size_t)nd);
    for (size_t i = 1; i < ctx->n_inputs; i++) {
        const struct onnxq_tensor *x = ctx->inputs[i];
        if (x->dtype != x0->dtype)
            return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE, "input '%s' is %s but '%s' is %s",
                                 ctx->node->inputs[i], onnxq_dtype_name(x->dtype), ctx->node->inputs[0],
                                 onnxq_dtype_name(x0->dtype));
        if ((st = onnxq_broadcast_shape(ctx, dims, nd, x->dims, x->ndim, dims, &nd)))
            return st;
    }
    onnxq_out_shape(ctx->outputs[0], x0->dtype, nd, dims);
    return ONNXQ_OK;
}

struct scale_job {
    enum onnxq_dtype dt;
    void *y;
    double div;
};

static void scale_range(void *arg, size_t b, size_t e)
{
    const struct scale_job *j = arg;
    if (j->dt == ONNXQ_DT_FLOAT) {
        float *y = j->y;
        float d = (float)j->div;
        for (size_t i = b; i < e; i++)
            y[i] /= d;
    } else {
        double *y = j->y;
        for (size_t i = b; i < e; i++)
            y[i] /= j->div;
    }
}

static enum onnxq_status variadic_compute(const struct var_state *s, struct onnxq_op_ctx *ctx, size_t n,
                                          const struct onnxq_tensor *const *in, struct onnxq_tensor *y)
{
    enum onnxq_status st;
    size_t k = 1;
    int64_t dims[ONNXQ_MAX_DIMS];
    int nd = 0;
    if (n >= 2 && onnxq_broadcast_shape(ctx, in[0]->dims, in[0]->ndim, in[1]->dims, in[1]->ndim, dims, &nd) == 0 &&
        same_dims(y, dims, nd)) {
        if ((st = onnxq_ew_binary(ctx, s->op, in[0], in[1], y, false)))
            return st;
        k = 2;
    } else if ((st = expand_copy(ctx, in[0], y))) {
        return st;
    }
    for (; k < n; k++)
        if ((st = onnxq_ew_binary(ctx, s->op, y, in[k], y, false)))
            return st;
    if (s->mean && n > 1) {
        struct scale_job j = {y->dtype, y->data, (double)n};
        onnxq_parallel_for(ctx, (size_t)onnxq_tensor_numel(y), GRAIN_CHEAP, scale_range, &j);
    }
    return ONNXQ_OK;
}

enum onnxq_status onnxq_ew_variadic_run(void *state, struct onnxq_op_ctx *ctx)
{
    const struct var_state *s = state;
    struct onnxq_tensor *y = ctx->outputs[0];
    size_t n = ctx->n_inputs;
    if (!is_f16ish(y->dtype))
        return variadic_compute(s, ctx, n, ctx->inputs, y);
    /* float16/bfloat16: everything in float */
    struct onnxq_tensor *tmp = calloc(n + 1, sizeof(*tmp));
    const struct onnxq_tensor **ins = calloc(n, sizeof(*ins));
    enum onnxq_status st = ONNXQ_OK;
    if (!tmp || !ins) {
        st = onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if ((st = convert_copy(ctx, ctx->inputs[i], ONNXQ_DT_FLOAT, &tmp[i])))
            goto out;
        ins[i] = &tmp[i];
    }
    if ((st = onnxq_tensor_alloc(&tmp[n], ONNXQ_DT_FLOAT, y->ndim, y->dims, ctx->err)))
        goto out;
    if (!(st = variadic_compute(s, ctx, n, ins, &tmp[n])))
        onnxq_ew_cast_data(ONNXQ_DT_FLOAT, tmp[n].data, y->dtype, y->data, (size_t)onnxq_tensor_numel(y));
out:
    if (tmp)
        for (size_t i = 0; i <= n; i++)
            onnxq_tensor_clear(&tmp[i]);
    free(tmp);
    free(ins);
    return st;
}

/* ---- Where ---- */

enum onnxq_status onnxq_ew_where_shape(void *state, struct onnxq_op_ctx *ctx)
{
    (void)state;
    enum onnxq_status st;
    for (size_t i = 0; i < 3; i++)
        if ((st = onnxq_need_input(ctx, i)))
            return st;
    const struct onnxq_tensor *c = ctx->inputs[0], *x = ctx->inputs[1], *y = ctx->inputs[2];
    if (c->dtype != ONNXQ_DT_BOOL)
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE, "condition '%s' has dtype %s; expected bool",
                             ctx->node->inputs[0], onnxq_dtype_name(c->dtype));
    if (x->dtype != y->dtype)
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE, "X ('%s') is %s but Y ('%s') is %s",
                             ctx->node->inputs[1], onnxq_dtype_name(x->dtype), ctx->node->inputs[2],
                             onnxq_dtype_name(y->dtype));
    if (x->dtype == ONNXQ_DT_STRING || !onnxq_dtype_size(x->dtype))
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_UNSUPPORTED, "dtype %s is not supported",
                             onnxq_dtype_name(x->dtype));
    int64_t dims[ONNXQ_MAX_DIMS];
    int nd;
    if ((st = onnxq_broadcast_shape(ctx, c->dims, c->ndim, x->dims, x->ndim, dims, &nd)) ||
        (st = onnxq_broadcast_shape(ctx, dims, nd, y->dims, y->ndim, dims, &nd)))
        return st;
    onnxq_out_shape(ctx->outputs[0], x->dtype, nd, dims);
    return ONNXQ_OK;
}

enum onnxq_status onnxq_ew_where_run(void *state, struct onnxq_op_ctx *ctx)
{
    (void)state;
    return onnxq_ew_where(ctx, ctx->inputs[0], ctx->inputs[1], ctx->inputs[2], ctx->outputs[0], false);
}

/* ---- Cast, CastLike ---- */

struct cast_state {
    bool like;               /* CastLike: target dtype = input 1's */
    enum onnxq_dtype to;
};

static const struct {
    const char *name;
    enum onnxq_dtype dt;
} dtype_names[] = {
    {"FLOAT", ONNXQ_DT_FLOAT}, {"UINT8", ONNXQ_DT_UINT8}, {"INT8", ONNXQ_DT_INT8},
    {"UINT16", ONNXQ_DT_UINT16}, {"INT16", ONNXQ_DT_INT16}, {"INT32", ONNXQ_DT_INT32},
    {"INT64", ONNXQ_DT_INT64}, {"STRING", ONNXQ_DT_STRING}, {"BOOL", ONNXQ_DT_BOOL},
    {"FLOAT16", ONNXQ_DT_FLOAT16}, {"DOUBLE", ONNXQ_DT_DOUBLE}, {"UINT32", ONNXQ_DT_UINT32},
    {"UINT64", ONNXQ_DT_UINT64}, {"BFLOAT16", ONNXQ_DT_BFLOAT16},
};

enum onnxq_status onnxq_ew_cast_init(struct onnxq_op_init *ictx, void **state)
{
    const struct onnxq_node *n = ictx->node;
    struct cast_state *s = calloc(1, sizeof(*s));
    if (!s)
        return onnxq_op_fail(ictx->err, n, ONNXQ_E_NOMEM, "out of memory");
    s->like = strcmp(n->op_type, "CastLike") == 0;
    if (!s->like) {
        const struct onnxq_attr *a = onnxq_node_attr(n, "to");
        int64_t to = -1;
        if (a && a->type == ONNXQ_ATTR_STRING) {
            /* opset 1: the dtype's name */
            char buf[32];
            onnxq_attr_string(n, "to", "", buf, sizeof(buf));
            for (size_t i = 0; i < sizeof(dtype_names) / sizeof(dtype_names[0]); i++)
                if (strcmp(buf, dtype_names[i].name) == 0)
                    to = dtype_names[i].dt;
        } else if (a) {
            to = onnxq_attr_int(n, "to", -1);
        }
        if (!onnxq_dtype_valid((int)to)) {
            free(s);
            return onnxq_op_fail(ictx->err, n, ONNXQ_E_INVALID_MODEL, "attribute 'to' is missing or not a dtype");
        }
        s->to = (enum onnxq_dtype)to;
    }
    *state = s;
    return ONNXQ_OK;
}

enum onnxq_status onnxq_ew_cast_shape(void *state, struct onnxq_op_ctx *ctx)
{
    const struct cast_state *s = state;
    enum onnxq_status st = onnxq_need_input(ctx, 0);
    if (st || (s->like && (st = onnxq_need_input(ctx, 1))))
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0];
    enum onnxq_dtype to = s->like ? ctx->inputs[1]->dtype : s->to;
    bool ok = (cast_numeric(x->dtype) || x->dtype == ONNXQ_DT_STRING) &&
              (cast_numeric(to) || to == ONNXQ_DT_STRING);
    if (!ok)
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_UNSUPPORTED, "cast from %s to %s is not supported",
                             onnxq_dtype_name(x->dtype), onnxq_dtype_name(to));
    onnxq_out_shape(ctx->outputs[0], to, x->ndim, x->dims);
    return ONNXQ_OK;
}

/* Shortest round-tripping decimal of v, laid out like numpy's str(): 
 * positional for 1e-4 <= |v| < 1e16 ("0.1", "1.0", "123456790.0"),
 * scientific otherwise ("1e-05", "1.5e+16"). */
static int format_float(double v, bool single, char *buf, size_t cap)
{
    if (isnan(v))
        return snprintf(buf, cap, "nan");
    if (isinf(v))
        return snprintf(buf, cap, v < 0 ? "-inf" : "inf");
    if (v == 0)
        return snprintf(buf, cap, signbit(v) ? "-0.0" : "0.0");
    char e[40];
    int maxp = single ? 9 : 17;
    for (int p = 1; p <= maxp; p++) {
        snprintf(e, sizeof(e), "%.*e", p - 1, v);
        if (single ? strtof(e, NULL) == (float)v : strtod(e, NULL) == v)
            break;
    }
    /* e = [-]d[.ddd]e[+-]XX */
    char digits[24];
    size_t nd = 0;
    const char *c = e;
    bool neg = *c == '-';
    if (neg)
        c++;
    for (; *c && *c != 'e'; c++)
        if (*c >= '0' && *c <= '9' && nd < sizeof(digits) - 1)
            digits[nd++] = *c;
    int exp10 = *c == 'e' ? atoi(c + 1) : 0;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = '\0';
    double av = fabs(v);
    size_t o = 0;
    char out[64];
    if (neg)
        out[o++] = '-';
    if (av >= 1e-4 && av < 1e16) {
        if (exp10 >= 0) {
            for (int i = 0; i <= exp10; i++)
                out[o++] = (size_t)i < nd ? digits[i] : '0';
            out[o++] = '.';
            if ((size_t)exp10 + 1 < nd)
                for (size_t i = (size_t)exp10 + 1; i < nd; i++)
                    out[o++] = digits[i];
            else
                out[o++] = '0';
        } else {
            out[o++] = '0';
            out[o++] = '.';
            for (int i = 0; i < -exp10 - 1; i++)
                out[o++] = '0';
            for (size_t i = 0; i < nd; i++)
                out[o++] = digits[i];
        }
        out[o] = '\0';
    } else {
        out[o++] = digits[0];
        if (nd > 1) {
            out[o++] = '.';
            for (size_t i = 1; i < nd; i++)
                out[o++] = digits[i];
        }
        snprintf(out + o, sizeof(out) - o, "e%c%02d", exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
    }
    return snprintf(buf, cap, "%s", out);
}

static enum onnxq_status cast_strings(struct onnxq_op_ctx *ctx, const struct onnxq_tensor *x, struct onnxq_tensor *y)
{
    size_t n = (size_t)onnxq_tensor_numel(x);
    if (x->dtype == ONNXQ_DT_STRING && y->dtype == ONNXQ_DT_STRING) {
        struct onnxq_tensor tmp;
        enum onnxq_status st = onnxq_tensor_copy(&tmp, x, ctx->err);
        if (st)
            return st;
        struct onnxq_bytes *d = y->data, *s = tmp.data;
        for (size_t i = 0; i < n; i++) {
            free(d[i].data);
            d[i] = s[i];
            s[i].data = NULL;
        }
        onnxq_tensor_clear(&tmp);
        return ONNXQ_OK;
    }
    if (x->dtype == ONNXQ_DT_STRING) {
        const struct onnxq_bytes *s = x->data;
        size_t esz = onnxq_dtype_size(y->dtype);
        for (size_t i = 0; i < n; i++) {
            char buf[128];
            size_t len = s[i].len < sizeof(buf) - 1 ? s[i].len : sizeof(buf) - 1;
            if (len)
                memcpy(buf, s[i].data, len);
            buf[len] = '\0';
            char *end = NULL;
            bool ok;
            if (!is_floatish(y->dtype) && y->dtype != ONNXQ_DT_BOOL) {
                long long v = strtoll(buf, &end, 10);
                ok = end != buf && *end == '\0';
                if (ok) {
                    int64_t w = v;
                    onnxq_ew_cast_data(ONNXQ_DT_INT64, &w, y->dtype, (char *)y->data + i * esz, 1);
                    continue;
                }
            }
            double d = strtod(buf, &end);
            ok = end != buf;
            while (ok && (*end == ' ' || *end == '\t' || *end == '\n'))
                end++;
            if (!ok || *end)
                return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_DATA, "element %zu ('%s') is not a number", i,
                                     buf);
            onnxq_ew_cast_data(ONNXQ_DT_DOUBLE, &d, y->dtype, (char *)y->data + i * esz, 1);
        }
        return ONNXQ_OK;
    }
    struct onnxq_bytes *d = y->data;
    for (size_t i = 0; i < n; i++) {
        char buf[64];
        int len;
        switch (x->dtype) {
        case ONNXQ_DT_FLOAT:
        case ONNXQ_DT_FLOAT16:
        case ONNXQ_DT_BFLOAT16: len = format_float(onnxq_tensor_get_f64(x, i), true, buf, sizeof(buf)); break;
        case ONNXQ_DT_DOUBLE: len = format_float(((const double *)x->data)[i], false, buf, sizeof(buf)); break;
        case ONNXQ_DT_BOOL: len = snprintf(buf, sizeof(buf), "%s", ((const uint8_t *)x->data)[i] ? "True" : "False"); break;
        case ONNXQ_DT_UINT64: len = snprintf(buf, sizeof(buf), "%" PRIu64, ((const uint64_t *)x->data)[i]); break;
        default: len = snprintf(buf, sizeof(buf), "%" PRId64, onnxq_tensor_get_i64(x, i)); break;
        }
        if (len < 0)
            len = 0;
        free(d[i].data);
        d[i].data = malloc((size_t)len + 1);
        if (!d[i].data) {
            d[i].len = 0;
            return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_NOMEM, "out of memory");
        }
        memcpy(d[i].data, buf, (size_t)len);
        d[i].len = (size_t)len;
    }
    return ONNXQ_OK;
}

struct cast_job {
    enum onnxq_dtype sdt, ddt;
    const char *x;
    char *y;
    size_t ssz, dsz;
};

static void cast_range(void *arg, size_t b, size_t e)
{
    const struct cast_job *j = arg;
    onnxq_ew_cast_data(j->sdt, j->x + b * j->ssz, j->ddt, j->y + b * j->dsz, e - b);
}

enum onnxq_status onnxq_ew_cast_run(void *state, struct onnxq_op_ctx *ctx)
{
    (void)state;
    const struct onnxq_tensor *x = ctx->inputs[0];
    struct onnxq_tensor *y = ctx->outputs[0];
    if (x->dtype == ONNXQ_DT_STRING || y->dtype == ONNXQ_DT_STRING)
        return cast_strings(ctx, x, y);
    struct cast_job j = {x->dtype, y->dtype, x->data, y->data, onnxq_dtype_size(x->dtype), onnxq_dtype_size(y->dtype)};
    onnxq_parallel_for(ctx, (size_t)onnxq_tensor_numel(x), GRAIN_CHEAP, cast_range, &j);
    return ONNXQ_OK;
}
