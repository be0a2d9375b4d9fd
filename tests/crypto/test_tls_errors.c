/* Tests for the TLS 1.3 engine (crypto/tls*.c): crafted, malformed and misplaced messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "crypto/tls.h"
#include "crypto/tls_keysched.h"
#include "crypto/tls_msg.h"
#include "tests/crypto/tls_pair.h"

#define GROUP_X25519MLKEM768 0x11ec
#define GREASE 0x7a7a

static const uint16_t default_suites[] = {CRYPTO_TLS_AES_128_GCM_SHA256,
                                          CRYPTO_TLS_AES_256_GCM_SHA384,
                                          CRYPTO_TLS_CHACHA20_POLY1305_SHA256};
static const uint16_t default_groups[] = {CRYPTO_GROUP_X25519, CRYPTO_GROUP_SECP256R1};
static const uint16_t default_sig_algs[] = {CRYPTO_SIG_ECDSA_SECP256R1_SHA256,
                                            CRYPTO_SIG_RSA_PSS_RSAE_SHA256};
static const char *const alpn_h3[] = {"h3", NULL};
static const uint8_t tp[] = {0x01, 0x02, 0x40, 0x64};

/* A hand-made ClientHello: one X25519 share from kex, QUIC mode, ALPN h3. */
typedef struct crafted {
    crypto_kex *kex;
    uint8_t pub[CRYPTO_KEX_MAX_PUBLIC];
    crypto_tls_share shares[3];
    uint8_t random[32];
    crypto_tls_client_hello_params p;
    uint8_t msg[4096];
    size_t len;
} crafted;

static void craft_init(crafted *k, test_env *t)
{
    memset(k, 0, sizeof(*k));
    k->kex = crypto_kex_new(&t->env, CRYPTO_GROUP_X25519);
    assert_non_null(k->kex);
    int n = crypto_kex_public(k->kex, k->pub, sizeof(k->pub));
    assert_int_equal(n, 32);
    k->shares[0] = (crypto_tls_share){CRYPTO_GROUP_X25519, k->pub, 32};
    memset(k->random, 0x5a, sizeof(k->random));
    k->p = (crypto_tls_client_hello_params){
        .random = k->random,
        .suites = default_suites,
        .n_suites = 3,
        .groups = default_groups,
        .n_groups = 2,
        .shares = k->shares,
        .n_shares = 1,
        .sig_algs = default_sig_algs,
        .n_sig_algs = 2,
        .alpn = alpn_h3,
        .server_name = "example.test",
        .send_transport_params = true,
        .transport_params = tp,
        .transport_params_len = sizeof(tp),
    };
}

static void craft_encode(crafted *k)
{
    int n = crypto_tls_encode_client_hello(&k->p, k->msg, sizeof(k->msg));
    assert_true(n > 0);
    k->len = (size_t)n;
}

static void craft_free(crafted *k, test_env *t)
{
    crypto_kex_free(&t->env, k->kex);
}

/* The offset of extension `type`'s header in a ClientHello message; 0 if absent. */
static size_t ch_find_ext(const uint8_t *msg, size_t len, uint16_t type)
{
    size_t p = 4 + 2 + 32;
    p += 1 + msg[p];
    p += 2 + (size_t)((msg[p] << 8) | msg[p + 1]);
    p += 1 + msg[p];
    p += 2;
    while (p + 4 <= len) {
        uint16_t t = (uint16_t)((msg[p] << 8) | msg[p + 1]);
        if (t == type)
            return p;
        p += 4 + (size_t)((msg[p + 2] << 8) | msg[p + 3]);
    }
    return 0;
}

static void ch_rename_ext(uint8_t *msg, size_t len, uint16_t from, uint16_t to)
{
    size_t at = ch_find_ext(msg, len, from);
    assert_int_not_equal(at, 0);
    msg[at] = (uint8_t)(to >> 8);
    msg[at + 1] = (uint8_t)to;
}

static void set_body_len(uint8_t *msg, size_t body)
{
    msg[1] = (uint8_t)(body >> 16);
    msg[2] = (uint8_t)(body >> 8);
    msg[3] = (uint8_t)body;
}

/* Append an extension (type, length, body as given) to a ClientHello message. */
static void ch_append_ext(uint8_t *msg, size_t *len, const uint8_t *ext, size_t ext_len)
{
    size_t p = 4 + 2 + 32;
    p += 1 + msg[p];
    p += 2 + (size_t)((msg[p] << 8) | msg[p + 1]);
    p += 1 + msg[p];
    size_t total = (size_t)((msg[p] << 8) | msg[p + 1]) + ext_len;
    msg[p] = (uint8_t)(total >> 8);
    msg[p + 1] = (uint8_t)total;
    memcpy(msg + *len, ext, ext_len);
    *len += ext_len;
    set_body_len(msg, *len - 4);
}

/* Feed a message to a fresh server; return it for inspection. */
static side *server_with(const uint8_t *msg, size_t len, int expect)
{
    side *s = side_new(true, 500);
    side_start(s);
    assert_int_equal(crypto_tls_recv(s->tls, CRYPTO_LEVEL_INITIAL, msg, len), expect);
    assert_int_equal(crypto_tls_error(s->tls), expect);
    return s;
}

static void expect_server_alert(const uint8_t *msg, size_t len, int err, uint8_t alert)
{
    side *s = server_with(msg, len, err);
    assert_int_equal(crypto_tls_alert(s->tls), alert);
    assert_false(crypto_tls_handshake_done(s->tls));
    side_free(s);
}

/* Chromium's shape: X25519MLKEM768 first with a big share, then X25519; GREASE around. */
static void test_mlkem_and_x25519(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 1);
    crafted k;
    craft_init(&k, &t);
    static uint8_t mlkem[1216];
    memset(mlkem, 0x33, sizeof(mlkem));
    static const uint16_t groups[] = {GREASE, GROUP_X25519MLKEM768, CRYPTO_GROUP_X25519,
                                      CRYPTO_GROUP_SECP256R1};
    static const uint16_t suites[] = {GREASE, CRYPTO_TLS_AES_128_GCM_SHA256,
                                      CRYPTO_TLS_AES_256_GCM_SHA384};
    uint8_t grease_share = 0;
    k.shares[0] = (crypto_tls_share){GREASE, &grease_share, 1};
    k.shares[1] = (crypto_tls_share){GROUP_X25519MLKEM768, mlkem, sizeof(mlkem)};
    k.shares[2] = (crypto_tls_share){CRYPTO_GROUP_X25519, k.pub, 32};
    k.p.n_shares = 3;
    k.p.groups = groups;
    k.p.n_groups = 4;
    k.p.suites = suites;
    k.p.n_suites = 3;
    craft_encode(&k);
    assert_true(k.len > 1300);

    side *s = server_with(k.msg, k.len, 0);
    assert_int_equal(crypto_tls_group(s->tls), CRYPTO_GROUP_X25519);
    assert_false(crypto_tls_used_hrr(s->tls));
    assert_int_equal(s->peer_tp_len, sizeof(tp));
    assert_memory_equal(s->peer_tp, tp, sizeof(tp));

    /* The ServerHello answers with X25519; from it we derive the server's secrets. */
    size_t off, len;
    assert_true(side_find(s, CRYPTO_LEVEL_INITIAL, CRYPTO_HS_SERVER_HELLO, &off, &len));
    const uint8_t *shm = s->out[CRYPTO_LEVEL_INITIAL] + off;
    crypto_tls_server_hello sh;
    assert_int_equal(crypto_tls_parse_server_hello(shm + 4, len - 4, &sh), 0);
    assert_false(sh.is_hrr);
    assert_int_equal(sh.group, CRYPTO_GROUP_X25519);
    assert_int_equal(sh.cipher_suite, CRYPTO_TLS_AES_128_GCM_SHA256);
    assert_int_equal(sh.version, CRYPTO_TLS_VERSION_13);
    uint8_t shared[32];
    assert_int_equal(crypto_kex_derive(k.kex, sh.key_share.p, sh.key_share.len, shared, 32), 32);

    crypto_tls_transcript tr;
    crypto_tls_transcript_init(&tr);
    assert_int_equal(crypto_tls_transcript_add(&t.env, &tr, k.msg, k.len), 0);
    assert_int_equal(crypto_tls_transcript_select(&t.env, &tr, CRYPTO_HASH_SHA256, false), 0);
    assert_int_equal(crypto_tls_transcript_add(&t.env, &tr, shm, len), 0);
    uint8_t th[32];
    assert_int_equal(crypto_tls_transcript_hash(&tr, th), 0);
    crypto_tls_keysched ks;
    assert_int_equal(crypto_tls_ks_init(&ks, CRYPTO_HASH_SHA256, NULL, 0), 0);
    assert_int_equal(crypto_tls_ks_handshake(&ks, shared, 32, th), 0);
    assert_memory_equal(ks.server_hs, s->secret[1][CRYPTO_LEVEL_HANDSHAKE], 32);
    assert_memory_equal(ks.client_hs, s->secret[0][CRYPTO_LEVEL_HANDSHAKE], 32);

    /* The server's Finished is the HMAC over the transcript through CertificateVerify. */
    const uint8_t *hs = s->out[CRYPTO_LEVEL_HANDSHAKE];
    assert_true(side_find(s, CRYPTO_LEVEL_HANDSHAKE, CRYPTO_HS_FINISHED, &off, &len));
    assert_int_equal(len, 4 + 32);
    assert_int_equal(crypto_tls_transcript_add(&t.env, &tr, hs, off), 0);
    assert_int_equal(crypto_tls_transcript_hash(&tr, th), 0);
    uint8_t verify[32];
    assert_int_equal(crypto_tls_ks_finished(CRYPTO_HASH_SHA256, ks.server_hs, th, verify), 0);
    assert_memory_equal(verify, hs + off + 4, 32);
    /* And the application secrets follow from the transcript through Finished. */
    assert_int_equal(crypto_tls_transcript_add(&t.env, &tr, hs + off, len), 0);
    assert_int_equal(crypto_tls_transcript_hash(&tr, th), 0);
    assert_int_equal(crypto_tls_ks_master(&ks, th), 0);
    assert_memory_equal(ks.server_ap, s->secret[1][CRYPTO_LEVEL_APP], 32);
    assert_memory_equal(ks.client_ap, s->secret[0][CRYPTO_LEVEL_APP], 32);

    crypto_tls_transcript_free(&t.env, &tr);
    side_free(s);
    craft_free(&k, &t);
    test_env_check_leaks(&t);
}

/* RFC 8446 §4.1.3: over TCP the session id is echoed (compatibility mode). */
static void test_session_id_echo(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 2);
    crafted k;
    craft_init(&k, &t);
    uint8_t sid[32];
    memset(sid, 0xc3, sizeof(sid));
    k.p.session_id = sid;
    k.p.session_id_len = 32;
    k.p.send_transport_params = false;
    craft_encode(&k);
    side *s = side_new(true, 500);
    s->cfg.transport_params = NULL; /* TLS over TCP */
    s->cfg.transport_params_len = 0;
    side_start(s);
    assert_int_equal(crypto_tls_recv(s->tls, CRYPTO_LEVEL_INITIAL, k.msg, k.len), 0);
    size_t off, len;
    assert_true(side_find(s, CRYPTO_LEVEL_INITIAL, CRYPTO_HS_SERVER_HELLO, &off, &len));
    crypto_tls_server_hello sh;
    assert_int_equal(
        crypto_tls_parse_server_hello(s->out[CRYPTO_LEVEL_INITIAL] + off + 4, len - 4, &sh), 0);
    assert_int_equal(sh.session_id.len, 32);
    assert_memory_equal(sh.session_id.p, sid, 32);
    side_free(s);
    craft_free(&k, &t);
    test_env_check_leaks(&t);
}

/* RFC 9001 §8.4: in QUIC a non-empty legacy_session_id is a PROTOCOL_VIOLATION. */
static void test_session_id_in_quic(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 2);
    crafted k;
    craft_init(&k, &t);
    uint8_t sid[1] = {0x01};
    k.p.session_id = sid;
    k.p.session_id_len = 1;
    craft_encode(&k);
    side *s = server_with(k.msg, k.len, CRYPTO_ERR_QUIC_PROTOCOL_VIOLATION);
    assert_false(crypto_tls_handshake_done(s->tls));
    size_t off, len;
    assert_false(side_find(s, CRYPTO_LEVEL_INITIAL, CRYPTO_HS_SERVER_HELLO, &off, &len));
    /* The error sticks. */
    assert_int_equal(crypto_tls_recv(s->tls, CRYPTO_LEVEL_INITIAL, k.msg, k.len),
                     CRYPTO_ERR_QUIC_PROTOCOL_VIOLATION);
    side_free(s);
    craft_free(&k, &t);
    test_env_check_leaks(&t);
}

/* RFC 8446 §4.2.1: no supported_versions (or no 1.3 in it) is protocol_version. */
static void test_no_supported_versions(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 3);
    crafted k;
    craft_init(&k, &t);
    craft_encode(&k);
    ch_rename_ext(k.msg, k.len, CRYPTO_EXT_SUPPORTED_VERSIONS, GREASE);
    expect_server_alert(k.msg, k.len, CRYPTO_ERR_PROTOCOL_VERSION, CRYPTO_ALERT_PROTOCOL_VERSION);

    /* supported_versions offering only TLS 1.2. */
    craft_encode(&k);
    size_t at = ch_find_ext(k.msg, k.len, CRYPTO_EXT_SUPPORTED_VERSIONS);
    assert_int_equal(k.msg[at + 5], 0x03);
    assert_int_equal(k.msg[at + 6], 0x04);
    k.msg[at + 6] = 0x03;
    expect_server_alert(k.msg, k.len, CRYPTO_ERR_PROTOCOL_VERSION, CRYPTO_ALERT_PROTOCOL_VERSION);

    /* A TLS 1.2 ClientHello without any extensions. */
    uint8_t old[4 + 2 + 32 + 1 + 4 + 2];
    memset(old, 0, sizeof(old));
    old[0] = CRYPTO_HS_CLIENT_HELLO;
    old[3] = sizeof(old) - 4;
    old[4] = 3;
    old[5] = 3;
    old[38] = 0; /* session id */
    old[39] = 0;
    old[40] = 2; /* one suite */
    old[41] = 0xc0;
    old[42] = 0x2f;
    old[43] = 1; /* compression: null */
    old[44] = 0;
    expect_server_alert(old, sizeof(old), CRYPTO_ERR_PROTOCOL_VERSION,
                        CRYPTO_ALERT_PROTOCOL_VERSION);
    craft_free(&k, &t);
    test_env_check_leaks(&t);
}

/* RFC 8446 §4.1.2, §4.2, §9.2: what a server refuses in a ClientHello, and with which alert. */
static void test_bad_client_hellos(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 4);
    crafted k;
    craft_init(&k, &t);

    /* Truncated: one byte short in the middle of the extensions. */
    craft_encode(&k);
    memmove(k.msg + 60, k.msg + 61, k.len - 61);
    set_body_len(k.msg, k.len - 5);
    expect_server_alert(k.msg, k.len - 1, CRYPTO_ERR_DECODE_ERROR, CRYPTO_ALERT_DECODE_ERROR);

    /* Oversized: a byte after the extensions. */
    craft_encode(&k);
    k.msg[k.len] = 0;
    set_body_len(k.msg, k.len - 3);
    expect_server_alert(k.msg, k.len + 1, CRYPTO_ERR_DECODE_ERROR, CRYPTO_ALERT_DECODE_ERROR);

    /* Oversized: longer than the server's bound (announced in the header alone). */
    static const uint8_t huge[4] = {CRYPTO_HS_CLIENT_HELLO, 0x01, 0x00, 0x01};
    expect_server_alert(huge, sizeof(huge), CRYPTO_ERR_DECODE_ERROR, CRYPTO_ALERT_DECODE_ERROR);

    /* Every truncation of the body, with the header saying so, is decode_error. */
    craft_encode(&k);
    for (size_t cut = 1; cut < k.len - 4; cut += 7) {
        uint8_t m[4096];
        memcpy(m, k.msg, k.len - cut);
        set_body_len(m, k.len - cut - 4);
        side *s = side_new(true, 501);
        side_start(s);
        int rc = crypto_tls_recv(s->tls, CRYPTO_LEVEL_INITIAL, m, k.len - cut);
        /* A cut at an extension boundary leaves a well-formed but incomplete hello. */
        assert_true(rc == CRYPTO_ERR_DECODE_ERROR || rc == CRYPTO_ERR_MISSING_EXTENSION ||
                    rc == CRYPTO_ERR_PROTOCOL_VERSION);
        side_free(s);
    }

    /* A compression method other than null. */
    craft_encode(&k);
    size_t comp = 4 + 2 + 32 + 1 + 2 + 6;
    assert_int_equal(k.msg[comp], 1);
    k.msg[comp + 1] = 1;
    expect_server_alert(k.msg, k.len, CRYPTO_ERR_ILLEGAL_PARAMETER, CRYPTO_ALERT_ILLEGAL_PARAMETER);

    /* An extension twice (signature_algorithms renamed to supported_groups). */
    craft_encode(&k);
    ch_rename_ext(k.msg, k.len, CRYPTO_EXT_SIGNATURE_ALGORITHMS, CRYPTO_EXT_SUPPORTED_GROUPS);
    expect_server_alert(k.msg, k.len, CRYPTO_ERR_ILLEGAL_PARAMETER, CRYPTO_ALERT_ILLEGAL_PARAMETER);

    /* No signature_algorithms, no key_share, no supported_groups, no transport parameters. */
    uint16_t required[] = {CRYPTO_EXT_SIGNATURE_ALGORITHMS, CRYPTO_EXT_KEY_SHARE,
                           CRYPTO_EXT_SUPPORTED_GROUPS, CRYPTO_EXT_QUIC_TRANSPORT_PARAMETERS};
    for (size_t i = 0; i < 4; i++) {
        craft_encode(&k);
        ch_rename_ext(k.msg, k.len, required[i], GREASE);
        expect_server_alert(k.msg, k.len, CRYPTO_ERR_MISSING_EXTENSION,
                            CRYPTO_ALERT_MISSING_EXTENSION);
    }

    /* A PSK offer (last, as it must be) without psk_key_exchange_modes; with it, the
     * PSK is ignored (this server has no tickets) and the handshake goes on. */
    /* identities<7..>: one of 1 byte; binders<33..>: one of 32 bytes (zeros). */
    static const uint8_t psk[4 + 44] = {0, 41, 0, 44, 0, 7, 0, 1, 0xaa, 0, 0, 0, 0, 0, 33, 32};
    static const uint8_t modes[] = {0, 45, 0, 2, 1, 1};
    craft_encode(&k);
    ch_append_ext(k.msg, &k.len, psk, sizeof(psk));
    expect_server_alert(k.msg, k.len, CRYPTO_ERR_MISSING_EXTENSION, CRYPTO_ALERT_MISSING_EXTENSION);
    craft_encode(&k);
    ch_append_ext(k.msg, &k.len, modes, sizeof(modes));
    ch_append_ext(k.msg, &k.len, psk, sizeof(psk));
    side *ok = server_with(k.msg, k.len, 0);
    side_free(ok);
    /* pre_shared_key not last. */
    craft_encode(&k);
    ch_append_ext(k.msg, &k.len, psk, sizeof(psk));
    ch_append_ext(k.msg, &k.len, modes, sizeof(modes));
    expect_server_alert(k.msg, k.len, CRYPTO_ERR_ILLEGAL_PARAMETER, CRYPTO_ALERT_ILLEGAL_PARAMETER);

    /* No ALPN in QUIC mode. */
    craft_encode(&k);
    ch_rename_ext(k.msg, k.len, CRYPTO_EXT_ALPN, GREASE);
    expect_server_alert(k.msg, k.len, CRYPTO_ERR_NO_APPLICATION_PROTOCOL,
                        CRYPTO_ALERT_NO_APPLICATION_PROTOCOL);

    /* No common suite, no common group, no usable signature scheme. */
    static const uint16_t sha1ish[] = {0x1304, 0x1305};
    k.p.suites = sha1ish;
    k.p.n_suites = 2;
    craft_encode(&k);
    expect_server_alert(k.msg, k.len, CRYPTO_ERR_HANDSHAKE_FAILURE, CRYPTO_ALERT_HANDSHAKE_FAILURE);
    k.p.suites = default_suites;
    k.p.n_suites = 3;
    static const uint16_t p384[] = {0x0018};
    static uint8_t p384_share[97];
    memset(p384_share, 4, sizeof(p384_share));
    crypto_tls_share only384 = {0x0018, p384_share, sizeof(p384_share)};
    k.p.groups = p384;
    k.p.n_groups = 1;
    k.p.shares = &only384;
    craft_encode(&k);
    expect_server_alert(k.msg, k.len, CRYPTO_ERR_HANDSHAKE_FAILURE, CRYPTO_ALERT_HANDSHAKE_FAILURE);
    k.p.groups = default_groups;
    k.p.n_groups = 2;
    k.p.shares = k.shares;
    static const uint16_t pkcs1_only[] = {CRYPTO_SIG_RSA_PKCS1_SHA256, 0x0807};
    k.p.sig_algs = pkcs1_only;
    k.p.n_sig_algs = 2;
    craft_encode(&k);
    expect_server_alert(k.msg, k.len, CRYPTO_ERR_HANDSHAKE_FAILURE, CRYPTO_ALERT_HANDSHAKE_FAILURE);
    k.p.sig_algs = default_sig_algs;
    k.p.n_sig_algs = 2;

    /* An invalid X25519 share (all zeros gives the all-zero secret). */
    uint8_t zeros[32] = {0};
    k.shares[0].key = zeros;
    craft_encode(&k);
    expect_server_alert(k.msg, k.len, CRYPTO_ERR_ILLEGAL_PARAMETER, CRYPTO_ALERT_ILLEGAL_PARAMETER);
    k.shares[0].key = k.pub;

    /* The control: the unmodified hello works. */
    craft_encode(&k);
    side *s = server_with(k.msg, k.len, 0);
    side_free(s);
    craft_free(&k, &t);
    test_env_check_leaks(&t);
}

/* RFC 8446 §4.1.4: the second ClientHello must carry one share, for the group asked for. */
static void test_bad_second_hello(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 5);
    crafted k;
    craft_init(&k, &t);
    /* Only a P-256 group offered, with no share: the server asks for P-256. */
    static const uint16_t p256[] = {CRYPTO_GROUP_SECP256R1};
    k.p.groups = p256;
    k.p.n_groups = 1;
    k.p.n_shares = 0;
    craft_encode(&k);
    side *s = server_with(k.msg, k.len, 0);
    assert_true(crypto_tls_used_hrr(s->tls));
    size_t off, len;
    assert_true(side_find(s, CRYPTO_LEVEL_INITIAL, CRYPTO_HS_SERVER_HELLO, &off, &len));
    crypto_tls_server_hello sh;
    assert_int_equal(
        crypto_tls_parse_server_hello(s->out[CRYPTO_LEVEL_INITIAL] + off + 4, len - 4, &sh), 0);
    assert_true(sh.is_hrr);
    assert_int_equal(sh.group, CRYPTO_GROUP_SECP256R1);
    assert_int_equal(s->out_len[CRYPTO_LEVEL_HANDSHAKE], 0);
    assert_int_equal(s->secret_calls, 0);
    /* The same hello again: still no share. */
    assert_int_equal(crypto_tls_recv(s->tls, CRYPTO_LEVEL_INITIAL, k.msg, k.len),
                     CRYPTO_ERR_ILLEGAL_PARAMETER);
    assert_int_equal(crypto_tls_alert(s->tls), CRYPTO_ALERT_ILLEGAL_PARAMETER);
    side_free(s);
    craft_free(&k, &t);
    test_env_check_leaks(&t);
}

/* RFC 8446 §5.1, RFC 9001 §4.1.3: messages at the wrong level or in the wrong order. */
static void test_wrong_level_and_order(void **state)
{
    (void)state;
    /* A ClientHello at the Handshake level. */
    side *c = side_new(false, 601);
    side *s = side_new(true, 602);
    side_start(c);
    side_start(s);
    assert_int_equal(crypto_tls_recv(s->tls, CRYPTO_LEVEL_HANDSHAKE, c->out[0], c->out_len[0]),
                     CRYPTO_ERR_UNEXPECTED_MESSAGE);
    assert_int_equal(crypto_tls_alert(s->tls), CRYPTO_ALERT_UNEXPECTED_MESSAGE);
    side_free(c);
    side_free(s);

    /* The server's Handshake-level flight sent at the Initial level, after its ServerHello. */
    c = side_new(false, 603);
    s = side_new(true, 604);
    side_start(c);
    side_start(s);
    assert_int_equal(pair_deliver(c, s, 0), 0);
    uint8_t *init = s->out[CRYPTO_LEVEL_INITIAL];
    memcpy(init + s->out_len[0], s->out[CRYPTO_LEVEL_HANDSHAKE], s->out_len[2]);
    assert_int_equal(
        crypto_tls_recv(c->tls, CRYPTO_LEVEL_INITIAL, init, s->out_len[0] + s->out_len[2]),
        CRYPTO_ERR_UNEXPECTED_MESSAGE);
    assert_int_equal(crypto_tls_alert(c->tls), CRYPTO_ALERT_UNEXPECTED_MESSAGE);
    side_free(c);
    side_free(s);

    /* The same split after the first byte of EncryptedExtensions: a message spanning a key change.
     */
    c = side_new(false, 605);
    s = side_new(true, 606);
    side_start(c);
    side_start(s);
    assert_int_equal(pair_deliver(c, s, 0), 0);
    init = s->out[CRYPTO_LEVEL_INITIAL];
    init[s->out_len[0]] = s->out[CRYPTO_LEVEL_HANDSHAKE][0];
    assert_int_equal(crypto_tls_recv(c->tls, CRYPTO_LEVEL_INITIAL, init, s->out_len[0] + 1),
                     CRYPTO_ERR_UNEXPECTED_MESSAGE);
    side_free(c);
    side_free(s);

    /* Messages out of order: the Certificate before EncryptedExtensions. */
    c = side_new(false, 607);
    s = side_new(true, 608);
    side_start(c);
    side_start(s);
    assert_int_equal(pair_deliver(c, s, 0), 0);
    assert_int_equal(crypto_tls_recv(c->tls, CRYPTO_LEVEL_INITIAL, s->out[0], s->out_len[0]), 0);
    size_t off, len;
    assert_true(side_find(s, CRYPTO_LEVEL_HANDSHAKE, CRYPTO_HS_CERTIFICATE, &off, &len));
    assert_int_equal(
        crypto_tls_recv(c->tls, CRYPTO_LEVEL_HANDSHAKE, s->out[CRYPTO_LEVEL_HANDSHAKE] + off, len),
        CRYPTO_ERR_UNEXPECTED_MESSAGE);
    side_free(c);
    side_free(s);

    /* A Finished as the first message to a server; data to a client before it started. */
    s = side_new(true, 609);
    side_start(s);
    static const uint8_t fin[4 + 32] = {CRYPTO_HS_FINISHED, 0, 0, 32};
    assert_int_equal(crypto_tls_recv(s->tls, CRYPTO_LEVEL_INITIAL, fin, sizeof(fin)),
                     CRYPTO_ERR_UNEXPECTED_MESSAGE);
    side_free(s);
    c = side_new(false, 610);
    assert_true(side_try_start(c));
    assert_int_equal(crypto_tls_recv(c->tls, CRYPTO_LEVEL_HANDSHAKE, fin, sizeof(fin)),
                     CRYPTO_ERR_UNEXPECTED_MESSAGE);
    side_free(c);
}

/* Replace the message at off/len in a side's output at level with repl. */
static void side_splice(side *s, crypto_level level, size_t off, size_t len, const uint8_t *repl,
                        size_t repl_len)
{
    uint8_t *b = s->out[level];
    size_t tail = s->out_len[level] - off - len;
    memmove(b + off + repl_len, b + off + len, tail);
    memcpy(b + off, repl, repl_len);
    s->out_len[level] = off + repl_len + tail;
}

/* The client gets the server's flight with one message replaced. */
static void client_with_replaced(uint8_t type, const uint8_t *repl, size_t repl_len, int err,
                                 uint8_t alert)
{
    side *c = side_new(false, 701);
    side *s = side_new(true, 702);
    side_start(c);
    side_start(s);
    assert_int_equal(pair_deliver(c, s, 0), 0);
    size_t off, len;
    assert_true(side_find(s, CRYPTO_LEVEL_HANDSHAKE, type, &off, &len));
    side_splice(s, CRYPTO_LEVEL_HANDSHAKE, off, len, repl, repl_len);
    assert_int_equal(pair_deliver(s, c, 0), err);
    assert_int_equal(crypto_tls_alert(c->tls), alert);
    side_free(c);
    side_free(s);
}

/* RFC 8446 §4.3.1, §4.4.2, §4.4.4: bad messages in the server's encrypted flight. */
static void test_bad_server_flight(void **state)
{
    (void)state;
    /* §4.4.2.4: an empty Certificate is decode_error. */
    static const uint8_t empty_cert[] = {CRYPTO_HS_CERTIFICATE, 0, 0, 4, 0, 0, 0, 0};
    client_with_replaced(CRYPTO_HS_CERTIFICATE, empty_cert, sizeof(empty_cert),
                         CRYPTO_ERR_DECODE_ERROR, CRYPTO_ALERT_DECODE_ERROR);
    /* A certificate that is not DER. */
    static const uint8_t junk_cert[] = {
        CRYPTO_HS_CERTIFICATE, 0, 0, 10, 0, 0, 0, 6, 0, 0, 1, 0x30, 0, 0};
    client_with_replaced(CRYPTO_HS_CERTIFICATE, junk_cert, sizeof(junk_cert),
                         CRYPTO_ERR_BAD_CERTIFICATE, CRYPTO_ALERT_BAD_CERTIFICATE);
    /* A Finished one byte too long. */
    uint8_t fin[4 + 33] = {CRYPTO_HS_FINISHED, 0, 0, 33};
    client_with_replaced(CRYPTO_HS_FINISHED, fin, sizeof(fin), CRYPTO_ERR_DECODE_ERROR,
                         CRYPTO_ALERT_DECODE_ERROR);
    /* EncryptedExtensions with an extension we never asked for, with one not allowed there,
     * without the transport parameters, and with an ALPN we did not offer. */
    static const uint8_t ee_unknown[] = {
        CRYPTO_HS_ENCRYPTED_EXTENSIONS, 0, 0, 6, 0, 4, 0xff, 0x01, 0, 0};
    client_with_replaced(CRYPTO_HS_ENCRYPTED_EXTENSIONS, ee_unknown, sizeof(ee_unknown),
                         CRYPTO_ERR_UNSUPPORTED_EXTENSION, CRYPTO_ALERT_UNSUPPORTED_EXTENSION);
    static const uint8_t ee_key_share[] = {
        CRYPTO_HS_ENCRYPTED_EXTENSIONS, 0, 0, 8, 0, 6, 0, 51, 0, 2, 0, 0x1d};
    client_with_replaced(CRYPTO_HS_ENCRYPTED_EXTENSIONS, ee_key_share, sizeof(ee_key_share),
                         CRYPTO_ERR_ILLEGAL_PARAMETER, CRYPTO_ALERT_ILLEGAL_PARAMETER);
    static const uint8_t ee_alpn_only[] = {
        CRYPTO_HS_ENCRYPTED_EXTENSIONS, 0, 0, 11, 0, 9, 0, 16, 0, 5, 0, 3, 2, 'h', '3'};
    client_with_replaced(CRYPTO_HS_ENCRYPTED_EXTENSIONS, ee_alpn_only, sizeof(ee_alpn_only),
                         CRYPTO_ERR_MISSING_EXTENSION, CRYPTO_ALERT_MISSING_EXTENSION);
    static const uint8_t ee_h2[] = {CRYPTO_HS_ENCRYPTED_EXTENSIONS,
                                    0,
                                    0,
                                    15,
                                    0,
                                    13,
                                    0,
                                    16,
                                    0,
                                    5,
                                    0,
                                    3,
                                    2,
                                    'h',
                                    '2',
                                    0,
                                    0x39,
                                    0,
                                    0};
    client_with_replaced(CRYPTO_HS_ENCRYPTED_EXTENSIONS, ee_h2, sizeof(ee_h2),
                         CRYPTO_ERR_NO_APPLICATION_PROTOCOL, CRYPTO_ALERT_NO_APPLICATION_PROTOCOL);
    static const uint8_t ee_truncated[] = {CRYPTO_HS_ENCRYPTED_EXTENSIONS, 0, 0, 4, 0, 4, 0, 16};
    client_with_replaced(CRYPTO_HS_ENCRYPTED_EXTENSIONS, ee_truncated, sizeof(ee_truncated),
                         CRYPTO_ERR_DECODE_ERROR, CRYPTO_ALERT_DECODE_ERROR);
}

/* RFC 8446 §4.3.2: a CertificateRequest slipped in before the Certificate is accepted
 * (and enters the transcript, so the server's CertificateVerify no longer matches);
 * a malformed one is decode_error; one after the Certificate is unexpected. */
static void test_certificate_request(void **state)
{
    (void)state;
    static const uint8_t cr[] = {
        CRYPTO_HS_CERTIFICATE_REQUEST, 0, 0, 11, 0, 0, 8, 0, 13, 0, 4, 0, 2, 4, 3};
    for (int variant = 0; variant < 3; variant++) {
        side *c = side_new(false, 711);
        side *s = side_new(true, 712);
        side_start(c);
        side_start(s);
        assert_int_equal(pair_deliver(c, s, 0), 0);
        size_t off, len;
        uint8_t type = variant == 2 ? CRYPTO_HS_CERTIFICATE_VERIFY : CRYPTO_HS_CERTIFICATE;
        assert_true(side_find(s, CRYPTO_LEVEL_HANDSHAKE, type, &off, &len));
        size_t cr_len = variant == 1 ? sizeof(cr) - 1 : sizeof(cr);
        uint8_t bad[sizeof(cr)];
        memcpy(bad, cr, sizeof(cr));
        if (variant == 1)
            bad[3] = (uint8_t)(cr_len - 4); /* the extensions run past the end */
        side_splice(s, CRYPTO_LEVEL_HANDSHAKE, off, 0, bad, cr_len);
        int expect_err = variant == 0   ? CRYPTO_ERR_DECRYPT_ERROR
                         : variant == 1 ? CRYPTO_ERR_DECODE_ERROR
                                        : CRYPTO_ERR_UNEXPECTED_MESSAGE;
        assert_int_equal(pair_deliver(s, c, 0), expect_err);
        side_free(c);
        side_free(s);
    }
}

/* The client gets a hand-made ServerHello in answer to its hello. */
static void client_with_server_hello(const crypto_tls_server_hello_params *p, int err,
                                     uint8_t alert)
{
    side *c = side_new(false, 801);
    side_start(c);
    uint8_t msg[512];
    int n = crypto_tls_encode_server_hello(p, msg, sizeof(msg));
    assert_true(n > 0);
    assert_int_equal(crypto_tls_recv(c->tls, CRYPTO_LEVEL_INITIAL, msg, (size_t)n), err);
    assert_int_equal(crypto_tls_alert(c->tls), alert);
    side_free(c);
}

/* RFC 8446 §4.1.3, §4.1.4, §4.2.8: what a client refuses in a ServerHello or HRR. */
static void test_bad_server_hellos(void **state)
{
    (void)state;
    uint8_t random[32], share[32], sid[32];
    memset(random, 7, sizeof(random));
    memset(share, 9, sizeof(share));
    memset(sid, 1, sizeof(sid));
    crypto_tls_server_hello_params good = {
        .random = random,
        .cipher_suite = CRYPTO_TLS_AES_128_GCM_SHA256,
        .share = {CRYPTO_GROUP_X25519, share, 32},
    };
    crypto_tls_server_hello_params p = good;
    p.cipher_suite = 0x1304; /* not offered */
    client_with_server_hello(&p, CRYPTO_ERR_ILLEGAL_PARAMETER, CRYPTO_ALERT_ILLEGAL_PARAMETER);
    p = good;
    p.session_id = sid; /* we sent an empty one */
    p.session_id_len = 32;
    client_with_server_hello(&p, CRYPTO_ERR_ILLEGAL_PARAMETER, CRYPTO_ALERT_ILLEGAL_PARAMETER);
    p = good;
    p.share.group = CRYPTO_GROUP_SECP256R1; /* we sent no share for it */
    client_with_server_hello(&p, CRYPTO_ERR_ILLEGAL_PARAMETER, CRYPTO_ALERT_ILLEGAL_PARAMETER);
    p = good;
    p.is_hrr = true;
    p.share.group = CRYPTO_GROUP_X25519; /* a retry for the group we already sent */
    client_with_server_hello(&p, CRYPTO_ERR_ILLEGAL_PARAMETER, CRYPTO_ALERT_ILLEGAL_PARAMETER);
    p.share.group = 0x0018; /* a retry for a group we never offered */
    client_with_server_hello(&p, CRYPTO_ERR_ILLEGAL_PARAMETER, CRYPTO_ALERT_ILLEGAL_PARAMETER);

    /* A TLS 1.2 ServerHello: no supported_versions, with or without the downgrade sentinel. */
    uint8_t tls12[4 + 2 + 32 + 1 + 2 + 1] = {CRYPTO_HS_SERVER_HELLO, 0, 0, 38, 3, 3};
    tls12[4 + 2 + 32 + 1] = 0xc0;
    tls12[4 + 2 + 32 + 2] = 0x2f;
    side *c = side_new(false, 802);
    side_start(c);
    assert_int_equal(crypto_tls_recv(c->tls, CRYPTO_LEVEL_INITIAL, tls12, sizeof(tls12)),
                     CRYPTO_ERR_PROTOCOL_VERSION);
    assert_int_equal(crypto_tls_alert(c->tls), CRYPTO_ALERT_PROTOCOL_VERSION);
    side_free(c);
    memcpy(tls12 + 4 + 2 + 24, "DOWNGRD\x01", 8);
    c = side_new(false, 803);
    side_start(c);
    assert_int_equal(crypto_tls_recv(c->tls, CRYPTO_LEVEL_INITIAL, tls12, sizeof(tls12)),
                     CRYPTO_ERR_ILLEGAL_PARAMETER);
    side_free(c);

    /* An invalid X25519 point from the server. */
    p = good;
    memset(share, 0, sizeof(share));
    client_with_server_hello(&p, CRYPTO_ERR_ILLEGAL_PARAMETER, CRYPTO_ALERT_ILLEGAL_PARAMETER);
}

/* The second ClientHello the client sent (the last message at INITIAL). */
static void parse_last_client_hello(side *c, size_t from, crypto_tls_client_hello *ch)
{
    uint8_t *m = c->out[CRYPTO_LEVEL_INITIAL] + from;
    size_t len = c->out_len[CRYPTO_LEVEL_INITIAL] - from;
    assert_int_equal(m[0], CRYPTO_HS_CLIENT_HELLO);
    assert_int_equal(crypto_tls_parse_client_hello(m + 4, len - 4, ch), 0);
}

/* RFC 8446 §4.1.4, §4.2.2: a HelloRetryRequest with only a cookie; then the checks
 * of the ServerHello against the HelloRetryRequest. */
static void test_hrr_cookie_and_consistency(void **state)
{
    (void)state;
    uint8_t hrr[64] = {0};
    size_t n = 0;
    hrr[n++] = CRYPTO_HS_SERVER_HELLO;
    n += 3;
    hrr[n++] = 3;
    hrr[n++] = 3;
    memcpy(hrr + n, crypto_tls_hrr_random, 32);
    n += 32;
    hrr[n++] = 0;
    hrr[n++] = 0x13;
    hrr[n++] = 0x02;
    hrr[n++] = 0;
    static const uint8_t exts[] = {0, 15, 0, 43, 0, 2, 3, 4, 0, 44, 0, 5, 0, 3, 'a', 'b', 'c'};
    memcpy(hrr + n, exts, sizeof(exts));
    n += sizeof(exts);
    hrr[3] = (uint8_t)(n - 4);

    side *c = side_new(false, 901);
    side_start(c);
    size_t ch1_len = c->out_len[CRYPTO_LEVEL_INITIAL];
    crypto_tls_client_hello ch1, ch2;
    parse_last_client_hello(c, 0, &ch1);
    crypto_tls_span key1, key2;
    assert_true(crypto_tls_key_share_find(ch1.key_shares, CRYPTO_GROUP_X25519, &key1));
    assert_int_equal(ch1.cookie.len, 0);
    assert_int_equal(crypto_tls_recv(c->tls, CRYPTO_LEVEL_INITIAL, hrr, n), 0);
    assert_true(crypto_tls_used_hrr(c->tls));
    parse_last_client_hello(c, ch1_len, &ch2);
    assert_int_equal(ch2.cookie.len, 3);
    assert_memory_equal(ch2.cookie.p, "abc", 3);
    /* The same share again, the same random. */
    assert_true(crypto_tls_key_share_find(ch2.key_shares, CRYPTO_GROUP_X25519, &key2));
    assert_int_equal(key1.len, key2.len);
    assert_memory_equal(key1.p, key2.p, key1.len);
    assert_memory_equal(ch1.random, ch2.random, 32);
    /* A ServerHello with another suite than the HelloRetryRequest's. */
    uint8_t random[32], share[32];
    memset(random, 3, sizeof(random));
    memset(share, 9, sizeof(share));
    crypto_tls_server_hello_params p = {
        .random = random,
        .cipher_suite = CRYPTO_TLS_AES_128_GCM_SHA256,
        .share = {CRYPTO_GROUP_X25519, share, 32},
    };
    uint8_t sh[256];
    int sh_len = crypto_tls_encode_server_hello(&p, sh, sizeof(sh));
    assert_int_equal(crypto_tls_recv(c->tls, CRYPTO_LEVEL_INITIAL, sh, (size_t)sh_len),
                     CRYPTO_ERR_ILLEGAL_PARAMETER);
    side_free(c);

    /* A retry asking for P-256, answered by a ServerHello in X25519. */
    static const uint8_t exts_p256[] = {0, 12, 0, 43, 0, 2, 3, 4, 0, 51, 0, 2, 0, 0x17};
    n = 4 + 2 + 32 + 1 + 2 + 1;
    memcpy(hrr + n, exts_p256, sizeof(exts_p256));
    n += sizeof(exts_p256);
    hrr[3] = (uint8_t)(n - 4);
    c = side_new(false, 902);
    side_start(c);
    ch1_len = c->out_len[CRYPTO_LEVEL_INITIAL];
    assert_int_equal(crypto_tls_recv(c->tls, CRYPTO_LEVEL_INITIAL, hrr, n), 0);
    parse_last_client_hello(c, ch1_len, &ch2);
    assert_int_equal(crypto_tls_key_share_count(ch2.key_shares), 1);
    assert_true(crypto_tls_key_share_find(ch2.key_shares, CRYPTO_GROUP_SECP256R1, &key2));
    assert_int_equal(key2.len, 65);
    p.cipher_suite = CRYPTO_TLS_AES_256_GCM_SHA384;
    sh_len = crypto_tls_encode_server_hello(&p, sh, sizeof(sh));
    assert_int_equal(crypto_tls_recv(c->tls, CRYPTO_LEVEL_INITIAL, sh, (size_t)sh_len),
                     CRYPTO_ERR_ILLEGAL_PARAMETER);
    assert_int_equal(crypto_tls_alert(c->tls), CRYPTO_ALERT_ILLEGAL_PARAMETER);
    side_free(c);
}

static uint64_t rng = 0x1234567;

static uint32_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

/* Alerts a malformed message may give; never internal_error. */
static void assert_protocol_alert(const side *x)
{
    int err = crypto_tls_error(x->tls);
    if (err == 0)
        return;
    uint8_t a = crypto_tls_alert(x->tls);
    assert_int_not_equal(a, CRYPTO_ALERT_INTERNAL_ERROR);
    assert_int_not_equal(a, 0);
}

/* Random damage (a flipped bit, a cut, a stray byte) in one flight of a handshake:
 * each run ends in success or in a protocol alert, never a crash or a leak. */
static void test_random_mutations(void **state)
{
    (void)state;
    static const uint16_t client_groups[] = {CRYPTO_GROUP_X25519, CRYPTO_GROUP_SECP256R1, 0};
    static const uint16_t server_groups[] = {CRYPTO_GROUP_SECP256R1, 0};
    int failures = 0;
    for (int i = 0; i < 400; i++) {
        side *c = side_new(false, 1000 + (uint64_t)i);
        side *s = side_new(true, 2000 + (uint64_t)i);
        /* Every other run goes through a HelloRetryRequest. */
        bool hrr = i % 2 == 1;
        if (hrr) {
            c->cfg.groups = client_groups;
            s->cfg.groups = server_groups;
        }
        side_start(c);
        side_start(s);
        /* Which flight is damaged: without a retry ClientHello, server flight, client
         * Finished; with one ClientHello1, HelloRetryRequest, ClientHello2, server
         * flight, client Finished. */
        int steps = (i / 2) % (hrr ? 5 : 3);
        for (int k = 0; k < steps; k++)
            assert_int_equal(k % 2 == 0 ? pair_deliver(c, s, 0) : pair_deliver(s, c, 0), 0);
        side *from = steps % 2 == 0 ? c : s;
        uint32_t pick = next_random();
        crypto_level level = CRYPTO_LEVEL_INITIAL;
        if (from->out_len[CRYPTO_LEVEL_INITIAL] == 0 ||
            (from->out_len[CRYPTO_LEVEL_HANDSHAKE] > 0 && pick % 2 == 1))
            level = CRYPTO_LEVEL_HANDSHAKE;
        size_t len = from->out_len[level];
        assert_true(len > 0);
        uint32_t r = next_random();
        size_t at = r % len;
        switch ((r >> 24) % 3) {
        case 0:
            from->out[level][at] ^= (uint8_t)(1u << ((r >> 16) % 8));
            break;
        case 1:
            from->out_len[level] = at;
            break;
        default:
            memmove(from->out[level] + at + 1, from->out[level] + at, len - at);
            from->out[level][at] = (uint8_t)(r >> 8);
            from->out_len[level] = len + 1;
            break;
        }
        pair_run(c, s, (r >> 12) % 2 ? 0 : 1 + (r >> 4) % 50);
        assert_protocol_alert(c);
        assert_protocol_alert(s);
        if (crypto_tls_error(c->tls) != 0 || crypto_tls_error(s->tls) != 0)
            failures++;
        /* Success only when both agree on everything. */
        if (crypto_tls_handshake_done(c->tls) && crypto_tls_handshake_done(s->tls)) {
            size_t h = crypto_hash_len(crypto_tls_suite(c->tls)->hash);
            assert_memory_equal(c->secret[1][CRYPTO_LEVEL_APP], s->secret[0][CRYPTO_LEVEL_APP], h);
        }
        side_free(c);
        side_free(s);
    }
    /* Most damage is caught. */
    assert_true(failures > 260);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mlkem_and_x25519),
        cmocka_unit_test(test_session_id_echo),
        cmocka_unit_test(test_session_id_in_quic),
        cmocka_unit_test(test_no_supported_versions),
        cmocka_unit_test(test_bad_client_hellos),
        cmocka_unit_test(test_bad_second_hello),
        cmocka_unit_test(test_wrong_level_and_order),
        cmocka_unit_test(test_bad_server_flight),
        cmocka_unit_test(test_bad_server_hellos),
        cmocka_unit_test(test_hrr_cookie_and_consistency),
        cmocka_unit_test(test_random_mutations),
        cmocka_unit_test(test_certificate_request),
    };
    return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}
