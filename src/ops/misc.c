/* Less common operators. */
#include "ops/misc.h"
