/* Quantizer options shared by `onnxq quantize` and `onnxq sensitivity`. */
#ifndef ONNXQ_CLI_QUANT_H
#define ONNXQ_CLI_QUANT_H

#include <stdint.h>

#include "calibration/ranges.h"
#include "quant/quantize.h"

struct onnxq_cli_quant {
    struct onnxq_quant_options qo;  /* its name lists point into the lists below */
    struct onnxq_range_params params;
    uint32_t bins;
    char **op_types, **excl_nodes, **excl_ops;  /* NULL-terminated, owned */
};

void onnxq_cli_quant_init(struct onnxq_cli_quant *q);
void onnxq_cli_quant_clear(struct onnxq_cli_quant *q);

/* If argv[*i] is a quantizer option (--method, --activation-type,
 * --placement, --per-tensor, --reduce-range, --op-types, --exclude-nodes,
 * --exclude-op-types, --bins, --percentile), parse it (and its value,
 * advancing *i) and return 1; 0 if it is not one; -1 after printing an
 * error for a bad value. */
int onnxq_cli_quant_option(int argc, char **argv, int *i, struct onnxq_cli_quant *q);

/* Split "a,b,c" into a NULL-terminated list (one malloc'd block). */
char **onnxq_cli_split_list(const char *s);

#endif
