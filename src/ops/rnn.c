/* Recurrent layers: LSTM, GRU, RNN.
 *
 * The op functions check the inputs, bring batch-first (layout = 1) tensors
 * into time-major order and call onnxq_rnn_layer, which computes one layer
 * in time-major order. Its BLAS version computes X*W^T for every time step
 * of a direction in one GEMM, then one H*R^T GEMM per step; the reference
 * version evaluates the ONNX equations with plain loops. */
#include <cblas.h>
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/rnn.h"

int onnxq_rnn_gates(enum onnxq_rnn_kind kind)
{
    return kind == ONNXQ_RNN_LSTM ? 4 : kind == ONNXQ_RNN_GRU ? 3 : 1;
}

int onnxq_rnn_acts(enum onnxq_rnn_kind kind)
{
    return kind == ONNXQ_RNN_LSTM ? 3 : kind == ONNXQ_RNN_GRU ? 2 : 1;
}

/* ------------------------------------------------------------ activations */

static float act1(const struct onnxq_rnn_activation *a, float x)
{
    switch (a->kind) {
    case ONNXQ_ACT_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case ONNXQ_ACT_TANH: return tanhf(x);
    case ONNXQ_ACT_RELU: return x > 0.0f ? x : 0.0f;
    case ONNXQ_ACT_AFFINE: return a->alpha * x + a->beta;
    case ONNXQ_ACT_LEAKYRELU: return x >= 0.0f ? x : a->alpha * x;
    case ONNXQ_ACT_THRESHOLDEDRELU: return x > a->alpha ? x : 0.0f;
    case ONNXQ_ACT_SCALEDTANH: return a->alpha * tanhf(a->beta * x);
    case ONNXQ_ACT_HARDSIGMOID: {
        float v = a->alpha * x + a->beta;
        return v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
    }
    case ONNXQ_ACT_ELU: return x >= 0.0f ? x : a->alpha * (expf(x) - 1.0f);
    case ONNXQ_ACT_SOFTSIGN: return x / (1.0f + fabsf(x));
    case ONNXQ_ACT_SOFTPLUS: return log1pf(expf(x));
    }
    return x;
}

static float clipv(const struct onnxq_rnn_cfg *cfg, float x)
{
    if (!cfg->has_clip)
        return x;
    return x < -cfg->clip ? -cfg->clip : x > cfg->clip ? cfg->clip : x;
}

/* Clip to [-clip, clip] (clip < 0: no clipping) and activate n values in
 * place. */
static void act_n(float clip, const struct onnxq_rnn_activation *a, float *x, int64_t n)
{
    if (clip >= 0.0f) {
        float c = clip;
        for (int64_t i = 0; i < n; i++)
            x[i] = x[i] < -c ? -c : x[i] > c ? c : x[i];
    }
    switch (a->kind) {
    case ONNXQ_ACT_SIGMOID:
        for (int64_t i = 0; i < n; i++)
            x[i] = 1.0f / (1.0f + expf(-x[i]));
        break;
    case ONNXQ_ACT_TANH:
        for (int64_t i = 0; i < n; i++)
            x[i] = tanhf(x[i]);
        break;
    default:
        for (int64_t i = 0; i < n; i++)
            x[i] = act1(a, x[i]);
        break;
    }
}

/* ------------------------------------------------------- reference kernel */

static float dot(const float *a, const float *b, int64_t n)
{
    float s = 0.0f;
    for (int64_t k = 0; k < n; k++)
        s += a[k] * b[k];
    return s;
}

static bool layer_reference(const struct onnxq_rnn_cfg *cfg, const struct onnxq_rnn_io *io)
{
    const int64_t T = io->T, N = io->N, NI = io->NI, H = cfg->hidden;
    const int G = onnxq_rnn_gates(cfg->kind), NA = onnxq_rnn_acts(cfg->kind);
    const int D = cfg->direction == ONNXQ_RNN_BIDIRECTIONAL ? 2 : 1;
    const int64_t GH = G * H;
    float *h = calloc((size_t)(N * H), sizeof(float));
    float *c = calloc((size_t)(N * H), sizeof(float));
    float *nh = calloc((size_t)(N * H), sizeof(float));
    float *nc = calloc((size_t)(N * H), sizeof(float));
    float *g = calloc((size_t)GH, sizeof(float));
    float *rh = calloc((size_t)H, sizeof(float));
    if (!h || !c || !nh || !nc || !g || !rh) {
        free(h), free(c), free(nh), free(nc), free(g), free(rh);
        return false;
    }
    if (io->y)
        memset(io->y, 0, (size_t)(T * D * N * H) * sizeof(float));
    for (int d = 0; d < D; d++) {
        bool rev = cfg->direction == ONNXQ_RNN_REVERSE || d == 1;
        const float *W = io->w + d * GH * NI, *R = io->r + d * GH * H;
        const float *Wb = io->b ? io->b + d * 2 * GH : NULL, *Rb = Wb ? Wb + GH : NULL;
        const float *P = io->p ? io->p + d * 3 * H : NULL;
        const struct onnxq_rnn_activation *f = &cfg->act[d * NA], *ga = f + 1, *ha = f + 2;
        for (int64_t i = 0; i < N * H; i++) {
            h[i] = io->h0 ? io->h0[d * N * H + i] : 0.0f;
            c[i] = io->c0 ? io->c0[d * N * H + i] : 0.0f;
        }
        for (int64_t b = 0; b < N; b++) {
            int64_t len = io->seq_lens ? io->seq_lens[b] : T;
            for (int64_t s = 0; s < len; s++) {
                int64_t t = rev ? len - 1 - s : s;
                const float *xt = io->x + (t * N + b) * NI;
                float *hb = h + b * H, *cb = c + b * H;
                /* every gate's input part plus both biases */
                for (int64_t j = 0; j < GH; j++)
                    g[j] = dot(xt, W + j * NI, NI) + (Wb ? Wb[j] : 0.0f);
                if (cfg->kind == ONNXQ_RNN_SIMPLE) {
                    for (int64_t j = 0; j < H; j++)
                        nh[b * H + j] =
                            act1(f, clipv(cfg, g[j] + dot(hb, R + j * H, H) + (Rb ? Rb[j] : 0.0f)));
                } else if (cfg->kind == ONNXQ_RNN_GRU) {
                    float *z = g, *r = g + H, *hh = g + 2 * H;
                    for (int64_t j = 0; j < 2 * H; j++)
                        g[j] = act1(f, clipv(cfg, g[j] + dot(hb, R + j * H, H) + (Rb ? Rb[j] : 0.0f)));
                    for (int64_t k = 0; k < H; k++)
                        rh[k] = r[k] * hb[k];
                    for (int64_t j = 0; j < H; j++) {
                        float rec;
                        if (cfg->linear_before_reset)
                            rec = r[j] * (dot(hb, R + (2 * H + j) * H, H) + (Rb ? Rb[2 * H + j] : 0.0f));
                        else
                            rec = dot(rh, R + (2 * H + j) * H, H) + (Rb ? Rb[2 * H + j] : 0.0f);
                        float ht = act1(ga, clipv(cfg, hh[j] + rec));
                        nh[b * H + j] = (1.0f - z[j]) * ht + z[j] * hb[j];
                    }
                } else {
                    float *gi = g, *go = g + H, *gf = g + 2 * H, *gc = g + 3 * H;
                    for (int64_t j = 0; j < GH; j++)
                        g[j] += dot(hb, R + j * H, H) + (Rb ? Rb[j] : 0.0f);
                    for (int64_t j = 0; j < H; j++) {
                        float it = act1(f, clipv(cfg, gi[j] + (P ? P[j] * cb[j] : 0.0f)));
                        float ft = cfg->input_forget ? 1.0f - it
                                                     : act1(f, clipv(cfg, gf[j] + (P ? P[2 * H + j] * cb[j] : 0.0f)));
                        float ct = act1(ga, clipv(cfg, gc[j]));
                        float cn = ft * cb[j] + it * ct;
                        float ot = act1(f, clipv(cfg, go[j] + (P ? P[H + j] * cn : 0.0f)));
                        nc[b * H + j] = cn;
                        nh[b * H + j] = ot * act1(ha, cn);
                    }
                    memcpy(cb, nc + b * H, (size_t)H * sizeof(float));
                }
                memcpy(hb, nh + b * H, (size_t)H * sizeof(float));
                if (io->y)
                    memcpy(io->y + ((t * D + d) * N + b) * H, hb, (size_t)H * sizeof(float));
            }
        }
        if (io->yh)
            memcpy(io->yh + d * N * H, h, (size_t)(N * H) * sizeof(float));
        if (io->yc)
            memcpy(io->yc + d * N * H, c, (size_t)(N * H) * sizeof(float));
    }
    free(h), free(c), free(nh), free(nc), free(g), free(rh);
    return true;
}

/* ------------------------------------------------------------ BLAS kernel */

static bool layer_blas(const struct onnxq_rnn_cfg *cfg, const struct onnxq_rnn_io *io)
{
    const int64_t T = io->T, N = io->N, NI = io->NI, H = cfg->hidden;
    const int G = onnxq_rnn_gates(cfg->kind), NA = onnxq_rnn_acts(cfg->kind);
    const int D = cfg->direction == ONNXQ_RNN_BIDIRECTIONAL ? 2 : 1;
    const int64_t GH = G * H;
    const bool gru = cfg->kind == ONNXQ_RNN_GRU, lstm = cfg->kind == ONNXQ_RNN_LSTM;
    const bool lbr = gru && cfg->linear_before_reset;
    /* workspace: XW [T*N, GH], HR [N, GH], h, c, z/rh scratch [N, H], bias [GH] */
    size_t ws_n = (size_t)(T * N * GH + N * GH + 4 * N * H + 2 * GH);
    float *ws = malloc(ws_n * sizeof(float));
    if (!ws)
        return false;
    float *XW = ws, *HR = XW + T * N * GH, *h = HR + N * GH, *c = h + N * H, *sz = c + N * H, *rh = sz + N * H;
    float *bx = rh + N * H, *brh = bx + GH;
    const float clip = cfg->has_clip ? cfg->clip : -1.0f;
    if (io->y)
        memset(io->y, 0, (size_t)(T * D * N * H) * sizeof(float));
    for (int d = 0; d < D; d++) {
        bool rev = cfg->direction == ONNXQ_RNN_REVERSE || d == 1;
        const float *W = io->w + d * GH * NI, *R = io->r + d * GH * H;
        const float *Wb = io->b ? io->b + d * 2 * GH : NULL, *Rb = Wb ? Wb + GH : NULL;
        const float *P = io->p ? io->p + d * 3 * H : NULL;
        const struct onnxq_rnn_activation *f = &cfg->act[d * NA], *ga = f + 1, *ha = f + 2;
        /* bias folded into the input projection: Wb + Rb, except the GRU
         * hidden gate with linear_before_reset, whose Rbh sits inside r * (.) */
        for (int64_t j = 0; j < GH; j++) {
            bx[j] = Wb ? Wb[j] : 0.0f;
            brh[j] = Rb ? Rb[j] : 0.0f;
            if (!(lbr && j >= 2 * H))
                bx[j] += brh[j];
        }
        if (T * N > 0 && NI > 0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(T * N), (int)GH, (int)NI, 1.0f, io->x, (int)NI,
                        W, (int)NI, 0.0f, XW, (int)GH);
        else
            memset(XW, 0, (size_t)(T * N * GH) * sizeof(float));
        for (int64_t row = 0; row < T * N; row++) {
            float *xw = XW + row * GH;
            for (int64_t j = 0; j < GH; j++)
                xw[j] += bx[j];
        }
        for (int64_t i = 0; i < N * H; i++) {
            h[i] = io->h0 ? io->h0[d * N * H + i] : 0.0f;
            c[i] = io->c0 ? io->c0[d * N * H + i] : 0.0f;
        }
        int64_t maxlen = 0;
        for (int64_t b = 0; b < N; b++) {
            int64_t len = io->seq_lens ? io->seq_lens[b] : T;
            if (len > maxlen)
                maxlen = len;
        }
        /* GRU without linear_before_reset: only z and r rows of R in the
         * first GEMM; the hidden gate needs (r * h) first. */
        const int64_t gh1 = gru && !lbr ? 2 * H : GH;
        for (int64_t s = 0; s < maxlen && N > 0; s++) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, (int)gh1, (int)H, 1.0f, h, (int)H, R, (int)H,
                        0.0f, HR, (int)GH);
            for (int64_t b = 0; b < N; b++) {
                int64_t len = io->seq_lens ? io->seq_lens[b] : T;
                if (s >= len)
                    continue;
                int64_t t = rev ? len - 1 - s : s;
                float *g = HR + b * GH;
                const float *xw = XW + (t * N + b) * GH;
                float *hb = h + b * H, *cb = c + b * H;
                if (lstm) {
                    for (int64_t j = 0; j < GH; j++)
                        g[j] += xw[j];
                    float *gi = g, *go = g + H, *gf = g + 2 * H, *gc = g + 3 * H;
                    if (P) {
                        for (int64_t j = 0; j < H; j++) {
                            gi[j] += P[j] * cb[j];
                            gf[j] += P[2 * H + j] * cb[j];
                        }
                    }
                    act_n(clip, f, gi, H);
                    if (cfg->input_forget) {
                        for (int64_t j = 0; j < H; j++)
                            gf[j] = 1.0f - gi[j];
                    } else {
                        act_n(clip, f, gf, H);
                    }
                    act_n(clip, ga, gc, H);
                    for (int64_t j = 0; j < H; j++)
                        cb[j] = gf[j] * cb[j] + gi[j] * gc[j];
                    if (P)
                        for (int64_t j = 0; j < H; j++)
                            go[j] += P[H + j] * cb[j];
                    act_n(clip, f, go, H);
                    /* h = o * h(c), with h(c) computed in gc */
                    memcpy(gc, cb, (size_t)H * sizeof(float));
                    act_n(-1.0f, ha, gc, H);  /* the clip applies to gate inputs, not to c */
                    for (int64_t j = 0; j < H; j++)
                        hb[j] = go[j] * gc[j];
                } else if (gru) {
                    for (int64_t j = 0; j < 2 * H; j++)
                        g[j] += xw[j];
                    act_n(clip, f, g, 2 * H);
                    if (lbr) {
                        float *gh = g + 2 * H;
                        for (int64_t j = 0; j < H; j++)
                            gh[j] = xw[2 * H + j] + g[H + j] * (gh[j] + brh[2 * H + j]);
                        act_n(clip, ga, gh, H);
                        for (int64_t j = 0; j < H; j++)
                            hb[j] = (1.0f - g[j]) * gh[j] + g[j] * hb[j];
                    } else {
                        for (int64_t j = 0; j < H; j++)
                            rh[b * H + j] = g[H + j] * hb[j];
                        memcpy(sz + b * H, g, (size_t)H * sizeof(float));
                    }
                } else {
                    for (int64_t j = 0; j < H; j++)
                        g[j] += xw[j];
                    act_n(clip, f, g, H);
                    memcpy(hb, g, (size_t)H * sizeof(float));
                }
            }
            if (gru && !lbr) {
                /* hidden gate: (r * h) R_h^T; inactive rows of rh are stale
                 * but their results are not used */
                for (int64_t b = 0; b < N; b++) {
                    int64_t len = io->seq_lens ? io->seq_lens[b] : T;
                    if (s >= len)
                        memset(rh + b * H, 0, (size_t)H * sizeof(float));
                }
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, (int)H, (int)H, 1.0f, rh, (int)H,
                            R + 2 * H * H, (int)H, 0.0f, HR + 2 * H, (int)GH);
                for (int64_t b = 0; b < N; b++) {
                    int64_t len = io->seq_lens ? io->seq_lens[b] : T;
                    if (s >= len)
                        continue;
                    int64_t t = rev ? len - 1 - s : s;
                    const float *xw = XW + (t * N + b) * GH;
                    float *gh = HR + b * GH + 2 * H, *z = sz + b * H, *hb = h + b * H;
                    for (int64_t j = 0; j < H; j++)
                        gh[j] += xw[2 * H + j];
                    act_n(clip, ga, gh, H);
                    for (int64_t j = 0; j < H; j++)
                        hb[j] = (1.0f - z[j]) * gh[j] + z[j] * hb[j];
                }
            }
            if (io->y) {
                for (int64_t b = 0; b < N; b++) {
                    int64_t len = io->seq_lens ? io->seq_lens[b] : T;
                    if (s >= len)
                        continue;
                    int64_t t = rev ? len - 1 - s : s;
                    memcpy(io->y + ((t * D + d) * N + b) * H, h + b * H, (size_t)H * sizeof(float));
                }
            }
        }
        if (io->yh)
            memcpy(io->yh + d * N * H, h, (size_t)(N * H) * sizeof(float));
        if (io->yc)
            memcpy(io->yc + d * N * H, c, (size_t)(N * H) * sizeof(float));
    }
    free(ws);
    return true;
}

bool onnxq_rnn_layer(const struct onnxq_rnn_cfg *cfg, const struct onnxq_rnn_io *io, bool reference)
{
    return reference ? layer_reference(cfg, io) : layer_blas(cfg, io);
}

/* -------------------------------------------------------------- operators */

struct rnn_state {
    struct onnxq_rnn_cfg cfg;
    bool has_hidden;
    int layout;
};

static bool name_is(const struct onnxq_bytes *s, const char *name)
{
    size_t n = strlen(name);
    if (s->len != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (tolower(s->data[i]) != tolower((unsigned char)name[i]))
            return false;
    return true;
}

static const struct {
    const char *name;
    enum onnxq_rnn_act kind;
    bool alpha, beta;
    float def_alpha, def_beta;
} act_names[] = {
    {"Sigmoid", ONNXQ_ACT_SIGMOID, false, false, 0.0f, 0.0f},
    {"Tanh", ONNXQ_ACT_TANH, false, false, 0.0f, 0.0f},
    {"Relu", ONNXQ_ACT_RELU, false, false, 0.0f, 0.0f},
    {"Affine", ONNXQ_ACT_AFFINE, true, true, 1.0f, 0.0f},
    {"LeakyRelu", ONNXQ_ACT_LEAKYRELU, true, false, 0.01f, 0.0f},
    {"ThresholdedRelu", ONNXQ_ACT_THRESHOLDEDRELU, true, false, 1.0f, 0.0f},
    {"ScaledTanh", ONNXQ_ACT_SCALEDTANH, true, true, 1.0f, 1.0f},
    {"HardSigmoid", ONNXQ_ACT_HARDSIGMOID, true, true, 0.2f, 0.5f},
    {"Elu", ONNXQ_ACT_ELU, true, false, 1.0f, 0.0f},
    {"Softsign", ONNXQ_ACT_SOFTSIGN, false, false, 0.0f, 0.0f},
    {"Softplus", ONNXQ_ACT_SOFTPLUS, false, false, 0.0f, 0.0f},
};

static enum onnxq_status common_init(struct onnxq_op_init *ictx, void **state, enum onnxq_rnn_kind kind)
{
    const struct onnxq_node *n = ictx->node;
    struct rnn_state *s = calloc(1, sizeof(*s));
    if (!s)
        return onnxq_fail(ictx->err, ONNXQ_E_NOMEM, "out of memory");
    *state = s;
    struct onnxq_rnn_cfg *cfg = &s->cfg;
    cfg->kind = kind;
    char buf[64];
    const char *dir = onnxq_attr_string(n, "direction", "forward", buf, sizeof(buf));
    if (strcmp(dir, "forward") == 0)
        cfg->direction = ONNXQ_RNN_FORWARD;
    else if (strcmp(dir, "reverse") == 0)
        cfg->direction = ONNXQ_RNN_REVERSE;
    else if (strcmp(dir, "bidirectional") == 0)
        cfg->direction = ONNXQ_RNN_BIDIRECTIONAL;
    else
        return onnxq_op_fail(ictx->err, n, ONNXQ_E_INVALID_MODEL,
                             "direction '%s' is not forward, reverse or bidirectional", dir);
    int D = cfg->direction == ONNXQ_RNN_BIDIRECTIONAL ? 2 : 1;
    s->has_hidden = onnxq_attr_has(n, "hidden_size");
    cfg->hidden = onnxq_attr_int(n, "hidden_size", 0);
    if (s->has_hidden && cfg->hidden <= 0)
        return onnxq_op_fail(ictx->err, n, ONNXQ_E_INVALID_MODEL, "hidden_size %lld is not positive",
                             (long long)cfg->hidden);
    cfg->has_clip = onnxq_attr_has(n, "clip");
    cfg->clip = onnxq_attr_float(n, "clip", 0.0f);
    if (cfg->has_clip && !(cfg->clip >= 0.0f))
        return onnxq_op_fail(ictx->err, n, ONNXQ_E_INVALID_MODEL, "clip %g is negative", (double)cfg->clip);
    cfg->input_forget = onnxq_attr_int(n, "input_forget", 0) != 0;
    cfg->linear_before_reset = onnxq_attr_int(n, "linear_before_reset", 0) != 0;
    s->layout = (int)onnxq_attr_int(n, "layout", 0);
    if (s->layout != 0 && s->layout != 1)
        return onnxq_op_fail(ictx->err, n, ONNXQ_E_INVALID_MODEL, "layout %d is not 0 or 1", s->layout);

    /* activations: defaults per kind, or the attribute's list */
    int NA = onnxq_rnn_acts(kind);
    static const enum onnxq_rnn_act defaults[3] = {ONNXQ_ACT_SIGMOID, ONNXQ_ACT_TANH, ONNXQ_ACT_TANH};
    for (int d = 0; d < D; d++)
        for (int k = 0; k < NA; k++)
            cfg->act[d * NA + k].kind = kind == ONNXQ_RNN_SIMPLE ? ONNXQ_ACT_TANH : defaults[k];
    const struct onnxq_attr *acts = onnxq_node_attr(n, "activations");
    if (acts && acts->n_strings) {
        size_t na = acts->n_strings;
        /* one set for both directions is accepted too */
        if (na != (size_t)(NA * D) && na != (size_t)NA)
            return onnxq_op_fail(ictx->err, n, ONNXQ_E_INVALID_MODEL,
                                 "activations lists %zu functions; expected %d (%d per direction)", na, NA * D, NA);
        size_t n_alpha = 0, n_beta = 0;
        const float *alpha = onnxq_attr_floats(n, "activation_alpha", &n_alpha);
        const float *beta = onnxq_attr_floats(n, "activation_beta", &n_beta);
        size_t ia = 0, ib = 0;
        for (int i = 0; i < NA * D; i++) {
            const struct onnxq_bytes *nm = &acts->strings[(size_t)i % na];
            size_t k = 0;
            while (k < sizeof(act_names) / sizeof(act_names[0]) && !name_is(nm, act_names[k].name))
                k++;
            if (k == sizeof(act_names) / sizeof(act_names[0]))
                return onnxq_op_fail(ictx->err, n, ONNXQ_E_UNSUPPORTED, "activation '%.*s' is not supported",
                                     (int)(nm->len > 60 ? 60 : nm->len), (const char *)nm->data);
            struct onnxq_rnn_activation *a = &cfg->act[i];
            a->kind = act_names[k].kind;
            a->alpha = act_names[k].def_alpha;
            a->beta = act_names[k].def_beta;
            if (act_names[k].alpha && ia < n_alpha)
                a->alpha = alpha[ia++];
            if (act_names[k].beta && ib < n_beta)
                a->beta = beta[ib++];
        }
    }
    return ONNXQ_OK;
}

enum onnxq_status onnxq_rnn_init(struct onnxq_op_init *ictx, void **state)
{
    return common_init(ictx, state, ONNXQ_RNN_SIMPLE);
}

enum onnxq_status onnxq_gru_init(struct onnxq_op_init *ictx, void **state)
{
    return common_init(ictx, state, ONNXQ_RNN_GRU);
}

enum onnxq_status onnxq_lstm_init(struct onnxq_op_init *ictx, void **state)
{
    return common_init(ictx, state, ONNXQ_RNN_LSTM);
}

void onnxq_rnn_fini(void *state)
{
    free(state);
}

static enum onnxq_status check_shape(const struct onnxq_op_ctx *ctx, size_t slot, const char *what, int ndim,
                                     const int64_t *want)
{
    const struct onnxq_tensor *t = ctx->inputs[slot];
    bool ok = t->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++)
        ok = t->dims[i] == want[i];
    if (ok)
        return ONNXQ_OK;
    char a[200], b[200];
    onnxq_shape_format(t->dims, t->ndim, a, sizeof(a));
    onnxq_shape_format(want, ndim, b, sizeof(b));
    return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE, "input %s ('%s') has shape %s; expected %s", what,
                         ctx->node->inputs[slot], a, b);
}

/* Dims of the run: T, N, NI, H, D; checks every input. */
struct dims {
    int64_t T, N, NI, H;
    int D;
};

static enum onnxq_status check_inputs(const struct rnn_state *s, const struct onnxq_op_ctx *ctx, struct dims *dm)
{
    enum onnxq_status st;
    if ((st = onnxq_need_input(ctx, 0)) || (st = onnxq_need_input(ctx, 1)) || (st = onnxq_need_input(ctx, 2)))
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0], *w = ctx->inputs[1];
    const int G = onnxq_rnn_gates(s->cfg.kind);
    for (size_t i = 0; i < ctx->n_inputs && i < 8; i++) {
        const struct onnxq_tensor *t = ctx->inputs[i];
        if (!t || i == 4)
            continue;
        if (t->dtype != ONNXQ_DT_FLOAT)
            return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_UNSUPPORTED,
                                 "input #%zu ('%s') has dtype %s; only float is supported", i, ctx->node->inputs[i],
                                 onnxq_dtype_name(t->dtype));
    }
    if (x->ndim != 3) {
        char a[200];
        onnxq_shape_format(x->dims, x->ndim, a, sizeof(a));
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE, "input X ('%s') has shape %s; expected rank 3",
                             ctx->node->inputs[0], a);
    }
    dm->D = s->cfg.direction == ONNXQ_RNN_BIDIRECTIONAL ? 2 : 1;
    dm->T = s->layout ? x->dims[1] : x->dims[0];
    dm->N = s->layout ? x->dims[0] : x->dims[1];
    dm->NI = x->dims[2];
    if (s->has_hidden) {
        dm->H = s->cfg.hidden;
    } else {
        if (w->ndim != 3 || w->dims[1] % G != 0 || w->dims[1] == 0) {
            char a[200];
            onnxq_shape_format(w->dims, w->ndim, a, sizeof(a));
            return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE,
                                 "hidden_size is not given and input W ('%s') of shape %s does not imply it",
                                 ctx->node->inputs[1], a);
        }
        dm->H = w->dims[1] / G;
    }
    int64_t D = dm->D, N = dm->N, H = dm->H;
    int64_t ws[3] = {D, G * H, dm->NI}, rs[3] = {D, G * H, H}, bs[2] = {D, 2 * G * H}, ps[2] = {D, 3 * H};
    int64_t hs[3] = {D, N, H}, hs1[3] = {N, D, H};
    if ((st = check_shape(ctx, 1, "W", 3, ws)) || (st = check_shape(ctx, 2, "R", 3, rs)))
        return st;
    if (onnxq_opt_in(ctx, 3) && (st = check_shape(ctx, 3, "B", 2, bs)))
        return st;
    const struct onnxq_tensor *sl = onnxq_opt_in(ctx, 4);
    if (sl) {
        if (sl->dtype != ONNXQ_DT_INT32 && sl->dtype != ONNXQ_DT_INT64)
            return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_UNSUPPORTED,
                                 "sequence_lens ('%s') has dtype %s; expected int32", ctx->node->inputs[4],
                                 onnxq_dtype_name(sl->dtype));
        if ((st = check_shape(ctx, 4, "sequence_lens", 1, &dm->N)))
            return st;
        for (int64_t b = 0; b < N; b++) {
            int64_t v = onnxq_tensor_get_i64(sl, (size_t)b);
            if (v < 0 || v > dm->T)
                return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE,
                                     "sequence_lens[%lld] = %lld is outside [0, %lld]", (long long)b, (long long)v,
                                     (long long)dm->T);
        }
    }
    if (onnxq_opt_in(ctx, 5) && (st = check_shape(ctx, 5, "initial_h", 3, s->layout ? hs1 : hs)))
        return st;
    if (s->cfg.kind == ONNXQ_RNN_LSTM) {
        if (onnxq_opt_in(ctx, 6) && (st = check_shape(ctx, 6, "initial_c", 3, s->layout ? hs1 : hs)))
            return st;
        if (onnxq_opt_in(ctx, 7) && (st = check_shape(ctx, 7, "P", 2, ps)))
            return st;
    }
    return ONNXQ_OK;
}

enum onnxq_status onnxq_rnn_shape(void *state, struct onnxq_op_ctx *ctx)
{
    struct rnn_state *s = state;
    struct dims dm;
    enum onnxq_status st = check_inputs(s, ctx, &dm);
    if (st)
        return st;
    int64_t y0[4] = {dm.T, dm.D, dm.N, dm.H}, y1[4] = {dm.N, dm.T, dm.D, dm.H};
    int64_t h0[3] = {dm.D, dm.N, dm.H}, h1[3] = {dm.N, dm.D, dm.H};
    onnxq_out_shape(onnxq_opt_out(ctx, 0), ONNXQ_DT_FLOAT, 4, s->layout ? y1 : y0);
    onnxq_out_shape(onnxq_opt_out(ctx, 1), ONNXQ_DT_FLOAT, 3, s->layout ? h1 : h0);
    if (s->cfg.kind == ONNXQ_RNN_LSTM)
        onnxq_out_shape(onnxq_opt_out(ctx, 2), ONNXQ_DT_FLOAT, 3, s->layout ? h1 : h0);
    else if (onnxq_opt_out(ctx, 2))
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_INVALID_MODEL, "has %zu outputs; at most 2 expected",
                             ctx->n_outputs);
    return ONNXQ_OK;
}

/* [A, B, C] -> [B, A, C] */
static void swap01(const float *src, float *dst, int64_t A, int64_t B, int64_t C)
{
    for (int64_t a = 0; a < A; a++)
        for (int64_t b = 0; b < B; b++)
            memcpy(dst + (b * A + a) * C, src + (a * B + b) * C, (size_t)C * sizeof(float));
}

enum onnxq_status onnxq_rnn_run(void *state, struct onnxq_op_ctx *ctx)
{
    struct rnn_state *s = state;
    struct dims dm;
    enum onnxq_status st = check_inputs(s, ctx, &dm);
    if (st)
        return st;
    const int64_t T = dm.T, N = dm.N, NI = dm.NI, H = dm.H, D = dm.D;
    struct onnxq_rnn_cfg cfg = s->cfg;
    cfg.hidden = H;
    bool lstm = cfg.kind == ONNXQ_RNN_LSTM;
    const struct onnxq_tensor *sl = onnxq_opt_in(ctx, 4);
    const struct onnxq_tensor *h0 = onnxq_opt_in(ctx, 5), *c0 = lstm ? onnxq_opt_in(ctx, 6) : NULL;
    struct onnxq_tensor *y = onnxq_opt_out(ctx, 0), *yh = onnxq_opt_out(ctx, 1);
    struct onnxq_tensor *yc = lstm ? onnxq_opt_out(ctx, 2) : NULL;
    struct onnxq_rnn_io io = {
        .T = T,
        .N = N,
        .NI = NI,
        .x = ctx->inputs[0]->data,
        .w = ctx->inputs[1]->data,
        .r = ctx->inputs[2]->data,
        .b = onnxq_opt_in(ctx, 3) ? onnxq_opt_in(ctx, 3)->data : NULL,
        .p = lstm && onnxq_opt_in(ctx, 7) ? onnxq_opt_in(ctx, 7)->data : NULL,
        .h0 = h0 ? h0->data : NULL,
        .c0 = c0 ? c0->data : NULL,
        .y = y ? y->data : NULL,
        .yh = yh ? yh->data : NULL,
        .yc = yc ? yc->data : NULL,
    };
    /* batch-first (layout 1) tensors and int64 sequence lengths go through
     * temporaries */
    size_t tmp_n = 0;
    if (s->layout)
        tmp_n = (size_t)(T * N * NI + 2 * D * N * H + (y ? T * D * N * H : 0) + 2 * D * N * H);
    float *tmp = tmp_n ? malloc(tmp_n * sizeof(float)) : NULL;
    int32_t *lens = sl ? malloc((size_t)(N ? N : 1) * sizeof(int32_t)) : NULL;
    if ((tmp_n && !tmp) || (sl && !lens)) {
        free(tmp);
        free(lens);
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_NOMEM, "out of memory");
    }
    if (sl) {
        for (int64_t b = 0; b < N; b++)
            lens[b] = (int32_t)onnxq_tensor_get_i64(sl, (size_t)b);
        io.seq_lens = lens;
    }
    float *tx = tmp, *th = tx + T * N * NI, *tc = th + D * N * H, *ty = tc + D * N * H, *tyh = ty + (y ? T * D * N * H : 0),
          *tyc = tyh + D * N * H;
    if (s->layout) {
        swap01(io.x, tx, N, T, NI);
        io.x = tx;
        if (io.h0) {
            swap01(io.h0, th, N, D, H);
            io.h0 = th;
        }
        if (io.c0) {
            swap01(io.c0, tc, N, D, H);
            io.c0 = tc;
        }
        if (io.y)
            io.y = ty;
        if (io.yh)
            io.yh = tyh;
        if (io.yc)
            io.yc = tyc;
    }
    bool ok = onnxq_rnn_layer(&cfg, &io, false);
    if (ok && s->layout) {
        /* [T,D,N,H] -> [N,T,D,H]; [D,N,H] -> [N,D,H] */
        if (y)
            for (int64_t t = 0; t < T; t++)
                for (int64_t d = 0; d < D; d++)
                    for (int64_t b = 0; b < N; b++)
                        memcpy((float *)y->data + ((b * T + t) * D + d) * H, ty + ((t * D + d) * N + b) * H,
                               (size_t)H * sizeof(float));
        if (yh)
            swap01(tyh, yh->data, D, N, H);
        if (yc)
            swap01(tyc, yc->data, D, N, H);
    }
    free(tmp);
    free(lens);
    if (!ok)
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_NOMEM, "out of memory");
    return ONNXQ_OK;
}
