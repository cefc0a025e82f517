/* Monotonic wall clock for the timings onnxq reports (phases, samples/s). */
#ifndef ONNXQ_CORE_CLOCK_H
#define ONNXQ_CORE_CLOCK_H

#include <time.h>

/* Seconds on CLOCK_MONOTONIC (only differences are meaningful). */
static inline double onnxq_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
