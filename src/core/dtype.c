#include "core/dtype.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#define DT(n, sz, flt, sgn, intg, fld, per) \
    { .name = n, .size = sz, .is_float = flt, .is_signed = sgn, .is_integer = intg, .field = fld, .field_per_elem = per }

const struct onnxq_dtype_traits onnxq_dtype_table[ONNXQ_DT_COUNT] = {
    [ONNXQ_DT_UNDEFINED] = DT("undefined", 0, false, false, false, ONNXQ_PF_NONE, 0),
    [ONNXQ_DT_FLOAT] = DT("float", 4, true, true, false, ONNXQ_PF_FLOAT, 1),
    [ONNXQ_DT_UINT8] = DT("uint8", 1, false, false, true, ONNXQ_PF_INT32, 1),
    [ONNXQ_DT_INT8] = DT("int8", 1, false, true, true, ONNXQ_PF_INT32, 1),
    [ONNXQ_DT_UINT16] = DT("uint16", 2, false, false, true, ONNXQ_PF_INT32, 1),
    [ONNXQ_DT_INT16] = DT("int16", 2, false, true, true, ONNXQ_PF_INT32, 1),
    [ONNXQ_DT_INT32] = DT("int32", 4, false, true, true, ONNXQ_PF_INT32, 1),
    [ONNXQ_DT_INT64] = DT("int64", 8, false, true, true, ONNXQ_PF_INT64, 1),
    [ONNXQ_DT_STRING] = DT("string", sizeof(struct onnxq_bytes), false, false, false, ONNXQ_PF_STRING, 1),
    [ONNXQ_DT_BOOL] = DT("bool", 1, false, false, false, ONNXQ_PF_INT32, 1),
    [ONNXQ_DT_FLOAT16] = DT("float16", 2, true, true, false, ONNXQ_PF_INT32, 1),
    [ONNXQ_DT_DOUBLE] = DT("double", 8, true, true, false, ONNXQ_PF_DOUBLE, 1),
    [ONNXQ_DT_UINT32] = DT("uint32", 4, false, false, true, ONNXQ_PF_UINT64, 1),
    [ONNXQ_DT_UINT64] = DT("uint64", 8, false, false, true, ONNXQ_PF_UINT64, 1),
    [ONNXQ_DT_COMPLEX64] = DT("complex64", 8, false, true, false, ONNXQ_PF_FLOAT, 2),
    [ONNXQ_DT_COMPLEX128] = DT("complex128", 16, false, true, false, ONNXQ_PF_DOUBLE, 2),
    [ONNXQ_DT_BFLOAT16] = DT("bfloat16", 2, true, true, false, ONNXQ_PF_INT32, 1),
    [ONNXQ_DT_FLOAT8E4M3FN] = DT("float8e4m3fn", 1, true, true, false, ONNXQ_PF_INT32, 1),
    [ONNXQ_DT_FLOAT8E4M3FNUZ] = DT("float8e4m3fnuz", 1, true, true, false, ONNXQ_PF_INT32, 1),
    [ONNXQ_DT_FLOAT8E5M2] = DT("float8e5m2", 1, true, true, false, ONNXQ_PF_INT32, 1),
    [ONNXQ_DT_FLOAT8E5M2FNUZ] = DT("float8e5m2fnuz", 1, true, true, false, ONNXQ_PF_INT32, 1),
};
static_assert(sizeof(onnxq_dtype_table) / sizeof(onnxq_dtype_table[0]) == ONNXQ_DT_COUNT,
              "dtype table must cover every dtype");

const char *onnxq_dtype_name(int dt)
{
    if (dt >= 0 && dt < ONNXQ_DT_COUNT)
        return onnxq_dtype_table[dt].name;
    return "invalid";
}

/* IEEE half <-> float, handling subnormals, inf and NaN exactly. */
float onnxq_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t mant = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else {
            /* subnormal: value = mant * 2^-24 */
            float v = (float)mant * 5.9604644775390625e-08f;
            memcpy(&bits, &v, 4);
            bits |= sign;
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 112) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t onnxq_float_to_half(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t absx = x & 0x7fffffffu;
    if (absx >= 0x7f800000u) /* inf or nan */
        return (uint16_t)(sign | 0x7c00u | (absx > 0x7f800000u ? 0x200u | ((absx >> 13) & 0x3ffu) : 0));
    if (absx >= 0x477ff000u) /* rounds to >= 65520: overflow to inf */
        return (uint16_t)(sign | 0x7c00u);
    if (absx < 0x38800000u) {
        /* result is subnormal or zero: round to nearest even on 2^-24 units */
        float a;
        memcpy(&a, &absx, 4);
        float scaled = a * 16777216.0f; /* a / 2^-24 */
        float r = nearbyintf(scaled);  /* default rounding mode: nearest even */
        return (uint16_t)(sign | (uint16_t)r);
    }
    /* normal: rebias exponent, round mantissa to nearest even */
    uint32_t mant_odd = (absx >> 13) & 1u;
    absx += 0xc8000fffu + mant_odd; /* -(112<<23) + rounding bias */
    return (uint16_t)(sign | (absx >> 13));
}

float onnxq_bf16_to_float(uint16_t b)
{
    uint32_t bits = (uint32_t)b << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t onnxq_float_to_bf16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((x >> 16) | 0x40u); /* quiet NaN */
    uint32_t lsb = (x >> 16) & 1u;
    x += 0x7fffu + lsb;
    return (uint16_t)(x >> 16);
}
