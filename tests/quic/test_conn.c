/* Tests for quic/conn*.c and quic/stream.c: crafted frames and the CONNECTION_CLOSE code the peer
 * gets (RFC 9000 §4, §19, §20). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "crypto/backend.h"
#include "crypto/tls_msg.h"
#include "quic/conn_internal.h"
#include "quic/packet.h"
#include "base/varint.h"
#include "tests/common/test_env.h"

static test_env cert_env;
static uint8_t *ca_der, *ca_key_der, *leaf_der, *leaf_key_der;
static size_t ca_len, ca_key_len, leaf_len, leaf_key_len;
static crypto_privkey *ca_key, *leaf_key;
static crypto_x509_store *store;
static const uint8_t *chain[1];
static size_t chain_lens[1];
static const char *const alpn[] = {"h3", NULL};

static int setup(void **state)
{
    (void)state;
    test_env_init(&cert_env, 5);
    int64_t now = cert_env.wall_clock;
    crypto_cert_params ca = {.common_name = "CA",
                             .not_before_unix = now - 86400,
                             .not_after_unix = now + 86400 * 30,
                             .is_ca = true};
    assert_int_equal(crypto_cert_generate(&cert_env.env, &ca, &ca_der, &ca_len, &ca_key_der,
                                          &ca_key_len, &ca_key),
                     0);
    crypto_cert_params leaf = {.common_name = "example.test",
                               .dns_name = "example.test",
                               .not_before_unix = now - 86400,
                               .not_after_unix = now + 86400 * 10,
                               .issuer_der = ca_der,
                               .issuer_der_len = ca_len,
                               .issuer_key = ca_key};
    assert_int_equal(crypto_cert_generate(&cert_env.env, &leaf, &leaf_der, &leaf_len, &leaf_key_der,
                                          &leaf_key_len, &leaf_key),
                     0);
    store = crypto_x509_store_new(&cert_env.env);
    assert_int_equal(crypto_x509_store_add(store, ca_der, ca_len), 0);
    chain[0] = leaf_der;
    chain_lens[0] = leaf_len;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    const quince_env *env = &cert_env.env;
    crypto_x509_store_free(env, store);
    quince_env_free(env, ca_der);
    quince_env_free(env, ca_key_der);
    quince_env_free(env, leaf_der);
    quince_env_free(env, leaf_key_der);
    crypto_privkey_free(env, ca_key);
    crypto_privkey_free(env, leaf_key);
    test_env_check_leaks(&cert_env);
    return 0;
}

typedef struct pair {
    test_env t;
    quic_config cc, sc;
    quic_conn *c, *s;
    uint64_t now;
    uint8_t buf[2048];
} pair;

static void pair_init(pair *p)
{
    memset(p, 0, sizeof(*p));
    test_env_init(&p->t, 77);
    p->cc.tls.alpn = alpn;
    p->cc.tls.server_name = "example.test";
    p->cc.tls.ca_store = store;
    p->sc.is_server = true;
    p->sc.tls.alpn = alpn;
    p->sc.tls.cert_chain = chain;
    p->sc.tls.cert_chain_lens = chain_lens;
    p->sc.tls.cert_chain_count = 1;
    p->sc.tls.private_key = leaf_key;
    p->now = 1000000;
}

/* Move every datagram one way; returns how many. */
static int flow(pair *p, quic_conn *from, quic_conn **to, bool to_server)
{
    int count = 0;
    for (;;) {
        int n = quic_conn_send(from, NULL, p->buf, sizeof(p->buf), p->now);
        assert_true(n >= 0);
        if (n == 0)
            break;
        count++;
        if (*to == NULL && to_server) {
            *to = quic_conn_accept(&p->t.env, &p->sc, NULL, NULL, p->buf, (size_t)n, p->now);
            assert_non_null(*to);
        } else if (*to != NULL) {
            quic_conn_recv(*to, NULL, p->buf, (size_t)n, p->now);
        }
    }
    return count;
}

static void pump(pair *p)
{
    for (int i = 0; i < 50; i++) {
        p->now += 1000;
        int a = flow(p, p->c, &p->s, true);
        int b = p->s != NULL ? flow(p, p->s, &p->c, false) : 0;
        if (a == 0 && b == 0) {
            /* Let delayed ACKs go out. */
            p->now += 30000;
            if (p->s != NULL)
                quic_conn_on_timeout(p->s, p->now);
            quic_conn_on_timeout(p->c, p->now);
            if (flow(p, p->c, &p->s, true) == 0 && flow(p, p->s, &p->c, false) == 0)
                return;
        }
    }
}

static void pair_start(pair *p)
{
    p->c = quic_conn_client_new(&p->t.env, &p->cc, NULL, NULL, p->now);
    assert_non_null(p->c);
    pump(p);
    assert_true(quic_conn_is_established(p->c));
    assert_true(quic_conn_is_established(p->s));
    assert_true(p->c->handshake_confirmed);
}

static void pair_free(pair *p)
{
    quic_conn_free(p->c);
    quic_conn_free(p->s);
    test_env_check_leaks(&p->t);
}

/* Protect frames as a 1-RTT packet of from (with its own keys and numbers). */
static size_t craft(quic_conn *from, const uint8_t *frames, size_t len, uint8_t *out, size_t cap)
{
    quince_writer w = quince_writer_init(out, cap);
    quic_pkt_builder b;
    const quic_cid_value *dcid = &from->pcid[from->pcid_cur].cid;
    uint64_t pn = from->sp[SP_APP].next_pn++;
    assert_true(
        quic_pkt_build_short(&w, &b, dcid->bytes, dcid->len, pn, 4, false, from->key_phase));
    assert_true(quince_put_bytes(&w, frames, len));
    assert_true(quic_pkt_finish(&w, &b, 16));
    size_t pn_offset = (size_t)(b.pn_at - b.start);
    size_t payload_len = (size_t)(w.p - b.pn_at) - b.pn_len;
    int n = crypto_pp_protect(&from->tx[CRYPTO_LEVEL_APP], out, cap, pn_offset, pn, payload_len);
    assert_true(n > 0);
    /* Recorded as sent, so that the peer's ACK of it is legitimate. */
    assert_int_equal(quic_recovery_on_packet_sent(&from->rec, SP_APP, pn, (uint32_t)n, true, true,
                                                  0, from->last_now),
                     0);
    return (size_t)n;
}

/* The client sends frames to the server; returns the close code the client then receives. */
static uint64_t close_code_for(pair *p, const uint8_t *frames, size_t len, uint64_t *frame_type)
{
    uint8_t pkt[1500];
    size_t n = craft(p->c, frames, len, pkt, sizeof(pkt));
    quic_conn_recv(p->s, NULL, pkt, n, p->now);
    int k = quic_conn_send(p->s, NULL, p->buf, sizeof(p->buf), p->now);
    assert_true(k > 0);
    quic_conn_recv(p->c, NULL, p->buf, (size_t)k, p->now);
    quic_event ev;
    bool found = false;
    uint64_t code = 0;
    while (quic_conn_poll_event(p->c, &ev))
        if (ev.type == QUIC_EVENT_CLOSED) {
            assert_true(ev.by_peer);
            assert_false(ev.is_app);
            code = ev.error_code;
            found = true;
        }
    assert_true(found);
    if (frame_type != NULL)
        *frame_type = p->s->close_frame_type;
    return code;
}

static size_t put(uint8_t *b, size_t off, uint64_t v)
{
    quince_writer w = quince_writer_init(b + off, 8);
    assert_true(quince_put_varint(&w, v));
    return off + (size_t)(w.p - (b + off));
}

static void expect_close(pair *p, const uint8_t *frames, size_t len, uint64_t code)
{
    uint64_t ft;
    assert_int_equal(close_code_for(p, frames, len, &ft), code);
}

static void test_handshake_in_memory(void **state)
{
    (void)state;
    pair p;
    pair_init(&p);
    pair_start(&p);
    /* RFC 9001 §4.9: both sides dropped Initial and Handshake keys. */
    assert_true(p.c->sp[SP_INITIAL].discarded && p.c->sp[SP_HANDSHAKE].discarded);
    assert_true(p.s->sp[SP_INITIAL].discarded && p.s->sp[SP_HANDSHAKE].discarded);
    assert_string_equal(quic_conn_alpn(p.c), "h3");
    /* Transport parameters reached both sides. */
    assert_int_equal(p.c->peer_tp.initial_max_streams_bidi, QUIC_OPT_INITIAL_MAX_STREAMS_BIDI);
    assert_true(p.c->peer_tp.has_original_dcid);
    pair_free(&p);
}

/* RFC 9000 §4.6: a stream beyond the advertised limit. */
static void test_stream_limit_error(void **state)
{
    (void)state;
    pair p;
    pair_init(&p);
    pair_start(&p);
    uint8_t f[32];
    size_t n = put(f, 0, 0x0a); /* STREAM with LEN */
    n = put(f, n, 4 * QUIC_OPT_INITIAL_MAX_STREAMS_BIDI);
    n = put(f, n, 1);
    f[n++] = 'x';
    uint64_t ft;
    assert_int_equal(close_code_for(&p, f, n, &ft), QUIC_TE_STREAM_LIMIT_ERROR);
    assert_int_equal(ft, 0x0a);
    pair_free(&p);
}

/* RFC 9000 §4.1: stream data past MAX_STREAM_DATA. */
static void test_stream_flow_control_error(void **state)
{
    (void)state;
    pair p;
    pair_init(&p);
    p.sc.initial_max_stream_data_bidi_remote = 1000;
    pair_start(&p);
    uint8_t f[32];
    size_t n = put(f, 0, 0x0e); /* STREAM with OFF and LEN */
    n = put(f, n, 0);
    n = put(f, n, 1000);
    n = put(f, n, 1);
    f[n++] = 'x';
    expect_close(&p, f, n, QUIC_TE_FLOW_CONTROL_ERROR);
    pair_free(&p);
}

/* RFC 9000 §4.1: connection-level limit across two streams. */
static void test_connection_flow_control_error(void **state)
{
    (void)state;
    pair p;
    pair_init(&p);
    p.sc.initial_max_data = 1500;
    pair_start(&p);
    uint8_t f[1300];
    size_t n = put(f, 0, 0x0e);
    n = put(f, n, 0);
    n = put(f, n, 800);
    n = put(f, n, 400);
    memset(f + n, 'a', 400);
    n += 400; /* stream 0: 1200 counted (offset 800 + 400) */
    n = put(f, n, 0x0e);
    n = put(f, n, 4);
    n = put(f, n, 0);
    n = put(f, n, 301);
    memset(f + n, 'b', 301);
    n += 301;
    expect_close(&p, f, n, QUIC_TE_FLOW_CONTROL_ERROR);
    pair_free(&p);
}

/* RFC 9000 §19.8, §19.10: frames for the wrong half of a unidirectional stream. */
static void test_stream_state_errors(void **state)
{
    (void)state;
    pair p;
    pair_init(&p);
    pair_start(&p);
    uint8_t f[32];
    /* STREAM on stream 3: the server's own unidirectional stream, not opened. */
    size_t n = put(f, 0, 0x0b);
    n = put(f, n, 3);
    n = put(f, n, 1);
    f[n++] = 'x';
    expect_close(&p, f, n, QUIC_TE_STREAM_STATE_ERROR);
    pair_free(&p);

    pair_init(&p);
    pair_start(&p);
    /* MAX_STREAM_DATA for stream 2: the client's uni stream is receive-only for the server. */
    n = put(f, 0, QUIC_FT_MAX_STREAM_DATA);
    n = put(f, n, 2);
    n = put(f, n, 5000);
    expect_close(&p, f, n, QUIC_TE_STREAM_STATE_ERROR);
    pair_free(&p);

    pair_init(&p);
    pair_start(&p);
    /* STOP_SENDING for the client's uni stream 2 (no send half at the server). */
    n = put(f, 0, QUIC_FT_STOP_SENDING);
    n = put(f, n, 2);
    n = put(f, n, 7);
    expect_close(&p, f, n, QUIC_TE_STREAM_STATE_ERROR);
    pair_free(&p);
}

/* RFC 9000 §4.5 */
static void test_final_size_errors(void **state)
{
    (void)state;
    pair p;
    pair_init(&p);
    pair_start(&p);
    uint8_t f[64];
    size_t n = put(f, 0, 0x0b); /* STREAM LEN FIN, stream 0, 4 bytes */
    n = put(f, n, 0);
    n = put(f, n, 4);
    memcpy(f + n, "abcd", 4);
    n += 4;
    n = put(f, n, 0x0e); /* then data past the final size */
    n = put(f, n, 0);
    n = put(f, n, 4);
    n = put(f, n, 2);
    memcpy(f + n, "ef", 2);
    n += 2;
    expect_close(&p, f, n, QUIC_TE_FINAL_SIZE_ERROR);
    pair_free(&p);

    pair_init(&p);
    pair_start(&p);
    /* RESET_STREAM with a final size below the bytes received. */
    n = put(f, 0, 0x0a);
    n = put(f, n, 0);
    n = put(f, n, 6);
    memcpy(f + n, "abcdef", 6);
    n += 6;
    n = put(f, n, QUIC_FT_RESET_STREAM);
    n = put(f, n, 0);
    n = put(f, n, 9);
    n = put(f, n, 3);
    expect_close(&p, f, n, QUIC_TE_FINAL_SIZE_ERROR);
    pair_free(&p);
}

static void test_protocol_violations(void **state)
{
    (void)state;
    static const uint64_t frames[][4] = {
        {QUIC_FT_HANDSHAKE_DONE, 0, 0, 1},        /* §19.20: from a client */
        {QUIC_FT_NEW_TOKEN, 1, 0x55, 3},          /* §19.7: from a client */
        {QUIC_FT_RETIRE_CONNECTION_ID, 50, 0, 2}, /* §19.16: never issued */
        {QUIC_FT_ACK, 1000, 0, 3},                /* §13.1: acknowledges an unsent packet */
    };
    for (size_t i = 0; i < sizeof(frames) / sizeof(frames[0]); i++) {
        pair p;
        pair_init(&p);
        pair_start(&p);
        uint8_t f[32];
        size_t n = 0;
        for (uint64_t k = 0; k < frames[i][3]; k++)
            n = put(f, n, frames[i][k]);
        if (frames[i][0] == QUIC_FT_ACK) {
            n = put(f, n, 0); /* range count */
            n = put(f, n, 0); /* first range */
        }
        expect_close(&p, f, n, QUIC_TE_PROTOCOL_VIOLATION);
        pair_free(&p);
    }
    /* RFC 9221 §3: DATAGRAM that was not negotiated. */
    pair p;
    pair_init(&p);
    pair_start(&p);
    uint8_t f[8];
    size_t n = put(f, 0, QUIC_FT_DATAGRAM_LEN);
    n = put(f, n, 1);
    f[n++] = 'd';
    expect_close(&p, f, n, QUIC_TE_PROTOCOL_VIOLATION);
    pair_free(&p);
}

static void test_frame_encoding_and_crypto_buffer(void **state)
{
    (void)state;
    pair p;
    pair_init(&p);
    pair_start(&p);
    uint8_t f[16];
    size_t n = put(f, 0, 0x40); /* unknown frame type */
    expect_close(&p, f, n, QUIC_TE_FRAME_ENCODING_ERROR);
    pair_free(&p);

    pair_init(&p);
    pair_start(&p);
    /* RFC 9000 §7.5: CRYPTO data far beyond what we buffer. */
    n = put(f, 0, QUIC_FT_CRYPTO);
    n = put(f, n, 10 * 1024 * 1024);
    n = put(f, n, 1);
    f[n++] = 0;
    expect_close(&p, f, n, QUIC_TE_CRYPTO_BUFFER_EXCEEDED);
    pair_free(&p);

    pair_init(&p);
    pair_start(&p);
    /* MAX_STREAMS above 2^60 (RFC 9000 §19.11). */
    n = put(f, 0, QUIC_FT_MAX_STREAMS_BIDI);
    n = put(f, n, ((uint64_t)1 << 60) + 1);
    expect_close(&p, f, n, QUIC_TE_FRAME_ENCODING_ERROR);
    pair_free(&p);
}

/* Streams through the API: data, FIN, reset, stop sending, events. */
static void test_stream_api(void **state)
{
    (void)state;
    pair p;
    pair_init(&p);
    pair_start(&p);
    uint64_t a, b;
    assert_int_equal(quic_conn_open_stream(p.c, true, &a), 0);
    assert_int_equal(a, 0);
    assert_int_equal(quic_conn_open_stream(p.c, false, &b), 0);
    assert_int_equal(b, 2);
    assert_int_equal(quic_stream_write(p.c, a, (const uint8_t *)"hello", 5, true), 5);
    assert_int_equal(quic_stream_write(p.c, b, (const uint8_t *)"uni", 3, false), 3);
    /* A unidirectional stream of ours cannot be read. */
    uint8_t buf[16];
    bool fin;
    assert_int_equal(quic_stream_read(p.c, b, buf, sizeof(buf), &fin), QUIC_ERR_ARGUMENT);
    pump(&p);
    quic_event ev;
    int opened = 0, readable = 0;
    while (quic_conn_poll_event(p.s, &ev)) {
        if (ev.type == QUIC_EVENT_STREAM_OPENED)
            opened++;
        if (ev.type == QUIC_EVENT_STREAM_READABLE)
            readable++;
    }
    assert_int_equal(opened, 2);
    assert_int_equal(readable, 2);
    assert_int_equal(quic_stream_read(p.s, a, buf, sizeof(buf), &fin), 5);
    assert_true(fin);
    assert_memory_equal(buf, "hello", 5);
    assert_int_equal(quic_stream_read(p.s, b, buf, sizeof(buf), &fin), 3);
    assert_false(fin);
    /* The server stops the uni stream; the client is told and resets it. */
    assert_int_equal(quic_stream_stop_sending(p.s, b, 77), 0);
    pump(&p);
    bool stop = false;
    while (quic_conn_poll_event(p.c, &ev))
        if (ev.type == QUIC_EVENT_STREAM_STOP_SENDING) {
            assert_int_equal(ev.stream_id, b);
            assert_int_equal(ev.error_code, 77);
            stop = true;
        }
    assert_true(stop);
    bool reset = false;
    while (quic_conn_poll_event(p.s, &ev))
        if (ev.type == QUIC_EVENT_STREAM_RESET) {
            assert_int_equal(ev.stream_id, b);
            assert_int_equal(ev.error_code, 77);
            /* RFC 9000 §4.5: the 3 bytes sent before the reset. */
            assert_int_equal(ev.final_size, 3);
            reset = true;
        }
    assert_true(reset);
    /* Write on a finished stream fails. */
    assert_int_equal(quic_stream_write(p.c, a, (const uint8_t *)"x", 1, false), QUIC_ERR_ARGUMENT);
    pair_free(&p);
}

/* RFC 9000 §4.6: opening more streams than allowed, then MAX_STREAMS lets us go on. */
static void test_stream_limit_local(void **state)
{
    (void)state;
    pair p;
    pair_init(&p);
    p.sc.initial_max_streams_uni = 2;
    pair_start(&p);
    uint64_t id;
    assert_int_equal(quic_conn_open_stream(p.c, false, &id), 0);
    assert_int_equal(quic_stream_write(p.c, id, (const uint8_t *)"a", 1, true), 1);
    assert_int_equal(quic_conn_open_stream(p.c, false, &id), 0);
    assert_int_equal(quic_stream_write(p.c, id, (const uint8_t *)"b", 1, true), 1);
    assert_int_equal(quic_conn_open_stream(p.c, false, &id), QUIC_ERR_LIMIT);
    pump(&p);
    quic_event ev;
    uint8_t buf[4];
    bool fin;
    while (quic_conn_poll_event(p.s, &ev))
        if (ev.type == QUIC_EVENT_STREAM_READABLE)
            assert_int_equal(quic_stream_read(p.s, ev.stream_id, buf, sizeof(buf), &fin), 1);
    pump(&p);
    assert_int_equal(quic_conn_open_stream(p.c, false, &id), 0);
    assert_int_equal(id, 10);
    pair_free(&p);
}

/* RFC 9000 §10.2: an application close reaches the peer with its code and reason. */
static void test_application_close(void **state)
{
    (void)state;
    pair p;
    pair_init(&p);
    pair_start(&p);
    assert_int_equal(quic_conn_close(p.c, 0x1234, "bye", p.now), 0);
    pump(&p);
    quic_event ev;
    bool seen = false;
    while (quic_conn_poll_event(p.s, &ev))
        if (ev.type == QUIC_EVENT_CLOSED) {
            assert_true(ev.is_app);
            assert_true(ev.by_peer);
            assert_int_equal(ev.error_code, 0x1234);
            assert_int_equal(ev.len, 3);
            assert_memory_equal(ev.data, "bye", 3);
            seen = true;
        }
    assert_true(seen);
    assert_false(quic_conn_is_closed(p.s));
    p.now += 10 * 1000 * 1000;
    quic_conn_on_timeout(p.s, p.now);
    quic_conn_on_timeout(p.c, p.now);
    assert_true(quic_conn_is_closed(p.s));
    assert_true(quic_conn_is_closed(p.c));
    pair_free(&p);
}

/* RFC 9000 §7.3: the server's original_destination_connection_id must match. */
static void test_transport_parameter_cid_mismatch(void **state)
{
    (void)state;
    pair p;
    pair_init(&p);
    p.c = quic_conn_client_new(&p.t.env, &p.cc, NULL, NULL, p.now);
    assert_non_null(p.c);
    assert_int_equal(flow(&p, p.c, &p.s, true), 1);
    p.c->original_dcid.bytes[0] ^= 0xff; /* the client now remembers another ODCID */
    pump(&p);
    quic_event ev;
    bool client_closed = false, server_closed = false;
    while (quic_conn_poll_event(p.c, &ev))
        if (ev.type == QUIC_EVENT_CLOSED) {
            assert_false(ev.by_peer);
            assert_int_equal(ev.error_code, QUIC_TE_TRANSPORT_PARAMETER_ERROR);
            client_closed = true;
        }
    while (quic_conn_poll_event(p.s, &ev))
        if (ev.type == QUIC_EVENT_CLOSED) {
            assert_true(ev.by_peer);
            assert_int_equal(ev.error_code, QUIC_TE_TRANSPORT_PARAMETER_ERROR);
            server_closed = true;
        }
    assert_true(client_closed);
    assert_true(server_closed);
    assert_false(quic_conn_is_established(p.s));
    pair_free(&p);
}

/* RFC 9221: datagrams both ways, and the bounded send queue. */
static void test_datagrams(void **state)
{
    (void)state;
    pair p;
    pair_init(&p);
    p.cc.max_datagram_frame_size = 1200;
    p.sc.max_datagram_frame_size = 1200;
    p.cc.max_datagram_queue = 4;
    pair_start(&p);
    size_t max = quic_conn_max_datagram_payload(p.c);
    assert_true(max > 1000 && max <= 1197);
    uint8_t big[1300] = {0};
    assert_int_equal(quic_conn_send_datagram(p.c, big, max + 1), QUIC_ERR_ARGUMENT);
    for (int i = 0; i < 4; i++) {
        uint8_t d[3] = {'d', 'g', (uint8_t)i};
        assert_int_equal(quic_conn_send_datagram(p.c, d, 3), 0);
    }
    assert_int_equal(quic_conn_send_datagram(p.c, big, 10), QUIC_ERR_LIMIT);
    pump(&p);
    quic_event ev;
    int got = 0;
    while (quic_conn_poll_event(p.s, &ev))
        if (ev.type == QUIC_EVENT_DATAGRAM) {
            assert_int_equal(ev.len, 3);
            assert_int_equal(ev.data[2], got);
            got++;
        }
    assert_int_equal(got, 4);
    assert_int_equal(quic_conn_send_datagram(p.s, (const uint8_t *)"back", 4), 0);
    pump(&p);
    bool back = false;
    while (quic_conn_poll_event(p.c, &ev))
        if (ev.type == QUIC_EVENT_DATAGRAM) {
            assert_memory_equal(ev.data, "back", 4);
            back = true;
        }
    assert_true(back);
    pair_free(&p);
}

/* RFC 9001 §6: a key update started by each side in turn, with traffic after each. */
static void test_key_update_api(void **state)
{
    (void)state;
    pair p;
    pair_init(&p);
    pair_start(&p);
    assert_int_equal(quic_conn_key_update(p.c), 0);
    /* A second update before the first was acknowledged is refused. */
    assert_int_equal(quic_conn_key_update(p.c), QUIC_ERR_ARGUMENT);
    uint64_t id;
    assert_int_equal(quic_conn_open_stream(p.c, true, &id), 0);
    assert_int_equal(quic_stream_write(p.c, id, (const uint8_t *)"x", 1, false), 1);
    pump(&p);
    assert_true(p.s->key_phase);
    assert_true(p.c->rx_phase);
    assert_int_equal(quic_conn_key_update(p.s), 0);
    assert_int_equal(quic_stream_write(p.s, id, (const uint8_t *)"y", 1, true), 1);
    pump(&p);
    assert_false(p.c->key_phase);
    assert_false(p.s->rx_phase);
    assert_int_equal(quic_conn_get_stats(p.c)->key_updates, 2);
    assert_int_equal(quic_conn_get_stats(p.s)->key_updates, 2);
    assert_false(quic_conn_is_closed(p.c));
    pair_free(&p);
}

/* RFC 9000 §4.1-§4.2: small windows, DATA_BLOCKED / STREAM_DATA_BLOCKED, then updates. */
static void test_flow_control_updates(void **state)
{
    (void)state;
    pair p;
    pair_init(&p);
    p.sc.initial_max_data = 1500;
    p.sc.initial_max_stream_data_bidi_remote = 1000;
    pair_start(&p);
    uint64_t a, b;
    assert_int_equal(quic_conn_open_stream(p.c, true, &a), 0);
    assert_int_equal(quic_conn_open_stream(p.c, true, &b), 0);
    static uint8_t data[10000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 7);
    assert_int_equal(quic_stream_write(p.c, a, data, sizeof(data), true), sizeof(data));
    assert_int_equal(quic_stream_write(p.c, b, data, sizeof(data), true), sizeof(data));
    pump(&p);
    /* Blocked: 1000 on stream a (its limit), 500 on b (the connection's). */
    assert_int_equal(p.c->data_sent, 1500);
    assert_int_equal(p.c->data_blocked_at, 1500);
    uint64_t got[2] = {0, 0};
    bool fin[2] = {false, false};
    uint8_t buf[4096];
    for (int round = 0; round < 200 && !(fin[0] && fin[1]); round++) {
        for (int k = 0; k < 2; k++) {
            uint64_t id = k == 0 ? a : b;
            int64_t n;
            bool f = false;
            while (!fin[k] && (n = quic_stream_read(p.s, id, buf, sizeof(buf), &f)) >= 0) {
                assert_memory_equal(buf, data + got[k], (size_t)n);
                got[k] += (uint64_t)n;
                if (f)
                    fin[k] = true;
                if (n == 0)
                    break;
            }
        }
        pump(&p);
    }
    assert_true(fin[0] && fin[1]);
    assert_int_equal(got[0], sizeof(data));
    assert_int_equal(got[1], sizeof(data));
    /* The windows moved: MAX_DATA and MAX_STREAM_DATA were sent. */
    assert_true(p.s->max_data >= 2 * sizeof(data));
    pair_free(&p);
}

/* Build an Initial datagram of the client's with the given payload, padded to 1200. */
static size_t craft_initial(quic_conn *c, uint64_t pn, const uint8_t *frames, size_t len,
                            uint8_t *out, size_t cap)
{
    quince_writer w = quince_writer_init(out, cap - 16);
    quic_pkt_builder b;
    const quic_cid_value *dcid = &c->pcid[0].cid;
    assert_true(quic_pkt_build_long(&w, &b, QUIC_PKT_INITIAL, QUIC_VERSION_1, dcid->bytes,
                                    dcid->len, c->initial_scid.bytes, c->initial_scid.len, NULL, 0,
                                    pn, 2));
    assert_true(quince_put_bytes(&w, frames, len));
    assert_true(quic_pkt_pad_to(&w, out, QUIC_MIN_INITIAL_DATAGRAM, 16));
    assert_true(quic_pkt_finish(&w, &b, 16));
    size_t pn_offset = (size_t)(b.pn_at - b.start);
    size_t payload_len = (size_t)(w.p - b.pn_at) - b.pn_len;
    int n = crypto_pp_protect(&c->tx[CRYPTO_LEVEL_INITIAL], out, cap, pn_offset, pn, payload_len);
    assert_true(n >= 1200);
    return (size_t)n;
}

/* A ClientHello cut into a dozen CRYPTO fragments sent out of order over two
 * Initials with skipped packet numbers, PING and PADDING (as Chromium does). */
static void test_crypto_fragments_out_of_order(void **state)
{
    (void)state;
    pair p;
    pair_init(&p);
    p.c = quic_conn_client_new(&p.t.env, &p.cc, NULL, NULL, p.now);
    assert_non_null(p.c);
    quic_crypto_send *cs = &p.c->sp[SP_INITIAL].csend;
    size_t total = cs->data.len;
    assert_true(total > 200);
    size_t cut[13];
    for (int i = 0; i <= 12; i++)
        cut[i] = total * (size_t)i / 12;
    uint8_t frames[2][1200];
    size_t flen[2] = {0, 0};
    /* Odd fragments, last first, go in the first datagram; even ones in the second. */
    for (int i = 11; i >= 0; i--) {
        int d = i % 2 == 1 ? 0 : 1;
        quince_writer w = quince_writer_init(frames[d] + flen[d], sizeof(frames[d]) - flen[d]);
        if (i == 5)
            quince_put_u8(&w, QUIC_FT_PING);
        assert_true(
            quic_frame_encode_crypto(&w, cut[i], cs->data.data + cut[i], cut[i + 1] - cut[i]));
        flen[d] = (size_t)(w.p - frames[d]);
    }
    uint8_t dg[1500];
    size_t n = craft_initial(p.c, 0, frames[0], flen[0], dg, sizeof(dg));
    p.s = quic_conn_accept(&p.t.env, &p.sc, NULL, NULL, dg, n, p.now);
    assert_non_null(p.s);
    assert_false(p.s->have_tx[CRYPTO_LEVEL_HANDSHAKE]); /* still missing half the hello */
    n = craft_initial(p.c, 7, frames[1], flen[1], dg, sizeof(dg));
    assert_int_equal(quic_conn_recv(p.s, NULL, dg, n, p.now), 0);
    assert_true(p.s->have_tx[CRYPTO_LEVEL_HANDSHAKE]);
    /* The client believes it sent all this itself. */
    p.c->sp[SP_INITIAL].next_pn = 8;
    assert_int_equal(
        quic_recovery_on_packet_sent(&p.c->rec, SP_INITIAL, 0, 1200, true, true, 0, p.now), 0);
    assert_int_equal(
        quic_recovery_on_packet_sent(&p.c->rec, SP_INITIAL, 7, 1200, true, true, 0, p.now), 0);
    cs->sent = cs->data.len;
    pump(&p);
    if (!quic_conn_is_established(p.c))
        fprintf(stderr, "client state %d error %d hs %d\n", p.c->state, p.c->error,
                p.c->handshake_complete);
    assert_true(quic_conn_is_established(p.c));
    assert_true(quic_conn_is_established(p.s));
    pair_free(&p);
}

/* RFC 9000 §5.1.2, §19.15: active_connection_id_limit and retire_prior_to. */
static void test_connection_id_limit(void **state)
{
    (void)state;
    pair p;
    pair_init(&p);
    pair_start(&p);
    uint8_t f[64];
    size_t n = put(f, 0, QUIC_FT_NEW_CONNECTION_ID);
    n = put(f, n, 10);
    n = put(f, n, 0);
    f[n++] = 8;
    memset(f + n, 0xaa, 8 + 16);
    n += 8 + 16;
    expect_close(&p, f, n, QUIC_TE_CONNECTION_ID_LIMIT_ERROR);
    pair_free(&p);

    pair_init(&p);
    pair_start(&p);
    /* The client makes one more CID (seq 4) and announces it with
     * retire_prior_to 4: the server moves to it and retires 0-3; the client
     * then issues new ones. */
    assert_true(quic_conn_issue_cid(p.c, false));
    const quic_local_cid *nc = NULL;
    for (size_t i = 0; i < QUIC_MAX_LOCAL_CIDS; i++)
        if (p.c->lcid[i].in_use && p.c->lcid[i].seq == 4)
            nc = &p.c->lcid[i];
    assert_non_null(nc);
    n = put(f, 0, QUIC_FT_NEW_CONNECTION_ID);
    n = put(f, n, 4);
    n = put(f, n, 4);
    f[n++] = nc->cid.len;
    memcpy(f + n, nc->cid.bytes, nc->cid.len);
    n += nc->cid.len;
    memcpy(f + n, nc->reset_token, 16);
    n += 16;
    uint8_t pkt[1500];
    size_t k = craft(p.c, f, n, pkt, sizeof(pkt));
    assert_int_equal(quic_conn_recv(p.s, NULL, pkt, k, p.now), 0);
    const quic_peer_cid *cur = &p.s->pcid[p.s->pcid_cur];
    assert_true(cur->in_use);
    assert_int_equal(cur->seq, 4);
    assert_int_equal(p.s->n_retire_pending, 4);
    pump(&p);
    assert_int_equal(p.s->n_retire_pending, 0);
    size_t live = 0;
    for (size_t i = 0; i < QUIC_MAX_LOCAL_CIDS; i++)
        live += p.c->lcid[i].in_use;
    assert_true(live >= 4);
    if (p.c->error != 0)
        fprintf(stderr, "client error %d frame %llx reason %s\n", p.c->error,
                (unsigned long long)p.c->close_frame_type, p.c->close_reason);
    assert_false(quic_conn_is_closed(p.c));
    assert_int_equal(p.c->error, 0);
    pair_free(&p);
}

/* RFC 9000 §6.2: Version Negotiation before any server packet. */
/* One-byte STREAM frame (OFF and LEN bits) at off on stream id, in its own 1-RTT packet from
 * the client to the server. */
static void send_one_byte(pair *p, uint64_t id, uint64_t off)
{
    uint8_t f[32], pkt[1500];
    size_t n = put(f, 0, 0x0e);
    n = put(f, n, id);
    n = put(f, n, off);
    n = put(f, n, 1);
    f[n++] = (uint8_t)off;
    size_t k = craft(p->c, f, n, pkt, sizeof(pkt));
    quic_conn_recv(p->s, NULL, pkt, k, p->now);
}

/* RFC 9000 §21.7: out-of-order bytes cost what was received. Sixty one-byte frames spread over
 * a stream's window hold about sixty bytes; there is no gap limit (a hundred gaps and more
 * are fine, where more than 64 closed with FLOW_CONTROL_ERROR before); past the connection's
 * memory budget the packets are left unacknowledged (held), never a close. */
static void test_reassembly_budget(void **state)
{
    (void)state;
    pair p;
    pair_init(&p);
    p.sc.max_conn_memory = 32 * 1024;
    pair_start(&p);
    size_t base = quic_conn_get_stats(p.s)->memory;
    for (uint64_t i = 1; i <= 60; i++)
        send_one_byte(&p, 0, i * 4000);
    const quic_conn_stats *st = quic_conn_get_stats(p.s);
    assert_int_equal(st->packets_held, 0);
    assert_int_equal(st->memory - base,
                     60 * (1 + QUIC_STREAM_SEG_OVERHEAD) + 64 * sizeof(quic_stream_seg));
    assert_true(quic_conn_is_established(p.s));
    /* Thousands of one-byte holes on ten streams: the budget (32 KiB) holds the peer. */
    uint64_t sent = 0;
    for (uint64_t id = 0; id < 40; id += 4)
        for (uint64_t i = 0; i < 200; i++, sent++)
            send_one_byte(&p, id, 1 + i * 7);
    st = quic_conn_get_stats(p.s);
    assert_true(st->packets_held > 0 && st->packets_held < sent);
    assert_true(st->memory_peak <= 32 * 1024);
    assert_true(quic_conn_is_established(p.s));
    assert_int_equal(p.s->error, 0);
    /* The held packets were not acknowledged: the server's ACK ranges miss them. */
    quic_pn_range r[64];
    uint64_t delay;
    assert_true(quic_ack_tracker_build(&p.s->sp[SP_APP].ack, p.now, r, 64, &delay) > 1);
    pair_free(&p);
}

/* The send side of the budget: writes are cut short when the connection's memory budget is
 * full, and WRITABLE comes once the peer's acknowledgments give memory back. */
static void test_send_budget(void **state)
{
    (void)state;
    pair p;
    pair_init(&p);
    p.cc.max_conn_memory = 64 * 1024;
    pair_start(&p);
    static uint8_t data[64 * 1024];
    memset(data, 'x', sizeof(data));
    uint64_t ids[10];
    int64_t total = 0, zero_id = -1;
    for (int i = 0; i < 10; i++) {
        assert_int_equal(quic_conn_open_stream(p.c, true, &ids[i]), QUIC_OK);
        int64_t n = quic_stream_write(p.c, ids[i], data, sizeof(data), true);
        assert_true(n >= 0);
        total += n;
        if (n == 0 && zero_id < 0)
            zero_id = (int64_t)ids[i];
    }
    const quic_conn_stats *st = quic_conn_get_stats(p.c);
    assert_true(st->memory <= 64 * 1024);
    assert_true(total <= 64 * 1024 && total > 32 * 1024); /* 640 KiB were offered */
    assert_true(zero_id >= 0); /* a stream got nothing: the budget, not its own limit */
    /* The server takes the data; its ACKs free the client's buffers. */
    pump(&p);
    quic_event ev;
    bool writable = false;
    while (quic_conn_poll_event(p.c, &ev))
        if (ev.type == QUIC_EVENT_STREAM_WRITABLE && ev.stream_id == (uint64_t)zero_id)
            writable = true;
    assert_true(writable);
    assert_true(quic_stream_write(p.c, (uint64_t)zero_id, data, 1000, false) == 1000);
    assert_true(quic_conn_get_stats(p.c)->memory_peak <= 64 * 1024);
    pair_free(&p);
}

static quic_stream *find_stream(quic_conn *c, uint64_t id)
{
    for (quic_stream *s = c->streams.head; s != NULL; s = s->next)
        if (s->id == id)
            return s;
    return NULL;
}

/* A large send buffer that drains while its stream is still being written is kept for the next
 * write (freeing and regrowing it cost a bulk sender a quarter of its CPU in page faults); it
 * goes back to the budget when another stream needs the memory, and a finished stream's is
 * freed. */
static void test_send_buffer_kept(void **state)
{
    (void)state;
    pair p;
    pair_init(&p);
    p.cc.max_conn_memory = 512 * 1024;
    pair_start(&p);
    static uint8_t data[300 * 1024];
    memset(data, 'y', sizeof(data));
    uint64_t a, b, f; /* 200 KiB on a, within its 256 KiB window */
    assert_int_equal(quic_conn_open_stream(p.c, true, &a), QUIC_OK);
    assert_int_equal(quic_stream_write(p.c, a, data, 200 * 1024, false), 200 * 1024);
    pump(&p);
    quic_stream *sa = find_stream(p.c, a);
    assert_non_null(sa);
    assert_int_equal(sa->sbuf_len, 0); /* every byte acknowledged */
    assert_non_null(sa->sbuf);         /* but the buffer is kept */
    size_t cap = sa->sbuf_cap;
    assert_int_equal(cap, 256 * 1024);
    assert_true(quic_conn_get_stats(p.c)->memory >= cap); /* and still charged */
    uint8_t *kept = sa->sbuf;
    assert_int_equal(quic_stream_write(p.c, a, data, 1000, false), 1000);
    assert_ptr_equal(sa->sbuf, kept);
    pump(&p);
    assert_ptr_equal(sa->sbuf, kept);
    /* Another stream needs the memory: the kept buffer goes back, and b gets all it asks. */
    assert_int_equal(quic_conn_open_stream(p.c, true, &b), QUIC_OK);
    assert_int_equal(quic_stream_write(p.c, b, data, sizeof(data), false), sizeof(data));
    assert_null(sa->sbuf);
    assert_int_equal(sa->sbuf_cap, 0);
    assert_true(quic_conn_get_stats(p.c)->memory <= 512 * 1024);
    pump(&p);
    /* A stream that ends frees its buffer once drained. */
    assert_int_equal(quic_conn_open_stream(p.c, true, &f), QUIC_OK);
    assert_int_equal(quic_stream_write(p.c, f, data, 100 * 1024, true), 100 * 1024);
    pump(&p);
    quic_stream *sf = find_stream(p.c, f);
    assert_true(sf == NULL || sf->sbuf == NULL);
    /* And one reset after draining: its kept buffer goes once the reset is acknowledged. */
    uint64_t r;
    assert_int_equal(quic_conn_open_stream(p.c, true, &r), QUIC_OK);
    assert_int_equal(quic_stream_write(p.c, r, data, 100 * 1024, false), 100 * 1024);
    pump(&p);
    quic_stream *sr = find_stream(p.c, r);
    assert_non_null(sr);
    assert_non_null(sr->sbuf);
    assert_int_equal(quic_stream_reset(p.c, r, 7), QUIC_OK);
    pump(&p);
    sr = find_stream(p.c, r);
    assert_true(sr == NULL || sr->sbuf == NULL);
    assert_int_equal(p.c->sbuf_kept, 0);
    /* The server received all of it, in order. */
    uint8_t got[1024];
    bool fin = false;
    assert_int_equal(quic_stream_read(p.s, a, got, sizeof(got), &fin), sizeof(got));
    assert_memory_equal(got, data, sizeof(got));
    assert_int_equal(p.c->error, 0);
    assert_int_equal(p.s->error, 0);
    pair_free(&p);
}

/* RFC 9000 §19.3: every range of an ACK frame counts, also past the QUIC_OPT_MAX_ACK_RANGES
 * our own tracker keeps (Quince's receiver sends as many as fit in 640 bytes). The server
 * has sent 40 packets on every other packet number (the gaps hold nothing sent, so that
 * nothing is lost); the client's ACK of all of them has 40 ranges. Taking only the first 32
 * left the 8 oldest unacknowledged, and then declared lost. */
static void test_ack_many_ranges(void **state)
{
    (void)state;
    pair p;
    pair_init(&p);
    pair_start(&p);
    pump(&p);
    enum { N = 40 };
    assert_true(N > QUIC_ACK_TRACKER_MAX_RANGES);
    uint64_t first = p.s->sp[SP_APP].next_pn + 1;
    for (uint64_t i = 0; i < N; i++)
        assert_int_equal(quic_recovery_on_packet_sent(&p.s->rec, SP_APP, first + 2 * i, 1200, true,
                                                      true, 0, p.now),
                         0);
    p.s->sp[SP_APP].next_pn = first + 2 * N;
    uint8_t f[256];
    size_t off = 0;
    f[off++] = 0x02;
    off = put(f, off, first + 2 * (N - 1)); /* Largest Acknowledged */
    off = put(f, off, 0);                   /* ACK Delay */
    off = put(f, off, N - 1);               /* ACK Range Count */
    off = put(f, off, 0);                   /* First ACK Range: one packet */
    for (int i = 1; i < N; i++) {
        off = put(f, off, 0); /* Gap: one packet number, never sent */
        off = put(f, off, 0); /* ACK Range Length: one packet */
    }
    uint8_t pkt[1500];
    size_t n = craft(p.c, f, off, pkt, sizeof(pkt));
    p.now += 20000;
    assert_int_equal(quic_conn_recv(p.s, NULL, pkt, n, p.now), 0);
    assert_int_equal(p.s->error, 0);
    const quic_sent_packets *sp = &p.s->rec.sent[SP_APP];
    size_t live = 0, lost = 0;
    for (size_t i = 0; i < sp->len; i++) {
        const quic_sent_packet *q = quic_sent_packets_at(sp, i);
        if (q->pn >= first && q->state == QUIC_SENT_LIVE)
            live++;
        if (q->pn >= first && q->state == QUIC_SENT_REMOVED_LOST)
            lost++;
    }
    assert_int_equal(live, 0);
    assert_int_equal(lost, 0);
    pair_free(&p);
}

/* RFC 9002 Appendix A.6, RFC 9000 §8.1: a server at its anti-amplification limit arms no
 * PTO; the datagram that validates the client's address (its Handshake packet) unblocks it
 * and must re-arm it. The flag was cleared only for datagrams that left the address
 * unvalidated, so a server limited in its handshake never set a PTO again. */
static void test_amplification_limit_cleared(void **state)
{
    (void)state;
    pair p;
    pair_init(&p);
    p.c = quic_conn_client_new(&p.t.env, &p.cc, NULL, NULL, p.now);
    assert_non_null(p.c);
    flow(&p, p.c, &p.s, true); /* the client's Initial creates the server */
    assert_non_null(p.s);
    flow(&p, p.s, &p.c, false); /* its first flight reaches the client */
    /* The client's answer (with its Handshake packet) is held back. */
    uint8_t held[4][1500];
    size_t held_len[4], nheld = 0;
    for (;;) {
        int n = quic_conn_send(p.c, NULL, p.buf, sizeof(p.buf), p.now);
        assert_true(n >= 0);
        if (n == 0)
            break;
        assert_true(nheld < 4 && (size_t)n <= sizeof(held[0]));
        memcpy(held[nheld], p.buf, (size_t)n);
        held_len[nheld++] = (size_t)n;
    }
    assert_true(nheld > 0);
    /* The server probes (its flight unacknowledged) until three times what it received is
     * spent, and is then limited. */
    for (int i = 0; i < 20 && !p.s->rec.at_amplification_limit; i++) {
        p.now = quic_conn_next_timeout(p.s);
        assert_true(p.now != UINT64_MAX);
        quic_conn_on_timeout(p.s, p.now);
        while (quic_conn_send(p.s, NULL, p.buf, sizeof(p.buf), p.now) > 0) {
        }
    }
    assert_true(p.s->rec.at_amplification_limit);
    assert_int_equal(quic_recovery_next_timeout(&p.s->rec), UINT64_MAX); /* no PTO */
    for (size_t i = 0; i < nheld; i++)
        assert_int_equal(quic_conn_recv(p.s, NULL, held[i], held_len[i], p.now), 0);
    assert_true(p.s->address_validated);
    assert_false(p.s->rec.at_amplification_limit);
    pump(&p);
    assert_true(quic_conn_is_established(p.s));
    /* Data in flight that nobody acknowledges: the server's PTO is armed. */
    uint64_t id;
    assert_int_equal(quic_conn_open_stream(p.s, true, &id), QUIC_OK);
    assert_int_equal(quic_stream_write(p.s, id, (const uint8_t *)"x", 1, false), 1);
    assert_true(quic_conn_send(p.s, NULL, p.buf, sizeof(p.buf), p.now) > 0);
    assert_true(quic_recovery_next_timeout(&p.s->rec) != UINT64_MAX);
    pair_free(&p);
}

static void test_version_negotiation(void **state)
{
    (void)state;
    for (int listed = 0; listed < 2; listed++) {
        pair p;
        pair_init(&p);
        p.c = quic_conn_client_new(&p.t.env, &p.cc, NULL, NULL, p.now);
        assert_non_null(p.c);
        int n = quic_conn_send(p.c, NULL, p.buf, sizeof(p.buf), p.now);
        assert_true(n >= 1200);
        uint8_t vn[256];
        quince_writer w = quince_writer_init(vn, sizeof(vn));
        uint32_t versions[2] = {0x1a2a3a4a, listed ? QUIC_VERSION_1 : 0xff00001d};
        assert_true(quic_pkt_build_vn(&w, 0x12, p.c->original_dcid.bytes, p.c->original_dcid.len,
                                      p.c->initial_scid.bytes, p.c->initial_scid.len, versions, 2));
        assert_int_equal(quic_conn_recv(p.c, NULL, vn, (size_t)(w.p - vn), p.now), 0);
        /* One that lists our version is ignored; otherwise the attempt ends. */
        assert_int_equal(quic_conn_is_closed(p.c), !listed);
        quic_event ev;
        bool closed = false;
        while (quic_conn_poll_event(p.c, &ev))
            closed |= ev.type == QUIC_EVENT_CLOSED;
        assert_int_equal(closed, !listed);
        pair_free(&p);
    }
}

/* RFC 9000 §10.3.1: a datagram ending in the server's token drains the client. */
static void test_stateless_reset_detected(void **state)
{
    (void)state;
    pair p;
    pair_init(&p);
    pair_start(&p);
    assert_true(p.c->pcid[0].has_token);
    uint8_t d[64];
    quince_writer w = quince_writer_init(d, sizeof(d));
    assert_true(quic_pkt_build_stateless_reset(&w, &p.t.env, 40, p.c->pcid[0].reset_token));
    /* A wrong token is just garbage. */
    d[39] ^= 1;
    assert_int_equal(quic_conn_recv(p.c, NULL, d, 40, p.now), 0);
    assert_int_equal(quic_conn_get_stats(p.c)->stateless_resets, 0);
    d[39] ^= 1;
    assert_int_equal(quic_conn_recv(p.c, NULL, d, 40, p.now), 0);
    assert_int_equal(quic_conn_get_stats(p.c)->stateless_resets, 1);
    quic_event ev;
    bool closed = false;
    while (quic_conn_poll_event(p.c, &ev))
        if (ev.type == QUIC_EVENT_CLOSED) {
            assert_int_equal(ev.len, strlen("stateless reset"));
            closed = true;
        }
    assert_true(closed);
    /* Draining: nothing more is sent. */
    assert_int_equal(quic_conn_send(p.c, NULL, p.buf, sizeof(p.buf), p.now), 0);
    pair_free(&p);
}

/* A client Initial datagram carrying ClientHello bytes, protected with the Initial keys. */
static size_t client_initial(const quince_env *env, const uint8_t *dcid, size_t dcid_len,
                             const uint8_t *ch, size_t ch_len, uint8_t *out, size_t cap)
{
    crypto_pp ckeys, skeys;
    assert_int_equal(crypto_pp_initial(&ckeys, &skeys, env, QUIC_VERSION_1, dcid, dcid_len), 0);
    static const uint8_t scid[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    quince_writer w = quince_writer_init(out, cap - 16);
    quic_pkt_builder b;
    assert_true(quic_pkt_build_long(&w, &b, QUIC_PKT_INITIAL, QUIC_VERSION_1, dcid, dcid_len, scid,
                                    sizeof(scid), NULL, 0, 0, 4));
    assert_true(quic_frame_encode_crypto(&w, 0, ch, ch_len));
    assert_true(quic_pkt_pad_to(&w, out, QUIC_MIN_INITIAL_DATAGRAM, 16));
    assert_true(quic_pkt_finish(&w, &b, 16));
    size_t pn_offset = (size_t)(b.pn_at - b.start);
    size_t payload_len = (size_t)(w.p - b.pn_at) - b.pn_len;
    int n = crypto_pp_protect(&ckeys, out, cap, pn_offset, 0, payload_len);
    assert_true(n > 0);
    crypto_pp_clear(&ckeys, env);
    crypto_pp_clear(&skeys, env);
    return (size_t)n;
}

/* RFC 9001 §8.4: a ClientHello with a legacy_session_id closes with PROTOCOL_VIOLATION. */
static void test_legacy_session_id(void **state)
{
    (void)state;
    pair p;
    pair_init(&p);
    crypto_kex *kex = crypto_kex_new(&p.t.env, CRYPTO_GROUP_X25519);
    assert_non_null(kex);
    uint8_t pub[CRYPTO_KEX_MAX_PUBLIC], random[32], sid[8];
    assert_int_equal(crypto_kex_public(kex, pub, sizeof(pub)), 32);
    memset(random, 0x11, sizeof(random));
    memset(sid, 0x22, sizeof(sid));
    static const uint16_t suites[] = {CRYPTO_TLS_AES_128_GCM_SHA256};
    static const uint16_t groups[] = {CRYPTO_GROUP_X25519};
    static const uint16_t sigs[] = {CRYPTO_SIG_ECDSA_SECP256R1_SHA256};
    static const uint8_t tp[] = {0x0f, 0x00}; /* initial_source_connection_id, empty */
    crypto_tls_share share = {CRYPTO_GROUP_X25519, pub, 32};
    crypto_tls_client_hello_params chp = {
        .random = random,
        .session_id = sid,
        .session_id_len = sizeof(sid),
        .suites = suites,
        .n_suites = 1,
        .groups = groups,
        .n_groups = 1,
        .shares = &share,
        .n_shares = 1,
        .sig_algs = sigs,
        .n_sig_algs = 1,
        .alpn = alpn,
        .server_name = "example.test",
        .send_transport_params = true,
        .transport_params = tp,
        .transport_params_len = sizeof(tp),
    };
    uint8_t ch[1024], pkt[1500];
    int chn = crypto_tls_encode_client_hello(&chp, ch, sizeof(ch));
    assert_true(chn > 0);
    static const uint8_t dcid[8] = {0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7};
    size_t n = client_initial(&p.t.env, dcid, sizeof(dcid), ch, (size_t)chn, pkt, sizeof(pkt));
    p.s = quic_conn_accept(&p.t.env, &p.sc, NULL, NULL, pkt, n, p.now);
    assert_non_null(p.s);
    quic_event ev;
    bool closed = false;
    while (quic_conn_poll_event(p.s, &ev))
        if (ev.type == QUIC_EVENT_CLOSED) {
            assert_false(ev.by_peer);
            assert_false(ev.is_app);
            assert_int_equal(ev.error_code, QUIC_TE_PROTOCOL_VIOLATION);
            closed = true;
        }
    assert_true(closed);
    /* The CONNECTION_CLOSE goes out in an Initial. */
    int k = quic_conn_send(p.s, NULL, p.buf, sizeof(p.buf), p.now);
    assert_true(k > 0);
    assert_int_equal(p.buf[0] & 0xb0, 0x80); /* long header, type Initial (0b00) */
    crypto_kex_free(&p.t.env, kex);
    pair_free(&p);
}

/* Split a datagram into its packets: offsets and lengths, up to max. */
static size_t split_packets(const uint8_t *d, size_t len, size_t cid_len, size_t *off, size_t *plen,
                            quic_pkt_type *type, size_t max)
{
    quic_pkt_parse_opts po = {.short_dcid_len = cid_len};
    size_t n = 0, at = 0;
    while (at < len && n < max) {
        quic_pkt_header h;
        assert_int_equal(quic_pkt_parse_header(d + at, len - at, &po, &h), QUIC_OK);
        off[n] = at;
        plen[n] = h.packet_len;
        type[n] = h.type;
        n++;
        at += h.packet_len;
    }
    return n;
}

/* RFC 9001 §4.1.4, §5.7: the client's 1-RTT data overtakes its Handshake flight; the server
 * keeps it until the handshake completes and then reads it, with nothing retransmitted. */
static void test_early_packets_kept(void **state)
{
    (void)state;
    pair p;
    pair_init(&p);
    p.c = quic_conn_client_new(&p.t.env, &p.cc, NULL, NULL, p.now);
    assert_non_null(p.c);
    p.now += 1000;
    assert_int_equal(flow(&p, p.c, &p.s, true), 1);
    p.now += 1000;
    assert_true(flow(&p, p.s, &p.c, false) > 0);
    assert_true(quic_conn_is_established(p.c));
    assert_false(quic_conn_is_established(p.s));
    uint64_t sid;
    assert_int_equal(quic_conn_open_stream(p.c, true, &sid), 0);
    static const uint8_t msg[] = "early bird";
    assert_int_equal(quic_stream_write(p.c, sid, msg, sizeof(msg), true), (int64_t)sizeof(msg));
    /* Collect the client's flight, packet by packet: Handshake ones, then 1-RTT ones. */
    uint8_t dgs[4][1500], hs[4][1500], app[4][1500];
    size_t nd = 0, nhs = 0, napp = 0, hs_len[4], app_len[4];
    int k;
    while (nd < 4 && (k = quic_conn_send(p.c, NULL, dgs[nd], sizeof(dgs[nd]), p.now)) > 0) {
        size_t off[8], plen[8];
        quic_pkt_type type[8];
        size_t np =
            split_packets(dgs[nd], (size_t)k, p.sc.cid_len ? p.sc.cid_len : 8, off, plen, type, 8);
        for (size_t i = 0; i < np; i++) {
            if (type[i] == QUIC_PKT_1RTT) {
                assert_true(napp < 4);
                memcpy(app[napp], dgs[nd] + off[i], plen[i]);
                app_len[napp++] = plen[i];
            } else if (type[i] == QUIC_PKT_HANDSHAKE) {
                assert_true(nhs < 4);
                memcpy(hs[nhs], dgs[nd] + off[i], plen[i]);
                hs_len[nhs++] = plen[i];
            }
        }
        nd++;
    }
    assert_true(napp >= 1);
    assert_true(nhs >= 1);
    p.now += 1000;
    uint64_t dropped = quic_conn_get_stats(p.s)->packets_dropped;
    for (size_t i = 0; i < napp; i++)
        assert_int_equal(quic_conn_recv(p.s, NULL, app[i], app_len[i], p.now), 0);
    assert_int_equal(quic_conn_get_stats(p.s)->packets_buffered, napp);
    assert_int_equal(quic_conn_get_stats(p.s)->packets_dropped, dropped);
    uint8_t got[64];
    bool fin = false;
    assert_int_equal(quic_stream_read(p.s, sid, got, sizeof(got), &fin), QUIC_ERR_ARGUMENT);
    for (size_t i = 0; i < nhs; i++)
        assert_int_equal(quic_conn_recv(p.s, NULL, hs[i], hs_len[i], p.now), 0);
    assert_true(quic_conn_is_established(p.s));
    /* The kept packets were read as soon as the keys allowed: no time passed. */
    assert_int_equal(quic_stream_read(p.s, sid, got, sizeof(got), &fin), (int64_t)sizeof(msg));
    assert_memory_equal(got, msg, sizeof(msg));
    assert_true(fin);
    assert_int_equal(quic_conn_get_stats(p.s)->packets_dropped, dropped);
    pump(&p);
    assert_int_equal(quic_conn_get_stats(p.c)->packets_lost, 0);
    assert_int_equal(quic_conn_get_stats(p.s)->packets_lost, 0);
    pair_free(&p);
}

/* The bound: at most QUIC_OPT_EARLY_PACKETS packets are kept, the rest are dropped, and
 * packets kept for keys that never come are freed with the connection. */
static void test_early_packets_bounded(void **state)
{
    (void)state;
    pair p;
    pair_init(&p);
    p.c = quic_conn_client_new(&p.t.env, &p.cc, NULL, NULL, p.now);
    assert_non_null(p.c);
    assert_int_equal(flow(&p, p.c, &p.s, true), 1);
    /* 1-RTT packets from the client, before the server has completed the handshake. */
    uint8_t pkt[1500];
    uint64_t dropped = quic_conn_get_stats(p.s)->packets_dropped;
    static const uint8_t ping[] = {0x01};
    for (int i = 0; i < QUIC_OPT_EARLY_PACKETS + 2; i++) {
        quince_writer w = quince_writer_init(pkt, sizeof(pkt) - 16);
        quic_pkt_builder b;
        const quic_cid_value *dcid = &p.s->lcid[0].cid;
        assert_true(
            quic_pkt_build_short(&w, &b, dcid->bytes, dcid->len, (uint64_t)i, 2, false, false));
        assert_true(quince_put_bytes(&w, ping, sizeof(ping)));
        assert_true(quic_pkt_finish(&w, &b, 16));
        size_t n = (size_t)(w.p - pkt) + 16;
        memset(w.p, 0, 16); /* no real tag: never opened while the handshake runs */
        assert_int_equal(quic_conn_recv(p.s, NULL, pkt, n, p.now), 0);
    }
    assert_int_equal(quic_conn_get_stats(p.s)->packets_buffered, QUIC_OPT_EARLY_PACKETS);
    assert_int_equal(quic_conn_get_stats(p.s)->packets_dropped, dropped + 2);
    assert_int_equal(p.s->early_count, QUIC_OPT_EARLY_PACKETS);
    pair_free(&p); /* leak check: the kept copies are freed */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_in_memory),
        cmocka_unit_test(test_stream_limit_error),
        cmocka_unit_test(test_stream_flow_control_error),
        cmocka_unit_test(test_connection_flow_control_error),
        cmocka_unit_test(test_stream_state_errors),
        cmocka_unit_test(test_final_size_errors),
        cmocka_unit_test(test_protocol_violations),
        cmocka_unit_test(test_frame_encoding_and_crypto_buffer),
        cmocka_unit_test(test_stream_api),
        cmocka_unit_test(test_stream_limit_local),
        cmocka_unit_test(test_application_close),
        cmocka_unit_test(test_transport_parameter_cid_mismatch),
        cmocka_unit_test(test_datagrams),
        cmocka_unit_test(test_key_update_api),
        cmocka_unit_test(test_flow_control_updates),
        cmocka_unit_test(test_crypto_fragments_out_of_order),
        cmocka_unit_test(test_connection_id_limit),
        cmocka_unit_test(test_version_negotiation),
        cmocka_unit_test(test_reassembly_budget),
        cmocka_unit_test(test_send_budget),
        cmocka_unit_test(test_send_buffer_kept),
        cmocka_unit_test(test_ack_many_ranges),
        cmocka_unit_test(test_amplification_limit_cleared),
        cmocka_unit_test(test_stateless_reset_detected),
        cmocka_unit_test(test_legacy_session_id),
        cmocka_unit_test(test_early_packets_kept),
        cmocka_unit_test(test_early_packets_bounded),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
