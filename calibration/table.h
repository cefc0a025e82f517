/* Calibration tables: what one calibration run learned, saved as JSON (with
 * json-c) so that a user calibrates once and quantizes with many settings.
 *
 * Per tensor the table holds the stats (count, min, max, NaN/Inf counts,
 * sums, averaged and EMA min/max), optionally the histogram, and the range
 * each requested method gives for each activation type (for auto, also
 * the method it chose: "auto_method": {"uint8": "mse", ...}). Tables with
 * histograms merge exactly (shards of one dataset); any range can then be
 * recomputed from the merged histogram. */
#ifndef ONNXQ_CALIBRATION_TABLE_H
#define ONNXQ_CALIBRATION_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "calibration/histogram.h"
#include "calibration/observer.h"
#include "calibration/ranges.h"

#define ONNXQ_TABLE_FORMAT "onnxq-calibration"
#define ONNXQ_TABLE_VERSION 1

struct onnxq_calib_entry {
    char *name;
    struct onnxq_hist hist;   /* stats always; counts only if has_hist */
    bool has_hist;
    bool has_range[ONNXQ_QTYPE_COUNT][ONNXQ_CALIB_METHOD_COUNT];
    double lo[ONNXQ_QTYPE_COUNT][ONNXQ_CALIB_METHOD_COUNT];
    double hi[ONNXQ_QTYPE_COUNT][ONNXQ_CALIB_METHOD_COUNT];
    /* the method auto chose, when has_range[q][ONNXQ_CALIB_AUTO]
     * (ONNXQ_CALIB_METHOD_COUNT: not recorded) */
    enum onnxq_calib_method auto_method[ONNXQ_QTYPE_COUNT];
};

struct onnxq_calib_table {
    char *model;              /* model file it was made for (informational) */
    uint64_t samples;
    uint32_t bins;
    double ema;
    struct onnxq_range_params params;
    size_t n;
    struct onnxq_calib_entry *e;
    /* tensors the run saw that are not float (never quantized) */
    size_t n_nonfloat;
    char **nonfloat;
};

/* Build a table from an observer: stats and histograms of every tensor,
 * and the ranges of every method whose bit is set in `methods`
 * (1u << enum onnxq_calib_method). `kl_seconds`, when not NULL, receives
 * the time spent in the entropy search. */
enum onnxq_status onnxq_calib_table_build(const struct onnxq_observer *o, const char *model, uint64_t samples,
                                          unsigned methods, const struct onnxq_range_params *params,
                                          struct onnxq_calib_table *out, double *kl_seconds, struct onnxq_error *err);

/* (Re)compute ranges for `methods` from the stored histograms. */
enum onnxq_status onnxq_calib_table_compute(struct onnxq_calib_table *t, unsigned methods, double *kl_seconds,
                                            struct onnxq_error *err);

/* Write atomically; histograms are written only when keep_histograms. */
enum onnxq_status onnxq_calib_table_write(const struct onnxq_calib_table *t, const char *path, bool keep_histograms,
                                          struct onnxq_error *err);
enum onnxq_status onnxq_calib_table_read(const char *path, struct onnxq_calib_table *out, struct onnxq_error *err);

/* out = a + b: stats and histograms merged exactly; ranges recomputed for
 * every method either table had (histogram methods need histograms in both). */
enum onnxq_status onnxq_calib_table_merge(const struct onnxq_calib_table *a, const struct onnxq_calib_table *b,
                                          struct onnxq_calib_table *out, struct onnxq_error *err);

const struct onnxq_calib_entry *onnxq_calib_table_find(const struct onnxq_calib_table *t, const char *name);
/* True when the calibration run saw `name` as a non-float tensor. */
bool onnxq_calib_table_is_nonfloat(const struct onnxq_calib_table *t, const char *name);

/* Range of a tensor for a method and type: the stored one, else computed
 * from the histogram, else an error naming the tensor and what is missing. */
enum onnxq_status onnxq_calib_entry_range(const struct onnxq_calib_table *t, const struct onnxq_calib_entry *e,
                                          enum onnxq_calib_method m, enum onnxq_qtype qt, double *lo, double *hi,
                                          struct onnxq_error *err);

/* The method whose range `m` gives this tensor: m itself, or for auto the
 * recorded choice (ONNXQ_CALIB_METHOD_COUNT when there is none). */
enum onnxq_calib_method onnxq_calib_entry_chosen(const struct onnxq_calib_entry *e, enum onnxq_calib_method m,
                                                 enum onnxq_qtype qt);

/* How many tensors auto gave each method's range, for type qt. */
void onnxq_calib_table_auto_counts(const struct onnxq_calib_table *t, enum onnxq_qtype qt,
                                   size_t counts[ONNXQ_CALIB_METHOD_COUNT]);

void onnxq_calib_table_clear(struct onnxq_calib_table *t);

#endif
