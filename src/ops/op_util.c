/* Helpers shared by operator implementations. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/threadpool.h"
#include "ops/op.h"

int64_t onnxq_attr_int(const struct onnxq_node *n, const char *name, int64_t def)
{
    const struct onnxq_attr *a = onnxq_node_attr(n, name);
    return a && a->has_i ? a->i : (a && a->type == ONNXQ_ATTR_INT ? a->i : def);
}

float onnxq_attr_float(const struct onnxq_node *n, const char *name, float def)
{
    const struct onnxq_attr *a = onnxq_node_attr(n, name);
    return a && (a->has_f || a->type == ONNXQ_ATTR_FLOAT) ? a->f : def;
}

const char *onnxq_attr_string(const struct onnxq_node *n, const char *name, const char *def, char *buf,
                              size_t size)
{
    const struct onnxq_attr *a = onnxq_node_attr(n, name);
    if (!a || !(a->has_s || a->type == ONNXQ_ATTR_STRING))
        return def;
    size_t len = a->s.len < size - 1 ? a->s.len : size - 1;
    if (len)
        memcpy(buf, a->s.data, len);
    buf[len] = '\0';
    return buf;
}

const int64_t *onnxq_attr_ints(const struct onnxq_node *n, const char *name, size_t *count)
{
    const struct onnxq_attr *a = onnxq_node_attr(n, name);
    if (!a || a->type != ONNXQ_ATTR_INTS) {
        *count = 0;
        return NULL;
    }
    *count = a->n_ints;
    return a->ints;
}

const float *onnxq_attr_floats(const struct onnxq_node *n, const char *name, size_t *count)
{
    const struct onnxq_attr *a = onnxq_node_attr(n, name);
    if (!a || a->type != ONNXQ_ATTR_FLOATS) {
        *count = 0;
        return NULL;
    }
    *count = a->n_floats;
    return a->floats;
}

bool onnxq_attr_has(const struct onnxq_node *n, const char *name)
{
    return onnxq_node_attr(n, name) != NULL;
}

enum onnxq_status onnxq_op_fail(struct onnxq_error *err, const struct onnxq_node *n, enum onnxq_status code,
                                const char *fmt, ...)
{
    if (!err)
        return code;
    char msg[ONNXQ_ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n->name && *n->name)
        return onnxq_fail(err, code, "node '%s' (%s): %s", n->name, n->op_type, msg);
    return onnxq_fail(err, code, "node %s (writing '%s'): %s", n->op_type,
                      n->n_outputs ? n->outputs[0] : "", msg);
}

void onnxq_out_shape(struct onnxq_tensor *out, enum onnxq_dtype dt, int ndim, const int64_t *dims)
{
    if (!out)
        return;
    out->dtype = dt;
    out->ndim = ndim;
    if (ndim)
        memmove(out->dims, dims, (size_t)ndim * sizeof(int64_t));
}

enum onnxq_status onnxq_broadcast_shape(const struct onnxq_op_ctx *ctx, const int64_t *a, int na,
                                        const int64_t *b, int nb, int64_t *out, int *nout)
{
    int n = na > nb ? na : nb;
    int64_t tmp[ONNXQ_MAX_DIMS];
    for (int i = 0; i < n; i++) {
        int64_t x = i - (n - na) >= 0 ? a[i - (n - na)] : 1;
        int64_t y = i - (n - nb) >= 0 ? b[i - (n - nb)] : 1;
        if (x == y || y == 1)
            tmp[i] = x;
        else if (x == 1)
            tmp[i] = y;
        else {
            char sa[200], sb[200];
            onnxq_shape_format(a, na, sa, sizeof(sa));
            onnxq_shape_format(b, nb, sb, sizeof(sb));
            return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE, "shapes %s and %s cannot be broadcast", sa, sb);
        }
    }
    memcpy(out, tmp, (size_t)n * sizeof(int64_t));
    *nout = n;
    return ONNXQ_OK;
}

enum onnxq_status onnxq_norm_axis(const struct onnxq_op_ctx *ctx, int64_t axis, int rank, int *out)
{
    int64_t a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a >= (rank ? rank : 1))
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_SHAPE, "axis %lld is out of range for rank %d",
                             (long long)axis, rank);
    *out = (int)a;
    return ONNXQ_OK;
}

int64_t onnxq_tensor_get_i64(const struct onnxq_tensor *t, size_t i)
{
    const void *d = t->data;
    switch (t->dtype) {
    case ONNXQ_DT_INT64: return ((const int64_t *)d)[i];
    case ONNXQ_DT_INT32: return ((const int32_t *)d)[i];
    case ONNXQ_DT_INT16: return ((const int16_t *)d)[i];
    case ONNXQ_DT_INT8: return ((const int8_t *)d)[i];
    case ONNXQ_DT_UINT64: return (int64_t)((const uint64_t *)d)[i];
    case ONNXQ_DT_UINT32: return ((const uint32_t *)d)[i];
    case ONNXQ_DT_UINT16: return ((const uint16_t *)d)[i];
    case ONNXQ_DT_UINT8:
    case ONNXQ_DT_BOOL: return ((const uint8_t *)d)[i];
    case ONNXQ_DT_FLOAT:
    case ONNXQ_DT_DOUBLE:
    case ONNXQ_DT_FLOAT16:
    case ONNXQ_DT_BFLOAT16: return (int64_t)onnxq_tensor_get_f64(t, i);
    default: return 0; /* strings, complex, float8: not numbers we read */
    }
}

double onnxq_tensor_get_f64(const struct onnxq_tensor *t, size_t i)
{
    const void *d = t->data;
    switch (t->dtype) {
    case ONNXQ_DT_FLOAT: return ((const float *)d)[i];
    case ONNXQ_DT_DOUBLE: return ((const double *)d)[i];
    case ONNXQ_DT_FLOAT16: return onnxq_half_to_float(((const uint16_t *)d)[i]);
    case ONNXQ_DT_BFLOAT16: return onnxq_bf16_to_float(((const uint16_t *)d)[i]);
    case ONNXQ_DT_INT64: return (double)((const int64_t *)d)[i];
    case ONNXQ_DT_UINT64: return (double)((const uint64_t *)d)[i];
    case ONNXQ_DT_INT32:
    case ONNXQ_DT_INT16:
    case ONNXQ_DT_INT8:
    case ONNXQ_DT_UINT32:
    case ONNXQ_DT_UINT16:
    case ONNXQ_DT_UINT8:
    case ONNXQ_DT_BOOL: return (double)onnxq_tensor_get_i64(t, i);
    default: return 0; /* strings, complex, float8: not numbers we read */
    }
}

void onnxq_tensor_set_f64(struct onnxq_tensor *t, size_t i, double v)
{
    void *d = t->data;
    switch (t->dtype) {
    case ONNXQ_DT_FLOAT: ((float *)d)[i] = (float)v; break;
    case ONNXQ_DT_DOUBLE: ((double *)d)[i] = v; break;
    case ONNXQ_DT_FLOAT16: ((uint16_t *)d)[i] = onnxq_float_to_half((float)v); break;
    case ONNXQ_DT_BFLOAT16: ((uint16_t *)d)[i] = onnxq_float_to_bf16((float)v); break;
    case ONNXQ_DT_INT64: ((int64_t *)d)[i] = (int64_t)v; break;
    case ONNXQ_DT_INT32: ((int32_t *)d)[i] = (int32_t)v; break;
    case ONNXQ_DT_INT16: ((int16_t *)d)[i] = (int16_t)v; break;
    case ONNXQ_DT_INT8: ((int8_t *)d)[i] = (int8_t)v; break;
    case ONNXQ_DT_UINT64: ((uint64_t *)d)[i] = (uint64_t)v; break;
    case ONNXQ_DT_UINT32: ((uint32_t *)d)[i] = (uint32_t)v; break;
    case ONNXQ_DT_UINT16: ((uint16_t *)d)[i] = (uint16_t)v; break;
    case ONNXQ_DT_UINT8: ((uint8_t *)d)[i] = (uint8_t)v; break;
    case ONNXQ_DT_BOOL: ((uint8_t *)d)[i] = v != 0; break;
    default: break;
    }
}

void onnxq_tensor_set_f64_sat(struct onnxq_tensor *t, size_t i, double v)
{
    double lo, hi;
    switch (t->dtype) {
    case ONNXQ_DT_INT8: lo = -128.0; hi = 127.0; break;
    case ONNXQ_DT_UINT8: lo = 0; hi = 255.0; break;
    case ONNXQ_DT_INT16: lo = -32768.0; hi = 32767.0; break;
    case ONNXQ_DT_UINT16: lo = 0; hi = 65535.0; break;
    case ONNXQ_DT_INT32: lo = -2147483648.0; hi = 2147483647.0; break;
    case ONNXQ_DT_UINT32: lo = 0; hi = 4294967295.0; break;
    /* the largest doubles below 2^63 and 2^64 */
    case ONNXQ_DT_INT64: lo = -9223372036854775808.0; hi = 9223372036854774784.0; break;
    case ONNXQ_DT_UINT64: lo = 0; hi = 18446744073709549568.0; break;
    default: onnxq_tensor_set_f64(t, i, v); return;
    }
    if (isnan(v))
        v = 0;
    v = v < lo ? lo : v > hi ? hi : v;
    onnxq_tensor_set_f64(t, i, v);
}

enum onnxq_status onnxq_need_input(const struct onnxq_op_ctx *ctx, size_t slot)
{
    if (slot >= ctx->n_inputs || !ctx->inputs[slot])
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_INVALID_MODEL, "required input #%zu is missing", slot);
    return ONNXQ_OK;
}

enum onnxq_status onnxq_need_dtype(const struct onnxq_op_ctx *ctx, size_t slot, enum onnxq_dtype dt)
{
    enum onnxq_status st = onnxq_need_input(ctx, slot);
    if (st)
        return st;
    if (ctx->inputs[slot]->dtype != dt)
        return onnxq_op_fail(ctx->err, ctx->node, ONNXQ_E_UNSUPPORTED, "input #%zu ('%s') has dtype %s; expected %s",
                             slot, ctx->node->inputs[slot], onnxq_dtype_name(ctx->inputs[slot]->dtype),
                             onnxq_dtype_name(dt));
    return ONNXQ_OK;
}

void onnxq_parallel_for(struct onnxq_op_ctx *ctx, size_t n, size_t min_chunk, onnxq_range_fn fn, void *arg)
{
    onnxq_threadpool_run(ctx->pool, n, min_chunk, fn, arg);
}

enum onnxq_status onnxq_attr_auto_pad(const struct onnxq_op_init *ictx, enum onnxq_auto_pad *out)
{
    static const char *const names[] = {
        [ONNXQ_AUTO_PAD_NOTSET] = "NOTSET",
        [ONNXQ_AUTO_PAD_SAME_UPPER] = "SAME_UPPER",
        [ONNXQ_AUTO_PAD_SAME_LOWER] = "SAME_LOWER",
        [ONNXQ_AUTO_PAD_VALID] = "VALID",
    };
    char buf[32];
    const char *ap = onnxq_attr_string(ictx->node, "auto_pad", "NOTSET", buf, sizeof(buf));
    if (*ap == '\0') {
        *out = ONNXQ_AUTO_PAD_NOTSET;
        return ONNXQ_OK;
    }
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(ap, names[i]) == 0) {
            *out = (enum onnxq_auto_pad)i;
            return ONNXQ_OK;
        }
    }
    return onnxq_op_fail(ictx->err, ictx->node, ONNXQ_E_INVALID_MODEL, "unknown auto_pad '%s'", ap);
}
