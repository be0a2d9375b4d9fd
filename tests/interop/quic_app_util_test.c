/* Tests for apps/app_util.c: seconds, and the options parser (app_args). (GSO trains, batched sends, addresses and URLs
 * moved with the bridge to io/: tests/io/test_bridge.c.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "apps/app_util.h"
#include "quic/quic.h"

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

typedef struct parsed {
    const char *root, *url, *url2;
    bool verbose;
    uint64_t timeout_us, port;
    int rc; /* what main would return: 0 to go on, 2 on a usage error */
} parsed;

/* The loop every app writes, over a fixed option set. */
static parsed parse(int argc, const char **argv_in)
{
    parsed p = {.root = ".", .rc = 0};
    char **argv = (char **)argv_in;
    app_args a;
    app_args_init(&a, "t", argc, argv, NULL);
    while (app_args_next(&a)) {
        const char *v;
        if (app_opt(&a, "--verbose|-v"))
            p.verbose = true;
        else if (app_opt_value(&a, "--root|-r", &v))
            p.root = v;
        else if (app_opt_seconds(&a, "--timeout", &p.timeout_us))
            continue;
        else if (app_opt_uint(&a, "--port", 0, 65535, &p.port))
            continue;
        else if (app_operand(&a, &v)) {
            if (p.url == NULL)
                p.url = v;
            else
                p.url2 = v;
        } else {
            p.rc = app_args_unknown(&a);
            return p;
        }
    }
    if (a.failed)
        p.rc = 2;
    return p;
}

#define PARSE(...)                                                                                 \
    parse((int)(sizeof((const char *[]){"t", __VA_ARGS__}) / sizeof(const char *)),                 \
          (const char *[]){"t", __VA_ARGS__})

static void test_args_forms(void **state)
{
    (void)state;
    parsed p = PARSE("--root", "/srv", "-v", "--timeout=2.5", "--port", "443", "https://a/");
    assert_int_equal(p.rc, 0);
    assert_string_equal(p.root, "/srv");
    assert_true(p.verbose);
    assert_int_equal(p.timeout_us, 2500000);
    assert_int_equal(p.port, 443);
    assert_string_equal(p.url, "https://a/");
    p = PARSE("--root=/x=y", "--port=0", "-r", "/z");
    assert_int_equal(p.rc, 0);
    assert_string_equal(p.root, "/z"); /* the last one wins */
    assert_int_equal(p.port, 0);
    p = PARSE("--root=", "u");
    assert_int_equal(p.rc, 0);
    assert_string_equal(p.root, ""); /* an empty value given with '=' */
    /* "--" ends the options: what follows is an operand even when it looks like one. */
    p = PARSE("--", "--verbose", "-");
    assert_int_equal(p.rc, 0);
    assert_false(p.verbose);
    assert_string_equal(p.url, "--verbose");
    assert_string_equal(p.url2, "-");
}

static void test_args_errors(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--bogus").rc, 2);
    assert_int_equal(PARSE("--verbose=yes").rc, 2);  /* a flag takes no value */
    assert_int_equal(PARSE("--root").rc, 2);         /* missing value at the end */
    assert_int_equal(PARSE("--root", "--verbose").rc, 2); /* an option is not a value */
    assert_int_equal(PARSE("--timeout", "soon").rc, 2);
    assert_int_equal(PARSE("--port", "65536").rc, 2);
    assert_int_equal(PARSE("--port=-1").rc, 2);
    assert_int_equal(PARSE("--port=12x").rc, 2);
    assert_int_equal(PARSE("-x").rc, 2);
    /* A prefix is not the option. */
    assert_int_equal(PARSE("--verb").rc, 2);
    assert_int_equal(PARSE("--rootx=1").rc, 2);
}

static void test_explain_close(void **state)
{
    (void)state;
    char buf[400];
    /* A TLS alert from the peer, by name, with what to do. */
    quic_event ev = {.type = QUIC_EVENT_CLOSED, .error_code = 0x178, .by_peer = true};
    app_explain_close(&ev, "the server", buf, sizeof(buf));
    assert_string_equal(buf, "the server closed the connection: TLS alert no_application_protocol "
                             "(CRYPTO_ERROR 0x178): it offers none of our ALPNs: try --alpn h3 "
                             "or --alpn hq-interop");
    /* A transport error with the peer's reason phrase (unprintable bytes as '?'). */
    static const uint8_t reason[] = "bad\x01"
                                    "frame";
    ev = (quic_event){.type = QUIC_EVENT_CLOSED, .error_code = 0x0a, .by_peer = true,
                      .data = reason, .len = sizeof(reason) - 1};
    app_explain_close(&ev, "the server", buf, sizeof(buf));
    assert_string_equal(buf, "the server closed the connection: PROTOCOL_VIOLATION (0xa) "
                             "\"bad?frame\": a protocol error: --qlog-dir D records the exchange "
                             "for qvis");
    /* HTTP/3 and QPACK codes by name. */
    static const uint8_t r2[] = "no SETTINGS";
    ev = (quic_event){.type = QUIC_EVENT_CLOSED, .error_code = 0x10a, .is_app = true,
                      .by_peer = true, .data = r2, .len = sizeof(r2) - 1};
    app_explain_close(&ev, "the client", buf, sizeof(buf));
    assert_string_equal(buf, "the client closed the connection: H3_MISSING_SETTINGS (0x10a) "
                             "\"no SETTINGS\": an HTTP/3 protocol error: --qlog-dir D records "
                             "the frames for qvis");
    ev = (quic_event){.type = QUIC_EVENT_CLOSED, .error_code = 0x200, .is_app = true};
    app_explain_close(&ev, "the server", buf, sizeof(buf));
    assert_non_null(strstr(buf, "the connection failed here: QPACK_DECOMPRESSION_FAILED (0x200)"));
    /* A WebTransport application error code (draft-02 §4.3's range) and an unknown one. */
    ev = (quic_event){.type = QUIC_EVENT_CLOSED, .error_code = 0x52e4a40fa8dbULL + 7,
                      .is_app = true, .by_peer = true};
    app_explain_close(&ev, "the server", buf, sizeof(buf));
    assert_non_null(strstr(buf, "WEBTRANSPORT_APPLICATION_ERROR (0x52e4a40fa8e2)"));
    ev = (quic_event){.type = QUIC_EVENT_CLOSED, .error_code = 0x4242, .is_app = true,
                      .by_peer = true};
    app_explain_close(&ev, "the server", buf, sizeof(buf));
    assert_non_null(strstr(buf, "error from the application (0x4242)"));
    /* Our own idle timeout. */
    static const uint8_t idle[] = "idle timeout";
    ev = (quic_event){.type = QUIC_EVENT_CLOSED, .data = idle, .len = 12};
    app_explain_close(&ev, "the server", buf, sizeof(buf));
    assert_string_equal(buf, "the connection went idle: the server stopped answering (is it still "
                             "running?)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seconds),
        cmocka_unit_test(test_args_forms),
        cmocka_unit_test(test_args_errors),
        cmocka_unit_test(test_explain_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
