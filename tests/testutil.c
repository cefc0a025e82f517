#include "testutil.h"

#include "core/context.h"

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *tu_env_dir(const char *var)
{
    const char *v = getenv(var);
    return v && *v ? v : NULL;
}

uint8_t *tu_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        return NULL;
    }
    long n = ftell(f);
    rewind(f);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf && n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf)
        *size = (size_t)n;
    return buf;
}

int tu_write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int rc = (size && fwrite(data, 1, size, f) != size) ? -1 : 0;
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

char *tu_mkdtemp(void)
{
    const char *base = getenv("TMPDIR");
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s/onnxq-test-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(buf))
        return NULL;
    return strdup(buf);
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void tu_rmtree(const char *dir)
{
    if (dir)
        nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

struct path_list {
    char **v;
    size_t n, cap;
};

static void find_rec(const char *dir, const char *name, struct path_list *pl)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        struct stat sb;
        if (stat(path, &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode)) {
            find_rec(path, name, pl);
        } else if (strcmp(e->d_name, name) == 0) {
            if (pl->n == pl->cap) {
                pl->cap = pl->cap ? pl->cap * 2 : 256;
                pl->v = realloc(pl->v, pl->cap * sizeof(char *));
            }
            pl->v[pl->n++] = strdup(path);
        }
    }
    closedir(d);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t tu_find_files(const char *root, const char *name, char ***out)
{
    struct path_list pl = {0};
    find_rec(root, name, &pl);
    if (pl.n)
        qsort(pl.v, pl.n, sizeof(char *), cmp_str);
    *out = pl.v;
    return pl.n;
}

void tu_free_paths(char **paths, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
}

int tu_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}

uint64_t tu_rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

double tu_urand(uint64_t *s, double lo, double hi)
{
    return lo + (hi - lo) * (double)(tu_rng_next(s) >> 11) / 9007199254740992.0;
}

int64_t tu_rand_int(uint64_t *s, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(tu_rng_next(s) % (uint64_t)(hi - lo + 1));
}

float tu_frand(uint64_t *s)
{
    return 2.0f * (float)(tu_rng_next(s) >> 40) / (float)(1 << 24) - 1.0f;
}

float *tu_rand_buf(uint64_t *s, size_t n, float a)
{
    float *p = malloc((n ? n : 1) * sizeof(float));
    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < n; i++)
        p[i] = a * tu_frand(s);
    return p;
}

struct onnxq_context *tu_ctx;

void tu_setup_ctx(void)
{
    struct onnxq_error err;
    ck_assert_int_eq(onnxq_context_new(&tu_ctx, &err), ONNXQ_OK);
}

void tu_teardown_ctx(void)
{
    onnxq_context_free(tu_ctx);
    tu_ctx = NULL;
}
