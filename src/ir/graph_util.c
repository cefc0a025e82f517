#include "ir/graph_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

static const char *node_label(const struct onnxq_node *n, char *buf, size_t size)
{
    if (n->name && *n->name)
        snprintf(buf, size, "'%s' (%s)", n->name, n->op_type ? n->op_type : "?");
    else
        snprintf(buf, size, "(unnamed %s)", n->op_type ? n->op_type : "?");
    return buf;
}

/* ------------------------------------------------------ implicit inputs */

struct name_set {
    struct onnxq_strmap map;
    bool oom;
};

static void set_add(struct name_set *s, const char *name)
{
    if (name && *name && !onnxq_strmap_put(&s->map, name, (void *)1))
        s->oom = true;
}

/* Report names read in g (recursively) that are not defined within g or its
 * own ancestors-within-the-subgraph chain. `defined` holds names defined by
 * the enclosing subgraph levels below the outer graph. */
struct implicit_walk {
    onnxq_name_fn fn;
    void *user;
};

struct scope_chain {
    const struct scope_chain *parent;
    struct name_set defs;
};

static bool chain_has(const struct scope_chain *c, const char *name)
{
    for (; c; c = c->parent)
        if (onnxq_strmap_has(&c->defs.map, name))
            return true;
    return false;
}

static void walk_subgraph(const struct onnxq_graph *g, const struct scope_chain *parent,
                          struct implicit_walk *w);

struct sub_ctx {
    const struct scope_chain *chain;
    struct implicit_walk *w;
};

static void walk_sub_cb(struct onnxq_graph *sub, void *user)
{
    struct sub_ctx *c = user;
    walk_subgraph(sub, c->chain, c->w);
}

static void walk_subgraph(const struct onnxq_graph *g, const struct scope_chain *parent,
                          struct implicit_walk *w)
{
    struct scope_chain sc = {.parent = parent};
    for (size_t i = 0; i < g->n_inputs; i++)
        set_add(&sc.defs, g->inputs[i].name);
    for (size_t i = 0; i < g->n_inits; i++)
        set_add(&sc.defs, g->inits[i]->name);
    for (size_t i = 0; i < g->n_nodes; i++)
        for (size_t k = 0; k < g->nodes[i]->n_outputs; k++)
            set_add(&sc.defs, g->nodes[i]->outputs[k]);
    for (size_t i = 0; i < g->n_nodes; i++) {
        const struct onnxq_node *n = g->nodes[i];
        for (size_t k = 0; k < n->n_inputs; k++)
            if (*n->inputs[k] && !chain_has(&sc, n->inputs[k]))
                w->fn(n->inputs[k], w->user);
        struct sub_ctx c = {&sc, w};
        onnxq_node_for_each_subgraph(n, walk_sub_cb, &c);
    }
    for (size_t i = 0; i < g->n_outputs; i++)
        if (g->outputs[i].name && *g->outputs[i].name && !chain_has(&sc, g->outputs[i].name))
            w->fn(g->outputs[i].name, w->user);
    onnxq_strmap_free(&sc.defs.map);
}

static void implicit_cb(struct onnxq_graph *sub, void *user)
{
    walk_subgraph(sub, NULL, user);
}

void onnxq_node_implicit_inputs(const struct onnxq_node *n, onnxq_name_fn fn, void *user)
{
    struct implicit_walk w = {fn, user};
    onnxq_node_for_each_subgraph(n, implicit_cb, &w);
}

/* ------------------------------------------------------------ validation */

struct vscope {
    const struct vscope *parent;
    struct onnxq_strmap defs;  /* name -> defining node (or NULL marker 1) */
};

static bool vscope_has(const struct vscope *s, const char *name)
{
    for (; s; s = s->parent)
        if (onnxq_strmap_has(&s->defs, name))
            return true;
    return false;
}

static enum onnxq_status validate_graph(const struct onnxq_graph *g, const struct vscope *parent,
                                        struct onnxq_error *err);

struct vsub {
    const struct vscope *scope;
    struct onnxq_error *err;
    enum onnxq_status st;
};

static void validate_sub_cb(struct onnxq_graph *sub, void *user)
{
    struct vsub *v = user;
    if (v->st == ONNXQ_OK)
        v->st = validate_graph(sub, v->scope, v->err);
}

static const char GRAPH_INPUT[] = "graph input";
static const char INITIALIZER[] = "initializer";

static enum onnxq_status validate_graph(const struct onnxq_graph *g, const struct vscope *parent,
                                        struct onnxq_error *err)
{
    enum onnxq_status st = ONNXQ_OK;
    struct vscope s = {.parent = parent};
    const char *gname = g->name ? g->name : "";
    char lb[300], lb2[300];
    size_t *order = NULL;

    for (size_t i = 0; i < g->n_inputs; i++) {
        const char *nm = g->inputs[i].name;
        if (!nm || !*nm) {
            st = onnxq_fail(err, ONNXQ_E_INVALID_MODEL, "graph '%s': input #%zu has no name", gname, i);
            goto out;
        }
        if (onnxq_strmap_has(&s.defs, nm)) {
            st = onnxq_fail(err, ONNXQ_E_INVALID_MODEL, "graph '%s': input name '%s' is listed twice",
                            gname, nm);
            goto out;
        }
        if (!onnxq_strmap_put(&s.defs, nm, (void *)GRAPH_INPUT))
            goto oom;
    }
    for (size_t i = 0; i < g->n_inits; i++) {
        const char *nm = g->inits[i]->name;
        const void *prev = onnxq_strmap_get(&s.defs, nm);
        if (prev == INITIALIZER) {
            st = onnxq_fail(err, ONNXQ_E_INVALID_MODEL, "graph '%s': initializer name '%s' is used twice",
                            gname, nm);
            goto out;
        }
        /* An initializer may also be listed as a graph input (IR < 4 style). */
        if (!prev && !onnxq_strmap_put(&s.defs, nm, (void *)INITIALIZER))
            goto oom;
    }
    for (size_t i = 0; i < g->n_nodes; i++) {
        const struct onnxq_node *n = g->nodes[i];
        for (size_t k = 0; k < n->n_outputs; k++) {
            const char *nm = n->outputs[k];
            if (!*nm)
                continue;
            const void *prev = onnxq_strmap_get(&s.defs, nm);
            if (prev) {
                const char *what = prev == GRAPH_INPUT ? "a graph input"
                                 : prev == INITIALIZER ? "an initializer"
                                 : node_label(prev, lb2, sizeof(lb2));
                st = onnxq_fail(err, ONNXQ_E_INVALID_MODEL,
                                "graph '%s': duplicate output name '%s': node %s writes it, and so does %s",
                                gname, nm, node_label(n, lb, sizeof(lb)), what);
                goto out;
            }
            if (!onnxq_strmap_put(&s.defs, nm, (void *)n))
                goto oom;
        }
    }
    for (size_t i = 0; i < g->n_nodes; i++) {
        const struct onnxq_node *n = g->nodes[i];
        for (size_t k = 0; k < n->n_inputs; k++) {
            const char *nm = n->inputs[k];
            if (*nm && !vscope_has(&s, nm)) {
                st = onnxq_fail(err, ONNXQ_E_INVALID_MODEL,
                                "graph '%s': node %s reads input '%s', which no node, graph input or "
                                "initializer produces", gname, node_label(n, lb, sizeof(lb)), nm);
                goto out;
            }
        }
    }
    for (size_t i = 0; i < g->n_outputs; i++) {
        const char *nm = g->outputs[i].name;
        if (!nm || !*nm || !vscope_has(&s, nm)) {
            st = onnxq_fail(err, ONNXQ_E_INVALID_MODEL,
                            "graph '%s': output '%s' is not produced by any node, input or initializer",
                            gname, nm ? nm : "");
            goto out;
        }
    }
    if (g->n_nodes) {
        order = malloc(g->n_nodes * sizeof(*order));
        if (!order)
            goto oom;
        if ((st = onnxq_graph_toposort(g, order, err)))
            goto out;
    }
    for (size_t i = 0; i < g->n_nodes; i++) {
        struct vsub v = {&s, err, ONNXQ_OK};
        onnxq_node_for_each_subgraph(g->nodes[i], validate_sub_cb, &v);
        if ((st = v.st)) {
            onnxq_error_prefix(err, "in subgraph of node %s: ", node_label(g->nodes[i], lb, sizeof(lb)));
            goto out;
        }
    }
    goto out;
oom:
    st = onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory while validating graph '%s'", gname);
out:
    free(order);
    onnxq_strmap_free(&s.defs);
    return st;
}

enum onnxq_status onnxq_model_validate(const struct onnxq_model *m, struct onnxq_error *err)
{
    if (!m->graph)
        return onnxq_fail(err, ONNXQ_E_INVALID_MODEL, "model has no graph");
    return validate_graph(m->graph, NULL, err);
}

/* ----------------------------------------------------------------- index */

static struct onnxq_value_entry *index_entry(struct onnxq_graph_index *idx, const char *name, bool *oom)
{
    void *v = onnxq_strmap_get(&idx->map, name);
    if (v)
        return &idx->entries[(size_t)(uintptr_t)v - 1];
    if (idx->n == idx->cap) {
        size_t nc = idx->cap ? idx->cap * 2 : 64;
        struct onnxq_value_entry *ne = realloc(idx->entries, nc * sizeof(*ne));
        if (!ne) {
            *oom = true;
            return NULL;
        }
        idx->entries = ne;
        idx->cap = nc;
    }
    struct onnxq_value_entry *e = &idx->entries[idx->n];
    memset(e, 0, sizeof(*e));
    e->name = name;
    e->producer_slot = -1;
    if (!onnxq_strmap_put(&idx->map, name, (void *)(uintptr_t)(idx->n + 1))) {
        *oom = true;
        return NULL;
    }
    idx->n++;
    return e;
}

static bool add_use(struct onnxq_value_entry *e, struct onnxq_node *n, int slot)
{
    if (e->n_consumers == e->cap_consumers) {
        size_t nc = e->cap_consumers ? e->cap_consumers * 2 : 2;
        struct onnxq_value_use *nu = realloc(e->consumers, nc * sizeof(*nu));
        if (!nu)
            return false;
        e->consumers = nu;
        e->cap_consumers = nc;
    }
    e->consumers[e->n_consumers].node = n;
    e->consumers[e->n_consumers].slot = slot;
    e->n_consumers++;
    return true;
}

struct implicit_use {
    struct onnxq_graph_index *idx;
    struct onnxq_node *node;
    bool oom;
};

static void implicit_use_cb(const char *name, void *user)
{
    struct implicit_use *u = user;
    struct onnxq_value_entry *e = index_entry(u->idx, name, &u->oom);
    if (!e)
        return;
    /* one implicit use per node and name is enough */
    if (e->n_consumers && e->consumers[e->n_consumers - 1].node == u->node &&
        e->consumers[e->n_consumers - 1].slot == -1)
        return;
    if (!add_use(e, u->node, -1))
        u->oom = true;
}

enum onnxq_status onnxq_graph_index_build(const struct onnxq_graph *g, struct onnxq_graph_index *idx,
                                          struct onnxq_error *err)
{
    bool oom = false;
    memset(idx, 0, sizeof(*idx));
    for (size_t i = 0; i < g->n_inputs && !oom; i++) {
        struct onnxq_value_entry *e = index_entry(idx, g->inputs[i].name, &oom);
        if (e)
            e->is_graph_input = true;
    }
    for (size_t i = 0; i < g->n_inits && !oom; i++) {
        struct onnxq_value_entry *e = index_entry(idx, g->inits[i]->name, &oom);
        if (e)
            e->is_initializer = true;
    }
    for (size_t i = 0; i < g->n_nodes && !oom; i++) {
        struct onnxq_node *n = g->nodes[i];
        for (size_t k = 0; k < n->n_outputs && !oom; k++) {
            if (!*n->outputs[k])
                continue;
            struct onnxq_value_entry *e = index_entry(idx, n->outputs[k], &oom);
            if (e) {
                e->producer = n;
                e->producer_slot = (int)k;
            }
        }
    }
    for (size_t i = 0; i < g->n_nodes && !oom; i++) {
        struct onnxq_node *n = g->nodes[i];
        for (size_t k = 0; k < n->n_inputs && !oom; k++) {
            if (!*n->inputs[k])
                continue;
            struct onnxq_value_entry *e = index_entry(idx, n->inputs[k], &oom);
            if (e && !add_use(e, n, (int)k))
                oom = true;
        }
        struct implicit_use u = {idx, n, false};
        onnxq_node_implicit_inputs(n, implicit_use_cb, &u);
        oom |= u.oom;
    }
    for (size_t i = 0; i < g->n_outputs && !oom; i++) {
        struct onnxq_value_entry *e = index_entry(idx, g->outputs[i].name, &oom);
        if (e)
            e->is_graph_output = true;
    }
    if (oom) {
        onnxq_graph_index_free(idx);
        return onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory indexing graph");
    }
    return ONNXQ_OK;
}

const struct onnxq_value_entry *onnxq_graph_index_get(const struct onnxq_graph_index *idx, const char *name)
{
    void *v = onnxq_strmap_get(&idx->map, name);
    return v ? &idx->entries[(size_t)(uintptr_t)v - 1] : NULL;
}

void onnxq_graph_index_free(struct onnxq_graph_index *idx)
{
    if (!idx)
        return;
    for (size_t i = 0; i < idx->n; i++)
        free(idx->entries[i].consumers);
    free(idx->entries);
    onnxq_strmap_free(&idx->map);
    memset(idx, 0, sizeof(*idx));
}

/* ------------------------------------------------------------- toposort */

struct dep_ctx {
    const struct onnxq_strmap *producer; /* name -> node index + 1 */
    size_t *deps;
    size_t n, cap;
    bool oom;
};

static void dep_push(struct dep_ctx *d, const char *name)
{
    void *p = onnxq_strmap_get(d->producer, name);
    if (!p)
        return;
    if (d->n == d->cap) {
        size_t nc = d->cap ? d->cap * 2 : 16;
        size_t *nd = realloc(d->deps, nc * sizeof(*nd));
        if (!nd) {
            d->oom = true;
            return;
        }
        d->deps = nd;
        d->cap = nc;
    }
    d->deps[d->n++] = (size_t)(uintptr_t)p - 1;
}

static void dep_cb(const char *name, void *user)
{
    dep_push(user, name);
}

enum onnxq_status onnxq_graph_toposort(const struct onnxq_graph *g, size_t *order, struct onnxq_error *err)
{
    enum onnxq_status st = ONNXQ_OK;
    size_t n = g->n_nodes;
    struct onnxq_strmap producer = {0};
    /* CSR adjacency: dependencies of node i are deps[start[i]..start[i+1]) */
    size_t *start = calloc(n + 1, sizeof(*start));
    unsigned char *mark = calloc(n ? n : 1, 1);  /* 0 new, 1 on stack, 2 done */
    size_t *stack = malloc((n ? n : 1) * sizeof(*stack));
    size_t *cursor = calloc(n ? n : 1, sizeof(*cursor));
    struct dep_ctx d = {.producer = &producer};
    if (!start || !mark || !stack || !cursor)
        goto oom;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < g->nodes[i]->n_outputs; k++)
            if (*g->nodes[i]->outputs[k] &&
                !onnxq_strmap_put(&producer, g->nodes[i]->outputs[k], (void *)(uintptr_t)(i + 1)))
                goto oom;
    for (size_t i = 0; i < n; i++) {
        start[i] = d.n;
        const struct onnxq_node *nd = g->nodes[i];
        for (size_t k = 0; k < nd->n_inputs; k++)
            if (*nd->inputs[k])
                dep_push(&d, nd->inputs[k]);
        onnxq_node_implicit_inputs(nd, dep_cb, &d);
        if (d.oom)
            goto oom;
    }
    start[n] = d.n;

    /* Iterative DFS in original order: emits a node after its producers, so
     * an already sorted graph keeps its order. */
    size_t emitted = 0;
    for (size_t root = 0; root < n; root++) {
        if (mark[root])
            continue;
        size_t sp = 0;
        stack[sp++] = root;
        mark[root] = 1;
        cursor[root] = start[root];
        while (sp) {
            size_t v = stack[sp - 1];
            if (cursor[v] < start[v + 1]) {
                size_t u = d.deps[cursor[v]++];
                if (mark[u] == 0) {
                    mark[u] = 1;
                    cursor[u] = start[u];
                    stack[sp++] = u;
                } else if (mark[u] == 1) {
                    /* cycle: the stack from u to v is the loop */
                    char names[700];
                    size_t used = 0;
                    size_t first = 0;
                    while (stack[first] != u)
                        first++;
                    names[0] = '\0';
                    for (size_t s = first; s < sp && used + 1 < sizeof(names); s++) {
                        char lb[300];
                        int w = snprintf(names + used, sizeof(names) - used, "%s%s", s > first ? " -> " : "",
                                         node_label(g->nodes[stack[s]], lb, sizeof(lb)));
                        if (w < 0)
                            break;
                        used += (size_t)w;
                    }
                    st = onnxq_fail(err, ONNXQ_E_INVALID_MODEL, "graph '%s' has a cycle through nodes %s",
                                    g->name ? g->name : "", names);
                    goto out;
                }
            } else {
                mark[v] = 2;
                order[emitted++] = v;
                sp--;
            }
        }
    }
    goto out;
oom:
    st = onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory sorting graph");
out:
    onnxq_strmap_free(&producer);
    free(d.deps);
    free(start);
    free(mark);
    free(stack);
    free(cursor);
    return st;
}

enum onnxq_status onnxq_graph_sort(struct onnxq_graph *g, struct onnxq_error *err)
{
    if (g->n_nodes < 2)
        return ONNXQ_OK;
    size_t *order = malloc(g->n_nodes * sizeof(*order));
    struct onnxq_node **nn = malloc(g->n_nodes * sizeof(*nn));
    enum onnxq_status st = ONNXQ_OK;
    if (!order || !nn) {
        st = onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory sorting graph");
        goto out;
    }
    if ((st = onnxq_graph_toposort(g, order, err)))
        goto out;
    for (size_t i = 0; i < g->n_nodes; i++)
        nn[i] = g->nodes[order[i]];
    memcpy(g->nodes, nn, g->n_nodes * sizeof(*nn));
out:
    free(order);
    free(nn);
    return st;
}

/* --------------------------------------------------------------- editing */

struct onnxq_node *onnxq_node_new(const char *op_type, const char *name, size_t n_inputs,
                                  const char *const *inputs, size_t n_outputs, const char *const *outputs)
{
    struct onnxq_node *n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    bool ok = true;
    n->op_type = onnxq_strdup(op_type);
    ok &= n->op_type != NULL;
    if (name) {
        n->name = onnxq_strdup(name);
        ok &= n->name != NULL;
    }
    if (n_inputs) {
        n->inputs = calloc(n_inputs, sizeof(char *));
        ok &= n->inputs != NULL;
        if (n->inputs) {
            n->n_inputs = n_inputs;
            for (size_t i = 0; i < n_inputs; i++)
                ok &= (n->inputs[i] = onnxq_strdup(inputs[i] ? inputs[i] : "")) != NULL;
        }
    }
    if (n_outputs) {
        n->outputs = calloc(n_outputs, sizeof(char *));
        ok &= n->outputs != NULL;
        if (n->outputs) {
            n->n_outputs = n_outputs;
            for (size_t i = 0; i < n_outputs; i++)
                ok &= (n->outputs[i] = onnxq_strdup(outputs[i] ? outputs[i] : "")) != NULL;
        }
    }
    if (!ok) {
        onnxq_node_free(n);
        return NULL;
    }
    return n;
}

static struct onnxq_attr *new_attr(struct onnxq_node *n, const char *name, enum onnxq_attr_type type)
{
    struct onnxq_attr *na = realloc(n->attrs, (n->n_attrs + 1) * sizeof(*na));
    if (!na)
        return NULL;
    n->attrs = na;
    struct onnxq_attr *a = &na[n->n_attrs];
    memset(a, 0, sizeof(*a));
    if (!(a->name = onnxq_strdup(name)))
        return NULL;
    a->has_type = true;
    a->type = type;
    n->n_attrs++;
    return a;
}

bool onnxq_node_set_int(struct onnxq_node *n, const char *name, int64_t v)
{
    struct onnxq_attr *a = new_attr(n, name, ONNXQ_ATTR_INT);
    if (!a)
        return false;
    a->has_i = true;
    a->i = v;
    return true;
}

bool onnxq_node_set_float(struct onnxq_node *n, const char *name, float v)
{
    struct onnxq_attr *a = new_attr(n, name, ONNXQ_ATTR_FLOAT);
    if (!a)
        return false;
    a->has_f = true;
    a->f = v;
    return true;
}

bool onnxq_node_set_ints(struct onnxq_node *n, const char *name, const int64_t *v, size_t count)
{
    struct onnxq_attr *a = new_attr(n, name, ONNXQ_ATTR_INTS);
    if (!a)
        return false;
    if (count) {
        if (!(a->ints = malloc(count * sizeof(int64_t))))
            return false;
        memcpy(a->ints, v, count * sizeof(int64_t));
        a->n_ints = count;
    }
    return true;
}

bool onnxq_node_set_string(struct onnxq_node *n, const char *name, const char *s)
{
    struct onnxq_attr *a = new_attr(n, name, ONNXQ_ATTR_STRING);
    if (!a)
        return false;
    size_t len = strlen(s);
    a->has_s = true;
    a->s.len = len;
    if (len) {
        if (!(a->s.data = malloc(len)))
            return false;
        memcpy(a->s.data, s, len);
    }
    return true;
}

bool onnxq_node_set_tensor(struct onnxq_node *n, const char *name, struct onnxq_constant *t)
{
    struct onnxq_attr *a = new_attr(n, name, ONNXQ_ATTR_TENSOR);
    if (!a) {
        onnxq_constant_free(t);
        return false;
    }
    a->t = t;
    return true;
}

bool onnxq_node_set_input(struct onnxq_node *n, size_t slot, const char *name)
{
    if (slot >= n->n_inputs)
        return false;
    char *c = onnxq_strdup(name);
    if (!c)
        return false;
    free(n->inputs[slot]);
    n->inputs[slot] = c;
    return true;
}

bool onnxq_graph_insert_node(struct onnxq_graph *g, size_t pos, struct onnxq_node *n)
{
    if (pos > g->n_nodes)
        pos = g->n_nodes;
    if (g->n_nodes == g->cap_nodes) {
        size_t nc = g->cap_nodes ? g->cap_nodes * 2 : 16;
        struct onnxq_node **nn = realloc(g->nodes, nc * sizeof(*nn));
        if (!nn)
            return false;
        g->nodes = nn;
        g->cap_nodes = nc;
    }
    memmove(&g->nodes[pos + 1], &g->nodes[pos], (g->n_nodes - pos) * sizeof(*g->nodes));
    g->nodes[pos] = n;
    g->n_nodes++;
    return true;
}

struct onnxq_node *onnxq_graph_detach_node(struct onnxq_graph *g, size_t pos)
{
    if (pos >= g->n_nodes)
        return NULL;
    struct onnxq_node *n = g->nodes[pos];
    memmove(&g->nodes[pos], &g->nodes[pos + 1], (g->n_nodes - pos - 1) * sizeof(*g->nodes));
    g->n_nodes--;
    return n;
}

void onnxq_graph_remove_node(struct onnxq_graph *g, size_t pos)
{
    onnxq_node_free(onnxq_graph_detach_node(g, pos));
}

bool onnxq_graph_add_init(struct onnxq_graph *g, struct onnxq_constant *c)
{
    if (g->n_inits == g->cap_inits) {
        size_t nc = g->cap_inits ? g->cap_inits * 2 : 16;
        struct onnxq_constant **ni = realloc(g->inits, nc * sizeof(*ni));
        if (!ni)
            return false;
        g->inits = ni;
        g->cap_inits = nc;
    }
    g->inits[g->n_inits++] = c;
    return true;
}

static bool defines(const struct onnxq_graph *g, const char *name)
{
    for (size_t i = 0; i < g->n_inputs; i++)
        if (g->inputs[i].name && strcmp(g->inputs[i].name, name) == 0)
            return true;
    if (onnxq_graph_find_init(g, name))
        return true;
    for (size_t i = 0; i < g->n_nodes; i++)
        for (size_t k = 0; k < g->nodes[i]->n_outputs; k++)
            if (strcmp(g->nodes[i]->outputs[k], name) == 0)
                return true;
    return false;
}

struct rewire_ctx {
    const char *from, *to;
    long count;
    bool oom;
};

static long rewire_graph(struct onnxq_graph *g, const char *from, const char *to, bool outputs);

static void rewire_sub_cb(struct onnxq_graph *sub, void *user)
{
    struct rewire_ctx *r = user;
    if (r->oom || defines(sub, r->from))  /* shadowed: inner reads are not ours */
        return;
    long c = rewire_graph(sub, r->from, r->to, true);
    if (c < 0)
        r->oom = true;
    else
        r->count += c;
}

static long rewire_graph(struct onnxq_graph *g, const char *from, const char *to, bool outputs)
{
    long count = 0;
    for (size_t i = 0; i < g->n_nodes; i++) {
        struct onnxq_node *n = g->nodes[i];
        for (size_t k = 0; k < n->n_inputs; k++) {
            if (strcmp(n->inputs[k], from) == 0) {
                if (!onnxq_node_set_input(n, k, to))
                    return -1;
                count++;
            }
        }
        struct rewire_ctx r = {from, to, 0, false};
        onnxq_node_for_each_subgraph(n, rewire_sub_cb, &r);
        if (r.oom)
            return -1;
        count += r.count;
    }
    if (outputs) {
        for (size_t i = 0; i < g->n_outputs; i++) {
            if (g->outputs[i].name && strcmp(g->outputs[i].name, from) == 0) {
                char *c = onnxq_strdup(to);
                if (!c)
                    return -1;
                free(g->outputs[i].name);
                g->outputs[i].name = c;
                count++;
            }
        }
    }
    return count;
}

long onnxq_graph_rewire(struct onnxq_graph *g, const char *from, const char *to)
{
    /* `from` may point into a string we are about to free: copy it. */
    char *f = onnxq_strdup(from);
    if (!f)
        return -1;
    long c = rewire_graph(g, f, to, true);
    free(f);
    return c;
}

/* ------------------------------------------------------------ namegen */

static bool ng_reserve(struct onnxq_namegen *ng, const char *name, bool copy)
{
    if (!name || !*name || onnxq_strmap_has(&ng->used, name))
        return true;
    const char *key = name;
    if (copy) {
        if (ng->n_owned == ng->cap_owned) {
            size_t nc = ng->cap_owned ? ng->cap_owned * 2 : 64;
            char **no = realloc(ng->owned, nc * sizeof(*no));
            if (!no)
                return false;
            ng->owned = no;
            ng->cap_owned = nc;
        }
        char *c = onnxq_strdup(name);
        if (!c)
            return false;
        ng->owned[ng->n_owned++] = c;
        key = c;
    }
    return onnxq_strmap_put(&ng->used, key, (void *)1);
}

struct ng_walk {
    struct onnxq_namegen *ng;
    bool oom;
};

static void ng_graph(const struct onnxq_graph *g, struct ng_walk *w);

static void ng_sub_cb(struct onnxq_graph *sub, void *user)
{
    ng_graph(sub, user);
}

static void ng_graph(const struct onnxq_graph *g, struct ng_walk *w)
{
    for (size_t i = 0; i < g->n_inputs; i++)
        w->oom |= !ng_reserve(w->ng, g->inputs[i].name, true);
    for (size_t i = 0; i < g->n_outputs; i++)
        w->oom |= !ng_reserve(w->ng, g->outputs[i].name, true);
    for (size_t i = 0; i < g->n_value_info; i++)
        w->oom |= !ng_reserve(w->ng, g->value_info[i].name, true);
    for (size_t i = 0; i < g->n_inits; i++)
        w->oom |= !ng_reserve(w->ng, g->inits[i]->name, true);
    for (size_t i = 0; i < g->n_nodes; i++) {
        const struct onnxq_node *n = g->nodes[i];
        w->oom |= !ng_reserve(w->ng, n->name, true);
        for (size_t k = 0; k < n->n_inputs; k++)
            w->oom |= !ng_reserve(w->ng, n->inputs[k], true);
        for (size_t k = 0; k < n->n_outputs; k++)
            w->oom |= !ng_reserve(w->ng, n->outputs[k], true);
        onnxq_node_for_each_subgraph(n, ng_sub_cb, w);
    }
}

enum onnxq_status onnxq_namegen_init(struct onnxq_namegen *ng, const struct onnxq_model *m,
                                     struct onnxq_error *err)
{
    memset(ng, 0, sizeof(*ng));
    struct ng_walk w = {ng, false};
    if (m->graph)
        ng_graph(m->graph, &w);
    if (w.oom) {
        onnxq_namegen_free(ng);
        return onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory collecting names");
    }
    return ONNXQ_OK;
}

const char *onnxq_namegen_make(struct onnxq_namegen *ng, const char *base)
{
    /* Sized for base + "_" + any unsigned long: a fixed buffer would cut long
     * bases into names already handed out (or loop forever on them). An
     * empty base, which ng_reserve would not record, gets a suffix too. */
    size_t size = strlen(base) + 32;
    char *buf = malloc(size);
    if (!buf)
        return NULL;
    if (*base && !onnxq_strmap_has(&ng->used, base)) {
        snprintf(buf, size, "%s", base);
    } else {
        do
            snprintf(buf, size, "%s_%lu", base, ++ng->counter);
        while (onnxq_strmap_has(&ng->used, buf));
    }
    bool ok = ng_reserve(ng, buf, true);
    free(buf);
    return ok ? ng->owned[ng->n_owned - 1] : NULL;
}

void onnxq_namegen_free(struct onnxq_namegen *ng)
{
    if (!ng)
        return;
    for (size_t i = 0; i < ng->n_owned; i++)
        free(ng->owned[i]);
    free(ng->owned);
    onnxq_strmap_free(&ng->used);
    memset(ng, 0, sizeof(*ng));
}

/* ------------------------------------------------------------ dead code */

struct live_ctx {
    struct onnxq_strmap *live;
    bool oom;
};

static void live_cb(const char *name, void *user)
{
    struct live_ctx *l = user;
    if (!onnxq_strmap_put(l->live, name, (void *)1))
        l->oom = true;
}

long onnxq_graph_eliminate_dead(struct onnxq_graph *g, struct onnxq_error *err)
{
    long removed = 0;
    size_t n = g->n_nodes;
    size_t *order = malloc((n ? n : 1) * sizeof(*order));
    unsigned char *keep = calloc(n ? n : 1, 1);
    struct onnxq_strmap live = {0};
    struct live_ctx lc = {&live, false};
    if (!order || !keep) {
        onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory");
        removed = -1;
        goto out;
    }
    if (n && onnxq_graph_toposort(g, order, err)) {
        removed = -1;
        goto out;
    }
    for (size_t i = 0; i < g->n_outputs; i++)
        live_cb(g->outputs[i].name, &lc);
    for (size_t r = n; r-- > 0;) {
        size_t i = order[r];
        const struct onnxq_node *nd = g->nodes[i];
        for (size_t k = 0; k < nd->n_outputs && !keep[i]; k++)
            if (*nd->outputs[k] && onnxq_strmap_has(&live, nd->outputs[k]))
                keep[i] = 1;
        if (!keep[i])
            continue;
        for (size_t k = 0; k < nd->n_inputs; k++)
            if (*nd->inputs[k])
                live_cb(nd->inputs[k], &lc);
        onnxq_node_implicit_inputs(nd, live_cb, &lc);
    }
    if (lc.oom) {
        onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory");
        removed = -1;
        goto out;
    }
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (keep[i]) {
            g->nodes[w++] = g->nodes[i];
        } else {
            onnxq_node_free(g->nodes[i]);
            removed++;
        }
    }
    g->n_nodes = w;
    /* Initializers nobody reads any more (keep those listed as graph inputs:
     * they are overridable defaults). */
    size_t wi = 0;
    for (size_t i = 0; i < g->n_inits; i++) {
        struct onnxq_constant *c = g->inits[i];
        bool is_input = false;
        for (size_t k = 0; k < g->n_inputs && !is_input; k++)
            is_input = g->inputs[k].name && strcmp(g->inputs[k].name, c->name) == 0;
        if (is_input || onnxq_strmap_has(&live, c->name))
            g->inits[wi++] = c;
        else
            onnxq_constant_free(c);
    }
    g->n_inits = wi;
out:
    onnxq_strmap_free(&live);
    free(order);
    free(keep);
    return removed;
}
