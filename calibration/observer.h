/* Activation observer: plugs into the executor's per-node hook and keeps a
 * streaming histogram (calibration/histogram.h) for every float tensor the
 * main graph produces, and for the float model inputs it is shown.
 * Memory: one histogram per tensor, whatever the number of samples. */
#ifndef ONNXQ_CALIBRATION_OBSERVER_H
#define ONNXQ_CALIBRATION_OBSERVER_H

#include <stddef.h>

#include "calibration/histogram.h"
#include "core/strmap.h"
#include "core/tensor.h"
#include "ir/graph.h"

struct onnxq_observed {
    char *name;
    struct onnxq_hist hist;
};

struct onnxq_observer {
    uint32_t bins;
    double ema;
    /* histogram subsample cap per tensor per sample (0 = bin every value;
     * default ONNXQ_HIST_DEFAULT_SAMPLE) and samples per run (the batch),
     * which scales it */
    uint64_t hist_sample;
    size_t run_samples;
    /* per-thread partial histograms on the executor's pool (or none) */
    struct onnxq_hist_workspace ws;
    struct onnxq_strmap index;  /* name -> position + 1 */
    struct onnxq_observed *t;
    size_t n, cap;
    /* names of the non-float tensors seen (int64 shape math, bool masks...):
     * they are never quantized, and a table that knows them can tell a
     * non-float tensor from one missing because the table is stale */
    struct onnxq_strmap nonfloat_index;
    char **nonfloat;
    size_t n_nonfloat, cap_nonfloat;
    bool failed;
    struct onnxq_error error;   /* why the hook stopped the run */
};

enum onnxq_status onnxq_observer_init(struct onnxq_observer *o, uint32_t bins, double ema, struct onnxq_error *err);
void onnxq_observer_clear(struct onnxq_observer *o);

/* Spread the observer's work over `pool` (borrowed; typically the
 * executor's, idle while the node hook runs). NULL: calling thread only. */
enum onnxq_status onnxq_observer_set_threadpool(struct onnxq_observer *o, struct onnxq_threadpool *pool,
                                               struct onnxq_error *err);

/* Observe one tensor under `name` (float32 only; other dtypes are ignored). */
enum onnxq_status onnxq_observer_add(struct onnxq_observer *o, const char *name, const struct onnxq_tensor *t,
                                     struct onnxq_error *err);

/* onnxq_node_hook-compatible: observes every float output of the node. On
 * failure it stores the error in the observer and returns non-zero. */
int onnxq_observer_hook(void *user, const struct onnxq_node *node, struct onnxq_tensor *const *outputs,
                        size_t n_outputs);

/* Record by name, or NULL. */
const struct onnxq_observed *onnxq_observer_find(const struct onnxq_observer *o, const char *name);

#endif
