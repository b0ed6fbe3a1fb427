/*
 * image/picture.h - pages for the pictures huella draws for people
 * (minutiae overlays, iris segmentations, comparisons): one cairo page,
 * SVG when the file name ends in .svg and PNG otherwise, white background,
 * captions in one house style.  Internal to libhuella.
 */
#ifndef HUELLA_IMAGE_PICTURE_H
#define HUELLA_IMAGE_PICTURE_H

#include "huella/base.h"

#include <cairo.h>

typedef struct huella_picture {
    cairo_surface_t *surface;
    cairo_t *cr;
    bool svg;
} huella_picture;

/* A white page of width x height (pixels for PNG, points for SVG). */
huella_status huella_picture_open(huella_picture *p, const char *path, double width, double height,
                                  huella_error *err);

/* Finish the page and write it to path; releases the picture whatever
 * happens.  Errors name the path. */
huella_status huella_picture_close(huella_picture *p, const char *path, huella_error *err);

/* A caption line at (x, y) in sans-serif of the given size, near-black. */
void huella_picture_text(cairo_t *cr, double x, double y, double size, const char *text);

#endif
