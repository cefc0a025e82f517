/* Convolution and matrix products: Conv, ConvTranspose, Gemm, MatMul. */
#ifndef ONNXQ_OPS_CONV_H
#define ONNXQ_OPS_CONV_H

#include "ops/op.h"

/* X(domain, name, since_version, init, infer_shape, run, fini) */
#define ONNXQ_OPS_CONV(X)

#endif
