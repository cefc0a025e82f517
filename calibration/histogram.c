#include "calibration/histogram.h"

#include <assert.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/threadpool.h"

enum onnxq_status onnxq_hist_init(struct onnxq_hist *h, uint32_t bins, struct onnxq_error *err)
{
    return onnxq_hist_init_counts(h, bins, NULL, err);
}

enum onnxq_status onnxq_hist_init_counts(struct onnxq_hist *h, uint32_t bins, uint64_t *counts,
                                         struct onnxq_error *err)
{
    memset(h, 0, sizeof(*h));
    if (bins < 16 || bins > (1u << 24) || (bins & (bins - 1))) {
        free(counts);
        return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "histogram bins must be a power of two between 16 and 2^24 (got %u)",
                          bins);
    }
    h->counts = counts ? counts : calloc(2 * (size_t)bins, sizeof(uint64_t));
    if (!h->counts)
        return onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory for a histogram of %u bins", bins);
    h->bins = bins;
    /* as onnxq_hist_reset, without clearing the counts, which are zero */
    h->exp = ONNXQ_HIST_MIN_EXP;
    h->min = INFINITY;
    h->max = -INFINITY;
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

/* Coarsen a grid of 2*B counters by 2^k: bin i moves into bin
 * B + floor((i - B) / 2^k). A bin's target is at or nearer the centre than
 * the bin itself, so walking each half from the centre outwards empties
 * every target slot of its old content before anything is added into it.
 * Written once for the 64-bit histograms and the 32-bit partials. */
#define DEFINE_COARSEN(name, type)                                                                                     \
    static void name(type *c, int64_t B, int k)                                                                        \
    {                                                                                                                  \
        if (k <= 0)                                                                                                    \
            return;                                                                                                    \
        for (int64_t i = B - 1; i >= 0; i--) {                                                                         \
            int64_t j = B + floor_shift(i - B, k);                                                                     \
            if (j != i && c[i]) { /* empty bins stay untouched: no stores, no page touched */                      \
                c[j] += c[i];                                                                                          \
                c[i] = 0;                                                                                              \
            }                                                                                                          \
        }                                                                                                              \
        for (int64_t i = B; i < 2 * B; i++) {                                                                          \
            int64_t j = B + floor_shift(i - B, k);                                                                     \
            if (j != i && c[i]) { /* empty bins stay untouched: no stores, no page touched */                      \
                c[j] += c[i];                                                                                          \
                c[i] = 0;                                                                                              \
            }                                                                                                          \
        }                                                                                                              \
    }
DEFINE_COARSEN(coarsen_counts, uint64_t)
DEFINE_COARSEN(coarsen_counts32, uint32_t)

static void coarsen(struct onnxq_hist *h, int k)
{
    if (k <= 0)
        return;
    coarsen_counts(h->counts, h->bins, k);
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

/* the window's pick: a fixed function of its index (core/vstats.h, which
 * the kernels that capture the subsample use too) */
static inline size_t window_pick(size_t w, size_t k)
{
    return onnxq_sample_pick(w, k);
}

size_t onnxq_hist_sample_window(size_t n, uint64_t sample)
{
    return onnxq_sample_window(n, sample);
}

bool onnxq_hist_block_sampled(size_t block, size_t window)
{
    return window <= 1 || block % window == window_pick(block / window, window);
}

void onnxq_hist_add_reference_sampled(struct onnxq_hist *h, const float *x, size_t n, double ema, uint64_t sample)
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
    size_t window = onnxq_hist_sample_window(n, sample);
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        if (!isfinite(v))
            continue;
        if (onnxq_hist_block_sampled(i / ONNXQ_HIST_SAMPLE_BLOCK, window)) {
            h->counts[bin_of(h, v)]++;
            h->count++;
            h->sum_sq += v * v;
        }
        h->finite++;
        h->sum += v;
    }
    update_batch_stats(h, bmin, bmax, ema);
}

void onnxq_hist_add_reference(struct onnxq_hist *h, const float *x, size_t n, double ema)
{
    onnxq_hist_add_reference_sampled(h, x, n, ema, 0);
}

/* Smallest exp' >= exp with bins * 2^exp' > amax (needed_growth, closed
 * form): amax = m 2^q with m in [0.5, 1) fits iff log2(bins) + exp' >= q. */
static int exp_for(uint32_t bins, int exp, double amax)
{
    if (!(amax > 0))
        return exp;
    int q, lb = 0;
    frexp(amax, &q);
    while ((1u << lb) < bins)
        lb++;
    return q - lb > exp ? q - lb : exp;
}

/* A histogram under construction: the observed one itself (c), or a
 * thread's partial (s: NSUB interleaved 32-bit copies, so that runs of equal
 * values, such as the zeros after a ReLU, do not serialise on one counter). */
#define NSUB 4
struct onnxq_hist_part {
    uint64_t *c;
    uint32_t *s;
    int exp;
    uint64_t binned;
    double sq;       /* sum of squares of the binned values */
    int32_t lo, hi;  /* bins of s touched (hi < lo: none), all that merging reads and clears */
};

/* Statistics of one chunk, reduced in chunk order (deterministic sums). */
struct onnxq_hist_chunk {
    struct onnxq_vstats st;
    double sq;  /* of the values it binned */
};

/* Bin indices of n finite values on the grid of width 1/inv (inv = 2^-exp,
 * a normal float): x * inv is exact, and floor is written as truncation
 * minus one below zero so that the loop vectorises (|x * inv| < bins <=
 * 2^24, so the float of the truncation is exact). A negative x whose scaled
 * value underflows to -0 belongs in bin -1 (floor of a tiny negative), as
 * the reference's double arithmetic gives. */
static void bin_index(const float *restrict x, int32_t *restrict idx, size_t n, float inv, int32_t B, int32_t top)
{
    for (size_t l = 0; l < n; l++) {
        float v = x[l], sv = v * inv;
        int32_t t = (int32_t)sv;
        int32_t j = t + B - (int32_t)(sv < (float)t) - (int32_t)((v < 0.0f) & (sv == 0.0f));
        idx[l] = j < 0 ? 0 : (j > top ? top : j);
    }
}

#define BIN_GROUP 256
#define SQ_LANES 16

/* Sum of squares of one group (<= BIN_GROUP values) in SQ_LANES float
 * lanes, which vectorise: one running float sum would chain every add on
 * the last (about 1 ns a value, the binning's bottleneck). Fixed order,
 * so the result does not depend on threads. */
static double group_sq(const float *x, size_t m)
{
    float lane[SQ_LANES] = {0};
    size_t q = 0;
    for (; q + SQ_LANES <= m; q += SQ_LANES)
        for (int l = 0; l < SQ_LANES; l++)
            lane[l] += x[q + l] * x[q + l];
    for (int l = 0; q < m; q++, l++)
        lane[l] += x[q] * x[q];
    for (int w = SQ_LANES / 2; w > 0; w /= 2)
        for (int l = 0; l < w; l++)
            lane[l] += lane[l + w];
    return lane[0];
}

/* Bin x[0..n) on a's grid (which holds every finite value of x); finite
 * values only when check_finite (the chunk had NaN/Inf). */
static void bin_values(struct onnxq_hist_part *a, uint32_t bins, const float *x, size_t n, bool check_finite)
{
    const int32_t B = (int32_t)bins, top = 2 * B - 1;
    size_t skipped = 0;
    if (a->exp > -120 && a->exp < 120 && !check_finite) {
        const float inv = ldexpf(1.0f, -a->exp);
        int32_t idx[BIN_GROUP];
        for (size_t i = 0; i < n; i += BIN_GROUP) {
            size_t m = n - i < BIN_GROUP ? n - i : BIN_GROUP, l = 0;
            bin_index(x + i, idx, m, inv, B, top);
            a->sq += group_sq(x + i, m);
            if (a->s) {
                int32_t lo = a->lo, hi = a->hi;
                for (size_t q = 0; q < m; q++) {
                    lo = idx[q] < lo ? idx[q] : lo;
                    hi = idx[q] > hi ? idx[q] : hi;
                }
                a->lo = lo;
                a->hi = hi;
                uint32_t *s = a->s;
                const size_t stride = 2 * (size_t)bins;
                for (; l + NSUB <= m; l += NSUB)
                    for (int u = 0; u < NSUB; u++)
                        s[(size_t)u * stride + (size_t)idx[l + u]]++;
                for (; l < m; l++)
                    s[idx[l]]++;
            } else {
                for (; l < m; l++)
                    a->c[idx[l]]++;
            }
        }
        a->binned += n;
        return;
    }
    /* rare cases (NaN/Inf in the chunk, extreme scales): plain code, first copy */
    for (size_t i = 0; i < n; i++) {
        if (check_finite && !isfinite(x[i])) {
            skipped++;
            continue;
        }
        a->sq += (double)x[i] * x[i];
        int64_t j = (int64_t)floor(ldexp((double)x[i], -a->exp)) + B;
        j = j < 0 ? 0 : (j > top ? top : j);
        if (a->s) {
            a->s[j]++;
            a->lo = (int32_t)j < a->lo ? (int32_t)j : a->lo;
            a->hi = (int32_t)j > a->hi ? (int32_t)j : a->hi;
        } else
            a->c[j]++;
    }
    a->binned += n - skipped;
}

struct add_job {
    const float *x;
    size_t n, chunk, nchunks, window;
    uint32_t bins;
    struct onnxq_hist_part *part;   /* per slot */
    struct onnxq_hist_chunk *res;   /* per chunk */
    atomic_size_t next;
    /* statistics known beforehand: no scan, grids already hold every value */
    const struct onnxq_vstats *known;
};

/* Copy the sample block starting at x[s0] (short at the end of n values)
 * to dst; returns its length. A whole block is one vector copy, not a call. */
static size_t copy_block(float *dst, const float *x, size_t s0, size_t n)
{
    const size_t BL = ONNXQ_HIST_SAMPLE_BLOCK;
    size_t len = s0 + BL < n ? BL : n - s0;
    if (len == BL) {
        for (size_t t = 0; t < BL; t++)
            dst[t] = x[s0 + t];
    } else {
        memcpy(dst, x + s0, len * sizeof(float));
    }
    return len;
}

/* Bin the sampled blocks (window k > 1) of x[b, e), where b is a multiple
 * of the sample block; a's grid holds every finite value. The picked blocks
 * are gathered so that binning runs on long rows. */
static void bin_sampled(struct onnxq_hist_part *a, uint32_t bins, const float *x, size_t n, size_t b, size_t e,
                        size_t k, bool check_finite)
{
    const size_t BL = ONNXQ_HIST_SAMPLE_BLOCK;
    /* the picked blocks lie far apart (cache misses): their addresses are
     * computed a group ahead and prefetched, so the misses overlap */
    enum { AHEAD = 32 };
    size_t pick[AHEAD];
    float buf[BIN_GROUP];
    size_t nb = 0;
    size_t fb = b / BL, lb = (e + BL - 1) / BL;
    size_t w = fb / k;
    for (;;) {
        size_t np = 0;
        for (; np < AHEAD && w * k < lb; w++) {
            size_t sb = w * k + window_pick(w, k);
            if (sb >= fb && sb < lb) {
                pick[np++] = sb * BL;
                __builtin_prefetch(x + sb * BL);
            }
        }
        if (!np)
            break;
        for (size_t q = 0; q < np; q++) {
            if (nb + BL > BIN_GROUP) {
                bin_values(a, bins, buf, nb, check_finite);
                nb = 0;
            }
            nb += copy_block(buf + nb, x, pick[q], n);
        }
    }
    if (nb)
        bin_values(a, bins, buf, nb, check_finite);
}

/* Grow a's grid to hold values up to amax in magnitude. */
static void part_grow(struct onnxq_hist_part *a, uint32_t bins, double amax)
{
    int ex = exp_for(bins, a->exp, amax);
    if (ex <= a->exp)
        return;
    if (a->s) {
        if (a->lo <= a->hi) {
            for (int u = 0; u < NSUB; u++)
                coarsen_counts32(a->s + (size_t)u * 2 * bins, bins, ex - a->exp);
            int64_t B = bins;
            a->lo = (int32_t)(B + floor_shift(a->lo - B, ex - a->exp));
            a->hi = (int32_t)(B + floor_shift(a->hi - B, ex - a->exp));
        }
    } else {
        coarsen_counts(a->c, bins, ex - a->exp);
    }
    a->exp = ex;
}

/* Scan chunk c, grow a's grid to hold it, bin its sampled blocks. */
static void do_chunk(const struct add_job *J, size_t c, struct onnxq_hist_part *a, struct onnxq_hist_chunk *r)
{
    size_t b = c * J->chunk, e = b + J->chunk < J->n ? b + J->chunk : J->n;
    const float *x = J->x;
    onnxq_vstats_init(&r->st);
    r->sq = 0;
    a->sq = 0;
    bool nonfinite;
    if (J->known) {
        nonfinite = J->known->nan || J->known->inf;
    } else {
        onnxq_vstats_scan(&r->st, x + b, e - b);
        if (!r->st.finite)
            return;
        nonfinite = r->st.nan || r->st.inf;
        part_grow(a, J->bins, fmax(fabs((double)r->st.min), fabs((double)r->st.max)));
    }
    /* chunk bounds are multiples of the sample block: a block lies in one chunk */
    if (J->window <= 1)
        bin_values(a, J->bins, x + b, e - b, nonfinite);
    else
        bin_sampled(a, J->bins, x, J->n, b, e, J->window, nonfinite);
    r->sq = a->sq; /* summed in chunk order by the caller: the same for any pool */
}

static void add_task(void *arg, size_t begin, size_t end)
{
    struct add_job *J = arg;
    for (size_t slot = begin; slot < end; slot++) {
        for (;;) {
            size_t c = atomic_fetch_add_explicit(&J->next, 1, memory_order_relaxed);
            if (c >= J->nchunks)
                break;
            do_chunk(J, c, &J->part[slot], &J->res[c]);
        }
    }
}

/* Chunks: at most MAX_CHUNKS of at least MIN_CHUNK values, multiples of the
 * sample block; tensors under PAR_MIN values stay on the calling thread
 * (waking the pool costs more), as do histograms above PAR_MAX_BINS. */
#define MIN_CHUNK 32768
#define MAX_CHUNKS 256
#define PAR_MIN 131072
#define PAR_MAX_BINS 65536

enum onnxq_status onnxq_hist_workspace_init(struct onnxq_hist_workspace *w, uint32_t bins,
                                            struct onnxq_threadpool *pool, struct onnxq_error *err)
{
    memset(w, 0, sizeof(*w));
    w->pool = pool;
    w->bins = bins;
    if (bins > PAR_MAX_BINS)
        return ONNXQ_OK;
    int slots = onnxq_threadpool_size(pool);
    size_t per = NSUB * 2 * (size_t)bins;
    w->part = calloc((size_t)slots, sizeof(*w->part));
    w->chunk = calloc(MAX_CHUNKS, sizeof(*w->chunk));
    uint32_t *c = calloc((size_t)slots * per, sizeof(uint32_t));
    if (!w->part || !w->chunk || !c) {
        free(c);
        onnxq_hist_workspace_free(w);
        return onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory for %d partial histograms", slots);
    }
    for (int i = 0; i < slots; i++)
        w->part[i].s = c + (size_t)i * per;
    w->slots = slots;
    return ONNXQ_OK;
}

void onnxq_hist_workspace_free(struct onnxq_hist_workspace *w)
{
    if (!w)
        return;
    if (w->part)
        free(w->part[0].s);
    free(w->part);
    free(w->chunk);
    memset(w, 0, sizeof(*w));
}

/* h += partial p on the same grid (the usual case once the range is
 * known): one vectorisable pass over the touched bins of the copies, which
 * are cleared for the next use. */
static void merge_same_grid(struct onnxq_hist *h, struct onnxq_hist_part *p)
{
    const size_t st = 2 * (size_t)h->bins;
    const uint32_t *s0 = p->s, *s1 = s0 + st, *s2 = s1 + st, *s3 = s2 + st;
    static_assert(NSUB == 4, "the same-grid merge adds four copies");
    for (int64_t j = p->lo; j <= p->hi; j++)
        h->counts[j] += (uint64_t)s0[j] + s1[j] + s2[j] + s3[j];
    for (int u = 0; u < NSUB; u++)
        memset(p->s + (size_t)u * st + p->lo, 0, (size_t)(p->hi - p->lo + 1) * sizeof(uint32_t));
}

/* Binned values from which spreading the binning of a tensor whose
 * statistics are known over the pool pays off. */
#define PAR_MIN_KNOWN 16384

static void hist_add(struct onnxq_hist *h, const float *x, size_t n, double ema, uint64_t sample,
                     struct onnxq_hist_workspace *w, const struct onnxq_vstats *known)
{
    if (n == 0)
        return;
    struct add_job J = {.x = x, .n = n, .bins = h->bins, .window = onnxq_hist_sample_window(n, sample),
                        .known = known};
    if (known) {
        if (!known->finite) {
            h->nan_count += known->nan;
            h->inf_count += known->inf;
            return;
        }
        /* the final grid, before any binning */
        coarsen(h, exp_for(h->bins, h->exp, fmax(fabs((double)known->min), fabs((double)known->max))) - h->exp);
    }
    J.chunk = (n + MAX_CHUNKS - 1) / MAX_CHUNKS;
    J.chunk = (J.chunk + ONNXQ_HIST_SAMPLE_BLOCK - 1) / ONNXQ_HIST_SAMPLE_BLOCK * ONNXQ_HIST_SAMPLE_BLOCK;
    if (J.chunk < MIN_CHUNK)
        J.chunk = MIN_CHUNK;
    J.nchunks = (n + J.chunk - 1) / J.chunk;
    atomic_init(&J.next, 0);
    struct onnxq_vstats tot;
    onnxq_vstats_init(&tot);
    uint64_t binned = 0;
    double sq = 0;
    /* Partials pay off for long runs of binning (interleaved copies, and a
     * merge that reads the touched bins); a small or sampled tensor on one
     * thread bins straight into h. 32-bit partials hold one call < 2^31. */
    bool par = w && w->slots > 1 &&
               (known ? n / (J.window > 1 ? J.window : 1) >= PAR_MIN_KNOWN : n >= PAR_MIN);
    bool parts = w && w->slots && w->bins == h->bins && n < ((size_t)1 << 31) &&
                 (par || (J.window == 1 && n >= PAR_MIN));
    if (!parts) {
        /* straight into h, chunk by chunk (the same chunks, so the same sums) */
        struct onnxq_hist_part a = {.c = h->counts, .exp = h->exp, .binned = 0};
        for (size_t c = 0; c < J.nchunks; c++) {
            struct onnxq_hist_chunk r;
            do_chunk(&J, c, &a, &r);
            onnxq_vstats_merge(&tot, &r.st);
            sq += r.sq;
        }
        h->exp = a.exp;
        binned = a.binned;
    } else {
        J.part = w->part;
        J.res = w->chunk;
        for (int i = 0; i < w->slots; i++) {
            w->part[i].exp = h->exp;
            w->part[i].binned = 0;
            w->part[i].lo = INT32_MAX;
            w->part[i].hi = -1;
        }
        if (par)
            onnxq_threadpool_run(w->pool, (size_t)w->slots, 1, add_task, &J);
        else
            add_task(&J, 0, 1);
        for (size_t c = 0; c < J.nchunks; c++) {
            onnxq_vstats_merge(&tot, &J.res[c].st);
            sq += J.res[c].sq;
        }
        /* every slot's grid counts, binned or not: a slot whose chunks held
         * a large value but no sampled block grew its grid too, and the
         * histogram must hold every finite value (as the reference's).
         * Counting only slots that binned made the grid depend on which
         * slot took which chunk: a flaky test under sparse sampling. */
        int e = h->exp;
        for (int i = 0; i < w->slots; i++)
            e = w->part[i].exp > e ? w->part[i].exp : e;
        coarsen(h, e - h->exp);
        int64_t B = h->bins;
        for (int i = 0; i < w->slots; i++) {
            struct onnxq_hist_part *p = &w->part[i];
            if (!p->binned)
                continue;
            int k = e - p->exp;
            if (k == 0 && p->lo <= p->hi) {
                merge_same_grid(h, p);
                binned += p->binned;
                continue;
            }
            for (int u = 0; p->lo <= p->hi && u < NSUB; u++) {
                uint32_t *sc = p->s + (size_t)u * 2 * (size_t)B;
                for (int64_t j = p->lo; j <= p->hi; j++)
                    if (sc[j])
                        h->counts[B + floor_shift(j - B, k)] += sc[j];
                memset(sc + p->lo, 0, (size_t)(p->hi - p->lo + 1) * sizeof(uint32_t));
            }
            binned += p->binned;
        }
    }
    if (known)
        tot = *known;
    h->nan_count += tot.nan;
    h->inf_count += tot.inf;
    if (!tot.finite)
        return; /* nothing finite: as the reference, no batch */
    h->finite += tot.finite;
    h->count += binned;
    h->sum += tot.sum;
    h->sum_sq += sq;
    update_batch_stats(h, tot.min, tot.max, ema);
}

void onnxq_hist_add_sampled(struct onnxq_hist *h, const float *x, size_t n, double ema, uint64_t sample,
                            struct onnxq_hist_workspace *w)
{
    hist_add(h, x, n, ema, sample, w, NULL);
}

void onnxq_hist_add_known(struct onnxq_hist *h, const float *x, size_t n, double ema, uint64_t sample,
                          struct onnxq_hist_workspace *w, const struct onnxq_vstats *st)
{
    hist_add(h, x, n, ema, sample, w, st);
}

void onnxq_hist_add(struct onnxq_hist *h, const float *x, size_t n, double ema)
{
    onnxq_hist_add_sampled(h, x, n, ema, 0, NULL);
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
    dst->finite += src->finite;
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
    if (a->bins != b->bins || a->count != b->count || a->finite != b->finite || a->nan_count != b->nan_count || a->inf_count != b->inf_count ||
        a->min != b->min || a->max != b->max)
        return false;
    /* equal grids after aligning: compare on the coarser one */
    if (a->exp == b->exp)
        return memcmp(a->counts, b->counts, 2 * (size_t)a->bins * sizeof(uint64_t)) == 0;
    return false;
}

size_t onnxq_hist_sample_capacity(size_t n, uint64_t sample)
{
    return onnxq_sample_size(n, onnxq_sample_window(n, sample));
}

size_t onnxq_hist_gather_sample(const float *x, size_t n, uint64_t sample, float *out)
{
    const size_t BL = ONNXQ_HIST_SAMPLE_BLOCK, k = onnxq_hist_sample_window(n, sample);
    if (k <= 1) {
        memcpy(out, x, n * sizeof(float));
        return n;
    }
    size_t lb = (n + BL - 1) / BL, m = 0;
    for (size_t w = 0; w * k < lb; w++) {
        size_t sb = w * k + window_pick(w, k);
        if (w + 32 < lb / k) /* the picks lie far apart: fetch well ahead */
            __builtin_prefetch(x + ((w + 32) * k + window_pick(w + 32, k)) * BL);
        if (sb < lb)
            m += copy_block(out + m, x, sb * BL, n);
    }
    return m;
}

void onnxq_hist_add_gathered(struct onnxq_hist *h, const float *v, size_t m, double ema,
                             const struct onnxq_vstats *st, struct onnxq_hist_workspace *w, int slot)
{
    h->nan_count += st->nan;
    h->inf_count += st->inf;
    if (!st->finite)
        return;
    coarsen(h, exp_for(h->bins, h->exp, fmax(fabs((double)st->min), fabs((double)st->max))) - h->exp);
    bool nonfinite = st->nan || st->inf;
    uint64_t binned;
    double sq;
    struct onnxq_hist_part *p = w && w->bins == h->bins && slot >= 0 && slot < w->slots ? &w->part[slot] : NULL;
    if (p && m >= 4096) {
        /* interleaved 32-bit copies: runs of equal values (zeros after a
         * ReLU) do not serialise on one counter */
        p->exp = h->exp;
        p->binned = 0;
        p->sq = 0;
        p->lo = INT32_MAX;
        p->hi = -1;
        bin_values(p, h->bins, v, m, nonfinite);
        if (p->lo <= p->hi)
            merge_same_grid(h, p);
        binned = p->binned;
        sq = p->sq;
    } else {
        struct onnxq_hist_part a = {.c = h->counts, .exp = h->exp, .binned = 0};
        bin_values(&a, h->bins, v, m, nonfinite);
        binned = a.binned;
        sq = a.sq;
    }
    h->finite += st->finite;
    h->count += binned;
    h->sum += st->sum;
    h->sum_sq += sq;
    update_batch_stats(h, st->min, st->max, ema);
}
