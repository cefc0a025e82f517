/* onnxq_model_describe: the summary behind `onnxq inspect`. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "ir/graph.h"

struct op_count {
    char *key;
    size_t count;
};

struct stats {
    size_t nodes_total;
    size_t n_inits;
    size_t init_bytes;
    size_t subgraphs;
    struct op_count *ops;
    size_t n_ops, cap_ops;
    bool oom;
};

static void count_op(struct stats *s, const struct onnxq_node *n)
{
    char key[512];
    const char *dom = n->domain;
    if (dom && *dom && strcmp(dom, "ai.onnx") != 0)
        snprintf(key, sizeof(key), "%s:%s", dom, n->op_type);
    else
        snprintf(key, sizeof(key), "%s", n->op_type);
    for (size_t i = 0; i < s->n_ops; i++)
        if (strcmp(s->ops[i].key, key) == 0) {
            s->ops[i].count++;
            return;
        }
    if (s->n_ops == s->cap_ops) {
        size_t nc = s->cap_ops ? s->cap_ops * 2 : 32;
        struct op_count *no = realloc(s->ops, nc * sizeof(*no));
        if (!no) {
            s->oom = true;
            return;
        }
        s->ops = no;
        s->cap_ops = nc;
    }
    if (!(s->ops[s->n_ops].key = onnxq_strdup(key))) {
        s->oom = true;
        return;
    }
    s->ops[s->n_ops++].count = 1;
}

static void walk(const struct onnxq_graph *g, struct stats *s);

static void walk_cb(struct onnxq_graph *sub, void *user)
{
    struct stats *s = user;
    s->subgraphs++;
    walk(sub, s);
}

static void walk(const struct onnxq_graph *g, struct stats *s)
{
    s->n_inits += g->n_inits;
    for (size_t i = 0; i < g->n_inits; i++)
        s->init_bytes += g->inits[i]->value.nbytes;
    for (size_t i = 0; i < g->n_nodes; i++) {
        s->nodes_total++;
        count_op(s, g->nodes[i]);
        onnxq_node_for_each_subgraph(g->nodes[i], walk_cb, s);
    }
}

static int cmp_ops(const void *a, const void *b)
{
    const struct op_count *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return strcmp(x->key, y->key);
}

static bool is_initializer_input(const struct onnxq_graph *g, const char *name)
{
    return name && onnxq_graph_find_init(g, name) != NULL;
}

static void format_type(const struct onnxq_type *t, char *buf, size_t size)
{
    if (t->kind == ONNXQ_TYPE_NONE) {
        snprintf(buf, size, "(no type)");
        return;
    }
    if (t->kind == ONNXQ_TYPE_OPAQUE) {
        snprintf(buf, size, "(non-tensor type)");
        return;
    }
    size_t used = 0;
    int w = snprintf(buf, size, "%s", t->has_elem_type ? onnxq_dtype_name(t->elem_type) : "?");
    used = w > 0 ? (size_t)w : 0;
    if (!t->has_shape) {
        snprintf(buf + used, size - used, "[unknown rank]");
        return;
    }
    w = snprintf(buf + used, size - used, "[");
    used += w > 0 ? (size_t)w : 0;
    for (int i = 0; i < t->ndim && used < size; i++) {
        const struct onnxq_dim *d = &t->dims[i];
        if (d->kind == ONNXQ_DIM_VALUE)
            w = snprintf(buf + used, size - used, "%s%lld", i ? "," : "", (long long)d->value);
        else if (d->kind == ONNXQ_DIM_PARAM)
            w = snprintf(buf + used, size - used, "%s%s", i ? "," : "", d->param);
        else
            w = snprintf(buf + used, size - used, "%s?", i ? "," : "");
        used += w > 0 ? (size_t)w : 0;
    }
    if (used < size)
        snprintf(buf + used, size - used, "]");
}

static json_object *type_json(const struct onnxq_type *t)
{
    json_object *o = json_object_new_object();
    if (t->kind == ONNXQ_TYPE_TENSOR) {
        json_object_object_add(o, "dtype", json_object_new_string(
                                               t->has_elem_type ? onnxq_dtype_name(t->elem_type) : "unknown"));
        if (t->has_shape) {
            json_object *shape = json_object_new_array();
            for (int i = 0; i < t->ndim; i++) {
                const struct onnxq_dim *d = &t->dims[i];
                if (d->kind == ONNXQ_DIM_VALUE)
                    json_object_array_add(shape, json_object_new_int64(d->value));
                else if (d->kind == ONNXQ_DIM_PARAM)
                    json_object_array_add(shape, json_object_new_string(d->param));
                else
                    json_object_array_add(shape, NULL);
            }
            json_object_object_add(o, "shape", shape);
        } else {
            json_object_object_add(o, "shape", NULL);
        }
    } else {
        json_object_object_add(o, "dtype", json_object_new_string(
                                               t->kind == ONNXQ_TYPE_OPAQUE ? "non-tensor" : "unknown"));
    }
    return o;
}

static json_object *io_json(const struct onnxq_graph *g, const struct onnxq_value_info *v, size_t n,
                            bool skip_inits)
{
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < n; i++) {
        if (skip_inits && is_initializer_input(g, v[i].name))
            continue;
        json_object *o = type_json(&v[i].type);
        json_object_object_add(o, "name", json_object_new_string(v[i].name ? v[i].name : ""));
        json_object_array_add(arr, o);
    }
    return arr;
}

static void print_io(FILE *out, const char *title, const struct onnxq_graph *g, const struct onnxq_value_info *v,
                     size_t n, bool skip_inits)
{
    fprintf(out, "%s:\n", title);
    for (size_t i = 0; i < n; i++) {
        if (skip_inits && is_initializer_input(g, v[i].name))
            continue;
        char tb[512];
        format_type(&v[i].type, tb, sizeof(tb));
        fprintf(out, "  %-32s %s\n", v[i].name ? v[i].name : "", tb);
    }
}

ONNXQ_API enum onnxq_status onnxq_model_describe(const struct onnxq_model *m, FILE *out, unsigned flags,
                                                 struct onnxq_error *err)
{
    if (!m || !out)
        return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "onnxq_model_describe: NULL argument");
    struct stats s = {0};
    enum onnxq_status st = ONNXQ_OK;
    const struct onnxq_graph *g = m->graph;
    walk(g, &s);
    if (s.oom) {
        st = onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory");
        goto out;
    }
    qsort(s.ops, s.n_ops, sizeof(*s.ops), cmp_ops);

    if (flags & ONNXQ_DESCRIBE_JSON) {
        json_object *root = json_object_new_object();
        json_object_object_add(root, "file", json_object_new_string(m->path ? m->path : ""));
        json_object_object_add(root, "ir_version", json_object_new_int64(m->ir_version));
        json_object *ops = json_object_new_array();
        for (size_t i = 0; i < m->n_opsets; i++) {
            json_object *o = json_object_new_object();
            json_object_object_add(o, "domain", json_object_new_string(m->opsets[i].domain ? m->opsets[i].domain : ""));
            json_object_object_add(o, "version", json_object_new_int64(m->opsets[i].version));
            json_object_array_add(ops, o);
        }
        json_object_object_add(root, "opsets", ops);
        json_object_object_add(root, "producer_name", json_object_new_string(m->producer_name ? m->producer_name : ""));
        json_object_object_add(root, "producer_version",
                               json_object_new_string(m->producer_version ? m->producer_version : ""));
        json_object_object_add(root, "inputs", io_json(g, g->inputs, g->n_inputs, true));
        json_object_object_add(root, "outputs", io_json(g, g->outputs, g->n_outputs, false));
        json_object_object_add(root, "nodes", json_object_new_int64((int64_t)g->n_nodes));
        json_object_object_add(root, "nodes_total", json_object_new_int64((int64_t)s.nodes_total));
        json_object *hist = json_object_new_object();
        for (size_t i = 0; i < s.n_ops; i++)
            json_object_object_add(hist, s.ops[i].key, json_object_new_int64((int64_t)s.ops[i].count));
        json_object_object_add(root, "op_types", hist);
        json_object_object_add(root, "initializers", json_object_new_int64((int64_t)s.n_inits));
        json_object_object_add(root, "initializer_bytes", json_object_new_int64((int64_t)s.init_bytes));
        json_object_object_add(root, "subgraphs", json_object_new_int64((int64_t)s.subgraphs));
        json_object *ext = json_object_new_array();
        for (size_t i = 0; i < m->n_external_files; i++)
            json_object_array_add(ext, json_object_new_string(m->external_files[i]));
        json_object_object_add(root, "external_data", ext);
        json_object *meta = json_object_new_object();
        for (size_t i = 0; i < m->n_metadata; i++)
            if (m->metadata[i].key)
                json_object_object_add(meta, m->metadata[i].key,
                                       json_object_new_string(m->metadata[i].value ? m->metadata[i].value : ""));
        json_object_object_add(root, "metadata", meta);
        const char *txt = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!txt) {
            json_object_put(root);
            st = onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory formatting JSON");
            goto out;
        }
        fprintf(out, "%s\n", txt);
        json_object_put(root);
    } else {
        fprintf(out, "model:         %s\n", m->path ? m->path : "");
        fprintf(out, "ir_version:    %lld\n", (long long)m->ir_version);
        fprintf(out, "opsets:       ");
        for (size_t i = 0; i < m->n_opsets; i++)
            fprintf(out, " %s=%lld", m->opsets[i].domain && *m->opsets[i].domain ? m->opsets[i].domain : "ai.onnx",
                    (long long)m->opsets[i].version);
        fprintf(out, "\nproducer:      %s %s\n", m->producer_name ? m->producer_name : "",
                m->producer_version ? m->producer_version : "");
        print_io(out, "inputs", g, g->inputs, g->n_inputs, true);
        print_io(out, "outputs", g, g->outputs, g->n_outputs, false);
        fprintf(out, "nodes:         %zu (%zu including subgraphs)\n", g->n_nodes, s.nodes_total);
        fprintf(out, "op types:\n");
        for (size_t i = 0; i < s.n_ops; i++)
            fprintf(out, "  %-32s %zu\n", s.ops[i].key, s.ops[i].count);
        fprintf(out, "initializers:  %zu (%zu bytes)\n", s.n_inits, s.init_bytes);
        fprintf(out, "subgraphs:     %zu\n", s.subgraphs);
        fprintf(out, "external data:");
        if (!m->n_external_files)
            fprintf(out, " none");
        for (size_t i = 0; i < m->n_external_files; i++)
            fprintf(out, " %s", m->external_files[i]);
        fprintf(out, "\n");
    }
    if (ferror(out))
        st = onnxq_fail(err, ONNXQ_E_IO, "writing the model summary failed");
out:
    for (size_t i = 0; i < s.n_ops; i++)
        free(s.ops[i].key);
    free(s.ops);
    return st;
}
