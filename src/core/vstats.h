/* Value statistics of float data: extremes, sums and NaN/Inf counts.
 *
 * Calibration needs them for every activation. Scanning a tensor after the
 * node that wrote it reads it back from memory (hundreds of MB per sample on
 * a detection model), so kernels can gather them instead while the values
 * they just wrote are still in cache, and report them to a sink: see
 * onnxq_op_ctx.stats in ops/op.h and onnxq_exec_set_output_stats. */
#ifndef ONNXQ_CORE_VSTATS_H
#define ONNXQ_CORE_VSTATS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct onnxq_vstats {
    float min, max;       /* over finite values; +inf / -inf when none */
    double sum;           /* over finite values */
    uint64_t finite, nan, inf;
    uint64_t captured;    /* bookkeeping, not a statistic: subsample values a
                           * kernel copied for its sink (onnxq_vstats_sink_observe) */
};

void onnxq_vstats_init(struct onnxq_vstats *s);

/* s += the values x[0..n). Vectorised; NaN/Inf are counted apart, never
 * reach min/max/sums. */
void onnxq_vstats_scan(struct onnxq_vstats *s, const float *x, size_t n);

/* s += rows x rows of `cols` values, row stride `stride` floats. */
void onnxq_vstats_scan2d(struct onnxq_vstats *s, const float *x, size_t rows, size_t cols, size_t stride);

/* Plain reference of onnxq_vstats_scan, one value at a time in double. */
void onnxq_vstats_scan_ref(struct onnxq_vstats *s, const float *x, size_t n);

/* dst += src. */
void onnxq_vstats_merge(struct onnxq_vstats *dst, const struct onnxq_vstats *src);

/* Deterministic subsample of a tensor of n values (the histograms bin it;
 * see calibration/histogram.h): blocks of ONNXQ_SAMPLE_BLOCK consecutive
 * values, windows of k blocks (onnxq_sample_window), and in window w the
 * block w * k + onnxq_sample_pick(w, k). */
#define ONNXQ_SAMPLE_BLOCK 64

/* Blocks per window for about `sample` values out of n (1: every value). */
size_t onnxq_sample_window(size_t n, uint64_t sample);

/* Fibonacci hashing of the window index, scaled to [0, k) without a
 * division: consecutive windows get well-spread offsets, and it is cheap
 * enough for kernels to evaluate per row. */
static inline size_t onnxq_sample_pick(size_t w, size_t k)
{
    uint32_t h = (uint32_t)((w + 1) * 0x9e3779b1u);
    return (size_t)(((uint64_t)h * (uint64_t)k) >> 32);
}

/* Values in the subsample (k > 1), laid out window by window: window w's
 * block at [w * BLOCK, ...) of the subsample, the last one possibly short
 * or absent. */
size_t onnxq_sample_size(size_t n, size_t k);

/* Where the kernels of one node report the statistics of the float output
 * they write (output 0). Each report covers a disjoint region of it, named
 * by its first element; reports may come from any thread. The executor
 * accepts the total only when the regions cover every element exactly
 * (count) and lie inside the output; otherwise the caller scans. Regions
 * are merged in address order, so the result does not depend on which
 * thread reported first (only on the kernel's partition of the work). */
struct onnxq_vstats_region {
    const float *first;
    size_t count;
    struct onnxq_vstats st;
};

struct onnxq_vstats_sink {
    const float *base;   /* output 0 */
    size_t numel;
    /* subsample capture (k > 1 and samp set): kernels copy the sampled
     * blocks of what they write to samp, laid out as onnxq_sample_size says */
    size_t k, win;        /* blocks, values per window */
    double inv_win;
    float *samp;
    size_t samp_want, samp_got;
    atomic_flag lock;
    bool failed;         /* a report outside the output, or out of memory */
    struct onnxq_vstats_region *r;
    size_t n, cap;
};

/* Start collecting for an output of `numel` floats at `base` (keeps the
 * region array of a previous use); with k > 1 and samp (room for
 * onnxq_sample_size(numel, k) floats, 64-byte aligned), also capture its
 * subsample. */
void onnxq_vstats_sink_reset(struct onnxq_vstats_sink *k, const float *base, size_t numel, size_t window,
                             float *samp);

/* Report region [first, first + count) (count values, not necessarily
 * contiguous: a strided block is named by its first element) with stats st.
 * Thread-safe. Never fails: a bad report marks the sink failed. */
void onnxq_vstats_sink_put(struct onnxq_vstats_sink *k, const float *first, size_t count,
                           const struct onnxq_vstats *st);

/* Scan x[0..n), which lies in the output, and report it. */
void onnxq_vstats_sink_scan(struct onnxq_vstats_sink *k, const float *x, size_t n);

/* For kernels, right after writing values of the output: vs += x[0..n)
 * (x inside the output), and their sampled values copied for the sink.
 * The 2-D form takes rows of `cols` values, `stride` floats apart. The
 * caller reports vs with onnxq_vstats_sink_put. */
void onnxq_vstats_sink_observe(struct onnxq_vstats_sink *k, struct onnxq_vstats *vs, const float *x, size_t n);
void onnxq_vstats_sink_observe2d(struct onnxq_vstats_sink *k, struct onnxq_vstats *vs, const float *x, size_t rows,
                                 size_t cols, size_t stride);

/* The captured subsample (m values) if the kernels captured all of it. */
bool onnxq_vstats_sink_sample(struct onnxq_vstats_sink *k, const float **samp, size_t *m);

/* The total, if the reports covered the output exactly. Not thread-safe:
 * call after the kernel returned. */
bool onnxq_vstats_sink_total(struct onnxq_vstats_sink *k, struct onnxq_vstats *out);

void onnxq_vstats_sink_free(struct onnxq_vstats_sink *k);

#endif
