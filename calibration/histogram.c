#include "calibration/histogram.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

enum onnxq_status onnxq_hist_init(struct onnxq_hist *h, uint32_t bins, struct onnxq_error *err)
{
    memset(h, 0, sizeof(*h));
    if (bins < 16 || bins > (1u << 24) || (bins & (bins - 1)))
        return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "histogram bins must be a power of two between 16 and 2^24 (got %u)",
                          bins);
    h->counts = calloc(2 * (size_t)bins, sizeof(uint64_t));
    if (!h->counts)
        return onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory for a histogram of %u bins", bins);
    h->bins = bins;
    onnxq_hist_reset(h);
    return ONNXQ_OK;
}

void onnxq_hist_reset(struct onnxq_hist *h)
{
    uint64_t *c = h->counts;
    uint32_t b = h->bins;
    if (c)
        memset(c, 0, 2 * (size_t)b * sizeof(uint64_t));
    memset(h, 0, sizeof(*h));
    h->counts = c;
    h->bins = b;
    h->exp = ONNXQ_HIST_MIN_EXP;
    h->min = INFINITY;
    h->max = -INFINITY;
}

void onnxq_hist_free(struct onnxq_hist *h)
{
    if (!h)
        return;
    free(h->counts);
    h->counts = NULL;
}

double onnxq_hist_width(const struct onnxq_hist *h)
{
    return ldexp(1.0, h->exp);
}

double onnxq_hist_edge(const struct onnxq_hist *h, int64_t i)
{
    return ldexp((double)(i - (int64_t)h->bins), h->exp);
}

uint64_t onnxq_hist_total(const struct onnxq_hist *h)
{
    uint64_t t = 0;
    for (size_t i = 0; i < 2 * (size_t)h->bins; i++)
        t += h->counts[i];
    return t;
}

/* floor(a / 2^k) for signed a. */
static int64_t floor_shift(int64_t a, int k)
{
    if (k >= 62)
        return a < 0 ? -1 : 0;
    int64_t d = (int64_t)1 << k;
    return a >= 0 ? a / d : -((-a + d - 1) / d);
}

/* Coarsen the grid by 2^k: bin i moves into bin B + floor((i - B) / 2^k). */
static void coarsen(struct onnxq_hist *h, int k)
{
    if (k <= 0)
        return;
    int64_t B = h->bins;
    uint64_t *c = h->counts;
    /* A bin's target is at or nearer the centre than the bin itself, so
     * walking each half from the centre outwards empties every target slot
     * of its old content before anything is added into it. */
    for (int64_t i = B - 1; i >= 0; i--) {
        int64_t j = B + floor_shift(i - B, k);
        if (j != i) {
            c[j] += c[i];
            c[i] = 0;
        }
    }
    for (int64_t i = B; i < 2 * B; i++) {
        int64_t j = B + floor_shift(i - B, k);
        if (j != i) {
            c[j] += c[i];
            c[i] = 0;
        }
    }
    h->exp += k;
}

/* Smallest k >= 0 such that bins * 2^(exp+k) > amax. */
static int needed_growth(const struct onnxq_hist *h, double amax)
{
    int k = 0;
    while (ldexp((double)h->bins, h->exp + k) <= amax)
        k++;
    return k;
}

static void update_batch_stats(struct onnxq_hist *h, double bmin, double bmax, double ema)
{
    if (h->batches == 0) {
        h->avg_min = bmin;
        h->avg_max = bmax;
        h->ema_min = bmin;
        h->ema_max = bmax;
    } else {
        double n = (double)h->batches;
        h->avg_min += (bmin - h->avg_min) / (n + 1);
        h->avg_max += (bmax - h->avg_max) / (n + 1);
        h->ema_min = ema * bmin + (1 - ema) * h->ema_min;
        h->ema_max = ema * bmax + (1 - ema) * h->ema_max;
    }
    h->batches++;
    if (bmin < h->min)
        h->min = bmin;
    if (bmax > h->max)
        h->max = bmax;
}

static inline int64_t bin_of(const struct onnxq_hist *h, double x)
{
    int64_t i = (int64_t)floor(ldexp(x, -h->exp)) + h->bins;
    if (i < 0)
        i = 0;
    if (i >= 2 * (int64_t)h->bins)
        i = 2 * (int64_t)h->bins - 1;
    return i;
}

void onnxq_hist_add_reference(struct onnxq_hist *h, const float *x, size_t n, double ema)
{
    double bmin = INFINITY, bmax = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        if (isnan(v)) {
            h->nan_count++;
            continue;
        }
        if (isinf(v)) {
            h->inf_count++;
            continue;
        }
        bmin = v < bmin ? v : bmin;
        bmax = v > bmax ? v : bmax;
    }
    if (bmin > bmax)
        return;  /* nothing finite */
    double amax = fmax(fabs(bmin), fabs(bmax));
    coarsen(h, needed_growth(h, amax));
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        if (!isfinite(v))
            continue;
        h->counts[bin_of(h, v)]++;
        h->count++;
        h->sum += v;
        h->sum_sq += v * v;
    }
    update_batch_stats(h, bmin, bmax, ema);
}

/* Extremes and sums of x[0..n) in fixed-width lanes the compiler turns into
 * SIMD; sums go through float block partials into double. NaN/Inf are not
 * tested per element: they make the sum or the sum of squares non-finite,
 * and the caller then takes the reference path. */
#define LANES 16
#define BLOCK 1024

static void scan(const float *x, size_t n, float *out_min, float *out_max, double *out_sum, double *out_sq)
{
    float mn[LANES], mx[LANES];
    double sum = 0, sq = 0;
    for (int l = 0; l < LANES; l++) {
        mn[l] = INFINITY;
        mx[l] = -INFINITY;
    }
    size_t i = 0;
    while (i + LANES <= n) {
        size_t end = i + BLOCK < n ? i + BLOCK : n;
        float bs[LANES] = {0}, bq[LANES] = {0};
        for (; i + LANES <= end; i += LANES) {
            for (int l = 0; l < LANES; l++) {
                float v = x[i + l];
                mn[l] = v < mn[l] ? v : mn[l];
                mx[l] = v > mx[l] ? v : mx[l];
                bs[l] += v;
                bq[l] += v * v;
            }
        }
        for (int l = 0; l < LANES; l++) {
            sum += bs[l];
            sq += bq[l];
        }
    }
    for (; i < n; i++) {
        float v = x[i];
        mn[0] = v < mn[0] ? v : mn[0];
        mx[0] = v > mx[0] ? v : mx[0];
        sum += v;
        sq += (double)v * v;
    }
    float a = INFINITY, b = -INFINITY;
    for (int l = 0; l < LANES; l++) {
        a = mn[l] < a ? mn[l] : a;
        b = mx[l] > b ? mx[l] : b;
    }
    *out_min = a;
    *out_max = b;
    *out_sum = sum;
    *out_sq = sq;
}

void onnxq_hist_add(struct onnxq_hist *h, const float *x, size_t n, double ema)
{
    if (n == 0)
        return;
    float bmin, bmax;
    double s, ss;
    scan(x, n, &bmin, &bmax, &s, &ss);
    if (!isfinite(s) || !isfinite(ss) || !isfinite(bmin) || !isfinite(bmax)) {
        onnxq_hist_add_reference(h, x, n, ema);
        return;
    }
    double amax = fmax(fabs((double)bmin), fabs((double)bmax));
    coarsen(h, needed_growth(h, amax));
    /* binning: x * 2^-exp is exact in float while the scale and result stay
     * in range; otherwise fall back to double */
    uint64_t *c = h->counts;
    int32_t B = (int32_t)h->bins, top = 2 * B - 1;
    if (h->exp > -100 && h->exp < 100) {
        float inv = ldexpf(1.0f, -h->exp);
        for (size_t i = 0; i < n; i++) {
            int32_t j = (int32_t)floorf(x[i] * inv) + B;
            j = j < 0 ? 0 : (j > top ? top : j);
            c[j]++;
        }
    } else {
        for (size_t i = 0; i < n; i++)
            c[bin_of(h, x[i])]++;
    }
    h->count += n;
    h->sum += s;
    h->sum_sq += ss;
    update_batch_stats(h, bmin, bmax, ema);
}

enum onnxq_status onnxq_hist_merge(struct onnxq_hist *dst, const struct onnxq_hist *src, struct onnxq_error *err)
{
    if (dst->bins != src->bins)
        return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "cannot merge histograms of %u and %u bins", dst->bins, src->bins);
    int64_t B = dst->bins;
    int e = dst->exp > src->exp ? dst->exp : src->exp;
    coarsen(dst, e - dst->exp);
    int k = e - src->exp;
    for (int64_t i = 0; i < 2 * B; i++)
        if (src->counts[i])
            dst->counts[B + floor_shift(i - B, k)] += src->counts[i];
    dst->count += src->count;
    dst->nan_count += src->nan_count;
    dst->inf_count += src->inf_count;
    dst->sum += src->sum;
    dst->sum_sq += src->sum_sq;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
    uint64_t nb = dst->batches + src->batches;
    if (nb) {
        double a = (double)dst->batches / (double)nb, b = (double)src->batches / (double)nb;
        if (!dst->batches) {
            dst->avg_min = src->avg_min;
            dst->avg_max = src->avg_max;
            dst->ema_min = src->ema_min;
            dst->ema_max = src->ema_max;
        } else if (src->batches) {
            dst->avg_min = a * dst->avg_min + b * src->avg_min;
            dst->avg_max = a * dst->avg_max + b * src->avg_max;
            dst->ema_min = a * dst->ema_min + b * src->ema_min;
            dst->ema_max = a * dst->ema_max + b * src->ema_max;
        }
    }
    dst->batches = nb;
    return ONNXQ_OK;
}

bool onnxq_hist_equal(const struct onnxq_hist *a, const struct onnxq_hist *b)
{
    if (a->bins != b->bins || a->count != b->count || a->nan_count != b->nan_count || a->inf_count != b->inf_count ||
        a->min != b->min || a->max != b->max)
        return false;
    /* equal grids after aligning: compare on the coarser one */
    if (a->exp == b->exp)
        return memcmp(a->counts, b->counts, 2 * (size_t)a->bins * sizeof(uint64_t)) == 0;
    return false;
}
