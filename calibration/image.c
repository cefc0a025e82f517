/* Image decoding (libpng, libjpeg-turbo) and preprocessing for calibration.
 *
 * Decoding gives 8-bit RGB:
 *  - PNG: any bit depth and colour type. Palette and 1/2/4-bit grey are
 *    expanded, 16-bit samples are scaled to 8 bits with rounding
 *    (png_set_scale_16: round(v * 255 / 65535)), grey is replicated to RGB,
 *    alpha (and tRNS transparency) is dropped without compositing. No gamma
 *    correction is applied.
 *  - JPEG: grey and YCbCr are converted by libjpeg; CMYK/YCCK are decoded as
 *    CMYK and converted with R = (255 - C)(255 - K) / 255 (Adobe files store
 *    inverted CMYK, which is handled). EXIF orientation is not applied.
 * Any libpng/libjpeg error or warning (corrupt data, truncated file) fails
 * the load with a message naming the file; the libraries' default handlers,
 * which print or exit(), are never used.
 *
 * Preprocessing works in float on the 8-bit pixels (no re-rounding):
 *  - stretch: bilinear resize to HxW with half-pixel centres,
 *    src = (dst + 0.5) * (src_size / dst_size) - 0.5, clamped to the image;
 *  - letterbox: scale r = min(H/h, W/w), resize to round(w*r) x round(h*r)
 *    (round half up) as above, centre it (offset floor((W - nw) / 2)) on a
 *    canvas of pixel value 114 (the YOLO convention), before normalisation;
 *  - short-side-crop: scale r = max(H/h, W/w) so the image covers HxW,
 *    resize to round(w*r) x round(h*r) and take the centred HxW window
 *    (offset floor((nw - W) / 2)).
 * Then per pixel: gray = 0.299 R + 0.587 G + 0.114 B (computed in float from
 * the resized RGB), value = (pixel * scale - mean[c]) / std[c]. */
#include <math.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h> /* after stdio.h: it uses FILE and size_t */
#include <png.h>

#include "core/error.h"
#include "dataset.h"
#include "io/npy.h"

#define LETTERBOX_PAD 114.0f
/* Largest decoded image accepted, in pixels (guards against absurd headers). */
#define MAX_PIXELS ((size_t)1 << 28)

struct rgb_image {
    int w, h;
    uint8_t *px; /* h * w * 3, RGB */
};

/* ---- PNG ------------------------------------------------------------- */

struct png_ctx {
    const uint8_t *data;
    size_t size, off;
    char msg[256];
};

static void png_read_mem(png_structp png, png_bytep out, size_t len)
{
    struct png_ctx *c = png_get_io_ptr(png);
    if (len > c->size - c->off)
        png_error(png, "file is truncated");
    memcpy(out, c->data + c->off, len);
    c->off += len;
}

static void png_on_error(png_structp png, png_const_charp msg)
{
    struct png_ctx *c = png_get_error_ptr(png);
    snprintf(c->msg, sizeof(c->msg), "%s", msg ? msg : "unknown libpng error");
    png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg; /* warnings (bad ancillary chunks, gamma) do not affect pixels */
}

static enum onnxq_status decode_png(const char *path, const uint8_t *data, size_t size, struct rgb_image *img,
                                    struct onnxq_error *err)
{
    struct png_ctx ctx = {data, size, 0, ""};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx, png_on_error, png_on_warning);
    if (!png)
        return onnxq_fail(err, ONNXQ_E_NOMEM, "%s: out of memory creating a PNG decoder", path);
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return onnxq_fail(err, ONNXQ_E_NOMEM, "%s: out of memory creating a PNG decoder", path);
    }
    /* Everything that longjmp may skip past is volatile and freed after. */
    uint8_t *volatile px = NULL;
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(px);
        free(rows);
        return onnxq_fail(err, ONNXQ_E_PARSE, "%s: corrupt or truncated PNG: %s", path, ctx.msg);
    }
    png_set_read_fn(png, &ctx, png_read_mem);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    int depth = png_get_bit_depth(png, info), ctype = png_get_color_type(png, info);
    if (!w || !h || (size_t)w * h > MAX_PIXELS)
        png_error(png, "image dimensions are zero or too large");
    if (ctype == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    if (depth == 16)
        png_set_scale_16(png);
    /* Always: palette expansion also turns tRNS into an alpha channel. */
    png_set_strip_alpha(png);
    if (ctype == PNG_COLOR_TYPE_GRAY || ctype == PNG_COLOR_TYPE_GRAY_ALPHA)
        png_set_gray_to_rgb(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_channels(png, info) != 3 || png_get_bit_depth(png, info) != 8 ||
        png_get_rowbytes(png, info) != (size_t)w * 3)
        png_error(png, "unexpected pixel layout after conversion to 8-bit RGB");
    px = malloc((size_t)w * h * 3);
    rows = malloc(sizeof(png_bytep) * h);
    if (!px || !rows)
        png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < h; y++)
        rows[y] = px + (size_t)y * w * 3;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    img->w = (int)w;
    img->h = (int)h;
    img->px = px;
    return ONNXQ_OK;
}

/* ---- JPEG ------------------------------------------------------------ */

struct jpeg_err {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];
};

static void jpeg_on_exit(j_common_ptr cinfo)
{
    struct jpeg_err *e = (struct jpeg_err *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, e->msg);
    longjmp(e->jb, 1);
}

/* Warnings (level -1) mean corrupt data (e.g. premature end of file): fail.
 * Trace messages (level >= 0) are ignored. */
static void jpeg_on_message(j_common_ptr cinfo, int level)
{
    if (level < 0)
        jpeg_on_exit(cinfo);
}

static enum onnxq_status decode_jpeg(const char *path, const uint8_t *data, size_t size, struct rgb_image *img,
                                     struct onnxq_error *err)
{
    struct jpeg_decompress_struct cinfo;
    struct jpeg_err jerr;
    uint8_t *volatile px = NULL;
    uint8_t *volatile row = NULL;
    memset(&cinfo, 0, sizeof(cinfo));
    cinfo.err = jpeg_std_error(&jerr.pub);
    jerr.pub.error_exit = jpeg_on_exit;
    jerr.pub.emit_message = jpeg_on_message;
    jerr.msg[0] = '\0';
    if (setjmp(jerr.jb)) {
        jpeg_destroy_decompress(&cinfo);
        free(px);
        free(row);
        return onnxq_fail(err, ONNXQ_E_PARSE, "%s: corrupt or truncated JPEG: %s", path, jerr.msg);
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, (unsigned char *)data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    int inverted = cmyk && cinfo.saw_Adobe_marker;
    cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_start_decompress(&cinfo);
    size_t w = cinfo.output_width, h = cinfo.output_height;
    int nc = cinfo.output_components;
    if (!w || !h || w * h > MAX_PIXELS) {
        snprintf(jerr.msg, sizeof(jerr.msg), "image dimensions are zero or too large");
        longjmp(jerr.jb, 1);
    }
    if (nc != (cmyk ? 4 : 3)) {
        snprintf(jerr.msg, sizeof(jerr.msg), "unexpected number of output components %d", nc);
        longjmp(jerr.jb, 1);
    }
    px = malloc(w * h * 3);
    row = malloc(w * (size_t)nc);
    if (!px || !row) {
        snprintf(jerr.msg, sizeof(jerr.msg), "out of memory");
        longjmp(jerr.jb, 1);
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        size_t y = cinfo.output_scanline;
        JSAMPROW r = row;
        if (jpeg_read_scanlines(&cinfo, &r, 1) != 1) {
            snprintf(jerr.msg, sizeof(jerr.msg), "scanline %zu could not be read", y);
            longjmp(jerr.jb, 1);
        }
        uint8_t *dst = px + y * w * 3;
        if (!cmyk) {
            memcpy(dst, row, w * 3);
            continue;
        }
        for (size_t x = 0; x < w; x++) {
            const uint8_t *s = row + x * 4;
            /* ink amounts 0..255 (Adobe files store 255 - ink) */
            unsigned k = inverted ? 255u - s[3] : s[3];
            for (int c = 0; c < 3; c++) {
                unsigned ink = inverted ? 255u - s[c] : s[c];
                dst[x * 3 + c] = (uint8_t)(((255u - ink) * (255u - k) + 127u) / 255u);
            }
        }
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(row);
    img->w = (int)w;
    img->h = (int)h;
    img->px = px;
    return ONNXQ_OK;
}

/* ---- preprocessing ----------------------------------------------------- */

/* Per output coordinate along one axis: the two source indices and the weight
 * of the second, for a source of n_src pixels resized to n_virt pixels, of
 * which output k is virtual pixel k + off. */
static void axis_map(int n_src, int n_virt, int off, int n_out, int *i0, int *i1, float *wt)
{
    double sc = (double)n_src / (double)n_virt;
    for (int k = 0; k < n_out; k++) {
        double s = ((double)(k + off) + 0.5) * sc - 0.5;
        if (s < 0)
            s = 0;
        if (s > n_src - 1)
            s = n_src - 1;
        int a = (int)floor(s);
        i0[k] = a;
        i1[k] = a + 1 < n_src ? a + 1 : a;
        wt[k] = (float)(s - a);
    }
}

/* Bilinear resample of img (virtual size vw x vh, window at ox,oy of size
 * ow x oh) into dst (RGB float rows of dst_stride pixels). */
static int resample(const struct rgb_image *img, int vw, int vh, int ox, int oy, int ow, int oh, float *dst,
                    size_t dst_stride)
{
    int *xi0 = malloc(sizeof(int) * (size_t)ow), *xi1 = malloc(sizeof(int) * (size_t)ow);
    int *yi0 = malloc(sizeof(int) * (size_t)oh), *yi1 = malloc(sizeof(int) * (size_t)oh);
    float *xw = malloc(sizeof(float) * (size_t)ow), *yw = malloc(sizeof(float) * (size_t)oh);
    int ok = xi0 && xi1 && yi0 && yi1 && xw && yw;
    if (ok) {
        axis_map(img->w, vw, ox, ow, xi0, xi1, xw);
        axis_map(img->h, vh, oy, oh, yi0, yi1, yw);
        size_t sstride = (size_t)img->w * 3;
        for (int y = 0; y < oh; y++) {
            const uint8_t *r0 = img->px + (size_t)yi0[y] * sstride, *r1 = img->px + (size_t)yi1[y] * sstride;
            float wy = yw[y];
            float *d = dst + (size_t)y * dst_stride * 3;
            for (int x = 0; x < ow; x++) {
                size_t a = (size_t)xi0[x] * 3, b = (size_t)xi1[x] * 3;
                float wx = xw[x];
                for (int c = 0; c < 3; c++) {
                    float top = (float)r0[a + c] + wx * ((float)r0[b + c] - (float)r0[a + c]);
                    float bot = (float)r1[a + c] + wx * ((float)r1[b + c] - (float)r1[a + c]);
                    d[(size_t)x * 3 + c] = top + wy * (bot - top);
                }
            }
        }
    }
    free(xi0);
    free(xi1);
    free(yi0);
    free(yi1);
    free(xw);
    free(yw);
    return ok;
}

static int round_dim(double v)
{
    double r = floor(v + 0.5);
    return r < 1 ? 1 : (int)r;
}

/* RGB float canvas of H x W after the chosen resize; NULL when out of memory. */
static float *resize_image(const struct rgb_image *img, const struct onnxq_image_options *o)
{
    int H = o->height, W = o->width;
    float *c = malloc(sizeof(float) * (size_t)H * (size_t)W * 3);
    if (!c)
        return NULL;
    int ok;
    if (o->resize == ONNXQ_RESIZE_LETTERBOX) {
        double r = fmin((double)H / img->h, (double)W / img->w);
        int nw = round_dim(img->w * r), nh = round_dim(img->h * r);
        if (nw > W)
            nw = W;
        if (nh > H)
            nh = H;
        int left = (W - nw) / 2, top = (H - nh) / 2;
        for (size_t i = 0; i < (size_t)H * (size_t)W * 3; i++)
            c[i] = LETTERBOX_PAD;
        ok = resample(img, nw, nh, 0, 0, nw, nh, c + ((size_t)top * (size_t)W + (size_t)left) * 3, (size_t)W);
    } else if (o->resize == ONNXQ_RESIZE_SHORT_SIDE_CROP) {
        double r = fmax((double)H / img->h, (double)W / img->w);
        int nw = round_dim(img->w * r), nh = round_dim(img->h * r);
        if (nw < W)
            nw = W;
        if (nh < H)
            nh = H;
        ok = resample(img, nw, nh, (nw - W) / 2, (nh - H) / 2, W, H, c, (size_t)W);
    } else {
        ok = resample(img, W, H, 0, 0, W, H, c, (size_t)W);
    }
    if (!ok) {
        free(c);
        return NULL;
    }
    return c;
}

static enum onnxq_status check_options(const char *path, const struct onnxq_image_options *o,
                                       struct onnxq_error *err)
{
    if (o->height <= 0 || o->width <= 0 || o->height > 65536 || o->width > 65536 ||
        (size_t)o->height * (size_t)o->width > MAX_PIXELS)
        return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "%s: invalid target image size %dx%d", path, o->width,
                          o->height);
    if ((unsigned)o->resize > ONNXQ_RESIZE_SHORT_SIDE_CROP || (unsigned)o->layout > ONNXQ_LAYOUT_NHWC ||
        (unsigned)o->color > ONNXQ_COLOR_GRAY)
        return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "%s: invalid image resize, layout or color option", path);
    if (!isfinite(o->scale))
        return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "%s: image scale must be finite", path);
    for (int i = 0; i < 3; i++)
        if (!isfinite(o->mean[i]) || !isfinite(o->std[i]) || o->std[i] == 0.0f)
            return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "%s: image mean must be finite and std finite and non-zero",
                              path);
    return ONNXQ_OK;
}

enum onnxq_status onnxq_image_load(const char *path, const struct onnxq_image_options *o, struct onnxq_tensor *out,
                                   struct onnxq_error *err)
{
    if (!path || !o || !out)
        return onnxq_fail(err, ONNXQ_E_INVALID_ARG, "onnxq_image_load: NULL argument");
    enum onnxq_status st = check_options(path, o, err);
    if (st)
        return st;
    uint8_t *data = NULL;
    size_t size = 0;
    if ((st = onnxq_read_file(path, &data, &size, err)))
        return st;
    struct rgb_image img = {0, 0, NULL};
    if (size >= 8 && memcmp(data, "\x89PNG\r\n\x1a\n", 8) == 0)
        st = decode_png(path, data, size, &img, err);
    else if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
        st = decode_jpeg(path, data, size, &img, err);
    else
        st = onnxq_fail(err, ONNXQ_E_UNSUPPORTED, "%s: not a PNG or JPEG image%s", path,
                        size ? "" : " (the file is empty)");
    free(data);
    if (st)
        return st;

    float *canvas = resize_image(&img, o);
    free(img.px);
    if (!canvas)
        return onnxq_fail(err, ONNXQ_E_NOMEM, "%s: out of memory resizing the image", path);
    int C = o->color == ONNXQ_COLOR_GRAY ? 1 : 3;
    int64_t H = o->height, W = o->width;
    int64_t dims[4] = {1, C, H, W};
    if (o->layout == ONNXQ_LAYOUT_NHWC) {
        dims[1] = H;
        dims[2] = W;
        dims[3] = C;
    }
    struct onnxq_tensor t;
    if ((st = onnxq_tensor_alloc(&t, ONNXQ_DT_FLOAT, 4, dims, err))) {
        free(canvas);
        onnxq_error_prefix(err, "%s: ", path);
        return st;
    }
    float *v = t.data;
    size_t plane = (size_t)H * (size_t)W;
    for (size_t p = 0; p < plane; p++) {
        const float *rgb = canvas + p * 3;
        float ch[3];
        if (o->color == ONNXQ_COLOR_GRAY) {
            ch[0] = 0.299f * rgb[0] + 0.587f * rgb[1] + 0.114f * rgb[2];
        } else if (o->color == ONNXQ_COLOR_BGR) {
            ch[0] = rgb[2];
            ch[1] = rgb[1];
            ch[2] = rgb[0];
        } else {
            ch[0] = rgb[0];
            ch[1] = rgb[1];
            ch[2] = rgb[2];
        }
        for (int c = 0; c < C; c++) {
            float val = (ch[c] * o->scale - o->mean[c]) / o->std[c];
            if (o->layout == ONNXQ_LAYOUT_NHWC)
                v[p * (size_t)C + (size_t)c] = val;
            else
                v[(size_t)c * plane + p] = val;
        }
    }
    free(canvas);
    *out = t;
    return ONNXQ_OK;
}
