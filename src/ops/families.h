/* Every operator family's row list, concatenated into the one op table
 * (ops/registry.c). To add a family: write ops/<family>.{c,h} with an
 * ONNXQ_OPS_<FAMILY>(X) row macro, include it here and list it below. */
#ifndef ONNXQ_OPS_FAMILIES_H
#define ONNXQ_OPS_FAMILIES_H

#include "ops/conv.h"
#include "ops/control.h"
#include "ops/elementwise.h"
#include "ops/misc.h"
#include "ops/nn.h"
#include "ops/quant.h"
#include "ops/reduce.h"
#include "ops/rnn.h"
#include "ops/tensor.h"

#define ONNXQ_OP_FAMILIES(X) \
    ONNXQ_OPS_ELEMENTWISE(X) \
    ONNXQ_OPS_CONV(X) \
    ONNXQ_OPS_NN(X) \
    ONNXQ_OPS_REDUCE(X) \
    ONNXQ_OPS_TENSOR(X) \
    ONNXQ_OPS_RNN(X) \
    ONNXQ_OPS_CONTROL(X) \
    ONNXQ_OPS_QUANT(X) \
    ONNXQ_OPS_MISC(X)

#endif
