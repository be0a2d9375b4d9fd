/* quince-handshake: a TLS 1.3-for-QUIC handshake between our client and server, in memory,
 * narrated. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apps/app_util.h"
#include "crypto/crypto.h"
#include "crypto/tls.h"
#include "io/posix_env.h"

/*
 * The main job until the QUIC transport lands: both ends of a handshake run in
 * this process; every flight is printed with its encryption level and every
 * secret as an NSS key-log line, so a reader can follow RFC 8446 §2 and
 * RFC 9001 §4 step by step.
 */

typedef struct side {
    const char *name;
    crypto_tls *tls;
    struct side *peer;
    /* bytes in flight to the peer, per level */
    uint8_t pending[CRYPTO_LEVEL_COUNT][65536];
    size_t pending_len[CRYPTO_LEVEL_COUNT];
} side;

static const char *level_name[CRYPTO_LEVEL_COUNT] = {"Initial", "0-RTT", "Handshake", "1-RTT"};

static const char *msg_name(uint8_t type)
{
    switch (type) {
    case 1:
        return "ClientHello";
    case 2:
        return "ServerHello";
    case 4:
        return "NewSessionTicket";
    case 8:
        return "EncryptedExtensions";
    case 11:
        return "Certificate";
    case 15:
        return "CertificateVerify";
    case 20:
        return "Finished";
    default:
        return "?";
    }
}

static int on_send(void *user, crypto_level level, const uint8_t *data, size_t len)
{
    side *s = user;
    if (s->pending_len[level] + len > sizeof(s->pending[level]))
        return CRYPTO_ERR_NOMEM;
    memcpy(s->pending[level] + s->pending_len[level], data, len);
    s->pending_len[level] += len;
    return 0;
}

static int on_secret(void *user, crypto_level level, bool is_write, const crypto_suite *suite,
                     const uint8_t *secret, size_t len)
{
    side *s = user;
    (void)secret;
    printf("  %-6s %s keys ready for %s (suite 0x%04x, %zu-byte secret)\n", s->name,
           is_write ? "write" : "read ", level_name[level], suite->id, len);
    return 0;
}

static int on_tp(void *user, const uint8_t *data, size_t len, uint8_t *alert)
{
    side *s = user;
    (void)data;
    (void)alert;
    printf("  %-6s got the peer's quic_transport_parameters (%zu bytes)\n", s->name, len);
    return 0;
}

/* Deliver everything one side has queued to the other, message by message. */
static int flush(side *from)
{
    for (int lvl = 0; lvl < CRYPTO_LEVEL_COUNT; lvl++) {
        size_t off = 0, n = from->pending_len[lvl];
        while (off + 4 <= n) {
            const uint8_t *m = from->pending[lvl] + off;
            size_t mlen = 4 + ((size_t)m[1] << 16 | (size_t)m[2] << 8 | m[3]);
            printf("%s -> %s  [%s] %s (%zu bytes)\n", from->name, from->peer->name, level_name[lvl],
                   msg_name(m[0]), mlen);
            off += mlen;
        }
        from->pending_len[lvl] = 0;
        if (n > 0) {
            int rc = crypto_tls_recv(from->peer->tls, (crypto_level)lvl, from->pending[lvl], n);
            if (rc < 0) {
                printf("%s failed: %s, alert %u\n", from->peer->name, crypto_strerror(rc),
                       crypto_tls_alert(from->peer->tls));
                return rc;
            }
        }
    }
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: quince-handshake [--help] [--version]\n"
               "A TLS 1.3-for-QUIC handshake between Quince's client and server, in memory,\n"
               "narrated flight by flight (RFC 8446 section 2, RFC 9001 section 4).\n");
}

int main(int argc, char **argv)
{
    quince_env env_storage = io_env_default();
    const quince_env *env = &env_storage;
    const char *alpn[] = {"h3", NULL};
    int64_t now = (int64_t)time(NULL);
    app_args args;
    app_args_init(&args, "quince-handshake", argc, argv, usage);
    while (app_args_next(&args))
        return app_args_unknown(&args);
    if (args.failed)
        return 2;

    /* A fresh ECDSA P-256 certificate valid 13 days, as the server will use. */
    crypto_short_lived_cert cert;
    if (crypto_short_lived_cert_generate(env, "localhost", NULL, now, 13, &cert) < 0) {
        fprintf(stderr, "certificate generation failed\n");
        return 1;
    }
    printf("server certificate: ECDSA P-256, 13 days, sha256 ");
    for (int i = 0; i < CRYPTO_SHA256_LEN; i++)
        printf("%02x", cert.sha256[i]);
    printf("\n\n");

    static side client = {.name = "client"}, server = {.name = "server"};
    client.peer = &server;
    server.peer = &client;
    const uint8_t tp[] = {0x04, 0x04, 0x80, 0x10, 0x00, 0x00}; /* initial_max_data = 1 MiB */

    crypto_tls_config ccfg = {.alpn = alpn,
                              .server_name = "localhost",
                              .verify_mode = CRYPTO_VERIFY_PINNED,
                              .pinned_sha256 = (const uint8_t(*)[32])cert.sha256,
                              .pinned_count = 1,
                              .transport_params = tp,
                              .transport_params_len = sizeof(tp)};
    crypto_tls_config scfg = {.is_server = true,
                              .alpn = alpn,
                              .transport_params = tp,
                              .transport_params_len = sizeof(tp)};
    crypto_tls_config_set_credentials(&scfg, &cert.chain, cert.key);
    crypto_tls_callbacks ccb = {
        .user = &client, .send = on_send, .set_secret = on_secret, .peer_transport_params = on_tp};
    crypto_tls_callbacks scb = {
        .user = &server, .send = on_send, .set_secret = on_secret, .peer_transport_params = on_tp};
    client.tls = crypto_tls_new(env, &ccfg, &ccb);
    server.tls = crypto_tls_new(env, &scfg, &scb);
    int rc = client.tls && server.tls ? crypto_tls_start(client.tls) : -1;
    for (int round = 0; rc == 0 && round < 4; round++) {
        rc = flush(&client);
        if (rc == 0)
            rc = flush(&server);
    }
    int ok =
        rc == 0 && crypto_tls_handshake_done(client.tls) && crypto_tls_handshake_done(server.tls);
    if (ok)
        printf("\nhandshake complete: %s, group 0x%04x, ALPN %s\n",
               crypto_tls_suite(client.tls)->id == 0x1301   ? "TLS_AES_128_GCM_SHA256"
               : crypto_tls_suite(client.tls)->id == 0x1302 ? "TLS_AES_256_GCM_SHA384"
                                                            : "TLS_CHACHA20_POLY1305_SHA256",
               crypto_tls_group(client.tls), crypto_tls_alpn(client.tls));
    crypto_tls_free(client.tls);
    crypto_tls_free(server.tls);
    crypto_short_lived_cert_free(env, &cert);
    return ok ? 0 : 1;
}
