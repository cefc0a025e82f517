/* Runtime tensor: what the executor, calibration and the rewriter compute on. */
#ifndef ONNXQ_CORE_TENSOR_H
#define ONNXQ_CORE_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/dtype.h"
#include "onnxq/onnxq.h"

#define ONNXQ_MAX_DIMS 12

struct onnxq_tensor {
    enum onnxq_dtype dtype;
    int ndim;
    int64_t dims[ONNXQ_MAX_DIMS];
    /* Element data, densely packed, C order, little endian. For STRING this
     * is an array of struct onnxq_bytes, each owning its bytes. May be NULL
     * when the tensor has zero elements. */
    void *data;
    size_t nbytes;
    bool owns_data;  /* data (and string payloads) freed by onnxq_tensor_clear */
};

/* Number of elements (1 for a scalar). Returns -1 on a negative dim or
 * on overflow of int64. */
int64_t onnxq_shape_numel(const int64_t *dims, int ndim);

static inline int64_t onnxq_tensor_numel(const struct onnxq_tensor *t)
{
    return onnxq_shape_numel(t->dims, t->ndim);
}

/* Initialise t as an owning tensor of the given shape with zeroed data. */
enum onnxq_status onnxq_tensor_alloc(struct onnxq_tensor *t, enum onnxq_dtype dtype, int ndim,
                                     const int64_t *dims, struct onnxq_error *err);

/* Free owned data and reset to an empty UNDEFINED tensor. Accepts NULL. */
void onnxq_tensor_clear(struct onnxq_tensor *t);

/* Deep copy (strings included) into dst, which must be cleared/uninitialised. */
enum onnxq_status onnxq_tensor_copy(struct onnxq_tensor *dst, const struct onnxq_tensor *src,
                                    struct onnxq_error *err);

/* Equal dtype, shape and bytes (strings compared by content). NaNs compare
 * by bit pattern, so a tensor always equals its own copy. */
bool onnxq_tensor_equal(const struct onnxq_tensor *a, const struct onnxq_tensor *b);

/* Write "[1,3,640,640]" into buf. */
void onnxq_shape_format(const int64_t *dims, int ndim, char *buf, size_t size);

#endif
