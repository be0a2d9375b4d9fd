/* Tests for io/posix_env.c: the POSIX quince_env (allocator, getrandom, clocks, key-log and qlog files).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "io/posix_env.h"
#include "io/udp.h"

static char dir[512];

static int make_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "%s/io-env-XXXXXX", QUINCE_BUILD_ROOT);
    return mkdtemp(dir) == NULL ? -1 : 0;
}

static int remove_dir(void **state)
{
    (void)state;
    char path[600];
    const char *names[] = {"keys.log", "env.log", "0a0b_server.sqlog"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        unlink(path);
    }
    return rmdir(dir);
}

static size_t read_all(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
    return n;
}

static void test_default(void **state)
{
    (void)state;
    quince_env env = io_env_default();
    assert_null(env.user);
    assert_null(env.keylog);
    assert_null(env.qlog_open);
    assert_non_null(env.log);
    uint8_t *p = quince_env_alloc(&env, 100);
    assert_non_null(p);
    memset(p, 0xab, 100);
    p = quince_env_realloc(&env, p, 100000);
    assert_non_null(p);
    assert_int_equal(p[99], 0xab);
    quince_env_free(&env, p);
    uint8_t *z = quince_env_calloc(&env, 64);
    for (size_t i = 0; i < 64; i++)
        assert_int_equal(z[i], 0);
    quince_env_free(&env, z);

    /* getrandom: two 32-byte draws differ and neither is all zero (a
     * false failure has probability 2^-256). A large draw fills every byte. */
    uint8_t a[32] = {0}, b[32] = {0}, zero[32] = {0};
    quince_env_random(&env, a, sizeof(a));
    quince_env_random(&env, b, sizeof(b));
    assert_memory_not_equal(a, b, sizeof(a));
    assert_memory_not_equal(a, zero, sizeof(a));
    static uint8_t big[1 << 20];
    memset(big, 0, sizeof(big));
    quince_env_random(&env, big, sizeof(big));
    size_t zeros = 0;
    for (size_t i = 0; i < sizeof(big); i++)
        zeros += big[i] == 0;
    assert_true(zeros < sizeof(big) / 128); /* about 1/256 expected */

    int64_t wall = env.wall_clock(env.user);
    int64_t now = (int64_t)time(NULL);
    assert_true(wall >= now - 2 && wall <= now + 2);
    env.log(env.user, 1, "io/env test: a log line on stderr");
}

static void test_keylog_and_qlog(void **state)
{
    (void)state;
    char path[600], qpath[600], buf[4096];
    snprintf(path, sizeof(path), "%s/keys.log", dir);
    snprintf(qpath, sizeof(qpath), "%s/0a0b_server.sqlog", dir);
    io_env e;
    io_env_init(&e);
    assert_ptr_equal(e.env.user, &e);
    assert_null(e.env.keylog);
    assert_int_equal(io_env_set_keylog_file(&e, path), IO_OK);
    assert_non_null(e.env.keylog);
    e.env.keylog(e.env.user, "CLIENT_RANDOM 00 11");
    /* Flushed per line: readable while the connection runs. */
    assert_int_equal(read_all(path, buf, sizeof(buf)), 20);
    assert_string_equal(buf, "CLIENT_RANDOM 00 11\n");
    e.env.keylog(e.env.user, "SERVER_TRAFFIC_SECRET_0 aa bb");
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600); /* secrets: owner only */

    /* qlog: one file per connection, dir/<name>_<vantage>.sqlog. */
    assert_int_equal(io_env_set_qlog_dir(&e, dir), IO_OK);
    void *t = e.env.qlog_open(e.env.user, "0a0b", "server");
    assert_non_null(t);
    const char rec[] = "\x1e{\"time\":0}\n";
    e.env.qlog_write(e.env.user, t, rec, sizeof(rec) - 1);
    e.env.qlog_write(e.env.user, t, rec, sizeof(rec) - 1);
    e.env.qlog_close(e.env.user, t);
    io_env_cleanup(&e);
    assert_null(e.env.keylog);
    assert_null(e.env.qlog_open);
    assert_null(e.keylog);
    assert_int_equal(read_all(qpath, buf, sizeof(buf)), 2 * (sizeof(rec) - 1));
    assert_memory_equal(buf, "\x1e{\"time\":0}\n\x1e{\"time\":0}\n", 2 * (sizeof(rec) - 1));

    /* The key log is appended to, never truncated; $SSLKEYLOGFILE is honoured. */
    setenv("SSLKEYLOGFILE", path, 1);
    io_env_init(&e);
    assert_int_equal(io_env_set_keylog_file(&e, NULL), IO_OK);
    e.env.keylog(e.env.user, "EXPORTER_SECRET cc dd");
    io_env_cleanup(&e);
    unsetenv("SSLKEYLOGFILE");
    read_all(path, buf, sizeof(buf));
    assert_string_equal(buf, "CLIENT_RANDOM 00 11\nSERVER_TRAFFIC_SECRET_0 aa bb\n"
                             "EXPORTER_SECRET cc dd\n");
    /* Without the variable, NULL means no key log. */
    io_env_init(&e);
    assert_int_equal(io_env_set_keylog_file(&e, NULL), IO_OK);
    assert_null(e.env.keylog);
    /* A file that cannot be created is an error, and leaves no sink. */
    snprintf(path, sizeof(path), "%s/missing/keys.log", dir);
    assert_int_equal(io_env_set_keylog_file(&e, path), IO_ERR_FILE);
    assert_null(e.env.keylog);
    snprintf(path, sizeof(path), "%s/missing", dir);
    assert_int_equal(io_env_set_qlog_dir(&e, path), IO_ERR_FILE);
    assert_null(e.env.qlog_open);
    io_env_cleanup(&e);
}

static void test_log_level(void **state)
{
    (void)state;
    char path[600], buf[1024];
    snprintf(path, sizeof(path), "%s/env.log", dir);
    /* Capture stderr in a file for the duration. */
    fflush(stderr);
    int saved = dup(2);
    assert_true(saved >= 0);
    assert_non_null(freopen(path, "w", stderr));
    io_env e;
    io_env_init(&e);
    e.log_max_level = 2;
    e.log_prefix = "test";
    e.env.log(e.env.user, 1, "shown");
    e.env.log(e.env.user, 2, "shown too");
    e.env.log(e.env.user, 3, "hidden");
    fflush(stderr);
    assert_int_equal(dup2(saved, 2), 2);
    close(saved);
    read_all(path, buf, sizeof(buf));
    assert_string_equal(buf, "test[1]: shown\ntest[2]: shown too\n");
    io_env_cleanup(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default),
        cmocka_unit_test(test_keylog_and_qlog),
        cmocka_unit_test(test_log_level),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
