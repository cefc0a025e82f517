/* The self-contained HTML report (see report.h): inline CSS and SVG written
 * with stdio, no script and no external resource. */
#include "eval/report.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/strmap.h"
#include "io/npy.h"
#include "ir/graph_util.h"

/* ------------------------------------------------------------ constants */

/* Marker colour of each calibration method on the histograms. Methods
 * without one are not drawn (auto: its range is one of the others'). */
static const char *const method_color[ONNXQ_CALIB_METHOD_COUNT] = {
    [ONNXQ_CALIB_MINMAX] = "#d62728",
    [ONNXQ_CALIB_AVG_MINMAX] = "#ff7f0e",
    [ONNXQ_CALIB_EMA] = "#8c564b",
    [ONNXQ_CALIB_PERCENTILE] = "#2ca02c",
    [ONNXQ_CALIB_ENTROPY] = "#9467bd",
    [ONNXQ_CALIB_MSE] = "#17becf",
};

/* SQNR bands of the bar colours (dB, upper bound exclusive). */
enum sqnr_band { BAND_BAD = 0, BAND_POOR, BAND_FAIR, BAND_GOOD, BAND_COUNT };
static const struct {
    double below;
    const char *color, *label;
} sqnr_bands[BAND_COUNT] = {
    [BAND_BAD] = {10, "#d62728", "&lt; 10 dB"},
    [BAND_POOR] = {20, "#ff7f0e", "10&ndash;20 dB"},
    [BAND_FAIR] = {30, "#e0c000", "20&ndash;30 dB"},
    [BAND_GOOD] = {INFINITY, "#2ca02c", "&ge; 30 dB"},
};
static_assert(sizeof(sqnr_bands) / sizeof(sqnr_bands[0]) == BAND_COUNT, "one row per band");

/* The rewriter's op types with a quantized form (quantize.c, table qops). */
static const char *const default_qops[] = {"Conv",    "ConvTranspose", "Gemm",        "MatMul",
                                           "Add",     "Mul",           "Concat",      "AveragePool",
                                           "GlobalAveragePool", "Resize", "Sigmoid", "Softmax",
                                           NULL};

#define CHART_ROW 14        /* px per bar */
#define CHART_LABEL 330     /* px of the name column */
#define CHART_BARS 640      /* px of the bar area */
#define CHART_MAX_ROWS 1500 /* bars drawn at most (the rest are listed as a count) */
#define HIST_W 352
#define HIST_H 110
#define NAME_CHARS 52       /* longer names are shortened in charts (full name in the tooltip) */

/* --------------------------------------------------------------- helpers */

void onnxq_report_escape(FILE *f, const char *s)
{
    if (!s)
        return;
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* Escaped, shortened to NAME_CHARS characters with an ellipsis (does not
 * cut inside a UTF-8 sequence). */
static void escape_short(FILE *f, const char *s)
{
    size_t n = strlen(s ? s : "");
    if (n <= NAME_CHARS) {
        onnxq_report_escape(f, s);
        return;
    }
    size_t keep = NAME_CHARS - 1;
    while (keep > 0 && ((unsigned char)s[keep] & 0xC0) == 0x80)
        keep--;
    char *tmp = malloc(keep + 1);
    if (!tmp)
        return;
    memcpy(tmp, s, keep);
    tmp[keep] = 0;
    onnxq_report_escape(f, tmp);
    fputs("&hellip;", f);
    free(tmp);
}

/* "n/a" (NaN), the infinities, or v: one decimal (dB), or 4 significant
 * digits when `general`. */
static void put_real(FILE *f, double v, bool general)
{
    if (isnan(v))
        fputs("n/a", f);
    else if (isinf(v))
        fputs(v > 0 ? "&infin;" : "&minus;&infin;", f);
    else if (general)
        fprintf(f, "%.4g", v);
    else
        fprintf(f, "%.1f", v);
}

/* A dB value: one decimal. */
static void put_db(FILE *f, double v)
{
    put_real(f, v, false);
}

static void put_num(FILE *f, double v)
{
    put_real(f, v, true);
}

static void put_share(FILE *f, double v)
{
    if (v < 0 || isnan(v))
        fputs("&ndash;", f);
    else
        fprintf(f, "%.2f%%", 100.0 * v);
}

static void put_bytes(FILE *f, long long b)
{
    if (b < 0)
        fputs("unknown", f);
    else if (b >= 10LL * 1024 * 1024)
        fprintf(f, "%.1f MiB", (double)b / (1024.0 * 1024.0));
    else if (b >= 10 * 1024)
        fprintf(f, "%.1f KiB", (double)b / 1024.0);
    else
        fprintf(f, "%lld B", b);
}

static enum sqnr_band band_of(double db)
{
    for (int b = 0; b < BAND_COUNT; b++)
        if (isnan(db) || db < sqnr_bands[b].below)
            return (enum sqnr_band)b;
    return BAND_GOOD;
}

/* -0 printed as 0 */
static double nz(double v)
{
    return v == 0 ? 0.0 : v;
}

static bool in_list(const char *const *list, const char *s)
{
    for (; list && *list; list++)
        if (strcmp(*list, s) == 0)
            return true;
    return false;
}

/* ------------------------------------------------------------ plan scan */

void onnxq_report_plan_clear(struct onnxq_report_plan *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_qtensors; i++)
        free(p->qtensors[i].name);
    for (size_t i = 0; i < p->n_nodes; i++) {
        free(p->nodes[i].name);
        free(p->nodes[i].op_type);
    }
    free(p->qtensors);
    free(p->nodes);
    memset(p, 0, sizeof(*p));
}

/* Scalar float of an initializer, or false. */
static bool scalar_float(const struct onnxq_graph *g, const char *name, float *v)
{
    const struct onnxq_constant *c = name && *name ? onnxq_graph_find_init(g, name) : NULL;
    if (!c || c->value.dtype != ONNXQ_DT_FLOAT || onnxq_tensor_numel(&c->value) != 1 || !c->value.data)
        return false;
    *v = *(const float *)c->value.data;
    return true;
}

static bool is_op(const struct onnxq_node *n, const char *op)
{
    return n && onnxq_node_in_default_domain(n) && strcmp(n->op_type, op) == 0;
}

enum onnxq_status onnxq_report_plan_scan(const struct onnxq_model *int8, const char *const *op_types,
                                         struct onnxq_report_plan *out, struct onnxq_error *err)
{
    enum onnxq_status st = ONNXQ_OK;
    struct onnxq_report_plan p = {0};
    struct onnxq_graph_index idx = {0};
    struct onnxq_strmap seen = {0}, constant = {0};
    if (!int8 || !int8->graph || !out)
        return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "onnxq_report_plan_scan: NULL model or output");
    const struct onnxq_graph *g = int8->graph;
    const char *const *ops = op_types ? op_types : default_qops;
    if ((st = onnxq_graph_index_build(g, &idx, err)) != ONNXQ_OK)
        goto out;
    size_t nn = g->n_nodes ? g->n_nodes : 1;
    p.qtensors = calloc(nn, sizeof(*p.qtensors));
    p.nodes = calloc(nn, sizeof(*p.nodes));
    if (!p.qtensors || !p.nodes)
        goto oom;
    for (size_t i = 0; i < g->n_inits; i++)
        if (!onnxq_strmap_put(&constant, g->inits[i]->name, NULL))
            goto oom;
    for (size_t i = 0; i < g->n_nodes; i++) {
        const struct onnxq_node *n = g->nodes[i];
        if (is_op(n, "QuantizeLinear") && n->n_inputs >= 2 && !onnxq_graph_find_init(g, n->inputs[0]) &&
            !onnxq_strmap_has(&seen, n->inputs[0])) {
            struct onnxq_report_qtensor q = {.zero_point = 0};
            if (!scalar_float(g, n->inputs[1], &q.scale))
                continue;  /* per-axis activation scales: not drawn */
            const struct onnxq_constant *zc =
                n->n_inputs > 2 && *n->inputs[2] ? onnxq_graph_find_init(g, n->inputs[2]) : NULL;
            if (zc && zc->value.data && onnxq_tensor_numel(&zc->value) == 1) {
                if (zc->value.dtype == ONNXQ_DT_INT8) {
                    q.is_int8 = true;
                    q.zero_point = *(const int8_t *)zc->value.data;
                } else if (zc->value.dtype == ONNXQ_DT_UINT8) {
                    q.zero_point = *(const uint8_t *)zc->value.data;
                } else {
                    continue;
                }
            }
            int qmin = q.is_int8 ? (q.zero_point == 0 ? -127 : -128) : 0, qmax = q.is_int8 ? 127 : 255;
            q.lo = (double)(qmin - q.zero_point) * q.scale;
            q.hi = (double)(qmax - q.zero_point) * q.scale;
            if (!(q.name = onnxq_strdup(n->inputs[0])))
                goto oom;
            p.qtensors[p.n_qtensors++] = q;
            if (!onnxq_strmap_put(&seen, q.name, NULL))
                goto oom;
        }
        /* nodes on constants only (the rewriter's Cast->Mul weight
         * dequantization, folded by runtimes) are not model computations */
        bool on_data = false;
        for (size_t k = 0; k < n->n_inputs && !on_data; k++)
            on_data = *n->inputs[k] && !onnxq_strmap_has(&constant, n->inputs[k]);
        if (!on_data) {
            for (size_t k = 0; k < n->n_outputs; k++)
                if (*n->outputs[k] && !onnxq_strmap_put(&constant, n->outputs[k], NULL))
                    goto oom;
            continue;
        }
        if (!onnxq_node_in_default_domain(n) || !in_list(ops, n->op_type))
            continue;
        struct onnxq_report_node *r = &p.nodes[p.n_nodes];
        for (size_t k = 0; k < n->n_inputs && !r->quantized; k++) {
            const struct onnxq_value_entry *e = *n->inputs[k] ? onnxq_graph_index_get(&idx, n->inputs[k]) : NULL;
            const struct onnxq_node *dq = e ? e->producer : NULL;
            if (!is_op(dq, "DequantizeLinear") || dq->n_inputs < 1)
                continue;
            const struct onnxq_value_entry *qe = onnxq_graph_index_get(&idx, dq->inputs[0]);
            r->quantized = qe && is_op(qe->producer, "QuantizeLinear");
        }
        r->name = onnxq_strdup(n->name ? n->name : "");
        r->op_type = onnxq_strdup(n->op_type);
        p.n_nodes++;
        if (!r->name || !r->op_type)
            goto oom;
        p.n_float += !r->quantized;
    }
    *out = p;
    memset(&p, 0, sizeof(p));
    goto out;
oom:
    st = onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory scanning the INT8 model for the report");
out:
    onnxq_report_plan_clear(&p);
    onnxq_graph_index_free(&idx);
    onnxq_strmap_free(&seen);
    onnxq_strmap_free(&constant);
    return st;
}

/* ------------------------------------------------------------ histogram */

uint64_t onnxq_report_downsample(const struct onnxq_hist *h, double xa, double xb, size_t cols, uint64_t *out)
{
    memset(out, 0, cols * sizeof(*out));
    if (!h->counts || !(xb > xa) || cols == 0)
        return 0;
    double w = onnxq_hist_width(h), span = xb - xa;
    uint64_t sum = 0;
    for (int64_t i = 0; i < 2 * (int64_t)h->bins; i++) {
        uint64_t c = h->counts[i];
        if (!c)
            continue;
        double centre = onnxq_hist_edge(h, i) + 0.5 * w;
        if (centre < xa || centre >= xb)
            continue;
        size_t col = (size_t)((centre - xa) / span * (double)cols);
        if (col >= cols)
            col = cols - 1;
        out[col] += c;
        sum += c;
    }
    return sum;
}

/* ------------------------------------------------------------- sections */

static const char css[] =
    "body{font:13px/1.4 'DejaVu Sans',Arial,sans-serif;margin:16px 24px;color:#222;background:#fff}"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:24px 0 8px;border-bottom:2px solid #ccd;"
    "padding-bottom:2px}code,.mono{font-family:'DejaVu Sans Mono',monospace;font-size:12px}"
    ".muted{color:#667}.cards{display:flex;flex-wrap:wrap;gap:10px;margin:10px 0}"
    ".card{border:1px solid #ccd;border-radius:6px;padding:8px 12px;background:#f4f6fb;min-width:170px}"
    ".card b{display:block;font-size:18px;color:#1f4e9c}"
    "table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #dde;padding:2px 7px;text-align:left}"
    "th{background:#eef1f8}td.n{text-align:right;font-variant-numeric:tabular-nums}"
    ".hists{display:flex;flex-wrap:wrap;gap:8px}.hist{border:1px solid #dde;border-radius:4px;padding:4px;"
    "width:362px;box-sizing:border-box}.hist .t{font-weight:bold;word-break:break-all}.hist .r{font-size:11px}"
    ".sw{display:inline-block;width:10px;height:10px;margin:0 3px 0 8px;vertical-align:middle}"
    "nav a{margin-right:12px}svg text{font-family:'DejaVu Sans',Arial,sans-serif}";

static void section_summary(FILE *f, const struct onnxq_report_input *in)
{
    fputs("<h2 id=\"summary\">Summary</h2>\n<div class=\"cards\">", f);
    fputs("<div class=\"card\">Model size<b>", f);
    put_bytes(f, in->size_fp32);
    fputs(" &rarr; ", f);
    put_bytes(f, in->size_int8);
    fputs("</b>", f);
    if (in->size_fp32 > 0 && in->size_int8 >= 0)
        fprintf(f, "INT8 / FP32 = %.3f", (double)in->size_int8 / (double)in->size_fp32);
    fputs("</div>", f);
    fputs("<div class=\"card\">Latency per run<b>", f);
    bool lat = in->latency_fp32_ms > 0 && in->latency_int8_ms > 0;
    if (lat)
        fprintf(f, "%.2f &rarr; %.2f ms</b>speed-up %.2fx", in->latency_fp32_ms, in->latency_int8_ms,
                in->latency_fp32_ms / in->latency_int8_ms);
    else
        fputs("not measured</b>", f);
    fputs("</div>", f);
    const struct onnxq_compare_result *c = in->compare;
    if (c && c->n_outputs) {
        double worst = INFINITY;
        for (size_t i = 0; i < c->n_outputs; i++)
            if (c->outputs[i].sqnr_db < worst || isnan(c->outputs[i].sqnr_db))
                worst = c->outputs[i].sqnr_db;
        fputs("<div class=\"card\">Output SQNR (worst output)<b>", f);
        put_db(f, worst);
        fprintf(f, " dB</b>%zu sample%s</div>", c->samples, c->samples == 1 ? "" : "s");
    }
    if (in->plan) {
        fprintf(f, "<div class=\"card\">Quantizable nodes<b>%zu INT8 / %zu float</b>%zu activation Q/DQ</div>",
                in->plan->n_nodes - in->plan->n_float, in->plan->n_float, in->plan->n_qtensors);
    }
    fputs("</div>\n", f);
    if (in->latency_note && lat) {
        fputs("<p class=\"muted\">Latency: ", f);
        onnxq_report_escape(f, in->latency_note);
        fputs("</p>\n", f);
    }
    if (c) {
        fputs("<table><tr><th>graph output</th><th>INT8 output</th><th>SQNR dB</th><th>cosine</th>"
              "<th>max abs error</th><th>top-1 agreement</th></tr>\n", f);
        for (size_t i = 0; i < c->n_outputs; i++) {
            const struct onnxq_compare_output *o = &c->outputs[i];
            fputs("<tr><td class=\"mono\">", f);
            onnxq_report_escape(f, o->name);
            fputs("</td><td class=\"mono\">", f);
            onnxq_report_escape(f, o->int8_name);
            fputs("</td><td class=\"n\">", f);
            put_db(f, o->sqnr_db);
            fprintf(f, "</td><td class=\"n\">%.6f</td><td class=\"n\">", o->cosine);
            put_num(f, o->max_abs);
            fputs("</td><td class=\"n\">", f);
            put_share(f, o->scores ? o->top1 : -1);
            fputs("</td></tr>\n", f);
        }
        fputs("</table>\n", f);
        fprintf(f, "<p class=\"muted\">%zu sample%s", c->samples, c->samples == 1 ? "" : "s");
        if (c->source[0]) {
            fputs(" from ", f);
            onnxq_report_escape(f, c->source);
        }
        fprintf(f, "; onnxq executor time for all samples: FP32 %.2f s, INT8 %.2f s (one busy machine: "
                   "indicative only).</p>\n",
                c->seconds_fp32, c->seconds_int8);
    }
}

/* x pixel of a dB value on the chart scale [0, top]. */
static double bar_len(double db, double top)
{
    if (isnan(db) || db <= 0)
        return 0;
    if (db >= top)
        return CHART_BARS;
    return db / top * CHART_BARS;
}

static void legend_bands(FILE *f)
{
    fputs("<p class=\"muted\">", f);
    for (int b = 0; b < BAND_COUNT; b++)
        fprintf(f, "<span class=\"sw\" style=\"background:%s\"></span>%s", sqnr_bands[b].color, sqnr_bands[b].label);
    fputs("</p>\n", f);
}

/* Scale top of an SQNR chart: the largest finite value, rounded up to 10 dB,
 * at least 40 dB. */
static double chart_top(const double *v, size_t n)
{
    double top = 40;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i]) && v[i] > top)
            top = v[i];
    return ceil(top / 10.0) * 10.0;
}

static void chart_axis(FILE *f, double top, int y)
{
    for (double t = 0; t <= top + 1e-9; t += top > 60 ? 20 : 10) {
        double x = CHART_LABEL + t / top * CHART_BARS;
        fprintf(f, "<line x1=\"%.1f\" y1=\"14\" x2=\"%.1f\" y2=\"%d\" stroke=\"#dde\"/>"
                   "<text x=\"%.1f\" y=\"11\" font-size=\"10\" text-anchor=\"middle\" fill=\"#667\">%g</text>",
                x, x, y, x, t);
    }
}

static void section_layers(FILE *f, const struct onnxq_report_input *in)
{
    fputs("<h2 id=\"layers\">Per-layer SQNR</h2>\n", f);
    const struct onnxq_compare_result *c = in->compare;
    if (!c || c->n_tensors == 0) {
        fputs("<p class=\"muted\">No per-tensor comparison was run (<code>onnxq compare FP32 INT8 --data ... "
              "--report</code> draws it).</p>\n",
              f);
        return;
    }
    size_t n = c->n_tensors, rows = n < CHART_MAX_ROWS ? n : CHART_MAX_ROWS;
    double *v = malloc(n * sizeof(double));
    size_t *order = malloc(n * sizeof(size_t));
    if (!v || !order) {
        fputs("<p>out of memory drawing the chart</p>\n", f);
        free(v);
        free(order);
        return;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = c->tensors[i].sqnr_db;
    double top = chart_top(v, n);
    fprintf(f, "<p>SQNR of every float activation of the FP32 model against its INT8 counterpart, in execution "
               "order (%zu tensors, %zu of them quantized: <b>Q</b>; a grey tick marks a quantized tensor before "
               "its own Q/DQ, so the gap is the error its quantization adds). Higher is better; bars are clipped at "
               "%g dB.</p>\n",
            n, c->n_quantized, top);
    legend_bands(f);
    int height = 20 + (int)rows * CHART_ROW;
    fprintf(f, "<svg width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"per-layer SQNR\">",
            CHART_LABEL + CHART_BARS + 80, height, CHART_LABEL + CHART_BARS + 80, height);
    chart_axis(f, top, height);
    for (size_t i = 0; i < rows; i++) {
        const struct onnxq_compare_tensor *t = &c->tensors[i];
        int y = 18 + (int)i * CHART_ROW;
        fputs("<g><title>", f);
        onnxq_report_escape(f, t->name);
        if (t->renamed) {
            fputs(" (INT8: ", f);
            onnxq_report_escape(f, t->int8_name);
            fputs(")", f);
        }
        fputs(" &mdash; ", f);
        onnxq_report_escape(f, t->op_type);
        fputs(", ", f);
        put_db(f, t->sqnr_db);
        fputs(" dB", f);
        if (t->has_pre) {
            fputs(" (before its own Q/DQ: ", f);
            put_db(f, t->sqnr_pre_db);
            fputs(" dB)", f);
        }
        fputs("</title>", f);
        fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\"%s>", CHART_LABEL - 6, y + 10,
                t->quantized ? " font-weight=\"bold\"" : "");
        escape_short(f, t->name);
        if (t->quantized)
            fputs(" Q", f);
        fputs("</text>", f);
        fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>", CHART_LABEL, y + 1,
                bar_len(t->sqnr_db, top), CHART_ROW - 3, sqnr_bands[band_of(t->sqnr_db)].color);
        /* the tensor before its own Q/DQ: the gap to the bar is what its
         * quantization adds */
        if (t->has_pre)
            fprintf(f, "<rect x=\"%.1f\" y=\"%d\" width=\"2\" height=\"%d\" fill=\"#555\"/>",
                    CHART_LABEL + bar_len(t->sqnr_pre_db, top) - 1, y, CHART_ROW - 1);
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" fill=\"#444\">",
                CHART_LABEL + fmax(bar_len(t->sqnr_db, top), t->has_pre ? bar_len(t->sqnr_pre_db, top) : 0) + 4,
                y + 10);
        put_db(f, t->sqnr_db);
        fputs("</text></g>\n", f);
    }
    fputs("</svg>\n", f);
    if (rows < n)
        fprintf(f, "<p class=\"muted\">%zu more tensors not drawn.</p>\n", n - rows);
    /* the worst ones as a table */
    onnxq_compare_rank(c, order);
    size_t worst = n < 25 ? n : 25;
    fprintf(f, "<h3>Worst %zu tensors</h3>\n<table><tr><th>#</th><th>tensor</th><th>op</th><th>node</th>"
               "<th>INT8 name</th><th>SQNR dB</th><th>before own Q/DQ dB</th><th>cosine</th><th>max abs</th></tr>\n",
            worst);
    for (size_t k = 0; k < worst; k++) {
        const struct onnxq_compare_tensor *t = &c->tensors[order[k]];
        fprintf(f, "<tr><td class=\"n\">%zu</td><td class=\"mono\">", k + 1);
        onnxq_report_escape(f, t->name);
        fputs("</td><td>", f);
        onnxq_report_escape(f, t->op_type);
        fputs("</td><td class=\"mono\">", f);
        onnxq_report_escape(f, t->node);
        fputs("</td><td class=\"mono\">", f);
        if (t->renamed)
            onnxq_report_escape(f, t->int8_name);
        fputs("</td><td class=\"n\">", f);
        put_db(f, t->sqnr_db);
        fputs("</td><td class=\"n\">", f);
        if (t->has_pre)
            put_db(f, t->sqnr_pre_db);
        fprintf(f, "</td><td class=\"n\">%.6f</td><td class=\"n\">", t->cosine);
        put_num(f, t->max_abs);
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
    if (c->n_unmatched) {
        fprintf(f, "<p class=\"muted\">%zu FP32 activation%s without an INT8 counterpart:", c->n_unmatched,
                c->n_unmatched == 1 ? "" : "s");
        for (size_t i = 0; i < c->n_unmatched; i++) {
            fputs(i ? ", <code>" : " <code>", f);
            onnxq_report_escape(f, c->unmatched[i]);
            fputs("</code>", f);
        }
        fputs("</p>\n", f);
    }
    free(v);
    free(order);
}

static void section_sensitivity(FILE *f, const struct onnxq_report_input *in)
{
    fputs("<h2 id=\"sensitivity\">Sensitivity ranking</h2>\n", f);
    const struct onnxq_sens_result *s = in->sens;
    if (!s || s->n == 0) {
        fputs("<p class=\"muted\">No sensitivity analysis was run (<code>onnxq sensitivity</code>, or "
              "<code>onnxq quantize --max-loss</code>).</p>\n",
              f);
    } else {
        /* the all-but measurements are optional (NaN when not run) */
        bool except = false;
        for (size_t i = 0; i < s->n; i++)
            except |= !isnan(s->e[i].sqnr_except);
        fputs("<p>Output SQNR with <b>only</b> this node (group) quantized (bar)", f);
        if (except)
            fputs(", and with <b>all but</b> this node quantized (black tick)", f);
        fputs("; ranked most sensitive first. All quantized: ", f);
        put_db(f, s->sqnr_all);
        fputs(" dB; all float: ", f);
        put_db(f, s->sqnr_none);
        fprintf(f, " dB; %zu samples, %zu runs, %.1f s.</p>\n", s->samples, s->runs, s->seconds);
        legend_bands(f);
        size_t rows = s->n < CHART_MAX_ROWS ? s->n : CHART_MAX_ROWS;
        double *v = malloc(2 * s->n * sizeof(double));
        if (!v) {
            fputs("<p>out of memory drawing the chart</p>\n", f);
            return;
        }
        for (size_t i = 0; i < s->n; i++) {
            v[2 * i] = s->e[i].sqnr_only;
            v[2 * i + 1] = s->e[i].sqnr_except;
        }
        double top = chart_top(v, 2 * s->n);
        free(v);
        int height = 20 + (int)rows * CHART_ROW;
        fprintf(f, "<svg width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"sensitivity\">",
                CHART_LABEL + CHART_BARS + 80, height);
        chart_axis(f, top, height);
        for (size_t i = 0; i < rows; i++) {
            const struct onnxq_sens_entry *e = &s->e[i];
            int y = 18 + (int)i * CHART_ROW;
            fputs("<g><title>", f);
            onnxq_report_escape(f, e->members);
            fputs(": only ", f);
            put_db(f, e->sqnr_only);
            if (!isnan(e->sqnr_except)) {
                fputs(" dB, all but ", f);
                put_db(f, e->sqnr_except);
            }
            fputs(" dB</title>", f);
            fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\">%zu. ", CHART_LABEL - 6, y + 10,
                    i + 1);
            escape_short(f, e->node);
            fputs("</text>", f);
            fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>", CHART_LABEL, y + 1,
                    bar_len(e->sqnr_only, top), CHART_ROW - 3, sqnr_bands[band_of(e->sqnr_only)].color);
            bool ex = !isnan(e->sqnr_except);
            if (ex)
                fprintf(f, "<rect x=\"%.1f\" y=\"%d\" width=\"2\" height=\"%d\" fill=\"#111\"/>",
                        CHART_LABEL + bar_len(e->sqnr_except, top) - 1, y, CHART_ROW - 1);
            fprintf(f, "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" fill=\"#444\">",
                    CHART_LABEL + fmax(bar_len(e->sqnr_only, top), ex ? bar_len(e->sqnr_except, top) : 0) + 5, y + 10);
            put_db(f, e->sqnr_only);
            if (ex) {
                fputs(" / ", f);
                put_db(f, e->sqnr_except);
            }
            fputs("</text></g>\n", f);
        }
        fputs("</svg>\n", f);
        fputs("<table><tr><th>rank</th><th>node</th><th>op</th><th>group</th><th>SQNR only dB</th>"
              "<th>SQNR all but dB</th><th>top-1 only</th><th>top-1 all but</th></tr>\n",
              f);
        for (size_t i = 0; i < s->n; i++) {
            const struct onnxq_sens_entry *e = &s->e[i];
            fprintf(f, "<tr><td class=\"n\">%zu</td><td class=\"mono\">", i + 1);
            onnxq_report_escape(f, e->node);
            fputs("</td><td>", f);
            onnxq_report_escape(f, e->op_type);
            fputs("</td><td class=\"mono\">", f);
            onnxq_report_escape(f, e->members);
            fputs("</td><td class=\"n\">", f);
            put_db(f, e->sqnr_only);
            fputs("</td><td class=\"n\">", f);
            put_db(f, e->sqnr_except);
            fputs("</td><td class=\"n\">", f);
            put_share(f, e->top1_only);
            fputs("</td><td class=\"n\">", f);
            put_share(f, e->top1_except);
            fputs("</td></tr>\n", f);
        }
        fputs("</table>\n", f);
    }
    const struct onnxq_maxloss_result *ml = in->maxloss;
    if (ml) {
        fputs("<h3>Accuracy budget (--max-loss)</h3>\n<p>Budget <code>", f);
        onnxq_report_escape(f, in->maxloss_spec ? in->maxloss_spec : "?");
        fprintf(f, "</code>: <b>%s</b>. ", ml->met ? "met" : "NOT met, even with every node float");
        fputs("Metric with everything quantized ", f);
        put_num(f, ml->metric_all);
        fputs(", with the nodes below kept float ", f);
        put_num(f, ml->metric);
        fputs(", all float ", f);
        put_num(f, ml->metric_none);
        fprintf(f, " (%zu variants evaluated, %.1f s).</p>\n<p>%zu node%s kept float by the budget:", ml->evaluations,
                ml->seconds, ml->n_float, ml->n_float == 1 ? "" : "s");
        for (size_t i = 0; i < ml->n_float && ml->float_nodes; i++) {
            fputs(i ? ", <code>" : " <code>", f);
            onnxq_report_escape(f, ml->float_nodes[i]);
            fputs("</code>", f);
        }
        fputs("</p>\n", f);
    }
}

static void section_float(FILE *f, const struct onnxq_report_input *in)
{
    fputs("<h2 id=\"float\">Nodes kept float</h2>\n", f);
    const struct onnxq_quant_report *q = in->quant;
    if (q && q->n_ops) {
        fputs("<table><tr><th>op type</th><th>INT8</th><th>float</th></tr>\n", f);
        for (size_t i = 0; i < q->n_ops; i++) {
            fputs("<tr><td>", f);
            onnxq_report_escape(f, q->ops[i].op);
            fprintf(f, "</td><td class=\"n\">%zu</td><td class=\"n\">%zu</td></tr>\n", q->ops[i].quantized,
                    q->ops[i].kept_float);
        }
        fputs("</table>\n", f);
    }
    const struct onnxq_report_plan *p = in->plan;
    if (!p) {
        fputs("<p class=\"muted\">The INT8 model was not scanned.</p>\n", f);
        return;
    }
    fprintf(f, "<p>%zu of %zu nodes of quantizable op types compute in float in the INT8 model (they read no "
               "QuantizeLinear&rarr;DequantizeLinear activation; their weights may still be stored as int8).</p>\n",
            p->n_float, p->n_nodes);
    /* grouped by op type, in order of first appearance */
    for (size_t i = 0; i < p->n_nodes; i++) {
        bool first = true;
        for (size_t j = 0; j < i && first; j++)
            first = strcmp(p->nodes[j].op_type, p->nodes[i].op_type) != 0;
        if (!first)
            continue;
        size_t nf = 0, nq = 0;
        for (size_t j = i; j < p->n_nodes; j++)
            if (strcmp(p->nodes[j].op_type, p->nodes[i].op_type) == 0)
                *(p->nodes[j].quantized ? &nq : &nf) += 1;
        if (!nf)
            continue;
        fputs("<p><b>", f);
        onnxq_report_escape(f, p->nodes[i].op_type);
        fprintf(f, "</b> (%zu float, %zu INT8):", nf, nq);
        size_t k = 0;
        for (size_t j = i; j < p->n_nodes; j++) {
            if (p->nodes[j].quantized || strcmp(p->nodes[j].op_type, p->nodes[i].op_type) != 0)
                continue;
            fputs(k++ ? ", <code>" : " <code>", f);
            onnxq_report_escape(f, *p->nodes[j].name ? p->nodes[j].name : "(unnamed)");
            fputs("</code>", f);
        }
        fputs("</p>\n", f);
    }
}

/* One histogram card. `used` is the INT8 model's range (may be NULL). */
static void hist_card(FILE *f, const struct onnxq_report_input *in, const struct onnxq_calib_entry *e,
                      const struct onnxq_report_qtensor *used, uint64_t *cols)
{
    const struct onnxq_hist *h = &e->hist;
    bool have[ONNXQ_CALIB_METHOD_COUNT] = {0};
    double lo[ONNXQ_CALIB_METHOD_COUNT], hi[ONNXQ_CALIB_METHOD_COUNT];
    double xa = h->min, xb = h->max;
    for (int m = 0; m < ONNXQ_CALIB_METHOD_COUNT; m++) {
        if (!method_color[m] || (onnxq_calib_methods[m].needs_histogram && !e->has_hist))
            continue;
        struct onnxq_error ignored;
        if (onnxq_calib_entry_range(in->table, e, (enum onnxq_calib_method)m, in->act_type, &lo[m], &hi[m],
                                    &ignored) != ONNXQ_OK)
            continue;
        have[m] = true;
        xa = fmin(xa, lo[m]);
        xb = fmax(xb, hi[m]);
    }
    /* methods whose range gives the INT8 model's scale and zero point: for
     * `auto` and for a model quantized elsewhere, which method was used */
    bool solid[ONNXQ_CALIB_METHOD_COUNT] = {0}, match[ONNXQ_CALIB_METHOD_COUNT] = {0};
    for (int m = 0; m < ONNXQ_CALIB_METHOD_COUNT; m++) {
        if (used && have[m]) {
            float sc;
            int32_t zp;
            onnxq_qparams_from_range(lo[m], hi[m], in->act_type, &sc, &zp);
            match[m] = zp == used->zero_point && fabsf(sc - used->scale) <= 1e-6f * used->scale;
        }
        solid[m] = have[m] && (m == in->method || match[m]);
    }
    if (used) {
        xa = fmin(xa, used->lo);
        xb = fmax(xb, used->hi);
    }
    fputs("<div class=\"hist\"><div class=\"t mono\">", f);
    onnxq_report_escape(f, e->name);
    fputs("</div>", f);
    if (!isfinite(xa) || !isfinite(xb)) {
        fputs("<div class=\"muted\">no finite value observed</div></div>\n", f);
        return;
    }
    double w = onnxq_hist_width(h);
    if (e->has_hist) {
        /* whole bins at both ends, so no observed mass falls outside */
        xa = fmin(xa, floor(h->min / w) * w);
        xb = fmax(xb, (floor(h->max / w) + 1) * w);
    }
    double pad = (xb - xa) * 0.04;
    if (!(pad > 0))
        pad = fmax(fabs(xa) * 0.1, 1e-6);
    xa -= pad;
    xb += pad;
    const double L = 6, R = HIST_W - 6, T = 6, B = HIST_H - 16;
#define XPIX(x) (L + ((x) - xa) / (xb - xa) * (R - L))
    fprintf(f, "<svg width=\"%d\" height=\"%d\" role=\"img\">", HIST_W, HIST_H);
    fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#fbfbfd\" stroke=\"#eee\"/>", HIST_W, HIST_H);
    if (used) {
        double a = XPIX(used->lo), b = XPIX(used->hi);
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#ffd54f\" opacity=\"0.45\"/>",
                a, T, b - a, B - T);
    }
    if (e->has_hist) {
        size_t ncols = ONNXQ_REPORT_HIST_COLS;
        double bins_spanned = (xb - xa) / w;
        if (bins_spanned < (double)ncols)
            ncols = bins_spanned < 8 ? 8 : (size_t)bins_spanned;
        onnxq_report_downsample(h, xa, xb, ncols, cols);
        uint64_t cmax = 0;
        for (size_t k = 0; k < ncols; k++)
            if (cols[k] > cmax)
                cmax = cols[k];
        double denom = in->linear_counts ? (double)cmax : log1p((double)cmax);
        /* step outline; runs of equal height are one segment */
        fprintf(f, "<path fill=\"#5b8def\" d=\"M%.1f %.1f", L, B);
        double prev = B;
        for (size_t k = 0; k < ncols; k++) {
            double hgt = cmax ? (in->linear_counts ? (double)cols[k] : log1p((double)cols[k])) / denom : 0;
            double y = B - hgt * (B - T);
            if (fabs(y - prev) >= 0.05) {
                if (k)
                    fprintf(f, "H%.1f", L + (double)k / (double)ncols * (R - L));
                fprintf(f, "V%.1f", y);
                prev = y;
            }
        }
        fprintf(f, "H%.1fV%.1fZ\"/>", R, B);
    }
    /* method markers: dashed lines; solid and thicker for the chosen method
     * and those matching the INT8 range */
    for (int m = 0; m < ONNXQ_CALIB_METHOD_COUNT; m++) {
        if (!have[m] || !method_color[m])
            continue;
        bool chosen = solid[m];
        for (int side = 0; side < 2; side++) {
            double x = XPIX(side ? hi[m] : lo[m]);
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"%s\"%s/>",
                    x, T, x, B, method_color[m], chosen ? "2" : "1", chosen ? "" : " stroke-dasharray=\"3,2\"");
        }
    }
    if (used)
        for (int side = 0; side < 2; side++) {
            double x = XPIX(side ? used->hi : used->lo);
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e6a700\" stroke-width=\"2\"/>",
                    x, T, x, B);
        }
    if (xa < 0 && xb > 0)
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\" stroke-width=\"0.5\"/>",
                XPIX(0.0), B, XPIX(0.0), B + 4);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>", L, B, R, B);
    fprintf(f, "<text x=\"%.1f\" y=\"%d\" font-size=\"10\">%.4g</text>", L, HIST_H - 3, nz(xa));
    fprintf(f, "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" text-anchor=\"end\">%.4g</text>", R, HIST_H - 3,
            nz(xb));
    if (xa < 0 && xb > 0 && XPIX(0.0) - L > 40 && R - XPIX(0.0) > 40)
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" text-anchor=\"middle\">0</text>", XPIX(0.0),
                HIST_H - 3);
#undef XPIX
    fputs("</svg><div class=\"r\">", f);
    if (used)
        fprintf(f, "<span class=\"sw\" style=\"background:#e6a700;margin-left:0\"></span>INT8 [%.4g, %.4g] "
                   "(scale %.3g, zp %d)",
                nz(used->lo), nz(used->hi), (double)used->scale, (int)used->zero_point);
    fprintf(f, " &middot; data [%.4g, %.4g], %llu values", nz(h->min), nz(h->max), (unsigned long long)h->count);
    if (h->nan_count || h->inf_count)
        fprintf(f, ", %llu NaN, %llu Inf", (unsigned long long)h->nan_count, (unsigned long long)h->inf_count);
    fputs("<br>", f);
    for (int m = 0; m < ONNXQ_CALIB_METHOD_COUNT; m++)
        if (have[m] && method_color[m])
            fprintf(f, "<span class=\"sw\" style=\"background:%s;margin-left:%s\"></span>%s%s [%.4g, %.4g]%s%s ",
                    method_color[m], m ? "4px" : "0", solid[m] ? "<b>" : "", onnxq_calib_methods[m].name, nz(lo[m]),
                    nz(hi[m]), match[m] ? " = INT8" : "", solid[m] ? "</b>" : "");
    fputs("</div></div>\n", f);
}

static void section_histograms(FILE *f, const struct onnxq_report_input *in)
{
    fputs("<h2 id=\"histograms\">Activation histograms and clipping ranges</h2>\n", f);
    const struct onnxq_calib_table *t = in->table;
    if (!t || t->n == 0) {
        fputs("<p class=\"muted\">No calibration table (the histograms come from <code>onnxq quantize --data</code> "
              "or a table saved with its histograms).</p>\n",
              f);
        return;
    }
    uint64_t *cols = malloc(ONNXQ_REPORT_HIST_COLS * sizeof(uint64_t));
    if (!cols) {
        fputs("<p>out of memory drawing the histograms</p>\n", f);
        return;
    }
    fprintf(f, "<p>Calibration histogram of each %s tensor (%s counts, %llu sample%s, %s activations). Shaded band: "
               "the range the INT8 model uses (from its QuantizeLinear scale and zero point). Lines: the range each "
               "calibration method gives",
            in->plan ? "quantized" : "observed", in->linear_counts ? "linear" : "log(1+count)",
            (unsigned long long)t->samples, t->samples == 1 ? "" : "s", onnxq_qtype_names[in->act_type]);
    if (in->method >= 0 && in->method < ONNXQ_CALIB_METHOD_COUNT)
        fprintf(f, " (solid: the chosen method, <b>%s</b>)", onnxq_calib_methods[in->method].name);
    fputs(".</p>\n<p class=\"muted\">", f);
    for (int m = 0; m < ONNXQ_CALIB_METHOD_COUNT; m++)
        if (method_color[m])
            fprintf(f, "<span class=\"sw\" style=\"background:%s\"></span>%s", method_color[m],
                    onnxq_calib_methods[m].name);
    fputs("<span class=\"sw\" style=\"background:#e6a700\"></span>INT8 range</p>\n<div class=\"hists\">\n", f);
    size_t drawn = 0, limit = in->max_histograms ? in->max_histograms : SIZE_MAX, missing = 0;
    if (in->plan) {
        for (size_t i = 0; i < in->plan->n_qtensors && drawn < limit; i++) {
            const struct onnxq_calib_entry *e = onnxq_calib_table_find(t, in->plan->qtensors[i].name);
            if (!e) {
                missing++;
                continue;
            }
            hist_card(f, in, e, &in->plan->qtensors[i], cols);
            drawn++;
        }
    } else {
        for (size_t i = 0; i < t->n && drawn < limit; i++, drawn++)
            hist_card(f, in, &t->e[i], NULL, cols);
    }
    fputs("</div>\n", f);
    size_t total = in->plan ? in->plan->n_qtensors - missing : t->n;
    if (drawn < total)
        fprintf(f, "<p class=\"muted\">%zu more tensors not drawn (limit %zu).</p>\n", total - drawn, drawn);
    if (missing)
        fprintf(f, "<p class=\"muted\">%zu quantized tensor%s not in the calibration table.</p>\n", missing,
                missing == 1 ? "" : "s");
    free(cols);
}

/* --------------------------------------------------------------- driver */

void onnxq_report_input_init(struct onnxq_report_input *in)
{
    memset(in, 0, sizeof(*in));
    in->method = -1;
    in->size_fp32 = in->size_int8 = -1;
    in->latency_fp32_ms = in->latency_int8_ms = NAN;
}

enum onnxq_status onnxq_report_render(FILE *f, const char *what, const struct onnxq_report_input *in,
                                      struct onnxq_error *err)
{
    if (!f || !in)
        return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "onnxq_report_render: NULL file or input");
    const char *title = in->title ? in->title : "onnxq report";
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n", f);
    /* nothing may be fetched: no script, no external style, image or font */
    fputs("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
          "img-src data:\">\n<title>",
          f);
    onnxq_report_escape(f, title);
    fprintf(f, "</title>\n<style>%s</style></head>\n<body>\n<h1>", css);
    onnxq_report_escape(f, title);
    fputs("</h1>\n", f);
    if (in->command) {
        fputs("<div class=\"mono muted\">", f);
        onnxq_report_escape(f, in->command);
        fputs("</div>\n", f);
    }
    fputs("<p>", f);
    if (in->fp32_path) {
        fputs("FP32 <code>", f);
        onnxq_report_escape(f, in->fp32_path);
        fputs("</code> ", f);
    }
    if (in->int8_path) {
        fputs("&rarr; INT8 <code>", f);
        onnxq_report_escape(f, in->int8_path);
        fputs("</code>", f);
    }
    if (in->settings) {
        fputs("<br>", f);
        onnxq_report_escape(f, in->settings);
    }
    fputs("</p>\n<nav><a href=\"#summary\">summary</a><a href=\"#layers\">per-layer SQNR</a>"
          "<a href=\"#sensitivity\">sensitivity</a><a href=\"#float\">float nodes</a>"
          "<a href=\"#histograms\">histograms</a></nav>\n",
          f);
    section_summary(f, in);
    section_layers(f, in);
    section_sensitivity(f, in);
    section_float(f, in);
    section_histograms(f, in);
    fputs("<p class=\"muted\">Generated by onnxq.</p>\n</body></html>\n", f);
    if (ferror(f))
        return onnxq_fail(err, ONNXQ_E_IO, "%s: writing the report failed", what ? what : "report");
    return ONNXQ_OK;
}

enum onnxq_status onnxq_report_write(const char *path, const struct onnxq_report_input *in,
                                     struct onnxq_error *err)
{
    if (!path || !*path || !in)
        return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "onnxq_report_write: NULL path or input");
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f)
        return onnxq_fail(err, ONNXQ_E_NOMEM, "%s: out of memory rendering the report", path);
    enum onnxq_status st = onnxq_report_render(f, path, in, err);
    if (fclose(f) != 0 && st == ONNXQ_OK)
        st = onnxq_fail(err, ONNXQ_E_NOMEM, "%s: out of memory rendering the report", path);
    if (st == ONNXQ_OK)
        st = onnxq_write_file_atomic(path, buf, size, err);
    free(buf);
    return st;
}
