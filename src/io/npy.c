#include "io/npy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"

static const struct {
    const char *descr;
    enum onnxq_dtype dtype;
} npy_types[] = {
    {"f4", ONNXQ_DT_FLOAT}, {"f8", ONNXQ_DT_DOUBLE}, {"f2", ONNXQ_DT_FLOAT16}, {"i1", ONNXQ_DT_INT8},
    {"u1", ONNXQ_DT_UINT8}, {"i2", ONNXQ_DT_INT16},  {"u2", ONNXQ_DT_UINT16},  {"i4", ONNXQ_DT_INT32},
    {"u4", ONNXQ_DT_UINT32}, {"i8", ONNXQ_DT_INT64}, {"u8", ONNXQ_DT_UINT64}, {"b1", ONNXQ_DT_BOOL},
};

/* Find `'key':` in the header dict and return a pointer just past the colon. */
static const char *dict_value(const char *hdr, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "'%s'", key);
    const char *p = strstr(hdr, pat);
    if (!p) {
        snprintf(pat, sizeof(pat), "\"%s\"", key);
        p = strstr(hdr, pat);
    }
    if (!p)
        return NULL;
    p = strchr(p + strlen(pat), ':');
    if (!p)
        return NULL;
    p++;
    while (*p == ' ')
        p++;
    return p;
}

enum onnxq_status onnxq_npy_decode(const uint8_t *data, size_t size, const char *what, struct onnxq_tensor *out,
                                   struct onnxq_error *err)
{
    if (size < 10 || memcmp(data, "\x93NUMPY", 6) != 0)
        return onnxq_fail(err, ONNXQ_E_PARSE, "%s: not a .npy file (bad magic)", what);
    unsigned major = data[6];
    size_t hlen, hoff;
    if (major == 1) {
        hlen = (size_t)data[8] | ((size_t)data[9] << 8);
        hoff = 10;
    } else if (major == 2 || major == 3) {
        if (size < 12)
            return onnxq_fail(err, ONNXQ_E_PARSE, "%s: truncated .npy header", what);
        hlen = (size_t)data[8] | ((size_t)data[9] << 8) | ((size_t)data[10] << 16) | ((size_t)data[11] << 24);
        hoff = 12;
    } else {
        return onnxq_fail(err, ONNXQ_E_UNSUPPORTED, "%s: .npy format version %u is not supported", what, major);
    }
    if (hlen > size - hoff || hlen > 65536)
        return onnxq_fail(err, ONNXQ_E_PARSE, "%s: truncated or malformed .npy header", what);
    char *hdr = malloc(hlen + 1);
    if (!hdr)
        return onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory");
    memcpy(hdr, data + hoff, hlen);
    hdr[hlen] = '\0';
    enum onnxq_status st = ONNXQ_OK;
    const char *d = dict_value(hdr, "descr");
    const char *fo = dict_value(hdr, "fortran_order");
    const char *sh = dict_value(hdr, "shape");
    if (!d || !fo || !sh || (*d != '\'' && *d != '"') || *sh != '(') {
        st = onnxq_fail(err, ONNXQ_E_PARSE, "%s: malformed .npy header (needs descr, fortran_order and shape)", what);
        goto out;
    }
    if (strncmp(fo, "False", 5) != 0) {
        st = onnxq_fail(err, ONNXQ_E_UNSUPPORTED,
                        "%s: Fortran-order arrays are not supported; save a C-order array (np.ascontiguousarray)", what);
        goto out;
    }
    char endian = d[1];
    const char *code = d + 2;
    if (endian == '>') {
        st = onnxq_fail(err, ONNXQ_E_UNSUPPORTED, "%s: big-endian arrays are not supported", what);
        goto out;
    }
    if (endian != '<' && endian != '|' && endian != '=') {
        st = onnxq_fail(err, ONNXQ_E_PARSE, "%s: malformed dtype descriptor in .npy header", what);
        goto out;
    }
    enum onnxq_dtype dt = ONNXQ_DT_UNDEFINED;
    for (size_t i = 0; i < sizeof(npy_types) / sizeof(npy_types[0]); i++)
        if (strncmp(code, npy_types[i].descr, 2) == 0 && (code[2] == '\'' || code[2] == '"'))
            dt = npy_types[i].dtype;
    if (dt == ONNXQ_DT_UNDEFINED) {
        char c[8] = {0};
        for (int i = 0; i < 7 && d[i + 1] && d[i + 1] != '\'' && d[i + 1] != '"'; i++)
            c[i] = d[i + 1];
        st = onnxq_fail(err, ONNXQ_E_UNSUPPORTED, "%s: .npy dtype '%s' is not supported", what, c);
        goto out;
    }
    int64_t dims[ONNXQ_MAX_DIMS];
    int ndim = 0;
    const char *p = sh + 1;
    for (;;) {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == ')')
            break;
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (end == p || errno || v < 0) {
            st = onnxq_fail(err, ONNXQ_E_PARSE, "%s: malformed shape in .npy header", what);
            goto out;
        }
        if (ndim == ONNXQ_MAX_DIMS) {
            st = onnxq_fail(err, ONNXQ_E_UNSUPPORTED, "%s: array rank exceeds %d", what, ONNXQ_MAX_DIMS);
            goto out;
        }
        dims[ndim++] = v;
        p = end;
        while (*p == 'L')
            p++;
    }
    struct onnxq_tensor t;
    if ((st = onnxq_tensor_alloc(&t, dt, ndim, dims, err))) {
        onnxq_error_prefix(err, "%s: ", what);
        goto out;
    }
    size_t off = hoff + hlen;
    if (size - off != t.nbytes) {
        char s[200];
        onnxq_shape_format(dims, ndim, s, sizeof(s));
        st = onnxq_fail(err, ONNXQ_E_PARSE, "%s: .npy data has %zu bytes but shape %s of %s needs %zu", what,
                        size - off, s, onnxq_dtype_name(dt), t.nbytes);
        onnxq_tensor_clear(&t);
        goto out;
    }
    if (t.nbytes)
        memcpy(t.data, data + off, t.nbytes);
    *out = t;
out:
    free(hdr);
    return st;
}

enum onnxq_status onnxq_read_file(const char *path, uint8_t **out, size_t *size, struct onnxq_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return onnxq_fail(err, ONNXQ_E_IO, "%s: cannot open: %s", path, strerror(errno));
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return onnxq_fail(err, ONNXQ_E_NOMEM, "%s: out of memory reading the file", path);
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return onnxq_fail(err, ONNXQ_E_IO, "%s: read error", path);
    }
    *out = buf;
    *size = n;
    return ONNXQ_OK;
}

enum onnxq_status onnxq_npy_read(const char *path, struct onnxq_tensor *out, struct onnxq_error *err)
{
    uint8_t *buf = NULL;
    size_t n = 0;
    enum onnxq_status st = onnxq_read_file(path, &buf, &n, err);
    if (st)
        return st;
    st = onnxq_npy_decode(buf, n, path, out, err);
    free(buf);
    return st;
}

enum onnxq_status onnxq_npy_encode(const struct onnxq_tensor *t, uint8_t **out, size_t *size, struct onnxq_error *err)
{
    const char *descr = NULL;
    for (size_t i = 0; i < sizeof(npy_types) / sizeof(npy_types[0]); i++)
        if (npy_types[i].dtype == t->dtype)
            descr = npy_types[i].descr;
    if (!descr)
        return onnxq_fail(err, ONNXQ_E_UNSUPPORTED, "dtype %s cannot be written as .npy", onnxq_dtype_name(t->dtype));
    char hdr[512];
    int w = snprintf(hdr, sizeof(hdr), "{'descr': '%c%s', 'fortran_order': False, 'shape': (",
                     onnxq_dtype_size(t->dtype) == 1 ? '|' : '<', descr);
    for (int i = 0; i < t->ndim; i++)
        w += snprintf(hdr + w, sizeof(hdr) - (size_t)w, "%lld,%s", (long long)t->dims[i],
                      i + 1 < t->ndim ? " " : "");
    if (t->ndim > 1)
        w--; /* numpy writes (2, 3), but (5,) for rank 1 */
    w += snprintf(hdr + w, sizeof(hdr) - (size_t)w, "), }");
    /* pad with spaces so that the data starts on a 64-byte boundary */
    size_t total = 10 + (size_t)w + 1;
    size_t pad = (64 - total % 64) % 64;
    size_t hlen = (size_t)w + pad + 1;
    size_t n = 10 + hlen + t->nbytes;
    uint8_t *buf = malloc(n);
    if (!buf)
        return onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory encoding .npy");
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (uint8_t)(hlen & 0xff);
    buf[9] = (uint8_t)(hlen >> 8);
    memcpy(buf + 10, hdr, (size_t)w);
    memset(buf + 10 + w, ' ', pad);
    buf[10 + hlen - 1] = '\n';
    if (t->nbytes)
        memcpy(buf + 10 + hlen, t->data, t->nbytes);
    *out = buf;
    *size = n;
    return ONNXQ_OK;
}

enum onnxq_status onnxq_write_file_atomic(const char *path, const void *data, size_t size, struct onnxq_error *err)
{
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    if (!tmp)
        return onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory");
    snprintf(tmp, n, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        enum onnxq_status st = onnxq_fail(err, ONNXQ_E_IO, "%s: cannot create a temporary file: %s", path,
                                          strerror(errno));
        free(tmp);
        return st;
    }
    /* mkstemp creates 0600; give the file the usual mode of an output file,
     * as onnxq_model_save does */
    (void)fchmod(fd, 0644);
    const uint8_t *p = data;
    size_t done = 0;
    while (done < size) {
        ssize_t w = write(fd, p + done, size - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    int e = done == size ? 0 : (errno ? errno : EIO);
    if (!e && fsync(fd) != 0)
        e = errno;
    if (close(fd) != 0 && !e)
        e = errno;
    if (!e && rename(tmp, path) != 0)
        e = errno;
    if (e) {
        unlink(tmp);
        free(tmp);
        return onnxq_fail(err, ONNXQ_E_IO, "%s: write failed: %s", path, strerror(e));
    }
    free(tmp);
    return ONNXQ_OK;
}
