/* FP32 vs INT8 comparison (see compare.h for the matching rules). */
#include "eval/compare.h"

#include <json-c/json.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/strmap.h"
#include "exec/exec.h"
#include "ir/graph_util.h"
#include "quant/quantize.h"

const char *const onnxq_compare_match_names[ONNXQ_MATCH_COUNT] = {
    [ONNXQ_MATCH_DQ] = "dq",
    [ONNXQ_MATCH_SAME] = "same",
    [ONNXQ_MATCH_PRODUCER] = "producer",
};

/* A row of the last axis is a probability distribution when its values lie
 * in [0, 1] and sum to 1 within this (softmax in float over 10^4 classes
 * stays well inside it). */
#define PROB_SUM_TOL 1e-3

void onnxq_compare_options_init(struct onnxq_compare_options *o)
{
    memset(o, 0, sizeof(*o));
    o->tensors = true;
}

static const char *str_or_empty(const char *s)
{
    return s ? s : "";
}

/* ----------------------------------------------------------- run state */

/* One FP32 value that may be compared: a candidate tensor. */
struct cand {
    const char *name;       /* borrowed from the FP32 graph */
    const char *int8_name;  /* borrowed from the INT8 graph, NULL = no counterpart */
    const struct onnxq_node *producer;  /* FP32 node, NULL for a graph input */
    size_t order;
    enum onnxq_compare_match match;
    bool is_output;
    bool float_seen;        /* the FP32 run produced it as float32 */
    size_t next_same;       /* next candidate with the same int8_name (SIZE_MAX = none) */
    const char *pre_name;   /* DQ match: the INT8 value fed to the Q node, NULL = none */
    struct onnxq_fidelity fid_pre;
    /* per sample */
    int pass;               /* run of a sample that copies it; -1 = not assigned yet */
    float *buf;
    size_t cap, n;
    bool have;
    size_t shape_mismatch;
    struct onnxq_fidelity fid;
};

struct cmp {
    struct cand *c;
    size_t n, cap;
    struct onnxq_strmap by_fp32;  /* FP32 name -> index + 1 */
    struct onnxq_strmap by_int8;  /* INT8 name -> first index + 1 */
    struct onnxq_strmap by_pre;   /* INT8 pre-Q/DQ value name -> index + 1 */
    bool oom;
    bool tensors;
    /* the FP32 copies of one sample are bounded: tensors are grouped, one
     * group a run, each tensor in the run where it first fit */
    size_t budget, used;    /* bytes: the bound, and what this run assigned */
    int pass, npass;        /* this run of the sample; runs assigned so far */
    bool more;              /* a tensor did not fit in this run */
};

static void *idx_ptr(size_t i)
{
    return (void *)(uintptr_t)(i + 1);
}

static size_t ptr_idx(void *p)
{
    return p ? (size_t)(uintptr_t)p - 1 : SIZE_MAX;
}

static void add_cand(struct cmp *s, const char *name, const char *int8_name, const struct onnxq_node *producer,
                     size_t order, enum onnxq_compare_match match)
{
    if (onnxq_strmap_has(&s->by_fp32, name))
        return;
    if (s->n == s->cap) {
        size_t nc = s->cap ? 2 * s->cap : 64;
        struct cand *nv = realloc(s->c, nc * sizeof(*nv));
        if (!nv) {
            s->oom = true;
            return;
        }
        s->c = nv;
        s->cap = nc;
    }
    struct cand *c = &s->c[s->n];
    memset(c, 0, sizeof(*c));
    c->pass = -1;
    c->name = name;
    c->int8_name = int8_name;
    c->producer = producer;
    c->order = order;
    c->match = match;
    c->next_same = SIZE_MAX;
    onnxq_fidelity_init(&c->fid);
    onnxq_fidelity_init(&c->fid_pre);
    if (!onnxq_strmap_put(&s->by_fp32, name, idx_ptr(s->n))) {
        s->oom = true;
        return;
    }
    if (int8_name) {
        size_t first = ptr_idx(onnxq_strmap_get(&s->by_int8, int8_name));
        if (first == SIZE_MAX) {
            if (!onnxq_strmap_put(&s->by_int8, int8_name, idx_ptr(s->n))) {
                s->oom = true;
                return;
            }
        } else {
            size_t k = first;
            while (s->c[k].next_same != SIZE_MAX)
                k = s->c[k].next_same;
            s->c[k].next_same = s->n;
        }
    }
    s->n++;
}

static void cmp_free(struct cmp *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->c[i].buf);
    free(s->c);
    onnxq_strmap_free(&s->by_fp32);
    onnxq_strmap_free(&s->by_int8);
    onnxq_strmap_free(&s->by_pre);
}

/* Build the candidate list with the matching rules of compare.h. */
static enum onnxq_status build_matches(struct cmp *s, const struct onnxq_model *fp32, const struct onnxq_model *int8,
                                       struct onnxq_error *err)
{
    enum onnxq_status st;
    const struct onnxq_graph *gf = fp32->graph, *gq = int8->graph;
    struct onnxq_graph_index iq;
    struct onnxq_strmap dq_of = {0}, node_of = {0};
    if ((st = onnxq_graph_index_build(gq, &iq, err)))
        return st;
    /* T -> DequantizeLinear(QuantizeLinear(T)) output, first in node order */
    for (size_t i = 0; i < gq->n_nodes; i++) {
        const struct onnxq_node *d = gq->nodes[i];
        if (strcmp(d->op_type, "DequantizeLinear") != 0 || !onnxq_node_in_default_domain(d) || d->n_inputs < 1 ||
            d->n_outputs < 1 || !*d->outputs[0])
            continue;
        const struct onnxq_value_entry *e = onnxq_graph_index_get(&iq, d->inputs[0]);
        const struct onnxq_node *q = e ? e->producer : NULL;
        if (!q || strcmp(q->op_type, "QuantizeLinear") != 0 || !onnxq_node_in_default_domain(q) || q->n_inputs < 1)
            continue;
        const struct onnxq_value_entry *x = onnxq_graph_index_get(&iq, q->inputs[0]);
        if (!x || x->is_initializer || onnxq_strmap_has(&dq_of, q->inputs[0]))
            continue;
        if (!onnxq_strmap_put(&dq_of, q->inputs[0], d->outputs[0]))
            s->oom = true;
    }
    for (size_t i = 0; i < gq->n_nodes; i++) {
        const struct onnxq_node *n = gq->nodes[i];
        if (n->name && *n->name && !onnxq_strmap_has(&node_of, n->name) &&
            !onnxq_strmap_put(&node_of, n->name, (void *)n))
            s->oom = true;
    }
    /* graph inputs: only the ones the INT8 model quantizes carry an error */
    for (size_t i = 0; i < gf->n_inputs && !s->oom; i++) {
        const char *nm = gf->inputs[i].name;
        const char *dq = onnxq_strmap_get(&dq_of, nm);
        if (dq && !onnxq_graph_find_init(gf, nm))
            add_cand(s, nm, dq, NULL, 0, ONNXQ_MATCH_DQ);
    }
    for (size_t i = 0; i < gf->n_nodes && !s->oom; i++) {
        const struct onnxq_node *n = gf->nodes[i];
        for (size_t k = 0; k < n->n_outputs && !s->oom; k++) {
            const char *nm = n->outputs[k];
            if (!*nm)
                continue;
            const char *dq = onnxq_strmap_get(&dq_of, nm);
            const struct onnxq_value_entry *e = onnxq_graph_index_get(&iq, nm);
            const struct onnxq_node *twin = n->name && *n->name ? onnxq_strmap_get(&node_of, n->name) : NULL;
            if (dq) {
                add_cand(s, nm, dq, n, i, ONNXQ_MATCH_DQ);
                /* the Q node reads nm itself in the INT8 model, written by
                 * the same node (not so after a Relu fold: then the Conv
                 * writes the Relu's name, before the Relu) */
                const struct onnxq_node *p = e ? e->producer : NULL;
                bool same = p && strcmp(p->op_type, n->op_type) == 0 &&
                            strcmp(str_or_empty(p->name), str_or_empty(n->name)) == 0;
                if (!s->oom && same && s->c[s->n - 1].int8_name == dq) {
                    s->c[s->n - 1].pre_name = e->name;
                    if (!onnxq_strmap_has(&s->by_pre, e->name) &&
                        !onnxq_strmap_put(&s->by_pre, e->name, idx_ptr(s->n - 1)))
                        s->oom = true;
                }
            }
            else if (e && !e->is_initializer && (e->producer || e->is_graph_input))
                add_cand(s, nm, e->name, n, i, ONNXQ_MATCH_SAME);
            else if (twin && strcmp(twin->op_type, n->op_type) == 0 && k < twin->n_outputs && *twin->outputs[k])
                add_cand(s, nm, twin->outputs[k], n, i, ONNXQ_MATCH_PRODUCER);
            else
                add_cand(s, nm, NULL, n, i, ONNXQ_MATCH_SAME);
            if (!s->oom)
                s->c[s->n - 1].is_output = onnxq_graph_is_output(gf, nm);
        }
    }
    onnxq_graph_index_free(&iq);
    onnxq_strmap_free(&dq_of);
    onnxq_strmap_free(&node_of);
    if (s->oom)
        return onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory while matching tensors");
    return ONNXQ_OK;
}

/* Whether this run of the sample copies c (n values). A tensor not yet
 * assigned joins this run if it fits what is left of the budget (the first
 * one always does), else waits for a later run; the assignment then holds
 * for every sample. */
static bool in_pass(struct cmp *s, struct cand *c, size_t n)
{
    if (c->pass < 0) {
        size_t bytes = n * sizeof(float);
        if (s->used && bytes > s->budget - s->used) {
            s->more = true;
            return false;
        }
        c->pass = s->pass;
        s->used += bytes < s->budget - s->used ? bytes : s->budget - s->used;
        if (s->pass >= s->npass)
            s->npass = s->pass + 1;
    }
    return c->pass == s->pass;
}

static bool keep_copy(struct cand *c, const struct onnxq_tensor *t)
{
    size_t n = (size_t)onnxq_tensor_numel(t);
    if (n > c->cap) {
        float *nb = realloc(c->buf, n * sizeof(float));
        if (!nb)
            return false;
        c->buf = nb;
        c->cap = n;
    }
    if (n)
        memcpy(c->buf, t->data, n * sizeof(float));
    c->n = n;
    c->have = true;
    return true;
}

/* FP32 run: keep a copy of every matched float activation of this sample. */
static int hook_fp32(void *user, const struct onnxq_node *node, struct onnxq_tensor *const *outs, size_t n_outs)
{
    struct cmp *s = user;
    for (size_t k = 0; k < n_outs && k < node->n_outputs; k++) {
        if (!outs[k] || !*node->outputs[k])
            continue;
        size_t i = ptr_idx(onnxq_strmap_get(&s->by_fp32, node->outputs[k]));
        if (i == SIZE_MAX || outs[k]->dtype != ONNXQ_DT_FLOAT)
            continue;
        struct cand *c = &s->c[i];
        c->float_seen = true;
        if (c->int8_name && in_pass(s, c, (size_t)onnxq_tensor_numel(outs[k])) && !keep_copy(c, outs[k])) {
            s->oom = true;
            return 1;
        }
    }
    return 0;
}

/* INT8 run: fold each counterpart into its tensor's accumulator. */
static int hook_int8(void *user, const struct onnxq_node *node, struct onnxq_tensor *const *outs, size_t n_outs)
{
    struct cmp *s = user;
    for (size_t k = 0; k < n_outs && k < node->n_outputs; k++) {
        if (!outs[k] || !*node->outputs[k] || outs[k]->dtype != ONNXQ_DT_FLOAT)
            continue;
        size_t n = (size_t)onnxq_tensor_numel(outs[k]);
        for (size_t i = ptr_idx(onnxq_strmap_get(&s->by_int8, node->outputs[k])); i != SIZE_MAX;
             i = s->c[i].next_same) {
            struct cand *c = &s->c[i];
            if (!c->have)
                continue;
            if (c->n != n)
                c->shape_mismatch++;
            else
                onnxq_fidelity_add(&c->fid, c->buf, outs[k]->data, n);
        }
        size_t i = ptr_idx(onnxq_strmap_get(&s->by_pre, node->outputs[k]));
        if (i != SIZE_MAX && s->c[i].have && s->c[i].n == n)
            onnxq_fidelity_add(&s->c[i].fid_pre, s->c[i].buf, outs[k]->data, n);
    }
    return 0;
}

/* ------------------------------------------------------------- checks */

static void format_type(const struct onnxq_value_info *v, char *buf, size_t size)
{
    const struct onnxq_type *t = &v->type;
    size_t used = (size_t)snprintf(buf, size, "%s", t->has_elem_type ? onnxq_dtype_name(t->elem_type) : "?");
    if (!t->has_shape || used >= size)
        return;
    used += (size_t)snprintf(buf + used, size - used, " [");
    for (int d = 0; d < t->ndim && used < size; d++) {
        const struct onnxq_dim *dm = &t->dims[d];
        if (dm->kind == ONNXQ_DIM_VALUE)
            used += (size_t)snprintf(buf + used, size - used, "%s%lld", d ? "," : "", (long long)dm->value);
        else
            used += (size_t)snprintf(buf + used, size - used, "%s%s", d ? "," : "",
                                     dm->kind == ONNXQ_DIM_PARAM && dm->param ? dm->param : "?");
    }
    if (used < size)
        snprintf(buf + used, size - used, "]");
}

/* The INT8 model's fed inputs must be the FP32 model's: same names, element
 * types, ranks and fixed dims. map[j] = FP32 index of INT8 input j. */
static enum onnxq_status match_inputs(struct onnxq_exec *ef, struct onnxq_exec *eq, const char *fp32_path,
                                      const char *int8_path, size_t *map, struct onnxq_error *err)
{
    size_t nf = onnxq_exec_n_inputs(ef), nq = onnxq_exec_n_inputs(eq);
    for (size_t j = 0; j < nq; j++) {
        const struct onnxq_value_info *vq = onnxq_exec_input(eq, j), *vf = NULL;
        size_t i = 0;
        for (; i < nf; i++)
            if (strcmp(onnxq_exec_input(ef, i)->name, vq->name) == 0)
                break;
        if (i == nf)
            return onnxq_fail(err, ONNXQ_E_SHAPE, "the models' inputs differ: %s has input '%s', %s has none of that name",
                              int8_path, vq->name, fp32_path);
        vf = onnxq_exec_input(ef, i);
        map[j] = i;
        const struct onnxq_type *tf = &vf->type, *tq = &vq->type;
        bool same = tf->has_elem_type == tq->has_elem_type && (!tf->has_elem_type || tf->elem_type == tq->elem_type);
        if (same && tf->has_shape && tq->has_shape) {
            same = tf->ndim == tq->ndim;
            for (int d = 0; same && d < tf->ndim; d++)
                if (tf->dims[d].kind == ONNXQ_DIM_VALUE && tq->dims[d].kind == ONNXQ_DIM_VALUE)
                    same = tf->dims[d].value == tq->dims[d].value;
        }
        if (!same) {
            char a[160], b[160];
            format_type(vf, a, sizeof(a));
            format_type(vq, b, sizeof(b));
            return onnxq_fail(err, ONNXQ_E_SHAPE, "the models' inputs differ: input '%s' is %s in %s but %s in %s",
                              vq->name, a, fp32_path, b, int8_path);
        }
    }
    if (nf != nq) {
        for (size_t i = 0; i < nf; i++) {
            bool found = false;
            for (size_t j = 0; j < nq && !found; j++)
                found = map[j] == i;
            if (!found)
                return onnxq_fail(err, ONNXQ_E_SHAPE,
                                  "the models' inputs differ: %s has input '%s', %s has none of that name", fp32_path,
                                  onnxq_exec_input(ef, i)->name, int8_path);
        }
    }
    return ONNXQ_OK;
}

/* out_map[i] = INT8 output index compared with FP32 output i. */
static enum onnxq_status match_outputs(struct onnxq_exec *ef, struct onnxq_exec *eq, const char *fp32_path,
                                       const char *int8_path, size_t *out_map, struct onnxq_error *err)
{
    size_t nf = onnxq_exec_n_outputs(ef), nq = onnxq_exec_n_outputs(eq);
    bool by_name = true;
    for (size_t i = 0; i < nf; i++) {
        out_map[i] = SIZE_MAX;
        for (size_t j = 0; j < nq; j++)
            if (strcmp(onnxq_exec_output(ef, i)->name, onnxq_exec_output(eq, j)->name) == 0) {
                out_map[i] = j;
                break;
            }
        by_name = by_name && out_map[i] != SIZE_MAX;
    }
    if (by_name)
        return ONNXQ_OK;
    if (nf == nq) {
        for (size_t i = 0; i < nf; i++)
            out_map[i] = i;
        return ONNXQ_OK;
    }
    for (size_t i = 0; i < nf; i++)
        if (out_map[i] == SIZE_MAX)
            return onnxq_fail(err, ONNXQ_E_SHAPE,
                              "the models' outputs differ: %s has output '%s', %s has none of that name (and %zu "
                              "outputs, not %zu)",
                              fp32_path, onnxq_exec_output(ef, i)->name, int8_path, nq, nf);
    return ONNXQ_OK;
}

/* Every row of the last axis is a probability distribution. */
static bool rows_are_probabilities(const float *x, size_t n, size_t row)
{
    for (size_t off = 0; off + row <= n; off += row) {
        double sum = 0;
        for (size_t i = 0; i < row; i++) {
            float v = x[off + i];
            if (!(v >= 0.0f && v <= 1.0f))
                return false;
            sum += v;
        }
        if (fabs(sum - 1.0) > PROB_SUM_TOL)
            return false;
    }
    return true;
}

struct out_state {
    struct onnxq_fidelity fid, top1;
    bool probs;    /* every FP32 row so far is a distribution */
    bool rank2;    /* 2-D with last axis >= 2 in every sample */
    bool last_ok;  /* last axis >= 2 in every sample */
};

static enum onnxq_status compare_output(struct out_state *o, const char *name, const struct onnxq_tensor *a,
                                        const struct onnxq_tensor *b, const char *int8_path, struct onnxq_error *err)
{
    if (a->dtype != ONNXQ_DT_FLOAT || b->dtype != ONNXQ_DT_FLOAT) {
        if (a->dtype != b->dtype)
            return onnxq_fail(err, ONNXQ_E_SHAPE, "output '%s': %s in the FP32 model but %s in %s", name,
                              onnxq_dtype_name(a->dtype), onnxq_dtype_name(b->dtype), int8_path);
        o->last_ok = false;  /* non-float outputs are not compared */
        return ONNXQ_OK;
    }
    int64_t na = onnxq_tensor_numel(a), nb = onnxq_tensor_numel(b);
    if (na != nb) {
        char sa[128], sb[128];
        onnxq_shape_format(a->dims, a->ndim, sa, sizeof(sa));
        onnxq_shape_format(b->dims, b->ndim, sb, sizeof(sb));
        return onnxq_fail(err, ONNXQ_E_SHAPE, "output '%s': shape %s in the FP32 model but %s in %s", name, sa, sb,
                          int8_path);
    }
    onnxq_fidelity_add(&o->fid, a->data, b->data, (size_t)na);
    size_t row = a->ndim ? (size_t)a->dims[a->ndim - 1] : 1;
    if (row < 2 || na == 0) {
        o->last_ok = false;
        return ONNXQ_OK;
    }
    o->rank2 = o->rank2 && a->ndim == 2;
    if (o->probs)
        o->probs = rows_are_probabilities(a->data, (size_t)na, row);
    onnxq_fidelity_add_top1(&o->top1, a->data, b->data, (size_t)na, row);
    return ONNXQ_OK;
}

/* ------------------------------------------------------------- driver */

static char *dup_or_empty(const char *s, bool *oom)
{
    char *c = onnxq_strdup(s ? s : "");
    if (!c)
        *oom = true;
    return c;
}

enum onnxq_status onnxq_compare_models(struct onnxq_context *ctx, const struct onnxq_model *fp32,
                                       const struct onnxq_model *int8, const char *data,
                                       const struct onnxq_dataset_options *dopts,
                                       const struct onnxq_compare_options *opts,
                                       struct onnxq_compare_result **out, struct onnxq_error *err)
{
    enum onnxq_status st = ONNXQ_OK;
    struct onnxq_compare_options defaults;
    struct cmp s = {0};
    struct onnxq_exec *ef = NULL, *eq = NULL;
    struct onnxq_dataset *ds = NULL;
    struct onnxq_tensor *in = NULL, *out_f = NULL, *out_q = NULL;
    const struct onnxq_tensor **inp_f = NULL, **inp_q = NULL;
    const struct onnxq_value_info **decl = NULL;
    size_t *in_map = NULL, *out_map = NULL;
    struct out_state *os = NULL;
    struct onnxq_compare_result *r = NULL;
    size_t nin = 0, nout_f = 0, nout_q = 0;
    if (!ctx || !fp32 || !int8 || !data || !dopts || !out)
        return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "onnxq_compare_models: NULL argument");
    if (!opts) {
        onnxq_compare_options_init(&defaults);
        opts = &defaults;
    }
    const char *fp32_path = fp32->path ? fp32->path : "the FP32 model";
    const char *int8_path = int8->path ? int8->path : "the INT8 model";
    s.tensors = opts->tensors;
    if ((st = onnxq_exec_new(ctx, fp32, &ef, err))) {
        onnxq_error_prefix(err, "%s: ", fp32_path);
        goto out;
    }
    if ((st = onnxq_exec_new(ctx, int8, &eq, err))) {
        onnxq_error_prefix(err, "%s: ", int8_path);
        goto out;
    }
    nin = onnxq_exec_n_inputs(ef);
    nout_f = onnxq_exec_n_outputs(ef);
    nout_q = onnxq_exec_n_outputs(eq);
    decl = calloc(nin + 1, sizeof(*decl));
    in = calloc(nin + 1, sizeof(*in));
    inp_f = calloc(nin + 1, sizeof(*inp_f));
    inp_q = calloc(nin + 1, sizeof(*inp_q));
    in_map = calloc(onnxq_exec_n_inputs(eq) + 1, sizeof(*in_map));
    out_map = calloc(nout_f + 1, sizeof(*out_map));
    out_f = calloc(nout_f + 1, sizeof(*out_f));
    out_q = calloc(nout_q + 1, sizeof(*out_q));
    os = calloc(nout_f + 1, sizeof(*os));
    r = calloc(1, sizeof(*r));
    if (!decl || !in || !inp_f || !inp_q || !in_map || !out_map || !out_f || !out_q || !os || !r)
        goto oom;
    if ((st = match_inputs(ef, eq, fp32_path, int8_path, in_map, err)) ||
        (st = match_outputs(ef, eq, fp32_path, int8_path, out_map, err)))
        goto out;
    for (size_t i = 0; i < nin; i++) {
        decl[i] = onnxq_exec_input(ef, i);
        inp_f[i] = &in[i];
    }
    for (size_t j = 0; j < onnxq_exec_n_inputs(eq); j++)
        inp_q[j] = &in[in_map[j]];
    for (size_t i = 0; i < nout_f; i++) {
        onnxq_fidelity_init(&os[i].fid);
        onnxq_fidelity_init(&os[i].top1);
        os[i].probs = os[i].rank2 = os[i].last_ok = true;
    }
    if (opts->tensors) {
        if ((st = build_matches(&s, fp32, int8, err)))
            goto out;
        onnxq_exec_set_hook(ef, hook_fp32, &s);
        onnxq_exec_set_hook(eq, hook_int8, &s);
    }
    if ((st = onnxq_dataset_open(data, decl, nin, dopts, &ds, err)))
        goto out;
    size_t nb = onnxq_dataset_batches(ds), total = onnxq_dataset_size(ds), done = 0;
    if (!opts->quiet)
        fprintf(stderr, "onnxq: compare: %s\n", onnxq_dataset_describe(ds));
    double t_start = onnxq_now_seconds(), t_last = t_start;
    s.budget = opts->tensor_memory ? opts->tensor_memory : ONNXQ_COMPARE_TENSOR_MEMORY;
    for (size_t b = 0; b < nb; b++) {
        if ((st = onnxq_dataset_get_batch(ds, b, in, err)))
            goto out;
        /* one run of both models, or more when the FP32 copies of the
         * per-tensor metrics exceed the budget: a group of tensors a run */
        s.pass = 0;
        do {
            s.used = 0;
            s.more = false;
            /* quantized graph inputs: the FP32 side is the data itself */
            for (size_t i = 0; i < s.n; i++)
                if (!s.c[i].producer)
                    for (size_t k = 0; k < nin; k++)
                        if (strcmp(decl[k]->name, s.c[i].name) == 0 && in[k].dtype == ONNXQ_DT_FLOAT) {
                            s.c[i].float_seen = true;
                            if (in_pass(&s, &s.c[i], (size_t)onnxq_tensor_numel(&in[k])) &&
                                !keep_copy(&s.c[i], &in[k]))
                                goto oom;
                        }
            double t0 = onnxq_now_seconds();
            if ((st = onnxq_exec_run(ef, inp_f, out_f, err))) {
                if (s.oom)
                    goto oom;
                onnxq_error_prefix(err, "%s, sample batch %zu: ", fp32_path, b);
                goto out;
            }
            double t1 = onnxq_now_seconds();
            if ((st = onnxq_exec_run(eq, inp_q, out_q, err))) {
                onnxq_error_prefix(err, "%s, sample batch %zu: ", int8_path, b);
                goto out;
            }
            if (s.pass == 0) {
                r->seconds_fp32 += t1 - t0;
                r->seconds_int8 += onnxq_now_seconds() - t1;
                for (size_t i = 0; i < nout_f; i++)
                    if ((st = compare_output(&os[i], onnxq_exec_output(ef, i)->name, &out_f[i], &out_q[out_map[i]],
                                             int8_path, err)))
                        goto out;
            }
            bool several = s.more || s.npass > 1;
            for (size_t i = 0; i < s.n; i++) {
                if (s.c[i].have && several) { /* the next run's group takes the memory */
                    free(s.c[i].buf);
                    s.c[i].buf = NULL;
                    s.c[i].cap = 0;
                }
                s.c[i].have = false;
            }
            for (size_t i = 0; i < nout_f; i++)
                onnxq_exec_recycle_output(ef, &out_f[i]);
            for (size_t i = 0; i < nout_q; i++)
                onnxq_exec_recycle_output(eq, &out_q[i]);
            s.pass++;
        } while (s.more || s.pass < s.npass);
        size_t bs = in[0].ndim ? (size_t)in[0].dims[0] : 1;
        for (size_t i = 0; i < nin; i++)
            onnxq_tensor_clear(&in[i]);
        done += bs < total - done ? bs : total - done;
        double t = onnxq_now_seconds();
        if (!opts->quiet && (t - t_last > 5.0 || b + 1 == nb)) {
            fprintf(stderr, "onnxq: compare: %zu/%zu samples, %.1f samples/s\n", done, total,
                    t > t_start ? (double)done / (t - t_start) : 0.0);
            t_last = t;
        }
    }

    /* results */
    bool oom_flag = false;
    r->samples = done;
    r->runs_per_sample = s.npass > 1 ? (size_t)s.npass : 1;
    snprintf(r->source, sizeof(r->source), "%s", onnxq_dataset_describe(ds));
    r->fp32_path = dup_or_empty(fp32->path, &oom_flag);
    r->int8_path = dup_or_empty(int8->path, &oom_flag);
    r->outputs = calloc(nout_f + 1, sizeof(*r->outputs));
    r->tensors = calloc(s.n + 1, sizeof(*r->tensors));
    r->unmatched = calloc(s.n + 1, sizeof(*r->unmatched));
    if (oom_flag || !r->outputs || !r->tensors || !r->unmatched)
        goto oom;
    for (size_t i = 0; i < nout_f; i++) {
        struct onnxq_compare_output *o = &r->outputs[r->n_outputs++];
        o->name = dup_or_empty(onnxq_exec_output(ef, i)->name, &oom_flag);
        o->int8_name = dup_or_empty(onnxq_exec_output(eq, out_map[i])->name, &oom_flag);
        o->fid = os[i].fid;
        o->scores = os[i].last_ok && os[i].top1.rows > 0 && (os[i].probs || os[i].rank2);
        if (o->scores) {
            o->fid.rows = os[i].top1.rows;
            o->fid.top1_agree = os[i].top1.top1_agree;
        }
        o->sqnr_db = onnxq_fidelity_sqnr_db(&o->fid);
        o->cosine = onnxq_fidelity_cosine(&o->fid);
        o->max_abs = o->fid.max_abs;
        o->top1 = o->scores ? onnxq_fidelity_top1(&o->fid) : -1.0;
    }
    for (size_t i = 0; i < s.n; i++) {
        const struct cand *c = &s.c[i];
        if (!c->float_seen)
            continue;
        bool compared = c->fid.count || c->fid.nonfinite || c->shape_mismatch;
        if (!c->int8_name || !compared) {
            r->unmatched[r->n_unmatched++] = dup_or_empty(c->name, &oom_flag);
            continue;
        }
        struct onnxq_compare_tensor *t = &r->tensors[r->n_tensors++];
        t->name = dup_or_empty(c->name, &oom_flag);
        t->int8_name = dup_or_empty(c->int8_name, &oom_flag);
        t->node = dup_or_empty(c->producer ? str_or_empty(c->producer->name) : "", &oom_flag);
        t->op_type = dup_or_empty(c->producer ? c->producer->op_type : "", &oom_flag);
        t->order = c->order;
        t->match = c->match;
        t->quantized = c->match == ONNXQ_MATCH_DQ;
        t->renamed = strcmp(c->name, c->int8_name) != 0;
        t->is_output = c->is_output;
        t->shape_mismatch = c->shape_mismatch;
        t->fid = c->fid;
        t->sqnr_db = onnxq_fidelity_sqnr_db(&c->fid);
        t->cosine = onnxq_fidelity_cosine(&c->fid);
        t->max_abs = c->fid.max_abs;
        t->has_pre = c->pre_name && (c->fid_pre.count || c->fid_pre.nonfinite);
        t->pre_name = dup_or_empty(t->has_pre ? c->pre_name : "", &oom_flag);
        t->fid_pre = c->fid_pre;
        t->sqnr_pre_db = t->has_pre ? onnxq_fidelity_sqnr_db(&c->fid_pre) : NAN;
        r->n_quantized += t->quantized;
    }
    if (oom_flag)
        goto oom;
    *out = r;
    r = NULL;
    goto out;
oom:
    st = onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory while comparing models");
out:
    for (size_t i = 0; in && i < nin; i++)
        onnxq_tensor_clear(&in[i]);
    for (size_t i = 0; out_f && i < nout_f; i++)
        onnxq_tensor_clear(&out_f[i]);
    for (size_t i = 0; out_q && i < nout_q; i++)
        onnxq_tensor_clear(&out_q[i]);
    free(in);
    free(inp_f);
    free(inp_q);
    free(decl);
    free(in_map);
    free(out_map);
    free(out_f);
    free(out_q);
    free(os);
    onnxq_dataset_free(ds);
    onnxq_exec_free(ef);
    onnxq_exec_free(eq);
    cmp_free(&s);
    onnxq_compare_result_free(r);
    return st;
}

enum onnxq_status onnxq_compare_files(struct onnxq_context *ctx, const char *fp32_path, const char *int8_path,
                                      const char *data, const struct onnxq_dataset_options *dopts,
                                      const struct onnxq_compare_options *opts,
                                      struct onnxq_compare_result **out, struct onnxq_error *err)
{
    enum onnxq_status st;
    struct onnxq_model *mf = NULL, *mq = NULL;
    if (!fp32_path || !int8_path)
        return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "onnxq_compare_files: NULL path");
    if ((st = onnxq_model_load(ctx, fp32_path, &mf, err)) || (st = onnxq_model_load(ctx, int8_path, &mq, err)))
        goto out;
    /* the quantizer rewrote the prepared model: same passes, same names
     * (quietly: what they change is `onnxq quantize`'s news) */
    if ((st = onnxq_quant_prepare(mf, true, err))) {
        onnxq_error_prefix(err, "%s: ", fp32_path);
        goto out;
    }
    st = onnxq_compare_models(ctx, mf, mq, data, dopts, opts, out, err);
out:
    onnxq_model_free(mf);
    onnxq_model_free(mq);
    return st;
}

/* ---------------------------------------------------------- reporting */

struct rank_key {
    const struct onnxq_compare_tensor *t;
    size_t i;
};

static int rank_cmp(const void *pa, const void *pb)
{
    const struct rank_key *a = pa, *b = pb;
    double x = a->t->sqnr_db, y = b->t->sqnr_db;
    if (x < y)
        return -1;
    if (x > y)
        return 1;
    if (a->t->order != b->t->order)
        return a->t->order < b->t->order ? -1 : 1;
    return a->i < b->i ? -1 : a->i > b->i;
}

void onnxq_compare_rank(const struct onnxq_compare_result *r, size_t *order)
{
    if (!r || !order || !r->n_tensors)
        return;
    struct rank_key *k = malloc(r->n_tensors * sizeof(*k));
    if (!k) {
        /* no memory for the sort: execution order */
        for (size_t i = 0; i < r->n_tensors; i++)
            order[i] = i;
        return;
    }
    for (size_t i = 0; i < r->n_tensors; i++)
        k[i] = (struct rank_key){&r->tensors[i], i};
    qsort(k, r->n_tensors, sizeof(*k), rank_cmp);
    for (size_t i = 0; i < r->n_tensors; i++)
        order[i] = k[i].i;
    free(k);
}

static json_object *json_db(double v)
{
    if (isfinite(v))
        return json_object_new_double(v);
    return json_object_new_string(isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
}

static void add_metrics(json_object *o, const struct onnxq_fidelity *f, double sqnr, double cosine, double max_abs)
{
    json_object_object_add(o, "sqnr_db", json_db(sqnr));
    json_object_object_add(o, "cosine", json_db(cosine));
    json_object_object_add(o, "max_abs", json_db(max_abs));
    json_object_object_add(o, "values", json_object_new_int64((int64_t)f->count));
    if (f->nonfinite)
        json_object_object_add(o, "nonfinite", json_object_new_int64((int64_t)f->nonfinite));
}

struct json_object *onnxq_compare_json(const struct onnxq_compare_result *r)
{
    if (!r)
        return NULL;
    size_t *order = malloc((r->n_tensors + 1) * sizeof(size_t));
    json_object *root = json_object_new_object();
    if (!order || !root) {
        free(order);
        json_object_put(root);
        return NULL;
    }
    onnxq_compare_rank(r, order);
    json_object_object_add(root, "fp32", json_object_new_string(str_or_empty(r->fp32_path)));
    json_object_object_add(root, "int8", json_object_new_string(str_or_empty(r->int8_path)));
    json_object_object_add(root, "samples", json_object_new_int64((int64_t)r->samples));
    json_object_object_add(root, "source", json_object_new_string(r->source));
    json_object *outs = json_object_new_array();
    for (size_t i = 0; i < r->n_outputs; i++) {
        const struct onnxq_compare_output *o = &r->outputs[i];
        json_object *j = json_object_new_object();
        json_object_object_add(j, "name", json_object_new_string(o->name));
        json_object_object_add(j, "int8_name", json_object_new_string(o->int8_name));
        add_metrics(j, &o->fid, o->sqnr_db, o->cosine, o->max_abs);
        json_object_object_add(j, "scores", json_object_new_boolean(o->scores));
        if (o->scores) {
            json_object_object_add(j, "top1", json_object_new_double(o->top1));
            json_object_object_add(j, "rows", json_object_new_int64((int64_t)o->fid.rows));
        }
        json_object_array_add(outs, j);
    }
    json_object_object_add(root, "outputs", outs);
    json_object *ts = json_object_new_array();
    for (size_t k = 0; k < r->n_tensors; k++) {
        const struct onnxq_compare_tensor *t = &r->tensors[order[k]];
        json_object *j = json_object_new_object();
        json_object_object_add(j, "name", json_object_new_string(t->name));
        json_object_object_add(j, "int8_name", json_object_new_string(t->int8_name));
        json_object_object_add(j, "node", json_object_new_string(t->node));
        json_object_object_add(j, "op_type", json_object_new_string(t->op_type));
        json_object_object_add(j, "order", json_object_new_int64((int64_t)t->order));
        json_object_object_add(j, "match", json_object_new_string(onnxq_compare_match_names[t->match]));
        json_object_object_add(j, "quantized", json_object_new_boolean(t->quantized));
        json_object_object_add(j, "renamed", json_object_new_boolean(t->renamed));
        json_object_object_add(j, "output", json_object_new_boolean(t->is_output));
        add_metrics(j, &t->fid, t->sqnr_db, t->cosine, t->max_abs);
        if (t->shape_mismatch)
            json_object_object_add(j, "shape_mismatch", json_object_new_int64((int64_t)t->shape_mismatch));
        if (t->has_pre) {
            json_object_object_add(j, "pre_name", json_object_new_string(t->pre_name));
            json_object_object_add(j, "sqnr_pre_db", json_db(t->sqnr_pre_db));
        }
        json_object_array_add(ts, j);
    }
    json_object_object_add(root, "tensors", ts);
    json_object_object_add(root, "n_tensors", json_object_new_int64((int64_t)r->n_tensors));
    json_object_object_add(root, "n_quantized", json_object_new_int64((int64_t)r->n_quantized));
    json_object *um = json_object_new_array();
    for (size_t i = 0; i < r->n_unmatched; i++)
        json_object_array_add(um, json_object_new_string(r->unmatched[i]));
    json_object_object_add(root, "unmatched", um);
    json_object *sec = json_object_new_object();
    json_object_object_add(sec, "fp32", json_object_new_double(r->seconds_fp32));
    json_object_object_add(sec, "int8", json_object_new_double(r->seconds_int8));
    json_object_object_add(root, "seconds", sec);
    json_object_object_add(root, "runs_per_sample", json_object_new_int64((int64_t)r->runs_per_sample));
    free(order);
    return root;
}

void onnxq_compare_result_free(struct onnxq_compare_result *r)
{
    if (!r)
        return;
    free(r->fp32_path);
    free(r->int8_path);
    for (size_t i = 0; r->outputs && i < r->n_outputs; i++) {
        free(r->outputs[i].name);
        free(r->outputs[i].int8_name);
    }
    free(r->outputs);
    for (size_t i = 0; r->tensors && i < r->n_tensors; i++) {
        free(r->tensors[i].name);
        free(r->tensors[i].int8_name);
        free(r->tensors[i].node);
        free(r->tensors[i].op_type);
        free(r->tensors[i].pre_name);
    }
    free(r->tensors);
    for (size_t i = 0; r->unmatched && i < r->n_unmatched; i++)
        free(r->unmatched[i]);
    free(r->unmatched);
    free(r);
}
