/* Output-fidelity metrics between a float reference and a test tensor
 * (FP32 model vs INT8 model). Shared by `onnxq compare`, `onnxq
 * sensitivity` and `onnxq quantize --max-loss`.
 *
 * Accumulators stream: add any number of (reference, test) pairs, then read
 * the totals, so a metric over a whole calibration set costs O(1) memory.
 * Definitions:
 *  - SQNR (dB) = 10 log10( sum ref^2 / sum (ref - test)^2 ); +inf when the
 *    two are identical, and 0 dB-referenced as such when ref is all zero.
 *  - cosine = sum ref*test / sqrt(sum ref^2 * sum test^2) (1 when both are
 *    all zero, 0 when exactly one is).
 *  - max_abs = max |ref - test|.
 *  - top-1 agreement: over rows of the last axis (class scores), the share
 *    of rows whose argmax is the same. */
#ifndef ONNXQ_EVAL_METRICS_H
#define ONNXQ_EVAL_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct onnxq_fidelity {
    double sum_ref2, sum_test2, sum_dot, sum_err2;
    double max_abs;
    uint64_t count;         /* values compared */
    uint64_t nonfinite;     /* pairs where either side was NaN/Inf (excluded) */
    uint64_t rows, top1_agree;  /* top-1 over rows of the last axis */
};

void onnxq_fidelity_init(struct onnxq_fidelity *f);

/* Accumulate n value pairs. */
void onnxq_fidelity_add(struct onnxq_fidelity *f, const float *ref, const float *test, size_t n);

/* Accumulate top-1 agreement over n/row_len rows of row_len values
 * (row_len >= 2; a trailing partial row is ignored). */
void onnxq_fidelity_add_top1(struct onnxq_fidelity *f, const float *ref, const float *test, size_t n,
                             size_t row_len);

/* dst += src (shards, e.g. per sample or per thread). */
void onnxq_fidelity_merge(struct onnxq_fidelity *dst, const struct onnxq_fidelity *src);

double onnxq_fidelity_sqnr_db(const struct onnxq_fidelity *f);
double onnxq_fidelity_cosine(const struct onnxq_fidelity *f);
/* Share of rows whose argmax agrees, or -1 when no rows were added. */
double onnxq_fidelity_top1(const struct onnxq_fidelity *f);

#endif
