/* Per-node quantization sensitivity and the accuracy-budget float fallback
 * (`onnxq sensitivity`, `onnxq quantize --max-loss`).
 *
 * Everything starts from a prepared FP32 model (onnxq_quant_prepare), one
 * calibration table and the quantizer options. The quantizer's own plan
 * decides what is quantizable: the library quantizes a copy with those
 * options and reads back which nodes compute in INT8 (their data input is a
 * DequantizeLinear of a QuantizeLinear). A group is one such node plus the
 * nodes the rewriter folds into it (a Relu after a Conv): `exclude_nodes`
 * of the anchor keeps the whole group float.
 *
 * Each variant (a set of groups kept float) is built with
 * onnxq_quantize_model on a fresh copy of the prepared model and run in
 * onnxq's executor on an evaluation set held in memory; its outputs are
 * compared with the FP32 outputs of the same samples (computed once) by the
 * streaming metrics of eval/metrics.h, merged over every float graph output.
 *
 * Keeping a group float means what a user expects: the node computes in
 * float on float weights. The rewriter stores every Conv/Gemm/MatMul
 * weight as int8 whether or not the op computes in INT8, so the nodes it
 * places in float but whose weights it quantizes are groups too
 * (weight_only); keeping one float restores its FP32 weights (the file
 * grows by them). */
#ifndef ONNXQ_EVAL_SENSITIVITY_H
#define ONNXQ_EVAL_SENSITIVITY_H

#include <stdbool.h>
#include <stddef.h>

#include "calibration/dataset.h"
#include "calibration/table.h"
#include "eval/metrics.h"
#include "ir/graph.h"
#include "quant/quantize.h"

/* ------------------------------------------------------- evaluation set */

/* Samples and their FP32 reference outputs, in memory. */
struct onnxq_eval_set {
    size_t n_samples;   /* batches of the dataset (one sample each unless --batch) */
    size_t n_inputs, n_outputs;
    struct onnxq_tensor *inputs;  /* [n_samples * n_inputs] */
    struct onnxq_tensor *ref;     /* FP32 outputs, [n_samples * n_outputs] */
    double seconds;               /* decoding + FP32 runs */
};

/* Decode the first `count` samples (0 = all) of `data` (same shuffle as
 * calibration with the same options) and run the prepared FP32 model `m`
 * on them. */
enum onnxq_status onnxq_eval_set_load(struct onnxq_context *ctx, const struct onnxq_model *m, const char *data,
                                      const struct onnxq_dataset_options *dopts, size_t count,
                                      struct onnxq_eval_set *out, struct onnxq_error *err);
void onnxq_eval_set_clear(struct onnxq_eval_set *s);

/* --------------------------------------------------------------- groups */

struct onnxq_sens_group {
    char *node;     /* anchor node name: the exclude_nodes key */
    char *op_type;
    char *members;  /* the nodes the group covers, '+'-separated ("conv1+relu1") */
    bool weight_only;  /* computes in float anyway; only its weights were int8 */
};

/* ------------------------------------------------------------- session */

/* A prepared model + table + options + evaluation set, and the groups of
 * the quantizer's plan. Borrows t, qo and es (they must outlive it); copies
 * the model. Unnamed nodes of the copy get unique names ("onnxq_node_N")
 * so that every group can be excluded by name. */
struct onnxq_sens_session;

enum onnxq_status onnxq_sens_session_new(struct onnxq_context *ctx, const struct onnxq_model *prepared,
                                         const struct onnxq_calib_table *t, const struct onnxq_quant_options *qo,
                                         const struct onnxq_eval_set *es, struct onnxq_sens_session **out,
                                         struct onnxq_error *err);
void onnxq_sens_session_free(struct onnxq_sens_session *s);

/* Groups of the plan, in graph order. */
size_t onnxq_sens_n_groups(const struct onnxq_sens_session *s);
const struct onnxq_sens_group *onnxq_sens_group_at(const struct onnxq_sens_session *s, size_t i);
/* Index of the group whose anchor is `node`, or -1. */
long onnxq_sens_find_group(const struct onnxq_sens_session *s, const char *node);

/* Build the variant that keeps the groups of `float_nodes` (anchor names,
 * NULL-terminated, may be NULL) float, on top of the session options'
 * own exclusions. The caller frees the model. `r` may be NULL. */
enum onnxq_status onnxq_sens_build(struct onnxq_sens_session *s, const char *const *float_nodes,
                                   struct onnxq_model **out, struct onnxq_quant_report *r, struct onnxq_error *err);

/* Build and run a variant on the evaluation set; f receives the fidelity
 * over every float output (top-1 rows from outputs whose last axis is >= 2
 * long). */
enum onnxq_status onnxq_sens_measure(struct onnxq_sens_session *s, const char *const *float_nodes,
                                     struct onnxq_fidelity *f, struct onnxq_error *err);

/* Prefix cache on (default) or off (every variant runs whole; for checks). */
void onnxq_sens_set_prefix_cache(struct onnxq_sens_session *s, bool on);

/* Measure the all-but-this variants too (default on; off halves the work
 * and leaves the *_except fields NAN / -1). */
void onnxq_sens_set_except(struct onnxq_sens_session *s, bool on);

/* Number of executor runs and seconds spent so far (for reports). */
void onnxq_sens_stats(const struct onnxq_sens_session *s, size_t *runs, size_t *suffix_runs, double *seconds);

/* ---------------------------------------------------------- sensitivity */

struct onnxq_sens_entry {
    char *node;          /* anchor node name */
    char *op_type;
    char *members;       /* '+'-separated nodes of the group */
    size_t plan_index;   /* position among the groups in graph order */
    bool weight_only;    /* see struct onnxq_sens_group */
    /* output metrics over the evaluation set; SQNR in dB (+inf = identical
     * to FP32), top-1 agreement -1 when no output has class scores */
    double sqnr_only, cosine_only, top1_only;        /* only this group quantized */
    double sqnr_except, cosine_except, top1_except;  /* all but this group quantized (NAN / -1 when skipped) */
};

struct onnxq_sens_result {
    size_t n;
    struct onnxq_sens_entry *e;  /* ranked: most sensitive first */
    /* reference variants */
    double sqnr_all, cosine_all, top1_all;     /* every group quantized */
    double sqnr_none, cosine_none, top1_none;  /* every group float (int8 weights) */
    size_t samples;
    size_t runs;          /* executor runs of variants */
    double seconds;       /* wall time of the analysis (without the eval set) */
};

/* Measure every group both ways and rank. Ranking: by sqnr_only ascending
 * (the noise this group adds on its own), ties by sqnr_except descending
 * (what keeping it float recovers). `progress` (may be NULL) is called
 * after each group. */
typedef void (*onnxq_sens_progress_fn)(void *user, size_t done, size_t total);
enum onnxq_status onnxq_sensitivity_run(struct onnxq_sens_session *s, onnxq_sens_progress_fn progress, void *user,
                                        struct onnxq_sens_result *out, struct onnxq_error *err);
void onnxq_sens_result_clear(struct onnxq_sens_result *r);

/* ------------------------------------------------------ accuracy budget */

enum onnxq_loss_kind {
    ONNXQ_LOSS_SQNR = 0,  /* "sqnr>=DB": minimum output SQNR over the evaluation set */
    ONNXQ_LOSS_TOP1,      /* "top1<=P%" (or a fraction): maximum top-1 disagreement */
    ONNXQ_LOSS_METRIC,    /* "metric>=X" / "metric<=X": an external command's number */
    ONNXQ_LOSS_KIND_COUNT
};

struct onnxq_loss_spec {
    enum onnxq_loss_kind kind;
    bool higher_is_better;  /* >= (sqnr, metric>=) or <= (top1, metric<=) */
    double threshold;       /* dB, fraction 0..1 (top1), or the metric value */
};

/* Parse SPEC; errors say what is expected. */
enum onnxq_status onnxq_loss_spec_parse(const char *spec, struct onnxq_loss_spec *out, struct onnxq_error *err);
bool onnxq_loss_spec_met(const struct onnxq_loss_spec *spec, double value);
/* "sqnr>=30 dB", "top1<=0.5%", "metric>=0.97" */
void onnxq_loss_spec_format(const struct onnxq_loss_spec *spec, char *buf, size_t size);

/* External metric for ONNXQ_LOSS_METRIC: score one variant model. */
typedef enum onnxq_status (*onnxq_loss_metric_fn)(void *user, const struct onnxq_model *variant, double *value,
                                                  struct onnxq_error *err);

struct onnxq_maxloss_result {
    bool met;              /* false: even every group float misses the budget */
    size_t n_float;
    char **float_nodes;    /* anchors kept float, most sensitive first (NULL-terminated) */
    double metric;         /* value of the chosen variant (or of all-float when !met) */
    double metric_all;     /* every group quantized */
    double metric_none;    /* every group float; NAN when not evaluated */
    size_t evaluations;    /* variants scored */
    double seconds;        /* search, ranking included */
    /* the ranking the search computed when the caller gave none (n = 0
     * when steps 1-2 decided without one) */
    struct onnxq_sens_result ranking;
};

/* Keep the fewest groups float that meet `spec`: 1. try all quantized;
 * 2. else check that all-float meets it; 3. binary search the shortest
 * prefix of the ranking that meets it, 4. then drop prefix members one at
 * a time (least sensitive first) while the budget still holds. `ranking`
 * is a sensitivity result of this session; when NULL, the search runs
 * onnxq_sensitivity_run itself after steps 1-2 (only when needed; into
 * out->ranking, reporting to `progress`, which may be NULL). `metric` is
 * required for ONNXQ_LOSS_METRIC and ignored otherwise. A missed budget is
 * not an error: out->met tells. */
enum onnxq_status onnxq_max_loss_search(struct onnxq_sens_session *s, const struct onnxq_sens_result *ranking,
                                        const struct onnxq_loss_spec *spec, onnxq_loss_metric_fn metric, void *user,
                                        onnxq_sens_progress_fn progress, void *progress_user,
                                        struct onnxq_maxloss_result *out, struct onnxq_error *err);
void onnxq_maxloss_result_clear(struct onnxq_maxloss_result *r);

/* Metric value of a fidelity for a built-in spec kind: SQNR dB, or top-1
 * disagreement (fraction; fails when no output had class-score rows). */
enum onnxq_status onnxq_loss_value(const struct onnxq_loss_spec *spec, const struct onnxq_fidelity *f, double *value,
                                   struct onnxq_error *err);

#endif
