/*
 * test_image.c - specification of the image object and the format-neutral
 * entry points (src/image/image.c): new/free/clone, size limits, format
 * detection and dispatch, raw payloads, reading and writing files, the
 * BT.601 luma; and, across all decoders, that the same picture in four
 * formats decodes alike, that every image in the development data decodes,
 * and that concurrent decodes do not disturb each other.
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "image_support.h"

#include <dirent.h>
#include <pthread.h>
#include <sys/stat.h>

/* ---- The object ---------------------------------------------------------- */

static void test_new_free_clone(void **state)
{
    (void)state;
    huella_image *img = NULL;
    huella_error err;
    assert_int_equal(huella_image_new(7, 5, &img, &err), HUELLA_OK);
    assert_int_equal(img->width, 7);
    assert_int_equal(img->height, 5);
    for (int i = 0; i < 35; i++)
        assert_int_equal(img->pixels[i], 0);
    assert_true(img->ppi_x == 0 && img->ppi_y == 0);
    for (int i = 0; i < 35; i++)
        img->pixels[i] = (uint8_t)i;
    img->ppi_x = 500;
    img->ppi_y = 501;
    img->format = HUELLA_IMAGE_BMP;
    img->source_channels = 3;

    huella_image *copy = NULL;
    assert_int_equal(huella_image_clone(img, &copy, &err), HUELLA_OK);
    assert_ptr_not_equal(copy->pixels, img->pixels);
    assert_memory_equal(copy->pixels, img->pixels, 35);
    assert_true(copy->ppi_x == 500 && copy->ppi_y == 501);
    assert_int_equal(copy->format, HUELLA_IMAGE_BMP);
    assert_int_equal(copy->source_channels, 3);
    copy->pixels[0] = 99;
    assert_int_equal(img->pixels[0], 0);
    huella_image_free(copy);
    huella_image_free(img);
    huella_image_free(NULL);

    assert_int_equal(huella_image_new(0, 5, &img, &err), HUELLA_E_INPUT);
    assert_null(img);
    assert_int_equal(huella_image_new(40000, 5, &img, &err), HUELLA_E_INPUT);
    assert_null(img);
    assert_int_equal(huella_image_new(5, 5, NULL, &err), HUELLA_E_INPUT);
    assert_int_equal(huella_image_clone(NULL, &copy, &err), HUELLA_E_INPUT);
    assert_null(copy);
    /* NULL error pointers are always allowed. */
    assert_int_equal(huella_image_new(0, 0, &img, NULL), HUELLA_E_INPUT);
}

static void test_check_size(void **state)
{
    (void)state;
    huella_error err;
    assert_int_equal(huella_image_check_size(32768, 4096, NULL, &err), HUELLA_OK);
    assert_int_equal(huella_image_check_size(70000, 300, NULL, &err), HUELLA_E_INPUT);
    assert_string_equal(err.message,
                        "image 70000 x 300 exceeds the limit of 32768 pixels per side");
    assert_int_equal(huella_image_check_size(32768, 32768, NULL, &err), HUELLA_E_INPUT);
    assert_string_equal(err.message,
                        "image 32768 x 32768 has 1073741824 pixels, more than the limit of "
                        "134217728");
    assert_int_equal(huella_image_check_size(0, 10, NULL, &err), HUELLA_E_INPUT);
    assert_string_equal(err.message, "image 0 x 10 is empty");
    assert_int_equal(huella_image_check_size(UINT64_MAX, UINT64_MAX, NULL, &err), HUELLA_E_INPUT);

    huella_image_limits lim = {.max_width = 100, .max_height = 50};
    assert_int_equal(huella_image_check_size(100, 50, &lim, &err), HUELLA_OK);
    assert_int_equal(huella_image_check_size(100, 51, &lim, &err), HUELLA_E_INPUT);
    assert_string_equal(err.message, "image 100 x 51 exceeds the limit of 100 x 50 pixels");
    /* Zero fields take the defaults. */
    huella_image_limits px = {.max_pixels = 1000};
    assert_int_equal(huella_image_check_size(30000, 1, &px, &err), HUELLA_E_INPUT);
    assert_int_equal(huella_image_check_size(1000, 1, &px, &err), HUELLA_OK);
    assert_int_equal(huella_image_check_size(40000, 1, &px, &err), HUELLA_E_INPUT);
}

static void test_luma_is_bt601(void **state)
{
    (void)state;
    for (unsigned g = 0; g < 256; g++)
        assert_int_equal(huella_luma(g, g, g), g);
    assert_int_equal(huella_luma(255, 0, 0), 76);  /* 76.245 */
    assert_int_equal(huella_luma(0, 255, 0), 150); /* 149.685 */
    assert_int_equal(huella_luma(0, 0, 255), 29);  /* 29.07 */
    assert_int_equal(huella_luma(200, 100, 50), 124);
}

/* ---- Detection and dispatch ---------------------------------------------- */

static void test_detect(void **state)
{
    (void)state;
    const struct {
        const char *bytes;
        size_t len;
        huella_image_format format;
    } cases[] = {
        {"\x89PNG\r\n\x1a\n", 8, HUELLA_IMAGE_PNG},
        {"\xff\xd8\xff\xe0", 4, HUELLA_IMAGE_JPEG},
        {"II*\0", 4, HUELLA_IMAGE_TIFF},
        {"MM\0*", 4, HUELLA_IMAGE_TIFF},
        {"II+\0", 4, HUELLA_IMAGE_TIFF}, /* BigTIFF */
        {"\0\0\0\x0cjP  \r\n\x87\n", 12, HUELLA_IMAGE_JP2},
        {"\xff\x4f\xff\x51", 4, HUELLA_IMAGE_JP2},
        {"\xff\xa0\xff\xa8", 4, HUELLA_IMAGE_WSQ},
        {"BM\0\0\0\0\0\0\0\0\x36\0\0\0\x28\0\0\0", 18, HUELLA_IMAGE_BMP},
        {"BM\0\0\0\0\0\0\0\0\x36\0\0\0\x29\0\0\0", 18, HUELLA_IMAGE_UNKNOWN},
        {"P5\n", 3, HUELLA_IMAGE_PNM},
        {"P1 ", 3, HUELLA_IMAGE_PNM},
        {"P6#", 3, HUELLA_IMAGE_PNM},
        {"P7\n", 3, HUELLA_IMAGE_UNKNOWN},
        {"P5x", 3, HUELLA_IMAGE_UNKNOWN},
        {"\x89PNG\r\n\x1a", 7, HUELLA_IMAGE_UNKNOWN},
        {"GIF89a", 6, HUELLA_IMAGE_UNKNOWN},
        {"", 0, HUELLA_IMAGE_UNKNOWN},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
        assert_int_equal(huella_image_detect((const uint8_t *)cases[k].bytes, cases[k].len),
                         cases[k].format);
    assert_int_equal(huella_image_detect(NULL, 10), HUELLA_IMAGE_UNKNOWN);
}

static void test_format_names(void **state)
{
    (void)state;
    assert_string_equal(huella_image_format_name(HUELLA_IMAGE_PNG), "PNG");
    assert_string_equal(huella_image_format_name(HUELLA_IMAGE_JPEG), "JPEG");
    assert_string_equal(huella_image_format_name(HUELLA_IMAGE_TIFF), "TIFF");
    assert_string_equal(huella_image_format_name(HUELLA_IMAGE_JP2), "JPEG 2000");
    assert_string_equal(huella_image_format_name(HUELLA_IMAGE_BMP), "BMP");
    assert_string_equal(huella_image_format_name(HUELLA_IMAGE_PNM), "PNM");
    assert_string_equal(huella_image_format_name(HUELLA_IMAGE_WSQ), "WSQ");
    assert_string_equal(huella_image_format_name(HUELLA_IMAGE_RAW), "raw");
    assert_string_equal(huella_image_format_name(HUELLA_IMAGE_UNKNOWN), "unknown");
    assert_string_equal(huella_image_format_name((huella_image_format)99), "unknown");
}

static void test_decode_dispatches_by_content(void **state)
{
    (void)state;
    huella_error err;
    huella_image *img = (huella_image *)(uintptr_t)1;
    assert_int_equal(huella_image_decode((const uint8_t *)"GIF89a....", 10, NULL, &img, &err),
                     HUELLA_E_INPUT);
    assert_null(img);
    assert_string_equal(err.message,
                        "image: unrecognised format (first bytes 47 49 46 38 39 61 "
                        "2e 2e); expected PNG, JPEG, TIFF, JPEG 2000, BMP, PNM or WSQ");
    assert_int_equal(huella_image_decode((const uint8_t *)"", 0, NULL, &img, &err), HUELLA_E_INPUT);
    assert_int_equal(huella_image_decode(NULL, 0, NULL, &img, &err), HUELLA_E_INPUT);
    const uint8_t wsq[] = {0xff, 0xa0, 0xff, 0xa8, 0, 10};
    assert_int_equal(huella_image_decode(wsq, sizeof(wsq), NULL, &img, &err), HUELLA_E_INPUT);
    assert_non_null(strstr(err.message, "WSQ"));

    img = decode_ok(huella_image_decode, (const uint8_t *)"P2 2 1 255 7 9", 14);
    assert_int_equal(img->format, HUELLA_IMAGE_PNM);
    assert_int_equal(img->pixels[1], 9);
    huella_image_free(img);
}

static void test_wsq_file_recognised(void **state)
{
    (void)state;
    REQUIRE_DATA();
    size_t len;
    uint8_t *data = load_data("finger/sourceafis-samples/wsq-original.wsq", &len);
    assert_int_equal(huella_image_detect(data, len), HUELLA_IMAGE_WSQ);
    huella_image *img;
    huella_error err;
    assert_int_equal(huella_image_decode(data, len, NULL, &img, &err), HUELLA_OK);
    assert_int_equal(img->format, HUELLA_IMAGE_WSQ);
    huella_image_free(img);
    free(data);
}

static void test_decode_raw(void **state)
{
    (void)state;
    uint8_t px[6] = {1, 2, 3, 4, 5, 6};
    huella_image *img = NULL;
    huella_error err;
    assert_int_equal(huella_image_decode_raw(px, 6, 3, 2, NULL, &img, &err), HUELLA_OK);
    assert_int_equal(img->format, HUELLA_IMAGE_RAW);
    assert_int_equal(img->width, 3);
    assert_memory_equal(img->pixels, px, 6);
    assert_true(img->ppi_x == 0);
    huella_image_free(img);
    assert_int_equal(huella_image_decode_raw(px, 5, 3, 2, NULL, &img, &err), HUELLA_E_INPUT);
    assert_null(img);
    assert_string_equal(err.message, "raw: 5 bytes of data for a 3 x 2 image, which needs 6");
    assert_int_equal(huella_image_decode_raw(px, 6, 0, 2, NULL, &img, &err), HUELLA_E_INPUT);
    assert_int_equal(huella_image_decode_raw(px, 6, 100000, 1, NULL, &img, &err), HUELLA_E_INPUT);
    assert_non_null(strstr(err.message, "raw: image 100000 x 1 exceeds"));
}

/* ---- Files --------------------------------------------------------------- */

static void test_read_names_the_path(void **state)
{
    (void)state;
    huella_image *img = (huella_image *)(uintptr_t)1;
    huella_error err;
    const char *missing = test_tmpfile("no-such-image.png");
    assert_int_equal(huella_image_read(missing, NULL, &img, &err), HUELLA_E_NOTFOUND);
    assert_null(img);
    assert_non_null(strstr(err.message, missing));

    const char *bad = test_tmpfile("bad.png");
    assert_true(test_write_file(bad, "\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", 16));
    assert_int_equal(huella_image_read(bad, NULL, &img, &err), HUELLA_E_INPUT);
    assert_null(img);
    char expect[600];
    snprintf(expect, sizeof(expect), "%s: PNG: ", bad);
    assert_memory_equal(err.message, expect, strlen(expect));

    /* Limits pass through. */
    const char *pgm = test_tmpfile("small.pgm");
    assert_true(test_write_file(pgm, "P5 4 4 255\n0123456789abcdef", 27));
    huella_image_limits lim = {.max_width = 3};
    assert_int_equal(huella_image_read(pgm, &lim, &img, &err), HUELLA_E_INPUT);
    assert_non_null(strstr(err.message, "exceeds the limit of 3 x 32768"));
    assert_int_equal(huella_image_read(pgm, NULL, &img, &err), HUELLA_OK);
    assert_int_equal(img->pixels[15], 'f');
    huella_image_free(img);
}

static void test_write_by_extension(void **state)
{
    (void)state;
    huella_image *img;
    huella_error err;
    assert_int_equal(huella_image_new(50, 40, &img, &err), HUELLA_OK);
    uint32_t seed = 1;
    for (size_t i = 0; i < 2000; i++)
        img->pixels[i] = (uint8_t)test_rand(&seed);
    img->ppi_x = 500;
    img->ppi_y = 500;
    const char *names[] = {"out.png", "OUT.PNG", "out.pgm", "out.Pgm"};
    for (size_t k = 0; k < 4; k++) {
        const char *path = test_tmpfile(names[k]);
        assert_int_equal(huella_image_write(img, path, &err), HUELLA_OK);
        huella_image *back;
        assert_int_equal(huella_image_read(path, NULL, &back, &err), HUELLA_OK);
        bool png = k < 2;
        assert_int_equal(back->format, png ? HUELLA_IMAGE_PNG : HUELLA_IMAGE_PNM);
        assert_memory_equal(back->pixels, img->pixels, 2000);
        /* PNG keeps the resolution; PGM has nowhere to put it. */
        assert_true(back->ppi_x == (png ? 500 : 0));
        huella_image_free(back);
    }
    const char *odd = test_tmpfile("out.gif");
    assert_int_equal(huella_image_write(img, odd, &err), HUELLA_E_INPUT);
    assert_non_null(strstr(err.message, "use .png or .pgm"));
    assert_int_equal(huella_image_write(img, test_tmpfile(".png"), &err), HUELLA_OK);
    assert_int_equal(huella_image_write(NULL, test_tmpfile("x.png"), &err), HUELLA_E_INPUT);
    huella_image_free(img);
}

/* ---- Across decoders ------------------------------------------------------ */

static void test_same_fingerprint_in_four_formats(void **state)
{
    (void)state;
    REQUIRE_DATA();
    const char *files[] = {
        "finger/sourceafis-samples/probe.png", "finger/sourceafis-samples/probe.bmp",
        "finger/sourceafis-samples/probe.tiff", "finger/sourceafis-samples/probe.jpeg"};
    const huella_image_format formats[] = {HUELLA_IMAGE_PNG, HUELLA_IMAGE_BMP, HUELLA_IMAGE_TIFF,
                                           HUELLA_IMAGE_JPEG};
    huella_image *img[4];
    for (int k = 0; k < 4; k++) {
        img[k] = read_ok(files[k]);
        assert_int_equal(img[k]->width, 388);
        assert_int_equal(img[k]->height, 374);
        assert_int_equal(img[k]->format, formats[k]);
    }
    /* The lossless three agree exactly; JPEG closely. */
    assert_int_equal(max_abs_diff(img[0], img[1]), 0);
    assert_int_equal(max_abs_diff(img[0], img[2]), 0);
    double mad = mean_abs_diff(img[0], img[3]);
    print_message("probe: PNG = BMP = TIFF; JPEG mean abs diff %.3f\n", mad);
    assert_true(mad < 3.0);
    for (int k = 0; k < 4; k++)
        huella_image_free(img[k]);
}

typedef struct walk_stats {
    unsigned files[8];
    uint64_t ns[8];
    unsigned failed;
} walk_stats;

static bool wanted(const char *name)
{
    static const char *const exts[] = {"png", "jpg", "jpeg", "tif", "tiff", "bmp", "pgm"};
    const char *dot = strrchr(name, '.');
    if (dot == NULL)
        return false;
    for (size_t k = 0; k < sizeof(exts) / sizeof(exts[0]); k++) {
        const char *e = exts[k];
        const char *p = dot + 1;
        while (*p != '\0' && *e != '\0' && (*p | 0x20) == *e) {
            p++;
            e++;
        }
        if (*p == '\0' && *e == '\0')
            return true;
    }
    return false;
}

static void walk(const char *dir, walk_stats *st)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        size_t n = strlen(dir) + strlen(e->d_name) + 2;
        char *path = malloc(n);
        snprintf(path, n, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (lstat(path, &sb) != 0) {
            free(path);
            continue;
        }
        if (S_ISDIR(sb.st_mode)) {
            walk(path, st);
        } else if (S_ISREG(sb.st_mode) && wanted(e->d_name)) {
            huella_image *img = NULL;
            huella_error err;
            uint64_t t0 = huella_now_ns();
            huella_status s = huella_image_read(path, NULL, &img, &err);
            uint64_t t1 = huella_now_ns();
            if (s != HUELLA_OK) {
                print_error("%s\n", err.message);
                st->failed++;
            } else {
                st->files[img->format]++;
                st->ns[img->format] += t1 - t0;
                huella_image_free(img);
            }
        }
        free(path);
    }
    closedir(d);
}

static void test_every_image_in_the_data_decodes(void **state)
{
    (void)state;
    REQUIRE_DATA();
    walk_stats st;
    memset(&st, 0, sizeof(st));
    uint64_t t0 = huella_now_ns();
    walk(test_data(""), &st);
    double secs = (double)(huella_now_ns() - t0) / 1e9;
    unsigned total = 0;
    for (int f = 0; f < 8; f++) {
        if (st.files[f] == 0)
            continue;
        total += st.files[f];
        print_message("%-5s %5u files, %.3f ms each\n",
                      huella_image_format_name((huella_image_format)f), st.files[f],
                      (double)st.ns[f] / 1e6 / st.files[f]);
    }
    print_message("%u images decoded in %.2f s, %u failed\n", total, secs, st.failed);
    assert_int_equal(st.failed, 0);
    assert_true(total > 5000);
}

/* Decodes in parallel threads give what a lone decode gives. */
typedef struct thread_job {
    const uint8_t *data[5];
    size_t len[5];
    uint64_t expect[5];
    bool ok;
} thread_job;

static uint64_t checksum(const huella_image *img)
{
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < (size_t)img->width * img->height; i++)
        h = (h ^ img->pixels[i]) * 1099511628211u;
    return h;
}

static void *decode_all(void *arg)
{
    thread_job *job = arg;
    job->ok = true;
    for (int round = 0; round < 20; round++)
        for (int k = 0; k < 5; k++) {
            huella_image *img = NULL;
            if (huella_image_decode(job->data[k], job->len[k], NULL, &img, NULL) != HUELLA_OK ||
                checksum(img) != job->expect[k])
                job->ok = false;
            huella_image_free(img);
            /* And a failing decode in between. */
            huella_error err;
            if (huella_image_decode(job->data[k], job->len[k] / 2, NULL, &img, &err) == HUELLA_OK)
                job->ok = false;
        }
    return NULL;
}

static void test_concurrent_decodes(void **state)
{
    (void)state;
    REQUIRE_DATA();
    const char *files[5] = {"finger/sourceafis-samples/probe.png",
                            "finger/sourceafis-samples/probe.jpeg",
                            "finger/sourceafis-samples/probe.tiff",
                            "finger/sourceafis-samples/probe.bmp", "face/orl/s1/1.pgm"};
    thread_job job;
    memset(&job, 0, sizeof(job));
    uint8_t *data[5];
    for (int k = 0; k < 5; k++) {
        data[k] = load_data(files[k], &job.len[k]);
        job.data[k] = data[k];
        huella_image *img = decode_ok(huella_image_decode, data[k], job.len[k]);
        job.expect[k] = checksum(img);
        huella_image_free(img);
    }
    thread_job jobs[4];
    pthread_t threads[4];
    for (int t = 0; t < 4; t++) {
        jobs[t] = job;
        assert_int_equal(pthread_create(&threads[t], NULL, decode_all, &jobs[t]), 0);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(threads[t], NULL);
        assert_true(jobs[t].ok);
    }
    for (int k = 0; k < 5; k++)
        free(data[k]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_free_clone),
        cmocka_unit_test(test_check_size),
        cmocka_unit_test(test_luma_is_bt601),
        cmocka_unit_test(test_detect),
        cmocka_unit_test(test_format_names),
        cmocka_unit_test(test_decode_dispatches_by_content),
        cmocka_unit_test(test_wsq_file_recognised),
        cmocka_unit_test(test_decode_raw),
        cmocka_unit_test(test_read_names_the_path),
        cmocka_unit_test(test_write_by_extension),
        cmocka_unit_test(test_same_fingerprint_in_four_formats),
        cmocka_unit_test(test_every_image_in_the_data_decodes),
        cmocka_unit_test(test_concurrent_decodes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
