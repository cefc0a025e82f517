/* Dataset options shared by `onnxq calibrate` and `onnxq quantize`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_data.h"

static int parse_triple(const char *s, float out[3])
{
    char *end;
    for (int i = 0; i < 3; i++) {
        out[i] = strtof(s, &end);
        if (end == s)
            return -1;
        s = end;
        if (i < 2) {
            if (*s != ',')
                return -1;
            s++;
        }
    }
    return *s ? -1 : 0;
}

int onnxq_cli_parse_count(const char *s, size_t *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *end || *s == '-')
        return -1;
    *out = (size_t)v;
    return 0;
}

int onnxq_cli_common_option(struct onnxq_context *ctx, int argc, char **argv, int *i, bool *quiet)
{
    const char *a = argv[*i];
    if (quiet && (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0)) {
        *quiet = true;
        return 1;
    }
    if (strcmp(a, "--threads") != 0 || *i + 1 >= argc)
        return 0;
    struct onnxq_error err;
    if (onnxq_context_set_threads(ctx, atoi(argv[++*i]), &err) != ONNXQ_OK) {
        fprintf(stderr, "onnxq: error: %s\n", err.message);
        return -1;
    }
    return 1;
}

void onnxq_cli_bad_argument(const char *a)
{
    if (onnxq_cli_is_option(a))
        fprintf(stderr, "onnxq: error: unknown option '%s' or missing value\n", a);
    else
        fprintf(stderr, "onnxq: error: unexpected argument '%s'\n", a);
}

int onnxq_cli_data_option(int argc, char **argv, int *i, struct onnxq_dataset_options *o, const char **error)
{
    const char *a = argv[*i];
    const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    struct onnxq_image_options *im = &o->image;
    if (strcmp(a, "--size") == 0) {
        if (!v || sscanf(v, "%dx%d", &im->height, &im->width) != 2 || im->height <= 0 || im->width <= 0) {
            *error = "--size takes HxW, e.g. 640x640";
            return -1;
        }
    } else if (strcmp(a, "--resize") == 0) {
        if (v && strcmp(v, "stretch") == 0)
            im->resize = ONNXQ_RESIZE_STRETCH;
        else if (v && strcmp(v, "letterbox") == 0)
            im->resize = ONNXQ_RESIZE_LETTERBOX;
        else if (v && strcmp(v, "short-side-crop") == 0)
            im->resize = ONNXQ_RESIZE_SHORT_SIDE_CROP;
        else {
            *error = "--resize takes stretch, letterbox or short-side-crop";
            return -1;
        }
    } else if (strcmp(a, "--mean") == 0 || strcmp(a, "--std") == 0) {
        float t[3];
        if (!v || parse_triple(v, t) != 0) {
            *error = "--mean and --std take three numbers: a,b,c";
            return -1;
        }
        if (a[2] == 'm')
            memcpy(im->mean, t, sizeof(t));
        else {
            if (t[0] == 0 || t[1] == 0 || t[2] == 0) {
                *error = "--std values must not be 0";
                return -1;
            }
            memcpy(im->std, t, sizeof(t));
        }
    } else if (strcmp(a, "--scale") == 0) {
        char *end;
        im->scale = v ? strtof(v, &end) : 0;
        if (!v || *end || im->scale == 0) {
            *error = "--scale takes a non-zero number (pixel values 0..255 are multiplied by it)";
            return -1;
        }
    } else if (strcmp(a, "--layout") == 0) {
        if (v && strcmp(v, "nchw") == 0)
            im->layout = ONNXQ_LAYOUT_NCHW;
        else if (v && strcmp(v, "nhwc") == 0)
            im->layout = ONNXQ_LAYOUT_NHWC;
        else {
            *error = "--layout takes nchw or nhwc";
            return -1;
        }
    } else if (strcmp(a, "--color") == 0) {
        if (v && strcmp(v, "rgb") == 0)
            im->color = ONNXQ_COLOR_RGB;
        else if (v && strcmp(v, "bgr") == 0)
            im->color = ONNXQ_COLOR_BGR;
        else if (v && strcmp(v, "gray") == 0)
            im->color = ONNXQ_COLOR_GRAY;
        else {
            *error = "--color takes rgb, bgr or gray";
            return -1;
        }
    } else if (strcmp(a, "--calib-count") == 0) {
        if (!v || onnxq_cli_parse_count(v, &o->count) != 0) {
            *error = "--calib-count takes a sample count";
            return -1;
        }
    } else if (strcmp(a, "--seed") == 0) {
        size_t s;
        if (!v || onnxq_cli_parse_count(v, &s) != 0) {
            *error = "--seed takes a non-negative integer";
            return -1;
        }
        o->seed = s;
    } else if (strcmp(a, "--batch") == 0) {
        if (!v || onnxq_cli_parse_count(v, &o->batch) != 0 || o->batch == 0) {
            *error = "--batch takes a count >= 1";
            return -1;
        }
    } else {
        return 0;
    }
    (*i)++;
    return 1;
}

const char onnxq_cli_data_usage[] =
    "  dataset: --data PATH (image folder or list, .npy/.npz files, test_data_set_N folders, per-input folders)\n"
    "           [--calib-count N] [--seed S] [--batch N]\n"
    "  images:  [--size HxW] [--resize stretch|letterbox|short-side-crop] [--mean a,b,c] [--std a,b,c]\n"
    "           [--scale S] [--layout nchw|nhwc] [--color rgb|bgr|gray]";

int onnxq_cli_parse_size(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *s == '-')
        return -1;
    unsigned long long mul = 1;
    if (*end == 'k' || *end == 'K')
        mul = 1ull << 10, end++;
    else if (*end == 'm' || *end == 'M')
        mul = 1ull << 20, end++;
    else if (*end == 'g' || *end == 'G')
        mul = 1ull << 30, end++;
    if (*end || v > (unsigned long long)SIZE_MAX / mul)
        return -1;
    *out = (size_t)(v * mul);
    return 0;
}
