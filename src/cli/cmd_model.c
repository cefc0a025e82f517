/* Subcommands that work on the model file itself: inspect, convert. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_data.h"

static int bad_usage(const char *msg, const char *usage)
{
    fprintf(stderr, "onnxq: error: %s\nusage: %s\n", msg, usage);
    return 2;
}

int onnxq_cmd_inspect(struct onnxq_context *ctx, int argc, char **argv)
{
    static const char usage[] = "onnxq inspect MODEL [--json]";
    const char *path = NULL;
    unsigned flags = ONNXQ_DESCRIBE_TEXT;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: %s\n", usage);
            return 0;
        }
        if (strcmp(argv[i], "--json") == 0)
            flags |= ONNXQ_DESCRIBE_JSON;
        else if (argv[i][0] == '-' && argv[i][1])
            return bad_usage("unknown option", usage);
        else if (!path)
            path = argv[i];
        else
            return bad_usage("more than one model given", usage);
    }
    if (!path)
        return bad_usage("no model given", usage);
    struct onnxq_error err;
    struct onnxq_model *m = NULL;
    if (onnxq_model_load(ctx, path, &m, &err) != ONNXQ_OK)
        return onnxq_cli_report(&err);
    int rc = 0;
    if (onnxq_model_describe(m, stdout, flags, &err) != ONNXQ_OK)
        rc = onnxq_cli_report(&err);
    onnxq_model_free(m);
    return rc;
}

int onnxq_cmd_convert(struct onnxq_context *ctx, int argc, char **argv)
{
    static const char usage[] = "onnxq convert IN OUT [--external-data FILE] [--external-threshold BYTES]";
    const char *in = NULL, *out = NULL;
    struct onnxq_save_options opts = {0};
    bool ext_given = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: %s\n", usage);
            return 0;
        }
        if (strcmp(argv[i], "--external-data") == 0 && i + 1 < argc) {
            opts.external_file = argv[++i];
            ext_given = true;
        } else if (strcmp(argv[i], "--external-threshold") == 0 && i + 1 < argc) {
            if (onnxq_cli_parse_size(argv[++i], &opts.external_threshold) != 0)
                return bad_usage("--external-threshold takes a byte count (e.g. 1024, 64k, 1M)", usage);
            ext_given = true;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return bad_usage("unknown option or missing value", usage);
        } else if (!in) {
            in = argv[i];
        } else if (!out) {
            out = argv[i];
        } else {
            return bad_usage("too many arguments", usage);
        }
    }
    if (!in || !out)
        return bad_usage("IN and OUT are required", usage);
    if (ext_given && !opts.external_threshold)
        opts.external_threshold = 1024;  /* --external-data alone: move every sizeable tensor */
    struct onnxq_error err;
    struct onnxq_model *m = NULL;
    if (onnxq_model_load(ctx, in, &m, &err) != ONNXQ_OK)
        return onnxq_cli_report(&err);
    int rc = 0;
    if (onnxq_model_save(m, out, &opts, &err) != ONNXQ_OK)
        rc = onnxq_cli_report(&err);
    onnxq_model_free(m);
    return rc;
}
