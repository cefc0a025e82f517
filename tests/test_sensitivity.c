/* Sensitivity analysis and the --max-loss search (eval/sensitivity.h) on a
 * small model built here, whose one sensitive node is known by design:
 *
 *   x[1,4,16,16] -> conv1 (3x3) -> relu1 -> conv2 (3x3) -> tanh -> conv3 (3x3) -> y
 *
 * conv2's channel 0 has bias 200 while every other activation is O(1), so
 * the uint8 range of conv2's output is ~0.8 per step: quantizing that
 * tensor wipes out the other channels. conv2's output is read only by the
 * float Tanh, so no other group quantizes that tensor: conv2 alone is the
 * sensitive group, and keeping exactly conv2 float recovers the output.
 * The SQNR of the chosen variant is recomputed here independently of
 * eval/metrics.c. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "calibration/observer.h"
#include "calibration/table.h"
#include "eval/sensitivity.h"
#include "exec/exec.h"
#include "io/npy.h"
#include "ir/graph_util.h"
#include "quant/quantize.h"
#include "optest.h"
#include "testutil.h"

#define N_SAMPLES 8

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

static struct onnxq_constant *init_rand(const char *name, int ndim, const int64_t *dims, float scale, uint64_t *rs)
{
    struct onnxq_constant *c = calloc(1, sizeof(*c));
    c->name = strdup(name);
    ck_assert_int_eq(onnxq_tensor_alloc(&c->value, ONNXQ_DT_FLOAT, ndim, dims, NULL), ONNXQ_OK);
    float *d = c->value.data;
    for (int64_t i = 0; i < onnxq_tensor_numel(&c->value); i++)
        d[i] = tu_frand(rs) * scale;
    return c;
}

/* act1: the op after conv1 ("Relu", folded into conv1; or "Sigmoid", a
 * quantizable op of its own) */
static struct onnxq_model *make_model(const char *act1)
{
    uint64_t rs = 7;
    struct onnxq_model *m = calloc(1, sizeof(*m));
    m->ctx = ctx;
    m->has_ir_version = true;
    m->ir_version = 8;
    m->n_opsets = 1;
    m->opsets = calloc(1, sizeof(*m->opsets));
    m->opsets[0].domain = strdup("");
    m->opsets[0].has_version = true;
    m->opsets[0].version = 13;
    m->path = strdup("sens.onnx");
    struct onnxq_graph *g = onnxq_graph_new();
    m->graph = g;
    g->name = strdup("g");
    int64_t xd[4] = {1, 4, 16, 16}, yd[4] = {1, 8, 16, 16};
    int64_t w1d[4] = {8, 4, 3, 3}, wd[4] = {8, 8, 3, 3}, bd[1] = {8};
    g->n_inputs = 1;
    g->inputs = calloc(1, sizeof(*g->inputs));
    ot_value_info(&g->inputs[0], "x", ONNXQ_DT_FLOAT, 4, xd);
    g->n_outputs = 1;
    g->outputs = calloc(1, sizeof(*g->outputs));
    ot_value_info(&g->outputs[0], "y", ONNXQ_DT_FLOAT, 4, yd);
    onnxq_graph_add_init(g, init_rand("w1", 4, w1d, 0.3f, &rs));
    onnxq_graph_add_init(g, init_rand("b1", 1, bd, 0.1f, &rs));
    onnxq_graph_add_init(g, init_rand("w2", 4, wd, 0.2f, &rs));
    struct onnxq_constant *b2 = init_rand("b2", 1, bd, 0.1f, &rs);
    ((float *)b2->value.data)[0] = 200.0f;  /* the outlier channel */
    onnxq_graph_add_init(g, b2);
    onnxq_graph_add_init(g, init_rand("w3", 4, wd, 0.2f, &rs));
    onnxq_graph_add_init(g, init_rand("b3", 1, bd, 0.1f, &rs));
    const char *c1in[3] = {"x", "w1", "b1"}, *c1out[1] = {"c1"};
    const char *r1in[1] = {"c1"}, *r1out[1] = {"r1"};
    const char *c2in[3] = {"r1", "w2", "b2"}, *c2out[1] = {"c2"};
    const char *tin[1] = {"c2"}, *tout[1] = {"t2"};
    const char *c3in[3] = {"t2", "w3", "b3"}, *c3out[1] = {"y"};
    int64_t pads[4] = {1, 1, 1, 1};
    struct onnxq_node *n[5] = {
        onnxq_node_new("Conv", "conv1", 3, c1in, 1, c1out), onnxq_node_new(act1, "relu1", 1, r1in, 1, r1out),
        onnxq_node_new("Conv", "conv2", 3, c2in, 1, c2out), onnxq_node_new("Tanh", "tanh2", 1, tin, 1, tout),
        onnxq_node_new("Conv", "conv3", 3, c3in, 1, c3out)};
    onnxq_node_set_ints(n[0], "pads", pads, 4);
    onnxq_node_set_ints(n[2], "pads", pads, 4);
    onnxq_node_set_ints(n[4], "pads", pads, 4);
    for (size_t i = 0; i < 5; i++)
        onnxq_graph_insert_node(g, i, n[i]);
    struct onnxq_error err;
    ck_assert_msg(onnxq_model_validate(m, &err) == ONNXQ_OK, "%s", err.message);
    return m;
}

static void sample(struct onnxq_tensor *t, uint64_t seed)
{
    int64_t d[4] = {1, 4, 16, 16};
    ck_assert_int_eq(onnxq_tensor_alloc(t, ONNXQ_DT_FLOAT, 4, d, NULL), ONNXQ_OK);
    uint64_t rs = seed;
    float *p = t->data;
    for (int i = 0; i < 4 * 16 * 16; i++)
        p[i] = tu_frand(&rs);
}

/* Calibration table over the same N_SAMPLES inputs as the evaluation set. */
static void calibrate(struct onnxq_model *m, struct onnxq_calib_table *t)
{
    struct onnxq_error err;
    struct onnxq_exec *e = NULL;
    struct onnxq_observer o;
    ck_assert_msg(onnxq_exec_new(ctx, m, &e, &err) == ONNXQ_OK, "%s", err.message);
    ck_assert_int_eq(onnxq_observer_init(&o, 2048, ONNXQ_EMA_DEFAULT, &err), ONNXQ_OK);
    onnxq_exec_set_hook(e, onnxq_observer_hook, &o);
    for (int s = 0; s < N_SAMPLES; s++) {
        struct onnxq_tensor x, y = {0};
        sample(&x, 100 + (uint64_t)s);
        const struct onnxq_tensor *in[1] = {&x};
        ck_assert_int_eq(onnxq_observer_add(&o, "x", &x, &err), ONNXQ_OK);
        ck_assert_msg(onnxq_exec_run(e, in, &y, &err) == ONNXQ_OK, "%s", err.message);
        onnxq_tensor_clear(&x);
        onnxq_tensor_clear(&y);
    }
    ck_assert_int_eq(
        onnxq_calib_table_build(&o, "sens.onnx", N_SAMPLES, 1u << ONNXQ_CALIB_MINMAX, NULL, t, NULL, &err), ONNXQ_OK);
    onnxq_observer_clear(&o);
    onnxq_exec_free(e);
}

/* The same samples as .npy files, loaded through onnxq_eval_set_load. */
static char *write_samples(void)
{
    char *dir = tu_mkdtemp();
    struct onnxq_error err;
    for (int s = 0; s < N_SAMPLES; s++) {
        struct onnxq_tensor x;
        uint8_t *buf = NULL;
        size_t n = 0;
        char path[600];
        sample(&x, 100 + (uint64_t)s);
        ck_assert_int_eq(onnxq_npy_encode(&x, &buf, &n, &err), ONNXQ_OK);
        snprintf(path, sizeof(path), "%s/%04d.npy", dir, s);
        ck_assert_int_eq(tu_write_file(path, buf, n), 0);
        free(buf);
        onnxq_tensor_clear(&x);
    }
    return dir;
}

struct fixture {
    struct onnxq_model *m;
    struct onnxq_calib_table t;
    struct onnxq_quant_options qo;
    struct onnxq_eval_set es;
    struct onnxq_sens_session *s;
    char *dir;
};

static void fixture_init_act(struct fixture *f, const char *act1)
{
    struct onnxq_error err;
    struct onnxq_dataset_options dopts;
    memset(f, 0, sizeof(*f));
    f->m = make_model(act1);
    calibrate(f->m, &f->t);
    onnxq_quant_options_init(&f->qo);
    /* every conv in INT8 whatever the latency cost rule decides for tiny convs */
    f->qo.placement = ONNXQ_PLACEMENT_FULL;
    f->dir = write_samples();
    onnxq_dataset_options_init(&dopts);
    ck_assert_msg(onnxq_eval_set_load(ctx, f->m, f->dir, &dopts, 0, &f->es, &err) == ONNXQ_OK, "%s", err.message);
    ck_assert_int_eq(f->es.n_samples, N_SAMPLES);
    ck_assert_msg(onnxq_sens_session_new(ctx, f->m, &f->t, &f->qo, &f->es, &f->s, &err) == ONNXQ_OK, "%s",
                  err.message);
}

static void fixture_init(struct fixture *f)
{
    fixture_init_act(f, "Relu");
}

static void fixture_clear(struct fixture *f)
{
    onnxq_sens_session_free(f->s);
    onnxq_eval_set_clear(&f->es);
    onnxq_calib_table_clear(&f->t);
    onnxq_model_free(f->m);
    tu_rmtree(f->dir);
    free(f->dir);
}

/* Output SQNR of `m` vs the FP32 model over the samples, computed here. */
static double independent_sqnr(struct onnxq_model *fp32, struct onnxq_model *m)
{
    struct onnxq_error err;
    struct onnxq_exec *e0 = NULL, *e1 = NULL;
    ck_assert_msg(onnxq_exec_new(ctx, fp32, &e0, &err) == ONNXQ_OK, "%s", err.message);
    ck_assert_msg(onnxq_exec_new(ctx, m, &e1, &err) == ONNXQ_OK, "%s", err.message);
    double sig = 0, noise = 0;
    for (int s = 0; s < N_SAMPLES; s++) {
        struct onnxq_tensor x, y0 = {0}, y1 = {0};
        sample(&x, 100 + (uint64_t)s);
        const struct onnxq_tensor *in[1] = {&x};
        ck_assert_int_eq(onnxq_exec_run(e0, in, &y0, &err), ONNXQ_OK);
        ck_assert_int_eq(onnxq_exec_run(e1, in, &y1, &err), ONNXQ_OK);
        const float *a = y0.data, *b = y1.data;
        for (int64_t i = 0; i < onnxq_tensor_numel(&y0); i++) {
            sig += (double)a[i] * a[i];
            noise += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        }
        onnxq_tensor_clear(&x);
        onnxq_tensor_clear(&y0);
        onnxq_tensor_clear(&y1);
    }
    onnxq_exec_free(e0);
    onnxq_exec_free(e1);
    return 10 * log10(sig / noise);
}

START_TEST(groups_follow_the_plan)
{
    struct fixture f;
    fixture_init(&f);
    /* three convs, all planned in INT8 (placement full); relu1 folds into
     * conv1; Tanh has no quantized form and is no group */
    ck_assert_uint_eq(onnxq_sens_n_groups(f.s), 3);
    ck_assert_str_eq(onnxq_sens_group_at(f.s, 0)->node, "conv1");
    ck_assert_str_eq(onnxq_sens_group_at(f.s, 0)->members, "conv1+relu1");
    ck_assert_str_eq(onnxq_sens_group_at(f.s, 1)->members, "conv2");
    ck_assert_str_eq(onnxq_sens_group_at(f.s, 2)->members, "conv3");
    for (size_t i = 0; i < 3; i++)
        ck_assert(!onnxq_sens_group_at(f.s, i)->weight_only);
    ck_assert_int_eq(onnxq_sens_find_group(f.s, "conv3"), 2);
    ck_assert_int_eq(onnxq_sens_find_group(f.s, "tanh2"), -1);
    fixture_clear(&f);
}
END_TEST

/* A Sigmoid between conv1 and conv2 is quantized (placement full), yet
 * excluding it alone from the all-quantized model changes nothing: its
 * input and output keep their Q/DQ pairs for conv1 and conv2. It is a
 * group all the same (quantized alone it differs from FP32), so that
 * every group float is exactly FP32. */
START_TEST(a_node_masked_by_its_neighbours_is_a_group)
{
    struct fixture f;
    struct onnxq_error err;
    struct onnxq_fidelity fd;
    fixture_init_act(&f, "Sigmoid");
    ck_assert_uint_eq(onnxq_sens_n_groups(f.s), 4);
    ck_assert_int_eq(onnxq_sens_find_group(f.s, "relu1"), 1);
    ck_assert_str_eq(onnxq_sens_group_at(f.s, 0)->members, "conv1");
    const char *every[5] = {"conv1", "relu1", "conv2", "conv3", NULL};
    ck_assert_int_eq(onnxq_sens_measure(f.s, every, &fd, &err), ONNXQ_OK);
    ck_assert(isinf(onnxq_fidelity_sqnr_db(&fd)) && fd.count == N_SAMPLES * 8 * 16 * 16);
    fixture_clear(&f);
}
END_TEST

START_TEST(ranking_puts_the_outlier_layer_first)
{
    struct fixture f;
    struct onnxq_error err;
    struct onnxq_sens_result r, r_full;
    fixture_init(&f);
    ck_assert_msg(onnxq_sensitivity_run(f.s, NULL, NULL, &r, &err) == ONNXQ_OK, "%s", err.message);
    ck_assert_uint_eq(r.n, 3);
    ck_assert_uint_eq(r.samples, N_SAMPLES);
    ck_assert_str_eq(r.e[0].node, "conv2");
    /* by a wide margin, both ways */
    ck_assert_msg(r.e[0].sqnr_only + 10 < r.e[1].sqnr_only, "conv2 alone %.2f dB, next %.2f dB", r.e[0].sqnr_only,
                  r.e[1].sqnr_only);
    ck_assert_msg(r.e[0].sqnr_except > r.sqnr_all + 10, "all but conv2 %.2f dB, all %.2f dB", r.e[0].sqnr_except,
                  r.sqnr_all);
    ck_assert(isinf(r.sqnr_none) && r.sqnr_none > 0);  /* every group float = the FP32 model */
    /* the prefix cache gives the numbers of whole-model runs */
    onnxq_sens_set_prefix_cache(f.s, false);
    ck_assert_msg(onnxq_sensitivity_run(f.s, NULL, NULL, &r_full, &err) == ONNXQ_OK, "%s", err.message);
    for (size_t i = 0; i < r.n; i++) {
        ck_assert_str_eq(r.e[i].node, r_full.e[i].node);
        ck_assert_msg(fabs(r.e[i].sqnr_only - r_full.e[i].sqnr_only) < 1e-6, "%s only: %.9f vs %.9f", r.e[i].node,
                      r.e[i].sqnr_only, r_full.e[i].sqnr_only);
        ck_assert_msg(fabs(r.e[i].sqnr_except - r_full.e[i].sqnr_except) < 1e-6, "%s except", r.e[i].node);
    }
    /* without the all-but-this variants: same ranking, those fields NAN */
    struct onnxq_sens_result r_only;
    onnxq_sens_set_except(f.s, false);
    ck_assert_int_eq(onnxq_sensitivity_run(f.s, NULL, NULL, &r_only, &err), ONNXQ_OK);
    ck_assert_str_eq(r_only.e[0].node, "conv2");
    ck_assert(isnan(r_only.e[0].sqnr_except) && r_only.e[0].top1_except == -1);
    ck_assert_msg(fabs(r_only.e[0].sqnr_only - r.e[0].sqnr_only) < 1e-6, "only differs");
    onnxq_sens_result_clear(&r_only);
    /* and the metric agrees with an independent computation */
    struct onnxq_model *all = NULL;
    ck_assert_int_eq(onnxq_sens_build(f.s, NULL, &all, NULL, &err), ONNXQ_OK);
    ck_assert_msg(fabs(independent_sqnr(f.m, all) - r.sqnr_all) < 1e-6, "all: %.6f vs %.6f",
                  independent_sqnr(f.m, all), r.sqnr_all);
    onnxq_model_free(all);
    onnxq_sens_result_clear(&r);
    onnxq_sens_result_clear(&r_full);
    fixture_clear(&f);
}
END_TEST

START_TEST(max_loss_keeps_exactly_the_outlier_layer_float)
{
    struct fixture f;
    struct onnxq_error err;
    struct onnxq_sens_result r;
    struct onnxq_maxloss_result ml;
    struct onnxq_loss_spec spec;
    fixture_init(&f);
    ck_assert_int_eq(onnxq_sensitivity_run(f.s, NULL, NULL, &r, &err), ONNXQ_OK);
    /* a budget between all-INT8 and all-but-conv2 */
    char buf[64];
    double budget = floor((r.sqnr_all + r.e[0].sqnr_except) / 2);
    snprintf(buf, sizeof(buf), "sqnr>=%.0f", budget);
    ck_assert_int_eq(onnxq_loss_spec_parse(buf, &spec, &err), ONNXQ_OK);
    ck_assert_msg(onnxq_max_loss_search(f.s, &r, &spec, NULL, NULL, NULL, NULL, &ml, &err) == ONNXQ_OK, "%s",
                  err.message);
    ck_assert(ml.met);
    ck_assert_uint_eq(ml.n_float, 1);
    ck_assert_str_eq(ml.float_nodes[0], "conv2");
    ck_assert_ptr_null(ml.float_nodes[1]);
    ck_assert(ml.metric >= budget && ml.metric_all < budget);
    ck_assert_uint_eq(ml.ranking.n, 0);  /* given one, it computes none */
    /* without a ranking it ranks by itself, to the same answer */
    struct onnxq_maxloss_result ml2;
    ck_assert_int_eq(onnxq_max_loss_search(f.s, NULL, &spec, NULL, NULL, NULL, NULL, &ml2, &err), ONNXQ_OK);
    ck_assert(ml2.met && ml2.n_float == 1);
    ck_assert_str_eq(ml2.float_nodes[0], "conv2");
    ck_assert_uint_eq(ml2.ranking.n, 3);
    ck_assert_str_eq(ml2.ranking.e[0].node, "conv2");
    onnxq_maxloss_result_clear(&ml2);
    /* the variant it chose: conv2 float (its own float weight and bias),
     * the others INT8; the SQNR is what the search reported */
    struct onnxq_model *v = NULL;
    ck_assert_int_eq(onnxq_sens_build(f.s, (const char *const *)ml.float_nodes, &v, NULL, &err), ONNXQ_OK);
    bool conv2_float = false;
    for (size_t i = 0; i < v->graph->n_nodes; i++) {
        const struct onnxq_node *n = v->graph->nodes[i];
        if (n->name && strcmp(n->name, "conv2") == 0)
            conv2_float = strcmp(n->inputs[1], "w2") == 0 && strcmp(n->inputs[2], "b2") == 0 &&
                          strcmp(n->outputs[0], "c2") == 0;
    }
    ck_assert(conv2_float);
    ck_assert_msg(fabs(independent_sqnr(f.m, v) - ml.metric) < 1e-6, "%.6f vs %.6f", independent_sqnr(f.m, v),
                  ml.metric);
    onnxq_model_free(v);
    onnxq_maxloss_result_clear(&ml);
    /* a budget already met by full INT8 keeps nothing float */
    snprintf(buf, sizeof(buf), "sqnr>=%.3f", r.sqnr_all - 1);
    ck_assert_int_eq(onnxq_loss_spec_parse(buf, &spec, &err), ONNXQ_OK);
    ck_assert_int_eq(onnxq_max_loss_search(f.s, &r, &spec, NULL, NULL, NULL, NULL, &ml, &err), ONNXQ_OK);
    ck_assert(ml.met);
    ck_assert_uint_eq(ml.n_float, 0);
    onnxq_maxloss_result_clear(&ml);
    onnxq_sens_result_clear(&r);
    fixture_clear(&f);
}
END_TEST

/* External metric: 1 when conv2 reads its float weight, else 0. */
static enum onnxq_status conv2_metric(void *user, const struct onnxq_model *v, double *value,
                                      struct onnxq_error *err)
{
    (void)err;
    int *calls = user;
    (*calls)++;
    *value = 0;
    for (size_t i = 0; i < v->graph->n_nodes; i++)
        if (v->graph->nodes[i]->name && strcmp(v->graph->nodes[i]->name, "conv2") == 0 &&
            strcmp(v->graph->nodes[i]->inputs[1], "w2") == 0)
            *value = 1;
    return ONNXQ_OK;
}

static enum onnxq_status const_metric(void *user, const struct onnxq_model *v, double *value,
                                      struct onnxq_error *err)
{
    (void)user;
    (void)v;
    (void)err;
    *value = 0.5;
    return ONNXQ_OK;
}

START_TEST(max_loss_with_an_external_metric)
{
    struct fixture f;
    struct onnxq_error err;
    struct onnxq_sens_result r;
    struct onnxq_maxloss_result ml;
    struct onnxq_loss_spec spec;
    int calls = 0;
    fixture_init(&f);
    ck_assert_int_eq(onnxq_sensitivity_run(f.s, NULL, NULL, &r, &err), ONNXQ_OK);
    ck_assert_int_eq(onnxq_loss_spec_parse("metric>=0.9", &spec, &err), ONNXQ_OK);
    ck_assert_int_eq(onnxq_max_loss_search(f.s, &r, &spec, conv2_metric, &calls, NULL, NULL, &ml, &err), ONNXQ_OK);
    ck_assert(ml.met);
    ck_assert_uint_eq(ml.n_float, 1);
    ck_assert_str_eq(ml.float_nodes[0], "conv2");
    ck_assert_uint_eq(ml.evaluations, (size_t)calls);
    onnxq_maxloss_result_clear(&ml);
    /* unreachable: even all-float scores 0.5 */
    ck_assert_int_eq(onnxq_max_loss_search(f.s, &r, &spec, const_metric, NULL, NULL, NULL, &ml, &err), ONNXQ_OK);
    ck_assert(!ml.met);
    ck_assert_double_eq(ml.metric, 0.5);
    ck_assert_double_eq(ml.metric_none, 0.5);
    ck_assert_uint_eq(ml.n_float, 3);
    onnxq_maxloss_result_clear(&ml);
    /* decided without ranking: all INT8 and all float both miss it */
    ck_assert_int_eq(onnxq_max_loss_search(f.s, NULL, &spec, const_metric, NULL, NULL, NULL, &ml, &err), ONNXQ_OK);
    ck_assert(!ml.met && ml.evaluations == 2 && ml.ranking.n == 0);
    onnxq_maxloss_result_clear(&ml);
    /* lower is better */
    ck_assert_int_eq(onnxq_loss_spec_parse("metric<=0.5", &spec, &err), ONNXQ_OK);
    ck_assert_int_eq(onnxq_max_loss_search(f.s, &r, &spec, const_metric, NULL, NULL, NULL, &ml, &err), ONNXQ_OK);
    ck_assert(ml.met && ml.n_float == 0);
    onnxq_maxloss_result_clear(&ml);
    /* a metric budget without a metric is refused */
    ck_assert_int_eq(onnxq_max_loss_search(f.s, &r, &spec, NULL, NULL, NULL, NULL, &ml, &err), ONNXQ_E_INVALID_ARG);
    onnxq_sens_result_clear(&r);
    fixture_clear(&f);
}
END_TEST

START_TEST(spec_strings)
{
    struct onnxq_loss_spec s;
    struct onnxq_error err;
    ck_assert_int_eq(onnxq_loss_spec_parse("sqnr>=30", &s, &err), ONNXQ_OK);
    ck_assert(s.kind == ONNXQ_LOSS_SQNR && s.higher_is_better && s.threshold == 30);
    ck_assert_int_eq(onnxq_loss_spec_parse(" SQNR >= 27.5 dB", &s, &err), ONNXQ_OK);
    ck_assert(s.kind == ONNXQ_LOSS_SQNR && s.threshold == 27.5);
    ck_assert_int_eq(onnxq_loss_spec_parse("top1<=0.5%", &s, &err), ONNXQ_OK);
    ck_assert(s.kind == ONNXQ_LOSS_TOP1 && !s.higher_is_better && fabs(s.threshold - 0.005) < 1e-15);
    ck_assert(onnxq_loss_spec_met(&s, 0.005) && !onnxq_loss_spec_met(&s, 0.0051));
    ck_assert_int_eq(onnxq_loss_spec_parse("metric>=0.97", &s, &err), ONNXQ_OK);
    ck_assert(s.kind == ONNXQ_LOSS_METRIC && s.higher_is_better && s.threshold == 0.97);
    ck_assert(!onnxq_loss_spec_met(&s, NAN));
    ck_assert_int_eq(onnxq_loss_spec_parse("metric<=-3", &s, &err), ONNXQ_OK);
    ck_assert(!s.higher_is_better && s.threshold == -3);
    char buf[64];
    ck_assert_int_eq(onnxq_loss_spec_parse("top1<=0.5%", &s, &err), ONNXQ_OK);
    onnxq_loss_spec_format(&s, buf, sizeof(buf));
    ck_assert_str_eq(buf, "top1<=0.5%");

    static const struct {
        const char *spec, *says;
    } bad[] = {
        {"", "empty"},
        {"sqnr", "expected >= or <="},
        {"sqnr>30", "expected >= or <="},
        {"sqnr<=30", "an SQNR budget is a minimum"},
        {"sqnr>=", "expected a number"},
        {"sqnr>=abc", "expected a number"},
        {"sqnr>=30x", "unexpected 'x'"},
        {"top1<=0.5", "in percent"},
        {"top1>=99%", "maximum disagreement"},
        {"top1<=150%", "between 0 and 100"},
        {"accuracy>=0.9", "unknown metric 'accuracy'"},
        {"metric>=inf", "expected a number"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(onnxq_loss_spec_parse(bad[i].spec, &s, &err) == ONNXQ_E_INVALID_ARG, "'%s' accepted",
                      bad[i].spec);
        ck_assert_msg(strstr(err.message, bad[i].says), "'%s': %s", bad[i].spec, err.message);
    }
}
END_TEST

START_TEST(top1_budget_needs_class_scores)
{
    struct onnxq_loss_spec s;
    struct onnxq_error err;
    struct onnxq_fidelity f;
    double v;
    onnxq_fidelity_init(&f);
    const float ref[4] = {1, 2, 3, 4}, test[4] = {1, 2, 4, 3};
    onnxq_fidelity_add(&f, ref, test, 4);
    ck_assert_int_eq(onnxq_loss_spec_parse("top1<=1%", &s, &err), ONNXQ_OK);
    ck_assert_int_eq(onnxq_loss_value(&s, &f, &v, &err), ONNXQ_E_INVALID_ARG);
    ck_assert(strstr(err.message, "class scores"));
    /* rows of 2: [1,2] agree, [3,4] vs [4,3] disagree -> 50% */
    onnxq_fidelity_add_top1(&f, ref, test, 4, 2);
    ck_assert_int_eq(onnxq_loss_value(&s, &f, &v, &err), ONNXQ_OK);
    ck_assert_double_eq(v, 0.5);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("sensitivity");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, groups_follow_the_plan);
    tcase_add_test(tc, a_node_masked_by_its_neighbours_is_a_group);
    tcase_add_test(tc, ranking_puts_the_outlier_layer_first);
    tcase_add_test(tc, max_loss_keeps_exactly_the_outlier_layer_float);
    tcase_add_test(tc, max_loss_with_an_external_metric);
    tcase_add_test(tc, spec_strings);
    tcase_add_test(tc, top1_budget_needs_class_scores);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
