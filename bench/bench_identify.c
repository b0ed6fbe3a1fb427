/*
 * bench_identify.c - speed, memory and accuracy of multimodal 1:N
 * identification (src/gallery) at scale, on galleries built from real
 * templates.
 *
 * Fingers.  The base templates are the 320 FVC2002 DB1_B..DB4_B
 * ISO/IEC 19794-2 records of the development data (40 fingers x 8
 * impressions).  Each of the N enrolled persons (default 100,000) gets ten
 * fingers, each a distinct synthetic finger: the image is cut into four
 * quadrants about its centre and each quadrant takes the minutiae of a
 * different randomly chosen base impression, rotated (+-30 degrees) and
 * translated (+-20 px) at random; then 10 % of the minutiae are dropped
 * and the rest jittered (+-2 px, +-0.1 rad).  So every gallery finger has
 * the local statistics of real minutiae and no two are the same finger.
 * Four more persons are the mates: person d holds the first impression
 * of the ten fingers of FVC2002 DBd_B (finger 101 + k at position k + 1),
 * perturbed the same way (rotation +-20 degrees, translation +-20 px, 10 %
 * dropout, jitter), and the probes are impressions 2..8 of those fingers,
 * unmodified: 28 real ten-finger mated searches.
 *
 * Irises.  The base codes are the first image of each of the 108
 * CASIA-v1 eyes, encoded by huella_iris_encode.  Each of the M enrolled
 * persons (default 1,000,000) has two synthetic eyes: each row of the code
 * (and mask) from a different random base, all rotated by the same random
 * 0, +-4 or +-8 angular positions, with 6 % of the code bits flipped.
 * Ten mate persons hold real codes (eye 2k+1 as right, 2k+2 as left,
 * first image); the probes are their second-session images.
 *
 * Reports (one JSON object per line): build time, memory per person,
 * search time (median and max over the probes) with the cascade and
 * exhaustively, comparisons, rank-1 in both cases.
 *
 * usage: bench_identify [--persons N] [--iris-persons M] [--exhaustive K]
 *                       [--shortlist L] [--iris-depth D] [--stage1-one yes]
 *                       [--threads T] [--only finger|iris]
 */
#define _POSIX_C_SOURCE 200809L
#include "huella/gallery.h"
#include "huella/image.h"

#include "gallery/gallery_internal.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N_DB       4
#define N_FINGERS  10
#define N_IMPR     8
#define N_BASE     (N_DB * N_FINGERS * N_IMPR)
#define MATE_ID    1000000000000ULL
#define IRIS_BASE  108
#define IRIS_MATES 10
#define PI         3.14159265358979323846

static uint64_t rnd(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double unif(uint64_t *s, double lo, double hi)
{
    return lo + (hi - lo) * (double)(rnd(s) >> 11) / 9007199254740992.0;
}

static huella_finger_template *base[N_BASE]; /* [db][finger][impression] */

static huella_finger_template *base_at(int db, int finger, int impr)
{
    return base[(db * N_FINGERS + finger) * N_IMPR + impr];
}

static int load_bases(void)
{
    for (int d = 0; d < N_DB; d++)
        for (int f = 0; f < N_FINGERS; f++)
            for (int i = 0; i < N_IMPR; i++) {
                char path[1024];
                snprintf(path, sizeof path, "%s/finger/fvc2002/DB%d_B/%d_%d.iso", HUELLA_DATA_DIR,
                         d + 1, 101 + f, i + 1);
                uint8_t *data;
                size_t len;
                huella_error err;
                if (huella_file_read(path, 1 << 20, &data, &len, &err) != HUELLA_OK ||
                    huella_finger_template_load(data, len, &base[(d * N_FINGERS + f) * N_IMPR + i],
                                                &err) != HUELLA_OK) {
                    fprintf(stderr, "bench_identify: %s\n", err.message);
                    return -1;
                }
                free(data);
            }
    return 0;
}

/* Add minutia m of src moved by (rotation c, s about the centre, then
 * translation) and jittered, when it stays inside the image and (q >= 0)
 * falls in quadrant q. */
static void add_moved(huella_finger_template *out, const huella_minutia *m, double ang, double tx,
                      double ty, int q, uint64_t *rs)
{
    double cx = out->width / 2.0, cy = out->height / 2.0;
    double c = cos(ang), s = sin(ang);
    double dx = m->x - cx, dy = m->y - cy;
    double x = cx + c * dx + s * dy + tx + unif(rs, -2, 2);
    double y = cy - s * dx + c * dy + ty + unif(rs, -2, 2);
    if (q >= 0 && ((x >= cx) != (q & 1) || (y >= cy) != ((q >> 1) & 1)))
        return;
    if (x < 0 || y < 0 || x >= out->width || y >= out->height)
        return;
    double dir = fmod(m->direction + ang + unif(rs, -0.1, 0.1) + 4 * PI, 2 * PI);
    if (!(dir < 2 * PI))
        dir = 0;
    huella_minutia n = {(float)x, (float)y, (float)dir, m->type, m->quality};
    if (out->n_minutiae < HUELLA_FINGER_MAX_MINUTIAE)
        huella_finger_template_add(out, &n, NULL);
}

static huella_finger_template *empty_like(const huella_finger_template *b)
{
    huella_finger_template *t;
    if (huella_finger_template_new(&t, NULL) != HUELLA_OK)
        return NULL;
    t->width = b->width;
    t->height = b->height;
    return t;
}

/* A real impression, moved and perturbed (the mates' enrolments). */
static huella_finger_template *perturbed(const huella_finger_template *b, uint64_t *rs)
{
    huella_finger_template *t = empty_like(b);
    double ang = unif(rs, -0.35, 0.35), tx = unif(rs, -20, 20), ty = unif(rs, -20, 20);
    for (size_t i = 0; t != NULL && i < b->n_minutiae; i++)
        if (unif(rs, 0, 1) >= 0.10)
            add_moved(t, &b->minutiae[i], ang, tx, ty, -1, rs);
    return t;
}

/* A synthetic finger: four quadrants from four random base impressions. */
static huella_finger_template *chimera(uint64_t *rs)
{
    const huella_finger_template *frame = base[rnd(rs) % N_BASE];
    huella_finger_template *t = empty_like(frame);
    for (int q = 0; t != NULL && q < 4; q++) {
        const huella_finger_template *b = base[rnd(rs) % N_BASE];
        double ang = unif(rs, -0.52, 0.52), tx = unif(rs, -20, 20), ty = unif(rs, -20, 20);
        for (size_t i = 0; i < b->n_minutiae; i++)
            if (unif(rs, 0, 1) >= 0.10)
                add_moved(t, &b->minutiae[i], ang, tx, ty, q, rs);
    }
    return t;
}

typedef struct build_job {
    huella_gallery *g;
    size_t persons;
    uint64_t seed;
    int failed;
} build_job;

static void finger_build_range(void *ctx, size_t b, size_t e)
{
    build_job *j = ctx;
    for (size_t p = b; p < e; p++) {
        uint64_t rs = j->seed ^ (p * 0x2545F4914F6CDD1DULL);
        for (unsigned f = 1; f <= N_FINGERS; f++) {
            huella_finger_template *t = chimera(&rs);
            if (t == NULL ||
                huella_gallery_add_finger(j->g, p + 1, p * 16 + f, f, t, NULL) != HUELLA_OK)
                j->failed = 1;
            huella_finger_template_free(t);
        }
    }
}

/* CPU time of the whole process (all threads): the fair measure on a
 * machine shared with other jobs. */
static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof(double), cmp_d);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Run the probes; rank of the mate (0 = not in the top 20). */
static void run_probes(huella_gallery *g, huella_probe *probes, const uint64_t *mates, size_t n,
                       const huella_identify_options *o, const char *label, size_t persons)
{
    double *sec = malloc(n * sizeof(double)), *cpu = malloc(n * sizeof(double));
    size_t rank1 = 0, strict = 0, review = 0, comparisons = 0, found = 0;
    double max = 0;
    int cascaded = 0;
    for (size_t i = 0; i < n; i++) {
        huella_identify_result *r;
        huella_error err;
        uint64_t c0 = cpu_ns();
        if (huella_gallery_identify(g, &probes[i], o, &r, &err) != HUELLA_OK) {
            fprintf(stderr, "bench_identify: %s\n", err.message);
            exit(1);
        }
        sec[i] = r->seconds;
        cpu[i] = (double)(cpu_ns() - c0) / 1e9;
        max = r->seconds > max ? r->seconds : max;
        comparisons += r->comparisons;
        cascaded = r->cascaded;
        for (size_t c = 0; c < r->n; c++)
            if (r->candidates[c].person == mates[i]) {
                rank1 += c == 0;
                found++;
                strict += r->candidates[c].strict;
                review += r->candidates[c].review;
            }
        huella_identify_result_free(r);
    }
    printf(
        "{\"bench\":\"identify\",\"search\":\"%s\",\"persons\":%zu,\"probes\":%zu,"
        "\"cascaded\":%s,\"seconds_median\":%.4f,\"seconds_max\":%.4f,\"cpu_seconds_median\":%.4f,"
        "\"comparisons_mean\":%.0f,\"rank1\":%.4f,\"mate_in_top20\":%zu,"
        "\"mate_strict\":%zu,\"mate_review\":%zu}\n",
        label, persons, n, cascaded ? "true" : "false", median(sec, n), max, median(cpu, n),
        (double)comparisons / (double)n, (double)rank1 / (double)n, found, strict, review);
    fflush(stdout);
    free(sec);
    free(cpu);
}

static int bench_fingers(size_t persons, size_t exhaustive, size_t shortlist, bool stage1_one,
                         unsigned threads)
{
    if (load_bases() != 0)
        return 1;
    huella_gallery *g;
    if (huella_gallery_new(&g, NULL) != HUELLA_OK)
        return 1;
    huella_gallery_set_threads(g, threads);
    uint64_t t0 = huella_now_ns();
    build_job j = {g, persons, 0x5eedULL, 0};
    gallery_parallel(threads, persons, 64, finger_build_range, &j);
    uint64_t rs = 42;
    for (int d = 0; d < N_DB; d++)
        for (int f = 0; f < N_FINGERS; f++) {
            huella_finger_template *t = perturbed(base_at(d, f, 0), &rs);
            if (t == NULL ||
                huella_gallery_add_finger(g, MATE_ID + (uint64_t)d, 0, (unsigned)f + 1, t, NULL))
                j.failed = 1;
            huella_finger_template_free(t);
        }
    if (j.failed) {
        fprintf(stderr, "bench_identify: building the finger gallery failed\n");
        return 1;
    }
    double build = (double)(huella_now_ns() - t0) / 1e9;
    printf("{\"bench\":\"identify\",\"gallery\":\"finger\",\"persons\":%zu,\"fingers\":%zu,"
           "\"build_seconds\":%.1f,\"bytes_per_person\":%.0f,\"threads\":%u}\n",
           huella_gallery_count(g), huella_gallery_count_slot(g, 0) * 10, build,
           huella_gallery_bytes_per_person(g), threads);
    fflush(stdout);
    size_t n = N_DB * (N_IMPR - 1);
    huella_probe *probes = calloc(n, sizeof(huella_probe));
    uint64_t *mates = malloc(n * sizeof(uint64_t));
    size_t k = 0;
    for (int d = 0; d < N_DB; d++)
        for (int i = 1; i < N_IMPR; i++, k++) {
            for (int f = 0; f < N_FINGERS; f++)
                probes[k].finger[f] = base_at(d, f, i);
            mates[k] = MATE_ID + (uint64_t)d;
        }
    huella_identify_options o = {.shortlist = shortlist};
    run_probes(g, probes, mates, n, &o,
               "ten fingers, cascade (default: 2 fingers against everyone, "
               "shortlist)",
               persons);
    huella_identify_options o2 = {.shortlist = shortlist,
                                  .prefilter = 10 * (shortlist > 0 ? shortlist : 1000)};
    run_probes(g, probes, mates, n, &o2,
               "ten fingers, cascade with prefilter (1 finger, best 10 x shortlist, 2 "
               "fingers)",
               persons);
    if (stage1_one) {
        huella_identify_options o1 = {.shortlist = shortlist, .stage1 = 1};
        run_probes(g, probes, mates, n, &o1, "ten fingers, cascade, stage 1 = 1 finger", persons);
    }
    if (exhaustive > 0) {
        huella_identify_options x = {.exhaustive = true};
        /* spread over the databases: every seventh probe */
        huella_probe sub[N_DB * (N_IMPR - 1)];
        uint64_t sub_m[N_DB * (N_IMPR - 1)];
        size_t m = 0;
        for (size_t i = 0; i < n && m < exhaustive; i += 3, m++) {
            sub[m] = probes[i];
            sub_m[m] = mates[i];
        }
        run_probes(g, sub, sub_m, m, &o, "ten fingers, cascade, same probes as exhaustive",
                   persons);
        run_probes(g, sub, sub_m, m, &x, "ten fingers, exhaustive", persons);
    }
    free(probes);
    free(mates);
    huella_gallery_free(g);
    for (int i = 0; i < N_BASE; i++)
        huella_finger_template_free(base[i]);
    return 0;
}

static huella_iris_template *encode_path(const char *path)
{
    huella_image *img;
    huella_iris_template *t = NULL;
    if (huella_image_read(path, NULL, &img, NULL) != HUELLA_OK)
        return NULL;
    huella_iris_encode(img, NULL, &t, NULL);
    huella_image_free(img);
    return t;
}

typedef struct iris_job {
    huella_iris_template **t;
    int session;
} iris_job;

static void iris_encode_range(void *ctx, size_t b, size_t e)
{
    iris_job *j = ctx;
    for (size_t i = b; i < e; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/iris/casia-v1/%zu/%03zu_%d_1.jpg", HUELLA_DATA_DIR, i + 1,
                 i + 1, j->session);
        j->t[i] = encode_path(path);
    }
}

static void iris_chimera(const huella_iris_code *bases, size_t nb, uint64_t *rs,
                         huella_iris_code *out)
{
    int shift_bytes = (int)(rnd(rs) % 5) - 2; /* 4 positions = 8 bits = 1 byte */
    for (int r = 0; r < HUELLA_IRIS_ROWS; r++) {
        const huella_iris_code *b = &bases[rnd(rs) % nb];
        for (int k = 0; k < HUELLA_IRIS_ROW_BYTES; k++) {
            int src = (k + shift_bytes + HUELLA_IRIS_ROW_BYTES) % HUELLA_IRIS_ROW_BYTES;
            out->code[r * 32 + k] = b->code[r * 32 + src];
            out->mask[r * 32 + k] = b->mask[r * 32 + src];
        }
    }
    /* about 6 % of the bits flipped: the AND of four random words */
    for (int w = 0; w < HUELLA_IRIS_CODE_BYTES; w += 8) {
        uint64_t flip = rnd(rs) & rnd(rs) & rnd(rs) & rnd(rs);
        for (int k = 0; k < 8; k++)
            out->code[w + k] ^= (uint8_t)(flip >> (8 * k));
    }
}

static int bench_irises(size_t persons, size_t depth, unsigned threads)
{
    huella_iris_template *first[IRIS_BASE] = {NULL}, *second[IRIS_BASE] = {NULL};
    uint64_t t0 = huella_now_ns();
    iris_job ja = {first, 1}, jb = {second, 2};
    gallery_parallel(threads, IRIS_BASE, 1, iris_encode_range, &ja);
    gallery_parallel(threads, 2 * IRIS_MATES, 1, iris_encode_range, &jb);
    huella_iris_code *codes = malloc(IRIS_BASE * sizeof(huella_iris_code));
    size_t nb = 0;
    for (int i = 0; i < IRIS_BASE; i++)
        if (first[i] != NULL)
            codes[nb++] = first[i]->code;
    if (nb < IRIS_BASE / 2) {
        fprintf(stderr, "bench_identify: only %zu CASIA eyes encoded\n", nb);
        return 1;
    }
    double encode = (double)(huella_now_ns() - t0) / 1e9;
    huella_gallery *g;
    if (huella_gallery_new(&g, NULL) != HUELLA_OK)
        return 1;
    huella_gallery_set_threads(g, threads);
    t0 = huella_now_ns();
    uint64_t rs = 7;
    huella_iris_code c;
    for (size_t p = 0; p < persons; p++)
        for (unsigned eye = 1; eye <= 2; eye++) {
            iris_chimera(codes, nb, &rs, &c);
            if (huella_gallery_add_iris(g, p + 1, p * 2 + eye, eye, &c, NULL) != HUELLA_OK)
                return 1;
        }
    huella_probe probes[IRIS_MATES] = {0};
    uint64_t mates[IRIS_MATES];
    size_t n = 0;
    for (int m = 0; m < IRIS_MATES; m++) {
        int r = 2 * m, l = 2 * m + 1;
        if (!first[r] || !first[l] || !second[r] || !second[l])
            continue;
        huella_gallery_add_iris(g, MATE_ID + (uint64_t)m, 0, HUELLA_IRIS_EYE_RIGHT, &first[r]->code,
                                NULL);
        huella_gallery_add_iris(g, MATE_ID + (uint64_t)m, 1, HUELLA_IRIS_EYE_LEFT, &first[l]->code,
                                NULL);
        probes[n].iris[0] = &second[r]->code;
        probes[n].iris[1] = &second[l]->code;
        mates[n++] = MATE_ID + (uint64_t)m;
    }
    double build = (double)(huella_now_ns() - t0) / 1e9;
    printf("{\"bench\":\"identify\",\"gallery\":\"iris\",\"persons\":%zu,\"irises\":%zu,"
           "\"encode_seconds\":%.1f,\"build_seconds\":%.1f,\"bytes_per_person\":%.0f,"
           "\"threads\":%u,\"iris_kernel\":\"%s\"}\n",
           huella_gallery_count(g),
           huella_gallery_count_slot(g, HUELLA_GALLERY_SLOT_RIGHT) +
               huella_gallery_count_slot(g, HUELLA_GALLERY_SLOT_LEFT),
           encode, build, huella_gallery_bytes_per_person(g), threads,
           huella_iris_kernel_name(HUELLA_IRIS_KERNEL_AUTO));
    fflush(stdout);
    huella_identify_options o = {.iris_depth = depth};
    run_probes(g, probes, mates, n, &o, "two irises", persons);
    huella_gallery_free(g);
    for (int i = 0; i < IRIS_BASE; i++) {
        huella_iris_template_free(first[i]);
        huella_iris_template_free(second[i]);
    }
    free(codes);
    return 0;
}

int main(int argc, char **argv)
{
    size_t persons = 100000, iris_persons = 1000000, exhaustive = 4, shortlist = 0, depth = 0;
    unsigned threads = 2;
    const char *only = NULL;
    bool stage1_one = false;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--persons") == 0)
            persons = strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--iris-persons") == 0)
            iris_persons = strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--exhaustive") == 0)
            exhaustive = strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--shortlist") == 0)
            shortlist = strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--iris-depth") == 0)
            depth = strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--threads") == 0)
            threads = (unsigned)strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--stage1-one") == 0)
            stage1_one = strcmp(argv[i + 1], "yes") == 0;
        else if (strcmp(argv[i], "--only") == 0)
            only = argv[i + 1];
        else {
            fprintf(stderr, "usage: bench_identify [--persons N] [--iris-persons M] "
                            "[--exhaustive K] [--shortlist L] [--iris-depth D] [--stage1-one yes] "
                            "[--threads T] "
                            "[--only finger|iris]\n");
            return 1;
        }
    }
    if (threads < 1)
        threads = 1;
    if ((only == NULL || strcmp(only, "finger") == 0) &&
        bench_fingers(persons, exhaustive, shortlist, stage1_one, threads) != 0)
        return 1;
    if ((only == NULL || strcmp(only, "iris") == 0) &&
        bench_irises(iris_persons, depth, threads) != 0)
        return 1;
    return 0;
}
