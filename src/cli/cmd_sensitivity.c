/* onnxq sensitivity: per-group output SQNR with only that group quantized
 * and with all but that group quantized, ranked (eval/sensitivity.h). */
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "calibration/observer.h"
#include "calibration/table.h"
#include "cli/cli.h"
#include "cli/cli_calib.h"
#include "core/clock.h"
#include "cli/cli_data.h"
#include "cli/cli_quant.h"
#include "core/context.h"
#include "core/error.h"
#include "eval/sensitivity.h"
#include "quant/quantize.h"

static const char usage_head[] =
    "onnxq sensitivity MODEL.onnx --data PATH [--calib-table TABLE.json] [--samples N]\n"
    "       [--method minmax|avg_minmax|ema|percentile|entropy|mse] [--activation-type uint8|int8]\n"
    "       [--per-tensor] [--reduce-range] [--placement auto|full] [--op-types A,B] [--exclude-nodes A,B]\n"
    "       [--exclude-op-types A,B] [--bins N] [--percentile P] [--no-prefix-cache] [--json] [--threads N]\n"
    "       [--quiet]\n"
    "  Calibrates once on --data (or reads --calib-table), then for every group the quantizer would\n"
    "  place in INT8 (a node with its folded Relu) measures the output SQNR over the first N samples\n"
    "  of --data (default 16; 0 = all) with only that group quantized, and with all but that group\n"
    "  quantized. Ranked most sensitive first (lowest SQNR alone).\n";

static void usage(FILE *f)
{
    fprintf(f, "usage: %s%s\n", usage_head, onnxq_cli_data_usage);
}

static json_object *json_num(double v)
{
    /* JSON has no infinity: identical outputs are reported as null */
    return isfinite(v) ? json_object_new_double(v) : NULL;
}

static void progress(void *user, size_t done, size_t total)
{
    (void)user;
    fprintf(stderr, "onnxq: sensitivity: %zu/%zu groups\n", done, total);
}

int onnxq_cmd_sensitivity(struct onnxq_context *ctx, int argc, char **argv)
{
    const char *model_path = NULL, *data = NULL, *table_path = NULL;
    bool quiet = false, json = false, prefix_cache = true;
    size_t samples = 16;
    struct onnxq_dataset_options dopts;
    struct onnxq_cli_quant cq;
    onnxq_dataset_options_init(&dopts);
    onnxq_cli_quant_init(&cq);
    int rc = 2;
    struct onnxq_error err;
    struct onnxq_model *m = NULL;
    struct onnxq_observer obs = {0};
    struct onnxq_calib_table table = {0};
    struct onnxq_eval_set es = {0};
    struct onnxq_sens_session *sess = NULL;
    struct onnxq_sens_result res = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL, *why = NULL;
        int d = onnxq_cli_data_option(argc, argv, &i, &dopts, &why);
        if (d < 0) {
            fprintf(stderr, "onnxq: error: %s\n", why);
            goto out;
        }
        if (d > 0)
            continue;
        int c = onnxq_cli_common_option(ctx, argc, argv, &i, &quiet);
        if (c < 0)
            goto out;
        if (c > 0)
            continue;
        int qd = onnxq_cli_quant_option(argc, argv, &i, &cq);
        if (qd < 0)
            goto out;
        if (qd > 0)
            continue;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            rc = 0;
            goto out;
        }
        if (strcmp(a, "--data") == 0 && v)
            data = argv[++i];
        else if (strcmp(a, "--calib-table") == 0 && v)
            table_path = argv[++i];
        else if (strcmp(a, "--samples") == 0 && v) {
            if (onnxq_cli_parse_count(argv[++i], &samples) != 0) {
                fprintf(stderr, "onnxq: error: --samples takes a count (0 = every sample of --data)\n");
                goto out;
            }
        } else if (strcmp(a, "--no-prefix-cache") == 0) {
            prefix_cache = false;
        } else if (strcmp(a, "--json") == 0) {
            json = true;
        } else if (!onnxq_cli_is_option(a) && !model_path) {
            model_path = a;
        } else {
            onnxq_cli_bad_argument(a);
            usage(stderr);
            goto out;
        }
    }
    if (!model_path || !data) {
        fprintf(stderr, "onnxq: error: MODEL and --data (the evaluation samples) are required\n");
        usage(stderr);
        goto out;
    }
    rc = 1;

    double t0 = onnxq_now_seconds(), t_prep, t_calib, t_eval, t_groups;
    if (onnxq_model_load(ctx, model_path, &m, &err) != ONNXQ_OK || onnxq_quant_prepare(m, quiet, &err) != ONNXQ_OK) {
        rc = onnxq_cli_report(&err);
        goto out;
    }
    t_prep = onnxq_now_seconds() - t0;
    t0 = onnxq_now_seconds();
    if (table_path) {
        if (onnxq_calib_table_read(table_path, &table, &err) != ONNXQ_OK) {
            rc = onnxq_cli_report(&err);
            goto out;
        }
    } else {
        struct onnxq_observe_stats os;
        size_t with_nan;
        if (onnxq_observer_init(&obs, cq.bins, ONNXQ_EMA_DEFAULT, &err) != ONNXQ_OK ||
            onnxq_cli_observe(ctx, m, data, &dopts, true, quiet, &obs, &os, &err) != ONNXQ_OK ||
            onnxq_cli_check_observed(&obs, &with_nan, &err) != ONNXQ_OK ||
            onnxq_calib_table_build(&obs, model_path, os.samples, 1u << cq.qo.method, &cq.params, &table, NULL, &err) !=
                ONNXQ_OK) {
            rc = onnxq_cli_report(&err);
            goto out;
        }
        onnxq_observer_clear(&obs);
    }
    t_calib = onnxq_now_seconds() - t0;
    t0 = onnxq_now_seconds();
    if (onnxq_eval_set_load(ctx, m, data, &dopts, samples, &es, &err) != ONNXQ_OK) {
        rc = onnxq_cli_report(&err);
        goto out;
    }
    t_eval = onnxq_now_seconds() - t0;
    t0 = onnxq_now_seconds();
    if (onnxq_sens_session_new(ctx, m, &table, &cq.qo, &es, &sess, &err) != ONNXQ_OK) {
        rc = onnxq_cli_report(&err);
        goto out;
    }
    onnxq_sens_set_prefix_cache(sess, prefix_cache);
    t_groups = onnxq_now_seconds() - t0;
    if (!quiet)
        fprintf(stderr, "onnxq: sensitivity: %zu groups, %zu samples\n", onnxq_sens_n_groups(sess), es.n_samples);
    if (onnxq_sensitivity_run(sess, quiet ? NULL : progress, NULL, &res, &err) != ONNXQ_OK) {
        rc = onnxq_cli_report(&err);
        goto out;
    }
    if (json) {
        json_object *root = json_object_new_object();
        json_object_object_add(root, "model", json_object_new_string(model_path));
        json_object_object_add(root, "method", json_object_new_string(onnxq_calib_methods[cq.qo.method].name));
        json_object_object_add(root, "activation_type", json_object_new_string(onnxq_qtype_names[cq.qo.act_type]));
        json_object_object_add(root, "placement",
                               json_object_new_string(cq.qo.placement == ONNXQ_PLACEMENT_FULL ? "full" : "auto"));
        json_object_object_add(root, "samples", json_object_new_int64((int64_t)res.samples));
        json_object *all = json_object_new_object(), *none = json_object_new_object();
        json_object_object_add(all, "sqnr_db", json_num(res.sqnr_all));
        json_object_object_add(all, "cosine", json_num(res.cosine_all));
        json_object_object_add(all, "top1", res.top1_all >= 0 ? json_num(res.top1_all) : NULL);
        json_object_object_add(none, "sqnr_db", json_num(res.sqnr_none));
        json_object_object_add(none, "cosine", json_num(res.cosine_none));
        json_object_object_add(none, "top1", res.top1_none >= 0 ? json_num(res.top1_none) : NULL);
        json_object_object_add(root, "all_quantized", all);
        json_object_object_add(root, "all_float", none);
        json_object *arr = json_object_new_array();
        for (size_t i = 0; i < res.n; i++) {
            const struct onnxq_sens_entry *e = &res.e[i];
            json_object *o = json_object_new_object();
            json_object_object_add(o, "rank", json_object_new_int64((int64_t)i + 1));
            json_object_object_add(o, "node", json_object_new_string(e->node));
            json_object_object_add(o, "op_type", json_object_new_string(e->op_type));
            json_object_object_add(o, "members", json_object_new_string(e->members));
            json_object_object_add(o, "weight_only", json_object_new_boolean(e->weight_only));
            json_object_object_add(o, "sqnr_only_db", json_num(e->sqnr_only));
            json_object_object_add(o, "sqnr_except_db", json_num(e->sqnr_except));
            json_object_object_add(o, "cosine_only", json_num(e->cosine_only));
            json_object_object_add(o, "cosine_except", json_num(e->cosine_except));
            json_object_object_add(o, "top1_only", e->top1_only >= 0 ? json_num(e->top1_only) : NULL);
            json_object_object_add(o, "top1_except", e->top1_except >= 0 ? json_num(e->top1_except) : NULL);
            json_object_array_add(arr, o);
        }
        json_object_object_add(root, "ranking", arr);
        json_object *tm = json_object_new_object();
        json_object_object_add(tm, "prepare", json_object_new_double(t_prep));
        json_object_object_add(tm, "calibrate", json_object_new_double(t_calib));
        json_object_object_add(tm, "eval_set", json_object_new_double(t_eval));
        json_object_object_add(tm, "groups", json_object_new_double(t_groups));
        json_object_object_add(tm, "analysis", json_object_new_double(res.seconds));
        json_object_object_add(root, "seconds", tm);
        json_object_object_add(root, "variant_runs", json_object_new_int64((int64_t)res.runs));
        printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(root);
    } else {
        printf("sensitivity of %s: %zu groups (%s, %s activations, placement %s), %zu samples\n", model_path, res.n,
               onnxq_calib_methods[cq.qo.method].name, onnxq_qtype_names[cq.qo.act_type],
               cq.qo.placement == ONNXQ_PLACEMENT_FULL ? "full" : "auto", res.samples);
        printf("  output SQNR, every group quantized: %.2f dB (cosine %.5f)\n", res.sqnr_all, res.cosine_all);
        printf("  output SQNR, every group float:     %.2f dB (cosine %.5f)\n", res.sqnr_none,
               res.cosine_none);
        printf("  %4s  %-36s %-14s %-7s %9s %10s  %s\n", "rank", "node", "op", "int8", "only dB", "except dB",
               "group");
        for (size_t i = 0; i < res.n; i++) {
            const struct onnxq_sens_entry *e = &res.e[i];
            printf("  %4zu  %-36s %-14s %-7s %9.2f %10.2f  %s\n", i + 1, e->node, e->op_type,
                   e->weight_only ? "weights" : "all", e->sqnr_only, e->sqnr_except, e->members);
        }
        printf("  only: only this group quantized; except: every group but this one quantized;\n"
               "  int8 'weights': the quantizer leaves it computing in float but stores its weights as int8\n");
        printf("  time: prepare %.2fs, calibrate %.2fs, eval set %.2fs, groups %.2fs, analysis %.2fs (%zu variant "
               "runs)\n",
               t_prep, t_calib, t_eval, t_groups, res.seconds, res.runs);
    }
    rc = 0;
out:
    onnxq_sens_result_clear(&res);
    onnxq_sens_session_free(sess);
    onnxq_eval_set_clear(&es);
    onnxq_cli_quant_clear(&cq);
    onnxq_observer_clear(&obs);
    onnxq_calib_table_clear(&table);
    onnxq_model_free(m);
    return rc;
}
