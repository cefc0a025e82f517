/* Graph IR -> ModelProto -> file.
 *
 * The protobuf-c structs built here only point at the IR's data (no tensor
 * copies); they live in an arena that is dropped after packing. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "ir/graph.h"
#include "onnx.pb-c.h"
#include "onnx/onnx_io.h"

/* ------------------------------------------------------------------ arena */

struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

struct arena {
    struct arena_block *head;
    bool oom;
};

static void *arena_alloc(struct arena *a, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    if (!a->head || a->head->cap - a->head->used < size) {
        size_t cap = size > 65536 ? size : 65536;
        struct arena_block *b = malloc(sizeof(*b) + cap);
        if (!b) {
            a->oom = true;
            return NULL;
        }
        b->next = a->head;
        b->used = 0;
        b->cap = cap;
        a->head = b;
    }
    void *p = a->head->data + a->head->used;
    a->head->used += size;
    memset(p, 0, size);
    return p;
}

static void arena_free(struct arena *a)
{
    struct arena_block *b = a->head;
    while (b) {
        struct arena_block *n = b->next;
        free(b);
        b = n;
    }
    a->head = NULL;
}

static void *arena_msg(struct arena *a, const ProtobufCMessageDescriptor *desc)
{
    ProtobufCMessage *m = arena_alloc(a, desc->sizeof_message);
    if (m)
        protobuf_c_message_init(desc, m);
    return m;
}

#define NEW(S, T, desc) ((T *)arena_msg(&(S)->arena, &(desc)))

/* --------------------------------------------------------------- builder */

struct ext_writer {
    FILE *f;
    const char *location;  /* name written into the model */
    size_t threshold;
    uint64_t offset;
    size_t tensors;  /* tensors written so far */
    bool failed;
    int err_no;
};

struct saver {
    struct arena arena;
    struct ext_writer *ext;  /* NULL: everything inline */
    struct onnxq_error *err;
};

static void set_raw(ProtobufCMessage *base, const struct onnxq_raw *raw)
{
    base->n_unknown_fields = (unsigned)raw->n;
    base->unknown_fields = raw->fields;
}

static char *S_str(const char *s)
{
    return (char *)s;  /* protobuf-c packs from const data; the cast never writes */
}

static char **str_array(struct saver *S, char *const *src, size_t n)
{
    if (!n)
        return NULL;
    char **d = arena_alloc(&S->arena, n * sizeof(*d));
    if (d)
        for (size_t i = 0; i < n; i++)
            d[i] = src[i];
    return d;
}

static bool write_external(struct saver *S, const struct onnxq_constant *c, Onnx__TensorProto *tp)
{
    struct ext_writer *x = S->ext;
    /* Page-align each tensor so readers can mmap it. */
    uint64_t off = (x->offset + 4095) & ~(uint64_t)4095;
    static const unsigned char zeros[4096];
    if (off > x->offset && fwrite(zeros, 1, (size_t)(off - x->offset), x->f) != off - x->offset)
        goto fail;
    if (c->value.nbytes && fwrite(c->value.data, 1, c->value.nbytes, x->f) != c->value.nbytes)
        goto fail;
    x->offset = off + c->value.nbytes;
    x->tensors++;
    Onnx__StringStringEntryProto **e = arena_alloc(&S->arena, 3 * sizeof(*e));
    char *offs = arena_alloc(&S->arena, 24), *lens = arena_alloc(&S->arena, 24);
    if (!e || !offs || !lens)
        return false;
    snprintf(offs, 24, "%llu", (unsigned long long)off);
    snprintf(lens, 24, "%zu", c->value.nbytes);
    const char *keys[3] = {"location", "offset", "length"};
    const char *vals[3] = {x->location, offs, lens};
    for (int i = 0; i < 3; i++) {
        e[i] = NEW(S, Onnx__StringStringEntryProto, onnx__string_string_entry_proto__descriptor);
        if (!e[i])
            return false;
        e[i]->key = S_str(keys[i]);
        e[i]->value = S_str(vals[i]);
    }
    tp->n_external_data = 3;
    tp->external_data = e;
    tp->has_data_location = 1;
    tp->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    return true;
fail:
    x->failed = true;
    x->err_no = errno;
    return false;
}

static Onnx__TensorProto *build_tensor(struct saver *S, const struct onnxq_constant *c, bool allow_ext)
{
    Onnx__TensorProto *tp = NEW(S, Onnx__TensorProto, onnx__tensor_proto__descriptor);
    if (!tp)
        return NULL;
    const struct onnxq_tensor *t = &c->value;
    tp->name = S_str(c->name);
    tp->doc_string = S_str(c->doc_string);
    tp->has_data_type = 1;
    tp->data_type = (int32_t)t->dtype;
    tp->n_dims = (size_t)t->ndim;
    tp->dims = (int64_t *)t->dims;
    set_raw(&tp->base, &c->raw);
    if (t->dtype == ONNXQ_DT_STRING) {
        size_t n = t->nbytes / sizeof(struct onnxq_bytes);
        const struct onnxq_bytes *s = t->data;
        if (n) {
            tp->string_data = arena_alloc(&S->arena, n * sizeof(*tp->string_data));
            if (!tp->string_data)
                return NULL;
            for (size_t i = 0; i < n; i++) {
                tp->string_data[i].len = s[i].len;
                tp->string_data[i].data = s[i].data;
            }
        }
        tp->n_string_data = n;
    } else if (allow_ext && S->ext && t->nbytes >= S->ext->threshold) {
        if (!write_external(S, c, tp))
            return NULL;
    } else {
        tp->has_raw_data = 1;
        tp->raw_data.len = t->nbytes;
        tp->raw_data.data = t->data;
    }
    return tp;
}

static Onnx__TypeProto *build_type(struct saver *S, const struct onnxq_type *t)
{
    Onnx__TypeProto *tp = NEW(S, Onnx__TypeProto, onnx__type_proto__descriptor);
    Onnx__TypeProto__Tensor *tt = NEW(S, Onnx__TypeProto__Tensor, onnx__type_proto__tensor__descriptor);
    if (!tp || !tt)
        return NULL;
    tp->denotation = S_str(t->denotation);
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    tt->has_elem_type = t->has_elem_type;
    tt->elem_type = t->elem_type;
    if (t->has_shape) {
        Onnx__TensorShapeProto *sh = NEW(S, Onnx__TensorShapeProto, onnx__tensor_shape_proto__descriptor);
        if (!sh)
            return NULL;
        tt->shape = sh;
        if (t->ndim) {
            sh->dim = arena_alloc(&S->arena, (size_t)t->ndim * sizeof(*sh->dim));
            if (!sh->dim)
                return NULL;
            sh->n_dim = (size_t)t->ndim;
        }
        for (int i = 0; i < t->ndim; i++) {
            Onnx__TensorShapeProto__Dimension *d =
                NEW(S, Onnx__TensorShapeProto__Dimension, onnx__tensor_shape_proto__dimension__descriptor);
            if (!d)
                return NULL;
            d->denotation = S_str(t->dims[i].denotation);
            if (t->dims[i].kind == ONNXQ_DIM_VALUE) {
                d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
                d->dim_value = t->dims[i].value;
            } else if (t->dims[i].kind == ONNXQ_DIM_PARAM) {
                d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
                d->dim_param = S_str(t->dims[i].param);
            }
            sh->dim[i] = d;
        }
    }
    return tp;
}

static unsigned field_id(const ProtobufCMessageDescriptor *desc, const char *name)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(desc, name);
    return f ? f->id : 0;
}

static Onnx__ValueInfoProto *build_vi(struct saver *S, const struct onnxq_value_info *vi)
{
    Onnx__ValueInfoProto *v = NEW(S, Onnx__ValueInfoProto, onnx__value_info_proto__descriptor);
    if (!v)
        return NULL;
    v->name = S_str(vi->name);
    v->doc_string = S_str(vi->doc_string);
    set_raw(&v->base, &vi->raw);
    if (vi->type.kind == ONNXQ_TYPE_TENSOR) {
        if (!(v->type = build_type(S, &vi->type)))
            return NULL;
    } else if (vi->type.kind == ONNXQ_TYPE_OPAQUE) {
        /* Emit the packed TypeProto as field `type`, after the raw fields. */
        size_t n = vi->raw.n + 1;
        ProtobufCMessageUnknownField *f = arena_alloc(&S->arena, n * sizeof(*f));
        if (!f)
            return NULL;
        if (vi->raw.n)
            memcpy(f, vi->raw.fields, vi->raw.n * sizeof(*f));
        f[n - 1].tag = field_id(&onnx__value_info_proto__descriptor, "type");
        f[n - 1].wire_type = PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED;
        f[n - 1].len = vi->type.opaque_len;
        f[n - 1].data = vi->type.opaque;
        v->base.n_unknown_fields = (unsigned)n;
        v->base.unknown_fields = f;
    }
    return v;
}

static Onnx__ValueInfoProto **build_vis(struct saver *S, const struct onnxq_value_info *vi, size_t n)
{
    if (!n)
        return NULL;
    Onnx__ValueInfoProto **a = arena_alloc(&S->arena, n * sizeof(*a));
    if (!a)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (!(a[i] = build_vi(S, &vi[i])))
            return NULL;
    return a;
}

static Onnx__GraphProto *build_graph(struct saver *S, const struct onnxq_graph *g);

static Onnx__AttributeProto *build_attr(struct saver *S, const struct onnxq_attr *a)
{
    Onnx__AttributeProto *ap = NEW(S, Onnx__AttributeProto, onnx__attribute_proto__descriptor);
    if (!ap)
        return NULL;
    ap->name = S_str(a->name);
    ap->ref_attr_name = S_str(a->ref_attr_name);
    ap->doc_string = S_str(a->doc_string);
    ap->has_type = a->has_type;
    ap->type = (Onnx__AttributeProto__AttributeType)a->type;
    ap->has_f = a->has_f;
    ap->f = a->f;
    ap->has_i = a->has_i;
    ap->i = a->i;
    ap->has_s = a->has_s;
    ap->s.len = a->s.len;
    ap->s.data = a->s.data;
    set_raw(&ap->base, &a->raw);
    if (a->t && !(ap->t = build_tensor(S, a->t, false)))
        return NULL;
    if (a->g && !(ap->g = build_graph(S, a->g)))
        return NULL;
    ap->n_floats = a->n_floats;
    ap->floats = a->floats;
    ap->n_ints = a->n_ints;
    ap->ints = a->ints;
    if (a->n_strings) {
        ap->strings = arena_alloc(&S->arena, a->n_strings * sizeof(*ap->strings));
        if (!ap->strings)
            return NULL;
        for (size_t i = 0; i < a->n_strings; i++) {
            ap->strings[i].len = a->strings[i].len;
            ap->strings[i].data = a->strings[i].data;
        }
        ap->n_strings = a->n_strings;
    }
    if (a->n_tensors) {
        ap->tensors = arena_alloc(&S->arena, a->n_tensors * sizeof(*ap->tensors));
        if (!ap->tensors)
            return NULL;
        for (size_t i = 0; i < a->n_tensors; i++)
            if (!(ap->tensors[i] = build_tensor(S, a->tensors[i], false)))
                return NULL;
        ap->n_tensors = a->n_tensors;
    }
    if (a->n_graphs) {
        ap->graphs = arena_alloc(&S->arena, a->n_graphs * sizeof(*ap->graphs));
        if (!ap->graphs)
            return NULL;
        for (size_t i = 0; i < a->n_graphs; i++)
            if (!(ap->graphs[i] = build_graph(S, a->graphs[i])))
                return NULL;
        ap->n_graphs = a->n_graphs;
    }
    return ap;
}

static Onnx__NodeProto *build_node(struct saver *S, const struct onnxq_node *n)
{
    Onnx__NodeProto *np = NEW(S, Onnx__NodeProto, onnx__node_proto__descriptor);
    if (!np)
        return NULL;
    np->name = S_str(n->name);
    np->op_type = S_str(n->op_type);
    np->domain = S_str(n->domain);
    np->doc_string = S_str(n->doc_string);
    np->n_input = n->n_inputs;
    np->input = str_array(S, n->inputs, n->n_inputs);
    np->n_output = n->n_outputs;
    np->output = str_array(S, n->outputs, n->n_outputs);
    if ((n->n_inputs && !np->input) || (n->n_outputs && !np->output))
        return NULL;
    set_raw(&np->base, &n->raw);
    if (n->n_attrs) {
        np->attribute = arena_alloc(&S->arena, n->n_attrs * sizeof(*np->attribute));
        if (!np->attribute)
            return NULL;
        for (size_t i = 0; i < n->n_attrs; i++)
            if (!(np->attribute[i] = build_attr(S, &n->attrs[i])))
                return NULL;
        np->n_attribute = n->n_attrs;
    }
    return np;
}

static Onnx__GraphProto *build_graph(struct saver *S, const struct onnxq_graph *g)
{
    Onnx__GraphProto *gp = NEW(S, Onnx__GraphProto, onnx__graph_proto__descriptor);
    if (!gp)
        return NULL;
    gp->name = S_str(g->name);
    gp->doc_string = S_str(g->doc_string);
    set_raw(&gp->base, &g->raw);
    if (g->n_nodes) {
        gp->node = arena_alloc(&S->arena, g->n_nodes * sizeof(*gp->node));
        if (!gp->node)
            return NULL;
        for (size_t i = 0; i < g->n_nodes; i++)
            if (!(gp->node[i] = build_node(S, g->nodes[i])))
                return NULL;
        gp->n_node = g->n_nodes;
    }
    if (g->n_inits) {
        gp->initializer = arena_alloc(&S->arena, g->n_inits * sizeof(*gp->initializer));
        if (!gp->initializer)
            return NULL;
        for (size_t i = 0; i < g->n_inits; i++)
            if (!(gp->initializer[i] = build_tensor(S, g->inits[i], true)))
                return NULL;
        gp->n_initializer = g->n_inits;
    }
    if ((g->n_inputs && !(gp->input = build_vis(S, g->inputs, g->n_inputs))) ||
        (g->n_outputs && !(gp->output = build_vis(S, g->outputs, g->n_outputs))) ||
        (g->n_value_info && !(gp->value_info = build_vis(S, g->value_info, g->n_value_info))))
        return NULL;
    gp->n_input = g->n_inputs;
    gp->n_output = g->n_outputs;
    gp->n_value_info = g->n_value_info;
    return gp;
}

static Onnx__ModelProto *build_model(struct saver *S, const struct onnxq_model *m)
{
    Onnx__ModelProto *mp = NEW(S, Onnx__ModelProto, onnx__model_proto__descriptor);
    if (!mp)
        return NULL;
    mp->has_ir_version = m->has_ir_version;
    mp->ir_version = m->ir_version;
    mp->producer_name = S_str(m->producer_name);
    mp->producer_version = S_str(m->producer_version);
    mp->domain = S_str(m->domain);
    mp->has_model_version = m->has_model_version;
    mp->model_version = m->model_version;
    mp->doc_string = S_str(m->doc_string);
    set_raw(&mp->base, &m->raw);
    if (m->n_opsets) {
        mp->opset_import = arena_alloc(&S->arena, m->n_opsets * sizeof(*mp->opset_import));
        if (!mp->opset_import)
            return NULL;
        for (size_t i = 0; i < m->n_opsets; i++) {
            Onnx__OperatorSetIdProto *o = NEW(S, Onnx__OperatorSetIdProto, onnx__operator_set_id_proto__descriptor);
            if (!o)
                return NULL;
            o->domain = S_str(m->opsets[i].domain);
            o->has_version = m->opsets[i].has_version;
            o->version = m->opsets[i].version;
            set_raw(&o->base, &m->opsets[i].raw);
            mp->opset_import[i] = o;
        }
        mp->n_opset_import = m->n_opsets;
    }
    if (m->n_metadata) {
        mp->metadata_props = arena_alloc(&S->arena, m->n_metadata * sizeof(*mp->metadata_props));
        if (!mp->metadata_props)
            return NULL;
        for (size_t i = 0; i < m->n_metadata; i++) {
            Onnx__StringStringEntryProto *e =
                NEW(S, Onnx__StringStringEntryProto, onnx__string_string_entry_proto__descriptor);
            if (!e)
                return NULL;
            e->key = S_str(m->metadata[i].key);
            e->value = S_str(m->metadata[i].value);
            set_raw(&e->base, &m->metadata[i].raw);
            mp->metadata_props[i] = e;
        }
        mp->n_metadata_props = m->n_metadata;
    }
    if (m->graph && !(mp->graph = build_graph(S, m->graph)))
        return NULL;
    return mp;
}

/* ---------------------------------------------------------------- output */

struct file_buffer {
    ProtobufCBuffer base;
    FILE *f;
    bool failed;
    int err_no;
};

static void fb_append(ProtobufCBuffer *b, size_t len, const uint8_t *data)
{
    struct file_buffer *fb = (struct file_buffer *)b;
    if (!fb->failed && len && fwrite(data, 1, len, fb->f) != len) {
        fb->failed = true;
        fb->err_no = errno;
    }
}

enum onnxq_status onnxq_model_serialize(const struct onnxq_model *m, uint8_t **out, size_t *size,
                                        struct onnxq_error *err)
{
    struct saver S = {.err = err};
    enum onnxq_status st = ONNXQ_OK;
    Onnx__ModelProto *mp = build_model(&S, m);
    if (!mp) {
        st = onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory serialising the model");
        goto out;
    }
    size_t n = protobuf_c_message_get_packed_size(&mp->base);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) {
        st = onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory serialising the model (%zu bytes)", n);
        goto out;
    }
    protobuf_c_message_pack(&mp->base, buf);
    *out = buf;
    *size = n;
out:
    arena_free(&S.arena);
    return st;
}

/* Temp file next to `path`, so the final rename stays on one filesystem. */
static FILE *open_temp(const char *path, char **tmp_out, struct onnxq_error *err, enum onnxq_status *st)
{
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    if (!tmp) {
        *st = onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory");
        return NULL;
    }
    snprintf(tmp, n, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        *st = onnxq_fail(err, ONNXQ_E_IO, "%s: cannot create a temporary file: %s", path, strerror(errno));
        free(tmp);
        return NULL;
    }
    fchmod(fd, 0644);
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        *st = onnxq_fail(err, ONNXQ_E_IO, "%s: cannot open a temporary file: %s", path, strerror(errno));
        close(fd);
        unlink(tmp);
        free(tmp);
        return NULL;
    }
    *tmp_out = tmp;
    return f;
}

/* Flush, sync and close; returns 0 or an errno. */
static int finish_file(FILE *f)
{
    int e = 0;
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        e = errno ? errno : EIO;
    if (fclose(f) != 0 && !e)
        e = errno ? errno : EIO;
    return e;
}

ONNXQ_API enum onnxq_status onnxq_model_save(const struct onnxq_model *model, const char *path,
                                             const struct onnxq_save_options *opts,
                                             struct onnxq_error *err)
{
    enum onnxq_status st = ONNXQ_OK;
    struct saver S = {.err = err};
    struct ext_writer ext = {0};
    FILE *f = NULL;
    char *tmp = NULL, *ext_tmp = NULL, *ext_path = NULL, *ext_name = NULL;
    if (!model || !path || !*path)
        return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "onnxq_model_save: NULL model or path");

    if (opts && opts->external_threshold) {
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        size_t dirlen = (size_t)(base - path);
        if (opts->external_file) {
            if (!*opts->external_file || strchr(opts->external_file, '/') ||
                strcmp(opts->external_file, "..") == 0 || strcmp(opts->external_file, ".") == 0) {
                st = onnxq_fail(err, ONNXQ_E_INVALID_ARG,
                                "external data file name '%s' must be a plain file name (no '/')",
                                opts->external_file);
                goto out;
            }
            ext_name = onnxq_strdup(opts->external_file);
        } else {
            size_t n = strlen(base) + 6;
            if ((ext_name = malloc(n)))
                snprintf(ext_name, n, "%s.data", base);
        }
        ext_path = malloc(dirlen + (ext_name ? strlen(ext_name) : 0) + 1);
        if (!ext_name || !ext_path) {
            st = onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory");
            goto out;
        }
        memcpy(ext_path, path, dirlen);
        strcpy(ext_path + dirlen, ext_name);
        if (strcmp(ext_path, path) == 0) {
            st = onnxq_fail(err, ONNXQ_E_INVALID_ARG, "external data file must differ from the model file %s",
                            path);
            goto out;
        }
        if (!(ext.f = open_temp(ext_path, &ext_tmp, err, &st)))
            goto out;
        ext.location = ext_name;
        ext.threshold = opts->external_threshold;
        S.ext = &ext;
    }

    if (!(f = open_temp(path, &tmp, err, &st)))
        goto out;
    Onnx__ModelProto *mp = build_model(&S, model);
    if (!mp) {
        if (ext.failed)
            st = onnxq_fail(err, ONNXQ_E_IO, "%s: writing external data failed: %s", ext_path,
                            strerror(ext.err_no));
        else
            st = onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory while saving %s", path);
        goto out;
    }
    struct file_buffer fb = {.base = {.append = fb_append}, .f = f};
    protobuf_c_message_pack_to_buffer(&mp->base, &fb.base);
    if (fb.failed) {
        st = onnxq_fail(err, ONNXQ_E_IO, "%s: write failed: %s", path, strerror(fb.err_no));
        goto out;
    }
    int e;
    if (ext.f) {
        e = finish_file(ext.f);
        ext.f = NULL;
        if (e) {
            st = onnxq_fail(err, ONNXQ_E_IO, "%s: write failed: %s", ext_path, strerror(e));
            goto out;
        }
    }
    e = finish_file(f);
    f = NULL;
    if (e) {
        st = onnxq_fail(err, ONNXQ_E_IO, "%s: write failed: %s", path, strerror(e));
        goto out;
    }
    /* No tensor reached the threshold: write no (empty) data file. */
    if (ext_tmp && ext.tensors == 0) {
        unlink(ext_tmp);
        free(ext_tmp);
        ext_tmp = NULL;
    }
    /* Data first, so the model never points at a missing file. */
    if (ext_tmp && rename(ext_tmp, ext_path) != 0) {
        st = onnxq_fail(err, ONNXQ_E_IO, "%s: cannot rename into place: %s", ext_path, strerror(errno));
        goto out;
    }
    free(ext_tmp);
    ext_tmp = NULL;
    if (rename(tmp, path) != 0) {
        st = onnxq_fail(err, ONNXQ_E_IO, "%s: cannot rename into place: %s", path, strerror(errno));
        goto out;
    }
    free(tmp);
    tmp = NULL;
out:
    if (f)
        fclose(f);
    if (ext.f)
        fclose(ext.f);
    if (tmp) {
        unlink(tmp);
        free(tmp);
    }
    if (ext_tmp) {
        unlink(ext_tmp);
        free(ext_tmp);
    }
    free(ext_path);
    free(ext_name);
    arena_free(&S.arena);
    return st;
}

enum onnxq_status onnxq_tensor_to_pb(const struct onnxq_tensor *t, const char *name, uint8_t **out, size_t *size,
                                     struct onnxq_error *err)
{
    struct saver S = {.err = err};
    struct onnxq_constant c = {.name = (char *)name, .value = *t};
    enum onnxq_status st = ONNXQ_OK;
    Onnx__TensorProto *tp = build_tensor(&S, &c, false);
    if (!tp) {
        st = onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory encoding tensor '%s'", name ? name : "");
        goto out;
    }
    size_t n = protobuf_c_message_get_packed_size(&tp->base);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) {
        st = onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory encoding tensor '%s'", name ? name : "");
        goto out;
    }
    protobuf_c_message_pack(&tp->base, buf);
    *out = buf;
    *size = n;
out:
    arena_free(&S.arena);
    return st;
}
