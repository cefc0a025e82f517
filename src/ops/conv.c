/* Convolution and matrix products: Conv, ConvTranspose, Gemm, MatMul. */
#include "ops/conv.h"
