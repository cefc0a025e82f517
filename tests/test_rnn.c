/* Recurrent layers, control flow and Q/DQ kernels.
 *
 *  - LSTM/GRU/RNN: the BLAS kernel against the plain reference on random
 *    configurations (directions, sequence lengths, peepholes, clip,
 *    input_forget, linear_before_reset, activations), and the op with
 *    layout = 1 against the reference on transposed data.
 *  - If/Loop: graphs built in memory, with nested subgraphs reading values
 *    two scopes up, zero-trip loops, scan outputs and repeated runs.
 *  - QuantizeLinear/DequantizeLinear: the fast paths against the reference,
 *    bit for bit, plus hand-checked rounding and saturation.
 *  - silero VAD v5 and legacy end to end, when every op they use exists.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/context.h"
#include "core/error.h"
#include "exec/exec.h"
#include "ir/graph.h"
#include "ir/graph_util.h"
#include "ops/quant.h"
#include "ops/rnn.h"
#include "optest.h"

/* |blas - reference| <= RNN_ATOL + RNN_RTOL * |reference| (GEMM reorders sums) */
#define RNN_ATOL 1e-5
#define RNN_RTOL 1e-4
/* the fast Q/DQ paths must equal the reference exactly */
#define QDQ_TOL 0

/* ------------------------------------------------------------ rnn kernel */

static void compare_f32(const char *what, const float *got, const float *want, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)want[i]);
        if (!(d <= RNN_ATOL + RNN_RTOL * fabs((double)want[i])))
            ck_abort_msg("%s: element %zu is %.9g, reference %.9g", what, i, (double)got[i], (double)want[i]);
    }
}

START_TEST(rnn_blas_matches_reference)
{
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    int cases = 0;
    for (int kind = 0; kind < 3; kind++) {
        for (int c = 0; c < 40; c++, cases++) {
            struct onnxq_rnn_cfg cfg;
            memset(&cfg, 0, sizeof(cfg));
            cfg.kind = (enum onnxq_rnn_kind)kind;
            cfg.direction = (enum onnxq_rnn_direction)(c % 3);
            cfg.hidden = 1 + (int64_t)(tu_rng_next(&seed) % 17);
            int D = cfg.direction == ONNXQ_RNN_BIDIRECTIONAL ? 2 : 1;
            int NA = onnxq_rnn_acts(cfg.kind), G = onnxq_rnn_gates(cfg.kind);
            for (int i = 0; i < D * NA; i++) {
                cfg.act[i].kind = i % NA == 0 ? ONNXQ_ACT_SIGMOID : ONNXQ_ACT_TANH;
                if (cfg.kind == ONNXQ_RNN_SIMPLE)
                    cfg.act[i].kind = ONNXQ_ACT_TANH;
            }
            if (c % 7 == 3) {
                /* unusual activations */
                static const struct onnxq_rnn_activation odd[] = {
                    {ONNXQ_ACT_HARDSIGMOID, 0.2f, 0.5f}, {ONNXQ_ACT_LEAKYRELU, 0.1f, 0.0f},
                    {ONNXQ_ACT_SCALEDTANH, 1.5f, 0.7f},  {ONNXQ_ACT_SOFTSIGN, 0.0f, 0.0f},
                    {ONNXQ_ACT_ELU, 0.9f, 0.0f},         {ONNXQ_ACT_AFFINE, 0.5f, 0.1f},
                };
                for (int i = 0; i < D * NA; i++)
                    cfg.act[i] = odd[(i + c) % 6];
            }
            cfg.has_clip = c % 5 == 1;
            cfg.clip = 0.7f;
            cfg.input_forget = c % 4 == 2;
            cfg.linear_before_reset = c % 2 == 1;
            int64_t T = 1 + (int64_t)(tu_rng_next(&seed) % 6), N = 1 + (int64_t)(tu_rng_next(&seed) % 4);
            int64_t NI = 1 + (int64_t)(tu_rng_next(&seed) % 9), H = cfg.hidden, GH = G * H;
            float *x = tu_rand_buf(&seed, (size_t)(T * N * NI), 1.0f);
            float *w = tu_rand_buf(&seed, (size_t)(D * GH * NI), 0.6f);
            float *r = tu_rand_buf(&seed, (size_t)(D * GH * H), 0.6f);
            float *b = c % 3 ? tu_rand_buf(&seed, (size_t)(D * 2 * GH), 0.5f) : NULL;
            float *p = c % 2 ? tu_rand_buf(&seed, (size_t)(D * 3 * H), 0.5f) : NULL;
            float *h0 = c % 4 ? tu_rand_buf(&seed, (size_t)(D * N * H), 0.5f) : NULL;
            float *c0 = c % 5 ? tu_rand_buf(&seed, (size_t)(D * N * H), 0.5f) : NULL;
            int32_t *lens = NULL;
            if (c % 3 == 2) {
                lens = malloc((size_t)N * sizeof(int32_t));
                for (int64_t i = 0; i < N; i++)
                    lens[i] = (int32_t)(tu_rng_next(&seed) % (uint64_t)(T + 1));
            }
            size_t ny = (size_t)(T * D * N * H), nh = (size_t)(D * N * H);
            float *y[2], *yh[2], *yc[2];
            for (int k = 0; k < 2; k++) {
                y[k] = malloc(ny * sizeof(float));
                yh[k] = malloc(nh * sizeof(float));
                yc[k] = malloc(nh * sizeof(float));
                /* garbage, so unwritten elements show */
                for (size_t i = 0; i < ny; i++)
                    y[k][i] = 1e30f;
                struct onnxq_rnn_io io = {.T = T, .N = N, .NI = NI, .x = x, .w = w, .r = r, .b = b,
                                          .p = cfg.kind == ONNXQ_RNN_LSTM ? p : NULL, .seq_lens = lens,
                                          .h0 = h0, .c0 = cfg.kind == ONNXQ_RNN_LSTM ? c0 : NULL,
                                          .y = y[k], .yh = yh[k], .yc = cfg.kind == ONNXQ_RNN_LSTM ? yc[k] : NULL};
                ck_assert(onnxq_rnn_layer(&cfg, &io, k == 1));
            }
            char what[120];
            snprintf(what, sizeof(what), "kind %d case %d (T %lld N %lld I %lld H %lld dir %d) Y", kind, c,
                     (long long)T, (long long)N, (long long)NI, (long long)H, (int)cfg.direction);
            compare_f32(what, y[0], y[1], ny);
            compare_f32(what, yh[0], yh[1], nh);
            if (cfg.kind == ONNXQ_RNN_LSTM)
                compare_f32(what, yc[0], yc[1], nh);
            for (int k = 0; k < 2; k++) {
                free(y[k]);
                free(yh[k]);
                free(yc[k]);
            }
            free(x), free(w), free(r), free(b), free(p), free(h0), free(c0), free(lens);
        }
    }
    printf("rnn: %d random layer configurations compared\n", cases);
}
END_TEST

/* One LSTM by hand: T=1, N=1, I=1, H=1, every weight 1, no bias:
 * i = o = f = sigmoid(x), c = sigmoid(x) * tanh(x), h = sigmoid(x) * tanh(c). */
START_TEST(lstm_by_hand)
{
    struct onnxq_rnn_cfg cfg = {.kind = ONNXQ_RNN_LSTM, .hidden = 1};
    cfg.act[0].kind = ONNXQ_ACT_SIGMOID;
    cfg.act[1].kind = ONNXQ_ACT_TANH;
    cfg.act[2].kind = ONNXQ_ACT_TANH;
    float x = 0.5f, w[4] = {1, 1, 1, 1}, r[4] = {1, 1, 1, 1}, y, yh, yc;
    for (int ref = 0; ref < 2; ref++) {
        struct onnxq_rnn_io io = {.T = 1, .N = 1, .NI = 1, .x = &x, .w = w, .r = r, .y = &y, .yh = &yh, .yc = &yc};
        ck_assert(onnxq_rnn_layer(&cfg, &io, ref));
        double s = 1.0 / (1.0 + exp(-0.5)), c = s * tanh(0.5), h = s * tanh(c);
        ck_assert_double_eq_tol(yc, c, 1e-6);
        ck_assert_double_eq_tol(yh, h, 1e-6);
        ck_assert_double_eq_tol(y, h, 1e-6);
    }
}
END_TEST

/* ------------------------------------------------------- in-memory graphs */

static void node_graph(struct onnxq_node *n, const char *name, struct onnxq_graph *sub)
{
    n->attrs = realloc(n->attrs, (n->n_attrs + 1) * sizeof(*n->attrs));
    struct onnxq_attr *a = &n->attrs[n->n_attrs++];
    memset(a, 0, sizeof(*a));
    a->name = onnxq_strdup(name);
    a->has_type = true;
    a->type = ONNXQ_ATTR_GRAPH;
    a->g = sub;
}

static struct onnxq_tensor tensor_scalar(enum onnxq_dtype dt, int64_t v)
{
    struct onnxq_tensor t;
    struct onnxq_error err;
    ck_assert_int_eq(onnxq_tensor_alloc(&t, dt, 0, NULL, &err), ONNXQ_OK);
    onnxq_tensor_set_f64(&t, 0, (double)v);
    return t;
}

static void expect_f32(const struct onnxq_tensor *t, int ndim, const int64_t *dims, const float *want)
{
    char a[200], b[200];
    onnxq_shape_format(t->dims, t->ndim, a, sizeof(a));
    onnxq_shape_format(dims, ndim, b, sizeof(b));
    ck_assert_msg(t->dtype == ONNXQ_DT_FLOAT, "dtype %s", onnxq_dtype_name(t->dtype));
    ck_assert_msg(strcmp(a, b) == 0, "shape %s, expected %s", a, b);
    int64_t n = onnxq_tensor_numel(t);
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(fabsf(((const float *)t->data)[i] - want[i]) <= 1e-6f, "element %lld is %g, expected %g",
                      (long long)i, (double)((const float *)t->data)[i], (double)want[i]);
}

static void run_or_die(struct onnxq_exec *e, const struct onnxq_tensor *const *in, struct onnxq_tensor *out)
{
    struct onnxq_error err;
    enum onnxq_status st = onnxq_exec_run(e, in, out, &err);
    if (st)
        ck_abort_msg("run failed: %s", err.message);
}

/* y = If(c){ t1 = a + b; If(c){ t1 + a }{ Relu(t1) } }{ Relu(a) }, z = y + b.
 * The inner branches read t1 (one scope up) and a (two scopes up). */
START_TEST(if_nested_outer_scope)
{
    struct onnxq_graph *g = onnxq_graph_new();
    ot_graph_input(g, "a", ONNXQ_DT_FLOAT);
    ot_graph_input(g, "b", ONNXQ_DT_FLOAT);
    ot_graph_input(g, "c", ONNXQ_DT_BOOL);
    int64_t d2[1] = {2};
    ot_graph_output(g, "y", ONNXQ_DT_FLOAT, 1, d2);
    ot_graph_output(g, "z", ONNXQ_DT_FLOAT, 1, d2);

    struct onnxq_graph *inner_then = onnxq_graph_new(), *inner_else = onnxq_graph_new();
    ot_graph_node(inner_then, "Add", 2, (const char *[]){"t1", "a"}, 1, (const char *[]){"it"});
    ot_graph_output(inner_then, "it", ONNXQ_DT_FLOAT, -1, NULL);
    ot_graph_node(inner_else, "Relu", 1, (const char *[]){"t1"}, 1, (const char *[]){"ie"});
    ot_graph_output(inner_else, "ie", ONNXQ_DT_FLOAT, -1, NULL);

    struct onnxq_graph *then_g = onnxq_graph_new(), *else_g = onnxq_graph_new();
    ot_graph_node(then_g, "Add", 2, (const char *[]){"a", "b"}, 1, (const char *[]){"t1"});
    struct onnxq_node *inner = ot_graph_node(then_g, "If", 1, (const char *[]){"c"}, 1, (const char *[]){"t2"});
    node_graph(inner, "then_branch", inner_then);
    node_graph(inner, "else_branch", inner_else);
    ot_graph_output(then_g, "t2", ONNXQ_DT_FLOAT, -1, NULL);
    ot_graph_node(else_g, "Relu", 1, (const char *[]){"a"}, 1, (const char *[]){"e1"});
    ot_graph_output(else_g, "e1", ONNXQ_DT_FLOAT, -1, NULL);

    struct onnxq_node *n = ot_graph_node(g, "If", 1, (const char *[]){"c"}, 1, (const char *[]){"y"});
    node_graph(n, "then_branch", then_g);
    node_graph(n, "else_branch", else_g);
    ot_graph_node(g, "Add", 2, (const char *[]){"y", "b"}, 1, (const char *[]){"z"});
    struct onnxq_model *m = ot_model(tu_ctx, g, 13);

    struct onnxq_exec *e;
    struct onnxq_error err;
    if (onnxq_exec_new(tu_ctx, m, &e, &err))
        ck_abort_msg("prepare: %s", err.message);
    float av[2] = {-1.0f, 2.0f}, bv[2] = {0.5f, 0.25f};
    struct onnxq_tensor a = ot_f32(1, d2, av), b = ot_f32(1, d2, bv);
    for (int rep = 0; rep < 2; rep++) {
        for (int cv = 0; cv < 2; cv++) {
            struct onnxq_tensor c = tensor_scalar(ONNXQ_DT_BOOL, cv);
            const struct onnxq_tensor *in[3] = {&a, &b, &c};
            struct onnxq_tensor out[2];
            memset(out, 0, sizeof(out));
            run_or_die(e, in, out);
            float y[2], z[2];
            for (int i = 0; i < 2; i++) {
                y[i] = cv ? (av[i] + bv[i]) + av[i] : (av[i] > 0 ? av[i] : 0.0f);
                z[i] = y[i] + bv[i];
            }
            expect_f32(&out[0], 1, d2, y);
            expect_f32(&out[1], 1, d2, z);
            onnxq_tensor_clear(&out[0]);
            onnxq_tensor_clear(&out[1]);
            onnxq_tensor_clear(&c);
        }
    }
    onnxq_tensor_clear(&a);
    onnxq_tensor_clear(&b);
    onnxq_exec_free(e);
    onnxq_model_destroy(m);
}
END_TEST

/* Branch outputs that are not computed in the branch: an outer value, a
 * branch initializer, and the same value twice. */
START_TEST(if_passthrough_outputs)
{
    int64_t d2[1] = {2};
    struct onnxq_graph *g = onnxq_graph_new();
    ot_graph_input(g, "a", ONNXQ_DT_FLOAT);
    ot_graph_input(g, "c", ONNXQ_DT_BOOL);
    ot_graph_output(g, "y", ONNXQ_DT_FLOAT, -1, NULL);
    ot_graph_output(g, "z", ONNXQ_DT_FLOAT, -1, NULL);
    struct onnxq_graph *bt = onnxq_graph_new(), *be = onnxq_graph_new();
    ot_graph_output(bt, "a", ONNXQ_DT_FLOAT, -1, NULL);
    ot_graph_node(bt, "Relu", 1, (const char *[]){"a"}, 1, (const char *[]){"ra"});
    ot_graph_output(bt, "ra", ONNXQ_DT_FLOAT, -1, NULL);
    struct onnxq_constant *k = calloc(1, sizeof(*k));
    float kv[2] = {3.0f, -4.0f};
    k->name = onnxq_strdup("k");
    k->value = ot_f32(1, d2, kv);
    ck_assert(onnxq_graph_add_init(be, k));
    ot_graph_output(be, "k", ONNXQ_DT_FLOAT, -1, NULL);
    ot_graph_output(be, "k", ONNXQ_DT_FLOAT, -1, NULL);
    struct onnxq_node *n = ot_graph_node(g, "If", 1, (const char *[]){"c"}, 2, (const char *[]){"y", "z"});
    node_graph(n, "then_branch", bt);
    node_graph(n, "else_branch", be);
    struct onnxq_model *m = ot_model(tu_ctx, g, 13);
    struct onnxq_exec *e;
    struct onnxq_error err;
    if (onnxq_exec_new(tu_ctx, m, &e, &err))
        ck_abort_msg("prepare: %s", err.message);
    float av[2] = {-1.0f, 2.0f}, rv[2] = {0.0f, 2.0f};
    struct onnxq_tensor a = ot_f32(1, d2, av);
    for (int cv = 0; cv < 2; cv++) {
        struct onnxq_tensor c = tensor_scalar(ONNXQ_DT_BOOL, cv);
        const struct onnxq_tensor *in[2] = {&a, &c};
        struct onnxq_tensor out[2];
        memset(out, 0, sizeof(out));
        run_or_die(e, in, out);
        expect_f32(&out[0], 1, d2, cv ? av : kv);
        expect_f32(&out[1], 1, d2, cv ? rv : kv);
        onnxq_tensor_clear(&out[0]);
        onnxq_tensor_clear(&out[1]);
        onnxq_tensor_clear(&c);
    }
    onnxq_tensor_clear(&a);
    onnxq_exec_free(e);
    onnxq_model_destroy(m);
}
END_TEST

/* (xf, scan) = Loop(M, cond, x0) { xo = xin + k; so = Relu(xo);
 *   inner If(cin){ xo + k }{ xo } -> xi (reads a body value and k, two
 *   scopes up); outputs cin, xi, so }.
 * With cond true the inner If adds k again: x_{i+1} = x_i + 2k. */
static struct onnxq_model *loop_model(bool with_m, bool with_cond)
{
    struct onnxq_graph *g = onnxq_graph_new();
    ot_graph_input(g, "M", ONNXQ_DT_INT64);
    ot_graph_input(g, "cond", ONNXQ_DT_BOOL);
    ot_graph_input(g, "x0", ONNXQ_DT_FLOAT);
    ot_graph_input(g, "k", ONNXQ_DT_FLOAT);
    ot_graph_output(g, "xf", ONNXQ_DT_FLOAT, -1, NULL);
    ot_graph_output(g, "scan", ONNXQ_DT_FLOAT, -1, NULL);

    struct onnxq_graph *body = onnxq_graph_new();
    ot_graph_input(body, "iter", ONNXQ_DT_INT64);
    ot_graph_input(body, "cin", ONNXQ_DT_BOOL);
    ot_graph_input(body, "xin", ONNXQ_DT_FLOAT);
    ot_graph_node(body, "Add", 2, (const char *[]){"xin", "k"}, 1, (const char *[]){"xo"});
    ot_graph_node(body, "Relu", 1, (const char *[]){"xo"}, 1, (const char *[]){"so"});
    struct onnxq_graph *bt = onnxq_graph_new(), *be = onnxq_graph_new();
    ot_graph_node(bt, "Add", 2, (const char *[]){"xo", "k"}, 1, (const char *[]){"bt_out"});
    ot_graph_output(bt, "bt_out", ONNXQ_DT_FLOAT, -1, NULL);
    ot_graph_node(be, "Relu", 1, (const char *[]){"so"}, 1, (const char *[]){"be_out"});
    ot_graph_output(be, "be_out", ONNXQ_DT_FLOAT, -1, NULL);
    struct onnxq_node *inner = ot_graph_node(body, "If", 1, (const char *[]){"cin"}, 1, (const char *[]){"xi"});
    node_graph(inner, "then_branch", bt);
    node_graph(inner, "else_branch", be);
    int64_t d3[1] = {3};
    ot_graph_output(body, "cin", ONNXQ_DT_BOOL, 0, NULL);
    ot_graph_output(body, "xi", ONNXQ_DT_FLOAT, -1, NULL);
    ot_graph_output(body, "so", ONNXQ_DT_FLOAT, 1, d3);

    struct onnxq_node *n =
        ot_graph_node(g, "Loop", 3, (const char *[]){with_m ? "M" : "", with_cond ? "cond" : "", "x0"}, 2,
                      (const char *[]){"xf", "scan"});
    node_graph(n, "body", body);
    return ot_model(tu_ctx, g, 13);
}

static void loop_case(struct onnxq_exec *e, int64_t M, bool cond, bool with_m, bool with_cond)
{
    int64_t d3[1] = {3};
    float x0v[3] = {1.0f, -2.0f, 0.5f}, kv[3] = {0.25f, 0.5f, -1.0f};
    struct onnxq_tensor mt = tensor_scalar(ONNXQ_DT_INT64, M), ct = tensor_scalar(ONNXQ_DT_BOOL, cond);
    struct onnxq_tensor x0 = ot_f32(1, d3, x0v), k = ot_f32(1, d3, kv);
    const struct onnxq_tensor *in[4] = {&mt, &ct, &x0, &k};
    struct onnxq_tensor out[2];
    memset(out, 0, sizeof(out));
    run_or_die(e, in, out);
    int64_t iters = (!with_m || !with_cond) ? M : (cond ? M : 0);
    if (!with_m)
        iters = 0;
    float x[3], scan[64 * 3];
    memcpy(x, x0v, sizeof(x));
    bool c = with_cond ? cond : true;
    for (int64_t i = 0; i < iters; i++) {
        for (int j = 0; j < 3; j++) {
            float xo = x[j] + kv[j];
            scan[i * 3 + j] = xo > 0 ? xo : 0.0f;
            x[j] = c ? xo + kv[j] : scan[i * 3 + j];
        }
    }
    expect_f32(&out[0], 1, d3, x);
    int64_t sd[2] = {iters, 3};
    expect_f32(&out[1], 2, sd, scan);
    onnxq_tensor_clear(&out[0]);
    onnxq_tensor_clear(&out[1]);
    onnxq_tensor_clear(&mt);
    onnxq_tensor_clear(&ct);
    onnxq_tensor_clear(&x0);
    onnxq_tensor_clear(&k);
}

START_TEST(loop_scan_nested_if)
{
    for (int v = 0; v < 2; v++) {
        bool with_cond = v == 1;
        struct onnxq_model *m = loop_model(true, with_cond);
        struct onnxq_exec *e;
        struct onnxq_error err;
        if (onnxq_exec_new(tu_ctx, m, &e, &err))
            ck_abort_msg("prepare: %s", err.message);
        loop_case(e, 4, true, true, with_cond);
        loop_case(e, 0, true, true, with_cond);   /* zero trips: xf = x0, scan [0,3] */
        loop_case(e, 5, false, true, with_cond);  /* cond false: no trip when cond is wired */
        loop_case(e, 7, true, true, with_cond);
        onnxq_exec_free(e);
        onnxq_model_destroy(m);
    }
}
END_TEST

/* LSTM inside an If branch, reading X/W/R from the outer graph, equals the
 * same LSTM at the top level. */
START_TEST(lstm_in_if_branch)
{
    struct onnxq_graph *g = onnxq_graph_new();
    ot_graph_input(g, "X", ONNXQ_DT_FLOAT);
    ot_graph_input(g, "W", ONNXQ_DT_FLOAT);
    ot_graph_input(g, "R", ONNXQ_DT_FLOAT);
    ot_graph_input(g, "c", ONNXQ_DT_BOOL);
    ot_graph_output(g, "Y1", ONNXQ_DT_FLOAT, -1, NULL);
    ot_graph_output(g, "Y2", ONNXQ_DT_FLOAT, -1, NULL);
    ot_graph_output(g, "H2", ONNXQ_DT_FLOAT, -1, NULL);
    struct onnxq_node *top = ot_graph_node(g, "LSTM", 3, (const char *[]){"X", "W", "R"}, 1, (const char *[]){"Y1"});
    ck_assert(onnxq_node_set_int(top, "hidden_size", 4));
    struct onnxq_graph *bt = onnxq_graph_new(), *be = onnxq_graph_new();
    struct onnxq_node *l =
        ot_graph_node(bt, "LSTM", 3, (const char *[]){"X", "W", "R"}, 3, (const char *[]){"y", "h", ""});
    ck_assert(onnxq_node_set_int(l, "hidden_size", 4));
    ot_graph_output(bt, "y", ONNXQ_DT_FLOAT, -1, NULL);
    ot_graph_output(bt, "h", ONNXQ_DT_FLOAT, -1, NULL);
    ot_graph_node(be, "Relu", 1, (const char *[]){"X"}, 1, (const char *[]){"ey"});
    ot_graph_node(be, "Relu", 1, (const char *[]){"W"}, 1, (const char *[]){"eh"});
    ot_graph_output(be, "ey", ONNXQ_DT_FLOAT, -1, NULL);
    ot_graph_output(be, "eh", ONNXQ_DT_FLOAT, -1, NULL);
    struct onnxq_node *n = ot_graph_node(g, "If", 1, (const char *[]){"c"}, 2, (const char *[]){"Y2", "H2"});
    node_graph(n, "then_branch", bt);
    node_graph(n, "else_branch", be);
    struct onnxq_model *m = ot_model(tu_ctx, g, 14);
    struct onnxq_exec *e;
    struct onnxq_error err;
    if (onnxq_exec_new(tu_ctx, m, &e, &err))
        ck_abort_msg("prepare: %s", err.message);
    uint64_t seed = 42;
    int64_t xd[3] = {3, 2, 5}, wd[3] = {1, 16, 5}, rd[3] = {1, 16, 4};
    float *xv = tu_rand_buf(&seed, 30, 1.0f), *wv = tu_rand_buf(&seed, 80, 0.5f), *rv = tu_rand_buf(&seed, 64, 0.5f);
    struct onnxq_tensor x = ot_f32(3, xd, xv), w = ot_f32(3, wd, wv), r = ot_f32(3, rd, rv);
    struct onnxq_tensor c = tensor_scalar(ONNXQ_DT_BOOL, 1);
    const struct onnxq_tensor *in[4] = {&x, &w, &r, &c};
    struct onnxq_tensor out[3];
    memset(out, 0, sizeof(out));
    run_or_die(e, in, out);
    int64_t yd[4] = {3, 1, 2, 4}, hd[3] = {1, 2, 4};
    expect_f32(&out[1], 4, yd, out[0].data);
    expect_f32(&out[2], 3, hd, (const float *)out[0].data + 2 * 1 * 2 * 4);
    for (int i = 0; i < 3; i++)
        onnxq_tensor_clear(&out[i]);
    onnxq_tensor_clear(&x), onnxq_tensor_clear(&w), onnxq_tensor_clear(&r), onnxq_tensor_clear(&c);
    free(xv), free(wv), free(rv);
    onnxq_exec_free(e);
    onnxq_model_destroy(m);
}
END_TEST

/* The LSTM op with layout = 1, bidirectional, sequence_lens, initial
 * state and peepholes against the reference on time-major data. */
START_TEST(lstm_op_layout1)
{
    const int64_t T = 4, N = 3, NI = 5, H = 6, D = 2, G = 4;
    struct onnxq_graph *g = onnxq_graph_new();
    const char *ins[8] = {"X", "W", "R", "B", "L", "H0", "C0", "P"};
    ot_graph_input(g, "X", ONNXQ_DT_FLOAT);
    ot_graph_input(g, "W", ONNXQ_DT_FLOAT);
    ot_graph_input(g, "R", ONNXQ_DT_FLOAT);
    ot_graph_input(g, "B", ONNXQ_DT_FLOAT);
    ot_graph_input(g, "L", ONNXQ_DT_INT32);
    ot_graph_input(g, "H0", ONNXQ_DT_FLOAT);
    ot_graph_input(g, "C0", ONNXQ_DT_FLOAT);
    ot_graph_input(g, "P", ONNXQ_DT_FLOAT);
    ot_graph_output(g, "Y", ONNXQ_DT_FLOAT, -1, NULL);
    ot_graph_output(g, "Yh", ONNXQ_DT_FLOAT, -1, NULL);
    ot_graph_output(g, "Yc", ONNXQ_DT_FLOAT, -1, NULL);
    struct onnxq_node *n = ot_graph_node(g, "LSTM", 8, ins, 3, (const char *[]){"Y", "Yh", "Yc"});
    ck_assert(onnxq_node_set_int(n, "hidden_size", H));
    ck_assert(onnxq_node_set_int(n, "layout", 1));
    ck_assert(onnxq_node_set_string(n, "direction", "bidirectional"));
    struct onnxq_model *m = ot_model(tu_ctx, g, 14);
    struct onnxq_exec *e;
    struct onnxq_error err;
    if (onnxq_exec_new(tu_ctx, m, &e, &err))
        ck_abort_msg("prepare: %s", err.message);

    uint64_t seed = 7;
    float *x1 = tu_rand_buf(&seed, (size_t)(N * T * NI), 1.0f);
    float *w = tu_rand_buf(&seed, (size_t)(D * G * H * NI), 0.5f),
          *r = tu_rand_buf(&seed, (size_t)(D * G * H * H), 0.5f);
    float *b = tu_rand_buf(&seed, (size_t)(D * 2 * G * H), 0.5f), *p = tu_rand_buf(&seed, (size_t)(D * 3 * H), 0.5f);
    float *h01 = tu_rand_buf(&seed, (size_t)(N * D * H), 0.5f), *c01 = tu_rand_buf(&seed, (size_t)(N * D * H), 0.5f);
    int32_t lens[3] = {4, 2, 3};
    int64_t xd[3] = {N, T, NI}, wd[3] = {D, G * H, NI}, rd[3] = {D, G * H, H}, bd[2] = {D, 2 * G * H};
    int64_t ld[1] = {N}, hd[3] = {N, D, H}, pd[2] = {D, 3 * H};
    struct onnxq_tensor tx = ot_f32(3, xd, x1), tw = ot_f32(3, wd, w), tr = ot_f32(3, rd, r);
    struct onnxq_tensor tb = ot_f32(2, bd, b), th = ot_f32(3, hd, h01), tc = ot_f32(3, hd, c01);
    struct onnxq_tensor tp = ot_f32(2, pd, p), tl;
    ck_assert_int_eq(onnxq_tensor_alloc(&tl, ONNXQ_DT_INT32, 1, ld, &err), ONNXQ_OK);
    memcpy(tl.data, lens, sizeof(lens));
    const struct onnxq_tensor *in[8] = {&tx, &tw, &tr, &tb, &tl, &th, &tc, &tp};
    struct onnxq_tensor out[3];
    memset(out, 0, sizeof(out));
    run_or_die(e, in, out);

    /* reference in time-major layout */
    float *x0 = malloc((size_t)(T * N * NI) * sizeof(float));
    float *h00 = malloc((size_t)(D * N * H) * sizeof(float)), *c00 = malloc((size_t)(D * N * H) * sizeof(float));
    for (int64_t bb = 0; bb < N; bb++)
        for (int64_t t = 0; t < T; t++)
            memcpy(x0 + (t * N + bb) * NI, x1 + (bb * T + t) * NI, (size_t)NI * sizeof(float));
    for (int64_t bb = 0; bb < N; bb++)
        for (int64_t d = 0; d < D; d++) {
            memcpy(h00 + (d * N + bb) * H, h01 + (bb * D + d) * H, (size_t)H * sizeof(float));
            memcpy(c00 + (d * N + bb) * H, c01 + (bb * D + d) * H, (size_t)H * sizeof(float));
        }
    struct onnxq_rnn_cfg cfg = {.kind = ONNXQ_RNN_LSTM, .direction = ONNXQ_RNN_BIDIRECTIONAL, .hidden = H};
    for (int i = 0; i < 6; i++)
        cfg.act[i].kind = i % 3 == 0 ? ONNXQ_ACT_SIGMOID : ONNXQ_ACT_TANH;
    float *y = malloc((size_t)(T * D * N * H) * sizeof(float));
    float *yh = malloc((size_t)(D * N * H) * sizeof(float)), *yc = malloc((size_t)(D * N * H) * sizeof(float));
    struct onnxq_rnn_io io = {.T = T, .N = N, .NI = NI, .x = x0, .w = w, .r = r, .b = b, .p = p, .seq_lens = lens,
                              .h0 = h00, .c0 = c00, .y = y, .yh = yh, .yc = yc};
    ck_assert(onnxq_rnn_layer(&cfg, &io, true));
    /* bring the reference to batch-first and compare */
    float *y1 = malloc((size_t)(T * D * N * H) * sizeof(float));
    float *yh1 = malloc((size_t)(D * N * H) * sizeof(float)), *yc1 = malloc((size_t)(D * N * H) * sizeof(float));
    for (int64_t t = 0; t < T; t++)
        for (int64_t d = 0; d < D; d++)
            for (int64_t bb = 0; bb < N; bb++)
                memcpy(y1 + ((bb * T + t) * D + d) * H, y + ((t * D + d) * N + bb) * H, (size_t)H * sizeof(float));
    for (int64_t d = 0; d < D; d++)
        for (int64_t bb = 0; bb < N; bb++) {
            memcpy(yh1 + (bb * D + d) * H, yh + (d * N + bb) * H, (size_t)H * sizeof(float));
            memcpy(yc1 + (bb * D + d) * H, yc + (d * N + bb) * H, (size_t)H * sizeof(float));
        }
    int64_t yd[4] = {N, T, D, H};
    ck_assert_int_eq(out[0].ndim, 4);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(out[0].dims[i], yd[i]);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(out[1].dims[i], hd[i]);
    compare_f32("layout 1 Y", out[0].data, y1, (size_t)(T * D * N * H));
    compare_f32("layout 1 Y_h", out[1].data, yh1, (size_t)(D * N * H));
    compare_f32("layout 1 Y_c", out[2].data, yc1, (size_t)(D * N * H));
    for (int i = 0; i < 3; i++)
        onnxq_tensor_clear(&out[i]);
    struct onnxq_tensor *ts[8] = {&tx, &tw, &tr, &tb, &tl, &th, &tc, &tp};
    for (int i = 0; i < 8; i++)
        onnxq_tensor_clear(ts[i]);
    free(x1), free(w), free(r), free(b), free(p), free(h01), free(c01), free(x0), free(h00), free(c00);
    free(y), free(yh), free(yc), free(y1), free(yh1), free(yc1);
    onnxq_exec_free(e);
    onnxq_model_destroy(m);
}
END_TEST

/* -------------------------------------------------------------------- qdq */

static const enum onnxq_dtype qtypes[4] = {ONNXQ_DT_UINT8, ONNXQ_DT_INT8, ONNXQ_DT_UINT16, ONNXQ_DT_INT16};

START_TEST(quantize_fast_matches_reference)
{
    uint64_t seed = 1234;
    struct onnxq_threadpool *pool = NULL;
    struct onnxq_error err;
    int64_t xd[3] = {3, 5, 7777};  /* big enough to split into chunks */
    struct onnxq_tensor x;
    ck_assert_int_eq(onnxq_tensor_alloc(&x, ONNXQ_DT_FLOAT, 3, xd, &err), ONNXQ_OK);
    float *px = x.data;
    size_t n = (size_t)onnxq_tensor_numel(&x);
    for (size_t i = 0; i < n; i++) {
        switch (i % 11) {
        case 0: px[i] = (float)((int)(tu_rng_next(&seed) % 600) - 300) * 0.5f; break;  /* exact ties */
        case 1: px[i] = 1e6f * tu_frand(&seed); break;
        case 2: px[i] = (i / 11) % 3 == 0 ? NAN : (i / 11) % 3 == 1 ? INFINITY : -INFINITY; break;
        default: px[i] = 40.0f * tu_frand(&seed); break;
        }
    }
    for (int qt = 0; qt < 4; qt++) {
        for (int per_axis = 0; per_axis < 2; per_axis++) {
            int64_t sn = per_axis ? 5 : 1;
            struct onnxq_tensor sc, zp, y[2];
            ck_assert_int_eq(onnxq_tensor_alloc(&sc, ONNXQ_DT_FLOAT, per_axis, &sn, &err), ONNXQ_OK);
            ck_assert_int_eq(onnxq_tensor_alloc(&zp, qtypes[qt], per_axis, &sn, &err), ONNXQ_OK);
            for (int64_t i = 0; i < sn; i++) {
                ((float *)sc.data)[i] = i == 0 ? 0.5f : 0.01f + 0.37f * (float)i;
                onnxq_tensor_set_f64(&zp, (size_t)i, qt % 2 ? -3.0 * (double)i : 7.0 * (double)i + 1);
            }
            struct onnxq_qparams q = {.scale = &sc, .zero_point = &zp, .axis = 1};
            for (int k = 0; k < 2; k++) {
                ck_assert_int_eq(onnxq_tensor_alloc(&y[k], qtypes[qt], 3, xd, &err), ONNXQ_OK);
                onnxq_quantize_linear(pool, &x, &q, &y[k], k == 1);
            }
            size_t esz = onnxq_dtype_size(qtypes[qt]);
            for (size_t i = 0; i < n; i++)
                if (memcmp((uint8_t *)y[0].data + i * esz, (uint8_t *)y[1].data + i * esz, esz) != 0)
                    ck_abort_msg("%s per_axis %d: element %zu (x = %.9g): fast %g, reference %g (tolerance %d)",
                                 onnxq_dtype_name(qtypes[qt]), per_axis, i, (double)px[i],
                                 onnxq_tensor_get_f64(&y[0], i), onnxq_tensor_get_f64(&y[1], i), QDQ_TOL);
            /* and back: DQ fast vs reference */
            struct onnxq_tensor d[2];
            for (int k = 0; k < 2; k++) {
                ck_assert_int_eq(onnxq_tensor_alloc(&d[k], ONNXQ_DT_FLOAT, 3, xd, &err), ONNXQ_OK);
                onnxq_dequantize_linear(pool, &y[0], &q, &d[k], k == 1);
            }
            ck_assert_msg(memcmp(d[0].data, d[1].data, d[0].nbytes) == 0, "DQ fast differs from reference (%s)",
                          onnxq_dtype_name(qtypes[qt]));
            for (int k = 0; k < 2; k++) {
                onnxq_tensor_clear(&y[k]);
                onnxq_tensor_clear(&d[k]);
            }
            onnxq_tensor_clear(&sc);
            onnxq_tensor_clear(&zp);
        }
    }
    onnxq_tensor_clear(&x);
}
END_TEST

START_TEST(quantize_rounding_by_hand)
{
    struct onnxq_error err;
    float xv[] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 3.49f, 1000.0f, -1000.0f, NAN, 254.5f, 255.5f, -128.5f};
    int64_t n = sizeof(xv) / sizeof(xv[0]);
    /* scale 1: uint8 zp 0 / int8 zp 0 */
    static const double want_u8[] = {0, 2, 2, 0, 0, 0, 3, 255, 0, 0, 254, 255, 0};
    static const double want_i8[] = {0, 2, 2, 0, -2, -2, 3, 127, -128, -128, 127, 127, -128};
    struct onnxq_tensor x = ot_f32(1, &n, xv);
    float one = 1.0f;
    struct onnxq_tensor sc = {.dtype = ONNXQ_DT_FLOAT, .ndim = 0, .data = &one, .nbytes = 4};
    for (int k = 0; k < 2; k++) {
        for (int ref = 0; ref < 2; ref++) {
            struct onnxq_tensor y;
            ck_assert_int_eq(onnxq_tensor_alloc(&y, k ? ONNXQ_DT_INT8 : ONNXQ_DT_UINT8, 1, &n, &err), ONNXQ_OK);
            struct onnxq_qparams q = {.scale = &sc};
            onnxq_quantize_linear(NULL, &x, &q, &y, ref);
            for (int64_t i = 0; i < n; i++)
                ck_assert_msg(onnxq_tensor_get_f64(&y, (size_t)i) == (k ? want_i8 : want_u8)[i],
                              "%s ref %d: x = %g gave %g, expected %g", k ? "int8" : "uint8", ref, (double)xv[i],
                              onnxq_tensor_get_f64(&y, (size_t)i), (k ? want_i8 : want_u8)[i]);
            onnxq_tensor_clear(&y);
        }
    }
    onnxq_tensor_clear(&x);
}
END_TEST

/* ----------------------------------------------------------------- silero */

/* Returns false (and says why) when the model uses ops not written yet. */
static bool silero_run(const char *file, bool legacy)
{
    const char *dir = tu_env_dir("ONNXQ_MODELS");
    if (!dir)
        return false;
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("silero: %s not present, skipped\n", path);
        return false;
    }
    fclose(f);
    struct onnxq_model *m;
    struct onnxq_error err;
    ck_assert_int_eq(onnxq_model_load(tu_ctx, path, &m, &err), ONNXQ_OK);
    struct onnxq_exec *e;
    enum onnxq_status st = onnxq_exec_new(tu_ctx, m, &e, &err);
    if (st == ONNXQ_E_UNSUPPORTED) {
        printf("silero: %s skipped: %s\n", file, err.message);
        onnxq_model_free(m);
        return false;
    }
    if (st)
        ck_abort_msg("prepare %s: %s", file, err.message);
    int64_t in_d[2] = {1, 512}, st_d[3] = {2, 1, legacy ? 64 : 128};
    struct onnxq_tensor input, state, state_c, sr = tensor_scalar(ONNXQ_DT_INT64, 16000);
    ck_assert_int_eq(onnxq_tensor_alloc(&input, ONNXQ_DT_FLOAT, 2, in_d, &err), ONNXQ_OK);
    ck_assert_int_eq(onnxq_tensor_alloc(&state, ONNXQ_DT_FLOAT, 3, st_d, &err), ONNXQ_OK);
    ck_assert_int_eq(onnxq_tensor_alloc(&state_c, ONNXQ_DT_FLOAT, 3, st_d, &err), ONNXQ_OK);
    for (int i = 0; i < 512; i++)  /* a quiet 440 Hz tone */
        ((float *)input.data)[i] = 0.05f * sinf(2.0f * 3.14159265f * 440.0f * (float)i / 16000.0f);
    size_t nin = onnxq_exec_n_inputs(e), nout = onnxq_exec_n_outputs(e);
    const struct onnxq_tensor *in[4];
    for (size_t i = 0; i < nin && i < 4; i++) {
        const char *nm = onnxq_exec_input(e, i)->name;
        in[i] = strcmp(nm, "input") == 0 ? &input
                : strcmp(nm, "sr") == 0  ? &sr
                : strcmp(nm, "c") == 0   ? &state_c
                                         : &state;
    }
    struct onnxq_tensor out[3];
    memset(out, 0, sizeof(out));
    ck_assert_uint_le(nout, 3);
    for (int frame = 0; frame < 3; frame++) {
        st = onnxq_exec_run(e, in, out, &err);
        if (st)
            ck_abort_msg("run %s: %s", file, err.message);
        ck_assert_int_eq(out[0].dtype, ONNXQ_DT_FLOAT);
        float p = ((const float *)out[0].data)[0];
        printf("silero: %s frame %d: output %.6f\n", file, frame, (double)p);
        ck_assert(p >= 0.0f && p <= 1.0f);
        ck_assert_int_eq(out[1].ndim, 3);
        /* feed the state back */
        memcpy(state.data, out[1].data, state.nbytes);
        if (legacy)
            memcpy(state_c.data, out[2].data, state_c.nbytes);
        for (size_t i = 0; i < nout; i++)
            onnxq_tensor_clear(&out[i]);
    }
    onnxq_tensor_clear(&input);
    onnxq_tensor_clear(&state);
    onnxq_tensor_clear(&state_c);
    onnxq_tensor_clear(&sr);
    onnxq_exec_free(e);
    onnxq_model_free(m);
    return true;
}

START_TEST(silero_end_to_end)
{
    silero_run("silero_vad_v5.onnx", false);
    silero_run("silero_vad_legacy.onnx", true);
}
END_TEST

static Suite *rnn_suite(void)
{
    Suite *s = suite_create("rnn");
    TCase *tc = tcase_create("rnn");
    tcase_add_checked_fixture(tc, tu_setup_ctx, tu_teardown_ctx);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, rnn_blas_matches_reference);
    tcase_add_test(tc, lstm_by_hand);
    tcase_add_test(tc, lstm_op_layout1);
    tcase_add_test(tc, if_nested_outer_scope);
    tcase_add_test(tc, if_passthrough_outputs);
    tcase_add_test(tc, loop_scan_nested_if);
    tcase_add_test(tc, lstm_in_if_branch);
    tcase_add_test(tc, quantize_fast_matches_reference);
    tcase_add_test(tc, quantize_rounding_by_hand);
    tcase_add_test(tc, silero_end_to_end);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(rnn_suite());
}
