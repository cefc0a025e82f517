/* Every operator family's row list, concatenated into the one op table
 * (ops/registry.c). To add a family: write ops/<family>.{c,h} with an
 * ONNXQ_OPS_<FAMILY>(X) row macro, include it here and list it below. */
#ifndef ONNXQ_OPS_FAMILIES_H
#define ONNXQ_OPS_FAMILIES_H

#include "ops/elementwise.h"

#define ONNXQ_OP_FAMILIES(X) \
    ONNXQ_OPS_ELEMENTWISE(X)

#endif
