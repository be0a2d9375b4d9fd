/* An HTTP/3 + WebTransport server on an io_loop in a few calls: sockets, certificate, binding. */
#include "io/serve.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/crypto.h"
#include "crypto/tls.h"
#include "io/bridge.h"
#include "io/posix_env.h"

#define DEFAULT_SEND_BUDGET 2048
#define MAX_PEM (1u << 20)

struct io_server {
    quince_env env;
    io_loop *loop;
    bool own_loop;
    io_endpoint *ep;
    bind_server *bs;
    io_udp sock[IO_SERVE_MAX_SOCKETS];
    io_tx *tx[IO_SERVE_MAX_SOCKETS];
    size_t nsock;
    size_t budget;
    /* The certificate chain (DER, leaf first) and its key, referenced by the
     * TLS config: parsed from the files (chain, key), or the generated one (gen). */
    crypto_cert_chain chain;
    crypto_privkey *key;
    crypto_short_lived_cert gen;
    bool generated;
    const uint8_t *sha256; /* of the leaf: the generated one's, or leaf_sha256 */
    uint8_t leaf_sha256[CRYPTO_SHA256_LEN];
    char sha256_hex[65];
};

void io_server_config_init(io_server_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    bind_config_init(&cfg->bind, true);
    cfg->bind.webtransport = true;
    quic_config *q = &cfg->bind.quic;
    q->initial_max_data = 64u << 20;
    q->initial_max_stream_data_bidi_remote = 1u << 20;
    q->initial_max_stream_data_bidi_local = 1u << 20;
    q->initial_max_stream_data_uni = 1u << 20;
    q->initial_max_streams_bidi = 500;
    q->initial_max_streams_uni = 500;
    q->max_idle_timeout_ms = 60000;
    q->cid_len = 8;
    /* A page may open hundreds of streams at once (WebTransport streams count
     * against h3's peer stream limits). */
    cfg->bind.h3cfg.max_peer_bidi = 600;
    cfg->bind.h3cfg.max_peer_uni = 600;
    cfg->bind.h3cfg.max_send_buffer = 8u << 20;
    cfg->bind.wtcfg.max_streams_per_session = 512;
    cfg->port = IO_SERVE_DEFAULT_PORT;
}

/* ---- the loop's view of the server ---- */

static void on_datagrams(void *user, const io_batch *b)
{
    io_server *s = user;
    io_bridge_server_recv(s->bs, b);
}

static void on_timeout(void *user, uint64_t now)
{
    io_server *s = user;
    bind_server_on_timeout(s->bs, now);
}

static uint64_t flush(void *user, uint64_t now)
{
    io_server *s = user;
    bool blocked = false;
    for (size_t i = 0; i < s->nsock && !blocked; i++)
        blocked = io_tx_pending(s->tx[i]) && io_tx_flush(s->tx[i]) == 1;
    bool more = io_bridge_server_send(s->tx, s->nsock, s->ep, s->bs, s->budget, now, &blocked);
    if (more && !blocked)
        return now; /* the budget ran out with data left: come back at once */
    return bind_server_next_timeout(s->bs);
}

/* ---- setup ---- */

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    uint8_t *buf = malloc(MAX_PEM + 1);
    size_t n = buf != NULL ? fread(buf, 1, MAX_PEM + 1, f) : 0;
    if (buf != NULL && (ferror(f) || n > MAX_PEM)) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = n;
    return buf;
}

static int load_cert(io_server *s, const char *cert_file, const char *key_file)
{
    size_t clen = 0, klen = 0;
    uint8_t *cpem = read_file(cert_file, &clen);
    uint8_t *kpem = read_file(key_file, &klen);
    int rc = IO_ERR_CERT;
    if (cpem != NULL && kpem != NULL) {
        int n = crypto_cert_chain_parse(&s->env, cpem, clen, &s->chain);
        s->key = crypto_privkey_parse(&s->env, kpem, klen);
        if (n > 0 && s->key != NULL)
            rc = crypto_cert_key_match(&s->env, &s->chain, s->key) == CRYPTO_OK ? IO_OK
                                                                                : IO_ERR_CERT_KEY;
    }
    free(cpem);
    free(kpem);
    return rc;
}

static int generate_cert(io_server *s)
{
    /* The first socket's address literal (a wildcard: 127.0.0.1), and localhost. */
    char ip[80];
    io_addr_format(&s->sock[0].local, ip, sizeof(ip));
    char *colon = strrchr(ip, ':');
    if (colon != NULL)
        *colon = '\0';
    const char *lit = ip;
    if (ip[0] == '[') {
        lit = ip + 1;
        ip[strlen(ip) - 1] = '\0';
    }
    if (strcmp(lit, "0.0.0.0") == 0 || strcmp(lit, "::") == 0)
        lit = "127.0.0.1";
    if (crypto_short_lived_cert_generate(&s->env, "localhost", lit, (int64_t)time(NULL),
                                         IO_SERVE_CERT_DAYS, &s->gen) < 0)
        return IO_ERR_CERT;
    s->generated = true;
    return IO_OK;
}

static int open_sockets(io_server *s, const io_server_config *cfg)
{
    if (cfg->listen != NULL) {
        for (size_t i = 0; cfg->listen[i] != NULL; i++) {
            if (s->nsock == IO_SERVE_MAX_SOCKETS)
                return IO_ERR_ARG;
            int rc = io_udp_open(&s->sock[s->nsock], cfg->listen[i], &cfg->udp);
            if (rc != IO_OK)
                return rc;
            s->nsock++;
        }
        return s->nsock > 0 ? IO_OK : IO_ERR_ARG;
    }
    char text[32];
    snprintf(text, sizeof(text), "127.0.0.1:%u", cfg->port);
    int rc = io_udp_open(&s->sock[0], text, &cfg->udp);
    if (rc != IO_OK)
        return rc;
    s->nsock = 1;
    /* ::1 on the same port (the one the kernel chose when 0 was asked). A host
     * without IPv6 serves IPv4 alone. */
    snprintf(text, sizeof(text), "[::1]:%u", io_addr_port(&s->sock[0].local));
    io_udp_config v6 = cfg->udp;
    v6.v6only = true;
    if (io_udp_open(&s->sock[1], text, &v6) == IO_OK)
        s->nsock = 2;
    return IO_OK;
}

int io_server_new(io_server **out, io_loop *loop, const io_server_config *cfg)
{
    *out = NULL;
    io_server *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return IO_ERR_NOMEM;
    for (size_t i = 0; i < IO_SERVE_MAX_SOCKETS; i++)
        s->sock[i].fd = -1;
    s->env = cfg->env != NULL ? *cfg->env : io_env_default();
    s->budget = cfg->send_budget != 0 ? cfg->send_budget : DEFAULT_SEND_BUDGET;
    int rc = open_sockets(s, cfg);
    if (rc == IO_OK)
        rc =
            cfg->cert_file != NULL ? load_cert(s, cfg->cert_file, cfg->key_file) : generate_cert(s);
    if (rc != IO_OK) {
        int e = errno; /* the failing call's, for the caller's message */
        io_server_free(s);
        errno = e;
        return rc;
    }
    const crypto_cert_chain *chain = s->generated ? &s->gen.chain : &s->chain;
    crypto_privkey *key = s->generated ? s->gen.key : s->key;
    if (s->generated) {
        s->sha256 = s->gen.sha256;
    } else {
        crypto_hash(CRYPTO_HASH_SHA256, chain->certs[0], chain->lens[0], s->leaf_sha256);
        s->sha256 = s->leaf_sha256;
    }
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < 32; i++) {
        s->sha256_hex[2 * i] = digits[s->sha256[i] >> 4];
        s->sha256_hex[2 * i + 1] = digits[s->sha256[i] & 15];
    }
    s->sha256_hex[64] = '\0';

    bind_config bc = cfg->bind;
    bc.quic.is_server = true;
    crypto_tls_config_set_credentials(&bc.quic.tls, chain, key);
    s->bs = bind_server_new(&s->env, &bc);
    if (s->bs == NULL) {
        io_server_free(s);
        return IO_ERR_CONFIG;
    }
    for (size_t i = 0; i < s->nsock; i++) {
        if ((s->tx[i] = malloc(sizeof(io_tx))) == NULL) {
            io_server_free(s);
            return IO_ERR_NOMEM;
        }
        io_tx_init(s->tx[i], &s->sock[i]);
    }

    if (loop == NULL) {
        rc = io_loop_create(&loop, NULL);
        if (rc != IO_OK) {
            io_server_free(s);
            return rc;
        }
        s->own_loop = true;
        rc = io_loop_catch_signals(loop);
    }
    s->loop = loop;
    static const io_endpoint_ops ops = {
        .on_datagrams = on_datagrams, .on_timeout = on_timeout, .flush = flush};
    if (rc == IO_OK)
        rc = io_loop_add_endpoint(loop, &ops, s, &s->ep);
    for (size_t i = 0; i < s->nsock && rc == IO_OK; i++)
        rc = io_loop_add_socket(loop, s->ep, &s->sock[i]);
    if (rc != IO_OK) {
        io_server_free(s);
        return rc;
    }
    io_endpoint_kick(s->ep);
    *out = s;
    return IO_OK;
}

void io_server_free(io_server *s)
{
    if (s == NULL)
        return;
    if (s->ep != NULL)
        io_loop_remove_endpoint(s->loop, s->ep);
    if (s->bs != NULL)
        bind_server_free(s->bs);
    for (size_t i = 0; i < IO_SERVE_MAX_SOCKETS; i++) {
        io_udp_close(&s->sock[i]);
        free(s->tx[i]);
    }
    if (s->own_loop)
        io_loop_destroy(s->loop);
    crypto_privkey_free(&s->env, s->key);
    crypto_cert_chain_free(&s->env, &s->chain);
    crypto_short_lived_cert_free(&s->env, &s->gen);
    free(s);
}

io_loop *io_server_loop(const io_server *s)
{
    return s->loop;
}

bind_server *io_server_bind(const io_server *s)
{
    return s->bs;
}

size_t io_server_socket_count(const io_server *s)
{
    return s->nsock;
}

const io_udp *io_server_socket(const io_server *s, size_t i)
{
    return i < s->nsock ? &s->sock[i] : NULL;
}

uint16_t io_server_port(const io_server *s)
{
    return io_addr_port(&s->sock[0].local);
}

const uint8_t *io_server_cert_sha256(const io_server *s)
{
    return s->sha256;
}

const char *io_server_cert_sha256_hex(const io_server *s)
{
    return s->sha256_hex;
}

bool io_server_cert_generated(const io_server *s)
{
    return s->generated;
}

void io_server_kick(io_server *s)
{
    io_endpoint_kick(s->ep);
}

int io_server_run(io_server *s)
{
    return io_loop_run(s->loop);
}

int io_serve(const char *listen_at, const wt_callbacks *cb)
{
    io_server_config cfg;
    io_server_config_init(&cfg);
    const char *one[2] = {listen_at, NULL};
    if (listen_at != NULL)
        cfg.listen = one;
    cfg.bind.wtcb = *cb;
    cfg.bind.cb.user = cb->user; /* the connections' user pointer, which wt callbacks get */
    io_server *s;
    int rc = io_server_new(&s, NULL, &cfg);
    if (rc != IO_OK) {
        fprintf(stderr, "io_serve: %s: %s\n", listen_at != NULL ? listen_at : "default addresses",
                io_strerror(rc));
        return 1;
    }
    printf("cert-sha256: %s\n", io_server_cert_sha256_hex(s));
    for (size_t i = 0; i < io_server_socket_count(s); i++) {
        char a[80];
        io_addr_format(&io_server_socket(s, i)->local, a, sizeof(a));
        printf("webtransport: https://%s/\n", a);
    }
    fflush(stdout);
    int sig = io_server_run(s);
    io_server_free(s);
    return sig < 0 ? 1 : 0;
}
