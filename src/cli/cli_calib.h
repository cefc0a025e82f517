#ifndef ONNXQ_CLI_CALIB_H
#define ONNXQ_CLI_CALIB_H

#include <stdbool.h>

#include "calibration/dataset.h"
#include "calibration/observer.h"

struct onnxq_observe_stats {
    size_t samples, batches;
    double data_seconds;  /* decoding and preprocessing */
    double run_seconds;   /* executor and observers */
    double observe_seconds; /* of which in the observers (node hook, model inputs, waiting for binning) */
    double background_seconds; /* histogram binning on the pool's workers, overlapping data reading */
    char source[256];     /* dataset description */
};

/* Run every batch of `data` through the model; with `observe`, feed the
 * observer (model inputs and every node output). Progress on stderr unless
 * quiet. */
enum onnxq_status onnxq_cli_observe(struct onnxq_context *ctx, const struct onnxq_model *m, const char *data,
                                    const struct onnxq_dataset_options *dopts, bool observe, bool quiet,
                                    struct onnxq_observer *obs, struct onnxq_observe_stats *stats,
                                    struct onnxq_error *err);

/* Warn about NaN/Inf counts; fail for a tensor that had nothing else. */
enum onnxq_status onnxq_cli_check_observed(const struct onnxq_observer *obs, size_t *with_nan, struct onnxq_error *err);

#endif
