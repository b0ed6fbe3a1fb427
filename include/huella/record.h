/*
 * huella/record.h - ISO/IEC 19794-4:2011 finger image and 19794-5:2011
 * face image records (read only).
 *
 * A record is read whole: the general header, then each representation
 * with its capture information, quality blocks, image header and image
 * data; every length is checked against the bytes present and every byte
 * is accounted for.  The record keeps a copy of the input and the views
 * point into it.  Images are decoded through huella_image_decode (WSQ,
 * JPEG, JPEG 2000, PNG) or huella_image_decode_raw, with the resolution the
 * record declares.  Iris records (19794-6) are in huella/iris.h.
 */
#ifndef HUELLA_RECORD_H
#define HUELLA_RECORD_H

#include "huella/base.h"
#include "huella/image.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Capture date/time and device, common to the 2011 parts (0xFF, 0xFFFF
 * where unknown). */
typedef struct huella_iso_capture {
    uint16_t year;
    uint8_t month, day, hour, minute, second;
    uint16_t millisecond;
    uint8_t technology;
    uint16_t vendor;
    uint16_t device_type;
    size_t n_quality;
    const uint8_t *quality; /* n_quality blocks of 5 bytes: score, vendor (2), algorithm (2) */
} huella_iso_capture;

/* ISO/IEC 19794-4:2011 image compression codes (Table 4). */
enum {
    HUELLA_FIR_RAW = 0,
    HUELLA_FIR_RAW_PACKED = 1,
    HUELLA_FIR_WSQ = 2,
    HUELLA_FIR_JPEG = 3,
    HUELLA_FIR_JPEG2000 = 4,
    HUELLA_FIR_JPEG2000_LOSSLESS = 5,
    HUELLA_FIR_PNG = 6
};

typedef struct huella_fir_view {
    huella_iso_capture capture;
    size_t n_certification;
    const uint8_t *certification; /* 3 bytes each: authority (2), scheme (1) */
    uint8_t position;             /* finger/palm position code */
    uint8_t number;               /* representation number */
    uint8_t scale_units;          /* 1 pixels per inch, 2 pixels per centimetre */
    uint16_t capture_ppi_h, capture_ppi_v, image_ppi_h, image_ppi_v; /* in scale units */
    uint8_t bit_depth;
    uint8_t compression; /* HUELLA_FIR_* */
    uint8_t impression;
    uint16_t width, height;
    const uint8_t *image;
    size_t image_len;
    const uint8_t *extended; /* bytes after the image inside the representation */
    size_t extended_len;
} huella_fir_view;

typedef struct huella_fir_record {
    uint8_t *data; /* the record as read (owned) */
    size_t len;
    uint8_t certification_flag;
    uint8_t n_fingers; /* number of distinct fingers/palms */
    size_t n_views;
    huella_fir_view *views;
} huella_fir_record;

/* Read a record ("FIR\0", version "020\0"); errors name the representation
 * and the field. */
HUELLA_API huella_status huella_fir_record_read(const uint8_t *data, size_t len,
                                                huella_fir_record **out, huella_error *err);
HUELLA_API void huella_fir_record_free(huella_fir_record *rec);
/* "WSQ", "JPEG 2000 lossless", ... */
HUELLA_API const char *huella_fir_compression_name(unsigned code);
/* Image resolution in pixels per inch (0 when the scale is unknown). */
HUELLA_API double huella_fir_view_ppi(const huella_fir_view *v);
/* Decode a view's image; HUELLA_E_UNSUPPORTED when this build cannot. */
HUELLA_API huella_status huella_fir_view_image(const huella_fir_view *v, huella_image **out,
                                               huella_error *err);

/* ISO/IEC 19794-5:2011 image data types (Table 13). */
enum {
    HUELLA_FAC_JPEG = 0,
    HUELLA_FAC_JPEG2000 = 1,
    HUELLA_FAC_JPEG2000_LOSSLESS = 2,
    HUELLA_FAC_PNG = 3
};

typedef struct huella_fac_image {
    huella_iso_capture capture;
    uint16_t n_landmarks;
    const uint8_t *landmarks; /* 8 bytes each: type, code, x (2), y (2), z (2) */
    uint8_t gender, eye_colour, hair_colour, subject_height;
    uint32_t property_mask; /* 24 bits */
    uint16_t expression;
    uint8_t pose[3];             /* yaw, pitch, roll */
    uint8_t pose_uncertainty[3]; /* yaw, pitch, roll */
    uint8_t face_image_type;     /* 0 basic, 1 full frontal, 2 token frontal */
    uint8_t image_data_type;     /* HUELLA_FAC_* */
    uint16_t width, height;
    uint8_t spatial_sampling_rate;
    uint16_t post_acquisition;
    uint8_t cross_reference;
    uint8_t colour_space;
    const uint8_t *image;
    size_t image_len;
} huella_fac_image;

typedef struct huella_fac_record {
    uint8_t *data; /* owned */
    size_t len;
    uint8_t certification_flag;
    uint16_t temporal_semantics;
    size_t n_images;
    huella_fac_image *images;
} huella_fac_record;

/* Read a record ("FAC\0", version "030\0"). 3D representations are
 * refused with HUELLA_E_UNSUPPORTED. */
HUELLA_API huella_status huella_fac_record_read(const uint8_t *data, size_t len,
                                                huella_fac_record **out, huella_error *err);
HUELLA_API void huella_fac_record_free(huella_fac_record *rec);
HUELLA_API const char *huella_fac_data_type_name(unsigned code);
HUELLA_API huella_status huella_fac_image_decode(const huella_fac_image *f, huella_image **out,
                                                 huella_error *err);

#ifdef __cplusplus
}
#endif

#endif
