/* The one static operator table. Each family header lists its rows as an
 * X-macro; they are expanded here, in one array. */
#include <string.h>

#include "ops/op.h"
#include "ops/families.h"

#define ONNXQ_OP_ROW(dom, nm, ver, i, s, r, f) \
    {.domain = dom, .name = nm, .since_version = ver, .init = i, .infer_shape = s, .run = r, .fini = f},

static const struct onnxq_op_def op_table[] = {
    ONNXQ_OP_FAMILIES(ONNXQ_OP_ROW)
};

static bool same_domain(const char *a, const char *b)
{
    bool da = !a || !*a || strcmp(a, "ai.onnx") == 0;
    bool db = !b || !*b || strcmp(b, "ai.onnx") == 0;
    if (da || db)
        return da && db;
    return strcmp(a, b) == 0;
}

const struct onnxq_op_def *onnxq_op_lookup(const char *domain, const char *op_type, int64_t opset)
{
    const struct onnxq_op_def *best = NULL;
    for (size_t i = 0; i < sizeof(op_table) / sizeof(op_table[0]); i++) {
        const struct onnxq_op_def *d = &op_table[i];
        if (d->since_version > opset || strcmp(d->name, op_type) != 0 || !same_domain(d->domain, domain))
            continue;
        if (!best || d->since_version > best->since_version)
            best = d;
    }
    return best;
}

bool onnxq_op_known(const char *domain, const char *op_type)
{
    return onnxq_op_lookup(domain, op_type, INT64_MAX) != NULL;
}
