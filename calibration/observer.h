/* Activation observer: plugs into the executor's per-node hook and keeps a
 * streaming histogram (calibration/histogram.h) for every float tensor the
 * main graph produces, and for the float model inputs it is shown.
 * Memory: one histogram per tensor, whatever the number of samples. */
#ifndef ONNXQ_CALIBRATION_OBSERVER_H
#define ONNXQ_CALIBRATION_OBSERVER_H

#include <stdatomic.h>
#include <stddef.h>

#include "calibration/histogram.h"
#include "core/strmap.h"
#include "core/tensor.h"
#include "ir/graph.h"

struct onnxq_exec;

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
    /* the executor the hook observes (borrowed, optional): when set, and
     * onnxq_exec_set_output_stats is on, statistics its kernels gathered
     * replace the scan of the tensor */
    const struct onnxq_exec *exec;
    /* deferred binning (onnxq_observer_defer): the hook only takes the
     * statistics and copies the subsample into `pend`; the pool's workers
     * bin it while the caller prepares the next sample */
    struct onnxq_threadpool *defer_pool;
    size_t defer_budget;        /* max floats held in pend */
    float *pend;
    size_t pend_used, pend_cap;
    struct onnxq_pending *jobs;
    size_t n_jobs, cap_jobs;
    bool binning;               /* workers are binning pend */
    atomic_size_t bin_next;     /* next pending tensor to claim */
    double wait_seconds;        /* time callers waited for the workers */
    double bin_seconds;         /* workers' binning time, summed (slot_seconds) */
    double slot_seconds[64];
    struct onnxq_exec *prep_exec; /* onnxq_observer_prepare's, until the wait */
    uint64_t **spare;             /* zeroed histogram counts it made ready */
    size_t n_spare;
    bool failed;
    struct onnxq_error error;   /* why the hook stopped the run */
};

struct onnxq_pending;  /* one deferred tensor: record, statistics, values in pend */

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

/* Defer histogram binning to the workers of `pool` (borrowed; the
 * executor's, whose workers idle between runs). Subsamples the kernels
 * captured (onnxq_exec_set_output_sample with the observer's cap) are
 * binned where the executor keeps them, so the next run must not start
 * before onnxq_observer_wait; others are copied, at most `budget` floats
 * at a time (tensors past it are binned in the hook).
 * Needs a histogram subsample (hist_sample > 0). The caller runs:
 *   for each sample: onnxq_observer_wait; observe inputs; run the model;
 *                    onnxq_observer_start
 *   and onnxq_observer_wait before reading the histograms.
 * Results are identical to immediate binning. */
enum onnxq_status onnxq_observer_defer(struct onnxq_observer *o, struct onnxq_threadpool *pool, size_t budget,
                                       struct onnxq_error *err);
void onnxq_observer_start(struct onnxq_observer *o);
void onnxq_observer_wait(struct onnxq_observer *o);

/* With deferred binning, before the first run: in the background, on the
 * pool's workers, have `e` reserve its subsample memory for one run and
 * the pending buffer its first piece, and zeroed histogram counts for
 * the tensors to come, pages touched, while the caller reads
 * the first sample; the next onnxq_observer_wait joins it. Memory first
 * touched in the first run would fault page by page inside the kernels.
 * No-op without deferred binning. */
void onnxq_observer_prepare(struct onnxq_observer *o, struct onnxq_exec *e);

/* Record by name, or NULL. */
const struct onnxq_observed *onnxq_observer_find(const struct onnxq_observer *o, const char *name);

#endif
