/* Control flow: If, Loop. */
#ifndef ONNXQ_OPS_CONTROL_H
#define ONNXQ_OPS_CONTROL_H

#include "ops/op.h"

/* X(domain, name, since_version, init, infer_shape, run, fini) */
#define ONNXQ_OPS_CONTROL(X)

#endif
