/* A small fixed-size thread pool for parallel loops. The caller's thread
 * takes part, so a pool of N threads starts N-1 workers. */
#ifndef ONNXQ_CORE_THREADPOOL_H
#define ONNXQ_CORE_THREADPOOL_H

#include <stddef.h>

struct onnxq_threadpool;

typedef void (*onnxq_task_fn)(void *arg, size_t begin, size_t end);

/* NULL on failure (then run loops inline). threads <= 1 gives a pool with
 * no workers. */
struct onnxq_threadpool *onnxq_threadpool_new(int threads);
void onnxq_threadpool_free(struct onnxq_threadpool *p);
int onnxq_threadpool_size(const struct onnxq_threadpool *p);

/* Split [0, n) into at most size() contiguous chunks of >= min_chunk items
 * and run fn on them in parallel; returns when all are done. Not reentrant:
 * a task must not call back into the same pool (nested calls run inline). */
void onnxq_threadpool_run(struct onnxq_threadpool *p, size_t n, size_t min_chunk, onnxq_task_fn fn, void *arg);

/* Background run: fn(arg, i, i + 1) for every i < n on the workers only,
 * returning at once, so that the caller can do other work meanwhile (the
 * calibration observer bins while the next sample is decoded). Until
 * onnxq_threadpool_wait returns, runs on the pool go inline. A pool
 * without workers runs everything inline here. At most one background run
 * at a time; wait must be called before the next start and before free. */
void onnxq_threadpool_start(struct onnxq_threadpool *p, size_t n, onnxq_task_fn fn, void *arg);
void onnxq_threadpool_wait(struct onnxq_threadpool *p);

#endif
