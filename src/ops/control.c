/* Control flow: If, Loop. */
#include "ops/control.h"
