/* Reductions and arg-reductions. */
#include "ops/reduce.h"
