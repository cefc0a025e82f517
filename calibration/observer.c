#include "calibration/observer.h"

#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/threadpool.h"
#include "exec/exec.h"

enum onnxq_status onnxq_observer_init(struct onnxq_observer *o, uint32_t bins, double ema, struct onnxq_error *err)
{
    memset(o, 0, sizeof(*o));
    struct onnxq_hist probe;
    enum onnxq_status st = onnxq_hist_init(&probe, bins, err); /* validates bins */
    if (st)
        return st;
    onnxq_hist_free(&probe);
    if (!(ema > 0 && ema <= 1))
        return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "EMA constant must be in (0, 1], got %g", ema);
    o->bins = bins;
    o->ema = ema;
    o->hist_sample = ONNXQ_HIST_DEFAULT_SAMPLE;
    o->run_samples = 1;
    return onnxq_hist_workspace_init(&o->ws, bins, NULL, err);
}

enum onnxq_status onnxq_observer_set_threadpool(struct onnxq_observer *o, struct onnxq_threadpool *pool,
                                               struct onnxq_error *err)
{
    struct onnxq_hist_workspace w;
    enum onnxq_status st = onnxq_hist_workspace_init(&w, o->bins, pool, err);
    if (st)
        return st;
    onnxq_hist_workspace_free(&o->ws);
    o->ws = w;
    return ONNXQ_OK;
}

void onnxq_observer_clear(struct onnxq_observer *o)
{
    if (!o)
        return;
    onnxq_observer_wait(o);
    free(o->pend);
    free(o->jobs);
    for (size_t i = 0; i < o->n_spare; i++)
        free(o->spare[i]);
    free(o->spare);
    for (size_t i = 0; i < o->n; i++) {
        free(o->t[i].name);
        onnxq_hist_free(&o->t[i].hist);
    }
    free(o->t);
    onnxq_strmap_free(&o->index);
    for (size_t i = 0; i < o->n_nonfloat; i++)
        free(o->nonfloat[i]);
    free(o->nonfloat);
    onnxq_strmap_free(&o->nonfloat_index);
    onnxq_hist_workspace_free(&o->ws);
    memset(o, 0, sizeof(*o));
}

const struct onnxq_observed *onnxq_observer_find(const struct onnxq_observer *o, const char *name)
{
    void *p = onnxq_strmap_get(&o->index, name);
    return p ? &o->t[(size_t)(uintptr_t)p - 1] : NULL;
}

static struct onnxq_observed *record(struct onnxq_observer *o, const char *name, struct onnxq_error *err)
{
    void *p = onnxq_strmap_get(&o->index, name);
    if (p)
        return &o->t[(size_t)(uintptr_t)p - 1];
    if (o->n == o->cap) {
        size_t nc = o->cap ? o->cap * 2 : 64;
        struct onnxq_observed *nt = realloc(o->t, nc * sizeof(*nt));
        if (!nt) {
            onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory observing '%s'", name);
            return NULL;
        }
        /* the map keys point at the names, which do not move */
        o->t = nt;
        o->cap = nc;
    }
    struct onnxq_observed *r = &o->t[o->n];
    memset(r, 0, sizeof(*r));
    /* counts that onnxq_observer_prepare zeroed in the background, if any */
    uint64_t *counts = o->n_spare ? o->spare[--o->n_spare] : NULL;
    if (!(r->name = onnxq_strdup(name))) {
        free(counts);
        onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory observing '%s'", name);
        return NULL;
    }
    if (onnxq_hist_init_counts(&r->hist, o->bins, counts, err) != ONNXQ_OK) { /* it owns counts */
        free(r->name);
        onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory observing '%s'", name);
        return NULL;
    }
    if (!onnxq_strmap_put(&o->index, r->name, (void *)(uintptr_t)(o->n + 1))) {
        free(r->name);
        onnxq_hist_free(&r->hist);
        onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory observing '%s'", name);
        return NULL;
    }
    o->n++;
    return r;
}

static enum onnxq_status note_nonfloat(struct onnxq_observer *o, const char *name, struct onnxq_error *err)
{
    if (onnxq_strmap_has(&o->nonfloat_index, name))
        return ONNXQ_OK;
    if (o->n_nonfloat == o->cap_nonfloat) {
        size_t nc = o->cap_nonfloat ? o->cap_nonfloat * 2 : 32;
        char **nn = realloc(o->nonfloat, nc * sizeof(*nn));
        if (!nn)
            return onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory");
        o->nonfloat = nn;
        o->cap_nonfloat = nc;
    }
    char *c = onnxq_strdup(name);
    if (!c || !onnxq_strmap_put(&o->nonfloat_index, c, (void *)1)) {
        free(c);
        return onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory");
    }
    o->nonfloat[o->n_nonfloat++] = c;
    return ONNXQ_OK;
}

static enum onnxq_status defer(struct onnxq_observer *o, const char *name, const struct onnxq_tensor *t,
                               const struct onnxq_vstats *known, const float *samp, size_t samp_m,
                               struct onnxq_error *err);

/* Values binned per tensor in this run: the per-sample cap times the batch. */
static uint64_t sample_cap(const struct onnxq_observer *o)
{
    return o->hist_sample * (o->run_samples ? o->run_samples : 1);
}

enum onnxq_status onnxq_observer_add(struct onnxq_observer *o, const char *name, const struct onnxq_tensor *t,
                                     struct onnxq_error *err)
{
    if (!t || !name || !*name)
        return ONNXQ_OK;
    if (t->dtype != ONNXQ_DT_FLOAT)
        return note_nonfloat(o, name, err);
    if (o->defer_pool) {
        /* copied out now, binned with the run's tensors */
        enum onnxq_status st = defer(o, name, t, NULL, NULL, 0, err);
        if (st != ONNXQ_E_UNSUPPORTED)
            return st;
    }
    struct onnxq_observed *r = record(o, name, err);
    if (!r)
        return ONNXQ_E_NOMEM;
    uint64_t cap = sample_cap(o);
    onnxq_hist_add_sampled(&r->hist, t->data, t->nbytes / sizeof(float), o->ema, cap, &o->ws);
    return ONNXQ_OK;
}

/* ------------------------------------------------------ deferred binning */

/* The pending buffer's first size, in floats */
#define PEND_FIRST ((size_t)1 << 20)

struct onnxq_pending {
    size_t rec;        /* index in o->t */
    const float *src;  /* subsample the kernels captured (valid until the next run), or NULL: */
    size_t off, m;     /* pend[off .. off + m) */
    struct onnxq_vstats st;
};

enum onnxq_status onnxq_observer_defer(struct onnxq_observer *o, struct onnxq_threadpool *pool, size_t budget,
                                       struct onnxq_error *err)
{
    if (!o->hist_sample)
        return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "deferred binning needs a histogram subsample");
    o->defer_pool = pool;
    o->defer_budget = budget;
    return ONNXQ_OK;
}

/* Take t's statistics (the kernel's, or a scan) and copy its subsample for
 * the workers. ONNXQ_E_UNSUPPORTED: over the budget, bin it now instead. */
static enum onnxq_status defer(struct onnxq_observer *o, const char *name, const struct onnxq_tensor *t,
                               const struct onnxq_vstats *known, const float *samp, size_t samp_m,
                               struct onnxq_error *err)
{
    size_t n = t->nbytes / sizeof(float);
    uint64_t cap = sample_cap(o);
    size_t need = onnxq_hist_sample_capacity(n, cap);
    bool captured = samp && samp_m == need;
    if (!captured && o->pend_used + need > o->defer_budget)
        return ONNXQ_E_UNSUPPORTED;
    if (!captured && o->pend_used + need > o->pend_cap) {
        size_t nc = o->pend_cap ? o->pend_cap : PEND_FIRST;
        while (nc < o->pend_used + need)
            nc *= 2;
        nc = nc < o->defer_budget ? nc : o->defer_budget;
        float *np = realloc(o->pend, nc * sizeof(float));
        if (!np)
            return onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory observing '%s'", name);
        o->pend = np;
        o->pend_cap = nc;
    }
    if (o->n_jobs == o->cap_jobs) {
        size_t nc = o->cap_jobs ? 2 * o->cap_jobs : 256;
        struct onnxq_pending *nj = realloc(o->jobs, nc * sizeof(*nj));
        if (!nj)
            return onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory observing '%s'", name);
        o->jobs = nj;
        o->cap_jobs = nc;
    }
    struct onnxq_observed *r = record(o, name, err);
    if (!r)
        return ONNXQ_E_NOMEM;
    struct onnxq_pending *j = &o->jobs[o->n_jobs];
    if (known) {
        j->st = *known;
    } else {
        onnxq_vstats_init(&j->st);
        onnxq_vstats_scan(&j->st, t->data, n);
    }
    j->rec = (size_t)(r - o->t);
    j->off = o->pend_used;
    if (captured) {
        /* the kernels copied it while the values were in cache, to memory
         * the executor keeps until its next run: binned from there */
        j->src = samp;
        j->m = need;
    } else {
        j->src = NULL;
        j->m = onnxq_hist_gather_sample(t->data, n, cap, o->pend + o->pend_used);
        o->pend_used += j->m;
    }
    o->n_jobs++;
    return ONNXQ_OK;
}

/* One worker (slot): claims pending tensors until none is left. Each
 * tensor occurs once per run, so no two workers share a histogram. */
static void bin_pending(void *arg, size_t slot, size_t end)
{
    (void)end;
    struct onnxq_observer *o = arg;
    double t0 = onnxq_now_seconds();
    for (;;) {
        size_t i = atomic_fetch_add_explicit(&o->bin_next, 1, memory_order_relaxed);
        if (i >= o->n_jobs)
            break;
        const struct onnxq_pending *j = &o->jobs[i];
        onnxq_hist_add_gathered(&o->t[j->rec].hist, j->src ? j->src : o->pend + j->off, j->m, o->ema, &j->st, &o->ws,
                                (int)slot);
    }
    if (slot < sizeof(o->slot_seconds) / sizeof(o->slot_seconds[0]))
        o->slot_seconds[slot] += onnxq_now_seconds() - t0;
}

void onnxq_observer_start(struct onnxq_observer *o)
{
    if (!o)
        return;
    /* after a run, the spare histograms left were for non-float outputs */
    while (o->n_spare)
        free(o->spare[--o->n_spare]);
    if (!o->n_jobs || o->binning)
        return;
    int workers = onnxq_threadpool_size(o->defer_pool) - 1;
    atomic_store(&o->bin_next, 0);
    o->binning = true;
    onnxq_threadpool_start(o->defer_pool, (size_t)(workers > 0 ? workers : 1), bin_pending, o);
}

static void prepare_job(void *arg, size_t i, size_t end)
{
    (void)i;
    (void)end;
    struct onnxq_observer *o = arg;
    /* Failures are harmless: the first run then allocates as it goes. The
     * bound counts every node output, float or not: capped at the deferral
     * budget, so that a graph of many small or integer tensors does not
     * reserve gigabytes (what is missing is allocated in the run). */
    size_t want = onnxq_exec_sample_bound(o->prep_exec, sample_cap(o));
    onnxq_exec_reserve_sample(o->prep_exec, want < o->defer_budget ? want : o->defer_budget, NULL);
    if (!o->pend && o->defer_budget) {
        size_t n = PEND_FIRST < o->defer_budget ? PEND_FIRST : o->defer_budget;
        float *p = malloc(n * sizeof(float));
        if (p) {
            for (size_t b = 0; b < n * sizeof(float); b += 4096)
                ((volatile char *)p)[b] = 0;
            o->pend = p;
            o->pend_cap = n;
        }
    }
    /* one histogram per node output and input at most (non-float ones
     * leave theirs unused) */
    want = onnxq_exec_n_node_outputs(o->prep_exec) + onnxq_exec_n_inputs(o->prep_exec);
    want = want > o->n ? want - o->n : 0;
    /* 64 MB of counts at most (2048 histograms of the default 2048 bins) */
    size_t most = ((size_t)64 << 20) / (2 * (size_t)o->bins * sizeof(uint64_t));
    want = want < most ? want : most;
    if (!o->spare && want && (o->spare = malloc(want * sizeof(*o->spare)))) {
        for (; o->n_spare < want; o->n_spare++) {
            uint64_t *c = malloc(2 * (size_t)o->bins * sizeof(uint64_t));
            if (!c)
                break;
            memset(c, 0, 2 * (size_t)o->bins * sizeof(uint64_t));
            o->spare[o->n_spare] = c;
        }
    }
}

void onnxq_observer_prepare(struct onnxq_observer *o, struct onnxq_exec *e)
{
    if (!o || !e || !o->defer_pool || o->binning)
        return;
    o->prep_exec = e;
    o->binning = true;
    onnxq_threadpool_start(o->defer_pool, 1, prepare_job, o);
}

void onnxq_observer_wait(struct onnxq_observer *o)
{
    if (!o)
        return;
    if (o->binning) {
        double t0 = onnxq_now_seconds();
        int workers = onnxq_threadpool_size(o->defer_pool) - 1;
        /* the caller is done with its own work (the next sample is read):
         * it claims the tensors left, in the partial histograms of the slot
         * after the workers' */
        if (!o->prep_exec && workers >= 0 && workers < o->ws.slots)
            bin_pending(o, (size_t)workers, 0);
        onnxq_threadpool_wait(o->defer_pool);
        o->wait_seconds += onnxq_now_seconds() - t0;
        o->binning = false;
        o->prep_exec = NULL;
        o->bin_seconds = 0;
        /* the workers' time: the caller's share is waiting time */
        for (size_t k = 0; k < sizeof(o->slot_seconds) / sizeof(o->slot_seconds[0]) && (int)k < workers; k++)
            o->bin_seconds += o->slot_seconds[k];
    }
    o->n_jobs = 0;
    o->pend_used = 0;
}

int onnxq_observer_hook(void *user, const struct onnxq_node *node, struct onnxq_tensor *const *outputs,
                        size_t n_outputs)
{
    struct onnxq_observer *o = user;
    for (size_t i = 0; i < n_outputs && i < node->n_outputs; i++) {
        if (!outputs[i])
            continue;
        struct onnxq_vstats st;
        bool known = o->exec && outputs[i]->dtype == ONNXQ_DT_FLOAT && node->outputs[i][0] &&
                     onnxq_exec_output_stats(o->exec, i, &st);
        const float *samp = NULL;
        size_t samp_m = 0;
        if (known && !onnxq_exec_output_sample(o->exec, i, &samp, &samp_m))
            samp = NULL;
        if (o->defer_pool && outputs[i]->dtype == ONNXQ_DT_FLOAT && node->outputs[i][0]) {
            enum onnxq_status s = defer(o, node->outputs[i], outputs[i], known ? &st : NULL, samp, samp_m, &o->error);
            if (s == ONNXQ_OK)
                continue;
            if (s != ONNXQ_E_UNSUPPORTED) {
                o->failed = true;
                return 1;
            }
            /* over budget: now */
        }
        if (known) {
            /* the kernel gathered the statistics: only the subsample is read */
            struct onnxq_observed *r = record(o, node->outputs[i], &o->error);
            if (!r) {
                o->failed = true;
                return 1;
            }
            size_t n = outputs[i]->nbytes / sizeof(float);
            uint64_t cap = sample_cap(o);
            if (samp && samp_m == onnxq_hist_sample_capacity(n, cap))
                onnxq_hist_add_gathered(&r->hist, samp, samp_m, o->ema, &st, &o->ws, 0);
            else
                onnxq_hist_add_known(&r->hist, outputs[i]->data, n, o->ema, cap, &o->ws, &st);
            continue;
        }
        if (onnxq_observer_add(o, node->outputs[i], outputs[i], &o->error) != ONNXQ_OK) {
            o->failed = true;
            return 1;
        }
    }
    return 0;
}
