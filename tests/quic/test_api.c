/* Tests for quic/quic.h as an application sees it: only the public header (user pointers, endpoint
 * statistics). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "quic/quic.h"
#include "tests/common/test_env.h"

static const char *const alpn[] = {"h3", NULL};

static void test_conn_user(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 3);
    quic_config cc;
    memset(&cc, 0, sizeof(cc));
    cc.tls.alpn = alpn;
    cc.tls.server_name = "example.test";
    cc.tls.verify_mode = CRYPTO_VERIFY_INSECURE;
    quic_conn *c = quic_conn_client_new(&t.env, &cc, NULL, NULL, 0);
    assert_non_null(c);
    assert_null(quic_conn_get_user(c));
    int mine = 7;
    quic_conn_set_user(c, &mine);
    assert_ptr_equal(quic_conn_get_user(c), &mine);
    /* Kept while the connection runs. */
    uint8_t buf[1500];
    assert_true(quic_conn_send(c, NULL, buf, sizeof(buf), 0) >= 1200);
    assert_ptr_equal(quic_conn_get_user(c), &mine);
    /* RFC 9000 §19.2: a PING is for an established connection only. */
    assert_true(quic_conn_ping(c) < 0);
    assert_true(quic_conn_ping(NULL) < 0);
    quic_conn_set_user(c, NULL);
    assert_null(quic_conn_get_user(c));
    assert_null(quic_conn_get_user(NULL));
    quic_conn_set_user(NULL, &mine); /* harmless */
    quic_conn_free(c);
    test_env_check_leaks(&t);
}

static void test_endpoint_stats(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 4);
    quic_config sc;
    memset(&sc, 0, sizeof(sc));
    sc.is_server = true;
    sc.tls.alpn = alpn;
    quic_endpoint *ep = quic_endpoint_new(&t.env, &sc);
    assert_non_null(ep);
    const quic_endpoint_stats *st = quic_endpoint_get_stats(ep);
    assert_non_null(st);
    assert_int_equal(st->datagrams, 0);
    /* An unknown version, big enough: Version Negotiation (RFC 9000 §6.1). */
    uint8_t d[1200];
    memset(d, 0, sizeof(d));
    d[0] = 0xc0;
    d[1] = 0x0a;
    d[2] = 0x1a;
    d[3] = 0x2a;
    d[4] = 0x3a;
    d[5] = 8;
    d[14] = 0;
    quic_addr from;
    memset(&from, 0, sizeof(from));
    from.family = 4;
    from.port = 4433;
    assert_int_equal(quic_endpoint_recv(ep, &from, NULL, d, sizeof(d), 0), 0);
    /* Garbage: dropped. */
    assert_int_equal(quic_endpoint_recv(ep, &from, NULL, d + 1, 3, 0), 0);
    st = quic_endpoint_get_stats(ep);
    assert_int_equal(st->datagrams, 2);
    assert_int_equal(st->version_negotiations, 1);
    assert_int_equal(st->dropped, 1);
    assert_int_equal(st->accepted, 0);
    assert_int_equal(st->invalid_tokens, 0);
    assert_int_equal(st->connections, 0);
    quic_endpoint_free(ep);
    test_env_check_leaks(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conn_user),
        cmocka_unit_test(test_endpoint_stats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
