/* Weight-only int8 storage inside If/Loop/Scan bodies: see subgraph.h. */
#include "quant/subgraph.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "quant/quant_internal.h"

/* Ops whose weight inputs may be stored as int8. `axis` -2: the main
 * graph's rule (onnxq_quant_weight_axis); otherwise the axis itself (RNN
 * W and R are [directions, gates*hidden, in]: one scale per gate row). */
enum wop { WOP_CONV, WOP_CONVT, WOP_GEMM, WOP_MATMUL, WOP_LSTM, WOP_GRU, WOP_RNN, WOP_COUNT };

static const struct {
    const char *op;
    unsigned slots;  /* bit set of the weight input slots */
    int axis;
} wops[WOP_COUNT] = {
    [WOP_CONV] = {"Conv", 1u << 1, -2},
    [WOP_CONVT] = {"ConvTranspose", 1u << 1, -2},
    [WOP_GEMM] = {"Gemm", 1u << 1, -2},
    [WOP_MATMUL] = {"MatMul", 1u << 1, -2},
    [WOP_LSTM] = {"LSTM", (1u << 1) | (1u << 2), 1},
    [WOP_GRU] = {"GRU", (1u << 1) | (1u << 2), 1},
    [WOP_RNN] = {"RNN", (1u << 1) | (1u << 2), 1},
};
static_assert(sizeof(wops) / sizeof(wops[0]) == WOP_COUNT, "one entry per weight op");

/* Data-movement ops a weight may pass through on its way to a weight
 * input (data input 0, or every input for Concat). */
enum mop { MOP_SLICE, MOP_CONCAT, MOP_RESHAPE, MOP_TRANSPOSE, MOP_SQUEEZE, MOP_UNSQUEEZE,
           MOP_IDENTITY, MOP_FLATTEN, MOP_SPLIT, MOP_GATHER, MOP_COUNT };

static const struct {
    const char *op;
    bool any_slot;
} mops[MOP_COUNT] = {
    [MOP_SLICE] = {"Slice", false},       [MOP_CONCAT] = {"Concat", true},
    [MOP_RESHAPE] = {"Reshape", false},   [MOP_TRANSPOSE] = {"Transpose", false},
    [MOP_SQUEEZE] = {"Squeeze", false},   [MOP_UNSQUEEZE] = {"Unsqueeze", false},
    [MOP_IDENTITY] = {"Identity", false}, [MOP_FLATTEN] = {"Flatten", false},
    [MOP_SPLIT] = {"Split", false},       [MOP_GATHER] = {"Gather", false},
};
static_assert(sizeof(mops) / sizeof(mops[0]) == MOP_COUNT, "one entry per data-movement op");

/* Use-scan budget per constant: a chain of movement ops fanning out
 * beyond this is not a weight path worth following. */
#define SCAN_MAX_STEPS 4096

#define AXIS_UNSET (-2)
#define AXIS_CONFLICT (-3)

static int find_wop(const struct onnxq_node *n)
{
    for (int i = 0; i < WOP_COUNT; i++)
        if (strcmp(wops[i].op, n->op_type) == 0)
            return i;
    return -1;
}

static int find_mop(const struct onnxq_node *n)
{
    for (int i = 0; i < MOP_COUNT; i++)
        if (strcmp(mops[i].op, n->op_type) == 0)
            return i;
    return -1;
}

static bool in_list(const char *const *list, const char *s)
{
    if (!list || !s)
        return false;
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return true;
    return false;
}

static bool is_input(const struct onnxq_graph *g, const char *name)
{
    for (size_t i = 0; i < g->n_inputs; i++)
        if (g->inputs[i].name && strcmp(g->inputs[i].name, name) == 0)
            return true;
    return false;
}

/* Does g itself (not its bodies) define `name`, shadowing an outer one? */
static bool defines(const struct onnxq_graph *g, const char *name)
{
    if (is_input(g, name) || onnxq_graph_find_init(g, name))
        return true;
    for (size_t i = 0; i < g->n_nodes; i++)
        for (size_t k = 0; k < g->nodes[i]->n_outputs; k++)
            if (strcmp(g->nodes[i]->outputs[k], name) == 0)
                return true;
    return false;
}

/* ------------------------------------------------------------ use scan */

struct scan {
    const struct onnxq_quant_options *o;
    const struct onnxq_constant *wc;
    bool bad;            /* some use is not a weight use */
    size_t weight_uses;  /* weight inputs reached */
    size_t body_uses;    /* uses (of any kind) inside a body */
    int axis;            /* of the direct uses: AXIS_UNSET, AXIS_CONFLICT, -1 or an axis */
    size_t steps;
};

static void scan_value(struct scan *s, const struct onnxq_graph *h, const char *v, bool in_body, bool direct);

static void scan_use(struct scan *s, const struct onnxq_graph *h, const struct onnxq_node *n, size_t k,
                     bool in_body, bool direct)
{
    if (in_body)
        s->body_uses++;
    int w = onnxq_node_in_default_domain(n) ? find_wop(n) : -1;
    if (w >= 0 && k < 32 && (wops[w].slots & (1u << k))) {
        if (in_list(s->o->exclude_nodes, n->name) || in_list(s->o->exclude_op_types, n->op_type)) {
            s->bad = true;  /* the user keeps this op's weights float */
            return;
        }
        s->weight_uses++;
        if (!direct)
            return;
        const struct onnxq_tensor *wt = &s->wc->value;
        int ax = wops[w].axis == -2 ? onnxq_quant_weight_axis(n, wt) : (wt->ndim > wops[w].axis ? wops[w].axis : -1);
        if (s->axis == AXIS_UNSET)
            s->axis = ax;
        else if (s->axis != ax)
            s->axis = AXIS_CONFLICT;
        return;
    }
    int mv = onnxq_node_in_default_domain(n) ? find_mop(n) : -1;
    if (mv >= 0 && (mops[mv].any_slot || k == 0)) {
        for (size_t o = 0; o < n->n_outputs && !s->bad; o++)
            if (*n->outputs[o])
                scan_value(s, h, n->outputs[o], in_body, false);
        return;
    }
    s->bad = true;
}

/* Every read of `v` in h and, where not shadowed, in h's bodies. */
static void scan_value(struct scan *s, const struct onnxq_graph *h, const char *v, bool in_body, bool direct)
{
    if (s->bad)
        return;
    if (++s->steps > SCAN_MAX_STEPS) {
        s->bad = true;
        return;
    }
    if (onnxq_graph_is_output(h, v)) {
        s->bad = true;  /* leaves the graph as a value */
        return;
    }
    for (size_t i = 0; i < h->n_nodes && !s->bad; i++) {
        const struct onnxq_node *n = h->nodes[i];
        for (size_t k = 0; k < n->n_inputs && !s->bad; k++)
            if (strcmp(n->inputs[k], v) == 0)
                scan_use(s, h, n, k, in_body, direct);
        for (size_t a = 0; a < n->n_attrs && !s->bad; a++) {
            const struct onnxq_attr *at = &n->attrs[a];
            if (at->g && !defines(at->g, v))
                scan_value(s, at->g, v, true, direct);
            for (size_t b = 0; b < at->n_graphs && !s->bad; b++)
                if (!defines(at->graphs[b], v))
                    scan_value(s, at->graphs[b], v, true, direct);
        }
    }
}

/* ------------------------------------------------------------- rewrite */

struct walk {
    struct onnxq_namegen *ng;
    const struct onnxq_quant_options *o;
    struct onnxq_subgraph_stats st;
};

/* Store g->inits[*i] as int8 when every use is a weight use; on success
 * the float initializer is gone and *removed is set. */
static enum onnxq_status try_init(struct walk *w, struct onnxq_graph *g, bool is_main, size_t i, bool *removed,
                                  struct onnxq_error *err)
{
    struct onnxq_constant *wc = g->inits[i];
    *removed = false;
    if (wc->value.dtype != ONNXQ_DT_FLOAT || wc->value.ndim < 1 ||
        onnxq_tensor_numel(&wc->value) < ONNXQ_SUBGRAPH_MIN_NUMEL)
        return ONNXQ_OK;
    /* a graph input of the same name overrides it at run time */
    if (is_input(g, wc->name))
        return ONNXQ_OK;
    struct scan s = {.o = w->o, .wc = wc, .axis = AXIS_UNSET};
    scan_value(&s, g, wc->name, !is_main, true);
    if (is_main && s.body_uses == 0)
        return ONNXQ_OK;  /* the main graph's own: onnxq_quantize_model's */
    if (s.bad || s.weight_uses == 0) {
        w->st.kept_float++;
        return ONNXQ_OK;
    }
    int axis;
    if (w->o->per_tensor || s.axis == AXIS_CONFLICT)
        axis = -1;
    else if (s.axis == AXIS_UNSET)  /* only reached through movement ops */
        axis = wc->value.ndim >= 2 ? 0 : -1;
    else
        axis = s.axis;
    int qmax = w->o->reduce_range ? 63 : 127;
    struct onnxq_wstore ws;
    enum onnxq_status st = onnxq_quant_store_weight(g, w->ng, wc, axis, qmax, ONNXQ_WFORM_FOLD, NULL, &ws, err);
    if (st != ONNXQ_OK)
        return st;
    /* new initializers went to the end: wc is still g->inits[i] */
    if (onnxq_graph_rewire(g, wc->name, ws.out) < 0)
        return onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory while rewiring weight '%s'", wc->name);
    onnxq_constant_free(wc);
    memmove(&g->inits[i], &g->inits[i + 1], (g->n_inits - i - 1) * sizeof(*g->inits));
    g->n_inits--;
    *removed = true;
    w->st.weights_int8++;
    w->st.bytes_before += ws.bytes_before;
    w->st.bytes_after += ws.bytes_after;
    return ONNXQ_OK;
}

static enum onnxq_status walk_graph(struct walk *w, struct onnxq_graph *g, bool is_main, int depth,
                                    struct onnxq_error *err)
{
    enum onnxq_status st = ONNXQ_OK;
    if (depth > 64)
        return onnxq_fail(err, ONNXQ_E_UNSUPPORTED, "subgraphs nested more than 64 deep in graph '%s'",
                          g->name ? g->name : "");
    if (!is_main)
        w->st.bodies++;
    /* only the initializers that were there: the int8 and scale ones that
     * storing adds at the end are not candidates */
    size_t n = g->n_inits;
    for (size_t i = 0; i < n;) {
        bool removed = false;
        if ((st = try_init(w, g, is_main, i, &removed, err)) != ONNXQ_OK)
            return st;
        if (removed)
            n--;
        else
            i++;
    }
    for (size_t i = 0; i < g->n_nodes; i++) {
        const struct onnxq_node *nd = g->nodes[i];
        for (size_t a = 0; a < nd->n_attrs; a++) {
            const struct onnxq_attr *at = &nd->attrs[a];
            if (at->g && (st = walk_graph(w, at->g, false, depth + 1, err)) != ONNXQ_OK)
                return st;
            for (size_t b = 0; b < at->n_graphs; b++)
                if ((st = walk_graph(w, at->graphs[b], false, depth + 1, err)) != ONNXQ_OK)
                    return st;
        }
    }
    return ONNXQ_OK;
}

enum onnxq_status onnxq_quant_subgraphs(struct onnxq_model *m, struct onnxq_namegen *ng,
                                        const struct onnxq_quant_options *o, struct onnxq_quant_report *r,
                                        struct onnxq_subgraph_stats *stats, struct onnxq_error *err)
{
    if (!m || !m->graph || !ng || !o)
        return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "onnxq_quant_subgraphs: model, names and options are required");
    struct walk w = {.ng = ng, .o = o};
    if (onnxq_graph_count_subgraphs(m->graph) > 0) {
        enum onnxq_status st = walk_graph(&w, m->graph, true, 0, err);
        if (st != ONNXQ_OK)
            return st;
    }
    if (r) {
        r->weights_int8 += w.st.weights_int8;
        r->weight_bytes_before += w.st.bytes_before;
        r->weight_bytes_after += w.st.bytes_after;
    }
    if (stats)
        *stats = w.st;
    return ONNXQ_OK;
}
