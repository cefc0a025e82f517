#include "core/context.h"

#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

ONNXQ_API enum onnxq_status onnxq_context_new(struct onnxq_context **out, struct onnxq_error *err)
{
    if (!out)
        return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "onnxq_context_new: out is NULL");
    struct onnxq_context *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory");
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    ctx->threads = n > 0 ? (int)n : 1;
    ctx->log_level = ONNXQ_LOG_WARN;
    ctx->log_out = stderr;
    *out = ctx;
    return ONNXQ_OK;
}

ONNXQ_API void onnxq_context_free(struct onnxq_context *ctx)
{
    free(ctx);
}

ONNXQ_API enum onnxq_status onnxq_context_set_threads(struct onnxq_context *ctx, int threads,
                                                      struct onnxq_error *err)
{
    if (!ctx || threads < 1)
        return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "thread count must be >= 1 (got %d)", threads);
    ctx->threads = threads;
    return ONNXQ_OK;
}

ONNXQ_API int onnxq_context_threads(const struct onnxq_context *ctx)
{
    return ctx ? ctx->threads : 1;
}

ONNXQ_API void onnxq_context_set_log_level(struct onnxq_context *ctx, enum onnxq_log_level level)
{
    if (ctx && (unsigned)level < ONNXQ_LOG_LEVEL_COUNT)
        ctx->log_level = level;
}

void onnxq_log(const struct onnxq_context *ctx, enum onnxq_log_level level, const char *fmt, ...)
{
    static const char *const tags[] = {
        [ONNXQ_LOG_QUIET] = "", [ONNXQ_LOG_ERROR] = "error", [ONNXQ_LOG_WARN] = "warning",
        [ONNXQ_LOG_INFO] = "info", [ONNXQ_LOG_DEBUG] = "debug",
    };
    _Static_assert(sizeof(tags) / sizeof(tags[0]) == ONNXQ_LOG_LEVEL_COUNT, "log tags");
    if (!ctx || level == ONNXQ_LOG_QUIET || level > ctx->log_level || !ctx->log_out)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(ctx->log_out, "onnxq: %s: ", tags[level]);
    vfprintf(ctx->log_out, fmt, ap);
    fputc('\n', ctx->log_out);
    va_end(ap);
}
