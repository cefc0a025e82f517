/* Pooling, normalization, softmax and reduction kernels (ops/nn.c,
 * ops/reduce.c).
 *
 * The float32 fast kernels are checked against the plain reference kernels:
 * every op here runs its reference on float64 input, so the same random
 * data is run once as float32 and once as float64 and compared with the
 * tolerances below. Configurations are enumerated (pools: kernel, stride,
 * pads, dilations, ceil_mode, count_include_pad, auto_pad; reductions: every
 * axis set and keepdims; softmax: both opset semantics, inner dims beyond the
 * column block). Hand-computed cases pin the opset-dependent semantics
 * (axes as input, noop_with_empty_axes, select_last_index, the flattening
 * Softmax before opset 13, ceil_mode's dropped window, MaxPool indices),
 * exact integer reductions, thread-count independence, and bad input. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "optest.h"

/* float32 fast kernel vs float64 reference: |f - d| <= ATOL + RTOL * |d|
 * (the fast kernels sum in float with 8 partial sums; exp is a polynomial
 * of ~1.4 ulp) */
#define F32_RTOL 1e-4
#define F32_ATOL 2e-5

static struct onnxq_tensor rand_f32(uint64_t *s, int nd, const int64_t *dims, double lo, double hi)
{
    struct onnxq_tensor t = ot_tensor(ONNXQ_DT_FLOAT, nd, dims, NULL);
    float *p = t.data;
    for (int64_t i = 0; i < onnxq_tensor_numel(&t); i++)
        p[i] = (float)tu_urand(s, lo, hi);
    return t;
}

/* Same values as float64 (exact). */
static struct onnxq_tensor to_f64(const struct onnxq_tensor *f)
{
    struct onnxq_tensor t = ot_tensor(ONNXQ_DT_DOUBLE, f->ndim, f->dims, NULL);
    for (int64_t i = 0; i < onnxq_tensor_numel(f); i++)
        ((double *)t.data)[i] = ((const float *)f->data)[i];
    return t;
}

/* float32 result f against float64 reference d. */
static void check_close(const char *what, const struct onnxq_tensor *f, const struct onnxq_tensor *d)
{
    ot_expect_shape(what, f, d->ndim, d->dims);
    for (int64_t i = 0; i < onnxq_tensor_numel(d); i++) {
        double g = onnxq_tensor_get_f64(f, (size_t)i), w = onnxq_tensor_get_f64(d, (size_t)i);
        if (isnan(w) && isnan(g))
            continue;
        if (isinf(w) && g == w)
            continue;
        if (!(fabs(g - w) <= F32_ATOL + F32_RTOL * fabs(w)))
            ck_abort_msg("%s: element %lld is %.9g, reference %.9g", what, (long long)i, g, w);
    }
}

static void check_equal_bytes(const char *what, const struct onnxq_tensor *a, const struct onnxq_tensor *b)
{
    ot_expect_shape(what, a, b->ndim, b->dims);
    ck_assert_msg(a->dtype == b->dtype && a->nbytes == b->nbytes && memcmp(a->data, b->data, a->nbytes) == 0,
                  "%s: results differ", what);
}

/* Run op on x (float32, fast) and on x as float64 (reference), with the
 * same extra inputs converted likewise; compare every output. extra inputs
 * that are int64 (axes) are passed unchanged. Also checks that 1 and 3
 * threads give identical float32 results. */
static void fast_vs_ref(const char *what, const char *op, int64_t opset, const struct ot_attrs *at, size_t nin,
                        const struct onnxq_tensor *const *in, size_t nout)
{
    const struct onnxq_tensor *in64[6];
    struct onnxq_tensor conv[6];
    for (size_t i = 0; i < nin; i++) {
        in64[i] = in[i];
        if (in[i] && in[i]->dtype == ONNXQ_DT_FLOAT) {
            conv[i] = to_f64(in[i]);
            in64[i] = &conv[i];
        }
    }
    struct onnxq_tensor of[3], od[3], o1[3];
    enum onnxq_status st = ot_run_op(op, opset, at, nin, in, nout, of, ot_pool3);
    ck_assert_msg(st == ONNXQ_OK, "%s: float32 run failed: %s", what, ot_last_msg());
    st = ot_run_op(op, opset, at, nin, in64, nout, od, ot_pool1);
    ck_assert_msg(st == ONNXQ_OK, "%s: float64 run failed: %s", what, ot_last_msg());
    st = ot_run_op(op, opset, at, nin, in, nout, o1, ot_pool1);
    ck_assert_msg(st == ONNXQ_OK, "%s: float32 1-thread run failed: %s", what, ot_last_msg());
    for (size_t k = 0; k < nout; k++) {
        char w[300];
        snprintf(w, sizeof(w), "%s (output %zu)", what, k);
        if (od[k].dtype == ONNXQ_DT_INT64)
            check_equal_bytes(w, &of[k], &od[k]);
        else
            check_close(w, &of[k], &od[k]);
        check_equal_bytes(w, &of[k], &o1[k]);
        onnxq_tensor_clear(&of[k]);
        onnxq_tensor_clear(&od[k]);
        onnxq_tensor_clear(&o1[k]);
    }
    for (size_t i = 0; i < nin; i++)
        if (in64[i] != in[i])
            onnxq_tensor_clear(&conv[i]);
}

/* ------------------------------------------------------------ reductions */

static const char *const reduce_ops[] = {"ReduceSum",  "ReduceMean",      "ReduceMax",    "ReduceMin",
                                         "ReduceProd", "ReduceL1",        "ReduceL2",     "ReduceSumSquare",
                                         "ReduceLogSum", "ReduceLogSumExp"};

START_TEST(reduce_fast_vs_ref)
{
    struct {
        int nd;
        int64_t dims[4];
    } shapes[] = {
        {3, {2, 3, 4}}, {2, {7, 33}}, {3, {3, 1500, 2}}, {3, {4, 5, 1300}}, {4, {1, 5, 1, 7}}, {1, {19}},
    };
    uint64_t seed = 0x1234;
    int cases = 0;
    for (size_t oi = 0; oi < sizeof(reduce_ops) / sizeof(reduce_ops[0]); oi++) {
        const char *op = reduce_ops[oi];
        bool is_sum = strcmp(op, "ReduceSum") == 0;
        double lo = -2, hi = 2;
        if (strcmp(op, "ReduceLogSum") == 0)
            lo = 0.1;
        if (strcmp(op, "ReduceProd") == 0)
            lo = 0.95, hi = 1.05;
        for (size_t si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++) {
            int nd = shapes[si].nd;
            struct onnxq_tensor x = rand_f32(&seed, nd, shapes[si].dims, lo, hi);
            /* every subset of axes (the empty one = all), alternately as
             * negative numbers */
            for (int mask = 0; mask < (1 << nd); mask++) {
                int64_t axes[4];
                size_t na = 0;
                for (int d = 0; d < nd; d++)
                    if (mask & (1 << d))
                        axes[na++] = (mask & 1) ? d - nd : d;
                for (int keep = 0; keep < 2; keep++) {
                    char what[200];
                    snprintf(what, sizeof(what), "%s shape #%zu axes mask %d keepdims %d", op, si, mask, keep);
                    /* axes as attribute (opset 11) */
                    struct ot_attrs at = {0};
                    ot_int(&at, "keepdims", keep);
                    if (na)
                        ot_ints(&at, "axes", na, axes);
                    const struct onnxq_tensor *in[2] = {&x, NULL};
                    fast_vs_ref(what, op, 11, &at, 1, in, 1);
                    /* axes as input (ReduceSum 13, others 18) */
                    struct ot_attrs at2 = {0};
                    ot_int(&at2, "keepdims", keep);
                    struct onnxq_tensor ax = ot_i64_vec(na, axes);
                    in[1] = na ? &ax : NULL;
                    fast_vs_ref(what, op, is_sum ? 13 : 18, &at2, 2, in, 1);
                    onnxq_tensor_clear(&ax);
                    cases += 2;
                }
            }
            onnxq_tensor_clear(&x);
        }
    }
    printf("reduce_fast_vs_ref: %d cases\n", cases);
}
END_TEST

START_TEST(reduce_semantics)
{
    int64_t d3[3] = {3, 2, 2};
    struct onnxq_tensor x = ot_tensor(ONNXQ_DT_FLOAT, 3, d3, NULL);
    for (int i = 0; i < 12; i++)
        ((float *)x.data)[i] = (float)(i + 1);
    struct onnxq_tensor y;
    /* ReduceSum-13, empty axes input: noop_with_empty_axes=1 is identity */
    struct onnxq_tensor empty = ot_i64_vec(0, NULL);
    struct ot_attrs at = {0};
    ot_int(&at, "noop_with_empty_axes", 1);
    const struct onnxq_tensor *in[2] = {&x, &empty};
    ck_assert_int_eq(ot_run_op("ReduceSum", 13, &at, 2, in, 1, &y, ot_pool1), ONNXQ_OK);
    check_equal_bytes("noop", &y, &x);
    onnxq_tensor_clear(&y);
    /* ... and without noop it reduces everything, keepdims -> [1,1,1] */
    ck_assert_int_eq(ot_run_op("ReduceSum", 13, NULL, 2, in, 1, &y, ot_pool1), ONNXQ_OK);
    ck_assert_int_eq(y.ndim, 3);
    ck_assert_int_eq(y.dims[0] * y.dims[1] * y.dims[2], 1);
    ck_assert_float_eq(((float *)y.data)[0], 78.0f);
    onnxq_tensor_clear(&y);
    /* opset 11 ReduceSum takes axes from the attribute */
    struct ot_attrs at1 = {0};
    int64_t ax1[1] = {1};
    ot_ints(&at1, "axes", 1, ax1);
    ot_int(&at1, "keepdims", 0);
    ck_assert_int_eq(ot_run_op("ReduceSum", 11, &at1, 1, in, 1, &y, ot_pool1), ONNXQ_OK);
    ck_assert_int_eq(y.ndim, 2);
    ck_assert_float_eq(((float *)y.data)[0], 4.0f);  /* 1 + 3 */
    ck_assert_float_eq(((float *)y.data)[5], 22.0f); /* 10 + 12 */
    onnxq_tensor_clear(&y);
    /* ReduceMean-18 with the axes input */
    struct onnxq_tensor axm = ot_i64_vec(1, (int64_t[]){-1});
    in[1] = &axm;
    ck_assert_int_eq(ot_run_op("ReduceMean", 18, NULL, 2, in, 1, &y, ot_pool1), ONNXQ_OK);
    ck_assert_float_eq(((float *)y.data)[0], 1.5f);
    onnxq_tensor_clear(&y);
    onnxq_tensor_clear(&axm);

    /* duplicate and out-of-range axes fail cleanly */
    struct ot_attrs bad = {0};
    int64_t dup[2] = {1, -2};
    ot_ints(&bad, "axes", 2, dup);
    ck_assert_int_eq(ot_run_op("ReduceMax", 13, &bad, 1, in, 1, &y, ot_pool1), ONNXQ_E_SHAPE);
    struct ot_attrs bad2 = {0};
    int64_t oor[1] = {3};
    ot_ints(&bad2, "axes", 1, oor);
    ck_assert_int_eq(ot_run_op("ReduceMax", 13, &bad2, 1, in, 1, &y, ot_pool1), ONNXQ_E_SHAPE);
    struct onnxq_tensor axbad = ot_i64_vec(1, (int64_t[]){-4});
    in[1] = &axbad;
    ck_assert_int_eq(ot_run_op("ReduceSum", 13, NULL, 2, in, 1, &y, ot_pool1), ONNXQ_E_SHAPE);
    onnxq_tensor_clear(&axbad);
    onnxq_tensor_clear(&empty);
    onnxq_tensor_clear(&x);

    /* exact int64: 2^53 + 1 survives (no trip through double) */
    int64_t d2[2] = {2, 2};
    struct onnxq_tensor xi = ot_tensor(ONNXQ_DT_INT64, 2, d2, NULL);
    int64_t *pi = xi.data;
    pi[0] = (int64_t)1 << 53;
    pi[1] = 1;
    pi[2] = -((int64_t)1 << 53);
    pi[3] = -3;
    in[0] = &xi;
    ck_assert_int_eq(ot_run_op("ReduceSum", 11, &at1, 1, in, 1, &y, ot_pool1), ONNXQ_OK);
    ck_assert_int_eq(((int64_t *)y.data)[0], ((int64_t)1 << 53) + 1);
    ck_assert_int_eq(((int64_t *)y.data)[1], -((int64_t)1 << 53) - 3);
    onnxq_tensor_clear(&y);
    ck_assert_int_eq(ot_run_op("ReduceMin", 11, &at1, 1, in, 1, &y, ot_pool1), ONNXQ_OK);
    ck_assert_int_eq(((int64_t *)y.data)[0], 1);
    onnxq_tensor_clear(&y);
    ck_assert_int_eq(ot_run_op("ReduceProd", 11, NULL, 1, in, 1, &y, ot_pool1), ONNXQ_OK);
    ck_assert_int_eq(((int64_t *)y.data)[0], 0); /* 2^106 * 3 wraps to 0 mod 2^64 */
    onnxq_tensor_clear(&y);
    onnxq_tensor_clear(&xi);
    /* int32 mean truncates like integer division */
    struct onnxq_tensor x32 = ot_tensor(ONNXQ_DT_INT32, 2, d2, NULL);
    int32_t *p32 = x32.data;
    p32[0] = 1, p32[1] = 2, p32[2] = -7, p32[3] = 0;
    in[0] = &x32;
    ck_assert_int_eq(ot_run_op("ReduceMean", 11, &at1, 1, in, 1, &y, ot_pool1), ONNXQ_OK);
    ck_assert_int_eq(((int32_t *)y.data)[0], 1);
    ck_assert_int_eq(((int32_t *)y.data)[1], -3);
    onnxq_tensor_clear(&y);
    onnxq_tensor_clear(&x32);

    /* reducing an empty dim gives the identity: -inf / INT32_MIN for max */
    int64_t dz[2] = {3, 0};
    struct onnxq_tensor xz = ot_tensor(ONNXQ_DT_FLOAT, 2, dz, NULL);
    in[0] = &xz;
    ck_assert_int_eq(ot_run_op("ReduceMax", 11, &at1, 1, in, 1, &y, ot_pool1), ONNXQ_OK);
    ck_assert_int_eq(y.dims[0], 3);
    ck_assert(isinf(((float *)y.data)[2]) && ((float *)y.data)[2] < 0);
    onnxq_tensor_clear(&y);
    ck_assert_int_eq(ot_run_op("ReduceSum", 11, &at1, 1, in, 1, &y, ot_pool1), ONNXQ_OK);
    ck_assert_float_eq(((float *)y.data)[1], 0.0f);
    onnxq_tensor_clear(&y);
    onnxq_tensor_clear(&xz);
    struct onnxq_tensor xz32 = ot_tensor(ONNXQ_DT_INT32, 2, dz, NULL);
    in[0] = &xz32;
    ck_assert_int_eq(ot_run_op("ReduceMax", 11, &at1, 1, in, 1, &y, ot_pool1), ONNXQ_OK);
    ck_assert_int_eq(((int32_t *)y.data)[0], INT32_MIN);
    onnxq_tensor_clear(&y);
    onnxq_tensor_clear(&xz32);
}
END_TEST

START_TEST(argmax_fast_vs_ref)
{
    int64_t dims[3] = {4, 6, 5};
    uint64_t seed = 99;
    struct onnxq_tensor x = rand_f32(&seed, 3, dims, 0, 4);
    /* integers, so there are many ties */
    for (int i = 0; i < 120; i++)
        ((float *)x.data)[i] = floorf(((float *)x.data)[i]);
    const char *ops[2] = {"ArgMax", "ArgMin"};
    for (int o = 0; o < 2; o++)
        for (int axis = -3; axis < 3; axis++)
            for (int keep = 0; keep < 2; keep++)
                for (int last = 0; last < 2; last++) {
                    struct ot_attrs at = {0};
                    ot_int(&at, "axis", axis);
                    ot_int(&at, "keepdims", keep);
                    ot_int(&at, "select_last_index", last);
                    char what[100];
                    snprintf(what, sizeof(what), "%s axis %d keepdims %d last %d", ops[o], axis, keep, last);
                    const struct onnxq_tensor *in[1] = {&x};
                    fast_vs_ref(what, ops[o], 13, &at, 1, in, 1);
                }
    /* hand example: [[2,1,2],[0,5,5]] along axis 1 */
    int64_t d2[2] = {2, 3};
    struct onnxq_tensor h = ot_tensor(ONNXQ_DT_FLOAT, 2, d2, NULL);
    float hv[6] = {2, 1, 2, 0, 5, 5};
    memcpy(h.data, hv, sizeof(hv));
    const struct onnxq_tensor *in[1] = {&h};
    struct onnxq_tensor y;
    struct ot_attrs at = {0};
    ot_int(&at, "axis", 1);
    ot_int(&at, "keepdims", 0);
    ck_assert_int_eq(ot_run_op("ArgMax", 13, &at, 1, in, 1, &y, ot_pool1), ONNXQ_OK);
    ck_assert_int_eq(y.ndim, 1);
    ck_assert_int_eq(((int64_t *)y.data)[0], 0);
    ck_assert_int_eq(((int64_t *)y.data)[1], 1);
    onnxq_tensor_clear(&y);
    ot_int(&at, "select_last_index", 1);
    ck_assert_int_eq(ot_run_op("ArgMax", 13, &at, 1, in, 1, &y, ot_pool1), ONNXQ_OK);
    ck_assert_int_eq(((int64_t *)y.data)[0], 2);
    ck_assert_int_eq(((int64_t *)y.data)[1], 2);
    onnxq_tensor_clear(&y);
    onnxq_tensor_clear(&h);
    onnxq_tensor_clear(&x);
}
END_TEST

/* --------------------------------------------------------------- softmax */

START_TEST(softmax_fast_vs_ref)
{
    struct {
        int nd;
        int64_t dims[4];
        double range;
    } shapes[] = {
        {3, {2, 3, 4}, 3}, {4, {2, 3, 4, 5}, 50}, {2, {5, 2049}, 100}, {3, {3, 7, 1100}, 5}, {1, {9}, 1},
    };
    const char *ops[3] = {"Softmax", "LogSoftmax", "Hardmax"};
    uint64_t seed = 7;
    int cases = 0;
    for (size_t si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++) {
        int nd = shapes[si].nd;
        struct onnxq_tensor x = rand_f32(&seed, nd, shapes[si].dims, -shapes[si].range, shapes[si].range);
        for (int o = 0; o < 3; o++) {
            struct onnxq_tensor xt = x;
            struct onnxq_tensor xh = {0};
            if (o == 2) { /* ties for Hardmax */
                xh = ot_tensor(ONNXQ_DT_FLOAT, nd, x.dims, NULL);
                for (int64_t i = 0; i < onnxq_tensor_numel(&x); i++)
                    ((float *)xh.data)[i] = floorf(((float *)x.data)[i] / (float)shapes[si].range * 2);
                xt = xh;
            }
            for (int opset = 11; opset <= 13; opset += 2)
                for (int axis = -nd; axis < nd; axis++) {
                    struct ot_attrs at = {0};
                    ot_int(&at, "axis", axis);
                    char what[100];
                    snprintf(what, sizeof(what), "%s-%d shape #%zu axis %d", ops[o], opset, si, axis);
                    const struct onnxq_tensor *in[1] = {&xt};
                    fast_vs_ref(what, ops[o], opset, &at, 1, in, 1);
                    cases++;
                }
            if (o == 2)
                onnxq_tensor_clear(&xh);
        }
        onnxq_tensor_clear(&x);
    }
    printf("softmax_fast_vs_ref: %d cases\n", cases);
}
END_TEST

START_TEST(softmax_semantics)
{
    /* [2,2,2] of zeros: opset 11 axis=1 flattens the 4 trailing values
     * (each 1/4); opset 13 axis=1 normalises along that axis only (1/2). */
    int64_t d[3] = {2, 2, 2};
    struct onnxq_tensor x = ot_tensor(ONNXQ_DT_FLOAT, 3, d, NULL);
    const struct onnxq_tensor *in[1] = {&x};
    struct ot_attrs at = {0};
    ot_int(&at, "axis", 1);
    struct onnxq_tensor y;
    ck_assert_int_eq(ot_run_op("Softmax", 11, &at, 1, in, 1, &y, ot_pool1), ONNXQ_OK);
    for (int i = 0; i < 8; i++)
        ck_assert_float_eq_tol(((float *)y.data)[i], 0.25f, 1e-7f);
    onnxq_tensor_clear(&y);
    ck_assert_int_eq(ot_run_op("Softmax", 13, &at, 1, in, 1, &y, ot_pool1), ONNXQ_OK);
    for (int i = 0; i < 8; i++)
        ck_assert_float_eq_tol(((float *)y.data)[i], 0.5f, 1e-7f);
    onnxq_tensor_clear(&y);
    /* default axis: 1 before opset 13, -1 from 13 (LogSoftmax of zeros) */
    ck_assert_int_eq(ot_run_op("LogSoftmax", 1, NULL, 1, in, 1, &y, ot_pool1), ONNXQ_OK);
    ck_assert_float_eq_tol(((float *)y.data)[0], -logf(4.0f), 1e-6f);
    onnxq_tensor_clear(&y);
    ck_assert_int_eq(ot_run_op("LogSoftmax", 13, NULL, 1, in, 1, &y, ot_pool1), ONNXQ_OK);
    ck_assert_float_eq_tol(((float *)y.data)[0], -logf(2.0f), 1e-6f);
    onnxq_tensor_clear(&y);
    /* large inputs and -inf: no overflow, exp(-inf) = 0 */
    float *p = x.data;
    p[0] = 1000, p[1] = 999, p[2] = -INFINITY, p[3] = 0;
    p[4] = -1000, p[5] = -1000, p[6] = 88, p[7] = -100;
    struct ot_attrs at2 = {0};
    ot_int(&at2, "axis", 2);
    ck_assert_int_eq(ot_run_op("Softmax", 13, &at2, 1, in, 1, &y, ot_pool1), ONNXQ_OK);
    float *q = y.data;
    ck_assert_float_eq_tol(q[0], 1.0f / (1.0f + expf(-1.0f)), 1e-6f);
    ck_assert_float_eq(q[2], 0.0f);
    ck_assert_float_eq_tol(q[4], 0.5f, 1e-7f);
    ck_assert_float_eq_tol(q[6], 1.0f, 1e-7f);
    onnxq_tensor_clear(&y);
    /* axis out of range */
    struct ot_attrs bad = {0};
    ot_int(&bad, "axis", 3);
    ck_assert_int_eq(ot_run_op("Softmax", 13, &bad, 1, in, 1, &y, ot_pool1), ONNXQ_E_SHAPE);
    onnxq_tensor_clear(&x);
}
END_TEST

/* ----------------------------------------------------------------- pools */

START_TEST(pool_fast_vs_ref)
{
    uint64_t seed = 2024;
    int cases = 0;
    static const char *const pads_modes[] = {"NOTSET", "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"};
    for (int c = 0; c < 600; c++) {
        bool avg = c % 2;
        int ns = 1 + (int)(tu_rng_next(&seed) % 2);
        int64_t dims[4] = {2, 3, 0, 0}, k[2], s[2], dl[2], pads[4];
        for (int i = 0; i < ns; i++) {
            dims[2 + i] = 4 + (int64_t)(tu_rng_next(&seed) % 9);
            k[i] = 1 + (int64_t)(tu_rng_next(&seed) % 3);
            s[i] = 1 + (int64_t)(tu_rng_next(&seed) % 3);
            dl[i] = 1 + (int64_t)(tu_rng_next(&seed) % 2);
            pads[i] = (int64_t)(tu_rng_next(&seed) % (uint64_t)k[i]);
            pads[i + ns] = (int64_t)(tu_rng_next(&seed) % (uint64_t)k[i]);
        }
        const char *ap = pads_modes[tu_rng_next(&seed) % 5];
        int ceil_mode = (int)(tu_rng_next(&seed) % 2);
        int cip = (int)(tu_rng_next(&seed) % 2);
        bool use_dil = tu_rng_next(&seed) % 2;
        struct ot_attrs at = {0};
        ot_ints(&at, "kernel_shape", (size_t)ns, k);
        ot_ints(&at, "strides", (size_t)ns, s);
        if (use_dil)
            ot_ints(&at, "dilations", (size_t)ns, dl);
        if (strcmp(ap, "NOTSET") == 0)
            ot_ints(&at, "pads", 2 * (size_t)ns, pads);
        else
            ot_str(&at, "auto_pad", ap);
        ot_int(&at, "ceil_mode", ceil_mode);
        if (avg)
            ot_int(&at, "count_include_pad", cip);
        struct onnxq_tensor x = rand_f32(&seed, 2 + ns, dims, -3, 3);
        char what[300];
        snprintf(what, sizeof(what),
                 "case %d %s %dD in %lldx%lld k %lldx%lld s %lldx%lld d %lldx%lld pads %lld,%lld,%lld,%lld %s ceil %d "
                 "cip %d",
                 c, avg ? "AveragePool" : "MaxPool", ns, (long long)dims[2], (long long)dims[3], (long long)k[0],
                 (long long)(ns > 1 ? k[1] : 0), (long long)s[0], (long long)(ns > 1 ? s[1] : 0),
                 (long long)(use_dil ? dl[0] : 1), (long long)(use_dil && ns > 1 ? dl[1] : 1), (long long)pads[0],
                 (long long)pads[1], (long long)(ns > 1 ? pads[2] : 0), (long long)(ns > 1 ? pads[3] : 0), ap,
                 ceil_mode, cip);
        const struct onnxq_tensor *in[1] = {&x};
        struct onnxq_tensor y;
        /* skip configurations whose windows can miss the input entirely
         * (the reference and fast path agree there too, but on NaN) */
        enum onnxq_status st = ot_run_op(avg ? "AveragePool" : "MaxPool", avg ? 19 : 12, &at, 1, in, 1, &y, ot_pool1);
        if (st == ONNXQ_OK) {
            onnxq_tensor_clear(&y);
            fast_vs_ref(what, avg ? "AveragePool" : "MaxPool", avg ? 19 : 12, &at, 1, in, 1);
            cases++;
        } else {
            ck_assert_msg(st == ONNXQ_E_SHAPE, "%s: %s", what, ot_last_msg());
        }
        onnxq_tensor_clear(&x);
    }
    ck_assert_int_gt(cases, 400);
    printf("pool_fast_vs_ref: %d cases\n", cases);

    /* global pools, LpPool */
    int64_t gd[4] = {2, 5, 7, 9};
    struct onnxq_tensor x = rand_f32(&seed, 4, gd, -2, 2);
    const struct onnxq_tensor *in[1] = {&x};
    fast_vs_ref("GlobalAveragePool", "GlobalAveragePool", 1, NULL, 1, in, 1);
    fast_vs_ref("GlobalMaxPool", "GlobalMaxPool", 1, NULL, 1, in, 1);
    fast_vs_ref("GlobalLpPool", "GlobalLpPool", 2, NULL, 1, in, 1);
    struct ot_attrs lp = {0};
    ot_ints(&lp, "kernel_shape", 2, (int64_t[]){2, 3});
    ot_int(&lp, "p", 3);
    fast_vs_ref("LpPool", "LpPool", 11, &lp, 1, in, 1);
    onnxq_tensor_clear(&x);
}
END_TEST

START_TEST(pool_semantics)
{
    /* ceil_mode drops a last window that would start in the end padding:
     * in 5, k 2, s 2, pads 1/1 -> 3 outputs, not 4 */
    int64_t d[3] = {1, 1, 5};
    struct onnxq_tensor x = ot_tensor(ONNXQ_DT_FLOAT, 3, d, NULL);
    for (int i = 0; i < 5; i++)
        ((float *)x.data)[i] = (float)(i + 1);
    struct ot_attrs at = {0};
    ot_ints(&at, "kernel_shape", 1, (int64_t[]){2});
    ot_ints(&at, "strides", 1, (int64_t[]){2});
    ot_ints(&at, "pads", 2, (int64_t[]){1, 1});
    ot_int(&at, "ceil_mode", 1);
    const struct onnxq_tensor *in[1] = {&x};
    struct onnxq_tensor y[2];
    ck_assert_int_eq(ot_run_op("MaxPool", 12, &at, 1, in, 1, y, ot_pool1), ONNXQ_OK);
    ck_assert_int_eq(y[0].dims[2], 3);
    ck_assert_float_eq(((float *)y[0].data)[0], 1.0f);
    ck_assert_float_eq(((float *)y[0].data)[2], 5.0f);
    onnxq_tensor_clear(&y[0]);
    /* AveragePool count_include_pad: first window is {pad, 1} */
    ot_int(&at, "count_include_pad", 1);
    ck_assert_int_eq(ot_run_op("AveragePool", 11, &at, 1, in, 1, y, ot_pool1), ONNXQ_OK);
    ck_assert_float_eq(((float *)y[0].data)[0], 0.5f);
    onnxq_tensor_clear(&y[0]);
    onnxq_tensor_clear(&x);

    /* MaxPool indices, row- and column-major (ONNX's 5x5 example) */
    int64_t d4[4] = {1, 1, 5, 5};
    struct onnxq_tensor x4 = ot_tensor(ONNXQ_DT_FLOAT, 4, d4, NULL);
    for (int i = 0; i < 25; i++)
        ((float *)x4.data)[i] = (float)(i + 1);
    in[0] = &x4;
    for (int so = 0; so < 2; so++) {
        struct ot_attrs ai = {0};
        ot_ints(&ai, "kernel_shape", 2, (int64_t[]){2, 2});
        ot_ints(&ai, "strides", 2, (int64_t[]){2, 2});
        ot_int(&ai, "storage_order", so);
        ck_assert_int_eq(ot_run_op("MaxPool", 12, &ai, 1, in, 2, y, ot_pool1), ONNXQ_OK);
        const float *v = y[0].data;
        const int64_t *ix = y[1].data;
        ck_assert_float_eq(v[0], 7.0f);
        ck_assert_float_eq(v[3], 19.0f);
        int64_t want[4] = {6, 8, 16, 18}, want_cm[4] = {6, 16, 8, 18};
        for (int i = 0; i < 4; i++)
            ck_assert_int_eq(ix[i], so ? want_cm[i] : want[i]);
        onnxq_tensor_clear(&y[0]);
        onnxq_tensor_clear(&y[1]);
    }
    /* uint8 MaxPool runs the reference */
    struct onnxq_tensor xu = ot_tensor(ONNXQ_DT_UINT8, 4, d4, NULL);
    for (int i = 0; i < 25; i++)
        ((uint8_t *)xu.data)[i] = (uint8_t)(250 - i);
    in[0] = &xu;
    struct ot_attrs au = {0};
    ot_ints(&au, "kernel_shape", 2, (int64_t[]){3, 3});
    ot_ints(&au, "pads", 4, (int64_t[]){1, 1, 1, 1});
    ck_assert_int_eq(ot_run_op("MaxPool", 12, &au, 1, in, 1, y, ot_pool1), ONNXQ_OK);
    ck_assert_int_eq(y[0].dtype, ONNXQ_DT_UINT8);
    ck_assert_int_eq(((uint8_t *)y[0].data)[0], 250);
    ck_assert_int_eq(((uint8_t *)y[0].data)[24], 250 - 18);
    onnxq_tensor_clear(&y[0]);
    onnxq_tensor_clear(&xu);

    /* bad input: wrong rank, kernel larger than the input, missing
     * kernel_shape, unknown auto_pad */
    in[0] = &x4;
    struct ot_attrs b1 = {0};
    ot_ints(&b1, "kernel_shape", 1, (int64_t[]){2});
    ck_assert_int_eq(ot_run_op("MaxPool", 12, &b1, 1, in, 1, y, ot_pool1), ONNXQ_E_SHAPE);
    struct ot_attrs b2 = {0};
    ot_ints(&b2, "kernel_shape", 2, (int64_t[]){6, 2});
    ck_assert_int_eq(ot_run_op("AveragePool", 11, &b2, 1, in, 1, y, ot_pool1), ONNXQ_E_SHAPE);
    ck_assert_int_eq(ot_run_op("MaxPool", 12, NULL, 1, in, 1, y, ot_pool1), ONNXQ_E_INVALID_MODEL);
    struct ot_attrs b3 = {0};
    ot_ints(&b3, "kernel_shape", 2, (int64_t[]){2, 2});
    ot_str(&b3, "auto_pad", "SAME");
    ck_assert_int_eq(ot_run_op("MaxPool", 12, &b3, 1, in, 1, y, ot_pool1), ONNXQ_E_INVALID_MODEL);
    struct ot_attrs b4 = {0};
    ot_ints(&b4, "kernel_shape", 2, (int64_t[]){2, 2});
    ot_ints(&b4, "strides", 1, (int64_t[]){2});
    ck_assert_int_eq(ot_run_op("MaxPool", 12, &b4, 1, in, 1, y, ot_pool1), ONNXQ_E_INVALID_MODEL);
    onnxq_tensor_clear(&x4);
}
END_TEST

/* -------------------------------------------------------- normalizations */

START_TEST(norm_fast_vs_ref)
{
    uint64_t seed = 31;
    int64_t d[4] = {2, 5, 7, 9}, c[1] = {5};
    struct onnxq_tensor x = rand_f32(&seed, 4, d, -3, 3);
    struct onnxq_tensor sc = rand_f32(&seed, 1, c, 0.5, 2), bi = rand_f32(&seed, 1, c, -1, 1);
    struct onnxq_tensor mean = rand_f32(&seed, 1, c, -1, 1), var = rand_f32(&seed, 1, c, 0.1, 2);
    const struct onnxq_tensor *in[5] = {&x, &sc, &bi, &mean, &var};
    struct ot_attrs eps = {0};
    ot_float(&eps, "epsilon", 1e-3f);
    fast_vs_ref("BatchNormalization-9", "BatchNormalization", 9, &eps, 5, in, 1);
    fast_vs_ref("BatchNormalization-15", "BatchNormalization", 15, &eps, 5, in, 1);
    fast_vs_ref("InstanceNormalization", "InstanceNormalization", 6, &eps, 3, in, 1);
    /* parameters folded at init (constant inputs) give the same bits */
    {
        struct onnxq_tensor a, b;
        ck_assert_int_eq(ot_run_op("BatchNormalization", 9, &eps, 5, in, 1, &a, ot_pool1), ONNXQ_OK);
        ck_assert_int_eq(ot_run_op_how("BatchNormalization", 9, &eps, 5, in, 1, &b, &(struct ot_run){.consts = true}),
                         ONNXQ_OK);
        check_equal_bytes("BatchNormalization folded at init", &a, &b);
        onnxq_tensor_clear(&a);
        onnxq_tensor_clear(&b);
    }
    /* spatial=0 (opset 7): per-element parameters of shape [C,H,W] */
    int64_t pc[3] = {5, 7, 9};
    struct onnxq_tensor sc2 = rand_f32(&seed, 3, pc, 0.5, 2), bi2 = rand_f32(&seed, 3, pc, -1, 1);
    struct onnxq_tensor m2 = rand_f32(&seed, 3, pc, -1, 1), v2 = rand_f32(&seed, 3, pc, 0.1, 2);
    const struct onnxq_tensor *in2[5] = {&x, &sc2, &bi2, &m2, &v2};
    struct ot_attrs sp = {0};
    ot_int(&sp, "spatial", 0);
    fast_vs_ref("BatchNormalization-7 spatial=0", "BatchNormalization", 7, &sp, 5, in2, 1);
    /* ... which opset 9 rejects */
    struct onnxq_tensor y[3];
    ck_assert_int_eq(ot_run_op("BatchNormalization", 9, NULL, 5, in2, 1, y, ot_pool1), ONNXQ_E_SHAPE);

    /* LayerNormalization at every axis, with and without bias, with the
     * Mean and InvStdDev outputs */
    for (int axis = -4; axis < 4; axis++) {
        int a = axis < 0 ? axis + 4 : axis;
        struct onnxq_tensor s = rand_f32(&seed, 4 - a, d + a, 0.5, 2), b = rand_f32(&seed, 4 - a, d + a, -1, 1);
        struct ot_attrs at = {0};
        ot_int(&at, "axis", axis);
        char what[100];
        snprintf(what, sizeof(what), "LayerNormalization axis %d", axis);
        const struct onnxq_tensor *li[3] = {&x, &s, &b};
        fast_vs_ref(what, "LayerNormalization", 17, &at, 3, li, 3);
        fast_vs_ref(what, "LayerNormalization", 17, &at, 2, li, 1);
        onnxq_tensor_clear(&s);
        onnxq_tensor_clear(&b);
    }
    /* broadcast scale [1] and bias [9] over axis 2 ([7,9]) */
    int64_t one = 1, nine = 9;
    struct onnxq_tensor s1 = rand_f32(&seed, 1, &one, 0.5, 2), b9 = rand_f32(&seed, 1, &nine, -1, 1);
    struct ot_attrs a2 = {0};
    ot_int(&a2, "axis", 2);
    const struct onnxq_tensor *lb[3] = {&x, &s1, &b9};
    fast_vs_ref("LayerNormalization broadcast", "LayerNormalization", 17, &a2, 3, lb, 3);
    /* a scale that does not broadcast */
    const struct onnxq_tensor *lbad[3] = {&x, &sc, NULL};
    ck_assert_int_eq(ot_run_op("LayerNormalization", 17, &a2, 3, lbad, 1, y, ot_pool1), ONNXQ_E_SHAPE);
    onnxq_tensor_clear(&s1);
    onnxq_tensor_clear(&b9);

    /* BatchNormalization training mode (opset 15) against the definition */
    struct ot_attrs tr = {0};
    ot_int(&tr, "training_mode", 1);
    ot_float(&tr, "momentum", 0.8f);
    ck_assert_int_eq(ot_run_op("BatchNormalization", 15, &tr, 5, in, 3, y, ot_pool1), ONNXQ_OK);
    for (int ch = 0; ch < 5; ch++) {
        double s = 0, q = 0;
        for (int n = 0; n < 2; n++)
            for (int i = 0; i < 63; i++)
                s += ((float *)x.data)[(n * 5 + ch) * 63 + i];
        double m = s / 126;
        for (int n = 0; n < 2; n++)
            for (int i = 0; i < 63; i++) {
                double dv = ((float *)x.data)[(n * 5 + ch) * 63 + i] - m;
                q += dv * dv;
            }
        double v = q / 126;
        ck_assert_double_eq_tol(((float *)y[1].data)[ch], ((float *)mean.data)[ch] * 0.8 + m * 0.2, 1e-5);
        ck_assert_double_eq_tol(((float *)y[2].data)[ch], ((float *)var.data)[ch] * 0.8 + v * 0.2, 1e-5);
        double x0 = ((float *)x.data)[ch * 63];
        double want = (x0 - m) / sqrt(v + 1e-5) * ((float *)sc.data)[ch] + ((float *)bi.data)[ch];
        ck_assert_double_eq_tol(((float *)y[0].data)[ch * 63], want, 1e-4);
    }
    for (int k = 0; k < 3; k++)
        onnxq_tensor_clear(&y[k]);
    /* training outputs before opset 14 are not supported */
    ck_assert_int_eq(ot_run_op("BatchNormalization", 9, NULL, 5, in, 3, y, ot_pool1), ONNXQ_E_UNSUPPORTED);

    /* LRN and MVN run one plain kernel: check a value by hand */
    struct ot_attrs lrn = {0};
    ot_int(&lrn, "size", 3);
    ot_float(&lrn, "alpha", 0.5f);
    ot_float(&lrn, "beta", 0.75f);
    ot_float(&lrn, "bias", 2.0f);
    ck_assert_int_eq(ot_run_op("LRN", 13, &lrn, 1, in, 1, y, ot_pool1), ONNXQ_OK);
    {
        const float *xv = x.data;
        size_t k = 1 * 63 + 10; /* n 0, c 1, pixel 10: channels 0..2 */
        double sq = 0;
        for (int ch = 0; ch < 3; ch++)
            sq += (double)xv[ch * 63 + 10] * xv[ch * 63 + 10];
        ck_assert_double_eq_tol(((float *)y[0].data)[k], xv[k] / pow(2.0 + 0.5 / 3 * sq, 0.75), 1e-5);
    }
    onnxq_tensor_clear(&y[0]);
    ck_assert_int_eq(ot_run_op("MeanVarianceNormalization", 13, NULL, 1, in, 1, y, ot_pool1), ONNXQ_OK);
    {
        double s = 0, q = 0;
        for (int n = 0; n < 2; n++)
            for (int i = 0; i < 63; i++) {
                double v = ((float *)x.data)[(n * 5 + 3) * 63 + i];
                s += v;
                q += v * v;
            }
        double m = s / 126, sd = sqrt(q / 126 - m * m);
        double x0 = ((float *)x.data)[3 * 63 + 5];
        ck_assert_double_eq_tol(((float *)y[0].data)[3 * 63 + 5], (x0 - m) / (sd + 1e-9), 1e-5);
    }
    onnxq_tensor_clear(&y[0]);

    /* wrong parameter sizes */
    const struct onnxq_tensor *bad[5] = {&x, &sc, &bi, &mean, &sc2};
    ck_assert_int_eq(ot_run_op("BatchNormalization", 15, NULL, 5, bad, 1, y, ot_pool1), ONNXQ_E_SHAPE);
    const struct onnxq_tensor *bad2[3] = {&x, &sc2, &bi};
    ck_assert_int_eq(ot_run_op("InstanceNormalization", 6, NULL, 3, bad2, 1, y, ot_pool1), ONNXQ_E_SHAPE);

    onnxq_tensor_clear(&sc2);
    onnxq_tensor_clear(&bi2);
    onnxq_tensor_clear(&m2);
    onnxq_tensor_clear(&v2);
    onnxq_tensor_clear(&sc);
    onnxq_tensor_clear(&bi);
    onnxq_tensor_clear(&mean);
    onnxq_tensor_clear(&var);
    onnxq_tensor_clear(&x);
}
END_TEST

/* Real-model shapes (PP-OCR det/rec/cls): large enough that the thread
 * pool splits the work; fast vs reference and 1 vs 3 threads. */
START_TEST(real_shapes)
{
    uint64_t seed = 5;
    int64_t gap[4] = {1, 24, 160, 160};
    struct onnxq_tensor x = rand_f32(&seed, 4, gap, -1, 1);
    const struct onnxq_tensor *in[1] = {&x};
    fast_vs_ref("GlobalAveragePool [1,24,160,160]", "GlobalAveragePool", 1, NULL, 1, in, 1);
    struct ot_attrs mp = {0};
    ot_ints(&mp, "kernel_shape", 2, (int64_t[]){2, 2});
    ot_ints(&mp, "strides", 2, (int64_t[]){2, 2});
    fast_vs_ref("MaxPool 2x2 [1,24,160,160]", "MaxPool", 9, &mp, 1, in, 1);
    onnxq_tensor_clear(&x);

    int64_t ap[4] = {1, 480, 3, 80};
    x = rand_f32(&seed, 4, ap, -1, 1);
    struct ot_attrs at = {0};
    ot_ints(&at, "kernel_shape", 2, (int64_t[]){3, 2});
    ot_ints(&at, "strides", 2, (int64_t[]){3, 2});
    ot_ints(&at, "pads", 4, (int64_t[]){0, 0, 0, 0});
    ot_int(&at, "count_include_pad", 0);
    fast_vs_ref("AveragePool [1,480,3,80]", "AveragePool", 9, &at, 1, in, 1);
    onnxq_tensor_clear(&x);

    int64_t rm[3] = {1, 40, 120};
    x = rand_f32(&seed, 3, rm, -1, 1);
    struct ot_attrs ra = {0};
    ot_ints(&ra, "axes", 1, (int64_t[]){-1});
    fast_vs_ref("ReduceMean [1,40,120] axes -1", "ReduceMean", 9, &ra, 1, in, 1);
    onnxq_tensor_clear(&x);

    int64_t sm[3] = {1, 40, 6625};
    x = rand_f32(&seed, 3, sm, -20, 20);
    struct ot_attrs sa = {0};
    ot_int(&sa, "axis", 2);
    fast_vs_ref("Softmax-9 [1,40,6625] axis 2", "Softmax", 9, &sa, 1, in, 1);
    onnxq_tensor_clear(&x);
}
END_TEST

static Suite *nn_suite(void)
{
    Suite *s = suite_create("nn");
    TCase *tc = tcase_create("nn");
    tcase_add_checked_fixture(tc, ot_setup_pools, ot_teardown_pools);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, reduce_fast_vs_ref);
    tcase_add_test(tc, reduce_semantics);
    tcase_add_test(tc, argmax_fast_vs_ref);
    tcase_add_test(tc, softmax_fast_vs_ref);
    tcase_add_test(tc, softmax_semantics);
    tcase_add_test(tc, pool_fast_vs_ref);
    tcase_add_test(tc, pool_semantics);
    tcase_add_test(tc, norm_fast_vs_ref);
    tcase_add_test(tc, real_shapes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(nn_suite());
}
