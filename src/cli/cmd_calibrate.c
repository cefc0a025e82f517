/* onnxq calibrate: stream a dataset through the model, observe every float
 * activation, and write a calibration table. Also merges tables. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "calibration/dataset.h"
#include "calibration/observer.h"
#include "calibration/table.h"
#include "cli/cli.h"
#include "cli/cli_calib.h"
#include "core/clock.h"
#include "cli/cli_data.h"
#include "core/context.h"
#include "core/error.h"
#include "exec/exec.h"
#include "quant/quantize.h"

#define ONNXQ_STR_(x) #x
#define ONNXQ_STR(x) ONNXQ_STR_(x)

static const char usage_head[] =
    "onnxq calibrate MODEL --data PATH -o TABLE.json [--method LIST|all] [--bins N] [--percentile P]\n"
    "                [--ema C] [--hist-sample N] [--keep-histograms] [--threads N] [--quiet]\n"
    "onnxq calibrate --merge A.json B.json [...] -o TABLE.json\n"
    "  --method: comma-separated from minmax, avg_minmax, ema, percentile, entropy, mse, auto (default: all)\n"
    "  --hist-sample N: the histograms bin about N values per tensor per sample, a fixed stratified\n"
    "                subsample (count, min, max, NaN/Inf and sums still cover every value); 0 bins\n"
    "                every value (default: " ONNXQ_STR(ONNXQ_HIST_DEFAULT_SAMPLE) ", see docs/calibration.md)\n";

static void usage(FILE *f)
{
    fprintf(f, "usage: %s%s\n", usage_head, onnxq_cli_data_usage);
}

static int parse_methods(const char *s, unsigned *out)
{
    if (strcmp(s, "all") == 0) {
        *out = (1u << ONNXQ_CALIB_METHOD_COUNT) - 1;
        return 0;
    }
    unsigned m = 0;
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", s);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        enum onnxq_calib_method cm;
        struct onnxq_error err;
        if (onnxq_calib_method_parse(tok, &cm, &err) != ONNXQ_OK) {
            fprintf(stderr, "onnxq: error: %s\n", err.message);
            return -1;
        }
        m |= 1u << cm;
    }
    if (!m)
        return -1;
    *out = m;
    return 0;
}

static int do_merge(int n, char **files, const char *out_path)
{
    struct onnxq_error err;
    struct onnxq_calib_table acc = {0}, next = {0}, merged = {0};
    int rc = 1;
    if (onnxq_calib_table_read(files[0], &acc, &err) != ONNXQ_OK)
        return onnxq_cli_report(&err);
    bool hist = true;
    for (size_t i = 0; i < acc.n; i++)
        hist &= acc.e[i].has_hist;
    for (int f = 1; f < n; f++) {
        if (onnxq_calib_table_read(files[f], &next, &err) != ONNXQ_OK) {
            rc = onnxq_cli_report(&err);
            goto out;
        }
        for (size_t i = 0; i < next.n; i++)
            hist &= next.e[i].has_hist;
        if (onnxq_calib_table_merge(&acc, &next, &merged, &err) != ONNXQ_OK) {
            onnxq_error_prefix(&err, "merging %s: ", files[f]);
            rc = onnxq_cli_report(&err);
            goto out;
        }
        onnxq_calib_table_clear(&acc);
        onnxq_calib_table_clear(&next);
        acc = merged;
        memset(&merged, 0, sizeof(merged));
    }
    if (!hist)
        fprintf(stderr, "onnxq: warning: some tables have no histograms: only min/max-based ranges are exact after "
                        "merging (calibrate with --keep-histograms)\n");
    if (onnxq_calib_table_write(&acc, out_path, hist, &err) != ONNXQ_OK) {
        rc = onnxq_cli_report(&err);
        goto out;
    }
    printf("merged %d tables: %zu tensors, %llu samples -> %s\n", n, acc.n, (unsigned long long)acc.samples, out_path);
    rc = 0;
out:
    onnxq_calib_table_clear(&acc);
    onnxq_calib_table_clear(&next);
    onnxq_calib_table_clear(&merged);
    return rc;
}

int onnxq_cmd_calibrate(struct onnxq_context *ctx, int argc, char **argv)
{
    const char *model_path = NULL, *data = NULL, *out_path = NULL;
    unsigned methods = (1u << ONNXQ_CALIB_METHOD_COUNT) - 1;
    uint32_t bins = ONNXQ_HIST_DEFAULT_BINS;
    uint64_t hist_sample = ONNXQ_HIST_DEFAULT_SAMPLE;
    double ema = ONNXQ_EMA_DEFAULT;
    bool keep_hist = false, quiet = false, merge = false, observe = true;
    struct onnxq_range_params params;
    struct onnxq_dataset_options dopts;
    onnxq_range_params_init(&params);
    onnxq_dataset_options_init(&dopts);
    char **merge_files = calloc((size_t)argc, sizeof(char *));
    int n_merge = 0, rc = 2;
    struct onnxq_error err;
    struct onnxq_model *m = NULL;
    struct onnxq_observer obs = {0};
    struct onnxq_calib_table table = {0};
    if (!merge_files)
        return 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL, *why = NULL;
        int d = onnxq_cli_data_option(argc, argv, &i, &dopts, &why);
        if (d < 0) {
            fprintf(stderr, "onnxq: error: %s\n", why);
            usage(stderr);
            goto out;
        }
        if (d > 0)
            continue;
        int c = onnxq_cli_common_option(ctx, argc, argv, &i, &quiet);
        if (c < 0)
            goto out;
        if (c > 0)
            continue;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            rc = 0;
            goto out;
        }
        if (strcmp(a, "--merge") == 0)
            merge = true;
        else if (strcmp(a, "--data") == 0 && v)
            data = argv[++i];
        else if ((strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) && v)
            out_path = argv[++i];
        else if (strcmp(a, "--method") == 0 && v) {
            if (parse_methods(argv[++i], &methods) != 0) {
                usage(stderr);
                goto out;
            }
        } else if (strcmp(a, "--bins") == 0 && v) {
            bins = (uint32_t)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(a, "--percentile") == 0 && v) {
            params.percentile = strtod(argv[++i], NULL);
            if (!(params.percentile > 50 && params.percentile <= 100)) {
                fprintf(stderr, "onnxq: error: --percentile must be in (50, 100]\n");
                goto out;
            }
        } else if (strcmp(a, "--hist-sample") == 0 && v) {
            const char *arg = argv[++i];
            size_t n;
            if (onnxq_cli_parse_count(arg, &n) != 0) {
                fprintf(stderr, "onnxq: error: --hist-sample takes a count >= 0 (0: every value), got '%s'\n", arg);
                goto out;
            }
            hist_sample = n;
        } else if (strcmp(a, "--ema") == 0 && v) {
            ema = strtod(argv[++i], NULL);
        } else if (strcmp(a, "--keep-histograms") == 0) {
            keep_hist = true;
        } else if (strcmp(a, "--no-observers") == 0) {
            observe = false; /* benchmark aid: the same run without observing */
        } else if (!onnxq_cli_is_option(a) && merge) {
            merge_files[n_merge++] = argv[i];
        } else if (!onnxq_cli_is_option(a) && !model_path) {
            model_path = a;
        } else {
            onnxq_cli_bad_argument(a);
            usage(stderr);
            goto out;
        }
    }
    if (!out_path && observe) {
        fprintf(stderr, "onnxq: error: -o TABLE.json is required\n");
        usage(stderr);
        goto out;
    }
    if (merge) {
        if (n_merge < 2) {
            fprintf(stderr, "onnxq: error: --merge needs at least two tables\n");
            goto out;
        }
        rc = do_merge(n_merge, merge_files, out_path);
        goto out;
    }
    if (!model_path || !data) {
        fprintf(stderr, "onnxq: error: MODEL and --data are required\n");
        usage(stderr);
        goto out;
    }
    rc = 1;
    double t_start = onnxq_now_seconds();
    struct onnxq_observe_stats os;
    size_t with_nan = 0;
    /* the same graph preparation as `onnxq quantize`, so tensor names match */
    if (onnxq_model_load(ctx, model_path, &m, &err) != ONNXQ_OK || onnxq_quant_prepare(m, quiet, &err) != ONNXQ_OK ||
        onnxq_observer_init(&obs, bins, ema, &err) != ONNXQ_OK) {
        rc = onnxq_cli_report(&err);
        goto out;
    }
    obs.hist_sample = hist_sample;
    if (onnxq_cli_observe(ctx, m, data, &dopts, observe, quiet, &obs, &os, &err) != ONNXQ_OK ||
        onnxq_cli_check_observed(&obs, &with_nan, &err) != ONNXQ_OK) {
        rc = onnxq_cli_report(&err);
        goto out;
    }
    if (!observe) {
        printf("ran %s on %zu samples without observers: %.2fs (%.2f samples/s); with reading the data %.2fs "
               "(%.2f samples/s)\n",
               model_path, os.samples, os.run_seconds, os.run_seconds > 0 ? (double)os.samples / os.run_seconds : 0,
               os.data_seconds + os.run_seconds,
               os.data_seconds + os.run_seconds > 0 ? (double)os.samples / (os.data_seconds + os.run_seconds) : 0);
        rc = 0;
        goto out;
    }
    double kl = 0, t_ranges = onnxq_now_seconds();
    if (onnxq_calib_table_build(&obs, model_path, os.samples, methods, &params, &table, &kl, &err) != ONNXQ_OK ||
        onnxq_calib_table_write(&table, out_path, keep_hist, &err) != ONNXQ_OK) {
        rc = onnxq_cli_report(&err);
        goto out;
    }
    t_ranges = onnxq_now_seconds() - t_ranges;
    double t_total = onnxq_now_seconds() - t_start;
    if (!quiet) {
        printf("calibrated %s on %zu samples (%zu batches): %zu float tensors observed", model_path, os.samples,
               os.batches, obs.n);
        if (with_nan)
            printf(", %zu with NaN/Inf", with_nan);
        printf("\n  time: total %.2fs, data %.2fs, model+observers %.2fs (%.2f samples/s), ranges %.2fs (KL search "
               "%.2fs)\n  observers: %.2fs of the model+observers time (%.1f%%)",
               t_total, os.data_seconds, os.run_seconds, os.run_seconds > 0 ? (double)os.samples / os.run_seconds : 0,
               t_ranges, kl, os.observe_seconds, os.run_seconds > 0 ? 100 * os.observe_seconds / os.run_seconds : 0);
        if (os.background_seconds > 0)
            printf("; histogram binning on the pool's workers, while the next sample was read: %.2fs",
                   os.background_seconds);
        printf("\n  throughput: %.2f samples/s overall (data, model, observers)\n  table: %s\n",
               os.data_seconds + os.run_seconds > 0 ? (double)os.samples / (os.data_seconds + os.run_seconds) : 0,
               out_path);
    }
    rc = 0;
out:
    free(merge_files);
    onnxq_calib_table_clear(&table);
    onnxq_observer_clear(&obs);
    onnxq_model_free(m);
    return rc;
}
