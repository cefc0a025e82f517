#include "core/vstats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void onnxq_vstats_init(struct onnxq_vstats *s)
{
    *s = (struct onnxq_vstats){.min = INFINITY, .max = -INFINITY};
}

void onnxq_vstats_merge(struct onnxq_vstats *dst, const struct onnxq_vstats *src)
{
    dst->min = src->finite && src->min < dst->min ? src->min : dst->min;
    dst->max = src->finite && src->max > dst->max ? src->max : dst->max;
    dst->sum += src->sum;
    dst->finite += src->finite;
    dst->nan += src->nan;
    dst->inf += src->inf;
    dst->captured += src->captured;
}

void onnxq_vstats_scan_ref(struct onnxq_vstats *s, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        if (isnan(v)) {
            s->nan++;
            continue;
        }
        if (isinf(v)) {
            s->inf++;
            continue;
        }
        s->min = v < s->min ? v : s->min;
        s->max = v > s->max ? v : s->max;
        s->sum += v;
        s->finite++;
    }
}

/* Fixed-width lanes the compiler turns into SIMD, two vectors per quantity
 * so that the operations do not wait on each other: min, max and a sum,
 * three vector operations per 16 values (kernels call this on everything
 * they write, so each one counts). The sum goes through float partials of
 * at most BLOCK values per lane into double lanes. NaN/Inf are not tested
 * per value: they make the sum non-finite (min/max skip NaN), and that
 * call's values are then redone by the reference (rare: calibration data is
 * finite, and the caller reports it). Per-call reductions are halving
 * trees, which vectorise: kernels call this on small pieces (a row, a tile
 * block) while they are in cache. */
#define LANES 32
#define BLOCK 32  /* values per lane in a float partial */

static bool scan_rows(struct onnxq_vstats *s, const float *x, size_t rows, size_t cols, size_t stride)
{
    float a[LANES], b[LANES];
    double ds[LANES] = {0};
    for (int l = 0; l < LANES; l++) {
        a[l] = s->min;
        b[l] = s->max;
    }
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * stride;
        size_t i = 0;
        while (i + LANES <= cols) {
            size_t end = cols - i > (size_t)LANES * BLOCK ? i + (size_t)LANES * BLOCK : cols;
            float bs[LANES] = {0};
            for (; i + LANES <= end; i += LANES)
                for (int l = 0; l < LANES; l++) {
                    float v = xr[i + l];
                    a[l] = v < a[l] ? v : a[l];
                    b[l] = v > b[l] ? v : b[l];
                    bs[l] += v;
                }
            for (int l = 0; l < LANES; l++)
                ds[l] += bs[l];
        }
        for (int l = 0; i < cols; i++, l++) {
            float v = xr[i];
            a[l] = v < a[l] ? v : a[l];
            b[l] = v > b[l] ? v : b[l];
            ds[l] += v;
        }
    }
    for (int w = LANES / 2; w > 0; w /= 2)
        for (int l = 0; l < w; l++) {
            ds[l] += ds[l + w];
            a[l] = a[l + w] < a[l] ? a[l + w] : a[l];
            b[l] = b[l + w] > b[l] ? b[l + w] : b[l];
        }
    if (!isfinite(ds[0]))
        return false;
    if (rows && cols) {
        s->min = a[0];
        s->max = b[0];
    }
    s->sum += ds[0];
    s->finite += rows * cols;
    return true;
}

void onnxq_vstats_scan(struct onnxq_vstats *s, const float *x, size_t n)
{
    /* long runs in pieces, so that a NaN only sends its piece to the reference */
    const size_t piece = 1 << 16;
    for (size_t i = 0; i < n; i += piece) {
        size_t m = n - i < piece ? n - i : piece;
        if (!scan_rows(s, x + i, 1, m, m))
            onnxq_vstats_scan_ref(s, x + i, m);
    }
}

void onnxq_vstats_scan2d(struct onnxq_vstats *s, const float *x, size_t rows, size_t cols, size_t stride)
{
    if (cols == stride || rows <= 1) {
        onnxq_vstats_scan(s, x, rows * cols);
        return;
    }
    if (scan_rows(s, x, rows, cols, stride))
        return;
    for (size_t r = 0; r < rows; r++)
        onnxq_vstats_scan(s, x + r * stride, cols);
}

size_t onnxq_sample_window(size_t n, uint64_t sample)
{
    if (!sample || n <= sample)
        return 1;
    size_t blocks = (n + ONNXQ_SAMPLE_BLOCK - 1) / ONNXQ_SAMPLE_BLOCK;
    size_t windows = (size_t)((sample + ONNXQ_SAMPLE_BLOCK - 1) / ONNXQ_SAMPLE_BLOCK);
    return (blocks + windows - 1) / windows;
}

size_t onnxq_sample_size(size_t n, size_t k)
{
    const size_t BL = ONNXQ_SAMPLE_BLOCK;
    if (k <= 1)
        return n;
    size_t lb = (n + BL - 1) / BL, nw = (lb + k - 1) / k;
    if (!nw)
        return 0;
    /* every window but the last is whole; the last one's pick may fall
     * past the end, or on the short last block */
    size_t w = nw - 1, sb = w * k + onnxq_sample_pick(w, k);
    size_t last = sb >= lb ? 0 : (sb + 1 == lb ? n - sb * BL : BL);
    return w * BL + last;
}

/* Copy the sampled values of flat range [f0, f1) of the output (its data at
 * x) to the sink's subsample; returns how many. Called per row by kernels:
 * no integer division (the window comes from a double reciprocal, then
 * corrected), no shared counter (the caller counts in its region's stats). */
static size_t capture(const struct onnxq_vstats_sink *k, const float *x, size_t f0, size_t f1)
{
    const size_t BL = ONNXQ_SAMPLE_BLOCK, kw = k->k, win = k->win;
    size_t got = 0;
    size_t w = (size_t)((double)f0 * k->inv_win);
    while (w && w * win > f0)
        w--;
    while ((w + 1) * win <= f0)
        w++;
    for (; w * win < f1; w++) {
        size_t b0 = w * win + onnxq_sample_pick(w, kw) * BL, b1 = b0 + BL;
        size_t lo = b0 > f0 ? b0 : f0, hi = b1 < f1 ? b1 : f1;
        if (lo >= hi)
            continue;
        float *d = k->samp + w * BL + (lo - b0);
        const float *src = x + (lo - f0);
        if (hi - lo == BL) {
            for (size_t t = 0; t < BL; t++) /* one vector, not a call */
                d[t] = src[t];
        } else {
            for (size_t t = 0; t < hi - lo; t++)
                d[t] = src[t];
        }
        got += hi - lo;
    }
    return got;
}

void onnxq_vstats_sink_observe(struct onnxq_vstats_sink *k, struct onnxq_vstats *vs, const float *x, size_t n)
{
    onnxq_vstats_scan(vs, x, n);
    if (k->samp && x >= k->base && (size_t)(x - k->base) + n <= k->numel)
        vs->captured += capture(k, x, (size_t)(x - k->base), (size_t)(x - k->base) + n);
}

void onnxq_vstats_sink_observe2d(struct onnxq_vstats_sink *k, struct onnxq_vstats *vs, const float *x, size_t rows,
                                 size_t cols, size_t stride)
{
    onnxq_vstats_scan2d(vs, x, rows, cols, stride);
    if (!k->samp || x < k->base || !rows)
        return;
    size_t f = (size_t)(x - k->base);
    if (f + (rows - 1) * stride + cols > k->numel)
        return; /* outside the output: the sink rejects the report too */
    for (size_t r = 0; r < rows; r++)
        vs->captured += capture(k, x + r * stride, f + r * stride, f + r * stride + cols);
}

bool onnxq_vstats_sink_sample(struct onnxq_vstats_sink *k, const float **samp, size_t *m)
{
    if (!k->samp || k->samp_got != k->samp_want)
        return false;
    *samp = k->samp;
    *m = k->samp_want;
    return true;
}

void onnxq_vstats_sink_reset(struct onnxq_vstats_sink *k, const float *base, size_t numel, size_t window,
                             float *samp)
{
    k->base = base;
    k->numel = numel;
    k->k = window > 1 && samp ? window : 0;
    k->win = k->k * ONNXQ_SAMPLE_BLOCK;
    k->inv_win = k->win ? 1.0 / (double)k->win : 0;
    k->samp = k->k ? samp : NULL;
    k->samp_want = k->k ? onnxq_sample_size(numel, window) : 0;
    k->samp_got = 0;
    k->failed = false;
    k->n = 0;
    atomic_flag_clear(&k->lock);
}

void onnxq_vstats_sink_put(struct onnxq_vstats_sink *k, const float *first, size_t count,
                           const struct onnxq_vstats *st)
{
    if (!count)
        return;
    bool inside = first >= k->base && (size_t)(first - k->base) < k->numel;
    while (atomic_flag_test_and_set_explicit(&k->lock, memory_order_acquire))
        ;
    if (!inside) {
        k->failed = true;
    } else if (!k->failed) {
        if (k->n == k->cap) {
            size_t nc = k->cap ? 2 * k->cap : 256;
            struct onnxq_vstats_region *nr = realloc(k->r, nc * sizeof(*nr));
            if (nr) {
                k->r = nr;
                k->cap = nc;
            }
        }
        if (k->n < k->cap) {
            k->r[k->n++] = (struct onnxq_vstats_region){first, count, *st};
            k->samp_got += st->captured;
        } else {
            k->failed = true;
        }
    }
    atomic_flag_clear_explicit(&k->lock, memory_order_release);
}

void onnxq_vstats_sink_scan(struct onnxq_vstats_sink *k, const float *x, size_t n)
{
    struct onnxq_vstats st;
    onnxq_vstats_init(&st);
    onnxq_vstats_sink_observe(k, &st, x, n);
    onnxq_vstats_sink_put(k, x, n, &st);
}

static int by_first(const void *a, const void *b)
{
    const struct onnxq_vstats_region *x = a, *y = b;
    return x->first < y->first ? -1 : x->first > y->first;
}

bool onnxq_vstats_sink_total(struct onnxq_vstats_sink *k, struct onnxq_vstats *out)
{
    if (k->failed || !k->n)
        return false;
    qsort(k->r, k->n, sizeof(*k->r), by_first);
    struct onnxq_vstats t;
    onnxq_vstats_init(&t);
    size_t covered = 0;
    for (size_t i = 0; i < k->n; i++) {
        /* two reports naming the same element: a kernel bug, not trusted */
        if (i && k->r[i].first == k->r[i - 1].first)
            return false;
        covered += k->r[i].count;
        onnxq_vstats_merge(&t, &k->r[i].st);
    }
    if (covered != k->numel)
        return false;
    t.captured = 0;
    *out = t;
    return true;
}

void onnxq_vstats_sink_free(struct onnxq_vstats_sink *k)
{
    if (!k)
        return;
    free(k->r);
    k->r = NULL;
    k->n = k->cap = 0;
}
