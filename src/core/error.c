#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const status_names[] = {
    [ONNXQ_OK] = "ONNXQ_OK",
    [ONNXQ_E_INVALID_ARG] = "ONNXQ_E_INVALID_ARG",
    [ONNXQ_E_IO] = "ONNXQ_E_IO",
    [ONNXQ_E_PARSE] = "ONNXQ_E_PARSE",
    [ONNXQ_E_INVALID_MODEL] = "ONNXQ_E_INVALID_MODEL",
    [ONNXQ_E_UNSUPPORTED] = "ONNXQ_E_UNSUPPORTED",
    [ONNXQ_E_SHAPE] = "ONNXQ_E_SHAPE",
    [ONNXQ_E_DATA] = "ONNXQ_E_DATA",
    [ONNXQ_E_NOMEM] = "ONNXQ_E_NOMEM",
    [ONNXQ_E_INTERNAL] = "ONNXQ_E_INTERNAL",
};
_Static_assert(sizeof(status_names) / sizeof(status_names[0]) == ONNXQ_STATUS_COUNT,
               "status_names must cover every onnxq_status");

ONNXQ_API const char *onnxq_status_name(enum onnxq_status status)
{
    if ((unsigned)status >= ONNXQ_STATUS_COUNT)
        return "ONNXQ_E_UNKNOWN";
    return status_names[status];
}

ONNXQ_API const char *onnxq_version(void)
{
    return "0.1.0";
}

enum onnxq_status onnxq_fail(struct onnxq_error *err, enum onnxq_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
    }
    return code;
}

void onnxq_error_prefix(struct onnxq_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    char prefix[ONNXQ_ERROR_MESSAGE_MAX];
    char old[ONNXQ_ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err->message, sizeof(old));
    old[sizeof(old) - 1] = '\0';
    /* Build by hand: snprintf("%s%s") trips -Wformat-truncation. */
    size_t pl = strnlen(prefix, sizeof(err->message) - 1);
    size_t ol = strnlen(old, sizeof(err->message) - 1 - pl);
    memcpy(err->message, prefix, pl);
    memcpy(err->message + pl, old, ol);
    err->message[pl + ol] = '\0';
}
