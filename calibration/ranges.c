#include "calibration/ranges.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

const char *const onnxq_qtype_names[ONNXQ_QTYPE_COUNT] = {
    [ONNXQ_QTYPE_UINT8] = "uint8",
    [ONNXQ_QTYPE_INT8] = "int8",
};

void onnxq_range_params_init(struct onnxq_range_params *p)
{
    p->percentile = ONNXQ_PERCENTILE_DEFAULT;
}

/* ------------------------------------------------------------- helpers */

/* Number of representable steps across the range: int8 symmetric uses
 * -127..127 (the step is T/127), uint8 uses 0..255. */
static double qsteps(enum onnxq_qtype qt)
{
    return qt == ONNXQ_QTYPE_INT8 ? 127.0 : 255.0;
}

/* |x| histogram: F[k] counts values with |x| in bin k of width w. */
static double *fold(const struct onnxq_hist *h)
{
    int64_t B = h->bins;
    double *f = malloc((size_t)B * sizeof(double));
    if (!f)
        return NULL;
    for (int64_t k = 0; k < B; k++)
        f[k] = (double)h->counts[B + k] + (double)h->counts[B - 1 - k];
    return f;
}

static double *signed_counts(const struct onnxq_hist *h)
{
    size_t n = 2 * (size_t)h->bins;
    double *f = malloc(n * sizeof(double));
    if (!f)
        return NULL;
    for (size_t i = 0; i < n; i++)
        f[i] = (double)h->counts[i];
    return f;
}

double onnxq_hist_quantile(const struct onnxq_hist *h, double q, bool fold_abs)
{
    int64_t B = h->bins, n = fold_abs ? B : 2 * B;
    double w = onnxq_hist_width(h);
    double total = (double)h->count;
    if (total <= 0)
        return 0;
    double target = q * total, cum = 0;
    double amax = fmax(fabs(h->min), fabs(h->max));
    for (int64_t i = 0; i < n; i++) {
        double c = fold_abs ? (double)h->counts[B + i] + (double)h->counts[B - 1 - i] : (double)h->counts[i];
        if (c > 0 && cum + c >= target) {
            double lo_edge = fold_abs ? (double)i * w : onnxq_hist_edge(h, i);
            double v = lo_edge + w * (target - cum) / c;
            if (fold_abs)
                return fmin(v, amax);
            return fmin(fmax(v, h->min), h->max);
        }
        cum += c;
    }
    return fold_abs ? amax : h->max;
}

/* Prefix sums over a count array: C = counts, L = c*log(c), Z = non-empty. */
struct prefix {
    double *C, *L, *Z;
    const double *H;
    int64_t n;
};

static bool prefix_init(struct prefix *p, const double *H, int64_t n)
{
    p->C = malloc((size_t)(n + 1) * sizeof(double));
    p->L = malloc((size_t)(n + 1) * sizeof(double));
    p->Z = malloc((size_t)(n + 1) * sizeof(double));
    p->H = H;
    p->n = n;
    if (!p->C || !p->L || !p->Z)
        return false;
    p->C[0] = p->L[0] = p->Z[0] = 0;
    for (int64_t i = 0; i < n; i++) {
        double c = H[i];
        p->C[i + 1] = p->C[i] + c;
        p->L[i + 1] = p->L[i] + (c > 0 ? c * log(c) : 0);
        p->Z[i + 1] = p->Z[i] + (c > 0);
    }
    return true;
}

static void prefix_free(struct prefix *p)
{
    free(p->C);
    free(p->L);
    free(p->Z);
}

static double xlogx(double c)
{
    return c > 0 ? c * log(c) : 0;
}

/* KL(P||Q) for keeping bins [lo, hi) of H, with `below` and `above` clipped
 * counts added to the first and last kept bin of P, and Q = the kept bins
 * merged into `levels` levels and spread over each level's non-empty bins
 * (edge bins that P fills with clipped mass count as non-empty). O(levels). */
static double kl_candidate(const struct prefix *p, int64_t lo, int64_t hi, int levels, double below, double above)
{
    const double *H = p->H;
    int64_t n = hi - lo;
    double ZQ = p->C[hi] - p->C[lo];
    double N = ZQ + below + above;
    if (n <= 0 || ZQ <= 0 || N <= 0)
        return INFINITY;
    double logN = log(N);
    double kl = 0;
    for (int s = 0; s < levels; s++) {
        int64_t a = lo + (int64_t)((double)s * (double)n / levels);
        int64_t b = lo + (int64_t)((double)(s + 1) * (double)n / levels);
        if (s == levels - 1)
            b = hi;
        if (b <= a)
            continue;
        bool first = a == lo, last = b == hi;
        double T = p->C[b] - p->C[a];
        double nz = p->Z[b] - p->Z[a];
        double Ls = p->L[b] - p->L[a], Ss = T;
        double pf = 0, pl = 0;
        if (first) {
            Ls -= xlogx(H[lo]);
            Ss -= H[lo];
            pf = H[lo] + below;
            if (H[lo] == 0 && below > 0)
                nz += 1;
        }
        if (last && !(first && hi - 1 == lo)) {
            Ls -= xlogx(H[hi - 1]);
            Ss -= H[hi - 1];
            pl = H[hi - 1] + above;
            if (H[hi - 1] == 0 && above > 0)
                nz += 1;
        } else if (last) {
            pf += above;
        }
        if (T <= 0) {
            if (pf > 0 || pl > 0)
                return INFINITY;  /* P has mass where Q has none */
            continue;
        }
        double logq = log(T / nz / ZQ);
        /* sum over interior non-empty bins of p log(p/q), p = c/N */
        kl += (Ls - Ss * logN) / N - (Ss / N) * logq;
        if (pf > 0)
            kl += (pf / N) * (log(pf / N) - logq);
        if (pl > 0)
            kl += (pl / N) * (log(pl / N) - logq);
    }
    return kl;
}

/* Squared-error sums of clipping: for bins with centres c and counts H,
 * S0 = sum H, S1 = sum H c, S2 = sum H c^2 as prefix arrays. */
struct moments {
    double *S0, *S1, *S2;
};

static bool moments_init(struct moments *m, const double *H, int64_t n, double c0, double w)
{
    m->S0 = malloc((size_t)(n + 1) * sizeof(double));
    m->S1 = malloc((size_t)(n + 1) * sizeof(double));
    m->S2 = malloc((size_t)(n + 1) * sizeof(double));
    if (!m->S0 || !m->S1 || !m->S2)
        return false;
    m->S0[0] = m->S1[0] = m->S2[0] = 0;
    for (int64_t i = 0; i < n; i++) {
        double c = c0 + ((double)i + 0.5) * w;
        m->S0[i + 1] = m->S0[i] + H[i];
        m->S1[i + 1] = m->S1[i] + H[i] * c;
        m->S2[i + 1] = m->S2[i] + H[i] * c * c;
    }
    return true;
}

static void moments_free(struct moments *m)
{
    free(m->S0);
    free(m->S1);
    free(m->S2);
}

/* sum over bins [i, j) of H (c - t)^2 */
static double sq_dev(const struct moments *m, int64_t i, int64_t j, double t)
{
    double s0 = m->S0[j] - m->S0[i], s1 = m->S1[j] - m->S1[i], s2 = m->S2[j] - m->S2[i];
    double v = s2 - 2 * t * s1 + t * t * s0;
    return v > 0 ? v : 0;
}

/* The entropy search's clipping guard: the mse objective of keeping bins
 * [lo, hi) of H (moments over all of H, bin `zero` starting at 0, values
 * in [bot, top)), and the bound a candidate must not exceed: the objective
 * of the unclipped range. */
struct clip_guard {
    const struct moments *m;
    int64_t zero, bot, top;
    double w, steps, bound;
};

static double guard_err(const struct clip_guard *g, int64_t lo, int64_t hi)
{
    double L = (double)(lo - g->zero) * g->w, U = (double)(hi - g->zero) * g->w;
    double step = (U - L) / g->steps;
    int64_t a = lo > g->bot ? lo : g->bot, b = hi < g->top ? hi : g->top;
    double e = a < b ? (g->m->S0[b] - g->m->S0[a]) * step * step / 12.0 : 0;
    if (lo > g->bot)
        e += sq_dev(g->m, g->bot, lo < g->top ? lo : g->top, L);
    if (hi < g->top)
        e += sq_dev(g->m, hi > g->bot ? hi : g->bot, g->top, U);
    return e;
}

static void guard_init(struct clip_guard *g, const struct moments *m, int64_t zero, int64_t bot, int64_t top,
                       double w, enum onnxq_qtype qt)
{
    *g = (struct clip_guard){m, zero, bot, top, w, qsteps(qt), 0};
    int64_t lo = bot < zero ? bot : zero, hi = top > zero ? top : zero;
    /* relative slack: equal-error candidates differ only by rounding */
    g->bound = guard_err(g, lo, hi) * (1 + 1e-9);
}

static bool guard_ok(const struct clip_guard *g, int64_t lo, int64_t hi)
{
    return guard_err(g, lo, hi) <= g->bound;
}

/* Best number of kept bins i in [start, n_eff] for a one-sided search over
 * H[base .. base+i) (growing away from base), everything beyond clipped. */
static int64_t kl_search_up(const struct prefix *p, int64_t base, int64_t n_eff, int levels, int64_t start,
                            double below, const struct clip_guard *g)
{
    double total = p->C[base + n_eff] - p->C[base];
    int64_t best_i = n_eff;
    double best = INFINITY;
    if (start > n_eff)
        start = n_eff;
    if (start < 1)
        start = 1;
    for (int64_t i = start; i <= n_eff; i++) {
        if (!guard_ok(g, base, base + i))
            continue;
        double above = total - (p->C[base + i] - p->C[base]);
        double kl = kl_candidate(p, base, base + i, levels, below, above);
        if (kl < best) {
            best = kl;
            best_i = i;
        }
    }
    return best_i;
}

/* --------------------------------------------------------------- methods */

static enum onnxq_status m_minmax(const struct onnxq_hist *h, enum onnxq_qtype qt, const struct onnxq_range_params *p,
                                  struct onnxq_range_result *out, struct onnxq_error *err)
{
    (void)qt, (void)p, (void)err;
    out->lo = h->min;
    out->hi = h->max;
    return ONNXQ_OK;
}

static enum onnxq_status m_avg(const struct onnxq_hist *h, enum onnxq_qtype qt, const struct onnxq_range_params *p,
                               struct onnxq_range_result *out, struct onnxq_error *err)
{
    (void)qt, (void)p, (void)err;
    out->lo = h->avg_min;
    out->hi = h->avg_max;
    return ONNXQ_OK;
}

static enum onnxq_status m_ema(const struct onnxq_hist *h, enum onnxq_qtype qt, const struct onnxq_range_params *p,
                               struct onnxq_range_result *out, struct onnxq_error *err)
{
    (void)qt, (void)p, (void)err;
    out->lo = h->ema_min;
    out->hi = h->ema_max;
    return ONNXQ_OK;
}

static enum onnxq_status m_percentile(const struct onnxq_hist *h, enum onnxq_qtype qt,
                                      const struct onnxq_range_params *p, struct onnxq_range_result *out,
                                      struct onnxq_error *err)
{
    double q = p->percentile / 100.0;
    if (!(q > 0.5 && q <= 1.0))
        return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "percentile must be in (50, 100], got %g", p->percentile);
    if (qt == ONNXQ_QTYPE_INT8) {
        double t = onnxq_hist_quantile(h, q, true);
        out->lo = -t;
        out->hi = t;
    } else {
        out->lo = onnxq_hist_quantile(h, 1.0 - q, false);
        out->hi = onnxq_hist_quantile(h, q, false);
    }
    return ONNXQ_OK;
}

static int64_t last_nonzero(const double *H, int64_t from, int64_t to)
{
    for (int64_t i = to - 1; i >= from; i--)
        if (H[i] > 0)
            return i;
    return from - 1;
}

static enum onnxq_status m_entropy(const struct onnxq_hist *h, enum onnxq_qtype qt, const struct onnxq_range_params *pp,
                                   struct onnxq_range_result *out, struct onnxq_error *err)
{
    (void)pp;
    enum onnxq_status st = ONNXQ_OK;
    int64_t B = h->bins;
    double w = onnxq_hist_width(h);
    struct prefix p = {0};
    struct moments m = {0};
    struct clip_guard g;
    bool folded = qt == ONNXQ_QTYPE_INT8;
    int64_t n = folded ? B : 2 * B;
    double *H = folded ? fold(h) : signed_counts(h);
    if (!H || !prefix_init(&p, H, n) || !moments_init(&m, H, n, folded ? 0 : -(double)B * w, w)) {
        st = onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory in the entropy search");
        goto out;
    }
    if (folded) {
        double amax = fmax(fabs(h->min), fabs(h->max));
        int64_t n_eff = last_nonzero(H, 0, B) + 1;
        guard_init(&g, &m, 0, 0, n_eff, w, qt);
        int64_t i = n_eff <= ONNXQ_ENTROPY_START_BINS
                        ? n_eff
                        : kl_search_up(&p, 0, n_eff, 128, ONNXQ_ENTROPY_START_BINS, 0, &g);
        double t = fmin((double)i * w, amax);
        out->lo = -t;
        out->hi = t;
    } else {
        /* signed: bins [B - a, B + b) */
        int64_t pos = last_nonzero(H, B, 2 * B) + 1 - B;  /* positive extent in bins */
        int64_t first = 0;
        while (first < B && H[first] == 0)
            first++;
        int64_t neg = B - first;                           /* negative extent in bins */
        if (pos < 0)
            pos = 0;
        int64_t a = neg, b = pos;
        guard_init(&g, &m, B, first, B + pos, w, qt);
        if (neg == 0) {
            if (pos > ONNXQ_ENTROPY_START_BINS)
                b = kl_search_up(&p, B, pos, 256, ONNXQ_ENTROPY_START_BINS, 0, &g);
        } else if (neg + pos > ONNXQ_ENTROPY_START_BINS) {
            /* alternate: best upper cut for the current lower cut, then the
             * reverse; two rounds settle in practice. The unclipped range
             * always passes the guard, so each search keeps a candidate. */
            double total = p.C[2 * B];
            for (int round = 0; round < 2; round++) {
                double best = INFINITY;
                int64_t best_b = b;
                for (int64_t nb = 0; nb <= pos; nb++) {
                    if (a + nb < ONNXQ_ENTROPY_START_BINS || !guard_ok(&g, B - a, B + nb))
                        continue;
                    double below = p.C[B - a];
                    double above = total - p.C[B + nb];
                    double kl = kl_candidate(&p, B - a, B + nb, 256, below, above);
                    if (kl < best) {
                        best = kl;
                        best_b = nb;
                    }
                }
                b = best_b;
                best = INFINITY;
                int64_t best_a = a;
                for (int64_t na = 0; na <= neg; na++) {
                    if (na + b < ONNXQ_ENTROPY_START_BINS || !guard_ok(&g, B - na, B + b))
                        continue;
                    double below = p.C[B - na];
                    double above = total - p.C[B + b];
                    double kl = kl_candidate(&p, B - na, B + b, 256, below, above);
                    if (kl < best) {
                        best = kl;
                        best_a = na;
                    }
                }
                a = best_a;
            }
        }
        out->lo = fmax(-(double)a * w, h->min);
        out->hi = fmin((double)b * w, h->max);
    }
out:
    moments_free(&m);
    prefix_free(&p);
    free(H);
    return st;
}

static enum onnxq_status m_mse(const struct onnxq_hist *h, enum onnxq_qtype qt, const struct onnxq_range_params *pp,
                               struct onnxq_range_result *out, struct onnxq_error *err)
{
    (void)pp;
    enum onnxq_status st = ONNXQ_OK;
    int64_t B = h->bins;
    double w = onnxq_hist_width(h);
    struct moments m = {0};
    double *H = qt == ONNXQ_QTYPE_INT8 ? fold(h) : signed_counts(h);
    if (!H || !moments_init(&m, H, qt == ONNXQ_QTYPE_INT8 ? B : 2 * B, qt == ONNXQ_QTYPE_INT8 ? 0 : -(double)B * w, w)) {
        st = onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory in the MSE search");
        goto out;
    }
    if (qt == ONNXQ_QTYPE_INT8) {
        int64_t n = last_nonzero(H, 0, B) + 1;
        double best = INFINITY, best_t = (double)n * w;
        for (int64_t i = 1; i <= n; i++) {
            double t = (double)i * w, step = t / qsteps(qt);
            double e = m.S0[i] * step * step / 12.0 + sq_dev(&m, i, n, t);
            if (e < best) {
                best = e;
                best_t = t;
            }
        }
        double amax = fmax(fabs(h->min), fabs(h->max));
        out->lo = -fmin(best_t, amax);
        out->hi = fmin(best_t, amax);
    } else {
        int64_t top = last_nonzero(H, B, 2 * B) + 1;
        int64_t bot = 0;
        while (bot < B && H[bot] == 0)
            bot++;
        if (top < B)
            top = B;
        double best = INFINITY;
        int64_t best_lo = bot, best_hi = top;
        /* keep bins [lo, hi) with lo <= B <= hi: range [edge(lo), edge(hi)] */
        for (int64_t lo = bot; lo <= B; lo++) {
            double L = (double)(lo - B) * w;
            double clip_lo = sq_dev(&m, bot, lo, L);
            for (int64_t hi = B; hi <= top; hi++) {
                if (hi == lo)
                    continue;
                double U = (double)(hi - B) * w, step = (U - L) / qsteps(qt);
                double e = (m.S0[hi] - m.S0[lo]) * step * step / 12.0 + clip_lo + sq_dev(&m, hi, top, U);
                if (e < best) {
                    best = e;
                    best_lo = lo;
                    best_hi = hi;
                }
            }
        }
        out->lo = fmax((double)(best_lo - B) * w, h->min);
        out->hi = fmin((double)(best_hi - B) * w, h->max);
    }
out:
    moments_free(&m);
    free(H);
    return st;
}

const enum onnxq_calib_method onnxq_auto_candidates[ONNXQ_AUTO_CANDIDATES] = {
    ONNXQ_CALIB_MINMAX, ONNXQ_CALIB_PERCENTILE, ONNXQ_CALIB_ENTROPY, ONNXQ_CALIB_MSE,
};

int onnxq_range_auto_pick(const struct onnxq_hist *h, enum onnxq_qtype qt, const bool *have, const double *lo,
                          const double *hi)
{
    int best = -1;
    double best_e = INFINITY;
    for (int k = 0; k < ONNXQ_AUTO_CANDIDATES; k++) {
        if (!have[k])
            continue;
        double e = onnxq_range_exact_mse(h, lo[k], hi[k], qt);
        /* strict: an equal error keeps the earlier (wider-ranged) method */
        if (best < 0 || e < best_e) {
            best = k;
            best_e = e;
        }
    }
    return best;
}

static enum onnxq_status m_auto(const struct onnxq_hist *h, enum onnxq_qtype qt, const struct onnxq_range_params *p,
                                struct onnxq_range_result *out, struct onnxq_error *err);

const struct onnxq_calib_method_def onnxq_calib_methods[ONNXQ_CALIB_METHOD_COUNT] = {
    [ONNXQ_CALIB_MINMAX] = {"minmax", "min and max over all samples", false, m_minmax},
    [ONNXQ_CALIB_AVG_MINMAX] = {"avg_minmax", "mean of per-batch min and max", false, m_avg},
    [ONNXQ_CALIB_EMA] = {"ema", "exponential moving average of per-batch min and max", false, m_ema},
    [ONNXQ_CALIB_PERCENTILE] = {"percentile", "percentile of the value distribution", true, m_percentile},
    [ONNXQ_CALIB_ENTROPY] = {"entropy", "TensorRT-style KL-divergence search", true, m_entropy},
    [ONNXQ_CALIB_MSE] = {"mse", "minimum expected quantization error", true, m_mse},
    [ONNXQ_CALIB_AUTO] = {"auto", "per tensor, the candidate method with the lowest exact error", true, m_auto},
};
static_assert(sizeof(onnxq_calib_methods) / sizeof(onnxq_calib_methods[0]) == ONNXQ_CALIB_METHOD_COUNT,
              "one row per calibration method");

static enum onnxq_status m_auto(const struct onnxq_hist *h, enum onnxq_qtype qt, const struct onnxq_range_params *p,
                                struct onnxq_range_result *out, struct onnxq_error *err)
{
    bool have[ONNXQ_AUTO_CANDIDATES];
    double lo[ONNXQ_AUTO_CANDIDATES], hi[ONNXQ_AUTO_CANDIDATES];
    for (int k = 0; k < ONNXQ_AUTO_CANDIDATES; k++) {
        struct onnxq_range_result r = {0, 0, onnxq_auto_candidates[k]};
        enum onnxq_status st = onnxq_calib_methods[onnxq_auto_candidates[k]].compute(h, qt, p, &r, err);
        if (st)
            return st;
        have[k] = true;
        lo[k] = r.lo;
        hi[k] = r.hi;
    }
    int k = onnxq_range_auto_pick(h, qt, have, lo, hi);
    out->lo = lo[k];
    out->hi = hi[k];
    out->chosen = onnxq_auto_candidates[k];
    return ONNXQ_OK;
}

enum onnxq_status onnxq_calib_method_parse(const char *name, enum onnxq_calib_method *out, struct onnxq_error *err)
{
    for (int i = 0; i < ONNXQ_CALIB_METHOD_COUNT; i++)
        if (strcmp(onnxq_calib_methods[i].name, name) == 0) {
            *out = (enum onnxq_calib_method)i;
            return ONNXQ_OK;
        }
    return onnxq_fail(err, ONNXQ_E_INVALID_ARG,
                      "unknown calibration method '%s' (minmax, avg_minmax, ema, percentile, entropy, mse, auto)",
                      name);
}

enum onnxq_status onnxq_range_compute_choice(const struct onnxq_hist *h, const char *tensor, enum onnxq_calib_method m,
                                             enum onnxq_qtype qt, const struct onnxq_range_params *p, double *lo,
                                             double *hi, enum onnxq_calib_method *chosen, struct onnxq_error *err)
{
    if ((unsigned)m >= ONNXQ_CALIB_METHOD_COUNT || (unsigned)qt >= ONNXQ_QTYPE_COUNT)
        return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "invalid calibration method or type");
    if (h->count == 0)
        return onnxq_fail(err, ONNXQ_E_DATA,
                          "tensor '%s': no finite value was observed (%llu NaN, %llu Inf); it cannot be given a range",
                          tensor ? tensor : "", (unsigned long long)h->nan_count, (unsigned long long)h->inf_count);
    struct onnxq_range_params defaults;
    if (!p) {
        onnxq_range_params_init(&defaults);
        p = &defaults;
    }
    struct onnxq_range_result r = {0, 0, m};
    enum onnxq_status st = onnxq_calib_methods[m].compute(h, qt, p, &r, err);
    if (st) {
        onnxq_error_prefix(err, "tensor '%s': ", tensor ? tensor : "");
        return st;
    }
    *lo = r.lo;
    *hi = r.hi;
    if (chosen)
        *chosen = r.chosen;
    return ONNXQ_OK;
}

enum onnxq_status onnxq_range_compute(const struct onnxq_hist *h, const char *tensor, enum onnxq_calib_method m,
                                      enum onnxq_qtype qt, const struct onnxq_range_params *p, double *lo,
                                      double *hi, struct onnxq_error *err)
{
    return onnxq_range_compute_choice(h, tensor, m, qt, p, lo, hi, NULL, err);
}

void onnxq_qparams_from_range(double lo, double hi, enum onnxq_qtype qt, float *scale, int32_t *zero_point)
{
    lo = fmin(lo, 0.0);
    hi = fmax(hi, 0.0);
    if (qt == ONNXQ_QTYPE_INT8) {
        double t = fmax(fmax(-lo, hi), ONNXQ_RANGE_MIN_WIDTH / 2);
        *scale = (float)(t / 127.0);
        *zero_point = 0;
        return;
    }
    if (hi - lo < ONNXQ_RANGE_MIN_WIDTH)
        hi = lo + ONNXQ_RANGE_MIN_WIDTH;
    double s = (hi - lo) / 255.0;
    double zp = nearbyint(-lo / s);
    *scale = (float)s;
    *zero_point = (int32_t)(zp < 0 ? 0 : zp > 255 ? 255 : zp);
}

double onnxq_range_expected_mse(const struct onnxq_hist *h, double lo, double hi, enum onnxq_qtype qt)
{
    lo = fmin(lo, 0.0);
    hi = fmax(hi, 0.0);
    if (qt == ONNXQ_QTYPE_INT8) {
        double t = fmax(-lo, hi);
        lo = -t;
        hi = t;
    }
    double step = qt == ONNXQ_QTYPE_INT8 ? hi / qsteps(qt) : (hi - lo) / qsteps(qt);
    double w = onnxq_hist_width(h), e = 0;
    int64_t B = h->bins;
    for (int64_t i = 0; i < 2 * B; i++) {
        if (!h->counts[i])
            continue;
        double c = ((double)(i - B) + 0.5) * w;
        double d = c < lo ? c - lo : c > hi ? c - hi : 0;
        e += (double)h->counts[i] * (d != 0 ? d * d : step * step / 12.0);
    }
    return h->count ? e / (double)h->count : 0;
}

/* Antiderivative of (u - round(u))^2: n/12 per whole cell plus the part of
 * the current cell, with t = u + 1/2 = n + f, 0 <= f < 1. */
static double round_sq_antideriv(double u)
{
    double t = u + 0.5, n = floor(t), f = t - n, d = f - 0.5;
    return n / 12.0 + (d * d * d + 0.125) / 3.0;
}

double onnxq_range_exact_mse(const struct onnxq_hist *h, double lo, double hi, enum onnxq_qtype qt)
{
    if (!h->count)
        return 0;
    float sf;
    int32_t zp;
    onnxq_qparams_from_range(lo, hi, qt, &sf, &zp);
    double s = (double)sf;
    double qmin = qt == ONNXQ_QTYPE_INT8 ? -128 : 0, qmax = qt == ONNXQ_QTYPE_INT8 ? 127 : 255;
    double vmin = (qmin - zp) * s, vmax = (qmax - zp) * s;
    double w = onnxq_hist_width(h), e = 0;
    int64_t B = h->bins;
    for (int64_t i = 0; i < 2 * B; i++) {
        if (!h->counts[i])
            continue;
        /* the bin's values, uniform over its part of [min, max] */
        double a = fmax(onnxq_hist_edge(h, i), h->min), b = fmin(onnxq_hist_edge(h, i) + w, h->max);
        double c = (double)h->counts[i], sq;
        if (!(b > a)) {
            /* all at one point (a single value, or the bin holds only min/max) */
            double x = a, q = fmin(fmax(nearbyint(x / s) + zp, qmin), qmax);
            double d = (q - zp) * s - x;
            e += c * d * d;
            continue;
        }
        sq = 0;
        if (a < vmin) {  /* saturated at the bottom */
            double r = fmin(b, vmin);
            sq += (pow(r - vmin, 3) - pow(a - vmin, 3)) / 3.0;
        }
        if (b > vmax) {  /* saturated at the top */
            double l = fmax(a, vmax);
            sq += (pow(b - vmax, 3) - pow(l - vmax, 3)) / 3.0;
        }
        double l = fmax(a, vmin), r = fmin(b, vmax);
        if (r > l)  /* rounded: (Q - x)^2 = s^2 (round(u) - u)^2 with u = x/s + zp */
            sq += s * s * s * (round_sq_antideriv(r / s + zp) - round_sq_antideriv(l / s + zp));
        e += c * sq / (b - a);
    }
    return e / (double)h->count;
}
