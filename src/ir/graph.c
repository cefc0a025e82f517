#include "ir/graph.h"

#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *onnxq_strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* ------------------------------------------------------------------ free */

void onnxq_raw_clear(struct onnxq_raw *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        free(r->fields[i].data);
    free(r->fields);
    r->fields = NULL;
    r->n = 0;
}

bool onnxq_raw_append(struct onnxq_raw *r, uint32_t tag, ProtobufCWireType wire, const void *data,
                      size_t len)
{
    ProtobufCMessageUnknownField *nf = realloc(r->fields, (r->n + 1) * sizeof(*nf));
    if (!nf)
        return false;
    r->fields = nf;
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return false;
    if (len)
        memcpy(copy, data, len);
    nf[r->n].tag = tag;
    nf[r->n].wire_type = wire;
    nf[r->n].len = len;
    nf[r->n].data = copy;
    r->n++;
    return true;
}

void onnxq_type_clear(struct onnxq_type *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->ndim; i++) {
        free(t->dims[i].param);
        free(t->dims[i].denotation);
    }
    free(t->dims);
    free(t->denotation);
    free(t->opaque);
    memset(t, 0, sizeof(*t));
}

void onnxq_value_info_clear(struct onnxq_value_info *vi)
{
    if (!vi)
        return;
    free(vi->name);
    free(vi->doc_string);
    onnxq_type_clear(&vi->type);
    onnxq_raw_clear(&vi->raw);
    memset(vi, 0, sizeof(*vi));
}

void onnxq_constant_free(struct onnxq_constant *c)
{
    if (!c)
        return;
    free(c->name);
    free(c->doc_string);
    free(c->external_file);
    onnxq_tensor_clear(&c->value);
    onnxq_raw_clear(&c->raw);
    free(c);
}

static void free_bytes_array(struct onnxq_bytes *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(b[i].data);
    free(b);
}

void onnxq_attr_clear(struct onnxq_attr *a)
{
    if (!a)
        return;
    free(a->name);
    free(a->ref_attr_name);
    free(a->doc_string);
    free(a->s.data);
    onnxq_constant_free(a->t);
    onnxq_graph_free(a->g);
    free(a->floats);
    free(a->ints);
    free_bytes_array(a->strings, a->n_strings);
    for (size_t i = 0; i < a->n_tensors; i++)
        onnxq_constant_free(a->tensors[i]);
    free(a->tensors);
    for (size_t i = 0; i < a->n_graphs; i++)
        onnxq_graph_free(a->graphs[i]);
    free(a->graphs);
    onnxq_raw_clear(&a->raw);
    memset(a, 0, sizeof(*a));
}

static void free_str_array(char **s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(s[i]);
    free(s);
}

void onnxq_node_free(struct onnxq_node *n)
{
    if (!n)
        return;
    free(n->name);
    free(n->op_type);
    free(n->domain);
    free(n->doc_string);
    free_str_array(n->inputs, n->n_inputs);
    free_str_array(n->outputs, n->n_outputs);
    for (size_t i = 0; i < n->n_attrs; i++)
        onnxq_attr_clear(&n->attrs[i]);
    free(n->attrs);
    onnxq_raw_clear(&n->raw);
    free(n);
}

struct onnxq_graph *onnxq_graph_new(void)
{
    return calloc(1, sizeof(struct onnxq_graph));
}

static void free_vi_array(struct onnxq_value_info *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        onnxq_value_info_clear(&v[i]);
    free(v);
}

void onnxq_graph_free(struct onnxq_graph *g)
{
    if (!g)
        return;
    free(g->name);
    free(g->doc_string);
    for (size_t i = 0; i < g->n_nodes; i++)
        onnxq_node_free(g->nodes[i]);
    free(g->nodes);
    for (size_t i = 0; i < g->n_inits; i++)
        onnxq_constant_free(g->inits[i]);
    free(g->inits);
    free_vi_array(g->inputs, g->n_inputs);
    free_vi_array(g->outputs, g->n_outputs);
    free_vi_array(g->value_info, g->n_value_info);
    onnxq_raw_clear(&g->raw);
    free(g);
}

void onnxq_model_destroy(struct onnxq_model *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_opsets; i++) {
        free(m->opsets[i].domain);
        onnxq_raw_clear(&m->opsets[i].raw);
    }
    free(m->opsets);
    free(m->producer_name);
    free(m->producer_version);
    free(m->domain);
    free(m->doc_string);
    for (size_t i = 0; i < m->n_metadata; i++) {
        free(m->metadata[i].key);
        free(m->metadata[i].value);
        onnxq_raw_clear(&m->metadata[i].raw);
    }
    free(m->metadata);
    onnxq_graph_free(m->graph);
    onnxq_raw_clear(&m->raw);
    free(m->path);
    free_str_array(m->external_files, m->n_external_files);
    free(m);
}

ONNXQ_API void onnxq_model_free(struct onnxq_model *model)
{
    onnxq_model_destroy(model);
}

/* ---------------------------------------------------------------- lookups */

static bool is_default_domain(const char *d)
{
    return !d || !*d || strcmp(d, "ai.onnx") == 0;
}

int64_t onnxq_model_opset(const struct onnxq_model *m, const char *domain)
{
    bool want_default = is_default_domain(domain);
    for (size_t i = 0; i < m->n_opsets; i++) {
        const char *d = m->opsets[i].domain;
        if (want_default ? is_default_domain(d) : (d && strcmp(d, domain) == 0))
            return m->opsets[i].version;
    }
    return -1;
}

bool onnxq_node_in_default_domain(const struct onnxq_node *n)
{
    return is_default_domain(n->domain);
}

bool onnxq_graph_is_output(const struct onnxq_graph *g, const char *name)
{
    for (size_t i = 0; i < g->n_outputs; i++)
        if (g->outputs[i].name && strcmp(g->outputs[i].name, name) == 0)
            return true;
    return false;
}

struct onnxq_node *onnxq_graph_find_node(const struct onnxq_graph *g, const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < g->n_nodes; i++)
        if (g->nodes[i]->name && strcmp(g->nodes[i]->name, name) == 0)
            return g->nodes[i];
    return NULL;
}

const struct onnxq_attr *onnxq_node_attr(const struct onnxq_node *n, const char *name)
{
    for (size_t i = 0; i < n->n_attrs; i++)
        if (n->attrs[i].name && strcmp(n->attrs[i].name, name) == 0)
            return &n->attrs[i];
    return NULL;
}

struct onnxq_constant *onnxq_graph_find_init(const struct onnxq_graph *g, const char *name)
{
    for (size_t i = 0; i < g->n_inits; i++)
        if (g->inits[i]->name && strcmp(g->inits[i]->name, name) == 0)
            return g->inits[i];
    return NULL;
}

void onnxq_node_for_each_subgraph(const struct onnxq_node *n, onnxq_subgraph_fn fn, void *user)
{
    for (size_t i = 0; i < n->n_attrs; i++) {
        const struct onnxq_attr *a = &n->attrs[i];
        if (a->g)
            fn(a->g, user);
        for (size_t k = 0; k < a->n_graphs; k++)
            fn(a->graphs[k], user);
    }
}

static void count_sub(struct onnxq_graph *sub, void *user)
{
    size_t *count = user;
    *count += 1 + onnxq_graph_count_subgraphs(sub);
}

size_t onnxq_graph_count_subgraphs(const struct onnxq_graph *g)
{
    size_t count = 0;
    for (size_t i = 0; i < g->n_nodes; i++)
        onnxq_node_for_each_subgraph(g->nodes[i], count_sub, &count);
    return count;
}

/* --------------------------------------------------------------- equality */

struct diff {
    char *why;
    size_t size;
};

static bool differ(struct diff *d, const char *fmt, ...) ONNXQ_PRINTF(2, 3);

static bool differ(struct diff *d, const char *fmt, ...)
{
    if (d->why && d->size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->why, d->size, fmt, ap);
        va_end(ap);
    }
    return false;
}

static bool str_eq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

#define CHECK_STR(d, a, b, what) \
    do { if (!str_eq((a), (b))) return differ((d), "%s: '%s' vs '%s'", (what), (a) ? (a) : "(null)", (b) ? (b) : "(null)"); } while (0)
#define CHECK_VAL(d, a, b, what) \
    do { if ((a) != (b)) return differ((d), "%s differs", (what)); } while (0)

static bool raw_eq(struct diff *d, const struct onnxq_raw *a, const struct onnxq_raw *b, const char *what)
{
    if (a->n != b->n)
        return differ(d, "%s: %zu vs %zu raw fields", what, a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        const ProtobufCMessageUnknownField *x = &a->fields[i], *y = &b->fields[i];
        if (x->tag != y->tag || x->wire_type != y->wire_type || x->len != y->len ||
            (x->len && memcmp(x->data, y->data, x->len)))
            return differ(d, "%s: raw field %zu (tag %u) differs", what, i, x->tag);
    }
    return true;
}

static bool bytes_eq(const struct onnxq_bytes *a, const struct onnxq_bytes *b)
{
    return a->len == b->len && (!a->len || memcmp(a->data, b->data, a->len) == 0);
}

static bool type_eq(struct diff *d, const struct onnxq_type *a, const struct onnxq_type *b, const char *what)
{
    CHECK_VAL(d, a->kind, b->kind, what);
    CHECK_VAL(d, a->has_elem_type, b->has_elem_type, what);
    CHECK_VAL(d, a->elem_type, b->elem_type, what);
    CHECK_VAL(d, a->has_shape, b->has_shape, what);
    CHECK_VAL(d, a->ndim, b->ndim, what);
    CHECK_STR(d, a->denotation, b->denotation, what);
    for (int i = 0; i < a->ndim; i++) {
        const struct onnxq_dim *x = &a->dims[i], *y = &b->dims[i];
        if (x->kind != y->kind || x->value != y->value || !str_eq(x->param, y->param) ||
            !str_eq(x->denotation, y->denotation))
            return differ(d, "%s: dim %d differs", what, i);
    }
    if (a->opaque_len != b->opaque_len ||
        (a->opaque_len && memcmp(a->opaque, b->opaque, a->opaque_len)))
        return differ(d, "%s: opaque type differs", what);
    return true;
}

static bool vi_eq(struct diff *d, const struct onnxq_value_info *a, const struct onnxq_value_info *b)
{
    CHECK_STR(d, a->name, b->name, "value_info name");
    CHECK_STR(d, a->doc_string, b->doc_string, a->name ? a->name : "value_info");
    if (!type_eq(d, &a->type, &b->type, a->name ? a->name : "value_info type"))
        return false;
    return raw_eq(d, &a->raw, &b->raw, a->name ? a->name : "value_info");
}

static bool const_eq(struct diff *d, const struct onnxq_constant *a, const struct onnxq_constant *b)
{
    if (!a || !b) {
        if (a != b)
            return differ(d, "tensor present on one side only");
        return true;
    }
    const char *nm = a->name ? a->name : "(unnamed tensor)";
    CHECK_STR(d, a->name, b->name, "tensor name");
    CHECK_STR(d, a->doc_string, b->doc_string, nm);
    if (!onnxq_tensor_equal(&a->value, &b->value))
        return differ(d, "tensor '%s': values differ", nm);
    return raw_eq(d, &a->raw, &b->raw, nm);
}

static bool graph_eq(struct diff *d, const struct onnxq_graph *a, const struct onnxq_graph *b);

static bool attr_eq(struct diff *d, const struct onnxq_attr *a, const struct onnxq_attr *b)
{
    const char *nm = a->name ? a->name : "(attr)";
    CHECK_STR(d, a->name, b->name, "attribute name");
    CHECK_STR(d, a->ref_attr_name, b->ref_attr_name, nm);
    CHECK_STR(d, a->doc_string, b->doc_string, nm);
    CHECK_VAL(d, a->has_type, b->has_type, nm);
    CHECK_VAL(d, a->type, b->type, nm);
    CHECK_VAL(d, a->has_f, b->has_f, nm);
    CHECK_VAL(d, a->has_i, b->has_i, nm);
    CHECK_VAL(d, a->has_s, b->has_s, nm);
    if (memcmp(&a->f, &b->f, sizeof(float)) || a->i != b->i || !bytes_eq(&a->s, &b->s))
        return differ(d, "attribute %s: scalar value differs", nm);
    if (a->n_floats != b->n_floats || a->n_ints != b->n_ints || a->n_strings != b->n_strings ||
        a->n_tensors != b->n_tensors || a->n_graphs != b->n_graphs)
        return differ(d, "attribute %s: list lengths differ", nm);
    if (a->n_floats && memcmp(a->floats, b->floats, a->n_floats * sizeof(float)))
        return differ(d, "attribute %s: floats differ", nm);
    if (a->n_ints && memcmp(a->ints, b->ints, a->n_ints * sizeof(int64_t)))
        return differ(d, "attribute %s: ints differ", nm);
    for (size_t i = 0; i < a->n_strings; i++)
        if (!bytes_eq(&a->strings[i], &b->strings[i]))
            return differ(d, "attribute %s: strings differ", nm);
    if (!const_eq(d, a->t, b->t))
        return false;
    for (size_t i = 0; i < a->n_tensors; i++)
        if (!const_eq(d, a->tensors[i], b->tensors[i]))
            return false;
    if ((a->g == NULL) != (b->g == NULL))
        return differ(d, "attribute %s: graph present on one side only", nm);
    if (a->g && !graph_eq(d, a->g, b->g))
        return false;
    for (size_t i = 0; i < a->n_graphs; i++)
        if (!graph_eq(d, a->graphs[i], b->graphs[i]))
            return false;
    return raw_eq(d, &a->raw, &b->raw, nm);
}

static bool strs_eq(char **a, char **b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!str_eq(a[i], b[i]))
            return false;
    return true;
}

static bool node_eq(struct diff *d, const struct onnxq_node *a, const struct onnxq_node *b)
{
    const char *nm = a->name ? a->name : (a->op_type ? a->op_type : "(node)");
    CHECK_STR(d, a->name, b->name, "node name");
    CHECK_STR(d, a->op_type, b->op_type, nm);
    CHECK_STR(d, a->domain, b->domain, nm);
    CHECK_STR(d, a->doc_string, b->doc_string, nm);
    if (a->n_inputs != b->n_inputs || !strs_eq(a->inputs, b->inputs, a->n_inputs))
        return differ(d, "node %s: inputs differ", nm);
    if (a->n_outputs != b->n_outputs || !strs_eq(a->outputs, b->outputs, a->n_outputs))
        return differ(d, "node %s: outputs differ", nm);
    if (a->n_attrs != b->n_attrs)
        return differ(d, "node %s: attribute count differs", nm);
    for (size_t i = 0; i < a->n_attrs; i++)
        if (!attr_eq(d, &a->attrs[i], &b->attrs[i]))
            return false;
    return raw_eq(d, &a->raw, &b->raw, nm);
}

static bool vis_eq(struct diff *d, const struct onnxq_value_info *a, size_t na,
                   const struct onnxq_value_info *b, size_t nb, const char *what)
{
    if (na != nb)
        return differ(d, "%s count %zu vs %zu", what, na, nb);
    for (size_t i = 0; i < na; i++)
        if (!vi_eq(d, &a[i], &b[i]))
            return false;
    return true;
}

static bool graph_eq(struct diff *d, const struct onnxq_graph *a, const struct onnxq_graph *b)
{
    CHECK_STR(d, a->name, b->name, "graph name");
    CHECK_STR(d, a->doc_string, b->doc_string, "graph doc_string");
    if (a->n_nodes != b->n_nodes)
        return differ(d, "graph %s: %zu vs %zu nodes", a->name ? a->name : "", a->n_nodes, b->n_nodes);
    for (size_t i = 0; i < a->n_nodes; i++)
        if (!node_eq(d, a->nodes[i], b->nodes[i]))
            return false;
    if (a->n_inits != b->n_inits)
        return differ(d, "graph %s: %zu vs %zu initializers", a->name ? a->name : "", a->n_inits,
                      b->n_inits);
    for (size_t i = 0; i < a->n_inits; i++)
        if (!const_eq(d, a->inits[i], b->inits[i]))
            return false;
    if (!vis_eq(d, a->inputs, a->n_inputs, b->inputs, b->n_inputs, "graph input") ||
        !vis_eq(d, a->outputs, a->n_outputs, b->outputs, b->n_outputs, "graph output") ||
        !vis_eq(d, a->value_info, a->n_value_info, b->value_info, b->n_value_info, "value_info"))
        return false;
    return raw_eq(d, &a->raw, &b->raw, "graph");
}

bool onnxq_model_equal(const struct onnxq_model *a, const struct onnxq_model *b, char *why,
                       size_t why_size)
{
    struct diff dd = {why, why_size}, *d = &dd;
    CHECK_VAL(d, a->has_ir_version, b->has_ir_version, "ir_version presence");
    CHECK_VAL(d, a->ir_version, b->ir_version, "ir_version");
    CHECK_VAL(d, a->n_opsets, b->n_opsets, "opset count");
    for (size_t i = 0; i < a->n_opsets; i++) {
        CHECK_STR(d, a->opsets[i].domain, b->opsets[i].domain, "opset domain");
        CHECK_VAL(d, a->opsets[i].has_version, b->opsets[i].has_version, "opset version presence");
        CHECK_VAL(d, a->opsets[i].version, b->opsets[i].version, "opset version");
        if (!raw_eq(d, &a->opsets[i].raw, &b->opsets[i].raw, "opset"))
            return false;
    }
    CHECK_STR(d, a->producer_name, b->producer_name, "producer_name");
    CHECK_STR(d, a->producer_version, b->producer_version, "producer_version");
    CHECK_STR(d, a->domain, b->domain, "domain");
    CHECK_VAL(d, a->has_model_version, b->has_model_version, "model_version presence");
    CHECK_VAL(d, a->model_version, b->model_version, "model_version");
    CHECK_STR(d, a->doc_string, b->doc_string, "doc_string");
    CHECK_VAL(d, a->n_metadata, b->n_metadata, "metadata count");
    for (size_t i = 0; i < a->n_metadata; i++) {
        CHECK_STR(d, a->metadata[i].key, b->metadata[i].key, "metadata key");
        CHECK_STR(d, a->metadata[i].value, b->metadata[i].value, "metadata value");
        if (!raw_eq(d, &a->metadata[i].raw, &b->metadata[i].raw, "metadata"))
            return false;
    }
    if ((a->graph == NULL) != (b->graph == NULL))
        return differ(d, "graph present on one side only");
    if (a->graph && !graph_eq(d, a->graph, b->graph))
        return false;
    return raw_eq(d, &a->raw, &b->raw, "model");
}
