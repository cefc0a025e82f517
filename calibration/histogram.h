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
 * through. NaN and +-Inf are counted and kept out of min/max/histogram. */
#ifndef ONNXQ_CALIBRATION_HISTOGRAM_H
#define ONNXQ_CALIBRATION_HISTOGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "onnxq/onnxq.h"

#define ONNXQ_HIST_DEFAULT_BINS 2048
/* Below any float32 subnormal: the grid starts here until data arrives. */
#define ONNXQ_HIST_MIN_EXP (-160)
/* EMA constant of the moving-average min/max (as in common practice). */
#define ONNXQ_EMA_DEFAULT 0.01

struct onnxq_hist {
    uint32_t bins;     /* per side; total 2*bins counters */
    int exp;           /* bin width = 2^exp */
    uint64_t *counts;  /* 2*bins; bin i covers [(i - bins) w, (i - bins + 1) w) */
    uint64_t count;    /* finite values */
    uint64_t nan_count;
    uint64_t inf_count;
    double min, max;   /* over finite values; +inf/-inf when none */
    double sum, sum_sq;
    /* per-batch extremes, for the averaged and EMA min/max variants */
    uint64_t batches;
    double avg_min, avg_max;  /* running mean of per-batch min and max */
    double ema_min, ema_max;
};

/* bins per side must be a power of two >= 16. */
enum onnxq_status onnxq_hist_init(struct onnxq_hist *h, uint32_t bins, struct onnxq_error *err);
void onnxq_hist_free(struct onnxq_hist *h);
void onnxq_hist_reset(struct onnxq_hist *h);

/* Add one batch of values (one tensor of one run). `ema` is the EMA
 * constant (0 < ema <= 1). */
void onnxq_hist_add(struct onnxq_hist *h, const float *x, size_t n, double ema);

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

#endif
