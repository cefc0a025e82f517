#include "cli/cli_quant.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calibration/histogram.h"

char **onnxq_cli_split_list(const char *s)
{
    size_t n = 1, len = strlen(s);
    for (const char *p = s; *p; p++)
        n += *p == ',';
    char **v = malloc((n + 1) * sizeof(char *) + len + 1);
    if (!v)
        return NULL;
    char *buf = (char *)(v + n + 1);
    memcpy(buf, s, len + 1);
    size_t k = 0;
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ","))
        v[k++] = tok;
    v[k] = NULL;
    return v;
}

void onnxq_cli_quant_init(struct onnxq_cli_quant *q)
{
    memset(q, 0, sizeof(*q));
    onnxq_quant_options_init(&q->qo);
    onnxq_range_params_init(&q->params);
    q->bins = ONNXQ_HIST_DEFAULT_BINS;
}

void onnxq_cli_quant_clear(struct onnxq_cli_quant *q)
{
    if (!q)
        return;
    free(q->op_types);
    free(q->excl_nodes);
    free(q->excl_ops);
    q->op_types = q->excl_nodes = q->excl_ops = NULL;
}

/* Replace *slot by the split list of s; the options point at the new one. */
static int set_list(char ***slot, const char *s, const char *opt)
{
    char **v = onnxq_cli_split_list(s);
    if (!v) {
        fprintf(stderr, "onnxq: error: out of memory for %s\n", opt);
        return -1;
    }
    free(*slot);
    *slot = v;
    return 1;
}

int onnxq_cli_quant_option(int argc, char **argv, int *i, struct onnxq_cli_quant *q)
{
    const char *a = argv[*i];
    bool v = *i + 1 < argc;
    int r = 1;
    if (strcmp(a, "--per-tensor") == 0) {
        q->qo.per_tensor = true;
    } else if (strcmp(a, "--reduce-range") == 0) {
        q->qo.reduce_range = true;
    } else if (!v) {
        return 0;
    } else if (strcmp(a, "--method") == 0) {
        struct onnxq_error err = {0};
        if (onnxq_calib_method_parse(argv[++*i], &q->qo.method, &err) != ONNXQ_OK) {
            fprintf(stderr, "onnxq: error: %s\n", err.message);
            return -1;
        }
    } else if (strcmp(a, "--activation-type") == 0) {
        const char *t = argv[++*i];
        if (strcmp(t, "uint8") == 0)
            q->qo.act_type = ONNXQ_QTYPE_UINT8;
        else if (strcmp(t, "int8") == 0)
            q->qo.act_type = ONNXQ_QTYPE_INT8;
        else {
            fprintf(stderr, "onnxq: error: --activation-type takes uint8 or int8\n");
            return -1;
        }
    } else if (strcmp(a, "--placement") == 0) {
        const char *t = argv[++*i];
        if (strcmp(t, "auto") == 0)
            q->qo.placement = ONNXQ_PLACEMENT_AUTO;
        else if (strcmp(t, "full") == 0)
            q->qo.placement = ONNXQ_PLACEMENT_FULL;
        else {
            fprintf(stderr, "onnxq: error: --placement takes auto or full\n");
            return -1;
        }
    } else if (strcmp(a, "--op-types") == 0) {
        r = set_list(&q->op_types, argv[++*i], a);
    } else if (strcmp(a, "--exclude-nodes") == 0) {
        r = set_list(&q->excl_nodes, argv[++*i], a);
    } else if (strcmp(a, "--exclude-op-types") == 0) {
        r = set_list(&q->excl_ops, argv[++*i], a);
    } else if (strcmp(a, "--bins") == 0) {
        q->bins = (uint32_t)strtoul(argv[++*i], NULL, 10);
    } else if (strcmp(a, "--percentile") == 0) {
        q->params.percentile = strtod(argv[++*i], NULL);
    } else {
        return 0;
    }
    q->qo.op_types = (const char *const *)q->op_types;
    q->qo.exclude_nodes = (const char *const *)q->excl_nodes;
    q->qo.exclude_op_types = (const char *const *)q->excl_ops;
    return r;
}
