#include "calibration/table.h"

#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "io/npy.h"
#include "core/clock.h"

void onnxq_calib_table_clear(struct onnxq_calib_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++) {
        free(t->e[i].name);
        onnxq_hist_free(&t->e[i].hist);
    }
    free(t->e);
    free(t->model);
    for (size_t i = 0; i < t->n_nonfloat; i++)
        free(t->nonfloat[i]);
    free(t->nonfloat);
    memset(t, 0, sizeof(*t));
}

bool onnxq_calib_table_is_nonfloat(const struct onnxq_calib_table *t, const char *name)
{
    for (size_t i = 0; i < t->n_nonfloat; i++)
        if (strcmp(t->nonfloat[i], name) == 0)
            return true;
    return false;
}

static bool add_nonfloat(struct onnxq_calib_table *t, const char *name)
{
    if (onnxq_calib_table_is_nonfloat(t, name))
        return true;
    char **nn = realloc(t->nonfloat, (t->n_nonfloat + 1) * sizeof(*nn));
    if (!nn)
        return false;
    t->nonfloat = nn;
    if (!(nn[t->n_nonfloat] = onnxq_strdup(name)))
        return false;
    t->n_nonfloat++;
    return true;
}

const struct onnxq_calib_entry *onnxq_calib_table_find(const struct onnxq_calib_table *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->e[i].name, name) == 0)
            return &t->e[i];
    return NULL;
}

/* auto from the candidates' ranges already in the entry (computed before
 * it in the same pass, or read with the table): saves a second KL search. */
static bool auto_from_stored(struct onnxq_calib_entry *e, enum onnxq_qtype qt)
{
    bool have[ONNXQ_AUTO_CANDIDATES];
    double lo[ONNXQ_AUTO_CANDIDATES], hi[ONNXQ_AUTO_CANDIDATES];
    for (int k = 0; k < ONNXQ_AUTO_CANDIDATES; k++) {
        enum onnxq_calib_method c = onnxq_auto_candidates[k];
        if (!e->has_range[qt][c])
            return false;
        have[k] = true;
        lo[k] = e->lo[qt][c];
        hi[k] = e->hi[qt][c];
    }
    int k = onnxq_range_auto_pick(&e->hist, qt, have, lo, hi);
    e->lo[qt][ONNXQ_CALIB_AUTO] = lo[k];
    e->hi[qt][ONNXQ_CALIB_AUTO] = hi[k];
    e->auto_method[qt] = onnxq_auto_candidates[k];
    e->has_range[qt][ONNXQ_CALIB_AUTO] = true;
    return true;
}

enum onnxq_calib_method onnxq_calib_entry_chosen(const struct onnxq_calib_entry *e, enum onnxq_calib_method m,
                                                 enum onnxq_qtype qt)
{
    if (m != ONNXQ_CALIB_AUTO)
        return m;
    return e->has_range[qt][m] ? e->auto_method[qt] : ONNXQ_CALIB_METHOD_COUNT;
}

void onnxq_calib_table_auto_counts(const struct onnxq_calib_table *t, enum onnxq_qtype qt,
                                   size_t counts[ONNXQ_CALIB_METHOD_COUNT])
{
    memset(counts, 0, ONNXQ_CALIB_METHOD_COUNT * sizeof(size_t));
    for (size_t i = 0; i < t->n; i++) {
        enum onnxq_calib_method c = onnxq_calib_entry_chosen(&t->e[i], ONNXQ_CALIB_AUTO, qt);
        if ((unsigned)c < ONNXQ_CALIB_METHOD_COUNT)
            counts[c]++;
    }
}

enum onnxq_status onnxq_calib_table_compute(struct onnxq_calib_table *t, unsigned methods, double *kl_seconds,
                                            struct onnxq_error *err)
{
    double kl = 0;
    for (size_t i = 0; i < t->n; i++) {
        struct onnxq_calib_entry *e = &t->e[i];
        if (e->hist.count == 0)
            continue; /* all-NaN tensors are reported when a range is asked for */
        for (int m = 0; m < ONNXQ_CALIB_METHOD_COUNT; m++) {
            if (!(methods & (1u << m)) || (onnxq_calib_methods[m].needs_histogram && !e->has_hist))
                continue;
            for (int q = 0; q < ONNXQ_QTYPE_COUNT; q++) {
                if (m == ONNXQ_CALIB_AUTO && auto_from_stored(e, (enum onnxq_qtype)q))
                    continue;
                /* auto without stored candidates runs its own KL search */
                bool timed = m == ONNXQ_CALIB_ENTROPY || m == ONNXQ_CALIB_AUTO;
                double t0 = timed ? onnxq_now_seconds() : 0;
                enum onnxq_calib_method chosen;
                enum onnxq_status st = onnxq_range_compute_choice(&e->hist, e->name, (enum onnxq_calib_method)m,
                                                                  (enum onnxq_qtype)q, &t->params, &e->lo[q][m],
                                                                  &e->hi[q][m], &chosen, err);
                if (timed)
                    kl += onnxq_now_seconds() - t0;
                if (st)
                    return st;
                e->has_range[q][m] = true;
                if (m == ONNXQ_CALIB_AUTO)
                    e->auto_method[q] = chosen;
            }
        }
    }
    if (kl_seconds)
        *kl_seconds = kl;
    return ONNXQ_OK;
}

static enum onnxq_status copy_hist(struct onnxq_hist *dst, const struct onnxq_hist *src, struct onnxq_error *err)
{
    enum onnxq_status st = onnxq_hist_init(dst, src->bins, err);
    if (st)
        return st;
    uint64_t *c = dst->counts;
    *dst = *src;
    dst->counts = c;
    memcpy(c, src->counts, 2 * (size_t)src->bins * sizeof(uint64_t));
    return ONNXQ_OK;
}

enum onnxq_status onnxq_calib_table_build(const struct onnxq_observer *o, const char *model, uint64_t samples,
                                          unsigned methods, const struct onnxq_range_params *params,
                                          struct onnxq_calib_table *out, double *kl_seconds, struct onnxq_error *err)
{
    struct onnxq_calib_table t = {0};
    enum onnxq_status st = ONNXQ_OK;
    t.samples = samples;
    t.bins = o->bins;
    t.ema = o->ema;
    if (params)
        t.params = *params;
    else
        onnxq_range_params_init(&t.params);
    if (model && !(t.model = onnxq_strdup(model)))
        goto oom;
    t.e = calloc(o->n ? o->n : 1, sizeof(*t.e));
    if (!t.e)
        goto oom;
    for (size_t i = 0; i < o->n; i++) {
        struct onnxq_calib_entry *e = &t.e[i];
        if (!(e->name = onnxq_strdup(o->t[i].name)))
            goto oom;
        t.n++;
        if ((st = copy_hist(&e->hist, &o->t[i].hist, err)))
            goto out;
        e->has_hist = true;
    }
    for (size_t i = 0; i < o->n_nonfloat; i++)
        if (!add_nonfloat(&t, o->nonfloat[i]))
            goto oom;
    if ((st = onnxq_calib_table_compute(&t, methods, kl_seconds, err)))
        goto out;
    *out = t;
    return ONNXQ_OK;
oom:
    st = onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory building the calibration table");
out:
    onnxq_calib_table_clear(&t);
    return st;
}

enum onnxq_status onnxq_calib_entry_range(const struct onnxq_calib_table *t, const struct onnxq_calib_entry *e,
                                          enum onnxq_calib_method m, enum onnxq_qtype qt, double *lo, double *hi,
                                          struct onnxq_error *err)
{
    if (e->has_range[qt][m]) {
        *lo = e->lo[qt][m];
        *hi = e->hi[qt][m];
        return ONNXQ_OK;
    }
    if (onnxq_calib_methods[m].needs_histogram && !e->has_hist)
        return onnxq_fail(err, ONNXQ_E_INVALID_ARG,
                          "tensor '%s': the calibration table has no %s range and no histogram to compute it "
                          "(calibrate with --method %s or --keep-histograms)",
                          e->name, onnxq_calib_methods[m].name, onnxq_calib_methods[m].name);
    return onnxq_range_compute(&e->hist, e->name, m, qt, &t->params, lo, hi, err);
}

/* ------------------------------------------------------------------ JSON */

static json_object *jdouble(double v)
{
    /* JSON has no inf/nan: keep them as strings */
    if (isnan(v))
        return json_object_new_string("nan");
    if (isinf(v))
        return json_object_new_string(v > 0 ? "inf" : "-inf");
    return json_object_new_double(v);
}

static bool get_double(json_object *o, const char *key, double *out)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v))
        return false;
    if (json_object_is_type(v, json_type_string)) {
        const char *s = json_object_get_string(v);
        if (strcmp(s, "inf") == 0)
            *out = INFINITY;
        else if (strcmp(s, "-inf") == 0)
            *out = -INFINITY;
        else if (strcmp(s, "nan") == 0)
            *out = NAN;
        else
            return false;
        return true;
    }
    if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
        return false;
    *out = json_object_get_double(v);
    return true;
}

static bool get_u64(json_object *o, const char *key, uint64_t *out)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
        return false;
    int64_t x = json_object_get_int64(v);
    if (x < 0)
        return false;
    *out = (uint64_t)x;
    return true;
}

enum onnxq_status onnxq_calib_table_write(const struct onnxq_calib_table *t, const char *path, bool keep_histograms,
                                          struct onnxq_error *err)
{
    json_object *root = json_object_new_object();
    json_object_object_add(root, "format", json_object_new_string(ONNXQ_TABLE_FORMAT));
    json_object_object_add(root, "version", json_object_new_int(ONNXQ_TABLE_VERSION));
    json_object_object_add(root, "model", json_object_new_string(t->model ? t->model : ""));
    json_object_object_add(root, "samples", json_object_new_int64((int64_t)t->samples));
    json_object_object_add(root, "bins", json_object_new_int64(t->bins));
    json_object_object_add(root, "ema", jdouble(t->ema));
    json_object_object_add(root, "percentile", jdouble(t->params.percentile));
    json_object *tensors = json_object_new_object();
    for (size_t i = 0; i < t->n; i++) {
        const struct onnxq_calib_entry *e = &t->e[i];
        const struct onnxq_hist *h = &e->hist;
        json_object *o = json_object_new_object();
        json_object_object_add(o, "count", json_object_new_int64((int64_t)h->count));
        /* every finite value; larger than count when the histogram was subsampled */
        json_object_object_add(o, "finite", json_object_new_int64((int64_t)h->finite));
        json_object_object_add(o, "nan", json_object_new_int64((int64_t)h->nan_count));
        json_object_object_add(o, "inf", json_object_new_int64((int64_t)h->inf_count));
        json_object_object_add(o, "min", jdouble(h->min));
        json_object_object_add(o, "max", jdouble(h->max));
        json_object_object_add(o, "sum", jdouble(h->sum));
        json_object_object_add(o, "sum_sq", jdouble(h->sum_sq));
        json_object_object_add(o, "batches", json_object_new_int64((int64_t)h->batches));
        json_object_object_add(o, "avg_min", jdouble(h->avg_min));
        json_object_object_add(o, "avg_max", jdouble(h->avg_max));
        json_object_object_add(o, "ema_min", jdouble(h->ema_min));
        json_object_object_add(o, "ema_max", jdouble(h->ema_max));
        json_object *ranges = json_object_new_object();
        for (int q = 0; q < ONNXQ_QTYPE_COUNT; q++) {
            json_object *rq = json_object_new_object();
            for (int m = 0; m < ONNXQ_CALIB_METHOD_COUNT; m++) {
                if (!e->has_range[q][m])
                    continue;
                json_object *pair = json_object_new_array();
                json_object_array_add(pair, jdouble(e->lo[q][m]));
                json_object_array_add(pair, jdouble(e->hi[q][m]));
                json_object_object_add(rq, onnxq_calib_methods[m].name, pair);
            }
            json_object_object_add(ranges, onnxq_qtype_names[q], rq);
        }
        json_object_object_add(o, "ranges", ranges);
        json_object *am = NULL;
        for (int q = 0; q < ONNXQ_QTYPE_COUNT; q++) {
            enum onnxq_calib_method c = onnxq_calib_entry_chosen(e, ONNXQ_CALIB_AUTO, (enum onnxq_qtype)q);
            if ((unsigned)c >= ONNXQ_CALIB_METHOD_COUNT)
                continue;
            if (!am)
                am = json_object_new_object();
            json_object_object_add(am, onnxq_qtype_names[q], json_object_new_string(onnxq_calib_methods[c].name));
        }
        if (am)
            json_object_object_add(o, "auto_method", am);
        if (keep_histograms && e->has_hist) {
            json_object *hist = json_object_new_object();
            json_object_object_add(hist, "exp", json_object_new_int(h->exp));
            /* sparse: [bin, count] pairs of the non-empty bins */
            json_object *counts = json_object_new_array();
            for (size_t k = 0; k < 2 * (size_t)h->bins; k++) {
                if (!h->counts[k])
                    continue;
                json_object *pair = json_object_new_array();
                json_object_array_add(pair, json_object_new_int64((int64_t)k));
                json_object_array_add(pair, json_object_new_int64((int64_t)h->counts[k]));
                json_object_array_add(counts, pair);
            }
            json_object_object_add(hist, "counts", counts);
            json_object_object_add(o, "histogram", hist);
        }
        json_object_object_add(tensors, e->name, o);
    }
    json_object_object_add(root, "tensors", tensors);
    json_object *nf = json_object_new_array();
    for (size_t i = 0; i < t->n_nonfloat; i++)
        json_object_array_add(nf, json_object_new_string(t->nonfloat[i]));
    json_object_object_add(root, "non_float", nf);
    const char *txt = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    enum onnxq_status st;
    if (!txt)
        st = onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory formatting the calibration table");
    else
        st = onnxq_write_file_atomic(path, txt, strlen(txt), err);
    json_object_put(root);
    return st;
}

#define BAD(...) do { st = onnxq_fail(err, ONNXQ_E_PARSE, __VA_ARGS__); goto out; } while (0)

enum onnxq_status onnxq_calib_table_read(const char *path, struct onnxq_calib_table *out, struct onnxq_error *err)
{
    enum onnxq_status st = ONNXQ_OK;
    struct onnxq_calib_table t = {0};
    json_object *root = json_object_from_file(path);
    json_object *v, *tensors;
    if (!root)
        return onnxq_fail(err, ONNXQ_E_PARSE, "%s: not a readable JSON file (%s)", path, json_util_get_last_err());
    if (!json_object_object_get_ex(root, "format", &v) || strcmp(json_object_get_string(v), ONNXQ_TABLE_FORMAT) != 0)
        BAD("%s: not an onnxq calibration table (format is not \"%s\")", path, ONNXQ_TABLE_FORMAT);
    uint64_t bins = 0;
    if (!get_u64(root, "bins", &bins) || !get_u64(root, "samples", &t.samples) || !get_double(root, "ema", &t.ema) ||
        !get_double(root, "percentile", &t.params.percentile) || !json_object_object_get_ex(root, "tensors", &tensors) ||
        !json_object_is_type(tensors, json_type_object))
        BAD("%s: calibration table lacks bins/samples/ema/percentile/tensors", path);
    t.bins = (uint32_t)bins;
    if (json_object_object_get_ex(root, "model", &v))
        t.model = onnxq_strdup(json_object_get_string(v));
    size_t n = (size_t)json_object_object_length(tensors);
    t.e = calloc(n ? n : 1, sizeof(*t.e));
    if (!t.e) {
        st = onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory");
        goto out;
    }
    json_object_object_foreach(tensors, name, o) {
        struct onnxq_calib_entry *e = &t.e[t.n];
        if (!(e->name = onnxq_strdup(name))) {
            st = onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory");
            goto out;
        }
        t.n++;
        if ((st = onnxq_hist_init(&e->hist, t.bins, err))) {
            onnxq_error_prefix(err, "%s: ", path);
            goto out;
        }
        struct onnxq_hist *h = &e->hist;
        if (!get_u64(o, "count", &h->count) || !get_u64(o, "nan", &h->nan_count) || !get_u64(o, "inf", &h->inf_count) ||
            !get_double(o, "min", &h->min) || !get_double(o, "max", &h->max) || !get_double(o, "sum", &h->sum) ||
            !get_double(o, "sum_sq", &h->sum_sq) || !get_u64(o, "batches", &h->batches) ||
            !get_double(o, "avg_min", &h->avg_min) || !get_double(o, "avg_max", &h->avg_max) ||
            !get_double(o, "ema_min", &h->ema_min) || !get_double(o, "ema_max", &h->ema_max))
            BAD("%s: tensor '%s': missing or malformed stats", path, name);
        json_object *fin;
        if (!json_object_object_get_ex(o, "finite", &fin))
            h->finite = h->count; /* tables from before histogram subsampling */
        else if (!get_u64(o, "finite", &h->finite) || h->finite < h->count)
            BAD("%s: tensor '%s': malformed finite count", path, name);
        json_object *ranges, *hist, *am;
        for (int q = 0; q < ONNXQ_QTYPE_COUNT; q++)
            e->auto_method[q] = ONNXQ_CALIB_METHOD_COUNT;
        if (json_object_object_get_ex(o, "auto_method", &am)) {
            for (int q = 0; q < ONNXQ_QTYPE_COUNT; q++) {
                json_object *mv;
                if (!json_object_object_get_ex(am, onnxq_qtype_names[q], &mv))
                    continue;
                enum onnxq_calib_method c;
                struct onnxq_error ignored;
                if (!json_object_is_type(mv, json_type_string) ||
                    onnxq_calib_method_parse(json_object_get_string(mv), &c, &ignored) != ONNXQ_OK ||
                    c == ONNXQ_CALIB_AUTO)
                    BAD("%s: tensor '%s': malformed auto_method", path, name);
                e->auto_method[q] = c;
            }
        }
        if (json_object_object_get_ex(o, "ranges", &ranges)) {
            for (int q = 0; q < ONNXQ_QTYPE_COUNT; q++) {
                json_object *rq;
                if (!json_object_object_get_ex(ranges, onnxq_qtype_names[q], &rq))
                    continue;
                for (int m = 0; m < ONNXQ_CALIB_METHOD_COUNT; m++) {
                    json_object *pair;
                    if (!json_object_object_get_ex(rq, onnxq_calib_methods[m].name, &pair))
                        continue;
                    if (!json_object_is_type(pair, json_type_array) || json_object_array_length(pair) != 2)
                        BAD("%s: tensor '%s': malformed %s range", path, name, onnxq_calib_methods[m].name);
                    e->lo[q][m] = json_object_get_double(json_object_array_get_idx(pair, 0));
                    e->hi[q][m] = json_object_get_double(json_object_array_get_idx(pair, 1));
                    e->has_range[q][m] = true;
                }
            }
        }
        if (json_object_object_get_ex(o, "histogram", &hist)) {
            json_object *ex, *counts;
            if (!json_object_object_get_ex(hist, "exp", &ex) || !json_object_object_get_ex(hist, "counts", &counts) ||
                !json_object_is_type(counts, json_type_array))
                BAD("%s: tensor '%s': malformed histogram", path, name);
            h->exp = json_object_get_int(ex);
            size_t nc = json_object_array_length(counts);
            uint64_t total = 0;
            for (size_t k = 0; k < nc; k++) {
                json_object *pair = json_object_array_get_idx(counts, k);
                if (!json_object_is_type(pair, json_type_array) || json_object_array_length(pair) != 2)
                    BAD("%s: tensor '%s': malformed histogram bin", path, name);
                int64_t bin = json_object_get_int64(json_object_array_get_idx(pair, 0));
                int64_t c = json_object_get_int64(json_object_array_get_idx(pair, 1));
                if (bin < 0 || bin >= 2 * (int64_t)t.bins || c < 0)
                    BAD("%s: tensor '%s': histogram bin %lld out of range", path, name, (long long)bin);
                h->counts[bin] = (uint64_t)c;
                total += (uint64_t)c;
            }
            if (total != h->count)
                BAD("%s: tensor '%s': histogram holds %llu values but count is %llu", path, name,
                    (unsigned long long)total, (unsigned long long)h->count);
            e->has_hist = true;
        }
    }
    json_object *nf;
    if (json_object_object_get_ex(root, "non_float", &nf) && json_object_is_type(nf, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(nf); i++)
            if (!add_nonfloat(&t, json_object_get_string(json_object_array_get_idx(nf, i)))) {
                st = onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory");
                goto out;
            }
    }
    *out = t;
    memset(&t, 0, sizeof(t));
out:
    onnxq_calib_table_clear(&t);
    json_object_put(root);
    return st;
}

enum onnxq_status onnxq_calib_table_merge(const struct onnxq_calib_table *a, const struct onnxq_calib_table *b,
                                          struct onnxq_calib_table *out, struct onnxq_error *err)
{
    if (a->bins != b->bins)
        return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "cannot merge tables with %u and %u histogram bins", a->bins,
                          b->bins);
    enum onnxq_status st = ONNXQ_OK;
    struct onnxq_calib_table t = {0};
    t.bins = a->bins;
    t.ema = a->ema;
    t.params = a->params;
    t.samples = a->samples + b->samples;
    t.model = onnxq_strdup(a->model ? a->model : "");
    t.e = calloc(a->n + b->n + 1, sizeof(*t.e));
    if (!t.e || !t.model) {
        st = onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory");
        goto out;
    }
    unsigned methods = 0;
    const struct onnxq_calib_table *src[2] = {a, b};
    for (int s = 0; s < 2; s++) {
        for (size_t i = 0; i < src[s]->n; i++) {
            const struct onnxq_calib_entry *se = &src[s]->e[i];
            for (int q = 0; q < ONNXQ_QTYPE_COUNT; q++)
                for (int m = 0; m < ONNXQ_CALIB_METHOD_COUNT; m++)
                    if (se->has_range[q][m])
                        methods |= 1u << m;
            struct onnxq_calib_entry *de = (struct onnxq_calib_entry *)onnxq_calib_table_find(&t, se->name);
            if (!de) {
                de = &t.e[t.n];
                if (!(de->name = onnxq_strdup(se->name))) {
                    st = onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory");
                    goto out;
                }
                t.n++;
                if ((st = copy_hist(&de->hist, &se->hist, err)))
                    goto out;
                de->has_hist = se->has_hist;
                continue;
            }
            if ((st = onnxq_hist_merge(&de->hist, &se->hist, err)))
                goto out;
            de->has_hist = de->has_hist && se->has_hist;
        }
    }
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; i < src[s]->n_nonfloat; i++)
            if (!add_nonfloat(&t, src[s]->nonfloat[i])) {
                st = onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory");
                goto out;
            }
    if ((st = onnxq_calib_table_compute(&t, methods, NULL, err)))
        goto out;
    *out = t;
    return ONNXQ_OK;
out:
    onnxq_calib_table_clear(&t);
    return st;
}
