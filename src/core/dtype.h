/* Element types. The numeric values are ONNX's TensorProto.DataType, so a
 * dtype read from a model needs no translation. */
#ifndef ONNXQ_CORE_DTYPE_H
#define ONNXQ_CORE_DTYPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum onnxq_dtype {
    ONNXQ_DT_UNDEFINED = 0,
    ONNXQ_DT_FLOAT = 1,
    ONNXQ_DT_UINT8 = 2,
    ONNXQ_DT_INT8 = 3,
    ONNXQ_DT_UINT16 = 4,
    ONNXQ_DT_INT16 = 5,
    ONNXQ_DT_INT32 = 6,
    ONNXQ_DT_INT64 = 7,
    ONNXQ_DT_STRING = 8,
    ONNXQ_DT_BOOL = 9,
    ONNXQ_DT_FLOAT16 = 10,
    ONNXQ_DT_DOUBLE = 11,
    ONNXQ_DT_UINT32 = 12,
    ONNXQ_DT_UINT64 = 13,
    ONNXQ_DT_COMPLEX64 = 14,
    ONNXQ_DT_COMPLEX128 = 15,
    ONNXQ_DT_BFLOAT16 = 16,
    ONNXQ_DT_FLOAT8E4M3FN = 17,
    ONNXQ_DT_FLOAT8E4M3FNUZ = 18,
    ONNXQ_DT_FLOAT8E5M2 = 19,
    ONNXQ_DT_FLOAT8E5M2FNUZ = 20,
    ONNXQ_DT_COUNT
};

/* Which typed repeated field of TensorProto carries this dtype when a
 * tensor does not use raw_data. */
enum onnxq_proto_field {
    ONNXQ_PF_NONE = 0,
    ONNXQ_PF_FLOAT,   /* float_data */
    ONNXQ_PF_INT32,   /* int32_data, one element per entry (bit pattern for 16-bit floats) */
    ONNXQ_PF_STRING,  /* string_data */
    ONNXQ_PF_INT64,   /* int64_data */
    ONNXQ_PF_DOUBLE,  /* double_data */
    ONNXQ_PF_UINT64,  /* uint64_data */
};

struct onnxq_dtype_traits {
    const char *name;       /* ONNX spelling, e.g. "float", "int64" */
    size_t size;            /* bytes per element; 0 for undefined; string: sizeof(struct onnxq_bytes) */
    bool is_float;          /* floating point (incl. half, bfloat16, float8) */
    bool is_signed;
    bool is_integer;
    enum onnxq_proto_field field;
    unsigned field_per_elem;   /* entries of the typed field per element (2 for complex) */
};

/* Byte string element of STRING tensors. */
struct onnxq_bytes {
    size_t len;
    uint8_t *data;
};

extern const struct onnxq_dtype_traits onnxq_dtype_table[ONNXQ_DT_COUNT];

static inline bool onnxq_dtype_valid(int dt)
{
    return dt > ONNXQ_DT_UNDEFINED && dt < ONNXQ_DT_COUNT;
}

static inline size_t onnxq_dtype_size(enum onnxq_dtype dt)
{
    return onnxq_dtype_valid((int)dt) ? onnxq_dtype_table[dt].size : 0;
}

/* Name of a dtype, "undefined" or "dtype(N)" for invalid numbers (static
 * buffer is not used: invalid values all map to "invalid"). */
const char *onnxq_dtype_name(int dt);

float onnxq_half_to_float(uint16_t h);
uint16_t onnxq_float_to_half(float f);
float onnxq_bf16_to_float(uint16_t b);
uint16_t onnxq_float_to_bf16(float f);

#endif
