/* The HTML report (src/eval/report.c): escaping, histogram down-sampling
 * and the INT8-model scan against hand-computed values; the rendered page
 * (no external resource, names escaped, bar lengths and colours by hand);
 * the atomic write. Rendering in a real browser is tests/e2e/report_chromium.sh. */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "eval/report.h"
#include "ir/graph_util.h"
#include "testutil.h"

/* Render to a malloc'd string. */
static char *render(const struct onnxq_report_input *in)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    ck_assert_ptr_nonnull(f);
    struct onnxq_error err;
    ck_assert_msg(onnxq_report_render(f, "mem", in, &err) == ONNXQ_OK, "%s", err.message);
    fclose(f);
    return buf;
}

static size_t count_of(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

START_TEST(escape_every_special)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    onnxq_report_escape(f, "a<b>&\"c'/\xc3\xa9");
    onnxq_report_escape(f, NULL);
    fclose(f);
    ck_assert_str_eq(buf, "a&lt;b&gt;&amp;&quot;c&#39;/\xc3\xa9");
    free(buf);
}
END_TEST

START_TEST(downsample_by_hand)
{
    struct onnxq_hist h;
    struct onnxq_error err;
    ck_assert_int_eq(onnxq_hist_init(&h, 16, &err), ONNXQ_OK);
    const float x[] = {0.5f, 1.5f, 1.5f, -0.25f, 3.9f};
    onnxq_hist_add(&h, x, 5, ONNXQ_EMA_DEFAULT);
    /* 3.9 needs 16 bins of width >= 0.25; any power-of-two width <= 1 puts
     * each value in the unit column that holds it */
    ck_assert(onnxq_hist_width(&h) <= 1.0);
    uint64_t c[8];
    ck_assert_uint_eq(onnxq_report_downsample(&h, -4, 4, 8, c), 5);
    const uint64_t want[8] = {0, 0, 0, 1, 1, 2, 0, 1};
    for (int k = 0; k < 8; k++)
        ck_assert_uint_eq(c[k], want[k]);
    /* values outside [xa, xb) are dropped */
    uint64_t d[2];
    ck_assert_uint_eq(onnxq_report_downsample(&h, 0, 2, 2, d), 3);
    ck_assert_uint_eq(d[0], 1);
    ck_assert_uint_eq(d[1], 2);
    onnxq_hist_free(&h);
}
END_TEST

static void add_scalar(struct onnxq_graph *g, const char *name, enum onnxq_dtype dt, double v)
{
    struct onnxq_constant *c = calloc(1, sizeof(*c));
    c->name = strdup(name);
    ck_assert_int_eq(onnxq_tensor_alloc(&c->value, dt, 0, NULL, NULL), ONNXQ_OK);
    if (dt == ONNXQ_DT_FLOAT)
        *(float *)c->value.data = (float)v;
    else if (dt == ONNXQ_DT_UINT8)
        *(uint8_t *)c->value.data = (uint8_t)v;
    else
        *(int8_t *)c->value.data = (int8_t)v;
    ck_assert(onnxq_graph_add_init(g, c));
}

static void add_node(struct onnxq_graph *g, const char *op, const char *name, size_t ni, const char *const *in,
                     const char *out)
{
    const char *outs[1] = {out};
    ck_assert(onnxq_graph_insert_node(g, g->n_nodes, onnxq_node_new(op, name, ni, in, 1, outs)));
}

/* x -Q(0.5, uint8 128)-> DQ -> conv_q(, DQ(w)) -> c1 -Q(0.25, int8 0)-> DQ -> Relu -> r
 * c1 -> conv_f(, wf) -> y (float: its data input is not a Q->DQ)
 * w is an int8 weight with DQ; wf = Cast(w_q) * w_s, a Mul on constants
 * only, is not a model node. */
static struct onnxq_model *qdq_model(void)
{
    struct onnxq_model *m = calloc(1, sizeof(*m));
    m->graph = onnxq_graph_new();
    struct onnxq_graph *g = m->graph;
    add_scalar(g, "s_x", ONNXQ_DT_FLOAT, 0.5);
    add_scalar(g, "z_x", ONNXQ_DT_UINT8, 128);
    add_scalar(g, "s_c", ONNXQ_DT_FLOAT, 0.25);
    add_scalar(g, "z_c", ONNXQ_DT_INT8, 0);
    add_scalar(g, "w_q", ONNXQ_DT_INT8, 3);
    add_scalar(g, "w_s", ONNXQ_DT_FLOAT, 0.1);
    add_node(g, "DequantizeLinear", "wdq", 2, (const char *[]){"w_q", "w_s"}, "w");
    /* the rewriter's weight form for float ops: Cast -> Mul on constants */
    add_node(g, "Cast", "wcast", 1, (const char *[]){"w_q"}, "wc");
    add_node(g, "Mul", "w_Mul", 2, (const char *[]){"wc", "w_s"}, "wf");
    add_node(g, "QuantizeLinear", "qx", 3, (const char *[]){"x", "s_x", "z_x"}, "xq");
    add_node(g, "DequantizeLinear", "dqx", 3, (const char *[]){"xq", "s_x", "z_x"}, "xd");
    add_node(g, "Conv", "conv_q", 2, (const char *[]){"xd", "w"}, "c1");
    add_node(g, "QuantizeLinear", "qc", 3, (const char *[]){"c1", "s_c", "z_c"}, "cq");
    add_node(g, "DequantizeLinear", "dqc", 3, (const char *[]){"cq", "s_c", "z_c"}, "cd");
    add_node(g, "Relu", "relu", 1, (const char *[]){"cd"}, "r");
    add_node(g, "Conv", "conv_f", 2, (const char *[]){"c1", "wf"}, "y");
    add_node(g, "Mul", "", 2, (const char *[]){"y", "r"}, "z");
    return m;
}

START_TEST(plan_scan_by_hand)
{
    struct onnxq_model *m = qdq_model();
    struct onnxq_report_plan p;
    struct onnxq_error err;
    ck_assert_msg(onnxq_report_plan_scan(m, NULL, &p, &err) == ONNXQ_OK, "%s", err.message);
    ck_assert_uint_eq(p.n_qtensors, 2);
    ck_assert_str_eq(p.qtensors[0].name, "x");
    ck_assert(!p.qtensors[0].is_int8);
    ck_assert_int_eq(p.qtensors[0].zero_point, 128);
    /* uint8: (0 - 128) * 0.5 .. (255 - 128) * 0.5 */
    ck_assert_double_eq(p.qtensors[0].lo, -64.0);
    ck_assert_double_eq(p.qtensors[0].hi, 63.5);
    ck_assert_str_eq(p.qtensors[1].name, "c1");
    ck_assert(p.qtensors[1].is_int8);
    /* symmetric int8: +-127 * 0.25 */
    ck_assert_double_eq(p.qtensors[1].lo, -31.75);
    ck_assert_double_eq(p.qtensors[1].hi, 31.75);
    /* Conv x2 and the unnamed Mul; Relu is not a quantizable op type, the
     * Mul on constants is left out */
    ck_assert_uint_eq(p.n_nodes, 3);
    ck_assert_str_eq(p.nodes[0].name, "conv_q");
    ck_assert(p.nodes[0].quantized);
    ck_assert_str_eq(p.nodes[1].name, "conv_f");
    ck_assert(!p.nodes[1].quantized);
    ck_assert_str_eq(p.nodes[2].name, "");
    ck_assert_str_eq(p.nodes[2].op_type, "Mul");
    ck_assert(!p.nodes[2].quantized);
    ck_assert_uint_eq(p.n_float, 2);
    onnxq_report_plan_clear(&p);
    /* an explicit op list */
    const char *only[] = {"Mul", NULL};
    ck_assert_int_eq(onnxq_report_plan_scan(m, only, &p, &err), ONNXQ_OK);
    ck_assert_uint_eq(p.n_nodes, 1);
    onnxq_report_plan_clear(&p);
    onnxq_report_plan_clear(NULL);
    onnxq_model_free(m);
}
END_TEST

/* A compare result with two tensors, one with markup in its name. */
static void fake_compare(struct onnxq_compare_result *c, struct onnxq_compare_tensor *t,
                         struct onnxq_compare_output *o)
{
    memset(c, 0, sizeof(*c));
    memset(t, 0, 2 * sizeof(*t));
    memset(o, 0, sizeof(*o));
    t[0].name = t[0].int8_name = "conv<1>&\"x\"";
    t[0].node = "n0";
    t[0].op_type = "Conv";
    t[0].quantized = true;
    t[0].sqnr_db = 20.0;
    t[0].cosine = 0.99;
    t[0].has_pre = true;
    t[0].sqnr_pre_db = 30.0;
    t[1].name = "sm_out";
    t[1].int8_name = "sm_out_renamed";
    t[1].renamed = true;
    t[1].node = "n1";
    t[1].op_type = "Softmax";
    t[1].sqnr_db = 55.0;
    o->name = o->int8_name = "prob";
    o->scores = true;
    o->top1 = 0.75;
    o->sqnr_db = INFINITY;
    o->cosine = 1;
    c->n_tensors = 2;
    c->tensors = t;
    c->n_quantized = 1;
    c->n_outputs = 1;
    c->outputs = o;
    c->samples = 4;
}

START_TEST(page_by_hand)
{
    struct onnxq_compare_result c;
    struct onnxq_compare_tensor t[2];
    struct onnxq_compare_output o;
    fake_compare(&c, t, &o);

    struct onnxq_error err;
    struct onnxq_calib_table tab = {0};
    struct onnxq_calib_entry e = {0};
    e.name = "x";
    ck_assert_int_eq(onnxq_hist_init(&e.hist, 16, &err), ONNXQ_OK);
    const float xs[] = {-1.0f, 0.0f, 0.5f, 2.0f};
    onnxq_hist_add(&e.hist, xs, 4, ONNXQ_EMA_DEFAULT);
    e.has_hist = true;
    tab.n = 1;
    tab.e = &e;
    tab.samples = 1;
    onnxq_range_params_init(&tab.params);

    struct onnxq_model *m = qdq_model();
    struct onnxq_report_plan p;
    ck_assert_int_eq(onnxq_report_plan_scan(m, NULL, &p, &err), ONNXQ_OK);

    struct onnxq_sens_entry se = {.node = "conv_q", .op_type = "Conv", .members = "conv_q+relu",
                                  .sqnr_only = 12.5, .sqnr_except = 40, .top1_only = -1, .top1_except = -1};
    struct onnxq_sens_result sr = {.n = 1, .e = &se, .sqnr_all = 12, .sqnr_none = 60, .samples = 4};
    char *fl[] = {"conv_q", NULL};
    struct onnxq_maxloss_result ml = {.met = true, .n_float = 1, .float_nodes = fl, .metric = 31,
                                      .metric_all = 12, .metric_none = 60};

    struct onnxq_report_input in;
    onnxq_report_input_init(&in);
    in.title = "T<i>";
    in.compare = &c;
    in.plan = &p;
    in.table = &tab;
    in.act_type = ONNXQ_QTYPE_UINT8;
    in.method = ONNXQ_CALIB_MINMAX;
    in.sens = &sr;
    in.maxloss = &ml;
    in.maxloss_spec = "sqnr>=30 dB";
    in.size_fp32 = 1000;
    in.size_int8 = 250;
    char *html = render(&in);

    /* nothing fetched, no script, every name escaped */
    ck_assert_ptr_null(strstr(html, "http://"));
    ck_assert_ptr_null(strstr(html, "https://"));
    ck_assert_ptr_null(strstr(html, "<script"));
    ck_assert_ptr_null(strstr(html, " src="));
    ck_assert_ptr_null(strstr(html, "url("));
    ck_assert_ptr_null(strstr(html, "conv<1>"));
    ck_assert_ptr_null(strstr(html, "T<i>"));
    ck_assert_ptr_nonnull(strstr(html, "conv&lt;1&gt;&amp;&quot;x&quot;"));
    ck_assert_ptr_nonnull(strstr(html, "T&lt;i&gt;"));
    ck_assert_uint_eq(count_of(html, "<svg"), count_of(html, "</svg>"));
    /* SQNR chart: scale top is max(40, 55) rounded up to 60 dB, 640 px:
     * 20 dB -> 213.3 px in the 20-30 dB colour, 55 dB -> 586.7 px green */
    ck_assert_ptr_nonnull(strstr(html, "width=\"213.3\" height=\"11\" fill=\"#e0c000\""));
    ck_assert_ptr_nonnull(strstr(html, "width=\"586.7\" height=\"11\" fill=\"#2ca02c\""));
    ck_assert_ptr_nonnull(strstr(html, "sm_out_renamed"));
    /* its pre-Q/DQ SQNR (30 dB): a grey tick at 330 + 30 / 60 * 640 - 1 px */
    ck_assert_ptr_nonnull(strstr(html, "<rect x=\"649.0\" y=\"18\" width=\"2\" height=\"13\" fill=\"#555\"/>"));
    ck_assert_ptr_nonnull(strstr(html, "20.0 dB (before its own Q/DQ: 30.0 dB)"));
    ck_assert_uint_eq(count_of(html, "fill=\"#555\""), 1);
    /* sensitivity: bars 12.5 and 40 dB -> a 40 dB scale; 12.5 / 40 * 640 px */
    ck_assert_ptr_nonnull(strstr(html, "width=\"200.0\" height=\"11\" fill=\"#ff7f0e\""));
    ck_assert_ptr_nonnull(strstr(html, "conv_q+relu: only 12.5 dB, all but 40.0 dB"));
    ck_assert_ptr_nonnull(strstr(html, "(black tick)"));
    ck_assert_ptr_nonnull(strstr(html, "<code>sqnr&gt;=30 dB</code>: <b>met</b>"));
    /* float nodes: conv_f by name, the unnamed Mul as such */
    ck_assert_ptr_nonnull(strstr(html, "<b>Conv</b> (1 float, 1 INT8): <code>conv_f</code>"));
    ck_assert_ptr_nonnull(strstr(html, "<b>Mul</b> (1 float, 0 INT8): <code>(unnamed)</code>"));
    /* one histogram card (x is in the table; c1 is not), INT8 range of x */
    ck_assert_uint_eq(count_of(html, "<div class=\"hist\">"), 1);
    ck_assert_ptr_nonnull(strstr(html, "INT8 [-64, 63.5] (scale 0.5, zp 128)"));
    ck_assert_ptr_nonnull(strstr(html, "1 quantized tensor not in the calibration table"));
    ck_assert_ptr_nonnull(strstr(html, "<b>minmax [-1, 2]</b>"));
    ck_assert_ptr_nonnull(strstr(html, "250 B"));
    ck_assert_ptr_nonnull(strstr(html, "INT8 / FP32 = 0.250"));
    ck_assert_ptr_nonnull(strstr(html, "75.00%"));
    free(html);

    /* ranking without the all-but measurements (NaN): no tick, no "all but" */
    se.sqnr_except = NAN;
    html = render(&in);
    ck_assert_ptr_nonnull(strstr(html, "conv_q+relu: only 12.5 dB</title>"));
    ck_assert_ptr_null(strstr(html, "(black tick)"));
    ck_assert_ptr_null(strstr(html, "fill=\"#111\""));
    free(html);

    /* an INT8 model whose x range is minmax's: uint8 [-1, 2] -> scale
     * 3 / 255, zero point 1 / scale = 85; with no method given, the card
     * names minmax as a match */
    p.qtensors[0].scale = 3.0f / 255.0f;
    p.qtensors[0].zero_point = 85;
    in.method = -1;
    html = render(&in);
    ck_assert_ptr_nonnull(strstr(html, "<b>minmax [-1, 2] = INT8</b>"));
    /* only methods with that very range are marked */
    ck_assert_uint_eq(count_of(html, "] = INT8"), count_of(html, " [-1, 2] = INT8"));
    free(html);

    /* nothing given: every section says so, still a whole page */
    onnxq_report_input_init(&in);
    html = render(&in);
    ck_assert_ptr_nonnull(strstr(html, "No per-tensor comparison was run"));
    ck_assert_ptr_nonnull(strstr(html, "No sensitivity analysis was run"));
    ck_assert_ptr_nonnull(strstr(html, "No calibration table"));
    ck_assert_ptr_nonnull(strstr(html, "</html>"));
    free(html);

    onnxq_report_plan_clear(&p);
    onnxq_model_free(m);
    onnxq_hist_free(&e.hist);
}
END_TEST

START_TEST(atomic_write)
{
    struct onnxq_compare_result c;
    struct onnxq_compare_tensor t[2];
    struct onnxq_compare_output o;
    fake_compare(&c, t, &o);
    struct onnxq_report_input in;
    onnxq_report_input_init(&in);
    in.compare = &c;
    char *dir = tu_mkdtemp();
    char path[4096];
    snprintf(path, sizeof(path), "%s/r.html", dir);
    ck_assert(tu_write_file(path, "old", 3) == 0);
    struct onnxq_error err;
    ck_assert_msg(onnxq_report_write(path, &in, &err) == ONNXQ_OK, "%s", err.message);
    size_t size = 0;
    uint8_t *data = tu_read_file(path, &size);
    char *want = render(&in);
    ck_assert_uint_eq(size, strlen(want));
    ck_assert(memcmp(data, want, size) == 0);
    free(data);
    free(want);
    /* no temp file left next to it */
    DIR *dh = opendir(dir);
    ck_assert_ptr_nonnull(dh);
    size_t n = 0;
    for (struct dirent *de; (de = readdir(dh));)
        n += de->d_name[0] != '.';
    closedir(dh);
    ck_assert_uint_eq(n, 1);
    /* a missing folder: an I/O error naming the path, nothing created */
    snprintf(path, sizeof(path), "%s/missing/r.html", dir);
    ck_assert_int_eq(onnxq_report_write(path, &in, &err), ONNXQ_E_IO);
    ck_assert_ptr_nonnull(strstr(err.message, "missing/r.html"));
    struct stat sb;
    ck_assert_int_ne(stat(path, &sb), 0);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

static Suite *report_suite(void)
{
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("report");
    tcase_add_test(tc, escape_every_special);
    tcase_add_test(tc, downsample_by_hand);
    tcase_add_test(tc, plan_scan_by_hand);
    tcase_add_test(tc, page_by_hand);
    tcase_add_test(tc, atomic_write);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(report_suite());
}
