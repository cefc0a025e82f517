/* Streaming histograms and range methods against independent expectations:
 * hand-built data with known answers, exact re-binning and merging, and
 * large samples from known distributions compared with analytic values. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "calibration/histogram.h"
#include "calibration/ranges.h"
#include "calibration/observer.h"
#include "calibration/table.h"
#include "core/context.h"
#include "core/threadpool.h"
#include "exec/exec.h"
#include "ir/graph.h"
#include "optest.h"
#include "testutil.h"

/* splitmix64: deterministic test data independent of libc's rand() */
static uint64_t rng_state;

static uint64_t next_u64(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double uniform01(void)
{
    return ((double)(next_u64() >> 11) + 0.5) / 9007199254740992.0;
}

static float *gaussian(size_t n, uint64_t seed)
{
    rng_state = seed;
    float *x = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i += 2) {
        double u = uniform01(), v = uniform01();
        double r = sqrt(-2 * log(u));
        x[i] = (float)(r * cos(2 * M_PI * v));
        if (i + 1 < n)
            x[i + 1] = (float)(r * sin(2 * M_PI * v));
    }
    return x;
}

static float *laplace(size_t n, double b, uint64_t seed)
{
    rng_state = seed;
    float *x = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        double u = uniform01() - 0.5;
        x[i] = (float)(-b * (u < 0 ? -1 : 1) * log(1 - 2 * fabs(u)));
    }
    return x;
}

static struct onnxq_hist new_hist(uint32_t bins)
{
    struct onnxq_hist h;
    struct onnxq_error err;
    ck_assert_int_eq(onnxq_hist_init(&h, bins, &err), ONNXQ_OK);
    return h;
}

START_TEST(hand_built_stats_and_bins)
{
    struct onnxq_hist h = new_hist(16);
    const float x[] = {0.0f, 1.0f, 2.0f, 3.0f, -1.0f, -4.0f, 7.5f, NAN, INFINITY, -INFINITY};
    onnxq_hist_add(&h, x, 10, ONNXQ_EMA_DEFAULT);
    ck_assert_uint_eq(h.count, 7);
    ck_assert_uint_eq(h.nan_count, 1);
    ck_assert_uint_eq(h.inf_count, 2);
    ck_assert(h.min == -4.0 && h.max == 7.5);
    ck_assert_uint_eq(onnxq_hist_total(&h), 7);
    /* max |x| = 7.5 < 16 * 2^-1 = 8: width 0.5 is the finest grid that holds it */
    ck_assert_int_eq(h.exp, -1);
    /* 7.5 falls in [7.5, 8.0): bin 16 + 15 = 31; -4 in [-4, -3.5): bin 16 - 8 = 8 */
    ck_assert_uint_eq(h.counts[31], 1);
    ck_assert_uint_eq(h.counts[8], 1);
    ck_assert_uint_eq(h.counts[16], 1); /* 0.0 */
    ck_assert_uint_eq(h.counts[14], 1); /* -1.0 in [-1, -0.5) */
    double s = h.sum;
    ck_assert(fabs(s - 8.5) < 1e-12);
    onnxq_hist_free(&h);
}
END_TEST

START_TEST(rebinning_keeps_mass_and_is_exact)
{
    /* Growing the range step by step must give the very histogram that one
     * pass over all the data gives. */
    float *g = gaussian(1 << 16, 7);
    for (size_t i = 0; i < (1u << 16); i++)
        g[i] *= (float)ldexp(1.0, (int)(i / 4096) - 8); /* scales 2^-8 .. 2^7 */
    struct onnxq_hist a = new_hist(256), b = new_hist(256);
    for (size_t i = 0; i < (1u << 16); i += 4096)
        onnxq_hist_add(&a, g + i, 4096, ONNXQ_EMA_DEFAULT);
    onnxq_hist_add(&b, g, 1 << 16, ONNXQ_EMA_DEFAULT);
    ck_assert_uint_eq(onnxq_hist_total(&a), 1u << 16);
    ck_assert_int_eq(a.exp, b.exp);
    ck_assert(memcmp(a.counts, b.counts, 512 * sizeof(uint64_t)) == 0);
    onnxq_hist_free(&a);
    onnxq_hist_free(&b);
    free(g);
}
END_TEST

START_TEST(optimized_add_matches_reference)
{
    float *g = gaussian(100000, 11);
    g[17] = NAN;
    g[99] = -INFINITY;
    struct onnxq_hist a = new_hist(2048), b = new_hist(2048);
    for (int k = 0; k < 10; k++) {
        onnxq_hist_add(&a, g + k * 10000, 10000, ONNXQ_EMA_DEFAULT);
        onnxq_hist_add_reference(&b, g + k * 10000, 10000, ONNXQ_EMA_DEFAULT);
    }
    ck_assert(onnxq_hist_equal(&a, &b));
    ck_assert_uint_eq(a.nan_count, 1);
    ck_assert_uint_eq(a.inf_count, 1);
    /* the fast path sums in float blocks of 1024: tolerance 1e-6 of
     * sqrt(n * sum x^2), which bounds sum |x| */
    double scale = sqrt((double)b.count * b.sum_sq);
    ck_assert_msg(fabs(a.sum - b.sum) <= 1e-6 * scale, "sum %.9g vs %.9g", a.sum, b.sum);
    ck_assert_msg(fabs(a.sum_sq - b.sum_sq) <= 1e-6 * b.sum_sq, "sum_sq %.9g vs %.9g", a.sum_sq, b.sum_sq);
    onnxq_hist_free(&a);
    onnxq_hist_free(&b);
    free(g);
}
END_TEST

START_TEST(merge_is_exact_commutative_associative)
{
    float *g = gaussian(90000, 3);
    for (size_t i = 60000; i < 90000; i++)
        g[i] *= 50; /* the third shard needs a coarser grid */
    struct onnxq_hist s[3], all = new_hist(512);
    for (int k = 0; k < 3; k++) {
        s[k] = new_hist(512);
        onnxq_hist_add(&s[k], g + k * 30000, 30000, ONNXQ_EMA_DEFAULT);
    }
    onnxq_hist_add(&all, g, 90000, ONNXQ_EMA_DEFAULT);
    struct onnxq_error err;
    /* (s0 + s1) + s2 */
    struct onnxq_hist x = new_hist(512), y = new_hist(512), z = new_hist(512), t = new_hist(512);
    ck_assert_int_eq(onnxq_hist_merge(&x, &s[0], &err), ONNXQ_OK);
    ck_assert_int_eq(onnxq_hist_merge(&x, &s[1], &err), ONNXQ_OK);
    ck_assert_int_eq(onnxq_hist_merge(&x, &s[2], &err), ONNXQ_OK);
    /* s2 + (s1 + s0) */
    ck_assert_int_eq(onnxq_hist_merge(&t, &s[1], &err), ONNXQ_OK);
    ck_assert_int_eq(onnxq_hist_merge(&t, &s[0], &err), ONNXQ_OK);
    ck_assert_int_eq(onnxq_hist_merge(&y, &s[2], &err), ONNXQ_OK);
    ck_assert_int_eq(onnxq_hist_merge(&y, &t, &err), ONNXQ_OK);
    /* s1 + (s2 + s0) */
    ck_assert_int_eq(onnxq_hist_merge(&z, &s[1], &err), ONNXQ_OK);
    struct onnxq_hist u = new_hist(512);
    ck_assert_int_eq(onnxq_hist_merge(&u, &s[2], &err), ONNXQ_OK);
    ck_assert_int_eq(onnxq_hist_merge(&u, &s[0], &err), ONNXQ_OK);
    ck_assert_int_eq(onnxq_hist_merge(&z, &u, &err), ONNXQ_OK);
    ck_assert(onnxq_hist_equal(&x, &all));
    ck_assert(onnxq_hist_equal(&y, &all));
    ck_assert(onnxq_hist_equal(&z, &all));
    ck_assert_uint_eq(x.batches, 3);
    struct onnxq_hist bad = new_hist(1024);
    ck_assert_int_eq(onnxq_hist_merge(&bad, &s[0], &err), ONNXQ_E_INVALID_ARG);
    onnxq_hist_free(&bad);
    for (int k = 0; k < 3; k++)
        onnxq_hist_free(&s[k]);
    onnxq_hist_free(&all);
    onnxq_hist_free(&x);
    onnxq_hist_free(&y);
    onnxq_hist_free(&z);
    onnxq_hist_free(&t);
    onnxq_hist_free(&u);
    free(g);
}
END_TEST

static void range_of(const struct onnxq_hist *h, enum onnxq_calib_method m, enum onnxq_qtype qt, double pct,
                     double *lo, double *hi)
{
    struct onnxq_range_params p;
    onnxq_range_params_init(&p);
    if (pct > 0)
        p.percentile = pct;
    struct onnxq_error err;
    ck_assert_msg(onnxq_range_compute(h, "t", m, qt, &p, lo, hi, &err) == ONNXQ_OK, "%s", err.message);
}

/* Data whose scale grows along the tensor (so later chunks need coarser
 * grids than earlier ones), with NaN/Inf in one place, zeros in runs (as
 * after a ReLU), and a length that is not a multiple of the sample block. */
static float *awkward(size_t n, uint64_t seed)
{
    float *g = gaussian(n, seed);
    for (size_t i = 0; i < n; i++) {
        g[i] *= (float)ldexp(1.0, (int)(i * 12 / n) - 4);
        if ((i / 777) % 3 == 0 && g[i] < 0)
            g[i] = 0;
    }
    g[n / 3] = NAN;
    g[n / 3 + 5] = INFINITY;
    g[n - 2] = -INFINITY;
    return g;
}

static void assert_same_hist(const struct onnxq_hist *a, const struct onnxq_hist *b, const char *what)
{
    ck_assert_msg(onnxq_hist_equal(a, b), "%s: histograms differ (count %llu/%llu, finite %llu/%llu, exp %d/%d)", what,
                  (unsigned long long)a->count, (unsigned long long)b->count, (unsigned long long)a->finite,
                  (unsigned long long)b->finite, a->exp, b->exp);
    ck_assert_uint_eq(onnxq_hist_total(a), a->count);
    ck_assert(a->batches == b->batches && a->avg_min == b->avg_min && a->avg_max == b->avg_max);
    /* sums: float block partials vs the reference's double running sum;
     * sum_sq covers the binned values (count), so it is scaled up to all
     * of them for the bound sqrt(n * sum x^2) >= sum |x| */
    double all_sq = b->sum_sq * ((double)b->finite / (double)(b->count ? b->count : 1));
    double scale = sqrt((double)b->finite * all_sq);
    ck_assert_msg(fabs(a->sum - b->sum) <= 1e-6 * scale, "%s: sum %.9g vs %.9g", what, a->sum, b->sum);
    ck_assert_msg(fabs(a->sum_sq - b->sum_sq) <= 1e-6 * b->sum_sq, "%s: sum_sq %.9g vs %.9g", what, a->sum_sq,
                  b->sum_sq);
}

START_TEST(parallel_sampled_add_matches_reference)
{
    /* The fast path (chunks over a 2-thread pool, 32-bit partials on their
     * own grids, vectorised binning) against the plain reference, exactly:
     * every value (sample 0) and subsampled, big tensors (parallel) and
     * small ones (calling thread), with and without a pool. */
    const size_t sizes[] = {1000003, 150001, 5000, 17};
    const uint64_t samples[] = {0, 65536, 4096, 1};
    struct onnxq_threadpool *pool = onnxq_threadpool_new(2);
    struct onnxq_hist_workspace ws[2];
    struct onnxq_error err;
    ck_assert_int_eq(onnxq_hist_workspace_init(&ws[0], 1024, pool, &err), ONNXQ_OK);
    ck_assert_int_eq(onnxq_hist_workspace_init(&ws[1], 1024, NULL, &err), ONNXQ_OK);
    for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
        size_t n = sizes[si];
        float *g = awkward(n, 100 + si);
        for (size_t k = 0; k < sizeof(samples) / sizeof(samples[0]); k++) {
            struct onnxq_hist ref = new_hist(1024), fast[3] = {new_hist(1024), new_hist(1024), new_hist(1024)};
            /* two batches: the second starts from the grid the first left */
            for (int rep = 0; rep < 2; rep++) {
                const float *x = g + (rep ? n / 2 : 0);
                size_t m = rep ? n - n / 2 : n;
                onnxq_hist_add_reference_sampled(&ref, x, m, ONNXQ_EMA_DEFAULT, samples[k]);
                onnxq_hist_add_sampled(&fast[0], x, m, ONNXQ_EMA_DEFAULT, samples[k], &ws[0]);
                onnxq_hist_add_sampled(&fast[1], x, m, ONNXQ_EMA_DEFAULT, samples[k], &ws[1]);
                onnxq_hist_add_sampled(&fast[2], x, m, ONNXQ_EMA_DEFAULT, samples[k], NULL);
            }
            char what[96];
            for (int f = 0; f < 3; f++) {
                snprintf(what, sizeof(what), "n=%zu sample=%llu variant %d", n, (unsigned long long)samples[k], f);
                assert_same_hist(&fast[f], &ref, what);
            }
            /* chunking does not depend on the pool: bit-identical sums */
            ck_assert(fast[0].sum == fast[1].sum && fast[0].sum_sq == fast[2].sum_sq);
            ck_assert_uint_eq(ref.finite + ref.nan_count + ref.inf_count, n + (n - n / 2));
            ck_assert(ref.nan_count >= 1 && ref.inf_count >= 2);
            if (samples[k] == 0)
                ck_assert_uint_eq(ref.count, ref.finite);
            else if (n / 2 > samples[k])
                /* about `sample` per call: at most sample + one block */
                ck_assert_msg(ref.count <= 2 * (samples[k] + ONNXQ_HIST_SAMPLE_BLOCK) && ref.count >= samples[k] / 2,
                              "n=%zu sample=%llu: %llu binned", n, (unsigned long long)samples[k],
                              (unsigned long long)ref.count);
            onnxq_hist_free(&ref);
            for (int f = 0; f < 3; f++)
                onnxq_hist_free(&fast[f]);
        }
        free(g);
    }
    onnxq_hist_workspace_free(&ws[0]);
    onnxq_hist_workspace_free(&ws[1]);
    onnxq_threadpool_free(pool);
}
END_TEST

START_TEST(sampled_merge_equals_full_run)
{
    /* The subsample depends on positions only: shards merge into exactly the
     * histogram of one run over all batches. */
    float *g = gaussian(8 * 200000, 5);
    for (size_t i = 6 * 200000; i < 8 * 200000; i++)
        g[i] *= 40;
    struct onnxq_hist all = new_hist(2048), a = new_hist(2048), b = new_hist(2048);
    for (int k = 0; k < 8; k++) {
        onnxq_hist_add_sampled(&all, g + k * 200000, 200000, ONNXQ_EMA_DEFAULT, 8192, NULL);
        onnxq_hist_add_sampled(k % 2 ? &a : &b, g + k * 200000, 200000, ONNXQ_EMA_DEFAULT, 8192, NULL);
    }
    struct onnxq_error err;
    ck_assert_int_eq(onnxq_hist_merge(&a, &b, &err), ONNXQ_OK);
    ck_assert(onnxq_hist_equal(&a, &all));
    ck_assert_uint_eq(all.finite, 8 * 200000);
    ck_assert(all.count < all.finite / 20);
    onnxq_hist_free(&all);
    onnxq_hist_free(&a);
    onnxq_hist_free(&b);
    free(g);
}
END_TEST

START_TEST(subsampled_ranges_close_to_full)
{
    /* 40 batches of 500k values (a large activation seen on 40 samples), at
     * the default cap of 65536 per batch (2.6M of 20M values binned), from a
     * Gaussian and a Laplace(1). Tolerances are relative to the full
     * histogram's range, per end. They are sampling error, not bias: the
     * 99.99 and 99.999 percentiles rest on about 260 and 26 binned tail
     * values (Laplace, heavier tail: up to 1.8% and 4.4% off here); the
     * one-sided (uint8) MSE search follows the sparse tail too (5.0% on the
     * Laplace here); the KL threshold grows with the number of binned values
     * (see entropy_on_gaussian_between_percentiles), 2-6% lower here. With
     * more samples the subsample grows and these shrink. */
    const size_t batch = 500000, nb = 40;
    const struct {
        enum onnxq_calib_method m;
        double pct, tol;
    } checks[] = {
        {ONNXQ_CALIB_PERCENTILE, 99.99, 0.03},
        {ONNXQ_CALIB_PERCENTILE, 99.999, 0.08},
        {ONNXQ_CALIB_MSE, 0, 0.08},
        {ONNXQ_CALIB_ENTROPY, 0, 0.10},
    };
    for (int dist = 0; dist < 2; dist++) {
        float *x = dist ? laplace(batch * nb, 1.0, 77) : gaussian(batch * nb, 76);
        struct onnxq_hist full = new_hist(2048), sub = new_hist(2048);
        for (size_t k = 0; k < nb; k++) {
            onnxq_hist_add(&full, x + k * batch, batch, ONNXQ_EMA_DEFAULT);
            onnxq_hist_add_sampled(&sub, x + k * batch, batch, ONNXQ_EMA_DEFAULT, ONNXQ_HIST_DEFAULT_SAMPLE, NULL);
        }
        ck_assert(sub.finite == full.finite && sub.min == full.min && sub.max == full.max);
        for (size_t c = 0; c < sizeof(checks) / sizeof(checks[0]); c++) {
            for (int q = 0; q < ONNXQ_QTYPE_COUNT; q++) {
                double flo, fhi, slo, shi;
                range_of(&full, checks[c].m, (enum onnxq_qtype)q, checks[c].pct, &flo, &fhi);
                range_of(&sub, checks[c].m, (enum onnxq_qtype)q, checks[c].pct, &slo, &shi);
                double dev = fmax(fabs(shi - fhi) / fabs(fhi), flo != 0 ? fabs(slo - flo) / fabs(flo) : 0);
                fprintf(stderr, "subsampled %s %s %s %g: full [%g, %g] sampled [%g, %g] dev %.4f\n",
                        dist ? "laplace" : "gauss", onnxq_calib_methods[checks[c].m].name, onnxq_qtype_names[q],
                        checks[c].pct, flo, fhi, slo, shi, dev);
                ck_assert_msg(dev <= checks[c].tol, "%s %s: subsampled range [%g, %g] vs full [%g, %g] (%.3f > %.3f)",
                              onnxq_calib_methods[checks[c].m].name, onnxq_qtype_names[q], slo, shi, flo, fhi, dev,
                              checks[c].tol);
            }
        }
        onnxq_hist_free(&full);
        onnxq_hist_free(&sub);
        free(x);
    }
}
END_TEST

START_TEST(minmax_variants_hand_computed)
{
    struct onnxq_hist h = new_hist(64);
    const float b1[] = {-1, 2}, b2[] = {-3, 4}, b3[] = {0, 6};
    onnxq_hist_add(&h, b1, 2, 0.5);
    onnxq_hist_add(&h, b2, 2, 0.5);
    onnxq_hist_add(&h, b3, 2, 0.5);
    double lo, hi;
    range_of(&h, ONNXQ_CALIB_MINMAX, ONNXQ_QTYPE_UINT8, 0, &lo, &hi);
    ck_assert(lo == -3 && hi == 6);
    range_of(&h, ONNXQ_CALIB_AVG_MINMAX, ONNXQ_QTYPE_UINT8, 0, &lo, &hi);
    ck_assert(fabs(lo - (-4.0 / 3)) < 1e-12 && fabs(hi - 4.0) < 1e-12);
    /* EMA with c = 0.5: min -1 -> -2 -> -1; max 2 -> 3 -> 4.5 */
    range_of(&h, ONNXQ_CALIB_EMA, ONNXQ_QTYPE_UINT8, 0, &lo, &hi);
    ck_assert(fabs(lo - (-1.0)) < 1e-12 && fabs(hi - 4.5) < 1e-12);
    onnxq_hist_free(&h);
}
END_TEST

START_TEST(percentile_matches_gaussian_quantiles)
{
    size_t n = 4000000;
    float *g = gaussian(n, 42);
    struct onnxq_hist h = new_hist(2048);
    for (size_t i = 0; i < n; i += 100000)
        onnxq_hist_add(&h, g + i, 100000, ONNXQ_EMA_DEFAULT);
    double lo, hi;
    /* |x| quantile 99.9%: Phi^-1(0.9995) = 3.2905 */
    range_of(&h, ONNXQ_CALIB_PERCENTILE, ONNXQ_QTYPE_INT8, 99.9, &lo, &hi);
    ck_assert_msg(fabs(hi - 3.2905) < 0.03, "int8 99.9 percentile %g, analytic 3.2905", hi);
    ck_assert(lo == -hi);
    /* signed quantiles 0.1% and 99.9%: -+3.0902 */
    range_of(&h, ONNXQ_CALIB_PERCENTILE, ONNXQ_QTYPE_UINT8, 99.9, &lo, &hi);
    ck_assert_msg(fabs(hi - 3.0902) < 0.03 && fabs(lo + 3.0902) < 0.03, "uint8 percentile [%g, %g]", lo, hi);
    /* 99%: 2.3263 */
    range_of(&h, ONNXQ_CALIB_PERCENTILE, ONNXQ_QTYPE_UINT8, 99.0, &lo, &hi);
    ck_assert_msg(fabs(hi - 2.3263) < 0.01, "99%% quantile %g", hi);
    onnxq_hist_free(&h);
    free(g);
}
END_TEST

START_TEST(mse_clip_for_laplace_is_about_9_9_b)
{
    size_t n = 4000000;
    double b = 0.37;
    float *x = laplace(n, b, 5);
    struct onnxq_hist h = new_hist(2048);
    onnxq_hist_add(&h, x, n, ONNXQ_EMA_DEFAULT);
    double lo, hi;
    range_of(&h, ONNXQ_CALIB_MSE, ONNXQ_QTYPE_INT8, 0, &lo, &hi);
    /* Known result (Banner et al.): the MSE-optimal 8-bit clip of Laplace(b)
     * is about 9.89 b. Our step is T/127 instead of 2T/256: within 4 %. */
    ck_assert_msg(fabs(hi / b - 9.89) < 0.4, "mse clip %g b, expected about 9.89 b", hi / b);
    /* the chosen clip beats minmax on the method's own objective */
    double mlo, mhi;
    range_of(&h, ONNXQ_CALIB_MINMAX, ONNXQ_QTYPE_INT8, 0, &mlo, &mhi);
    ck_assert(onnxq_range_expected_mse(&h, lo, hi, ONNXQ_QTYPE_INT8) <
              onnxq_range_expected_mse(&h, mlo, mhi, ONNXQ_QTYPE_INT8));
    /* uint8 on a non-negative (ReLU-like) distribution clips only the top */
    for (size_t i = 0; i < n; i++)
        x[i] = fabsf(x[i]);
    struct onnxq_hist r = new_hist(2048);
    onnxq_hist_add(&r, x, n, ONNXQ_EMA_DEFAULT);
    range_of(&r, ONNXQ_CALIB_MSE, ONNXQ_QTYPE_UINT8, 0, &lo, &hi);
    ck_assert_msg(lo <= r.min + 1e-6, "uint8 mse lo %g (min %g): nothing to clip below", lo, r.min);
    ck_assert_msg(hi > 5 * b && hi < r.max, "uint8 mse clip %g", hi);
    onnxq_hist_free(&h);
    onnxq_hist_free(&r);
    free(x);
}
END_TEST

START_TEST(entropy_on_gaussian_between_percentiles)
{
    /* The KL threshold grows with the sample count (a sparse tail is cheap
     * for Q to represent): a plain numpy version of the same search gives
     * 3.65 / 4.43 / 4.79 sigma at 2e4 / 2e5 / 2e6 samples. At 2e5 it lies
     * between the 99.9 and 99.999 percentiles of |x|. */
    size_t n = 200000;
    float *g = gaussian(n, 9);
    struct onnxq_hist h = new_hist(2048);
    onnxq_hist_add(&h, g, n, ONNXQ_EMA_DEFAULT);
    double lo, hi, p3, p5;
    range_of(&h, ONNXQ_CALIB_ENTROPY, ONNXQ_QTYPE_INT8, 0, &lo, &hi);
    range_of(&h, ONNXQ_CALIB_PERCENTILE, ONNXQ_QTYPE_INT8, 99.9, &lo, &p3);
    range_of(&h, ONNXQ_CALIB_PERCENTILE, ONNXQ_QTYPE_INT8, 99.999, &lo, &p5);
    ck_assert_msg(hi >= p3 && hi <= p5, "entropy threshold %g outside [%g, %g]", hi, p3, p5);
    /* uint8 (asymmetric, two-sided search) stays in the same band on each side */
    double ulo, uhi;
    range_of(&h, ONNXQ_CALIB_ENTROPY, ONNXQ_QTYPE_UINT8, 0, &ulo, &uhi);
    ck_assert_msg(uhi > 2.5 && uhi <= h.max && ulo < -2.5 && ulo >= h.min, "uint8 entropy [%g, %g]", ulo, uhi);
    onnxq_hist_free(&h);
    free(g);
}
END_TEST

START_TEST(qparams_hand_computed)
{
    float s;
    int32_t zp;
    onnxq_qparams_from_range(-1.0, 3.0, ONNXQ_QTYPE_UINT8, &s, &zp);
    ck_assert_float_eq_tol(s, 4.0f / 255, 1e-9);
    ck_assert_int_eq(zp, 64); /* round(63.75) */
    onnxq_qparams_from_range(-2.0, 1.0, ONNXQ_QTYPE_INT8, &s, &zp);
    ck_assert_float_eq_tol(s, 2.0f / 127, 1e-9);
    ck_assert_int_eq(zp, 0);
    onnxq_qparams_from_range(1.0, 3.0, ONNXQ_QTYPE_UINT8, &s, &zp); /* widened to include 0 */
    ck_assert_float_eq_tol(s, 3.0f / 255, 1e-9);
    ck_assert_int_eq(zp, 0);
    onnxq_qparams_from_range(-5.0, -1.0, ONNXQ_QTYPE_UINT8, &s, &zp);
    ck_assert_int_eq(zp, 255);
    onnxq_qparams_from_range(0.0, 0.0, ONNXQ_QTYPE_UINT8, &s, &zp); /* minimum width */
    ck_assert(s > 0 && zp == 0);
    ck_assert_float_eq_tol(s, (float)(ONNXQ_RANGE_MIN_WIDTH / 255), 1e-15);
}
END_TEST

START_TEST(all_nan_tensor_is_an_error)
{
    struct onnxq_hist h = new_hist(64);
    const float x[] = {NAN, NAN, INFINITY};
    onnxq_hist_add(&h, x, 3, ONNXQ_EMA_DEFAULT);
    double lo = 0, hi = 0;
    struct onnxq_error err;
    for (int m = 0; m < ONNXQ_CALIB_METHOD_COUNT; m++) {
        ck_assert_int_eq(onnxq_range_compute(&h, "conv1_out", (enum onnxq_calib_method)m, ONNXQ_QTYPE_UINT8, NULL,
                                             &lo, &hi, &err),
                         ONNXQ_E_DATA);
        ck_assert_msg(strstr(err.message, "conv1_out") && strstr(err.message, "NaN"), "%s", err.message);
    }
    enum onnxq_calib_method m;
    ck_assert_int_eq(onnxq_calib_method_parse("entropy", &m, &err), ONNXQ_OK);
    ck_assert_int_eq(m, ONNXQ_CALIB_ENTROPY);
    ck_assert_int_eq(onnxq_calib_method_parse("kl", &m, &err), ONNXQ_E_INVALID_ARG);
    onnxq_hist_free(&h);
}
END_TEST


/* What kernels report for calibration (ops/op.h: ctx->stats), on tensors
 * large enough for their parallel, blocked paths (3 threads): the
 * statistics must equal a plain scan of the output, the captured subsample
 * the blocks picked straight from it, and the output must not change.
 * Extremes and counts exact; sums are float partial sums against a double
 * reference. */
#define KSTAT_SAMPLE 4096
#define KSTAT_SUM_RTOL 1e-5

static void check_kernel_stats(const char *what, const char *op, int64_t opset, const struct ot_attrs *at, size_t nin,
                               const struct onnxq_tensor *const *in, bool consts,
                               const struct onnxq_vstats *const *in_stats, bool expect_sample,
                               struct onnxq_threadpool *pool, struct onnxq_vstats *out_stats)
{
    struct onnxq_tensor plain, y;
    struct ot_run how = {.pool = pool, .consts = consts};
    ck_assert_msg(ot_run_op_how(op, opset, at, nin, in, 1, &plain, &how) == ONNXQ_OK, "%s: %s", what, ot_last_msg());
    size_t n = plain.nbytes / sizeof(float), k = onnxq_sample_window(n, KSTAT_SAMPLE);
    ck_assert_msg(k > 1, "%s: output too small to sample", what);
    size_t m = onnxq_sample_size(n, k);
    float *samp = aligned_alloc(64, (m + 15) / 16 * 16 * sizeof(float)); /* as the sink requires */
    struct onnxq_vstats_sink sink = {0};
    how.stats = &sink;
    how.sample_window = k;
    how.sample = samp;
    how.in_stats = in_stats;
    ck_assert_msg(ot_run_op_how(op, opset, at, nin, in, 1, &y, &how) == ONNXQ_OK, "%s: %s", what, ot_last_msg());
    ck_assert_msg(y.nbytes == plain.nbytes && memcmp(y.data, plain.data, y.nbytes) == 0,
                  "%s: gathering statistics changed the output", what);
    struct onnxq_vstats got, ref;
    ck_assert_msg(onnxq_vstats_sink_total(&sink, &got), "%s: the kernel did not report statistics over its output",
                  what);
    const float *x = y.data;
    onnxq_vstats_init(&ref);
    onnxq_vstats_scan_ref(&ref, x, n);
    double abs_sum = 0;
    for (size_t i = 0; i < n; i++)
        abs_sum += isfinite(x[i]) ? fabs((double)x[i]) : 0;
    ck_assert_msg(got.finite == ref.finite && got.nan == ref.nan && got.inf == ref.inf, "%s: counts differ", what);
    ck_assert_msg(got.min == ref.min && got.max == ref.max, "%s: min/max %g/%g vs %g/%g", what, got.min, got.max,
                  ref.min, ref.max);
    ck_assert_msg(fabs(got.sum - ref.sum) <= KSTAT_SUM_RTOL * (abs_sum > 1 ? abs_sum : 1), "%s: sum %.9g vs %.9g",
                  what, got.sum, ref.sum);
    const float *v;
    size_t vm;
    bool captured = onnxq_vstats_sink_sample(&sink, &v, &vm);
    ck_assert_msg(captured == expect_sample, "%s: subsample %s", what, captured ? "captured" : "not captured");
    if (captured) {
        const size_t BL = ONNXQ_SAMPLE_BLOCK;
        size_t at_ = 0;
        for (size_t w = 0; w * k * BL < n; w++) {
            size_t b0 = (w * k + onnxq_sample_pick(w, k)) * BL;
            for (size_t i = b0; i < b0 + BL && i < n; i++, at_++)
                ck_assert_msg(at_ < vm && memcmp(&v[at_], &x[i], sizeof(float)) == 0,
                              "%s: subsample value %zu differs", what, at_);
        }
        ck_assert_uint_eq(at_, vm);
    }
    if (out_stats)
        *out_stats = got;
    onnxq_vstats_sink_free(&sink);
    free(samp);
    onnxq_tensor_clear(&plain);
    onnxq_tensor_clear(&y);
}

START_TEST(kernels_report_exact_statistics)
{
    struct onnxq_threadpool *pool = onnxq_threadpool_new(3);
    const int64_t C = 24, H = 96, W = 96, xd[4] = {1, C, H, W};
    size_t n = (size_t)(C * H * W);
    float *xv = gaussian(n, 7), *zv = gaussian(n, 8);
    for (size_t i = 0; i < n; i++)
        zv[i] = fabsf(zv[i]) * 3;
    struct onnxq_tensor x = ot_f32(4, xd, xv), z = ot_f32(4, xd, zv);
    struct onnxq_vstats xs, zs;
    onnxq_vstats_init(&xs);
    onnxq_vstats_scan_ref(&xs, xv, n);
    onnxq_vstats_init(&zs);
    onnxq_vstats_scan_ref(&zs, zv, n);
    /* convolutions: 1x1 (GEMM), 3x3 (Winograd), depthwise, 3x3 stride 2 (im2col) */
    struct {
        const char *what;
        int64_t m, group, k, stride;
    } convs[] = {{"Conv 1x1", 32, 1, 1, 1}, {"Conv 3x3", 16, 1, 3, 1}, {"Conv depthwise", 24, 24, 3, 1},
                 {"Conv 3x3 stride 2", 16, 1, 3, 2}};
    for (size_t c = 0; c < sizeof(convs) / sizeof(convs[0]); c++) {
        int64_t cg = C / convs[c].group, wd[4] = {convs[c].m, cg, convs[c].k, convs[c].k}, bd[1] = {convs[c].m};
        size_t nw = (size_t)(wd[0] * wd[1] * wd[2] * wd[3]);
        float *wv = gaussian(nw, 20 + c), *bv = gaussian((size_t)convs[c].m, 30 + c);
        for (size_t i = 0; i < nw; i++)
            wv[i] *= 0.2f;
        struct onnxq_tensor w = ot_f32(4, wd, wv), b = ot_f32(1, bd, bv);
        struct ot_attrs at = {0};
        int64_t pads[4] = {convs[c].k / 2, convs[c].k / 2, convs[c].k / 2, convs[c].k / 2};
        int64_t strides[2] = {convs[c].stride, convs[c].stride};
        ot_ints(&at, "pads", 4, pads);
        ot_ints(&at, "strides", 2, strides);
        ot_int(&at, "group", convs[c].group);
        const struct onnxq_tensor *in[3] = {&x, &w, &b};
        check_kernel_stats(convs[c].what, "Conv", 13, &at, 3, in, true, NULL, true, pool, NULL);
        onnxq_tensor_clear(&w);
        onnxq_tensor_clear(&b);
        free(wv);
        free(bv);
    }
    /* elementwise: same shapes, broadcast, unary (NaN and Inf included) */
    int64_t cd[4] = {1, C, 1, 1};
    float cv[24];
    for (int i = 0; i < 24; i++)
        cv[i] = 0.1f * (float)i - 1;
    struct onnxq_tensor cb = ot_f32(4, cd, cv);
    const struct onnxq_tensor *xz[2] = {&x, &z}, *xc[2] = {&x, &cb}, *x1[1] = {&x};
    check_kernel_stats("Add", "Add", 14, NULL, 2, xz, false, NULL, true, pool, NULL);
    check_kernel_stats("Mul broadcast", "Mul", 14, NULL, 2, xc, false, NULL, true, pool, NULL);
    check_kernel_stats("HardSwish", "HardSwish", 14, NULL, 1, x1, false, NULL, true, pool, NULL);
    xv[5] = NAN;
    xv[n - 3] = INFINITY;
    struct onnxq_tensor xn = ot_f32(4, xd, xv);
    const struct onnxq_tensor *xnz[2] = {&xn, &z}, *x1r[1] = {&x};
    struct onnxq_vstats rs;
    check_kernel_stats("Relu", "Relu", 14, NULL, 1, x1r, false, NULL, true, pool, NULL);
    check_kernel_stats("Add with NaN/Inf", "Add", 14, NULL, 2, xnz, false, NULL, true, pool, &rs);
    ck_assert_uint_eq(rs.nan, 1);
    ck_assert_uint_eq(rs.inf, 1);
    /* Resize nearest and linear, x2 */
    float sc[4] = {1, 1, 2, 2};
    int64_t sd[1] = {4};
    struct onnxq_tensor scales = ot_f32(1, sd, sc);
    const struct onnxq_tensor *rin[3] = {&x, NULL, &scales};
    struct ot_attrs an = {0}, al = {0};
    ot_str(&an, "mode", "nearest");
    ot_str(&al, "mode", "linear");
    check_kernel_stats("Resize nearest", "Resize", 13, &an, 3, rin, false, NULL, true, pool, NULL);
    check_kernel_stats("Resize linear", "Resize", 13, &al, 3, rin, false, NULL, true, pool, NULL);
    /* ops that only move values report their inputs' statistics */
    const struct onnxq_vstats *sxz[2] = {&xs, &zs}, *sx[1] = {&xs};
    struct ot_attrs ac = {0}, ad = {0}, ap = {0};
    ot_int(&ac, "axis", 1);
    ot_int(&ad, "blocksize", 2);
    int64_t perm[4] = {0, 2, 3, 1};
    ot_ints(&ap, "perm", 4, perm);
    check_kernel_stats("Concat", "Concat", 13, &ac, 2, xz, false, sxz, false, pool, NULL);
    check_kernel_stats("DepthToSpace", "DepthToSpace", 13, &ad, 1, x1, false, sx, false, pool, NULL);
    check_kernel_stats("Transpose", "Transpose", 13, &ap, 1, x1, false, sx, false, pool, NULL);
    onnxq_tensor_clear(&x);
    onnxq_tensor_clear(&z);
    onnxq_tensor_clear(&xn);
    onnxq_tensor_clear(&cb);
    onnxq_tensor_clear(&scales);
    free(xv);
    free(zv);
    onnxq_threadpool_free(pool);
}
END_TEST

/* Deferred binning (the pool's workers bin captured subsamples between
 * runs) gives the same histograms as binning in the hook. Two observers see
 * the same tensors: one immediately, one through onnxq_observer_defer with
 * subsamples handed over as the executor would. */
START_TEST(deferred_binning_equals_immediate)
{
    struct onnxq_error err;
    struct onnxq_threadpool *pool = onnxq_threadpool_new(3);
    struct onnxq_observer a, b;
    ck_assert_int_eq(onnxq_observer_init(&a, 2048, ONNXQ_EMA_DEFAULT, &err), ONNXQ_OK);
    ck_assert_int_eq(onnxq_observer_init(&b, 2048, ONNXQ_EMA_DEFAULT, &err), ONNXQ_OK);
    a.hist_sample = b.hist_sample = 4096;
    ck_assert_int_eq(onnxq_observer_set_threadpool(&b, pool, &err), ONNXQ_OK);
    ck_assert_int_eq(onnxq_observer_defer(&b, pool, (size_t)1 << 20, &err), ONNXQ_OK);
    const size_t n = 300000;
    for (int run = 0; run < 6; run++) {
        onnxq_observer_wait(&b);
        for (int t = 0; t < 5; t++) {
            float *g = gaussian(n, 1000 + (uint64_t)(run * 10 + t));
            for (size_t i = 0; i < n; i++)
                g[i] = t % 2 ? fmaxf(g[i], 0) * (float)(1 + run) : g[i]; /* ReLU-like, growing */
            if (run == 3 && t == 1)
                g[77] = NAN;
            struct onnxq_tensor x = {.dtype = ONNXQ_DT_FLOAT, .ndim = 1, .dims = {(int64_t)n}, .data = g,
                                     .nbytes = n * 4};
            char name[16];
            snprintf(name, sizeof(name), "t%d", t);
            ck_assert_int_eq(onnxq_observer_add(&a, name, &x, &err), ONNXQ_OK);
            /* through the node hook, which defers */
            char opt[] = "Test";
            struct onnxq_node node = {.name = name, .op_type = opt, .n_outputs = 1};
            char *outs[1] = {name};
            node.outputs = outs;
            struct onnxq_tensor *op[1] = {&x};
            ck_assert_int_eq(onnxq_observer_hook(&b, &node, op, 1), 0);
            free(g);
        }
        ck_assert_uint_gt(b.n_jobs, 0);
        onnxq_observer_start(&b);
    }
    onnxq_observer_wait(&b);
    ck_assert_uint_eq(a.n, b.n);
    for (size_t i = 0; i < a.n; i++) {
        const struct onnxq_observed *rb = onnxq_observer_find(&b, a.t[i].name);
        ck_assert_ptr_nonnull(rb);
        assert_same_hist(&a.t[i].hist, &rb->hist, a.t[i].name);
        ck_assert(a.t[i].hist.avg_min == rb->hist.avg_min && a.t[i].hist.ema_max == rb->hist.ema_max);
    }
    onnxq_observer_clear(&a);
    onnxq_observer_clear(&b);
    onnxq_threadpool_free(pool);
}
END_TEST

/* The calibrate loop on an executor (kernel statistics, captured
 * subsamples, deferred binning), with and without onnxq_observer_prepare
 * before the first run: the histograms are the same, and the prepared
 * observer took its histograms' counts from the spares it made. */
static void observe_runs(struct onnxq_context *ctx, struct onnxq_model *m, bool prepare, struct onnxq_observer *o)
{
    struct onnxq_error err;
    struct onnxq_exec *e = NULL;
    ck_assert_int_eq(onnxq_exec_new(ctx, m, &e, &err), ONNXQ_OK);
    struct onnxq_threadpool *pool = onnxq_exec_threadpool(e);
    ck_assert_int_eq(onnxq_threadpool_size(pool), 3);
    ck_assert_int_eq(onnxq_observer_init(o, 2048, ONNXQ_EMA_DEFAULT, &err), ONNXQ_OK);
    o->hist_sample = 4096;
    o->exec = e;
    onnxq_exec_set_hook(e, onnxq_observer_hook, o);
    onnxq_exec_set_output_stats(e, true);
    ck_assert_int_eq(onnxq_observer_defer(o, pool, (size_t)1 << 20, &err), ONNXQ_OK);
    ck_assert_int_eq(onnxq_observer_set_threadpool(o, pool, &err), ONNXQ_OK);
    if (prepare) {
        onnxq_observer_prepare(o, e);
        onnxq_observer_wait(o);
        /* x, r, y (and nothing else): three histograms made ready */
        ck_assert_uint_eq(o->n_spare, 3);
        ck_assert_uint_ge(onnxq_exec_sample_bound(e, 4096), 2 * 4096);
    }
    const int64_t d[4] = {1, 8, 96, 96};
    const size_t n = 8 * 96 * 96;
    for (int run = 0; run < 4; run++) {
        float *g = gaussian(n, 500 + (uint64_t)run);
        for (size_t i = 0; i < n; i++)
            g[i] *= (float)(1 + run); /* growing ranges: the grids coarsen */
        struct onnxq_tensor x = ot_f32(4, d, g), y = {0};
        const struct onnxq_tensor *in[1] = {&x};
        onnxq_observer_wait(o);
        onnxq_exec_set_output_sample(e, o->hist_sample);
        ck_assert_int_eq(onnxq_observer_add(o, "x", &x, &err), ONNXQ_OK);
        ck_assert_int_eq(onnxq_exec_run(e, in, &y, &err), ONNXQ_OK);
        if (prepare && run == 0)
            ck_assert_uint_eq(o->n_spare, 0); /* x, r and y took the three */
        onnxq_observer_start(o);
        onnxq_tensor_clear(&y);
        onnxq_tensor_clear(&x);
        free(g);
    }
    onnxq_observer_wait(o);
    o->defer_pool = NULL;
    onnxq_observer_set_threadpool(o, NULL, NULL);
    o->exec = NULL;
    onnxq_exec_free(e);
}

START_TEST(prepared_first_run_equals_unprepared)
{
    struct onnxq_error err;
    struct onnxq_context *ctx = NULL;
    ck_assert_int_eq(onnxq_context_new(&ctx, &err), ONNXQ_OK);
    ck_assert_int_eq(onnxq_context_set_threads(ctx, 3, &err), ONNXQ_OK);
    struct onnxq_graph *g = onnxq_graph_new();
    ot_graph_input(g, "x", ONNXQ_DT_FLOAT);
    ot_graph_output(g, "y", ONNXQ_DT_FLOAT, -1, NULL);
    const char *rin[1] = {"x"}, *rout[1] = {"r"}, *ain[2] = {"r", "x"}, *aout[1] = {"y"};
    ot_graph_node(g, "Relu", 1, rin, 1, rout);
    ot_graph_node(g, "Add", 2, ain, 1, aout);
    struct onnxq_model *m = ot_model(ctx, g, 14);
    struct onnxq_observer a, b;
    observe_runs(ctx, m, false, &a);
    observe_runs(ctx, m, true, &b);
    ck_assert_uint_eq(a.n, 3);
    ck_assert_uint_eq(b.n, 3);
    for (size_t i = 0; i < a.n; i++) {
        const struct onnxq_observed *rb = onnxq_observer_find(&b, a.t[i].name);
        ck_assert_ptr_nonnull(rb);
        assert_same_hist(&a.t[i].hist, &rb->hist, a.t[i].name);
        /* the subsample was binned, not every value */
        ck_assert_uint_lt(a.t[i].hist.count, a.t[i].hist.finite);
    }
    onnxq_observer_clear(&a);
    onnxq_observer_clear(&b);
    onnxq_model_free(m);
    onnxq_context_free(ctx);
}
END_TEST

/* Observe the same "tensors" over 40 batches, as one run and as two
 * halves; write both halves as tables, read them back, merge: the merged
 * table must equal the full run (stats, histograms and every range). */
static void feed(struct onnxq_observer *o, int from, int to)
{
    struct onnxq_error err;
    for (int b = from; b < to; b++) {
        float *g = gaussian(5000, 100 + (uint64_t)b);
        struct onnxq_tensor t = {.dtype = ONNXQ_DT_FLOAT, .ndim = 1, .dims = {5000}, .data = g, .nbytes = 5000 * 4};
        ck_assert_int_eq(onnxq_observer_add(o, "act/a", &t, &err), ONNXQ_OK);
        for (int i = 0; i < 5000; i++)
            g[i] = fabsf(g[i]) * (float)(1 + b % 7); /* ReLU-like, growing range */
        ck_assert_int_eq(onnxq_observer_add(o, "act/b", &t, &err), ONNXQ_OK);
        free(g);
    }
}

START_TEST(table_merge_equals_full_run)
{
    struct onnxq_error err;
    struct onnxq_observer full, h1, h2;
    ck_assert_int_eq(onnxq_observer_init(&full, 2048, ONNXQ_EMA_DEFAULT, &err), ONNXQ_OK);
    ck_assert_int_eq(onnxq_observer_init(&h1, 2048, ONNXQ_EMA_DEFAULT, &err), ONNXQ_OK);
    ck_assert_int_eq(onnxq_observer_init(&h2, 2048, ONNXQ_EMA_DEFAULT, &err), ONNXQ_OK);
    feed(&full, 0, 40);
    feed(&h1, 0, 20);
    feed(&h2, 20, 40);
    unsigned all = (1u << ONNXQ_CALIB_METHOD_COUNT) - 1;
    struct onnxq_calib_table tf, t1, t2, r1, r2, merged;
    ck_assert_int_eq(onnxq_calib_table_build(&full, "m.onnx", 40, all, NULL, &tf, NULL, &err), ONNXQ_OK);
    ck_assert_int_eq(onnxq_calib_table_build(&h1, "m.onnx", 20, all, NULL, &t1, NULL, &err), ONNXQ_OK);
    ck_assert_int_eq(onnxq_calib_table_build(&h2, "m.onnx", 20, all, NULL, &t2, NULL, &err), ONNXQ_OK);
    char *dir = tu_mkdtemp();
    char p1[4096], p2[4096];
    snprintf(p1, sizeof(p1), "%s/a.json", dir);
    snprintf(p2, sizeof(p2), "%s/b.json", dir);
    ck_assert_int_eq(onnxq_calib_table_write(&t1, p1, true, &err), ONNXQ_OK);
    ck_assert_int_eq(onnxq_calib_table_write(&t2, p2, true, &err), ONNXQ_OK);
    ck_assert_msg(onnxq_calib_table_read(p1, &r1, &err) == ONNXQ_OK, "%s", err.message);
    ck_assert_msg(onnxq_calib_table_read(p2, &r2, &err) == ONNXQ_OK, "%s", err.message);
    ck_assert_int_eq(onnxq_calib_table_merge(&r1, &r2, &merged, &err), ONNXQ_OK);
    ck_assert_uint_eq(merged.n, 2);
    ck_assert_uint_eq(merged.samples, 40);
    for (size_t i = 0; i < tf.n; i++) {
        const struct onnxq_calib_entry *a = &tf.e[i], *b = onnxq_calib_table_find(&merged, a->name);
        ck_assert_ptr_nonnull(b);
        ck_assert(onnxq_hist_equal(&a->hist, &b->hist)); /* counts, min, max, NaN: exact */
        ck_assert(a->hist.min == b->hist.min && a->hist.max == b->hist.max);
        for (int q = 0; q < ONNXQ_QTYPE_COUNT; q++) {
            for (int m = 0; m < ONNXQ_CALIB_METHOD_COUNT; m++) {
                if (m == ONNXQ_CALIB_EMA)
                    continue; /* EMA depends on order: merged as a weighted mean */
                ck_assert(a->has_range[q][m] && b->has_range[q][m]);
                /* avg_minmax is a mean of 20+20 batch values: equal to rounding */
                double tol = m == ONNXQ_CALIB_AVG_MINMAX ? 1e-12 : 0;
                ck_assert_msg(fabs(a->lo[q][m] - b->lo[q][m]) <= tol && fabs(a->hi[q][m] - b->hi[q][m]) <= tol,
                              "%s %s %s: [%g, %g] vs [%g, %g]", a->name, onnxq_qtype_names[q],
                              onnxq_calib_methods[m].name, a->lo[q][m], a->hi[q][m], b->lo[q][m], b->hi[q][m]);
            }
        }
    }
    /* a table without histograms reads back with its stored ranges */
    struct onnxq_calib_table r3;
    ck_assert_int_eq(onnxq_calib_table_write(&tf, p1, false, &err), ONNXQ_OK);
    ck_assert_int_eq(onnxq_calib_table_read(p1, &r3, &err), ONNXQ_OK);
    const struct onnxq_calib_entry *e3 = onnxq_calib_table_find(&r3, "act/b");
    double lo, hi;
    ck_assert_int_eq(onnxq_calib_entry_range(&r3, e3, ONNXQ_CALIB_ENTROPY, ONNXQ_QTYPE_UINT8, &lo, &hi, &err), ONNXQ_OK);
    const struct onnxq_calib_entry *ef = onnxq_calib_table_find(&tf, "act/b");
    ck_assert(lo == ef->lo[ONNXQ_QTYPE_UINT8][ONNXQ_CALIB_ENTROPY] && hi == ef->hi[ONNXQ_QTYPE_UINT8][ONNXQ_CALIB_ENTROPY]);
    ck_assert(!e3->has_hist);
    onnxq_calib_table_clear(&r3);
    /* a broken file is refused with its name */
    ck_assert_int_eq(tu_write_file(p2, "{\"format\": \"other\"}", 20), 0);
    ck_assert_int_eq(onnxq_calib_table_read(p2, &r3, &err), ONNXQ_E_PARSE);
    ck_assert(strstr(err.message, "b.json") != NULL);
    onnxq_calib_table_clear(&tf);
    onnxq_calib_table_clear(&t1);
    onnxq_calib_table_clear(&t2);
    onnxq_calib_table_clear(&r1);
    onnxq_calib_table_clear(&r2);
    onnxq_calib_table_clear(&merged);
    onnxq_observer_clear(&full);
    onnxq_observer_clear(&h1);
    onnxq_observer_clear(&h2);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("calibration");
    TCase *tc = tcase_create("histogram");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, hand_built_stats_and_bins);
    tcase_add_test(tc, rebinning_keeps_mass_and_is_exact);
    tcase_add_test(tc, optimized_add_matches_reference);
    tcase_add_test(tc, merge_is_exact_commutative_associative);
    tcase_add_test(tc, parallel_sampled_add_matches_reference);
    tcase_add_test(tc, sampled_merge_equals_full_run);
    tcase_add_test(tc, kernels_report_exact_statistics);
    tcase_add_test(tc, deferred_binning_equals_immediate);
    tcase_add_test(tc, prepared_first_run_equals_unprepared);
    suite_add_tcase(s, tc);
    TCase *tr = tcase_create("ranges");
    tcase_set_timeout(tr, 120);
    tcase_add_test(tr, minmax_variants_hand_computed);
    tcase_add_test(tr, percentile_matches_gaussian_quantiles);
    tcase_add_test(tr, mse_clip_for_laplace_is_about_9_9_b);
    tcase_add_test(tr, entropy_on_gaussian_between_percentiles);
    tcase_add_test(tr, subsampled_ranges_close_to_full);
    tcase_add_test(tr, qparams_hand_computed);
    tcase_add_test(tr, all_nan_tensor_is_an_error);
    tcase_add_test(tr, table_merge_equals_full_run);
    suite_add_tcase(s, tr);
    return tu_run_suite(s);
}
