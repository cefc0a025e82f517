/* QuantizeLinear and DequantizeLinear. */
#include "ops/quant.h"
