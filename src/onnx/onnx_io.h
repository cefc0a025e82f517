/* Internal entry points of the ONNX loader and saver. */
#ifndef ONNXQ_ONNX_IO_H
#define ONNXQ_ONNX_IO_H

#include "ir/graph.h"

enum onnxq_status onnxq_load_internal(struct onnxq_context *ctx, const void *data, size_t size,
                                      const char *base_dir, const char *name, struct onnxq_model **out,
                                      struct onnxq_error *err);

/* Serialise the model into memory (no external data). *out is malloc'd. */
enum onnxq_status onnxq_model_serialize(const struct onnxq_model *m, uint8_t **out, size_t *size,
                                        struct onnxq_error *err);

#endif
