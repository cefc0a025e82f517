/* Graph passes run before quantization. Each pass edits the model's IR in
 * place, keeps the model valid (onnxq_model_validate passes afterwards),
 * reports how many places it changed, and is tested on its own: the
 * model's outputs are equal (or within a stated float tolerance for
 * arithmetic folds) before and after, in onnxq's executor and in
 * onnxruntime-node. */
#ifndef ONNXQ_QUANT_PASSES_H
#define ONNXQ_QUANT_PASSES_H

#include <stddef.h>

#include "ir/graph.h"
#include "onnxq/onnxq.h"

/* X(name, function): the pass table, in the order the quantizer runs them. */
#define ONNXQ_PASSES(X)

#endif
