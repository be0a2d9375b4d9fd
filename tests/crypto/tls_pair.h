/* Test helper: a TLS client and server engine wired together in memory, with certificates. */
#ifndef TESTS_CRYPTO_TLS_PAIR_H
#define TESTS_CRYPTO_TLS_PAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/tls.h"
#include "tests/common/test_env.h"

#define PAIR_OUT_CAP (64 * 1024)

/* One endpoint: its engine, what it sent per level, the secrets it was given. */
typedef struct side {
    test_env t;
    crypto_tls_config cfg;
    crypto_tls *tls;
    uint8_t out[CRYPTO_LEVEL_COUNT][PAIR_OUT_CAP];
    size_t out_len[CRYPTO_LEVEL_COUNT];
    uint8_t secret[2][CRYPTO_LEVEL_COUNT][48]; /* [is_write][level] */
    size_t secret_len[2][CRYPTO_LEVEL_COUNT];
    int secret_calls;
    uint8_t peer_tp[512];
    size_t peer_tp_len;
    int tp_calls;
    int tp_reject_alert;      /* non-zero: the transport parameter callback fails with it */
    int send_fail;            /* non-zero: the send callback returns this */
    uint8_t hello_random[32]; /* the random of the first ClientHello sent */
    bool sent_hello;
} side;

/* Certificates made once per test program (crypto_cert_generate). */
typedef struct fixture {
    test_env t;
    uint8_t *ca_der, *ca_key_der;
    size_t ca_len, ca_key_len;
    crypto_privkey *ca_key;
    uint8_t *leaf_der, *leaf_key_der; /* example.test, ECDSA P-256, signed by ca */
    size_t leaf_len, leaf_key_len;
    crypto_privkey *leaf_key;
    uint8_t *expired_der, *expired_key_der;
    size_t expired_len, expired_key_len;
    crypto_privkey *expired_key;
    uint8_t *other_ca_der, *other_ca_key_der; /* a CA the client does not trust */
    size_t other_ca_len, other_ca_key_len;
    crypto_privkey *other_ca_key;
    uint8_t *stranger_der, *stranger_key_der; /* example.test, signed by other_ca */
    size_t stranger_len, stranger_key_len;
    crypto_privkey *stranger_key;
    crypto_x509_store *store; /* trusts ca */
    const uint8_t *chain[2];
    size_t chain_lens[2];
} fixture;

extern fixture fx;
int fixture_setup(void **state);
int fixture_teardown(void **state);

/* Default configs: QUIC mode, ALPN "h3", example.test, chain leaf+ca. */
side *side_new(bool is_server, uint64_t seed);
/* Create the engine from s->cfg (after the test changed it). */
void side_start(side *s);
/* The same without asserting: false if the engine could not be created or started. */
bool side_try_start(side *s);
/* Try to create an engine from another config (the side keeps none); false if refused. */
bool side_try_start_with(side *s, const crypto_tls_config *cfg);
void side_free(side *s);
/* Move everything one side sent to the other, in chunks of chunk bytes (0: all at once). */
int pair_deliver(side *from, side *to, size_t chunk);
/* Run the handshake to its end or to the first failure. */
void pair_run(side *c, side *s, size_t chunk);
/* Offset and length of the first message of type in a side's output at level; false if none. */
bool side_find(const side *s, crypto_level level, uint8_t type, size_t *off, size_t *len);

#endif
