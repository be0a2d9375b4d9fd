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
    case 13:
        return "CertificateRequest";
    case 15:
        return "CertificateVerify";
    case 20:
        return "Finished";
    default:
        return "?";
    }
}

/* Where each message is defined. */
static const char *msg_section(uint8_t type)
{
    switch (type) {
    case 1:
        return "RFC 8446 §4.1.2";
    case 2:
        return "RFC 8446 §4.1.3";
    case 4:
        return "RFC 8446 §4.6.1";
    case 8:
        return "RFC 8446 §4.3.1";
    case 11:
        return "RFC 8446 §4.4.2";
    case 13:
        return "RFC 8446 §4.3.2";
    case 15:
        return "RFC 8446 §4.4.3";
    case 20:
        return "RFC 8446 §4.4.4";
    default:
        return "RFC 8446 §4";
    }
}

static const char *ext_name(unsigned t)
{
    switch (t) {
    case 0:
        return "server_name (RFC 6066 §3)";
    case 10:
        return "supported_groups (RFC 8446 §4.2.7)";
    case 13:
        return "signature_algorithms (RFC 8446 §4.2.3)";
    case 16:
        return "application_layer_protocol_negotiation (RFC 7301 §3.1)";
    case 41:
        return "pre_shared_key (RFC 8446 §4.2.11)";
    case 42:
        return "early_data (RFC 8446 §4.2.10)";
    case 43:
        return "supported_versions (RFC 8446 §4.2.1)";
    case 44:
        return "cookie (RFC 8446 §4.2.2)";
    case 45:
        return "psk_key_exchange_modes (RFC 8446 §4.2.9)";
    case 51:
        return "key_share (RFC 8446 §4.2.8)";
    case 57:
        return "quic_transport_parameters (RFC 9001 §8.2)";
    default:
        return "unknown";
    }
}

static const char *group_name(unsigned g)
{
    return g == CRYPTO_GROUP_X25519      ? "x25519"
           : g == CRYPTO_GROUP_SECP256R1 ? "secp256r1"
           : g == 0x18                   ? "secp384r1"
                                         : "?";
}

static const char *suite_name(unsigned id)
{
    return id == 0x1301   ? "TLS_AES_128_GCM_SHA256"
           : id == 0x1302 ? "TLS_AES_256_GCM_SHA384"
           : id == 0x1303 ? "TLS_CHACHA20_POLY1305_SHA256"
                          : "?";
}

static unsigned be16(const uint8_t *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

static void hex(const uint8_t *p, size_t n, size_t max)
{
    for (size_t i = 0; i < n && i < max; i++)
        printf("%02x", p[i]);
    if (n > max)
        printf("...");
}

/* RFC 8446 §4.1.3: the SHA-256 of "HelloRetryRequest" as ServerHello.random. */
static const uint8_t hrr_random[32] = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};

/* RFC 9000 §16: a variable-length integer; its length, or 0 when cut short. */
static int varint(const uint8_t *p, size_t n, uint64_t *v)
{
    if (n == 0)
        return 0;
    size_t len = (size_t)1 << (p[0] >> 6);
    if (len > n)
        return 0;
    *v = p[0] & 0x3f;
    for (size_t i = 1; i < len; i++)
        *v = *v << 8 | p[i];
    return (int)len;
}

/* One extension's content, field by field (what a student wants to see of it). */
static void ext_body(uint8_t msg, unsigned t, const uint8_t *p, size_t n)
{
    size_t i;
    switch (t) {
    case 0: /* server_name list: type(1) name(2+) */
        if (n >= 5)
            printf(" host_name \"%.*s\"", (int)(n - 5 < be16(p + 3) ? n - 5 : be16(p + 3)), p + 5);
        break;
    case 10: /* NamedGroup list */
        for (i = 2; i + 1 < n; i += 2)
            printf(" %s", group_name(be16(p + i)));
        break;
    case 13: /* SignatureScheme list */
        for (i = 2; i + 1 < n; i += 2)
            printf(" 0x%04x", be16(p + i));
        break;
    case 16: /* ALPN: list of 1-byte-length names */
        for (i = 2; i < n && i + 1 + p[i] <= n; i += 1 + p[i])
            printf(" \"%.*s\"", p[i], p + i + 1);
        break;
    case 43: /* supported_versions: a list (ClientHello) or one (ServerHello) */
        if (msg == 1)
            for (i = 1; i + 1 < n; i += 2)
                printf(" 0x%04x", be16(p + i));
        else if (n >= 2)
            printf(" 0x%04x (TLS 1.3)", be16(p));
        break;
    case 51: /* key_share */
        if (msg == 1) {
            for (i = 2; i + 4 <= n; i += 4 + be16(p + i + 2))
                printf(" %s (%u-byte share)", group_name(be16(p + i)), be16(p + i + 2));
        } else if (n == 2) {
            printf(" selected_group %s (HelloRetryRequest: send a share for it)",
                   group_name(be16(p)));
        } else if (n >= 4) {
            printf(" %s (%u-byte share)", group_name(be16(p)), be16(p + 2));
        }
        break;
    case 57: /* transport parameters: id, length, value (RFC 9000 §18) */
        printf(" %zu bytes:", n);
        for (i = 0; i < n;) {
            uint64_t id, len;
            int a = varint(p + i, n - i, &id);
            if (a <= 0)
                break;
            int b = varint(p + i + a, n - i - (size_t)a, &len);
            if (b <= 0 || i + (size_t)a + (size_t)b + len > n)
                break;
            printf(" id 0x%llx (%llu bytes)", (unsigned long long)id, (unsigned long long)len);
            i += (size_t)a + (size_t)b + (size_t)len;
        }
        break;
    default:
        printf(" %zu bytes", n);
        break;
    }
}

static void extensions(uint8_t msg, const uint8_t *p, size_t n)
{
    if (n < 2)
        return;
    size_t total = be16(p), i = 2;
    printf("      extensions (%zu bytes, RFC 8446 §4.2):\n", total);
    while (i + 4 <= n && i + 4 + be16(p + i + 2) <= n) {
        unsigned t = be16(p + i), len = be16(p + i + 2);
        printf("        %-5u %s:", t, ext_name(t));
        ext_body(msg, t, p + i + 4, len);
        printf("\n");
        i += 4 + len;
    }
}

/* RFC 8446 §4: the fields of one handshake message. */
static void decode(const uint8_t *m, size_t len)
{
    const uint8_t *b = m + 4;
    size_t n = len - 4, i;
    switch (m[0]) {
    case 1: /* ClientHello, §4.1.2 */
        if (n < 35)
            return;
        printf("      legacy_version 0x%04x; random ", be16(b));
        hex(b + 2, 32, 8);
        i = 34;
        printf("; legacy_session_id %u bytes (empty in QUIC, RFC 9001 §8.4)\n", b[i]);
        i += 1 + b[i];
        if (i + 2 > n)
            return;
        printf("      cipher_suites (Appendix B.4):");
        for (size_t k = i + 2; k + 1 < i + 2 + be16(b + i) && k + 1 < n; k += 2)
            printf(" %s", suite_name(be16(b + k)));
        i += 2 + be16(b + i);
        if (i >= n)
            return;
        printf("\n      legacy_compression_methods: %u (null)\n", b[i]);
        i += 1 + b[i];
        extensions(1, b + i, n - i);
        break;
    case 2: /* ServerHello, §4.1.3 */
        if (n < 38)
            return;
        {
            bool hrr = memcmp(b + 2, hrr_random, 32) == 0;
            printf("      legacy_version 0x%04x; random ", be16(b));
            hex(b + 2, 32, 8);
            if (hrr)
                printf(" = SHA-256(\"HelloRetryRequest\"): a HelloRetryRequest (RFC 8446 §4.1.4)");
            i = 34;
            i += 1 + b[i];
            if (i + 3 > n)
                return;
            printf("\n      cipher_suite %s\n", suite_name(be16(b + i)));
            i += 3;
            extensions(hrr ? 6 : 2, b + i, n - i);
        }
        break;
    case 8: /* EncryptedExtensions, §4.3.1 */
        extensions(8, b, n);
        break;
    case 11: /* Certificate, §4.4.2 */
        if (n < 4)
            return;
        i = 1 + b[0];
        i += 3;
        printf("      certificate_request_context %u bytes; certificate_list:\n", b[0]);
        while (i + 3 <= n) {
            size_t cl = (size_t)b[i] << 16 | (size_t)b[i + 1] << 8 | b[i + 2];
            if (i + 3 + cl + 2 > n)
                break;
            uint8_t h[CRYPTO_SHA256_LEN];
            crypto_hash(CRYPTO_HASH_SHA256, b + i + 3, cl, h);
            printf("        X.509 certificate, %zu bytes DER, SHA-256 ", cl);
            hex(h, sizeof(h), 32);
            printf("\n");
            i += 3 + cl;
            i += 2 + be16(b + i);
        }
        break;
    case 15: /* CertificateVerify, §4.4.3 */
        if (n >= 4)
            printf("      algorithm 0x%04x (%s); signature %u bytes over the transcript hash\n",
                   be16(b), be16(b) == 0x0403 ? "ecdsa_secp256r1_sha256" : "see §4.2.3",
                   be16(b + 2));
        break;
    case 20: /* Finished, §4.4.4 */
        printf("      verify_data %zu bytes = HMAC(finished_key, transcript hash): ", n);
        hex(b, n, 12);
        printf("\n");
        break;
    default:
        break;
    }
}

/* RFC 8446 §7.1: the key schedule's secrets as they are derived, as NSS key-log lines. Each
 * side derives every secret itself: the same line appears once for the server and once for
 * the client (they must agree, or the handshake fails). */
static void on_keylog(void *user, const char *line)
{
    (void)user;
    if (strncmp(line, "CLIENT_HANDSHAKE", 16) == 0)
        printf("  secret (RFC 8446 §7.1: Derive-Secret(handshake_secret, \"c hs traffic\")):\n");
    else if (strncmp(line, "SERVER_HANDSHAKE", 16) == 0)
        printf("  secret (RFC 8446 §7.1: Derive-Secret(handshake_secret, \"s hs traffic\")):\n");
    else if (strncmp(line, "CLIENT_TRAFFIC", 14) == 0)
        printf("  secret (RFC 8446 §7.1: Derive-Secret(master_secret, \"c ap traffic\")):\n");
    else if (strncmp(line, "SERVER_TRAFFIC", 14) == 0)
        printf("  secret (RFC 8446 §7.1: Derive-Secret(master_secret, \"s ap traffic\")):\n");
    else
        printf("  secret (RFC 8446 §7.1):\n");
    printf("    %s\n", line);
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
    printf("  %-6s %s keys ready for %s (suite %s, %zu-byte secret; RFC 9001 §5.1: key, iv and "
           "hp from it)\n",
           s->name, is_write ? "write" : "read ", level_name[level], suite_name(suite->id), len);
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
            printf("%s -> %s  [%s] %s (%zu bytes, %s)\n", from->name, from->peer->name,
                   level_name[lvl], msg_name(m[0]), mlen, msg_section(m[0]));
            if (off + mlen <= n)
                decode(m, mlen);
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
    fprintf(f, "usage: quince-handshake [--group x25519|p256] [--suite aes128|aes256|chacha20]\n"
               "                        [--hrr] [--help] [--version]\n"
               "A TLS 1.3-for-QUIC handshake between Quince's client and server, in memory,\n"
               "narrated flight by flight (RFC 8446 section 2, RFC 9001 section 4): each\n"
               "message decoded field by field with its section, and the key schedule's\n"
               "secrets as they are derived, as NSS key-log lines.\n"
               "  --group G   the key exchange group (default x25519)\n"
               "  --suite S   the only cipher suite the client offers (default: all three)\n"
               "  --hrr       the server accepts only the other group: a HelloRetryRequest\n"
               "              (RFC 8446 §4.1.4) asks the client for a share of it\n");
}

int main(int argc, char **argv)
{
    static quince_env env_storage;
    env_storage = io_env_default();
    const quince_env *env = &env_storage;
    const char *alpn[] = {"h3", NULL};
    int64_t now = (int64_t)time(NULL);
    app_args args;
    app_args_init(&args, "quince-handshake", argc, argv, usage);
    uint16_t group = CRYPTO_GROUP_X25519, suite = 0;
    bool hrr = false;
    while (app_args_next(&args)) {
        const char *v;
        if (app_opt_value(&args, "--group", &v)) {
            if (strcmp(v, "x25519") == 0)
                group = CRYPTO_GROUP_X25519;
            else if (strcmp(v, "p256") == 0 || strcmp(v, "secp256r1") == 0)
                group = CRYPTO_GROUP_SECP256R1;
            else
                return app_args_bad_value(&args, "x25519 or p256");
        } else if (app_opt_value(&args, "--suite", &v)) {
            if (strcmp(v, "aes128") == 0)
                suite = CRYPTO_TLS_AES_128_GCM_SHA256;
            else if (strcmp(v, "aes256") == 0)
                suite = CRYPTO_TLS_AES_256_GCM_SHA384;
            else if (strcmp(v, "chacha20") == 0)
                suite = CRYPTO_TLS_CHACHA20_POLY1305_SHA256;
            else
                return app_args_bad_value(&args, "aes128, aes256 or chacha20");
        } else if (app_opt(&args, "--hrr")) {
            hrr = true;
        } else {
            return app_args_unknown(&args);
        }
    }
    if (args.failed)
        return 2;
    uint16_t other = group == CRYPTO_GROUP_X25519 ? CRYPTO_GROUP_SECP256R1 : CRYPTO_GROUP_X25519;
    /* The client offers a share for its first group only; with --hrr the server
     * accepts only the second. */
    const uint16_t cgroups[] = {group, other, 0};
    const uint16_t sgroups[] = {hrr ? other : group, 0};
    const uint16_t suites[] = {suite, 0};
    env_storage.keylog = on_keylog;

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
                              .transport_params_len = sizeof(tp),
                              .groups = cgroups,
                              .cipher_suites = suite != 0 ? suites : NULL};
    crypto_tls_config scfg = {.is_server = true,
                              .alpn = alpn,
                              .transport_params = tp,
                              .transport_params_len = sizeof(tp),
                              .groups = sgroups};
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
        printf("\nhandshake complete: %s, group %s, ALPN %s%s\n",
               suite_name(crypto_tls_suite(client.tls)->id),
               group_name(crypto_tls_group(client.tls)), crypto_tls_alpn(client.tls),
               crypto_tls_used_hrr(client.tls) ? ", after a HelloRetryRequest" : "");
    crypto_tls_free(client.tls);
    crypto_tls_free(server.tls);
    crypto_short_lived_cert_free(env, &cert);
    return ok ? 0 : 1;
}
