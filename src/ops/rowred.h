/* float32 reductions of one contiguous row, shared by the pooling,
 * normalization and softmax kernels (ops/nn.c) and the Reduce* kernels
 * (ops/reduce.c). Each keeps 8 independent accumulators so the compiler
 * vectorises without reassociating a single chain; the result therefore
 * differs from a left-to-right sum by rounding only (the float64 reference
 * kernels are the plain loops). */
#ifndef ONNXQ_OPS_ROWRED_H
#define ONNXQ_OPS_ROWRED_H

#include <math.h>
#include <stddef.h>

/* plain static (not inline: the compiler decides as it did for the
 * file-local copies these replace); unused in a file that needs only some */
#define ONNXQ_ROW_UNUSED __attribute__((unused))

/* float NAME(const float *x, size_t n EXTRA): sum over i of TERM, where
 * TERM reads the element as v. */
#define ONNXQ_ROW_SUM8(NAME, EXTRA, TERM) \
    ONNXQ_ROW_UNUSED static float NAME(const float *x, size_t n EXTRA) \
    { \
        float a[8] = {0}; \
        size_t i = 0; \
        for (; i + 8 <= n; i += 8) \
            for (int j = 0; j < 8; j++) { \
                const float v = x[i + j]; \
                a[j] += (TERM); \
            } \
        float s = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7])); \
        for (; i < n; i++) { \
            const float v = x[i]; \
            s += (TERM); \
        } \
        return s; \
    }

/* float NAME(const float *x, size_t n): the element v with v OP m over the
 * running value m (> max, < min), starting from INIT. */
#define ONNXQ_ROW_EXTREME8(NAME, OP, INIT) \
    ONNXQ_ROW_UNUSED static float NAME(const float *x, size_t n) \
    { \
        float a[8] = {INIT, INIT, INIT, INIT, INIT, INIT, INIT, INIT}; \
        size_t i = 0; \
        for (; i + 8 <= n; i += 8) \
            for (int j = 0; j < 8; j++) \
                a[j] = x[i + j] OP a[j] ? x[i + j] : a[j]; \
        float m = a[0]; \
        for (int j = 1; j < 8; j++) \
            m = a[j] OP m ? a[j] : m; \
        for (; i < n; i++) \
            m = x[i] OP m ? x[i] : m; \
        return m; \
    }

#define ONNXQ_ROW_COMMA ,

ONNXQ_ROW_SUM8(sum_f32, , v)
ONNXQ_ROW_SUM8(sumabs_f32, , fabsf(v))
ONNXQ_ROW_SUM8(sumsq_f32, , v * v)
/* sum of (x - m)^2 */
ONNXQ_ROW_SUM8(sumsqdev_f32, ONNXQ_ROW_COMMA float m, (v - m) * (v - m))
ONNXQ_ROW_EXTREME8(max_f32, >, -INFINITY)
ONNXQ_ROW_EXTREME8(min_f32, <, INFINITY)

#undef ONNXQ_ROW_COMMA
#undef ONNXQ_ROW_UNUSED
#undef ONNXQ_ROW_EXTREME8
#undef ONNXQ_ROW_SUM8

#endif
