/* Graph passes run before quantization (see passes.h for what each does).
 *
 * Layout of this file:
 *   1. helpers shared by the passes (domains, constants, use counts, edits)
 *   2. constants_to_initializers
 *   3. fold_batchnorm, fold_scalar_affine (weight folds)
 *   4. fuse_hardswish
 *   5. convtranspose_to_depthtospace
 *   6. upgrade_opset: version table, static dtype/shape facts, converters
 *
 * Every rewrite follows the same steps: match on a fresh use/def index of
 * the graph, check everything, then edit; the index is rebuilt after each
 * edit (its names borrow the graph's strings). */
#include "quant/passes.h"

#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"
#include "core/strmap.h"
#include "core/tensor.h"
#include "ir/graph_util.h"
#include "onnx/onnx_io.h"
#include "ops/op.h"

/* ======================================================================
 * 1. Helpers
 * ====================================================================== */

static bool default_domain(const char *d)
{
    return !d || !*d || strcmp(d, "ai.onnx") == 0;
}

static bool is_op(const struct onnxq_node *n, const char *op)
{
    return default_domain(n->domain) && strcmp(n->op_type, op) == 0;
}

static enum onnxq_status nomem(struct onnxq_error *err)
{
    return onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory");
}

/* Input slot k of n, or "" when absent. */
static const char *input_at(const struct onnxq_node *n, size_t k)
{
    return k < n->n_inputs ? n->inputs[k] : "";
}

static bool has_input(const struct onnxq_node *n, size_t k)
{
    return *input_at(n, k) != '\0';
}

static size_t node_pos(const struct onnxq_graph *g, const struct onnxq_node *n)
{
    for (size_t i = 0; i < g->n_nodes; i++)
        if (g->nodes[i] == n)
            return i;
    return g->n_nodes;
}

static bool replace_string(char **slot, const char *s)
{
    char *c = onnxq_strdup(s);
    if (!c)
        return false;
    free(*slot);
    *slot = c;
    return true;
}

/* Remove attribute `name` from n; true if it was there. */
static bool remove_attr(struct onnxq_node *n, const char *name)
{
    for (size_t i = 0; i < n->n_attrs; i++) {
        if (n->attrs[i].name && strcmp(n->attrs[i].name, name) == 0) {
            onnxq_attr_clear(&n->attrs[i]);
            memmove(&n->attrs[i], &n->attrs[i + 1], (n->n_attrs - i - 1) * sizeof(*n->attrs));
            n->n_attrs--;
            return true;
        }
    }
    return false;
}

static struct onnxq_attr *find_attr(struct onnxq_node *n, const char *name)
{
    for (size_t i = 0; i < n->n_attrs; i++)
        if (n->attrs[i].name && strcmp(n->attrs[i].name, name) == 0)
            return &n->attrs[i];
    return NULL;
}

/* Set input slot k (appending "" slots as needed). */
static bool set_input(struct onnxq_node *n, size_t k, const char *name)
{
    if (k >= n->n_inputs) {
        char **ni = realloc(n->inputs, (k + 1) * sizeof(*ni));
        if (!ni)
            return false;
        n->inputs = ni;
        for (size_t i = n->n_inputs; i <= k; i++) {
            if (!(n->inputs[i] = onnxq_strdup(""))) {
                n->n_inputs = i;
                return false;
            }
        }
        n->n_inputs = k + 1;
    }
    return onnxq_node_set_input(n, k, name);
}

/* Drop trailing "" inputs/outputs (optional arguments may simply be left out). */
static void trim_trailing(struct onnxq_node *n)
{
    while (n->n_inputs && !*n->inputs[n->n_inputs - 1])
        free(n->inputs[--n->n_inputs]);
    while (n->n_outputs > 1 && !*n->outputs[n->n_outputs - 1])
        free(n->outputs[--n->n_outputs]);
}

/* Remove value_info entries named `name` (the value no longer exists). */
static void drop_value_info(struct onnxq_graph *g, const char *name)
{
    for (size_t i = 0; i < g->n_value_info;) {
        if (g->value_info[i].name && strcmp(g->value_info[i].name, name) == 0) {
            onnxq_value_info_clear(&g->value_info[i]);
            memmove(&g->value_info[i], &g->value_info[i + 1], (g->n_value_info - i - 1) * sizeof(*g->value_info));
            g->n_value_info--;
        } else {
            i++;
        }
    }
}

/* Every reader of a value: explicit inputs, subgraph reads, graph output. */
static size_t use_count(const struct onnxq_value_entry *e)
{
    return e ? e->n_consumers + (e->is_graph_output ? 1u : 0u) : 0;
}

/* True when every use of `name` is an explicit input of `node`. */
static bool only_read_by(const struct onnxq_graph_index *idx, const char *name, const struct onnxq_node *node)
{
    const struct onnxq_value_entry *e = onnxq_graph_index_get(idx, name);
    if (!e || e->is_graph_output || e->is_graph_input || e->n_consumers == 0)
        return false;
    for (size_t i = 0; i < e->n_consumers; i++)
        if (e->consumers[i].node != node || e->consumers[i].slot < 0)
            return false;
    return true;
}

/* The single node reading `name` (explicitly, in one or more slots), or NULL. */
static struct onnxq_node *sole_reader(const struct onnxq_graph_index *idx, const char *name)
{
    const struct onnxq_value_entry *e = onnxq_graph_index_get(idx, name);
    if (!e || e->is_graph_output || e->n_consumers == 0)
        return NULL;
    struct onnxq_node *n = e->consumers[0].node;
    return only_read_by(idx, name, n) ? n : NULL;
}

static struct onnxq_node *producer_of(const struct onnxq_graph_index *idx, const char *name)
{
    const struct onnxq_value_entry *e = onnxq_graph_index_get(idx, name);
    return e ? e->producer : NULL;
}

/* A foldable weight: an initializer of g (not a graph input) of dtype float. */
static struct onnxq_constant *float_init(const struct onnxq_graph *g, const struct onnxq_graph_index *idx,
                                         const char *name)
{
    if (!name || !*name)
        return NULL;
    const struct onnxq_value_entry *e = onnxq_graph_index_get(idx, name);
    if (!e || !e->is_initializer || e->is_graph_input)
        return NULL;
    struct onnxq_constant *c = onnxq_graph_find_init(g, name);
    if (!c || c->value.dtype != ONNXQ_DT_FLOAT || onnxq_tensor_numel(&c->value) < 0)
        return NULL;
    if (onnxq_tensor_numel(&c->value) > 0 && !c->value.data)
        return NULL;
    return c;
}

/* The value of a default-domain Constant node with a `value` tensor. */
static const struct onnxq_tensor *constant_node_tensor(const struct onnxq_node *n)
{
    if (!n || !is_op(n, "Constant") || n->n_attrs != 1)
        return NULL;
    const struct onnxq_attr *a = onnxq_node_attr(n, "value");
    return a && a->t ? &a->t->value : NULL;
}

/* A constant read-only value: initializer of g (not a graph input) or the
 * output of a Constant node of g. */
static const struct onnxq_tensor *const_value(const struct onnxq_graph *g, const struct onnxq_graph_index *idx,
                                              const char *name)
{
    if (!name || !*name)
        return NULL;
    const struct onnxq_value_entry *e = onnxq_graph_index_get(idx, name);
    if (!e || e->is_graph_input)
        return NULL;
    if (e->is_initializer) {
        const struct onnxq_constant *c = onnxq_graph_find_init(g, name);
        return c ? &c->value : NULL;
    }
    return constant_node_tensor(e->producer);
}

static bool numeric_float(enum onnxq_dtype dt)
{
    return dt == ONNXQ_DT_FLOAT || dt == ONNXQ_DT_DOUBLE || dt == ONNXQ_DT_FLOAT16 || dt == ONNXQ_DT_BFLOAT16;
}

/* The single element of a one-element float tensor. */
static bool scalar_of(const struct onnxq_tensor *t, double *v)
{
    if (!t || !numeric_float(t->dtype) || onnxq_tensor_numel(t) != 1 || !t->data)
        return false;
    *v = onnxq_tensor_get_f64(t, 0);
    return true;
}

static bool const_scalar(const struct onnxq_graph *g, const struct onnxq_graph_index *idx, const char *name,
                         double *v)
{
    if (scalar_of(const_value(g, idx, name), v))
        return true;
    /* Constant(value_float=...) */
    const struct onnxq_value_entry *e = name && *name ? onnxq_graph_index_get(idx, name) : NULL;
    const struct onnxq_node *p = e && !e->is_initializer && !e->is_graph_input ? e->producer : NULL;
    if (!p || !is_op(p, "Constant") || p->n_attrs != 1 || !p->attrs[0].name)
        return false;
    const struct onnxq_attr *a = &p->attrs[0];
    if (strcmp(a->name, "value_float") == 0 && (a->has_f || a->type == ONNXQ_ATTR_FLOAT)) {
        *v = a->f;
        return true;
    }
    if (strcmp(a->name, "value_floats") == 0 && a->type == ONNXQ_ATTR_FLOATS && a->n_floats == 1) {
        *v = a->floats[0];
        return true;
    }
    return false;
}

/* A new constant (initializer) with zeroed data. */
static struct onnxq_constant *new_constant(const char *name, enum onnxq_dtype dt, int ndim, const int64_t *dims)
{
    struct onnxq_constant *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->name = onnxq_strdup(name);
    if (!c->name || onnxq_tensor_alloc(&c->value, dt, ndim, dims, NULL) != ONNXQ_OK) {
        onnxq_constant_free(c);
        return NULL;
    }
    return c;
}

/* Add a new initializer to g; the graph owns it (freed here on failure). */
static struct onnxq_constant *add_init(struct onnxq_graph *g, const char *name, enum onnxq_dtype dt, int ndim,
                                       const int64_t *dims)
{
    struct onnxq_constant *c = new_constant(name, dt, ndim, dims);
    if (c && !onnxq_graph_add_init(g, c)) {
        onnxq_constant_free(c);
        return NULL;
    }
    return c;
}

static const char *node_label(const struct onnxq_node *n)
{
    if (n->name && *n->name)
        return n->name;
    return n->n_outputs && *n->outputs[0] ? n->outputs[0] : n->op_type;
}

/* Remove initializer `name` of g, or the Constant node of g writing it,
 * when nothing reads it any more. */
static enum onnxq_status drop_init_if_unused(struct onnxq_graph *g, const char *name, struct onnxq_error *err)
{
    if (!name || !*name)
        return ONNXQ_OK;
    size_t pos = g->n_inits, npos = g->n_nodes;
    for (size_t i = 0; i < g->n_inits; i++)
        if (strcmp(g->inits[i]->name, name) == 0)
            pos = i;
    if (pos == g->n_inits)
        for (size_t i = 0; i < g->n_nodes; i++)
            if (is_op(g->nodes[i], "Constant") && g->nodes[i]->n_outputs == 1 &&
                strcmp(g->nodes[i]->outputs[0], name) == 0)
                npos = i;
    if (pos == g->n_inits && npos == g->n_nodes)
        return ONNXQ_OK;
    struct onnxq_graph_index idx;
    enum onnxq_status st = onnxq_graph_index_build(g, &idx, err);
    if (st)
        return st;
    const struct onnxq_value_entry *e = onnxq_graph_index_get(&idx, name);
    bool unused = !e || (use_count(e) == 0 && !e->is_graph_input);
    onnxq_graph_index_free(&idx);
    if (unused && pos < g->n_inits) {
        onnxq_constant_free(g->inits[pos]);
        memmove(&g->inits[pos], &g->inits[pos + 1], (g->n_inits - pos - 1) * sizeof(*g->inits));
        g->n_inits--;
    } else if (unused) {
        drop_value_info(g, name);
        onnxq_graph_remove_node(g, npos);
    }
    return ONNXQ_OK;
}

/* Names of the inputs of a node, copied (the node may be freed meanwhile). */
struct name_set {
    char *v[8];
    size_t n;
};

static void name_set_add(struct name_set *s, const char *name)
{
    if (name && *name && s->n < sizeof(s->v) / sizeof(s->v[0]))
        s->v[s->n++] = onnxq_strdup(name);
}

static enum onnxq_status name_set_drop_inits(struct name_set *s, struct onnxq_graph *g, struct onnxq_error *err)
{
    enum onnxq_status st = ONNXQ_OK;
    for (size_t i = 0; i < s->n; i++) {
        if (st == ONNXQ_OK && s->v[i])
            st = drop_init_if_unused(g, s->v[i], err);
        free(s->v[i]);
    }
    s->n = 0;
    return st;
}

/* A model of IR version < 4 lists every initializer as a graph input;
 * adding initializers that are not inputs needs IR version 4. */
static void ensure_ir_for_new_inits(struct onnxq_model *m)
{
    if (m->has_ir_version && m->ir_version < 4)
        m->ir_version = 4;
}

/* Visit g and every subgraph below it, parents first. */
typedef enum onnxq_status (*graph_visit_fn)(struct onnxq_graph *g, void *user);

static enum onnxq_status walk_graphs(struct onnxq_graph *g, graph_visit_fn fn, void *user, int depth,
                                     struct onnxq_error *err)
{
    if (depth > 64)
        return onnxq_fail(err, ONNXQ_E_UNSUPPORTED, "subgraphs nested deeper than 64 levels");
    enum onnxq_status st = fn(g, user);
    if (st)
        return st;
    for (size_t i = 0; i < g->n_nodes; i++) {
        struct onnxq_node *n = g->nodes[i];
        for (size_t a = 0; a < n->n_attrs; a++) {
            struct onnxq_attr *at = &n->attrs[a];
            if (at->g && (st = walk_graphs(at->g, fn, user, depth + 1, err)))
                return st;
            for (size_t k = 0; k < at->n_graphs; k++)
                if (at->graphs[k] && (st = walk_graphs(at->graphs[k], fn, user, depth + 1, err)))
                    return st;
        }
    }
    return ONNXQ_OK;
}

static enum onnxq_status check_model(const struct onnxq_model *m, struct onnxq_error *err)
{
    if (!m || !m->graph)
        return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "no model");
    return ONNXQ_OK;
}

/* Shared state of the rewriting passes. */
struct pass_ctx {
    struct onnxq_model *m;
    struct onnxq_namegen ng;
    bool ng_ready;
    size_t changed;
    struct onnxq_error *err;
};

static enum onnxq_status pass_ctx_init(struct pass_ctx *pc, struct onnxq_model *m, struct onnxq_error *err)
{
    memset(pc, 0, sizeof(*pc));
    pc->m = m;
    pc->err = err;
    enum onnxq_status st = onnxq_namegen_init(&pc->ng, m, err);
    pc->ng_ready = st == ONNXQ_OK;
    return st;
}

static void pass_ctx_free(struct pass_ctx *pc)
{
    if (pc->ng_ready)
        onnxq_namegen_free(&pc->ng);
    pc->ng_ready = false;
}

/* Run `try_node` on every node of g until nothing matches; try_node returns
 * ONNXQ_OK and sets *done when it rewrote the graph (the index is then
 * rebuilt and the scan restarts). */
typedef enum onnxq_status (*try_node_fn)(struct pass_ctx *pc, struct onnxq_graph *g,
                                         const struct onnxq_graph_index *idx, struct onnxq_node *n, bool *done);

static enum onnxq_status rewrite_to_fixpoint(struct pass_ctx *pc, struct onnxq_graph *g, try_node_fn fn)
{
    for (;;) {
        struct onnxq_graph_index idx;
        enum onnxq_status st = onnxq_graph_index_build(g, &idx, pc->err);
        if (st)
            return st;
        bool done = false;
        size_t i;
        for (i = 0; i < g->n_nodes && !done; i++) {
            if ((st = fn(pc, g, &idx, g->nodes[i], &done)))
                break;
        }
        onnxq_graph_index_free(&idx);
        if (st)
            return st;
        if (!done)
            return ONNXQ_OK;
        pc->changed++;
    }
}

/* ======================================================================
 * 2. constants_to_initializers
 * ====================================================================== */

/* The initializer a Constant node stands for, as a new constant named after
 * its output; NULL when the node is not a dense-tensor constant (sparse_value,
 * no or several value attributes) or on allocation failure (*oom set). The
 * node is left untouched. */
static struct onnxq_constant *constant_to_init(const struct onnxq_node *n, bool *oom)
{
    *oom = false;
    if (n->n_attrs != 1 || n->n_outputs != 1 || !*n->outputs[0])
        return NULL;
    const struct onnxq_attr *a = &n->attrs[0];
    const char *an = a->name ? a->name : "";
    struct onnxq_constant *c = NULL;
    int64_t dim;
    if (strcmp(an, "value") == 0) {
        if (!a->t)
            return NULL;
        c = calloc(1, sizeof(*c));
        if (!c || !(c->name = onnxq_strdup(n->outputs[0])) ||
            (a->t->doc_string && !(c->doc_string = onnxq_strdup(a->t->doc_string))) ||
            onnxq_tensor_copy(&c->value, &a->t->value, NULL) != ONNXQ_OK) {
            onnxq_constant_free(c);
            *oom = true;
            return NULL;
        }
        return c;
    }
    if (strcmp(an, "value_float") == 0 && (a->has_f || a->type == ONNXQ_ATTR_FLOAT)) {
        if ((c = new_constant(n->outputs[0], ONNXQ_DT_FLOAT, 0, NULL)))
            ((float *)c->value.data)[0] = a->f;
    } else if (strcmp(an, "value_int") == 0 && (a->has_i || a->type == ONNXQ_ATTR_INT)) {
        if ((c = new_constant(n->outputs[0], ONNXQ_DT_INT64, 0, NULL)))
            ((int64_t *)c->value.data)[0] = a->i;
    } else if (strcmp(an, "value_floats") == 0 && a->type == ONNXQ_ATTR_FLOATS) {
        dim = (int64_t)a->n_floats;
        if ((c = new_constant(n->outputs[0], ONNXQ_DT_FLOAT, 1, &dim)) && dim)
            memcpy(c->value.data, a->floats, a->n_floats * sizeof(float));
    } else if (strcmp(an, "value_ints") == 0 && a->type == ONNXQ_ATTR_INTS) {
        dim = (int64_t)a->n_ints;
        if ((c = new_constant(n->outputs[0], ONNXQ_DT_INT64, 1, &dim)) && dim)
            memcpy(c->value.data, a->ints, a->n_ints * sizeof(int64_t));
    } else if ((strcmp(an, "value_string") == 0 && (a->has_s || a->type == ONNXQ_ATTR_STRING)) ||
               (strcmp(an, "value_strings") == 0 && a->type == ONNXQ_ATTR_STRINGS)) {
        bool one = strcmp(an, "value_string") == 0;
        dim = one ? 1 : (int64_t)a->n_strings;
        if ((c = new_constant(n->outputs[0], ONNXQ_DT_STRING, one ? 0 : 1, &dim))) {
            struct onnxq_bytes *b = c->value.data;
            for (int64_t k = 0; k < dim; k++) {
                const struct onnxq_bytes *src = one ? &a->s : &a->strings[k];
                b[k].len = src->len;
                if (src->len && !(b[k].data = malloc(src->len))) {
                    b[k].len = 0;
                    onnxq_constant_free(c);
                    *oom = true;
                    return NULL;
                }
                if (src->len)
                    memcpy(b[k].data, src->data, src->len);
            }
        }
    } else {
        return NULL;
    }
    *oom = c == NULL;
    return c;
}

static enum onnxq_status c2i_graph(struct onnxq_graph *g, void *user)
{
    struct pass_ctx *pc = user;
    for (size_t i = 0; i < g->n_nodes;) {
        struct onnxq_node *n = g->nodes[i];
        if (!is_op(n, "Constant") || n->n_outputs != 1 || !*n->outputs[0] ||
            onnxq_graph_find_init(g, n->outputs[0])) {
            i++;
            continue;
        }
        bool is_input = false;
        for (size_t k = 0; k < g->n_inputs; k++)
            is_input |= g->inputs[k].name && strcmp(g->inputs[k].name, n->outputs[0]) == 0;
        bool oom = false;
        struct onnxq_constant *c = is_input ? NULL : constant_to_init(n, &oom);
        if (oom)
            return nomem(pc->err);
        if (!c) {
            i++;
            continue;
        }
        if (!onnxq_graph_add_init(g, c)) {
            onnxq_constant_free(c);
            return nomem(pc->err);
        }
        onnxq_graph_remove_node(g, i);
        ensure_ir_for_new_inits(pc->m);
        pc->changed++;
    }
    return ONNXQ_OK;
}

enum onnxq_status onnxq_pass_constants_to_initializers(struct onnxq_model *m, size_t *changed,
                                                       struct onnxq_error *err)
{
    enum onnxq_status st = check_model(m, err);
    if (st)
        return st;
    struct pass_ctx pc = {.m = m, .err = err};
    if ((st = walk_graphs(m->graph, c2i_graph, &pc, 0, err)))
        return st;
    if (changed)
        *changed = pc.changed;
    return ONNXQ_OK;
}

/* ======================================================================
 * 3. Weight folds
 * ====================================================================== */

/* How the output channels of a Conv / ConvTranspose / Gemm producer map
 * onto its weight tensor. */
struct chan_layout {
    int64_t n_out;        /* output channels */
    /* element e of W belongs to output channel
     *   Conv:          e / inner
     *   ConvTranspose: ((e / inner) / per_grp_in) ... see chan_of() */
    int kind;             /* 0 Conv, 1 ConvTranspose, 2 Gemm B[K,N], 3 Gemm B[N,K] */
    int64_t inner;        /* product of W dims after the channel dim (Conv/CT) */
    int64_t out_per_grp;  /* ConvTranspose: W dims[1] */
    int64_t in_per_grp;   /* ConvTranspose: W dims[0] / group */
    int64_t rows, cols;   /* Gemm B */
};

static int64_t chan_of(const struct chan_layout *L, int64_t e)
{
    switch (L->kind) {
    case 0: return e / L->inner;
    case 1: {
        int64_t ci = e / (L->out_per_grp * L->inner);
        int64_t j = (e / L->inner) % L->out_per_grp;
        return (ci / L->in_per_grp) * L->out_per_grp + j;
    }
    case 2: return e % L->cols;
    default: return e / L->cols;
    }
}

/* Layout of producer p's weight W; false when p's form is not foldable. */
static bool weight_layout(const struct onnxq_node *p, const struct onnxq_tensor *W, struct chan_layout *L)
{
    memset(L, 0, sizeof(*L));
    if (is_op(p, "Conv") || is_op(p, "ConvTranspose")) {
        if (W->ndim < 3)
            return false;
        int64_t group = onnxq_attr_int(p, "group", 1);
        if (group < 1)
            return false;
        L->inner = 1;
        for (int i = 2; i < W->ndim; i++)
            L->inner *= W->dims[i];
        if (is_op(p, "Conv")) {
            L->kind = 0;
            L->n_out = W->dims[0];
            L->inner *= W->dims[1];
        } else {
            if (W->dims[0] % group)
                return false;
            L->kind = 1;
            L->out_per_grp = W->dims[1];
            L->in_per_grp = W->dims[0] / group;
            L->n_out = W->dims[1] * group;
        }
        return L->inner > 0 && L->n_out > 0;
    }
    if (is_op(p, "Gemm")) {
        if (W->ndim != 2)
            return false;
        bool tb = onnxq_attr_int(p, "transB", 0) != 0;
        L->kind = tb ? 3 : 2;
        L->rows = W->dims[0];
        L->cols = W->dims[1];
        L->n_out = tb ? W->dims[0] : W->dims[1];
        return L->n_out > 0;
    }
    return false;
}

/* ---- staged edits: every allocation happens before the graph changes ----
 *
 * A fold computes new values for some inputs of the producer p (weight,
 * bias), then commits. A stage holds the new values of one input slot:
 * written in place at commit when the initializer is read by p's slot
 * alone (same shape), else as a new initializer (added to the graph while
 * staging, which changes nothing as long as nobody reads it) that p reads
 * from the commit on. Committing cannot fail, so a fold is applied whole
 * or not at all. */
struct stage {
    struct onnxq_constant *inplace; /* initializer overwritten at commit */
    float *data;                    /* its new values (inplace only) */
    struct onnxq_tensor *t;         /* where to write the new values */
    char *new_name;                 /* name p reads from the commit on */
    size_t slot;
};

static void stage_discard(struct stage *st)
{
    free(st->data);
    free(st->new_name);
    memset(st, 0, sizeof(*st));
}

/* Stage new float values of shape dims for input `slot` of p. */
static enum onnxq_status stage_prepare(struct pass_ctx *pc, struct onnxq_graph *g, const struct onnxq_graph_index *idx,
                                       struct onnxq_node *p, size_t slot, int ndim, const int64_t *dims,
                                       const char *what, struct stage *st)
{
    memset(st, 0, sizeof(*st));
    st->slot = slot;
    int64_t n = onnxq_shape_numel(dims, ndim);
    if (n < 0)
        return onnxq_op_fail(pc->err, p, ONNXQ_E_INTERNAL, "bad folded shape");
    if (has_input(p, slot)) {
        const char *nm = p->inputs[slot];
        const struct onnxq_value_entry *e = onnxq_graph_index_get(idx, nm);
        struct onnxq_constant *c = onnxq_graph_find_init(g, nm);
        size_t reads_here = 0;
        for (size_t k = 0; k < p->n_inputs; k++)
            reads_here += strcmp(p->inputs[k], nm) == 0;
        bool same_shape = c && c->value.ndim == ndim && c->value.dtype == ONNXQ_DT_FLOAT;
        for (int d = 0; same_shape && d < ndim; d++)
            same_shape = c->value.dims[d] == dims[d];
        if (c && e && same_shape && !e->is_graph_output && !e->is_graph_input && e->n_consumers == 1 &&
            reads_here == 1) {
            st->inplace = c;
            if (!(st->data = calloc(n ? (size_t)n : 1, sizeof(float))))
                return nomem(pc->err);
            st->t = NULL;
            return ONNXQ_OK;
        }
    }
    char base[256];
    if (has_input(p, slot))
        snprintf(base, sizeof(base), "%s", p->inputs[slot]);
    else
        snprintf(base, sizeof(base), "%s_%s", node_label(p), what);
    const char *nm = onnxq_namegen_make(&pc->ng, base);
    struct onnxq_constant *c = nm ? add_init(g, nm, ONNXQ_DT_FLOAT, ndim, dims) : NULL;
    if (!c || !(st->new_name = onnxq_strdup(nm)))
        return nomem(pc->err);
    st->t = &c->value;
    /* a missing optional input slot: "" reads as absent, so growing the
     * input list changes nothing */
    if (slot >= p->n_inputs && !set_input(p, slot, ""))
        return nomem(pc->err);
    ensure_ir_for_new_inits(pc->m);
    return ONNXQ_OK;
}

/* Where stage_prepare wants the new values written. */
static float *stage_values(struct stage *st)
{
    return st->inplace ? st->data : st->t->data;
}

static void stage_commit(struct onnxq_node *p, struct stage *st)
{
    if (st->inplace) {
        struct onnxq_tensor *t = &st->inplace->value;
        if (t->owns_data)
            free(t->data);
        t->data = st->data;
        t->owns_data = true;
        st->data = NULL;
    } else {
        free(p->inputs[st->slot]);
        p->inputs[st->slot] = st->new_name;
        st->new_name = NULL;
    }
}

/* Staged rename: p's output 0 takes the name of `gone`'s output 0. */
struct rename {
    char *name;
};

static enum onnxq_status rename_prepare(struct pass_ctx *pc, const struct onnxq_node *gone, struct rename *r)
{
    r->name = onnxq_strdup(gone->outputs[0]);
    return r->name ? ONNXQ_OK : nomem(pc->err);
}

/* Commit: p writes gone's output name; gone is removed from g. */
static void rename_commit(struct onnxq_graph *g, struct onnxq_node *p, struct onnxq_node *gone, struct rename *r)
{
    char *old = p->outputs[0];
    p->outputs[0] = r->name;
    r->name = NULL;
    drop_value_info(g, old);
    free(old);
    for (size_t k = 1; k < gone->n_outputs; k++)
        if (*gone->outputs[k])
            drop_value_info(g, gone->outputs[k]);
    size_t pos = node_pos(g, gone);
    if (pos < g->n_nodes)
        onnxq_graph_remove_node(g, pos);
}

/* W2[e] = W[e] * s[chan(e)] (or / s), double math, one rounding. */
static void scaled_weights(const struct onnxq_tensor *W, const struct chan_layout *L, const double *s, bool divide,
                           float *out)
{
    const float *w = W->data;
    int64_t n = onnxq_tensor_numel(W);
    for (int64_t e = 0; e < n; e++) {
        double v = s[chan_of(L, e)];
        out[e] = (float)(divide ? (double)w[e] / v : (double)w[e] * v);
    }
}

/* The stages of a fold into a Conv / ConvTranspose / Gemm producer. */
struct fold {
    struct stage w, b;
    struct rename r;
    struct name_set drop; /* initializers to remove when unread afterwards */
};

static void fold_discard(struct fold *f)
{
    stage_discard(&f->w);
    stage_discard(&f->b);
    free(f->r.name);
    f->r.name = NULL;
    for (size_t i = 0; i < f->drop.n; i++)
        free(f->drop.v[i]);
    f->drop.n = 0;
}

/* ---- fold_batchnorm ---- */

static enum onnxq_status try_fold_bn(struct pass_ctx *pc, struct onnxq_graph *g, const struct onnxq_graph_index *idx,
                                     struct onnxq_node *bn, bool *done)
{
    if (!is_op(bn, "BatchNormalization") || bn->n_inputs != 5 || bn->n_outputs < 1 || !*bn->outputs[0])
        return ONNXQ_OK;
    if (onnxq_attr_int(bn, "training_mode", 0) != 0 || onnxq_attr_int(bn, "spatial", 1) != 1)
        return ONNXQ_OK;
    for (size_t k = 1; k < bn->n_outputs; k++)
        if (*bn->outputs[k] && use_count(onnxq_graph_index_get(idx, bn->outputs[k])))
            return ONNXQ_OK;
    const struct onnxq_constant *prm[4];
    for (int k = 0; k < 4; k++) {
        prm[k] = float_init(g, idx, bn->inputs[k + 1]);
        if (!prm[k] || prm[k]->value.ndim != 1)
            return ONNXQ_OK;
    }
    int64_t C = prm[0]->value.dims[0];
    for (int k = 1; k < 4; k++)
        if (prm[k]->value.dims[0] != C)
            return ONNXQ_OK;
    struct onnxq_node *p = producer_of(idx, bn->inputs[0]);
    if (!p || p->n_outputs != 1 || strcmp(p->outputs[0], bn->inputs[0]) != 0 || !only_read_by(idx, bn->inputs[0], bn))
        return ONNXQ_OK;
    if (!(is_op(p, "Conv") || is_op(p, "ConvTranspose") || is_op(p, "Gemm")))
        return ONNXQ_OK;
    const struct onnxq_constant *W0 = float_init(g, idx, input_at(p, 1));
    struct chan_layout L;
    if (!W0 || !weight_layout(p, &W0->value, &L) || L.n_out != C)
        return ONNXQ_OK;
    bool gemm = is_op(p, "Gemm");
    const struct onnxq_constant *b0 = NULL;
    if (has_input(p, 2)) {
        b0 = float_init(g, idx, p->inputs[2]);
        if (!b0)
            return ONNXQ_OK;
        if (!gemm && (b0->value.ndim != 1 || b0->value.dims[0] != C))
            return ONNXQ_OK;
    }
    /* Gemm's C broadcasts to [rows, C], rows 1 or M: shapes [], [1], [C],
     * [1,C], [1,1], [M,C], [M,1] */
    int64_t crows = 1;
    bool ccol = true; /* C varies along the N axis */
    if (gemm && b0) {
        const struct onnxq_tensor *t = &b0->value;
        int64_t last = t->ndim ? t->dims[t->ndim - 1] : 1;
        if (t->ndim > 2 || (last != 1 && last != C))
            return ONNXQ_OK;
        crows = t->ndim == 2 ? t->dims[0] : 1;
        ccol = last == C;
    }
    double eps = onnxq_attr_float(bn, "epsilon", 1e-5f);
    const float *sc = prm[0]->value.data, *bb = prm[1]->value.data, *mu = prm[2]->value.data,
                *var = prm[3]->value.data;
    for (int64_t c = 0; c < C; c++)
        if (!((double)var[c] + eps > 0))
            return ONNXQ_OK; /* negative variance: leave it to the BN */
    double *s = malloc((size_t)C * sizeof(double));
    if (!s)
        return nomem(pc->err);
    for (int64_t c = 0; c < C; c++)
        s[c] = (double)sc[c] / sqrt((double)var[c] + eps);

    /* stage */
    struct fold f;
    memset(&f, 0, sizeof(f));
    enum onnxq_status st;
    int64_t bdims[2] = {crows, C};
    int bnd = gemm && crows > 1 ? 2 : 1;
    if ((st = stage_prepare(pc, g, idx, p, 1, W0->value.ndim, W0->value.dims, "weight", &f.w)) ||
        (st = stage_prepare(pc, g, idx, p, 2, bnd, bnd == 2 ? bdims : &C, "bias", &f.b)) ||
        (st = rename_prepare(pc, bn, &f.r)))
        goto out;
    scaled_weights(&W0->value, &L, s, false, stage_values(&f.w));
    float *o = stage_values(&f.b);
    const float *ci = b0 ? b0->value.data : NULL;
    double beta = gemm ? onnxq_attr_float(p, "beta", 1.0f) : 1.0;
    int64_t ccols = b0 && gemm ? (ccol ? C : 1) : C;
    for (int64_t r = 0; r < crows; r++)
        for (int64_t c = 0; c < C; c++) {
            double cv = !ci ? 0.0 : gemm ? (double)ci[r * ccols + (ccol ? c : 0)] * beta : (double)ci[c];
            o[r * C + c] = (float)((cv - mu[c]) * s[c] + bb[c]);
        }
    for (size_t k = 1; k < 5; k++)
        name_set_add(&f.drop, bn->inputs[k]);
    name_set_add(&f.drop, p->inputs[1]);
    if (has_input(p, 2))
        name_set_add(&f.drop, p->inputs[2]);
    /* commit */
    stage_commit(p, &f.w);
    stage_commit(p, &f.b);
    if (gemm)
        remove_attr(p, "beta");
    rename_commit(g, p, bn, &f.r);
    *done = true;
    st = name_set_drop_inits(&f.drop, g, pc->err);
out:
    fold_discard(&f);
    free(s);
    return st;
}

static enum onnxq_status fold_bn_graph(struct onnxq_graph *g, void *user)
{
    return rewrite_to_fixpoint(user, g, try_fold_bn);
}

enum onnxq_status onnxq_pass_fold_batchnorm(struct onnxq_model *m, size_t *changed, struct onnxq_error *err)
{
    enum onnxq_status st = check_model(m, err);
    struct pass_ctx pc;
    if (st || (st = pass_ctx_init(&pc, m, err)))
        return st;
    st = walk_graphs(m->graph, fold_bn_graph, &pc, 0, err);
    pass_ctx_free(&pc);
    if (!st && changed)
        *changed = pc.changed;
    return st;
}

/* ---- fold_scalar_affine ---- */

/* Per-output-channel values of constant t broadcast against an output of
 * rank r with C channels (axis 1): false unless t is one element or varies
 * along that axis only, without raising the rank. */
static bool channel_values(const struct onnxq_tensor *t, int r, int64_t C, double *v)
{
    int64_t n = onnxq_tensor_numel(t);
    if (!t->data || n < 1 || t->ndim > r || !numeric_float(t->dtype))
        return false;
    if (n == 1) {
        double x = onnxq_tensor_get_f64(t, 0);
        for (int64_t c = 0; c < C; c++)
            v[c] = x;
        return true;
    }
    int ch = 1 - (r - t->ndim); /* index of t's dim aligned with axis 1 */
    if (ch < 0 || ch >= t->ndim || t->dims[ch] != C)
        return false;
    for (int i = 0; i < t->ndim; i++)
        if (i != ch && t->dims[i] != 1)
            return false;
    for (int64_t c = 0; c < C; c++)
        v[c] = onnxq_tensor_get_f64(t, (size_t)c);
    return true;
}

static enum onnxq_status try_fold_affine(struct pass_ctx *pc, struct onnxq_graph *g,
                                         const struct onnxq_graph_index *idx, struct onnxq_node *n, bool *done)
{
    int op; /* 0 Mul, 1 Add, 2 Sub, 3 Div */
    if (is_op(n, "Mul"))
        op = 0;
    else if (is_op(n, "Add"))
        op = 1;
    else if (is_op(n, "Sub"))
        op = 2;
    else if (is_op(n, "Div"))
        op = 3;
    else
        return ONNXQ_OK;
    if (n->n_inputs != 2 || n->n_outputs != 1 || !*n->outputs[0] || n->n_attrs)
        return ONNXQ_OK; /* attributes: legacy broadcast forms */
    for (int side = 0; side < (op >= 2 ? 1 : 2); side++) {
        const char *xn = n->inputs[side], *cn = n->inputs[1 - side];
        struct onnxq_node *p = producer_of(idx, xn);
        if (!p || !(is_op(p, "Conv") || is_op(p, "ConvTranspose")) || p->n_outputs != 1 ||
            strcmp(p->outputs[0], xn) != 0 || !only_read_by(idx, xn, n) || strcmp(xn, cn) == 0)
            continue;
        const struct onnxq_constant *W0 = float_init(g, idx, input_at(p, 1));
        const struct onnxq_constant *cst = float_init(g, idx, cn);
        struct chan_layout L;
        if (!W0 || !cst || !weight_layout(p, &W0->value, &L))
            continue;
        int64_t C = L.n_out;
        const struct onnxq_constant *b0 = NULL;
        if (has_input(p, 2)) {
            b0 = float_init(g, idx, p->inputs[2]);
            if (!b0 || b0->value.ndim != 1 || b0->value.dims[0] != C)
                continue;
        }
        double *v = malloc((size_t)C * sizeof(double));
        if (!v)
            return nomem(pc->err);
        bool ok = channel_values(&cst->value, W0->value.ndim, C, v);
        for (int64_t c = 0; ok && c < C; c++)
            ok = isfinite(v[c]) && !(op == 3 && v[c] == 0);
        if (!ok) {
            free(v);
            continue;
        }
        /* stage: Mul/Div change the weights and an existing bias, Add/Sub
         * the bias (created when absent) */
        struct fold f;
        memset(&f, 0, sizeof(f));
        enum onnxq_status st = ONNXQ_OK;
        bool scale = op == 0 || op == 3, bias = b0 || !scale;
        if ((scale && (st = stage_prepare(pc, g, idx, p, 1, W0->value.ndim, W0->value.dims, "weight", &f.w))) ||
            (bias && (st = stage_prepare(pc, g, idx, p, 2, 1, &C, "bias", &f.b))) ||
            (st = rename_prepare(pc, n, &f.r)))
            goto out;
        if (scale)
            scaled_weights(&W0->value, &L, v, op == 3, stage_values(&f.w));
        if (bias) {
            float *bv = stage_values(&f.b);
            const float *b0v = b0 ? b0->value.data : NULL;
            for (int64_t c = 0; c < C; c++) {
                double x = b0v ? b0v[c] : 0.0;
                bv[c] = (float)(op == 0 ? x * v[c] : op == 3 ? x / v[c] : op == 1 ? x + v[c] : x - v[c]);
            }
        }
        name_set_add(&f.drop, cn);
        name_set_add(&f.drop, p->inputs[1]);
        if (has_input(p, 2))
            name_set_add(&f.drop, p->inputs[2]);
        /* commit */
        if (scale)
            stage_commit(p, &f.w);
        if (bias)
            stage_commit(p, &f.b);
        rename_commit(g, p, n, &f.r);
        *done = true;
        st = name_set_drop_inits(&f.drop, g, pc->err);
    out:
        fold_discard(&f);
        free(v);
        return st;
    }
    return ONNXQ_OK;
}

static enum onnxq_status fold_affine_graph(struct onnxq_graph *g, void *user)
{
    return rewrite_to_fixpoint(user, g, try_fold_affine);
}

enum onnxq_status onnxq_pass_fold_scalar_affine(struct onnxq_model *m, size_t *changed, struct onnxq_error *err)
{
    enum onnxq_status st = check_model(m, err);
    struct pass_ctx pc;
    if (st || (st = pass_ctx_init(&pc, m, err)))
        return st;
    st = walk_graphs(m->graph, fold_affine_graph, &pc, 0, err);
    pass_ctx_free(&pc);
    if (!st && changed)
        *changed = pc.changed;
    return st;
}

/* ======================================================================
 * 4. fuse_hardswish
 * ====================================================================== */

static bool near(double v, double want, double tol)
{
    return fabs(v - want) <= tol;
}

/* n is Mul(a, b) or Mul(b, a) with `a` given: the other operand, or NULL. */
static const char *mul_other(const struct onnxq_node *n, const char *a)
{
    if (!is_op(n, "Mul") || n->n_inputs != 2 || n->n_attrs)
        return NULL;
    if (strcmp(n->inputs[0], a) == 0)
        return n->inputs[1];
    if (strcmp(n->inputs[1], a) == 0)
        return n->inputs[0];
    return NULL;
}

/* n computes v / 6 (Div by 6 or Mul by 1/6) of its input `v`. */
static bool is_div6(const struct onnxq_graph *g, const struct onnxq_graph_index *idx, const struct onnxq_node *n,
                    const char *v)
{
    double k;
    if (is_op(n, "Div") && n->n_inputs == 2 && !n->n_attrs && strcmp(n->inputs[0], v) == 0)
        return const_scalar(g, idx, n->inputs[1], &k) && k == 6.0;
    const char *o = mul_other(n, v);
    return o && strcmp(o, v) != 0 && const_scalar(g, idx, o, &k) && near(k, 1.0 / 6.0, 1e-6);
}

/* Clip(a, 0, 6), bounds as inputs (opset >= 11). The attribute form
 * (min/max attributes) belongs to opsets below 11, which have no HardSwish:
 * upgrade_opset turns it into inputs first. In an opset >= 14 model such
 * attributes are not part of Clip, so a Clip carrying them is left alone. */
static bool is_clip06(const struct onnxq_graph *g, const struct onnxq_graph_index *idx, const struct onnxq_node *n)
{
    if (!is_op(n, "Clip") || n->n_inputs != 3 || onnxq_attr_has(n, "min") || onnxq_attr_has(n, "max"))
        return false;
    double lo, hi;
    return const_scalar(g, idx, n->inputs[1], &lo) && lo == 0.0 && const_scalar(g, idx, n->inputs[2], &hi) &&
           hi == 6.0;
}

struct hs_match {
    const char *x;               /* HardSwish input */
    struct onnxq_node *nodes[4]; /* pattern nodes, the last one writes y */
    size_t n;
};

/* Match a pattern that starts at node `first` (Add or HardSigmoid). */
static bool match_hardswish(const struct onnxq_graph *g, const struct onnxq_graph_index *idx, struct onnxq_node *first,
                            struct hs_match *mt)
{
    memset(mt, 0, sizeof(*mt));
    if (first->n_outputs != 1 || !*first->outputs[0])
        return false;
    if (is_op(first, "HardSigmoid")) {
        if (first->n_inputs != 1 || !near(onnxq_attr_float(first, "alpha", 0.2f), 1.0 / 6.0, 1e-6) ||
            onnxq_attr_float(first, "beta", 0.5f) != 0.5f)
            return false;
        const char *x = first->inputs[0];
        struct onnxq_node *m = sole_reader(idx, first->outputs[0]);
        const char *o = m ? mul_other(m, first->outputs[0]) : NULL;
        if (!o || strcmp(o, x) != 0 || m->n_outputs != 1)
            return false;
        mt->x = x;
        mt->nodes[0] = first;
        mt->nodes[1] = m;
        mt->n = 2;
        return true;
    }
    if (!is_op(first, "Add") || first->n_inputs != 2 || first->n_attrs)
        return false;
    double k;
    const char *x;
    if (const_scalar(g, idx, first->inputs[1], &k) && k == 3.0)
        x = first->inputs[0];
    else if (const_scalar(g, idx, first->inputs[0], &k) && k == 3.0)
        x = first->inputs[1];
    else
        return false;
    struct onnxq_node *clip = sole_reader(idx, first->outputs[0]);
    if (!clip || !is_clip06(g, idx, clip) || strcmp(clip->inputs[0], first->outputs[0]) != 0 ||
        clip->n_outputs != 1 || !*clip->outputs[0])
        return false;
    struct onnxq_node *m = sole_reader(idx, clip->outputs[0]);
    if (!m || m->n_outputs != 1 || !*m->outputs[0])
        return false;
    mt->x = x;
    mt->nodes[0] = first;
    mt->nodes[1] = clip;
    const char *o = mul_other(m, clip->outputs[0]);
    if (o && strcmp(o, x) == 0) {
        /* x * clip, then / 6 */
        struct onnxq_node *d = sole_reader(idx, m->outputs[0]);
        if (!d || d->n_outputs != 1 || !is_div6(g, idx, d, m->outputs[0]))
            return false;
        mt->nodes[2] = m;
        mt->nodes[3] = d;
        mt->n = 4;
        return true;
    }
    if (is_div6(g, idx, m, clip->outputs[0])) {
        /* x * (clip / 6) */
        struct onnxq_node *f = sole_reader(idx, m->outputs[0]);
        const char *o2 = f ? mul_other(f, m->outputs[0]) : NULL;
        if (!o2 || strcmp(o2, x) != 0 || f->n_outputs != 1)
            return false;
        mt->nodes[2] = m;
        mt->nodes[3] = f;
        mt->n = 4;
        return true;
    }
    return false;
}

static enum onnxq_status try_fuse_hardswish(struct pass_ctx *pc, struct onnxq_graph *g,
                                            const struct onnxq_graph_index *idx, struct onnxq_node *n, bool *done)
{
    struct hs_match mt;
    if (!match_hardswish(g, idx, n, &mt))
        return ONNXQ_OK;
    struct onnxq_node *last = mt.nodes[mt.n - 1];
    const char *in[1] = {mt.x};
    const char *out[1] = {last->outputs[0]};
    struct onnxq_node *hs = onnxq_node_new("HardSwish", last->name, 1, in, 1, out);
    if (!hs)
        return nomem(pc->err);
    if (last->domain && !(hs->domain = onnxq_strdup(last->domain))) {
        onnxq_node_free(hs);
        return nomem(pc->err);
    }
    /* the pattern's constants (3, 0, 6, 1/6) go when nothing else reads them */
    struct name_set drop = {.n = 0};
    for (size_t i = 0; i < mt.n; i++)
        for (size_t k = 0; k < mt.nodes[i]->n_inputs; k++) {
            const char *in_k = mt.nodes[i]->inputs[k];
            bool internal = strcmp(in_k, mt.x) == 0;
            for (size_t j = 0; j < mt.n; j++)
                internal |= strcmp(in_k, mt.nodes[j]->outputs[0]) == 0;
            if (!internal)
                name_set_add(&drop, in_k);
        }
    size_t pos = node_pos(g, last);
    if (!onnxq_graph_insert_node(g, pos + 1, hs)) {
        onnxq_node_free(hs);
        name_set_drop_inits(&drop, g, pc->err);
        return nomem(pc->err);
    }
    for (size_t i = 0; i < mt.n; i++) {
        if (i + 1 < mt.n)
            drop_value_info(g, mt.nodes[i]->outputs[0]);
        onnxq_graph_remove_node(g, node_pos(g, mt.nodes[i]));
    }
    *done = true;
    return name_set_drop_inits(&drop, g, pc->err);
}

static enum onnxq_status fuse_hs_graph(struct onnxq_graph *g, void *user)
{
    return rewrite_to_fixpoint(user, g, try_fuse_hardswish);
}

enum onnxq_status onnxq_pass_fuse_hardswish(struct onnxq_model *m, size_t *changed, struct onnxq_error *err)
{
    enum onnxq_status st = check_model(m, err);
    if (st)
        return st;
    if (onnxq_model_opset(m, "") < 14) {
        if (changed)
            *changed = 0;
        return ONNXQ_OK;
    }
    struct pass_ctx pc;
    if ((st = pass_ctx_init(&pc, m, err)))
        return st;
    st = walk_graphs(m->graph, fuse_hs_graph, &pc, 0, err);
    pass_ctx_free(&pc);
    if (!st && changed)
        *changed = pc.changed;
    return st;
}

/* ======================================================================
 * 5. convtranspose_to_depthtospace
 * ====================================================================== */

/* All of the ints attribute `name` equal v (or the attribute is absent). */
static bool ints_all(const struct onnxq_node *n, const char *name, int64_t v)
{
    size_t cnt;
    const int64_t *a = onnxq_attr_ints(n, name, &cnt);
    if (!a && onnxq_attr_has(n, name))
        return false;
    for (size_t i = 0; i < cnt; i++)
        if (a[i] != v)
            return false;
    return true;
}

static enum onnxq_status try_ct_to_d2s(struct pass_ctx *pc, struct onnxq_graph *g, const struct onnxq_graph_index *idx,
                                       struct onnxq_node *n, bool *done)
{
    if (!is_op(n, "ConvTranspose") || n->n_inputs < 2 || n->n_outputs != 1 || !*n->outputs[0] || !has_input(n, 0))
        return ONNXQ_OK;
    const struct onnxq_constant *W0 = float_init(g, idx, n->inputs[1]);
    if (!W0 || W0->value.ndim != 4)
        return ONNXQ_OK;
    const int64_t *wd = W0->value.dims;
    int64_t s = wd[2];
    if (s < 2 || wd[3] != s)
        return ONNXQ_OK;
    size_t cnt;
    const int64_t *ks = onnxq_attr_ints(n, "kernel_shape", &cnt);
    if (onnxq_attr_has(n, "kernel_shape") && (!ks || cnt != 2 || ks[0] != s || ks[1] != s))
        return ONNXQ_OK;
    const int64_t *st_ = onnxq_attr_ints(n, "strides", &cnt);
    if (!st_ || cnt != 2 || st_[0] != s || st_[1] != s)
        return ONNXQ_OK;
    if (!ints_all(n, "pads", 0) || !ints_all(n, "dilations", 1) || !ints_all(n, "output_padding", 0) ||
        onnxq_attr_has(n, "output_shape"))
        return ONNXQ_OK;
    char apb[32];
    const char *ap = onnxq_attr_string(n, "auto_pad", "NOTSET", apb, sizeof(apb));
    if (strcmp(ap, "NOTSET") && strcmp(ap, "VALID") && strcmp(ap, "SAME_UPPER") && strcmp(ap, "SAME_LOWER"))
        return ONNXQ_OK;
    int64_t group = onnxq_attr_int(n, "group", 1);
    if (group < 1 || wd[0] % group)
        return ONNXQ_OK;
    for (size_t a = 0; a < n->n_attrs; a++) {
        const char *an = n->attrs[a].name ? n->attrs[a].name : "";
        if (strcmp(an, "kernel_shape") && strcmp(an, "strides") && strcmp(an, "pads") && strcmp(an, "dilations") &&
            strcmp(an, "output_padding") && strcmp(an, "auto_pad") && strcmp(an, "group"))
            return ONNXQ_OK; /* unknown attribute: leave the node alone */
    }
    const struct onnxq_constant *B0 = NULL;
    int64_t cin = wd[0], opg = wd[1], cout = opg * group, cin_g = cin / group;
    if (has_input(n, 2)) {
        B0 = float_init(g, idx, n->inputs[2]);
        if (!B0 || B0->value.ndim != 1 || B0->value.dims[0] != cout)
            return ONNXQ_OK;
    }
    /* edit */
    char base[256];
    snprintf(base, sizeof(base), "%s_s2c_weight", node_label(n));
    const char *wname = onnxq_namegen_make(&pc->ng, base);
    int64_t wdims[4] = {cout * s * s, cin_g, 1, 1};
    struct onnxq_constant *W2 = wname ? add_init(g, wname, ONNXQ_DT_FLOAT, 4, wdims) : NULL;
    if (!W2)
        return nomem(pc->err);
    const float *w = W0->value.data;
    float *w2 = W2->value.data;
    for (int64_t c = 0; c < cin; c++) {
        int64_t gi = c / cin_g, cl = c % cin_g;
        for (int64_t j = 0; j < opg; j++) {
            int64_t o = gi * opg + j;
            for (int64_t a = 0; a < s; a++)
                for (int64_t b = 0; b < s; b++)
                    w2[((o * s * s + a * s + b) * cin_g) + cl] = w[((c * opg + j) * s + a) * s + b];
        }
    }
    const char *bname = NULL;
    if (B0) {
        snprintf(base, sizeof(base), "%s_s2c_bias", node_label(n));
        bname = onnxq_namegen_make(&pc->ng, base);
        int64_t bd = cout * s * s;
        struct onnxq_constant *b2 = bname ? add_init(g, bname, ONNXQ_DT_FLOAT, 1, &bd) : NULL;
        if (!b2)
            return nomem(pc->err);
        const float *bv = B0->value.data;
        float *b2v = b2->value.data;
        for (int64_t q = 0; q < bd; q++)
            b2v[q] = bv[q / (s * s)];
    }
    ensure_ir_for_new_inits(pc->m);
    snprintf(base, sizeof(base), "%s_s2c", node_label(n));
    const char *mid = onnxq_namegen_make(&pc->ng, base);
    snprintf(base, sizeof(base), "%s_d2s", node_label(n));
    const char *d2s_name = n->name && *n->name ? onnxq_namegen_make(&pc->ng, base) : NULL;
    if (!mid || (n->name && *n->name && !d2s_name))
        return nomem(pc->err);
    const char *cin_names[3] = {n->inputs[0], wname, bname};
    const char *cout_names[1] = {mid};
    struct onnxq_node *conv = onnxq_node_new("Conv", n->name, B0 ? 3 : 2, cin_names, 1, cout_names);
    const char *din[1] = {mid};
    const char *dout[1] = {n->outputs[0]};
    struct onnxq_node *d2s = onnxq_node_new("DepthToSpace", d2s_name, 1, din, 1, dout);
    int64_t one2[2] = {1, 1};
    bool ok = conv && d2s && onnxq_node_set_ints(conv, "kernel_shape", one2, 2) &&
              (group == 1 || onnxq_node_set_int(conv, "group", group)) && onnxq_node_set_int(d2s, "blocksize", s) &&
              onnxq_node_set_string(d2s, "mode", "CRD");
    if (ok && n->domain)
        ok = (conv->domain = onnxq_strdup(n->domain)) && (d2s->domain = onnxq_strdup(n->domain));
    size_t pos = node_pos(g, n);
    if (!ok || !onnxq_graph_insert_node(g, pos + 1, conv)) {
        onnxq_node_free(conv);
        onnxq_node_free(d2s);
        return nomem(pc->err);
    }
    if (!onnxq_graph_insert_node(g, pos + 2, d2s)) {
        onnxq_graph_remove_node(g, pos + 1);
        onnxq_node_free(d2s);
        return nomem(pc->err);
    }
    struct name_set drop = {.n = 0};
    name_set_add(&drop, n->inputs[1]);
    if (B0)
        name_set_add(&drop, n->inputs[2]);
    onnxq_graph_remove_node(g, pos);
    *done = true;
    return name_set_drop_inits(&drop, g, pc->err);
}

static enum onnxq_status ct_graph(struct onnxq_graph *g, void *user)
{
    return rewrite_to_fixpoint(user, g, try_ct_to_d2s);
}

/* DepthToSpace(CRD, b) -> [one elementwise unary op] -> Conv 1x1 becomes
 * [the unary op] -> Conv 1x1 over the blocks -> DepthToSpace, so that the
 * unary op and the conv run on the small tensor and the large one is never
 * rearranged (PP-OCR det's head: the 24x320x320 DepthToSpace was the
 * costliest single node in onnxruntime, about 5 ms of a 60 ms run). With
 * CRD, output channel c at (h*b + i, w*b + j) is input channel c*b*b + q,
 * q = i*b + j, at (h, w); a 1x1 conv W[O, C] after it therefore equals the
 * 1x1 conv W2[o*b*b + q, c*b*b + q] = W[o, c] (zero across blocks), bias
 * b2[o*b*b + q] = bias[o], before a DepthToSpace of its output. Elementwise
 * ops commute with the rearrangement. The same products and sums, so exact
 * up to summation order (the zero weights add exact zeros). */
static bool commutes_with_d2s(const struct onnxq_node *n)
{
    static const char *const ok[] = {"Relu", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (is_op(n, ok[i]))
            return n->n_inputs == 1 && n->n_outputs == 1;
    return false;
}

static bool conv_is_plain_1x1(const struct onnxq_node *n)
{
    size_t cnt;
    const int64_t *ks = onnxq_attr_ints(n, "kernel_shape", &cnt);
    if (onnxq_attr_has(n, "kernel_shape") && (!ks || cnt != 2 || ks[0] != 1 || ks[1] != 1))
        return false;
    char apb[32];
    const char *ap = onnxq_attr_string(n, "auto_pad", "NOTSET", apb, sizeof(apb));
    if (strcmp(ap, "NOTSET") && strcmp(ap, "VALID"))
        return false;
    if (onnxq_attr_int(n, "group", 1) != 1 || !ints_all(n, "pads", 0) || !ints_all(n, "strides", 1) ||
        !ints_all(n, "dilations", 1))
        return false;
    for (size_t a = 0; a < n->n_attrs; a++) {
        const char *an = n->attrs[a].name ? n->attrs[a].name : "";
        if (strcmp(an, "kernel_shape") && strcmp(an, "strides") && strcmp(an, "pads") && strcmp(an, "dilations") &&
            strcmp(an, "auto_pad") && strcmp(an, "group"))
            return false;
    }
    return true;
}

static enum onnxq_status try_d2s_past_conv(struct pass_ctx *pc, struct onnxq_graph *g,
                                           const struct onnxq_graph_index *idx, struct onnxq_node *d2s, bool *done)
{
    if (!is_op(d2s, "DepthToSpace") || d2s->n_inputs != 1 || d2s->n_outputs != 1 || !*d2s->outputs[0])
        return ONNXQ_OK;
    char mb[8];
    if (strcmp(onnxq_attr_string(d2s, "mode", "DCR", mb, sizeof(mb)), "CRD"))
        return ONNXQ_OK;
    int64_t b = onnxq_attr_int(d2s, "blocksize", 0);
    if (b < 2 || b > 16)
        return ONNXQ_OK;
    struct onnxq_node *u = sole_reader(idx, d2s->outputs[0]), *conv = u;
    if (u && commutes_with_d2s(u))
        conv = *u->outputs[0] ? sole_reader(idx, u->outputs[0]) : NULL;
    else
        u = NULL;
    if (!conv || !is_op(conv, "Conv") || conv->n_inputs < 2 || conv->n_outputs != 1 || !*conv->outputs[0] ||
        strcmp(conv->inputs[0], u ? u->outputs[0] : d2s->outputs[0]) || !conv_is_plain_1x1(conv))
        return ONNXQ_OK;
    const struct onnxq_constant *W0 = float_init(g, idx, conv->inputs[1]);
    if (!W0 || W0->value.ndim != 4 || W0->value.dims[2] != 1 || W0->value.dims[3] != 1)
        return ONNXQ_OK;
    const struct onnxq_constant *B0 = NULL;
    int64_t O = W0->value.dims[0], C = W0->value.dims[1], bb = b * b;
    if (has_input(conv, 2)) {
        B0 = float_init(g, idx, conv->inputs[2]);
        if (!B0 || B0->value.ndim != 1 || B0->value.dims[0] != O)
            return ONNXQ_OK;
    }
    if (O * bb * C * bb > ((int64_t)1 << 26))
        return ONNXQ_OK; /* the block weights would be too large */
    /* edit: new weights, then rewire y -> [u] -> conv' -> d2s -> Z */
    char base[256];
    snprintf(base, sizeof(base), "%s_blocks_weight", node_label(conv));
    const char *wname = onnxq_namegen_make(&pc->ng, base);
    int64_t wdims[4] = {O * bb, C * bb, 1, 1};
    struct onnxq_constant *W2 = wname ? add_init(g, wname, ONNXQ_DT_FLOAT, 4, wdims) : NULL;
    if (!W2)
        return nomem(pc->err);
    const float *w = W0->value.data;
    float *w2 = W2->value.data; /* zeroed */
    for (int64_t o = 0; o < O; o++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t q = 0; q < bb; q++)
                w2[(o * bb + q) * C * bb + c * bb + q] = w[o * C + c];
    const char *bname = NULL;
    if (B0) {
        snprintf(base, sizeof(base), "%s_blocks_bias", node_label(conv));
        bname = onnxq_namegen_make(&pc->ng, base);
        int64_t bd = O * bb;
        struct onnxq_constant *b2 = bname ? add_init(g, bname, ONNXQ_DT_FLOAT, 1, &bd) : NULL;
        if (!b2)
            return nomem(pc->err);
        const float *bv = B0->value.data;
        float *b2v = b2->value.data;
        for (int64_t k = 0; k < bd; k++)
            b2v[k] = bv[k / bb];
    }
    ensure_ir_for_new_inits(pc->m);
    snprintf(base, sizeof(base), "%s_blocks", node_label(conv));
    const char *zname = onnxq_namegen_make(&pc->ng, base);
    const char *uname = NULL;
    if (u) {
        snprintf(base, sizeof(base), "%s_blocks", node_label(u));
        uname = onnxq_namegen_make(&pc->ng, base);
    }
    if (!zname || (u && !uname))
        return nomem(pc->err);
    struct name_set drop = {.n = 0};
    name_set_add(&drop, conv->inputs[1]);
    if (B0)
        name_set_add(&drop, conv->inputs[2]);
    /* the old intermediate values change shape or vanish */
    drop_value_info(g, d2s->outputs[0]);
    if (u)
        drop_value_info(g, u->outputs[0]);
    char *out_name = onnxq_strdup(conv->outputs[0]);
    bool ok = out_name != NULL;
    if (ok && u)
        ok = onnxq_node_set_input(u, 0, d2s->inputs[0]) && replace_string(&u->outputs[0], uname);
    ok = ok && onnxq_node_set_input(conv, 0, u ? uname : d2s->inputs[0]) && onnxq_node_set_input(conv, 1, wname) &&
         (!B0 || onnxq_node_set_input(conv, 2, bname)) && replace_string(&conv->outputs[0], zname) &&
         onnxq_node_set_input(d2s, 0, zname) && replace_string(&d2s->outputs[0], out_name);
    free(out_name);
    if (!ok) {
        for (size_t i = 0; i < drop.n; i++)
            free(drop.v[i]);
        return nomem(pc->err);
    }
    /* the DepthToSpace now follows the conv */
    size_t dpos = node_pos(g, d2s), cpos = node_pos(g, conv);
    struct onnxq_node *moved = onnxq_graph_detach_node(g, dpos);
    if (!onnxq_graph_insert_node(g, cpos, moved)) { /* cpos: the conv moved up by one */
        onnxq_node_free(moved);
        for (size_t i = 0; i < drop.n; i++)
            free(drop.v[i]);
        return nomem(pc->err);
    }
    *done = true;
    return name_set_drop_inits(&drop, g, pc->err);
}

static enum onnxq_status d2s_graph(struct onnxq_graph *g, void *user)
{
    return rewrite_to_fixpoint(user, g, try_d2s_past_conv);
}

enum onnxq_status onnxq_pass_depthtospace_past_conv(struct onnxq_model *m, size_t *changed, struct onnxq_error *err)
{
    enum onnxq_status st = check_model(m, err);
    if (st)
        return st;
    struct pass_ctx pc;
    if ((st = pass_ctx_init(&pc, m, err)))
        return st;
    st = walk_graphs(m->graph, d2s_graph, &pc, 0, err);
    pass_ctx_free(&pc);
    if (!st && changed)
        *changed = pc.changed;
    return st;
}



enum onnxq_status onnxq_pass_convtranspose_to_depthtospace(struct onnxq_model *m, size_t *changed,
                                                           struct onnxq_error *err)
{
    enum onnxq_status st = check_model(m, err);
    if (st)
        return st;
    if (onnxq_model_opset(m, "") < 11) {
        if (changed)
            *changed = 0;
        return ONNXQ_OK;
    }
    struct pass_ctx pc;
    if ((st = pass_ctx_init(&pc, m, err)))
        return st;
    st = walk_graphs(m->graph, ct_graph, &pc, 0, err);
    pass_ctx_free(&pc);
    if (!st && changed)
        *changed = pc.changed;
    return st;
}

/* ======================================================================
 * 6. upgrade_opset
 * ====================================================================== */

/* Every since_version <= ONNXQ_UPGRADE_OPSET_MAX of every default-domain
 * operator, from the ONNX operator changelog (docs/Changelog.md). Sorted by
 * name (strcmp) for bsearch. */
struct op_history {
    const char *name;
    uint8_t v[8]; /* ascending, 0-terminated */
};

static const struct op_history op_histories[] = {
    {"Abs", {1, 6, 13}}, {"Acos", {7}}, {"Acosh", {9}}, {"Add", {1, 6, 7, 13, 14}}, {"AffineGrid", {20}},
    {"And", {1, 7}}, {"ArgMax", {1, 11, 12, 13}}, {"ArgMin", {1, 11, 12, 13}}, {"Asin", {7}}, {"Asinh", {9}},
    {"Atan", {7}}, {"Atanh", {9}}, {"AveragePool", {1, 7, 10, 11, 19}}, {"BatchNormalization", {1, 6, 7, 9, 14, 15}},
    {"Bernoulli", {15}}, {"BitShift", {11}}, {"BitwiseAnd", {18}}, {"BitwiseNot", {18}}, {"BitwiseOr", {18}},
    {"BitwiseXor", {18}}, {"BlackmanWindow", {17}}, {"Cast", {1, 6, 9, 13, 19, 21}}, {"CastLike", {15, 19, 21}},
    {"Ceil", {1, 6, 13}}, {"Celu", {12}}, {"CenterCropPad", {18}}, {"Clip", {1, 6, 11, 12, 13}}, {"Col2Im", {18}},
    {"Compress", {9, 11}}, {"Concat", {1, 4, 11, 13}}, {"ConcatFromSequence", {11}},
    {"Constant", {1, 9, 11, 12, 13, 19, 21}}, {"ConstantOfShape", {9, 20, 21}}, {"Conv", {1, 11}},
    {"ConvInteger", {10}}, {"ConvTranspose", {1, 11}}, {"Cos", {7}}, {"Cosh", {9}}, {"CumSum", {11, 14}},
    {"DFT", {17, 20}}, {"DeformConv", {19}}, {"DepthToSpace", {1, 11, 13}}, {"DequantizeLinear", {10, 13, 19, 21}},
    {"Det", {11}}, {"Div", {1, 6, 7, 13, 14}}, {"Dropout", {1, 6, 7, 10, 12, 13}}, {"DynamicQuantizeLinear", {11}},
    {"Einsum", {12}}, {"Elu", {1, 6}}, {"Equal", {1, 7, 11, 13, 19}}, {"Erf", {9, 13}}, {"Exp", {1, 6, 13}},
    {"Expand", {8, 13}}, {"EyeLike", {9}}, {"Flatten", {1, 9, 11, 13, 21}}, {"Floor", {1, 6, 13}},
    {"GRU", {1, 3, 7, 14}}, {"Gather", {1, 11, 13}}, {"GatherElements", {11, 13}}, {"GatherND", {11, 12, 13}},
    {"Gelu", {20}}, {"Gemm", {1, 6, 7, 9, 11, 13}}, {"GlobalAveragePool", {1}}, {"GlobalLpPool", {1, 2}},
    {"GlobalMaxPool", {1}}, {"Greater", {1, 7, 9, 13}}, {"GreaterOrEqual", {12, 16}}, {"GridSample", {16, 20}},
    {"GroupNormalization", {18, 21}}, {"HammingWindow", {17}}, {"HannWindow", {17}}, {"HardSigmoid", {1, 6}},
    {"HardSwish", {14}}, {"Hardmax", {1, 11, 13}}, {"Identity", {1, 13, 14, 16, 19, 21}},
    {"If", {1, 11, 13, 16, 19, 21}}, {"ImageDecoder", {20}}, {"InstanceNormalization", {1, 6}}, {"IsInf", {10, 20}},
    {"IsNaN", {9, 13, 20}}, {"LRN", {1, 13}}, {"LSTM", {1, 7, 14}}, {"LayerNormalization", {17}},
    {"LeakyRelu", {1, 6, 16}}, {"Less", {1, 7, 9, 13}}, {"LessOrEqual", {12, 16}}, {"Log", {1, 6, 13}},
    {"LogSoftmax", {1, 11, 13}}, {"Loop", {1, 11, 13, 16, 19, 21}}, {"LpNormalization", {1}},
    {"LpPool", {1, 2, 11, 18}}, {"MatMul", {1, 9, 13}}, {"MatMulInteger", {10}}, {"Max", {1, 6, 8, 12, 13}},
    {"MaxPool", {1, 8, 10, 11, 12}}, {"MaxRoiPool", {1}}, {"MaxUnpool", {9, 11}}, {"Mean", {1, 6, 8, 13}},
    {"MeanVarianceNormalization", {9, 13}}, {"MelWeightMatrix", {17}}, {"Min", {1, 6, 8, 12, 13}}, {"Mish", {18}},
    {"Mod", {10, 13}}, {"Mul", {1, 6, 7, 13, 14}}, {"Multinomial", {7}}, {"Neg", {1, 6, 13}},
    {"NegativeLogLikelihoodLoss", {12, 13}}, {"NonMaxSuppression", {10, 11}}, {"NonZero", {9, 13}}, {"Not", {1}},
    {"OneHot", {9, 11}}, {"Optional", {15}}, {"OptionalGetElement", {15, 18}}, {"OptionalHasElement", {15, 18}},
    {"Or", {1, 7}}, {"PRelu", {1, 6, 7, 9, 16}}, {"Pad", {1, 2, 11, 13, 18, 19, 21}}, {"Pow", {1, 7, 12, 13, 15}},
    {"QLinearConv", {10}}, {"QLinearMatMul", {10, 21}}, {"QuantizeLinear", {10, 13, 19, 21}}, {"RNN", {1, 7, 14}},
    {"RandomNormal", {1}}, {"RandomNormalLike", {1}}, {"RandomUniform", {1}}, {"RandomUniformLike", {1}},
    {"Range", {11}}, {"Reciprocal", {1, 6, 13}}, {"ReduceL1", {1, 11, 13, 18}}, {"ReduceL2", {1, 11, 13, 18}},
    {"ReduceLogSum", {1, 11, 13, 18}}, {"ReduceLogSumExp", {1, 11, 13, 18}}, {"ReduceMax", {1, 11, 12, 13, 18, 20}},
    {"ReduceMean", {1, 11, 13, 18}}, {"ReduceMin", {1, 11, 12, 13, 18, 20}}, {"ReduceProd", {1, 11, 13, 18}},
    {"ReduceSum", {1, 11, 13}}, {"ReduceSumSquare", {1, 11, 13, 18}}, {"RegexFullMatch", {20}},
    {"Relu", {1, 6, 13, 14}}, {"Reshape", {1, 5, 13, 14, 19, 21}}, {"Resize", {10, 11, 13, 18, 19}},
    {"ReverseSequence", {10}}, {"RoiAlign", {10, 16}}, {"Round", {11}}, {"STFT", {17}},
    {"Scan", {8, 9, 11, 16, 19, 21}}, {"Scatter", {9, 11}}, {"ScatterElements", {11, 13, 16, 18}},
    {"ScatterND", {11, 13, 16, 18}}, {"Selu", {1, 6}}, {"SequenceAt", {11}}, {"SequenceConstruct", {11}},
    {"SequenceEmpty", {11}}, {"SequenceErase", {11}}, {"SequenceInsert", {11}}, {"SequenceLength", {11}},
    {"SequenceMap", {17}}, {"Shape", {1, 13, 15, 19, 21}}, {"Shrink", {9}}, {"Sigmoid", {1, 6, 13}},
    {"Sign", {9, 13}}, {"Sin", {7}}, {"Sinh", {9}}, {"Size", {1, 13, 19, 21}}, {"Slice", {1, 10, 11, 13}},
    {"Softmax", {1, 11, 13}}, {"SoftmaxCrossEntropyLoss", {12, 13}}, {"Softplus", {1}}, {"Softsign", {1}},
    {"SpaceToDepth", {1, 13}}, {"Split", {1, 2, 11, 13, 18}}, {"SplitToSequence", {11}}, {"Sqrt", {1, 6, 13}},
    {"Squeeze", {1, 11, 13, 21}}, {"StringConcat", {20}}, {"StringNormalizer", {10}}, {"StringSplit", {20}},
    {"Sub", {1, 6, 7, 13, 14}}, {"Sum", {1, 6, 8, 13}}, {"Tan", {7}}, {"Tanh", {1, 6, 13}}, {"TfIdfVectorizer", {9}},
    {"ThresholdedRelu", {10}}, {"Tile", {1, 6, 13}}, {"TopK", {1, 10, 11}}, {"Transpose", {1, 13, 21}},
    {"Trilu", {14}}, {"Unique", {11}}, {"Unsqueeze", {1, 11, 13, 21}}, {"Upsample", {1, 7, 9, 10}},
    {"Where", {9, 16}}, {"Xor", {1, 7}},
};

static int history_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const struct op_history *)elem)->name);
}

static const struct op_history *op_history(const char *op)
{
    return bsearch(op, op_histories, sizeof(op_histories) / sizeof(op_histories[0]), sizeof(op_histories[0]),
                   history_cmp);
}

/* ---- static facts about values: dtype, rank, dims (for converters) ---- */

struct vfact {
    int32_t dtype;                 /* 0: unknown */
    int rank;                      /* -1: unknown */
    int64_t dims[ONNXQ_MAX_DIMS];  /* -1: unknown */
};

struct facts {
    struct onnxq_strmap map; /* owned key -> index + 1 */
    char **keys;
    struct vfact *v;
    size_t n, cap;
    const struct facts *parent;
};

static const struct vfact *fact_get(const struct facts *f, const char *name)
{
    for (; f; f = f->parent) {
        void *p = onnxq_strmap_get(&f->map, name);
        if (p)
            return &f->v[(size_t)(uintptr_t)p - 1];
    }
    return NULL;
}

static bool fact_put(struct facts *f, const char *name, const struct vfact *vf)
{
    if (!name || !*name)
        return true;
    void *p = onnxq_strmap_get(&f->map, name);
    if (p) {
        f->v[(size_t)(uintptr_t)p - 1] = *vf;
        return true;
    }
    if (f->n == f->cap) {
        size_t nc = f->cap ? f->cap * 2 : 64;
        struct vfact *nv = realloc(f->v, nc * sizeof(*nv));
        if (!nv)
            return false;
        f->v = nv;
        char **nk = realloc(f->keys, nc * sizeof(*nk));
        if (!nk)
            return false;
        f->keys = nk;
        f->cap = nc;
    }
    char *k = onnxq_strdup(name);
    if (!k)
        return false;
    f->keys[f->n] = k;
    f->v[f->n] = *vf;
    if (!onnxq_strmap_put(&f->map, k, (void *)(uintptr_t)(f->n + 1))) {
        free(k);
        return false;
    }
    f->n++;
    return true;
}

static void facts_free(struct facts *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->keys[i]);
    free(f->keys);
    free(f->v);
    onnxq_strmap_free(&f->map);
    memset(f, 0, sizeof(*f));
}

static void fact_unknown(struct vfact *vf)
{
    vf->dtype = 0;
    vf->rank = -1;
    for (int i = 0; i < ONNXQ_MAX_DIMS; i++)
        vf->dims[i] = -1;
}

static void fact_of_type(struct vfact *vf, const struct onnxq_type *t)
{
    fact_unknown(vf);
    if (t->kind != ONNXQ_TYPE_TENSOR)
        return;
    if (t->has_elem_type)
        vf->dtype = t->elem_type;
    if (t->has_shape && t->ndim <= ONNXQ_MAX_DIMS) {
        vf->rank = t->ndim;
        for (int i = 0; i < t->ndim; i++)
            vf->dims[i] = t->dims[i].kind == ONNXQ_DIM_VALUE ? t->dims[i].value : -1;
    }
}

static void fact_of_tensor(struct vfact *vf, const struct onnxq_tensor *t)
{
    fact_unknown(vf);
    vf->dtype = t->dtype;
    vf->rank = t->ndim;
    for (int i = 0; i < t->ndim; i++)
        vf->dims[i] = t->dims[i];
}

/* Number of ints a constant or ints attribute holds (axes, shape), or -1. */
static int64_t list_len(const struct onnxq_graph *g, const struct onnxq_graph_index *idx, const struct onnxq_node *n,
                        size_t slot, const char *attr)
{
    size_t cnt;
    if (onnxq_attr_ints(n, attr, &cnt))
        return (int64_t)cnt;
    const struct onnxq_tensor *t = const_value(g, idx, input_at(n, slot));
    return t ? onnxq_tensor_numel(t) : -1;
}

/* Length of a 1-D value from its facts (dims[0]), or -1. */
static int64_t vec_len(const struct facts *f, const char *name)
{
    const struct vfact *vf = fact_get(f, name);
    return vf && vf->rank == 1 ? vf->dims[0] : -1;
}

static int rank_of(const struct facts *f, const char *name)
{
    const struct vfact *vf = name && *name ? fact_get(f, name) : NULL;
    return vf ? vf->rank : -1;
}

static int32_t dtype_of(const struct facts *f, const char *name)
{
    const struct vfact *vf = name && *name ? fact_get(f, name) : NULL;
    return vf ? vf->dtype : 0;
}

static bool op_in(const struct onnxq_node *n, const char *const *list)
{
    for (; *list; list++)
        if (is_op(n, *list))
            return true;
    return false;
}

/* Ops whose output 0 has the dtype and shape of input 0. */
static const char *const same_as_input[] = {
    "Identity", "Relu", "LeakyRelu", "Elu", "Selu", "Celu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Erf",
    "Softplus", "Softsign", "Exp", "Log", "Sqrt", "Neg", "Abs", "Reciprocal", "Floor", "Ceil", "Round", "Sign",
    "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "Clip", "Softmax",
    "LogSoftmax", "Hardmax", "BatchNormalization", "InstanceNormalization", "LRN", "Dropout", "LpNormalization",
    "MeanVarianceNormalization", "Shrink", "ThresholdedRelu", "Mish", "Gelu", "CumSum", "LayerNormalization",
    "GroupNormalization", "PRelu", "Not", "Bernoulli", NULL};
/* Ops whose output 0 has the dtype and rank of input 0. */
static const char *const same_rank[] = {
    "Conv", "ConvTranspose", "ConvInteger", "MaxPool", "AveragePool", "LpPool", "Resize", "Upsample", "Slice",
    "Pad", "Tile", "DepthToSpace", "SpaceToDepth", "ReverseSequence", "GridSample", "Concat", "Transpose",
    "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool", "MaxRoiPool", "Split", "TopK", "Compress", "Trilu",
    "ScatterElements", "ScatterND", "Scatter", "Col2Im", "CenterCropPad", "DeformConv", NULL};
/* Broadcasting ops (rank = max of the inputs'). */
static const char *const bcast_ops[] = {"Add", "Sub", "Mul", "Div", "Pow", "Mod", "Min", "Max", "Sum", "Mean",
                                        "BitShift", "BitwiseAnd", "BitwiseOr", "BitwiseXor", "And", "Or", "Xor",
                                        "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Where", NULL};
static const char *const bool_ops[] = {"And", "Or", "Xor", "Not", "Equal", "Less", "Greater", "LessOrEqual",
                                       "GreaterOrEqual", "IsNaN", "IsInf", NULL};

/* Facts of node n's outputs from its inputs' facts (unknown when no rule). */
static bool infer_node(struct facts *f, const struct onnxq_graph *g, const struct onnxq_graph_index *idx,
                       const struct onnxq_node *n)
{
    struct vfact o;
    fact_unknown(&o);
    const struct vfact *x = n->n_inputs && *n->inputs[0] ? fact_get(f, n->inputs[0]) : NULL;
    struct vfact xin;
    if (x)
        xin = *x;
    else
        fact_unknown(&xin);
    bool all_outputs = false; /* every output gets o */
    if (!default_domain(n->domain)) {
        /* unknown */
    } else if (is_op(n, "Constant")) {
        const struct onnxq_attr *a = n->n_attrs == 1 ? &n->attrs[0] : NULL;
        const char *an = a && a->name ? a->name : "";
        if (a && a->t && strcmp(an, "value") == 0) {
            fact_of_tensor(&o, &a->t->value);
        } else if (strcmp(an, "value_float") == 0) {
            o.dtype = ONNXQ_DT_FLOAT;
            o.rank = 0;
        } else if (strcmp(an, "value_int") == 0) {
            o.dtype = ONNXQ_DT_INT64;
            o.rank = 0;
        } else if (strcmp(an, "value_floats") == 0) {
            o.dtype = ONNXQ_DT_FLOAT;
            o.rank = 1;
            o.dims[0] = (int64_t)a->n_floats;
        } else if (strcmp(an, "value_ints") == 0) {
            o.dtype = ONNXQ_DT_INT64;
            o.rank = 1;
            o.dims[0] = (int64_t)a->n_ints;
        }
    } else if (op_in(n, same_as_input)) {
        o = xin;
        if (op_in(n, bool_ops))
            o.dtype = ONNXQ_DT_BOOL;
    } else if (op_in(n, same_rank)) {
        o.dtype = xin.dtype;
        o.rank = xin.rank;
        all_outputs = is_op(n, "Split");
        if (is_op(n, "GlobalAveragePool") || is_op(n, "GlobalMaxPool") || is_op(n, "GlobalLpPool")) {
            o = xin;
            for (int i = 2; i < o.rank; i++)
                o.dims[i] = 1;
        } else if (is_op(n, "Transpose") && xin.rank >= 0) {
            size_t cnt;
            const int64_t *perm = onnxq_attr_ints(n, "perm", &cnt);
            if (perm && (int)cnt == xin.rank)
                for (int i = 0; i < xin.rank; i++)
                    o.dims[i] = perm[i] >= 0 && perm[i] < xin.rank ? xin.dims[perm[i]] : -1;
            else if (!perm)
                for (int i = 0; i < xin.rank; i++)
                    o.dims[i] = xin.dims[xin.rank - 1 - i];
        } else if (is_op(n, "Concat") && xin.rank >= 0) {
            int64_t axis = onnxq_attr_int(n, "axis", 1);
            if (axis < 0)
                axis += xin.rank;
            for (int i = 0; i < xin.rank; i++) {
                int64_t d = 0;
                for (size_t k = 0; k < n->n_inputs && d >= 0; k++) {
                    const struct vfact *y = fact_get(f, n->inputs[k]);
                    if (!y || y->rank != xin.rank || y->dims[i] < 0)
                        d = -1;
                    else if (i == axis)
                        d += y->dims[i];
                    else
                        d = y->dims[i];
                }
                o.dims[i] = d;
            }
        } else if (is_op(n, "TopK") && n->n_outputs > 1) {
            struct vfact o2 = o;
            o2.dtype = ONNXQ_DT_INT64;
            if (!fact_put(f, n->outputs[1], &o2))
                return false;
        }
    } else if (op_in(n, bcast_ops)) {
        int r = 0;
        size_t first = is_op(n, "Where") ? 1 : 0;
        for (size_t k = 0; k < n->n_inputs && r >= 0; k++) {
            int rk = rank_of(f, n->inputs[k]);
            r = rk < 0 ? -1 : (rk > r ? rk : r);
        }
        o.dtype = dtype_of(f, input_at(n, first));
        o.rank = r;
        if (op_in(n, bool_ops))
            o.dtype = ONNXQ_DT_BOOL;
        for (int i = 0; r > 0 && i < r; i++) {
            int64_t d = 1;
            for (size_t k = 0; k < n->n_inputs && d >= 0; k++) {
                const struct vfact *y = fact_get(f, n->inputs[k]);
                int j = i - (r - y->rank);
                if (j < 0)
                    continue;
                int64_t dk = y->dims[j];
                if (dk < 0)
                    d = -1;
                else if (dk != 1)
                    d = dk;
            }
            o.dims[i] = d;
        }
    } else if (is_op(n, "Cast")) {
        o = xin;
        const struct onnxq_attr *a = onnxq_node_attr(n, "to");
        o.dtype = a && a->type == ONNXQ_ATTR_INT ? (int32_t)a->i : 0;
    } else if (is_op(n, "CastLike")) {
        o = xin;
        o.dtype = dtype_of(f, input_at(n, 1));
    } else if (is_op(n, "Shape")) {
        o.dtype = ONNXQ_DT_INT64;
        o.rank = 1;
        if (xin.rank >= 0) {
            int64_t s = onnxq_attr_int(n, "start", 0), e = onnxq_attr_int(n, "end", xin.rank);
            if (s < 0)
                s += xin.rank;
            if (e < 0)
                e += xin.rank;
            s = s < 0 ? 0 : (s > xin.rank ? xin.rank : s);
            e = e < 0 ? 0 : (e > xin.rank ? xin.rank : e);
            o.dims[0] = e > s ? e - s : 0;
        }
    } else if (is_op(n, "Size")) {
        o.dtype = ONNXQ_DT_INT64;
        o.rank = 0;
    } else if (is_op(n, "Reshape")) {
        o.dtype = xin.dtype;
        int64_t len = n->n_inputs > 1 ? vec_len(f, n->inputs[1]) : list_len(g, idx, n, 99, "shape");
        if (len >= 0 && len <= ONNXQ_MAX_DIMS)
            o.rank = (int)len;
    } else if (is_op(n, "Expand")) {
        o.dtype = xin.dtype;
        int64_t len = vec_len(f, input_at(n, 1));
        if (len >= 0 && xin.rank >= 0)
            o.rank = (int)(len > xin.rank ? len : xin.rank);
    } else if (is_op(n, "Flatten")) {
        o.dtype = xin.dtype;
        o.rank = 2;
    } else if (is_op(n, "Gemm")) {
        o.dtype = xin.dtype;
        o.rank = 2;
    } else if (is_op(n, "MatMul") || is_op(n, "MatMulInteger")) {
        int ra = xin.rank, rb = rank_of(f, input_at(n, 1));
        o.dtype = is_op(n, "MatMul") ? xin.dtype : ONNXQ_DT_INT32;
        if (ra >= 1 && rb >= 1)
            o.rank = ra == 1 && rb == 1 ? 0 : ra == 1 ? rb - 1 : rb == 1 ? ra - 1 : (ra > rb ? ra : rb);
    } else if (is_op(n, "Squeeze") || is_op(n, "Unsqueeze")) {
        o.dtype = xin.dtype;
        int64_t k = list_len(g, idx, n, 1, "axes");
        if (k >= 0 && xin.rank >= 0)
            o.rank = is_op(n, "Squeeze") ? xin.rank - (int)k : xin.rank + (int)k;
        if (o.rank > ONNXQ_MAX_DIMS || o.rank < -1)
            o.rank = -1;
    } else if (is_op(n, "Gather")) {
        int ri = rank_of(f, input_at(n, 1));
        o.dtype = xin.dtype;
        if (xin.rank >= 1 && ri >= 0)
            o.rank = xin.rank - 1 + ri;
    } else if (is_op(n, "GatherElements")) {
        o.dtype = xin.dtype;
        o.rank = rank_of(f, input_at(n, 1));
    } else if (strncmp(n->op_type, "Reduce", 6) == 0 || is_op(n, "ArgMax") || is_op(n, "ArgMin")) {
        bool arg = is_op(n, "ArgMax") || is_op(n, "ArgMin");
        o.dtype = arg ? ONNXQ_DT_INT64 : xin.dtype;
        if (onnxq_attr_int(n, "keepdims", 1))
            o.rank = xin.rank;
        else if (arg)
            o.rank = xin.rank >= 1 ? xin.rank - 1 : -1;
        else {
            int64_t k = list_len(g, idx, n, 1, "axes");
            if (k > 0 && xin.rank >= 0)
                o.rank = xin.rank - (int)k;
        }
    } else if (is_op(n, "NonZero")) {
        o.dtype = ONNXQ_DT_INT64;
        o.rank = 2;
    } else if (is_op(n, "ConstantOfShape")) {
        const struct onnxq_attr *a = onnxq_node_attr(n, "value");
        o.dtype = a && a->t ? (int32_t)a->t->value.dtype : ONNXQ_DT_FLOAT;
        int64_t len = vec_len(f, input_at(n, 0));
        if (len >= 0 && len <= ONNXQ_MAX_DIMS)
            o.rank = (int)len;
    } else if (is_op(n, "Range")) {
        o.dtype = xin.dtype;
        o.rank = 1;
    } else if (is_op(n, "QuantizeLinear")) {
        o.rank = xin.rank;
        o.dtype = has_input(n, 2) ? dtype_of(f, n->inputs[2]) : ONNXQ_DT_UINT8;
    } else if (is_op(n, "DequantizeLinear")) {
        o.rank = xin.rank;
        o.dtype = dtype_of(f, input_at(n, 1));
    } else if (is_op(n, "LSTM") || is_op(n, "GRU") || is_op(n, "RNN")) {
        for (size_t k = 0; k < n->n_outputs; k++) {
            struct vfact r;
            fact_unknown(&r);
            r.dtype = xin.dtype;
            r.rank = k == 0 ? 4 : 3;
            if (!fact_put(f, n->outputs[k], &r))
                return false;
        }
        return true;
    }
    if (n->n_outputs && !fact_put(f, n->outputs[0], &o))
        return false;
    for (size_t k = 1; all_outputs && k < n->n_outputs; k++)
        if (!fact_put(f, n->outputs[k], &o))
            return false;
    return true;
}

/* Facts of every value of g (declared types first, then inference in
 * topological order, declared types winning). */
static enum onnxq_status facts_build(struct facts *f, const struct onnxq_graph *g, const struct facts *parent,
                                     struct onnxq_error *err)
{
    memset(f, 0, sizeof(*f));
    f->parent = parent;
    struct vfact vf;
    bool ok = true;
    for (size_t i = 0; i < g->n_inits && ok; i++) {
        fact_of_tensor(&vf, &g->inits[i]->value);
        ok = fact_put(f, g->inits[i]->name, &vf);
    }
    for (size_t i = 0; i < g->n_inputs && ok; i++) {
        if (onnxq_graph_find_init(g, g->inputs[i].name))
            continue;
        fact_of_type(&vf, &g->inputs[i].type);
        ok = fact_put(f, g->inputs[i].name, &vf);
    }
    if (!ok)
        return nomem(err);
    size_t *order = malloc((g->n_nodes ? g->n_nodes : 1) * sizeof(*order));
    if (!order)
        return nomem(err);
    enum onnxq_status st = g->n_nodes ? onnxq_graph_toposort(g, order, err) : ONNXQ_OK;
    struct onnxq_graph_index idx;
    if (!st)
        st = onnxq_graph_index_build(g, &idx, err);
    if (st) {
        free(order);
        return st;
    }
    for (size_t i = 0; i < g->n_nodes && ok; i++)
        ok = infer_node(f, g, &idx, g->nodes[order[i]]);
    onnxq_graph_index_free(&idx);
    free(order);
    /* declared value_info / outputs refine what inference found */
    for (int pass = 0; pass < 2 && ok; pass++) {
        size_t cnt = pass ? g->n_outputs : g->n_value_info;
        const struct onnxq_value_info *vis = pass ? g->outputs : g->value_info;
        for (size_t i = 0; i < cnt && ok; i++) {
            struct vfact d;
            fact_of_type(&d, &vis[i].type);
            const struct vfact *cur = onnxq_strmap_has(&f->map, vis[i].name) ? fact_get(f, vis[i].name) : NULL;
            if (cur) {
                if (!d.dtype)
                    d.dtype = cur->dtype;
                if (d.rank < 0) {
                    memcpy(d.dims, cur->dims, sizeof(d.dims));
                    d.rank = cur->rank;
                }
            }
            ok = fact_put(f, vis[i].name, &d);
        }
    }
    return ok ? ONNXQ_OK : nomem(err);
}

/* ---- converters ---- */

struct up_ctx {
    struct pass_ctx pc;
    int64_t from, target;
    const struct facts *facts; /* of the graph being converted */
    struct onnxq_graph *g;
    struct onnxq_graph_index idx; /* of g before its conversion started */
};

/* A fresh name "<node label>_<what>". */
static const char *fresh_name(struct up_ctx *uc, const struct onnxq_node *n, const char *what)
{
    char base[256];
    snprintf(base, sizeof(base), "%s_%s", node_label(n), what);
    return onnxq_namegen_make(&uc->pc.ng, base);
}

/* New int64 initializer (1-D of n, or a scalar when scalar) named after n. */
static const char *int64_init(struct up_ctx *uc, const struct onnxq_node *n, const char *what, const int64_t *v,
                              size_t cnt)
{
    const char *nm = fresh_name(uc, n, what);
    int64_t d = (int64_t)cnt;
    struct onnxq_constant *c = nm ? add_init(uc->g, nm, ONNXQ_DT_INT64, 1, &d) : NULL;
    if (!c)
        return NULL;
    if (cnt)
        memcpy(c->value.data, v, cnt * sizeof(int64_t));
    ensure_ir_for_new_inits(uc->pc.m);
    return nm;
}

/* New initializer of dtype dt holding values v (1-D of cnt, or a scalar
 * when ndim is 0). */
static const char *typed_init(struct up_ctx *uc, const struct onnxq_node *n, const char *what, int32_t dt,
                              const double *v, size_t cnt, int ndim)
{
    if (!numeric_float(dt) && !onnxq_dtype_table[dt].is_integer)
        return NULL;
    const char *nm = fresh_name(uc, n, what);
    int64_t d = (int64_t)cnt;
    struct onnxq_constant *c = nm ? add_init(uc->g, nm, (enum onnxq_dtype)dt, ndim, &d) : NULL;
    if (!c)
        return NULL;
    for (size_t i = 0; i < cnt; i++)
        onnxq_tensor_set_f64(&c->value, i, v[i]);
    ensure_ir_for_new_inits(uc->pc.m);
    return nm;
}

/* Insert a new default-domain node at *pos (n moves one place down). */
static struct onnxq_node *insert_before(struct up_ctx *uc, size_t *pos, const char *op, const char *name,
                                        size_t ni, const char *const *in, size_t no, const char *const *out)
{
    struct onnxq_node *nn = onnxq_node_new(op, name, ni, in, no, out);
    if (!nn)
        return NULL;
    if (!onnxq_graph_insert_node(uc->g, *pos, nn)) {
        onnxq_node_free(nn);
        return NULL;
    }
    (*pos)++;
    return nn;
}

static enum onnxq_status unsupported(struct up_ctx *uc, const struct onnxq_node *n, const char *why)
{
    return onnxq_op_fail(uc->pc.err, n, ONNXQ_E_UNSUPPORTED,
                         "cannot convert %s from opset %lld to %lld: %s", n->op_type, (long long)uc->from,
                         (long long)uc->target, why);
}

typedef enum onnxq_status (*conv_fn)(struct up_ctx *uc, size_t *pos, struct onnxq_node *n, bool *did);

static enum onnxq_status cv_drop_consumed(struct up_ctx *uc, size_t *pos, struct onnxq_node *n, bool *did)
{
    (void)uc;
    (void)pos;
    *did |= remove_attr(n, "consumed_inputs");
    return ONNXQ_OK;
}

static enum onnxq_status cv_selu6(struct up_ctx *uc, size_t *pos, struct onnxq_node *n, bool *did)
{
    cv_drop_consumed(uc, pos, n, did);
    /* Selu-1's defaults differ from Selu-6's: make them explicit */
    if (!onnxq_attr_has(n, "alpha")) {
        if (!onnxq_node_set_float(n, "alpha", 1.6732f))
            return nomem(uc->pc.err);
        *did = true;
    }
    if (!onnxq_attr_has(n, "gamma")) {
        if (!onnxq_node_set_float(n, "gamma", 1.0507f))
            return nomem(uc->pc.err);
        *did = true;
    }
    return ONNXQ_OK;
}

/* Legacy broadcast (opset < 7): B broadcast onto A from `axis`. */
static enum onnxq_status cv_broadcast7(struct up_ctx *uc, size_t *pos, struct onnxq_node *n, bool *did)
{
    bool bc = onnxq_attr_int(n, "broadcast", 0) != 0;
    bool has_axis = onnxq_attr_has(n, "axis");
    if (bc && has_axis && n->n_inputs == 2) {
        int ra = rank_of(uc->facts, n->inputs[0]), rb = rank_of(uc->facts, n->inputs[1]);
        if (ra < 0 || rb < 0)
            return unsupported(uc, n, "legacy broadcast with an axis needs the ranks of both inputs");
        int64_t axis = onnxq_attr_int(n, "axis", 0);
        if (axis < 0)
            axis += ra;
        int64_t trailing = ra - axis - rb;
        if (axis < 0 || trailing < 0)
            return unsupported(uc, n, "legacy broadcast axis out of range");
        if (trailing > 0) {
            int64_t axes[ONNXQ_MAX_DIMS];
            for (int64_t i = 0; i < trailing && i < ONNXQ_MAX_DIMS; i++)
                axes[i] = rb + i;
            const char *an = int64_init(uc, n, "bcast_axes", axes, (size_t)trailing);
            const char *un = fresh_name(uc, n, "bcast");
            if (!an || !un)
                return nomem(uc->pc.err);
            const char *in[2] = {n->inputs[1], an}, *out[1] = {un};
            if (!insert_before(uc, pos, "Unsqueeze", fresh_name(uc, n, "unsqueeze"), 2, in, 1, out) ||
                !onnxq_node_set_input(n, 1, un))
                return nomem(uc->pc.err);
        }
    }
    *did |= remove_attr(n, "broadcast");
    *did |= remove_attr(n, "axis");
    return ONNXQ_OK;
}

/* PRelu before 7 applies a 1-D slope of C values along the channel axis
 * (axis 1); from 7 the slope broadcasts numpy-style from the right, so it
 * becomes [C, 1, ..., 1]. */
static enum onnxq_status cv_prelu7(struct up_ctx *uc, size_t *pos, struct onnxq_node *n, bool *did)
{
    if (n->n_inputs != 2)
        return ONNXQ_OK;
    int rs = rank_of(uc->facts, n->inputs[1]);
    const struct vfact *sf = fact_get(uc->facts, n->inputs[1]);
    if (rs == 1 && sf && sf->dims[0] == 1)
        return ONNXQ_OK; /* one shared slope */
    if (rs != 1)
        return rs > 1 ? ONNXQ_OK : unsupported(uc, n, "a legacy PRelu slope of unknown rank");
    int rx = rank_of(uc->facts, n->inputs[0]);
    if (rx < 0)
        return unsupported(uc, n, "a legacy per-channel PRelu slope needs the input's rank");
    if (rx <= 2)
        return ONNXQ_OK; /* [N, C]: channels are the last axis either way */
    int64_t axes[ONNXQ_MAX_DIMS];
    for (int i = 0; i < rx - 2; i++)
        axes[i] = 1 + i;
    const char *an = int64_init(uc, n, "slope_axes", axes, (size_t)(rx - 2));
    const char *un = fresh_name(uc, n, "slope");
    if (!an || !un)
        return nomem(uc->pc.err);
    const char *in[2] = {n->inputs[1], an}, *out[1] = {un};
    if (!insert_before(uc, pos, "Unsqueeze", fresh_name(uc, n, "unsqueeze"), 2, in, 1, out) ||
        !onnxq_node_set_input(n, 1, un))
        return nomem(uc->pc.err);
    *did = true;
    return ONNXQ_OK;
}

static enum onnxq_status cv_gemm7(struct up_ctx *uc, size_t *pos, struct onnxq_node *n, bool *did)
{
    (void)uc;
    (void)pos;
    *did |= remove_attr(n, "broadcast");
    return ONNXQ_OK;
}

static enum onnxq_status cv_cast6(struct up_ctx *uc, size_t *pos, struct onnxq_node *n, bool *did)
{
    (void)pos;
    struct onnxq_attr *a = find_attr(n, "to");
    if (!a || !(a->type == ONNXQ_ATTR_STRING || (a->has_s && a->type != ONNXQ_ATTR_INT)))
        return ONNXQ_OK;
    static const char *const names[] = {"UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16", "INT32", "INT64",
                                        "STRING", "BOOL", "FLOAT16", "DOUBLE", "UINT32", "UINT64", "COMPLEX64",
                                        "COMPLEX128", "BFLOAT16"};
    char s[32];
    size_t len = a->s.len < sizeof(s) - 1 ? a->s.len : sizeof(s) - 1;
    if (len)
        memcpy(s, a->s.data, len);
    s[len] = '\0';
    int64_t to = -1;
    for (size_t i = 1; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcasecmp(s, names[i]) == 0)
            to = (int64_t)i;
    if (to < 0)
        return unsupported(uc, n, "unknown `to` type name");
    remove_attr(n, "to");
    if (!onnxq_node_set_int(n, "to", to))
        return nomem(uc->pc.err);
    *did = true;
    return ONNXQ_OK;
}

static enum onnxq_status cv_concat4(struct up_ctx *uc, size_t *pos, struct onnxq_node *n, bool *did)
{
    (void)pos;
    if (!onnxq_attr_has(n, "axis")) {
        if (!onnxq_node_set_int(n, "axis", 1))
            return nomem(uc->pc.err);
        *did = true;
    }
    return ONNXQ_OK;
}

/* An ints attribute `attr` becomes input `slot` (an int64 initializer);
 * `required` attributes that are absent are an error. */
static enum onnxq_status ints_attr_to_input(struct up_ctx *uc, struct onnxq_node *n, const char *attr, size_t slot,
                                            bool *did)
{
    size_t cnt;
    const int64_t *v = onnxq_attr_ints(n, attr, &cnt);
    if (!v && !onnxq_attr_has(n, attr))
        return ONNXQ_OK;
    if (!v && cnt == 0 && find_attr(n, attr)->type != ONNXQ_ATTR_INTS)
        return unsupported(uc, n, "attribute is not a list of ints");
    const char *nm = int64_init(uc, n, attr, v, cnt);
    if (!nm || !set_input(n, slot, nm))
        return nomem(uc->pc.err);
    remove_attr(n, attr);
    *did = true;
    return ONNXQ_OK;
}

static enum onnxq_status cv_reshape5(struct up_ctx *uc, size_t *pos, struct onnxq_node *n, bool *did)
{
    cv_drop_consumed(uc, pos, n, did);
    if (n->n_inputs >= 2 && has_input(n, 1)) {
        *did |= remove_attr(n, "shape");
        return ONNXQ_OK;
    }
    if (!onnxq_attr_has(n, "shape"))
        return unsupported(uc, n, "Reshape-1 without a shape");
    return ints_attr_to_input(uc, n, "shape", 1, did);
}

static bool output_used(struct up_ctx *uc, const struct onnxq_node *n, size_t k)
{
    return k < n->n_outputs && *n->outputs[k] && use_count(onnxq_graph_index_get(&uc->idx, n->outputs[k])) > 0;
}

/* Drop outputs k.. of n (all unused). */
static void drop_outputs_from(struct up_ctx *uc, struct onnxq_node *n, size_t k)
{
    while (n->n_outputs > k) {
        n->n_outputs--;
        if (*n->outputs[n->n_outputs])
            drop_value_info(uc->g, n->outputs[n->n_outputs]);
        free(n->outputs[n->n_outputs]);
    }
}

static enum onnxq_status cv_bn(struct up_ctx *uc, size_t *pos, struct onnxq_node *n, bool *did, int v)
{
    (void)pos;
    if (v == 6)
        *did |= remove_attr(n, "consumed_inputs");
    if (v == 7)
        *did |= remove_attr(n, "is_test");
    if (v == 9) {
        if (onnxq_attr_int(n, "spatial", 1) != 1)
            return unsupported(uc, n, "spatial=0 (per-activation statistics) has no opset-9 form");
        *did |= remove_attr(n, "spatial");
    }
    if (v == 14 && n->n_outputs > 1) {
        for (size_t k = 1; k < n->n_outputs; k++)
            if (output_used(uc, n, k))
                return unsupported(uc, n, "its training outputs (mean, var, saved_*) are used");
        drop_outputs_from(uc, n, 1);
        *did = true;
    }
    return ONNXQ_OK;
}

static enum onnxq_status cv_bn6(struct up_ctx *uc, size_t *pos, struct onnxq_node *n, bool *did)
{
    return cv_bn(uc, pos, n, did, 6);
}
static enum onnxq_status cv_bn7(struct up_ctx *uc, size_t *pos, struct onnxq_node *n, bool *did)
{
    return cv_bn(uc, pos, n, did, 7);
}
static enum onnxq_status cv_bn9(struct up_ctx *uc, size_t *pos, struct onnxq_node *n, bool *did)
{
    return cv_bn(uc, pos, n, did, 9);
}
static enum onnxq_status cv_bn14(struct up_ctx *uc, size_t *pos, struct onnxq_node *n, bool *did)
{
    return cv_bn(uc, pos, n, did, 14);
}

static enum onnxq_status cv_dropout7(struct up_ctx *uc, size_t *pos, struct onnxq_node *n, bool *did)
{
    (void)uc;
    (void)pos;
    *did |= remove_attr(n, "is_test");
    return ONNXQ_OK;
}

static enum onnxq_status cv_dropout10(struct up_ctx *uc, size_t *pos, struct onnxq_node *n, bool *did)
{
    (void)pos;
    if (n->n_outputs > 1 && *n->outputs[1]) {
        if (output_used(uc, n, 1))
            return unsupported(uc, n, "its mask output is used (its type changes from T to bool at opset 10)");
        drop_outputs_from(uc, n, 1);
        *did = true;
    }
    return ONNXQ_OK;
}

static enum onnxq_status cv_dropout12(struct up_ctx *uc, size_t *pos, struct onnxq_node *n, bool *did)
{
    (void)pos;
    if (!onnxq_attr_has(n, "ratio"))
        return ONNXQ_OK;
    double r = onnxq_attr_float(n, "ratio", 0.5f);
    const char *nm = typed_init(uc, n, "ratio", ONNXQ_DT_FLOAT, &r, 1, 0);
    if (!nm || !set_input(n, 1, nm))
        return nomem(uc->pc.err);
    remove_attr(n, "ratio");
    *did = true;
    return ONNXQ_OK;
}

static enum onnxq_status cv_output_sequence(struct up_ctx *uc, size_t *pos, struct onnxq_node *n, bool *did)
{
    (void)uc;
    (void)pos;
    *did |= remove_attr(n, "output_sequence");
    return ONNXQ_OK;
}

static enum onnxq_status cv_lppool2(struct up_ctx *uc, size_t *pos, struct onnxq_node *n, bool *did)
{
    (void)pos;
    struct onnxq_attr *a = find_attr(n, "p");
    if (!a || a->type == ONNXQ_ATTR_INT)
        return ONNXQ_OK;
    float p = a->f;
    if (p != floorf(p) || p < 1 || p > 1e9f)
        return unsupported(uc, n, "a non-integer p has no opset-2 form");
    remove_attr(n, "p");
    if (!onnxq_node_set_int(n, "p", (int64_t)p))
        return nomem(uc->pc.err);
    *did = true;
    return ONNXQ_OK;
}

static enum onnxq_status cv_pad2(struct up_ctx *uc, size_t *pos, struct onnxq_node *n, bool *did)
{
    (void)uc;
    (void)pos;
    struct onnxq_attr *a = find_attr(n, "paddings");
    if (a && !onnxq_attr_has(n, "pads")) {
        if (!replace_string(&a->name, "pads"))
            return nomem(uc->pc.err);
        *did = true;
    }
    return ONNXQ_OK;
}

static enum onnxq_status cv_pad11(struct up_ctx *uc, size_t *pos, struct onnxq_node *n, bool *did)
{
    (void)pos;
    if (!onnxq_attr_has(n, "pads"))
        return ONNXQ_OK;
    enum onnxq_status st = ints_attr_to_input(uc, n, "pads", 1, did);
    if (st)
        return st;
    if (onnxq_attr_has(n, "value")) {
        double v = onnxq_attr_float(n, "value", 0);
        if (v != 0) {
            int32_t dt = dtype_of(uc->facts, n->inputs[0]);
            if (!onnxq_dtype_valid(dt))
                return unsupported(uc, n, "the data's dtype is unknown, so its constant_value cannot be typed");
            const char *nm = typed_init(uc, n, "value", dt, &v, 1, 0);
            if (!nm)
                return unsupported(uc, n, "constant_value of this dtype");
            if (!set_input(n, 2, nm))
                return nomem(uc->pc.err);
        }
        remove_attr(n, "value");
    }
    return ONNXQ_OK;
}

static enum onnxq_status cv_slice10(struct up_ctx *uc, size_t *pos, struct onnxq_node *n, bool *did)
{
    (void)pos;
    if (n->n_inputs > 1)
        return ONNXQ_OK;
    if (!onnxq_attr_has(n, "starts") || !onnxq_attr_has(n, "ends"))
        return unsupported(uc, n, "Slice-1 without starts/ends");
    enum onnxq_status st;
    if ((st = ints_attr_to_input(uc, n, "starts", 1, did)) || (st = ints_attr_to_input(uc, n, "ends", 2, did)) ||
        (st = ints_attr_to_input(uc, n, "axes", 3, did)))
        return st;
    return ONNXQ_OK;
}

static enum onnxq_status cv_topk10(struct up_ctx *uc, size_t *pos, struct onnxq_node *n, bool *did)
{
    (void)pos;
    if (!onnxq_attr_has(n, "k"))
        return n->n_inputs >= 2 ? ONNXQ_OK : unsupported(uc, n, "TopK-1 without k");
    int64_t k = onnxq_attr_int(n, "k", 0);
    const char *nm = int64_init(uc, n, "k", &k, 1);
    if (!nm || !set_input(n, 1, nm))
        return nomem(uc->pc.err);
    remove_attr(n, "k");
    *did = true;
    return ONNXQ_OK;
}

static enum onnxq_status cv_clip11(struct up_ctx *uc, size_t *pos, struct onnxq_node *n, bool *did)
{
    (void)pos;
    bool hmin = onnxq_attr_has(n, "min"), hmax = onnxq_attr_has(n, "max");
    if (!hmin && !hmax)
        return ONNXQ_OK;
    int32_t dt = dtype_of(uc->facts, input_at(n, 0));
    if (!onnxq_dtype_valid(dt) || !numeric_float(dt))
        return unsupported(uc, n, "the input's float dtype is unknown, so min/max inputs cannot be typed");
    if (hmin) {
        double v = onnxq_attr_float(n, "min", 0);
        const char *nm = typed_init(uc, n, "min", dt, &v, 1, 0);
        if (!nm || !set_input(n, 1, nm))
            return nomem(uc->pc.err);
    }
    if (hmax) {
        double v = onnxq_attr_float(n, "max", 0);
        const char *nm = typed_init(uc, n, "max", dt, &v, 1, 0);
        if (!nm || !set_input(n, 2, nm))
            return nomem(uc->pc.err);
    }
    if (!hmin && !set_input(n, 1, ""))
        return nomem(uc->pc.err);
    remove_attr(n, "min");
    remove_attr(n, "max");
    *did = true;
    return ONNXQ_OK;
}

/* Resize-10 (X, scales) -> Resize-11 (X, roi, scales): asymmetric
 * coordinates; nearest rounding as onnxruntime's Resize-10 (truncate when
 * upsampling, ceil when downsampling), which constant scales decide. */
static enum onnxq_status cv_resize11(struct up_ctx *uc, size_t *pos, struct onnxq_node *n, bool *did)
{
    (void)pos;
    if (n->n_inputs != 2)
        return n->n_inputs > 2 ? ONNXQ_OK : unsupported(uc, n, "Resize-10 needs X and scales");
    char modeb[32];
    const char *mode = onnxq_attr_string(n, "mode", "nearest", modeb, sizeof(modeb));
    if (strcmp(mode, "nearest") == 0) {
        const struct onnxq_tensor *s = const_value(uc->g, &uc->idx, n->inputs[1]);
        if (!s || !numeric_float(s->dtype))
            return unsupported(uc, n, "nearest Resize-10 needs constant scales to pick its rounding");
        bool up = false, down = false;
        for (int64_t i = 0; i < onnxq_tensor_numel(s); i++) {
            double v = onnxq_tensor_get_f64(s, (size_t)i);
            up |= v > 1;
            down |= v < 1;
        }
        if (up && down)
            return unsupported(uc, n, "nearest Resize-10 that up- and downsamples at once");
        if (!onnxq_node_set_string(n, "nearest_mode", down ? "ceil" : "floor"))
            return nomem(uc->pc.err);
    }
    char *sc = onnxq_strdup(n->inputs[1]);
    bool ok = sc && onnxq_node_set_input(n, 1, "") && set_input(n, 2, sc) &&
              onnxq_node_set_string(n, "coordinate_transformation_mode", "asymmetric");
    free(sc);
    if (!ok)
        return nomem(uc->pc.err);
    *did = true;
    return ONNXQ_OK;
}

static enum onnxq_status cv_resize13(struct up_ctx *uc, size_t *pos, struct onnxq_node *n, bool *did)
{
    (void)pos;
    (void)did;
    char mb[64];
    const char *m = onnxq_attr_string(n, "coordinate_transformation_mode", "half_pixel", mb, sizeof(mb));
    if (strcmp(m, "tf_half_pixel_for_nn") == 0)
        return unsupported(uc, n, "coordinate_transformation_mode tf_half_pixel_for_nn was removed in opset 13");
    return ONNXQ_OK;
}

/* Softmax / LogSoftmax / Hardmax before 13 work on the input flattened to
 * 2-D at `axis` (default 1). */
static enum onnxq_status cv_softmax13(struct up_ctx *uc, size_t *pos, struct onnxq_node *n, bool *did)
{
    if (n->n_inputs != 1 || n->n_outputs != 1 || !*n->outputs[0])
        return unsupported(uc, n, "needs one input and one output");
    int64_t axis = onnxq_attr_int(n, "axis", 1);
    int r = rank_of(uc->facts, n->inputs[0]);
    if (r >= 0) {
        int64_t a = axis < 0 ? axis + r : axis;
        if (a < 0 || a >= (r ? r : 1))
            return unsupported(uc, n, "axis out of range for the input's rank");
        if (a == r - 1)
            return ONNXQ_OK; /* the last axis: same result (and with no axis
                              * attribute, r is 2 and -1 means 1) */
    }
    /* Shape(x) -> s; Flatten(x, axis) -> f; op(f, axis=-1) -> t; Reshape(t, s) -> y */
    const char *sn = fresh_name(uc, n, "shape");
    const char *fn = fresh_name(uc, n, "flat");
    const char *tn = fresh_name(uc, n, "2d");
    if (!sn || !fn || !tn)
        return nomem(uc->pc.err);
    const char *x = n->inputs[0];
    const char *in1[1] = {x}, *o_s[1] = {sn}, *o_f[1] = {fn};
    struct onnxq_node *shape = insert_before(uc, pos, "Shape", fresh_name(uc, n, "shape_op"), 1, in1, 1, o_s);
    struct onnxq_node *flat = shape ? insert_before(uc, pos, "Flatten", fresh_name(uc, n, "flatten"), 1, in1, 1, o_f)
                                    : NULL;
    if (!flat || !onnxq_node_set_int(flat, "axis", axis))
        return nomem(uc->pc.err);
    const char *rin[2] = {tn, sn}, *rout[1] = {n->outputs[0]};
    struct onnxq_node *rs = onnxq_node_new("Reshape", fresh_name(uc, n, "reshape"), 2, rin, 1, rout);
    if (!rs || !onnxq_graph_insert_node(uc->g, *pos + 1, rs)) {
        onnxq_node_free(rs);
        return nomem(uc->pc.err);
    }
    remove_attr(n, "axis");
    if (!onnxq_node_set_int(n, "axis", -1) || !onnxq_node_set_input(n, 0, fn) ||
        !replace_string(&n->outputs[0], tn))
        return nomem(uc->pc.err);
    *did = true;
    return ONNXQ_OK;
}

static enum onnxq_status cv_split2(struct up_ctx *uc, size_t *pos, struct onnxq_node *n, bool *did)
{
    (void)pos;
    if (n->n_inputs < 2 || !has_input(n, 1)) {
        trim_trailing(n);
        return ONNXQ_OK;
    }
    /* Split-1's split input has the data's type T (float too) */
    const struct onnxq_tensor *t = const_value(uc->g, &uc->idx, n->inputs[1]);
    if (!t || !t->data || onnxq_attr_has(n, "split") ||
        !(onnxq_dtype_table[t->dtype].is_integer || numeric_float(t->dtype)))
        return unsupported(uc, n, "Split-1 with a non-constant split input");
    int64_t cnt = onnxq_tensor_numel(t);
    int64_t *v = malloc((size_t)(cnt > 0 ? cnt : 1) * sizeof(int64_t));
    if (!v)
        return nomem(uc->pc.err);
    for (int64_t i = 0; i < cnt; i++) {
        double d = onnxq_tensor_get_f64(t, (size_t)i);
        if (d != floor(d) || d < 0 || d > 9e18) {
            free(v);
            return unsupported(uc, n, "Split-1 split lengths must be non-negative integers");
        }
        v[i] = (int64_t)d;
    }
    bool ok = onnxq_node_set_ints(n, "split", v, (size_t)cnt) && onnxq_node_set_input(n, 1, "");
    free(v);
    if (!ok)
        return nomem(uc->pc.err);
    trim_trailing(n);
    *did = true;
    return ONNXQ_OK;
}

static enum onnxq_status cv_split13(struct up_ctx *uc, size_t *pos, struct onnxq_node *n, bool *did)
{
    (void)pos;
    return ints_attr_to_input(uc, n, "split", 1, did);
}

static enum onnxq_status cv_split18(struct up_ctx *uc, size_t *pos, struct onnxq_node *n, bool *did)
{
    (void)pos;
    if (has_input(n, 1) || onnxq_attr_has(n, "num_outputs"))
        return ONNXQ_OK;
    if (!onnxq_node_set_int(n, "num_outputs", (int64_t)n->n_outputs))
        return nomem(uc->pc.err);
    *did = true;
    return ONNXQ_OK;
}

static enum onnxq_status cv_axes_to_input(struct up_ctx *uc, size_t *pos, struct onnxq_node *n, bool *did)
{
    (void)pos;
    if (has_input(n, 1)) {
        *did |= remove_attr(n, "axes");
        return ONNXQ_OK;
    }
    if (is_op(n, "Unsqueeze") && !onnxq_attr_has(n, "axes"))
        return unsupported(uc, n, "Unsqueeze without axes");
    return ints_attr_to_input(uc, n, "axes", 1, did);
}

static enum onnxq_status cv_no_path(struct up_ctx *uc, size_t *pos, struct onnxq_node *n, bool *did)
{
    (void)pos;
    (void)did;
    return unsupported(uc, n, "onnxq has no conversion for this operator's change of semantics");
}

static enum onnxq_status cv_roialign16(struct up_ctx *uc, size_t *pos, struct onnxq_node *n, bool *did)
{
    (void)pos;
    if (onnxq_attr_has(n, "coordinate_transformation_mode"))
        return ONNXQ_OK;
    if (!onnxq_node_set_string(n, "coordinate_transformation_mode", "output_half_pixel"))
        return nomem(uc->pc.err);
    *did = true;
    return ONNXQ_OK;
}

static enum onnxq_status cv_gridsample20(struct up_ctx *uc, size_t *pos, struct onnxq_node *n, bool *did)
{
    (void)pos;
    char mb[32];
    const char *m = onnxq_attr_string(n, "mode", "bilinear", mb, sizeof(mb));
    const char *nm = strcmp(m, "bilinear") == 0 ? "linear" : strcmp(m, "bicubic") == 0 ? "cubic" : NULL;
    if (!nm || !onnxq_attr_has(n, "mode"))
        return ONNXQ_OK;
    remove_attr(n, "mode");
    if (!onnxq_node_set_string(n, "mode", nm))
        return nomem(uc->pc.err);
    *did = true;
    return ONNXQ_OK;
}

/* The conversions, by (op, since_version they lead into). A change in an
 * op's history that is not listed here only added types or attributes
 * whose defaults keep the old meaning. */
struct conv_row {
    const char *op;
    int version;
    conv_fn fn;
};

static const struct conv_row conv_rows[] = {
    {"Abs", 6, cv_drop_consumed}, {"Add", 6, cv_drop_consumed}, {"Ceil", 6, cv_drop_consumed},
    {"Clip", 6, cv_drop_consumed}, {"Div", 6, cv_drop_consumed}, {"Dropout", 6, cv_drop_consumed},
    {"Elu", 6, cv_drop_consumed}, {"Exp", 6, cv_drop_consumed}, {"Floor", 6, cv_drop_consumed},
    {"HardSigmoid", 6, cv_drop_consumed}, {"InstanceNormalization", 6, cv_drop_consumed},
    {"LeakyRelu", 6, cv_drop_consumed}, {"Log", 6, cv_drop_consumed}, {"Max", 6, cv_drop_consumed},
    {"Mean", 6, cv_drop_consumed}, {"Min", 6, cv_drop_consumed}, {"Mul", 6, cv_drop_consumed},
    {"Neg", 6, cv_drop_consumed}, {"PRelu", 6, cv_drop_consumed}, {"Reciprocal", 6, cv_drop_consumed},
    {"Relu", 6, cv_drop_consumed}, {"Sigmoid", 6, cv_drop_consumed}, {"Sqrt", 6, cv_drop_consumed},
    {"Sub", 6, cv_drop_consumed}, {"Sum", 6, cv_drop_consumed}, {"Tanh", 6, cv_drop_consumed},
    {"Selu", 6, cv_selu6},
    {"Add", 7, cv_broadcast7}, {"Sub", 7, cv_broadcast7}, {"Mul", 7, cv_broadcast7}, {"Div", 7, cv_broadcast7},
    {"Pow", 7, cv_broadcast7}, {"And", 7, cv_broadcast7}, {"Or", 7, cv_broadcast7}, {"Xor", 7, cv_broadcast7},
    {"Equal", 7, cv_broadcast7}, {"Greater", 7, cv_broadcast7}, {"Less", 7, cv_broadcast7},
    {"Gemm", 7, cv_gemm7}, {"PRelu", 7, cv_prelu7},
    {"Cast", 6, cv_cast6},
    {"Concat", 4, cv_concat4},
    {"Reshape", 5, cv_reshape5},
    {"BatchNormalization", 6, cv_bn6}, {"BatchNormalization", 7, cv_bn7}, {"BatchNormalization", 9, cv_bn9},
    {"BatchNormalization", 14, cv_bn14},
    {"Dropout", 7, cv_dropout7}, {"Dropout", 10, cv_dropout10}, {"Dropout", 12, cv_dropout12},
    {"GRU", 7, cv_output_sequence}, {"LSTM", 7, cv_output_sequence}, {"RNN", 7, cv_output_sequence},
    {"LpPool", 2, cv_lppool2}, {"GlobalLpPool", 2, cv_lppool2},
    {"Pad", 2, cv_pad2}, {"Pad", 11, cv_pad11},
    {"Slice", 10, cv_slice10},
    {"TopK", 10, cv_topk10},
    {"Clip", 11, cv_clip11},
    {"Resize", 11, cv_resize11}, {"Resize", 13, cv_resize13},
    {"Softmax", 13, cv_softmax13}, {"LogSoftmax", 13, cv_softmax13}, {"Hardmax", 13, cv_softmax13},
    {"Split", 2, cv_split2}, {"Split", 13, cv_split13}, {"Split", 18, cv_split18},
    {"Squeeze", 13, cv_axes_to_input}, {"Unsqueeze", 13, cv_axes_to_input}, {"ReduceSum", 13, cv_axes_to_input},
    {"ReduceL1", 18, cv_axes_to_input}, {"ReduceL2", 18, cv_axes_to_input},
    {"ReduceLogSum", 18, cv_axes_to_input}, {"ReduceLogSumExp", 18, cv_axes_to_input},
    {"ReduceMax", 18, cv_axes_to_input}, {"ReduceMean", 18, cv_axes_to_input},
    {"ReduceMin", 18, cv_axes_to_input}, {"ReduceProd", 18, cv_axes_to_input},
    {"ReduceSumSquare", 18, cv_axes_to_input},
    {"Scan", 9, cv_no_path}, {"Tile", 6, cv_no_path}, {"DFT", 20, cv_no_path},
    {"GroupNormalization", 21, cv_no_path},
    {"RoiAlign", 16, cv_roialign16},
    {"GridSample", 20, cv_gridsample20},
};

static conv_fn find_conv(const char *op, int version)
{
    for (size_t i = 0; i < sizeof(conv_rows) / sizeof(conv_rows[0]); i++)
        if (conv_rows[i].version == version && strcmp(conv_rows[i].op, op) == 0)
            return conv_rows[i].fn;
    return NULL;
}

/* Upsample (1, 7, 9, 10) -> Resize in its opset-13 form: asymmetric
 * coordinates and floor rounding reproduce Upsample's nearest, and its
 * linear mode is asymmetric linear. */
static enum onnxq_status cv_upsample(struct up_ctx *uc, size_t *pos, struct onnxq_node *n, bool *did)
{
    char modeb[32];
    const char *mode = onnxq_attr_string(n, "mode", "nearest", modeb, sizeof(modeb));
    const char *rmode = strcmp(mode, "nearest") == 0 ? "nearest"
                        : (strcmp(mode, "linear") == 0 || strcmp(mode, "bilinear") == 0) ? "linear"
                                                                                        : NULL;
    if (!rmode)
        return unsupported(uc, n, "unknown Upsample mode");
    if (n->n_outputs != 1 || !has_input(n, 0))
        return unsupported(uc, n, "needs one input and one output");
    const char *scales = NULL;
    if (has_input(n, 1)) {
        scales = n->inputs[1];
    } else if (onnxq_attr_has(n, "scales")) {
        size_t cnt;
        const float *f = onnxq_attr_floats(n, "scales", &cnt);
        double v[ONNXQ_MAX_DIMS];
        if (!f || cnt > ONNXQ_MAX_DIMS)
            return unsupported(uc, n, "bad scales attribute");
        for (size_t i = 0; i < cnt; i++)
            v[i] = f[i];
        scales = typed_init(uc, n, "scales", ONNXQ_DT_FLOAT, v, cnt, 1);
    } else if (onnxq_attr_has(n, "height_scale") && onnxq_attr_has(n, "width_scale")) {
        double v[4] = {1, 1, onnxq_attr_float(n, "height_scale", 1), onnxq_attr_float(n, "width_scale", 1)};
        scales = typed_init(uc, n, "scales", ONNXQ_DT_FLOAT, v, 4, 1);
    } else {
        return unsupported(uc, n, "Upsample without scales");
    }
    if (!scales)
        return nomem(uc->pc.err);
    const char *in[3] = {n->inputs[0], "", scales}, *out[1] = {n->outputs[0]};
    struct onnxq_node *r = onnxq_node_new("Resize", n->name, 3, in, 1, out);
    bool ok = r && onnxq_node_set_string(r, "mode", rmode) &&
              onnxq_node_set_string(r, "coordinate_transformation_mode", "asymmetric") &&
              (strcmp(rmode, "nearest") || onnxq_node_set_string(r, "nearest_mode", "floor"));
    if (!ok || !onnxq_graph_insert_node(uc->g, *pos + 1, r)) {
        onnxq_node_free(r);
        return nomem(uc->pc.err);
    }
    onnxq_graph_remove_node(uc->g, *pos);
    *did = true;
    return ONNXQ_OK;
}

/* ImageScaler (experimental, dropped from ONNX in 1.5): y = scale * x +
 * bias[c] on NCHW input -> Mul by the scale, then Add of bias [1,C,1,1]. */
static enum onnxq_status cv_imagescaler(struct up_ctx *uc, size_t *pos, struct onnxq_node *n, bool *did)
{
    if (n->n_inputs != 1 || n->n_outputs != 1 || !*n->outputs[0])
        return unsupported(uc, n, "needs one input and one output");
    size_t nb = 0;
    const float *bias = onnxq_attr_floats(n, "bias", &nb);
    double scale = onnxq_attr_float(n, "scale", 1.0f);
    const char *sn = typed_init(uc, n, "scale", ONNXQ_DT_FLOAT, &scale, 1, 0);
    if (!sn)
        return nomem(uc->pc.err);
    if (!bias || !nb) {
        if (!replace_string(&n->op_type, "Mul") || !set_input(n, 1, sn))
            return nomem(uc->pc.err);
        remove_attr(n, "scale");
        remove_attr(n, "bias");
        *did = true;
        return ONNXQ_OK;
    }
    const char *bn = fresh_name(uc, n, "bias");
    int64_t bd[4] = {1, (int64_t)nb, 1, 1};
    struct onnxq_constant *bc = bn ? add_init(uc->g, bn, ONNXQ_DT_FLOAT, 4, bd) : NULL;
    const char *mid = fresh_name(uc, n, "scaled");
    if (!bc || !mid)
        return nomem(uc->pc.err);
    memcpy(bc->value.data, bias, nb * sizeof(float));
    const char *in[2] = {n->inputs[0], sn}, *out[1] = {mid};
    if (!insert_before(uc, pos, "Mul", fresh_name(uc, n, "mul"), 2, in, 1, out) ||
        !replace_string(&n->op_type, "Add") || !onnxq_node_set_input(n, 0, mid) || !set_input(n, 1, bn))
        return nomem(uc->pc.err);
    remove_attr(n, "scale");
    remove_attr(n, "bias");
    *did = true;
    return ONNXQ_OK;
}

/* Convert one node of uc->g at *pos (which may move). */
static enum onnxq_status convert_node(struct up_ctx *uc, size_t *pos, struct onnxq_node *n, bool *did)
{
    *did = false;
    if (!default_domain(n->domain))
        return ONNXQ_OK;
    if (strcmp(n->op_type, "Upsample") == 0)
        return cv_upsample(uc, pos, n, did);
    if (strcmp(n->op_type, "ImageScaler") == 0)
        return cv_imagescaler(uc, pos, n, did);
    if (strcmp(n->op_type, "Scatter") == 0 && uc->target >= 11) {
        /* deprecated in 11: ScatterElements has the same inputs and axis */
        if (!replace_string(&n->op_type, "ScatterElements"))
            return nomem(uc->pc.err);
        *did = true;
        return ONNXQ_OK;
    }
    const struct op_history *h = op_history(n->op_type);
    if (!h)
        return onnxq_op_fail(uc->pc.err, n, ONNXQ_E_UNSUPPORTED,
                             "operator %s is not a default-domain ONNX operator onnxq knows the history of",
                             n->op_type);
    int cur = 0;
    for (int i = 0; i < 8 && h->v[i]; i++)
        if (h->v[i] <= uc->from)
            cur = h->v[i];
    if (!cur)
        return onnxq_op_fail(uc->pc.err, n, ONNXQ_E_UNSUPPORTED, "operator %s does not exist in opset %lld",
                             n->op_type, (long long)uc->from);
    for (int i = 0; i < 8 && h->v[i]; i++) {
        int v = h->v[i];
        if (v <= cur || v > uc->target)
            continue;
        conv_fn fn = find_conv(n->op_type, v);
        if (!fn)
            continue;
        bool d = false;
        enum onnxq_status st = fn(uc, pos, n, &d);
        if (st)
            return st;
        *did |= d;
    }
    return ONNXQ_OK;
}

static enum onnxq_status upgrade_graph(struct up_ctx *uc, struct onnxq_graph *g, const struct facts *parent, int depth)
{
    if (depth > 64)
        return onnxq_fail(uc->pc.err, ONNXQ_E_UNSUPPORTED, "subgraphs nested deeper than 64 levels");
    struct facts f;
    enum onnxq_status st = facts_build(&f, g, parent, uc->pc.err);
    if (st) {
        facts_free(&f);
        return st;
    }
    struct onnxq_node **orig = malloc((g->n_nodes ? g->n_nodes : 1) * sizeof(*orig));
    if (!orig) {
        facts_free(&f);
        return nomem(uc->pc.err);
    }
    size_t n_orig = g->n_nodes;
    if (n_orig)
        memcpy(orig, g->nodes, n_orig * sizeof(*orig));
    struct onnxq_graph *saved_g = uc->g;
    const struct facts *saved_f = uc->facts;
    struct onnxq_graph_index saved_idx = uc->idx;
    uc->g = g;
    uc->facts = &f;
    if ((st = onnxq_graph_index_build(g, &uc->idx, uc->pc.err))) {
        uc->idx = saved_idx;
        goto out;
    }
    /* constants read now: those a conversion leaves unread are removed */
    char **was_read = calloc(g->n_inits + g->n_nodes + 1, sizeof(char *));
    size_t n_read = 0;
    if (!was_read) {
        st = nomem(uc->pc.err);
    } else {
        for (size_t i = 0; i < g->n_inits; i++)
            if (use_count(onnxq_graph_index_get(&uc->idx, g->inits[i]->name)))
                was_read[n_read++] = g->inits[i]->name;
        for (size_t i = 0; i < g->n_nodes; i++)
            if (is_op(g->nodes[i], "Constant") && g->nodes[i]->n_outputs == 1 &&
                use_count(onnxq_graph_index_get(&uc->idx, g->nodes[i]->outputs[0])))
                was_read[n_read++] = g->nodes[i]->outputs[0];
        for (size_t i = 0; i < n_read; i++) {
            char *c = st ? NULL : onnxq_strdup(was_read[i]);
            if (!c && !st)
                st = nomem(uc->pc.err);
            was_read[i] = c;
        }
    }
    for (size_t i = 0; i < n_orig && !st; i++) {
        size_t pos = node_pos(g, orig[i]);
        if (pos == g->n_nodes)
            continue;
        bool did = false;
        st = convert_node(uc, &pos, orig[i], &did);
        if (!st && did) {
            uc->pc.changed++;
            /* the index borrows names the conversion may have freed */
            onnxq_graph_index_free(&uc->idx);
            st = onnxq_graph_index_build(g, &uc->idx, uc->pc.err);
        }
    }
    onnxq_graph_index_free(&uc->idx);
    uc->idx = saved_idx;
    for (size_t i = 0; i < n_read; i++) {
        if (!st && was_read[i])
            st = drop_init_if_unused(g, was_read[i], uc->pc.err);
        free(was_read[i]);
    }
    free(was_read);
    /* subgraphs, with this graph's facts as their outer scope */
    for (size_t i = 0; i < g->n_nodes && !st; i++) {
        struct onnxq_node *n = g->nodes[i];
        for (size_t a = 0; a < n->n_attrs && !st; a++) {
            struct onnxq_attr *at = &n->attrs[a];
            if (at->g)
                st = upgrade_graph(uc, at->g, &f, depth + 1);
            for (size_t k = 0; k < at->n_graphs && !st; k++)
                if (at->graphs[k])
                    st = upgrade_graph(uc, at->graphs[k], &f, depth + 1);
        }
    }
out:
    uc->g = saved_g;
    uc->facts = saved_f;
    free(orig);
    facts_free(&f);
    return st;
}

static bool any_default_node(const struct onnxq_graph *g, int depth)
{
    if (depth > 64)
        return false;
    for (size_t i = 0; i < g->n_nodes; i++) {
        const struct onnxq_node *n = g->nodes[i];
        if (default_domain(n->domain))
            return true;
        for (size_t a = 0; a < n->n_attrs; a++) {
            if (n->attrs[a].g && any_default_node(n->attrs[a].g, depth + 1))
                return true;
            for (size_t k = 0; k < n->attrs[a].n_graphs; k++)
                if (n->attrs[a].graphs[k] && any_default_node(n->attrs[a].graphs[k], depth + 1))
                    return true;
        }
    }
    return false;
}

/* IR version an opset needs (ONNX's versioning table). */
static int64_t ir_for_opset(int64_t opset)
{
    return opset >= 21 ? 10 : opset >= 19 ? 9 : opset >= 15 ? 8 : 7;
}

enum onnxq_status onnxq_pass_upgrade_opset(struct onnxq_model *m, int64_t target, size_t *changed,
                                           struct onnxq_error *err)
{
    enum onnxq_status st = check_model(m, err);
    if (st)
        return st;
    if (target < ONNXQ_UPGRADE_OPSET_MIN)
        return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "upgrade_opset: target opset %lld is below %d",
                          (long long)target, ONNXQ_UPGRADE_OPSET_MIN);
    if (target > ONNXQ_UPGRADE_OPSET_MAX)
        return onnxq_fail(err, ONNXQ_E_UNSUPPORTED,
                          "upgrade_opset: target opset %lld is above %d, the newest onnxq converts to",
                          (long long)target, ONNXQ_UPGRADE_OPSET_MAX);
    struct onnxq_opset *imp = NULL;
    for (size_t i = 0; i < m->n_opsets; i++)
        if (default_domain(m->opsets[i].domain))
            imp = &m->opsets[i];
    if (!imp) {
        if (any_default_node(m->graph, 0))
            return onnxq_fail(err, ONNXQ_E_INVALID_MODEL,
                              "the model uses default-domain operators but imports no default-domain opset");
        if (changed)
            *changed = 0;
        return ONNXQ_OK;
    }
    int64_t from = imp->has_version ? imp->version : 1;
    if (from >= target) {
        if (changed)
            *changed = 0;
        return ONNXQ_OK;
    }
    /* convert a copy, so that a node without a conversion path (found
     * anywhere, subgraphs included) leaves the model as it was */
    struct onnxq_context *tmp_ctx = NULL;
    struct onnxq_model *copy = NULL;
    uint8_t *bytes = NULL;
    size_t nbytes = 0;
    if ((st = onnxq_model_serialize(m, &bytes, &nbytes, err)))
        return st;
    if (!m->ctx && (st = onnxq_context_new(&tmp_ctx, err))) {
        free(bytes);
        return st;
    }
    st = onnxq_load_internal(m->ctx ? m->ctx : tmp_ctx, bytes, nbytes, NULL, m->path, &copy, err);
    free(bytes);
    if (st) {
        onnxq_context_free(tmp_ctx);
        return st;
    }
    struct up_ctx uc;
    memset(&uc, 0, sizeof(uc));
    if (!(st = pass_ctx_init(&uc.pc, copy, err))) {
        uc.from = from;
        uc.target = target;
        st = upgrade_graph(&uc, copy->graph, NULL, 0);
        pass_ctx_free(&uc.pc);
    }
    if (!st) {
        struct onnxq_graph *g = m->graph;
        m->graph = copy->graph;
        copy->graph = g;
        imp->has_version = true;
        imp->version = target;
        if (!m->has_ir_version || m->ir_version < ir_for_opset(target)) {
            m->has_ir_version = true;
            m->ir_version = ir_for_opset(target);
        }
        if (changed)
            *changed = uc.pc.changed + 1;
    }
    onnxq_model_free(copy);
    onnxq_context_free(tmp_ctx);
    return st;
}

enum onnxq_status onnxq_pass_upgrade_opset_default(struct onnxq_model *m, size_t *changed, struct onnxq_error *err)
{
    return onnxq_pass_upgrade_opset(m, ONNXQ_UPGRADE_OPSET_DEFAULT, changed, err);
}
