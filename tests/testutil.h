/* Helpers shared by the Check suites. */
#ifndef ONNXQ_TESTUTIL_H
#define ONNXQ_TESTUTIL_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "onnxq/onnxq.h"

/* Directory from an environment variable set by tests/meson.build, or NULL. */
const char *tu_env_dir(const char *var);

/* Read a whole file (malloc'd); NULL on failure. */
uint8_t *tu_read_file(const char *path, size_t *size);
/* Write bytes to a file; 0 on success. */
int tu_write_file(const char *path, const void *data, size_t size);

/* Fresh private temp directory (malloc'd path), removed by tu_rmtree. */
char *tu_mkdtemp(void);
void tu_rmtree(const char *dir);

/* Collect every file named `name` below root, sorted (malloc'd array of
 * malloc'd paths). Returns the count. */
size_t tu_find_files(const char *root, const char *name, char ***out);
void tu_free_paths(char **paths, size_t n);

/* xorshift64 (13, 7, 17) step: the tests' reproducible random source. */
uint64_t tu_rng_next(uint64_t *s);
/* uniform double in [lo, hi) (53 random bits) */
double tu_urand(uint64_t *s, double lo, double hi);
/* integer in [lo, hi] (modulo draw) */
int64_t tu_rand_int(uint64_t *s, int64_t lo, int64_t hi);
/* uniform float in [-1, 1) (24 random bits) */
float tu_frand(uint64_t *s);
/* malloc'd buffer of n floats uniform in [-a, a) (a * tu_frand) */
float *tu_rand_buf(uint64_t *s, size_t n, float a);

/* A context made by tu_setup_ctx and freed by tu_teardown_ctx (Check
 * fixture functions take no arguments, hence a global). */
extern struct onnxq_context *tu_ctx;
void tu_setup_ctx(void);
void tu_teardown_ctx(void);

/* Run a suite with CK_NORMAL output and return the process exit code. */
int tu_run_suite(Suite *s);

#endif
