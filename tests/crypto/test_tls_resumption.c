/* Tests for session tickets, resumption and 0-RTT keys in the TLS 1.3 engine
 * (RFC 8446 §2.2, §4.2.9-§4.2.11, §4.6.1, §8; RFC 9001 §4.6). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "crypto/tls.h"
#include "crypto/tls_msg.h"
#include "crypto/tls_ticket.h"
#include "tests/crypto/tls_pair.h"

/* Sessions handed to on_session. */
typedef struct store {
    uint8_t data[4][2048];
    size_t len[4];
    int count;
} store;

static void on_session(void *user, const uint8_t *session, size_t len)
{
    store *st = user;
    assert_true(len <= sizeof(st->data[0]));
    if (st->count < 4) {
        memcpy(st->data[st->count], session, len);
        st->len[st->count] = len;
    }
    st->count++;
}

static test_env tenv; /* the tickets' environment */

static crypto_tls_tickets *tickets_new(void)
{
    crypto_tls_tickets *t = crypto_tls_tickets_new(&tenv.env, 3600, 64);
    assert_non_null(t);
    return t;
}

static const char *const alpn_h3[] = {"h3", NULL};

/* A client that stores sessions into st and offers session (may be NULL). */
static side *client(uint64_t seed, store *st, const store *from)
{
    side *c = side_new(false, seed);
    c->cfg.on_session = on_session;
    c->cfg.session_user = st;
    if (from != NULL) {
        c->cfg.session = from->data[from->count - 1];
        c->cfg.session_len = from->len[from->count - 1];
    }
    return c;
}

static side *server(uint64_t seed, crypto_tls_tickets *t)
{
    side *s = side_new(true, seed);
    s->cfg.tickets = t;
    return s;
}

static bool sent(const side *s, crypto_level level, uint8_t type)
{
    size_t off, len;
    return side_find(s, level, type, &off, &len);
}

/* The handshake to its end or first failure; whether the server sent a Certificate. */
static bool run(side *c, side *s)
{
    bool cert = false;
    for (int round = 0; round < 10; round++) {
        if (pair_deliver(c, s, 0) < 0)
            break;
        cert |= sent(s, CRYPTO_LEVEL_HANDSHAKE, CRYPTO_HS_CERTIFICATE);
        if (pair_deliver(s, c, 0) < 0)
            break;
    }
    return cert;
}

/* A full handshake against a server with tickets: one session stored. */
static void first_connection(store *st, crypto_tls_tickets *t, const uint16_t *suites,
                             const uint16_t *groups, bool early)
{
    side *c = client(1, st, NULL);
    side *s = server(2, t);
    c->cfg.cipher_suites = suites;
    c->cfg.groups = groups;
    s->cfg.early_data = early;
    static const uint8_t ctx[] = "limits v1";
    s->cfg.early_data_context = ctx;
    s->cfg.early_data_context_len = sizeof(ctx) - 1;
    side_start(c);
    side_start(s);
    assert_true(run(c, s));
    assert_true(crypto_tls_handshake_done(c->tls));
    assert_true(crypto_tls_handshake_done(s->tls));
    assert_false(crypto_tls_resumed(c->tls));
    assert_int_equal(st->count, 1);
    side_free(c);
    side_free(s);
}

/* Both ends agree on every secret they were given. */
static void assert_same_secrets(const side *c, const side *s)
{
    size_t hlen = crypto_hash_len(crypto_tls_suite(c->tls)->hash);
    for (int l = CRYPTO_LEVEL_HANDSHAKE; l <= CRYPTO_LEVEL_APP; l++)
        for (int w = 0; w < 2; w++) {
            assert_int_equal(c->secret_len[w][l], hlen);
            assert_memory_equal(c->secret[w][l], s->secret[!w][l], hlen);
        }
}

/* RFC 8446 §2.2: every suite with every group resumes, without certificates,
 * and the resumed connection gets a new ticket. */
static void test_resume_each_suite_and_group(void **state)
{
    (void)state;
    static const uint16_t suites[][2] = {{CRYPTO_TLS_AES_128_GCM_SHA256, 0},
                                         {CRYPTO_TLS_AES_256_GCM_SHA384, 0},
                                         {CRYPTO_TLS_CHACHA20_POLY1305_SHA256, 0}};
    static const uint16_t groups[][2] = {{CRYPTO_GROUP_X25519, 0}, {CRYPTO_GROUP_SECP256R1, 0}};
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 2; j++) {
            crypto_tls_tickets *t = tickets_new();
            store st1 = {0}, st2 = {0};
            first_connection(&st1, t, suites[i], groups[j], false);
            side *c = client(10, &st2, &st1);
            side *s = server(11, t);
            c->cfg.cipher_suites = suites[i];
            c->cfg.groups = groups[j];
            side_start(c);
            side_start(s);
            bool cert = run(c, s);
            assert_true(crypto_tls_handshake_done(c->tls));
            assert_true(crypto_tls_handshake_done(s->tls));
            assert_true(crypto_tls_resumed(c->tls));
            assert_true(crypto_tls_resumed(s->tls));
            assert_int_equal(crypto_tls_suite(c->tls)->id, suites[i][0]);
            assert_int_equal(crypto_tls_group(s->tls), groups[j][0]);
            assert_int_equal(crypto_tls_group(c->tls), groups[j][0]);
            assert_false(cert);
            assert_int_equal(crypto_tls_peer_cert_count(c->tls), 0);
            assert_same_secrets(c, s);
            assert_int_equal(crypto_tls_early_data(c->tls), CRYPTO_EARLY_NONE);
            assert_int_equal(st2.count, 1); /* a new ticket on the resumed connection */
            assert_int_equal(crypto_tls_tickets_get_stats(t)->resumed, 1);
            assert_int_equal(crypto_tls_tickets_get_stats(t)->issued, 2);
            side_free(c);
            side_free(s);
            crypto_tls_tickets_free(t);
        }
    }
}

/* RFC 8446 §4.2.9: psk_ke where both are configured for it (no key_share in the
 * ServerHello, the same secrets on both sides); psk_dhe_ke otherwise. */
static void test_psk_ke(void **state)
{
    (void)state;
    for (int server_ke = 0; server_ke < 2; server_ke++) {
        crypto_tls_tickets *t = tickets_new();
        store st1 = {0}, st2 = {0};
        first_connection(&st1, t, NULL, NULL, false);
        side *c = client(20, &st2, &st1);
        side *s = server(21, t);
        c->cfg.psk_ke = true;
        s->cfg.psk_ke = server_ke;
        side_start(c);
        side_start(s);
        run(c, s);
        assert_true(crypto_tls_resumed(c->tls));
        assert_true(crypto_tls_resumed(s->tls));
        assert_int_equal(crypto_tls_group(c->tls), server_ke ? 0 : CRYPTO_GROUP_X25519);
        assert_int_equal(crypto_tls_group(s->tls), server_ke ? 0 : CRYPTO_GROUP_X25519);
        assert_same_secrets(c, s);
        side_free(c);
        side_free(s);
        crypto_tls_tickets_free(t);
    }
}

/* A ticket from another server's keys, or one whose key was rotated out twice:
 * a full handshake (§4.2.11: the server may ignore a PSK it cannot use). */
static void test_other_key_and_rotation(void **state)
{
    (void)state;
    for (int variant = 0; variant < 3; variant++) {
        crypto_tls_tickets *t = tickets_new();
        crypto_tls_tickets *other = tickets_new();
        store st1 = {0}, st2 = {0};
        first_connection(&st1, t, NULL, NULL, false);
        if (variant == 1)
            crypto_tls_tickets_rotate(t, tenv.wall_clock);
        if (variant == 2) {
            crypto_tls_tickets_rotate(t, tenv.wall_clock);
            crypto_tls_tickets_rotate(t, tenv.wall_clock);
        }
        side *c = client(30, &st2, &st1);
        side *s = server(31, variant == 0 ? other : t);
        side_start(c);
        side_start(s);
        bool cert = run(c, s);
        assert_true(crypto_tls_handshake_done(c->tls));
        assert_true(crypto_tls_handshake_done(s->tls));
        bool resumes = variant == 1; /* the previous key still opens tickets */
        assert_int_equal(crypto_tls_resumed(s->tls), resumes);
        assert_int_equal(crypto_tls_resumed(c->tls), resumes);
        assert_int_equal(cert, !resumes);
        side_free(c);
        side_free(s);
        crypto_tls_tickets_free(t);
        crypto_tls_tickets_free(other);
    }
}

/* An expired ticket: the server (its clock past the lifetime) does a full
 * handshake; a client whose clock says so does not offer it. */
static void test_expired(void **state)
{
    (void)state;
    for (int who = 0; who < 2; who++) {
        crypto_tls_tickets *t = tickets_new();
        store st1 = {0}, st2 = {0};
        first_connection(&st1, t, NULL, NULL, false);
        side *c = client(40, &st2, &st1);
        side *s = server(41, t);
        if (who == 0)
            s->t.wall_clock += 3601;
        else
            c->t.wall_clock += 3601;
        side_start(c);
        side_start(s);
        size_t off, len;
        assert_true(side_find(c, CRYPTO_LEVEL_INITIAL, CRYPTO_HS_CLIENT_HELLO, &off, &len));
        crypto_tls_client_hello ch;
        assert_int_equal(crypto_tls_parse_client_hello(c->out[0] + off + 4, len - 4, &ch), 0);
        assert_int_equal((ch.exts & crypto_tls_ext_bit(CRYPTO_EXT_PRE_SHARED_KEY)) != 0, who == 0);
        run(c, s);
        assert_true(crypto_tls_handshake_done(s->tls));
        assert_false(crypto_tls_resumed(s->tls));
        assert_false(crypto_tls_resumed(c->tls));
        side_free(c);
        side_free(s);
        crypto_tls_tickets_free(t);
    }
}

/* A binder changed in flight: decrypt_error (RFC 8446 §4.2.11, §6.2). A ticket
 * changed in flight opens under no key: a full handshake. */
static void test_tampered(void **state)
{
    (void)state;
    for (int what = 0; what < 2; what++) {
        crypto_tls_tickets *t = tickets_new();
        store st1 = {0}, st2 = {0};
        first_connection(&st1, t, NULL, NULL, false);
        side *c = client(50, &st2, &st1);
        side *s = server(51, t);
        side_start(c);
        side_start(s);
        size_t off, len;
        assert_true(side_find(c, CRYPTO_LEVEL_INITIAL, CRYPTO_HS_CLIENT_HELLO, &off, &len));
        uint8_t *m = c->out[CRYPTO_LEVEL_INITIAL] + off;
        crypto_tls_client_hello ch;
        assert_int_equal(crypto_tls_parse_client_hello(m + 4, len - 4, &ch), 0);
        if (what == 0)
            m[len - 1] ^= 1; /* the binder's last byte */
        else
            ((uint8_t *)ch.psk_identity.p)[ch.psk_identity.len - 1] ^= 1; /* the ticket's tag */
        int rc = pair_deliver(c, s, 0);
        if (what == 0) {
            assert_int_equal(rc, CRYPTO_ERR_DECRYPT_ERROR);
            assert_int_equal(crypto_tls_alert(s->tls), CRYPTO_ALERT_DECRYPT_ERROR);
        } else {
            /* A full handshake: the server sends its certificate. (The client's
             * transcript has the hello as it sent it, so it then refuses the
             * server's Finished: the change did not go unnoticed.) */
            assert_int_equal(rc, 0);
            assert_false(crypto_tls_resumed(s->tls));
            assert_true(sent(s, CRYPTO_LEVEL_HANDSHAKE, CRYPTO_HS_CERTIFICATE));
            assert_int_equal(pair_deliver(s, c, 0), CRYPTO_ERR_DECRYPT_ERROR);
        }
        side_free(c);
        side_free(s);
        crypto_tls_tickets_free(t);
    }
}

/* 0-RTT keys: offered and accepted, the client's early write secret is the
 * server's early read secret; the key log names it. */
static void test_early_accepted(void **state)
{
    (void)state;
    crypto_tls_tickets *t = tickets_new();
    store st1 = {0}, st2 = {0};
    first_connection(&st1, t, NULL, NULL, true);
    crypto_tls_session ss;
    assert_int_equal(crypto_tls_session_parse(st1.data[0], st1.len[0], &ss), 0);
    assert_int_equal(ss.max_early_data, 0xffffffff); /* RFC 9001 §4.6.1 */
    assert_int_equal(ss.alpn.len, 2);
    side *c = client(60, &st2, &st1);
    side *s = server(61, t);
    c->cfg.early_data = true;
    s->cfg.early_data = true;
    static const uint8_t ctx[] = "limits v1";
    s->cfg.early_data_context = ctx;
    s->cfg.early_data_context_len = sizeof(ctx) - 1;
    side_start(c);
    assert_int_equal(crypto_tls_early_data(c->tls), CRYPTO_EARLY_OFFERED);
    assert_int_equal(c->secret_len[1][CRYPTO_LEVEL_EARLY], 32);
    size_t tp_len = 0;
    assert_non_null(crypto_tls_session_transport_params(c->tls, &tp_len));
    assert_int_equal(tp_len, strlen("server transport parameters"));
    assert_non_null(strstr(c->t.keylog, "CLIENT_EARLY_TRAFFIC_SECRET "));
    side_start(s);
    run(c, s);
    assert_int_equal(crypto_tls_early_data(s->tls), CRYPTO_EARLY_ACCEPTED);
    assert_int_equal(crypto_tls_early_data(c->tls), CRYPTO_EARLY_ACCEPTED);
    assert_int_equal(s->secret_len[0][CRYPTO_LEVEL_EARLY], 32);
    assert_memory_equal(c->secret[1][CRYPTO_LEVEL_EARLY], s->secret[0][CRYPTO_LEVEL_EARLY], 32);
    assert_same_secrets(c, s);
    assert_int_equal(crypto_tls_tickets_get_stats(t)->early_accepted, 1);
    side_free(c);
    side_free(s);
    crypto_tls_tickets_free(t);
}

/* The server's early-data context (QUIC transport parameters) or ALPN choice
 * changed since the ticket: the session resumes, its early data is refused. */
static void test_early_rejected_on_change(void **state)
{
    (void)state;
    static const char *const alpn_hq_h3[] = {"hq-interop", "h3", NULL};
    static const char *const alpn_h3_hq[] = {"h3", "hq-interop", NULL};
    for (int what = 0; what < 3; what++) {
        crypto_tls_tickets *t = tickets_new();
        store st1 = {0}, st2 = {0};
        first_connection(&st1, t, NULL, NULL, true);
        side *c = client(70, &st2, &st1);
        side *s = server(71, t);
        c->cfg.early_data = true;
        s->cfg.early_data = what != 2;
        static const uint8_t ctx1[] = "limits v1", ctx2[] = "limits v2";
        s->cfg.early_data_context = what == 0 ? ctx2 : ctx1;
        s->cfg.early_data_context_len = sizeof(ctx1) - 1;
        if (what == 1) {
            c->cfg.alpn = alpn_h3_hq;
            s->cfg.alpn = alpn_hq_h3; /* the server now picks hq-interop */
        }
        side_start(c);
        side_start(s);
        assert_int_equal(crypto_tls_early_data(c->tls), CRYPTO_EARLY_OFFERED);
        run(c, s);
        assert_true(crypto_tls_handshake_done(c->tls));
        assert_true(crypto_tls_resumed(s->tls));
        assert_int_equal(crypto_tls_early_data(s->tls), CRYPTO_EARLY_REJECTED);
        assert_int_equal(crypto_tls_early_data(c->tls), CRYPTO_EARLY_REJECTED);
        assert_int_equal(s->secret_len[0][CRYPTO_LEVEL_EARLY], 0);
        if (what == 1)
            assert_string_equal(crypto_tls_alpn(c->tls), "hq-interop");
        side_free(c);
        side_free(s);
        crypto_tls_tickets_free(t);
    }
    (void)alpn_h3;
}

/* RFC 8446 §8.2: the same ClientHello twice (a replay) gets early data once. */
static void test_replayed_client_hello(void **state)
{
    (void)state;
    crypto_tls_tickets *t = tickets_new();
    store st1 = {0}, st2 = {0};
    first_connection(&st1, t, NULL, NULL, true);
    side *c = client(80, &st2, &st1);
    c->cfg.early_data = true;
    side_start(c);
    size_t n = c->out_len[CRYPTO_LEVEL_INITIAL];
    uint8_t hello[4096];
    assert_true(n <= sizeof(hello));
    memcpy(hello, c->out[CRYPTO_LEVEL_INITIAL], n);
    crypto_early_data seen[2];
    for (int i = 0; i < 2; i++) {
        side *s = server(81 + (uint64_t)i, t);
        s->cfg.early_data = true;
        static const uint8_t ctx[] = "limits v1";
        s->cfg.early_data_context = ctx;
        s->cfg.early_data_context_len = sizeof(ctx) - 1;
        side_start(s);
        assert_int_equal(crypto_tls_recv(s->tls, CRYPTO_LEVEL_INITIAL, hello, n), 0);
        seen[i] = crypto_tls_early_data(s->tls);
        assert_true(crypto_tls_resumed(s->tls));
        side_free(s);
    }
    assert_int_equal(seen[0], CRYPTO_EARLY_ACCEPTED);
    assert_int_equal(seen[1], CRYPTO_EARLY_REJECTED);
    assert_int_equal(crypto_tls_tickets_get_stats(t)->early_replayed, 1);
    side_free(c);
    crypto_tls_tickets_free(t);
}

/* A HelloRetryRequest: the second ClientHello's binder covers it, and the
 * session still resumes (without early data, §4.2.10). */
static void test_resume_after_hrr(void **state)
{
    (void)state;
    crypto_tls_tickets *t = tickets_new();
    store st1 = {0}, st2 = {0};
    first_connection(&st1, t, NULL, NULL, true);
    side *c = client(90, &st2, &st1);
    side *s = server(91, t);
    static const uint16_t p256[] = {CRYPTO_GROUP_SECP256R1, 0};
    s->cfg.groups = p256;
    c->cfg.early_data = true;
    s->cfg.early_data = true;
    side_start(c);
    side_start(s);
    run(c, s);
    assert_true(crypto_tls_handshake_done(c->tls));
    assert_true(crypto_tls_handshake_done(s->tls));
    assert_true(crypto_tls_used_hrr(s->tls));
    assert_true(crypto_tls_resumed(s->tls));
    assert_true(crypto_tls_resumed(c->tls));
    assert_int_equal(crypto_tls_early_data(c->tls), CRYPTO_EARLY_REJECTED);
    assert_same_secrets(c, s);
    side_free(c);
    side_free(s);
    crypto_tls_tickets_free(t);
}

/* Stored sessions that do not parse, or name another server, are not offered. */
static void test_unusable_sessions(void **state)
{
    (void)state;
    crypto_tls_tickets *t = tickets_new();
    store st1 = {0}, st2 = {0};
    first_connection(&st1, t, NULL, NULL, false);
    for (int what = 0; what < 3; what++) {
        store bad = st1;
        side *c = client(100, &st2, &bad);
        if (what == 0)
            c->cfg.session_len -= 1;
        else if (what == 1)
            bad.data[0][0] = 9; /* another version */
        else
            c->cfg.server_name = "other.test";
        side_start(c);
        size_t off, len;
        assert_true(side_find(c, CRYPTO_LEVEL_INITIAL, CRYPTO_HS_CLIENT_HELLO, &off, &len));
        crypto_tls_client_hello ch;
        assert_int_equal(crypto_tls_parse_client_hello(c->out[0] + off + 4, len - 4, &ch), 0);
        assert_int_equal(ch.exts & crypto_tls_ext_bit(CRYPTO_EXT_PRE_SHARED_KEY), 0);
        side_free(c);
    }
    crypto_tls_tickets_free(t);
}

/* The formats round-trip, and parsers refuse every truncation. */
static void test_formats(void **state)
{
    (void)state;
    uint8_t psk[32], buf[512];
    memset(psk, 7, sizeof(psk));
    tls_ticket_state st = {.suite = CRYPTO_TLS_AES_128_GCM_SHA256,
                           .issued_ms = 1795478400,
                           .lifetime = 7200,
                           .age_add = 0xdeadbeef,
                           .max_early_data = 0xffffffff,
                           .psk = {psk, 32},
                           .alpn = {(const uint8_t *)"h3", 2},
                           .sni = {(const uint8_t *)"example.test", 12},
                           .context = {(const uint8_t *)"ctx", 3}};
    int n = crypto_tls_ticket_state_encode(&st, buf, sizeof(buf));
    assert_true(n > 0);
    tls_ticket_state back;
    assert_int_equal(crypto_tls_ticket_state_parse(buf, (size_t)n, &back), 0);
    assert_int_equal(back.age_add, 0xdeadbeef);
    assert_int_equal(back.issued_ms, 1795478400);
    assert_memory_equal(back.sni.p, "example.test", 12);
    for (int i = 0; i < n; i++)
        assert_int_equal(crypto_tls_ticket_state_parse(buf, (size_t)i, &back),
                         CRYPTO_ERR_DECODE_ERROR);
    st.psk.len = 31; /* not the suite's hash length */
    n = crypto_tls_ticket_state_encode(&st, buf, sizeof(buf));
    assert_int_equal(crypto_tls_ticket_state_parse(buf, (size_t)n, &back), CRYPTO_ERR_DECODE_ERROR);

    crypto_tls_session ss = {.suite = CRYPTO_TLS_AES_256_GCM_SHA384,
                             .received_ms = 5,
                             .lifetime = 100,
                             .psk = {buf + 100, 48},
                             .ticket = {(const uint8_t *)"T", 1},
                             .alpn = {(const uint8_t *)"h3", 2},
                             .transport_params = {(const uint8_t *)"tp", 2}};
    uint8_t sbuf[512];
    n = crypto_tls_session_encode(&ss, sbuf, sizeof(sbuf));
    assert_true(n > 0);
    crypto_tls_session sback;
    assert_int_equal(crypto_tls_session_parse(sbuf, (size_t)n, &sback), 0);
    assert_int_equal(sback.psk.len, 48);
    assert_int_equal(sback.transport_params.len, 2);
    for (int i = 0; i < n; i++)
        assert_int_equal(crypto_tls_session_parse(sbuf, (size_t)i, &sback), CRYPTO_ERR_PARSE);
    assert_int_equal(crypto_tls_session_encode(&ss, sbuf, 10), CRYPTO_ERR_BUFFER_TOO_SMALL);
}

/* A NewSessionTicket in QUIC whose early_data is not 0xffffffff is a
 * PROTOCOL_VIOLATION (RFC 9001 §4.6.1); a lifetime over 7 days is illegal. */
static void test_bad_tickets(void **state)
{
    (void)state;
    for (int what = 0; what < 2; what++) {
        store st = {0};
        side *c = client(110, &st, NULL);
        side *s = side_new(true, 111);
        side_start(c);
        side_start(s);
        run(c, s);
        assert_true(crypto_tls_handshake_done(c->tls));
        uint8_t msg[128];
        int n = crypto_tls_encode_new_session_ticket(
            what == 0 ? 60 : 604801, 1, (const uint8_t *)"n", 1, (const uint8_t *)"ticket", 6,
            what == 0 ? 16384 : 0, msg, sizeof(msg));
        assert_true(n > 0);
        int rc = crypto_tls_recv(c->tls, CRYPTO_LEVEL_APP, msg, (size_t)n);
        assert_int_equal(rc, what == 0 ? CRYPTO_ERR_QUIC_PROTOCOL_VIOLATION
                                       : CRYPTO_ERR_ILLEGAL_PARAMETER);
        assert_int_equal(st.count, 0);
        side_free(c);
        side_free(s);
    }
}

static int setup(void **state)
{
    test_env_init(&tenv, 4242);
    return fixture_setup(state);
}

static int teardown(void **state)
{
    test_env_check_leaks(&tenv);
    return fixture_teardown(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resume_each_suite_and_group),
        cmocka_unit_test(test_psk_ke),
        cmocka_unit_test(test_other_key_and_rotation),
        cmocka_unit_test(test_expired),
        cmocka_unit_test(test_tampered),
        cmocka_unit_test(test_early_accepted),
        cmocka_unit_test(test_early_rejected_on_change),
        cmocka_unit_test(test_replayed_client_hello),
        cmocka_unit_test(test_resume_after_hrr),
        cmocka_unit_test(test_unusable_sessions),
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_bad_tickets),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
