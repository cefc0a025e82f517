/* FP32 vs INT8 model comparison: `onnxq compare`, and the per-layer data of
 * the HTML report.
 *
 * Both models run in onnxq's executor on the same samples (QDQ nodes
 * execute as real QuantizeLinear / DequantizeLinear). Metrics are the
 * streaming accumulators of eval/metrics.h, so memory does not grow with
 * the sample count: per sample, the FP32 run keeps a copy of each matched
 * float activation, and the INT8 run folds its counterpart into the
 * tensor's accumulator as soon as it is computed. Peak memory is thus about
 * the sum of one sample's float activations (PP-OCR det at 640x640: 544 MB
 * RSS, against 91 MB for `onnxq run`). Only the main graph's values are
 * measured (If/Loop bodies are not).
 *
 * Matching an FP32 tensor T (a float node output of the main graph, or a
 * graph input that the INT8 model quantizes) to its counterpart in the INT8
 * model, first rule that applies:
 *  1. DQ:       the INT8 graph has DequantizeLinear(QuantizeLinear(T)) (T
 *               not an initializer): the counterpart is that DQ output,
 *               what T's INT8 consumers read. T is `quantized`. (Float
 *               consumers may read the INT8 model's T itself: has_pre.)
 *  2. SAME:     the INT8 graph has a value named T (produced by a node, or
 *               a graph input): T itself.
 *  3. PRODUCER: T's FP32 producer node (same node name and op type) exists
 *               in the INT8 graph: its output in the same slot. This finds
 *               tensors the rewriter renamed, e.g. a Relu folded into its
 *               Conv makes the Conv write the Relu's name.
 *  4. otherwise T is listed as unmatched.
 * The name pairs (name -> int8_name) are the FP32 -> INT8 name mapping.
 * Graph outputs are matched by name (by position when the two models have
 * the same number of outputs and some name differs).
 *
 * Class scores (top-1 agreement reported for a graph output): the last axis
 * has >= 2 values and either every FP32 row along it, in every sample, is a
 * probability distribution (values in [0, 1], sum within 1e-3 of 1: a
 * softmax output), or the output is 2-D [N, C] (classifier logits). Other
 * outputs (probability maps, regressions, embeddings of higher rank) get
 * no top-1. */
#ifndef ONNXQ_EVAL_COMPARE_H
#define ONNXQ_EVAL_COMPARE_H

#include <stdbool.h>
#include <stddef.h>

#include "calibration/dataset.h"
#include "eval/metrics.h"
#include "ir/graph.h"
#include "onnxq/onnxq.h"

struct json_object;

enum onnxq_compare_match {
    ONNXQ_MATCH_DQ = 0,   /* DequantizeLinear(QuantizeLinear(T)) output */
    ONNXQ_MATCH_SAME,     /* the INT8 value of the same name */
    ONNXQ_MATCH_PRODUCER, /* the same node's output slot, renamed */
    ONNXQ_MATCH_COUNT
};

/* "dq", "same", "producer" */
extern const char *const onnxq_compare_match_names[ONNXQ_MATCH_COUNT];

/* Default for onnxq_compare_options.tensor_memory: 1 GiB */
#define ONNXQ_COMPARE_TENSOR_MEMORY ((size_t)1 << 30)

struct onnxq_compare_options {
    bool tensors;  /* per-tensor metrics (default true); false = outputs only */
    bool quiet;    /* no progress lines on stderr */
    /* FP32 activations held at once for the per-tensor metrics, in bytes
     * (0: ONNXQ_COMPARE_TENSOR_MEMORY). When one sample's take more, each
     * sample runs again, both models, once per group of tensors that fits:
     * the same metrics, bounded memory, more time. */
    size_t tensor_memory;
};

void onnxq_compare_options_init(struct onnxq_compare_options *o);

struct onnxq_compare_tensor {
    char *name;       /* tensor of the (prepared) FP32 model */
    char *int8_name;  /* its counterpart in the INT8 model */
    char *node;       /* FP32 producer node name ("" if unnamed or a graph input) */
    char *op_type;    /* FP32 producer op type ("" for a graph input) */
    size_t order;     /* position of the producer in the FP32 model's node list (graph inputs: 0) */
    enum onnxq_compare_match match;
    bool quantized;   /* counterpart is a DequantizeLinear output (match DQ) */
    bool renamed;     /* int8_name differs from name */
    bool is_output;   /* a graph output of the FP32 model */
    size_t shape_mismatch;  /* samples where the two element counts differed (left out) */
    struct onnxq_fidelity fid;
    double sqnr_db;   /* from fid: +inf identical, -inf when the FP32 tensor was all zero */
    double cosine;
    double max_abs;
    /* Quantized tensors (match DQ) whose INT8 model also holds the value
     * before its Q/DQ (the Q node's input, e.g. what float readers see):
     * the same metrics for that value. The gap sqnr_pre_db - sqnr_db is
     * the error this tensor's own quantization adds; sqnr_pre_db is what
     * it inherits from upstream. has_pre false otherwise. */
    bool has_pre;
    char *pre_name;   /* INT8 name of that value ("" when has_pre is false) */
    struct onnxq_fidelity fid_pre;
    double sqnr_pre_db;
};

struct onnxq_compare_output {
    char *name;       /* FP32 graph output */
    char *int8_name;  /* INT8 graph output compared with it */
    bool scores;      /* looks like class scores (rule above): top1 is set */
    struct onnxq_fidelity fid;
    double sqnr_db, cosine, max_abs;
    double top1;      /* share of rows with the same argmax, or -1 when not scores */
};

struct onnxq_compare_result {
    char *fp32_path, *int8_path;  /* model paths as given (may be "") */
    size_t samples;               /* samples compared */
    char source[256];             /* dataset description */
    size_t n_outputs;
    struct onnxq_compare_output *outputs;  /* FP32 graph output order */
    size_t n_tensors;
    struct onnxq_compare_tensor *tensors;  /* FP32 execution order */
    size_t n_quantized;           /* tensors with quantized = true */
    size_t n_unmatched;
    char **unmatched;             /* FP32 float activations without a counterpart */
    double seconds_fp32, seconds_int8;  /* executor time, all samples (first run of each) */
    size_t runs_per_sample;       /* runs of each model a sample: > 1 when the per-tensor
                                   * copies exceeded tensor_memory */
};

/* Compare two loaded models. `fp32` should be the model the quantizer saw,
 * i.e. after onnxq_quant_prepare (onnxq_compare_files does that), so that
 * tensor names line up. Both models and ctx must outlive the call only.
 * Fails (naming the model and tensor) when the inputs differ in name,
 * element type or a fixed dim, when an FP32 output has no INT8
 * counterpart, or when the data does not fit the inputs. */
enum onnxq_status onnxq_compare_models(struct onnxq_context *ctx, const struct onnxq_model *fp32,
                                       const struct onnxq_model *int8, const char *data,
                                       const struct onnxq_dataset_options *dopts,
                                       const struct onnxq_compare_options *opts,
                                       struct onnxq_compare_result **out, struct onnxq_error *err);

/* Load both files, prepare the FP32 model as `onnxq quantize` does, and
 * compare. */
enum onnxq_status onnxq_compare_files(struct onnxq_context *ctx, const char *fp32_path, const char *int8_path,
                                      const char *data, const struct onnxq_dataset_options *dopts,
                                      const struct onnxq_compare_options *opts,
                                      struct onnxq_compare_result **out, struct onnxq_error *err);

/* Fill order[0..n_tensors) with tensor indices, worst first: ascending
 * SQNR (-inf first, +inf last), ties by execution order. */
void onnxq_compare_rank(const struct onnxq_compare_result *r, size_t *order);

/* The result as a JSON object (caller puts it), NULL on OOM. Non-finite
 * SQNR values are the strings "inf" / "-inf"; tensors are listed worst
 * first. Layout:
 *   {"fp32": path, "int8": path, "samples": n, "source": s,
 *    "outputs": [{"name", "int8_name", "sqnr_db", "cosine", "max_abs",
 *                 "values", "scores", "top1" (only when scores)}],
 *    "tensors": [{"name", "int8_name", "node", "op_type", "order", "match",
 *                 "quantized", "renamed", "output", "sqnr_db", "cosine",
 *                 "max_abs", "values", and with has_pre: "pre_name",
 *                 "sqnr_pre_db"}],
 *    "n_tensors", "n_quantized", "unmatched": [names],
 *    "seconds": {"fp32", "int8"}} */
struct json_object *onnxq_compare_json(const struct onnxq_compare_result *r);

void onnxq_compare_result_free(struct onnxq_compare_result *r);

#endif
