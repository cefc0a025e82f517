/* Shape and data movement. */
#ifndef ONNXQ_OPS_TENSOR_H
#define ONNXQ_OPS_TENSOR_H

#include "ops/op.h"

/* X(domain, name, since_version, init, infer_shape, run, fini) */
#define ONNXQ_OPS_TENSOR(X)

#endif
