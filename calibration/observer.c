#include "calibration/observer.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

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
    if (!(r->name = onnxq_strdup(name)) || onnxq_hist_init(&r->hist, o->bins, err) != ONNXQ_OK) {
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

enum onnxq_status onnxq_observer_add(struct onnxq_observer *o, const char *name, const struct onnxq_tensor *t,
                                     struct onnxq_error *err)
{
    if (!t || !name || !*name)
        return ONNXQ_OK;
    if (t->dtype != ONNXQ_DT_FLOAT)
        return note_nonfloat(o, name, err);
    struct onnxq_observed *r = record(o, name, err);
    if (!r)
        return ONNXQ_E_NOMEM;
    uint64_t cap = o->hist_sample * (o->run_samples ? o->run_samples : 1);
    onnxq_hist_add_sampled(&r->hist, t->data, t->nbytes / sizeof(float), o->ema, cap, &o->ws);
    return ONNXQ_OK;
}

int onnxq_observer_hook(void *user, const struct onnxq_node *node, struct onnxq_tensor *const *outputs,
                        size_t n_outputs)
{
    struct onnxq_observer *o = user;
    for (size_t i = 0; i < n_outputs && i < node->n_outputs; i++) {
        if (!outputs[i])
            continue;
        if (onnxq_observer_add(o, node->outputs[i], outputs[i], &o->error) != ONNXQ_OK) {
            o->failed = true;
            return 1;
        }
    }
    return 0;
}
