/*
 * huella/finger.h - fingerprint minutiae templates, interchange records
 * and the 1:1 minutiae matcher.
 *
 * The template model.  A template is one view of one finger: a list of
 * minutiae in a frame of 500 pixels per inch (whatever the resolution of
 * the source, which is kept), the image size in that frame, and optional
 * cores and deltas.  Extraction (from images) and import (from ISO/IEC
 * 19794-2:2005 or ANSI INCITS 378-2004 records) both fill this model;
 * the matcher prepares it once and then compares prepared templates.
 *
 * Conventions (the ones of ISO/IEC 19794-2 §6.4, kept so that import and
 * export are exact):
 *   - x grows to the right, y grows downward, origin at the top-left pixel;
 *   - direction is in radians in [0, 2*pi), measured counterclockwise
 *     from the +x axis as the image is seen (with y pointing down, a
 *     direction of pi/2 points to the top of the image); it is kept as the
 *     record or the extractor gives it, never reinterpreted;
 *   - quality is 0 (not reported) or 1..100.
 *
 * Serialised forms: the compact internal "huella" template format
 * (huella_finger_template_encode, layout in src/finger/template.c) and the
 * interchange records (huella_finger_record_read/_write, src/finger/iso.c).
 */
#ifndef HUELLA_FINGER_H
#define HUELLA_FINGER_H

#include "huella/base.h"
#include "huella/image.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The frame of every template: 500 pixels per inch. */
#define HUELLA_FINGER_PPI 500.0
/* 500 ppi in the pixels per centimetre of the interchange records. */
#define HUELLA_FINGER_PPCM_500 197
/* Most cores and deltas a template holds (a 4-bit count in ISO 19794-2). */
#define HUELLA_FINGER_MAX_SINGULAR 15
/* Most minutiae in one view (an 8-bit count in the interchange records). */
#define HUELLA_FINGER_MAX_MINUTIAE 255

typedef enum huella_minutia_type {
    HUELLA_MINUTIA_OTHER = 0,      /* ISO code 00 */
    HUELLA_MINUTIA_ENDING = 1,     /* ISO code 01: ridge ending */
    HUELLA_MINUTIA_BIFURCATION = 2 /* ISO code 10: ridge bifurcation */
} huella_minutia_type;

typedef struct huella_minutia {
    float x, y;      /* pixels at 500 ppi, 0 <= x, y < 16384 */
    float direction; /* radians in [0, 2*pi), counterclockwise from +x */
    uint8_t type;    /* huella_minutia_type */
    uint8_t quality; /* 0 = not reported, 1..100 */
} huella_minutia;

/* A core or a delta.  Cores carry 0 or 1 direction, deltas 0 or 3. */
typedef struct huella_finger_singular {
    float x, y;       /* pixels at 500 ppi */
    uint8_t n_angles; /* 0, 1 (core) or 3 (delta) */
    float angles[3];  /* radians, like minutia directions */
} huella_finger_singular;

typedef struct huella_finger_template {
    uint16_t width, height;  /* image size in pixels at 500 ppi */
    uint16_t resolution_x;   /* source resolution in pixels per cm, as */
    uint16_t resolution_y;   /* recorded (197 = 500 ppi; 0 = unknown) */
    uint8_t finger_position; /* ISO 19794-2 Table 2: 0 unknown, 1..10 */
    uint8_t view_number;     /* 0..15 */
    uint8_t impression_type; /* 0 live plain, 1 live rolled, ... 8 swipe */
    uint8_t finger_quality;  /* 0..100 */
    size_t n_minutiae;
    size_t cap_minutiae;
    huella_minutia *minutiae; /* owned */
    size_t n_cores;
    size_t n_deltas;
    huella_finger_singular cores[HUELLA_FINGER_MAX_SINGULAR];
    huella_finger_singular deltas[HUELLA_FINGER_MAX_SINGULAR];
} huella_finger_template;

/* ---- The template model ------------------------------------------------- */

/* An empty template: no minutiae, 500 ppi (197 px/cm), size 0 x 0. */
HUELLA_API huella_status huella_finger_template_new(huella_finger_template **out,
                                                    huella_error *err);
HUELLA_API void huella_finger_template_free(huella_finger_template *t);
HUELLA_API huella_status huella_finger_template_copy(const huella_finger_template *t,
                                                     huella_finger_template **out,
                                                     huella_error *err);
/*
 * Append one minutia (what an extractor calls).  Refused: non-finite or
 * out-of-range coordinates, a direction outside [0, 2*pi) (normalise
 * first), an unknown type, a quality above 100, more than
 * HUELLA_FINGER_MAX_MINUTIAE minutiae.
 */
HUELLA_API huella_status huella_finger_template_add(huella_finger_template *t,
                                                    const huella_minutia *m, huella_error *err);

/*
 * The internal "huella" template format: compact, versioned, big-endian;
 * the layout is documented in src/finger/template.c.  Encode returns a
 * malloc'd buffer the caller frees with free().  Decode refuses anything
 * but an exact, well-formed encoding.
 */
HUELLA_API huella_status huella_finger_template_encode(const huella_finger_template *t,
                                                       uint8_t **out, size_t *len,
                                                       huella_error *err);
HUELLA_API huella_status huella_finger_template_decode(const void *data, size_t len,
                                                       huella_finger_template **out,
                                                       huella_error *err);

/* ---- Interchange records ------------------------------------------------- */

typedef enum huella_finger_format {
    HUELLA_FINGER_FORMAT_AUTO = 0,      /* read: detect; write: not allowed */
    HUELLA_FINGER_FORMAT_ISO_2005 = 1,  /* ISO/IEC 19794-2:2005 finger minutiae record */
    HUELLA_FINGER_FORMAT_ANSI_2004 = 2, /* ANSI INCITS 378-2004 finger minutiae format */
    HUELLA_FINGER_FORMAT_HUELLA = 3     /* the internal template format (one view) */
} huella_finger_format;

typedef struct huella_finger_record {
    huella_finger_format format;  /* what was read */
    uint8_t equipment_compliance; /* 4 bits */
    uint16_t equipment_id;        /* 12 bits */
    uint32_t cbeff_product_id;    /* ANSI only: owner << 16 | type */
    size_t declared_length;       /* the record length field */
    size_t trailing_bytes;        /* bytes after the declared length, ignored */
    size_t n_views;
    huella_finger_template **views; /* owned; every view holds its own minutiae */
} huella_finger_record;

HUELLA_API const char *huella_finger_format_name(huella_finger_format format);

/*
 * Read a record.  With HUELLA_FINGER_FORMAT_AUTO the format is detected:
 * the internal format by its magic; ISO and ANSI share "FMR\0" " 20\0" and
 * differ in the length field (ISO: 4 bytes; ANSI: 2 bytes, or 0x0000 and
 * 4 bytes), which is read the ISO way first and the ANSI way when the ISO
 * reading cannot hold.  Bytes after the declared record length are
 * accepted and counted in trailing_bytes (real files are padded); a
 * record shorter than the length it declares is refused.  Coordinates are
 * converted to 500 ppi with the record's resolution.  Errors name the
 * field and the view.
 */
HUELLA_API huella_status huella_finger_record_read(const void *data, size_t len,
                                                   huella_finger_format format,
                                                   huella_finger_record **out, huella_error *err);
/*
 * Write a record with one view per template (at least one, at most 255).
 * The record header takes its image size and resolution from the first
 * view; every view is written in that resolution.  Fails on values that
 * the format cannot hold (for example more than 255 minutiae, or a
 * coordinate beyond 14 bits).  The caller frees *out with free().
 */
HUELLA_API huella_status huella_finger_record_write(const huella_finger_template *const *views,
                                                    size_t n_views, huella_finger_format format,
                                                    uint8_t **out, size_t *len, huella_error *err);
HUELLA_API void huella_finger_record_free(huella_finger_record *rec);

/* Read any supported record and return a copy of its first view. */
HUELLA_API huella_status huella_finger_template_load(const void *data, size_t len,
                                                     huella_finger_template **out,
                                                     huella_error *err);

/* ---- Extraction from images ---------------------------------------------- */

/* Options of huella_finger_extract; a NULL pointer or a zeroed struct
 * gives the defaults. */
typedef struct huella_finger_extract_options {
    /* Most minutiae to keep, the highest qualities first; 0 = 255. */
    unsigned max_minutiae;
} huella_finger_extract_options;

/*
 * Extract the minutiae of a grey fingerprint image into a new template at
 * 500 ppi (algorithm: src/finger/extract.c, field.c, enhance.c).  The
 * image's resolution is img->ppi_x when the file declares one of at
 * least 250 ppi (72 or 96 ppi are image tools' defaults, not a scanner's),
 * else ppi, else 500 (ppi_y is taken to be the same); an image at another
 * resolution is resampled to 500 ppi first (huella_image_scale), and the
 * template records the source resolution.  Deterministic: the same
 * pixels give the same template.  HUELLA_E_INPUT when the resolution is
 * outside 100..5000 ppi, when the image at 500 ppi is smaller than
 * 64 x 64 or larger than 32 M pixels, or when it holds no fingerprint
 * texture; a poor print may give few minutiae, or none.  Thread-safe.
 */
/* The resolution extraction takes for img: the declared one when it is at
 * least 250 ppi, else ppi, else 500. */
HUELLA_API double huella_finger_source_ppi(const huella_image *img, double ppi);

/* img resampled to the 500-ppi frame of templates (by the same rule as
 * extraction), for pictures and quality measures; a copy when it already is. */
HUELLA_API huella_status huella_finger_image_500(const huella_image *img, double ppi,
                                                 huella_image **out, huella_error *err);

HUELLA_API huella_status huella_finger_extract(const huella_image *img, double ppi,
                                               const huella_finger_extract_options *opt,
                                               huella_finger_template **out, huella_error *err);

/* ---- The matcher ----------------------------------------------------------- */

/*
 * A template prepared for matching (neighbour edges, their hash index,
 * the outline of the minutiae), immutable once made: share it between
 * threads freely.  See src/finger/match.c for the algorithm.
 */
typedef struct huella_finger_prepared huella_finger_prepared;

HUELLA_API huella_status huella_finger_prepare(const huella_finger_template *t,
                                               huella_finger_prepared **out, huella_error *err);
/*
 * The same without the hash index, for the gallery of a 1:N search:
 * about an eighth of the memory (4.3 KB rather than 32 KB for the 41
 * minutiae of an average FVC2002 DB2 template), and compared at full
 * speed, with the same score, against a template prepared with the index
 * on either side.  Two compact templates still compare, with the same
 * score again, but about 8 times more slowly.
 */
HUELLA_API huella_status huella_finger_prepare_compact(const huella_finger_template *t,
                                                       huella_finger_prepared **out,
                                                       huella_error *err);
/*
 * The serialised form of a compact prepared template, for keeping it
 * beside the template (the store's gallery forms) so that a gallery loads
 * without preparing again.  HUELLA_FINGER_PREPARED_FORMAT is bumped with
 * every change of what preparation computes or of this layout; loading
 * bytes of another format (or of a host of the other byte order) fails
 * with HUELLA_E_UNSUPPORTED and the caller prepares the template again.
 * huella_finger_prepared_load gives a template that compares exactly as
 * the one serialised.  Serialising an indexed template is refused.
 */
#define HUELLA_FINGER_PREPARED_FORMAT 4
HUELLA_API huella_status huella_finger_prepared_serialize(const huella_finger_prepared *p,
                                                          uint8_t **out, size_t *len,
                                                          huella_error *err);
HUELLA_API huella_status huella_finger_prepared_load(const uint8_t *data, size_t len,
                                                     huella_finger_prepared **out,
                                                     huella_error *err);
/*
 * Loading into memory the caller owns (a gallery placing millions of
 * templates in large chunks of its own, without an allocation each):
 * huella_finger_prepared_load_size checks the header of serialised bytes
 * and gives the bytes their loaded template needs (*size);
 * huella_finger_prepared_load_into checks all of them and lays the
 * template out in mem (HUELLA_FINGER_PREPARED_ALIGN-byte aligned, at
 * least that size): one block, the struct and every array, nothing
 * allocated.  *out then points to mem; it compares exactly as the one
 * huella_finger_prepared_load gives (which is these two calls on its
 * own allocation).  The caller owns mem: never pass *out to
 * huella_finger_prepared_free; wipe and release mem when done with it.
 * On failure mem may have been written.  A loaded template's size
 * (huella_finger_prepared_size) is *size, a multiple of the alignment.
 */
#define HUELLA_FINGER_PREPARED_ALIGN 16
HUELLA_API huella_status huella_finger_prepared_load_size(const uint8_t *data, size_t len,
                                                          size_t *size, huella_error *err);
HUELLA_API huella_status huella_finger_prepared_load_into(const uint8_t *data, size_t len,
                                                          void *mem, size_t size,
                                                          huella_finger_prepared **out,
                                                          huella_error *err);
/* Every check huella_finger_prepared_load_into makes, without laying the
 * template out: HUELLA_OK exactly when a load of the bytes would succeed
 * (given memory enough).  A gallery that keeps templates serialised
 * checks each once when adding it. */
HUELLA_API huella_status huella_finger_prepared_check(const uint8_t *data, size_t len,
                                                      huella_error *err);
/* The bytes a prepared template holds (0 for NULL). */
HUELLA_API size_t huella_finger_prepared_size(const huella_finger_prepared *p);
HUELLA_API void huella_finger_prepared_free(huella_finger_prepared *p);

/*
 * Similarity of two prepared templates in [0, 100], higher = more alike;
 * invariant to translation and rotation.  Thread-safe, allocation-free
 * (about 230 KB of stack).  The score is 100 * m^2 / (na * nb): m the
 * weight of the minutiae paired consistently, na and nb the weight of the
 * minutiae of each print that lie in the common area (each at least 12
 * minutiae's worth), a minutia weighing its quality / 100 (1 when the
 * quality is not reported) and a pair the geometric mean of its two, less
 * when their types disagree and the more their directions disagree under
 * the alignment (half at the consolidation's 20 degrees); so it reads as
 * the percentage of common-area minutiae that pair up.  Monotone, not a
 * probability.
 *
 * Thresholds measured on FVC2002 DB1_B..DB4_B images through
 * huella_finger_extract, all pairs, the scores of the four databases
 * pooled (1,120 genuine and 11,520 impostor comparisons; `huella eval
 * finger --protocol all --ppi 500 --dataset .../DB1_B --dataset
 * .../DB2_B:569 --dataset .../DB3_B --dataset .../DB4_B`), rounded up.
 * FMR 0.01 % is at the edge of what 11,520 impostor comparisons can show
 * (one false match): its value is the zero-FMR threshold, a floor.  FMR
 * 0.001 % cannot be measured on the development data (it needs at least
 * 100,000 impostor comparisons) and has no constant.  Per database, and on
 * the SecuGen ISO records of the same prints, see docs/finger-extraction.md.
 */
#define HUELLA_FINGER_THRESHOLD_FMR100   16.0 /* pooled 15.6 */
#define HUELLA_FINGER_THRESHOLD_FMR1000  22.0 /* pooled 21.7 */
#define HUELLA_FINGER_THRESHOLD_FMR10000 37.0 /* zero FMR, pooled 36.2 (one false match: 26.4) */
HUELLA_API double huella_finger_compare(const huella_finger_prepared *a,
                                        const huella_finger_prepared *b);

/* ---- Image quality ---------------------------------------------------- */

#define HUELLA_FINGER_QUALITY_REASONS 3

/* How usable a fingerprint image is (src/finger/quality.c): 0-100, higher
 * is better, with the measures behind it and, in words, what lowers it. */
typedef struct huella_finger_quality {
    unsigned score;
    double area_mm2; /* ridge texture at 500 ppi */
    double contrast; /* standard deviation of grey in the print */
    double clarity;  /* mean ridge-orientation coherence in the print, 0..1 */
    unsigned n_reasons;
    char reasons[HUELLA_FINGER_QUALITY_REASONS][120];
} huella_finger_quality;

HUELLA_API huella_status huella_finger_quality_measure(const huella_image *img, double ppi,
                                                       huella_finger_quality *out,
                                                       huella_error *err);

/* ---- Explanations ---------------------------------------------------- */

/* One pair of minutiae the matcher found to correspond: indexes into the
 * minutiae of the templates the two prepared templates were made from. */
typedef struct huella_finger_pairing {
    uint16_t a;
    uint16_t b;
} huella_finger_pairing;

/*
 * The same score as huella_finger_compare, and the minutiae pairs behind
 * it (at most max_pairs are written; *n_pairs is how many there are).
 */
HUELLA_API double huella_finger_compare_explain(const huella_finger_prepared *a,
                                                const huella_finger_prepared *b,
                                                huella_finger_pairing *pairs, size_t max_pairs,
                                                size_t *n_pairs);

/*
 * Pictures for examiners (src/finger/draw.c): the print with its minutiae,
 * or two prints side by side with the paired minutiae joined.  SVG when
 * path ends in .svg, PNG otherwise.  Images must be at 500 ppi, the frame
 * of the templates.
 */
HUELLA_API huella_status huella_finger_draw(const huella_image *img,
                                            const huella_finger_template *t, const char *path,
                                            huella_error *err);
HUELLA_API huella_status huella_finger_draw_pair(const huella_image *img_a,
                                                 const huella_finger_template *a,
                                                 const huella_image *img_b,
                                                 const huella_finger_template *b,
                                                 const huella_finger_pairing *pairs, size_t n_pairs,
                                                 double score, const char *path, huella_error *err);

#ifdef __cplusplus
}
#endif

#endif
