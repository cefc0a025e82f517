#include "core/threadpool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct onnxq_threadpool {
    int size;          /* threads including the caller */
    pthread_t *workers;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    pthread_cond_t done;
    unsigned long generation;
    bool stop;
    bool busy;         /* a run is in progress: nested runs go inline */
    bool background;   /* the run in progress was started by onnxq_threadpool_start */
    /* current job */
    onnxq_task_fn fn;
    void *arg;
    size_t n, chunk, nchunks;
    size_t next;       /* next chunk index to hand out */
    size_t finished;   /* chunks finished */
};

static bool take_chunk(struct onnxq_threadpool *p, size_t *b, size_t *e)
{
    if (p->next >= p->nchunks)
        return false;
    size_t c = p->next++;
    *b = c * p->chunk;
    *e = *b + p->chunk < p->n ? *b + p->chunk : p->n;
    return true;
}

static void *worker_main(void *arg)
{
    struct onnxq_threadpool *p = arg;
    unsigned long seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->generation == seen)
            pthread_cond_wait(&p->wake, &p->mu);
        if (p->stop)
            break;
        seen = p->generation;
        size_t b, e;
        while (take_chunk(p, &b, &e)) {
            pthread_mutex_unlock(&p->mu);
            p->fn(p->arg, b, e);
            pthread_mutex_lock(&p->mu);
            if (++p->finished == p->nchunks)
                pthread_cond_signal(&p->done);
        }
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

struct onnxq_threadpool *onnxq_threadpool_new(int threads)
{
    struct onnxq_threadpool *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->size = threads < 1 ? 1 : threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    if (p->size > 1) {
        p->workers = calloc((size_t)p->size - 1, sizeof(pthread_t));
        if (!p->workers) {
            p->size = 1;
            return p;
        }
        for (int i = 0; i < p->size - 1; i++) {
            if (pthread_create(&p->workers[i], NULL, worker_main, p) != 0) {
                p->size = i + 1;  /* run with the workers we got */
                break;
            }
        }
    }
    return p;
}

void onnxq_threadpool_free(struct onnxq_threadpool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->size - 1; i++)
        pthread_join(p->workers[i], NULL);
    free(p->workers);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    free(p);
}

int onnxq_threadpool_size(const struct onnxq_threadpool *p)
{
    return p ? p->size : 1;
}

void onnxq_threadpool_run(struct onnxq_threadpool *p, size_t n, size_t min_chunk, onnxq_task_fn fn, void *arg)
{
    if (!n)
        return;
    if (min_chunk < 1)
        min_chunk = 1;
    if (!p || p->size <= 1 || n < 2 * min_chunk) {
        fn(arg, 0, n);
        return;
    }
    pthread_mutex_lock(&p->mu);
    if (p->busy) {
        pthread_mutex_unlock(&p->mu);
        fn(arg, 0, n);
        return;
    }
    size_t parts = (size_t)p->size;
    if (n / min_chunk < parts)
        parts = n / min_chunk;
    p->busy = true;
    p->fn = fn;
    p->arg = arg;
    p->n = n;
    p->chunk = (n + parts - 1) / parts;
    p->nchunks = (n + p->chunk - 1) / p->chunk;
    p->next = 0;
    p->finished = 0;
    p->generation++;
    pthread_cond_broadcast(&p->wake);
    size_t b, e;
    while (take_chunk(p, &b, &e)) {
        pthread_mutex_unlock(&p->mu);
        fn(arg, b, e);
        pthread_mutex_lock(&p->mu);
        ++p->finished;
    }
    while (p->finished < p->nchunks)
        pthread_cond_wait(&p->done, &p->mu);
    p->busy = false;
    pthread_mutex_unlock(&p->mu);
}

void onnxq_threadpool_start(struct onnxq_threadpool *p, size_t n, onnxq_task_fn fn, void *arg)
{
    if (!n)
        return;
    if (!p || p->size <= 1) {
        for (size_t i = 0; i < n; i++)
            fn(arg, i, i + 1);
        return;
    }
    pthread_mutex_lock(&p->mu);
    if (p->busy) { /* called from a task, or twice: inline (documented misuse guard) */
        pthread_mutex_unlock(&p->mu);
        for (size_t i = 0; i < n; i++)
            fn(arg, i, i + 1);
        return;
    }
    p->busy = true;
    p->background = true;
    p->fn = fn;
    p->arg = arg;
    p->n = n;
    p->chunk = 1;
    p->nchunks = n;
    p->next = 0;
    p->finished = 0;
    p->generation++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
}

void onnxq_threadpool_wait(struct onnxq_threadpool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    if (p->background) {
        while (p->finished < p->nchunks)
            pthread_cond_wait(&p->done, &p->mu);
        p->background = false;
        p->busy = false;
    }
    pthread_mutex_unlock(&p->mu);
}
