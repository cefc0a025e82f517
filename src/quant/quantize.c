#include "quant/quantize.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "ir/graph_util.h"
#include "ops/op.h"
#include "quant/passes.h"
#include "quant/quant_internal.h"
#include "quant/subgraph.h"

void onnxq_quant_options_init(struct onnxq_quant_options *o)
{
    memset(o, 0, sizeof(*o));
    o->method = ONNXQ_CALIB_MINMAX;
    o->act_type = ONNXQ_QTYPE_UINT8;
    o->placement = ONNXQ_PLACEMENT_AUTO;
}

enum onnxq_status onnxq_quant_prepare(struct onnxq_model *m, bool quiet, struct onnxq_error *err)
{
    enum onnxq_status st = ONNXQ_OK;
    (void)quiet;
#define ONNXQ_RUN_PASS(label, fn)                                                                 \
    do {                                                                                        \
        size_t changed = 0;                                                                     \
        if ((st = fn(m, &changed, err)) != ONNXQ_OK)                                            \
            return st;                                                                          \
        if (!quiet && changed)                                                                  \
            fprintf(stderr, "onnxq: prepare: %s: %zu change%s\n", #label, changed, changed == 1 ? "" : "s"); \
    } while (0);
    ONNXQ_PASSES(ONNXQ_RUN_PASS)
#undef ONNXQ_RUN_PASS
    return st;
}

/* ------------------------------------------------------- op descriptions */

/* Ops with a quantized form. `data` is a bit set of the input slots that
 * carry activations; `weight`/`bias` are the slots of constant weight and
 * bias (-1 = none); anchors are the compute-heavy ops whose INT8 kernels
 * are where the speed comes from. */
struct qop {
    const char *op;
    unsigned data;
    int weight, bias;
    bool anchor;
    bool variadic;  /* every input is data (Concat) */
};

static const struct qop qops[] = {
    {"Conv", 1u << 0, 1, 2, true, false},
    {"ConvTranspose", 1u << 0, 1, 2, true, false},
    {"Gemm", 1u << 0, 1, 2, true, false},
    {"MatMul", (1u << 0) | (1u << 1), 1, -1, true, false},
    {"Add", (1u << 0) | (1u << 1), -1, -1, false, false},
    {"Mul", (1u << 0) | (1u << 1), -1, -1, false, false},
    {"Concat", 0, -1, -1, false, true},
    {"AveragePool", 1u << 0, -1, -1, false, false},
    {"GlobalAveragePool", 1u << 0, -1, -1, false, false},
    {"Resize", 1u << 0, -1, -1, false, false},
    {"Sigmoid", 1u << 0, -1, -1, false, false},
    {"Softmax", 1u << 0, -1, -1, false, false},
};

/* Ops that only move data: their output reuses their input's scale and
 * zero point, so that onnxruntime can drop their Q/DQ. */
static const char *const shape_ops[] = {"Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten",
                                        "MaxPool", "Slice", "Gather", "Identity", "DepthToSpace",
                                        "SpaceToDepth"};

static const struct qop *find_qop(const struct onnxq_node *n)
{
    if (!onnxq_node_in_default_domain(n))
        return NULL;
    for (size_t i = 0; i < sizeof(qops) / sizeof(qops[0]); i++)
        if (strcmp(qops[i].op, n->op_type) == 0)
            return &qops[i];
    return NULL;
}

static bool is_shape_op(const struct onnxq_node *n)
{
    if (!onnxq_node_in_default_domain(n))
        return false;
    for (size_t i = 0; i < sizeof(shape_ops) / sizeof(shape_ops[0]); i++)
        if (strcmp(shape_ops[i], n->op_type) == 0)
            return true;
    if (strcmp(n->op_type, "Resize") == 0) {
        char buf[32];
        const char *mode = onnxq_attr_string(n, "mode", "nearest", buf, sizeof(buf));
        return strcmp(mode, "nearest") == 0;
    }
    return false;
}

static bool in_list(const char *const *list, const char *s)
{
    if (!list || !s)
        return false;
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return true;
    return false;
}

/* ------------------------------------------------------------- weights */

void onnxq_quantize_weights(const float *w, const int64_t *dims, int ndim, int axis, int qmax, int8_t *q,
                            float *scales)
{
    int64_t numel = onnxq_shape_numel(dims, ndim);
    int64_t channels = axis >= 0 ? dims[axis] : 1;
    int64_t inner = 1;
    for (int i = axis + 1; axis >= 0 && i < ndim; i++)
        inner *= dims[i];
    if (axis < 0)
        inner = numel;
    /* element e belongs to channel (e / inner) % channels */
    for (int64_t c = 0; c < channels; c++)
        scales[c] = 0;
    for (int64_t e = 0; e < numel; e++) {
        int64_t c = (e / inner) % channels;
        float a = fabsf(w[e]);
        if (a > scales[c])
            scales[c] = a;
    }
    for (int64_t c = 0; c < channels; c++)
        scales[c] = scales[c] > 0 ? scales[c] / (float)qmax : 1.0f;
    for (int64_t e = 0; e < numel; e++) {
        int64_t c = (e / inner) % channels;
        float v = nearbyintf(w[e] / scales[c]);
        q[e] = (int8_t)(v > qmax ? qmax : v < -qmax ? -qmax : v);
    }
}

/* ----------------------------------------------------------- rewriter */

struct qparam {
    float scale;
    int32_t zp;
};

struct rw {
    struct onnxq_model *m;
    struct onnxq_graph *g;
    const struct onnxq_calib_table *t;
    const struct onnxq_quant_options *o;
    struct onnxq_quant_report *r;
    struct onnxq_error *err;
    struct onnxq_namegen ng;
    struct onnxq_strmap params;   /* tensor -> struct qparam* */
    struct onnxq_strmap dq_of;    /* tensor -> name of its DequantizeLinear output */
    struct onnxq_strmap wdq_of;   /* weight initializer -> its DequantizeLinear output */
    struct onnxq_strmap range_of; /* tensor -> the tensor whose calibrated range it uses (folded Relu) */
    struct qparam *pool;
    size_t n_pool, cap_pool;
    char missing[900];
    size_t n_missing;
    char **owned;  /* name copies used as map keys: node strings change during the rewrite */
    size_t n_owned, cap_owned;
    bool oom;
};

static const char *keep(struct rw *w, const char *name)
{
    if (w->n_owned == w->cap_owned) {
        size_t nc = w->cap_owned ? 2 * w->cap_owned : 64;
        char **no = realloc(w->owned, nc * sizeof(*no));
        if (!no) {
            w->oom = true;
            return NULL;
        }
        w->owned = no;
        w->cap_owned = nc;
    }
    char *c = onnxq_strdup(name);
    if (!c) {
        w->oom = true;
        return NULL;
    }
    w->owned[w->n_owned++] = c;
    return c;
}

static struct qparam *new_param(struct rw *w)
{
    if (w->n_pool == w->cap_pool) {
        /* params are referenced by pointer: allocate blocks, never move */
        return NULL;
    }
    return &w->pool[w->n_pool++];
}

static const char *fresh(struct rw *w, const char *base, const char *suffix)
{
    char buf[600];
    snprintf(buf, sizeof(buf), "%s%s", base, suffix);
    const char *n = onnxq_namegen_make(&w->ng, buf);
    if (!n)
        w->oom = true;
    return n;
}

static struct onnxq_constant *new_const(const char *name, enum onnxq_dtype dt, int ndim, const int64_t *dims)
{
    struct onnxq_constant *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    if (!(c->name = onnxq_strdup(name)) || onnxq_tensor_alloc(&c->value, dt, ndim, dims, NULL) != ONNXQ_OK) {
        onnxq_constant_free(c);
        return NULL;
    }
    return c;
}

static bool add_init(struct rw *w, struct onnxq_constant *c)
{
    if (!c || !onnxq_graph_add_init(w->g, c)) {
        onnxq_constant_free(c);
        w->oom = true;
        return false;
    }
    return true;
}

static bool add_node(struct rw *w, struct onnxq_node *n)
{
    if (!n || !onnxq_graph_insert_node(w->g, w->g->n_nodes, n)) {
        onnxq_node_free(n);
        w->oom = true;
        return false;
    }
    return true;
}

static void note_missing(struct rw *w, const char *name)
{
    w->n_missing++;
    size_t used = strlen(w->missing);
    if (used < sizeof(w->missing) - 40)
        snprintf(w->missing + used, sizeof(w->missing) - used, "%s'%s'", used ? ", " : "", name);
}

/* Scale and zero point of an activation from the table. */
static const struct qparam *act_param(struct rw *w, const char *name)
{
    struct qparam *p = onnxq_strmap_get(&w->params, name);
    if (p)
        return p;
    const char *src = onnxq_strmap_get(&w->range_of, name);
    const struct onnxq_calib_entry *e = onnxq_calib_table_find(w->t, src ? src : name);
    if (!e) {
        note_missing(w, name);
        return NULL;
    }
    double lo, hi;
    if (onnxq_calib_entry_range(w->t, e, w->o->method, w->o->act_type, &lo, &hi, w->err) != ONNXQ_OK) {
        note_missing(w, name);
        return NULL;
    }
    if (!(p = new_param(w))) {
        w->oom = true;
        return NULL;
    }
    onnxq_qparams_from_range(lo, hi, w->o->act_type, &p->scale, &p->zp);
    const char *key = keep(w, name);
    if (!key || !onnxq_strmap_put(&w->params, key, p))
        w->oom = true;
    return p;
}

static bool set_param(struct rw *w, const char *name, const struct qparam *src)
{
    struct qparam *p = new_param(w);
    if (!p) {
        w->oom = true;
        return false;
    }
    *p = *src;
    const char *key = keep(w, name);
    return (key && onnxq_strmap_put(&w->params, key, p)) || (w->oom = true, false);
}

/* Q -> DQ pair for tensor `name`; returns the DQ output name. */
static const char *insert_qdq(struct rw *w, const char *name, const struct qparam *p, struct onnxq_node **qnode)
{
    const char *done = onnxq_strmap_get(&w->dq_of, name);
    *qnode = NULL;
    if (done)
        return done;
    const char *s_name = fresh(w, name, "_s");
    const char *z_name = fresh(w, name, "_zp");
    /* short suffixes: on small models the names of the Q/DQ nodes and
     * their parameters are a visible part of the file */
    const char *q_out = fresh(w, name, "_q");
    const char *dq_out = fresh(w, name, "_dq");
    const char *q_node = fresh(w, name, "_Q");
    const char *dq_node = fresh(w, name, "_DQ");
    if (w->oom)
        return NULL;
    struct onnxq_constant *s = new_const(s_name, ONNXQ_DT_FLOAT, 0, NULL);
    struct onnxq_constant *z =
        new_const(z_name, w->o->act_type == ONNXQ_QTYPE_UINT8 ? ONNXQ_DT_UINT8 : ONNXQ_DT_INT8, 0, NULL);
    if (!s || !z) {
        onnxq_constant_free(s);
        onnxq_constant_free(z);
        w->oom = true;
        return NULL;
    }
    *(float *)s->value.data = p->scale;
    if (w->o->act_type == ONNXQ_QTYPE_UINT8)
        *(uint8_t *)z->value.data = (uint8_t)p->zp;
    else
        *(int8_t *)z->value.data = (int8_t)p->zp;
    if (!add_init(w, s) || !add_init(w, z))
        return NULL;
    const char *qin[3] = {name, s_name, z_name};
    const char *dqin[3] = {q_out, s_name, z_name};
    struct onnxq_node *qn = onnxq_node_new("QuantizeLinear", q_node, 3, qin, 1, &q_out);
    if (!add_node(w, qn) || !add_node(w, onnxq_node_new("DequantizeLinear", dq_node, 3, dqin, 1, &dq_out)))
        return NULL;
    *qnode = qn;
    const char *key = keep(w, name);
    if (!key || !onnxq_strmap_put(&w->dq_of, key, (void *)dq_out)) {
        w->oom = true;
        return NULL;
    }
    w->r->activations++;
    return dq_out;
}

/* Per-channel axis of a weight for its op, or -1 (per tensor). */
int onnxq_quant_weight_axis(const struct onnxq_node *n, const struct onnxq_tensor *wt)
{
    if (strcmp(n->op_type, "Conv") == 0)
        return wt->ndim >= 1 ? 0 : -1;
    if (strcmp(n->op_type, "ConvTranspose") == 0)
        return wt->ndim >= 2 ? 1 : -1;
    if (strcmp(n->op_type, "Gemm") == 0)
        return wt->ndim == 2 ? (onnxq_attr_int(n, "transB", 0) ? 0 : 1) : -1;
    if (strcmp(n->op_type, "MatMul") == 0)
        return wt->ndim >= 2 ? wt->ndim - 1 : -1;
    return -1;
}

static const char *make_name(struct onnxq_namegen *ng, const char *base, const char *suffix)
{
    char buf[600];
    snprintf(buf, sizeof(buf), "%s%s", base, suffix);
    return onnxq_namegen_make(ng, buf);
}

/* Channels from which a FOLD scale (and a float op's bias) is stored as
 * float16 + Cast: below, the extra Cast node costs more than it saves. */
#define HALF_MIN_NUMEL 32

/* Smallest float16 value >= v (v positive, normal in float16), as float. */
static float half_at_least(float v)
{
    uint16_t h = onnxq_float_to_half(v);
    if (onnxq_half_to_float(h) < v)
        h++;  /* positive halves are ordered like their bit patterns */
    return onnxq_half_to_float(h);
}

enum onnxq_status onnxq_quant_store_weight(struct onnxq_graph *g, struct onnxq_namegen *ng,
                                           const struct onnxq_constant *wc, int axis, int qmax,
                                           enum onnxq_wform form, const float *min_scale,
                                           struct onnxq_wstore *out, struct onnxq_error *err)
{
    const struct onnxq_tensor *wt = &wc->value;
    struct onnxq_constant *q = NULL, *s = NULL, *z = NULL;
    struct onnxq_node *nq = NULL, *ns = NULL, *nm = NULL;
    float *scales = NULL;
    if (wt->dtype != ONNXQ_DT_FLOAT || (axis >= 0 && axis >= wt->ndim) || qmax < 1 || qmax > 127 ||
        (unsigned)form >= ONNXQ_WFORM_COUNT)
        return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "weight '%s': cannot store it as int8 (type or axis %d)",
                          wc->name, axis);
    bool fold = form == ONNXQ_WFORM_FOLD;
    int64_t channels = axis >= 0 ? wt->dims[axis] : 1;
    int64_t numel = onnxq_tensor_numel(wt);
    if (!(scales = malloc((size_t)channels * sizeof(float))))
        goto oom;
    if (!(q = calloc(1, sizeof(*q))) || onnxq_tensor_alloc(&q->value, ONNXQ_DT_INT8, wt->ndim, wt->dims, NULL))
        goto oom;
    onnxq_quantize_weights(wt->data, wt->dims, wt->ndim, axis, qmax, q->value.data, scales);
    bool redo = false;
    for (int64_t c = 0; min_scale && c < channels; c++)
        if (scales[c] < min_scale[c]) {
            /* a bias that would overflow int32 forces a coarser weight scale */
            scales[c] = min_scale[c];
            redo = true;
        }
    /* FOLD scales of many channels as float16: each scale is rounded up to
     * a float16 value and the weight quantized with it, so the stored
     * weight is still exactly float(q) * scale */
    bool half = fold && channels >= HALF_MIN_NUMEL;
    for (int64_t c = 0; half && c < channels; c++)
        half = scales[c] >= 0x1p-14f && scales[c] <= 32768.0f;
    for (int64_t c = 0; half && c < channels; c++) {
        float h = half_at_least(scales[c]);
        redo |= h != scales[c];
        scales[c] = h;
    }
    if (redo) {
        int64_t inner = 1;
        for (int i = axis + 1; axis >= 0 && i < wt->ndim; i++)
            inner *= wt->dims[i];
        if (axis < 0)
            inner = numel;
        const float *wf = wt->data;
        int8_t *qq = q->value.data;
        for (int64_t e = 0; e < numel; e++) {
            int64_t c = (e / inner) % channels;
            float v = nearbyintf(wf[e] / scales[c]);
            qq[e] = (int8_t)(v > qmax ? qmax : v < -qmax ? -qmax : v);
        }
    }
    const char *base = wc->name;
    /* short suffixes: on small models names are a visible part of the file */
    const char *q_name = make_name(ng, base, "_i8");
    const char *s_name = make_name(ng, base, half ? "_s16" : "_s");
    const char *c_out = fold ? make_name(ng, base, "_c") : "";
    const char *sf_out = half ? make_name(ng, base, "_s") : s_name;
    const char *f_out = make_name(ng, base, fold ? "_f" : "_dq");
    if (!q_name || !s_name || !c_out || !sf_out || !f_out || !(q->name = onnxq_strdup(q_name)))
        goto oom;
    /* FOLD: the scale broadcasts along `axis` ([1,..,C,..,1]); DQ: 1-D [C] */
    int64_t sdims[ONNXQ_MAX_DIMS];
    int sndim = 0;
    if (axis >= 0 && fold) {
        sndim = wt->ndim;
        for (int i = 0; i < sndim; i++)
            sdims[i] = i == axis ? channels : 1;
    } else if (axis >= 0) {
        sndim = 1;
        sdims[0] = channels;
    }
    s = new_const(s_name, half ? ONNXQ_DT_FLOAT16 : ONNXQ_DT_FLOAT, sndim, sdims);
    if (!s)
        goto oom;
    for (int64_t c = 0; c < channels; c++) {
        if (half)
            ((uint16_t *)s->value.data)[c] = onnxq_float_to_half(scales[c]);
        else
            ((float *)s->value.data)[c] = scales[c];
    }
    size_t after = q->value.nbytes + s->value.nbytes;
    if (fold) {
        /* unnamed: node names are optional in ONNX, and these nodes are
         * fully identified by the tensors they write (on small models the
         * names would be a visible part of the file) */
        const char *cin[1] = {q_name}, *sin[1] = {s_name};
        const char *min[2] = {c_out, sf_out};
        nq = onnxq_node_new("Cast", NULL, 1, cin, 1, &c_out);
        nm = onnxq_node_new("Mul", NULL, 2, min, 1, &f_out);
        if (!nq || !nm || !onnxq_node_set_int(nq, "to", ONNXQ_DT_FLOAT))
            goto oom;
        if (half && (!(ns = onnxq_node_new("Cast", NULL, 1, sin, 1, &sf_out)) ||
                     !onnxq_node_set_int(ns, "to", ONNXQ_DT_FLOAT)))
            goto oom;
    } else {
        /* an explicit int8 zero point of 0: without it onnxruntime 1.30
         * still makes QLinearConv but no longer fuses Gemm into QGemm
         * (openWakeWord hey_jarvis ran 1.6x slower than FP32) */
        const char *z_name = make_name(ng, base, "_z");
        if (!z_name || !(z = new_const(z_name, ONNXQ_DT_INT8, sndim, sdims)))
            goto oom;
        after += z->value.nbytes;
        const char *in[3] = {q_name, s_name, z_name};
        nq = onnxq_node_new("DequantizeLinear", NULL, 3, in, 1, &f_out);
        if (!nq || (axis >= 0 && !onnxq_node_set_int(nq, "axis", axis)))
            goto oom;
    }
    /* from here on the graph owns what it took; new initializers go to
     * the end of g->inits, new nodes to the front of g->nodes */
    const float *kept = fold ? NULL : s->value.data;
    struct onnxq_constant **inits[3] = {&q, &s, &z};
    for (int k = 0; k < 3; k++) {
        if (*inits[k] && !onnxq_graph_add_init(g, *inits[k]))
            goto oom;
        *inits[k] = NULL;
    }
    struct onnxq_node **nodes[3] = {&nm, &ns, &nq};
    for (int k = 0; k < 3; k++) {
        if (*nodes[k] && !onnxq_graph_insert_node(g, 0, *nodes[k]))
            goto oom;
        *nodes[k] = NULL;
    }
    free(scales);
    out->out = f_out;
    out->scales = kept;
    out->channels = channels;
    out->axis = axis;
    out->bytes_before = wt->nbytes;
    out->bytes_after = after;
    return ONNXQ_OK;
oom:
    free(scales);
    onnxq_constant_free(q);
    onnxq_constant_free(s);
    onnxq_constant_free(z);
    onnxq_node_free(nq);
    onnxq_node_free(ns);
    onnxq_node_free(nm);
    return onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory while storing weight '%s' as int8", wc->name);
}

struct wq {
    const char *dq_out;
    const float *scales;  /* per channel, owned by the scale initializer */
    int64_t channels;
    int axis;
};

/* int8 weight in `form`. `min_scale` (may be NULL) lists per-channel
 * minimum scales so that the int32 bias fits. */
static bool quantize_weight(struct rw *w, const struct onnxq_node *n, const struct onnxq_constant *wc,
                            enum onnxq_wform form, const float *min_scale, struct wq *out)
{
    const struct onnxq_tensor *wt = &wc->value;
    int axis = w->o->per_tensor ? -1 : onnxq_quant_weight_axis(n, wt);
    int qmax = w->o->reduce_range ? 63 : 127;
    struct onnxq_wstore ws;
    if (min_scale) {
        /* count the channels whose scale the bias forces up: those whose
         * max|w| / qmax is below the bound */
        int64_t channels = axis >= 0 ? wt->dims[axis] : 1, inner = 1, numel = onnxq_tensor_numel(wt);
        for (int i = axis + 1; axis >= 0 && i < wt->ndim; i++)
            inner *= wt->dims[i];
        if (axis < 0)
            inner = numel;
        float *mx = calloc((size_t)channels, sizeof(float));
        if (!mx) {
            w->oom = true;
            return false;
        }
        const float *wf = wt->data;
        for (int64_t e = 0; e < numel; e++) {
            int64_t c = (e / inner) % channels;
            mx[c] = fmaxf(mx[c], fabsf(wf[e]));
        }
        for (int64_t c = 0; c < channels; c++)
            if ((mx[c] > 0 ? mx[c] / (float)qmax : 1.0f) < min_scale[c])
                w->r->bias_scale_adjusted++;
        free(mx);
    }
    if (onnxq_quant_store_weight(w->g, &w->ng, wc, axis, qmax, form, min_scale, &ws, w->err) != ONNXQ_OK) {
        w->oom = true;
        return false;
    }
    w->r->weights_int8++;
    w->r->weight_bytes_before += ws.bytes_before;
    w->r->weight_bytes_after += ws.bytes_after;
    out->dq_out = ws.out;
    out->scales = ws.scales;
    out->channels = ws.channels;
    out->axis = ws.axis;
    return true;
}

/* int32 bias + DequantizeLinear with scale in_scale * w_scale[c]. */
static const char *quantize_bias(struct rw *w, const struct onnxq_constant *bc, float in_scale, const struct wq *wq)
{
    const struct onnxq_tensor *bt = &bc->value;
    int64_t n = onnxq_tensor_numel(bt);
    if (bt->ndim != 1 || (wq->channels != 1 && n != wq->channels))
        return NULL; /* unusual bias shape: keep it float */
    const char *q_name = fresh(w, bc->name, "_i32");
    const char *s_name = fresh(w, bc->name, "_s");
    const char *dq_out = fresh(w, bc->name, "_dq");
    if (w->oom)
        return NULL;
    struct onnxq_constant *q = new_const(q_name, ONNXQ_DT_INT32, 1, bt->dims);
    struct onnxq_constant *s = new_const(s_name, ONNXQ_DT_FLOAT, 1, bt->dims);
    if (!q || !s) {
        onnxq_constant_free(q);
        onnxq_constant_free(s);
        w->oom = true;
        return NULL;
    }
    const float *b = bt->data;
    float *sc = s->value.data;
    int32_t *qb = q->value.data;
    for (int64_t c = 0; c < n; c++) {
        sc[c] = in_scale * wq->scales[wq->channels == 1 ? 0 : c];
        double v = nearbyint((double)b[c] / sc[c]);
        qb[c] = (int32_t)(v > INT32_MAX ? INT32_MAX : v < -INT32_MAX ? -INT32_MAX : v);
    }
    if (!add_init(w, q) || !add_init(w, s))
        return NULL;
    const char *in[2] = {q_name, s_name};
    struct onnxq_node *dq = onnxq_node_new("DequantizeLinear", NULL, 2, in, 1, &dq_out);
    if (dq && !onnxq_node_set_int(dq, "axis", 0)) {
        onnxq_node_free(dq);
        dq = NULL;
    }
    if (!add_node(w, dq))
        return NULL;
    w->r->biases_int32++;
    return dq_out;
}

/* The bias of an op kept float, as float16 -> Cast(to float), which
 * onnxruntime folds at session init like the FOLD weights. float16 keeps
 * 11 significant bits: the bias changes by at most 2^-12 of its value,
 * well below the int8 weight's own rounding. Short or out-of-range biases
 * stay float (returns NULL). */
static const char *store_bias_half(struct rw *w, const struct onnxq_constant *bc)
{
    const struct onnxq_tensor *bt = &bc->value;
    int64_t n = onnxq_tensor_numel(bt);
    const float *b = bt->data;
    if (n < HALF_MIN_NUMEL)
        return NULL;
    for (int64_t c = 0; c < n; c++)
        if (!(fabsf(b[c]) <= 65504.0f))
            return NULL;
    const char *h_name = fresh(w, bc->name, "_h");
    const char *out = fresh(w, bc->name, "_f");
    if (w->oom)
        return NULL;
    struct onnxq_constant *h = new_const(h_name, ONNXQ_DT_FLOAT16, bt->ndim, bt->dims);
    if (!h) {
        w->oom = true;
        return NULL;
    }
    uint16_t *hv = h->value.data;
    for (int64_t c = 0; c < n; c++)
        hv[c] = onnxq_float_to_half(b[c]);
    struct onnxq_node *cast = onnxq_node_new("Cast", NULL, 1, &h_name, 1, &out);
    if (cast && !onnxq_node_set_int(cast, "to", ONNXQ_DT_FLOAT)) {
        onnxq_node_free(cast);
        cast = NULL;
    }
    if (!add_init(w, h) || !add_node(w, cast))
        return NULL;
    return out;
}

static void count_op(struct onnxq_quant_report *r, const char *op, bool quantized)
{
    size_t i = 0;
    while (i < r->n_ops && strcmp(r->ops[i].op, op) != 0)
        i++;
    if (i == r->n_ops) {
        if (r->n_ops == ONNXQ_QUANT_MAX_OPS)
            return;
        snprintf(r->ops[i].op, sizeof(r->ops[i].op), "%s", op);
        r->n_ops++;
    }
    if (quantized)
        r->ops[i].quantized++;
    else
        r->ops[i].kept_float++;
}

/* ------------------------------------------------------------ placement */

/* The latency-aware cost rule (placement auto). onnxruntime's INT8 kernels
 * only beat FP32 on dense convolutions with enough arithmetic per loaded
 * byte: a 3x3 (or larger) group-1 conv, a wide 1x1 conv, or a large matrix
 * product. Depthwise and thin 1x1 convs, ConvTranspose (no CPU QDQ fusion),
 * and elementwise ops pay more for their Q/DQ than they gain, so they stay
 * float (their weights are still stored as int8, in the form ORT folds).
 * A k x k conv must also do at least CONV_MACS_PER_QDQ multiply-adds per
 * element it converts (input elements read per output position, cin *
 * stride^2, plus the cout it writes): this keeps a network's first conv on
 * a 3-channel image float (PP-OCR det 16x3x3x3/s2: 15, cls 8x3x3x3/s2: 11),
 * measured faster in float on AVX-512 VNNI (det 640x640: 3 of 3 interleaved
 * rounds, medians 606/860/1039 vs 680/948/1071 ms, minima 380/634/718 vs
 * 437/683/873 ms, machine loaded). */
#define CONV_MACS_PER_QDQ 32
static bool worth_int8(const struct onnxq_graph *g, const struct onnxq_node *n)
{
    const char *op = n->op_type;
    const struct onnxq_constant *wc = n->n_inputs > 1 ? onnxq_graph_find_init(g, n->inputs[1]) : NULL;
    if (strcmp(op, "Conv") == 0) {
        if (!wc || wc->value.ndim < 3)
            return false;
        const int64_t *d = wc->value.dims;
        if (onnxq_attr_int(n, "group", 1) != 1)
            return false;
        int64_t k = 1;
        for (int i = 2; i < wc->value.ndim; i++)
            k *= d[i];
        int64_t cin = d[1], cout = d[0];
        if (k >= 9) {
            size_t ns = 0;
            const int64_t *st = onnxq_attr_ints(n, "strides", &ns);
            int64_t step = 1;
            for (size_t i = 0; st && i < ns; i++)
                step *= st[i] > 0 ? st[i] : 1;
            return cin * k >= 27 && cout >= 8 && cin * k * cout >= CONV_MACS_PER_QDQ * (cin * step + cout);
        }
        return cin >= 128 && cout >= 128;
    }
    if (strcmp(op, "Gemm") == 0 || strcmp(op, "MatMul") == 0) {
        if (!wc || wc->value.ndim < 2)
            return false;
        int64_t kk = wc->value.dims[wc->value.ndim - 2], nn = wc->value.dims[wc->value.ndim - 1];
        return kk * nn >= 64 * 64;
    }
    return false;
}

/* plan_node: whether n computes in INT8. `extend`: n is a dense conv that
 * reads an INT8 op's output (see extends_island), placed without the cost
 * rule. */
static bool plan_node(struct rw *w, const struct onnxq_node *n, bool extend)
{
    const struct qop *q = find_qop(n);
    if (!q)
        return false;
    const struct onnxq_quant_options *o = w->o;
    if (in_list(o->exclude_nodes, n->name) || in_list(o->exclude_op_types, n->op_type))
        return false;
    if (o->op_types && !in_list(o->op_types, n->op_type))
        return false;
    if (o->placement == ONNXQ_PLACEMENT_AUTO && !extend && !(q->anchor && worth_int8(w->g, n)))
        return false;
    /* every activation it reads and writes must be a float tensor the
     * calibration run observed; non-float ones (shape math) rule it out */
    for (size_t k = 0; k < n->n_inputs + n->n_outputs; k++) {
        bool in = k < n->n_inputs;
        const char *nm = in ? n->inputs[k] : n->outputs[k - n->n_inputs];
        bool data = !in || q->variadic || (k < 32 && (q->data & (1u << k)));
        if (!*nm || !data || (in && onnxq_graph_find_init(w->g, nm)))
            continue;
        if (onnxq_calib_table_find(w->t, nm))
            continue;
        if (onnxq_calib_table_is_nonfloat(w->t, nm) || extend)
            return false; /* an island extension is optional: no error */
        note_missing(w, nm);
        return false;
    }
    return true;
}

/* Islands (placement auto). onnxruntime runs every INT8 conv in NHWC
 * between float NCHWc neighbours, so each island boundary costs a
 * ReorderOutput, a QuantizeLinear and a Transpose on the way in and a
 * Transpose, a DequantizeLinear and a ReorderInput on the way out; between
 * two INT8 ops the transposes cancel and no Q/DQ is left. Measured per
 * island with ORT's profiler (scripts/node/ort_profile.mjs; PP-OCRv4 det
 * 640x640, 2 threads, ORT 1.30, AVX-512 VNNI): the boundaries, not the
 * kernels, decide. The rule: a dense conv reading an INT8 op's output
 * (directly, through a Relu the producer's QuantizeLinear absorbs, or
 * through data-movement ops) joins the island whatever its shape: its
 * input is already uint8 NHWC, so its INT8 form costs only its kernel,
 * while keeping it float costs a boundary plus a float conv with its
 * reorders. And data-movement ops after an INT8 op move uint8 (int8_shape
 * in the driver). On det this adds the head's two 1x1 convs (Conv 3x3 ->
 * Relu -> 1x1 24->96 -> DepthToSpace -> Relu -> 1x1 24->4 -> DepthToSpace)
 * and a 1x1 after a 1x1 to the 14 convs of the cost rule: CPU time per run
 * (intra-op spinning off) 0.65-0.68 of FP32 vs 0.66-0.72 before; wall
 * median of 200 runs 0.71-0.84 vs 0.78-0.86 before, in the same rounds,
 * on a loaded machine. Measured worse and so not done: dropping the three
 * 3x3 islands with the smallest gain (the profile's net ~0), placing a
 * Concat read only by INT8 ops (with the Q moved before the nearest
 * Resizes: uint8 Resize is slower than float in ORT 1.30), and the whole
 * SE/Add/Resize/Concat path in front of det's head conv in INT8. */

/* Index of node x in orig, or n. */
static size_t orig_index(struct onnxq_node *const *orig, size_t n, const struct onnxq_node *x)
{
    for (size_t i = 0; i < n; i++)
        if (orig[i] == x)
            return i;
    return n;
}

/* The single reader of tensor `name` (NULL if none, several, a subgraph
 * read, or a graph output). */
static struct onnxq_node *sole_reader(const struct onnxq_graph_index *idx, const char *name)
{
    const struct onnxq_value_entry *e = onnxq_graph_index_get(idx, name);
    if (!e || e->n_consumers != 1 || e->is_graph_output || e->consumers[0].slot < 0)
        return NULL;
    return e->consumers[0].node;
}

static bool is_relu(const struct onnxq_node *n)
{
    return strcmp(n->op_type, "Relu") == 0 && onnxq_node_in_default_domain(n) && n->n_inputs == 1 &&
           n->n_outputs == 1;
}

/* The quantized op whose QuantizeLinear can absorb `relu` (uint8 saturates
 * at the zero point): relu reads that op's output, or a data-movement op
 * reading it (Relu commutes with moving data), each the only reader and no
 * graph output. NULL when there is none. */
static struct onnxq_node *relu_fold_source(const struct onnxq_graph_index *idx, struct onnxq_node *const *orig,
                                           const bool *quant, size_t n0, const struct onnxq_node *relu,
                                           struct onnxq_node **via)
{
    *via = NULL;
    if (!is_relu(relu) || sole_reader(idx, relu->inputs[0]) != relu)
        return NULL;
    const struct onnxq_value_entry *e = onnxq_graph_index_get(idx, relu->inputs[0]);
    struct onnxq_node *p = e ? e->producer : NULL;
    if (p && is_shape_op(p) && p->n_outputs == 1 && p->n_inputs && !quant[orig_index(orig, n0, p)] &&
        sole_reader(idx, p->inputs[0]) == p) {
        const struct onnxq_value_entry *pe = onnxq_graph_index_get(idx, p->inputs[0]);
        *via = p;
        p = pe ? pe->producer : NULL;
    }
    size_t pi = p ? orig_index(orig, n0, p) : n0;
    if (pi == n0 || !quant[pi] || p->n_outputs != 1) {
        *via = NULL;
        return NULL;
    }
    return p;
}

/* Tensor `name` holds values an INT8 op writes: a quantized op's output,
 * a Relu folded into one, or a data-movement op's output on one (those
 * compute in uint8). */
static bool int8_written(const struct onnxq_graph_index *idx, struct onnxq_node *const *orig, const bool *quant,
                         size_t n0, const char *name, bool fold_relu, int depth)
{
    const struct onnxq_value_entry *e = onnxq_graph_index_get(idx, name);
    struct onnxq_node *p = e ? e->producer : NULL;
    size_t pi = p ? orig_index(orig, n0, p) : n0;
    if (pi == n0 || depth > 8 || e->is_graph_output)
        return false;
    if (quant[pi])
        return true;
    if (is_shape_op(p) && p->n_inputs && p->n_outputs == 1)
        return int8_written(idx, orig, quant, n0, p->inputs[0], fold_relu, depth + 1);
    struct onnxq_node *via;
    return fold_relu && relu_fold_source(idx, orig, quant, n0, p, &via) != NULL;
}

/* A dense (group 1) conv with a constant weight that reads an INT8 op's
 * output joins its island (the comment above). */
static bool extends_island(const struct onnxq_graph *g, const struct onnxq_graph_index *idx,
                           struct onnxq_node *const *orig, const bool *quant, size_t n0, const struct onnxq_node *n,
                           bool fold_relu)
{
    if (strcmp(n->op_type, "Conv") != 0 || !onnxq_node_in_default_domain(n) || n->n_inputs < 2 ||
        onnxq_attr_int(n, "group", 1) != 1)
        return false;
    const struct onnxq_constant *wc = onnxq_graph_find_init(g, n->inputs[1]);
    if (!wc || wc->value.dtype != ONNXQ_DT_FLOAT || wc->value.ndim < 3)
        return false;
    return int8_written(idx, orig, quant, n0, n->inputs[0], fold_relu, 0);
}

/* ---------------------------------------------------------------- driver */

static bool is_float_init(const struct onnxq_graph *g, const char *name, const struct onnxq_constant **out)
{
    const struct onnxq_constant *c = onnxq_graph_find_init(g, name);
    if (out)
        *out = c;
    return c && c->value.dtype == ONNXQ_DT_FLOAT;
}

/* Which readers of a tensor a float op writes switch to its DQ: the ops
 * computed in INT8 and the shape-only ops whose output is quantized. */
struct reader_filter {
    struct onnxq_node *const *orig;
    const bool *quant;
    size_t n;
    const struct onnxq_strmap *params;
};

static bool reads_dq(const struct reader_filter *f, const struct onnxq_node *n)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->orig[i] == n)
            return f->quant[i] ||
                   (is_shape_op(n) && n->n_outputs && onnxq_strmap_get(f->params, n->outputs[0]));
    return true; /* a node the rewriter added (Q/DQ) */
}

/* Index of the original node writing `name`, or n (none). */
static size_t producer_of(struct onnxq_node *const *orig, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; orig[i] && k < orig[i]->n_outputs; k++)
            if (strcmp(orig[i]->outputs[k], name) == 0)
                return i;
    return n;
}

/* Make the main-graph readers of `from` (except the Q node that reads it;
 * with a filter, only those it selects) read `to`. Graph outputs keep the
 * float tensor. */
static void reroute(struct onnxq_graph *g, const char *from, const char *to, const struct onnxq_node *skip,
                    const struct reader_filter *f)
{
    for (size_t i = 0; i < g->n_nodes; i++) {
        struct onnxq_node *n = g->nodes[i];
        if (n == skip || (f && !reads_dq(f, n)))
            continue;
        for (size_t k = 0; k < n->n_inputs; k++)
            if (strcmp(n->inputs[k], from) == 0)
                onnxq_node_set_input(n, k, to);
    }
}

enum onnxq_status onnxq_quantize_model(struct onnxq_model *m, const struct onnxq_calib_table *t,
                                       const struct onnxq_quant_options *o, struct onnxq_quant_report *r,
                                       struct onnxq_error *err)
{
    enum onnxq_status st = ONNXQ_OK;
    struct onnxq_graph *g = m->graph;
    struct rw w = {.m = m, .g = g, .t = t, .o = o, .r = r, .err = err};
    size_t n0 = g->n_nodes;
    bool *quant = calloc(n0 ? n0 : 1, sizeof(bool));
    struct onnxq_node **orig = malloc((n0 ? n0 : 1) * sizeof(*orig));
    char **tensors = NULL;
    const struct qparam **pin_of = NULL;
    bool *int8_shape = NULL;
    size_t n_tensors = 0;
    memset(r, 0, sizeof(*r));
    if (!quant || !orig)
        goto oom;
    memcpy(orig, g->nodes, n0 * sizeof(*orig));
    size_t slots = 16;
    for (size_t i = 0; i < n0; i++)
        slots += orig[i]->n_inputs + orig[i]->n_outputs;
    /* every tensor gets at most one qparam, referenced by pointer */
    w.cap_pool = 2 * slots;
    w.pool = calloc(w.cap_pool, sizeof(*w.pool));
    if (!w.pool || (st = onnxq_namegen_init(&w.ng, m, err)))
        goto out_st;
    bool per_axis = !o->per_tensor;
    if (onnxq_model_opset(m, "") < (per_axis ? 13 : 10)) {
        st = onnxq_fail(err, ONNXQ_E_UNSUPPORTED,
                        "the model's opset %lld is below %d, which %s DequantizeLinear needs; upgrade it first",
                        (long long)onnxq_model_opset(m, ""), per_axis ? 13 : 10, per_axis ? "per-axis" : "");
        goto out_st;
    }

    /* 1. plan: the cost rule, then (placement auto) the dense convs that
     * extend an island, to a fixed point */
    for (size_t i = 0; i < n0; i++)
        quant[i] = plan_node(&w, orig[i], false);
    bool fold_relu = o->act_type == ONNXQ_QTYPE_UINT8;
    struct onnxq_node **relu_of = calloc(n0 ? n0 : 1, sizeof(*relu_of));
    struct onnxq_node **via_of = calloc(n0 ? n0 : 1, sizeof(*via_of));
    int8_shape = calloc(n0 ? n0 : 1, sizeof(bool));
    if (!relu_of || !via_of || !int8_shape) {
        free(relu_of);
        free(via_of);
        goto oom;
    }
    {
        /* the index borrows the graph's name strings as keys: nothing may
         * be renamed or removed while it lives */
        struct onnxq_graph_index idx;
        if ((st = onnxq_graph_index_build(g, &idx, err))) {
            free(relu_of);
            free(via_of);
            goto out_st;
        }
        for (bool more = o->placement == ONNXQ_PLACEMENT_AUTO; more;) {
            more = false;
            for (size_t i = 0; i < n0; i++)
                if (!quant[i] && extends_island(g, &idx, orig, quant, n0, orig[i], fold_relu) &&
                    plan_node(&w, orig[i], true))
                    quant[i] = more = true;
        }
        /* 2. find the Relus to fold after a quantized op (directly or
         * through one data-movement op): with uint8 and range [0, max] the
         * QuantizeLinear saturation is the Relu */
        for (size_t i = 0; fold_relu && i < n0; i++) {
            struct onnxq_node *via, *src = relu_fold_source(&idx, orig, quant, n0, orig[i], &via);
            if (!src || onnxq_graph_is_output(g, orig[i]->outputs[0]))
                continue;
            size_t pi = orig_index(orig, n0, src);
            relu_of[pi] = orig[i];
            via_of[pi] = via;
        }
        onnxq_graph_index_free(&idx);
    }
    for (size_t i = 0; i < n0; i++) {
        struct onnxq_node *relu = relu_of[i];
        if (!relu || !orig[i])
            continue;
        /* the producer (or the data-movement op after it) now writes the
         * Relu's output name directly; through a data-movement op, the
         * producer's output takes the Relu output's range */
        struct onnxq_node *writer = via_of[i] ? via_of[i] : orig[i];
        char *nm = onnxq_strdup(relu->outputs[0]);
        const char *key = via_of[i] ? keep(&w, orig[i]->outputs[0]) : NULL;
        const char *src = via_of[i] ? keep(&w, relu->outputs[0]) : NULL;
        if (!nm || (via_of[i] && (!key || !src || !onnxq_strmap_put(&w.range_of, key, (void *)src)))) {
            free(nm);
            free(relu_of);
            free(via_of);
            goto oom;
        }
        free(writer->outputs[0]);
        writer->outputs[0] = nm;
        for (size_t k = 0; k < g->n_nodes; k++)
            if (g->nodes[k] == relu) {
                /* keep quant[] aligned with orig[]: mark the removed node */
                for (size_t j = 0; j < n0; j++)
                    if (orig[j] == relu)
                        orig[j] = NULL;
                onnxq_graph_remove_node(g, k);
                break;
            }
        r->relu_folded++;
    }
    free(relu_of);
    free(via_of);

    /* 3. the tensors to quantize: data inputs and consumed outputs of
     * quantized nodes */
    tensors = calloc(slots, sizeof(char *));
    pin_of = calloc(n0 ? n0 : 1, sizeof(*pin_of));
    if (!tensors || !pin_of)
        goto oom;
    for (size_t i = 0; i < n0; i++) {
        const struct onnxq_node *n = orig[i];
        if (!n || !quant[i])
            continue;
        const struct qop *q = find_qop(n);
        for (size_t k = 0; k < n->n_inputs; k++) {
            const char *nm = n->inputs[k];
            bool data = q->variadic || (k < 32 && (q->data & (1u << k)));
            /* constants (weights, and constant operands, which stay float)
             * are not activations */
            if (!*nm || !data || onnxq_graph_find_init(g, nm))
                continue;
            tensors[n_tensors++] = (char *)keep(&w, nm);
        }
        for (size_t k = 0; k < n->n_outputs; k++)
            if (*n->outputs[k])
                tensors[n_tensors++] = (char *)keep(&w, n->outputs[k]);
    }
    /* parameters: table ranges; Concat inputs share the output's */
    if (w.oom)
        goto oom;
    for (size_t i = 0; i < n_tensors; i++)
        act_param(&w, tensors[i]);
    for (size_t i = 0; i < n0; i++) {
        const struct onnxq_node *n = orig[i];
        if (!n || !quant[i] || strcmp(n->op_type, "Concat") != 0)
            continue;
        const struct qparam *p = onnxq_strmap_get(&w.params, n->outputs[0]);
        for (size_t k = 0; p && k < n->n_inputs; k++)
            set_param(&w, n->inputs[k], p);
    }
    for (size_t i = 0; i < n0; i++)
        if (orig[i] && quant[i] && orig[i]->n_inputs)
            pin_of[i] = onnxq_strmap_get(&w.params, orig[i]->inputs[0]);
    /* shape-only ops between two quantized tensors reuse the input's; one
     * reading an INT8 op's output (or such a shape op's) gets a quantized
     * output too, whatever reads it: onnxruntime drops its DQ/Q and moves
     * uint8 data, and the DQ moves after it (int8_shape) */
    for (size_t i = 0; i < n0; i++) {
        const struct onnxq_node *n = orig[i];
        if (!n || !is_shape_op(n) || !n->n_inputs || !n->n_outputs)
            continue;
        const struct qparam *pin = onnxq_strmap_get(&w.params, n->inputs[0]);
        size_t pi = producer_of(orig, n0, n->inputs[0]);
        if (pin && pi < n0 && (quant[pi] || int8_shape[pi]) && n->n_outputs == 1 && *n->outputs[0] &&
            !onnxq_graph_is_output(g, n->outputs[0]) && !onnxq_strmap_get(&w.params, n->outputs[0])) {
            int8_shape[i] = true;
            tensors[n_tensors++] = (char *)keep(&w, n->outputs[0]);
            set_param(&w, n->outputs[0], pin);
        } else if (pin && onnxq_strmap_get(&w.params, n->outputs[0])) {
            int8_shape[i] = pi < n0 && (quant[pi] || int8_shape[pi]);
            set_param(&w, n->outputs[0], pin);
        }
    }
    if (w.oom)
        goto oom;
    if (w.n_missing) {
        st = onnxq_fail(err, ONNXQ_E_INVALID_ARG,
                        "the calibration table has no usable '%s' range for %zu tensor%s the quantizer needs: %s%s",
                        onnxq_calib_methods[o->method].name, w.n_missing, w.n_missing == 1 ? "" : "s", w.missing,
                        strlen(w.missing) >= sizeof(w.missing) - 40 ? ", ..." : "");
        goto out_st;
    }

    /* 4. Q/DQ pairs for the activations */
    for (size_t i = 0; i < n_tensors; i++) {
        const char *nm = tensors[i];
        if (onnxq_strmap_get(&w.dq_of, nm))
            continue;
        const struct qparam *p = onnxq_strmap_get(&w.params, nm);
        struct onnxq_node *qn = NULL;
        char *from = onnxq_strdup(nm);
        const char *dq = from ? insert_qdq(&w, from, p, &qn) : NULL;
        if (!dq) {
            free(from);
            goto oom;
        }
        /* A tensor a float op writes exists in float anyway: its float
         * readers keep reading it, and only the INT8 readers get the DQ (a
         * DQ(Q(x)) in front of a float op would only convert back and
         * forth). Where a quantized op writes it, onnxruntime fuses the Q
         * into that op, so every reader goes through the DQ. */
        size_t pi = producer_of(orig, n0, from);
        bool q_prod = pi < n0 && (quant[pi] || int8_shape[pi] ||
                                  (is_shape_op(orig[pi]) && onnxq_strmap_get(&w.params, orig[pi]->inputs[0])));
        reroute(g, from, dq, qn, q_prod ? NULL : &(struct reader_filter){orig, quant, n0, &w.params});
        free(from);
    }

    /* 5. weights and biases */
    for (size_t i = 0; i < n0; i++) {
        struct onnxq_node *n = orig[i];
        if (!n)
            continue;
        const struct qop *q = find_qop(n);
        bool anchor_op = q && q->anchor && q->weight >= 0;
        if (!anchor_op || (size_t)q->weight >= n->n_inputs) {
            count_op(r, n->op_type, quant[i]);
            continue;
        }
        const struct onnxq_constant *wc = NULL, *bc = NULL;
        if (!is_float_init(g, n->inputs[q->weight], &wc) || wc->value.ndim < 1) {
            count_op(r, n->op_type, quant[i]);
            continue;
        }
        bool has_bias = q->bias >= 0 && (size_t)q->bias < n->n_inputs && is_float_init(g, n->inputs[q->bias], &bc);
        /* the input scale decides the bias scale */
        const struct qparam *pin = quant[i] ? pin_of[i] : NULL;
        float *min_scale = NULL;
        if (quant[i] && has_bias && pin) {
            /* |b / (s_in s_w)| <= 2^31 - 1 needs s_w >= |b| / (s_in (2^31 - 1)) */
            int axis = o->per_tensor ? -1 : onnxq_quant_weight_axis(n, &wc->value);
            int64_t ch = axis >= 0 ? wc->value.dims[axis] : 1;
            min_scale = calloc((size_t)ch, sizeof(float));
            if (!min_scale)
                goto oom;
            const float *b = bc->value.data;
            int64_t nb = onnxq_tensor_numel(&bc->value);
            for (int64_t c = 0; c < nb; c++) {
                float need = fabsf(b[c]) / (pin->scale * 2147483647.0f) * 1.0001f;
                int64_t cc = ch == 1 ? 0 : c;
                if (cc < ch && need > min_scale[cc])
                    min_scale[cc] = need;
            }
        }
        struct wq wq;
        char *wname = onnxq_strdup(n->inputs[q->weight]);
        bool ok = wname && quantize_weight(&w, n, wc, quant[i] ? ONNXQ_WFORM_DQ : ONNXQ_WFORM_FOLD, min_scale, &wq);
        free(min_scale);
        if (!ok) {
            free(wname);
            goto oom;
        }
        onnxq_node_set_input(n, (size_t)q->weight, wq.dq_out);
        free(wname);
        if (quant[i] && has_bias && pin) {
            const char *bdq = quantize_bias(&w, bc, pin->scale, &wq);
            if (w.oom)
                goto oom;
            if (bdq)
                onnxq_node_set_input(n, (size_t)q->bias, bdq);
        } else if (!quant[i] && has_bias) {
            const char *bh = store_bias_half(&w, bc);
            if (w.oom)
                goto oom;
            if (bh)
                onnxq_node_set_input(n, (size_t)q->bias, bh);
        }
        count_op(r, n->op_type, quant[i]);
    }

    /* 5b. weights in If/Loop/Scan bodies: int8 storage, float compute (subgraph.h) */
    if ((st = onnxq_quant_subgraphs(m, &w.ng, o, r, NULL, err)))
        goto out_st;

    /* 6. order, then drop the float weights nobody reads any more */
    if ((st = onnxq_graph_sort(g, err)) || onnxq_graph_eliminate_dead(g, err) < 0)
        goto out_st;
    if (!m->has_ir_version || m->ir_version < 7) {
        m->has_ir_version = true;
        m->ir_version = 7;
    }
    if ((st = onnxq_model_validate(m, err))) {
        onnxq_error_prefix(err, "internal error: the quantized graph is invalid: ");
        st = ONNXQ_E_INTERNAL;
    }
    goto out_st;
oom:
    st = onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory while quantizing");
out_st:
    onnxq_namegen_free(&w.ng);
    onnxq_strmap_free(&w.params);
    onnxq_strmap_free(&w.dq_of);
    onnxq_strmap_free(&w.wdq_of);
    onnxq_strmap_free(&w.range_of);
    free(w.pool);
    free(quant);
    free(orig);
    free(tensors);
    free(pin_of);
    free(int8_shape);
    for (size_t i = 0; i < w.n_owned; i++)
        free(w.owned[i]);
    free(w.owned);
    return st;
}
