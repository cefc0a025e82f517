/* Graph passes run before quantization. */
#include "quant/passes.h"
