/*
 * test_bytes.c - bounded readers, endian helpers, growable buffers, checked sizes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "huella/base.h"

static void reads_are_bounded_and_failed_reads_change_nothing(void **state)
{
    (void)state;
    const uint8_t data[] = {0x12, 0x34, 0x56, 0x78, 0x9a};
    huella_reader r;
    huella_reader_init(&r, data, sizeof(data));
    uint16_t v16;
    uint32_t v32;
    uint8_t v8;
    assert_true(huella_read_u16be(&r, &v16));
    assert_int_equal(v16, 0x1234);
    assert_false(huella_read_u32le(&r, &v32)); /* only 3 bytes left */
    assert_int_equal(r.pos, 2);
    assert_true(huella_read_u16le(&r, &v16));
    assert_int_equal(v16, 0x7856);
    assert_true(huella_read_u8(&r, &v8));
    assert_int_equal(v8, 0x9a);
    assert_false(huella_read_u8(&r, &v8));
    assert_false(huella_read_skip(&r, 1));
    assert_int_equal(huella_reader_left(&r), 0);
    huella_reader_init(&r, data, sizeof(data));
    assert_true(huella_read_u32be(&r, &v32));
    assert_int_equal(v32, 0x12345678);
    assert_false(huella_read_skip(&r, SIZE_MAX));
}

static void loads_and_stores_are_inverse(void **state)
{
    (void)state;
    uint8_t p[4];
    huella_store_u32be(p, 0xdeadbeef);
    assert_int_equal(p[0], 0xde);
    assert_int_equal(huella_load_u32be(p), 0xdeadbeef);
    huella_store_u32le(p, 0xdeadbeef);
    assert_int_equal(p[0], 0xef);
    assert_int_equal(huella_load_u32le(p), 0xdeadbeef);
    huella_store_u16be(p, 0xbeef);
    assert_int_equal(huella_load_u16be(p), 0xbeef);
    huella_store_u16le(p, 0xbeef);
    assert_int_equal(p[0], 0xef);
    assert_int_equal(huella_load_u16le(p), 0xbeef);
}

static void buffers_grow_and_keep_bytes_in_order(void **state)
{
    (void)state;
    huella_buf b;
    huella_buf_init(&b);
    for (int i = 0; i < 1000; i++)
        assert_true(huella_buf_append_u32be(&b, (uint32_t)i));
    assert_true(huella_buf_append_u16le(&b, 0x0102));
    assert_true(b.ok);
    assert_int_equal(b.len, 4002);
    assert_int_equal(huella_load_u32be(b.data + 4 * 999), 999);
    assert_int_equal(b.data[4000], 0x02);
    /* A failed append poisons the buffer. */
    assert_false(huella_buf_append(&b, b.data, SIZE_MAX));
    assert_false(b.ok);
    assert_false(huella_buf_append_u8(&b, 1));
    huella_buf_free(&b);
    assert_null(b.data);
}

static void size_arithmetic_detects_overflow(void **state)
{
    (void)state;
    size_t r;
    assert_true(huella_size_mul(1u << 16, 1u << 15, &r));
    assert_int_equal(r, (size_t)1 << 31);
    assert_false(huella_size_mul(SIZE_MAX / 2 + 1, 2, &r));
    assert_true(huella_size_mul(0, SIZE_MAX, &r));
    assert_int_equal(r, 0);
    assert_false(huella_size_add(SIZE_MAX, 1, &r));
    assert_true(huella_size_add(SIZE_MAX - 1, 1, &r));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_are_bounded_and_failed_reads_change_nothing),
        cmocka_unit_test(loads_and_stores_are_inverse),
        cmocka_unit_test(buffers_grow_and_keep_bytes_in_order),
        cmocka_unit_test(size_arithmetic_detects_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
