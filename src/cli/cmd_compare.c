/* onnxq compare: run an FP32 model and its INT8 model on the same samples,
 * print per-output and per-tensor fidelity (worst tensors first). */
#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_data.h"
#include "core/context.h"
#include "core/error.h"
#include "eval/compare.h"
#include "eval/report.h"
#include "io/npy.h"

static const char usage_head[] =
    "onnxq compare FP32.onnx INT8.onnx --data PATH [--json] [-o FILE] [--top N] [--outputs-only]\n"
    "       [--tensor-memory SIZE] [--report FILE.html [--calib-table T.json]] [--threads N] [--quiet]\n"
    "  Runs both models in onnxq's executor on the same samples (Q/DQ as real quantize/dequantize) and\n"
    "  reports SQNR (dB), cosine, max abs error per graph output (top-1 agreement for class scores) and per\n"
    "  tensor: every float activation of the FP32 model (prepared as `onnxq quantize` does) against its\n"
    "  INT8 counterpart (the DequantizeLinear output where quantized), sorted worst first.\n"
    "  pre-Q dB: for a quantized tensor, the SQNR of the INT8 value before its own Q/DQ (inherited error).\n"
    "  -o FILE writes the table (or JSON) to FILE instead of stdout; --top N prints the N worst tensors.\n"
    "  --report FILE.html writes a self-contained HTML report (per-layer SQNR chart, float nodes; with\n"
    "  --calib-table, the activation histograms and clipping ranges of a table saved with histograms).\n"
    "  --tensor-memory SIZE bounds the FP32 activations held for the per-tensor metrics (default 1G): a\n"
    "  sample whose activations take more runs again, a group of tensors a run (same results, more time).\n";

static void usage(FILE *f)
{
    fprintf(f, "usage: %s%s\n", usage_head, onnxq_cli_data_usage);
}

/* Growable text buffer: the report goes to stdout or, atomically, to -o. */
struct text {
    char *s;
    size_t len, cap;
    bool oom;
};

static void ONNXQ_PRINTF(2, 3) tprintf(struct text *t, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = t->cap - t->len;
        int n = vsnprintf(t->s ? t->s + t->len : NULL, t->s ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->oom = true;
            return;
        }
        if (t->s && (size_t)n < room) {
            t->len += (size_t)n;
            return;
        }
        size_t nc = t->cap ? t->cap : 4096;
        while (nc < t->len + (size_t)n + 1)
            nc *= 2;
        char *ns = realloc(t->s, nc);
        if (!ns) {
            t->oom = true;
            return;
        }
        t->s = ns;
        t->cap = nc;
    }
}

static void fmt_db(char *buf, size_t size, double v)
{
    if (isinf(v))
        snprintf(buf, size, "%s", v > 0 ? "inf" : "-inf");
    else
        snprintf(buf, size, "%.2f", v);
}

static void render_table(struct text *t, const struct onnxq_compare_result *r, size_t top)
{
    char db[32];
    tprintf(t, "compare %s (FP32) vs %s (INT8) on %zu samples (%s)\n", r->fp32_path, r->int8_path, r->samples,
            r->source);
    tprintf(t, "\noutputs:\n  %-28s %10s %10s %12s %8s\n", "name", "SQNR dB", "cosine", "max abs", "top-1");
    for (size_t i = 0; i < r->n_outputs; i++) {
        const struct onnxq_compare_output *o = &r->outputs[i];
        fmt_db(db, sizeof(db), o->sqnr_db);
        char top1[32] = "-";
        if (o->scores)
            snprintf(top1, sizeof(top1), "%.2f%%", 100.0 * o->top1);
        tprintf(t, "  %-28s %10s %10.6f %12.6g %8s", o->name, db, o->cosine, o->max_abs, top1);
        if (strcmp(o->name, o->int8_name) != 0)
            tprintf(t, "  (INT8: %s)", o->int8_name);
        tprintf(t, "\n");
    }
    size_t *order = malloc((r->n_tensors + 1) * sizeof(size_t));
    if (!order) {
        t->oom = true;
        return;
    }
    onnxq_compare_rank(r, order);
    size_t shown = top && top < r->n_tensors ? top : r->n_tensors;
    tprintf(t, "\ntensors: %zu compared, %zu quantized (Q = consumers see its Q/DQ output), %zu unmatched; ",
            r->n_tensors, r->n_quantized, r->n_unmatched);
    tprintf(t, shown < r->n_tensors ? "%zu worst:\n" : "worst first:\n", shown);
    /* pre-Q: SQNR of the INT8 value before this tensor's own Q/DQ (the
     * error inherited from upstream) */
    tprintf(t, "  %4s %10s %10s %10s %12s %1s %-18s %s\n", "#", "SQNR dB", "pre-Q dB", "cosine", "max abs", "Q",
            "op", "tensor");
    for (size_t k = 0; k < shown; k++) {
        const struct onnxq_compare_tensor *x = &r->tensors[order[k]];
        char pre[32] = "-";
        fmt_db(db, sizeof(db), x->sqnr_db);
        if (x->has_pre)
            fmt_db(pre, sizeof(pre), x->sqnr_pre_db);
        tprintf(t, "  %4zu %10s %10s %10.6f %12.6g %1s %-18s %s", k + 1, db, pre, x->cosine, x->max_abs,
                x->quantized ? "Q" : "", *x->op_type ? x->op_type : "(input)", x->name);
        if (x->renamed)
            tprintf(t, " -> %s", x->int8_name);
        if (x->shape_mismatch)
            tprintf(t, "  [shapes differ in %zu samples]", x->shape_mismatch);
        tprintf(t, "\n");
    }
    if (r->n_unmatched) {
        tprintf(t, "\nno INT8 counterpart:");
        for (size_t i = 0; i < r->n_unmatched; i++)
            tprintf(t, "%s %s", i ? "," : "", r->unmatched[i]);
        tprintf(t, "\n");
    }
    tprintf(t, "\nexecutor time: FP32 %.2fs, INT8 %.2fs\n", r->seconds_fp32, r->seconds_int8);
    if (r->runs_per_sample > 1)
        tprintf(t, "(the per-tensor FP32 copies of a sample exceeded --tensor-memory: each sample ran %zu times, "
                   "a group of tensors a run; executor time counts the first run)\n",
                r->runs_per_sample);
    free(order);
}

static long long file_bytes(const char *path)
{
    FILE *f = fopen(path, "rb");
    long long n = -1;
    if (f && fseek(f, 0, SEEK_END) == 0)
        n = ftell(f);
    if (f)
        fclose(f);
    return n;
}

/* --report: the comparison, the INT8 model's float nodes and Q ranges, and
 * the calibration histograms when a table is given. */
static enum onnxq_status write_report(struct onnxq_context *ctx, const char *path, const char *table_path,
                                      const char *const *paths, const struct onnxq_compare_result *res,
                                      struct onnxq_error *err)
{
    struct onnxq_model *int8 = NULL;
    struct onnxq_report_plan plan = {0};
    struct onnxq_calib_table table = {0};
    struct onnxq_report_input in;
    enum onnxq_status st;
    char title[512];
    onnxq_report_input_init(&in);
    if ((st = onnxq_model_load(ctx, paths[1], &int8, err)) != ONNXQ_OK ||
        (st = onnxq_report_plan_scan(int8, NULL, &plan, err)) != ONNXQ_OK)
        goto out;
    if (table_path && (st = onnxq_calib_table_read(table_path, &table, err)) != ONNXQ_OK)
        goto out;
    snprintf(title, sizeof(title), "onnxq compare: %s vs %s", paths[0], paths[1]);
    in.title = title;
    in.fp32_path = paths[0];
    in.int8_path = paths[1];
    in.compare = res;
    in.plan = &plan;
    in.table = table_path ? &table : NULL;
    /* the activation type the INT8 model uses */
    in.act_type = plan.n_qtensors && plan.qtensors[0].is_int8 ? ONNXQ_QTYPE_INT8 : ONNXQ_QTYPE_UINT8;
    in.size_fp32 = file_bytes(paths[0]);
    in.size_int8 = file_bytes(paths[1]);
    st = onnxq_report_write(path, &in, err);
out:
    onnxq_calib_table_clear(&table);
    onnxq_report_plan_clear(&plan);
    onnxq_model_free(int8);
    return st;
}

int onnxq_cmd_compare(struct onnxq_context *ctx, int argc, char **argv)
{
    const char *paths[2] = {NULL, NULL}, *data = NULL, *out_path = NULL;
    const char *report_path = NULL, *table_path = NULL;
    bool json = false;
    size_t top = 0;
    struct onnxq_dataset_options dopts;
    struct onnxq_compare_options co;
    onnxq_dataset_options_init(&dopts);
    onnxq_compare_options_init(&co);
    struct onnxq_compare_result *res = NULL;
    struct text txt = {0};
    json_object *root = NULL;
    struct onnxq_error err;
    int rc = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL, *why = NULL;
        int d = onnxq_cli_data_option(argc, argv, &i, &dopts, &why);
        if (d < 0) {
            fprintf(stderr, "onnxq: error: %s\n", why);
            goto out;
        }
        if (d > 0)
            continue;
        int c = onnxq_cli_common_option(ctx, argc, argv, &i, &co.quiet);
        if (c < 0)
            goto out;
        if (c > 0)
            continue;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            rc = 0;
            goto out;
        }
        if (strcmp(a, "--data") == 0 && v) {
            data = argv[++i];
        } else if ((strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) && v) {
            out_path = argv[++i];
        } else if (strcmp(a, "--json") == 0) {
            json = true;
        } else if (strcmp(a, "--report") == 0 && v) {
            report_path = argv[++i];
        } else if (strcmp(a, "--calib-table") == 0 && v) {
            table_path = argv[++i];
        } else if (strcmp(a, "--outputs-only") == 0) {
            co.tensors = false;
        } else if (strcmp(a, "--tensor-memory") == 0 && v) {
            if (onnxq_cli_parse_size(argv[++i], &co.tensor_memory) != 0 || co.tensor_memory == 0) {
                fprintf(stderr, "onnxq: error: --tensor-memory takes a size > 0 in bytes, with K, M or G\n");
                goto out;
            }
        } else if (strcmp(a, "--top") == 0 && v) {
            char *end;
            long n = strtol(argv[++i], &end, 10);
            if (*end || n < 0) {
                fprintf(stderr, "onnxq: error: --top takes a count >= 0 (0 = all)\n");
                goto out;
            }
            top = (size_t)n;
        } else if (!onnxq_cli_is_option(a) && !paths[0]) {
            paths[0] = a;
        } else if (!onnxq_cli_is_option(a) && !paths[1]) {
            paths[1] = a;
        } else {
            onnxq_cli_bad_argument(a);
            usage(stderr);
            goto out;
        }
    }
    if (!paths[1] || !data) {
        fprintf(stderr, "onnxq: error: FP32.onnx, INT8.onnx and --data are required\n");
        usage(stderr);
        goto out;
    }
    rc = 1;
    if (onnxq_compare_files(ctx, paths[0], paths[1], data, &dopts, &co, &res, &err) != ONNXQ_OK) {
        rc = onnxq_cli_report(&err);
        goto out;
    }
    if (json) {
        if (!(root = onnxq_compare_json(res))) {
            fprintf(stderr, "onnxq: error: out of memory\n");
            goto out;
        }
        tprintf(&txt, "%s\n",
                json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
    } else {
        render_table(&txt, res, top);
    }
    if (txt.oom) {
        fprintf(stderr, "onnxq: error: out of memory\n");
        goto out;
    }
    if (report_path && write_report(ctx, report_path, table_path, paths, res, &err) != ONNXQ_OK) {
        rc = onnxq_cli_report(&err);
        goto out;
    }
    if (out_path) {
        if (onnxq_write_file_atomic(out_path, txt.s, txt.len, &err) != ONNXQ_OK) {
            rc = onnxq_cli_report(&err);
            goto out;
        }
    } else if (fwrite(txt.s, 1, txt.len, stdout) != txt.len || fflush(stdout) != 0) {
        fprintf(stderr, "onnxq: error: cannot write to stdout\n");
        goto out;
    }
    rc = 0;
out:
    json_object_put(root);
    free(txt.s);
    onnxq_compare_result_free(res);
    return rc;
}
