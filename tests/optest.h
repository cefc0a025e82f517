/* Harness for the operator tests: run one node through its op-table row
 * (init + infer_shape + allocate + run + fini) with attributes built in
 * place, make small tensors, compare results, and build small in-memory
 * models. Shared by test_nn, test_misc, test_tensor, test_elementwise,
 * test_conv and test_rnn so each test file holds only its own checks and
 * named tolerances. */
#ifndef ONNXQ_OPTEST_H
#define ONNXQ_OPTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/context.h"
#include "core/threadpool.h"
#include "ir/graph.h"
#include "ops/op.h"
#include "testutil.h"

/* ------------------------------------------------------------ fixture */

/* Thread pools of 1 and 3 threads, made by ot_setup_pools and freed by
 * ot_teardown_pools (a Check fixture takes no arguments, hence globals). */
extern struct onnxq_threadpool *ot_pool1, *ot_pool3;
void ot_setup_pools(void);
void ot_teardown_pools(void);

/* --------------------------------------------------------- attributes */

#define OT_MAX_ATTRS 24
#define OT_MAX_INTS (2 * ONNXQ_MAX_DIMS)

/* Attributes of one test node; zero-initialise, then add with ot_int...
 * Names and strings are borrowed (string literals); lists are copied. */
struct ot_attrs {
    size_t n;
    struct onnxq_attr a[OT_MAX_ATTRS];
    int64_t ints[OT_MAX_ATTRS][OT_MAX_INTS];
    float floats[OT_MAX_ATTRS][OT_MAX_INTS];
};

void ot_int(struct ot_attrs *t, const char *name, int64_t v);
void ot_float(struct ot_attrs *t, const char *name, float v);
void ot_ints(struct ot_attrs *t, const char *name, size_t n, const int64_t *v);
void ot_floats(struct ot_attrs *t, const char *name, size_t n, const float *v);
void ot_str(struct ot_attrs *t, const char *name, const char *v);

/* ------------------------------------------------------------ running */

#define OT_MAX_IO 24

/* A replacement for the op's run (e.g. its plain reference kernel). */
typedef enum onnxq_status (*ot_run_fn)(void *state, struct onnxq_op_ctx *c);

/* How ot_run_op_how runs a node; every field may be left zero. */
struct ot_run {
    struct onnxq_threadpool *pool;  /* NULL: ot_pool1 */
    bool consts;                    /* show inputs 1.. to init as constants (initializers) */
    ot_run_fn run;                  /* NULL: the op's own run */
    struct onnxq_error *err;        /* receives the error on failure */
    /* statistics of output 0 (when float), as the executor asks for them
     * in calibration: the sink is reset over the output (capturing the
     * subsample of window `sample_window` into `sample` when > 1), and the
     * kernels see in_stats (n inputs, may be NULL) */
    struct onnxq_vstats_sink *stats;
    size_t sample_window;
    float *sample;
    const struct onnxq_vstats *const *in_stats;
};

/* init + infer_shape + allocate (unless the op allocates in run) + run +
 * fini of one node "t" of op type `op` (domain "") at `opset`, with inputs
 * "i0".. and outputs "o0"... in[i] NULL = omitted optional input. out[k]
 * receive owning tensors for the first nout outputs, which the caller
 * clears; on failure they are left cleared and the error message is kept
 * for ot_last_msg. Fails the test if the op has no table row. */
enum onnxq_status ot_run_op_how(const char *op, int64_t opset, const struct ot_attrs *at, size_t nin,
                                const struct onnxq_tensor *const *in, size_t nout, struct onnxq_tensor *out,
                                const struct ot_run *how);
/* The same on `pool` (NULL: ot_pool1) with no other options. */
enum onnxq_status ot_run_op(const char *op, int64_t opset, const struct ot_attrs *at, size_t nin,
                            const struct onnxq_tensor *const *in, size_t nout, struct onnxq_tensor *out,
                            struct onnxq_threadpool *pool);
/* Message of the last failed ot_run_op* call. */
const char *ot_last_msg(void);

/* ------------------------------------------------------------ tensors */

/* New owning tensor (fails the test if allocation fails); data NULL leaves
 * it zeroed, otherwise its nbytes are copied from data. */
struct onnxq_tensor ot_tensor(enum onnxq_dtype dt, int nd, const int64_t *dims, const void *data);
struct onnxq_tensor ot_f32(int nd, const int64_t *dims, const float *v);
struct onnxq_tensor ot_i64(int nd, const int64_t *dims, const int64_t *v);
/* 1-D int64 tensor of n values. */
struct onnxq_tensor ot_i64_vec(size_t n, const int64_t *v);
void ot_clear_all(struct onnxq_tensor *t, size_t n);

/* t has shape dims[0..nd). */
void ot_expect_shape(const char *what, const struct onnxq_tensor *t, int nd, const int64_t *dims);
/* t is float32 with n elements, each within atol + rtol * |v[i]| of v[i]
 * (NaN matches NaN, an infinity matches only itself). */
void ot_expect_f32(const char *what, const struct onnxq_tensor *t, size_t n, const float *v, double atol,
                   double rtol);
/* t is int64 with exactly the n values v. */
void ot_expect_i64(const char *what, const struct onnxq_tensor *t, size_t n, const int64_t *v);

/* ---------------------------------------------------- in-memory models */

/* Fill *v (overwritten, not freed) as a tensor of element type dtype with
 * the static shape dims[0..ndim), or no shape when ndim < 0. */
void ot_value_info(struct onnxq_value_info *v, const char *name, int dtype, int ndim, const int64_t *dims);
/* Append a graph input / output of element type dtype; an output gets the
 * static shape dims[0..ndim) unless ndim < 0. */
void ot_graph_input(struct onnxq_graph *g, const char *name, int dtype);
void ot_graph_output(struct onnxq_graph *g, const char *name, int dtype, int ndim, const int64_t *dims);
/* Append a node (domain "") to g. */
struct onnxq_node *ot_graph_node(struct onnxq_graph *g, const char *op, size_t n_in, const char *const *in,
                                 size_t n_out, const char *const *out);
/* The node of g that writes value `name`, or NULL. */
const struct onnxq_node *ot_producer(const struct onnxq_graph *g, const char *name);
/* Model of ctx owning g with one default-domain opset; fails the test if
 * it does not validate. */
struct onnxq_model *ot_model(struct onnxq_context *ctx, struct onnxq_graph *g, int64_t opset);

#endif
