/* onnxq's graph IR.
 *
 * The IR mirrors ONNX closely enough that a model round-trips exactly, but
 * holds decoded data: initializers are struct onnxq_tensor, attributes are
 * typed, subgraphs are nested struct onnxq_graph. Everything the IR does not
 * model (unknown fields from newer ONNX versions, functions, training info,
 * sparse tensors, non-tensor types) is kept as "raw" protobuf fields that the
 * saver writes back verbatim.
 *
 * Ownership: a model owns its graph; a graph owns its nodes, initializers and
 * value infos; a node owns its strings and attributes; an attribute owns its
 * tensors and subgraphs. All strings are heap copies (NULL = field absent).
 */
#ifndef ONNXQ_IR_GRAPH_H
#define ONNXQ_IR_GRAPH_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/strmap.h"
#include "core/tensor.h"
#include "onnxq/onnxq.h"

/* Protobuf fields re-emitted verbatim on save; each entry owns its data.
 * As in protobuf-c, a length-delimited field's data starts with its length. */
struct onnxq_raw {
    size_t n;
    ProtobufCMessageUnknownField *fields;
};

enum onnxq_dim_kind { ONNXQ_DIM_UNSET = 0, ONNXQ_DIM_VALUE, ONNXQ_DIM_PARAM };

struct onnxq_dim {
    enum onnxq_dim_kind kind;
    int64_t value;     /* ONNXQ_DIM_VALUE */
    char *param;       /* ONNXQ_DIM_PARAM: symbolic name */
    char *denotation;
};

enum onnxq_type_kind {
    ONNXQ_TYPE_NONE = 0,  /* no type given */
    ONNXQ_TYPE_TENSOR,    /* dense tensor: elem_type + optional shape */
    ONNXQ_TYPE_OPAQUE     /* anything else, kept as a packed TypeProto */
};

struct onnxq_type {
    enum onnxq_type_kind kind;
    bool has_elem_type;
    int32_t elem_type;   /* enum onnxq_dtype value */
    bool has_shape;
    int ndim;
    struct onnxq_dim *dims;
    char *denotation;
    uint8_t *opaque;     /* ONNXQ_TYPE_OPAQUE: packed TypeProto with its length prefix */
    size_t opaque_len;
};

struct onnxq_value_info {
    char *name;
    char *doc_string;
    struct onnxq_type type;
    struct onnxq_raw raw;
};

/* A TensorProto: initializer or attribute tensor. */
struct onnxq_constant {
    char *name;
    char *doc_string;
    struct onnxq_tensor value;
    struct onnxq_raw raw;
    char *external_file;  /* where the data came from (informational), or NULL */
};

/* AttributeProto.AttributeType numbers. */
enum onnxq_attr_type {
    ONNXQ_ATTR_UNDEFINED = 0,
    ONNXQ_ATTR_FLOAT = 1,
    ONNXQ_ATTR_INT = 2,
    ONNXQ_ATTR_STRING = 3,
    ONNXQ_ATTR_TENSOR = 4,
    ONNXQ_ATTR_GRAPH = 5,
    ONNXQ_ATTR_FLOATS = 6,
    ONNXQ_ATTR_INTS = 7,
    ONNXQ_ATTR_STRINGS = 8,
    ONNXQ_ATTR_TENSORS = 9,
    ONNXQ_ATTR_GRAPHS = 10,
    ONNXQ_ATTR_SPARSE_TENSOR = 11,
    ONNXQ_ATTR_SPARSE_TENSORS = 12,
    ONNXQ_ATTR_TYPE_PROTO = 13,
    ONNXQ_ATTR_TYPE_PROTOS = 14,
};

struct onnxq_graph;

struct onnxq_attr {
    char *name;
    char *ref_attr_name;
    char *doc_string;
    bool has_type;
    enum onnxq_attr_type type;
    bool has_f, has_i, has_s;
    float f;
    int64_t i;
    struct onnxq_bytes s;
    struct onnxq_constant *t;
    struct onnxq_graph *g;
    size_t n_floats;
    float *floats;
    size_t n_ints;
    int64_t *ints;
    size_t n_strings;
    struct onnxq_bytes *strings;
    size_t n_tensors;
    struct onnxq_constant **tensors;
    size_t n_graphs;
    struct onnxq_graph **graphs;
    struct onnxq_raw raw;  /* unknown fields, sparse tensors, type protos */
};

struct onnxq_node {
    char *name;
    char *op_type;
    char *domain;
    char *doc_string;
    size_t n_inputs;
    char **inputs;   /* "" marks an omitted optional input */
    size_t n_outputs;
    char **outputs;  /* "" marks an omitted optional output */
    size_t n_attrs;
    struct onnxq_attr *attrs;
    struct onnxq_raw raw;
};

struct onnxq_graph {
    char *name;
    char *doc_string;
    size_t n_nodes, cap_nodes;
    struct onnxq_node **nodes;
    size_t n_inits, cap_inits;
    struct onnxq_constant **inits;
    size_t n_inputs;
    struct onnxq_value_info *inputs;
    size_t n_outputs;
    struct onnxq_value_info *outputs;
    size_t n_value_info;
    struct onnxq_value_info *value_info;
    struct onnxq_raw raw;  /* unknown fields, sparse initializers, quantization annotations */
};

struct onnxq_opset {
    char *domain;  /* NULL or "" = the default ONNX domain */
    bool has_version;
    int64_t version;
    struct onnxq_raw raw;
};

struct onnxq_kv {
    char *key;
    char *value;
    struct onnxq_raw raw;
};

struct onnxq_model {
    struct onnxq_context *ctx;
    bool has_ir_version;
    int64_t ir_version;
    size_t n_opsets;
    struct onnxq_opset *opsets;
    char *producer_name;
    char *producer_version;
    char *domain;
    bool has_model_version;
    int64_t model_version;
    char *doc_string;
    size_t n_metadata;
    struct onnxq_kv *metadata;
    struct onnxq_graph *graph;
    struct onnxq_raw raw;  /* unknown fields, training info, local functions */
    char *path;            /* file it was loaded from, or the caller's name */
    size_t n_external_files;
    char **external_files; /* distinct external data files read at load */
};

/* ---- construction / destruction ---- */
struct onnxq_graph *onnxq_graph_new(void);
void onnxq_graph_free(struct onnxq_graph *g);
void onnxq_node_free(struct onnxq_node *n);
void onnxq_constant_free(struct onnxq_constant *c);
void onnxq_value_info_clear(struct onnxq_value_info *vi);
void onnxq_type_clear(struct onnxq_type *t);
void onnxq_attr_clear(struct onnxq_attr *a);
void onnxq_raw_clear(struct onnxq_raw *r);
void onnxq_model_destroy(struct onnxq_model *m); /* same as onnxq_model_free */

/* Append a raw field (copies data). Returns false on allocation failure. */
bool onnxq_raw_append(struct onnxq_raw *r, uint32_t tag, ProtobufCWireType wire, const void *data,
                      size_t len);

/* Structural equality of two IR objects, everything included. When they
 * differ and `why` is not NULL, a description of the first difference is
 * written into it. */
bool onnxq_model_equal(const struct onnxq_model *a, const struct onnxq_model *b, char *why,
                       size_t why_size);

/* ---- lookups ---- */
/* Opset version imported for a domain ("" or "ai.onnx" = default), or -1. */
int64_t onnxq_model_opset(const struct onnxq_model *m, const char *domain);
const struct onnxq_attr *onnxq_node_attr(const struct onnxq_node *n, const char *name);
/* Initializer by name in this graph only, or NULL. Linear scan. */
struct onnxq_constant *onnxq_graph_find_init(const struct onnxq_graph *g, const char *name);
/* The node is in the default domain ("", absent or "ai.onnx"). */
bool onnxq_node_in_default_domain(const struct onnxq_node *n);
/* `name` is one of g's outputs. Linear scan. */
bool onnxq_graph_is_output(const struct onnxq_graph *g, const char *name);
/* First node of g named `name` (NULL name: none), or NULL. Linear scan. */
struct onnxq_node *onnxq_graph_find_node(const struct onnxq_graph *g, const char *name);

/* Call fn for every subgraph held in the node's attributes. */
typedef void (*onnxq_subgraph_fn)(struct onnxq_graph *sub, void *user);
void onnxq_node_for_each_subgraph(const struct onnxq_node *n, onnxq_subgraph_fn fn, void *user);

/* Total number of nested subgraphs below g (recursively). */
size_t onnxq_graph_count_subgraphs(const struct onnxq_graph *g);

/* Strings: heap copy, NULL stays NULL. */
char *onnxq_strdup(const char *s);

#endif
