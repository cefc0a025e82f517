/* In-process A/B of what observing costs the executor: one prepared model
 * (as `onnxq calibrate` prepares it), one sample, runs interleaved in four
 * modes, so that the VM's drift hits every mode alike:
 *   plain         the executor alone
 *   stats         + the kernels' min/max/sum of every float output
 *   capture       + the kernels' copy of the histogram subsample
 *   observer      + the observer hook, binning deferred to the pool's
 *                 workers (joined after the timed run: in calibrate it
 *                 overlaps the reading of the next sample)
 * Prints a table (median and min ms, ratio plain/mode); asserts nothing.
 * A benchmark, not a test: scripts/bench-calib.sh runs it when built.
 *
 * usage: bench_observe MODEL DATA [RUNS [SIZE]]
 *   DATA: what `onnxq calibrate --data` takes (its first sample is used);
 *   images are resized to SIZE x SIZE (default 640) with ImageNet mean/std. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calibration/dataset.h"
#include "calibration/histogram.h"
#include "calibration/observer.h"
#include "core/clock.h"
#include "core/context.h"
#include "core/threadpool.h"
#include "exec/exec.h"
#include "onnx/onnx_io.h"
#include "quant/quantize.h"

enum { MODE_PLAIN, MODE_STATS, MODE_CAPTURE, MODE_OBSERVER, MODE_COUNT };

static const char *const mode_names[MODE_COUNT] = {
    [MODE_PLAIN] = "plain",
    [MODE_STATS] = "+ kernel statistics",
    [MODE_CAPTURE] = "+ subsample capture",
    [MODE_OBSERVER] = "+ observer (deferred binning)",
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_observe MODEL DATA [RUNS [SIZE]]\n");
        return 2;
    }
    int runs = argc > 3 ? atoi(argv[3]) : 30, size = argc > 4 ? atoi(argv[4]) : 640;
    if (runs < 1 || size < 1) {
        fprintf(stderr, "bench_observe: RUNS and SIZE must be positive\n");
        return 2;
    }
    int rc = 1;
    struct onnxq_error err = {0};
    struct onnxq_context *ctx = NULL;
    struct onnxq_model *m = NULL;
    struct onnxq_exec *e = NULL;
    struct onnxq_dataset *ds = NULL;
    struct onnxq_observer obs;
    bool obs_ready = false;
    struct onnxq_tensor *in = NULL, *out = NULL;
    const struct onnxq_tensor **inp = NULL;
    const struct onnxq_value_info **decl = NULL;
    double *t = NULL;
    if (onnxq_context_new(&ctx, &err) || onnxq_context_set_threads(ctx, 2, &err) ||
        onnxq_model_load(ctx, argv[1], &m, &err) || onnxq_quant_prepare(m, true, &err) ||
        onnxq_exec_new(ctx, m, &e, &err))
        goto out;
    size_t nin = onnxq_exec_n_inputs(e), nout = onnxq_exec_n_outputs(e);
    in = calloc(nin + 1, sizeof(*in));
    inp = calloc(nin + 1, sizeof(*inp));
    decl = calloc(nin + 1, sizeof(*decl));
    out = calloc(nout + 1, sizeof(*out));
    t = calloc((size_t)runs * MODE_COUNT, sizeof(double));
    if (!in || !inp || !decl || !out || !t) {
        fprintf(stderr, "bench_observe: out of memory\n");
        goto out;
    }
    for (size_t i = 0; i < nin; i++) {
        decl[i] = onnxq_exec_input(e, i);
        inp[i] = &in[i];
    }
    struct onnxq_dataset_options dopts;
    onnxq_dataset_options_init(&dopts);
    dopts.image.height = dopts.image.width = size;
    const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
    memcpy(dopts.image.mean, mean, sizeof(mean));
    memcpy(dopts.image.std, std, sizeof(std));
    dopts.count = 1;
    if (onnxq_dataset_open(argv[2], decl, nin, &dopts, &ds, &err) || onnxq_dataset_get_batch(ds, 0, in, &err))
        goto out;
    if (onnxq_observer_init(&obs, 2048, ONNXQ_EMA_DEFAULT, &err))
        goto out;
    obs_ready = true;
    struct onnxq_threadpool *pool = onnxq_exec_threadpool(e);
    if (onnxq_observer_set_threadpool(&obs, pool, &err) || onnxq_observer_defer(&obs, pool, (size_t)16 << 20, &err))
        goto out;
    obs.exec = e;
    onnxq_observer_prepare(&obs, e);
    onnxq_observer_wait(&obs);
    for (int r = -1; r < runs; r++) { /* r = -1: a warm-up round */
        for (int mode = 0; mode < MODE_COUNT; mode++) {
            onnxq_exec_set_output_stats(e, mode >= MODE_STATS);
            onnxq_exec_set_output_sample(e, mode >= MODE_CAPTURE ? obs.hist_sample : 0);
            onnxq_exec_set_hook(e, mode == MODE_OBSERVER ? onnxq_observer_hook : NULL, &obs);
            double t0 = onnxq_now_seconds();
            if (onnxq_exec_run(e, inp, out, &err)) {
                if (obs.failed)
                    err = obs.error;
                goto out;
            }
            double t1 = onnxq_now_seconds();
            if (mode == MODE_OBSERVER) {
                onnxq_observer_start(&obs);
                onnxq_observer_wait(&obs);
            }
            if (r >= 0)
                t[(size_t)mode * (size_t)runs + (size_t)r] = t1 - t0;
            for (size_t i = 0; i < nout; i++)
                onnxq_exec_recycle_output(e, &out[i]);
        }
    }
    printf("in-process A/B on %s, %d interleaved runs a mode, 2 threads\n\n", argv[1], runs);
    printf("%-32s %10s %10s %14s\n", "mode", "median ms", "min ms", "plain / mode");
    double base = 0;
    for (int mode = 0; mode < MODE_COUNT; mode++) {
        double *v = t + (size_t)mode * (size_t)runs;
        qsort(v, (size_t)runs, sizeof(double), cmp_double);
        double med = v[runs / 2];
        if (mode == MODE_PLAIN)
            base = med;
        printf("%-32s %10.2f %10.2f %14.3f\n", mode_names[mode], med * 1e3, v[0] * 1e3, base / med);
    }
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "bench_observe: %s\n", err.message[0] ? err.message : "failed");
    if (obs_ready) {
        onnxq_observer_wait(&obs);
        obs.defer_pool = NULL;
        onnxq_observer_set_threadpool(&obs, NULL, NULL);
        onnxq_observer_clear(&obs);
    }
    for (size_t i = 0; in && i < onnxq_exec_n_inputs(e); i++)
        onnxq_tensor_clear(&in[i]);
    for (size_t i = 0; out && i < onnxq_exec_n_outputs(e); i++)
        onnxq_tensor_clear(&out[i]);
    free(in);
    free(inp);
    free(decl);
    free(out);
    free(t);
    onnxq_dataset_free(ds);
    onnxq_exec_free(e);
    onnxq_model_free(m);
    onnxq_context_free(ctx);
    return rc;
}
