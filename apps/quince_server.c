/* quince-server: serves files from a directory over QUIC with hq-interop (HTTP/0.9 over QUIC). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "apps/app_util.h"
#include "apps/wt_server.h"
#include "apps/h3_server.h"
#include "crypto/backend.h"
#include "io/env.h"
#include "io/loop.h"
#include "io/udp.h"
#include "bind/bind.h"
#include "h3/h3_codes.h"
#include "quic/quic.h"

/*
 * hq-interop: a request is "GET /path\r\n" on a client bidirectional stream
 * (FIN may follow at once); the response is the file's bytes, then FIN.
 * A path that does not resolve to a regular file inside --root (missing,
 * "..", a symlink leading out, a directory) and a malformed or over-long
 * request get RESET_STREAM with application error HQ_NOT_FOUND: HTTP/0.9 has
 * no status line, so the client sees the reset as its 404.
 */
#define HQ_NOT_FOUND 0x10
#define HQ_MAX_REQUEST 1024
#define HQ_CHUNK 65536
/* Datagrams per flush before the loop reads the socket again. */
#define SEND_BUDGET 2048

typedef struct hq_stream {
    uint64_t id;
    char *req;
    size_t req_len;
    int fd;
    uint64_t size, read_off;
    uint8_t *chunk;
    size_t chunk_len, chunk_pos;
    bool responding;
    struct hq_stream *next;
} hq_stream;

/* An hq-interop connection (with ALPN h3 a connection's state is an h3srv_conn). */
typedef struct srv_conn {
    quic_conn *conn;
    hq_stream *streams;
} srv_conn;

typedef struct server {
    bind_config cfg;
    const quince_env *env;
    io_udp sock;
    bind_server *bs;
    io_loop *loop;
    io_endpoint *ep;
    app_tx tx;
    quic_addr local;
    char root[PATH_MAX];
    uint64_t deadline;
    uint64_t accepted, served, not_found;
    bool verbose, h3;
    h3srv_stats h3_stats;
} server;

static void usage(void)
{
    fprintf(stderr, "usage: quince-server [--listen ADDR:PORT] [--cert F --key F] [--root DIR]\n"
                    "                     [--alpn A] [--retry] [--qlog-dir D] [--keylog F]\n"
                    "                     [--timeout S] [--no-gso] [--verbose]\n"
                    "  --listen: default 127.0.0.1:4433 ([::1]:0 for IPv6, port 0: any free one)\n"
                    "  without --cert: a fresh ECDSA P-256 certificate valid 13 days\n"
                    "  --alpn: h3 (default: HTTP/3) or hq-interop (HTTP/0.9)\n"
                    "  --timeout: exit after S seconds (default 30; 0: never)\n");
}

/* ---- hq-interop streams ---- */

static hq_stream *stream_find(srv_conn *sc, uint64_t id)
{
    for (hq_stream *st = sc->streams; st != NULL; st = st->next)
        if (st->id == id)
            return st;
    return NULL;
}

static void stream_free(srv_conn *sc, hq_stream *st)
{
    for (hq_stream **pp = &sc->streams; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == st) {
            *pp = st->next;
            break;
        }
    }
    if (st->fd >= 0)
        close(st->fd);
    free(st->req);
    free(st->chunk);
    free(st);
}

static void stream_not_found(server *s, srv_conn *sc, hq_stream *st, const char *why)
{
    if (s->verbose)
        fprintf(stderr, "quince-server: stream %llu: %s\n", (unsigned long long)st->id, why);
    s->not_found++;
    quic_stream_reset(sc->conn, st->id, HQ_NOT_FOUND);
    quic_stream_stop_sending(sc->conn, st->id, HQ_NOT_FOUND);
    stream_free(sc, st);
}

/* Open path (from the request) if it names a regular file inside the root. */
static int open_in_root(const server *s, const char *path, uint64_t *size)
{
    if (path[0] != '/')
        return -1;
    /* ".." is refused outright; realpath below also catches symlinks leading out. */
    for (const char *p = path; (p = strstr(p, "..")) != NULL; p += 2)
        if (p[-1] == '/' && (p[2] == '/' || p[2] == '\0'))
            return -1;
    char full[PATH_MAX * 2], resolved[PATH_MAX];
    snprintf(full, sizeof(full), "%s%s", s->root, path);
    if (realpath(full, resolved) == NULL)
        return -1;
    size_t rl = strlen(s->root);
    if (strncmp(resolved, s->root, rl) != 0 || resolved[rl] != '/')
        return -1;
    int fd = open(resolved, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return -1;
    }
    *size = (uint64_t)sb.st_size;
    return fd;
}

static int h3_open(void *user, const char *path, uint64_t *size)
{
    return open_in_root(user, path, size);
}

/* The request is complete: "GET /path" then CRLF (or LF, or the FIN); words
 * after the path (an HTTP/1.x version) are ignored. */
static void stream_start(server *s, srv_conn *sc, hq_stream *st)
{
    char *req = st->req;
    req[st->req_len] = '\0';
    char *eol = strpbrk(req, "\r\n");
    size_t line_len = eol != NULL ? (size_t)(eol - req) : st->req_len;
    if (line_len < 5 || memchr(req, '\0', line_len) != NULL || strncmp(req, "GET ", 4) != 0) {
        stream_not_found(s, sc, st, "malformed request");
        return;
    }
    req[line_len] = '\0';
    char *space = strchr(req + 4, ' ');
    if (space != NULL)
        *space = '\0';
    const char *path = req + 4;
    st->fd = open_in_root(s, path, &st->size);
    if (st->fd < 0) {
        char why[HQ_MAX_REQUEST + 32];
        snprintf(why, sizeof(why), "%s: not found", path);
        stream_not_found(s, sc, st, why);
        return;
    }
    if (s->verbose)
        fprintf(stderr, "quince-server: stream %llu: GET %s (%llu bytes)\n",
                (unsigned long long)st->id, path, (unsigned long long)st->size);
    free(st->req);
    st->req = NULL;
    st->responding = true;
}

static void stream_read_request(server *s, srv_conn *sc, hq_stream *st)
{
    for (;;) {
        bool fin = false;
        uint8_t tmp[512];
        uint8_t *dst = st->req != NULL ? (uint8_t *)st->req + st->req_len : tmp;
        size_t cap = st->req != NULL ? HQ_MAX_REQUEST - st->req_len : sizeof(tmp);
        if (cap == 0) {
            stream_not_found(s, sc, st, "request too long");
            return;
        }
        int64_t n = quic_stream_read(sc->conn, st->id, dst, cap, &fin);
        if (n < 0)
            return;
        if (st->req == NULL) { /* already answering: bytes after the request are ignored */
            if (n == 0)
                return;
            continue;
        }
        st->req_len += (size_t)n;
        if (memchr(st->req, '\n', st->req_len) != NULL || fin) {
            stream_start(s, sc, st);
            return;
        }
        if (n == 0)
            return;
    }
}

/* Hand as much of the file to the stream as it takes; FIN with the last bytes. */
static void stream_pump(server *s, srv_conn *sc, hq_stream *st)
{
    while (st->responding) {
        if (st->chunk_pos == st->chunk_len && st->read_off < st->size) {
            if (st->chunk == NULL && (st->chunk = malloc(HQ_CHUNK)) == NULL)
                return;
            uint64_t want = st->size - st->read_off;
            ssize_t n = pread(st->fd, st->chunk, want < HQ_CHUNK ? (size_t)want : HQ_CHUNK,
                              (off_t)st->read_off);
            if (n <= 0) {
                stream_not_found(s, sc, st, "read error");
                return;
            }
            st->chunk_len = (size_t)n;
            st->chunk_pos = 0;
            st->read_off += (uint64_t)n;
        }
        bool fin = st->read_off == st->size;
        size_t left = st->chunk_len - st->chunk_pos;
        int64_t w = quic_stream_write(sc->conn, st->id, st->chunk + st->chunk_pos, left, fin);
        if (w < 0) {
            stream_free(sc, st);
            return;
        }
        st->chunk_pos += (size_t)w;
        if ((size_t)w == left && fin) {
            s->served++;
            stream_free(sc, st);
            return;
        }
        if ((size_t)w < left)
            return; /* the send buffer is full: go on at the next flush */
    }
}

/* Push a stream's file once its request started the response. */
static void stream_serve(server *s, srv_conn *sc, uint64_t id)
{
    hq_stream *st = stream_find(sc, id);
    if (st != NULL && st->responding)
        stream_pump(s, sc, st);
}

/* ---- connections, from the binding (bind/bind.h) ---- */

/* Without HTTP/3 (hq-interop), every stream event of a connection comes here. */
static void on_quic_event(void *user, bind_conn *bc, const quic_event *ev)
{
    server *s = user;
    srv_conn *sc = bind_conn_user(bc);
    if (sc == NULL)
        return;
    hq_stream *st;
    switch (ev->type) {
    case QUIC_EVENT_STREAM_OPENED:
        /* Only client-initiated bidirectional streams carry requests. */
        if ((ev->stream_id & 3) != 0 || stream_find(sc, ev->stream_id) != NULL)
            break;
        st = calloc(1, sizeof(*st));
        if (st != NULL && (st->req = malloc(HQ_MAX_REQUEST + 1)) == NULL) {
            free(st);
            st = NULL;
        }
        if (st == NULL) {
            quic_stream_reset(sc->conn, ev->stream_id, HQ_NOT_FOUND);
            break;
        }
        st->id = ev->stream_id;
        st->fd = -1;
        st->next = sc->streams;
        sc->streams = st;
        stream_read_request(s, sc, st);
        stream_serve(s, sc, ev->stream_id);
        break;
    case QUIC_EVENT_STREAM_READABLE:
        st = stream_find(sc, ev->stream_id);
        if (st != NULL) {
            stream_read_request(s, sc, st);
            stream_serve(s, sc, ev->stream_id);
        } else {
            uint8_t sink[512];
            bool fin;
            while (quic_stream_read(sc->conn, ev->stream_id, sink, sizeof(sink), &fin) > 0) {
            }
        }
        break;
    case QUIC_EVENT_STREAM_WRITABLE:
        stream_serve(s, sc, ev->stream_id);
        break;
    case QUIC_EVENT_STREAM_STOP_SENDING:
    case QUIC_EVENT_STREAM_RESET:
        st = stream_find(sc, ev->stream_id);
        if (st != NULL) {
            if (ev->type == QUIC_EVENT_STREAM_STOP_SENDING)
                quic_stream_reset(sc->conn, ev->stream_id, ev->error_code);
            stream_free(sc, st);
        }
        break;
    default:
        break;
    }
}

static void *on_conn_new(void *user, bind_conn *bc)
{
    server *s = user;
    s->accepted++;
    if (s->h3) {
        h3srv_conn *h = h3srv_conn_new(bc, h3_open, s, &s->h3_stats, s->verbose);
        if (h == NULL)
            bind_conn_close(bc, H3_INTERNAL_ERROR, "out of memory");
        return h;
    }
    srv_conn *sc = calloc(1, sizeof(*sc));
    if (sc == NULL) {
        bind_conn_close(bc, HQ_NOT_FOUND, "out of memory");
        return NULL;
    }
    sc->conn = bind_conn_quic(bc);
    return sc;
}

static void on_handshake_done(void *user, bind_conn *bc)
{
    server *s = user;
    if (s->verbose && !s->h3)
        fprintf(stderr, "quince-server: handshake done, ALPN %s\n",
                quic_conn_alpn(bind_conn_quic(bc)));
}

static void on_closed(void *user, bind_conn *bc, const quic_event *ev)
{
    server *s = user;
    if (s->h3) {
        h3srv_conn_closed(bind_conn_user(bc), ev);
        return;
    }
    if (s->verbose)
        fprintf(stderr, "quince-server: connection closed (%s error 0x%llx%s)\n",
                ev->is_app ? "application" : "transport", (unsigned long long)ev->error_code,
                ev->by_peer ? ", by the peer" : "");
}

static void on_writable(void *user, bind_conn *bc, uint64_t stream_id)
{
    server *s = user;
    if (s->h3)
        h3srv_conn_writable(bind_conn_user(bc), stream_id);
}

/* Forget our state for a connection: the binding frees the connection itself after this. */
static void on_conn_free(void *user, bind_conn *bc)
{
    server *s = user;
    if (s->h3) {
        h3srv_conn_free(bind_conn_user(bc));
        return;
    }
    srv_conn *sc = bind_conn_user(bc);
    if (sc == NULL)
        return;
    while (sc->streams != NULL)
        stream_free(sc, sc->streams);
    free(sc);
}

static void on_datagrams(void *user, const io_batch *b)
{
    server *s = user;
    app_bind_server_recv(s->bs, &s->local, b);
}

static void on_timeout(void *user, uint64_t now)
{
    server *s = user;
    if (s->deadline != 0 && now >= s->deadline) {
        fprintf(stderr, "quince-server: --timeout reached\n");
        io_loop_stop(s->loop);
        return;
    }
    bind_server_on_timeout(s->bs, now);
}

static uint64_t flush(void *user, uint64_t now)
{
    server *s = user;
    bool blocked = app_tx_pending(&s->tx) && app_tx_flush(&s->tx, &s->sock) == 1;
    /* The endpoint takes the connections in turn, one datagram each. */
    bool more = app_send_bind_server(&s->tx, &s->sock, s->ep, s->bs, SEND_BUDGET, now, &blocked);
    uint64_t t = bind_server_next_timeout(s->bs);
    if (s->deadline != 0 && s->deadline < t)
        t = s->deadline;
    if (more && !blocked)
        t = now; /* the budget ran out with data left: come back at once */
    return t;
}

/* ---- setup ---- */

static int load_cert(server *s, const char *cert_file, const char *key_file, uint8_t ***ders,
                     size_t **lens, size_t *count, crypto_privkey **key)
{
    size_t clen = 0, klen = 0;
    uint8_t *cpem = app_read_file(cert_file, 1 << 20, &clen);
    uint8_t *kpem = app_read_file(key_file, 1 << 20, &klen);
    int rc = -1;
    if (cpem != NULL && kpem != NULL) {
        int n = crypto_x509_parse_chain(s->env, cpem, clen, ders, lens);
        *key = crypto_privkey_parse(s->env, kpem, klen);
        if (n > 0 && *key != NULL) {
            *count = (size_t)n;
            rc = 0;
        }
    }
    free(cpem);
    free(kpem);
    return rc;
}

int main(int argc, char **argv)
{
    const char *listen_at = "127.0.0.1:4433", *cert_file = NULL, *key_file = NULL, *root = ".",
               *alpn_name = "h3", *qlog_dir = NULL, *keylog = NULL;
    bool retry = false;
    uint64_t timeout_us = 30000000;
    bool no_gso = false;
    static server srv;
    server *s = &srv;
    if (wt_server_wanted(argc, argv))
        return wt_server_main(argc, argv); /* no arguments: the WebTransport demo */

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_val = i + 1 < argc;
        if (strcmp(a, "--listen") == 0 && has_val)
            listen_at = argv[++i];
        else if (strcmp(a, "--cert") == 0 && has_val)
            cert_file = argv[++i];
        else if (strcmp(a, "--key") == 0 && has_val)
            key_file = argv[++i];
        else if (strcmp(a, "--root") == 0 && has_val)
            root = argv[++i];
        else if (strcmp(a, "--alpn") == 0 && has_val)
            alpn_name = argv[++i];
        else if (strcmp(a, "--retry") == 0)
            retry = true;
        else if (strcmp(a, "--qlog-dir") == 0 && has_val)
            qlog_dir = argv[++i];
        else if (strcmp(a, "--keylog") == 0 && has_val)
            keylog = argv[++i];
        else if (strcmp(a, "--no-gso") == 0)
            no_gso = true;
        else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0)
            s->verbose = true;
        else if (strcmp(a, "--timeout") == 0 && has_val) {
            if (!app_parse_seconds(argv[++i], &timeout_us)) {
                usage();
                return 2;
            }
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage();
            return 0;
        } else {
            usage();
            return 2;
        }
    }
    if ((cert_file == NULL) != (key_file == NULL)) {
        fprintf(stderr, "quince-server: --cert and --key go together\n");
        return 2;
    }
    if (realpath(root, s->root) == NULL) {
        fprintf(stderr, "quince-server: --root %s: %s\n", root, strerror(errno));
        return 2;
    }

    io_env ienv;
    io_env_init(&ienv);
    ienv.log_prefix = "quince-server";
    s->env = &ienv.env;
    if (keylog != NULL && io_env_set_keylog_file(&ienv, keylog) != IO_OK) {
        fprintf(stderr, "quince-server: cannot open %s\n", keylog);
        return 1;
    }
    if (qlog_dir != NULL) {
        char qpath[PATH_MAX];
        snprintf(qpath, sizeof(qpath), "%s/server.sqlog", qlog_dir);
        if (io_env_set_qlog_file(&ienv, qpath) != IO_OK) {
            fprintf(stderr, "quince-server: cannot open %s\n", qpath);
            return 1;
        }
        s->cfg.quic.qlog = true;
    }

    /* --no-gso: one datagram per send, so that a capture on lo sees each packet alone. */
    io_udp_config ucfg = {.disable_gso = no_gso};
    int rc = io_udp_open(&s->sock, listen_at, &ucfg);
    if (rc != IO_OK) {
        fprintf(stderr, "quince-server: --listen %s: %s\n", listen_at, io_strerror(rc));
        return 1;
    }
    app_addr_to_quic(&s->sock.local, &s->local);

    /* The certificate: given, or generated (ECDSA P-256, 13 days, for
     * Chromium's serverCertificateHashes which allows at most 14). */
    uint8_t **ders = NULL, *gen_der = NULL, *gen_key_der = NULL;
    size_t *lens = NULL, count = 0, gen_len = 0, gen_key_len = 0;
    crypto_privkey *key = NULL;
    const uint8_t *chain[1];
    size_t chain_len[1];
    if (cert_file != NULL) {
        if (load_cert(s, cert_file, key_file, &ders, &lens, &count, &key) != 0) {
            fprintf(stderr, "quince-server: cannot load %s / %s\n", cert_file, key_file);
            return 1;
        }
        s->cfg.quic.tls.cert_chain = (const uint8_t *const *)ders;
        s->cfg.quic.tls.cert_chain_lens = lens;
        s->cfg.quic.tls.cert_chain_count = count;
    } else {
        char ip[64];
        io_addr_format(&s->sock.local, ip, sizeof(ip));
        /* The literal without port and brackets, unless it is a wildcard. */
        char *colon = strrchr(ip, ':');
        if (colon != NULL)
            *colon = '\0';
        const char *lit = ip[0] == '[' ? ip + 1 : ip;
        if (ip[0] == '[')
            ip[strlen(ip) - 1] = '\0';
        if (strcmp(lit, "0.0.0.0") == 0 || strcmp(lit, "::") == 0)
            lit = "127.0.0.1";
        int64_t now_s = (int64_t)time(NULL);
        crypto_cert_params cp = {.common_name = "quince",
                                 .dns_name = "localhost",
                                 .ip_address = lit,
                                 .not_before_unix = now_s - 3600,
                                 .not_after_unix = now_s + 13 * 86400};
        if (crypto_cert_generate(s->env, &cp, &gen_der, &gen_len, &gen_key_der, &gen_key_len,
                                 &key) < 0) {
            fprintf(stderr, "quince-server: certificate generation failed\n");
            return 1;
        }
        chain[0] = gen_der;
        chain_len[0] = gen_len;
        s->cfg.quic.tls.cert_chain = chain;
        s->cfg.quic.tls.cert_chain_lens = chain_len;
        s->cfg.quic.tls.cert_chain_count = 1;
        uint8_t h[32];
        char hex[65];
        crypto_hash(CRYPTO_HASH_SHA256, gen_der, gen_len, h);
        app_hex(h, 32, hex);
        printf("cert-sha256: %s\n", hex);
    }
    const char *alpn[] = {alpn_name, NULL};
    s->h3 = strcmp(alpn_name, "h3") == 0;
    s->cfg.h3 = false;
    if (s->h3)
        h3srv_config(&s->cfg);
    s->cfg.cb = (bind_callbacks){.user = s,
                                 .on_conn_new = on_conn_new,
                                 .on_handshake_done = on_handshake_done,
                                 .on_closed = on_closed,
                                 .on_writable = on_writable,
                                 .on_quic_event = on_quic_event,
                                 .on_conn_free = on_conn_free};
    s->cfg.quic.is_server = true;
    s->cfg.quic.retry = retry;
    s->cfg.quic.tls.alpn = alpn;
    s->cfg.quic.tls.private_key = key;
    s->cfg.quic.initial_max_data = 16 * 1024 * 1024;
    s->cfg.quic.cid_len = 8;
    s->bs = bind_server_new(s->env, &s->cfg);
    if (s->bs == NULL) {
        fprintf(stderr, "quince-server: bad configuration\n");
        return 1;
    }

    static const io_endpoint_ops ops = {
        .on_datagrams = on_datagrams, .on_timeout = on_timeout, .flush = flush};
    app_tx_init(&s->tx);
    if (!app_loop_open(&s->loop, &ops, s, &s->ep, &s->sock, "quince-server"))
        return 1;
    if (timeout_us > 0)
        s->deadline = io_now_us() + timeout_us;
    io_endpoint_kick(s->ep);
    char bound[80];
    io_addr_format(&s->sock.local, bound, sizeof(bound));
    printf("listening on %s\n", bound);
    fflush(stdout);

    int sig = io_loop_run(s->loop);
    const quic_endpoint_stats *es = quic_endpoint_get_stats(bind_server_endpoint(s->bs));
    fprintf(stderr,
            "quince-server: exiting (%s); %llu connections accepted, %llu files served, "
            "%llu not found; endpoint: %llu datagrams, %llu dropped, %llu version negotiations, "
            "%llu retries, %llu stateless resets\n",
            sig > 0   ? "signal"
            : sig < 0 ? io_strerror(sig)
                      : "stopped",
            (unsigned long long)s->accepted, (unsigned long long)s->served,
            (unsigned long long)s->not_found, (unsigned long long)es->datagrams,
            (unsigned long long)es->dropped, (unsigned long long)es->version_negotiations,
            (unsigned long long)es->retries, (unsigned long long)es->stateless_resets);
    /* Every connection's state goes (on_conn_free), then the endpoint. */
    bind_server_free(s->bs);
    if (s->h3)
        fprintf(stderr,
                "quince-server: h3: %llu requests, %llu served, %llu not found; qpack inserts "
                "received %llu sent %llu\n",
                (unsigned long long)s->h3_stats.requests, (unsigned long long)s->h3_stats.served,
                (unsigned long long)s->h3_stats.not_found,
                (unsigned long long)s->h3_stats.qpack_inserts_received,
                (unsigned long long)s->h3_stats.qpack_inserts_sent);
    io_loop_destroy(s->loop);
    io_udp_close(&s->sock);
    crypto_privkey_free(s->env, key);
    if (ders != NULL)
        crypto_x509_der_free(s->env, ders, lens, count);
    quince_env_free(s->env, gen_der);
    quince_env_free(s->env, gen_key_der);
    io_env_cleanup(&ienv);
    return sig < 0 ? 1 : 0;
}
