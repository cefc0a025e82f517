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

#include "ops/tensor.h"
#include "optest.h"

/* float linear/cubic Resize: |fast - reference| <= RESIZE_ATOL + RESIZE_RTOL * |reference| */
#define RESIZE_ATOL 1e-5
#define RESIZE_RTOL 1e-5
/* values transcribed from the ONNX docs (printed with ~8 digits) */
#define DOC_TOL 2e-6

/* ------------------------------------------------------------ harness */

/* One node under test: its op type and attributes. */
struct tnode {
    const char *op;
    struct ot_attrs at;
};

static void tn_init(struct tnode *t, const char *op)
{
    memset(t, 0, sizeof(*t));
    t->op = op;
}

static enum onnxq_status tx_reference(void *state, struct onnxq_op_ctx *c)
{
    return onnxq_tx_run_reference(c->node->op_type, state, c);
}

/* The node on the 3-thread pool, or its reference kernel (ref). Outputs
 * are owning tensors the caller clears. */
static enum onnxq_status run_node(struct tnode *t, int64_t opset, const struct onnxq_tensor *const *in, size_t nin,
                                  struct onnxq_tensor *out, size_t nout, bool ref, struct onnxq_error *err)
{
    struct ot_run how = {.pool = ot_pool3, .run = ref ? tx_reference : NULL, .err = err};
    return ot_run_op_how(t->op, opset, &t->at, nin, in, nout, out, &how);
}

/* random contents: any bytes for numeric dtypes (NaN patterns included;
 * tensors compare by bits), short strings for STRING */
static void rand_fill(struct onnxq_tensor *t, uint64_t *seed)
{
    size_t n = (size_t)onnxq_tensor_numel(t);
    if (t->dtype == ONNXQ_DT_STRING) {
        struct onnxq_bytes *b = t->data;
        for (size_t i = 0; i < n; i++) {
            size_t len = (size_t)tu_rand_int(seed, 0, 6);
            b[i].len = len;
            b[i].data = len ? malloc(len) : NULL;
            for (size_t k = 0; k < len; k++)
                b[i].data[k] = (uint8_t)('a' + tu_rand_int(seed, 0, 25));
        }
        return;
    }
    unsigned char *p = t->data;
    for (size_t i = 0; i < t->nbytes; i++)
        p[i] = (unsigned char)tu_rng_next(seed);
}

static void rand_floats(struct onnxq_tensor *t, uint64_t *seed)
{
    float *p = t->data;
    size_t n = (size_t)onnxq_tensor_numel(t);
    for (size_t i = 0; i < n; i++)
        p[i] = (float)tu_rand_int(seed, -1000, 1000) / 100.0f;
}

static void expect_equal(const char *what, const struct onnxq_tensor *got, const struct onnxq_tensor *want)
{
    char a[200], b[200];
    onnxq_shape_format(got->dims, got->ndim, a, sizeof(a));
    onnxq_shape_format(want->dims, want->ndim, b, sizeof(b));
    ck_assert_msg(onnxq_tensor_equal(got, want), "%s: optimised %s %s differs from the reference %s %s", what,
                  onnxq_dtype_name(got->dtype), a, onnxq_dtype_name(want->dtype), b);
}

/* Run the op and its reference on the same inputs; both must succeed or
 * both fail. Returns true if they ran. */
static bool compare_with_reference(const char *what, struct tnode *t, int64_t opset,
                                   const struct onnxq_tensor *const *in, size_t nin, size_t nout, bool exact)
{
    struct onnxq_tensor got[OT_MAX_IO], want[OT_MAX_IO];
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
                ot_expect_shape(what, &got[i], want[i].ndim, want[i].dims);
                ot_expect_f32(what, &got[i], (size_t)onnxq_tensor_numel(&want[i]), want[i].data, RESIZE_ATOL,
                           RESIZE_RTOL);
            }
        }
    }
    ot_clear_all(got, nout);
    ot_clear_all(want, nout);
    return s1 == ONNXQ_OK;
}

static const enum onnxq_dtype mover_dtypes[] = {ONNXQ_DT_FLOAT, ONNXQ_DT_UINT8, ONNXQ_DT_FLOAT16, ONNXQ_DT_INT64,
                                                ONNXQ_DT_FLOAT, ONNXQ_DT_STRING, ONNXQ_DT_BOOL, ONNXQ_DT_DOUBLE};

static enum onnxq_dtype rand_dtype(uint64_t *s)
{
    return mover_dtypes[tu_rand_int(s, 0, (int64_t)(sizeof(mover_dtypes) / sizeof(mover_dtypes[0])) - 1)];
}

/* random rank and dims, at most 60000 elements */
static int rand_shape(uint64_t *s, int64_t *dims, int minr, int maxr, int64_t maxd)
{
    int r = (int)tu_rand_int(s, minr, maxr);
    int64_t n = 1;
    for (int d = 0; d < r; d++) {
        dims[d] = tu_rand_int(s, 1, maxd);
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
        struct onnxq_tensor x = ot_tensor(rand_dtype(&seed), r, dims, NULL);
        rand_fill(&x, &seed);
        int64_t perm[ONNXQ_MAX_DIMS];
        for (int i = 0; i < r; i++)
            perm[i] = i;
        for (int i = r - 1; i > 0; i--) {
            int j = (int)tu_rand_int(&seed, 0, i);
            int64_t tmp = perm[i];
            perm[i] = perm[j];
            perm[j] = tmp;
        }
        struct tnode t;
        tn_init(&t, "Transpose");
        if (c % 7)
            ot_ints(&t.at, "perm", (size_t)r, perm);
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
        struct onnxq_tensor x = ot_tensor(rand_dtype(&seed), r, dims, NULL);
        rand_fill(&x, &seed);
        const struct onnxq_tensor *in[5] = {&x};
        struct tnode t;
        struct onnxq_tensor aux[4];
        memset(aux, 0, sizeof(aux));
        int64_t a[ONNXQ_MAX_DIMS], b[ONNXQ_MAX_DIMS], ax[ONNXQ_MAX_DIMS], st[ONNXQ_MAX_DIMS];
        /* Slice: random subset of axes, negative steps, out-of-range bounds */
        size_t n = (size_t)tu_rand_int(&seed, 1, r);
        for (size_t i = 0; i < n; i++) {
            ax[i] = (int64_t)i - (c % 2 ? r : 0);
            st[i] = tu_rand_int(&seed, -3, 3);
            if (!st[i])
                st[i] = 1;
            a[i] = tu_rand_int(&seed, -dims[i] - 2, dims[i] + 2);
            b[i] = c % 9 == 0 ? (st[i] > 0 ? INT64_MAX : INT64_MIN) : tu_rand_int(&seed, -dims[i] - 2, dims[i] + 2);
        }
        aux[0] = ot_i64_vec(n, a);
        aux[1] = ot_i64_vec(n, b);
        aux[2] = ot_i64_vec(n, ax);
        aux[3] = ot_i64_vec(n, st);
        for (int k = 0; k < 4; k++)
            in[k + 1] = &aux[k];
        tn_init(&t, "Slice");
        ran += compare_with_reference("Slice", &t, 13, in, 5, 1, true);
        ot_clear_all(aux, 4);
        /* Expand: put 1s in the input and broadcast them, maybe add dims */
        struct onnxq_tensor xe;
        int64_t ed[ONNXQ_MAX_DIMS], sh[ONNXQ_MAX_DIMS];
        int extra = (int)tu_rand_int(&seed, 0, 2);
        for (int d = 0; d < r; d++) {
            ed[d] = tu_rand_int(&seed, 0, 2) == 0 ? 1 : dims[d];
            sh[extra + d] = ed[d] == 1 ? tu_rand_int(&seed, 1, 5) : (tu_rand_int(&seed, 0, 3) == 0 ? 1 : ed[d]);
        }
        for (int d = 0; d < extra; d++)
            sh[d] = tu_rand_int(&seed, 1, 3);
        xe = ot_tensor(x.dtype, r, ed, NULL);
        rand_fill(&xe, &seed);
        aux[0] = ot_i64_vec((size_t)(r + extra), sh);
        in[0] = &xe;
        in[1] = &aux[0];
        tn_init(&t, "Expand");
        ran += compare_with_reference("Expand", &t, 13, in, 2, 1, true);
        ot_clear_all(aux, 1);
        /* Tile */
        int64_t rep[ONNXQ_MAX_DIMS];
        for (int d = 0; d < r; d++)
            rep[d] = tu_rand_int(&seed, 0, 3);
        aux[0] = ot_i64_vec((size_t)r, rep);
        in[0] = &x;
        tn_init(&t, "Tile");
        ran += compare_with_reference("Tile", &t, 13, in, 2, 1, true);
        ot_clear_all(aux, 1);
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
        int axis = (int)tu_rand_int(&seed, 0, r - 1);
        struct onnxq_tensor xs[20];
        const struct onnxq_tensor *in[20];
        size_t n = c % 10 == 7 ? 20 : (size_t)tu_rand_int(&seed, 1, 4);  /* 20: more than the in-struct pieces */
        for (size_t i = 0; i < n; i++) {
            int64_t d[ONNXQ_MAX_DIMS];
            memcpy(d, dims, sizeof(d));
            d[axis] = tu_rand_int(&seed, 0, 6);
            xs[i] = ot_tensor(dt, r, d, NULL);
            rand_fill(&xs[i], &seed);
            in[i] = &xs[i];
        }
        struct tnode t;
        tn_init(&t, "Concat");
        ot_int(&t.at, "axis", c % 2 ? axis : axis - r);
        ran += compare_with_reference("Concat", &t, 13, in, n, 1, true);
        /* Split the first input (opset 18: num_outputs or sizes) */
        struct onnxq_tensor sp;
        int64_t sizes[3], dim = xs[0].dims[axis];
        sizes[0] = tu_rand_int(&seed, 0, dim);
        sizes[1] = tu_rand_int(&seed, 0, dim - sizes[0]);
        sizes[2] = dim - sizes[0] - sizes[1];
        sp = ot_i64_vec(3, sizes);
        const struct onnxq_tensor *sin[2] = {&xs[0], &sp};
        tn_init(&t, "Split");
        ot_int(&t.at, "axis", axis);
        ran += compare_with_reference("Split", &t, 13, sin, 2, 3, true);
        onnxq_tensor_clear(&sp);
        /* Gather with int32 or int64 indices, some negative */
        if (xs[0].dims[axis] > 0) {
            struct onnxq_tensor idx;
            int64_t id[2] = {tu_rand_int(&seed, 1, 4), tu_rand_int(&seed, 1, 3)};
            int ind = (int)tu_rand_int(&seed, 0, 2);
            idx = ot_tensor(c % 2 ? ONNXQ_DT_INT32 : ONNXQ_DT_INT64, ind, id, NULL);
            size_t m = (size_t)onnxq_tensor_numel(&idx);
            for (size_t i = 0; i < m; i++) {
                int64_t v = tu_rand_int(&seed, -dim, dim - 1);
                if (idx.dtype == ONNXQ_DT_INT32)
                    ((int32_t *)idx.data)[i] = (int32_t)v;
                else
                    ((int64_t *)idx.data)[i] = v;
            }
            const struct onnxq_tensor *gin[2] = {&xs[0], &idx};
            tn_init(&t, "Gather");
            ot_int(&t.at, "axis", axis);
            ran += compare_with_reference("Gather", &t, 13, gin, 2, 1, true);
            onnxq_tensor_clear(&idx);
        } else {
            ran++;
        }
        ot_clear_all(xs, n);
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
        x = ot_tensor(c % 3 ? ONNXQ_DT_FLOAT : ONNXQ_DT_INT64, r, dims, NULL);
        rand_fill(&x, &seed);
        const char *mode = modes[c % 4];
        int64_t p[2 * ONNXQ_MAX_DIMS];
        for (int d = 0; d < r; d++) {
            int64_t lim = strcmp(mode, "reflect") == 0 ? 2 * dims[d] + 1 : 7;
            p[d] = tu_rand_int(&seed, -dims[d] / 2, lim);
            p[r + d] = tu_rand_int(&seed, -dims[d] / 2, lim);
        }
        pads = ot_i64_vec((size_t)(2 * r), p);
        cv = ot_tensor(x.dtype, 0, NULL, NULL);
        rand_fill(&cv, &seed);
        const struct onnxq_tensor *in[3] = {&x, &pads, &cv};
        struct tnode t;
        tn_init(&t, "Pad");
        ot_str(&t.at, "mode", mode);
        ran += compare_with_reference("Pad", &t, 19, in, 3, 1, true);
        onnxq_tensor_clear(&x);
        onnxq_tensor_clear(&pads);
        onnxq_tensor_clear(&cv);
    }
    ck_assert_int_eq(ran, 120);
    for (int c = 0; c < 24; c++) {
        int64_t b = tu_rand_int(&seed, 1, 3), dims[4] = {tu_rand_int(&seed, 1, 2), b * b * tu_rand_int(&seed, 1, 3),
                                                         b * tu_rand_int(&seed, 1, 9), b * tu_rand_int(&seed, 1, 9)};
        struct onnxq_tensor x = ot_tensor(rand_dtype(&seed), 4, dims, NULL);
        rand_fill(&x, &seed);
        const struct onnxq_tensor *in[1] = {&x};
        struct tnode t;
        tn_init(&t, c % 2 ? "DepthToSpace" : "SpaceToDepth");
        ot_int(&t.at, "blocksize", b);
        if (c % 4 == 1)
            ot_str(&t.at, "mode", "CRD");
        ck_assert(compare_with_reference(t.op, &t, 13, in, 1, 1, true));
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
    x = ot_tensor(ONNXQ_DT_FLOAT, 4, dims, NULL);
    rand_fill(&x, &seed);
    struct tnode t;
    tn_init(&t, "SpaceToDepth");
    ot_int(&t.at, "blocksize", 2);
    const struct onnxq_tensor *in[1] = {&x};
    ck_assert_int_eq(run_node(&t, 13, in, 1, y, 1, false, &err), ONNXQ_OK);
    tn_init(&t, "DepthToSpace");
    ot_int(&t.at, "blocksize", 2);
    in[0] = &y[0];
    ck_assert_int_eq(run_node(&t, 13, in, 1, z, 1, false, &err), ONNXQ_OK);
    expect_equal("SpaceToDepth then DepthToSpace", &z[0], &x);
    onnxq_tensor_clear(&x);
    ot_clear_all(y, 1);
    ot_clear_all(z, 1);
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
        int r = (int)tu_rand_int(&seed, 1, 4);
        int64_t dims[4];
        for (int d = 0; d < r; d++)
            dims[d] = d < r - 2 ? tu_rand_int(&seed, 1, 3) : tu_rand_int(&seed, 1, c % 10 == 0 ? 60 : 9);
        struct onnxq_tensor x, roi, sc, sz;
        enum onnxq_dtype dt = ONNXQ_DT_FLOAT;
        if (!strcmp(mode, "nearest") && c % 2)
            dt = c % 4 == 1 ? ONNXQ_DT_INT64 : ONNXQ_DT_UINT8;
        x = ot_tensor(dt, r, dims, NULL);
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
            scales[d] = resized ? pick[tu_rand_int(&seed, 0, 7)] : 1.0f;
            sizes[d] = resized ? tu_rand_int(&seed, 1, 2 * dims[d] + 3) : dims[d];
            rv[d] = resized ? (float)tu_rand_int(&seed, 0, 40) / 100.0f : 0.0f;
            rv[r + d] = resized ? (float)tu_rand_int(&seed, 60, 120) / 100.0f : 1.0f;
        }
        int64_t nr = 2 * r, nr1 = r;
        roi = ot_f32(1, &nr, rv);
        sc = ot_f32(1, &nr1, scales);
        sz = ot_i64_vec((size_t)r, sizes);
        bool use_sizes = c % 3 == 1;
        struct onnxq_tensor empty;
        int64_t zero = 0;
        empty = ot_tensor(ONNXQ_DT_FLOAT, 1, &zero, NULL);
        const struct onnxq_tensor *in[4] = {&x, &roi, use_sizes ? &empty : &sc, use_sizes ? &sz : NULL};
        struct tnode t;
        tn_init(&t, "Resize");
        ot_str(&t.at, "mode", mode);
        ot_str(&t.at, "coordinate_transformation_mode", coords[tu_rand_int(&seed, 0, 5)]);
        if (!strcmp(mode, "nearest"))
            ot_str(&t.at, "nearest_mode", nears[tu_rand_int(&seed, 0, 3)]);
        else if (c % 4 == 2)
            ot_int(&t.at, "antialias", 1);
        if (c % 7 == 3)
            ot_int(&t.at, "exclude_outside", 1);
        if (c % 6 == 1)
            ot_float(&t.at, "cubic_coeff_a", -0.5f);
        ot_float(&t.at, "extrapolation_value", 7.5f);
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
    x = ot_f32(4, dims, data);
    memset(&roi_t, 0, sizeof(roi_t));
    memset(&sc, 0, sizeof(sc));
    memset(&sz, 0, sizeof(sz));
    if (roi)
        roi_t = ot_f32(1, &n2, roi);
    if (scales)
        sc = ot_f32(1, &n, scales);
    if (sizes)
        sz = ot_i64_vec((size_t)n, sizes);
    const struct onnxq_tensor *in[4] = {&x, roi ? &roi_t : NULL, scales ? &sc : NULL, sizes ? &sz : NULL};
    struct tnode t;
    tn_init(&t, "Resize");
    ot_str(&t.at, "mode", mode);
    if (coord)
        ot_str(&t.at, "coordinate_transformation_mode", coord);
    if (antialias)
        ot_int(&t.at, "antialias", 1);
    if (naxes)
        ot_ints(&t.at, "axes", naxes, axes);
    if (policy)
        ot_str(&t.at, "keep_aspect_ratio_policy", policy);
    for (int ref = 0; ref < 2; ref++) {
        ck_assert_int_eq(run_node(&t, 19, in, sizes ? 4 : 3, y, 1, ref, &err), ONNXQ_OK);
        int64_t od[4] = {1, 1, oh, ow};
        ot_expect_shape(mode, &y[0], 4, od);
        ot_expect_f32(mode, &y[0], (size_t)(oh * ow), want, DOC_TOL, DOC_TOL);
        ot_clear_all(y, 1);
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
    x = ot_f32(4, dims, d9);
    s = ot_f32(1, &four, sc);
    roi = ot_tensor(ONNXQ_DT_FLOAT, 1, &zero, NULL);
    const struct onnxq_tensor *in[3] = {&x, &roi, &s};
    struct tnode t;
    tn_init(&t, "Resize");
    ot_str(&t.at, "mode", "nearest");
    ot_str(&t.at, "nearest_mode", "round_prefer_ceil");
    ck_assert_int_eq(run_node(&t, 13, in, 3, y, 1, false, &err), ONNXQ_OK);
    ot_expect_shape("Resize 1.7", &y[0], 4, (const int64_t[]){1, 1, 1, 15});
    ck_assert(((const float *)y[0].data)[8] == 5.0f);
    ot_clear_all(y, 1);
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
    x = ot_f32(4, dims, d);
    s = ot_f32(1, &four, sc);
    const struct onnxq_tensor *in[2] = {&x, &s};
    struct tnode t;
    tn_init(&t, "Resize");
    ck_assert_int_eq(run_node(&t, 10, in, 2, y, 1, false, &err), ONNXQ_OK);
    {
        static const int rows[3] = {0, 2, 4}, cols[5] = {0, 2, 4, 5, 7};
        float w[15];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 5; j++)
                w[i * 5 + j] = (float)(rows[i] * 9 + cols[j]);
        ot_expect_shape("Resize-10", &y[0], 4, (const int64_t[]){1, 1, 3, 5});
        ot_expect_f32("Resize-10", &y[0], 15, w, 0, 0);
    }
    ot_clear_all(y, 1);
    /* Upsample-7: scales attribute, linear, clamped at the far edge */
    tn_init(&t, "Upsample");
    ot_str(&t.at, "mode", "linear");
    ot_floats(&t.at, "scales", 4, (const float[]){1, 1, 1, 2});
    ck_assert_int_eq(run_node(&t, 7, in, 1, y, 1, false, &err), ONNXQ_OK);
    ot_expect_shape("Upsample-7", &y[0], 4, (const int64_t[]){1, 1, 7, 18});
    {
        const float *o = y[0].data;
        ck_assert(o[0] == 0.0f && o[1] == 0.5f && o[16] == 8.0f && o[17] == 8.0f);
    }
    ot_clear_all(y, 1);
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
    x = ot_tensor(ONNXQ_DT_FLOAT, 4, dims, NULL);
    rand_floats(&x, &seed);
    roi = ot_tensor(ONNXQ_DT_FLOAT, 1, &zero, NULL);
    const float s2[4] = {1, 1, 2, 2}, s4[4] = {1, 1, 4, 4};
    for (int k = 0; k < 2; k++) {
        sc = ot_f32(1, &four, k ? s4 : s2);
        const struct onnxq_tensor *in[3] = {&x, &roi, &sc};
        struct tnode t;
        tn_init(&t, "Resize");
        ot_str(&t.at, "mode", k ? "linear" : "nearest");
        ot_str(&t.at, "coordinate_transformation_mode", k ? "half_pixel" : "asymmetric");
        ot_str(&t.at, "nearest_mode", "floor");
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
            ot_clear_all(y, 1);
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
    x = ot_tensor(ONNXQ_DT_INT64, 3, dims, NULL);
    for (int i = 0; i < 24; i++)
        ((int64_t *)x.data)[i] = i;
    const struct onnxq_tensor *in[2] = {&x, &s};
    struct tnode t;
    tn_init(&t, "Reshape");
    /* 0 copies a dim, -1 infers */
    s = ot_i64_vec(2, (const int64_t[]){0, -1});
    ck_assert_int_eq(run_node(&t, 14, in, 2, y, 1, false, &err), ONNXQ_OK);
    ot_expect_shape("Reshape [0,-1]", &y[0], 2, (const int64_t[]){2, 12});
    ck_assert(memcmp(y[0].data, x.data, x.nbytes) == 0);
    ot_clear_all(y, 1);
    onnxq_tensor_clear(&s);
    /* two -1s, a bad count, an out-of-range 0: errors naming the shapes */
    s = ot_i64_vec(2, (const int64_t[]){-1, -1});
    ck_assert_int_eq(run_node(&t, 14, in, 2, y, 1, false, &err), ONNXQ_E_SHAPE);
    ot_clear_all(y, 1);
    onnxq_tensor_clear(&s);
    s = ot_i64_vec(2, (const int64_t[]){5, -1});
    ck_assert_int_eq(run_node(&t, 14, in, 2, y, 1, false, &err), ONNXQ_E_SHAPE);
    ck_assert_msg(strstr(err.message, "[2,3,4]") != NULL, "message: %s", err.message);
    ot_clear_all(y, 1);
    onnxq_tensor_clear(&s);
    /* allowzero: a 0 is a real zero-size dim */
    onnxq_tensor_clear(&x);
    x = ot_tensor(ONNXQ_DT_FLOAT, 2, (const int64_t[]){0, 3}, NULL);
    s = ot_i64_vec(2, (const int64_t[]){3, 0});
    ot_int(&t.at, "allowzero", 1);
    ck_assert_int_eq(run_node(&t, 14, in, 2, y, 1, false, &err), ONNXQ_OK);
    ot_expect_shape("Reshape allowzero", &y[0], 2, (const int64_t[]){3, 0});
    ot_clear_all(y, 1);
    onnxq_tensor_clear(&s);
    onnxq_tensor_clear(&x);
}
END_TEST

START_TEST(split18_pad18_shape15)
{
    struct onnxq_error err;
    struct onnxq_tensor x, y[3], a, b;
    x = ot_tensor(ONNXQ_DT_INT64, 1, (const int64_t[]){5}, NULL);
    for (int i = 0; i < 5; i++)
        ((int64_t *)x.data)[i] = 10 + i;
    const struct onnxq_tensor *in[4] = {&x};
    struct tnode t;
    /* Split-18 num_outputs: uneven, the last chunk smaller */
    tn_init(&t, "Split");
    ot_int(&t.at, "num_outputs", 3);
    ck_assert_int_eq(run_node(&t, 18, in, 1, y, 3, false, &err), ONNXQ_OK);
    ot_expect_i64("split 0", &y[0], 2, (const int64_t[]){10, 11});
    ot_expect_i64("split 1", &y[1], 2, (const int64_t[]){12, 13});
    ot_expect_i64("split 2", &y[2], 1, (const int64_t[]){14});
    ot_clear_all(y, 3);
    /* Split-13 without sizes: even split, else an error */
    tn_init(&t, "Split");
    ck_assert_int_eq(run_node(&t, 13, in, 1, y, 2, false, &err), ONNXQ_E_SHAPE);
    ot_clear_all(y, 2);
    /* Split-1: the sizes may come as a second input of the data's float
     * type; a fractional size is an error naming the input */
    {
        struct onnxq_tensor xf = ot_tensor(ONNXQ_DT_FLOAT, 1, (const int64_t[]){5}, NULL), sf, sbad;
        for (int i = 0; i < 5; i++)
            ((float *)xf.data)[i] = 0.5f * (float)i;
        sf = ot_tensor(ONNXQ_DT_FLOAT, 1, (const int64_t[]){2}, NULL);
        ((float *)sf.data)[0] = 1;
        ((float *)sf.data)[1] = 4;
        sbad = ot_tensor(ONNXQ_DT_FLOAT, 1, (const int64_t[]){2}, NULL);
        ((float *)sbad.data)[0] = 1.5f;
        ((float *)sbad.data)[1] = 3.5f;
        const struct onnxq_tensor *fin[2] = {&xf, &sf};
        tn_init(&t, "Split");
        ck_assert_int_eq(run_node(&t, 1, fin, 2, y, 2, false, &err), ONNXQ_OK);
        ot_expect_f32("Split-1 float sizes 0", &y[0], 1, (const float[]){0}, 0, 0);
        ot_expect_f32("Split-1 float sizes 1", &y[1], 4, (const float[]){0.5f, 1, 1.5f, 2}, 0, 0);
        ot_clear_all(y, 2);
        fin[1] = &sbad;
        ck_assert_int_eq(run_node(&t, 1, fin, 2, y, 2, false, &err), ONNXQ_E_SHAPE);
        ck_assert_ptr_nonnull(strstr(err.message, "split"));
        ot_clear_all(y, 2);
        onnxq_tensor_clear(&xf);
        onnxq_tensor_clear(&sf);
        onnxq_tensor_clear(&sbad);
    }
    /* Pad-18 with axes; Pad-19 wrap */
    onnxq_tensor_clear(&x);
    x = ot_tensor(ONNXQ_DT_FLOAT, 2, (const int64_t[]){2, 3}, NULL);
    for (int i = 0; i < 6; i++)
        ((float *)x.data)[i] = (float)(i + 1);
    a = ot_i64_vec(2, (const int64_t[]){1, 2});
    b = ot_i64_vec(1, (const int64_t[]){-1});
    in[1] = &a;
    in[2] = NULL;
    in[3] = &b;
    tn_init(&t, "Pad");
    ot_str(&t.at, "mode", "wrap");
    ck_assert_int_eq(run_node(&t, 19, in, 4, y, 1, false, &err), ONNXQ_OK);
    {
        static const float w[12] = {3, 1, 2, 3, 1, 2, 6, 4, 5, 6, 4, 5};
        ot_expect_shape("Pad wrap", &y[0], 2, (const int64_t[]){2, 6});
        ot_expect_f32("Pad wrap", &y[0], 12, w, 0, 0);
    }
    ot_clear_all(y, 1);
    onnxq_tensor_clear(&a);
    onnxq_tensor_clear(&b);
    /* Shape-15 start/end, clamped */
    tn_init(&t, "Shape");
    ot_int(&t.at, "start", -1);
    ot_int(&t.at, "end", 10);
    ck_assert_int_eq(run_node(&t, 15, in, 1, y, 1, false, &err), ONNXQ_OK);
    ot_expect_i64("Shape start=-1", &y[0], 1, (const int64_t[]){3});
    ot_clear_all(y, 1);
    /* Squeeze-11 attribute axes vs Squeeze-13 without axes */
    onnxq_tensor_clear(&x);
    x = ot_tensor(ONNXQ_DT_BOOL, 4, (const int64_t[]){1, 2, 1, 1}, NULL);
    tn_init(&t, "Squeeze");
    ot_ints(&t.at, "axes", 1, (const int64_t[]){-1});
    ck_assert_int_eq(run_node(&t, 11, in, 1, y, 1, false, &err), ONNXQ_OK);
    ot_expect_shape("Squeeze-11", &y[0], 3, (const int64_t[]){1, 2, 1});
    ot_clear_all(y, 1);
    ck_assert_int_eq(run_node(&t, 13, in, 1, y, 1, false, &err), ONNXQ_OK);
    ot_expect_shape("Squeeze-13", &y[0], 1, (const int64_t[]){2});
    ot_clear_all(y, 1);
    onnxq_tensor_clear(&x);
}
END_TEST

START_TEST(values_and_strings)
{
    struct onnxq_error err;
    struct onnxq_tensor y[2], a, b, c;
    struct tnode t;
    /* Range: int64 negative delta, float */
    a = ot_i64_vec(1, (const int64_t[]){10});
    b = ot_i64_vec(1, (const int64_t[]){3});
    c = ot_i64_vec(1, (const int64_t[]){-3});
    a.ndim = b.ndim = c.ndim = 0;
    const struct onnxq_tensor *in[3] = {&a, &b, &c};
    tn_init(&t, "Range");
    ck_assert_int_eq(run_node(&t, 11, in, 3, y, 1, false, &err), ONNXQ_OK);
    ot_expect_i64("Range", &y[0], 3, (const int64_t[]){10, 7, 4});
    ot_clear_all(y, 1);
    onnxq_tensor_clear(&a);
    onnxq_tensor_clear(&b);
    onnxq_tensor_clear(&c);
    /* Constant value_ints and value_string */
    tn_init(&t, "Constant");
    ot_ints(&t.at, "value_ints", 2, (const int64_t[]){4, -2});
    ck_assert_int_eq(run_node(&t, 13, NULL, 0, y, 1, false, &err), ONNXQ_OK);
    ot_expect_i64("Constant", &y[0], 2, (const int64_t[]){4, -2});
    ot_clear_all(y, 1);
    tn_init(&t, "Constant");
    ot_str(&t.at, "value_string", "hello");
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
    tn_init(&t, "Unsqueeze");
    a = ot_i64_vec(1, (const int64_t[]){0});
    cin[1] = &a;
    ck_assert_int_eq(run_node(&t, 13, cin, 2, one, 1, false, &err), ONNXQ_OK);
    onnxq_tensor_clear(&a);
    ot_clear_all(y, 1);  /* the copies must not depend on the source */
    cin[0] = cin[1] = &one[0];
    tn_init(&t, "Concat");
    ot_int(&t.at, "axis", 0);
    ck_assert_int_eq(run_node(&t, 13, cin, 2, two, 1, false, &err), ONNXQ_OK);
    ot_clear_all(one, 1);
    cin[0] = &two[0];
    tn_init(&t, "Transpose");
    ck_assert_int_eq(run_node(&t, 13, cin, 1, three, 1, false, &err), ONNXQ_OK);
    ot_clear_all(two, 1);
    ot_expect_shape("string Concat", &three[0], 1, (const int64_t[]){2});
    for (int i = 0; i < 2; i++) {
        const struct onnxq_bytes *s = (const struct onnxq_bytes *)three[0].data + i;
        ck_assert(s->len == 5 && memcmp(s->data, "hello", 5) == 0);
    }
    ot_clear_all(three, 1);
    /* NonZero allocates its own output */
    a = ot_tensor(ONNXQ_DT_FLOAT, 2, (const int64_t[]){2, 2}, NULL);
    ((float *)a.data)[1] = 3;
    ((float *)a.data)[2] = -0.0f;
    ((float *)a.data)[3] = 1;
    in[0] = &a;
    tn_init(&t, "NonZero");
    ck_assert_int_eq(run_node(&t, 13, in, 1, y, 1, false, &err), ONNXQ_OK);
    ot_expect_i64("NonZero", &y[0], 4, (const int64_t[]){0, 1, 1, 1});
    ot_clear_all(y, 1);
    /* Dropout: copy, mask all true; training mode is unsupported */
    tn_init(&t, "Dropout");
    ck_assert_int_eq(run_node(&t, 13, in, 1, y, 2, false, &err), ONNXQ_OK);
    ck_assert(memcmp(y[0].data, a.data, a.nbytes) == 0);
    ck_assert_int_eq(y[1].dtype, ONNXQ_DT_BOOL);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(((uint8_t *)y[1].data)[i], 1);
    ot_clear_all(y, 2);
    b = ot_tensor(ONNXQ_DT_BOOL, 0, NULL, NULL);
    ((uint8_t *)b.data)[0] = 1;
    const struct onnxq_tensor *din[3] = {&a, NULL, &b};
    tn_init(&t, "Dropout");
    ck_assert_int_eq(run_node(&t, 13, din, 3, y, 1, false, &err), ONNXQ_E_UNSUPPORTED);
    ot_clear_all(y, 1);
    onnxq_tensor_clear(&b);
    onnxq_tensor_clear(&a);
}
END_TEST

START_TEST(errors_name_the_problem)
{
    struct onnxq_error err;
    struct onnxq_tensor x, i, y[1];
    struct tnode t;
    x = ot_tensor(ONNXQ_DT_FLOAT, 2, (const int64_t[]){3, 4}, NULL);
    i = ot_i64_vec(1, (const int64_t[]){3});
    const struct onnxq_tensor *in[2] = {&x, &i};
    tn_init(&t, "Gather");
    ck_assert_int_eq(run_node(&t, 13, in, 2, y, 1, false, &err), ONNXQ_E_SHAPE);
    ck_assert_msg(strstr(err.message, "index 3") != NULL, "message: %s", err.message);
    ot_clear_all(y, 1);
    tn_init(&t, "Transpose");
    ot_ints(&t.at, "perm", 2, (const int64_t[]){0, 0});
    ck_assert_int_eq(run_node(&t, 13, in, 1, y, 1, false, &err), ONNXQ_E_SHAPE);
    ot_clear_all(y, 1);
    tn_init(&t, "Concat");
    ot_int(&t.at, "axis", 1);
    ck_assert_int_eq(run_node(&t, 13, in, 2, y, 1, false, &err), ONNXQ_E_SHAPE);
    ot_clear_all(y, 1);
    tn_init(&t, "Resize");
    ot_str(&t.at, "mode", "lanczos");
    ck_assert_int_eq(run_node(&t, 13, in, 1, y, 1, false, &err), ONNXQ_E_UNSUPPORTED);
    ot_clear_all(y, 1);
    onnxq_tensor_clear(&x);
    onnxq_tensor_clear(&i);
}
END_TEST

static Suite *tensor_suite(void)
{
    Suite *s = suite_create("tensor");
    TCase *tc = tcase_create("movers");
    tcase_add_checked_fixture(tc, ot_setup_pools, ot_teardown_pools);
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
