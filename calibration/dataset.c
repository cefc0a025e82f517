/* Calibration datasets: source discovery, shuffling, per-sample loading,
 * shape/dtype checks against the model's declared inputs, and batching.
 * The rules are documented in dataset.h. */
#include "dataset.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "io/npy.h"
#include "onnx/onnx_io.h"

#define MAX_DEPTH 16

enum fkind { FK_NONE = 0, FK_IMAGE, FK_NPY, FK_NPZ, FK_PB };

static const char *const kind_label[] = {"", "PNG/JPEG image", ".npy", ".npz", ".pb"};

enum source {
    SRC_FILES,      /* per-sample files (refs) */
    SRC_ARRAY,      /* one .npy/.npz, samples on axis 0 (arrays) */
};

struct ds_input {
    char *name;
    enum onnxq_dtype dtype;   /* UNDEFINED when the model does not say */
    bool has_shape;
    int ndim;
    int64_t dims[ONNXQ_MAX_DIMS];   /* -1 where not a fixed value */
    char *params[ONNXQ_MAX_DIMS];   /* symbolic names (NULL if none) */
};

struct ds_ref {
    char *path;   /* owned unless shared (npz per-sample: same path for every input) */
    enum fkind kind;
};

struct onnxq_dataset {
    enum source src;
    size_t n_inputs;
    struct ds_input *in;
    struct onnxq_image_options img;   /* height/width resolved */
    size_t n_total;                   /* samples available before count */
    struct ds_ref *refs;              /* SRC_FILES: n_total * n_inputs */
    bool refs_shared;                 /* refs[s * n + k].path shared across k (free k == 0 only) */
    struct onnxq_tensor *arrays;      /* SRC_ARRAY: n_inputs */
    bool *drop_axis;                  /* SRC_ARRAY: array rank = declared rank + 1 */
    size_t *rows;                     /* SRC_ARRAY, same rank: rows of axis 0 per sample (the input's
                                       * fixed dim 0, else 1) */
    char *array_path;
    size_t *order;                    /* shuffled sample indices, `size` used */
    size_t size;
    size_t batch;
    char *desc;
};

/* ---- small helpers --------------------------------------------------------- */

static enum onnxq_status nomem(struct onnxq_error *err)
{
    return onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory");
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static char *path_join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    bool slash = a && dir[a - 1] == '/';
    char *p = malloc(a + b + 2);
    if (!p)
        return NULL;
    memcpy(p, dir, a);
    if (!slash)
        p[a++] = '/';
    memcpy(p + a, name, b + 1);
    return p;
}

static bool ends_with_ci(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    if (a < b)
        return false;
    for (size_t i = 0; i < b; i++)
        if (tolower((unsigned char)s[a - b + i]) != tolower((unsigned char)suffix[i]))
            return false;
    return true;
}

static enum fkind kind_of(const char *path)
{
    if (ends_with_ci(path, ".png") || ends_with_ci(path, ".jpg") || ends_with_ci(path, ".jpeg"))
        return FK_IMAGE;
    if (ends_with_ci(path, ".npy"))
        return FK_NPY;
    if (ends_with_ci(path, ".npz"))
        return FK_NPZ;
    if (ends_with_ci(path, ".pb"))
        return FK_PB;
    return FK_NONE;
}

static bool is_list_file(const char *path)
{
    return ends_with_ci(path, ".txt") || ends_with_ci(path, ".lst") || ends_with_ci(path, ".list");
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

struct strvec {
    char **v;
    size_t n, cap;
};

static int sv_push(struct strvec *s, char *str)
{
    if (!str)
        return -1;
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 16;
        char **nv = realloc(s->v, nc * sizeof(char *));
        if (!nv) {
            free(str);
            return -1;
        }
        s->v = nv;
        s->cap = nc;
    }
    s->v[s->n++] = str;
    return 0;
}

static void sv_free(struct strvec *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof(*s));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Entries of a folder (names only, hidden ones skipped), sorted. */
static enum onnxq_status list_dir(const char *dir, struct strvec *out, struct onnxq_error *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return onnxq_fail(err, ONNXQ_E_IO, "%s: cannot open folder: %s", dir, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (sv_push(out, xstrdup(e->d_name))) {
            closedir(d);
            sv_free(out);
            return nomem(err);
        }
    }
    closedir(d);
    if (out->n)
        qsort(out->v, out->n, sizeof(char *), cmp_str);
    return ONNXQ_OK;
}

/* Recursively collect data files below dir (sorted per folder, folders
 * visited in name order) into files; other regular files are counted. */
static enum onnxq_status collect(const char *dir, int depth, struct strvec *files, size_t *others,
                                 char **first_other, struct onnxq_error *err)
{
    if (depth > MAX_DEPTH)
        return onnxq_fail(err, ONNXQ_E_UNSUPPORTED, "%s: folders nested deeper than %d levels", dir, MAX_DEPTH);
    struct strvec names = {0};
    enum onnxq_status st = list_dir(dir, &names, err);
    if (st)
        return st;
    for (size_t i = 0; i < names.n && !st; i++) {
        char *p = path_join(dir, names.v[i]);
        if (!p) {
            st = nomem(err);
            break;
        }
        struct stat sb;
        if (stat(p, &sb) != 0) {
            free(p); /* dangling symlink and the like */
            continue;
        }
        if (S_ISDIR(sb.st_mode)) {
            st = collect(p, depth + 1, files, others, first_other, err);
            free(p);
        } else if (S_ISREG(sb.st_mode) && kind_of(p) != FK_NONE) {
            if (sv_push(files, p))
                st = nomem(err);
        } else {
            if (S_ISREG(sb.st_mode) && !*first_other)
                *first_other = p;
            else
                free(p);
            ++*others;
        }
    }
    sv_free(&names);
    return st;
}

/* Human form of a declared shape: "[N,3,224,224]", "?" for unknown dims. */
static void declared_shape(const struct ds_input *in, char *buf, size_t size)
{
    if (!in->has_shape) {
        snprintf(buf, size, "(any shape)");
        return;
    }
    size_t used = 0;
    int w = snprintf(buf, size, "[");
    used = w > 0 ? (size_t)w : 0;
    for (int i = 0; i < in->ndim && used < size; i++) {
        if (in->dims[i] >= 0)
            w = snprintf(buf + used, size - used, "%s%lld", i ? "," : "", (long long)in->dims[i]);
        else
            w = snprintf(buf + used, size - used, "%s%s", i ? "," : "", in->params[i] ? in->params[i] : "?");
        used += w > 0 ? (size_t)w : 0;
    }
    if (used < size)
        snprintf(buf + used, size - used, "]");
}

/* ---- shuffling ------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [0, n) without modulo bias. */
static uint64_t bounded(uint64_t *s, uint64_t n)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t r;
    do
        r = splitmix64(s);
    while (r >= limit);
    return r % n;
}

static void shuffle(size_t *v, size_t n, uint64_t seed)
{
    uint64_t s = seed;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)bounded(&s, i);
        size_t t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

/* ---- options and inputs ---------------------------------------------------- */

void onnxq_dataset_options_init(struct onnxq_dataset_options *o)
{
    if (!o)
        return;
    memset(o, 0, sizeof(*o));
    o->image.resize = ONNXQ_RESIZE_STRETCH;
    o->image.layout = ONNXQ_LAYOUT_NCHW;
    o->image.color = ONNXQ_COLOR_RGB;
    o->image.scale = 1.0f / 255.0f;
    for (int c = 0; c < 3; c++) {
        o->image.mean[c] = 0.0f;
        o->image.std[c] = 1.0f;
    }
    o->count = 0;
    o->seed = 0;
    o->batch = 1;
}

static enum onnxq_status copy_inputs(struct onnxq_dataset *ds, const struct onnxq_value_info *const *inputs,
                                     size_t n, struct onnxq_error *err)
{
    ds->in = calloc(n, sizeof(*ds->in));
    if (!ds->in)
        return nomem(err);
    ds->n_inputs = n;
    for (size_t k = 0; k < n; k++) {
        const struct onnxq_value_info *vi = inputs[k];
        struct ds_input *in = &ds->in[k];
        if (!vi)
            return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "onnxq_dataset_open: input %zu is NULL", k);
        char fallback[32];
        snprintf(fallback, sizeof(fallback), "input%zu", k);
        if (!(in->name = xstrdup(vi->name && *vi->name ? vi->name : fallback)))
            return nomem(err);
        const struct onnxq_type *t = &vi->type;
        if (t->kind == ONNXQ_TYPE_OPAQUE)
            return onnxq_fail(err, ONNXQ_E_UNSUPPORTED, "input '%s' is not a tensor; it cannot be calibrated",
                              in->name);
        if (t->kind == ONNXQ_TYPE_TENSOR && t->has_elem_type && onnxq_dtype_valid(t->elem_type))
            in->dtype = (enum onnxq_dtype)t->elem_type;
        if (in->dtype == ONNXQ_DT_STRING)
            return onnxq_fail(err, ONNXQ_E_UNSUPPORTED, "input '%s' is a string tensor; it cannot be calibrated",
                              in->name);
        if (t->kind == ONNXQ_TYPE_TENSOR && t->has_shape) {
            if (t->ndim < 0 || t->ndim > ONNXQ_MAX_DIMS)
                return onnxq_fail(err, ONNXQ_E_UNSUPPORTED, "input '%s': rank %d is not supported", in->name,
                                  t->ndim);
            in->has_shape = true;
            in->ndim = t->ndim;
            for (int d = 0; d < t->ndim; d++) {
                const struct onnxq_dim *dm = &t->dims[d];
                in->dims[d] = dm->kind == ONNXQ_DIM_VALUE && dm->value >= 0 ? dm->value : -1;
                if (dm->kind == ONNXQ_DIM_PARAM && dm->param && *dm->param && !(in->params[d] = xstrdup(dm->param)))
                    return nomem(err);
            }
        }
    }
    return ONNXQ_OK;
}

/* ---- per-sample loading and checks ------------------------------------------ */

static enum onnxq_status shape_error(const struct onnxq_dataset *ds, size_t k, const char *what,
                                     const int64_t *dims, int ndim, const char *extra, struct onnxq_error *err)
{
    char want[256], got[256];
    declared_shape(&ds->in[k], want, sizeof(want));
    onnxq_shape_format(dims, ndim, got, sizeof(got));
    return onnxq_fail(err, ONNXQ_E_SHAPE, "%s: input '%s' expects shape %s but the data has shape %s%s", what,
                      ds->in[k].name, want, got, extra ? extra : "");
}

/* float64 -> float32 (the one implicit conversion, documented in dataset.h),
 * float32 -> float64/float16, float32 -> uint8 (images, rounded and clamped). */
static enum onnxq_status convert(struct onnxq_tensor *t, enum onnxq_dtype to, struct onnxq_error *err)
{
    struct onnxq_tensor o;
    enum onnxq_status st = onnxq_tensor_alloc(&o, to, t->ndim, t->dims, err);
    if (st)
        return st;
    size_t n = (size_t)onnxq_tensor_numel(t);
    if (t->dtype == ONNXQ_DT_DOUBLE) {
        const double *s = t->data;
        float *d = o.data;
        for (size_t i = 0; i < n; i++)
            d[i] = (float)s[i];
    } else {
        const float *s = t->data;
        for (size_t i = 0; i < n; i++) {
            if (to == ONNXQ_DT_DOUBLE) {
                ((double *)o.data)[i] = s[i];
            } else if (to == ONNXQ_DT_FLOAT16) {
                ((uint16_t *)o.data)[i] = onnxq_float_to_half(s[i]);
            } else {
                float v = s[i] + 0.5f;
                ((uint8_t *)o.data)[i] = v >= 255.0f ? 255 : v > 0.0f ? (uint8_t)v : 0;
            }
        }
    }
    onnxq_tensor_clear(t);
    *t = o;
    return ONNXQ_OK;
}

/* Bring one sample of input k to the model's expectations: dtype (with the
 * allowed conversions), rank (a missing leading batch axis is added when
 * allow_prepend) and fixed dims. `what` names the file in errors. */
static enum onnxq_status fit_sample(const struct onnxq_dataset *ds, size_t k, struct onnxq_tensor *t,
                                    const char *what, bool image, bool allow_prepend, struct onnxq_error *err)
{
    const struct ds_input *in = &ds->in[k];
    if (t->dtype == ONNXQ_DT_STRING)
        return onnxq_fail(err, ONNXQ_E_UNSUPPORTED, "%s: string data cannot feed input '%s'", what, in->name);
    if (in->dtype != ONNXQ_DT_UNDEFINED && t->dtype != in->dtype) {
        bool ok = (t->dtype == ONNXQ_DT_DOUBLE && in->dtype == ONNXQ_DT_FLOAT) ||
                  (image && (in->dtype == ONNXQ_DT_DOUBLE || in->dtype == ONNXQ_DT_FLOAT16 ||
                             in->dtype == ONNXQ_DT_UINT8));
        if (!ok)
            return onnxq_fail(err, ONNXQ_E_SHAPE, "%s: input '%s' expects dtype %s but the data is %s", what,
                              in->name, onnxq_dtype_name(in->dtype), onnxq_dtype_name(t->dtype));
        enum onnxq_status st = convert(t, in->dtype, err);
        if (st) {
            onnxq_error_prefix(err, "%s: ", what);
            return st;
        }
    }
    if (!in->has_shape)
        return ONNXQ_OK;
    int64_t found[ONNXQ_MAX_DIMS];
    int found_nd = t->ndim;
    memcpy(found, t->dims, sizeof(int64_t) * (size_t)t->ndim);
    if (allow_prepend && t->ndim == in->ndim - 1) {
        memmove(t->dims + 1, t->dims, sizeof(int64_t) * (size_t)t->ndim);
        t->dims[0] = 1;
        t->ndim++;
    }
    if (t->ndim != in->ndim)
        return shape_error(ds, k, what, found, found_nd, " (rank differs)", err);
    for (int d = 0; d < in->ndim; d++) {
        int64_t want = in->dims[d];
        if (d == 0 && want >= 0 && ds->batch > 1)
            want = 1; /* open() checked that dim 0 equals the batch */
        if (want >= 0 && t->dims[d] != want) {
            char extra[96] = "";
            if (d == 0 && ds->batch > 1)
                snprintf(extra, sizeof(extra), " (with batch %zu each sample must have dim 0 = 1)", ds->batch);
            return shape_error(ds, k, what, found, found_nd, extra, err);
        }
    }
    return ONNXQ_OK;
}

/* Load input k of sample s (owning tensor, fitted). *what is set to a
 * description of the source for later messages (borrowed). */
static enum onnxq_status load_one(struct onnxq_dataset *ds, size_t s, size_t k, struct onnxq_tensor *t,
                                  const char **what, struct onnxq_error *err)
{
    enum onnxq_status st;
    memset(t, 0, sizeof(*t));
    if (ds->src == SRC_ARRAY) {
        const struct onnxq_tensor *a = &ds->arrays[k];
        struct onnxq_tensor v;
        memset(&v, 0, sizeof(v));
        v.dtype = a->dtype;
        if (ds->drop_axis[k]) {
            v.ndim = a->ndim - 1;
            memcpy(v.dims, a->dims + 1, sizeof(int64_t) * (size_t)v.ndim);
        } else {
            v.ndim = a->ndim;
            memcpy(v.dims, a->dims, sizeof(int64_t) * (size_t)a->ndim);
            v.dims[0] = (int64_t)ds->rows[k];
        }
        size_t per = a->dims[0] ? a->nbytes / (size_t)a->dims[0] * (ds->drop_axis[k] ? 1 : ds->rows[k]) : 0;
        v.data = (uint8_t *)a->data + per * s;
        v.nbytes = per;
        *what = ds->array_path;
        if ((st = onnxq_tensor_copy(t, &v, err)))
            return st;
        /* shapes were checked at open; only the dtype conversion is left */
        if ((st = fit_sample(ds, k, t, *what, false, false, err)))
            onnxq_tensor_clear(t);
        return st;
    }
    const struct ds_ref *r = &ds->refs[s * ds->n_inputs + k];
    *what = r->path;
    switch (r->kind) {
    case FK_IMAGE:
        st = onnxq_image_load(r->path, &ds->img, t, err);
        break;
    case FK_NPY:
        st = onnxq_npy_read(r->path, t, err);
        break;
    case FK_NPZ: {
        char **names = NULL;
        size_t n = 0;
        if ((st = onnxq_npz_list(r->path, &names, &n, err)))
            break;
        const char *use = ds->in[k].name;
        bool found = false;
        for (size_t i = 0; i < n; i++)
            found = found || strcmp(names[i], use) == 0;
        if (!found && ds->n_inputs == 1 && n == 1)
            use = names[0]; /* a single unnamed array (np.savez(f, x) -> arr_0) */
        st = onnxq_npz_read(r->path, use, t, err);
        for (size_t i = 0; i < n; i++)
            free(names[i]);
        free(names);
        break;
    }
    case FK_PB: {
        uint8_t *buf = NULL;
        size_t n = 0;
        if ((st = onnxq_read_file(r->path, &buf, &n, err)))
            break;
        st = onnxq_tensor_from_pb(buf, n, r->path, t, NULL, err);
        free(buf);
        break;
    }
    default:
        st = onnxq_fail(err, ONNXQ_E_INTERNAL, "%s: unknown sample kind", r->path);
    }
    if (st)
        return st;
    if ((st = fit_sample(ds, k, t, r->path, r->kind == FK_IMAGE, true, err)))
        onnxq_tensor_clear(t);
    return st;
}

/* Symbolic dims with the same name must agree across the inputs of a sample. */
static enum onnxq_status check_params(const struct onnxq_dataset *ds, const struct onnxq_tensor *t,
                                      const char *const *what, struct onnxq_error *err)
{
    for (size_t a = 0; a < ds->n_inputs; a++) {
        const struct ds_input *ia = &ds->in[a];
        if (!ia->has_shape)
            continue;
        for (int da = 0; da < ia->ndim; da++) {
            if (!ia->params[da])
                continue;
            for (size_t b = a; b < ds->n_inputs; b++) {
                const struct ds_input *ib = &ds->in[b];
                if (!ib->has_shape)
                    continue;
                for (int db = b == a ? da + 1 : 0; db < ib->ndim; db++) {
                    if (!ib->params[db] || strcmp(ia->params[da], ib->params[db]) != 0)
                        continue;
                    if (t[a].dims[da] != t[b].dims[db])
                        return onnxq_fail(err, ONNXQ_E_SHAPE,
                                          "%s: symbolic dim '%s' is %lld in input '%s' (dim %d) but %lld in "
                                          "input '%s' (dim %d, from %s)",
                                          what[a], ia->params[da], (long long)t[a].dims[da], ia->name, da,
                                          (long long)t[b].dims[db], ib->name, db, what[b]);
                }
            }
        }
    }
    return ONNXQ_OK;
}

/* Concatenate n fitted samples along axis 0 into an owning tensor. */
static enum onnxq_status concat(const struct onnxq_dataset *ds, size_t k, struct onnxq_tensor *parts, size_t n,
                                const char *const *whats, struct onnxq_tensor *out, struct onnxq_error *err)
{
    if (n == 1) {
        *out = parts[0];
        memset(&parts[0], 0, sizeof(parts[0]));
        return ONNXQ_OK;
    }
    const struct onnxq_tensor *p0 = &parts[0];
    int64_t dims[ONNXQ_MAX_DIMS];
    memcpy(dims, p0->dims, sizeof(int64_t) * (size_t)p0->ndim);
    dims[0] = 0;
    for (size_t i = 0; i < n; i++) {
        const struct onnxq_tensor *p = &parts[i];
        bool same = p->ndim == p0->ndim && p->dtype == p0->dtype && p->ndim > 0;
        for (int d = 1; same && d < p->ndim; d++)
            same = p->dims[d] == p0->dims[d];
        if (!same) {
            char a[256], b[256];
            onnxq_shape_format(p->dims, p->ndim, a, sizeof(a));
            onnxq_shape_format(p0->dims, p0->ndim, b, sizeof(b));
            return onnxq_fail(err, ONNXQ_E_SHAPE,
                              "%s: input '%s' sample shape %s cannot be batched with shape %s of %s; "
                              "use batch 1 for samples of different sizes",
                              whats[i], ds->in[k].name, a, b, whats[0]);
        }
        dims[0] += p->dims[0];
    }
    enum onnxq_status st = onnxq_tensor_alloc(out, p0->dtype, p0->ndim, dims, err);
    if (st)
        return st;
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        if (parts[i].nbytes)
            memcpy((uint8_t *)out->data + off, parts[i].data, parts[i].nbytes);
        off += parts[i].nbytes;
    }
    return ONNXQ_OK;
}

enum onnxq_status onnxq_dataset_get_batch(struct onnxq_dataset *ds, size_t index, struct onnxq_tensor *out,
                                          struct onnxq_error *err)
{
    if (!ds || !out)
        return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "onnxq_dataset_get_batch: NULL argument");
    size_t nb = onnxq_dataset_batches(ds);
    if (index >= nb)
        return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "batch index %zu out of range (the dataset has %zu batches)",
                          index, nb);
    size_t first = index * ds->batch;
    size_t n = ds->size - first < ds->batch ? ds->size - first : ds->batch;
    size_t ni = ds->n_inputs;
    struct onnxq_tensor *parts = calloc(n * ni, sizeof(*parts));
    const char **whats = calloc(n * ni, sizeof(*whats));
    const char **col = calloc(n, sizeof(*col));
    struct onnxq_tensor *res = calloc(ni, sizeof(*res));
    enum onnxq_status st = ONNXQ_OK;
    if (!parts || !whats || !col || !res) {
        st = nomem(err);
        goto out;
    }
    /* parts[i * ni + k]: sample i, input k */
    for (size_t i = 0; i < n && !st; i++) {
        size_t s = ds->order[first + i];
        for (size_t k = 0; k < ni && !st; k++)
            st = load_one(ds, s, k, &parts[i * ni + k], &whats[i * ni + k], err);
        if (!st)
            st = check_params(ds, &parts[i * ni], &whats[i * ni], err);
    }
    for (size_t k = 0; k < ni && !st; k++) {
        struct onnxq_tensor *cp = calloc(n, sizeof(*cp));
        if (!cp) {
            st = nomem(err);
            break;
        }
        for (size_t i = 0; i < n; i++) {
            cp[i] = parts[i * ni + k];
            col[i] = whats[i * ni + k];
        }
        st = concat(ds, k, cp, n, col, &res[k], err);
        for (size_t i = 0; i < n; i++)
            parts[i * ni + k] = cp[i]; /* n == 1 moved it out; cleared below either way */
        free(cp);
    }
    if (!st)
        for (size_t k = 0; k < ni; k++)
            out[k] = res[k];
    else if (res)
        for (size_t k = 0; k < ni; k++)
            onnxq_tensor_clear(&res[k]);
out:
    if (parts)
        for (size_t i = 0; i < n * ni; i++)
            onnxq_tensor_clear(&parts[i]);
    free(parts);
    free(whats);
    free(col);
    free(res);
    return st;
}

/* ---- opening ----------------------------------------------------------------- */

static enum onnxq_status set_refs(struct onnxq_dataset *ds, size_t n_samples, struct onnxq_error *err)
{
    ds->n_total = n_samples;
    size_t n = n_samples * ds->n_inputs;
    ds->refs = calloc(n ? n : 1, sizeof(*ds->refs));
    return ds->refs ? ONNXQ_OK : nomem(err);
}

/* Per-sample files of one kind, one input each (or .npz: all inputs). Takes
 * ownership of the strings in files. */
static enum onnxq_status from_files(struct onnxq_dataset *ds, const char *where, struct strvec *files,
                                    enum fkind kind, struct onnxq_error *err)
{
    size_t ni = ds->n_inputs;
    if (kind != FK_NPZ && ni != 1) {
        char extra[64] = "";
        if (kind == FK_IMAGE)
            snprintf(extra, sizeof(extra), "; images feed models with one input");
        return onnxq_fail(err, ONNXQ_E_DATA,
                          "%s: %s files give one tensor per sample but the model has %zu inputs%s; use one "
                          "subfolder per input, .npz files with arrays named after the inputs, or "
                          "test_data_set_N folders",
                          where, kind_label[kind], ni, extra);
    }
    enum onnxq_status st = set_refs(ds, files->n, err);
    if (st)
        return st;
    ds->refs_shared = ni > 1;
    for (size_t s = 0; s < files->n; s++) {
        for (size_t k = 0; k < ni; k++) {
            ds->refs[s * ni + k].path = files->v[s];
            ds->refs[s * ni + k].kind = kind;
        }
        files->v[s] = NULL;
    }
    return ONNXQ_OK;
}

/* ONNX test data: input_K.pb in each test_data_set_N folder, K positional. */
static enum onnxq_status from_test_sets(struct onnxq_dataset *ds, struct strvec *sets, struct onnxq_error *err)
{
    size_t ni = ds->n_inputs;
    enum onnxq_status st = set_refs(ds, sets->n, err);
    if (st)
        return st;
    for (size_t s = 0; s < sets->n; s++) {
        const char *dir = sets->v[s];
        struct strvec names = {0};
        if ((st = list_dir(dir, &names, err)))
            return st;
        size_t n_pb = 0;
        for (size_t i = 0; i < names.n; i++)
            if (strncmp(names.v[i], "input_", 6) == 0 && ends_with_ci(names.v[i], ".pb"))
                n_pb++;
        sv_free(&names);
        if (n_pb != ni)
            return onnxq_fail(err, ONNXQ_E_DATA, "%s: has %zu input_*.pb files but the model feeds %zu input%s", dir,
                              n_pb, ni, ni == 1 ? "" : "s");
        for (size_t k = 0; k < ni; k++) {
            char fname[48];
            snprintf(fname, sizeof(fname), "input_%zu.pb", k);
            char *p = path_join(dir, fname);
            if (!p)
                return nomem(err);
            ds->refs[s * ni + k].path = p;
            ds->refs[s * ni + k].kind = FK_PB;
            struct stat sb;
            if (stat(p, &sb) != 0 || !S_ISREG(sb.st_mode))
                return onnxq_fail(err, ONNXQ_E_DATA, "%s: missing (ONNX test data numbers inputs input_0.pb ...)",
                                  p);
        }
    }
    return ONNXQ_OK;
}

/* root/<input name>/ holding that input's .npy/.pb samples. */
static enum onnxq_status from_input_dirs(struct onnxq_dataset *ds, const char *root, struct onnxq_error *err)
{
    size_t ni = ds->n_inputs;
    struct strvec *per = calloc(ni, sizeof(*per));
    if (!per)
        return nomem(err);
    enum onnxq_status st = ONNXQ_OK;
    for (size_t k = 0; k < ni && !st; k++) {
        char *dir = path_join(root, ds->in[k].name);
        if (!dir) {
            st = nomem(err);
            break;
        }
        if (strchr(ds->in[k].name, '/') || !is_dir(dir)) {
            st = onnxq_fail(err, ONNXQ_E_DATA,
                            "%s: no subfolder for input '%s' (a model with several inputs needs one subfolder "
                            "per input name, .npz files, or test_data_set_N folders)",
                            root, ds->in[k].name);
            free(dir);
            break;
        }
        struct strvec names = {0};
        if ((st = list_dir(dir, &names, err))) {
            free(dir);
            break;
        }
        for (size_t i = 0; i < names.n && !st; i++) {
            char *p = path_join(dir, names.v[i]);
            enum fkind kd = p ? kind_of(p) : FK_NONE;
            struct stat sb;
            if (!p)
                st = nomem(err);
            else if ((kd == FK_NPY || kd == FK_PB) && stat(p, &sb) == 0 && S_ISREG(sb.st_mode))
                st = sv_push(&per[k], p) ? nomem(err) : ONNXQ_OK;
            else
                free(p);
        }
        sv_free(&names);
        if (!st && per[k].n == 0)
            st = onnxq_fail(err, ONNXQ_E_DATA, "%s: no .npy or .pb files for input '%s' (empty dataset)", dir,
                            ds->in[k].name);
        if (!st && k > 0 && per[k].n != per[0].n)
            st = onnxq_fail(err, ONNXQ_E_DATA,
                            "%s: %zu samples for input '%s' but %zu for input '%s'; every input subfolder needs "
                            "the same number of files",
                            dir, per[k].n, ds->in[k].name, per[0].n, ds->in[0].name);
        free(dir);
    }
    if (!st)
        st = set_refs(ds, per[0].n, err);
    if (!st) {
        for (size_t k = 0; k < ni; k++)
            for (size_t s = 0; s < per[k].n; s++) {
                ds->refs[s * ni + k].path = per[k].v[s];
                ds->refs[s * ni + k].kind = kind_of(per[k].v[s]);
                per[k].v[s] = NULL;
            }
    }
    for (size_t k = 0; k < ni; k++)
        sv_free(&per[k]);
    free(per);
    return st;
}

/* One .npy (single input) or .npz (arrays named after the inputs), samples
 * on axis 0. Decoded now; kept for get_batch. */
static enum onnxq_status from_array_file(struct onnxq_dataset *ds, const char *path, enum fkind kind,
                                         struct onnxq_error *err)
{
    size_t ni = ds->n_inputs;
    ds->src = SRC_ARRAY;
    if (!(ds->array_path = xstrdup(path)) || !(ds->arrays = calloc(ni, sizeof(*ds->arrays))) ||
        !(ds->drop_axis = calloc(ni, sizeof(*ds->drop_axis))) || !(ds->rows = calloc(ni, sizeof(*ds->rows))))
        return nomem(err);
    enum onnxq_status st;
    if (kind == FK_NPY) {
        if (ni != 1)
            return onnxq_fail(err, ONNXQ_E_DATA,
                              "%s: one .npy feeds one input but the model has %zu; use an .npz with arrays named "
                              "after the inputs, or one subfolder per input",
                              path, ni);
        if ((st = onnxq_npy_read(path, &ds->arrays[0], err)))
            return st;
    } else {
        char **names = NULL;
        size_t n = 0;
        if ((st = onnxq_npz_list(path, &names, &n, err)))
            return st;
        for (size_t k = 0; k < ni && !st; k++) {
            const char *use = ds->in[k].name;
            bool found = false;
            for (size_t i = 0; i < n; i++)
                found = found || strcmp(names[i], use) == 0;
            if (!found && ni == 1 && n == 1)
                use = names[0];
            st = onnxq_npz_read(path, use, &ds->arrays[k], err);
        }
        for (size_t i = 0; i < n; i++)
            free(names[i]);
        free(names);
        if (st)
            return st;
    }
    size_t count = 0;
    for (size_t k = 0; k < ni; k++) {
        struct onnxq_tensor *a = &ds->arrays[k];
        const struct ds_input *in = &ds->in[k];
        char what[1200];
        if (kind == FK_NPZ)
            snprintf(what, sizeof(what), "%s[%s]", path, in->name);
        else
            snprintf(what, sizeof(what), "%s", path);
        if (a->ndim == 0)
            return onnxq_fail(err, ONNXQ_E_SHAPE, "%s: a scalar array has no sample axis (input '%s')", what,
                              in->name);
        if (a->dtype == ONNXQ_DT_STRING)
            return onnxq_fail(err, ONNXQ_E_UNSUPPORTED, "%s: string data cannot feed input '%s'", what, in->name);
        ds->drop_axis[k] = in->has_shape && a->ndim == in->ndim + 1;
        if (in->has_shape && a->ndim != in->ndim && a->ndim != in->ndim + 1)
            return shape_error(ds, k, what, a->dims, a->ndim,
                               " (samples on axis 0: the array needs the input's rank, or one more)", err);
        /* same rank: consecutive rows form one sample; an input with a fixed
         * batch of B > 1 takes B rows per sample, so a file shaped exactly
         * like the input is one sample */
        ds->rows[k] = 1;
        if (!ds->drop_axis[k] && in->has_shape && in->dims[0] > 1 && ds->batch <= 1)
            ds->rows[k] = (size_t)in->dims[0];
        if (a->dims[0] % (int64_t)ds->rows[k] != 0)
            return shape_error(ds, k, what, a->dims, a->ndim, " (axis 0 must hold whole samples of the input's batch)",
                               err);
        size_t nk = (size_t)a->dims[0] / ds->rows[k];
        if (k > 0 && nk != count)
            return onnxq_fail(err, ONNXQ_E_SHAPE, "%s: %zu samples for input '%s' but %zu for input '%s'", path, nk,
                              in->name, count, ds->in[0].name);
        count = nk;
        /* check dtype and every dim of one sample now; all samples share them */
        if (in->has_shape) {
            struct onnxq_tensor v;
            memset(&v, 0, sizeof(v));
            v.dtype = a->dtype;
            v.ndim = ds->drop_axis[k] ? a->ndim - 1 : a->ndim;
            memcpy(v.dims, ds->drop_axis[k] ? a->dims + 1 : a->dims, sizeof(int64_t) * (size_t)v.ndim);
            if (!ds->drop_axis[k])
                v.dims[0] = (int64_t)ds->rows[k];
            if (in->dtype != ONNXQ_DT_UNDEFINED && v.dtype != in->dtype &&
                !(v.dtype == ONNXQ_DT_DOUBLE && in->dtype == ONNXQ_DT_FLOAT))
                return onnxq_fail(err, ONNXQ_E_SHAPE, "%s: input '%s' expects dtype %s but the data is %s", what,
                                  in->name, onnxq_dtype_name(in->dtype), onnxq_dtype_name(v.dtype));
            for (int d = 0; d < in->ndim; d++) {
                int64_t want = in->dims[d];
                if (d == 0 && want >= 0 && ds->batch > 1)
                    want = 1;
                if (want >= 0 && v.dims[d] != want) {
                    /* report the whole array and say how it was read */
                    return shape_error(ds, k, what, a->dims, a->ndim,
                                       ds->drop_axis[k] ? " (axis 0 holds the samples)"
                                                        : " (axis 0 holds the samples, whole input batches each)",
                                       err);
                }
            }
        } else if (in->dtype != ONNXQ_DT_UNDEFINED && a->dtype != in->dtype &&
                   !(a->dtype == ONNXQ_DT_DOUBLE && in->dtype == ONNXQ_DT_FLOAT)) {
            return onnxq_fail(err, ONNXQ_E_SHAPE, "%s: input '%s' expects dtype %s but the data is %s", what,
                              in->name, onnxq_dtype_name(in->dtype), onnxq_dtype_name(a->dtype));
        }
    }
    ds->n_total = count;
    return ONNXQ_OK;
}

/* A text file of paths, one per line ('#' comments and blank lines skipped;
 * relative paths are relative to the list file's folder). */
static enum onnxq_status from_list(struct onnxq_dataset *ds, const char *path, struct onnxq_error *err)
{
    uint8_t *buf = NULL;
    size_t size = 0;
    enum onnxq_status st = onnxq_read_file(path, &buf, &size, err);
    if (st)
        return st;
    char *dir = xstrdup(path);
    if (!dir) {
        free(buf);
        return nomem(err);
    }
    char *slash = strrchr(dir, '/');
    if (slash)
        slash[1] = '\0';
    else
        dir[0] = '\0';
    struct strvec files = {0};
    enum fkind kind = FK_NONE;
    size_t line_no = 0;
    char *text = (char *)buf;
    size_t pos = 0;
    while (pos < size && !st) {
        size_t end = pos;
        while (end < size && text[end] != '\n')
            end++;
        line_no++;
        size_t a = pos, b = end;
        pos = end + 1;
        while (a < b && isspace((unsigned char)text[a]))
            a++;
        while (b > a && isspace((unsigned char)text[b - 1]))
            b--;
        if (a == b || text[a] == '#')
            continue;
        if (memchr(text + a, '\0', b - a)) {
            st = onnxq_fail(err, ONNXQ_E_PARSE, "%s:%zu: not a text file of paths", path, line_no);
            break;
        }
        size_t dl = text[a] == '/' ? 0 : strlen(dir);
        char *p = malloc(dl + (b - a) + 1);
        if (!p) {
            st = nomem(err);
            break;
        }
        memcpy(p, dir, dl);
        memcpy(p + dl, text + a, b - a);
        p[dl + b - a] = '\0';
        enum fkind kd = kind_of(p);
        struct stat sb;
        if (kd == FK_NONE)
            st = onnxq_fail(err, ONNXQ_E_UNSUPPORTED,
                            "%s:%zu: %s: unknown file type (expected .png, .jpg, .jpeg, .npy, .npz or .pb)", path,
                            line_no, p);
        else if (kind != FK_NONE && kd != kind)
            st = onnxq_fail(err, ONNXQ_E_DATA, "%s:%zu: %s: mixes %s and %s files", path, line_no, p,
                            kind_label[kind], kind_label[kd]);
        else if (stat(p, &sb) != 0)
            st = onnxq_fail(err, ONNXQ_E_IO, "%s:%zu: %s: %s", path, line_no, p, strerror(errno));
        else if (!S_ISREG(sb.st_mode))
            st = onnxq_fail(err, ONNXQ_E_IO, "%s:%zu: %s: not a regular file", path, line_no, p);
        kind = kd;
        if (st)
            free(p);
        else if (sv_push(&files, p))
            st = nomem(err);
    }
    free(buf);
    free(dir);
    if (!st && files.n == 0)
        st = onnxq_fail(err, ONNXQ_E_DATA, "%s: the list names no files (empty dataset)", path);
    if (!st)
        st = from_files(ds, path, &files, kind, err);
    sv_free(&files);
    return st;
}

/* Count "input_K.pb" files and tell whether dir holds test_data_set_* folders. */
static enum onnxq_status find_test_sets(const char *root, struct strvec *sets, bool *self_set,
                                        struct onnxq_error *err)
{
    struct strvec names = {0};
    enum onnxq_status st = list_dir(root, &names, err);
    if (st)
        return st;
    *self_set = false;
    for (size_t i = 0; i < names.n && !st; i++) {
        if (strcmp(names.v[i], "input_0.pb") == 0)
            *self_set = true;
        if (strncmp(names.v[i], "test_data_set_", 14) != 0)
            continue;
        char *p = path_join(root, names.v[i]);
        if (!p)
            st = nomem(err);
        else if (is_dir(p))
            st = sv_push(sets, p) ? nomem(err) : ONNXQ_OK;
        else
            free(p);
    }
    sv_free(&names);
    return st;
}

static enum onnxq_status from_dir(struct onnxq_dataset *ds, const char *root, struct onnxq_error *err)
{
    struct strvec sets = {0};
    bool self_set = false;
    enum onnxq_status st = find_test_sets(root, &sets, &self_set, err);
    if (st)
        return st;
    if (sets.n || self_set) {
        if (!sets.n && sv_push(&sets, xstrdup(root)))
            st = nomem(err);
        if (!st)
            st = from_test_sets(ds, &sets, err);
        sv_free(&sets);
        return st;
    }
    struct strvec files = {0};
    size_t others = 0;
    char *first_other = NULL;
    if (ds->n_inputs > 1) {
        /* one subfolder per input, unless the folder holds only .npz files */
        size_t have = 0;
        for (size_t k = 0; k < ds->n_inputs; k++) {
            char *p = path_join(root, ds->in[k].name);
            if (!p)
                return nomem(err);
            have += !strchr(ds->in[k].name, '/') && is_dir(p);
            free(p);
        }
        if (have) /* all there, or a clear message naming the missing one */
            return from_input_dirs(ds, root, err);
        st = collect(root, 0, &files, &others, &first_other, err);
        free(first_other);
        bool npz_only = !st && files.n > 0;
        for (size_t i = 0; i < files.n && npz_only; i++)
            npz_only = kind_of(files.v[i]) == FK_NPZ;
        /* other data files: from_files explains why they cannot feed several inputs */
        if (!st)
            st = files.n ? from_files(ds, root, &files, npz_only ? FK_NPZ : kind_of(files.v[0]), err)
                         : from_input_dirs(ds, root, err);
        sv_free(&files);
        return st;
    }
    st = collect(root, 0, &files, &others, &first_other, err);
    if (!st && files.n == 0) {
        if (others)
            st = onnxq_fail(err, ONNXQ_E_DATA,
                            "%s: no .png, .jpg, .jpeg, .npy, .npz or .pb files (empty dataset; %zu other file%s "
                            "such as %s)",
                            root, others, others == 1 ? "" : "s", first_other ? first_other : "?");
        else
            st = onnxq_fail(err, ONNXQ_E_DATA, "%s: the folder holds no data files (empty dataset)", root);
    }
    enum fkind kind = FK_NONE;
    for (size_t i = 0; i < files.n && !st; i++) {
        enum fkind kd = kind_of(files.v[i]);
        if (kind != FK_NONE && kd != kind)
            st = onnxq_fail(err, ONNXQ_E_DATA, "%s: mixes %s files (e.g. %s) and %s files (e.g. %s); keep one kind",
                            root, kind_label[kind], files.v[0], kind_label[kd], files.v[i]);
        kind = kd;
    }
    free(first_other);
    if (!st)
        st = from_files(ds, root, &files, kind, err);
    sv_free(&files);
    return st;
}

/* Image options: fill height/width from the model and check the layout. */
static enum onnxq_status resolve_image(struct onnxq_dataset *ds, const struct onnxq_image_options *o,
                                       struct onnxq_error *err)
{
    ds->img = *o;
    const struct ds_input *in = &ds->in[0];
    int C = o->color == ONNXQ_COLOR_GRAY ? 1 : 3;
    char shape[256];
    declared_shape(in, shape, sizeof(shape));
    if (in->dtype != ONNXQ_DT_UNDEFINED && in->dtype != ONNXQ_DT_FLOAT && in->dtype != ONNXQ_DT_DOUBLE &&
        in->dtype != ONNXQ_DT_FLOAT16 && in->dtype != ONNXQ_DT_UINT8)
        return onnxq_fail(err, ONNXQ_E_SHAPE,
                          "input '%s' is %s; images can feed float, double, float16 or uint8 inputs", in->name,
                          onnxq_dtype_name(in->dtype));
    if (in->has_shape && in->ndim != 4)
        return onnxq_fail(err, ONNXQ_E_SHAPE, "input '%s' has shape %s; images feed 4-D inputs (N,C,H,W or N,H,W,C)",
                          in->name, shape);
    int hi = o->layout == ONNXQ_LAYOUT_NHWC ? 1 : 2, ci = o->layout == ONNXQ_LAYOUT_NHWC ? 3 : 1;
    if (in->has_shape && in->dims[ci] >= 0 && in->dims[ci] != C)
        return onnxq_fail(err, ONNXQ_E_SHAPE,
                          "input '%s' has shape %s: dim %d is %lld, not the %d channel%s of %s images in %s layout "
                          "(wrong layout or color?)",
                          in->name, shape, ci, (long long)in->dims[ci], C, C == 1 ? "" : "s",
                          o->color == ONNXQ_COLOR_GRAY ? "gray" : "color",
                          o->layout == ONNXQ_LAYOUT_NHWC ? "NHWC" : "NCHW");
    int *tgt[2] = {&ds->img.height, &ds->img.width};
    const char *what[2] = {"height", "width"};
    for (int i = 0; i < 2; i++) {
        if (*tgt[i] < 0)
            return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "image %s %d is negative", what[i], *tgt[i]);
        if (*tgt[i] > 0)
            continue;
        if (!in->has_shape)
            return onnxq_fail(err, ONNXQ_E_SHAPE, "input '%s' has no declared shape; give the image %s", in->name,
                              what[i]);
        int64_t v = in->dims[hi + i];
        if (v <= 0 || v > 65536)
            return onnxq_fail(err, ONNXQ_E_SHAPE, "input '%s' has shape %s with a symbolic %s; give the image %s",
                              in->name, shape, what[i], what[i]);
        *tgt[i] = (int)v;
    }
    return ONNXQ_OK;
}

static enum onnxq_status describe(struct onnxq_dataset *ds, const char *path, const char *kind_text)
{
    char buf[1400];
    size_t w = 0;
    w += (size_t)snprintf(buf, sizeof(buf), "%zu", ds->size);
    if (ds->size != ds->n_total)
        w += (size_t)snprintf(buf + w, sizeof(buf) - w, " of %zu", ds->n_total);
    w += (size_t)snprintf(buf + w, sizeof(buf) - w, " %s %s", kind_text, path);
    if (ds->batch > 1 && w < sizeof(buf))
        snprintf(buf + w, sizeof(buf) - w, ", batches of %zu", ds->batch);
    ds->desc = xstrdup(buf);
    return ds->desc ? ONNXQ_OK : ONNXQ_E_NOMEM;
}

static const char *kind_text(const struct onnxq_dataset *ds, bool dir, bool list)
{
    if (ds->src == SRC_ARRAY)
        return "samples from";
    enum fkind k = ds->refs[0].kind;
    if (list)
        return k == FK_IMAGE ? "PNG/JPEG images listed in" : "files listed in";
    bool mixed = false;
    for (size_t k2 = 1; k2 < ds->n_inputs; k2++)
        mixed = mixed || ds->refs[k2].kind != k || ds->refs[k2].path != ds->refs[0].path;
    if (mixed || (ds->n_inputs > 1 && k != FK_NPZ))
        return ds->refs[0].kind == FK_PB && strstr(ds->refs[0].path, "test_data_set_") ? "ONNX test data sets from"
                                                                                         : "samples from";
    switch (k) {
    case FK_IMAGE: return dir ? "PNG/JPEG images from" : "PNG/JPEG image";
    case FK_NPY: return dir ? ".npy files from" : ".npy file";
    case FK_NPZ: return dir ? ".npz files from" : ".npz file";
    case FK_PB: return dir ? ".pb files from" : ".pb file";
    default: return "samples from";
    }
}

enum onnxq_status onnxq_dataset_open(const char *path, const struct onnxq_value_info *const *inputs, size_t n_inputs,
                                     const struct onnxq_dataset_options *opts, struct onnxq_dataset **out,
                                     struct onnxq_error *err)
{
    if (!path || !out || (n_inputs && !inputs))
        return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "onnxq_dataset_open: NULL argument");
    if (!n_inputs)
        return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "%s: the model has no inputs to feed", path);
    struct onnxq_dataset_options defaults;
    if (!opts) {
        onnxq_dataset_options_init(&defaults);
        opts = &defaults;
    }
    struct onnxq_dataset *ds = calloc(1, sizeof(*ds));
    if (!ds)
        return nomem(err);
    ds->batch = opts->batch ? opts->batch : 1;
    enum onnxq_status st = copy_inputs(ds, inputs, n_inputs, err);
    if (st)
        goto fail;
    /* batching needs dim 0 symbolic or equal to the batch */
    bool fixed_batch = false;
    if (ds->batch > 1) {
        for (size_t k = 0; k < n_inputs; k++) {
            const struct ds_input *in = &ds->in[k];
            if (!in->has_shape)
                continue;
            if (in->ndim == 0) {
                st = onnxq_fail(err, ONNXQ_E_SHAPE, "%s: input '%s' is a scalar; batch %zu needs a batch axis", path,
                                in->name, ds->batch);
                goto fail;
            }
            if (in->dims[0] >= 0 && (size_t)in->dims[0] != ds->batch) {
                char shape[256];
                declared_shape(in, shape, sizeof(shape));
                st = onnxq_fail(err, ONNXQ_E_SHAPE,
                                "%s: batch %zu does not fit input '%s' of shape %s: dim 0 must be symbolic or %zu",
                                path, ds->batch, in->name, shape, ds->batch);
                goto fail;
            }
            fixed_batch = fixed_batch || in->dims[0] >= 0;
        }
    }

    struct stat sb;
    if (stat(path, &sb) != 0) {
        st = onnxq_fail(err, ONNXQ_E_IO, "%s: %s", path, strerror(errno));
        goto fail;
    }
    bool dir = S_ISDIR(sb.st_mode), list = false;
    if (dir) {
        st = from_dir(ds, path, err);
    } else {
        enum fkind kd = kind_of(path);
        if (kd == FK_NPY || kd == FK_NPZ) {
            st = from_array_file(ds, path, kd, err);
        } else if (kd == FK_IMAGE || kd == FK_PB) {
            struct strvec one = {0};
            st = sv_push(&one, xstrdup(path)) ? nomem(err) : from_files(ds, path, &one, kd, err);
            sv_free(&one);
        } else if (is_list_file(path)) {
            list = true;
            st = from_list(ds, path, err);
        } else {
            st = onnxq_fail(err, ONNXQ_E_UNSUPPORTED,
                            "%s: unknown dataset file type (expected a folder, .png, .jpg, .jpeg, .npy, .npz, .pb, "
                            "or a .txt/.lst list of files)",
                            path);
        }
    }
    if (st)
        goto fail;
    if (ds->n_total == 0) {
        st = onnxq_fail(err, ONNXQ_E_DATA, "%s: no samples (empty dataset)", path);
        goto fail;
    }
    if (ds->src == SRC_FILES && ds->refs[0].kind == FK_IMAGE) {
        if ((st = resolve_image(ds, &opts->image, err))) {
            onnxq_error_prefix(err, "%s: ", path);
            goto fail;
        }
    }

    if (!(ds->order = malloc(ds->n_total * sizeof(size_t)))) {
        st = nomem(err);
        goto fail;
    }
    for (size_t i = 0; i < ds->n_total; i++)
        ds->order[i] = i;
    shuffle(ds->order, ds->n_total, opts->seed);
    ds->size = opts->count && opts->count < ds->n_total ? opts->count : ds->n_total;
    if (fixed_batch) {
        if (ds->size < ds->batch) {
            st = onnxq_fail(err, ONNXQ_E_DATA, "%s: %zu samples are fewer than one batch of %zu, which the model's "
                                               "fixed dim 0 requires",
                            path, ds->size, ds->batch);
            goto fail;
        }
        ds->size -= ds->size % ds->batch;
    }
    if ((st = describe(ds, path, kind_text(ds, dir, list)))) {
        st = nomem(err);
        goto fail;
    }
    *out = ds;
    return ONNXQ_OK;
fail:
    onnxq_dataset_free(ds);
    return st;
}

size_t onnxq_dataset_size(const struct onnxq_dataset *ds)
{
    return ds ? ds->size : 0;
}

size_t onnxq_dataset_batches(const struct onnxq_dataset *ds)
{
    return ds ? (ds->size + ds->batch - 1) / ds->batch : 0;
}

const char *onnxq_dataset_describe(const struct onnxq_dataset *ds)
{
    return ds && ds->desc ? ds->desc : "";
}

void onnxq_dataset_free(struct onnxq_dataset *ds)
{
    if (!ds)
        return;
    if (ds->refs) {
        size_t ni = ds->n_inputs;
        for (size_t s = 0; s < ds->n_total; s++)
            for (size_t k = 0; k < ni; k++)
                if (!ds->refs_shared || k == 0)
                    free(ds->refs[s * ni + k].path);
        free(ds->refs);
    }
    if (ds->arrays)
        for (size_t k = 0; k < ds->n_inputs; k++)
            onnxq_tensor_clear(&ds->arrays[k]);
    free(ds->arrays);
    free(ds->drop_axis);
    free(ds->rows);
    free(ds->array_path);
    if (ds->in)
        for (size_t k = 0; k < ds->n_inputs; k++) {
            free(ds->in[k].name);
            for (int d = 0; d < ONNXQ_MAX_DIMS; d++)
                free(ds->in[k].params[d]);
        }
    free(ds->in);
    free(ds->order);
    free(ds->desc);
    free(ds);
}
