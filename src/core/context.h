#ifndef ONNXQ_CORE_CONTEXT_H
#define ONNXQ_CORE_CONTEXT_H

#include <stdio.h>

#include "core/error.h"
#include "onnxq/onnxq.h"

struct onnxq_context {
    int threads;
    enum onnxq_log_level log_level;
    FILE *log_out;
};

void onnxq_log(const struct onnxq_context *ctx, enum onnxq_log_level level, const char *fmt, ...)
    ONNXQ_PRINTF(3, 4);

#endif
