/* Per-node sensitivity and the accuracy-budget search: see sensitivity.h.
 *
 * Speed: a variant that differs from a base model (every group float, or
 * every group quantized) only from some node on is run as a suffix model
 * fed with the base model's activations at the cut, captured once per
 * sample (prefix cache, see struct suffix). Variants built by the same
 * deterministic rewriter share node and tensor names, which is what the
 * comparison of a variant with its base relies on. */
#include "eval/sensitivity.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/strmap.h"
#include "exec/exec.h"
#include "ir/graph_util.h"
#include "onnx/onnx_io.h"

/* Activation bytes the prefix cache may hold at once; variants are
 * processed in chunks that fit. */
#define SENS_CACHE_BUDGET ((size_t)384 << 20)

static char *xstrdup(const char *s)
{
    return onnxq_strdup(s ? s : "");
}

/* ------------------------------------------------------- evaluation set */

void onnxq_eval_set_clear(struct onnxq_eval_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; s->inputs && i < s->n_samples * s->n_inputs; i++)
        onnxq_tensor_clear(&s->inputs[i]);
    for (size_t i = 0; s->ref && i < s->n_samples * s->n_outputs; i++)
        onnxq_tensor_clear(&s->ref[i]);
    free(s->inputs);
    free(s->ref);
    memset(s, 0, sizeof(*s));
}

enum onnxq_status onnxq_eval_set_load(struct onnxq_context *ctx, const struct onnxq_model *m, const char *data,
                                      const struct onnxq_dataset_options *dopts, size_t count,
                                      struct onnxq_eval_set *out, struct onnxq_error *err)
{
    enum onnxq_status st;
    struct onnxq_eval_set s = {0};
    struct onnxq_exec *e = NULL;
    struct onnxq_dataset *ds = NULL;
    const struct onnxq_value_info **decl = NULL;
    const struct onnxq_tensor **inp = NULL;
    struct onnxq_dataset_options o = *dopts;
    double t0 = onnxq_now_seconds();
    if (count && (!o.count || count < o.count))
        o.count = count;
    if ((st = onnxq_exec_new(ctx, m, &e, err)))
        goto out;
    s.n_inputs = onnxq_exec_n_inputs(e);
    s.n_outputs = onnxq_exec_n_outputs(e);
    decl = calloc(s.n_inputs + 1, sizeof(*decl));
    inp = calloc(s.n_inputs + 1, sizeof(*inp));
    if (!decl || !inp)
        goto oom;
    for (size_t i = 0; i < s.n_inputs; i++)
        decl[i] = onnxq_exec_input(e, i);
    if ((st = onnxq_dataset_open(data, decl, s.n_inputs, &o, &ds, err)))
        goto out;
    size_t nb = onnxq_dataset_batches(ds);
    s.inputs = calloc(nb * s.n_inputs + 1, sizeof(*s.inputs));
    s.ref = calloc(nb * s.n_outputs + 1, sizeof(*s.ref));
    if (!s.inputs || !s.ref)
        goto oom;
    for (size_t b = 0; b < nb; b++) {
        struct onnxq_tensor *in = &s.inputs[b * s.n_inputs];
        s.n_samples = b + 1;  /* what the clear below must free */
        if ((st = onnxq_dataset_get_batch(ds, b, in, err)))
            goto out;
        for (size_t i = 0; i < s.n_inputs; i++)
            inp[i] = &in[i];
        if ((st = onnxq_exec_run(e, inp, &s.ref[b * s.n_outputs], err))) {
            onnxq_error_prefix(err, "FP32 reference run, sample %zu: ", b);
            goto out;
        }
    }
    s.seconds = onnxq_now_seconds() - t0;
    *out = s;
    memset(&s, 0, sizeof(s));
    st = ONNXQ_OK;
    goto out;
oom:
    st = onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory loading the evaluation set");
out:
    onnxq_eval_set_clear(&s);
    free(decl);
    free(inp);
    onnxq_dataset_free(ds);
    onnxq_exec_free(e);
    return st;
}

/* ------------------------------------------------------------- session */

struct onnxq_sens_session {
    struct onnxq_context *ctx;
    const struct onnxq_calib_table *t;
    const struct onnxq_quant_options *qo;
    const struct onnxq_eval_set *es;
    uint8_t *bytes;  /* the prepared (and named) model, serialized: copies load from it */
    struct onnxq_model *prep;  /* that model, for its float weights */
    size_t n_bytes;
    size_t n_groups;
    struct onnxq_sens_group *groups;
    size_t runs, suffix_runs;
    double seconds;
    bool no_prefix_cache;
    bool no_except;  /* skip the all-but-this variants */
};

/* Fresh copy of the prepared model. */
static enum onnxq_status copy_model(const struct onnxq_sens_session *s, struct onnxq_model **out,
                                    struct onnxq_error *err)
{
    return onnxq_load_internal(s->ctx, s->bytes, s->n_bytes, NULL, "prepared model", out, err);
}

static size_t list_len(const char *const *l)
{
    size_t n = 0;
    while (l && l[n])
        n++;
    return n;
}


/* Give the nodes of float_nodes their float weights back: every input that
 * is an initializer in the prepared model and that the variant replaced
 * (by the int8 weight's DequantizeLinear) reads the original again. */
static enum onnxq_status restore_weights(const struct onnxq_sens_session *s, struct onnxq_model *v,
                                         const char *const *float_nodes, struct onnxq_error *err)
{
    bool changed = false;
    for (size_t i = 0; float_nodes && float_nodes[i]; i++) {
        struct onnxq_node *vn = onnxq_graph_find_node(v->graph, float_nodes[i]);
        const struct onnxq_node *pn = onnxq_graph_find_node(s->prep->graph, float_nodes[i]);
        if (!vn || !pn || vn->n_inputs != pn->n_inputs)
            continue;
        for (size_t k = 0; k < pn->n_inputs; k++) {
            const char *orig = pn->inputs[k];
            const struct onnxq_constant *pc = *orig ? onnxq_graph_find_init(s->prep->graph, orig) : NULL;
            if (!pc || strcmp(vn->inputs[k], orig) == 0)
                continue;
            if (!onnxq_graph_find_init(v->graph, orig)) {
                /* the rewriter's fresh names avoid every name of the
                 * prepared model, so `orig` is free in the variant */
                struct onnxq_constant *c = calloc(1, sizeof(*c));
                if (!c || !(c->name = onnxq_strdup(orig)) || onnxq_tensor_copy(&c->value, &pc->value, err) ||
                    !onnxq_graph_add_init(v->graph, c)) {
                    onnxq_constant_free(c);
                    return onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory");
                }
            }
            if (!onnxq_node_set_input(vn, k, orig))
                return onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory");
            changed = true;
        }
    }
    if (changed && onnxq_graph_eliminate_dead(v->graph, err) < 0)
        return ONNXQ_E_INTERNAL;
    return ONNXQ_OK;
}

enum onnxq_status onnxq_sens_build(struct onnxq_sens_session *s, const char *const *float_nodes,
                                   struct onnxq_model **out, struct onnxq_quant_report *r, struct onnxq_error *err)
{
    enum onnxq_status st;
    struct onnxq_model *m = NULL;
    struct onnxq_quant_report rep;
    struct onnxq_quant_options o = *s->qo;
    size_t n_user = list_len(s->qo->exclude_nodes), n_float = list_len(float_nodes);
    const char **ex = calloc(n_user + n_float + 1, sizeof(char *));
    if (!ex)
        return onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n_user; i++)
        ex[i] = s->qo->exclude_nodes[i];
    for (size_t i = 0; i < n_float; i++)
        ex[n_user + i] = float_nodes[i];
    o.exclude_nodes = ex;
    if ((st = copy_model(s, &m, err)) == ONNXQ_OK && (st = onnxq_quantize_model(m, s->t, &o, &rep, err)) == ONNXQ_OK &&
        (st = restore_weights(s, m, float_nodes, err)) == ONNXQ_OK) {
        *out = m;
        m = NULL;
        if (r)
            *r = rep;
    }
    onnxq_model_free(m);
    free(ex);
    return st;
}

static bool is_float_dtype(enum onnxq_dtype d)
{
    return d == ONNXQ_DT_FLOAT;
}

/* Compare one output sample with its reference. */
static void add_output(struct onnxq_fidelity *f, const struct onnxq_tensor *ref, const struct onnxq_tensor *got)
{
    if (!is_float_dtype(ref->dtype) || got->dtype != ref->dtype)
        return;
    size_t n = (size_t)onnxq_tensor_numel(ref), ng = (size_t)onnxq_tensor_numel(got);
    if (n != ng)
        n = n < ng ? n : ng;
    onnxq_fidelity_add(f, ref->data, got->data, n);
    if (ref->ndim >= 1 && ref->dims[ref->ndim - 1] >= 2)
        onnxq_fidelity_add_top1(f, ref->data, got->data, n, (size_t)ref->dims[ref->ndim - 1]);
}

/* Run a whole variant model over the evaluation set. */
static enum onnxq_status run_full(struct onnxq_sens_session *s, const struct onnxq_model *m, struct onnxq_fidelity *f,
                                  struct onnxq_error *err)
{
    enum onnxq_status st;
    struct onnxq_exec *e = NULL;
    const struct onnxq_eval_set *es = s->es;
    const struct onnxq_tensor **inp = calloc(es->n_inputs + 1, sizeof(*inp));
    struct onnxq_tensor *outs = calloc(es->n_outputs + 1, sizeof(*outs));
    double t0 = onnxq_now_seconds();
    onnxq_fidelity_init(f);
    if (!inp || !outs) {
        st = onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory");
        goto out;
    }
    if ((st = onnxq_exec_new(s->ctx, m, &e, err)))
        goto out;
    if (onnxq_exec_n_inputs(e) != es->n_inputs || onnxq_exec_n_outputs(e) != es->n_outputs) {
        st = onnxq_fail(err, ONNXQ_E_INTERNAL, "the quantized variant has other inputs or outputs than the model");
        goto out;
    }
    for (size_t b = 0; b < es->n_samples; b++) {
        for (size_t i = 0; i < es->n_inputs; i++)
            inp[i] = &es->inputs[b * es->n_inputs + i];
        if ((st = onnxq_exec_run(e, inp, outs, err))) {
            onnxq_error_prefix(err, "quantized variant, sample %zu: ", b);
            goto out;
        }
        for (size_t i = 0; i < es->n_outputs; i++) {
            add_output(f, &es->ref[b * es->n_outputs + i], &outs[i]);
            onnxq_exec_recycle_output(e, &outs[i]);
        }
        s->runs++;
    }
out:
    for (size_t i = 0; outs && i < es->n_outputs; i++)
        onnxq_tensor_clear(&outs[i]);
    free(outs);
    free(inp);
    onnxq_exec_free(e);
    s->seconds += onnxq_now_seconds() - t0;
    return st;
}

enum onnxq_status onnxq_sens_measure(struct onnxq_sens_session *s, const char *const *float_nodes,
                                     struct onnxq_fidelity *f, struct onnxq_error *err)
{
    struct onnxq_model *m = NULL;
    enum onnxq_status st = onnxq_sens_build(s, float_nodes, &m, NULL, err);
    if (st == ONNXQ_OK)
        st = run_full(s, m, f, err);
    onnxq_model_free(m);
    return st;
}

void onnxq_sens_stats(const struct onnxq_sens_session *s, size_t *runs, size_t *suffix_runs, double *seconds)
{
    if (runs)
        *runs = s->runs;
    if (suffix_runs)
        *suffix_runs = s->suffix_runs;
    if (seconds)
        *seconds = s->seconds;
}

size_t onnxq_sens_n_groups(const struct onnxq_sens_session *s)
{
    return s->n_groups;
}

const struct onnxq_sens_group *onnxq_sens_group_at(const struct onnxq_sens_session *s, size_t i)
{
    return i < s->n_groups ? &s->groups[i] : NULL;
}

long onnxq_sens_find_group(const struct onnxq_sens_session *s, const char *node)
{
    for (size_t i = 0; node && i < s->n_groups; i++)
        if (strcmp(s->groups[i].node, node) == 0)
            return (long)i;
    return -1;
}

static void group_clear(struct onnxq_sens_group *g)
{
    free(g->node);
    free(g->op_type);
    free(g->members);
}

void onnxq_sens_session_free(struct onnxq_sens_session *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_groups; i++)
        group_clear(&s->groups[i]);
    free(s->groups);
    free(s->bytes);
    onnxq_model_free(s->prep);
    free(s);
}

/* Give unnamed nodes unique names so that exclude_nodes can reach them. */
static enum onnxq_status name_nodes(struct onnxq_model *m, struct onnxq_error *err)
{
    struct onnxq_graph *g = m->graph;
    struct onnxq_strmap names = {0};
    enum onnxq_status st = ONNXQ_OK;
    for (size_t i = 0; i < g->n_nodes; i++)
        if (g->nodes[i]->name && *g->nodes[i]->name && !onnxq_strmap_put(&names, g->nodes[i]->name, (void *)1))
            goto oom;
    size_t next = 0;
    for (size_t i = 0; i < g->n_nodes; i++) {
        struct onnxq_node *n = g->nodes[i];
        if (n->name && *n->name)
            continue;
        char buf[48];
        do
            snprintf(buf, sizeof(buf), "onnxq_node_%zu", next++);
        while (onnxq_strmap_has(&names, buf));
        char *c = onnxq_strdup(buf);
        if (!c)
            goto oom;
        free(n->name);
        n->name = c;
        if (!onnxq_strmap_put(&names, n->name, (void *)1))
            goto oom;
    }
    goto out;
oom:
    st = onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory");
out:
    onnxq_strmap_free(&names);
    return st;
}

/* Candidates: nodes the rewriter rewired in the all-quantized model (an
 * input or output name differs from the prepared model's: a Q/DQ pair, an
 * int8 weight in any stored form, a folded Relu) or whose output it
 * quantizes. A group always is one; the exact test (does keeping it float
 * change the model?) runs on these only. */
static bool rewired(const struct onnxq_graph_index *idx, const struct onnxq_node *an, const struct onnxq_node *pn)
{
    if (an->n_inputs != pn->n_inputs || an->n_outputs != pn->n_outputs)
        return true;
    for (size_t k = 0; k < an->n_inputs; k++)
        if (strcmp(an->inputs[k], pn->inputs[k]) != 0)
            return true;
    for (size_t k = 0; k < an->n_outputs; k++) {
        if (strcmp(an->outputs[k], pn->outputs[k]) != 0)
            return true;
        const struct onnxq_value_entry *e = *an->outputs[k] ? onnxq_graph_index_get(idx, an->outputs[k]) : NULL;
        for (size_t c = 0; e && c < e->n_consumers; c++)
            if (strcmp(e->consumers[c].node->op_type, "QuantizeLinear") == 0)
                return true;
    }
    return false;
}

static size_t quantized_ops(const struct onnxq_quant_report *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_ops; i++)
        n += r->ops[i].quantized;
    return n;
}

/* Append "name" to a '+'-separated list. */
static bool append_member(char **list, const char *name)
{
    size_t a = *list ? strlen(*list) : 0, b = strlen(name);
    char *n = realloc(*list, a + b + 2);
    if (!n)
        return false;
    if (a)
        n[a++] = '+';
    memcpy(n + a, name, b + 1);
    *list = n;
    return true;
}

/* The plan's groups. Candidates C are the nodes the all-quantized model
 * rewired; with every candidate float the model is the FP32 one (restored
 * weights). A candidate is a group when quantizing it alone changes that
 * model: measured from all-float rather than by excluding it from
 * all-quantized, because a quantized node whose input and output tensors
 * neighbours quantize anyway would look unchanged there, yet still be
 * quantized when those neighbours are float. Members: nodes the lone
 * variant lacks (a folded Relu). Weight-only: its lone variant computes
 * nothing in INT8. */
static enum onnxq_status find_groups(struct onnxq_sens_session *s, const struct onnxq_model *prep,
                                     struct onnxq_error *err)
{
    enum onnxq_status st;
    struct onnxq_model *all = NULL, *none = NULL, *v = NULL;
    struct onnxq_graph_index idx = {0};
    struct onnxq_quant_report rv;
    const struct onnxq_graph *pg = prep->graph;
    const char **cand = calloc(pg->n_nodes + 1, sizeof(char *)), **others = calloc(pg->n_nodes + 1, sizeof(char *));
    size_t nc = 0;
    s->groups = calloc(pg->n_nodes + 1, sizeof(*s->groups));
    if (!cand || !others || !s->groups)
        goto oom;
    if ((st = onnxq_sens_build(s, NULL, &all, NULL, err)) || (st = onnxq_graph_index_build(all->graph, &idx, err)))
        goto out;
    for (size_t i = 0; i < pg->n_nodes; i++) {
        const struct onnxq_node *pn = pg->nodes[i];
        const struct onnxq_node *an = onnxq_graph_find_node(all->graph, pn->name);
        /* a node the all-quantized model lacks was folded into another */
        if (an && rewired(&idx, an, pn))
            cand[nc++] = pn->name;
    }
    if ((st = onnxq_sens_build(s, cand, &none, NULL, err)))
        goto out;
    for (size_t c = 0; c < nc; c++) {
        size_t w = 0;
        for (size_t i = 0; i < nc; i++)
            if (i != c)
                others[w++] = cand[i];
        others[w] = NULL;
        if ((st = onnxq_sens_build(s, others, &v, &rv, err)))
            goto out;
        if (!onnxq_model_equal(none, v, NULL, 0)) {
            const struct onnxq_node *pn = onnxq_graph_find_node(pg, cand[c]);
            struct onnxq_sens_group *g = &s->groups[s->n_groups];
            g->weight_only = quantized_ops(&rv) == 0;
            if (!(g->node = xstrdup(pn->name)) || !(g->op_type = xstrdup(pn->op_type)) ||
                !append_member(&g->members, pn->name)) {
                group_clear(g);
                goto oom;
            }
            s->n_groups++;
            for (size_t k = 0; k < none->graph->n_nodes; k++) {
                const char *nm = none->graph->nodes[k]->name;
                if (nm && strcmp(nm, pn->name) != 0 && onnxq_graph_find_node(pg, nm) && !onnxq_graph_find_node(v->graph, nm) &&
                    !append_member(&g->members, nm))
                    goto oom;
            }
        }
        onnxq_model_free(v);
        v = NULL;
    }
    goto out;
oom:
    st = onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory");
out:
    free(cand);
    free(others);
    onnxq_graph_index_free(&idx);
    onnxq_model_free(all);
    onnxq_model_free(none);
    onnxq_model_free(v);
    return st;
}

enum onnxq_status onnxq_sens_session_new(struct onnxq_context *ctx, const struct onnxq_model *prepared,
                                         const struct onnxq_calib_table *t, const struct onnxq_quant_options *qo,
                                         const struct onnxq_eval_set *es, struct onnxq_sens_session **out,
                                         struct onnxq_error *err)
{
    enum onnxq_status st;
    struct onnxq_model *named = NULL;
    struct onnxq_sens_session *s = calloc(1, sizeof(*s));
    if (!s)
        return onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory");
    s->ctx = ctx;
    s->t = t;
    s->qo = qo;
    s->es = es;
    /* name the nodes on a copy, then keep that copy serialized */
    if ((st = onnxq_model_serialize(prepared, &s->bytes, &s->n_bytes, err)) || (st = copy_model(s, &named, err)) ||
        (st = name_nodes(named, err)))
        goto out;
    free(s->bytes);
    s->bytes = NULL;
    if ((st = onnxq_model_serialize(named, &s->bytes, &s->n_bytes, err)))
        goto out;
    s->prep = named;
    named = NULL;
    if ((st = find_groups(s, s->prep, err)))
        goto out;
    *out = s;
    s = NULL;
out:
    onnxq_model_free(named);
    onnxq_sens_session_free(s);
    return st;
}

/* -------------------------------------------------------- prefix cache */

/* A variant cut where it starts to differ from its base model: the suffix
 * model reads, as graph inputs, the base model's activations at the cut
 * (`feeds`), and produces the variant's outputs; outputs that the cut
 * leaves unchanged come straight from the base (`out_from_feed`). */
struct suffix {
    struct onnxq_model *m;     /* suffix model (NULL when every output is unchanged) */
    struct onnxq_exec *e;
    size_t n_feeds;
    char **feeds;              /* exec input order */
    size_t n_out;              /* = eval set outputs */
    long *out_slot;            /* per output: suffix exec output index, or -1 - feed index */
};

static void suffix_clear(struct suffix *x)
{
    onnxq_exec_free(x->e);
    onnxq_model_free(x->m);
    for (size_t i = 0; i < x->n_feeds; i++)
        free(x->feeds[i]);
    free(x->feeds);
    free(x->out_slot);
    memset(x, 0, sizeof(*x));
}

static bool attrs_match(const struct onnxq_node *a, const struct onnxq_node *b)
{
    if (a->n_attrs != b->n_attrs)
        return false;
    for (size_t i = 0; i < a->n_attrs; i++)
        if (strcmp(a->attrs[i].name, b->attrs[i].name) != 0)
            return false;
    return true;
}

/* Cut variant `m` (in place) against `base`. A tensor is unchanged when it
 * is a graph input, an initializer equal to the base's, or the output of a
 * node the base has under the same name with the same op, attributes and
 * tensor names whose inputs are all unchanged. Nodes that produce unchanged
 * tensors from graph data (not only from constants) form the prefix; the
 * rest is the suffix. */
static enum onnxq_status make_suffix(struct onnxq_model *m, const struct onnxq_model *base, struct suffix *x,
                                     struct onnxq_error *err)
{
    enum onnxq_status st = ONNXQ_OK;
    struct onnxq_graph *g = m->graph;
    struct onnxq_strmap same = {0};     /* unchanged tensor -> 1 (data) or 2 (constant) */
    struct onnxq_strmap bnodes = {0};   /* base node name -> node */
    struct onnxq_strmap bprod = {0};    /* base tensor -> its producer (unnamed nodes: weight Cast/Mul) */
    struct onnxq_strmap need = {0};
    bool *prefix = calloc(g->n_nodes + 1, sizeof(bool));
    memset(x, 0, sizeof(*x));
    x->n_out = g->n_outputs;
    x->out_slot = calloc(g->n_outputs + 1, sizeof(long));
    size_t slots = g->n_outputs + 1;  /* distinct feeds: at most every input slot, plus graph outputs */
    for (size_t i = 0; i < g->n_nodes; i++)
        slots += g->nodes[i]->n_inputs;
    x->feeds = calloc(slots, sizeof(char *));
    if (!prefix || !x->out_slot || !x->feeds)
        goto oom;
    for (size_t i = 0; i < base->graph->n_nodes; i++) {
        struct onnxq_node *bn = base->graph->nodes[i];
        if (bn->name && *bn->name && !onnxq_strmap_put(&bnodes, bn->name, bn))
            goto oom;
        for (size_t k = 0; k < bn->n_outputs; k++)
            if (*bn->outputs[k] && !onnxq_strmap_put(&bprod, bn->outputs[k], bn))
                goto oom;
    }
    for (size_t i = 0; i < g->n_inputs; i++)
        if (!onnxq_strmap_put(&same, g->inputs[i].name, (void *)1))
            goto oom;
    for (size_t i = 0; i < g->n_inits; i++) {
        const struct onnxq_constant *c = g->inits[i], *bc = onnxq_graph_find_init(base->graph, c->name);
        if (bc && onnxq_tensor_equal(&c->value, &bc->value) && !onnxq_strmap_put(&same, c->name, (void *)2))
            goto oom;
    }
    for (size_t i = 0; i < g->n_nodes; i++) {
        const struct onnxq_node *n = g->nodes[i];
        const struct onnxq_node *b = n->name && *n->name ? onnxq_strmap_get(&bnodes, n->name)
                                     : n->n_outputs && *n->outputs[0] ? onnxq_strmap_get(&bprod, n->outputs[0])
                                                                      : NULL;
        if (b && (!n->name || !*n->name) && b->name && *b->name)
            b = NULL;  /* an unnamed node matches an unnamed one */
        bool ok = b && strcmp(n->op_type, b->op_type) == 0 && n->n_inputs == b->n_inputs &&
                  n->n_outputs == b->n_outputs && attrs_match(n, b) &&
                  strcmp(n->domain ? n->domain : "", b->domain ? b->domain : "") == 0;
        bool data = false;
        for (size_t k = 0; ok && k < n->n_inputs; k++) {
            ok = strcmp(n->inputs[k], b->inputs[k]) == 0;
            if (ok && *n->inputs[k]) {
                uintptr_t v = (uintptr_t)onnxq_strmap_get(&same, n->inputs[k]);
                ok = v != 0;
                data |= v == 1;
            }
        }
        for (size_t k = 0; ok && k < n->n_outputs; k++)
            ok = strcmp(n->outputs[k], b->outputs[k]) == 0;
        if (!ok)
            continue;
        /* nodes of constants only (weight DequantizeLinear) are recomputed
         * in the suffix rather than cached */
        for (size_t k = 0; k < n->n_outputs; k++)
            if (*n->outputs[k] && !onnxq_strmap_put(&same, n->outputs[k], (void *)(uintptr_t)(data ? 1 : 2)))
                goto oom;
        prefix[i] = data;
    }
    /* feeds: unchanged data tensors that a suffix node reads or that are
     * graph outputs */
    for (size_t i = 0; i < g->n_nodes; i++) {
        const struct onnxq_node *n = g->nodes[i];
        if (prefix[i])
            continue;
        for (size_t k = 0; k < n->n_inputs; k++) {
            const char *nm = n->inputs[k];
            if (*nm && (uintptr_t)onnxq_strmap_get(&same, nm) == 1 && !onnxq_strmap_has(&need, nm)) {
                if (!(x->feeds[x->n_feeds] = onnxq_strdup(nm)))
                    goto oom;
                if (!onnxq_strmap_put(&need, x->feeds[x->n_feeds], (void *)(uintptr_t)(x->n_feeds + 1)))
                    goto oom;
                x->n_feeds++;
            }
        }
    }
    size_t n_suffix_out = 0;
    for (size_t i = 0; i < g->n_outputs; i++) {
        const char *nm = g->outputs[i].name;
        if ((uintptr_t)onnxq_strmap_get(&same, nm) == 1) {
            size_t f = (uintptr_t)onnxq_strmap_get(&need, nm);
            if (!f) {
                if (!(x->feeds[x->n_feeds] = onnxq_strdup(nm)))
                    goto oom;
                if (!onnxq_strmap_put(&need, x->feeds[x->n_feeds], (void *)(uintptr_t)(x->n_feeds + 1)))
                    goto oom;
                f = ++x->n_feeds;
            }
            x->out_slot[i] = -(long)f;  /* -1 - feed index */
        } else {
            x->out_slot[i] = (long)n_suffix_out++;
        }
    }
    if (n_suffix_out == 0)
        goto out;  /* the variant's outputs equal the base's */
    /* rewrite m into the suffix: drop prefix nodes, graph inputs = feeds,
     * graph outputs = the changed ones */
    {
        size_t w = 0;
        for (size_t i = 0; i < g->n_nodes; i++) {
            if (prefix[i])
                onnxq_node_free(g->nodes[i]);
            else
                g->nodes[w++] = g->nodes[i];
        }
        g->n_nodes = w;
        struct onnxq_value_info *ins = calloc(x->n_feeds + 1, sizeof(*ins));
        if (!ins)
            goto oom;
        for (size_t i = 0; i < g->n_inputs; i++)
            onnxq_value_info_clear(&g->inputs[i]);
        free(g->inputs);
        g->inputs = ins;
        g->n_inputs = x->n_feeds;
        for (size_t i = 0; i < x->n_feeds; i++) {
            ins[i].type.kind = ONNXQ_TYPE_TENSOR;
            if (!(ins[i].name = onnxq_strdup(x->feeds[i])))
                goto oom;
        }
        w = 0;
        for (size_t i = 0; i < g->n_outputs; i++) {
            if (x->out_slot[i] < 0)
                onnxq_value_info_clear(&g->outputs[i]);
            else
                g->outputs[w++] = g->outputs[i];
        }
        g->n_outputs = w;
        /* shapes of tensors that may be gone now */
        for (size_t i = 0; i < g->n_value_info; i++)
            onnxq_value_info_clear(&g->value_info[i]);
        g->n_value_info = 0;
        if (onnxq_graph_eliminate_dead(g, err) < 0 || (st = onnxq_model_validate(m, err))) {
            onnxq_error_prefix(err, "internal error: suffix model: ");
            st = ONNXQ_E_INTERNAL;
            goto out;
        }
    }
    goto out;
oom:
    st = onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory");
out:
    free(prefix);
    onnxq_strmap_free(&same);
    onnxq_strmap_free(&bnodes);
    onnxq_strmap_free(&bprod);
    onnxq_strmap_free(&need);
    return st;
}

/* Base activations captured at the feeds of a chunk of suffixes. */
struct capture {
    struct onnxq_strmap index;  /* feed name -> position + 1 (keys owned by `names`) */
    char **names;
    size_t n_names;
    struct onnxq_tensor *t;     /* [n_samples * n_names] */
    size_t *bytes;              /* per name, sizing run */
    size_t sample;
    bool sizing;                /* record sizes only */
    bool failed;
    struct onnxq_error error;
};

static void capture_clear(struct capture *c, size_t n_samples)
{
    for (size_t i = 0; c->t && i < n_samples * c->n_names; i++)
        onnxq_tensor_clear(&c->t[i]);
    free(c->t);
    for (size_t i = 0; i < c->n_names; i++)
        free(c->names[i]);
    free(c->names);
    free(c->bytes);
    onnxq_strmap_free(&c->index);
    memset(c, 0, sizeof(*c));
}

static int capture_hook(void *user, const struct onnxq_node *node, struct onnxq_tensor *const *outputs,
                        size_t n_outputs)
{
    struct capture *c = user;
    for (size_t k = 0; k < n_outputs && k < node->n_outputs; k++) {
        size_t i = outputs[k] ? (uintptr_t)onnxq_strmap_get(&c->index, node->outputs[k]) : 0;
        if (!i)
            continue;
        if (c->sizing) {
            c->bytes[i - 1] = outputs[k]->nbytes;
            continue;
        }
        struct onnxq_tensor *dst = &c->t[c->sample * c->n_names + i - 1];
        onnxq_tensor_clear(dst);
        if (onnxq_tensor_copy(dst, outputs[k], &c->error) != ONNXQ_OK) {
            c->failed = true;
            return 1;
        }
    }
    return 0;
}

static bool capture_add(struct capture *c, const char *name)
{
    if (onnxq_strmap_has(&c->index, name))
        return true;
    char **nn = realloc(c->names, (c->n_names + 1) * sizeof(char *));
    if (!nn)
        return false;
    c->names = nn;
    if (!(c->names[c->n_names] = onnxq_strdup(name)))
        return false;
    c->n_names++;
    return onnxq_strmap_put(&c->index, c->names[c->n_names - 1], (void *)(uintptr_t)c->n_names);
}

/* Run `base` over the evaluation set with the capture hook. */
static enum onnxq_status capture_run(struct onnxq_sens_session *s, const struct onnxq_model *base, struct capture *c,
                                     size_t n_samples, struct onnxq_error *err)
{
    enum onnxq_status st;
    const struct onnxq_eval_set *es = s->es;
    struct onnxq_exec *e = NULL;
    const struct onnxq_tensor **inp = calloc(es->n_inputs + 1, sizeof(*inp));
    struct onnxq_tensor *outs = calloc(es->n_outputs + 1, sizeof(*outs));
    double t0 = onnxq_now_seconds();
    if (!inp || !outs) {
        st = onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory");
        goto out;
    }
    if ((st = onnxq_exec_new(s->ctx, base, &e, err)))
        goto out;
    onnxq_exec_set_hook(e, capture_hook, c);
    for (size_t b = 0; b < n_samples; b++) {
        c->sample = b;
        for (size_t i = 0; i < es->n_inputs; i++)
            inp[i] = &es->inputs[b * es->n_inputs + i];
        if ((st = onnxq_exec_run(e, inp, outs, err))) {
            if (c->failed)
                *err = c->error;
            goto out;
        }
        for (size_t i = 0; i < es->n_outputs; i++)
            onnxq_exec_recycle_output(e, &outs[i]);
        s->runs++;
    }
out:
    for (size_t i = 0; outs && i < es->n_outputs; i++)
        onnxq_tensor_clear(&outs[i]);
    free(outs);
    free(inp);
    onnxq_exec_free(e);
    s->seconds += onnxq_now_seconds() - t0;
    return st;
}

/* Graph input position of `name` in the evaluation set, or -1. */
static long input_index(const struct onnxq_model *base, const char *name)
{
    /* the eval set feeds the executor's inputs: graph inputs that are not
     * initializers, in graph order */
    long k = 0;
    for (size_t i = 0; i < base->graph->n_inputs; i++) {
        if (onnxq_graph_find_init(base->graph, base->graph->inputs[i].name))
            continue;
        if (strcmp(base->graph->inputs[i].name, name) == 0)
            return k;
        k++;
    }
    return -1;
}

/* Feed tensor of suffix x for sample b (borrowed). */
static const struct onnxq_tensor *feed_of(const struct onnxq_sens_session *s, const struct onnxq_model *base,
                                          const struct capture *c, size_t b, const char *name)
{
    long gi = input_index(base, name);
    if (gi >= 0)
        return &s->es->inputs[b * s->es->n_inputs + (size_t)gi];
    size_t i = (uintptr_t)onnxq_strmap_get(&c->index, name);
    return i ? &c->t[b * c->n_names + i - 1] : NULL;
}

/* Run one suffix over the evaluation set from the captured activations. */
static enum onnxq_status run_suffix(struct onnxq_sens_session *s, const struct onnxq_model *base,
                                    const struct capture *c, struct suffix *x, struct onnxq_fidelity *f,
                                    struct onnxq_error *err)
{
    enum onnxq_status st = ONNXQ_OK;
    const struct onnxq_eval_set *es = s->es;
    size_t n_sout = x->m ? x->m->graph->n_outputs : 0;
    const struct onnxq_tensor **inp = calloc(x->n_feeds + 1, sizeof(*inp));
    struct onnxq_tensor *outs = calloc(n_sout + 1, sizeof(*outs));
    double t0 = onnxq_now_seconds();
    onnxq_fidelity_init(f);
    if (!inp || !outs) {
        st = onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory");
        goto out;
    }
    if (x->m && (st = onnxq_exec_new(s->ctx, x->m, &x->e, err)))
        goto out;
    for (size_t b = 0; b < es->n_samples; b++) {
        /* the suffix executor's inputs are the feeds in order */
        for (size_t i = 0; i < x->n_feeds; i++)
            if (!(inp[i] = feed_of(s, base, c, b, x->feeds[i]))) {
                st = onnxq_fail(err, ONNXQ_E_INTERNAL, "prefix cache: no activation captured for '%s'",
                                x->feeds[i]);
                goto out;
            }
        if (x->e) {
            if ((st = onnxq_exec_run(x->e, inp, outs, err))) {
                onnxq_error_prefix(err, "quantized variant (suffix), sample %zu: ", b);
                goto out;
            }
            s->suffix_runs++;
        }
        for (size_t i = 0; i < es->n_outputs; i++) {
            long sl = x->out_slot[i];
            const struct onnxq_tensor *got = sl >= 0 ? &outs[sl] : inp[-sl - 1];
            add_output(f, &es->ref[b * es->n_outputs + i], got);
        }
        for (size_t i = 0; i < n_sout; i++)
            onnxq_exec_recycle_output(x->e, &outs[i]);
    }
out:
    for (size_t i = 0; outs && i < n_sout; i++)
        onnxq_tensor_clear(&outs[i]);
    free(outs);
    free(inp);
    onnxq_exec_free(x->e);
    x->e = NULL;
    s->seconds += onnxq_now_seconds() - t0;
    return st;
}

/* Measure variants vs[0..n) (each keeping float_sets[k] float) against
 * `base`, through the prefix cache, in chunks of bounded cache size. */
static enum onnxq_status measure_cut(struct onnxq_sens_session *s, const struct onnxq_model *base,
                                     const char *const *const *float_sets, size_t n, struct onnxq_fidelity *f,
                                     onnxq_sens_progress_fn progress, void *user, size_t *done, size_t total,
                                     struct onnxq_error *err)
{
    enum onnxq_status st = ONNXQ_OK;
    struct suffix *xs = calloc(n + 1, sizeof(*xs));
    struct capture sz = {0}, c = {0};
    size_t ns = s->es->n_samples;
    if (!xs)
        return onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory");
    for (size_t k = 0; k < n; k++) {
        struct onnxq_model *v = NULL;
        if ((st = onnxq_sens_build(s, float_sets[k], &v, NULL, err)))
            goto out;
        st = make_suffix(v, base, &xs[k], err);
        xs[k].m = v;
        if (st)
            goto out;
        if (!xs[k].out_slot)
            continue;
        bool any = false;
        for (size_t i = 0; i < xs[k].n_out; i++)
            any |= xs[k].out_slot[i] >= 0;
        if (!any) {
            onnxq_model_free(xs[k].m);
            xs[k].m = NULL;
        }
    }
    /* sizes of every feed on sample 0 */
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < xs[k].n_feeds; i++)
            if (input_index(base, xs[k].feeds[i]) < 0 && !capture_add(&sz, xs[k].feeds[i]))
                goto oom;
    if (!(sz.bytes = calloc(sz.n_names + 1, sizeof(size_t))))
        goto oom;
    sz.sizing = true;
    if (sz.n_names && (st = capture_run(s, base, &sz, ns ? 1 : 0, err)))
        goto out;
    for (size_t k0 = 0; k0 < n;) {
        /* a chunk: variants whose feeds together fit the budget */
        size_t k1 = k0, bytes = 0;
        while (k1 < n) {
            size_t add = 0;
            for (size_t i = 0; i < xs[k1].n_feeds; i++) {
                size_t p = (uintptr_t)onnxq_strmap_get(&sz.index, xs[k1].feeds[i]);
                if (p && !onnxq_strmap_has(&c.index, xs[k1].feeds[i]))
                    add += sz.bytes[p - 1] * ns;
            }
            if (k1 > k0 && bytes + add > SENS_CACHE_BUDGET)
                break;
            for (size_t i = 0; i < xs[k1].n_feeds; i++)
                if (input_index(base, xs[k1].feeds[i]) < 0 && !capture_add(&c, xs[k1].feeds[i]))
                    goto oom;
            bytes += add;
            k1++;
        }
        if (!(c.t = calloc(ns * c.n_names + 1, sizeof(*c.t))))
            goto oom;
        if (c.n_names && (st = capture_run(s, base, &c, ns, err)))
            goto out;
        for (size_t k = k0; k < k1; k++) {
            if ((st = run_suffix(s, base, &c, &xs[k], &f[k], err)))
                goto out;
            suffix_clear(&xs[k]);
            if (progress)
                progress(user, ++*done, total);
        }
        capture_clear(&c, ns);
        k0 = k1;
    }
    goto out;
oom:
    st = onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory");
out:
    capture_clear(&c, ns);
    capture_clear(&sz, 1);
    for (size_t k = 0; k < n; k++)
        suffix_clear(&xs[k]);
    free(xs);
    return st;
}

void onnxq_sens_set_prefix_cache(struct onnxq_sens_session *s, bool on)
{
    s->no_prefix_cache = !on;
}

void onnxq_sens_set_except(struct onnxq_sens_session *s, bool on)
{
    s->no_except = !on;
}

/* ---------------------------------------------------------- sensitivity */

void onnxq_sens_result_clear(struct onnxq_sens_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->e[i].node);
        free(r->e[i].op_type);
        free(r->e[i].members);
    }
    free(r->e);
    memset(r, 0, sizeof(*r));
}

static int cmp_entry(const void *pa, const void *pb)
{
    const struct onnxq_sens_entry *a = pa, *b = pb;
    /* lowest SQNR alone first (NaN last), then the larger recovery */
    if (a->sqnr_only != b->sqnr_only) {
        if (isnan(a->sqnr_only))
            return 1;
        if (isnan(b->sqnr_only))
            return -1;
        return a->sqnr_only < b->sqnr_only ? -1 : 1;
    }
    if (!isnan(a->sqnr_except) && !isnan(b->sqnr_except) && a->sqnr_except != b->sqnr_except)
        return a->sqnr_except > b->sqnr_except ? -1 : 1;
    return a->plan_index < b->plan_index ? -1 : a->plan_index > b->plan_index;
}

enum onnxq_status onnxq_sensitivity_run(struct onnxq_sens_session *s, onnxq_sens_progress_fn progress, void *user,
                                        struct onnxq_sens_result *out, struct onnxq_error *err)
{
    enum onnxq_status st;
    struct onnxq_sens_result r = {0};
    size_t n = s->n_groups, done = 0, runs0 = s->runs + s->suffix_runs;
    double t0 = onnxq_now_seconds();
    struct onnxq_model *all = NULL, *none = NULL;
    struct onnxq_fidelity fa, fn, *fo = calloc(n + 1, sizeof(*fo)), *fe = calloc(n + 1, sizeof(*fe));
    const char **anchors = calloc(n + 1, sizeof(char *));
    const char **others = calloc(n * n + 1, sizeof(char *));  /* n lists of n-1 names + NULL */
    const char ***only_sets = calloc(n + 1, sizeof(char **)), ***except_sets = calloc(n + 1, sizeof(char **));
    const char **singles = calloc(2 * n + 1, sizeof(char *));
    r.e = calloc(n + 1, sizeof(*r.e));
    if (!fo || !fe || !anchors || !others || !only_sets || !except_sets || !singles || !r.e)
        goto oom;
    for (size_t i = 0; i < n; i++)
        anchors[i] = s->groups[i].node;
    for (size_t k = 0; k < n; k++) {
        const char **l = &others[k * n];
        size_t w = 0;
        for (size_t i = 0; i < n; i++)
            if (i != k)
                l[w++] = anchors[i];
        l[w] = NULL;
        only_sets[k] = l;
        singles[2 * k] = anchors[k];
        singles[2 * k + 1] = NULL;
        except_sets[k] = &singles[2 * k];
    }
    if ((st = onnxq_sens_build(s, NULL, &all, NULL, err)) || (st = run_full(s, all, &fa, err)) ||
        (st = onnxq_sens_build(s, anchors, &none, NULL, err)) || (st = run_full(s, none, &fn, err)))
        goto out;
    if (s->no_prefix_cache) {
        for (size_t k = 0; k < n; k++) {
            if ((st = onnxq_sens_measure(s, only_sets[k], &fo[k], err)) ||
                (!s->no_except && (st = onnxq_sens_measure(s, except_sets[k], &fe[k], err))))
                goto out;
            if (progress)
                progress(user, k + 1, n);
        }
    } else {
        /* only k quantized differs from all-float from k on; all but k
         * differs from all-quantized from k on */
        done = 0;
        if ((st = measure_cut(s, none, (const char *const *const *)only_sets, n, fo, NULL, NULL, &done, 2 * n,
                              err)) ||
            (!s->no_except && (st = measure_cut(s, all, (const char *const *const *)except_sets, n, fe, NULL, NULL,
                                                &done, 2 * n, err))))
            goto out;
        if (progress)
            progress(user, n, n);
    }
    for (size_t k = 0; k < n; k++) {
        struct onnxq_sens_entry *e = &r.e[k];
        if (!(e->node = xstrdup(s->groups[k].node)) || !(e->op_type = xstrdup(s->groups[k].op_type)) ||
            !(e->members = xstrdup(s->groups[k].members))) {
            r.n = k + 1;
            goto oom;
        }
        e->plan_index = k;
        e->weight_only = s->groups[k].weight_only;
        e->sqnr_only = onnxq_fidelity_sqnr_db(&fo[k]);
        e->cosine_only = onnxq_fidelity_cosine(&fo[k]);
        e->top1_only = onnxq_fidelity_top1(&fo[k]);
        e->sqnr_except = s->no_except ? NAN : onnxq_fidelity_sqnr_db(&fe[k]);
        e->cosine_except = s->no_except ? NAN : onnxq_fidelity_cosine(&fe[k]);
        e->top1_except = s->no_except ? -1 : onnxq_fidelity_top1(&fe[k]);
    }
    r.n = n;
    qsort(r.e, n, sizeof(*r.e), cmp_entry);
    r.sqnr_all = onnxq_fidelity_sqnr_db(&fa);
    r.cosine_all = onnxq_fidelity_cosine(&fa);
    r.top1_all = onnxq_fidelity_top1(&fa);
    r.sqnr_none = onnxq_fidelity_sqnr_db(&fn);
    r.cosine_none = onnxq_fidelity_cosine(&fn);
    r.top1_none = onnxq_fidelity_top1(&fn);
    r.samples = s->es->n_samples;
    r.runs = s->runs + s->suffix_runs - runs0;
    r.seconds = onnxq_now_seconds() - t0;
    *out = r;
    memset(&r, 0, sizeof(r));
    st = ONNXQ_OK;
    goto out;
oom:
    st = onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory");
out:
    onnxq_sens_result_clear(&r);
    onnxq_model_free(all);
    onnxq_model_free(none);
    free(fo);
    free(fe);
    free(anchors);
    free(others);
    free(only_sets);
    free(except_sets);
    free(singles);
    return st;
}

/* ------------------------------------------------------ accuracy budget */

static const char *const loss_names[ONNXQ_LOSS_KIND_COUNT] = {
    [ONNXQ_LOSS_SQNR] = "sqnr",
    [ONNXQ_LOSS_TOP1] = "top1",
    [ONNXQ_LOSS_METRIC] = "metric",
};
_Static_assert(sizeof(loss_names) / sizeof(loss_names[0]) == ONNXQ_LOSS_KIND_COUNT, "loss_names");

enum onnxq_status onnxq_loss_spec_parse(const char *spec, struct onnxq_loss_spec *out, struct onnxq_error *err)
{
    static const char forms[] = "expected sqnr>=DB (e.g. sqnr>=30), top1<=P% (e.g. top1<=0.5%), "
                                "or metric>=X / metric<=X with --eval-cmd";
    char buf[128];
    size_t w = 0;
    if (!spec || !*spec)
        return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "--max-loss: empty budget; %s", forms);
    /* spaces are allowed anywhere ("sqnr >= 30 dB") */
    for (const char *p = spec; *p; p++) {
        if (isspace((unsigned char)*p))
            continue;
        if (w + 1 >= sizeof(buf))
            return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "--max-loss '%s': too long; %s", spec, forms);
        buf[w++] = (char)tolower((unsigned char)*p);
    }
    buf[w] = 0;
    size_t name_len = 0;
    while (isalnum((unsigned char)buf[name_len]) || buf[name_len] == '_')
        name_len++;
    int kind = -1;
    for (int k = 0; k < ONNXQ_LOSS_KIND_COUNT; k++)
        if (strlen(loss_names[k]) == name_len && strncmp(buf, loss_names[k], name_len) == 0)
            kind = k;
    if (kind < 0)
        return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "--max-loss '%s': unknown metric '%.*s'; %s", spec,
                          (int)name_len, buf, forms);
    const char *p = buf + name_len;
    bool ge;
    if (strncmp(p, ">=", 2) == 0)
        ge = true;
    else if (strncmp(p, "<=", 2) == 0)
        ge = false;
    else
        return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "--max-loss '%s': expected >= or <= after '%s'; %s", spec,
                          loss_names[kind], forms);
    p += 2;
    char *end;
    double v = strtod(p, &end);
    if (end == p || !isfinite(v))
        return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "--max-loss '%s': expected a number after '%s%s'; %s", spec,
                          loss_names[kind], ge ? ">=" : "<=", forms);
    switch ((enum onnxq_loss_kind)kind) {
    case ONNXQ_LOSS_SQNR:
        if (!ge)
            return onnxq_fail(err, ONNXQ_E_INVALID_ARG,
                              "--max-loss '%s': an SQNR budget is a minimum: write sqnr>=DB", spec);
        if (strcmp(end, "db") == 0)
            end += 2;
        break;
    case ONNXQ_LOSS_TOP1:
        if (ge)
            return onnxq_fail(err, ONNXQ_E_INVALID_ARG,
                              "--max-loss '%s': a top-1 budget is a maximum disagreement: write top1<=P%%", spec);
        if (*end != '%')
            return onnxq_fail(err, ONNXQ_E_INVALID_ARG,
                              "--max-loss '%s': give the top-1 disagreement in percent, e.g. top1<=0.5%%", spec);
        end++;
        if (v < 0 || v > 100)
            return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "--max-loss '%s': a percentage between 0 and 100", spec);
        v /= 100.0;
        break;
    case ONNXQ_LOSS_METRIC:
    case ONNXQ_LOSS_KIND_COUNT:
        break;
    }
    if (*end)
        return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "--max-loss '%s': unexpected '%s' after the number; %s", spec,
                          end, forms);
    out->kind = (enum onnxq_loss_kind)kind;
    out->higher_is_better = ge;
    out->threshold = v;
    return ONNXQ_OK;
}

bool onnxq_loss_spec_met(const struct onnxq_loss_spec *spec, double value)
{
    if (isnan(value))
        return false;
    return spec->higher_is_better ? value >= spec->threshold : value <= spec->threshold;
}

void onnxq_loss_spec_format(const struct onnxq_loss_spec *spec, char *buf, size_t size)
{
    const char *op = spec->higher_is_better ? ">=" : "<=";
    switch (spec->kind) {
    case ONNXQ_LOSS_SQNR:
        snprintf(buf, size, "sqnr%s%g dB", op, spec->threshold);
        break;
    case ONNXQ_LOSS_TOP1:
        snprintf(buf, size, "top1%s%g%%", op, spec->threshold * 100.0);
        break;
    default:
        snprintf(buf, size, "metric%s%g", op, spec->threshold);
        break;
    }
}

enum onnxq_status onnxq_loss_value(const struct onnxq_loss_spec *spec, const struct onnxq_fidelity *f, double *value,
                                   struct onnxq_error *err)
{
    if (spec->kind == ONNXQ_LOSS_SQNR) {
        *value = onnxq_fidelity_sqnr_db(f);
        return ONNXQ_OK;
    }
    if (spec->kind == ONNXQ_LOSS_TOP1) {
        if (!f->rows)
            return onnxq_fail(err, ONNXQ_E_INVALID_ARG,
                              "a top-1 budget needs a float output with class scores on its last axis; the model "
                              "has none");
        *value = 1.0 - onnxq_fidelity_top1(f);
        return ONNXQ_OK;
    }
    return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "a metric budget is scored by --eval-cmd, not by the fidelity");
}

void onnxq_maxloss_result_clear(struct onnxq_maxloss_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; r->float_nodes && r->float_nodes[i]; i++)
        free(r->float_nodes[i]);
    free(r->float_nodes);
    onnxq_sens_result_clear(&r->ranking);
    memset(r, 0, sizeof(*r));
}

/* Scored variants, keyed by their set of float groups (ranking positions). */
struct search {
    struct onnxq_sens_session *s;
    const struct onnxq_loss_spec *spec;
    onnxq_loss_metric_fn metric;
    void *user;
    size_t n;
    const char **rank;  /* anchors, most sensitive first */
    size_t n_memo, cap_memo;
    struct memo {
        unsigned char *set;
        double value;
    } *memo;
    size_t evaluations;
};

static enum onnxq_status score(struct search *q, const unsigned char *set, double *value, struct onnxq_error *err)
{
    for (size_t i = 0; i < q->n_memo; i++)
        if (memcmp(q->memo[i].set, set, q->n) == 0) {
            *value = q->memo[i].value;
            return ONNXQ_OK;
        }
    enum onnxq_status st;
    const char **fl = calloc(q->n + 1, sizeof(char *));
    struct onnxq_model *m = NULL;
    double v = NAN;
    if (!fl)
        return onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory");
    size_t w = 0;
    for (size_t i = 0; i < q->n; i++)
        if (set[i])
            fl[w++] = q->rank[i];
    if (q->spec->kind == ONNXQ_LOSS_METRIC) {
        if ((st = onnxq_sens_build(q->s, fl, &m, NULL, err)) == ONNXQ_OK)
            st = q->metric(q->user, m, &v, err);
    } else {
        struct onnxq_fidelity f;
        if ((st = onnxq_sens_measure(q->s, fl, &f, err)) == ONNXQ_OK)
            st = onnxq_loss_value(q->spec, &f, &v, err);
    }
    onnxq_model_free(m);
    free(fl);
    if (st)
        return st;
    q->evaluations++;
    if (q->n_memo == q->cap_memo) {
        size_t nc = q->cap_memo ? 2 * q->cap_memo : 16;
        struct memo *nm = realloc(q->memo, nc * sizeof(*nm));
        if (!nm)
            return onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory");
        q->memo = nm;
        q->cap_memo = nc;
    }
    if (!(q->memo[q->n_memo].set = malloc(q->n + 1)))
        return onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory");
    memcpy(q->memo[q->n_memo].set, set, q->n);
    q->memo[q->n_memo++].value = v;
    *value = v;
    return ONNXQ_OK;
}

static void prefix_set(unsigned char *set, size_t n, size_t k)
{
    for (size_t i = 0; i < n; i++)
        set[i] = i < k;
}

enum onnxq_status onnxq_max_loss_search(struct onnxq_sens_session *s, const struct onnxq_sens_result *ranking,
                                        const struct onnxq_loss_spec *spec, onnxq_loss_metric_fn metric, void *user,
                                        onnxq_sens_progress_fn progress, void *progress_user,
                                        struct onnxq_maxloss_result *out, struct onnxq_error *err)
{
    enum onnxq_status st;
    struct onnxq_maxloss_result r = {0};
    struct search q = {.s = s, .spec = spec, .metric = metric, .user = user};
    unsigned char *set = NULL, *best = NULL;
    double t0 = onnxq_now_seconds(), v;
    r.metric_none = NAN;
    if (spec->kind == ONNXQ_LOSS_METRIC && !metric)
        return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "a metric budget needs an evaluation command");
    /* until a ranking is needed, the groups in graph order (the sets of
     * steps 1 and 2, none and all, do not depend on the order) */
    q.n = ranking ? ranking->n : s->n_groups;
    q.rank = calloc(q.n + 1, sizeof(char *));
    set = calloc(q.n + 1, 1);
    best = calloc(q.n + 1, 1);
    if (!q.rank || !set || !best)
        goto oom;
    for (size_t i = 0; i < q.n; i++)
        q.rank[i] = ranking ? ranking->e[i].node : s->groups[i].node;
    /* 1. everything quantized */
    if ((st = score(&q, set, &v, err)))
        goto out;
    r.metric_all = r.metric = v;
    if (onnxq_loss_spec_met(spec, v)) {
        r.met = true;
        goto done;
    }
    /* 2. everything float: the best this search can do */
    prefix_set(set, q.n, q.n);
    if ((st = score(&q, set, &v, err)))
        goto out;
    r.metric_none = v;
    if (!onnxq_loss_spec_met(spec, v)) {
        r.metric = v;
        memcpy(best, set, q.n);
        goto done;
    }
    if (!ranking) {
        if ((st = onnxq_sensitivity_run(s, progress, progress_user, &r.ranking, err)))
            goto out;
        ranking = &r.ranking;
        if (ranking->n != q.n) {
            st = onnxq_fail(err, ONNXQ_E_INTERNAL, "the ranking has %zu groups, the session %zu", ranking->n, q.n);
            goto out;
        }
        for (size_t i = 0; i < q.n; i++)
            q.rank[i] = ranking->e[i].node;
    }
    /* 3. shortest ranking prefix that meets it (binary search; the result
     * is checked, so a non-monotone metric costs quality, not validity) */
    size_t lo = 1, hi = q.n;
    double vhi = v;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        prefix_set(set, q.n, mid);
        if ((st = score(&q, set, &v, err)))
            goto out;
        if (onnxq_loss_spec_met(spec, v)) {
            hi = mid;
            vhi = v;
        } else {
            lo = mid + 1;
        }
    }
    prefix_set(best, q.n, hi);
    r.metric = vhi;
    /* 4. greedy pruning: re-quantize members, least sensitive first, while
     * the budget holds */
    for (size_t j = hi; j-- > 0;) {
        memcpy(set, best, q.n);
        set[j] = 0;
        if ((st = score(&q, set, &v, err)))
            goto out;
        if (onnxq_loss_spec_met(spec, v)) {
            memcpy(best, set, q.n);
            r.metric = v;
        }
    }
    r.met = true;
done:
    r.n_float = 0;
    for (size_t i = 0; i < q.n; i++)
        r.n_float += best[i] != 0;
    if (!(r.float_nodes = calloc(r.n_float + 1, sizeof(char *))))
        goto oom;
    for (size_t i = 0, w = 0; i < q.n; i++)
        if (best[i] && !(r.float_nodes[w++] = xstrdup(q.rank[i])))
            goto oom;
    r.evaluations = q.evaluations;
    r.seconds = onnxq_now_seconds() - t0;
    *out = r;
    memset(&r, 0, sizeof(r));
    st = ONNXQ_OK;
    goto out;
oom:
    st = onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory");
out:
    onnxq_maxloss_result_clear(&r);
    for (size_t i = 0; i < q.n_memo; i++)
        free(q.memo[i].set);
    free(q.memo);
    free(q.rank);
    free(set);
    free(best);
    return st;
}
