/*
 * picture.c - pages for the pictures huella draws for people.
 *
 * Contract: huella_picture_open gives a cairo context on a white page;
 * huella_picture_close writes it (SVG streamed to the file as cairo draws,
 * PNG written at the end) and frees everything, also on failure.  The
 * engines draw their own content; this file only owns the page, so that
 * every picture is made, written and captioned the same way.
 */
#include "image/picture.h"

#include <cairo-svg.h>
#include <math.h>
#include <string.h>

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

huella_status huella_picture_open(huella_picture *p, const char *path, double width, double height,
                                  huella_error *err)
{
    p->svg = ends_with(path, ".svg");
    p->surface = p->svg ? cairo_svg_surface_create(path, width, height)
                        : cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)ceil(width),
                                                     (int)ceil(height));
    p->cr = cairo_create(p->surface);
    if (cairo_status(p->cr) != CAIRO_STATUS_SUCCESS) {
        huella_status st = huella_error_set(err, HUELLA_E_IO, "%s: cannot draw: %s", path,
                                            cairo_status_to_string(cairo_status(p->cr)));
        cairo_destroy(p->cr);
        cairo_surface_destroy(p->surface);
        p->cr = NULL;
        p->surface = NULL;
        return st;
    }
    cairo_set_source_rgb(p->cr, 1, 1, 1);
    cairo_paint(p->cr);
    return HUELLA_OK;
}

huella_status huella_picture_close(huella_picture *p, const char *path, huella_error *err)
{
    cairo_destroy(p->cr);
    cairo_status_t cs;
    if (p->svg) {
        cairo_surface_finish(p->surface);
        cs = cairo_surface_status(p->surface);
    } else {
        cs = cairo_surface_write_to_png(p->surface, path);
    }
    cairo_surface_destroy(p->surface);
    p->cr = NULL;
    p->surface = NULL;
    if (cs != CAIRO_STATUS_SUCCESS)
        return huella_error_set(err, HUELLA_E_IO, "%s: cannot write: %s", path,
                                cairo_status_to_string(cs));
    return HUELLA_OK;
}

void huella_picture_text(cairo_t *cr, double x, double y, double size, const char *text)
{
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    cairo_move_to(cr, x, y);
    cairo_show_text(cr, text);
}
