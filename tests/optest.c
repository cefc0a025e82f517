#include "optest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/graph_util.h"

struct onnxq_threadpool *ot_pool1, *ot_pool3;

void ot_setup_pools(void)
{
    ot_pool1 = onnxq_threadpool_new(1);
    ot_pool3 = onnxq_threadpool_new(3);
    ck_assert(ot_pool1 && ot_pool3);
}

void ot_teardown_pools(void)
{
    onnxq_threadpool_free(ot_pool1);
    onnxq_threadpool_free(ot_pool3);
    ot_pool1 = ot_pool3 = NULL;
}

/* ------------------------------------------------------------ attributes */

static struct onnxq_attr *new_attr(struct ot_attrs *t, const char *name, enum onnxq_attr_type type)
{
    ck_assert_uint_lt(t->n, OT_MAX_ATTRS);
    struct onnxq_attr *a = &t->a[t->n++];
    memset(a, 0, sizeof(*a));
    a->name = (char *)name;
    a->has_type = true;
    a->type = type;
    return a;
}

void ot_int(struct ot_attrs *t, const char *name, int64_t v)
{
    struct onnxq_attr *a = new_attr(t, name, ONNXQ_ATTR_INT);
    a->has_i = true;
    a->i = v;
}

void ot_float(struct ot_attrs *t, const char *name, float v)
{
    struct onnxq_attr *a = new_attr(t, name, ONNXQ_ATTR_FLOAT);
    a->has_f = true;
    a->f = v;
}

void ot_ints(struct ot_attrs *t, const char *name, size_t n, const int64_t *v)
{
    ck_assert_uint_le(n, OT_MAX_INTS);
    size_t k = t->n;
    struct onnxq_attr *a = new_attr(t, name, ONNXQ_ATTR_INTS);
    if (n)
        memcpy(t->ints[k], v, n * sizeof(int64_t));
    a->n_ints = n;
    a->ints = t->ints[k];
}

void ot_floats(struct ot_attrs *t, const char *name, size_t n, const float *v)
{
    ck_assert_uint_le(n, OT_MAX_INTS);
    size_t k = t->n;
    struct onnxq_attr *a = new_attr(t, name, ONNXQ_ATTR_FLOATS);
    if (n)
        memcpy(t->floats[k], v, n * sizeof(float));
    a->n_floats = n;
    a->floats = t->floats[k];
}

void ot_str(struct ot_attrs *t, const char *name, const char *v)
{
    struct onnxq_attr *a = new_attr(t, name, ONNXQ_ATTR_STRING);
    a->has_s = true;
    a->s.data = (uint8_t *)(uintptr_t)v;
    a->s.len = strlen(v);
}

/* -------------------------------------------------------------- running */

/* Test-only state: the message of the last failure, for assertion texts. */
static char last_msg[ONNXQ_ERROR_MESSAGE_MAX];

const char *ot_last_msg(void)
{
    return last_msg;
}

enum onnxq_status ot_run_op_how(const char *op, int64_t opset, const struct ot_attrs *at, size_t nin,
                                const struct onnxq_tensor *const *in, size_t nout, struct onnxq_tensor *out,
                                const struct ot_run *how)
{
    static const struct ot_run defaults = {0};
    if (!how)
        how = &defaults;
    ck_assert_uint_le(nin, OT_MAX_IO);
    ck_assert_uint_le(nout, OT_MAX_IO);
    struct onnxq_threadpool *pool = how->pool ? how->pool : ot_pool1;
    ck_assert_ptr_nonnull(pool);
    char names[2 * OT_MAX_IO][8];
    char *ins[OT_MAX_IO], *outs[OT_MAX_IO];
    for (size_t i = 0; i < nin; i++) {
        snprintf(names[i], sizeof(names[i]), "i%zu", i);
        ins[i] = in[i] ? names[i] : "";
    }
    for (size_t k = 0; k < nout; k++) {
        snprintf(names[OT_MAX_IO + k], sizeof(names[0]), "o%zu", k);
        outs[k] = names[OT_MAX_IO + k];
    }
    struct onnxq_node node = {.name = "t", .op_type = (char *)op, .domain = "", .n_inputs = nin, .inputs = ins,
                              .n_outputs = nout, .outputs = outs, .n_attrs = at ? at->n : 0,
                              .attrs = at ? (struct onnxq_attr *)at->a : NULL};
    const struct onnxq_op_def *d = onnxq_op_lookup("", op, opset);
    ck_assert_msg(d != NULL, "%s-%lld is not registered", op, (long long)opset);
    struct onnxq_error local, *err = how->err ? how->err : &local;
    memset(err, 0, sizeof(*err));
    const struct onnxq_tensor *consts[OT_MAX_IO] = {0};
    for (size_t i = 1; i < nin && how->consts; i++)
        consts[i] = in[i];
    struct onnxq_op_init ictx = {.node = &node, .opset = opset, .err = err, .const_inputs = consts, .n_inputs = nin};
    void *state = NULL;
    /* infer_shape writes into shapes; out[k] is allocated from them */
    struct onnxq_tensor shapes[OT_MAX_IO];
    struct onnxq_tensor *outp[OT_MAX_IO];
    memset(shapes, 0, sizeof(shapes));
    for (size_t k = 0; k < nout; k++) {
        memset(&out[k], 0, sizeof(out[k]));
        outp[k] = &shapes[k];
    }
    enum onnxq_status st = d->init ? d->init(&ictx, &state) : ONNXQ_OK;
    if (!st) {
        struct onnxq_op_ctx c = {.node = &node, .pool = pool, .threads = onnxq_threadpool_size(pool),
                                 .n_inputs = nin, .inputs = in, .n_outputs = nout, .outputs = outp, .err = err};
        st = d->infer_shape(state, &c);
        if (!c.alloc_in_run)
            for (size_t k = 0; k < nout && !st; k++)
                st = onnxq_tensor_alloc(&out[k], shapes[k].dtype, shapes[k].ndim, shapes[k].dims, err);
        for (size_t k = 0; k < nout && !st; k++)
            outp[k] = &out[k];
        if (!st && how->stats && nout && !c.alloc_in_run && out[0].dtype == ONNXQ_DT_FLOAT) {
            onnxq_vstats_sink_reset(how->stats, out[0].data, out[0].nbytes / sizeof(float), how->sample_window,
                                    how->sample);
            c.stats = how->stats;
            c.in_stats = how->in_stats;
        }
        if (!st)
            st = how->run ? how->run(state, &c) : d->run(state, &c);
        if (d->fini)
            d->fini(state);
    }
    if (st) {
        ot_clear_all(out, nout);
        snprintf(last_msg, sizeof(last_msg), "%s", err->message);
    }
    return st;
}

enum onnxq_status ot_run_op(const char *op, int64_t opset, const struct ot_attrs *at, size_t nin,
                            const struct onnxq_tensor *const *in, size_t nout, struct onnxq_tensor *out,
                            struct onnxq_threadpool *pool)
{
    struct ot_run how = {.pool = pool};
    return ot_run_op_how(op, opset, at, nin, in, nout, out, &how);
}

/* -------------------------------------------------------------- tensors */

struct onnxq_tensor ot_tensor(enum onnxq_dtype dt, int nd, const int64_t *dims, const void *data)
{
    struct onnxq_tensor t;
    struct onnxq_error err;
    if (onnxq_tensor_alloc(&t, dt, nd, dims, &err) != ONNXQ_OK)
        ck_abort_msg("tensor alloc failed: %s", err.message);
    if (data && t.nbytes)
        memcpy(t.data, data, t.nbytes);
    return t;
}

struct onnxq_tensor ot_f32(int nd, const int64_t *dims, const float *v)
{
    return ot_tensor(ONNXQ_DT_FLOAT, nd, dims, v);
}

struct onnxq_tensor ot_i64(int nd, const int64_t *dims, const int64_t *v)
{
    return ot_tensor(ONNXQ_DT_INT64, nd, dims, v);
}

struct onnxq_tensor ot_i64_vec(size_t n, const int64_t *v)
{
    int64_t d = (int64_t)n;
    return ot_tensor(ONNXQ_DT_INT64, 1, &d, v);
}

void ot_clear_all(struct onnxq_tensor *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        onnxq_tensor_clear(&t[i]);
}

void ot_expect_shape(const char *what, const struct onnxq_tensor *t, int nd, const int64_t *dims)
{
    char a[200], b[200];
    onnxq_shape_format(t->dims, t->ndim, a, sizeof(a));
    onnxq_shape_format(dims, nd, b, sizeof(b));
    ck_assert_msg(t->ndim == nd && (nd == 0 || memcmp(t->dims, dims, (size_t)nd * sizeof(int64_t)) == 0),
                  "%s: shape %s, expected %s", what, a, b);
}

void ot_expect_f32(const char *what, const struct onnxq_tensor *t, size_t n, const float *v, double atol,
                   double rtol)
{
    ck_assert_msg(t->dtype == ONNXQ_DT_FLOAT, "%s: dtype %s", what, onnxq_dtype_name(t->dtype));
    ck_assert_msg((size_t)onnxq_tensor_numel(t) == n, "%s: %lld elements, expected %zu", what,
                  (long long)onnxq_tensor_numel(t), n);
    for (size_t i = 0; i < n; i++) {
        double g = ((const float *)t->data)[i], w = v[i];
        bool ok = isnan(w) ? isnan(g) : isinf(w) ? g == w : fabs(g - w) <= atol + rtol * fabs(w);
        if (!ok)
            ck_abort_msg("%s: element %zu is %.9g, expected %.9g", what, i, g, w);
    }
}

void ot_expect_i64(const char *what, const struct onnxq_tensor *t, size_t n, const int64_t *v)
{
    ck_assert_msg(t->dtype == ONNXQ_DT_INT64, "%s: dtype %s", what, onnxq_dtype_name(t->dtype));
    ck_assert_msg((size_t)onnxq_tensor_numel(t) == n, "%s: %lld elements, expected %zu", what,
                  (long long)onnxq_tensor_numel(t), n);
    for (size_t i = 0; i < n; i++)
        if (((const int64_t *)t->data)[i] != v[i])
            ck_abort_msg("%s: element %zu is %lld, expected %lld", what, i, (long long)((const int64_t *)t->data)[i],
                         (long long)v[i]);
}

/* ------------------------------------------------------ in-memory models */

void ot_value_info(struct onnxq_value_info *v, const char *name, int dtype, int ndim, const int64_t *dims)
{
    memset(v, 0, sizeof(*v));
    v->name = onnxq_strdup(name);
    v->type.kind = ONNXQ_TYPE_TENSOR;
    v->type.has_elem_type = true;
    v->type.elem_type = dtype;
    if (ndim >= 0) {
        v->type.has_shape = true;
        v->type.ndim = ndim;
        v->type.dims = calloc((size_t)(ndim ? ndim : 1), sizeof(struct onnxq_dim));
        ck_assert_ptr_nonnull(v->type.dims);
        for (int i = 0; i < ndim; i++) {
            v->type.dims[i].kind = ONNXQ_DIM_VALUE;
            v->type.dims[i].value = dims[i];
        }
    }
}

void ot_graph_input(struct onnxq_graph *g, const char *name, int dtype)
{
    g->inputs = realloc(g->inputs, (g->n_inputs + 1) * sizeof(*g->inputs));
    ck_assert_ptr_nonnull(g->inputs);
    ot_value_info(&g->inputs[g->n_inputs++], name, dtype, -1, NULL);
}

void ot_graph_output(struct onnxq_graph *g, const char *name, int dtype, int ndim, const int64_t *dims)
{
    g->outputs = realloc(g->outputs, (g->n_outputs + 1) * sizeof(*g->outputs));
    ck_assert_ptr_nonnull(g->outputs);
    ot_value_info(&g->outputs[g->n_outputs++], name, dtype, ndim, dims);
}

const struct onnxq_node *ot_producer(const struct onnxq_graph *g, const char *name)
{
    for (size_t i = 0; i < g->n_nodes; i++)
        for (size_t k = 0; k < g->nodes[i]->n_outputs; k++)
            if (strcmp(g->nodes[i]->outputs[k], name) == 0)
                return g->nodes[i];
    return NULL;
}

struct onnxq_node *ot_graph_node(struct onnxq_graph *g, const char *op, size_t n_in, const char *const *in,
                                 size_t n_out, const char *const *out)
{
    struct onnxq_node *n = onnxq_node_new(op, NULL, n_in, in, n_out, out);
    ck_assert_ptr_nonnull(n);
    ck_assert(onnxq_graph_insert_node(g, g->n_nodes, n));
    return n;
}

struct onnxq_model *ot_model(struct onnxq_context *ctx, struct onnxq_graph *g, int64_t opset)
{
    struct onnxq_model *m = calloc(1, sizeof(*m));
    ck_assert_ptr_nonnull(m);
    m->ctx = ctx;
    m->n_opsets = 1;
    m->opsets = calloc(1, sizeof(*m->opsets));
    ck_assert_ptr_nonnull(m->opsets);
    m->opsets[0].has_version = true;
    m->opsets[0].version = opset;
    m->graph = g;
    struct onnxq_error err;
    if (onnxq_model_validate(m, &err) != ONNXQ_OK)
        ck_abort_msg("test model is invalid: %s", err.message);
    return m;
}
