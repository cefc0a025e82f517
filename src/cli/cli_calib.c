/* Shared by `onnxq calibrate` and `onnxq quantize`: stream a dataset
 * through the model's executor and observe every float activation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli_calib.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/threadpool.h"
#include "exec/exec.h"

struct progress {
    bool tty, quiet;
    double start, last;
    size_t total;
};

static void progress_update(struct progress *p, size_t done, bool final)
{
    if (p->quiet)
        return;
    double t = onnxq_now_seconds(), el = t - p->start;
    double rate = el > 0 ? (double)done / el : 0;
    double eta = rate > 0 ? (double)(p->total - done) / rate : 0;
    if (p->tty) {
        if (!final && t - p->last < 0.1)
            return;
        int width = 30, fill = p->total ? (int)((double)width * (double)done / (double)p->total) : width;
        fprintf(stderr, "\r[");
        for (int i = 0; i < width; i++)
            fputc(i < fill ? '=' : (i == fill ? '>' : ' '), stderr);
        fprintf(stderr, "] %zu/%zu samples  %.1f samples/s  ETA %.0fs   ", done, p->total, rate, eta);
        if (final)
            fputc('\n', stderr);
    } else {
        if (!final && t - p->last < 5.0)
            return;
        fprintf(stderr, "onnxq: calibrate: %zu/%zu samples, %.1f samples/s, ETA %.0fs\n", done, p->total, rate, eta);
    }
    p->last = t;
}

/* The observer hook, timed: the summary tells model time from observer time
 * within one run, which a loaded machine does not blur as it blurs two runs. */
/* Subsample floats held for deferred binning: one PP-OCR det sample at
 * 640x640 needs about 13M (200 tensors of up to 65536 values); tensors past
 * the budget are binned in the hook. */
#define DEFER_BUDGET ((size_t)16 << 20)

struct timed_hook {
    struct onnxq_observer *obs;
    double seconds;
};

static int timed_observer_hook(void *user, const struct onnxq_node *node, struct onnxq_tensor *const *outputs,
                               size_t n_outputs)
{
    struct timed_hook *th = user;
    double t0 = onnxq_now_seconds();
    int r = onnxq_observer_hook(th->obs, node, outputs, n_outputs);
    th->seconds += onnxq_now_seconds() - t0;
    return r;
}

enum onnxq_status onnxq_cli_observe(struct onnxq_context *ctx, const struct onnxq_model *m, const char *data,
                                    const struct onnxq_dataset_options *dopts, bool observe, bool quiet,
                                    struct onnxq_observer *obs, struct onnxq_observe_stats *stats,
                                    struct onnxq_error *err)
{
    enum onnxq_status st = ONNXQ_OK;
    struct onnxq_exec *e = NULL;
    struct onnxq_dataset *ds = NULL;
    struct onnxq_tensor *in = NULL, *out = NULL;
    const struct onnxq_tensor **inp = NULL;
    const struct onnxq_value_info **decl = NULL;
    size_t nin = 0, nout = 0;
    memset(stats, 0, sizeof(*stats));
    struct timed_hook th = {.obs = obs};
    if ((st = onnxq_exec_new(ctx, m, &e, err)))
        goto out;
    nin = onnxq_exec_n_inputs(e);
    nout = onnxq_exec_n_outputs(e);
    decl = calloc(nin + 1, sizeof(*decl));
    in = calloc(nin + 1, sizeof(*in));
    inp = calloc(nin + 1, sizeof(*inp));
    out = calloc(nout + 1, sizeof(*out));
    if (!decl || !in || !inp || !out) {
        st = onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nin; i++) {
        decl[i] = onnxq_exec_input(e, i);
        inp[i] = &in[i];
    }
    if ((st = onnxq_dataset_open(data, decl, nin, dopts, &ds, err)))
        goto out;
    if (observe) {
        onnxq_exec_set_hook(e, timed_observer_hook, &th);
        /* the kernels gather each output's statistics while it is in cache */
        onnxq_exec_set_output_stats(e, true);
        obs->exec = e;
        /* and the pool's workers bin the histogram subsamples of one run
         * while the next sample is decoded */
        if (obs->hist_sample && onnxq_threadpool_size(onnxq_exec_threadpool(e)) > 1 &&
            (st = onnxq_observer_defer(obs, onnxq_exec_threadpool(e), DEFER_BUDGET, err)))
            goto out;
        /* the pool idles while the hook runs: the observer bins on it */
        if ((st = onnxq_observer_set_threadpool(obs, onnxq_exec_threadpool(e), err)))
            goto out;
    }
    /* the first run's memory is made ready while the first sample is read */
    if (observe)
        onnxq_observer_prepare(obs, e);
    size_t nb = onnxq_dataset_batches(ds), total = onnxq_dataset_size(ds), done = 0;
    struct progress pr = {.tty = isatty(2) != 0, .quiet = quiet, .start = onnxq_now_seconds(), .total = total};
    if (!quiet)
        fprintf(stderr, "onnxq: calibrate: %s\n", onnxq_dataset_describe(ds));
    for (size_t b = 0; b < nb; b++) {
        double t0 = onnxq_now_seconds();
        if ((st = onnxq_dataset_get_batch(ds, b, in, err)))
            goto out;
        double t1 = onnxq_now_seconds();
        stats->data_seconds += t1 - t0;
        /* the previous run's histograms are complete before anything else
         * touches the observer (the wait counts as observer time) */
        if (observe)
            onnxq_observer_wait(obs);
        size_t bs = in[0].ndim ? (size_t)in[0].dims[0] : 1;
        if (observe) {
            obs->run_samples = bs ? bs : 1;
            onnxq_exec_set_output_sample(e, obs->hist_sample * obs->run_samples);
        }
        for (size_t i = 0; observe && i < nin; i++)
            if ((st = onnxq_observer_add(obs, decl[i]->name, &in[i], err)))
                goto out;
        th.seconds += onnxq_now_seconds() - t1;
        if ((st = onnxq_exec_run(e, inp, out, err))) {
            if (obs->failed)
                *err = obs->error;
            goto out;
        }
        stats->run_seconds += onnxq_now_seconds() - t1;
        if (observe)
            onnxq_observer_start(obs);
        for (size_t i = 0; i < nin; i++)
            onnxq_tensor_clear(&in[i]);
        for (size_t i = 0; i < nout; i++)
            onnxq_exec_recycle_output(e, &out[i]);
        done += bs < total - done ? bs : total - done;
        progress_update(&pr, done, b + 1 == nb);
    }
    if (observe) {
        double t2 = onnxq_now_seconds();
        onnxq_observer_wait(obs);
        stats->run_seconds += onnxq_now_seconds() - t2;
        th.seconds += onnxq_now_seconds() - t2;
        stats->background_seconds = obs->bin_seconds;
    }
    stats->samples = done;
    stats->observe_seconds = th.seconds;
    stats->batches = nb;
    snprintf(stats->source, sizeof(stats->source), "%s", onnxq_dataset_describe(ds));
out:
    for (size_t i = 0; in && i < nin; i++)
        onnxq_tensor_clear(&in[i]);
    for (size_t i = 0; out && i < nout; i++)
        onnxq_tensor_clear(&out[i]);
    free(in);
    free(inp);
    free(out);
    free(decl);
    onnxq_dataset_free(ds);
    if (observe && obs) { /* the pool goes with the executor */
        onnxq_observer_wait(obs);
        obs->defer_pool = NULL;
        onnxq_observer_set_threadpool(obs, NULL, NULL);
        obs->exec = NULL;
    }
    onnxq_exec_free(e);
    return st;
}

enum onnxq_status onnxq_cli_check_observed(const struct onnxq_observer *obs, size_t *with_nan, struct onnxq_error *err)
{
    *with_nan = 0;
    for (size_t i = 0; i < obs->n; i++) {
        const struct onnxq_hist *h = &obs->t[i].hist;
        if (h->nan_count || h->inf_count) {
            (*with_nan)++;
            fprintf(stderr, "onnxq: warning: tensor '%s': %llu NaN and %llu Inf values were counted and left out\n",
                    obs->t[i].name, (unsigned long long)h->nan_count, (unsigned long long)h->inf_count);
        }
        if (h->finite == 0)
            return onnxq_fail(err, ONNXQ_E_DATA,
                              "tensor '%s': every observed value was NaN or Inf; no range can be computed",
                              obs->t[i].name);
    }
    return ONNXQ_OK;
}
