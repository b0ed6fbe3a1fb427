/*
 * huella/wsq.h - WSQ fingerprint image compression (FBI IAFIS-IC-0110 v3)
 * and lossless JPEG (ITU-T T.81 process 14) decoding.
 *
 * WSQ is the wavelet scalar quantisation codec of the FBI and of
 * ANSI/NIST-ITL Type-4/-14 records.  The decoder reproduces the NIST
 * reference decoder pixel for pixel.  The encoder writes standard files
 * (9/7 biorthogonal filters, 64 subbands, variance-based bit allocation,
 * Huffman tables built from the data, a NISTCOM comment with the PPI).
 *
 * Lossless JPEG (SOF3) appears in ANSI/NIST-ITL Type-10/-14/-17 records;
 * libjpeg-turbo 2.1 cannot read it, so huella has its own decoder.  Both
 * decoders are reached through huella_image_decode as well.
 */
#ifndef HUELLA_WSQ_H
#define HUELLA_WSQ_H

#include "huella/image.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Decode a WSQ file into 8-bit grey.  ppi_x = ppi_y = the PPI of the
 * NISTCOM comment when it declares a positive one, else 0 (undeclared).
 * Some files declare a wrong PPI (255 for 500 ppi images): the caller may
 * override it. */
HUELLA_API huella_status huella_image_decode_wsq(const uint8_t *data, size_t len,
                                                 const huella_image_limits *limits,
                                                 huella_image **out, huella_error *err);

#define HUELLA_WSQ_MAX_FIELDS 32

/* What a WSQ file says about itself, without decoding the pixels. */
typedef struct huella_wsq_info {
    uint32_t width;
    uint32_t height;
    int ppi;       /* NISTCOM PPI; -1 when absent */
    uint8_t black; /* frame header: black and white levels */
    uint8_t white;
    double m_shift; /* frame header: shift and scale of the pixels */
    double r_scale;
    unsigned encoder;   /* frame header: WSQ encoder number */
    unsigned software;  /* frame header: software implementation number */
    double bin_center;  /* DQT: the bin-centre parameter C */
    unsigned filter_lo; /* DTT: lengths of the analysis filters (9, 7) */
    unsigned filter_hi;
    unsigned blocks;   /* SOB segments */
    unsigned comments; /* COM segments */
    size_t file_size;
    /* NISTCOM fields in file order ("PPI" -> "500"), NUL-terminated. */
    unsigned field_count;
    char field_name[HUELLA_WSQ_MAX_FIELDS][32];
    char field_value[HUELLA_WSQ_MAX_FIELDS][96];
} huella_wsq_info;

/* Parse the segments of a WSQ file (every marker up to EOI, entropy-coded
 * data skipped) and fill *info. */
HUELLA_API huella_status huella_wsq_read_info(const uint8_t *data, size_t len,
                                              huella_wsq_info *info, huella_error *err);

#define HUELLA_WSQ_DEFAULT_BITRATE 0.75

/*
 * Encode an 8-bit grey image as WSQ at a target bit rate in bits per pixel
 * (pass 0 for HUELLA_WSQ_DEFAULT_BITRATE; 0.75 is the FBI's figure for
 * 500 ppi fingerprints, about 15:1).  ppi goes into the NISTCOM comment:
 * pass 0 to use the image's own (ppi_x rounded), and -1 is written when
 * neither is known.  The caller frees *out with free().
 */
HUELLA_API huella_status huella_wsq_encode(const huella_image *img, double bitrate, int ppi,
                                           uint8_t **out, size_t *len, huella_error *err);

/* Decode a lossless JPEG (SOF3: Huffman, predictors 1-7, point transform,
 * restart intervals, 2-16 bit, 1 or 3 components) into 8-bit grey.
 * Samples wider than 8 bits are rescaled from [0, 2^P - 1] to [0, 255]
 * with rounding; 3 components become BT.601 luma (components are taken as
 * R, G, B).  Frames other than SOF3 are refused (use
 * huella_image_decode_jpeg). */
HUELLA_API huella_status huella_image_decode_jpegl(const uint8_t *data, size_t len,
                                                   const huella_image_limits *limits,
                                                   huella_image **out, huella_error *err);

/* True when data is a JPEG whose first frame header is SOF3 (lossless,
 * Huffman), which huella_image_decode sends to huella_image_decode_jpegl. */
HUELLA_API bool huella_jpeg_is_lossless(const uint8_t *data, size_t len);

#ifdef __cplusplus
}
#endif

#endif
