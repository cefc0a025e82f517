/* onnxq quantize: FP32 model + calibration data (or table) -> INT8 QDQ model. */
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
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
#include "eval/compare.h"
#include "eval/report.h"
#include "eval/sensitivity.h"
#include "ir/graph.h"
#include "ir/graph_util.h"
#include "quant/passes.h"
#include "quant/quantize.h"

static const char usage_head[] =
    "onnxq quantize MODEL.onnx (--data PATH | --calib-table TABLE.json) -o OUT.onnx\n"
    "       [--method minmax|avg_minmax|ema|percentile|entropy|mse|auto] [--activation-type uint8|int8]\n"
    "       [--per-tensor] [--reduce-range] [--placement auto|full] [--op-types A,B] [--exclude-nodes A,B]\n"
    "       [--exclude-op-types A,B] [--bins N] [--percentile P] [--save-table T.json] [--json] [--threads N]\n"
    "       [--quiet] [--max-loss SPEC [--eval-cmd CMD] [--eval-count N]] [--report FILE.html]\n"
    "  --max-loss SPEC keeps the most quantization-sensitive nodes float until the budget holds:\n"
    "    sqnr>=DB     minimum output SQNR vs FP32 (onnxq's executor) over the evaluation samples\n"
    "    top1<=P%    maximum top-1 disagreement with FP32 (last axis of the outputs) over them\n"
    "    metric>=X | metric<=X   a number printed (last line of stdout) by --eval-cmd CMD, run by\n"
    "                 /bin/sh with {model} replaced by a temporary INT8 model file\n"
    "  The evaluation samples are the first N (--eval-count, default 32; 0 = all) of --data, which\n"
    "  --max-loss needs; the ranking is `onnxq sensitivity`'s. Fails (no output) when even keeping\n"
    "  every quantizable node float misses the budget.\n"
    "  --report FILE.html writes a self-contained HTML report: per-layer SQNR (FP32 vs the INT8 model on\n"
    "  the first --eval-count samples of --data), the sensitivity ranking (--max-loss), the nodes kept\n"
    "  float, each quantized activation's histogram with every method's range, sizes.\n";

static void usage(FILE *f)
{
    fprintf(f, "usage: %s%s\n", usage_head, onnxq_cli_data_usage);
}

static long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

struct find_named {
    const char *name;
    bool found;
};

static void find_in_graph(struct onnxq_graph *g, void *user)
{
    struct find_named *f = user;
    if (f->found || !g)
        return;
    if (onnxq_graph_find_node(g, f->name)) {
        f->found = true;
        return;
    }
    for (size_t i = 0; i < g->n_nodes && !f->found; i++)
        onnxq_node_for_each_subgraph(g->nodes[i], find_in_graph, f);
}

/* Every node name the user excluded must exist, in the main graph or in a
 * body (the quantizer honours exclusions in If/Loop/Scan bodies too). */
static enum onnxq_status check_excluded(const struct onnxq_model *m, char **names, struct onnxq_error *err)
{
    for (char **p = names; p && *p; p++) {
        struct find_named f = {*p, false};
        find_in_graph(m->graph, &f);
        if (!f.found)
            return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "--exclude-nodes: the model has no node named '%s'", *p);
    }
    return ONNXQ_OK;
}

/* ------------------------------------------------------------ --max-loss */

struct eval_cmd {
    struct onnxq_context *ctx;
    const char *cmd;  /* contains {model} */
    bool quiet;
};

/* Score a variant with the user's command: write it to a temporary file,
 * run the command with {model} replaced by that path (single-quoted), and
 * read a number from the last non-empty line of its stdout. */
static enum onnxq_status run_eval_cmd(void *user, const struct onnxq_model *variant, double *value,
                                      struct onnxq_error *err)
{
    const struct eval_cmd *ec = user;
    enum onnxq_status st = ONNXQ_OK;
    const char *dir = getenv("TMPDIR");
    char path[512], line[256] = "", buf[4096];
    char *cmd = NULL;
    FILE *p = NULL;
    snprintf(path, sizeof(path), "%s/onnxq-eval-XXXXXX.onnx", dir && *dir ? dir : "/tmp");
    int fd = mkstemps(path, 5);
    if (fd < 0)
        return onnxq_fail(err, ONNXQ_E_IO, "--eval-cmd: cannot create a temporary file in %s", dir ? dir : "/tmp");
    close(fd);
    if ((st = onnxq_model_save(variant, path, NULL, err)))
        goto out;
    size_t n = 0, plen = strlen(path);
    for (const char *c = ec->cmd; (c = strstr(c, "{model}")); c += 7)
        n++;
    cmd = malloc(strlen(ec->cmd) + n * (plen + 2) + 1);
    if (!cmd) {
        st = onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory");
        goto out;
    }
    char *w = cmd;
    for (const char *c = ec->cmd; *c;) {
        if (strncmp(c, "{model}", 7) == 0) {
            w += sprintf(w, "'%s'", path);
            c += 7;
        } else {
            *w++ = *c++;
        }
    }
    *w = 0;
    fflush(stdout);
    if (!(p = popen(cmd, "r"))) {
        st = onnxq_fail(err, ONNXQ_E_IO, "--eval-cmd: cannot run '%s'", ec->cmd);
        goto out;
    }
    /* keep the last non-empty line */
    while (fgets(buf, sizeof(buf), p)) {
        size_t l = strlen(buf);
        while (l && (buf[l - 1] == '\n' || buf[l - 1] == '\r' || buf[l - 1] == ' ' || buf[l - 1] == '\t'))
            buf[--l] = 0;
        if (l)
            snprintf(line, sizeof(line), "%s", buf);
    }
    int status = pclose(p);
    p = NULL;
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        st = onnxq_fail(err, ONNXQ_E_INVALID_ARG, "--eval-cmd '%s' failed (exit status %d)", ec->cmd,
                        status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        goto out;
    }
    char *end;
    const char *s = line;
    while (*s == ' ' || *s == '\t')
        s++;
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v)) {
        st = onnxq_fail(err, ONNXQ_E_INVALID_ARG, "--eval-cmd '%s': the last line of its output is not one number: '%s'",
                        ec->cmd, line);
        goto out;
    }
    if (!ec->quiet)
        fprintf(stderr, "onnxq: --eval-cmd: %g\n", v);
    *value = v;
out:
    if (p)
        pclose(p);
    free(cmd);
    unlink(path);
    return st;
}

static void sens_progress(void *user, size_t done, size_t total)
{
    (void)user;
    fprintf(stderr, "onnxq: max-loss: sensitivity %zu/%zu\n", done, total);
}

/* Search the fewest float groups that meet the budget (ranking them only
 * when every node INT8 misses it and every group float meets it) and
 * replace *m (prepared) by the chosen variant when it is met. */
static enum onnxq_status fit_budget(struct onnxq_context *ctx, struct onnxq_model **m, const char *data,
                                    const struct onnxq_dataset_options *dopts, size_t eval_count,
                                    const struct onnxq_calib_table *table, const struct onnxq_quant_options *qo,
                                    const struct onnxq_loss_spec *spec, const char *eval_cmd, bool quiet,
                                    struct onnxq_eval_set *es, struct onnxq_sens_session **sess,
                                    struct onnxq_maxloss_result *ml, struct onnxq_quant_report *rep,
                                    struct onnxq_error *err)
{
    enum onnxq_status st;
    struct eval_cmd ec = {.ctx = ctx, .cmd = eval_cmd, .quiet = quiet};
    struct onnxq_model *v = NULL;
    if ((st = onnxq_eval_set_load(ctx, *m, data, dopts, eval_count, es, err)) ||
        (st = onnxq_sens_session_new(ctx, *m, table, qo, es, sess, err)))
        return st;
    if (!quiet)
        fprintf(stderr, "onnxq: max-loss: %zu quantizable groups, %zu evaluation samples\n",
                onnxq_sens_n_groups(*sess), es->n_samples);
    /* the ranking is by the SQNR with only that group quantized; the
     * all-but-this measurements would double the time for a tie-break */
    onnxq_sens_set_except(*sess, false);
    if ((st = onnxq_max_loss_search(*sess, NULL, spec, eval_cmd ? run_eval_cmd : NULL, &ec,
                                    quiet ? NULL : sens_progress, NULL, ml, err)))
        return st;
    if (!ml->met)
        return ONNXQ_OK;
    if ((st = onnxq_sens_build(*sess, (const char *const *)ml->float_nodes, &v, rep, err)))
        return st;
    onnxq_model_free(*m);
    *m = v;
    return ONNXQ_OK;
}

static json_object *json_num(double v)
{
    return isfinite(v) ? json_object_new_double(v) : NULL;  /* JSON has no infinity */
}

/* Kept-float nodes that the plan only stored int8 weights for. */
static size_t weight_only_count(const struct onnxq_maxloss_result *ml)
{
    const struct onnxq_sens_result *sens = &ml->ranking;
    size_t n = 0;
    for (size_t i = 0; i < ml->n_float; i++)
        for (size_t k = 0; k < sens->n; k++)
            if (strcmp(sens->e[k].node, ml->float_nodes[i]) == 0)
                n += sens->e[k].weight_only;
    return n;
}

static json_object *max_loss_json(const struct onnxq_loss_spec *spec, const struct onnxq_maxloss_result *ml,
                                  size_t n_groups, size_t samples)
{
    const struct onnxq_sens_result *sens = &ml->ranking;
    char sb[64];
    onnxq_loss_spec_format(spec, sb, sizeof(sb));
    json_object *o = json_object_new_object();
    json_object_object_add(o, "budget", json_object_new_string(sb));
    json_object_object_add(o, "met", json_object_new_boolean(ml->met));
    json_object_object_add(o, "eval_samples", json_object_new_int64((int64_t)samples));
    json_object_object_add(o, "groups", json_object_new_int64((int64_t)n_groups));
    json_object *fl = json_object_new_array();
    for (size_t i = 0; i < ml->n_float; i++)
        json_object_array_add(fl, json_object_new_string(ml->float_nodes[i]));
    json_object_object_add(o, "float_nodes", fl);
    json_object_object_add(o, "float_weight_only", json_object_new_int64((int64_t)weight_only_count(ml)));
    json_object_object_add(o, "metric", json_num(ml->metric));
    json_object_object_add(o, "metric_all_int8", json_num(ml->metric_all));
    json_object_object_add(o, "metric_all_float", json_num(ml->metric_none));
    json_object_object_add(o, "evaluations", json_object_new_int64((int64_t)ml->evaluations));
    json_object_object_add(o, "search_seconds", json_object_new_double(ml->seconds));
    json_object_object_add(o, "sensitivity_seconds", json_object_new_double(sens->seconds));
    json_object_object_add(o, "ranked", json_object_new_boolean(sens->n > 0));
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < sens->n; i++) {
        json_object *e = json_object_new_object();
        json_object_object_add(e, "node", json_object_new_string(sens->e[i].node));
        json_object_object_add(e, "op_type", json_object_new_string(sens->e[i].op_type));
        json_object_object_add(e, "weight_only", json_object_new_boolean(sens->e[i].weight_only));
        json_object_object_add(e, "sqnr_only_db", json_num(sens->e[i].sqnr_only));
        json_object_object_add(e, "sqnr_except_db", json_num(sens->e[i].sqnr_except));
        json_object_array_add(arr, e);
    }
    json_object_object_add(o, "ranking", arr);
    return o;
}

static void print_max_loss(const struct onnxq_loss_spec *spec, const struct onnxq_maxloss_result *ml,
                           size_t n_groups, size_t samples)
{
    const struct onnxq_sens_result *sens = &ml->ranking;
    char sb[64];
    onnxq_loss_spec_format(spec, sb, sizeof(sb));
    printf("  max-loss %s: met with %zu of %zu quantizable node%s kept float%s", sb, ml->n_float, n_groups,
           n_groups == 1 ? "" : "s", ml->n_float ? ":" : "");
    for (size_t i = 0; i < ml->n_float; i++)
        printf("%s %s", i ? "," : "", ml->float_nodes[i]);
    if (ml->n_float)
        printf("\n    (%zu computed in INT8 before, %zu only had int8 weights and have FP32 weights again)",
               ml->n_float - weight_only_count(ml), weight_only_count(ml));
    printf("\n    metric %g (every node INT8: %g", ml->metric, ml->metric_all);
    if (!isnan(ml->metric_none))
        printf(", every node float: %g", ml->metric_none);
    printf("); %zu variants scored on %zu samples in %.1fs", ml->evaluations, samples, ml->seconds);
    if (sens->n)
        printf(" (%.1fs of it the sensitivity ranking)", sens->seconds);
    printf("\n");
}

/* --report: compare the INT8 model `m` (in memory) with the prepared FP32
 * model on the first eval_count samples of `data` (when given), read the
 * plan back from m, and write the page. */
struct report_args {
    const char *path, *model_path, *out_path, *data, *max_loss;
    const struct onnxq_dataset_options *dopts;
    size_t eval_count;
    const struct onnxq_calib_table *table;
    const struct onnxq_quant_options *qo;
    const struct onnxq_quant_report *rep;
    const struct onnxq_sens_result *sens;
    const struct onnxq_maxloss_result *ml;
    const struct onnxq_loss_spec *spec;
    long in_size, out_size;
    bool quiet;
};

static enum onnxq_status write_report(struct onnxq_context *ctx, const struct onnxq_model *m,
                                      const struct report_args *a, struct onnxq_error *err)
{
    enum onnxq_status st;
    struct onnxq_model *fp32 = NULL;
    struct onnxq_compare_result *cmp = NULL;
    struct onnxq_report_plan plan = {0};
    struct onnxq_report_input in;
    char title[512], settings[256], spec[64];
    onnxq_report_input_init(&in);
    if ((st = onnxq_report_plan_scan(m, NULL, &plan, err)))
        goto out;
    if (a->data) {
        struct onnxq_dataset_options d = *a->dopts;
        struct onnxq_compare_options co;
        onnxq_compare_options_init(&co);
        co.quiet = a->quiet;
        if (a->eval_count && (!d.count || d.count > a->eval_count))
            d.count = a->eval_count;
        if ((st = onnxq_model_load(ctx, a->model_path, &fp32, err)) ||
            (st = onnxq_quant_prepare(fp32, true, err)) ||
            (st = onnxq_compare_models(ctx, fp32, m, a->data, &d, &co, &cmp, err)))
            goto out;
    }
    snprintf(title, sizeof(title), "onnxq quantize: %s", a->model_path);
    snprintf(settings, sizeof(settings), "method %s, %s activations, %s weights, placement %s",
             onnxq_calib_methods[a->qo->method].name, onnxq_qtype_names[a->qo->act_type],
             a->qo->per_tensor ? "per-tensor" : "per-channel",
             a->qo->placement == ONNXQ_PLACEMENT_FULL ? "full" : "auto");
    in.title = title;
    in.settings = settings;
    in.fp32_path = a->model_path;
    in.int8_path = a->out_path;
    in.compare = cmp;
    in.plan = &plan;
    in.quant = a->rep;
    in.table = a->table;
    in.act_type = a->qo->act_type;
    in.method = (int)a->qo->method;
    in.size_fp32 = a->in_size;
    in.size_int8 = a->out_size;
    if (a->max_loss) {
        onnxq_loss_spec_format(a->spec, spec, sizeof(spec));
        in.sens = a->sens;
        in.maxloss = a->ml;
        in.maxloss_spec = spec;
    }
    st = onnxq_report_write(a->path, &in, err);
out:
    onnxq_report_plan_clear(&plan);
    onnxq_compare_result_free(cmp);
    onnxq_model_free(fp32);
    return st;
}

int onnxq_cmd_quantize(struct onnxq_context *ctx, int argc, char **argv)
{
    const char *model_path = NULL, *data = NULL, *out_path = NULL, *table_path = NULL, *save_table = NULL;
    bool quiet = false, json = false;
    struct onnxq_dataset_options dopts;
    struct onnxq_cli_quant cq;
    onnxq_dataset_options_init(&dopts);
    onnxq_cli_quant_init(&cq);
    int rc = 2;
    struct onnxq_error err;
    struct onnxq_model *m = NULL;
    struct onnxq_observer obs = {0};
    struct onnxq_calib_table table = {0};
    struct onnxq_quant_report rep;
    /* --max-loss */
    const char *max_loss = NULL, *eval_cmd = NULL;
    size_t eval_count = 32;
    const char *report_path = NULL;
    struct onnxq_loss_spec spec = {0};
    struct onnxq_eval_set es = {0};
    struct onnxq_sens_session *sess = NULL;
    struct onnxq_maxloss_result ml = {0};  /* ml.ranking: the sensitivity ranking it used */
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
        else if ((strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) && v)
            out_path = argv[++i];
        else if (strcmp(a, "--calib-table") == 0 && v)
            table_path = argv[++i];
        else if (strcmp(a, "--save-table") == 0 && v)
            save_table = argv[++i];
        else if (strcmp(a, "--max-loss") == 0 && v) {
            max_loss = argv[++i];
            if (onnxq_loss_spec_parse(max_loss, &spec, &err) != ONNXQ_OK) {
                fprintf(stderr, "onnxq: error: %s\n", err.message);
                goto out;
            }
        } else if (strcmp(a, "--eval-cmd") == 0 && v)
            eval_cmd = argv[++i];
        else if (strcmp(a, "--report") == 0 && v)
            report_path = argv[++i];
        else if (strcmp(a, "--eval-count") == 0 && v) {
            if (onnxq_cli_parse_count(argv[++i], &eval_count) != 0) {
                fprintf(stderr, "onnxq: error: --eval-count takes a sample count (0 = every sample of --data)\n");
                goto out;
            }
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
    if (!model_path || !out_path || (!data && !table_path)) {
        fprintf(stderr, "onnxq: error: MODEL, -o OUT.onnx and --data or --calib-table are required\n");
        usage(stderr);
        goto out;
    }
    if (max_loss && !data) {
        fprintf(stderr, "onnxq: error: --max-loss needs --data: the evaluation samples come from it\n");
        goto out;
    }
    if (max_loss && spec.kind == ONNXQ_LOSS_METRIC && !eval_cmd) {
        fprintf(stderr, "onnxq: error: --max-loss '%s' needs --eval-cmd 'CMD {model}' to compute the metric\n",
                max_loss);
        goto out;
    }
    if (eval_cmd && (!max_loss || spec.kind != ONNXQ_LOSS_METRIC)) {
        fprintf(stderr, "onnxq: error: --eval-cmd goes with --max-loss 'metric>=X' or 'metric<=X'\n");
        goto out;
    }
    if (eval_cmd && !strstr(eval_cmd, "{model}")) {
        fprintf(stderr, "onnxq: error: --eval-cmd must contain {model} (replaced by the INT8 model's path)\n");
        goto out;
    }
    rc = 1;

    double t0 = onnxq_now_seconds(), t_load, t_prep, t_calib = 0, t_quant, t_save;
    if (onnxq_model_load(ctx, model_path, &m, &err) != ONNXQ_OK) {
        rc = onnxq_cli_report(&err);
        goto out;
    }
    t_load = onnxq_now_seconds() - t0;
    if (check_excluded(m, cq.excl_nodes, &err) != ONNXQ_OK) {
        rc = onnxq_cli_report(&err);
        goto out;
    }
    /* graph clean-ups, in table order; the table is calibrated on the
     * prepared model so that tensor names match */
    t0 = onnxq_now_seconds();
    if (onnxq_quant_prepare(m, quiet, &err) != ONNXQ_OK) {
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
        unsigned methods = 1u << cq.qo.method;
        if (onnxq_observer_init(&obs, cq.bins, ONNXQ_EMA_DEFAULT, &err) != ONNXQ_OK ||
            onnxq_cli_observe(ctx, m, data, &dopts, true, quiet, &obs, &os, &err) != ONNXQ_OK ||
            onnxq_cli_check_observed(&obs, &with_nan, &err) != ONNXQ_OK ||
            onnxq_calib_table_build(&obs, model_path, os.samples, methods, &cq.params, &table, NULL, &err) != ONNXQ_OK) {
            rc = onnxq_cli_report(&err);
            goto out;
        }
        if (save_table && onnxq_calib_table_write(&table, save_table, true, &err) != ONNXQ_OK) {
            rc = onnxq_cli_report(&err);
            goto out;
        }
        onnxq_observer_clear(&obs);
    }
    t_calib = onnxq_now_seconds() - t0;
    t0 = onnxq_now_seconds();
    if (max_loss) {
        if (fit_budget(ctx, &m, data, &dopts, eval_count, &table, &cq.qo, &spec, eval_cmd, quiet, &es, &sess, &ml, &rep,
                       &err) != ONNXQ_OK) {
            rc = onnxq_cli_report(&err);
            goto out;
        }
        if (!ml.met) {
            char sb[64];
            onnxq_loss_spec_format(&spec, sb, sizeof(sb));
            fprintf(stderr,
                    "onnxq: error: --max-loss %s cannot be met: even with all %zu quantizable nodes float the "
                    "metric is %g (every node INT8: %g); nothing written\n",
                    sb, onnxq_sens_n_groups(sess), ml.metric, ml.metric_all);
            goto out;
        }
    } else if (onnxq_quantize_model(m, &table, &cq.qo, &rep, &err) != ONNXQ_OK) {
        rc = onnxq_cli_report(&err);
        goto out;
    }
    t_quant = onnxq_now_seconds() - t0;
    size_t n_quant = 0, n_float = 0;
    for (size_t i = 0; i < rep.n_ops; i++) {
        n_quant += rep.ops[i].quantized;
        n_float += rep.ops[i].kept_float;
    }
    if (n_quant == 0 && rep.weights_int8 == 0) {
        /* nothing to quantize: write the model as the user gave it, not the
         * prepared one (the passes may have changed opset and folds) */
        fprintf(stderr, "onnxq: warning: %s has no quantizable op; it is written unchanged\n", model_path);
        onnxq_model_free(m);
        m = NULL;
        if (onnxq_model_load(ctx, model_path, &m, &err) != ONNXQ_OK) {
            rc = onnxq_cli_report(&err);
            goto out;
        }
    }
    t0 = onnxq_now_seconds();
    if (onnxq_model_save(m, out_path, NULL, &err) != ONNXQ_OK) {
        rc = onnxq_cli_report(&err);
        goto out;
    }
    t_save = onnxq_now_seconds() - t0;
    long in_size = file_size(model_path), out_size = file_size(out_path);
    if (report_path) {
        struct report_args ra = {.path = report_path, .model_path = model_path, .out_path = out_path,
                                 .data = data, .max_loss = max_loss, .dopts = &dopts, .eval_count = eval_count,
                                 .table = &table, .qo = &cq.qo, .rep = &rep, .sens = &ml.ranking, .ml = &ml, .spec = &spec,
                                 .in_size = in_size, .out_size = out_size, .quiet = quiet};
        if (write_report(ctx, m, &ra, &err) != ONNXQ_OK) {
            rc = onnxq_cli_report(&err);
            goto out;
        }
    }
    if (json) {
        json_object *root = json_object_new_object();
        json_object_object_add(root, "model", json_object_new_string(model_path));
        json_object_object_add(root, "output", json_object_new_string(out_path));
        json_object_object_add(root, "method", json_object_new_string(onnxq_calib_methods[cq.qo.method].name));
        json_object_object_add(root, "activation_type", json_object_new_string(onnxq_qtype_names[cq.qo.act_type]));
        json_object_object_add(root, "placement",
                               json_object_new_string(cq.qo.placement == ONNXQ_PLACEMENT_FULL ? "full" : "auto"));
        json_object *ops = json_object_new_object();
        for (size_t i = 0; i < rep.n_ops; i++) {
            json_object *o = json_object_new_object();
            json_object_object_add(o, "quantized", json_object_new_int64((int64_t)rep.ops[i].quantized));
            json_object_object_add(o, "float", json_object_new_int64((int64_t)rep.ops[i].kept_float));
            json_object_object_add(ops, rep.ops[i].op, o);
        }
        json_object_object_add(root, "ops", ops);
        json_object_object_add(root, "nodes_quantized", json_object_new_int64((int64_t)n_quant));
        json_object_object_add(root, "nodes_float", json_object_new_int64((int64_t)n_float));
        json_object_object_add(root, "weights_int8", json_object_new_int64((int64_t)rep.weights_int8));
        json_object_object_add(root, "biases_int32", json_object_new_int64((int64_t)rep.biases_int32));
        json_object_object_add(root, "activation_qdq", json_object_new_int64((int64_t)rep.activations));
        json_object_object_add(root, "relu_folded", json_object_new_int64((int64_t)rep.relu_folded));
        json_object_object_add(root, "bias_scale_adjusted", json_object_new_int64((int64_t)rep.bias_scale_adjusted));
        json_object_object_add(root, "size_fp32", json_object_new_int64(in_size));
        json_object_object_add(root, "size_int8", json_object_new_int64(out_size));
        json_object *tm = json_object_new_object();
        json_object_object_add(tm, "load", json_object_new_double(t_load));
        json_object_object_add(tm, "prepare", json_object_new_double(t_prep));
        json_object_object_add(tm, "calibrate", json_object_new_double(t_calib));
        json_object_object_add(tm, "quantize", json_object_new_double(t_quant));
        json_object_object_add(tm, "save", json_object_new_double(t_save));
        json_object_object_add(root, "seconds", tm);
        if (max_loss)
            json_object_object_add(root, "max_loss", max_loss_json(&spec, &ml, onnxq_sens_n_groups(sess), es.n_samples));
        printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(root);
    } else if (!quiet) {
        printf("quantized %s -> %s (%s, %s activations, %s weights, placement %s)\n", model_path, out_path,
               onnxq_calib_methods[cq.qo.method].name, onnxq_qtype_names[cq.qo.act_type],
               cq.qo.per_tensor ? "per-tensor" : "per-channel", cq.qo.placement == ONNXQ_PLACEMENT_FULL ? "full" : "auto");
        printf("  %-22s %9s %9s\n", "op type", "int8", "float");
        for (size_t i = 0; i < rep.n_ops; i++)
            printf("  %-22s %9zu %9zu\n", rep.ops[i].op, rep.ops[i].quantized, rep.ops[i].kept_float);
        printf("  weights int8: %zu tensors (%zu -> %zu bytes), biases int32: %zu, activation Q/DQ pairs: %zu, "
               "Relu folded: %zu\n",
               rep.weights_int8, rep.weight_bytes_before, rep.weight_bytes_after, rep.biases_int32, rep.activations,
               rep.relu_folded);
        printf("  size: %ld -> %ld bytes (%.3f)\n", in_size, out_size, in_size > 0 ? (double)out_size / in_size : 0);
        printf("  time: load %.2fs, prepare %.2fs, calibrate %.2fs, quantize %.2fs, save %.2fs\n", t_load, t_prep,
               t_calib, t_quant, t_save);
        if (max_loss)
            print_max_loss(&spec, &ml, onnxq_sens_n_groups(sess), es.n_samples);
    }
    rc = 0;
out:
    onnxq_maxloss_result_clear(&ml);
    onnxq_sens_session_free(sess);
    onnxq_eval_set_clear(&es);
    onnxq_cli_quant_clear(&cq);
    onnxq_observer_clear(&obs);
    onnxq_calib_table_clear(&table);
    onnxq_model_free(m);
    return rc;
}
