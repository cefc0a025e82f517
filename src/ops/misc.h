/* Less common operators: sorting and selection, scatter/gather variants,
 * cumulative sums, one-hot, losses, Einsum and friends. */
#ifndef ONNXQ_OPS_MISC_H
#define ONNXQ_OPS_MISC_H

#include "ops/op.h"

/* X(domain, name, since_version, init, infer_shape, run, fini) */
#define ONNXQ_OPS_MISC(X)

#endif
