/* Internal error helpers. */
#ifndef ONNXQ_CORE_ERROR_H
#define ONNXQ_CORE_ERROR_H

#include "onnxq/onnxq.h"

#if defined(__GNUC__)
#define ONNXQ_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define ONNXQ_PRINTF(a, b)
#endif

/* Fill err (if not NULL) and return code, so callers can write
 * `return onnxq_fail(err, ONNXQ_E_IO, "...")`. */
enum onnxq_status onnxq_fail(struct onnxq_error *err, enum onnxq_status code, const char *fmt, ...)
    ONNXQ_PRINTF(3, 4);

/* Prefix an existing message with context ("file.onnx: ") without losing it. */
void onnxq_error_prefix(struct onnxq_error *err, const char *fmt, ...) ONNXQ_PRINTF(2, 3);

#endif
