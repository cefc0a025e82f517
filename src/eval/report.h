/* The HTML report of `onnxq quantize --report` and `onnxq compare --report`:
 * one self-contained file (inline CSS and SVG drawn here with stdio, no
 * script, no external resource, so it opens offline and nothing is fetched).
 *
 * Sections, each present when its input is given (otherwise a line says
 * what was not measured):
 *  1. summary: model size FP32 -> INT8, latency (caller-measured, optional),
 *     per graph output SQNR / cosine / max abs / top-1 (compare result);
 *  2. per-layer SQNR: a horizontal bar per matched tensor in FP32 execution
 *     order (compare result), and the worst tensors as a table;
 *  3. sensitivity ranking (onnxq_sens_result) and the --max-loss outcome;
 *  4. nodes kept float: every node of a quantizable op type in the INT8
 *     model that does not read a Q->DQ activation (onnxq_report_plan_scan);
 *  5. activation histograms: per quantized tensor, the calibration
 *     histogram (down-sampled to at most ONNXQ_REPORT_HIST_COLS columns,
 *     log or linear counts) with the range of every calibration method as
 *     coloured markers and the range the INT8 model actually uses (from its
 *     QuantizeLinear scale and zero point) as a shaded band.
 * Every name from a model is HTML-escaped. */
#ifndef ONNXQ_EVAL_REPORT_H
#define ONNXQ_EVAL_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "calibration/histogram.h"
#include "calibration/ranges.h"
#include "calibration/table.h"
#include "eval/compare.h"
#include "eval/sensitivity.h"
#include "ir/graph.h"
#include "quant/quantize.h"

#define ONNXQ_REPORT_HIST_COLS 120

/* What the INT8 model does, read back from its graph. */
struct onnxq_report_qtensor {
    char *name;       /* activation read by a QuantizeLinear (not an initializer) */
    float scale;
    int32_t zero_point;
    bool is_int8;     /* int8 (else uint8) */
    double lo, hi;    /* representable range: (qmin - zp) * scale .. (qmax - zp) * scale;
                         int8 with zero point 0 uses -127 (symmetric) */
};

struct onnxq_report_node {
    char *name;       /* "" when unnamed */
    char *op_type;
    bool quantized;   /* some input is DequantizeLinear(QuantizeLinear(x)) */
};

struct onnxq_report_plan {
    size_t n_qtensors;
    struct onnxq_report_qtensor *qtensors;  /* graph order of the Q nodes */
    size_t n_nodes;
    struct onnxq_report_node *nodes;        /* nodes of quantizable op types, graph order */
    size_t n_float;                         /* nodes with quantized = false */
};

/* Scan an INT8 QDQ model (main graph). `op_types` (NULL-terminated) are the
 * op types that count as quantizable; NULL = the rewriter's set (Conv,
 * ConvTranspose, Gemm, MatMul, Add, Mul, Concat, AveragePool,
 * GlobalAveragePool, Resize, Sigmoid, Softmax). */
enum onnxq_status onnxq_report_plan_scan(const struct onnxq_model *int8, const char *const *op_types,
                                         struct onnxq_report_plan *out, struct onnxq_error *err);
void onnxq_report_plan_clear(struct onnxq_report_plan *p);

/* Everything the report shows; the caller fills what it has (zero the
 * struct with onnxq_report_input_init first). Pointers are borrowed. */
struct onnxq_report_input {
    const char *title;       /* page heading; NULL = "onnxq report" */
    const char *command;     /* command line shown under the title (may be NULL) */
    const char *fp32_path, *int8_path;
    const char *settings;    /* free text, e.g. "entropy, uint8 activations, placement auto" */

    const struct onnxq_compare_result *compare;  /* sections 1-2 */
    const struct onnxq_sens_result *sens;        /* section 3 */
    const struct onnxq_maxloss_result *maxloss;  /* section 3 */
    const char *maxloss_spec;                    /* "sqnr>=30 dB" */
    const struct onnxq_report_plan *plan;        /* sections 4-5 */
    const struct onnxq_quant_report *quant;      /* per op type counts (section 4) */

    const struct onnxq_calib_table *table;       /* section 5 */
    enum onnxq_qtype act_type;                   /* which ranges of the table to draw */
    int method;                                  /* chosen enum onnxq_calib_method, -1 = unknown */
    bool linear_counts;                          /* histogram y axis linear (default log) */
    size_t max_histograms;                       /* 0 = every quantized tensor */

    long long size_fp32, size_int8;              /* bytes; < 0 = unknown */
    double latency_fp32_ms, latency_int8_ms;     /* <= 0 or NaN = not measured */
    const char *latency_note;                    /* how it was measured */
};

void onnxq_report_input_init(struct onnxq_report_input *in);

/* Write the page to `f` (errors name `what`). */
enum onnxq_status onnxq_report_render(FILE *f, const char *what, const struct onnxq_report_input *in,
                                      struct onnxq_error *err);

/* Render into memory and write `path` atomically (temp file + rename). */
enum onnxq_status onnxq_report_write(const char *path, const struct onnxq_report_input *in,
                                     struct onnxq_error *err);

/* ---- pieces exposed for tests ---- */

/* HTML-escape s (& < > " ') to f. */
void onnxq_report_escape(FILE *f, const char *s);

/* Down-sample the histogram's counts over [xa, xb) into `cols` columns
 * (each original bin goes to the column holding its centre; bins outside
 * are dropped). Returns the sum of the columns. */
uint64_t onnxq_report_downsample(const struct onnxq_hist *h, double xa, double xb, size_t cols, uint64_t *out);

#endif
