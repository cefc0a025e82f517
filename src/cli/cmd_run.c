/* onnxq run: execute a model on .npy / .pb inputs and write its outputs. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "core/context.h"
#include "core/error.h"
#include "exec/exec.h"
#include "io/npy.h"
#include "ir/graph.h"
#include "onnx/onnx_io.h"
#include "ops/op.h"
#include "quant/quantize.h"

static const char usage[] =
    "onnxq run MODEL --input [NAME=]FILE ... [--output DIR] [--format npy|pb] [--threads N] [--repeat N] [--profile]\n"
    "          [--no-optimize]\n"
    "  FILE is a NumPy .npy or an ONNX TensorProto .pb; NAME may be left out for a single-input model.\n"
    "  --output DIR writes one file per graph output (NAME.npy or NAME.pb); --repeat N runs N times and\n"
    "  prints the median latency. The quantizer's exact graph clean-ups (BatchNorm folding, HardSwish\n"
    "  fusion, ...) run first unless --no-optimize.";

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static enum onnxq_status read_tensor(const char *path, struct onnxq_tensor *t, struct onnxq_error *err)
{
    if (ends_with(path, ".npy"))
        return onnxq_npy_read(path, t, err);
    if (ends_with(path, ".pb")) {
        uint8_t *buf = NULL;
        size_t n = 0;
        enum onnxq_status st = onnxq_read_file(path, &buf, &n, err);
        if (st)
            return st;
        st = onnxq_tensor_from_pb(buf, n, path, t, NULL, err);
        free(buf);
        return st;
    }
    return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "%s: unknown input format (expected .npy or .pb)", path);
}

/* File-system safe version of a tensor name. */
static void safe_name(const char *name, char *buf, size_t size)
{
    size_t i = 0;
    for (; name[i] && i + 1 < size; i++) {
        char c = name[i];
        buf[i] = (c == '/' || c == '\\' || c == ':' || c == ' ') ? '_' : c;
    }
    buf[i] = '\0';
    if (!i || strcmp(buf, ".") == 0 || strcmp(buf, "..") == 0)
        snprintf(buf, size, "output");
}

/* --profile: time between consecutive node hooks, summed per op type. */
struct profile {
    double last;
    size_t n;
    struct {
        char op[48];
        double ms;
        size_t count;
    } ops[128];
};

static int profile_hook(void *user, const struct onnxq_node *node, struct onnxq_tensor *const *outputs, size_t n_out)
{
    (void)outputs, (void)n_out;
    struct profile *p = user;
    double t = (onnxq_now_seconds() * 1e3);
    size_t i = 0;
    while (i < p->n && strcmp(p->ops[i].op, node->op_type) != 0)
        i++;
    if (i == p->n && p->n < 128)
        snprintf(p->ops[p->n++].op, sizeof(p->ops[0].op), "%s", node->op_type);
    if (i < p->n) {
        p->ops[i].ms += t - p->last;
        p->ops[i].count++;
    }
    p->last = t;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void print_summary(const char *name, const struct onnxq_tensor *t)
{
    char shape[256];
    onnxq_shape_format(t->dims, t->ndim, shape, sizeof(shape));
    printf("  %-28s %-8s %-20s", name, onnxq_dtype_name(t->dtype), shape);
    int64_t n = onnxq_tensor_numel(t);
    if (n > 0 && t->dtype != ONNXQ_DT_STRING) {
        double mn = INFINITY, mx = -INFINITY, sum = 0;
        for (int64_t i = 0; i < n; i++) {
            double v = onnxq_tensor_get_f64(t, (size_t)i);
            mn = v < mn ? v : mn;
            mx = v > mx ? v : mx;
            sum += v;
        }
        printf(" min %.6g max %.6g mean %.6g", mn, mx, sum / (double)n);
    }
    printf("\n");
}

int onnxq_cmd_run(struct onnxq_context *ctx, int argc, char **argv)
{
    const char *model_path = NULL, *outdir = NULL, *format = "npy";
    bool profile = false, optimize = true;
    struct profile prof;
    memset(&prof, 0, sizeof(prof));
    const char **in_spec = calloc((size_t)argc, sizeof(char *));
    int n_spec = 0, repeat = 1, rc = 1;
    struct onnxq_error err;
    struct onnxq_model *m = NULL;
    struct onnxq_exec *e = NULL;
    struct onnxq_tensor *in = NULL, *out = NULL;
    const struct onnxq_tensor **inp = NULL;
    double *times = NULL;
    size_t nin = 0, nout = 0;
    if (!in_spec)
        return 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--input") == 0 && i + 1 < argc)
            in_spec[n_spec++] = argv[++i];
        else if (strcmp(argv[i], "--output") == 0 && i + 1 < argc)
            outdir = argv[++i];
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: %s\n", usage);
            rc = 0;
            goto out;
        } else if (strcmp(argv[i], "--optimize") == 0)
            optimize = true;
        else if (strcmp(argv[i], "--no-optimize") == 0)
            optimize = false;
        else if (strcmp(argv[i], "--profile") == 0)
            profile = true;
        else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc)
            format = argv[++i];
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            int t = atoi(argv[++i]);
            if (onnxq_context_set_threads(ctx, t, &err) != ONNXQ_OK) {
                fprintf(stderr, "onnxq: error: %s\nusage: %s\n", err.message, usage);
                rc = 2;
                goto out;
            }
        } else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
            repeat = atoi(argv[++i]);
            if (repeat < 1) {
                fprintf(stderr, "onnxq: error: --repeat takes a count >= 1\nusage: %s\n", usage);
                rc = 2;
                goto out;
            }
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "onnxq: error: unknown option '%s' or missing value\nusage: %s\n", argv[i], usage);
            rc = 2;
            goto out;
        } else if (!model_path) {
            model_path = argv[i];
        } else {
            fprintf(stderr, "onnxq: error: unexpected argument '%s'\nusage: %s\n", argv[i], usage);
            rc = 2;
            goto out;
        }
    }
    if (!model_path) {
        fprintf(stderr, "onnxq: error: no model given\nusage: %s\n", usage);
        rc = 2;
        goto out;
    }
    if (strcmp(format, "npy") != 0 && strcmp(format, "pb") != 0) {
        fprintf(stderr, "onnxq: error: --format must be npy or pb\n");
        rc = 2;
        goto out;
    }
    if (onnxq_model_load(ctx, model_path, &m, &err) != ONNXQ_OK) {
        rc = onnxq_cli_report(&err);
        goto out;
    }
    /* The quantizer's exact graph clean-ups (BatchNorm and affine folding,
     * HardSwish fusion, ...), as onnxruntime applies its own. They are best
     * effort: a pass that refuses a model leaves it valid, and it runs as is. */
    if (optimize && onnxq_quant_prepare(m, true, &err) != ONNXQ_OK)
        fprintf(stderr, "onnxq: warning: graph optimizations skipped: %s\n", err.message);
    if (onnxq_exec_new(ctx, m, &e, &err) != ONNXQ_OK) {
        rc = onnxq_cli_report(&err);
        goto out;
    }
    nin = onnxq_exec_n_inputs(e);
    nout = onnxq_exec_n_outputs(e);
    in = calloc(nin + 1, sizeof(*in));
    inp = calloc(nin + 1, sizeof(*inp));
    out = calloc(nout + 1, sizeof(*out));
    times = calloc((size_t)repeat, sizeof(double));
    if (!in || !inp || !out || !times)
        goto out;
    for (int s = 0; s < n_spec; s++) {
        const char *spec = in_spec[s];
        const char *eq = strchr(spec, '=');
        size_t idx = nin;
        const char *file = spec;
        if (eq) {
            for (size_t i = 0; i < nin; i++) {
                const char *nm = onnxq_exec_input(e, i)->name;
                if (strlen(nm) == (size_t)(eq - spec) && strncmp(nm, spec, (size_t)(eq - spec)) == 0)
                    idx = i;
            }
            file = eq + 1;
            if (idx == nin) {
                /* maybe the file name itself contains '=' and the model has one input */
                if (nin == 1 && access(spec, R_OK) == 0) {
                    idx = 0;
                    file = spec;
                } else {
                    fprintf(stderr, "onnxq: error: %s: the model has no input named '%.*s'\n", model_path,
                            (int)(eq - spec), spec);
                    goto out;
                }
            }
        } else if (nin == 1) {
            idx = 0;
        } else {
            fprintf(stderr, "onnxq: error: the model has %zu inputs: name each one (--input NAME=FILE)\n", nin);
            goto out;
        }
        if (inp[idx]) {
            fprintf(stderr, "onnxq: error: input '%s' is given twice\n", onnxq_exec_input(e, idx)->name);
            goto out;
        }
        if (read_tensor(file, &in[idx], &err) != ONNXQ_OK) {
            rc = onnxq_cli_report(&err);
            goto out;
        }
        inp[idx] = &in[idx];
    }
    for (size_t i = 0; i < nin; i++) {
        if (!inp[i]) {
            fprintf(stderr, "onnxq: error: %s: input '%s' is not given (--input %s=FILE)\n", model_path,
                    onnxq_exec_input(e, i)->name, onnxq_exec_input(e, i)->name);
            goto out;
        }
    }
    if (profile)
        onnxq_exec_set_hook(e, profile_hook, &prof);
    for (int r = 0; r < repeat; r++) {
        double t0 = (onnxq_now_seconds() * 1e3);
        prof.last = t0;
        if (onnxq_exec_run(e, inp, out, &err) != ONNXQ_OK) {
            rc = onnxq_cli_report(&err);
            goto out;
        }
        times[r] = (onnxq_now_seconds() * 1e3) - t0;
        if (r + 1 < repeat)
            for (size_t i = 0; i < nout; i++)
                onnxq_exec_recycle_output(e, &out[i]);
    }
    qsort(times, (size_t)repeat, sizeof(double), cmp_double);
    printf("outputs:\n");
    for (size_t i = 0; i < nout; i++)
        print_summary(onnxq_exec_output(e, i)->name, &out[i]);
    printf("latency_ms: median %.3f min %.3f (%d run%s, %d thread%s)\n", times[repeat / 2], times[0], repeat,
           repeat == 1 ? "" : "s", ctx->threads, ctx->threads == 1 ? "" : "s");
    printf("peak_intermediate_bytes: %zu\n", onnxq_exec_peak_bytes(e));
    if (profile) {
        double total = 0;
        for (size_t i = 0; i < prof.n; i++)
            total += prof.ops[i].ms;
        printf("profile (per run, %d run%s):\n", repeat, repeat == 1 ? "" : "s");
        for (size_t pass = 0; pass < prof.n; pass++) {
            size_t best = 0;
            for (size_t i = 1; i < prof.n; i++)
                if (prof.ops[i].ms > prof.ops[best].ms)
                    best = i;
            if (prof.ops[best].ms < 0)
                break;
            printf("  %-24s %9.3f ms %5.1f %%  (%zu nodes)\n", prof.ops[best].op, prof.ops[best].ms / repeat,
                   total > 0 ? 100 * prof.ops[best].ms / total : 0, prof.ops[best].count / (size_t)repeat);
            prof.ops[best].ms = -1;
        }
    }
    if (outdir) {
        if (mkdir(outdir, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "onnxq: error: %s: cannot create folder: %s\n", outdir, strerror(errno));
            goto out;
        }
        for (size_t i = 0; i < nout; i++) {
            const char *nm = onnxq_exec_output(e, i)->name;
            char fname[512], path[4096];
            safe_name(nm, fname, sizeof(fname));
            snprintf(path, sizeof(path), "%s/%s.%s", outdir, fname, format);
            uint8_t *buf = NULL;
            size_t n = 0;
            enum onnxq_status st = strcmp(format, "npy") == 0 ? onnxq_npy_encode(&out[i], &buf, &n, &err)
                                                               : onnxq_tensor_to_pb(&out[i], nm, &buf, &n, &err);
            if (st == ONNXQ_OK)
                st = onnxq_write_file_atomic(path, buf, n, &err);
            free(buf);
            if (st) {
                onnxq_error_prefix(&err, "output '%s': ", nm);
                rc = onnxq_cli_report(&err);
                goto out;
            }
        }
    }
    rc = 0;
out:
    for (size_t i = 0; in && i < nin; i++)
        onnxq_tensor_clear(&in[i]);
    for (size_t i = 0; out && i < nout; i++)
        onnxq_tensor_clear(&out[i]);
    free(in);
    free(inp);
    free(out);
    free(times);
    free(in_spec);
    onnxq_exec_free(e);
    onnxq_model_free(m);
    return rc;
}
