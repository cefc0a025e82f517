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

/* Run a suite with CK_NORMAL output and return the process exit code. */
int tu_run_suite(Suite *s);

#endif
