#include "core/tensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

int64_t onnxq_shape_numel(const int64_t *dims, int ndim)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (dims[i] < 0)
            return -1;
        if (dims[i] != 0 && n > INT64_MAX / dims[i])
            return -1;
        n *= dims[i];
    }
    return n;
}

enum onnxq_status onnxq_tensor_alloc(struct onnxq_tensor *t, enum onnxq_dtype dtype, int ndim,
                                     const int64_t *dims, struct onnxq_error *err)
{
    if (!onnxq_dtype_valid((int)dtype))
        return onnxq_fail(err, ONNXQ_E_UNSUPPORTED, "tensor dtype %d is not supported", (int)dtype);
    if (ndim < 0 || ndim > ONNXQ_MAX_DIMS)
        return onnxq_fail(err, ONNXQ_E_UNSUPPORTED, "tensor rank %d exceeds the maximum of %d", ndim,
                          ONNXQ_MAX_DIMS);
    int64_t n = onnxq_shape_numel(dims, ndim);
    size_t esz = onnxq_dtype_size(dtype);
    if (n < 0 || (uint64_t)n > SIZE_MAX / esz)
        return onnxq_fail(err, ONNXQ_E_SHAPE, "tensor shape is negative or too large");
    size_t nbytes = (size_t)n * esz;
    void *data = NULL;
    if (nbytes) {
        data = calloc(1, nbytes);
        if (!data)
            return onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory allocating %zu bytes", nbytes);
    }
    memset(t, 0, sizeof(*t));
    t->dtype = dtype;
    t->ndim = ndim;
    if (ndim)
        memcpy(t->dims, dims, sizeof(int64_t) * (size_t)ndim);
    t->data = data;
    t->nbytes = nbytes;
    t->owns_data = true;
    return ONNXQ_OK;
}

void onnxq_tensor_clear(struct onnxq_tensor *t)
{
    if (!t)
        return;
    if (t->owns_data && t->data) {
        if (t->dtype == ONNXQ_DT_STRING) {
            struct onnxq_bytes *s = t->data;
            size_t n = t->nbytes / sizeof(*s);
            for (size_t i = 0; i < n; i++)
                free(s[i].data);
        }
        free(t->data);
    }
    memset(t, 0, sizeof(*t));
}

enum onnxq_status onnxq_tensor_copy(struct onnxq_tensor *dst, const struct onnxq_tensor *src,
                                    struct onnxq_error *err)
{
    struct onnxq_tensor t;
    enum onnxq_status st = onnxq_tensor_alloc(&t, src->dtype, src->ndim, src->dims, err);
    if (st)
        return st;
    if (src->dtype == ONNXQ_DT_STRING) {
        const struct onnxq_bytes *s = src->data;
        struct onnxq_bytes *d = t.data;
        size_t n = src->nbytes / sizeof(*s);
        for (size_t i = 0; i < n; i++) {
            if (s[i].len) {
                d[i].data = malloc(s[i].len);
                if (!d[i].data) {
                    onnxq_tensor_clear(&t);
                    return onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory copying a string tensor");
                }
                memcpy(d[i].data, s[i].data, s[i].len);
            }
            d[i].len = s[i].len;
        }
    } else if (src->nbytes) {
        memcpy(t.data, src->data, src->nbytes);
    }
    *dst = t;
    return ONNXQ_OK;
}

bool onnxq_tensor_equal(const struct onnxq_tensor *a, const struct onnxq_tensor *b)
{
    if (a->dtype != b->dtype || a->ndim != b->ndim || a->nbytes != b->nbytes)
        return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->dims[i] != b->dims[i])
            return false;
    if (!a->nbytes)
        return true;
    if (a->dtype == ONNXQ_DT_STRING) {
        const struct onnxq_bytes *x = a->data, *y = b->data;
        size_t n = a->nbytes / sizeof(*x);
        for (size_t i = 0; i < n; i++)
            if (x[i].len != y[i].len || (x[i].len && memcmp(x[i].data, y[i].data, x[i].len)))
                return false;
        return true;
    }
    return memcmp(a->data, b->data, a->nbytes) == 0;
}

void onnxq_shape_format(const int64_t *dims, int ndim, char *buf, size_t size)
{
    size_t used = 0;
    int w = snprintf(buf, size, "[");
    used = w > 0 ? (size_t)w : 0;
    for (int i = 0; i < ndim && used < size; i++) {
        w = snprintf(buf + used, size - used, "%s%lld", i ? "," : "", (long long)dims[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    if (used < size)
        snprintf(buf + used, size - used, "]");
}
