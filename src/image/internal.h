/*
 * image/internal.h - helpers shared by the image decoders, not public API.
 *
 * Every decoder turns its samples into 8-bit grey through these few
 * functions so that the conventions of huella/image.h hold for all formats
 * alike: BT.601 luma for colour, alpha composited over white, wider samples
 * rescaled with rounding, resolutions converted to pixels per inch in one
 * place.
 */
#ifndef HUELLA_IMAGE_INTERNAL_H
#define HUELLA_IMAGE_INTERNAL_H

#include "huella/image.h"

/* Metres per inch, exactly (the inch is defined as 25.4 mm). */
#define HUELLA_METRES_PER_INCH 0.0254

/* Allocate an image of width x height after checking it against limits;
 * on failure the message starts with "NAME: " (the format's name).  The
 * pixels are zeroed, ppi undeclared, format set. */
huella_status huella_image_alloc(uint64_t width, uint64_t height, const huella_image_limits *limits,
                                 huella_image_format format, huella_image **out, huella_error *err);

/* Resolution in pixels per inch from pixels per metre.  Files that store
 * whole pixels per metre (PNG, BMP) cannot hold "500 ppi" exactly: it comes
 * back as 19685 px/m, 499.999 ppi, and writers that truncate instead of
 * rounding store 96 dpi as 3779 px/m, 95.987 ppi.  So when a whole ppi
 * encodes to less than one pixel per metre away from the stored value,
 * that whole number is returned (whole ppi are 39.37 px/m apart, so this is
 * never ambiguous); otherwise the exact conversion.  Non-positive or
 * non-finite input gives 0. */
double huella_image_ppi_from_ppm(double pixels_per_metre);

/* Rescale v in [0, max] to [0, 255] with rounding; values above max clamp.
 * For max = 65535 this is (v * 255 + 32767) / 65535. */
static inline uint8_t huella_image_rescale(uint64_t v, uint64_t max)
{
    if (max == 255)
        return (uint8_t)(v > 255 ? 255 : v);
    if (max == 0)
        return 0;
    if (v >= max)
        return 255;
    while (max > UINT32_MAX) { /* keep v * 255 within 64 bits */
        v >>= 1;
        max >>= 1;
    }
    return (uint8_t)((v * 255u + max / 2) / max);
}

/* A 16-bit sample to 8 bits, rounded. */
static inline uint8_t huella_image_from16(unsigned v)
{
    return (uint8_t)((v * 255u + 32767u) / 65535u);
}

/* An 8-bit value with straight (unassociated) alpha, composited over white. */
static inline uint8_t huella_image_over_white(unsigned value, unsigned alpha)
{
    return (uint8_t)((value * alpha + 255u * (255u - alpha) + 127u) / 255u);
}

/* One row of 8-bit interleaved samples to grey: channels 1 (grey),
 * 2 (grey, alpha), 3 (R, G, B) or 4 (R, G, B, alpha). */
void huella_image_row_to_grey(const uint8_t *src, unsigned channels, size_t width, uint8_t *dst);

#endif
