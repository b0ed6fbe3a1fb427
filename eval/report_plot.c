/*
 * report_plot.c - the two figures of an evaluation report: the DET curve
 * and the genuine/impostor score histograms.
 *
 * Contract: each figure is drawn by one function on a cairo context in
 * CSS-pixel units, and that same function renders both the SVG and the
 * PNG (at HUELLA_REPORT_PNG_SCALE), so the two files never disagree.
 * Output goes to memory buffers; report.c writes them out atomically.
 *
 * DET curve (Martin, Doddington, Kamm, Ordowski, Przybocki, "The DET curve
 * in assessment of detection task performance", Eurospeech 1997; ISO/IEC
 * 19795-1): FNMR against FMR, both on the normal-deviate
 * (probit) scale, so that normal score distributions give straight lines.
 * The operating points are computed with the rules of eval.h and
 * metrics.c: a comparison matches when its similarity is >= t (distances
 * are negated), and a comparison without a score (NaN) never matches, so
 * FNMR never falls below the fraction of genuine comparisons that failed.
 * Rates of 0 and 1 have no probit; the axes cover a range chosen from the
 * number of comparisons (down to half the smallest non-zero rate) and the
 * curve is clipped to it, which the caption says.
 *
 * Histograms: normalised densities over the comparisons that have a
 * score, on shared bins whose width is a round number (an integer for
 * integer scores), with the EER threshold as a vertical line.
 */
#include "eval/report_plot.h"

#include <cairo-svg.h>
#include <cairo.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DASH   "\xe2\x80\x94" /* U+2014 EM DASH */
#define LEQ    "\xe2\x89\xa4" /* U+2264 LESS-THAN OR EQUAL TO */
#define MIDDOT "\xc2\xb7"     /* U+00B7 MIDDLE DOT */
#define PI     3.14159265358979323846

/* Palette: dark text and frame, light grids, and the colour-blind-safe
 * blue/orange pair of the Tableau 10 / Okabe-Ito families for the data. */
#define COLOR_TEXT       0x222222u
#define COLOR_MUTED      0x666666u
#define COLOR_FRAME      0x444444u
#define COLOR_GRID_MAJOR 0xd0d0d0u
#define COLOR_GRID_MINOR 0xecececu
#define COLOR_CURVE      0x1f5fa8u
#define COLOR_GENUINE    0x1f77b4u
#define COLOR_IMPOSTOR   0xe07b00u
#define COLOR_EER        0x111111u
#define COLOR_OP1        0xd62728u
#define COLOR_OP2        0x2ca02cu
#define COLOR_OP3        0x9467bdu

#define FONT_TITLE  16.0
#define FONT_LABEL  13.0
#define FONT_TICK   11.5
#define FONT_SMALL  11.0
#define FONT_LEGEND 12.5

/* ---- Small formatting helpers -------------------------------------------- */

void huella_report_percent(char *buf, size_t size, double rate)
{
    if (isnan(rate)) {
        snprintf(buf, size, DASH);
        return;
    }
    double pct = rate * 100.0;
    if (pct == 0.0 || pct == 100.0) {
        snprintf(buf, size, "%.0f%%", pct);
        return;
    }
    /* Three significant figures, never in exponent form; at least one
     * decimal from 10 % up so that "12.0%" does not read as a round count. */
    int decimals = 2 - (int)floor(log10(fabs(pct)));
    if (decimals < 1)
        decimals = 1;
    if (decimals > 8)
        decimals = 8;
    snprintf(buf, size, "%.*f%%", decimals, pct);
}

/* 4950 -> "4,950". */
static void format_count(char *buf, size_t size, size_t n)
{
    char digits[32];
    int len = snprintf(digits, sizeof(digits), "%zu", n);
    size_t out = 0;
    for (int i = 0; i < len && out + 2 < size; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            buf[out++] = ',';
        buf[out++] = digits[i];
    }
    buf[out] = '\0';
}

/* A threshold in the modality's units: 4 significant figures, "-inf"/"+inf". */
static void format_threshold(char *buf, size_t size, double t)
{
    if (isinf(t))
        snprintf(buf, size, "%s", t > 0 ? "+inf" : "-inf");
    else if (isnan(t))
        snprintf(buf, size, DASH);
    else
        snprintf(buf, size, "%.4g", t);
}

/* ---- Drawing helpers ------------------------------------------------------ */

static void set_color(cairo_t *cr, uint32_t rgb, double alpha)
{
    cairo_set_source_rgba(cr, ((rgb >> 16) & 0xff) / 255.0, ((rgb >> 8) & 0xff) / 255.0,
                          (rgb & 0xff) / 255.0, alpha);
}

static void set_font(cairo_t *cr, double size, bool bold)
{
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
}

static double text_width(cairo_t *cr, const char *s)
{
    cairo_text_extents_t e;
    cairo_text_extents(cr, s, &e);
    return e.x_advance;
}

/* Draw s anchored at (x, y): halign 0 = left, 0.5 = centre, 1 = right; y is
 * the baseline, or the middle of a digit's height when middle is true
 * (for tick labels beside a grid line). */
static void draw_text(cairo_t *cr, double x, double y, const char *s, double halign, bool middle)
{
    double dy = 0.0;
    if (middle) {
        cairo_text_extents_t e;
        cairo_text_extents(cr, "0", &e);
        dy = e.height / 2.0;
    }
    cairo_move_to(cr, x - halign * text_width(cr, s), y + dy);
    cairo_show_text(cr, s);
}

/* Copy s into buf, shortened with an ellipsis to fit max_width. */
static void fit_text(cairo_t *cr, const char *s, double max_width, char *buf, size_t size)
{
    snprintf(buf, size, "%s", s);
    if (text_width(cr, buf) <= max_width)
        return;
    size_t len = strlen(buf);
    while (len > 0) {
        /* Drop one UTF-8 character (its continuation bytes first). */
        do
            len--;
        while (len > 0 && ((unsigned char)buf[len] & 0xc0) == 0x80);
        if (len + 4 > size)
            continue;
        memcpy(buf + len, "\xe2\x80\xa6", 4); /* U+2026 HORIZONTAL ELLIPSIS + NUL */
        if (text_width(cr, buf) <= max_width)
            return;
    }
    buf[0] = '\0';
}

/* Draw s word-wrapped to width, first baseline at y; returns the baseline
 * after the last line.  A word longer than a line is left to overflow. */
static double draw_wrapped(cairo_t *cr, double x, double y, double width, double line_height,
                           const char *s)
{
    char line[1024] = "", trial[1024];
    const char *p = s;
    for (;;) {
        p += strspn(p, " ");
        size_t wlen = strcspn(p, " ");
        if (wlen == 0)
            break;
        int n = snprintf(trial, sizeof(trial), "%s%s%.*s", line, line[0] != '\0' ? " " : "",
                         (int)(wlen < 256 ? wlen : 256), p);
        if (n < 0 || (size_t)n >= sizeof(trial))
            break; /* captions are far shorter than this */
        if (line[0] != '\0' && text_width(cr, trial) > width) {
            draw_text(cr, x, y, line, 0.0, false);
            y += line_height;
            snprintf(line, sizeof(line), "%.*s", (int)(wlen < 256 ? wlen : 256), p);
        } else {
            memcpy(line, trial, sizeof(line));
        }
        p += wlen;
    }
    if (line[0] != '\0') {
        draw_text(cr, x, y, line, 0.0, false);
        y += line_height;
    }
    return y;
}

typedef enum marker_shape {
    MARKER_CIRCLE,
    MARKER_SQUARE,
    MARKER_TRIANGLE,
    MARKER_DIAMOND
} marker_shape;

/* A filled marker with a white halo, so that it reads on top of the curve. */
static void draw_marker(cairo_t *cr, double x, double y, marker_shape shape, uint32_t color)
{
    const double r = 5.5;
    switch (shape) {
    case MARKER_CIRCLE:
        cairo_new_sub_path(cr);
        cairo_arc(cr, x, y, r, 0, 2.0 * PI);
        break;
    case MARKER_SQUARE:
        cairo_rectangle(cr, x - r * 0.85, y - r * 0.85, r * 1.7, r * 1.7);
        break;
    case MARKER_TRIANGLE:
        cairo_move_to(cr, x, y - r * 1.1);
        cairo_line_to(cr, x + r, y + r * 0.75);
        cairo_line_to(cr, x - r, y + r * 0.75);
        cairo_close_path(cr);
        break;
    case MARKER_DIAMOND:
        cairo_move_to(cr, x, y - r * 1.2);
        cairo_line_to(cr, x + r, y);
        cairo_line_to(cr, x, y + r * 1.2);
        cairo_line_to(cr, x - r, y);
        cairo_close_path(cr);
        break;
    }
    set_color(cr, color, 1.0);
    cairo_fill_preserve(cr);
    set_color(cr, 0xffffffu, 1.0);
    cairo_set_line_width(cr, 1.5);
    cairo_stroke(cr);
}

typedef struct box {
    double x0, y0, x1, y1; /* left, top, right, bottom */
} box;

static void paint_background(cairo_t *cr)
{
    set_color(cr, 0xffffffu, 1.0);
    cairo_paint(cr);
}

static void draw_frame(cairo_t *cr, const box *b)
{
    set_color(cr, COLOR_FRAME, 1.0);
    cairo_set_line_width(cr, 1.0);
    cairo_rectangle(cr, b->x0, b->y0, b->x1 - b->x0, b->y1 - b->y0);
    cairo_stroke(cr);
}

/* Vertical axis label, rotated, centred on the plot's height. */
static void draw_vertical_label(cairo_t *cr, double x, const box *b, const char *s)
{
    cairo_save(cr);
    cairo_translate(cr, x, (b->y0 + b->y1) / 2.0);
    cairo_rotate(cr, -PI / 2.0);
    draw_text(cr, 0.0, 0.0, s, 0.5, false);
    cairo_restore(cr);
}

/* "MODALITY on DATASET" with the dataset's last path component only. */
static void figure_subject(const huella_eval_result *r, char *buf, size_t size)
{
    const char *modality = r->modality != NULL ? r->modality : "scores";
    if (r->dataset == NULL || r->dataset[0] == '\0') {
        snprintf(buf, size, "%s", modality);
        return;
    }
    /* The last non-empty component of the path ("db/FVC2002/DB1_B/" -> DB1_B). */
    const char *d = r->dataset;
    size_t end = strlen(d);
    while (end > 1 && d[end - 1] == '/')
        end--;
    size_t start = end;
    while (start > 0 && d[start - 1] != '/')
        start--;
    if (start == end)
        snprintf(buf, size, "%s on %s", modality, d);
    else
        snprintf(buf, size, "%s on %.*s", modality, (int)(end - start), d + start);
}

/* "protocol fvc", or where the scores came from when no protocol made them. */
static void protocol_text(const huella_eval_result *r, char *buf, size_t size)
{
    if (r->from_scores)
        snprintf(buf, size, "scores supplied directly");
    else
        snprintf(buf, size, "protocol %s", huella_protocol_name(r->protocol));
}

/* ---- Rendering to SVG and PNG -------------------------------------------- */

typedef void (*draw_fn)(cairo_t *cr, const void *ctx);

static cairo_status_t buf_write(void *closure, const unsigned char *data, unsigned int length)
{
    return huella_buf_append(closure, data, length) ? CAIRO_STATUS_SUCCESS
                                                    : CAIRO_STATUS_WRITE_ERROR;
}

static huella_status cairo_failure(huella_error *err, const char *what, const char *format,
                                   cairo_status_t cs, const huella_buf *out)
{
    if (!out->ok || cs == CAIRO_STATUS_NO_MEMORY)
        return huella_error_set(err, HUELLA_E_NOMEM, "%s (%s): out of memory while drawing", what,
                                format);
    return huella_error_set(err, HUELLA_E_INTERNAL, "%s (%s): cairo: %s", what, format,
                            cairo_status_to_string(cs));
}

/* Run draw once on an SVG surface and once on an image surface. */
static huella_status render(draw_fn draw, const void *ctx, int width, int height, const char *what,
                            huella_buf *svg, huella_buf *png, huella_error *err)
{
    cairo_surface_t *s = cairo_svg_surface_create_for_stream(buf_write, svg, width, height);
    cairo_svg_surface_set_document_unit(s, CAIRO_SVG_UNIT_PX);
    cairo_t *cr = cairo_create(s);
    draw(cr, ctx);
    cairo_status_t cs = cairo_status(cr);
    cairo_destroy(cr);
    cairo_surface_finish(s); /* the SVG is only written out here */
    if (cs == CAIRO_STATUS_SUCCESS)
        cs = cairo_surface_status(s);
    cairo_surface_destroy(s);
    if (cs != CAIRO_STATUS_SUCCESS || !svg->ok)
        return cairo_failure(err, what, "SVG", cs, svg);

    const int scale = HUELLA_REPORT_PNG_SCALE;
    s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width * scale, height * scale);
    cr = cairo_create(s);
    cairo_scale(cr, scale, scale);
    draw(cr, ctx);
    cs = cairo_status(cr);
    cairo_destroy(cr);
    if (cs == CAIRO_STATUS_SUCCESS)
        cs = cairo_surface_write_to_png_stream(s, buf_write, png);
    cairo_surface_destroy(s);
    if (cs != CAIRO_STATUS_SUCCESS || !png->ok)
        return cairo_failure(err, what, "PNG", cs, png);
    return HUELLA_OK;
}

/* ---- The DET curve: data -------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The scores that exist, as similarities, sorted ascending. */
static double *valid_sorted(const double *in, size_t n, huella_score_kind kind, size_t *n_valid)
{
    double *v = malloc((n ? n : 1) * sizeof(double));
    if (v == NULL)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isnan(in[i]))
            v[k++] = kind == HUELLA_SCORE_DISTANCE ? -in[i] : in[i];
    }
    qsort(v, k, sizeof(double), cmp_double);
    *n_valid = k;
    return v;
}

huella_status huella_report_det_curve(const double *genuine, size_t n_genuine,
                                      const double *impostor, size_t n_impostor,
                                      huella_score_kind kind, huella_det_curve *out,
                                      huella_error *err)
{
    memset(out, 0, sizeof(*out));
    if (n_genuine == 0 || n_impostor == 0)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "DET curve: needs genuine and impostor comparisons "
                                "(%zu genuine, %zu impostor)",
                                n_genuine, n_impostor);
    size_t ng = 0, ni = 0, cap = 0, bytes = 0;
    if (!huella_size_add(n_genuine, n_impostor, &cap) || !huella_size_add(cap, 1, &cap) ||
        !huella_size_mul(cap, sizeof(double), &bytes))
        return huella_error_set(err, HUELLA_E_NOMEM, "DET curve: too many comparisons");
    double *g = valid_sorted(genuine, n_genuine, kind, &ng);
    double *im = valid_sorted(impostor, n_impostor, kind, &ni);
    out->fmr = malloc(bytes);
    out->fnmr = malloc(bytes);
    if (g == NULL || im == NULL || out->fmr == NULL || out->fnmr == NULL) {
        free(g);
        free(im);
        huella_report_det_curve_free(out);
        return huella_error_set(err, HUELLA_E_NOMEM,
                                "DET curve: cannot allocate for %zu comparisons", cap - 1);
    }

    /* Sweep the merged distinct scores upwards.  Before each threshold t,
     * gi and ii count the scores below t: those are the genuine rejected
     * and the impostors no longer accepted. */
    const double failed_g = (double)(n_genuine - ng);
    size_t gi = 0, ii = 0, n = 0;
    while (gi < ng || ii < ni) {
        double t = gi < ng ? g[gi] : INFINITY;
        if (ii < ni && im[ii] < t)
            t = im[ii];
        out->fmr[n] = (double)(ni - ii) / (double)n_impostor;
        out->fnmr[n] = (failed_g + (double)gi) / (double)n_genuine;
        n++;
        while (gi < ng && g[gi] <= t)
            gi++;
        while (ii < ni && im[ii] <= t)
            ii++;
    }
    out->fmr[n] = 0.0; /* t = +inf: nothing matches */
    out->fnmr[n] = 1.0;
    out->n = n + 1;
    free(g);
    free(im);
    return HUELLA_OK;
}

void huella_report_det_curve_free(huella_det_curve *c)
{
    if (c == NULL)
        return;
    free(c->fmr);
    free(c->fnmr);
    c->fmr = NULL;
    c->fnmr = NULL;
    c->n = 0;
}

/* ---- The DET curve: axes ------------------------------------------------- */

/* Largest of 1, 2, 5 x 10^k that is <= x (x > 0). */
static double round_down_125(double x)
{
    double decade = pow(10.0, floor(log10(x)));
    double m = x / decade;
    /* The small slack keeps 0.5/50 = 0.01 from becoming 0.005. */
    if (m >= 5.0 - 1e-9)
        return 5.0 * decade;
    if (m >= 2.0 - 1e-9)
        return 2.0 * decade;
    return decade;
}

/* Lower end of a rate axis: half the smallest non-zero rate that n
 * comparisons can give, rounded down to 1-2-5, between 1e-6 and 1 %. */
static double axis_low(size_t n)
{
    double lo = round_down_125(0.5 / (double)n);
    if (lo < 1e-6)
        lo = 1e-6;
    if (lo > 0.01)
        lo = 0.01;
    return lo;
}

/* One probit axis: a range of rates and where it lies on the page. */
typedef struct rate_axis {
    double lo, hi;   /* rates at the ends */
    double zlo, zhi; /* their probits */
    double p0, p1;   /* page coordinates of lo and hi */
} rate_axis;

static void axis_init(rate_axis *a, double lo, double hi, double p0, double p1)
{
    a->lo = lo;
    a->hi = hi;
    a->zlo = huella_probit(lo);
    a->zhi = huella_probit(hi);
    a->p0 = p0;
    a->p1 = p1;
}

/* Page coordinate of a rate.  Rates beyond the range, 0 and 1 included,
 * land a little outside the plot, where the clip cuts the curve at the
 * frame: the curve visibly runs off the scale instead of sticking to it. */
static double axis_map(const rate_axis *a, double rate)
{
    double span = a->zhi - a->zlo;
    double z = rate <= 0.0 ? -INFINITY : rate >= 1.0 ? INFINITY : huella_probit(rate);
    if (z < a->zlo - 0.5 * span)
        z = a->zlo - 0.5 * span;
    if (z > a->zhi + 0.5 * span)
        z = a->zhi + 0.5 * span;
    return a->p0 + (z - a->zlo) / span * (a->p1 - a->p0);
}

static bool axis_contains(const rate_axis *a, double rate)
{
    return rate >= a->lo * (1 - 1e-9) && rate <= a->hi * (1 + 1e-9);
}

/* Tick candidates in order of preference: decades first, then the values
 * DET plots traditionally label (5 %, 20 %, 40 %), then 2 and 5 of each
 * decade.  A candidate is labelled only if it keeps its distance from the
 * ones already labelled; every candidate in range gets a grid line. */
static const double TICKS[] = {
    1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1,  0.4,  0.2,  0.05, 0.8, 0.9, 0.95, 0.6,
    5e-3, 5e-4, 5e-5, 5e-6, 2e-2, 2e-3, 2e-4, 2e-5, 2e-6, 0.3, 0.5, 0.98, 0.99,
};
#define N_TICKS (sizeof(TICKS) / sizeof(TICKS[0]))

static void percent_label(char *buf, size_t size, double v)
{
    double pct = v * 100.0;
    int decimals = pct >= 1.0 ? 0 : (int)ceil(-log10(pct) - 1e-9);
    snprintf(buf, size, "%.*f%%", decimals, pct);
}

/* The ticks of a rate axis that get a label, into labelled[].  On the
 * horizontal axis two labels need half their widths plus a gap between
 * their centres; on the vertical one, a line of text plus a gap.  The
 * current font is the tick font. */
static size_t choose_ticks(cairo_t *cr, const rate_axis *a, bool horizontal, double *labelled)
{
    char label[32];
    double extent[N_TICKS] = {0};
    size_t n = 0;
    for (size_t i = 0; i < N_TICKS; i++) {
        double v = TICKS[i];
        if (!axis_contains(a, v))
            continue;
        percent_label(label, sizeof(label), v);
        double e = horizontal ? text_width(cr, label) / 2.0 + 6.0 : FONT_TICK * 0.8;
        double p = axis_map(a, v);
        bool ok = true;
        for (size_t k = 0; k < n && ok; k++)
            ok = fabs(axis_map(a, labelled[k]) - p) >= extent[k] + e;
        if (ok) {
            extent[n] = e;
            labelled[n++] = v;
        }
    }
    return n;
}

/* ---- The DET curve: figure ------------------------------------------------ */

typedef struct op_point {
    const char *name; /* "EER", "FMR ≤ 1%" ... */
    double fmr, fnmr; /* where it is drawn */
    double value;     /* the figure reported: EER, or FNMR at the target */
    double threshold; /* modality units */
    marker_shape shape;
    uint32_t color;
    bool is_eer;
} op_point;

typedef struct det_figure {
    const huella_eval_result *r;
    const huella_det_curve *curve;
    double fmr_lo, fmr_hi, fnmr_lo, fnmr_hi;
    op_point ops[4];
    size_t n_ops;
} det_figure;

static void det_grid(cairo_t *cr, const rate_axis *ax, const rate_axis *ay, const box *b,
                     const double *xt, size_t nxt, const double *yt, size_t nyt)
{
    cairo_set_line_width(cr, 1.0);
    for (size_t i = 0; i < N_TICKS; i++) {
        if (axis_contains(ax, TICKS[i])) {
            double x = round(axis_map(ax, TICKS[i])) + 0.5;
            cairo_move_to(cr, x, b->y0);
            cairo_line_to(cr, x, b->y1);
        }
        if (axis_contains(ay, TICKS[i])) {
            double y = round(axis_map(ay, TICKS[i])) + 0.5;
            cairo_move_to(cr, b->x0, y);
            cairo_line_to(cr, b->x1, y);
        }
    }
    set_color(cr, COLOR_GRID_MINOR, 1.0);
    cairo_stroke(cr);
    for (size_t i = 0; i < nxt; i++) {
        double x = round(axis_map(ax, xt[i])) + 0.5;
        cairo_move_to(cr, x, b->y0);
        cairo_line_to(cr, x, b->y1);
    }
    for (size_t i = 0; i < nyt; i++) {
        double y = round(axis_map(ay, yt[i])) + 0.5;
        cairo_move_to(cr, b->x0, y);
        cairo_line_to(cr, b->x1, y);
    }
    set_color(cr, COLOR_GRID_MAJOR, 1.0);
    cairo_stroke(cr);
}

static void det_curve_path(cairo_t *cr, const det_figure *f, const rate_axis *ax,
                           const rate_axis *ay)
{
    const huella_det_curve *c = f->curve;
    /* Successive points closer than a quarter pixel add nothing but bytes:
     * an evaluation with a million impostors would otherwise give an SVG
     * of a million segments. */
    double last_x = 0, last_y = 0;
    for (size_t i = 0; i < c->n; i++) {
        double x = axis_map(ax, c->fmr[i]), y = axis_map(ay, c->fnmr[i]);
        if (i > 0 && i + 1 < c->n && fabs(x - last_x) < 0.25 && fabs(y - last_y) < 0.25)
            continue;
        if (i == 0)
            cairo_move_to(cr, x, y);
        else
            cairo_line_to(cr, x, y);
        last_x = x;
        last_y = y;
    }
}

static void det_legend(cairo_t *cr, const det_figure *f, const rate_axis *ax, const rate_axis *ay,
                       double x, double y)
{
    char value[64], thr[64], line[160];
    set_font(cr, FONT_LEGEND, false);

    /* The curve and the diagonal. */
    cairo_set_line_width(cr, 2.0);
    set_color(cr, COLOR_CURVE, 1.0);
    cairo_move_to(cr, x, y - 4);
    cairo_line_to(cr, x + 22, y - 4);
    cairo_stroke(cr);
    set_color(cr, COLOR_TEXT, 1.0);
    draw_text(cr, x + 30, y, "DET curve", 0.0, false);
    y += 22;
    double dash[] = {4.0, 3.0};
    cairo_set_dash(cr, dash, 2, 0);
    cairo_set_line_width(cr, 1.0);
    set_color(cr, COLOR_MUTED, 1.0);
    cairo_move_to(cr, x, y - 4);
    cairo_line_to(cr, x + 22, y - 4);
    cairo_stroke(cr);
    cairo_set_dash(cr, NULL, 0, 0);
    set_color(cr, COLOR_TEXT, 1.0);
    draw_text(cr, x + 30, y, "FMR = FNMR", 0.0, false);
    y += 30;

    for (size_t i = 0; i < f->n_ops; i++) {
        const op_point *op = &f->ops[i];
        draw_marker(cr, x + 11, y - 4, op->shape, op->color);
        huella_report_percent(value, sizeof(value), op->value);
        set_font(cr, FONT_LEGEND, true);
        set_color(cr, COLOR_TEXT, 1.0);
        if (op->is_eer)
            snprintf(line, sizeof(line), "EER %s", value);
        else
            snprintf(line, sizeof(line), "FNMR %s", value);
        draw_text(cr, x + 30, y, line, 0.0, false);
        double w = text_width(cr, line);
        set_font(cr, FONT_LEGEND, false);
        if (!op->is_eer) {
            snprintf(line, sizeof(line), " at %s", op->name);
            draw_text(cr, x + 30 + w, y, line, 0.0, false);
        }
        set_font(cr, FONT_SMALL, false);
        set_color(cr, COLOR_MUTED, 1.0);
        format_threshold(thr, sizeof(thr), op->threshold);
        if (op->is_eer) {
            snprintf(line, sizeof(line), "threshold %s", thr);
        } else {
            huella_report_percent(value, sizeof(value), op->fmr);
            snprintf(line, sizeof(line), "threshold %s, FMR %s", thr, value);
        }
        y += 16;
        draw_text(cr, x + 30, y, line, 0.0, false);
        if (!axis_contains(ax, op->fmr) || !axis_contains(ay, op->fnmr)) {
            y += 15;
            draw_text(cr, x + 30, y, "(beyond the range: on the frame)", 0.0, false);
        }
        y += 26;
        set_font(cr, FONT_LEGEND, false);
    }
}

static void draw_det(cairo_t *cr, const void *ctx)
{
    const det_figure *f = ctx;
    const huella_eval_result *r = f->r;
    const double W = HUELLA_REPORT_DET_WIDTH;
    const box b = {84.0, 64.0, 604.0, 564.0};
    char buf[512], subject[256], protocol[64];

    paint_background(cr);
    protocol_text(r, protocol, sizeof(protocol));

    figure_subject(r, subject, sizeof(subject));
    snprintf(buf, sizeof(buf), "DET curve: %s", subject);
    set_font(cr, FONT_TITLE, true);
    set_color(cr, COLOR_TEXT, 1.0);
    char fitted[512];
    fit_text(cr, buf, W - 2 * 24, fitted, sizeof(fitted));
    draw_text(cr, 24, 30, fitted, 0.0, false);
    char ng[32], ni[32];
    format_count(ng, sizeof(ng), r->n_genuine);
    format_count(ni, sizeof(ni), r->n_impostor);
    snprintf(buf, sizeof(buf),
             "huella %s " MIDDOT " %s " MIDDOT " %s genuine and %s impostor comparisons",
             HUELLA_VERSION, protocol, ng, ni);
    set_font(cr, FONT_SMALL, false);
    set_color(cr, COLOR_MUTED, 1.0);
    draw_text(cr, 24, 48, buf, 0.0, false);

    rate_axis ax, ay;
    axis_init(&ax, f->fmr_lo, f->fmr_hi, b.x0, b.x1);
    axis_init(&ay, f->fnmr_lo, f->fnmr_hi, b.y1, b.y0); /* rates grow upwards */

    double xt[N_TICKS], yt[N_TICKS];
    set_font(cr, FONT_TICK, false);
    size_t nxt = choose_ticks(cr, &ax, true, xt);
    size_t nyt = choose_ticks(cr, &ay, false, yt);
    det_grid(cr, &ax, &ay, &b, xt, nxt, yt, nyt);

    cairo_save(cr);
    cairo_rectangle(cr, b.x0, b.y0, b.x1 - b.x0, b.y1 - b.y0);
    cairo_clip(cr);

    /* The diagonal FMR = FNMR, where the EER lies. */
    double d0 = fmax(ax.lo, ay.lo), d1 = fmin(ax.hi, ay.hi);
    double dash[] = {4.0, 3.0};
    cairo_set_dash(cr, dash, 2, 0);
    cairo_set_line_width(cr, 1.0);
    set_color(cr, COLOR_MUTED, 1.0);
    cairo_move_to(cr, axis_map(&ax, d0), axis_map(&ay, d0));
    cairo_line_to(cr, axis_map(&ax, d1), axis_map(&ay, d1));
    cairo_stroke(cr);
    cairo_set_dash(cr, NULL, 0, 0);

    bool visible = false;
    for (size_t i = 0; i < f->curve->n && !visible; i++)
        visible = axis_contains(&ax, f->curve->fmr[i]) && axis_contains(&ay, f->curve->fnmr[i]);
    if (!visible) {
        set_font(cr, FONT_LABEL, false);
        double cx = (b.x0 + b.x1) / 2, cy = (b.y0 + b.y1) / 2 - 30;
        double half = text_width(cr, "(an error rate of 0 cannot be shown on a probit scale)") / 2;
        set_color(cr, 0xffffffu, 1.0);
        cairo_rectangle(cr, cx - half - 10, cy - 28, 2 * half + 20, 52);
        cairo_fill(cr);
        set_color(cr, COLOR_MUTED, 1.0);
        draw_text(cr, cx, cy - 10, "No operating point lies inside the plotted range", 0.5, true);
        draw_text(cr, cx, cy + 8, "(an error rate of 0 cannot be shown on a probit scale)", 0.5,
                  true);
    }

    det_curve_path(cr, f, &ax, &ay);
    cairo_set_line_width(cr, 2.0);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    set_color(cr, COLOR_CURVE, 1.0);
    cairo_stroke(cr);
    cairo_restore(cr);

    /* Markers, last first so that the EER sits on top.  A point beyond the
     * range (FMR 0, typically) sits on the frame where the curve leaves. */
    for (size_t i = f->n_ops; i-- > 0;) {
        const op_point *op = &f->ops[i];
        double x = fmin(fmax(axis_map(&ax, op->fmr), b.x0), b.x1);
        double y = fmin(fmax(axis_map(&ay, op->fnmr), b.y0), b.y1);
        draw_marker(cr, x, y, op->shape, op->color);
    }

    draw_frame(cr, &b);

    set_font(cr, FONT_TICK, false);
    set_color(cr, COLOR_TEXT, 1.0);
    char label[32];
    for (size_t i = 0; i < nxt; i++) {
        percent_label(label, sizeof(label), xt[i]);
        draw_text(cr, axis_map(&ax, xt[i]), b.y1 + 17, label, 0.5, false);
    }
    for (size_t i = 0; i < nyt; i++) {
        percent_label(label, sizeof(label), yt[i]);
        draw_text(cr, b.x0 - 7, axis_map(&ay, yt[i]), label, 1.0, true);
    }

    set_font(cr, FONT_LABEL, false);
    draw_text(cr, (b.x0 + b.x1) / 2, b.y1 + 40, "False match rate (FMR)", 0.5, false);
    draw_vertical_label(cr, 22, &b, "False non-match rate (FNMR)");

    det_legend(cr, f, &ax, &ay, b.x1 + 28, b.y0 + 14);

    /* Caption: scale, counts, clipping. */
    char gmin[32], imin[32], caption[1024], failed[256] = "";
    huella_report_percent(imin, sizeof(imin), 1.0 / (double)r->n_impostor);
    huella_report_percent(gmin, sizeof(gmin), 1.0 / (double)r->n_genuine);
    size_t gf = r->metrics.genuine_failed, imf = r->metrics.impostor_failed;
    if (gf + imf > 0) {
        char a[32], c[32];
        format_count(a, sizeof(a), gf);
        format_count(c, sizeof(c), imf);
        snprintf(failed, sizeof(failed),
                 " %s genuine and %s impostor comparisons had no score and count as "
                 "non-matches, so FNMR stays above the failed fraction.",
                 a, c);
    }
    snprintf(caption, sizeof(caption),
             "Both axes on the normal-deviate (probit) scale (Martin et al. 1997; ISO/IEC "
             "19795-1).%s A rate of 0 has no place on this scale: the curve is clipped to the "
             "plotted range; the smallest non-zero FMR is 1/%s = %s and FNMR 1/%s = %s.",
             failed, ni, imin, ng, gmin);
    set_font(cr, FONT_SMALL, false);
    set_color(cr, COLOR_MUTED, 1.0);
    draw_wrapped(cr, 24, b.y1 + 68, W - 48, 15, caption);
}

/* FNMR at the lowest threshold with FMR <= target, read off the curve. */
static double curve_fnmr_at_fmr(const huella_det_curve *c, double target)
{
    for (size_t i = 0; i < c->n; i++) {
        if (c->fmr[i] <= target)
            return c->fnmr[i];
    }
    return 1.0;
}

static void add_op(det_figure *f, const char *name, double value, double threshold,
                   marker_shape shape, uint32_t color, bool is_eer)
{
    const huella_eval_result *r = f->r;
    op_point *op = &f->ops[f->n_ops];
    op->name = name;
    op->value = value;
    op->threshold = threshold;
    op->shape = shape;
    op->color = color;
    op->is_eer = is_eer;
    if (is_eer) {
        op->fmr = value; /* on the diagonal, by definition */
        op->fnmr = value;
    } else {
        huella_eval_rates_at(r->genuine_scores, r->n_genuine, r->impostor_scores, r->n_impostor,
                             r->score_kind, threshold, &op->fmr, &op->fnmr);
    }
    f->n_ops++;
}

huella_status huella_report_det_draw(const huella_eval_result *r, huella_buf *svg, huella_buf *png,
                                     huella_error *err)
{
    huella_det_curve curve;
    huella_status st = huella_report_det_curve(r->genuine_scores, r->n_genuine, r->impostor_scores,
                                               r->n_impostor, r->score_kind, &curve, err);
    if (st != HUELLA_OK)
        return st;

    det_figure f;
    memset(&f, 0, sizeof(f));
    f.r = r;
    f.curve = &curve;
    f.fmr_lo = axis_low(r->n_impostor);
    f.fnmr_lo = axis_low(r->n_genuine);
    /* The customary upper end is 50 %; a weak system, whose curve would
     * leave the plot early, gets the range up to 95 %. */
    const huella_eval_metrics *m = &r->metrics;
    bool weak = isfinite(m->eer) && m->eer > 0.25;
    f.fmr_hi = weak ? 0.95 : 0.5;
    f.fnmr_hi = weak || curve_fnmr_at_fmr(&curve, 0.01) > 0.45 ? 0.95 : 0.5;

    if (isfinite(m->eer))
        add_op(&f, "EER", m->eer, m->eer_threshold, MARKER_CIRCLE, COLOR_EER, true);
    if (isfinite(m->fmr100))
        add_op(&f, "FMR " LEQ " 1%", m->fmr100, m->threshold_fmr100, MARKER_SQUARE, COLOR_OP1,
               false);
    if (isfinite(m->fmr1000))
        add_op(&f, "FMR " LEQ " 0.1%", m->fmr1000, m->threshold_fmr1000, MARKER_TRIANGLE, COLOR_OP2,
               false);
    if (isfinite(m->fmr10000))
        add_op(&f, "FMR " LEQ " 0.01%", m->fmr10000, m->threshold_fmr10000, MARKER_DIAMOND,
               COLOR_OP3, false);

    st = render(draw_det, &f, HUELLA_REPORT_DET_WIDTH, HUELLA_REPORT_DET_HEIGHT, "DET curve", svg,
                png, err);
    huella_report_det_curve_free(&curve);
    return st;
}

/* ---- Score histograms ---------------------------------------------------- */

/* A round step near raw: 1, 2, 2.5 or 5 times a power of ten (no 2.5
 * for integer data, whose bins must hold whole numbers). */
static double round_step(double raw, bool integer)
{
    double decade = pow(10.0, floor(log10(raw)));
    double m = raw / decade;
    double step;
    if (m <= 1.0)
        step = 1.0;
    else if (m <= 2.0)
        step = 2.0;
    else if (m <= 2.5 && !integer)
        step = 2.5;
    else if (m <= 5.0)
        step = 5.0;
    else
        step = 10.0;
    step *= decade;
    if (integer && step < 1.0)
        step = 1.0;
    return step;
}

/* The largest of 1, 2, 2.5, 5 times a power of ten that is <= raw: bins
 * err on the side of detail.  Integer data get whole-number widths. */
static double bin_width(double raw, bool integer)
{
    double decade = pow(10.0, floor(log10(raw)));
    double m = raw / decade;
    double w = m >= 5.0 ? 5.0 : m >= 2.5 && !integer ? 2.5 : m >= 2.0 ? 2.0 : 1.0;
    w *= decade;
    return integer && w < 1.0 ? 1.0 : w;
}

/* Decimals needed to print multiples of step exactly enough. */
static int step_decimals(double step)
{
    int d = (int)ceil(-log10(step) - 1e-9);
    if (fabs(step / pow(10.0, floor(log10(step))) - 2.5) < 1e-9)
        d++;
    return d < 0 ? 0 : d > 10 ? 10 : d;
}

/* How many multiples first, first + 1, ... of step lie at or below hi
 * (first is already a multiple count, hi in data units); bounded, since a
 * round step gives about ten. */
static int tick_count(double first, double hi, double step)
{
    double n = floor(hi / step + 1e-9) - first + 1.0;
    return n < 0.0 ? 0 : n > 50.0 ? 50 : (int)n;
}

#define MAX_BINS 200

typedef struct hist_figure {
    const huella_eval_result *r;
    double lo, width; /* bin k covers [lo + k width, lo + (k+1) width) */
    size_t bins;
    double gd[MAX_BINS], id[MAX_BINS]; /* densities */
    size_t g_valid, i_valid;
    double ymax;
} hist_figure;

static void hist_bars(cairo_t *cr, const hist_figure *h, const double *dens, const box *b,
                      uint32_t color)
{
    double ys = (b->y1 - b->y0) / h->ymax;
    double xs = (b->x1 - b->x0) / ((double)h->bins * h->width);
    cairo_move_to(cr, b->x0, b->y1);
    for (size_t k = 0; k < h->bins; k++) {
        double y = b->y1 - dens[k] * ys;
        cairo_line_to(cr, b->x0 + (double)k * h->width * xs, y);
        cairo_line_to(cr, b->x0 + (double)(k + 1) * h->width * xs, y);
    }
    cairo_line_to(cr, b->x1, b->y1);
    cairo_close_path(cr);
    set_color(cr, color, 0.28);
    cairo_fill_preserve(cr);
    set_color(cr, color, 1.0);
    cairo_set_line_width(cr, 1.5);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_MITER);
    cairo_stroke(cr);
}

static void draw_scores(cairo_t *cr, const void *ctx)
{
    const hist_figure *h = ctx;
    const huella_eval_result *r = h->r;
    const double W = HUELLA_REPORT_SCORES_WIDTH;
    const box b = {84.0, 64.0, 640.0, 430.0};
    char buf[512], subject[256], fitted[512], protocol[64];

    paint_background(cr);
    protocol_text(r, protocol, sizeof(protocol));
    figure_subject(r, subject, sizeof(subject));
    snprintf(buf, sizeof(buf), "Score distributions: %s", subject);
    set_font(cr, FONT_TITLE, true);
    set_color(cr, COLOR_TEXT, 1.0);
    fit_text(cr, buf, W - 48, fitted, sizeof(fitted));
    draw_text(cr, 24, 30, fitted, 0.0, false);
    set_font(cr, FONT_SMALL, false);
    set_color(cr, COLOR_MUTED, 1.0);
    snprintf(buf, sizeof(buf), "huella %s " MIDDOT " %s", HUELLA_VERSION, protocol);
    draw_text(cr, 24, 48, buf, 0.0, false);

    const double x_lo = h->lo, x_hi = h->lo + (double)h->bins * h->width;
    const double xs = (b.x1 - b.x0) / (x_hi - x_lo), ys = (b.y1 - b.y0) / h->ymax;

    /* Grid and ticks: round steps, about 8 across and 6 up. */
    bool integer_bins = h->width >= 1.0 && h->width == floor(h->width);
    double xstep = round_step((x_hi - x_lo) / 8.0, integer_bins);
    double ystep = round_step(h->ymax / 6.0, false);
    cairo_set_line_width(cr, 1.0);
    set_color(cr, COLOR_GRID_MINOR, 1.0);
    double x_first = ceil(x_lo / xstep - 1e-9);
    int nx = tick_count(x_first, x_hi, xstep), ny = tick_count(0.0, h->ymax, ystep);
    for (int i = 0; i < nx; i++) {
        double x = round(b.x0 + ((x_first + i) * xstep - x_lo) * xs) + 0.5;
        cairo_move_to(cr, x, b.y0);
        cairo_line_to(cr, x, b.y1);
    }
    for (int i = 1; i < ny; i++) {
        double y = round(b.y1 - i * ystep * ys) + 0.5;
        cairo_move_to(cr, b.x0, y);
        cairo_line_to(cr, b.x1, y);
    }
    cairo_stroke(cr);

    cairo_save(cr);
    cairo_rectangle(cr, b.x0, b.y0, b.x1 - b.x0, b.y1 - b.y0);
    cairo_clip(cr);
    if (h->i_valid > 0)
        hist_bars(cr, h, h->id, &b, COLOR_IMPOSTOR);
    if (h->g_valid > 0)
        hist_bars(cr, h, h->gd, &b, COLOR_GENUINE);
    double t = r->metrics.eer_threshold;
    bool have_t = isfinite(t) && t >= x_lo && t <= x_hi;
    double dash[] = {6.0, 4.0};
    if (have_t) {
        double x = b.x0 + (t - x_lo) * xs;
        cairo_set_dash(cr, dash, 2, 0);
        cairo_set_line_width(cr, 1.5);
        set_color(cr, COLOR_EER, 1.0);
        cairo_move_to(cr, x, b.y0);
        cairo_line_to(cr, x, b.y1);
        cairo_stroke(cr);
        cairo_set_dash(cr, NULL, 0, 0);
    }
    if (h->g_valid + h->i_valid == 0) {
        set_font(cr, FONT_LABEL, false);
        set_color(cr, COLOR_MUTED, 1.0);
        draw_text(cr, (b.x0 + b.x1) / 2, (b.y0 + b.y1) / 2, "no comparison produced a score", 0.5,
                  true);
    }
    cairo_restore(cr);
    draw_frame(cr, &b);

    /* Tick labels. */
    char label[64];
    set_font(cr, FONT_TICK, false);
    set_color(cr, COLOR_TEXT, 1.0);
    int xd = step_decimals(xstep), yd = step_decimals(ystep);
    for (int i = 0; i < nx; i++) {
        double v = (x_first + i) * xstep;
        double shown = fabs(v) < 1e-9 * xstep ? 0.0 : v; /* no "-0" */
        snprintf(label, sizeof(label), "%.*f", xd, shown);
        draw_text(cr, b.x0 + (v - x_lo) * xs, b.y1 + 17, label, 0.5, false);
    }
    for (int i = 0; i < ny; i++) {
        snprintf(label, sizeof(label), "%.*f", yd, i * ystep);
        draw_text(cr, b.x0 - 7, b.y1 - i * ystep * ys, label, 1.0, true);
    }
    set_font(cr, FONT_LABEL, false);
    const char *xlabel = r->score_kind == HUELLA_SCORE_DISTANCE
                             ? "Distance score (lower means more alike)"
                             : "Similarity score (higher means more alike)";
    draw_text(cr, (b.x0 + b.x1) / 2, b.y1 + 40, xlabel, 0.5, false);
    draw_vertical_label(cr, 22, &b, "Density");

    /* Legend. */
    double lx = b.x1 + 26, ly = b.y0 + 14;
    char n[32];
    const struct {
        const char *name;
        uint32_t color;
        size_t count;
    } sets[2] = {{"Genuine", COLOR_GENUINE, h->g_valid}, {"Impostor", COLOR_IMPOSTOR, h->i_valid}};
    for (size_t i = 0; i < 2; i++) {
        cairo_rectangle(cr, lx, ly - 11, 22, 12);
        set_color(cr, sets[i].color, 0.28);
        cairo_fill_preserve(cr);
        set_color(cr, sets[i].color, 1.0);
        cairo_set_line_width(cr, 1.5);
        cairo_stroke(cr);
        set_font(cr, FONT_LEGEND, true);
        set_color(cr, COLOR_TEXT, 1.0);
        draw_text(cr, lx + 30, ly, sets[i].name, 0.0, false);
        set_font(cr, FONT_SMALL, false);
        set_color(cr, COLOR_MUTED, 1.0);
        format_count(n, sizeof(n), sets[i].count);
        snprintf(buf, sizeof(buf), "%s with a score", n);
        draw_text(cr, lx + 30, ly + 16, buf, 0.0, false);
        ly += 42;
    }
    cairo_set_dash(cr, dash, 2, 0);
    cairo_set_line_width(cr, 1.5);
    set_color(cr, COLOR_EER, 1.0);
    cairo_move_to(cr, lx, ly - 5);
    cairo_line_to(cr, lx + 22, ly - 5);
    cairo_stroke(cr);
    cairo_set_dash(cr, NULL, 0, 0);
    set_font(cr, FONT_LEGEND, true);
    set_color(cr, COLOR_TEXT, 1.0);
    draw_text(cr, lx + 30, ly, "EER threshold", 0.0, false);
    set_font(cr, FONT_SMALL, false);
    set_color(cr, COLOR_MUTED, 1.0);
    char thr[64];
    format_threshold(thr, sizeof(thr), t);
    snprintf(buf, sizeof(buf), "%s%s", thr, have_t || isnan(t) ? "" : " (off the axis)");
    draw_text(cr, lx + 30, ly + 16, buf, 0.0, false);
    ly += 42;
    snprintf(buf, sizeof(buf), "bin width %.*f", step_decimals(h->width), h->width);
    draw_text(cr, lx, ly, buf, 0.0, false);

    /* Caption. */
    char gf[32], imf[32], failed[256], caption[1024];
    format_count(gf, sizeof(gf), r->n_genuine - h->g_valid);
    format_count(imf, sizeof(imf), r->n_impostor - h->i_valid);
    if (h->g_valid == r->n_genuine && h->i_valid == r->n_impostor)
        snprintf(failed, sizeof(failed), "Every comparison produced a score.");
    else
        snprintf(failed, sizeof(failed),
                 "%s genuine and %s impostor comparisons had no score (a sample failed to "
                 "enrol) and are not shown.",
                 gf, imf);
    int len = snprintf(caption, sizeof(caption),
                       "Each histogram is normalised to unit area over the comparisons that "
                       "produced a score; both use the same bins. %s",
                       failed);
    if (r->score_meaning != NULL && len > 0 && (size_t)len < sizeof(caption))
        snprintf(caption + len, sizeof(caption) - (size_t)len, " Score: %s", r->score_meaning);
    set_font(cr, FONT_SMALL, false);
    set_color(cr, COLOR_MUTED, 1.0);
    draw_wrapped(cr, 24, b.y1 + 68, W - 48, 15, caption);
}

static bool all_integers(const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!isnan(v[i]) && v[i] != floor(v[i]))
            return false;
    }
    return true;
}

/* Count the scores that exist (not NaN) and find the range of the finite
 * ones; false when there is no finite score.  Infinite scores are drawn in
 * the edge bins, which they exceed. */
static void widen(double v, double *lo, double *hi)
{
    if (isfinite(v)) {
        *lo = fmin(*lo, v);
        *hi = fmax(*hi, v);
    }
}

static bool score_range(const huella_eval_result *r, double *lo, double *hi, size_t *ng, size_t *ni)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    *ng = *ni = 0;
    for (size_t i = 0; i < r->n_genuine; i++) {
        if (!isnan(r->genuine_scores[i])) {
            (*ng)++;
            widen(r->genuine_scores[i], lo, hi);
        }
    }
    for (size_t i = 0; i < r->n_impostor; i++) {
        if (!isnan(r->impostor_scores[i])) {
            (*ni)++;
            widen(r->impostor_scores[i], lo, hi);
        }
    }
    return *lo <= *hi;
}

static void fill_density(const hist_figure *h, const double *v, size_t n, size_t valid,
                         double *dens)
{
    for (size_t i = 0; i < n; i++) {
        if (isnan(v[i]))
            continue;
        double k = floor((v[i] - h->lo) / h->width);
        size_t bin = k <= 0 ? 0 : k >= (double)h->bins ? h->bins - 1 : (size_t)k;
        dens[bin] += 1.0;
    }
    for (size_t k = 0; k < h->bins && valid > 0; k++)
        dens[k] /= (double)valid * h->width;
}

huella_status huella_report_scores_draw(const huella_eval_result *r, huella_buf *svg,
                                        huella_buf *png, huella_error *err)
{
    hist_figure *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "score histogram: out of memory");
    h->r = r;
    double lo, hi;
    if (!score_range(r, &lo, &hi, &h->g_valid, &h->i_valid)) {
        lo = 0.0;
        hi = 1.0;
    }
    if (!isfinite(hi - lo)) {
        free(h);
        return huella_error_set(err, HUELLA_E_INPUT,
                                "score histogram: scores from %g to %g span too wide a range "
                                "to plot",
                                lo, hi);
    }
    /* Keep the EER threshold in view unless it is far from the data. */
    double t = r->metrics.eer_threshold;
    if (isfinite(t) && t >= lo - (hi - lo) && t <= hi + (hi - lo)) {
        lo = fmin(lo, t);
        hi = fmax(hi, t);
    }
    bool integer = all_integers(r->genuine_scores, r->n_genuine) &&
                   all_integers(r->impostor_scores, r->n_impostor);
    /* Rice's rule on the smaller set, which both must share. */
    size_t n_small = h->g_valid < h->i_valid ? h->g_valid : h->i_valid;
    if (n_small == 0)
        n_small = h->g_valid + h->i_valid;
    double target = fmin(fmax(2.0 * cbrt((double)n_small), 10.0), 80.0);
    double span = hi - lo;
    if (span <= 0.0)
        span = lo != 0.0 ? fabs(lo) * 0.1 : 1.0;
    h->width = bin_width(span / target, integer);
    /* Integer scores sit in the middle of their bins. */
    double offset = integer ? 0.5 : 0.0;
    h->lo = floor((lo + offset) / h->width) * h->width - offset;
    if (h->lo > lo)
        h->lo -= h->width;
    double nb = floor((hi - h->lo) / h->width) + 1.0;
    while (nb > MAX_BINS) {
        h->width = round_step(h->width * 1.01, integer);
        h->lo = floor((lo + offset) / h->width) * h->width - offset;
        if (h->lo > lo)
            h->lo -= h->width;
        nb = floor((hi - h->lo) / h->width) + 1.0;
    }
    h->bins = (size_t)nb;
    fill_density(h, r->genuine_scores, r->n_genuine, h->g_valid, h->gd);
    fill_density(h, r->impostor_scores, r->n_impostor, h->i_valid, h->id);
    h->ymax = 0.0;
    for (size_t k = 0; k < h->bins; k++)
        h->ymax = fmax(h->ymax, fmax(h->gd[k], h->id[k]));
    if (h->ymax <= 0.0)
        h->ymax = 1.0;
    h->ymax *= 1.08; /* headroom above the highest bar */

    huella_status st = render(draw_scores, h, HUELLA_REPORT_SCORES_WIDTH,
                              HUELLA_REPORT_SCORES_HEIGHT, "score histogram", svg, png, err);
    free(h);
    return st;
}
