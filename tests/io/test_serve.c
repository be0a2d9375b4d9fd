/* Tests for io/serve.c and io/connect.c: a WebTransport echo over loopback, IPv4 and IPv6. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "crypto/backend.h"
#include "io/connect.h"
#include "io/posix_env.h"
#include "io/serve.h"

#define LIMIT_US 15000000u

/* ---- the server: echo on /echo, 404 elsewhere ---- */

static int srv_request(void *user, wt_session *s)
{
    (void)user;
    return strcmp(wt_session_path(s), "/echo") == 0 ? 200 : 404;
}

static void srv_data(void *user, wt_stream *st, const uint8_t *data, size_t len, bool fin)
{
    (void)user;
    if (wt_stream_is_bidi(st))
        wt_stream_write(st, data, len, fin);
}

static void srv_datagram(void *user, wt_session *s, const uint8_t *data, size_t len)
{
    (void)user;
    wt_session_send_datagram(s, data, len);
}

/* ---- the client: one bidi stream and one datagram, both echoed, then close ---- */

typedef struct client_state {
    io_client *c;
    wt_session *session;
    char echoed[64];
    size_t echoed_len;
    bool fin, datagram, closed, rejected;
    int status;
} client_state;

static void cli_handshake_done(void *user, bind_conn *bc)
{
    client_state *cs = user;
    assert_int_equal(wt_endpoint_connect(bind_conn_wt(bc), io_client_authority(cs->c),
                                         io_client_path(cs->c), NULL,
                                         &cs->session),
                     WT_OK);
}

static void cli_ready(void *user, wt_session *s)
{
    (void)user;
    wt_stream *st;
    assert_int_equal(wt_session_open_stream(s, true, &st), WT_OK);
    assert_int_equal(wt_stream_write(st, (const uint8_t *)"hello io", 8, true), WT_OK);
    assert_int_equal(wt_session_send_datagram(s, (const uint8_t *)"dgram", 5), WT_OK);
}

static void cli_rejected(void *user, wt_session *s, int status)
{
    client_state *cs = user;
    (void)s;
    cs->rejected = true;
    cs->status = status;
}

static void maybe_done(client_state *cs)
{
    if (cs->fin && cs->datagram && !cs->closed) {
        cs->closed = true;
        wt_session_close(cs->session, 7, (const uint8_t *)"done", 4);
    }
}

static void cli_data(void *user, wt_stream *st, const uint8_t *data, size_t len, bool fin)
{
    client_state *cs = user;
    (void)st;
    assert_true(cs->echoed_len + len <= sizeof(cs->echoed));
    memcpy(cs->echoed + cs->echoed_len, data, len);
    cs->echoed_len += len;
    cs->fin |= fin;
    maybe_done(cs);
}

static void cli_datagram(void *user, wt_session *s, const uint8_t *data, size_t len)
{
    client_state *cs = user;
    (void)s;
    cs->datagram = len == 5 && memcmp(data, "dgram", 5) == 0;
    maybe_done(cs);
}

/* Run one client against srv on the shared loop until it is done or fails. */
static void run_client(io_loop *loop, const char *url, const crypto_tls_config *tls,
                       client_state *cs)
{
    io_client_config cc;
    io_client_config_init(&cc);
    cc.bind.webtransport = true;
    cc.bind.quic.tls.verify_mode = tls->verify_mode;
    cc.bind.quic.tls.ca_store = tls->ca_store;
    cc.bind.quic.tls.pinned_sha256 = tls->pinned_sha256;
    cc.bind.quic.tls.pinned_count = tls->pinned_count;
    cc.bind.quic.tls.server_name = tls->server_name;
    cc.bind.cb.user = cs;
    cc.bind.cb.on_handshake_done = cli_handshake_done;
    cc.bind.wtcb.on_session_ready = cli_ready;
    cc.bind.wtcb.on_session_rejected = cli_rejected;
    cc.bind.wtcb.on_stream_data = cli_data;
    cc.bind.wtcb.on_datagram = cli_datagram;
    assert_int_equal(io_client_new(&cs->c, loop, url, &cc), IO_OK);
    uint64_t end = io_now_us() + LIMIT_US;
    while (io_now_us() < end && !cs->rejected && !(cs->closed && cs->echoed_len == 8))
        assert_true(io_loop_run_once(loop, 50) >= 0);
    /* A few more turns so that the close goes out. */
    for (int i = 0; i < 5; i++)
        io_loop_run_once(loop, 10);
    io_client_free(cs->c);
}

static io_server *start_server(io_loop *loop, const io_server_config *base)
{
    io_server_config cfg = *base;
    cfg.bind.wtcb.on_session_request = srv_request;
    cfg.bind.wtcb.on_stream_data = srv_data;
    cfg.bind.wtcb.on_datagram = srv_datagram;
    io_server *srv;
    assert_int_equal(io_server_new(&srv, loop, &cfg), IO_OK);
    return srv;
}

/* The default addresses: 127.0.0.1 and ::1 on one port; a generated
 * certificate, pinned by its SHA-256 as serverCertificateHashes would. */
static void test_default_addresses_generated_cert(void **state)
{
    (void)state;
    io_loop *loop;
    assert_int_equal(io_loop_create(&loop, NULL), IO_OK);
    io_server_config cfg;
    io_server_config_init(&cfg);
    cfg.port = 0;
    io_server *srv = start_server(loop, &cfg);
    assert_true(io_server_cert_generated(srv));
    assert_int_equal(strlen(io_server_cert_sha256_hex(srv)), 64);
    size_t n = io_server_socket_count(srv);
    assert_true(n == 1 || n == 2);
    assert_int_equal(io_addr_family(&io_server_socket(srv, 0)->local), AF_INET);
    uint16_t port = io_server_port(srv);
    assert_true(port != 0);
    if (n == 2) {
        assert_int_equal(io_addr_family(&io_server_socket(srv, 1)->local), AF_INET6);
        assert_int_equal(io_addr_port(&io_server_socket(srv, 1)->local), port);
    }

    const uint8_t(*pin)[32] = (const uint8_t(*)[32])io_server_cert_sha256(srv);
    crypto_tls_config tls = {
        .verify_mode = CRYPTO_VERIFY_PINNED, .pinned_sha256 = pin, .pinned_count = 1};
    const char *hosts[2] = {"127.0.0.1", "[::1]"};
    for (size_t i = 0; i < n; i++) {
        char url[80];
        snprintf(url, sizeof(url), "https://%s:%u/echo", hosts[i], port);
        client_state cs;
        memset(&cs, 0, sizeof(cs));
        run_client(loop, url, &tls, &cs);
        assert_false(cs.rejected);
        assert_true(cs.datagram);
        assert_true(cs.fin);
        assert_int_equal(cs.echoed_len, 8);
        assert_memory_equal(cs.echoed, "hello io", 8);
    }
    /* Another path is refused with the server's 404. */
    char url[80];
    snprintf(url, sizeof(url), "https://127.0.0.1:%u/other", port);
    client_state cs;
    memset(&cs, 0, sizeof(cs));
    run_client(loop, url, &tls, &cs);
    assert_true(cs.rejected);
    assert_int_equal(cs.status, 404);
    io_server_free(srv);
    io_loop_destroy(loop);
}

static char dir[512];

static void write_file(const char *name, const uint8_t *data, size_t len, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* --cert/--key style credentials from files: a leaf signed by a CA made
 * here, which the client verifies by chain and name (localhost). */
static void test_credentials_from_files(void **state)
{
    (void)state;
    quince_env env = io_env_default();
    snprintf(dir, sizeof(dir), "%s/io-serve-XXXXXX", QUINCE_BUILD_ROOT);
    assert_non_null(mkdtemp(dir));
    int64_t now = (int64_t)time(NULL);
    crypto_cert_params ca = {.common_name = "io test CA",
                             .not_before_unix = now - 3600,
                             .not_after_unix = now + 86400,
                             .is_ca = true};
    uint8_t *ca_der, *ca_key_der, *der, *key_der;
    size_t ca_len, ca_key_len, len, key_len;
    crypto_privkey *ca_key;
    assert_true(
        crypto_cert_generate(&env, &ca, &ca_der, &ca_len, &ca_key_der, &ca_key_len, &ca_key) >= 0);
    crypto_cert_params leaf = {.common_name = "localhost",
                               .dns_name = "localhost",
                               .ip_address = "127.0.0.1",
                               .not_before_unix = now - 3600,
                               .not_after_unix = now + 86400,
                               .issuer_der = ca_der,
                               .issuer_der_len = ca_len,
                               .issuer_key = ca_key};
    assert_true(crypto_cert_generate(&env, &leaf, &der, &len, &key_der, &key_len, NULL) >= 0);
    char cert_path[600], key_path[600];
    write_file("leaf.der", der, len, cert_path, sizeof(cert_path));
    write_file("leaf.key", key_der, key_len, key_path, sizeof(key_path));

    io_loop *loop;
    assert_int_equal(io_loop_create(&loop, NULL), IO_OK);
    io_server_config cfg;
    io_server_config_init(&cfg);
    const char *listen[] = {"127.0.0.1:0", NULL};
    cfg.listen = listen;
    cfg.cert_file = cert_path;
    cfg.key_file = key_path;
    io_server *srv = start_server(loop, &cfg);
    assert_false(io_server_cert_generated(srv));
    assert_int_equal(io_server_socket_count(srv), 1);
    uint8_t h[32];
    crypto_hash(CRYPTO_HASH_SHA256, der, len, h);
    assert_memory_equal(io_server_cert_sha256(srv), h, 32);

    crypto_x509_store *store = crypto_x509_store_new(&env);
    assert_non_null(store);
    assert_int_equal(crypto_x509_store_add(store, ca_der, ca_len), 0);
    crypto_tls_config tls = {
        .verify_mode = CRYPTO_VERIFY_CHAIN, .ca_store = store, .server_name = "localhost"};
    char url[80];
    snprintf(url, sizeof(url), "https://127.0.0.1:%u/echo", io_server_port(srv));
    client_state cs;
    memset(&cs, 0, sizeof(cs));
    run_client(loop, url, &tls, &cs);
    assert_true(cs.datagram);
    assert_int_equal(cs.echoed_len, 8);
    assert_memory_equal(cs.echoed, "hello io", 8);

    io_server_free(srv);
    io_loop_destroy(loop);
    crypto_x509_store_free(&env, store);
    crypto_privkey_free(&env, ca_key);
    quince_env_free(&env, ca_der);
    quince_env_free(&env, ca_key_der);
    quince_env_free(&env, der);
    quince_env_free(&env, key_der);
    unlink(cert_path);
    unlink(key_path);
    rmdir(dir);
}

/* Setup errors come back as io_ codes, and nothing leaks (ASan). */
static void test_errors(void **state)
{
    (void)state;
    io_server_config cfg;
    io_server_config_init(&cfg);
    io_server *srv = (io_server *)1;
    cfg.cert_file = "/nonexistent/cert.pem";
    cfg.key_file = "/nonexistent/key.pem";
    cfg.port = 0;
    assert_int_equal(io_server_new(&srv, NULL, &cfg), IO_ERR_CERT);
    assert_null(srv);
    io_server_config_init(&cfg);
    const char *bad[] = {"not an address", NULL};
    cfg.listen = bad;
    assert_int_equal(io_server_new(&srv, NULL, &cfg), IO_ERR_ADDR);

    io_client_config cc;
    io_client_config_init(&cc);
    io_client *c;
    assert_int_equal(io_client_new(&c, NULL, "http://127.0.0.1/", &cc), IO_ERR_ADDR);
    assert_int_equal(io_client_new(&c, NULL, "https://no-such-host.invalid/", &cc), IO_ERR_RESOLVE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_addresses_generated_cert),
        cmocka_unit_test(test_credentials_from_files),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
