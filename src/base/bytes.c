/*
 * bytes.c - bounded big/little-endian readers, writers and checked sizes.
 *
 * Contract: a reader never reads past data+len; a failed read changes
 * nothing.  A buffer whose append failed keeps ok == false and refuses
 * further appends, so writers can check once at the end.
 */
#include "huella/base.h"

#include <stdlib.h>
#include <string.h>

void huella_reader_init(huella_reader *r, const void *data, size_t len)
{
    r->data = data;
    r->len = data != NULL ? len : 0;
    r->pos = 0;
}

size_t huella_reader_left(const huella_reader *r)
{
    return r->len - r->pos;
}

bool huella_read_bytes(huella_reader *r, void *out, size_t n)
{
    if (n > huella_reader_left(r))
        return false;
    if (n > 0)
        memcpy(out, r->data + r->pos, n);
    r->pos += n;
    return true;
}

bool huella_read_skip(huella_reader *r, size_t n)
{
    if (n > huella_reader_left(r))
        return false;
    r->pos += n;
    return true;
}

bool huella_read_u8(huella_reader *r, uint8_t *v)
{
    return huella_read_bytes(r, v, 1);
}

bool huella_read_u16be(huella_reader *r, uint16_t *v)
{
    uint8_t b[2];
    if (!huella_read_bytes(r, b, 2))
        return false;
    *v = huella_load_u16be(b);
    return true;
}

bool huella_read_u16le(huella_reader *r, uint16_t *v)
{
    uint8_t b[2];
    if (!huella_read_bytes(r, b, 2))
        return false;
    *v = huella_load_u16le(b);
    return true;
}

bool huella_read_u32be(huella_reader *r, uint32_t *v)
{
    uint8_t b[4];
    if (!huella_read_bytes(r, b, 4))
        return false;
    *v = huella_load_u32be(b);
    return true;
}

bool huella_read_u32le(huella_reader *r, uint32_t *v)
{
    uint8_t b[4];
    if (!huella_read_bytes(r, b, 4))
        return false;
    *v = huella_load_u32le(b);
    return true;
}

uint16_t huella_load_u16be(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

uint16_t huella_load_u16le(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[1] << 8 | p[0]);
}

uint32_t huella_load_u32be(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

uint32_t huella_load_u32le(const uint8_t *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

void huella_store_u16be(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

void huella_store_u16le(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

void huella_store_u32be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void huella_store_u32le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

void huella_buf_init(huella_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->ok = true;
}

void huella_buf_free(huella_buf *b)
{
    free(b->data);
    huella_buf_init(b);
}

bool huella_buf_append(huella_buf *b, const void *data, size_t n)
{
    if (!b->ok)
        return false;
    size_t need;
    if (!huella_size_add(b->len, n, &need)) {
        b->ok = false;
        return false;
    }
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < need) {
            if (cap > SIZE_MAX / 2) {
                cap = need;
                break;
            }
            cap *= 2;
        }
        uint8_t *p = realloc(b->data, cap);
        if (p == NULL) {
            b->ok = false;
            return false;
        }
        b->data = p;
        b->cap = cap;
    }
    if (n > 0)
        memcpy(b->data + b->len, data, n);
    b->len = need;
    return true;
}

bool huella_buf_append_u8(huella_buf *b, uint8_t v)
{
    return huella_buf_append(b, &v, 1);
}

bool huella_buf_append_u16be(huella_buf *b, uint16_t v)
{
    uint8_t p[2];
    huella_store_u16be(p, v);
    return huella_buf_append(b, p, 2);
}

bool huella_buf_append_u16le(huella_buf *b, uint16_t v)
{
    uint8_t p[2];
    huella_store_u16le(p, v);
    return huella_buf_append(b, p, 2);
}

bool huella_buf_append_u32be(huella_buf *b, uint32_t v)
{
    uint8_t p[4];
    huella_store_u32be(p, v);
    return huella_buf_append(b, p, 4);
}

bool huella_buf_append_u32le(huella_buf *b, uint32_t v)
{
    uint8_t p[4];
    huella_store_u32le(p, v);
    return huella_buf_append(b, p, 4);
}

bool huella_size_mul(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a)
        return false;
    *out = a * b;
    return true;
}

bool huella_size_add(size_t a, size_t b, size_t *out)
{
    if (b > SIZE_MAX - a)
        return false;
    *out = a + b;
    return true;
}
