/*
 * huella/face.h - the face engine: detection, 68 landmarks, alignment, a
 * 128-D descriptor, quality, compact templates and 1:N search.
 *
 * The three networks are the pretrained ones shipped by the npm package
 * @vladmandic/face-api (MIT): tiny_face_detector, face_landmark_68 and
 * face_recognition_model (a ResNet trained by dlib's author).  huella reads
 * their weights (TF.js format, pinned by SHA-256) and runs them with its
 * own C code; scripts/setup installs the package.
 */
#ifndef HUELLA_FACE_H
#define HUELLA_FACE_H

#include "huella/base.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HUELLA_FACE_DIM       128
#define HUELLA_FACE_LANDMARKS 68
#define HUELLA_FACE_CHIP      150 /* side of the aligned chip, in pixels */

/* An 8-bit RGB image: width * height * 3 bytes, row-major, top row first. */
typedef struct huella_face_rgb {
    uint32_t width;
    uint32_t height;
    uint8_t *pixels;
} huella_face_rgb;

HUELLA_API huella_status huella_face_rgb_new(uint32_t width, uint32_t height, huella_face_rgb **out,
                                             huella_error *err);
HUELLA_API void huella_face_rgb_free(huella_face_rgb *img);
/* Read PNG or JPEG in colour; any other format huella_image_read decodes
 * (greyscale) has its grey copied to the three channels. */
HUELLA_API huella_status huella_face_rgb_read(const char *path, huella_face_rgb **out,
                                              huella_error *err);
/* The same from the bytes of an image file in memory. */
HUELLA_API huella_status huella_face_rgb_decode(const uint8_t *data, size_t len,
                                                huella_face_rgb **out, huella_error *err);
HUELLA_API huella_status huella_face_rgb_write_png(const huella_face_rgb *img, const char *path,
                                                   huella_error *err);

/* ---- Models --------------------------------------------------------------- */

typedef struct huella_face_models huella_face_models;

/* The directory the build was configured with (HUELLA_FACE_MODEL_DIR). */
HUELLA_API const char *huella_face_default_model_dir(void);

/*
 * Load and check the three networks from dir (NULL: the default).  Each
 * file must match its pinned SHA-256.  The models may be shared by
 * threads: the weights are immutable once loaded, and the XNNPACK
 * operators that run them are taken from pools inside the models (behind a
 * mutex; a thread that finds every operator set busy makes another, about
 * 21 MB, kept until huella_face_models_free).  XNNPACK runs on the calling
 * thread; OpenBLAS (used by the reference paths) is set to one thread.
 */
HUELLA_API huella_status huella_face_models_load(const char *dir, huella_face_models **out,
                                                 huella_error *err);
HUELLA_API void huella_face_models_free(huella_face_models *m);

/* ---- Detection, landmarks, alignment, descriptor ---------------------------- */

typedef struct huella_face_point {
    double x, y;
} huella_face_point;

typedef struct huella_face {
    double x, y, width, height; /* box in image pixels */
    double score;               /* detector confidence 0..1 */
    huella_face_point landmarks[HUELLA_FACE_LANDMARKS];
} huella_face;

typedef struct huella_face_detect_options {
    int input_size;         /* detector input, multiple of 32; 0 = 416 */
    double score_threshold; /* 0 = 0.5 */
    double pad;             /* pad the image by this fraction of its size on each side
                               before detecting (helps tight crops); 0 = none */
} huella_face_detect_options;

/*
 * Every face in img, highest score first, with its 68 landmarks (in image
 * pixels).  *faces may be NULL when none is found (n = 0).  Free with
 * free().
 */
HUELLA_API huella_status huella_face_detect(const huella_face_models *m, const huella_face_rgb *img,
                                            const huella_face_detect_options *opt,
                                            huella_face **faces, size_t *n, huella_error *err);

/*
 * The most confident face, trying a wide border with a small detector input
 * first (tight crops such as passport photos and LFW), then a narrower
 * border, then the image as it is (photos).  HUELLA_E_INPUT "no face found"
 * when every attempt fails.
 */
HUELLA_API huella_status huella_face_detect_best(const huella_face_models *m,
                                                 const huella_face_rgb *img, huella_face *face,
                                                 huella_error *err);

typedef enum huella_face_align_method {
    HUELLA_FACE_ALIGN_SIMILARITY = 0, /* rotate, scale, shift eyes and mouth to a template */
    HUELLA_FACE_ALIGN_BOX = 1         /* face-api: the landmarks' box padded by 20 %, no rotation */
} huella_face_align_method;

/* The 150 x 150 chip that the recogniser takes. */
HUELLA_API huella_status huella_face_align(const huella_face_rgb *img, const huella_face *face,
                                           huella_face_align_method method, huella_face_rgb **chip,
                                           huella_error *err);

/* The descriptor of an image given whole to the recognition network
 * (padded to a square and resized to 150 x 150, as face-api does). */
HUELLA_API huella_status huella_face_descriptor(const huella_face_models *m,
                                                const huella_face_rgb *chip,
                                                float out[HUELLA_FACE_DIM], huella_error *err);

/* Euclidean distance between two descriptors. */
HUELLA_API double huella_face_distance(const float *a, const float *b);

/* ---- Templates and comparison ---------------------------------------------- */

/*
 * A face template: the descriptor as 128 signed bytes with one float scale
 * (value = q * scale), 4 + 1 + 4 + 128 = 137 bytes on disk:
 * "HFCT", version (1), scale (float32 little-endian), q[128].  Rounding to
 * int8 moves a descriptor by at most 0.5 * scale * sqrt(128); docs/face.md
 * gives the measured effect on accuracy.
 */
#define HUELLA_FACE_TEMPLATE_VERSION 1
#define HUELLA_FACE_TEMPLATE_BYTES   137

typedef struct huella_face_template {
    float scale;
    int8_t q[HUELLA_FACE_DIM];
    float norm2; /* squared length of the dequantised descriptor (derived, not stored) */
} huella_face_template;

HUELLA_API void huella_face_template_from_descriptor(const float d[HUELLA_FACE_DIM],
                                                     huella_face_template *t);
HUELLA_API void huella_face_template_encode(const huella_face_template *t,
                                            uint8_t out[HUELLA_FACE_TEMPLATE_BYTES]);
HUELLA_API huella_status huella_face_template_decode(const uint8_t *data, size_t len,
                                                     huella_face_template *t, huella_error *err);

/* Euclidean distance between two templates (0 = identical). */
HUELLA_API double huella_face_template_distance(const huella_face_template *a,
                                                const huella_face_template *b);

/*
 * A calibrated score from a distance: -log10 of the false match rate that
 * the distance has among impostor comparisons (interpolated in a table
 * measured on the development data, docs/face.md), so that score >= 2
 * means FMR <= 1 %, >= 3 FMR <= 0.1 %, >= 4 FMR <= 0.01 %.  0 for
 * distances that impostors commonly reach; capped at 6.
 */
HUELLA_API double huella_face_score(double distance);
/* The distance thresholds behind score 2, 3 and 4. */
HUELLA_API double huella_face_threshold(double fmr);

/* ---- 1:N ------------------------------------------------------------------ */

typedef struct huella_face_gallery huella_face_gallery;

HUELLA_API huella_status huella_face_gallery_new(size_t capacity, huella_face_gallery **out,
                                                 huella_error *err);
HUELLA_API void huella_face_gallery_free(huella_face_gallery *g);
HUELLA_API huella_status huella_face_gallery_add(huella_face_gallery *g,
                                                 const huella_face_template *t, huella_error *err);
HUELLA_API size_t huella_face_gallery_size(const huella_face_gallery *g);

typedef enum huella_face_kernel {
    HUELLA_FACE_KERNEL_AUTO = 0,     /* AVX2 when the CPU has it */
    HUELLA_FACE_KERNEL_PORTABLE = 1, /* plain C */
    HUELLA_FACE_KERNEL_AVX2 = 2      /* refused with HUELLA_E_UNSUPPORTED without AVX2 */
} huella_face_kernel;

/* Squared distances from probe to every gallery entry (out[i]), with the
 * kernel asked for.  Every kernel gives bit-identical results: the dot
 * products are exact integer sums. */
HUELLA_API huella_status huella_face_gallery_distances(const huella_face_gallery *g,
                                                       const huella_face_template *probe,
                                                       huella_face_kernel kernel, float *out,
                                                       huella_error *err);

/* Remove entry i: the last entry moves into its place (the gallery stays
 * dense; the caller re-points whatever referred to the last index). */
HUELLA_API huella_status huella_face_gallery_remove(huella_face_gallery *g, size_t i,
                                                    huella_error *err);

/* As huella_face_gallery_distances, with the gallery cut into `threads`
 * contiguous shards searched at once (the calling thread takes the first;
 * 0 or 1 = the calling thread only).  Each distance is computed as in the
 * single-threaded call, so the results are bit-identical. */
HUELLA_API huella_status huella_face_gallery_distances_mt(const huella_face_gallery *g,
                                                          const huella_face_template *probe,
                                                          huella_face_kernel kernel,
                                                          unsigned threads, float *out,
                                                          huella_error *err);

/* ---- Quality -------------------------------------------------------------- */

enum {
    HUELLA_FACE_Q_SMALL = 1u << 0,     /* inter-eye distance below 40 pixels */
    HUELLA_FACE_Q_YAW = 1u << 1,       /* head turned left or right more than 35 degrees */
    HUELLA_FACE_Q_PITCH = 1u << 2,     /* head tilted up or down */
    HUELLA_FACE_Q_ROLL = 1u << 3,      /* head tilted sideways (corrected by alignment) */
    HUELLA_FACE_Q_BLUR = 1u << 4,      /* little high-frequency detail */
    HUELLA_FACE_Q_DARK = 1u << 5,      /* under-exposed */
    HUELLA_FACE_Q_BRIGHT = 1u << 6,    /* over-exposed */
    HUELLA_FACE_Q_CONTRAST = 1u << 7,  /* low contrast */
    HUELLA_FACE_Q_EYES = 1u << 8,      /* eye regions dark or flat: occluded or closed */
    HUELLA_FACE_Q_DETECTION = 1u << 9, /* the detector is unsure */
};

typedef struct huella_face_quality {
    int score;               /* 0-100 */
    unsigned reasons;        /* HUELLA_FACE_Q_* flags */
    double inter_eye;        /* pixels in the original image */
    double yaw, pitch, roll; /* degrees, estimated from the landmarks */
    double sharpness;        /* mean absolute Laplacian of the chip's grey */
    double brightness;       /* mean grey of the chip's face region, 0-255 */
    double contrast;         /* standard deviation of that grey */
    double eye_contrast;     /* standard deviation of grey around the eyes */
} huella_face_quality;

/* Default floor: below it a sample fails to enrol. */
#define HUELLA_FACE_QUALITY_FLOOR 20

HUELLA_API void huella_face_quality_measure(const huella_face *face, const huella_face_rgb *chip,
                                            huella_face_quality *q);
/* "small face", "head turned", ... for one flag; NULL for an unknown one. */
HUELLA_API const char *huella_face_quality_reason(unsigned flag);

/* ---- The whole pipeline ---------------------------------------------------- */

typedef struct huella_face_sample {
    huella_face face; /* the most confident face */
    huella_face_quality quality;
    float descriptor[HUELLA_FACE_DIM];
    huella_face_template tmpl;
} huella_face_sample;

/*
 * Detect (huella_face_detect_best), align (similarity), measure quality,
 * describe.  The descriptor is the mean of the descriptors of the chip and
 * of its mirror image (two passes of the network: on the LFW development
 * pairs this lowers the EER from about 1.7 % to about 1.4 %) unless flags
 * has HUELLA_FACE_ENROL_SINGLE_PASS (half the time).  Fails with
 * HUELLA_E_INPUT when no face is found or the quality score is below
 * quality_floor (the message gives the reasons): a failure to enrol.  When
 * chip is not NULL it receives the aligned chip (also on a quality
 * failure, for explanations; NULL otherwise).
 */
#define HUELLA_FACE_ENROL_SINGLE_PASS 1u

HUELLA_API huella_status huella_face_enrol(const huella_face_models *m, const huella_face_rgb *img,
                                           int quality_floor, unsigned flags,
                                           huella_face_sample *out, huella_face_rgb **chip,
                                           huella_error *err);

/* ---- Pictures ------------------------------------------------------------- */

/* The photo with every face's box, score and landmarks, the aligned chip
 * of the first face and its quality with the reasons (PNG, or SVG when the
 * path ends in .svg).  q may be NULL. */
HUELLA_API huella_status huella_face_draw_show(const huella_face_rgb *img, const huella_face *faces,
                                               size_t n, const huella_face_rgb *chip,
                                               const huella_face_quality *q, const char *path,
                                               huella_error *err);

/* Two aligned chips side by side with the distance, the calibrated score
 * and the thresholds for FMR 1 %, 0.1 % and 0.01 %. */
HUELLA_API huella_status huella_face_draw_compare(const huella_face_rgb *a,
                                                  const huella_face_rgb *b, double distance,
                                                  const char *path, huella_error *err);

#ifdef __cplusplus
}
#endif

#endif
