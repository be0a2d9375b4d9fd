/* Tests for base/wipe.h: exactly the bytes asked for are zeroed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "base/wipe.h"

/* Every length from 0 to 100 at every offset from 0 to 15 of a 0xa5 buffer: the range is
 * zero, the bytes either side keep their value. */
static void test_wipe_range(void **state)
{
    (void)state;
    uint8_t buf[128];
    for (size_t off = 0; off < 16; off++) {
        for (size_t n = 0; n <= 100; n++) {
            memset(buf, 0xa5, sizeof(buf));
            quince_wipe(buf + off, n);
            for (size_t i = 0; i < sizeof(buf); i++)
                assert_int_equal(buf[i], i >= off && i < off + n ? 0 : 0xa5);
        }
    }
}

/* A NULL pointer with length 0 is allowed (an empty secret). */
static void test_wipe_null(void **state)
{
    (void)state;
    quince_wipe(NULL, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wipe_range),
        cmocka_unit_test(test_wipe_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
