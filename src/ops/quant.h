/* QuantizeLinear and DequantizeLinear. */
#ifndef ONNXQ_OPS_QUANT_H
#define ONNXQ_OPS_QUANT_H

#include "ops/op.h"

/* X(domain, name, since_version, init, infer_shape, run, fini) */
#define ONNXQ_OPS_QUANT(X)

#endif
