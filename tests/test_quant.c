/* The QDQ rewriter: weight quantization by hand, bias overflow handling,
 * and whole small models quantized and run in onnxq's executor. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "calibration/observer.h"
#include "core/dtype.h"
#include "calibration/table.h"
#include "exec/exec.h"
#include "ir/graph_util.h"
#include "onnx/onnx_io.h"
#include "quant/quant_internal.h"
#include "quant/quantize.h"
#include "optest.h"
#include "testutil.h"

static struct onnxq_context *ctx;

static void setup(void)
{
    struct onnxq_error err;
    ck_assert_int_eq(onnxq_context_new(&ctx, &err), ONNXQ_OK);
    onnxq_context_set_threads(ctx, 1, &err);
}

static void teardown(void)
{
    onnxq_context_free(ctx);
}

static uint64_t rs = 1;
static float frand(void)
{
    rs = rs * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(rs >> 11) / 9007199254740992.0) * 2.0f - 1.0f;
}

static struct onnxq_constant *init_f(const char *name, int ndim, const int64_t *dims, float scale)
{
    struct onnxq_constant *c = calloc(1, sizeof(*c));
    c->name = strdup(name);
    ck_assert_int_eq(onnxq_tensor_alloc(&c->value, ONNXQ_DT_FLOAT, ndim, dims, NULL), ONNXQ_OK);
    float *d = c->value.data;
    for (int64_t i = 0; i < onnxq_tensor_numel(&c->value); i++)
        d[i] = frand() * scale;
    return c;
}

/* x[1,3,32,32] -> Conv(8,3x3,pad 1) -> Relu -> Conv(4,3x3,pad 1) -> y.
 * w2_scale lets a test make the second conv's weights tiny. */
static struct onnxq_model *make_model(float w2_scale, float b2_value)
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
    m->path = strdup("test.onnx");
    struct onnxq_graph *g = onnxq_graph_new();
    m->graph = g;
    g->name = strdup("g");
    int64_t xd[4] = {1, 3, 32, 32}, yd[4] = {1, 4, 32, 32};
    int64_t w1d[4] = {8, 3, 3, 3}, b1d[1] = {8}, w2d[4] = {4, 8, 3, 3}, b2d[1] = {4};
    g->n_inputs = 1;
    g->inputs = calloc(1, sizeof(*g->inputs));
    ot_value_info(&g->inputs[0], "x", ONNXQ_DT_FLOAT, 4, xd);
    g->n_outputs = 1;
    g->outputs = calloc(1, sizeof(*g->outputs));
    ot_value_info(&g->outputs[0], "y", ONNXQ_DT_FLOAT, 4, yd);
    onnxq_graph_add_init(g, init_f("w1", 4, w1d, 0.5f));
    onnxq_graph_add_init(g, init_f("b1", 1, b1d, 0.1f));
    onnxq_graph_add_init(g, init_f("w2", 4, w2d, w2_scale));
    struct onnxq_constant *b2 = init_f("b2", 1, b2d, 0.1f);
    if (b2_value != 0)
        for (int i = 0; i < 4; i++)
            ((float *)b2->value.data)[i] = b2_value * (i + 1);
    onnxq_graph_add_init(g, b2);
    const char *c1in[3] = {"x", "w1", "b1"}, *c1out[1] = {"c1"};
    const char *rin[1] = {"c1"}, *rout[1] = {"r1"};
    const char *c2in[3] = {"r1", "w2", "b2"}, *c2out[1] = {"y"};
    int64_t pads[4] = {1, 1, 1, 1};
    struct onnxq_node *c1 = onnxq_node_new("Conv", "conv1", 3, c1in, 1, c1out);
    struct onnxq_node *r = onnxq_node_new("Relu", "relu1", 1, rin, 1, rout);
    struct onnxq_node *c2 = onnxq_node_new("Conv", "conv2", 3, c2in, 1, c2out);
    onnxq_node_set_ints(c1, "pads", pads, 4);
    onnxq_node_set_ints(c2, "pads", pads, 4);
    onnxq_graph_insert_node(g, 0, c1);
    onnxq_graph_insert_node(g, 1, r);
    onnxq_graph_insert_node(g, 2, c2);
    struct onnxq_error err;
    ck_assert_msg(onnxq_model_validate(m, &err) == ONNXQ_OK, "%s", err.message);
    return m;
}

static void random_input(struct onnxq_tensor *t, uint64_t seed)
{
    int64_t d[4] = {1, 3, 32, 32};
    ck_assert_int_eq(onnxq_tensor_alloc(t, ONNXQ_DT_FLOAT, 4, d, NULL), ONNXQ_OK);
    rs = seed;
    float *p = t->data;
    for (int i = 0; i < 3 * 32 * 32; i++)
        p[i] = frand();
}

/* Run the model on 16 random samples, observing; return the table. */
static void calibrate(struct onnxq_model *m, struct onnxq_calib_table *t)
{
    struct onnxq_error err;
    struct onnxq_exec *e = NULL;
    struct onnxq_observer o;
    ck_assert_msg(onnxq_exec_new(ctx, m, &e, &err) == ONNXQ_OK, "%s", err.message);
    ck_assert_int_eq(onnxq_observer_init(&o, 2048, ONNXQ_EMA_DEFAULT, &err), ONNXQ_OK);
    onnxq_exec_set_hook(e, onnxq_observer_hook, &o);
    /* one output tensor per graph output (some test models have two) */
    ck_assert_uint_le(m->graph->n_outputs, 4);
    for (int s = 0; s < 16; s++) {
        struct onnxq_tensor x, y[4] = {{0}};
        random_input(&x, 1000 + (uint64_t)s);
        const struct onnxq_tensor *in[1] = {&x};
        ck_assert_int_eq(onnxq_observer_add(&o, "x", &x, &err), ONNXQ_OK);
        ck_assert_msg(onnxq_exec_run(e, in, y, &err) == ONNXQ_OK, "%s", err.message);
        onnxq_tensor_clear(&x);
        for (int k = 0; k < 4; k++)
            onnxq_tensor_clear(&y[k]);
    }
    ck_assert_int_eq(onnxq_calib_table_build(&o, "test.onnx", 8, (1u << ONNXQ_CALIB_METHOD_COUNT) - 1, NULL, t, NULL,
                                             &err),
                     ONNXQ_OK);
    onnxq_observer_clear(&o);
    onnxq_exec_free(e);
}

static void run_once(struct onnxq_model *m, uint64_t seed, struct onnxq_tensor *y)
{
    struct onnxq_error err;
    struct onnxq_exec *e = NULL;
    ck_assert_msg(onnxq_exec_new(ctx, m, &e, &err) == ONNXQ_OK, "%s", err.message);
    struct onnxq_tensor x;
    random_input(&x, seed);
    const struct onnxq_tensor *in[1] = {&x};
    memset(y, 0, sizeof(*y));
    ck_assert_msg(onnxq_exec_run(e, in, y, &err) == ONNXQ_OK, "%s", err.message);
    onnxq_tensor_clear(&x);
    onnxq_exec_free(e);
}

static double cosine(const struct onnxq_tensor *a, const struct onnxq_tensor *b)
{
    const float *x = a->data, *y = b->data;
    double xy = 0, xx = 0, yy = 0;
    for (int64_t i = 0; i < onnxq_tensor_numel(a); i++) {
        xy += (double)x[i] * y[i];
        xx += (double)x[i] * x[i];
        yy += (double)y[i] * y[i];
    }
    return xy / sqrt(xx * yy + 1e-30);
}

static size_t count_op(const struct onnxq_graph *g, const char *op)
{
    size_t n = 0;
    for (size_t i = 0; i < g->n_nodes; i++)
        n += strcmp(g->nodes[i]->op_type, op) == 0;
    return n;
}

START_TEST(weights_per_channel_by_hand)
{
    const float w[6] = {0.5f, -1.0f, 0.25f, 2.0f, -0.5f, 1.0f};
    int64_t d[2] = {2, 3};
    int8_t q[6];
    float s[2];
    onnxq_quantize_weights(w, d, 2, 0, 127, q, s);
    ck_assert_float_eq_tol(s[0], 1.0f / 127, 1e-9);
    ck_assert_float_eq_tol(s[1], 2.0f / 127, 1e-9);
    const int8_t want[6] = {64 /* 63.5 -> even */, -127, 32 /* 31.75 */, 127, -32 /* -31.75 */, 64 /* 63.5 */};
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(q[i], want[i]);
    /* along axis 1 (MatMul output columns) */
    float s1[3];
    onnxq_quantize_weights(w, d, 2, 1, 127, q, s1);
    ck_assert_float_eq_tol(s1[0], 2.0f / 127, 1e-9);
    ck_assert_float_eq_tol(s1[1], 1.0f / 127, 1e-9);
    ck_assert_float_eq_tol(s1[2], 1.0f / 127, 1e-9);
    /* 7-bit */
    onnxq_quantize_weights(w, d, 2, -1, 63, q, s);
    ck_assert_float_eq_tol(s[0], 2.0f / 63, 1e-9);
    ck_assert_int_eq(q[3], 63);
    /* an all-zero channel keeps a usable scale */
    const float z[3] = {0, 0, 0};
    int64_t dz[1] = {3};
    onnxq_quantize_weights(z, dz, 1, -1, 127, q, s);
    ck_assert(s[0] > 0 && q[0] == 0);
}
END_TEST

/* A model whose only output is the float weight that
 * onnxq_quant_store_weight rebuilds from int8: run it and return the
 * tensor, with the model (for its initializers) in *mp. */
static void store_and_run(const float *w, int64_t channels, int64_t per, enum onnxq_wform form,
                          struct onnxq_model **mp, struct onnxq_tensor *out)
{
    struct onnxq_error err;
    struct onnxq_model *m = calloc(1, sizeof(*m));
    m->ctx = ctx;
    m->has_ir_version = true;
    m->ir_version = 8;
    m->n_opsets = 1;
    m->opsets = calloc(1, sizeof(*m->opsets));
    m->opsets[0].domain = strdup("");
    m->opsets[0].has_version = true;
    m->opsets[0].version = 13;
    m->path = strdup("w.onnx");
    struct onnxq_graph *g = onnxq_graph_new();
    m->graph = g;
    g->name = strdup("g");
    int64_t d[4] = {channels, per, 1, 1};
    struct onnxq_constant *c = init_f("w", 4, d, 1.0f);
    memcpy(c->value.data, w, (size_t)(channels * per) * sizeof(float));
    onnxq_graph_add_init(g, c);
    struct onnxq_namegen ng;
    ck_assert_int_eq(onnxq_namegen_init(&ng, m, &err), ONNXQ_OK);
    struct onnxq_wstore ws;
    ck_assert_msg(onnxq_quant_store_weight(g, &ng, c, 0, 127, form, NULL, &ws, &err) == ONNXQ_OK, "%s",
                  err.message);
    ck_assert_int_eq(ws.channels, channels);
    ck_assert_int_eq(ws.axis, 0);
    ck_assert_uint_eq(ws.bytes_before, (size_t)(channels * per) * 4);
    ck_assert(form == ONNXQ_WFORM_DQ ? ws.scales != NULL : ws.scales == NULL);
    g->n_outputs = 1;
    g->outputs = calloc(1, sizeof(*g->outputs));
    ot_value_info(&g->outputs[0], ws.out, ONNXQ_DT_FLOAT, 4, d);
    onnxq_namegen_free(&ng);
    ck_assert_int_ge(onnxq_graph_eliminate_dead(g, &err), 0);
    for (size_t i = 0; i < g->n_inits; i++)
        ck_assert_msg(strcmp(g->inits[i]->name, "w") != 0, "the float weight is still stored");
    ck_assert_msg(onnxq_model_validate(m, &err) == ONNXQ_OK, "%s", err.message);
    struct onnxq_exec *e = NULL;
    ck_assert_msg(onnxq_exec_new(ctx, m, &e, &err) == ONNXQ_OK, "%s", err.message);
    memset(out, 0, sizeof(*out));
    ck_assert_msg(onnxq_exec_run(e, NULL, out, &err) == ONNXQ_OK, "%s", err.message);
    onnxq_exec_free(e);
    *mp = m;
}

static const struct onnxq_constant *find_init_dt(const struct onnxq_graph *g, enum onnxq_dtype dt)
{
    for (size_t i = 0; i < g->n_inits; i++)
        if (g->inits[i]->value.dtype == dt)
            return g->inits[i];
    return NULL;
}

START_TEST(fold_weight_form_by_hand)
{
    /* 2 channels of 3: scales 1.27/127 = 0.01 and 0.635/127 = 0.005 */
    const float w[6] = {1.27f, -0.5f, 0.013f, 0.1f, 0.2f, -0.635f};
    const int8_t want_q[6] = {127, -50, 1, 20, 40, -127};
    const float want_s[2] = {1.27f / 127.0f, 0.635f / 127.0f};
    for (int form = 0; form < ONNXQ_WFORM_COUNT; form++) {
        struct onnxq_model *m;
        struct onnxq_tensor f;
        store_and_run(w, 2, 3, (enum onnxq_wform)form, &m, &f);
        const struct onnxq_graph *g = m->graph;
        /* FOLD: int8 -> Cast -> Mul(scale [2,1,1,1]); DQ: DequantizeLinear(axis 0) */
        ck_assert_uint_eq(count_op(g, "Cast"), form == ONNXQ_WFORM_FOLD ? 1 : 0);
        ck_assert_uint_eq(count_op(g, "Mul"), form == ONNXQ_WFORM_FOLD ? 1 : 0);
        ck_assert_uint_eq(count_op(g, "DequantizeLinear"), form == ONNXQ_WFORM_DQ ? 1 : 0);
        const struct onnxq_constant *q = find_init_dt(g, ONNXQ_DT_INT8);
        const struct onnxq_constant *s = find_init_dt(g, ONNXQ_DT_FLOAT);
        ck_assert(q && s);
        if (form == ONNXQ_WFORM_DQ) {
            /* an explicit int8 zero point of 0 per channel (ORT needs it to
             * make QGemm) */
            for (size_t i = 0; i < g->n_nodes; i++)
                if (strcmp(g->nodes[i]->op_type, "DequantizeLinear") == 0) {
                    ck_assert_uint_eq(g->nodes[i]->n_inputs, 3);
                    const struct onnxq_constant *z = NULL;
                    for (size_t k = 0; k < g->n_inits; k++)
                        if (strcmp(g->inits[k]->name, g->nodes[i]->inputs[2]) == 0)
                            z = g->inits[k];
                    ck_assert(z && z->value.dtype == ONNXQ_DT_INT8 && z->value.ndim == 1 && z->value.dims[0] == 2);
                    ck_assert(((const int8_t *)z->value.data)[0] == 0 && ((const int8_t *)z->value.data)[1] == 0);
                }
            ck_assert_uint_eq(g->n_inits, 3);
            ck_assert_int_eq(s->value.ndim, 1);
        } else {
            ck_assert_int_eq(s->value.ndim, 4);
            ck_assert_int_eq(s->value.dims[0], 2);
            ck_assert_int_eq(s->value.dims[1] * s->value.dims[2] * s->value.dims[3], 1);
        }
        const int8_t *qv = q->value.data;
        const float *sv = s->value.data, *fv = f.data;
        for (int c = 0; c < 2; c++)
            ck_assert_msg(sv[c] == want_s[c], "scale %d: %.9g vs %.9g", c, sv[c], want_s[c]);
        for (int e = 0; e < 6; e++) {
            ck_assert_int_eq(qv[e], want_q[e]);
            /* exactly the float product, as DequantizeLinear defines it */
            float want = (float)want_q[e] * want_s[e / 3];
            ck_assert_msg(fv[e] == want, "form %d w[%d]: %.9g vs %.9g", form, e, fv[e], want);
        }
        onnxq_tensor_clear(&f);
        onnxq_model_free(m);
    }
}
END_TEST

START_TEST(fold_weight_half_scales)
{
    /* 40 channels (>= 32): FOLD stores the scales as float16 (-> Cast). Each
     * is the smallest float16 >= max|w|/127 and the weight is quantized with
     * it, so the rebuilt weight is still exactly q * scale. */
    enum { C = 40, P = 5 };
    float w[C * P];
    rs = 99;
    for (int c = 0; c < C; c++)
        for (int k = 0; k < P; k++)
            w[c * P + k] = frand() * (0.05f + 0.2f * (float)c);
    struct onnxq_model *m;
    struct onnxq_tensor f;
    store_and_run(w, C, P, ONNXQ_WFORM_FOLD, &m, &f);
    const struct onnxq_constant *q = find_init_dt(m->graph, ONNXQ_DT_INT8);
    const struct onnxq_constant *h = find_init_dt(m->graph, ONNXQ_DT_FLOAT16);
    ck_assert(q && h && !find_init_dt(m->graph, ONNXQ_DT_FLOAT));
    ck_assert_uint_eq(count_op(m->graph, "Cast"), 2);
    const int8_t *qv = q->value.data;
    const uint16_t *hv = h->value.data;
    const float *fv = f.data;
    for (int c = 0; c < C; c++) {
        float mx = 0;
        for (int k = 0; k < P; k++)
            mx = fmaxf(mx, fabsf(w[c * P + k]));
        float s = onnxq_half_to_float(hv[c]);
        ck_assert_msg(s >= mx / 127.0f && onnxq_half_to_float((uint16_t)(hv[c] - 1)) < mx / 127.0f,
                      "channel %d: scale %.9g for max %.9g", c, s, mx);
        for (int k = 0; k < P; k++) {
            int e = c * P + k;
            ck_assert_int_eq(qv[e], (int)nearbyintf(w[e] / s));
            ck_assert_msg(fv[e] == (float)qv[e] * s, "w[%d]: %.9g vs %.9g", e, fv[e], (float)qv[e] * s);
            ck_assert(fabsf(fv[e] - w[e]) <= 0.5001f * s);
        }
    }
    onnxq_tensor_clear(&f);
    onnxq_model_free(m);
}
END_TEST

static void check_quantized(enum onnxq_placement placement, enum onnxq_qtype qt, enum onnxq_calib_method method)
{
    struct onnxq_error err;
    struct onnxq_model *m = make_model(0.3f, 0);
    struct onnxq_calib_table t;
    calibrate(m, &t);
    struct onnxq_tensor ref;
    run_once(m, 77, &ref);
    struct onnxq_quant_options o;
    onnxq_quant_options_init(&o);
    o.placement = placement;
    o.act_type = qt;
    o.method = method;
    struct onnxq_quant_report r;
    ck_assert_msg(onnxq_quantize_model(m, &t, &o, &r, &err) == ONNXQ_OK, "%s", err.message);
    bool full = placement == ONNXQ_PLACEMENT_FULL;
    /* both weights are int8 whatever the placement. auto keeps both convs
     * float: conv1 (8x3x3x3) does 216 multiply-adds per output position for
     * 3 + 8 converted elements (< 32 each), conv2 has 4 output channels */
    ck_assert_uint_eq(r.weights_int8, 2);
    ck_assert_uint_eq(r.biases_int32, full ? 2 : 0);
    ck_assert_uint_eq(count_op(m->graph, "Conv"), 2);
    /* weights of float convs are int8 -> Cast -> Mul (folded by
     * onnxruntime); weights of INT8 convs go through DequantizeLinear */
    ck_assert_uint_eq(count_op(m->graph, "Cast"), full ? 0 : 2);
    ck_assert_uint_eq(count_op(m->graph, "DequantizeLinear"), full ? (qt == ONNXQ_QTYPE_UINT8 ? 6 : 7) : 0);
    /* uint8: the Relu becomes the Q saturation; int8 keeps it */
    ck_assert_uint_eq(count_op(m->graph, "Relu"), full && qt == ONNXQ_QTYPE_UINT8 ? 0 : 1);
    /* Q/DQ on x and on r1 (between the convs); int8 also on c1, the Relu
     * input. The pair on the graph output y has no reader and is dropped. */
    ck_assert_uint_eq(count_op(m->graph, "QuantizeLinear"), full ? (qt == ONNXQ_QTYPE_UINT8 ? 2 : 3) : 0);
    for (size_t i = 0; i < m->graph->n_inits; i++) {
        const struct onnxq_constant *c = m->graph->inits[i];
        ck_assert_msg(strcmp(c->name, "w1") != 0 && strcmp(c->name, "w2") != 0, "float weight %s left", c->name);
    }
    /* the output name and the model interface are unchanged */
    ck_assert_str_eq(m->graph->outputs[0].name, "y");
    ck_assert_str_eq(m->graph->inputs[0].name, "x");
    struct onnxq_tensor q;
    run_once(m, 77, &q);
    double c = cosine(&ref, &q);
    if (getenv("ONNXQ_TEST_DUMP")) {
        char path[256];
        snprintf(path, sizeof(path), "/tmp/q_%d_%d_%d.onnx", (int)placement, (int)qt, (int)method);
        onnxq_model_save(m, path, NULL, &err);
    }
    /* The KL search clips ReLU outputs hard (their zero spike dominates P):
     * a plain numpy version of the same search cuts half-normal data at
     * 0.37 x max with 256 levels. So entropy gets a looser bound here. */
    double need = method == ONNXQ_CALIB_ENTROPY ? 0.98 : 0.999;
    ck_assert_msg(c > need, "placement %d type %d method %d: cosine %f", (int)placement, (int)qt, (int)method, c);
    /* saves and reloads */
    uint8_t *bytes = NULL;
    size_t n = 0;
    struct onnxq_model *back = NULL;
    ck_assert_int_eq(onnxq_model_serialize(m, &bytes, &n, &err), ONNXQ_OK);
    ck_assert_msg(onnxq_model_load_buffer(ctx, bytes, n, NULL, "q.onnx", &back, &err) == ONNXQ_OK, "%s", err.message);
    onnxq_model_free(back);
    free(bytes);
    onnxq_tensor_clear(&ref);
    onnxq_tensor_clear(&q);
    onnxq_calib_table_clear(&t);
    onnxq_model_free(m);
}

START_TEST(quantize_conv_relu_conv)
{
    check_quantized(ONNXQ_PLACEMENT_FULL, ONNXQ_QTYPE_UINT8, ONNXQ_CALIB_MINMAX);
    check_quantized(ONNXQ_PLACEMENT_FULL, ONNXQ_QTYPE_INT8, ONNXQ_CALIB_MINMAX);
    check_quantized(ONNXQ_PLACEMENT_AUTO, ONNXQ_QTYPE_UINT8, ONNXQ_CALIB_PERCENTILE);
    check_quantized(ONNXQ_PLACEMENT_FULL, ONNXQ_QTYPE_UINT8, ONNXQ_CALIB_MSE);
    check_quantized(ONNXQ_PLACEMENT_FULL, ONNXQ_QTYPE_UINT8, ONNXQ_CALIB_ENTROPY);
}
END_TEST

START_TEST(tiny_weights_enlarge_the_scale_for_the_bias)
{
    /* w2 ~ 1e-9 and b2 = 10..40: b / (s_in * s_w) is far beyond int32 */
    struct onnxq_error err;
    struct onnxq_model *m = make_model(1e-9f, 10.0f);
    struct onnxq_calib_table t;
    calibrate(m, &t);
    struct onnxq_tensor ref;
    run_once(m, 5, &ref);
    struct onnxq_quant_options o;
    onnxq_quant_options_init(&o);
    o.placement = ONNXQ_PLACEMENT_FULL;
    struct onnxq_quant_report r;
    ck_assert_msg(onnxq_quantize_model(m, &t, &o, &r, &err) == ONNXQ_OK, "%s", err.message);
    ck_assert_uint_eq(r.bias_scale_adjusted, 4);
    /* every int32 bias value is representable */
    for (size_t i = 0; i < m->graph->n_inits; i++) {
        const struct onnxq_constant *c = m->graph->inits[i];
        if (c->value.dtype != ONNXQ_DT_INT32)
            continue;
        const int32_t *b = c->value.data;
        for (int64_t k = 0; k < onnxq_tensor_numel(&c->value); k++)
            ck_assert(b[k] > -2147483647 && b[k] < 2147483647);
    }
    /* the output is the bias (the weights do not matter): still right */
    struct onnxq_tensor q;
    run_once(m, 5, &q);
    const float *a = ref.data, *b = q.data;
    for (int64_t i = 0; i < onnxq_tensor_numel(&ref); i++)
        ck_assert_msg(fabsf(a[i] - b[i]) <= 0.01f * fabsf(a[i]) + 0.05f, "y[%lld] %g vs %g", (long long)i, a[i], b[i]);
    onnxq_tensor_clear(&ref);
    onnxq_tensor_clear(&q);
    onnxq_calib_table_clear(&t);
    onnxq_model_free(m);
}
END_TEST

START_TEST(float_readers_keep_the_float_tensor)
{
    /* x feeds conv a (INT8) and conv b (excluded: float). x is not written
     * by an INT8 op, so b keeps reading x itself: a DQ(Q(x)) in front of b
     * would only convert back and forth. */
    struct onnxq_error err;
    struct onnxq_model *m = make_model(0.3f, 0);
    struct onnxq_graph *g = m->graph;
    int64_t wd[4] = {4, 3, 1, 1}, yd[4] = {1, 4, 32, 32};
    onnxq_graph_add_init(g, init_f("wb", 4, wd, 0.5f));
    const char *bin[2] = {"x", "wb"}, *bout[1] = {"yb"};
    onnxq_graph_insert_node(g, g->n_nodes, onnxq_node_new("Conv", "convb", 2, bin, 1, bout));
    struct onnxq_value_info *no = realloc(g->outputs, 2 * sizeof(*no));
    ck_assert(no);
    g->outputs = no;
    memset(&g->outputs[1], 0, sizeof(g->outputs[1]));
    ot_value_info(&g->outputs[1], "yb", ONNXQ_DT_FLOAT, 4, yd);
    g->n_outputs = 2;
    ck_assert_msg(onnxq_model_validate(m, &err) == ONNXQ_OK, "%s", err.message);
    struct onnxq_calib_table t;
    calibrate(m, &t);
    struct onnxq_quant_options o;
    onnxq_quant_options_init(&o);
    o.placement = ONNXQ_PLACEMENT_FULL;
    const char *excl[2] = {"convb", NULL};
    o.exclude_nodes = excl;
    struct onnxq_quant_report r;
    ck_assert_msg(onnxq_quantize_model(m, &t, &o, &r, &err) == ONNXQ_OK, "%s", err.message);
    const struct onnxq_node *a = NULL, *b = NULL;
    for (size_t i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i]->name && strcmp(g->nodes[i]->name, "conv1") == 0)
            a = g->nodes[i];
        if (g->nodes[i]->name && strcmp(g->nodes[i]->name, "convb") == 0)
            b = g->nodes[i];
    }
    ck_assert(a && b);
    ck_assert_str_eq(b->inputs[0], "x");
    ck_assert_str_ne(a->inputs[0], "x");
    /* conv1 reads the DequantizeLinear of the QuantizeLinear of x */
    bool via_dq = false;
    for (size_t i = 0; i < g->n_nodes; i++)
        if (strcmp(g->nodes[i]->op_type, "DequantizeLinear") == 0 &&
            strcmp(g->nodes[i]->outputs[0], a->inputs[0]) == 0)
            via_dq = true;
    ck_assert(via_dq);
    onnxq_calib_table_clear(&t);
    onnxq_model_free(m);
}
END_TEST

START_TEST(table_without_the_tensors_is_named)
{
    struct onnxq_error err;
    struct onnxq_model *m = make_model(0.3f, 0);
    struct onnxq_calib_table t = {0};
    t.bins = 2048;
    struct onnxq_quant_options o;
    onnxq_quant_options_init(&o);
    o.placement = ONNXQ_PLACEMENT_FULL;
    struct onnxq_quant_report r;
    ck_assert_int_eq(onnxq_quantize_model(m, &t, &o, &r, &err), ONNXQ_E_INVALID_ARG);
    ck_assert_msg(strstr(err.message, "'x'") && strstr(err.message, "'r1'"), "%s", err.message);
    onnxq_model_free(m);
}
END_TEST

/* x -> Conv0 (16x3x3x3) -> ConvA (16x16x3x3) -> Relu -> ConvB (1x1 16->16)
 * -> DepthToSpace(2) -> Relu -> ConvC (1x1 4->4) -> y[1,4,64,64], the
 * shape of PP-OCR det's head. Placement auto: ConvA passes the cost rule;
 * ConvB and ConvC (thin 1x1) only join its island, through the Relus
 * (folded into the QuantizeLinear) and the DepthToSpace (moves uint8:
 * DequantizeLinear in front, QuantizeLinear after it). Conv0 (3 input
 * channels) stays float, and without ConvA nothing is placed. */
static struct onnxq_model *make_head_model(void)
{
    struct onnxq_model *m = make_model(0.3f, 0);
    struct onnxq_graph *g = m->graph;
    while (g->n_nodes)
        onnxq_graph_remove_node(g, g->n_nodes - 1);
    int64_t w0d[4] = {16, 3, 3, 3}, wad[4] = {16, 16, 3, 3}, wbd[4] = {16, 16, 1, 1}, wcd[4] = {4, 4, 1, 1};
    int64_t bd[1] = {16}, yd[4] = {1, 4, 64, 64};
    onnxq_graph_add_init(g, init_f("w0", 4, w0d, 0.5f));
    onnxq_graph_add_init(g, init_f("wa", 4, wad, 0.2f));
    onnxq_graph_add_init(g, init_f("ba", 1, bd, 0.1f));
    onnxq_graph_add_init(g, init_f("wb", 4, wbd, 0.3f));
    onnxq_graph_add_init(g, init_f("wc", 4, wcd, 0.5f));
    onnxq_value_info_clear(&g->outputs[0]); /* make_model's y has another shape */
    ot_value_info(&g->outputs[0], "y", ONNXQ_DT_FLOAT, 4, yd);
    const char *i0[2] = {"x", "w0"}, *o0[1] = {"t0"};
    const char *ia[3] = {"t0", "wa", "ba"}, *oa[1] = {"ta"};
    const char *ir1[1] = {"ta"}, *or1[1] = {"ra"};
    const char *ib[2] = {"ra", "wb"}, *ob[1] = {"tb"};
    const char *id[1] = {"tb"}, *od[1] = {"td"};
    const char *ir2[1] = {"td"}, *or2[1] = {"rd"};
    const char *ic[2] = {"rd", "wc"}, *oc[1] = {"y"};
    int64_t pads[4] = {1, 1, 1, 1};
    struct onnxq_node *c0 = onnxq_node_new("Conv", "conv0", 2, i0, 1, o0);
    struct onnxq_node *ca = onnxq_node_new("Conv", "convA", 3, ia, 1, oa);
    struct onnxq_node *d2s = onnxq_node_new("DepthToSpace", "d2s", 1, id, 1, od);
    onnxq_node_set_ints(c0, "pads", pads, 4);
    onnxq_node_set_ints(ca, "pads", pads, 4);
    onnxq_node_set_int(d2s, "blocksize", 2);
    onnxq_node_set_string(d2s, "mode", "CRD");
    struct onnxq_node *nodes[7] = {c0,
                                   ca,
                                   onnxq_node_new("Relu", "reluA", 1, ir1, 1, or1),
                                   onnxq_node_new("Conv", "convB", 2, ib, 1, ob),
                                   d2s,
                                   onnxq_node_new("Relu", "reluD", 1, ir2, 1, or2),
                                   onnxq_node_new("Conv", "convC", 2, ic, 1, oc)};
    for (int i = 0; i < 7; i++)
        onnxq_graph_insert_node(g, g->n_nodes, nodes[i]);
    struct onnxq_error err;
    ck_assert_msg(onnxq_graph_eliminate_dead(g, &err) >= 0, "%s", err.message);
    ck_assert_msg(onnxq_model_validate(m, &err) == ONNXQ_OK, "%s", err.message);
    return m;
}

static size_t report_quantized(const struct onnxq_quant_report *r, const char *op)
{
    for (size_t i = 0; i < r->n_ops; i++)
        if (strcmp(r->ops[i].op, op) == 0)
            return r->ops[i].quantized;
    return 0;
}

START_TEST(auto_island_grows_through_relu_and_depthtospace)
{
    struct onnxq_error err;
    for (int without_a = 0; without_a < 2; without_a++) {
        struct onnxq_model *m = make_head_model();
        struct onnxq_graph *g = m->graph;
        struct onnxq_calib_table t;
        calibrate(m, &t);
        struct onnxq_tensor ref;
        run_once(m, 31, &ref);
        struct onnxq_quant_options o;
        onnxq_quant_options_init(&o);
        const char *excl[2] = {"convA", NULL};
        if (without_a)
            o.exclude_nodes = excl;
        struct onnxq_quant_report r;
        ck_assert_msg(onnxq_quantize_model(m, &t, &o, &r, &err) == ONNXQ_OK, "%s", err.message);
        if (without_a) {
            ck_assert_uint_eq(report_quantized(&r, "Conv"), 0);
            ck_assert_uint_eq(count_op(g, "QuantizeLinear"), 0);
            ck_assert_uint_eq(count_op(g, "Relu"), 2);
        } else {
            ck_assert_uint_eq(report_quantized(&r, "Conv"), 3);
            ck_assert_uint_eq(r.relu_folded, 2);
            ck_assert_uint_eq(count_op(g, "Relu"), 0);
            const struct onnxq_node *d = NULL;
            for (size_t i = 0; i < g->n_nodes; i++)
                if (strcmp(g->nodes[i]->op_type, "DepthToSpace") == 0)
                    d = g->nodes[i];
            ck_assert(d);
            const struct onnxq_node *in = ot_producer(g, d->inputs[0]);
            ck_assert(in && strcmp(in->op_type, "DequantizeLinear") == 0);
            /* its output goes through Q/DQ with its input's scale to convC */
            bool q_after = false;
            for (size_t i = 0; i < g->n_nodes; i++)
                if (strcmp(g->nodes[i]->op_type, "QuantizeLinear") == 0 &&
                    strcmp(g->nodes[i]->inputs[0], d->outputs[0]) == 0) {
                    q_after = true;
                    const struct onnxq_constant *s1 = onnxq_graph_find_init(g, g->nodes[i]->inputs[1]);
                    const struct onnxq_constant *s0 = onnxq_graph_find_init(g, in->inputs[1]);
                    ck_assert(s0 && s1);
                    ck_assert_float_eq(*(const float *)s0->value.data, *(const float *)s1->value.data);
                }
            ck_assert(q_after);
        }
        struct onnxq_tensor q;
        run_once(m, 31, &q);
        double c = cosine(&ref, &q);
        ck_assert_msg(c > 0.995, "without convA %d: cosine %f", without_a, c);
        onnxq_tensor_clear(&ref);
        onnxq_tensor_clear(&q);
        onnxq_calib_table_clear(&t);
        onnxq_model_free(m);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("quantize");
    TCase *tc = tcase_create("qdq");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, weights_per_channel_by_hand);
    tcase_add_test(tc, fold_weight_form_by_hand);
    tcase_add_test(tc, fold_weight_half_scales);
    tcase_add_test(tc, quantize_conv_relu_conv);
    tcase_add_test(tc, tiny_weights_enlarge_the_scale_for_the_bias);
    tcase_add_test(tc, table_without_the_tensors_is_named);
    tcase_add_test(tc, float_readers_keep_the_float_tensor);
    tcase_add_test(tc, auto_island_grows_through_relu_and_depthtospace);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
