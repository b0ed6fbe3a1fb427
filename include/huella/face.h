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

HUELLA_API huella_status huella_face_rgb_new(uint32_t width, uint32_t height,
                                             huella_face_rgb **out, huella_error *err);
HUELLA_API void huella_face_rgb_free(huella_face_rgb *img);
/* Read PNG or JPEG in colour; any other format huella_image_read decodes
 * (greyscale) has its grey copied to the three channels. */
HUELLA_API huella_status huella_face_rgb_read(const char *path, huella_face_rgb **out,
                                              huella_error *err);
HUELLA_API huella_status huella_face_rgb_write_png(const huella_face_rgb *img, const char *path,
                                                   huella_error *err);

/* ---- Models --------------------------------------------------------------- */

typedef struct huella_face_models huella_face_models;

/* The directory the build was configured with (HUELLA_FACE_MODEL_DIR). */
HUELLA_API const char *huella_face_default_model_dir(void);

/*
 * Load and check the three networks from dir (NULL: the default).  Each
 * file must match its pinned SHA-256.  The models are immutable once
 * loaded and may be shared by threads.  Also sets OpenBLAS to one thread
 * (huella runs its own threads over samples).
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
                                           huella_face_align_method method,
                                           huella_face_rgb **chip, huella_error *err);

/* The descriptor of an image given whole to the recognition network
 * (padded to a square and resized to 150 x 150, as face-api does). */
HUELLA_API huella_status huella_face_descriptor(const huella_face_models *m,
                                                const huella_face_rgb *chip,
                                                float out[HUELLA_FACE_DIM], huella_error *err);

/* Euclidean distance between two descriptors. */
HUELLA_API double huella_face_distance(const float *a, const float *b);

#ifdef __cplusplus
}
#endif

#endif
