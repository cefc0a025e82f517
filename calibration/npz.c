/* .npz archives: a zip of .npy members, as written by np.savez (stored) and
 * np.savez_compressed (deflated). Only the central directory is trusted for
 * sizes and offsets (numpy forces zip64 local headers even for small
 * members, with the real sizes in the central directory); archives that need
 * zip64 in the central directory (members or archives over 4 GiB, more than
 * 65535 members) are refused. Multi-disk and encrypted archives are refused;
 * CRC-32 is verified. Only the requested member is read from disk. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <zlib.h>

#include "core/error.h"
#include "dataset.h"
#include "io/npy.h"

#define EOCD_SIZE 22
#define CDH_SIZE 46
#define LFH_SIZE 30

struct zip_member {
    char *name;
    unsigned method;
    unsigned flags;
    uint32_t crc, csize, usize, offset;
};

struct zip {
    const char *path;
    FILE *f;
    uint64_t size;
    size_t n;
    struct zip_member *m;
};

static unsigned rd16(const uint8_t *p)
{
    return (unsigned)p[0] | ((unsigned)p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static int read_at(FILE *f, uint64_t off, void *buf, size_t n)
{
    if (fseeko(f, (off_t)off, SEEK_SET) != 0)
        return -1;
    return fread(buf, 1, n, f) == n ? 0 : -1;
}

static void zip_close(struct zip *z)
{
    if (z->f)
        fclose(z->f);
    for (size_t i = 0; i < z->n; i++)
        free(z->m[i].name);
    free(z->m);
    memset(z, 0, sizeof(*z));
}

static enum onnxq_status bad(struct zip *z, struct onnxq_error *err, const char *why)
{
    enum onnxq_status st = onnxq_fail(err, ONNXQ_E_PARSE, "%s: not a valid .npz (zip) archive: %s", z->path, why);
    zip_close(z);
    return st;
}

static enum onnxq_status zip_open(const char *path, struct zip *z, struct onnxq_error *err)
{
    memset(z, 0, sizeof(*z));
    z->path = path;
    z->f = fopen(path, "rb");
    if (!z->f)
        return onnxq_fail(err, ONNXQ_E_IO, "%s: cannot open: %s", path, strerror(errno));
    if (fseeko(z->f, 0, SEEK_END) != 0) {
        enum onnxq_status st = onnxq_fail(err, ONNXQ_E_IO, "%s: cannot seek: %s", path, strerror(errno));
        zip_close(z);
        return st;
    }
    off_t end = ftello(z->f);
    if (end < 0) {
        zip_close(z);
        return onnxq_fail(err, ONNXQ_E_IO, "%s: cannot tell the file size", path);
    }
    z->size = (uint64_t)end;
    if (z->size < EOCD_SIZE)
        return bad(z, err, z->size ? "file too short" : "the file is empty");

    /* End of central directory: the last 22 bytes plus up to 64 KiB comment. */
    size_t tail = z->size < EOCD_SIZE + 65535 ? (size_t)z->size : EOCD_SIZE + 65535;
    uint8_t *buf = malloc(tail);
    if (!buf) {
        zip_close(z);
        return onnxq_fail(err, ONNXQ_E_NOMEM, "%s: out of memory", path);
    }
    if (read_at(z->f, z->size - tail, buf, tail)) {
        free(buf);
        zip_close(z);
        return onnxq_fail(err, ONNXQ_E_IO, "%s: read error", path);
    }
    long at = -1;
    for (long i = (long)(tail - EOCD_SIZE); i >= 0; i--)
        if (memcmp(buf + i, "PK\x05\x06", 4) == 0 && (size_t)i + EOCD_SIZE + rd16(buf + i + 20) <= tail) {
            at = i;
            break;
        }
    if (at < 0) {
        free(buf);
        return bad(z, err, "no end-of-central-directory record (truncated or not a zip file)");
    }
    const uint8_t *e = buf + at;
    unsigned disk = rd16(e + 4), cd_disk = rd16(e + 6), n_disk = rd16(e + 8), n_total = rd16(e + 10);
    uint32_t cd_size = rd32(e + 12), cd_off = rd32(e + 16);
    uint64_t eocd_pos = z->size - tail + (uint64_t)at;
    free(buf);
    if (n_total == 0xFFFF || cd_size == 0xFFFFFFFFu || cd_off == 0xFFFFFFFFu) {
        zip_close(z);
        return onnxq_fail(err, ONNXQ_E_UNSUPPORTED,
                          "%s: zip64 archives (over 4 GiB or 65535 members) are not supported; "
                          "split the data into smaller .npz/.npy files",
                          path);
    }
    if (disk != 0 || cd_disk != 0 || n_disk != n_total) {
        zip_close(z);
        return onnxq_fail(err, ONNXQ_E_UNSUPPORTED, "%s: multi-disk zip archives are not supported", path);
    }
    if ((uint64_t)cd_off + cd_size > eocd_pos)
        return bad(z, err, "central directory lies outside the file");
    uint8_t *cd = malloc(cd_size ? cd_size : 1);
    z->m = calloc(n_total ? n_total : 1, sizeof(*z->m));
    if (!cd || !z->m) {
        free(cd);
        zip_close(z);
        return onnxq_fail(err, ONNXQ_E_NOMEM, "%s: out of memory", path);
    }
    if (read_at(z->f, cd_off, cd, cd_size)) {
        free(cd);
        zip_close(z);
        return onnxq_fail(err, ONNXQ_E_IO, "%s: read error", path);
    }
    size_t p = 0;
    for (unsigned i = 0; i < n_total; i++) {
        if (cd_size - p < CDH_SIZE || memcmp(cd + p, "PK\x01\x02", 4) != 0) {
            free(cd);
            return bad(z, err, "corrupt central directory");
        }
        const uint8_t *h = cd + p;
        unsigned nlen = rd16(h + 28), xlen = rd16(h + 30), clen = rd16(h + 32);
        if (cd_size - p - CDH_SIZE < (size_t)nlen + xlen + clen) {
            free(cd);
            return bad(z, err, "corrupt central directory");
        }
        struct zip_member *m = &z->m[i];
        m->flags = rd16(h + 8);
        m->method = rd16(h + 10);
        m->crc = rd32(h + 16);
        m->csize = rd32(h + 20);
        m->usize = rd32(h + 24);
        m->offset = rd32(h + 42);
        if (!(m->name = malloc((size_t)nlen + 1))) {
            free(cd);
            zip_close(z);
            return onnxq_fail(err, ONNXQ_E_NOMEM, "%s: out of memory", path);
        }
        memcpy(m->name, h + CDH_SIZE, nlen);
        m->name[nlen] = '\0';
        z->n++;
        if (m->csize == 0xFFFFFFFFu || m->usize == 0xFFFFFFFFu || m->offset == 0xFFFFFFFFu) {
            enum onnxq_status st =
                onnxq_fail(err, ONNXQ_E_UNSUPPORTED,
                           "%s: member '%s' needs zip64 (over 4 GiB), which is not supported", path, m->name);
            free(cd);
            zip_close(z);
            return st;
        }
        p += CDH_SIZE + (size_t)nlen + xlen + clen;
    }
    free(cd);
    return ONNXQ_OK;
}

/* Member name without a trailing ".npy". */
static size_t stem_len(const char *name)
{
    size_t n = strlen(name);
    return n >= 4 && strcmp(name + n - 4, ".npy") == 0 ? n - 4 : n;
}

static enum onnxq_status member_bytes(struct zip *z, const struct zip_member *m, uint8_t **out, size_t *size,
                                      struct onnxq_error *err)
{
    const char *path = z->path;
    if (m->flags & 1)
        return onnxq_fail(err, ONNXQ_E_UNSUPPORTED, "%s: member '%s' is encrypted", path, m->name);
    if (m->method != 0 && m->method != 8)
        return onnxq_fail(err, ONNXQ_E_UNSUPPORTED,
                          "%s: member '%s' uses zip compression method %u (only stored and deflated are supported)",
                          path, m->name, m->method);
    uint8_t lh[LFH_SIZE];
    if ((uint64_t)m->offset + LFH_SIZE > z->size || read_at(z->f, m->offset, lh, LFH_SIZE) ||
        memcmp(lh, "PK\x03\x04", 4) != 0)
        return onnxq_fail(err, ONNXQ_E_PARSE, "%s: member '%s': bad local file header (corrupt archive)", path,
                          m->name);
    uint64_t data_off = (uint64_t)m->offset + LFH_SIZE + rd16(lh + 26) + rd16(lh + 28);
    if (data_off > z->size || m->csize > z->size - data_off)
        return onnxq_fail(err, ONNXQ_E_PARSE, "%s: member '%s' extends past the end of the file (truncated?)", path,
                          m->name);
    if (m->method == 0 && m->csize != m->usize)
        return onnxq_fail(err, ONNXQ_E_PARSE, "%s: member '%s': stored sizes disagree", path, m->name);
    /* deflate expands at most ~1032:1; anything beyond is a corrupt header */
    if (m->method == 8 && (uint64_t)m->usize > (uint64_t)m->csize * 1040 + 1024)
        return onnxq_fail(err, ONNXQ_E_PARSE, "%s: member '%s': implausible uncompressed size", path, m->name);
    uint8_t *comp = malloc(m->csize ? m->csize : 1);
    if (!comp)
        return onnxq_fail(err, ONNXQ_E_NOMEM, "%s: out of memory reading member '%s'", path, m->name);
    if (m->csize && read_at(z->f, data_off, comp, m->csize)) {
        free(comp);
        return onnxq_fail(err, ONNXQ_E_IO, "%s: read error in member '%s'", path, m->name);
    }
    uint8_t *data = comp;
    if (m->method == 8) {
        data = malloc(m->usize ? m->usize : 1);
        if (!data) {
            free(comp);
            return onnxq_fail(err, ONNXQ_E_NOMEM, "%s: out of memory inflating member '%s'", path, m->name);
        }
        z_stream zs;
        memset(&zs, 0, sizeof(zs));
        int ok = inflateInit2(&zs, -MAX_WBITS) == Z_OK;
        int rc = Z_DATA_ERROR;
        if (ok) {
            zs.next_in = comp;
            zs.avail_in = m->csize;
            zs.next_out = data;
            zs.avail_out = m->usize;
            rc = inflate(&zs, Z_FINISH);
            inflateEnd(&zs);
        }
        free(comp);
        if (!ok || rc != Z_STREAM_END || zs.total_out != m->usize) {
            free(data);
            return onnxq_fail(err, ONNXQ_E_PARSE, "%s: member '%s': corrupt deflate data%s%s", path, m->name,
                              zs.msg ? ": " : "", zs.msg ? zs.msg : "");
        }
    }
    uint32_t crc = (uint32_t)crc32(0L, Z_NULL, 0);
    crc = (uint32_t)crc32(crc, data, m->usize);
    if (crc != m->crc) {
        free(data);
        return onnxq_fail(err, ONNXQ_E_PARSE, "%s: member '%s': CRC-32 mismatch (corrupt archive)", path, m->name);
    }
    *out = data;
    *size = m->usize;
    return ONNXQ_OK;
}

enum onnxq_status onnxq_npz_read(const char *path, const char *name, struct onnxq_tensor *out,
                                 struct onnxq_error *err)
{
    if (!path || !name || !out)
        return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "onnxq_npz_read: NULL argument");
    struct zip z;
    enum onnxq_status st = zip_open(path, &z, err);
    if (st)
        return st;
    const struct zip_member *m = NULL;
    size_t nl = strlen(name);
    for (size_t i = 0; i < z.n && !m; i++)
        if (stem_len(z.m[i].name) == nl && strncmp(z.m[i].name, name, nl) == 0)
            m = &z.m[i];
    if (!m) {
        char have[512] = "";
        size_t used = 0;
        for (size_t i = 0; i < z.n && used + 4 < sizeof(have); i++) {
            int w = snprintf(have + used, sizeof(have) - used, "%s'%.*s'", i ? ", " : "", (int)stem_len(z.m[i].name),
                             z.m[i].name);
            if (w < 0)
                break;
            used += (size_t)w;
        }
        if (used >= sizeof(have))
            used = sizeof(have) - 1;
        st = onnxq_fail(err, ONNXQ_E_DATA, "%s: no array named '%s' (arrays: %s)", path, name,
                        z.n ? have : "none");
        zip_close(&z);
        return st;
    }
    uint8_t *bytes = NULL;
    size_t size = 0;
    st = member_bytes(&z, m, &bytes, &size, err);
    if (!st) {
        size_t wl = strlen(path) + strlen(m->name) + 8;
        char *what = malloc(wl);
        if (!what) {
            st = onnxq_fail(err, ONNXQ_E_NOMEM, "out of memory");
        } else {
            snprintf(what, wl, "%s[%s]", path, m->name);
            st = onnxq_npy_decode(bytes, size, what, out, err);
            free(what);
        }
        free(bytes);
    }
    zip_close(&z);
    return st;
}

enum onnxq_status onnxq_npz_list(const char *path, char ***names, size_t *count, struct onnxq_error *err)
{
    if (!path || !names || !count)
        return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "onnxq_npz_list: NULL argument");
    struct zip z;
    enum onnxq_status st = zip_open(path, &z, err);
    if (st)
        return st;
    char **v = calloc(z.n ? z.n : 1, sizeof(char *));
    if (!v) {
        zip_close(&z);
        return onnxq_fail(err, ONNXQ_E_NOMEM, "%s: out of memory", path);
    }
    for (size_t i = 0; i < z.n; i++) {
        size_t l = stem_len(z.m[i].name);
        if (!(v[i] = malloc(l + 1))) {
            for (size_t j = 0; j < i; j++)
                free(v[j]);
            free(v);
            zip_close(&z);
            return onnxq_fail(err, ONNXQ_E_NOMEM, "%s: out of memory", path);
        }
        memcpy(v[i], z.m[i].name, l);
        v[i][l] = '\0';
    }
    *names = v;
    *count = z.n;
    zip_close(&z);
    return ONNXQ_OK;
}
