/* Subcommands of the onnxq executable. */
#ifndef ONNXQ_CLI_H
#define ONNXQ_CLI_H

#include "onnxq/onnxq.h"

/* Each subcommand gets argv after the subcommand name (argv[0] is its name)
 * and returns the process exit code. */
int onnxq_cmd_inspect(struct onnxq_context *ctx, int argc, char **argv);
int onnxq_cmd_convert(struct onnxq_context *ctx, int argc, char **argv);
int onnxq_cmd_run(struct onnxq_context *ctx, int argc, char **argv);
int onnxq_cmd_calibrate(struct onnxq_context *ctx, int argc, char **argv);
int onnxq_cmd_quantize(struct onnxq_context *ctx, int argc, char **argv);
int onnxq_cmd_compare(struct onnxq_context *ctx, int argc, char **argv);
int onnxq_cmd_sensitivity(struct onnxq_context *ctx, int argc, char **argv);

/* Print "onnxq: <message>" for a failed call and return exit code 1. */
int onnxq_cli_report(const struct onnxq_error *err);

#endif
