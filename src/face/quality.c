/*
 * quality.c - face image quality in the spirit of ISO/IEC 29794-5: the
 * measures it names that a 68-point landmark set and an aligned chip can
 * give, each turned into a penalty on a 0-100 score and a reason flag.
 *
 *  - size: the inter-eye distance in the original image (centres of the
 *    two eyes' six landmarks); the recogniser sees 150-pixel chips whose
 *    eyes are 54 pixels apart, so below 24 pixels it invents detail;
 *  - pose: roll from the eye line; yaw from how far the nose tip sits from
 *    the middle of the jaw line (the asymmetry of its distances to the two
 *    jaw ends); pitch from the nose length against the eye-to-mouth
 *    distance, relative to the same ratio in the upright template;
 *  - sharpness: mean absolute Laplacian of the chip's grey (face region);
 *  - exposure: mean and standard deviation of that grey;
 *  - eyes: standard deviation of grey in boxes around the template's eye
 *    positions, low when sunglasses, hair or a hand cover them;
 *  - detection: the detector's own confidence.
 * The thresholds are documented in docs/face.md; they were set from the
 * ORL and faceapi-reference images, not from the LFW pairs.
 */
#include "face/face_internal.h"
#include "face/template_shape.h"

#include <math.h>

#define PI 3.14159265358979323846

static huella_face_point centre(const huella_face_point *p, int from, int to)
{
    huella_face_point c = {0, 0};
    for (int i = from; i < to; i++) {
        c.x += p[i].x;
        c.y += p[i].y;
    }
    c.x /= to - from;
    c.y /= to - from;
    return c;
}

static double dist(huella_face_point a, huella_face_point b)
{
    return hypot(a.x - b.x, a.y - b.y);
}

static double grey(const huella_face_rgb *c, int x, int y)
{
    const uint8_t *p = c->pixels + ((size_t)y * c->width + (size_t)x) * 3;
    return 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
}

/* Mean and standard deviation of grey over a box of the chip. */
static void box_stats(const huella_face_rgb *c, int x0, int y0, int x1, int y1, double *mean,
                      double *sd)
{
    double s = 0, s2 = 0;
    int n = 0;
    for (int y = y0 < 0 ? 0 : y0; y < y1 && y < (int)c->height; y++)
        for (int x = x0 < 0 ? 0 : x0; x < x1 && x < (int)c->width; x++) {
            double v = grey(c, x, y);
            s += v;
            s2 += v * v;
            n++;
        }
    *mean = n ? s / n : 0;
    *sd = n ? sqrt(fmax(0.0, s2 / n - *mean * *mean)) : 0;
}

void huella_face_quality_measure(const huella_face *face, const huella_face_rgb *chip,
                                 huella_face_quality *q)
{
    const huella_face_point *p = face->landmarks;
    huella_face_point le = centre(p, 36, 42), re = centre(p, 42, 48);
    huella_face_point mouth = centre(p, 48, 68);
    double penalty = 0;
    q->reasons = 0;
    q->inter_eye = dist(le, re);
    q->roll = atan2(re.y - le.y, re.x - le.x) * 180.0 / PI;
    double dl = dist(p[30], p[0]), dr = dist(p[30], p[16]);
    q->yaw = asin(fmax(-1.0, fmin(1.0, (dl - dr) / (dl + dr)))) * 180.0 / PI;
    huella_face_point eyes = {(le.x + re.x) / 2, (le.y + re.y) / 2};
    double em = dist(eyes, mouth);
    double nose = dist(p[27], p[30]);
    /* The same ratio in the upright template. */
    const double(*t)[2] = face_template_shape;
    double tnose = hypot(t[30][0] - t[27][0], t[30][1] - t[27][1]);
    double tem = 0;
    {
        double ex = 0, ey = 0, mx = 0, my = 0;
        for (int i = 36; i < 48; i++) {
            ex += t[i][0] / 12;
            ey += t[i][1] / 12;
        }
        for (int i = 48; i < 68; i++) {
            mx += t[i][0] / 20;
            my += t[i][1] / 20;
        }
        tem = hypot(mx - ex, my - ey);
    }
    double ratio = em > 0 ? (nose / em) / (tnose / tem) : 1;
    q->pitch = acos(fmin(1.0, ratio)) * 180.0 / PI * (ratio < 1 ? 1 : 0);

    if (q->inter_eye < 24) {
        q->reasons |= HUELLA_FACE_Q_SMALL;
        penalty += (24 - q->inter_eye) * 4;
    }
    if (fabs(q->yaw) > 35) {
        q->reasons |= HUELLA_FACE_Q_YAW;
        penalty += (fabs(q->yaw) - 35) * 1.5;
    }
    if (q->pitch > 35) {
        q->reasons |= HUELLA_FACE_Q_PITCH;
        penalty += (q->pitch - 35) * 1.0;
    }
    if (fabs(q->roll) > 30) {
        q->reasons |= HUELLA_FACE_Q_ROLL;
        penalty += (fabs(q->roll) - 30) * 0.5;
    }
    if (face->score < 0.5) {
        q->reasons |= HUELLA_FACE_Q_DETECTION;
        penalty += (0.5 - face->score) * 60;
    }
    /* Chip measures over the face region (template brows to chin). */
    double lap = 0;
    int n = 0;
    for (int y = 30; y < 130; y++)
        for (int x = 30; x < 120; x++) {
            double v = 4 * grey(chip, x, y) - grey(chip, x - 1, y) - grey(chip, x + 1, y) -
                       grey(chip, x, y - 1) - grey(chip, x, y + 1);
            lap += fabs(v);
            n++;
        }
    q->sharpness = lap / n;
    box_stats(chip, 30, 30, 120, 130, &q->brightness, &q->contrast);
    double m1, s1, m2, s2;
    box_stats(chip, (int)t[36][0] - 4, (int)t[37][1] - 8, (int)t[39][0] + 4, (int)t[41][1] + 8, &m1,
              &s1);
    box_stats(chip, (int)t[42][0] - 4, (int)t[44][1] - 8, (int)t[45][0] + 4, (int)t[46][1] + 8, &m2,
              &s2);
    q->eye_contrast = (s1 + s2) / 2;
    if (q->sharpness < 1.5) {
        q->reasons |= HUELLA_FACE_Q_BLUR;
        penalty += (1.5 - q->sharpness) * 40;
    }
    if (q->brightness < 50) {
        q->reasons |= HUELLA_FACE_Q_DARK;
        penalty += (50 - q->brightness) * 1.0;
    }
    if (q->brightness > 210) {
        q->reasons |= HUELLA_FACE_Q_BRIGHT;
        penalty += (q->brightness - 210) * 1.5;
    }
    if (q->contrast < 20) {
        q->reasons |= HUELLA_FACE_Q_CONTRAST;
        penalty += (20 - q->contrast) * 2;
    }
    if (q->eye_contrast < 10 || m1 < 25 || m2 < 25) {
        q->reasons |= HUELLA_FACE_Q_EYES;
        penalty += q->eye_contrast < 10 ? (10 - q->eye_contrast) * 4 : 15;
    }
    double score = 100 - penalty;
    q->score = (int)lround(score < 0 ? 0 : score > 100 ? 100 : score);
}

const char *huella_face_quality_reason(unsigned flag)
{
    switch (flag) {
    case HUELLA_FACE_Q_SMALL:
        return "small face: eyes less than 24 pixels apart";
    case HUELLA_FACE_Q_YAW:
        return "head turned more than 35 degrees";
    case HUELLA_FACE_Q_PITCH:
        return "head tilted up or down more than 35 degrees";
    case HUELLA_FACE_Q_ROLL:
        return "head tilted sideways more than 30 degrees";
    case HUELLA_FACE_Q_BLUR:
        return "blurred: little fine detail";
    case HUELLA_FACE_Q_DARK:
        return "under-exposed";
    case HUELLA_FACE_Q_BRIGHT:
        return "over-exposed";
    case HUELLA_FACE_Q_CONTRAST:
        return "low contrast";
    case HUELLA_FACE_Q_EYES:
        return "eyes dark or flat: occluded or closed";
    case HUELLA_FACE_Q_DETECTION:
        return "the detector is unsure this is a face";
    default:
        return NULL;
    }
}
