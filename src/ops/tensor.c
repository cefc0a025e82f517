/* Shape and data movement. */
#include "ops/tensor.h"
