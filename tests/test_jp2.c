/*
 * test_jp2.c - specification of the JPEG 2000 decoder (src/image/jp2.c).
 *
 * JP2 files and raw codestreams both decode; any precision, signed or not,
 * becomes 8 bits with rounding; colour becomes BT.601 luma (or Y for
 * sYCC), alpha from the cdef box is composited over white and subsampled
 * components are upsampled; the resolution comes from res/resc (else resd)
 * as N / D * 10^E pixels per metre; malformed boxes, oversized images,
 * too many tiles or components, truncated and damaged streams are refused
 * with a message naming JPEG 2000.  Real streams are cut out of the
 * ISO/IEC 19794 records in the development data; synthetic ones are
 * encoded here with OpenJPEG and wrapped in boxes built by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "image_support.h"

#include <dirent.h>
#include <openjpeg.h>

#define NAME "JPEG 2000"

/* ---- Encoding fixtures with OpenJPEG ---------------------------------- */

typedef struct wbuf {
    uint8_t *data;
    size_t len, cap, pos;
} wbuf;

static bool wbuf_reserve(wbuf *b, size_t need)
{
    if (need <= b->cap)
        return true;
    size_t cap = need * 2;
    uint8_t *p = realloc(b->data, cap);
    if (p == NULL)
        return false;
    memset(p + b->cap, 0, cap - b->cap);
    b->data = p;
    b->cap = cap;
    return true;
}

static OPJ_SIZE_T w_write(void *buf, OPJ_SIZE_T n, void *user)
{
    wbuf *b = user;
    if (!wbuf_reserve(b, b->pos + n))
        return (OPJ_SIZE_T)-1;
    memcpy(b->data + b->pos, buf, n);
    b->pos += n;
    if (b->pos > b->len)
        b->len = b->pos;
    return n;
}

static OPJ_OFF_T w_skip(OPJ_OFF_T n, void *user)
{
    wbuf *b = user;
    if (n < 0 || !wbuf_reserve(b, b->pos + (size_t)n))
        return -1;
    b->pos += (size_t)n;
    if (b->pos > b->len)
        b->len = b->pos;
    return n;
}

static OPJ_BOOL w_seek(OPJ_OFF_T off, void *user)
{
    wbuf *b = user;
    if (off < 0 || !wbuf_reserve(b, (size_t)off))
        return OPJ_FALSE;
    b->pos = (size_t)off;
    if (b->pos > b->len)
        b->len = b->pos;
    return OPJ_TRUE;
}

typedef struct comp_spec {
    unsigned prec;
    bool sgnd;
    unsigned dx, dy;
    bool alpha;
} comp_spec;

/* Encode losslessly.  samples[c] holds ceil(w/dx) x ceil(h/dy) values. */
static uint8_t *encode(OPJ_CODEC_FORMAT fmt, uint32_t w, uint32_t h, unsigned n,
                       const comp_spec *cs, int32_t *const *samples, OPJ_COLOR_SPACE space,
                       size_t *len)
{
    opj_image_cmptparm_t parms[8];
    memset(parms, 0, sizeof(parms));
    bool same = true;
    for (unsigned c = 0; c < n; c++) {
        parms[c].dx = cs[c].dx;
        parms[c].dy = cs[c].dy;
        parms[c].w = (w + cs[c].dx - 1) / cs[c].dx;
        parms[c].h = (h + cs[c].dy - 1) / cs[c].dy;
        parms[c].prec = cs[c].prec;
        parms[c].sgnd = cs[c].sgnd;
        same = same && cs[c].dx == 1 && cs[c].dy == 1;
    }
    opj_image_t *image = opj_image_create(n, parms, space);
    assert_non_null(image);
    image->x0 = 0;
    image->y0 = 0;
    image->x1 = w;
    image->y1 = h;
    for (unsigned c = 0; c < n; c++) {
        memcpy(image->comps[c].data, samples[c], (size_t)parms[c].w * parms[c].h * sizeof(int32_t));
        image->comps[c].alpha = cs[c].alpha;
    }
    opj_cparameters_t p;
    opj_set_default_encoder_parameters(&p);
    p.tcp_numlayers = 1;
    p.tcp_rates[0] = 0; /* lossless */
    p.cp_disto_alloc = 1;
    p.numresolution = 3;
    p.tcp_mct = (char)(n >= 3 && same ? 1 : 0);
    opj_codec_t *codec = opj_create_compress(fmt);
    assert_non_null(codec);
    assert_true(opj_setup_encoder(codec, &p, image));
    wbuf b = {NULL, 0, 0, 0};
    opj_stream_t *s = opj_stream_create(4096, OPJ_FALSE);
    opj_stream_set_write_function(s, w_write);
    opj_stream_set_skip_function(s, w_skip);
    opj_stream_set_seek_function(s, w_seek);
    opj_stream_set_user_data(s, &b, NULL);
    assert_true(opj_start_compress(codec, image, s));
    assert_true(opj_encode(codec, s));
    assert_true(opj_end_compress(codec, s));
    opj_stream_destroy(s);
    opj_destroy_codec(codec);
    opj_image_destroy(image);
    *len = b.len;
    return b.data;
}

static int32_t *random_samples(size_t n, unsigned prec, bool sgnd, uint32_t seed)
{
    int32_t *p = malloc(n * sizeof(int32_t));
    assert_non_null(p);
    for (size_t i = 0; i < n; i++) {
        uint32_t v = test_rand(&seed) & (uint32_t)((1ull << prec) - 1);
        p[i] = sgnd ? (int32_t)v - (int32_t)(1u << (prec - 1)) : (int32_t)v;
    }
    return p;
}

static uint8_t to8(int32_t v, unsigned prec, bool sgnd)
{
    uint64_t max = (1ull << prec) - 1;
    uint64_t u = (uint64_t)((int64_t)v + (sgnd ? (int64_t)1 << (prec - 1) : 0));
    return (uint8_t)((u * 255 + max / 2) / max);
}

static uint8_t over_white(unsigned v, unsigned a)
{
    return (uint8_t)((v * a + 255 * (255 - a) + 127) / 255);
}

/* ---- Hand-made JP2 boxes ---------------------------------------------- */

static void put_box(huella_buf *b, const char *type, const void *body, size_t n)
{
    huella_buf_append_u32be(b, (uint32_t)(8 + n));
    huella_buf_append(b, type, 4);
    huella_buf_append(b, body, n);
}

static void res_body(uint8_t out[10], unsigned vn, unsigned vd, unsigned hn, unsigned hd, int ve,
                     int he)
{
    huella_store_u16be(out, (uint16_t)vn);
    huella_store_u16be(out + 2, (uint16_t)vd);
    huella_store_u16be(out + 4, (uint16_t)hn);
    huella_store_u16be(out + 6, (uint16_t)hd);
    out[8] = (uint8_t)(int8_t)ve;
    out[9] = (uint8_t)(int8_t)he;
}

/* A JP2 file around a grey 8-bit codestream; res is the contents of a
 * 'res ' superbox (NULL for none). */
static uint8_t *wrap_jp2(const uint8_t *cs, size_t cs_len, uint32_t w, uint32_t h,
                         const huella_buf *res, size_t *len)
{
    huella_buf b, jp2h;
    huella_buf_init(&b);
    huella_buf_init(&jp2h);
    static const uint8_t sig[4] = {0x0d, 0x0a, 0x87, 0x0a};
    put_box(&b, "jP  ", sig, 4);
    static const uint8_t ftyp[12] = {'j', 'p', '2', ' ', 0, 0, 0, 0, 'j', 'p', '2', ' '};
    put_box(&b, "ftyp", ftyp, 12);
    uint8_t ihdr[14];
    huella_store_u32be(ihdr, h);
    huella_store_u32be(ihdr + 4, w);
    huella_store_u16be(ihdr + 8, 1);
    ihdr[10] = 7; /* 8 bits unsigned */
    ihdr[11] = 7;
    ihdr[12] = 0;
    ihdr[13] = 0;
    put_box(&jp2h, "ihdr", ihdr, 14);
    static const uint8_t colr[7] = {1, 0, 0, 0, 0, 0, 17}; /* greyscale */
    put_box(&jp2h, "colr", colr, 7);
    if (res != NULL)
        put_box(&jp2h, "res ", res->data, res->len);
    put_box(&b, "jp2h", jp2h.data, jp2h.len);
    put_box(&b, "jp2c", cs, cs_len);
    huella_buf_free(&jp2h);
    assert_true(b.ok);
    *len = b.len;
    return b.data;
}

/* A small grey codestream with known pixels. */
static uint8_t *grey_codestream(uint32_t w, uint32_t h, size_t *len, int32_t **pixels)
{
    comp_spec cs = {8, false, 1, 1, false};
    int32_t *px = random_samples((size_t)w * h, 8, false, 1234);
    uint8_t *data = encode(OPJ_CODEC_J2K, w, h, 1, &cs, &px, OPJ_CLRSPC_GRAY, len);
    if (pixels != NULL)
        *pixels = px;
    else
        free(px);
    return data;
}

/* ---- Pixels -------------------------------------------------------------- */

static void test_grey_j2k_and_jp2(void **state)
{
    (void)state;
    const uint32_t w = 45, h = 33;
    comp_spec cs = {8, false, 1, 1, false};
    int32_t *px = random_samples(w * h, 8, false, 1);
    for (int jp2 = 0; jp2 <= 1; jp2++) {
        size_t len;
        uint8_t *data =
            encode(jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K, w, h, 1, &cs, &px, OPJ_CLRSPC_GRAY, &len);
        assert_int_equal(huella_image_detect(data, len), HUELLA_IMAGE_JP2);
        huella_image *img = decode_ok(huella_image_decode_jp2, data, len);
        assert_int_equal(img->width, w);
        assert_int_equal(img->height, h);
        assert_int_equal(img->format, HUELLA_IMAGE_JP2);
        assert_int_equal(img->source_channels, 1);
        assert_int_equal(img->source_bits, 8);
        assert_true(img->ppi_x == 0 && img->ppi_y == 0);
        for (size_t i = 0; i < w * h; i++)
            assert_int_equal(img->pixels[i], px[i]);
        huella_image_free(img);
        free(data);
    }
    free(px);
}

static void test_precisions_and_signs_rescale(void **state)
{
    (void)state;
    const uint32_t w = 20, h = 12;
    const struct {
        unsigned prec;
        bool sgnd;
    } cases[] = {{1, false}, {4, false}, {12, false}, {16, false},
                 {16, true}, {8, true},  {10, true}};
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        comp_spec cs = {cases[k].prec, cases[k].sgnd, 1, 1, false};
        int32_t *px = random_samples(w * h, cs.prec, cs.sgnd, 7u + (unsigned)k);
        size_t len;
        uint8_t *data = encode(OPJ_CODEC_J2K, w, h, 1, &cs, &px, OPJ_CLRSPC_GRAY, &len);
        huella_image *img = decode_ok(huella_image_decode_jp2, data, len);
        assert_int_equal(img->source_bits, cs.prec);
        for (size_t i = 0; i < w * h; i++)
            assert_int_equal(img->pixels[i], to8(px[i], cs.prec, cs.sgnd));
        huella_image_free(img);
        free(data);
        free(px);
    }
}

static void test_rgb_uses_bt601_luma(void **state)
{
    (void)state;
    const uint32_t w = 30, h = 18;
    comp_spec cs[3] = {{8, false, 1, 1, false}, {8, false, 1, 1, false}, {8, false, 1, 1, false}};
    int32_t *px[3];
    for (int c = 0; c < 3; c++)
        px[c] = random_samples(w * h, 8, false, 100u + (unsigned)c);
    for (int jp2 = 0; jp2 <= 1; jp2++) {
        size_t len;
        uint8_t *data =
            encode(jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K, w, h, 3, cs, px, OPJ_CLRSPC_SRGB, &len);
        huella_image *img = decode_ok(huella_image_decode_jp2, data, len);
        assert_int_equal(img->source_channels, 3);
        for (size_t i = 0; i < w * h; i++)
            assert_int_equal(img->pixels[i], huella_luma((unsigned)px[0][i], (unsigned)px[1][i],
                                                         (unsigned)px[2][i]));
        huella_image_free(img);
        free(data);
    }
    for (int c = 0; c < 3; c++)
        free(px[c]);
}

static void test_alpha_from_cdef_over_white(void **state)
{
    (void)state;
    const uint32_t w = 16, h = 10;
    /* Grey and alpha. */
    comp_spec ga[2] = {{8, false, 1, 1, false}, {8, false, 1, 1, true}};
    int32_t *g[2] = {random_samples(w * h, 8, false, 1), random_samples(w * h, 8, false, 2)};
    size_t len;
    uint8_t *data = encode(OPJ_CODEC_JP2, w, h, 2, ga, g, OPJ_CLRSPC_GRAY, &len);
    huella_image *img = decode_ok(huella_image_decode_jp2, data, len);
    assert_int_equal(img->source_channels, 2);
    for (size_t i = 0; i < w * h; i++)
        assert_int_equal(img->pixels[i], over_white((unsigned)g[0][i], (unsigned)g[1][i]));
    huella_image_free(img);
    free(data);
    free(g[0]);
    free(g[1]);

    /* RGB and alpha. */
    comp_spec rgba[4] = {{8, false, 1, 1, false},
                         {8, false, 1, 1, false},
                         {8, false, 1, 1, false},
                         {8, false, 1, 1, true}};
    int32_t *p[4];
    for (int c = 0; c < 4; c++)
        p[c] = random_samples(w * h, 8, false, 10u + (unsigned)c);
    data = encode(OPJ_CODEC_JP2, w, h, 4, rgba, p, OPJ_CLRSPC_SRGB, &len);
    img = decode_ok(huella_image_decode_jp2, data, len);
    assert_int_equal(img->source_channels, 4);
    for (size_t i = 0; i < w * h; i++) {
        unsigned a = (unsigned)p[3][i];
        assert_int_equal(img->pixels[i], huella_luma(over_white((unsigned)p[0][i], a),
                                                     over_white((unsigned)p[1][i], a),
                                                     over_white((unsigned)p[2][i], a)));
    }
    huella_image_free(img);
    free(data);
    for (int c = 0; c < 4; c++)
        free(p[c]);
}

static void test_subsampled_components(void **state)
{
    (void)state;
    const uint32_t w = 21, h = 15; /* odd: the subsampled planes are ceil(w/2) wide */
    const uint32_t cw = (w + 1) / 2, ch = (h + 1) / 2;
    comp_spec cs[3] = {{8, false, 1, 1, false}, {8, false, 2, 2, false}, {8, false, 2, 2, false}};
    int32_t *px[3] = {random_samples(w * h, 8, false, 31), random_samples(cw * ch, 8, false, 32),
                      random_samples(cw * ch, 8, false, 33)};
    /* sRGB with subsampled G and B: nearest-neighbour upsampling. */
    size_t len;
    uint8_t *data = encode(OPJ_CODEC_JP2, w, h, 3, cs, px, OPJ_CLRSPC_SRGB, &len);
    huella_image *img = decode_ok(huella_image_decode_jp2, data, len);
    assert_int_equal(img->width, w);
    assert_int_equal(img->height, h);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            size_t s = (size_t)(y / 2) * cw + x / 2;
            assert_int_equal(
                img->pixels[y * w + x],
                huella_luma((unsigned)px[0][y * w + x], (unsigned)px[1][s], (unsigned)px[2][s]));
        }
    huella_image_free(img);
    free(data);
    /* sYCC 4:2:0: Y is the grey. */
    data = encode(OPJ_CODEC_JP2, w, h, 3, cs, px, OPJ_CLRSPC_SYCC, &len);
    img = decode_ok(huella_image_decode_jp2, data, len);
    for (size_t i = 0; i < w * h; i++)
        assert_int_equal(img->pixels[i], px[0][i]);
    huella_image_free(img);
    free(data);
    for (int c = 0; c < 3; c++)
        free(px[c]);
}

static void test_too_many_components_unsupported(void **state)
{
    (void)state;
    const uint32_t w = 8, h = 8;
    comp_spec cs[5];
    int32_t *px[5];
    for (int c = 0; c < 5; c++) {
        cs[c] = (comp_spec){8, false, 1, 1, false};
        px[c] = random_samples(w * h, 8, false, (unsigned)c);
    }
    size_t len;
    uint8_t *data = encode(OPJ_CODEC_J2K, w, h, 5, cs, px, OPJ_CLRSPC_UNSPECIFIED, &len);
    huella_error err;
    assert_int_equal(expect_reject(huella_image_decode_jp2, data, len, NAME, &err),
                     HUELLA_E_UNSUPPORTED);
    assert_non_null(strstr(err.message, "5 components"));
    free(data);
    for (int c = 0; c < 5; c++)
        free(px[c]);
}

/* ---- Boxes and resolution ---------------------------------------------- */

static huella_image *decode_wrapped(const huella_buf *res, huella_status expect, huella_error *err)
{
    size_t cs_len, len;
    uint8_t *cs = grey_codestream(12, 9, &cs_len, NULL);
    uint8_t *data = wrap_jp2(cs, cs_len, 12, 9, res, &len);
    huella_image *img = NULL;
    if (expect == HUELLA_OK)
        img = decode_ok(huella_image_decode_jp2, data, len);
    else
        assert_int_equal(expect_reject(huella_image_decode_jp2, data, len, NAME, err), expect);
    free(data);
    free(cs);
    return img;
}

static void test_resolution_boxes(void **state)
{
    (void)state;
    uint8_t body[10];
    huella_buf res;

    /* No res box: no resolution. */
    huella_image *img = decode_wrapped(NULL, HUELLA_OK, NULL);
    assert_true(img->ppi_x == 0 && img->ppi_y == 0);
    huella_image_free(img);

    /* resc alone: 1000/254 * 10^4 px/m = 1000 ppi (as in the MOSIP records). */
    huella_buf_init(&res);
    res_body(body, 1000, 254, 1000, 254, 4, 4);
    put_box(&res, "resc", body, 10);
    img = decode_wrapped(&res, HUELLA_OK, NULL);
    assert_true(img->ppi_x == 1000 && img->ppi_y == 1000);
    huella_image_free(img);
    huella_buf_free(&res);

    /* resd alone; vertical first in the box: VR 19685 px/m, HR 39370 px/m. */
    huella_buf_init(&res);
    res_body(body, 19685, 1, 3937, 1, 0, 1);
    put_box(&res, "resd", body, 10);
    img = decode_wrapped(&res, HUELLA_OK, NULL);
    assert_true(img->ppi_y == 500 && img->ppi_x == 1000);
    huella_image_free(img);
    huella_buf_free(&res);

    /* Both: capture resolution wins, wherever it is. */
    huella_buf_init(&res);
    res_body(body, 300, 1, 300, 1, 0, 0);
    put_box(&res, "resd", body, 10);
    res_body(body, 19685, 100, 19685, 100, 2, 2);
    put_box(&res, "resc", body, 10);
    img = decode_wrapped(&res, HUELLA_OK, NULL);
    assert_true(img->ppi_x == 500 && img->ppi_y == 500);
    huella_image_free(img);
    huella_buf_free(&res);

    /* A negative exponent, and a value that is no whole ppi. */
    huella_buf_init(&res);
    res_body(body, 50000, 1, 50000, 1, -1, -1); /* 5000 px/m = 127 ppi */
    put_box(&res, "resc", body, 10);
    img = decode_wrapped(&res, HUELLA_OK, NULL);
    assert_float_equal(img->ppi_x, 127.0, 1e-9);
    huella_image_free(img);
    huella_buf_free(&res);

    /* Zero denominator: refused with a clear message. */
    huella_error err;
    huella_buf_init(&res);
    res_body(body, 1, 0, 1, 1, 0, 0);
    put_box(&res, "resc", body, 10);
    decode_wrapped(&res, HUELLA_E_INPUT, &err);
    assert_non_null(strstr(err.message, "zero denominator"));
    huella_buf_free(&res);

    /* A resolution box too short for its fields. */
    huella_buf_init(&res);
    put_box(&res, "resc", body, 6);
    decode_wrapped(&res, HUELLA_E_INPUT, &err);
    assert_non_null(strstr(err.message, "resc"));
    huella_buf_free(&res);

    /* A sub-box that overruns its 'res ' superbox. */
    huella_buf_init(&res);
    put_box(&res, "resc", body, 10);
    huella_store_u32be(res.data, 40);
    decode_wrapped(&res, HUELLA_E_INPUT, &err);
    assert_non_null(strstr(err.message, "box 'resc'"));
    huella_buf_free(&res);
}

static void test_box_structure_errors(void **state)
{
    (void)state;
    size_t cs_len, len;
    uint8_t *cs = grey_codestream(12, 9, &cs_len, NULL);
    uint8_t *data = wrap_jp2(cs, cs_len, 12, 9, NULL, &len);
    huella_error err;
    /* Offsets: jP (12), ftyp (20), jp2h at 32. */
    size_t jp2h = 32;
    assert_memory_equal(data + jp2h + 4, "jp2h", 4);
    size_t jp2c = jp2h + huella_load_u32be(data + jp2h);
    assert_memory_equal(data + jp2c + 4, "jp2c", 4);

    /* The codestream box claims more than the file holds. */
    uint8_t *copy = malloc(len);
    memcpy(copy, data, len);
    huella_store_u32be(copy + jp2c, (uint32_t)(len - jp2c + 1));
    expect_reject(huella_image_decode_jp2, copy, len, NAME, &err);
    assert_non_null(strstr(err.message, "box 'jp2c'"));
    assert_non_null(strstr(err.message, "truncated"));

    /* A length below the header size. */
    memcpy(copy, data, len);
    huella_store_u32be(copy + jp2h, 5);
    expect_reject(huella_image_decode_jp2, copy, len, NAME, &err);
    assert_non_null(strstr(err.message, "invalid length"));

    /* No codestream box at all. */
    memcpy(copy, data, len);
    memcpy(copy + jp2c + 4, "junk", 4);
    expect_reject(huella_image_decode_jp2, copy, len, NAME, &err);
    assert_non_null(strstr(err.message, "no codestream box"));
    free(copy);

    /* LBox 0 (to the end of the file) and XLBox (64-bit) are both valid. */
    memcpy(data + jp2c, "\0\0\0\0", 4);
    huella_image *img = decode_ok(huella_image_decode_jp2, data, len);
    huella_image_free(img);
    huella_buf b;
    huella_buf_init(&b);
    huella_buf_append(&b, data, jp2c);
    huella_buf_append_u32be(&b, 1);
    huella_buf_append(&b, "jp2c", 4);
    huella_buf_append_u32be(&b, 0);
    huella_buf_append_u32be(&b, (uint32_t)(16 + cs_len));
    huella_buf_append(&b, cs, cs_len);
    img = decode_ok(huella_image_decode_jp2, b.data, b.len);
    assert_int_equal(img->width, 12);
    huella_image_free(img);
    huella_buf_free(&b);
    free(data);
    free(cs);
}

/* ---- Real streams ---------------------------------------------------------- */

/* The JPEG 2000 stream of an ISO/IEC 19794 record: from its signature box
 * (or SOC) to the end of the file. */
static uint8_t *load_embedded(const char *relative, size_t *len)
{
    size_t n;
    uint8_t *data = load_data(relative, &n);
    size_t off = find_jp2(data, n);
    if (off == n)
        fail_msg("%s holds no JPEG 2000 stream", relative);
    uint8_t *stream = malloc(n - off);
    memcpy(stream, data + off, n - off);
    free(data);
    *len = n - off;
    return stream;
}

/* Cut the codestream out of a JP2 file (the body of its jp2c box). */
static uint8_t *codestream_of(const uint8_t *jp2, size_t len, size_t *cs_len)
{
    size_t pos = 0;
    while (pos + 8 <= len) {
        size_t box = huella_load_u32be(jp2 + pos);
        if (memcmp(jp2 + pos + 4, "jp2c", 4) == 0) {
            size_t n = (box == 0 ? len - pos : box) - 8;
            uint8_t *cs = malloc(n);
            memcpy(cs, jp2 + pos + 8, n);
            *cs_len = n;
            return cs;
        }
        pos += box;
    }
    fail_msg("no jp2c box");
    return NULL;
}

static void test_iso_19794_records(void **state)
{
    (void)state;
    REQUIRE_DATA();
    const struct {
        const char *file;
        uint32_t w, h;
        unsigned channels;
        double ppi;
    } cases[] = {
        {"interchange/iso19794-mosip/Auth/Left_Index.iso", 280, 448, 1, 1000},
        {"interchange/iso19794-mosip/Registration/Left_Index.iso", 280, 448, 1, 1000},
        {"interchange/iso19794-mosip/Auth/Right_Thumb.iso", 357, 504, 1, 1000},
        {"interchange/iso19794-mosip/Auth/Face.iso", 240, 320, 3, 1000},
        {"interchange/iso19794-mosip/Registration/Exception_Photo.iso", 600, 400, 3, 1000},
        {"interchange/iso19794-mosip/Auth/Left_Iris.iso", 391, 293, 1, 0},
        {"interchange/iso19794-mosip/Registration/Right_Iris.iso", 423, 317, 1, 0},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        size_t len;
        uint8_t *data = load_embedded(cases[k].file, &len);
        assert_int_equal(huella_image_detect(data, len), HUELLA_IMAGE_JP2);
        huella_image *img = decode_ok(huella_image_decode_jp2, data, len);
        assert_int_equal(img->width, cases[k].w);
        assert_int_equal(img->height, cases[k].h);
        assert_int_equal(img->source_channels, cases[k].channels);
        assert_int_equal(img->source_bits, 8);
        assert_true(img->ppi_x == cases[k].ppi && img->ppi_y == cases[k].ppi);
        /* Also through the generic entry point. */
        huella_image *same;
        huella_error err;
        assert_int_equal(huella_image_decode(data, len, NULL, &same, &err), HUELLA_OK);
        assert_memory_equal(same->pixels, img->pixels, (size_t)img->width * img->height);
        huella_image_free(same);
        huella_image_free(img);
        free(data);
    }
}

static void test_every_record_with_jpeg_2000(void **state)
{
    (void)state;
    REQUIRE_DATA();
    /* Every record of the MOSIP set that embeds JPEG 2000 (the others hold
     * WSQ): fingers, irises, faces, the exception photo. */
    const char *dirs[] = {"Auth", "Registration"};
    unsigned n = 0;
    for (size_t d = 0; d < 2; d++) {
        char rel[256];
        snprintf(rel, sizeof(rel), "interchange/iso19794-mosip/%s", dirs[d]);
        DIR *dir = opendir(test_data(rel));
        assert_non_null(dir);
        struct dirent *e;
        while ((e = readdir(dir)) != NULL) {
            size_t nl = strlen(e->d_name);
            if (nl < 5 || strcmp(e->d_name + nl - 4, ".iso") != 0)
                continue;
            char file[512];
            snprintf(file, sizeof(file), "%s/%.255s", rel, e->d_name);
            size_t len;
            uint8_t *data = load_data(file, &len);
            size_t off = find_jp2(data, len);
            if (off < len) {
                huella_image *img = decode_ok(huella_image_decode_jp2, data + off, len - off);
                huella_image_free(img);
                n++;
            }
            free(data);
        }
        closedir(dir);
    }
    assert_int_equal(n, 29);
}

static void test_raw_codestream_equals_jp2(void **state)
{
    (void)state;
    REQUIRE_DATA();
    size_t len, cs_len;
    uint8_t *jp2 = load_embedded("interchange/iso19794-mosip/Auth/Face.iso", &len);
    uint8_t *cs = codestream_of(jp2, len, &cs_len);
    assert_int_equal(cs[0], 0xff);
    assert_int_equal(cs[1], 0x4f);
    huella_image *a = decode_ok(huella_image_decode_jp2, jp2, len);
    huella_image *b = decode_ok(huella_image_decode_jp2, cs, cs_len);
    assert_int_equal(max_abs_diff(a, b), 0);
    assert_true(b->ppi_x == 0 && b->ppi_y == 0); /* no boxes, no resolution */
    huella_image_free(a);
    huella_image_free(b);
    free(cs);
    free(jp2);
}

/* ---- Limits and damage --------------------------------------------------- */

static void test_limits_checked_before_openjpeg(void **state)
{
    (void)state;
    size_t len;
    uint8_t *cs = grey_codestream(40, 30, &len, NULL);
    /* SIZ at 2: FF51, Lsiz, Rsiz, Xsiz (at 8), Ysiz (at 12), XOsiz, YOsiz,
     * XTsiz (at 24), YTsiz (at 28). */
    assert_int_equal(huella_load_u16be(cs + 2), 0xff51);
    assert_int_equal(huella_load_u32be(cs + 8), 40);
    uint8_t *copy = malloc(len);
    huella_error err;

    memcpy(copy, cs, len);
    huella_store_u32be(copy + 8, 100000);
    huella_store_u32be(copy + 12, 100000);
    huella_store_u32be(copy + 24, 100000);
    huella_store_u32be(copy + 28, 100000);
    expect_reject(huella_image_decode_jp2, copy, len, NAME, &err);
    assert_string_equal(err.message,
                        "JPEG 2000: image 100000 x 100000 exceeds the limit of 32768 pixels "
                        "per side");

    /* Within the size limits but 40 x 30 tiles of 1 pixel... fine; 1-pixel
     * tiles over 300 x 300 are 90000 tiles, more than Isot can number. */
    memcpy(copy, cs, len);
    huella_store_u32be(copy + 8, 300);
    huella_store_u32be(copy + 12, 300);
    huella_store_u32be(copy + 24, 1);
    huella_store_u32be(copy + 28, 1);
    expect_reject(huella_image_decode_jp2, copy, len, NAME, &err);
    assert_non_null(strstr(err.message, "90000 tiles"));

    /* The caller's limits. */
    huella_image *img;
    huella_image_limits lim = {.max_pixels = 1000};
    assert_int_equal(huella_image_decode_jp2(cs, len, &lim, &img, &err), HUELLA_E_INPUT);
    assert_null(img);
    assert_non_null(strstr(err.message, "JPEG 2000: image 40 x 30 has 1200 pixels"));
    free(copy);
    free(cs);
}

static void test_truncated_streams_rejected(void **state)
{
    (void)state;
    REQUIRE_DATA();
    const char *files[] = {"interchange/iso19794-mosip/Auth/Left_Index.iso",
                           "interchange/iso19794-mosip/Auth/Face.iso",
                           "interchange/iso19794-mosip/Registration/Left_Iris.iso"};
    for (size_t k = 0; k < sizeof(files) / sizeof(files[0]); k++) {
        size_t len, cs_len;
        uint8_t *jp2 = load_embedded(files[k], &len);
        check_truncations(huella_image_decode_jp2, jp2, len, NAME);
        /* Without boxes only the codestream itself can tell. */
        uint8_t *cs = codestream_of(jp2, len, &cs_len);
        check_truncations(huella_image_decode_jp2, cs, cs_len, NAME);
        free(cs);
        free(jp2);
    }
}

static void test_damaged_streams_rejected(void **state)
{
    (void)state;
    REQUIRE_DATA();
    size_t len;
    uint8_t *data = load_embedded("interchange/iso19794-mosip/Auth/Left_Index.iso", &len);
    uint8_t *copy = malloc(len);
    huella_error err;
    for (size_t i = 0; i < 12; i++) {
        memcpy(copy, data, len);
        copy[i] ^= 0x08;
        expect_reject(huella_image_decode_jp2, copy, len, NAME, &err);
    }
    free(copy);
    /* Boxes, SIZ, COD, QCD and the first packets. */
    check_flips(huella_image_decode_jp2, data, len, 220, NAME);
    free(data);
}

static void test_other_formats_rejected(void **state)
{
    (void)state;
    static const uint8_t jpeg[] = {0xff, 0xd8, 0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1};
    huella_error err;
    expect_reject(huella_image_decode_jp2, jpeg, sizeof(jpeg), NAME, &err);
    static const uint8_t soc_siz_only[] = {0xff, 0x4f, 0xff, 0x51, 0, 41};
    expect_reject(huella_image_decode_jp2, soc_siz_only, sizeof(soc_siz_only), NAME, &err);
    assert_non_null(strstr(err.message, "truncated SIZ"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grey_j2k_and_jp2),
        cmocka_unit_test(test_precisions_and_signs_rescale),
        cmocka_unit_test(test_rgb_uses_bt601_luma),
        cmocka_unit_test(test_alpha_from_cdef_over_white),
        cmocka_unit_test(test_subsampled_components),
        cmocka_unit_test(test_too_many_components_unsupported),
        cmocka_unit_test(test_resolution_boxes),
        cmocka_unit_test(test_box_structure_errors),
        cmocka_unit_test(test_iso_19794_records),
        cmocka_unit_test(test_every_record_with_jpeg_2000),
        cmocka_unit_test(test_raw_codestream_equals_jp2),
        cmocka_unit_test(test_limits_checked_before_openjpeg),
        cmocka_unit_test(test_truncated_streams_rejected),
        cmocka_unit_test(test_damaged_streams_rejected),
        cmocka_unit_test(test_other_formats_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
