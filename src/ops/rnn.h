/* Recurrent layers: LSTM, GRU, RNN. */
#ifndef ONNXQ_OPS_RNN_H
#define ONNXQ_OPS_RNN_H

#include "ops/op.h"

/* X(domain, name, since_version, init, infer_shape, run, fini) */
#define ONNXQ_OPS_RNN(X)

#endif
