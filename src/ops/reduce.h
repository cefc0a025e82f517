/* Reductions and arg-reductions. */
#ifndef ONNXQ_OPS_REDUCE_H
#define ONNXQ_OPS_REDUCE_H

#include "ops/op.h"

/* X(domain, name, since_version, init, infer_shape, run, fini) */
#define ONNXQ_OPS_REDUCE(X)

#endif
