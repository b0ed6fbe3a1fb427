/*
 * report.c - an evaluation written out as a directory a person can read.
 *
 * Contract: huella_eval_report_write(r, outdir) creates outdir like
 * `mkdir -p` and writes, each atomically (huella_file_write), result.json
 * (huella_eval_result_json), det.svg and det.png (the DET curve),
 * scores.svg and scores.png (genuine and impostor score histograms), and
 * last index.html, which ties them together: a self-contained page with
 * inline CSS, no scripts and nothing fetched from elsewhere.  Every string
 * taken from the result is HTML-escaped; NULL strings (no dataset, no
 * score meaning for a result built from a scores file) print as a dash.
 * The first failure stops the report and names the file.  The date on the
 * page is SOURCE_DATE_EPOCH when set (reproducible documentation), else
 * now, in UTC.  No state is kept between calls (cairo and fontconfig keep
 * their own font caches), so reports may be written from several threads.
 *
 * The figures are drawn in report_plot.c; the page follows the reporting
 * items of ISO/IEC 19795-1 (test set size, failures to enrol, generalised
 * error rates with their thresholds, the DET curve).
 */
#define _POSIX_C_SOURCE 200809L
#include "eval/report_plot.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define DASH "\xe2\x80\x94" /* U+2014 EM DASH */
#define LEQ  "&le;"

/* ---- Files --------------------------------------------------------------- */

/* mkdir -p: every missing component is created; existing directories are
 * fine, anything else in the way is an error naming it. */
static huella_status make_dirs(const char *outdir, huella_error *err)
{
    size_t len = strlen(outdir);
    if (len == 0)
        return huella_error_set(err, HUELLA_E_INPUT, "report directory: empty path");
    char *p = malloc(len + 1);
    if (p == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "report directory %s: out of memory", outdir);
    memcpy(p, outdir, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (i < len && p[i] != '/')
            continue;
        if (p[i - 1] == '/')
            continue; /* "a//b" or a trailing slash */
        char saved = p[i];
        p[i] = '\0';
        if (mkdir(p, 0777) != 0) {
            int e = errno;
            struct stat st;
            bool exists = stat(p, &st) == 0;
            if (!exists || !S_ISDIR(st.st_mode)) {
                huella_status s = huella_error_set(
                    err, HUELLA_E_IO, "report directory %s: cannot create %s: %s", outdir, p,
                    exists ? "it exists and is not a directory" : strerror(e));
                free(p);
                return s;
            }
        }
        p[i] = saved;
    }
    free(p);
    return HUELLA_OK;
}

static char *join_path(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (p == NULL)
        return NULL;
    memcpy(p, dir, a);
    size_t n = a;
    if (a == 0 || dir[a - 1] != '/')
        p[n++] = '/';
    memcpy(p + n, name, b + 1);
    return p;
}

/* Write bytes to outdir/name; the error names the full path. */
static huella_status write_bytes(const char *outdir, const char *name, const void *data, size_t len,
                                 huella_error *err)
{
    char *path = join_path(outdir, name);
    if (path == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "%s/%s: out of memory", outdir, name);
    huella_status st = huella_file_write(path, data, len, err);
    free(path);
    return st;
}

typedef huella_status (*figure_fn)(const huella_eval_result *r, huella_buf *svg, huella_buf *png,
                                   huella_error *err);

/* Draw one figure and write NAME.svg and NAME.png. */
static huella_status write_figure(const huella_eval_result *r, const char *outdir, const char *name,
                                  figure_fn draw, huella_error *err)
{
    char svg_name[64], png_name[64];
    snprintf(svg_name, sizeof(svg_name), "%s.svg", name);
    snprintf(png_name, sizeof(png_name), "%s.png", name);
    huella_buf svg, png;
    huella_buf_init(&svg);
    huella_buf_init(&png);
    huella_status st = draw(r, &svg, &png, err);
    if (st != HUELLA_OK)
        huella_error_prefix(err, "%s/%s and %s: ", outdir, svg_name, png_name);
    if (st == HUELLA_OK)
        st = write_bytes(outdir, svg_name, svg.data, svg.len, err);
    if (st == HUELLA_OK)
        st = write_bytes(outdir, png_name, png.data, png.len, err);
    huella_buf_free(&svg);
    huella_buf_free(&png);
    return st;
}

/* ---- HTML ---------------------------------------------------------------- */

static void put(huella_buf *b, const char *s)
{
    huella_buf_append(b, s, strlen(s));
}

static void vputf(huella_buf *b, const char *fmt, va_list ap) HUELLA_PRINTF(2, 0);
static void vputf(huella_buf *b, const char *fmt, va_list ap)
{
    char small[512];
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    if (n >= 0 && (size_t)n < sizeof(small)) {
        huella_buf_append(b, small, (size_t)n);
    } else {
        /* Longer than the stack buffer (the style sheet): format again. */
        char *big = n < 0 ? NULL : malloc((size_t)n + 1);
        if (big != NULL) {
            vsnprintf(big, (size_t)n + 1, fmt, again);
            huella_buf_append(b, big, (size_t)n);
            free(big);
        } else {
            b->ok = false;
        }
    }
    va_end(again);
}

static void putf(huella_buf *b, const char *fmt, ...) HUELLA_PRINTF(2, 3);
static void putf(huella_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vputf(b, fmt, ap);
    va_end(ap);
}

/* s with & < > " ' escaped, so that it is text in any HTML context we use
 * (element content and quoted attribute values); NULL prints a dash. */
static void put_escaped(huella_buf *b, const char *s)
{
    if (s == NULL) {
        put(b, DASH);
        return;
    }
    const char *run = s;
    for (const char *p = s;; p++) {
        const char *entity = NULL;
        switch (*p) {
        case '&':
            entity = "&amp;";
            break;
        case '<':
            entity = "&lt;";
            break;
        case '>':
            entity = "&gt;";
            break;
        case '"':
            entity = "&quot;";
            break;
        case '\'':
            entity = "&#39;";
            break;
        default:
            break;
        }
        if (entity == NULL && *p != '\0')
            continue;
        huella_buf_append(b, run, (size_t)(p - run));
        if (*p == '\0')
            return;
        put(b, entity);
        run = p + 1;
    }
}

static void put_percent(huella_buf *b, double rate)
{
    char s[64];
    huella_report_percent(s, sizeof(s), rate);
    put(b, s);
}

static void put_threshold(huella_buf *b, double t)
{
    if (isnan(t))
        put(b, DASH);
    else if (isinf(t))
        put(b, t > 0 ? "+&infin;" : "&minus;&infin;");
    else
        putf(b, "%.6g", t);
}

/* 4950 -> "4,950". */
static void put_count(huella_buf *b, size_t n)
{
    char digits[32];
    int len = snprintf(digits, sizeof(digits), "%zu", n);
    for (int i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            put(b, ",");
        huella_buf_append(b, &digits[i], 1);
    }
}

/* A measured quantity, or a dash where none was measured (0 or NaN). */
static void put_measure(huella_buf *b, double v, const char *fmt_unit)
{
    if (isfinite(v) && v > 0)
        putf(b, "%.3g %s", v, fmt_unit);
    else
        put(b, DASH);
}

/* When the report was made: SOURCE_DATE_EPOCH if set (reproducible
 * documentation builds), otherwise now; always UTC. */
static void format_generated(char *buf, size_t size)
{
    time_t when = time(NULL);
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    if (sde != NULL && sde[0] != '\0') {
        char *end;
        errno = 0;
        long long v = strtoll(sde, &end, 10);
        if (*end == '\0' && errno == 0 && v >= 0)
            when = (time_t)v;
    }
    struct tm tm;
    if (gmtime_r(&when, &tm) == NULL || strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
        snprintf(buf, size, DASH);
}

static const char STYLE[] =
    "body{margin:0;background:#f4f5f7;color:#222;"
    "font:15px/1.5 system-ui,-apple-system,\"Segoe UI\",Roboto,\"DejaVu Sans\",sans-serif}\n"
    "main{max-width:940px;margin:0 auto;padding:28px 32px 40px;background:#fff;"
    "box-shadow:0 0 0 1px #e3e5e8}\n"
    "h1{font-size:1.55em;margin:0 0 4px;line-height:1.25;overflow-wrap:anywhere}\n"
    "h2{font-size:1.15em;margin:30px 0 10px;padding-bottom:4px;border-bottom:1px solid #dde}\n"
    ".meta{color:#666;margin:0 0 8px}\n"
    "table{border-collapse:collapse;margin:6px 0 10px}\n"
    "th,td{padding:5px 14px 5px 0;text-align:left;vertical-align:top;"
    "border-bottom:1px solid #eceef1}\n"
    "thead th{border-bottom:2px solid #ccd;font-weight:600}\n"
    "table.kv th{font-weight:600;color:#444;min-width:13em}\n"
    "td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
    "td.iv{color:#666;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
    "code{font-family:ui-monospace,\"DejaVu Sans Mono\",Menlo,monospace;font-size:.92em;"
    "overflow-wrap:anywhere}\n"
    "figure{margin:12px 0 18px}\n"
    "figure img{display:block;max-width:100%;height:auto;border:1px solid #e3e5e8}\n"
    "figcaption,.note{color:#555;font-size:.9em;margin-top:6px}\n"
    "ul.fte{columns:2 22em;padding-left:1.2em;margin:6px 0}\n"
    "ul.fte li{break-inside:avoid;overflow-wrap:anywhere}\n"
    "footer{margin-top:32px;color:#777;font-size:.85em}\n";

typedef struct report_counts {
    size_t g_failed, i_failed;
} report_counts;

static size_t count_nan(const double *v, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += isnan(v[i]) ? 1 : 0;
    return k;
}

static void html_setup(huella_buf *b, const huella_eval_result *r, const report_counts *c)
{
    put(b, "<h2>Setup</h2>\n<table class=\"kv\">\n");
    put(b, "<tr><th>Modality</th><td>");
    put_escaped(b, r->modality);
    put(b, "</td></tr>\n<tr><th>Dataset</th><td>");
    if (r->dataset != NULL) {
        put(b, "<code>");
        put_escaped(b, r->dataset);
        put(b, "</code>");
    } else {
        put(b, DASH " (scores supplied directly)");
    }
    put(b, "</td></tr>\n<tr><th>Protocol</th><td>");
    if (r->from_scores) {
        put(b, DASH);
    } else {
        put_escaped(b, huella_protocol_name(r->protocol));
        put(b, r->protocol == HUELLA_PROTOCOL_ALL
                   ? " (genuine: every pair within a class; impostor: every pair across classes)"
                   : " (genuine: every pair within a class; impostor: first sample of each "
                     "class against the first of every other, as in FVC)");
    }
    put(b, "</td></tr>\n<tr><th>Score</th><td>");
    put(b, r->score_kind == HUELLA_SCORE_DISTANCE ? "distance: lower means more alike"
                                                  : "similarity: higher means more alike");
    if (r->score_meaning != NULL) {
        put(b, ". ");
        put_escaped(b, r->score_meaning);
    }
    put(b, "</td></tr>\n<tr><th>Samples</th><td>");
    if (r->samples > 0) {
        put_count(b, r->samples);
        put(b, " in ");
        put_count(b, r->classes);
        put(b, r->classes == 1 ? " class" : " classes");
    } else {
        put(b, DASH);
    }
    put(b, "</td></tr>\n<tr><th>Failures to enrol</th><td>");
    if (r->samples > 0) {
        put_count(b, r->fte);
        put(b, " (FTE ");
        put_percent(b, (double)r->fte / (double)r->samples);
        put(b, ")");
    } else {
        put(b, DASH);
    }
    put(b, "</td></tr>\n<tr><th>Genuine comparisons</th><td>");
    put_count(b, r->n_genuine);
    put(b, ", of which ");
    put_count(b, c->g_failed);
    put(b, " without a score");
    put(b, "</td></tr>\n<tr><th>Impostor comparisons</th><td>");
    put_count(b, r->n_impostor);
    put(b, ", of which ");
    put_count(b, c->i_failed);
    put(b, " without a score");
    put(b, "</td></tr>\n</table>\n");
}

static void metric_row(huella_buf *b, const char *name, double fnmr, double threshold,
                       double target, size_t n_impostor, bool *footnote)
{
    putf(b, "<tr><td>%s", name);
    /* With fewer than 1/target impostors no non-zero FMR is <= target:
     * the figure is then the FNMR at FMR = 0. */
    if (target > 0 && (double)n_impostor * target < 1.0) {
        put(b, " <sup>&dagger;</sup>");
        *footnote = true;
    }
    put(b, "</td><td class=\"num\">");
    put_percent(b, fnmr);
    put(b, "</td><td class=\"iv\"></td><td class=\"num\">");
    put_threshold(b, threshold);
    put(b, "</td></tr>\n");
}

static void html_metrics(huella_buf *b, const huella_eval_result *r)
{
    const huella_eval_metrics *m = &r->metrics;
    put(b, "<h2>Accuracy</h2>\n<table>\n<thead><tr><th>Measure</th><th>Value</th>"
           "<th>Interval</th><th>Threshold</th></tr></thead>\n<tbody>\n");
    put(b, "<tr><td>Equal error rate (EER)</td><td class=\"num\">");
    put_percent(b, m->eer);
    put(b, "</td><td class=\"iv\">[");
    put_percent(b, m->eer_low);
    put(b, ", ");
    put_percent(b, m->eer_high);
    put(b, "]</td><td class=\"num\">");
    put_threshold(b, m->eer_threshold);
    put(b, "</td></tr>\n");
    bool footnote = false;
    metric_row(b, "FNMR at FMR " LEQ " 1% (FMR100)", m->fmr100, m->threshold_fmr100, 0.01,
               r->n_impostor, &footnote);
    metric_row(b, "FNMR at FMR " LEQ " 0.1% (FMR1000)", m->fmr1000, m->threshold_fmr1000, 0.001,
               r->n_impostor, &footnote);
    metric_row(b, "FNMR at FMR " LEQ " 0.01% (FMR10000)", m->fmr10000, m->threshold_fmr10000,
               0.0001, r->n_impostor, &footnote);
    metric_row(b, "FNMR at FMR = 0 (ZeroFMR)", m->zero_fmr, m->threshold_zero_fmr, 0.0,
               r->n_impostor, &footnote);
    put(b, "</tbody>\n</table>\n<p class=\"note\">Generalised rates (ISO/IEC 19795-1): a "
           "comparison without a score counts as a non-match at every threshold. The EER is "
           "the midpoint of the interval [EER<sub>low</sub>, EER<sub>high</sub>] of FVC2000 "
           "(Maio et al. 2002). &ldquo;FNMR at FMR " LEQ " x&rdquo; is the FNMR at the lowest "
           "threshold whose FMR does not exceed x. Thresholds are in the modality&#39;s own "
           "units.");
    if (footnote) {
        put(b, " <sup>&dagger;</sup>&nbsp;Fewer than 1/x impostor comparisons (");
        put_count(b, r->n_impostor);
        put(b, "): no non-zero FMR is that small, so the figure equals the FNMR at FMR = 0 and "
               "says nothing about that operating point.");
    }
    put(b, "</p>\n");
}

static void html_figure(huella_buf *b, const char *name, int width, int height, const char *alt,
                        const char *caption)
{
    putf(b,
         "<figure><img src=\"%s.svg\" width=\"%d\" height=\"%d\" alt=\"%s\">\n"
         "<figcaption>%s Also as <a href=\"%s.png\">PNG</a> and <a href=\"%s.svg\">SVG</a>."
         "</figcaption></figure>\n",
         name, width, height, alt, caption, name, name);
}

static void html_timing(huella_buf *b, const huella_eval_result *r)
{
    put(b, "<h2>Timing</h2>\n");
    bool measured =
        !r->from_scores && (r->threads > 0 || (isfinite(r->wall_seconds) && r->wall_seconds > 0));
    if (!measured) {
        put(b, "<p>Not measured: the scores were supplied, not computed in this run.</p>\n");
        return;
    }
    put(b, "<table class=\"kv\">\n<tr><th>Template extraction</th><td>");
    put_measure(b, r->extract_ms_median, "ms per sample (median)");
    put(b, "</td></tr>\n<tr><th>Comparison</th><td>");
    put_measure(b, r->compare_us_median, "&micro;s per comparison (median)");
    put(b, "</td></tr>\n<tr><th>Threads</th><td>");
    if (r->threads > 0)
        putf(b, "%u", r->threads);
    else
        put(b, DASH);
    put(b, "</td></tr>\n<tr><th>Wall time</th><td>");
    put_measure(b, r->wall_seconds, "s");
    put(b, "</td></tr>\n</table>\n");
}

static void html_fte(huella_buf *b, const huella_eval_result *r)
{
    if (r->fte == 0 || r->fte_names == NULL)
        return;
    put(b, "<h2>Failures to enrol</h2>\n<p>");
    put_count(b, r->fte);
    put(b, r->fte == 1 ? " sample" : " samples");
    put(b, " gave no template; every comparison that involves them counts as a non-match."
           "</p>\n<ul class=\"fte\">\n");
    for (size_t i = 0; i < r->fte; i++) {
        if (r->fte_names[i] == NULL)
            continue;
        put(b, "<li>");
        put_escaped(b, r->fte_names[i]);
        put(b, "</li>\n");
    }
    put(b, "</ul>\n");
}

static void html_page(huella_buf *b, const huella_eval_result *r)
{
    report_counts c = {count_nan(r->genuine_scores, r->n_genuine),
                       count_nan(r->impostor_scores, r->n_impostor)};
    char generated[64];
    format_generated(generated, sizeof(generated));

    /* The title, once as text and once for the alt attributes. */
    huella_buf title;
    huella_buf_init(&title);
    put_escaped(&title, r->modality);
    if (r->dataset != NULL) {
        put(&title, " on ");
        put_escaped(&title, r->dataset);
    }
    huella_buf_append(&title, "", 1);
    const char *subject = title.ok ? (const char *)title.data : "";

    put(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    putf(b, "<title>huella evaluation: %s</title>\n", subject);
    putf(b, "<style>\n%s</style>\n</head>\n<body>\n<main>\n", STYLE);
    putf(b, "<h1>huella evaluation: %s</h1>\n", subject);
    putf(b, "<p class=\"meta\">huella %s &middot; generated %s</p>\n", HUELLA_VERSION, generated);

    html_setup(b, r, &c);
    html_metrics(b, r);

    put(b, "<h2>DET curve</h2>\n");
    huella_buf alt;
    huella_buf_init(&alt);
    putf(&alt, "DET curve of %s", subject);
    huella_buf_append(&alt, "", 1);
    html_figure(b, "det", HUELLA_REPORT_DET_WIDTH, HUELLA_REPORT_DET_HEIGHT,
                alt.ok ? (const char *)alt.data : "DET curve",
                "False non-match rate against false match rate, both on the normal-deviate "
                "scale, with the EER and the operating points at FMR " LEQ " 1%, 0.1% and "
                "0.01%.");
    huella_buf_free(&alt);

    put(b, "<h2>Score distributions</h2>\n");
    huella_buf_init(&alt);
    putf(&alt, "Genuine and impostor score histograms of %s", subject);
    huella_buf_append(&alt, "", 1);
    html_figure(b, "scores", HUELLA_REPORT_SCORES_WIDTH, HUELLA_REPORT_SCORES_HEIGHT,
                alt.ok ? (const char *)alt.data : "Score histograms",
                "Genuine and impostor scores as densities on shared bins; the dashed line is the "
                "EER threshold.");
    huella_buf_free(&alt);

    html_timing(b, r);
    html_fte(b, r);

    putf(b,
         "<footer>Every number on this page is in <a href=\"result.json\">result.json</a>. "
         "Made by huella %s.</footer>\n</main>\n</body>\n</html>\n",
         HUELLA_VERSION);
    if (!title.ok)
        b->ok = false;
    huella_buf_free(&title);
}

/* ---- The report ------------------------------------------------------------ */

huella_status huella_eval_report_write(const huella_eval_result *r, const char *outdir,
                                       huella_error *err)
{
    if (r == NULL || outdir == NULL)
        return huella_error_set(err, HUELLA_E_INPUT, "report: no result or no directory given");
    if ((r->n_genuine > 0 && r->genuine_scores == NULL) ||
        (r->n_impostor > 0 && r->impostor_scores == NULL))
        return huella_error_set(err, HUELLA_E_INPUT, "report %s: the result has no scores", outdir);
    if (r->n_genuine == 0 || r->n_impostor == 0)
        return huella_error_set(err, HUELLA_E_INPUT,
                                "report %s: needs genuine and impostor comparisons "
                                "(%zu genuine, %zu impostor)",
                                outdir, r->n_genuine, r->n_impostor);

    huella_status st = make_dirs(outdir, err);
    if (st != HUELLA_OK)
        return st;

    char *json = huella_eval_result_json(r);
    if (json == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM,
                                "%s/result.json: cannot serialise the result: out of memory",
                                outdir);
    st = write_bytes(outdir, "result.json", json, strlen(json), err);
    free(json);
    if (st != HUELLA_OK)
        return st;

    st = write_figure(r, outdir, "det", huella_report_det_draw, err);
    if (st != HUELLA_OK)
        return st;
    st = write_figure(r, outdir, "scores", huella_report_scores_draw, err);
    if (st != HUELLA_OK)
        return st;

    huella_buf html;
    huella_buf_init(&html);
    html_page(&html, r);
    if (!html.ok) {
        huella_buf_free(&html);
        return huella_error_set(err, HUELLA_E_NOMEM, "%s/index.html: out of memory", outdir);
    }
    st = write_bytes(outdir, "index.html", html.data, html.len, err);
    huella_buf_free(&html);
    return st;
}
