/* Bad input: every broken file gets one clear error (status + a message that
 * names the file and what is wrong), never a crash. Also run under
 * AddressSanitizer+UBSan by scripts/test.sh.
 *
 * Cases: unreadable and non-model files, truncated and bit-flipped real
 * models, structurally broken models built with protobuf-c, bad external
 * data, and save errors. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onnx.pb-c.h"
#include "onnxq/onnxq.h"
#include "testutil.h"

static struct onnxq_context *ctx;

static int n_cases;  /* cases checked by the running test */

static void setup(void)
{
    struct onnxq_error err;
    n_cases = 0;
    ck_assert_int_eq(onnxq_context_new(&ctx, &err), ONNXQ_OK);
}

static void teardown(void)
{
    printf("badinput: %d cases checked by this test\n", n_cases);
    onnxq_context_free(ctx);
    ctx = NULL;
}

/* xorshift64*: a fixed-seed PRNG so every run tests the same bytes. */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* Number of entries of a directory, "." and ".." excluded. */
static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

/* Check a failed call: status, and a message that contains `name` and every
 * one of the NULL-terminated words. */
static void check_error_v(const char *what, enum onnxq_status st, const struct onnxq_error *err,
                          enum onnxq_status want, const char *name, va_list ap)
{
    ck_assert_msg(st == want, "%s: expected %s, got %s (%s)", what, onnxq_status_name(want),
                  onnxq_status_name(st), st ? err->message : "loaded fine");
    ck_assert_msg(err->code == st, "%s: err.code %s differs from the returned %s", what,
                  onnxq_status_name(err->code), onnxq_status_name(st));
    ck_assert_msg(strlen(err->message) > 0, "%s: empty error message", what);
    ck_assert_msg(strchr(err->message, '\n') == NULL, "%s: message is not one line: %s", what, err->message);
    if (name)
        ck_assert_msg(strstr(err->message, name) != NULL, "%s: message does not name '%s': %s", what, name,
                      err->message);
    const char *w;
    while ((w = va_arg(ap, const char *)))
        ck_assert_msg(strstr(err->message, w) != NULL, "%s: message lacks '%s': %s", what, w, err->message);
    printf("badinput: %-28s %-22s %s\n", what, onnxq_status_name(st), err->message);
}

/* Load the file at path and expect the error. Words end with NULL. */
static void expect_load_error(const char *what, const char *path, enum onnxq_status want, ...)
{
    struct onnxq_error err = {0};
    struct onnxq_model *m = NULL;
    enum onnxq_status st = onnxq_model_load(ctx, path, &m, &err);
    if (st == ONNXQ_OK)
        onnxq_model_free(m);
    else
        ck_assert_msg(m == NULL, "%s: out-parameter written on failure", what);
    va_list ap;
    va_start(ap, want);
    check_error_v(what, st, &err, want, path, ap);
    va_end(ap);
    n_cases++;
}

/* Write bytes as dir/fname, then expect_load_error on it. */
static void expect_bytes_error(const char *what, const char *dir, const char *fname, const void *data,
                               size_t size, enum onnxq_status want, ...)
{
    char *path = join(dir, fname);
    ck_assert_int_eq(tu_write_file(path, data, size), 0);
    struct onnxq_error err = {0};
    struct onnxq_model *m = NULL;
    enum onnxq_status st = onnxq_model_load(ctx, path, &m, &err);
    if (st == ONNXQ_OK)
        onnxq_model_free(m);
    va_list ap;
    va_start(ap, want);
    check_error_v(what, st, &err, want, path, ap);
    va_end(ap);
    free(path);
    n_cases++;
}

/* ----------------------------------------------------- protobuf builders */
/* Everything is heap allocated, so onnx__model_proto__free_unpacked frees it. */

#define APPEND(arr, n, item)                                              \
    do {                                                                  \
        void *np_ = realloc((arr), ((n) + 1) * sizeof(*(arr)));           \
        ck_assert_ptr_nonnull(np_);                                       \
        (arr) = np_;                                                      \
        (arr)[(n)++] = (item);                                            \
    } while (0)

#define NAMES(...) (sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)), (const char *[]){__VA_ARGS__}

static void *xcalloc(size_t size)
{
    void *p = calloc(1, size);
    ck_assert_ptr_nonnull(p);
    return p;
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    ck_assert_ptr_nonnull(d);
    return d;
}

static char **str_array(size_t n, const char *const *s)
{
    char **a = xcalloc((n ? n : 1) * sizeof(char *));
    for (size_t i = 0; i < n; i++)
        a[i] = xstrdup(s[i]);
    return a;
}

static Onnx__NodeProto *pb_node(const char *op, const char *name, size_t n_in, const char *const *in,
                                size_t n_out, const char *const *out)
{
    Onnx__NodeProto *n = xcalloc(sizeof(*n));
    onnx__node_proto__init(n);
    if (op)
        n->op_type = xstrdup(op);
    if (name)
        n->name = xstrdup(name);
    n->n_input = n_in;
    n->input = str_array(n_in, in);
    n->n_output = n_out;
    n->output = str_array(n_out, out);
    return n;
}

/* A float tensor value info of shape [dim]. */
static Onnx__ValueInfoProto *pb_vi(const char *name, int64_t dim)
{
    Onnx__ValueInfoProto *v = xcalloc(sizeof(*v));
    onnx__value_info_proto__init(v);
    v->name = xstrdup(name);
    Onnx__TypeProto *t = xcalloc(sizeof(*t));
    onnx__type_proto__init(t);
    Onnx__TypeProto__Tensor *tt = xcalloc(sizeof(*tt));
    onnx__type_proto__tensor__init(tt);
    tt->has_elem_type = 1;
    tt->elem_type = 1;
    Onnx__TensorShapeProto *sh = xcalloc(sizeof(*sh));
    onnx__tensor_shape_proto__init(sh);
    Onnx__TensorShapeProto__Dimension *d = xcalloc(sizeof(*d));
    onnx__tensor_shape_proto__dimension__init(d);
    d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    d->dim_value = dim;
    APPEND(sh->dim, sh->n_dim, d);
    tt->shape = sh;
    t->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    t->tensor_type = tt;
    v->type = t;
    return v;
}

static Onnx__TensorProto *pb_tensor(const char *name, int dtype, size_t ndim, const int64_t *dims)
{
    Onnx__TensorProto *t = xcalloc(sizeof(*t));
    onnx__tensor_proto__init(t);
    t->name = xstrdup(name);
    t->has_data_type = 1;
    t->data_type = dtype;
    t->n_dims = ndim;
    t->dims = xcalloc((ndim ? ndim : 1) * sizeof(int64_t));
    if (ndim)
        memcpy(t->dims, dims, ndim * sizeof(int64_t));
    return t;
}

static void pb_raw(Onnx__TensorProto *t, size_t nbytes)
{
    t->has_raw_data = 1;
    t->raw_data.len = nbytes;
    t->raw_data.data = xcalloc(nbytes ? nbytes : 1);
}

static void pb_floats(Onnx__TensorProto *t, size_t count)
{
    t->n_float_data = count;
    t->float_data = xcalloc((count ? count : 1) * sizeof(float));
}

static void pb_ext(Onnx__TensorProto *t, const char *key, const char *value)
{
    Onnx__StringStringEntryProto *e = xcalloc(sizeof(*e));
    onnx__string_string_entry_proto__init(e);
    e->key = xstrdup(key);
    e->value = xstrdup(value);
    APPEND(t->external_data, t->n_external_data, e);
    t->has_data_location = 1;
    t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
}

static Onnx__GraphProto *pb_graph(const char *name)
{
    Onnx__GraphProto *g = xcalloc(sizeof(*g));
    onnx__graph_proto__init(g);
    g->name = xstrdup(name);
    return g;
}

static void pb_graph_attr(Onnx__NodeProto *n, const char *name, Onnx__GraphProto *g)
{
    Onnx__AttributeProto *a = xcalloc(sizeof(*a));
    onnx__attribute_proto__init(a);
    a->name = xstrdup(name);
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH;
    a->g = g;
    APPEND(n->attribute, n->n_attribute, a);
}

/* ir_version 8, opset 13, and the given graph (may be NULL). */
static Onnx__ModelProto *pb_model(Onnx__GraphProto *g)
{
    Onnx__ModelProto *m = xcalloc(sizeof(*m));
    onnx__model_proto__init(m);
    m->has_ir_version = 1;
    m->ir_version = 8;
    Onnx__OperatorSetIdProto *op = xcalloc(sizeof(*op));
    onnx__operator_set_id_proto__init(op);
    op->domain = xstrdup("");
    op->has_version = 1;
    op->version = 13;
    APPEND(m->opset_import, m->n_opset_import, op);
    m->producer_name = xstrdup("onnxq-badinput");
    m->graph = g;
    return m;
}

/* A valid model: x[4] -> Relu "relu" -> y[4]. */
static Onnx__ModelProto *pb_base(void)
{
    Onnx__GraphProto *g = pb_graph("base");
    APPEND(g->input, g->n_input, pb_vi("x", 4));
    APPEND(g->output, g->n_output, pb_vi("y", 4));
    APPEND(g->node, g->n_node, pb_node("Relu", "relu", NAMES("x"), NAMES("y")));
    return pb_model(g);
}

/* A valid model with an initializer W[4]: y = Add(x, W). */
static Onnx__ModelProto *pb_with_init(Onnx__TensorProto *w)
{
    Onnx__GraphProto *g = pb_graph("with_init");
    APPEND(g->input, g->n_input, pb_vi("x", 4));
    APPEND(g->output, g->n_output, pb_vi("y", 4));
    APPEND(g->node, g->n_node, pb_node("Add", "add", NAMES("x", "W"), NAMES("y")));
    APPEND(g->initializer, g->n_initializer, w);
    return pb_model(g);
}

/* Serialise and free the message. */
static uint8_t *pb_pack(Onnx__ModelProto *m, size_t *size)
{
    *size = onnx__model_proto__get_packed_size(m);
    uint8_t *buf = xcalloc(*size ? *size : 1);
    ck_assert_uint_eq(onnx__model_proto__pack(m, buf), *size);
    onnx__model_proto__free_unpacked(m, NULL);
    return buf;
}

/* Write the model into dir/fname and expect the load to fail as described. */
#define EXPECT_MODEL_ERROR(what, dir, fname, model, want, ...)                            \
    do {                                                                                   \
        size_t sz_;                                                                        \
        uint8_t *b_ = pb_pack((model), &sz_);                                              \
        expect_bytes_error((what), (dir), (fname), b_, sz_, (want), __VA_ARGS__, NULL);    \
        free(b_);                                                                          \
    } while (0)

/* ------------------------------------------------------- non-model files */

START_TEST(unreadable_and_foreign_files)
{
    char *dir = tu_mkdtemp();
    ck_assert_ptr_nonnull(dir);
    char *missing = join(dir, "missing.onnx");
    expect_load_error("missing file", missing, ONNXQ_E_IO, "cannot open", "No such file", NULL);
    free(missing);

    expect_bytes_error("empty file", dir, "empty.onnx", "", 0, ONNXQ_E_PARSE, "empty", NULL);

    char *sub = join(dir, "folder.onnx");
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    expect_load_error("directory", sub, ONNXQ_E_IO, "directory", NULL);
    free(sub);

    const char text[] = "This is a README, not an ONNX model.\nSecond line.\n";
    expect_bytes_error("text file", dir, "readme.onnx", text, sizeof(text) - 1, ONNXQ_E_PARSE, "not a", NULL);

    const uint8_t png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
                           0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89};
    expect_bytes_error("PNG header", dir, "image.onnx", png, sizeof(png), ONNXQ_E_PARSE, "not a", NULL);

    const char json[] = "{\"ir_version\": 8, \"graph\": {}}";
    expect_bytes_error("JSON text", dir, "model.json.onnx", json, sizeof(json) - 1, ONNXQ_E_PARSE, "not a",
                       NULL);

    /* random bytes of several sizes, fixed seed */
    uint64_t seed = 0x6f6e6e7871ULL;
    static const size_t sizes[] = {1, 2, 7, 64, 1000, 4096, 65536};
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        uint8_t *r = malloc(sizes[k]);
        for (size_t i = 0; i < sizes[k]; i++)
            r[i] = (uint8_t)(rng_next(&seed) >> 56);
        char fname[64], what[64];
        snprintf(fname, sizeof(fname), "random%zu.onnx", sizes[k]);
        snprintf(what, sizeof(what), "random %zu bytes", sizes[k]);
        expect_bytes_error(what, dir, fname, r, sizes[k], ONNXQ_E_PARSE, "not", NULL);
        free(r);
    }

    /* a single zero byte and a run of 0xff bytes */
    const uint8_t zero[1] = {0};
    expect_bytes_error("one zero byte", dir, "zero.onnx", zero, 1, ONNXQ_E_PARSE, "not", NULL);
    uint8_t ff[32];
    memset(ff, 0xff, sizeof(ff));
    expect_bytes_error("0xff bytes", dir, "ff.onnx", ff, sizeof(ff), ONNXQ_E_PARSE, "not", NULL);

    /* NULL arguments are caller errors, not crashes */
    struct onnxq_error err = {0};
    struct onnxq_model *m = NULL;
    ck_assert_int_eq(onnxq_model_load(ctx, NULL, &m, &err), ONNXQ_E_INVALID_ARG);
    ck_assert_int_eq(onnxq_model_load(NULL, "x.onnx", &m, &err), ONNXQ_E_INVALID_ARG);
    ck_assert_int_eq(onnxq_model_load_buffer(ctx, NULL, 10, NULL, "x", &m, &err), ONNXQ_E_INVALID_ARG);
    ck_assert_int_eq(onnxq_model_load_buffer(ctx, "", 0, NULL, "zero.onnx", &m, &err), ONNXQ_E_PARSE);
    ck_assert_ptr_nonnull(strstr(err.message, "zero.onnx"));
    ck_assert_ptr_null(m);
    n_cases += 4;

    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* ------------------------------------------------------------ truncation */

struct pb_field {
    uint32_t number;
    size_t start, end;
};

static bool read_varint(const uint8_t *b, size_t n, size_t *p, uint64_t *v)
{
    uint64_t r = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (*p >= n)
            return false;
        uint8_t c = b[(*p)++];
        r |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *v = r;
            return true;
        }
    }
    return false;
}

/* Walk the top level of a protobuf message: tag varints, then a varint,
 * fixed64, length-delimited or fixed32 payload. Returns the field count. */
static size_t top_level_fields(const uint8_t *b, size_t n, struct pb_field **out)
{
    size_t count = 0, cap = 0, p = 0;
    struct pb_field *f = NULL;
    while (p < n) {
        size_t start = p;
        uint64_t tag = 0, v = 0;
        ck_assert_msg(read_varint(b, n, &p, &tag), "bad tag at byte %zu", start);
        switch (tag & 7) {
        case 0: ck_assert(read_varint(b, n, &p, &v)); break;
        case 1: p += 8; break;
        case 2:
            ck_assert(read_varint(b, n, &p, &v));
            ck_assert_uint_le(v, n - p);
            p += (size_t)v;
            break;
        case 5: p += 4; break;
        default: ck_abort_msg("unexpected wire type %u at byte %zu", (unsigned)(tag & 7), start);
        }
        ck_assert_uint_le(p, n);
        if (count == cap) {
            cap = cap ? cap * 2 : 16;
            f = realloc(f, cap * sizeof(*f));
            ck_assert_ptr_nonnull(f);
        }
        f[count].number = (uint32_t)(tag >> 3);
        f[count].start = start;
        f[count].end = p;
        count++;
    }
    *out = f;
    return count;
}

/* Load prefixes of a real model. Every prefix must fail, except one that ends
 * on a top-level field boundary after ir_version (1), graph (7) and an
 * opset_import (8) are all complete: that is a valid model in its own right. */
static void truncation_sweep(const char *path)
{
    size_t size = 0;
    uint8_t *buf = tu_read_file(path, &size);
    ck_assert_msg(buf != NULL, "%s missing: run models/fetch.sh", path);
    ck_assert_uint_gt(size, 64);
    /* name it by its folder too: the testdata models are all model.onnx */
    const char *name = base_name(path);
    if (name - path >= 2) {
        const char *p = name - 2;
        while (p > path && *p != '/')
            p--;
        name = *p == '/' ? p + 1 : p;
    }

    struct pb_field *f = NULL;
    size_t nf = top_level_fields(buf, size, &f);
    uint8_t *exempt = xcalloc(size + 1);
    uint8_t *test = xcalloc(size + 1);
    bool seen_ir = false, seen_graph = false, seen_opset = false;
    for (size_t i = 0; i < nf; i++) {
        seen_ir |= f[i].number == 1;
        seen_graph |= f[i].number == 7;
        seen_opset |= f[i].number == 8;
        if (seen_ir && seen_graph && seen_opset)
            exempt[f[i].end] = 1;
        /* boundaries are the interesting offsets: test them all, and one byte either side */
        test[f[i].start] = 1;
        if (f[i].start + 1 < size)
            test[f[i].start + 1] = 1;
        if (f[i].end < size)
            test[f[i].end] = test[f[i].end - 1] = 1;
    }
    ck_assert_msg(seen_ir && seen_graph && seen_opset, "%s lacks a required top-level field", path);
    for (size_t o = 0; o < 64; o++)
        test[o] = 1;
    for (size_t i = 0; i < 300; i++)
        test[(size_t)((uint64_t)i * size / 300)] = 1;

    size_t tested = 0, exempted = 0, exempt_ok = 0;
    for (size_t o = 0; o < size; o++) {
        if (!test[o])
            continue;
        tested++;
        /* an exact-size copy, so reading past the prefix is an ASan error */
        uint8_t *p = malloc(o ? o : 1);
        memcpy(p, buf, o);
        struct onnxq_error err = {0};
        struct onnxq_model *m = NULL;
        enum onnxq_status st = onnxq_model_load_buffer(ctx, p, o, NULL, name, &m, &err);
        free(p);
        if (exempt[o]) {
            exempted++;
            if (st == ONNXQ_OK)
                exempt_ok++;
            else
                ck_assert_msg(strstr(err.message, name), "%s[:%zu]: %s", name, o, err.message);
            onnxq_model_free(m);
            continue;
        }
        ck_assert_msg(st != ONNXQ_OK, "%s cut to %zu of %zu bytes loaded without an error", name, o, size);
        ck_assert_msg(st == ONNXQ_E_PARSE, "%s[:%zu]: expected ONNXQ_E_PARSE, got %s: %s", name, o,
                      onnxq_status_name(st), err.message);
        ck_assert_msg(strstr(err.message, name), "%s[:%zu]: message does not name the file: %s", name, o,
                      err.message);
        ck_assert_msg(strstr(err.message, o ? "truncated" : "empty"), "%s[:%zu]: message does not say "
                      "'%s': %s", name, o, o ? "truncated" : "empty", err.message);
    }
    printf("badinput: truncation of %s (%zu bytes, %zu top-level fields): %zu prefixes tested, %zu exempted "
           "(valid models ending on a field boundary; %zu of them load), %zu rejected\n",
           name, size, nf, tested, exempted, exempt_ok, tested - exempted);
    n_cases++;
    free(f);
    free(exempt);
    free(test);
    free(buf);
}

START_TEST(truncated_real_model)
{
    const char *root = tu_env_dir("ONNXQ_MODELS");
    ck_assert_msg(root != NULL, "ONNXQ_MODELS is not set");
    char *path = join(root, "ppocr_cls.onnx");
    truncation_sweep(path);
    free(path);
}
END_TEST

START_TEST(truncated_testdata_models)
{
    const char *root = tu_env_dir("ONNXQ_TESTDATA");
    ck_assert_msg(root != NULL, "ONNXQ_TESTDATA is not set");
    /* two opset imports: a prefix ending after the first is still a model */
    char *a = join(root, "simple/test_gradient_of_add/model.onnx");
    /* producer fields before the graph */
    char *b = join(root, "pytorch-converted/test_Conv2d/model.onnx");
    truncation_sweep(a);
    truncation_sweep(b);
    free(a);
    free(b);
}
END_TEST

/* ------------------------------------------------------------- bit flips */

START_TEST(bit_flips_real_model)
{
    const char *root = tu_env_dir("ONNXQ_MODELS");
    ck_assert_msg(root != NULL, "ONNXQ_MODELS is not set");
    char *path = join(root, "ppocr_cls.onnx");
    size_t size = 0;
    uint8_t *buf = tu_read_file(path, &size);
    ck_assert_msg(buf != NULL, "%s missing: run models/fetch.sh", path);
    enum { FLIPS = 2000 };
    uint64_t seed = 0x0b17f11b5ULL;
    size_t detected = 0, by_code[ONNXQ_STATUS_COUNT] = {0};
    /* the model is mostly weights; aim a quarter of the flips at the first
     * 8 KiB and the last 4 KiB, where the headers and node list live */
    for (int i = 0; i < FLIPS; i++) {
        uint64_t r = rng_next(&seed);
        size_t pos;
        switch (i % 4) {
        case 0: pos = (size_t)(r % (size < 8192 ? size : 8192)); break;
        case 1: pos = size - 1 - (size_t)(r % (size < 4096 ? size : 4096)); break;
        default: pos = (size_t)(r % size); break;
        }
        uint8_t bit = (uint8_t)(1u << ((r >> 32) % 8));
        buf[pos] ^= bit;
        struct onnxq_error err = {0};
        struct onnxq_model *m = NULL;
        enum onnxq_status st = onnxq_model_load_buffer(ctx, buf, size, NULL, "ppocr_cls.onnx", &m, &err);
        buf[pos] ^= bit;
        ck_assert_int_lt(st, ONNXQ_STATUS_COUNT);
        by_code[st]++;
        if (st == ONNXQ_OK) {
            ck_assert_ptr_nonnull(m);
            onnxq_model_free(m);
            continue;
        }
        detected++;
        ck_assert_msg(m == NULL, "flip at byte %zu: out-parameter written on failure", pos);
        ck_assert_msg(err.message[0] != '\0', "flip of bit 0x%02x at byte %zu: %s with an empty message", bit,
                      pos, onnxq_status_name(st));
        ck_assert_msg(st != ONNXQ_E_INTERNAL && st != ONNXQ_E_NOMEM && st != ONNXQ_E_INVALID_ARG,
                      "flip at byte %zu: %s: %s", pos, onnxq_status_name(st), err.message);
        ck_assert_msg(strstr(err.message, "ppocr_cls.onnx"), "flip at byte %zu: message does not name the "
                      "file: %s", pos, err.message);
    }
    printf("badinput: bit flips of ppocr_cls.onnx (%zu bytes): %d flips, %zu detected as errors (", size, FLIPS,
           detected);
    for (int c = 0; c < ONNXQ_STATUS_COUNT; c++)
        if (by_code[c])
            printf(" %s=%zu", onnxq_status_name((enum onnxq_status)c), by_code[c]);
    printf(" )\n");
    n_cases++;
    free(buf);
    free(path);
}
END_TEST

/* ------------------------------------------------------ structural errors */

START_TEST(structural_errors)
{
    char *dir = tu_mkdtemp();
    ck_assert_ptr_nonnull(dir);
    Onnx__ModelProto *m;
    struct onnxq_error err = {0};
    struct onnxq_model *ok = NULL;

    /* the baseline models load */
    size_t n;
    uint8_t *b = pb_pack(pb_base(), &n);
    ck_assert_msg(onnxq_model_load_buffer(ctx, b, n, NULL, "base.onnx", &ok, &err) == ONNXQ_OK, "%s", err.message);
    onnxq_model_free(ok);
    free(b);
    int64_t d4[1] = {4};
    Onnx__TensorProto *w = pb_tensor("W", 1, 1, d4);
    pb_raw(w, 16);
    b = pb_pack(pb_with_init(w), &n);
    ck_assert_msg(onnxq_model_load_buffer(ctx, b, n, NULL, "init.onnx", &ok, &err) == ONNXQ_OK, "%s", err.message);
    onnxq_model_free(ok);
    free(b);

    /* a node input nothing produces */
    m = pb_base();
    APPEND(m->graph->node, m->graph->n_node, pb_node("Add", "adder", NAMES("y", "ghost"), NAMES("z")));
    EXPECT_MODEL_ERROR("undefined node input", dir, "undef.onnx", m, ONNXQ_E_INVALID_MODEL, "'adder'",
                       "'ghost'");

    /* two nodes write the same output */
    m = pb_base();
    APPEND(m->graph->node, m->graph->n_node, pb_node("Sigmoid", "sig", NAMES("x"), NAMES("y")));
    EXPECT_MODEL_ERROR("duplicate output", dir, "dup.onnx", m, ONNXQ_E_INVALID_MODEL, "'y'", "duplicate");

    /* a node output that shadows a graph input */
    m = pb_base();
    APPEND(m->graph->node, m->graph->n_node, pb_node("Sigmoid", "sig", NAMES("y"), NAMES("x")));
    EXPECT_MODEL_ERROR("output overwrites input", dir, "dupin.onnx", m, ONNXQ_E_INVALID_MODEL, "'x'", "'sig'");

    /* a cycle of two nodes */
    {
        Onnx__GraphProto *g = pb_graph("cyclic");
        APPEND(g->input, g->n_input, pb_vi("x", 4));
        APPEND(g->output, g->n_output, pb_vi("t1", 4));
        APPEND(g->node, g->n_node, pb_node("Add", "loop_a", NAMES("x", "t2"), NAMES("t1")));
        APPEND(g->node, g->n_node, pb_node("Relu", "loop_b", NAMES("t1"), NAMES("t2")));
        EXPECT_MODEL_ERROR("cycle of two nodes", dir, "cycle.onnx", pb_model(g), ONNXQ_E_INVALID_MODEL, "cycle",
                           "loop_a", "loop_b");
    }

    /* initializer raw_data size disagrees with dims */
    w = pb_tensor("W", 1, 1, d4);
    pb_raw(w, 10);
    EXPECT_MODEL_ERROR("raw_data size", dir, "rawsize.onnx", pb_with_init(w), ONNXQ_E_INVALID_MODEL, "'W'",
                       "10");

    /* typed field count disagrees with dims */
    w = pb_tensor("W", 1, 1, d4);
    pb_floats(w, 3);
    EXPECT_MODEL_ERROR("typed count", dir, "typed.onnx", pb_with_init(w), ONNXQ_E_INVALID_MODEL, "'W'", "3");
    w = pb_tensor("W", 7, 1, d4); /* int64 */
    w->n_int64_data = 5;
    w->int64_data = xcalloc(5 * sizeof(int64_t));
    EXPECT_MODEL_ERROR("typed count int64", dir, "typed64.onnx", pb_with_init(w), ONNXQ_E_INVALID_MODEL,
                       "'W'", "5");

    /* huge dims with only three values: must not try to allocate 4 TiB */
    int64_t huge[2] = {1 << 20, 1 << 20};
    w = pb_tensor("W", 1, 2, huge);
    pb_floats(w, 3);
    EXPECT_MODEL_ERROR("typed count, huge dims", dir, "typedhuge.onnx", pb_with_init(w), ONNXQ_E_INVALID_MODEL,
                       "'W'", "3");

    /* raw data with huge dims */
    w = pb_tensor("W", 1, 2, huge);
    pb_raw(w, 16);
    EXPECT_MODEL_ERROR("raw_data, huge dims", dir, "rawhuge.onnx", pb_with_init(w), ONNXQ_E_INVALID_MODEL,
                       "'W'");

    /* negative dim */
    int64_t neg[1] = {-4};
    w = pb_tensor("W", 1, 1, neg);
    pb_raw(w, 16);
    EXPECT_MODEL_ERROR("negative dim", dir, "negdim.onnx", pb_with_init(w), ONNXQ_E_INVALID_MODEL, "'W'",
                       "dims");

    /* dims whose product overflows int64 */
    int64_t ovf[3] = {INT64_C(1) << 40, INT64_C(1) << 40, 4};
    w = pb_tensor("W", 1, 3, ovf);
    pb_raw(w, 16);
    EXPECT_MODEL_ERROR("dims overflow", dir, "ovf.onnx", pb_with_init(w), ONNXQ_E_INVALID_MODEL, "'W'", "dims");

    /* unsupported data type number */
    w = pb_tensor("W", 99, 1, d4);
    pb_raw(w, 16);
    EXPECT_MODEL_ERROR("data type 99", dir, "dtype99.onnx", pb_with_init(w), ONNXQ_E_UNSUPPORTED, "'W'", "99");
    w = pb_tensor("W", -3, 1, d4);
    pb_raw(w, 16);
    EXPECT_MODEL_ERROR("data type -3", dir, "dtypeneg.onnx", pb_with_init(w), ONNXQ_E_UNSUPPORTED, "'W'",
                       "-3");
    w = pb_tensor("W", 0, 1, d4);
    pb_raw(w, 16);
    EXPECT_MODEL_ERROR("data type 0", dir, "dtype0.onnx", pb_with_init(w), ONNXQ_E_INVALID_MODEL, "'W'",
                       "data type");

    /* rank above what onnxq supports */
    int64_t ones[20];
    for (int i = 0; i < 20; i++)
        ones[i] = 1;
    w = pb_tensor("W", 1, 20, ones);
    pb_raw(w, 4);
    EXPECT_MODEL_ERROR("rank 20", dir, "rank20.onnx", pb_with_init(w), ONNXQ_E_UNSUPPORTED, "'W'", "rank");

    /* initializer without a name */
    w = pb_tensor("", 1, 1, d4);
    pb_raw(w, 16);
    m = pb_base();
    APPEND(m->graph->initializer, m->graph->n_initializer, w);
    EXPECT_MODEL_ERROR("unnamed initializer", dir, "noname.onnx", m, ONNXQ_E_INVALID_MODEL, "initializer",
                       "no name");

    /* two initializers with one name */
    w = pb_tensor("W", 1, 1, d4);
    pb_raw(w, 16);
    m = pb_with_init(w);
    w = pb_tensor("W", 1, 1, d4);
    pb_raw(w, 16);
    APPEND(m->graph->initializer, m->graph->n_initializer, w);
    EXPECT_MODEL_ERROR("duplicate initializer", dir, "dupinit.onnx", m, ONNXQ_E_INVALID_MODEL, "'W'", "twice");

    /* a graph output nothing produces */
    m = pb_base();
    APPEND(m->graph->output, m->graph->n_output, pb_vi("z", 4));
    EXPECT_MODEL_ERROR("unproduced graph output", dir, "out.onnx", m, ONNXQ_E_INVALID_MODEL, "'z'", "output");

    /* a node without op_type */
    m = pb_base();
    APPEND(m->graph->node, m->graph->n_node, pb_node(NULL, "nameless_op", NAMES("y"), NAMES("z")));
    EXPECT_MODEL_ERROR("no op_type", dir, "noop.onnx", m, ONNXQ_E_INVALID_MODEL, "nameless_op", "op_type");

    /* a subgraph reads a name no scope defines */
    {
        m = pb_base();
        Onnx__GraphProto *then_g = pb_graph("then_body");
        APPEND(then_g->node, then_g->n_node, pb_node("Add", "inner_add", NAMES("y", "phantom"), NAMES("t")));
        APPEND(then_g->output, then_g->n_output, pb_vi("t", 4));
        Onnx__GraphProto *else_g = pb_graph("else_body");
        APPEND(else_g->node, else_g->n_node, pb_node("Identity", "inner_id", NAMES("y"), NAMES("e")));
        APPEND(else_g->output, else_g->n_output, pb_vi("e", 4));
        APPEND(m->graph->input, m->graph->n_input, pb_vi("cond", 1));
        Onnx__NodeProto *iff = pb_node("If", "branch", NAMES("cond"), NAMES("r"));
        pb_graph_attr(iff, "then_branch", then_g);
        pb_graph_attr(iff, "else_branch", else_g);
        APPEND(m->graph->node, m->graph->n_node, iff);
        EXPECT_MODEL_ERROR("subgraph undefined read", dir, "subgraph.onnx", m, ONNXQ_E_INVALID_MODEL, "'branch'",
                           "'inner_add'", "'phantom'");
    }

    /* a model with no graph */
    EXPECT_MODEL_ERROR("no graph", dir, "nograph.onnx", pb_model(NULL), ONNXQ_E_PARSE, "no graph");

    /* no opset_import */
    m = pb_base();
    onnx__operator_set_id_proto__free_unpacked(m->opset_import[0], NULL);
    free(m->opset_import);
    m->opset_import = NULL;
    m->n_opset_import = 0;
    EXPECT_MODEL_ERROR("no opset_import", dir, "noopset.onnx", m, ONNXQ_E_PARSE, "opset_import");

    /* opset import without a version */
    m = pb_base();
    m->opset_import[0]->has_version = 0;
    EXPECT_MODEL_ERROR("opset without version", dir, "opsetver.onnx", m, ONNXQ_E_INVALID_MODEL, "opset",
                       "version");

    /* no ir_version */
    m = pb_base();
    m->has_ir_version = 0;
    EXPECT_MODEL_ERROR("no ir_version", dir, "noir.onnx", m, ONNXQ_E_PARSE, "ir_version");

    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* ---------------------------------------------------------- external data */

/* Model W[4] (float, 16 bytes) with external data keys, written as
 * dir/model.onnx. Keys/values alternate, NULL-terminated. */
static char *write_ext_model(const char *dir, ...)
{
    int64_t d4[1] = {4};
    Onnx__TensorProto *w = pb_tensor("W", 1, 1, d4);
    va_list ap;
    va_start(ap, dir);
    const char *k;
    while ((k = va_arg(ap, const char *))) {
        const char *v = va_arg(ap, const char *);
        pb_ext(w, k, v);
    }
    va_end(ap);
    size_t n;
    uint8_t *b = pb_pack(pb_with_init(w), &n);
    char *path = join(dir, "model.onnx");
    ck_assert_int_eq(tu_write_file(path, b, n), 0);
    free(b);
    return path;
}

static void write_bytes(const char *dir, const char *name, size_t n)
{
    char *p = join(dir, name);
    uint8_t *z = xcalloc(n ? n : 1);
    ck_assert_int_eq(tu_write_file(p, z, n), 0);
    free(z);
    free(p);
}

START_TEST(external_data_errors)
{
    char *root = tu_mkdtemp();
    ck_assert_ptr_nonnull(root);
    char *dir = join(root, "model");
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    write_bytes(root, "outside.bin", 64);  /* a file next to, not inside, the model folder */
    write_bytes(dir, "w.bin", 16);
    write_bytes(dir, "short.bin", 8);
    char *path;

    /* the good case loads */
    path = write_ext_model(dir, "location", "w.bin", NULL);
    struct onnxq_error err = {0};
    struct onnxq_model *m = NULL;
    ck_assert_msg(onnxq_model_load(ctx, path, &m, &err) == ONNXQ_OK, "%s", err.message);
    onnxq_model_free(m);
    free(path);

    path = write_ext_model(dir, "location", "/etc/passwd", NULL);
    expect_load_error("external: absolute path", path, ONNXQ_E_INVALID_MODEL, "'W'", "/etc/passwd", "absolute",
                      NULL);
    free(path);

    path = write_ext_model(dir, "location", "../outside.bin", NULL);
    expect_load_error("external: ../ escape", path, ONNXQ_E_INVALID_MODEL, "'W'", "../outside.bin", "outside",
                      NULL);
    free(path);

    path = write_ext_model(dir, "location", "sub/../../outside.bin", NULL);
    expect_load_error("external: sub/../../ escape", path, ONNXQ_E_INVALID_MODEL, "'W'", "outside", NULL);
    free(path);

    /* a symlink inside the folder that points outside it, absolute and relative */
    char *target = join(root, "outside.bin");
    char *link1 = join(dir, "link_abs.bin");
    char *link2 = join(dir, "link_rel.bin");
    ck_assert_int_eq(symlink(target, link1), 0);
    ck_assert_int_eq(symlink("../outside.bin", link2), 0);
    path = write_ext_model(dir, "location", "link_abs.bin", NULL);
    expect_load_error("external: symlink (absolute)", path, ONNXQ_E_INVALID_MODEL, "'W'", "link_abs.bin",
                      "outside", NULL);
    free(path);
    path = write_ext_model(dir, "location", "link_rel.bin", NULL);
    expect_load_error("external: symlink (relative)", path, ONNXQ_E_INVALID_MODEL, "'W'", "link_rel.bin",
                      "outside", NULL);
    free(path);
    free(target);
    free(link1);
    free(link2);

    /* file too short for the tensor, and an offset past its end */
    path = write_ext_model(dir, "location", "short.bin", NULL);
    expect_load_error("external: file too short", path, ONNXQ_E_INVALID_MODEL, "'W'", "short.bin", "too short",
                      NULL);
    free(path);
    path = write_ext_model(dir, "location", "w.bin", "offset", "8", NULL);
    expect_load_error("external: offset past data", path, ONNXQ_E_INVALID_MODEL, "'W'", "w.bin", "too short",
                      NULL);
    free(path);
    path = write_ext_model(dir, "location", "w.bin", "offset", "99999999999999", NULL);
    expect_load_error("external: offset far past end", path, ONNXQ_E_INVALID_MODEL, "'W'", "w.bin", "too short", NULL);
    free(path);
    path = write_ext_model(dir, "location", "w.bin", "offset", "-1", NULL);
    expect_load_error("external: offset -1", path, ONNXQ_E_INVALID_MODEL, "'W'", "offset", "not a number", NULL);
    free(path);

    /* missing file */
    path = write_ext_model(dir, "location", "missing.bin", NULL);
    expect_load_error("external: missing file", path, ONNXQ_E_IO, "'W'", "missing.bin", "cannot open", NULL);
    free(path);

    /* a directory instead of a file */
    char *subdir = join(dir, "subdir");
    ck_assert_int_eq(mkdir(subdir, 0755), 0);
    free(subdir);
    path = write_ext_model(dir, "location", "subdir", NULL);
    expect_load_error("external: a directory", path, ONNXQ_E_IO, "'W'", "subdir", "not a regular file", NULL);
    free(path);

    /* length disagrees with the dims */
    path = write_ext_model(dir, "location", "w.bin", "length", "8", NULL);
    expect_load_error("external: length key", path, ONNXQ_E_INVALID_MODEL, "'W'", "length 8", "16", NULL);
    free(path);
    path = write_ext_model(dir, "location", "w.bin", "length", "lots", NULL);
    expect_load_error("external: length not a number", path, ONNXQ_E_INVALID_MODEL, "'W'", "lots", NULL);
    free(path);

    /* no location, empty location */
    path = write_ext_model(dir, "offset", "0", NULL);
    expect_load_error("external: no location", path, ONNXQ_E_INVALID_MODEL, "'W'", "location", NULL);
    free(path);
    path = write_ext_model(dir, "location", "", NULL);
    expect_load_error("external: empty location", path, ONNXQ_E_INVALID_MODEL, "'W'", "location", "empty", NULL);
    free(path);

    /* loaded from a buffer without a folder for external data */
    path = write_ext_model(dir, "location", "w.bin", NULL);
    size_t n = 0;
    uint8_t *b = tu_read_file(path, &n);
    ck_assert_ptr_nonnull(b);
    m = NULL;
    enum onnxq_status st = onnxq_model_load_buffer(ctx, b, n, NULL, "buffered.onnx", &m, &err);
    ck_assert_ptr_null(m);
    ck_assert_msg(st == ONNXQ_E_INVALID_MODEL, "buffer without base_dir: %s: %s", onnxq_status_name(st),
                  err.message);
    ck_assert_msg(strstr(err.message, "buffered.onnx") && strstr(err.message, "'W'") &&
                  strstr(err.message, "from memory"), "buffer without base_dir: %s", err.message);
    printf("badinput: %-28s %-22s %s\n", "external: buffer, no folder", onnxq_status_name(st), err.message);
    n_cases++;
    /* with the folder given, the same buffer loads */
    ck_assert_msg(onnxq_model_load_buffer(ctx, b, n, dir, "buffered.onnx", &m, &err) == ONNXQ_OK, "%s",
                  err.message);
    onnxq_model_free(m);
    free(b);
    free(path);

    tu_rmtree(root);
    free(root);
    free(dir);
}
END_TEST

/* ------------------------------------------------------------ save errors */

START_TEST(save_errors)
{
    char *dir = tu_mkdtemp();
    ck_assert_ptr_nonnull(dir);
    int64_t d4[1] = {4};
    Onnx__TensorProto *w = pb_tensor("W", 1, 1, d4);
    pb_raw(w, 16);
    size_t n;
    uint8_t *b = pb_pack(pb_with_init(w), &n);
    struct onnxq_error err = {0};
    struct onnxq_model *m = NULL;
    ck_assert_msg(onnxq_model_load_buffer(ctx, b, n, NULL, "save.onnx", &m, &err) == ONNXQ_OK, "%s", err.message);
    free(b);

    /* into a folder that does not exist */
    char *nodir = join(dir, "no/such/folder");
    char *path = join(nodir, "m.onnx");
    enum onnxq_status st = onnxq_model_save(m, path, NULL, &err);
    ck_assert_msg(st == ONNXQ_E_IO, "save into a missing folder: %s: %s", onnxq_status_name(st), err.message);
    ck_assert_msg(strstr(err.message, path), "message does not name %s: %s", path, err.message);
    ck_assert_int_ne(access(path, F_OK), 0);
    ck_assert_int_ne(access(nodir, F_OK), 0);
    ck_assert_int_eq(dir_entries(dir), 0);
    printf("badinput: %-28s %-22s %s\n", "save: missing folder", onnxq_status_name(st), err.message);
    /* the same with external data */
    struct onnxq_save_options o = {.external_threshold = 1};
    st = onnxq_model_save(m, path, &o, &err);
    ck_assert_msg(st == ONNXQ_E_IO, "save (external) into a missing folder: %s: %s", onnxq_status_name(st),
                  err.message);
    ck_assert_int_eq(dir_entries(dir), 0);
    free(path);
    free(nodir);

    /* external file name with a '/' */
    path = join(dir, "m.onnx");
    static const char *const bad_names[] = {"sub/w.bin", "../w.bin", "/tmp/w.bin", "..", "."};
    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
        struct onnxq_save_options x = {.external_threshold = 1, .external_file = bad_names[i]};
        st = onnxq_model_save(m, path, &x, &err);
        ck_assert_msg(st == ONNXQ_E_INVALID_ARG, "external_file '%s': %s: %s", bad_names[i],
                      onnxq_status_name(st), err.message);
        ck_assert_msg(strstr(err.message, bad_names[i]), "message does not name '%s': %s", bad_names[i],
                      err.message);
        ck_assert_int_eq(dir_entries(dir), 0);
        printf("badinput: %-28s %-22s %s\n", "save: bad external_file", onnxq_status_name(st), err.message);
    }
    /* external file equal to the model file */
    struct onnxq_save_options same = {.external_threshold = 1, .external_file = "m.onnx"};
    st = onnxq_model_save(m, path, &same, &err);
    ck_assert_msg(st == ONNXQ_E_INVALID_ARG, "external_file == model file: %s", onnxq_status_name(st));
    ck_assert_int_eq(dir_entries(dir), 0);

    /* a path that is an existing directory */
    char *sub = join(dir, "folder");
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    st = onnxq_model_save(m, sub, NULL, &err);
    ck_assert_msg(st == ONNXQ_E_IO, "save over a directory: %s: %s", onnxq_status_name(st), err.message);
    ck_assert_msg(strstr(err.message, sub), "message does not name %s: %s", sub, err.message);
    ck_assert_int_eq(dir_entries(dir), 1);
    ck_assert_int_eq(dir_entries(sub), 0);
    printf("badinput: %-28s %-22s %s\n", "save: over a directory", onnxq_status_name(st), err.message);
    free(sub);

    /* NULL and empty paths */
    ck_assert_int_eq(onnxq_model_save(m, NULL, NULL, &err), ONNXQ_E_INVALID_ARG);
    ck_assert_int_eq(onnxq_model_save(m, "", NULL, &err), ONNXQ_E_INVALID_ARG);
    ck_assert_int_eq(onnxq_model_save(NULL, path, NULL, &err), ONNXQ_E_INVALID_ARG);

    /* and a good save still works afterwards */
    ck_assert_msg(onnxq_model_save(m, path, NULL, &err) == ONNXQ_OK, "%s", err.message);
    ck_assert_int_eq(dir_entries(dir), 2);
    n_cases += 11;

    onnxq_model_free(m);
    free(path);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

static Suite *badinput_suite(void)
{
    Suite *s = suite_create("badinput");
    TCase *tc = tcase_create("badinput");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, unreadable_and_foreign_files);
    tcase_add_test(tc, truncated_real_model);
    tcase_add_test(tc, truncated_testdata_models);
    tcase_add_test(tc, bit_flips_real_model);
    tcase_add_test(tc, structural_errors);
    tcase_add_test(tc, external_data_errors);
    tcase_add_test(tc, save_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(badinput_suite());
}
