/* Range methods: from a tensor's histogram and stats to a quantization
 * range [lo, hi], and from a range to scale and zero point.
 *
 * Each method is one row of onnxq_calib_methods (designated initializers,
 * indexed by enum onnxq_calib_method). Definitions (docs/calibration.md
 * has the long form):
 *  - minmax:      [min, max] over every observed value.
 *  - avg_minmax:  mean over batches of each batch's min and max.
 *  - ema:         exponential moving average (constant c) of batch min/max.
 *  - percentile:  int8: the p-th percentile of |x|, range [-T, T];
 *                 uint8: the (100-p)-th and p-th percentiles of x.
 *  - entropy:     TensorRT-style KL search. The reference distribution P is
 *                 the histogram cut to the candidate bins with the clipped
 *                 mass added to the edge bins; Q is the same bins (without
 *                 the clipped mass) merged into L levels and spread back
 *                 evenly over each level's non-empty bins; the candidate
 *                 with the smallest KL(P||Q) wins. int8: on the folded |x|
 *                 histogram, L = 128, candidates from 128 bins up; uint8:
 *                 on the signed histogram with L = 256, choosing the upper
 *                 and lower cut by alternating one-sided searches (a single
 *                 search when the tensor has no negative values).
 *                 Clipping guard: KL sees clipped values only as extra mass
 *                 in the edge bin, never how far they were moved, so on
 *                 sparse, multi-modal or offset histograms its minimum can
 *                 cut off whole clusters (or collapse onto one bin, KL = 0).
 *                 Only candidates whose expected squared error (the mse
 *                 objective) is no larger than that of the unclipped range
 *                 compete: clipping must pay for itself.
 *  - mse:         the range minimising the expected squared quantization
 *                 error over the histogram: rounding noise step^2/12 for
 *                 values inside, (x - edge)^2 for clipped values outside;
 *                 exhaustive over bin edges with prefix sums.
 *  - auto:        per tensor, the range of minmax, percentile, entropy or
 *                 mse with the lowest exact quantization error
 *                 (onnxq_range_exact_mse: the real scale and integer zero
 *                 point, rounding and saturation integrated over each bin).
 *                 That differs from mse's step^2/12 model where the mass is
 *                 concentrated near exactly representable values (0 above
 *                 all: ReLU/HardSwish/Sigmoid outputs), so auto keeps wider
 *                 ranges there. The chosen method is reported.
 * Every range is widened to include 0 and to at least ONNXQ_RANGE_MIN_WIDTH. */
#ifndef ONNXQ_CALIBRATION_RANGES_H
#define ONNXQ_CALIBRATION_RANGES_H

#include <stdint.h>

#include "calibration/histogram.h"

enum onnxq_calib_method {
    ONNXQ_CALIB_MINMAX = 0,
    ONNXQ_CALIB_AVG_MINMAX,
    ONNXQ_CALIB_EMA,
    ONNXQ_CALIB_PERCENTILE,
    ONNXQ_CALIB_ENTROPY,
    ONNXQ_CALIB_MSE,
    ONNXQ_CALIB_AUTO,
    ONNXQ_CALIB_METHOD_COUNT
};

/* Activation quantization types. */
enum onnxq_qtype {
    ONNXQ_QTYPE_UINT8 = 0,  /* asymmetric, zero point in 0..255 */
    ONNXQ_QTYPE_INT8,       /* symmetric, zero point 0, -127..127 */
    ONNXQ_QTYPE_COUNT
};

#define ONNXQ_RANGE_MIN_WIDTH (1.0 / 1048576.0)
#define ONNXQ_PERCENTILE_DEFAULT 99.999
#define ONNXQ_ENTROPY_START_BINS 128

struct onnxq_range_params {
    double percentile;  /* in (50, 100]; default ONNXQ_PERCENTILE_DEFAULT */
};

struct onnxq_range_result {
    double lo, hi;      /* before widening to include 0 */
    enum onnxq_calib_method chosen;  /* auto: the method it picked; else the method itself */
};

typedef enum onnxq_status (*onnxq_calib_range_fn)(const struct onnxq_hist *h, enum onnxq_qtype qt,
                                            const struct onnxq_range_params *p, struct onnxq_range_result *out,
                                            struct onnxq_error *err);

struct onnxq_calib_method_def {
    const char *name;
    const char *summary;
    bool needs_histogram;
    onnxq_calib_range_fn compute;
};

extern const struct onnxq_calib_method_def onnxq_calib_methods[ONNXQ_CALIB_METHOD_COUNT];

extern const char *const onnxq_qtype_names[ONNXQ_QTYPE_COUNT];

void onnxq_range_params_init(struct onnxq_range_params *p);

/* Method by name ("minmax", "entropy", ...). */
enum onnxq_status onnxq_calib_method_parse(const char *name, enum onnxq_calib_method *out, struct onnxq_error *err);

/* Range of one tensor. Fails (naming `tensor`) when it saw no finite value. */
enum onnxq_status onnxq_range_compute(const struct onnxq_hist *h, const char *tensor, enum onnxq_calib_method m,
                                      enum onnxq_qtype qt, const struct onnxq_range_params *p, double *lo,
                                      double *hi, struct onnxq_error *err);

/* As onnxq_range_compute, also giving the method whose range it is (for
 * auto, the one it chose; else m). `chosen` may be NULL. */
enum onnxq_status onnxq_range_compute_choice(const struct onnxq_hist *h, const char *tensor, enum onnxq_calib_method m,
                                             enum onnxq_qtype qt, const struct onnxq_range_params *p, double *lo,
                                             double *hi, enum onnxq_calib_method *chosen, struct onnxq_error *err);

/* The candidates auto chooses from, in order of preference on ties. */
#define ONNXQ_AUTO_CANDIDATES 4
extern const enum onnxq_calib_method onnxq_auto_candidates[ONNXQ_AUTO_CANDIDATES];

/* auto's choice among given candidate ranges (have[k]: lo[k]/hi[k] hold the
 * range of onnxq_auto_candidates[k]): the index k with the lowest
 * onnxq_range_exact_mse, the earliest on ties; -1 when none is given. */
int onnxq_range_auto_pick(const struct onnxq_hist *h, enum onnxq_qtype qt, const bool *have, const double *lo,
                          const double *hi);

/* Scale and zero point for a range (widened to include 0, minimum width). */
void onnxq_qparams_from_range(double lo, double hi, enum onnxq_qtype qt, float *scale, int32_t *zero_point);

/* Expected squared error of quantizing the histogram's distribution with
 * range [lo, hi] and type qt (the MSE method's objective; `auto` uses it). */
double onnxq_range_expected_mse(const struct onnxq_hist *h, double lo, double hi, enum onnxq_qtype qt);

/* Exact expected squared error of quantizing the histogram's distribution
 * with the scale and zero point onnxq_qparams_from_range gives for [lo, hi]:
 * values uniform within each bin (the first and last non-empty bins cut to
 * [min, max]), rounded to the integer grid and saturated at its ends
 * (uint8 0..255, int8 -128..127, as QuantizeLinear does). auto's objective. */
double onnxq_range_exact_mse(const struct onnxq_hist *h, double lo, double hi, enum onnxq_qtype qt);

/* Quantile of the signed (fold = false) or |x| (fold = true) distribution,
 * q in [0, 1], linear within a bin. */
double onnxq_hist_quantile(const struct onnxq_hist *h, double q, bool fold);

#endif
