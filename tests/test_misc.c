/* Less common operators (ops/misc.c).
 *
 * Einsum's BLAS path is checked against its plain reference loop over many
 * equations (batch/matrix/contracted labels in every order, ellipses,
 * outer and inner products) and both against a brute-force sum written
 * here. TopK's heap selection is checked against a stable sort written
 * here (ties to the lower index, NaN the largest), with 1 and 3 threads.
 * Hand-computed cases pin Unique (sorted, first-occurrence order, axis),
 * NonMaxSuppression, CumSum, the scatter reductions, GatherND batch_dims,
 * OneHot's opset-dependent negative indices, the losses, and bad input
 * that must fail with a status instead of reading out of bounds. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/misc.h"
#include "optest.h"

/* Einsum BLAS path vs reference loop: |f - r| <= ATOL + RTOL * |r|
 * (float32 sums in a different order; the reference accumulates in double) */
#define EIN_F32_RTOL 1e-5
#define EIN_F32_ATOL 1e-5
#define EIN_F64_RTOL 1e-12
#define EIN_F64_ATOL 1e-12

static struct onnxq_tensor i64_scalar1(int64_t v)
{
    int64_t one = 1;
    return ot_i64(1, &one, &v);
}

/* Einsum's plain reference loop in place of its run. */
static const struct ot_run einsum_ref = {.run = onnxq_misc_einsum_reference};

/* ------------------------------------------------------------------ TopK */

/* Does value a (position pa) go before b (pb)? NaN is the largest. */
static bool topk_before(double a, int64_t pa, double b, int64_t pb, bool largest)
{
    bool na = isnan(a), nb = isnan(b);
    if (na || nb) {
        if (na && nb)
            return pa < pb;
        return largest ? na : nb;
    }
    if (a != b)
        return largest ? a > b : a < b;
    return pa < pb;
}

/* Naive TopK of one row by insertion sort of all positions. */
static void topk_naive(const double *row, size_t n, size_t k, bool largest, int64_t *out)
{
    int64_t *ord = malloc(n * sizeof(int64_t));
    for (size_t i = 0; i < n; i++) {
        size_t j = i;
        while (j > 0 && topk_before(row[i], (int64_t)i, row[ord[j - 1]], ord[j - 1], largest)) {
            ord[j] = ord[j - 1];
            j--;
        }
        ord[j] = (int64_t)i;
    }
    memcpy(out, ord, k * sizeof(int64_t));
    free(ord);
}

START_TEST(topk_vs_naive)
{
    struct {
        int nd;
        int64_t dims[3];
    } shapes[] = {{1, {1}}, {1, {37}}, {2, {5, 300}}, {3, {3, 40, 7}}, {2, {300, 2}}, {3, {2, 700, 3}}};
    enum onnxq_dtype dts[] = {ONNXQ_DT_FLOAT, ONNXQ_DT_DOUBLE, ONNXQ_DT_INT64, ONNXQ_DT_INT32, ONNXQ_DT_FLOAT16,
                              ONNXQ_DT_UINT8};
    uint64_t seed = 0xabc;
    int cases = 0;
    for (size_t si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++) {
        int nd = shapes[si].nd;
        for (size_t di = 0; di < sizeof(dts) / sizeof(dts[0]); di++) {
            struct onnxq_tensor x = ot_tensor(dts[di], nd, shapes[si].dims, NULL);
            size_t n = (size_t)onnxq_tensor_numel(&x);
            for (size_t i = 0; i < n; i++) {
                /* few distinct values: many ties */
                double v = floor(tu_urand(&seed, 0, 9));
                if (dts[di] == ONNXQ_DT_FLOAT && i % 11 == 3)
                    v = NAN;
                onnxq_tensor_set_f64(&x, i, v);
            }
            for (int axis = -nd; axis < nd; axis++) {
                int ax = axis < 0 ? axis + nd : axis;
                int64_t dim = x.dims[ax];
                int64_t ks[3] = {1, dim / 3 + 1, dim};
                for (int ki = 0; ki < 3; ki++) {
                    for (int largest = 0; largest < 2; largest++) {
                        struct ot_attrs at = {0};
                        ot_int(&at, "axis", axis);
                        ot_int(&at, "largest", largest);
                        struct onnxq_tensor kt = i64_scalar1(ks[ki]);
                        const struct onnxq_tensor *in[2] = {&x, &kt};
                        struct onnxq_tensor o3[2], o1[2];
                        ck_assert_int_eq(ot_run_op("TopK", 11, &at, 2, in, 2, o3, ot_pool3), ONNXQ_OK);
                        ck_assert_int_eq(ot_run_op("TopK", 11, &at, 2, in, 2, o1, ot_pool1), ONNXQ_OK);
                        ck_assert(o3[1].nbytes == o1[1].nbytes && memcmp(o3[1].data, o1[1].data, o1[1].nbytes) == 0);
                        ck_assert(memcmp(o3[0].data, o1[0].data, o1[0].nbytes) == 0);
                        /* naive, row by row */
                        size_t len = (size_t)dim, k = (size_t)ks[ki], inner = 1, outer = 1;
                        for (int d = ax + 1; d < nd; d++)
                            inner *= (size_t)x.dims[d];
                        for (int d = 0; d < ax; d++)
                            outer *= (size_t)x.dims[d];
                        double *row = malloc(len * sizeof(double));
                        int64_t *want = malloc(k * sizeof(int64_t));
                        for (size_t o = 0; o < outer; o++)
                            for (size_t i = 0; i < inner; i++) {
                                for (size_t j = 0; j < len; j++)
                                    row[j] = onnxq_tensor_get_f64(&x, (o * len + j) * inner + i);
                                topk_naive(row, len, k, largest != 0, want);
                                for (size_t q = 0; q < k; q++) {
                                    size_t e = (o * k + q) * inner + i;
                                    int64_t got = ((int64_t *)o1[1].data)[e];
                                    ck_assert_msg(got == want[q],
                                                  "TopK %s shape #%zu axis %d k %zu largest %d: row (%zu,%zu) "
                                                  "place %zu is index %lld, expected %lld",
                                                  onnxq_dtype_name(dts[di]), si, axis, k, largest, o, i, q,
                                                  (long long)got, (long long)want[q]);
                                    double gv = onnxq_tensor_get_f64(&o1[0], e);
                                    ck_assert(gv == row[want[q]] || (isnan(gv) && isnan(row[want[q]])));
                                }
                            }
                        free(row);
                        free(want);
                        for (int q = 0; q < 2; q++) {
                            onnxq_tensor_clear(&o1[q]);
                            onnxq_tensor_clear(&o3[q]);
                        }
                        onnxq_tensor_clear(&kt);
                        cases++;
                    }
                }
            }
            onnxq_tensor_clear(&x);
        }
    }
    printf("topk_vs_naive: %d cases\n", cases);
}
END_TEST

START_TEST(topk_semantics)
{
    int64_t d[1] = {5};
    float xv[5] = {3, 1, 3, 2, 5};
    struct onnxq_tensor x = ot_f32(1, d, xv), y[2];
    /* opset 1: k is an attribute, always largest and sorted */
    struct ot_attrs at = {0};
    ot_int(&at, "k", 3);
    const struct onnxq_tensor *in[2] = {&x, NULL};
    ck_assert_int_eq(ot_run_op("TopK", 1, &at, 1, in, 2, y, ot_pool1), ONNXQ_OK);
    ot_expect_f32("TopK-1 values", &y[0], 3, (float[]){5, 3, 3}, 0, 0);
    ot_expect_i64("TopK-1 indices", &y[1], 3, (int64_t[]){4, 0, 2});
    onnxq_tensor_clear(&y[0]);
    onnxq_tensor_clear(&y[1]);
    /* opset 11 smallest */
    struct ot_attrs at2 = {0};
    ot_int(&at2, "largest", 0);
    struct onnxq_tensor k = i64_scalar1(2);
    in[1] = &k;
    ck_assert_int_eq(ot_run_op("TopK", 11, &at2, 2, in, 2, y, ot_pool1), ONNXQ_OK);
    ot_expect_i64("TopK smallest", &y[1], 2, (int64_t[]){1, 3});
    onnxq_tensor_clear(&y[0]);
    onnxq_tensor_clear(&y[1]);
    /* k = 0 gives empty outputs; k beyond the axis fails */
    onnxq_tensor_clear(&k);
    k = i64_scalar1(0);
    ck_assert_int_eq(ot_run_op("TopK", 11, NULL, 2, in, 2, y, ot_pool1), ONNXQ_OK);
    ck_assert_int_eq(y[0].dims[0], 0);
    onnxq_tensor_clear(&y[0]);
    onnxq_tensor_clear(&y[1]);
    onnxq_tensor_clear(&k);
    k = i64_scalar1(6);
    ck_assert_int_eq(ot_run_op("TopK", 11, NULL, 2, in, 2, y, ot_pool1), ONNXQ_E_SHAPE);
    onnxq_tensor_clear(&k);
    k = i64_scalar1(-1);
    ck_assert_int_eq(ot_run_op("TopK", 11, NULL, 2, in, 2, y, ot_pool1), ONNXQ_E_SHAPE);
    onnxq_tensor_clear(&k);
    /* missing k input at opset 10 */
    in[1] = NULL;
    ck_assert_int_eq(ot_run_op("TopK", 10, NULL, 2, in, 2, y, ot_pool1), ONNXQ_E_INVALID_MODEL);
    /* int64 beyond 2^53 compares exactly */
    struct onnxq_tensor xi = ot_i64(1, (int64_t[]){3}, (int64_t[]){((int64_t)1 << 60) + 1, (int64_t)1 << 60, 7});
    k = i64_scalar1(1);
    in[0] = &xi;
    in[1] = &k;
    ck_assert_int_eq(ot_run_op("TopK", 11, NULL, 2, in, 2, y, ot_pool1), ONNXQ_OK);
    ot_expect_i64("TopK int64", &y[1], 1, (int64_t[]){0});
    onnxq_tensor_clear(&y[0]);
    onnxq_tensor_clear(&y[1]);
    onnxq_tensor_clear(&k);
    onnxq_tensor_clear(&xi);
    onnxq_tensor_clear(&x);
}
END_TEST

/* --------------------------------------------------------------- Einsum */

/* Brute force over every label assignment (labels a-z only, no ellipsis). */
static double einsum_brute_one(const char *eq, size_t nin, const struct onnxq_tensor *const *in, const int64_t *oidx,
                               const char *outl)
{
    char terms[4][16];
    size_t nt = 0, len = 0;
    const char *p = eq;
    for (; *p && *p != '-'; p++) {
        if (*p == ',') {
            terms[nt++][len] = 0;
            len = 0;
        } else if (*p != ' ') {
            terms[nt][len++] = *p;
        }
    }
    terms[nt++][len] = 0;
    ck_assert_uint_eq(nt, nin);
    int64_t size[26] = {0};
    bool used[26] = {false};
    for (size_t i = 0; i < nin; i++)
        for (size_t a = 0; terms[i][a]; a++) {
            size[terms[i][a] - 'a'] = in[i]->dims[a];
            used[terms[i][a] - 'a'] = true;
        }
    int64_t val[26] = {0};
    for (size_t q = 0; outl[q]; q++)
        val[outl[q] - 'a'] = oidx[q];
    int free_l[26], nf = 0;
    for (int l = 0; l < 26; l++)
        if (used[l] && !strchr(outl, 'a' + l))
            free_l[nf++] = l;
    double acc = 0;
    for (;;) {
        double pr = 1;
        for (size_t i = 0; i < nin; i++) {
            size_t off = 0;
            for (size_t a = 0; terms[i][a]; a++)
                off = off * (size_t)in[i]->dims[a] + (size_t)val[terms[i][a] - 'a'];
            pr *= onnxq_tensor_get_f64(in[i], off);
        }
        acc += pr;
        int q = nf - 1;
        for (; q >= 0; q--) {
            if (++val[free_l[q]] < size[free_l[q]])
                break;
            val[free_l[q]] = 0;
        }
        if (q < 0)
            break;
    }
    return acc;
}

START_TEST(einsum_fast_vs_ref)
{
    struct {
        const char *eq;
        const char *outl;   /* output labels for the brute force, NULL = skip it */
        int nin;
        int nd[2];
        int64_t dims[2][4];
    } cases[] = {
        {"ij,jk->ik", "ik", 2, {2, 2}, {{7, 5}, {5, 9}}},
        {"ij,jk", "ik", 2, {2, 2}, {{7, 5}, {5, 9}}},
        {"bij,bjk->bik", "bik", 2, {3, 3}, {{4, 3, 6}, {4, 6, 5}}},
        {"bij,bkj->bik", "bik", 2, {3, 3}, {{4, 3, 6}, {4, 5, 6}}},
        {"bji,bjk->kib", "kib", 2, {3, 3}, {{2, 6, 3}, {2, 6, 4}}},
        {"ij,ij->", "", 2, {2, 2}, {{5, 6}, {5, 6}}},
        {"i,i", "", 2, {1, 1}, {{17}, {17}}},
        {"i,j->ij", "ij", 2, {1, 1}, {{4}, {6}}},
        {"i,j->ji", "ji", 2, {1, 1}, {{4}, {6}}},
        {"abc,cd->dba", "dba", 2, {3, 2}, {{2, 3, 4}, {4, 5}}},
        {"ab,ab->ba", "ba", 2, {2, 2}, {{3, 4}, {3, 4}}},
        {"bnc,bmc->bnm", "bnm", 2, {3, 3}, {{2, 40, 16}, {2, 33, 16}}},
        {"...ij,...jk->...ik", NULL, 2, {4, 3}, {{2, 3, 4, 5}, {3, 5, 2}}},
        {"ij,jk->ik", "ik", 2, {2, 2}, {{64, 48}, {48, 80}}},
        {"ij,kj->", "", 2, {2, 2}, {{3, 4}, {5, 4}}},  /* k summed in one operand: reference */
        {"ii->i", "i", 1, {2, 0}, {{5, 5}, {0}}},
        {"ij->ji", "ji", 1, {2, 0}, {{3, 4}, {0}}},
        {"ij->i", "i", 1, {2, 0}, {{3, 4}, {0}}},
        {"ii", "", 1, {2, 0}, {{4, 4}, {0}}},
        {"bii,bi->b", "b", 2, {3, 2}, {{2, 3, 3}, {2, 3}}},
    };
    uint64_t seed = 0x77;
    for (size_t ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++) {
        for (int dbl = 0; dbl < 2; dbl++) {
            enum onnxq_dtype dt = dbl ? ONNXQ_DT_DOUBLE : ONNXQ_DT_FLOAT;
            struct onnxq_tensor x[2];
            const struct onnxq_tensor *in[2];
            for (int i = 0; i < cases[ci].nin; i++) {
                x[i] = ot_tensor(dt, cases[ci].nd[i], cases[ci].dims[i], NULL);
                for (int64_t e = 0; e < onnxq_tensor_numel(&x[i]); e++)
                    onnxq_tensor_set_f64(&x[i], (size_t)e, tu_urand(&seed, -1, 1));
                in[i] = &x[i];
            }
            struct ot_attrs at = {0};
            ot_str(&at, "equation", cases[ci].eq);
            struct onnxq_tensor yf, yr, y3;
            size_t nin = (size_t)cases[ci].nin;
            ck_assert_msg(ot_run_op("Einsum", 12, &at, nin, in, 1, &yf, ot_pool1) == ONNXQ_OK, "%s: %s",
                          cases[ci].eq, ot_last_msg());
            ck_assert_int_eq(ot_run_op("Einsum", 12, &at, nin, in, 1, &y3, ot_pool3), ONNXQ_OK);
            ck_assert_int_eq(ot_run_op_how("Einsum", 12, &at, nin, in, 1, &yr, &einsum_ref), ONNXQ_OK);
            ot_expect_shape(cases[ci].eq, &yf, yr.ndim, yr.dims);
            ck_assert(memcmp(yf.data, y3.data, yf.nbytes) == 0);
            double rt = dbl ? EIN_F64_RTOL : EIN_F32_RTOL, atl = dbl ? EIN_F64_ATOL : EIN_F32_ATOL;
            int64_t oidx[8] = {0};
            for (int64_t e = 0; e < onnxq_tensor_numel(&yr); e++) {
                double f = onnxq_tensor_get_f64(&yf, (size_t)e), r = onnxq_tensor_get_f64(&yr, (size_t)e);
                ck_assert_msg(fabs(f - r) <= atl + rt * fabs(r), "%s %s: element %lld fast %.12g reference %.12g",
                              cases[ci].eq, onnxq_dtype_name(dt), (long long)e, f, r);
                if (cases[ci].outl) {
                    double b = einsum_brute_one(cases[ci].eq, nin, in, oidx, cases[ci].outl);
                    ck_assert_msg(fabs(b - r) <= 1e-5 + 1e-5 * fabs(b), "%s: element %lld reference %.9g brute %.9g",
                                  cases[ci].eq, (long long)e, r, b);
                    for (int q = yr.ndim - 1; q >= 0; q--) {
                        if (++oidx[q] < yr.dims[q])
                            break;
                        oidx[q] = 0;
                    }
                }
            }
            onnxq_tensor_clear(&yf);
            onnxq_tensor_clear(&yr);
            onnxq_tensor_clear(&y3);
            for (int i = 0; i < cases[ci].nin; i++)
                onnxq_tensor_clear(&x[i]);
        }
    }
}
END_TEST

START_TEST(einsum_semantics)
{
    /* ellipsis broadcasting: [2,1,3,4] x [5,4,2] -> [2,5,3,2] */
    int64_t da[4] = {2, 1, 3, 4}, db[3] = {5, 4, 2};
    struct onnxq_tensor a = ot_tensor(ONNXQ_DT_FLOAT, 4, da, NULL), b = ot_tensor(ONNXQ_DT_FLOAT, 3, db, NULL), y;
    for (int i = 0; i < 24; i++)
        ((float *)a.data)[i] = (float)(i % 7) - 3;
    for (int i = 0; i < 40; i++)
        ((float *)b.data)[i] = (float)(i % 5) - 2;
    struct ot_attrs at = {0};
    ot_str(&at, "equation", "...ij,...jk->...ik");
    const struct onnxq_tensor *in[2] = {&a, &b};
    ck_assert_msg(ot_run_op("Einsum", 12, &at, 2, in, 1, &y, ot_pool1) == ONNXQ_OK, "%s", ot_last_msg());
    ot_expect_shape("ellipsis broadcast", &y, 4, (int64_t[]){2, 5, 3, 2});
    /* y[p, q, i, k] = sum_j a[p, 0, i, j] * b[q, j, k] */
    for (int p = 0; p < 2; p++)
        for (int q = 0; q < 5; q++)
            for (int i = 0; i < 3; i++)
                for (int k = 0; k < 2; k++) {
                    float s = 0;
                    for (int j = 0; j < 4; j++)
                        s += ((float *)a.data)[(p * 3 + i) * 4 + j] * ((float *)b.data)[(q * 4 + j) * 2 + k];
                    ck_assert_float_eq(((float *)y.data)[((p * 5 + q) * 3 + i) * 2 + k], s);
                }
    onnxq_tensor_clear(&y);
    /* integer einsum (reference path) */
    struct onnxq_tensor ai = ot_i64(2, (int64_t[]){2, 2}, (int64_t[]){1, 2, 3, 4});
    struct ot_attrs at2 = {0};
    ot_str(&at2, "equation", "ij,jk->ik");
    in[0] = in[1] = &ai;
    ck_assert_int_eq(ot_run_op("Einsum", 12, &at2, 2, in, 1, &y, ot_pool1), ONNXQ_OK);
    ot_expect_i64("int64 matmul", &y, 4, (int64_t[]){7, 10, 15, 22});
    onnxq_tensor_clear(&y);
    /* bad equations and mismatches fail cleanly */
    const char *bad[] = {"ij,jk->ikk", "ij,jk->iz", "i..j", "ij-", "ij,jk,kl"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ot_attrs ab = {0};
        ot_str(&ab, "equation", bad[i]);
        ck_assert_msg(ot_run_op("Einsum", 12, &ab, 2, in, 1, &y, ot_pool1) == ONNXQ_E_INVALID_MODEL,
                      "'%s' was accepted", bad[i]);
    }
    struct ot_attrs am = {0};
    ot_str(&am, "equation", "ij,jk->ik");
    in[0] = &a;
    in[1] = &b;
    ck_assert_int_eq(ot_run_op("Einsum", 12, &am, 2, in, 1, &y, ot_pool1), ONNXQ_E_SHAPE);
    onnxq_tensor_clear(&ai);
    onnxq_tensor_clear(&a);
    onnxq_tensor_clear(&b);
}
END_TEST

/* --------------------------------------------------- Unique, NMS, CumSum */

START_TEST(unique_cases)
{
    struct onnxq_tensor x = ot_f32(1, (int64_t[]){6}, (float[]){2, 1, 1, 3, 4, 3}), y[4];
    const struct onnxq_tensor *in[1] = {&x};
    ck_assert_int_eq(ot_run_op("Unique", 11, NULL, 1, in, 4, y, ot_pool1), ONNXQ_OK);
    ot_expect_f32("sorted Y", &y[0], 4, (float[]){1, 2, 3, 4}, 0, 0);
    ot_expect_i64("sorted indices", &y[1], 4, (int64_t[]){1, 0, 3, 4});
    ot_expect_i64("sorted inverse", &y[2], 6, (int64_t[]){1, 0, 0, 2, 3, 2});
    ot_expect_i64("sorted counts", &y[3], 4, (int64_t[]){2, 1, 2, 1});
    for (int i = 0; i < 4; i++)
        onnxq_tensor_clear(&y[i]);
    struct ot_attrs at = {0};
    ot_int(&at, "sorted", 0);
    ck_assert_int_eq(ot_run_op("Unique", 11, &at, 1, in, 4, y, ot_pool1), ONNXQ_OK);
    ot_expect_f32("unsorted Y", &y[0], 4, (float[]){2, 1, 3, 4}, 0, 0);
    ot_expect_i64("unsorted indices", &y[1], 4, (int64_t[]){0, 1, 3, 4});
    ot_expect_i64("unsorted inverse", &y[2], 6, (int64_t[]){0, 1, 1, 2, 3, 2});
    ot_expect_i64("unsorted counts", &y[3], 4, (int64_t[]){1, 2, 2, 1});
    for (int i = 0; i < 4; i++)
        onnxq_tensor_clear(&y[i]);
    /* only Y requested */
    ck_assert_int_eq(ot_run_op("Unique", 11, NULL, 1, in, 1, y, ot_pool1), ONNXQ_OK);
    ot_expect_shape("Y only", &y[0], 1, (int64_t[]){4});
    onnxq_tensor_clear(&y[0]);
    onnxq_tensor_clear(&x);
    /* along axis 1 of [2, 4]: columns (1,0) (1,0) (0,5) (1,0) */
    struct onnxq_tensor x2 = ot_f32(2, (int64_t[]){2, 4}, (float[]){1, 1, 0, 1, 0, 0, 5, 0});
    struct ot_attrs a2 = {0};
    ot_int(&a2, "axis", -1);
    in[0] = &x2;
    ck_assert_int_eq(ot_run_op("Unique", 11, &a2, 1, in, 4, y, ot_pool1), ONNXQ_OK);
    ot_expect_shape("axis Y", &y[0], 2, (int64_t[]){2, 2});
    ot_expect_f32("axis Y", &y[0], 4, (float[]){0, 1, 5, 0}, 0, 0);
    ot_expect_i64("axis indices", &y[1], 2, (int64_t[]){2, 0});
    ot_expect_i64("axis inverse", &y[2], 4, (int64_t[]){1, 1, 0, 1});
    ot_expect_i64("axis counts", &y[3], 2, (int64_t[]){1, 3});
    for (int i = 0; i < 4; i++)
        onnxq_tensor_clear(&y[i]);
    onnxq_tensor_clear(&x2);
    /* empty input */
    struct onnxq_tensor x0 = ot_tensor(ONNXQ_DT_INT64, 1, (int64_t[]){0}, NULL);
    in[0] = &x0;
    ck_assert_int_eq(ot_run_op("Unique", 11, NULL, 1, in, 4, y, ot_pool1), ONNXQ_OK);
    ot_expect_shape("empty Y", &y[0], 1, (int64_t[]){0});
    for (int i = 0; i < 4; i++)
        onnxq_tensor_clear(&y[i]);
    onnxq_tensor_clear(&x0);
}
END_TEST

START_TEST(nms_cases)
{
    /* the ONNX suppress_by_IOU boxes, two classes with different scores */
    float bx[24] = {0, 0, 1, 1, 0, 0.1f, 1, 1.1f, 0, -0.1f, 1, 0.9f, 0, 10, 1, 11, 0, 10.1f, 1, 11.1f, 0, 100, 1, 101};
    float sc[12] = {0.9f, 0.75f, 0.6f, 0.95f, 0.5f, 0.3f, 0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f};
    struct onnxq_tensor boxes = ot_f32(3, (int64_t[]){1, 6, 4}, bx);
    struct onnxq_tensor scores = ot_f32(3, (int64_t[]){1, 2, 6}, sc);
    struct onnxq_tensor mx = i64_scalar1(3), iou = ot_f32(1, (int64_t[]){1}, (float[]){0.5f});
    struct onnxq_tensor thr = ot_f32(1, (int64_t[]){1}, (float[]){0.25f}), y;
    const struct onnxq_tensor *in[5] = {&boxes, &scores, &mx, &iou, &thr};
    ck_assert_int_eq(ot_run_op("NonMaxSuppression", 11, NULL, 5, in, 1, &y, ot_pool1), ONNXQ_OK);
    /* class 0: 3 (0.95) and 0 (0.9) suppress their neighbours 4 and 1, 2
     * (IoU 0.82), then 5; class 1 above 0.25: 5, 4 (suppresses 3), 2 */
    ot_expect_i64("nms", &y, 18, (int64_t[]){0, 0, 3, 0, 0, 0, 0, 0, 5, 0, 1, 5, 0, 1, 4, 0, 1, 2});
    onnxq_tensor_clear(&y);
    /* no max_output_boxes_per_class: nothing selected */
    in[2] = NULL;
    ck_assert_int_eq(ot_run_op("NonMaxSuppression", 11, NULL, 5, in, 1, &y, ot_pool1), ONNXQ_OK);
    ot_expect_shape("nms empty", &y, 2, (int64_t[]){0, 3});
    onnxq_tensor_clear(&y);
    /* mismatched shapes fail */
    struct onnxq_tensor sc_bad = ot_f32(3, (int64_t[]){1, 2, 5}, sc);
    in[1] = &sc_bad;
    in[2] = &mx;
    ck_assert_int_eq(ot_run_op("NonMaxSuppression", 11, NULL, 5, in, 1, &y, ot_pool1), ONNXQ_E_SHAPE);
    onnxq_tensor_clear(&sc_bad);
    onnxq_tensor_clear(&boxes);
    onnxq_tensor_clear(&scores);
    onnxq_tensor_clear(&mx);
    onnxq_tensor_clear(&iou);
    onnxq_tensor_clear(&thr);
}
END_TEST

START_TEST(cumsum_cases)
{
    /* [2, 3, 2] along axis 1, every exclusive/reverse combination vs naive */
    int64_t d[3] = {2, 3, 2};
    float xv[12];
    for (int i = 0; i < 12; i++)
        xv[i] = (float)(i * i % 7) - 2;
    struct onnxq_tensor x = ot_f32(3, d, xv), ax = i64_scalar1(-2), y;
    for (int ex = 0; ex < 2; ex++)
        for (int rev = 0; rev < 2; rev++) {
            struct ot_attrs at = {0};
            ot_int(&at, "exclusive", ex);
            ot_int(&at, "reverse", rev);
            const struct onnxq_tensor *in[2] = {&x, &ax};
            ck_assert_int_eq(ot_run_op("CumSum", 14, &at, 2, in, 1, &y, ot_pool1), ONNXQ_OK);
            for (int o = 0; o < 2; o++)
                for (int j = 0; j < 3; j++)
                    for (int i = 0; i < 2; i++) {
                        float s = 0;
                        for (int q = 0; q < 3; q++) {
                            bool take = rev ? (ex ? q > j : q >= j) : (ex ? q < j : q <= j);
                            if (take)
                                s += xv[(o * 3 + q) * 2 + i];
                        }
                        ck_assert_msg(((float *)y.data)[(o * 3 + j) * 2 + i] == s, "ex %d rev %d at (%d,%d,%d)", ex,
                                      rev, o, j, i);
                    }
            onnxq_tensor_clear(&y);
        }
    /* int32 wraps instead of overflowing */
    struct onnxq_tensor xi = ot_tensor(ONNXQ_DT_INT32, 1, (int64_t[]){2}, NULL);
    ((int32_t *)xi.data)[0] = INT32_MAX;
    ((int32_t *)xi.data)[1] = 1;
    struct onnxq_tensor ax0 = ot_tensor(ONNXQ_DT_INT32, 0, NULL, NULL);
    const struct onnxq_tensor *in2[2] = {&xi, &ax0};
    ck_assert_int_eq(ot_run_op("CumSum", 11, NULL, 2, in2, 1, &y, ot_pool1), ONNXQ_OK);
    ck_assert_int_eq(((int32_t *)y.data)[1], INT32_MIN);
    onnxq_tensor_clear(&y);
    /* axis out of range */
    struct onnxq_tensor ax5 = i64_scalar1(5);
    const struct onnxq_tensor *in3[2] = {&x, &ax5};
    ck_assert_int_eq(ot_run_op("CumSum", 14, NULL, 2, in3, 1, &y, ot_pool1), ONNXQ_E_SHAPE);
    onnxq_tensor_clear(&ax5);
    onnxq_tensor_clear(&ax0);
    onnxq_tensor_clear(&xi);
    onnxq_tensor_clear(&ax);
    onnxq_tensor_clear(&x);
}
END_TEST

/* ---------------------------------------------------- scatter / gather */

START_TEST(scatter_gather_cases)
{
    struct onnxq_tensor data = ot_f32(2, (int64_t[]){2, 3}, (float[]){1, 2, 3, 4, 5, 6});
    struct onnxq_tensor idx = ot_i64(2, (int64_t[]){2, 2}, (int64_t[]){2, 2, 0, -3});
    struct onnxq_tensor upd = ot_f32(2, (int64_t[]){2, 2}, (float[]){10, 20, 30, 40}), y;
    const struct onnxq_tensor *in[3] = {&data, &idx, &upd};
    const char *reds[] = {"none", "add", "mul", "max", "min"};
    /* axis 1: row 0 gets 10 and 20 at column 2; row 1 gets 30 and 40 at column 0 */
    float want[5][6] = {{1, 2, 20, 40, 5, 6}, {1, 2, 33, 74, 5, 6}, {1, 2, 600, 4800, 5, 6},
                        {1, 2, 20, 40, 5, 6}, {1, 2, 3, 4, 5, 6}};
    for (int r = 0; r < 5; r++) {
        struct ot_attrs at = {0};
        ot_int(&at, "axis", 1);
        ot_str(&at, "reduction", reds[r]);
        ck_assert_msg(ot_run_op("ScatterElements", 18, &at, 3, in, 1, &y, ot_pool1) == ONNXQ_OK, "%s: %s", reds[r],
                      ot_last_msg());
        ot_expect_f32(reds[r], &y, 6, want[r], 0, 0);
        onnxq_tensor_clear(&y);
    }
    /* max/min are not valid before opset 18 */
    struct ot_attrs amax = {0};
    ot_str(&amax, "reduction", "max");
    ck_assert_int_eq(ot_run_op("ScatterElements", 16, &amax, 3, in, 1, &y, ot_pool1), ONNXQ_E_INVALID_MODEL);
    /* out-of-range index fails */
    ((int64_t *)idx.data)[1] = 3;
    struct ot_attrs a1 = {0};
    ot_int(&a1, "axis", 1);
    ck_assert_int_eq(ot_run_op("ScatterElements", 13, &a1, 3, in, 1, &y, ot_pool1), ONNXQ_E_SHAPE);
    ck_assert_int_eq(ot_run_op("Scatter", 9, &a1, 3, in, 1, &y, ot_pool1), ONNXQ_E_SHAPE);
    onnxq_tensor_clear(&idx);
    onnxq_tensor_clear(&upd);

    /* ScatterND: rows of data by index, with mul */
    struct onnxq_tensor ind = ot_i64(2, (int64_t[]){2, 1}, (int64_t[]){1, -1});
    struct onnxq_tensor u2 = ot_f32(2, (int64_t[]){2, 3}, (float[]){2, 2, 2, 3, 3, 3});
    const struct onnxq_tensor *in2[3] = {&data, &ind, &u2};
    struct ot_attrs am = {0};
    ot_str(&am, "reduction", "mul");
    ck_assert_int_eq(ot_run_op("ScatterND", 16, &am, 3, in2, 1, &y, ot_pool1), ONNXQ_OK);
    ot_expect_f32("ScatterND mul", &y, 6, (float[]){1, 2, 3, 24, 30, 36}, 0, 0);
    onnxq_tensor_clear(&y);
    /* wrong updates shape */
    struct onnxq_tensor u3 = ot_f32(2, (int64_t[]){2, 2}, (float[]){1, 1, 1, 1});
    in2[2] = &u3;
    ck_assert_int_eq(ot_run_op("ScatterND", 16, NULL, 3, in2, 1, &y, ot_pool1), ONNXQ_E_SHAPE);
    onnxq_tensor_clear(&u3);
    onnxq_tensor_clear(&u2);

    /* GatherND batch_dims 1: per batch row, pick element */
    struct onnxq_tensor gi = ot_i64(2, (int64_t[]){2, 1}, (int64_t[]){2, -3});
    const struct onnxq_tensor *in3[2] = {&data, &gi};
    struct ot_attrs ab = {0};
    ot_int(&ab, "batch_dims", 1);
    ck_assert_int_eq(ot_run_op("GatherND", 12, &ab, 2, in3, 1, &y, ot_pool1), ONNXQ_OK);
    ot_expect_f32("GatherND batch_dims", &y, 2, (float[]){3, 4}, 0, 0);
    onnxq_tensor_clear(&y);
    /* without batch_dims: rows 2 and -3 of a 2-row tensor -> out of range */
    ck_assert_int_eq(ot_run_op("GatherND", 11, NULL, 2, in3, 1, &y, ot_pool1), ONNXQ_E_SHAPE);
    onnxq_tensor_clear(&gi);
    onnxq_tensor_clear(&ind);
    onnxq_tensor_clear(&data);
}
END_TEST

/* ----------------------------------------------- OneHot, small movers */

START_TEST(onehot_and_movers)
{
    struct onnxq_tensor ind = ot_i64(1, (int64_t[]){3}, (int64_t[]){0, -1, 5});
    struct onnxq_tensor depth = i64_scalar1(3);
    struct onnxq_tensor vals = ot_f32(1, (int64_t[]){2}, (float[]){-1, 7}), y;
    const struct onnxq_tensor *in[3] = {&ind, &depth, &vals};
    /* opset 11: -1 is the last class; opset 9: out of range */
    ck_assert_int_eq(ot_run_op("OneHot", 11, NULL, 3, in, 1, &y, ot_pool1), ONNXQ_OK);
    ot_expect_f32("OneHot-11", &y, 9, (float[]){7, -1, -1, -1, -1, 7, -1, -1, -1}, 0, 0);
    onnxq_tensor_clear(&y);
    ck_assert_int_eq(ot_run_op("OneHot", 9, NULL, 3, in, 1, &y, ot_pool1), ONNXQ_OK);
    ot_expect_f32("OneHot-9", &y, 9, (float[]){7, -1, -1, -1, -1, -1, -1, -1, -1}, 0, 0);
    onnxq_tensor_clear(&y);
    struct ot_attrs a0 = {0};
    ot_int(&a0, "axis", 0);
    ck_assert_int_eq(ot_run_op("OneHot", 11, &a0, 3, in, 1, &y, ot_pool1), ONNXQ_OK);
    ot_expect_f32("OneHot axis 0", &y, 9, (float[]){7, -1, -1, -1, -1, -1, -1, 7, -1}, 0, 0);
    onnxq_tensor_clear(&y);
    onnxq_tensor_clear(&ind);
    onnxq_tensor_clear(&depth);
    onnxq_tensor_clear(&vals);

    /* Compress with a condition longer than the axis but false beyond it */
    struct onnxq_tensor x = ot_f32(2, (int64_t[]){2, 2}, (float[]){1, 2, 3, 4});
    struct onnxq_tensor c = ot_tensor(ONNXQ_DT_BOOL, 1, (int64_t[]){3}, NULL);
    ((uint8_t *)c.data)[1] = 1;
    const struct onnxq_tensor *ic[2] = {&x, &c};
    struct ot_attrs ax1 = {0};
    ot_int(&ax1, "axis", 1);
    ck_assert_int_eq(ot_run_op("Compress", 11, &ax1, 2, ic, 1, &y, ot_pool1), ONNXQ_OK);
    ot_expect_f32("Compress", &y, 2, (float[]){2, 4}, 0, 0);
    onnxq_tensor_clear(&y);
    ((uint8_t *)c.data)[2] = 1;
    ck_assert_int_eq(ot_run_op("Compress", 11, &ax1, 2, ic, 1, &y, ot_pool1), ONNXQ_E_SHAPE);
    onnxq_tensor_clear(&c);

    /* ReverseSequence: a length beyond the time axis fails */
    struct onnxq_tensor lens = ot_i64(1, (int64_t[]){2}, (int64_t[]){2, 3});
    const struct onnxq_tensor *ir[2] = {&x, &lens};
    ck_assert_int_eq(ot_run_op("ReverseSequence", 10, NULL, 2, ir, 1, &y, ot_pool1), ONNXQ_E_SHAPE);
    ((int64_t *)lens.data)[1] = 1;
    /* time axis 0, batch axis 1: column 0 reversed over 2 steps, column 1 kept */
    ck_assert_int_eq(ot_run_op("ReverseSequence", 10, NULL, 2, ir, 1, &y, ot_pool1), ONNXQ_OK);
    ot_expect_f32("ReverseSequence", &y, 4, (float[]){3, 2, 1, 4}, 0, 0);
    onnxq_tensor_clear(&y);
    onnxq_tensor_clear(&lens);

    /* EyeLike with k = -1, int32 -> double */
    struct ot_attrs ae = {0};
    ot_int(&ae, "k", -1);
    ot_int(&ae, "dtype", ONNXQ_DT_DOUBLE);
    const struct onnxq_tensor *ie[1] = {&x};
    ck_assert_int_eq(ot_run_op("EyeLike", 9, &ae, 1, ie, 1, &y, ot_pool1), ONNXQ_OK);
    ck_assert_int_eq(y.dtype, ONNXQ_DT_DOUBLE);
    ck_assert(((double *)y.data)[2] == 1 && ((double *)y.data)[0] == 0 && ((double *)y.data)[3] == 0);
    onnxq_tensor_clear(&y);

    /* MaxUnpool: an index outside the unpooled plane fails */
    struct onnxq_tensor px = ot_f32(4, (int64_t[]){1, 1, 1, 1}, (float[]){9});
    struct onnxq_tensor pi = ot_i64(4, (int64_t[]){1, 1, 1, 1}, (int64_t[]){4});
    struct ot_attrs ak = {0};
    ot_ints(&ak, "kernel_shape", 2, (int64_t[]){2, 2});
    const struct onnxq_tensor *iu[2] = {&px, &pi};
    ck_assert_int_eq(ot_run_op("MaxUnpool", 11, &ak, 2, iu, 1, &y, ot_pool1), ONNXQ_E_SHAPE);
    ((int64_t *)pi.data)[0] = 3;
    ck_assert_int_eq(ot_run_op("MaxUnpool", 11, &ak, 2, iu, 1, &y, ot_pool1), ONNXQ_OK);
    ot_expect_f32("MaxUnpool", &y, 4, (float[]){0, 0, 0, 9}, 0, 0);
    onnxq_tensor_clear(&y);
    onnxq_tensor_clear(&px);
    onnxq_tensor_clear(&pi);
    onnxq_tensor_clear(&x);
}
END_TEST

/* --------------------------------------------------------------- losses */

START_TEST(loss_cases)
{
    /* [N=2, C=3]: log-probabilities as input to NLL */
    float lp[6] = {-0.5f, -1.0f, -2.0f, -3.0f, -0.25f, -1.5f};
    struct onnxq_tensor x = ot_f32(2, (int64_t[]){2, 3}, lp);
    struct onnxq_tensor t = ot_i64(1, (int64_t[]){2}, (int64_t[]){2, 0});
    struct onnxq_tensor w = ot_f32(1, (int64_t[]){3}, (float[]){1, 2, 4}), y[2];
    const struct onnxq_tensor *in[3] = {&x, &t, &w};
    ck_assert_int_eq(ot_run_op("NegativeLogLikelihoodLoss", 13, NULL, 3, in, 1, y, ot_pool1), ONNXQ_OK);
    /* mean: (2*4 + 3*1) / (4 + 1) */
    ot_expect_f32("nll mean", &y[0], 1, (float[]){11.0f / 5.0f}, 1e-6, 0);
    onnxq_tensor_clear(&y[0]);
    struct ot_attrs ai = {0};
    ot_int(&ai, "ignore_index", 0);
    ot_str(&ai, "reduction", "none");
    ck_assert_int_eq(ot_run_op("NegativeLogLikelihoodLoss", 13, &ai, 3, in, 1, y, ot_pool1), ONNXQ_OK);
    ot_expect_f32("nll none ii", &y[0], 2, (float[]){8, 0}, 1e-6, 0);
    onnxq_tensor_clear(&y[0]);
    /* a target outside the classes (not ignored) fails */
    ((int64_t *)t.data)[1] = 3;
    ck_assert_int_eq(ot_run_op("NegativeLogLikelihoodLoss", 13, NULL, 3, in, 1, y, ot_pool1), ONNXQ_E_SHAPE);
    ((int64_t *)t.data)[1] = 0;
    /* SoftmaxCrossEntropyLoss, sum, with log_prob output */
    struct ot_attrs as = {0};
    ot_str(&as, "reduction", "sum");
    in[2] = NULL;
    ck_assert_int_eq(ot_run_op("SoftmaxCrossEntropyLoss", 13, &as, 3, in, 2, y, ot_pool1), ONNXQ_OK);
    double want = 0;
    float lpw[6];
    for (int n = 0; n < 2; n++) {
        double se = 0;
        for (int c = 0; c < 3; c++)
            se += exp(lp[n * 3 + c]);
        for (int c = 0; c < 3; c++)
            lpw[n * 3 + c] = (float)(lp[n * 3 + c] - log(se));
    }
    want = -(double)lpw[2] - (double)lpw[3];
    ot_expect_f32("sce sum", &y[0], 1, (float[]){(float)want}, 1e-5, 0);
    ot_expect_f32("sce log_prob", &y[1], 6, lpw, 1e-6, 0);
    onnxq_tensor_clear(&y[0]);
    onnxq_tensor_clear(&y[1]);
    /* bad reduction */
    struct ot_attrs ab = {0};
    ot_str(&ab, "reduction", "avg");
    ck_assert_int_eq(ot_run_op("SoftmaxCrossEntropyLoss", 13, &ab, 2, in, 1, y, ot_pool1), ONNXQ_E_INVALID_MODEL);
    onnxq_tensor_clear(&x);
    onnxq_tensor_clear(&t);
    onnxq_tensor_clear(&w);
}
END_TEST

static Suite *misc_suite(void)
{
    Suite *s = suite_create("misc");
    TCase *tc = tcase_create("misc");
    tcase_add_checked_fixture(tc, ot_setup_pools, ot_teardown_pools);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, topk_vs_naive);
    tcase_add_test(tc, topk_semantics);
    tcase_add_test(tc, einsum_fast_vs_ref);
    tcase_add_test(tc, einsum_semantics);
    tcase_add_test(tc, unique_cases);
    tcase_add_test(tc, nms_cases);
    tcase_add_test(tc, cumsum_cases);
    tcase_add_test(tc, scatter_gather_cases);
    tcase_add_test(tc, onehot_and_movers);
    tcase_add_test(tc, loss_cases);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(misc_suite());
}
