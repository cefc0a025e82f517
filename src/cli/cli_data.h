#ifndef ONNXQ_CLI_DATA_H
#define ONNXQ_CLI_DATA_H

#include <stdbool.h>

#include "calibration/dataset.h"
#include "onnxq/onnxq.h"

/* If argv[*i] is a dataset option, parse it (and its value, advancing *i)
 * into o and return 1; return 0 if it is not one; -1 with *error set on a
 * bad value. */
int onnxq_cli_data_option(int argc, char **argv, int *i, struct onnxq_dataset_options *o, const char **error);

extern const char onnxq_cli_data_usage[];

/* A decimal count >= 0 (no sign, nothing after it): 0 and *out set, or -1. */
int onnxq_cli_parse_count(const char *s, size_t *out);

/* The options every model command shares: --threads N (sets ctx's thread
 * count) and --quiet / -q (sets *quiet; NULL: not an option of this
 * command). 1: argv[*i] was one (*i advanced past its value); 0: it is not;
 * -1: a bad value, error printed. */
int onnxq_cli_common_option(struct onnxq_context *ctx, int argc, char **argv, int *i, bool *quiet);

/* True for "-x"/"--xyz" (not "-", which names standard input). */
static inline bool onnxq_cli_is_option(const char *a)
{
    return a[0] == '-' && a[1];
}

/* Print why argv element `a`, which no option took, is refused: an unknown
 * option (or one missing its value), or an argument past the positional
 * ones the command expects. The caller prints its usage. */
void onnxq_cli_bad_argument(const char *a);

/* A byte count: digits with an optional K, M or G suffix (powers of 1024).
 * 0 on success, -1 on anything else. */
int onnxq_cli_parse_size(const char *s, size_t *out);

#endif
