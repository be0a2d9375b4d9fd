/* Tests for apps/app_util.c: seconds. (GSO trains, batched sends, addresses and URLs
 * moved with the bridge to io/: tests/io/test_bridge.c.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "apps/app_util.h"

static void test_seconds(void **state)
{
    (void)state;
    uint64_t us = 0;
    assert_true(app_parse_seconds("30", &us));
    assert_int_equal(us, 30000000);
    assert_true(app_parse_seconds("2.5", &us));
    assert_int_equal(us, 2500000);
    assert_true(app_parse_seconds("0", &us));
    assert_int_equal(us, 0);
    assert_false(app_parse_seconds("", &us));
    assert_false(app_parse_seconds("-1", &us));
    assert_false(app_parse_seconds("5s", &us));
    assert_false(app_parse_seconds("nan", &us));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seconds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
