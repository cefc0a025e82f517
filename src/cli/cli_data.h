#ifndef ONNXQ_CLI_DATA_H
#define ONNXQ_CLI_DATA_H

#include "calibration/dataset.h"

/* If argv[*i] is a dataset option, parse it (and its value, advancing *i)
 * into o and return 1; return 0 if it is not one; -1 with *error set on a
 * bad value. */
int onnxq_cli_data_option(int argc, char **argv, int *i, struct onnxq_dataset_options *o, const char **error);

extern const char onnxq_cli_data_usage[];

/* A decimal count >= 0 (no sign, nothing after it): 0 and *out set, or -1. */
int onnxq_cli_parse_count(const char *s, size_t *out);

#endif
