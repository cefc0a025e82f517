/* Calibration datasets (calibration/dataset.h): every reader on real files
 * written by independent tools, checked against independently computed
 * values.
 *
 *  - PNG and JPEG files are made by ImageMagick `convert` from random pixels;
 *    the expected tensors come from /usr/bin/python3: PIL decodes the file
 *    and tests/e2e/dataset_ref.py applies the documented preprocessing in
 *    numpy. Same-size images must match to 1e-6 (both sides decode with
 *    libpng/libjpeg-turbo, and the float arithmetic is the same up to
 *    rounding); CMYK JPEGs to 1.01/255 (PIL rounds its CMYK->RGB
 *    differently). Resized images are compared with dataset_ref.py's numpy
 *    bilinear (same documented rule, float64) to 1e-3 pixel levels, and
 *    upscales also loosely with PIL's own BILINEAR resize (which rounds to
 *    8 bits): max 1.01 levels, mean 0.3 levels.
 *  - 16-bit PNGs: numpy writes the 16-bit pixels, the expected 8-bit values
 *    are round(v * 255 / 65535) computed by numpy (PIL cannot convert 16-bit
 *    RGB/grey to RGB without clipping).
 *  - .npy/.npz files are written by numpy (np.save, np.savez,
 *    np.savez_compressed), .pb files by onnx.numpy_helper.
 *  - Bad inputs: corrupt and truncated images, malformed .npy headers,
 *    Fortran order, broken zip archives, shape and dtype mismatches, empty
 *    and missing datasets: each must fail with a message naming the file. */
#include <check.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "calibration/dataset.h"
#include "core/error.h"
#include "io/npy.h"
#include "testutil.h"

#define PY "/usr/bin/python3"

static char *tmp;    /* per test (checked fixture) */
static char *shared; /* per image test case (unchecked fixture): generated once, read-only */
static char shared_error[512];

/* tests/e2e, which holds dataset_ref.py */
static const char *ref_dir(void)
{
    static char d[4096];
    const char *root = tu_env_dir("ONNXQ_SOURCE_ROOT");
    snprintf(d, sizeof(d), "%s/tests/e2e", root ? root : "..");
    return d;
}

static void setup(void)
{
    tmp = tu_mkdtemp();
    ck_assert_ptr_nonnull(tmp);
}

static void teardown(void)
{
    tu_rmtree(tmp);
    free(tmp);
    tmp = NULL;
}

static const char *vpath(const char *dir, const char *fmt, va_list ap) ONNXQ_PRINTF(2, 0);
static const char *vpath(const char *dir, const char *fmt, va_list ap)
{
    static char bufs[16][4096];
    static int next;
    char *b = bufs[next++ % 16];
    int n = snprintf(b, 4096, "%s/", dir);
    vsnprintf(b + n, 4096 - (size_t)n, fmt, ap);
    return b;
}

/* Path inside the test's temp dir (rotating static buffers). */
static const char *tp(const char *fmt, ...) ONNXQ_PRINTF(1, 2);
static const char *tp(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const char *p = vpath(tmp, fmt, ap);
    va_end(ap);
    return p;
}

/* Path inside the shared image folder. */
static const char *sp(const char *fmt, ...) ONNXQ_PRINTF(1, 2);
static const char *sp(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const char *p = vpath(shared, fmt, ap);
    va_end(ap);
    return p;
}

/* system() in dir; returns the status. */
static int shell_in(const char *dir, const char *cmd)
{
    size_t n = strlen(dir) + strlen(cmd) + 16;
    char *full = malloc(n);
    if (!full)
        return -1;
    snprintf(full, n, "cd '%s' && %s", dir, cmd);
    int rc = system(full);
    free(full);
    return rc;
}

/* Run a shell command in the temp dir; it must succeed. */
static void run(const char *fmt, ...) ONNXQ_PRINTF(1, 2);
static void run(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    int rc = shell_in(tmp, cmd);
    ck_assert_msg(rc == 0, "command failed (status %d): %s", rc, cmd);
}

static const char py_prelude[] =
    "import numpy as np, os, sys, struct, zlib\n"
    "from dataset_ref import reference, load_rgb\n"
    "save = np.save\n"
    "rng = np.random.default_rng(20240601)\n"
    "def pnm(path, a):\n"
    "    a = np.asarray(a)\n"
    "    h, w = a.shape[:2]\n"
    "    big = a.dtype == np.uint16\n"
    "    magic = b'P6' if a.ndim == 3 else b'P5'\n"
    "    with open(path, 'wb') as f:\n"
    "        f.write(magic + b'\\n%d %d\\n%d\\n' % (w, h, 65535 if big else 255))\n"
    "        f.write(a.astype('>u2' if big else 'u1').tobytes())\n"
    "def ihdr(path):\n"
    "    d = open(path, 'rb').read()\n"
    "    assert d[12:16] == b'IHDR', path\n"
    "    return d[24], d[25], d[28], d\n";

/* Run python code (after py_prelude) in dir; returns the status. */
static int py_in(const char *dir, const char *code)
{
    static int n;
    char script[4200], cmd[4300];
    snprintf(script, sizeof(script), "%s/_t%d.py", dir, n++);
    FILE *f = fopen(script, "w");
    if (!f)
        return -1;
    fprintf(f, "import sys\nsys.path.insert(0, '%s')\n", ref_dir());
    fputs(py_prelude, f);
    fputs(code, f);
    fclose(f);
    snprintf(cmd, sizeof(cmd), PY " '%s'", script);
    return shell_in(dir, cmd);
}

/* Run python code in the temp dir; it must succeed. */
static void py(const char *code)
{
    int rc = py_in(tmp, code);
    ck_assert_msg(rc == 0, "python failed (status %d; traceback above) running:\n%s", rc, code);
}
/* ---- value infos ------------------------------------------------------------ */

/* shape: NULL = no shape; "N,3,8,8": digits are fixed dims, "?" unset,
 * anything else a symbolic name. */
static struct onnxq_value_info *mkvi(const char *name, enum onnxq_dtype dt, const char *shape)
{
    struct onnxq_value_info *vi = calloc(1, sizeof(*vi));
    vi->name = strdup(name);
    vi->type.kind = ONNXQ_TYPE_TENSOR;
    vi->type.has_elem_type = true;
    vi->type.elem_type = dt;
    if (shape) {
        vi->type.has_shape = true;
        vi->type.dims = calloc(ONNXQ_MAX_DIMS, sizeof(struct onnxq_dim));
        char *s = strdup(shape), *save = NULL;
        for (char *tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            struct onnxq_dim *d = &vi->type.dims[vi->type.ndim++];
            if (tok[0] >= '0' && tok[0] <= '9') {
                d->kind = ONNXQ_DIM_VALUE;
                d->value = atoll(tok);
            } else if (strcmp(tok, "?") != 0) {
                d->kind = ONNXQ_DIM_PARAM;
                d->param = strdup(tok);
            }
        }
        free(s);
    }
    return vi;
}

static void freevi(struct onnxq_value_info *vi)
{
    if (!vi)
        return;
    for (int i = 0; i < vi->type.ndim; i++)
        free(vi->type.dims[i].param);
    free(vi->type.dims);
    free(vi->name);
    free(vi);
}

/* ---- comparisons ------------------------------------------------------------ */

static double to_double(const struct onnxq_tensor *t, size_t i)
{
    switch (t->dtype) {
    case ONNXQ_DT_FLOAT: return ((const float *)t->data)[i];
    case ONNXQ_DT_DOUBLE: return ((const double *)t->data)[i];
    case ONNXQ_DT_UINT8: return ((const uint8_t *)t->data)[i];
    case ONNXQ_DT_INT64: return (double)((const int64_t *)t->data)[i];
    case ONNXQ_DT_INT32: return ((const int32_t *)t->data)[i];
    default: ck_abort_msg("unexpected dtype %d", t->dtype);
    }
    return 0;
}

/* Same shape (dtype may differ), returns max |a-b|; *mean gets the mean. */
static double diff(const struct onnxq_tensor *a, const struct onnxq_tensor *b, double *mean)
{
    char sa[128], sb[128];
    onnxq_shape_format(a->dims, a->ndim, sa, sizeof(sa));
    onnxq_shape_format(b->dims, b->ndim, sb, sizeof(sb));
    ck_assert_msg(strcmp(sa, sb) == 0, "shape %s != expected %s", sa, sb);
    size_t n = (size_t)onnxq_tensor_numel(a);
    double mx = 0, sum = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(to_double(a, i) - to_double(b, i));
        sum += d;
        if (!(d <= mx))
            mx = d;
    }
    if (mean)
        *mean = n ? sum / (double)n : 0;
    return mx;
}

static double diff_npy(const struct onnxq_tensor *t, const char *npy, double *mean)
{
    struct onnxq_tensor e;
    struct onnxq_error err;
    ck_assert_msg(onnxq_npy_read(npy, &e, &err) == ONNXQ_OK, "%s", err.message);
    double d = diff(t, &e, mean);
    onnxq_tensor_clear(&e);
    return d;
}

static void image_opts(struct onnxq_image_options *o, int h, int w)
{
    struct onnxq_dataset_options d;
    onnxq_dataset_options_init(&d);
    *o = d.image;
    o->height = h;
    o->width = w;
}

static void assert_has(const char *msg, const char *needle)
{
    ck_assert_msg(strstr(msg, needle) != NULL, "message lacks \"%s\": %s", needle, msg);
}

/* Opening (or, failing that, reading every batch of) the dataset must fail
 * with a message containing every NULL-terminated needle. */
static void expect_fail(const char *path, struct onnxq_value_info **vis, size_t n,
                        const struct onnxq_dataset_options *o, ...)
{
    struct onnxq_error err;
    struct onnxq_dataset *ds = NULL;
    memset(&err, 0, sizeof(err));
    enum onnxq_status st = onnxq_dataset_open(path, (const struct onnxq_value_info *const *)vis, n, o, &ds, &err);
    if (st == ONNXQ_OK) {
        struct onnxq_tensor *t = calloc(n, sizeof(*t));
        for (size_t b = 0; b < onnxq_dataset_batches(ds) && st == ONNXQ_OK; b++) {
            st = onnxq_dataset_get_batch(ds, b, t, &err);
            if (st == ONNXQ_OK)
                for (size_t k = 0; k < n; k++) {
                    ck_assert_int_eq(t[k].dtype != ONNXQ_DT_UNDEFINED, 1);
                    onnxq_tensor_clear(&t[k]);
                }
            else
                for (size_t k = 0; k < n; k++) /* must stay cleared */
                    ck_assert_ptr_null(t[k].data);
        }
        free(t);
        onnxq_dataset_free(ds);
    }
    ck_assert_msg(st != ONNXQ_OK, "%s: expected a failure", path);
    ck_assert_int_eq(err.code, st);
    va_list ap;
    va_start(ap, o);
    for (const char *needle; (needle = va_arg(ap, const char *));)
        assert_has(err.message, needle);
    va_end(ap);
}

static struct onnxq_dataset *open_ok(const char *path, struct onnxq_value_info **vis, size_t n,
                                     const struct onnxq_dataset_options *o)
{
    struct onnxq_error err;
    struct onnxq_dataset *ds = NULL;
    ck_assert_msg(onnxq_dataset_open(path, (const struct onnxq_value_info *const *)vis, n, o, &ds, &err) ==
                      ONNXQ_OK,
                  "open %s: %s", path, err.message);
    return ds;
}

static void get_ok(struct onnxq_dataset *ds, size_t b, struct onnxq_tensor *t)
{
    struct onnxq_error err;
    ck_assert_msg(onnxq_dataset_get_batch(ds, b, t, &err) == ONNXQ_OK, "batch %zu: %s", b, err.message);
}

/* ---- images: shared files ------------------------------------------------------- */

/* All decoding/preprocessing cases read files made once per test case by an
 * unchecked fixture: numpy writes random pixels (PPM/PGM), ImageMagick
 * converts them, PIL + dataset_ref.py write the expected tensors. */

#define IMG_H 19
#define IMG_W 27

static const struct png_case {
    const char *name;
    const char *args;     /* convert arguments before the output */
    const char *prefix;   /* output format prefix, e.g. "PNG8:" */
    int depth, ctype, interlace;
    int trns;             /* the file must carry a tRNS chunk */
} png_cases[] = {
    {"rgb8", "in.ppm -define png:color-type=2 -define png:bit-depth=8", "", 8, 2, 0, 0},
    {"gray8", "in.pgm -define png:color-type=0 -define png:bit-depth=8", "", 8, 0, 0, 0},
    {"gray1", "in.pgm -threshold 50% -type bilevel -define png:color-type=0 -define png:bit-depth=1", "", 1, 0, 0, 0},
    {"gray_alpha", "in.pgm alpha.pgm -alpha off -compose CopyOpacity -composite -define png:color-type=4", "", 8, 4, 0,
     0},
    {"rgba", "in.ppm alpha.pgm -alpha off -compose CopyOpacity -composite -define png:color-type=6", "", 8, 6, 0, 0},
    {"palette", "in.ppm -colors 20", "PNG8:", 8, 3, 0, 0},
    {"palette_trns", "in.ppm mask.pgm -alpha off -compose CopyOpacity -composite -colors 20", "PNG8:", 8, 3, 0, 1},
    {"interlaced", "in.ppm -interlace PNG -define png:color-type=2 -define png:bit-depth=8", "", 8, 2, 1, 0},
};

static const struct jpeg_case {
    const char *name;
    const char *args;
    const char *check; /* python assertion on the PIL image `im` */
    double tol;
} jpeg_cases[] = {
    {"ycbcr420", "in.ppm -quality 90 -sampling-factor 2x2", "assert im.mode == 'RGB', im.mode", 1e-6},
    {"ycbcr444", "in.ppm -quality 95 -sampling-factor 1x1", "assert im.mode == 'RGB', im.mode", 1e-6},
    {"gray", "in.pgm -colorspace Gray -quality 90", "assert im.mode == 'L', im.mode", 1e-6},
    {"progressive", "in.ppm -interlace Plane -quality 85",
     "assert im.mode == 'RGB' and im.info.get('progressive'), im.info", 1e-6},
    {"cmyk", "in.ppm -colorspace CMYK -quality 95", "assert im.mode == 'CMYK', im.mode", 1.01 / 255},
};

static const struct pre_case {
    const char *name;
    enum onnxq_color color;
    enum onnxq_layout layout;
    float scale, mean[3], std[3];
    const char *kwargs; /* the same options for dataset_ref.reference() */
} pre_cases[] = {
    {"bgr_nchw_meanstd", ONNXQ_COLOR_BGR, ONNXQ_LAYOUT_NCHW, 1.0f / 255, {0.485f, 0.456f, 0.406f},
     {0.229f, 0.224f, 0.225f}, "color='bgr', mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)"},
    {"rgb_nhwc_raw", ONNXQ_COLOR_RGB, ONNXQ_LAYOUT_NHWC, 1.0f, {0, 0, 0}, {1, 1, 1}, "layout='nhwc', scale=1"},
    {"gray_nchw", ONNXQ_COLOR_GRAY, ONNXQ_LAYOUT_NCHW, 1.0f / 255, {0.5f, 0, 0}, {0.25f, 1, 1},
     "color='gray', mean=(0.5, 0, 0), std=(0.25, 1, 1)"},
    {"gray_nhwc_caffe", ONNXQ_COLOR_GRAY, ONNXQ_LAYOUT_NHWC, 1.0f, {127.5f, 0, 0}, {127.5f, 1, 1},
     "color='gray', layout='nhwc', scale=1, mean=(127.5, 0, 0), std=(127.5, 1, 1)"},
};

static const struct resize_case {
    const char *name;
    enum onnxq_resize_mode mode;
    const char *mode_arg;
    int h, w;
} resize_cases[] = {
    {"stretch_down", ONNXQ_RESIZE_STRETCH, "stretch", 11, 8},
    {"stretch_up", ONNXQ_RESIZE_STRETCH, "stretch", 40, 64},
    {"stretch_mixed", ONNXQ_RESIZE_STRETCH, "stretch", 30, 13},
    {"letterbox_square", ONNXQ_RESIZE_LETTERBOX, "letterbox", 32, 32},
    {"letterbox_tall", ONNXQ_RESIZE_LETTERBOX, "letterbox", 50, 20},
    {"letterbox_exact", ONNXQ_RESIZE_LETTERBOX, "letterbox", 38, 54},
    {"letterbox_wide", ONNXQ_RESIZE_LETTERBOX, "letterbox", 20, 60}, /* pads left and right */
    {"crop_square", ONNXQ_RESIZE_SHORT_SIDE_CROP, "short-side-crop", 16, 16},
    {"crop_wide", ONNXQ_RESIZE_SHORT_SIDE_CROP, "short-side-crop", 12, 40},
    {"crop_up", ONNXQ_RESIZE_SHORT_SIDE_CROP, "short-side-crop", 48, 48},
};

static const struct bad_image {
    const char *name;
    const char *file;
    const char *make; /* python, from good.png / good.jpg */
    const char *needle;
} bad_images[] = {
    {"png_truncated", "cut.png", "d = open('good.png','rb').read(); open('cut.png','wb').write(d[:len(d)//2])\n",
     "PNG"},
    {"png_no_iend", "noend.png", "d = open('good.png','rb').read(); open('noend.png','wb').write(d[:-12])\n",
     "PNG"},
    {"png_bad_crc", "crc.png",
     "d = bytearray(open('good.png','rb').read()); i = d.index(b'IDAT'); d[i+6] ^= 0xFF\n"
     "open('crc.png','wb').write(d)\n",
     "PNG"},
    {"png_header_only", "hdr.png", "open('hdr.png','wb').write(b'\\x89PNG\\r\\n\\x1a\\n')\n", "PNG"},
    {"jpeg_truncated", "cut.jpg", "d = open('good.jpg','rb').read(); open('cut.jpg','wb').write(d[:len(d)//2])\n",
     "JPEG"},
    {"jpeg_header_only", "soi.jpg", "open('soi.jpg','wb').write(b'\\xff\\xd8\\xff\\xe0')\n", "JPEG"},
    {"jpeg_garbage_body", "junk.jpg",
     "d = bytearray(open('good.jpg','rb').read()); d[200:] = bytes(len(d) - 200)\n"
     "open('junk.jpg','wb').write(d)\n",
     "JPEG"},
    {"text_as_png", "text.png", "open('text.png','w').write('hello, not an image\\n')\n", "not a PNG or JPEG"},
    {"empty_jpg", "empty.jpg", "open('empty.jpg','w').close()\n", "empty"},
    {"missing", "nope.png", "", "cannot open"},
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

struct sbuf {
    char *s;
    size_t n, cap;
};

static void sb_add(struct sbuf *b, const char *fmt, ...) ONNXQ_PRINTF(2, 3);
static void sb_add(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (need < 0)
        return;
    if (b->n + (size_t)need + 1 > b->cap) {
        size_t cap = (b->n + (size_t)need + 1) * 2;
        char *s = realloc(b->s, cap);
        if (!s)
            return;
        b->s = s;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    b->n += (size_t)need;
}

static void image_setup(void)
{
    shared_error[0] = '\0';
    shared = tu_mkdtemp();
    if (!shared) {
        snprintf(shared_error, sizeof(shared_error), "cannot create a temp dir");
        return;
    }
    struct sbuf gen = {0}, conv = {0}, ref = {0};
    sb_add(&gen, "a = rng.integers(0, 256, (19, 27, 3), dtype=np.uint8)\n"
                 "pnm('in.ppm', a)\n"
                 "pnm('in.pgm', rng.integers(0, 256, (19, 27), dtype=np.uint8))\n"
                 "al = rng.integers(0, 256, (19, 27), dtype=np.uint8); al[0, :5] = 0; al[1, :5] = 255\n"
                 "pnm('alpha.pgm', al)\n"
                 "pnm('mask.pgm', np.where(al > 128, 255, 0).astype(np.uint8))\n"
                 "b = rng.integers(0, 65536, (19, 27, 3), dtype=np.uint16)\n"
                 "b[0, 0] = [0, 65535, 32767]; b[0, 1] = [128, 127, 32896]\n"
                 "pnm('rgb16.ppm', b); pnm('gray16.pgm', b[:, :, 0])\n"
                 "eight = lambda v: np.floor(v.astype(np.float64) * 255 / 65535 + 0.5).astype(np.uint8)\n"
                 "np.save('rgb16_px.npy', eight(b))\n"
                 "np.save('gray16_px.npy', np.repeat(eight(b[:, :, 0])[:, :, None], 3, axis=2))\n"
                 "pnm('wide.ppm', np.full((10, 30, 3), 7, dtype=np.uint8))\n");
    sb_add(&conv, "convert in.ppm -define png:color-type=2 good.png && convert in.ppm -quality 90 good.jpg");
    sb_add(&conv, " && convert in.ppm -quality 92 pre.jpg && convert in.ppm -define png:color-type=2 rs.png");
    sb_add(&conv, " && convert wide.ppm -define png:color-type=2 wide.png");
    sb_add(&conv, " && convert rgb16.ppm -depth 16 -define png:color-type=2 -define png:bit-depth=16 png16_rgb.png");
    sb_add(&conv, " && convert gray16.pgm -depth 16 -define png:color-type=0 -define png:bit-depth=16 png16_gray.png");
    sb_add(&ref, "from PIL import Image\n");
    for (size_t i = 0; i < N_OF(png_cases); i++) {
        const struct png_case *c = &png_cases[i];
        sb_add(&conv, " && convert %s %spng_%s.png", c->args, c->prefix, c->name);
        sb_add(&ref,
               "d, t, i, raw = ihdr('png_%s.png')\n"
               "assert (d, t, i) == (%d, %d, %d), ('png_%s: ImageMagick wrote', d, t, i)\n"
               "assert (b'tRNS' in raw) == %s, 'png_%s: tRNS chunk'\n"
               "save('exp_png_%s.npy', reference(load_rgb('png_%s.png'), %d, %d))\n",
               c->name, c->depth, c->ctype, c->interlace, c->name, c->trns ? "True" : "False", c->name, c->name,
               c->name, IMG_H, IMG_W);
    }
    sb_add(&ref, "assert ihdr('png16_rgb.png')[:2] == (16, 2)\nassert ihdr('png16_gray.png')[:2] == (16, 0)\n"
                 "save('exp_png16_rgb.npy', reference(np.load('rgb16_px.npy'), %d, %d))\n"
                 "save('exp_png16_gray.npy', reference(np.load('gray16_px.npy'), %d, %d))\n",
           IMG_H, IMG_W, IMG_H, IMG_W);
    for (size_t i = 0; i < N_OF(jpeg_cases); i++) {
        const struct jpeg_case *c = &jpeg_cases[i];
        sb_add(&conv, " && convert %s jpg_%s.jpg", c->args, c->name);
        sb_add(&ref, "im = Image.open('jpg_%s.jpg')\n%s\nsave('exp_jpg_%s.npy', reference(load_rgb('jpg_%s.jpg'), %d, %d))\n",
               c->name, c->check, c->name, c->name, IMG_H, IMG_W);
    }
    for (size_t i = 0; i < N_OF(pre_cases); i++)
        sb_add(&ref, "save('exp_pre_%s.npy', reference(load_rgb('pre.jpg'), %d, %d, %s))\n", pre_cases[i].name,
               IMG_H, IMG_W, pre_cases[i].kwargs);
    for (size_t i = 0; i < N_OF(resize_cases); i++)
        sb_add(&ref, "save('exp_rs_%s.npy', reference(load_rgb('rs.png'), %d, %d, '%s', scale=1))\n",
               resize_cases[i].name, resize_cases[i].h, resize_cases[i].w, resize_cases[i].mode_arg);
    sb_add(&ref, "save('pil.npy', reference(load_rgb('rs.png'), 57, 81, scale=1, pil_resize=True))\n");
    for (size_t i = 0; i < N_OF(bad_images); i++)
        sb_add(&ref, "%s", bad_images[i].make);
    int rc = !gen.s || !conv.s || !ref.s ? -1 : py_in(shared, gen.s);
    if (rc == 0)
        rc = shell_in(shared, conv.s);
    if (rc == 0)
        rc = py_in(shared, ref.s);
    if (rc != 0)
        snprintf(shared_error, sizeof(shared_error),
                 "making the shared image files in %s failed (status %d); see the python/convert output", shared, rc);
    free(gen.s);
    free(conv.s);
    free(ref.s);
}

static void image_teardown(void)
{
    tu_rmtree(shared);
    free(shared);
    shared = NULL;
}

static void need_shared(void)
{
    ck_assert_msg(shared && !shared_error[0], "%s", shared_error);
}

/* Load a shared image with the given options and compare with a shared .npy. */
static void check_image(const char *img, const struct onnxq_image_options *o, const char *expected, double tol)
{
    need_shared();
    struct onnxq_tensor t;
    struct onnxq_error err;
    ck_assert_msg(onnxq_image_load(sp("%s", img), o, &t, &err) == ONNXQ_OK, "%s: %s", img, err.message);
    ck_assert_int_eq(t.dtype, ONNXQ_DT_FLOAT);
    double d = diff_npy(&t, sp("%s", expected), NULL);
    ck_assert_msg(d <= tol, "%s vs %s: max diff %g (tolerance %g)", img, expected, d, tol);
    onnxq_tensor_clear(&t);
}

/* ---- images: decoding ----------------------------------------------------------- */

START_TEST(test_png_variants)
{
    const struct png_case *c = &png_cases[_i];
    struct onnxq_image_options o;
    image_opts(&o, IMG_H, IMG_W);
    char img[64], exp[64];
    snprintf(img, sizeof(img), "png_%s.png", c->name);
    snprintf(exp, sizeof(exp), "exp_png_%s.npy", c->name);
    check_image(img, &o, exp, 1e-6);
}
END_TEST

/* 16-bit PNGs: numpy wrote the samples and computed round(v * 255 / 65535). */
START_TEST(test_png16)
{
    const char *which = _i ? "gray" : "rgb";
    struct onnxq_image_options o;
    image_opts(&o, IMG_H, IMG_W);
    char img[64], exp[64];
    snprintf(img, sizeof(img), "png16_%s.png", which);
    snprintf(exp, sizeof(exp), "exp_png16_%s.npy", which);
    check_image(img, &o, exp, 1e-6);
}
END_TEST

START_TEST(test_jpeg_variants)
{
    const struct jpeg_case *c = &jpeg_cases[_i];
    struct onnxq_image_options o;
    image_opts(&o, IMG_H, IMG_W);
    char img[64], exp[64];
    snprintf(img, sizeof(img), "jpg_%s.jpg", c->name);
    snprintf(exp, sizeof(exp), "exp_jpg_%s.npy", c->name);
    check_image(img, &o, exp, c->tol);
}
END_TEST

/* ---- images: preprocessing ------------------------------------------------------ */

START_TEST(test_image_preprocess)
{
    const struct pre_case *c = &pre_cases[_i];
    struct onnxq_image_options o;
    image_opts(&o, IMG_H, IMG_W);
    o.color = c->color;
    o.layout = c->layout;
    o.scale = c->scale;
    memcpy(o.mean, c->mean, sizeof(o.mean));
    memcpy(o.std, c->std, sizeof(o.std));
    char exp[64];
    snprintf(exp, sizeof(exp), "exp_pre_%s.npy", c->name);
    /* float32 arithmetic vs float64: relative ~1e-6 of values up to 255 */
    check_image("pre.jpg", &o, exp, 5e-5);
}
END_TEST

START_TEST(test_resize)
{
    const struct resize_case *c = &resize_cases[_i];
    struct onnxq_image_options o;
    image_opts(&o, c->h, c->w);
    o.resize = c->mode;
    o.scale = 1.0f;
    char exp[64];
    snprintf(exp, sizeof(exp), "exp_rs_%s.npy", c->name);
    check_image("rs.png", &o, exp, 1e-3); /* pixel levels vs dataset_ref.py's float64 */
}
END_TEST

/* Upscaling: PIL's BILINEAR (rounded to 8 bits) agrees loosely. */
START_TEST(test_resize_vs_pil)
{
    need_shared();
    struct onnxq_image_options o;
    image_opts(&o, 57, 81);
    o.scale = 1.0f;
    struct onnxq_tensor t;
    struct onnxq_error err;
    ck_assert_msg(onnxq_image_load(sp("rs.png"), &o, &t, &err) == ONNXQ_OK, "%s", err.message);
    double mean, d = diff_npy(&t, sp("pil.npy"), &mean);
    ck_assert_msg(d <= 1.01 && mean <= 0.3, "vs PIL bilinear: max %g mean %g pixel levels", d, mean);
    onnxq_tensor_clear(&t);
}
END_TEST

/* Letterbox pads with pixel value 114 before normalisation; the image is
 * centred. A 10x30 image into 30x30: scale 1, rows 10..19 hold it. */
START_TEST(test_letterbox_pad)
{
    need_shared();
    struct onnxq_image_options o;
    image_opts(&o, 30, 30);
    o.resize = ONNXQ_RESIZE_LETTERBOX;
    o.scale = 1.0f;
    o.mean[1] = 100.0f;
    o.std[2] = 2.0f;
    struct onnxq_tensor t;
    struct onnxq_error err;
    ck_assert_msg(onnxq_image_load(sp("wide.png"), &o, &t, &err) == ONNXQ_OK, "%s", err.message);
    const float *v = t.data;
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < 30; y++)
            for (int x = 0; x < 30; x++) {
                float px = (y >= 10 && y < 20) ? 7.0f : 114.0f;
                float want = (px - o.mean[c]) / o.std[c];
                ck_assert_msg(fabsf(v[(c * 30 + y) * 30 + x] - want) < 1e-5f, "c%d y%d x%d: %g != %g", c, y, x,
                              v[(c * 30 + y) * 30 + x], want);
            }
    onnxq_tensor_clear(&t);
}
END_TEST

/* ---- images: bad files ---------------------------------------------------------- */

START_TEST(test_image_corrupt)
{
    const struct bad_image *c = &bad_images[_i];
    need_shared();
    struct onnxq_image_options o;
    image_opts(&o, 8, 8);
    struct onnxq_tensor t;
    memset(&t, 0, sizeof(t));
    struct onnxq_error err;
    enum onnxq_status st = onnxq_image_load(sp("%s", c->file), &o, &t, &err);
    ck_assert_msg(st != ONNXQ_OK, "%s: loaded a bad image", c->name);
    ck_assert_ptr_null(t.data);
    assert_has(err.message, c->file);
    assert_has(err.message, c->needle);
    /* through a dataset too: the batch fails and names the file */
    struct onnxq_value_info *vi = mkvi("x", ONNXQ_DT_FLOAT, "N,3,8,8");
    expect_fail(sp("%s", c->file), &vi, 1, NULL, c->file, NULL);
    freevi(vi);
}
END_TEST

/* ---- images: datasets ------------------------------------------------------------ */

START_TEST(test_image_dataset)
{
    /* 5 images, nested folders, PNG and JPEG mixed, plus a stray text file */
    py("os.makedirs('imgs/sub', exist_ok=True)\n"
       "for i in range(5):\n"
       "    pnm('src%d.ppm' % i, rng.integers(0, 256, (12 + i, 20 - i, 3), dtype=np.uint8))\n"
       "open('imgs/README.txt', 'w').write('labels\\n')\n");
    run("convert src0.ppm imgs/a.png && convert src1.ppm imgs/b.jpg && convert src2.ppm imgs/sub/c.PNG && "
        "convert src3.ppm imgs/sub/d.jpeg && convert src4.ppm imgs/e.png");
    py("names = ['imgs/a.png', 'imgs/b.jpg', 'imgs/sub/c.PNG', 'imgs/sub/d.jpeg', 'imgs/e.png']\n"
       "for i, n in enumerate(names):\n"
       "    save('exp%d.npy' % i, reference(load_rgb(n), 16, 16, 'short-side-crop', mean=(.5, .5, .5), "
       "std=(.5, .5, .5)))\n"
       "save('u8.npy', reference(load_rgb('imgs/a.png'), 16, 16, layout='nhwc', scale=1))\n");
    struct onnxq_value_info *vi = mkvi("images", ONNXQ_DT_FLOAT, "batch,3,16,16");
    struct onnxq_dataset_options o;
    onnxq_dataset_options_init(&o);
    o.image.resize = ONNXQ_RESIZE_SHORT_SIDE_CROP;
    for (int c = 0; c < 3; c++)
        o.image.mean[c] = o.image.std[c] = 0.5f;
    o.batch = 2;
    o.seed = 7;
    struct onnxq_dataset *ds = open_ok(tp("imgs"), &vi, 1, &o);
    ck_assert_uint_eq(onnxq_dataset_size(ds), 5);
    ck_assert_uint_eq(onnxq_dataset_batches(ds), 3);
    assert_has(onnxq_dataset_describe(ds), "5 PNG/JPEG images");
    assert_has(onnxq_dataset_describe(ds), "imgs");
    /* every image appears once; each batch row matches one expected image */
    int seen[5] = {0};
    for (size_t b = 0; b < 3; b++) {
        struct onnxq_tensor t;
        get_ok(ds, b, &t);
        ck_assert_int_eq(t.ndim, 4);
        ck_assert_int_eq(t.dims[0], b < 2 ? 2 : 1);
        for (int64_t r = 0; r < t.dims[0]; r++) {
            struct onnxq_tensor row = t;
            row.dims[0] = 1;
            row.nbytes = t.nbytes / (size_t)t.dims[0];
            row.data = (uint8_t *)t.data + row.nbytes * (size_t)r;
            row.owns_data = false;
            int match = -1;
            for (int i = 0; i < 5; i++)
                if (diff_npy(&row, tp("exp%d.npy", i), NULL) <= 1e-4)
                    match = i;
            ck_assert_msg(match >= 0, "batch %zu row %lld matches no image", b, (long long)r);
            seen[match]++;
        }
        onnxq_tensor_clear(&t);
    }
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(seen[i], 1);
    onnxq_dataset_free(ds);
    freevi(vi);

    /* size from the model; symbolic size without --size fails; explicit size works */
    vi = mkvi("images", ONNXQ_DT_FLOAT, "N,3,H,W");
    onnxq_dataset_options_init(&o);
    expect_fail(tp("imgs"), &vi, 1, &o, "images", "symbolic height", NULL);
    o.image.height = 10;
    o.image.width = 14;
    ds = open_ok(tp("imgs"), &vi, 1, &o);
    struct onnxq_tensor t;
    get_ok(ds, 0, &t);
    ck_assert_int_eq(t.dims[2], 10);
    ck_assert_int_eq(t.dims[3], 14);
    onnxq_tensor_clear(&t);
    onnxq_dataset_free(ds);
    freevi(vi);

    /* an NHWC model with the default NCHW layout: a hint, not a garbage shape */
    vi = mkvi("images", ONNXQ_DT_FLOAT, "1,16,16,3");
    onnxq_dataset_options_init(&o);
    expect_fail(tp("imgs"), &vi, 1, &o, "[1,16,16,3]", "layout", NULL);
    o.image.layout = ONNXQ_LAYOUT_NHWC;
    ds = open_ok(tp("imgs"), &vi, 1, &o);
    get_ok(ds, 0, &t);
    ck_assert_int_eq(t.dims[3], 3);
    onnxq_tensor_clear(&t);
    onnxq_dataset_free(ds);
    freevi(vi);

    /* a uint8 NHWC input gets rounded pixel values */
    vi = mkvi("images", ONNXQ_DT_UINT8, "1,16,16,3");
    onnxq_dataset_options_init(&o);
    o.image.layout = ONNXQ_LAYOUT_NHWC;
    o.image.scale = 1.0f;
    ds = open_ok(tp("imgs/a.png"), &vi, 1, &o);
    get_ok(ds, 0, &t);
    ck_assert_int_eq(t.dtype, ONNXQ_DT_UINT8);
    double d = diff_npy(&t, tp("u8.npy"), NULL);
    ck_assert_msg(d <= 0.5 + 1e-4, "uint8 rounding: max diff %g", d);
    onnxq_tensor_clear(&t);
    onnxq_dataset_free(ds);
    freevi(vi);

    /* images cannot feed a two-input model */
    struct onnxq_value_info *two[2] = {mkvi("a", ONNXQ_DT_FLOAT, "1,3,8,8"), mkvi("b", ONNXQ_DT_FLOAT, "1,3,8,8")};
    onnxq_dataset_options_init(&o);
    expect_fail(tp("imgs"), two, 2, &o, "2 inputs", NULL);
    freevi(two[0]);
    freevi(two[1]);
}
END_TEST

START_TEST(test_list_file)
{
    py("os.makedirs('pics', exist_ok=True)\n"
       "for i in range(3):\n"
       "    pnm('pics/p%d.ppm' % i, rng.integers(0, 256, (9, 9, 3), dtype=np.uint8))\n"
       "open('list.txt', 'w').write('# calibration images\\n\\npics/p2.png\\n  pics/p0.png  \\r\\n%s/pics/p1.png\\n' "
       "% os.getcwd())\n"
       "open('bad.txt', 'w').write('pics/p0.png\\npics/missing.png\\n')\n"
       "open('mixed.txt', 'w').write('pics/p0.png\\nx.npy\\n')\n"
       "np.save('x.npy', np.zeros((1, 3, 9, 9), np.float32))\n"
       "open('empty.lst', 'w').write('# nothing\\n')\n");
    run("for i in 0 1 2; do convert pics/p$i.ppm pics/p$i.png; done");
    struct onnxq_value_info *vi = mkvi("x", ONNXQ_DT_FLOAT, "1,3,9,9");
    struct onnxq_dataset_options o;
    onnxq_dataset_options_init(&o);
    struct onnxq_dataset *ds = open_ok(tp("list.txt"), &vi, 1, &o);
    ck_assert_uint_eq(onnxq_dataset_size(ds), 3);
    assert_has(onnxq_dataset_describe(ds), "list.txt");
    for (size_t b = 0; b < 3; b++) {
        struct onnxq_tensor t;
        get_ok(ds, b, &t);
        onnxq_tensor_clear(&t);
    }
    onnxq_dataset_free(ds);
    expect_fail(tp("bad.txt"), &vi, 1, &o, "bad.txt:2", "missing.png", NULL);
    expect_fail(tp("mixed.txt"), &vi, 1, &o, "mixed.txt:2", "mixes", NULL);
    expect_fail(tp("empty.lst"), &vi, 1, &o, "empty.lst", "empty dataset", NULL);
    freevi(vi);
}
END_TEST

/* ---- .npy ----------------------------------------------------------------------- */

START_TEST(test_npy_dtypes)
{
    py("np.save('f32.npy', rng.standard_normal((6, 2, 3)).astype(np.float32))\n"
       "np.save('f64.npy', rng.standard_normal((6, 2, 3)))\n"
       "np.save('u8.npy', rng.integers(0, 256, (6, 2, 3), dtype=np.uint8))\n"
       "for name in ('f32', 'f64', 'u8'):\n"
       "    a = np.load(name + '.npy')\n"
       "    os.makedirs(name + '_dir')\n"
       "    for i in range(6):\n"
       "        np.save('%s_dir/s%02d.npy' % (name, i), a[i:i+1])\n"
       "    os.makedirs(name + '_norank')\n"
       "    for i in range(6):\n"
       "        np.save('%s_norank/s%02d.npy' % (name, i), a[i])\n");
    static const struct {
        const char *name;
        enum onnxq_dtype in, data;
    } cases[] = {
        {"f32", ONNXQ_DT_FLOAT, ONNXQ_DT_FLOAT},
        {"f64", ONNXQ_DT_DOUBLE, ONNXQ_DT_DOUBLE},
        {"f64", ONNXQ_DT_FLOAT, ONNXQ_DT_DOUBLE}, /* float64 data converted for a float input */
        {"u8", ONNXQ_DT_UINT8, ONNXQ_DT_UINT8},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct onnxq_tensor all;
        struct onnxq_error err;
        char file[32];
        snprintf(file, sizeof(file), "%s.npy", cases[c].name);
        ck_assert_msg(onnxq_npy_read(tp("%s", file), &all, &err) == ONNXQ_OK, "%s", err.message);
        ck_assert_int_eq(all.dtype, cases[c].data);
        struct onnxq_value_info *vi = mkvi("x", cases[c].in, "N,2,3");
        const char *sources[3] = {file, NULL, NULL};
        char d1[32], d2[32];
        snprintf(d1, sizeof(d1), "%s_dir", cases[c].name);
        snprintf(d2, sizeof(d2), "%s_norank", cases[c].name);
        sources[1] = d1;
        sources[2] = d2;
        for (int s = 0; s < 3; s++) {
            struct onnxq_dataset_options o;
            onnxq_dataset_options_init(&o);
            o.batch = 6;
            o.seed = 3;
            struct onnxq_dataset *ds = open_ok(tp("%s", sources[s]), &vi, 1, &o);
            ck_assert_uint_eq(onnxq_dataset_size(ds), 6);
            struct onnxq_tensor t;
            get_ok(ds, 0, &t);
            ck_assert_int_eq(t.dtype, cases[c].in);
            ck_assert_int_eq(t.ndim, 3);
            ck_assert_int_eq(t.dims[0], 6);
            /* a permutation of the rows, the same for every source (same seed) */
            static int perm[6];
            int used[6] = {0};
            for (int r = 0; r < 6; r++) {
                int match = -1;
                for (int q = 0; q < 6 && match < 0; q++) {
                    double mx = 0;
                    for (int e = 0; e < 6; e++) {
                        double a = to_double(&t, (size_t)(r * 6 + e)), b = to_double(&all, (size_t)(q * 6 + e));
                        double tol = cases[c].in == cases[c].data ? 0 : 1e-6 * fabs(b);
                        if (fabs(a - b) > tol)
                            mx = 1;
                    }
                    if (mx == 0)
                        match = q;
                }
                ck_assert_msg(match >= 0, "%s from %s: row %d matches no sample", cases[c].name, sources[s], r);
                ck_assert_int_eq(used[match]++, 0);
                if (s == 0)
                    perm[r] = match;
                else
                    ck_assert_int_eq(perm[r], match);
            }
            onnxq_tensor_clear(&t);
            onnxq_dataset_free(ds);
        }
        freevi(vi);
        onnxq_tensor_clear(&all);
    }
}
END_TEST

START_TEST(test_npy_bad)
{
    py("np.save('fortran.npy', np.asfortranarray(rng.standard_normal((4, 3)).astype(np.float32)))\n"
       "assert b'True' in open('fortran.npy', 'rb').read(128)\n"
       "good = open('fortran.npy', 'rb').read()\n"
       "np.save('ok.npy', np.zeros((4, 3), np.float32))\n"
       "d = bytearray(open('ok.npy', 'rb').read())\n"
       "open('noshape.npy', 'wb').write(d.replace(b\"'shape'\", b\"'shapf'\"))\n"
       "open('badmagic.npy', 'wb').write(b'\\x93NUMPX' + bytes(d[6:]))\n"
       "open('short.npy', 'wb').write(bytes(d[:-5]))\n"
       "open('hlen.npy', 'wb').write(bytes(d[:8]) + b'\\xff\\xff' + bytes(d[10:40]))\n"
       "np.save('big.npy', np.zeros((4, 3), '>f4'))\n"
       "np.save('c16.npy', np.zeros((4, 3), np.complex64))\n");
    struct onnxq_value_info *vi = mkvi("x", ONNXQ_DT_FLOAT, "N,3");
    struct onnxq_dataset_options o;
    onnxq_dataset_options_init(&o);
    expect_fail(tp("fortran.npy"), &vi, 1, &o, "fortran.npy", "Fortran", NULL);
    expect_fail(tp("noshape.npy"), &vi, 1, &o, "noshape.npy", "malformed", NULL);
    expect_fail(tp("badmagic.npy"), &vi, 1, &o, "badmagic.npy", "not a .npy", NULL);
    expect_fail(tp("short.npy"), &vi, 1, &o, "short.npy", "bytes", NULL);
    expect_fail(tp("hlen.npy"), &vi, 1, &o, "hlen.npy", "header", NULL);
    expect_fail(tp("big.npy"), &vi, 1, &o, "big.npy", "big-endian", NULL);
    expect_fail(tp("c16.npy"), &vi, 1, &o, "c16.npy", "not supported", NULL);
    /* the same inside a per-sample folder fails at the batch, naming the file */
    run("mkdir d && cp ok.npy d/0.npy && cp fortran.npy d/1.npy");
    o.batch = 2;
    expect_fail(tp("d"), &vi, 1, &o, "d/1.npy", "Fortran", NULL);
    freevi(vi);
}
END_TEST

/* ---- .npz ------------------------------------------------------------------------ */

START_TEST(test_npz)
{
    py("a = rng.standard_normal((5, 4)).astype(np.float32)\n"
       "b = rng.integers(-9, 9, (5, 2, 2)).astype(np.int64)\n"
       "np.savez('plain.npz', a=a, b=b)\n"
       "np.savez_compressed('packed.npz', a=a, b=b)\n"
       "np.save('a.npy', a); np.save('b.npy', b)\n"
       "np.savez('unnamed.npz', a)\n"
       "import zipfile\n"
       "for f, m in (('plain.npz', zipfile.ZIP_STORED), ('packed.npz', zipfile.ZIP_DEFLATED)):\n"
       "    assert all(i.compress_type == m for i in zipfile.ZipFile(f).infolist()), f\n"
       "os.makedirs('per')\n"
       "for i in range(5):\n"
       "    np.savez_compressed('per/s%d.npz' % i, b=b[i:i+1], a=a[i:i+1])\n");
    struct onnxq_error err;
    const char *files[2] = {"plain.npz", "packed.npz"};
    struct onnxq_tensor ea, eb;
    ck_assert(onnxq_npy_read(tp("a.npy"), &ea, &err) == ONNXQ_OK);
    ck_assert(onnxq_npy_read(tp("b.npy"), &eb, &err) == ONNXQ_OK);
    for (int f = 0; f < 2; f++) {
        char **names = NULL;
        size_t n = 0;
        ck_assert_msg(onnxq_npz_list(tp("%s", files[f]), &names, &n, &err) == ONNXQ_OK, "%s", err.message);
        ck_assert_uint_eq(n, 2);
        ck_assert_str_eq(names[0], "a");
        ck_assert_str_eq(names[1], "b");
        for (size_t i = 0; i < n; i++)
            free(names[i]);
        free(names);
        struct onnxq_tensor t;
        ck_assert_msg(onnxq_npz_read(tp("%s", files[f]), "a", &t, &err) == ONNXQ_OK, "%s", err.message);
        ck_assert(onnxq_tensor_equal(&t, &ea));
        onnxq_tensor_clear(&t);
        ck_assert_msg(onnxq_npz_read(tp("%s", files[f]), "b", &t, &err) == ONNXQ_OK, "%s", err.message);
        ck_assert(onnxq_tensor_equal(&t, &eb));
        onnxq_tensor_clear(&t);
        ck_assert(onnxq_npz_read(tp("%s", files[f]), "c", &t, &err) != ONNXQ_OK);
        assert_has(err.message, files[f]);
        assert_has(err.message, "'c'");
        assert_has(err.message, "'a', 'b'");
    }

    /* two-input datasets: one .npz with samples on axis 0, or one .npz per sample */
    struct onnxq_value_info *vis[2] = {mkvi("b", ONNXQ_DT_INT64, "N,2,2"), mkvi("a", ONNXQ_DT_FLOAT, "N,4")};
    const char *sources[3] = {"plain.npz", "packed.npz", "per"};
    for (int s = 0; s < 3; s++) {
        struct onnxq_dataset_options o;
        onnxq_dataset_options_init(&o);
        o.seed = 11;
        struct onnxq_dataset *ds = open_ok(tp("%s", sources[s]), vis, 2, &o);
        ck_assert_uint_eq(onnxq_dataset_size(ds), 5);
        for (size_t i = 0; i < 5; i++) {
            struct onnxq_tensor t[2];
            get_ok(ds, i, t);
            ck_assert_int_eq(t[0].dtype, ONNXQ_DT_INT64);
            ck_assert_int_eq(t[0].dims[0], 1);
            ck_assert_int_eq(t[1].dims[1], 4);
            /* find the sample of a; b must be the same sample */
            int q = -1;
            for (int r = 0; r < 5; r++)
                if (memcmp((float *)ea.data + r * 4, t[1].data, 16) == 0)
                    q = r;
            ck_assert_msg(q >= 0, "%s: a row not found", sources[s]);
            ck_assert(memcmp((int64_t *)eb.data + q * 4, t[0].data, 32) == 0);
            onnxq_tensor_clear(&t[0]);
            onnxq_tensor_clear(&t[1]);
        }
        onnxq_dataset_free(ds);
    }
    /* an array missing for an input */
    struct onnxq_value_info *vc[2] = {mkvi("a", ONNXQ_DT_FLOAT, "N,4"), mkvi("c", ONNXQ_DT_FLOAT, "N,4")};
    expect_fail(tp("packed.npz"), vc, 2, NULL, "packed.npz", "no array named 'c'", NULL);
    /* np.savez(f, x) without a name (arr_0) serves a single-input model */
    struct onnxq_value_info *v1 = mkvi("input", ONNXQ_DT_FLOAT, "N,4");
    struct onnxq_dataset *ds = open_ok(tp("unnamed.npz"), &v1, 1, NULL);
    ck_assert_uint_eq(onnxq_dataset_size(ds), 5);
    onnxq_dataset_free(ds);
    freevi(v1);
    freevi(vc[0]);
    freevi(vc[1]);
    freevi(vis[0]);
    freevi(vis[1]);
    onnxq_tensor_clear(&ea);
    onnxq_tensor_clear(&eb);
}
END_TEST

START_TEST(test_npz_bad)
{
    py("a = np.arange(12, dtype=np.float32)\n"
       "np.savez('ok.npz', a=a)\n"
       "np.savez_compressed('okc.npz', a=np.zeros(1000, np.float32))\n"
       "d = open('ok.npz', 'rb').read()\n"
       "open('cut.npz', 'wb').write(d[:len(d) - 30])\n"
       "open('head.npz', 'wb').write(d[:len(d) // 2])\n"
       "b = bytearray(d); i = b.index(b'\\x93NUMPY'); b[i + 100] ^= 1\n"
       "open('crc.npz', 'wb').write(b)\n"
       "c = bytearray(open('okc.npz', 'rb').read()); i = c.index(b'a.npy', 30) + 5 + 20\n"
       "c[i:i+8] = b'\\xff' * 8\n"
       "open('inflate.npz', 'wb').write(c)\n"
       "open('text.npz', 'w').write('not a zip file at all, but long enough to hold a record')\n"
       "open('empty.npz', 'w').close()\n"
       "import zipfile\n"
       "with zipfile.ZipFile('bz.npz', 'w', zipfile.ZIP_BZIP2) as z:\n"
       "    z.writestr('a.npy', b'x' * 100)\n"
       "zipfile.ZIP64_LIMIT = 64; zipfile.ZIP_FILECOUNT_LIMIT = 1\n" /* a real zip64 archive, but small */
       "with zipfile.ZipFile('z64.npz', 'w', allowZip64=True) as z:\n"
       "    z.writestr('a.npy', open('ok.npz', 'rb').read()); z.writestr('b.npy', b'x' * 100)\n"
       "assert b'PK\\x06\\x06' in open('z64.npz', 'rb').read()\n"
       "assert zipfile.ZipFile('z64.npz').read('b.npy') == b'x' * 100\n"
       "with zipfile.ZipFile('notnpy.npz', 'w') as z:\n"
       "    z.writestr('a.npy', b'hello')\n");
    struct onnxq_tensor t;
    memset(&t, 0, sizeof(t));
    struct onnxq_error err;
    static const struct {
        const char *file, *needle;
    } cases[] = {
        {"cut.npz", "end-of-central-directory"}, {"head.npz", "end-of-central-directory"},
        {"crc.npz", "CRC"},                      {"inflate.npz", "deflate"},
        {"text.npz", "not a valid .npz"},        {"empty.npz", "empty"},
        {"bz.npz", "compression method 12"},     {"z64.npz", "zip64"},
        {"notnpy.npz", "not a .npy"},            {"nothere.npz", "cannot open"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum onnxq_status st = onnxq_npz_read(tp("%s", cases[i].file), "a", &t, &err);
        ck_assert_msg(st != ONNXQ_OK, "%s: read succeeded", cases[i].file);
        ck_assert_ptr_null(t.data);
        assert_has(err.message, cases[i].file);
        assert_has(err.message, cases[i].needle);
    }
    struct onnxq_value_info *vi = mkvi("a", ONNXQ_DT_FLOAT, "N");
    expect_fail(tp("crc.npz"), &vi, 1, NULL, "crc.npz", "CRC", NULL);
    freevi(vi);
}
END_TEST

/* ---- ONNX test data (.pb) ---------------------------------------------------------- */

START_TEST(test_pb_testdata)
{
    py("import onnx\nfrom onnx import numpy_helper\n"
       "xs = rng.standard_normal((4, 1, 3, 2, 2)).astype(np.float32)\n"
       "ms = rng.integers(0, 5, (4, 1, 7)).astype(np.int64)\n"
       "for i in range(4):\n"
       "    d = 'td/test_data_set_%d' % i\n"
       "    os.makedirs(d)\n"
       "    open(d + '/input_0.pb', 'wb').write(numpy_helper.from_array(xs[i], 'x').SerializeToString())\n"
       "    open(d + '/input_1.pb', 'wb').write(numpy_helper.from_array(ms[i], 'mask').SerializeToString())\n"
       "    open(d + '/output_0.pb', 'wb').write(numpy_helper.from_array(xs[i] * 2, 'y').SerializeToString())\n"
       "np.save('xs.npy', xs); np.save('ms.npy', ms)\n"
       "os.makedirs('short/test_data_set_0')\n"
       "open('short/test_data_set_0/input_0.pb', 'wb').write(numpy_helper.from_array(xs[0]).SerializeToString())\n"
       "os.makedirs('garbage/test_data_set_0')\n"
       "open('garbage/test_data_set_0/input_0.pb', 'wb').write(b'\\xff\\xff\\xff\\xff garbage')\n"
       "open('garbage/test_data_set_0/input_1.pb', 'wb').write(b'')\n");
    struct onnxq_value_info *vis[2] = {mkvi("x", ONNXQ_DT_FLOAT, "N,3,2,2"), mkvi("mask", ONNXQ_DT_INT64, "N,L")};
    struct onnxq_tensor xs, ms;
    struct onnxq_error err;
    ck_assert(onnxq_npy_read(tp("xs.npy"), &xs, &err) == ONNXQ_OK);
    ck_assert(onnxq_npy_read(tp("ms.npy"), &ms, &err) == ONNXQ_OK);
    struct onnxq_dataset_options o;
    onnxq_dataset_options_init(&o);
    o.seed = 5;
    struct onnxq_dataset *ds = open_ok(tp("td"), vis, 2, &o);
    ck_assert_uint_eq(onnxq_dataset_size(ds), 4);
    assert_has(onnxq_dataset_describe(ds), "ONNX test data");
    int seen[4] = {0};
    for (size_t b = 0; b < 4; b++) {
        struct onnxq_tensor t[2];
        get_ok(ds, b, t);
        ck_assert_int_eq(t[1].ndim, 2);
        ck_assert_int_eq(t[1].dims[1], 7); /* L from the data */
        int q = -1;
        for (int i = 0; i < 4; i++)
            if (memcmp((float *)xs.data + i * 12, t[0].data, 48) == 0)
                q = i;
        ck_assert_int_ge(q, 0);
        seen[q]++;
        ck_assert(memcmp((int64_t *)ms.data + q * 7, t[1].data, 56) == 0);
        onnxq_tensor_clear(&t[0]);
        onnxq_tensor_clear(&t[1]);
    }
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(seen[i], 1);
    onnxq_dataset_free(ds);
    /* a test_data_set folder itself is one sample */
    ds = open_ok(tp("td/test_data_set_2"), vis, 2, &o);
    ck_assert_uint_eq(onnxq_dataset_size(ds), 1);
    onnxq_dataset_free(ds);
    expect_fail(tp("short"), vis, 2, &o, "test_data_set_0", "1 input_*.pb", "2 inputs", NULL);
    expect_fail(tp("garbage"), vis, 2, &o, "input_0.pb", NULL);
    /* a single .pb file is one sample */
    ds = open_ok(tp("td/test_data_set_1/input_0.pb"), vis, 1, &o);
    ck_assert_uint_eq(onnxq_dataset_size(ds), 1);
    onnxq_dataset_free(ds);
    freevi(vis[0]);
    freevi(vis[1]);
    onnxq_tensor_clear(&xs);
    onnxq_tensor_clear(&ms);
}
END_TEST

/* ---- multi-input subfolders -------------------------------------------------------- */

START_TEST(test_multi_input_dirs)
{
    /* sample i: ids = i (.npy), mask = 100 + i (.pb); names sort in sample order */
    py("from onnx import numpy_helper\n"
       "os.makedirs('m/input_ids'); os.makedirs('m/attention_mask'); os.makedirs('m/extra')\n"
       "for i in range(12):\n"
       "    np.save('m/input_ids/%03d.npy' % i, np.full((1, 6), i, np.int64))\n"
       "    t = numpy_helper.from_array(np.full((1, 6), 100 + i, np.int64))\n"
       "    open('m/attention_mask/%03d.pb' % i, 'wb').write(t.SerializeToString())\n"
       "open('m/input_ids/notes.md', 'w').write('x')\n"
       "os.makedirs('uneven/input_ids'); os.makedirs('uneven/attention_mask')\n"
       "for i in range(3):\n"
       "    np.save('uneven/input_ids/%d.npy' % i, np.zeros((1, 6), np.int64))\n"
       "np.save('uneven/attention_mask/0.npy', np.zeros((1, 6), np.int64))\n"
       "os.makedirs('half/input_ids')\n"
       "np.save('half/input_ids/0.npy', np.zeros((1, 6), np.int64))\n");
    struct onnxq_value_info *vis[2] = {mkvi("input_ids", ONNXQ_DT_INT64, "batch,seq"),
                                       mkvi("attention_mask", ONNXQ_DT_INT64, "batch,seq")};
    struct onnxq_dataset_options o;
    onnxq_dataset_options_init(&o);
    o.seed = 99;
    o.batch = 5;
    struct onnxq_dataset *ds = open_ok(tp("m"), vis, 2, &o);
    ck_assert_uint_eq(onnxq_dataset_size(ds), 12);
    ck_assert_uint_eq(onnxq_dataset_batches(ds), 3);
    int seen[12] = {0};
    for (size_t b = 0; b < 3; b++) {
        struct onnxq_tensor t[2];
        get_ok(ds, b, t);
        int64_t rows = b < 2 ? 5 : 2;
        ck_assert_int_eq(t[0].dims[0], rows);
        ck_assert_int_eq(t[1].dims[0], rows);
        ck_assert_int_eq(t[0].dims[1], 6);
        const int64_t *ids = t[0].data, *mask = t[1].data;
        for (int64_t r = 0; r < rows; r++) {
            ck_assert_int_eq(mask[r * 6], ids[r * 6] + 100); /* i-th files pair up */
            ck_assert(ids[r * 6] >= 0 && ids[r * 6] < 12);
            seen[ids[r * 6]]++;
        }
        onnxq_tensor_clear(&t[0]);
        onnxq_tensor_clear(&t[1]);
    }
    for (int i = 0; i < 12; i++)
        ck_assert_int_eq(seen[i], 1);
    assert_has(onnxq_dataset_describe(ds), "batches of 5");
    onnxq_dataset_free(ds);
    expect_fail(tp("uneven"), vis, 2, &o, "1 samples for input 'attention_mask'", "3 for input 'input_ids'", NULL);
    expect_fail(tp("half"), vis, 2, &o, "no subfolder for input 'attention_mask'", NULL);
    /* symbolic 'seq' must agree across the inputs of a sample */
    run("mkdir -p s/input_ids s/attention_mask");
    py("np.save('s/input_ids/0.npy', np.zeros((1, 6), np.int64))\n"
       "np.save('s/attention_mask/0.npy', np.zeros((1, 7), np.int64))\n");
    expect_fail(tp("s"), vis, 2, &o, "'seq'", "6", "7", "input_ids", "attention_mask", NULL);
    freevi(vis[0]);
    freevi(vis[1]);
}
END_TEST

/* ---- shuffling, count, batching -------------------------------------------------- */

static void order_of(const char *path, uint64_t seed, size_t count, int *out, size_t *n)
{
    struct onnxq_value_info *vi = mkvi("x", ONNXQ_DT_FLOAT, "N,2");
    struct onnxq_dataset_options o;
    onnxq_dataset_options_init(&o);
    o.seed = seed;
    o.count = count;
    struct onnxq_dataset *ds = open_ok(path, &vi, 1, &o);
    *n = onnxq_dataset_size(ds);
    for (size_t b = 0; b < *n; b++) {
        struct onnxq_tensor t;
        get_ok(ds, b, &t);
        out[b] = (int)((float *)t.data)[0];
        onnxq_tensor_clear(&t);
    }
    onnxq_dataset_free(ds);
    freevi(vi);
}

START_TEST(test_shuffle)
{
    py("os.makedirs('s')\n"
       "for i in range(40):\n"
       "    np.save('s/%02d.npy' % i, np.full((1, 2), i, np.float32))\n");
    int a[40], b[40], c[40], d[40];
    size_t na, nb, nc, nd;
    order_of(tp("s"), 1, 0, a, &na);
    order_of(tp("s"), 1, 0, b, &nb);
    order_of(tp("s"), 2, 0, c, &nc);
    order_of(tp("s"), 1, 10, d, &nd);
    ck_assert_uint_eq(na, 40);
    ck_assert_uint_eq(nd, 10);
    ck_assert(memcmp(a, b, sizeof(a)) == 0);   /* same seed, same order */
    ck_assert(memcmp(a, c, sizeof(a)) != 0);   /* another seed, another order */
    ck_assert(memcmp(a, d, 10 * sizeof(int)) == 0); /* count cuts the shuffled order */
    int seen[40] = {0}, in_place = 0;
    for (int i = 0; i < 40; i++) {
        seen[a[i]]++;
        in_place += a[i] == i;
    }
    for (int i = 0; i < 40; i++)
        ck_assert_int_eq(seen[i], 1);
    ck_assert_int_lt(in_place, 40); /* seed 0 shuffles too: checked below */
    int z[40];
    size_t nz;
    order_of(tp("s"), 0, 0, z, &nz);
    int fixed = 0;
    for (int i = 0; i < 40; i++)
        fixed += z[i] == i;
    ck_assert_int_lt(fixed, 40);
}
END_TEST

START_TEST(test_batching)
{
    py("np.save('ten.npy', np.arange(10 * 3, dtype=np.float32).reshape(10, 3))\n"
       "os.makedirs('var')\n"
       "np.save('var/0.npy', np.zeros((1, 3), np.float32)); np.save('var/1.npy', np.zeros((1, 4), np.float32))\n");
    struct onnxq_dataset_options o;
    onnxq_dataset_options_init(&o);
    o.batch = 4;
    o.seed = 42;
    /* symbolic dim 0: batches of 4, 4, 2 whose rows follow the batch-1 order */
    struct onnxq_value_info *vi = mkvi("x", ONNXQ_DT_FLOAT, "N,3");
    struct onnxq_dataset *ds = open_ok(tp("ten.npy"), &vi, 1, &o);
    ck_assert_uint_eq(onnxq_dataset_size(ds), 10);
    ck_assert_uint_eq(onnxq_dataset_batches(ds), 3);
    struct onnxq_dataset_options o1 = o;
    o1.batch = 1;
    struct onnxq_dataset *ds1 = open_ok(tp("ten.npy"), &vi, 1, &o1);
    size_t row = 0;
    for (size_t b = 0; b < 3; b++) {
        struct onnxq_tensor t;
        get_ok(ds, b, &t);
        ck_assert_int_eq(t.dims[0], b < 2 ? 4 : 2);
        for (int64_t r = 0; r < t.dims[0]; r++, row++) {
            struct onnxq_tensor s;
            get_ok(ds1, row, &s);
            ck_assert_int_eq(s.dims[0], 1);
            ck_assert(memcmp((float *)t.data + r * 3, s.data, 12) == 0);
            onnxq_tensor_clear(&s);
        }
        onnxq_tensor_clear(&t);
    }
    struct onnxq_tensor t;
    struct onnxq_error err;
    ck_assert_int_eq(onnxq_dataset_get_batch(ds, 3, &t, &err), ONNXQ_E_INVALID_ARG);
    assert_has(err.message, "out of range");
    onnxq_dataset_free(ds);
    onnxq_dataset_free(ds1);
    freevi(vi);

    /* dim 0 fixed to the batch: only full batches are kept */
    vi = mkvi("x", ONNXQ_DT_FLOAT, "4,3");
    ds = open_ok(tp("ten.npy"), &vi, 1, &o);
    ck_assert_uint_eq(onnxq_dataset_size(ds), 8);
    ck_assert_uint_eq(onnxq_dataset_batches(ds), 2);
    get_ok(ds, 1, &t);
    ck_assert_int_eq(t.dims[0], 4);
    onnxq_tensor_clear(&t);
    onnxq_dataset_free(ds);
    o.count = 3;
    expect_fail(tp("ten.npy"), &vi, 1, &o, "fewer than one batch of 4", NULL);
    o.count = 0;
    freevi(vi);

    /* dim 0 fixed to something else: refused up front */
    vi = mkvi("x", ONNXQ_DT_FLOAT, "1,3");
    expect_fail(tp("ten.npy"), &vi, 1, &o, "batch 4", "'x'", "[1,3]", "symbolic", NULL);
    freevi(vi);

    /* samples of different symbolic sizes cannot share a batch */
    vi = mkvi("x", ONNXQ_DT_FLOAT, "N,S");
    o.batch = 2;
    expect_fail(tp("var"), &vi, 1, &o, "cannot be batched", "[1,3]", "[1,4]", NULL);
    o.batch = 1;
    ds = open_ok(tp("var"), &vi, 1, &o);
    for (size_t b = 0; b < 2; b++) {
        get_ok(ds, b, &t);
        ck_assert_int_eq(t.dims[0], 1);
        ck_assert(t.dims[1] == 3 || t.dims[1] == 4); /* S from the data */
        onnxq_tensor_clear(&t);
    }
    onnxq_dataset_free(ds);
    freevi(vi);
}
END_TEST

/* ---- shape and dtype checks ---------------------------------------------------------- */

START_TEST(test_shape_mismatch)
{
    py("os.makedirs('d')\n"
       "np.save('d/a.npy', np.zeros((1, 3, 8, 8), np.float32))\n"
       "np.save('d/b.npy', np.zeros((1, 3, 9, 8), np.float32))\n"
       "np.save('ch.npy', np.zeros((5, 4, 8, 8), np.float32))\n"
       "np.save('rank.npy', np.zeros((5, 8), np.float32))\n"
       "np.save('u8.npy', np.zeros((5, 3, 8, 8), np.uint8))\n"
       "np.save('i64.npy', np.zeros((5, 3, 8, 8), np.int64))\n");
    struct onnxq_value_info *vi = mkvi("pixel_values", ONNXQ_DT_FLOAT, "1,3,8,8");
    struct onnxq_dataset_options o;
    onnxq_dataset_options_init(&o);
    expect_fail(tp("d"), &vi, 1, &o, "d/b.npy", "'pixel_values'", "[1,3,8,8]", "[1,3,9,8]", NULL);
    freevi(vi);
    /* symbolic dims are shown by name in the expected shape */
    vi = mkvi("pixel_values", ONNXQ_DT_FLOAT, "batch,3,height,8");
    expect_fail(tp("ch.npy"), &vi, 1, &o, "ch.npy", "'pixel_values'", "[batch,3,height,8]", "[5,4,8,8]", NULL);
    expect_fail(tp("rank.npy"), &vi, 1, &o, "rank.npy", "[batch,3,height,8]", "[5,8]", NULL);
    /* dtype mismatch names both */
    expect_fail(tp("u8.npy"), &vi, 1, &o, "u8.npy", "float", "uint8", NULL);
    expect_fail(tp("i64.npy"), &vi, 1, &o, "i64.npy", "float", "int64", NULL);
    freevi(vi);
    /* arrays one rank above the input: axis 0 holds samples of the full shape */
    py("np.save('five.npy', np.zeros((6, 1, 3, 8, 8), np.float32))\n");
    vi = mkvi("pixel_values", ONNXQ_DT_FLOAT, "1,3,8,8");
    struct onnxq_dataset *ds = open_ok(tp("five.npy"), &vi, 1, &o);
    ck_assert_uint_eq(onnxq_dataset_size(ds), 6);
    struct onnxq_tensor t;
    get_ok(ds, 5, &t);
    ck_assert_int_eq(t.ndim, 4);
    ck_assert_int_eq(t.dims[0], 1);
    onnxq_tensor_clear(&t);
    onnxq_dataset_free(ds);
    /* ...and per-sample files may leave out the batch axis */
    py("os.makedirs('nob'); np.save('nob/0.npy', np.ones((3, 8, 8), np.float32))\n");
    ds = open_ok(tp("nob"), &vi, 1, &o);
    get_ok(ds, 0, &t);
    ck_assert_int_eq(t.ndim, 4);
    ck_assert_int_eq(t.dims[0], 1);
    onnxq_tensor_clear(&t);
    onnxq_dataset_free(ds);
    freevi(vi);
    /* an input with a fixed batch of 2: an array of its rank holds whole
     * batches on axis 0 (a file shaped like the input is one sample), and
     * rows that do not fill a batch are refused */
    py("np.save('b2.npy', np.arange(6 * 8, dtype=np.float32).reshape(6, 8))\n"
       "np.save('b2odd.npy', np.zeros((5, 8), np.float32))\n");
    vi = mkvi("x", ONNXQ_DT_FLOAT, "2,8");
    ds = open_ok(tp("b2.npy"), &vi, 1, &o);
    ck_assert_uint_eq(onnxq_dataset_size(ds), 3);
    /* the order is shuffled: find sample 1 (rows 2..3) by its first value */
    bool seen = false;
    for (size_t b = 0; b < 3; b++) {
        get_ok(ds, b, &t);
        ck_assert_int_eq(t.ndim, 2);
        ck_assert_int_eq(t.dims[0], 2);
        ck_assert_int_eq(t.dims[1], 8);
        const float *f = t.data;
        if (f[0] == 16.0f) {
            seen = true;
            ck_assert_float_eq(f[15], 31.0f);
        }
        onnxq_tensor_clear(&t);
    }
    ck_assert(seen);
    onnxq_dataset_free(ds);
    expect_fail(tp("b2odd.npy"), &vi, 1, &o, "b2odd.npy", "[2,8]", "[5,8]", "whole samples", NULL);
    freevi(vi);
}
END_TEST

START_TEST(test_empty_and_missing)
{
    py("os.makedirs('empty'); os.makedirs('docs'); open('docs/README.txt', 'w').write('x')\n"
       "open('data.csv', 'w').write('1,2\\n')\n"
       "os.makedirs('mixed'); np.save('mixed/a.npy', np.zeros(2, np.float32))\n"
       "open('mixed/b.pb', 'wb').write(b'')\n"
       "np.save('zero.npy', np.zeros((0, 2), np.float32))\n");
    struct onnxq_value_info *vi = mkvi("x", ONNXQ_DT_FLOAT, "N,2");
    struct onnxq_dataset_options o;
    onnxq_dataset_options_init(&o);
    expect_fail(tp("empty"), &vi, 1, &o, "empty", "empty dataset", NULL);
    expect_fail(tp("docs"), &vi, 1, &o, "docs", "empty dataset", "README.txt", NULL);
    expect_fail(tp("does/not/exist"), &vi, 1, &o, "does/not/exist", "No such file", NULL);
    expect_fail(tp("data.csv"), &vi, 1, &o, "data.csv", "unknown dataset file type", NULL);
    expect_fail(tp("mixed"), &vi, 1, &o, "mixed", "mixes", NULL);
    expect_fail(tp("zero.npy"), &vi, 1, &o, "zero.npy", "empty dataset", NULL);
    /* argument errors */
    struct onnxq_dataset *ds = NULL;
    struct onnxq_error err;
    ck_assert_int_eq(onnxq_dataset_open(tp("zero.npy"), NULL, 0, &o, &ds, &err), ONNXQ_E_INVALID_ARG);
    ck_assert_int_eq(onnxq_dataset_open(NULL, (const struct onnxq_value_info *const *)&vi, 1, &o, &ds, &err),
                     ONNXQ_E_INVALID_ARG);
    ck_assert_ptr_null(ds);
    onnxq_dataset_free(NULL);
    ck_assert_uint_eq(onnxq_dataset_size(NULL), 0);
    freevi(vi);
}
END_TEST

static Suite *dataset_suite(void)
{
    Suite *s = suite_create("dataset");
    TCase *img = tcase_create("image");
    tcase_add_checked_fixture(img, setup, teardown);
    tcase_add_unchecked_fixture(img, image_setup, image_teardown);
    tcase_set_timeout(img, 600);
    tcase_add_loop_test(img, test_png_variants, 0, (int)N_OF(png_cases));
    tcase_add_loop_test(img, test_png16, 0, 2);
    tcase_add_loop_test(img, test_jpeg_variants, 0, (int)N_OF(jpeg_cases));
    tcase_add_loop_test(img, test_image_preprocess, 0, (int)N_OF(pre_cases));
    tcase_add_loop_test(img, test_resize, 0, (int)N_OF(resize_cases));
    tcase_add_test(img, test_resize_vs_pil);
    tcase_add_test(img, test_letterbox_pad);
    tcase_add_loop_test(img, test_image_corrupt, 0, (int)N_OF(bad_images));
    tcase_add_test(img, test_image_dataset);
    tcase_add_test(img, test_list_file);
    suite_add_tcase(s, img);

    TCase *arr = tcase_create("arrays");
    tcase_add_checked_fixture(arr, setup, teardown);
    tcase_set_timeout(arr, 600);
    tcase_add_test(arr, test_npy_dtypes);
    tcase_add_test(arr, test_npy_bad);
    tcase_add_test(arr, test_npz);
    tcase_add_test(arr, test_npz_bad);
    tcase_add_test(arr, test_pb_testdata);
    tcase_add_test(arr, test_multi_input_dirs);
    suite_add_tcase(s, arr);

    TCase *ds = tcase_create("dataset");
    tcase_add_checked_fixture(ds, setup, teardown);
    tcase_set_timeout(ds, 600);
    tcase_add_test(ds, test_shuffle);
    tcase_add_test(ds, test_batching);
    tcase_add_test(ds, test_shape_mismatch);
    tcase_add_test(ds, test_empty_and_missing);
    suite_add_tcase(s, ds);
    return s;
}

int main(void)
{
    if (system(PY " -c 'import numpy, PIL, onnx' 2>/dev/null") != 0 ||
        system("convert -version >/dev/null 2>&1") != 0) {
        fprintf(stderr, "test_dataset needs /usr/bin/python3 with numpy, PIL (python3-pil) and onnx, and "
                        "ImageMagick's convert: run scripts/setup.sh\n");
        return 1;
    }
    return tu_run_suite(dataset_suite());
}
