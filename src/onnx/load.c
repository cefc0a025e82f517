/* ModelProto -> graph IR. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/context.h"
#include "core/error.h"
#include "ir/graph.h"
#include "ir/graph_util.h"
#include "onnx.pb-c.h"
#include "onnx/onnx_io.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "onnxq stores tensors in host order and assumes a little-endian host"
#endif

struct loader {
    struct onnxq_model *m;
    const char *name;      /* file name for messages */
    const char *base_dir;  /* folder for external data, NULL = refuse */
    char *base_real;       /* realpath(base_dir), computed on first use */
    struct onnxq_error *err;
};

#define FAIL(L, code, ...) onnxq_fail((L)->err, (code), __VA_ARGS__)

static enum onnxq_status nomem(struct loader *L)
{
    return FAIL(L, ONNXQ_E_NOMEM, "%s: out of memory while loading", L->name);
}

/* Take a copy of an optional string field; sets *ok=false on OOM. */
static char *dup_opt(const char *s, bool *ok)
{
    if (!s)
        return NULL;
    char *d = onnxq_strdup(s);
    if (!d)
        *ok = false;
    return d;
}

/* Move protobuf-c's unknown fields into our raw list (no copy). */
static void steal_unknown(ProtobufCMessage *msg, struct onnxq_raw *raw)
{
    raw->n = msg->n_unknown_fields;
    raw->fields = msg->unknown_fields;
    msg->n_unknown_fields = 0;
    msg->unknown_fields = NULL;
}

static unsigned field_id(const ProtobufCMessageDescriptor *desc, const char *name)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(desc, name);
    return f ? f->id : 0;
}

/* Pack msg as a length-delimited field payload: protobuf-c keeps the length
 * prefix inside an unknown field's data, so we do too. */
static uint8_t *pack_delimited(const ProtobufCMessage *msg, size_t *len_out)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t prefix[10];
    size_t pl = 0;
    for (size_t v = len;; v >>= 7) {
        prefix[pl++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        if (v <= 0x7f)
            break;
    }
    uint8_t *buf = malloc(pl + len);
    if (!buf)
        return NULL;
    memcpy(buf, prefix, pl);
    protobuf_c_message_pack(msg, buf + pl);
    *len_out = pl + len;
    return buf;
}

/* Keep a sub-message we do not model as a raw field of its parent. */
static bool keep_message(struct onnxq_raw *raw, const ProtobufCMessageDescriptor *parent,
                         const char *field, const ProtobufCMessage *msg)
{
    size_t len = 0;
    uint8_t *buf = pack_delimited(msg, &len);
    if (!buf)
        return false;
    bool ok = onnxq_raw_append(raw, field_id(parent, field), PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED,
                               buf, len);
    free(buf);
    return ok;
}

/* ------------------------------------------------------------- external */

static const char *ext_value(const Onnx__TensorProto *tp, const char *key)
{
    for (size_t i = 0; i < tp->n_external_data; i++) {
        const Onnx__StringStringEntryProto *e = tp->external_data[i];
        if (e->key && strcmp(e->key, key) == 0)
            return e->value ? e->value : "";
    }
    return NULL;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s)
        return false;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return true;
}

/* A location must be relative and stay inside the model's folder, lexically
 * (no "..") and after resolving symlinks. */
static enum onnxq_status resolve_location(struct loader *L, const char *tname, const char *loc,
                                          char **out)
{
    if (!*loc)
        return FAIL(L, ONNXQ_E_INVALID_MODEL, "%s: tensor '%s': external data location is empty",
                    L->name, tname);
    if (loc[0] == '/')
        return FAIL(L, ONNXQ_E_INVALID_MODEL,
                    "%s: tensor '%s': external data location '%s' is an absolute path; "
                    "only paths inside the model's folder are allowed", L->name, tname, loc);
    int depth = 0;
    for (const char *p = loc; *p;) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.')
            depth--;
        else if (n > 0 && !(n == 1 && p[0] == '.'))
            depth++;
        if (depth < 0)
            return FAIL(L, ONNXQ_E_INVALID_MODEL,
                        "%s: tensor '%s': external data location '%s' points outside the model's folder",
                        L->name, tname, loc);
        p += n;
        if (*p == '/')
            p++;
    }
    if (!L->base_real) {
        L->base_real = realpath(L->base_dir, NULL);
        if (!L->base_real)
            return FAIL(L, ONNXQ_E_IO, "%s: cannot resolve the model folder '%s': %s", L->name,
                        L->base_dir, strerror(errno));
    }
    size_t plen = strlen(L->base_real) + 1 + strlen(loc) + 1;
    char *joined = malloc(plen);
    if (!joined)
        return nomem(L);
    snprintf(joined, plen, "%s/%s", L->base_real, loc);
    char *real = realpath(joined, NULL);
    if (!real) {
        int e = errno;
        free(joined);
        return FAIL(L, ONNXQ_E_IO, "%s: tensor '%s': cannot open external data file '%s': %s",
                    L->name, tname, loc, strerror(e));
    }
    free(joined);
    size_t bl = strlen(L->base_real);
    if (strncmp(real, L->base_real, bl) != 0 || (real[bl] != '/' && strcmp(L->base_real, "/") != 0)) {
        free(real);
        return FAIL(L, ONNXQ_E_INVALID_MODEL,
                    "%s: tensor '%s': external data location '%s' resolves outside the model's folder",
                    L->name, tname, loc);
    }
    *out = real;
    return ONNXQ_OK;
}

static enum onnxq_status note_external_file(struct loader *L, const char *loc)
{
    struct onnxq_model *m = L->m;
    for (size_t i = 0; i < m->n_external_files; i++)
        if (strcmp(m->external_files[i], loc) == 0)
            return ONNXQ_OK;
    char **nf = realloc(m->external_files, (m->n_external_files + 1) * sizeof(*nf));
    if (!nf)
        return nomem(L);
    m->external_files = nf;
    if (!(nf[m->n_external_files] = onnxq_strdup(loc)))
        return nomem(L);
    m->n_external_files++;
    return ONNXQ_OK;
}

static enum onnxq_status read_external(struct loader *L, const Onnx__TensorProto *tp,
                                       const char *tname, size_t nbytes, void **out)
{
    enum onnxq_status st = ONNXQ_OK;
    char *path = NULL;
    void *buf = NULL;
    int fd = -1;
    const char *loc = ext_value(tp, "location");
    const char *off_s = ext_value(tp, "offset");
    const char *len_s = ext_value(tp, "length");
    uint64_t offset = 0, length = nbytes;

    if (!L->base_dir) {
        st = FAIL(L, ONNXQ_E_INVALID_MODEL,
                  "%s: tensor '%s' uses external data, but the model was loaded from memory "
                  "without a folder for it", L->name, tname);
        goto out;
    }
    if (!loc) {
        st = FAIL(L, ONNXQ_E_INVALID_MODEL, "%s: tensor '%s': external data has no 'location'",
                  L->name, tname);
        goto out;
    }
    if (off_s && !parse_u64(off_s, &offset)) {
        st = FAIL(L, ONNXQ_E_INVALID_MODEL, "%s: tensor '%s': external data offset '%s' is not a number",
                  L->name, tname, off_s);
        goto out;
    }
    if (len_s && !parse_u64(len_s, &length)) {
        st = FAIL(L, ONNXQ_E_INVALID_MODEL, "%s: tensor '%s': external data length '%s' is not a number",
                  L->name, tname, len_s);
        goto out;
    }
    if (length != nbytes) {
        st = FAIL(L, ONNXQ_E_INVALID_MODEL,
                  "%s: tensor '%s': external data length %llu disagrees with its dims, which need %zu bytes",
                  L->name, tname, (unsigned long long)length, nbytes);
        goto out;
    }
    if ((st = resolve_location(L, tname, loc, &path)))
        goto out;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        st = FAIL(L, ONNXQ_E_IO, "%s: tensor '%s': cannot open external data file '%s': %s", L->name,
                  tname, loc, strerror(errno));
        goto out;
    }
    if (!S_ISREG(sb.st_mode)) {
        st = FAIL(L, ONNXQ_E_IO, "%s: tensor '%s': external data '%s' is not a regular file",
                  L->name, tname, loc);
        goto out;
    }
    if (offset > (uint64_t)sb.st_size || (uint64_t)sb.st_size - offset < nbytes) {
        st = FAIL(L, ONNXQ_E_INVALID_MODEL,
                  "%s: tensor '%s': external data file '%s' is too short: needs bytes %llu..%llu, "
                  "file has %lld bytes", L->name, tname, loc, (unsigned long long)offset,
                  (unsigned long long)(offset + nbytes), (long long)sb.st_size);
        goto out;
    }
    buf = malloc(nbytes ? nbytes : 1);
    if (!buf) {
        st = nomem(L);
        goto out;
    }
    size_t done = 0;
    while (done < nbytes) {
        ssize_t r = pread(fd, (char *)buf + done, nbytes - done, (off_t)(offset + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            st = FAIL(L, ONNXQ_E_IO, "%s: tensor '%s': reading external data '%s' failed: %s", L->name,
                      tname, loc, r < 0 ? strerror(errno) : "unexpected end of file");
            goto out;
        }
        done += (size_t)r;
    }
    if ((st = note_external_file(L, loc)))
        goto out;
    *out = buf;
    buf = NULL;
out:
    if (fd >= 0)
        close(fd);
    free(buf);
    free(path);
    return st;
}

/* --------------------------------------------------------------- tensors */

static enum onnxq_status typed_count_error(struct loader *L, const char *tname, size_t have, int64_t need,
                                           const char *dims)
{
    return FAIL(L, ONNXQ_E_INVALID_MODEL,
                "%s: tensor '%s': has %zu data elements but its dims %s need %lld", L->name, tname, have,
                dims, (long long)need);
}

/* Decode the typed repeated fields into dense little-endian data. */
static enum onnxq_status decode_typed(struct loader *L, Onnx__TensorProto *tp, const char *tname,
                                      enum onnxq_dtype dt, int64_t numel, const char *dims_s,
                                      struct onnxq_tensor *t)
{
    const struct onnxq_dtype_traits *tr = &onnxq_dtype_table[dt];
    size_t need = (size_t)numel * tr->field_per_elem;
    size_t have = 0;
    switch (tr->field) {
    case ONNXQ_PF_FLOAT: have = tp->n_float_data; break;
    case ONNXQ_PF_INT32: have = tp->n_int32_data; break;
    case ONNXQ_PF_STRING: have = tp->n_string_data; break;
    case ONNXQ_PF_INT64: have = tp->n_int64_data; break;
    case ONNXQ_PF_DOUBLE: have = tp->n_double_data; break;
    case ONNXQ_PF_UINT64: have = tp->n_uint64_data; break;
    case ONNXQ_PF_NONE: break;
    }
    if (have != need)
        return typed_count_error(L, tname, have, numel, dims_s);
    if (!need)
        return ONNXQ_OK;
    /* Allocate only now that the data is known to be there: huge dims with
     * few values must fail as a bad model, not as an allocation. */
    if (!(t->data = calloc(1, t->nbytes)))
        return nomem(L);
    uint8_t *d = t->data;
    switch (tr->field) {
    case ONNXQ_PF_FLOAT: memcpy(d, tp->float_data, need * sizeof(float)); break;
    case ONNXQ_PF_DOUBLE: memcpy(d, tp->double_data, need * sizeof(double)); break;
    case ONNXQ_PF_INT64: memcpy(d, tp->int64_data, need * sizeof(int64_t)); break;
    case ONNXQ_PF_UINT64:
        for (size_t i = 0; i < need; i++) {
            if (dt == ONNXQ_DT_UINT32) {
                uint32_t v = (uint32_t)tp->uint64_data[i];
                memcpy(d + 4 * i, &v, 4);
            } else {
                memcpy(d + 8 * i, &tp->uint64_data[i], 8);
            }
        }
        break;
    case ONNXQ_PF_INT32:
        for (size_t i = 0; i < need; i++) {
            int32_t v = tp->int32_data[i];
            switch (tr->size) {
            case 1: d[i] = (uint8_t)v; break;
            case 2: { uint16_t h = (uint16_t)v; memcpy(d + 2 * i, &h, 2); break; }
            default: memcpy(d + 4 * i, &v, 4); break;
            }
        }
        break;
    case ONNXQ_PF_STRING: {
        struct onnxq_bytes *s = t->data;
        for (size_t i = 0; i < need; i++) {
            /* steal protobuf-c's copy of the bytes */
            s[i].len = tp->string_data[i].len;
            s[i].data = tp->string_data[i].data;
            tp->string_data[i].data = NULL;
            tp->string_data[i].len = 0;
        }
        break;
    }
    case ONNXQ_PF_NONE: break;
    }
    return ONNXQ_OK;
}

static enum onnxq_status conv_tensor(struct loader *L, Onnx__TensorProto *tp, const char *where,
                                     struct onnxq_constant **out)
{
    enum onnxq_status st = ONNXQ_OK;
    bool ok = true;
    struct onnxq_constant *c = calloc(1, sizeof(*c));
    if (!c)
        return nomem(L);
    c->name = dup_opt(tp->name, &ok);
    c->doc_string = dup_opt(tp->doc_string, &ok);
    if (!ok) {
        st = nomem(L);
        goto out;
    }
    const char *tname = tp->name && *tp->name ? tp->name : where;
    int dt = tp->has_data_type ? tp->data_type : 0;
    if (dt == ONNXQ_DT_UNDEFINED) {
        st = FAIL(L, ONNXQ_E_INVALID_MODEL, "%s: tensor '%s' has no data type", L->name, tname);
        goto out;
    }
    if (!onnxq_dtype_valid(dt)) {
        st = FAIL(L, ONNXQ_E_UNSUPPORTED, "%s: tensor '%s' has data type %d, which onnxq does not support",
                  L->name, tname, dt);
        goto out;
    }
    if (tp->n_dims > ONNXQ_MAX_DIMS) {
        st = FAIL(L, ONNXQ_E_UNSUPPORTED, "%s: tensor '%s' has rank %zu; onnxq supports up to %d",
                  L->name, tname, tp->n_dims, ONNXQ_MAX_DIMS);
        goto out;
    }
    int64_t numel = onnxq_shape_numel(tp->dims, (int)tp->n_dims);
    char dims_s[256];
    onnxq_shape_format(tp->dims, (int)tp->n_dims, dims_s, sizeof(dims_s));
    size_t esz = onnxq_dtype_size((enum onnxq_dtype)dt);
    if (numel < 0 || (uint64_t)numel > SIZE_MAX / esz / 2) {
        st = FAIL(L, ONNXQ_E_INVALID_MODEL, "%s: tensor '%s' has invalid dims %s", L->name, tname, dims_s);
        goto out;
    }
    size_t nbytes = (size_t)numel * esz;
    struct onnxq_tensor *t = &c->value;
    t->dtype = (enum onnxq_dtype)dt;
    t->ndim = (int)tp->n_dims;
    if (tp->n_dims)
        memcpy(t->dims, tp->dims, tp->n_dims * sizeof(int64_t));
    t->nbytes = nbytes;
    t->owns_data = true;

    bool external = tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    if (external) {
        if (dt == ONNXQ_DT_STRING) {
            st = FAIL(L, ONNXQ_E_INVALID_MODEL, "%s: string tensor '%s' cannot use external data",
                      L->name, tname);
            goto out;
        }
        if ((st = read_external(L, tp, tname, nbytes, &t->data)))
            goto out;
        if (!(c->external_file = onnxq_strdup(ext_value(tp, "location")))) {
            st = nomem(L);
            goto out;
        }
    } else if (tp->has_raw_data) {
        if (dt == ONNXQ_DT_STRING) {
            st = FAIL(L, ONNXQ_E_INVALID_MODEL, "%s: string tensor '%s' uses raw_data", L->name, tname);
            goto out;
        }
        if (tp->raw_data.len != nbytes) {
            st = FAIL(L, ONNXQ_E_INVALID_MODEL,
                      "%s: tensor '%s': raw data has %zu bytes but its dims %s of %s need %zu",
                      L->name, tname, tp->raw_data.len, dims_s, onnxq_dtype_name(dt), nbytes);
            goto out;
        }
        /* protobuf-c gave the bytes their own malloc block: take it over. */
        t->data = tp->raw_data.data;
        tp->raw_data.data = NULL;
        tp->raw_data.len = 0;
    } else {
        if ((st = decode_typed(L, tp, tname, (enum onnxq_dtype)dt, numel, dims_s, t)))
            goto out;
    }
    steal_unknown(&tp->base, &c->raw);
    if (tp->segment && !keep_message(&c->raw, &onnx__tensor_proto__descriptor, "segment", &tp->segment->base)) {
        st = nomem(L);
        goto out;
    }
    *out = c;
    c = NULL;
out:
    onnxq_constant_free(c);
    return st;
}

/* ----------------------------------------------------------------- types */

static bool type_is_plain_tensor(const Onnx__TypeProto *tp)
{
    if (tp->base.n_unknown_fields || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
        return false;
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    if (!tt || tt->base.n_unknown_fields)
        return false;
    if (tt->shape) {
        if (tt->shape->base.n_unknown_fields)
            return false;
        for (size_t i = 0; i < tt->shape->n_dim; i++)
            if (tt->shape->dim[i]->base.n_unknown_fields)
                return false;
    }
    return true;
}

static enum onnxq_status conv_type(struct loader *L, const Onnx__TypeProto *tp, struct onnxq_type *t)
{
    bool ok = true;
    if (!type_is_plain_tensor(tp)) {
        t->kind = ONNXQ_TYPE_OPAQUE;
        t->opaque = pack_delimited(&tp->base, &t->opaque_len);
        return t->opaque ? ONNXQ_OK : nomem(L);
    }
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    t->kind = ONNXQ_TYPE_TENSOR;
    t->denotation = dup_opt(tp->denotation, &ok);
    t->has_elem_type = tt->has_elem_type;
    t->elem_type = tt->elem_type;
    if (tt->shape) {
        t->has_shape = true;
        t->ndim = (int)tt->shape->n_dim;
        if (t->ndim) {
            t->dims = calloc((size_t)t->ndim, sizeof(*t->dims));
            if (!t->dims)
                return nomem(L);
        }
        for (int i = 0; i < t->ndim; i++) {
            const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
            t->dims[i].denotation = dup_opt(d->denotation, &ok);
            if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
                t->dims[i].kind = ONNXQ_DIM_VALUE;
                t->dims[i].value = d->dim_value;
            } else if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM) {
                t->dims[i].kind = ONNXQ_DIM_PARAM;
                t->dims[i].param = dup_opt(d->dim_param, &ok);
            }
        }
    }
    return ok ? ONNXQ_OK : nomem(L);
}

static enum onnxq_status conv_value_info(struct loader *L, Onnx__ValueInfoProto *v, struct onnxq_value_info *vi)
{
    bool ok = true;
    vi->name = dup_opt(v->name, &ok);
    vi->doc_string = dup_opt(v->doc_string, &ok);
    if (!ok)
        return nomem(L);
    if (v->type) {
        enum onnxq_status st = conv_type(L, v->type, &vi->type);
        if (st)
            return st;
    }
    steal_unknown(&v->base, &vi->raw);
    return ONNXQ_OK;
}

/* ---------------------------------------------------------------- graphs */

static enum onnxq_status conv_graph(struct loader *L, Onnx__GraphProto *gp, struct onnxq_graph **out);

static enum onnxq_status copy_bytes(struct loader *L, const ProtobufCBinaryData *src, struct onnxq_bytes *dst)
{
    dst->len = src->len;
    dst->data = NULL;
    if (src->len) {
        dst->data = malloc(src->len);
        if (!dst->data)
            return nomem(L);
        memcpy(dst->data, src->data, src->len);
    }
    return ONNXQ_OK;
}

static enum onnxq_status conv_attr(struct loader *L, Onnx__AttributeProto *ap, const char *node_name,
                                   struct onnxq_attr *a)
{
    enum onnxq_status st;
    bool ok = true;
    a->name = dup_opt(ap->name, &ok);
    a->ref_attr_name = dup_opt(ap->ref_attr_name, &ok);
    a->doc_string = dup_opt(ap->doc_string, &ok);
    if (!ok)
        return nomem(L);
    a->has_type = ap->has_type;
    a->type = (enum onnxq_attr_type)ap->type;
    a->has_f = ap->has_f;
    a->f = ap->f;
    a->has_i = ap->has_i;
    a->i = ap->i;
    a->has_s = ap->has_s;
    if (ap->has_s && (st = copy_bytes(L, &ap->s, &a->s)))
        return st;
    char where[512];
    snprintf(where, sizeof(where), "%s.%s", node_name, ap->name ? ap->name : "");
    if (ap->t && (st = conv_tensor(L, ap->t, where, &a->t)))
        return st;
    if (ap->g && (st = conv_graph(L, ap->g, &a->g)))
        return st;
    if (ap->n_floats) {
        if (!(a->floats = malloc(ap->n_floats * sizeof(float))))
            return nomem(L);
        memcpy(a->floats, ap->floats, ap->n_floats * sizeof(float));
        a->n_floats = ap->n_floats;
    }
    if (ap->n_ints) {
        if (!(a->ints = malloc(ap->n_ints * sizeof(int64_t))))
            return nomem(L);
        memcpy(a->ints, ap->ints, ap->n_ints * sizeof(int64_t));
        a->n_ints = ap->n_ints;
    }
    if (ap->n_strings) {
        if (!(a->strings = calloc(ap->n_strings, sizeof(*a->strings))))
            return nomem(L);
        for (size_t i = 0; i < ap->n_strings; i++, a->n_strings++)
            if ((st = copy_bytes(L, &ap->strings[i], &a->strings[i])))
                return st;
    }
    if (ap->n_tensors) {
        if (!(a->tensors = calloc(ap->n_tensors, sizeof(*a->tensors))))
            return nomem(L);
        for (size_t i = 0; i < ap->n_tensors; i++, a->n_tensors++)
            if ((st = conv_tensor(L, ap->tensors[i], where, &a->tensors[i])))
                return st;
    }
    if (ap->n_graphs) {
        if (!(a->graphs = calloc(ap->n_graphs, sizeof(*a->graphs))))
            return nomem(L);
        for (size_t i = 0; i < ap->n_graphs; i++, a->n_graphs++)
            if ((st = conv_graph(L, ap->graphs[i], &a->graphs[i])))
                return st;
    }
    steal_unknown(&ap->base, &a->raw);
    const ProtobufCMessageDescriptor *D = &onnx__attribute_proto__descriptor;
    if (ap->sparse_tensor && !keep_message(&a->raw, D, "sparse_tensor", &ap->sparse_tensor->base))
        return nomem(L);
    if (ap->tp && !keep_message(&a->raw, D, "tp", &ap->tp->base))
        return nomem(L);
    for (size_t i = 0; i < ap->n_sparse_tensors; i++)
        if (!keep_message(&a->raw, D, "sparse_tensors", &ap->sparse_tensors[i]->base))
            return nomem(L);
    for (size_t i = 0; i < ap->n_type_protos; i++)
        if (!keep_message(&a->raw, D, "type_protos", &ap->type_protos[i]->base))
            return nomem(L);
    return ONNXQ_OK;
}

static char **dup_str_array(char **src, size_t n, bool *ok)
{
    if (!n)
        return NULL;
    char **d = calloc(n, sizeof(*d));
    if (!d) {
        *ok = false;
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        d[i] = dup_opt(src[i] ? src[i] : "", ok);
    return d;
}

static enum onnxq_status conv_node(struct loader *L, Onnx__NodeProto *np, size_t index, struct onnxq_node **out)
{
    enum onnxq_status st = ONNXQ_OK;
    bool ok = true;
    struct onnxq_node *n = calloc(1, sizeof(*n));
    if (!n)
        return nomem(L);
    n->name = dup_opt(np->name, &ok);
    n->op_type = dup_opt(np->op_type, &ok);
    n->domain = dup_opt(np->domain, &ok);
    n->doc_string = dup_opt(np->doc_string, &ok);
    n->inputs = dup_str_array(np->input, np->n_input, &ok);
    n->n_inputs = n->inputs ? np->n_input : 0;
    n->outputs = dup_str_array(np->output, np->n_output, &ok);
    n->n_outputs = n->outputs ? np->n_output : 0;
    if (!ok) {
        st = nomem(L);
        goto out;
    }
    if (!np->op_type || !*np->op_type) {
        st = FAIL(L, ONNXQ_E_INVALID_MODEL, "%s: node #%zu ('%s') has no op_type", L->name, index,
                  np->name ? np->name : "");
        goto out;
    }
    char label[256];
    if (np->name && *np->name)
        snprintf(label, sizeof(label), "%s", np->name);
    else
        snprintf(label, sizeof(label), "%s#%zu", np->op_type, index);
    if (np->n_attribute) {
        n->attrs = calloc(np->n_attribute, sizeof(*n->attrs));
        if (!n->attrs) {
            st = nomem(L);
            goto out;
        }
        for (size_t i = 0; i < np->n_attribute; i++) {
            n->n_attrs++;
            if ((st = conv_attr(L, np->attribute[i], label, &n->attrs[i])))
                goto out;
        }
    }
    steal_unknown(&np->base, &n->raw);
    *out = n;
    n = NULL;
out:
    onnxq_node_free(n);
    return st;
}

static enum onnxq_status conv_vi_array(struct loader *L, Onnx__ValueInfoProto **src, size_t n,
                                       struct onnxq_value_info **dst, size_t *count)
{
    if (!n)
        return ONNXQ_OK;
    *dst = calloc(n, sizeof(**dst));
    if (!*dst)
        return nomem(L);
    for (size_t i = 0; i < n; i++) {
        (*count)++;
        enum onnxq_status st = conv_value_info(L, src[i], &(*dst)[i]);
        if (st)
            return st;
    }
    return ONNXQ_OK;
}

static enum onnxq_status conv_graph(struct loader *L, Onnx__GraphProto *gp, struct onnxq_graph **out)
{
    enum onnxq_status st = ONNXQ_OK;
    bool ok = true;
    struct onnxq_graph *g = onnxq_graph_new();
    if (!g)
        return nomem(L);
    g->name = dup_opt(gp->name, &ok);
    g->doc_string = dup_opt(gp->doc_string, &ok);
    if (!ok) {
        st = nomem(L);
        goto out;
    }
    if (gp->n_node) {
        g->nodes = calloc(gp->n_node, sizeof(*g->nodes));
        if (!g->nodes) {
            st = nomem(L);
            goto out;
        }
        g->cap_nodes = gp->n_node;
        for (size_t i = 0; i < gp->n_node; i++) {
            if ((st = conv_node(L, gp->node[i], i, &g->nodes[i])))
                goto out;
            g->n_nodes++;
        }
    }
    if (gp->n_initializer) {
        g->inits = calloc(gp->n_initializer, sizeof(*g->inits));
        if (!g->inits) {
            st = nomem(L);
            goto out;
        }
        g->cap_inits = gp->n_initializer;
        for (size_t i = 0; i < gp->n_initializer; i++) {
            if ((st = conv_tensor(L, gp->initializer[i], "(initializer)", &g->inits[i])))
                goto out;
            g->n_inits++;
            if (!g->inits[i]->name || !*g->inits[i]->name) {
                st = FAIL(L, ONNXQ_E_INVALID_MODEL, "%s: initializer #%zu of graph '%s' has no name",
                          L->name, i, gp->name ? gp->name : "");
                goto out;
            }
        }
    }
    if ((st = conv_vi_array(L, gp->input, gp->n_input, &g->inputs, &g->n_inputs)) ||
        (st = conv_vi_array(L, gp->output, gp->n_output, &g->outputs, &g->n_outputs)) ||
        (st = conv_vi_array(L, gp->value_info, gp->n_value_info, &g->value_info, &g->n_value_info)))
        goto out;
    steal_unknown(&gp->base, &g->raw);
    const ProtobufCMessageDescriptor *D = &onnx__graph_proto__descriptor;
    for (size_t i = 0; i < gp->n_sparse_initializer; i++)
        if (!keep_message(&g->raw, D, "sparse_initializer", &gp->sparse_initializer[i]->base)) {
            st = nomem(L);
            goto out;
        }
    for (size_t i = 0; i < gp->n_quantization_annotation; i++)
        if (!keep_message(&g->raw, D, "quantization_annotation", &gp->quantization_annotation[i]->base)) {
            st = nomem(L);
            goto out;
        }
    *out = g;
    g = NULL;
out:
    onnxq_graph_free(g);
    return st;
}

static enum onnxq_status conv_model(struct loader *L, Onnx__ModelProto *mp)
{
    enum onnxq_status st;
    bool ok = true;
    struct onnxq_model *m = L->m;
    m->has_ir_version = mp->has_ir_version;
    m->ir_version = mp->ir_version;
    m->producer_name = dup_opt(mp->producer_name, &ok);
    m->producer_version = dup_opt(mp->producer_version, &ok);
    m->domain = dup_opt(mp->domain, &ok);
    m->has_model_version = mp->has_model_version;
    m->model_version = mp->model_version;
    m->doc_string = dup_opt(mp->doc_string, &ok);
    if (!ok)
        return nomem(L);
    if (mp->n_opset_import) {
        if (!(m->opsets = calloc(mp->n_opset_import, sizeof(*m->opsets))))
            return nomem(L);
        for (size_t i = 0; i < mp->n_opset_import; i++) {
            Onnx__OperatorSetIdProto *o = mp->opset_import[i];
            m->n_opsets++;
            m->opsets[i].domain = dup_opt(o->domain, &ok);
            m->opsets[i].has_version = o->has_version;
            m->opsets[i].version = o->version;
            steal_unknown(&o->base, &m->opsets[i].raw);
        }
    }
    if (mp->n_metadata_props) {
        if (!(m->metadata = calloc(mp->n_metadata_props, sizeof(*m->metadata))))
            return nomem(L);
        for (size_t i = 0; i < mp->n_metadata_props; i++) {
            Onnx__StringStringEntryProto *e = mp->metadata_props[i];
            m->n_metadata++;
            m->metadata[i].key = dup_opt(e->key, &ok);
            m->metadata[i].value = dup_opt(e->value, &ok);
            steal_unknown(&e->base, &m->metadata[i].raw);
        }
    }
    if (!ok)
        return nomem(L);
    if (mp->graph && (st = conv_graph(L, mp->graph, &m->graph)))
        return st;
    steal_unknown(&mp->base, &m->raw);
    const ProtobufCMessageDescriptor *D = &onnx__model_proto__descriptor;
    for (size_t i = 0; i < mp->n_training_info; i++)
        if (!keep_message(&m->raw, D, "training_info", &mp->training_info[i]->base))
            return nomem(L);
    for (size_t i = 0; i < mp->n_functions; i++)
        if (!keep_message(&m->raw, D, "functions", &mp->functions[i]->base))
            return nomem(L);
    return ONNXQ_OK;
}

/* ------------------------------------------------------------ entry points */

/* Checks that only need the top level; graph structure is checked by
 * onnxq_model_validate. */
static enum onnxq_status check_header(struct loader *L)
{
    struct onnxq_model *m = L->m;
    if (!m->graph)
        return FAIL(L, ONNXQ_E_PARSE, "%s: not an ONNX model (no graph found); the file may be truncated "
                    "or not a model at all", L->name);
    if (!m->has_ir_version || m->ir_version < 1)
        return FAIL(L, ONNXQ_E_PARSE, "%s: not an ONNX model (no ir_version)", L->name);
    if (m->ir_version >= 3 && m->n_opsets == 0)
        return FAIL(L, ONNXQ_E_PARSE, "%s: model has no opset_import; the file may be truncated", L->name);
    for (size_t i = 0; i < m->n_opsets; i++)
        if (!m->opsets[i].has_version || m->opsets[i].version < 1)
            return FAIL(L, ONNXQ_E_INVALID_MODEL, "%s: opset import for domain '%s' has no valid version",
                        L->name, m->opsets[i].domain ? m->opsets[i].domain : "");
    return ONNXQ_OK;
}

enum onnxq_status onnxq_load_internal(struct onnxq_context *ctx, const void *data, size_t size,
                                      const char *base_dir, const char *name, struct onnxq_model **out,
                                      struct onnxq_error *err)
{
    enum onnxq_status st = ONNXQ_OK;
    struct loader L = {.name = name ? name : "(buffer)", .base_dir = base_dir, .err = err};
    Onnx__ModelProto *mp = NULL;
    if (!ctx || !out || (!data && size))
        return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "onnxq_model_load: NULL argument");
    if (size == 0)
        return onnxq_fail(err, ONNXQ_E_PARSE, "%s: file is empty", L.name);
    L.m = calloc(1, sizeof(*L.m));
    if (!L.m)
        return nomem(&L);
    L.m->ctx = ctx;
    if (!(L.m->path = onnxq_strdup(L.name))) {
        st = nomem(&L);
        goto out;
    }
    mp = onnx__model_proto__unpack(NULL, size, data);
    if (!mp) {
        st = onnxq_fail(err, ONNXQ_E_PARSE,
                        "%s: not a valid ONNX protobuf (%zu bytes); the file is corrupt, truncated "
                        "or not a model", L.name, size);
        goto out;
    }
    if ((st = conv_model(&L, mp)) || (st = check_header(&L)))
        goto out;
    if ((st = onnxq_model_validate(L.m, err))) {
        onnxq_error_prefix(err, "%s: ", L.name);
        goto out;
    }
    *out = L.m;
    L.m = NULL;
out:
    if (mp)
        onnx__model_proto__free_unpacked(mp, NULL);
    free(L.base_real);
    onnxq_model_destroy(L.m);
    return st;
}

ONNXQ_API enum onnxq_status onnxq_model_load_buffer(struct onnxq_context *ctx, const void *data,
                                                    size_t size, const char *base_dir,
                                                    const char *name, struct onnxq_model **out,
                                                    struct onnxq_error *err)
{
    return onnxq_load_internal(ctx, data, size, base_dir, name, out, err);
}

ONNXQ_API enum onnxq_status onnxq_model_load(struct onnxq_context *ctx, const char *path,
                                             struct onnxq_model **out, struct onnxq_error *err)
{
    enum onnxq_status st = ONNXQ_OK;
    int fd = -1;
    void *map = MAP_FAILED;
    size_t size = 0;
    char *dir = NULL;
    if (!ctx || !path || !out)
        return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "onnxq_model_load: NULL argument");
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        st = onnxq_fail(err, ONNXQ_E_IO, "%s: cannot open model: %s", path, strerror(errno));
        goto out;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        st = onnxq_fail(err, ONNXQ_E_IO, "%s: cannot stat model: %s", path, strerror(errno));
        goto out;
    }
    if (S_ISDIR(sb.st_mode)) {
        st = onnxq_fail(err, ONNXQ_E_IO, "%s: is a directory, not a model file", path);
        goto out;
    }
    if (sb.st_size == 0) {
        st = onnxq_fail(err, ONNXQ_E_PARSE, "%s: file is empty", path);
        goto out;
    }
    size = (size_t)sb.st_size;
    /* Map instead of reading: protobuf-c copies what it keeps anyway, and
     * the mapping's pages are dropped as soon as we unmap. */
    map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
        st = onnxq_fail(err, ONNXQ_E_IO, "%s: cannot map model: %s", path, strerror(errno));
        goto out;
    }
    dir = onnxq_strdup(path);
    if (!dir) {
        st = onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory");
        goto out;
    }
    char *slash = strrchr(dir, '/');
    if (!slash)
        strcpy(dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    st = onnxq_load_internal(ctx, map, size, dir, path, out, err);
out:
    if (map != MAP_FAILED)
        munmap(map, size);
    if (fd >= 0)
        close(fd);
    free(dir);
    return st;
}

enum onnxq_status onnxq_tensor_from_pb(const void *data, size_t size, const char *what, struct onnxq_tensor *out,
                                       char **name, struct onnxq_error *err)
{
    struct loader L = {.name = what ? what : "(tensor)", .base_dir = NULL, .err = err};
    struct onnxq_constant *c = NULL;
    Onnx__TensorProto *tp = onnx__tensor_proto__unpack(NULL, size, data);
    if (!tp)
        return onnxq_fail(err, ONNXQ_E_PARSE, "%s: not a valid TensorProto (%zu bytes)", L.name, size);
    enum onnxq_status st = conv_tensor(&L, tp, "(tensor)", &c);
    onnx__tensor_proto__free_unpacked(tp, NULL);
    if (st)
        return st;
    if (name) {
        *name = c->name;
        c->name = NULL;
    }
    *out = c->value;
    memset(&c->value, 0, sizeof(c->value));
    onnxq_constant_free(c);
    return ONNXQ_OK;
}
