/* ONNX backend conformance runner over Debian's libonnx-testdata.
 *
 * For every test folder (model.onnx + test_data_set_N/{input,output}_K.pb)
 * it runs the model in onnxq's executor and compares every output with the
 * reference, with the tolerances below. Each case ends as:
 *   pass         all data sets match
 *   fail         a mismatch, or an error other than "unsupported"
 *   unsupported  the model uses an op/version/dtype onnxq does not run
 * A committed list of expected passes (tests/conformance_expected.txt) turns
 * any regression into a failure of `meson test`.
 *
 * usage: conformance [--expected FILE] [--update FILE] [--filter SUBSTR] [-v]
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/context.h"
#include "exec/exec.h"
#include "ir/graph.h"
#include "ops/op.h"
#include "onnx/onnx_io.h"
#include "testutil.h"

/* Tolerances: ONNX's backend tests use rtol 1e-3; our atol is looser than
 * their 1e-7 because float kernels (BLAS GEMM blocking, vectorised exp/erf)
 * reorder sums. Doubles compare tighter; integers and bools exactly. */
#define F32_RTOL 1e-3
#define F32_ATOL 1e-5
#define F64_RTOL 1e-7
#define F64_ATOL 1e-9
#define F16_RTOL 4e-3
#define F16_ATOL 1e-3

static const char *const suites[] = {"node", "pytorch-converted", "pytorch-operator", "simple"};

enum outcome { PASS, FAIL, UNSUPPORTED };

/* Cases whose test data contradicts its own model; reported as skipped with
 * the reason instead of being run. */
static const struct {
    const char *id;
    const char *why;
} bad_testdata[] = {
    {"node/test_castlike_BFLOAT16_to_FLOAT", "input 'like' is stored as [1] but declared [3,4]"},
    {"node/test_castlike_BFLOAT16_to_FLOAT_expanded", "input 'like' is stored as [1] but declared [3,4]"},
    {"node/test_castlike_FLOAT_to_BFLOAT16", "input 'like' is stored as [1] but declared [3,4]"},
    {"node/test_castlike_FLOAT_to_BFLOAT16_expanded", "input 'like' is stored as [1] but declared [3,4]"},
};

static const char *bad_testdata_reason(const char *id)
{
    for (size_t i = 0; i < sizeof(bad_testdata) / sizeof(bad_testdata[0]); i++)
        if (strcmp(bad_testdata[i].id, id) == 0)
            return bad_testdata[i].why;
    return NULL;
}

struct name_list {
    char **v;
    size_t n, cap;
};

static void list_add(struct name_list *l, const char *s)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->v = realloc(l->v, l->cap * sizeof(char *));
    }
    l->v[l->n++] = strdup(s);
}

static bool list_has(const struct name_list *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0)
            return true;
    return false;
}

static bool close_enough(const struct onnxq_tensor *got, const struct onnxq_tensor *want, char *why, size_t whysz)
{
    if (got->dtype != want->dtype) {
        snprintf(why, whysz, "dtype %s, expected %s", onnxq_dtype_name(got->dtype), onnxq_dtype_name(want->dtype));
        return false;
    }
    bool shape_ok = got->ndim == want->ndim;
    for (int i = 0; shape_ok && i < got->ndim; i++)
        shape_ok = got->dims[i] == want->dims[i];
    if (!shape_ok) {
        char a[200], b[200];
        onnxq_shape_format(got->dims, got->ndim, a, sizeof(a));
        onnxq_shape_format(want->dims, want->ndim, b, sizeof(b));
        snprintf(why, whysz, "shape %s, expected %s", a, b);
        return false;
    }
    size_t n = (size_t)onnxq_tensor_numel(want);
    double rtol = 0, atol = 0;
    bool fp = true;
    switch (want->dtype) {
    case ONNXQ_DT_FLOAT: rtol = F32_RTOL; atol = F32_ATOL; break;
    case ONNXQ_DT_DOUBLE: rtol = F64_RTOL; atol = F64_ATOL; break;
    case ONNXQ_DT_FLOAT16:
    case ONNXQ_DT_BFLOAT16: rtol = F16_RTOL; atol = F16_ATOL; break;
    case ONNXQ_DT_STRING:
        if (!onnxq_tensor_equal(got, want)) {
            snprintf(why, whysz, "string values differ");
            return false;
        }
        return true;
    default: fp = false; break;
    }
    if (!fp) {
        if (got->nbytes != want->nbytes || (want->nbytes && memcmp(got->data, want->data, want->nbytes))) {
            for (size_t i = 0; i < n; i++) {
                if (onnxq_tensor_get_i64(got, i) != onnxq_tensor_get_i64(want, i)) {
                    snprintf(why, whysz, "element %zu is %lld, expected %lld", i, (long long)onnxq_tensor_get_i64(got, i),
                             (long long)onnxq_tensor_get_i64(want, i));
                    return false;
                }
            }
            snprintf(why, whysz, "bytes differ");
            return false;
        }
        return true;
    }
    for (size_t i = 0; i < n; i++) {
        double g = onnxq_tensor_get_f64(got, i), w = onnxq_tensor_get_f64(want, i);
        if (isnan(w) && isnan(g))
            continue;
        if (isinf(w) && g == w)
            continue;
        if (!(fabs(g - w) <= atol + rtol * fabs(w))) {
            snprintf(why, whysz, "element %zu is %.9g, expected %.9g", i, g, w);
            return false;
        }
    }
    return true;
}

/* ONNX 1.12's test data stores bfloat16 tensors with data_type UINT16 (same
 * bits): relabel them when the model declares bfloat16 there. */
static void fix_bfloat16(struct onnxq_tensor *t, const struct onnxq_value_info *decl)
{
    if (decl && decl->type.kind == ONNXQ_TYPE_TENSOR && decl->type.has_elem_type &&
        decl->type.elem_type == ONNXQ_DT_BFLOAT16 && t->dtype == ONNXQ_DT_UINT16)
        t->dtype = ONNXQ_DT_BFLOAT16;
}

static bool read_pb(const char *path, struct onnxq_tensor *t, struct onnxq_error *err)
{
    size_t size = 0;
    uint8_t *buf = tu_read_file(path, &size);
    if (!buf) {
        snprintf(err->message, sizeof(err->message), "cannot read %s", path);
        return false;
    }
    enum onnxq_status st = onnxq_tensor_from_pb(buf, size, path, t, NULL, err);
    free(buf);
    return st == ONNXQ_OK;
}

/* Every case also checks what the kernels report for calibration
 * (onnxq_exec_set_output_stats): where a kernel gathered the statistics of
 * its output, they must equal a plain scan of it, and where it captured
 * the subsample (of a small cap, so that most tensors have one) it must
 * equal the blocks picked straight from the tensor. Extremes and counts
 * are exact; sums are float partial sums against a double reference. */
#define STATS_SAMPLE 64
#define STATS_SUM_RTOL 1e-5

struct stats_check {
    struct onnxq_exec *e;
    size_t checked, sampled;
    char why[512];
};

static bool sum_close(double a, double b, double scale)
{
    return fabs(a - b) <= STATS_SUM_RTOL * (scale > 1 ? scale : 1);
}

static int check_stats_hook(void *user, const struct onnxq_node *node, struct onnxq_tensor *const *outputs,
                            size_t n_outputs)
{
    struct stats_check *c = user;
    struct onnxq_vstats got, ref;
    if (c->why[0] || !n_outputs || !outputs[0] || !onnxq_exec_output_stats(c->e, 0, &got))
        return 0;
    const float *x = outputs[0]->data;
    size_t n = outputs[0]->nbytes / sizeof(float);
    onnxq_vstats_init(&ref);
    onnxq_vstats_scan_ref(&ref, x, n);
    double abs_sum = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(x[i]))
            abs_sum += fabs((double)x[i]);
    if (got.finite != ref.finite || got.nan != ref.nan || got.inf != ref.inf ||
        (ref.finite && (got.min != ref.min || got.max != ref.max)) || !sum_close(got.sum, ref.sum, abs_sum)) {
        snprintf(c->why, sizeof(c->why),
                 "node '%s' (%s): kernel statistics differ from a scan: finite %llu/%llu nan %llu/%llu inf %llu/%llu "
                 "min %g/%g max %g/%g sum %g/%g",
                 node->name, node->op_type, (unsigned long long)got.finite, (unsigned long long)ref.finite,
                 (unsigned long long)got.nan, (unsigned long long)ref.nan, (unsigned long long)got.inf,
                 (unsigned long long)ref.inf, got.min, ref.min, got.max, ref.max, got.sum, ref.sum);
        return 0;
    }
    c->checked++;
    const float *v;
    size_t m;
    if (!onnxq_exec_output_sample(c->e, 0, &v, &m))
        return 0;
    /* the picked blocks, straight from the tensor: window w's block at
     * w * k + pick(w), laid out window after window */
    const size_t BL = ONNXQ_SAMPLE_BLOCK, k = onnxq_sample_window(n, STATS_SAMPLE);
    size_t at = 0;
    for (size_t w = 0; w * k * BL < n; w++) {
        size_t b0 = (w * k + onnxq_sample_pick(w, k)) * BL;
        for (size_t i = b0; i < b0 + BL && i < n; i++, at++)
            if (at >= m || memcmp(&v[at], &x[i], sizeof(float)) != 0) {
                snprintf(c->why, sizeof(c->why), "node '%s' (%s): captured subsample differs at %zu (value %zu)",
                         node->name, node->op_type, at, i);
                return 0;
            }
    }
    if (at != m)
        snprintf(c->why, sizeof(c->why), "node '%s' (%s): captured subsample has %zu values, the tensor's %zu",
                 node->name, node->op_type, m, at);
    c->sampled++;
    return 0;
}

/* checked/sampled: nodes whose kernel statistics / subsample were checked */
static enum outcome run_case(struct onnxq_context *ctx, const char *dir, char *why, size_t whysz, size_t *checked,
                             size_t *sampled)
{
    char path[4096];
    struct onnxq_error err = {0};
    struct onnxq_model *m = NULL;
    struct onnxq_exec *e = NULL;
    enum outcome res = PASS;
    snprintf(path, sizeof(path), "%s/model.onnx", dir);
    if (onnxq_model_load(ctx, path, &m, &err) != ONNXQ_OK) {
        snprintf(why, whysz, "load: %s", err.message);
        return err.code == ONNXQ_E_UNSUPPORTED ? UNSUPPORTED : FAIL;
    }
    enum onnxq_status st = onnxq_exec_new(ctx, m, &e, &err);
    if (st) {
        snprintf(why, whysz, "prepare: %s", err.message);
        onnxq_model_free(m);
        return st == ONNXQ_E_UNSUPPORTED ? UNSUPPORTED : FAIL;
    }
    size_t nin = onnxq_exec_n_inputs(e), nout = onnxq_exec_n_outputs(e);
    struct stats_check sc = {.e = e};
    onnxq_exec_set_output_stats(e, true);
    onnxq_exec_set_output_sample(e, STATS_SAMPLE);
    onnxq_exec_set_hook(e, check_stats_hook, &sc);
    int sets = 0;
    for (int ds = 0;; ds++) {
        char sdir[4096];
        snprintf(sdir, sizeof(sdir), "%s/test_data_set_%d", dir, ds);
        struct stat sb;
        if (stat(sdir, &sb) != 0)
            break;
        sets++;
        struct onnxq_tensor *in = calloc(nin + 1, sizeof(*in));
        const struct onnxq_tensor **inp = calloc(nin + 1, sizeof(*inp));
        struct onnxq_tensor *out = calloc(nout + 1, sizeof(*out));
        struct onnxq_tensor *want = calloc(nout + 1, sizeof(*want));
        bool ok = true;
        for (size_t i = 0; i < nin && ok; i++) {
            snprintf(path, sizeof(path), "%s/input_%zu.pb", sdir, i);
            if (!read_pb(path, &in[i], &err)) {
                snprintf(why, whysz, "input: %s", err.message);
                res = UNSUPPORTED;  /* sequence/optional inputs are not tensors */
                ok = false;
            }
            fix_bfloat16(&in[i], onnxq_exec_input(e, i));
            inp[i] = &in[i];
        }
        for (size_t i = 0; i < nout && ok; i++) {
            snprintf(path, sizeof(path), "%s/output_%zu.pb", sdir, i);
            if (!read_pb(path, &want[i], &err)) {
                snprintf(why, whysz, "output: %s", err.message);
                res = UNSUPPORTED;
                ok = false;
            }
            fix_bfloat16(&want[i], onnxq_exec_output(e, i));
        }
        if (ok) {
            st = onnxq_exec_run(e, inp, out, &err);
            if (st) {
                snprintf(why, whysz, "run: %s", err.message);
                res = st == ONNXQ_E_UNSUPPORTED ? UNSUPPORTED : FAIL;
                ok = false;
            }
        }
        if (ok && sc.why[0]) {
            snprintf(why, whysz, "data set %d: %s", ds, sc.why);
            res = FAIL;
            ok = false;
        }
        for (size_t i = 0; i < nout && ok; i++) {
            char w[512];
            if (!close_enough(&out[i], &want[i], w, sizeof(w))) {
                snprintf(why, whysz, "data set %d, output '%s': %s", ds, onnxq_exec_output(e, i)->name, w);
                res = FAIL;
                ok = false;
            }
        }
        for (size_t i = 0; i < nin; i++)
            onnxq_tensor_clear(&in[i]);
        for (size_t i = 0; i < nout; i++) {
            onnxq_tensor_clear(&out[i]);
            onnxq_tensor_clear(&want[i]);
        }
        free(in);
        free(inp);
        free(out);
        free(want);
        if (res != PASS)
            break;
    }
    if (res == PASS && sets == 0) {
        snprintf(why, whysz, "no test data sets");
        res = UNSUPPORTED;
    }
    *checked += sc.checked;
    *sampled += sc.sampled;
    onnxq_exec_free(e);
    onnxq_model_free(m);
    return res;
}

static void load_expected(const char *path, struct name_list *l)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[1024];
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] && line[0] != '#')
            list_add(l, line);
    }
    fclose(f);
}

int main(int argc, char **argv)
{
    const char *expected_path = NULL, *update_path = NULL, *filter = NULL;
    bool verbose = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--expected") == 0 && i + 1 < argc)
            expected_path = argv[++i];
        else if (strcmp(argv[i], "--update") == 0 && i + 1 < argc)
            update_path = argv[++i];
        else if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc)
            filter = argv[++i];
        else if (strcmp(argv[i], "-v") == 0)
            verbose = true;
        else {
            fprintf(stderr, "usage: conformance [--expected FILE] [--update FILE] [--filter SUBSTR] [-v]\n");
            return 2;
        }
    }
    const char *root = tu_env_dir("ONNXQ_TESTDATA");
    if (!root)
        root = "/usr/share/libonnx-testdata/data";
    struct onnxq_context *ctx = NULL;
    struct onnxq_error err;
    if (onnxq_context_new(&ctx, &err) != ONNXQ_OK)
        return 1;
    onnxq_context_set_threads(ctx, 1, &err);
    onnxq_context_set_log_level(ctx, ONNXQ_LOG_ERROR);

    struct name_list expected = {0}, passed = {0};
    if (expected_path)
        load_expected(expected_path, &expected);
    size_t counts[3] = {0}, per_suite[4][3] = {{0}}, skipped = 0, stats_checked = 0, stats_sampled = 0;
    for (size_t s = 0; s < sizeof(suites) / sizeof(suites[0]); s++) {
        char sdir[4096];
        snprintf(sdir, sizeof(sdir), "%s/%s", root, suites[s]);
        char **models = NULL;
        size_t n = tu_find_files(sdir, "model.onnx", &models);
        for (size_t i = 0; i < n; i++) {
            char *dir = models[i];
            *strrchr(dir, '/') = '\0';
            char id[1024];
            snprintf(id, sizeof(id), "%s/%s", suites[s], strrchr(dir, '/') + 1);
            if (filter && !strstr(id, filter))
                continue;
            char why[1400] = "";
            const char *bad = bad_testdata_reason(id);
            if (bad) {
                skipped++;
                if (verbose)
                    printf("%-12s %s: bad test data: %s\n", "skipped", id, bad);
                continue;
            }
            enum outcome o = run_case(ctx, dir, why, sizeof(why), &stats_checked, &stats_sampled);
            counts[o]++;
            per_suite[s][o]++;
            if (o == PASS)
                list_add(&passed, id);
            if (verbose || (o == FAIL) || (o != PASS && list_has(&expected, id)))
                printf("%-12s %s%s%s\n", o == PASS ? "pass" : o == FAIL ? "FAIL" : "unsupported", id, *why ? ": " : "",
                       why);
        }
        tu_free_paths(models, n);
    }
    size_t regressions = 0, new_passes = 0;
    for (size_t i = 0; i < expected.n; i++)
        if (!list_has(&passed, expected.v[i]) && (!filter || strstr(expected.v[i], filter))) {
            printf("REGRESSION   %s (listed in the expected passes)\n", expected.v[i]);
            regressions++;
        }
    for (size_t i = 0; i < passed.n; i++)
        if (expected_path && !list_has(&expected, passed.v[i]))
            new_passes++;
    for (size_t s = 0; s < sizeof(suites) / sizeof(suites[0]); s++)
        printf("conformance %-18s pass %4zu  fail %4zu  unsupported %4zu\n", suites[s], per_suite[s][PASS],
               per_suite[s][FAIL], per_suite[s][UNSUPPORTED]);
    printf("conformance total: %zu pass, %zu fail, %zu unsupported, %zu skipped (bad test data); %zu expected passes, "
           "%zu regressions, %zu new passes not yet in the list\n",
           counts[PASS], counts[FAIL], counts[UNSUPPORTED], skipped, expected.n, regressions, new_passes);
    printf("conformance kernel statistics: %zu node outputs checked against a scan, %zu captured subsamples "
           "checked\n",
           stats_checked, stats_sampled);
    if (update_path) {
        FILE *f = fopen(update_path, "w");
        if (f) {
            fprintf(f, "# Conformance cases that must pass (generated by: conformance --update FILE).\n");
            for (size_t i = 0; i < passed.n; i++)
                fprintf(f, "%s\n", passed.v[i]);
            fclose(f);
        }
    }
    /* meson/Check-style closing line */
    printf("%zu passed, %zu failed\n", counts[PASS], regressions + counts[FAIL]);
    onnxq_context_free(ctx);
    for (size_t i = 0; i < expected.n; i++)
        free(expected.v[i]);
    free(expected.v);
    for (size_t i = 0; i < passed.n; i++)
        free(passed.v[i]);
    free(passed.v);
    /* Failing cases outside the expected list are reported but only
     * regressions and listed-case failures fail the test; unexpected FAILs
     * in supported ops still fail it so a wrong kernel cannot hide. */
    return (regressions || counts[FAIL]) ? 1 : 0;
}
