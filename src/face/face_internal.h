/*
 * face/face_internal.h - internals of the face engine: the TF.js weights
 * loader, the tensor primitives the three networks are built from, and the
 * networks themselves.  Internal to libhuella.
 *
 * Tensors are single images in HWC order (row-major, channels innermost),
 * float32, as TF.js keeps them, so filters from the weights files are used
 * as they are: conv2d filters are [kh, kw, cin, cout], depthwise filters
 * [kh, kw, c, 1], fully connected weights [in, out].
 */
#ifndef HUELLA_FACE_INTERNAL_H
#define HUELLA_FACE_INTERNAL_H

#include "huella/face.h"

#include <stddef.h>
#include <stdint.h>

/* ---- TF.js weights -------------------------------------------------------- */

#define FACE_MAX_RANK 4

typedef struct face_tensor {
    char *name;
    unsigned rank;
    uint32_t shape[FACE_MAX_RANK];
    size_t count; /* product of shape */
    float *data;  /* dequantised values */
} face_tensor;

typedef struct face_weights {
    face_tensor *tensors;
    size_t n;
} face_weights;

/*
 * The shard file names of a manifest (weightsManifest[].paths, in order).
 * The caller frees each string and the array with free().
 */
huella_status face_weights_manifest_paths(const char *json, size_t json_len, char ***paths,
                                          size_t *n_paths, huella_error *err);

/*
 * Parse a manifest and the concatenation of its shards (in the order of
 * face_weights_manifest_paths).  Every tensor's shape, dtype and
 * quantisation is checked, and the bytes must be used exactly.  `what`
 * names the model in error messages.
 */
huella_status face_weights_parse(const char *json, size_t json_len, const uint8_t *bin,
                                 size_t bin_len, const char *what, face_weights **out,
                                 huella_error *err);
void face_weights_free(face_weights *w);

/* The tensor called name with exactly this shape (rank dims), or an error
 * that names the model, the tensor and what was expected. */
huella_status face_weights_get(const face_weights *w, const char *what, const char *name,
                               unsigned rank, const uint32_t *shape, const float **data,
                               huella_error *err);

/*
 * Read dir/NAME-weights_manifest.json and its shards, check them against
 * the pinned SHA-256 sums (when pins is not NULL: pins[0] the manifest,
 * pins[1] the single shard, as lowercase hex), and parse them.
 */
huella_status face_weights_load(const char *dir, const char *name, const char *const *pins,
                                face_weights **out, huella_error *err);

/* ---- Tensor primitives ---------------------------------------------------- */

typedef struct face_map {
    int h, w, c;
    float *d;
} face_map;

typedef enum face_pad { FACE_PAD_VALID = 0, FACE_PAD_SAME = 1 } face_pad;

/* Output size of a window op as TF computes it. */
int face_out_size(int in, int k, int stride, face_pad pad);

/* Allocates h * w * c floats and FACE_MAP_SLACK more (XNNPACK's kernels
 * may read a few bytes past the end of their input). */
#define FACE_MAP_SLACK 16
huella_status face_map_alloc(face_map *m, int h, int w, int c, huella_error *err);
void face_map_release(face_map *m);

/* y = conv2d(x, filters [k,k,cin,cout]) + bias, stride s, TF padding; im2col
 * and OpenBLAS sgemm.  extra adds that many zero rows and columns on every
 * side first (tf.pad, as the detector does before a 'valid' conv). */
huella_status face_conv2d(const face_map *x, const float *filters, const float *bias, int k,
                          int cout, int stride, face_pad pad, face_map *y, huella_error *err);

/* The same as a plain six-deep loop: the baseline the benchmarks compare
 * with, and a third implementation for the tests. */
huella_status face_conv2d_naive(const face_map *x, const float *filters, const float *bias, int k,
                                int cout, int stride, face_pad pad, face_map *y, huella_error *err);

/* Depthwise k x k conv (filters [k,k,c,1]) with stride and TF padding;
 * extra as for face_conv2d. */
huella_status face_depthwise(const face_map *x, const float *filters, int k, int stride,
                             face_pad pad, int extra, face_map *y, huella_error *err);

/* 1x1 conv: y[., cout] = x[., cin] * w[cin, cout] + bias. */
huella_status face_pointwise(const face_map *x, const float *w, const float *bias, int cout,
                             face_map *y, huella_error *err);

/* The same three run by XNNPACK (nn_fast.c), same arguments and results
 * up to rounding; the detector and the landmark network use these.
 * face_fast_init (xnn_initialize) must have succeeded first: the models
 * loader calls it.  cache (may be NULL) keeps the operators, their weights
 * packed, for the next call with the same weights and input shape; it is
 * used by one thread at a time and taken from a pool that the models own.
 * It knows weights by their address: they must stay allocated and
 * unchanged while the cache lives (the models' weights do). */
typedef struct face_op_cache face_op_cache;
typedef struct face_op_pool face_op_pool;
huella_status face_op_pool_new(face_op_pool **out, huella_error *err);
void face_op_pool_free(face_op_pool *p);
/* A cache for this thread (NULL when memory is short: calls go uncached). */
face_op_cache *face_op_pool_acquire(face_op_pool *p);
void face_op_pool_release(face_op_pool *p, face_op_cache *c);

huella_status face_fast_init(huella_error *err);
huella_status face_conv2d_fast(face_op_cache *cache, const face_map *x, const float *filters,
                               const float *bias, int k, int cout, int stride, face_pad pad,
                               face_map *y, huella_error *err);
huella_status face_depthwise_fast(face_op_cache *cache, const face_map *x, const float *filters,
                                  int k, int stride, face_pad pad, int extra, face_map *y,
                                  huella_error *err);
huella_status face_pointwise_fast(face_op_cache *cache, const face_map *x, const float *w,
                                  const float *bias, int cout, face_map *y, huella_error *err);

huella_status face_maxpool(const face_map *x, int k, int stride, face_pad pad, face_map *y,
                           huella_error *err);
huella_status face_avgpool(const face_map *x, int k, int stride, face_pad pad, face_map *y,
                           huella_error *err);

/* ---- Image preparation ---------------------------------------------------- */

/*
 * The network input as TF.js makes it (NetInput.toBatchTensor): pad the
 * image to a square with zeros (centred: remainder before, round(diff/2)
 * after; not centred: all after), resize bilinearly (align_corners false,
 * half-pixel centres false) to size x size, subtract mean (RGB) and divide
 * by divisor.  mean may be NULL.
 */
huella_status face_prepare_input(const huella_face_rgb *img, int size, bool centred,
                                 const float *mean, float divisor, face_map *out,
                                 huella_error *err);
/* The same into dst (size * size * 3 floats). */
huella_status face_prepare_input_into(const huella_face_rgb *img, int size, bool centred,
                                      const float *mean, float divisor, float *dst,
                                      huella_error *err);

/* ---- Networks ------------------------------------------------------------- */

/* The recognition network run by XNNPACK (recog_fast.c): scale layers
 * folded into the convolutions, weights packed once, a pool of operator
 * sets (one per concurrent caller) behind a mutex. */
typedef struct face_recog_net face_recog_net;
huella_status face_recog_net_new(const face_weights *w, face_recog_net **out, huella_error *err);
void face_recog_net_free(face_recog_net *n);
huella_status face_recog_net_forward(face_recog_net *n, const huella_face_rgb *img,
                                     float out[HUELLA_FACE_DIM], huella_error *err);

struct huella_face_models {
    face_weights *recog;
    face_recog_net *recog_net;
    face_op_pool *ops; /* XNNPACK operators of the detector and landmarks */
    face_weights *detect;
    face_weights *landmark;
};

/* The 128-D descriptor of an image given whole to the recognition network
 * (padded to a square, resized to 150 x 150): the plain reference
 * implementation (im2col + OpenBLAS, the scale layers as separate steps),
 * kept to check recog_fast.c against. */
huella_status face_recog_forward(const face_weights *w, const huella_face_rgb *img,
                                 float out[HUELLA_FACE_DIM], huella_error *err);
/* The same with face_conv2d_naive for every convolution. */
huella_status face_recog_forward_naive(const face_weights *w, const huella_face_rgb *img,
                                       float out[HUELLA_FACE_DIM], huella_error *err);

/* 68 landmarks (x, y) relative to the image given whole (0..1 of its width
 * and height), as FaceLandmark68Net does. */
huella_status face_landmark_forward(const face_weights *w, face_op_cache *cache,
                                    const huella_face_rgb *img, float out[136], huella_error *err);

/* Raw detections before NMS: boxes relative to the image (0..1). */
typedef struct face_raw_box {
    double x, y, w, h, score;
} face_raw_box;

huella_status face_detect_forward(const face_weights *w, face_op_cache *cache,
                                  const huella_face_rgb *img, int input_size,
                                  double score_threshold, face_raw_box **boxes, size_t *n,
                                  huella_error *err);

/* Non-maximum suppression as face-api does it (IoU threshold, highest
 * score first); keeps the surviving boxes in place, returns their count. */
size_t face_nms(face_raw_box *boxes, size_t n, double iou_threshold);

#endif
