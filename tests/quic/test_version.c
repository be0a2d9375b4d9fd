/* Tests for quic/version.c: a client's version_information (RFC 9368 §3) and its downgrade
 * checks (§4, VERSION_NEGOTIATION_ERROR); a forged Initial of another version does not move
 * the client (RFC 9369 §4.1). The server's side runs in tests/sim/test_version.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "quic/conn_internal.h"
#include "quic/packet.h"
#include "tests/common/test_env.h"

static const char *const alpn[] = {"h3", NULL};

static quic_conn *client(test_env *t, uint32_t version, const uint32_t *versions, size_t n)
{
    quic_config cc;
    memset(&cc, 0, sizeof(cc));
    cc.tls.alpn = alpn;
    cc.tls.server_name = "example.test";
    cc.tls.verify_mode = CRYPTO_VERIFY_INSECURE;
    cc.version = version;
    for (size_t i = 0; i < n; i++)
        cc.versions[i] = versions[i];
    quic_conn *c = quic_conn_client_new(&t->env, &cc, NULL, NULL, 0);
    assert_non_null(c);
    return c;
}

static void our_info(quic_conn *c, quic_transport_params *tp)
{
    uint8_t buf[QUIC_TP_ENCODED_MAX];
    size_t n = quic_conn_encode_tp(c, buf, sizeof(buf));
    assert_true(n > 0);
    assert_int_equal(quic_tp_decode(buf, n, false, tp), QUIC_OK);
    assert_true(tp->has_version_info);
}

static void test_client_offer(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 1);
    quic_transport_params tp;
    /* Default: every supported version, the first flight's own first. */
    quic_conn *c = client(&t, 0, NULL, 0);
    our_info(c, &tp);
    assert_int_equal(tp.chosen_version, QUIC_VERSION_1);
    assert_int_equal(tp.available_count, 2);
    assert_int_equal(tp.available_versions[0], QUIC_VERSION_1);
    assert_int_equal(tp.available_versions[1], QUIC_VERSION_2);
    quic_conn_free(c);
    /* A preference list without the Chosen Version gets it appended (§3: MUST include). */
    const uint32_t v2[] = {QUIC_VERSION_2};
    c = client(&t, QUIC_VERSION_1, v2, 1);
    our_info(c, &tp);
    assert_int_equal(tp.chosen_version, QUIC_VERSION_1);
    assert_int_equal(tp.available_count, 2);
    assert_int_equal(tp.available_versions[0], QUIC_VERSION_2);
    assert_int_equal(tp.available_versions[1], QUIC_VERSION_1);
    quic_conn_free(c);
    /* Only v1: compatible negotiation off (§2.3). Unknown versions are not offered. */
    const uint32_t v1[] = {QUIC_VERSION_1, 0x1a2a3a4a};
    c = client(&t, QUIC_VERSION_1, v1, 2);
    our_info(c, &tp);
    assert_int_equal(tp.available_count, 1);
    assert_int_equal(tp.available_versions[0], QUIC_VERSION_1);
    quic_conn_free(c);
    test_env_check_leaks(&t);
}

static quic_transport_params server_info(bool present, uint32_t chosen)
{
    quic_transport_params tp;
    quic_tp_defaults(&tp);
    tp.has_version_info = present;
    tp.chosen_version = chosen;
    tp.available_versions[0] = QUIC_VERSION_1;
    tp.available_versions[1] = QUIC_VERSION_2;
    tp.available_count = 2;
    return tp;
}

static void test_client_checks(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 2);
    quic_conn *c = client(&t, 0, NULL, 0);
    quic_transport_params tp = server_info(true, QUIC_VERSION_1);
    assert_int_equal(quic_version_on_peer_tp(c, &tp), QUIC_OK);
    tp = server_info(false, 0); /* §4: MAY complete without it (no VN packet acted on) */
    assert_int_equal(quic_version_on_peer_tp(c, &tp), QUIC_OK);
    /* §4: the server's Chosen Version must be the version its packets used. */
    tp = server_info(true, QUIC_VERSION_2);
    assert_int_equal(quic_version_on_peer_tp(c, &tp), QUIC_ERR_VERSION_NEGOTIATION);
    /* After following the server to v2: */
    c->version = QUIC_VERSION_2;
    assert_int_equal(quic_version_on_peer_tp(c, &tp), QUIC_OK);
    tp = server_info(true, QUIC_VERSION_1);
    assert_int_equal(quic_version_on_peer_tp(c, &tp), QUIC_ERR_VERSION_NEGOTIATION);
    tp = server_info(false, 0);
    assert_int_equal(quic_version_on_peer_tp(c, &tp), QUIC_ERR_VERSION_NEGOTIATION);
    quic_conn_free(c);
    /* §4: a Chosen Version the client did not offer. */
    const uint32_t v1[] = {QUIC_VERSION_1};
    c = client(&t, QUIC_VERSION_1, v1, 1);
    c->version = QUIC_VERSION_2;
    tp = server_info(true, QUIC_VERSION_2);
    assert_int_equal(quic_version_on_peer_tp(c, &tp), QUIC_ERR_VERSION_NEGOTIATION);
    quic_conn_free(c);
    assert_int_equal(quic_err_transport_code(QUIC_ERR_VERSION_NEGOTIATION), 0x11);
    test_env_check_leaks(&t);
}

/* A v2 Initial that does not open with v2's Initial keys (anyone can write the header)
 * leaves the client in v1; so does one of a version it did not offer. */
static void test_forged_header_does_not_move(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 3);
    const uint32_t v1[] = {QUIC_VERSION_1};
    for (int round = 0; round < 2; round++) {
        quic_conn *c = round == 0 ? client(&t, 0, NULL, 0) : client(&t, QUIC_VERSION_1, v1, 1);
        uint8_t out[1500];
        assert_true(quic_conn_send(c, NULL, out, sizeof(out), 0) >= 1200);
        uint8_t pkt[1300];
        quince_writer w = quince_writer_init(pkt, sizeof(pkt) - 16);
        quic_pkt_builder b;
        const uint8_t scid[8] = {1, 2, 3, 4, 5, 6, 7, 8};
        assert_true(quic_pkt_build_long(&w, &b, QUIC_PKT_INITIAL, QUIC_VERSION_2,
                                        c->initial_scid.bytes, c->initial_scid.len, scid, 8, NULL,
                                        0, 0, 2));
        assert_true(quic_pkt_pad_to(&w, pkt, 1200, 16));
        assert_true(quic_pkt_finish(&w, &b, 16));
        size_t len = (size_t)(w.p - pkt) + 16;
        for (uint8_t *p = b.pn_at; p < pkt + len; p++)
            *p = (uint8_t)(p - pkt) * 37u + 1u;
        assert_int_equal(quic_conn_recv(c, NULL, pkt, len, 1000), 0);
        assert_int_equal(c->version, QUIC_VERSION_1);
        assert_int_equal(quic_conn_get_stats(c)->version, QUIC_VERSION_1);
        assert_true(quic_conn_send(c, NULL, out, sizeof(out), 2000) >= 0);
        assert_false(quic_conn_is_closed(c));
        quic_conn_free(c);
    }
    test_env_check_leaks(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_offer),
        cmocka_unit_test(test_client_checks),
        cmocka_unit_test(test_forged_header_does_not_move),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
