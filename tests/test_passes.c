/* Graph passes (src/quant/passes.h): each pass on small models built with
 * Debian's python3-onnx, run through onnxq's executor before and after the
 * pass, plus every pass over the real models and the opset upgrade over the
 * libonnx-testdata node tests.
 *
 * Tolerances:
 *   EXACT  pure rewrites (constants_to_initializers, upgrade_opset):
 *          outputs bit-identical.
 *   FOLD   arithmetic folds and fusions (fold_batchnorm, fold_scalar_affine,
 *          fuse_hardswish), and convtranspose_to_depthtospace, whose sums
 *          onnxq's Conv and ConvTranspose kernels round differently (it is
 *          bit-identical in onnxruntime-node, checked by the e2e suite):
 *          max |after - before| <= 1e-5 * max |before|
 *          (weights are rounded once to float after double-precision
 *          arithmetic; the original graph rounds after every op).
 *   REAL   the whole pipeline on the real models: max abs diff <= 1e-4.
 * Where onnxq's executor cannot run a model yet, the structural checks
 * still run and a note is printed.
 *
 * `test_passes --apply IN OUT [--target N] [--passes a,b,...]` runs passes
 * over a model file and saves the result (used by tests/e2e/passes_vs_ort.sh);
 * it prints one "pass NAME changed N" line per pass. */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/context.h"
#include "exec/exec.h"
#include "ir/graph.h"
#include "ir/graph_util.h"
#include "onnx/onnx_io.h"
#include "ops/op.h"
#include "quant/passes.h"
#include "testutil.h"

#define FOLD_RTOL 1e-5
#define REAL_ATOL 1e-4

static struct onnxq_context *ctx;

static void setup(void)
{
    struct onnxq_error err;
    ck_assert_int_eq(onnxq_context_new(&ctx, &err), ONNXQ_OK);
    onnxq_context_set_threads(ctx, 2, &err);
}

static char *tmpdir_path;

static void teardown(void)
{
    onnxq_context_free(ctx);
    ctx = NULL;
    if (tmpdir_path)
        tu_rmtree(tmpdir_path);
    free(tmpdir_path);
    tmpdir_path = NULL;
}

/* ------------------------------------------------------------ models */

/* Python prelude of every model script: helpers over onnx.helper. */
static const char PY_PRELUDE[] =
    "import sys, numpy as np, onnx\n"
    "from onnx import helper as h, TensorProto as TP, numpy_helper as nh\n"
    "rng = np.random.default_rng(1234)\n"
    "def rnd(*s, lo=-1.0, hi=1.0):\n"
    "    return rng.uniform(lo, hi, size=s).astype(np.float32)\n"
    "def T(name, a):\n"
    "    return nh.from_array(np.asarray(a), name)\n"
    "def vi(name, shape, dt=TP.FLOAT):\n"
    "    return h.make_tensor_value_info(name, dt, shape)\n"
    "def node(op, i, o, **kw):\n"
    "    return h.make_node(op, i, o, **kw)\n"
    "def model(nodes, inputs, outputs, inits=(), opset=13, ir=None, name='g'):\n"
    "    g = h.make_graph(nodes, name, inputs, outputs, initializer=list(inits))\n"
    "    m = h.make_model(g, opset_imports=[h.make_opsetid('', opset)], producer_name='test_passes')\n"
    "    m.ir_version = ir if ir else (7 if opset >= 13 else 4)\n"
    "    return m\n";

/* Build a model with python: `body` must assign `m`. NULL (and a printed
 * note) when python3-onnx cannot build it. */
static struct onnxq_model *py_model(const char *body)
{
    if (!tmpdir_path)
        ck_assert_ptr_nonnull(tmpdir_path = tu_mkdtemp());
    char script[4096], out[4096];
    static unsigned counter;
    counter++;
    snprintf(script, sizeof(script), "%s/m%u.py", tmpdir_path, counter);
    snprintf(out, sizeof(out), "%s/m%u.onnx", tmpdir_path, counter);
    FILE *f = fopen(script, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "%s%s\nonnx.save(m, sys.argv[1])\n", PY_PRELUDE, body);
    fclose(f);
    char cmd[9000];
    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s %s", script, out);
    int rc = system(cmd);
    ck_assert_msg(rc == 0, "python3 failed to build the model of %s", script);
    struct onnxq_model *m = NULL;
    struct onnxq_error err;
    ck_assert_msg(onnxq_model_load(ctx, out, &m, &err) == ONNXQ_OK, "load %s: %s", out, err.message);
    return m;
}

/* ------------------------------------------------------------ running */

struct outputs {
    size_t n;
    char **names;
    struct onnxq_tensor *t;
};

static void outputs_free(struct outputs *o)
{
    for (size_t i = 0; i < o->n; i++) {
        free(o->names[i]);
        onnxq_tensor_clear(&o->t[i]);
    }
    free(o->names);
    free(o->t);
    memset(o, 0, sizeof(*o));
}

/* Inputs: fixed by name, else generated from the declared type. */
struct feeds {
    size_t n;
    char *names[16];
    struct onnxq_tensor t[16];
};

static void feeds_free(struct feeds *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->names[i]);
        onnxq_tensor_clear(&f->t[i]);
    }
    f->n = 0;
}

static struct onnxq_tensor *feed_find(struct feeds *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->names[i], name) == 0)
            return &f->t[i];
    return NULL;
}

static struct onnxq_tensor *feed_add(struct feeds *f, const char *name, enum onnxq_dtype dt, int ndim,
                                     const int64_t *dims)
{
    ck_assert_uint_lt(f->n, 16);
    struct onnxq_error err;
    ck_assert_int_eq(onnxq_tensor_alloc(&f->t[f->n], dt, ndim, dims, &err), ONNXQ_OK);
    f->names[f->n] = strdup(name);
    return &f->t[f->n++];
}

static uint64_t lcg_state = 88172645463325252ull;

static double lcg_uniform(void)
{
    lcg_state ^= lcg_state << 13;
    lcg_state ^= lcg_state >> 7;
    lcg_state ^= lcg_state << 17;
    return (double)(lcg_state >> 11) / 9007199254740992.0;
}

/* Symbolic dims get `sym_dim`. Floats uniform in [-amp, amp): the small
 * models use 5, both sides of HardSwish's -3 and 3 knees; the real models
 * 1, about the range of normalized images. */
static void make_feeds(const struct onnxq_exec *e, struct feeds *f, int64_t sym_dim, double amp)
{
    for (size_t i = 0; i < onnxq_exec_n_inputs(e); i++) {
        const struct onnxq_value_info *vi = onnxq_exec_input(e, i);
        if (feed_find(f, vi->name))
            continue;
        int64_t dims[ONNXQ_MAX_DIMS];
        int nd = vi->type.has_shape ? vi->type.ndim : 0;
        for (int d = 0; d < nd; d++)
            dims[d] = vi->type.dims[d].kind == ONNXQ_DIM_VALUE ? vi->type.dims[d].value : sym_dim;
        enum onnxq_dtype dt = vi->type.has_elem_type ? (enum onnxq_dtype)vi->type.elem_type : ONNXQ_DT_FLOAT;
        struct onnxq_tensor *t = feed_add(f, vi->name, dt, nd, dims);
        for (int64_t k = 0; k < onnxq_tensor_numel(t); k++) {
            double u = lcg_uniform();
            if (dt == ONNXQ_DT_BOOL)
                ((uint8_t *)t->data)[k] = u < 0.5;
            else if (onnxq_dtype_table[dt].is_float)
                onnxq_tensor_set_f64(t, (size_t)k, (u * 2.0 - 1.0) * amp);
            else
                onnxq_tensor_set_f64(t, (size_t)k, floor(u * 3.0));
        }
    }
}

/* Run m; false (with `why`) when the executor cannot run it. A negative
 * sym_dim -d means symbolic dims d and float inputs in [-1, 1). */
static bool run_model(const struct onnxq_model *m, struct feeds *f, int64_t sym_dim, struct outputs *out, char *why,
                      size_t whysz)
{
    struct onnxq_exec *e = NULL;
    struct onnxq_error err;
    memset(out, 0, sizeof(*out));
    if (onnxq_exec_new(ctx, m, &e, &err) != ONNXQ_OK) {
        snprintf(why, whysz, "%s", err.message);
        return false;
    }
    make_feeds(e, f, sym_dim < 0 ? -sym_dim : sym_dim, sym_dim < 0 ? 1.0 : 5.0);
    size_t ni = onnxq_exec_n_inputs(e), no = onnxq_exec_n_outputs(e);
    const struct onnxq_tensor **in = calloc(ni ? ni : 1, sizeof(*in));
    for (size_t i = 0; i < ni; i++)
        in[i] = feed_find(f, onnxq_exec_input(e, i)->name);
    out->n = no;
    out->t = calloc(no ? no : 1, sizeof(*out->t));
    out->names = calloc(no ? no : 1, sizeof(char *));
    for (size_t i = 0; i < no; i++)
        out->names[i] = strdup(onnxq_exec_output(e, i)->name);
    enum onnxq_status st = onnxq_exec_run(e, in, out->t, &err);
    free(in);
    onnxq_exec_free(e);
    if (st != ONNXQ_OK) {
        snprintf(why, whysz, "%s", err.message);
        outputs_free(out);
        return false;
    }
    return true;
}

enum tol { EXACT, FOLD, REAL };

/* Compare b against a. Returns the worst float abs diff seen. */
static double compare_outputs(const struct outputs *a, const struct outputs *b, enum tol tol, const char *what)
{
    ck_assert_msg(a->n == b->n, "%s: %zu outputs before, %zu after", what, a->n, b->n);
    double worst = 0;
    for (size_t i = 0; i < a->n; i++) {
        const struct onnxq_tensor *x = &a->t[i], *y = NULL;
        for (size_t k = 0; k < b->n; k++)
            if (strcmp(a->names[i], b->names[k]) == 0)
                y = &b->t[k];
        ck_assert_msg(y, "%s: output %s missing after the pass", what, a->names[i]);
        ck_assert_msg(x->dtype == y->dtype && x->ndim == y->ndim, "%s: output %s changed dtype or rank", what,
                      a->names[i]);
        for (int d = 0; d < x->ndim; d++)
            ck_assert_msg(x->dims[d] == y->dims[d], "%s: output %s changed shape", what, a->names[i]);
        double maxy = 0, maxd = 0;
        if (tol == EXACT || !onnxq_dtype_table[x->dtype].is_float) {
            if (!onnxq_tensor_equal(x, y) && onnxq_dtype_table[x->dtype].is_float)
                for (int64_t k = 0; k < onnxq_tensor_numel(x); k++) {
                    double u = onnxq_tensor_get_f64(x, (size_t)k), v = onnxq_tensor_get_f64(y, (size_t)k);
                    maxy = fmax(maxy, fabs(u));
                    maxd = fmax(maxd, fabs(u - v));
                }
            ck_assert_msg(onnxq_tensor_equal(x, y), "%s: output %s is not bit-identical (max abs diff %g, max |y| %g)",
                          what, a->names[i], maxd, maxy);
            continue;
        }
        for (int64_t k = 0; k < onnxq_tensor_numel(x); k++) {
            double u = onnxq_tensor_get_f64(x, (size_t)k), v = onnxq_tensor_get_f64(y, (size_t)k);
            maxy = fmax(maxy, fabs(u));
            double d = fabs(u - v);
            if (isnan(u) != isnan(v))
                d = INFINITY;
            maxd = fmax(maxd, isnan(u) && isnan(v) ? 0 : d);
        }
        double lim = tol == FOLD ? FOLD_RTOL * maxy : REAL_ATOL;
        ck_assert_msg(maxd <= lim, "%s: output %s differs by %g (limit %g, max |y| %g)", what, a->names[i], maxd, lim,
                      maxy);
        worst = fmax(worst, maxd);
    }
    return worst;
}

/* ------------------------------------------------------------ structure */

static void count_ops_graph(const struct onnxq_graph *g, const char *op, size_t *n)
{
    for (size_t i = 0; i < g->n_nodes; i++) {
        const struct onnxq_node *nd = g->nodes[i];
        if (strcmp(nd->op_type, op) == 0)
            (*n)++;
        for (size_t a = 0; a < nd->n_attrs; a++) {
            if (nd->attrs[a].g)
                count_ops_graph(nd->attrs[a].g, op, n);
            for (size_t k = 0; k < nd->attrs[a].n_graphs; k++)
                count_ops_graph(nd->attrs[a].graphs[k], op, n);
        }
    }
}

static size_t count_op(const struct onnxq_model *m, const char *op)
{
    size_t n = 0;
    count_ops_graph(m->graph, op, &n);
    return n;
}

/* Any node of type op (anywhere) carrying attribute attr? */
static bool attr_left_graph(const struct onnxq_graph *g, const char *op, const char *attr)
{
    for (size_t i = 0; i < g->n_nodes; i++) {
        const struct onnxq_node *nd = g->nodes[i];
        if (strcmp(nd->op_type, op) == 0 && onnxq_node_attr(nd, attr))
            return true;
        for (size_t a = 0; a < nd->n_attrs; a++) {
            if (nd->attrs[a].g && attr_left_graph(nd->attrs[a].g, op, attr))
                return true;
            for (size_t k = 0; k < nd->attrs[a].n_graphs; k++)
                if (attr_left_graph(nd->attrs[a].graphs[k], op, attr))
                    return true;
        }
    }
    return false;
}

static bool attr_left(const struct onnxq_model *m, const char *op, const char *attr)
{
    return attr_left_graph(m->graph, op, attr);
}

static void assert_valid(const struct onnxq_model *m, const char *what)
{
    struct onnxq_error err;
    ck_assert_msg(onnxq_model_validate(m, &err) == ONNXQ_OK, "%s: invalid after the pass: %s", what, err.message);
    /* and it survives a save/load round trip */
    uint8_t *bytes = NULL;
    size_t n = 0;
    ck_assert_msg(onnxq_model_serialize(m, &bytes, &n, &err) == ONNXQ_OK, "%s: serialize: %s", what, err.message);
    struct onnxq_model *r = NULL;
    ck_assert_msg(onnxq_model_load_buffer(ctx, bytes, n, NULL, what, &r, &err) == ONNXQ_OK, "%s: reload: %s", what,
                  err.message);
    free(bytes);
    onnxq_model_free(r);
}

typedef enum onnxq_status (*pass_fn)(struct onnxq_model *, size_t *, struct onnxq_error *);

/* Run `pass` on m, expecting `want_changed` rewrites (-1: any), and compare
 * the executor's outputs before and after. Returns the pass's count. */
static size_t check_pass(struct onnxq_model *m, pass_fn pass, long want_changed, enum tol tol, struct feeds *f,
                         const char *what)
{
    struct outputs before, after;
    char why[ONNXQ_ERROR_MESSAGE_MAX];
    bool ran = run_model(m, f, 2, &before, why, sizeof(why));
    if (!ran)
        printf("note: %s: the executor cannot run the model before the pass (%s); structural checks only\n", what, why);
    struct onnxq_error err;
    size_t changed = 12345;
    enum onnxq_status st = pass(m, &changed, &err);
    ck_assert_msg(st == ONNXQ_OK, "%s: pass failed: %s", what, err.message);
    if (want_changed >= 0)
        ck_assert_msg(changed == (size_t)want_changed, "%s: %zu changes, expected %ld", what, changed, want_changed);
    assert_valid(m, what);
    if (ran) {
        ck_assert_msg(run_model(m, f, 2, &after, why, sizeof(why)), "%s: the executor ran the model before the pass "
                      "but not after: %s", what, why);
        compare_outputs(&before, &after, tol, what);
        outputs_free(&before);
        outputs_free(&after);
    }
    return changed;
}

static enum onnxq_status upgrade13(struct onnxq_model *m, size_t *c, struct onnxq_error *e)
{
    return onnxq_pass_upgrade_opset(m, 13, c, e);
}
static enum onnxq_status upgrade14(struct onnxq_model *m, size_t *c, struct onnxq_error *e)
{
    return onnxq_pass_upgrade_opset(m, 14, c, e);
}
static enum onnxq_status upgrade18(struct onnxq_model *m, size_t *c, struct onnxq_error *e)
{
    return onnxq_pass_upgrade_opset(m, 18, c, e);
}
static enum onnxq_status upgrade21(struct onnxq_model *m, size_t *c, struct onnxq_error *e)
{
    return onnxq_pass_upgrade_opset(m, 21, c, e);
}

/* Build, run a pass, check; the whole cycle for one small model. */
static struct onnxq_model *cycle(const char *py, pass_fn pass, long want_changed, enum tol tol, const char *what)
{
    struct onnxq_model *m = py_model(py);
    struct feeds f = {.n = 0};
    check_pass(m, pass, want_changed, tol, &f, what);
    feeds_free(&f);
    return m;
}

/* ================================================ constants_to_initializers */

START_TEST(c2i_value_kinds)
{
    struct onnxq_model *m = cycle(
        "nodes = [node('Constant', [], ['c1'], value=T('ignored', rnd(3))),\n"
        "         node('Add', ['x', 'c1'], ['y1']),\n"
        "         node('Constant', [], ['c2'], value_float=2.5),\n"
        "         node('Mul', ['y1', 'c2'], ['y2']),\n"
        "         node('Constant', [], ['c3'], value_ints=[3, 2]),\n"
        "         node('Reshape', ['y2', 'c3'], ['y3']),\n"
        "         node('Constant', [], ['c4'], value_int=1),\n"
        "         node('Gather', ['y3', 'c4'], ['y4']),\n"
        "         node('Constant', [], ['c5'], value_floats=[1.0, -2.0]),\n"
        "         node('Add', ['y4', 'c5'], ['y'])]\n"
        "m = model(nodes, [vi('x', [2, 3])], [vi('y', [2]), vi('c2', [])])\n",
        onnxq_pass_constants_to_initializers, 5, EXACT, "c2i value kinds");
    ck_assert_uint_eq(count_op(m, "Constant"), 0);
    ck_assert_uint_eq(m->graph->n_inits, 5);
    ck_assert_ptr_nonnull(onnxq_graph_find_init(m->graph, "c1"));
    ck_assert_int_eq(onnxq_graph_find_init(m->graph, "c2")->value.ndim, 0);
    ck_assert_int_eq(onnxq_graph_find_init(m->graph, "c4")->value.dtype, ONNXQ_DT_INT64);
    onnxq_model_free(m);
}
END_TEST

/* Constants inside If branches become initializers of the branch; one is
 * the branch's output itself. Both branches are run. */
START_TEST(c2i_subgraphs)
{
    const char *py =
        "then_g = h.make_graph([node('Constant', [], ['tc'], value=T('tc', rnd(4))),\n"
        "                       node('Add', ['x', 'tc'], ['t_out'])], 'then', [], [vi('t_out', [4])])\n"
        "else_g = h.make_graph([node('Constant', [], ['e_out'], value=T('e', rnd(4)))], 'else', [], [vi('e_out', [4])])\n"
        "nodes = [node('If', ['cond'], ['y'], then_branch=then_g, else_branch=else_g)]\n"
        "m = model(nodes, [vi('cond', [], TP.BOOL), vi('x', [4])], [vi('y', [4])], opset=16)\n";
    for (int branch = 0; branch < 2; branch++) {
        struct onnxq_model *m = py_model(py);
        struct feeds f = {.n = 0};
        struct onnxq_tensor *c = feed_add(&f, "cond", ONNXQ_DT_BOOL, 0, NULL);
        ((uint8_t *)c->data)[0] = (uint8_t)(branch == 0);
        check_pass(m, onnxq_pass_constants_to_initializers, 2, EXACT, &f, branch ? "c2i else branch" : "c2i then branch");
        ck_assert_uint_eq(count_op(m, "Constant"), 0);
        const struct onnxq_node *iff = m->graph->nodes[0];
        ck_assert_uint_eq(onnxq_node_attr(iff, "then_branch")->g->n_inits, 1);
        ck_assert_uint_eq(onnxq_node_attr(iff, "else_branch")->g->n_inits, 1);
        feeds_free(&f);
        onnxq_model_free(m);
    }
}
END_TEST

/* sparse_value constants stay; an IR-3 model is raised to IR 4. */
START_TEST(c2i_leaves_sparse_and_raises_ir)
{
    struct onnxq_model *m = py_model(
        "sp = h.make_sparse_tensor(T('v', np.array([1.5], np.float32)), T('i', np.array([2], np.int64)), [4])\n"
        "nodes = [node('Constant', [], ['s'], sparse_value=sp), node('Add', ['x', 's'], ['y'])]\n"
        "m = model(nodes, [vi('x', [4])], [vi('y', [4])], opset=11)\n");
    size_t changed = 99;
    struct onnxq_error err;
    ck_assert_int_eq(onnxq_pass_constants_to_initializers(m, &changed, &err), ONNXQ_OK);
    ck_assert_uint_eq(changed, 0);
    ck_assert_uint_eq(count_op(m, "Constant"), 1);
    onnxq_model_free(m);

    m = cycle("nodes = [node('Constant', [], ['c'], value=T('c', rnd(4))), node('Mul', ['x', 'c'], ['y'])]\n"
              "m = model(nodes, [vi('x', [4])], [vi('y', [4])], opset=7, ir=3)\n",
              onnxq_pass_constants_to_initializers, 1, EXACT, "c2i IR 3");
    ck_assert_int_eq(m->ir_version, 4);
    onnxq_model_free(m);
}
END_TEST

/* ================================================ fold_batchnorm */

#define BN_PARAMS(C)                                                                      \
    "def bn(x, y, C, pre, **kw):\n"                                                       \
    "    ins = [T(pre + 's', rnd(C, lo=0.5, hi=2)), T(pre + 'b', rnd(C)),\n"              \
    "           T(pre + 'm', rnd(C)), T(pre + 'v', rnd(C, lo=0.1, hi=3))]\n"              \
    "    inits.extend(ins)\n"                                                             \
    "    return node('BatchNormalization', [x] + [t.name for t in ins], [y], epsilon=1e-3, **kw)\n"

START_TEST(bn_conv_convtranspose_gemm)
{
    struct onnxq_model *m = cycle(
        "inits = []\n" BN_PARAMS(C)
        "inits += [T('w1', rnd(8, 3, 3, 3)), T('b1', rnd(8)), T('w2', rnd(8, 4, 3, 3)),\n"
        "          T('w3', rnd(8, 3, 2, 2)), T('b3', rnd(6)), T('w4', rnd(8, 2, 3, 3)),\n"
        "          T('g1', rnd(5, 7)), T('gc1', rnd(7)), T('g2', rnd(6, 5)), T('g3', rnd(5, 4)), T('gc3', rnd(2, 4))]\n"
        "nodes = [node('Conv', ['x', 'w1', 'b1'], ['c1'], pads=[1, 1, 1, 1]), bn('c1', 'y1', 8, 'n1'),\n"
        "         node('Conv', ['y1', 'w2'], ['c2'], group=2, pads=[1, 1, 1, 1]), bn('c2', 'y2', 8, 'n2'),\n"
        "         node('ConvTranspose', ['y2', 'w3', 'b3'], ['c3'], group=2, strides=[2, 2]), bn('c3', 'y3', 6, 'n3'),\n"
        "         node('ConvTranspose', ['y2', 'w4'], ['c4'], strides=[1, 1]), bn('c4', 'y4', 2, 'n4'),\n"
        "         node('Gemm', ['v', 'g1', 'gc1'], ['d1'], alpha=0.5), bn('d1', 'z1', 7, 'n5'),\n"
        "         node('Gemm', ['v', 'g2'], ['d2'], transB=1), bn('d2', 'z2', 6, 'n6'),\n"
        "         node('Gemm', ['u', 'g3', 'gc3'], ['d3'], beta=0.25), bn('d3', 'z3', 4, 'n7')]\n"
        "m = model(nodes, [vi('x', [1, 3, 6, 6]), vi('v', [3, 5]), vi('u', [2, 5])],\n"
        "          [vi('y3', [1, 6, 12, 12]), vi('y4', [1, 2, 8, 8]), vi('z1', [3, 7]), vi('z2', [3, 6]), vi('z3', [2, 4])],\n"
        "          inits, opset=13)\n",
        onnxq_pass_fold_batchnorm, 7, FOLD, "fold_batchnorm conv/convtranspose/gemm");
    ck_assert_uint_eq(count_op(m, "BatchNormalization"), 0);
    /* BN parameters and the old weights are gone; biases were created */
    ck_assert_ptr_null(onnxq_graph_find_init(m->graph, "n1s"));
    for (size_t i = 0; i < m->graph->n_nodes; i++)
        ck_assert_uint_eq(m->graph->nodes[i]->n_inputs, 3);
    onnxq_model_free(m);
}
END_TEST

/* A weight shared by two convs is copied; a conv whose output is also
 * read elsewhere, a training-mode BN and a BN with parameters fed as graph
 * inputs stay; BN inside an If branch folds. */
START_TEST(bn_sharing_and_refusals)
{
    struct onnxq_model *m = cycle(
        "inits = []\n" BN_PARAMS(C)
        "inits += [T('w', rnd(4, 4, 1, 1)), T('w5', rnd(4, 4, 1, 1))]\n"
        "nodes = [node('Conv', ['x', 'w'], ['c1']), bn('c1', 'y1', 4, 'n1'),\n"
        "         node('Conv', ['y1', 'w'], ['c2']), bn('c2', 'y2', 4, 'n2'),\n"
        "         node('Conv', ['y2', 'w5'], ['c3']), bn('c3', 'y3', 4, 'n3'), node('Relu', ['c3'], ['r3']),\n"
        "         node('Conv', ['y3', 'w5'], ['c4']), bn('c4', 'y4', 4, 'n4', training_mode=1)]\n"
        "m = model(nodes, [vi('x', [1, 4, 3, 3])], [vi('y4', [1, 4, 3, 3]), vi('r3', [1, 4, 3, 3])], inits, opset=15)\n",
        onnxq_pass_fold_batchnorm, 2, FOLD, "fold_batchnorm sharing");
    ck_assert_uint_eq(count_op(m, "BatchNormalization"), 2);
    /* the first conv got a copy of the shared weight, the second kept it */
    ck_assert_str_ne(m->graph->nodes[0]->inputs[1], m->graph->nodes[1]->inputs[1]);
    onnxq_model_free(m);

    m = cycle("inits = []\n" BN_PARAMS(C)
              "inits += [T('w', rnd(4, 4, 1, 1))]\n"
              "ins = [T('s', rnd(4)), T('b', rnd(4)), T('mm', rnd(4)), T('vv', rnd(4, lo=0.5, hi=1))]\n"
              "inits += ins\n"
              "nodes = [node('Conv', ['x', 'w'], ['c1']), node('BatchNormalization', ['c1', 's', 'b', 'mm', 'vv'], ['y'])]\n"
              "m = model(nodes, [vi('x', [1, 4, 3, 3]), vi('s', [4])], [vi('y', [1, 4, 3, 3])], inits, opset=13)\n",
              onnxq_pass_fold_batchnorm, 0, FOLD, "fold_batchnorm scale is an input");
    onnxq_model_free(m);

    const char *py_if =
        "inits = []\n" BN_PARAMS(C)
        "inits += [T('w', rnd(4, 4, 1, 1))]\n"
        "sub = [node('Conv', ['x', 'w'], ['c1']), bn('c1', 't_out', 4, 'n1')]\n"
        "then_g = h.make_graph(sub, 'then', [], [vi('t_out', [1, 4, 3, 3])], initializer=inits)\n"
        "else_g = h.make_graph([node('Identity', ['x'], ['e_out'])], 'else', [], [vi('e_out', [1, 4, 3, 3])])\n"
        "m = model([node('If', ['cond'], ['y'], then_branch=then_g, else_branch=else_g)],\n"
        "          [vi('cond', [], TP.BOOL), vi('x', [1, 4, 3, 3])], [vi('y', [1, 4, 3, 3])], opset=13)\n";
    m = py_model(py_if);
    struct feeds f = {.n = 0};
    ((uint8_t *)feed_add(&f, "cond", ONNXQ_DT_BOOL, 0, NULL)->data)[0] = 1;
    check_pass(m, onnxq_pass_fold_batchnorm, 1, FOLD, &f, "fold_batchnorm in If");
    ck_assert_uint_eq(count_op(m, "BatchNormalization"), 0);
    feeds_free(&f);
    onnxq_model_free(m);
}
END_TEST

/* ================================================ fold_scalar_affine */

START_TEST(affine_folds)
{
    struct onnxq_model *m = cycle(
        "inits = [T('w1', rnd(4, 3, 3, 3)), T('b1', rnd(4)), T('s', np.array([1.7], np.float32)),\n"
        "         T('a', rnd(1, 4, 1, 1)), T('w2', rnd(4, 4, 1, 1)), T('a2', rnd(4, 1, 1)),\n"
        "         T('w3', rnd(4, 2, 2, 2)), T('b3', rnd(4)), T('sub', rnd(4, 1, 1)), T('w4', rnd(4, 4, 1, 1)),\n"
        "         T('d', np.array(0.75, np.float32)), T('mc', rnd(1, 4, 1, 1, lo=0.5, hi=2))]\n"
        "nodes = [node('Conv', ['x', 'w1', 'b1'], ['c1'], pads=[1, 1, 1, 1]), node('Mul', ['s', 'c1'], ['m1']),\n"
        "         node('Add', ['m1', 'a'], ['y1']),\n"
        "         node('Conv', ['y1', 'w2'], ['c2']), node('Add', ['a2', 'c2'], ['y2']),\n"
        "         node('ConvTranspose', ['y2', 'w3', 'b3'], ['c3'], group=2, strides=[2, 2]), node('Sub', ['c3', 'sub'], ['y3']),\n"
        "         node('Conv', ['y3', 'w4'], ['c4']), node('Div', ['c4', 'd'], ['y4']), node('Mul', ['y4', 'mc'], ['y'])]\n"
        "m = model(nodes, [vi('x', [1, 3, 5, 5])], [vi('y', [1, 4, 10, 10])], inits, opset=13)\n",
        onnxq_pass_fold_scalar_affine, 6, FOLD, "fold_scalar_affine");
    ck_assert_uint_eq(count_op(m, "Mul") + count_op(m, "Add") + count_op(m, "Sub") + count_op(m, "Div"), 0);
    ck_assert_uint_eq(m->graph->n_nodes, 4);
    onnxq_model_free(m);
}
END_TEST

START_TEST(affine_refusals)
{
    /* spatial constant, rank-1 [C] (aligns with W, not C), rank above the
     * output, conv read twice, constant on the left of Sub, non-constant */
    struct onnxq_model *m = cycle(
        "inits = [T('w', rnd(4, 4, 1, 1)), T('sp', rnd(1, 1, 3, 1)), T('r1', rnd(4)), T('r5', rnd(1, 1, 4, 1, 1)),\n"
        "         T('k', rnd(4, 1, 1))]\n"
        "nodes = [node('Conv', ['x', 'w'], ['c1']), node('Mul', ['c1', 'sp'], ['y1']),\n"
        "         node('Conv', ['x', 'w'], ['c2']), node('Mul', ['c2', 'r1'], ['y2']),\n"
        "         node('Conv', ['x', 'w'], ['c3']), node('Mul', ['c3', 'r5'], ['y3']),\n"
        "         node('Conv', ['x', 'w'], ['c4']), node('Mul', ['c4', 'k'], ['y4']), node('Relu', ['c4'], ['y5']),\n"
        "         node('Conv', ['x', 'w'], ['c6']), node('Sub', ['k', 'c6'], ['y6']),\n"
        "         node('Conv', ['x', 'w'], ['c7']), node('Mul', ['c7', 'x'], ['y7'])]\n"
        "m = model(nodes, [vi('x', [1, 4, 3, 4])], [vi(n, None) for n in ['y1', 'y2', 'y3', 'y4', 'y5', 'y6', 'y7']],\n"
        "          inits, opset=13)\n",
        onnxq_pass_fold_scalar_affine, 0, EXACT, "fold_scalar_affine refusals");
    onnxq_model_free(m);
}
END_TEST

/* ================================================ fuse_hardswish */

START_TEST(hardswish_forms)
{
    struct onnxq_model *m = cycle(
        "inits = [T('three', np.array(3, np.float32)), T('zero', np.array(0, np.float32)),\n"
        "         T('six', np.array(6, np.float32)), T('sixth', np.array([1 / 6], np.float32))]\n"
        "nodes = [node('Add', ['x', 'three'], ['a1']), node('Clip', ['a1', 'zero', 'six'], ['k1']),\n"
        "         node('Mul', ['x', 'k1'], ['m1']), node('Div', ['m1', 'six'], ['y1']),\n"
        "         node('Add', ['three', 'y1'], ['a2']), node('Clip', ['a2', 'zero', 'six'], ['k2']),\n"
        "         node('Mul', ['k2', 'y1'], ['m2']), node('Mul', ['m2', 'sixth'], ['y2']),\n"
        "         node('Add', ['y2', 'three'], ['a3']), node('Clip', ['a3', 'zero', 'six'], ['k3']),\n"
        "         node('Div', ['k3', 'six'], ['d3']), node('Mul', ['y2', 'd3'], ['y3']),\n"
        "         node('HardSigmoid', ['y3'], ['h4'], alpha=1 / 6, beta=0.5), node('Mul', ['h4', 'y3'], ['y'])]\n"
        "m = model(nodes, [vi('x', [2, 3, 4, 5])], [vi('y', [2, 3, 4, 5])], inits, opset=14)\n",
        onnxq_pass_fuse_hardswish, 4, FOLD, "fuse_hardswish");
    ck_assert_uint_eq(count_op(m, "HardSwish"), 4);
    ck_assert_uint_eq(m->graph->n_nodes, 4);
    ck_assert_uint_eq(m->graph->n_inits, 0);
    onnxq_model_free(m);

    /* the 3, 0 and 6 as Constant nodes: fused, the constants go too */
    m = cycle("nodes = [node('Constant', [], ['three'], value=T('t', np.array(3, np.float32))),\n"
              "         node('Constant', [], ['zero'], value_float=0.0),\n"
              "         node('Constant', [], ['six'], value=T('s', np.array(6, np.float32))),\n"
              "         node('Add', ['three', 'x'], ['a']), node('Clip', ['a', 'zero', 'six'], ['k']),\n"
              "         node('Mul', ['k', 'x'], ['mm']), node('Div', ['mm', 'six'], ['y'])]\n"
              "m = model(nodes, [vi('x', [2, 3])], [vi('y', [2, 3])], opset=14)\n",
              onnxq_pass_fuse_hardswish, 1, FOLD, "fuse_hardswish Constant nodes");
    ck_assert_uint_eq(m->graph->n_nodes, 1);
    ck_assert_str_eq(m->graph->nodes[0]->op_type, "HardSwish");
    onnxq_model_free(m);

    /* the opset-6 spelling Clip(min=0, max=6 attributes), upgraded to 14
     * first (attributes become inputs), then fused */
    m = py_model("inits = [T('three', np.array(3, np.float32)), T('six', np.array(6, np.float32))]\n"
                 "nodes = [node('Add', ['x', 'three'], ['a']), node('Clip', ['a'], ['k'], min=0.0, max=6.0),\n"
                 "         node('Mul', ['x', 'k'], ['mm']), node('Div', ['mm', 'six'], ['y'])]\n"
                 "m = model(nodes, [vi('x', [2, 3])], [vi('y', [2, 3])], inits, opset=9)\n");
    struct feeds f = {.n = 0};
    check_pass(m, upgrade14, 2, EXACT, &f, "upgrade Clip-6 to 14");
    check_pass(m, onnxq_pass_fuse_hardswish, 1, FOLD, &f, "fuse_hardswish after the upgrade");
    ck_assert_uint_eq(m->graph->n_nodes, 1);
    feeds_free(&f);
    onnxq_model_free(m);
}
END_TEST

START_TEST(hardswish_refusals)
{
    static const char body[] =
        "inits = [T('three', np.array(3, np.float32)), T('zero', np.array(0, np.float32)),\n"
        "         T('six', np.array(6, np.float32))]\n"
        "nodes = [node('Add', ['x', 'three'], ['a1']), node('Clip', ['a1', 'zero', 'six'], ['k1']),\n"
        "         node('Mul', ['x', 'k1'], ['m1']), node('Div', ['m1', 'six'], ['y1']),\n"
        /* intermediate read elsewhere */
        "         node('Add', ['y1', 'three'], ['a2']), node('Clip', ['a2', 'zero', 'six'], ['k2']),\n"
        "         node('Mul', ['y1', 'k2'], ['m2']), node('Div', ['m2', 'six'], ['y2']), node('Relu', ['k2'], ['r2']),\n"
        /* x differs between Add and Mul */
        "         node('Add', ['y2', 'three'], ['a3']), node('Clip', ['a3', 'zero', 'six'], ['k3']),\n"
        "         node('Mul', ['x', 'k3'], ['m3']), node('Div', ['m3', 'six'], ['y3']),\n"
        /* HardSigmoid with paddle's 0.2 slope: SE gate, not a HardSwish */
        "         node('HardSigmoid', ['y3'], ['h4'], alpha=0.2, beta=0.5), node('Mul', ['h4', 'y3'], ['y4'])]\n"
        "m = model(nodes, [vi('x', [2, 3])], [vi('y4', [2, 3]), vi('r2', [2, 3])], inits, opset=";
    char py[4096];
    snprintf(py, sizeof(py), "%s%d)\n", body, 14);
    struct onnxq_model *m = cycle(py, onnxq_pass_fuse_hardswish, 1, FOLD, "fuse_hardswish refusals");
    ck_assert_uint_eq(count_op(m, "HardSwish"), 1);
    onnxq_model_free(m);
    /* opset 13 has no HardSwish: nothing happens */
    snprintf(py, sizeof(py), "%s%d)\n", body, 13);
    m = cycle(py, onnxq_pass_fuse_hardswish, 0, EXACT, "fuse_hardswish opset 13");
    ck_assert_uint_eq(count_op(m, "HardSwish"), 0);
    onnxq_model_free(m);
}
END_TEST

/* ================================================ convtranspose_to_depthtospace */

/* The rewrite computes the same products and sums (bit-identical in
 * onnxruntime, see tests/e2e/passes_vs_ort.sh), but onnxq's ConvTranspose
 * and Conv kernels order and fuse (FMA) them differently: FOLD tolerance. */
START_TEST(ct_to_d2s)
{
    struct onnxq_model *m = cycle(
        "inits = [T('w1', rnd(6, 4, 2, 2)), T('b1', rnd(4)), T('w2', rnd(4, 3, 3, 3)), T('w3', rnd(6, 2, 2, 2)),\n"
        "         T('w4', rnd(6, 2, 2, 2)), T('w5', rnd(6, 2, 3, 3)), T('w6', rnd(6, 2, 1, 1))]\n"
        "nodes = [node('ConvTranspose', ['x', 'w1', 'b1'], ['y1'], kernel_shape=[2, 2], strides=[2, 2],\n"
        "              pads=[0, 0, 0, 0], dilations=[1, 1], output_padding=[0, 0]),\n"
        "         node('ConvTranspose', ['y1', 'w2'], ['y2'], strides=[3, 3], group=2),\n"
        /* refused: padding, dilation 2, kernel 3 stride 2, stride 1 */
        "         node('ConvTranspose', ['x', 'w3'], ['y3'], strides=[2, 2], pads=[1, 1, 0, 0]),\n"
        "         node('ConvTranspose', ['x', 'w4'], ['y4'], strides=[2, 2], dilations=[2, 2]),\n"
        "         node('ConvTranspose', ['x', 'w5'], ['y5'], strides=[2, 2]),\n"
        "         node('ConvTranspose', ['x', 'w6'], ['y6'])]\n"
        "m = model(nodes, [vi('x', [2, 6, 3, 5])], [vi(n, None) for n in ['y2', 'y3', 'y4', 'y5', 'y6']], inits, opset=13)\n",
        onnxq_pass_convtranspose_to_depthtospace, 2, FOLD, "convtranspose_to_depthtospace");
    ck_assert_uint_eq(count_op(m, "DepthToSpace"), 2);
    ck_assert_uint_eq(count_op(m, "ConvTranspose"), 4);
    onnxq_model_free(m);
}
END_TEST

/* ================================================ depthtospace_past_conv */

/* The block-diagonal 1x1 conv computes the same sums as the 1x1 conv after
 * the DepthToSpace (plus exact zeros): FOLD tolerance. Refused: DCR mode, a
 * DepthToSpace read twice, a 3x3 conv, a binary op in between. */
START_TEST(d2s_past_conv)
{
    struct onnxq_model *m = cycle(
        "inits = [T('w1', rnd(3, 2, 1, 1)), T('b1', rnd(3)), T('w2', rnd(4, 2, 1, 1)), T('w3', rnd(3, 2, 1, 1)),\n"
        "         T('w4', rnd(3, 2, 1, 1)), T('w5', rnd(3, 2, 3, 3)), T('w6', rnd(3, 2, 1, 1))]\n"
        "nodes = [node('DepthToSpace', ['x'], ['d1'], blocksize=2, mode='CRD'),\n"
        "         node('Relu', ['d1'], ['r1']),\n"
        "         node('Conv', ['r1', 'w1', 'b1'], ['y1'], kernel_shape=[1, 1]),\n"
        "         node('DepthToSpace', ['x'], ['d2'], blocksize=2, mode='CRD'),\n"
        "         node('Conv', ['d2', 'w2'], ['y2']),\n"
        "         node('DepthToSpace', ['x'], ['d3'], blocksize=2),\n"
        "         node('Conv', ['d3', 'w3'], ['y3']),\n"
        "         node('DepthToSpace', ['x'], ['d4'], blocksize=2, mode='CRD'),\n"
        "         node('Conv', ['d4', 'w4'], ['y4']), node('Sigmoid', ['d4'], ['y4b']),\n"
        "         node('DepthToSpace', ['x'], ['d5'], blocksize=2, mode='CRD'),\n"
        "         node('Conv', ['d5', 'w5'], ['y5'], pads=[1, 1, 1, 1]),\n"
        "         node('DepthToSpace', ['x'], ['d6'], blocksize=2, mode='CRD'),\n"
        "         node('Add', ['d6', 'd6'], ['a6']), node('Conv', ['a6', 'w6'], ['y6'])]\n"
        "m = model(nodes, [vi('x', [2, 8, 3, 5])], [vi(n, None) for n in ['y1', 'y2', 'y3', 'y4', 'y4b', 'y5', 'y6']],\n"
        "          inits, opset=13)\n",
        onnxq_pass_depthtospace_past_conv, 2, FOLD, "depthtospace_past_conv");
    ck_assert_uint_eq(count_op(m, "DepthToSpace"), 6);
    ck_assert_uint_eq(count_op(m, "Conv"), 6);
    /* y1 and y2 are now written by a DepthToSpace */
    size_t moved = 0;
    for (size_t i = 0; i < m->graph->n_nodes; i++) {
        const struct onnxq_node *n = m->graph->nodes[i];
        if (!strcmp(n->op_type, "DepthToSpace") && (!strcmp(n->outputs[0], "y1") || !strcmp(n->outputs[0], "y2")))
            moved++;
    }
    ck_assert_uint_eq(moved, 2);
    onnxq_model_free(m);
}
END_TEST

/* ================================================ upgrade_opset */

/* Opset 9, as the ppocr rec/cls exports: Clip/Squeeze/Unsqueeze/ReduceSum/
 * Slice/Pad/TopK/Split attributes, Softmax at a middle and the last axis,
 * Upsample with a scales input, Dropout with ratio, BatchNormalization. */
START_TEST(upgrade_from_9)
{
    struct onnxq_model *m = cycle(
        "inits = [T('sc', np.array([1, 1, 2, 3], np.float32)), T('bs', rnd(3)), T('bb', rnd(3)), T('bm', rnd(3)),\n"
        "         T('bv', rnd(3, lo=0.5, hi=1))]\n"
        "nodes = [node('Clip', ['x'], ['c'], min=-1.0, max=2.0),\n"
        "         node('Unsqueeze', ['c'], ['u'], axes=[0]), node('Squeeze', ['u'], ['s'], axes=[0]),\n"
        "         node('ReduceSum', ['s'], ['r'], axes=[1], keepdims=1),\n"
        "         node('Softmax', ['s'], ['sm1'], axis=1), node('Softmax', ['s'], ['sm2'], axis=3),\n"
        "         node('LogSoftmax', ['s'], ['sm3']), node('Hardmax', ['s'], ['sm4'], axis=2),\n"
        "         node('Slice', ['s'], ['sl'], starts=[1, 0], ends=[3, 100], axes=[2, 3]),\n"
        "         node('Pad', ['sl'], ['p'], pads=[0, 0, 1, 0, 0, 0, 0, 2], value=1.5),\n"
        "         node('TopK', ['s'], ['tv', 'ti'], k=2, axis=-1),\n"
        "         node('Split', ['s'], ['sp1', 'sp2'], axis=3, split=[1, 4]),\n"
        "         node('Upsample', ['s', 'sc'], ['up'], mode='nearest'),\n"
        "         node('Dropout', ['s'], ['dr'], ratio=0.25),\n"
        "         node('BatchNormalization', ['s', 'bs', 'bb', 'bm', 'bv'], ['bn'])]\n"
        "outs = ['r', 'sm1', 'sm2', 'sm3', 'sm4', 'p', 'tv', 'ti', 'sp1', 'sp2', 'up', 'dr', 'bn']\n"
        "m = model(nodes, [vi('x', [2, 3, 4, 5])], [vi(n, None, TP.INT64 if n == 'ti' else TP.FLOAT) for n in outs],\n"
        "          inits, opset=9)\n",
        upgrade13, 14, EXACT, "upgrade opset 9 -> 13");
    ck_assert_int_eq(onnxq_model_opset(m, ""), 13);
    ck_assert_int_ge(m->ir_version, 7);
    const char *gone[][2] = {{"Clip", "min"}, {"Squeeze", "axes"}, {"Unsqueeze", "axes"}, {"ReduceSum", "axes"},
                             {"Slice", "starts"}, {"Pad", "pads"}, {"TopK", "k"}, {"Split", "split"},
                             {"Dropout", "ratio"}};
    for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
        ck_assert_msg(!attr_left(m, gone[i][0], gone[i][1]), "%s still has %s", gone[i][0], gone[i][1]);
    ck_assert_uint_eq(count_op(m, "Upsample"), 0);
    ck_assert_uint_eq(count_op(m, "Resize"), 1);
    /* Softmax axis 1 and Hardmax axis 2 of a rank-4 input need the
     * Flatten/Reshape form; axis 3 and LogSoftmax's axis... */
    ck_assert_uint_eq(count_op(m, "Flatten"), 3);
    onnxq_model_free(m);
}
END_TEST

/* Opset 6 and older forms: legacy broadcast with an axis, is_test,
 * consumed_inputs, Cast with a string `to`, Reshape and Upsample
 * attributes, Concat without axis, Pad `paddings`, Selu defaults. */
START_TEST(upgrade_from_old)
{
    struct onnxq_model *m = cycle(
        "inits = [T('b', rnd(3)), T('b2', rnd(3, 4)), T('bs', rnd(3)), T('bb', rnd(3)), T('bm', rnd(3)),\n"
        "         T('bv', rnd(3, lo=0.5, hi=1))]\n"
        "nodes = [node('Add', ['x', 'b'], ['a1'], broadcast=1, axis=1),\n"
        "         node('Mul', ['a1', 'b2'], ['a2'], broadcast=1, axis=1),\n"
        "         node('Sub', ['a2', 'x'], ['a3']),\n"
        "         node('BatchNormalization', ['a3', 'bs', 'bb', 'bm', 'bv'], ['bn'], is_test=1, consumed_inputs=[0, 0, 0, 1, 1]),\n"
        "         node('Relu', ['bn'], ['r'], consumed_inputs=[0]),\n"
        "         node('Dropout', ['r'], ['d'], is_test=1),\n"
        "         node('Cast', ['d'], ['ci'], to='INT32'), node('Cast', ['ci'], ['cf'], to='FLOAT'),\n"
        "         node('Selu', ['cf'], ['se'], alpha=1.5, gamma=1.25),\n"
        "         node('Reshape', ['se'], ['rs'], shape=[2, 3, 20]),\n"
        "         node('Concat', ['rs', 'rs'], ['cc']),\n"
        "         node('Pad', ['cc'], ['pd'], paddings=[0, 0, 1, 0, 0, 1], value=0.0)]\n"
        "m = model(nodes, [vi('x', [2, 3, 4, 5])], [vi('pd', None)], inits, opset=1)\n",
        upgrade13, 11, EXACT, "upgrade opset 1 -> 13");
    ck_assert_uint_eq(count_op(m, "Unsqueeze"), 2); /* b [3] and b2 [3,4] both line up from axis 1 */
    ck_assert(!attr_left(m, "Add", "broadcast") && !attr_left(m, "Relu", "consumed_inputs"));
    ck_assert(!attr_left(m, "BatchNormalization", "is_test") && !attr_left(m, "Reshape", "shape"));
    onnxq_model_free(m);

    /* Selu-1's defaults (1.6732, 1.0507) differ from Selu-6's: they are
     * written out. Checked structurally: onnxq's executor applies Selu-6's
     * defaults at every opset. */
    m = py_model("m = model([node('Selu', ['x'], ['y'])], [vi('x', [4])], [vi('y', [4])], opset=1)\n");
    size_t changed = 0;
    struct onnxq_error err;
    ck_assert_int_eq(upgrade13(m, &changed, &err), ONNXQ_OK);
    ck_assert_uint_eq(changed, 2);
    ck_assert(onnxq_attr_float(m->graph->nodes[0], "alpha", 0) == 1.6732f);
    ck_assert(onnxq_attr_float(m->graph->nodes[0], "gamma", 0) == 1.0507f);
    onnxq_model_free(m);

    /* Split-1's split input becomes the attribute; the constant goes */
    m = cycle("nodes = [node('Split', ['x', 'spl'], ['s1', 's2'], axis=1)]\n"
              "m = model(nodes, [vi('x', [2, 3, 4])], [vi('s1', None), vi('s2', None)],\n"
              "          [T('spl', np.array([1, 2], np.int64))], opset=1)\n",
              upgrade13, 2, EXACT, "upgrade Split-1");
    ck_assert_uint_eq(m->graph->n_inits, 1); /* only the opset-13 split input */
    ck_assert_uint_eq(m->graph->nodes[0]->n_inputs, 2);
    ck_assert_int_eq(onnxq_graph_find_init(m->graph, m->graph->nodes[0]->inputs[1])->value.dtype, ONNXQ_DT_INT64);
    onnxq_model_free(m);

    /* PRelu-6's 1-D slope is per channel: [C] -> [C,1,1] */
    m = cycle("nodes = [node('PRelu', ['x', 's'], ['y']), node('PRelu', ['y', 'one'], ['z'])]\n"
              "m = model(nodes, [vi('x', [2, 3, 4, 5])], [vi('z', None)], [T('s', rnd(3)), T('one', rnd(1))], opset=6)\n",
              upgrade13, 2, EXACT, "upgrade PRelu-6");
    ck_assert_uint_eq(count_op(m, "Unsqueeze"), 1);
    onnxq_model_free(m);

    /* ImageScaler (experimental, gone from ONNX): Mul + Add */
    m = cycle("nodes = [node('ImageScaler', ['x'], ['y'], bias=[0.5, -1.0, 2.0], scale=0.7)]\n"
              "m = model(nodes, [vi('x', [1, 3, 4, 5])], [vi('y', None)], opset=8)\n",
              upgrade13, 2, EXACT, "upgrade ImageScaler");
    ck_assert_uint_eq(count_op(m, "ImageScaler"), 0);
    ck_assert_uint_eq(count_op(m, "Mul") + count_op(m, "Add"), 2);
    onnxq_model_free(m);

    m = cycle("nodes = [node('Upsample', ['x'], ['u1'], scales=[1.0, 1.0, 2.0, 2.0], mode='linear'),\n"
              "         node('Upsample', ['x'], ['u2'], scales=[1.0, 1.0, 3.0, 2.0])]\n"
              "m = model(nodes, [vi('x', [1, 2, 3, 4])], [vi('u1', None), vi('u2', None)], opset=7)\n",
              upgrade13, 3, EXACT, "upgrade Upsample-7");
    ck_assert_uint_eq(count_op(m, "Resize"), 2);
    onnxq_model_free(m);
}
END_TEST

/* Opset 10/11: Resize-10 up and down, Dropout-10 -> ratio input, Scatter,
 * Split-11, Softmax in an If branch (subgraphs are converted too). */
START_TEST(upgrade_from_10_11)
{
    struct onnxq_model *m = cycle(
        "inits = [T('up', np.array([1, 1, 2, 3], np.float32)), T('dn', np.array([1, 1, 0.5, 0.5], np.float32))]\n"
        "nodes = [node('Resize', ['x', 'up'], ['r1'], mode='nearest'), node('Resize', ['x', 'dn'], ['r2']),\n"
        "         node('Resize', ['x', 'up'], ['r3'], mode='linear'),\n"
        "         node('Dropout', ['x'], ['d', 'mask'], ratio=0.3)]\n"
        "m = model(nodes, [vi('x', [1, 2, 4, 6])], [vi(n, None) for n in ['r1', 'r2', 'r3', 'd']], inits, opset=10)\n",
        upgrade13, 5, EXACT, "upgrade opset 10 -> 13");
    ck_assert_uint_eq(m->graph->nodes[3]->n_inputs, 2); /* ratio became an input */
    onnxq_model_free(m);

    const char *py11 =
        "sub = [node('Squeeze', ['x'], ['sq'], axes=[0]), node('Softmax', ['sq'], ['t_out'])]\n"
        "then_g = h.make_graph(sub, 'then', [], [vi('t_out', None)])\n"
        "else_g = h.make_graph([node('Squeeze', ['x'], ['e_out'], axes=[-4])], 'else', [], [vi('e_out', None)])\n"
        "nodes = [node('If', ['cond'], ['y'], then_branch=then_g, else_branch=else_g),\n"
        "         node('Split', ['x'], ['s1', 's2', 's3'], axis=2, split=[1, 1, 2]),\n"
        "         node('Scatter', ['x', 'idx', 'upd'], ['sc'], axis=3)]\n"
        "m = model(nodes, [vi('cond', [], TP.BOOL), vi('x', [1, 2, 4, 3]), vi('idx', [1, 2, 4, 2], TP.INT64),\n"
        "                  vi('upd', [1, 2, 4, 2])], [vi(n, None) for n in ['y', 's1', 's2', 's3', 'sc']], opset=11)\n";
    for (int branch = 0; branch < 2; branch++) {
        m = py_model(py11);
        struct feeds f = {.n = 0};
        ((uint8_t *)feed_add(&f, "cond", ONNXQ_DT_BOOL, 0, NULL)->data)[0] = (uint8_t)(branch == 0);
        int64_t d[4] = {1, 2, 4, 2};
        struct onnxq_tensor *ix = feed_add(&f, "idx", ONNXQ_DT_INT64, 4, d);
        for (int64_t k = 0; k < onnxq_tensor_numel(ix); k++)
            ((int64_t *)ix->data)[k] = (k * 7) % 3;
        check_pass(m, upgrade13, 6, EXACT, &f, "upgrade opset 11 -> 13 with If");
        ck_assert_uint_eq(count_op(m, "ScatterElements"), 1);
        ck_assert(!attr_left(m, "Squeeze", "axes"));
        feeds_free(&f);
        onnxq_model_free(m);
    }
}
END_TEST

static void expect_upgrade_error(const char *py, int64_t target, enum onnxq_status want, const char *needle)
{
    struct onnxq_model *m = py_model(py);
    struct onnxq_error err;
    size_t changed = 7;
    enum onnxq_status st = onnxq_pass_upgrade_opset(m, target, &changed, &err);
    ck_assert_msg(st == want, "status %s, expected %s (%s)", onnxq_status_name(st), onnxq_status_name(want),
                  st ? err.message : "");
    ck_assert_msg(strstr(err.message, needle), "message '%s' lacks '%s'", err.message, needle);
    ck_assert_uint_eq(changed, 7);
    onnxq_model_free(m);
}

/* Targets above 13: Reduce* axes (18), Split num_outputs (18), BN training
 * outputs (14). */
START_TEST(upgrade_to_18_21)
{
    const char *py =
        "nodes = [node('ReduceMean', ['x'], ['rm'], axes=[1, 2]), node('ReduceMax', ['x'], ['rx'], axes=[-1], keepdims=0),\n"
        "         node('Split', ['x'], ['s1', 's2'], axis=3), node('Squeeze', ['rm'], ['sq'], axes=[2])]\n"
        "m = model(nodes, [vi('x', [2, 3, 4, 6])], [vi(n, None) for n in ['sq', 'rx', 's1', 's2']], opset=13)\n";
    struct onnxq_model *m = cycle(py, upgrade18, 4, EXACT, "upgrade 13 -> 18");
    ck_assert(!attr_left(m, "ReduceMean", "axes") && attr_left(m, "Split", "num_outputs"));
    onnxq_model_free(m);
    m = cycle(py, upgrade21, 4, EXACT, "upgrade 13 -> 21");
    ck_assert_int_eq(m->ir_version, 10);
    onnxq_model_free(m);
    m = cycle(py, upgrade14, 1, EXACT, "upgrade 13 -> 14");
    ck_assert(attr_left(m, "ReduceMean", "axes"));
    onnxq_model_free(m);

    /* BatchNormalization-14 allows its extra outputs only in training mode:
     * unused ones are dropped (the executor rejects the opset-13 model with
     * them, so this is checked structurally) */
    m = py_model("inits = [T('bs', rnd(3)), T('bb', rnd(3)), T('bm', rnd(3)), T('bv', rnd(3, lo=0.5, hi=1))]\n"
                 "nodes = [node('BatchNormalization', ['x', 'bs', 'bb', 'bm', 'bv'], ['bn', 'mo', 'vo'])]\n"
                 "m = model(nodes, [vi('x', [2, 3, 4])], [vi('bn', None)], inits, opset=13)\n");
    size_t changed = 0;
    struct onnxq_error err;
    ck_assert_int_eq(upgrade14(m, &changed, &err), ONNXQ_OK);
    ck_assert_uint_eq(changed, 2);
    ck_assert_uint_eq(m->graph->nodes[0]->n_outputs, 1);
    assert_valid(m, "BatchNormalization 13 -> 14");
    onnxq_model_free(m);
    expect_upgrade_error("inits = [T('bs', rnd(3)), T('bb', rnd(3)), T('bm', rnd(3)), T('bv', rnd(3, lo=0.5, hi=1))]\n"
                         "nodes = [node('BatchNormalization', ['x', 'bs', 'bb', 'bm', 'bv'], ['bn', 'mo'], name='bn9')]\n"
                         "m = model(nodes, [vi('x', [2, 3, 4])], [vi('bn', None), vi('mo', None)], inits, opset=9)\n",
                         14, ONNXQ_E_UNSUPPORTED, "node 'bn9' (BatchNormalization)");
}
END_TEST

START_TEST(upgrade_errors)
{
    /* a used Dropout mask changes type at 10 */
    expect_upgrade_error("m = model([node('Dropout', ['x'], ['y', 'mk'], name='drop7')], [vi('x', [2])],\n"
                         "          [vi('y', [2]), vi('mk', [2])], opset=7)\n",
                         13, ONNXQ_E_UNSUPPORTED, "node 'drop7' (Dropout)");
    /* Tile-1 (tiles, axis) has no conversion */
    expect_upgrade_error("m = model([node('Tile', ['x', 't', 'a'], ['y'], name='tile1')],\n"
                         "          [vi('x', [2]), vi('t', [], TP.INT64), vi('a', [], TP.INT64)], [vi('y', None)], opset=1)\n",
                         13, ONNXQ_E_UNSUPPORTED, "node 'tile1' (Tile)");
    /* an op that does not exist yet at the model's opset */
    expect_upgrade_error("m = model([node('HardSwish', ['x'], ['y'], name='hs')], [vi('x', [2])], [vi('y', [2])], opset=9)\n",
                         13, ONNXQ_E_UNSUPPORTED, "does not exist in opset 9");
    /* legacy broadcast without known ranks */
    expect_upgrade_error("m = model([node('Add', ['x', 'b'], ['y'], broadcast=1, axis=1, name='addb')],\n"
                         "          [vi('x', None), vi('b', None)], [vi('y', None)], opset=6)\n",
                         13, ONNXQ_E_UNSUPPORTED, "node 'addb' (Add)");
    /* target out of range */
    expect_upgrade_error("m = model([node('Relu', ['x'], ['y'])], [vi('x', [2])], [vi('y', [2])], opset=9)\n", 12,
                         ONNXQ_E_INVALID_ARG, "below 13");
    expect_upgrade_error("m = model([node('Relu', ['x'], ['y'])], [vi('x', [2])], [vi('y', [2])], opset=9)\n", 22,
                         ONNXQ_E_UNSUPPORTED, "above 21");

    /* a model at or above the target is left as it is */
    struct onnxq_model *m = py_model("m = model([node('Relu', ['x'], ['y'])], [vi('x', [2])], [vi('y', [2])], opset=15)\n");
    size_t changed = 7;
    struct onnxq_error err;
    ck_assert_int_eq(onnxq_pass_upgrade_opset(m, 13, &changed, &err), ONNXQ_OK);
    ck_assert_uint_eq(changed, 0);
    ck_assert_int_eq(onnxq_model_opset(m, ""), 15);
    onnxq_model_free(m);
}
END_TEST

/* ================================================ real models */

struct real_model {
    const char *file;
    int64_t sym_dim; /* -(value for symbolic dims of the inputs): see run_model */
};

static const struct real_model real_models[] = {
    {"ppocr_det.onnx", -64}, {"ppocr_rec.onnx", -64}, {"ppocr_cls.onnx", -48}, {"silero_vad_v5.onnx", -1},
};

struct pass_entry {
    const char *name;
    pass_fn fn;
};

#define PASS_ROW(name, fn) {#name, fn},
static const struct pass_entry pass_table[] = {ONNXQ_PASSES(PASS_ROW)};
#define N_PASSES (sizeof(pass_table) / sizeof(pass_table[0]))

/* Special feeds of the real models: silero's sample rate and a 512-sample
 * window, ppocr's fixed dims come from the declared shapes. */
static void real_feeds(const char *file, struct feeds *f)
{
    if (strstr(file, "silero")) {
        int64_t d[2] = {1, 512};
        struct onnxq_tensor *t = feed_add(f, "input", ONNXQ_DT_FLOAT, 2, d);
        for (int64_t k = 0; k < 512; k++)
            ((float *)t->data)[k] = (float)(0.3 * sin((double)k * 0.05) + 0.1 * (lcg_uniform() - 0.5));
        ((int64_t *)feed_add(f, "sr", ONNXQ_DT_INT64, 0, NULL)->data)[0] = 16000;
        int64_t s[3] = {2, 1, 128};
        feed_add(f, "state", ONNXQ_DT_FLOAT, 3, s);
    }
}

/* Every pass in table order over every real model; with target 14 too,
 * which lets fuse_hardswish work. Prints the counts. */
static void real_models_with(int64_t target)
{
    const char *root = tu_env_dir("ONNXQ_MODELS");
    ck_assert_msg(root != NULL, "ONNXQ_MODELS is not set");
    for (size_t i = 0; i < sizeof(real_models) / sizeof(real_models[0]); i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", root, real_models[i].file);
        ck_assert_msg(access(path, R_OK) == 0, "%s missing: run models/fetch.sh", path);
        struct onnxq_model *m = NULL;
        struct onnxq_error err;
        ck_assert_msg(onnxq_model_load(ctx, path, &m, &err) == ONNXQ_OK, "%s: %s", path, err.message);
        struct feeds f = {.n = 0};
        real_feeds(real_models[i].file, &f);
        struct outputs before, after;
        char why[ONNXQ_ERROR_MESSAGE_MAX];
        bool ran = run_model(m, &f, real_models[i].sym_dim, &before, why, sizeof(why));
        if (!ran)
            printf("note: %s: the executor cannot run it (%s); structural checks only\n", real_models[i].file, why);
        char line[1024];
        int used = snprintf(line, sizeof(line), "%-20s target %2lld:", real_models[i].file, (long long)target);
        for (size_t p = 0; p < N_PASSES; p++) {
            size_t changed = 0;
            enum onnxq_status st = strcmp(pass_table[p].name, "upgrade_opset") == 0
                                       ? onnxq_pass_upgrade_opset(m, target, &changed, &err)
                                       : pass_table[p].fn(m, &changed, &err);
            ck_assert_msg(st == ONNXQ_OK, "%s: %s: %s", real_models[i].file, pass_table[p].name, err.message);
            char what[512];
            snprintf(what, sizeof(what), "%s after %s", real_models[i].file, pass_table[p].name);
            assert_valid(m, what);
            used += snprintf(line + used, sizeof(line) - (size_t)used, " %s=%zu", pass_table[p].name, changed);
        }
        printf("%s\n", line);
        if (ran) {
            ck_assert_msg(run_model(m, &f, real_models[i].sym_dim, &after, why, sizeof(why)),
                          "%s: runs before the passes but not after: %s", real_models[i].file, why);
            double d = compare_outputs(&before, &after, REAL, real_models[i].file);
            printf("%-20s target %2lld: onnxq executor max abs diff after all passes %.3g\n", real_models[i].file,
                   (long long)target, d);
            outputs_free(&before);
            outputs_free(&after);
        }
        feeds_free(&f);
        onnxq_model_free(m);
    }
}

START_TEST(real_models_pipeline_13)
{
    real_models_with(13);
}
END_TEST

START_TEST(real_models_pipeline_14)
{
    real_models_with(14);
}
END_TEST

/* ================================================ libonnx-testdata node/ */

static bool run_case(const struct onnxq_model *m, const char *dir, char *why, size_t whysz, bool *unsupported)
{
    *unsupported = false;
    struct onnxq_exec *e = NULL;
    struct onnxq_error err;
    if (onnxq_exec_new(ctx, m, &e, &err) != ONNXQ_OK) {
        *unsupported = err.code == ONNXQ_E_UNSUPPORTED;
        snprintf(why, whysz, "prepare: %s", err.message);
        return false;
    }
    bool ok = true;
    for (int ds = 0; ok; ds++) {
        char dsdir[4200];
        snprintf(dsdir, sizeof(dsdir), "%s/test_data_set_%d", dir, ds);
        struct stat sb;
        if (stat(dsdir, &sb) != 0)
            break;
        size_t ni = onnxq_exec_n_inputs(e), no = onnxq_exec_n_outputs(e);
        struct onnxq_tensor *in = calloc(ni + 1, sizeof(*in)), *out = calloc(no + 1, sizeof(*out)),
                            *want = calloc(no + 1, sizeof(*want));
        const struct onnxq_tensor **inp = calloc(ni + 1, sizeof(*inp));
        for (size_t k = 0; k < ni && ok; k++) {
            char p[4400];
            snprintf(p, sizeof(p), "%s/input_%zu.pb", dsdir, k);
            size_t sz = 0;
            uint8_t *bytes = tu_read_file(p, &sz);
            ok = bytes && onnxq_tensor_from_pb(bytes, sz, p, &in[k], NULL, &err) == ONNXQ_OK;
            free(bytes);
            inp[k] = &in[k];
            if (!ok)
                snprintf(why, whysz, "cannot read %s", p);
        }
        if (ok && onnxq_exec_run(e, inp, out, &err) != ONNXQ_OK) {
            ok = false;
            *unsupported = err.code == ONNXQ_E_UNSUPPORTED;
            snprintf(why, whysz, "run: %s", err.message);
        }
        for (size_t k = 0; k < no && ok; k++) {
            char p[4400];
            snprintf(p, sizeof(p), "%s/output_%zu.pb", dsdir, k);
            size_t sz = 0;
            uint8_t *bytes = tu_read_file(p, &sz);
            ok = bytes && onnxq_tensor_from_pb(bytes, sz, p, &want[k], NULL, &err) == ONNXQ_OK;
            free(bytes);
            if (!ok) {
                snprintf(why, whysz, "cannot read %s", p);
                break;
            }
            const struct onnxq_tensor *g = &out[k], *w = &want[k];
            bool same = g->dtype == w->dtype && g->ndim == w->ndim;
            for (int d = 0; same && d < g->ndim; d++)
                same = g->dims[d] == w->dims[d];
            for (int64_t j = 0; same && j < onnxq_tensor_numel(w); j++) {
                if (w->dtype == ONNXQ_DT_STRING) {
                    same = onnxq_tensor_equal(g, w);
                    break;
                }
                double a = onnxq_tensor_get_f64(g, (size_t)j), b = onnxq_tensor_get_f64(w, (size_t)j);
                double tol = onnxq_dtype_table[w->dtype].is_float ? 1e-5 + 1e-3 * fabs(b) : 0;
                same = (isnan(a) && isnan(b)) || fabs(a - b) <= tol || (isinf(b) && a == b);
            }
            if (!same) {
                ok = false;
                snprintf(why, whysz, "output %zu differs from the reference", k);
            }
        }
        for (size_t k = 0; k < ni; k++)
            onnxq_tensor_clear(&in[k]);
        for (size_t k = 0; k < no; k++) {
            onnxq_tensor_clear(&out[k]);
            onnxq_tensor_clear(&want[k]);
        }
        free(in);
        free(out);
        free(want);
        free(inp);
    }
    onnxq_exec_free(e);
    return ok;
}

/* Every node/ test model of opset < 13: upgrade to 13, validate, and when
 * onnxq's executor runs the original correctly, the upgraded model must
 * match the reference outputs as well. Models with no conversion path
 * must fail with ONNXQ_E_UNSUPPORTED naming the node. */
START_TEST(testdata_node_upgrade)
{
    const char *root = tu_env_dir("ONNXQ_TESTDATA");
    ck_assert_msg(root != NULL, "ONNXQ_TESTDATA is not set");
    char base[4096];
    snprintf(base, sizeof(base), "%s/node", root);
    char **paths = NULL;
    size_t n = tu_find_files(base, "model.onnx", &paths);
    size_t old = 0, converted = 0, refused = 0, both_pass = 0, orig_fail = 0, unsupported_exec = 0, changed_sum = 0;
    size_t regressions = 0;
    for (size_t i = 0; i < n; i++) {
        struct onnxq_model *m = NULL;
        struct onnxq_error err;
        if (onnxq_model_load(ctx, paths[i], &m, &err) != ONNXQ_OK)
            continue;
        int64_t v = onnxq_model_opset(m, "");
        if (v < 1 || v >= 13) {
            onnxq_model_free(m);
            continue;
        }
        old++;
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s", paths[i]);
        *strrchr(dir, '/') = '\0';
        char why[1200];
        bool unsup = false;
        bool orig_ok = run_case(m, dir, why, sizeof(why), &unsup);
        size_t changed = 0;
        enum onnxq_status st = onnxq_pass_upgrade_opset(m, 13, &changed, &err);
        if (st != ONNXQ_OK) {
            ck_assert_msg(st == ONNXQ_E_UNSUPPORTED && strstr(err.message, "node"), "%s: %s", dir, err.message);
            printf("refused %s: %s\n", strrchr(dir, '/') + 1, err.message);
            refused++;
            onnxq_model_free(m);
            continue;
        }
        converted++;
        changed_sum += changed;
        assert_valid(m, dir);
        ck_assert_int_eq(onnxq_model_opset(m, ""), 13);
        bool unsup2 = false;
        bool up_ok = run_case(m, dir, why, sizeof(why), &unsup2);
        if (orig_ok && up_ok)
            both_pass++;
        else if (orig_ok && !up_ok) {
            printf("REGRESSION %s: %s\n", strrchr(dir, '/') + 1, why);
            regressions++;
        } else if (unsup || unsup2) {
            unsupported_exec++;
        } else {
            orig_fail++;
            if (up_ok)
                printf("note: %s fails in onnxq at its own opset but passes after the upgrade\n", strrchr(dir, '/') + 1);
        }
        onnxq_model_free(m);
    }
    printf("upgrade to 13: %zu node/ models below opset 13: %zu converted (%zu rewrites), %zu refused; "
           "executor vs reference: %zu pass before and after, %zu regress, %zu unsupported by the executor, "
           "%zu failing already before\n",
           old, converted, changed_sum, refused, both_pass, regressions, unsupported_exec, orig_fail);
    fflush(stdout);
    tu_free_paths(paths, n);
    ck_assert_uint_gt(old, 100);
    ck_assert_uint_eq(regressions, 0);
}
END_TEST

/* Every pass, in table order (upgrade target 14, so that fuse_hardswish
 * runs), over every libonnx-testdata model of every suite: each pass
 * returns OK or a clean ONNXQ_E_UNSUPPORTED from the upgrade (which then
 * leaves the model as it was), the model stays valid after each, and a
 * model onnxq's executor ran correctly before still matches its reference
 * outputs after all passes. */
START_TEST(testdata_all_passes)
{
    const char *root = tu_env_dir("ONNXQ_TESTDATA");
    ck_assert_msg(root != NULL, "ONNXQ_TESTDATA is not set");
    char **paths = NULL;
    size_t n = tu_find_files(root, "model.onnx", &paths);
    size_t loaded = 0, refused = 0, ran = 0, regressions = 0, rewritten = 0;
    size_t per_pass[N_PASSES] = {0};
    for (size_t i = 0; i < n; i++) {
        struct onnxq_model *m = NULL;
        struct onnxq_error err;
        if (onnxq_model_load(ctx, paths[i], &m, &err) != ONNXQ_OK)
            continue;
        loaded++;
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s", paths[i]);
        *strrchr(dir, '/') = '\0';
        char why[1200];
        bool unsup = false;
        bool orig_ok = run_case(m, dir, why, sizeof(why), &unsup);
        size_t total = 0;
        for (size_t p = 0; p < N_PASSES; p++) {
            size_t changed = 0;
            bool up = strcmp(pass_table[p].name, "upgrade_opset") == 0;
            enum onnxq_status st = up ? onnxq_pass_upgrade_opset(m, 14, &changed, &err) : pass_table[p].fn(m, &changed, &err);
            if (st == ONNXQ_E_UNSUPPORTED && up) {
                refused++;
                continue;
            }
            ck_assert_msg(st == ONNXQ_OK, "%s: %s: %s", dir, pass_table[p].name, err.message);
            ck_assert_msg(onnxq_model_validate(m, &err) == ONNXQ_OK, "%s: invalid after %s: %s", dir,
                          pass_table[p].name, err.message);
            per_pass[p] += changed;
            total += changed;
        }
        rewritten += total > 0;
        if (orig_ok) {
            ran++;
            if (!run_case(m, dir, why, sizeof(why), &unsup)) {
                printf("REGRESSION after the passes: %s: %s\n", dir, why);
                regressions++;
            }
        }
        onnxq_model_free(m);
    }
    char line[1024];
    int used = snprintf(line, sizeof(line), "all passes over %zu testdata models (%zu rewritten, upgrade refused "
                        "%zu):", loaded, rewritten, refused);
    for (size_t p = 0; p < N_PASSES; p++)
        used += snprintf(line + used, sizeof(line) - (size_t)used, " %s=%zu", pass_table[p].name, per_pass[p]);
    printf("%s; %zu models the executor passes before: %zu regress\n", line, ran, regressions);
    fflush(stdout);
    tu_free_paths(paths, n);
    ck_assert_uint_gt(loaded, 1000);
    ck_assert_uint_eq(regressions, 0);
}
END_TEST

/* ================================================ --apply tool */

static int apply_main(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *list = NULL;
    int64_t target = ONNXQ_UPGRADE_OPSET_DEFAULT;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--target") == 0 && i + 1 < argc)
            target = atoll(argv[++i]);
        else if (strcmp(argv[i], "--passes") == 0 && i + 1 < argc)
            list = argv[++i];
        else if (!in)
            in = argv[i];
        else if (!out)
            out = argv[i];
    }
    if (!in || !out) {
        fprintf(stderr, "usage: test_passes --apply IN OUT [--target N] [--passes a,b,...]\n");
        return 2;
    }
    struct onnxq_error err;
    struct onnxq_context *c = NULL;
    struct onnxq_model *m = NULL;
    if (onnxq_context_new(&c, &err) || onnxq_model_load(c, in, &m, &err)) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    int rc = 0;
    for (size_t p = 0; p < N_PASSES && !rc; p++) {
        if (list) {
            const char *s = strstr(list, pass_table[p].name);
            size_t l = strlen(pass_table[p].name);
            if (!s || (s != list && s[-1] != ',') || (s[l] && s[l] != ','))
                continue;
        }
        size_t changed = 0;
        enum onnxq_status st = strcmp(pass_table[p].name, "upgrade_opset") == 0
                                   ? onnxq_pass_upgrade_opset(m, target, &changed, &err)
                                   : pass_table[p].fn(m, &changed, &err);
        if (st || onnxq_model_validate(m, &err)) {
            fprintf(stderr, "%s: %s\n", pass_table[p].name, err.message);
            rc = 1;
            break;
        }
        printf("pass %s changed %zu\n", pass_table[p].name, changed);
    }
    if (!rc && onnxq_model_save(m, out, NULL, &err)) {
        fprintf(stderr, "%s\n", err.message);
        rc = 1;
    }
    onnxq_model_free(m);
    onnxq_context_free(c);
    return rc;
}

static Suite *passes_suite(void)
{
    Suite *s = suite_create("passes");
    TCase *tc = tcase_create("passes");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, c2i_value_kinds);
    tcase_add_test(tc, c2i_subgraphs);
    tcase_add_test(tc, c2i_leaves_sparse_and_raises_ir);
    tcase_add_test(tc, bn_conv_convtranspose_gemm);
    tcase_add_test(tc, bn_sharing_and_refusals);
    tcase_add_test(tc, affine_folds);
    tcase_add_test(tc, affine_refusals);
    tcase_add_test(tc, hardswish_forms);
    tcase_add_test(tc, hardswish_refusals);
    tcase_add_test(tc, ct_to_d2s);
    tcase_add_test(tc, d2s_past_conv);
    tcase_add_test(tc, upgrade_from_9);
    tcase_add_test(tc, upgrade_from_old);
    tcase_add_test(tc, upgrade_from_10_11);
    tcase_add_test(tc, upgrade_to_18_21);
    tcase_add_test(tc, upgrade_errors);
    suite_add_tcase(s, tc);
    TCase *real = tcase_create("real");
    tcase_add_checked_fixture(real, setup, teardown);
    tcase_set_timeout(real, 900);
    tcase_add_test(real, real_models_pipeline_13);
    tcase_add_test(real, real_models_pipeline_14);
    tcase_add_test(real, testdata_node_upgrade);
    tcase_add_test(real, testdata_all_passes);
    suite_add_tcase(s, real);
    return s;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--apply") == 0)
        return apply_main(argc, argv);
    return tu_run_suite(passes_suite());
}
