/*
 * rgb.c - colour images for the face engine.  The rest of huella works in
 * grey (huella/image.h); the face networks were trained on colour, so
 * PNG and JPEG are decoded here to RGB (libpng's simplified API, libjpeg
 * with JCS_RGB output).  Other formats go through huella_image_read and
 * their grey is copied to the three channels.  Sizes are checked against
 * huella's image limits before any pixel buffer is allocated.
 */
#define _POSIX_C_SOURCE 200809L
#include "face/face_internal.h"
#include "huella/image.h"

#include <stdio.h> /* before jpeglib.h, which needs FILE */

#include <jpeglib.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILE_BYTES (256u << 20)

huella_status huella_face_rgb_new(uint32_t width, uint32_t height, huella_face_rgb **out,
                                  huella_error *err)
{
    *out = NULL;
    huella_status st = huella_image_check_size(width, height, NULL, err);
    if (st != HUELLA_OK)
        return st;
    size_t n;
    if (!huella_size_mul((size_t)width * (size_t)height, 3, &n))
        return huella_error_set(err, HUELLA_E_INPUT, "image too large");
    huella_face_rgb *img = malloc(sizeof *img);
    uint8_t *px = calloc(n ? n : 1, 1);
    if (img == NULL || px == NULL) {
        free(img);
        free(px);
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
    }
    img->width = width;
    img->height = height;
    img->pixels = px;
    *out = img;
    return HUELLA_OK;
}

void huella_face_rgb_free(huella_face_rgb *img)
{
    if (img == NULL)
        return;
    free(img->pixels);
    free(img);
}

static huella_status decode_png(const uint8_t *data, size_t len, huella_face_rgb **out,
                                huella_error *err)
{
    png_image png;
    memset(&png, 0, sizeof png);
    png.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&png, data, len))
        return huella_error_set(err, HUELLA_E_INPUT, "PNG: %s", png.message);
    png.format = PNG_FORMAT_RGB;
    huella_status st = huella_face_rgb_new(png.width, png.height, out, err);
    if (st != HUELLA_OK) {
        png_image_free(&png);
        return st;
    }
    /* Alpha is composited over white, as huella's grey decoder does. */
    png_color white = {255, 255, 255};
    if (!png_image_finish_read(&png, &white, (*out)->pixels, 0, NULL)) {
        huella_face_rgb_free(*out);
        *out = NULL;
        st = huella_error_set(err, HUELLA_E_INPUT, "PNG: %s", png.message);
        png_image_free(&png);
        return st;
    }
    return HUELLA_OK;
}

typedef struct jpeg_guard {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
} jpeg_guard;

static void jpeg_fail(j_common_ptr cinfo)
{
    jpeg_guard *g = (jpeg_guard *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, g->message);
    longjmp(g->jump, 1);
}

static void jpeg_quiet(j_common_ptr cinfo)
{
    (void)cinfo;
}

static huella_status decode_jpeg(const uint8_t *data, size_t len, huella_face_rgb **out,
                                 huella_error *err)
{
    struct jpeg_decompress_struct cinfo;
    jpeg_guard guard;
    huella_face_rgb *volatile img = NULL;
    cinfo.err = jpeg_std_error(&guard.pub);
    guard.pub.error_exit = jpeg_fail;
    guard.pub.output_message = jpeg_quiet;
    guard.message[0] = '\0';
    if (setjmp(guard.jump)) {
        jpeg_destroy_decompress(&cinfo);
        huella_face_rgb_free(img);
        return huella_error_set(err, HUELLA_E_INPUT, "JPEG: %s", guard.message);
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)len);
    jpeg_read_header(&cinfo, TRUE);
    cinfo.out_color_space = JCS_RGB;
    huella_face_rgb *tmp;
    huella_status st = huella_face_rgb_new(cinfo.image_width, cinfo.image_height, &tmp, err);
    if (st != HUELLA_OK) {
        jpeg_destroy_decompress(&cinfo);
        return st;
    }
    img = tmp;
    jpeg_start_decompress(&cinfo);
    if (cinfo.output_components != 3 || cinfo.output_width != img->width ||
        cinfo.output_height != img->height) {
        jpeg_destroy_decompress(&cinfo);
        huella_face_rgb_free(img);
        return huella_error_set(err, HUELLA_E_UNSUPPORTED, "JPEG: unexpected colour conversion");
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = img->pixels + (size_t)cinfo.output_scanline * img->width * 3;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    *out = img;
    return HUELLA_OK;
}

huella_status huella_face_rgb_read(const char *path, huella_face_rgb **out, huella_error *err)
{
    *out = NULL;
    uint8_t *data;
    size_t len;
    huella_status st = huella_file_read(path, MAX_FILE_BYTES, &data, &len, err);
    if (st != HUELLA_OK)
        return st;
    st = huella_face_rgb_decode(data, len, out, err);
    free(data);
    if (st != HUELLA_OK)
        huella_error_prefix(err, "%s: ", path);
    return st;
}

huella_status huella_face_rgb_decode(const uint8_t *data, size_t len, huella_face_rgb **out,
                                     huella_error *err)
{
    *out = NULL;
    huella_image_format f = huella_image_detect(data, len);
    if (f == HUELLA_IMAGE_PNG || f == HUELLA_IMAGE_JPEG)
        return f == HUELLA_IMAGE_PNG ? decode_png(data, len, out, err)
                                     : decode_jpeg(data, len, out, err);
    huella_image *grey;
    huella_status st = huella_image_decode(data, len, NULL, &grey, err);
    if (st != HUELLA_OK)
        return st;
    st = huella_face_rgb_new(grey->width, grey->height, out, err);
    if (st == HUELLA_OK) {
        size_t n = (size_t)grey->width * grey->height;
        for (size_t i = 0; i < n; i++)
            memset((*out)->pixels + 3 * i, grey->pixels[i], 3);
    }
    huella_image_free(grey);
    return st;
}

huella_status huella_face_rgb_write_png(const huella_face_rgb *img, const char *path,
                                        huella_error *err)
{
    png_image png;
    memset(&png, 0, sizeof png);
    png.version = PNG_IMAGE_VERSION;
    png.width = img->width;
    png.height = img->height;
    png.format = PNG_FORMAT_RGB;
    png_alloc_size_t size = 0;
    if (!png_image_write_to_memory(&png, NULL, &size, 0, img->pixels, 0, NULL))
        return huella_error_set(err, HUELLA_E_INTERNAL, "%s: PNG: %s", path, png.message);
    void *buf = malloc(size);
    if (buf == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
    huella_status st = HUELLA_OK;
    if (!png_image_write_to_memory(&png, buf, &size, 0, img->pixels, 0, NULL))
        st = huella_error_set(err, HUELLA_E_INTERNAL, "%s: PNG: %s", path, png.message);
    else
        st = huella_file_write(path, buf, size, err);
    free(buf);
    return st;
}
