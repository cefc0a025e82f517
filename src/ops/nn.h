/* Pooling, normalization and softmax. */
#ifndef ONNXQ_OPS_NN_H
#define ONNXQ_OPS_NN_H

#include "ops/op.h"

/* X(domain, name, since_version, init, infer_shape, run, fini) */
#define ONNXQ_OPS_NN(X)

#endif
