/* Range methods on hand-built histograms: the entropy search's clipping
 * guard and the `auto` method.
 *
 * Independent expectations: a plain reference of the KL search (P and Q
 * built bin by bin as docs/calibration.md defines them, no prefix sums), a
 * plain sum for the mse objective, a brute-force simulation of
 * QuantizeLinear/DequantizeLinear for the exact error, and hand-computed
 * values. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "calibration/histogram.h"
#include "calibration/ranges.h"
#include "calibration/table.h"
#include "core/error.h"
#include "testutil.h"

static struct onnxq_hist new_hist(uint32_t bins)
{
    struct onnxq_hist h;
    struct onnxq_error err;
    ck_assert_int_eq(onnxq_hist_init(&h, bins, &err), ONNXQ_OK);
    return h;
}

/* Deterministic samples: the (i + 1/2)/n quantiles of Laplace(0, b). */
static void laplace_quantiles(float *x, size_t n, double b)
{
    for (size_t i = 0; i < n; i++) {
        double u = ((double)i + 0.5) / (double)n - 0.5;
        x[i] = (float)(-b * copysign(1.0, u) * log(1 - 2 * fabs(u)));
    }
}

/* n values evenly spread over [a, b) */
static void uniform_fill(float *x, size_t n, double a, double b)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(a + (b - a) * ((double)i + 0.5) / (double)n);
}

static void add(struct onnxq_hist *h, const float *x, size_t n)
{
    onnxq_hist_add(h, x, n, ONNXQ_EMA_DEFAULT);
}

static void range_of(const struct onnxq_hist *h, enum onnxq_calib_method m, enum onnxq_qtype qt, double *lo,
                      double *hi, enum onnxq_calib_method *chosen)
{
    struct onnxq_error err;
    ck_assert_msg(onnxq_range_compute_choice(h, "t", m, qt, NULL, lo, hi, chosen, &err) == ONNXQ_OK, "%s",
                  err.message);
}

/* ------------------------------------------------- plain references */

/* The array the search runs on: |x| (int8) or signed counts (uint8). */
static double *search_counts(const struct onnxq_hist *h, bool folded, int64_t *n)
{
    int64_t B = h->bins;
    *n = folded ? B : 2 * B;
    double *H = calloc((size_t)*n, sizeof(double));
    for (int64_t k = 0; k < *n; k++)
        H[k] = folded ? (double)h->counts[B + k] + (double)h->counts[B - 1 - k] : (double)h->counts[k];
    return H;
}

/* KL(P||Q) of keeping bins [lo, hi) of H with L levels, built directly. */
static double ref_kl(const double *H, int64_t n_all, int64_t lo, int64_t hi, int levels)
{
    int64_t n = hi - lo;
    double below = 0, above = 0, ZQ = 0;
    for (int64_t k = 0; k < lo; k++)
        below += H[k];
    for (int64_t k = hi; k < n_all; k++)
        above += H[k];
    double *P = calloc((size_t)n, sizeof(double)), *Q = calloc((size_t)n, sizeof(double));
    for (int64_t k = 0; k < n; k++) {
        P[k] = H[lo + k];
        ZQ += H[lo + k];
    }
    P[0] += below;
    P[n - 1] += above;
    double N = ZQ + below + above, kl = 0;
    for (int s = 0; s < levels && kl < INFINITY; s++) {
        int64_t a = (int64_t)s * n / levels, b = s == levels - 1 ? n : (int64_t)(s + 1) * n / levels;
        double T = 0, nz = 0, pm = 0;
        for (int64_t k = a; k < b; k++) {
            T += H[lo + k];
            nz += P[k] > 0;
            pm += P[k];
        }
        if (T <= 0) {
            if (pm > 0)
                kl = INFINITY;
            continue;
        }
        for (int64_t k = a; k < b; k++)
            if (P[k] > 0)
                Q[k] = T / nz;
    }
    for (int64_t k = 0; k < n && kl < INFINITY; k++)
        if (P[k] > 0)
            kl += P[k] / N * log((P[k] / N) / (Q[k] / ZQ));
    free(P);
    free(Q);
    return ZQ > 0 ? kl : INFINITY;
}

/* The mse objective of range [(lo - zero) w, (hi - zero) w] over H:
 * step^2/12 per kept value, (centre - edge)^2 per clipped one. */
static double ref_model_mse(const double *H, int64_t n, int64_t zero, double w, int64_t lo, int64_t hi, double steps)
{
    double L = (double)(lo - zero) * w, U = (double)(hi - zero) * w, step = (U - L) / steps, e = 0;
    for (int64_t k = 0; k < n; k++) {
        double c = ((double)(k - zero) + 0.5) * w;
        if (k < lo)
            e += H[k] * (c - L) * (c - L);
        else if (k >= hi)
            e += H[k] * (c - U) * (c - U);
        else
            e += H[k] * step * step / 12;
    }
    return e;
}

/* One-sided KL search from bin `zero` (int8 folded: zero = 0; uint8 with no
 * negative values: zero = bins): kept bins [zero, zero + i), i >= 128. With
 * `guarded`, only candidates whose mse objective is at most the unclipped
 * range's. Returns the kept bin count. */
static int64_t ref_search(const struct onnxq_hist *h, bool folded, bool guarded)
{
    int64_t n;
    double *H = search_counts(h, folded, &n);
    int64_t zero = folded ? 0 : h->bins, top = n;
    while (top > zero && H[top - 1] == 0)
        top--;
    int64_t ext = top - zero, best_i = ext;
    double steps = folded ? 127 : 255, w = onnxq_hist_width(h);
    double bound = ref_model_mse(H, n, zero, w, zero, top, steps) * (1 + 1e-9), best = INFINITY;
    for (int64_t i = ONNXQ_ENTROPY_START_BINS; i <= ext && ext > ONNXQ_ENTROPY_START_BINS; i++) {
        if (guarded && ref_model_mse(H, n, zero, w, zero, zero + i, steps) > bound)
            continue;
        double kl = ref_kl(H, n, zero, zero + i, folded ? 128 : 256);
        if (kl < best) {
            best = kl;
            best_i = i;
        }
    }
    free(H);
    return best_i;
}

/* QuantizeLinear then DequantizeLinear of x, as onnxruntime computes it
 * (round half to even, saturate). */
static double qdq(double x, float s, int32_t zp, enum onnxq_qtype qt)
{
    double qmin = qt == ONNXQ_QTYPE_INT8 ? -128 : 0, qmax = qt == ONNXQ_QTYPE_INT8 ? 127 : 255;
    double q = fmin(fmax(nearbyint(x / s) + zp, qmin), qmax);
    return (q - zp) * (double)s;
}

/* Brute force of onnxq_range_exact_mse: `per_bin` evenly spaced points in
 * each bin's part of [min, max]. */
static double ref_exact_mse(const struct onnxq_hist *h, double lo, double hi, enum onnxq_qtype qt, int per_bin)
{
    float s;
    int32_t zp;
    onnxq_qparams_from_range(lo, hi, qt, &s, &zp);
    double w = onnxq_hist_width(h), e = 0;
    for (int64_t i = 0; i < 2 * (int64_t)h->bins; i++) {
        if (!h->counts[i])
            continue;
        double a = fmax(onnxq_hist_edge(h, i), h->min), b = fmin(onnxq_hist_edge(h, i) + w, h->max), sq = 0;
        for (int k = 0; k < per_bin; k++) {
            double x = a + (b - a) * (k + 0.5) / per_bin, d = qdq(x, s, zp, qt) - x;
            sq += d * d;
        }
        e += (double)h->counts[i] * sq / per_bin;
    }
    return e / (double)h->count;
}

/* --------------------------------------------------------- entropy */

/* A peaked bulk (Laplace, b = 0.02) and two small clusters far out, at
 * 1.1..1.3 (0.4 %) and 2.4..2.55 (0.2 %): the shape of PP-OCR rec's
 * p2o.Mul.141, where plain KL cut at 0.79 and the model fell from 97.9 % to
 * 8.8 % character accuracy. */
static struct onnxq_hist clustered_hist(void)
{
    size_t n = 400000, c1 = 1600, c2 = 800;
    float *x = malloc((n + c1 + c2) * sizeof(float));
    laplace_quantiles(x, n, 0.02);
    uniform_fill(x + n, c1, 1.1, 1.3);
    uniform_fill(x + n + c1, c2, 2.4, 2.55);
    struct onnxq_hist h = new_hist(2048);
    add(&h, x, n + c1 + c2);
    free(x);
    return h;
}

START_TEST(entropy_guard_keeps_far_cluster)
{
    struct onnxq_hist h = clustered_hist();
    double w = onnxq_hist_width(&h);
    /* plain KL cuts off the outer cluster ... */
    int64_t raw = ref_search(&h, true, false);
    ck_assert_msg((double)raw * w < 2.4, "plain KL keeps %g: the test lost its point", (double)raw * w);
    /* ... at a far larger squared error than not clipping at all */
    double lo, hi, mlo, mhi;
    range_of(&h, ONNXQ_CALIB_MINMAX, ONNXQ_QTYPE_INT8, &mlo, &mhi, NULL);
    ck_assert(onnxq_range_expected_mse(&h, -(double)raw * w, (double)raw * w, ONNXQ_QTYPE_INT8) >
              10 * onnxq_range_expected_mse(&h, mlo, mhi, ONNXQ_QTYPE_INT8));
    /* the method: the guarded reference, which keeps (most of) the cluster */
    int64_t guarded = ref_search(&h, true, true);
    range_of(&h, ONNXQ_CALIB_ENTROPY, ONNXQ_QTYPE_INT8, &lo, &hi, NULL);
    ck_assert_msg(fabs(hi - fmin((double)guarded * w, mhi)) < 1e-12 && lo == -hi, "entropy T %g, reference %g", hi,
                  (double)guarded * w);
    ck_assert_msg(hi > 2.45, "entropy T %g clips the cluster at 2.4..2.55", hi);
    ck_assert(onnxq_range_expected_mse(&h, lo, hi, ONNXQ_QTYPE_INT8) <=
              onnxq_range_expected_mse(&h, mlo, mhi, ONNXQ_QTYPE_INT8) * (1 + 1e-6));
    /* uint8, two-sided search (the bulk has negative values): same outcome */
    range_of(&h, ONNXQ_CALIB_ENTROPY, ONNXQ_QTYPE_UINT8, &lo, &hi, NULL);
    ck_assert_msg(hi > 2.45 && lo < 0, "uint8 entropy [%g, %g]", lo, hi);
    onnxq_hist_free(&h);
}
END_TEST

START_TEST(entropy_offset_histogram_is_not_collapsed)
{
    /* Values in [1.4, 15.5] only (a variance + eps, a Sqrt): for every cut
     * that keeps a single non-empty bin, P and Q are the same point mass and
     * KL = 0, so plain KL "chooses" [0, 1.42] and clips 99.9 % of the data. */
    size_t n = 100000;
    float *x = malloc(n * sizeof(float));
    uniform_fill(x, n, 1.4, 15.5);
    struct onnxq_hist h = new_hist(2048);
    add(&h, x, n);
    double w = onnxq_hist_width(&h);
    int64_t raw = ref_search(&h, false, false);
    ck_assert_msg((double)raw * w < 1.5, "plain KL keeps %g", (double)raw * w);
    int64_t guarded = ref_search(&h, false, true);
    double lo, hi;
    range_of(&h, ONNXQ_CALIB_ENTROPY, ONNXQ_QTYPE_UINT8, &lo, &hi, NULL);
    ck_assert_msg(fabs(hi - fmin((double)guarded * w, h.max)) < 1e-12, "entropy hi %g, reference %g", hi,
                  (double)guarded * w);
    ck_assert_msg(hi > 0.95 * h.max, "uniform data: hardly anything may be clipped (hi %g of %g)", hi, h.max);
    range_of(&h, ONNXQ_CALIB_ENTROPY, ONNXQ_QTYPE_INT8, &lo, &hi, NULL);
    ck_assert_msg(hi > 0.95 * h.max, "int8 entropy T %g", hi);
    onnxq_hist_free(&h);
    free(x);
}
END_TEST

START_TEST(entropy_well_behaved_is_plain_kl)
{
    /* Laplace: the KL cut clips a thin tail and lowers the squared error,
     * so the guard does not bind and the result is TensorRT's. */
    size_t n = 200000;
    float *x = malloc(n * sizeof(float));
    laplace_quantiles(x, n, 0.5);
    struct onnxq_hist h = new_hist(2048);
    add(&h, x, n);
    double w = onnxq_hist_width(&h), lo, hi;
    int64_t raw = ref_search(&h, true, false);
    ck_assert_int_eq(ref_search(&h, true, true), raw);
    range_of(&h, ONNXQ_CALIB_ENTROPY, ONNXQ_QTYPE_INT8, &lo, &hi, NULL);
    ck_assert_msg(fabs(hi - fmin((double)raw * w, fmax(-h.min, h.max))) < 1e-12, "entropy T %g, plain KL %g", hi,
                  (double)raw * w);
    ck_assert_msg(hi < 0.9 * h.max, "KL clips the Laplace tail (T %g, max %g)", hi, h.max);
    /* uint8 on |x| (ReLU-like, one-sided search) */
    for (size_t i = 0; i < n; i++)
        x[i] = fabsf(x[i]);
    struct onnxq_hist r = new_hist(2048);
    add(&r, x, n);
    w = onnxq_hist_width(&r);
    raw = ref_search(&r, false, false);
    ck_assert_int_eq(ref_search(&r, false, true), raw);
    range_of(&r, ONNXQ_CALIB_ENTROPY, ONNXQ_QTYPE_UINT8, &lo, &hi, NULL);
    ck_assert_msg(fabs(hi - fmin((double)raw * w, r.max)) < 1e-12 && lo == r.min, "uint8 entropy [%g, %g]", lo, hi);
    onnxq_hist_free(&h);
    onnxq_hist_free(&r);
    free(x);
}
END_TEST

/* ------------------------------------------------------- exact error */

START_TEST(exact_mse_hand_computed)
{
    /* every value 0.3, range [0, 1], uint8: scale 1/255, zero point 0;
     * 0.3 * 255 = 76.5 rounds (half to even) to 76: error (76/255 - 0.3)^2 */
    struct onnxq_hist h = new_hist(64);
    float x[100];
    for (int i = 0; i < 100; i++)
        x[i] = 0.3f;
    add(&h, x, 100);
    double v = (double)0.3f, s = (double)(float)(1.0 / 255), d = nearbyint(v / s) * s - v;
    ck_assert_double_eq_tol(onnxq_range_exact_mse(&h, 0, 1, ONNXQ_QTYPE_UINT8), d * d, 1e-18);
    /* range [0, 0.2]: saturated at 0.2 (well, 255 * scale) */
    s = (double)(float)(0.2 / 255);
    d = 255 * s - v;
    ck_assert_double_eq_tol(onnxq_range_exact_mse(&h, 0, 0.2, ONNXQ_QTYPE_UINT8), d * d, 1e-15);
    onnxq_hist_free(&h);

    /* values spread evenly over [0, 1): rounding error is uniform on
     * [-s/2, s/2], so the error is s^2/12 (plus the half-step at the top) */
    struct onnxq_hist u = new_hist(2048);
    size_t n = 1 << 20;
    float *y = malloc(n * sizeof(float));
    uniform_fill(y, n, 0, 1);
    add(&u, y, n);
    s = (double)(float)(1.0 / 255);
    double e = onnxq_range_exact_mse(&u, 0, 1, ONNXQ_QTYPE_UINT8);
    ck_assert_msg(fabs(e / (s * s / 12) - 1) < 0.01, "uniform: %g vs s^2/12 = %g", e, s * s / 12);
    onnxq_hist_free(&u);
    free(y);
}
END_TEST

START_TEST(exact_mse_matches_brute_force)
{
    struct onnxq_hist h = clustered_hist();
    const double ranges[][2] = {{-0.2, 2.6}, {-0.05, 0.3}, {-1, 1}, {0, 2.0}, {-0.01, 0.01}};
    for (int q = 0; q < ONNXQ_QTYPE_COUNT; q++)
        for (size_t r = 0; r < sizeof(ranges) / sizeof(ranges[0]); r++) {
            double a = onnxq_range_exact_mse(&h, ranges[r][0], ranges[r][1], (enum onnxq_qtype)q);
            double b = ref_exact_mse(&h, ranges[r][0], ranges[r][1], (enum onnxq_qtype)q, 400);
            ck_assert_msg(fabs(a - b) <= 2e-3 * b, "%s [%g, %g]: exact %g, brute force %g",
                          onnxq_qtype_names[q], ranges[r][0], ranges[r][1], a, b);
        }
    onnxq_hist_free(&h);
}
END_TEST

/* ------------------------------------------------------------- auto */

/* Checks auto against the brute-force errors of the four candidates;
 * returns the method it chose. */
static enum onnxq_calib_method check_auto(const struct onnxq_hist *h, enum onnxq_qtype qt)
{
    double lo, hi, best = INFINITY;
    enum onnxq_calib_method chosen, want = ONNXQ_CALIB_METHOD_COUNT;
    range_of(h, ONNXQ_CALIB_AUTO, qt, &lo, &hi, &chosen);
    for (int k = 0; k < ONNXQ_AUTO_CANDIDATES; k++) {
        double clo, chi;
        range_of(h, onnxq_auto_candidates[k], qt, &clo, &chi, NULL);
        double e = ref_exact_mse(h, clo, chi, qt, 64);
        if (e < best * (1 - 1e-4)) {
            best = e;
            want = onnxq_auto_candidates[k];
        }
        if (onnxq_auto_candidates[k] == chosen)
            ck_assert(clo == lo && chi == hi);
    }
    ck_assert_msg(chosen == want, "%s: auto chose %s, brute force says %s", onnxq_qtype_names[qt],
                  onnxq_calib_methods[chosen].name, onnxq_calib_methods[want].name);
    return chosen;
}

START_TEST(auto_keeps_wide_range_when_mass_sits_at_zero)
{
    /* ReLU-like: 97 % exact zeros, the rest a Laplace tail. mse charges
     * every value step^2/12, zeros included, and clips the tail hard; the
     * zeros are in fact exact (0 is on the grid), so the exact error is
     * lower for a wider range and auto takes it. */
    size_t nz = 970000, nt = 30000;
    float *x = calloc(nz + 2 * nt, sizeof(float));
    laplace_quantiles(x + nz, 2 * nt, 1.0);
    struct onnxq_hist h = new_hist(2048);
    size_t k = nz;
    for (size_t i = nz; i < nz + 2 * nt; i++)
        if (x[i] > 0)
            x[k++] = x[i];
    add(&h, x, k);
    double mlo, mhi, alo, ahi;
    range_of(&h, ONNXQ_CALIB_MSE, ONNXQ_QTYPE_UINT8, &mlo, &mhi, NULL);
    enum onnxq_calib_method c = check_auto(&h, ONNXQ_QTYPE_UINT8);
    range_of(&h, ONNXQ_CALIB_AUTO, ONNXQ_QTYPE_UINT8, &alo, &ahi, NULL);
    ck_assert_msg(c != ONNXQ_CALIB_MSE && ahi > mhi, "auto chose %s [%g, %g]; mse [%g, %g]",
                  onnxq_calib_methods[c].name, alo, ahi, mlo, mhi);
    check_auto(&h, ONNXQ_QTYPE_INT8);
    onnxq_hist_free(&h);
    free(x);
}
END_TEST

START_TEST(auto_takes_mse_on_smooth_data)
{
    /* Smooth Laplace data: the step^2/12 model is accurate, and mse, which
     * minimises it, also has the lowest exact error. */
    size_t n = 400000;
    float *x = malloc(n * sizeof(float));
    laplace_quantiles(x, n, 1.0);
    struct onnxq_hist h = new_hist(2048);
    add(&h, x, n);
    ck_assert_int_eq(check_auto(&h, ONNXQ_QTYPE_INT8), ONNXQ_CALIB_MSE);
    ck_assert_int_eq(check_auto(&h, ONNXQ_QTYPE_UINT8), ONNXQ_CALIB_MSE);
    onnxq_hist_free(&h);
    free(x);
}
END_TEST

START_TEST(auto_choice_recorded_in_table)
{
    struct onnxq_error err;
    enum onnxq_calib_method m;
    ck_assert_int_eq(onnxq_calib_method_parse("auto", &m, &err), ONNXQ_OK);
    ck_assert_int_eq(m, ONNXQ_CALIB_AUTO);
    /* a table of two tensors, one per test histogram above */
    struct onnxq_calib_table t = {0};
    t.bins = 2048;
    t.ema = ONNXQ_EMA_DEFAULT;
    onnxq_range_params_init(&t.params);
    t.n = 2;
    t.e = calloc(2, sizeof(*t.e));
    t.e[0].name = strdup("clustered");
    t.e[0].hist = clustered_hist();
    t.e[0].has_hist = true;
    t.e[1].name = strdup("smooth");
    t.e[1].hist = new_hist(2048);
    t.e[1].has_hist = true;
    float *x = malloc(100000 * sizeof(float));
    laplace_quantiles(x, 100000, 1.0);
    add(&t.e[1].hist, x, 100000);
    free(x);
    /* auto alone (its own candidate search), then all methods (auto from
     * the stored candidate ranges): the same choice and range */
    ck_assert_int_eq(onnxq_calib_table_compute(&t, 1u << ONNXQ_CALIB_AUTO, NULL, &err), ONNXQ_OK);
    enum onnxq_calib_method alone[2][ONNXQ_QTYPE_COUNT];
    double lo_alone[2][ONNXQ_QTYPE_COUNT];
    for (int i = 0; i < 2; i++)
        for (int q = 0; q < ONNXQ_QTYPE_COUNT; q++) {
            alone[i][q] = onnxq_calib_entry_chosen(&t.e[i], ONNXQ_CALIB_AUTO, (enum onnxq_qtype)q);
            lo_alone[i][q] = t.e[i].lo[q][ONNXQ_CALIB_AUTO];
            enum onnxq_calib_method direct;
            double lo, hi;
            range_of(&t.e[i].hist, ONNXQ_CALIB_AUTO, (enum onnxq_qtype)q, &lo, &hi, &direct);
            ck_assert_int_eq(alone[i][q], direct);
            ck_assert(!t.e[i].has_range[q][direct]);  /* only auto was asked for */
        }
    for (int i = 0; i < 2; i++)
        memset(t.e[i].has_range, 0, sizeof(t.e[i].has_range));
    ck_assert_int_eq(onnxq_calib_table_compute(&t, (1u << ONNXQ_CALIB_METHOD_COUNT) - 1, NULL, &err), ONNXQ_OK);
    for (int i = 0; i < 2; i++)
        for (int q = 0; q < ONNXQ_QTYPE_COUNT; q++) {
            ck_assert_int_eq(onnxq_calib_entry_chosen(&t.e[i], ONNXQ_CALIB_AUTO, (enum onnxq_qtype)q), alone[i][q]);
            ck_assert(t.e[i].lo[q][ONNXQ_CALIB_AUTO] == lo_alone[i][q]);
            ck_assert(t.e[i].lo[q][ONNXQ_CALIB_AUTO] == t.e[i].lo[q][alone[i][q]]);
        }
    /* written and read back (without histograms): the choice survives */
    char path[] = "/tmp/onnxq_test_ranges_XXXXXX";
    int fd = mkstemp(path);
    ck_assert(fd >= 0);
    close(fd);
    ck_assert_int_eq(onnxq_calib_table_write(&t, path, false, &err), ONNXQ_OK);
    struct onnxq_calib_table r = {0};
    ck_assert_msg(onnxq_calib_table_read(path, &r, &err) == ONNXQ_OK, "%s", err.message);
    size_t counts[ONNXQ_CALIB_METHOD_COUNT], total = 0;
    onnxq_calib_table_auto_counts(&r, ONNXQ_QTYPE_UINT8, counts);
    for (int k = 0; k < ONNXQ_CALIB_METHOD_COUNT; k++)
        total += counts[k];
    ck_assert_int_eq(total, 2);
    for (int i = 0; i < 2; i++) {
        const struct onnxq_calib_entry *e = onnxq_calib_table_find(&r, t.e[i].name);
        ck_assert_ptr_nonnull(e);
        for (int q = 0; q < ONNXQ_QTYPE_COUNT; q++) {
            ck_assert_int_eq(onnxq_calib_entry_chosen(e, ONNXQ_CALIB_AUTO, (enum onnxq_qtype)q), alone[i][q]);
            double lo, hi;
            ck_assert_int_eq(onnxq_calib_entry_range(&r, e, ONNXQ_CALIB_AUTO, (enum onnxq_qtype)q, &lo, &hi, &err),
                             ONNXQ_OK);
            ck_assert(lo == t.e[i].lo[q][ONNXQ_CALIB_AUTO]);
        }
    }
    /* a malformed record is an error naming the tensor */
    FILE *f = fopen(path, "r");
    char *txt = calloc(1, 1 << 20);
    size_t len = fread(txt, 1, (1 << 20) - 1, f);
    fclose(f);
    txt[len] = 0;
    char *p = strstr(txt, "\"auto_method\":{\"uint8\":\"");
    ck_assert_ptr_nonnull(p);
    p += strlen("\"auto_method\":{\"uint8\":\"");
    char *tail = strchr(p, '"');
    memmove(p + 4, tail, strlen(tail) + 1);
    memcpy(p, "auto", 4);  /* auto cannot have chosen itself */
    f = fopen(path, "w");
    fputs(txt, f);
    fclose(f);
    struct onnxq_calib_table bad = {0};
    ck_assert_int_eq(onnxq_calib_table_read(path, &bad, &err), ONNXQ_E_PARSE);
    ck_assert_msg(strstr(err.message, "auto_method"), "%s", err.message);
    free(txt);
    unlink(path);
    onnxq_calib_table_clear(&r);
    onnxq_calib_table_clear(&t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ranges");
    TCase *te = tcase_create("entropy");
    tcase_set_timeout(te, 120);
    tcase_add_test(te, entropy_guard_keeps_far_cluster);
    tcase_add_test(te, entropy_offset_histogram_is_not_collapsed);
    tcase_add_test(te, entropy_well_behaved_is_plain_kl);
    suite_add_tcase(s, te);
    TCase *tx = tcase_create("exact");
    tcase_set_timeout(tx, 120);
    tcase_add_test(tx, exact_mse_hand_computed);
    tcase_add_test(tx, exact_mse_matches_brute_force);
    suite_add_tcase(s, tx);
    TCase *ta = tcase_create("auto");
    tcase_set_timeout(ta, 120);
    tcase_add_test(ta, auto_keeps_wide_range_when_mass_sits_at_zero);
    tcase_add_test(ta, auto_takes_mse_on_smooth_data);
    tcase_add_test(ta, auto_choice_recorded_in_table);
    suite_add_tcase(s, ta);
    return tu_run_suite(s);
}
