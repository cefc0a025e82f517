/* onnxq compare (src/eval/compare.c) on a tiny FP32 / QDQ model pair with
 * hand-computed metrics, tensor matching (Q/DQ, same name, a Relu folded
 * into its producer) and the errors for inputs or data that do not fit. */
#include <check.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "eval/compare.h"
#include "io/npy.h"
#include "ir/graph_util.h"
#include "testutil.h"

static struct onnxq_context *ctx;
static char *dir;

static void write_npy(const char *path, int ndim, const int64_t *dims, const float *v)
{
    struct onnxq_tensor t;
    uint8_t *bytes = NULL;
    size_t size = 0;
    ck_assert_int_eq(onnxq_tensor_alloc(&t, ONNXQ_DT_FLOAT, ndim, dims, NULL), ONNXQ_OK);
    memcpy(t.data, v, (size_t)onnxq_tensor_numel(&t) * sizeof(float));
    ck_assert_int_eq(onnxq_npy_encode(&t, &bytes, &size, NULL), ONNXQ_OK);
    ck_assert_int_eq(tu_write_file(path, bytes, size), 0);
    free(bytes);
    onnxq_tensor_clear(&t);
}

/* Two samples of x[1,4]. */
static const float x1[4] = {0.1f, 0.35f, -0.6f, 1.1f};
static const float x2[4] = {-0.1f, 0.5f, 0.25f, 0.3f};

static void setup(void)
{
    struct onnxq_error err;
    ck_assert_int_eq(onnxq_context_new(&ctx, &err), ONNXQ_OK);
    onnxq_context_set_threads(ctx, 1, &err);
    dir = tu_mkdtemp();
    char p[1024];
    int64_t d[2] = {1, 4};
    snprintf(p, sizeof(p), "%s/data/0.npy", dir);
    char sub[1024];
    snprintf(sub, sizeof(sub), "%s/data", dir);
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    write_npy(p, 2, d, x1);
    snprintf(p, sizeof(p), "%s/data/1.npy", dir);
    write_npy(p, 2, d, x2);
}

static void teardown(void)
{
    tu_rmtree(dir);
    free(dir);
    onnxq_context_free(ctx);
}

static void set_vi(struct onnxq_value_info *vi, const char *name)
{
    vi->name = strdup(name);
    vi->type.kind = ONNXQ_TYPE_TENSOR;
    vi->type.has_elem_type = true;
    vi->type.elem_type = ONNXQ_DT_FLOAT;
    vi->type.has_shape = true;
    vi->type.ndim = 2;
    vi->type.dims = calloc(2, sizeof(struct onnxq_dim));
    vi->type.dims[0].kind = ONNXQ_DIM_VALUE;
    vi->type.dims[0].value = 1;
    vi->type.dims[1].kind = ONNXQ_DIM_VALUE;
    vi->type.dims[1].value = 4;
}

static struct onnxq_constant *scalar(const char *name, enum onnxq_dtype dt, double v)
{
    struct onnxq_constant *c = calloc(1, sizeof(*c));
    c->name = strdup(name);
    ck_assert_int_eq(onnxq_tensor_alloc(&c->value, dt, 0, NULL, NULL), ONNXQ_OK);
    if (dt == ONNXQ_DT_FLOAT)
        *(float *)c->value.data = (float)v;
    else
        *(uint8_t *)c->value.data = (uint8_t)v;
    return c;
}

static struct onnxq_model *new_model(const char *path, const char *input)
{
    struct onnxq_model *m = calloc(1, sizeof(*m));
    m->ctx = ctx;
    m->has_ir_version = true;
    m->ir_version = 8;
    m->n_opsets = 1;
    m->opsets = calloc(1, sizeof(*m->opsets));
    m->opsets[0].domain = strdup("");
    m->opsets[0].has_version = true;
    m->opsets[0].version = 13;
    m->path = strdup(path);
    m->graph = onnxq_graph_new();
    m->graph->name = strdup("g");
    m->graph->n_inputs = 1;
    m->graph->inputs = calloc(1, sizeof(struct onnxq_value_info));
    set_vi(&m->graph->inputs[0], input);
    m->graph->n_outputs = 1;
    m->graph->outputs = calloc(1, sizeof(struct onnxq_value_info));
    set_vi(&m->graph->outputs[0], "z");
    onnxq_graph_add_init(m->graph, scalar("c", ONNXQ_DT_FLOAT, 2.0));
    return m;
}

static void add(struct onnxq_model *m, const char *op, const char *name, size_t nin, const char *const *in,
                const char *out)
{
    ck_assert(onnxq_graph_insert_node(m->graph, m->graph->n_nodes, onnxq_node_new(op, name, nin, in, 1, &out)));
}

/* FP32: t = Mul(x, 2) ("mul"), y = Relu(t) ("relu"), z = Neg(y) ("neg"). */
static struct onnxq_model *fp32_model(void)
{
    struct onnxq_model *m = new_model("fp32.onnx", "x");
    const char *mi[2] = {"x", "c"}, *ri[1] = {"t"}, *ni[1] = {"y"};
    add(m, "Mul", "mul", 2, mi, "t");
    add(m, "Relu", "relu", 1, ri, "y");
    add(m, "Neg", "neg", 1, ni, "z");
    struct onnxq_error err;
    ck_assert_msg(onnxq_model_validate(m, &err) == ONNXQ_OK, "%s", err.message);
    return m;
}

/* INT8, as the rewriter writes it with the Relu folded: "mul" writes y
 * directly (t is gone), y goes through Q/DQ with uint8 scale 0.5, zero
 * point 0 (the saturation at 0 is the Relu), "neg" reads y_dq. */
static struct onnxq_model *int8_model(const char *input)
{
    struct onnxq_model *m = new_model("int8.onnx", input);
    onnxq_graph_add_init(m->graph, scalar("s", ONNXQ_DT_FLOAT, 0.5));
    onnxq_graph_add_init(m->graph, scalar("zp", ONNXQ_DT_UINT8, 0));
    const char *mi[2] = {input, "c"}, *qi[3] = {"y", "s", "zp"}, *di[3] = {"y_q", "s", "zp"}, *ni[1] = {"y_dq"};
    add(m, "Mul", "mul", 2, mi, "y");
    add(m, "QuantizeLinear", "y_Q", 3, qi, "y_q");
    add(m, "DequantizeLinear", "y_DQ", 3, di, "y_dq");
    add(m, "Neg", "neg", 1, ni, "z");
    struct onnxq_error err;
    ck_assert_msg(onnxq_model_validate(m, &err) == ONNXQ_OK, "%s", err.message);
    return m;
}

static const struct onnxq_compare_tensor *find(const struct onnxq_compare_result *r, const char *name)
{
    for (size_t i = 0; i < r->n_tensors; i++)
        if (strcmp(r->tensors[i].name, name) == 0)
            return &r->tensors[i];
    return NULL;
}

static char *data_dir(void)
{
    static char p[1024];
    snprintf(p, sizeof(p), "%s/data", dir);
    return p;
}

START_TEST(hand_computed)
{
    struct onnxq_model *mf = fp32_model(), *mq = int8_model("x");
    struct onnxq_dataset_options dopts;
    struct onnxq_compare_options co;
    struct onnxq_compare_result *r = NULL;
    struct onnxq_error err;
    onnxq_dataset_options_init(&dopts);
    onnxq_compare_options_init(&co);
    co.quiet = true;
    ck_assert_msg(onnxq_compare_models(ctx, mf, mq, data_dir(), &dopts, &co, &r, &err) == ONNXQ_OK, "%s",
                  err.message);
    ck_assert_uint_eq(r->samples, 2);
    /* y = relu(2x):  sample 1 (0.2, 0.7, 0, 2.2) -> Q/DQ step 0.5 -> (0, 0.5, 0, 2)
     *                sample 2 (0, 1, 0.5, 0.6)   ->                 (0, 1, 0.5, 0.5)
     * errors (0.2, 0.2, 0, 0.2) and (0, 0, 0, 0.1): sum e^2 = 0.13
     * sum ref^2 = 0.04 + 0.49 + 4.84 + 1 + 0.25 + 0.36 = 6.98
     * sum ref*test = 0.35 + 4.4 + 1 + 0.25 + 0.3 = 6.30, sum test^2 = 0.25 + 4 + 1 + 0.25 + 0.25 = 5.75 */
    const double sqnr = 10.0 * log10(6.98 / 0.13), cosine = 6.30 / sqrt(6.98 * 5.75);
    ck_assert_uint_eq(r->n_tensors, 3);
    ck_assert_uint_eq(r->n_quantized, 1);
    ck_assert_uint_eq(r->n_unmatched, 0);
    const struct onnxq_compare_tensor *t = find(r, "t"), *y = find(r, "y"), *z = find(r, "z");
    ck_assert(t && y && z);
    /* y: consumers see DQ(Q(y)) */
    ck_assert_str_eq(y->int8_name, "y_dq");
    ck_assert_int_eq(y->match, ONNXQ_MATCH_DQ);
    ck_assert(y->quantized && y->renamed && !y->is_output);
    ck_assert_str_eq(y->op_type, "Relu");
    ck_assert_double_eq_tol(y->sqnr_db, sqnr, 1e-4);
    ck_assert_double_eq_tol(y->cosine, cosine, 1e-6);
    ck_assert_double_eq_tol(y->max_abs, 0.2, 1e-6);
    ck_assert_uint_eq(y->fid.count, 8);
    /* the INT8 "y" is the Mul output before the folded Relu: not y's value
     * before Q/DQ */
    ck_assert(!y->has_pre);
    /* t: renamed by the Relu fold, found through its producer "mul" */
    ck_assert_str_eq(t->int8_name, "y");
    ck_assert_int_eq(t->match, ONNXQ_MATCH_PRODUCER);
    ck_assert(!t->quantized && t->renamed);
    ck_assert(isinf(t->sqnr_db) && t->sqnr_db > 0);
    ck_assert_double_eq(t->max_abs, 0.0);
    /* z = -y: the same errors */
    ck_assert_str_eq(z->int8_name, "z");
    ck_assert_int_eq(z->match, ONNXQ_MATCH_SAME);
    ck_assert(!z->quantized && !z->renamed && z->is_output);
    ck_assert_double_eq_tol(z->sqnr_db, sqnr, 1e-4);
    /* output z: [1,4] is 2-D with 4 classes -> scores. argmax of the
     * reference (-0.2, -0.7, -0, -2.2) is 2, of the test (-0, -0.5, -0, -2)
     * the first maximum, 0: disagree; sample 2 agrees -> 1/2 */
    ck_assert_uint_eq(r->n_outputs, 1);
    const struct onnxq_compare_output *o = &r->outputs[0];
    ck_assert_str_eq(o->name, "z");
    ck_assert_double_eq_tol(o->sqnr_db, sqnr, 1e-4);
    ck_assert_double_eq_tol(o->cosine, cosine, 1e-6);
    ck_assert_double_eq_tol(o->max_abs, 0.2, 1e-6);
    ck_assert(o->scores);
    ck_assert_double_eq(o->top1, 0.5);
    /* worst first: y and z tie, y runs first; t (identical) last */
    size_t order[3];
    onnxq_compare_rank(r, order);
    ck_assert_str_eq(r->tensors[order[0]].name, "y");
    ck_assert_str_eq(r->tensors[order[1]].name, "z");
    ck_assert_str_eq(r->tensors[order[2]].name, "t");
    /* JSON: same order, infinite SQNR as a string */
    json_object *j = onnxq_compare_json(r), *ts, *first, *last, *v;
    ck_assert_ptr_nonnull(j);
    ck_assert(json_object_object_get_ex(j, "tensors", &ts));
    ck_assert_uint_eq(json_object_array_length(ts), 3);
    first = json_object_array_get_idx(ts, 0);
    last = json_object_array_get_idx(ts, 2);
    ck_assert(json_object_object_get_ex(first, "int8_name", &v));
    ck_assert_str_eq(json_object_get_string(v), "y_dq");
    ck_assert(json_object_object_get_ex(first, "sqnr_db", &v));
    ck_assert_double_eq_tol(json_object_get_double(v), sqnr, 1e-4);
    ck_assert(json_object_object_get_ex(last, "sqnr_db", &v));
    ck_assert_str_eq(json_object_get_string(v), "inf");
    json_object_put(j);
    ck_assert_uint_eq(r->runs_per_sample, 1);
    /* copies bounded to 1 byte: each tensor gets a run of its own (the
     * first always fits), the same metrics */
    struct onnxq_compare_result *r1 = NULL;
    co.tensor_memory = 1;
    ck_assert_msg(onnxq_compare_models(ctx, mf, mq, data_dir(), &dopts, &co, &r1, &err) == ONNXQ_OK, "%s",
                  err.message);
    ck_assert_uint_eq(r1->runs_per_sample, 3);
    ck_assert_uint_eq(r1->n_tensors, r->n_tensors);
    for (size_t i = 0; i < r->n_tensors; i++) {
        const struct onnxq_compare_tensor *a = &r->tensors[i], *b = find(r1, a->name);
        ck_assert_ptr_nonnull(b);
        ck_assert_uint_eq(a->fid.count, b->fid.count);
        ck_assert(a->sqnr_db == b->sqnr_db && a->cosine == b->cosine && a->max_abs == b->max_abs);
    }
    ck_assert(r1->outputs[0].sqnr_db == r->outputs[0].sqnr_db && r1->outputs[0].top1 == r->outputs[0].top1);
    onnxq_compare_result_free(r1);
    onnxq_compare_result_free(r);
    onnxq_compare_result_free(NULL);
    onnxq_model_free(mf);
    onnxq_model_free(mq);
}
END_TEST

static void set_dims(struct onnxq_value_info *vi, int ndim, const int64_t *dims)
{
    free(vi->type.dims);
    vi->type.ndim = ndim;
    vi->type.dims = calloc((size_t)ndim, sizeof(struct onnxq_dim));
    for (int i = 0; i < ndim; i++) {
        vi->type.dims[i].kind = ONNXQ_DIM_VALUE;
        vi->type.dims[i].value = dims[i];
    }
}

/* z = op(x) on x[1,2,3]; the INT8 model reads x through Q/DQ (uint8, scale
 * 0.05, zero point 128). */
static void score_models(const char *op, struct onnxq_model **mf, struct onnxq_model **mq)
{
    const int64_t d[3] = {1, 2, 3};
    *mf = new_model("fp32.onnx", "x");
    *mq = new_model("int8.onnx", "x");
    struct onnxq_model *ms[2] = {*mf, *mq};
    for (int i = 0; i < 2; i++) {
        set_dims(&ms[i]->graph->inputs[0], 3, d);
        set_dims(&ms[i]->graph->outputs[0], 3, d);
    }
    const char *fi[1] = {"x"}, *qi[3] = {"x", "s", "zp"}, *di[3] = {"x_q", "s", "zp"}, *si[1] = {"x_dq"};
    add(*mf, op, "op", 1, fi, "z");
    onnxq_graph_add_init((*mq)->graph, scalar("s", ONNXQ_DT_FLOAT, 0.05));
    onnxq_graph_add_init((*mq)->graph, scalar("zp", ONNXQ_DT_UINT8, 128));
    add(*mq, "QuantizeLinear", "x_Q", 3, qi, "x_q");
    add(*mq, "DequantizeLinear", "x_DQ", 3, di, "x_dq");
    add(*mq, op, "op", 1, si, "z");
}

START_TEST(class_score_rule)
{
    /* rows (0, 1, 0.52) and (1.99, 2, -1); after Q/DQ (step 0.05):
     * (0, 1, 0.5) and (2, 2, -1). Softmax keeps the argmax of its input:
     * row 1 agrees (1, 1), row 2 does not (1 vs the first of a tie, 0). */
    const float x[6] = {0.0f, 1.0f, 0.52f, 1.99f, 2.0f, -1.0f};
    const int64_t d[3] = {1, 2, 3};
    char sub[1024], p[1100];
    snprintf(sub, sizeof(sub), "%s/rows", dir);
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    snprintf(p, sizeof(p), "%s/0.npy", sub);
    write_npy(p, 3, d, x);
    struct onnxq_dataset_options dopts;
    struct onnxq_compare_options co;
    struct onnxq_error err;
    onnxq_dataset_options_init(&dopts);
    onnxq_compare_options_init(&co);
    co.quiet = true;
    /* softmax rows are probability distributions: class scores (rank 3) */
    struct onnxq_model *mf, *mq;
    struct onnxq_compare_result *r = NULL;
    score_models("Softmax", &mf, &mq);
    ck_assert_msg(onnxq_compare_models(ctx, mf, mq, sub, &dopts, &co, &r, &err) == ONNXQ_OK, "%s", err.message);
    ck_assert(r->outputs[0].scores);
    ck_assert_double_eq(r->outputs[0].top1, 0.5);
    ck_assert_uint_eq(r->outputs[0].fid.rows, 2);
    /* x is a quantized graph input: listed, the data itself as reference */
    const struct onnxq_compare_tensor *t = find(r, "x");
    ck_assert(t && t->quantized && !*t->op_type);
    ck_assert_str_eq(t->int8_name, "x_dq");
    /* errors 0, 0, 0.02, 0.01, 0, 0 against sum x^2 = 0 + 1 + 0.2704 + 3.9601 + 4 + 1 */
    ck_assert_double_eq_tol(t->sqnr_db, 10.0 * log10(10.2305 / 0.0005), 1e-3);
    onnxq_compare_result_free(r);
    onnxq_model_free(mf);
    onnxq_model_free(mq);
    /* sigmoid values lie in [0, 1] but rows do not sum to 1, and rank 3 is
     * not [N, C] logits: no top-1 */
    r = NULL;
    score_models("Sigmoid", &mf, &mq);
    ck_assert_msg(onnxq_compare_models(ctx, mf, mq, sub, &dopts, &co, &r, &err) == ONNXQ_OK, "%s", err.message);
    ck_assert(!r->outputs[0].scores);
    ck_assert_double_eq(r->outputs[0].top1, -1.0);
    ck_assert_uint_eq(r->outputs[0].fid.rows, 0);
    onnxq_compare_result_free(r);
    onnxq_model_free(mf);
    onnxq_model_free(mq);
}
END_TEST

START_TEST(outputs_only)
{
    struct onnxq_model *mf = fp32_model(), *mq = int8_model("x");
    struct onnxq_dataset_options dopts;
    struct onnxq_compare_options co;
    struct onnxq_compare_result *r = NULL;
    struct onnxq_error err;
    onnxq_dataset_options_init(&dopts);
    onnxq_compare_options_init(&co);
    co.quiet = true;
    co.tensors = false;
    ck_assert_msg(onnxq_compare_models(ctx, mf, mq, data_dir(), &dopts, &co, &r, &err) == ONNXQ_OK, "%s",
                  err.message);
    ck_assert_uint_eq(r->n_tensors, 0);
    ck_assert_double_eq_tol(r->outputs[0].sqnr_db, 10.0 * log10(6.98 / 0.13), 1e-4);
    onnxq_compare_result_free(r);
    onnxq_model_free(mf);
    onnxq_model_free(mq);
}
END_TEST

START_TEST(inputs_differ)
{
    struct onnxq_model *mf = fp32_model(), *mq = int8_model("pixels");
    struct onnxq_dataset_options dopts;
    struct onnxq_compare_result *r = NULL;
    struct onnxq_error err;
    onnxq_dataset_options_init(&dopts);
    ck_assert_int_eq(onnxq_compare_models(ctx, mf, mq, data_dir(), &dopts, NULL, &r, &err), ONNXQ_E_SHAPE);
    ck_assert_ptr_null(r);
    ck_assert_msg(strstr(err.message, "'pixels'") && strstr(err.message, "int8.onnx"), "%s", err.message);
    onnxq_model_free(mf);
    onnxq_model_free(mq);
}
END_TEST

START_TEST(data_does_not_fit)
{
    struct onnxq_model *mf = fp32_model(), *mq = int8_model("x");
    struct onnxq_dataset_options dopts;
    struct onnxq_compare_result *r = NULL;
    struct onnxq_error err;
    char p[1024], sub[1024];
    snprintf(sub, sizeof(sub), "%s/bad", dir);
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    snprintf(p, sizeof(p), "%s/bad/wide.npy", dir);
    int64_t d[2] = {1, 5};
    const float v[5] = {1, 2, 3, 4, 5};
    write_npy(p, 2, d, v);
    onnxq_dataset_options_init(&dopts);
    struct onnxq_compare_options co;
    onnxq_compare_options_init(&co);
    co.quiet = true;
    ck_assert_int_ne(onnxq_compare_models(ctx, mf, mq, sub, &dopts, &co, &r, &err), ONNXQ_OK);
    ck_assert_ptr_null(r);
    ck_assert_msg(strstr(err.message, "wide.npy"), "%s", err.message);
    /* missing file */
    ck_assert_int_ne(onnxq_compare_files(ctx, "/nonexistent/fp32.onnx", "int8.onnx", sub, &dopts, NULL, &r, &err),
                     ONNXQ_OK);
    ck_assert_msg(strstr(err.message, "/nonexistent/fp32.onnx"), "%s", err.message);
    onnxq_model_free(mf);
    onnxq_model_free(mq);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("compare");
    TCase *tc = tcase_create("compare");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, hand_computed);
    tcase_add_test(tc, outputs_only);
    tcase_add_test(tc, class_score_rule);
    tcase_add_test(tc, inputs_differ);
    tcase_add_test(tc, data_does_not_fit);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
