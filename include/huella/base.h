/*
 * huella/base.h - status codes, error messages, byte readers, files.
 *
 * Every fallible function in huella returns a huella_status and, when the
 * caller passes a huella_error, fills it with a message that names the
 * input and the problem.  Passing NULL for the error is always allowed.
 */
#ifndef HUELLA_BASE_H
#define HUELLA_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(HUELLA_BUILDING) && defined(__GNUC__)
#define HUELLA_API __attribute__((visibility("default")))
#else
#define HUELLA_API
#endif

#if defined(__GNUC__)
#define HUELLA_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define HUELLA_PRINTF(fmt, args)
#endif

#define HUELLA_VERSION "0.1.0"

typedef enum huella_status {
    HUELLA_OK = 0,
    HUELLA_E_INPUT = 1,       /* the input is malformed, truncated or out of range */
    HUELLA_E_UNSUPPORTED = 2, /* well-formed input that huella cannot handle */
    HUELLA_E_NOMEM = 3,       /* an allocation failed */
    HUELLA_E_IO = 4,          /* reading or writing a file failed */
    HUELLA_E_DENIED = 5,      /* policy refused the operation */
    HUELLA_E_NOTFOUND = 6,    /* the thing asked for does not exist */
    HUELLA_E_INTERNAL = 7     /* a bug or an unexpected library failure */
} huella_status;

#define HUELLA_ERROR_MAX 512

typedef struct huella_error {
    huella_status status;
    char message[HUELLA_ERROR_MAX];
} huella_error;

/* "ok", "bad input", ... : a short name for a status. */
HUELLA_API const char *huella_status_name(huella_status status);

/* Fill err (if not NULL) and return status, so that callers can write
 * `return huella_error_set(err, HUELLA_E_INPUT, "...", ...);`. */
HUELLA_API huella_status huella_error_set(huella_error *err, huella_status status, const char *fmt,
                                          ...) HUELLA_PRINTF(3, 4);
HUELLA_API huella_status huella_error_vset(huella_error *err, huella_status status, const char *fmt,
                                           va_list ap) HUELLA_PRINTF(3, 0);

/* Put context in front of an existing message: "FILE: " + message. */
HUELLA_API void huella_error_prefix(huella_error *err, const char *fmt, ...) HUELLA_PRINTF(2, 3);

/* Reset to HUELLA_OK with an empty message. */
HUELLA_API void huella_error_clear(huella_error *err);

/*
 * Bounded byte reader.  Every read checks the remaining length; a failed
 * read leaves the position unchanged and returns false.  Formats are read
 * field by field through these helpers, never by copying structs.
 */
typedef struct huella_reader {
    const uint8_t *data;
    size_t len;
    size_t pos;
} huella_reader;

HUELLA_API void huella_reader_init(huella_reader *r, const void *data, size_t len);
HUELLA_API size_t huella_reader_left(const huella_reader *r);
HUELLA_API bool huella_read_u8(huella_reader *r, uint8_t *v);
HUELLA_API bool huella_read_u16be(huella_reader *r, uint16_t *v);
HUELLA_API bool huella_read_u16le(huella_reader *r, uint16_t *v);
HUELLA_API bool huella_read_u32be(huella_reader *r, uint32_t *v);
HUELLA_API bool huella_read_u32le(huella_reader *r, uint32_t *v);
HUELLA_API bool huella_read_bytes(huella_reader *r, void *out, size_t n);
HUELLA_API bool huella_read_skip(huella_reader *r, size_t n);

/* Decoding from a fixed position, for formats with absolute offsets. */
HUELLA_API uint16_t huella_load_u16be(const uint8_t *p);
HUELLA_API uint16_t huella_load_u16le(const uint8_t *p);
HUELLA_API uint32_t huella_load_u32be(const uint8_t *p);
HUELLA_API uint32_t huella_load_u32le(const uint8_t *p);
HUELLA_API void huella_store_u16be(uint8_t *p, uint16_t v);
HUELLA_API void huella_store_u16le(uint8_t *p, uint16_t v);
HUELLA_API void huella_store_u32be(uint8_t *p, uint32_t v);
HUELLA_API void huella_store_u32le(uint8_t *p, uint32_t v);

/*
 * Growable byte buffer for writers.  A buffer that failed an append stays
 * failed (ok == false) so that a writer can append many fields and check once.
 */
typedef struct huella_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    bool ok;
} huella_buf;

HUELLA_API void huella_buf_init(huella_buf *b);
HUELLA_API void huella_buf_free(huella_buf *b);
HUELLA_API bool huella_buf_append(huella_buf *b, const void *data, size_t n);
HUELLA_API bool huella_buf_append_u8(huella_buf *b, uint8_t v);
HUELLA_API bool huella_buf_append_u16be(huella_buf *b, uint16_t v);
HUELLA_API bool huella_buf_append_u16le(huella_buf *b, uint16_t v);
HUELLA_API bool huella_buf_append_u32be(huella_buf *b, uint32_t v);
HUELLA_API bool huella_buf_append_u32le(huella_buf *b, uint32_t v);

/* Overflow-checked size arithmetic: false when the result does not fit. */
HUELLA_API bool huella_size_mul(size_t a, size_t b, size_t *out);
HUELLA_API bool huella_size_add(size_t a, size_t b, size_t *out);

/*
 * Read a whole file into memory.  Files larger than max_size are refused
 * before reading (pass 0 for the default of 1 GiB).  The caller frees *data
 * with free().  Error messages name the path.
 */
HUELLA_API huella_status huella_file_read(const char *path, size_t max_size, uint8_t **data,
                                          size_t *len, huella_error *err);

/* Write a file atomically: to PATH.tmp, fsync, then rename over PATH. */
HUELLA_API huella_status huella_file_write(const char *path, const void *data, size_t len,
                                           huella_error *err);

/* Create directory path and any missing parents (mkdir -p) with mode
 * (before the umask); directories that exist already are fine.  The error
 * (HUELLA_E_IO) names the path and the reason. */
HUELLA_API huella_status huella_dir_make(const char *path, unsigned mode, huella_error *err);

/* Monotonic clock in nanoseconds, for measurements. */
HUELLA_API uint64_t huella_now_ns(void);

#ifdef __cplusplus
}
#endif

#endif
