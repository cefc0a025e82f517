/* NumPy .npy files (format versions 1.0, 2.0 and 3.0), little endian,
 * C order. Fortran-order and big-endian arrays are refused with a clear
 * error rather than silently transposed or byte-swapped. */
#ifndef ONNXQ_IO_NPY_H
#define ONNXQ_IO_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "core/tensor.h"

/* Parse .npy bytes into an owning tensor. `what` names the source in errors. */
enum onnxq_status onnxq_npy_decode(const uint8_t *data, size_t size, const char *what, struct onnxq_tensor *out,
                                   struct onnxq_error *err);
enum onnxq_status onnxq_npy_read(const char *path, struct onnxq_tensor *out, struct onnxq_error *err);

/* Encode a tensor (numeric or bool) as .npy bytes (malloc'd). */
enum onnxq_status onnxq_npy_encode(const struct onnxq_tensor *t, uint8_t **out, size_t *size, struct onnxq_error *err);

/* Read a whole file (malloc'd). Errors name the file. */
enum onnxq_status onnxq_read_file(const char *path, uint8_t **out, size_t *size, struct onnxq_error *err);
/* Write a file atomically (temp file in the same folder, then rename). */
enum onnxq_status onnxq_write_file_atomic(const char *path, const void *data, size_t size, struct onnxq_error *err);

#endif
