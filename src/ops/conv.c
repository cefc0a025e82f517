/* Convolution and matrix products: Conv, ConvTranspose, Gemm, MatMul.
 *
 * Float32 Conv picks one of (onnxq_conv_f32, conv_choose):
 *   depthwise  group == C == M, 1-D/2-D: per channel plane, on a zero-padded
 *              copy, one-pass kernels for 3x3/5x5 at stride 1/2;
 *   winograd   2-D 3x3 stride 1 dilation 1 group 1 (C >= 16): F(2x2,3x3),
 *              16 products per block of tile rows;
 *   gemm_1x1   1x1 stride 1 no pad: Y_g = W_g X_g straight from the input;
 *   im2col     everything else: im2col into a bounded tile of output rows
 *              (positions for 3-D and up; whole images side by side when
 *              they are small), then one product per tile.
 * The products run on one of two engines (enum onnxq_gemm_backend):
 *   own        the in-house kernel below (default on AVX-512 builds):
 *              weights packed once in init, every worker of the executor
 *              pool computes whole tiles single-threaded;
 *   OpenBLAS   called from the calling thread when OpenBLAS threads itself
 *              (the executor sets its thread count), with our own loops
 *              (im2col, transforms) spread over the pool; when OpenBLAS is
 *              single-threaded (openblas_get_num_threads() == 1) while the
 *              pool has more threads, the work is split into independent
 *              tiles, one sgemm per pool task, as with the own kernel.
 * ConvTranspose is a product (W^T X) followed by col2im; Gemm and MatMul go
 * to OpenBLAS (dgemm for double, generic loops for the other types).
 *
 * Double and float16 Conv/ConvTranspose run the double-precision scalar
 * reference, which is also the oracle of tests/test_conv.c. */
#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "exec/exec.h"
#include "ops/conv.h"

/* OpenBLAS's thread query (only read here; the executor sets it). */
int openblas_get_num_threads(void);

/* Convolutions below this many flops (about 0.1 ms on one core) run on
 * the calling thread: waking a pool worker costs tens of microseconds. */
#define PAR_MIN_FLOPS 1.6e7
/* Scratch budget for one im2col tile (bytes); tiles cover whole output rows. */
#define COL_TILE_BYTES ((size_t)2 << 20)
/* Winograd: tiles (2x2 outputs each) per block; bounds V and M buffers. */
#define WINO_BLOCK_TILES 320
/* Distance (floats) between the 16 transformed matrices of r rows and nt
 * columns: padded by one cache line so the 16 streams written by the input
 * transform (and read by the output transform) do not alias in L1. */
#define WINO_MAT_STRIDE(r, nt) ((size_t)(r) * (size_t)(nt) + 16)

/* ------------------------------------------------------------ small utils */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static int64_t ceil_div(int64_t a, int64_t b)
{
    return -floor_div(-a, b);
}

static int64_t prod64(const int64_t *d, int n)
{
    int64_t p = 1;
    for (int i = 0; i < n; i++)
        p *= d[i];
    return p;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

/* Scratch memory: the executor's buffer, or malloc when there is no
 * executor (unit tests). */
struct scratch {
    void *p;
    bool owned;
};

static void *scratch_get(struct onnxq_op_ctx *ctx, size_t bytes, struct scratch *s)
{
    if (ctx->exec) {
        s->owned = false;
        s->p = onnxq_exec_scratch(ctx->exec, bytes ? bytes : 1);
    } else {
        s->owned = true;
        s->p = malloc(bytes ? bytes : 1);
    }
    return s->p;
}

static void scratch_put(struct scratch *s)
{
    if (s->owned)
        free(s->p);
    s->p = NULL;
}

static enum onnxq_status fail_nomem(struct onnxq_op_ctx *ctx)
{
    return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_NOMEM, "out of memory for convolution scratch");
}

/* True when the GEMM-based kernels should split work over the pool and call
 * single-threaded OpenBLAS from each task. */
static bool split_blas(const struct onnxq_op_ctx *ctx)
{
    return ctx->threads > 1 && ctx->pool && openblas_get_num_threads() == 1;
}

/* One row-major product C = alpha * op(A) op(B) + beta * C, with gemv for
 * single-row or single-column results. */
static void sgemm_call(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                       const float *B, int64_t ldb, float beta, float *C, int64_t ldc)
{
    if (N == 1)
        cblas_sgemv(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, (int)(ta ? K : M), (int)(ta ? M : K), alpha, A,
                    (int)lda, B, tb ? 1 : (int)ldb, beta, C, (int)ldc);
    else if (M == 1)
        cblas_sgemv(CblasRowMajor, tb ? CblasNoTrans : CblasTrans, (int)(tb ? N : K), (int)(tb ? K : N), alpha, B,
                    (int)ldb, A, ta ? (int)lda : 1, beta, C, 1);
    else
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)M, (int)N,
                    (int)K, alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}

struct sgemm_job {
    bool ta, tb;
    int64_t M, N, K;
    float alpha, beta;
    const float *A, *B;
    float *C;
    int64_t lda, ldb, ldc;
    bool by_rows;
    int64_t chunk;
};

static void sgemm_range(void *arg, size_t b, size_t e)
{
    const struct sgemm_job *j = arg;
    for (size_t part = b; part < e; part++) {
        int64_t p0 = (int64_t)part * j->chunk;
        if (j->by_rows) {
            int64_t rows = min64(j->chunk, j->M - p0);
            if (rows > 0)
                sgemm_call(j->ta, j->tb, rows, j->N, j->K, j->alpha, j->A + (j->ta ? p0 : p0 * j->lda), j->lda, j->B,
                           j->ldb, j->beta, j->C + p0 * j->ldc, j->ldc);
        } else {
            int64_t cols = min64(j->chunk, j->N - p0);
            if (cols > 0)
                sgemm_call(j->ta, j->tb, j->M, cols, j->K, j->alpha, j->A, j->lda,
                           j->B + (j->tb ? p0 * j->ldb : p0), j->ldb, j->beta, j->C + p0, j->ldc);
        }
    }
}

/* sgemm_call, split over the pool in row or column slices when OpenBLAS is
 * single-threaded (see split_blas) and the product is big enough. */
static void sgemm_pool(struct onnxq_op_ctx *ctx, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                       const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc)
{
    double flops = 2.0 * (double)M * (double)N * (double)K;
    if (!split_blas(ctx) || flops < 4e5 || (M < 2 && N < 32)) {
        sgemm_call(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    int64_t parts = ctx->threads;
    struct sgemm_job j = {ta, tb, M, N, K, alpha, beta, A, B, C, lda, ldb, ldc, false, 0};
    /* rows when there are enough of them, else columns (multiples of 16) */
    j.by_rows = M >= 8 * parts || M >= N;
    if (j.by_rows) {
        j.chunk = (M + parts - 1) / parts;
    } else {
        j.chunk = (N + parts - 1) / parts;
        j.chunk = (j.chunk + 15) / 16 * 16;
    }
    int64_t total = j.by_rows ? M : N;
    onnxq_parallel_for(ctx, (size_t)((total + j.chunk - 1) / j.chunk), 1, sgemm_range, &j);
}

static void fill_f32(float *p, size_t n, float v)
{
    for (size_t i = 0; i < n; i++)
        p[i] = v;
}

/* ------------------------------------------------ in-house sgemm kernel */

/* Debian's OpenBLAS runs its Haswell (AVX2) kernels on AVX-512 machines and
 * threads poorly on the small-M products of convolutions. When the build
 * targets AVX-512 (meson -Dmarch=native on such a CPU) the convolution paths
 * use this kernel instead: A in MR-row panels (packed once, in init, for
 * constant weights), B packed per KC x NC block, an MR x NR accumulator tile
 * that GCC keeps in zmm registers, and the work split over the executor
 * pool. On PP-OCR conv shapes it measured 1.3-1.9x OpenBLAS per core. */
#if defined(__AVX512F__)
#define OWN_GEMM_DEFAULT true
#else
#define OWN_GEMM_DEFAULT false
#endif
#define GEMM_MR 8  /* gemm_ukr writes its 8 rows out */
#define GEMM_NR 32
#define GEMM_KC 256
#define GEMM_NC 256
#define GEMM_BBUF ((size_t)GEMM_KC * GEMM_NC)  /* floats of one B block buffer */

static size_t pack_a_elems(int64_t m, int64_t k)
{
    return (size_t)((m + GEMM_MR - 1) / GEMM_MR) * GEMM_MR * (size_t)k;
}

/* A(r, q) = trans ? a[q * lda + r] : a[r * lda + q], r < m, q < k, into
 * panels dst[(p * k + q) * MR + i] = A(p * MR + i, q), zero past m. */
static void pack_a(const float *a, int64_t lda, bool trans, int64_t m, int64_t k, float *dst)
{
    for (int64_t p = 0; p < (m + GEMM_MR - 1) / GEMM_MR; p++)
        for (int64_t q = 0; q < k; q++)
            for (int64_t i = 0; i < GEMM_MR; i++) {
                int64_t r = p * GEMM_MR + i;
                dst[(p * k + q) * GEMM_MR + i] = r >= m ? 0.0f : trans ? a[q * lda + r] : a[r * lda + q];
            }
}

/* B block [kc, nc] (row stride ldb) into NR-column panels [kc][NR], zero padded. */
static void pack_b(const float *b, int64_t ldb, int64_t kc, int64_t nc, float *dst)
{
    for (int64_t jp = 0; jp < (nc + GEMM_NR - 1) / GEMM_NR; jp++) {
        int64_t j0 = jp * GEMM_NR, w = min64(GEMM_NR, nc - j0);
        float *d = dst + jp * kc * GEMM_NR;
        for (int64_t q = 0; q < kc; q++) {
            const float *src = b + q * ldb + j0;
            float *o = d + q * GEMM_NR;
            if (w == GEMM_NR) {
                memcpy(o, src, GEMM_NR * sizeof(float));
            } else {
                for (int64_t j = 0; j < w; j++)
                    o[j] = src[j];
                for (int64_t j = w; j < GEMM_NR; j++)
                    o[j] = 0.0f;
            }
        }
    }
}

/* c[MR x NR] = init + a-panel * b-panel over kc; init: bias per row (or 0)
 * when `init`, else the current c. */
static void gemm_ukr(int64_t kc, const float *restrict a, const float *restrict b, float *restrict c, int64_t ldc,
                     bool init, const float *restrict bias)
{
    float acc[GEMM_MR][GEMM_NR];
    if (init) {
        for (int i = 0; i < GEMM_MR; i++) {
            float v = bias ? bias[i] : 0.0f;
            for (int j = 0; j < GEMM_NR; j++)
                acc[i][j] = v;
        }
    } else {
        for (int i = 0; i < GEMM_MR; i++)
            for (int j = 0; j < GEMM_NR; j++)
                acc[i][j] = c[i * ldc + j];
    }
    /* rows written out so that -O2 keeps acc in registers too (-O3
     * unrolls the row loop itself) */
    for (int64_t q = 0; q < kc; q++) {
        const float *br = b + q * GEMM_NR, *aq = a + q * GEMM_MR;
#define GEMM_ROW(I) \
    for (int j = 0; j < GEMM_NR; j++) \
        acc[I][j] += aq[I] * br[j];
        GEMM_ROW(0)
        GEMM_ROW(1)
        GEMM_ROW(2)
        GEMM_ROW(3)
        GEMM_ROW(4)
        GEMM_ROW(5)
        GEMM_ROW(6)
        GEMM_ROW(7)
#undef GEMM_ROW
    }
    for (int i = 0; i < GEMM_MR; i++)
        for (int j = 0; j < GEMM_NR; j++)
            c[i * ldc + j] = acc[i][j];
}

/* One mr x nr tile (mr <= MR, nr <= NR) of C = init + a-panel b-panel. */
static void gemm_tile(int64_t kc, const float *a, const float *bp, float *cc, int64_t ldc, int64_t mr, int64_t nr,
                      bool init, const float *bias)
{
    float tmp[GEMM_MR * GEMM_NR], tb[GEMM_MR];
    if (bias && mr < GEMM_MR) {
        for (int64_t i = 0; i < GEMM_MR; i++)
            tb[i] = i < mr ? bias[i] : 0.0f;
        bias = tb;
    }
    if (mr == GEMM_MR && nr == GEMM_NR) {
        gemm_ukr(kc, a, bp, cc, ldc, init, bias);
        return;
    }
    /* edge tile through a full-size temporary */
    for (int64_t i = 0; i < mr && !init; i++)
        for (int64_t j = 0; j < nr; j++)
            tmp[i * GEMM_NR + j] = cc[i * ldc + j];
    gemm_ukr(kc, a, bp, tmp, GEMM_NR, init, bias);
    for (int64_t i = 0; i < mr; i++)
        for (int64_t j = 0; j < nr; j++)
            cc[i * ldc + j] = tmp[i * GEMM_NR + j];
}

/* C[m, n] = init + A B in the calling thread. A packed by pack_a (m x k),
 * B row-major with row stride ldb, C with row stride ldc; init is C itself
 * when `accumulate`, else bias[row] (or 0). bbuf: GEMM_BBUF floats. */
static void own_gemm(const float *ap, int64_t m, int64_t k, const float *b, int64_t ldb, int64_t n, float *c,
                     int64_t ldc, const float *bias, bool accumulate, float *bbuf, struct onnxq_vstats_sink *sk,
                     struct onnxq_vstats *vs)
{
    if (k == 0) {
        for (int64_t i = 0; i < m && !accumulate; i++)
            fill_f32(c + i * ldc, (size_t)n, bias ? bias[i] : 0.0f);
        return;
    }
    for (int64_t n0 = 0; n0 < n; n0 += GEMM_NC) {
        int64_t nc = min64(GEMM_NC, n - n0);
        for (int64_t k0 = 0; k0 < k; k0 += GEMM_KC) {
            int64_t kc = min64(GEMM_KC, k - k0);
            pack_b(b + k0 * ldb + n0, ldb, kc, nc, bbuf);
            bool init = k0 == 0 && !accumulate;
            for (int64_t p = 0; p < (m + GEMM_MR - 1) / GEMM_MR; p++) {
                const float *a = ap + (p * k + k0) * GEMM_MR;
                int64_t mr = min64(GEMM_MR, m - p * GEMM_MR);
                for (int64_t jp = 0; jp < (nc + GEMM_NR - 1) / GEMM_NR; jp++)
                    gemm_tile(kc, a, bbuf + jp * kc * GEMM_NR, c + p * GEMM_MR * ldc + n0 + jp * GEMM_NR, ldc, mr,
                              min64(GEMM_NR, nc - jp * GEMM_NR), init, bias ? bias + p * GEMM_MR : NULL);
            }
        }
        /* the m x nc block is final and still in cache */
        if (vs)
            onnxq_vstats_sink_observe2d(sk, vs, c + n0, (size_t)m, (size_t)nc, (size_t)ldc);
    }
}

/* Floats of B (k x n) packed whole: ceil(n / NR) panels of [k][NR]. */
static size_t packed_b_elems(int64_t k, int64_t n)
{
    return (size_t)((n + GEMM_NR - 1) / GEMM_NR) * (size_t)k * GEMM_NR;
}

/* C[m, n] = A B with B already packed whole (panel jp at jp * k * NR, zero
 * padded past n), no bias. */
static void own_gemm_bp(const float *ap, int64_t m, int64_t k, const float *bp, int64_t n, float *c, int64_t ldc)
{
    for (int64_t k0 = 0; k0 < k; k0 += GEMM_KC) {
        int64_t kc = min64(GEMM_KC, k - k0);
        for (int64_t jp = 0; jp < (n + GEMM_NR - 1) / GEMM_NR; jp++)
            for (int64_t p = 0; p < (m + GEMM_MR - 1) / GEMM_MR; p++)
                gemm_tile(kc, ap + (p * k + k0) * GEMM_MR, bp + (jp * k + k0) * GEMM_NR,
                          c + p * GEMM_MR * ldc + jp * GEMM_NR, ldc, min64(GEMM_MR, m - p * GEMM_MR),
                          min64(GEMM_NR, n - jp * GEMM_NR), k0 == 0, NULL);
    }
}

/* Pool slots for code that needs one buffer per concurrent task. */
static int64_t pool_slots(const struct onnxq_op_ctx *ctx)
{
    return ctx->threads > 1 && ctx->pool ? ctx->threads : 1;
}

/* Dynamic work sharing: each of `nslots` participants takes a buffer slot,
 * then claims pieces from a shared counter until none are left. A worker
 * that wakes late (tens of microseconds on some VMs) only takes what is
 * still left instead of holding back a fixed share. */
typedef void (*piece_fn)(void *arg, int64_t piece, int64_t slot);

struct pieces_job {
    atomic_llong next_piece, next_slot;
    int64_t npieces;
    piece_fn fn;
    void *arg;
};

static void pieces_range(void *arg, size_t b, size_t e)
{
    struct pieces_job *j = arg;
    for (size_t i = b; i < e; i++) {
        int64_t slot = (int64_t)atomic_fetch_add(&j->next_slot, 1);
        for (;;) {
            int64_t piece = (int64_t)atomic_fetch_add(&j->next_piece, 1);
            if (piece >= j->npieces)
                break;
            j->fn(j->arg, piece, slot);
        }
    }
}

/* fn(arg, piece, slot) for every piece in [0, npieces), slot < nslots. */
static void run_pieces(struct onnxq_op_ctx *ctx, int64_t npieces, int64_t nslots, piece_fn fn, void *arg)
{
    nslots = min64(nslots, npieces);
    if (nslots <= 1) {
        for (int64_t piece = 0; piece < npieces; piece++)
            fn(arg, piece, 0);
        return;
    }
    struct pieces_job j;
    atomic_init(&j.next_piece, 0);
    atomic_init(&j.next_slot, 0);
    j.npieces = npieces;
    j.fn = fn;
    j.arg = arg;
    onnxq_parallel_for(ctx, (size_t)nslots, 1, pieces_range, &j);
}

struct own_gemm_job {
    const float *ap, *b, *bias;
    float *c, *bufs;
    int64_t m, k, ldb, n, ldc, chunk;
};

static void own_gemm_piece(void *arg, int64_t ch, int64_t slot)
{
    const struct own_gemm_job *j = arg;
    int64_t c0 = ch * j->chunk;
    own_gemm(j->ap, j->m, j->k, j->b + c0, j->ldb, min64(j->chunk, j->n - c0), j->c + c0, j->ldc, j->bias, false,
             j->bufs + (size_t)slot * GEMM_BBUF, NULL, NULL);
}

/* own_gemm (not accumulating) with the columns split over the pool; bufs
 * holds pool_slots(ctx) B buffers. */
static void own_gemm_pool(struct onnxq_op_ctx *ctx, const float *ap, int64_t m, int64_t k, const float *b,
                          int64_t ldb, int64_t n, float *c, int64_t ldc, const float *bias, float *bufs)
{
    int64_t slots = pool_slots(ctx);
    double flops = 2.0 * (double)m * (double)n * (double)k;
    if (slots == 1 || flops < 2e6 || n < 2 * GEMM_NR) {
        own_gemm(ap, m, k, b, ldb, n, c, ldc, bias, false, bufs, NULL, NULL);
        return;
    }
    int64_t chunk = (n + 4 * slots - 1) / (4 * slots);
    chunk = max64(4 * GEMM_NR, (chunk + GEMM_NR - 1) / GEMM_NR * GEMM_NR);
    struct own_gemm_job j = {ap, b, bias, c, bufs, m, k, ldb, n, ldc, chunk};
    run_pieces(ctx, (n + chunk - 1) / chunk, slots, own_gemm_piece, &j);
}

/* --------------------------------------------------- 1-D/2-D geometry view */

struct g2 {
    int64_t H, W, OH, OW, KH, KW, SH, SW, DH, DW, PH, PW;
};

/* 1-D convolutions run as 2-D with H = 1. */
static bool geom_2d(const struct onnxq_conv_geom *g, struct g2 *o)
{
    if (g->nsp == 2) {
        *o = (struct g2){g->in[0], g->in[1], g->out[0], g->out[1], g->k[0], g->k[1], g->stride[0],
                         g->stride[1], g->dil[0], g->dil[1], g->pad_b[0], g->pad_b[1]};
        return true;
    }
    if (g->nsp == 1) {
        *o = (struct g2){1, g->in[0], 1, g->out[0], 1, g->k[0], 1, g->stride[0], 1, g->dil[0], 0, g->pad_b[0]};
        return true;
    }
    return false;
}

/* Output columns ox in [*lo, *hi) read an in-range input column for tap
 * offset off (input column = ox * s + off). */
static void valid_cols(int64_t off, int64_t s, int64_t W, int64_t OW, int64_t *lo, int64_t *hi)
{
    int64_t l = off >= 0 ? 0 : ceil_div(-off, s);
    int64_t h = W - 1 - off >= 0 ? floor_div(W - 1 - off, s) + 1 : 0;
    l = min64(l, OW);
    h = min64(h, OW);
    if (h < l)
        h = l;
    *lo = l;
    *hi = h;
}

/* ------------------------------------------------------------- references */

/* Coordinates c[0..nsp) of flat index i in a row-major box of dims. */
static void unravel(int64_t i, int nsp, const int64_t *dims, int64_t *c)
{
    for (int d = nsp - 1; d >= 0; d--) {
        c[d] = i % dims[d];
        i /= dims[d];
    }
}

/* The position p * stride - pad_b + kd * dil reached from coordinates p by
 * the kernel tap with per-dimension offsets kd: false if it falls outside
 * the box lim, else its flat offset in lim. Conv maps an output position
 * to the input (lim = in), ConvTranspose an input position to the output
 * (lim = out). */
static bool tap_offset(const struct onnxq_conv_geom *g, const int64_t *p, const int64_t *kd, const int64_t *lim,
                       int64_t *off)
{
    int64_t o = 0;
    for (int d = 0; d < g->nsp; d++) {
        int64_t q = p[d] * g->stride[d] - g->pad_b[d] + kd[d] * g->dil[d];
        if (q < 0 || q >= lim[d])
            return false;
        o = o * lim[d] + q;
    }
    *off = o;
    return true;
}

void onnxq_conv_ref(const struct onnxq_conv_geom *g, const double *x, const double *w, const double *bias,
                    double *y)
{
    int nsp = g->nsp;
    int64_t cg = g->c / g->group, mg = g->m / g->group;
    int64_t kprod = prod64(g->k, nsp), oprod = prod64(g->out, nsp), iprod = prod64(g->in, nsp);
    for (int64_t n = 0; n < g->n; n++) {
        for (int64_t m = 0; m < g->m; m++) {
            int64_t grp = m / mg;
            for (int64_t o = 0; o < oprod; o++) {
                int64_t oc[ONNXQ_CONV_MAX_SP];
                unravel(o, nsp, g->out, oc);
                double acc = bias ? bias[m] : 0.0;
                for (int64_t c = 0; c < cg; c++) {
                    const double *xc = x + (n * g->c + grp * cg + c) * iprod;
                    const double *wc = w + (m * cg + c) * kprod;
                    for (int64_t kp = 0; kp < kprod; kp++) {
                        int64_t kd[ONNXQ_CONV_MAX_SP], ioff;
                        unravel(kp, nsp, g->k, kd);
                        if (tap_offset(g, oc, kd, g->in, &ioff))
                            acc += xc[ioff] * wc[kp];
                    }
                }
                y[(n * g->m + m) * oprod + o] = acc;
            }
        }
    }
}

void onnxq_convtranspose_ref(const struct onnxq_conv_geom *g, const double *x, const double *w,
                             const double *bias, double *y)
{
    int nsp = g->nsp;
    int64_t cg = g->c / g->group, mg = g->m / g->group;
    int64_t kprod = prod64(g->k, nsp), oprod = prod64(g->out, nsp), iprod = prod64(g->in, nsp);
    for (int64_t n = 0; n < g->n; n++)
        for (int64_t m = 0; m < g->m; m++)
            for (int64_t o = 0; o < oprod; o++)
                y[(n * g->m + m) * oprod + o] = bias ? bias[m] : 0.0;
    for (int64_t n = 0; n < g->n; n++) {
        for (int64_t c = 0; c < g->c; c++) {
            int64_t grp = c / cg;
            for (int64_t i = 0; i < iprod; i++) {
                int64_t ic[ONNXQ_CONV_MAX_SP];
                unravel(i, nsp, g->in, ic);
                double xv = x[(n * g->c + c) * iprod + i];
                for (int64_t mm = 0; mm < mg; mm++) {
                    int64_t m = grp * mg + mm;
                    const double *wc = w + (c * mg + mm) * kprod;
                    double *ym = y + (n * g->m + m) * oprod;
                    for (int64_t kp = 0; kp < kprod; kp++) {
                        int64_t kd[ONNXQ_CONV_MAX_SP], ooff;
                        unravel(kp, nsp, g->k, kd);
                        if (tap_offset(g, ic, kd, g->out, &ooff))
                            ym[ooff] += xv * wc[kp];
                    }
                }
            }
        }
    }
}

/* Reference on float arrays (double accumulation) for the REFERENCE algo. */
static enum onnxq_status ref_f32(struct onnxq_op_ctx *ctx, const struct onnxq_conv_geom *g, bool transpose,
                                 const float *x, const float *w, const float *bias, float *y)
{
    int64_t cg = g->c / g->group, mg = g->m / g->group;
    int64_t kprod = prod64(g->k, g->nsp);
    size_t nx = (size_t)(g->n * g->c * prod64(g->in, g->nsp));
    size_t nw = (size_t)(transpose ? g->c * mg * kprod : g->m * cg * kprod);
    size_t ny = (size_t)(g->n * g->m * prod64(g->out, g->nsp));
    double *dx = malloc((nx + nw + ny + (size_t)g->m + 1) * sizeof(double));
    if (!dx)
        return fail_nomem(ctx);
    double *dw = dx + nx, *dy = dw + nw, *db = dy + ny;
    for (size_t i = 0; i < nx; i++)
        dx[i] = x[i];
    for (size_t i = 0; i < nw; i++)
        dw[i] = w[i];
    for (int64_t i = 0; bias && i < g->m; i++)
        db[i] = bias[i];
    if (transpose)
        onnxq_convtranspose_ref(g, dx, dw, bias ? db : NULL, dy);
    else
        onnxq_conv_ref(g, dx, dw, bias ? db : NULL, dy);
    for (size_t i = 0; i < ny; i++)
        y[i] = (float)dy[i];
    free(dx);
    return ONNXQ_OK;
}

/* ------------------------------------------------------ bias / zero fills */

struct fill_job {
    float *y;
    const float *bias;  /* per plane (index % m), or NULL for zero */
    int64_t m;
    size_t plane;       /* elements per plane */
    size_t stride;      /* distance between planes */
};

static void fill_range(void *arg, size_t b, size_t e)
{
    const struct fill_job *j = arg;
    for (size_t p = b; p < e; p++)
        fill_f32(j->y + p * j->stride, j->plane, j->bias ? j->bias[(int64_t)p % j->m] : 0.0f);
}

/* y[p * stride + 0..plane) = bias[p % m] (or 0) for p in [0, planes). */
static void fill_planes(struct onnxq_op_ctx *ctx, float *y, size_t planes, size_t plane, size_t stride,
                        const float *bias, int64_t m)
{
    struct fill_job j = {y, bias, m, plane, stride};
    size_t min_chunk = plane >= 16384 ? 1 : 16384 / (plane ? plane : 1);
    onnxq_parallel_for(ctx, planes, min_chunk, fill_range, &j);
}

/* ----------------------------------------------------- im2col (2-D / N-D) */

/* One im2col row: tap (ky, kx) of one input channel plane, output rows
 * [oy0, oy1), written densely (OW per output row). */
static void im2col_row2d(const float *xc, const struct g2 *d, int64_t ky, int64_t kx, int64_t oy0, int64_t oy1,
                         float *dst)
{
    int64_t off = kx * d->DW - d->PW, lo, hi;
    valid_cols(off, d->SW, d->W, d->OW, &lo, &hi);
    for (int64_t oy = oy0; oy < oy1; oy++) {
        float *o = dst + (oy - oy0) * d->OW;
        int64_t iy = oy * d->SH - d->PH + ky * d->DH;
        if (iy < 0 || iy >= d->H) {
            memset(o, 0, (size_t)d->OW * sizeof(float));
            continue;
        }
        const float *xr = xc + iy * d->W;
        for (int64_t ox = 0; ox < lo; ox++)
            o[ox] = 0.0f;
        if (d->SW == 1) {
            if (hi > lo)
                memcpy(o + lo, xr + lo + off, (size_t)(hi - lo) * sizeof(float));
        } else {
            const float *xs = xr + off;
            for (int64_t ox = lo; ox < hi; ox++)
                o[ox] = xs[ox * d->SW];
        }
        for (int64_t ox = hi; ox < d->OW; ox++)
            o[ox] = 0.0f;
    }
}

/* One im2col row for N-D: kernel position kp of channel plane xc, output
 * positions [t0, t1). */
static void im2col_row_nd(const float *xc, const struct onnxq_conv_geom *g, int64_t kp, int64_t t0, int64_t t1,
                          float *dst)
{
    int nsp = g->nsp;
    int64_t kd[ONNXQ_CONV_MAX_SP], oc[ONNXQ_CONV_MAX_SP];
    unravel(kp, nsp, g->k, kd);
    unravel(t0, nsp, g->out, oc);
    for (int64_t t = t0; t < t1; t++) {
        int64_t off;
        dst[t - t0] = tap_offset(g, oc, kd, g->in, &off) ? xc[off] : 0.0f;
        for (int d = nsp - 1; d >= 0; d--) {
            if (++oc[d] < g->out[d])
                break;
            oc[d] = 0;
        }
    }
}

struct im2col_job {
    const struct onnxq_conv_geom *g;
    const struct g2 *d2;  /* NULL: N-D path */
    const float *x;       /* first channel of the group */
    int64_t iprod, kprod;
    int64_t t0, t1;       /* output rows (2-D) or positions (N-D) */
    int64_t cols;         /* columns of the tile */
    float *col;
};

static void im2col_range(void *arg, size_t b, size_t e)
{
    const struct im2col_job *j = arg;
    for (size_t r = b; r < e; r++) {
        int64_t c = (int64_t)r / j->kprod, kp = (int64_t)r % j->kprod;
        const float *xc = j->x + c * j->iprod;
        float *dst = j->col + (int64_t)r * j->cols;
        if (j->d2)
            im2col_row2d(xc, j->d2, kp / j->d2->KW, kp % j->d2->KW, j->t0, j->t1, dst);
        else
            im2col_row_nd(xc, j->g, kp, j->t0, j->t1, dst);
    }
}

/* ------------------------------------------------------- conv: weights */

/* Weights as the GEMM-based paths use them. `ap` set = in-house kernel:
 * A panels per group (group g at g * pack_a_elems(m/group, K)); NULL =
 * OpenBLAS on the raw weights. Winograd: U [16][M][C] raw (BLAS) or its 16
 * packed matrices (own kernel, matrix k at k * pack_a_elems(M, C)). */
struct conv_wts {
    const float *w;
    const float *ap;
    const float *wino_u;
    const float *wino_ap;
};

/* ------------------------------------------------------- conv: im2col path */

/* Products narrower than this many columns waste most of the kernel. */
#define MIN_TILE_COLS 128

/* Tiles: 2-D tiles are whole output rows, N-D tiles flattened positions.
 * Images whose output has fewer than MIN_TILE_COLS positions are folded:
 * a tile then holds whole images side by side (`imgs` per tile), the
 * product goes to a temporary and is scattered into Y. */
struct tiling {
    bool is2d;
    struct g2 d2;
    int64_t unit;     /* output positions per tile unit (OW for 2-D, 1 for N-D) */
    int64_t units;    /* total units (OH or oprod) */
    int64_t per_tile; /* units per tile */
    int64_t ntiles;   /* tiles per image (folded: per group) */
    int64_t imgs;     /* folded: images per tile; 0 = not folded */
};

static void make_tiling(const struct onnxq_conv_geom *g, int64_t krows, int64_t parts, struct tiling *t)
{
    t->is2d = geom_2d(g, &t->d2);
    t->unit = t->is2d ? t->d2.OW : 1;
    t->units = t->is2d ? t->d2.OH : prod64(g->out, g->nsp);
    int64_t oprod = t->unit * t->units;
    size_t budget = COL_TILE_BYTES / sizeof(float) / (size_t)(krows ? krows : 1);  /* columns */
    if (g->n > 1 && oprod < MIN_TILE_COLS) {
        int64_t imgs = min64(g->n, max64(1, min64((int64_t)budget, 4 * MIN_TILE_COLS) / oprod));
        if (parts > 1) {
            /* about four tiles per task, but at least MIN_TILE_COLS wide */
            int64_t want = (g->n * g->group + 4 * parts - 1) / (4 * parts);
            int64_t narrowest = (MIN_TILE_COLS + oprod - 1) / oprod;
            imgs = min64(imgs, max64(want, narrowest));
        }
        t->imgs = imgs;
        t->per_tile = t->units;
        t->ntiles = (g->n + imgs - 1) / imgs;
        return;
    }
    t->imgs = 0;
    int64_t per = max64(1, (int64_t)(budget / (size_t)t->unit));
    if (parts > 1) {
        /* about four tiles per task, unless that makes them too narrow */
        int64_t cap = (t->units * g->n * g->group + 4 * parts - 1) / (4 * parts);
        cap = max64(cap, (MIN_TILE_COLS + t->unit - 1) / t->unit);
        per = min64(per, cap);
    }
    per = min64(per, t->units);
    t->per_tile = per;
    t->ntiles = (t->units + per - 1) / per;
}

/* Columns of the widest tile. */
static int64_t tiling_cols(const struct tiling *t)
{
    return t->imgs ? t->imgs * t->units * t->unit : t->per_tile * t->unit;
}

struct conv_gemm_job {
    struct onnxq_op_ctx *ctx;
    const struct onnxq_conv_geom *g;
    const struct tiling *t;
    const struct conv_wts *cw;
    const float *x, *bias;
    float *y;
    float *scratch;      /* per slot: tile columns (+ folded product, + B buffer for the own kernel) */
    size_t slot_elems;
    int64_t nslots;
    int64_t njobs;       /* group * ntiles (folded) or n * group * ntiles */
    bool inner_parallel; /* im2col over the pool (OpenBLAS threading itself) */
    struct onnxq_vstats_sink *sink;  /* statistics of y, or NULL */
};

/* c[mg, cols] (row stride ldc) = bias + W_g col. */
static void tile_product(const struct conv_gemm_job *j, int64_t grp, int64_t krows, const float *col, int64_t cols,
                         float *c, int64_t ldc, float *bbuf, struct onnxq_vstats_sink *sink)
{
    int64_t mg = j->g->m / j->g->group;
    const float *bg = j->bias ? j->bias + grp * mg : NULL;
    struct onnxq_vstats vs;
    onnxq_vstats_init(&vs);
    if (j->cw->ap && cols >= GEMM_NR / 2) {
        own_gemm(j->cw->ap + (size_t)grp * pack_a_elems(mg, krows), mg, krows, col, cols, cols, c, ldc, bg, false,
                 bbuf, sink, sink ? &vs : NULL);
        if (sink)
            onnxq_vstats_sink_put(sink, c, (size_t)(mg * cols), &vs);
        return;
    }
    /* OpenBLAS (also for very narrow products, where the own kernel's
     * 32-column tile would mostly compute padding) */
    float beta = 0.0f;
    if (bg) {
        for (int64_t m = 0; m < mg; m++)
            fill_f32(c + m * ldc, (size_t)cols, bg[m]);
        beta = 1.0f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)mg, (int)cols, (int)krows, 1.0f,
                j->cw->w + grp * mg * krows, (int)krows, col, (int)cols, beta, c, (int)ldc);
    if (sink) {
        onnxq_vstats_sink_observe2d(sink, &vs, c, (size_t)mg, (size_t)cols, (size_t)ldc);
        onnxq_vstats_sink_put(sink, c, (size_t)(mg * cols), &vs);
    }
}

/* One tile: im2col, then the product into Y. */
static void conv_tile(const struct conv_gemm_job *j, int64_t job, float *col)
{
    const struct onnxq_conv_geom *g = j->g;
    const struct tiling *t = j->t;
    int64_t cg = g->c / g->group, mg = g->m / g->group;
    int64_t kprod = prod64(g->k, g->nsp), krows = cg * kprod;
    int64_t iprod = prod64(g->in, g->nsp), oprod = prod64(g->out, g->nsp);
    int64_t tile = job % t->ntiles, ng = job / t->ntiles;
    size_t tile_elems = (size_t)(krows * tiling_cols(t));
    float *bbuf = col + tile_elems + (t->imgs ? (size_t)(mg * tiling_cols(t)) : 0);
    if (t->imgs) {
        /* whole images side by side */
        int64_t grp = ng, n0 = tile * t->imgs, n1 = min64(n0 + t->imgs, g->n), cols = (n1 - n0) * oprod;
        for (int64_t n = n0; n < n1; n++) {
            struct im2col_job ij = {g, t->is2d ? &t->d2 : NULL, j->x + (n * g->c + grp * cg) * iprod, iprod, kprod,
                                    0, t->units, cols, col + (n - n0) * oprod};
            im2col_range(&ij, 0, (size_t)krows);
        }
        float *prod_buf = col + tile_elems;
        tile_product(j, grp, krows, col, cols, prod_buf, cols, bbuf, NULL);
        struct onnxq_vstats vs;
        onnxq_vstats_init(&vs);
        for (int64_t n = n0; n < n1; n++)
            for (int64_t m = 0; m < mg; m++) {
                float *dst = j->y + (n * g->m + grp * mg + m) * oprod;
                memcpy(dst, prod_buf + m * cols + (n - n0) * oprod, (size_t)oprod * sizeof(float));
                if (j->sink)
                    onnxq_vstats_sink_observe(j->sink, &vs, dst, (size_t)oprod);
            }
        if (j->sink)
            onnxq_vstats_sink_put(j->sink, j->y + (n0 * g->m + grp * mg) * oprod, (size_t)((n1 - n0) * mg * oprod),
                                  &vs);
        return;
    }
    int64_t grp = ng % g->group, n = ng / g->group;
    int64_t u0 = tile * t->per_tile, u1 = min64(u0 + t->per_tile, t->units);
    int64_t p0 = u0 * t->unit, cols = (u1 - u0) * t->unit;
    struct im2col_job ij = {g, t->is2d ? &t->d2 : NULL, j->x + (n * g->c + grp * cg) * iprod, iprod, kprod,
                            t->is2d ? u0 : p0, t->is2d ? u1 : p0 + cols, cols, col};
    if (j->inner_parallel) {
        size_t per_row = (size_t)cols;
        onnxq_parallel_for(j->ctx, (size_t)krows, per_row >= 4096 ? 1 : 4096 / per_row, im2col_range, &ij);
    } else {
        im2col_range(&ij, 0, (size_t)krows);
    }
    tile_product(j, grp, krows, col, cols, j->y + (n * g->m + grp * mg) * oprod + p0, oprod, bbuf, j->sink);
}

static void conv_tile_piece(void *arg, int64_t job, int64_t slot)
{
    const struct conv_gemm_job *j = arg;
    conv_tile(j, job, j->scratch + (size_t)slot * j->slot_elems);
}

static enum onnxq_status conv_im2col(struct onnxq_op_ctx *ctx, const struct onnxq_conv_geom *g,
                                     const struct conv_wts *cw, const float *x, const float *bias, float *y,
                                     struct onnxq_vstats_sink *sink)
{
    int64_t cg = g->c / g->group, mg = g->m / g->group;
    int64_t krows = cg * prod64(g->k, g->nsp);
    /* independent tiles per task: own kernel, or OpenBLAS single-threaded */
    bool split = cw->ap || split_blas(ctx);
    double flops = 2.0 * (double)(g->n * g->m) * (double)prod64(g->out, g->nsp) * (double)krows;
    int64_t parts = split && flops >= PAR_MIN_FLOPS ? pool_slots(ctx) : 1;
    struct tiling t;
    make_tiling(g, krows, parts, &t);
    int64_t tcols = tiling_cols(&t);
    size_t slot = (size_t)(krows * tcols) + (t.imgs ? (size_t)(mg * tcols) : 0) + (cw->ap ? GEMM_BBUF : 0);
    int64_t njobs = (t.imgs ? 1 : g->n) * g->group * t.ntiles;
    int64_t nslots = split ? min64(parts, njobs) : 1;
    struct scratch s;
    float *buf = scratch_get(ctx, slot * (size_t)nslots * sizeof(float), &s);
    if (!buf)
        return fail_nomem(ctx);
    struct conv_gemm_job j = {ctx, g, &t, cw, x, bias, y, buf, slot, nslots, njobs, !split && !t.imgs, sink};
    if (split && nslots > 1)
        run_pieces(ctx, njobs, nslots, conv_tile_piece, &j);
    else
        for (int64_t job = 0; job < njobs; job++)
            conv_tile(&j, job, buf);
    scratch_put(&s);
    return ONNXQ_OK;
}

/* --------------------------------------------------------- conv: 1x1 path */

struct conv1x1_job {
    const struct onnxq_conv_geom *g;
    const struct conv_wts *cw;
    const float *x, *bias;
    float *y;
    int64_t chunk;  /* columns per item */
    int64_t nchunks;
    int64_t nslots; /* own kernel: items dealt to slots */
    float *bufs;
    struct onnxq_vstats_sink *sink;  /* statistics of y, or NULL */
};

static void conv1x1_item(const struct conv1x1_job *j, int64_t it, float *bbuf)
{
    const struct onnxq_conv_geom *g = j->g;
    int64_t cg = g->c / g->group, mg = g->m / g->group;
    int64_t hw = prod64(g->in, g->nsp);
    int64_t ch = it % j->nchunks, ng = it / j->nchunks;
    int64_t grp = ng % g->group, n = ng / g->group;
    int64_t c0 = ch * j->chunk, cols = min64(j->chunk, hw - c0);
    float *yg = j->y + (n * g->m + grp * mg) * hw + c0;
    const float *xg = j->x + (n * g->c + grp * cg) * hw + c0;
    const float *bg = j->bias ? j->bias + grp * mg : NULL;
    struct onnxq_vstats vs;
    onnxq_vstats_init(&vs);
    if (j->cw->ap && cols >= GEMM_NR / 2) {
        own_gemm(j->cw->ap + (size_t)grp * pack_a_elems(mg, cg), mg, cg, xg, hw, cols, yg, hw, bg, false, bbuf,
                 j->sink, j->sink ? &vs : NULL);
        if (j->sink)
            onnxq_vstats_sink_put(j->sink, yg, (size_t)(mg * cols), &vs);
        return;
    }
    float beta = 0.0f;
    if (bg) {
        for (int64_t m = 0; m < mg; m++)
            fill_f32(yg + m * hw, (size_t)cols, bg[m]);
        beta = 1.0f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)mg, (int)cols, (int)cg, 1.0f, j->cw->w + grp * mg * cg,
                (int)cg, xg, (int)hw, beta, yg, (int)hw);
    if (j->sink) {
        onnxq_vstats_sink_observe2d(j->sink, &vs, yg, (size_t)mg, (size_t)cols, (size_t)hw);
        onnxq_vstats_sink_put(j->sink, yg, (size_t)(mg * cols), &vs);
    }
}

static void conv1x1_range(void *arg, size_t b, size_t e)
{
    const struct conv1x1_job *j = arg;
    for (size_t it = b; it < e; it++)
        conv1x1_item(j, (int64_t)it, NULL);
}

static void conv1x1_piece(void *arg, int64_t it, int64_t slot)
{
    const struct conv1x1_job *j = arg;
    conv1x1_item(j, it, j->bufs + (size_t)slot * GEMM_BBUF);
}

static enum onnxq_status conv_1x1(struct onnxq_op_ctx *ctx, const struct onnxq_conv_geom *g,
                                  const struct conv_wts *cw, const float *x, const float *bias, float *y,
                                  struct onnxq_vstats_sink *sink)
{
    int64_t hw = prod64(g->in, g->nsp), mg = g->m / g->group, cg = g->c / g->group;
    struct conv1x1_job j = {g, cw, x, bias, y, hw, 1, 1, NULL, sink};
    if (cw->ap || split_blas(ctx)) {
        int64_t parts = pool_slots(ctx);
        /* about four column chunks per task (multiples of the kernel width,
         * at least MIN_TILE_COLS) */
        double flops = 2.0 * (double)(g->n * g->m) * (double)hw * (double)cg;
        int64_t want = flops < PAR_MIN_FLOPS ? 1 : 4 * parts;
        int64_t per_img = max64(1, want / (g->n * g->group));
        int64_t chunk = (hw + per_img - 1) / per_img;
        chunk = max64(MIN_TILE_COLS, (chunk + GEMM_NR - 1) / GEMM_NR * GEMM_NR);
        j.chunk = min64(chunk, hw);
        j.nchunks = (hw + j.chunk - 1) / j.chunk;
        int64_t items = g->n * g->group * j.nchunks;
        if (!cw->ap) {
            onnxq_parallel_for(ctx, (size_t)items, 1, conv1x1_range, &j);
            return ONNXQ_OK;
        }
        j.nslots = min64(parts, items);
        struct scratch s;
        j.bufs = scratch_get(ctx, (size_t)j.nslots * GEMM_BBUF * sizeof(float), &s);
        if (!j.bufs)
            return fail_nomem(ctx);
        run_pieces(ctx, items, j.nslots, conv1x1_piece, &j);
        scratch_put(&s);
        return ONNXQ_OK;
    }
    if (bias) {
        /* prefill with the pool, then one sgemm per image and group */
        fill_planes(ctx, y, (size_t)(g->n * g->m), (size_t)hw, (size_t)hw, bias, g->m);
        for (int64_t n = 0; n < g->n; n++)
            for (int64_t grp = 0; grp < g->group; grp++)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)mg, (int)hw, (int)cg, 1.0f,
                            cw->w + grp * mg * cg, (int)cg, x + (n * g->c + grp * cg) * hw, (int)hw, 1.0f,
                            y + (n * g->m + grp * mg) * hw, (int)hw);
        return ONNXQ_OK;
    }
    conv1x1_range(&j, 0, (size_t)(g->n * g->group));
    return ONNXQ_OK;
}

/* -------------------------------------------------- conv: depthwise path */

/* Each channel plane is first copied into a zero-padded buffer holding
 * exactly the rows and columns the taps read, so no tap needs a bounds
 * check. Output rows are then computed in one pass over all taps by
 * kernels specialised for 3x3 and 5x5 at stride 1 and 2 (dilation 1), or
 * one pass per tap otherwise. */

/* y[i] = b + sum over the K x K taps, rows r0..r{K-1} of the padded plane. */
#define DW3_TAPS(S) \
    (w[0] * r0[(S) * i] + w[1] * r0[(S) * i + 1] + w[2] * r0[(S) * i + 2] + w[3] * r1[(S) * i] + \
     w[4] * r1[(S) * i + 1] + w[5] * r1[(S) * i + 2] + w[6] * r2[(S) * i] + w[7] * r2[(S) * i + 1] + \
     w[8] * r2[(S) * i + 2])
#define DW5_ROW(R, O, S) \
    (w[(O)] * R[(S) * i] + w[(O) + 1] * R[(S) * i + 1] + w[(O) + 2] * R[(S) * i + 2] + \
     w[(O) + 3] * R[(S) * i + 3] + w[(O) + 4] * R[(S) * i + 4])

static void dw_k3s1(float *restrict y, const float *restrict x, int64_t ldx, const float *restrict w, float b,
                    int64_t n)
{
    const float *r0 = x, *r1 = x + ldx, *r2 = x + 2 * ldx;
    for (int64_t i = 0; i < n; i++)
        y[i] = b + DW3_TAPS(1);
}

static void dw_k3s2(float *restrict y, const float *restrict x, int64_t ldx, const float *restrict w, float b,
                    int64_t n)
{
    const float *r0 = x, *r1 = x + ldx, *r2 = x + 2 * ldx;
    for (int64_t i = 0; i < n; i++)
        y[i] = b + DW3_TAPS(2);
}

static void dw_k5s1(float *restrict y, const float *restrict x, int64_t ldx, const float *restrict w, float b,
                    int64_t n)
{
    const float *r0 = x, *r1 = x + ldx, *r2 = x + 2 * ldx, *r3 = x + 3 * ldx, *r4 = x + 4 * ldx;
    for (int64_t i = 0; i < n; i++)
        y[i] = b + DW5_ROW(r0, 0, 1) + DW5_ROW(r1, 5, 1) + DW5_ROW(r2, 10, 1) + DW5_ROW(r3, 15, 1) +
               DW5_ROW(r4, 20, 1);
}

static void dw_k5s2(float *restrict y, const float *restrict x, int64_t ldx, const float *restrict w, float b,
                    int64_t n)
{
    const float *r0 = x, *r1 = x + ldx, *r2 = x + 2 * ldx, *r3 = x + 3 * ldx, *r4 = x + 4 * ldx;
    for (int64_t i = 0; i < n; i++)
        y[i] = b + DW5_ROW(r0, 0, 2) + DW5_ROW(r1, 5, 2) + DW5_ROW(r2, 10, 2) + DW5_ROW(r3, 15, 2) +
               DW5_ROW(r4, 20, 2);
}
#undef DW3_TAPS
#undef DW5_ROW

struct dw_job {
    struct g2 d;
    int64_t c;         /* channels (== groups) */
    int64_t planes;    /* n * c */
    int64_t hp, wp;    /* padded plane */
    int64_t nslots;
    float *pad;        /* nslots padded planes */
    const float *x, *w, *bias;
    float *y;
    struct onnxq_vstats_sink *sink;  /* statistics of y, or NULL */
};

static void dw_plane(const struct dw_job *j, int64_t plane, float *xp)
{
    const struct g2 *d = &j->d;
    int64_t ch = plane % j->c, hp = j->hp, wp = j->wp;
    const float *x = j->x + plane * d->H * d->W;
    const float *w = j->w + ch * d->KH * d->KW;
    float *y = j->y + plane * d->OH * d->OW;
    float b = j->bias ? j->bias[ch] : 0.0f;
    /* padded row r holds input row r - PH, column q input column q - PW */
    int64_t c0 = min64(max64(d->PW, 0), wp), c1 = min64(max64(d->PW + d->W, c0), wp);
    for (int64_t r = 0; r < hp; r++) {
        float *pr = xp + r * wp;
        int64_t iy = r - d->PH;
        if (iy < 0 || iy >= d->H) {
            memset(pr, 0, (size_t)wp * sizeof(float));
            continue;
        }
        memset(pr, 0, (size_t)c0 * sizeof(float));
        memcpy(pr + c0, x + iy * d->W + (c0 - d->PW), (size_t)(c1 - c0) * sizeof(float));
        memset(pr + c1, 0, (size_t)(wp - c1) * sizeof(float));
    }
    int kind = 0;
    if (d->DH == 1 && d->DW == 1 && d->KH == d->KW && (d->SH == d->SW)) {
        if (d->KW == 3)
            kind = d->SW == 1 ? 1 : d->SW == 2 ? 2 : 0;
        else if (d->KW == 5)
            kind = d->SW == 1 ? 3 : d->SW == 2 ? 4 : 0;
    }
    for (int64_t oy = 0; oy < d->OH; oy++) {
        float *yr = y + oy * d->OW;
        const float *xr = xp + oy * d->SH * wp;
        switch (kind) {
        case 1: dw_k3s1(yr, xr, wp, w, b, d->OW); break;
        case 2: dw_k3s2(yr, xr, wp, w, b, d->OW); break;
        case 3: dw_k5s1(yr, xr, wp, w, b, d->OW); break;
        case 4: dw_k5s2(yr, xr, wp, w, b, d->OW); break;
        default:
            fill_f32(yr, (size_t)d->OW, b);
            for (int64_t ky = 0; ky < d->KH; ky++)
                for (int64_t kx = 0; kx < d->KW; kx++) {
                    float wv = w[ky * d->KW + kx];
                    const float *xs = xr + ky * d->DH * wp + kx * d->DW;
                    if (d->SW == 1)
                        for (int64_t i = 0; i < d->OW; i++)
                            yr[i] += wv * xs[i];
                    else
                        for (int64_t i = 0; i < d->OW; i++)
                            yr[i] += wv * xs[i * d->SW];
                }
        }
    }
    if (j->sink)
        onnxq_vstats_sink_scan(j->sink, y, (size_t)(d->OH * d->OW));
}

static void dw_piece(void *arg, int64_t plane, int64_t slot)
{
    const struct dw_job *j = arg;
    dw_plane(j, plane, j->pad + (size_t)slot * (size_t)(j->hp * j->wp));
}

static enum onnxq_status conv_depthwise(struct onnxq_op_ctx *ctx, const struct onnxq_conv_geom *g, const float *x,
                                        const float *w, const float *bias, float *y, struct onnxq_vstats_sink *sink)
{
    struct dw_job j = {0};
    geom_2d(g, &j.d);
    j.c = g->c;
    j.planes = g->n * g->c;
    j.hp = (j.d.OH - 1) * j.d.SH + (j.d.KH - 1) * j.d.DH + 1;
    j.wp = (j.d.OW - 1) * j.d.SW + (j.d.KW - 1) * j.d.DW + 1;
    size_t work = (size_t)(j.planes * j.d.OH * j.d.OW * j.d.KH * j.d.KW);
    /* depthwise runs at a fraction of the GEMM rate: a lower threshold */
    int64_t slots = ctx->threads > 1 && 16.0 * (double)work >= PAR_MIN_FLOPS ? ctx->threads : 1;
    j.nslots = min64(slots, j.planes);
    j.x = x;
    j.w = w;
    j.bias = bias;
    j.y = y;
    j.sink = sink;
    struct scratch s;
    j.pad = scratch_get(ctx, (size_t)(j.nslots * j.hp * j.wp) * sizeof(float), &s);
    if (!j.pad)
        return fail_nomem(ctx);
    run_pieces(ctx, j.planes, j.nslots, dw_piece, &j);
    scratch_put(&s);
    return ONNXQ_OK;
}

/* ------------------------------------------- conv: Winograd F(2x2, 3x3) */

/* U[16][M][C] = G g G^T for every (m, c), G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1]. */
static void wino_transform_weights(const float *w, int64_t m, int64_t c, float *u)
{
    for (int64_t mi = 0; mi < m; mi++) {
        for (int64_t ci = 0; ci < c; ci++) {
            const float *k = w + (mi * c + ci) * 9;
            float t[4][3];
            for (int j = 0; j < 3; j++) {
                float a = k[0 * 3 + j], b = k[1 * 3 + j], cc = k[2 * 3 + j];
                t[0][j] = a;
                t[1][j] = 0.5f * (a + b + cc);
                t[2][j] = 0.5f * (a - b + cc);
                t[3][j] = cc;
            }
            for (int i = 0; i < 4; i++) {
                float a = t[i][0], b = t[i][1], cc = t[i][2];
                float r[4] = {a, 0.5f * (a + b + cc), 0.5f * (a - b + cc), cc};
                for (int j = 0; j < 4; j++)
                    u[((size_t)(i * 4 + j) * (size_t)m + (size_t)mi) * (size_t)c + (size_t)ci] = r[j];
            }
        }
    }
}

/* Tiles are processed in blocks of whole tile rows [ty0, ty1); tile t of a
 * block is (ty0 + t / tw, t % tw). */
struct wino_job {
    const struct onnxq_conv_geom *g;
    const struct g2 *d;
    const float *x;      /* image n */
    float *y;            /* image n */
    const struct conv_wts *cw;  /* wino_u (BLAS) or wino_ap (own kernel) */
    const float *bias;
    int64_t tw;          /* tiles per row */
    int64_t ty0, ty1;    /* block: tile rows */
    int64_t nt;          /* tiles in the block: (ty1 - ty0) * tw */
    float *v;            /* 16 matrices [C][nt], wino_v_stride apart (own kernel: packed panels) */
    float *mo;           /* 16 matrices [M][nt], WINO_MAT_STRIDE(M, nt) apart */
    bool packed_v;       /* V written as the own kernel's B panels */
    struct onnxq_vstats_sink *sink;  /* statistics of y, or NULL */
};

/* Distance between the 16 V matrices. */
static size_t wino_v_stride(int64_t c, int64_t nt, bool packed)
{
    return packed ? packed_b_elems(c, nt) + 16 : WINO_MAT_STRIDE(c, nt);
}

/* Tiles per inner chunk of a tile row (bounds the stack buffers). */
#define WINO_TX_CHUNK 128

/* Input transform of channels [b, e): V = B^T d B on the 4x4 patches,
 * B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]. Patch columns are split
 * into even and odd ones so every loop runs over contiguous tiles. */
static void wino_input_range(void *arg, size_t b, size_t e)
{
    const struct wino_job *j = arg;
    const struct g2 *d = j->d;
    int64_t nt = j->nt, C = j->g->c;
    size_t vs = wino_v_stride(C, nt, j->packed_v);
    float ev[4][WINO_TX_CHUNK + 1], od[4][WINO_TX_CHUNK + 1];  /* patch rows: even / odd columns */
    for (size_t ci = b; ci < e; ci++) {
        const float *xc = j->x + (int64_t)ci * d->H * d->W;
        for (int64_t ty = j->ty0; ty < j->ty1; ty++) {
            int64_t y0 = ty * 2 - d->PH;
            for (int64_t tx0 = 0; tx0 < j->tw; tx0 += WINO_TX_CHUNK) {
                int64_t cnt = min64(WINO_TX_CHUNK, j->tw - tx0);
                int64_t base = 2 * tx0 - d->PW;  /* input column of ev[.][0] */
                /* i with both columns base + 2i and base + 2i + 1 inside */
                int64_t ilo = base >= 0 ? 0 : ceil_div(-base, 2);
                int64_t ihi = d->W - 2 - base >= 0 ? floor_div(d->W - 2 - base, 2) + 1 : 0;
                ilo = min64(ilo, cnt + 1);
                ihi = max64(ilo, min64(ihi, cnt + 1));
                for (int r = 0; r < 4; r++) {
                    int64_t iy = y0 + r;
                    if (iy < 0 || iy >= d->H) {
                        for (int64_t i = 0; i <= cnt; i++)
                            ev[r][i] = od[r][i] = 0.0f;
                        continue;
                    }
                    const float *xr = xc + iy * d->W + base;
                    for (int64_t i = ilo; i < ihi; i++) {
                        ev[r][i] = xr[2 * i];
                        od[r][i] = xr[2 * i + 1];
                    }
                    for (int64_t i = 0; i <= cnt; i++) {
                        if (i == ilo && ihi > ilo)
                            i = ihi;
                        if (i > cnt)
                            break;
                        int64_t c0 = base + 2 * i;
                        ev[r][i] = c0 >= 0 && c0 < d->W ? xr[2 * i] : 0.0f;
                        od[r][i] = c0 + 1 >= 0 && c0 + 1 < d->W ? xr[2 * i + 1] : 0.0f;
                    }
                }
                /* row k of B^T d combines patch rows (r0, r1) as r0 - r1 (k = 0, 3),
                 * r0 + r1 (k = 1) or r0 - r1 with r0 = 2, r1 = 1 (k = 2) */
                static const int ra[4] = {0, 1, 2, 1}, rb[4] = {2, 2, 1, 3};
                static const float sg[4] = {-1.0f, 1.0f, -1.0f, -1.0f};
                int64_t tbase = (ty - j->ty0) * j->tw + tx0;
                /* segments of tiles that are contiguous in V (one panel each when packed) */
                for (int64_t i0 = 0; i0 < cnt;) {
                    int64_t t = tbase + i0, len = cnt - i0;
                    size_t off = ci * (size_t)nt + (size_t)t;
                    if (j->packed_v) {
                        int64_t lane = t % GEMM_NR;
                        len = min64(len, GEMM_NR - lane);
                        off = ((size_t)(t / GEMM_NR) * (size_t)C + ci) * GEMM_NR + (size_t)lane;
                    }
                    for (int k = 0; k < 4; k++) {
                        float *vb = j->v + (size_t)(4 * k) * vs + off;
                        float *restrict w0 = vb, *restrict w1 = vb + vs, *restrict w2 = vb + 2 * vs;
                        float *restrict w3 = vb + 3 * vs;
                        const float *restrict ea = ev[ra[k]] + i0, *restrict eb = ev[rb[k]] + i0;
                        const float *restrict oa = od[ra[k]] + i0, *restrict ob = od[rb[k]] + i0;
                        float sgn = sg[k];
                        for (int64_t i = 0; i < len; i++) {
                            float pa = ea[i] + sgn * eb[i], pb = oa[i] + sgn * ob[i];
                            float pc = ea[i + 1] + sgn * eb[i + 1], pd = oa[i + 1] + sgn * ob[i + 1];
                            w0[i] = pa - pc;
                            w1[i] = pb + pc;
                            w2[i] = pc - pb;
                            w3[i] = pb - pd;
                        }
                        /* zero the padding lanes after the block's last tile */
                        if (j->packed_v && t + len == nt && (t + len) % GEMM_NR != 0) {
                            int64_t pad = GEMM_NR - (t + len) % GEMM_NR;
                            for (int q = 0; q < 4; q++)
                                memset(vb + (size_t)q * vs + len, 0, (size_t)pad * sizeof(float));
                        }
                    }
                    i0 += len;
                }
            }
        }
    }
}

/* Output transform of channels [b, e): Y = A^T M A + bias,
 * A^T = [1 1 1 0; 0 1 -1 -1]. */
static void wino_output_range(void *arg, size_t b, size_t e)
{
    const struct wino_job *j = arg;
    const struct g2 *d = j->d;
    int64_t nt = j->nt, M = j->g->m;
    size_t ms = WINO_MAT_STRIDE(M, nt);
    float o[4][WINO_TX_CHUNK];  /* o[2r + q][tile]: output (r, q) of each tile */
    int64_t oy0 = 2 * j->ty0, oy1 = min64(2 * j->ty1, d->OH);
    struct onnxq_vstats vs;
    onnxq_vstats_init(&vs);
    for (size_t mi = b; mi < e; mi++) {
        float *ym = j->y + (int64_t)mi * d->OH * d->OW;
        float bv = j->bias ? j->bias[mi] : 0.0f;
        for (int64_t ty = j->ty0; ty < j->ty1; ty++) {
            for (int64_t tx0 = 0; tx0 < j->tw; tx0 += WINO_TX_CHUNK) {
                int64_t cnt = min64(WINO_TX_CHUNK, j->tw - tx0);
                const float *m0 = j->mo + (size_t)((ty - j->ty0) * j->tw + tx0) + mi * (size_t)nt;
                for (int64_t i = 0; i < cnt; i++) {
                    float s0[4], s1[4];
                    for (int q = 0; q < 4; q++) {
                        float a0 = m0[(size_t)q * ms + (size_t)i], a1 = m0[(size_t)(4 + q) * ms + (size_t)i];
                        float a2 = m0[(size_t)(8 + q) * ms + (size_t)i], a3 = m0[(size_t)(12 + q) * ms + (size_t)i];
                        s0[q] = a0 + a1 + a2;
                        s1[q] = a1 - a2 - a3;
                    }
                    o[0][i] = s0[0] + s0[1] + s0[2] + bv;
                    o[1][i] = s0[1] - s0[2] - s0[3] + bv;
                    o[2][i] = s1[0] + s1[1] + s1[2] + bv;
                    o[3][i] = s1[1] - s1[2] - s1[3] + bv;
                }
                int64_t ox0 = 2 * tx0;
                /* tiles whose two columns are both inside */
                int64_t full = min64(cnt, (d->OW - ox0) / 2);
                for (int r = 0; r < 2; r++) {
                    int64_t oy = 2 * ty + r;
                    if (oy >= d->OH)
                        break;
                    float *yr = ym + oy * d->OW + ox0;
                    const float *p0 = o[2 * r], *p1 = o[2 * r + 1];
                    for (int64_t i = 0; i < full; i++) {
                        yr[2 * i] = p0[i];
                        yr[2 * i + 1] = p1[i];
                    }
                    if (full < cnt && ox0 + 2 * full < d->OW)
                        yr[2 * full] = p0[full];
                }
            }
        }
        /* this channel's rows of the block, just written */
        if (j->sink && oy1 > oy0)
            onnxq_vstats_sink_observe(j->sink, &vs, ym + oy0 * d->OW, (size_t)((oy1 - oy0) * d->OW));
    }
    if (j->sink && oy1 > oy0 && e > b)
        onnxq_vstats_sink_put(j->sink, j->y + (int64_t)b * d->OH * d->OW + oy0 * d->OW,
                              (size_t)((int64_t)(e - b) * (oy1 - oy0) * d->OW), &vs);
}

static void wino_block(struct onnxq_op_ctx *ctx, struct wino_job *j, bool inner_parallel)
{
    int64_t C = j->g->c, M = j->g->m, nt = j->nt;
    if (inner_parallel)
        onnxq_parallel_for(ctx, (size_t)C, 1, wino_input_range, j);
    else
        wino_input_range(j, 0, (size_t)C);
    for (int k = 0; k < 16; k++) {
        const float *v = j->v + (size_t)k * wino_v_stride(C, nt, j->packed_v);
        float *mo = j->mo + (size_t)k * WINO_MAT_STRIDE(M, nt);
        if (j->cw->wino_ap)
            own_gemm_bp(j->cw->wino_ap + (size_t)k * pack_a_elems(M, C), M, C, v, nt, mo, nt);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)nt, (int)C, 1.0f,
                        j->cw->wino_u + k * M * C, (int)C, v, (int)nt, 0.0f, mo, (int)nt);
    }
    if (inner_parallel)
        onnxq_parallel_for(ctx, (size_t)M, 1, wino_output_range, j);
    else
        wino_output_range(j, 0, (size_t)M);
}

struct wino_plan {
    struct onnxq_op_ctx *ctx;
    const struct wino_job *proto;
    int64_t th, rows_per_block, blocks_per_image, nblocks, nslots;
    float *buf;
    size_t slot_elems;
};

/* Block `blk` (over images and tile-row ranges) with buffers at `mem`. */
static void wino_run_block(const struct wino_plan *p, int64_t blk, float *mem, bool inner_parallel)
{
    const struct onnxq_conv_geom *g = p->proto->g;
    const struct g2 *d = p->proto->d;
    struct wino_job j = *p->proto;
    int64_t n = blk / p->blocks_per_image, bi = blk % p->blocks_per_image;
    j.x += n * g->c * d->H * d->W;
    j.y += n * g->m * d->OH * d->OW;
    j.ty0 = bi * p->rows_per_block;
    j.ty1 = min64(j.ty0 + p->rows_per_block, p->th);
    j.nt = (j.ty1 - j.ty0) * j.tw;
    j.v = mem;
    j.mo = mem + 16 * wino_v_stride(g->c, j.nt, j.packed_v);
    wino_block(p->ctx, &j, inner_parallel);
}

static void wino_piece(void *arg, int64_t blk, int64_t slot)
{
    const struct wino_plan *p = arg;
    wino_run_block(p, blk, p->buf + (size_t)slot * p->slot_elems, false);
}

static enum onnxq_status conv_winograd(struct onnxq_op_ctx *ctx, const struct onnxq_conv_geom *g,
                                       const struct conv_wts *cw, const float *x, const float *bias, float *y,
                                       struct onnxq_vstats_sink *sink)
{
    struct g2 d = {0};
    geom_2d(g, &d);
    int64_t th = (d.OH + 1) / 2, tw = (d.OW + 1) / 2;
    bool own = cw->wino_ap != NULL;
    bool split = own || split_blas(ctx);
    double flops = 32.0 * (double)(g->n * g->m * g->c) * (double)(th * tw);
    int64_t parts = split && flops >= PAR_MIN_FLOPS ? pool_slots(ctx) : 1;
    int64_t rows = max64(1, min64(th, WINO_BLOCK_TILES / tw));
    if (split && g->n * ((th + rows - 1) / rows) < 4 * parts)
        rows = max64(1, (th + 4 * parts - 1) / (4 * parts));
    int64_t bpi = (th + rows - 1) / rows, nblocks = g->n * bpi;
    int64_t nslots = split ? min64(parts, nblocks) : 1;
    int64_t bt = rows * tw;
    size_t slot_elems = 16 * (wino_v_stride(g->c, bt, own) + WINO_MAT_STRIDE(g->m, bt));
    struct scratch s;
    float *buf = scratch_get(ctx, slot_elems * (size_t)nslots * sizeof(float), &s);
    if (!buf)
        return fail_nomem(ctx);
    struct wino_job proto = {g, &d, x, y, cw, bias, tw, 0, 0, 0, NULL, NULL, own, sink};
    struct wino_plan plan = {ctx, &proto, th, rows, bpi, nblocks, nslots, buf, slot_elems};
    if (split)
        run_pieces(ctx, nblocks, nslots, wino_piece, &plan);
    else
        for (int64_t blk = 0; blk < nblocks; blk++)
            wino_run_block(&plan, blk, buf, true);
    scratch_put(&s);
    return ONNXQ_OK;
}

/* ------------------------------------------------------ conv: dispatcher */

static bool fits_int(int64_t v)
{
    return v >= 0 && v <= INT_MAX;
}

bool onnxq_conv_algo_ok(const struct onnxq_conv_geom *g, enum onnxq_conv_algo algo)
{
    int64_t cg = g->c / g->group, mg = g->m / g->group;
    int64_t kprod = prod64(g->k, g->nsp), oprod = prod64(g->out, g->nsp);
    bool unit = true;
    for (int d = 0; d < g->nsp; d++)
        unit = unit && g->k[d] == 1 && g->stride[d] == 1 && g->pad_b[d] == 0 && g->pad_e[d] == 0;
    switch (algo) {
    case ONNXQ_CONV_AUTO:
    case ONNXQ_CONV_REFERENCE:
        return true;
    case ONNXQ_CONV_GEMM_1X1:
        return unit && fits_int(mg) && fits_int(cg) && fits_int(oprod);
    case ONNXQ_CONV_IM2COL:
        return fits_int(mg) && fits_int(cg * kprod) && fits_int(oprod);
    case ONNXQ_CONV_DEPTHWISE:
        return g->nsp <= 2 && g->group == g->c && g->group == g->m;
    case ONNXQ_CONV_WINOGRAD:
        return g->nsp == 2 && g->group == 1 && g->k[0] == 3 && g->k[1] == 3 && g->stride[0] == 1 &&
               g->stride[1] == 1 && g->dil[0] == 1 && g->dil[1] == 1 && fits_int(g->m) && fits_int(g->c) &&
               g->pad_b[0] >= 0 && g->pad_b[1] >= 0;
    }
    return false;
}

/* The fastest applicable algorithm (measured on PP-OCR shapes). */
static enum onnxq_conv_algo conv_choose(const struct onnxq_conv_geom *g)
{
    if (g->group > 1 && onnxq_conv_algo_ok(g, ONNXQ_CONV_DEPTHWISE))
        return ONNXQ_CONV_DEPTHWISE;
    if (onnxq_conv_algo_ok(g, ONNXQ_CONV_GEMM_1X1) && (g->n == 1 || prod64(g->out, g->nsp) >= MIN_TILE_COLS))
        return ONNXQ_CONV_GEMM_1X1;
    if (onnxq_conv_algo_ok(g, ONNXQ_CONV_WINOGRAD) && g->c >= 16 && g->m >= 8 && g->out[0] * g->out[1] >= 64)
        return ONNXQ_CONV_WINOGRAD;
    if (onnxq_conv_algo_ok(g, ONNXQ_CONV_IM2COL))
        return ONNXQ_CONV_IM2COL;
    return ONNXQ_CONV_REFERENCE;
}

static bool use_own_gemm(enum onnxq_gemm_backend backend)
{
    return backend == ONNXQ_GEMM_OWN || (backend == ONNXQ_GEMM_AUTO && OWN_GEMM_DEFAULT);
}

/* Fill in whatever `algo` needs that cw lacks (Winograd transform, packed
 * panels) into *owned (malloc'd; the caller frees it). */
static bool conv_wts_complete(const struct onnxq_conv_geom *g, enum onnxq_conv_algo algo, bool own,
                              struct conv_wts *cw, float **owned)
{
    int64_t mg = g->m / g->group, krows = g->c / g->group * prod64(g->k, g->nsp);
    size_t need = 0;
    bool wino = algo == ONNXQ_CONV_WINOGRAD, gemm = algo == ONNXQ_CONV_GEMM_1X1 || algo == ONNXQ_CONV_IM2COL;
    size_t u_elems = (size_t)(16 * g->m * g->c), up_elems = 16 * pack_a_elems(g->m, g->c);
    size_t ap_elems = (size_t)g->group * pack_a_elems(mg, krows);
    if (wino && !cw->wino_u && !(own && cw->wino_ap))
        need += u_elems;
    if (wino && own && !cw->wino_ap)
        need += up_elems;
    if (gemm && own && !cw->ap)
        need += ap_elems;
    if (!own) {
        cw->ap = NULL;
        cw->wino_ap = NULL;
    }
    *owned = NULL;
    if (!need)
        return true;
    float *buf = malloc(need * sizeof(float)), *p = buf;
    if (!buf)
        return false;
    if (wino && !cw->wino_u && !(own && cw->wino_ap)) {
        wino_transform_weights(cw->w, g->m, g->c, p);
        cw->wino_u = p;
        p += u_elems;
    }
    if (wino && own && !cw->wino_ap) {
        for (int k = 0; k < 16; k++)
            pack_a(cw->wino_u + k * g->m * g->c, g->c, false, g->m, g->c, p + (size_t)k * pack_a_elems(g->m, g->c));
        cw->wino_ap = p;
        p += up_elems;
    }
    if (gemm && own && !cw->ap) {
        for (int64_t grp = 0; grp < g->group; grp++)
            pack_a(cw->w + grp * mg * krows, krows, false, mg, krows, p + (size_t)grp * pack_a_elems(mg, krows));
        cw->ap = p;
    }
    *owned = buf;
    return true;
}

/* sink: statistics of y (the node's output 0), or NULL */
static enum onnxq_status conv_f32_wts(struct onnxq_op_ctx *ctx, const struct onnxq_conv_geom *g,
                                      enum onnxq_conv_algo algo, enum onnxq_gemm_backend backend, struct conv_wts cw,
                                      const float *x, const float *bias, float *y, struct onnxq_vstats_sink *sink)
{
    if (algo == ONNXQ_CONV_AUTO)
        algo = conv_choose(g);
    if (!onnxq_conv_algo_ok(g, algo))
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_INTERNAL, "convolution algorithm %d does not apply",
                             (int)algo);
    if (prod64(g->out, g->nsp) == 0 || g->n == 0 || g->m == 0)
        return ONNXQ_OK;
    if (g->c / g->group == 0) {
        /* no input channels: every output is its bias */
        fill_planes(ctx, y, (size_t)(g->n * g->m), (size_t)prod64(g->out, g->nsp), (size_t)prod64(g->out, g->nsp),
                    bias, g->m);
        return ONNXQ_OK;
    }
    bool own = use_own_gemm(backend);
    if (backend == ONNXQ_GEMM_AUTO && own && !cw.ap && !cw.wino_ap) {
        /* weights not packed in init: packing per call does not pay off on
         * small products */
        double flops = 2.0 * (double)(g->n * g->m) * (double)prod64(g->out, g->nsp) *
                       (double)(g->c / g->group * prod64(g->k, g->nsp));
        own = flops >= 4e6;
    }
    float *owned = NULL;
    if (!conv_wts_complete(g, algo, own, &cw, &owned))
        return fail_nomem(ctx);
    enum onnxq_status st;
    switch (algo) {
    case ONNXQ_CONV_GEMM_1X1: st = conv_1x1(ctx, g, &cw, x, bias, y, sink); break;
    case ONNXQ_CONV_IM2COL: st = conv_im2col(ctx, g, &cw, x, bias, y, sink); break;
    case ONNXQ_CONV_DEPTHWISE: st = conv_depthwise(ctx, g, x, cw.w, bias, y, sink); break;
    case ONNXQ_CONV_WINOGRAD: st = conv_winograd(ctx, g, &cw, x, bias, y, sink); break;
    default: st = ref_f32(ctx, g, false, x, cw.w, bias, y); break;
    }
    free(owned);
    return st;
}

enum onnxq_status onnxq_conv_f32(struct onnxq_op_ctx *ctx, const struct onnxq_conv_geom *g,
                                 enum onnxq_conv_algo algo, enum onnxq_gemm_backend backend, const float *x,
                                 const float *w, const float *bias, float *y)
{
    struct conv_wts cw = {w, NULL, NULL, NULL};
    return conv_f32_wts(ctx, g, algo, backend, cw, x, bias, y, NULL);
}

bool onnxq_gemm_own_default(void)
{
    return OWN_GEMM_DEFAULT;
}

/* ------------------------------------------------- convtranspose (float) */

struct col2im_job {
    const struct onnxq_conv_geom *g;
    const struct g2 *d2;  /* NULL: N-D */
    const float *col;     /* [mg * kprod][cols] */
    float *y;             /* first output channel of the group, image n */
    int64_t kprod, oprod;
    int64_t t0, t1;       /* input rows (2-D) or positions (N-D) */
    int64_t cols;
};

static void col2im_range(void *arg, size_t b, size_t e)
{
    const struct col2im_job *j = arg;
    const struct onnxq_conv_geom *g = j->g;
    for (size_t mm = b; mm < e; mm++) {
        float *ym = j->y + (int64_t)mm * j->oprod;
        for (int64_t kp = 0; kp < j->kprod; kp++) {
            const float *cr = j->col + ((int64_t)mm * j->kprod + kp) * j->cols;
            if (j->d2) {
                const struct g2 *d = j->d2;
                int64_t ky = kp / d->KW, kx = kp % d->KW;
                int64_t off = kx * d->DW - d->PW;
                /* input columns iw with 0 <= iw*SW + off < OW */
                int64_t lo = off >= 0 ? 0 : ceil_div(-off, d->SW);
                int64_t hi = d->OW - 1 - off >= 0 ? floor_div(d->OW - 1 - off, d->SW) + 1 : 0;
                lo = min64(lo, d->W);
                hi = min64(hi, d->W);
                for (int64_t ih = j->t0; ih < j->t1; ih++) {
                    int64_t oh = ih * d->SH - d->PH + ky * d->DH;
                    if (oh < 0 || oh >= d->OH)
                        continue;
                    const float *c = cr + (ih - j->t0) * d->W;
                    float *yr = ym + oh * d->OW + off;
                    if (d->SW == 1)
                        for (int64_t iw = lo; iw < hi; iw++)
                            yr[iw] += c[iw];
                    else
                        for (int64_t iw = lo; iw < hi; iw++)
                            yr[iw * d->SW] += c[iw];
                }
            } else {
                int nsp = g->nsp;
                int64_t kd[ONNXQ_CONV_MAX_SP], ic[ONNXQ_CONV_MAX_SP];
                unravel(kp, nsp, g->k, kd);
                unravel(j->t0, nsp, g->in, ic);
                for (int64_t t = j->t0; t < j->t1; t++) {
                    int64_t off;
                    if (tap_offset(g, ic, kd, g->out, &off))
                        ym[off] += cr[t - j->t0];
                    for (int d = nsp - 1; d >= 0; d--) {
                        if (++ic[d] < g->in[d])
                            break;
                        ic[d] = 0;
                    }
                }
            }
        }
    }
}

/* Non-overlapping 2-D ConvTranspose (kernel == stride, dilation 1, no
 * padding, output exactly input * stride): every output element receives
 * exactly one product, so col2im writes y = col + bias directly, in
 * parallel over (output channel, input row). */
static bool convt_direct_ok(const struct onnxq_conv_geom *g)
{
    if (g->nsp > 2)
        return false;
    for (int d = 0; d < g->nsp; d++)
        if (g->k[d] != g->stride[d] || g->dil[d] != 1 || g->pad_b[d] != 0 || g->out[d] != g->in[d] * g->k[d])
            return false;
    return true;
}

struct convt_direct_job {
    const struct g2 *d;
    const float *col;   /* [mg * KH * KW][cols] */
    float *y;           /* first output channel of the group, image n */
    const float *bias;  /* of the group's first channel, or NULL */
    int64_t t0, rows_in_tile, cols;
};

static void convt_direct_range(void *arg, size_t b, size_t e)
{
    const struct convt_direct_job *j = arg;
    const struct g2 *d = j->d;
    int64_t kp = d->KH * d->KW;
    for (size_t it = b; it < e; it++) {
        int64_t mm = (int64_t)it / j->rows_in_tile, ih = j->t0 + (int64_t)it % j->rows_in_tile;
        float bv = j->bias ? j->bias[mm] : 0.0f;
        float *ym = j->y + mm * d->OH * d->OW;
        for (int64_t ky = 0; ky < d->KH; ky++) {
            float *yr = ym + (ih * d->SH + ky) * d->OW;
            for (int64_t kx = 0; kx < d->KW; kx++) {
                const float *c = j->col + (mm * kp + ky * d->KW + kx) * j->cols + (ih - j->t0) * d->W;
                float *yo = yr + kx;
                for (int64_t iw = 0; iw < d->W; iw++)
                    yo[iw * d->SW] = c[iw] + bv;
            }
        }
    }
}

/* ap: W^T panels per group for the own kernel (NULL: pack per call). */
static enum onnxq_status convt_f32(struct onnxq_op_ctx *ctx, const struct onnxq_conv_geom *g, bool reference,
                                   enum onnxq_gemm_backend backend, const float *x, const float *w, const float *ap,
                                   const float *bias, float *y)
{
    int64_t cg = g->c / g->group, mg = g->m / g->group;
    int64_t kprod = prod64(g->k, g->nsp), iprod = prod64(g->in, g->nsp), oprod = prod64(g->out, g->nsp);
    int64_t rows = mg * kprod;
    if (reference || !fits_int(rows) || !fits_int(cg) || !fits_int(iprod))
        return ref_f32(ctx, g, true, x, w, bias, y);
    if (oprod == 0 || g->n == 0 || g->m == 0)
        return ONNXQ_OK;
    bool direct = convt_direct_ok(g) && cg > 0;
    if (!direct)
        fill_planes(ctx, y, (size_t)(g->n * g->m), (size_t)oprod, (size_t)oprod, bias, g->m);
    if (iprod == 0 || cg == 0)
        return ONNXQ_OK;
    struct g2 d2 = {0};
    bool is2d = geom_2d(g, &d2);
    int64_t unit = is2d ? d2.W : 1, units = is2d ? d2.H : iprod;
    size_t unit_bytes = (size_t)(rows * unit) * sizeof(float);
    int64_t per = max64(1, (int64_t)(COL_TILE_BYTES / (unit_bytes ? unit_bytes : 1)));
    per = min64(per, units);
    bool own = use_own_gemm(backend);
    float *owned = NULL;
    if (own && !ap) {
        owned = malloc((size_t)g->group * pack_a_elems(rows, cg) * sizeof(float));
        if (!owned)
            return fail_nomem(ctx);
        for (int64_t grp = 0; grp < g->group; grp++)
            pack_a(w + grp * cg * rows, rows, true, rows, cg, owned + (size_t)grp * pack_a_elems(rows, cg));
        ap = owned;
    }
    size_t col_elems = (size_t)(rows * per * unit);
    struct scratch s;
    float *col = scratch_get(ctx, (col_elems + (own ? (size_t)pool_slots(ctx) * GEMM_BBUF : 0)) * sizeof(float), &s);
    if (!col) {
        free(owned);
        return fail_nomem(ctx);
    }
    for (int64_t n = 0; n < g->n; n++) {
        for (int64_t grp = 0; grp < g->group; grp++) {
            const float *xg = x + (n * g->c + grp * cg) * iprod;
            const float *wg = w + grp * cg * rows;
            for (int64_t u0 = 0; u0 < units; u0 += per) {
                int64_t u1 = min64(u0 + per, units), cols = (u1 - u0) * unit;
                if (own)
                    own_gemm_pool(ctx, ap + (size_t)grp * pack_a_elems(rows, cg), rows, cg, xg + u0 * unit, iprod, cols,
                                  col, cols, NULL, col + col_elems);
                else
                    sgemm_pool(ctx, true, false, rows, cols, cg, 1.0f, wg, rows, xg + u0 * unit, iprod, 0.0f, col,
                               cols);
                float *yg = y + (n * g->m + grp * mg) * oprod;
                if (direct) {
                    struct convt_direct_job dj = {&d2, col, yg, bias ? bias + grp * mg : NULL, u0, u1 - u0, cols};
                    size_t per_item = (size_t)(kprod * d2.W);
                    onnxq_parallel_for(ctx, (size_t)(mg * (u1 - u0)), per_item >= 4096 ? 1 : 4096 / per_item,
                                       convt_direct_range, &dj);
                    continue;
                }
                struct col2im_job j = {g, is2d ? &d2 : NULL, col, yg, kprod, oprod, u0, u1, cols};
                size_t work = (size_t)(kprod * cols);
                onnxq_parallel_for(ctx, (size_t)mg, work >= 8192 ? 1 : 8192 / (work ? work : 1), col2im_range, &j);
            }
        }
    }
    scratch_put(&s);
    free(owned);
    return ONNXQ_OK;
}

enum onnxq_status onnxq_convtranspose_f32(struct onnxq_op_ctx *ctx, const struct onnxq_conv_geom *g,
                                          bool reference, enum onnxq_gemm_backend backend, const float *x,
                                          const float *w, const float *bias, float *y)
{
    return convt_f32(ctx, g, reference, backend, x, w, NULL, bias, y);
}

/* --------------------------------------------------------- the Conv ops */


struct conv_state {
    bool transpose;
    enum onnxq_auto_pad auto_pad;
    int64_t group;
    size_t n_kernel, n_strides, n_dil, n_pads, n_outpad, n_outshape;
    int64_t kernel[ONNXQ_CONV_MAX_SP], strides[ONNXQ_CONV_MAX_SP], dil[ONNXQ_CONV_MAX_SP];
    int64_t pads[2 * ONNXQ_CONV_MAX_SP], outpad[ONNXQ_CONV_MAX_SP], outshape[ONNXQ_CONV_MAX_SP + 2];
    /* Constant weights (their data pointer) pre-packed in init: A panels
     * per group for the own GEMM kernel (Conv: W; ConvTranspose: W^T) and
     * the Winograd transform (raw for OpenBLAS, panels for the own kernel).
     * NULL when not applicable. */
    const void *w_const;
    float *gemm_ap;
    float *wino_u;
    float *wino_ap;
};

static enum onnxq_status read_ints(struct onnxq_op_init *ictx, const char *name, size_t max, int64_t *dst,
                                   size_t *count)
{
    size_t n = 0;
    const int64_t *v = onnxq_attr_ints(ictx->node, name, &n);
    if (n > max)
        return onnxq_op_fail(ictx->err, ictx->node, ONNXQ_E_UNSUPPORTED,
                             "attribute %s has %zu values; at most %zu are supported", name, n, max);
    if (n)
        memcpy(dst, v, n * sizeof(int64_t));
    *count = n;
    return ONNXQ_OK;
}

void onnxq_conv_fini(void *state)
{
    struct conv_state *s = state;
    if (!s)
        return;
    free(s->gemm_ap);
    free(s->wino_u);
    free(s->wino_ap);
    free(s);
}

/* Pre-pack constant float weights (see struct conv_state). */
static bool conv_prepack(struct conv_state *s, const struct onnxq_tensor *w)
{
    if (!w || w->dtype != ONNXQ_DT_FLOAT || w->ndim < 3 || w->ndim - 2 > ONNXQ_CONV_MAX_SP || !w->data)
        return true;
    int64_t kprod = prod64(w->dims + 2, w->ndim - 2);
    bool own = OWN_GEMM_DEFAULT;
    s->w_const = w->data;
    if (s->transpose) {
        int64_t c = w->dims[0], rows = w->dims[1] * kprod, cg = c / s->group;
        if (!own || c % s->group != 0)
            return true;
        s->gemm_ap = malloc((size_t)s->group * pack_a_elems(rows, cg) * sizeof(float));
        if (!s->gemm_ap)
            return false;
        for (int64_t grp = 0; grp < s->group; grp++)
            pack_a((const float *)w->data + grp * cg * rows, rows, true, rows, cg,
                   s->gemm_ap + (size_t)grp * pack_a_elems(rows, cg));
        return true;
    }
    int64_t m = w->dims[0], krows = w->dims[1] * kprod, mg = m / s->group;
    if (own && m % s->group == 0 && (s->group == 1 || w->dims[1] > 1)) {
        s->gemm_ap = malloc((size_t)s->group * pack_a_elems(mg, krows) * sizeof(float));
        if (!s->gemm_ap)
            return false;
        for (int64_t grp = 0; grp < s->group; grp++)
            pack_a((const float *)w->data + grp * mg * krows, krows, false, mg, krows,
                   s->gemm_ap + (size_t)grp * pack_a_elems(mg, krows));
    }
    bool unit = w->ndim == 4 && w->dims[2] == 3 && w->dims[3] == 3 && s->group == 1;
    for (size_t i = 0; i < s->n_strides; i++)
        unit = unit && s->strides[i] == 1;
    for (size_t i = 0; i < s->n_dil; i++)
        unit = unit && s->dil[i] == 1;
    if (!unit)
        return true;
    int64_t c = w->dims[1];
    s->wino_u = malloc((size_t)(16 * m * c) * sizeof(float));
    if (!s->wino_u)
        return false;
    wino_transform_weights(w->data, m, c, s->wino_u);
    if (own) {
        s->wino_ap = malloc(16 * pack_a_elems(m, c) * sizeof(float));
        if (!s->wino_ap)
            return false;
        for (int k = 0; k < 16; k++)
            pack_a(s->wino_u + k * m * c, c, false, m, c, s->wino_ap + (size_t)k * pack_a_elems(m, c));
        free(s->wino_u);
        s->wino_u = NULL;
    }
    return true;
}

static enum onnxq_status conv_init_common(struct onnxq_op_init *ictx, void **state, bool transpose)
{
    const struct onnxq_node *n = ictx->node;
    struct conv_state *s = calloc(1, sizeof(*s));
    if (!s)
        return onnxq_op_fail(ictx->err, n, ONNXQ_E_NOMEM, "out of memory");
    s->transpose = transpose;
    enum onnxq_status st;
    if ((st = read_ints(ictx, "kernel_shape", ONNXQ_CONV_MAX_SP, s->kernel, &s->n_kernel)) ||
        (st = read_ints(ictx, "strides", ONNXQ_CONV_MAX_SP, s->strides, &s->n_strides)) ||
        (st = read_ints(ictx, "dilations", ONNXQ_CONV_MAX_SP, s->dil, &s->n_dil)) ||
        (st = read_ints(ictx, "pads", 2 * ONNXQ_CONV_MAX_SP, s->pads, &s->n_pads)) ||
        (st = read_ints(ictx, "output_padding", ONNXQ_CONV_MAX_SP, s->outpad, &s->n_outpad)) ||
        (st = read_ints(ictx, "output_shape", ONNXQ_CONV_MAX_SP + 2, s->outshape, &s->n_outshape))) {
        free(s);
        return st;
    }
    s->group = onnxq_attr_int(n, "group", 1);
    if ((st = onnxq_attr_auto_pad(ictx, &s->auto_pad))) {
        free(s);
        return st;
    }
    st = ONNXQ_OK;
    if (s->group < 1)
        st = onnxq_op_fail(ictx->err, n, ONNXQ_E_INVALID_MODEL, "group is %lld; it must be >= 1",
                           (long long)s->group);
    for (size_t i = 0; !st && i < s->n_strides; i++)
        if (s->strides[i] < 1)
            st = onnxq_op_fail(ictx->err, n, ONNXQ_E_INVALID_MODEL, "strides[%zu] is %lld; it must be >= 1", i,
                               (long long)s->strides[i]);
    for (size_t i = 0; !st && i < s->n_dil; i++)
        if (s->dil[i] < 1)
            st = onnxq_op_fail(ictx->err, n, ONNXQ_E_INVALID_MODEL, "dilations[%zu] is %lld; it must be >= 1", i,
                               (long long)s->dil[i]);
    if (st) {
        free(s);
        return st;
    }
    if (!conv_prepack(s, ictx->n_inputs > 1 ? ictx->const_inputs[1] : NULL)) {
        onnxq_conv_fini(s);
        return onnxq_op_fail(ictx->err, n, ONNXQ_E_NOMEM, "out of memory packing the weights");
    }
    *state = s;
    return ONNXQ_OK;
}

enum onnxq_status onnxq_conv_init(struct onnxq_op_init *ictx, void **state)
{
    return conv_init_common(ictx, state, false);
}

enum onnxq_status onnxq_convtranspose_init(struct onnxq_op_init *ictx, void **state)
{
    return conv_init_common(ictx, state, true);
}

static enum onnxq_status bad_count(struct onnxq_op_ctx *ctx, const char *attr, size_t have, int want)
{
    return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_INVALID_MODEL,
                         "attribute %s has %zu values; the input has %d spatial dimensions (expected %d)", attr,
                         have, want / (strcmp(attr, "pads") == 0 ? 2 : 1), want);
}

/* Resolve the geometry from the input shapes and attributes. */
static enum onnxq_status conv_geometry(const struct conv_state *s, struct onnxq_op_ctx *ctx,
                                       struct onnxq_conv_geom *g)
{
    enum onnxq_status st;
    if ((st = onnxq_need_input(ctx, 0)) || (st = onnxq_need_input(ctx, 1)))
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0], *w = ctx->inputs[1];
    const struct onnxq_tensor *b = ctx->n_inputs > 2 ? ctx->inputs[2] : NULL;
    char sx[200], sw[200];
    onnxq_shape_format(x->dims, x->ndim, sx, sizeof(sx));
    onnxq_shape_format(w->dims, w->ndim, sw, sizeof(sw));
    if (x->ndim < 3 || x->ndim - 2 > ONNXQ_CONV_MAX_SP)
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE,
                             "input X ('%s') has shape %s; expected [N, C, spatial...] with 1 to %d spatial dims",
                             ctx->node->inputs[0], sx, ONNXQ_CONV_MAX_SP);
    if (w->ndim != x->ndim)
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE,
                             "weights W ('%s') have shape %s; expected rank %d like input X %s",
                             ctx->node->inputs[1], sw, x->ndim, sx);
    if (x->dtype != w->dtype)
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE, "X is %s but W is %s",
                             onnxq_dtype_name(x->dtype), onnxq_dtype_name(w->dtype));
    int nsp = x->ndim - 2;
    memset(g, 0, sizeof(*g));
    g->nsp = nsp;
    g->n = x->dims[0];
    g->c = x->dims[1];
    g->group = s->group;
    if (s->transpose) {
        if (w->dims[0] != g->c || g->c % g->group != 0)
            return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE,
                                 "input X %s has %lld channels; W %s with group %lld needs W[0] == C and C %% group == 0",
                                 sx, (long long)g->c, sw, (long long)g->group);
        g->m = w->dims[1] * g->group;
    } else {
        if (w->dims[1] * g->group != g->c || w->dims[0] % g->group != 0)
            return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE,
                                 "input X %s has %lld channels; W %s with group %lld needs W[1] * group == C and W[0] %% group == 0",
                                 sx, (long long)g->c, sw, (long long)g->group);
        g->m = w->dims[0];
    }
    if (b) {
        if (b->ndim != 1 || b->dims[0] != g->m || b->dtype != x->dtype)
            return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE,
                                 "bias B ('%s') must be a 1-D %s tensor of %lld values (output channels)",
                                 ctx->node->inputs[2], onnxq_dtype_name(x->dtype), (long long)g->m);
    }
    if (s->n_kernel && s->n_kernel != (size_t)nsp)
        return bad_count(ctx, "kernel_shape", s->n_kernel, nsp);
    if (s->n_strides && s->n_strides != (size_t)nsp)
        return bad_count(ctx, "strides", s->n_strides, nsp);
    if (s->n_dil && s->n_dil != (size_t)nsp)
        return bad_count(ctx, "dilations", s->n_dil, nsp);
    if (s->n_pads && s->n_pads != (size_t)(2 * nsp))
        return bad_count(ctx, "pads", s->n_pads, 2 * nsp);
    if (s->n_outpad && s->n_outpad != (size_t)nsp)
        return bad_count(ctx, "output_padding", s->n_outpad, nsp);
    if (s->n_outshape && s->n_outshape != (size_t)nsp && s->n_outshape != (size_t)nsp + 2)
        return bad_count(ctx, "output_shape", s->n_outshape, nsp);
    for (int d = 0; d < nsp; d++) {
        g->in[d] = x->dims[2 + d];
        g->k[d] = w->dims[2 + d];
        if (s->n_kernel && s->kernel[d] != g->k[d])
            return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE,
                                 "kernel_shape[%d] is %lld but W %s has %lld there", d, (long long)s->kernel[d],
                                 sw, (long long)g->k[d]);
        g->stride[d] = s->n_strides ? s->strides[d] : 1;
        g->dil[d] = s->n_dil ? s->dil[d] : 1;
        int64_t pb = s->n_pads ? s->pads[d] : 0, pe = s->n_pads ? s->pads[d + nsp] : 0;
        if (g->k[d] < 1)
            return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE, "weights W %s have an empty kernel", sw);
        /* keep the size arithmetic far from int64 overflow */
        const int64_t lim = (int64_t)1 << 31;
        int64_t op0 = s->n_outpad ? s->outpad[d] : 0;
        int64_t os0 = s->n_outshape ? s->outshape[s->n_outshape - (size_t)nsp + (size_t)d] : 0;
        if (g->in[d] > lim || g->k[d] > lim || g->stride[d] > lim || g->dil[d] > lim || pb > lim || pe > lim ||
            pb < -lim || pe < -lim || op0 > lim || op0 < -lim || os0 > lim || os0 < -lim)
            return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_UNSUPPORTED,
                                 "spatial dim %d: sizes, strides, dilations or pads beyond 2^31 are not supported",
                                 d);
        int64_t ext = (g->k[d] - 1) * g->dil[d] + 1;  /* dilated kernel extent */
        int64_t in = g->in[d], sd = g->stride[d], out;
        if (!s->transpose) {
            if (pb < 0 || pe < 0)
                return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_INVALID_MODEL, "pads must not be negative");
            if (s->auto_pad == ONNXQ_AUTO_PAD_SAME_UPPER || s->auto_pad == ONNXQ_AUTO_PAD_SAME_LOWER) {
                out = ceil_div(in, sd);
                int64_t total = max64(0, (out - 1) * sd + ext - in);
                pb = s->auto_pad == ONNXQ_AUTO_PAD_SAME_UPPER ? total / 2 : total - total / 2;
                pe = total - pb;
            } else {
                if (s->auto_pad == ONNXQ_AUTO_PAD_VALID)
                    pb = pe = 0;
                int64_t span = in + pb + pe - ext;
                out = span < 0 ? 0 : span / sd + 1;
            }
            if (out <= 0 && in > 0)
                return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE,
                                     "spatial dim %d: input %s with kernel %lld, dilation %lld and pads %lld+%lld "
                                     "gives no output",
                                     d, sx, (long long)g->k[d], (long long)g->dil[d], (long long)pb, (long long)pe);
        } else {
            int64_t op = s->n_outpad ? s->outpad[d] : 0;
            if (op < 0)
                return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_INVALID_MODEL,
                                     "output_padding must not be negative");
            int64_t natural = sd * (in - 1) + op + ext;
            if (s->n_outshape || s->auto_pad == ONNXQ_AUTO_PAD_SAME_UPPER || s->auto_pad == ONNXQ_AUTO_PAD_SAME_LOWER) {
                out = s->n_outshape ? s->outshape[s->n_outshape - (size_t)nsp + (size_t)d] : in * sd;
                int64_t total = natural - out;
                if (s->auto_pad == ONNXQ_AUTO_PAD_SAME_UPPER) {
                    pb = floor_div(total, 2);
                    pe = total - pb;
                } else {
                    pe = floor_div(total, 2);
                    pb = total - pe;
                }
            } else {
                if (s->auto_pad == ONNXQ_AUTO_PAD_VALID)
                    pb = pe = 0;
                out = natural - pb - pe;
            }
            if (out <= 0)
                return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE,
                                     "spatial dim %d: input %s gives output size %lld", d, sx, (long long)out);
        }
        g->out[d] = out;
        g->pad_b[d] = pb;
        g->pad_e[d] = pe;
    }
    return ONNXQ_OK;
}

enum onnxq_status onnxq_conv_shape(void *state, struct onnxq_op_ctx *ctx)
{
    struct onnxq_conv_geom g;
    enum onnxq_status st = conv_geometry(state, ctx, &g);
    if (st)
        return st;
    int64_t dims[ONNXQ_MAX_DIMS];
    dims[0] = g.n;
    dims[1] = g.m;
    for (int d = 0; d < g.nsp; d++)
        dims[2 + d] = g.out[d];
    onnxq_out_shape(ctx->outputs[0], ctx->inputs[0]->dtype, g.nsp + 2, dims);
    return ONNXQ_OK;
}

/* Double/float16 (and any other float type): reference in double. */
static enum onnxq_status conv_run_generic(const struct conv_state *s, struct onnxq_op_ctx *ctx,
                                          const struct onnxq_conv_geom *g)
{
    const struct onnxq_tensor *x = ctx->inputs[0], *w = ctx->inputs[1];
    const struct onnxq_tensor *b = ctx->n_inputs > 2 ? ctx->inputs[2] : NULL;
    struct onnxq_tensor *y = ctx->outputs[0];
    size_t nx = (size_t)onnxq_tensor_numel(x), nw = (size_t)onnxq_tensor_numel(w);
    size_t ny = (size_t)onnxq_tensor_numel(y), nb = b ? (size_t)g->m : 0;
    double *buf = malloc((nx + nw + ny + nb + 1) * sizeof(double));
    if (!buf)
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_NOMEM, "out of memory");
    double *dx = buf, *dw = dx + nx, *dy = dw + nw, *db = dy + ny;
    for (size_t i = 0; i < nx; i++)
        dx[i] = onnxq_tensor_get_f64(x, i);
    for (size_t i = 0; i < nw; i++)
        dw[i] = onnxq_tensor_get_f64(w, i);
    for (size_t i = 0; i < nb; i++)
        db[i] = onnxq_tensor_get_f64(b, i);
    if (s->transpose)
        onnxq_convtranspose_ref(g, dx, dw, b ? db : NULL, dy);
    else
        onnxq_conv_ref(g, dx, dw, b ? db : NULL, dy);
    for (size_t i = 0; i < ny; i++)
        onnxq_tensor_set_f64(y, i, dy[i]);
    free(buf);
    return ONNXQ_OK;
}

enum onnxq_status onnxq_conv_run(void *state, struct onnxq_op_ctx *ctx)
{
    const struct conv_state *s = state;
    struct onnxq_conv_geom g;
    enum onnxq_status st = conv_geometry(s, ctx, &g);
    if (st)
        return st;
    const struct onnxq_tensor *x = ctx->inputs[0], *w = ctx->inputs[1];
    const struct onnxq_tensor *b = ctx->n_inputs > 2 ? ctx->inputs[2] : NULL;
    struct onnxq_tensor *y = ctx->outputs[0];
    if (x->dtype == ONNXQ_DT_FLOAT) {
        const float *bias = b ? b->data : NULL;
        bool packed = s->w_const && w->data == s->w_const;
        if (s->transpose)
            return convt_f32(ctx, &g, false, ONNXQ_GEMM_AUTO, x->data, w->data, packed ? s->gemm_ap : NULL, bias,
                             y->data);
        struct conv_wts cw = {w->data, packed ? s->gemm_ap : NULL, packed ? s->wino_u : NULL,
                              packed ? s->wino_ap : NULL};
        return conv_f32_wts(ctx, &g, ONNXQ_CONV_AUTO, ONNXQ_GEMM_AUTO, cw, x->data, bias, y->data, ctx->stats);
    }
    if (x->dtype == ONNXQ_DT_DOUBLE || x->dtype == ONNXQ_DT_FLOAT16 || x->dtype == ONNXQ_DT_BFLOAT16)
        return conv_run_generic(s, ctx, &g);
    return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_UNSUPPORTED, "%s does not support dtype %s",
                         ctx->node->op_type, onnxq_dtype_name(x->dtype));
}

/* ------------------------------------------------------- Gemm / MatMul */

/* Generic C[i,j] (+)= sum_k A[i,k] B[k,j] for non-BLAS dtypes, through
 * element accessors. Integer types accumulate in int64, the rest in double.
 * a_rs/a_cs: element strides of A's rows and columns (transposes). */
struct mm_view {
    const struct onnxq_tensor *t;
    size_t off, rs, cs;
};

static bool dtype_is_int(enum onnxq_dtype dt)
{
    switch (dt) {
    case ONNXQ_DT_INT8:
    case ONNXQ_DT_INT16:
    case ONNXQ_DT_INT32:
    case ONNXQ_DT_INT64:
    case ONNXQ_DT_UINT8:
    case ONNXQ_DT_UINT16:
    case ONNXQ_DT_UINT32:
    case ONNXQ_DT_UINT64:
        return true;
    default:
        return false;
    }
}

static bool dtype_matmul_ok(enum onnxq_dtype dt)
{
    return dt == ONNXQ_DT_FLOAT || dt == ONNXQ_DT_DOUBLE || dt == ONNXQ_DT_FLOAT16 || dt == ONNXQ_DT_BFLOAT16 ||
           dtype_is_int(dt);
}

static void set_i64(struct onnxq_tensor *t, size_t i, int64_t v)
{
    void *d = t->data;
    switch (t->dtype) {
    case ONNXQ_DT_INT64: ((int64_t *)d)[i] = v; break;
    case ONNXQ_DT_UINT64: ((uint64_t *)d)[i] = (uint64_t)v; break;
    case ONNXQ_DT_INT32: ((int32_t *)d)[i] = (int32_t)v; break;
    case ONNXQ_DT_UINT32: ((uint32_t *)d)[i] = (uint32_t)v; break;
    case ONNXQ_DT_INT16: ((int16_t *)d)[i] = (int16_t)v; break;
    case ONNXQ_DT_UINT16: ((uint16_t *)d)[i] = (uint16_t)v; break;
    case ONNXQ_DT_INT8: ((int8_t *)d)[i] = (int8_t)v; break;
    case ONNXQ_DT_UINT8: ((uint8_t *)d)[i] = (uint8_t)v; break;
    default: onnxq_tensor_set_f64(t, i, (double)v); break;
    }
}

/* y[y_off + i*N + j] = alpha * sum_k A[i,k] B[k,j] + (add ? y : 0). */
static void mm_generic(struct mm_view a, struct mm_view b, struct onnxq_tensor *y, size_t y_off, size_t M, size_t N,
                       size_t K, double alpha, double beta_y)
{
    bool isint = dtype_is_int(y->dtype);
    for (size_t i = 0; i < M; i++) {
        for (size_t j = 0; j < N; j++) {
            size_t yi = y_off + i * N + j;
            if (isint) {
                int64_t acc = 0;
                for (size_t k = 0; k < K; k++)
                    acc += onnxq_tensor_get_i64(a.t, a.off + i * a.rs + k * a.cs) *
                           onnxq_tensor_get_i64(b.t, b.off + k * b.rs + j * b.cs);
                int64_t prev = beta_y != 0.0 ? onnxq_tensor_get_i64(y, yi) : 0;
                if (alpha == 1.0 && (beta_y == 0.0 || beta_y == 1.0))
                    set_i64(y, yi, acc + prev);  /* exact integer arithmetic */
                else
                    set_i64(y, yi, (int64_t)(alpha * (double)acc + beta_y * (double)prev));
            } else {
                double acc = 0.0;
                for (size_t k = 0; k < K; k++)
                    acc += onnxq_tensor_get_f64(a.t, a.off + i * a.rs + k * a.cs) *
                           onnxq_tensor_get_f64(b.t, b.off + k * b.rs + j * b.cs);
                double prev = beta_y != 0.0 ? onnxq_tensor_get_f64(y, yi) : 0.0;
                onnxq_tensor_set_f64(y, yi, alpha * acc + beta_y * prev);
            }
        }
    }
}

struct gemm_state {
    double alpha, beta;
    bool trans_a, trans_b;
};

void onnxq_gemm_fini(void *state)
{
    free(state);
}

enum onnxq_status onnxq_gemm_init(struct onnxq_op_init *ictx, void **state)
{
    struct gemm_state *s = calloc(1, sizeof(*s));
    if (!s)
        return onnxq_op_fail(ictx->err, ictx->node, ONNXQ_E_NOMEM, "out of memory");
    s->alpha = onnxq_attr_float(ictx->node, "alpha", 1.0f);
    s->beta = onnxq_attr_float(ictx->node, "beta", 1.0f);
    s->trans_a = onnxq_attr_int(ictx->node, "transA", 0) != 0;
    s->trans_b = onnxq_attr_int(ictx->node, "transB", 0) != 0;
    *state = s;
    return ONNXQ_OK;
}

struct gemm_dims {
    int64_t m, n, k;
};

static enum onnxq_status gemm_dims(const struct gemm_state *s, struct onnxq_op_ctx *ctx, struct gemm_dims *gd)
{
    enum onnxq_status st;
    if ((st = onnxq_need_input(ctx, 0)) || (st = onnxq_need_input(ctx, 1)))
        return st;
    const struct onnxq_tensor *a = ctx->inputs[0], *b = ctx->inputs[1];
    const struct onnxq_tensor *c = ctx->n_inputs > 2 ? ctx->inputs[2] : NULL;
    char sa[200], sb[200], sc[200];
    onnxq_shape_format(a->dims, a->ndim, sa, sizeof(sa));
    onnxq_shape_format(b->dims, b->ndim, sb, sizeof(sb));
    if (a->ndim != 2 || b->ndim != 2)
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE, "A %s and B %s must both be 2-D", sa, sb);
    if (a->dtype != b->dtype || (c && c->dtype != a->dtype))
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE, "A, B (and C) must have the same dtype (%s, %s%s%s)",
                             onnxq_dtype_name(a->dtype), onnxq_dtype_name(b->dtype), c ? ", " : "",
                             c ? onnxq_dtype_name(c->dtype) : "");
    gd->m = s->trans_a ? a->dims[1] : a->dims[0];
    gd->k = s->trans_a ? a->dims[0] : a->dims[1];
    int64_t kb = s->trans_b ? b->dims[1] : b->dims[0];
    gd->n = s->trans_b ? b->dims[0] : b->dims[1];
    if (kb != gd->k)
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE,
                             "inner dimensions differ: A %s (transA=%d) and B %s (transB=%d)", sa, s->trans_a, sb,
                             s->trans_b);
    if (c) {
        onnxq_shape_format(c->dims, c->ndim, sc, sizeof(sc));
        bool ok = c->ndim <= 2;
        int64_t want[2] = {gd->m, gd->n};
        for (int i = 0; ok && i < c->ndim; i++) {
            int64_t d = c->dims[i], t = want[2 - c->ndim + i];
            ok = d == t || d == 1;
        }
        if (!ok)
            return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE,
                                 "C %s cannot be broadcast to the output [%lld,%lld]", sc, (long long)gd->m,
                                 (long long)gd->n);
    }
    return ONNXQ_OK;
}

enum onnxq_status onnxq_gemm_shape(void *state, struct onnxq_op_ctx *ctx)
{
    struct gemm_dims gd;
    enum onnxq_status st = gemm_dims(state, ctx, &gd);
    if (st)
        return st;
    int64_t dims[2] = {gd.m, gd.n};
    onnxq_out_shape(ctx->outputs[0], ctx->inputs[0]->dtype, 2, dims);
    return ONNXQ_OK;
}

/* Element index of C for output (i, j) under unidirectional broadcast. */
static size_t c_index(const struct onnxq_tensor *c, int64_t i, int64_t j)
{
    if (c->ndim == 0)
        return 0;
    if (c->ndim == 1)
        return c->dims[0] == 1 ? 0 : (size_t)j;
    int64_t r = c->dims[0] == 1 ? 0 : i, q = c->dims[1] == 1 ? 0 : j;
    return (size_t)(r * c->dims[1] + q);
}

enum onnxq_status onnxq_gemm_run(void *state, struct onnxq_op_ctx *ctx)
{
    const struct gemm_state *s = state;
    struct gemm_dims gd;
    enum onnxq_status st = gemm_dims(s, ctx, &gd);
    if (st)
        return st;
    const struct onnxq_tensor *a = ctx->inputs[0], *b = ctx->inputs[1];
    const struct onnxq_tensor *c = ctx->n_inputs > 2 ? ctx->inputs[2] : NULL;
    struct onnxq_tensor *y = ctx->outputs[0];
    int64_t M = gd.m, N = gd.n, K = gd.k;
    if (!dtype_matmul_ok(a->dtype))
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_UNSUPPORTED, "Gemm does not support dtype %s",
                             onnxq_dtype_name(a->dtype));
    if (M == 0 || N == 0)
        return ONNXQ_OK;
    bool blas = (a->dtype == ONNXQ_DT_FLOAT || a->dtype == ONNXQ_DT_DOUBLE) && fits_int(M) && fits_int(N) &&
                fits_int(K) && fits_int(a->dims[1]) && fits_int(b->dims[1]);
    /* prefill y = beta * C (broadcast) or 0 */
    bool with_c = c && s->beta != 0.0;
    size_t total = (size_t)(M * N);
    if (a->dtype == ONNXQ_DT_FLOAT) {
        float *py = y->data;
        if (with_c) {
            const float *pc = c->data;
            float beta = (float)s->beta;
            for (int64_t i = 0; i < M; i++)
                for (int64_t j = 0; j < N; j++)
                    py[i * N + j] = beta * pc[c_index(c, i, j)];
        } else {
            memset(py, 0, total * sizeof(float));
        }
    } else {
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                size_t yi = (size_t)(i * N + j);
                if (!with_c)
                    onnxq_tensor_set_f64(y, yi, 0.0);
                else if (dtype_is_int(y->dtype) && s->beta == 1.0)
                    set_i64(y, yi, onnxq_tensor_get_i64(c, c_index(c, i, j)));
                else
                    onnxq_tensor_set_f64(y, yi, s->beta * onnxq_tensor_get_f64(c, c_index(c, i, j)));
            }
    }
    if (K == 0)
        return ONNXQ_OK;
    int lda = (int)a->dims[1], ldb = (int)b->dims[1];
    if (blas && a->dtype == ONNXQ_DT_FLOAT) {
        sgemm_pool(ctx, s->trans_a, s->trans_b, M, N, K, (float)s->alpha, a->data, lda, b->data, ldb, 1.0f, y->data,
                   N);
        return ONNXQ_OK;
    }
    if (blas && a->dtype == ONNXQ_DT_DOUBLE) {
        cblas_dgemm(CblasRowMajor, s->trans_a ? CblasTrans : CblasNoTrans, s->trans_b ? CblasTrans : CblasNoTrans,
                    (int)M, (int)N, (int)K, s->alpha, a->data, lda, b->data, ldb, 1.0, y->data, (int)N);
        return ONNXQ_OK;
    }
    struct mm_view va = {a, 0, s->trans_a ? 1 : (size_t)a->dims[1], s->trans_a ? (size_t)a->dims[1] : 1};
    struct mm_view vb = {b, 0, s->trans_b ? 1 : (size_t)b->dims[1], s->trans_b ? (size_t)b->dims[1] : 1};
    mm_generic(va, vb, y, 0, (size_t)M, (size_t)N, (size_t)K, s->alpha, 1.0);
    return ONNXQ_OK;
}

/* MatMul: numpy matmul semantics. */
struct mm_shape {
    int nb;                               /* broadcast batch rank */
    int64_t batch[ONNXQ_MAX_DIMS];        /* output batch dims */
    int64_t sa[ONNXQ_MAX_DIMS], sb[ONNXQ_MAX_DIMS];  /* batch strides (matrices) of A and B, 0 = broadcast */
    int64_t m, n, k;
    bool a_vec, b_vec;
};

static enum onnxq_status matmul_dims(struct onnxq_op_ctx *ctx, struct mm_shape *ms)
{
    enum onnxq_status st;
    if ((st = onnxq_need_input(ctx, 0)) || (st = onnxq_need_input(ctx, 1)))
        return st;
    const struct onnxq_tensor *a = ctx->inputs[0], *b = ctx->inputs[1];
    char sa[200], sb[200];
    onnxq_shape_format(a->dims, a->ndim, sa, sizeof(sa));
    onnxq_shape_format(b->dims, b->ndim, sb, sizeof(sb));
    if (a->ndim < 1 || b->ndim < 1)
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE, "MatMul inputs must have rank >= 1: A %s, B %s", sa,
                             sb);
    if (a->dtype != b->dtype)
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE, "A is %s but B is %s", onnxq_dtype_name(a->dtype),
                             onnxq_dtype_name(b->dtype));
    ms->a_vec = a->ndim == 1;
    ms->b_vec = b->ndim == 1;
    ms->m = ms->a_vec ? 1 : a->dims[a->ndim - 2];
    ms->k = a->dims[a->ndim - 1];
    int64_t kb = ms->b_vec ? b->dims[0] : b->dims[b->ndim - 2];
    ms->n = ms->b_vec ? 1 : b->dims[b->ndim - 1];
    if (kb != ms->k)
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE, "inner dimensions differ: A %s and B %s", sa, sb);
    int na = ms->a_vec ? 0 : a->ndim - 2, nbb = ms->b_vec ? 0 : b->ndim - 2;
    int nb = na > nbb ? na : nbb;
    if (nb + 2 > ONNXQ_MAX_DIMS)
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_UNSUPPORTED, "rank too large");
    int64_t stride_a = 1, stride_b = 1;
    for (int i = nb - 1; i >= 0; i--) {
        int ia = i - (nb - na), ib = i - (nb - nbb);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da != db && da != 1 && db != 1)
            return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE,
                                 "batch dimensions of A %s and B %s cannot be broadcast", sa, sb);
        ms->batch[i] = da == 1 ? db : da;
        ms->sa[i] = da == 1 ? 0 : stride_a;
        ms->sb[i] = db == 1 ? 0 : stride_b;
        stride_a *= da;
        stride_b *= db;
    }
    ms->nb = nb;
    return ONNXQ_OK;
}

enum onnxq_status onnxq_matmul_shape(void *state, struct onnxq_op_ctx *ctx)
{
    (void)state;
    struct mm_shape ms;
    enum onnxq_status st = matmul_dims(ctx, &ms);
    if (st)
        return st;
    int64_t dims[ONNXQ_MAX_DIMS];
    int nd = ms.nb;
    memcpy(dims, ms.batch, (size_t)ms.nb * sizeof(int64_t));
    if (!ms.a_vec)
        dims[nd++] = ms.m;
    if (!ms.b_vec)
        dims[nd++] = ms.n;
    onnxq_out_shape(ctx->outputs[0], ctx->inputs[0]->dtype, nd, dims);
    return ONNXQ_OK;
}

static void dgemm_dense(const double *a, const double *b, double *y, int64_t M, int64_t N, int64_t K)
{
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)N, (int)K, 1.0, a, (int)K, b, (int)N, 0.0, y,
                (int)N);
}

/* Matrix offsets (in matrices) of A and B for output batch bi. */
static void mm_batch_offsets(const struct mm_shape *ms, int64_t bi, int64_t *oa, int64_t *ob)
{
    int64_t a = 0, b = 0;
    for (int d = ms->nb - 1; d >= 0; d--) {
        int64_t i = bi % ms->batch[d];
        bi /= ms->batch[d];
        a += i * ms->sa[d];
        b += i * ms->sb[d];
    }
    *oa = a;
    *ob = b;
}

struct mm_batch_job {
    const struct mm_shape *ms;
    const float *a, *b;
    float *y;
};

static void mm_batch_range(void *arg, size_t b, size_t e)
{
    const struct mm_batch_job *j = arg;
    int64_t M = j->ms->m, N = j->ms->n, K = j->ms->k;
    for (size_t bi = b; bi < e; bi++) {
        int64_t oa, ob;
        mm_batch_offsets(j->ms, (int64_t)bi, &oa, &ob);
        sgemm_call(false, false, M, N, K, 1.0f, j->a + oa * M * K, K, j->b + ob * K * N, N, 0.0f,
                   j->y + (int64_t)bi * M * N, N);
    }
}

enum onnxq_status onnxq_matmul_run(void *state, struct onnxq_op_ctx *ctx)
{
    (void)state;
    struct mm_shape ms;
    enum onnxq_status st = matmul_dims(ctx, &ms);
    if (st)
        return st;
    const struct onnxq_tensor *a = ctx->inputs[0], *b = ctx->inputs[1];
    struct onnxq_tensor *y = ctx->outputs[0];
    if (!dtype_matmul_ok(a->dtype))
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_UNSUPPORTED, "MatMul does not support dtype %s",
                             onnxq_dtype_name(a->dtype));
    int64_t M = ms.m, N = ms.n, K = ms.k;
    int64_t nbatch = prod64(ms.batch, ms.nb);
    size_t ny = (size_t)onnxq_tensor_numel(y);
    if (ny == 0)
        return ONNXQ_OK;
    if (K == 0) {
        for (size_t i = 0; i < ny; i++)
            onnxq_tensor_set_f64(y, i, 0.0);
        return ONNXQ_OK;
    }
    bool blas = (a->dtype == ONNXQ_DT_FLOAT || a->dtype == ONNXQ_DT_DOUBLE) && fits_int(M) && fits_int(N) &&
                fits_int(K);
    /* B shared by every batch and A's batches dense: fold batches into M. */
    bool b_shared = true;
    for (int i = 0; i < ms.nb; i++)
        b_shared = b_shared && ms.sb[i] == 0;
    bool a_dense = true;
    {
        int64_t expect = 1;
        for (int i = ms.nb - 1; i >= 0; i--) {
            if (ms.batch[i] != 1 && ms.sa[i] != expect)
                a_dense = false;
            expect *= ms.batch[i];
        }
    }
    if (blas && b_shared && a_dense && fits_int(M * nbatch)) {
        if (a->dtype == ONNXQ_DT_FLOAT)
            sgemm_pool(ctx, false, false, M * nbatch, N, K, 1.0f, a->data, K, b->data, N, 0.0f, y->data, N);
        else
            dgemm_dense(a->data, b->data, y->data, M * nbatch, N, K);
        return ONNXQ_OK;
    }
    if (blas && a->dtype == ONNXQ_DT_FLOAT && split_blas(ctx) && nbatch >= ctx->threads) {
        /* independent single-threaded products, one batch per task */
        struct mm_batch_job j = {&ms, a->data, b->data, y->data};
        double flops = 2.0 * (double)M * (double)N * (double)K;
        onnxq_parallel_for(ctx, (size_t)nbatch, flops >= 1e5 ? 1 : (size_t)(1e5 / (flops + 1.0)) + 1, mm_batch_range,
                           &j);
        return ONNXQ_OK;
    }
    for (int64_t bi = 0; bi < nbatch; bi++) {
        int64_t oa, ob;
        mm_batch_offsets(&ms, bi, &oa, &ob);
        if (blas && a->dtype == ONNXQ_DT_FLOAT)
            sgemm_pool(ctx, false, false, M, N, K, 1.0f, (const float *)a->data + oa * M * K, K,
                       (const float *)b->data + ob * K * N, N, 0.0f, (float *)y->data + bi * M * N, N);
        else if (blas)
            dgemm_dense((const double *)a->data + oa * M * K, (const double *)b->data + ob * K * N,
                        (double *)y->data + bi * M * N, M, N, K);
        else {
            struct mm_view va = {a, (size_t)(oa * M * K), (size_t)K, 1};
            struct mm_view vb = {b, (size_t)(ob * K * N), (size_t)N, 1};
            mm_generic(va, vb, y, (size_t)(bi * M * N), (size_t)M, (size_t)N, (size_t)K, 1.0, 0.0);
        }
    }
    return ONNXQ_OK;
}
