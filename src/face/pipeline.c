/*
 * pipeline.c - detection, landmarks and alignment put together.
 *
 * Detection follows face-api's detectAllFaces(TinyFaceDetector)
 * .withFaceLandmarks(): boxes from the detector, each box cut out of the
 * image (clipped, floored) and given to the landmark network, the landmarks
 * shifted back into the image.  huella adds an optional black border before
 * detecting, so that faces that fill a tight crop are still found; boxes
 * and landmarks are reported in the original image's pixels and a box may
 * reach beyond its border.
 *
 * Alignment: HUELLA_FACE_ALIGN_BOX is face-api's own (the landmarks'
 * bounding box grown by 20 %, clipped to the image, then padded to a
 * centred square by the recogniser); HUELLA_FACE_ALIGN_SIMILARITY fits a
 * rotation, scale and shift (least squares over the 51 inner landmarks:
 * brows, nose, eyes, mouth) that maps a template onto the face, and samples
 * the 150 x 150 chip through it.  The template is the mean position of
 * those landmarks in face-api's box chips of upright faces (docs/face.md
 * says how it was measured), so the chip has the geometry the recogniser
 * saw in face-api's pipeline without the roll and the clipping.
 */
#include "face/face_internal.h"
#include "face/template_shape.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A crop of img at integer (x, y, w, h); outside the image is filled with
 * grey level fill. */
static huella_status crop_fill(const huella_face_rgb *img, int x, int y, int w, int h, int fill,
                               huella_face_rgb **out, huella_error *err)
{
    huella_status st = huella_face_rgb_new((uint32_t)w, (uint32_t)h, out, err);
    if (st != HUELLA_OK)
        return st;
    if (fill != 0)
        memset((*out)->pixels, fill, (size_t)w * (size_t)h * 3);
    for (int r = 0; r < h; r++) {
        int sy = y + r;
        if (sy < 0 || sy >= (int)img->height)
            continue;
        for (int c = 0; c < w; c++) {
            int sx = x + c;
            if (sx < 0 || sx >= (int)img->width)
                continue;
            memcpy((*out)->pixels + ((size_t)r * (size_t)w + (size_t)c) * 3,
                   img->pixels + ((size_t)sy * img->width + (size_t)sx) * 3, 3);
        }
    }
    return HUELLA_OK;
}

static huella_status crop(const huella_face_rgb *img, int x, int y, int w, int h,
                          huella_face_rgb **out, huella_error *err)
{
    return crop_fill(img, x, y, w, h, 0, out, err);
}

/* face-api's clipAtImageBorders + floor. */
static bool clip_box(double x, double y, double w, double h, int iw, int ih, int *cx, int *cy,
                     int *cw, int *ch)
{
    double x0 = fmax(x, 0), y0 = fmax(y, 0);
    double nw = fmin(x + w - x0, iw - x0), nh = fmin(y + h - y0, ih - y0);
    *cx = (int)floor(x0);
    *cy = (int)floor(y0);
    *cw = (int)floor(nw);
    *ch = (int)floor(nh);
    return *cw > 0 && *ch > 0;
}

/* The border added before detection is light grey: on the development
 * sets (ORL, a sample of LFW images) it lost fewer faces than black or
 * mid-grey (docs/face.md). */
#define PAD_FILL 200

huella_status huella_face_detect(const huella_face_models *m, const huella_face_rgb *img,
                                 const huella_face_detect_options *opt, huella_face **faces,
                                 size_t *n, huella_error *err)
{
    *faces = NULL;
    *n = 0;
    int input_size = opt && opt->input_size ? opt->input_size : 416;
    double thr = opt && opt->score_threshold > 0 ? opt->score_threshold : 0.5;
    double padf = opt ? opt->pad : 0.0;
    if (!(padf >= 0 && padf <= 1))
        return huella_error_set(err, HUELLA_E_INPUT, "detection padding %g is not in 0..1", padf);
    int side = (int)(img->width > img->height ? img->width : img->height);
    int pad = (int)lround(padf * side);
    huella_face_rgb *work = NULL;
    const huella_face_rgb *src = img;
    huella_status st;
    if (pad > 0) {
        st = crop_fill(img, -pad, -pad, (int)img->width + 2 * pad, (int)img->height + 2 * pad,
                       PAD_FILL, &work, err);
        if (st != HUELLA_OK)
            return st;
        src = work;
    }
    face_raw_box *boxes;
    size_t nb;
    face_op_cache *cache = face_op_pool_acquire(m->ops);
    st = face_detect_forward(m->detect, cache, src, input_size, thr, &boxes, &nb, err);
    if (st != HUELLA_OK) {
        face_op_pool_release(m->ops, cache);
        huella_face_rgb_free(work);
        return st;
    }
    nb = face_nms(boxes, nb, 0.4);
    huella_face *out = nb ? calloc(nb, sizeof *out) : NULL;
    if (nb && out == NULL) {
        face_op_pool_release(m->ops, cache);
        free(boxes);
        huella_face_rgb_free(work);
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
    }
    size_t k = 0;
    for (size_t i = 0; i < nb; i++) {
        double bx = boxes[i].x * src->width, by = boxes[i].y * src->height;
        double bw = boxes[i].w * src->width, bh = boxes[i].h * src->height;
        int cx, cy, cw, ch;
        if (!clip_box(bx, by, bw, bh, (int)src->width, (int)src->height, &cx, &cy, &cw, &ch))
            continue;
        huella_face_rgb *face;
        if ((st = crop(src, cx, cy, cw, ch, &face, err)) != HUELLA_OK)
            break;
        float lm[136];
        st = face_landmark_forward(m->landmark, cache, face, lm, err);
        huella_face_rgb_free(face);
        if (st != HUELLA_OK)
            break;
        huella_face *f = &out[k++];
        f->x = bx - pad;
        f->y = by - pad;
        f->width = bw;
        f->height = bh;
        f->score = boxes[i].score;
        /* Landmarks come relative to the crop actually cut (clipped and
         * floored); face-api shifts them by the unclipped box instead,
         * which misplaces them when a box crosses the image's top or left
         * edge. */
        for (int p = 0; p < HUELLA_FACE_LANDMARKS; p++) {
            f->landmarks[p].x = lm[2 * p] * cw + cx - pad;
            f->landmarks[p].y = lm[2 * p + 1] * ch + cy - pad;
        }
    }
    face_op_pool_release(m->ops, cache);
    free(boxes);
    huella_face_rgb_free(work);
    if (st != HUELLA_OK) {
        free(out);
        return st;
    }
    if (k == 0) {
        free(out);
        out = NULL;
    }
    *faces = out;
    *n = k;
    return HUELLA_OK;
}

static huella_status align_box(const huella_face_rgb *img, const huella_face *face,
                               huella_face_rgb **chip, huella_error *err)
{
    double x0 = 1e300, y0 = 1e300, x1 = -1e300, y1 = -1e300;
    for (int p = 0; p < HUELLA_FACE_LANDMARKS; p++) {
        x0 = fmin(x0, face->landmarks[p].x);
        y0 = fmin(y0, face->landmarks[p].y);
        x1 = fmax(x1, face->landmarks[p].x);
        y1 = fmax(y1, face->landmarks[p].y);
    }
    double w = x1 - x0, h = y1 - y0;
    double px = w * 0.2, py = h * 0.2;
    int cx, cy, cw, ch;
    if (!clip_box(x0 - px / 2, y0 - py / 2, w + px, h + py, (int)img->width, (int)img->height, &cx,
                  &cy, &cw, &ch))
        return huella_error_set(err, HUELLA_E_INPUT, "the face lies outside the image");
    return crop(img, cx, cy, cw, ch, chip, err);
}

void face_similarity_fit(const huella_face_point *src, const double (*dst)[2], int from, int to,
                         double t[4])
{
    /* Least-squares similarity mapping dst (template) onto src (image):
     * image = [a -b; b a] * template + (tx, ty). */
    double msx = 0, msy = 0, mdx = 0, mdy = 0;
    int n = to - from;
    for (int i = from; i < to; i++) {
        msx += src[i].x;
        msy += src[i].y;
        mdx += dst[i][0];
        mdy += dst[i][1];
    }
    msx /= n;
    msy /= n;
    mdx /= n;
    mdy /= n;
    double sxx = 0, sxy = 0, norm = 0;
    for (int i = from; i < to; i++) {
        double ux = dst[i][0] - mdx, uy = dst[i][1] - mdy;
        double vx = src[i].x - msx, vy = src[i].y - msy;
        sxx += ux * vx + uy * vy;
        sxy += ux * vy - uy * vx;
        norm += ux * ux + uy * uy;
    }
    double a = sxx / norm, b = sxy / norm;
    t[0] = a;
    t[1] = b;
    t[2] = msx - (a * mdx - b * mdy);
    t[3] = msy - (b * mdx + a * mdy);
}

static huella_status align_similarity(const huella_face_rgb *img, const huella_face *face,
                                      huella_face_rgb **chip, huella_error *err)
{
    double t[4];
    face_similarity_fit(face->landmarks, face_template_shape, FACE_TEMPLATE_FIRST,
                        HUELLA_FACE_LANDMARKS, t);
    if (!isfinite(t[0]) || !isfinite(t[1]) || hypot(t[0], t[1]) < 1e-3)
        return huella_error_set(err, HUELLA_E_INPUT, "the landmarks are degenerate");
    huella_status st = huella_face_rgb_new(HUELLA_FACE_CHIP, HUELLA_FACE_CHIP, chip, err);
    if (st != HUELLA_OK)
        return st;
    int iw = (int)img->width, ih = (int)img->height;
    for (int v = 0; v < HUELLA_FACE_CHIP; v++)
        for (int u = 0; u < HUELLA_FACE_CHIP; u++) {
            double x = t[0] * u - t[1] * v + t[2];
            double y = t[1] * u + t[0] * v + t[3];
            int x0 = (int)floor(x), y0 = (int)floor(y);
            double fx = x - x0, fy = y - y0;
            uint8_t *d = (*chip)->pixels + ((size_t)v * HUELLA_FACE_CHIP + (size_t)u) * 3;
            for (int c = 0; c < 3; c++) {
                double acc = 0;
                for (int dy = 0; dy < 2; dy++)
                    for (int dx = 0; dx < 2; dx++) {
                        int sx = x0 + dx, sy = y0 + dy;
                        double wgt = (dx ? fx : 1 - fx) * (dy ? fy : 1 - fy);
                        if (sx < 0 || sy < 0 || sx >= iw || sy >= ih)
                            continue;
                        acc += wgt * img->pixels[((size_t)sy * (size_t)iw + (size_t)sx) * 3 + c];
                    }
                d[c] = (uint8_t)lround(fmin(255.0, fmax(0.0, acc)));
            }
        }
    return HUELLA_OK;
}

huella_status huella_face_align(const huella_face_rgb *img, const huella_face *face,
                                huella_face_align_method method, huella_face_rgb **chip,
                                huella_error *err)
{
    *chip = NULL;
    if (method == HUELLA_FACE_ALIGN_BOX)
        return align_box(img, face, chip, err);
    return align_similarity(img, face, chip, err);
}

huella_status huella_face_detect_best(const huella_face_models *m, const huella_face_rgb *img,
                                      huella_face *face, huella_error *err)
{
    /* Tight crops first (a wide border, small input), then photos, then
     * less confident detections with wider borders as a last resort. */
    static const huella_face_detect_options tries[] = {
        {224, 0.3, 0.5}, {416, 0.3, 0.25}, {416, 0.5, 0.0}, {320, 0.2, 0.5}, {224, 0.2, 0.8},
    };
    for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
        huella_face *faces;
        size_t n;
        huella_status st = huella_face_detect(m, img, &tries[i], &faces, &n, err);
        if (st != HUELLA_OK)
            return st;
        if (n > 0) {
            *face = faces[0];
            free(faces);
            return HUELLA_OK;
        }
    }
    return huella_error_set(err, HUELLA_E_INPUT, "no face found");
}

huella_status huella_face_enrol(const huella_face_models *m, const huella_face_rgb *img,
                                int quality_floor, unsigned flags, huella_face_sample *out,
                                huella_face_rgb **chip, huella_error *err)
{
    if (chip != NULL)
        *chip = NULL;
    memset(out, 0, sizeof *out);
    huella_status st = huella_face_detect_best(m, img, &out->face, err);
    if (st != HUELLA_OK)
        return st;
    huella_face_rgb *c;
    if ((st = huella_face_align(img, &out->face, HUELLA_FACE_ALIGN_SIMILARITY, &c, err)) !=
        HUELLA_OK)
        return st;
    huella_face_quality_measure(&out->face, c, &out->quality);
    if (out->quality.score < quality_floor) {
        char why[256] = "";
        size_t len = 0;
        for (unsigned f = 1; f <= HUELLA_FACE_Q_DETECTION; f <<= 1)
            if ((out->quality.reasons & f) && len + 2 < sizeof why) {
                int k = snprintf(why + len, sizeof why - len, "%s%s", len ? "; " : "",
                                 huella_face_quality_reason(f));
                if (k > 0)
                    len += (size_t)k < sizeof why - len ? (size_t)k : sizeof why - len - 1;
            }
        st = huella_error_set(err, HUELLA_E_INPUT, "face quality %d is below the floor %d (%s)",
                              out->quality.score, quality_floor, why);
    } else {
        st = huella_face_descriptor(m, c, out->descriptor, err);
        if (st == HUELLA_OK && !(flags & HUELLA_FACE_ENROL_SINGLE_PASS)) {
            huella_face_rgb *mirror;
            st = huella_face_rgb_new(c->width, c->height, &mirror, err);
            if (st == HUELLA_OK) {
                for (uint32_t y = 0; y < c->height; y++)
                    for (uint32_t x = 0; x < c->width; x++)
                        memcpy(mirror->pixels + ((size_t)y * c->width + x) * 3,
                               c->pixels + ((size_t)y * c->width + (c->width - 1 - x)) * 3, 3);
                float d2[HUELLA_FACE_DIM];
                st = huella_face_descriptor(m, mirror, d2, err);
                for (int i = 0; st == HUELLA_OK && i < HUELLA_FACE_DIM; i++)
                    out->descriptor[i] = (out->descriptor[i] + d2[i]) / 2;
                huella_face_rgb_free(mirror);
            }
        }
        if (st == HUELLA_OK)
            huella_face_template_from_descriptor(out->descriptor, &out->tmpl);
    }
    if (chip != NULL)
        *chip = c;
    else
        huella_face_rgb_free(c);
    return st;
}
