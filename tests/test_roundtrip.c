/* Loader/saver round trips: ONNX's own test models, the real npm models,
 * external data, unknown fields, every dtype from typed fields and raw data. */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/context.h"
#include "ir/graph.h"
#include "ir/graph_util.h"
#include "onnx.pb-c.h"
#include "onnx/onnx_io.h"
#include "testutil.h"

static char *dir_of(const char *path)
{
    char *d = strdup(path);
    char *s = strrchr(d, '/');
    if (s)
        *s = '\0';
    else
        strcpy(d, ".");
    return d;
}

/* load -> serialize -> load: identical IR, and a second serialization gives
 * the same bytes. Returns 1 on success, 0 on failure (message printed). */
static int roundtrip_file(const char *path)
{
    struct onnxq_error err;
    struct onnxq_model *a = NULL, *b = NULL;
    uint8_t *bytes1 = NULL, *bytes2 = NULL;
    size_t n1 = 0, n2 = 0;
    char why[512] = "";
    int ok = 0;
    char *dir = dir_of(path);
    if (onnxq_model_load(tu_ctx, path, &a, &err) != ONNXQ_OK) {
        fprintf(stderr, "FAIL load %s: %s\n", path, err.message);
        goto out;
    }
    if (onnxq_model_serialize(a, &bytes1, &n1, &err) != ONNXQ_OK) {
        fprintf(stderr, "FAIL serialize %s: %s\n", path, err.message);
        goto out;
    }
    if (onnxq_model_load_buffer(tu_ctx, bytes1, n1, dir, path, &b, &err) != ONNXQ_OK) {
        fprintf(stderr, "FAIL reload %s: %s\n", path, err.message);
        goto out;
    }
    if (!onnxq_model_equal(a, b, why, sizeof(why))) {
        fprintf(stderr, "FAIL %s: IR differs after round trip: %s\n", path, why);
        goto out;
    }
    if (onnxq_model_serialize(b, &bytes2, &n2, &err) != ONNXQ_OK || n1 != n2 || memcmp(bytes1, bytes2, n1)) {
        fprintf(stderr, "FAIL %s: second serialization differs\n", path);
        goto out;
    }
    ok = 1;
out:
    onnxq_model_free(a);
    onnxq_model_free(b);
    free(bytes1);
    free(bytes2);
    free(dir);
    return ok;
}

START_TEST(testdata_all_models)
{
    const char *root = tu_env_dir("ONNXQ_TESTDATA");
    ck_assert_msg(root != NULL, "ONNXQ_TESTDATA is not set");
    char **paths = NULL;
    size_t n = tu_find_files(root, "model.onnx", &paths);
    size_t passed = 0;
    for (size_t i = 0; i < n; i++)
        passed += (size_t)roundtrip_file(paths[i]);
    printf("round trip: %zu of %zu libonnx-testdata models load, save and reload into an identical IR\n",
           passed, n);
    tu_free_paths(paths, n);
    ck_assert_msg(n >= 1000, "expected about 1070 models under %s, found %zu", root, n);
    ck_assert_uint_eq(passed, n);
}
END_TEST

static const char *const real_models[] = {
    "ppocr_det.onnx", "ppocr_rec.onnx", "ppocr_cls.onnx", "silero_vad_legacy.onnx", "silero_vad_v5.onnx",
    "oww_melspectrogram.onnx", "oww_embedding.onnx",
};

START_TEST(real_models_roundtrip)
{
    const char *root = tu_env_dir("ONNXQ_MODELS");
    ck_assert_msg(root != NULL, "ONNXQ_MODELS is not set");
    size_t count = 0;
    for (size_t i = 0; i < sizeof(real_models) / sizeof(real_models[0]); i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", root, real_models[i]);
        ck_assert_msg(access(path, R_OK) == 0, "%s missing: run models/fetch.sh", path);
        ck_assert_msg(roundtrip_file(path), "round trip of %s failed", path);
        count++;
    }
    /* every other fetched openWakeWord model too */
    DIR *d = opendir(root);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "oww_", 4) != 0 || !strstr(e->d_name, ".onnx") ||
            strcmp(e->d_name, "oww_melspectrogram.onnx") == 0 || strcmp(e->d_name, "oww_embedding.onnx") == 0)
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", root, e->d_name);
        ck_assert_msg(roundtrip_file(path), "round trip of %s failed", path);
        count++;
    }
    closedir(d);
    printf("round trip: %zu real models identical after reload\n", count);
    ck_assert_uint_ge(count, 8);
}
END_TEST

/* ------------------------------------------------------------ external */

static const char *conv_model(void)
{
    static char path[4096];
    const char *root = tu_env_dir("ONNXQ_TESTDATA");
    snprintf(path, sizeof(path), "%s/pytorch-converted/test_Conv2d/model.onnx", root ? root : "");
    return path;
}

START_TEST(external_data_roundtrip)
{
    struct onnxq_error err;
    struct onnxq_model *a = NULL, *b = NULL, *c = NULL;
    char *dir = tu_mkdtemp();
    char path[4096], data[4096], path2[4096];
    char why[512] = "";
    ck_assert_int_eq(onnxq_model_load(tu_ctx, conv_model(), &a, &err), ONNXQ_OK);
    ck_assert_uint_ge(a->graph->n_inits, 1);
    snprintf(path, sizeof(path), "%s/m.onnx", dir);
    struct onnxq_save_options o = {.external_threshold = 1, .external_file = "weights.bin"};
    ck_assert_int_eq(onnxq_model_save(a, path, &o, &err), ONNXQ_OK);
    snprintf(data, sizeof(data), "%s/weights.bin", dir);
    struct stat sm, sd;
    ck_assert_int_eq(stat(path, &sm), 0);
    ck_assert_int_eq(stat(data, &sd), 0);
    size_t bytes = 0;
    for (size_t i = 0; i < a->graph->n_inits; i++)
        bytes += a->graph->inits[i]->value.nbytes;
    ck_assert_int_ge(sd.st_size, (off_t)bytes);
    size_t inline_size = 0;
    uint8_t *inline_bytes = NULL;
    ck_assert_int_eq(onnxq_model_serialize(a, &inline_bytes, &inline_size, &err), ONNXQ_OK);
    free(inline_bytes);
    /* the weights are not inline: the model shrinks by at least their size
     * minus the location/offset/length entries (< 64 bytes per tensor) */
    ck_assert_int_le(sm.st_size + (off_t)bytes, (off_t)(inline_size + 64 * a->graph->n_inits));

    ck_assert_int_eq(onnxq_model_load(tu_ctx, path, &b, &err), ONNXQ_OK);
    ck_assert_msg(onnxq_model_equal(a, b, why, sizeof(why)), "external reload differs: %s", why);
    ck_assert_uint_eq(b->n_external_files, 1);
    ck_assert_str_eq(b->external_files[0], "weights.bin");
    for (size_t i = 0; i < b->graph->n_inits; i++) {
        ck_assert(onnxq_tensor_equal(&a->graph->inits[i]->value, &b->graph->inits[i]->value));
        ck_assert_str_eq(b->graph->inits[i]->external_file, "weights.bin");
    }
    /* Back to a single file. */
    snprintf(path2, sizeof(path2), "%s/inline.onnx", dir);
    ck_assert_int_eq(onnxq_model_save(b, path2, NULL, &err), ONNXQ_OK);
    ck_assert_int_eq(onnxq_model_load(tu_ctx, path2, &c, &err), ONNXQ_OK);
    ck_assert(onnxq_model_equal(a, c, why, sizeof(why)));
    ck_assert_uint_eq(c->n_external_files, 0);
    /* No temp files left behind. */
    DIR *d = opendir(dir);
    struct dirent *e;
    int files = 0;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            files++;
            ck_assert_msg(!strstr(e->d_name, ".tmp."), "temp file %s left behind", e->d_name);
        }
    closedir(d);
    ck_assert_int_eq(files, 3);
    onnxq_model_free(a);
    onnxq_model_free(b);
    onnxq_model_free(c);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(external_default_name_and_threshold)
{
    struct onnxq_error err;
    struct onnxq_model *a = NULL, *b = NULL;
    char *dir = tu_mkdtemp();
    char path[4096], data[4096];
    ck_assert_int_eq(onnxq_model_load(tu_ctx, conv_model(), &a, &err), ONNXQ_OK);
    /* threshold above the bias size, below the weight size: only big tensors move */
    size_t big = 0, small = SIZE_MAX;
    for (size_t i = 0; i < a->graph->n_inits; i++) {
        size_t nb = a->graph->inits[i]->value.nbytes;
        big = nb > big ? nb : big;
        small = nb < small ? nb : small;
    }
    ck_assert_uint_gt(big, small);
    snprintf(path, sizeof(path), "%s/model.onnx", dir);
    struct onnxq_save_options o = {.external_threshold = big};
    ck_assert_int_eq(onnxq_model_save(a, path, &o, &err), ONNXQ_OK);
    snprintf(data, sizeof(data), "%s/model.onnx.data", dir);
    ck_assert_int_eq(access(data, R_OK), 0);
    ck_assert_int_eq(onnxq_model_load(tu_ctx, path, &b, &err), ONNXQ_OK);
    for (size_t i = 0; i < b->graph->n_inits; i++) {
        const struct onnxq_constant *c = b->graph->inits[i];
        if (c->value.nbytes >= big)
            ck_assert_ptr_nonnull(c->external_file);
        else
            ck_assert_ptr_null(c->external_file);
    }
    ck_assert(onnxq_model_equal(a, b, NULL, 0));
    onnxq_model_free(a);
    onnxq_model_free(b);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* --------------------------------------------------------- unknown fields */

static uint8_t varint_payload[] = {0x2a};
/* length-delimited payloads carry their length prefix, as protobuf-c stores them */
static uint8_t bytes_payload[] = {5, 'o', 'n', 'n', 'x', 'q'};

static void add_unknown(ProtobufCMessage *m, uint32_t tag, ProtobufCWireType wt, uint8_t *data, size_t len)
{
    m->unknown_fields = realloc(m->unknown_fields, (m->n_unknown_fields + 1) * sizeof(*m->unknown_fields));
    ProtobufCMessageUnknownField *f = &m->unknown_fields[m->n_unknown_fields++];
    f->tag = tag;
    f->wire_type = wt;
    f->len = len;
    f->data = malloc(len);
    memcpy(f->data, data, len);
}

static bool has_unknown(const ProtobufCMessage *m, uint32_t tag, const uint8_t *data, size_t len)
{
    for (unsigned i = 0; i < m->n_unknown_fields; i++)
        if (m->unknown_fields[i].tag == tag && m->unknown_fields[i].len == len &&
            memcmp(m->unknown_fields[i].data, data, len) == 0)
            return true;
    return false;
}

START_TEST(unknown_fields_and_functions_survive)
{
    size_t size = 0;
    uint8_t *orig = tu_read_file(conv_model(), &size);
    ck_assert_ptr_nonnull(orig);
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, size, orig);
    ck_assert_ptr_nonnull(mp);
    ck_assert_uint_ge(mp->graph->n_node, 1);
    /* unknown fields at several levels, as a newer ONNX would write them */
    add_unknown(&mp->base, 900, PROTOBUF_C_WIRE_TYPE_VARINT, varint_payload, 1);
    add_unknown(&mp->graph->base, 901, PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED, bytes_payload, 6);
    add_unknown(&mp->graph->node[0]->base, 902, PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED, bytes_payload, 6);
    add_unknown(&mp->graph->input[0]->base, 903, PROTOBUF_C_WIRE_TYPE_VARINT, varint_payload, 1);
    add_unknown(&mp->graph->initializer[0]->base, 904, PROTOBUF_C_WIRE_TYPE_VARINT, varint_payload, 1);
    /* a local function, which the IR keeps opaque */
    Onnx__FunctionProto *fn = malloc(sizeof(*fn));
    onnx__function_proto__init(fn);
    fn->name = strdup("MyFunction");
    fn->domain = strdup("custom.domain");
    mp->functions = realloc(mp->functions, sizeof(*mp->functions));
    mp->functions[0] = fn;
    mp->n_functions = 1;
    size_t n = onnx__model_proto__get_packed_size(mp);
    uint8_t *buf = malloc(n);
    onnx__model_proto__pack(mp, buf);
    onnx__model_proto__free_unpacked(mp, NULL);

    struct onnxq_error err;
    struct onnxq_model *m = NULL;
    ck_assert_int_eq(onnxq_model_load_buffer(tu_ctx, buf, n, NULL, "unknown.onnx", &m, &err), ONNXQ_OK);
    uint8_t *out = NULL;
    size_t out_n = 0;
    ck_assert_int_eq(onnxq_model_serialize(m, &out, &out_n, &err), ONNXQ_OK);
    Onnx__ModelProto *r = onnx__model_proto__unpack(NULL, out_n, out);
    ck_assert_ptr_nonnull(r);
    ck_assert(has_unknown(&r->base, 900, varint_payload, 1));
    ck_assert(has_unknown(&r->graph->base, 901, bytes_payload, 6));
    ck_assert(has_unknown(&r->graph->node[0]->base, 902, bytes_payload, 6));
    ck_assert(has_unknown(&r->graph->input[0]->base, 903, varint_payload, 1));
    ck_assert(has_unknown(&r->graph->initializer[0]->base, 904, varint_payload, 1));
    ck_assert_uint_eq(r->n_functions, 1);
    ck_assert_str_eq(r->functions[0]->name, "MyFunction");
    ck_assert_str_eq(r->functions[0]->domain, "custom.domain");
    onnx__model_proto__free_unpacked(r, NULL);
    onnxq_model_free(m);
    free(out);
    free(buf);
    free(orig);
}
END_TEST

/* ------------------------------------------------------------ subgraphs */

START_TEST(subgraphs_become_nested_graphs)
{
    const char *root = tu_env_dir("ONNXQ_TESTDATA");
    char path[4096];
    snprintf(path, sizeof(path), "%s/node/test_if/model.onnx", root);
    struct onnxq_error err;
    struct onnxq_model *m = NULL;
    ck_assert_int_eq(onnxq_model_load(tu_ctx, path, &m, &err), ONNXQ_OK);
    ck_assert_uint_eq(m->graph->n_nodes, 1);
    const struct onnxq_node *n = m->graph->nodes[0];
    ck_assert_str_eq(n->op_type, "If");
    const struct onnxq_attr *then_b = onnxq_node_attr(n, "then_branch");
    const struct onnxq_attr *else_b = onnxq_node_attr(n, "else_branch");
    ck_assert_ptr_nonnull(then_b);
    ck_assert_ptr_nonnull(else_b);
    ck_assert_ptr_nonnull(then_b->g);
    ck_assert_ptr_nonnull(else_b->g);
    ck_assert_uint_ge(then_b->g->n_nodes, 1);
    ck_assert_uint_eq(onnxq_graph_count_subgraphs(m->graph), 2);
    onnxq_model_free(m);

    /* Loop bodies read outer-scope values */
    snprintf(path, sizeof(path), "%s/node/test_loop11/model.onnx", root);
    ck_assert_int_eq(onnxq_model_load(tu_ctx, path, &m, &err), ONNXQ_OK);
    ck_assert_uint_eq(onnxq_graph_count_subgraphs(m->graph), 1);
    onnxq_model_free(m);
}
END_TEST

/* ------------------------------------------------------- dtype decoding */

/* A model with one initializer per dtype, stored in the typed repeated
 * fields; the loader must decode each into dense little-endian data. */
static Onnx__TensorProto *typed_tensor(const char *name, int dt, size_t n)
{
    Onnx__TensorProto *t = calloc(1, sizeof(*t));
    onnx__tensor_proto__init(t);
    t->name = strdup(name);
    t->has_data_type = 1;
    t->data_type = dt;
    t->n_dims = 1;
    t->dims = malloc(sizeof(int64_t));
    t->dims[0] = (int64_t)n;
    return t;
}

START_TEST(every_dtype_from_typed_fields)
{
    Onnx__ModelProto mp;
    onnx__model_proto__init(&mp);
    Onnx__GraphProto g;
    onnx__graph_proto__init(&g);
    Onnx__OperatorSetIdProto op;
    onnx__operator_set_id_proto__init(&op);
    op.has_version = 1;
    op.version = 13;
    Onnx__OperatorSetIdProto *ops[1] = {&op};
    mp.has_ir_version = 1;
    mp.ir_version = 8;
    mp.n_opset_import = 1;
    mp.opset_import = ops;
    mp.graph = &g;
    g.name = "dtypes";

    Onnx__TensorProto *t[16];
    size_t nt = 0;
    float fv[3] = {1.5f, -2.0f, NAN};
    int32_t iv[3] = {-1, 127, 255};
    int64_t lv[3] = {INT64_MIN, 0, INT64_MAX};
    uint64_t uv[3] = {0, 4000000000u, 18000000000000000000u};
    double dv[3] = {0.1, -1e300, 3.0};
    int32_t hv[3] = {0x3c00, 0xc000, 0x7c00}; /* 1, -2, inf as half */
    int32_t bv[3] = {0x3f80, 0xc000, 0x7f80}; /* 1, -2, inf as bfloat16 */
    int32_t boolv[3] = {1, 0, 1};
    ProtobufCBinaryData sv[3] = {{1, (uint8_t *)"a"}, {0, NULL}, {3, (uint8_t *)"xyz"}};

    t[nt] = typed_tensor("f", ONNXQ_DT_FLOAT, 3); t[nt]->n_float_data = 3; t[nt]->float_data = fv; nt++;
    t[nt] = typed_tensor("i8", ONNXQ_DT_INT8, 3); t[nt]->n_int32_data = 3; t[nt]->int32_data = iv; nt++;
    t[nt] = typed_tensor("u8", ONNXQ_DT_UINT8, 3); t[nt]->n_int32_data = 3; t[nt]->int32_data = iv; nt++;
    t[nt] = typed_tensor("i16", ONNXQ_DT_INT16, 3); t[nt]->n_int32_data = 3; t[nt]->int32_data = iv; nt++;
    t[nt] = typed_tensor("u16", ONNXQ_DT_UINT16, 3); t[nt]->n_int32_data = 3; t[nt]->int32_data = iv; nt++;
    t[nt] = typed_tensor("i32", ONNXQ_DT_INT32, 3); t[nt]->n_int32_data = 3; t[nt]->int32_data = iv; nt++;
    t[nt] = typed_tensor("i64", ONNXQ_DT_INT64, 3); t[nt]->n_int64_data = 3; t[nt]->int64_data = lv; nt++;
    t[nt] = typed_tensor("u32", ONNXQ_DT_UINT32, 3); t[nt]->n_uint64_data = 3; t[nt]->uint64_data = uv; nt++;
    t[nt] = typed_tensor("u64", ONNXQ_DT_UINT64, 3); t[nt]->n_uint64_data = 3; t[nt]->uint64_data = uv; nt++;
    t[nt] = typed_tensor("f64", ONNXQ_DT_DOUBLE, 3); t[nt]->n_double_data = 3; t[nt]->double_data = dv; nt++;
    t[nt] = typed_tensor("f16", ONNXQ_DT_FLOAT16, 3); t[nt]->n_int32_data = 3; t[nt]->int32_data = hv; nt++;
    t[nt] = typed_tensor("bf16", ONNXQ_DT_BFLOAT16, 3); t[nt]->n_int32_data = 3; t[nt]->int32_data = bv; nt++;
    t[nt] = typed_tensor("b", ONNXQ_DT_BOOL, 3); t[nt]->n_int32_data = 3; t[nt]->int32_data = boolv; nt++;
    t[nt] = typed_tensor("s", ONNXQ_DT_STRING, 3); t[nt]->n_string_data = 3; t[nt]->string_data = sv; nt++;
    t[nt] = typed_tensor("c64", ONNXQ_DT_COMPLEX64, 1); t[nt]->n_float_data = 2; t[nt]->float_data = fv; nt++;
    g.n_initializer = nt;
    g.initializer = t;

    size_t n = onnx__model_proto__get_packed_size(&mp);
    uint8_t *buf = malloc(n);
    onnx__model_proto__pack(&mp, buf);
    for (size_t i = 0; i < nt; i++) {
        free(t[i]->name);
        free(t[i]->dims);
        free(t[i]);
    }

    struct onnxq_error err;
    struct onnxq_model *m = NULL, *m2 = NULL;
    ck_assert_msg(onnxq_model_load_buffer(tu_ctx, buf, n, NULL, "dtypes.onnx", &m, &err) == ONNXQ_OK, "%s",
                  err.message);
    const struct onnxq_graph *G = m->graph;
#define T(i) (&G->inits[i]->value)
    const float *f = T(0)->data;
    ck_assert_float_eq(f[0], 1.5f);
    ck_assert_float_eq(f[1], -2.0f);
    ck_assert(isnan(f[2]));
    const int8_t *i8 = T(1)->data;
    ck_assert_int_eq(i8[0], -1);
    ck_assert_int_eq(i8[1], 127);
    const uint8_t *u8 = T(2)->data;
    ck_assert_uint_eq(u8[2], 255);
    const int16_t *i16 = T(3)->data;
    ck_assert_int_eq(i16[0], -1);
    ck_assert_int_eq(i16[2], 255);
    const uint16_t *u16 = T(4)->data;
    ck_assert_uint_eq(u16[0], 65535);
    const int32_t *i32 = T(5)->data;
    ck_assert_int_eq(i32[0], -1);
    const int64_t *i64 = T(6)->data;
    ck_assert(i64[0] == INT64_MIN && i64[2] == INT64_MAX);
    const uint32_t *u32 = T(7)->data;
    ck_assert_uint_eq(u32[1], 4000000000u);
    const uint64_t *u64 = T(8)->data;
    ck_assert(u64[2] == 18000000000000000000u);
    const double *f64 = T(9)->data;
    ck_assert(f64[1] == -1e300);
    const uint16_t *h = T(10)->data;
    ck_assert_float_eq(onnxq_half_to_float(h[0]), 1.0f);
    ck_assert_float_eq(onnxq_half_to_float(h[1]), -2.0f);
    ck_assert(isinf(onnxq_half_to_float(h[2])));
    const uint16_t *bf = T(11)->data;
    ck_assert_float_eq(onnxq_bf16_to_float(bf[1]), -2.0f);
    const uint8_t *bl = T(12)->data;
    ck_assert(bl[0] == 1 && bl[1] == 0 && bl[2] == 1);
    const struct onnxq_bytes *s = T(13)->data;
    ck_assert(s[0].len == 1 && s[0].data[0] == 'a' && s[1].len == 0 && s[2].len == 3 && !memcmp(s[2].data, "xyz", 3));
    ck_assert_uint_eq(T(14)->nbytes, 8);
    ck_assert_uint_eq(T(10)->nbytes, 6);
#undef T
    /* Saved as raw_data (strings stay typed), the values survive. */
    uint8_t *out = NULL;
    size_t out_n = 0;
    ck_assert_int_eq(onnxq_model_serialize(m, &out, &out_n, &err), ONNXQ_OK);
    ck_assert_int_eq(onnxq_model_load_buffer(tu_ctx, out, out_n, NULL, "dtypes2.onnx", &m2, &err), ONNXQ_OK);
    char why[256];
    ck_assert_msg(onnxq_model_equal(m, m2, why, sizeof(why)), "%s", why);
    onnxq_model_free(m);
    onnxq_model_free(m2);
    free(out);
    free(buf);
}
END_TEST

START_TEST(half_conversions)
{
    /* every half value converts to float and back to itself (NaNs stay NaN) */
    for (uint32_t h = 0; h < 65536; h++) {
        float f = onnxq_half_to_float((uint16_t)h);
        uint16_t back = onnxq_float_to_half(f);
        if (isnan(f))
            ck_assert(isnan(onnxq_half_to_float(back)));
        else
            ck_assert_msg(back == h, "half 0x%04x -> %g -> 0x%04x", h, (double)f, back);
    }
    /* round to nearest even at the halfway point between 1 and 1+2^-10 */
    ck_assert_uint_eq(onnxq_float_to_half(1.0f + 0x1p-11f), 0x3c00);
    ck_assert_uint_eq(onnxq_float_to_half(1.0f + 3 * 0x1p-11f), 0x3c02);
    ck_assert_uint_eq(onnxq_float_to_half(65520.0f), 0x7c00);
    ck_assert_uint_eq(onnxq_float_to_half(65519.0f), 0x7bff);
    ck_assert_uint_eq(onnxq_float_to_half(0x1p-25f), 0x0000);      /* halfway to the smallest subnormal: even */
    ck_assert_uint_eq(onnxq_float_to_half(0x1.8p-25f), 0x0001);
    ck_assert_uint_eq(onnxq_float_to_bf16(1.0f + 0x1p-8f), 0x3f80); /* halfway: even */
}
END_TEST

static Suite *roundtrip_suite(void)
{
    Suite *s = suite_create("roundtrip");
    TCase *tc = tcase_create("io");
    tcase_add_checked_fixture(tc, tu_setup_ctx, tu_teardown_ctx);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, testdata_all_models);
    tcase_add_test(tc, real_models_roundtrip);
    tcase_add_test(tc, external_data_roundtrip);
    tcase_add_test(tc, external_default_name_and_threshold);
    tcase_add_test(tc, unknown_fields_and_functions_survive);
    tcase_add_test(tc, subgraphs_become_nested_graphs);
    tcase_add_test(tc, every_dtype_from_typed_fields);
    tcase_add_test(tc, half_conversions);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(roundtrip_suite());
}
