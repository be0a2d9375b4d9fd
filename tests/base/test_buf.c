/* Tests for base/buf.c: growth, consumption, allocation failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "base/buf.h"
#include "tests/common/test_env.h"

static void test_append_consume(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 1);
    quince_buf b = {0};
    uint8_t src[1000];
    for (size_t i = 0; i < sizeof(src); i++)
        src[i] = (uint8_t)(i * 7);
    /* Appends of every size up to 1000 bytes keep the bytes in order. */
    size_t total = 0;
    for (size_t n = 0; n < 40; n++) {
        assert_true(quince_buf_append(&b, &t.env, src, n * 25));
        total += n * 25;
    }
    assert_int_equal(b.len, total);
    assert_true(b.cap >= b.len);
    size_t off = 0;
    for (size_t n = 0; n < 40; n++) {
        assert_memory_equal(b.data + off, src, n * 25);
        off += n * 25;
    }
    /* Consuming from the front moves the rest down. */
    quince_buf_consume(&b, 25);
    assert_int_equal(b.len, total - 25);
    assert_memory_equal(b.data, src, 50);
    quince_buf_consume(&b, SIZE_MAX);
    assert_int_equal(b.len, 0);
    quince_buf_free(&b, &t.env);
    assert_null(b.data);
    assert_int_equal(b.cap, 0);
    test_env_check_leaks(&t);
}

static void test_alloc_failure(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 2);
    quince_buf b = {0};
    assert_true(quince_buf_append(&b, &t.env, "abc", 3));
    size_t cap = b.cap;
    /* A failed growth leaves the buffer as it was. */
    t.fail_after = 1;
    uint8_t big[4096] = {0};
    assert_false(quince_buf_append(&b, &t.env, big, sizeof(big)));
    assert_int_equal(b.len, 3);
    assert_int_equal(b.cap, cap);
    assert_memory_equal(b.data, "abc", 3);
    /* An append that fits needs no allocation. */
    assert_true(quince_buf_append(&b, &t.env, "de", 2));
    assert_memory_equal(b.data, "abcde", 5);
    /* A size that cannot be represented is refused before any allocation. */
    assert_false(quince_buf_reserve(&b, &t.env, SIZE_MAX));
    t.fail_after = 0;
    quince_buf_free(&b, &t.env);
    test_env_check_leaks(&t);
}

/* Consuming moves only the front; the consumed bytes are reclaimed, without a
 * new allocation, once they are at least as many as the bytes held. */
static void test_consume_reclaims(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 3);
    quince_buf b = {0};
    uint8_t src[200];
    for (size_t i = 0; i < sizeof(src); i++)
        src[i] = (uint8_t)i;
    assert_true(quince_buf_append(&b, &t.env, src, 100));
    size_t cap = b.cap, allocs = t.total_allocs;
    const uint8_t *front = b.data;
    quince_buf_consume(&b, 10);
    assert_ptr_equal(b.data, front + 10); /* nothing shifted */
    assert_int_equal(b.len, 90);
    quince_buf_consume(&b, 50);
    assert_int_equal(b.head, 60);
    assert_memory_equal(b.data, src + 60, 40);
    /* 40 held, 60 consumed: an append that needs the room reclaims it in place. */
    assert_true(quince_buf_append(&b, &t.env, src + 100, 50));
    assert_int_equal(t.total_allocs, allocs);
    assert_int_equal(b.cap, cap);
    assert_int_equal(b.head, 0);
    assert_ptr_equal(b.data, front);
    assert_memory_equal(b.data, src + 60, 90);
    /* 5 consumed, 85 held: the front is not worth moving; the allocation grows. */
    quince_buf_consume(&b, 5);
    assert_true(quince_buf_append(&b, &t.env, src, 100));
    assert_true(b.cap > cap);
    assert_int_equal(b.head, 0);
    assert_memory_equal(b.data, src + 65, 85);
    assert_memory_equal(b.data + 85, src, 100);
    /* Emptying it makes the whole allocation room again. */
    quince_buf_consume(&b, b.len);
    assert_int_equal(b.head, 0);
    assert_int_equal(b.len, 0);
    quince_buf_free(&b, &t.env);
    test_env_check_leaks(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_consume),
        cmocka_unit_test(test_alloc_failure),
        cmocka_unit_test(test_consume_reclaims),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
