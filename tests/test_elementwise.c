/* Elementwise operators: the collapsed, parallel broadcast kernel against
 * the plain N-d reference loop (random shapes, every op and dtype,
 * bit-exact), float unary kernels against their double versions, and the
 * semantics the ONNX node tests do not pin down (integer division and
 * modulo signs, shifts, Pow types, Clip forms, Cast rounding/saturation and
 * strings, legacy broadcast attributes, variadic broadcasting, errors). */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/threadpool.h"
#include "ops/elementwise.h"
#include "optest.h"

/* Fast broadcast paths compute the very same per-element expression as the
 * reference loop, so they must agree bit for bit (NaNs included). */
#define BINARY_TOL_EXACT 0
/* float32 unary kernels (libm float functions) against the same op run in
 * double: a few ulp. */
#define UNARY_F32_RTOL 1e-5
#define UNARY_F32_ATOL 1e-6
/* The vectorised float Exp/Sigmoid/Tanh/Erf kernels against the double libm
 * function rounded to float, in ulp; below FLT_MIN (subnormal results)
 * the absolute error must stay under FLT_MIN. */
#define FAST_EXP_MAX_ULP 1.0
#define FAST_SIGMOID_MAX_ULP 3.0
#define FAST_TANH_MAX_ULP 2.0
#define FAST_ERF_MAX_ULP 2.0

static struct onnxq_threadpool *pool;
static struct onnxq_error err;
static char *in_names[] = {"a", "b", "c", "d", "e"};
static char *out_names[] = {"y"};
static struct onnxq_node test_node = {.name = "test", .op_type = "Test", .n_inputs = 3, .inputs = in_names,
                                      .n_outputs = 1, .outputs = out_names};

static void setup(void)
{
    pool = onnxq_threadpool_new(4);
    memset(&err, 0, sizeof(err));
}

static void teardown(void)
{
    onnxq_threadpool_free(pool);
    pool = NULL;
}

static struct onnxq_op_ctx make_ctx(const struct onnxq_node *node)
{
    struct onnxq_op_ctx c = {.node = node, .pool = pool, .threads = onnxq_threadpool_size(pool), .err = &err};
    return c;
}

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static int rng_int(uint64_t *s, int lo, int hi)
{
    return lo + (int)(rng_next(s) % (uint64_t)(hi - lo + 1));
}

static void fill_random(struct onnxq_tensor *t, uint64_t *rng, enum onnxq_ew_op op)
{
    size_t n = (size_t)onnxq_tensor_numel(t);
    for (size_t i = 0; i < n; i++) {
        int r = rng_int(rng, -9, 9);
        switch (t->dtype) {
        case ONNXQ_DT_FLOAT:
        case ONNXQ_DT_DOUBLE:
        case ONNXQ_DT_FLOAT16:
        case ONNXQ_DT_BFLOAT16: {
            double v = (double)(int64_t)(rng_next(rng) % 20001) / 2500.0 - 4.0;
            if (r == 9)
                v = 0;
            else if (r == -9)
                v = -0.0;
            else if (r == 8)
                v = NAN;
            else if (r == 7 && op == ONNXQ_EW_POW)
                v = 2;
            onnxq_tensor_set_f64(t, i, v);
            break;
        }
        case ONNXQ_DT_BOOL: ((uint8_t *)t->data)[i] = r > 0; break;
        default:
            if (op == ONNXQ_EW_SHL || op == ONNXQ_EW_SHR)
                r = rng_int(rng, 0, 70);
            else if (op == ONNXQ_EW_POW)
                r = rng_int(rng, -3, 9);
            else if (rng_int(rng, 0, 20) == 0)
                r = -1;
            onnxq_tensor_set_f64(t, i, (double)r);
            if (rng_int(rng, 0, 30) == 0 && t->dtype == ONNXQ_DT_INT32)
                ((int32_t *)t->data)[i] = INT32_MIN;
            if (rng_int(rng, 0, 30) == 0 && t->dtype == ONNXQ_DT_INT64)
                ((int64_t *)t->data)[i] = INT64_MIN;
            break;
        }
    }
}

/* Output shape, then input shapes that broadcast to it (random trailing
 * rank, random dims set to 1). Sometimes big enough to split over threads
 * mid-row. */
static int random_shapes(uint64_t *rng, int nin, int64_t *out, int *in_nd, int64_t in_dims[][ONNXQ_MAX_DIMS])
{
    int nd = rng_int(rng, 0, 5);
    bool big = rng_int(rng, 0, 9) == 0;
    for (int i = 0; i < nd; i++) {
        out[i] = rng_int(rng, 1, 5);
        if (rng_int(rng, 0, 5) == 0)
            out[i] = 1;
    }
    if (big && nd >= 2) {
        out[nd - 1] = 97;
        out[nd - 2] = 64 + rng_int(rng, 0, 30);
    }
    for (int k = 0; k < nin; k++) {
        in_nd[k] = nd ? rng_int(rng, 0, nd) : 0;
        if (rng_int(rng, 0, 2) == 0)
            in_nd[k] = nd;
        for (int i = 0; i < in_nd[k]; i++) {
            int64_t d = out[nd - in_nd[k] + i];
            in_dims[k][i] = rng_int(rng, 0, 3) == 0 ? 1 : d;
        }
    }
    /* make sure the inputs produce exactly `out` (dims no input covers stay 1) */
    for (int i = 0; i < nd; i++) {
        bool covered = out[i] == 1;
        for (int k = 0; k < nin && !covered; k++) {
            int ki = i - (nd - in_nd[k]);
            covered = ki >= 0 && in_dims[k][ki] == out[i];
        }
        if (!covered) {
            int k = rng_int(rng, 0, nin - 1);
            if (in_nd[k] < nd - i) {
                /* grow input k's rank to reach dim i */
                int add = (nd - i) - in_nd[k];
                memmove(&in_dims[k][add], &in_dims[k][0], sizeof(int64_t) * (size_t)in_nd[k]);
                for (int j = 0; j < add; j++)
                    in_dims[k][j] = 1;
                in_nd[k] = nd - i;
            }
            in_dims[k][i - (nd - in_nd[k])] = out[i];
        }
    }
    return nd;
}

static bool op_dtype_ok(enum onnxq_ew_op op, enum onnxq_dtype dt)
{
    bool is_float = dt == ONNXQ_DT_FLOAT || dt == ONNXQ_DT_DOUBLE || dt == ONNXQ_DT_FLOAT16 ||
                    dt == ONNXQ_DT_BFLOAT16;
    bool is_uint = dt == ONNXQ_DT_UINT8 || dt == ONNXQ_DT_UINT16 || dt == ONNXQ_DT_UINT32 || dt == ONNXQ_DT_UINT64;
    if (dt == ONNXQ_DT_BOOL)
        return op >= ONNXQ_EW_EQUAL && op <= ONNXQ_EW_XOR;
    if (op >= ONNXQ_EW_AND && op <= ONNXQ_EW_XOR)
        return false;
    if (op == ONNXQ_EW_SHL || op == ONNXQ_EW_SHR)
        return is_uint;
    (void)is_float;
    return true;
}

static const enum onnxq_dtype all_dtypes[] = {
    ONNXQ_DT_FLOAT, ONNXQ_DT_DOUBLE, ONNXQ_DT_FLOAT16, ONNXQ_DT_BFLOAT16, ONNXQ_DT_INT8,
    ONNXQ_DT_INT16, ONNXQ_DT_INT32, ONNXQ_DT_INT64, ONNXQ_DT_UINT8, ONNXQ_DT_UINT16,
    ONNXQ_DT_UINT32, ONNXQ_DT_UINT64, ONNXQ_DT_BOOL,
};
#define N_DTYPES (sizeof(all_dtypes) / sizeof(all_dtypes[0]))

static void assert_same_bytes(const struct onnxq_tensor *got, const struct onnxq_tensor *want, const char *what)
{
    ck_assert_uint_eq(got->nbytes, want->nbytes);
    if (got->nbytes && memcmp(got->data, want->data, got->nbytes) != 0) {
        size_t esz = onnxq_dtype_size(got->dtype);
        for (size_t i = 0; i * esz < got->nbytes; i++)
            if (memcmp((char *)got->data + i * esz, (char *)want->data + i * esz, esz) != 0)
                ck_abort_msg("%s: element %zu differs (%g vs %g), tolerance %d", what, i,
                             onnxq_tensor_get_f64(got, i), onnxq_tensor_get_f64(want, i), BINARY_TOL_EXACT);
    }
}

START_TEST(binary_fast_matches_reference)
{
    uint64_t rng = 0x1234567ULL;
    int checked = 0;
    for (int trial = 0; trial < 3000; trial++) {
        enum onnxq_ew_op op = (enum onnxq_ew_op)rng_int(&rng, 0, ONNXQ_EW_N_OPS - 1);
        enum onnxq_dtype dt = all_dtypes[rng_int(&rng, 0, (int)N_DTYPES - 1)];
        if (!op_dtype_ok(op, dt))
            continue;
        int64_t out[ONNXQ_MAX_DIMS], in_dims[2][ONNXQ_MAX_DIMS];
        int in_nd[2];
        int nd = random_shapes(&rng, 2, out, in_nd, in_dims);
        struct onnxq_tensor a = ot_tensor(dt, in_nd[0], in_dims[0], NULL),
                            b = ot_tensor(dt, in_nd[1], in_dims[1], NULL);
        fill_random(&a, &rng, op);
        fill_random(&b, &rng, op);
        enum onnxq_dtype ydt = op >= ONNXQ_EW_EQUAL && op <= ONNXQ_EW_GREATER_EQUAL ? ONNXQ_DT_BOOL : dt;
        struct onnxq_tensor yf = ot_tensor(ydt, nd, out, NULL), yr = ot_tensor(ydt, nd, out, NULL);
        struct onnxq_op_ctx c = make_ctx(&test_node);
        ck_assert_msg(onnxq_ew_binary(&c, op, &a, &b, &yf, false) == ONNXQ_OK, "fast: %s", err.message);
        ck_assert_msg(onnxq_ew_binary(&c, op, &a, &b, &yr, true) == ONNXQ_OK, "reference: %s", err.message);
        char what[128];
        snprintf(what, sizeof(what), "trial %d op %d dtype %s", trial, (int)op, onnxq_dtype_name(dt));
        assert_same_bytes(&yf, &yr, what);
        /* in place (y aliases a) when a already has the output shape */
        if (ydt == dt && a.ndim == nd && onnxq_tensor_numel(&a) == onnxq_tensor_numel(&yr)) {
            onnxq_ew_binary(&c, op, &a, &b, &a, false);
            assert_same_bytes(&a, &yr, what);
        }
        onnxq_tensor_clear(&a);
        onnxq_tensor_clear(&b);
        onnxq_tensor_clear(&yf);
        onnxq_tensor_clear(&yr);
        checked++;
    }
    ck_assert_int_gt(checked, 1500);
}
END_TEST

/* The shapes PP-OCR and friends use: same shape, scalar on either side,
 * per-channel [C,1,1] / [1,C,1,1] / [N,C,1,1], row vector. */
START_TEST(binary_common_fast_paths)
{
    static const int64_t x[] = {2, 24, 40, 33};
    static const struct {
        int nd;
        int64_t dims[4];
    } others[] = {
        {4, {2, 24, 40, 33}}, {0, {0}}, {1, {1}}, {3, {24, 1, 1}}, {4, {1, 24, 1, 1}},
        {4, {2, 24, 1, 1}}, {1, {33}}, {2, {40, 1}}, {4, {2, 1, 40, 33}},
    };
    uint64_t rng = 99;
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        for (int swap = 0; swap < 2; swap++) {
            struct onnxq_tensor a = ot_tensor(ONNXQ_DT_FLOAT, 4, x, NULL);
            struct onnxq_tensor b = ot_tensor(ONNXQ_DT_FLOAT, others[i].nd, others[i].dims, NULL);
            fill_random(&a, &rng, ONNXQ_EW_ADD);
            fill_random(&b, &rng, ONNXQ_EW_ADD);
            const struct onnxq_tensor *l = swap ? &b : &a, *r = swap ? &a : &b;
            for (int op = ONNXQ_EW_ADD; op <= ONNXQ_EW_PRELU; op++) {
                struct onnxq_tensor yf = ot_tensor(ONNXQ_DT_FLOAT, 4, x, NULL),
                                    yr = ot_tensor(ONNXQ_DT_FLOAT, 4, x, NULL);
                struct onnxq_op_ctx c = make_ctx(&test_node);
                ck_assert_int_eq(onnxq_ew_binary(&c, (enum onnxq_ew_op)op, l, r, &yf, false), ONNXQ_OK);
                ck_assert_int_eq(onnxq_ew_binary(&c, (enum onnxq_ew_op)op, l, r, &yr, true), ONNXQ_OK);
                assert_same_bytes(&yf, &yr, "common shape");
                onnxq_tensor_clear(&yf);
                onnxq_tensor_clear(&yr);
            }
            onnxq_tensor_clear(&a);
            onnxq_tensor_clear(&b);
        }
    }
}
END_TEST

START_TEST(where_fast_matches_reference)
{
    uint64_t rng = 777;
    static const enum onnxq_dtype dts[] = {ONNXQ_DT_FLOAT, ONNXQ_DT_INT64, ONNXQ_DT_BOOL, ONNXQ_DT_FLOAT16};
    for (int trial = 0; trial < 600; trial++) {
        enum onnxq_dtype dt = dts[trial % 4];
        int64_t out[ONNXQ_MAX_DIMS], in_dims[3][ONNXQ_MAX_DIMS];
        int in_nd[3];
        int nd = random_shapes(&rng, 3, out, in_nd, in_dims);
        struct onnxq_tensor c0 = ot_tensor(ONNXQ_DT_BOOL, in_nd[0], in_dims[0], NULL);
        struct onnxq_tensor x = ot_tensor(dt, in_nd[1], in_dims[1], NULL),
                            y = ot_tensor(dt, in_nd[2], in_dims[2], NULL);
        fill_random(&c0, &rng, ONNXQ_EW_AND);
        fill_random(&x, &rng, ONNXQ_EW_ADD);
        fill_random(&y, &rng, ONNXQ_EW_ADD);
        struct onnxq_tensor of = ot_tensor(dt, nd, out, NULL), orf = ot_tensor(dt, nd, out, NULL);
        struct onnxq_op_ctx c = make_ctx(&test_node);
        ck_assert_int_eq(onnxq_ew_where(&c, &c0, &x, &y, &of, false), ONNXQ_OK);
        ck_assert_int_eq(onnxq_ew_where(&c, &c0, &x, &y, &orf, true), ONNXQ_OK);
        assert_same_bytes(&of, &orf, "where");
        onnxq_tensor_clear(&c0);
        onnxq_tensor_clear(&x);
        onnxq_tensor_clear(&y);
        onnxq_tensor_clear(&of);
        onnxq_tensor_clear(&orf);
    }
}
END_TEST

/* ---- running whole op kernels through their table rows ---- */

static struct onnxq_attr attr_f(const char *name, float v)
{
    struct onnxq_attr a = {.name = (char *)name, .type = ONNXQ_ATTR_FLOAT, .has_f = true, .f = v};
    return a;
}

static struct onnxq_attr attr_i(const char *name, int64_t v)
{
    struct onnxq_attr a = {.name = (char *)name, .type = ONNXQ_ATTR_INT, .has_i = true, .i = v};
    return a;
}

static struct onnxq_attr attr_s(const char *name, const char *v)
{
    struct onnxq_attr a = {.name = (char *)name, .type = ONNXQ_ATTR_STRING, .has_s = true};
    a.s.data = (uint8_t *)v;
    a.s.len = strlen(v);
    return a;
}

/* One output through the shared harness on this file's 4-thread pool;
 * the error lands in err. */
static enum onnxq_status run_op(const char *op_type, int64_t opset, struct onnxq_attr *attrs, size_t n_attrs,
                                const struct onnxq_tensor **in, size_t n_in, struct onnxq_tensor *out)
{
    struct ot_attrs at = {.n = n_attrs};
    if (n_attrs)
        memcpy(at.a, attrs, n_attrs * sizeof(*attrs));
    struct ot_run how = {.pool = pool, .err = &err};
    return ot_run_op_how(op_type, opset, &at, n_in, in, 1, out, &how);
}

static void check_f32(const struct onnxq_tensor *t, const float *want, size_t n)
{
    ck_assert_int_eq(t->dtype, ONNXQ_DT_FLOAT);
    ck_assert_int_eq((int)onnxq_tensor_numel(t), (int)n);
    for (size_t i = 0; i < n; i++) {
        float g = ((const float *)t->data)[i];
        if (isnan(want[i]))
            ck_assert_msg(isnan(g), "element %zu: %g, expected nan", i, g);
        else if (isinf(want[i]))
            ck_assert_msg(g == want[i], "element %zu: %g, expected %g", i, g, want[i]);
        else
            ck_assert_msg(fabsf(g - want[i]) <= 1e-6f + 1e-6f * fabsf(want[i]), "element %zu: %.9g, expected %.9g",
                          i, g, want[i]);
    }
}

static void check_i64(const struct onnxq_tensor *t, const int64_t *want, size_t n)
{
    ck_assert_int_eq((int)onnxq_tensor_numel(t), (int)n);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(onnxq_tensor_get_i64(t, i) == want[i], "element %zu: %lld, expected %lld", i,
                      (long long)onnxq_tensor_get_i64(t, i), (long long)want[i]);
}

static const struct {
    const char *op;
    double lo, hi;
} unary_domains[] = {
    {"Relu", -5, 5}, {"LeakyRelu", -5, 5}, {"Elu", -5, 5}, {"Selu", -5, 5}, {"Celu", -5, 5},
    {"Sigmoid", -30, 30}, {"HardSigmoid", -5, 5}, {"HardSwish", -5, 5}, {"Tanh", -10, 10}, {"Erf", -4, 4},
    {"Softplus", -30, 30}, {"Softsign", -5, 5}, {"Exp", -20, 20}, {"Log", 1e-3, 100}, {"Sqrt", 0, 100},
    {"Neg", -5, 5}, {"Abs", -5, 5}, {"Reciprocal", 0.01, 10}, {"Floor", -5, 5}, {"Ceil", -5, 5},
    {"Round", -5, 5}, {"Sign", -5, 5}, {"Sin", -6, 6}, {"Cos", -6, 6}, {"Tan", -1.5, 1.5},
    {"Asin", -0.999, 0.999}, {"Acos", -0.999, 0.999}, {"Atan", -10, 10}, {"Sinh", -8, 8}, {"Cosh", -8, 8},
    {"Asinh", -10, 10}, {"Acosh", 1, 10}, {"Atanh", -0.99, 0.99}, {"ThresholdedRelu", -5, 5}, {"Mish", -10, 10},
};

START_TEST(unary_f32_matches_f64)
{
    enum { N = 4001 };
    for (size_t u = 0; u < sizeof(unary_domains) / sizeof(unary_domains[0]); u++) {
        int64_t dims[1] = {N};
        struct onnxq_tensor xf = ot_tensor(ONNXQ_DT_FLOAT, 1, dims, NULL),
                            xd = ot_tensor(ONNXQ_DT_DOUBLE, 1, dims, NULL);
        for (int i = 0; i < N; i++) {
            float v = (float)(unary_domains[u].lo + (unary_domains[u].hi - unary_domains[u].lo) * i / (N - 1));
            if (strcmp(unary_domains[u].op, "Round") == 0 || strcmp(unary_domains[u].op, "Floor") == 0)
                v = (float)((i - N / 2) * 0.25);  /* exact halves: round half to even */
            ((float *)xf.data)[i] = v;
            ((double *)xd.data)[i] = v;
        }
        const struct onnxq_tensor *inf[1] = {&xf}, *ind[1] = {&xd};
        struct onnxq_tensor yf, yd;
        ck_assert_msg(run_op(unary_domains[u].op, 18, NULL, 0, inf, 1, &yf) == ONNXQ_OK, "%s", err.message);
        ck_assert_msg(run_op(unary_domains[u].op, 18, NULL, 0, ind, 1, &yd) == ONNXQ_OK, "%s", err.message);
        for (int i = 0; i < N; i++) {
            double g = ((float *)yf.data)[i], w = ((double *)yd.data)[i];
            double excess = fabs(g - w) - (UNARY_F32_ATOL + UNARY_F32_RTOL * fabs(w));
            ck_assert_msg(excess <= 0, "%s(%.9g) = %.9g in float, %.17g in double (rtol %g, atol %g)",
                          unary_domains[u].op, ((double *)xd.data)[i], g, w, UNARY_F32_RTOL, UNARY_F32_ATOL);
        }
        onnxq_tensor_clear(&xf);
        onnxq_tensor_clear(&xd);
        onnxq_tensor_clear(&yf);
        onnxq_tensor_clear(&yd);
    }
}
END_TEST

static double ulp_error(float got, double want)
{
    float w = (float)want;
    if (isnan(w))
        return isnan(got) ? 0 : INFINITY;
    if (isinf(w) || isinf(got))
        return got == w ? 0 : INFINITY;
    if (fabsf(w) < FLT_MIN)
        return fabs((double)got - want) < FLT_MIN ? 0 : INFINITY;
    double ulp = (double)nextafterf(fabsf(w), INFINITY) - fabsf(w);
    return fabs((double)got - want) / ulp;
}

/* Every 4099th float bit pattern (about a million values: all signs,
 * exponents, NaN and inf) through the float kernels. */
START_TEST(fast_exp_sigmoid_tanh_erf_accuracy)
{
    const uint32_t step = 4099;
    int64_t n = (int64_t)(UINT32_MAX / step) + 1;
    struct onnxq_tensor x = ot_tensor(ONNXQ_DT_FLOAT, 1, &n, NULL);
    float *xv = x.data;
    for (int64_t i = 0; i < n; i++) {
        uint32_t b = (uint32_t)i * step;
        memcpy(&xv[i], &b, sizeof(float));
    }
    static const struct {
        const char *op;
        double max_ulp;
    } cases[] = {{"Exp", FAST_EXP_MAX_ULP},
                 {"Sigmoid", FAST_SIGMOID_MAX_ULP},
                 {"Tanh", FAST_TANH_MAX_ULP},
                 {"Erf", FAST_ERF_MAX_ULP}};
    const struct onnxq_tensor *in[1] = {&x};
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct onnxq_tensor y;
        ck_assert_int_eq(run_op(cases[c].op, 13, NULL, 0, in, 1, &y), ONNXQ_OK);
        const float *yv = y.data;
        double worst = 0;
        float worst_x = 0;
        for (int64_t i = 0; i < n; i++) {
            double v = xv[i], want = c == 0 ? exp(v) : c == 1 ? 1.0 / (1.0 + exp(-v)) : c == 2 ? tanh(v) : erf(v);
            double e = ulp_error(yv[i], want);
            if (e > worst) {
                worst = e;
                worst_x = xv[i];
            }
        }
        printf("%s: max error %.2f ulp (at %.9g), bound %.1f\n", cases[c].op, worst, worst_x, cases[c].max_ulp);
        ck_assert_msg(worst <= cases[c].max_ulp, "%s: %.2f ulp at %.9g exceeds %.1f", cases[c].op, worst, worst_x,
                      cases[c].max_ulp);
        onnxq_tensor_clear(&y);
    }
    onnxq_tensor_clear(&x);
}
END_TEST

START_TEST(unary_semantics)
{
    int64_t d7[1] = {7};
    float xs[7] = {-2.5f, -1.5f, -0.5f, 0.5f, 1.5f, 2.5f, NAN};
    struct onnxq_tensor x = ot_tensor(ONNXQ_DT_FLOAT, 1, d7, xs), y;
    const struct onnxq_tensor *in[1] = {&x};
    ck_assert_int_eq(run_op("Round", 11, NULL, 0, in, 1, &y), ONNXQ_OK);
    check_f32(&y, (const float[]){-2, -2, -0.0f, 0, 2, 2, NAN}, 7);
    onnxq_tensor_clear(&y);
    ck_assert_int_eq(run_op("Sign", 13, NULL, 0, in, 1, &y), ONNXQ_OK);
    check_f32(&y, (const float[]){-1, -1, -1, 1, 1, 1, NAN}, 7);
    onnxq_tensor_clear(&y);
    struct onnxq_attr a[2] = {attr_f("alpha", 0.5f), attr_f("beta", 0.25f)};
    ck_assert_int_eq(run_op("HardSigmoid", 6, a, 2, in, 1, &y), ONNXQ_OK);
    check_f32(&y, (const float[]){0, 0, 0, 0.5f, 1, 1, NAN}, 7);
    onnxq_tensor_clear(&y);
    /* Selu defaults: Selu-1 1.6732 and 1.0507, Selu-6 the float32 nearest
     * 1.6732632423543772 and 1.0507009873554805 (hand-computed at x = -0.5:
     * gamma * alpha * (e^-0.5 - 1)) */
    ck_assert_int_eq(run_op("Selu", 1, NULL, 0, in, 1, &y), ONNXQ_OK);
    ck_assert_float_eq_tol(((float *)y.data)[2], 1.0507f * 1.6732f * (expf(-0.5f) - 1), 1e-6f);
    ck_assert_float_eq_tol(((float *)y.data)[4], 1.0507f * 1.5f, 1e-6f);
    onnxq_tensor_clear(&y);
    ck_assert_int_eq(run_op("Selu", 6, NULL, 0, in, 1, &y), ONNXQ_OK);
    ck_assert_float_eq_tol(((float *)y.data)[2], 1.05070102214813232421875f * 1.67326319217681884765625f *
                                                     (expf(-0.5f) - 1), 1e-6f);
    ck_assert_float_eq_tol(((float *)y.data)[4], 1.05070102214813232421875f * 1.5f, 1e-6f);
    onnxq_tensor_clear(&y);
    /* max(x, 0): NaN stays NaN (numpy's maximum, onnxruntime) */
    ck_assert_int_eq(run_op("Relu", 14, NULL, 0, in, 1, &y), ONNXQ_OK);
    check_f32(&y, (const float[]){0, 0, 0, 0.5f, 1.5f, 2.5f, NAN}, 7);
    onnxq_tensor_clear(&y);
    struct onnxq_attr lr = attr_f("alpha", 0.1f);
    ck_assert_int_eq(run_op("LeakyRelu", 16, &lr, 1, in, 1, &y), ONNXQ_OK);
    check_f32(&y, (const float[]){-0.25f, -0.15f, -0.05f, 0.5f, 1.5f, 2.5f, NAN}, 7);
    onnxq_tensor_clear(&y);
    struct onnxq_attr tr = attr_f("alpha", 1.5f);
    ck_assert_int_eq(run_op("ThresholdedRelu", 10, &tr, 1, in, 1, &y), ONNXQ_OK);
    check_f32(&y, (const float[]){0, 0, 0, 0, 0, 2.5f, 0}, 7);
    onnxq_tensor_clear(&y);
    /* IsInf / IsNaN write bool */
    float xi[4] = {INFINITY, -INFINITY, NAN, 1};
    struct onnxq_tensor xinf = ot_tensor(ONNXQ_DT_FLOAT, 1, (const int64_t[]){4}, xi);
    const struct onnxq_tensor *ini[1] = {&xinf};
    struct onnxq_attr neg_only = attr_i("detect_positive", 0);
    ck_assert_int_eq(run_op("IsInf", 10, &neg_only, 1, ini, 1, &y), ONNXQ_OK);
    ck_assert_int_eq(y.dtype, ONNXQ_DT_BOOL);
    check_i64(&y, (const int64_t[]){0, 1, 0, 0}, 4);
    onnxq_tensor_clear(&y);
    ck_assert_int_eq(run_op("IsNaN", 13, NULL, 0, ini, 1, &y), ONNXQ_OK);
    check_i64(&y, (const int64_t[]){0, 0, 1, 0}, 4);
    onnxq_tensor_clear(&y);
    /* integers: Abs/Neg/Sign/Relu wrap instead of overflowing */
    int32_t xv[4] = {INT32_MIN, -3, 0, 5};
    struct onnxq_tensor xint = ot_tensor(ONNXQ_DT_INT32, 1, (const int64_t[]){4}, xv);
    const struct onnxq_tensor *inint[1] = {&xint};
    ck_assert_int_eq(run_op("Abs", 13, NULL, 0, inint, 1, &y), ONNXQ_OK);
    check_i64(&y, (const int64_t[]){INT32_MIN, 3, 0, 5}, 4);
    onnxq_tensor_clear(&y);
    ck_assert_int_eq(run_op("Neg", 13, NULL, 0, inint, 1, &y), ONNXQ_OK);
    check_i64(&y, (const int64_t[]){INT32_MIN, 3, 0, -5}, 4);
    onnxq_tensor_clear(&y);
    ck_assert_int_eq(run_op("Relu", 14, NULL, 0, inint, 1, &y), ONNXQ_OK);
    check_i64(&y, (const int64_t[]){0, 0, 0, 5}, 4);
    onnxq_tensor_clear(&y);
    ck_assert_int_eq(run_op("Sign", 13, NULL, 0, inint, 1, &y), ONNXQ_OK);
    check_i64(&y, (const int64_t[]){-1, -1, 0, 1}, 4);
    onnxq_tensor_clear(&y);
    /* float-only ops reject integers as unsupported */
    ck_assert_int_eq(run_op("Sigmoid", 13, NULL, 0, inint, 1, &y), ONNXQ_E_UNSUPPORTED);
    onnxq_tensor_clear(&y);
    onnxq_tensor_clear(&x);
    onnxq_tensor_clear(&xinf);
    onnxq_tensor_clear(&xint);
}
END_TEST

START_TEST(integer_arithmetic)
{
    int64_t d6[1] = {6};
    int32_t a32[6] = {7, -7, 7, -7, INT32_MIN, 5}, b32[6] = {2, 2, -2, -2, -1, 0};
    struct onnxq_tensor a = ot_tensor(ONNXQ_DT_INT32, 1, d6, a32), b = ot_tensor(ONNXQ_DT_INT32, 1, d6, b32), y;
    const struct onnxq_tensor *in[2] = {&a, &b};
    ck_assert_int_eq(run_op("Div", 14, NULL, 0, in, 2, &y), ONNXQ_OK);
    check_i64(&y, (const int64_t[]){3, -3, -3, 3, INT32_MIN, 0}, 6);
    onnxq_tensor_clear(&y);
    ck_assert_int_eq(run_op("Mod", 13, NULL, 0, in, 2, &y), ONNXQ_OK);  /* sign of the divisor */
    check_i64(&y, (const int64_t[]){1, 1, -1, -1, 0, 0}, 6);
    onnxq_tensor_clear(&y);
    struct onnxq_attr fm = attr_i("fmod", 1);
    ck_assert_int_eq(run_op("Mod", 13, &fm, 1, in, 2, &y), ONNXQ_OK);  /* sign of the dividend */
    check_i64(&y, (const int64_t[]){1, -1, 1, -1, 0, 0}, 6);
    onnxq_tensor_clear(&y);
    ck_assert_int_eq(run_op("Add", 14, NULL, 0, in, 2, &y), ONNXQ_OK);  /* wraps */
    check_i64(&y, (const int64_t[]){9, -5, 5, -9, INT32_MAX, 5}, 6);
    onnxq_tensor_clear(&y);
    int32_t pb[6] = {10, 3, -1, 0, 2, -3};
    int32_t pa[6] = {2, -2, 2, 0, 46341, -1};
    struct onnxq_tensor pwa = ot_tensor(ONNXQ_DT_INT32, 1, d6, pa), pwb = ot_tensor(ONNXQ_DT_INT32, 1, d6, pb);
    const struct onnxq_tensor *pin[2] = {&pwa, &pwb};
    ck_assert_int_eq(run_op("Pow", 15, NULL, 0, pin, 2, &y), ONNXQ_OK);
    check_i64(&y, (const int64_t[]){1024, -8, 0, 1, (int32_t)(46341u * 46341u), -1}, 6);
    onnxq_tensor_clear(&y);
    /* mixed Pow types: int base, float exponent; float base, int64 exponent */
    float fe[6] = {2, 0.5f, 3, 1, 0, 2};
    struct onnxq_tensor fexp = ot_tensor(ONNXQ_DT_FLOAT, 1, d6, fe);
    const struct onnxq_tensor *pin2[2] = {&pwa, &fexp};
    ck_assert_int_eq(run_op("Pow", 15, NULL, 0, pin2, 2, &y), ONNXQ_OK);
    ck_assert_int_eq(y.dtype, ONNXQ_DT_INT32);
    check_i64(&y, (const int64_t[]){4, 0 /* nan -> 0 */, 8, 0, 1, 1}, 6);
    onnxq_tensor_clear(&y);
    int64_t ie[6] = {2, 3, -1, 0, 1, 2};
    struct onnxq_tensor iexp = ot_tensor(ONNXQ_DT_INT64, 1, d6, ie);
    struct onnxq_tensor fbase = ot_tensor(ONNXQ_DT_FLOAT, 1, d6, (const float[]){1.5f, -2, 4, 7, 3, -3});
    const struct onnxq_tensor *pin3[2] = {&fbase, &iexp};
    ck_assert_int_eq(run_op("Pow", 15, NULL, 0, pin3, 2, &y), ONNXQ_OK);
    check_f32(&y, (const float[]){2.25f, -8, 0.25f, 1, 3, 9}, 6);
    onnxq_tensor_clear(&y);
    /* shifts past the width give 0 */
    uint8_t sa[4] = {3, 1, 200, 255}, sb[4] = {2, 9, 8, 7};
    struct onnxq_tensor ua = ot_tensor(ONNXQ_DT_UINT8, 1, (const int64_t[]){4}, sa);
    struct onnxq_tensor ub = ot_tensor(ONNXQ_DT_UINT8, 1, (const int64_t[]){4}, sb);
    const struct onnxq_tensor *sin_[2] = {&ua, &ub};
    struct onnxq_attr left = attr_s("direction", "LEFT"), right = attr_s("direction", "RIGHT");
    ck_assert_int_eq(run_op("BitShift", 11, &left, 1, sin_, 2, &y), ONNXQ_OK);
    check_i64(&y, (const int64_t[]){12, 0, 0, 128}, 4);
    onnxq_tensor_clear(&y);
    ck_assert_int_eq(run_op("BitShift", 11, &right, 1, sin_, 2, &y), ONNXQ_OK);
    check_i64(&y, (const int64_t[]){0, 0, 0, 1}, 4);
    onnxq_tensor_clear(&y);
    /* float Mod without fmod is floored, like numpy */
    struct onnxq_tensor fa = ot_tensor(ONNXQ_DT_FLOAT, 1, (const int64_t[]){2}, (const float[]){-4.5f, 4.5f});
    struct onnxq_tensor fb = ot_tensor(ONNXQ_DT_FLOAT, 1, (const int64_t[]){2}, (const float[]){2, -2});
    const struct onnxq_tensor *fin[2] = {&fa, &fb};
    ck_assert_int_eq(run_op("Mod", 13, NULL, 0, fin, 2, &y), ONNXQ_OK);
    check_f32(&y, (const float[]){1.5f, -1.5f}, 2);
    onnxq_tensor_clear(&y);
    ck_assert_int_eq(run_op("Mod", 13, &fm, 1, fin, 2, &y), ONNXQ_OK);
    check_f32(&y, (const float[]){-0.5f, 0.5f}, 2);
    onnxq_tensor_clear(&y);
    struct onnxq_tensor *all[] = {&a, &b, &pwa, &pwb, &fexp, &iexp, &fbase, &ua, &ub, &fa, &fb};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        onnxq_tensor_clear(all[i]);
}
END_TEST

START_TEST(clip_forms)
{
    float xv[5] = {-2, -0.25f, 0.25f, 2, NAN};
    struct onnxq_tensor x = ot_tensor(ONNXQ_DT_FLOAT, 1, (const int64_t[]){5}, xv), y;
    const struct onnxq_tensor *in1[1] = {&x};
    struct onnxq_attr mm[2] = {attr_f("min", -0.5f), attr_f("max", 0.5f)};
    ck_assert_int_eq(run_op("Clip", 6, mm, 2, in1, 1, &y), ONNXQ_OK);
    check_f32(&y, (const float[]){-0.5f, -0.25f, 0.25f, 0.5f, NAN}, 5);
    onnxq_tensor_clear(&y);
    ck_assert_int_eq(run_op("Clip", 6, NULL, 0, in1, 1, &y), ONNXQ_OK);  /* no bounds: identity */
    check_f32(&y, xv, 5);
    onnxq_tensor_clear(&y);
    struct onnxq_tensor lo = ot_tensor(ONNXQ_DT_FLOAT, 0, NULL, (const float[]){0}),
                        hi = ot_tensor(ONNXQ_DT_FLOAT, 0, NULL, (const float[]){1});
    const struct onnxq_tensor *in_max[3] = {&x, NULL, &hi};
    ck_assert_int_eq(run_op("Clip", 13, NULL, 0, in_max, 3, &y), ONNXQ_OK);
    check_f32(&y, (const float[]){-2, -0.25f, 0.25f, 1, NAN}, 5);
    onnxq_tensor_clear(&y);
    const struct onnxq_tensor *in_swapped[3] = {&x, &hi, &lo};  /* min > max: everything becomes max */
    ck_assert_int_eq(run_op("Clip", 13, NULL, 0, in_swapped, 3, &y), ONNXQ_OK);
    check_f32(&y, (const float[]){0, 0, 0, 0, NAN}, 5);
    onnxq_tensor_clear(&y);
    int8_t xi[4] = {-128, -5, 5, 127};
    struct onnxq_tensor x8 = ot_tensor(ONNXQ_DT_INT8, 1, (const int64_t[]){4}, xi);
    struct onnxq_tensor lo8 = ot_tensor(ONNXQ_DT_INT8, 0, NULL, (const int8_t[]){-3});
    const struct onnxq_tensor *in8[2] = {&x8, &lo8};
    ck_assert_int_eq(run_op("Clip", 12, NULL, 0, in8, 2, &y), ONNXQ_OK);
    check_i64(&y, (const int64_t[]){-3, -3, 5, 127}, 4);
    onnxq_tensor_clear(&y);
    const struct onnxq_tensor *bad[2] = {&x8, &lo};  /* bound dtype differs */
    ck_assert_int_eq(run_op("Clip", 13, NULL, 0, bad, 2, &y), ONNXQ_E_SHAPE);
    onnxq_tensor_clear(&y);
    onnxq_tensor_clear(&x);
    onnxq_tensor_clear(&lo);
    onnxq_tensor_clear(&hi);
    onnxq_tensor_clear(&x8);
    onnxq_tensor_clear(&lo8);
}
END_TEST

START_TEST(cast_numeric)
{
    float xv[6] = {1.9f, -1.9f, NAN, 1e20f, -1e20f, -1};
    int64_t got64[6];
    ck_assert(onnxq_ew_cast_data(ONNXQ_DT_FLOAT, xv, ONNXQ_DT_INT64, got64, 6));
    ck_assert(got64[0] == 1 && got64[1] == -1 && got64[2] == 0 && got64[3] == INT64_MAX && got64[4] == INT64_MIN);
    uint8_t gotu8[6], gotb[6];
    ck_assert(onnxq_ew_cast_data(ONNXQ_DT_FLOAT, xv, ONNXQ_DT_UINT8, gotu8, 6));
    ck_assert_int_eq(gotu8[0], 1);
    ck_assert_int_eq(gotu8[5], 255);  /* through int64, wrapping like numpy */
    ck_assert(onnxq_ew_cast_data(ONNXQ_DT_FLOAT, xv, ONNXQ_DT_BOOL, gotb, 6));
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(gotb[i], 1);
    /* every numeric pair: small integers survive the round trip exactly */
    for (size_t s = 0; s < N_DTYPES; s++) {
        for (size_t d = 0; d < N_DTYPES; d++) {
            int64_t dims[1] = {5};
            struct onnxq_tensor src = ot_tensor(all_dtypes[s], 1, dims, NULL);
            bool is_bool = all_dtypes[s] == ONNXQ_DT_BOOL || all_dtypes[d] == ONNXQ_DT_BOOL;
            for (int i = 0; i < 5; i++)
                onnxq_tensor_set_f64(&src, (size_t)i, is_bool ? (i & 1) : i * 3);
            struct onnxq_tensor dst = ot_tensor(all_dtypes[d], 1, dims, NULL),
                                back = ot_tensor(all_dtypes[s], 1, dims, NULL);
            ck_assert(onnxq_ew_cast_data(src.dtype, src.data, dst.dtype, dst.data, 5));
            ck_assert(onnxq_ew_cast_data(dst.dtype, dst.data, back.dtype, back.data, 5));
            for (int i = 0; i < 5; i++)
                ck_assert_msg(onnxq_tensor_get_f64(&dst, (size_t)i) == (is_bool ? (i & 1) : i * 3),
                              "%s -> %s element %d", onnxq_dtype_name(all_dtypes[s]),
                              onnxq_dtype_name(all_dtypes[d]), i);
            assert_same_bytes(&back, &src, "cast round trip");
            onnxq_tensor_clear(&src);
            onnxq_tensor_clear(&dst);
            onnxq_tensor_clear(&back);
        }
    }
    /* large int64 stays exact through int64 <-> uint64 and int32 wraps */
    int64_t big = INT64_C(9007199254740993);
    uint64_t ub;
    int32_t w;
    ck_assert(onnxq_ew_cast_data(ONNXQ_DT_INT64, &big, ONNXQ_DT_UINT64, &ub, 1));
    ck_assert(ub == UINT64_C(9007199254740993));
    ck_assert(onnxq_ew_cast_data(ONNXQ_DT_INT64, &big, ONNXQ_DT_INT32, &w, 1));
    ck_assert_int_eq(w, (int32_t)(uint32_t)(uint64_t)big);
    /* float16: round to nearest even */
    float h[2] = {1.0f + 1.0f / 2048, 1.0f + 3.0f / 2048};
    uint16_t hb[2];
    ck_assert(onnxq_ew_cast_data(ONNXQ_DT_FLOAT, h, ONNXQ_DT_FLOAT16, hb, 2));
    ck_assert_uint_eq(hb[0], 0x3c00);
    ck_assert_uint_eq(hb[1], 0x3c02);
    ck_assert(!onnxq_ew_cast_data(ONNXQ_DT_STRING, h, ONNXQ_DT_FLOAT, hb, 1));
}
END_TEST

START_TEST(cast_strings)
{
    static const float xv[] = {1.0f, 0.0001f, 1e-5f, 123456789.0f, -1.5f, NAN, -INFINITY, 0.1f, 1e16f,
                               3.4028235e38f, 1.5e-5f, 100.0f, 9.999999e15f, -0.0f, 0.039187793f};
    static const char *want[] = {"1.0", "1e-04", "1e-05", "123456790.0", "-1.5", "nan", "-inf", "0.1", "1e+16",
                                 "3.4028235e+38", "1.5e-05", "100.0", "9999999000000000.0", "-0.0",
                                 "0.039187793"};
    size_t n = sizeof(xv) / sizeof(xv[0]);
    int64_t dims[1] = {(int64_t)n};
    struct onnxq_tensor x = ot_tensor(ONNXQ_DT_FLOAT, 1, dims, xv), y, back;
    const struct onnxq_tensor *in[1] = {&x};
    struct onnxq_attr to_str = attr_i("to", ONNXQ_DT_STRING), to_f = attr_i("to", ONNXQ_DT_FLOAT);
    ck_assert_int_eq(run_op("Cast", 13, &to_str, 1, in, 1, &y), ONNXQ_OK);
    ck_assert_int_eq(y.dtype, ONNXQ_DT_STRING);
    const struct onnxq_bytes *s = y.data;
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(s[i].len == strlen(want[i]) && memcmp(s[i].data, want[i], s[i].len) == 0,
                      "element %zu: '%.*s', expected '%s'", i, (int)s[i].len, (const char *)s[i].data, want[i]);
    const struct onnxq_tensor *in2[1] = {&y};
    ck_assert_int_eq(run_op("Cast", 13, &to_f, 1, in2, 1, &back), ONNXQ_OK);
    check_f32(&back, xv, n);
    onnxq_tensor_clear(&back);
    /* strings to integers; garbage is a data error */
    struct onnxq_attr to_i64 = attr_i("to", ONNXQ_DT_INT64);
    struct onnxq_tensor sx = ot_tensor(ONNXQ_DT_STRING, 1, (const int64_t[]){3}, NULL);
    struct onnxq_bytes *sd = sx.data;
    const char *vals[3] = {"9007199254740993", "-7", "2.5"};
    for (int i = 0; i < 3; i++) {
        sd[i].len = strlen(vals[i]);
        sd[i].data = malloc(sd[i].len);
        memcpy(sd[i].data, vals[i], sd[i].len);
    }
    const struct onnxq_tensor *in3[1] = {&sx};
    ck_assert_int_eq(run_op("Cast", 13, &to_i64, 1, in3, 1, &back), ONNXQ_OK);
    check_i64(&back, (const int64_t[]){INT64_C(9007199254740993), -7, 2}, 3);
    onnxq_tensor_clear(&back);
    free(sd[2].data);
    sd[2].data = malloc(3);
    memcpy(sd[2].data, "abc", 3);
    ck_assert_int_eq(run_op("Cast", 13, &to_i64, 1, in3, 1, &back), ONNXQ_E_DATA);
    onnxq_tensor_clear(&back);
    /* opset 1 names the target type */
    struct onnxq_attr to_name = attr_s("to", "INT32");
    ck_assert_int_eq(run_op("Cast", 1, &to_name, 1, in, 1, &back), ONNXQ_OK);
    ck_assert_int_eq(back.dtype, ONNXQ_DT_INT32);
    onnxq_tensor_clear(&back);
    /* CastLike takes the dtype of its second input */
    struct onnxq_tensor like = ot_tensor(ONNXQ_DT_DOUBLE, 0, NULL, NULL);
    const struct onnxq_tensor *in4[2] = {&x, &like};
    ck_assert_int_eq(run_op("CastLike", 15, NULL, 0, in4, 2, &back), ONNXQ_OK);
    ck_assert_int_eq(back.dtype, ONNXQ_DT_DOUBLE);
    ck_assert(((double *)back.data)[4] == -1.5);
    onnxq_tensor_clear(&back);
    onnxq_tensor_clear(&like);
    onnxq_tensor_clear(&sx);
    onnxq_tensor_clear(&x);
    onnxq_tensor_clear(&y);
}
END_TEST

START_TEST(legacy_broadcast_and_variadic)
{
    /* opset 6 Add with broadcast=1, axis=0: B [2] runs along A's first dim */
    int64_t da[3] = {2, 3, 2};
    float av[12] = {0}, bv[2] = {10, 20};
    struct onnxq_tensor a = ot_tensor(ONNXQ_DT_FLOAT, 3, da, av),
                        b = ot_tensor(ONNXQ_DT_FLOAT, 1, (const int64_t[]){2}, bv), y;
    const struct onnxq_tensor *in[2] = {&a, &b};
    struct onnxq_attr bc[2] = {attr_i("broadcast", 1), attr_i("axis", 0)};
    ck_assert_int_eq(run_op("Add", 6, bc, 2, in, 2, &y), ONNXQ_OK);
    check_f32(&y, (const float[]){10, 10, 10, 10, 10, 10, 20, 20, 20, 20, 20, 20}, 12);
    onnxq_tensor_clear(&y);
    /* without axis: suffix alignment (numpy's) */
    ck_assert_int_eq(run_op("Add", 6, bc, 1, in, 2, &y), ONNXQ_OK);
    check_f32(&y, (const float[]){10, 20, 10, 20, 10, 20, 10, 20, 10, 20, 10, 20}, 12);
    onnxq_tensor_clear(&y);
    /* opset 6 PRelu: slope [C] runs along axis 1 */
    float xv[12];
    for (int i = 0; i < 12; i++)
        xv[i] = -1;
    struct onnxq_tensor x = ot_tensor(ONNXQ_DT_FLOAT, 3, (const int64_t[]){2, 3, 2}, xv);
    struct onnxq_tensor slope = ot_tensor(ONNXQ_DT_FLOAT, 1, (const int64_t[]){3}, (const float[]){1, 2, 3});
    const struct onnxq_tensor *pin[2] = {&x, &slope};
    ck_assert_int_eq(run_op("PRelu", 6, NULL, 0, pin, 2, &y), ONNXQ_OK);
    check_f32(&y, (const float[]){-1, -1, -2, -2, -3, -3, -1, -1, -2, -2, -3, -3}, 12);
    onnxq_tensor_clear(&y);
    /* opset 9 PRelu: numpy alignment, and the slope may not grow X */
    ck_assert_int_eq(run_op("PRelu", 9, NULL, 0, pin, 2, &y), ONNXQ_E_SHAPE);
    onnxq_tensor_clear(&y);
    /* Mean/Sum/Max of three broadcasting inputs */
    struct onnxq_tensor v0 = ot_tensor(ONNXQ_DT_FLOAT, 1, (const int64_t[]){3}, (const float[]){3, 0, 2});
    struct onnxq_tensor v1 = ot_tensor(ONNXQ_DT_FLOAT, 2, (const int64_t[]){2, 1}, (const float[]){1, 4});
    struct onnxq_tensor v2 = ot_tensor(ONNXQ_DT_FLOAT, 0, NULL, (const float[]){2});
    const struct onnxq_tensor *vin[3] = {&v0, &v1, &v2};
    ck_assert_int_eq(run_op("Mean", 13, NULL, 0, vin, 3, &y), ONNXQ_OK);
    ck_assert_int_eq(y.ndim, 2);
    check_f32(&y, (const float[]){2, 1, 5.0f / 3, 3, 2, 8.0f / 3}, 6);
    onnxq_tensor_clear(&y);
    ck_assert_int_eq(run_op("Max", 13, NULL, 0, vin, 3, &y), ONNXQ_OK);
    check_f32(&y, (const float[]){3, 2, 2, 4, 4, 4}, 6);
    onnxq_tensor_clear(&y);
    const struct onnxq_tensor *vin2[3] = {&v2, &v0, &v1};  /* first input smaller than the output */
    ck_assert_int_eq(run_op("Sum", 13, NULL, 0, vin2, 3, &y), ONNXQ_OK);
    check_f32(&y, (const float[]){6, 3, 5, 9, 6, 8}, 6);
    onnxq_tensor_clear(&y);
    ck_assert_int_eq(run_op("Sum", 13, NULL, 0, vin2, 1, &y), ONNXQ_OK);
    check_f32(&y, (const float[]){2}, 1);
    onnxq_tensor_clear(&y);
    /* float16 Sum computes in float */
    struct onnxq_tensor h0 = ot_tensor(ONNXQ_DT_FLOAT16, 1, (const int64_t[]){2}, (const uint16_t[]){0x3c00, 0x4000});
    const struct onnxq_tensor *hin[2] = {&h0, &h0};
    ck_assert_int_eq(run_op("Sum", 13, NULL, 0, hin, 2, &y), ONNXQ_OK);
    ck_assert_uint_eq(((uint16_t *)y.data)[0], 0x4000);
    ck_assert_uint_eq(((uint16_t *)y.data)[1], 0x4400);
    onnxq_tensor_clear(&y);
    /* errors: incompatible shapes, mixed dtypes */
    struct onnxq_tensor bad = ot_tensor(ONNXQ_DT_FLOAT, 1, (const int64_t[]){4}, NULL);
    const struct onnxq_tensor *bin_[2] = {&v0, &bad};
    ck_assert_int_eq(run_op("Add", 14, NULL, 0, bin_, 2, &y), ONNXQ_E_SHAPE);
    ck_assert_ptr_nonnull(strstr(err.message, "[3]"));
    onnxq_tensor_clear(&y);
    const struct onnxq_tensor *mixed[2] = {&v0, &h0};
    ck_assert_int_eq(run_op("Mul", 14, NULL, 0, mixed, 2, &y), ONNXQ_E_SHAPE);
    onnxq_tensor_clear(&y);
    struct onnxq_tensor *all[] = {&a, &b, &x, &slope, &v0, &v1, &v2, &h0, &bad};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        onnxq_tensor_clear(all[i]);
}
END_TEST

static Suite *elementwise_suite(void)
{
    Suite *s = suite_create("elementwise");
    TCase *tc = tcase_create("elementwise");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, binary_fast_matches_reference);
    tcase_add_test(tc, binary_common_fast_paths);
    tcase_add_test(tc, where_fast_matches_reference);
    tcase_add_test(tc, unary_f32_matches_f64);
    tcase_add_test(tc, fast_exp_sigmoid_tanh_erf_accuracy);
    tcase_add_test(tc, unary_semantics);
    tcase_add_test(tc, integer_arithmetic);
    tcase_add_test(tc, clip_forms);
    tcase_add_test(tc, cast_numeric);
    tcase_add_test(tc, cast_strings);
    tcase_add_test(tc, legacy_broadcast_and_variadic);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(elementwise_suite());
}
