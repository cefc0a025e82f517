/* Control flow: If, Loop.
 *
 * Each subgraph gets its own executor at init (onnxq_exec_new_subgraph), so
 * it is prepared once and reads outer-scope values through the parent
 * executor. Output shapes are only known after a branch or the whole loop
 * ran, so both ops allocate their outputs in run: the subgraph executor
 * hands back owning tensors, which are moved into the node's outputs. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "exec/exec.h"
#include "ops/control.h"

static const struct onnxq_graph *graph_attr(const struct onnxq_node *n, const char *name)
{
    const struct onnxq_attr *a = onnxq_node_attr(n, name);
    return a && a->type == ONNXQ_ATTR_GRAPH ? a->g : NULL;
}

static const char *node_label(const struct onnxq_node *n)
{
    return n->name && *n->name ? n->name : n->n_outputs ? n->outputs[0] : "";
}

/* Move an owning tensor into a node output (or drop it if the output is
 * omitted). */
static void move_out(struct onnxq_tensor *dst, struct onnxq_tensor *src)
{
    if (dst) {
        *dst = *src;
        memset(src, 0, sizeof(*src));
    } else {
        onnxq_tensor_clear(src);
    }
}

static enum onnxq_status scalar_flag(const struct onnxq_op_ctx *ctx, const struct onnxq_tensor *t, const char *what,
                                     bool *out)
{
    if (onnxq_tensor_numel(t) != 1) {
        char a[200];
        onnxq_shape_format(t->dims, t->ndim, a, sizeof(a));
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE, "%s has shape %s; expected one element", what, a);
    }
    if (t->dtype == ONNXQ_DT_STRING || !onnxq_dtype_size(t->dtype))
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_UNSUPPORTED, "%s has dtype %s; expected bool", what,
                             onnxq_dtype_name(t->dtype));
    *out = onnxq_tensor_get_f64(t, 0) != 0.0;
    return ONNXQ_OK;
}

/* ---------------------------------------------------------------------- If */

struct if_state {
    struct onnxq_exec *branch[2];  /* else, then */
};

void onnxq_if_fini(void *state)
{
    struct if_state *s = state;
    if (!s)
        return;
    onnxq_exec_free(s->branch[0]);
    onnxq_exec_free(s->branch[1]);
    free(s);
}

enum onnxq_status onnxq_if_init(struct onnxq_op_init *ictx, void **state)
{
    const struct onnxq_node *n = ictx->node;
    static const char *const names[2] = {"else_branch", "then_branch"};
    struct if_state *s = calloc(1, sizeof(*s));
    if (!s)
        return onnxq_fail(ictx->err, ONNXQ_E_NOMEM, "out of memory");
    *state = s;
    for (int b = 0; b < 2; b++) {
        const struct onnxq_graph *g = graph_attr(n, names[b]);
        if (!g)
            return onnxq_op_fail(ictx->err, n, ONNXQ_E_INVALID_MODEL, "attribute %s (a graph) is missing", names[b]);
        if (g->n_inputs)
            return onnxq_op_fail(ictx->err, n, ONNXQ_E_INVALID_MODEL, "%s has %zu inputs; expected none", names[b],
                                 g->n_inputs);
        if (g->n_outputs < n->n_outputs)
            return onnxq_op_fail(ictx->err, n, ONNXQ_E_INVALID_MODEL, "%s has %zu outputs; the node has %zu",
                                 names[b], g->n_outputs, n->n_outputs);
        enum onnxq_status st = onnxq_exec_new_subgraph(ictx->exec, g, &s->branch[b], ictx->err);
        if (st) {
            onnxq_error_prefix(ictx->err, "in %s of If '%s': ", names[b], node_label(n));
            return st;
        }
    }
    return ONNXQ_OK;
}

enum onnxq_status onnxq_if_shape(void *state, struct onnxq_op_ctx *ctx)
{
    (void)state;
    enum onnxq_status st = onnxq_need_input(ctx, 0);
    if (st)
        return st;
    ctx->alloc_in_run = true;
    return ONNXQ_OK;
}

enum onnxq_status onnxq_if_run(void *state, struct onnxq_op_ctx *ctx)
{
    struct if_state *s = state;
    bool cond;
    enum onnxq_status st = scalar_flag(ctx, ctx->inputs[0], "cond", &cond);
    if (st)
        return st;
    struct onnxq_exec *e = s->branch[cond];
    size_t n = onnxq_exec_n_outputs(e);
    struct onnxq_tensor *res = calloc(n ? n : 1, sizeof(*res));
    if (!res)
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_NOMEM, "out of memory");
    st = onnxq_exec_run_graph(e, 0, NULL, n, res, ctx->err);
    if (st) {
        onnxq_error_prefix(ctx->err, "in %s of If '%s': ", cond ? "then_branch" : "else_branch",
                           node_label(ctx->node));
        free(res);
        return st;
    }
    for (size_t i = 0; i < n; i++)
        move_out(onnxq_opt_out(ctx, i), &res[i]);
    free(res);
    return ONNXQ_OK;
}

/* -------------------------------------------------------------------- Loop */

struct loop_state {
    struct onnxq_exec *body;
    const struct onnxq_graph *g;
    size_t n_carried, n_scan;
};

void onnxq_loop_fini(void *state)
{
    struct loop_state *s = state;
    if (!s)
        return;
    onnxq_exec_free(s->body);
    free(s);
}

enum onnxq_status onnxq_loop_init(struct onnxq_op_init *ictx, void **state)
{
    const struct onnxq_node *n = ictx->node;
    struct loop_state *s = calloc(1, sizeof(*s));
    if (!s)
        return onnxq_fail(ictx->err, ONNXQ_E_NOMEM, "out of memory");
    *state = s;
    const struct onnxq_graph *g = graph_attr(n, "body");
    if (!g)
        return onnxq_op_fail(ictx->err, n, ONNXQ_E_INVALID_MODEL, "attribute body (a graph) is missing");
    if (n->n_inputs < 2)
        return onnxq_op_fail(ictx->err, n, ONNXQ_E_INVALID_MODEL, "has %zu inputs; expected at least 2 (M, cond)",
                             n->n_inputs);
    s->g = g;
    s->n_carried = n->n_inputs - 2;
    if (g->n_inputs != 2 + s->n_carried)
        return onnxq_op_fail(ictx->err, n, ONNXQ_E_INVALID_MODEL,
                             "body has %zu inputs; expected %zu (iteration number, condition, %zu loop-carried)",
                             g->n_inputs, 2 + s->n_carried, s->n_carried);
    if (g->n_outputs < 1 + s->n_carried)
        return onnxq_op_fail(ictx->err, n, ONNXQ_E_INVALID_MODEL,
                             "body has %zu outputs; expected at least %zu (condition, %zu loop-carried)", g->n_outputs,
                             1 + s->n_carried, s->n_carried);
    s->n_scan = g->n_outputs - 1 - s->n_carried;
    if (n->n_outputs > s->n_carried + s->n_scan)
        return onnxq_op_fail(ictx->err, n, ONNXQ_E_INVALID_MODEL, "has %zu outputs; the body gives %zu",
                             n->n_outputs, s->n_carried + s->n_scan);
    enum onnxq_status st = onnxq_exec_new_subgraph(ictx->exec, g, &s->body, ictx->err);
    if (st)
        onnxq_error_prefix(ictx->err, "in body of Loop '%s': ", node_label(n));
    return st;
}

enum onnxq_status onnxq_loop_shape(void *state, struct onnxq_op_ctx *ctx)
{
    struct loop_state *s = state;
    for (size_t j = 0; j < s->n_carried; j++) {
        enum onnxq_status st = onnxq_need_input(ctx, 2 + j);
        if (st)
            return st;
    }
    ctx->alloc_in_run = true;
    return ONNXQ_OK;
}

/* Scan output being stacked along a new first axis. */
struct scan_acc {
    enum onnxq_dtype dtype;
    int ndim;
    int64_t dims[ONNXQ_MAX_DIMS];
    size_t elem_bytes;  /* bytes of one iteration's tensor */
    uint8_t *buf;
    size_t len, cap;
    int64_t count;
};

static enum onnxq_status scan_append(const struct onnxq_op_ctx *ctx, struct scan_acc *a, size_t k,
                                     const struct onnxq_tensor *t)
{
    if (t->dtype == ONNXQ_DT_STRING)
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_UNSUPPORTED, "scan output #%zu is a string tensor", k);
    if (a->count == 0) {
        if (t->ndim + 1 > ONNXQ_MAX_DIMS)
            return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_UNSUPPORTED, "scan output #%zu has rank %d", k,
                                 t->ndim);
        a->dtype = t->dtype;
        a->ndim = t->ndim;
        memcpy(a->dims, t->dims, (size_t)t->ndim * sizeof(int64_t));
        a->elem_bytes = t->nbytes;
    } else {
        bool same = t->dtype == a->dtype && t->ndim == a->ndim;
        for (int i = 0; same && i < t->ndim; i++)
            same = t->dims[i] == a->dims[i];
        if (!same) {
            char x[200], y[200];
            onnxq_shape_format(a->dims, a->ndim, x, sizeof(x));
            onnxq_shape_format(t->dims, t->ndim, y, sizeof(y));
            return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE,
                                 "scan output #%zu changes from %s %s to %s %s in iteration %lld", k,
                                 onnxq_dtype_name(a->dtype), x, onnxq_dtype_name(t->dtype), y, (long long)a->count);
        }
    }
    if (a->len + t->nbytes > a->cap) {
        size_t nc = a->cap ? a->cap * 2 : 256;
        while (nc < a->len + t->nbytes)
            nc *= 2;
        uint8_t *nb = realloc(a->buf, nc);
        if (!nb)
            return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_NOMEM, "out of memory stacking scan output #%zu", k);
        a->buf = nb;
        a->cap = nc;
    }
    if (t->nbytes)
        memcpy(a->buf + a->len, t->data, t->nbytes);
    a->len += t->nbytes;
    a->count++;
    return ONNXQ_OK;
}

/* The stacked tensor; with zero iterations, shape [0, declared dims...]
 * from the body's output declaration. */
static enum onnxq_status scan_finish(const struct onnxq_op_ctx *ctx, struct scan_acc *a,
                                     const struct onnxq_value_info *decl, size_t k, struct onnxq_tensor *out)
{
    struct onnxq_tensor t;
    memset(&t, 0, sizeof(t));
    if (a->count == 0) {
        const struct onnxq_type *ty = &decl->type;
        if (ty->kind != ONNXQ_TYPE_TENSOR || !ty->has_elem_type || !onnxq_dtype_size(ty->elem_type))
            return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_UNSUPPORTED,
                                 "the loop ran no iteration and the type of scan output #%zu ('%s') is not declared", k,
                                 decl->name);
        a->dtype = (enum onnxq_dtype)ty->elem_type;
        a->ndim = 0;
        if (ty->has_shape && ty->ndim + 1 <= ONNXQ_MAX_DIMS) {
            bool known = true;
            for (int i = 0; i < ty->ndim; i++)
                known &= ty->dims[i].kind == ONNXQ_DIM_VALUE;
            if (known) {
                a->ndim = ty->ndim;
                for (int i = 0; i < ty->ndim; i++)
                    a->dims[i] = ty->dims[i].value;
            }
        }
    }
    t.dtype = a->dtype;
    t.ndim = a->ndim + 1;
    t.dims[0] = a->count;
    memcpy(t.dims + 1, a->dims, (size_t)a->ndim * sizeof(int64_t));
    t.data = a->len ? a->buf : NULL;
    t.nbytes = a->len;
    t.owns_data = t.data != NULL;
    if (!t.data)
        free(a->buf);
    a->buf = NULL;
    move_out(out, &t);
    return ONNXQ_OK;
}

enum onnxq_status onnxq_loop_run(void *state, struct onnxq_op_ctx *ctx)
{
    struct loop_state *s = state;
    const size_t NC = s->n_carried, NS = s->n_scan, NB = 1 + NC + NS;
    enum onnxq_status st = ONNXQ_OK;
    bool has_m = ctx->n_inputs > 0 && ctx->inputs[0], has_cond = ctx->n_inputs > 1 && ctx->inputs[1];
    int64_t max_trip = 0;
    bool cond = true;
    if (has_m) {
        const struct onnxq_tensor *m = ctx->inputs[0];
        if (onnxq_tensor_numel(m) != 1 || !onnxq_dtype_table[m->dtype].is_integer)
            return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE,
                                 "trip count M ('%s') must be one integer; got dtype %s with %lld elements",
                                 ctx->node->inputs[0], onnxq_dtype_name(m->dtype), (long long)onnxq_tensor_numel(m));
        max_trip = onnxq_tensor_get_i64(m, 0);
    }
    if (has_cond && (st = scalar_flag(ctx, ctx->inputs[1], "cond", &cond)))
        return st;

    const struct onnxq_tensor **body_in = calloc(2 + NC, sizeof(*body_in));
    struct onnxq_tensor *body_out = calloc(NB, sizeof(*body_out));
    struct onnxq_tensor *carried = calloc(NC ? NC : 1, sizeof(*carried));  /* owned, from the body */
    struct scan_acc *acc = calloc(NS ? NS : 1, sizeof(*acc));
    if (!body_in || !body_out || !carried || !acc) {
        st = onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_NOMEM, "out of memory");
        goto out;
    }
    int64_t iter = 0;
    uint8_t cond_val = 1;
    struct onnxq_tensor iter_t = {.dtype = ONNXQ_DT_INT64, .ndim = 0, .data = &iter, .nbytes = sizeof(iter)};
    struct onnxq_tensor cond_t = {.dtype = ONNXQ_DT_BOOL, .ndim = 0, .data = &cond_val, .nbytes = 1};
    body_in[0] = &iter_t;
    body_in[1] = &cond_t;
    for (size_t j = 0; j < NC; j++)
        body_in[2 + j] = ctx->inputs[2 + j];
    while ((!has_m || iter < max_trip) && (!has_cond || cond)) {
        cond_val = cond;
        st = onnxq_exec_run_graph(s->body, 2 + NC, body_in, NB, body_out, ctx->err);
        if (st) {
            onnxq_error_prefix(ctx->err, "in iteration %lld of the body of Loop '%s': ", (long long)iter,
                               node_label(ctx->node));
            goto out;
        }
        if (has_cond && (st = scalar_flag(ctx, &body_out[0], "the body's condition output", &cond)))
            goto out;
        onnxq_tensor_clear(&body_out[0]);
        for (size_t j = 0; j < NC; j++) {
            onnxq_tensor_clear(&carried[j]);
            carried[j] = body_out[1 + j];
            memset(&body_out[1 + j], 0, sizeof(body_out[1 + j]));
            body_in[2 + j] = &carried[j];
        }
        for (size_t k = 0; k < NS; k++) {
            st = scan_append(ctx, &acc[k], k, &body_out[1 + NC + k]);
            onnxq_tensor_clear(&body_out[1 + NC + k]);
            if (st)
                goto out;
        }
        iter++;
    }
    for (size_t j = 0; j < NC; j++) {
        struct onnxq_tensor *dst = onnxq_opt_out(ctx, j);
        if (!dst)
            continue;
        if (body_in[2 + j] == &carried[j]) {
            move_out(dst, &carried[j]);
        } else if ((st = onnxq_tensor_copy(dst, ctx->inputs[2 + j], ctx->err))) {
            goto out;
        }
    }
    for (size_t k = 0; k < NS; k++) {
        size_t slot = NC + k;
        struct onnxq_tensor *dst = onnxq_opt_out(ctx, slot);
        if (dst && (st = scan_finish(ctx, &acc[k], &s->g->outputs[1 + NC + k], k, dst)))
            goto out;
    }
out:
    for (size_t i = 0; body_out && i < NB; i++)
        onnxq_tensor_clear(&body_out[i]);
    for (size_t j = 0; carried && j < NC; j++)
        onnxq_tensor_clear(&carried[j]);
    for (size_t k = 0; acc && k < NS; k++)
        free(acc[k].buf);
    free(body_in);
    free(body_out);
    free(carried);
    free(acc);
    return st;
}
