/* Calibration datasets: where calibration samples come from.
 *
 * A sample is one tensor per model input. Sources:
 *  - an image folder, or a list file of image paths (PNG, JPEG), with the
 *    preprocessing given in struct onnxq_image_options; images feed a model
 *    with one image-like input (4-D float);
 *  - NumPy: a folder of .npy files (one file per sample, single-input
 *    models), one .npy whose first axis is samples, a folder of .npz files
 *    (one per sample, arrays named after the inputs), or one .npz whose
 *    arrays (named after the inputs) have samples on the first axis;
 *  - ONNX test data: a folder of test_data_set_N/input_K.pb;
 *  - multi-input models: a folder with one subfolder per input name, each
 *    holding that input's samples as .npy or .pb files (sorted by name, the
 *    i-th file of every subfolder forms sample i).
 * Samples are shuffled deterministically by `seed` and cut to `count`.
 * Dims that the model leaves symbolic are taken from the data; fixed dims
 * must match, and a mismatch names the file, the input and both shapes.
 *
 * Details (implementation: dataset.c, image.c, npz.c):
 *  - Which source: a folder with test_data_set_* subfolders, or holding
 *    input_0.pb itself, is ONNX test data (input_K.pb feeds the K-th input;
 *    output_*.pb are ignored). Otherwise, for a model with several inputs,
 *    a folder with a subfolder named after an input is the per-input layout
 *    (.npy/.pb files, sorted by name with strcmp), and a folder of .npz files
 *    gives one sample per file. For one input, the folder is searched
 *    recursively (hidden entries skipped) for .png/.jpg/.jpeg, .npy, .npz or
 *    .pb files (extensions case-insensitive), which must all be of one kind;
 *    other files (README, labels) are ignored. A single file: .npy/.npz =
 *    samples on axis 0, an image or .pb = one sample, .txt/.lst/.list = a
 *    list of such per-sample files, one path per line ('#' comments and blank
 *    lines skipped, relative paths relative to the list's folder). Anything
 *    else is refused naming the path.
 *  - .npz arrays are looked up by input name; an archive with a single array
 *    (np.savez(f, x) -> "arr_0") also serves a single-input model.
 *  - A per-sample tensor has the input's rank (dim 0 usually 1) or one less
 *    (a leading 1 is added). An array with samples on axis 0 has the input's
 *    rank (sample i = rows i:i+1) or one more (sample i = a[i]). Single-file
 *    array sources are decoded once at open and kept in memory.
 *  - dtype must equal the declared one, except float64 data for a float32
 *    input (converted). Image tensors (float32) are converted to the input's
 *    float, double or float16, or to uint8 (rounded, clamped to 0..255).
 *  - Symbolic dims with the same name must agree across a sample's inputs.
 *  - batch > 1 needs every input's dim 0 symbolic or equal to the batch; each
 *    sample then needs dim 0 = 1. Batches concatenate samples along axis 0,
 *    so their other dims must agree. When dim 0 is fixed to the batch, the
 *    samples after the last full batch are dropped (size() reports it) and
 *    fewer samples than one batch is an error.
 *  - Shuffling: Fisher-Yates driven by splitmix64 seeded with `seed` (seed 0
 *    shuffles too); `count` keeps the first samples of that order.
 *  - Images: decoded to 8-bit RGB by libpng/libjpeg-turbo (16-bit PNG samples
 *    scaled with rounding, palette/grey expanded, alpha and tRNS dropped
 *    without compositing, CMYK JPEGs converted, no gamma or EXIF rotation);
 *    corrupt or truncated files (libjpeg warnings included) are errors naming
 *    the file. Resizing is bilinear in float with half-pixel centres;
 *    letterbox pads with pixel value 114 (before scale/mean/std) and centres
 *    the image; short-side-crop scales so the image covers HxW and takes the
 *    centre. gray = 0.299 R + 0.587 G + 0.114 B, using mean[0]/std[0].
 *  - The value infos are copied at open; they need not outlive the dataset.
 *  - .npz: stored and deflated members, CRC-checked; zip64 archives (over
 *    4 GiB or 65535 members), multi-disk and encrypted ones are refused. */
#ifndef ONNXQ_CALIBRATION_DATASET_H
#define ONNXQ_CALIBRATION_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "core/tensor.h"
#include "ir/graph.h"

enum onnxq_resize_mode { ONNXQ_RESIZE_STRETCH = 0, ONNXQ_RESIZE_LETTERBOX, ONNXQ_RESIZE_SHORT_SIDE_CROP };
enum onnxq_layout { ONNXQ_LAYOUT_NCHW = 0, ONNXQ_LAYOUT_NHWC };
enum onnxq_color { ONNXQ_COLOR_RGB = 0, ONNXQ_COLOR_BGR, ONNXQ_COLOR_GRAY };

struct onnxq_image_options {
    int height, width;            /* 0 = take from the model input (error if symbolic) */
    enum onnxq_resize_mode resize;
    enum onnxq_layout layout;
    enum onnxq_color color;
    /* value = (pixel * scale - mean[c]) / std[c], pixel in 0..255.
     * Defaults: scale 1/255, mean 0, std 1. */
    float scale;
    float mean[3];
    float std[3];
};

struct onnxq_dataset_options {
    struct onnxq_image_options image;
    size_t count;      /* 0 = all samples */
    uint64_t seed;     /* shuffle seed; samples are always shuffled by it */
    size_t batch;      /* samples stacked per batch along axis 0 (default 1) */
};

/* Fill `o` with the defaults described above. */
void onnxq_dataset_options_init(struct onnxq_dataset_options *o);

struct onnxq_dataset;

/* Open `path` (file or folder) for a model whose fed inputs are `inputs`
 * (n_inputs value infos, e.g. from onnxq_exec_input). Nothing is decoded
 * yet except headers needed to count samples. Fails on an empty dataset. */
enum onnxq_status onnxq_dataset_open(const char *path, const struct onnxq_value_info *const *inputs, size_t n_inputs,
                                     const struct onnxq_dataset_options *opts, struct onnxq_dataset **out,
                                     struct onnxq_error *err);

/* Number of samples after shuffling and `count`. */
size_t onnxq_dataset_size(const struct onnxq_dataset *ds);
/* Number of batches: ceil(size / batch). */
size_t onnxq_dataset_batches(const struct onnxq_dataset *ds);

/* Decode batch `index` into `out` (n_inputs cleared tensors; on success each
 * receives an owning tensor). The last batch may be smaller. */
enum onnxq_status onnxq_dataset_get_batch(struct onnxq_dataset *ds, size_t index, struct onnxq_tensor *out,
                                          struct onnxq_error *err);

/* A short human description, e.g. "120 PNG/JPEG images from data/". */
const char *onnxq_dataset_describe(const struct onnxq_dataset *ds);

void onnxq_dataset_free(struct onnxq_dataset *ds);

/* Image decoding and preprocessing into a float tensor of shape
 * [1,C,H,W] (NCHW) or [1,H,W,C] (NHWC); C = 1 for gray else 3. */
enum onnxq_status onnxq_image_load(const char *path, const struct onnxq_image_options *o, struct onnxq_tensor *out,
                                   struct onnxq_error *err);

/* .npz: read the array named `name` (without ".npy") from a zip archive
 * (stored or deflated members). */
enum onnxq_status onnxq_npz_read(const char *path, const char *name, struct onnxq_tensor *out,
                                 struct onnxq_error *err);
/* List the array names in an .npz (malloc'd array of malloc'd strings). */
enum onnxq_status onnxq_npz_list(const char *path, char ***names, size_t *count, struct onnxq_error *err);

#endif
