/**
 * @file onnxq.h
 * @brief Public API of onnxq, an ONNX post-training quantizer.
 *
 * Conventions that hold for every function in this header:
 *  - Fallible calls return an ::onnxq_status. When the caller passes a
 *    non-NULL ::onnxq_error it is filled with the same code and a message
 *    that names the file, node or tensor at fault.
 *  - Out-parameters are written only when the call returns ::ONNXQ_OK.
 *  - Objects returned through an out-parameter are owned by the caller and
 *    released with the matching *_free function. Every *_free accepts NULL.
 *  - Nothing here aborts on bad user input.
 */
#ifndef ONNXQ_ONNXQ_H
#define ONNXQ_ONNXQ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define ONNXQ_API __attribute__((visibility("default")))
#else
#define ONNXQ_API
#endif

/** Status codes of all fallible calls. */
enum onnxq_status {
    ONNXQ_OK = 0,            /**< Success. */
    ONNXQ_E_INVALID_ARG,     /**< A caller-side argument is wrong (NULL, bad option). */
    ONNXQ_E_IO,              /**< A file could not be opened, read or written. */
    ONNXQ_E_PARSE,           /**< Bytes are not a valid (or complete) protobuf/file format. */
    ONNXQ_E_INVALID_MODEL,   /**< The model parses but breaks an ONNX rule. */
    ONNXQ_E_UNSUPPORTED,     /**< Valid, but uses something onnxq does not implement. */
    ONNXQ_E_SHAPE,           /**< Shapes or dtypes disagree. */
    ONNXQ_E_DATA,            /**< Bad data values (NaN-only tensor, empty dataset...). */
    ONNXQ_E_NOMEM,           /**< An allocation failed. */
    ONNXQ_E_INTERNAL,        /**< A bug in onnxq. Please report it. */
    ONNXQ_STATUS_COUNT
};

/** Maximum length, including the terminating NUL, of an error message. */
#define ONNXQ_ERROR_MESSAGE_MAX 1024

/**
 * Error details, provided by the caller (usually on the stack).
 * Functions fill it only on failure; on success it is left untouched.
 */
struct onnxq_error {
    enum onnxq_status code;                 /**< Same value the call returned. */
    char message[ONNXQ_ERROR_MESSAGE_MAX];  /**< NUL-terminated, human readable. */
};

/** Short constant name of a status, e.g. "ONNXQ_E_IO". Never NULL. */
ONNXQ_API const char *onnxq_status_name(enum onnxq_status status);

/** Library version string, e.g. "0.1.0". Static storage. */
ONNXQ_API const char *onnxq_version(void);

/* ------------------------------------------------------------------------ */
/* Context                                                                   */
/* ------------------------------------------------------------------------ */

/**
 * Per-user settings: thread count, log level. There is no global state;
 * every model and executor takes its settings from a context.
 * A context must outlive the objects created with it.
 */
struct onnxq_context;

/** Log levels; messages at or below the context's level are printed. */
enum onnxq_log_level {
    ONNXQ_LOG_QUIET = 0,
    ONNXQ_LOG_ERROR,
    ONNXQ_LOG_WARN,
    ONNXQ_LOG_INFO,
    ONNXQ_LOG_DEBUG,
    ONNXQ_LOG_LEVEL_COUNT
};

/**
 * Create a context with defaults: threads = number of online cores,
 * log level WARN, log output stderr.
 * @param[out] out  receives the new context; free it with onnxq_context_free().
 */
ONNXQ_API enum onnxq_status onnxq_context_new(struct onnxq_context **out,
                                              struct onnxq_error *err);

/** Release a context. Accepts NULL. */
ONNXQ_API void onnxq_context_free(struct onnxq_context *ctx);

/** Set the thread count (>= 1) used by kernels run under this context. */
ONNXQ_API enum onnxq_status onnxq_context_set_threads(struct onnxq_context *ctx, int threads,
                                                      struct onnxq_error *err);

/** Current thread count of the context. */
ONNXQ_API int onnxq_context_threads(const struct onnxq_context *ctx);

/** Set the log level. */
ONNXQ_API void onnxq_context_set_log_level(struct onnxq_context *ctx, enum onnxq_log_level level);

/* ------------------------------------------------------------------------ */
/* Models                                                                    */
/* ------------------------------------------------------------------------ */

/**
 * An ONNX model held in onnxq's graph IR. Opaque.
 * Initializers are decoded (external data included) when the model loads.
 */
struct onnxq_model;

/**
 * Load and validate an ONNX model file.
 *
 * External data is resolved relative to the folder that holds @p path;
 * absolute locations and locations that escape that folder are refused.
 * The model is validated: every node input must be produced, output names
 * must be unique, the graph must be acyclic and every initializer's data
 * size must match its dims.
 *
 * @param ctx   context (not NULL); must outlive the model.
 * @param path  model file.
 * @param[out] out  the model, owned by the caller (onnxq_model_free()).
 * @return ONNXQ_OK, or ONNXQ_E_IO / ONNXQ_E_PARSE / ONNXQ_E_INVALID_MODEL /
 *         ONNXQ_E_UNSUPPORTED with a message naming the file and the fault.
 */
ONNXQ_API enum onnxq_status onnxq_model_load(struct onnxq_context *ctx, const char *path,
                                             struct onnxq_model **out, struct onnxq_error *err);

/**
 * Load a model from a memory buffer. The buffer is only read during the
 * call; the model keeps no reference to it.
 * @param base_dir  folder for external data, or NULL to refuse external data.
 * @param name      name used in error messages (e.g. a file name), or NULL.
 */
ONNXQ_API enum onnxq_status onnxq_model_load_buffer(struct onnxq_context *ctx, const void *data,
                                                    size_t size, const char *base_dir,
                                                    const char *name, struct onnxq_model **out,
                                                    struct onnxq_error *err);

/** Options of onnxq_model_save(). Zero-initialise for the defaults. */
struct onnxq_save_options {
    /** Initializers with at least this many bytes go to the external data
     *  file; 0 keeps everything inside the model file. */
    size_t external_threshold;
    /** File name of the external data, relative to the model's folder.
     *  NULL means "<model file name>.data". Must not contain '/'. */
    const char *external_file;
};

/**
 * Write the model as an ONNX file. The file (and its external data file)
 * is written to a temporary name in the same folder and renamed into place,
 * so a failed save never leaves a half-written file behind.
 * @param opts  may be NULL for the defaults.
 */
ONNXQ_API enum onnxq_status onnxq_model_save(const struct onnxq_model *model, const char *path,
                                             const struct onnxq_save_options *opts,
                                             struct onnxq_error *err);

/** Release a model. Accepts NULL. */
ONNXQ_API void onnxq_model_free(struct onnxq_model *model);

/** Flags of onnxq_model_describe(). */
enum onnxq_describe_flags {
    ONNXQ_DESCRIBE_TEXT = 0,   /**< Human readable text. */
    ONNXQ_DESCRIBE_JSON = 1    /**< One JSON object. */
};

/**
 * Print a summary of the model: IR version, opsets, producer, inputs and
 * outputs with dtypes and shapes (symbolic dims by name), node count and
 * op-type histogram, initializer count and bytes, subgraph count and
 * external data files.
 */
ONNXQ_API enum onnxq_status onnxq_model_describe(const struct onnxq_model *model, FILE *out,
                                                 unsigned flags, struct onnxq_error *err);

#ifdef __cplusplus
}
#endif

#endif /* ONNXQ_ONNXQ_H */
