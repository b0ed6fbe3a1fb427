/*
 * huella/iris.h - the iris engine: segmentation, rubber-sheet normalisation,
 * IrisCode encoding, rotation-tolerant matching and the 1:N search loop.
 *
 * The iris code (the template's core, shared by every part of the engine):
 * HUELLA_IRIS_ROWS radial rows x HUELLA_IRIS_COLS angular positions x 2
 * phase bits = 2048 code bits, with a mask bit for each code bit (1 = the
 * bit is valid: iris, not eyelid, lash, reflection or pupil).  Row r
 * occupies bytes [r * 32, r * 32 + 32) of code and of mask; angular
 * position j of a row uses bits 2j (real part) and 2j + 1 (imaginary part)
 * of the row, bit k of a row being bit (k % 8) of byte k / 8 (least
 * significant first).  A head tilt of k angular positions is a circular
 * rotation of every row by 2k bits.
 */
#ifndef HUELLA_IRIS_H
#define HUELLA_IRIS_H

#include "huella/base.h"
#include "huella/image.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HUELLA_IRIS_ROWS       8
#define HUELLA_IRIS_COLS       128
#define HUELLA_IRIS_ROW_BYTES  32  /* 2 bits * 128 positions / 8 */
#define HUELLA_IRIS_CODE_BYTES 256 /* HUELLA_IRIS_ROWS * HUELLA_IRIS_ROW_BYTES */
#define HUELLA_IRIS_CODE_BITS  2048

typedef struct huella_iris_code {
    uint8_t code[HUELLA_IRIS_CODE_BYTES];
    uint8_t mask[HUELLA_IRIS_CODE_BYTES]; /* 1 = valid */
} huella_iris_code;

/* ---- Matching (src/iris/hamming.c) ----------------------------------- */

/*
 * Normalisation constant N0 of Daugman's rescaling: the number of valid
 * bits at which a fractional Hamming distance is left as it is.  Daugman
 * chose 911, the typical number of bits two of his 2048-bit codes have in
 * common.  Ours are the same size (8 rows x 128 positions x 2 bits) and
 * have a similar number in common: 1146 on average over the 5,778 pairs
 * of the first images of the 108 CASIA-v1 eyes at shift 0 (encoder of
 * 2026-11-26).  We keep Daugman's 911 rather than our measured mean so that
 * normalised scores are on the scale of the published HDnorm criteria and
 * do not move each time the encoder or its masking changes; at our typical
 * 1146 bits a distance is pushed away from 0.5 by sqrt(1146 / 911) = 1.12,
 * with fewer bits it is pulled towards 0.5 (less evidence).
 */
#define HUELLA_IRIS_NORM_BITS 911
/* Fewer valid bits than one row's worth (256) is no evidence at all: the
 * normalised distance is then 1.0 (no match possible). */
#define HUELLA_IRIS_MIN_VALID_BITS 256
/* Rotation compensation used by default: +-8 angular positions (+-22.5 deg). */
#define HUELLA_IRIS_DEFAULT_MAX_SHIFT 8

/*
 * The scalar reference.  Counts, over the bits valid in both masks, the
 * code bits where a and b disagree, with b rotated by `shift` angular
 * positions: position j of a is compared with position (j + shift) mod 128
 * of b, in every row (a rotation of 2 * shift bits).  shift may be any
 * integer, negative or positive.
 */
HUELLA_API void huella_iris_hamming(const huella_iris_code *a, const huella_iris_code *b, int shift,
                                    unsigned *disagree, unsigned *valid);

/*
 * Daugman's rescaled Hamming distance (Daugman 2004, 2006):
 *   HDnorm = 0.5 - (0.5 - disagree / valid) * sqrt(valid / HUELLA_IRIS_NORM_BITS)
 * and 1.0 when valid < HUELLA_IRIS_MIN_VALID_BITS.  The result lies in
 * [0.5 - 0.5 * sqrt(2048 / 911), 1.0] = [-0.25, 1.0]: it is negative for a
 * near-perfect match with many valid bits, and values above 1.0 (codes
 * more opposed than chance, with many bits) are clamped to 1.0, the worst
 * score.  Lower = more alike.
 */
HUELLA_API double huella_iris_normalise(unsigned disagree, unsigned valid);

/*
 * The minimum normalised distance over shifts -max_shift..max_shift
 * (max_shift is clamped to [0, 64]).  Ties go to the smaller |shift|, then
 * to the negative one.  best_shift and valid_bits (may be NULL) receive the
 * winning shift and its number of valid bits.
 */
HUELLA_API double huella_iris_distance(const huella_iris_code *a, const huella_iris_code *b,
                                       int max_shift, int *best_shift, unsigned *valid_bits);

/* ---- end of matching --------------------------------------------------- */

/* ---- Image side: segmentation, rubber sheet, encoding (src/iris/segment.c,
 * normalize.c, encode.c, template.c, draw.c) ----------------------------- */

/* A closed boundary (pupil or limbus) as a centre and the radius at
 * HUELLA_IRIS_CONTOUR_POINTS equally spaced angles: point k lies at
 * (cx + radius[k] cos t, cy + radius[k] sin t), t = 2 pi k / N, in image
 * pixels with y pointing down.  Not a circle, and the two boundaries of an
 * eye need not share a centre. */
#define HUELLA_IRIS_CONTOUR_POINTS 64

typedef struct huella_iris_boundary {
    float cx, cy;
    float radius[HUELLA_IRIS_CONTOUR_POINTS];
} huella_iris_boundary;

#define HUELLA_IRIS_QUALITY_REASONS 5

/* How usable an iris image is, 0-100 (higher is better), in the spirit of
 * ISO/IEC 29794-6: the measures behind it and, in words, what lowers it. */
typedef struct huella_iris_quality {
    unsigned score;
    double usable;      /* fraction of the iris between the boundaries that is clear */
    double sharpness;   /* RMS Laplacian of the clear iris, grey levels */
    double dilation;    /* mean pupil radius / mean iris radius */
    double iris_radius; /* mean limbus radius, pixels */
    unsigned n_reasons;
    char reasons[HUELLA_IRIS_QUALITY_REASONS][120];
} huella_iris_quality;

/* An iris template: the code and what it was made from. */
typedef struct huella_iris_template {
    huella_iris_code code;
    uint32_t width, height; /* of the image, pixels */
    huella_iris_boundary pupil;
    huella_iris_boundary limbus;
    /* Per contour angle about the pupil centre: where eyelid occlusion
     * starts along the rubber-sheet ray, 0 (at the pupil) .. 255 (at the
     * limbus, i.e. none). */
    uint8_t eyelid[HUELLA_IRIS_CONTOUR_POINTS];
    huella_iris_quality quality;
} huella_iris_template;

typedef struct huella_iris_options {
    /* Refuse to enrol when less than this fraction of the iris is clear;
     * 0 = the default HUELLA_IRIS_MIN_USABLE. */
    double min_usable;
} huella_iris_options;

#define HUELLA_IRIS_MIN_USABLE 0.20

/*
 * Segment a near-infrared eye image, normalise the iris onto Daugman's
 * rubber sheet and encode it (opt may be NULL).  HUELLA_E_INPUT when no
 * eye is found or too little of the iris is clear (failure to enrol).
 */
HUELLA_API huella_status huella_iris_encode(const huella_image *img, const huella_iris_options *opt,
                                            huella_iris_template **out, huella_error *err);
HUELLA_API void huella_iris_template_free(huella_iris_template *t);

/*
 * The template byte format, version 3 (all integers big-endian), 872 bytes:
 *   0  "HIRS"                       magic
 *   4  u16 version (3; versions 1 and 2 have the same bytes but codes from
 *      earlier encoders, single-scale, whose bits mean something else in
 *      half of the rows: they are refused with a message asking to
 *      re-encode from the image)
 *   6  u16 width, u16 height        of the image, 1..65535
 *  10  u8 quality (0..100), u8 0
 *  12  u16 usable (1/1000), u16 sharpness (1/100 grey level),
 *      u16 dilation (1/1000), u16 iris radius (1/16 pixel)
 *  20  pupil:  u32 cx, u32 cy (1/256 pixel), 64 x u16 radius (1/16 pixel)
 * 156  limbus: the same
 * 292  64 x u8 eyelid
 * 356  256 bytes code, 256 bytes mask (the layout above)
 * 868  u32 CRC-32 (ISO-HDLC, as in zlib) of bytes 0..867
 * The decoder checks every field (sizes, centres inside the image, radii
 * positive, the pupil inside the limbus, the checksum) and refuses
 * anything else, naming the field.
 */
#define HUELLA_IRIS_TEMPLATE_BYTES   872
#define HUELLA_IRIS_TEMPLATE_VERSION 3
HUELLA_API huella_status huella_iris_template_encode(const huella_iris_template *t, uint8_t **data,
                                                     size_t *len, huella_error *err);
HUELLA_API huella_status huella_iris_template_decode(const uint8_t *data, size_t len,
                                                     huella_iris_template **out, huella_error *err);

/*
 * Draw the eye with its boundaries, eyelid limits and masked pixels, and
 * below it the normalised strip and the code (PNG, or SVG when path ends
 * in .svg).
 */
HUELLA_API huella_status huella_iris_draw(const huella_image *img, const huella_iris_options *opt,
                                          const char *path, huella_error *err);

/*
 * Decision thresholds on huella_iris_distance (max shift
 * HUELLA_IRIS_DEFAULT_MAX_SHIFT, templates from huella_iris_encode): a
 * distance at or below the threshold is declared a match.  Measured with
 * `huella eval iris --protocol all` on the development data (docs/iris.md):
 * CASIA V1 (283,122 impostor comparisons) and MMU1 (100,125); each value
 * is the lower (safer) of the two sets' thresholds.
 *   FMR 0.1 %:    CASIA 0.375, MMU1 0.348
 *   FMR 0.01 %:   CASIA 0.357, MMU1 0.325
 *   FMR 0.0001 %: not measurable with 383,247 impostor comparisons; the
 *                 lowest impostor distance seen was 0.329 (CASIA) and
 *                 0.295 (MMU1), so at or below 0.29 no impostor has been
 *                 seen: the zero-FMR point of this data, not a proven 1e-6.
 * (Encoder of template version 3 with the pupil's dark-run refinement of
 * the sixth accuracy round, which moved MMU1's lowest impostor from 0.301
 * to 0.295 and so the last value from 0.30 to 0.29.  The version 2
 * encoder's values were 0.32, 0.29 and 0.27; the one before, 0.265, 0.23
 * and 0.20.  The two-scale code's impostor distribution is narrower and
 * sits nearer 0.5, so the thresholds moved up.)
 */
#define HUELLA_IRIS_THRESHOLD_FMR1000    0.34
#define HUELLA_IRIS_THRESHOLD_FMR10000   0.32
#define HUELLA_IRIS_THRESHOLD_FMR1000000 0.29

/* ---- 1:N search (src/iris/search.c) ------------------------------------ */

/*
 * A gallery of iris codes packed for search: each template takes 512
 * contiguous, 64-byte-aligned bytes (code then mask) plus 13 bytes of
 * bookkeeping.  Ids are assigned by the gallery (1, 2, 3, ...), never reused
 * and stable across removals.  A gallery is not thread-safe for writing;
 * concurrent searches of an unchanging gallery are fine.
 */
typedef struct huella_iris_gallery huella_iris_gallery;

/* The inner loop used by a search; all give identical results. */
typedef enum huella_iris_kernel {
    HUELLA_IRIS_KERNEL_AUTO = 0,     /* the fastest this CPU supports (the default) */
    HUELLA_IRIS_KERNEL_PORTABLE = 1, /* plain C, 64-bit words, no CPU feature needed */
    HUELLA_IRIS_KERNEL_AVX2 = 2,     /* AVX2, nibble-table popcount */
    HUELLA_IRIS_KERNEL_AVX512BW = 3, /* AVX-512BW, nibble-table popcount */
    HUELLA_IRIS_KERNEL_AVX512 = 4    /* AVX-512F + VPOPCNTDQ */
} huella_iris_kernel;

typedef struct huella_iris_match {
    uint64_t id;         /* the gallery id of the template */
    double distance;     /* normalised Hamming distance at the best shift */
    int shift;           /* best shift, as in huella_iris_distance(probe, template) */
    unsigned valid_bits; /* bits compared at that shift */
} huella_iris_match;

HUELLA_API huella_status huella_iris_gallery_new(huella_iris_gallery **out, huella_error *err);
HUELLA_API void huella_iris_gallery_free(huella_iris_gallery *g);
/* Add a copy of code; *id (may be NULL) receives its id. */
HUELLA_API huella_status huella_iris_gallery_add(huella_iris_gallery *g,
                                                 const huella_iris_code *code, uint64_t *id,
                                                 huella_error *err);
/* Room for n templates in all (one allocation now instead of doubling
 * while adding: a bulk load's copies and first touches of memory). */
HUELLA_API huella_status huella_iris_gallery_reserve(huella_iris_gallery *g, size_t n,
                                                     huella_error *err);
/* Remove the template with this id (HUELLA_E_NOTFOUND if there is none). */
HUELLA_API huella_status huella_iris_gallery_remove(huella_iris_gallery *g, uint64_t id,
                                                    huella_error *err);
/* Number of templates in the gallery. */
HUELLA_API size_t huella_iris_gallery_count(const huella_iris_gallery *g);
/* Memory used per template by the packed store, in bytes. */
HUELLA_API size_t huella_iris_gallery_bytes_per_template(void);

/* Whether this CPU can run kernel (AUTO and PORTABLE always can). */
HUELLA_API bool huella_iris_kernel_supported(huella_iris_kernel kernel);
/* "portable", "avx2", ...; for AUTO, the name of the kernel it selects. */
HUELLA_API const char *huella_iris_kernel_name(huella_iris_kernel kernel);
/* Choose the inner loop (HUELLA_E_UNSUPPORTED if this CPU cannot run it). */
HUELLA_API huella_status huella_iris_gallery_set_kernel(huella_iris_gallery *g,
                                                        huella_iris_kernel kernel,
                                                        huella_error *err);

/*
 * The k templates closest to probe (lowest normalised distance over shifts
 * -max_shift..max_shift, max_shift in [0, 64]) with distance <= threshold,
 * best first; ties go to the lower id.  results has room for k entries;
 * *n_results receives how many were found.  threads <= 1 searches on the
 * calling thread; more splits the gallery into that many shards.
 * The answer is exactly what huella_iris_distance would give for each
 * template, whatever the kernel and the number of threads.
 */
HUELLA_API huella_status huella_iris_gallery_search(const huella_iris_gallery *g,
                                                    const huella_iris_code *probe, int max_shift,
                                                    size_t k, double threshold, int threads,
                                                    huella_iris_match *results, size_t *n_results,
                                                    huella_error *err);

/* ---- end of 1:N search ------------------------------------------------- */

/* ---- ISO/IEC 19794-6:2011 iris image records (src/iris/iso19794_6.c) -- */

#define HUELLA_IRIS_EYE_UNDEFINED 0
#define HUELLA_IRIS_EYE_RIGHT     1
#define HUELLA_IRIS_EYE_LEFT      2

#define HUELLA_IRIS_IMAGE_UNCROPPED          1
#define HUELLA_IRIS_IMAGE_VGA                2
#define HUELLA_IRIS_IMAGE_CROPPED            3
#define HUELLA_IRIS_IMAGE_CROPPED_AND_MASKED 7

#define HUELLA_IRIS_FORMAT_MONO_RAW      2
#define HUELLA_IRIS_FORMAT_MONO_JPEG2000 10
#define HUELLA_IRIS_FORMAT_MONO_PNG      14

/* Compression history (image properties bits 7-8). */
#define HUELLA_IRIS_COMPRESSION_UNDEFINED 0
#define HUELLA_IRIS_COMPRESSION_LOSSLESS  1 /* lossless or none */
#define HUELLA_IRIS_COMPRESSION_LOSSY     2

#define HUELLA_IRIS_MAX_QUALITY_BLOCKS 255

typedef struct huella_iris_quality_block {
    uint8_t score;      /* 0-100, 255 = failed */
    uint16_t vendor;    /* quality algorithm vendor */
    uint16_t algorithm; /* quality algorithm */
} huella_iris_quality_block;

/* One iris image with its header; fields as in the standard's Table 4. */
typedef struct huella_iris_representation {
    /* capture date and time (UTC); 0xFF / 0xFFFF where unknown */
    uint16_t year;
    uint8_t month, day, hour, minute, second;
    uint16_t millisecond;
    uint8_t device_technology; /* 0 unknown, 1 CMOS/CCD */
    uint16_t device_vendor;
    uint16_t device_type;
    size_t n_quality;
    huella_iris_quality_block quality[HUELLA_IRIS_MAX_QUALITY_BLOCKS];
    uint16_t number;                /* representation number */
    uint8_t eye;                    /* HUELLA_IRIS_EYE_* */
    uint8_t image_type;             /* HUELLA_IRIS_IMAGE_* */
    uint8_t image_format;           /* HUELLA_IRIS_FORMAT_* */
    uint8_t horizontal_orientation; /* 0 undefined, 1 base, 2 flipped */
    uint8_t vertical_orientation;   /* 0 undefined, 1 base, 2 flipped */
    uint8_t compression_history;    /* HUELLA_IRIS_COMPRESSION_* */
    uint16_t width, height;
    uint8_t bit_depth;
    uint16_t range;            /* cm; 0 unassigned, 1 failed */
    uint16_t roll_angle;       /* units of 360/65536 degrees; 0xFFFF unknown */
    uint16_t roll_uncertainty; /* same units; 0xFFFF unknown */
    uint16_t centre_x_min, centre_x_max, centre_y_min, centre_y_max; /* pixels; 0 unknown */
    uint16_t diameter_min, diameter_max;                             /* pixels; 0 unknown */
    uint8_t *image; /* the encoded image, image_len bytes (owned) */
    size_t image_len;
} huella_iris_representation;

typedef struct huella_iris_record {
    uint8_t certification; /* certification flag: 0 (no certification blocks in 2011) */
    uint8_t eyes;          /* number of eyes represented: 0, 1 or 2 */
    size_t n_representations;
    huella_iris_representation *representations;
} huella_iris_record;

/* Read a record ("IIR\0", version "020\0"); errors name the field. */
HUELLA_API huella_status huella_iris_record_read(const uint8_t *data, size_t len,
                                                 huella_iris_record **out, huella_error *err);
/* Write a record; *out (free with free()) receives *len bytes.  Reading
 * then writing a record gives back the same bytes. */
HUELLA_API huella_status huella_iris_record_write(const huella_iris_record *rec, uint8_t **out,
                                                  size_t *len, huella_error *err);
HUELLA_API void huella_iris_record_free(huella_iris_record *rec);
/* Decode the image of a representation (through huella_image_decode). */
HUELLA_API huella_status huella_iris_representation_image(const huella_iris_representation *rep,
                                                          huella_image **out, huella_error *err);

/* ---- end of ISO/IEC 19794-6 --------------------------------------------- */

#ifdef __cplusplus
}
#endif

#endif
