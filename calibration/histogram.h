/* Streaming activation statistics in bounded memory.
 *
 * The histogram has 2*bins bins of width w = 2^exp over [-bins*w, bins*w):
 * `bins` bins on each side of zero, so folding it gives the |x| histogram
 * of `bins` bins that the entropy (KL) search works on. Because widths are
 * powers of two and the grid is anchored at 0, growing the range merges
 * adjacent bin pairs (no mass moves between bins or is lost), and two
 * histograms of the same tensor merge exactly, in any order: the merged
 * grid is the coarser one and counts are integers.
 *
 * Memory per tensor is O(bins), independent of how many samples stream
 * through. NaN and +-Inf are counted and kept out of min/max/histogram.
 *
 * Subsampling (onnxq_hist_add_sampled with sample > 0): finite and NaN/Inf
 * counts, min, max and sum always cover every value; the histogram and the
 * sum of squares cover the binned subsample (count values). The tensor is cut into blocks of
 * ONNXQ_HIST_SAMPLE_BLOCK consecutive values and the blocks into windows of
 * k blocks, k = ceil(blocks / ceil(sample / BLOCK)); the histogram takes one
 * block per window, at an offset given by a fixed hash of the window index
 * (onnxq_sample_pick in core/vstats.h: kernels capture the same blocks)
 * (stratified sampling: every value has probability 1/k, no aliasing with
 * row or channel strides). The choice depends only on the position in the
 * tensor, never on the data, the run or the thread count, so a sharded run
 * merges into exactly the histogram of the full run. `count` stays the
 * histogram's total (what the range methods normalise by); `finite` counts
 * every finite value.
 * About `sample` values per call are binned (at most sample + BLOCK - 1). */
#ifndef ONNXQ_CALIBRATION_HISTOGRAM_H
#define ONNXQ_CALIBRATION_HISTOGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/vstats.h"
#include "onnxq/onnxq.h"

struct onnxq_threadpool;

#define ONNXQ_HIST_DEFAULT_BINS 2048
/* Below any float32 subnormal: the grid starts here until data arrives. */
#define ONNXQ_HIST_MIN_EXP (-160)
/* EMA constant of the moving-average min/max (as in common practice). */
#define ONNXQ_EMA_DEFAULT 0.01
/* Histogram subsampling: values per block, and the default cap on values
 * binned per tensor per sample (0 = every value). See docs/calibration.md
 * for the accuracy this keeps. */
#define ONNXQ_HIST_SAMPLE_BLOCK ONNXQ_SAMPLE_BLOCK
#define ONNXQ_HIST_DEFAULT_SAMPLE 65536

struct onnxq_hist {
    uint32_t bins;     /* per side; total 2*bins counters */
    int exp;           /* bin width = 2^exp */
    uint64_t *counts;  /* 2*bins; bin i covers [(i - bins) w, (i - bins + 1) w) */
    uint64_t count;    /* values in the histogram (== sum of counts) */
    uint64_t finite;   /* finite values observed, every one (== count unless subsampled) */
    uint64_t nan_count;
    uint64_t inf_count;
    double min, max;   /* over finite values; +inf/-inf when none */
    double sum;      /* of every finite value (finite of them) */
    double sum_sq;   /* of the binned values (count of them): the exact pass
                      * over every value keeps to min, max and sum */
    /* per-batch extremes, for the averaged and EMA min/max variants */
    uint64_t batches;
    double avg_min, avg_max;  /* running mean of per-batch min and max */
    double ema_min, ema_max;
};

/* bins per side must be a power of two >= 16. */
enum onnxq_status onnxq_hist_init(struct onnxq_hist *h, uint32_t bins, struct onnxq_error *err);
/* The same on `counts` (2*bins zeros, malloc'ed), which h then owns, also
 * on failure; NULL: allocated here. */
enum onnxq_status onnxq_hist_init_counts(struct onnxq_hist *h, uint32_t bins, uint64_t *counts,
                                         struct onnxq_error *err);
void onnxq_hist_free(struct onnxq_hist *h);
void onnxq_hist_reset(struct onnxq_hist *h);

/* Add one batch of values (one tensor of one run), every value binned, on
 * the calling thread. `ema` is the EMA constant (0 < ema <= 1). */
void onnxq_hist_add(struct onnxq_hist *h, const float *x, size_t n, double ema);

/* Scratch for parallel adds: one partial histogram per pool thread and
 * per-chunk results, allocated once so that adding cannot fail. */
struct onnxq_hist_part;
struct onnxq_hist_chunk;
struct onnxq_hist_workspace {
    struct onnxq_threadpool *pool; /* borrowed; NULL: calling thread only */
    uint32_t bins;
    int slots;                     /* partial histograms (0: serial only) */
    struct onnxq_hist_part *part;
    struct onnxq_hist_chunk *chunk;
};

/* `pool` may be NULL. Histograms with more than 2^16 bins per side are
 * binned on the calling thread (the partials would not fit in cache). */
enum onnxq_status onnxq_hist_workspace_init(struct onnxq_hist_workspace *w, uint32_t bins,
                                            struct onnxq_threadpool *pool, struct onnxq_error *err);
void onnxq_hist_workspace_free(struct onnxq_hist_workspace *w);

/* onnxq_hist_add with a histogram subsample of about `sample` values
 * (0 = every value; see the top of this file) and, with a workspace of the
 * same bins, the work spread over its pool: fixed chunks claimed by the
 * threads, each binning into its own partial histogram on its own grid,
 * merged exactly. Chunking does not depend on the thread count, so the
 * result (sums included) is the same for any pool. */
void onnxq_hist_add_sampled(struct onnxq_hist *h, const float *x, size_t n, double ema, uint64_t sample,
                            struct onnxq_hist_workspace *w);

/* onnxq_hist_add_sampled for a tensor whose statistics over every value
 * are known already (st, gathered by the kernel that wrote it): no scan,
 * only the subsample is read and binned, on the calling thread (a large
 * tensor binned whole goes to onnxq_hist_add_sampled on w). Same result as
 * onnxq_hist_add_sampled, sums aside (summed in another order). */
void onnxq_hist_add_known(struct onnxq_hist *h, const float *x, size_t n, double ema, uint64_t sample,
                          struct onnxq_hist_workspace *w, const struct onnxq_vstats *st);

/* Deferred binning, in two steps that give the same histogram as
 * onnxq_hist_add_known: onnxq_hist_gather_sample copies the subsample of
 * x[0..n) (every value when n <= sample or sample == 0) to out, which holds
 * onnxq_hist_sample_capacity(n, sample) floats, and returns its length m;
 * later onnxq_hist_add_gathered bins those m values with the statistics st
 * of the whole tensor, on the calling thread, using partial `slot` of w
 * (which no other thread may use meanwhile; w may be NULL). */
size_t onnxq_hist_sample_capacity(size_t n, uint64_t sample);
size_t onnxq_hist_gather_sample(const float *x, size_t n, uint64_t sample, float *out);
void onnxq_hist_add_gathered(struct onnxq_hist *h, const float *v, size_t m, double ema,
                             const struct onnxq_vstats *st, struct onnxq_hist_workspace *w, int slot);

/* dst += src, exactly (grids aligned by pair merging). Both must have the
 * same bins. The EMA fields are combined as batch-weighted means, which is
 * exact for the averaged min/max but only approximate for the EMA. */
enum onnxq_status onnxq_hist_merge(struct onnxq_hist *dst, const struct onnxq_hist *src, struct onnxq_error *err);

/* Width of one bin, and the lower edge of bin i. */
double onnxq_hist_width(const struct onnxq_hist *h);
double onnxq_hist_edge(const struct onnxq_hist *h, int64_t i);

/* Sum of all bin counts (== h->count). */
uint64_t onnxq_hist_total(const struct onnxq_hist *h);

/* Equal bins, counts, stats. */
bool onnxq_hist_equal(const struct onnxq_hist *a, const struct onnxq_hist *b);

/* Plain reference for onnxq_hist_add: one value at a time, no fast path.
 * Tests compare the optimized version against it (exact: counts are integers). */
void onnxq_hist_add_reference(struct onnxq_hist *h, const float *x, size_t n, double ema);

/* Plain reference for onnxq_hist_add_sampled: the subsample written as its
 * definition (value i is binned iff its block is its window's pick). */
void onnxq_hist_add_reference_sampled(struct onnxq_hist *h, const float *x, size_t n, double ema, uint64_t sample);

/* Blocks per window for n values and a sample cap (1: every value), and
 * whether block b is binned. Exposed for the reference and the tests. */
size_t onnxq_hist_sample_window(size_t n, uint64_t sample);
bool onnxq_hist_block_sampled(size_t block, size_t window);

#endif
