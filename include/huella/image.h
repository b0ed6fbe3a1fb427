/*
 * huella/image.h - decoding images into 8-bit greyscale with their resolution.
 *
 * Every biometric engine in huella works on 8-bit greyscale pixels with a
 * known resolution.  This module turns PNG, JPEG, TIFF, JPEG 2000, BMP and
 * PGM/PPM files (and raw greyscale payloads) into that, converting colour
 * with the ITU-R BT.601 luma weights, and says whether the file declared
 * its resolution.  Dimensions are checked against limits before any pixel
 * buffer is allocated.
 */
#ifndef HUELLA_IMAGE_H
#define HUELLA_IMAGE_H

#include "huella/base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum huella_image_format {
    HUELLA_IMAGE_UNKNOWN = 0,
    HUELLA_IMAGE_PNG,
    HUELLA_IMAGE_JPEG,
    HUELLA_IMAGE_TIFF,
    HUELLA_IMAGE_JP2, /* JPEG 2000, JP2 file or raw J2K codestream */
    HUELLA_IMAGE_BMP,
    HUELLA_IMAGE_PNM, /* PBM/PGM/PPM, ASCII or binary */
    HUELLA_IMAGE_WSQ, /* recognised, decoded by the formats module */
    HUELLA_IMAGE_RAW  /* headerless 8-bit greyscale, size given by the caller */
} huella_image_format;

/* An 8-bit greyscale image: width * height bytes, row-major, top row first,
 * no padding between rows.  0 is black. */
typedef struct huella_image {
    uint32_t width;
    uint32_t height;
    uint8_t *pixels;
    /* Resolution in pixels per inch; 0 when the file does not declare one.
     * Horizontal and vertical resolution are kept apart because some
     * scanners declare different ones. */
    double ppi_x;
    double ppi_y;
    /* What the file held before conversion, for reports. */
    huella_image_format format;
    unsigned source_channels; /* 1 grey, 2 grey+alpha, 3 colour, 4 colour+alpha */
    unsigned source_bits;     /* bits per sample in the file: 1, 2, 4, 8, 16, ... */
} huella_image;

/* Bounds checked before allocating pixels.  Zero fields take the defaults. */
typedef struct huella_image_limits {
    uint32_t max_width;  /* default HUELLA_IMAGE_MAX_DIM */
    uint32_t max_height; /* default HUELLA_IMAGE_MAX_DIM */
    uint64_t max_pixels; /* default HUELLA_IMAGE_MAX_PIXELS */
} huella_image_limits;

#define HUELLA_IMAGE_MAX_DIM    32768u
#define HUELLA_IMAGE_MAX_PIXELS (128u * 1024u * 1024u)

/* A blank (black) image of the given size, checked against the default
 * limits; ppi is 0 (undeclared). */
HUELLA_API huella_status huella_image_new(uint32_t width, uint32_t height, huella_image **out,
                                          huella_error *err);
HUELLA_API void huella_image_free(huella_image *img);

/* A deep copy. */
HUELLA_API huella_status huella_image_clone(const huella_image *img, huella_image **out,
                                            huella_error *err);

/* Check width and height against limits (NULL for the defaults). */
HUELLA_API huella_status huella_image_check_size(uint64_t width, uint64_t height,
                                                 const huella_image_limits *limits,
                                                 huella_error *err);

/* Recognise a format from the first bytes; HUELLA_IMAGE_UNKNOWN if none. */
HUELLA_API huella_image_format huella_image_detect(const uint8_t *data, size_t len);
/* "PNG", "JPEG", ... */
HUELLA_API const char *huella_image_format_name(huella_image_format format);

/* Decode any supported format, detected from its content. */
HUELLA_API huella_status huella_image_decode(const uint8_t *data, size_t len,
                                             const huella_image_limits *limits, huella_image **out,
                                             huella_error *err);

/* Decoders for one format each; they reject input of another format. */
HUELLA_API huella_status huella_image_decode_png(const uint8_t *data, size_t len,
                                                 const huella_image_limits *limits,
                                                 huella_image **out, huella_error *err);
HUELLA_API huella_status huella_image_decode_jpeg(const uint8_t *data, size_t len,
                                                  const huella_image_limits *limits,
                                                  huella_image **out, huella_error *err);
HUELLA_API huella_status huella_image_decode_tiff(const uint8_t *data, size_t len,
                                                  const huella_image_limits *limits,
                                                  huella_image **out, huella_error *err);
HUELLA_API huella_status huella_image_decode_jp2(const uint8_t *data, size_t len,
                                                 const huella_image_limits *limits,
                                                 huella_image **out, huella_error *err);
HUELLA_API huella_status huella_image_decode_bmp(const uint8_t *data, size_t len,
                                                 const huella_image_limits *limits,
                                                 huella_image **out, huella_error *err);
HUELLA_API huella_status huella_image_decode_pnm(const uint8_t *data, size_t len,
                                                 const huella_image_limits *limits,
                                                 huella_image **out, huella_error *err);
/* Headerless 8-bit greyscale: len must equal width * height exactly. */
HUELLA_API huella_status huella_image_decode_raw(const uint8_t *data, size_t len, uint32_t width,
                                                 uint32_t height, const huella_image_limits *limits,
                                                 huella_image **out, huella_error *err);

/* Read and decode a file.  Error messages start with the path. */
HUELLA_API huella_status huella_image_read(const char *path, const huella_image_limits *limits,
                                           huella_image **out, huella_error *err);

/* Encoders.  PNG records the resolution in a pHYs chunk when it is known.
 * The caller frees *data with free(). */
HUELLA_API huella_status huella_image_encode_png(const huella_image *img, uint8_t **data,
                                                 size_t *len, huella_error *err);
HUELLA_API huella_status huella_image_encode_pgm(const huella_image *img, uint8_t **data,
                                                 size_t *len, huella_error *err);
/* Write PNG or PGM, chosen by the extension of path (.png, .pgm). */
HUELLA_API huella_status huella_image_write(const huella_image *img, const char *path,
                                            huella_error *err);

/* Resample to new resolution by a scale factor (area averaging when
 * shrinking, bilinear when enlarging).  ppi is scaled with the pixels. */
HUELLA_API huella_status huella_image_scale(const huella_image *img, double scale,
                                            huella_image **out, huella_error *err);

/* ITU-R BT.601 luma of an 8-bit RGB triple, rounded; grey stays grey. */
static inline uint8_t huella_luma(unsigned r, unsigned g, unsigned b)
{
    return (uint8_t)((299u * r + 587u * g + 114u * b + 500u) / 1000u);
}

#ifdef __cplusplus
}
#endif

#endif
