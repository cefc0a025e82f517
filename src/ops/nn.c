/* Pooling, normalization and softmax. */
#include "ops/nn.h"
