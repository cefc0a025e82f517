#include "eval/metrics.h"

#include <math.h>
#include <string.h>

void onnxq_fidelity_init(struct onnxq_fidelity *f)
{
    memset(f, 0, sizeof *f);
}

void onnxq_fidelity_add(struct onnxq_fidelity *f, const float *ref, const float *test, size_t n)
{
    /* double accumulators: activations can have 10^7 values per sample */
    double r2 = 0, t2 = 0, dot = 0, e2 = 0, mx = f->max_abs;
    uint64_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        double r = ref[i], t = test[i];
        if (!isfinite(r) || !isfinite(t)) {
            bad++;
            continue;
        }
        double e = r - t;
        r2 += r * r;
        t2 += t * t;
        dot += r * t;
        e2 += e * e;
        if (fabs(e) > mx)
            mx = fabs(e);
    }
    f->sum_ref2 += r2;
    f->sum_test2 += t2;
    f->sum_dot += dot;
    f->sum_err2 += e2;
    f->max_abs = mx;
    f->count += n - bad;
    f->nonfinite += bad;
}

static size_t argmax(const float *x, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return best;
}

void onnxq_fidelity_add_top1(struct onnxq_fidelity *f, const float *ref, const float *test, size_t n,
                             size_t row_len)
{
    if (row_len < 2)
        return;
    for (size_t off = 0; off + row_len <= n; off += row_len) {
        f->rows++;
        if (argmax(ref + off, row_len) == argmax(test + off, row_len))
            f->top1_agree++;
    }
}

void onnxq_fidelity_merge(struct onnxq_fidelity *dst, const struct onnxq_fidelity *src)
{
    dst->sum_ref2 += src->sum_ref2;
    dst->sum_test2 += src->sum_test2;
    dst->sum_dot += src->sum_dot;
    dst->sum_err2 += src->sum_err2;
    if (src->max_abs > dst->max_abs)
        dst->max_abs = src->max_abs;
    dst->count += src->count;
    dst->nonfinite += src->nonfinite;
    dst->rows += src->rows;
    dst->top1_agree += src->top1_agree;
}

double onnxq_fidelity_sqnr_db(const struct onnxq_fidelity *f)
{
    if (f->sum_err2 == 0)
        return INFINITY;
    if (f->sum_ref2 == 0)
        return -INFINITY;
    return 10.0 * log10(f->sum_ref2 / f->sum_err2);
}

double onnxq_fidelity_cosine(const struct onnxq_fidelity *f)
{
    if (f->sum_ref2 == 0 && f->sum_test2 == 0)
        return 1.0;
    if (f->sum_ref2 == 0 || f->sum_test2 == 0)
        return 0.0;
    return f->sum_dot / sqrt(f->sum_ref2 * f->sum_test2);
}

double onnxq_fidelity_top1(const struct onnxq_fidelity *f)
{
    return f->rows ? (double)f->top1_agree / (double)f->rows : -1.0;
}
