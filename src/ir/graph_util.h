/* Graph utilities: validation, use/def index, topological order, editing,
 * unique names, dead-node elimination. */
#ifndef ONNXQ_IR_GRAPH_UTIL_H
#define ONNXQ_IR_GRAPH_UTIL_H

#include "ir/graph.h"

/* Validate every graph of the model (subgraphs with their outer scope):
 * node inputs are produced, value names are assigned once, initializer
 * names are unique, graph outputs exist, and there is no cycle. */
enum onnxq_status onnxq_model_validate(const struct onnxq_model *m, struct onnxq_error *err);

/* ---- use/def index of one graph ---- */
struct onnxq_value_use {
    struct onnxq_node *node;
    int slot;  /* input index, or -1 for a use inside one of the node's subgraphs */
};

struct onnxq_value_entry {
    const char *name;
    struct onnxq_node *producer;  /* NULL for graph inputs, initializers, outer-scope values */
    int producer_slot;
    bool is_graph_input;
    bool is_initializer;
    bool is_graph_output;
    size_t n_consumers, cap_consumers;
    struct onnxq_value_use *consumers;
};

struct onnxq_graph_index {
    struct onnxq_strmap map;  /* name -> (entry index + 1) */
    struct onnxq_value_entry *entries;
    size_t n, cap;
};

/* Build the index. Names borrow the graph's strings: rebuild after edits. */
enum onnxq_status onnxq_graph_index_build(const struct onnxq_graph *g, struct onnxq_graph_index *idx,
                                          struct onnxq_error *err);
const struct onnxq_value_entry *onnxq_graph_index_get(const struct onnxq_graph_index *idx, const char *name);
void onnxq_graph_index_free(struct onnxq_graph_index *idx);

/* Names read inside the node's subgraphs that those subgraphs do not define
 * themselves (outer-scope reads). Calls fn once per reference. */
typedef void (*onnxq_name_fn)(const char *name, void *user);
void onnxq_node_implicit_inputs(const struct onnxq_node *n, onnxq_name_fn fn, void *user);

/* ---- order ---- */
/* Topological order of g's nodes, written as indices into order[n_nodes].
 * An already sorted graph keeps its order. Fails with the names of the nodes
 * on a cycle. */
enum onnxq_status onnxq_graph_toposort(const struct onnxq_graph *g, size_t *order, struct onnxq_error *err);
/* Reorder g->nodes topologically in place. */
enum onnxq_status onnxq_graph_sort(struct onnxq_graph *g, struct onnxq_error *err);

/* ---- editing ---- */
/* New node with copies of the given strings (name may be NULL). */
struct onnxq_node *onnxq_node_new(const char *op_type, const char *name, size_t n_inputs,
                                  const char *const *inputs, size_t n_outputs, const char *const *outputs);
/* Append attributes (copies data). Return false on OOM. */
bool onnxq_node_set_int(struct onnxq_node *n, const char *name, int64_t v);
bool onnxq_node_set_float(struct onnxq_node *n, const char *name, float v);
bool onnxq_node_set_ints(struct onnxq_node *n, const char *name, const int64_t *v, size_t count);
bool onnxq_node_set_string(struct onnxq_node *n, const char *name, const char *s);
/* Takes ownership of t. */
bool onnxq_node_set_tensor(struct onnxq_node *n, const char *name, struct onnxq_constant *t);
/* Replace input slot's name. */
bool onnxq_node_set_input(struct onnxq_node *n, size_t slot, const char *name);

/* Insert node at position pos (0..n_nodes); the graph takes ownership. */
bool onnxq_graph_insert_node(struct onnxq_graph *g, size_t pos, struct onnxq_node *n);
/* Remove the node at pos and return it (caller frees). */
struct onnxq_node *onnxq_graph_detach_node(struct onnxq_graph *g, size_t pos);
/* Remove and free the node at pos. */
void onnxq_graph_remove_node(struct onnxq_graph *g, size_t pos);
/* Add an initializer (takes ownership). */
bool onnxq_graph_add_init(struct onnxq_graph *g, struct onnxq_constant *c);
/* Make every reader of `from` (node inputs, subgraph reads, graph outputs)
 * read `to` instead. Returns the number of references changed, or -1 on OOM. */
long onnxq_graph_rewire(struct onnxq_graph *g, const char *from, const char *to);

/* ---- unique names ---- */
struct onnxq_namegen {
    struct onnxq_strmap used;
    char **owned;
    size_t n_owned, cap_owned;
    unsigned long counter;
};
/* Collect every value and node name in the model, subgraphs included. */
enum onnxq_status onnxq_namegen_init(struct onnxq_namegen *ng, const struct onnxq_model *m,
                                     struct onnxq_error *err);
/* A fresh name starting with base, reserved from now on. The returned
 * string belongs to the generator and lives until onnxq_namegen_free. */
const char *onnxq_namegen_make(struct onnxq_namegen *ng, const char *base);
void onnxq_namegen_free(struct onnxq_namegen *ng);

/* ---- clean-up ---- */
/* Remove nodes none of whose outputs reach a graph output (or a read in a
 * later subgraph), then initializers nobody reads. Returns nodes removed,
 * or -1 on error. */
long onnxq_graph_eliminate_dead(struct onnxq_graph *g, struct onnxq_error *err);

#endif
