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

/* Decode a serialized TensorProto (an ONNX test-data .pb file). `what`
 * names the source in errors. *name receives a malloc'd copy of the
 * tensor's name (or NULL) when name is not NULL. */
enum onnxq_status onnxq_tensor_from_pb(const void *data, size_t size, const char *what, struct onnxq_tensor *out,
                                       char **name, struct onnxq_error *err);

/* Encode a tensor as a TensorProto with raw_data (typed strings). */
enum onnxq_status onnxq_tensor_to_pb(const struct onnxq_tensor *t, const char *name, uint8_t **out, size_t *size,
                                     struct onnxq_error *err);

#endif
