/* onnxq command line entry point: dispatches to one subcommand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "cli/cli.h"

struct command {
    const char *name;
    const char *summary;
    int (*run)(struct onnxq_context *ctx, int argc, char **argv);
};

static const struct command commands[] = {
    {"inspect", "inspect MODEL [--json]: print the model summary", onnxq_cmd_inspect},
    {"convert", "convert IN OUT [--external-data FILE] [--external-threshold BYTES]: load, validate and save",
     onnxq_cmd_convert},
    {"run", "run MODEL --input [NAME=]FILE ... [--output DIR] [--format npy|pb] [--threads N] [--repeat N]: execute",
     onnxq_cmd_run},
    {"calibrate", "calibrate MODEL --data PATH -o TABLE.json [--method LIST] ...: observe activations, write ranges",
     onnxq_cmd_calibrate},
    {"quantize", "quantize MODEL (--data PATH | --calib-table T.json) -o OUT.onnx [...]: write the INT8 QDQ model",
     onnxq_cmd_quantize},
    {"compare", "compare FP32.onnx INT8.onnx --data PATH [--json] [-o FILE]: per-output and per-tensor SQNR, worst first",
     onnxq_cmd_compare},
    {"sensitivity", "sensitivity MODEL --data PATH [--calib-table T] [--samples N] [--json]: per-node quantization "
     "sensitivity, ranked", onnxq_cmd_sensitivity},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: onnxq COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %s\n", commands[i].summary);
    fprintf(out, "\nonnxq --version prints the version.\n");
}

int onnxq_cli_report(const struct onnxq_error *err)
{
    fprintf(stderr, "onnxq: error: %s\n", err->message);
    return 1;
}

int main(int argc, char **argv)
{
#if defined(__GLIBC__)
    /* The commands allocate and free the same large buffers once per
     * sample (decoded images, input tensors, outputs). glibc would map and
     * unmap each one (above 128 kB, adaptively up to 32 MB), and every page
     * of a fresh mapping faults on first touch: about 2400 faults, 20 ms,
     * per PP-OCR det sample on the CI VM, where a fault costs 7-12 us.
     * Kept in the heap instead, freed memory is reused as it is. */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("onnxq %s\n", onnxq_version());
        return 0;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[1], commands[i].name) != 0)
            continue;
        struct onnxq_context *ctx = NULL;
        struct onnxq_error err;
        if (onnxq_context_new(&ctx, &err) != ONNXQ_OK)
            return onnxq_cli_report(&err);
        int rc = commands[i].run(ctx, argc - 1, argv + 1);
        onnxq_context_free(ctx);
        return rc;
    }
    fprintf(stderr, "onnxq: error: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
