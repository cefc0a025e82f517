/* Conv, ConvTranspose, Gemm, MatMul.
 *
 *  - Every optimised Conv path (1x1 sgemm, im2col + sgemm, depthwise,
 *    Winograd F(2x2,3x3)) against the double-precision reference on random
 *    geometries: 1-D/2-D/3-D, groups, depthwise (with and without channel
 *    multiplier), strides, dilations, asymmetric pads, 1x1, with and
 *    without bias; with OpenBLAS threading itself and with OpenBLAS single
 *    threaded (the kernels then split the work over the pool).
 *  - PP-OCRv4 det layer shapes (scaled down spatially).
 *  - ConvTranspose sgemm + col2im against its reference, negative pads
 *    (explicit output_shape) included.
 *  - Through the executor: auto_pad modes, constant weights (Winograd
 *    pre-packing in init, from an initializer and from a Constant node),
 *    Gemm attributes and C broadcasting, MatMul broadcasting and 1-D
 *    operands, integer MatMul.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/context.h"
#include "core/error.h"
#include "core/threadpool.h"
#include "exec/exec.h"
#include "ir/graph.h"
#include "ir/graph_util.h"
#include "ops/conv.h"
#include "optest.h"

void openblas_set_num_threads(int num_threads);

/* Inputs and weights are uniform in [-1, 1]; an output sums K = C/group *
 * prod(kernel) products, so float rounding grows like sqrt(K):
 * |optimised - reference| <= CONV_TOL_PER_SQRT_K * sqrt(K). */
#define CONV_TOL_PER_SQRT_K 1e-5
/* Gemm/MatMul through the executor: |got - want| <= MM_ATOL + MM_RTOL * |want| */
#define MM_ATOL 1e-5
#define MM_RTOL 1e-5

static void setup(void)
{
    struct onnxq_error err;
    tu_setup_ctx();
    ck_assert_int_eq(onnxq_context_set_threads(tu_ctx, 2, &err), ONNXQ_OK);
}

static void teardown(void)
{
    tu_teardown_ctx();
    openblas_set_num_threads(2);
}

static int64_t prod(const int64_t *d, int n)
{
    int64_t p = 1;
    for (int i = 0; i < n; i++)
        p *= d[i];
    return p;
}

/* --------------------------------------------------- kernel-level harness */

struct kctx {
    struct onnxq_threadpool *pool;
    struct onnxq_node *node;
    struct onnxq_error err;
    struct onnxq_op_ctx c;
};

static void kctx_init(struct kctx *k, int threads)
{
    const char *in[1] = {"x"}, *out[1] = {"y"};
    k->pool = onnxq_threadpool_new(threads);
    ck_assert_ptr_nonnull(k->pool);
    k->node = onnxq_node_new("Conv", "test_conv", 1, in, 1, out);
    ck_assert_ptr_nonnull(k->node);
    memset(&k->c, 0, sizeof(k->c));
    k->c.node = k->node;
    k->c.pool = k->pool;
    k->c.threads = onnxq_threadpool_size(k->pool);
    k->c.err = &k->err;
}

static void kctx_free(struct kctx *k)
{
    onnxq_threadpool_free(k->pool);
    onnxq_node_free(k->node);
}

static void geom_str(const struct onnxq_conv_geom *g, char *buf, size_t size)
{
    int w = snprintf(buf, size, "n%lld c%lld m%lld group%lld", (long long)g->n, (long long)g->c, (long long)g->m,
                     (long long)g->group);
    for (int d = 0; d < g->nsp && w > 0 && (size_t)w < size; d++)
        w += snprintf(buf + w, size - (size_t)w, " | in%lld k%lld s%lld d%lld p%lld+%lld out%lld", (long long)g->in[d],
                      (long long)g->k[d], (long long)g->stride[d], (long long)g->dil[d], (long long)g->pad_b[d],
                      (long long)g->pad_e[d], (long long)g->out[d]);
}

/* Complete a conv geometry: output sizes from in/k/stride/dil/pads. */
static void conv_out(struct onnxq_conv_geom *g)
{
    for (int d = 0; d < g->nsp; d++) {
        int64_t ext = (g->k[d] - 1) * g->dil[d] + 1;
        if (g->in[d] + g->pad_b[d] + g->pad_e[d] < ext)
            g->in[d] = ext;  /* keep at least one output */
        g->out[d] = (g->in[d] + g->pad_b[d] + g->pad_e[d] - ext) / g->stride[d] + 1;
    }
}

/* Operands of one kernel check: random float32 x, w and (nb > 0) bias b,
 * drawn in that order, their float64 copies for the reference, and both
 * outputs (y uninitialised). */
struct kbufs {
    float *x, *w, *b, *y;
    double *dx, *dw, *db, *dy;
};

static void kbufs_new(struct kbufs *kb, uint64_t *seed, size_t nx, size_t nw, size_t nb, size_t ny)
{
    kb->x = tu_rand_buf(seed, nx, 1.0f);
    kb->w = tu_rand_buf(seed, nw, 1.0f);
    kb->b = nb ? tu_rand_buf(seed, nb, 1.0f) : NULL;
    kb->y = malloc((ny ? ny : 1) * sizeof(float));
    kb->dx = malloc((nx ? nx : 1) * sizeof(double));
    kb->dw = malloc((nw ? nw : 1) * sizeof(double));
    kb->db = nb ? malloc(nb * sizeof(double)) : NULL;
    kb->dy = malloc((ny ? ny : 1) * sizeof(double));
    ck_assert(kb->y && kb->dx && kb->dw && (kb->db || !nb) && kb->dy);
    for (size_t i = 0; i < nx; i++)
        kb->dx[i] = kb->x[i];
    for (size_t i = 0; i < nw; i++)
        kb->dw[i] = kb->w[i];
    for (size_t i = 0; i < nb; i++)
        kb->db[i] = kb->b[i];
}

static void kbufs_free(struct kbufs *kb)
{
    free(kb->x);
    free(kb->w);
    free(kb->b);
    free(kb->y);
    free(kb->dx);
    free(kb->dw);
    free(kb->db);
    free(kb->dy);
}

/* Run one conv geometry through `algo` and the reference; returns the max
 * abs difference divided by the tolerance (<= 1 passes). */
static double conv_check(struct kctx *k, const struct onnxq_conv_geom *g, enum onnxq_conv_algo algo,
                         enum onnxq_gemm_backend backend, bool bias, uint64_t *seed)
{
    int64_t cg = g->c / g->group, kprod = prod(g->k, g->nsp);
    size_t nx = (size_t)(g->n * g->c * prod(g->in, g->nsp)), nw = (size_t)(g->m * cg * kprod);
    size_t ny = (size_t)(g->n * g->m * prod(g->out, g->nsp));
    struct kbufs kb;
    kbufs_new(&kb, seed, nx, nw, bias ? (size_t)g->m : 0, ny);
    float *x = kb.x, *w = kb.w, *b = kb.b, *y = kb.y;
    double *dx = kb.dx, *dw = kb.dw, *db = kb.db, *dy = kb.dy;
    for (size_t i = 0; i < ny; i++)
        y[i] = NAN;
    enum onnxq_status st = onnxq_conv_f32(&k->c, g, algo, backend, x, w, b, y);
    ck_assert_msg(st == ONNXQ_OK, "algo %d backend %d failed: %s", (int)algo, (int)backend, k->err.message);
    onnxq_conv_ref(g, dx, dw, db, dy);
    double tol = CONV_TOL_PER_SQRT_K * sqrt((double)(cg * kprod));
    double worst = 0.0;
    for (size_t i = 0; i < ny; i++) {
        double d = fabs((double)y[i] - dy[i]);
        if (!(d <= tol)) {
            char gs[600];
            geom_str(g, gs, sizeof(gs));
            ck_abort_msg("conv algo %d backend %d (%s, bias %d): element %zu is %.9g, reference %.9g "
                         "(tolerance %.3g)",
                         (int)algo, (int)backend, gs, bias, i, (double)y[i], dy[i], tol);
        }
        if (d / tol > worst)
            worst = d / tol;
    }
    kbufs_free(&kb);
    return worst;
}

static const enum onnxq_conv_algo all_algos[] = {ONNXQ_CONV_AUTO, ONNXQ_CONV_GEMM_1X1, ONNXQ_CONV_IM2COL,
                                                 ONNXQ_CONV_DEPTHWISE, ONNXQ_CONV_WINOGRAD, ONNXQ_CONV_REFERENCE};

/* Random geometry of a given flavour. */
enum flavour { FL_GENERAL, FL_DEPTHWISE, FL_1X1, FL_WINO, FL_GROUPED, FL_COUNT };

static void rand_geom(uint64_t *s, int nsp, enum flavour fl, struct onnxq_conv_geom *g)
{
    memset(g, 0, sizeof(*g));
    g->nsp = nsp;
    g->n = tu_rand_int(s, 1, 2);
    int64_t smax = nsp == 1 ? 40 : nsp == 2 ? 17 : 7;
    for (int d = 0; d < nsp; d++) {
        g->in[d] = tu_rand_int(s, 1, smax);
        g->k[d] = tu_rand_int(s, 1, nsp == 3 ? 3 : 5);
        g->stride[d] = tu_rand_int(s, 1, 3);
        g->dil[d] = tu_rand_int(s, 1, 2);
        g->pad_b[d] = tu_rand_int(s, 0, 2);
        g->pad_e[d] = tu_rand_int(s, 0, 2);
    }
    switch (fl) {
    case FL_GENERAL:
        g->group = 1;
        g->c = tu_rand_int(s, 1, 9);
        g->m = tu_rand_int(s, 1, 9);
        break;
    case FL_GROUPED:
        g->group = tu_rand_int(s, 2, 4);
        g->c = g->group * tu_rand_int(s, 1, 3);
        g->m = g->group * tu_rand_int(s, 1, 3);
        break;
    case FL_DEPTHWISE:
        g->group = g->c = g->m = tu_rand_int(s, 1, 12);
        for (int d = 0; d < nsp; d++) {
            int64_t kk[3] = {3, 5, tu_rand_int(s, 1, 4)};
            g->k[d] = kk[tu_rand_int(s, 0, 2)];
            g->stride[d] = tu_rand_int(s, 1, 2);
            g->dil[d] = tu_rand_int(s, 0, 3) == 0 ? 2 : 1;
            g->pad_b[d] = tu_rand_int(s, 0, g->k[d] / 2 + 1);
            g->pad_e[d] = tu_rand_int(s, 0, g->k[d] / 2 + 1);
            g->in[d] = tu_rand_int(s, 1, nsp == 1 ? 70 : 23);
        }
        break;
    case FL_1X1:
        g->group = tu_rand_int(s, 0, 3) == 0 ? 2 : 1;
        g->c = g->group * tu_rand_int(s, 1, 20);
        g->m = g->group * tu_rand_int(s, 1, 20);
        for (int d = 0; d < nsp; d++) {
            g->k[d] = 1;
            g->stride[d] = 1;
            g->pad_b[d] = g->pad_e[d] = 0;
        }
        break;
    case FL_WINO:
        g->group = 1;
        g->c = tu_rand_int(s, 1, 20);
        g->m = tu_rand_int(s, 1, 20);
        for (int d = 0; d < nsp; d++) {
            g->k[d] = 3;
            g->stride[d] = 1;
            g->dil[d] = 1;
            g->in[d] = tu_rand_int(s, 1, 30);
        }
        break;
    default:
        break;
    }
    conv_out(g);
}

static void conv_random_sweep(int threads, int blas_threads, uint64_t seed0)
{
    openblas_set_num_threads(blas_threads);
    struct kctx k;
    kctx_init(&k, threads);
    uint64_t seed = seed0;
    int runs[sizeof(all_algos) / sizeof(all_algos[0])] = {0};
    for (int nsp = 1; nsp <= 3; nsp++) {
        for (int fl = 0; fl < FL_COUNT; fl++) {
            int cases = nsp == 3 ? 6 : 25;
            for (int c = 0; c < cases; c++) {
                struct onnxq_conv_geom g;
                rand_geom(&seed, nsp, (enum flavour)fl, &g);
                for (size_t a = 0; a < sizeof(all_algos) / sizeof(all_algos[0]); a++) {
                    if (!onnxq_conv_algo_ok(&g, all_algos[a]))
                        continue;
                    /* both product engines on the GEMM-based paths */
                    conv_check(&k, &g, all_algos[a], ONNXQ_GEMM_BLAS, (c & 1) == 0, &seed);
                    conv_check(&k, &g, all_algos[a], ONNXQ_GEMM_OWN, (c & 1) == 1, &seed);
                    runs[a]++;
                }
            }
        }
    }
    /* every path was exercised */
    for (size_t a = 0; a < sizeof(all_algos) / sizeof(all_algos[0]); a++)
        ck_assert_msg(runs[a] > 5, "algorithm %d ran only %d times", (int)all_algos[a], runs[a]);
    kctx_free(&k);
    openblas_set_num_threads(2);
}

START_TEST(conv_paths_match_reference)
{
    conv_random_sweep(2, 2, 0x243f6a8885a308d3ull);
}
END_TEST

START_TEST(conv_paths_match_reference_split_blas)
{
    /* OpenBLAS single-threaded: GEMM kernels split work over the pool */
    conv_random_sweep(2, 1, 0x13198a2e03707344ull);
}
END_TEST

START_TEST(conv_paths_match_reference_one_thread)
{
    conv_random_sweep(1, 1, 0xa4093822299f31d0ull);
}
END_TEST

/* Layer shapes of PP-OCRv4 det (spatial sizes divided by 8 to stay fast). */
START_TEST(conv_ppocr_det_shapes)
{
    static const int64_t layers[][9] = {
        /* c, m, group, k, stride, pad, H, W, (unused) */
        {3, 16, 1, 3, 2, 1, 80, 80, 0},     {16, 16, 16, 3, 1, 1, 40, 40, 0}, {16, 32, 1, 1, 1, 0, 40, 40, 0},
        {32, 32, 32, 3, 2, 1, 40, 40, 0},   {48, 48, 48, 3, 1, 1, 20, 20, 0}, {48, 96, 1, 1, 1, 0, 10, 10, 0},
        {192, 192, 192, 5, 1, 2, 5, 5, 0},  {192, 192, 192, 5, 2, 2, 5, 5, 0}, {192, 48, 1, 1, 1, 0, 1, 1, 0},
        {384, 384, 384, 5, 1, 2, 3, 3, 0},  {96, 24, 1, 3, 1, 1, 20, 20, 0},  {96, 24, 1, 3, 1, 1, 5, 5, 0},
        {96, 24, 1, 3, 1, 1, 3, 7, 0},      {12, 96, 1, 1, 1, 0, 20, 20, 0},
    };
    for (int mode = 0; mode < 2; mode++) {
        openblas_set_num_threads(mode ? 1 : 2);
        struct kctx k;
        kctx_init(&k, 2);
        uint64_t seed = 0x082efa98ec4e6c89ull;
        for (size_t l = 0; l < sizeof(layers) / sizeof(layers[0]); l++) {
            const int64_t *L = layers[l];
            struct onnxq_conv_geom g;
            memset(&g, 0, sizeof(g));
            g.nsp = 2;
            g.n = 1;
            g.c = L[0];
            g.m = L[1];
            g.group = L[2];
            for (int d = 0; d < 2; d++) {
                g.k[d] = L[3];
                g.stride[d] = L[4];
                g.dil[d] = 1;
                g.pad_b[d] = g.pad_e[d] = L[5];
                g.in[d] = L[6 + d];
            }
            conv_out(&g);
            for (size_t a = 0; a < sizeof(all_algos) / sizeof(all_algos[0]); a++)
                if (onnxq_conv_algo_ok(&g, all_algos[a]) && all_algos[a] != ONNXQ_CONV_REFERENCE) {
                    conv_check(&k, &g, all_algos[a], ONNXQ_GEMM_BLAS, true, &seed);
                    conv_check(&k, &g, all_algos[a], ONNXQ_GEMM_OWN, true, &seed);
                }
        }
        kctx_free(&k);
    }
    openblas_set_num_threads(2);
}
END_TEST

/* ------------------------------------------------------ convtranspose */

static void convt_check(struct kctx *k, const struct onnxq_conv_geom *g, enum onnxq_gemm_backend backend, bool bias,
                        uint64_t *seed)
{
    int64_t mg = g->m / g->group, cg = g->c / g->group, kprod = prod(g->k, g->nsp);
    size_t nx = (size_t)(g->n * g->c * prod(g->in, g->nsp)), nw = (size_t)(g->c * mg * kprod);
    size_t ny = (size_t)(g->n * g->m * prod(g->out, g->nsp));
    struct kbufs kb;
    kbufs_new(&kb, seed, nx, nw, bias ? (size_t)g->m : 0, ny);
    float *x = kb.x, *w = kb.w, *b = kb.b, *y = kb.y;
    double *dx = kb.dx, *dw = kb.dw, *db = kb.db, *dy = kb.dy;
    ck_assert_int_eq(onnxq_convtranspose_f32(&k->c, g, false, backend, x, w, b, y), ONNXQ_OK);
    onnxq_convtranspose_ref(g, dx, dw, db, dy);
    /* each output sums at most cg * kprod products */
    double tol = CONV_TOL_PER_SQRT_K * sqrt((double)(cg * kprod));
    for (size_t i = 0; i < ny; i++) {
        double d = fabs((double)y[i] - dy[i]);
        if (!(d <= tol)) {
            char gs[600];
            geom_str(g, gs, sizeof(gs));
            ck_abort_msg("convtranspose backend %d (%s): element %zu is %.9g, reference %.9g", (int)backend, gs, i,
                         (double)y[i], dy[i]);
        }
    }
    kbufs_free(&kb);
}

START_TEST(convtranspose_matches_reference)
{
    struct kctx k;
    kctx_init(&k, 2);
    uint64_t seed = 0x452821e638d01377ull;
    for (int nsp = 1; nsp <= 3; nsp++) {
        for (int c = 0; c < (nsp == 3 ? 10 : 40); c++) {
            struct onnxq_conv_geom g;
            memset(&g, 0, sizeof(g));
            g.nsp = nsp;
            g.n = tu_rand_int(&seed, 1, 2);
            g.group = c % 3 == 0 ? tu_rand_int(&seed, 2, 3) : 1;
            g.c = g.group * tu_rand_int(&seed, 1, 4);
            g.m = g.group * tu_rand_int(&seed, 1, 4);
            for (int d = 0; d < nsp; d++) {
                g.in[d] = tu_rand_int(&seed, 1, nsp == 3 ? 5 : 12);
                g.k[d] = tu_rand_int(&seed, 1, 4);
                g.stride[d] = tu_rand_int(&seed, 1, 3);
                g.dil[d] = tu_rand_int(&seed, 1, 2);
                /* negative pads = explicit output_shape beyond the natural size */
                g.pad_b[d] = tu_rand_int(&seed, c % 5 == 0 ? -1 : 0, 2);
                g.pad_e[d] = tu_rand_int(&seed, c % 5 == 0 ? -2 : 0, 2);
                int64_t outpad = tu_rand_int(&seed, 0, g.stride[d] - 1);
                g.out[d] = g.stride[d] * (g.in[d] - 1) + outpad + (g.k[d] - 1) * g.dil[d] + 1 - g.pad_b[d] -
                           g.pad_e[d];
                if (g.out[d] < 1) {
                    g.pad_b[d] = g.pad_e[d] = 0;
                    g.out[d] = g.stride[d] * (g.in[d] - 1) + (g.k[d] - 1) * g.dil[d] + 1;
                }
            }
            convt_check(&k, &g, ONNXQ_GEMM_BLAS, c % 2 == 0, &seed);
            convt_check(&k, &g, ONNXQ_GEMM_OWN, c % 2 == 1, &seed);
        }
    }
    /* PP-OCR det's upsampling heads: k2 s2, 24->24 and 24->1 */
    for (int l = 0; l < 2; l++) {
        struct onnxq_conv_geom g;
        memset(&g, 0, sizeof(g));
        g.nsp = 2;
        g.n = 1;
        g.group = 1;
        g.c = 24;
        g.m = l ? 1 : 24;
        for (int d = 0; d < 2; d++) {
            g.in[d] = 20;
            g.k[d] = 2;
            g.stride[d] = 2;
            g.dil[d] = 1;
            g.out[d] = 40;
        }
        convt_check(&k, &g, ONNXQ_GEMM_BLAS, true, &seed);
        convt_check(&k, &g, ONNXQ_GEMM_OWN, true, &seed);
    }
    kctx_free(&k);
}
END_TEST

/* ------------------------------------------------------ in-memory graphs */

static struct onnxq_constant *mk_const(const char *name, enum onnxq_dtype dt, int ndim, const int64_t *dims,
                                       const void *data)
{
    struct onnxq_constant *c = calloc(1, sizeof(*c));
    struct onnxq_error err;
    ck_assert_ptr_nonnull(c);
    c->name = name ? onnxq_strdup(name) : NULL;
    ck_assert_int_eq(onnxq_tensor_alloc(&c->value, dt, ndim, dims, &err), ONNXQ_OK);
    if (c->value.nbytes)
        memcpy(c->value.data, data, c->value.nbytes);
    return c;
}

/* Run a one-output model on the given inputs. */
static struct onnxq_tensor run_model(struct onnxq_model *m, size_t n_in, const struct onnxq_tensor *in)
{
    struct onnxq_exec *e = NULL;
    struct onnxq_error err;
    if (onnxq_exec_new(tu_ctx, m, &e, &err))
        ck_abort_msg("prepare failed: %s", err.message);
    const struct onnxq_tensor *ptrs[8];
    for (size_t i = 0; i < n_in; i++)
        ptrs[i] = &in[i];
    struct onnxq_tensor out;
    memset(&out, 0, sizeof(out));
    if (onnxq_exec_run(e, ptrs, &out, &err))
        ck_abort_msg("run failed: %s", err.message);
    onnxq_exec_free(e);
    return out;
}

static void expect_close(const struct onnxq_tensor *t, int ndim, const int64_t *dims, const double *want)
{
    char a[200], b[200];
    onnxq_shape_format(t->dims, t->ndim, a, sizeof(a));
    onnxq_shape_format(dims, ndim, b, sizeof(b));
    ck_assert_msg(strcmp(a, b) == 0, "shape %s, expected %s", a, b);
    int64_t n = onnxq_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) {
        double got = onnxq_tensor_get_f64(t, (size_t)i);
        ck_assert_msg(fabs(got - want[i]) <= MM_ATOL + MM_RTOL * fabs(want[i]), "element %lld is %.9g, expected %.9g",
                      (long long)i, got, want[i]);
    }
}

/* Conv node with auto_pad through the executor; W constant (initializer
 * or Constant node) or a graph input. */
static void conv_graph_case(const char *auto_pad, int w_kind, int64_t H, int64_t W, int64_t stride, int64_t k,
                            uint64_t *seed)
{
    int64_t C = 5, M = 7;
    struct onnxq_graph *g = onnxq_graph_new();
    ot_graph_input(g, "x", ONNXQ_DT_FLOAT);
    if (w_kind == 0)
        ot_graph_input(g, "w", ONNXQ_DT_FLOAT);
    ot_graph_output(g, "y", ONNXQ_DT_FLOAT, -1, NULL);
    int64_t xd[4] = {1, C, H, W}, wd[4] = {M, C, k, k}, bd[1] = {M};
    size_t nw = (size_t)(M * C * k * k);
    float *w = tu_rand_buf(seed, nw, 1.0f), *b = tu_rand_buf(seed, (size_t)M, 1.0f),
          *x = tu_rand_buf(seed, (size_t)(C * H * W), 1.0f);
    if (w_kind == 1)
        ck_assert(onnxq_graph_add_init(g, mk_const("w", ONNXQ_DT_FLOAT, 4, wd, w)));
    if (w_kind == 2) {
        const char *o[1] = {"w"};
        struct onnxq_node *cn = ot_graph_node(g, "Constant", 0, NULL, 1, o);
        ck_assert(onnxq_node_set_tensor(cn, "value", mk_const(NULL, ONNXQ_DT_FLOAT, 4, wd, w)));
    }
    ck_assert(onnxq_graph_add_init(g, mk_const("b", ONNXQ_DT_FLOAT, 1, bd, b)));
    const char *in[3] = {"x", "w", "b"}, *out[1] = {"y"};
    struct onnxq_node *n = ot_graph_node(g, "Conv", 3, in, 1, out);
    ck_assert(onnxq_node_set_string(n, "auto_pad", auto_pad));
    int64_t st[2] = {stride, stride};
    ck_assert(onnxq_node_set_ints(n, "strides", st, 2));
    struct onnxq_model *m = ot_model(tu_ctx, g, 11);
    struct onnxq_tensor inputs[2];
    inputs[0] = ot_tensor(ONNXQ_DT_FLOAT, 4, xd, x);
    inputs[1] = ot_tensor(ONNXQ_DT_FLOAT, 4, wd, w);
    struct onnxq_tensor y = run_model(m, w_kind == 0 ? 2 : 1, inputs);
    /* expected geometry */
    struct onnxq_conv_geom geo;
    memset(&geo, 0, sizeof(geo));
    geo.nsp = 2;
    geo.n = 1;
    geo.c = C;
    geo.m = M;
    geo.group = 1;
    int64_t in_sz[2] = {H, W};
    for (int d = 0; d < 2; d++) {
        geo.in[d] = in_sz[d];
        geo.k[d] = k;
        geo.stride[d] = stride;
        geo.dil[d] = 1;
        if (strcmp(auto_pad, "VALID") == 0 || strcmp(auto_pad, "NOTSET") == 0) {
            geo.out[d] = (in_sz[d] - k) / stride + 1;
        } else {
            geo.out[d] = (in_sz[d] + stride - 1) / stride;
            int64_t total = (geo.out[d] - 1) * stride + k - in_sz[d];
            if (total < 0)
                total = 0;
            geo.pad_b[d] = strcmp(auto_pad, "SAME_UPPER") == 0 ? total / 2 : total - total / 2;
            geo.pad_e[d] = total - geo.pad_b[d];
        }
    }
    size_t ny = (size_t)(M * geo.out[0] * geo.out[1]);
    double *dx = malloc((size_t)(C * H * W) * sizeof(double)), *dw = malloc(nw * sizeof(double));
    double *db = malloc((size_t)M * sizeof(double)), *dy = malloc(ny * sizeof(double));
    for (int64_t i = 0; i < C * H * W; i++)
        dx[i] = x[i];
    for (size_t i = 0; i < nw; i++)
        dw[i] = w[i];
    for (int64_t i = 0; i < M; i++)
        db[i] = b[i];
    onnxq_conv_ref(&geo, dx, dw, db, dy);
    int64_t yd[4] = {1, M, geo.out[0], geo.out[1]};
    char sa[200], sb[200];
    onnxq_shape_format(y.dims, y.ndim, sa, sizeof(sa));
    onnxq_shape_format(yd, 4, sb, sizeof(sb));
    ck_assert_msg(strcmp(sa, sb) == 0, "%s: shape %s, expected %s", auto_pad, sa, sb);
    double tol = CONV_TOL_PER_SQRT_K * sqrt((double)(C * k * k));
    for (size_t i = 0; i < ny; i++)
        ck_assert_msg(fabs(((float *)y.data)[i] - dy[i]) <= tol, "%s w_kind %d: element %zu is %.9g, expected %.9g",
                      auto_pad, w_kind, i, (double)((float *)y.data)[i], dy[i]);
    onnxq_tensor_clear(&y);
    onnxq_tensor_clear(&inputs[0]);
    onnxq_tensor_clear(&inputs[1]);
    onnxq_model_destroy(m);
    free(x);
    free(w);
    free(b);
    free(dx);
    free(dw);
    free(db);
    free(dy);
}

START_TEST(conv_graph_auto_pad_and_const_weights)
{
    uint64_t seed = 0xbe5466cf34e90c6cull;
    static const char *modes[] = {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"};
    for (int mode = 0; mode < 4; mode++)
        for (int w_kind = 0; w_kind < 3; w_kind++) {
            /* 3x3 stride 1 runs Winograd (pre-packed when W is constant) */
            conv_graph_case(modes[mode], w_kind, 12, 9, 1, 3, &seed);
            conv_graph_case(modes[mode], w_kind, 11, 8, 2, 3, &seed);
            conv_graph_case(modes[mode], w_kind, 7, 10, 3, 2, &seed);
        }
}
END_TEST

/* Gemm through the executor, against a naive product. */
static void gemm_case(int trans_a, int trans_b, float alpha, float beta, int c_kind, int64_t M, int64_t N, int64_t K,
                      uint64_t *seed)
{
    struct onnxq_graph *g = onnxq_graph_new();
    ot_graph_input(g, "a", ONNXQ_DT_FLOAT);
    ot_graph_input(g, "b", ONNXQ_DT_FLOAT);
    /* C: 0 none, 1 scalar, 2 [N], 3 [1,N], 4 [M,1], 5 [M,N], 6 [1] */
    int64_t cdims[6][2] = {{0, 0}, {0, 0}, {N, 0}, {1, N}, {M, 1}, {M, N}};
    int c_nd[7] = {0, 0, 1, 2, 2, 2, 1};
    if (c_kind)
        ot_graph_input(g, "c", ONNXQ_DT_FLOAT);
    ot_graph_output(g, "y", ONNXQ_DT_FLOAT, -1, NULL);
    const char *in[3] = {"a", "b", "c"}, *out[1] = {"y"};
    struct onnxq_node *n = ot_graph_node(g, "Gemm", c_kind ? 3 : 2, in, 1, out);
    ck_assert(onnxq_node_set_int(n, "transA", trans_a));
    ck_assert(onnxq_node_set_int(n, "transB", trans_b));
    ck_assert(onnxq_node_set_float(n, "alpha", alpha));
    ck_assert(onnxq_node_set_float(n, "beta", beta));
    struct onnxq_model *m = ot_model(tu_ctx, g, 13);
    int64_t ad[2] = {trans_a ? K : M, trans_a ? M : K}, bd[2] = {trans_b ? N : K, trans_b ? K : N};
    int64_t cd[2] = {1, 1};
    if (c_kind >= 2 && c_kind <= 5)
        memcpy(cd, cdims[c_kind], sizeof(cd));
    size_t nc = c_kind == 0 ? 0 : (size_t)prod(cd, c_nd[c_kind]);
    float *a = tu_rand_buf(seed, (size_t)(M * K), 1.0f), *b = tu_rand_buf(seed, (size_t)(K * N), 1.0f),
          *c = tu_rand_buf(seed, nc, 1.0f);
    struct onnxq_tensor t[3];
    t[0] = ot_tensor(ONNXQ_DT_FLOAT, 2, ad, a);
    t[1] = ot_tensor(ONNXQ_DT_FLOAT, 2, bd, b);
    t[2] = ot_tensor(ONNXQ_DT_FLOAT, c_nd[c_kind], cd, c);
    struct onnxq_tensor y = run_model(m, c_kind ? 3 : 2, t);
    double *want = malloc((size_t)(M * N) * sizeof(double));
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double acc = 0;
            for (int64_t k = 0; k < K; k++)
                acc += (double)a[trans_a ? k * M + i : i * K + k] * (double)b[trans_b ? j * K + k : k * N + j];
            double cv = 0;
            if (c_kind == 1 || c_kind == 6)
                cv = c[0];
            else if (c_kind == 2 || c_kind == 3)
                cv = c[j];
            else if (c_kind == 4)
                cv = c[i];
            else if (c_kind == 5)
                cv = c[i * N + j];
            want[i * N + j] = alpha * acc + (c_kind ? beta * cv : 0.0);
        }
    int64_t yd[2] = {M, N};
    expect_close(&y, 2, yd, want);
    onnxq_tensor_clear(&y);
    for (int i = 0; i < 3; i++)
        onnxq_tensor_clear(&t[i]);
    onnxq_model_destroy(m);
    free(a);
    free(b);
    free(c);
    free(want);
}

START_TEST(gemm_attributes_and_broadcast)
{
    uint64_t seed = 0xc0ac29b7c97c50ddull;
    for (int c_kind = 0; c_kind <= 6; c_kind++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                gemm_case(ta, tb, 0.5f, 1.5f, c_kind, 3, 5, 4, &seed);
                gemm_case(ta, tb, 1.0f, 0.0f, c_kind, 1, 7, 9, &seed);
                gemm_case(ta, tb, 2.0f, 1.0f, c_kind, 6, 1, 3, &seed);
            }
    gemm_case(0, 1, 1.0f, 1.0f, 2, 64, 96, 130, &seed);
}
END_TEST

/* MatMul through the executor: numpy semantics. */
static void matmul_case(enum onnxq_dtype dt, int na, const int64_t *ad, int nb, const int64_t *bd, int ny,
                        const int64_t *yd, bool b_const, uint64_t *seed)
{
    struct onnxq_graph *g = onnxq_graph_new();
    ot_graph_input(g, "a", dt);
    size_t nA = (size_t)prod(ad, na), nB = (size_t)prod(bd, nb);
    size_t esz = onnxq_dtype_size(dt);
    unsigned char *a = malloc(nA * esz + 1), *b = malloc(nB * esz + 1);
    struct onnxq_tensor ta, tb;
    struct onnxq_error err;
    ck_assert_int_eq(onnxq_tensor_alloc(&ta, dt, na, ad, &err), ONNXQ_OK);
    ck_assert_int_eq(onnxq_tensor_alloc(&tb, dt, nb, bd, &err), ONNXQ_OK);
    for (size_t i = 0; i < nA; i++)
        onnxq_tensor_set_f64(&ta, i, dt == ONNXQ_DT_FLOAT ? tu_frand(seed) : (double)tu_rand_int(seed, -9, 9));
    for (size_t i = 0; i < nB; i++)
        onnxq_tensor_set_f64(&tb, i, dt == ONNXQ_DT_FLOAT ? tu_frand(seed) : (double)tu_rand_int(seed, -9, 9));
    if (nA)
        memcpy(a, ta.data, nA * esz);
    if (nB)
        memcpy(b, tb.data, nB * esz);
    if (b_const)
        ck_assert(onnxq_graph_add_init(g, mk_const("b", dt, nb, bd, b)));
    else
        ot_graph_input(g, "b", dt);
    ot_graph_output(g, "y", dt, -1, NULL);
    const char *in[2] = {"a", "b"}, *out[1] = {"y"};
    ot_graph_node(g, "MatMul", 2, in, 1, out);
    struct onnxq_model *m = ot_model(tu_ctx, g, 13);
    struct onnxq_tensor t[2] = {ta, tb};
    struct onnxq_tensor y = run_model(m, b_const ? 1 : 2, t);
    /* naive numpy matmul */
    int64_t A2[ONNXQ_MAX_DIMS], B2[ONNXQ_MAX_DIMS];
    int ra = na, rb = nb;
    memcpy(A2, ad, (size_t)na * sizeof(int64_t));
    memcpy(B2, bd, (size_t)nb * sizeof(int64_t));
    if (na == 1) {
        A2[0] = 1;
        A2[1] = ad[0];
        ra = 2;
    }
    if (nb == 1) {
        B2[0] = bd[0];
        B2[1] = 1;
        rb = 2;
    }
    int64_t M = A2[ra - 2], K = A2[ra - 1], N = B2[rb - 1];
    int nbat = (ra > rb ? ra : rb) - 2;
    int64_t bat[ONNXQ_MAX_DIMS];
    for (int i = 0; i < nbat; i++) {
        int ia = i - (nbat - (ra - 2)), ib = i - (nbat - (rb - 2));
        int64_t x = ia >= 0 ? A2[ia] : 1, z = ib >= 0 ? B2[ib] : 1;
        bat[i] = x > z ? x : z;
    }
    int64_t nbatch = prod(bat, nbat);
    double *want = malloc((size_t)(nbatch * M * N + 1) * sizeof(double));
    for (int64_t bi = 0; bi < nbatch; bi++) {
        int64_t r = bi, offa = 0, offb = 0, sa = 1, sb = 1;
        for (int i = nbat - 1; i >= 0; i--) {
            int64_t idx = r % bat[i];
            r /= bat[i];
            int ia = i - (nbat - (ra - 2)), ib = i - (nbat - (rb - 2));
            if (ia >= 0) {
                offa += (A2[ia] == 1 ? 0 : idx) * sa;
                sa *= A2[ia];
            }
            if (ib >= 0) {
                offb += (B2[ib] == 1 ? 0 : idx) * sb;
                sb *= B2[ib];
            }
        }
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double acc = 0;
                for (int64_t k = 0; k < K; k++)
                    acc += onnxq_tensor_get_f64(&ta, (size_t)(offa * M * K + i * K + k)) *
                           onnxq_tensor_get_f64(&tb, (size_t)(offb * K * N + k * N + j));
                want[(bi * M + i) * N + j] = acc;
            }
    }
    ck_assert_int_eq(y.dtype, dt);
    expect_close(&y, ny, yd, want);
    onnxq_tensor_clear(&y);
    onnxq_tensor_clear(&ta);
    onnxq_tensor_clear(&tb);
    onnxq_model_destroy(m);
    free(a);
    free(b);
    free(want);
}

START_TEST(matmul_broadcast_and_vectors)
{
    uint64_t seed = 0x3f84d5b5b5470917ull;
    static const enum onnxq_dtype dts[] = {ONNXQ_DT_FLOAT, ONNXQ_DT_INT32, ONNXQ_DT_INT64, ONNXQ_DT_DOUBLE};
    for (size_t di = 0; di < sizeof(dts) / sizeof(dts[0]); di++) {
        enum onnxq_dtype dt = dts[di];
        for (int bc = 0; bc < 2; bc++) {
            bool b_const = bc == 1;
            {
                int64_t a[2] = {3, 4}, b[2] = {4, 5}, y[2] = {3, 5};
                matmul_case(dt, 2, a, 2, b, 2, y, b_const, &seed);
            }
            {
                int64_t a[4] = {2, 1, 3, 4}, b[3] = {5, 4, 2}, y[4] = {2, 5, 3, 2};
                matmul_case(dt, 4, a, 3, b, 4, y, b_const, &seed);
            }
            {
                int64_t a[3] = {2, 3, 4}, b[2] = {4, 6}, y[3] = {2, 3, 6};  /* batch folded into M */
                matmul_case(dt, 3, a, 2, b, 3, y, b_const, &seed);
            }
            {
                int64_t a[2] = {3, 4}, b[3] = {2, 4, 6}, y[3] = {2, 3, 6};
                matmul_case(dt, 2, a, 3, b, 3, y, b_const, &seed);
            }
            {
                int64_t a[1] = {4}, b[3] = {3, 4, 5}, y[2] = {3, 5};
                matmul_case(dt, 1, a, 3, b, 2, y, b_const, &seed);
            }
            {
                int64_t a[3] = {2, 3, 4}, b[1] = {4}, y[2] = {2, 3};
                matmul_case(dt, 3, a, 1, b, 2, y, b_const, &seed);
            }
            {
                int64_t a[1] = {4}, b[1] = {4};
                matmul_case(dt, 1, a, 1, b, 0, NULL, b_const, &seed);
            }
            {
                int64_t a[2] = {1, 7}, b[2] = {7, 9}, y[2] = {1, 9};  /* gemv paths */
                matmul_case(dt, 2, a, 2, b, 2, y, b_const, &seed);
                int64_t a2[2] = {9, 7}, b2[2] = {7, 1}, y2[2] = {9, 1};
                matmul_case(dt, 2, a2, 2, b2, 2, y2, b_const, &seed);
            }
            {
                int64_t a[3] = {3, 0, 4}, b[2] = {4, 2}, y[3] = {3, 0, 2};  /* empty */
                matmul_case(dt, 3, a, 2, b, 3, y, b_const, &seed);
            }
        }
    }
}
END_TEST

/* Gemm and MatMul called directly with OpenBLAS single-threaded and a pool
 * of two: the products are split over the pool (rows, columns, batches). */
static void direct_mm(struct kctx *k, bool gemm, int ta, int tb, int na, const int64_t *ad, int nb, const int64_t *bd,
                      uint64_t *seed)
{
    struct onnxq_tensor a, b, y;
    struct onnxq_error err;
    ck_assert_int_eq(onnxq_tensor_alloc(&a, ONNXQ_DT_FLOAT, na, ad, &err), ONNXQ_OK);
    ck_assert_int_eq(onnxq_tensor_alloc(&b, ONNXQ_DT_FLOAT, nb, bd, &err), ONNXQ_OK);
    memset(&y, 0, sizeof(y));
    for (int64_t i = 0; i < onnxq_tensor_numel(&a); i++)
        ((float *)a.data)[i] = tu_frand(seed);
    for (int64_t i = 0; i < onnxq_tensor_numel(&b); i++)
        ((float *)b.data)[i] = tu_frand(seed);
    const char *in[2] = {"a", "b"}, *out[1] = {"y"};
    struct onnxq_node *node = onnxq_node_new(gemm ? "Gemm" : "MatMul", "direct", 2, in, 1, out);
    ck_assert(onnxq_node_set_int(node, "transA", ta) && onnxq_node_set_int(node, "transB", tb));
    void *state = NULL;
    if (gemm) {
        const struct onnxq_tensor *consts[2] = {NULL, NULL};
        struct onnxq_op_init ictx = {node, 13, NULL, &err, consts, 2};
        ck_assert_int_eq(onnxq_gemm_init(&ictx, &state), ONNXQ_OK);
    }
    const struct onnxq_tensor *ins[2] = {&a, &b};
    struct onnxq_tensor *outs[1] = {&y};
    struct onnxq_op_ctx c = k->c;
    c.node = node;
    c.n_inputs = 2;
    c.inputs = ins;
    c.n_outputs = 1;
    c.outputs = outs;
    ck_assert_int_eq(gemm ? onnxq_gemm_shape(state, &c) : onnxq_matmul_shape(NULL, &c), ONNXQ_OK);
    int64_t yd[ONNXQ_MAX_DIMS];
    memcpy(yd, y.dims, sizeof(yd));
    ck_assert_int_eq(onnxq_tensor_alloc(&y, y.dtype, y.ndim, yd, &err), ONNXQ_OK);
    ck_assert_int_eq(gemm ? onnxq_gemm_run(state, &c) : onnxq_matmul_run(NULL, &c), ONNXQ_OK);
    /* reference: batch dims of A only (B 2-D) or equal batch dims */
    int64_t M = gemm ? (ta ? ad[1] : ad[0]) : ad[na - 2], K = gemm ? (ta ? ad[0] : ad[1]) : ad[na - 1];
    int64_t N = gemm ? (tb ? bd[0] : bd[1]) : bd[nb - 1];
    int64_t batches = gemm ? 1 : prod(ad, na - 2);
    bool b_batched = !gemm && nb > 2;
    for (int64_t bi = 0; bi < batches; bi++)
        for (int64_t i = 0; i < M; i++)
            for (int64_t jj = 0; jj < N; jj++) {
                double acc = 0;
                const float *pa = (const float *)a.data + bi * M * K;
                const float *pb = (const float *)b.data + (b_batched ? bi * K * N : 0);
                for (int64_t kk = 0; kk < K; kk++)
                    acc += (double)pa[ta ? kk * M + i : i * K + kk] * (double)pb[tb ? jj * K + kk : kk * N + jj];
                double got = ((const float *)y.data)[(bi * M + i) * N + jj];
                ck_assert_msg(fabs(got - acc) <= MM_ATOL * sqrt((double)K) + MM_RTOL * fabs(acc),
                              "%s ta%d tb%d [%lld,%lld,%lld]: element (%lld,%lld,%lld) is %.9g, expected %.9g",
                              gemm ? "Gemm" : "MatMul", ta, tb, (long long)M, (long long)N, (long long)K,
                              (long long)bi, (long long)i, (long long)jj, got, acc);
            }
    free(state);
    onnxq_node_free(node);
    onnxq_tensor_clear(&a);
    onnxq_tensor_clear(&b);
    onnxq_tensor_clear(&y);
}

START_TEST(gemm_matmul_split_blas)
{
    openblas_set_num_threads(1);
    struct kctx k;
    kctx_init(&k, 2);
    uint64_t seed = 0x9216d5d98979fb1bull;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            int64_t sizes[][3] = {{67, 45, 80}, {5, 300, 70}, {1, 500, 90}, {400, 1, 70}, {3, 3, 3}};
            for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
                int64_t M = sizes[i][0], N = sizes[i][1], K = sizes[i][2];
                int64_t ad[2] = {ta ? K : M, ta ? M : K}, bd[2] = {tb ? N : K, tb ? K : N};
                direct_mm(&k, true, ta, tb, 2, ad, 2, bd, &seed);
            }
        }
    int64_t a1[3] = {4, 37, 64}, b1[2] = {64, 50};   /* folded batch */
    direct_mm(&k, false, 0, 0, 3, a1, 2, b1, &seed);
    int64_t a2[3] = {6, 30, 40}, b2[3] = {6, 40, 33}; /* per-batch tasks */
    direct_mm(&k, false, 0, 0, 3, a2, 3, b2, &seed);
    int64_t a3[3] = {1, 90, 80}, b3[3] = {1, 80, 70}; /* one big product, split */
    direct_mm(&k, false, 0, 0, 3, a3, 3, b3, &seed);
    kctx_free(&k);
    openblas_set_num_threads(2);
}
END_TEST

/* Outputs given back with onnxq_exec_recycle_output serve the next run
 * (the same buffer, the right values); a tensor the executor did not hand
 * out, or one of an earlier run, is just cleared. */
START_TEST(exec_recycles_outputs)
{
    struct onnxq_graph *g = onnxq_graph_new();
    ot_graph_input(g, "x", ONNXQ_DT_FLOAT);
    ot_graph_output(g, "y", ONNXQ_DT_FLOAT, -1, NULL);
    const char *in[1] = {"x"}, *out[1] = {"y"};
    ot_graph_node(g, "Relu", 1, in, 1, out);
    struct onnxq_model *m = ot_model(tu_ctx, g, 14);
    struct onnxq_exec *e = NULL;
    struct onnxq_error err;
    ck_assert_int_eq(onnxq_exec_new(tu_ctx, m, &e, &err), ONNXQ_OK);
    const int64_t d[4] = {1, 4, 256, 256};
    const size_t n = 4 * 256 * 256;
    uint64_t seed = 99;
    void *prev = NULL;
    for (int r = 0; r < 3; r++) {
        float *xv = tu_rand_buf(&seed, n, 1.0f);
        struct onnxq_tensor x = ot_tensor(ONNXQ_DT_FLOAT, 4, d, xv), y;
        const struct onnxq_tensor *ptrs[1] = {&x};
        memset(&y, 0, sizeof(y));
        ck_assert_int_eq(onnxq_exec_run(e, ptrs, &y, &err), ONNXQ_OK);
        ck_assert(y.owns_data);
        if (prev)
            ck_assert_ptr_eq(y.data, prev); /* the recycled buffer */
        const float *yv = y.data;
        for (size_t i = 0; i < n; i++)
            ck_assert(yv[i] == (xv[i] > 0 ? xv[i] : 0.0f));
        prev = y.data;
        onnxq_exec_recycle_output(e, &y);
        ck_assert_ptr_null(y.data);
        onnxq_tensor_clear(&x);
        free(xv);
    }
    /* not handed out by the executor: cleared, not pooled */
    struct onnxq_tensor c;
    float one = 1;
    struct onnxq_tensor src = ot_tensor(ONNXQ_DT_FLOAT, 1, (int64_t[]){1}, &one);
    ck_assert_int_eq(onnxq_tensor_copy(&c, &src, &err), ONNXQ_OK);
    onnxq_exec_recycle_output(e, &c);
    ck_assert_ptr_null(c.data);
    onnxq_exec_recycle_output(e, NULL);
    onnxq_tensor_clear(&src);
    onnxq_exec_free(e);
    onnxq_model_free(m);
}
END_TEST

/* Shape errors are reported, not crashed on. */
START_TEST(conv_shape_errors)
{
    struct onnxq_graph *g = onnxq_graph_new();
    ot_graph_input(g, "x", ONNXQ_DT_FLOAT);
    ot_graph_input(g, "w", ONNXQ_DT_FLOAT);
    ot_graph_output(g, "y", ONNXQ_DT_FLOAT, -1, NULL);
    const char *in[2] = {"x", "w"}, *out[1] = {"y"};
    ot_graph_node(g, "Conv", 2, in, 1, out);
    struct onnxq_model *m = ot_model(tu_ctx, g, 11);
    struct onnxq_exec *e = NULL;
    struct onnxq_error err;
    ck_assert_int_eq(onnxq_exec_new(tu_ctx, m, &e, &err), ONNXQ_OK);
    int64_t xd[4] = {1, 3, 5, 5}, wd[4] = {2, 4, 3, 3}, wd2[3] = {2, 3, 3}, wd3[4] = {2, 3, 7, 7};
    float buf[300] = {0};
    struct onnxq_tensor x = ot_tensor(ONNXQ_DT_FLOAT, 4, xd, buf);
    const int64_t *wds[3] = {wd, wd2, wd3};
    int wnd[3] = {4, 3, 4};
    for (int i = 0; i < 3; i++) {
        struct onnxq_tensor w = ot_tensor(ONNXQ_DT_FLOAT, wnd[i], wds[i], buf);
        const struct onnxq_tensor *ptrs[2] = {&x, &w};
        struct onnxq_tensor y;
        memset(&y, 0, sizeof(y));
        enum onnxq_status st = onnxq_exec_run(e, ptrs, &y, &err);
        ck_assert_int_eq(st, ONNXQ_E_SHAPE);
        ck_assert_ptr_nonnull(strstr(err.message, "Conv"));
        onnxq_tensor_clear(&w);
    }
    /* an empty kernel is an error, not a crash */
    int64_t wd4[4] = {2, 3, 0, 3};
    struct onnxq_tensor w0 = ot_tensor(ONNXQ_DT_FLOAT, 4, wd4, buf);
    const struct onnxq_tensor *p0[2] = {&x, &w0};
    struct onnxq_tensor y0;
    memset(&y0, 0, sizeof(y0));
    ck_assert_int_eq(onnxq_exec_run(e, p0, &y0, &err), ONNXQ_E_SHAPE);
    onnxq_tensor_clear(&w0);
    /* no input channels: the output is all zeros (no bias) */
    int64_t xd0[4] = {1, 0, 5, 5}, wd0[4] = {2, 0, 3, 3};
    struct onnxq_tensor xz = ot_tensor(ONNXQ_DT_FLOAT, 4, xd0, buf), wz = ot_tensor(ONNXQ_DT_FLOAT, 4, wd0, buf);
    const struct onnxq_tensor *pz[2] = {&xz, &wz};
    struct onnxq_tensor yz;
    memset(&yz, 0, sizeof(yz));
    ck_assert_int_eq(onnxq_exec_run(e, pz, &yz, &err), ONNXQ_OK);
    ck_assert_int_eq(onnxq_tensor_numel(&yz), 2 * 3 * 3);
    for (int i = 0; i < 18; i++)
        ck_assert(((float *)yz.data)[i] == 0.0f);
    onnxq_tensor_clear(&yz);
    onnxq_tensor_clear(&xz);
    onnxq_tensor_clear(&wz);
    onnxq_tensor_clear(&x);
    onnxq_exec_free(e);
    onnxq_model_destroy(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("conv");
    TCase *tc = tcase_create("conv");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, conv_paths_match_reference);
    tcase_add_test(tc, conv_paths_match_reference_split_blas);
    tcase_add_test(tc, conv_paths_match_reference_one_thread);
    tcase_add_test(tc, conv_ppocr_det_shapes);
    tcase_add_test(tc, convtranspose_matches_reference);
    tcase_add_test(tc, conv_graph_auto_pad_and_const_weights);
    tcase_add_test(tc, gemm_attributes_and_broadcast);
    tcase_add_test(tc, matmul_broadcast_and_vectors);
    tcase_add_test(tc, gemm_matmul_split_blas);
    tcase_add_test(tc, conv_shape_errors);
    tcase_add_test(tc, exec_recycles_outputs);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
