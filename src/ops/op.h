/* Operator interface.
 *
 * Every operator is one row of the static table in ops/registry.c:
 *   {domain, name, since_version, init, infer_shape, run, fini}
 * Lookup takes the row with the highest since_version <= the model's opset
 * for that domain. Adding an op means one function set in its family file,
 * one table row and one test.
 *
 * Life cycle of one node's kernel:
 *   init(ictx, &state)          once, at prepare: parse and check attributes
 *   infer_shape(state, sctx)    every run, before run: output dtypes/shapes
 *                               from the actual input tensors
 *   run(state, rctx)            every run: outputs are allocated already
 *   fini(state)                 once, when the executor is freed
 * Any of init/fini may be NULL (then state is NULL). */
#ifndef ONNXQ_OPS_OP_H
#define ONNXQ_OPS_OP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/tensor.h"
#include "core/vstats.h"
#include "ir/graph.h"

struct onnxq_exec;
struct onnxq_threadpool;

/* What init sees. */
struct onnxq_op_init {
    const struct onnxq_node *node;
    int64_t opset;               /* opset version of the node's domain */
    const struct onnxq_exec *exec;
    struct onnxq_error *err;
    /* Constant inputs known at prepare time (initializers), NULL if not
     * constant. Index = input slot; n_inputs entries. */
    const struct onnxq_tensor *const *const_inputs;
    size_t n_inputs;
};

/* What infer_shape and run see. Input i is inputs[i]; an omitted optional
 * input ("" in the model, or beyond the node's input count) is NULL. */
struct onnxq_op_ctx {
    const struct onnxq_node *node;
    struct onnxq_exec *exec;
    struct onnxq_threadpool *pool;
    int threads;
    size_t n_inputs;
    const struct onnxq_tensor *const *inputs;
    size_t n_outputs;
    /* infer_shape fills dtype/ndim/dims of every present output (outputs[i]
     * is NULL for omitted optional outputs); the executor then allocates
     * data. run writes data. An op whose output shape depends on values it
     * computes (NonZero...) may set `alloc_in_run` in infer_shape and
     * allocate its outputs itself with onnxq_tensor_alloc in run. */
    struct onnxq_tensor *const *outputs;
    bool alloc_in_run;
    struct onnxq_error *err;
    /* Non-NULL when the executor wants the statistics of output 0 (a float
     * tensor allocated before run): a kernel may then report every value
     * it writes there, once, with onnxq_vstats_sink_put/_scan right after
     * writing it (while it is in cache). Kernels that do not report leave
     * the scan to the caller; a partial or stray report is detected and
     * discarded, never trusted. Report only final values: nothing may
     * modify a region after it was reported. */
    struct onnxq_vstats_sink *stats;
    /* With stats: the statistics of each input (n_inputs entries, NULL
     * where unknown), so that ops that only move values (Concat,
     * DepthToSpace...) report their output's without reading it. */
    const struct onnxq_vstats *const *in_stats;
};

typedef enum onnxq_status (*onnxq_op_init_fn)(struct onnxq_op_init *ictx, void **state);
typedef enum onnxq_status (*onnxq_op_shape_fn)(void *state, struct onnxq_op_ctx *ctx);
typedef enum onnxq_status (*onnxq_op_run_fn)(void *state, struct onnxq_op_ctx *ctx);
typedef void (*onnxq_op_fini_fn)(void *state);

struct onnxq_op_def {
    const char *domain;   /* "" for the default ONNX domain */
    const char *name;
    int since_version;
    onnxq_op_init_fn init;
    onnxq_op_shape_fn infer_shape;
    onnxq_op_run_fn run;
    onnxq_op_fini_fn fini;
};

/* Row for (domain, op_type) at `opset`, or NULL. */
const struct onnxq_op_def *onnxq_op_lookup(const char *domain, const char *op_type, int64_t opset);
/* True if any row exists for (domain, op_type) at any version. */
bool onnxq_op_known(const char *domain, const char *op_type);

/* ---- helpers for op implementations (ops/op_util.c) ---- */

/* Attribute getters with defaults; *_req fail with a message naming the
 * node when the attribute is missing or of the wrong type. */
int64_t onnxq_attr_int(const struct onnxq_node *n, const char *name, int64_t def);
float onnxq_attr_float(const struct onnxq_node *n, const char *name, float def);
/* NUL-terminated copy into buf; returns def if absent. */
const char *onnxq_attr_string(const struct onnxq_node *n, const char *name, const char *def, char *buf,
                              size_t size);
/* Pointer to the attribute's ints (borrowed) and count; NULL/0 if absent. */
const int64_t *onnxq_attr_ints(const struct onnxq_node *n, const char *name, size_t *count);
const float *onnxq_attr_floats(const struct onnxq_node *n, const char *name, size_t *count);
bool onnxq_attr_has(const struct onnxq_node *n, const char *name);

/* Fail with "node 'X' (Op): <message>". */
enum onnxq_status onnxq_op_fail(struct onnxq_error *err, const struct onnxq_node *n, enum onnxq_status code,
                                const char *fmt, ...) ONNXQ_PRINTF(4, 5);

/* Set an output's dtype and shape. */
void onnxq_out_shape(struct onnxq_tensor *out, enum onnxq_dtype dt, int ndim, const int64_t *dims);

/* Numpy-style broadcast of two shapes; fails naming the node and both shapes. */
enum onnxq_status onnxq_broadcast_shape(const struct onnxq_op_ctx *ctx, const int64_t *a, int na,
                                        const int64_t *b, int nb, int64_t *out, int *nout);

/* Normalise a possibly negative axis against rank; fails naming the node. */
enum onnxq_status onnxq_norm_axis(const struct onnxq_op_ctx *ctx, int64_t axis, int rank, int *out);

/* Read element i of an integer tensor (any int dtype) as int64. */
int64_t onnxq_tensor_get_i64(const struct onnxq_tensor *t, size_t i);
/* Read element i of any numeric tensor as double. */
double onnxq_tensor_get_f64(const struct onnxq_tensor *t, size_t i);
/* Write element i of any numeric tensor from double (rounding as C casts). */
void onnxq_tensor_set_f64(struct onnxq_tensor *t, size_t i, double v);
/* The same, saturating for integer dtypes (NaN stores 0) so no out-of-range
 * float-to-int conversion happens. */
void onnxq_tensor_set_f64_sat(struct onnxq_tensor *t, size_t i, double v);

/* auto_pad of Conv, ConvTranspose and the pooling ops. */
enum onnxq_auto_pad {
    ONNXQ_AUTO_PAD_NOTSET = 0,
    ONNXQ_AUTO_PAD_SAME_UPPER,
    ONNXQ_AUTO_PAD_SAME_LOWER,
    ONNXQ_AUTO_PAD_VALID,
};
/* The node's auto_pad attribute (absent or "" = NOTSET); fails naming the
 * node on an unknown value. */
enum onnxq_status onnxq_attr_auto_pad(const struct onnxq_op_init *ictx, enum onnxq_auto_pad *out);

/* Input / output `slot`, or NULL when it is omitted or beyond the node's
 * count. */
static inline const struct onnxq_tensor *onnxq_opt_in(const struct onnxq_op_ctx *ctx, size_t slot)
{
    return slot < ctx->n_inputs ? ctx->inputs[slot] : NULL;
}

static inline struct onnxq_tensor *onnxq_opt_out(const struct onnxq_op_ctx *ctx, size_t slot)
{
    return slot < ctx->n_outputs ? ctx->outputs[slot] : NULL;
}

/* Element count as a size_t (0 for a negative count). */
static inline size_t onnxq_numel_of(const struct onnxq_tensor *t)
{
    int64_t n = onnxq_tensor_numel(t);
    return n > 0 ? (size_t)n : 0;
}

/* Require input `slot` to be present; fails naming the node. */
enum onnxq_status onnxq_need_input(const struct onnxq_op_ctx *ctx, size_t slot);
/* Require a dtype on input slot. */
enum onnxq_status onnxq_need_dtype(const struct onnxq_op_ctx *ctx, size_t slot, enum onnxq_dtype dt);

/* Parallel for over [0, n): fn(arg, begin, end) on the executor's pool.
 * Runs inline when n is small or threads == 1. */
typedef void (*onnxq_range_fn)(void *arg, size_t begin, size_t end);
void onnxq_parallel_for(struct onnxq_op_ctx *ctx, size_t n, size_t min_chunk, onnxq_range_fn fn, void *arg);

#endif
