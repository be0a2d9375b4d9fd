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
#include "apps/wt_check.h"
#include "apps/wt_demo.h"
#include "apps/h3_server.h"
#include "io/posix_env.h"
#include "io/loop.h"
#include "io/serve.h"
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
    io_server *srv;
    io_loop *loop;
    char root[PATH_MAX];
    uint64_t accepted, served, not_found;
    size_t conn_memory_peak; /* the most any connection charged to its memory budget */
    bool verbose, h3, wt, verify_client;
    h3srv_stats h3_stats;
    const char *early_refused[8]; /* --refuse-early: path prefixes not served from 0-RTT */
    size_t n_early_refused;
} server;

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: quince-server [--listen ADDR:PORT]... [--port N] [--cert F --key F] [--root DIR]\n"
        "                     [--alpn h3|hq-interop] [--no-webtransport] [--demo]\n"
        "                     [--demo-http ADDR:PORT] [--retry] [--qlog-dir D] [--keylog F]\n"
        "                     [--pcap F] [--timeout S] [--idle-timeout S] [--max-connections N]\n"
        "                     [--no-gso] [--verify-client CA] [--early-data] [--refuse-early P]...\n"
        "                     [--verbose] [--help] [--version] [--wt-draft LIST]\n"
        "                     [--wt-allow-origin O]... [--reset-key-file F] [--quic-version LIST]\n"
        "                     [--test-no-connect-protocol]\n"
        "                     [--max-half-open N] [--max-half-open-per-addr N]\n"
        "                     [--retry-threshold N] [--max-conn-memory BYTES] [--initial-rtt MS]\n"
        "Options take their value as --flag VALUE or --flag=VALUE.\n"
        "\n"
        "One server on one UDP port: static files from --root over HTTP/3 and WebTransport\n"
        "(draft-02, -07, -13..-16, chosen per connection) sessions on the same connections:\n"
        "/echo (streams and datagrams echoed), /chat (the demo's chat), /close-me (closed by\n"
        "the server with 4242); 404 otherwise (405 in draft-16).\n"
        "It runs until SIGINT or SIGTERM (exit status 0).\n"
        "\n");
    fprintf(
        f,
        "  --listen ADDR:PORT   UDP address, repeatable (\"127.0.0.1:4433\", \"[::1]:0\"; port 0:\n"
        "                       any free one). Default: 127.0.0.1 and ::1 on --port, so that\n"
        "                       https://localhost:PORT/ works whichever address a browser tries\n"
        "  --port N             port of the default addresses (default 4433; 0: any free one)\n"
        "  --early-data         accept 0-RTT from resuming clients (RFC 9001 §4.6; each\n"
        "                       ClientHello's early data once); files are GET/HEAD only,\n"
        "                       and a request read before the handshake completed is\n"
        "                       logged \"[0-RTT]\". Unsafe methods in 0-RTT get 425\n"
        "  --refuse-early P     requests for paths starting with P that arrive in 0-RTT get\n"
        "                       425 Too Early (RFC 8470): not safe to replay; the client\n"
        "                       sends them again after the handshake. Repeatable\n"
        "  --verify-client CA   ask every client for a certificate chaining to the PEM CA(s);\n"
        "                       none or a bad one ends the handshake (certificate_required,\n"
        "                       unknown_ca, ...); the leaf's SHA-256 is logged\n"
        "  --cert F --key F     PEM certificate chain (leaf first) and private key. Without them:\n"
        "                       a fresh ECDSA P-256 certificate valid 13 days, its SHA-256\n"
        "                       printed as \"cert-sha256: HEX\" (Chromium's "
        "serverCertificateHashes,\n"
        "                       quince-client --cert-hash)\n"
        "  --root DIR           files served over HTTP/3 (default: the current directory)\n"
        "  --alpn A             h3 (default) or hq-interop (HTTP/0.9 files, no WebTransport)\n"
        "  --no-webtransport    HTTP/3 files only\n"
        "  --demo-http ADDR:PORT  also serve the WebTransport demo page over HTTP/1.1 on TCP\n"
        "                       (\"localhost:PORT\": 127.0.0.1 and ::1); the page passes the\n"
        "                       certificate's hash to the browser. Alias: --http\n"
        "  --demo               the demo run: --demo-http localhost:8080 unless given. With no\n"
        "                       arguments at all quince-server runs the demo\n"
        "  --webtransport       accepted for old command lines (WebTransport is on with h3)\n"
        "  --wt-draft LIST      WebTransport dialects offered: 02,07,13,14,15,16 or all\n"
        "                       (default all; the newest the client also offers is used)\n"
        "  --wt-allow-origin O  also accept sessions from Origin O (\"*\": any); the same\n"
        "                       origin and the demo page's are always accepted\n"
        "  --test-no-connect-protocol  TEST ONLY, with --wt-draft 02: leave\n"
        "                       SETTINGS_ENABLE_CONNECT_PROTOCOL out, as draft-02 allows\n");
    /* Against floods (issue 13): its own call, as one string would pass C's 4095 bytes. */
    fprintf(
        f,
        "  --retry              validate client addresses with Retry (without it, Retry\n"
        "                       switches on by itself from --retry-threshold half-open\n"
        "                       connections on)\n"
        "  --max-half-open N    handshakes in progress at once (default 512); past it, and past\n"
        "  --max-half-open-per-addr N  (default 256) from one IP address, new clients get\n"
        "                       CONNECTION_REFUSED\n"
        "  --retry-threshold N  half-open connections from which every new client must answer\n"
        "                       a Retry first (default 16)\n"
        "  --max-conn-memory BYTES  what one connection may hold for its peer (default 2 MiB)\n"
        "  --initial-rtt MS     RTT assumed before the first sample (default 333, RFC 9002\n"
        "                       §6.2.2); as ngtcp2's --initial-rtt\n"
        "  --qlog-dir D         one qlog per connection: D/<original DCID>_server.sqlog (qvis)\n"
        "  --keylog F           append NSS key-log lines to F (Wireshark); default:\n"
        "                       $SSLKEYLOGFILE when set\n"
        "  --pcap F             write every datagram sent and received to F (pcapng, with the\n"
        "                       TLS secrets inside: tshark -r F decrypts it) at exit\n"
        "  --reset-key-file F   stateless reset key from F (made if missing) kept over restarts\n"
        "  --quic-version LIST  versions (v1, v2 or hex) to move clients to when they offer\n"
        "                       them, preferred first (RFC 9368; default: keep the client's)\n");
    fprintf(
        f,
        "  --timeout S          exit after S seconds (default: never)\n"
        "  --idle-timeout S     QUIC idle timeout (RFC 9000 §10.1) of every connection\n"
        "  --max-connections N  connections at once (default 1024); past it new clients are\n"
        "                       refused with CONNECTION_REFUSED (RFC 9000 §5.2.2)\n"
        "  --no-gso             send each datagram alone (captures on lo see every packet)\n"
        "  --verbose, -v        log requests and connections on stderr\n"
        "  --help, -h           this text\n"
        "  --version            the version\n"
        "\n"
        "Output (stdout): \"cert-sha256: HEX\" (generated certificate), one \"listening on ADDR\"\n"
        "per socket, with WebTransport \"webtransport: https://ADDR/echo ...\" per socket, and\n"
        "with the page \"http-port: N\"; then \"server: ...\" lines for WebTransport events.\n");
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
        h3srv_conn_refuse_early(h, s->early_refused, s->n_early_refused);
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
    const crypto_tls *tls = quic_conn_tls(bind_conn_quic(bc));
    if (s->verify_client && tls != NULL && crypto_tls_peer_cert_count(tls) > 0) {
        size_t len = 0;
        const uint8_t *leaf = crypto_tls_peer_cert(tls, 0, &len);
        char hex[65];
        app_sha256_hex(leaf, len, hex);
        fprintf(stderr, "quince-server: client certificate verified: sha256 %s, chain of %zu\n",
                hex, crypto_tls_peer_cert_count(tls));
    }
    static const char *const early_names[] = {"none", "offered", "accepted", "rejected"};
    if (s->verbose && tls != NULL)
        fprintf(stderr, "quince-server: tls resumed %s, early data %s\n",
                crypto_tls_resumed(tls) ? "yes" : "no", early_names[crypto_tls_early_data(tls)]);
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
    const quic_conn_stats *cs = quic_conn_get_stats(bind_conn_quic(bc));
    if (cs != NULL && cs->memory_peak > s->conn_memory_peak)
        s->conn_memory_peak = cs->memory_peak;
    if (s->wt)
        wt_demo_conn_free(bc);
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

/* --timeout: an endpoint with only a deadline, which stops the loop. */
static uint64_t deadline_us;

static void on_deadline(void *user, uint64_t now)
{
    (void)now;
    fprintf(stderr, "quince-server: --timeout reached\n");
    io_loop_stop(user);
}

static uint64_t deadline_flush(void *user, uint64_t now)
{
    (void)user;
    (void)now;
    return deadline_us;
}

int main(int argc, char **argv)
{
    const char *listen[IO_SERVE_MAX_SOCKETS + 1] = {NULL};
    size_t nlisten = 0;
    const char *cert_file = NULL, *key_file = NULL, *root = ".", *alpn_name = "h3",
               *qlog_dir = NULL, *keylog = NULL, *demo_http = NULL, *client_ca = NULL, *pcap = NULL,
               *reset_key_file = NULL;
    uint32_t versions[QUIC_MAX_VERSIONS] = {0};
    bool early_data = false;
    bool retry = false, no_gso = false, demo = argc <= 1, no_wt = false, test_no_ecp = false;
    uint32_t wt_drafts = WT_DIALECTS_ALL;
    static const char *origins[8];
    size_t norigins = 0;
    uint64_t max_half_open = 0, max_half_open_addr = 0, retry_threshold = 0, conn_memory = 0;
    uint64_t initial_rtt_ms = 0;
    uint16_t port = IO_SERVE_DEFAULT_PORT;
    uint64_t timeout_us = 0, idle_us = 0, max_conns = 0;
    static server srv;
    server *s = &srv;

    app_args args;
    app_args_init(&args, "quince-server", argc, argv, usage);
    while (app_args_next(&args)) {
        const char *v = NULL;
        uint64_t n = 0;
        if (app_opt_value(&args, "--listen", &v)) {
            if (nlisten == IO_SERVE_MAX_SOCKETS)
                return app_args_bad_value(&args, "fewer --listen addresses (8 at most)");
            listen[nlisten++] = v;
        } else if (app_opt_uint(&args, "--port", 0, 65535, &n))
            port = (uint16_t)n;
        else if (app_opt_value(&args, "--cert", &v))
            cert_file = v;
        else if (app_opt_value(&args, "--key", &v))
            key_file = v;
        else if (app_opt_value(&args, "--root", &v))
            root = v;
        else if (app_opt_value(&args, "--alpn", &v))
            alpn_name = v;
        else if (app_opt_value(&args, "--demo-http|--http", &v))
            demo_http = v;
        else if (app_opt(&args, "--demo"))
            demo = true;
        else if (app_opt(&args, "--webtransport"))
            continue;
        else if (app_opt(&args, "--no-webtransport"))
            no_wt = true;
        else if (app_opt_value(&args, "--wt-draft", &v)) { /* WebTransport (issue 9) */
            if (!wt_parse_drafts(v, &wt_drafts))
                return app_args_bad_value(&args, "02, 07, 13, 14, 15, 16, a list of them, or all");
        } else if (app_opt_value(&args, "--wt-allow-origin", &v)) {
            if (norigins == 8)
                return app_args_bad_value(&args, "fewer --wt-allow-origin (8 at most)");
            origins[norigins++] = v;
        } else if (app_opt(&args, "--test-no-connect-protocol"))
            test_no_ecp = true;
        else if (app_opt(&args, "--retry"))
            retry = true;
        else if (app_opt_uint(&args, "--max-half-open", 1, 1u << 20, &max_half_open))
            continue;
        else if (app_opt_uint(&args, "--max-half-open-per-addr", 1, 1u << 20, &max_half_open_addr))
            continue;
        else if (app_opt_uint(&args, "--retry-threshold", 1, 1u << 20, &retry_threshold))
            continue;
        else if (app_opt_uint(&args, "--max-conn-memory", 65536, (uint64_t)1 << 32, &conn_memory))
            continue;
        else if (app_opt_uint(&args, "--initial-rtt", 1, 10000, &initial_rtt_ms))
            continue;
        else if (app_opt_value(&args, "--verify-client", &v))
            client_ca = v;
        else if (app_opt(&args, "--early-data"))
            early_data = true;
        else if (app_opt_value(&args, "--refuse-early", &v)) {
            if (s->n_early_refused == 8)
                return app_args_bad_value(&args, "fewer --refuse-early prefixes (8 at most)");
            if (v[0] != '/')
                return app_args_bad_value(&args, "a path prefix starting with /");
            s->early_refused[s->n_early_refused++] = v;
        }
        else if (app_opt_value(&args, "--qlog-dir", &v))
            qlog_dir = v;
        else if (app_opt_value(&args, "--keylog", &v))
            keylog = v;
        else if (app_opt_value(&args, "--reset-key-file", &v)) /* issue 10 */
            reset_key_file = v;
        else if (app_opt_value(&args, "--quic-version", &v)) { /* issue 10 */
            if (!app_parse_versions(v, versions, QUIC_MAX_VERSIONS))
                return app_args_bad_value(&args, "QUIC versions such as v2 or v2,v1");
        } else if (app_opt_value(&args, "--pcap", &v))
            pcap = v;
        else if (app_opt(&args, "--no-gso"))
            no_gso = true;
        else if (app_opt(&args, "--verbose|-v"))
            s->verbose = true;
        else if (app_opt_seconds(&args, "--timeout", &timeout_us))
            continue;
        else if (app_opt_seconds(&args, "--idle-timeout", &idle_us))
            continue;
        else if (app_opt_uint(&args, "--max-connections", 1, 10000000, &max_conns))
            continue;
        else
            return app_args_unknown(&args);
    }
    if (args.failed)
        return 2;
    if ((cert_file == NULL) != (key_file == NULL))
        return app_usage_error("quince-server", "--cert and --key go together: give both, or "
                                                "neither for a generated certificate");
    if (strcmp(alpn_name, "h3") != 0 && strcmp(alpn_name, "hq-interop") != 0)
        return app_usage_error("quince-server", "--alpn %s: expected h3 or hq-interop", alpn_name);
    if (test_no_ecp && wt_drafts != WT_DIALECT_BIT(WT_DRAFT_02))
        return app_usage_error("quince-server", "--test-no-connect-protocol needs --wt-draft 02");
    if (demo && demo_http == NULL)
        demo_http = "localhost:8080";
    s->h3 = strcmp(alpn_name, "h3") == 0;
    s->wt = s->h3 && !no_wt;
    if (demo_http != NULL && !s->wt) {
        fprintf(stderr, "quince-server: the demo page needs WebTransport (h3)\n");
        return 2;
    }
    if (realpath(root, s->root) == NULL) {
        fprintf(stderr, "quince-server: --root %s: %s\n", root, strerror(errno));
        return 2;
    }

    io_env ienv;
    io_env_init(&ienv);
    ienv.log_prefix = "quince-server";
    for (int k = 0; k < 2 && cert_file != NULL; k++) {
        const char *f = k == 0 ? cert_file : key_file;
        if (access(f, R_OK) != 0) {
            fprintf(stderr, "quince-server: cannot read %s %s: %s\n", k == 0 ? "--cert" : "--key",
                    f, strerror(errno));
            return 1;
        }
    }
    if (!app_env_open(&ienv, "quince-server", keylog, qlog_dir, pcap))
        return 1;
    io_server_config cfg;
    io_server_config_init(&cfg);
    bool qlog = qlog_dir != NULL;
    cfg.env = &ienv.env;
    cfg.listen = nlisten > 0 ? listen : NULL;
    cfg.port = port;
    cfg.cert_file = cert_file;
    cfg.key_file = key_file;
    /* --no-gso: one datagram per send, so that a capture on lo sees each packet alone. */
    cfg.udp.disable_gso = no_gso;
    cfg.udp.capture = ienv.pcap;
    if (!s->wt) {
        /* Files only: a file server's transport limits (quic/opt.h defaults). */
        memset(&cfg.bind.quic, 0, sizeof(cfg.bind.quic));
        cfg.bind.quic.initial_max_data = 16 * 1024 * 1024;
        cfg.bind.quic.cid_len = 8;
    }
    const char *alpn[] = {alpn_name, NULL};
    cfg.bind.quic.tls.alpn = alpn;
    cfg.bind.quic.retry = retry;
    memcpy(cfg.bind.quic.versions, versions, sizeof(versions));
    cfg.bind.quic.max_half_open = (size_t)max_half_open;
    cfg.bind.quic.max_half_open_per_addr = (size_t)max_half_open_addr;
    cfg.bind.quic.retry_threshold = (size_t)retry_threshold;
    cfg.bind.quic.max_conn_memory = (size_t)conn_memory;
    cfg.bind.quic.initial_rtt_ms = initial_rtt_ms;
    cfg.bind.quic.new_tokens = true; /* RFC 9000 §8.1.3: returning clients skip the Retry */
    /* RFC 9000 §10.3.2: resets that a restarted server still makes right. */
    if (reset_key_file != NULL &&
        io_reset_key_from_file(reset_key_file, cfg.bind.quic.reset_key) != IO_OK) {
        fprintf(stderr, "quince-server: --reset-key-file %s: cannot read or create it\n",
                reset_key_file);
        return 1;
    }
    /* RFC 8446 §4.6.1: stateless tickets under keys this process holds. */
    crypto_tls_tickets *tickets = crypto_tls_tickets_new(&ienv.env, 0, 0);
    if (tickets == NULL) {
        app_env_close(&ienv, "quince-server");
        return 1;
    }
    cfg.bind.quic.tls.tickets = tickets;
    cfg.bind.quic.tls.early_data = early_data;
    crypto_x509_store *client_store = NULL;
    if (client_ca != NULL) {
        client_store = app_load_ca(&ienv.env, "quince-server", client_ca);
        if (client_store == NULL) {
            crypto_tls_tickets_free(tickets);
            app_env_close(&ienv, "quince-server");
            return 1;
        }
        cfg.bind.quic.tls.client_auth = CRYPTO_CLIENT_AUTH_REQUIRE;
        cfg.bind.quic.tls.verify_mode = CRYPTO_VERIFY_CHAIN;
        cfg.bind.quic.tls.ca_store = client_store;
        s->verify_client = true;
    }
    cfg.bind.quic.qlog = qlog;
    if (idle_us > 0)
        cfg.bind.quic.max_idle_timeout_ms = idle_us / 1000;
    if (max_conns > 0)
        cfg.bind.quic.max_connections = (size_t)max_conns;
    cfg.bind.h3 = false;
    cfg.bind.webtransport = false;
    if (s->h3)
        h3srv_config(&cfg.bind);
    if (s->wt) {
        wt_demo_config(&cfg.bind);
        wt_demo_allow_origins(origins, norigins);
        cfg.bind.wtcfg.dialects = wt_drafts;
        cfg.bind.wtcfg.test_no_connect_protocol = test_no_ecp;
    }
    cfg.bind.cb = (bind_callbacks){.user = s,
                                   .on_conn_new = on_conn_new,
                                   .on_handshake_done = on_handshake_done,
                                   .on_closed = on_closed,
                                   .on_writable = on_writable,
                                   .on_quic_event = on_quic_event,
                                   .on_conn_free = on_conn_free};
    int rc = io_server_new(&s->srv, NULL, &cfg);
    if (rc != IO_OK) {
        int e = errno;
        char where[200];
        if (nlisten > 0)
            snprintf(where, sizeof(where), "%s%s", listen[0],
                     nlisten > 1 ? " (or another --listen)" : "");
        else
            snprintf(where, sizeof(where), "127.0.0.1:%u", port);
        if (rc == IO_ERR_CERT)
            fprintf(stderr,
                    "quince-server: cannot use --cert %s / --key %s: not a PEM certificate chain "
                    "and private key (openssl x509 -in %s -noout -text shows what it is)\n",
                    cert_file, key_file, cert_file);
        else if (rc == IO_ERR_CERT_KEY)
            fprintf(stderr,
                    "quince-server: --key %s does not belong to the certificate in --cert %s: "
                    "every handshake would fail; give the key the certificate was issued for\n",
                    key_file, cert_file);
        else if (rc == IO_ERR_BIND && e == EADDRINUSE)
            fprintf(stderr,
                    "quince-server: cannot bind UDP %s: %s: another server has the port; stop it "
                    "or pick another (--port N, 0: any free one)\n",
                    where, strerror(e));
        else if (rc == IO_ERR_BIND)
            fprintf(stderr,
                    "quince-server: cannot bind UDP %s: %s: use an address of this host (--listen "
                    "ADDR:PORT); ports below 1024 need privileges\n",
                    where, strerror(e));
        else if (rc == IO_ERR_ADDR || rc == IO_ERR_ARG)
            fprintf(stderr,
                    "quince-server: --listen %s: expected ADDR:PORT such as 127.0.0.1:4433 "
                    "or [::1]:4433\n",
                    where);
        else
            fprintf(stderr, "quince-server: cannot start: %s (%s)\n", io_strerror(rc), strerror(e));
        if (client_store != NULL)
            crypto_x509_store_free(&ienv.env, client_store);
        crypto_tls_tickets_free(tickets);
        app_env_close(&ienv, "quince-server");
        return 1;
    }
    s->loop = io_server_loop(s->srv);
    io_endpoint *timer = NULL;
    static const io_endpoint_ops deadline_ops = {.on_timeout = on_deadline,
                                                 .flush = deadline_flush};
    if (timeout_us > 0) {
        deadline_us = io_now_us() + timeout_us;
        if (io_loop_add_endpoint(s->loop, &deadline_ops, s->loop, &timer) == IO_OK)
            io_endpoint_kick(timer);
    }

    if (io_server_cert_generated(s->srv))
        printf("cert-sha256: %s\n", io_server_cert_sha256_hex(s->srv));
    for (size_t i = 0; i < io_server_socket_count(s->srv); i++) {
        char bound[80];
        io_addr_format(&io_server_socket(s->srv, i)->local, bound, sizeof(bound));
        printf("listening on %s\n", bound);
        if (s->wt)
            printf("webtransport: https://%s/echo (UDP; also /chat, /close-me)\n", bound);
    }
    if (demo_http != NULL) {
        uint16_t hp = wt_demo_http_start(s->loop, demo_http, io_server_cert_sha256_hex(s->srv),
                                         io_server_port(s->srv));
        if (hp == 0) {
            fprintf(stderr, "quince-server: cannot listen on TCP %s\n", demo_http);
            io_server_free(s->srv);
            if (client_store != NULL)
                crypto_x509_store_free(&ienv.env, client_store);
            crypto_tls_tickets_free(tickets);
            app_env_close(&ienv, "quince-server");
            return 1;
        }
        printf("http-port: %u\n", hp);
        printf("open http://localhost:%u/ in Chromium (Ctrl-C to stop)\n", hp);
    }
    fflush(stdout);

    int sig = io_server_run(s->srv);
    /* RFC 9114 §5.2: GOAWAY, WebTransport sessions closed, CONNECTION_CLOSE once
     * the responses under way were acknowledged (at most 2 s: a 10 MB response on a
     * sanitizer build under load needed more than 1 s), then the closing periods (at
     * most 4 s in all; a second signal cuts it short). */
    if (sig >= 0)
        io_server_shutdown(s->srv, 0, "server shutting down", 4000);
    const quic_endpoint_stats *es =
        quic_endpoint_get_stats(bind_server_endpoint(io_server_bind(s->srv)));
    const char *why = sig > 0 ? "signal" : sig < 0 ? io_strerror(sig) : "stopped";
    if (s->wt)
        printf("server: exiting (%s)\n", why);
    fflush(stdout);
    fprintf(stderr,
            "quince-server: exiting (%s); %llu connections accepted, %llu files served, "
            "%llu not found; endpoint: %llu datagrams, %llu dropped, %llu version negotiations, "
            "%llu retries, %llu stateless resets, %llu refused, %llu rate-limited\n",
            why, (unsigned long long)s->accepted, (unsigned long long)s->served,
            (unsigned long long)s->not_found, (unsigned long long)es->datagrams,
            (unsigned long long)es->dropped, (unsigned long long)es->version_negotiations,
            (unsigned long long)es->retries, (unsigned long long)es->stateless_resets,
            (unsigned long long)es->refused, (unsigned long long)es->rate_limited);
    fprintf(stderr, "quince-server: %llu new tokens accepted\n",
            (unsigned long long)es->new_tokens_accepted);
    if (timer != NULL)
        io_loop_remove_endpoint(s->loop, timer);
    /* Sessions end without wire signals: the chat must not broadcast meanwhile.
     * Every connection's state goes (on_conn_free), then the endpoint. */
    if (s->wt)
        wt_demo_shutdown();
    wt_demo_stop();
    io_server_free(s->srv);
    if (client_store != NULL)
        crypto_x509_store_free(&ienv.env, client_store);
    crypto_tls_tickets_free(tickets);
    fprintf(stderr, "quince-server: connection memory peak %zu bytes\n", s->conn_memory_peak);
    if (s->h3)
        fprintf(stderr,
                "quince-server: h3: %llu requests, %llu served, %llu not found; qpack inserts "
                "received %llu sent %llu\n",
                (unsigned long long)s->h3_stats.requests, (unsigned long long)s->h3_stats.served,
                (unsigned long long)s->h3_stats.not_found,
                (unsigned long long)s->h3_stats.qpack_inserts_received,
                (unsigned long long)s->h3_stats.qpack_inserts_sent);
    if (s->h3 && (s->h3_stats.too_early > 0 || s->n_early_refused > 0))
        fprintf(stderr, "quince-server: h3: %llu answered 425 Too Early (RFC 8470)\n",
                (unsigned long long)s->h3_stats.too_early);
    app_env_close(&ienv, "quince-server");
    return sig < 0 ? 1 : 0;
}
