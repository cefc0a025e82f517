/* Shape and data-movement operators (ops/tensor.c).
 *
 *  - Every optimised mover (strided-copy engine with tiled transposes and
 *    coalescing, Concat/Split/Gather/Pad row kernels, Resize nearest and
 *    float plane paths) against its plain reference kernel
 *    (onnxq_tx_run_reference) on random shapes, dtypes and attributes, run
 *    on a 3-thread pool: bit for bit, except float linear/cubic Resize
 *    (tolerance below: the reference sums in double).
 *  - Semantics the ONNX 1.12 backend tests do not cover: Split-18
 *    num_outputs, Pad-18 axes, Pad-19 wrap, Resize-18/19 antialias, axes,
 *    keep_aspect_ratio_policy, half_pixel_symmetric (values from the ONNX
 *    operator docs), nearest ties decided like onnxruntime, string
 *    tensors, Reshape/Shape edge cases, errors.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/threadpool.h"
#include "ir/graph.h"
#include "ops/op.h"
#include "ops/tensor.h"
#include "testutil.h"

/* float linear/cubic Resize: |fast - reference| <= RESIZE_ATOL + RESIZE_RTOL * |reference| */
#define RESIZE_ATOL 1e-5
#define RESIZE_RTOL 1e-5
/* values transcribed from the ONNX docs (printed with ~8 digits) */
#define DOC_TOL 2e-6

static struct onnxq_threadpool *pool;

static void setup(void)
{
    pool = onnxq_threadpool_new(3);
    ck_assert_ptr_nonnull(pool);
}

static void teardown(void)
{
    onnxq_threadpool_free(pool);
    pool = NULL;
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static int64_t rnd(uint64_t *s, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(rng_next(s) % (uint64_t)(hi - lo + 1));
}

/* ------------------------------------------------------------ harness */

#define TN_MAX 24

struct tnode {
    struct onnxq_node n;
    struct onnxq_attr a[TN_MAX];
    char *in[TN_MAX], *out[TN_MAX];
    char names[2 * TN_MAX][8];
    int64_t ints[TN_MAX][2 * ONNXQ_MAX_DIMS];
    float floats[TN_MAX][ONNXQ_MAX_DIMS];
};

static void tn_init(struct tnode *t, const char *op, size_t nin, size_t nout)
{
    memset(t, 0, sizeof(*t));
    t->n.name = (char *)"test";
    t->n.op_type = (char *)op;
    t->n.domain = (char *)"";
    t->n.n_inputs = nin;
    t->n.n_outputs = nout;
    t->n.inputs = t->in;
    t->n.outputs = t->out;
    t->n.attrs = t->a;
    for (size_t i = 0; i < nin; i++) {
        snprintf(t->names[i], sizeof(t->names[i]), "x%zu", i);
        t->in[i] = t->names[i];
    }
    for (size_t i = 0; i < nout; i++) {
        snprintf(t->names[TN_MAX + i], sizeof(t->names[0]), "y%zu", i);
        t->out[i] = t->names[TN_MAX + i];
    }
}

static struct onnxq_attr *tn_attr(struct tnode *t, const char *name, enum onnxq_attr_type ty)
{
    ck_assert_uint_lt(t->n.n_attrs, TN_MAX);
    struct onnxq_attr *a = &t->a[t->n.n_attrs++];
    a->name = (char *)name;
    a->has_type = true;
    a->type = ty;
    return a;
}

static void tn_int(struct tnode *t, const char *name, int64_t v)
{
    struct onnxq_attr *a = tn_attr(t, name, ONNXQ_ATTR_INT);
    a->has_i = true;
    a->i = v;
}

static void tn_float(struct tnode *t, const char *name, float v)
{
    struct onnxq_attr *a = tn_attr(t, name, ONNXQ_ATTR_FLOAT);
    a->has_f = true;
    a->f = v;
}

static void tn_ints(struct tnode *t, const char *name, const int64_t *v, size_t n)
{
    size_t k = t->n.n_attrs;
    struct onnxq_attr *a = tn_attr(t, name, ONNXQ_ATTR_INTS);
    ck_assert_uint_le(n, 2 * ONNXQ_MAX_DIMS);
    memcpy(t->ints[k], v, n * sizeof(int64_t));
    a->ints = t->ints[k];
    a->n_ints = n;
}

static void tn_str(struct tnode *t, const char *name, const char *s)
{
    struct onnxq_attr *a = tn_attr(t, name, ONNXQ_ATTR_STRING);
    a->has_s = true;
    a->s.data = (uint8_t *)(uintptr_t)s;
    a->s.len = strlen(s);
}

/* init + infer_shape + allocate + run (or the reference run) + fini.
 * Outputs are owning tensors the caller clears. */
static enum onnxq_status run_node(struct tnode *t, int64_t opset, const struct onnxq_tensor *const *in, size_t nin,
                                  struct onnxq_tensor *out, size_t nout, bool ref, struct onnxq_error *err)
{
    const struct onnxq_op_def *def = onnxq_op_lookup("", t->n.op_type, opset);
    ck_assert_msg(def != NULL, "no row for %s-%lld", t->n.op_type, (long long)opset);
    const struct onnxq_tensor *consts[TN_MAX] = {NULL};
    struct onnxq_op_init ic = {.node = &t->n, .opset = opset, .err = err, .const_inputs = consts, .n_inputs = nin};
    void *state = NULL;
    enum onnxq_status st = def->init ? def->init(&ic, &state) : ONNXQ_OK;
    if (st)
        return st;
    struct onnxq_tensor *outp[TN_MAX];
    for (size_t i = 0; i < nout; i++) {
        memset(&out[i], 0, sizeof(out[i]));
        outp[i] = &out[i];
    }
    struct onnxq_op_ctx c = {.node = &t->n, .pool = pool, .threads = onnxq_threadpool_size(pool), .n_inputs = nin,
                             .inputs = in, .n_outputs = nout, .outputs = outp, .err = err};
    st = def->infer_shape(state, &c);
    for (size_t i = 0; !st && !c.alloc_in_run && i < nout; i++) {
        struct onnxq_tensor tmp;
        st = onnxq_tensor_alloc(&tmp, out[i].dtype, out[i].ndim, out[i].dims, err);
        if (!st)
            out[i] = tmp;
    }
    if (!st)
        st = ref ? onnxq_tx_run_reference(t->n.op_type, state, &c) : def->run(state, &c);
    if (def->fini)
        def->fini(state);
    return st;
}

static void clear_all(struct onnxq_tensor *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        onnxq_tensor_clear(&t[i]);
}

static void make_tensor(struct onnxq_tensor *t, enum onnxq_dtype dt, int nd, const int64_t *dims)
{
    struct onnxq_error err;
    ck_assert_int_eq(onnxq_tensor_alloc(t, dt, nd, dims, &err), ONNXQ_OK);
}

static void i64_tensor(struct onnxq_tensor *t, size_t n, const int64_t *v)
{
    int64_t d = (int64_t)n;
    make_tensor(t, ONNXQ_DT_INT64, 1, &d);
    if (n)
        memcpy(t->data, v, n * sizeof(int64_t));
}

static void f32_tensor(struct onnxq_tensor *t, int nd, const int64_t *dims, const float *v)
{
    make_tensor(t, ONNXQ_DT_FLOAT, nd, dims);
    if (t->nbytes)
        memcpy(t->data, v, t->nbytes);
}

/* random contents: any bytes for numeric dtypes (NaN patterns included;
 * tensors compare by bits), short strings for STRING */
static void rand_fill(struct onnxq_tensor *t, uint64_t *seed)
{
    size_t n = (size_t)onnxq_tensor_numel(t);
    if (t->dtype == ONNXQ_DT_STRING) {
        struct onnxq_bytes *b = t->data;
        for (size_t i = 0; i < n; i++) {
            size_t len = (size_t)rnd(seed, 0, 6);
            b[i].len = len;
            b[i].data = len ? malloc(len) : NULL;
            for (size_t k = 0; k < len; k++)
                b[i].data[k] = (uint8_t)('a' + rnd(seed, 0, 25));
        }
        return;
    }
    unsigned char *p = t->data;
    for (size_t i = 0; i < t->nbytes; i++)
        p[i] = (unsigned char)rng_next(seed);
}

static void rand_floats(struct onnxq_tensor *t, uint64_t *seed)
{
    float *p = t->data;
    size_t n = (size_t)onnxq_tensor_numel(t);
    for (size_t i = 0; i < n; i++)
        p[i] = (float)rnd(seed, -1000, 1000) / 100.0f;
}

static void expect_equal(const char *what, const struct onnxq_tensor *got, const struct onnxq_tensor *want)
{
    char a[200], b[200];
    onnxq_shape_format(got->dims, got->ndim, a, sizeof(a));
    onnxq_shape_format(want->dims, want->ndim, b, sizeof(b));
    ck_assert_msg(onnxq_tensor_equal(got, want), "%s: optimised %s %s differs from the reference %s %s", what,
                  onnxq_dtype_name(got->dtype), a, onnxq_dtype_name(want->dtype), b);
}

static void expect_f32(const char *what, const struct onnxq_tensor *got, const float *want, size_t n, double atol,
                       double rtol)
{
    ck_assert_int_eq(got->dtype, ONNXQ_DT_FLOAT);
    ck_assert_msg((size_t)onnxq_tensor_numel(got) == n, "%s: %lld elements, expected %zu", what,
                  (long long)onnxq_tensor_numel(got), n);
    const float *g = got->data;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)g[i] - (double)want[i]);
        if (!(d <= atol + rtol * fabs((double)want[i])))
            ck_abort_msg("%s: element %zu is %.9g, expected %.9g", what, i, (double)g[i], (double)want[i]);
    }
}

static void expect_i64(const char *what, const struct onnxq_tensor *got, const int64_t *want, size_t n)
{
    ck_assert_int_eq(got->dtype, ONNXQ_DT_INT64);
    ck_assert_msg((size_t)onnxq_tensor_numel(got) == n, "%s: %lld elements, expected %zu", what,
                  (long long)onnxq_tensor_numel(got), n);
    for (size_t i = 0; i < n; i++)
        if (((const int64_t *)got->data)[i] != want[i])
            ck_abort_msg("%s: element %zu is %lld, expected %lld", what, i,
                         (long long)((const int64_t *)got->data)[i], (long long)want[i]);
}

static void expect_dims(const char *what, const struct onnxq_tensor *t, int nd, const int64_t *dims)
{
    char a[200], b[200];
    onnxq_shape_format(t->dims, t->ndim, a, sizeof(a));
    onnxq_shape_format(dims, nd, b, sizeof(b));
    ck_assert_msg(strcmp(a, b) == 0, "%s: shape %s, expected %s", what, a, b);
}

/* Run the op and its reference on the same inputs; both must succeed or
 * both fail. Returns true if they ran. */
static bool compare_with_reference(const char *what, struct tnode *t, int64_t opset,
                                   const struct onnxq_tensor *const *in, size_t nin, size_t nout, bool exact)
{
    struct onnxq_tensor got[TN_MAX], want[TN_MAX];
    struct onnxq_error e1, e2;
    enum onnxq_status s1 = run_node(t, opset, in, nin, got, nout, false, &e1);
    enum onnxq_status s2 = run_node(t, opset, in, nin, want, nout, true, &e2);
    ck_assert_msg(s1 == s2, "%s: optimised status %d (%s), reference %d (%s)", what, s1, s1 ? e1.message : "",
                  s2, s2 ? e2.message : "");
    if (!s1) {
        for (size_t i = 0; i < nout; i++) {
            if (exact) {
                expect_equal(what, &got[i], &want[i]);
            } else {
                expect_dims(what, &got[i], want[i].ndim, want[i].dims);
                expect_f32(what, &got[i], want[i].data, (size_t)onnxq_tensor_numel(&want[i]), RESIZE_ATOL,
                           RESIZE_RTOL);
            }
        }
    }
    clear_all(got, nout);
    clear_all(want, nout);
    return s1 == ONNXQ_OK;
}

static const enum onnxq_dtype mover_dtypes[] = {ONNXQ_DT_FLOAT, ONNXQ_DT_UINT8, ONNXQ_DT_FLOAT16, ONNXQ_DT_INT64,
                                                ONNXQ_DT_FLOAT, ONNXQ_DT_STRING, ONNXQ_DT_BOOL, ONNXQ_DT_DOUBLE};

static enum onnxq_dtype rand_dtype(uint64_t *s)
{
    return mover_dtypes[rnd(s, 0, (int64_t)(sizeof(mover_dtypes) / sizeof(mover_dtypes[0])) - 1)];
}

/* random rank and dims, at most 60000 elements */
static int rand_shape(uint64_t *s, int64_t *dims, int minr, int maxr, int64_t maxd)
{
    int r = (int)rnd(s, minr, maxr);
    int64_t n = 1;
    for (int d = 0; d < r; d++) {
        dims[d] = rnd(s, 1, maxd);
        while (n * dims[d] > 60000)
            dims[d] /= 2;
        n *= dims[d];
    }
    return r;
}

/* ------------------------------------------------------- mover tests */

START_TEST(transpose_matches_reference)
{
    uint64_t seed = 0x1234567ull;
    int ran = 0;
    for (int c = 0; c < 160; c++) {
        int64_t dims[ONNXQ_MAX_DIMS];
        int r = rand_shape(&seed, dims, 1, 6, c % 4 == 0 ? 40 : 7);
        if (c % 16 == 5) { /* big NCHW <-> NHWC, the tiled path */
            int64_t d4[4] = {2, 37, 45, 33};
            memcpy(dims, d4, sizeof(d4));
            r = 4;
        }
        struct onnxq_tensor x;
        make_tensor(&x, rand_dtype(&seed), r, dims);
        rand_fill(&x, &seed);
        int64_t perm[ONNXQ_MAX_DIMS];
        for (int i = 0; i < r; i++)
            perm[i] = i;
        for (int i = r - 1; i > 0; i--) {
            int j = (int)rnd(&seed, 0, i);
            int64_t tmp = perm[i];
            perm[i] = perm[j];
            perm[j] = tmp;
        }
        struct tnode t;
        tn_init(&t, "Transpose", 1, 1);
        if (c % 7)
            tn_ints(&t, "perm", perm, (size_t)r);
        const struct onnxq_tensor *in[1] = {&x};
        ran += compare_with_reference("Transpose", &t, 13, in, 1, 1, true);
        onnxq_tensor_clear(&x);
    }
    ck_assert_int_eq(ran, 160);
}
END_TEST

START_TEST(slice_expand_tile_match_reference)
{
    uint64_t seed = 0xabcdefull;
    int ran = 0;
    for (int c = 0; c < 150; c++) {
        int64_t dims[ONNXQ_MAX_DIMS];
        int r = rand_shape(&seed, dims, 1, 5, c % 5 == 0 ? 30 : 6);
        struct onnxq_tensor x;
        make_tensor(&x, rand_dtype(&seed), r, dims);
        rand_fill(&x, &seed);
        const struct onnxq_tensor *in[5] = {&x};
        struct tnode t;
        struct onnxq_tensor aux[4];
        memset(aux, 0, sizeof(aux));
        int64_t a[ONNXQ_MAX_DIMS], b[ONNXQ_MAX_DIMS], ax[ONNXQ_MAX_DIMS], st[ONNXQ_MAX_DIMS];
        /* Slice: random subset of axes, negative steps, out-of-range bounds */
        size_t n = (size_t)rnd(&seed, 1, r);
        for (size_t i = 0; i < n; i++) {
            ax[i] = (int64_t)i - (c % 2 ? r : 0);
            st[i] = rnd(&seed, -3, 3);
            if (!st[i])
                st[i] = 1;
            a[i] = rnd(&seed, -dims[i] - 2, dims[i] + 2);
            b[i] = c % 9 == 0 ? (st[i] > 0 ? INT64_MAX : INT64_MIN) : rnd(&seed, -dims[i] - 2, dims[i] + 2);
        }
        i64_tensor(&aux[0], n, a);
        i64_tensor(&aux[1], n, b);
        i64_tensor(&aux[2], n, ax);
        i64_tensor(&aux[3], n, st);
        for (int k = 0; k < 4; k++)
            in[k + 1] = &aux[k];
        tn_init(&t, "Slice", 5, 1);
        ran += compare_with_reference("Slice", &t, 13, in, 5, 1, true);
        clear_all(aux, 4);
        /* Expand: put 1s in the input and broadcast them, maybe add dims */
        struct onnxq_tensor xe;
        int64_t ed[ONNXQ_MAX_DIMS], sh[ONNXQ_MAX_DIMS];
        int extra = (int)rnd(&seed, 0, 2);
        for (int d = 0; d < r; d++) {
            ed[d] = rnd(&seed, 0, 2) == 0 ? 1 : dims[d];
            sh[extra + d] = ed[d] == 1 ? rnd(&seed, 1, 5) : (rnd(&seed, 0, 3) == 0 ? 1 : ed[d]);
        }
        for (int d = 0; d < extra; d++)
            sh[d] = rnd(&seed, 1, 3);
        make_tensor(&xe, x.dtype, r, ed);
        rand_fill(&xe, &seed);
        i64_tensor(&aux[0], (size_t)(r + extra), sh);
        in[0] = &xe;
        in[1] = &aux[0];
        tn_init(&t, "Expand", 2, 1);
        ran += compare_with_reference("Expand", &t, 13, in, 2, 1, true);
        clear_all(aux, 1);
        /* Tile */
        int64_t rep[ONNXQ_MAX_DIMS];
        for (int d = 0; d < r; d++)
            rep[d] = rnd(&seed, 0, 3);
        i64_tensor(&aux[0], (size_t)r, rep);
        in[0] = &x;
        tn_init(&t, "Tile", 2, 1);
        ran += compare_with_reference("Tile", &t, 13, in, 2, 1, true);
        clear_all(aux, 1);
        onnxq_tensor_clear(&xe);
        onnxq_tensor_clear(&x);
    }
    ck_assert_int_eq(ran, 450);
}
END_TEST

START_TEST(concat_split_gather_match_reference)
{
    uint64_t seed = 0x5eed5eedull;
    int ran = 0;
    for (int c = 0; c < 120; c++) {
        int64_t dims[ONNXQ_MAX_DIMS];
        int r = rand_shape(&seed, dims, 1, 5, c % 6 == 0 ? 64 : 5);
        enum onnxq_dtype dt = rand_dtype(&seed);
        int axis = (int)rnd(&seed, 0, r - 1);
        struct onnxq_tensor xs[20];
        const struct onnxq_tensor *in[20];
        size_t n = c % 10 == 7 ? 20 : (size_t)rnd(&seed, 1, 4);  /* 20: more than the in-struct pieces */
        for (size_t i = 0; i < n; i++) {
            int64_t d[ONNXQ_MAX_DIMS];
            memcpy(d, dims, sizeof(d));
            d[axis] = rnd(&seed, 0, 6);
            make_tensor(&xs[i], dt, r, d);
            rand_fill(&xs[i], &seed);
            in[i] = &xs[i];
        }
        struct tnode t;
        tn_init(&t, "Concat", n, 1);
        tn_int(&t, "axis", c % 2 ? axis : axis - r);
        ran += compare_with_reference("Concat", &t, 13, in, n, 1, true);
        /* Split the first input (opset 18: num_outputs or sizes) */
        struct onnxq_tensor sp;
        int64_t sizes[3], dim = xs[0].dims[axis];
        sizes[0] = rnd(&seed, 0, dim);
        sizes[1] = rnd(&seed, 0, dim - sizes[0]);
        sizes[2] = dim - sizes[0] - sizes[1];
        i64_tensor(&sp, 3, sizes);
        const struct onnxq_tensor *sin[2] = {&xs[0], &sp};
        tn_init(&t, "Split", 2, 3);
        tn_int(&t, "axis", axis);
        ran += compare_with_reference("Split", &t, 13, sin, 2, 3, true);
        onnxq_tensor_clear(&sp);
        /* Gather with int32 or int64 indices, some negative */
        if (xs[0].dims[axis] > 0) {
            struct onnxq_tensor idx;
            int64_t id[2] = {rnd(&seed, 1, 4), rnd(&seed, 1, 3)};
            int ind = (int)rnd(&seed, 0, 2);
            make_tensor(&idx, c % 2 ? ONNXQ_DT_INT32 : ONNXQ_DT_INT64, ind, id);
            size_t m = (size_t)onnxq_tensor_numel(&idx);
            for (size_t i = 0; i < m; i++) {
                int64_t v = rnd(&seed, -dim, dim - 1);
                if (idx.dtype == ONNXQ_DT_INT32)
                    ((int32_t *)idx.data)[i] = (int32_t)v;
                else
                    ((int64_t *)idx.data)[i] = v;
            }
            const struct onnxq_tensor *gin[2] = {&xs[0], &idx};
            tn_init(&t, "Gather", 2, 1);
            tn_int(&t, "axis", axis);
            ran += compare_with_reference("Gather", &t, 13, gin, 2, 1, true);
            onnxq_tensor_clear(&idx);
        } else {
            ran++;
        }
        clear_all(xs, n);
    }
    ck_assert_int_eq(ran, 360);
}
END_TEST

START_TEST(pad_space_match_reference)
{
    uint64_t seed = 0x77aa11ull;
    static const char *const modes[] = {"constant", "reflect", "edge", "wrap"};
    int ran = 0;
    for (int c = 0; c < 120; c++) {
        int64_t dims[ONNXQ_MAX_DIMS];
        int r = rand_shape(&seed, dims, 1, 4, c % 5 == 0 ? 50 : 6);
        struct onnxq_tensor x, pads, cv;
        make_tensor(&x, c % 3 ? ONNXQ_DT_FLOAT : ONNXQ_DT_INT64, r, dims);
        rand_fill(&x, &seed);
        const char *mode = modes[c % 4];
        int64_t p[2 * ONNXQ_MAX_DIMS];
        for (int d = 0; d < r; d++) {
            int64_t lim = strcmp(mode, "reflect") == 0 ? 2 * dims[d] + 1 : 7;
            p[d] = rnd(&seed, -dims[d] / 2, lim);
            p[r + d] = rnd(&seed, -dims[d] / 2, lim);
        }
        i64_tensor(&pads, (size_t)(2 * r), p);
        make_tensor(&cv, x.dtype, 0, NULL);
        rand_fill(&cv, &seed);
        const struct onnxq_tensor *in[3] = {&x, &pads, &cv};
        struct tnode t;
        tn_init(&t, "Pad", 3, 1);
        tn_str(&t, "mode", mode);
        ran += compare_with_reference("Pad", &t, 19, in, 3, 1, true);
        onnxq_tensor_clear(&x);
        onnxq_tensor_clear(&pads);
        onnxq_tensor_clear(&cv);
    }
    ck_assert_int_eq(ran, 120);
    for (int c = 0; c < 24; c++) {
        int64_t b = rnd(&seed, 1, 3), dims[4] = {rnd(&seed, 1, 2), b * b * rnd(&seed, 1, 3), b * rnd(&seed, 1, 9),
                                                  b * rnd(&seed, 1, 9)};
        struct onnxq_tensor x;
        make_tensor(&x, rand_dtype(&seed), 4, dims);
        rand_fill(&x, &seed);
        const struct onnxq_tensor *in[1] = {&x};
        struct tnode t;
        tn_init(&t, c % 2 ? "DepthToSpace" : "SpaceToDepth", 1, 1);
        tn_int(&t, "blocksize", b);
        if (c % 4 == 1)
            tn_str(&t, "mode", "CRD");
        ck_assert(compare_with_reference(t.n.op_type, &t, 13, in, 1, 1, true));
        onnxq_tensor_clear(&x);
    }
}
END_TEST

/* DepthToSpace(DCR) undoes SpaceToDepth */
START_TEST(space_round_trip)
{
    uint64_t seed = 99;
    int64_t dims[4] = {2, 3, 8, 6};
    struct onnxq_tensor x, y[1], z[1];
    struct onnxq_error err;
    make_tensor(&x, ONNXQ_DT_FLOAT, 4, dims);
    rand_fill(&x, &seed);
    struct tnode t;
    tn_init(&t, "SpaceToDepth", 1, 1);
    tn_int(&t, "blocksize", 2);
    const struct onnxq_tensor *in[1] = {&x};
    ck_assert_int_eq(run_node(&t, 13, in, 1, y, 1, false, &err), ONNXQ_OK);
    tn_init(&t, "DepthToSpace", 1, 1);
    tn_int(&t, "blocksize", 2);
    in[0] = &y[0];
    ck_assert_int_eq(run_node(&t, 13, in, 1, z, 1, false, &err), ONNXQ_OK);
    expect_equal("SpaceToDepth then DepthToSpace", &z[0], &x);
    onnxq_tensor_clear(&x);
    clear_all(y, 1);
    clear_all(z, 1);
}
END_TEST

/* ------------------------------------------------------------ Resize */

START_TEST(resize_matches_reference)
{
    uint64_t seed = 0xfeedull;
    static const char *const coords[] = {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                                         "tf_crop_and_resize", "half_pixel_symmetric"};
    static const char *const nears[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    static const char *const modes[] = {"nearest", "linear", "cubic"};
    int ran = 0;
    for (int c = 0; c < 200; c++) {
        const char *mode = modes[c % 3];
        int r = (int)rnd(&seed, 1, 4);
        int64_t dims[4];
        for (int d = 0; d < r; d++)
            dims[d] = d < r - 2 ? rnd(&seed, 1, 3) : rnd(&seed, 1, c % 10 == 0 ? 60 : 9);
        struct onnxq_tensor x, roi, sc, sz;
        enum onnxq_dtype dt = ONNXQ_DT_FLOAT;
        if (!strcmp(mode, "nearest") && c % 2)
            dt = c % 4 == 1 ? ONNXQ_DT_INT64 : ONNXQ_DT_UINT8;
        make_tensor(&x, dt, r, dims);
        if (dt == ONNXQ_DT_FLOAT)
            rand_floats(&x, &seed);
        else
            rand_fill(&x, &seed);
        /* usually resize only the last two axes (the fast float path) */
        bool all_axes = c % 5 == 4;
        float scales[4];
        int64_t sizes[4];
        float rv[8];
        for (int d = 0; d < r; d++) {
            bool resized = all_axes || d >= r - 2;
            static const float pick[] = {2.0f, 0.5f, 3.0f, 0.6f, 1.7f, 0.8f, 4.0f, 1.0f};
            scales[d] = resized ? pick[rnd(&seed, 0, 7)] : 1.0f;
            sizes[d] = resized ? rnd(&seed, 1, 2 * dims[d] + 3) : dims[d];
            rv[d] = resized ? (float)rnd(&seed, 0, 40) / 100.0f : 0.0f;
            rv[r + d] = resized ? (float)rnd(&seed, 60, 120) / 100.0f : 1.0f;
        }
        int64_t nr = 2 * r, nr1 = r;
        f32_tensor(&roi, 1, &nr, rv);
        f32_tensor(&sc, 1, &nr1, scales);
        i64_tensor(&sz, (size_t)r, sizes);
        bool use_sizes = c % 3 == 1;
        struct onnxq_tensor empty;
        int64_t zero = 0;
        make_tensor(&empty, ONNXQ_DT_FLOAT, 1, &zero);
        const struct onnxq_tensor *in[4] = {&x, &roi, use_sizes ? &empty : &sc, use_sizes ? &sz : NULL};
        struct tnode t;
        tn_init(&t, "Resize", use_sizes ? 4 : 3, 1);
        tn_str(&t, "mode", mode);
        tn_str(&t, "coordinate_transformation_mode", coords[rnd(&seed, 0, 5)]);
        if (!strcmp(mode, "nearest"))
            tn_str(&t, "nearest_mode", nears[rnd(&seed, 0, 3)]);
        else if (c % 4 == 2)
            tn_int(&t, "antialias", 1);
        if (c % 7 == 3)
            tn_int(&t, "exclude_outside", 1);
        if (c % 6 == 1)
            tn_float(&t, "cubic_coeff_a", -0.5f);
        tn_float(&t, "extrapolation_value", 7.5f);
        ran += compare_with_reference("Resize", &t, 19, in, use_sizes ? 4 : 3, 1,
                                      dt != ONNXQ_DT_FLOAT || !strcmp(mode, "nearest"));
        onnxq_tensor_clear(&x);
        onnxq_tensor_clear(&roi);
        onnxq_tensor_clear(&sc);
        onnxq_tensor_clear(&sz);
        onnxq_tensor_clear(&empty);
    }
    ck_assert_int_eq(ran, 200);
}
END_TEST

static void resize_doc_case(const char *mode, const char *coord, bool antialias, const float *scales,
                            const int64_t *sizes, const int64_t *axes, size_t naxes, const char *policy,
                            const float *roi, const float *data, int64_t h, int64_t w, const float *want, int64_t oh,
                            int64_t ow)
{
    struct onnxq_tensor x, roi_t, sc, sz, y[1];
    struct onnxq_error err;
    int64_t dims[4] = {1, 1, h, w}, n = naxes ? (int64_t)naxes : 4, n2 = 2 * n;
    f32_tensor(&x, 4, dims, data);
    memset(&roi_t, 0, sizeof(roi_t));
    memset(&sc, 0, sizeof(sc));
    memset(&sz, 0, sizeof(sz));
    if (roi)
        f32_tensor(&roi_t, 1, &n2, roi);
    if (scales)
        f32_tensor(&sc, 1, &n, scales);
    if (sizes)
        i64_tensor(&sz, (size_t)n, sizes);
    const struct onnxq_tensor *in[4] = {&x, roi ? &roi_t : NULL, scales ? &sc : NULL, sizes ? &sz : NULL};
    struct tnode t;
    tn_init(&t, "Resize", sizes ? 4 : 3, 1);
    tn_str(&t, "mode", mode);
    if (coord)
        tn_str(&t, "coordinate_transformation_mode", coord);
    if (antialias)
        tn_int(&t, "antialias", 1);
    if (naxes)
        tn_ints(&t, "axes", axes, naxes);
    if (policy)
        tn_str(&t, "keep_aspect_ratio_policy", policy);
    for (int ref = 0; ref < 2; ref++) {
        ck_assert_int_eq(run_node(&t, 19, in, sizes ? 4 : 3, y, 1, ref, &err), ONNXQ_OK);
        int64_t od[4] = {1, 1, oh, ow};
        expect_dims(mode, &y[0], 4, od);
        expect_f32(mode, &y[0], want, (size_t)(oh * ow), DOC_TOL, DOC_TOL);
        clear_all(y, 1);
    }
    onnxq_tensor_clear(&x);
    onnxq_tensor_clear(&roi_t);
    onnxq_tensor_clear(&sc);
    onnxq_tensor_clear(&sz);
}

START_TEST(resize_opset18_19)
{
    static const float d16[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    static const float s06[4] = {1, 1, 0.6f, 0.6f};
    static const int64_t s33[4] = {1, 1, 3, 3};
    {
        static const float w[4] = {2.875f, 4.5f, 9.375f, 11.0f};
        resize_doc_case("linear", NULL, true, s06, NULL, NULL, 0, NULL, NULL, d16, 4, 4, w, 2, 2);
    }
    {
        static const float w[9] = {2.3636363f, 3.590909f, 4.818182f, 7.2727275f, 8.5f,
                                   9.727273f,  12.181818f, 13.409091f, 14.636364f};
        resize_doc_case("linear", NULL, true, NULL, s33, NULL, 0, NULL, NULL, d16, 4, 4, w, 3, 3);
    }
    {
        static const float w[4] = {2.5180721f, 4.2858863f, 9.589329f, 11.357142f};
        resize_doc_case("cubic", NULL, true, s06, NULL, NULL, 0, NULL, NULL, d16, 4, 4, w, 2, 2);
    }
    {
        static const float w[9] = {1.7750092f, 3.1200073f, 4.4650054f, 7.1550016f, 8.5f,
                                   9.844998f,  12.534994f, 13.8799925f, 15.224991f};
        resize_doc_case("cubic", NULL, true, NULL, s33, NULL, 0, NULL, NULL, d16, 4, 4, w, 3, 3);
    }
    {
        /* axes [3, 2]: roi and sizes follow the axes order */
        static const int64_t ax[2] = {3, 2}, sz[2] = {3, 3};
        static const float roi[4] = {0.6f, 0.4f, 0.8f, 0.6f};
        static const float w[9] = {7.6000004f, 7.9f, 8.2f, 8.8f, 9.1f, 9.400001f, 10.0f, 10.3f, 10.6f};
        resize_doc_case("linear", "tf_crop_and_resize", false, NULL, sz, ax, 2, NULL, roi, d16, 4, 4, w, 3, 3);
    }
    {
        static const float d4[4] = {1, 2, 3, 4};
        static const int64_t ax[2] = {2, 3}, sz[2] = {7, 8};
        float w[49];
        for (int i = 0; i < 7; i++)
            for (int j = 0; j < 7; j++)
                w[i * 7 + j] = (float)((i < 4 ? 1 : 3) + (j < 4 ? 0 : 1));
        resize_doc_case("nearest", NULL, false, NULL, sz, ax, 2, "not_larger", NULL, d4, 2, 2, w, 7, 7);
        float w8[64];
        for (int i = 0; i < 8; i++)
            for (int j = 0; j < 8; j++)
                w8[i * 8 + j] = (float)((i < 4 ? 1 : 3) + (j < 4 ? 0 : 1));
        resize_doc_case("nearest", NULL, false, NULL, sz, ax, 2, "not_smaller", NULL, d4, 2, 2, w8, 8, 8);
    }
    {
        static const float d8[8] = {1, 2, 3, 4, 5, 6, 7, 8};
        static const int64_t ax[2] = {2, 3}, sz[2] = {1, 3};
        static const float w1[2] = {1, 3}, w2[6] = {1, 2, 4, 5, 6, 8};
        resize_doc_case("nearest", NULL, false, NULL, sz, ax, 2, "not_larger", NULL, d8, 2, 4, w1, 1, 2);
        resize_doc_case("nearest", NULL, false, NULL, sz, ax, 2, "not_smaller", NULL, d8, 2, 4, w2, 2, 3);
    }
    {
        static const float d4[4] = {1, 2, 3, 4}, sc[4] = {1, 1, 1, 0.6f};
        static const float w[2] = {1.6666667f, 3.3333333f};
        resize_doc_case("linear", "half_pixel_symmetric", false, sc, NULL, NULL, 0, NULL, NULL, d4, 1, 4, w, 1, 2);
    }
}
END_TEST

/* Nearest ties are decided in float like onnxruntime: 1.7f makes
 * (8 + 0.5) / 1.7 - 0.5 exactly 4.5 in float (4.4999999 in double), so
 * round_prefer_ceil picks pixel 5 there. */
START_TEST(resize_nearest_ties_follow_onnxruntime)
{
    static const float d9[9] = {0, 1, 2, 3, 4, 5, 6, 7, 8};
    static const float sc[4] = {1, 1, 1, 1.7f};
    struct onnxq_tensor x, roi, s, y[1];
    struct onnxq_error err;
    int64_t dims[4] = {1, 1, 1, 9}, four = 4, zero = 0;
    f32_tensor(&x, 4, dims, d9);
    f32_tensor(&s, 1, &four, sc);
    make_tensor(&roi, ONNXQ_DT_FLOAT, 1, &zero);
    const struct onnxq_tensor *in[3] = {&x, &roi, &s};
    struct tnode t;
    tn_init(&t, "Resize", 3, 1);
    tn_str(&t, "mode", "nearest");
    tn_str(&t, "nearest_mode", "round_prefer_ceil");
    ck_assert_int_eq(run_node(&t, 13, in, 3, y, 1, false, &err), ONNXQ_OK);
    expect_dims("Resize 1.7", &y[0], 4, (const int64_t[]){1, 1, 1, 15});
    ck_assert(((const float *)y[0].data)[8] == 5.0f);
    clear_all(y, 1);
    onnxq_tensor_clear(&x);
    onnxq_tensor_clear(&s);
    onnxq_tensor_clear(&roi);
}
END_TEST

/* Resize-10 and Upsample: asymmetric coordinates; nearest truncates when
 * upsampling and rounds up when downsampling (onnxruntime's rule for
 * opset < 11; values checked against onnxruntime-node) */
START_TEST(resize10_upsample7)
{
    float d[63];
    for (int i = 0; i < 63; i++)
        d[i] = (float)i;
    static const float sc[4] = {1, 1, 0.5f, 0.6f};
    struct onnxq_tensor x, s, y[1];
    struct onnxq_error err;
    int64_t dims[4] = {1, 1, 7, 9}, four = 4;
    f32_tensor(&x, 4, dims, d);
    f32_tensor(&s, 1, &four, sc);
    const struct onnxq_tensor *in[2] = {&x, &s};
    struct tnode t;
    tn_init(&t, "Resize", 2, 1);
    ck_assert_int_eq(run_node(&t, 10, in, 2, y, 1, false, &err), ONNXQ_OK);
    {
        static const int rows[3] = {0, 2, 4}, cols[5] = {0, 2, 4, 5, 7};
        float w[15];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 5; j++)
                w[i * 5 + j] = (float)(rows[i] * 9 + cols[j]);
        expect_dims("Resize-10", &y[0], 4, (const int64_t[]){1, 1, 3, 5});
        expect_f32("Resize-10", &y[0], w, 15, 0, 0);
    }
    clear_all(y, 1);
    /* Upsample-7: scales attribute, linear, clamped at the far edge */
    tn_init(&t, "Upsample", 1, 1);
    tn_str(&t, "mode", "linear");
    {
        struct onnxq_attr *a = tn_attr(&t, "scales", ONNXQ_ATTR_FLOATS);
        static float f[4] = {1, 1, 1, 2};
        a->floats = f;
        a->n_floats = 4;
    }
    ck_assert_int_eq(run_node(&t, 7, in, 1, y, 1, false, &err), ONNXQ_OK);
    expect_dims("Upsample-7", &y[0], 4, (const int64_t[]){1, 1, 7, 18});
    {
        const float *o = y[0].data;
        ck_assert(o[0] == 0.0f && o[1] == 0.5f && o[16] == 8.0f && o[17] == 8.0f);
    }
    clear_all(y, 1);
    onnxq_tensor_clear(&x);
    onnxq_tensor_clear(&s);
}
END_TEST

/* PP-OCR det style: nearest x2, asymmetric/floor, and bilinear x4 */
START_TEST(resize_upsample_nchw)
{
    uint64_t seed = 5;
    int64_t dims[4] = {1, 24, 40, 40};
    struct onnxq_tensor x, roi, sc;
    int64_t four = 4, zero = 0;
    make_tensor(&x, ONNXQ_DT_FLOAT, 4, dims);
    rand_floats(&x, &seed);
    make_tensor(&roi, ONNXQ_DT_FLOAT, 1, &zero);
    const float s2[4] = {1, 1, 2, 2}, s4[4] = {1, 1, 4, 4};
    for (int k = 0; k < 2; k++) {
        f32_tensor(&sc, 1, &four, k ? s4 : s2);
        const struct onnxq_tensor *in[3] = {&x, &roi, &sc};
        struct tnode t;
        tn_init(&t, "Resize", 3, 1);
        tn_str(&t, "mode", k ? "linear" : "nearest");
        tn_str(&t, "coordinate_transformation_mode", k ? "half_pixel" : "asymmetric");
        tn_str(&t, "nearest_mode", "floor");
        ck_assert(compare_with_reference("Resize", &t, 11, in, 3, 1, k == 0));
        if (k == 0) {
            struct onnxq_tensor y[1];
            struct onnxq_error err;
            ck_assert_int_eq(run_node(&t, 11, in, 3, y, 1, false, &err), ONNXQ_OK);
            const float *xp = x.data, *yp = y[0].data;
            for (int c = 0; c < 24; c++)
                for (int i = 0; i < 80; i++)
                    for (int j = 0; j < 80; j++)
                        if (yp[(c * 80 + i) * 80 + j] != xp[(c * 40 + i / 2) * 40 + j / 2])
                            ck_abort_msg("nearest x2: output (%d,%d,%d) is wrong", c, i, j);
            clear_all(y, 1);
        }
        onnxq_tensor_clear(&sc);
    }
    onnxq_tensor_clear(&x);
    onnxq_tensor_clear(&roi);
}
END_TEST

/* --------------------------------------------------------- semantics */

START_TEST(reshape_rules)
{
    struct onnxq_error err;
    int64_t dims[3] = {2, 3, 4};
    struct onnxq_tensor x, s, y[1];
    make_tensor(&x, ONNXQ_DT_INT64, 3, dims);
    for (int i = 0; i < 24; i++)
        ((int64_t *)x.data)[i] = i;
    const struct onnxq_tensor *in[2] = {&x, &s};
    struct tnode t;
    tn_init(&t, "Reshape", 2, 1);
    /* 0 copies a dim, -1 infers */
    i64_tensor(&s, 2, (const int64_t[]){0, -1});
    ck_assert_int_eq(run_node(&t, 14, in, 2, y, 1, false, &err), ONNXQ_OK);
    expect_dims("Reshape [0,-1]", &y[0], 2, (const int64_t[]){2, 12});
    ck_assert(memcmp(y[0].data, x.data, x.nbytes) == 0);
    clear_all(y, 1);
    onnxq_tensor_clear(&s);
    /* two -1s, a bad count, an out-of-range 0: errors naming the shapes */
    i64_tensor(&s, 2, (const int64_t[]){-1, -1});
    ck_assert_int_eq(run_node(&t, 14, in, 2, y, 1, false, &err), ONNXQ_E_SHAPE);
    clear_all(y, 1);
    onnxq_tensor_clear(&s);
    i64_tensor(&s, 2, (const int64_t[]){5, -1});
    ck_assert_int_eq(run_node(&t, 14, in, 2, y, 1, false, &err), ONNXQ_E_SHAPE);
    ck_assert_msg(strstr(err.message, "[2,3,4]") != NULL, "message: %s", err.message);
    clear_all(y, 1);
    onnxq_tensor_clear(&s);
    /* allowzero: a 0 is a real zero-size dim */
    onnxq_tensor_clear(&x);
    make_tensor(&x, ONNXQ_DT_FLOAT, 2, (const int64_t[]){0, 3});
    i64_tensor(&s, 2, (const int64_t[]){3, 0});
    tn_int(&t, "allowzero", 1);
    ck_assert_int_eq(run_node(&t, 14, in, 2, y, 1, false, &err), ONNXQ_OK);
    expect_dims("Reshape allowzero", &y[0], 2, (const int64_t[]){3, 0});
    clear_all(y, 1);
    onnxq_tensor_clear(&s);
    onnxq_tensor_clear(&x);
}
END_TEST

START_TEST(split18_pad18_shape15)
{
    struct onnxq_error err;
    struct onnxq_tensor x, y[3], a, b;
    make_tensor(&x, ONNXQ_DT_INT64, 1, (const int64_t[]){5});
    for (int i = 0; i < 5; i++)
        ((int64_t *)x.data)[i] = 10 + i;
    const struct onnxq_tensor *in[4] = {&x};
    struct tnode t;
    /* Split-18 num_outputs: uneven, the last chunk smaller */
    tn_init(&t, "Split", 1, 3);
    tn_int(&t, "num_outputs", 3);
    ck_assert_int_eq(run_node(&t, 18, in, 1, y, 3, false, &err), ONNXQ_OK);
    expect_i64("split 0", &y[0], (const int64_t[]){10, 11}, 2);
    expect_i64("split 1", &y[1], (const int64_t[]){12, 13}, 2);
    expect_i64("split 2", &y[2], (const int64_t[]){14}, 1);
    clear_all(y, 3);
    /* Split-13 without sizes: even split, else an error */
    tn_init(&t, "Split", 1, 2);
    ck_assert_int_eq(run_node(&t, 13, in, 1, y, 2, false, &err), ONNXQ_E_SHAPE);
    clear_all(y, 2);
    /* Pad-18 with axes; Pad-19 wrap */
    onnxq_tensor_clear(&x);
    make_tensor(&x, ONNXQ_DT_FLOAT, 2, (const int64_t[]){2, 3});
    for (int i = 0; i < 6; i++)
        ((float *)x.data)[i] = (float)(i + 1);
    i64_tensor(&a, 2, (const int64_t[]){1, 2});
    i64_tensor(&b, 1, (const int64_t[]){-1});
    in[1] = &a;
    in[2] = NULL;
    in[3] = &b;
    tn_init(&t, "Pad", 4, 1);
    tn_str(&t, "mode", "wrap");
    ck_assert_int_eq(run_node(&t, 19, in, 4, y, 1, false, &err), ONNXQ_OK);
    {
        static const float w[12] = {3, 1, 2, 3, 1, 2, 6, 4, 5, 6, 4, 5};
        expect_dims("Pad wrap", &y[0], 2, (const int64_t[]){2, 6});
        expect_f32("Pad wrap", &y[0], w, 12, 0, 0);
    }
    clear_all(y, 1);
    onnxq_tensor_clear(&a);
    onnxq_tensor_clear(&b);
    /* Shape-15 start/end, clamped */
    tn_init(&t, "Shape", 1, 1);
    tn_int(&t, "start", -1);
    tn_int(&t, "end", 10);
    ck_assert_int_eq(run_node(&t, 15, in, 1, y, 1, false, &err), ONNXQ_OK);
    expect_i64("Shape start=-1", &y[0], (const int64_t[]){3}, 1);
    clear_all(y, 1);
    /* Squeeze-11 attribute axes vs Squeeze-13 without axes */
    onnxq_tensor_clear(&x);
    make_tensor(&x, ONNXQ_DT_BOOL, 4, (const int64_t[]){1, 2, 1, 1});
    tn_init(&t, "Squeeze", 1, 1);
    tn_ints(&t, "axes", (const int64_t[]){-1}, 1);
    ck_assert_int_eq(run_node(&t, 11, in, 1, y, 1, false, &err), ONNXQ_OK);
    expect_dims("Squeeze-11", &y[0], 3, (const int64_t[]){1, 2, 1});
    clear_all(y, 1);
    ck_assert_int_eq(run_node(&t, 13, in, 1, y, 1, false, &err), ONNXQ_OK);
    expect_dims("Squeeze-13", &y[0], 1, (const int64_t[]){2});
    clear_all(y, 1);
    onnxq_tensor_clear(&x);
}
END_TEST

START_TEST(values_and_strings)
{
    struct onnxq_error err;
    struct onnxq_tensor y[2], a, b, c;
    struct tnode t;
    /* Range: int64 negative delta, float */
    i64_tensor(&a, 1, (const int64_t[]){10});
    i64_tensor(&b, 1, (const int64_t[]){3});
    i64_tensor(&c, 1, (const int64_t[]){-3});
    a.ndim = b.ndim = c.ndim = 0;
    const struct onnxq_tensor *in[3] = {&a, &b, &c};
    tn_init(&t, "Range", 3, 1);
    ck_assert_int_eq(run_node(&t, 11, in, 3, y, 1, false, &err), ONNXQ_OK);
    expect_i64("Range", &y[0], (const int64_t[]){10, 7, 4}, 3);
    clear_all(y, 1);
    onnxq_tensor_clear(&a);
    onnxq_tensor_clear(&b);
    onnxq_tensor_clear(&c);
    /* Constant value_ints and value_string */
    tn_init(&t, "Constant", 0, 1);
    tn_ints(&t, "value_ints", (const int64_t[]){4, -2}, 2);
    ck_assert_int_eq(run_node(&t, 13, NULL, 0, y, 1, false, &err), ONNXQ_OK);
    expect_i64("Constant", &y[0], (const int64_t[]){4, -2}, 2);
    clear_all(y, 1);
    tn_init(&t, "Constant", 0, 1);
    tn_str(&t, "value_string", "hello");
    ck_assert_int_eq(run_node(&t, 13, NULL, 0, y, 1, false, &err), ONNXQ_OK);
    ck_assert_int_eq(y[0].dtype, ONNXQ_DT_STRING);
    ck_assert_int_eq(y[0].ndim, 0);
    {
        const struct onnxq_bytes *s = y[0].data;
        ck_assert(s->len == 5 && memcmp(s->data, "hello", 5) == 0);
    }
    /* strings through Concat and Transpose own their bytes */
    const struct onnxq_tensor *cin[2] = {&y[0], &y[0]};
    struct onnxq_tensor one[1], two[1], three[1];
    tn_init(&t, "Unsqueeze", 2, 1);
    i64_tensor(&a, 1, (const int64_t[]){0});
    cin[1] = &a;
    ck_assert_int_eq(run_node(&t, 13, cin, 2, one, 1, false, &err), ONNXQ_OK);
    onnxq_tensor_clear(&a);
    clear_all(y, 1);  /* the copies must not depend on the source */
    cin[0] = cin[1] = &one[0];
    tn_init(&t, "Concat", 2, 1);
    tn_int(&t, "axis", 0);
    ck_assert_int_eq(run_node(&t, 13, cin, 2, two, 1, false, &err), ONNXQ_OK);
    clear_all(one, 1);
    cin[0] = &two[0];
    tn_init(&t, "Transpose", 1, 1);
    ck_assert_int_eq(run_node(&t, 13, cin, 1, three, 1, false, &err), ONNXQ_OK);
    clear_all(two, 1);
    expect_dims("string Concat", &three[0], 1, (const int64_t[]){2});
    for (int i = 0; i < 2; i++) {
        const struct onnxq_bytes *s = (const struct onnxq_bytes *)three[0].data + i;
        ck_assert(s->len == 5 && memcmp(s->data, "hello", 5) == 0);
    }
    clear_all(three, 1);
    /* NonZero allocates its own output */
    make_tensor(&a, ONNXQ_DT_FLOAT, 2, (const int64_t[]){2, 2});
    ((float *)a.data)[1] = 3;
    ((float *)a.data)[2] = -0.0f;
    ((float *)a.data)[3] = 1;
    in[0] = &a;
    tn_init(&t, "NonZero", 1, 1);
    ck_assert_int_eq(run_node(&t, 13, in, 1, y, 1, false, &err), ONNXQ_OK);
    expect_i64("NonZero", &y[0], (const int64_t[]){0, 1, 1, 1}, 4);
    clear_all(y, 1);
    /* Dropout: copy, mask all true; training mode is unsupported */
    tn_init(&t, "Dropout", 1, 2);
    ck_assert_int_eq(run_node(&t, 13, in, 1, y, 2, false, &err), ONNXQ_OK);
    ck_assert(memcmp(y[0].data, a.data, a.nbytes) == 0);
    ck_assert_int_eq(y[1].dtype, ONNXQ_DT_BOOL);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(((uint8_t *)y[1].data)[i], 1);
    clear_all(y, 2);
    make_tensor(&b, ONNXQ_DT_BOOL, 0, NULL);
    ((uint8_t *)b.data)[0] = 1;
    const struct onnxq_tensor *din[3] = {&a, NULL, &b};
    tn_init(&t, "Dropout", 3, 1);
    ck_assert_int_eq(run_node(&t, 13, din, 3, y, 1, false, &err), ONNXQ_E_UNSUPPORTED);
    clear_all(y, 1);
    onnxq_tensor_clear(&b);
    onnxq_tensor_clear(&a);
}
END_TEST

START_TEST(errors_name_the_problem)
{
    struct onnxq_error err;
    struct onnxq_tensor x, i, y[1];
    struct tnode t;
    make_tensor(&x, ONNXQ_DT_FLOAT, 2, (const int64_t[]){3, 4});
    i64_tensor(&i, 1, (const int64_t[]){3});
    const struct onnxq_tensor *in[2] = {&x, &i};
    tn_init(&t, "Gather", 2, 1);
    ck_assert_int_eq(run_node(&t, 13, in, 2, y, 1, false, &err), ONNXQ_E_SHAPE);
    ck_assert_msg(strstr(err.message, "index 3") != NULL, "message: %s", err.message);
    clear_all(y, 1);
    tn_init(&t, "Transpose", 1, 1);
    tn_ints(&t, "perm", (const int64_t[]){0, 0}, 2);
    ck_assert_int_eq(run_node(&t, 13, in, 1, y, 1, false, &err), ONNXQ_E_SHAPE);
    clear_all(y, 1);
    tn_init(&t, "Concat", 2, 1);
    tn_int(&t, "axis", 1);
    ck_assert_int_eq(run_node(&t, 13, in, 2, y, 1, false, &err), ONNXQ_E_SHAPE);
    clear_all(y, 1);
    tn_init(&t, "Resize", 1, 1);
    tn_str(&t, "mode", "lanczos");
    ck_assert_int_eq(run_node(&t, 13, in, 1, y, 1, false, &err), ONNXQ_E_UNSUPPORTED);
    clear_all(y, 1);
    onnxq_tensor_clear(&x);
    onnxq_tensor_clear(&i);
}
END_TEST

static Suite *tensor_suite(void)
{
    Suite *s = suite_create("tensor");
    TCase *tc = tcase_create("movers");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, transpose_matches_reference);
    tcase_add_test(tc, slice_expand_tile_match_reference);
    tcase_add_test(tc, concat_split_gather_match_reference);
    tcase_add_test(tc, pad_space_match_reference);
    tcase_add_test(tc, space_round_trip);
    tcase_add_test(tc, resize_matches_reference);
    tcase_add_test(tc, resize_opset18_19);
    tcase_add_test(tc, resize_nearest_ties_follow_onnxruntime);
    tcase_add_test(tc, resize10_upsample7);
    tcase_add_test(tc, resize_upsample_nchw);
    tcase_add_test(tc, reshape_rules);
    tcase_add_test(tc, split18_pad18_shape15);
    tcase_add_test(tc, values_and_strings);
    tcase_add_test(tc, errors_name_the_problem);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(tensor_suite());
}
