/* Evaluation metrics (src/eval/metrics.c) against hand-computed values. */
#include <math.h>
#include <stdlib.h>

#include "eval/metrics.h"
#include "testutil.h"

START_TEST(sqnr_cosine_by_hand)
{
    /* ref = (3, 4), test = (3, 3): sum ref^2 = 25, err^2 = 1 -> 10 log10 25;
     * cosine = (9 + 12) / sqrt(25 * 18) */
    const float ref[] = {3, 4}, test[] = {3, 3};
    struct onnxq_fidelity f;
    onnxq_fidelity_init(&f);
    onnxq_fidelity_add(&f, ref, test, 2);
    ck_assert_double_eq_tol(onnxq_fidelity_sqnr_db(&f), 10.0 * log10(25.0), 1e-12);
    ck_assert_double_eq_tol(onnxq_fidelity_cosine(&f), 21.0 / sqrt(450.0), 1e-12);
    ck_assert_double_eq(f.max_abs, 1.0);
    ck_assert_uint_eq(f.count, 2);
}
END_TEST

START_TEST(identical_and_nonfinite)
{
    const float ref[] = {1, NAN, -2}, test[] = {1, 5, -2};
    struct onnxq_fidelity f;
    onnxq_fidelity_init(&f);
    onnxq_fidelity_add(&f, ref, test, 3);
    ck_assert(isinf(onnxq_fidelity_sqnr_db(&f)) && onnxq_fidelity_sqnr_db(&f) > 0);
    ck_assert_double_eq_tol(onnxq_fidelity_cosine(&f), 1.0, 1e-15);
    ck_assert_uint_eq(f.nonfinite, 1);
    ck_assert_uint_eq(f.count, 2);
}
END_TEST

START_TEST(merge_equals_one_pass)
{
    float ref[100], test[100];
    for (int i = 0; i < 100; i++) {
        ref[i] = sinf((float)i);
        test[i] = ref[i] + 0.01f * cosf(3.0f * (float)i);
    }
    struct onnxq_fidelity all, a, b;
    onnxq_fidelity_init(&all);
    onnxq_fidelity_init(&a);
    onnxq_fidelity_init(&b);
    onnxq_fidelity_add(&all, ref, test, 100);
    onnxq_fidelity_add(&a, ref, test, 37);
    onnxq_fidelity_add(&b, ref + 37, test + 37, 63);
    onnxq_fidelity_merge(&a, &b);
    ck_assert_double_eq_tol(onnxq_fidelity_sqnr_db(&a), onnxq_fidelity_sqnr_db(&all), 1e-9);
    ck_assert_double_eq(a.max_abs, all.max_abs);
    ck_assert_uint_eq(a.count, 100);
}
END_TEST

START_TEST(top1_rows)
{
    /* three rows of 3 scores: argmax (2,2), (0,1), (1,1) -> 2 of 3 agree */
    const float ref[] = {0, 1, 5, 9, 1, 2, 0, 3, 1};
    const float test[] = {1, 0, 4, 1, 9, 2, 0, 2, 1};
    struct onnxq_fidelity f;
    onnxq_fidelity_init(&f);
    ck_assert_double_eq(onnxq_fidelity_top1(&f), -1.0);
    onnxq_fidelity_add_top1(&f, ref, test, 9, 3);
    ck_assert_uint_eq(f.rows, 3);
    ck_assert_double_eq_tol(onnxq_fidelity_top1(&f), 2.0 / 3.0, 1e-15);
}
END_TEST

static Suite *eval_suite(void)
{
    Suite *s = suite_create("eval");
    TCase *tc = tcase_create("metrics");
    tcase_add_test(tc, sqnr_cosine_by_hand);
    tcase_add_test(tc, identical_and_nonfinite);
    tcase_add_test(tc, merge_equals_one_pass);
    tcase_add_test(tc, top1_rows);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(eval_suite());
}
