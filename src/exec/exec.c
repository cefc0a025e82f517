#include "exec/exec.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/context.h"
#include "core/error.h"
#include "core/strmap.h"
#include "core/threadpool.h"
#include "ir/graph_util.h"
#include "ops/op.h"

/* OpenBLAS's thread setter; declared here so we do not depend on which
 * cblas.h variant is installed. */
void openblas_set_num_threads(int num_threads);

enum xkind { XV_NODE = 0, XV_CONST, XV_INPUT, XV_OUTER };

struct xvalue {
    const char *name;
    enum xkind kind;
    struct onnxq_tensor t;     /* storage for node outputs and constants */
    struct onnxq_tensor *ref;  /* where readers look */
    size_t buf_cap;            /* pool capacity of t.data when pooled (0 = not pooled) */
    int uses;                  /* reads by steps (+ implicit subgraph reads) */
    int remaining;
    bool is_graph_output;
    bool present;
    bool has_stats;            /* st: its producer's statistics (set_output_stats) */
    struct onnxq_vstats st;
};

struct xstep {
    const struct onnxq_node *node;
    const struct onnxq_op_def *def;
    void *state;
    size_t n_in;
    int *in;        /* value ids, -1 = omitted */
    size_t n_out;
    int *out;       /* value ids, -1 = omitted */
    size_t n_implicit;
    int *implicit;  /* outer-scope reads of the node's subgraphs */
};

struct pooled {
    void *p;
    size_t cap;
};

struct onnxq_exec {
    struct onnxq_context *ctx;
    const struct onnxq_model *model;
    const struct onnxq_graph *graph;
    const struct onnxq_exec *parent;
    struct onnxq_threadpool *pool;
    bool owns_pool;
    struct xvalue *v;
    size_t nv, cap_v;
    struct onnxq_strmap names;  /* name -> id + 1 */
    struct xstep *steps;
    size_t nsteps;
    size_t n_feed;
    int *feed_ids;
    const struct onnxq_value_info **feed_decl;
    size_t n_outs;
    int *out_ids;
    onnxq_node_hook hook;
    void *hook_user;
    /* statistics of output 0 gathered by the kernels (set_output_stats) */
    bool want_stats, have_stats;
    struct onnxq_vstats_sink sink;
    struct onnxq_vstats out_stats;
    const struct onnxq_vstats **arg_in_stats;  /* per input slot, arg_cap entries */
    uint64_t sample;           /* subsample to capture (set_output_sample) */
    /* the run's captured subsamples: blocks that never move during a run
     * (the hook's caller may keep pointers until the next run), reused by
     * the next one */
    struct sample_block {
        float *p;
        size_t cap, used;
        bool mapped; /* mmap'ed (onnxq_exec_reserve_sample), else malloc'ed */
    } *sblk;
    size_t n_sblk;
    bool have_sample;
    struct pooled *freelist;
    size_t n_free, cap_free;
    size_t live_bytes, pooled_bytes, peak_bytes;
    /* pooled buffers the last run handed over as graph outputs (n_outs
     * entries), which onnxq_exec_recycle_output takes back */
    struct pooled *handed;
    size_t n_handed;
    void *scratch;
    size_t scratch_cap;
    /* per-run scratch arrays for kernel arguments */
    const struct onnxq_tensor **arg_in;
    struct onnxq_tensor **arg_out;
    size_t arg_cap;
};

static void free_block(struct sample_block *b)
{
#ifdef MAP_POPULATE
    if (b->mapped) {
        munmap(b->p, b->cap * sizeof(float));
        return;
    }
#endif
    free(b->p);
}

/* ------------------------------------------------------------ buffer pool */

static void *pool_get(struct onnxq_exec *e, size_t need, size_t *cap)
{
    size_t best = (size_t)-1;
    for (size_t i = 0; i < e->n_free; i++) {
        size_t c = e->freelist[i].cap;
        if (c >= need && c <= 2 * need + 4096 && (best == (size_t)-1 || c < e->freelist[best].cap))
            best = i;
    }
    if (best != (size_t)-1) {
        void *p = e->freelist[best].p;
        *cap = e->freelist[best].cap;
        e->freelist[best] = e->freelist[--e->n_free];
        e->pooled_bytes -= *cap;
        e->live_bytes += *cap;
        return p;
    }
    size_t c = (need + 63) & ~(size_t)63;
    void *p = aligned_alloc(64, c);
    if (!p) {
        /* give the cached buffers back and retry once */
        for (size_t i = 0; i < e->n_free; i++)
            free(e->freelist[i].p);
        e->n_free = 0;
        e->pooled_bytes = 0;
        p = aligned_alloc(64, c);
        if (!p)
            return NULL;
    }
    *cap = c;
    e->live_bytes += c;
    if (e->live_bytes + e->pooled_bytes > e->peak_bytes)
        e->peak_bytes = e->live_bytes + e->pooled_bytes;
    return p;
}

static void pool_put(struct onnxq_exec *e, void *p, size_t cap)
{
    if (!p)
        return;
    e->live_bytes -= cap;
    if (e->n_free == e->cap_free) {
        size_t nc = e->cap_free ? e->cap_free * 2 : 32;
        struct pooled *nf = realloc(e->freelist, nc * sizeof(*nf));
        if (!nf) {
            free(p);
            return;
        }
        e->freelist = nf;
        e->cap_free = nc;
    }
    e->freelist[e->n_free].p = p;
    e->freelist[e->n_free].cap = cap;
    e->n_free++;
    e->pooled_bytes += cap;
}

static void release_value(struct onnxq_exec *e, struct xvalue *x)
{
    if (x->kind != XV_NODE || !x->present)
        return;
    if (x->buf_cap) {
        pool_put(e, x->t.data, x->buf_cap);
        x->buf_cap = 0;
        memset(&x->t, 0, sizeof(x->t));
    } else {
        onnxq_tensor_clear(&x->t);
    }
    x->present = false;
}

/* Allocate data for a shaped output tensor. */
static enum onnxq_status alloc_output(struct onnxq_exec *e, struct xvalue *x, const struct onnxq_node *n,
                                      struct onnxq_error *err)
{
    struct onnxq_tensor *t = &x->t;
    int64_t numel = onnxq_tensor_numel(t);
    size_t esz = onnxq_dtype_size(t->dtype);
    if (numel < 0 || !esz)
        return onnxq_op_fail(err, n, ONNXQ_E_INTERNAL, "output '%s' got an invalid shape or dtype", x->name);
    if (t->dtype == ONNXQ_DT_STRING) {
        struct onnxq_tensor s;
        enum onnxq_status st = onnxq_tensor_alloc(&s, t->dtype, t->ndim, t->dims, err);
        if (st)
            return st;
        *t = s;
        return ONNXQ_OK;
    }
    t->nbytes = (size_t)numel * esz;
    t->owns_data = false;
    t->data = NULL;
    x->buf_cap = 0;
    if (t->nbytes) {
        t->data = pool_get(e, t->nbytes, &x->buf_cap);
        if (!t->data)
            return onnxq_op_fail(err, n, ONNXQ_E_NOMEM, "out of memory for output '%s' (%zu bytes)", x->name,
                                 t->nbytes);
    }
    return ONNXQ_OK;
}

void *onnxq_exec_scratch(struct onnxq_exec *e, size_t bytes)
{
    if (bytes <= e->scratch_cap)
        return e->scratch;
    free(e->scratch);
    size_t c = (bytes + 63) & ~(size_t)63;
    e->scratch = aligned_alloc(64, c);
    e->scratch_cap = e->scratch ? c : 0;
    return e->scratch;
}

/* ---------------------------------------------------------------- prepare */

static int find_value(const struct onnxq_exec *e, const char *name)
{
    void *p = onnxq_strmap_get(&e->names, name);
    return p ? (int)((uintptr_t)p - 1) : -1;
}

static int add_value(struct onnxq_exec *e, const char *name, enum xkind kind)
{
    if (e->nv == e->cap_v) {
        size_t nc = e->cap_v ? e->cap_v * 2 : 64;
        struct xvalue *nvv = realloc(e->v, nc * sizeof(*nvv));
        if (!nvv)
            return -1;
        e->v = nvv;
        e->cap_v = nc;
    }
    struct xvalue *x = &e->v[e->nv];
    memset(x, 0, sizeof(*x));
    x->name = name;
    x->kind = kind;
    if (!onnxq_strmap_put(&e->names, name, (void *)(uintptr_t)(e->nv + 1)))
        return -1;
    return (int)e->nv++;
}

/* Resolve a read: own value, or an outer value (added as XV_OUTER). */
static int resolve_read(struct onnxq_exec *e, const char *name)
{
    int id = find_value(e, name);
    if (id >= 0)
        return id;
    for (const struct onnxq_exec *p = e->parent; p; p = p->parent) {
        int pid = find_value(p, name);
        if (pid >= 0) {
            id = add_value(e, name, XV_OUTER);
            if (id < 0)
                return -2;
            /* parents' value arrays are final once their prepare finished;
             * `ref` is re-read at run time from the parent in bind_outer */
            return id;
        }
    }
    return -1;
}

struct unsupported {
    char list[700];
    size_t used;
    size_t count;
};

static void note_unsupported(struct unsupported *u, const char *what)
{
    if (strstr(u->list, what))
        return;
    u->count++;
    if (u->used < sizeof(u->list) - 1) {
        int w = snprintf(u->list + u->used, sizeof(u->list) - u->used, "%s%s", u->used ? ", " : "", what);
        if (w > 0)
            u->used += (size_t)w;
        if (u->used >= sizeof(u->list))
            u->used = sizeof(u->list) - 1;
    }
}

static void scan_unsupported(const struct onnxq_model *m, const struct onnxq_graph *g, struct unsupported *u);

struct scan_ctx {
    const struct onnxq_model *m;
    struct unsupported *u;
};

static void scan_cb(struct onnxq_graph *sub, void *user)
{
    struct scan_ctx *s = user;
    scan_unsupported(s->m, sub, s->u);
}

static void scan_unsupported(const struct onnxq_model *m, const struct onnxq_graph *g, struct unsupported *u)
{
    for (size_t i = 0; i < g->n_nodes; i++) {
        const struct onnxq_node *n = g->nodes[i];
        const char *dom = n->domain ? n->domain : "";
        int64_t opset = onnxq_model_opset(m, dom);
        char what[300];
        if (opset < 0) {
            snprintf(what, sizeof(what), "%s (domain '%s' is not imported)", n->op_type, dom);
            note_unsupported(u, what);
        } else if (!onnxq_op_lookup(dom, n->op_type, opset)) {
            if (*dom && strcmp(dom, "ai.onnx") != 0)
                snprintf(what, sizeof(what), "%s:%s-%lld", dom, n->op_type, (long long)opset);
            else
                snprintf(what, sizeof(what), "%s-%lld", n->op_type, (long long)opset);
            note_unsupported(u, what);
        }
        struct scan_ctx s = {m, u};
        onnxq_node_for_each_subgraph(n, scan_cb, &s);
    }
}

struct implicit_ctx {
    struct onnxq_exec *e;
    struct xstep *s;
    bool failed;
};

static void implicit_cb(const char *name, void *user)
{
    struct implicit_ctx *c = user;
    if (c->failed)
        return;
    int id = resolve_read(c->e, name);
    if (id < 0) {
        c->failed = true;
        return;
    }
    for (size_t i = 0; i < c->s->n_implicit; i++)
        if (c->s->implicit[i] == id)
            return;
    int *ni = realloc(c->s->implicit, (c->s->n_implicit + 1) * sizeof(int));
    if (!ni) {
        c->failed = true;
        return;
    }
    c->s->implicit = ni;
    c->s->implicit[c->s->n_implicit++] = id;
}

/* The tensor of a default-domain Constant node with a `value` attribute. */
static const struct onnxq_constant *constant_node_value(const struct onnxq_node *n)
{
    if (strcmp(n->op_type, "Constant") != 0 || (n->domain && *n->domain && strcmp(n->domain, "ai.onnx") != 0) ||
        n->n_outputs != 1 || n->n_attrs != 1)
        return NULL;
    const struct onnxq_attr *a = onnxq_node_attr(n, "value");
    return a && a->t && a->t->value.dtype != ONNXQ_DT_STRING ? a->t : NULL;
}

static enum onnxq_status prepare(struct onnxq_exec *e, struct onnxq_error *err)
{
    enum onnxq_status st = ONNXQ_OK;
    const struct onnxq_graph *g = e->graph;
    size_t *order = NULL;
    const struct onnxq_tensor **consts = NULL;

    if (!e->parent) {
        struct unsupported u = {.used = 0};
        scan_unsupported(e->model, g, &u);
        if (u.count)
            return onnxq_fail(err, ONNXQ_E_UNSUPPORTED, "the model uses %zu operator%s that onnxq cannot run: %s",
                              u.count, u.count == 1 ? "" : "s", u.list);
    }
    /* values: initializers, inputs, node outputs */
    for (size_t i = 0; i < g->n_inits; i++) {
        int id = add_value(e, g->inits[i]->name, XV_CONST);
        if (id < 0)
            goto oom;
        struct xvalue *x = &e->v[id];
        x->t = g->inits[i]->value;
        x->t.owns_data = false;
    }
    e->feed_ids = calloc(g->n_inputs ? g->n_inputs : 1, sizeof(int));
    e->feed_decl = calloc(g->n_inputs ? g->n_inputs : 1, sizeof(*e->feed_decl));
    if (!e->feed_ids || !e->feed_decl)
        goto oom;
    for (size_t i = 0; i < g->n_inputs; i++) {
        const char *nm = g->inputs[i].name;
        if (find_value(e, nm) >= 0 && !e->parent)
            continue;  /* an initializer listed as input: not fed */
        int id = find_value(e, nm);
        if (id < 0 && (id = add_value(e, nm, XV_INPUT)) < 0)
            goto oom;
        e->v[id].kind = XV_INPUT;
        e->feed_ids[e->n_feed] = id;
        e->feed_decl[e->n_feed] = &g->inputs[i];
        e->n_feed++;
    }
    for (size_t i = 0; i < g->n_nodes; i++) {
        const struct onnxq_node *n = g->nodes[i];
        const struct onnxq_constant *c = constant_node_value(n);
        for (size_t k = 0; k < n->n_outputs; k++) {
            if (!*n->outputs[k])
                continue;
            int id = add_value(e, n->outputs[k], c ? XV_CONST : XV_NODE);
            if (id < 0)
                goto oom;
            if (c) {
                /* Constant nodes with a tensor value are initializers in
                 * disguise (Paddle and spox exports keep weights there): no
                 * step, and kernels can pre-pack them at init. */
                e->v[id].t = c->value;
                e->v[id].t.owns_data = false;
            }
        }
    }

    order = malloc((g->n_nodes ? g->n_nodes : 1) * sizeof(*order));
    e->steps = calloc(g->n_nodes ? g->n_nodes : 1, sizeof(*e->steps));
    if (!order || !e->steps)
        goto oom;
    if (g->n_nodes && (st = onnxq_graph_toposort(g, order, err)))
        goto out;
    size_t max_args = 0;
    for (size_t oi = 0; oi < g->n_nodes; oi++) {
        const struct onnxq_node *n = g->nodes[order[oi]];
        if (constant_node_value(n))
            continue;
        struct xstep *s = &e->steps[e->nsteps];
        e->nsteps++;
        s->node = n;
        const char *dom = n->domain ? n->domain : "";
        int64_t opset = onnxq_model_opset(e->model, dom);
        s->def = onnxq_op_lookup(dom, n->op_type, opset);
        if (!s->def) {
            st = onnxq_op_fail(err, n, ONNXQ_E_UNSUPPORTED, "operator %s (opset %lld) is not supported",
                               n->op_type, (long long)opset);
            goto out;
        }
        s->n_in = n->n_inputs;
        s->n_out = n->n_outputs;
        s->in = calloc(s->n_in ? s->n_in : 1, sizeof(int));
        s->out = calloc(s->n_out ? s->n_out : 1, sizeof(int));
        if (!s->in || !s->out)
            goto oom;
        for (size_t k = 0; k < s->n_in; k++) {
            s->in[k] = -1;
            if (!*n->inputs[k])
                continue;
            int id = resolve_read(e, n->inputs[k]);
            if (id == -2)
                goto oom;
            if (id < 0) {
                st = onnxq_op_fail(err, n, ONNXQ_E_INVALID_MODEL, "input '%s' is not produced by anything",
                                   n->inputs[k]);
                goto out;
            }
            s->in[k] = id;
        }
        for (size_t k = 0; k < s->n_out; k++)
            s->out[k] = *n->outputs[k] ? find_value(e, n->outputs[k]) : -1;
        struct implicit_ctx ic = {e, s, false};
        onnxq_node_implicit_inputs(n, implicit_cb, &ic);
        if (ic.failed) {
            st = onnxq_op_fail(err, n, ONNXQ_E_INVALID_MODEL, "a subgraph reads a value that nothing produces");
            goto out;
        }
        if (s->n_in > max_args)
            max_args = s->n_in;
        if (s->n_out > max_args)
            max_args = s->n_out;
    }
    /* outer values: point at the parent's current tensors */
    for (size_t i = 0; i < e->nv; i++) {
        struct xvalue *x = &e->v[i];
        if (x->kind == XV_CONST)
            x->ref = &x->t;
    }
    /* graph outputs may add outer values: resolve them before kernels keep
     * pointers into e->v */
    e->out_ids = calloc(g->n_outputs ? g->n_outputs : 1, sizeof(int));
    if (!e->out_ids)
        goto oom;
    for (size_t i = 0; i < g->n_outputs; i++) {
        int id = resolve_read(e, g->outputs[i].name);
        if (id < 0) {
            st = onnxq_fail(err, ONNXQ_E_INVALID_MODEL, "graph output '%s' is not produced by anything",
                            g->outputs[i].name);
            goto out;
        }
        e->out_ids[i] = id;
    }
    /* kernels */
    for (size_t si = 0; si < e->nsteps; si++) {
        struct xstep *s = &e->steps[si];
        if (!s->def->init)
            continue;
        free(consts);
        consts = calloc(s->n_in ? s->n_in : 1, sizeof(*consts));
        if (!consts)
            goto oom;
        for (size_t k = 0; k < s->n_in; k++)
            if (s->in[k] >= 0 && e->v[s->in[k]].kind == XV_CONST)
                consts[k] = &e->v[s->in[k]].t;
        struct onnxq_op_init ictx = {
            .node = s->node,
            .opset = onnxq_model_opset(e->model, s->node->domain ? s->node->domain : ""),
            .exec = e,
            .err = err,
            .const_inputs = consts,
            .n_inputs = s->n_in,
        };
        if ((st = s->def->init(&ictx, &s->state)))
            goto out;
    }
    /* liveness */
    for (size_t si = 0; si < e->nsteps; si++) {
        struct xstep *s = &e->steps[si];
        for (size_t k = 0; k < s->n_in; k++)
            if (s->in[k] >= 0)
                e->v[s->in[k]].uses++;
        for (size_t k = 0; k < s->n_implicit; k++)
            e->v[s->implicit[k]].uses++;
    }
    for (size_t i = 0; i < g->n_outputs; i++)
        e->v[e->out_ids[i]].is_graph_output = true;
    e->n_outs = g->n_outputs;
    e->arg_cap = max_args ? max_args : 1;
    e->arg_in = calloc(e->arg_cap, sizeof(*e->arg_in));
    e->arg_out = calloc(e->arg_cap, sizeof(*e->arg_out));
    e->arg_in_stats = calloc(e->arg_cap, sizeof(*e->arg_in_stats));
    if (!e->arg_in || !e->arg_out || !e->arg_in_stats)
        goto oom;
    goto out;
oom:
    st = onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory preparing the executor");
out:
    free(order);
    free(consts);
    return st;
}

static enum onnxq_status exec_create(struct onnxq_context *ctx, const struct onnxq_model *model,
                                     const struct onnxq_graph *g, const struct onnxq_exec *parent,
                                     struct onnxq_exec **out, struct onnxq_error *err)
{
    struct onnxq_exec *e = calloc(1, sizeof(*e));
    if (!e)
        return onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory");
    e->ctx = ctx;
    e->model = model;
    e->graph = g;
    e->parent = parent;
    if (parent) {
        e->pool = parent->pool;
    } else {
        e->pool = onnxq_threadpool_new(ctx->threads);
        e->owns_pool = true;
    }
    enum onnxq_status st = prepare(e, err);
    if (st) {
        onnxq_exec_free(e);
        return st;
    }
    *out = e;
    return ONNXQ_OK;
}

enum onnxq_status onnxq_exec_new(struct onnxq_context *ctx, const struct onnxq_model *model,
                                 struct onnxq_exec **out, struct onnxq_error *err)
{
    if (!ctx || !model || !model->graph || !out)
        return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "onnxq_exec_new: NULL argument");
    enum onnxq_status st = exec_create(ctx, model, model->graph, NULL, out, err);
    if (st && model->path)
        onnxq_error_prefix(err, "%s: ", model->path);
    return st;
}

enum onnxq_status onnxq_exec_new_subgraph(const struct onnxq_exec *parent, const struct onnxq_graph *g,
                                          struct onnxq_exec **out, struct onnxq_error *err)
{
    return exec_create(parent->ctx, parent->model, g, parent, out, err);
}

void onnxq_exec_free(struct onnxq_exec *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->nsteps; i++) {
        struct xstep *s = &e->steps[i];
        if (s->def && s->def->fini && s->state)
            s->def->fini(s->state);
        free(s->in);
        free(s->out);
        free(s->implicit);
    }
    free(e->steps);
    onnxq_vstats_sink_free(&e->sink);
    for (size_t i = 0; i < e->n_sblk; i++)
        free_block(&e->sblk[i]);
    free(e->sblk);
    for (size_t i = 0; i < e->nv; i++)
        release_value(e, &e->v[i]);
    free(e->v);
    onnxq_strmap_free(&e->names);
    free(e->feed_ids);
    free(e->feed_decl);
    free(e->out_ids);
    for (size_t i = 0; i < e->n_free; i++)
        free(e->freelist[i].p);
    free(e->freelist);
    free(e->handed);
    free(e->scratch);
    free(e->arg_in);
    free(e->arg_in_stats);
    free(e->arg_out);
    if (e->owns_pool)
        onnxq_threadpool_free(e->pool);
    free(e);
}

void onnxq_exec_set_output_stats(struct onnxq_exec *e, bool on)
{
    e->want_stats = on;
}

void onnxq_exec_set_output_sample(struct onnxq_exec *e, uint64_t sample)
{
    e->sample = sample;
}

bool onnxq_exec_output_sample(const struct onnxq_exec *e, size_t k, const float **v, size_t *m)
{
    if (k != 0 || !e->have_sample)
        return false;
    *v = e->sink.samp;
    *m = e->sink.samp_want;  /* in a sample block: valid until the next run */
    return true;
}

bool onnxq_exec_output_stats(const struct onnxq_exec *e, size_t k, struct onnxq_vstats *out)
{
    if (k != 0 || !e->have_stats)
        return false;
    *out = e->out_stats;
    return true;
}

void onnxq_exec_set_hook(struct onnxq_exec *e, onnxq_node_hook hook, void *user)
{
    e->hook = hook;
    e->hook_user = user;
}

struct onnxq_threadpool *onnxq_exec_threadpool(const struct onnxq_exec *e)
{
    return e ? e->pool : NULL;
}

size_t onnxq_exec_n_inputs(const struct onnxq_exec *e)
{
    return e->n_feed;
}

const struct onnxq_value_info *onnxq_exec_input(const struct onnxq_exec *e, size_t i)
{
    return i < e->n_feed ? e->feed_decl[i] : NULL;
}

size_t onnxq_exec_n_outputs(const struct onnxq_exec *e)
{
    return e->n_outs;
}

const struct onnxq_value_info *onnxq_exec_output(const struct onnxq_exec *e, size_t i)
{
    return i < e->n_outs ? &e->graph->outputs[i] : NULL;
}

int64_t onnxq_exec_opset(const struct onnxq_exec *e, const char *domain)
{
    return onnxq_model_opset(e->model, domain);
}

const struct onnxq_context *onnxq_exec_context(const struct onnxq_exec *e)
{
    return e->ctx;
}

size_t onnxq_exec_peak_bytes(const struct onnxq_exec *e)
{
    return e->peak_bytes;
}

/* -------------------------------------------------------------------- run */

struct sym_bind {
    const char *param[64];
    int64_t value[64];
    const char *who[64];
    size_t n;
};

static enum onnxq_status check_input(const struct onnxq_value_info *decl, const struct onnxq_tensor *t,
                                     struct sym_bind *sb, struct onnxq_error *err)
{
    const struct onnxq_type *ty = &decl->type;
    if (ty->kind != ONNXQ_TYPE_TENSOR)
        return ONNXQ_OK;
    if (ty->has_elem_type && ty->elem_type != (int32_t)t->dtype)
        return onnxq_fail(err, ONNXQ_E_SHAPE, "input '%s' has dtype %s, but the model declares %s", decl->name,
                          onnxq_dtype_name(t->dtype), onnxq_dtype_name(ty->elem_type));
    if (!ty->has_shape)
        return ONNXQ_OK;
    char got[256], want[256];
    bool bad = ty->ndim != t->ndim;
    for (int i = 0; i < ty->ndim && !bad; i++) {
        const struct onnxq_dim *d = &ty->dims[i];
        if (d->kind == ONNXQ_DIM_VALUE && d->value != t->dims[i])
            bad = true;
        if (d->kind == ONNXQ_DIM_PARAM && d->param && *d->param) {
            size_t k = 0;
            while (k < sb->n && strcmp(sb->param[k], d->param) != 0)
                k++;
            if (k < sb->n) {
                if (sb->value[k] != t->dims[i]) {
                    onnxq_shape_format(t->dims, t->ndim, got, sizeof(got));
                    return onnxq_fail(err, ONNXQ_E_SHAPE,
                                      "input '%s' has shape %s: its dim '%s' is %lld, but input '%s' set it to %lld",
                                      decl->name, got, d->param, (long long)t->dims[i], sb->who[k],
                                      (long long)sb->value[k]);
                }
            } else if (sb->n < 64) {
                sb->param[sb->n] = d->param;
                sb->value[sb->n] = t->dims[i];
                sb->who[sb->n] = decl->name;
                sb->n++;
            }
        }
    }
    if (bad) {
        onnxq_shape_format(t->dims, t->ndim, got, sizeof(got));
        size_t used = 0;
        used += (size_t)snprintf(want, sizeof(want), "[");
        for (int i = 0; i < ty->ndim && used < sizeof(want); i++) {
            const struct onnxq_dim *d = &ty->dims[i];
            int w;
            if (d->kind == ONNXQ_DIM_VALUE)
                w = snprintf(want + used, sizeof(want) - used, "%s%lld", i ? "," : "", (long long)d->value);
            else
                w = snprintf(want + used, sizeof(want) - used, "%s%s", i ? "," : "",
                             d->kind == ONNXQ_DIM_PARAM && d->param && *d->param ? d->param : "?");
            if (w > 0)
                used += (size_t)w;
        }
        if (used < sizeof(want))
            snprintf(want + used, sizeof(want) - used, "]");
        return onnxq_fail(err, ONNXQ_E_SHAPE, "input '%s' has shape %s, but the model declares %s", decl->name, got,
                          want);
    }
    return ONNXQ_OK;
}

/* Room for `need` floats of captured subsample, stable until the next run
 * (NULL when out of memory: the node's subsample is then not captured). */
static float *sample_room(struct onnxq_exec *e, size_t need)
{
    for (size_t i = 0; i < e->n_sblk; i++) {
        struct sample_block *b = &e->sblk[i];
        if (b->cap - b->used >= need) {
            float *p = b->p + b->used;
            b->used += (need + 15) / 16 * 16;  /* the next one 64-byte aligned too */
            return p;
        }
    }
    struct sample_block *nb = realloc(e->sblk, (e->n_sblk + 1) * sizeof(*nb));
    if (!nb)
        return NULL;
    e->sblk = nb;
    size_t cap = need > ((size_t)4 << 20) ? need : (size_t)4 << 20;
    cap = (cap + 15) / 16 * 16;
    /* 64-byte aligned, as is each subsample in it: its blocks start on cache lines */
    float *p = aligned_alloc(64, cap * sizeof(float));
    if (!p)
        return NULL;
    e->sblk[e->n_sblk++] = (struct sample_block){p, cap, (need + 15) / 16 * 16, false};
    return p;
}

size_t onnxq_exec_n_node_outputs(const struct onnxq_exec *e)
{
    size_t n = 0;
    for (size_t i = 0; i < e->nsteps; i++)
        for (size_t k = 0; k < e->steps[i].n_out; k++)
            n += e->steps[i].out[k] >= 0;
    return n;
}

size_t onnxq_exec_sample_bound(const struct onnxq_exec *e, uint64_t sample)
{
    if (!sample)
        return 0;
    /* onnxq_sample_size never exceeds the target's whole blocks; one block
     * of slack, rounded as sample_room rounds */
    size_t per = (size_t)((sample + ONNXQ_SAMPLE_BLOCK - 1) / ONNXQ_SAMPLE_BLOCK + 1) * ONNXQ_SAMPLE_BLOCK;
    per = (per + 15) / 16 * 16;
    size_t n = 0;
    for (size_t i = 0; i < e->nsteps; i++)
        n += e->steps[i].n_out && e->steps[i].out[0] >= 0;
    return n * per;
}

enum onnxq_status onnxq_exec_reserve_sample(struct onnxq_exec *e, size_t floats, struct onnxq_error *err)
{
    floats = (floats + 15) / 16 * 16;
    for (size_t i = 0; i < e->n_sblk; i++)
        if (e->sblk[i].cap >= floats)
            return ONNXQ_OK;
    if (!floats)
        return ONNXQ_OK;
    struct sample_block *nb = realloc(e->sblk, (e->n_sblk + 1) * sizeof(*nb));
    if (!nb)
        return onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory for the subsample of one run (%zu floats)", floats);
    e->sblk = nb;
    struct sample_block b = {NULL, floats, 0, false};
#ifdef MAP_POPULATE
    /* one mapping populated in one go: a few us a page less than first
     * touches (page-aligned, so 64-byte aligned) */
    {
        void *m = mmap(NULL, floats * sizeof(float), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
                       -1, 0);
        if (m != MAP_FAILED) {
            b.p = m;
            b.mapped = true;
        }
    }
#endif
    if (!b.p)
        b.p = aligned_alloc(64, floats * sizeof(float));
    /* and touch every page now: on a hypervisor that shadows page tables
     * (the CI VM's), a populated page still costs an exit at its first
     * access, which would otherwise happen in the kernels */
    for (size_t k = 0; b.p && k < floats * sizeof(float); k += 4096)
        ((volatile char *)b.p)[k] = 0;
    if (!b.p)
        return onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory for the subsample of one run (%zu floats)", floats);
    e->sblk[e->n_sblk++] = b;
    return ONNXQ_OK;
}

static enum onnxq_status run_steps(struct onnxq_exec *e, struct onnxq_error *err)
{
    for (size_t i = 0; i < e->n_sblk; i++)
        e->sblk[i].used = 0;
    enum onnxq_status st = ONNXQ_OK;
    for (size_t si = 0; si < e->nsteps; si++) {
        struct xstep *s = &e->steps[si];
        for (size_t k = 0; k < s->n_in; k++) {
            const struct onnxq_tensor *t = NULL;
            if (s->in[k] >= 0) {
                struct xvalue *x = &e->v[s->in[k]];
                if (!x->present)
                    return onnxq_op_fail(err, s->node, ONNXQ_E_INVALID_MODEL,
                                         "input '%s' has no value (an optional output that was not produced?)",
                                         x->name);
                t = x->ref;
                e->arg_in_stats[k] = e->want_stats && x->has_stats ? &x->st : NULL;
            } else {
                e->arg_in_stats[k] = NULL;
            }
            e->arg_in[k] = t;
        }
        for (size_t k = 0; k < s->n_out; k++) {
            struct onnxq_tensor *t = NULL;
            if (s->out[k] >= 0) {
                struct xvalue *x = &e->v[s->out[k]];
                release_value(e, x);  /* a previous run's leftover (Loop bodies) */
                memset(&x->t, 0, sizeof(x->t));
                x->has_stats = false;
                x->ref = &x->t;
                t = &x->t;
            }
            e->arg_out[k] = t;
        }
        struct onnxq_op_ctx c = {
            .node = s->node,
            .exec = e,
            .pool = e->pool,
            .threads = onnxq_threadpool_size(e->pool),
            .n_inputs = s->n_in,
            .inputs = e->arg_in,
            .n_outputs = s->n_out,
            .outputs = e->arg_out,
            .err = err,
        };
        if ((st = s->def->infer_shape(s->state, &c)))
            return st;
        if (!c.alloc_in_run) {
            for (size_t k = 0; k < s->n_out; k++)
                if (s->out[k] >= 0 && (st = alloc_output(e, &e->v[s->out[k]], s->node, err)))
                    return st;
        }
        for (size_t k = 0; k < s->n_out; k++)
            if (s->out[k] >= 0)
                e->v[s->out[k]].present = true;
        e->have_stats = false;
        e->have_sample = false;
        struct onnxq_tensor *o0 = s->n_out && !c.alloc_in_run ? e->arg_out[0] : NULL;
        if (e->want_stats && o0 && o0->dtype == ONNXQ_DT_FLOAT && o0->nbytes >= sizeof(float)) {
            size_t n0 = o0->nbytes / sizeof(float), kw = onnxq_sample_window(n0, e->sample);
            size_t need = kw > 1 ? onnxq_sample_size(n0, kw) : 0;
            float *samp = need ? sample_room(e, need) : NULL;
            onnxq_vstats_sink_reset(&e->sink, o0->data, n0, samp ? kw : 0, samp);
            c.stats = &e->sink;
            c.in_stats = e->arg_in_stats;
        }
        if ((st = s->def->run(s->state, &c)))
            return st;
        if (c.stats && (e->have_stats = onnxq_vstats_sink_total(&e->sink, &e->out_stats))) {
            const float *sv;
            size_t sm;
            e->have_sample = onnxq_vstats_sink_sample(&e->sink, &sv, &sm);
            struct xvalue *x0 = &e->v[s->out[0]];
            x0->st = e->out_stats;
            x0->has_stats = true;
        }
        if (e->hook && e->hook(e->hook_user, s->node, e->arg_out, s->n_out))
            return onnxq_op_fail(err, s->node, ONNXQ_E_INVALID_ARG, "run stopped by the node hook");
        /* free what nobody reads any more */
        for (size_t k = 0; k < s->n_in; k++) {
            if (s->in[k] < 0)
                continue;
            struct xvalue *x = &e->v[s->in[k]];
            if (--x->remaining == 0 && !x->is_graph_output)
                release_value(e, x);
        }
        for (size_t k = 0; k < s->n_implicit; k++) {
            struct xvalue *x = &e->v[s->implicit[k]];
            if (--x->remaining == 0 && !x->is_graph_output)
                release_value(e, x);
        }
        for (size_t k = 0; k < s->n_out; k++) {
            if (s->out[k] < 0)
                continue;
            struct xvalue *x = &e->v[s->out[k]];
            if (x->uses == 0 && !x->is_graph_output)
                release_value(e, x);
        }
    }
    return st;
}

/* Move (or copy) a graph output into the caller's tensor. */
static enum onnxq_status take_output(struct onnxq_exec *e, size_t i, struct onnxq_tensor *dst,
                                     bool already_taken, struct onnxq_error *err)
{
    struct xvalue *x = &e->v[e->out_ids[i]];
    if (!x->present || !x->ref)
        return onnxq_fail(err, ONNXQ_E_INVALID_MODEL, "graph output '%s' was not produced", x->name);
    if (x->kind != XV_NODE || already_taken || x->t.dtype == ONNXQ_DT_STRING)
        return onnxq_tensor_copy(dst, x->ref, err);
    if (x->t.owns_data) {
        /* produced by a kernel that allocated it (If/Loop): move it */
        *dst = x->t;
        memset(&x->t, 0, sizeof(x->t));
        x->present = false;
        return ONNXQ_OK;
    }
    /* hand the pooled buffer over to the caller */
    *dst = x->t;
    dst->owns_data = dst->data != NULL;
    if (x->buf_cap) {
        e->live_bytes -= x->buf_cap;
        if (!e->handed)
            e->handed = calloc(e->n_outs, sizeof(*e->handed));
        if (e->handed && e->n_handed < e->n_outs)
            e->handed[e->n_handed++] = (struct pooled){dst->data, x->buf_cap};
    }
    x->buf_cap = 0;
    memset(&x->t, 0, sizeof(x->t));
    x->present = false;
    return ONNXQ_OK;
}

static void reset_values(struct onnxq_exec *e)
{
    for (size_t i = 0; i < e->nv; i++) {
        struct xvalue *x = &e->v[i];
        x->remaining = x->uses;
        if (x->kind == XV_CONST) {
            x->present = true;
            x->ref = &x->t;
        } else if (x->kind == XV_OUTER) {
            /* the parent's value, as it is now */
            const struct onnxq_exec *p = e->parent;
            int pid = -1;
            for (; p; p = p->parent)
                if ((pid = find_value(p, x->name)) >= 0)
                    break;
            x->ref = p ? p->v[pid].ref : NULL;
            x->present = p && p->v[pid].present;
        } else if (x->kind == XV_NODE) {
            release_value(e, x);
            x->ref = &x->t;
        }
    }
}

static enum onnxq_status run_common(struct onnxq_exec *e, size_t n_in, const struct onnxq_tensor *const *inputs,
                                    size_t n_out, struct onnxq_tensor *outputs, bool check, struct onnxq_error *err)
{
    enum onnxq_status st = ONNXQ_OK;
    if (n_in != e->n_feed)
        return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "expected %zu inputs, got %zu", e->n_feed, n_in);
    if (n_out != e->n_outs)
        return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "expected %zu outputs, got %zu", e->n_outs, n_out);
    reset_values(e);
    e->n_handed = 0; /* the previous run's outputs are the caller's now */
    struct sym_bind sb = {.n = 0};
    for (size_t i = 0; i < e->n_feed; i++) {
        if (!inputs[i])
            return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "input '%s' is missing", e->feed_decl[i]->name);
        if (check && (st = check_input(e->feed_decl[i], inputs[i], &sb, err)))
            return st;
        struct xvalue *x = &e->v[e->feed_ids[i]];
        x->ref = (struct onnxq_tensor *)inputs[i];  /* kernels only read inputs */
        x->present = true;
    }
    st = run_steps(e, err);
    for (size_t i = 0; i < e->n_outs && st == ONNXQ_OK; i++) {
        /* a value listed as several graph outputs: copy it for all but
         * its last listing, which takes the buffer */
        bool dup = false;
        for (size_t k = i + 1; k < e->n_outs; k++)
            dup |= e->out_ids[k] == e->out_ids[i];
        if ((st = take_output(e, i, &outputs[i], dup, err)))
            for (size_t k = 0; k < i; k++)
                onnxq_tensor_clear(&outputs[k]);
    }
    /* drop everything still held: the next run starts clean */
    for (size_t i = 0; i < e->nv; i++)
        release_value(e, &e->v[i]);
    return st;
}

enum onnxq_status onnxq_exec_run(struct onnxq_exec *e, const struct onnxq_tensor *const *inputs,
                                 struct onnxq_tensor *outputs, struct onnxq_error *err)
{
    if (!e || (!inputs && e->n_feed) || !outputs)
        return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "onnxq_exec_run: NULL argument");
    openblas_set_num_threads(e->ctx->threads);
    e->peak_bytes = e->live_bytes + e->pooled_bytes;
    enum onnxq_status st = run_common(e, e->n_feed, inputs, e->n_outs, outputs, true, err);
    if (st && e->model->path && !strstr(err ? err->message : "", e->model->path))
        onnxq_error_prefix(err, "%s: ", e->model->path);
    return st;
}

void onnxq_exec_recycle_output(struct onnxq_exec *e, struct onnxq_tensor *t)
{
    if (!t)
        return;
    for (size_t i = 0; e && t->owns_data && t->data && i < e->n_handed; i++) {
        if (e->handed[i].p != t->data)
            continue;
        /* back into the pool: the next run's buffer needs no fresh pages */
        e->live_bytes += e->handed[i].cap;
        pool_put(e, t->data, e->handed[i].cap);
        e->handed[i] = e->handed[--e->n_handed];
        memset(t, 0, sizeof(*t));
        return;
    }
    onnxq_tensor_clear(t);
}

enum onnxq_status onnxq_exec_run_graph(struct onnxq_exec *e, size_t n_in, const struct onnxq_tensor *const *inputs,
                                       size_t n_out, struct onnxq_tensor *outputs, struct onnxq_error *err)
{
    return run_common(e, n_in, inputs, n_out, outputs, false, err);
}
