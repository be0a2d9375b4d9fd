/* Test helper: a TLS client and server engine wired together in memory, with certificates. */
#include "tests/crypto/tls_pair.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

fixture fx;

static const char *const alpn_h3[] = {"h3", NULL};
static const uint8_t client_tp[] = "client transport parameters";
static const uint8_t server_tp[] = "server transport parameters";

static void gen(const crypto_cert_params *p, uint8_t **der, size_t *len, uint8_t **key_der,
                size_t *key_len, crypto_privkey **key)
{
    assert_int_equal(crypto_cert_generate(&fx.t.env, p, der, len, key_der, key_len, key), 0);
}

int fixture_setup(void **state)
{
    (void)state;
    memset(&fx, 0, sizeof(fx));
    test_env_init(&fx.t, 99);
    int64_t now = fx.t.wall_clock;
    crypto_cert_params ca = {.common_name = "Quince Test CA",
                             .not_before_unix = now - 86400,
                             .not_after_unix = now + 365 * 86400,
                             .is_ca = true};
    gen(&ca, &fx.ca_der, &fx.ca_len, &fx.ca_key_der, &fx.ca_key_len, &fx.ca_key);
    crypto_cert_params leaf = {.common_name = "example.test",
                               .dns_name = "example.test",
                               .not_before_unix = now - 86400,
                               .not_after_unix = now + 30 * 86400,
                               .issuer_der = fx.ca_der,
                               .issuer_der_len = fx.ca_len,
                               .issuer_key = fx.ca_key};
    gen(&leaf, &fx.leaf_der, &fx.leaf_len, &fx.leaf_key_der, &fx.leaf_key_len, &fx.leaf_key);
    crypto_cert_params expired = leaf;
    expired.not_before_unix = now - 60 * 86400;
    expired.not_after_unix = now - 86400;
    gen(&expired, &fx.expired_der, &fx.expired_len, &fx.expired_key_der, &fx.expired_key_len,
        &fx.expired_key);
    crypto_cert_params other = ca;
    other.common_name = "Some Other CA";
    gen(&other, &fx.other_ca_der, &fx.other_ca_len, &fx.other_ca_key_der, &fx.other_ca_key_len,
        &fx.other_ca_key);
    crypto_cert_params stranger = leaf;
    stranger.issuer_der = fx.other_ca_der;
    stranger.issuer_der_len = fx.other_ca_len;
    stranger.issuer_key = fx.other_ca_key;
    gen(&stranger, &fx.stranger_der, &fx.stranger_len, &fx.stranger_key_der, &fx.stranger_key_len,
        &fx.stranger_key);
    fx.store = crypto_x509_store_new(&fx.t.env);
    assert_non_null(fx.store);
    assert_int_equal(crypto_x509_store_add(fx.store, fx.ca_der, fx.ca_len), 0);
    fx.chain[0] = fx.leaf_der;
    fx.chain_lens[0] = fx.leaf_len;
    fx.chain[1] = fx.ca_der;
    fx.chain_lens[1] = fx.ca_len;
    return 0;
}

int fixture_teardown(void **state)
{
    (void)state;
    const quince_env *env = &fx.t.env;
    crypto_x509_store_free(env, fx.store);
    uint8_t *blobs[] = {fx.ca_der,       fx.ca_key_der,      fx.leaf_der,     fx.leaf_key_der,
                        fx.expired_der,  fx.expired_key_der, fx.other_ca_der, fx.other_ca_key_der,
                        fx.stranger_der, fx.stranger_key_der};
    for (size_t i = 0; i < sizeof(blobs) / sizeof(blobs[0]); i++)
        quince_env_free(env, blobs[i]);
    crypto_privkey *keys[] = {fx.ca_key, fx.leaf_key, fx.expired_key, fx.other_ca_key,
                              fx.stranger_key};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        crypto_privkey_free(env, keys[i]);
    test_env_check_leaks(&fx.t);
    return 0;
}

static int cb_send(void *user, crypto_level level, const uint8_t *data, size_t len)
{
    side *s = user;
    if (s->send_fail != 0)
        return s->send_fail;
    assert_true(s->out_len[level] + len <= PAIR_OUT_CAP);
    if (!s->sent_hello && level == CRYPTO_LEVEL_INITIAL && len >= 38 && data[0] == 1) {
        memcpy(s->hello_random, data + 6, 32);
        s->sent_hello = true;
    }
    memcpy(s->out[level] + s->out_len[level], data, len);
    s->out_len[level] += len;
    return 0;
}

static int cb_set_secret(void *user, crypto_level level, bool is_write, const crypto_suite *suite,
                         const uint8_t *secret, size_t len)
{
    side *s = user;
    assert_non_null(suite);
    assert_int_equal(len, crypto_hash_len(suite->hash));
    /* Each secret is given once. */
    assert_int_equal(s->secret_len[is_write][level], 0);
    memcpy(s->secret[is_write][level], secret, len);
    s->secret_len[is_write][level] = len;
    s->secret_calls++;
    return 0;
}

static int cb_peer_tp(void *user, const uint8_t *data, size_t len, uint8_t *alert)
{
    side *s = user;
    s->tp_calls++;
    if (s->tp_reject_alert != 0) {
        *alert = (uint8_t)s->tp_reject_alert;
        return CRYPTO_ERR_ILLEGAL_PARAMETER;
    }
    assert_true(len <= sizeof(s->peer_tp));
    memcpy(s->peer_tp, data, len);
    s->peer_tp_len = len;
    return 0;
}

side *side_new(bool is_server, uint64_t seed)
{
    side *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    test_env_init(&s->t, seed);
    crypto_tls_config *c = &s->cfg;
    c->is_server = is_server;
    c->alpn = alpn_h3;
    if (is_server) {
        c->cert_chain = fx.chain;
        c->cert_chain_lens = fx.chain_lens;
        c->cert_chain_count = 2;
        c->private_key = fx.leaf_key;
        c->transport_params = server_tp;
        c->transport_params_len = sizeof(server_tp) - 1;
    } else {
        c->server_name = "example.test";
        c->verify_mode = CRYPTO_VERIFY_CHAIN;
        c->ca_store = fx.store;
        c->transport_params = client_tp;
        c->transport_params_len = sizeof(client_tp) - 1;
    }
    return s;
}

void side_start(side *s)
{
    crypto_tls_callbacks cb = {s, cb_send, cb_set_secret, cb_peer_tp};
    s->tls = crypto_tls_new(&s->t.env, &s->cfg, &cb);
    assert_non_null(s->tls);
    if (!s->cfg.is_server)
        assert_int_equal(crypto_tls_start(s->tls), 0);
}

bool side_try_start(side *s)
{
    crypto_tls_callbacks cb = {s, cb_send, cb_set_secret, cb_peer_tp};
    s->tls = crypto_tls_new(&s->t.env, &s->cfg, &cb);
    if (s->tls == NULL)
        return false;
    return s->cfg.is_server || crypto_tls_start(s->tls) == 0;
}

bool side_try_start_with(side *s, const crypto_tls_config *cfg)
{
    crypto_tls_callbacks cb = {s, cb_send, cb_set_secret, cb_peer_tp};
    crypto_tls *tls = crypto_tls_new(&s->t.env, cfg, &cb);
    crypto_tls_free(tls);
    return tls != NULL;
}

void side_free(side *s)
{
    crypto_tls_free(s->tls);
    test_env_check_leaks(&s->t);
    free(s);
}

int pair_deliver(side *from, side *to, size_t chunk)
{
    static uint8_t buf[PAIR_OUT_CAP];
    for (int level = 0; level < CRYPTO_LEVEL_COUNT; level++) {
        size_t n = from->out_len[level];
        if (n == 0)
            continue;
        memcpy(buf, from->out[level], n);
        from->out_len[level] = 0;
        size_t step = chunk == 0 ? n : chunk;
        for (size_t off = 0; off < n; off += step) {
            size_t take = n - off < step ? n - off : step;
            int rc = crypto_tls_recv(to->tls, (crypto_level)level, buf + off, take);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

static bool pending(const side *s)
{
    for (int l = 0; l < CRYPTO_LEVEL_COUNT; l++)
        if (s->out_len[l] > 0)
            return true;
    return false;
}

void pair_run(side *c, side *s, size_t chunk)
{
    for (int round = 0; round < 10 && (pending(c) || pending(s)); round++) {
        if (pair_deliver(c, s, chunk) < 0 || pair_deliver(s, c, chunk) < 0)
            return;
    }
}

bool side_find(const side *s, crypto_level level, uint8_t type, size_t *off, size_t *len)
{
    size_t p = 0;
    while (p + 4 <= s->out_len[level]) {
        const uint8_t *m = s->out[level] + p;
        size_t body = ((size_t)m[1] << 16) | ((size_t)m[2] << 8) | m[3];
        if (m[0] == type) {
            *off = p;
            *len = 4 + body;
            return true;
        }
        p += 4 + body;
    }
    return false;
}
